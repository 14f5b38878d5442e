//! TCP connections and listeners (RFC 9293), independent of how segments
//! reach the wire.
//!
//! [`Tcp`] holds every connection and listener of one local IPv4 address. The
//! interface hands it each received segment ([`Tcp::process`]) and calls
//! [`Tcp::dispatch`] to let it send (data, ACKs, retransmissions, probes,
//! FINs) and run its timers; [`Tcp::poll_at`] says when that is next needed.
//! Time is passed in ([`Instant`](crate::time::Instant)), so everything is
//! deterministic.
//!
//! The parts, one file each:
//!
//! * `seq`: sequence-space helpers and the keyed-hash ISN generator.
//! * `buffer`: the byte rings for sending and receiving, and the bounded
//!   out-of-order assembler.
//! * `rtt`: the RFC 6298 round-trip estimator and retransmission timeout.
//! * `conn`: one connection's state machine: segment arrival, output, timers,
//!   NewReno congestion control (RFC 5681, RFC 6582), RFC 5961 checks.
//! * `set`: [`Tcp`] itself: the slot table, the 4-tuple map, listeners and
//!   accept queues, the half-open cap, the timer heap and the event queue.
//! * `types`: the public configuration, handles, states, errors, events and
//!   counters.

mod buffer;
mod conn;
mod rtt;
mod seq;
mod set;
mod types;

#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod tests;

pub use set::Tcp;
pub use types::{
    CloseReason, ConnHandle, ListenHandle, State, TcpConfig, TcpError, TcpEvent, TcpStats,
};
