//! `igbpoll capture`: poll the NIC, filter, hand packets to a writer thread,
//! write or print them, account for every drop.
//!
//! Two threads (three with `--stats`): the receive thread (the caller's) owns
//! the NIC and polls it; it never touches the disk. It hands batches of packets
//! to the writer thread ([`writer`]) through an `igbpoll-ring` SPSC ring, and
//! drops a batch, counted as "the writer fell behind", when more than
//! `--writer-buffer` packets are waiting. Written packets come back through a second
//! ring, in their batch vectors, and the receive thread drops them into the
//! pool on its own core (where the pool's free queue and counters stay hot);
//! the vectors are reused, so the steady state allocates nothing.

pub mod live;
mod multi;
pub mod postrotate;
mod privs;
pub mod rotate;
pub mod writer;

use std::io::{self, Write};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use igbpoll_driver::{Backend, Nic, NicConfig, Packet, Stats};
use igbpoll_ring::{Consumer, Full, Producer, Ring};

use crate::cli::{CaptureArgs, DeviceArgs, FileFormat, Precision};
use crate::device::{self, AnyDevice, Traffic};
use crate::error::CliError;
use crate::filter::{self, Filter};
use crate::pcap_writer::Resolution;
use crate::pcapng_writer::Interface;
use live::{thread_cpu_ns, Live, Snapshot, WriterWake};
use rotate::{Policy, Rotator};
use writer::{Batch, FileSpec, Output, Sink, WriterReport};

/// How often the receive thread reads the NIC's counters for `--stats`.
const STATS_INTERVAL_NS: u64 = 1_000_000_000;

/// The file format `-w PATH` gets: `--format`, else pcap for a `.pcap` name
/// and pcapng for anything else (stdout included), as dumpcap does.
pub fn file_format(format: Option<FileFormat>, path: &str) -> FileFormat {
    format.unwrap_or_else(|| {
        if path.to_ascii_lowercase().ends_with(".pcap") {
            FileFormat::Pcap
        } else {
            FileFormat::Pcapng
        }
    })
}

/// The filter of `-F FILE` or of the trailing words, compiled.
///
/// # Errors
/// Both were given, the file cannot be read, or libpcap refused the
/// expression (its message is kept, as tcpdump prints it).
pub fn filter_of(args: &CaptureArgs) -> Result<Option<Filter>, CliError> {
    let words = filter::expression_from_words(&args.expression);
    let expression = match (&args.filter_file, words) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(
                "give the filter expression either with -F FILE or on the command line, \
                 not both"
                    .into(),
            ))
        }
        (Some(path), None) => {
            let e = filter::expression_from_file(path).map_err(|e| CliError::Input {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if e.is_empty() {
                return Ok(None);
            }
            e
        }
        (None, Some(e)) => e,
        (None, None) => return Ok(None),
    };
    Filter::compile(&expression)
        .map(Some)
        // libpcap's message already reads "can't parse filter expression: ...".
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The drop accounting of a capture, as the summary and the pcapng
/// statistics block give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Packets written (or printed).
    pub captured: u64,
    /// Packets handed to the writer thread.
    pub handed: u64,
    /// Packets the filter rejected.
    pub filtered: u64,
    /// Packets dropped because the writer fell behind (its ring held
    /// `--writer-buffer` packets).
    pub writer_behind: u64,
    /// Frames written to memory by the NIC (GPRC).
    pub nic_delivered: u64,
    /// Frames the NIC dropped: FIFO overflow (MPC).
    pub nic_missed: u64,
    /// Frames the NIC dropped: no descriptor with DROP_EN (RQDPC, all queues).
    pub nic_queue_drops: u64,
    /// Frames the NIC dropped as longer than it takes without long-packet
    /// reception (ROC): 1518 bytes with the FCS, 1522 with a VLAN tag.
    pub nic_oversize: u64,
    /// Frames the driver refused (bad length, no EOP, frame errors).
    pub driver_refused: u64,
}

