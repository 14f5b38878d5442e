//! What the receive thread, the writer thread and the `--stats` printer share:
//! the writer's progress, a snapshot of the NIC's counters, and the
//! hand-shakes between them.
//!
//! The receive thread owns the NIC, so it alone reads the hardware counters:
//! once a second, and when the writer asks for fresh ones (to close a rotated
//! pcapng file with its statistics block). It copies them into a
//! [`Snapshot`] under a mutex held only for that copy; the poll loop never
//! waits on anyone.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use igbpoll_ring::CachePadded;

use super::Accounting;

/// The NIC's and the pipeline's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// When it was taken (ns since the Unix epoch).
    pub at_ns: u64,
    /// Start of the capture (ns since the Unix epoch).
    pub start_ns: u64,
    /// Drop accounting (its `captured` counts packets handed to the writer).
    pub acc: Accounting,
    /// Bytes the driver handed on (frames without FCS).
    pub rx_bytes: u64,
    /// Packets the driver handed on.
    pub rx_packets: u64,
    /// No-buffer events (RNBC).
    pub rnbc: u64,
    /// Runts (RUC).
    pub ruc: u64,
    /// Descriptors holding a buffer for the NIC (ready descriptors).
    pub ring_ready: usize,
    /// Of those, the ones the NIC has filled and the receive thread has not
    /// taken yet: the ring's backlog (near `ring_size`, the NIC is about to
    /// run out of buffers).
    pub ring_filled: usize,
    /// Descriptors in the ring.
    pub ring_size: usize,
    /// Packets written to files so far.
    pub written: u64,
    /// True for the last snapshot, taken when the capture stopped.
    pub last: bool,
    /// The writer's request this snapshot answers.
    pub(super) served: u64,
}

/// State shared by the capture's threads.
#[derive(Debug, Default)]
pub struct Live {
    /// Packets the writer dropped itself because the return ring was full
    /// (the receive thread counts them as given back).
    dropped_by_writer: CachePadded<AtomicU64>,
    /// Packets written to the output.
    written: AtomicU64,
    /// The writer is about to sleep and wants an unpark with the next batch.
    pub writer_parked: AtomicBool,
    /// The writer stopped (write error, or the file count of `-G … -W`):
    /// the receive thread stops too.
    pub writer_stopped: AtomicBool,
    /// Bumped by the writer to ask for a fresh snapshot.
    request: AtomicU64,
    snapshot: Mutex<Snapshot>,
    /// With `--queues`: each queue's counters, published just before the
    /// snapshot they belong to.
    queues: Mutex<Vec<Snapshot>>,
    changed: Condvar,
}

/// Locks `m`, taking the data even if a thread panicked while holding it
/// (a snapshot is plain numbers: never half-valid in a way that matters).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// The writer wrote `n` more packets.
    pub fn add_written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// The writer dropped `n` packets itself instead of giving them back.
    pub fn add_dropped_by_writer(&self, n: u64) {
        self.dropped_by_writer.fetch_add(n, Ordering::Release);
    }

    /// Packets the writer dropped itself so far.
    pub fn dropped_by_writer(&self) -> u64 {
        self.dropped_by_writer.load(Ordering::Acquire)
    }

    /// Packets written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The request the receive thread has to answer, if the writer made one
    /// since `served`.
    #[inline]
    pub fn pending_request(&self, served: u64) -> Option<u64> {
        let r = self.request.load(Ordering::Relaxed);
        (r != served).then_some(r)
    }

    /// Publishes `s` (answering request `served`) and wakes whoever waits.
    pub fn publish(&self, mut s: Snapshot, served: u64) {
        s.served = served;
        s.written = self.written();
        *lock(&self.snapshot) = s;
        self.changed.notify_all();
    }

    /// Publishes each queue's counters; call before [`Live::publish`] of the
    /// snapshot they go with, so whoever sees that snapshot finds them.
    pub fn publish_queues(&self, per_queue: &[Snapshot]) {
        let mut q = lock(&self.queues);
        q.clear();
        q.extend_from_slice(per_queue);
    }

    /// Queue `q`'s latest counters, if any were published.
    pub fn queue(&self, q: usize) -> Option<Snapshot> {
        lock(&self.queues).get(q).copied()
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Snapshot {
        *lock(&self.snapshot)
    }

    /// Asks the receive thread for fresh counters and waits for them at most
    /// `timeout`; gives the latest snapshot either way.
    pub fn fresh(&self, timeout: Duration) -> Snapshot {
        let want = self.request.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = lock(&self.snapshot);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |s| s.served < want && !s.last)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }

    /// Waits at most `timeout` for a snapshot newer than `at_ns`.
    pub fn wait_newer(&self, at_ns: u64, timeout: Duration) -> Snapshot {
        let guard = lock(&self.snapshot);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |s| s.at_ns <= at_ns && !s.last)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// Empty polls a writer makes before it parks, when it has a CPU of its own.
const WRITER_SPINS: u32 = 256;

