//! The state one simulated NIC shares between the driver side (register
//! accesses through the backend) and the engine thread.
//!
//! Hot registers live outside the register-file lock: ring heads and tails,
//! ICR, IMS and the statistics are atomics, so an RDT/TDT write is one store
//! (plus a wake-up when the engine sleeps) and never waits for the engine.
//! Everything else sits in the locked [`RegFile`]; a write there bumps a
//! generation counter that tells the engine to re-read its configuration.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant, SystemTime};

use crate::iommu::Iommu;
use crate::pci::PciConfig;
use crate::regs::RegFile;
use crate::stats::Stats;
use crate::wire::{FrameSink, FrameSource, WireCounters};
use crate::{Corruption, SimConfig, SimModel};

/// Most queue register sets of either model.
pub(crate) const MAX_QUEUES: usize = 16;

/// Wire counters, as atomics.
#[derive(Default)]
pub(crate) struct CounterCells {
    pub offered: AtomicU64,
    pub delivered: AtomicU64,
    pub in_fifo: AtomicU64,
    pub dropped_overflow: AtomicU64,
    pub dropped_queue: AtomicU64,
    pub dropped_runt: AtomicU64,
    pub dropped_oversize: AtomicU64,
    pub dropped_filtered: AtomicU64,
    pub dropped_dma_fault: AtomicU64,
    pub dropped_reset: AtomicU64,
    pub transmitted: AtomicU64,
    pub tx_dropped: AtomicU64,
}

impl CounterCells {
    pub(crate) fn add(&self, d: &WireCounters) {
        let pairs = [
            (&self.offered, d.offered),
            (&self.delivered, d.delivered),
            (&self.dropped_overflow, d.dropped_overflow),
            (&self.dropped_queue, d.dropped_queue),
            (&self.dropped_runt, d.dropped_runt),
            (&self.dropped_oversize, d.dropped_oversize),
            (&self.dropped_filtered, d.dropped_filtered),
            (&self.dropped_dma_fault, d.dropped_dma_fault),
            (&self.dropped_reset, d.dropped_reset),
            (&self.transmitted, d.transmitted),
            (&self.tx_dropped, d.tx_dropped),
        ];
        for (a, v) in pairs {
            if v != 0 {
                a.fetch_add(v, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn snapshot(&self) -> WireCounters {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WireCounters {
            offered: l(&self.offered),
            delivered: l(&self.delivered),
            in_fifo: l(&self.in_fifo),
            dropped_overflow: l(&self.dropped_overflow),
            dropped_queue: l(&self.dropped_queue),
            dropped_runt: l(&self.dropped_runt),
            dropped_oversize: l(&self.dropped_oversize),
            dropped_filtered: l(&self.dropped_filtered),
            dropped_dma_fault: l(&self.dropped_dma_fault),
            dropped_reset: l(&self.dropped_reset),
            transmitted: l(&self.transmitted),
            tx_dropped: l(&self.tx_dropped),
        }
    }
}

/// The far end of the wire.
pub(crate) struct WireState {
    pub source: Mutex<Option<Box<dyn FrameSource>>>,
    pub source_done: AtomicBool,
    pub sinks: Mutex<Vec<Box<dyn FrameSink>>>,
    pub has_sinks: AtomicBool,
    pub inject: Mutex<VecDeque<Vec<u8>>>,
    pub inject_len: AtomicUsize,
    pub counters: CounterCells,
}

/// Pending hostile write-backs.
pub(crate) struct CorruptState {
    pub left: AtomicU32,
    pub kind: Mutex<Corruption>,
}

/// One simulated NIC.
pub(crate) struct Device {
    pub model: SimModel,
    pub config: SimConfig,
    pub pci: PciConfig,
    pub regs: Mutex<RegFile>,
    /// Bumped on every configuration write (and on reset).
    pub generation: AtomicU64,
    /// Bumped on CTRL.RST.
    pub reset_epoch: AtomicU64,
    pub rdh: [AtomicU32; MAX_QUEUES],
    pub rdt: [AtomicU32; MAX_QUEUES],
    pub tdh: [AtomicU32; MAX_QUEUES],
    pub tdt: [AtomicU32; MAX_QUEUES],
    pub icr: AtomicU32,
    pub ims: AtomicU32,
    pub link_up: AtomicBool,
    pub link_pending: AtomicBool,
    pub stats: Stats,
    pub iommu: Arc<Iommu>,
    pub wire: WireState,
    pub corrupt: CorruptState,
    pub engine_sleeping: AtomicBool,
    pub engine_thread: Mutex<Option<Thread>>,
    /// Receive queues enabled in the configuration the engine works with
    /// (bit n: queue n), published when it re-reads the registers.
    pub rx_active: AtomicU32,
    epoch: Instant,
    wall_epoch: Duration,
}

impl Device {
    pub(crate) fn new(config: SimConfig) -> Arc<Device> {
        let model = config.model;
        let (dev_id, rev) = match model {
            SimModel::E1000 => (crate::e1000::DEVICE_ID, crate::e1000::REVISION),
            SimModel::Igb => (crate::igb::DEVICE_ID, crate::igb::REVISION),
        };
        let z32 = || std::array::from_fn(|_| AtomicU32::new(0));
        Arc::new(Device {
            model,
            pci: PciConfig::new(dev_id, rev),
            regs: Mutex::new(RegFile::new(&config)),
            generation: AtomicU64::new(1),
            reset_epoch: AtomicU64::new(0),
            rdh: z32(),
            rdt: z32(),
            tdh: z32(),
            tdt: z32(),
            icr: AtomicU32::new(0),
            ims: AtomicU32::new(0),
            link_up: AtomicBool::new(false),
            link_pending: AtomicBool::new(false),
            stats: Stats::new(),
            iommu: Iommu::new(config.dma_limit as u64, config.fault_log_limit),
            wire: WireState {
                source: Mutex::new(None),
                source_done: AtomicBool::new(false),
                sinks: Mutex::new(Vec::new()),
                has_sinks: AtomicBool::new(false),
                inject: Mutex::new(VecDeque::new()),
                inject_len: AtomicUsize::new(0),
                counters: CounterCells::default(),
            },
            corrupt: CorruptState {
                left: AtomicU32::new(0),
                kind: Mutex::new(Corruption::LengthOverflow),
            },
            engine_sleeping: AtomicBool::new(false),
            engine_thread: Mutex::new(None),
            rx_active: AtomicU32::new(0),
            epoch: Instant::now(),
            wall_epoch: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
            config,
        })
    }

    /// Number of queue register sets.
    pub(crate) fn queues(&self) -> usize {
        match self.model {
            SimModel::E1000 => 1,
            SimModel::Igb => crate::igb::QUEUES,
        }
    }

    /// Simulation time: time since the device was created.
    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Wall-clock time (since the Unix epoch) of simulation time `t`.
    pub(crate) fn wall(&self, t: Duration) -> Duration {
        self.wall_epoch + t
    }

    /// Wakes the engine thread if it is parked.
    #[inline]
    pub(crate) fn wake(&self) {
        // Pairs with the engine's SeqCst store of `engine_sleeping` before its
        // last look at the tails: one of the two sides sees the other.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.engine_sleeping.load(Ordering::Relaxed) {
            if let Some(t) = self
                .engine_thread
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                t.unpark();
            }
        }
    }

    /// Raises interrupt causes.
    #[inline]
    pub(crate) fn raise(&self, cause: u32) {
        if self.icr.load(Ordering::Relaxed) & cause != cause {
            self.icr.fetch_or(cause, Ordering::Relaxed);
        }
    }

    pub(crate) fn bump_generation(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}
