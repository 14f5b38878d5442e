//! A MAC-swapping reflector, written only against igbpoll's public library API:
//! every frame received on queue 0 goes back out of queue 0 with its source and
//! destination addresses swapped, in place, without a copy.
//!
//! ```sh
//! cargo run --release -p igbpoll --example reflector -- igb 100000
//! ```
//!
//! On the simulator it feeds the wire with the generator's mixed traffic, records
//! what the NIC sends back, and checks that every frame returned is the frame
//! that arrived with its MAC addresses swapped.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use igbpoll_driver::{Backend, Nic, NicConfig, Packet};
use igbpoll_hw_sim::wire::{Generator, MemorySink, SourceExt};
use igbpoll_hw_sim::{Sim, SimConfig, SimModel};

/// One poll: when nothing is waiting, receive a batch and swap its addresses
/// in place; then send what is waiting. Packets the TX ring had no room for
/// stay in `pending` for the next call (the NIC pushes back; nothing is lost).
/// Returns the number of frames sent.
fn reflect<B: Backend>(nic: &mut Nic<B>, pending: &mut Vec<Packet>) -> usize {
    if pending.is_empty() {
        nic.rx_batch(0, pending, 64);
        for p in pending.iter_mut() {
            if p.len() >= 12 {
                let (dst, src) = p.split_at_mut(6);
                dst.swap_with_slice(&mut src[..6]);
            }
        }
    }
    nic.tx_batch(0, pending)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let model = match args.next().as_deref() {
        Some("e1000") => SimModel::E1000,
        Some("igb") | None => SimModel::Igb,
        Some(other) => {
            eprintln!("reflector: unknown model {other:?}: use e1000 or igb");
            return ExitCode::FAILURE;
        }
    };
    let count: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);

    let sim = Sim::new(SimConfig::new(model));
    let seed = 42;
    sim.set_source(Generator::mixed(seed, sim.mac()).limit(count));
    let wire = MemorySink::new();
    sim.add_sink(wire.clone());
    sim.start();
    let cfg = NicConfig {
        promiscuous: true,
        ..NicConfig::default()
    };
    let mut nic = match Nic::open(sim.backend(), &cfg) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("reflector: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut batch = Vec::with_capacity(64);
    let mut reflected = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let drained = sim.rx_drained();
        let n = reflect(&mut nic, &mut batch);
        reflected += n as u64;
        if n == 0 && batch.is_empty() && drained && !nic.rx_queue(0).has_completions() {
            break;
        }
    }
    nic.flush_tx(Duration::from_secs(5));
    sim.stop();

    let missed = nic.stats().hw.rx_missed_errors;
    let back = wire.frames();
    let g = Generator::mixed(seed, sim.mac());
    let templates: Vec<&[u8]> = g.templates().collect();
    let offered: Vec<&[u8]> = (0..back.len())
        .map(|i| templates[i % templates.len()])
        .collect();
    finish(count, reflected, &back, &offered, missed)
}

/// Checks the counts, and, when the NIC lost nothing, that frame `i` came back
/// as offered frame `i` with its addresses swapped.
fn finish(
    count: u64,
    reflected: u64,
    back: &[Vec<u8>],
    offered: &[&[u8]],
    missed: u64,
) -> ExitCode {
    println!(
        "offered {count}, reflected {reflected}, back on the wire {}, missed by the NIC {missed}",
        back.len()
    );
    for (i, (b, s)) in back.iter().zip(offered).enumerate().filter(|_| missed == 0) {
        let mut want = s.to_vec();
        let (dst, src) = want.split_at_mut(6);
        dst.swap_with_slice(&mut src[..6]);
        if *b != want {
            eprintln!("reflector: frame {i} came back wrong");
            return ExitCode::FAILURE;
        }
    }
    if back.len() as u64 != reflected || reflected + missed != count {
        eprintln!("reflector: counts do not add up");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
