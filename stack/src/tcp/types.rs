//! The public vocabulary of [`Tcp`](super::Tcp): configuration, handles,
//! states, errors, events and counters.

use core::fmt;
use std::time::Duration;

/// Tunables of a [`Tcp`](super::Tcp). [`Default`] gives values fit for a
/// LAN at 1 Gbit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// The MSS we announce and the largest segment we send (1460).
    pub mss: u16,
    /// Lower bound of the retransmission timeout (50 ms).
    pub rto_min: Duration,
    /// Upper bound of the retransmission timeout, backoff included (60 s).
    pub rto_max: Duration,
    /// The retransmission timeout before any RTT sample (1 s, RFC 6298).
    pub rto_initial: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (30 s).
    pub msl: Duration,
    /// How long an ACK may be held back (40 ms); every second full
    /// segment is acknowledged at once regardless.
    pub delayed_ack: Duration,
    /// Receive buffer per connection in bytes (256 KiB); the window scale is
    /// chosen so this fits the window field.
    pub rx_buffer: usize,
    /// Send buffer per connection in bytes (256 KiB).
    pub tx_buffer: usize,
    /// Cap on all per-connection state, SYN-RECEIVED and TIME-WAIT included.
    pub max_connections: usize,
    /// Cap on SYN-RECEIVED entries; when full the oldest is evicted.
    pub max_half_open: usize,
    /// Retransmissions of one segment before the connection times out.
    pub max_retries: u32,
    /// Retransmissions of a SYN or SYN-ACK before the attempt is given up.
    pub max_syn_retries: u32,
    /// Challenge ACKs (RFC 5961) allowed per second, all connections together.
    pub challenge_ack_limit: u32,
    /// Segments [`Tcp::dispatch`](super::Tcp::dispatch) sends at most per call.
    pub dispatch_budget: usize,
    /// Out-of-order ranges kept per connection (at most 32).
    pub max_ooo_ranges: usize,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            mss: 1460,
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(60),
            rto_initial: Duration::from_secs(1),
            msl: Duration::from_secs(30),
            delayed_ack: Duration::from_millis(40),
            rx_buffer: 256 * 1024,
            tx_buffer: 256 * 1024,
            max_connections: 4096,
            max_half_open: 256,
            max_retries: 12,
            max_syn_retries: 5,
            challenge_ack_limit: 1000,
            dispatch_budget: 4096,
            max_ooo_ranges: 8,
        }
    }
}

/// A connection, as the application names it: a slot and its generation,
/// so a handle kept after its connection was freed never names another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ConnHandle {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// A listener (one local port): the port and a generation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ListenHandle {
    pub(crate) port: u16,
    pub(crate) generation: u32,
}

/// Connection states (RFC 9293 §3.3.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// No connection (over, or never opened).
    Closed,
    /// Waiting for SYNs (listeners only).
    Listen,
    /// Our SYN sent, waiting for the peer's.
    SynSent,
    /// SYN received and SYN-ACK sent, waiting for its ACK.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// We closed; our FIN not yet acknowledged.
    FinWait1,
    /// We closed and our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; our FIN not yet acknowledged.
    Closing,
    /// The peer closed, then we did; our FIN not yet acknowledged.
    LastAck,
    /// Both closed; waiting 2×MSL for stray segments.
    TimeWait,
}

/// Why a call was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TcpError {
    /// The handle names no connection (or listener) now.
    InvalidHandle,
    /// The port (or 4-tuple) is taken.
    PortInUse,
    /// The connection cap is reached, or no ephemeral port is free.
    TooManyConnections,
    /// The connection is not (or no longer) open for this.
    NotConnected,
    /// The application already closed its sending side.
    Closing,
    /// An argument makes no sense (port 0 to connect to, backlog 0).
    InvalidArgument,
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpError::InvalidHandle => "invalid handle",
            TcpError::PortInUse => "port in use",
            TcpError::TooManyConnections => "too many connections",
            TcpError::NotConnected => "not connected",
            TcpError::Closing => "connection closing",
            TcpError::InvalidArgument => "invalid argument",
        })
    }
}

