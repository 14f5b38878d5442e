//! RX benchmark: the real driver receiving from hw-sim, printed as figures.
//!
//! ```sh
//! cargo bench -p igbpoll-tests --bench rx                 # all figures
//! cargo bench -p igbpoll-tests --bench rx -- driver-only  # driver cost alone (for callgrind)
//! ```
//!
//! 1. Threaded: the simulator's DMA engine on one core fills the ring with 60-byte
//!    frames as fast as it can; the driver on the other core receives and drops
//!    them, at batch sizes 1, 8, 32, 128. The share of empty polls tells whether
//!    the driver (few empty polls) or the simulator (many) sets the rate.
//! 2. Driver only: the simulator fills the whole ring while the clock is stopped,
//!    then the driver drains it (rx_batch + refill + packet drop back to the pool)
//!    with the clock running: nanoseconds per packet of the driver's own work.
//!    The "recycle" rows hand each batch back with `Nic::recycle` instead of
//!    dropping it, as the capture's receive thread does with what its writer
//!    returns (`-- driver-only-recycle` for callgrind).

use std::hint::black_box;
use std::time::{Duration, Instant};

use igbpoll_driver::{Nic, NicConfig, Packet};
use igbpoll_hw_sim::wire::Generator;
use igbpoll_hw_sim::{Sim, SimBackend, SimConfig, SimModel};

fn open(sim: &Sim, ring: usize) -> Nic<SimBackend> {
    let cfg = NicConfig {
        rx_ring_size: ring,
        promiscuous: true,
        ..NicConfig::default()
    };
    Nic::open(sim.backend(), &cfg).expect("open the simulated NIC")
}

fn threaded(model: SimModel, batch: usize, secs: f64) {
    let sim = Sim::new(SimConfig::new(model));
    sim.set_source(Generator::fixed_udp(60, sim.mac()));
    sim.start();
    let mut nic = open(&sim, 1024);
    let mut v: Vec<Packet> = Vec::with_capacity(batch);
    // Warm up.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        nic.rx_batch(0, &mut v, batch);
        v.clear();
    }
    let before = nic.stats();
    let (mut polls, mut empty, mut pkts) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let end = Duration::from_secs_f64(secs);
    while start.elapsed() < end {
        for _ in 0..64 {
            let n = nic.rx_batch(0, &mut v, batch);
            polls += 1;
            empty += u64::from(n == 0);
            pkts += n as u64;
            v.clear();
        }
    }
    let t = start.elapsed().as_secs_f64();
    let after = nic.stats();
    let missed = after.hw.rx_missed_errors - before.hw.rx_missed_errors;
    let empty_share = empty as f64 / polls as f64;
    let verdict = if empty_share > 0.2 {
        "simulator-bound"
    } else {
        "driver-bound"
    };
    println!(
        "threaded {model:?} batch {batch:>3}: {:6.2} Mpps received, {:5.1}% empty polls \
         ({verdict}), {missed} missed by the NIC",
        pkts as f64 / t / 1e6,
        empty_share * 100.0,
    );
}

/// Drains the filled ring; returns the packets received. Kept out of line so
/// callgrind can count exactly its instructions.
#[inline(never)]
fn drain_once(nic: &mut Nic<SimBackend>, v: &mut Vec<Packet>, batch: usize, recycle: bool) -> u64 {
    let mut total = 0u64;
    loop {
        let n = nic.rx_batch(0, v, batch);
        if n == 0 {
            break;
        }
        total += n as u64;
        black_box(&v[0][0]);
        if recycle {
            nic.recycle(0, v);
        } else {
            v.clear();
        }
    }
    total
}

fn driver_only(model: SimModel, batch: usize, rounds: usize, recycle: bool) -> f64 {
    let sim = Sim::new(SimConfig::new(model));
    sim.set_source(Generator::fixed_udp(60, sim.mac()));
    let ring = 4096;
    let mut nic = open(&sim, ring);
    let mut v: Vec<Packet> = Vec::with_capacity(batch);
    let mut busy = Duration::ZERO;
    let mut pkts = 0u64;
    for _ in 0..rounds {
        // The NIC fills every posted descriptor (clock stopped).
        for _ in 0..ring {
            if sim.step() == 0 {
                break;
            }
        }
        let t = Instant::now();
        pkts += drain_once(&mut nic, &mut v, batch, recycle);
        busy += t.elapsed();
    }
    let ns = busy.as_nanos() as f64 / pkts as f64;
    println!(
        "driver-only {model:?} batch {batch:>3}{}: {ns:6.1} ns/packet ({:.1} Mpps of driver work), \
         {pkts} packets",
        if recycle { " recycle" } else { "" },
        1e3 / ns
    );
    ns
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        // For `valgrind --tool=callgrind --toggle-collect=*drain_once*`.
        Some("driver-only") => {
            driver_only(SimModel::Igb, 32, 50, false);
            return;
        }
        Some("driver-only-recycle") => {
            driver_only(SimModel::Igb, 32, 50, true);
            return;
        }
        _ => {}
    }
    println!("== RX to application, simulator DMA engine on the other core (60-byte frames)");
    for model in [SimModel::Igb, SimModel::E1000] {
        for batch in [1, 8, 32, 128] {
            threaded(model, batch, 1.0);
        }
    }
    println!("== the driver's own cost (ring filled first, then drained with the clock on)");
    for model in [SimModel::Igb, SimModel::E1000] {
        for batch in [1, 8, 32, 128] {
            driver_only(model, batch, 200, false);
        }
        driver_only(model, 32, 200, true);
    }
}
