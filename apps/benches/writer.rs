//! The capture's writer stage, measured apart: the real writer thread
//! (`igbpoll::capture::writer::run`, the code `capture -w` runs) fed with
//! batches of 60-byte frames through the same SPSC rings, with no NIC, no
//! simulator and no filter in the way.
//!
//! A feeder thread on CPU 0 plays the receive thread: it fills pool buffers
//! (as the NIC's DMA would, so the writer finds the frames in another core's
//! cache), hands them over in batches of 32 stamped with the time, and reuses
//! what the writer gives back, last in first out and without the pool's free
//! queue, as the capture's receive thread recycles it into its ring. The writer runs on CPU 1;
//! pcap and pcapng files, on tmpfs by default.
//!
//! The figure that matters is the writer's busy time per packet (batches
//! taken from the ring, record headers written, `writev`, vectors returned);
//! its CPU time is also printed, and is higher whenever the feeder, not the
//! writer, sets the pace (the writer then spins on an empty ring, then parks).
//!
//! `cargo bench -p igbpoll --bench writer [DIR]` (default `/dev/shm`; `/dev/null`
//! leaves out the kernel's copy into the file; `IGBPOLL_BENCH_PACKETS` sets
//! the packets per case, default 5,000,000; `IGBPOLL_BENCH_FEEDER_CPU=1` puts
//! the feeder on the writer's CPU, so the frames are in the writer's own cache:
//! what the cross-core transfer of every frame costs).

use std::sync::atomic::{fence, Ordering};
use std::time::Instant;

use igbpoll::capture::live::{self, Live};
use igbpoll::capture::writer::{self, Batch, FileSpec, Output, Sink};
use igbpoll::cli::FileFormat;
use igbpoll::device;
use igbpoll::pcap_writer::Resolution;
use igbpoll::pcapng_writer::Interface;
use igbpoll_driver::mempool::{Mempool, HEADROOM};
use igbpoll_driver::Packet;
use igbpoll_hw_sim::{Sim, SimConfig};
use igbpoll_ring::Ring;

/// Packets per batch, as the receive thread's default `--batch`.
const BATCH: usize = 32;
/// Buffers in the pool: the capture's default (ring of 1024, pool of 4×).
const POOL: u32 = 4096;
/// Batches the hand-over ring holds (the capture's default `--writer-buffer`
/// of 65536 packets rounded to batches is larger; the feeder never gets
/// near it because the pool is the limit).
const SLOTS: usize = 2048;

/// Given as the directory, the records go to `/dev/null`: every step of the
/// writer but the kernel's copy into the file.
const DEV_NULL: &str = "/dev/null";

/// A 60-byte UDP/IPv4 frame whose bytes vary with `n`.
fn frame(n: u64) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[..6].copy_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f[42..50].copy_from_slice(&n.to_be_bytes());
    f
}

struct Outcome {
    written: u64,
    writer_cpu_ns: u64,
    writer_busy_ns: u64,
    feeder_waits: u64,
    elapsed_s: f64,
}

