//! 82540EM specifics: identity, register defaults, the single queue's register
//! block, and the legacy descriptor write-back (which the 82576 also uses when
//! SRRCTL.DESCTYPE is 000).

use std::sync::atomic::Ordering;

use igbpoll_driver::desc::{rx_errors, rx_status};
use igbpoll_driver::regs::{self, e1000 as q};

use crate::engine::dma::store_u64;

/// PCI device ID.
pub const DEVICE_ID: u16 = 0x100E;
/// PCI revision.
pub const REVISION: u8 = 3;
/// PHY identifier (Marvell 88E1011, PHYID1/PHYID2).
pub const PHY_ID: (u16, u16) = (0x0141, 0x0C20);
/// EEPROM words.
pub const EEPROM_WORDS: usize = 64;
/// Receive packet buffer at the default PBA (0x30): 48 KiB.
pub const RX_FIFO_BYTES: usize = 48 * 1024;
/// Largest frame (without FCS) accepted with RCTL.LPE set.
pub const MAX_LPE_FRAME: usize = 16 * 1024 - 4;

/// The RX register block of the only queue.
pub const RX_BLOCK: u32 = q::RDBAL;
/// The TX register block of the only queue.
pub const TX_BLOCK: u32 = q::TDBAL;

/// Power-on register values (anything not listed is 0).
pub fn defaults(mem: &mut [u32]) {
    mem[(regs::CTRL / 4) as usize] = regs::ctrl::FD | (0b10 << 8);
    mem[(regs::EECD / 4) as usize] = 1 << 8; // PRES
    mem[(regs::VET / 4) as usize] = 0x8100;
    mem[(regs::TIPG / 4) as usize] = 0x0060_200A;
    mem[(regs::RXCSUM / 4) as usize] = 0x300;
    mem[((RX_BLOCK + 0x28) / 4) as usize] = 0x0001_0000; // RXDCTL
    mem[((TX_BLOCK + 0x28) / 4) as usize] = 0x0001_0000; // TXDCTL
}

/// Maps a BAR0 offset to (is_rx, queue, offset within the block) when it is
/// a queue register.
pub fn decode_queue(off: u32) -> Option<(bool, usize, u32)> {
    match off {
        0x2800..=0x283F => Some((true, 0, off - RX_BLOCK)),
        0x3800..=0x383F => Some((false, 0, off - TX_BLOCK)),
        _ => None,
    }
}

/// Writes a legacy RX write-back: length, status (DD last, with Release) and errors.
///
/// # Safety
/// `desc` must point to 16 live, 8-byte-aligned bytes of DMA memory.
#[inline(always)]
pub unsafe fn write_back_rx(desc: *mut u8, len: u16, eop: bool, errors: u8) {
    let status = rx_status::DD | if eop { rx_status::EOP } else { 0 };
    let wb = u64::from(len) | (u64::from(status) << 32) | (u64::from(errors) << 40);
    // SAFETY: caller's promise; the whole status/length word goes in one store.
    unsafe { store_u64(desc.add(8), wb, Ordering::Release) }
}

/// The frame-error bits the hostile-write-back hook sets.
pub const HOSTILE_ERRORS: u8 = rx_errors::CE | rx_errors::RXE;
