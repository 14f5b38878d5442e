//! Two `Tcp`s back to back through the wire format, with a virtual clock
//! and a seeded fault stage.
#![allow(clippy::needless_range_loop)]

use std::net::SocketAddrV4;
use std::time::Duration;

use super::seq::add;
use super::*;
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpPacket, TcpRepr};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A deterministic xorshift64 for the fault stage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// True with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// A segment on the wire: (delivery time, destination index, source address, bytes).
type InFlight = (u64, usize, Ipv4Addr, Vec<u8>);

struct Net {
    tcp: [Tcp; 2],
    now: Instant,
    wire: Vec<InFlight>,
    rng: Rng,
    loss: u64,
    reorder: u64,
    dup: u64,
    delivered: u64,
    /// Drop everything sent by this side (a vanished peer).
    blackhole: [bool; 2],
    /// The last segment each side sent (payload length instead of payload).
    last: [Option<(TcpRepr<'static>, usize)>; 2],
}

impl Net {
    fn new(cfg: TcpConfig, seed: u64) -> Net {
        Net {
            tcp: [Tcp::new(cfg, A, seed), Tcp::new(cfg, B, seed ^ 0x55)],
            now: Instant::ZERO,
            wire: Vec::new(),
            rng: Rng(seed | 1),
            loss: 0,
            reorder: 0,
            dup: 0,
            delivered: 0,
            blackhole: [false; 2],
            last: [None, None],
        }
    }

    fn addr(i: usize) -> Ipv4Addr {
        if i == 0 {
            A
        } else {
            B
        }
    }

    fn emit(&mut self, from: usize, to: Ipv4Addr, r: &TcpRepr<'_>) {
        let dst = if to == A { 0 } else { 1 };
        self.last[from] = Some((TcpRepr { payload: &[], ..*r }, r.payload.len()));
        assert_eq!(to, Net::addr(1 - from));
        let mut buf = vec![0xa5u8; r.buffer_len()];
        r.emit(
            &mut TcpPacket::new_unchecked(&mut buf[..]),
            Net::addr(from),
            to,
        );
        if self.blackhole[from] || self.rng.chance(self.loss) {
            return;
        }
        let mut t = self.now.total_micros() + 50;
        if self.rng.chance(self.reorder) {
            t += 200 + self.rng.next() % 500;
        }
        if self.rng.chance(self.dup) {
            self.wire.push((t + 10, dst, Net::addr(from), buf.clone()));
        }
        self.wire.push((t, dst, Net::addr(from), buf));
    }

    /// Runs dispatch on both sides, then delivers what is due; advances the
    /// clock to the next thing that happens (at most `step`).
    fn step(&mut self, step: Duration) {
        for i in 0..2 {
            let mut out = Vec::new();
            self.tcp[i].dispatch(self.now, &mut |to, r| {
                out.push((to, owned(r)));
                true
            });
            for (to, (r, p)) in out {
                let r = TcpRepr { payload: &p, ..r };
                self.emit(i, to, &r);
            }
        }
        // Deliver everything due now, in time order.
        self.wire.sort_by_key(|w| w.0);
        while let Some(pos) = self
            .wire
            .iter()
            .position(|w| w.0 <= self.now.total_micros())
        {
            let (_, dst, src, bytes) = self.wire.remove(pos);
            self.delivered += 1;
            let p = TcpPacket::new_checked(&bytes[..]).unwrap();
            let r = TcpRepr::parse(&p, src, Net::addr(dst)).unwrap();
            let mut out = Vec::new();
            self.tcp[dst].process(self.now, src, Net::addr(dst), &r, &mut |to, r| {
                out.push((to, owned(r)));
                true
            });
            for (to, (r, p)) in out {
                let r = TcpRepr { payload: &p, ..r };
                self.emit(dst, to, &r);
            }
        }
        let mut next = self.now + step;
        for t in self.tcp.iter().filter_map(|t| t.poll_at()) {
            next = next.min(t.max(self.now + Duration::from_micros(1)));
        }
        if let Some(w) = self.wire.iter().map(|w| w.0).min() {
            next = next.min(Instant::from_micros(w.max(self.now.total_micros() + 1)));
        }
        self.now = next;
    }
}

fn owned(r: &TcpRepr<'_>) -> (TcpRepr<'static>, Vec<u8>) {
    (TcpRepr { payload: &[], ..*r }, r.payload.to_vec())
}

fn test_cfg() -> TcpConfig {
    TcpConfig {
        msl: Duration::from_millis(100),
        rto_initial: Duration::from_millis(200),
        ..TcpConfig::default()
    }
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..len).map(|_| r.next() as u8).collect()
}

/// Opens a connection from side 0 to a listener on side 1.
fn open(net: &mut Net) -> (ConnHandle, ConnHandle) {
    let l = net.tcp[1].listen(80, 8).unwrap();
    let c = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 80), None)
        .unwrap();
    let mut s = None;
    for _ in 0..10_000 {
        net.step(Duration::from_millis(1));
        if s.is_none() {
            s = net.tcp[1].accept(l);
        }
        if s.is_some() && net.tcp[0].state(c) == Some(State::Established) {
            break;
        }
    }
    let s = s.expect("accepted");
    assert_eq!(net.tcp[1].state(s), Some(State::Established));
    assert_eq!(net.tcp[0].state(c), Some(State::Established));
    (c, s)
}

