//! Two `Tcp`s back to back through the wire format, with a virtual clock
//! and a seeded fault stage.

use std::net::SocketAddrV4;
use std::time::Duration;

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
}
