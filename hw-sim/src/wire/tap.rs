//! A host TAP device as the far end of the simulated wire.
//!
//! With a [`Tap`] the host kernel's own ARP, IPv4 and TCP talk to the driver
//! running on the simulator: every frame the kernel sends on the TAP reaches
//! the NIC's receive side ([`TapSource`]), and every frame the NIC transmits
//! is written to the TAP ([`TapSink`]). Both ends share one file descriptor,
//! opened on `/dev/net/tun` with `IFF_TAP | IFF_NO_PI` (no packet-information
//! header: the descriptor carries bare Ethernet frames, without FCS).
//!
//! Towards the NIC:
//! - The kernel hands over *unpadded* frames (a 42-byte ARP request, a 54-byte
//!   TCP ACK). The TAP end pads them with zeros to 60 bytes, as a sending NIC
//!   does on a real wire, so the NIC model never sees runts from it (counted in
//!   [`TapStats::rx_padded`]).
//! - Frames longer than the maximum frame size ([`Tap::with_max_frame`],
//!   default [`DEFAULT_MAX_FRAME`]) or shorter than an Ethernet header are
//!   dropped here and counted ([`TapStats::rx_oversize`],
//!   [`TapStats::rx_malformed`]).
//! - The source is flow-controlled ([`FrameSource::flow_controlled`] is true):
//!   the engine reads the TAP only while the NIC's receive FIFO has room for a
//!   maximum-size frame. Meanwhile frames wait in the kernel's TAP queue
//!   (`txqueuelen`, 1000 by default), which absorbs a burst or, once full,
//!   drops and counts in the TAP's `tx_dropped` (`ip -s link`): the behaviour of
//!   a switch port buffering for a receiver that sends PAUSE frames.
//! - Waiting without spinning, with low latency: the descriptor is
//!   non-blocking, and while frames flow each engine poll is one `read(2)`.
//!   When a read finds the queue empty the source tries again at most every
//!   [`READ_BACKOFF`] while the engine spins, and once the TAP has stayed empty
//!   for [`ARM_AFTER`] it arms a small wake-up thread that blocks in `poll(2)`
//!   on the descriptor and wakes the engine (a [`SimWaker`]) as soon as a frame
//!   is queued. So an idle TAP costs no CPU (the engine sleeps, the wake-up
//!   thread blocks), and a frame arriving at a sleeping engine is picked up
//!   after two thread wake-ups (tens of microseconds), not after the engine's
//!   idle timeout.
//!
//! From the NIC: each transmitted frame is one `write(2)` (no copy, no
//! allocation). The descriptor is non-blocking, so the engine never waits on
//! the kernel: a write that would block is dropped and counted
//! ([`TapStats::tx_dropped_full`]), and a failed one (the interface is down:
//! `EIO`) is counted in [`TapStats::tx_errors`].
//!
//! Opening a TAP needs `CAP_NET_ADMIN`. The `TUNSETIFF` ioctl and bringing the
//! link up are done by the `tun` crate; this module holds one `unsafe` line,
//! taking ownership of the descriptor that crate hands over.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::frame::MIN_FRAME;
use super::{FrameSink, FrameSource, SourcePoll};
use crate::{Sim, SimWaker};

/// Longest frame (without FCS) the TAP end passes to the NIC by default: a
/// 1500-byte MTU plus the Ethernet header and one 802.1Q tag.
pub const DEFAULT_MAX_FRAME: usize = 1518;

/// Longest frame [`Tap::with_max_frame`] accepts (the NIC model's own limit).
pub const MAX_FRAME_LIMIT: usize = 16 * 1024;

/// Shortest frame read from the TAP that is kept: an Ethernet header.
pub const MIN_TAP_FRAME: usize = 14;

/// Least time between two reads of an empty TAP while the engine spins.
pub const READ_BACKOFF: Duration = Duration::from_micros(2);

/// How long the TAP must stay empty before the wake-up thread is armed.
pub const ARM_AFTER: Duration = Duration::from_micros(50);

/// What the source tells the engine while the TAP is idle and the wake-up
/// thread is armed: "nothing for a while" (the engine caps its sleep anyway).
const IDLE_HINT: Duration = Duration::from_millis(10);

/// After a read error other than "empty", the next read waits this long.
const ERROR_BACKOFF: Duration = Duration::from_millis(1);

