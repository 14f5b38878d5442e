//! igbpoll-hw-sim: register-level models of the Intel 82540EM (e1000 family)
//! and 82576 (igb family), with a DMA engine on its own thread and a wire.
//!
//! A [`Sim`] is one NIC. The driver reaches it through [`Sim::backend`] (an
//! implementation of the driver's `Backend`); a test drives the far end of
//! the wire with a [`wire::FrameSource`], [`Sim::inject`] and
//! [`wire::FrameSink`]s, and checks [`Sim::counters`], [`Sim::faults`] and the
//! statistics registers.
//!
//! ```no_run
//! use igbpoll_hw_sim::{Sim, SimConfig, wire::{Generator, MemorySink, SourceExt}};
//! let sim = Sim::new(SimConfig::igb());
//! sim.set_source(Generator::mixed(1, sim.mac()).limit(1000));
//! let sent = MemorySink::new();
//! sim.add_sink(sent.clone());
//! sim.start();
//! let backend = sim.backend(); // hand it to the driver
//! # drop(backend);
//! ```
//!
//! What is modelled, and how it differs from silicon, is documented on each
//! module: [`regs`] (register side effects), [`engine`] (DMA), [`fifo`]
//! (receive packet buffer), [`filter`], [`rss`] (receive-side scaling),
//! [`eeprom`], [`phy`].

#![warn(missing_docs)]

mod backend;
mod device;
pub mod e1000;
pub mod eeprom;
pub mod engine;
pub mod fifo;
pub mod filter;
pub mod igb;
mod iommu;
mod pci;
pub mod phy;
pub mod regs;
pub mod rss;
mod stats;
pub mod wire;

#[cfg(test)]
mod tests;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use backend::SimBackend;
pub use iommu::{DmaFault, IOVA_BASE};
pub use wire::{FrameSink, FrameSource, WireCounters};

use device::Device;

/// Which chip to model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimModel {
    /// Intel 82540EM (8086:100E): legacy descriptors, one queue.
    E1000,
    /// Intel 82576 (8086:10C9): advanced descriptors, 16 queues.
    Igb,
}

/// How to build a [`Sim`].
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The chip.
    pub model: SimModel,
    /// The MAC address in the EEPROM (and in RA0 after reset).
    pub mac: [u8; 6],
    /// Time from an autonegotiation request (e1000: CTRL.SLU; igb: BMCR
    /// restart through MDIC) to link up.
    pub link_delay: Duration,
    /// Receive packet buffer size; `None` for the chip's (48 KiB / 64 KiB).
    pub rx_fifo_bytes: Option<usize>,
    /// Most DMA memory the driver may allocate.
    pub dma_limit: usize,
    /// Most faults kept in the log ([`Sim::faults`]); all are counted.
    pub fault_log_limit: usize,
}

/// The MAC address [`SimConfig`] uses unless told otherwise.
pub const DEFAULT_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

impl SimConfig {
    /// An 82540EM with default settings.
    pub fn e1000() -> SimConfig {
        SimConfig::new(SimModel::E1000)
    }

    /// An 82576 with default settings.
    pub fn igb() -> SimConfig {
        SimConfig::new(SimModel::Igb)
    }

    /// Default settings for `model`: link delay 5 ms, chip FIFO, 1 GiB of DMA.
    pub fn new(model: SimModel) -> SimConfig {
        SimConfig {
            model,
            mac: DEFAULT_MAC,
            link_delay: Duration::from_millis(5),
            rx_fifo_bytes: None,
            dma_limit: 1 << 30,
            fault_log_limit: 1024,
        }
    }

    /// Sets the MAC address.
    pub fn with_mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = mac;
        self
    }

    /// Sets the autonegotiation delay.
    pub fn with_link_delay(mut self, d: Duration) -> Self {
        self.link_delay = d;
        self
    }

    /// Sets the receive FIFO size in bytes.
    pub fn with_rx_fifo_bytes(mut self, bytes: usize) -> Self {
        self.rx_fifo_bytes = Some(bytes);
        self
    }
}

/// A hostile receive write-back (see [`Sim::corrupt_next_rx`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The length field reads 0xFFFF, beyond any buffer.
    LengthOverflow,
    /// EOP is left clear.
    NoEop,
    /// Frame error bits are set (CE and RXE).
    FrameError,
}

/// One simulated NIC. Dropping it stops the engine and flushes the sinks.
pub struct Sim {
    dev: Arc<Device>,
    engine: Mutex<Option<engine::Engine>>,
    running: Mutex<Option<engine::Running>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("model", &self.dev.model)
            .field("running", &self.is_running())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    /// A NIC in its power-on state (link down, PCI memory and bus mastering off).
    pub fn new(config: SimConfig) -> Sim {
        let dev = Device::new(config);
        Sim {
            engine: Mutex::new(Some(engine::Engine::new(dev.clone()))),
            running: Mutex::new(None),
            dev,
        }
    }

    /// The driver's handle.
    pub fn backend(&self) -> SimBackend {
        SimBackend {
            dev: self.dev.clone(),
        }
    }