/// Moves `len` bytes each way, closes both ends and waits for TIME-WAIT.
fn transfer(net: &mut Net, len: usize) {
    let (c, s) = open(net);
    let data = [pattern(1, len), pattern(2, len)];
    let handles = [c, s];
    let mut sent = [0usize; 2];
    let mut got: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut closed = [false; 2];
    let mut buf = vec![0u8; 64 * 1024];
    let mut rounds = 0;
    while got[0].len() < len || got[1].len() < len {
        rounds += 1;
        assert!(
            rounds < 2_000_000,
            "stalled: got {} / {}",
            got[0].len(),
            got[1].len()
        );
        for i in 0..2 {
            let h = handles[i];
            if sent[i] < len {
                sent[i] += net.tcp[i].send(h, &data[i][sent[i]..]).unwrap();
            } else if !closed[i] {
                net.tcp[i].close(h).unwrap();
                closed[i] = true;
            }
            loop {
                let n = net.tcp[i].recv(h, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got[i].extend_from_slice(&buf[..n]);
            }
        }
        net.step(Duration::from_millis(1));
    }
    for k in 0..2 {
        let first = got[1 - k].iter().zip(&data[k]).position(|(a, b)| a != b);
        assert!(
            got[1 - k] == data[k],
            "dir {k}: len {} vs {}, first difference at {first:?}",
            got[1 - k].len(),
            len
        );
    }
    assert!(got[0] == data[1], "B->A bytes differ");
    for i in 0..2 {
        if !closed[i] {
            net.tcp[i].close(handles[i]).unwrap();
        }
    }
    // Both ends close; wait for TIME-WAIT to expire.
    let mut released = [false; 2];
    for _ in 0..200_000 {
        net.step(Duration::from_millis(5));
        for i in 0..2 {
            while let Some(ev) = net.tcp[i].next_event() {
                if let TcpEvent::Closed(h) = ev {
                    assert_eq!(net.tcp[i].close_reason(h), Some(CloseReason::Normal));
                    net.tcp[i].release(h);
                    released[i] = true;
                }
            }
        }
        if released[0]
            && released[1]
            && net.tcp[0].connection_count() == 0
            && net.tcp[1].connection_count() == 0
        {
            break;
        }
    }
    assert!(
        released[0] && released[1],
        "states {:?} {:?}",
        net.tcp[0].state(c),
        net.tcp[1].state(s)
    );
    assert_eq!(net.tcp[0].connection_count(), 0);
    assert_eq!(net.tcp[1].connection_count(), 0);
}

#[test]
fn transfer_clean() {
    let mut net = Net::new(test_cfg(), 7);
    transfer(&mut net, 3 << 20);
    let s = net.tcp[0].stats();
    assert_eq!(s.retransmits, 0);
    assert_eq!(s.conns_opened, 1);
    assert_eq!(s.conns_closed, 1);
}

#[test]
fn transfer_with_loss_reordering_duplication() {
    let mut net = Net::new(test_cfg(), 99);
    net.loss = 20;
    net.reorder = 20;
    net.dup = 10;
    transfer(&mut net, 2 << 20);
    let s = net.tcp[0].stats();
    let t = net.tcp[1].stats();
    assert!(s.retransmits + t.retransmits > 0);
    assert!(s.out_of_order + t.out_of_order > 0);
    assert!(s.fast_retransmits + t.fast_retransmits > 0, "{s:?}");
    assert!(s.dup_acks + t.dup_acks > 0);
}

#[test]
fn delayed_ack_every_second_segment_or_timer() {
    let mut net = Net::new(test_cfg(), 11);
    let (c, _s) = open(&mut net);
    let before = net.tcp[1].stats().segments_out;
    // One small segment: B holds its ACK until the delayed-ACK timer.
    let seen = net.tcp[1].stats().segments_in;
    net.tcp[0].send(c, b"hello").unwrap();
    while net.tcp[1].stats().segments_in == seen {
        net.step(Duration::from_micros(10));
    }
    assert_eq!(net.tcp[1].stats().segments_out, before, "ACK held back");
    let t0 = net.now;
    while net.tcp[1].stats().segments_out == before {
        net.step(Duration::from_millis(1));
        assert!(net.now < t0 + Duration::from_millis(100));
    }
    let waited = net.now - t0;
    assert!(
        waited >= Duration::from_millis(35) && waited <= Duration::from_millis(45),
        "{waited:?}"
    );
    assert_eq!(net.tcp[1].stats().delayed_acks, 1);
    // Two full segments: the second is acknowledged at once.
    let before = net.tcp[1].stats().segments_out;
    let seen = net.tcp[1].stats().segments_in;
    net.tcp[0].send(c, &[7u8; 2920]).unwrap();
    while net.tcp[1].stats().segments_in < seen + 2 {
        net.step(Duration::from_micros(10));
    }
    assert_eq!(net.tcp[1].stats().segments_out, before + 1);
}

/// Feeds one hand-built segment to side `to` and returns what it answered.
fn inject(net: &mut Net, to: usize, seg: &TcpRepr<'_>) -> Vec<TcpRepr<'static>> {
    let mut out = Vec::new();
    let src = Net::addr(1 - to);
    net.tcp[to].process(net.now, src, Net::addr(to), seg, &mut |_, r| {
        out.push(owned(r).0);
        true
    });
    out
}

#[test]
fn simultaneous_open_and_close() {
    let mut net = Net::new(test_cfg(), 3);
    let a = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 5000), Some(6000))
        .unwrap();
    let b = net.tcp[1]
        .connect(net.now, SocketAddrV4::new(A, 6000), Some(5000))
        .unwrap();
    let mut saw_syn_received = false;
    for _ in 0..1000 {
        net.step(Duration::from_millis(1));
        saw_syn_received |= net.tcp[0].state(a) == Some(State::SynReceived);
        if net.tcp[0].state(a) == Some(State::Established)
            && net.tcp[1].state(b) == Some(State::Established)
        {
            break;
        }
    }
    assert!(saw_syn_received, "both SYNs crossed");
    assert_eq!(net.tcp[0].state(a), Some(State::Established));
    assert_eq!(net.tcp[1].state(b), Some(State::Established));
    assert_eq!(net.tcp[0].next_event(), Some(TcpEvent::Connected(a)));
    // Both close at once: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides.
    net.tcp[0].close(a).unwrap();
    net.tcp[1].close(b).unwrap();
    let mut saw_closing = false;
    for _ in 0..100 {
        net.step(Duration::from_micros(20));
        saw_closing |= net.tcp[0].state(a) == Some(State::Closing);
        if net.tcp[0].state(a) == Some(State::TimeWait)
            && net.tcp[1].state(b) == Some(State::TimeWait)
        {
            break;
        }
    }
    assert!(saw_closing);
    assert_eq!(net.tcp[0].state(a), Some(State::TimeWait));
    assert_eq!(net.tcp[1].state(b), Some(State::TimeWait));
    // 2 MSL = 200 ms later nothing is left once released.
    let t0 = net.now;
    while net.now < t0 + Duration::from_millis(150) {
        net.step(Duration::from_millis(10));
    }
    assert_eq!(
        net.tcp[0].state(a),
        Some(State::TimeWait),
        "not before 2MSL"
    );
    while net.now < t0 + Duration::from_millis(250) {
        net.step(Duration::from_millis(10));
    }
    assert_eq!(net.tcp[0].state(a), Some(State::Closed));
    net.tcp[0].release(a);
    net.tcp[1].release(b);
    assert_eq!(net.tcp[0].connection_count(), 0);
    assert_eq!(net.tcp[1].connection_count(), 0);
    assert_eq!(net.tcp[0].state(a), None, "stale handle");
}

