//! The DMA engine: receive FIFO → descriptors, transmit rings → wire.
//!
//! It runs on a thread of its own ([`spawn`]) or one batch at a time from a
//! test ([`Engine::step`]). Per batch it reads the tails (Acquire), moves up to
//! [`BATCH`] frames per direction and queue, then publishes the heads (Release)
//! and adds its counts to the statistics: no lock and no allocation per frame.
//! Configuration is re-read from the register file only when its generation
//! counter moved.

pub(crate) mod dma;
mod rx;
mod tx;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use igbpoll_driver::regs::{self, rctl, tctl};

use crate::device::Device;
use crate::fifo::Fifo;
use crate::filter::Filter;
use crate::iommu::{Region, Translator};
use crate::regs::{qreg, RegFile};
use crate::wire::WireCounters;
use crate::{e1000, igb, SimModel};

/// Frames (or descriptors) moved per queue and direction in one batch.
pub const BATCH: usize = 64;

/// A descriptor ring as the engine sees it.
#[derive(Default)]
pub(crate) struct Ring {
    pub base: u64,
    pub ndesc: u32,
    region: Option<Arc<Region>>,
    host: usize,
    fault_reported: bool,
}

impl Ring {
    fn new(rf: &RegFile, block: u32, iommu: &crate::iommu::Iommu) -> Ring {
        let base =
            (u64::from(rf.get(block + qreg::BAH)) << 32) | u64::from(rf.get(block + qreg::BAL));
        let len = rf.get(block + qreg::LEN) as usize;
        let ndesc = (len / 16) as u32;
        let mut r = Ring {
            base,
            ndesc,
            ..Ring::default()
        };
        if ndesc > 0 {
            if let Some(reg) = iommu.lookup(base, len) {
                r.host = reg.host(base, len).map_or(0, |p| p as usize);
                r.region = Some(reg);
            }
        }
        r
    }

    /// Host pointer to descriptor 0, or None (a fault recorded once per
    /// configuration) when the ring is not in live DMA memory.
    #[inline(always)]
    pub(crate) fn host(
        &mut self,
        dev: &Device,
        write: bool,
        what: &'static str,
    ) -> Option<*mut u8> {
        match &self.region {
            Some(r) if r.is_mapped() => Some(self.host as *mut u8),
            _ => {
                if !self.fault_reported {
                    self.fault_reported = true;
                    dev.iommu
                        .fault(self.base, self.ndesc as usize * 16, write, what);
                }
                None
            }
        }
    }
}

/// Receive configuration of one queue.
#[derive(Default)]
pub(crate) struct RxQueue {
    pub ring: Ring,
    pub bufsize: usize,
    pub advanced: bool,
    pub drop_en: bool,
    pub enabled: bool,
}

/// Transmit configuration of one queue.
#[derive(Default)]
pub(crate) struct TxQueue {
    pub ring: Ring,
    pub enabled: bool,
}

/// What the engine knows of the registers, re-read when the generation moves.
pub(crate) struct Snapshot {
    pub rx_en: bool,
    pub filter: Filter,
    pub sbp: bool,
    pub secrc: bool,
    pub max_frame: usize,
    pub max_tagged: usize,
    pub vet: [u8; 2],
    pub rx: Vec<RxQueue>,
    pub tx_en: bool,
    pub psp: bool,
    pub tx: Vec<TxQueue>,
    /// RSS, when MRQC selects it and RXCSUM.PCSD is set (82576 only).
    pub rss: Option<crate::rss::Rss>,
    /// Receive queues frames can reach: 1, or with RSS up to the highest
    /// queue the redirection table names.
    pub rx_used: usize,
}

fn rctl_bufsize(rctl_v: u32) -> usize {
    let bsex = rctl_v & rctl::BSEX != 0;
    match ((rctl_v >> 16) & 3, bsex) {
        (0, _) => 2048,
        (1, false) => 1024,
        (2, false) => 512,
        (3, false) => 256,
        (1, true) => 16384,
        (2, true) => 8192,
        _ => 4096,
    }
}

