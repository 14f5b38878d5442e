//! Receive: frames from the wire through the address filter and the size
//! checks into the FIFO, and from the FIFO into receive descriptors.

use std::sync::atomic::Ordering;

use igbpoll_driver::regs::icr;

use super::dma::{load_u64, write_bytes};
use super::{Engine, BATCH};
use crate::device::Device;
use crate::fifo::Fifo;
use crate::iommu::Translator;
use crate::stats::{size_bin, StatDelta};
use crate::wire::frame::crc32;
use crate::wire::{SourcePoll, WireCounters};
use crate::{e1000, igb, Corruption};

/// Frames longer than this are refused whatever the configuration.
const MAX_RX_FRAME: usize = 16 * 1024;

/// One queue's ring during a batch.
struct QueueState {
    ring: *mut u8,
    ndesc: u32,
    head: u32,
    tail: u32,
    bufsize: usize,
    advanced: bool,
    drop_en: bool,
    usable: bool,
    faulted: bool,
}

impl QueueState {
    const IDLE: QueueState = QueueState {
        ring: std::ptr::null_mut(),
        ndesc: 0,
        head: 0,
        tail: 0,
        bufsize: 0,
        advanced: false,
        drop_en: false,
        usable: false,
        faulted: false,
    };

    #[inline(always)]
    fn free(&self) -> u32 {
        if !self.usable || self.tail >= self.ndesc || self.head >= self.ndesc {
            return 0;
        }
        if self.tail >= self.head {
            self.tail - self.head
        } else {
            self.tail + self.ndesc - self.head
        }
    }
}

enum Outcome {
    Delivered,
    NoDescriptor,
    Fault,
}

/// The parts of the engine that delivery touches, borrowed apart from the FIFO.
struct Path<'a> {
    dev: &'a Device,
    xlate: &'a mut Translator,
    stats: &'a mut StatDelta,
    wire: &'a mut WireCounters,
    secrc: bool,
}

impl Path<'_> {
    /// Writes `frame` (+ FCS unless SECRC) into as many descriptors as it needs;
    /// `tag` carries the RSS result for the advanced write-back (see [`tag`]).
    #[inline(always)]
    fn deliver(&mut self, q: &mut QueueState, frame: &[u8], tag: u64) -> Outcome {
        if q.faulted {
            return Outcome::Fault;
        }
        let len = frame.len();
        let fcs_len = if self.secrc { 0 } else { 4 };
        let total = len + fcs_len;
        let bs = q.bufsize.max(1);
        let needed = if total <= bs { 1 } else { total.div_ceil(bs) };
        if (q.free() as usize) < needed {
            return Outcome::NoDescriptor;
        }
        let fcs = if fcs_len > 0 {
            crc32(frame).to_le_bytes()
        } else {
            [0; 4]
        };
        let mut off = 0;
        while off < total {
            let chunk = bs.min(total - off);
            let eop = off + chunk == total;
            // SAFETY: head < ndesc and the ring spans ndesc*16 live bytes
            // (checked when the queue state was built).
            let desc = unsafe { q.ring.add(q.head as usize * 16) };
            // SAFETY: as above; descriptors are 16-byte aligned.
            let addr = unsafe { load_u64(desc, Ordering::Relaxed) };
            if let Some(p) = self
                .xlate
                .map(&self.dev.iommu, addr, chunk, true, "rx buffer")
            {
                let data_end = (off + chunk).min(len);
                let data = if off < len {
                    &frame[off..data_end]
                } else {
                    &[][..]
                };
                // SAFETY: p is valid for chunk bytes (translated); the driver
                // gave this buffer to the device by advancing RDT past it.
                unsafe { write_bytes(p, data) };
                if off + chunk > len {
                    let fcs_from = off.max(len) - len;
                    let fcs_to = off + chunk - len;
                    // SAFETY: the FCS bytes follow the data inside the same chunk.
                    unsafe { write_bytes(p.add(data.len()), &fcs[fcs_from..fcs_to]) };
                }
            }
            self.write_back(q, desc, chunk as u16, eop, tag);
            q.head = if q.head + 1 == q.ndesc { 0 } else { q.head + 1 };
            off += chunk;
        }
        let s = &mut *self.stats;
        s.gprc += 1;
        s.gorc += (len + 4) as u64;
        if let Some(b) = size_bin(len + 4) {
            s.prc[b] += 1;
        }
        if frame[0] & 1 != 0 {
            if frame[..6] == [0xFF; 6] {
                s.bprc += 1;
            } else {
                s.mprc += 1;
            }
        }
        self.wire.delivered += 1;
        Outcome::Delivered
    }

    #[inline(always)]
    fn write_back(&mut self, q: &QueueState, desc: *mut u8, len: u16, eop: bool, tag: u64) {
        let (mut len, mut eop, mut bad) = (len, eop, false);
        if self.dev.corrupt.left.load(Ordering::Relaxed) > 0 {
            self.corrupt(&mut len, &mut eop, &mut bad);
        }
        if q.advanced {
            let err = if bad { igb::HOSTILE_ERRORS } else { 0 };
            // SAFETY: desc points to a live, 16-byte-aligned descriptor.
            unsafe { igb::write_back_rx(desc, tag_write_back(tag), len, eop, err) };
        } else {
            let err = if bad { e1000::HOSTILE_ERRORS } else { 0 };
            // SAFETY: as above.
            unsafe { e1000::write_back_rx(desc, len, eop, err) };
        }
    }

    #[cold]
    fn corrupt(&mut self, len: &mut u16, eop: &mut bool, bad: &mut bool) {
        let c = &self.dev.corrupt;
        if c.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_err()
        {
            return;
        }
        match *c.kind.lock().unwrap_or_else(|e| e.into_inner()) {
            Corruption::LengthOverflow => *len = 0xFFFF,
            Corruption::NoEop => *eop = false,
            Corruption::FrameError => *bad = true,
        }
    }
}

