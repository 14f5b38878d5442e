//! `capture --queues N`: RSS over several receive queues.
//!
//! The NIC's receive queues are moved out of it ([`Nic::take_rx_queues`]) and
//! dealt round-robin over the receive threads, one per `--cores` CPU (pinned
//! there) or, without `--cores`, one per queue up to the CPUs available. Each
//! thread polls its queues in turn, at most `--batch` packets from each per
//! round, and hands every non-empty batch, tagged with its queue and the
//! timestamp of the round, to the writer thread through an SPSC ring of its
//! own. The calling thread keeps the NIC's control path: counters, `--stats`,
//! the end of a replay, `-c`, `--duration`, signals.
//!
//! **Merged output** (the default): the writer merges the threads' streams by
//! timestamp (a k-way merge). A thread's batches carry nondecreasing
//! timestamps, and before each round it publishes the round's timestamp as
//! its *watermark*: nothing it sends later is older. The writer writes the
//! oldest batch it holds once no thread with nothing pending has a lower
//! watermark. Granularity: a timestamp is taken per poll round (one per
//! thread per round, shared by the batches of all its queues in that round),
//! so frames that reached different queues within one round (microseconds;
//! a batch time) may be written in either order; frames of one queue, and so
//! of one flow, always keep the NIC's order.
//!
//! Written packets go back to the thread that received them through a return
//! ring of its own, and it drops them into its queues' pools on its own core,
//! as the one-queue capture does.
//!
//! **`--per-queue`**: one file per queue (NAME.qN.EXT), each with its own
//! interface description and, in pcapng, statistics block of that queue.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::Thread;
use std::time::{Duration, Instant};

use igbpoll_driver::queue::RxQueue;
use igbpoll_driver::{Backend, Packet, Stats};
use igbpoll_ring::{CachePadded, Consumer, Full, PopError, Producer, Ring};

use super::live::{stats_line, thread_cpu_ns, writer_spins, Live, Snapshot, WriterWake};
use super::rotate::Rotator;
use super::writer::{Output, Sink};
use super::{print_summary, Accounting, RxCounts, RxReport, STATS_INTERVAL_NS};
use crate::cli::CaptureArgs;
use crate::device::{self, AnyDevice};
use crate::error::CliError;
use crate::filter::Filter;

/// Longest park of the writer.
const IDLE_WAKE: Duration = Duration::from_millis(10);
/// Packets gathered into one write.
const WRITE_MAX: usize = 1024;
/// How often the control thread looks at the capture.
const CONTROL_TICK: Duration = Duration::from_millis(1);

/// Packets of one queue received in one poll round.
struct QBatch {
    /// The receive thread that sent it.
    thread: usize,
    /// The queue the packets came from.
    queue: usize,
    /// The round's timestamp (ns since the Unix epoch).
    ts_ns: u64,
    /// The packets, in the queue's order.
    packets: Vec<Packet>,
}

/// A queue's counters, kept by its receive thread.
#[derive(Default)]
struct QueueShared {
    handed: AtomicU64,
    filtered: AtomicU64,
    behind: AtomicU64,
    ready: AtomicU64,
    /// The ring's backlog, read from the head register now and then.
    filled: AtomicU64,
    size: AtomicU64,
}

/// A receive thread's hand-shakes with the writer.
#[derive(Default)]
struct ThreadShared {
    /// No batch the thread sends from now on is older than this.
    watermark: AtomicU64,
    /// Packets of this thread the writer is done with.
    released: AtomicU64,
    /// The thread has stopped.
    done: AtomicBool,
}

struct Shared {
    queues: Vec<CachePadded<QueueShared>>,
    threads: Vec<CachePadded<ThreadShared>>,
    /// The control thread tells the receive threads to stop.
    quit: AtomicBool,
    /// The finite simulated wire is drained: a thread whose queues hold
    /// nothing after seeing this has seen every frame.
    drained: AtomicBool,
    /// Packets accepted so far, for `-c`.
    claimed: CachePadded<AtomicU64>,
    /// Per-queue counters at the end, for the per-queue statistics blocks.
    per_queue_last: Mutex<Vec<Snapshot>>,
}

/// `NAME.qN.EXT` (or `NAME.qN` without an extension).
pub fn queue_path(path: &str, q: usize) -> String {
    let p = std::path::Path::new(path);
    match (p.file_stem(), p.extension()) {
        (Some(stem), Some(ext)) => p
            .with_file_name(format!(
                "{}.q{q}.{}",
                stem.to_string_lossy(),
                ext.to_string_lossy()
            ))
            .display()
            .to_string(),
        _ => format!("{path}.q{q}"),
    }
}

