//! The transmit ring: post packets in batches with one tail write, reclaim
//! completed descriptors in batches on the DD bit.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use crate::backend::Backend;
use crate::desc::{Advanced, Legacy, TxFormat, DESC_SIZE};
use crate::dma::DmaMemory;
use crate::guard::DeviceGuard;
use crate::ident::Family;
use crate::mempool::{Packet, MIN_FRAME_LEN};

use super::Counter;

/// Counters of one transmit queue.
#[derive(Debug, Default)]
pub struct TxQueueStats {
    /// Packets handed to the device.
    pub packets: Counter,
    /// Bytes handed to the device (after padding).
    pub bytes: Counter,
    /// Frames shorter than 60 bytes that the driver padded with zeros.
    pub padded: Counter,
    /// Calls that could not post every packet because the ring was full.
    pub ring_full: Counter,
    /// Packets refused as empty (length 0); dropped.
    pub invalid: Counter,
}

/// One transmit queue of a NIC.
pub struct TxQueue<B: Backend> {
    dev: Arc<DeviceGuard<B>>,
    index: u16,
    family: Family,
    ring: DmaMemory,
    mask: usize,
    slots: Vec<Option<Packet>>,
    next_to_clean: usize,
    next_to_use: usize,
    in_flight: usize,
    tdt: u32,
    stats: Arc<TxQueueStats>,
}

impl<B: Backend> TxQueue<B> {
    pub(crate) fn new(
        dev: Arc<DeviceGuard<B>>,
        index: u16,
        family: Family,
        ring: DmaMemory,
        size: usize,
        tdt: u32,
    ) -> Self {
        debug_assert!(size.is_power_of_two() && ring.len() >= size * DESC_SIZE);
        TxQueue {
            dev,
            index,
            family,
            ring,
            mask: size - 1,
            slots: (0..size).map(|_| None).collect(),
            next_to_clean: 0,
            next_to_use: 0,
            in_flight: 0,
            tdt,
            stats: Arc::default(),
        }
    }

    /// The descriptor ring's device address, for TDBAL/TDBAH.
    pub(crate) fn ring_iova(&self) -> u64 {
        self.ring.iova()
    }

    /// Number of descriptors in the ring.
    pub fn size(&self) -> usize {
        self.mask + 1
    }

    /// Packets posted and not yet reclaimed.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The queue's counters.
    pub fn stats(&self) -> &Arc<TxQueueStats> {
        &self.stats
    }

    /// Sends packets from the front of `pkts`, as many as the ring has room for,
    /// and removes them from `pkts`; the rest stay for a later call. Returns how
    /// many were posted. Frames shorter than 60 bytes are padded with zeros.
    /// Completed descriptors are reclaimed first, returning their buffers.
    pub fn tx_batch(&mut self, pkts: &mut Vec<Packet>) -> usize {
        match self.family {
            Family::E1000 => self.tx_batch_fmt::<Legacy>(pkts),
            Family::Igb => self.tx_batch_fmt::<Advanced>(pkts),
        }
    }

    /// Reclaims descriptors the device has finished with; returns how many.
    pub fn clean(&mut self) -> usize {
        match self.family {
            Family::E1000 => self.clean_fmt::<Legacy>(),
            Family::Igb => self.clean_fmt::<Advanced>(),
        }
    }

    #[inline(always)]
    fn clean_fmt<F: TxFormat>(&mut self) -> usize {
        let mut n = 0;
        while self.in_flight > 0 && F::done(&self.ring, self.next_to_clean) {
            // Dropping the packet returns its buffer to its pool.
            self.slots[self.next_to_clean] = None;
            self.next_to_clean = (self.next_to_clean + 1) & self.mask;
            self.in_flight -= 1;
            n += 1;
        }
        n
    }

    #[inline(always)]
    fn tx_batch_fmt<F: TxFormat>(&mut self, pkts: &mut Vec<Packet>) -> usize {
        self.clean_fmt::<F>();
        let room = self.mask - self.in_flight;
        let n = room.min(pkts.len());
        if n < pkts.len() {
            self.stats.ring_full.add(1);
        }
        let mut posted = 0;
        let mut bytes = 0u64;
        for mut p in pkts.drain(..n) {
            if p.is_empty() {
                self.stats.invalid.add(1);
                continue;
            }
            if p.len() < MIN_FRAME_LEN {
                // Cannot fail: every buffer holds far more than 60 bytes.
                if p.pad_to(MIN_FRAME_LEN).is_ok() {
                    self.stats.padded.add(1);
                }
            }
            let i = self.next_to_use;
            F::post(&self.ring, i, p.iova(), p.len() as u16);
            bytes += p.len() as u64;
            self.slots[i] = Some(p);
            self.next_to_use = (i + 1) & self.mask;
            self.in_flight += 1;
            posted += 1;
        }
        if posted > 0 {
            // Descriptors and packet bytes must be visible before the tail moves.
            fence(Ordering::Release);
            self.dev.backend.write32(self.tdt, self.next_to_use as u32);
            self.stats.packets.add(posted as u64);
            self.stats.bytes.add(bytes);
        }
        posted
    }

    /// Forgets every in-flight packet (returning the buffers). Only after the
    /// device stopped.
    pub(crate) fn release_buffers(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.in_flight = 0;
    }
}

impl<B: Backend> Drop for TxQueue<B> {
    fn drop(&mut self) {
        let n = u32::from(self.index);
        self.dev.quiesce_for_release(|d| d.stop_tx_queue(n));
        self.release_buffers();
    }
}
