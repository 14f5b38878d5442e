//! The stack core's end: an [`ApiServer`] carries out its clients' commands
//! on the [`Interface`] and turns what the stack reports into events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddrV4;

use igbpoll_ring::PopError;

use super::protocol::{ApiError, Command, ConnId, Event, ListenerId, Token, UdpId};
use super::ClientPort;
use crate::iface::{Interface, UdpHandle};
use crate::tcp::{CloseReason, ConnHandle, ListenHandle, TcpError, TcpEvent};
use crate::time::Instant;

/// Commands taken from one client per [`ApiServer::run`].
const COMMAND_BUDGET: usize = 64;
/// Bytes read from a connection into one [`Event::TcpData`].
const CHUNK: usize = 16 * 1024;
/// Data events made per connection per round, so one busy connection does
/// not starve the others.
const DATA_EVENTS_PER_ROUND: usize = 8;

#[derive(Debug)]
struct Client {
    port: ClientPort,
    /// Events that must not be lost but found the ring full (answers,
    /// accepts, closes); sent before anything else. Bounded by the number of
    /// sockets the client has.
    backlog: VecDeque<Event>,
    gone: bool,
}

#[derive(Debug)]
struct Conn {
    handle: ConnHandle,
    client: usize,
    /// Bytes the client may still be given.
    rx_credit: usize,
    /// Bytes the client sent that TCP's send buffer did not take yet.
    pending: VecDeque<Vec<u8>>,
    /// How much of `pending`'s first chunk was taken.
    pending_off: usize,
    /// The client asked for a close once `pending` is out.
    close_requested: bool,
    /// TCP said the peer closed; `TcpPeerClosed` goes out once the receive
    /// buffer is drained.
    peer_closed: bool,
    peer_closed_sent: bool,
    /// TCP said the connection is over; `TcpClosed` goes out last.
    closed: Option<Option<ApiError>>,
}

/// The stack core's side of the socket API, for any number of clients.
///
/// Call [`ApiServer::run`] once per round of the stack's loop, after the
/// received frames were handed to the interface and before
/// [`Interface::poll`] (which then sends what the commands queued).
#[derive(Debug)]
pub struct ApiServer {
    clients: Vec<Client>,
    conns: HashMap<ConnId, Conn>,
    by_handle: HashMap<ConnHandle, ConnId>,
    listeners: HashMap<ListenerId, (ListenHandle, usize)>,
    by_listen: HashMap<ListenHandle, ListenerId>,
    connecting: HashMap<ConnHandle, (usize, Token)>,
    udp: HashMap<UdpId, (UdpHandle, usize)>,
    by_udp: HashMap<UdpHandle, UdpId>,
    /// Connections that may have bytes to read or write, or an end to report.
    active: HashSet<ConnId>,
    /// UDP sockets that may hold datagrams.
    udp_readable: Vec<UdpHandle>,
    next_id: u64,
    udp_buf: Vec<u8>,
}

/// Why a connection ended, as the client sees it (None: an orderly close).
fn close_error(reason: Option<CloseReason>) -> Option<ApiError> {
    match reason {
        None | Some(CloseReason::Normal) => None,
        Some(CloseReason::Reset) => Some(ApiError::Reset),
        Some(CloseReason::TimedOut) => Some(ApiError::TimedOut),
        Some(CloseReason::Refused) => Some(ApiError::Refused),
    }
}

fn tcp_error(e: TcpError) -> ApiError {
    match e {
        TcpError::PortInUse => ApiError::PortInUse,
        TcpError::TooManyConnections => ApiError::TooMany,
        TcpError::InvalidHandle => ApiError::NoSuchSocket,
        _ => ApiError::Invalid,
    }
}

