//! Transmit: descriptors from TDH up to TDT, gathered into frames until EOP,
//! padded per TCTL.PSP and handed to the sinks; DD written back when RS asks.
//!
//! Formats: legacy (DEXT=0, both models), e1000 extended data (DTYP_D) and
//! igb advanced data (DTYP=3); context descriptors carry no data and are
//! consumed. Offloads are not performed.

use std::sync::atomic::Ordering;

use igbpoll_driver::regs::icr;

use super::dma::{load_u64, or_u32, read_bytes};
use super::{Engine, BATCH};
use crate::stats::size_bin;
use crate::wire::frame::MIN_FRAME;
use crate::SimModel;

/// Largest frame (without FCS) the transmitter sends; longer ones are dropped.
pub(crate) const MAX_TX_FRAME: usize = 16 * 1024;

const DEXT: u64 = 1 << 29;
const EOP: u64 = 1 << 24;
const RS: u64 = 1 << 27;
const RPS: u64 = 1 << 28;

impl Engine {
    /// Transmit side of one step: every enabled queue, up to a batch each.
    pub(super) fn tx(&mut self) -> usize {
        if !self.snap.tx_en || !self.dev.link_up.load(Ordering::Acquire) {
            return 0;
        }
        let mut work = 0;
        for n in 0..self.snap.tx.len() {
            work += self.tx_queue(n);
        }
        work
    }

    fn tx_queue(&mut self, n: usize) -> usize {
        let dev = &*self.dev;
        let tq = &mut self.snap.tx[n];
        let ndesc = tq.ring.ndesc;
        if !tq.enabled || ndesc == 0 {
            return 0;
        }
        let mut head = dev.tdh[n].load(Ordering::Relaxed);
        let tail = dev.tdt[n].load(Ordering::Acquire);
        if head == tail || head >= ndesc || tail >= ndesc {
            return 0;
        }
        let Some(ring) = tq.ring.host(dev, false, "tx descriptor ring") else {
            return 0;
        };
        let gen0 = dev.generation.load(Ordering::Acquire);
        let now = dev.wall(dev.now());
        let mut sinks = None;
        let mut done = 0;
        let mut txdw = false;
        while head != tail && done < BATCH {
            // SAFETY: head < ndesc; the ring spans ndesc*16 live, aligned bytes.
            let desc = unsafe { ring.add(head as usize * 16) };
            // SAFETY: as above.
            let (addr, hi) = unsafe {
                (
                    load_u64(desc, Ordering::Relaxed),
                    load_u64(desc.add(8), Ordering::Relaxed),
                )
            };
            let (len, data) = if hi & DEXT == 0 {
                (hi & 0xFFFF, true)
            } else {
                let dtyp = (hi >> 20) & 0xF;
                match dev.model {
                    SimModel::Igb => (hi & 0xFFFF, dtyp == 3),
                    SimModel::E1000 => (hi & 0xF_FFFF, dtyp & 1 == 1),
                }
            };
            let len = len as usize;
            if data && len > 0 {
                let buf = &mut self.tx_partial[n];
                if buf.len() + len > MAX_TX_FRAME {
                    self.tx_overlong[n] = true;
                } else if let Some(p) = self.xlate.map(&dev.iommu, addr, len, false, "tx buffer") {
                    // SAFETY: p is valid for len bytes; the driver handed the
                    // buffer to the device by moving TDT past this descriptor.
                    unsafe { read_bytes(p, len, buf) };
                } else {
                    self.tx_overlong[n] = true;
                }
            }
            if hi & (RS | if hi & DEXT == 0 { RPS } else { 0 }) != 0 {
                // SAFETY: STA is the low byte of the aligned u32 at +12.
                unsafe { or_u32(desc.add(12), 1, Ordering::Release) };
                txdw = true;
            }
            head = (head + 1) % ndesc;
            done += 1;
            if data && hi & EOP != 0 {
                let buf = &mut self.tx_partial[n];
                if std::mem::take(&mut self.tx_overlong[n]) || buf.len() < 14 {
                    self.wire.tx_dropped += 1;
                } else {
                    if self.snap.psp && buf.len() < MIN_FRAME {
                        buf.resize(MIN_FRAME, 0);
                    }
                    let l = buf.len();
                    let s = &mut self.stats;
                    s.gptc += 1;
                    s.gotc += (l + 4) as u64;
                    if let Some(b) = size_bin(l + 4) {
                        s.ptc[b] += 1;
                    }
                    if buf[0] & 1 != 0 {
                        if buf[..6] == [0xFF; 6] {
                            s.bptc += 1;
                        } else {
                            s.mptc += 1;
                        }
                    }
                    self.wire.transmitted += 1;
                    if dev.wire.has_sinks.load(Ordering::Relaxed) {
                        let sk = sinks.get_or_insert_with(|| {
                            dev.wire.sinks.lock().unwrap_or_else(|e| e.into_inner())
                        });
                        for sink in sk.iter_mut() {
                            sink.frame(now, buf);
                        }
                    }
                }
                buf.clear();
            }
        }
        drop(sinks);
        if dev.generation.load(Ordering::Acquire) == gen0 {
            dev.tdh[n].store(head, Ordering::Release);
        }
        if txdw {
            dev.raise(icr::TXDW);
        }
        done
    }
}
