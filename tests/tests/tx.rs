//! Transmit: what the driver sends leaves the simulated wire byte-identical.

use std::time::Duration;

use igbpoll_driver::Packet;
use igbpoll_hw_sim::wire::MemorySink;
use igbpoll_tests::*;

#[test]
fn sent_frames_leave_the_wire_intact() {
    const N: usize = 3_000;
    for model in MODELS {
        let sim = sim(model);
        let wire = MemorySink::new();
        sim.add_sink(wire.clone());
        sim.start();
        let mut nic = open(&sim, &small_rings(64));
        let pool = nic.alloc_pool(256).expect("TX pool");
        let frames = mixed_frames(11, [0x02, 1, 2, 3, 4, 5], N);
        let mut pending: Vec<Packet> = Vec::new();
        let mut next = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while (next < N || !pending.is_empty()) && std::time::Instant::now() < deadline {
            while next < N && pending.len() < 32 {
                match pool.alloc_from(&frames[next]) {
                    Some(p) => pending.push(p),
                    None => break, // every buffer is on the ring: let the NIC finish some
                }
                next += 1;
            }
            nic.tx_batch(0, &mut pending);
        }
        assert_eq!(
            nic.flush_tx(Duration::from_secs(10)),
            0,
            "{model:?}: all reclaimed"
        );
        sim.stop();
        let sent = wire.frames();
        assert_eq!(sent.len(), N, "{model:?}");
        for (i, (s, f)) in sent.iter().zip(&frames).enumerate() {
            assert_eq!(s, f, "{model:?}: frame {i}");
        }
        assert_eq!(
            pool.free_count(),
            256,
            "{model:?}: every buffer back in its pool"
        );
        let st = nic.stats();
        assert_eq!(st.hw.tx_packets, N as u64, "{model:?}: GPTC");
        assert_eq!(st.driver.tx_packets, N as u64);
        assert_eq!(sim.fault_count(), 0);
    }
}

/// Frames shorter than the 60-byte minimum are padded with zeros by the driver.
#[test]
fn short_frames_are_padded_to_60() {
    for model in MODELS {
        let sim = sim(model);
        let wire = MemorySink::new();
        sim.add_sink(wire.clone());
        sim.start();
        let mut nic = open(&sim, &small_rings(16));
        let pool = nic.alloc_pool(16).expect("TX pool");
        let mut short = vec![0xffu8; 6];
        short.extend_from_slice(&nic.mac());
        short.extend_from_slice(&[0x88, 0xB5, 1, 2, 3, 4, 5, 6]);
        let mut v = vec![pool.alloc_from(&short).expect("buffer")];
        assert_eq!(nic.tx_batch(0, &mut v), 1);
        assert_eq!(nic.flush_tx(Duration::from_secs(5)), 0);
        sim.stop();
        let sent = wire.frames();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].len(), 60, "{model:?}");
        assert_eq!(&sent[0][..short.len()], &short[..]);
        assert!(sent[0][short.len()..].iter().all(|&b| b == 0));
        assert_eq!(nic.stats().driver.tx_padded, 1);
    }
}

/// A full ring keeps the packets that did not fit with the caller.
#[test]
fn full_ring_leaves_the_rest_with_the_caller() {
    let sim = sim(igbpoll_hw_sim::SimModel::Igb);
    // Engine not started: nothing completes, so the ring fills.
    let mut nic = open(&sim, &small_rings(8));
    let pool = nic.alloc_pool(32).expect("TX pool");
    let mut v: Vec<Packet> = (0..20)
        .map(|_| pool.alloc_from(&[0xab; 64]).expect("buffer"))
        .collect();
    assert_eq!(nic.tx_batch(0, &mut v), 7, "one descriptor stays free");
    assert_eq!(v.len(), 13);
    assert_eq!(nic.stats().driver.tx_ring_full, 1);
}
