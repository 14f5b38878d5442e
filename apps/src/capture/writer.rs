//! The writer thread: takes batches of packets from the receive thread through
//! an SPSC ring and writes them (gathered writes straight from the packet
//! buffers, record headers in their headroom), rotating files as asked.
//!
//! Batches from the ring are coalesced, so one `writev` carries up to 1024
//! records however small the receive thread's batches were. When the ring is
//! empty the writer spins briefly, then parks; the receive thread unparks it
//! with the next batch (see [`Live::writer_parked`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use igbpoll_driver::mempool::HEADROOM;
use igbpoll_driver::Packet;
use igbpoll_ring::{Consumer, Full, PopError, Producer};

use super::live::{thread_cpu_ns, Live, Snapshot};
use super::postrotate::PostRotate;
use super::rotate::{Next, Rotator};
use crate::cli::FileFormat;
use crate::device;
use crate::error::CliError;
use crate::hexdump::{write_dump, Dump};
use crate::pcap_writer::{PcapWriter, Resolution, RECORD_HEADER_LEN};
use crate::pcapng_writer::{
    EpbRecord, EpbTrailer, Interface, InterfaceStats, PcapngWriter, EPB_HEADER_LEN,
};
use crate::summary::write_frame;
use crate::timefmt::TimeFormat;

/// Printed lines are flushed at least this often, even without `-U`.
const LINE_FLUSH_INTERVAL_NS: u64 = 100_000_000;
/// Longest park: time-based rotation and line flushing are checked this often
/// while no packets come.
const IDLE_WAKE: Duration = Duration::from_millis(10);
/// Batches taken from the ring at once.
const POP_MAX: usize = 64;
/// How long a rotation waits for fresh NIC counters for the closing
/// statistics block (the receive thread answers within one poll).
const FRESH_STATS_WAIT: Duration = Duration::from_millis(100);

/// Packets received together, and when.
#[derive(Debug)]
pub struct Batch {
    /// Receive time of the batch (ns since the Unix epoch).
    pub ts_ns: u64,
    /// The packets, in order.
    pub packets: Vec<Packet>,
}

/// Where captured packets go.
pub enum Output {
    /// tcpdump-style lines on stdout.
    Lines {
        /// Buffered stdout.
        out: io::BufWriter<io::Stdout>,
        /// The line being built (reused).
        line: String,
        /// Flush after every batch (`-U`), not only when the buffer fills or
        /// [`LINE_FLUSH_INTERVAL_NS`] passed.
        every_batch: bool,
        /// When lines were last flushed.
        last_flush_ns: u64,
        /// Lines handed to `out` so far.
        printed: u64,
        /// Bytes of each frame decoded (`-s`), as tcpdump prints a cut frame.
        snaplen: usize,
        /// `-x`/`-X`/`-A`.
        dump: Option<Dump>,
        /// `-t`… and the precision.
        time: TimeFormat,
    },
    /// A pcap file.
    Pcap {
        /// The writer.
        w: PcapWriter<File>,
        /// Its name.
        path: String,
    },
    /// A pcapng file.
    Pcapng {
        /// The writer.
        w: PcapngWriter<File>,
        /// Its name.
        path: String,
        /// Trailers of the batch's blocks whose buffer had no tailroom for
        /// them, with the packet's index in the batch (reused from batch to batch).
        spilled: Vec<(usize, EpbTrailer)>,
    },
}

/// What every output file is made with.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// pcap or pcapng.
    pub format: FileFormat,
    /// Snapshot length.
    pub snaplen: u32,
    /// Timestamp resolution.
    pub resolution: Resolution,
    /// The pcapng interface description.
    pub interface: Interface,
    /// A filter is applied (the statistics block then gives `filteraccept`).
    pub has_filter: bool,
}

/// The statistics block for a file closed at `end_ns`, with the counters of `s`
/// and `written` packets delivered to files so far.
pub fn isb(s: &Snapshot, end_ns: u64, written: u64, has_filter: bool) -> InterfaceStats {
    let a = &s.acc;
    InterfaceStats {
        start_ns: s.start_ns,
        end_ns,
        ifrecv: a.nic_received(),
        ifdrop: a.nic_dropped(),
        filteraccept: has_filter.then_some(a.accepted()),
        osdrop: a.driver_refused + a.writer_behind,
        usrdeliv: written,
    }
}

