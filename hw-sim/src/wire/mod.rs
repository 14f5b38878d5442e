//! The wire between the simulated NIC and the rest of the world.
//!
//! Frames reach the NIC from a [`FrameSource`] (a synthetic [`Generator`], a
//! pcap/pcapng [`Replay`]) or from test injection, and frames the NIC transmits
//! go to every [`FrameSink`] (a [`MemorySink`], a [`PcapSink`]). Frames on the
//! wire never include the FCS; the NIC model adds or strips it.
//!
//! Sources are given the simulation time; they never read a clock themselves,
//! so a source is deterministic for a given sequence of `now` values.

pub mod fault;
pub mod frame;
pub mod generator;
pub mod replay;
pub mod sink;
pub mod tap;

use std::time::Duration;

pub use fault::{FaultConfig, FaultCounters, FaultStats, Faulty, FaultySink, HeldRelease};
pub use generator::Generator;
pub use replay::{Replay, ReplayError};
pub use sink::{MemorySink, PcapSink};
pub use tap::{Tap, TapCounters, TapError, TapSink, TapSource, TapStats};

/// What a source has for the NIC now.
#[derive(Debug)]
pub enum SourcePoll<'a> {
    /// The next frame (without FCS). It is consumed by this call.
    Frame(&'a [u8]),
    /// Nothing until simulation time reaches the given instant.
    Until(Duration),
    /// The source is exhausted for good.
    Done,
}

/// A producer of frames arriving at the NIC.
pub trait FrameSource: Send {
    /// The next frame due at simulation time `now` (time since the simulation
    /// started). Must not allocate in the steady state: it is on the engine's
    /// per-frame path.
    fn poll(&mut self, now: Duration) -> SourcePoll<'_>;

    /// True (the default) for a source that sends "as fast as possible" the way a
    /// sender honouring 802.3x PAUSE frames does: the NIC takes its next frame
    /// only while the receive FIFO has room for a maximum-size frame, so nothing
    /// is lost and the rate is whatever the NIC and the driver sustain. A paced
    /// source ([`SourceExt::paced`]) answers false: its frames arrive on time
    /// whether or not there is room, and what does not fit is dropped (MPC).
    fn flow_controlled(&self) -> bool {
        true
    }

    /// How late the source's frames may arrive: zero (the default) for a
    /// source the engine must poll as soon as it answers
    /// [`SourcePoll::Until`]. A paced source ([`SourceExt::paced`]) answers
    /// [`PACED_SLACK`]: between its frames the engine waits asleep, at least
    /// that long, instead of spinning, and then takes every frame that came
    /// due at once. On a machine with no more cores than busy threads a
    /// spinning engine takes the core the driver needs, and the frames that
    /// pile up while the driver waits for it overflow the ring.
    fn slack(&self) -> Duration {
        Duration::ZERO
    }
}

/// How late a paced source's frames may arrive (see [`FrameSource::slack`]):
/// a short burst's worth, far less than a receive ring holds at any rate a
/// paced source is used for.
pub const PACED_SLACK: Duration = Duration::from_micros(50);

/// A consumer of frames the NIC transmits.
pub trait FrameSink: Send {
    /// One transmitted frame (without FCS, after PSP padding) at wall-clock
    /// time `ts` (since the Unix epoch).
    fn frame(&mut self, ts: Duration, data: &[u8]);
    /// Makes everything recorded so far durable (called when the simulation stops).
    fn flush(&mut self) {}
}

/// Extra combinators for every source.
pub trait SourceExt: FrameSource + Sized {
    /// Paces the source at `pps` frames per second of simulation time.
    fn paced(self, pps: f64) -> Paced<Self> {
        Paced::new(self, pps)
    }
    /// Ends the source after `count` frames.
    fn limit(self, count: u64) -> Limit<Self> {
        Limit {
            inner: self,
            left: count,
        }
    }
}

impl<S: FrameSource + Sized> SourceExt for S {}

impl FrameSource for Box<dyn FrameSource> {
    fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
        (**self).poll(now)
    }
    fn flow_controlled(&self) -> bool {
        (**self).flow_controlled()
    }
    fn slack(&self) -> Duration {
        (**self).slack()
    }
}

