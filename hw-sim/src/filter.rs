//! The receive address filter: exact matches (RAL/RAH), the multicast hash
//! table (MTA, hashed per RCTL.MO), broadcast (BAM) and promiscuous modes.

use igbpoll_driver::regs::{self, rctl};

use crate::regs::RegFile;

/// Receive address entries.
pub const RA_ENTRIES: u32 = 16;

/// A snapshot of the filter registers.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    exact: Vec<[u8; 6]>,
    mta: [u32; 128],
    mo: u32,
    upe: bool,
    mpe: bool,
    bam: bool,
}

/// The 12-bit MTA hash of a multicast address for RCTL.MO = `mo`.
pub fn mta_hash(addr: &[u8; 6], mo: u32) -> u32 {
    let (a4, a5) = (u32::from(addr[4]), u32::from(addr[5]));
    let h = match mo & 3 {
        0 => (a4 >> 4) | (a5 << 4),
        1 => (a4 >> 3) | (a5 << 5),
        2 => (a4 >> 2) | (a5 << 6),
        _ => a4 | (a5 << 8),
    };
    h & 0xFFF
}

impl Filter {
    pub(crate) fn from_regs(rf: &RegFile) -> Filter {
        let rctl_v = rf.get(regs::RCTL);
        let mut exact = Vec::new();
        for n in 0..RA_ENTRIES {
            let hi = rf.get(regs::rah(n));
            if hi & regs::RAH_AV != 0 {
                let lo = rf.get(regs::ral(n)).to_le_bytes();
                let h = hi.to_le_bytes();
                exact.push([lo[0], lo[1], lo[2], lo[3], h[0], h[1]]);
            }
        }
        Filter {
            exact,
            mta: std::array::from_fn(|i| rf.get(regs::MTA + 4 * i as u32)),
            mo: (rctl_v >> rctl::MO_SHIFT) & 3,
            upe: rctl_v & rctl::UPE != 0,
            mpe: rctl_v & rctl::MPE != 0,
            bam: rctl_v & rctl::BAM != 0,
        }
    }

    /// True when a frame whose destination is `frame[0..6]` is accepted.
    #[inline(always)]
    pub(crate) fn accept(&self, frame: &[u8]) -> bool {
        let Some(dst) = frame.get(..6) else {
            return false;
        };
        let dst: &[u8; 6] = dst.try_into().expect("six bytes");
        if dst[0] & 1 == 0 {
            return self.upe || self.exact.iter().any(|a| a == dst);
        }
        if *dst == [0xFF; 6] {
            return self.bam || self.mpe;
        }
        if self.mpe || self.exact.iter().any(|a| a == dst) {
            return true;
        }
        let h = mta_hash(dst, self.mo);
        self.mta[(h >> 5) as usize] & (1 << (h & 31)) != 0
    }
}
