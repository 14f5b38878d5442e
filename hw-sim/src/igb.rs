//! 82576 specifics: identity, register defaults, the 16 queue register blocks
//! (with the legacy 0x2800/0x3800 aliases of queues 0..3), and the advanced
//! one-buffer RX write-back (with the RSS hash and type, see [`crate::rss`]).

use std::sync::atomic::Ordering;

use igbpoll_driver::desc::adv_rx;
use igbpoll_driver::regs::{self, igb as q};

use crate::engine::dma::store_u64;

/// PCI device ID.
pub const DEVICE_ID: u16 = 0x10C9;
/// PCI revision.
pub const REVISION: u8 = 1;
/// PHY identifier (IGP03, PHYID1/PHYID2).
pub const PHY_ID: (u16, u16) = (0x02A8, 0x0390);
/// EEPROM words.
pub const EEPROM_WORDS: usize = 1024;
/// Receive packet buffer (RXPBS): 64 KiB.
pub const RX_FIFO_BYTES: usize = 64 * 1024;
/// Queue register blocks.
pub const QUEUES: usize = q::QUEUES as usize;
/// EECD.AUTO_RD: the NVM auto-read finished.
pub const EECD_AUTO_RD: u32 = 1 << 9;
/// RLPML power-on value.
pub const RLPML_DEFAULT: u32 = 0x2600;

/// The RX register block of queue `n`.
pub const fn rx_block(n: usize) -> u32 {
    q::rdbal(n as u32)
}
/// The TX register block of queue `n`.
pub const fn tx_block(n: usize) -> u32 {
    q::tdbal(n as u32)
}

/// Power-on register values (anything not listed is 0).
pub fn defaults(mem: &mut [u32]) {
    mem[(regs::CTRL / 4) as usize] = regs::ctrl::FD | (0b10 << 8);
    mem[(regs::EECD / 4) as usize] = (1 << 8) | EECD_AUTO_RD;
    mem[(regs::VET / 4) as usize] = 0x8100_8100;
    mem[(regs::TIPG / 4) as usize] = 0x0060_1008;
    mem[(regs::RXCSUM / 4) as usize] = 0x300;
    mem[(q::RLPML / 4) as usize] = RLPML_DEFAULT;
    for n in 0..QUEUES {
        let en = if n == 0 { q::XDCTL_ENABLE } else { 0 };
        // SRRCTL: BSIZEPKT 2 KiB, BSIZEHDR 256 B, DESCTYPE legacy.
        mem[((rx_block(n) + 0x0C) / 4) as usize] = 0x402;
        mem[((rx_block(n) + 0x28) / 4) as usize] = 0x0001_0000 | en;
        mem[((tx_block(n) + 0x28) / 4) as usize] = 0x0001_0000 | en;
    }
}

/// Maps a BAR0 offset to (is_rx, queue, offset within the block) when it is
/// a queue register, folding the legacy aliases onto their queues.
pub fn decode_queue(off: u32) -> Option<(bool, usize, u32)> {
    match off {
        0xC000..=0xC3FF => Some((true, ((off - 0xC000) / 0x40) as usize, off & 0x3F)),
        0xE000..=0xE3FF => Some((false, ((off - 0xE000) / 0x40) as usize, off & 0x3F)),
        0x2800..=0x2BFF if off & 0xFF < 0x40 => {
            Some((true, ((off - 0x2800) >> 8) as usize, off & 0x3F))
        }
        0x3800..=0x3BFF if off & 0xFF < 0x40 => {
            Some((false, ((off - 0x3800) >> 8) as usize, off & 0x3F))
        }
        _ => None,
    }
}

/// Writes an advanced one-buffer RX write-back: the first half (`lo`:
/// pkt_info with the RSS type in bits 0..3, hdr_info, and the RSS hash in
/// bits 32..63), then the status/length word with DD last (Release).
///
/// # Safety
/// `desc` must point to 16 live, 8-byte-aligned bytes of DMA memory.
#[inline(always)]
pub unsafe fn write_back_rx(desc: *mut u8, lo: u64, len: u16, eop: bool, errors: u32) {
    let status = adv_rx::DD | if eop { adv_rx::EOP } else { 0 } | errors;
    // SAFETY: caller's promise.
    unsafe {
        store_u64(desc, lo, Ordering::Relaxed);
        store_u64(
            desc.add(8),
            u64::from(status) | (u64::from(len) << 32),
            Ordering::Release,
        );
    }
}

/// The frame-error bits the hostile-write-back hook sets.
pub const HOSTILE_ERRORS: u32 = adv_rx::CE | adv_rx::RXE;
