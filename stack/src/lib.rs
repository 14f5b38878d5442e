//! A minimal IPv4 stack for igbpoll.
//!
//! For now this crate holds only the wire layer, [`wire`]: zero-copy packet
//! views (`Packet<T: AsRef<[u8]>>`) over caller-owned buffers, and high-level
//! representations (`Repr`) that are parsed from a view and emitted into the
//! caller's buffer. Nothing here allocates, and no parser panics on any input.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod wire;