/// The output files of `--per-queue`, created (before the NIC is opened):
/// `NAME.qN.EXT`, or each queue's rotator's first name (opened at `now_ns`).
pub fn create_per_queue(
    path: &str,
    rotators: &mut [Option<Rotator>],
    now_ns: u64,
) -> Result<Vec<(std::fs::File, String)>, CliError> {
    rotators
        .iter_mut()
        .enumerate()
        .map(|(q, r)| {
            let name = match r {
                Some(r) => r
                    .first(now_ns)
                    .map_err(CliError::Usage)?
                    .display()
                    .to_string(),
                None => queue_path(path, q),
            };
            Output::create(&name).map(|f| (f, name))
        })
        .collect()
}

/// Pins the calling receive thread to CPU `core`.
pub fn pin(core: usize) -> Result<(), CliError> {
    crate::device::pin_thread(core, "a receive thread")
}

/// Checks that every CPU of `--cores` is one this process may run on.
pub fn check_cores(cores: &[usize]) -> Result<(), CliError> {
    let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map_err(|e| CliError::Usage(format!("cannot read the CPU affinity: {e}")))?;
    let usable: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|&c| allowed.is_set(c).unwrap_or(false))
        .collect();
    for &c in cores {
        if !usable.contains(&c) {
            return Err(CliError::Usage(format!(
                "--cores: CPU {c} is not available (this process may run on CPUs {})",
                usable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
    }
    Ok(())
}

/// The outputs of a multi-queue capture.
pub enum Outputs {
    /// One output (a file, or printed lines), merged in timestamp order.
    Merged(Box<Sink>),
    /// One file per queue.
    PerQueue(Vec<Sink>),
}

/// Runs the capture on `dev`, opened with several queues.
#[allow(clippy::too_many_arguments)]
pub fn capture<B: Backend>(
    dev: &mut AnyDevice<B>,
    args: &CaptureArgs,
    filter: Option<&Filter>,
    outputs: Outputs,
    stop: &AtomicBool,
) -> Result<(), CliError>
where
    RxQueue<B>: Send,
{
    let queues = dev.nic.take_rx_queues();
    let nq = queues.len();
    let cores: Option<Vec<usize>> = args.cores.as_ref().map(|c| c.0.clone());
    let nthreads = match &cores {
        Some(c) => c.len().min(nq).max(1),
        None => std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(nq),
    };
    let mut per_thread: Vec<Vec<RxQueue<B>>> = (0..nthreads).map(|_| Vec::new()).collect();
    for (i, q) in queues.into_iter().enumerate() {
        per_thread[i % nthreads].push(q);
    }
    eprintln!(
        "igbpoll: {nq} queues (RSS) on {nthreads} receive thread{}{}",
        if nthreads == 1 { "" } else { "s" },
        match &cores {
            Some(c) => format!(
                ", pinned to CPU{} {}",
                if nthreads == 1 { "" } else { "s" },
                c[..nthreads]
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => String::new(),
        }
    );
    let sh = Shared {
        queues: (0..nq).map(|_| CachePadded::default()).collect(),
        threads: (0..nthreads).map(|_| CachePadded::default()).collect(),
        quit: AtomicBool::new(false),
        drained: AtomicBool::new(false),
        claimed: CachePadded::default(),
        per_queue_last: Mutex::new(Vec::new()),
    };
    let live = Live::default();
    let budget = (u64::from(args.writer_buffer) / nthreads as u64).max(u64::from(args.batch));
    let slots = (args.writer_buffer as usize).next_power_of_two();
    let ring_err = |e: igbpoll_ring::CapacityError| CliError::Usage(e.to_string());
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    // Written packets go back to their receive thread, which drops them into
    // its queues' pools on its own core (as in the one-queue capture).
    let mut returns = Vec::new();
    let mut backs = Vec::new();
    for _ in 0..nthreads {
        let (p, c) = Ring::with_capacity(slots).map_err(ring_err)?;
        producers.push(p);
        consumers.push(c);
        let (p, c) = Ring::with_capacity(slots * 2).map_err(ring_err)?;
        returns.push(p);
        backs.push(c);
    }
    let flow_controlled = dev.flow_controlled;
    let expression = filter.map(|f| f.expression().to_string());
    let started = Instant::now();
    let start_ns = device::now_ns();
    // The receive threads, the writer, and the simulator's DMA thread poll.
    let spins = writer_spins(nthreads + 1 + usize::from(dev.sim.is_some()));

    let result = std::thread::scope(|sc| {
        let sh = &sh;
        let live = &live;
        let writer = std::thread::Builder::new()
            .name("igbpoll-writer".into())
            .spawn_scoped(sc, move || {
                write_all(outputs, consumers, returns, sh, live, spins)
            })
            .map_err(|e| CliError::Usage(format!("cannot start the writer thread: {e}")))?;
        let wt = writer.thread().clone();
        let mut rx = Vec::new();
        let ends = producers.into_iter().zip(backs);
        for (t, (mine, (tx, back))) in per_thread.into_iter().zip(ends).enumerate() {
            let core = cores.as_ref().map(|c| c[t]);
            let wt = wt.clone();
            let expression = expression.clone();
            let h = std::thread::Builder::new()
                .name(format!("igbpoll-rx{t}"))
                .spawn_scoped(sc, move || {
                    let f = match expression {
                        Some(e) => {
                            Some(Filter::compile(&e).map_err(|e| CliError::Usage(e.to_string()))?)
                        }
                        None => None,
                    };
                    if let Some(c) = core {
                        pin(c)?;
                    }
                    let cpu0 = thread_cpu_ns();
                    let q = receive(
                        t,
                        mine,
                        args,
                        f.as_ref(),
                        sh,
                        live,
                        tx,
                        back,
                        wt,
                        flow_controlled,
                        budget,
                    );
                    let cpu = cpu0.and_then(|a| thread_cpu_ns().map(|b| b.saturating_sub(a)));
                    Ok::<_, CliError>((q, cpu))
                })
                .map_err(|e| CliError::Usage(format!("cannot start a receive thread: {e}")))?;
            rx.push(h);
        }

        // The control path.
        let limit = args.count.unwrap_or(u64::MAX);
        let deadline = args
            .duration
            .map(|s| started + Duration::from_secs_f64(s.min(1e9)));
        let mut served = 0u64;
        let mut next_stats = start_ns + STATS_INTERVAL_NS;
        let mut prev = Snapshot::default();
        loop {
            if stop.load(Ordering::Relaxed)
                || live.writer_stopped.load(Ordering::Relaxed)
                || sh.claimed.load(Ordering::Relaxed) >= limit
                || deadline.is_some_and(|d| Instant::now() >= d)
                || sh.threads.iter().all(|t| t.done.load(Ordering::Acquire))
            {
                break;
            }
            if !sh.drained.load(Ordering::Relaxed) && dev.wire_drained() {
                sh.drained.store(true, Ordering::Release);
            }
            let now = device::now_ns();
            let req = live.pending_request(served);
            if now >= next_stats || req.is_some() {
                served = req.unwrap_or(served);
                let now_stats = dev.nic.stats();
                let (mut s, per_q) = snapshot(dev, &now_stats, sh, start_ns, now, false);
                s.written = live.written();
                live.publish_queues(&per_q);
                live.publish(s, served);
                if now >= next_stats {
                    next_stats = now + STATS_INTERVAL_NS;
                    if args.stats {
                        let _ = writeln!(
                            io::stderr(),
                            "{}; {}",
                            stats_line(&prev, &s),
                            queue_line(&per_q)
                        );
                    }
                    prev = s;
                }
            }
            std::thread::sleep(CONTROL_TICK);
        }
        sh.quit.store(true, Ordering::Release);
        wt.unpark();
        let mut held = Vec::new();
        let mut cpu_total: Option<u64> = Some(0);
        let mut first_err = None;
        for h in rx {
            match h.join() {
                Ok(Ok((q, cpu))) => {
                    held.push(q);
                    cpu_total = cpu_total.zip(cpu).map(|(a, b)| a + b);
                }
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(CliError::Usage("a receive thread panicked".into()));
                }
            }
        }
        let elapsed = started.elapsed();
        let stats = dev.nic.stats();
        let (mut last, per_q) = snapshot(dev, &stats, sh, start_ns, device::now_ns(), true);
        last.written = live.written();
        *sh.per_queue_last.lock().unwrap_or_else(|e| e.into_inner()) = per_q.clone();
        live.publish_queues(&per_q);
        live.publish(last, served);
        wt.unpark();
        let w = writer
            .join()
            .unwrap_or_else(|_| super::writer::WriterReport {
                error: Some(CliError::Usage("the writer thread panicked".into())),
                ..Default::default()
            });
        // The queues go after the writer let go of their packets.
        drop(held);
        if args.stats && !per_q.is_empty() {
            let _ = writeln!(
                io::stderr(),
                "{}; {}",
                stats_line(&prev, &last),
                queue_line(&per_q)
            );
        }
        let counts = totals(sh);
        let report = RxReport {
            counts,
            stats: stats.clone(),
            last,
            elapsed,
            busy: None,
            cpu_ns: cpu_total,
        };
        let acc = Accounting::new(&counts, w.written, &stats);
        print_summary(&acc, &report, &w, args.writer_buffer);
        print_queues(&per_q, &stats);
        if let Some(e) = first_err {
            return Err(e);
        }
        match w.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    result
}

fn totals(sh: &Shared) -> RxCounts {
    let mut c = RxCounts::default();
    for q in &sh.queues {
        c.handed += q.handed.load(Ordering::Relaxed);
        c.filtered += q.filtered.load(Ordering::Relaxed);
        c.writer_behind += q.behind.load(Ordering::Relaxed);
    }
    c
}

/// The NIC's counters now, in total and per queue (the per-queue snapshots
/// count that queue alone: its packets, its RQDPC, its ring).
fn snapshot<B: Backend>(
    dev: &mut AnyDevice<B>,
    stats: &Stats,
    sh: &Shared,
    start_ns: u64,
    at_ns: u64,
    last: bool,
) -> (Snapshot, Vec<Snapshot>) {
    let mut per_q = Vec::with_capacity(sh.queues.len());
    for (i, (q, s)) in sh.queues.iter().zip(dev.nic.rx_queue_stats()).enumerate() {
        let refused = s.bad_length.get() + s.no_eop.get() + s.frame_errors.get();
        let acc = Accounting {
            captured: 0,
            handed: q.handed.load(Ordering::Relaxed),
            filtered: q.filtered.load(Ordering::Relaxed),
            writer_behind: q.behind.load(Ordering::Relaxed),
            nic_delivered: s.packets.get() + refused,
            nic_missed: 0,
            nic_oversize: 0,
            nic_queue_drops: stats.hw.rx_queue_drops.get(i).copied().unwrap_or(0),
            driver_refused: refused,
        };
        per_q.push(Snapshot {
            at_ns,
            start_ns,
            acc,
            rx_bytes: s.bytes.get(),
            rx_packets: s.packets.get(),
            ring_ready: q.ready.load(Ordering::Relaxed) as usize,
            ring_filled: q.filled.load(Ordering::Relaxed) as usize,
            ring_size: q.size.load(Ordering::Relaxed) as usize,
            last,
            ..Snapshot::default()
        });
    }
    let s = Snapshot {
        at_ns,
        start_ns,
        acc: Accounting::new(&totals(sh), 0, stats),
        rx_bytes: stats.driver.rx_bytes,
        rx_packets: stats.driver.rx_packets,
        rnbc: stats.hw.rx_no_buffer_count,
        ruc: stats.hw.rx_short_length_errors,
        ring_ready: per_q.iter().map(|s| s.ring_ready).sum(),
        ring_filled: per_q.iter().map(|s| s.ring_filled).sum(),
        ring_size: per_q.iter().map(|s| s.ring_size).sum(),
        last,
        ..Snapshot::default()
    };
    (s, per_q)
}

/// `--stats`'s per-queue part: packets, RQDPC drops, the ring's backlog.
fn queue_line(per_q: &[Snapshot]) -> String {
    let parts: Vec<String> = per_q
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "q{i} {} pkts {} drop {}/{} filled",
                s.rx_packets, s.acc.nic_queue_drops, s.ring_filled, s.ring_size
            )
        })
        .collect();
    format!("queues: {}", parts.join(", "))
}

fn print_queues(per_q: &[Snapshot], stats: &Stats) {
    let mut e = io::stderr().lock();
    for (i, s) in per_q.iter().enumerate() {
        let _ = writeln!(
            e,
            "queue {i}: {} packets received, {} handed to the writer, {} dropped by the NIC \
             (RQDPC), {} filtered out, {} dropped because the writer fell behind, \
             {}/{} descriptors filled ({} posted)",
            s.rx_packets,
            s.acc.handed,
            s.acc.nic_queue_drops,
            s.acc.filtered,
            s.acc.writer_behind,
            s.ring_filled,
            s.ring_size,
            s.ring_ready
        );
    }
    let _ = stats;
}

/// A receive thread: polls its queues round-robin until told to stop, the
/// count is reached, or (on a finite replay) every frame is read. Gives its
/// queues back.
#[allow(clippy::too_many_arguments)]
fn receive<B: Backend>(
    t: usize,
    mut queues: Vec<RxQueue<B>>,
    args: &CaptureArgs,
    filter: Option<&Filter>,
    sh: &Shared,
    live: &Live,
    mut tx: Producer<QBatch>,
    mut back: Consumer<Vec<Packet>>,
    writer: Thread,
    flow_controlled: bool,
    budget: u64,
) -> Vec<RxQueue<B>> {
    let me = &sh.threads[t];
    let limit = args.count;
    let batch_max = args.batch as usize;
    let mut batch: Vec<Packet> = Vec::with_capacity(batch_max);
    // Emptied vectors from the writer, reused for the next batches.
    let mut spare: Vec<Vec<Packet>> = Vec::new();
    // Per queue: handed, filtered, writer behind (mirrored into `sh`).
    let mut counts = vec![(0u64, 0u64, 0u64); queues.len()];
    let mut handed = 0u64;
    let mut idle = 0u32;
    let mut last_ts = 0u64;
    for q in &mut queues {
        // As with one queue: the pool is this queue's alone.
        let entries = q.pool().entries() as usize;
        q.set_recycle_limit(entries);
        let s = &sh.queues[usize::from(q.index())];
        s.ready.store(q.ready() as u64, Ordering::Relaxed);
        s.filled.store(q.filled() as u64, Ordering::Relaxed);
        s.size.store(q.size() as u64, Ordering::Relaxed);
    }
    let mut polls = 0u32;
    let mut wake = WriterWake::new(budget, batch_max as u64, args.packet_buffered);
    'poll: loop {
        if sh.quit.load(Ordering::Relaxed) || live.writer_stopped.load(Ordering::Relaxed) {
            break;
        }
        if limit.is_some_and(|l| sh.claimed.load(Ordering::Relaxed) >= l) {
            break;
        }
        // The packets the writer is done with go back to their queue's
        // refills here (or to the pool).
        while let Some(mut v) = back.pop() {
            let owner = v
                .first()
                .and_then(|p| queues.iter().position(|q| q.pool().owns(p)));
            match owner {
                Some(qi) => queues[qi].recycle(&mut v),
                None => v.clear(),
            }
            if spare.len() < 64 {
                spare.push(v);
            }
        }
        let drained = sh.drained.load(Ordering::Acquire);
        let ts = device::now_ns().max(last_ts);
        last_ts = ts;
        me.watermark.store(ts, Ordering::Release);
        let mut got = 0;
        // The backlog costs a register read: it is looked at every 4096 polls
        // (milliseconds), often enough for a once-a-second statistics line.
        polls = polls.wrapping_add(1);
        let look = polls.is_multiple_of(4096);
        for (qi, q) in queues.iter_mut().enumerate() {
            if look {
                let qs = &sh.queues[usize::from(q.index())];
                qs.filled.store(q.filled() as u64, Ordering::Relaxed);
            }
            let n = q.rx_batch(&mut batch, batch_max);
            if n == 0 {
                continue;
            }
            got += n;
            let queue = usize::from(q.index());
            let qs = &sh.queues[queue];
            qs.ready.store(q.ready() as u64, Ordering::Relaxed);
            let c = &mut counts[qi];
            if let Some(f) = filter {
                // As with one queue: the frames' cache misses overlap.
                for p in &batch {
                    std::hint::black_box(p.first().copied());
                }
                batch.retain(|p| f.matches(p));
                c.1 += (n - batch.len()) as u64;
                qs.filtered.store(c.1, Ordering::Relaxed);
                if batch.is_empty() {
                    continue;
                }
            }
            if let Some(l) = limit {
                // Claim the packets; those past the count go back to the pool.
                let want = batch.len() as u64;
                let before = sh
                    .claimed
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                        (c < l).then(|| (c + want).min(l))
                    });
                match before {
                    Ok(b) => batch.truncate((l - b).min(want) as usize),
                    Err(_) => {
                        batch.clear();
                        break 'poll;
                    }
                }
            }
            let k = batch.len() as u64;
            let in_flight = |handed: u64| handed - me.released.load(Ordering::Acquire);
            let mut waited = 0u32;
            while flow_controlled
                && in_flight(handed) + k > budget
                && !sh.quit.load(Ordering::Relaxed)
                && !live.writer_stopped.load(Ordering::Relaxed)
            {
                writer.unpark();
                waited = waited.wrapping_add(1);
                if waited.is_multiple_of(16) {
                    std::thread::sleep(Duration::from_micros(20));
                } else {
                    std::thread::yield_now();
                }
            }
            if in_flight(handed) + k > budget {
                c.2 += k;
                qs.behind.store(c.2, Ordering::Relaxed);
                batch.clear();
                continue;
            }
            let next = spare.pop().unwrap_or_else(|| Vec::with_capacity(batch_max));
            let packets = std::mem::replace(&mut batch, next);
            match tx.push(QBatch {
                thread: t,
                queue,
                ts_ns: ts,
                packets,
            }) {
                Ok(()) => {
                    handed += k;
                    c.0 += k;
                    qs.handed.store(c.0, Ordering::Relaxed);
                    // Pairs with the writer's fence between raising its
                    // "parked" flag and its last look at the rings.
                    fence(Ordering::SeqCst);
                    if wake.handed(k, ts, &live.writer_parked) {
                        writer.unpark();
                    }
                }
                Err(Full(b)) => {
                    c.2 += k;
                    qs.behind.store(c.2, Ordering::Relaxed);
                    drop(b);
                }
            }
        }
        if wake.due(ts, got == 0, &live.writer_parked) {
            writer.unpark();
        }
        if got == 0 {
            if drained && queues.iter().all(|q| !q.has_completions()) {
                break;
            }
            idle = idle.wrapping_add(1);
            if idle.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
    for q in &queues {
        let qs = &sh.queues[usize::from(q.index())];
        qs.ready.store(q.ready() as u64, Ordering::Relaxed);
        qs.filled.store(q.filled() as u64, Ordering::Relaxed);
    }
    me.done.store(true, Ordering::Release);
    drop(tx);
    writer.unpark();
    queues
}

/// The writer thread: merges or splits the receive threads' batches into the
/// outputs; ends every file with its counters once the control thread has
/// published the last ones.
fn write_all(
    mut outputs: Outputs,
    mut rings: Vec<Consumer<QBatch>>,
    returns: Vec<Producer<Vec<Packet>>>,
    sh: &Shared,
    live: &Live,
    spins: u32,
) -> super::writer::WriterReport {
    let cpu0 = thread_cpu_ns();
    let mut r = super::writer::WriterReport::default();
    let n = rings.len();
    let mut open = vec![true; n];
    let mut bound = vec![0u64; n];
    let mut pend: Vec<VecDeque<QBatch>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut popped: Vec<QBatch> = Vec::with_capacity(64);
    let mut pkts: Vec<Packet> = Vec::with_capacity(WRITE_MAX * 2);
    let mut stamps: Vec<u64> = Vec::with_capacity(WRITE_MAX * 2);
    let mut owed = vec![0u64; n];
    let mut back = GiveBack {
        runs: Vec::with_capacity(WRITE_MAX),
        empties: (0..n).map(|_| Vec::new()).collect(),
        to: returns,
    };
    let mut writing = true;
    let mut idle = 0u32;
    let mut stop_writing = |res: Result<bool, CliError>, r: &mut super::writer::WriterReport| {
        if !matches!(res, Ok(true)) {
            live.writer_stopped.store(true, Ordering::Relaxed);
            match res {
                Err(e) => r.error = Some(e),
                _ => r.file_limit = true,
            }
            false
        } else {
            true
        }
    };
    loop {
        let mut progress = false;
        for j in 0..n {
            if !open[j] {
                continue;
            }
            bound[j] = sh.threads[j].watermark.load(Ordering::Acquire);
            if rings[j].pop_batch(&mut popped, 64) > 0 {
                progress = true;
                pend[j].extend(popped.drain(..));
            } else {
                match rings[j].try_pop() {
                    Ok(b) => {
                        progress = true;
                        pend[j].push_back(b);
                    }
                    Err(PopError::Closed) => open[j] = false,
                    Err(PopError::Empty) => {}
                }
            }
        }
        let t0 = Instant::now();
        // Emit what can be emitted.
        let mut emitted = false;
        loop {
            let mut flush = false;
            match &mut outputs {
                Outputs::Merged(_) => {
                    // A thread's watermark bounds only what is not in its ring yet:
                    // before trusting it for a thread with nothing pending here,
                    // make sure its ring is really empty (try_pop refreshes its
                    // view of the producer). The watermark was read before this,
                    // so it is a safe lower bound for anything pushed later.
                    for j in 0..n {
                        if open[j] && pend[j].is_empty() {
                            match rings[j].try_pop() {
                                Ok(b) => pend[j].push_back(b),
                                Err(PopError::Closed) => open[j] = false,
                                Err(PopError::Empty) => {}
                            }
                        }
                    }
                    let head = (0..n)
                        .filter_map(|j| pend[j].front().map(|b| (b.ts_ns, j)))
                        .min();
                    let Some((ts, j)) = head else { break };
                    let limit = (0..n)
                        .filter(|&j| open[j] && pend[j].is_empty())
                        .map(|j| bound[j])
                        .min()
                        .unwrap_or(u64::MAX);
                    if ts > limit {
                        break;
                    }
                    let mut b = pend[j].pop_front().expect("a head");
                    stamps.extend(std::iter::repeat_n(b.ts_ns, b.packets.len()));
                    owed[b.thread] += b.packets.len() as u64;
                    // One run per batch, so each batch's vector goes back
                    // with its own packets: the receive thread gets back as
                    // many vectors as it sent, and nothing piles up here.
                    back.runs.push((b.thread, b.packets.len()));
                    pkts.append(&mut b.packets);
                    back.empties[b.thread].push(b.packets);
                    if pkts.len() >= WRITE_MAX {
                        flush = true;
                    }
                }
                Outputs::PerQueue(sinks) => {
                    let Some(j) = (0..n).find(|&j| !pend[j].is_empty()) else {
                        break;
                    };
                    let mut b = pend[j].pop_front().expect("a batch");
                    let k = b.packets.len() as u64;
                    stamps.clear();
                    stamps.extend(std::iter::repeat_n(b.ts_ns, b.packets.len()));
                    if writing {
                        let sink = &mut sinks[b.queue];
                        let before = sink.written;
                        let res = sink.write(&stamps, &mut b.packets, live);
                        live.add_written(sink.written - before);
                        writing = stop_writing(res, &mut r);
                    }
                    // Time rotates every queue's files, whichever queue is busy.
                    if writing {
                        let now = b.ts_ns;
                        if sinks
                            .iter()
                            .any(|s| s.deadline_ns().is_some_and(|d| now >= d))
                        {
                            let res = sinks
                                .iter_mut()
                                .try_fold(true, |ok, s| s.tick(now, live).map(|o| ok && o));
                            writing = stop_writing(res, &mut r);
                        }
                    }
                    r.received += k;
                    stamps.clear();
                    give_back(&mut back.to[b.thread], b.packets);
                    sh.threads[b.thread]
                        .released
                        .fetch_add(k, Ordering::Release);
                    emitted = true;
                }
            }
            if flush {
                emitted = true;
                flush_merged(
                    &mut outputs,
                    &mut pkts,
                    &mut stamps,
                    &mut owed,
                    &mut back,
                    sh,
                    live,
                    &mut writing,
                    &mut r,
                    &mut stop_writing,
                );
            }
        }
        if !pkts.is_empty() {
            emitted = true;
            flush_merged(
                &mut outputs,
                &mut pkts,
                &mut stamps,
                &mut owed,
                &mut back,
                sh,
                live,
                &mut writing,
                &mut r,
                &mut stop_writing,
            );
        }
        if emitted {
            r.busy += t0.elapsed();
        }
        if open.iter().all(|o| !o) && pend.iter().all(VecDeque::is_empty) {
            break;
        }
        if progress || emitted {
            idle = 0;
            continue;
        }
        idle += 1;
        if pend.iter().any(|p| !p.is_empty()) {
            // Waiting for a thread's watermark to move.
            std::thread::yield_now();
            continue;
        }
        if idle < spins {
            std::hint::spin_loop();
            continue;
        }
        live.writer_parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if rings.iter().all(|c| c.is_empty()) && !sh.quit.load(Ordering::Relaxed) {
            std::thread::park_timeout(IDLE_WAKE);
        }
        live.writer_parked.store(false, Ordering::Relaxed);
        if writing {
            let now = device::now_ns();
            let res = match &mut outputs {
                Outputs::Merged(s) => s.tick(now, live),
                Outputs::PerQueue(sinks) => sinks
                    .iter_mut()
                    .try_fold(true, |ok, s| s.tick(now, live).map(|o| ok && o)),
            };
            writing = stop_writing(res, &mut r);
        }
        // Rings close only when their thread ends; a quiet writer still
        // notices a closed ring on its next round.
        if sh.quit.load(Ordering::Relaxed) {
            for (j, c) in rings.iter_mut().enumerate() {
                if open[j] && c.is_closed() && c.is_empty() {
                    open[j] = false;
                }
            }
        }
    }
    // The control thread publishes the final counters after every receive
    // thread stopped; wait for them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = live.latest();
    while !last.last && Instant::now() < deadline {
        last = live.wait_newer(last.at_ns, Duration::from_millis(100));
    }
    match outputs {
        Outputs::Merged(mut s) => {
            if writing || r.file_limit {
                if let Err(e) = s.finish(&last) {
                    r.error = Some(e);
                }
            }
            r.written = s.written;
            r.files = s.files;
            r.post_rotate = s.post_rotate_runs();
        }
        Outputs::PerQueue(sinks) => {
            let per_q = sh
                .per_queue_last
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            for (i, mut s) in sinks.into_iter().enumerate() {
                // After -G … -W ended the capture on one queue, the other
                // queues' open files are still ended properly.
                if writing || r.file_limit {
                    let mut q = per_q.get(i).copied().unwrap_or(last);
                    q.at_ns = last.at_ns;
                    if let Err(e) = s.finish(&q) {
                        r.error.get_or_insert(e);
                    }
                }
                r.written += s.written;
                r.files += s.files;
                if let Some((started, failed)) = s.post_rotate_runs() {
                    let t = r.post_rotate.get_or_insert((0, 0));
                    t.0 += started;
                    t.1 += failed;
                }
            }
        }
    }
    r.cpu_ns = cpu0.and_then(|a| thread_cpu_ns().map(|b| b.saturating_sub(a)));
    r
}

#[allow(clippy::too_many_arguments)]
fn flush_merged(
    outputs: &mut Outputs,
    pkts: &mut Vec<Packet>,
    stamps: &mut Vec<u64>,
    owed: &mut [u64],
    back: &mut GiveBack,
    sh: &Shared,
    live: &Live,
    writing: &mut bool,
    r: &mut super::writer::WriterReport,
    stop_writing: &mut impl FnMut(Result<bool, CliError>, &mut super::writer::WriterReport) -> bool,
) {
    if let Outputs::Merged(sink) = outputs {
        if *writing {
            let before = sink.written;
            let res = sink.write(stamps, pkts, live);
            live.add_written(sink.written - before);
            *writing = stop_writing(res, r);
        }
    }
    r.received += pkts.len() as u64;
    let mut written = pkts.drain(..);
    for (t, k) in back.runs.drain(..) {
        let mut v = back.empties[t].pop().unwrap_or_default();
        v.extend(written.by_ref().take(k));
        give_back(&mut back.to[t], v);
    }
    drop(written);
    pkts.clear();
    stamps.clear();
    for (j, o) in owed.iter_mut().enumerate() {
        if *o > 0 {
            sh.threads[j].released.fetch_add(*o, Ordering::Release);
            *o = 0;
        }
    }
}

/// The way written packets go back to their receive threads.
struct GiveBack {
    /// Where the merged packets came from, in order: (thread, count), one
    /// entry per batch.
    runs: Vec<(usize, usize)>,
    /// Each thread's emptied batch vectors, to send its packets back in.
    empties: Vec<Vec<Vec<Packet>>>,
    /// Each thread's return ring.
    to: Vec<Producer<Vec<Packet>>>,
}

/// Sends written packets back to their receive thread; if its return ring is
/// full (or the thread has ended) they go back to the pool from here.
/// Either way they already count as released (flow control uses that count).
fn give_back(to: &mut Producer<Vec<Packet>>, v: Vec<Packet>) {
    if !v.is_empty() {
        drop(to.push(v));
    }
}

/// The first output's path, for `-Z`.
pub fn first_path(path: &str, per_queue: bool) -> Option<PathBuf> {
    if path == "-" {
        None
    } else if per_queue {
        Some(PathBuf::from(queue_path(path, 0)))
    } else {
        Some(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_queue_names_keep_the_extension() {
        assert_eq!(queue_path("/tmp/x.pcapng", 3), "/tmp/x.q3.pcapng");
        assert_eq!(queue_path("out", 0), "out.q0");
        assert_eq!(queue_path("dir/a.b.pcap", 1), "dir/a.b.q1.pcap");
    }
}