impl Snapshot {
    fn read(dev: &Device, rf: &RegFile) -> Snapshot {
        let rctl_v = rf.get(regs::RCTL);
        let tctl_v = rf.get(regs::TCTL);
        let lpe = rctl_v & rctl::LPE != 0;
        let (max_frame, max_tagged) = if lpe {
            let m = match dev.model {
                SimModel::E1000 => e1000::MAX_LPE_FRAME,
                SimModel::Igb => {
                    (rf.get(igbpoll_driver::regs::igb::RLPML) & 0x3FFF).saturating_sub(4) as usize
                }
            };
            (m, m)
        } else {
            (1514, 1518)
        };
        let mut rx = Vec::with_capacity(dev.queues());
        let mut tx = Vec::with_capacity(dev.queues());
        for n in 0..dev.queues() {
            let (rb, tb) = match dev.model {
                SimModel::E1000 => (e1000::RX_BLOCK, e1000::TX_BLOCK),
                SimModel::Igb => (igb::rx_block(n), igb::tx_block(n)),
            };
            let (bufsize, advanced, drop_en, rx_enabled, tx_enabled) = match dev.model {
                SimModel::E1000 => (rctl_bufsize(rctl_v), false, false, true, true),
                SimModel::Igb => {
                    let srr = rf.get(rb + qreg::SRRCTL);
                    let kib = (srr & igbpoll_driver::regs::igb::SRRCTL_BSIZEPKT_MASK) as usize;
                    let bs = if kib == 0 {
                        rctl_bufsize(rctl_v)
                    } else {
                        kib * 1024
                    };
                    let desctype = srr & igbpoll_driver::regs::igb::SRRCTL_DESCTYPE_MASK;
                    let en = igbpoll_driver::regs::igb::XDCTL_ENABLE;
                    (
                        bs,
                        desctype != 0,
                        srr & igbpoll_driver::regs::igb::SRRCTL_DROP_EN != 0,
                        rf.get(rb + qreg::XDCTL) & en != 0,
                        rf.get(tb + qreg::XDCTL) & en != 0,
                    )
                }
            };
            rx.push(RxQueue {
                ring: Ring::new(rf, rb, &dev.iommu),
                bufsize,
                advanced,
                drop_en,
                enabled: rx_enabled,
            });
            tx.push(TxQueue {
                ring: Ring::new(rf, tb, &dev.iommu),
                enabled: tx_enabled,
            });
        }
        let vet = (rf.get(regs::VET) as u16).to_be_bytes();
        let rss = match dev.model {
            SimModel::E1000 => None,
            SimModel::Igb => crate::rss::Rss::from_registers(|off| rf.get(off)),
        };
        let rx_used = rss
            .as_ref()
            .map_or(1, |r| usize::from(r.max_queue()) + 1)
            .min(rx.len());
        Snapshot {
            rx_en: rctl_v & rctl::EN != 0,
            filter: Filter::from_regs(rf),
            sbp: rctl_v & rctl::SBP != 0,
            secrc: rctl_v & rctl::SECRC != 0,
            max_frame,
            max_tagged,
            vet,
            rx,
            tx_en: tctl_v & tctl::EN != 0,
            psp: tctl_v & tctl::PSP != 0,
            tx,
            rss,
            rx_used,
        }
    }
}

/// The engine's own state.
pub(crate) struct Engine {
    dev: Arc<Device>,
    generation: u64,
    reset_epoch: u64,
    snap: Snapshot,
    fifo: Fifo,
    xlate: Translator,
    stats: crate::stats::StatDelta,
    wire: WireCounters,
    tx_partial: Vec<Vec<u8>>,
    tx_overlong: Vec<bool>,
    /// When the source next has a frame, if it said so.
    next_due: Option<Duration>,
    /// How late the source's next frame may arrive ([`crate::wire::FrameSource::slack`]).
    slack: Duration,
    /// Injected frames taken off the wire this round (published in `flush`).
    injected_taken: usize,
    /// The source said Done this round (published in `flush`).
    source_finished: bool,
}

impl Engine {
    pub(crate) fn new(dev: Arc<Device>) -> Engine {
        let fifo_bytes = dev.config.rx_fifo_bytes.unwrap_or(match dev.model {
            SimModel::E1000 => e1000::RX_FIFO_BYTES,
            SimModel::Igb => igb::RX_FIFO_BYTES,
        });
        let snap = {
            let rf = dev.regs.lock().unwrap_or_else(|e| e.into_inner());
            Snapshot::read(&dev, &rf)
        };
        let q = dev.queues();
        Engine {
            generation: 0,
            reset_epoch: dev.reset_epoch.load(Ordering::Acquire),
            snap,
            fifo: Fifo::new(fifo_bytes),
            xlate: Translator::default(),
            stats: Default::default(),
            wire: WireCounters::default(),
            tx_partial: (0..q)
                .map(|_| Vec::with_capacity(tx::MAX_TX_FRAME))
                .collect(),
            tx_overlong: vec![false; q],
            next_due: None,
            slack: Duration::ZERO,
            injected_taken: 0,
            source_finished: false,
            dev,
        }
    }

