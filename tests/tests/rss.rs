//! Receive-side scaling: the real driver opens several queues on the simulated
//! 82576, and every frame must land on the queue the Toeplitz hash and the
//! redirection table name — checked with an implementation independent of
//! hw-sim's, over the registers the driver actually programmed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use igbpoll_driver::backend::pci;
use igbpoll_driver::regs::{self, igb as q};
use igbpoll_driver::{Backend, Error, Nic, NicConfig, Packet};
use igbpoll_hw_sim::wire::frame::{self, proto};
use igbpoll_hw_sim::wire::replay::Replay;
use igbpoll_hw_sim::{Sim, SimBackend, SimModel};
use igbpoll_tests::*;

/// Bit-by-bit Toeplitz: for each set input bit i, XOR the 32 key bits from bit i.
fn toeplitz_ref(key: &[u8], input: &[u8]) -> u32 {
    let key_bit = |i: usize| u32::from((key[i / 8] >> (7 - i % 8)) & 1);
    let mut h = 0u32;
    for i in 0..input.len() * 8 {
        if (input[i / 8] >> (7 - i % 8)) & 1 == 1 {
            h ^= (0..32).fold(0u32, |w, j| (w << 1) | key_bit(i + j));
        }
    }
    h
}

/// The hash input with every hash field on: addresses, plus ports for
/// unfragmented TCP/UDP. `None` for non-IP frames.
fn hash_input(f: &[u8]) -> Option<Vec<u8>> {
    let (et, l3) = if f[12..14] == [0x81, 0x00] {
        ([f[16], f[17]], 18)
    } else {
        ([f[12], f[13]], 14)
    };
    let ip = &f[l3..];
    match et {
        [0x08, 0x00] => {
            let ihl = usize::from(ip[0] & 0xF) * 4;
            let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3FFF != 0;
            let mut v = ip[12..20].to_vec();
            if !frag && (ip[9] == proto::TCP || ip[9] == proto::UDP) {
                v.extend_from_slice(&ip[ihl..ihl + 4]);
            }
            Some(v)
        }
        [0x86, 0xDD] => {
            let mut v = ip[8..40].to_vec();
            if ip[6] == proto::TCP || ip[6] == proto::UDP {
                v.extend_from_slice(&ip[40..44]);
            }
            Some(v)
        }
        _ => None,
    }
}

/// What the driver programmed, read back from the device.
struct RssRegs {
    key: Vec<u8>,
    reta: Vec<u8>,
}

impl RssRegs {
    fn read(be: &SimBackend) -> RssRegs {
        let mrqc = be.read32(q::MRQC);
        assert_eq!(
            mrqc & q::mrqc::MODE_MASK,
            q::mrqc::MODE_RSS,
            "MRQC: RSS mode"
        );
        for f in [
            q::mrqc::TCP_IPV4,
            q::mrqc::IPV4,
            q::mrqc::UDP_IPV4,
            q::mrqc::IPV6,
            q::mrqc::TCP_IPV6,
            q::mrqc::UDP_IPV6,
        ] {
            assert_ne!(mrqc & f, 0, "MRQC hash field {f:#x}");
        }
        assert_ne!(be.read32(regs::RXCSUM) & q::RXCSUM_PCSD, 0, "RXCSUM.PCSD");
        let bytes = |reg: fn(u32) -> u32, n: u32| -> Vec<u8> {
            (0..n)
                .flat_map(|i| be.read32(reg(i)).to_le_bytes())
                .collect()
        };
        RssRegs {
            key: bytes(q::rssrk, 10),
            reta: bytes(q::reta, 32),
        }
    }

    fn queue_of(&self, f: &[u8]) -> usize {
        match hash_input(f) {
            Some(input) => {
                usize::from(self.reta[(toeplitz_ref(&self.key, &input) & 0x7F) as usize] & 0xF)
            }
            None => 0,
        }
    }
}

/// The id every test frame carries in its last 4 bytes.
fn id_of(p: &[u8]) -> u32 {
    u32::from_be_bytes(p[p.len() - 4..].try_into().unwrap())
}

/// A flow's identity: its hash input, or the whole frame minus the id.
fn flow_of(p: &[u8]) -> Vec<u8> {
    hash_input(p).unwrap_or_else(|| p[..p.len() - 4].to_vec())
}

