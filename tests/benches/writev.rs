//! The kernel's side of `capture -w` to tmpfs, measured apart: `writev` of
//! 76-byte pcap records (16-byte header + 60-byte frame) from pre-built
//! buffers, 1024 iovecs a call, as the capture writer issues them, but with
//! no packet, ring or pool in the way. It gives the floor under the writer
//! thread's CPU per packet.
//!
//! `cargo bench -p igbpoll-tests --bench writev [DIR]` (default `/dev/shm`).
//!
//! Cases: records in 2176-byte strided buffers like the mempool's (a hot set
//! of 1024, or cycling through 5440 as the capture's pool does, the header
//! rewritten before each call as the writer does); the same bytes as one
//! contiguous iovec (what a user-space copy into a staging buffer would hand
//! the kernel); and both again rewriting pages the file already has, which
//! leaves out tmpfs's page allocation.

use std::fs::File;
use std::io::{IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

const STRIDE: usize = 2176;
const HEADER_AT: usize = 112;
const RECORD: usize = 76;
const PER_CALL: usize = 1024;
/// Records per case: 5,000,000 (about 380 MB, as `capture -c 5000000`).
const CALLS: usize = 5_000_000 / PER_CALL;

/// CPU time of this thread in nanoseconds (the scheduler's account).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat")
}

fn report(name: &str, ns: u64) {
    let recs = (CALLS * PER_CALL) as f64;
    println!(
        "{name:<58} {:6.1} ns CPU per record ({:.2} Mrecords/s)",
        ns as f64 / recs,
        recs / ns as f64 * 1e3
    );
}

/// writev of `PER_CALL` strided records per call, cycling over `buffers`.
fn strided(dir: &Path, buffers: usize, overwrite: bool) -> u64 {
    let mut pool = vec![0x5au8; buffers * STRIDE];
    let path = dir.join(format!("igbpoll-writev-{}.bin", std::process::id()));
    let mut f = File::create(&path).expect("create");
    let mut next = 0usize;
    let mut run = |f: &mut File, pool: &mut [u8], calls: usize, at0: bool| {
        for c in 0..calls {
            let first = next;
            for i in 0..PER_CALL {
                let b = (first + i) % buffers;
                let h = b * STRIDE + HEADER_AT;
                pool[h..h + 8].copy_from_slice(&(c as u64).to_ne_bytes());
                pool[h + 8..h + 16].copy_from_slice(&[60, 0, 0, 0, 60, 0, 0, 0]);
            }
            next = (first + PER_CALL) % buffers;
            let slices: Vec<IoSlice<'_>> = (0..PER_CALL)
                .map(|i| {
                    let h = ((first + i) % buffers) * STRIDE + HEADER_AT;
                    IoSlice::new(&pool[h..h + RECORD])
                })
                .collect();
            if at0 {
                // Rewind: the next call rewrites pages the file has.
                use std::io::Seek;
                f.seek(std::io::SeekFrom::Start(0)).expect("seek");
            }
            let n = f.write_vectored(&slices).expect("writev");
            assert_eq!(n, PER_CALL * RECORD, "tmpfs writes whole");
        }
    };
    if overwrite {
        run(&mut f, &mut pool, 1, false);
    }
    let t = cpu_ns();
    run(&mut f, &mut pool, CALLS, overwrite);
    let ns = cpu_ns() - t;
    drop(f);
    let _ = std::fs::remove_file(&path);
    ns
}

/// The same bytes as one contiguous slice per call.
fn contiguous(dir: &Path, overwrite: bool) -> u64 {
    let buf = vec![0x5au8; PER_CALL * RECORD];
    let path = dir.join(format!("igbpoll-writev-{}.bin", std::process::id()));
    let mut f = File::create(&path).expect("create");
    if overwrite {
        f.write_all(&buf).expect("write");
    }
    let t = cpu_ns();
    for _ in 0..CALLS {
        if overwrite {
            f.write_all_at(&buf, 0).expect("pwrite");
        } else {
            f.write_all(&buf).expect("write");
        }
    }
    let ns = cpu_ns() - t;
    drop(f);
    let _ = std::fs::remove_file(&path);
    ns
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "/dev/shm".into());
    let dir = Path::new(&dir);
    println!(
        "== writev of {PER_CALL} records of {RECORD} bytes per call into {}",
        dir.display()
    );
    report(
        "1024 strided buffers (hot), appending",
        strided(dir, 1024, false),
    );
    report(
        "5440 strided buffers (the capture's pool), appending",
        strided(dir, 5440, false),
    );
    report(
        "one contiguous slice per call, appending",
        contiguous(dir, false),
    );
    report(
        "1024 strided buffers, rewriting the file's pages",
        strided(dir, 1024, true),
    );
    report(
        "one contiguous slice, rewriting the file's pages",
        contiguous(dir, true),
    );
}
