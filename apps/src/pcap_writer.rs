//! Classic pcap output with gathered writes.
//!
//! [`PcapWriter`] writes the 24-byte global header when created, then one
//! record per frame. A batch of frames becomes `writev` calls of at most
//! [`IOV_MAX`] iovecs each: a 16-byte record header (built in a reusable
//! buffer owned by the writer) followed by the frame bytes borrowed straight
//! from the caller's packet buffer. Packet bytes are never copied and there is
//! no per-packet system call; short writes, `EINTR` and `EAGAIN` (non-blocking
//! descriptors) are handled by resuming where the kernel stopped.
//!
//! Because records go straight to the file descriptor there is nothing to
//! flush. Do not interleave `print!` with a writer on stdout: Rust's stdout
//! buffer is bypassed.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// `LINKTYPE_ETHERNET`: the only link type this writer emits.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Magic number of a pcap file with microsecond timestamps.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a pcap file with nanosecond timestamps.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Iovecs per `writev` call (Linux `IOV_MAX`).
pub const IOV_MAX: usize = 1024;
/// Size of the pcap global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Size of a pcap record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Default snapshot length, as tcpdump uses.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Records (header + data iovec pairs) per `writev` call.
const RECORDS_PER_CALL: usize = IOV_MAX / 2;
const NANOS_PER_SEC: u64 = 1_000_000_000;

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
    /// Bytes written to the descriptor, global and record headers included.
    pub bytes: u64,
}

/// Writes classic pcap (Ethernet link type) to a file descriptor with `writev`.
///
/// `W` is anything that owns or borrows a descriptor: [`std::fs::File`],
/// [`std::io::Stdout`], [`std::os::fd::OwnedFd`], [`std::os::fd::BorrowedFd`].
#[derive(Debug)]
pub struct PcapWriter<W: AsFd> {
    out: W,
    snaplen: u32,
    resolution: Resolution,
    /// Record headers of the chunk being written; capacity for a full chunk
    /// is reserved up front so the buffer never moves while iovecs point into it.
    headers: Vec<u8>,
    iovecs: IovecBuf,
    totals: Totals,
    /// Set when a write failed part-way: the stream may end in a partial
    /// record, so later writes are refused.
    failed: bool,
}

impl<W: AsFd> PcapWriter<W> {
    /// Writes the global header to `out` and returns a writer for records.
    ///
    /// `snaplen` is the most bytes of a frame stored per record (0 is taken
    /// as [`DEFAULT_SNAPLEN`]).
    ///
    /// # Errors
    /// Any error from writing the header.
    pub fn new(out: W, snaplen: u32, resolution: Resolution) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let mut writer = PcapWriter {
            out,
            snaplen,
            resolution,
            headers: Vec::with_capacity(RECORDS_PER_CALL * RECORD_HEADER_LEN),
            iovecs: IovecBuf(Vec::with_capacity(IOV_MAX)),
            totals: Totals::default(),
            failed: false,
        };
        let header = global_header(snaplen, resolution);
        let fd = writer.out.as_fd().as_raw_fd();
        let mut iov = [libc::iovec {
            iov_base: header.as_ptr() as *mut libc::c_void,
            iov_len: header.len(),
        }];
        write_all_vectored(&mut iov, |iov| sys_writev(fd, iov), || wait_writable(fd))?;
        writer.totals.bytes = GLOBAL_HEADER_LEN as u64;
        Ok(writer)
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