/// Frames dropped here (too short, too long) in one poll before the source
/// lets the engine do something else.
const MAX_DROPS_PER_POLL: usize = 64;

/// The read buffer: larger than any frame a TAP delivers (MTU at most 65535),
/// so a frame is never truncated by the read itself.
const READ_BUF: usize = 65536 + 64;

/// Longest interface name Linux accepts (IFNAMSIZ less the NUL).
pub const MAX_NAME_LEN: usize = 15;

/// Why a TAP device could not be opened. Each message names the cause and
/// the fix.
#[derive(Debug)]
pub enum TapError {
    /// The interface name is not one Linux accepts.
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `/dev/net/tun` does not exist or has no driver behind it.
    NoTunDevice {
        /// The error from `open(2)`.
        source: std::io::Error,
    },
    /// Not allowed: opening a TAP needs root (`CAP_NET_ADMIN`).
    PermissionDenied {
        /// The interface.
        name: String,
        /// The error from the kernel.
        source: std::io::Error,
    },
    /// Another process already has the TAP open.
    Busy {
        /// The interface.
        name: String,
    },
    /// An interface of that name exists but is not a TAP device that can be
    /// attached with `IFF_TAP | IFF_NO_PI` (a TUN device, a veth, ...).
    WrongKind {
        /// The interface.
        name: String,
        /// The error from the kernel.
        source: std::io::Error,
    },
    /// The TAP was attached but its link could not be brought up.
    LinkUp {
        /// The interface.
        name: String,
        /// The error from the kernel.
        source: std::io::Error,
    },
    /// Anything else the kernel refused.
    Io {
        /// The interface.
        name: String,
        /// What was being done.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

impl std::fmt::Display for TapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TapError::InvalidName { name, reason } => {
                write!(f, "TAP interface name `{name}`: {reason}")
            }
            TapError::NoTunDevice { source } => write!(
                f,
                "cannot open /dev/net/tun ({source}): load the TUN/TAP driver \
                 (`modprobe tun`) or, in a container, pass the device in \
                 (--device /dev/net/tun)"
            ),
            TapError::PermissionDenied { name, source } => write!(
                f,
                "TAP {name}: {source}: opening a TAP needs root or CAP_NET_ADMIN \
                 (run with sudo, or create it for your user first: \
                 `ip tuntap add dev {name} mode tap user $USER`)"
            ),
            TapError::Busy { name } => write!(
                f,
                "TAP {name} is busy: another process has it open (a TAP has one \
                 reader; stop the other program or pick another name)"
            ),
            TapError::WrongKind { name, source } => write!(
                f,
                "{name} exists but cannot be attached as a TAP ({source}): it is \
                 a TUN device or another kind of interface; delete it \
                 (`ip link del {name}`) or pick another name"
            ),
            TapError::LinkUp { name, source } => write!(
                f,
                "TAP {name}: cannot bring the link up ({source}); try \
                 `ip link set dev {name} up`"
            ),
            TapError::Io { name, op, source } => write!(f, "TAP {name}: {op}: {source}"),
        }
    }
}

impl std::error::Error for TapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TapError::NoTunDevice { source }
            | TapError::PermissionDenied { source, .. }
            | TapError::WrongKind { source, .. }
            | TapError::LinkUp { source, .. }
            | TapError::Io { source, .. } => Some(source),
            TapError::InvalidName { .. } | TapError::Busy { .. } => None,
        }
    }
}