    fn refresh(&mut self) {
        let dev = &*self.dev;
        let g = dev.generation.load(Ordering::Acquire);
        if g == self.generation {
            return;
        }
        let rf = dev.regs.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = dev.reset_epoch.load(Ordering::Acquire);
        self.generation = dev.generation.load(Ordering::Acquire);
        self.snap = Snapshot::read(dev, &rf);
        drop(rf);
        // From here on no DMA uses the previous configuration: a queue the
        // driver disabled now reads back RXDCTL.ENABLE = 0 (see regs.rs).
        let active = self
            .snap
            .rx
            .iter()
            .enumerate()
            .filter(|(_, q)| q.enabled)
            .fold(0u32, |m, (n, _)| m | 1 << n);
        dev.rx_active.store(active, Ordering::Release);
        if epoch != self.reset_epoch {
            self.reset_epoch = epoch;
            self.wire.dropped_reset += self.fifo.clear() as u64;
            for p in &mut self.tx_partial {
                p.clear();
            }
            self.tx_overlong.fill(false);
            self.stats = Default::default();
        }
        self.xlate.clear();
    }

    /// One round: link timers, every TX queue, then RX. Returns the work done
    /// (frames and descriptors moved, link events); 0 means idle.
    pub(crate) fn step(&mut self) -> usize {
        let mut work = usize::from(self.dev.poll_link());
        self.refresh();
        if self.dev.pci.bus_master() {
            work += self.tx();
            work += self.rx();
        }
        self.flush();
        work
    }

    fn flush(&mut self) {
        let dev = &*self.dev;
        dev.stats.flush(&mut self.stats);
        self.wire.in_fifo = 0;
        dev.wire.counters.add(&self.wire);
        dev.wire
            .counters
            .in_fifo
            .store(self.fifo.len() as u64, Ordering::Release);
        self.wire = WireCounters::default();
        // Only now, with every frame of this round delivered (DD written) or
        // counted in in_fifo, may the wire look empty to Sim::rx_drained.
        if self.injected_taken > 0 {
            dev.wire
                .inject_len
                .fetch_sub(self.injected_taken, Ordering::AcqRel);
            self.injected_taken = 0;
        }
        if self.source_finished {
            dev.wire.source_done.store(true, Ordering::Release);
            self.source_finished = false;
        }
    }

    /// True when the engine waits for a source's next frame that may come
    /// late: it then sleeps rather than spins (see `FrameSource::slack`).
    fn may_sleep_now(&self) -> bool {
        self.next_due.is_some() && !self.slack.is_zero()
    }

    /// How long the engine may sleep when idle.
    fn idle_wait(&self) -> Duration {
        let cap = Duration::from_millis(1);
        match self.next_due {
            Some(t) => t.saturating_sub(self.dev.now()).min(cap),
            None => cap,
        }
    }
}

/// The running engine thread.
pub(crate) struct Running {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Engine>,
}

/// Starts `engine` on its own thread.
pub(crate) fn spawn(mut engine: Engine) -> Running {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let dev = engine.dev.clone();
    let handle = std::thread::Builder::new()
        .name("hw-sim-dma".into())
        .spawn(move || {
            *dev.engine_thread.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(std::thread::current());
            let mut idle = 0u32;
            while !stop2.load(Ordering::Acquire) {
                if engine.step() > 0 {
                    idle = 0;
                    continue;
                }
                idle += 1;
                let paced = engine.may_sleep_now();
                if idle < 2000 && !paced {
                    std::hint::spin_loop();
                } else if idle < 2100 && !paced {
                    std::thread::yield_now();
                } else {
                    dev.engine_sleeping.store(true, Ordering::SeqCst);
                    // Re-check after announcing sleep so a tail write is never missed.
                    if engine.step() == 0 {
                        let wait = engine.idle_wait();
                        let wait = if engine.may_sleep_now() {
                            wait.max(engine.slack)
                        } else {
                            wait
                        };
                        std::thread::park_timeout(wait);
                    }
                    dev.engine_sleeping.store(false, Ordering::SeqCst);
                    idle = 0;
                }
            }
            *dev.engine_thread.lock().unwrap_or_else(|e| e.into_inner()) = None;
            engine
        })
        .expect("spawn the DMA engine thread");
    Running { stop, handle }
}

impl Running {
    /// Stops the thread and hands the engine back.
    pub(crate) fn stop(self) -> Option<Engine> {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        self.handle.join().ok()
    }
}