fn ipv6_frame(dst: [u8; 6], src: [u8; 16], dport: u16, sport: u16, tcp: bool) -> Vec<u8> {
    let mut f = Vec::new();
    frame::push_eth(&mut f, dst, [2, 0, 0, 0, 6, 6], None, 0x86DD);
    let l4_len: u16 = if tcp { 20 } else { 8 } + 16;
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&l4_len.to_be_bytes());
    f.extend_from_slice(&[if tcp { proto::TCP } else { proto::UDP }, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.resize(f.len() + usize::from(l4_len) - 4, 0x5A);
    f
}

/// A replay mix: the mixed generator's templates (ARP, ICMP, UDP, TCP over
/// IPv4, some 802.1Q-tagged), IPv4 TCP/UDP flows and fragments, IPv6 TCP/UDP
/// flows, and a non-IP ethertype, interleaved so that every flow has many
/// packets; each frame ends with a unique 4-byte id.
fn traffic(dst: [u8; 6], n: usize) -> Vec<Vec<u8>> {
    let mut templates = mixed_frames(11, dst, 64);
    for i in 0..48u16 {
        let mut f = Vec::new();
        frame::push_eth(&mut f, dst, [2, 0, 0, 0, 4, 4], None, frame::ETHERTYPE_IPV4);
        let p = if i % 2 == 0 { proto::TCP } else { proto::UDP };
        let src = [192, 168, (i >> 3) as u8, (i * 7) as u8];
        frame::push_ipv4(
            &mut f,
            src,
            [10, 0, 0, 1],
            p,
            i,
            (1024 + i * 331, 80 + i),
            20,
            0,
        );
        if i % 12 == 5 {
            f[14 + 6] |= 0x20; // a fragment: hashed on addresses only
        }
        templates.push(f);
    }
    for i in 0..24u16 {
        let mut src = [0u8; 16];
        src[0] = 0x20;
        src[1] = 0x01;
        src[14] = (i >> 8) as u8;
        src[15] = i as u8 ^ 0x5C;
        templates.push(ipv6_frame(dst, src, 443, 30000 + i * 17, i % 3 != 0));
    }
    for i in 0..4u8 {
        let mut f = Vec::new();
        frame::push_eth(&mut f, dst, [2, 0, 0, 0, 8, i], None, 0x88B5);
        f.resize(60, i);
        templates.push(f);
    }
    (0..n)
        .map(|i| {
            let mut f = templates[(i * 7 + i / templates.len()) % templates.len()].clone();
            f.extend_from_slice(&(i as u32).to_be_bytes());
            f
        })
        .collect()
}

fn rss_config(queues: u16, ring: usize) -> NicConfig {
    NicConfig {
        rx_queues: queues,
        ..small_rings(ring)
    }
}

/// Checks what arrived per queue: each frame on the queue its hash names,
/// every frame exactly once, each flow on one queue and in order.
fn check_spread(rss: &RssRegs, sent: &[Vec<u8>], got: &[Vec<Vec<u8>>], queues: usize) {
    let mut seen = vec![false; sent.len()];
    let mut per_queue = vec![0usize; queues];
    for (qn, frames) in got.iter().enumerate() {
        let mut last_in_flow: HashMap<Vec<u8>, u32> = HashMap::new();
        for p in frames {
            let id = id_of(p);
            assert_eq!(&sent[id as usize][..], &p[..], "frame {id} intact");
            assert!(!seen[id as usize], "frame {id} delivered twice");
            seen[id as usize] = true;
            assert_eq!(
                rss.queue_of(p),
                qn,
                "frame {id} on the queue its hash names"
            );
            if hash_input(p).is_none() {
                assert_eq!(qn, 0, "non-IP frame {id} on queue 0");
            }
            if let Some(prev) = last_in_flow.insert(flow_of(p), id) {
                assert!(prev < id, "flow order kept on queue {qn}: {prev} then {id}");
            }
            per_queue[qn] += 1;
        }
    }
    let missing: Vec<_> = (0..sent.len()).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "frames never delivered: {missing:?}");
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "every queue got traffic: {per_queue:?}"
    );
}

#[test]
fn independent_toeplitz_matches_the_published_example() {
    let src = [66, 9, 149, 187];
    let dst = [161, 142, 100, 80];
    let mut input = [src, dst].concat();
    assert_eq!(
        toeplitz_ref(&igbpoll_driver::rss::DEFAULT_KEY, &input),
        0x323e8fc2
    );
    input.extend_from_slice(&2794u16.to_be_bytes());
    input.extend_from_slice(&1766u16.to_be_bytes());
    assert_eq!(
        toeplitz_ref(&igbpoll_driver::rss::DEFAULT_KEY, &input),
        0x51ccc178
    );
}