impl Output {
    /// Printed lines (`-U`: flushed after every batch), each decoding at most
    /// `snaplen` bytes of its frame (`-s`), followed by `dump` of them.
    pub fn lines(every_batch: bool, snaplen: u32, dump: Option<Dump>, time: TimeFormat) -> Output {
        Output::Lines {
            out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
            line: String::with_capacity(256),
            every_batch,
            last_flush_ns: 0,
            printed: 0,
            snaplen: snaplen as usize,
            dump,
            time,
        }
    }

    /// Opens `path` (`-`: a clone of stdout's descriptor, which bypasses Rust's
    /// line-buffered stdout, so writes leave as one `writev` each).
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &str) -> Result<File, CliError> {
        let err = |source| CliError::Output {
            path: path.to_string(),
            source,
        };
        let fd: OwnedFd = if path == "-" {
            io::stdout().as_fd().try_clone_to_owned().map_err(err)?
        } else {
            File::create(path).map_err(err)?.into()
        };
        Ok(File::from(fd))
    }

    /// A pcap or pcapng output on `file`, its header written.
    ///
    /// # Errors
    /// Writing the header failed.
    pub fn file(file: File, path: String, spec: &FileSpec) -> Result<Output, CliError> {
        let err = |source| CliError::Output {
            path: path.clone(),
            source,
        };
        Ok(match spec.format {
            FileFormat::Pcap => Output::Pcap {
                w: PcapWriter::new(file, spec.snaplen, spec.resolution).map_err(err)?,
                path,
            },
            FileFormat::Pcapng => Output::Pcapng {
                w: PcapngWriter::new(file, &spec.interface, spec.snaplen, spec.resolution)
                    .map_err(err)?,
                path,
                spilled: Vec::with_capacity(1024),
            },
        })
    }

    /// Records written so far (lines handed to stdout's buffer): what a
    /// failed write leaves counted.
    fn records(&self) -> u64 {
        match self {
            Output::Lines { printed, .. } => *printed,
            Output::Pcap { w, .. } => w.totals().packets,
            Output::Pcapng { w, .. } => w.totals().packets,
        }
    }

    /// The file's name (none for printed lines or stdout).
    fn path(&self) -> Option<&str> {
        match self {
            Output::Lines { .. } => None,
            Output::Pcap { path, .. } | Output::Pcapng { path, .. } => {
                (path != "-").then_some(path.as_str())
            }
        }
    }

    /// Bytes in the file so far.
    fn bytes(&self) -> u64 {
        match self {
            Output::Lines { .. } => 0,
            Output::Pcap { w, .. } => w.totals().bytes,
            Output::Pcapng { w, .. } => w.totals().bytes,
        }
    }

    /// Bytes the record of a `len`-byte frame takes in the file.
    fn record_len(&self, len: usize) -> u64 {
        match self {
            Output::Lines { .. } => 0,
            Output::Pcap { w, .. } => (RECORD_HEADER_LEN + len.min(w.snaplen() as usize)) as u64,
            Output::Pcapng { w, .. } => {
                let incl = len.min(w.snaplen() as usize);
                (EPB_HEADER_LEN + incl + (incl.wrapping_neg() & 3) + 4) as u64
            }
        }
    }

    /// Writes `batch`, packet `i` received at `ts[i]`.
    fn write(&mut self, ts: &[u64], batch: &mut [Packet]) -> Result<(), CliError> {
        debug_assert_eq!(ts.len(), batch.len());
        match self {
            Output::Lines {
                out,
                line,
                every_batch,
                last_flush_ns,
                printed,
                snaplen,
                dump,
                time,
            } => {
                let err = |source| CliError::Output {
                    path: "stdout".into(),
                    source,
                };
                for (p, &t) in batch.iter().zip(ts) {
                    line.clear();
                    // Writing into a String cannot fail.
                    let kept = &p[..p.len().min(*snaplen)];
                    let _ = time.write(line, t);
                    let _ = write_frame(line, kept, p.len());
                    let _ = write_dump(line, *dump, kept);
                    line.push('\n');
                    out.write_all(line.as_bytes()).map_err(err)?;
                    *printed += 1;
                }
                let now = ts.last().copied().unwrap_or(0);
                if *every_batch || now.saturating_sub(*last_flush_ns) >= LINE_FLUSH_INTERVAL_NS {
                    *last_flush_ns = now;
                    out.flush().map_err(err)?;
                }
                Ok(())
            }
            Output::Pcap { w, path } => {
                // Each record header goes into the packet's headroom, right before
                // the frame, so header and frame leave in one iovec, uncopied.
                // Packets of one poll share a timestamp: it is split once per run.
                let mut last = None;
                let mut split = (0, 0);
                for (p, &t) in batch.iter_mut().zip(ts) {
                    if last != Some(t) {
                        last = Some(t);
                        split = w.timestamp(t);
                    }
                    let (header, incl) = w.record_header_at(split, p.len());
                    // Load the frame's first line now: the misses on what the
                    // NIC wrote from another core then overlap here, instead of
                    // stalling one by one in the kernel's copy (pcapng's
                    // trailer store after the frame does this already).
                    std::hint::black_box(p.first().copied());
                    if p.prepend(&header).is_err() {
                        unreachable!("every buffer has {HEADROOM} bytes of headroom");
                    }
                    // Cut to the snapshot length (the buffer is done with after this).
                    p.truncate(RECORD_HEADER_LEN + incl);
                }
                w.write_record_slices(batch.iter().map(|p| &p[..]))
                    .map_err(|source| CliError::Output {
                        path: path.clone(),
                        source,
                    })
            }
            Output::Pcapng { w, path, spilled } => {
                // The EPB header goes into the headroom and, when the buffer has
                // room after the kept bytes, the trailer right after them: one
                // iovec per block. Otherwise the trailer is a second, small one
                // (`spilled`: packet index and trailer, in order).
                spilled.clear();
                for (i, (p, &t)) in batch.iter_mut().zip(ts).enumerate() {
                    let (header, trailer, incl) = w.epb(t, p.len());
                    if p.prepend(&header).is_err() {
                        unreachable!("every buffer has {HEADROOM} bytes of headroom");
                    }
                    let body = EPB_HEADER_LEN + incl;
                    let padded = trailer.padded();
                    if p.set_len(body + padded.len()).is_ok() {
                        // One 8-byte store; the block ends after trailer.len().
                        p[body..].copy_from_slice(&padded);
                        let _ = p.set_len(body + trailer.len());
                    } else if p.set_len(body + trailer.len()).is_ok() {
                        p[body..].copy_from_slice(trailer.as_bytes());
                    } else {
                        let _ = p.set_len(body);
                        spilled.push((i, trailer));
                    }
                }
                let mut spills = spilled.iter().peekable();
                let records = batch.iter().enumerate().map(|(i, p)| EpbRecord {
                    block: &p[..],
                    trailer: match spills.next_if(|(at, _)| *at == i) {
                        Some((_, t)) => t.as_bytes(),
                        None => &[],
                    },
                });
                w.write_record_iter(records)
                    .map_err(|source| CliError::Output {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// Flushes printed lines if due (`now_ns`).
    fn tick(&mut self, now_ns: u64) -> Result<(), CliError> {
        if let Output::Lines {
            out, last_flush_ns, ..
        } = self
        {
            if now_ns.saturating_sub(*last_flush_ns) >= LINE_FLUSH_INTERVAL_NS {
                *last_flush_ns = now_ns;
                out.flush().map_err(|source| CliError::Output {
                    path: "stdout".into(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Flushes printed lines; ends a pcapng file with its statistics block.
    ///
    /// # Errors
    /// The last write failed.
    pub fn finish(self, stats: &InterfaceStats) -> Result<(), CliError> {
        match self {
            Output::Lines { mut out, .. } => out.flush().map_err(|source| CliError::Output {
                path: "stdout".into(),
                source,
            }),
            Output::Pcap { w, .. } => {
                drop(w.finish());
                Ok(())
            }
            Output::Pcapng { mut w, path, .. } => match w.write_statistics(stats) {
                Ok(()) => Ok(()),
                Err(source) => {
                    // A torn statistics block is cut off: the file still reads.
                    if path != "-" {
                        let _ = w.cut_to_whole_records();
                    }
                    Err(CliError::Output { path, source })
                }
            },
        }
    }

    /// After a write error: cuts a file igbpoll created back to its last
    /// whole record and, for pcapng, ends it with its statistics block if that
    /// still fits, so that it reads cleanly (the packets in it are those
    /// counted as written). Printed lines and stdout are left as they are.
    fn salvage(self, stats: &InterfaceStats) {
        match self {
            Output::Pcap { mut w, path } if path != "-" => {
                if let Err(e) = w.cut_to_whole_records() {
                    log::warn!("{path}: cannot cut off the torn last record: {e}");
                }
            }
            Output::Pcapng { mut w, path, .. } if path != "-" => match w.cut_to_whole_records() {
                Ok(()) => {
                    if let Err(e) = w.write_statistics(stats) {
                        log::warn!("{path}: no room for the closing statistics block: {e}");
                        let _ = w.cut_to_whole_records();
                    }
                }
                Err(e) => log::warn!("{path}: cannot cut off the torn last block: {e}"),
            },
            _ => {}
        }
    }
}

/// The output and, with rotation, what comes after the current file.
pub struct Sink {
    out: Option<Output>,
    spec: Option<FileSpec>,
    rotator: Option<Rotator>,
    /// Packets in the current file.
    file_packets: u64,
    /// Packets written, all files together.
    pub(super) written: u64,
    /// Files opened.
    pub(super) files: u64,
    /// With `--per-queue`: the queue whose packets this sink writes (its
    /// rotated files' statistics blocks give that queue's counters).
    queue: Option<usize>,
    /// `-z`: the command run on every finished file.
    post: Option<PostRotate>,
}

impl Sink {
    /// A sink writing to `out`; `spec` and `rotator` are needed for rotation.
    pub fn new(out: Output, spec: Option<FileSpec>, rotator: Option<Rotator>) -> Sink {
        Sink {
            out: Some(out),
            spec,
            rotator,
            file_packets: 0,
            written: 0,
            files: 1,
            queue: None,
            post: None,
        }
    }

    /// Runs `post` (`-z`) on every file this sink finishes.
    pub fn with_post_rotate(mut self, post: Option<PostRotate>) -> Sink {
        self.post = post;
        self
    }

    /// The sink of queue `q` (`--per-queue`).
    pub fn of_queue(mut self, q: usize) -> Sink {
        self.queue = Some(q);
        self
    }

    /// When the current file must end, if time rotates files.
    pub(super) fn deadline_ns(&self) -> Option<u64> {
        self.out.as_ref()?;
        self.rotator.as_ref().and_then(Rotator::deadline_ns)
    }

    /// Writes the packets (packet `i` received at `ts[i]`), switching files
    /// before a packet that would go into a full or expired one. `Ok(false)`:
    /// the file count is reached and the capture ends (packets from there on
    /// are not written).
    pub(super) fn write(
        &mut self,
        ts: &[u64],
        pkts: &mut [Packet],
        live: &Live,
    ) -> Result<bool, CliError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(false);
        };
        let Some(rot) = &self.rotator else {
            let before = out.records();
            let res = out.write(ts, pkts);
            // On an error, what was written whole before it still counts.
            self.written += out.records() - before;
            if res.is_err() {
                self.salvage(live);
            }
            res?;
            return Ok(true);
        };
        let mut start = 0;
        let mut bytes = out.bytes();
        let mut packets = self.file_packets;
        let mut deadline = rot.deadline_ns().unwrap_or(u64::MAX);
        for i in 0..pkts.len() {
            let rot = self.rotator.as_ref().expect("rotating");
            if ts[i] >= deadline || rot.full(bytes, packets) {
                self.write_part(ts, pkts, start, i, live)?;
                start = i;
                if !self.rotate(ts[i], live)? {
                    return Ok(false);
                }
                let out = self.out.as_ref().expect("a file after rotation");
                bytes = out.bytes();
                packets = 0;
                deadline = self
                    .rotator
                    .as_ref()
                    .and_then(Rotator::deadline_ns)
                    .unwrap_or(u64::MAX);
            }
            let out = self.out.as_ref().expect("a file");
            bytes += out.record_len(pkts[i].len());
            packets += 1;
        }
        self.write_part(ts, pkts, start, pkts.len(), live)?;
        Ok(true)
    }

    fn write_part(
        &mut self,
        ts: &[u64],
        pkts: &mut [Packet],
        from: usize,
        to: usize,
        live: &Live,
    ) -> Result<(), CliError> {
        if to > from {
            let out = self.out.as_mut().expect("a file");
            let before = out.records();
            let res = out.write(&ts[from..to], &mut pkts[from..to]);
            let done = out.records() - before;
            self.written += done;
            self.file_packets += done;
            if res.is_err() {
                self.salvage(live);
            }
            res?;
        }
        Ok(())
    }

    /// The counters for this sink's file: the latest (or, `fresh`, a newer
    /// reading), narrowed to the queue with `--per-queue`.
    fn snapshot(&self, live: &Live, fresh: bool) -> Snapshot {
        let s = if fresh {
            live.fresh(FRESH_STATS_WAIT)
        } else {
            live.latest()
        };
        // A queue's file gives that queue's counters (as of the same reading).
        match self.queue.and_then(|q| live.queue(q)) {
            Some(mut q) => {
                q.at_ns = s.at_ns;
                q
            }
            None => s,
        }
    }

    /// After a write error: leaves the current file readable (see
    /// [`Output::salvage`]); nothing more is written to it.
    fn salvage(&mut self, live: &Live) {
        if let Some(out) = self.out.take() {
            let has_filter = self.spec.as_ref().is_some_and(|s| s.has_filter);
            let s = self.snapshot(live, false);
            out.salvage(&isb(&s, device::now_ns(), self.written, has_filter));
        }
    }

    /// Closes the current file (with fresh counters in a pcapng statistics
    /// block) and opens the next; `Ok(false)` when there is no next.
    fn rotate(&mut self, now_ns: u64, live: &Live) -> Result<bool, CliError> {
        let (Some(rot), Some(spec)) = (self.rotator.as_mut(), self.spec.as_ref()) else {
            return Ok(true);
        };
        let next = rot.next(now_ns).map_err(CliError::Usage)?;
        let fresh = spec.format == FileFormat::Pcapng;
        let has_filter = spec.has_filter;
        if let Some(out) = self.out.take() {
            let s = self.snapshot(live, fresh);
            let path = out.path().map(PathBuf::from);
            out.finish(&isb(&s, device::now_ns(), self.written, has_filter))?;
            if let (Some(post), Some(path)) = (self.post.as_mut(), path) {
                post.run(&path);
            }
        }
        match next {
            Next::Stop => Ok(false),
            Next::Open { path, delete } => {
                let name = path.display().to_string();
                let file = Output::create(&name)?;
                self.out = Some(Output::file(file, name, spec)?);
                self.file_packets = 0;
                self.files += 1;
                if let Some(old) = delete {
                    remove_old(&old);
                }
                Ok(true)
            }
        }
    }

    /// Switches files on time and flushes lines while no packets come.
    pub(super) fn tick(&mut self, now_ns: u64, live: &Live) -> Result<bool, CliError> {
        if let Some(out) = self.out.as_mut() {
            out.tick(now_ns)?;
        }
        match self.rotator.as_ref().and_then(Rotator::deadline_ns) {
            Some(d) if now_ns >= d && self.out.is_some() => self.rotate(now_ns, live),
            _ => Ok(true),
        }
    }

    /// Ends the last file with the final counters.
    pub(super) fn finish(&mut self, last: &Snapshot) -> Result<(), CliError> {
        let has_filter = self.spec.as_ref().is_some_and(|s| s.has_filter);
        let res = match self.out.take() {
            Some(out) => {
                let path = out.path().map(PathBuf::from);
                let res = out.finish(&isb(last, last.at_ns, self.written, has_filter));
                if let (Some(post), Some(path), true) = (self.post.as_mut(), path, res.is_ok()) {
                    post.run(&path);
                }
                res
            }
            None => Ok(()),
        };
        if let Some(post) = self.post.as_mut() {
            if post.running() > 0 {
                log::info!("waiting for {} run(s) of the -z command", post.running());
            }
            post.reap(true);
        }
        res
    }

    /// `-z`: runs started and runs failed.
    pub(super) fn post_rotate_runs(&self) -> Option<(u64, u64)> {
        self.post.as_ref().map(|p| (p.started, p.failed))
    }
}

fn remove_old(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            log::warn!("cannot delete {} (files:N): {e}", path.display());
        }
    }
}

/// What the writer thread did.
#[derive(Debug, Default)]
pub struct WriterReport {
    /// Packets taken from the ring.
    pub received: u64,
    /// Packets written (all files).
    pub written: u64,
    /// Files opened.
    pub files: u64,
    /// `-z`: runs of the command started, and those that failed.
    pub post_rotate: Option<(u64, u64)>,
    /// The file count of `-G … -W` ended the capture.
    pub file_limit: bool,
    /// The write error that stopped the writer.
    pub error: Option<CliError>,
    /// Time spent writing batches (and returning their buffers).
    pub busy: Duration,
    /// CPU time of the writer thread.
    pub cpu_ns: Option<u64>,
}

/// The writer thread's body: runs until the receive thread drops its end of
/// `ring` and everything in it is written; then ends the last file with the
/// final counters (the receive thread publishes them before it lets go).
/// It polls an empty ring `spins` times before it parks
/// ([`super::live::writer_spins`]).
pub fn run(
    mut sink: Sink,
    mut ring: Consumer<Batch>,
    mut free: Producer<Vec<Packet>>,
    live: &Live,
    spins: u32,
) -> WriterReport {
    let cpu0 = thread_cpu_ns();
    let mut r = WriterReport::default();
    let mut popped: Vec<Batch> = Vec::with_capacity(POP_MAX);
    let mut pkts: Vec<Packet> = Vec::with_capacity(4096);
    let mut stamps: Vec<u64> = Vec::with_capacity(4096);
    let mut spare: Vec<Vec<Packet>> = Vec::with_capacity(POP_MAX);
    let mut idle = 0u32;
    let mut writing = true;
    loop {
        if ring.pop_batch(&mut popped, POP_MAX) == 0 {
            match ring.try_pop() {
                Ok(b) => popped.push(b),
                Err(PopError::Closed) => break,
                Err(PopError::Empty) => {
                    idle += 1;
                    if idle < spins {
                        std::hint::spin_loop();
                        continue;
                    }
                    // Say we sleep, then look once more: the receive thread
                    // pushes, then checks the flag (both behind SeqCst fences),
                    // so one of us sees the other.
                    live.writer_parked.store(true, Ordering::Relaxed);
                    fence(Ordering::SeqCst);
                    if ring.is_empty() {
                        std::thread::park_timeout(IDLE_WAKE);
                    }
                    live.writer_parked.store(false, Ordering::Relaxed);
                    if writing {
                        match sink.tick(device::now_ns(), live) {
                            Ok(true) => {}
                            Ok(false) => {
                                writing = false;
                                r.file_limit = true;
                                live.writer_stopped.store(true, Ordering::Relaxed);
                            }
                            Err(e) => {
                                writing = false;
                                r.error = Some(e);
                                live.writer_stopped.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    continue;
                }
            }
        }
        idle = 0;
        let t0 = Instant::now();
        for mut b in popped.drain(..) {
            stamps.extend(std::iter::repeat_n(b.ts_ns, b.packets.len()));
            pkts.append(&mut b.packets);
            spare.push(b.packets);
        }
        let n = pkts.len() as u64;
        let before = sink.written;
        if writing {
            let res = sink.write(&stamps, &mut pkts, live);
            if !matches!(res, Ok(true)) {
                writing = false;
                live.writer_stopped.store(true, Ordering::Relaxed);
                match res {
                    Err(e) => r.error = Some(e),
                    _ => r.file_limit = true,
                }
            }
        }
        // The written packets go back to the receive thread, which drops
        // them into the pool on its own core, where the pool's free queue is
        // hot (dropping them here made every buffer's return a cache-line
        // transfer between the cores). Vectors that do not fit in the return
        // ring are dropped here, packets and all.
        stamps.clear();
        r.received += n;
        live.add_written(sink.written - before);
        if let Some(empty) = spare.pop() {
            let full = std::mem::replace(&mut pkts, empty);
            if let Err(Full(mut v)) = free.push(full) {
                live.add_dropped_by_writer(v.len() as u64);
                v.clear();
            }
        }
        for v in spare.drain(..) {
            let _ = free.push(v);
        }
        if !pkts.is_empty() {
            live.add_dropped_by_writer(pkts.len() as u64);
            pkts.clear();
        }
        r.busy += t0.elapsed();
    }
    if writing {
        if let Err(e) = sink.finish(&live.latest()) {
            r.error = Some(e);
        }
    }
    r.written = sink.written;
    r.files = sink.files;
    r.post_rotate = sink.post_rotate_runs();
    r.cpu_ns = cpu0.and_then(|a| thread_cpu_ns().map(|b| b.saturating_sub(a)));
    r
}