impl Accounting {
    fn new(counts: &RxCounts, captured: u64, s: &Stats) -> Self {
        let d = &s.driver;
        Accounting {
            captured,
            handed: counts.handed,
            filtered: counts.filtered,
            writer_behind: counts.writer_behind,
            nic_delivered: s.hw.rx_packets,
            nic_missed: s.hw.rx_missed_errors,
            nic_queue_drops: s.hw.rx_queue_drops.iter().sum(),
            nic_oversize: s.hw.rx_long_length_errors,
            driver_refused: d.rx_bad_length + d.rx_no_eop + d.rx_frame_errors,
        }
    }

    /// Frames the NIC took for this host: written to memory, or dropped for
    /// lack of room (GPRC counts only the former).
    pub fn nic_received(&self) -> u64 {
        self.nic_delivered + self.nic_dropped()
    }

    /// Frames the NIC dropped (MPC + RQDPC + ROC).
    pub fn nic_dropped(&self) -> u64 {
        self.nic_missed + self.nic_queue_drops + self.nic_oversize
    }

    /// Packets the filter accepted (all of them without a filter).
    pub fn accepted(&self) -> u64 {
        self.handed + self.writer_behind
    }

    /// Packets handed to the writer that it did not write (it stopped).
    pub fn not_written(&self) -> u64 {
        self.handed.saturating_sub(self.captured)
    }

    /// Frames in memory that were neither read nor refused when the capture
    /// stopped (still in the ring).
    pub fn unread(&self) -> u64 {
        self.nic_delivered
            .saturating_sub(self.accepted() + self.filtered + self.driver_refused)
    }
}

/// What the receive thread counted.
#[derive(Debug, Clone, Copy, Default)]
struct RxCounts {
    handed: u64,
    filtered: u64,
    writer_behind: u64,
}

/// What the receive thread reports at the end.
struct RxReport {
    counts: RxCounts,
    stats: Stats,
    last: Snapshot,
    elapsed: Duration,
    /// Time spent on polls that found packets (`None`: not measured, with
    /// several receive threads).
    busy: Option<Duration>,
    cpu_ns: Option<u64>,
}

/// The timestamp resolution of a file: as asked, else microseconds for pcap
/// (tcpdump's default, readable everywhere) and nanoseconds for pcapng.
pub fn resolution(asked: Option<Precision>, format: FileFormat) -> Resolution {
    match (asked, format) {
        (Some(Precision::Micro), _) => Resolution::Micros,
        (Some(Precision::Nano), _) => Resolution::Nanos,
        (None, FileFormat::Pcap) => Resolution::Micros,
        (None, FileFormat::Pcapng) => Resolution::Nanos,
    }
}

