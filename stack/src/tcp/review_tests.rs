//! Review checks of the contract through the public API only, written
//! separately from `tests.rs`: two `Tcp`s on a virtual wire (every segment
//! through `TcpRepr::emit` and `parse`, 100 µs one way), a virtual clock that
//! jumps to the earliest `poll_at` or delivery (so a `poll_at` that forgets
//! pending output stalls a test), per-test fault switches. Covers
//! simultaneous open/close, TIME-WAIT expiry, refused connects, release and
//! abort, SYN-ACK options, ISN determinism, a 100k-SYN flood, RFC 5961
//! cases, zero window, a vanished peer, a small dispatch budget over many
//! connections, window scaling, and `tx` refusing segments. An ignored
//! benchmark prints one-way throughput (`cargo test --release -p
//! igbpoll-stack bench_one_way -- --ignored --nocapture`, `IDLE=n` adds idle
//! connections).

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::time::Duration;

use super::*;
use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

struct Frame {
    at: Instant,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    bytes: Vec<u8>,
}

struct Wire {
    now: Instant,
    a: Tcp,
    b: Tcp,
    q: VecDeque<Frame>,
    /// Drop everything that B would receive (peer vanished) / A would.
    drop_to_b: bool,
    drop_to_a: bool,
    seen_by_b: Vec<(Ipv4Addr, TcpRepr<'static>)>,
    seen_by_a: Vec<(Ipv4Addr, TcpRepr<'static>)>,
    ev_a: Vec<TcpEvent>,
    ev_b: Vec<TcpEvent>,
}

fn leak(r: &TcpRepr<'_>) -> TcpRepr<'static> {
    TcpRepr {
        src_port: r.src_port,
        dst_port: r.dst_port,
        seq: r.seq,
        ack: r.ack,
        flags: r.flags,
        window: r.window,
        options: r.options,
        payload: &[],
    }
}

fn cfg() -> TcpConfig {
    TcpConfig {
        msl: Duration::from_millis(500),
        ..TcpConfig::default()
    }
}

impl Wire {
    fn new(ca: TcpConfig, cb: TcpConfig) -> Wire {
        Wire {
            now: Instant::ZERO,
            a: Tcp::new(ca, A, 1),
            b: Tcp::new(cb, B, 2),
            q: VecDeque::new(),
            drop_to_b: false,
            drop_to_a: false,
            seen_by_b: Vec::new(),
            seen_by_a: Vec::new(),
            ev_a: Vec::new(),
            ev_b: Vec::new(),
        }
    }

    fn push(q: &mut VecDeque<Frame>, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, r: &TcpRepr<'_>) {
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);
        q.push_back(Frame {
            at: now + Duration::from_micros(100),
            src,
            dst,
            bytes: buf,
        });
    }

    fn turn(&mut self) {
        let now = self.now;
        let q = &mut self.q;
        self.a.dispatch(now, &mut |to, r| {
            Self::push(q, now, A, to, r);
            true
        });
        self.b.dispatch(now, &mut |to, r| {
            Self::push(q, now, B, to, r);
            true
        });
        while let Some(f) = self.q.front() {
            if f.at > now {
                break;
            }
            let f = self.q.pop_front().unwrap();
            let p = TcpPacket::new_checked(&f.bytes[..]).unwrap();
            let r = TcpRepr::parse(&p, f.src, f.dst).unwrap();
            let q = &mut self.q;
            if f.dst == B {
                self.seen_by_b.push((f.src, leak(&r)));
                if self.drop_to_b {
                    continue;
                }
                self.b.process(now, f.src, f.dst, &r, &mut |to, r| {
                    Self::push(q, now, B, to, r);
                    true
                });
            } else {
                self.seen_by_a.push((f.src, leak(&r)));
                if self.drop_to_a {
                    continue;
                }
                self.a.process(now, f.src, f.dst, &r, &mut |to, r| {
                    Self::push(q, now, A, to, r);
                    true
                });
            }
        }
        while let Some(e) = self.a.next_event() {
            self.ev_a.push(e);
        }
        while let Some(e) = self.b.next_event() {
            self.ev_b.push(e);
        }
    }

    /// Runs until `t` more time has passed, jumping between due instants.
    fn run(&mut self, t: Duration) {
        let end = self.now + t;
        while self.now < end {
            self.turn();
            let mut next = end;
            for p in [
                self.a.poll_at(),
                self.b.poll_at(),
                self.q.front().map(|f| f.at),
            ]
            .into_iter()
            .flatten()
            {
                if p > self.now {
                    next = next.min(p);
                } else {
                    next = next.min(self.now + Duration::from_micros(10));
                }
            }
            self.now = next.max(self.now + Duration::from_micros(1));
        }
        self.turn();
    }

    fn connect(&mut self) -> (ConnHandle, ConnHandle) {
        let l = self.b.listen(80, 8).unwrap();
        let ca = self
            .a
            .connect(self.now, SocketAddrV4::new(B, 80), Some(40000))
            .unwrap();
        self.run(Duration::from_millis(5));
        let cb = self.b.accept(l).expect("accepted");
        assert_eq!(self.a.state(ca), Some(State::Established));
        assert_eq!(self.b.state(cb), Some(State::Established));
        (ca, cb)
    }
}

#[test]
fn simultaneous_open_then_data_at_once() {
    let mut w = Wire::new(cfg(), cfg());
    let ca =
        w.a.connect(w.now, SocketAddrV4::new(B, 5000), Some(6000))
            .unwrap();
    let cb =
        w.b.connect(w.now, SocketAddrV4::new(A, 6000), Some(5000))
            .unwrap();
    w.run(Duration::from_millis(50));
    assert_eq!(w.a.state(ca), Some(State::Established));
    assert_eq!(w.b.state(cb), Some(State::Established));
    assert!(w.ev_a.contains(&TcpEvent::Connected(ca)));
    assert!(w.ev_b.contains(&TcpEvent::Connected(cb)));
    assert!(
        w.seen_by_a
            .iter()
            .chain(&w.seen_by_b)
            .all(|(_, r)| r.window > 0),
        "no zero window advertised by a fresh connection"
    );
    assert_eq!(w.a.send(ca, b"hello").unwrap(), 5);
    w.run(Duration::from_millis(100));
    let mut buf = [0u8; 16];
    assert_eq!(w.b.recv(cb, &mut buf).unwrap(), 5, "data within 100 ms");
}

#[test]
fn simultaneous_close_then_time_wait_frees_everything() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    w.a.close(ca).unwrap();
    w.b.close(cb).unwrap();
    w.run(Duration::from_millis(10));
    assert_eq!(w.a.state(ca), Some(State::TimeWait), "A");
    assert_eq!(w.b.state(cb), Some(State::TimeWait), "B");
    // 2*MSL = 1 s.
    w.run(Duration::from_millis(900));
    assert_eq!(w.a.connection_count(), 1, "2*MSL not over yet");
    w.run(Duration::from_millis(300));
    assert!(w.ev_a.contains(&TcpEvent::Closed(ca)));
    assert!(w.ev_b.contains(&TcpEvent::Closed(cb)));
    w.a.release(ca);
    w.b.release(cb);
    assert_eq!(w.a.connection_count(), 0);
    assert_eq!(w.b.connection_count(), 0);
}

#[test]
fn orderly_close_and_release_frees_both_sides() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    w.a.send(ca, &[7u8; 10000]).unwrap();
    w.a.close(ca).unwrap();
    w.run(Duration::from_millis(100));
    let mut buf = vec![0u8; 20000];
    assert_eq!(w.b.recv(cb, &mut buf).unwrap(), 10000);
    assert!(w.ev_b.contains(&TcpEvent::PeerClosed(cb)));
    assert_eq!(w.b.state(cb), Some(State::CloseWait));
    w.b.close(cb).unwrap();
    w.run(Duration::from_millis(100));
    assert_eq!(w.b.state(cb), Some(State::Closed));
    assert_eq!(w.b.close_reason(cb), Some(CloseReason::Normal));
    assert_eq!(w.a.state(ca), Some(State::TimeWait));
    w.a.release(ca);
    w.b.release(cb);
    assert_eq!(w.b.connection_count(), 0);
    w.run(Duration::from_millis(1100));
    assert_eq!(w.a.connection_count(), 0);
}

