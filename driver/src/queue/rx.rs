//! The receive ring: poll completions in batches, validate what the device wrote,
//! hand packets out in place, refill in batches with one tail write.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use crate::backend::Backend;
use crate::desc::{Advanced, Legacy, RxFormat, DESC_SIZE};
use crate::dma::DmaMemory;
use crate::guard::DeviceGuard;
use crate::ident::Family;
use crate::mempool::{Mempool, Packet, HEADROOM};

use super::Counter;

const EMPTY: u32 = u32::MAX;

/// Counters of one receive queue. Written by the thread that polls the queue,
/// readable from any thread through [`RxQueue::stats`].
#[derive(Debug, Default)]
pub struct RxQueueStats {
    /// Packets handed to the application.
    pub packets: Counter,
    /// Bytes handed to the application.
    pub bytes: Counter,
    /// Descriptors whose length was 0 or beyond the buffer: dropped.
    pub bad_length: Counter,
    /// Frames that spanned several descriptors (no EOP on the first): dropped,
    /// with every descriptor up to and including the one with EOP.
    pub no_eop: Counter,
    /// Frames the device flagged with CRC, symbol, sequence or data errors: dropped.
    pub frame_errors: Counter,
    /// Frames with a bad IP or L4 checksum per the device (delivered).
    pub csum_errors: Counter,
    /// Refill attempts that found the mempool empty (the ring runs with fewer
    /// buffers until packets are returned).
    pub alloc_failures: Counter,
}

/// One receive queue of a NIC.
///
/// `Send`: it can be moved to the thread that polls it (see
/// [`crate::Nic::take_rx_queues`]). Dropping it stops its DMA before its buffers
/// go back to the pool (or the whole device when it is the last user).
pub struct RxQueue<B: Backend> {
    dev: Arc<DeviceGuard<B>>,
    index: u16,
    family: Family,
    ring: DmaMemory,
    mask: usize,
    bufs: Vec<u32>,
    next_to_clean: usize,
    next_to_use: usize,
    posted: usize,
    rdt: u32,
    /// The head register (RDH): where the device writes next.
    rdh: u32,
    discarding: bool,
    refill_threshold: usize,
    /// The pool's buffer length: a longer written-back length is refused.
    buf_len: usize,
    /// Buffers handed back with [`RxQueue::recycle`], owned by the queue and
    /// posted before any is taken from the pool's shared free queue.
    recycled: Vec<u32>,
    /// Most buffers `recycled` keeps (see [`RxQueue::set_recycle_limit`]).
    recycle_limit: usize,
    pool: Mempool,
    stats: Arc<RxQueueStats>,
}

impl<B: Backend> RxQueue<B> {
    /// Builds the ring in `ring` (size × 16 bytes) and posts buffers to every
    /// descriptor but one. The caller programs the ring registers, then calls
    /// [`RxQueue::start`] to write the first tail.
    pub(crate) fn new(
        dev: Arc<DeviceGuard<B>>,
        index: u16,
        family: Family,
        ring: DmaMemory,
        size: usize,
        (rdh, rdt): (u32, u32),
        pool: Mempool,
    ) -> Self {
        debug_assert!(size.is_power_of_two() && ring.len() >= size * DESC_SIZE);
        let mut q = RxQueue {
            dev,
            index,
            family,
            ring,
            mask: size - 1,
            bufs: vec![EMPTY; size],
            next_to_clean: 0,
            next_to_use: 0,
            posted: 0,
            rdt,
            rdh,
            discarding: false,
            refill_threshold: (size / 4).clamp(1, 32),
            buf_len: pool.buffer_len(),
            recycled: Vec::with_capacity(size),
            recycle_limit: size,
            pool,
            stats: Arc::default(),
        };
        q.fill();
        q
    }

    /// The descriptor ring's device address, for RDBAL/RDBAH.
    pub(crate) fn ring_iova(&self) -> u64 {
        self.ring.iova()
    }

    /// Writes the tail register so the device owns every posted buffer.
    pub(crate) fn start(&self) {
        fence(Ordering::Release);
        self.dev.backend.write32(self.rdt, self.next_to_use as u32);
    }

