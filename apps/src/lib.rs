//! The igbpoll command-line tools, as a library so the CLI's pieces are tested
//! beside their code. Everything here uses only the public driver API.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod capture;
pub mod cli;
pub mod device;
pub mod error;
pub mod filter;
pub mod hexdump;
pub mod pcap_writer;
pub mod pcapng_writer;
pub mod pci_cmd;
pub mod send;
pub mod serve;
pub mod stats_cmd;
pub mod summary;
pub mod timefmt;