/// Runs `capture`.
pub fn run(dev_args: &DeviceArgs, args: &CaptureArgs) -> Result<(), CliError> {
    if let Some(i) = &args.interface {
        return Err(CliError::Usage(format!(
            "-i {i}: igbpoll takes the NIC away from the kernel and names it by PCI address: \
             --pci BDF (`igbpoll list` shows each NIC's address and interface)"
        )));
    }
    if let Some(f) = &args.read_file {
        return Err(CliError::Usage(format!(
            "-r {f}: igbpoll captures from a NIC; to feed {f} through the simulated one: \
             igbpoll --sim igb --sim-replay {f} capture ..."
        )));
    }
    let folded = args.with_autostop();
    let args = &folded;
    let filter = filter_of(args)?;
    if args.write.is_none() && args.format.is_some() {
        return Err(CliError::Usage("--format needs -w FILE".into()));
    }
    let policy = Policy::from_args(args)?;
    if args.time_stamps > 5 {
        return Err(CliError::Usage(
            "-t is given at most 5 times (-ttttt: time since the first packet)".into(),
        ));
    }
    if let Some(user) = &args.user {
        privs::check_user(user)?;
    }
    if args.write.is_some() && (dump_of(args).is_some() || args.line_buffered) {
        log::warn!("-x, -X, -A and -l shape printed lines; with -w nothing is printed");
    }
    if args.post_rotate.is_some() {
        if args.write.as_deref().is_none_or(|w| w == "-") {
            return Err(CliError::Usage("-z needs -w FILE (not stdout)".into()));
        }
        // Checked before the NIC is touched or a file created.
        post_rotate(args)?;
    }
    if args.per_queue && args.write.as_deref().is_none_or(|w| w == "-") {
        return Err(CliError::Usage(
            "--per-queue needs -w FILE (one file per queue: FILE.qN.EXT)".into(),
        ));
    }
    // With --per-queue, each queue's files rotate on their own (names FILE.qN…).
    let mut queue_rotators: Vec<Option<Rotator>> = if args.per_queue {
        (0..usize::from(args.queues))
            .map(|q| policy.as_ref().map(|p| Rotator::new(p.for_queue(q))))
            .collect()
    } else {
        Vec::new()
    };
    let mut rotator = if args.per_queue {
        None
    } else {
        policy.map(Rotator::new)
    };
    if let Some(c) = &args.cores {
        multi::check_cores(&c.0)?;
    }
    // A flow-controlled simulated wire (no --sim-rate) waits for the capture:
    // full queues then hold frames in the FIFO instead of dropping them, so
    // a replay is captured whole on any number of queues.
    let flow_controlled_sim =
        dev_args.pci.is_none() && dev_args.sim.is_some() && dev_args.sim_rate.is_none();
    let config = NicConfig {
        rx_queues: args.queues,
        multi_queue_drop_en: !flow_controlled_sim,
        rx_ring_size: args.ring,
        max_frame: args.max_frame.map_or(0, usize::from),
        promiscuous: !args.no_promisc,
        // The ring, the packets waiting for the writer, and one batch in hand.
        rx_pool_size: (args.ring as u32)
            .saturating_add(args.writer_buffer)
            .saturating_add(args.batch)
            .saturating_add(64),
        ..NicConfig::default()
    };
    let stop = device::stop_flag();
    // The output is created before the NIC is opened, so a bad path fails fast.
    let per_queue_files = match &args.write {
        Some(path) if args.per_queue => {
            multi::create_per_queue(path, &mut queue_rotators, device::now_ns())?
        }
        _ => Vec::new(),
    };
    let file = match &args.write {
        Some(_) if args.per_queue => None,
        Some(path) => {
            let name = match rotator.as_mut() {
                Some(r) => r
                    .first(device::now_ns())
                    .map_err(CliError::Usage)?
                    .display()
                    .to_string(),
                None => path.clone(),
            };
            Some((Output::create(&name)?, name))
        }
        None => None,
    };
    let opened = device::open_any(dev_args, &config, Traffic::Always)?;
    crate::with_device!(opened, dev => capture_on(dev, args, filter, file, per_queue_files, rotator, queue_rotators, &stop))
}

/// The printed-lines output of `args`: flushed per batch with `-U` or `-l`,
/// cut at `-s`, dumped as `-x`/`-X`/`-A` ask, timestamped as `-t`… asks (its
/// count checked in `run`) in the precision asked for.
fn printed_lines(args: &CaptureArgs) -> Output {
    use crate::timefmt::{Stamp, TimeFormat};
    let stamp = Stamp::from_count(args.time_stamps).unwrap_or(Stamp::SinceFirst);
    Output::lines(
        args.packet_buffered || args.line_buffered,
        args.snaplen,
        dump_of(args),
        TimeFormat::new(stamp, args.precision == Some(Precision::Nano)),
    )
}

/// `-x`/`-X`/`-A`.
fn dump_of(args: &CaptureArgs) -> Option<crate::hexdump::Dump> {
    crate::hexdump::Dump::from_flags(args.hex, args.hex_ascii, args.ascii)
}

/// `-z COMMAND`, checked.
fn post_rotate(args: &CaptureArgs) -> Result<Option<postrotate::PostRotate>, CliError> {
    args.post_rotate
        .as_deref()
        .map(postrotate::PostRotate::new)
        .transpose()
}