    /// The queue's number on the NIC (its register block, its RSS queue index).
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Number of descriptors in the ring.
    pub fn size(&self) -> usize {
        self.mask + 1
    }

    /// Descriptors holding a buffer for the device right now (ready descriptors).
    pub fn ready(&self) -> usize {
        self.posted
    }

    /// Descriptors the device has filled that [`RxQueue::rx_batch`] has not
    /// taken yet: the ring's backlog, how close the NIC is to running out of
    /// buffers (RNBC, then drops). Read from the head register (one register
    /// read: for statistics, not for every poll). The device's value is
    /// untrusted: it is taken modulo the ring and capped at the posted count.
    pub fn filled(&self) -> usize {
        let head = self.dev.backend.read32(self.rdh) as usize;
        (head.wrapping_sub(self.next_to_clean) & self.mask).min(self.posted)
    }

    /// The queue's counters (shared: clone the `Arc` to read them from another thread).
    pub fn stats(&self) -> &Arc<RxQueueStats> {
        &self.stats
    }

    /// The pool the queue's buffers come from.
    pub fn pool(&self) -> &Mempool {
        &self.pool
    }

    /// True when the device has written back at least one descriptor that
    /// [`RxQueue::rx_batch`] has not consumed yet.
    pub fn has_completions(&self) -> bool {
        self.posted > 0
            && match self.family {
                Family::E1000 => Legacy::complete(&self.ring, self.next_to_clean).is_some(),
                Family::Igb => Advanced::complete(&self.ring, self.next_to_clean).is_some(),
            }
    }

    /// Receives up to `max` packets, appending them to `out`; returns how many.
    ///
    /// At most `max` descriptors are examined, so the work per call is bounded.
    /// Descriptors the device wrote with a bad length, without EOP, or with frame
    /// error bits are dropped and counted, never handed on. Freed descriptors are
    /// refilled in batches, with one tail write.
    #[inline]
    pub fn rx_batch(&mut self, out: &mut Vec<Packet>, max: usize) -> usize {
        match self.family {
            Family::E1000 => self.rx_batch_fmt::<Legacy>(out, max),
            Family::Igb => self.rx_batch_fmt::<Advanced>(out, max),
        }
    }

    #[inline(always)]
    fn rx_batch_fmt<F: RxFormat>(&mut self, out: &mut Vec<Packet>, max: usize) -> usize {
        let mut delivered = 0;
        let mut bytes = 0u64;
        let mut budget = max;
        let mut reserved = 0;
        while budget > 0 && self.posted > 0 {
            let i = self.next_to_clean;
            let Some(c) = F::complete(&self.ring, i) else {
                break;
            };
            budget -= 1;
            let buf = std::mem::replace(&mut self.bufs[i], EMPTY);
            self.next_to_clean = (i + 1) & self.mask;
            self.posted -= 1;
            if buf == EMPTY {
                // Cannot happen while `posted` counts right; never trust it blindly.
                continue;
            }
            let len = c.len as usize;
            let good = if self.discarding {
                self.discarding = !c.eop;
                false
            } else if !c.eop {
                self.discarding = true;
                self.stats.no_eop.add(1);
                false
            } else if c.frame_error {
                self.stats.frame_errors.add(1);
                false
            } else if len == 0 || len > self.buf_len {
                self.stats.bad_length.add(1);
                false
            } else {
                true
            };
            if !good {
                self.pool.free_raw(buf);
                continue;
            }
            if c.csum_error {
                self.stats.csum_errors.add(1);
            }
            if reserved == 0 {
                // One pool reference for every packet this call may still hand out.
                reserved = budget + 1;
                self.pool.reserve_packets(reserved);
            }
            out.push(self.pool.packet(buf, HEADROOM as u16, c.len));
            delivered += 1;
            bytes += len as u64;
        }
        if delivered > 0 {
            // Give back the references reserved for packets not handed out.
            self.pool.unreserve_packets(reserved - delivered);
            self.stats.packets.add(delivered as u64);
            self.stats.bytes.add(bytes);
        }
        if self.size() - 1 - self.posted >= self.refill_threshold {
            self.refill::<F>();
        }
        delivered
    }