/// A source paced at a fixed rate (see [`SourceExt::paced`]).
///
/// Frame `k` is due at `start + k / pps`, where `start` is the time of the
/// first poll; an engine that falls behind catches up in a burst.
#[derive(Debug)]
pub struct Paced<S> {
    inner: S,
    period_ns: f64,
    start: Option<Duration>,
    sent: u64,
}

impl<S> Paced<S> {
    /// Paces `inner` at `pps` frames per second (values <= 0 mean 1 pps).
    pub fn new(inner: S, pps: f64) -> Self {
        let pps = if pps > 0.0 { pps } else { 1.0 };
        Paced {
            inner,
            period_ns: 1e9 / pps,
            start: None,
            sent: 0,
        }
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn flow_controlled(&self) -> bool {
        false
    }

    fn slack(&self) -> Duration {
        PACED_SLACK
    }

    fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
        let start = *self.start.get_or_insert(now);
        let due = start + Duration::from_nanos((self.sent as f64 * self.period_ns) as u64);
        if now < due {
            return SourcePoll::Until(due);
        }
        match self.inner.poll(now) {
            SourcePoll::Frame(f) => {
                self.sent += 1;
                SourcePoll::Frame(f)
            }
            other => other,
        }
    }
}

/// A source cut off after a number of frames (see [`SourceExt::limit`]).
#[derive(Debug)]
pub struct Limit<S> {
    inner: S,
    left: u64,
}

impl<S: FrameSource> FrameSource for Limit<S> {
    fn flow_controlled(&self) -> bool {
        self.inner.flow_controlled()
    }

    fn slack(&self) -> Duration {
        self.inner.slack()
    }

    fn poll(&mut self, now: Duration) -> SourcePoll<'_> {
        if self.left == 0 {
            return SourcePoll::Done;
        }
        match self.inner.poll(now) {
            SourcePoll::Frame(f) => {
                self.left -= 1;
                SourcePoll::Frame(f)
            }
            other => other,
        }
    }
}

/// Why the NIC refused a frame that reached it (see [`WireCounters`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// The receive FIFO was full (MPC).
    FifoOverflow,
    /// SRRCTL.DROP_EN and no descriptor on the target queue (RQDPC).
    QueueDrop,
    /// Shorter than 60 bytes without FCS (RUC).
    Runt,
    /// Longer than the maximum frame size (ROC).
    Oversize,
    /// Not accepted by the MAC address filter.
    Filtered,
    /// The descriptor ring could not be reached by DMA (an IOMMU fault).
    DmaFault,
    /// Lost from the FIFO by a device reset.
    Reset,
}

/// Frame counts on the wire, for exact accounting in tests:
/// `offered == delivered + in_fifo + sum of the drops`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireCounters {
    /// Frames that reached the NIC (source and injected).
    pub offered: u64,
    /// Frames written into receive descriptors.
    pub delivered: u64,
    /// Frames waiting in the receive FIFO now.
    pub in_fifo: u64,
    /// Dropped because the FIFO overflowed (counted in MPC).
    pub dropped_overflow: u64,
    /// Dropped by SRRCTL.DROP_EN (counted in RQDPC).
    pub dropped_queue: u64,
    /// Runts dropped (counted in RUC).
    pub dropped_runt: u64,
    /// Oversize frames dropped (counted in ROC).
    pub dropped_oversize: u64,
    /// Refused by the MAC address filter.
    pub dropped_filtered: u64,
    /// Dropped because the descriptor ring faulted.
    pub dropped_dma_fault: u64,
    /// Lost from the FIFO by CTRL.RST.
    pub dropped_reset: u64,
    /// Frames the NIC transmitted onto the wire.
    pub transmitted: u64,
    /// Transmit frames discarded (too long, or a buffer faulted).
    pub tx_dropped: u64,
}

impl WireCounters {
    /// All receive drops together.
    pub fn dropped(&self) -> u64 {
        self.dropped_overflow
            + self.dropped_queue
            + self.dropped_runt
            + self.dropped_oversize
            + self.dropped_filtered
            + self.dropped_dma_fault
            + self.dropped_reset
    }
}