fn run_case(format: FileFormat, dir: &str, packets: u64, feeder_cpu: usize) -> Outcome {
    let sim = Sim::new(SimConfig::igb());
    let pool = Mempool::new(&sim.backend(), POOL).expect("a pool of DMA buffers");
    let ext = match format {
        FileFormat::Pcap => "pcap",
        FileFormat::Pcapng => "pcapng",
    };
    let path = if dir == DEV_NULL {
        DEV_NULL.to_string()
    } else {
        format!("{dir}/igbpoll-writer-bench-{}.{ext}", std::process::id())
    };
    let spec = FileSpec {
        format,
        snaplen: 262_144,
        resolution: Resolution::Nanos,
        interface: Interface {
            name: "bench".into(),
            description: "writer benchmark".into(),
            mac: None,
            speed_bps: 0,
            filter: None,
            hardware: String::new(),
        },
        has_filter: false,
    };
    let file = Output::create(&path).expect("create the output file");
    let out = Output::file(file, path.clone(), &spec).expect("write the file header");
    let sink = Sink::new(out, Some(spec), None);
    let live = Live::default();
    // The feeder and the writer poll: on CPUs 0 and 1 each has one, on the
    // same CPU they share it.
    let spins = live::writer_spins(if feeder_cpu == 1 { 3 } else { 2 });
    let (mut to_writer, from_feeder) = Ring::with_capacity(SLOTS).expect("ring");
    let (to_feeder, mut from_writer) = Ring::<Vec<Packet>>::with_capacity(SLOTS * 2).expect("ring");
    let started = Instant::now();
    let (report, waits) = std::thread::scope(|sc| {
        let w = std::thread::Builder::new()
            .name("igbpoll-writer".into())
            .spawn_scoped(sc, || {
                device::pin_thread(1, "the writer").expect("CPU 1");
                writer::run(sink, from_feeder, to_feeder, &live, spins)
            })
            .expect("start the writer thread");
        device::pin_thread(feeder_cpu, "the feeder").expect("the feeder's CPU");
        let mut sent = 0u64;
        let mut waits = 0u64;
        let mut spare: Vec<Vec<Packet>> = Vec::new();
        // Packets the writer gave back, reused last-in first-out without the
        // pool's free queue, as the capture's receive thread recycles them
        // into its ring (`RxQueue::recycle`); at most a ring's worth (1024).
        let mut recycled: Vec<Packet> = Vec::with_capacity(1024);
        while sent < packets {
            // Take back what the writer is done with.
            while let Ok(mut v) = from_writer.try_pop() {
                for p in v.drain(..) {
                    if recycled.len() < recycled.capacity() {
                        recycled.push(p);
                    }
                }
                spare.push(v);
            }
            let mut b = spare.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
            let n = (packets - sent).min(BATCH as u64);
            for i in 0..n {
                let f = frame(sent + i);
                let p = match recycled.pop() {
                    // The frame lands after the headroom again, as the NIC
                    // writes it into a refilled descriptor's buffer.
                    Some(mut p) => {
                        let used = HEADROOM - p.headroom();
                        let ok = p.pull_front(used).is_ok() && p.set_len(f.len()).is_ok();
                        assert!(ok, "a recycled buffer holds a frame");
                        p.copy_from_slice(&f);
                        p
                    }
                    None => match pool.alloc_from(&f) {
                        Some(p) => p,
                        None => break,
                    },
                };
                b.push(p);
            }
            if b.is_empty() {
                // Every buffer is with the writer: wait for it.
                waits += 1;
                spare.push(b);
                std::hint::spin_loop();
                continue;
            }
            sent += b.len() as u64;
            let batch = Batch {
                ts_ns: device::now_ns(),
                packets: b,
            };
            if let Err(igbpoll_ring::Full(batch)) = to_writer.push(batch) {
                panic!("hand-over ring full with {} packets", batch.packets.len());
            }
            // As the capture's receive thread does: pairs with the writer's
            // fence between raising its "parked" flag and its last look.
            fence(Ordering::SeqCst);
            if live.writer_parked.load(Ordering::Relaxed) {
                w.thread().unpark();
            }
        }
        drop(to_writer);
        w.thread().unpark();
        let r = w.join().expect("the writer thread");
        (r, waits)
    });
    let elapsed_s = started.elapsed().as_secs_f64();
    if dir != DEV_NULL {
        let _ = std::fs::remove_file(&path);
    }
    if let Some(e) = report.error {
        panic!("the writer failed: {e}");
    }
    assert_eq!(
        report.written, packets,
        "every packet handed over is written"
    );
    Outcome {
        written: report.written,
        writer_cpu_ns: report.cpu_ns.expect("the writer's CPU time"),
        writer_busy_ns: report.busy.as_nanos() as u64,
        feeder_waits: waits,
        elapsed_s,
    }
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "/dev/shm".into());
    let packets: u64 = std::env::var("IGBPOLL_BENCH_PACKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let feeder_cpu: usize = std::env::var("IGBPOLL_BENCH_FEEDER_CPU")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    println!(
        "== writer stage: {packets} 60-byte frames to {dir}, feeder on CPU {feeder_cpu}, \
         writer on CPU 1"
    );
    for format in [FileFormat::Pcap, FileFormat::Pcapng] {
        for _ in 0..3 {
            let o = run_case(format, &dir, packets, feeder_cpu);
            let per = |ns: u64| ns as f64 / o.written as f64;
            println!(
                "{:<7} {:6.1} ns busy per packet ({:.2} Mpps), {:6.1} ns CPU with idle polls; \
                 {:.2} Mpps wall, feeder out of buffers {} times",
                format!("{format:?}").to_lowercase(),
                per(o.writer_busy_ns),
                1e3 / per(o.writer_busy_ns),
                per(o.writer_cpu_ns),
                o.written as f64 / o.elapsed_s / 1e6,
                o.feeder_waits,
            );
        }
    }
}