/// How many times a writer polls its empty input before it parks, given the
/// capture's busy-polling threads (`polling`: receive threads, the writer, the
/// simulator's DMA thread). A few hundred when each of them can have a CPU this
/// process may run on, so the next batch is taken without a wake-up; none when
/// they outnumber those CPUs (the simulator, the receive thread and the writer
/// on 2 cores): a spin there only keeps the CPU from the thread that would fill
/// the input.
pub fn writer_spins(polling: usize) -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if polling <= cpus {
        WRITER_SPINS
    } else {
        0
    }
}

/// When a receive thread wakes a parked writer. Not with every batch: each
/// wake-up is a system call, and on a CPU the two threads share it is also two
/// context switches, which cost more than writing the batch. The writer is
/// woken once `at` packets wait for it, once the oldest of them has waited
/// `after_ns`, or when the receive thread finds nothing to receive.
///
/// A writer that is not parked takes every batch pushed before it looks at
/// its ring again, so nothing waits for a wake-up then.
#[derive(Debug, Clone, Copy)]
pub struct WriterWake {
    /// Packets waiting that make a wake-up due.
    at: u64,
    /// Time the oldest waiting packet may wait.
    after_ns: u64,
    /// Packets handed over since the writer parked and was not woken.
    waiting: u64,
    /// When the first of them was.
    since_ns: u64,
}

/// Longest a packet waits for a parked writer to be woken (without `-U`).
const WRITER_WAKE_AFTER_NS: u64 = 100_000;

impl WriterWake {
    /// For a receive thread that may have `budget` packets in flight to the
    /// writer and hands them over `batch` at a time. The writer is woken once
    /// a quarter of the budget waits (so it wakes long before the receive
    /// thread has to drop for it) or a tenth of a millisecond has passed
    /// (150 frames at the 1 GbE line rate); with `every_batch` (`-U`: the
    /// output follows the wire) at every batch.
    pub fn new(budget: u64, batch: u64, every_batch: bool) -> Self {
        WriterWake {
            at: if every_batch {
                1
            } else {
                (budget / 4).max(batch).max(1)
            },
            after_ns: if every_batch { 0 } else { WRITER_WAKE_AFTER_NS },
            waiting: 0,
            since_ns: 0,
        }
    }

    /// After `n` packets were pushed at `now_ns` (and a SeqCst fence):
    /// whether to unpark the writer, given its `parked` flag.
    pub fn handed(&mut self, n: u64, now_ns: u64, parked: &AtomicBool) -> bool {
        if !parked.load(Ordering::Relaxed) {
            self.waiting = 0;
            return false;
        }
        if self.waiting == 0 {
            self.since_ns = now_ns;
        }
        self.waiting += n;
        self.due(now_ns, false, parked)
    }

    /// Between pushes (`idle`: the last poll found nothing): whether to
    /// unpark the writer.
    pub fn due(&mut self, now_ns: u64, idle: bool, parked: &AtomicBool) -> bool {
        if self.waiting == 0 {
            return false;
        }
        if !parked.load(Ordering::Relaxed) {
            self.waiting = 0;
            return false;
        }
        if idle || self.waiting >= self.at || now_ns.saturating_sub(self.since_ns) >= self.after_ns
        {
            self.waiting = 0;
            return true;
        }
        false
    }
}

/// Nanoseconds of CPU time the calling thread has used
/// (`CLOCK_THREAD_CPUTIME_ID`: no file to read, so it keeps working after
/// `-Z` has dropped the privileges `/proc` may ask for).
pub fn thread_cpu_ns() -> Option<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    let secs = u64::try_from(t.tv_sec()).ok()?;
    let nanos = u64::try_from(t.tv_nsec()).ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

/// The `--stats` printer: one line per snapshot the receive thread
/// publishes (once a second), until the last one.
pub fn print_stats(live: &Live, err: &mut dyn Write) {
    let mut prev = live.latest();
    loop {
        let s = live.wait_newer(prev.at_ns, Duration::from_secs(3));
        if s.at_ns <= prev.at_ns {
            if s.last {
                return;
            }
            continue;
        }
        let _ = writeln!(err, "{}", stats_line(&prev, &s));
        if s.last {
            return;
        }
        prev = s;
    }
}

