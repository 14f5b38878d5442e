//! Drop accounting: every frame offered is delivered or counted where it was lost.

use std::time::Duration;

use igbpoll_driver::{NicConfig, Packet};
use igbpoll_hw_sim::{Corruption, SimModel};
use igbpoll_tests::*;

fn frame_to(mac: [u8; 6], seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&mac);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x88, 0xB5]);
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    f
}

/// A burst larger than the free descriptors plus the receive FIFO, while the
/// poller stalls: the FIFO holds what it can (RNBC counts the no-buffer events),
/// the rest is dropped and counted in MPC, and delivered + MPC = offered exactly.
#[test]
fn burst_while_poller_stalls_is_accounted_exactly() {
    for model in MODELS {
        let sim = sim(model);
        // Deterministic: no engine thread; the test steps the NIC itself.
        let mut nic = open(&sim, &small_rings(32));
        let mac = nic.mac();
        let offered = 2_000u32; // 31 descriptors + a 48/64 KiB FIFO hold far fewer 1000-byte frames
        for i in 0..offered {
            sim.inject(&frame_to(mac, i, 1000));
        }
        settle(&sim);
        let mut got = Vec::new();
        let mut batch: Vec<Packet> = Vec::new();
        loop {
            settle(&sim);
            let n = nic.rx_batch(0, &mut batch, 64);
            got.extend(
                batch
                    .drain(..)
                    .map(|p| u32::from_be_bytes(p[14..18].try_into().unwrap())),
            );
            if n == 0 && sim.rx_drained() && !nic.rx_queue(0).has_completions() {
                break;
            }
        }
        let s = nic.stats();
        let mpc = s.hw.rx_missed_errors;
        assert!(mpc > 0, "{model:?}: the burst overflowed the FIFO");
        assert!(
            s.hw.rx_no_buffer_count > 0,
            "{model:?}: RNBC counted the no-buffer events"
        );
        assert_eq!(
            got.len() as u64 + mpc,
            u64::from(offered),
            "{model:?}: delivered + MPC"
        );
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "{model:?}: survivors in order"
        );
        assert_eq!(s.hw.rx_packets, got.len() as u64);
        assert_eq!(sim.counters().dropped_overflow, mpc);
    }
}

/// The same with the engine on its own thread and a real poller that stalls
/// for a while in the middle of the burst.
#[test]
fn threaded_burst_with_stall_is_accounted_exactly() {
    for model in MODELS {
        let sim = sim(model);
        sim.start();
        let mut nic = open(&sim, &small_rings(64));
        let mac = nic.mac();
        let offered = 20_000u32;
        for i in 0..offered {
            sim.inject(&frame_to(mac, i, 60 + (i as usize * 7) % 1400));
            if i == 5_000 {
                std::thread::sleep(Duration::from_millis(20)); // the poller is away
            }
        }
        let delivered = receive_until_drained(&sim, &mut nic, Duration::from_secs(30));
        let s = nic.stats();
        assert_eq!(
            delivered + s.hw.rx_missed_errors,
            u64::from(offered),
            "{model:?}"
        );
        assert_eq!(s.hw.rx_packets, delivered, "{model:?}");
    }
}

/// igb with SRRCTL.DROP_EN: a queue without descriptors drops at once and
/// counts the drop per queue (RQDPC) instead of filling the FIFO.
#[test]
fn drop_en_counts_per_queue() {
    let sim = sim(SimModel::Igb);
    let cfg = NicConfig {
        drop_en: true,
        ..small_rings(16)
    };
    let mut nic = open(&sim, &cfg);
    let mac = nic.mac();
    for i in 0..100 {
        sim.inject(&frame_to(mac, i, 200));
    }
    settle(&sim);
    let mut batch = Vec::new();
    let mut delivered = 0;
    loop {
        let n = nic.rx_batch(0, &mut batch, 64);
        delivered += n as u64;
        batch.clear();
        settle(&sim);
        if n == 0 && !nic.rx_queue(0).has_completions() {
            break;
        }
    }
    let s = nic.stats();
    assert_eq!(delivered, 15, "15 descriptors were posted");
    assert_eq!(s.hw.rx_queue_drops[0], 85);
    assert_eq!(s.hw.rx_missed_errors, 0);
}