#[test]
fn no_listener_gets_rst() {
    let mut net = Net::new(test_cfg(), 4);
    let syn = TcpRepr {
        src_port: 1234,
        dst_port: 81,
        seq: crate::wire::TcpSeqNumber(1000),
        ack: crate::wire::TcpSeqNumber(0),
        flags: crate::wire::TcpFlags::SYN,
        window: 1000,
        options: Default::default(),
        payload: &[],
    };
    let out = inject(&mut net, 1, &syn);
    assert_eq!(out.len(), 1);
    assert!(out[0].flags.contains(crate::wire::TcpFlags::RST));
    assert_eq!(out[0].ack, crate::wire::TcpSeqNumber(1001));
    assert_eq!(net.tcp[1].stats().rst_sent, 1);
    // Never answer a RST with a RST.
    let rst = TcpRepr {
        flags: crate::wire::TcpFlags::RST,
        ..syn
    };
    assert!(inject(&mut net, 1, &rst).is_empty());
}

#[test]
fn rfc5961_challenge_acks_and_rate_limit() {
    use crate::wire::TcpFlags as F;
    let cfg = TcpConfig {
        challenge_ack_limit: 5,
        ..test_cfg()
    };
    let mut net = Net::new(cfg, 5);
    let (c, s) = open(&mut net);
    // The last segment A sent tells B's rcv_nxt.
    let (last, len) = net.last[0].unwrap();
    let rcv_nxt = add(last.seq, len);
    let base = TcpRepr {
        src_port: last.src_port,
        dst_port: last.dst_port,
        seq: rcv_nxt,
        ack: last.ack,
        flags: F::RST,
        window: 1000,
        options: Default::default(),
        payload: &[],
    };
    // In-window but not exact RST: challenge ACK, connection stays.
    let inexact = TcpRepr {
        seq: add(rcv_nxt, 100),
        ..base
    };
    let out = inject(&mut net, 1, &inexact);
    assert_eq!(out.len(), 1);
    assert!(out[0].flags.contains(F::ACK) && !out[0].flags.contains(F::RST));
    assert_eq!(out[0].ack, rcv_nxt);
    assert_eq!(net.tcp[1].state(s), Some(State::Established));
    // SYN in a synchronized state: challenge ACK.
    let syn = TcpRepr {
        flags: F::SYN,
        seq: add(rcv_nxt, 7),
        ..base
    };
    assert_eq!(inject(&mut net, 1, &syn).len(), 1);
    assert_eq!(net.tcp[1].state(s), Some(State::Established));
    // ACK for data never sent: dropped with an ACK.
    let ack_new = TcpRepr {
        flags: F::ACK,
        ack: add(last.ack, 100_000),
        ..base
    };
    assert_eq!(inject(&mut net, 1, &ack_new).len(), 1);
    assert_eq!(net.tcp[1].stats().ack_too_new, 1);
    // ACK far older than any window: dropped with an ACK.
    let ack_old = TcpRepr {
        flags: F::ACK,
        ack: add(last.ack, usize::MAX - 3_000_000),
        ..base
    };
    assert_eq!(inject(&mut net, 1, &ack_old).len(), 1);
    assert_eq!(net.tcp[1].stats().ack_too_old, 1);
    // Out-of-window RST: silently dropped.
    let far = TcpRepr {
        seq: add(rcv_nxt, 10_000_000),
        ..base
    };
    assert!(inject(&mut net, 1, &far).is_empty());
    assert_eq!(net.tcp[1].state(s), Some(State::Established));
    // The limit: 5 per second in all; 2 used, 3 more of these 10, 7 suppressed.
    for _ in 0..10 {
        inject(&mut net, 1, &inexact);
    }
    let st = net.tcp[1].stats();
    assert_eq!(st.challenge_acks, 5);
    assert_eq!(st.challenge_acks_suppressed, 7);
    // The exact RST resets.
    assert!(inject(&mut net, 1, &base).is_empty());
    assert_eq!(net.tcp[1].state(s), Some(State::Closed));
    assert_eq!(net.tcp[1].close_reason(s), Some(CloseReason::Reset));
    let _ = c;
}