    /// The chip modelled.
    pub fn model(&self) -> SimModel {
        self.dev.model
    }

    /// The MAC address in the EEPROM.
    pub fn mac(&self) -> [u8; 6] {
        self.dev.config.mac
    }

    /// Starts the DMA engine thread (no-op when running).
    pub fn start(&self) {
        let mut running = lock(&self.running);
        if running.is_none() {
            if let Some(e) = lock(&self.engine).take() {
                *running = Some(engine::spawn(e));
            }
        }
    }

    /// Stops the engine thread (no-op when stopped) and flushes the sinks.
    pub fn stop(&self) {
        if let Some(r) = lock(&self.running).take() {
            if let Some(e) = r.stop() {
                *lock(&self.engine) = Some(e);
            }
        }
        self.flush_sinks();
    }

    /// True while the engine thread runs.
    pub fn is_running(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// Runs one engine round on the calling thread: link timers, up to a batch
    /// per TX queue, up to a batch of RX. Returns the work done (0: idle).
    /// Does nothing (returns 0) while the engine thread runs.
    pub fn step(&self) -> usize {
        match lock(&self.engine).as_mut() {
            Some(e) => e.step(),
            None => 0,
        }
    }

    /// Steps until a round does nothing, at most `max_rounds` rounds. Returns
    /// the total work.
    pub fn run_until_idle(&self, max_rounds: usize) -> usize {
        let mut total = 0;
        for _ in 0..max_rounds {
            let w = self.step();
            if w == 0 {
                break;
            }
            total += w;
        }
        total
    }

    /// Replaces the frame source.
    pub fn set_source(&self, source: impl FrameSource + 'static) {
        *lock(&self.dev.wire.source) = Some(Box::new(source));
        self.dev.wire.source_done.store(false, Ordering::Release);
        self.dev.wake();
    }

    /// Removes the frame source.
    pub fn clear_source(&self) {
        *lock(&self.dev.wire.source) = None;
    }

    /// Adds a sink for transmitted frames.
    pub fn add_sink(&self, sink: impl FrameSink + 'static) {
        lock(&self.dev.wire.sinks).push(Box::new(sink));
        self.dev.wire.has_sinks.store(true, Ordering::Release);
    }

    /// Flushes every sink.
    pub fn flush_sinks(&self) {
        for s in lock(&self.dev.wire.sinks).iter_mut() {
            s.flush();
        }
    }

    /// Puts exact bytes (without FCS) on the wire towards the NIC. Like source
    /// frames, they wait on the wire until the link is up and RCTL.EN is set.
    pub fn inject(&self, frame: &[u8]) {
        lock(&self.dev.wire.inject).push_back(frame.to_vec());
        self.dev.wire.inject_len.fetch_add(1, Ordering::AcqRel);
        self.dev.wake();
    }

    /// The wire counters.
    pub fn counters(&self) -> WireCounters {
        self.dev.wire.counters.snapshot()
    }

    /// True when the source is exhausted (or absent), nothing injected is
    /// pending, and every frame that reached the NIC was delivered or dropped.
    pub fn rx_drained(&self) -> bool {
        let w = &self.dev.wire;
        let source_done = w.source_done.load(Ordering::Acquire) || lock(&w.source).is_none();
        source_done
            && w.inject_len.load(Ordering::Acquire) == 0
            && w.counters.in_fifo.load(Ordering::Acquire) == 0
    }

    /// The DMA faults recorded so far (up to the log limit).
    pub fn faults(&self) -> Vec<DmaFault> {
        self.dev.iommu.faults()
    }

    /// Removes and returns the recorded faults.
    pub fn take_faults(&self) -> Vec<DmaFault> {
        self.dev.iommu.take_faults()
    }

    /// Every fault ever recorded, including those past the log limit.
    pub fn fault_count(&self) -> u64 {
        self.dev.iommu.fault_count()
    }

    /// Makes the next `n` receive write-backs hostile, of the given kind.
    pub fn corrupt_next_rx(&self, n: u32, kind: Corruption) {
        *lock(&self.dev.corrupt.kind) = kind;
        self.dev.corrupt.left.store(n, Ordering::Release);
    }

    /// A handle that wakes the engine thread when it sleeps, for a wire end
    /// that learns of new frames outside the engine (say a TAP device's
    /// readiness, see [`wire::tap`]).
    pub fn waker(&self) -> SimWaker {
        SimWaker {
            dev: self.dev.clone(),
        }
    }

    /// True when the link is up.
    pub fn link_up(&self) -> bool {
        self.dev.poll_link();
        self.dev.link_up.load(Ordering::Acquire)
    }
}

/// Wakes a [`Sim`]'s engine thread (see [`Sim::waker`]). Cheap when the
/// engine is awake: a fence and a load.
#[derive(Clone)]
pub struct SimWaker {
    dev: Arc<Device>,
}

impl SimWaker {
    /// Wakes the engine thread if it is parked, so it polls the wire now.
    pub fn wake(&self) {
        self.dev.wake();
    }
}

impl std::fmt::Debug for SimWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimWaker")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop();
    }
}
