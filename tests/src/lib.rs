//! Shared helpers for the integration tests and benchmarks: bring a simulated
//! NIC up under the real driver, and build reference traffic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::{Duration, Instant};

use igbpoll_driver::{Nic, NicConfig, Packet};
use igbpoll_hw_sim::wire::Generator;
use igbpoll_hw_sim::{Sim, SimBackend, SimConfig, SimModel};

/// Both simulated models, for tests that must hold on each.
pub const MODELS: [SimModel; 2] = [SimModel::E1000, SimModel::Igb];

/// A driver config with small rings, so that tests wrap them many times.
pub fn small_rings(ring: usize) -> NicConfig {
    NicConfig {
        rx_ring_size: ring,
        tx_ring_size: ring,
        promiscuous: true,
        ..NicConfig::default()
    }
}

/// Opens the real driver on `sim`.
pub fn open(sim: &Sim, config: &NicConfig) -> Nic<SimBackend> {
    Nic::open(sim.backend(), config).expect("driver brings the simulated NIC up")
}

/// A new simulator of `model` (its engine not started).
pub fn sim(model: SimModel) -> Sim {
    Sim::new(SimConfig::new(model))
}

/// The first `n` frames a mixed generator with `seed` produces (cycling its templates).
pub fn mixed_frames(seed: u64, dst: [u8; 6], n: usize) -> Vec<Vec<u8>> {
    let g = Generator::mixed(seed, dst);
    let t: Vec<&[u8]> = g.templates().collect();
    (0..n).map(|i| t[i % t.len()].to_vec()).collect()
}

/// Serialises frames as a classic pcap file in memory.
pub fn pcap_bytes(frames: &[Vec<u8>]) -> Vec<u8> {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let mut w = PcapWriter::with_header(Vec::new(), PcapHeader::default()).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        let ts = Duration::from_micros(i as u64);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, f))
            .expect("pcap record");
    }
    w.into_writer()
}

/// Polls queue 0 until `n` packets arrived or `timeout` passed; returns copies
/// of their bytes in arrival order.
pub fn receive(nic: &mut Nic<SimBackend>, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::with_capacity(n);
    let mut batch: Vec<Packet> = Vec::with_capacity(64);
    while got.len() < n && Instant::now() < deadline {
        if nic.rx_batch(0, &mut batch, 64) == 0 {
            std::thread::yield_now();
        }
        got.extend(batch.drain(..).map(|p| p.to_vec()));
    }
    got
}

/// Runs the simulator's engine on this thread until it is idle.
pub fn settle(sim: &Sim) {
    sim.run_until_idle(1_000_000);
}

/// Polls queue 0 (engine on its own thread) until the wire is drained and the
/// ring holds nothing more, or `timeout`; returns how many packets arrived.
pub fn receive_until_drained(sim: &Sim, nic: &mut Nic<SimBackend>, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    let mut delivered = 0u64;
    let mut batch: Vec<Packet> = Vec::with_capacity(64);
    while Instant::now() < deadline {
        // Observed before polling: drained, then an empty ring, means done.
        let drained = sim.rx_drained();
        let n = nic.rx_batch(0, &mut batch, 64);
        delivered += n as u64;
        batch.clear();
        if n == 0 && drained && !nic.rx_queue(0).has_completions() {
            break;
        }
    }
    delivered
}