/// Checks an interface name the way Linux does (`dev_valid_name`).
pub fn check_name(name: &str) -> Result<(), TapError> {
    let bad = |reason| {
        Err(TapError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 15 bytes (Linux's IFNAMSIZ)");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not interface names");
    }
    if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
    {
        return bad("contains `/`, `:`, a NUL or white space");
    }
    Ok(())
}

#[derive(Default)]
struct Cells {
    rx_frames: AtomicU64,
    rx_bytes: AtomicU64,
    rx_padded: AtomicU64,
    rx_oversize: AtomicU64,
    rx_malformed: AtomicU64,
    rx_errors: AtomicU64,
    tx_frames: AtomicU64,
    tx_bytes: AtomicU64,
    tx_dropped_full: AtomicU64,
    tx_errors: AtomicU64,
    wakeups: AtomicU64,
}

/// What the TAP end has counted (see [`TapCounters::snapshot`]). "rx" is the
/// direction from the kernel to the NIC, "tx" from the NIC to the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapStats {
    /// Frames read from the TAP and handed to the NIC.
    pub rx_frames: u64,
    /// Their bytes as read (before padding).
    pub rx_bytes: u64,
    /// Of those, frames shorter than 60 bytes padded with zeros to 60.
    pub rx_padded: u64,
    /// Frames dropped for being longer than the maximum frame size.
    pub rx_oversize: u64,
    /// Frames dropped for being shorter than an Ethernet header.
    pub rx_malformed: u64,
    /// Reads that failed (other than "nothing queued").
    pub rx_errors: u64,
    /// Frames written to the TAP.
    pub tx_frames: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames dropped because the write would have blocked.
    pub tx_dropped_full: u64,
    /// Writes that failed (`EIO` while the interface is down, ...).
    pub tx_errors: u64,
    /// Times the wake-up thread woke the engine for a newly queued frame.
    pub wakeups: u64,
}

/// A shared handle on a TAP end's counters, readable from any thread.
#[derive(Clone, Default)]
pub struct TapCounters(Arc<Cells>);

impl std::fmt::Debug for TapCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl TapCounters {
    /// The counts now.
    pub fn snapshot(&self) -> TapStats {
        let c = &self.0;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TapStats {
            rx_frames: l(&c.rx_frames),
            rx_bytes: l(&c.rx_bytes),
            rx_padded: l(&c.rx_padded),
            rx_oversize: l(&c.rx_oversize),
            rx_malformed: l(&c.rx_malformed),
            rx_errors: l(&c.rx_errors),
            tx_frames: l(&c.tx_frames),
            tx_bytes: l(&c.tx_bytes),
            tx_dropped_full: l(&c.tx_dropped_full),
            tx_errors: l(&c.tx_errors),
            wakeups: l(&c.wakeups),
        }
    }
}

#[inline]
fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// An open TAP device, not yet attached to a simulator.
#[derive(Debug)]
pub struct Tap {
    file: Arc<File>,
    name: String,
    counters: TapCounters,
    max_frame: usize,
}

fn open_error(name: &str, e: tun::Error) -> TapError {
    let source = match e {
        tun::Error::NameTooLong => {
            return TapError::InvalidName {
                name: name.to_string(),
                reason: "longer than 15 bytes (Linux's IFNAMSIZ)",
            }
        }
        tun::Error::InvalidName => {
            return TapError::InvalidName {
                name: name.to_string(),
                reason: "refused as an interface name",
            }
        }
        tun::Error::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    };
    let name = name.to_string();
    match source.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => TapError::PermissionDenied { name, source },
        Some(libc::EBUSY) => TapError::Busy { name },
        Some(libc::EINVAL) => TapError::WrongKind { name, source },
        _ => TapError::Io {
            name,
            op: "attach (TUNSETIFF)",
            source,
        },
    }
}

impl Tap {
    /// Opens the TAP device `name`: attaches to it if it exists (made, say,
    /// with `ip tuntap add dev NAME mode tap`), creates it otherwise (it then
    /// goes away when closed), and brings its link up if it is down.
    pub fn open(name: &str) -> Result<Tap, TapError> {
        check_name(name)?;
        // Name a missing TUN driver before the attach, whose error would be vaguer.
        if let Err(source) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
        {
            return Err(match source.kind() {
                ErrorKind::PermissionDenied => TapError::PermissionDenied {
                    name: name.to_string(),
                    source,
                },
                _ => TapError::NoTunDevice { source },
            });
        }
        let mut config = tun::Configuration::default();
        config.tun_name(name).layer(tun::Layer::L2);
        let dev = tun::create(&config).map_err(|e| open_error(name, e))?;
        let mut dev = dev;
        {
            use tun::AbstractDevice;
            dev.enabled(true).map_err(|e| TapError::LinkUp {
                name: name.to_string(),
                source: match e {
                    tun::Error::Io(e) => e,
                    other => std::io::Error::other(other.to_string()),
                },
            })?;
        }
        dev.set_nonblock().map_err(|source| TapError::Io {
            name: name.to_string(),
            op: "set O_NONBLOCK",
            source,
        })?;
        let raw = dev.into_raw_fd();
        // SAFETY: `into_raw_fd` hands over the descriptor the `tun` crate opened
        // and stops owning it (its Drop no longer closes it); nothing else holds
        // it, so the OwnedFd is its one owner and closes it once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Tap {
            file: Arc::new(File::from(fd)),
            name: name.to_string(),
            counters: TapCounters::default(),
            max_frame: DEFAULT_MAX_FRAME,
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the longest frame (without FCS) passed to the NIC; longer frames
    /// are dropped and counted. Clamped to `60..=`[`MAX_FRAME_LIMIT`]. Use it
    /// with a TAP MTU above 1500 and a NIC with long packets enabled.
    pub fn with_max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes.clamp(MIN_FRAME, MAX_FRAME_LIMIT);
        self
    }

