//! Classic pcap output with gathered writes.
//!
//! [`PcapWriter`] writes the 24-byte global header when created, then one
//! record per frame. A batch of frames becomes [`Write::write_vectored`] calls
//! of at most [`IOV_MAX`] [`IoSlice`]s each: a 16-byte record header (built in
//! a reusable buffer owned by the writer) followed by the frame bytes borrowed
//! straight from the caller's packet buffer. Packet bytes are never copied and
//! there is no per-packet call: with [`std::fs::File`] (also a pipe or socket
//! descriptor turned into a `File` through [`std::os::fd::OwnedFd`]) each
//! call is one `writev` system call.
//!
//! Short writes are resumed where the writer stopped,
//! [`io::ErrorKind::Interrupted`] is retried, and `Ok(0)` becomes
//! [`io::ErrorKind::WriteZero`]. [`io::ErrorKind::WouldBlock`] (a descriptor
//! in non-blocking mode whose buffer is full) is retried after a short sleep
//! that doubles from 20 µs up to 1 ms while no progress is made, so a
//! non-blocking output behaves like a blocking one, as it did when this writer
//! waited with `poll`; it never reports `WouldBlock` to the caller.
//!
//! `File` writes go straight to the descriptor, so there is nothing to flush.
//! A buffered `W` ([`std::io::Stdout`], [`std::io::BufWriter`]) needs
//! [`PcapWriter::flush`] before [`PcapWriter::finish`]. For pcap on stdout
//! prefer a `File` made from a clone of stdout's descriptor
//! (`io::stdout().as_fd().try_clone_to_owned()`), which bypasses Rust's
//! line-buffered stdout; then do not interleave `print!` with the writer.

#![forbid(unsafe_code)]

use std::io::{self, IoSlice, Write};
use std::time::Duration;
/// `LINKTYPE_ETHERNET`: the only link type this writer emits.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Magic number of a pcap file with microsecond timestamps.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a pcap file with nanosecond timestamps.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Slices per `write_vectored` call (Linux `IOV_MAX`: one `writev`).
pub const IOV_MAX: usize = 1024;
/// Size of the pcap global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Size of a pcap record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Default snapshot length, as tcpdump uses.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Records (header + data slice pairs) per `write_vectored` call.
const RECORDS_PER_CALL: usize = IOV_MAX / 2;
const NANOS_PER_SEC: u64 = 1_000_000_000;
/// First sleep after [`io::ErrorKind::WouldBlock`]; doubled while no progress is made.
pub(crate) const WOULD_BLOCK_SLEEP_MIN: Duration = Duration::from_micros(20);
/// Longest sleep after [`io::ErrorKind::WouldBlock`].
const WOULD_BLOCK_SLEEP_MAX: Duration = Duration::from_millis(1);

/// Timestamp resolution of the file, chosen by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Microseconds ([`MAGIC_MICROS`]), readable by every pcap tool.
    Micros,
    /// Nanoseconds ([`MAGIC_NANOS`]).
    Nanos,
}

impl Resolution {
    /// The file's magic number.
    pub fn magic(self) -> u32 {
        match self {
            Resolution::Micros => MAGIC_MICROS,
            Resolution::Nanos => MAGIC_NANOS,
        }
    }
}

/// One frame to record: its timestamp and the bytes as received.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Receive time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The frame as seen on the wire (without FCS); it is truncated to the
    /// snapshot length in the file, and its full length becomes `orig_len`.
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    /// A frame received at `ts_ns` (nanoseconds since the Unix epoch).
    pub fn new(ts_ns: u64, data: &'a [u8]) -> Self {
        Frame { ts_ns, data }
    }
}

/// What a writer has written so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records written.
    pub packets: u64,
    /// Bytes written to the output, global and record headers included.
    pub bytes: u64,
}

