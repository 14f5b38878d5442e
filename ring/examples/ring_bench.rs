//! Throughput of the SPSC ring across two threads.
//!
//! `cargo run --release -p igbpoll-ring --example ring_bench [ITEMS]`
//!
//! Prints Mitems/s for one-at-a-time push/pop and for batches of 32.

use std::hint::spin_loop;
use std::thread;
use std::time::{Duration, Instant};

use igbpoll_ring::{PopError, Ring};

const CAPACITY: usize = 1024;
const BATCH: usize = 32;

fn single(items: u64) -> Duration {
    let (mut tx, mut rx) = Ring::with_capacity(CAPACITY).expect("capacity");
    let start = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..items {
            let mut item = i;
            while let Err(full) = tx.push(item) {
                item = full.into_inner();
                spin_loop();
            }
        }
    });
    let mut expected = 0;
    loop {
        match rx.try_pop() {
            Ok(v) => {
                assert_eq!(v, expected);
                expected += 1;
            }
            Err(PopError::Empty) => spin_loop(),
            Err(PopError::Closed) => break,
        }
    }
    producer.join().expect("producer");
    assert_eq!(expected, items);
    start.elapsed()
}

fn batched(items: u64) -> Duration {
    let (mut tx, mut rx) = Ring::with_capacity(CAPACITY).expect("capacity");
    let start = Instant::now();
    let producer = thread::spawn(move || {
        let mut pending = Vec::with_capacity(BATCH);
        let mut next = 0;
        while next < items || !pending.is_empty() {
            while pending.len() < BATCH && next < items {
                pending.push(next);
                next += 1;
            }
            if tx.push_batch(&mut pending) == 0 {
                spin_loop();
            }
        }
    });
    let mut out = Vec::with_capacity(BATCH);
    let mut expected = 0;
    loop {
        out.clear();
        if rx.pop_batch(&mut out, BATCH) == 0 {
            if rx.is_closed() {
                break;
            }
            spin_loop();
            continue;
        }
        for &v in &out {
            assert_eq!(v, expected);
            expected += 1;
        }
    }
    producer.join().expect("producer");
    assert_eq!(expected, items);
    start.elapsed()
}

fn report(name: &str, items: u64, elapsed: Duration) {
    let rate = items as f64 / elapsed.as_secs_f64() / 1e6;
    println!("{name:<16} {items:>11} items in {elapsed:>10.3?}: {rate:8.1} Mitems/s");
}

fn main() {
    let items = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("ITEMS must be an integer"))
        .unwrap_or(20_000_000u64);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!("ring capacity {CAPACITY}, u64 items, {cores} cores available");
    report("single push/pop", items, single(items));
    report(&format!("batch {BATCH}"), items, batched(items));
}