impl std::error::Error for TcpError {}

/// How a connection ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CloseReason {
    /// Closed both ways with FINs (or by the application before it opened).
    Normal,
    /// Reset: by the peer, or aborted here.
    Reset,
    /// Retransmissions went unanswered `max_retries` times.
    TimedOut,
    /// The peer answered our SYN with a reset, or never answered it.
    Refused,
}

/// What happened, for the application. At most one of each kind waits per
/// connection, so the queue stays bounded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TcpEvent {
    /// A connection is waiting in the listener's accept queue.
    Accepted {
        /// The listener.
        listener: ListenHandle,
        /// The connection (take it with [`Tcp::accept`](super::Tcp::accept)).
        conn: ConnHandle,
    },
    /// An active open completed.
    Connected(ConnHandle),
    /// Data arrived to read.
    Readable(ConnHandle),
    /// The send buffer has room again after a short `send`.
    Writable(ConnHandle),
    /// The peer sent its FIN: no more data will arrive after what is
    /// buffered.
    PeerClosed(ConnHandle),
    /// The connection is over: reset, timed out, refused, or closed both
    /// ways. [`Tcp::close_reason`](super::Tcp::close_reason) says which.
    Closed(ConnHandle),
}

macro_rules! counters {
    ($( $(#[doc = $doc:literal])+ $name:ident ),* $(,)?) => {
        /// Counters of a [`Tcp`](super::Tcp). A `Copy` snapshot;
        /// [`TcpStats::iter`] yields `(name, value)` pairs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct TcpStats {
            $( $(#[doc = $doc])+ pub $name: u64, )*
        }

        impl TcpStats {
            /// Every counter's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name) ),*];

            /// `(name, value)` for every counter, in declaration order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$( (stringify!($name), self.$name) ),*].into_iter()
            }
        }
    };
}

counters! {
    /// Segments handed to `process`.
    segments_in,
    /// Segments handed to `tx` that it accepted.
    segments_out,
    /// Segments `tx` refused (retried later or recovered by retransmission).
    tx_refused,
    /// Segments dropped: addressed to another IPv4 address.
    not_for_us,
    /// Retransmitted segments (RTO, fast retransmit, partial ACKs, SYNs).
    retransmits,
    /// Retransmission timeouts.
    rto_timeouts,
    /// Fast retransmits on three duplicate ACKs.
    fast_retransmits,
    /// Duplicate ACKs received.
    dup_acks,
    /// Data segments that arrived out of order.
    out_of_order,
    /// Out-of-order data dropped: no room in the out-of-order queue.
    ooo_dropped,
    /// Segments outside the receive window (answered with an ACK).
    out_of_window,
    /// SYNs refused: accept queue full, connection cap, or half-open cap.
    syn_dropped,
    /// Half-open (SYN-RECEIVED) entries evicted to make room for a new SYN.
    half_open_evicted,
    /// Half-open entries given up after SYN-ACK retries.
    half_open_expired,
    /// Resets sent.
    rst_sent,
    /// Resets received (acceptable or not).
    rst_received,
    /// Challenge ACKs sent (RFC 5961).
    challenge_acks,
    /// Challenge ACKs not sent: over the rate limit.
    challenge_acks_suppressed,
    /// ACKs for data not yet sent, dropped (answered with an ACK).
    ack_too_new,
    /// ACKs older than any window the peer could have offered, dropped
    /// (answered with an ACK; RFC 5961 §5.2).
    ack_too_old,
    /// Zero-window probes sent.
    window_probes,
    /// Delayed ACKs that went out when their timer fired.
    delayed_acks,
    /// Connections opened (established, either way).
    conns_opened,
    /// Connections holding state now (not closed).
    conns_open,
    /// Connections that ended (any reason), half-open ones included.
    conns_closed,
    /// Connections reset by the peer.
    conns_reset,
    /// Connections that timed out.
    conns_timed_out,
    /// Events dropped: the event queue was full.
    events_dropped,
}