#[test]
fn syn_flood_keeps_memory_bounded() {
    use crate::wire::TcpFlags as F;
    let cfg = TcpConfig {
        max_half_open: 64,
        ..test_cfg()
    };
    let mut net = Net::new(cfg, 6);
    let l = net.tcp[1].listen(80, 8).unwrap();
    let mut rng = Rng(77);
    let mut answers = 0usize;
    for i in 0..100_000u32 {
        let syn = TcpRepr {
            src_port: 1024 + (i % 60000) as u16,
            dst_port: 80,
            seq: crate::wire::TcpSeqNumber(rng.next() as u32),
            ack: crate::wire::TcpSeqNumber(0),
            flags: F::SYN,
            window: 1000,
            options: Default::default(),
            payload: &[],
        };
        // Spoofed sources all over 10.0.0.0/8 except our peer.
        let src = Ipv4Addr::from(0x0a00_0000 | (0x0100 + i));
        net.tcp[1].process(net.now, src, B, &syn, &mut |_, _| {
            answers += 1;
            true
        });
        assert!(net.tcp[1].connection_count() <= 64);
    }
    assert_eq!(answers, 100_000, "every SYN got a SYN-ACK");
    let st = net.tcp[1].stats();
    assert_eq!(st.half_open_evicted, 100_000 - 64);
    assert!(net.tcp[1].slots.len() <= 65, "slots reused");
    // A real connection still gets through.
    let c = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 80), None)
        .unwrap();
    let mut accepted = None;
    for _ in 0..100 {
        net.step(Duration::from_millis(1));
        accepted = accepted.or_else(|| net.tcp[1].accept(l));
    }
    assert!(accepted.is_some());
    assert_eq!(net.tcp[0].state(c), Some(State::Established));
}