impl ApiServer {
    /// A server for these clients.
    pub fn new(ports: Vec<ClientPort>) -> ApiServer {
        ApiServer {
            clients: ports
                .into_iter()
                .map(|port| Client {
                    port,
                    backlog: VecDeque::new(),
                    gone: false,
                })
                .collect(),
            conns: HashMap::new(),
            by_handle: HashMap::new(),
            listeners: HashMap::new(),
            by_listen: HashMap::new(),
            connecting: HashMap::new(),
            udp: HashMap::new(),
            by_udp: HashMap::new(),
            active: HashSet::new(),
            udp_readable: Vec::new(),
            next_id: 0,
            udp_buf: vec![0; 65536],
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// One round: the clients' commands, the stack's news, and the bytes
    /// that can move. Returns true when anything happened.
    pub fn run(&mut self, now: Instant, iface: &mut Interface) -> bool {
        let mut worked = false;
        for c in 0..self.clients.len() {
            worked |= self.flush_backlog(c);
            for _ in 0..COMMAND_BUDGET {
                let cmd = match self.clients[c].port.commands.try_pop() {
                    Ok(cmd) => cmd,
                    Err(PopError::Empty) => break,
                    Err(PopError::Closed) => {
                        if !self.clients[c].gone {
                            self.client_gone(c, iface);
                        }
                        break;
                    }
                };
                worked = true;
                self.command(now, c, cmd, iface);
            }
        }
        while let Some(ev) = iface.tcp_mut().next_event() {
            worked = true;
            self.tcp_event(ev, iface);
        }
        worked |= self.move_bytes(iface);
        worked |= self.udp_in(iface);
        worked
    }

    /// Sends the events that found the ring full before; true if any went.
    fn flush_backlog(&mut self, c: usize) -> bool {
        let client = &mut self.clients[c];
        let mut sent = false;
        while let Some(ev) = client.backlog.pop_front() {
            match client.port.events.push(ev) {
                Ok(()) => sent = true,
                Err(full) => {
                    client.backlog.push_front(full.into_inner());
                    break;
                }
            }
        }
        sent
    }

    /// An event that must arrive: straight into the ring, or queued behind.
    fn tell(&mut self, c: usize, ev: Event) {
        let client = &mut self.clients[c];
        if client.gone {
            return;
        }
        if client.backlog.is_empty() {
            if let Err(full) = client.port.events.push(ev) {
                client.backlog.push_back(full.into_inner());
            }
        } else {
            client.backlog.push_back(ev);
        }
    }

    /// Room for a data event for client `c` (the ring has space and nothing
    /// more important waits).
    fn room(&self, c: usize) -> bool {
        let client = &self.clients[c];
        !client.gone && client.backlog.is_empty() && !client.port.events.is_full()
    }

    fn command(&mut self, now: Instant, c: usize, cmd: Command, iface: &mut Interface) {
        match cmd {
            Command::TcpListen {
                token,
                port,
                backlog,
            } => {
                let result = match iface.tcp_mut().listen(port, usize::from(backlog.max(1))) {
                    Ok(h) => {
                        let id = ListenerId(self.id());
                        self.listeners.insert(id, (h, c));
                        self.by_listen.insert(h, id);
                        Ok(id)
                    }
                    Err(e) => Err(tcp_error(e)),
                };
                self.tell(c, Event::TcpListening { token, result });
            }
            Command::TcpUnlisten { listener } => {
                if let Some((h, owner)) = self.listeners.get(&listener).copied() {
                    if owner == c {
                        self.listeners.remove(&listener);
                        self.by_listen.remove(&h);
                        iface.tcp_mut().unlisten(h);
                    }
                }
            }
            Command::TcpConnect { token, remote } => {
                match iface.tcp_mut().connect(now, remote, None) {
                    Ok(h) => {
                        self.connecting.insert(h, (c, token));
                    }
                    Err(e) => self.tell(
                        c,
                        Event::TcpConnected {
                            token,
                            result: Err(tcp_error(e)),
                        },
                    ),
                }
            }
            Command::TcpSend { conn, data } => {
                if let Some(k) = self.conns.get_mut(&conn).filter(|k| k.client == c) {
                    if !k.close_requested && k.closed.is_none() {
                        k.pending.push_back(data);
                        self.active.insert(conn);
                    }
                }
            }
            Command::TcpRecvCredit { conn, bytes } => {
                if let Some(k) = self.conns.get_mut(&conn).filter(|k| k.client == c) {
                    k.rx_credit = k.rx_credit.saturating_add(bytes);
                    self.active.insert(conn);
                }
            }
            Command::TcpClose { conn } => {
                if let Some(k) = self.conns.get_mut(&conn).filter(|k| k.client == c) {
                    k.close_requested = true;
                    self.active.insert(conn);
                }
            }
            Command::TcpAbort { conn } => {
                if let Some(k) = self.conns.get_mut(&conn).filter(|k| k.client == c) {
                    let _ = iface.tcp_mut().abort(k.handle);
                    k.pending.clear();
                    k.closed.get_or_insert(None);
                    self.active.insert(conn);
                }
            }
            Command::UdpBind { token, port } => {
                let result = match iface.udp_bind(port) {
                    Ok(h) => {
                        let id = UdpId(self.id());
                        self.udp.insert(id, (h, c));
                        self.by_udp.insert(h, id);
                        Ok(id)
                    }
                    Err(_) => Err(ApiError::PortInUse),
                };
                self.tell(c, Event::UdpBound { token, result });
            }
            Command::UdpSend { sock, to, data } => {
                if let Some((h, owner)) = self.udp.get(&sock).copied() {
                    if owner == c {
                        let _ = iface.udp_send(now, h, to, &data);
                    }
                }
            }
            Command::UdpClose { sock } => {
                if let Some((h, owner)) = self.udp.get(&sock).copied() {
                    if owner == c {
                        self.udp.remove(&sock);
                        self.by_udp.remove(&h);
                        iface.udp_unbind(h);
                    }
                }
            }
        }
    }

    /// A client went away: its connections are reset, its listeners and
    /// sockets closed.
    fn client_gone(&mut self, c: usize, iface: &mut Interface) {
        self.clients[c].gone = true;
        self.clients[c].backlog.clear();
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, k)| k.client == c)
            .map(|(id, _)| *id)
            .collect();
        for id in conns {
            if let Some(k) = self.conns.remove(&id) {
                let _ = iface.tcp_mut().abort(k.handle);
                iface.tcp_mut().release(k.handle);
                self.by_handle.remove(&k.handle);
            }
        }
        self.listeners.retain(|_, (h, owner)| {
            if *owner == c {
                iface.tcp_mut().unlisten(*h);
                false
            } else {
                true
            }
        });
        self.by_listen
            .retain(|_, id| self.listeners.contains_key(id));
        self.udp.retain(|_, (h, owner)| {
            if *owner == c {
                iface.udp_unbind(*h);
                false
            } else {
                true
            }
        });
        self.by_udp.retain(|_, id| self.udp.contains_key(id));
    }