    /// The counters of this TAP end (shared with its source and sink).
    pub fn counters(&self) -> TapCounters {
        self.counters.clone()
    }

    /// The two ends: a source of the frames the kernel sends and a sink for
    /// the frames the NIC transmits. `waker` wakes the simulator the source
    /// feeds (see [`Sim::waker`]) when a frame is queued while it sleeps.
    pub fn split(self, waker: SimWaker) -> Result<(TapSource, TapSink), TapError> {
        let wake = WakeThread::spawn(self.file.clone(), waker, self.counters.clone()).map_err(
            |source| TapError::Io {
                name: self.name.clone(),
                op: "start the wake-up thread",
                source,
            },
        )?;
        let source = TapSource {
            file: self.file.clone(),
            buf: vec![0; READ_BUF].into_boxed_slice(),
            counters: self.counters.clone(),
            max_frame: self.max_frame,
            idle_since: None,
            next_read: Duration::ZERO,
            wake,
        };
        let sink = TapSink {
            file: self.file,
            counters: self.counters,
        };
        Ok((source, sink))
    }

    /// Makes the TAP the far end of `sim`'s wire: replaces its source and adds
    /// a sink. Returns the counters.
    pub fn attach(self, sim: &Sim) -> Result<TapCounters, TapError> {
        let counters = self.counters();
        let (source, sink) = self.split(sim.waker())?;
        sim.set_source(source);
        sim.add_sink(sink);
        Ok(counters)
    }
}

/// State shared by a [`TapSource`] and its wake-up thread.
struct WakeShared {
    /// Set by the source when the TAP was found empty for a while; cleared by
    /// the thread when it woke the engine.
    armed: AtomicBool,
    stop: AtomicBool,
}

/// The thread that waits in `poll(2)` for the TAP to become readable while
/// the source is idle, and then wakes the engine.
struct WakeThread {
    shared: Arc<WakeShared>,
    /// Dropped to stop the thread: its read end then polls as hung up.
    stop_tx: Option<std::io::PipeWriter>,
    handle: Option<JoinHandle<()>>,
}