    fn fill(&mut self) {
        match self.family {
            Family::E1000 => self.post_free::<Legacy>(),
            Family::Igb => self.post_free::<Advanced>(),
        };
    }

    /// Posts buffers to every free descriptor (one stays empty so that a full ring
    /// is distinguishable from an empty one); returns how many were posted.
    #[inline(always)]
    fn post_free<F: RxFormat>(&mut self) -> usize {
        let mut filled = 0;
        while self.posted < self.mask {
            let Some(buf) = self.recycled.pop().or_else(|| self.pool.alloc_raw()) else {
                self.stats.alloc_failures.add(1);
                break;
            };
            let i = self.next_to_use;
            F::post(&self.ring, i, self.pool.iova(buf, HEADROOM));
            self.bufs[i] = buf;
            self.next_to_use = (i + 1) & self.mask;
            self.posted += 1;
            filled += 1;
        }
        filled
    }

    #[inline(always)]
    fn refill<F: RxFormat>(&mut self) {
        if self.post_free::<F>() > 0 {
            // Descriptors must be visible to the device before it sees the tail.
            fence(Ordering::Release);
            self.dev.backend.write32(self.rdt, self.next_to_use as u32);
        }
    }

    /// Returns every posted buffer to the pool. Only after the device stopped.
    pub(crate) fn release_buffers(&mut self) {
        for b in self.bufs.iter_mut() {
            if *b != EMPTY {
                self.pool.free_raw(std::mem::replace(b, EMPTY));
            }
        }
        self.posted = 0;
        for b in self.recycled.drain(..) {
            self.pool.free_raw(b);
        }
    }

    /// Takes back the packets in `packets` (emptying it) for the next refills
    /// of this queue: what dropping them does, without an atomic operation per
    /// packet on the pool's shared free queue and reference count. Packets of
    /// another pool, and any beyond the recycle limit (a ring's worth unless
    /// [`RxQueue::set_recycle_limit`] says otherwise), are dropped as usual.
    /// For a thread that gets its packets back from the one that consumed them
    /// (a capture's writer), so that buffers stay on the receive core.
    pub fn recycle(&mut self, packets: &mut Vec<Packet>) {
        let room = self.recycle_limit;
        let mut taken = 0;
        for p in packets.drain(..) {
            if self.recycled.len() >= room {
                drop(p);
                continue;
            }
            match self.pool.reclaim(p) {
                Ok(idx) => {
                    self.recycled.push(idx);
                    taken += 1;
                }
                Err(p) => drop(p),
            }
        }
        self.pool.release_reclaimed(taken);
    }

    /// Sets how many buffers [`RxQueue::recycle`] keeps for this queue's
    /// refills (default: the ring's size); further ones go back to the pool.
    /// Those it keeps are out of the pool's reach, so a limit above the ring
    /// suits a pool this queue alone allocates from, such as a capture's,
    /// whose consumer hands buffers back in bursts larger than the ring: up to
    /// the pool's size, every buffer then stays off the shared free queue.
    /// Buffers already kept beyond a lower new limit go back to the pool.
    pub fn set_recycle_limit(&mut self, limit: usize) {
        self.recycle_limit = limit;
        while self.recycled.len() > limit {
            if let Some(b) = self.recycled.pop() {
                self.pool.free_raw(b);
            }
        }
    }

    /// Buffers held for refills after [`RxQueue::recycle`] (not in the pool's
    /// free count).
    pub fn recycled(&self) -> usize {
        self.recycled.len()
    }
}

impl<B: Backend> Drop for RxQueue<B> {
    fn drop(&mut self) {
        // The device must not write into the ring or the buffers once they are
        // released; the ring itself is unmapped when `self.ring` drops, after this.
        let n = u32::from(self.index);
        self.dev.quiesce_for_release(|d| d.stop_rx_queue(n));
        self.release_buffers();
    }
}