#[test]
fn connect_to_closed_port_is_refused() {
    let mut w = Wire::new(cfg(), cfg());
    let ca = w.a.connect(w.now, SocketAddrV4::new(B, 81), None).unwrap();
    w.run(Duration::from_millis(10));
    assert_eq!(w.a.state(ca), Some(State::Closed));
    assert_eq!(w.a.close_reason(ca), Some(CloseReason::Refused));
    assert!(w.b.stats().rst_sent >= 1);
    assert!(w.ev_a.contains(&TcpEvent::Closed(ca)));
}

#[test]
fn syn_flood_stays_bounded_and_a_real_connect_succeeds() {
    let c = TcpConfig {
        max_half_open: 64,
        max_connections: 128,
        ..cfg()
    };
    let mut w = Wire::new(cfg(), c);
    let l = w.b.listen(80, 8).unwrap();
    let mut sent = 0;
    for i in 0..100_000u32 {
        let src = Ipv4Addr::from(0x0b00_0000 + (i / 60000));
        let syn = TcpRepr {
            src_port: 1024 + (i % 60000) as u16,
            dst_port: 80,
            seq: TcpSeqNumber(i.wrapping_mul(2_654_435_761)),
            ack: TcpSeqNumber(0),
            flags: TcpFlags::SYN,
            window: 65535,
            options: Default::default(),
            payload: &[],
        };
        w.b.process(w.now, src, B, &syn, &mut |_, _| {
            sent += 1;
            true
        });
        assert!(w.b.connection_count() <= 64);
    }
    assert!(w.b.stats().half_open_evicted > 90_000);
    let ca = w.a.connect(w.now, SocketAddrV4::new(B, 80), None).unwrap();
    w.run(Duration::from_millis(20));
    assert_eq!(w.a.state(ca), Some(State::Established));
    assert!(w.b.accept(l).is_some());
    // Half-open entries expire by themselves.
    w.run(Duration::from_secs(120));
    assert_eq!(
        w.b.connection_count(),
        1,
        "only the real connection is left"
    );
}