#[test]
fn vanished_peer_times_out_with_backoff() {
    let mut net = Net::new(test_cfg(), 8);
    let (c, _s) = open(&mut net);
    net.blackhole[1] = true;
    net.tcp[0].send(c, &[1u8; 5000]).unwrap();
    let t0 = net.now;
    let mut closed_at = None;
    for _ in 0..100_000 {
        net.step(Duration::from_secs(1));
        if let Some(TcpEvent::Closed(h)) = net.tcp[0].next_event() {
            assert_eq!(h, c);
            closed_at = Some(net.now);
            break;
        }
    }
    let closed_at = closed_at.expect("gave up");
    assert_eq!(net.tcp[0].close_reason(c), Some(CloseReason::TimedOut));
    let st = net.tcp[0].stats();
    assert_eq!(st.rto_timeouts, u64::from(test_cfg().max_retries));
    // Backoff: 12 retries starting near 50-200 ms doubling up to 60 s take
    // far longer than 12 fixed timeouts would.
    assert!(
        closed_at - t0 > Duration::from_secs(60),
        "{:?}",
        closed_at - t0
    );
    assert_eq!(st.conns_timed_out, 1);
}

#[test]
fn zero_window_probe_then_resume() {
    let cfg = TcpConfig {
        rx_buffer: 16 * 1024,
        ..test_cfg()
    };
    let mut net = Net::new(cfg, 9);
    let (c, s) = open(&mut net);
    let data = pattern(5, 100_000);
    let mut sent = 0;
    // The receiver does not read for 3 s.
    let t0 = net.now;
    while net.now < t0 + Duration::from_secs(3) {
        sent += net.tcp[0].send(c, &data[sent..]).unwrap();
        net.step(Duration::from_millis(10));
    }
    assert!(
        net.tcp[0].stats().window_probes > 0,
        "{:?}",
        net.tcp[0].stats()
    );
    assert_eq!(net.tcp[0].state(c), Some(State::Established));
    // Resume reading: everything arrives intact.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..1_000_000 {
        sent += net.tcp[0].send(c, &data[sent..]).unwrap();
        loop {
            let n = net.tcp[1].recv(s, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == data.len() {
            break;
        }
        net.step(Duration::from_millis(10));
    }
    assert!(got == data, "got {} bytes", got.len());
}

#[test]
fn backlog_full_drops_syns_until_accepted() {
    let mut net = Net::new(test_cfg(), 12);
    let l = net.tcp[1].listen(80, 1).unwrap();
    assert_eq!(net.tcp[1].listen(80, 1), Err(TcpError::PortInUse));
    let c1 = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 80), None)
        .unwrap();
    let c2 = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 80), None)
        .unwrap();
    assert_ne!(c1, c2);
    // Queue of one: the first is queued, the second's SYNs are dropped.
    let t0 = net.now;
    while net.now < t0 + Duration::from_millis(100) {
        net.step(Duration::from_millis(1));
    }
    assert_eq!(net.tcp[0].state(c1), Some(State::Established));
    assert!(net.tcp[1].stats().syn_dropped >= 1);
    // Only one waits in the queue.
    let a1 = net.tcp[1].accept(l).unwrap();
    assert_eq!(net.tcp[1].accept(l), None);
    // Accepting made room; the retransmitted handshake gets in.
    let mut a2 = None;
    while net.now < t0 + Duration::from_secs(3) && a2.is_none() {
        net.step(Duration::from_millis(5));
        a2 = net.tcp[1].accept(l);
    }
    assert!(a2.is_some_and(|h| h != a1));
    assert_eq!(net.tcp[0].state(c2), Some(State::Established));
    assert!(net.tcp[1].stats().retransmits >= 1);
}

