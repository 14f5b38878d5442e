//! [`Tcp`]: every connection and listener of one local IPv4 address, the
//! 4-tuple map, accept queues, the half-open cap, events and counters; and
//! segment arrival (RFC 9293 §3.10.7 with the RFC 5961 checks).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddrV4;

use super::conn::Conn;
use super::seq::{add, span, IsnGenerator};
use super::types::{
    CloseReason, ConnHandle, ListenHandle, State, TcpConfig, TcpError, TcpEvent, TcpStats,
};
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpFlags as Flags, TcpOptions, TcpRepr, TcpSeqNumber as Seq};

type Key = (u16, Ipv4Addr, u16);

#[derive(Debug)]
struct Listener {
    generation: u32,
    backlog: usize,
    queue: VecDeque<ConnHandle>,
}

/// All connections and listeners of one local IPv4 address.
#[derive(Debug)]
pub struct Tcp {
    cfg: TcpConfig,
    local: Ipv4Addr,
    isn: IsnGenerator,
    pub(super) slots: Vec<Option<Conn>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    map: HashMap<Key, u32>,
    listeners: HashMap<u16, Listener>,
    listen_gen: u32,
    half_open: VecDeque<ConnHandle>,
    half_open_count: usize,
    events: VecDeque<TcpEvent>,
    pending_rst: VecDeque<(Ipv4Addr, TcpRepr<'static>)>,
    stats: TcpStats,
    challenge_window: (u64, u32),
    next_port: u16,
    live: usize,
}

impl Tcp {
    /// An empty TCP for `local_addr`; `seed` keys the ISN generator.
    pub fn new(config: TcpConfig, local_addr: Ipv4Addr, seed: u64) -> Tcp {
        let isn = IsnGenerator::new(seed);
        let next_port = 49152 + (isn.scramble(1) % 16384) as u16;
        Tcp {
            cfg: config,
            local: local_addr,
            isn,
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            map: HashMap::new(),
            listeners: HashMap::new(),
            listen_gen: 0,
            half_open: VecDeque::new(),
            half_open_count: 0,
            events: VecDeque::new(),
            pending_rst: VecDeque::new(),
            stats: TcpStats::default(),
            challenge_window: (0, 0),
            next_port,
            live: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TcpConfig {
        &self.cfg
    }

    /// The counters.
    pub fn stats(&self) -> TcpStats {
        let mut s = self.stats;
        s.conns_open = self.live as u64;
        s
    }

    /// Every piece of per-connection state held (TIME-WAIT and closed
    /// connections not yet released included).
    pub fn connection_count(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn conn(&self, h: ConnHandle) -> Option<&Conn> {
        let i = h.slot as usize;
        if self.generations.get(i) != Some(&h.generation) {
            return None;
        }
        self.slots.get(i)?.as_ref()
    }

    fn conn_mut(&mut self, h: ConnHandle) -> Option<&mut Conn> {
        let i = h.slot as usize;
        if self.generations.get(i) != Some(&h.generation) {
            return None;
        }
        self.slots.get_mut(i)?.as_mut()
    }

    fn handle(&self, slot: u32) -> ConnHandle {
        ConnHandle {
            slot,
            generation: self.generations[slot as usize],
        }
    }

    fn push_event(&mut self, ev: TcpEvent) {
        if self.events.len() >= 4 * self.cfg.max_connections.max(16) {
            self.stats.events_dropped += 1;
        } else {
            self.events.push_back(ev);
        }
    }

    /// The next event, oldest first.
    pub fn next_event(&mut self) -> Option<TcpEvent> {
        self.events.pop_front()
    }

    /// A connection's state (`None` for a stale handle).
    pub fn state(&self, h: ConnHandle) -> Option<State> {
        self.conn(h).map(|c| c.state)
    }

    /// The remote address and port of a connection.
    pub fn remote(&self, h: ConnHandle) -> Option<SocketAddrV4> {
        self.conn(h)
            .map(|c| SocketAddrV4::new(c.remote, c.remote_port))
    }

    /// Why a closed connection ended.
    pub fn close_reason(&self, h: ConnHandle) -> Option<CloseReason> {
        self.conn(h).and_then(|c| c.close_reason)
    }

    /// Listens on `port` with an accept queue of `backlog` connections.
    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<ListenHandle, TcpError> {
        if port == 0 || backlog == 0 {
            return Err(TcpError::InvalidArgument);
        }
        if self.listeners.contains_key(&port) {
            return Err(TcpError::PortInUse);
        }
        self.listen_gen = self.listen_gen.wrapping_add(1);
        self.listeners.insert(
            port,
            Listener {
                generation: self.listen_gen,
                backlog,
                queue: VecDeque::new(),
            },
        );
        Ok(ListenHandle {
            port,
            generation: self.listen_gen,
        })
    }

    /// Stops listening; connections not yet accepted are reset.
    pub fn unlisten(&mut self, l: ListenHandle) {
        let ok = self
            .listeners
            .get(&l.port)
            .is_some_and(|x| x.generation == l.generation);
        if !ok {
            return;
        }
        if let Some(lst) = self.listeners.remove(&l.port) {
            for h in lst.queue {
                let _ = self.abort(h);
                self.release(h);
            }
        }
    }

    /// Takes an established connection from the listener's queue.
    pub fn accept(&mut self, l: ListenHandle) -> Option<ConnHandle> {
        let lst = self.listeners.get_mut(&l.port)?;
        if lst.generation != l.generation {
            return None;
        }
        while let Some(h) = lst.queue.pop_front() {
            let i = h.slot as usize;
            if self.generations.get(i) == Some(&h.generation) {
                if let Some(Some(c)) = self.slots.get_mut(i) {
                    c.listener = None;
                    // What arrived while it was queued is announced now.
                    let readable = !c.rx.is_empty();
                    let peer_fin = c.peer_fin;
                    c.readable_told = readable;
                    if readable {
                        self.push_event(TcpEvent::Readable(h));
                    }
                    if peer_fin {
                        self.push_event(TcpEvent::PeerClosed(h));
                    }
                    return Some(h);
                }
            }
        }
        None
    }

    fn alloc(&mut self, c: Conn) -> Result<u32, TcpError> {
        if self.connection_count() >= self.cfg.max_connections {
            return Err(TcpError::TooManyConnections);
        }
        let key = (c.local_port, c.remote, c.remote_port);
        let slot = if let Some(s) = self.free.pop() {
            self.slots[s as usize] = Some(c);
            s
        } else {
            self.slots.push(Some(c));
            self.generations.push(0);
            (self.slots.len() - 1) as u32
        };
        self.map.insert(key, slot);
        self.live += 1;
        Ok(slot)
    }

    fn free_slot(&mut self, slot: u32) {
        let i = slot as usize;
        if let Some(c) = self.slots.get_mut(i).and_then(Option::take) {
            if c.state != State::Closed {
                self.live = self.live.saturating_sub(1);
            }
            let key = (c.local_port, c.remote, c.remote_port);
            if self.map.get(&key) == Some(&slot) {
                self.map.remove(&key);
            }
            if c.state == State::SynReceived {
                self.half_open_count = self.half_open_count.saturating_sub(1);
            }
            self.generations[i] = self.generations[i].wrapping_add(1);
            self.free.push(slot);
        }
    }

    /// Ends a connection: its state becomes Closed and its buffers go;
    /// the slot goes too unless the application still holds the handle.
    fn finish(&mut self, slot: u32, reason: CloseReason) {
        let h = self.handle(slot);
        let Some(c) = self.slots[slot as usize].as_mut() else {
            return;
        };
        if c.state == State::Closed {
            return;
        }
        let was_half_open = c.state == State::SynReceived;
        let hidden = c.listener.is_some() || c.released;
        c.state = State::Closed;
        c.close_reason = Some(reason);
        c.tx = super::buffer::Ring::with_capacity(0);
        c.rx = super::buffer::Ring::with_capacity(0);
        c.retx_at = None;
        c.delack_at = None;
        c.timewait_at = None;
        c.ack_now = false;
        c.fast_rtx = false;
        let key = (c.local_port, c.remote, c.remote_port);
        if self.map.get(&key) == Some(&slot) {
            self.map.remove(&key);
        }
        if was_half_open {
            self.half_open_count = self.half_open_count.saturating_sub(1);
        }
        self.live = self.live.saturating_sub(1);
        self.stats.conns_closed += 1;
        match reason {
            CloseReason::Reset => self.stats.conns_reset += 1,
            CloseReason::TimedOut => self.stats.conns_timed_out += 1,
            _ => {}
        }
        if hidden {
            // Re-mark as not half-open so free_slot does not count twice.
            self.free_slot(slot);
        } else {
            self.push_event(TcpEvent::Closed(h));
        }
    }

    /// Opens a connection to `remote`.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddrV4,
        local_port: Option<u16>,
    ) -> Result<ConnHandle, TcpError> {
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(TcpError::InvalidArgument);
        }
        let (rip, rport) = (*remote.ip(), remote.port());
        let lport = match local_port {
            Some(0) => return Err(TcpError::InvalidArgument),
            Some(p) => {
                if self.map.contains_key(&(p, rip, rport)) {
                    return Err(TcpError::PortInUse);
                }
                p
            }
            None => {
                let mut found = None;
                for _ in 0..16384 {
                    let p = self.next_port;
                    self.next_port = if p == u16::MAX { 49152 } else { p + 1 };
                    if !self.map.contains_key(&(p, rip, rport)) && !self.listeners.contains_key(&p)
                    {
                        found = Some(p);
                        break;
                    }
                }
                found.ok_or(TcpError::TooManyConnections)?
            }
        };
        let iss = self.isn.isn((self.local, lport), (rip, rport), now);
        let mut c = Conn::new(&self.cfg, lport, rip, rport, iss);
        c.state = State::SynSent;
        let slot = self.alloc(c)?;
        Ok(self.handle(slot))
    }

    /// Queues data to send; returns how much was taken (0 when full).
    pub fn send(&mut self, h: ConnHandle, data: &[u8]) -> Result<usize, TcpError> {
        let c = self.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        match c.state {
            State::Established | State::CloseWait => {}
            State::SynSent | State::SynReceived => return Ok(0),
            _ => return Err(TcpError::NotConnected),
        }
        if c.fin_queued {
            return Err(TcpError::Closing);
        }
        let n = c.tx.push(data);
        if n < data.len() {
            c.want_writable = true;
        }
        Ok(n)
    }

    /// Copies received data out; 0 when nothing is buffered now.
    pub fn recv(&mut self, h: ConnHandle, buf: &mut [u8]) -> Result<usize, TcpError> {
        let mss = usize::from(self.cfg.mss);
        let c = self.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        if c.state == State::Closed && c.rx.is_empty() {
            return Err(TcpError::NotConnected);
        }
        let n = c.rx.pop(buf);
        c.readable_told = false;
        // Window update once the window grew substantially.
        if n > 0 && c.rcv_window() >= c.last_adv + 2 * mss.max(1) && c.synchronized() {
            c.ack_now = true;
        }
        Ok(n)
    }

    /// Closes the sending side: a FIN follows the queued data.
    pub fn close(&mut self, h: ConnHandle) -> Result<(), TcpError> {
        let slot = h.slot;
        let c = self.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        match c.state {
            State::SynSent => {
                self.finish(slot, CloseReason::Normal);
            }
            State::Established | State::SynReceived => {
                c.fin_queued = true;
                if c.state == State::Established {
                    c.state = State::FinWait1;
                }
            }
            State::CloseWait => {
                c.fin_queued = true;
                c.state = State::LastAck;
            }
            _ => {}
        }
        Ok(())
    }

    /// Resets the connection.
    pub fn abort(&mut self, h: ConnHandle) -> Result<(), TcpError> {
        let slot = h.slot;
        let c = self.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        if matches!(c.state, State::Closed | State::TimeWait | State::SynSent) {
            if c.state != State::Closed {
                self.finish(slot, CloseReason::Reset);
            }
            return Ok(());
        }
        let r = TcpRepr {
            src_port: c.local_port,
            dst_port: c.remote_port,
            seq: c.snd_max,
            ack: c.rcv_nxt,
            flags: Flags::RST | Flags::ACK,
            window: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        let remote = c.remote;
        if self.pending_rst.len() < 1024 {
            self.pending_rst.push_back((remote, r));
        }
        self.finish(slot, CloseReason::Reset);
        Ok(())
    }

    /// The application drops the handle; the connection finishes closing
    /// on its own and its state goes once it is over.
    pub fn release(&mut self, h: ConnHandle) {
        let slot = h.slot;
        let Some(c) = self.conn_mut(h) else {
            return;
        };
        c.released = true;
        if c.state == State::Closed {
            self.free_slot(slot);
        } else if matches!(
            c.state,
            State::Established | State::CloseWait | State::SynReceived
        ) {
            let _ = self.close(h);
        }
    }

    /// The earliest instant `dispatch` has timer work.
    pub fn poll_at(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        if !self.pending_rst.is_empty() {
            return Some(Instant::ZERO);
        }
        for c in self.slots.iter().flatten() {
            if let Some(d) = c.poll_at() {
                t = Some(t.map_or(d, |x: Instant| x.min(d)));
            }
        }
        t
    }

    /// Sends what is due and runs the timers, at most
    /// `dispatch_budget` segments per call.
    pub fn dispatch(&mut self, now: Instant, tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool) {
        let mut budget = self.cfg.dispatch_budget.max(1);
        let mut sent = 0u64;
        let mut refused = 0u64;
        while let Some((remote, r)) = self.pending_rst.pop_front() {
            if tx(remote, &r) {
                self.stats.rst_sent += 1;
                sent += 1;
            }
        }
        let cfg = self.cfg;
        for slot in 0..self.slots.len() as u32 {
            if budget == 0 {
                break;
            }
            let alive = match self.slots[slot as usize].as_mut() {
                Some(c) if c.state != State::Closed => {
                    let was_retx = c.fast_rtx;
                    if c.delack_at.is_some_and(|t| now >= t) {
                        self.stats.delayed_acks += 1;
                    }
                    let ok = c.on_timers(now, &cfg);
                    if ok && !was_retx && c.fast_rtx {
                        self.stats.retransmits += 1;
                        if c.snd_wnd == 0 && c.synchronized() {
                            self.stats.window_probes += 1;
                        } else {
                            self.stats.rto_timeouts += 1;
                        }
                    }
                    if ok {
                        let mut out = |a: Ipv4Addr, r: &TcpRepr<'_>| {
                            let ok = tx(a, r);
                            if ok {
                                sent += 1;
                            } else {
                                refused += 1;
                            }
                            ok
                        };
                        let n = c.output(now, &cfg, budget, &mut out);
                        budget = budget.saturating_sub(n);
                        if c.want_writable && c.tx.free() > 0 {
                            c.want_writable = false;
                            Some(Some(TcpEvent::Writable(ConnHandle {
                                slot,
                                generation: self.generations[slot as usize],
                            })))
                        } else {
                            Some(None)
                        }
                    } else {
                        None
                    }
                }
                _ => Some(None),
            };
            match alive {
                None => {
                    let c = self.slots[slot as usize].as_ref();
                    let reason = match c.map(|c| c.state) {
                        Some(State::TimeWait) => CloseReason::Normal,
                        Some(State::SynSent) => CloseReason::Refused,
                        _ => CloseReason::TimedOut,
                    };
                    if reason == CloseReason::TimedOut
                        && c.is_some_and(|c| c.state == State::SynReceived)
                    {
                        self.stats.half_open_expired += 1;
                    }
                    self.finish(slot, reason);
                }
                Some(Some(ev)) => self.push_event(ev),
                Some(None) => {}
            }
        }
        self.stats.segments_out += sent;
        self.stats.tx_refused += refused;
    }

    fn send_rst_for(
        &mut self,
        src: Ipv4Addr,
        seg: &TcpRepr<'_>,
        tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) {
        if seg.flags.contains(Flags::RST) {
            return;
        }
        let (seq, ack, flags) = if seg.flags.contains(Flags::ACK) {
            (seg.ack, Seq(0), Flags::RST)
        } else {
            (
                Seq(0),
                add(seg.seq, seg.segment_len()),
                Flags::RST | Flags::ACK,
            )
        };
        let r = TcpRepr {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq,
            ack,
            flags,
            window: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        if tx(src, &r) {
            self.stats.rst_sent += 1;
            self.stats.segments_out += 1;
        }
    }

    fn send_ack_now(&mut self, slot: u32, tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool) {
        if let Some(c) = self.slots[slot as usize].as_mut() {
            // Pure ACKs carry the highest sequence number sent: after a
            // timeout rewinds snd_nxt, an older one would fall left of the
            // peer's window and be dropped (both ends could deadlock).
            let r = c.base_repr(Flags(0), c.snd_max);
            if tx(c.remote, &r) {
                self.stats.segments_out += 1;
            } else {
                c.ack_now = true;
            }
        }
    }

    fn challenge_ack(
        &mut self,
        now: Instant,
        slot: u32,
        tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) {
        let sec = now.total_micros() / 1_000_000;
        if self.challenge_window.0 != sec {
            self.challenge_window = (sec, 0);
        }
        if self.challenge_window.1 >= self.cfg.challenge_ack_limit {
            self.stats.challenge_acks_suppressed += 1;
            return;
        }
        self.challenge_window.1 += 1;
        self.stats.challenge_acks += 1;
        self.send_ack_now(slot, tx);
    }

    /// One received segment (checksum verified by the caller).
    pub fn process(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: &TcpRepr<'_>,
        tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) {
        self.stats.segments_in += 1;
        if dst != self.local {
            self.stats.not_for_us += 1;
            return;
        }
        if seg.flags.contains(Flags::RST) {
            self.stats.rst_received += 1;
        }
        let key = (seg.dst_port, src, seg.src_port);
        if let Some(&slot) = self.map.get(&key) {
            self.segment(now, slot, seg, tx);
            return;
        }
        if self.listeners.contains_key(&seg.dst_port) {
            self.on_listen(now, src, seg, tx);
            return;
        }
        self.send_rst_for(src, seg, tx);
    }

    fn on_listen(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        seg: &TcpRepr<'_>,
        tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) {
        let f = seg.flags;
        if f.contains(Flags::RST) {
            return;
        }
        if f.contains(Flags::ACK) {
            self.send_rst_for(src, seg, tx);
            return;
        }
        if !f.contains(Flags::SYN) || f.contains(Flags::FIN) {
            return;
        }
        let port = seg.dst_port;
        let (generation, full) = match self.listeners.get(&port) {
            Some(l) => (l.generation, l.queue.len() >= l.backlog),
            None => return,
        };
        if full {
            self.stats.syn_dropped += 1;
            return;
        }
        // Half-open cap: evict the oldest.
        while self.half_open_count >= self.cfg.max_half_open.max(1) {
            let Some(h) = self.half_open.pop_front() else {
                break;
            };
            if self.state(h) == Some(State::SynReceived) {
                self.stats.half_open_evicted += 1;
                self.finish(h.slot, CloseReason::Reset);
            }
        }
        if self.connection_count() >= self.cfg.max_connections {
            self.stats.syn_dropped += 1;
            return;
        }
        let iss = self.isn.isn((self.local, port), (src, seg.src_port), now);
        let mut c = Conn::new(&self.cfg, port, src, seg.src_port, iss);
        c.state = State::SynReceived;
        c.irs_init(seg);
        c.listener = Some((port, generation));
        let Ok(slot) = self.alloc(c) else {
            self.stats.syn_dropped += 1;
            return;
        };
        self.half_open_count += 1;
        let h = self.handle(slot);
        self.half_open.push_back(h);
        // Keep the eviction queue from growing with stale handles.
        if self.half_open.len() > 2 * self.cfg.max_half_open.max(1) + 16 {
            let gens = &self.generations;
            let slots = &self.slots;
            self.half_open.retain(|h| {
                gens[h.slot as usize] == h.generation
                    && slots[h.slot as usize]
                        .as_ref()
                        .is_some_and(|c| c.state == State::SynReceived)
            });
        }
        let cfg = self.cfg;
        if let Some(c) = self.slots[slot as usize].as_mut() {
            let mut sent = 0;
            let n = c.output(now, &cfg, 1, &mut |a, r| {
                let ok = tx(a, r);
                sent += usize::from(ok);
                ok
            });
            let _ = n;
            self.stats.segments_out += sent as u64;
        }
    }

    fn segment(
        &mut self,
        now: Instant,
        slot: u32,
        seg: &TcpRepr<'_>,
        tx: &mut dyn FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool,
    ) {
        let cfg = self.cfg;
        let h = self.handle(slot);
        let Some(c) = self.slots[slot as usize].as_mut() else {
            return;
        };
        let f = seg.flags;
        let has_ack = f.contains(Flags::ACK);
        if c.state == State::SynSent {
            if has_ack && (seg.ack.le(c.iss) || seg.ack.gt(c.snd_max)) {
                let remote = c.remote;
                self.send_rst_for(remote, seg, tx);
                return;
            }
            if f.contains(Flags::RST) {
                if has_ack {
                    self.finish(slot, CloseReason::Refused);
                }
                return;
            }
            if !f.contains(Flags::SYN) {
                return;
            }
            c.irs_init(seg);
            if seg.options.window_scale.is_none() {
                c.rcv_wscale = 0;
            }
            if has_ack {
                c.snd_una = seg.ack;
                c.state = State::Established;
                c.allocate(&cfg);
                c.snd_wnd = u32::from(seg.window) << c.snd_wscale;
                c.snd_wl1 = seg.seq;
                c.snd_wl2 = seg.ack;
                c.retx_at = None;
                c.retries = 0;
                c.ack_now = true;
                self.stats.conns_opened += 1;
                self.push_event(TcpEvent::Connected(h));
            } else {
                // Simultaneous open.
                c.state = State::SynReceived;
                c.fast_rtx = true;
            }
            return;
        }
        // Synchronized or SYN-RECEIVED: §3.10.7.4.
        // Before its buffers exist, a half-open connection takes what its
        // SYN-ACK announced (data may ride on the handshake ACK).
        let wnd = if c.state == State::SynReceived {
            cfg.rx_buffer.min(65535)
        } else {
            c.rcv_window()
        };
        let seg_len = seg.segment_len();
        let seq = seg.seq;
        let acceptable = if seg_len == 0 {
            if wnd == 0 {
                seq == c.rcv_nxt
            } else {
                seq.ge(c.rcv_nxt) && seq.lt(add(c.rcv_nxt, wnd))
            }
        } else if wnd == 0 {
            false
        } else {
            let last = add(seq, seg_len - 1);
            (seq.ge(c.rcv_nxt) && seq.lt(add(c.rcv_nxt, wnd)))
                || (last.ge(c.rcv_nxt) && last.lt(add(c.rcv_nxt, wnd)))
        };
        if c.state == State::TimeWait && f.contains(Flags::FIN) && !f.contains(Flags::RST) {
            // A retransmitted FIN: ACK it again and restart 2MSL.
            c.timewait_at = Some(now + Conn::time_wait(&cfg));
            self.send_ack_now(slot, tx);
            return;
        }
        if !acceptable {
            if !f.contains(Flags::RST) {
                self.stats.out_of_window += 1;
                self.send_ack_now(slot, tx);
            }
            return;
        }
        if f.contains(Flags::RST) {
            if c.state == State::TimeWait {
                // RFC 1337: no TIME-WAIT assassination; the timer ends it.
                return;
            }
            if seq == c.rcv_nxt {
                let reason = if c.state == State::SynReceived && c.listener.is_some() {
                    CloseReason::Refused
                } else {
                    CloseReason::Reset
                };
                self.finish(slot, reason);
            } else {
                self.challenge_ack(now, slot, tx);
            }
            return;
        }
        if f.contains(Flags::SYN) {
            if c.state == State::SynReceived && seq == add(c.rcv_nxt, usize::MAX) {
                // A retransmitted SYN: resend the SYN-ACK.
                c.fast_rtx = true;
                return;
            }
            self.challenge_ack(now, slot, tx);
            return;
        }
        if !has_ack {
            return;
        }
        // ACK processing.
        if c.state == State::SynReceived {
            if let Some((port, _)) = c.listener {
                if self
                    .listeners
                    .get(&port)
                    .is_some_and(|l| l.queue.len() >= l.backlog)
                {
                    // Accept queue full: ignore the ACK; our SYN-ACK
                    // retransmission asks again later (as Linux does).
                    self.stats.syn_dropped += 1;
                    return;
                }
            }
            if seg.ack.gt(c.iss) && seg.ack.le(c.snd_max) {
                c.state = State::Established;
                c.allocate(&cfg);
                c.snd_una = add(c.iss, 1);
                c.snd_wnd = u32::from(seg.window) << c.snd_wscale;
                c.snd_wl1 = seq;
                c.snd_wl2 = seg.ack;
                c.retx_at = None;
                c.retries = 0;
                self.half_open_count = self.half_open_count.saturating_sub(1);
                self.stats.conns_opened += 1;
                if c.fin_queued {
                    c.state = State::FinWait1;
                }
                match c.listener {
                    Some((port, generation)) => {
                        match self.listeners.get_mut(&port) {
                            Some(l) if l.generation == generation => {
                                l.queue.push_back(h);
                                self.events.push_back(TcpEvent::Accepted {
                                    listener: ListenHandle { port, generation },
                                    conn: h,
                                });
                            }
                            _ => {
                                // The listener went away meanwhile: nobody
                                // will accept this one.
                                let _ = self.abort(h);
                                return;
                            }
                        }
                    }
                    None => self.push_event(TcpEvent::Connected(h)),
                }
            } else {
                let remote = c.remote;
                self.send_rst_for(remote, seg, tx);
                return;
            }
        }
        let Some(c) = self.slots[slot as usize].as_mut() else {
            return;
        };
        let ack = seg.ack;
        if ack.gt(c.snd_max) {
            self.stats.ack_too_new += 1;
            self.send_ack_now(slot, tx);
            return;
        }
        // RFC 5961 §5.2: an ACK older than the largest window the peer can
        // have offered is not acceptable either.
        let max_wnd = i64::from(65535u32) << c.snd_wscale;
        if i64::from(ack.diff(c.snd_una)) < -max_wnd {
            self.stats.ack_too_old += 1;
            self.send_ack_now(slot, tx);
            return;
        }
        let mss = c.send_mss;
        let mut fin_acked = false;
        if ack.gt(c.snd_una) {
            let mut acked = span(c.snd_una, ack);
            let data_start = add(c.iss, 1);
            if c.snd_una.lt(data_start) {
                acked -= 1;
            }
            if let Some(fs) = c.fin_seq() {
                if ack.gt(fs) {
                    fin_acked = true;
                    acked = acked.saturating_sub(1);
                }
            }
            let data_acked = acked.min(c.tx.len());
            c.tx.consume(data_acked);
            c.snd_una = ack;
            if c.snd_nxt.lt(ack) {
                c.snd_nxt = ack;
            }
            c.retries = 0;
            c.rtt.reset_backoff();
            if let Some((end, t)) = c.rtt_probe {
                if ack.ge(end) {
                    c.rtt.sample(now - t);
                    c.rtt_probe = None;
                }
            }
            // NewReno (RFC 6582).
            match c.recover {
                Some(rec) if ack.lt(rec) => {
                    c.cwnd = c.cwnd.saturating_sub(data_acked) + mss;
                    c.fast_rtx = true;
                    self.stats.retransmits += 1;
                }
                Some(_) => {
                    c.recover = None;
                    c.cwnd = c.ssthresh.max(2 * mss);
                }
                None => {
                    if c.cwnd < c.ssthresh {
                        c.cwnd += data_acked.min(mss);
                    } else {
                        c.cwnd += (mss * mss / c.cwnd.max(1)).max(1);
                    }
                }
            }
            c.dupacks = 0;
            c.retx_at = if c.snd_una == c.snd_max {
                None
            } else {
                Some(now + c.rtt.rto())
            };
            if c.want_writable && c.tx.free() > 0 {
                c.want_writable = false;
                self.events.push_back(TcpEvent::Writable(h));
            }
        } else if ack == c.snd_una
            && seg.payload.is_empty()
            && !f.contains(Flags::FIN)
            && c.snd_una != c.snd_max
            && (u32::from(seg.window) << c.snd_wscale) == c.snd_wnd
        {
            self.stats.dup_acks += 1;
            c.dupacks += 1;
            if c.recover.is_some() {
                c.cwnd += mss;
            } else if c.dupacks == 3 {
                let flight = span(c.snd_una, c.snd_max);
                c.ssthresh = (flight / 2).max(2 * mss);
                c.cwnd = c.ssthresh + 3 * mss;
                c.recover = Some(c.snd_max);
                c.fast_rtx = true;
                self.stats.fast_retransmits += 1;
                self.stats.retransmits += 1;
            }
        }
        // Window update (RFC 9293 SND.WL1/WL2).
        if c.snd_wl1.lt(seq) || (c.snd_wl1 == seq && c.snd_wl2.le(ack)) {
            c.snd_wnd = u32::from(seg.window) << c.snd_wscale;
            c.snd_wl1 = seq;
            c.snd_wl2 = ack;
        }
        if fin_acked {
            match c.state {
                State::FinWait1 => c.state = State::FinWait2,
                State::Closing => {
                    c.state = State::TimeWait;
                    c.timewait_at = Some(now + Conn::time_wait(&cfg));
                    c.retx_at = None;
                }
                State::LastAck => {
                    self.finish(slot, CloseReason::Normal);
                    return;
                }
                _ => {}
            }
        }
        // Data.
        let Some(c) = self.slots[slot as usize].as_mut() else {
            return;
        };
        let receiving = matches!(
            c.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        let mut readable = false;
        let mut peer_closed = false;
        if receiving && !seg.payload.is_empty() {
            let mut data = seg.payload;
            let mut s = seq;
            if s.lt(c.rcv_nxt) {
                let skip = span(s, c.rcv_nxt).min(data.len());
                data = &data[skip..];
                s = c.rcv_nxt;
            }
            let off = span(c.rcv_nxt, s);
            let written = c.rx.write_at(off, data);
            if off == 0 {
                let reach = c.asm.advance(written);
                c.rx.commit(reach);
                c.rcv_nxt = add(c.rcv_nxt, reach);
                readable = reach > 0;
                c.unacked_segs += 1;
                if reach > written || !c.asm.is_empty() {
                    c.ack_now = true;
                }
                if c.unacked_segs >= 2 {
                    c.ack_now = true;
                } else if c.delack_at.is_none() {
                    c.delack_at = Some(now + cfg.delayed_ack);
                }
            } else {
                self.stats.out_of_order += 1;
                if written > 0 && !c.asm.add(off, off + written) {
                    self.stats.ooo_dropped += 1;
                }
                c.ack_now = true;
            }
            if written < data.len() && off == 0 {
                c.ack_now = true;
            }
        }
        if f.contains(Flags::FIN) && !c.peer_fin {
            let fin_at = add(seq, seg.payload.len());
            if fin_at == c.rcv_nxt && c.synchronized() {
                c.rcv_nxt = add(c.rcv_nxt, 1);
                c.peer_fin = true;
                c.ack_now = true;
                peer_closed = true;
                match c.state {
                    State::Established => c.state = State::CloseWait,
                    State::FinWait1 => c.state = State::Closing,
                    State::FinWait2 => {
                        c.state = State::TimeWait;
                        c.timewait_at = Some(now + Conn::time_wait(&cfg));
                        c.retx_at = None;
                    }
                    _ => {}
                }
            } else {
                c.ack_now = true;
            }
        }
        let hidden = c.listener.is_some();
        if readable && !c.readable_told && !hidden {
            c.readable_told = true;
            self.push_event(TcpEvent::Readable(h));
        }
        if peer_closed && !hidden {
            self.push_event(TcpEvent::PeerClosed(h));
        }
        // Send what the ACK opened up and any immediate ACK.
        let Some(c) = self.slots[slot as usize].as_mut() else {
            return;
        };
        if c.ack_now || c.fast_rtx {
            let mut sent = 0u64;
            c.output(now, &cfg, 4, &mut |a, r| {
                let ok = tx(a, r);
                sent += u64::from(ok);
                ok
            });
            self.stats.segments_out += sent;
        }
    }
}