/// 4 and 16 queues, stepped simulator: the mix spreads by the hash, nothing is
/// lost or duplicated, flows stay in order, non-IP stays on queue 0.
#[test]
fn mixed_traffic_spreads_by_toeplitz_hash() {
    for queues in [4u16, 16] {
        let sim = sim(SimModel::Igb);
        let mut nic = open(&sim, &rss_config(queues, 256));
        let rss = RssRegs::read(&sim.backend());
        assert_eq!(rss.key, igbpoll_driver::rss::DEFAULT_KEY);
        for (i, &e) in rss.reta.iter().enumerate() {
            assert_eq!(usize::from(e), i % usize::from(queues), "RETA round-robin");
        }
        let sent = traffic(nic.mac(), 4000);
        let mut got = vec![Vec::new(); usize::from(queues)];
        let mut batch: Vec<Packet> = Vec::with_capacity(64);
        // Chunks smaller than a ring, so that no queue runs out of descriptors.
        for chunk in sent.chunks(200) {
            for f in chunk {
                sim.inject(f);
            }
            settle(&sim);
            for (qn, out) in got.iter_mut().enumerate() {
                while nic.rx_batch(qn, &mut batch, 64) > 0 {
                    out.extend(batch.drain(..).map(|p| p.to_vec()));
                }
            }
        }
        check_spread(&rss, &sent, &got, usize::from(queues));
        let s = nic.stats();
        assert!(s.hw.rx_queue_drops.iter().all(|&d| d == 0), "{:?}", s.hw);
        assert_eq!(s.driver.rx_packets, sent.len() as u64);
        let per_queue: Vec<u64> = nic
            .rx_queue_stats()
            .iter()
            .map(|s| s.packets.get())
            .collect();
        assert_eq!(
            per_queue,
            got.iter().map(|g| g.len() as u64).collect::<Vec<_>>()
        );
        drop(nic);
        assert_eq!(sim.fault_count(), 0);
    }
}

#[test]
fn e1000_refuses_several_queues_by_name() {
    let sim = sim(SimModel::E1000);
    let err = Nic::open(sim.backend(), &rss_config(2, 64)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                setting: "RX queue count",
                value: 2,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("82540EM"), "{msg}");
}

#[test]
fn drop_en_defaults_on_with_several_queues() {
    for (multi_queue_drop_en, want) in [(true, true), (false, false)] {
        let sim = sim(SimModel::Igb);
        let cfg = NicConfig {
            multi_queue_drop_en,
            ..rss_config(4, 64)
        };
        let nic = open(&sim, &cfg);
        assert_eq!(nic.config().queue_drop_en(), want);
        for n in 0..4 {
            let on = sim.backend().read32(q::srrctl(n)) & q::SRRCTL_DROP_EN != 0;
            assert_eq!(on, want, "queue {n}");
        }
    }
}

fn device_stopped(sim: &Sim) -> bool {
    let be = sim.backend();
    be.pci_read16(pci::COMMAND) & pci::COMMAND_BUS_MASTER == 0
        && be.read32(regs::RCTL) & regs::rctl::EN == 0
}