/// Hostile write-backs — a length beyond the buffer, a missing EOP, frame error
/// bits — are dropped and counted, never handed on, and the queue goes on.
#[test]
fn device_written_garbage_is_dropped_and_counted() {
    for model in MODELS {
        for kind in [
            Corruption::LengthOverflow,
            Corruption::NoEop,
            Corruption::FrameError,
        ] {
            let sim = sim(model);
            let mut nic = open(&sim, &small_rings(32));
            let mac = nic.mac();
            sim.corrupt_next_rx(3, kind);
            for i in 0..20 {
                sim.inject(&frame_to(mac, i, 100));
            }
            let mut got = Vec::new();
            let mut batch: Vec<Packet> = Vec::new();
            for _ in 0..100 {
                settle(&sim);
                nic.rx_batch(0, &mut batch, 64);
                got.extend(
                    batch
                        .drain(..)
                        .map(|p| u32::from_be_bytes(p[14..18].try_into().unwrap())),
                );
            }
            let d = nic.stats().driver;
            let ctx = format!("{model:?} {kind:?}");
            match kind {
                Corruption::LengthOverflow => {
                    assert_eq!(d.rx_bad_length, 3, "{ctx}");
                    assert_eq!(got, (3..20).collect::<Vec<_>>(), "{ctx}");
                }
                Corruption::FrameError => {
                    assert_eq!(d.rx_frame_errors, 3, "{ctx}");
                    assert_eq!(got, (3..20).collect::<Vec<_>>(), "{ctx}");
                }
                Corruption::NoEop => {
                    // Without EOP the next descriptor is the frame's continuation:
                    // frames 0..3 lack EOP, frame 3 ends that "frame"; all four go.
                    assert_eq!(d.rx_no_eop, 1, "{ctx}");
                    assert_eq!(got, (4..20).collect::<Vec<_>>(), "{ctx}");
                }
            }
            assert!(got.iter().all(|&s| s < 20), "{ctx}: nothing invented");
        }
    }
}

/// An application that holds every packet drains the pool: refills fail and are
/// counted, the NIC runs out of descriptors (RNBC), and everything recovers once
/// the packets are dropped.
#[test]
fn holding_every_packet_drains_the_pool_and_recovers() {
    for model in MODELS {
        let sim = sim(model);
        sim.start();
        let cfg = NicConfig {
            rx_pool_size: 64,
            ..small_rings(32)
        };
        let mut nic = open(&sim, &cfg);
        let mac = nic.mac();
        let offered = 200u32;
        for i in 0..offered {
            sim.inject(&frame_to(mac, i, 100));
        }
        let mut held: Vec<Packet> = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline && held.len() < 64 {
            nic.rx_batch(0, &mut held, 64);
        }
        assert_eq!(held.len(), 64, "{model:?}: the pool's 64 buffers, all held");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            nic.rx_batch(0, &mut held, 64),
            0,
            "{model:?}: nothing while the pool is empty"
        );
        let s = nic.stats();
        assert!(
            s.driver.rx_alloc_failures > 0,
            "{model:?}: exhaustion reported"
        );
        assert!(nic.rx_queue(0).pool().exhausted_count() > 0);
        let first: Vec<u32> = held
            .iter()
            .map(|p| u32::from_be_bytes(p[14..18].try_into().unwrap()))
            .collect();
        held.clear(); // the application lets go
        let rest = receive(&mut nic, (offered - 64) as usize, Duration::from_secs(10));
        let s = nic.stats();
        assert_eq!(
            64 + rest.len() as u64 + s.hw.rx_missed_errors,
            u64::from(offered),
            "{model:?}: delivered + MPC = offered"
        );
        assert!(first.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            nic.rx_queue(0).pool().free_count() + nic.rx_queue(0).ready(),
            64
        );
    }
}

/// An unpaced source stands for a sender honouring PAUSE frames: a stalled
/// poller loses nothing. A paced source keeps sending: the FIFO overflows and
/// every loss is counted in MPC.
#[test]
fn flow_controlled_source_is_lossless_and_paced_source_overflows() {
    use igbpoll_hw_sim::wire::{Generator, SourceExt};
    for model in MODELS {
        for paced in [false, true] {
            let sim = sim(model);
            let n = 20_000u64;
            let g = Generator::fixed_udp(1000, sim.mac()).limit(n);
            if paced {
                sim.set_source(g.paced(2_000_000.0));
            } else {
                sim.set_source(g);
            }
            sim.start();
            let mut nic = open(&sim, &small_rings(64));
            std::thread::sleep(Duration::from_millis(100)); // the poller stalls
            let delivered = receive_until_drained(&sim, &mut nic, Duration::from_secs(30));
            let mpc = nic.stats().hw.rx_missed_errors;
            assert_eq!(delivered + mpc, n, "{model:?} paced={paced}");
            if paced {
                assert!(
                    mpc > 0,
                    "{model:?}: 2 Mpps of 1000-byte frames into a stalled poller overflows"
                );
            } else {
                assert_eq!(mpc, 0, "{model:?}: flow control loses nothing");
            }
        }
    }
}
