//! [`DeviceGuard`]: the one object every queue and the [`crate::Nic`] share,
//! so that DMA stops before any DMA memory is released, whoever drops last.
//!
//! The rule, enforced by the `Drop` impls of the queues and the `Nic`:
//! - while the `Nic` still holds every queue, dropping it stops the whole
//!   device first (receiver, transmitter, every queue, bus mastering), then
//!   releases the buffers and rings;
//! - a queue dropped while others live (it was moved to another thread with
//!   [`crate::Nic::take_rx_queues`]) stops its own DMA first (igb: SRRCTL.DROP_EN,
//!   RXDCTL.ENABLE cleared and read back as 0, RDLEN 0; e1000: the receiver);
//! - the last holder of the guard stops the whole device before it lets go.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{pci, Backend};
use crate::ident::Family;
use crate::{e1000, igb};

/// The backend and what it takes to stop the device, shared by the `Nic` and
/// its queues through an `Arc`.
pub(crate) struct DeviceGuard<B: Backend> {
    pub(crate) backend: B,
    family: Family,
    rx_queues: u32,
    tx_queues: u32,
    stopped: AtomicBool,
}

impl<B: Backend> DeviceGuard<B> {
    pub(crate) fn new(backend: B, family: Family, rx_queues: u16, tx_queues: u16) -> Self {
        DeviceGuard {
            backend,
            family,
            rx_queues: u32::from(rx_queues),
            tx_queues: u32::from(tx_queues),
            stopped: AtomicBool::new(false),
        }
    }

    /// True once [`DeviceGuard::stop`] ran: the device does no more DMA.
    #[inline]
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops all DMA: receiver and transmitter off, every queue disabled (igb:
    /// waiting for RXDCTL.ENABLE to read back 0), then bus mastering off.
    /// Runs once; later calls return at once.
    pub(crate) fn stop(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        let b = &self.backend;
        match self.family {
            Family::E1000 => e1000::stop(b),
            Family::Igb => igb::stop(b, self.rx_queues, self.tx_queues),
        }
        // No more DMA from here on: buffers and rings may be released.
        let cmd = b.pci_read16(pci::COMMAND);
        b.pci_write16(pci::COMMAND, cmd & !pci::COMMAND_BUS_MASTER);
    }

    /// Stops receive DMA into queue `n` alone, for a queue released while the
    /// device runs on.
    pub(crate) fn stop_rx_queue(&self, n: u32) {
        match self.family {
            Family::E1000 => e1000::stop_rx(&self.backend),
            Family::Igb => igb::stop_rx_queue(&self.backend, n),
        }
    }

    /// Stops transmit DMA from queue `n` alone.
    pub(crate) fn stop_tx_queue(&self, n: u32) {
        match self.family {
            Family::E1000 => e1000::stop_tx(&self.backend),
            Family::Igb => igb::stop_tx_queue(&self.backend, n),
        }
    }

    /// What a queue does before it releases its buffers: nothing when the
    /// device is stopped; stop the device when this queue is its last user;
    /// else stop this queue's DMA (via `own`).
    pub(crate) fn quiesce_for_release(self: &std::sync::Arc<Self>, own: impl FnOnce(&Self)) {
        if self.is_stopped() {
            return;
        }
        if std::sync::Arc::strong_count(self) == 1 {
            self.stop();
        } else {
            own(self);
        }
    }
}

impl<B: Backend> Drop for DeviceGuard<B> {
    fn drop(&mut self) {
        self.stop();
    }
}