/// The capture on an opened device; generic over the backend so register
/// accesses compile to the backend's own code (volatile MMIO on VFIO).
#[allow(clippy::too_many_arguments)]
fn capture_on<B: Backend>(
    mut dev: AnyDevice<B>,
    args: &CaptureArgs,
    filter: Option<Filter>,
    file: Option<(std::fs::File, String)>,
    per_queue_files: Vec<(std::fs::File, String)>,
    rotator: Option<Rotator>,
    queue_rotators: Vec<Option<Rotator>>,
    stop: &AtomicBool,
) -> Result<(), CliError>
where
    igbpoll_driver::RxQueue<B>: Send,
{
    let link = dev.nic.link();
    eprintln!(
        "igbpoll: capturing on {} ({}, {}), link {}{}",
        dev.nic.name(),
        dev.nic.model().name,
        device::fmt_mac(dev.nic.mac()),
        link,
        filter
            .as_ref()
            .map(|f| format!(", filter `{}`", f.expression()))
            .unwrap_or_default()
    );
    let spec = args.write.as_ref().map(|path| {
        let format = file_format(args.format, path);
        FileSpec {
            format,
            snaplen: args.snaplen,
            resolution: resolution(args.precision, format),
            interface: Interface {
                name: dev.nic.name(),
                description: format!(
                    "Intel {}, MAC {}, link {}, driver igbpoll {} ({})",
                    dev.nic.model().name,
                    device::fmt_mac(dev.nic.mac()),
                    link,
                    env!("CARGO_PKG_VERSION"),
                    dev.nic.model().family
                ),
                mac: Some(dev.nic.mac()),
                speed_bps: if link.up {
                    u64::from(link.speed_mbps) * 1_000_000
                } else {
                    0
                },
                filter: filter.as_ref().map(|f| f.expression().to_string()),
                hardware: format!(
                    "Intel {} ({})",
                    dev.nic.model().name,
                    dev.nic.model().family
                ),
            },
            has_filter: filter.is_some(),
        }
    });
    if args.queues > 1 || args.per_queue {
        let outputs = if args.per_queue {
            let spec = spec.as_ref().expect("--per-queue has -w");
            let mut sinks = Vec::new();
            let files = per_queue_files.into_iter().zip(queue_rotators);
            for (q, ((file, path), rot)) in files.enumerate() {
                let mut s = spec.clone();
                s.interface.description = format!("{}, RSS queue {q}", s.interface.description);
                let sink = Sink::new(Output::file(file, path, &s)?, Some(s), rot)
                    .with_post_rotate(post_rotate(args)?);
                sinks.push(sink.of_queue(q));
            }
            multi::Outputs::PerQueue(sinks)
        } else {
            let out = match (file, &spec) {
                (Some((file, path)), Some(spec)) => Output::file(file, path, spec)?,
                _ => printed_lines(args),
            };
            let sink = Sink::new(out, spec.clone(), rotator).with_post_rotate(post_rotate(args)?);
            multi::Outputs::Merged(Box::new(sink))
        };
        if let Some(user) = &args.user {
            let first = args
                .write
                .as_deref()
                .and_then(|w| multi::first_path(w, args.per_queue));
            privs::drop_to(user, first.as_deref())?;
        }
        return multi::capture(&mut dev, args, filter.as_ref(), outputs, stop);
    }
    let (out, first_path) = match (file, &spec) {
        (Some((file, path)), Some(spec)) => {
            let first = (path != "-").then(|| std::path::PathBuf::from(&path));
            (Output::file(file, path, spec)?, first)
        }
        _ => (printed_lines(args), None),
    };
    // The device and the first file are open: nothing further needs root.
    if let Some(user) = &args.user {
        privs::drop_to(user, first_path.as_deref())?;
    }
    let sink = Sink::new(out, spec, rotator).with_post_rotate(post_rotate(args)?);
    let live = Live::default();
    let slots = (args.writer_buffer as usize).next_power_of_two();
    let ring_err = |e: igbpoll_ring::CapacityError| CliError::Usage(e.to_string());
    let (to_writer, from_rx) = Ring::with_capacity(slots).map_err(ring_err)?;
    // Room for every vector in flight: one per batch, at least a packet each.
    let (to_rx, from_writer) = Ring::with_capacity(slots * 2).map_err(ring_err)?;

    // The receive thread, the writer, and the simulator's DMA thread poll.
    let spins = live::writer_spins(2 + usize::from(dev.sim.is_some()));
    let (rx, w) = std::thread::scope(|sc| {
        let writer = std::thread::Builder::new()
            .name("igbpoll-writer".into())
            .spawn_scoped(sc, || writer::run(sink, from_rx, to_rx, &live, spins))
            .map_err(|e| CliError::Usage(format!("cannot start the writer thread: {e}")))?;
        let printer = if args.stats {
            let p = std::thread::Builder::new()
                .name("igbpoll-stats".into())
                .spawn_scoped(sc, || live::print_stats(&live, &mut io::stderr()))
                .map_err(|e| CliError::Usage(format!("cannot start the stats thread: {e}")))?;
            Some(p)
        } else {
            None
        };
        if let Some(c) = &args.cores {
            multi::pin(c.0[0])?;
        }
        let rx = receive(
            &mut dev,
            args,
            filter.as_ref(),
            &live,
            to_writer,
            from_writer,
            writer.thread().clone(),
            stop,
        );
        let w = writer.join().unwrap_or_else(|_| WriterReport {
            error: Some(CliError::Usage("the writer thread panicked".into())),
            ..WriterReport::default()
        });
        if let Some(p) = printer {
            let _ = p.join();
        }
        Ok::<_, CliError>((rx, w))
    })?;

    let acc = Accounting::new(&rx.counts, w.written, &rx.stats);
    print_summary(&acc, &rx, &w, args.writer_buffer);
    debug_assert!(rx.last.last);
    match w.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The receive thread: polls the NIC, filters, hands batches to the writer,
/// publishes counters; returns when told to stop, at `-c`, `--duration`, the end
/// of a replay, or when the writer stops. Publishes the final counters, then
/// lets go of the ring (which tells the writer to finish).
#[allow(clippy::too_many_arguments)]
fn receive<B: Backend>(
    dev: &mut AnyDevice<B>,
    args: &CaptureArgs,
    filter: Option<&Filter>,
    live: &Live,
    mut to_writer: Producer<Batch>,
    mut from_writer: Consumer<Vec<Packet>>,
    writer: Thread,
    stop: &AtomicBool,
) -> RxReport {
    let cpu0 = thread_cpu_ns();
    // The queue's pool is the capture's alone, and the writer hands buffers
    // back in bursts larger than the ring: every one stays on this core.
    let entries = dev.nic.rx_queue(0).pool().entries() as usize;
    dev.nic.set_recycle_limit(0, entries);
    let limit = args.count.unwrap_or(u64::MAX);
    let budget = u64::from(args.writer_buffer);
    let batch_max = args.batch as usize;
    let mut batch: Vec<Packet> = Vec::with_capacity(batch_max);
    let mut c = RxCounts::default();
    let mut idle = 0u32;
    let mut busy_ns = 0u64;
    let mut served = 0u64;
    // Packets the writer gave back (dropped here, into the pool), and the
    // emptied vectors they came in.
    let mut returned = 0u64;
    let mut spare: Vec<Vec<Packet>> = Vec::new();
    let started = Instant::now();
    let start_ns = device::now_ns();
    let mut next_publish = start_ns + STATS_INTERVAL_NS;
    let mut wake = WriterWake::new(budget, batch_max as u64, args.packet_buffered);
    let deadline = args
        .duration
        .map(|s| started + Duration::from_secs_f64(s.min(1e9)));
    loop {
        if stop.load(Ordering::Relaxed)
            || live.writer_stopped.load(Ordering::Relaxed)
            || c.handed >= limit
        {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // Observed before polling: if the wire was drained and the ring then
        // holds nothing, every frame of a finite source has been seen.
        let drained = dev.wire_drained();
        // The batch's timestamp: its frames were all in the ring by now.
        let t_poll = device::now_ns();
        if t_poll >= next_publish || live.pending_request(served).is_some() {
            served = live.pending_request(served).unwrap_or(served);
            let now_stats = dev.nic.stats();
            live.publish(
                snapshot(dev, &now_stats, &c, start_ns, t_poll, false),
                served,
            );
            if t_poll >= next_publish {
                next_publish = t_poll + STATS_INTERVAL_NS;
            }
        }
        if wake.due(t_poll, false, &live.writer_parked) {
            writer.unpark();
        }
        let want = batch_max.min((limit - c.handed).min(usize::MAX as u64) as usize);
        let n = dev.nic.rx_batch(0, &mut batch, want);
        if n == 0 {
            if drained && !dev.nic.rx_queue(0).has_completions() {
                break;
            }
            if wake.due(t_poll, true, &live.writer_parked) {
                writer.unpark();
            }
            returned += take_back(&mut dev.nic, &mut from_writer, &mut spare);
            idle = idle.wrapping_add(1);
            // With packets waiting for the writer, give up the core sooner:
            // on a machine with fewer cores than threads the writer may be
            // waiting for this one.
            let every = if c.handed > returned { 16 } else { 256 };
            if idle.is_multiple_of(every) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        if let Some(f) = filter {
            // The filter is the first to read the frames, which the NIC just
            // wrote: load each one's first byte up front, so that the cache
            // misses overlap instead of each filter call waiting for its own.
            for p in &batch {
                std::hint::black_box(p.first().copied());
            }
            // Rejected packets go back to the pool here, before the writer.
            batch.retain(|p| f.matches(p));
            c.filtered += (n - batch.len()) as u64;
            if batch.is_empty() {
                continue;
            }
        }
        let k = batch.len() as u64;
        // Packets handed over and not given back yet (nor dropped by the
        // writer itself, which happens only if the return ring is full).
        let in_flight = |returned: u64| c.handed - returned - live.dropped_by_writer();
        if in_flight(returned) + k > budget {
            returned += take_back(&mut dev.nic, &mut from_writer, &mut spare);
        }
        // A flow-controlled wire waits for the NIC, so the capture may wait for
        // the writer: nothing is lost, the sender is held back instead.
        let mut waited = 0u32;
        while dev.flow_controlled
            && in_flight(returned) + k > budget
            && !stop.load(Ordering::Relaxed)
            && !live.writer_stopped.load(Ordering::Relaxed)
        {
            writer.unpark();
            waited = waited.wrapping_add(1);
            if waited.is_multiple_of(16) {
                std::thread::sleep(Duration::from_micros(20));
            } else {
                std::thread::yield_now();
            }
            returned += take_back(&mut dev.nic, &mut from_writer, &mut spare);
        }
        if in_flight(returned) + k > budget {
            // The writer fell behind: drop here rather than wait.
            c.writer_behind += k;
            batch.clear();
        } else {
            let next = spare.pop().unwrap_or_else(|| Vec::with_capacity(batch_max));
            let packets = std::mem::replace(&mut batch, next);
            match to_writer.push(Batch {
                ts_ns: t_poll,
                packets,
            }) {
                Ok(()) => {
                    c.handed += k;
                    // Pairs with the writer's fence between raising its
                    // "parked" flag and its last look at the ring.
                    fence(Ordering::SeqCst);
                    if wake.handed(k, t_poll, &live.writer_parked) {
                        writer.unpark();
                    }
                }
                Err(Full(b)) => {
                    c.writer_behind += k;
                    drop(b);
                }
            }
        }
        busy_ns += device::now_ns().saturating_sub(t_poll);
    }
    let elapsed = started.elapsed();
    let stats = dev.nic.stats();
    let last = snapshot(dev, &stats, &c, start_ns, device::now_ns(), true);
    live.publish(last, served);
    drop(to_writer);
    writer.unpark();
    RxReport {
        counts: c,
        stats,
        last,
        elapsed,
        busy: Some(Duration::from_nanos(busy_ns)),
        cpu_ns: cpu0.and_then(|a| thread_cpu_ns().map(|b| b.saturating_sub(a))),
    }
}

/// Takes back the vectors the writer is done with, handing the packets they
/// hold to the receive queue's refills (on this core, without an atomic
/// operation per packet); returns how many packets that was.
fn take_back<B: Backend>(
    nic: &mut Nic<B>,
    from_writer: &mut Consumer<Vec<Packet>>,
    spare: &mut Vec<Vec<Packet>>,
) -> u64 {
    let mut n = 0;
    while let Some(mut v) = from_writer.pop() {
        n += v.len() as u64;
        nic.recycle(0, &mut v);
        if spare.len() < 64 {
            spare.push(v);
        }
    }
    n
}

/// The NIC's counters now (reads the hardware counters).
/// The counters as of `stats` — one reading of the NIC, so that the summary
/// and the pcapng statistics block made from the last snapshot agree exactly.
fn snapshot<B: Backend>(
    dev: &mut AnyDevice<B>,
    stats: &Stats,
    c: &RxCounts,
    start_ns: u64,
    at_ns: u64,
    last: bool,
) -> Snapshot {
    let q = dev.nic.rx_queue(0);
    let (ring_ready, ring_filled, ring_size) = (q.ready(), q.filled(), q.size());
    Snapshot {
        at_ns,
        start_ns,
        acc: Accounting::new(c, 0, stats),
        rx_bytes: stats.driver.rx_bytes,
        rx_packets: stats.driver.rx_packets,
        rnbc: stats.hw.rx_no_buffer_count,
        ruc: stats.hw.rx_short_length_errors,
        ring_ready,
        ring_filled,
        ring_size,
        last,
        ..Snapshot::default()
    }
}

fn per_packet(d: Duration, packets: u64) -> f64 {
    if packets == 0 {
        0.0
    } else {
        d.as_nanos() as f64 / packets as f64
    }
}

fn print_summary(acc: &Accounting, rx: &RxReport, w: &WriterReport, budget: u32) {
    let hw = &rx.stats.hw;
    let d = &rx.stats.driver;
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "{} packets captured", acc.captured);
    // As tcpdump's second line: every frame the filter (if any) looked at.
    let _ = writeln!(
        e,
        "{} packets received by filter",
        acc.accepted() + acc.filtered
    );
    let _ = writeln!(
        e,
        "{} packets received by the NIC ({} written to memory (GPRC), {} dropped)",
        acc.nic_received(),
        acc.nic_delivered,
        acc.nic_dropped()
    );
    let _ = writeln!(e, "{} packets filtered out", acc.filtered);
    let _ = writeln!(
        e,
        "{} packets dropped by the NIC ({} FIFO overflow (MPC), {} per-queue (RQDPC), \
         {} too long (ROC))",
        acc.nic_dropped(),
        acc.nic_missed,
        acc.nic_queue_drops,
        acc.nic_oversize
    );
    let _ = writeln!(
        e,
        "{} packets dropped by the driver (bad descriptor length {}, no EOP {}, \
         frame errors {})",
        acc.driver_refused, d.rx_bad_length, d.rx_no_eop, d.rx_frame_errors
    );
    let _ = writeln!(
        e,
        "{} packets dropped because the writer fell behind ({budget} packets waiting)",
        acc.writer_behind
    );
    if acc.not_written() > 0 {
        let why = if w.file_limit {
            "the file limit (-W, -a files, -a filesize) was reached"
        } else {
            "the writer stopped on an error"
        };
        let _ = writeln!(
            e,
            "{} packets handed to the writer and not written whole: {why}",
            acc.not_written()
        );
    }
    if acc.unread() > 0 {
        let _ = writeln!(
            e,
            "{} packets in the receive ring, not read when the capture stopped",
            acc.unread()
        );
    }
    let _ = writeln!(
        e,
        "not drops by themselves: {} no-buffer events (RNBC), {} runts (RUC), \
         {} receive-pool exhaustions",
        hw.rx_no_buffer_count, hw.rx_short_length_errors, d.rx_alloc_failures
    );
    let secs = rx.elapsed.as_secs_f64();
    if secs > 0.0 {
        let files = if w.files > 1 {
            format!(", {} files", w.files)
        } else {
            String::new()
        };
        let _ = writeln!(
            e,
            "{:.3} s, {:.0} packets/s{files}",
            secs,
            acc.captured as f64 / secs
        );
    }
    if let Some((started, failed)) = w.post_rotate {
        let _ = writeln!(e, "-z command run on {started} files, {failed} failed");
    }
    let cpu = |ns: Option<u64>, n: u64| match ns {
        Some(ns) if n > 0 => format!("{:.1}", ns as f64 / n as f64),
        _ => "?".into(),
    };
    let rx_busy = match rx.busy {
        Some(b) => format!(
            "receive thread {:.1} ns busy, ",
            per_packet(b, d.rx_packets)
        ),
        None => "receive threads ".into(),
    };
    let _ = writeln!(
        e,
        "per packet: {rx_busy}{} ns CPU (with empty polls); \
         writer thread {:.1} ns busy, {} ns CPU",
        cpu(rx.cpu_ns, d.rx_packets),
        per_packet(w.busy, w.received),
        cpu(w.cpu_ns, w.received)
    );
}