#[test]
fn connection_cap() {
    let cfg = TcpConfig {
        max_connections: 2,
        ..test_cfg()
    };
    let mut tcp = Tcp::new(cfg, A, 1);
    let r = SocketAddrV4::new(B, 80);
    tcp.connect(Instant::ZERO, r, None).unwrap();
    tcp.connect(Instant::ZERO, r, None).unwrap();
    assert_eq!(
        tcp.connect(Instant::ZERO, r, None),
        Err(TcpError::TooManyConnections)
    );
    assert_eq!(tcp.connection_count(), 2);
}

#[test]
fn poll_at_reports_pending_work_and_idles_at_none() {
    let mut net = Net::new(test_cfg(), 13);
    let (c, s) = open(&mut net);
    let t0 = net.now;
    while net.now < t0 + Duration::from_millis(200) {
        net.step(Duration::from_millis(10));
    }
    assert_eq!(net.tcp[0].poll_at(), None, "idle: nothing scheduled");
    assert_eq!(net.tcp[1].poll_at(), None);
    net.tcp[0].send(c, b"ping").unwrap();
    assert!(net.tcp[0].poll_at().is_some_and(|t| t <= net.now));
    // A transmitter that refuses everything: the data is not lost.
    net.tcp[0].dispatch(net.now, &mut |_, _| false);
    assert!(net.tcp[0].stats().tx_refused >= 1);
    let mut buf = [0u8; 8];
    let mut n = 0;
    while n == 0 && net.now < t0 + Duration::from_secs(1) {
        net.step(Duration::from_millis(1));
        n = net.tcp[1].recv(s, &mut buf).unwrap();
    }
    assert_eq!(&buf[..n], b"ping");
}

#[test]
fn transfer_with_heavy_faults_over_many_seeds() {
    // 5% loss, 3% reordering, 2% duplication; a timeout rewinding snd_nxt
    // once made both ends drop each other's pure ACKs (fixed: ACKs carry
    // snd_max).
    for seed in 1..9u64 {
        let mut net = Net::new(test_cfg(), seed * 7919);
        net.loss = 50;
        net.reorder = 30;
        net.dup = 20;
        transfer(&mut net, 300_000);
    }
}

