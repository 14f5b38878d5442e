//! Statistics registers with the silicon's read-to-clear semantics.
//!
//! Every counter clears when read. The 64-bit octet counters are one atomic
//! each: reading the low register returns the low half without clearing;
//! reading the high register returns the high half and clears both.
//! Counters saturate instead of wrapping. The engine adds to them once per batch.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use igbpoll_driver::regs::stats as s;

/// First statistics register offset.
pub const STATS_BASE: u32 = 0x4000;
/// One past the last statistics register offset.
pub const STATS_END: u32 = 0x4100;
const N32: usize = ((STATS_END - STATS_BASE) / 4) as usize;

/// The counters of one device.
pub(crate) struct Stats {
    regs: [AtomicU32; N32],
    gorc: AtomicU64,
    gotc: AtomicU64,
    tor: AtomicU64,
    tot: AtomicU64,
    rqdpc: [AtomicU32; 16],
}

/// Counts gathered by the engine during one batch, flushed together.
#[derive(Debug, Default, Clone)]
pub(crate) struct StatDelta {
    pub gprc: u32,
    pub bprc: u32,
    pub mprc: u32,
    pub gorc: u64,
    pub tpr: u32,
    pub tor: u64,
    pub prc: [u32; 6],
    pub mpc: u32,
    pub rnbc: u32,
    pub ruc: u32,
    pub roc: u32,
    pub gptc: u32,
    pub bptc: u32,
    pub mptc: u32,
    pub gotc: u64,
    pub ptc: [u32; 6],
    pub rqdpc: [u32; 16],
    pub any_rqdpc: bool,
}

/// The size bin (64, 65..127, ..., 1024..1522) of a frame of `len` bytes with FCS.
#[inline(always)]
pub(crate) fn size_bin(len_with_fcs: usize) -> Option<usize> {
    match len_with_fcs {
        0..=63 => None,
        64 => Some(0),
        65..=127 => Some(1),
        128..=255 => Some(2),
        256..=511 => Some(3),
        512..=1023 => Some(4),
        1024..=1522 => Some(5),
        _ => None,
    }
}

fn sat_add32(a: &AtomicU32, v: u32) {
    if v != 0 {
        let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
            Some(x.saturating_add(v))
        });
    }
}

fn sat_add64(a: &AtomicU64, v: u64) {
    if v != 0 {
        let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
            Some(x.saturating_add(v))
        });
    }
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            regs: std::array::from_fn(|_| AtomicU32::new(0)),
            gorc: AtomicU64::new(0),
            gotc: AtomicU64::new(0),
            tor: AtomicU64::new(0),
            tot: AtomicU64::new(0),
            rqdpc: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    fn reg(&self, off: u32) -> &AtomicU32 {
        &self.regs[((off - STATS_BASE) / 4) as usize]
    }

    /// Clears every counter (device reset).
    pub(crate) fn clear(&self) {
        for r in &self.regs {
            r.store(0, Ordering::Relaxed);
        }
        for r in [&self.gorc, &self.gotc, &self.tor, &self.tot] {
            r.store(0, Ordering::Relaxed);
        }
        for r in &self.rqdpc {
            r.store(0, Ordering::Relaxed);
        }
    }

    /// A driver read of the statistics register at `off` (STATS_BASE..STATS_END).
    pub(crate) fn read(&self, off: u32) -> u32 {
        let off = off & !3;
        let pair = match off {
            s::GORCL | s::GORCH => Some(&self.gorc),
            s::GOTCL | s::GOTCH => Some(&self.gotc),
            s::TORL | s::TORH => Some(&self.tor),
            s::TOTL | s::TOTH => Some(&self.tot),
            _ => None,
        };
        match pair {
            Some(a) if off & 4 == 0 => a.load(Ordering::Relaxed) as u32,
            Some(a) => (a.swap(0, Ordering::Relaxed) >> 32) as u32,
            None => self.reg(off).swap(0, Ordering::Relaxed),
        }
    }

    /// A driver read of RQDPC(q): clears it.
    pub(crate) fn read_rqdpc(&self, q: usize) -> u32 {
        self.rqdpc[q & 15].swap(0, Ordering::Relaxed)
    }

    /// Adds one batch's counts.
    pub(crate) fn flush(&self, d: &mut StatDelta) {
        sat_add32(self.reg(s::GPRC), d.gprc);
        sat_add32(self.reg(s::BPRC), d.bprc);
        sat_add32(self.reg(s::MPRC), d.mprc);
        sat_add64(&self.gorc, d.gorc);
        sat_add32(self.reg(s::TPR), d.tpr);
        sat_add64(&self.tor, d.tor);
        for (i, &v) in d.prc.iter().enumerate() {
            sat_add32(self.reg(s::PRC64 + 4 * i as u32), v);
        }
        sat_add32(self.reg(s::MPC), d.mpc);
        sat_add32(self.reg(s::RNBC), d.rnbc);
        sat_add32(self.reg(s::RUC), d.ruc);
        sat_add32(self.reg(s::ROC), d.roc);
        sat_add32(self.reg(s::GPTC), d.gptc);
        sat_add32(self.reg(s::TPT), d.gptc);
        sat_add32(self.reg(s::BPTC), d.bptc);
        sat_add32(self.reg(s::MPTC), d.mptc);
        sat_add64(&self.gotc, d.gotc);
        sat_add64(&self.tot, d.gotc);
        for (i, &v) in d.ptc.iter().enumerate() {
            sat_add32(self.reg(s::PTC64 + 4 * i as u32), v);
        }
        if d.any_rqdpc {
            for (a, &v) in self.rqdpc.iter().zip(d.rqdpc.iter()) {
                sat_add32(a, v);
            }
        }
        *d = StatDelta::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_to_clear_and_pairs() {
        let st = Stats::new();
        let mut d = StatDelta {
            gprc: 3,
            gorc: (5u64 << 32) | 7,
            ..Default::default()
        };
        st.flush(&mut d);
        assert_eq!(st.read(s::GPRC), 3);
        assert_eq!(st.read(s::GPRC), 0);
        assert_eq!(st.read(s::GORCL), 7);
        assert_eq!(st.read(s::GORCL), 7, "low half alone does not clear");
        assert_eq!(st.read(s::GORCH), 5);
        assert_eq!(st.read(s::GORCL), 0);
        assert_eq!(st.read(s::GORCH), 0);
    }

    #[test]
    fn saturates() {
        let st = Stats::new();
        let mut d = StatDelta {
            mpc: u32::MAX,
            ..Default::default()
        };
        st.flush(&mut d);
        d.mpc = 5;
        st.flush(&mut d);
        assert_eq!(st.read(s::MPC), u32::MAX);
    }
}
