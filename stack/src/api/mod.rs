//! The socket API for applications on other cores.
//!
//! The stack runs on one dedicated core, which polls the NIC queue and the
//! rings of its clients and nothing else. An application on any other core
//! holds a [`StackClient`]: it sends [`Command`]s (listen, connect, send,
//! close, UDP bind and send) through one `igbpoll-ring` SPSC ring and reads
//! [`Event`]s (answers, accepted connections, data, closes, datagrams) from
//! another. [`channel`] makes the pair of rings; the stack's core keeps the
//! [`ClientPort`] end.
//!
//! Backpressure is end to end, by credit both ways. Received bytes leave a
//! connection's receive buffer only while the client has receive credit
//! (given back with [`StackClient::tcp_recv_credit`]) and its event ring has
//! room, so an application that stops consuming closes the TCP window. Sent
//! bytes spend send credit ([`StackClient::tcp_send`]), which the stack
//! returns ([`Event::TcpSent`]) as the bytes enter the connection's send
//! buffer. Memory in flight between the cores is bounded by the windows.

mod client;
mod protocol;
mod server;

pub use client::StackClient;
pub use protocol::{ApiError, Command, ConnId, Event, ListenerId, Token, UdpId};
pub use server::ApiServer;

use igbpoll_ring::{CapacityError, Consumer, Producer, Ring};

/// The stack core's end of a client's rings.
#[derive(Debug)]
pub struct ClientPort {
    /// Commands from the client.
    pub commands: Consumer<Command>,
    /// Events to the client.
    pub events: Producer<Event>,
    /// The send credit the client starts each connection with (bytes).
    pub send_window: usize,
    /// The receive credit the stack starts each connection with (bytes).
    pub recv_window: usize,
}

/// Makes the two rings between one application and the stack: `capacity`
/// messages each way, `send_window` bytes of send credit and `recv_window`
/// bytes of receive credit per connection.
pub fn channel(
    capacity: usize,
    send_window: usize,
    recv_window: usize,
) -> Result<(StackClient, ClientPort), CapacityError> {
    let (cmd_tx, cmd_rx) = Ring::with_capacity(capacity)?;
    let (ev_tx, ev_rx) = Ring::with_capacity(capacity)?;
    Ok((
        StackClient::new(cmd_tx, ev_rx, send_window),
        ClientPort {
            commands: cmd_rx,
            events: ev_tx,
            send_window,
            recv_window,
        },
    ))
}
