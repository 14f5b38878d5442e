//! Building blocks of the igbpoll command-line tools.

pub mod pcap_writer;
pub mod summary;
