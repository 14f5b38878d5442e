//! Receive: the real driver against hw-sim's 82540EM and 82576 models.

use std::time::Duration;

use igbpoll_hw_sim::wire::Replay;
use igbpoll_tests::*;

/// N frames replayed from a pcap file, many times the ring size (so the ring
/// wraps often), sizes 60..1514 with VLAN-tagged ones, arrive byte-identical and
/// in order, and every counter agrees.
#[test]
fn replayed_frames_arrive_intact_and_in_order() {
    const N: usize = 5_000;
    for model in MODELS {
        let sim = sim(model);
        let frames = mixed_frames(7, sim.mac(), N);
        assert!(
            frames.iter().any(|f| f[12..14] == [0x81, 0x00]),
            "VLAN-tagged frames included"
        );
        assert!(frames.iter().any(|f| f.len() == 60) || frames.iter().any(|f| f.len() < 70));
        assert!(frames.iter().any(|f| f.len() >= 1500));
        let replay = Replay::from_bytes(&pcap_bytes(&frames)).expect("replay parses our pcap");
        sim.set_source(replay);
        sim.start();
        let mut nic = open(&sim, &small_rings(64));
        let got = receive(&mut nic, N, Duration::from_secs(60));
        assert_eq!(got.len(), N, "{model:?}: every frame arrives");
        for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
            assert_eq!(g, f, "{model:?}: frame {i} differs");
        }
        let w = sim.counters();
        assert_eq!(
            (w.offered, w.delivered, w.dropped()),
            (N as u64, N as u64, 0),
            "{model:?}"
        );
        let s = nic.stats();
        assert_eq!(s.hw.rx_packets, N as u64, "{model:?}: GPRC");
        assert_eq!(s.driver.rx_packets, N as u64);
        assert_eq!(s.hw.rx_missed_errors, 0);
        let bytes: u64 = frames.iter().map(|f| f.len() as u64 + 4).sum();
        assert_eq!(s.hw.rx_bytes, bytes, "{model:?}: GORC counts the FCS too");
        assert_eq!(
            sim.fault_count(),
            0,
            "{model:?}: no DMA outside mapped memory"
        );
    }
}