#[test]
fn data_before_accept_is_announced_on_accept() {
    let mut net = Net::new(test_cfg(), 14);
    let l = net.tcp[1].listen(80, 4).unwrap();
    let c = net.tcp[0]
        .connect(net.now, SocketAddrV4::new(B, 80), None)
        .unwrap();
    while net.tcp[0].state(c) != Some(State::Established) {
        net.step(Duration::from_millis(1));
    }
    net.tcp[0].send(c, b"early").unwrap();
    net.tcp[0].close(c).unwrap();
    for _ in 0..20 {
        net.step(Duration::from_millis(1));
    }
    let mut accepted = false;
    while let Some(ev) = net.tcp[1].next_event() {
        assert!(matches!(ev, TcpEvent::Accepted { .. }), "{ev:?}");
        accepted = true;
    }
    assert!(accepted);
    let s = net.tcp[1].accept(l).unwrap();
    assert_eq!(net.tcp[1].next_event(), Some(TcpEvent::Readable(s)));
    assert_eq!(net.tcp[1].next_event(), Some(TcpEvent::PeerClosed(s)));
    let mut buf = [0u8; 16];
    let n = net.tcp[1].recv(s, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"early");
    assert_eq!(net.tcp[1].state(s), Some(State::CloseWait));
}

#[test]
fn linux_syn_gets_mss_and_window_scale_and_no_sack_or_timestamps() {
    use crate::wire::{TcpFlags as F, TcpSeqNumber as S};
    let mut net = Net::new(test_cfg(), 15);
    let _l = net.tcp[1].listen(80, 4).unwrap();
    let mut syn = TcpRepr {
        src_port: 51234,
        dst_port: 80,
        seq: S(0x3b9a_ca07),
        ack: S(0),
        flags: F::SYN,
        window: 64240,
        options: Default::default(),
        payload: &[],
    };
    syn.options.mss = Some(1400);
    syn.options.window_scale = Some(7);
    syn.options.sack_permitted = true;
    syn.options.timestamps = Some((0x0aa3_f2b1, 0));
    let out = inject(&mut net, 1, &syn);
    assert_eq!(out.len(), 1);
    let sa = out[0];
    assert!(sa.flags.contains(F::SYN) && sa.flags.contains(F::ACK));
    assert_eq!(sa.ack, S(0x3b9a_ca08));
    assert_eq!(sa.options.mss, Some(1460));
    // 256 KiB needs a shift of 3 to fit the 16-bit field.
    assert_eq!(sa.options.window_scale, Some(3));
    assert!(!sa.options.sack_permitted);
    assert_eq!(sa.options.timestamps, None);
    // The handshake ACK with a scaled window.
    let ack = TcpRepr {
        seq: S(0x3b9a_ca08),
        ack: add(sa.seq, 1),
        flags: F::ACK,
        window: 502,
        options: Default::default(),
        ..syn
    };
    assert!(inject(&mut net, 1, &ack).is_empty());
    let c = net.tcp[1].slots.iter().flatten().next().unwrap();
    assert_eq!(c.state, State::Established);
    assert_eq!(c.snd_wnd, 502 << 7);
    assert_eq!(c.send_mss, 1400);
    // Our advertised window is scaled down by 3.
    let data = TcpRepr {
        payload: b"GET / HTTP/1.0\r\n\r\n",
        flags: F::ACK | F::PSH,
        ..ack
    };
    inject(&mut net, 1, &data);
    let mut out = Vec::new();
    net.now += Duration::from_millis(50);
    net.tcp[1].dispatch(net.now, &mut |_, r| {
        out.push(owned(r).0);
        true
    });
    assert_eq!(out.len(), 1, "delayed ACK went out");
    assert_eq!(out[0].ack, add(S(0x3b9a_ca08), 18));
    assert_eq!(
        usize::from(out[0].window) << 3,
        (256 * 1024 - 18) & !7,
        "window field scaled"
    );
}