/// Writes classic pcap (Ethernet link type) to any [`Write`] with gathered writes.
///
/// `W` is typically [`std::fs::File`] (a file, or a pipe, socket or stdout
/// descriptor: `File::from(owned_fd)`), whose `write_vectored` is one `writev`.
/// Any `W` works, but one that keeps the default `write_vectored` writes one
/// slice per call. A buffered `W` must be flushed with [`PcapWriter::flush`].
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
    resolution: Resolution,
    /// Record headers of the chunk being written, reused from chunk to chunk
    /// (capacity for a full chunk is reserved up front).
    headers: Vec<u8>,
    totals: Totals,
    /// Set when a write failed part-way: the stream may end in a partial
    /// record, so later writes are refused.
    failed: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out` and returns a writer for records.
    ///
    /// `snaplen` is the most bytes of a frame stored per record (0 is taken
    /// as [`DEFAULT_SNAPLEN`]).
    ///
    /// # Errors
    /// Any error from writing the header.
    pub fn new(mut out: W, snaplen: u32, resolution: Resolution) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let header = global_header(snaplen, resolution);
        write_all_vectored(&mut out, &[IoSlice::new(&header)])?;
        Ok(PcapWriter {
            out,
            snaplen,
            resolution,
            headers: Vec::with_capacity(RECORDS_PER_CALL * RECORD_HEADER_LEN),
            totals: Totals {
                packets: 0,
                bytes: GLOBAL_HEADER_LEN as u64,
            },
            failed: false,
        })
    }

    /// The snapshot length in the file header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The timestamp resolution of the file.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Packets and bytes written so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Writes one record. Prefer [`PcapWriter::write_batch`] for many frames.
    ///
    /// # Errors
    /// As for [`PcapWriter::write_batch`].
    pub fn write_packet(&mut self, ts_ns: u64, data: &[u8]) -> io::Result<()> {
        self.write_batch(&[Frame::new(ts_ns, data)])
    }

    /// Writes one record per frame, in order, with as few `write_vectored`
    /// calls as possible (one per 512 frames unless the output takes less).
    ///
    /// # Errors
    /// The output's error (`EPIPE` as [`io::ErrorKind::BrokenPipe`], …),
    /// or [`io::ErrorKind::WriteZero`]. After an error the stream may end in a
    /// partial record, so this writer refuses further writes.
    pub fn write_batch(&mut self, frames: &[Frame<'_>]) -> io::Result<()> {
        self.check_usable()?;
        for chunk in frames.chunks(RECORDS_PER_CALL) {
            if let Err(e) = self.write_chunk(chunk) {
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// The 16-byte record header for a frame of `len` bytes captured at `ts_ns`,
    /// and how many of its bytes the record keeps (the snaplen applied).
    pub fn record_header(&self, ts_ns: u64, len: usize) -> ([u8; RECORD_HEADER_LEN], usize) {
        self.record_header_at(self.timestamp(ts_ns), len)
    }

    /// `ts_ns` as the record header's seconds and fraction (in the file's
    /// resolution): computed once for many frames received together, it
    /// saves [`PcapWriter::record_header`]'s divisions per frame.
    pub fn timestamp(&self, ts_ns: u64) -> (u32, u32) {
        split_timestamp(ts_ns, self.resolution)
    }

    /// As [`PcapWriter::record_header`], with the timestamp already split by
    /// [`PcapWriter::timestamp`].
    #[inline]
    pub fn record_header_at(&self, ts: (u32, u32), len: usize) -> ([u8; RECORD_HEADER_LEN], usize) {
        let incl = len.min(self.snaplen as usize);
        let orig = u32::try_from(len).unwrap_or(u32::MAX);
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&ts.0.to_ne_bytes());
        h[4..8].copy_from_slice(&ts.1.to_ne_bytes());
        h[8..12].copy_from_slice(&(incl as u32).to_ne_bytes());
        h[12..16].copy_from_slice(&orig.to_ne_bytes());
        (h, incl)
    }

    /// Writes records that are already laid out as header and data in one
    /// slice each — typically the header from [`PcapWriter::record_header`]
    /// placed in a packet buffer's headroom, right before the frame — so each
    /// record is a single iovec: half the segments of [`PcapWriter::write_batch`]
    /// and still no copy of packet bytes.
    ///
    /// # Errors
    /// As for [`PcapWriter::write_batch`].
    pub fn write_records(&mut self, records: &[&[u8]]) -> io::Result<()> {
        self.write_record_slices(records.iter().copied())
    }

    /// As [`PcapWriter::write_records`], from an iterator, so the caller need
    /// not collect the records first: [`IOV_MAX`] of them per
    /// `write_vectored` call.
    ///
    /// # Errors
    /// As for [`PcapWriter::write_batch`].
    pub fn write_record_slices<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        self.check_usable()?;
        let mut records = records.into_iter();
        // Sized for the records at hand: filling a whole IOV_MAX array per
        // call cost more than the call itself when batches are small.
        let mut slices: Vec<IoSlice<'a>> =
            Vec::with_capacity(records.size_hint().0.clamp(1, IOV_MAX));
        loop {
            slices.clear();
            let mut bytes = 0usize;
            for r in records.by_ref().take(IOV_MAX) {
                slices.push(IoSlice::new(r));
                bytes += r.len();
            }
            let used = slices.len();
            if used == 0 {
                return Ok(());
            }
            if let Err(f) = write_all_vectored_len(&mut self.out, &slices, bytes) {
                self.record_failure(&slices, f.written);
                return Err(f.error);
            }
            self.totals.packets += used as u64;
            self.totals.bytes += bytes as u64;
            if used < IOV_MAX {
                return Ok(());
            }
        }
    }

    /// Flushes the output, for a buffered `W`; a `File` has nothing to flush.
    /// `Interrupted` and `WouldBlock` are retried as for records.
    ///
    /// # Errors
    /// The output's error; this writer then refuses further writes.
    pub fn flush(&mut self) -> io::Result<()> {
        self.check_usable()?;
        let mut backoff = WOULD_BLOCK_SLEEP_MIN;
        loop {
            match self.out.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => sleep_backoff(&mut backoff),
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other(
                "pcap writer stopped after an earlier write error",
            ))
        } else {
            Ok(())
        }
    }

    fn write_chunk(&mut self, chunk: &[Frame<'_>]) -> io::Result<()> {
        debug_assert!(chunk.len() <= RECORDS_PER_CALL);
        self.headers.clear();
        let mut bytes = 0u64;
        for frame in chunk {
            let incl = incl_len(self.snaplen, frame.data);
            let orig = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
            let (sec, frac) = split_timestamp(frame.ts_ns, self.resolution);
            self.headers.extend_from_slice(&sec.to_ne_bytes());
            self.headers.extend_from_slice(&frac.to_ne_bytes());
            self.headers.extend_from_slice(&(incl as u32).to_ne_bytes());
            self.headers.extend_from_slice(&orig.to_ne_bytes());
            bytes += (RECORD_HEADER_LEN + incl) as u64;
        }
        // 16 KiB on the stack, no allocation; the slices borrow `headers` and
        // the caller's frames only until this function returns.
        let mut slices = [IoSlice::new(&[]); IOV_MAX];
        let mut used = 0;
        for (frame, header) in chunk
            .iter()
            .zip(self.headers.chunks_exact(RECORD_HEADER_LEN))
        {
            slices[used] = IoSlice::new(header);
            used += 1;
            let incl = incl_len(self.snaplen, frame.data);
            if incl > 0 {
                slices[used] = IoSlice::new(&frame.data[..incl]);
                used += 1;
            }
        }
        if let Err(f) = write_all_vectored_len(&mut self.out, &slices[..used], bytes as usize) {
            // Inline (not `record_failure`): the slices borrow `headers`.
            let (records, bytes) = whole_records(&slices[..used], f.written, pcap_record_len);
            self.totals.packets += records;
            self.totals.bytes += bytes;
            self.failed = true;
            return Err(f.error);
        }
        self.totals.packets += chunk.len() as u64;
        self.totals.bytes += bytes;
        Ok(())
    }

    /// After a write of `slices` failed with `written` bytes out: counts the
    /// records left whole and stops the writer (the output may end in part
    /// of a record).
    fn record_failure(&mut self, slices: &[IoSlice<'_>], written: usize) {
        let (records, bytes) = whole_records(slices, written, pcap_record_len);
        self.totals.packets += records;
        self.totals.bytes += bytes;
        self.failed = true;
    }

    /// Ends the capture and hands back the output and the totals.
    ///
    /// Nothing is flushed: call [`PcapWriter::flush`] first for a buffered `W`.
    pub fn finish(self) -> (W, Totals) {
        (self.out, self.totals)
    }
}

/// Bytes of a frame stored in the file: `min(len, snaplen)`.
fn incl_len(snaplen: u32, data: &[u8]) -> usize {
    data.len().min(snaplen as usize)
}

/// The 24-byte global header, in host byte order as libpcap writes it.
fn global_header(snaplen: u32, resolution: Resolution) -> [u8; GLOBAL_HEADER_LEN] {
    let mut h = [0u8; GLOBAL_HEADER_LEN];
    h[0..4].copy_from_slice(&resolution.magic().to_ne_bytes());
    h[4..6].copy_from_slice(&2u16.to_ne_bytes()); // version major
    h[6..8].copy_from_slice(&4u16.to_ne_bytes()); // version minor
                                                  // thiszone (i32) and sigfigs (u32) stay 0.
    h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
    h
}

/// Seconds (truncated to pcap's 32 bits) and fraction in the file's resolution.
fn split_timestamp(ts_ns: u64, resolution: Resolution) -> (u32, u32) {
    let sec = (ts_ns / NANOS_PER_SEC) as u32;
    let nanos = (ts_ns % NANOS_PER_SEC) as u32;
    match resolution {
        Resolution::Nanos => (sec, nanos),
        Resolution::Micros => (sec, nanos / 1000),
    }
}

/// Sleeps for `backoff`, then doubles it up to [`WOULD_BLOCK_SLEEP_MAX`].
pub(crate) fn sleep_backoff(backoff: &mut Duration) {
    std::thread::sleep(*backoff);
    *backoff = (*backoff * 2).min(WOULD_BLOCK_SLEEP_MAX);
}

/// Writes every byte of `bufs` with as few `write_vectored` calls as `out`
/// allows (`bufs` should hold at most [`IOV_MAX`] slices).
///
/// A short write advances through the slices (shortening the one it stopped
/// in) and continues; `Interrupted` retries at once; `WouldBlock` sleeps
/// (20 µs, doubling up to 1 ms until the next progress) and retries; `Ok(0)`
/// is a [`io::ErrorKind::WriteZero`] error, and a count larger than what was
/// offered an [`io::ErrorKind::InvalidData`] error.
pub(crate) fn write_all_vectored<W: Write + ?Sized>(
    out: &mut W,
    bufs: &[IoSlice<'_>],
) -> io::Result<()> {
    let total = bufs.iter().map(|b| b.len()).sum();
    write_all_vectored_len(out, bufs, total).map_err(|f| f.error)
}

/// A gathered write that failed after `written` bytes had gone out.
#[derive(Debug)]
pub(crate) struct WriteFailure {
    /// Bytes of the slices written before the error.
    pub written: usize,
    /// The error.
    pub error: io::Error,
}

/// [`write_all_vectored`] for slices whose lengths add up to `total` (the
/// caller counted them while filling the slices). The slices are left as
/// given (a short write continues on a copy of the rest), so a caller can
/// tell from them which records the bytes written before a failure hold.
///
/// # Errors
/// As for [`write_all_vectored`], with the bytes written before the error.
pub(crate) fn write_all_vectored_len<W: Write + ?Sized>(
    out: &mut W,
    bufs: &[IoSlice<'_>],
    total: usize,
) -> Result<(), WriteFailure> {
    let mut rest: Vec<IoSlice<'_>> = Vec::new();
    let mut remaining = total;
    let mut backoff = WOULD_BLOCK_SLEEP_MIN;
    let fail = |remaining: usize, error| WriteFailure {
        written: total - remaining,
        error,
    };
    while remaining > 0 {
        let slices: &[IoSlice<'_>] = if remaining == total { bufs } else { &rest };
        match out.write_vectored(slices) {
            Ok(0) => {
                return Err(fail(
                    remaining,
                    io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write whole pcap record: output wrote nothing",
                    ),
                ))
            }
            Ok(n) if n > remaining => {
                return Err(fail(
                    remaining,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "output reported writing more bytes than it was given",
                    ),
                ))
            }
            // The usual case: everything written, no slice to walk past.
            Ok(n) if n == remaining => return Ok(()),
            Ok(n) => {
                if remaining == total {
                    rest.extend_from_slice(bufs);
                }
                remaining -= n;
                let left = {
                    let mut view: &mut [IoSlice<'_>] = &mut rest;
                    IoSlice::advance_slices(&mut view, n);
                    view.len()
                };
                rest.drain(..rest.len() - left);
                backoff = WOULD_BLOCK_SLEEP_MIN;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => sleep_backoff(&mut backoff),
            Err(e) => return Err(fail(remaining, e)),
        }
    }
    Ok(())
}

/// Of `slices` (records laid end to end, each starting in a slice of its own
/// that begins with its header, from which `record_len` reads the record's
/// whole length), the records and bytes entirely within the first `written`
/// bytes: what a failed write left whole in the output.
pub(crate) fn whole_records(
    slices: &[IoSlice<'_>],
    written: usize,
    record_len: impl Fn(&[u8]) -> Option<usize>,
) -> (u64, u64) {
    let (mut records, mut bytes) = (0u64, 0usize);
    let mut i = 0;
    while let Some(first) = slices.get(i) {
        let Some(len) = record_len(first) else { break };
        if bytes + len > written {
            break;
        }
        let mut need = len;
        while need > 0 {
            match slices.get(i) {
                Some(s) if s.len() <= need => {
                    need -= s.len();
                    i += 1;
                }
                _ => return (records, bytes as u64),
            }
        }
        // Empty slices between records belong to neither.
        while slices.get(i).is_some_and(|s| s.is_empty()) {
            i += 1;
        }
        records += 1;
        bytes += len;
    }
    (records, bytes as u64)
}

/// A pcap record's whole length, from its header.
fn pcap_record_len(header: &[u8]) -> Option<usize> {
    let incl = header.get(8..12)?;
    Some(RECORD_HEADER_LEN + u32::from_ne_bytes([incl[0], incl[1], incl[2], incl[3]]) as usize)
}

impl PcapWriter<std::fs::File> {
    /// After a failed write: cuts the file back to its last whole record (so
    /// every reader takes it without a "cut short" complaint) and lets the
    /// writer go on from there. Only for a file this writer wrote from its
    /// start.
    ///
    /// # Errors
    /// The file cannot be truncated (a pipe, a socket) or sought.
    pub fn cut_to_whole_records(&mut self) -> io::Result<()> {
        cut_file(&mut self.out, self.totals.bytes)?;
        self.failed = false;
        Ok(())
    }
}

/// Truncates `file` to `len` bytes and puts its offset there.
pub(crate) fn cut_file(file: &mut std::fs::File, len: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "not a regular file: it cannot be cut back",
        ));
    }
    file.set_len(len)?;
    file.seek(SeekFrom::Start(len))?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;
    use pcap_file::{DataLink, TsResolution};
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    use std::path::PathBuf;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("igbpoll-{}-{name}.pcap", std::process::id()))
    }

    /// A frame whose bytes encode its index, so mix-ups show.
    fn frame_bytes(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 7 + j) as u8).collect()
    }

    fn frames_of(datas: &[Vec<u8>], ts: impl Fn(usize) -> u64) -> Vec<Frame<'_>> {
        datas
            .iter()
            .enumerate()
            .map(|(i, d)| Frame::new(ts(i), d))
            .collect()
    }

    /// Reads a whole pcap stream back with the pcap-file crate.
    ///
    /// Uses raw records: pcap-file 2's validated `next_packet` wrongly rejects
    /// `orig_len > snaplen`, which is exactly what a truncated record is.
    fn read_back(bytes: &[u8]) -> (pcap_file::pcap::PcapHeader, Vec<(Duration, u32, Vec<u8>)>) {
        let mut reader = PcapReader::new(bytes).expect("valid pcap header");
        let header = reader.header();
        let mut packets = Vec::new();
        while let Some(raw) = reader.next_raw_packet() {
            let raw = raw.expect("valid record");
            let nanos = match header.ts_resolution {
                TsResolution::MicroSecond => raw.ts_frac * 1000,
                TsResolution::NanoSecond => raw.ts_frac,
            };
            assert!(nanos < 1_000_000_000);
            assert_eq!(raw.incl_len as usize, raw.data.len());
            let ts = Duration::new(raw.ts_sec.into(), nanos);
            packets.push((ts, raw.orig_len, raw.data.into_owned()));
        }
        (header, packets)
    }

    /// Checks every record with pcap-file's validating reader too.
    fn validated_count(bytes: &[u8]) -> usize {
        let mut reader = PcapReader::new(bytes).expect("valid pcap header");
        let mut n = 0;
        while let Some(packet) = reader.next_packet() {
            packet.expect("valid record");
            n += 1;
        }
        n
    }

    /// What a [`Scripted`] output does on its `call`-th call (from 1).
    #[derive(Clone, Copy)]
    enum Step {
        /// Accept at most this many bytes.
        Take(usize),
        /// Fail with this error kind.
        Fail(io::ErrorKind),
        /// Fail with this OS error.
        Os(i32),
        /// Report writing more than was offered.
        Overcount,
    }

    /// A fault-injecting output. It implements `write_vectored` itself (the
    /// default one would only ever show it the first non-empty slice) and
    /// records what every call was offered.
    #[derive(Debug)]
    struct Scripted {
        script: fn(usize) -> Step,
        sink: Vec<u8>,
        calls: usize,
        would_blocks: usize,
        short_writes: usize,
        /// Slices offered per call.
        slice_counts: Vec<usize>,
        /// (address, length) of every slice offered to a call that accepted
        /// everything, i.e. what reached the "kernel" without being copied.
        accepted_slices: Vec<(usize, usize)>,
    }

    impl Scripted {
        fn new(script: fn(usize) -> Step) -> Self {
            Scripted {
                script,
                sink: Vec::new(),
                calls: 0,
                would_blocks: 0,
                short_writes: 0,
                slice_counts: Vec::new(),
                accepted_slices: Vec::new(),
            }
        }

        /// Takes everything, every time.
        fn accepting() -> Self {
            Scripted::new(|_| Step::Take(usize::MAX))
        }
    }

    impl Write for Scripted {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            self.slice_counts.push(bufs.len());
            match (self.script)(self.calls) {
                Step::Take(limit) => {
                    let offered: usize = bufs.iter().map(|b| b.len()).sum();
                    let mut taken = 0;
                    for buf in bufs {
                        if taken == limit {
                            break;
                        }
                        let n = buf.len().min(limit - taken);
                        self.sink.extend_from_slice(&buf[..n]);
                        taken += n;
                    }
                    if taken < offered {
                        self.short_writes += 1;
                    } else {
                        self.accepted_slices
                            .extend(bufs.iter().map(|b| (b.as_ptr() as usize, b.len())));
                    }
                    Ok(taken)
                }
                Step::Fail(kind) => {
                    if kind == io::ErrorKind::WouldBlock {
                        self.would_blocks += 1;
                    }
                    Err(kind.into())
                }
                Step::Os(code) => Err(io::Error::from_raw_os_error(code)),
                Step::Overcount => Ok(bufs.iter().map(|b| b.len()).sum::<usize>() + 1),
            }
        }

        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Counts what a real output did: short writes and `WouldBlock`s.
    struct Observed<W> {
        inner: W,
        short_writes: usize,
        would_blocks: usize,
    }

    impl<W: Write> Write for Observed<W> {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let offered: usize = bufs.iter().map(|b| b.len()).sum();
            let result = self.inner.write_vectored(bufs);
            match &result {
                Ok(n) if *n < offered => self.short_writes += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.would_blocks += 1,
                _ => {}
            }
            result
        }

        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    #[test]
    fn round_trip_through_pcap_file_crate() {
        for resolution in [Resolution::Nanos, Resolution::Micros] {
            let path = temp_path(&format!("roundtrip-{resolution:?}"));
            let file = File::create(&path).unwrap();
            let mut writer = PcapWriter::new(file, 0, resolution).unwrap();
            let datas: Vec<Vec<u8>> = [60, 1514, 0, 9000, 64]
                .iter()
                .enumerate()
                .map(|(i, &len)| frame_bytes(i, len))
                .collect();
            let base = 1_700_000_000_123_456_789u64;
            let frames = frames_of(&datas, |i| base + i as u64 * 1_001);
            writer.write_batch(&frames[..3]).unwrap();
            writer
                .write_packet(frames[3].ts_ns, frames[3].data)
                .unwrap();
            writer.write_batch(&frames[4..]).unwrap();
            writer.write_batch(&[]).unwrap();
            writer.flush().unwrap();
            let (file, totals) = writer.finish();
            drop(file);

            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(totals.packets, 5);
            assert_eq!(totals.bytes, bytes.len() as u64);
            assert_eq!(validated_count(&bytes), 5);
            let (header, packets) = read_back(&bytes);
            assert_eq!(header.datalink, DataLink::ETHERNET);
            assert_eq!(header.snaplen, DEFAULT_SNAPLEN);
            assert_eq!((header.version_major, header.version_minor), (2, 4));
            assert_eq!(packets.len(), 5);
            for (i, (ts, orig_len, data)) in packets.iter().enumerate() {
                let ns = base + i as u64 * 1_001;
                let expect_ns = match resolution {
                    Resolution::Nanos => {
                        assert_eq!(header.ts_resolution, TsResolution::NanoSecond);
                        ns
                    }
                    Resolution::Micros => {
                        assert_eq!(header.ts_resolution, TsResolution::MicroSecond);
                        ns / 1000 * 1000
                    }
                };
                assert_eq!(*ts, Duration::from_nanos(expect_ns), "packet {i}");
                assert_eq!(*orig_len as usize, datas[i].len());
                assert_eq!(data, &datas[i], "packet {i}");
            }
        }
    }

    #[test]
    fn snaplen_truncates_but_keeps_orig_len() {
        let path = temp_path("snaplen");
        let mut writer =
            PcapWriter::new(File::create(&path).unwrap(), 64, Resolution::Micros).unwrap();
        let long = frame_bytes(1, 100);
        let short = frame_bytes(2, 40);
        let exact = frame_bytes(3, 64);
        writer
            .write_batch(&[
                Frame::new(1, &long),
                Frame::new(2, &short),
                Frame::new(3, &exact),
            ])
            .unwrap();
        let (_, totals) = writer.finish();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(totals.bytes as usize, bytes.len());
        assert_eq!(
            bytes.len(),
            GLOBAL_HEADER_LEN + 3 * RECORD_HEADER_LEN + 64 + 40 + 64
        );
        let (header, packets) = read_back(&bytes);
        assert_eq!(header.snaplen, 64);
        assert_eq!(packets[0].1, 100);
        assert_eq!(packets[0].2, &long[..64]);
        assert_eq!(packets[1].1, 40);
        assert_eq!(packets[1].2, short);
        assert_eq!(packets[2].1, 64);
        assert_eq!(packets[2].2, exact);
    }

    #[test]
    fn batches_larger_than_iov_max_are_split() {
        let path = temp_path("many");
        let mut writer =
            PcapWriter::new(File::create(&path).unwrap(), 0, Resolution::Nanos).unwrap();
        let datas: Vec<Vec<u8>> = (0..1500).map(|i| frame_bytes(i, 60 + i % 50)).collect();
        let frames = frames_of(&datas, |i| i as u64);
        writer.write_batch(&frames).unwrap();
        let (_, totals) = writer.finish();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(totals.packets, 1500);
        assert_eq!(totals.bytes as usize, bytes.len());
        let (_, packets) = read_back(&bytes);
        assert_eq!(packets.len(), 1500);
        for (i, (ts, _, data)) in packets.iter().enumerate() {
            assert_eq!(*ts, Duration::from_nanos(i as u64));
            assert_eq!(data, &datas[i]);
        }
    }

    #[test]
    fn laid_out_records_go_out_one_iovec_each_at_most_iov_max_per_call() {
        let datas: Vec<Vec<u8>> = (0..2500).map(|i| frame_bytes(i, 60 + i % 50)).collect();
        let mut writer = PcapWriter::new(Scripted::accepting(), 0, Resolution::Nanos).unwrap();
        let records: Vec<Vec<u8>> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (h, _) = writer.record_header_at((i as u32, 7), d.len());
                [&h[..], d].concat()
            })
            .collect();
        writer
            .write_record_slices(records.iter().map(Vec::as_slice))
            .unwrap();
        // An empty call writes nothing.
        writer.write_record_slices(std::iter::empty()).unwrap();
        let (out, totals) = writer.finish();
        assert_eq!(totals.packets, 2500);
        // The global header, then 1024 + 1024 + 452 records of one slice each.
        assert_eq!(out.slice_counts, [1, IOV_MAX, IOV_MAX, 452]);
        let (_, packets) = read_back(&out.sink);
        assert_eq!(packets.len(), 2500);
        for (i, (_, _, data)) in packets.iter().enumerate() {
            assert_eq!(data, &datas[i]);
        }
    }

    #[test]
    fn one_gathered_call_per_512_frames_and_frames_are_not_copied() {
        let datas: Vec<Vec<u8>> = (0..1500).map(|i| frame_bytes(i, 60 + i % 50)).collect();
        let frames = frames_of(&datas, |i| i as u64);
        let mut writer = PcapWriter::new(Scripted::accepting(), 0, Resolution::Nanos).unwrap();
        writer.write_batch(&frames).unwrap();
        let (out, _) = writer.finish();
        // The global header, then 512 + 512 + 476 records of two slices each.
        assert_eq!(out.slice_counts, [1, IOV_MAX, IOV_MAX, 2 * 476]);
        // Every data slice is the caller's own buffer, not a copy.
        let data_slices: Vec<(usize, usize)> = out.accepted_slices[1..]
            .iter()
            .skip(1)
            .step_by(2)
            .copied()
            .collect();
        let expected: Vec<(usize, usize)> = datas
            .iter()
            .map(|d| (d.as_ptr() as usize, d.len()))
            .collect();
        assert_eq!(data_slices, expected);
        let headers = out.accepted_slices[1..].iter().step_by(2);
        assert!(headers
            .into_iter()
            .all(|&(_, len)| len == RECORD_HEADER_LEN));
    }

    #[test]
    fn short_writes_interrupted_and_would_block_resume_where_the_output_stopped() {
        let bufs: Vec<Vec<u8>> = (0..20).map(|i| frame_bytes(i, i * 13 % 40)).collect();
        let expected: Vec<u8> = bufs.concat();
        let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
        let mut out = Scripted::new(|call| match call % 4 {
            0 => Step::Fail(io::ErrorKind::Interrupted),
            1 => Step::Fail(io::ErrorKind::WouldBlock),
            // Odd sizes land in the middle of slices.
            _ => Step::Take(call % 23 + 1),
        });
        write_all_vectored(&mut out, &slices).unwrap();
        assert_eq!(out.sink, expected);
        assert!(out.would_blocks > 10);
        assert!(out.short_writes > 10);
    }

    #[test]
    fn faulty_output_still_gets_the_exact_file() {
        let datas: Vec<Vec<u8>> = (0..700).map(|i| frame_bytes(i, i * 31 % 1600)).collect();
        let frames = frames_of(&datas, |i| 1_000_000 * i as u64 + 17);
        let mut clean = PcapWriter::new(Vec::new(), 1000, Resolution::Nanos).unwrap();
        clean.write_batch(&frames).unwrap();
        let (clean, clean_totals) = clean.finish();

        let faulty = Scripted::new(|call| match call % 5 {
            0 => Step::Fail(io::ErrorKind::Interrupted),
            1 if call % 3 == 0 => Step::Fail(io::ErrorKind::WouldBlock),
            _ => Step::Take(call * 7919 % 5000 + 1),
        });
        let mut writer = PcapWriter::new(faulty, 1000, Resolution::Nanos).unwrap();
        writer.write_batch(&frames[..1]).unwrap();
        writer.write_batch(&frames[1..]).unwrap();
        let (out, totals) = writer.finish();
        assert!(out.short_writes > 10 && out.would_blocks > 10);
        assert_eq!(totals, clean_totals);
        assert_eq!(out.sink, clean);
        assert_eq!(totals.bytes as usize, clean.len());
        assert_eq!(read_back(&clean).1.len(), 700);
    }

    /// A little-endian pcap file of `records` (timestamp in ns, captured
    /// bytes, length on the wire) laid out by hand, each record as given
    /// (any caplen, any order), in micro- or nanoseconds.
    pub(crate) fn raw_pcap(nanos: bool, records: &[(u64, &[u8], usize)]) -> Vec<u8> {
        let magic = if nanos { MAGIC_NANOS } else { MAGIC_MICROS };
        let mut pcap = magic.to_le_bytes().to_vec();
        pcap.extend_from_slice(&2u16.to_le_bytes());
        pcap.extend_from_slice(&4u16.to_le_bytes());
        for v in [0u32, 0, DEFAULT_SNAPLEN, LINKTYPE_ETHERNET] {
            pcap.extend_from_slice(&v.to_le_bytes());
        }
        for &(ts, data, wire_len) in records {
            let frac = if nanos {
                ts % 1_000_000_000
            } else {
                ts % 1_000_000_000 / 1000
            };
            for v in [ts / 1_000_000_000, frac, data.len() as u64, wire_len as u64] {
                pcap.extend_from_slice(&(v as u32).to_le_bytes());
            }
            pcap.extend_from_slice(data);
        }
        pcap
    }

    /// A disk with room for `room` bytes: writes what fits, then ENOSPC.
    pub(crate) struct Full {
        pub(crate) sink: Vec<u8>,
        pub(crate) room: usize,
    }

    impl Write for Full {
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let free = self.room - self.sink.len();
            if free == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(free - n);
                self.sink.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_counts_the_records_left_whole_and_the_file_is_cut_back() {
        let datas: Vec<Vec<u8>> = (0..40).map(|i| frame_bytes(i, 20 + i * 7)).collect();
        let frames = frames_of(&datas, |i| i as u64);
        let record = |i: usize| (RECORD_HEADER_LEN + datas[i].len()) as u64;
        let whole_in = |n: u64| {
            let mut acc = GLOBAL_HEADER_LEN as u64;
            (0..40)
                .take_while(|&i| {
                    acc += record(i);
                    acc <= n
                })
                .count() as u64
        };
        // Both ways of writing, the output failing after n bytes of the file.
        for n in [GLOBAL_HEADER_LEN + 1, 300, 301, 1234, 2000] {
            for records in [false, true] {
                let out = Full {
                    sink: Vec::new(),
                    room: n,
                };
                let mut w = PcapWriter::new(out, 0, Resolution::Micros).unwrap();
                let laid_out: Vec<Vec<u8>> = frames
                    .iter()
                    .map(|f| {
                        let (h, _) = w.record_header(f.ts_ns, f.data.len());
                        [&h[..], f.data].concat()
                    })
                    .collect();
                let e = if records {
                    let refs: Vec<&[u8]> = laid_out.iter().map(Vec::as_slice).collect();
                    w.write_records(&refs).unwrap_err()
                } else {
                    w.write_batch(&frames).unwrap_err()
                };
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
                let t = w.totals();
                assert_eq!(t.packets, whole_in(n as u64), "n {n}");
                let (out, _) = w.finish();
                assert!(t.bytes <= out.sink.len() as u64);
                // What the totals count reads back whole.
                assert_eq!(
                    read_back(&out.sink[..t.bytes as usize]).1.len() as u64,
                    t.packets
                );
            }
        }
        // A file is cut back to the whole records, and the writer goes on.
        let path = temp_path("cut.pcap");
        let mut w = PcapWriter::new(File::create(&path).unwrap(), 0, Resolution::Micros).unwrap();
        w.write_batch(&frames[..3]).unwrap();
        use std::io::Write as _;
        w.out.write_all(&[0xee; 11]).unwrap();
        w.failed = true;
        w.cut_to_whole_records().unwrap();
        w.write_batch(&frames[3..5]).unwrap();
        drop(w);
        let bytes = std::fs::read(&path).unwrap();
        let (_, recs) = read_back(&bytes);
        assert_eq!(recs.len(), 5);
        assert_eq!(
            bytes.len() as u64,
            GLOBAL_HEADER_LEN as u64 + (0..5).map(record).sum::<u64>()
        );
        std::fs::remove_file(&path).unwrap();
        // Not a regular file: nothing to cut, and the writer stays stopped.
        let (a, _b) = UnixStream::pair().unwrap();
        let mut w = PcapWriter::new(File::from(OwnedFd::from(a)), 0, Resolution::Micros).unwrap();
        w.failed = true;
        assert!(w.cut_to_whole_records().is_err());
        assert!(w.write_batch(&frames[..1]).is_err());
    }

    #[test]
    fn write_zero_and_errors_are_reported() {
        let data = [1u8; 10];
        let e = write_all_vectored(
            &mut Scripted::new(|_| Step::Take(0)),
            &[IoSlice::new(&data)],
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        let e = write_all_vectored(
            &mut Scripted::new(|_| Step::Os(libc::EIO)),
            &[IoSlice::new(&data)],
        )
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        let e = write_all_vectored(
            &mut Scripted::new(|_| Step::Overcount),
            &[IoSlice::new(&data)],
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // Nothing to write is not a zero write.
        write_all_vectored(
            &mut Scripted::new(|_| Step::Take(0)),
            &[IoSlice::new(&[]), IoSlice::new(&[])],
        )
        .unwrap();

        // Through the writer: a failing header fails `new`.
        let e =
            PcapWriter::new(Scripted::new(|_| Step::Take(0)), 0, Resolution::Nanos).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        // A record that fails half-way stops the writer for good.
        let out = Scripted::new(|call| match call {
            1 => Step::Take(usize::MAX),
            2 => Step::Take(20),
            _ => Step::Os(libc::EIO),
        });
        let mut writer = PcapWriter::new(out, 0, Resolution::Nanos).unwrap();
        let e = writer.write_packet(1, &data).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert!(writer.write_packet(2, &data).is_err());
        assert!(writer.write_batch(&[]).is_err());
        assert!(writer.flush().is_err());
        assert_eq!(writer.totals().packets, 0);
        assert_eq!(writer.totals().bytes, GLOBAL_HEADER_LEN as u64);
        let (out, _) = writer.finish();
        // The refused calls never reached the output.
        assert_eq!(out.calls, 3);
    }

    /// Writes 1200 frames (about 1.6 MB) to `out` while a slow thread reads
    /// them from `input`, shows `out` to `inspect`, drops it (the reader's
    /// end of file) and checks what arrived.
    fn slow_reader<W: Write, R: Read + Send + 'static>(
        out: W,
        mut input: R,
        inspect: impl FnOnce(&W),
    ) {
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match input.read(&mut chunk) {
                    Ok(0) => break all,
                    Ok(n) => all.extend_from_slice(&chunk[..n]),
                    Err(e) => panic!("read: {e}"),
                }
                if all.len() % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        let datas: Vec<Vec<u8>> = (0..1200).map(|i| frame_bytes(i, 1000 + i % 700)).collect();
        let frames = frames_of(&datas, |i| i as u64 * 1000);
        let mut writer = PcapWriter::new(out, 0, Resolution::Micros).unwrap();
        writer.write_batch(&frames).unwrap();
        let (out, totals) = writer.finish();
        inspect(&out);
        drop(out);
        let bytes = reader.join().unwrap();
        assert_eq!(totals.bytes as usize, bytes.len());
        let (_, packets) = read_back(&bytes);
        assert_eq!(packets.len(), 1200);
        for (i, (ts, _, data)) in packets.iter().enumerate() {
            assert_eq!(*ts, Duration::from_micros(i as u64));
            assert_eq!(data, &datas[i]);
        }
    }

    #[test]
    fn slow_reader_on_nonblocking_socket() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        // `set_nonblocking` sets O_NONBLOCK on the open file description, so it
        // survives the conversion to `File`, whose `write_vectored` is `writev`.
        ours.set_nonblocking(true).unwrap();
        let out = Observed {
            inner: File::from(OwnedFd::from(ours)),
            short_writes: 0,
            would_blocks: 0,
        };
        slow_reader(out, theirs, |out| {
            // 600 kB per call cannot fit in a socket buffer: the kernel took
            // part of it, then said EAGAIN until the reader made room.
            assert!(out.short_writes > 0, "no short write");
            assert!(out.would_blocks > 0, "no EAGAIN");
        });
    }

    #[test]
    fn slow_reader_on_blocking_pipe() {
        let (read_end, write_end) = io::pipe().unwrap();
        slow_reader(write_end, read_end, |_| {});
    }

    #[test]
    fn broken_pipe_is_an_error_and_stops_the_writer() {
        let (read_end, write_end) = io::pipe().unwrap();
        let mut writer = PcapWriter::new(write_end, 0, Resolution::Nanos).unwrap();
        drop(read_end);
        // The Rust runtime ignores SIGPIPE, so writev fails with EPIPE.
        let data = [0u8; 100];
        let e = writer.write_packet(1, &data).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert!(writer.write_packet(2, &data).is_err());
        assert_eq!(writer.totals().packets, 0);
    }

    #[test]
    fn writer_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<PcapWriter<File>>();
        assert_send::<PcapWriter<io::Stdout>>();
        assert_send::<PcapWriter<io::PipeWriter>>();
    }

    #[test]
    fn tcpdump_reads_the_file() {
        let path = temp_path("tcpdump");
        let mut writer =
            PcapWriter::new(File::create(&path).unwrap(), 0, Resolution::Nanos).unwrap();
        // Broadcast ARP request 10.0.0.1 asking for 10.0.0.2.
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
        arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        arp.resize(60, 0);
        writer
            .write_batch(&[
                Frame::new(1_000_000_000, &arp),
                Frame::new(2_000_000_000, &arp),
            ])
            .unwrap();
        drop(writer.finish());
        let output = std::process::Command::new("tcpdump")
            .args(["-r", path.to_str().unwrap(), "-n", "-e"])
            .output();
        let output = match output {
            Ok(o) => o,
            Err(e) => {
                std::fs::remove_file(&path).unwrap();
                println!("note: tcpdump not runnable ({e}); skipping");
                return;
            }
        };
        std::fs::remove_file(&path).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "tcpdump failed: {stderr}");
        assert!(stderr.contains("link-type EN10MB"), "{stderr}");
        assert_eq!(stdout.lines().count(), 2, "{stdout}");
        assert!(
            stdout.contains("Request who-has 10.0.0.2 tell 10.0.0.1"),
            "{stdout}"
        );
    }
}