#[test]
fn rfc5961_rst_and_syn_get_challenge_acks() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    w.run(Duration::from_millis(100));
    // Learn B's rcv_nxt from its last ACK to A.
    let last = w
        .seen_by_a
        .iter()
        .rev()
        .find(|(_, r)| r.flags.contains(TcpFlags::ACK))
        .unwrap()
        .1;
    let rcv_nxt = last.ack;
    let base = TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: rcv_nxt.wrapping_add(100),
        ack: TcpSeqNumber(0),
        flags: TcpFlags::RST,
        window: 0,
        options: Default::default(),
        payload: &[],
    };
    let mut out = Vec::new();
    w.b.process(w.now, A, B, &base, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert_eq!(
        w.b.state(cb),
        Some(State::Established),
        "in-window RST off rcv_nxt"
    );
    assert_eq!(out.len(), 1, "a challenge ACK");
    assert!(out[0].flags.contains(TcpFlags::ACK) && out[0].ack == rcv_nxt);
    assert_eq!(w.b.stats().challenge_acks, 1);
    // SYN in ESTABLISHED.
    out.clear();
    let syn = TcpRepr {
        flags: TcpFlags::SYN,
        seq: rcv_nxt.wrapping_add(5),
        ..base
    };
    w.b.process(w.now, A, B, &syn, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert_eq!(w.b.state(cb), Some(State::Established));
    assert_eq!(w.b.stats().challenge_acks, 2);
    // Out-of-window RST: silently dropped.
    out.clear();
    let far = TcpRepr {
        seq: rcv_nxt.wrapping_add(0x4000_0000),
        ..base
    };
    w.b.process(w.now, A, B, &far, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert!(out.is_empty());
    // ACK for data never sent: an ACK back, nothing accepted.
    let too_new = TcpRepr {
        flags: TcpFlags::ACK,
        seq: rcv_nxt,
        ack: last.seq.wrapping_add(1_000_000),
        ..base
    };
    out.clear();
    w.b.process(w.now, A, B, &too_new, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert_eq!(w.b.state(cb), Some(State::Established));
    // Exactly at rcv_nxt: reset.
    let exact = TcpRepr {
        seq: rcv_nxt,
        ..base
    };
    w.b.process(w.now, A, B, &exact, &mut |_, _| true);
    assert_eq!(w.b.state(cb), Some(State::Closed));
    assert_eq!(w.b.close_reason(cb), Some(CloseReason::Reset));
    assert_eq!(w.a.state(ca), Some(State::Established));
    // Rate limit: a flood of in-window RSTs gets at most the limit.
    let c = TcpConfig {
        challenge_ack_limit: 10,
        ..cfg()
    };
    let mut w = Wire::new(cfg(), c);
    let (_ca, _cb) = w.connect();
    let last = w
        .seen_by_a
        .iter()
        .rev()
        .find(|(_, r)| r.flags.contains(TcpFlags::ACK))
        .unwrap()
        .1;
    let mut n = 0;
    for i in 0..1000u32 {
        let r = TcpRepr {
            seq: last.ack.wrapping_add(1 + i),
            ..base
        };
        w.b.process(w.now, A, B, &r, &mut |_, _| {
            n += 1;
            true
        });
    }
    assert!(n <= 10, "{n} challenge ACKs");
}

#[test]
fn zero_window_then_resume() {
    let c = TcpConfig {
        rx_buffer: 16 * 1024,
        ..cfg()
    };
    let mut w = Wire::new(cfg(), c);
    let (ca, cb) = w.connect();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut off = 0;
    let mut got = Vec::new();
    // Fill: B does not read for a while.
    for _ in 0..50 {
        off += w.a.send(ca, &data[off..]).unwrap();
        w.run(Duration::from_millis(20));
    }
    let probes_before = w.a.stats().window_probes;
    w.run(Duration::from_secs(5));
    assert!(
        w.a.stats().window_probes > probes_before,
        "persist probes while the window is 0"
    );
    assert!(w.a.state(ca) == Some(State::Established));
    let mut buf = vec![0u8; 4096];
    while got.len() < data.len() {
        if off < data.len() {
            off += w.a.send(ca, &data[off..]).unwrap();
        }
        let n = w.b.recv(cb, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        w.run(Duration::from_millis(1));
        assert!(w.now < Instant::from_secs(120), "stalled at {}", got.len());
    }
    assert_eq!(got, data);
}

#[test]
fn peer_vanishes_backoff_then_timed_out() {
    let c = TcpConfig {
        max_retries: 6,
        rto_max: Duration::from_secs(10),
        ..cfg()
    };
    let mut w = Wire::new(c, cfg());
    let (ca, _cb) = w.connect();
    w.drop_to_b = true;
    let t0 = w.now;
    w.a.send(ca, b"into the void").unwrap();
    w.run(Duration::from_secs(200));
    assert_eq!(w.a.state(ca), Some(State::Closed));
    assert_eq!(w.a.close_reason(ca), Some(CloseReason::TimedOut));
    assert!(w.ev_a.contains(&TcpEvent::Closed(ca)));
    assert_eq!(w.a.stats().retransmits, 6, "max_retries retransmissions");
    // Backed off: 50 ms doubling 6 times is > 3 s, < 200 s.
    assert!(w.now - t0 > Duration::from_secs(3));
}

#[test]
fn many_connections_all_progress_with_a_small_budget() {
    let c = TcpConfig {
        dispatch_budget: 4,
        ..cfg()
    };
    let mut w = Wire::new(c, c);
    let l = w.b.listen(80, 64).unwrap();
    let mut conns = Vec::new();
    for _ in 0..32 {
        conns.push(w.a.connect(w.now, SocketAddrV4::new(B, 80), None).unwrap());
    }
    w.run(Duration::from_millis(50));
    let mut acc = Vec::new();
    while let Some(h) = w.b.accept(l) {
        acc.push(h);
    }
    assert_eq!(acc.len(), 32);
    for &h in &conns {
        w.a.send(h, &[1u8; 50_000]).unwrap();
    }
    w.run(Duration::from_millis(500));
    let mut buf = vec![0u8; 100_000];
    for &h in &acc {
        assert_eq!(w.b.recv(h, &mut buf).unwrap(), 50_000);
    }
}

#[test]
fn stale_handles_never_alias() {
    let mut w = Wire::new(cfg(), cfg());
    let ca = w.a.connect(w.now, SocketAddrV4::new(B, 81), None).unwrap();
    w.run(Duration::from_millis(10));
    w.a.release(ca);
    let ca2 = w.a.connect(w.now, SocketAddrV4::new(B, 82), None).unwrap();
    assert_ne!(ca, ca2);
    assert_eq!(w.a.state(ca), None);
    assert_eq!(w.a.send(ca, b"x"), Err(TcpError::InvalidHandle));
}

#[test]
#[ignore]
fn bench_one_way_throughput() {
    let mut w = Wire::new(TcpConfig::default(), TcpConfig::default());
    let (ca, cb) = w.connect();
    let idle: usize = std::env::var("IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in 0..idle {
        w.a.connect(w.now, SocketAddrV4::new(B, 80), Some(10000 + i as u16))
            .unwrap();
    }
    w.run(Duration::from_millis(50));
    eprintln!(
        "connections: A {} B {}",
        w.a.connection_count(),
        w.b.connection_count()
    );
    let chunk = vec![0x5au8; 64 * 1024];
    let total: usize = 200 << 20;
    let (mut sent, mut got) = (0usize, 0usize);
    let mut buf = vec![0u8; 256 * 1024];
    let start = std::time::Instant::now();
    while got < total {
        if sent < total {
            sent +=
                w.a.send(ca, &chunk[..chunk.len().min(total - sent)])
                    .unwrap();
        }
        loop {
            let n = w.b.recv(cb, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            got += n;
        }
        w.now += Duration::from_micros(20);
        w.turn();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} MB in {:.3} s CPU-wall (both ends + emit/parse): {:.0} Mbit/s; virtual {}",
        total >> 20,
        secs,
        total as f64 * 8.0 / secs / 1e6,
        w.now
    );
}

#[test]
fn release_without_close_finishes_by_itself() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    w.a.send(ca, b"bye").unwrap();
    w.run(Duration::from_millis(50));
    let mut buf = [0u8; 8];
    assert_eq!(w.b.recv(cb, &mut buf).unwrap(), 3);
    w.a.release(ca);
    w.run(Duration::from_millis(50));
    assert!(
        w.ev_b.contains(&TcpEvent::PeerClosed(cb)),
        "release sends a FIN"
    );
    w.b.close(cb).unwrap();
    w.b.release(cb);
    w.run(Duration::from_secs(3));
    assert_eq!(w.a.connection_count(), 0);
    assert_eq!(w.b.connection_count(), 0);
}

#[test]
fn abort_resets_the_peer() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    w.a.abort(ca).unwrap();
    assert_eq!(w.a.state(ca), Some(State::Closed));
    assert_eq!(w.a.close_reason(ca), Some(CloseReason::Reset));
    w.run(Duration::from_millis(10));
    assert_eq!(w.b.state(cb), Some(State::Closed));
    assert_eq!(w.b.close_reason(cb), Some(CloseReason::Reset));
    assert!(w.ev_b.contains(&TcpEvent::Closed(cb)));
    assert_eq!(w.b.stats().rst_received, 1);
}

#[test]
fn syn_ack_options_follow_the_peer() {
    let mut t = Tcp::new(cfg(), B, 3);
    t.listen(80, 4).unwrap();
    let mut syn = TcpRepr {
        src_port: 1234,
        dst_port: 80,
        seq: TcpSeqNumber(1000),
        ack: TcpSeqNumber(0),
        flags: TcpFlags::SYN,
        window: 8192,
        options: Default::default(),
        payload: &[],
    };
    let mut out = Vec::new();
    t.process(Instant::ZERO, A, B, &syn, &mut |_, r| {
        out.push(leak(r));
        true
    });
    t.dispatch(Instant::ZERO, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(out[0].ack, TcpSeqNumber(1001));
    assert_eq!(out[0].options.mss, Some(1460));
    assert_eq!(out[0].options.window_scale, None, "no scale unless offered");
    assert!(!out[0].options.sack_permitted && out[0].options.timestamps.is_none());
    out.clear();
    syn.src_port = 1235;
    syn.options.window_scale = Some(7);
    syn.options.sack_permitted = true;
    syn.options.timestamps = Some((1, 0));
    syn.options.mss = Some(1400);
    t.process(Instant::ZERO, A, B, &syn, &mut |_, r| {
        out.push(leak(r));
        true
    });
    t.dispatch(Instant::ZERO, &mut |_, r| {
        out.push(leak(r));
        true
    });
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].options.window_scale,
        Some(3),
        "256 KiB fits with scale 3"
    );
    assert!(!out[0].options.sack_permitted && out[0].options.timestamps.is_none());
}

#[test]
fn isn_is_deterministic_and_per_tuple() {
    let mut isns = Vec::new();
    for seed_port in [(7u64, 1000u16), (7, 1001), (8, 1000), (7, 1000)] {
        let mut t = Tcp::new(cfg(), A, seed_port.0);
        let mut seq = None;
        t.connect(Instant::ZERO, SocketAddrV4::new(B, 80), Some(seed_port.1))
            .unwrap();
        t.dispatch(Instant::ZERO, &mut |_, r| {
            seq = Some(r.seq);
            true
        });
        isns.push(seq.unwrap());
    }
    assert_eq!(isns[0], isns[3]);
    assert_ne!(isns[0], isns[1]);
    assert_ne!(isns[0], isns[2]);
}

#[test]
fn window_scaling_fills_more_than_64k() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    let data = vec![1u8; 240 * 1024];
    w.a.send(ca, &data).unwrap();
    // Grow cwnd: run a few RTTs without B reading.
    w.run(Duration::from_millis(20));
    // More than 64 KiB reached B unread: only possible with a scaled window.
    let mut buf = vec![0u8; 256 * 1024];
    let n = w.b.recv(cb, &mut buf).unwrap();
    assert!(n > 65535, "{n} bytes buffered unread");
}

#[test]
fn tx_refusing_does_not_spin_and_recovers() {
    let mut w = Wire::new(cfg(), cfg());
    let (ca, cb) = w.connect();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let mut off = w.a.send(ca, &data).unwrap();
    let mut calls = 0;
    w.a.dispatch(w.now, &mut |_, _| {
        calls += 1;
        false
    });
    assert!(calls <= 2, "{calls} attempts after a refusal");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < data.len() {
        if off < data.len() {
            off += w.a.send(ca, &data[off..]).unwrap();
        }
        let n = w.b.recv(cb, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        w.run(Duration::from_millis(1));
        assert!(w.now < Instant::from_secs(30), "stalled");
    }
    assert_eq!(got, data);
}