/// One `--stats` line: rates since `prev`, totals at `s`.
pub fn stats_line(prev: &Snapshot, s: &Snapshot) -> String {
    // Before the first snapshot, rates run from the start of the capture.
    let start = Snapshot {
        at_ns: s.start_ns,
        ..Snapshot::default()
    };
    let prev = if prev.at_ns == 0 { &start } else { prev };
    let dt = (s.at_ns.saturating_sub(prev.at_ns)) as f64 / 1e9;
    let (pps, mbps) = if dt > 0.0 {
        (
            s.rx_packets.saturating_sub(prev.rx_packets) as f64 / dt,
            s.rx_bytes.saturating_sub(prev.rx_bytes) as f64 * 8.0 / dt / 1e6,
        )
    } else {
        (0.0, 0.0)
    };
    let a = &s.acc;
    format!(
        "{:8.1} s: {:.0} pps, {:.1} Mbit/s, {} written; drops: NIC MPC {}, RQDPC {}, \
         ROC {}, writer behind {}, driver {}; filtered out {}; warnings: RNBC {}, RUC {}; \
         ring {}/{} filled, {} posted",
        s.at_ns.saturating_sub(s.start_ns) as f64 / 1e9,
        pps,
        mbps,
        s.written,
        a.nic_missed,
        a.nic_queue_drops,
        a.nic_oversize,
        a.writer_behind,
        a.driver_refused,
        a.filtered,
        s.rnbc,
        s.ruc,
        s.ring_filled,
        s.ring_size,
        s.ring_ready
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parked_writer_is_woken_by_count_by_age_or_when_the_receive_thread_idles() {
        let parked = AtomicBool::new(true);
        // Budget 4096: a wake-up once 1024 packets wait.
        let mut w = WriterWake::new(4096, 32, false);
        for i in 0..31u64 {
            assert!(!w.handed(32, 1_000 + i, &parked), "batch {i}");
        }
        assert!(w.handed(32, 2_000, &parked), "the 1024th packet wakes it");
        assert!(
            !w.due(2_001, true, &parked),
            "nothing waits after a wake-up"
        );
        // Age: the first batch after a wake-up starts the clock.
        assert!(!w.handed(32, 10_000, &parked));
        assert!(!w.due(10_000 + WRITER_WAKE_AFTER_NS - 1, false, &parked));
        assert!(w.due(10_000 + WRITER_WAKE_AFTER_NS, false, &parked));
        // Idle: the receive thread has time, so the writer gets it.
        assert!(!w.handed(32, 20_000, &parked));
        assert!(w.due(20_001, true, &parked));
    }

    #[test]
    fn a_writer_that_is_not_parked_is_never_woken() {
        let parked = AtomicBool::new(false);
        let mut w = WriterWake::new(4096, 32, true);
        assert!(!w.handed(32, 0, &parked));
        assert!(!w.due(u64::MAX, true, &parked));
        // It parked with batches waiting: a later look sees they were taken.
        parked.store(true, Ordering::Relaxed);
        assert!(w.handed(1, 5, &parked), "-U wakes it with every batch");
        let mut w = WriterWake::new(4096, 32, false);
        assert!(!w.handed(32, 0, &parked));
        parked.store(false, Ordering::Relaxed);
        assert!(
            !w.due(u64::MAX, true, &parked),
            "it woke by itself and took them"
        );
        parked.store(true, Ordering::Relaxed);
        assert!(
            !w.due(u64::MAX, true, &parked),
            "and nothing waits any more"
        );
    }

    #[test]
    fn a_writer_spins_only_when_the_polling_threads_have_a_cpu_each() {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(writer_spins(cpus), WRITER_SPINS);
        assert_eq!(writer_spins(cpus + 1), 0);
    }

    #[test]
    fn a_stats_line_has_rates_and_causes() {
        let a = Snapshot {
            at_ns: 1_000_000_000,
            start_ns: 0,
            ..Snapshot::default()
        };
        let mut b = a;
        b.at_ns = 2_000_000_000;
        b.rx_packets = 1000;
        b.rx_bytes = 125_000;
        b.acc.writer_behind = 7;
        b.ring_ready = 1000;
        b.ring_filled = 37;
        b.ring_size = 1024;
        let l = stats_line(&a, &b);
        assert!(l.contains("1000 pps"), "{l}");
        assert!(l.contains("1.0 Mbit/s"), "{l}");
        assert!(l.contains("writer behind 7"), "{l}");
        assert!(l.contains("ring 37/1024 filled, 1000 posted"), "{l}");
    }

    #[test]
    fn fresh_returns_after_the_answer_or_the_timeout() {
        let live = Live::default();
        let t = std::time::Instant::now();
        let s = live.fresh(Duration::from_millis(20));
        assert_eq!(s.at_ns, 0);
        assert!(t.elapsed() >= Duration::from_millis(20));
        std::thread::scope(|sc| {
            sc.spawn(|| {
                let mut served = 0;
                while served < 2 {
                    if let Some(r) = live.pending_request(served) {
                        let s = Snapshot {
                            at_ns: 5,
                            ..Snapshot::default()
                        };
                        live.publish(s, r);
                        served = r;
                    }
                    std::thread::yield_now();
                }
            });
            // The first request was answered by nobody; this one is.
            let s = live.fresh(Duration::from_secs(10));
            assert_eq!(s.at_ns, 5);
        });
    }

    #[test]
    fn thread_cpu_time_is_read() {
        // The kernel updates it at scheduler ticks: spin until it moves.
        let a = thread_cpu_ns().expect("proc");
        let t = std::time::Instant::now();
        while thread_cpu_ns().unwrap() == a {
            assert!(t.elapsed() < Duration::from_secs(5), "CPU time never moved");
            std::hint::spin_loop();
        }
    }
}
