//! The messages that cross the rings between an application core and the
//! stack's core.
//!
//! Every identifier is chosen by the stack's core and never reused while the
//! process lives, so a message about a closed connection can never be taken
//! for one about a newer connection.

use core::fmt;
use std::net::SocketAddrV4;

/// A TCP connection, as an application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A TCP listener, as an application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u64);

/// A UDP socket, as an application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpId(pub u64);

/// The client's own number for a request, echoed in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiError {
    /// The port is already bound or listened on.
    PortInUse,
    /// The stack holds as many connections, listeners or sockets as it may.
    TooMany,
    /// The peer refused the connection (RST in answer to our SYN).
    Refused,
    /// The connection attempt or the connection timed out.
    TimedOut,
    /// The peer reset the connection.
    Reset,
    /// The connection, listener or socket is unknown (closed, or never existed).
    NoSuchSocket,
    /// The request is not valid in the connection's state, or its arguments are not.
    Invalid,
    /// The command ring is full: try again after polling events.
    Busy,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiError::PortInUse => "port in use",
            ApiError::TooMany => "too many sockets",
            ApiError::Refused => "connection refused",
            ApiError::TimedOut => "timed out",
            ApiError::Reset => "connection reset",
            ApiError::NoSuchSocket => "no such socket",
            ApiError::Invalid => "invalid request",
            ApiError::Busy => "command ring full",
        })
    }
}

impl std::error::Error for ApiError {}

/// A request from an application to the stack.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Listen on a TCP port; answered by [`Event::TcpListening`].
    TcpListen {
        /// Echoed in the answer.
        token: Token,
        /// The local port.
        port: u16,
        /// Most connections waiting to be accepted.
        backlog: u16,
    },
    /// Stop listening; connections already accepted are not affected.
    TcpUnlisten {
        /// The listener.
        listener: ListenerId,
    },
    /// Open a connection; answered by [`Event::TcpConnected`].
    TcpConnect {
        /// Echoed in the answer.
        token: Token,
        /// The peer.
        remote: SocketAddrV4,
    },
    /// Queue bytes on a connection. The client never sends more than its
    /// credit for the connection ([`Event::TcpSent`] returns credit).
    TcpSend {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The client has taken `bytes` more of what it received on `conn` and
    /// can take that much more: receive credit back. A connection starts with
    /// the client's receive window ([`crate::api::channel`]); the stack never
    /// delivers more than the credit, so a client that stops consuming closes
    /// the connection's TCP window instead of filling its own memory.
    TcpRecvCredit {
        /// The connection.
        conn: ConnId,
        /// How many bytes.
        bytes: usize,
    },
    /// Close after the queued bytes (FIN).
    TcpClose {
        /// The connection.
        conn: ConnId,
    },
    /// Reset the connection now (RST); queued bytes are discarded.
    TcpAbort {
        /// The connection.
        conn: ConnId,
    },
    /// Bind a UDP port; answered by [`Event::UdpBound`].
    UdpBind {
        /// Echoed in the answer.
        token: Token,
        /// The local port.
        port: u16,
    },
    /// Send one datagram.
    UdpSend {
        /// The socket.
        sock: UdpId,
        /// The destination.
        to: SocketAddrV4,
        /// The payload.
        data: Vec<u8>,
    },
    /// Unbind a UDP socket.
    UdpClose {
        /// The socket.
        sock: UdpId,
    },
}

/// News from the stack to an application.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The answer to [`Command::TcpListen`].
    TcpListening {
        /// The request's token.
        token: Token,
        /// The listener, or why not.
        result: Result<ListenerId, ApiError>,
    },
    /// A connection arrived on a listener; it is the application's now.
    TcpAccepted {
        /// The listener.
        listener: ListenerId,
        /// The new connection.
        conn: ConnId,
        /// The peer.
        remote: SocketAddrV4,
    },
    /// The answer to [`Command::TcpConnect`]: established, or failed.
    TcpConnected {
        /// The request's token.
        token: Token,
        /// The connection, or why not.
        result: Result<ConnId, ApiError>,
    },
    /// Bytes received on a connection, in order.
    TcpData {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `bytes` of what the client sent were taken into the connection's send
    /// buffer: that much credit is back.
    TcpSent {
        /// The connection.
        conn: ConnId,
        /// How many bytes.
        bytes: usize,
    },
    /// The peer closed its side (FIN): no more [`Event::TcpData`] follows.
    TcpPeerClosed {
        /// The connection.
        conn: ConnId,
    },
    /// The connection is gone (closed both ways, reset, or timed out); its id
    /// is dead. `error` says why when it did not end by an orderly close.
    TcpClosed {
        /// The connection.
        conn: ConnId,
        /// None after an orderly close.
        error: Option<ApiError>,
    },
    /// The answer to [`Command::UdpBind`].
    UdpBound {
        /// The request's token.
        token: Token,
        /// The socket, or why not.
        result: Result<UdpId, ApiError>,
    },
    /// A datagram arrived.
    UdpDatagram {
        /// The socket.
        sock: UdpId,
        /// The sender.
        from: SocketAddrV4,
        /// The payload.
        data: Vec<u8>,
    },
}
