//! A minimal IPv4 stack for igbpoll: ARP, IPv4, ICMP, UDP and TCP, run on one
//! dedicated core.
//!
//! The layers are visible in the tree:
//!
//! * [`wire`]: zero-copy packet views (`Packet<T: AsRef<[u8]>>`) over
//!   caller-owned buffers, and representations (`Repr`) parsed from a view and
//!   emitted into the caller's buffer. No parser panics on any input.
//! * [`tcp`]: TCP connections and listeners (RFC 9293), independent of how
//!   segments reach the wire.
//! * [`iface`]: the interface: Ethernet and ARP, IPv4 (with reassembly),
//!   ICMP, UDP sockets, and the dispatch of segments to [`tcp`].
//! * [`api`]: the socket API for applications on other cores: commands and
//!   events cross through `igbpoll-ring` SPSC rings.
//! * [`time`]: the [`time::Instant`] every entry point takes: time is passed in,
//!   never read from a clock, so everything is deterministic under test.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod iface;
pub mod tcp;
pub mod time;
pub mod wire;
