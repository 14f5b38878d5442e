//! How fast the DMA engine alone fills receive descriptors.
//!
//! The engine runs on its own thread with a fixed-size UDP generator; this
//! thread is a trivial consumer: it polls DD, clears it and gives the
//! descriptors back 32 at a time. Run with
//! `cargo run --release -p igbpoll-hw-sim --example engine_rate [igb|e1000] [size] [seconds] [step]`.

use std::time::{Duration, Instant};

use igbpoll_driver::backend::pci;
use igbpoll_driver::desc::{Advanced, Legacy, RxFormat};
use igbpoll_driver::regs::{self, ctrl, e1000, igb, mdic, phy, rctl, stats};
use igbpoll_driver::Backend;
use igbpoll_hw_sim::wire::Generator;
use igbpoll_hw_sim::{Sim, SimConfig, SimModel};

const N: usize = 1024;
const BUF: usize = 2048;

fn main() {
    let mut args = std::env::args().skip(1);
    let model = match args.next().as_deref() {
        Some("e1000") => SimModel::E1000,
        _ => SimModel::Igb,
    };
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    // "step": no engine thread; this thread steps the engine and consumes.
    let stepped = args.next().as_deref() == Some("step");

    let sim = Sim::new(SimConfig::new(model).with_link_delay(Duration::ZERO));
    let be = sim.backend();
    be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER);
    be.write32(regs::CTRL, ctrl::RST);
    let (rx, srrctl) = match model {
        SimModel::E1000 => {
            be.write32(regs::CTRL, ctrl::SLU | ctrl::FD);
            (e1000::RDBAL, None)
        }
        SimModel::Igb => {
            be.write32(
                regs::MDIC,
                u32::from(phy::BMCR_AUTOEN | phy::BMCR_ANRESTART)
                    | (mdic::PHY_ADDR << mdic::PHY_SHIFT)
                    | mdic::OP_WRITE,
            );
            (igb::rdbal(0), Some(igb::srrctl(0)))
        }
    };
    let ring = be.alloc_dma(N * 16).unwrap();
    let bufs = be.alloc_dma(N * BUF).unwrap();
    let post = |i: usize| {
        let iova = bufs.iova() + (i * BUF) as u64;
        match model {
            SimModel::E1000 => Legacy::post(&ring, i, iova),
            SimModel::Igb => Advanced::post(&ring, i, iova),
        }
    };
    let done = |i: usize| match model {
        SimModel::E1000 => Legacy::complete(&ring, i).is_some(),
        SimModel::Igb => Advanced::complete(&ring, i).is_some(),
    };
    be.write32(rx, ring.iova() as u32);
    be.write32(rx + 4, (ring.iova() >> 32) as u32);
    be.write32(rx + 8, (N * 16) as u32);
    if let Some(s) = srrctl {
        be.write32(s, igb::SRRCTL_DESCTYPE_ADV_ONEBUF | 2);
    }
    (0..N - 1).for_each(post);
    be.write32(rx + 0x18, (N - 1) as u32);
    be.write32(regs::RCTL, rctl::EN | rctl::BAM | rctl::SECRC);

    sim.set_source(Generator::fixed_udp(size, sim.mac()));
    if !stepped {
        sim.start();
    }
    let start = Instant::now();
    let (mut next, mut tail, mut pending, mut got) = (0usize, N - 1, 0usize, 0u64);
    while start.elapsed() < Duration::from_secs(secs) {
        if stepped {
            sim.step();
        }
        for _ in 0..64 {
            if !done(next) {
                break;
            }
            next = (next + 1) % N;
            got += 1;
            pending += 1;
        }
        if pending >= 32 {
            for _ in 0..pending {
                post(tail);
                tail = (tail + 1) % N;
            }
            pending = 0;
            be.write32(rx + 0x18, tail as u32);
        }
    }
    let el = start.elapsed().as_secs_f64();
    sim.stop();
    let c = sim.counters();
    println!(
        "{model:?} {size}-byte frames ({}): {:.2} Mpps delivered into descriptors \
         (offered {}, delivered {}, MPC {}, RNBC {})",
        if stepped {
            "stepped, one thread"
        } else {
            "engine thread + consumer thread"
        },
        got as f64 / el / 1e6,
        c.offered,
        c.delivered,
        be.read32(stats::MPC),
        be.read32(stats::RNBC)
    );
}
