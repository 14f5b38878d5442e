//! The application's end: a [`StackClient`] on any core.

use std::collections::HashMap;
use std::net::SocketAddrV4;

use igbpoll_ring::{Consumer, Producer};

use super::protocol::{ApiError, Command, ConnId, Event, Token, UdpId};

/// An application's handle on the stack, used from its own thread.
///
/// Requests go out as [`Command`]s through one ring and the stack's answers
/// and news come back as [`Event`]s through another. Nothing blocks: a full
/// command ring is [`ApiError::Busy`], and the application polls
/// [`StackClient::poll_event`] in its own loop.
///
/// Sending is credit-based, so the stack never has to hold more than it
/// promised: each connection starts with `send_window` bytes of credit,
/// [`StackClient::tcp_send`] spends it, and [`Event::TcpSent`] (seen by
/// `poll_event`) gives it back as the stack moves the bytes into the
/// connection's send buffer.
#[derive(Debug)]
pub struct StackClient {
    commands: Producer<Command>,
    events: Consumer<Event>,
    credit: HashMap<ConnId, usize>,
    send_window: usize,
    next_token: u64,
}

impl StackClient {
    pub(super) fn new(
        commands: Producer<Command>,
        events: Consumer<Event>,
        send_window: usize,
    ) -> StackClient {
        StackClient {
            commands,
            events,
            credit: HashMap::new(),
            send_window,
            next_token: 0,
        }
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    fn push(&mut self, cmd: Command) -> Result<(), ApiError> {
        self.commands.push(cmd).map_err(|_| ApiError::Busy)
    }

    /// Asks to listen on `port`; the answer is an [`Event::TcpListening`]
    /// carrying the returned token.
    pub fn tcp_listen(&mut self, port: u16, backlog: u16) -> Result<Token, ApiError> {
        let token = self.token();
        self.push(Command::TcpListen {
            token,
            port,
            backlog,
        })?;
        Ok(token)
    }

    /// Asks to open a connection to `remote`; the answer is an
    /// [`Event::TcpConnected`] carrying the returned token.
    pub fn tcp_connect(&mut self, remote: SocketAddrV4) -> Result<Token, ApiError> {
        let token = self.token();
        self.push(Command::TcpConnect { token, remote })?;
        Ok(token)
    }

    /// The bytes `conn` may still be given now.
    pub fn tcp_credit(&self, conn: ConnId) -> usize {
        self.credit.get(&conn).copied().unwrap_or(0)
    }

    /// Queues as much of `data` as the connection's credit allows and returns
    /// how much that was (0 when the credit is spent: poll events and retry).
    pub fn tcp_send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        let credit = self
            .credit
            .get(&conn)
            .copied()
            .ok_or(ApiError::NoSuchSocket)?;
        let n = credit.min(data.len());
        if n == 0 {
            return Ok(0);
        }
        self.push(Command::TcpSend {
            conn,
            data: data[..n].to_vec(),
        })?;
        if let Some(c) = self.credit.get_mut(&conn) {
            *c -= n;
        }
        Ok(n)
    }

    /// Gives `bytes` of receive credit back on `conn`: the application has
    /// dealt with that much of what it received (see [`Command::TcpRecvCredit`]).
    pub fn tcp_recv_credit(&mut self, conn: ConnId, bytes: usize) -> Result<(), ApiError> {
        if bytes == 0 {
            return Ok(());
        }
        self.push(Command::TcpRecvCredit { conn, bytes })
    }

    /// Closes `conn` once the bytes queued before are sent (FIN). The
    /// connection's end is an [`Event::TcpClosed`].
    pub fn tcp_close(&mut self, conn: ConnId) -> Result<(), ApiError> {
        self.push(Command::TcpClose { conn })
    }

    /// Resets `conn` now (RST).
    pub fn tcp_abort(&mut self, conn: ConnId) -> Result<(), ApiError> {
        self.push(Command::TcpAbort { conn })
    }

    /// Asks to bind UDP `port`; the answer is an [`Event::UdpBound`].
    pub fn udp_bind(&mut self, port: u16) -> Result<Token, ApiError> {
        let token = self.token();
        self.push(Command::UdpBind { token, port })?;
        Ok(token)
    }

    /// Sends one datagram from `sock` to `to`.
    pub fn udp_send(&mut self, sock: UdpId, to: SocketAddrV4, data: &[u8]) -> Result<(), ApiError> {
        self.push(Command::UdpSend {
            sock,
            to,
            data: data.to_vec(),
        })
    }

    /// Unbinds `sock`.
    pub fn udp_close(&mut self, sock: UdpId) -> Result<(), ApiError> {
        self.push(Command::UdpClose { sock })
    }

    /// The next event, if any. Credit bookkeeping happens here: a new
    /// connection gets its window, [`Event::TcpSent`] returns credit, and a
    /// closed connection's credit is forgotten. Every event is still handed
    /// to the caller.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.events.pop()?;
        match &ev {
            Event::TcpAccepted { conn, .. }
            | Event::TcpConnected {
                result: Ok(conn), ..
            } => {
                self.credit.insert(*conn, self.send_window);
            }
            Event::TcpSent { conn, bytes } => {
                if let Some(c) = self.credit.get_mut(conn) {
                    *c = (*c + bytes).min(self.send_window);
                }
            }
            Event::TcpClosed { conn, .. } => {
                self.credit.remove(conn);
            }
            _ => {}
        }
        Some(ev)
    }

    /// True once the stack's core is gone and every event it sent was read.
    pub fn stack_gone(&self) -> bool {
        self.events.is_closed()
    }
}