/// Queues moved to threads (two per thread, with the engine on its own
/// thread) receive a lossless replay concurrently; the NIC is dropped first,
/// the queues last, and the device stops cleanly without a DMA fault.
#[test]
fn queues_polled_on_threads_then_dropped_last_stop_the_device() {
    let queues = 4u16;
    let sim = sim(SimModel::Igb);
    // Hold frames in the FIFO rather than drop them when a poller lags: the
    // replay is flow-controlled, so the test can demand every frame.
    let cfg = NicConfig {
        multi_queue_drop_en: false,
        ..rss_config(queues, 128)
    };
    let mut nic = open(&sim, &cfg);
    let rss = RssRegs::read(&sim.backend());
    let sent = traffic(nic.mac(), 20_000);
    let rxqs = nic.take_rx_queues();
    assert_eq!(rxqs.len(), usize::from(queues));
    assert_eq!(nic.rx_queue_count(), usize::from(queues));
    for (i, rq) in rxqs.iter().enumerate() {
        assert_eq!(usize::from(rq.index()), i);
        assert_eq!(rq.size(), 128);
        assert_eq!(rq.ready(), 127);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut pairs: Vec<Vec<_>> = vec![Vec::new(), Vec::new()];
    for (i, rq) in rxqs.into_iter().enumerate() {
        pairs[i % 2].push(rq);
    }
    let workers: Vec<_> = pairs
        .into_iter()
        .map(|mut mine| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut got: Vec<(usize, Vec<Vec<u8>>)> = mine
                    .iter()
                    .map(|q| (usize::from(q.index()), Vec::new()))
                    .collect();
                let mut batch: Vec<Packet> = Vec::with_capacity(32);
                loop {
                    let done = stop.load(Ordering::Acquire);
                    let mut n = 0;
                    for (q, (_, out)) in mine.iter_mut().zip(got.iter_mut()) {
                        n += q.rx_batch(&mut batch, 32);
                        out.extend(batch.drain(..).map(|p| p.to_vec()));
                    }
                    if done && n == 0 {
                        break;
                    }
                    if n == 0 {
                        std::thread::yield_now();
                    }
                }
                (mine, got)
            })
        })
        .collect();

    sim.set_source(Replay::from_bytes(&pcap_bytes(&sent)).expect("replay"));
    sim.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    let expected = sent.len() as u64;
    while nic.stats().driver.rx_packets < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Release);
    let mut got = vec![Vec::new(); usize::from(queues)];
    let mut held = Vec::new();
    for w in workers {
        let (mine, g) = w.join().expect("poller thread");
        for (qn, frames) in g {
            got[qn] = frames;
        }
        held.push(mine);
    }
    check_spread(&rss, &sent, &got, usize::from(queues));
    assert_eq!(sim.counters().dropped(), 0);

    // The NIC goes first: the device keeps running for the queues still held.
    drop(nic);
    assert!(
        !device_stopped(&sim),
        "queues still alive keep the device up"
    );
    // Then the queues, on their own threads: the last one stops the device.
    let droppers: Vec<_> = held
        .into_iter()
        .map(|mine| std::thread::spawn(move || drop(mine)))
        .collect();
    for d in droppers {
        d.join().expect("drop on a thread");
    }
    assert!(device_stopped(&sim), "the last queue stopped the device");
    sim.stop();
    assert_eq!(sim.fault_count(), 0, "{:?}", sim.faults());
}

/// One queue dropped while the others run: it stops its own DMA (frames for
/// it are dropped and counted in its RQDPC), the others go on receiving.
#[test]
fn one_queue_dropped_while_the_others_run() {
    let queues = 4u16;
    let sim = sim(SimModel::Igb);
    sim.start();
    let mut nic = open(&sim, &rss_config(queues, 256));
    let rss = RssRegs::read(&sim.backend());
    let mut rxqs = nic.take_rx_queues();
    let gone = rxqs.pop().expect("queue 3");
    assert_eq!(gone.index(), 3);
    drop(gone);
    assert_eq!(sim.backend().read32(q::rxdctl(3)) & q::XDCTL_ENABLE, 0);
    assert!(!device_stopped(&sim));

    let sent = traffic(nic.mac(), 600);
    let to_3 = sent.iter().filter(|f| rss.queue_of(f) == 3).count() as u64;
    assert!(to_3 > 0);
    let mut got = vec![Vec::new(); 3];
    let mut batch: Vec<Packet> = Vec::new();
    for chunk in sent.chunks(100) {
        for f in chunk {
            sim.inject(f);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sim.rx_drained() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        for (qn, rq) in rxqs.iter_mut().enumerate() {
            while rq.has_completions() {
                rq.rx_batch(&mut batch, 64);
                got[qn].extend(batch.drain(..).map(|p| p.to_vec()));
            }
        }
    }
    let delivered: usize = got.iter().map(Vec::len).sum();
    assert_eq!(delivered as u64 + to_3, sent.len() as u64);
    for (qn, frames) in got.iter().enumerate() {
        assert!(frames.iter().all(|p| rss.queue_of(p) == qn));
    }
    let s = nic.stats();
    assert_eq!(s.hw.rx_queue_drops[3], to_3);
    drop(rxqs);
    drop(nic);
    assert!(device_stopped(&sim));
    sim.stop();
    assert_eq!(sim.fault_count(), 0, "{:?}", sim.faults());
}