/// The FIFO tag of a frame: queue in bits 0..7, RSS type in 8..11, hash in 32..63.
#[inline(always)]
fn tag(queue: u8, rss_type: u8, hash: u32) -> u64 {
    u64::from(queue) | u64::from(rss_type) << 8 | u64::from(hash) << 32
}

#[inline(always)]
fn tag_queue(tag: u64) -> usize {
    (tag & 0xFF) as usize
}

/// The first half of the advanced write-back: pkt_info (RSS type in bits 0..3)
/// and the RSS hash in dword 1.
#[inline(always)]
fn tag_write_back(tag: u64) -> u64 {
    (tag >> 8 & 0xF) | (tag & 0xFFFF_FFFF_0000_0000)
}

/// A frame for queue `q` that has no descriptor: with DROP_EN it is dropped and
/// counted per queue (true), else it must wait (false).
#[inline(always)]
fn drop_for_queue(path: &mut Path<'_>, q: &QueueState, n: usize) -> bool {
    if q.drop_en {
        path.stats.rqdpc[n & 15] += 1;
        path.stats.any_rqdpc = true;
        path.wire.dropped_queue += 1;
    }
    q.drop_en
}

impl Engine {
    /// Receive side of one step.
    pub(super) fn rx(&mut self) -> usize {
        let dev = &*self.dev;
        if !self.snap.rx_en || !dev.link_up.load(Ordering::Acquire) {
            return 0; // The wire holds its frames until the receiver is up.
        }
        let used = self.snap.rx_used.max(1);
        let mut qs = [QueueState::IDLE; crate::device::MAX_QUEUES];
        let mut head0 = [0u32; crate::device::MAX_QUEUES];
        for (n, qc) in self.snap.rx.iter_mut().take(used).enumerate() {
            let ring = if qc.enabled && qc.ring.ndesc > 0 {
                qc.ring.host(dev, false, "rx descriptor ring")
            } else {
                None
            };
            qs[n] = QueueState {
                ring: ring.unwrap_or(std::ptr::null_mut()),
                ndesc: qc.ring.ndesc,
                head: dev.rdh[n].load(Ordering::Relaxed),
                tail: dev.rdt[n].load(Ordering::Acquire),
                bufsize: qc.bufsize,
                advanced: qc.advanced,
                drop_en: qc.drop_en,
                usable: ring.is_some(),
                faulted: qc.enabled && qc.ring.ndesc > 0 && ring.is_none(),
            };
            head0[n] = qs[n].head;
        }
        let qs = &mut qs[..used];
        let gen0 = dev.generation.load(Ordering::Acquire);
        let mut path = Path {
            dev,
            xlate: &mut self.xlate,
            stats: &mut self.stats,
            wire: &mut self.wire,
            secrc: self.snap.secrc,
        };
        let mut work = 0;

        // 1. Frames waiting in the FIFO go first, in order. The FIFO is shared:
        //    a frame for a queue without descriptors and without DROP_EN holds
        //    every frame behind it, whatever their queue.
        while work < BATCH {
            let Some((frame, tag)) = self.fifo.front() else {
                break;
            };
            let n = tag_queue(tag).min(used - 1);
            let q = &mut qs[n];
            match path.deliver(q, frame, tag) {
                Outcome::Delivered => {}
                Outcome::Fault => path.wire.dropped_dma_fault += 1,
                Outcome::NoDescriptor => {
                    if !drop_for_queue(&mut path, q, n) {
                        break;
                    }
                }
            }
            self.fifo.pop();
            work += 1;
        }

        // 2. New arrivals: injected frames, then the source. Only with an up-to-date
        // view of the registers: a frame that reaches the MAC after a register
        // write completed (say RCTL.UPE) must see it, as on silicon. If the driver
        // wrote a register during this round, arrivals wait for the next one,
        // which starts by re-reading the configuration.
        let current = dev.generation.load(Ordering::Acquire) == self.generation;
        let snap = &self.snap;
        let mut arrivals = 0;
        if current && dev.wire.inject_len.load(Ordering::Acquire) > 0 {
            let mut inj = dev.wire.inject.lock().unwrap_or_else(|e| e.into_inner());
            // Checked again under the lock: a frame injected after a register
            // write (same thread: write, then inject) is only seen here with
            // that write's generation visible, so a write that landed after
            // `current` was computed holds the frame for the next round.
            let still_current = dev.generation.load(Ordering::Acquire) == self.generation;
            while still_current && arrivals < BATCH {
                let Some(f) = inj.pop_front() else { break };
                // Published in flush(), after in_fifo: see Sim::rx_drained.
                self.injected_taken += 1;
                arrive(&mut path, &mut self.fifo, qs, snap, &f);
                arrivals += 1;
            }
        }
        if current && arrivals < BATCH && !dev.wire.source_done.load(Ordering::Relaxed) {
            let mut src = dev.wire.source.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(src) = src.as_mut() {
                let now = dev.now();
                self.next_due = None;
                // Flow control (see FrameSource::flow_controlled): hold the sender
                // while the FIFO could not take a maximum-size frame.
                let room = crate::fifo::occupancy(snap.max_tagged.min(MAX_RX_FRAME));
                let flow = src.flow_controlled();
                while arrivals < BATCH {
                    if flow && self.fifo.free_bytes() < room {
                        break;
                    }
                    match src.poll(now) {
                        SourcePoll::Frame(f) => {
                            arrive(&mut path, &mut self.fifo, qs, snap, f);
                            arrivals += 1;
                        }
                        SourcePoll::Until(t) => {
                            self.next_due = Some(t);
                            self.slack = src.slack();
                            break;
                        }
                        SourcePoll::Done => {
                            // Published in flush(), after in_fifo: see Sim::rx_drained.
                            self.source_finished = true;
                            break;
                        }
                    }
                }
            }
        }
        work += arrivals;

        if dev.generation.load(Ordering::Acquire) == gen0 {
            let mut moved = false;
            for (n, q) in qs.iter().enumerate() {
                if q.head != head0[n] {
                    dev.rdh[n].store(q.head, Ordering::Release);
                    moved = true;
                }
            }
            if moved {
                dev.raise(icr::RXT0);
            }
        }
        work
    }
}