/// With CRC stripping off, each frame arrives with its 4-byte FCS, and the FCS
/// is the CRC-32 the wire would carry.
#[test]
fn fcs_is_kept_when_not_stripped() {
    for model in MODELS {
        let sim = sim(model);
        let frames = mixed_frames(3, sim.mac(), 40);
        sim.start();
        let cfg = igbpoll_driver::NicConfig {
            strip_crc: false,
            ..small_rings(32)
        };
        let mut nic = open(&sim, &cfg);
        for f in &frames {
            sim.inject(f);
        }
        let got = receive(&mut nic, frames.len(), Duration::from_secs(10));
        assert_eq!(got.len(), frames.len());
        for (g, f) in got.iter().zip(&frames) {
            assert_eq!(&g[..f.len()], &f[..]);
            let fcs = u32::from_le_bytes(g[f.len()..].try_into().expect("4 FCS bytes"));
            assert_eq!(fcs, crc32(f), "{model:?}");
        }
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Without promiscuous mode the MAC filter passes only our address and
/// broadcast; promiscuous mode can be switched on at run time.
#[test]
fn mac_filter_and_promiscuous_mode() {
    for model in MODELS {
        let sim = sim(model);
        sim.start();
        let cfg = igbpoll_driver::NicConfig {
            promiscuous: false,
            ..small_rings(32)
        };
        let mut nic = open(&sim, &cfg);
        let mut to_us = vec![0u8; 60];
        to_us[..6].copy_from_slice(&nic.mac());
        to_us[12..14].copy_from_slice(&[0x88, 0xB5]);
        let mut other = to_us.clone();
        other[..6].copy_from_slice(&[0x02, 9, 9, 9, 9, 9]);
        let mut bcast = to_us.clone();
        bcast[..6].fill(0xff);
        for f in [&to_us, &other, &bcast] {
            sim.inject(f);
        }
        let got = receive(&mut nic, 2, Duration::from_secs(5));
        assert_eq!(got, vec![to_us.clone(), bcast.clone()], "{model:?}");
        nic.set_promiscuous(true);
        sim.inject(&other);
        assert_eq!(
            receive(&mut nic, 1, Duration::from_secs(5)),
            vec![other],
            "{model:?}"
        );
        assert_eq!(sim.counters().dropped_filtered, 1);
    }
}

/// Packets handed back with `recycle` refill the ring from the queue's own
/// store: frames keep arriving intact while the pool's shared free queue is
/// not touched, packets of another pool are simply dropped, and every buffer
/// is back in the pool once the NIC is gone.
#[test]
fn recycled_buffers_refill_the_ring() {
    const N: usize = 3_000;
    for model in MODELS {
        let sim = sim(model);
        let frames = mixed_frames(11, sim.mac(), N);
        sim.set_source(Replay::from_bytes(&pcap_bytes(&frames)).expect("replay"));
        sim.start();
        let mut nic = open(&sim, &small_rings(64));
        let pool = nic.rx_queue(0).pool().clone();
        let other = nic.alloc_pool(8).expect("a second pool");
        let free_at_start = pool.free_count();
        let mut batch = Vec::with_capacity(32);
        let mut got = Vec::with_capacity(N);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while got.len() < N && std::time::Instant::now() < deadline {
            if nic.rx_batch(0, &mut batch, 32) == 0 {
                std::thread::yield_now();
                continue;
            }
            got.extend(batch.iter().map(|p| p.to_vec()));
            batch.push(other.alloc().expect("a packet of another pool"));
            nic.recycle(0, &mut batch);
            assert!(batch.is_empty());
            assert_eq!(
                other.free_count(),
                8,
                "the foreign packet was dropped into its pool"
            );
        }
        assert_eq!(got.len(), N, "{model:?}: every frame arrives");
        assert!(got == frames, "{model:?}: intact and in order");
        let held = nic.rx_queue(0).recycled();
        assert!(
            held > 0 && held <= 64,
            "{model:?}: {held} buffers held, at most a ring's worth"
        );
        let entries = pool.entries() as usize;
        // Every buffer is in exactly one place: the shared free queue, the
        // ring, or the queue's recycled store.
        assert_eq!(
            pool.free_count() + nic.rx_queue(0).ready() + held,
            entries,
            "{model:?}"
        );
        assert!(
            free_at_start - pool.free_count() <= 64,
            "{model:?}: after the first refill, refills come from recycled buffers"
        );
        drop(nic);
        assert_eq!(
            pool.free_count(),
            entries,
            "{model:?}: every buffer back in the pool"
        );
    }
}

/// A recycle limit above the ring keeps a burst of returned packets larger
/// than the ring on the queue (a capture's writer hands its buffers back so);
/// with the default limit, a ring's worth is kept and the rest goes to the
/// pool; lowering the limit gives the excess back.
#[test]
fn a_recycle_limit_above_the_ring_keeps_a_burst_larger_than_the_ring() {
    const HELD: usize = 150;
    for model in MODELS {
        for limit in [None, Some(usize::MAX)] {
            let sim = sim(model);
            let frames = mixed_frames(12, sim.mac(), 400);
            sim.set_source(Replay::from_bytes(&pcap_bytes(&frames)).expect("replay"));
            sim.start();
            let mut nic = open(&sim, &small_rings(64));
            let pool = nic.rx_queue(0).pool().clone();
            let entries = pool.entries() as usize;
            assert!(
                entries >= HELD + 64,
                "{model:?}: the pool holds the burst and the ring"
            );
            if let Some(l) = limit {
                nic.set_recycle_limit(0, l);
            }
            let mut held = Vec::with_capacity(HELD);
            let mut batch = Vec::with_capacity(32);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while held.len() < HELD && std::time::Instant::now() < deadline {
                if nic.rx_batch(0, &mut batch, HELD - held.len()) == 0 {
                    std::thread::yield_now();
                }
                held.append(&mut batch);
            }
            assert_eq!(held.len(), HELD, "{model:?}: the burst arrived");
            nic.recycle(0, &mut held);
            let kept = nic.rx_queue(0).recycled();
            let in_ring = nic.rx_queue(0).ready();
            assert_eq!(pool.free_count() + in_ring + kept, entries, "{model:?}");
            match limit {
                None => assert_eq!(kept, 64, "{model:?}: a ring's worth kept by default"),
                Some(_) => {
                    assert_eq!(kept, HELD, "{model:?}: the whole burst kept");
                    let free = pool.free_count();
                    nic.set_recycle_limit(0, 10);
                    assert_eq!(nic.rx_queue(0).recycled(), 10, "{model:?}");
                    assert_eq!(
                        pool.free_count(),
                        free + HELD - 10,
                        "{model:?}: the excess is back"
                    );
                }
            }
            drop(nic);
            assert_eq!(pool.free_count(), entries, "{model:?}: every buffer back");
        }
    }
}

/// The ring's backlog (`filled`, from the head register) counts the frames
/// the NIC has written and the driver not yet taken, and a full ring reads as
/// every posted descriptor.
#[test]
fn the_backlog_counts_what_the_nic_wrote_and_the_driver_has_not_taken() {
    for model in MODELS {
        let sim = sim(model);
        let frames = mixed_frames(5, sim.mac(), 200);
        sim.set_source(Replay::from_bytes(&pcap_bytes(&frames[..40])).expect("replay"));
        let mut nic = open(&sim, &small_rings(64));
        assert_eq!(nic.rx_queue(0).filled(), 0, "{model:?}: nothing yet");
        sim.start();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while nic.rx_queue(0).filled() < 40 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(nic.rx_queue(0).filled(), 40, "{model:?}");
        let mut batch = Vec::new();
        assert_eq!(nic.rx_batch(0, &mut batch, 10), 10);
        assert_eq!(nic.rx_queue(0).filled(), 30, "{model:?}: 10 taken");
        while nic.rx_batch(0, &mut batch, 64) > 0 {}
        assert_eq!(nic.rx_queue(0).filled(), 0, "{model:?}: all taken");
        drop(nic);
        // More frames than the ring holds: it fills up to what is posted.
        let sim = igbpoll_tests::sim(model);
        sim.set_source(Replay::from_bytes(&pcap_bytes(&frames)).expect("replay"));
        let mut nic = open(&sim, &small_rings(64));
        sim.start();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let q = nic.rx_queue(0);
        while q.filled() < q.ready() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(q.filled(), q.ready(), "{model:?}: a full ring");
        assert_eq!(q.ready(), 63, "{model:?}: all but one descriptor posted");
    }
}