impl WakeThread {
    fn spawn(
        file: Arc<File>,
        waker: SimWaker,
        counters: TapCounters,
    ) -> std::io::Result<WakeThread> {
        let (stop_rx, stop_tx) = std::io::pipe()?;
        let shared = Arc::new(WakeShared {
            armed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name("hw-sim-tap-wake".into())
            .spawn(move || wake_loop(&file, &stop_rx, &sh, &waker, &counters))?;
        Ok(WakeThread {
            shared,
            stop_tx: Some(stop_tx),
            handle: Some(handle),
        })
    }

    /// True while the thread watches the TAP and has not seen a frame.
    #[inline]
    fn armed(&self) -> bool {
        self.shared.armed.load(Ordering::Acquire)
    }

    /// Asks the thread to watch the TAP (no-op when it already does).
    #[inline]
    fn arm(&self) {
        if !self.shared.armed.swap(true, Ordering::AcqRel) {
            if let Some(h) = &self.handle {
                h.thread().unpark();
            }
        }
    }
}

impl Drop for WakeThread {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        drop(self.stop_tx.take());
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

fn wake_loop(
    file: &File,
    stop_rx: &std::io::PipeReader,
    shared: &WakeShared,
    waker: &SimWaker,
    counters: &TapCounters,
) {
    use nix::poll::{poll, PollFd, PollFlags};
    while !shared.stop.load(Ordering::Acquire) {
        if !shared.armed.load(Ordering::Acquire) {
            std::thread::park();
            continue;
        }
        let mut fds = [
            PollFd::new(file.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop_rx.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, 100u16) {
            Ok(0) => {}
            Ok(_) => {
                if fds[1].any().unwrap_or(true) {
                    return; // the pipe hung up: stop
                }
                if fds[0].any().unwrap_or(false) {
                    // Readable (or an error the source will count on its read).
                    shared.armed.store(false, Ordering::Release);
                    waker.wake();
                    bump(&counters.0.wakeups, 1);
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Frames the kernel sends on the TAP, towards the NIC (see the module docs).
pub struct TapSource {
    file: Arc<File>,
    buf: Box<[u8]>,
    counters: TapCounters,
    max_frame: usize,
    /// When the TAP was first found empty in the current idle stretch.
    idle_since: Option<Duration>,
    /// No read before this simulation time.
    next_read: Duration,
    wake: WakeThread,
}

impl std::fmt::Debug for TapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapSource")
            .field("max_frame", &self.max_frame)
            .field("counters", &self.counters)
            .finish()
    }
}

impl TapSource {
    /// The counters of the TAP end.
    pub fn counters(&self) -> TapCounters {
        self.counters.clone()
    }

    /// What to tell the engine while the TAP is empty.
    fn idle(&mut self, now: Duration) -> SourcePoll<'static> {
        let since = *self.idle_since.get_or_insert(now);
        self.next_read = now + READ_BACKOFF;
        let armed_at = since + ARM_AFTER;
        if now >= armed_at {
            self.wake.arm();
            SourcePoll::Until(now + IDLE_HINT)
        } else {
            // Come back by the time the wake-up thread should be armed.
            SourcePoll::Until(armed_at)
        }
    }
}

impl FrameSource for TapSource {
    fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
        // Armed and not fired yet: poll(2) has seen nothing, so a read would
        // find nothing either (the thread disarms as soon as a frame is queued).
        if self.idle_since.is_some() && self.wake.armed() {
            return SourcePoll::Until(now + IDLE_HINT);
        }
        if now < self.next_read {
            return match self.idle_since {
                Some(since) if now < since + ARM_AFTER => SourcePoll::Until(since + ARM_AFTER),
                Some(_) => SourcePoll::Until(now + IDLE_HINT),
                None => SourcePoll::Until(self.next_read),
            };
        }
        let c = &self.counters.0;
        for _ in 0..MAX_DROPS_PER_POLL {
            let n = match (&*self.file).read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return self.idle(now),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    bump(&c.rx_errors, 1);
                    self.next_read = now + ERROR_BACKOFF;
                    return SourcePoll::Until(self.next_read);
                }
            };
            if n < MIN_TAP_FRAME {
                bump(&c.rx_malformed, 1);
                continue;
            }
            if n > self.max_frame || n >= self.buf.len() {
                bump(&c.rx_oversize, 1);
                continue;
            }
            self.idle_since = None;
            bump(&c.rx_frames, 1);
            bump(&c.rx_bytes, n as u64);
            let len = if n < MIN_FRAME {
                // The buffer holds older bytes past n: pad with zeros.
                self.buf[n..MIN_FRAME].fill(0);
                bump(&c.rx_padded, 1);
                MIN_FRAME
            } else {
                n
            };
            return SourcePoll::Frame(&self.buf[..len]);
        }
        // Many bad frames in a row: let the engine do other work, come back now.
        SourcePoll::Until(now)
    }
}

/// Frames the NIC transmits, written to the TAP (see the module docs).
pub struct TapSink {
    file: Arc<File>,
    counters: TapCounters,
}

impl std::fmt::Debug for TapSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapSink")
            .field("counters", &self.counters)
            .finish()
    }
}

impl FrameSink for TapSink {
    fn frame(&mut self, _ts: Duration, data: &[u8]) {
        let c = &self.counters.0;
        loop {
            match (&*self.file).write(data) {
                Ok(_) => {
                    bump(&c.tx_frames, 1);
                    bump(&c.tx_bytes, data.len() as u64);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => bump(&c.tx_dropped_full, 1),
                Err(_) => bump(&c.tx_errors, 1),
            }
            return;
        }
    }
}