/// One frame reaching the MAC: filtered, size-checked, classified (RSS) and
/// delivered to its queue at once when nothing waits in the FIFO.
#[inline(always)]
fn arrive(
    path: &mut Path<'_>,
    fifo: &mut Fifo,
    qs: &mut [QueueState],
    snap: &super::Snapshot,
    f: &[u8],
) {
    let len = f.len();
    path.wire.offered += 1;
    path.stats.tpr += 1;
    path.stats.tor += (len + 4) as u64;
    if !snap.filter.accept(f) {
        path.wire.dropped_filtered += 1;
        return;
    }
    if len < crate::wire::frame::MIN_FRAME && !snap.sbp {
        path.stats.ruc += 1;
        path.wire.dropped_runt += 1;
        return;
    }
    let tagged = len >= 14 && f[12..14] == snap.vet;
    let max = if tagged {
        snap.max_tagged
    } else {
        snap.max_frame
    };
    if len > max || len > MAX_RX_FRAME {
        path.stats.roc += 1;
        path.wire.dropped_oversize += 1;
        return;
    }
    let t = match &snap.rss {
        None => 0,
        Some(rss) => {
            let d = rss.dispatch(f);
            tag(d.queue, d.rss_type as u8, d.hash)
        }
    };
    let n = tag_queue(t).min(qs.len() - 1);
    let q = &mut qs[n];
    if fifo.is_empty() {
        match path.deliver(q, f, t) {
            Outcome::Delivered => return,
            Outcome::Fault => {
                path.wire.dropped_dma_fault += 1;
                return;
            }
            Outcome::NoDescriptor => {}
        }
    }
    let fcs = if path.secrc { 0 } else { 4 };
    let no_desc = (q.free() as usize) < (len + fcs).div_ceil(q.bufsize.max(1)).max(1);
    if no_desc {
        if drop_for_queue(path, q, n) {
            return;
        }
        path.stats.rnbc += 1;
    }
    if !fifo.push(f, t) {
        path.stats.mpc += 1;
        path.wire.dropped_overflow += 1;
        path.dev.raise(icr::RXO);
    }
}