    /// Writes one record per frame, in order, with as few `writev` calls as
    /// possible (one per 512 frames unless the kernel takes less).
    ///
    /// # Errors
    /// The descriptor's error (`EPIPE` as [`io::ErrorKind::BrokenPipe`], …),
    /// or [`io::ErrorKind::WriteZero`]. After an error the stream may end in a
    /// partial record, so this writer refuses further writes.
    pub fn write_batch(&mut self, frames: &[Frame<'_>]) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "pcap writer stopped after an earlier write error",
            ));
        }
        let fd = self.out.as_fd().as_raw_fd();
        for chunk in frames.chunks(RECORDS_PER_CALL) {
            let result = self.write_chunk(fd, chunk);
            if let Err(e) = result {
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    fn write_chunk(&mut self, fd: libc::c_int, chunk: &[Frame<'_>]) -> io::Result<()> {
        // Build every header first: `headers` must not move once iovecs
        // point into it (its capacity covers a full chunk, so it never does).
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
        let iovecs = &mut self.iovecs.0;
        iovecs.clear();
        for (frame, header) in chunk
            .iter()
            .zip(self.headers.chunks_exact(RECORD_HEADER_LEN))
        {
            // `writev` only reads through these pointers; `*mut` is its ABI.
            iovecs.push(libc::iovec {
                iov_base: header.as_ptr() as *mut libc::c_void,
                iov_len: RECORD_HEADER_LEN,
            });
            let incl = incl_len(self.snaplen, frame.data);
            if incl > 0 {
                iovecs.push(libc::iovec {
                    iov_base: frame.data.as_ptr() as *mut libc::c_void,
                    iov_len: incl,
                });
            }
        }
        let result = write_all_vectored(iovecs, |iov| sys_writev(fd, iov), || wait_writable(fd));
        // Never keep pointers into the caller's frames past this call.
        iovecs.clear();
        result?;
        self.totals.packets += chunk.len() as u64;
        self.totals.bytes += bytes;
        Ok(())
    }

    /// Ends the capture and hands back the descriptor and the totals.
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

/// Reusable iovec storage.
///
/// It holds raw pointers only during a `write_chunk` call and is empty
/// between calls.
#[derive(Debug)]
struct IovecBuf(Vec<libc::iovec>);

// SAFETY: the buffer is empty whenever the writer can be observed or moved
// (it is cleared before `write_chunk` returns), so no pointer ever crosses a
// thread; its allocation is plain memory.
unsafe impl Send for IovecBuf {}

/// One `writev` system call.
fn sys_writev(fd: libc::c_int, iov: &[libc::iovec]) -> io::Result<usize> {
    let count = iov.len().min(IOV_MAX) as libc::c_int;
    // SAFETY: `iov` points to `count` valid iovecs, each describing memory that
    // is borrowed for the duration of this call; writev only reads it.
    let n = unsafe { libc::writev(fd, iov.as_ptr(), count) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Waits until `fd` is writable (for descriptors in non-blocking mode).
fn wait_writable(fd: libc::c_int) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid, exclusively borrowed pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, -1) };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Writes every byte described by `iov`, calling `writev` (the system call, or
/// a stand-in in tests) as often as needed.
///
/// A short write advances through the iovecs (shortening the one it stopped
/// in) and continues; `EINTR` retries; `EAGAIN` calls `wait_writable` (a
/// `poll` for `POLLOUT` on the real descriptor) and retries.
fn write_all_vectored(
    mut iov: &mut [libc::iovec],
    mut writev: impl FnMut(&[libc::iovec]) -> io::Result<usize>,
    mut wait_writable: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    loop {
        // Skip fully written (or empty) iovecs.
        while let Some(first) = iov.first() {
            if first.iov_len != 0 {
                break;
            }
            iov = &mut iov[1..];
        }
        if iov.is_empty() {
            return Ok(());
        }
        match writev(iov) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "writev wrote nothing",
                ))
            }
            Ok(mut n) => {
                for entry in iov.iter_mut() {
                    if n == 0 {
                        break;
                    }
                    let step = n.min(entry.iov_len);
                    // Moving within the same buffer: the result stays inside
                    // (or one past the end of) the slice this iovec describes.
                    entry.iov_base = (entry.iov_base as *mut u8).wrapping_add(step).cast();
                    entry.iov_len -= step;
                    n -= step;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_writable()?,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;
    use pcap_file::{DataLink, TsResolution};
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::path::PathBuf;
    use std::time::Duration;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("igbpoll-{}-{name}.pcap", std::process::id()))
    }

    /// A frame whose bytes encode its index, so mix-ups show.
    fn frame_bytes(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 7 + j) as u8).collect()
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
            let frames: Vec<Frame<'_>> = datas
                .iter()
                .enumerate()
                .map(|(i, d)| Frame::new(base + i as u64 * 1_001, d))
                .collect();
            writer.write_batch(&frames[..3]).unwrap();
            writer
                .write_packet(frames[3].ts_ns, frames[3].data)
                .unwrap();
            writer.write_batch(&frames[4..]).unwrap();
            writer.write_batch(&[]).unwrap();
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
        let frames: Vec<Frame<'_>> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| Frame::new(i as u64, d))
            .collect();
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

    /// Copies what a stand-in `writev` accepts, `limit(call)` bytes at most per call.
    fn gather(iov: &[libc::iovec], limit: usize, sink: &mut Vec<u8>) -> usize {
        let mut taken = 0;
        for entry in iov {
            if taken == limit {
                break;
            }
            let n = entry.iov_len.min(limit - taken);
            // SAFETY: every iovec handed to the stand-in describes a live,
            // readable buffer of at least `iov_len` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(entry.iov_base as *const u8, n) };
            sink.extend_from_slice(bytes);
            taken += n;
        }
        taken
    }

    #[test]
    fn short_writes_eintr_and_eagain_resume_where_the_kernel_stopped() {
        let bufs: Vec<Vec<u8>> = (0..20).map(|i| frame_bytes(i, i * 13 % 40)).collect();
        let expected: Vec<u8> = bufs.concat();
        let mut iov: Vec<libc::iovec> = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        let mut sink = Vec::new();
        let mut calls = 0usize;
        let mut waits = 0usize;
        write_all_vectored(
            &mut iov,
            |iov| {
                calls += 1;
                match calls % 4 {
                    0 => Err(io::Error::from_raw_os_error(libc::EINTR)),
                    1 => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
                    // Odd sizes land in the middle of iovecs.
                    _ => Ok(gather(iov, calls % 23 + 1, &mut sink)),
                }
            },
            || {
                waits += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(sink, expected);
        assert!(waits > 10);
    }

    #[test]
    fn write_zero_and_errors_are_reported() {
        let data = [1u8; 10];
        let mut iov = [libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        }];
        let e = write_all_vectored(&mut iov, |_| Ok(0), || Ok(())).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        let e = write_all_vectored(
            &mut iov,
            |_| Err(io::Error::from_raw_os_error(libc::EIO)),
            || Ok(()),
        )
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
    }

    /// Returns (read end, write end) of a pipe.
    fn pipe() -> (File, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        assert_eq!(r, 0, "pipe2: {}", io::Error::last_os_error());
        // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone.
        unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    fn slow_reader_on_tiny_nonblocking_pipe() {
        let (mut read_end, write_end) = pipe();
        let fd = write_end.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own, with integer arguments.
        unsafe {
            // The smallest pipe buffer (one page) forces many short writes.
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 4096);
            let flags = libc::fcntl(fd, libc::F_GETFL);
            assert!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0);
        }
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut chunk = [0u8; 1000];
            loop {
                match read_end.read(&mut chunk) {
                    Ok(0) => break all,
                    Ok(n) => all.extend_from_slice(&chunk[..n]),
                    Err(e) => panic!("read: {e}"),
                }
                if all.len() % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        let datas: Vec<Vec<u8>> = (0..300).map(|i| frame_bytes(i, 700 + i)).collect();
        let frames: Vec<Frame<'_>> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| Frame::new(i as u64 * 1000, d))
            .collect();
        let mut writer = PcapWriter::new(write_end, 0, Resolution::Micros).unwrap();
        writer.write_batch(&frames).unwrap();
        let (write_end, totals) = writer.finish();
        drop(write_end);
        let bytes = reader.join().unwrap();
        assert_eq!(totals.bytes as usize, bytes.len());
        let (_, packets) = read_back(&bytes);
        assert_eq!(packets.len(), 300);
        for (i, (ts, _, data)) in packets.iter().enumerate() {
            assert_eq!(*ts, Duration::from_micros(i as u64));
            assert_eq!(data, &datas[i]);
        }
    }

    #[test]
    fn broken_pipe_is_an_error_and_stops_the_writer() {
        let (read_end, write_end) = pipe();
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