    fn new_conn(&mut self, handle: ConnHandle, client: usize) -> ConnId {
        let id = ConnId(self.id());
        let rx_credit = self.clients[client].port.recv_window;
        self.conns.insert(
            id,
            Conn {
                handle,
                client,
                rx_credit,
                pending: VecDeque::new(),
                pending_off: 0,
                close_requested: false,
                peer_closed: false,
                peer_closed_sent: false,
                closed: None,
            },
        );
        self.by_handle.insert(handle, id);
        self.active.insert(id);
        id
    }

    fn tcp_event(&mut self, ev: TcpEvent, iface: &mut Interface) {
        match ev {
            TcpEvent::Accepted { listener, .. } => {
                let Some(lid) = self.by_listen.get(&listener).copied() else {
                    return;
                };
                let owner = self.listeners[&lid].1;
                while let Some(h) = iface.tcp_mut().accept(listener) {
                    let remote = iface
                        .tcp()
                        .remote(h)
                        .unwrap_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0));
                    let conn = self.new_conn(h, owner);
                    self.tell(
                        owner,
                        Event::TcpAccepted {
                            listener: lid,
                            conn,
                            remote,
                        },
                    );
                }
            }
            TcpEvent::Connected(h) => {
                if let Some((c, token)) = self.connecting.remove(&h) {
                    let conn = self.new_conn(h, c);
                    self.tell(
                        c,
                        Event::TcpConnected {
                            token,
                            result: Ok(conn),
                        },
                    );
                }
            }
            TcpEvent::Readable(h) | TcpEvent::Writable(h) => {
                if let Some(id) = self.by_handle.get(&h) {
                    self.active.insert(*id);
                }
            }
            TcpEvent::PeerClosed(h) => {
                if let Some(id) = self.by_handle.get(&h).copied() {
                    if let Some(k) = self.conns.get_mut(&id) {
                        k.peer_closed = true;
                    }
                    self.active.insert(id);
                }
            }
            TcpEvent::Closed(h) => {
                if let Some((c, token)) = self.connecting.remove(&h) {
                    let error =
                        close_error(iface.tcp().close_reason(h)).unwrap_or(ApiError::Refused);
                    iface.tcp_mut().release(h);
                    self.tell(
                        c,
                        Event::TcpConnected {
                            token,
                            result: Err(error),
                        },
                    );
                } else if let Some(id) = self.by_handle.get(&h).copied() {
                    let error = close_error(iface.tcp().close_reason(h));
                    if let Some(k) = self.conns.get_mut(&id) {
                        k.closed.get_or_insert(error);
                    }
                    self.active.insert(id);
                }
            }
        }
    }

    /// Moves bytes for the connections that may have some: client → TCP
    /// within the send buffer's room, TCP → client within the client's
    /// credit and ring room; reports ends once everything before them went.
    fn move_bytes(&mut self, iface: &mut Interface) -> bool {
        if self.active.is_empty() {
            return false;
        }
        let mut worked = false;
        let ids: Vec<ConnId> = self.active.drain().collect();
        for id in ids {
            worked |= self.move_conn(id, iface);
        }
        worked
    }

    fn move_conn(&mut self, id: ConnId, iface: &mut Interface) -> bool {
        let Some(k) = self.conns.get_mut(&id) else {
            return false;
        };
        let c = k.client;
        let client = &mut self.clients[c];
        let mut worked = false;
        let mut again = false;
        // Client → TCP.
        let mut sent_bytes = 0;
        while let Some(front) = k.pending.front() {
            match iface.tcp_mut().send(k.handle, &front[k.pending_off..]) {
                Ok(0) => break, // Writable brings the connection back.
                Ok(n) => {
                    sent_bytes += n;
                    k.pending_off += n;
                    if k.pending_off == front.len() {
                        k.pending.pop_front();
                        k.pending_off = 0;
                    }
                }
                Err(_) => {
                    // The connection takes no more data: what waits is lost
                    // with it, and its close says why.
                    k.pending.clear();
                    k.pending_off = 0;
                    break;
                }
            }
        }
        if k.pending.is_empty() && k.close_requested && k.closed.is_none() {
            let _ = iface.tcp_mut().close(k.handle);
            k.close_requested = false;
        }
        // TCP → client, within credit and ring room.
        let mut delivered = 0;
        // Known only once a read came back empty.
        let mut drained = false;
        while k.rx_credit > 0 {
            if client.gone || !client.backlog.is_empty() || client.port.events.is_full() {
                again = !client.gone;
                break;
            }
            if delivered == DATA_EVENTS_PER_ROUND {
                again = true;
                break;
            }
            let mut chunk = vec![0u8; k.rx_credit.min(CHUNK)];
            match iface.tcp_mut().recv(k.handle, &mut chunk) {
                Ok(0) | Err(_) => {
                    drained = true;
                    break;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    k.rx_credit -= n;
                    delivered += 1;
                    worked = true;
                    // Cannot fail: the ring had room and only we push.
                    let _ = client.port.events.push(Event::TcpData {
                        conn: id,
                        data: chunk,
                    });
                }
            }
        }
        let mut events = Vec::new();
        if sent_bytes > 0 {
            events.push(Event::TcpSent {
                conn: id,
                bytes: sent_bytes,
            });
        }
        if k.peer_closed && !k.peer_closed_sent && drained {
            k.peer_closed_sent = true;
            events.push(Event::TcpPeerClosed { conn: id });
        }
        let finished = match k.closed {
            Some(error) if drained || error.is_some() || client.gone => Some(error),
            _ => None,
        };
        if let Some(error) = finished {
            let handle = k.handle;
            self.conns.remove(&id);
            self.by_handle.remove(&handle);
            iface.tcp_mut().release(handle);
            events.push(Event::TcpClosed { conn: id, error });
            again = false;
        }
        worked |= !events.is_empty();
        for ev in events {
            self.tell(c, ev);
        }
        if again {
            self.active.insert(id);
        }
        worked
    }

    /// Datagrams for the clients' UDP sockets, while their rings have room.
    /// A socket whose client's ring is full stays on the list for later.
    fn udp_in(&mut self, iface: &mut Interface) -> bool {
        let mut worked = false;
        while let Some(h) = iface.next_udp_readable() {
            if self.by_udp.contains_key(&h) && !self.udp_readable.contains(&h) {
                self.udp_readable.push(h);
            }
        }
        let readable = std::mem::take(&mut self.udp_readable);
        for h in readable {
            let Some(id) = self.by_udp.get(&h).copied() else {
                continue;
            };
            let c = self.udp[&id].1;
            loop {
                if !self.room(c) {
                    self.udp_readable.push(h);
                    break;
                }
                let Some((from, n)) = iface.udp_recv(h, &mut self.udp_buf) else {
                    break;
                };
                let data = self.udp_buf[..n].to_vec();
                let _ = self.clients[c].port.events.push(Event::UdpDatagram {
                    sock: id,
                    from,
                    data,
                });
                worked = true;
            }
        }
        worked
    }
}
