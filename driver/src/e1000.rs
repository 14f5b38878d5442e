//! 8254x (82540EM, 82545EM) bring-up: one RX and one TX queue, legacy descriptors.

use crate::backend::Backend;
use crate::error::Error;
use crate::regs::{self, e1000 as q, rctl, tctl};

/// Masks interrupts, stops RX/TX and resets the MAC (CTRL.RST, self-clearing).
pub(crate) fn reset<B: Backend + ?Sized>(b: &B) -> Result<(), Error> {
    crate::hw::reset_mac(b, &[])?;
    // QEMU's e1000 model ignores CTRL.RST: put the ring pointers back explicitly.
    for r in [q::RDH, q::RDT, q::TDH, q::TDT] {
        b.write32(r, 0);
    }
    Ok(())
}

/// Programs the receive ring (receiver still off).
pub(crate) fn setup_rx<B: Backend + ?Sized>(b: &B, ring_iova: u64, size: usize) {
    b.write32(q::RDBAL, ring_iova as u32);
    b.write32(q::RDBAH, (ring_iova >> 32) as u32);
    b.write32(q::RDLEN, (size * crate::desc::DESC_SIZE) as u32);
    b.write32(q::RDH, 0);
    b.write32(q::RDT, 0);
    b.write32(q::RDTR, 0);
    b.write32(q::RADV, 0);
}

/// RCTL for buffers of `buf_len` bytes (2, 4, 8 or 16 KiB), broadcast
/// accepted, optional CRC strip and promiscuity.
pub(crate) fn rctl_value(promiscuous: bool, strip_crc: bool, buf_len: usize) -> u32 {
    let bsize = match buf_len {
        16384 => rctl::BSEX | (0b01 << 16),
        8192 => rctl::BSEX | (0b10 << 16),
        4096 => rctl::BSEX | (0b11 << 16),
        _ => rctl::BSIZE_2048,
    };
    let mut v = rctl::EN | rctl::BAM | bsize | rctl::RDMTS_HALF;
    if promiscuous {
        v |= rctl::UPE | rctl::MPE;
    }
    if strip_crc {
        v |= rctl::SECRC;
    }
    v
}

/// Programs the transmit ring and enables the transmitter.
pub(crate) fn setup_tx<B: Backend + ?Sized>(b: &B, ring_iova: u64, size: usize) {
    b.write32(q::TDBAL, ring_iova as u32);
    b.write32(q::TDBAH, (ring_iova >> 32) as u32);
    b.write32(q::TDLEN, (size * crate::desc::DESC_SIZE) as u32);
    b.write32(q::TDH, 0);
    b.write32(q::TDT, 0);
    b.write32(q::TIDV, 0);
    b.write32(q::TADV, 0);
    b.write32(regs::TIPG, q::TIPG_COPPER);
    b.write32(
        regs::TCTL,
        tctl::EN | tctl::PSP | tctl::CT_DEFAULT | tctl::COLD_FULL_DUPLEX,
    );
}

/// Stops the receiver and the transmitter.
pub(crate) fn stop<B: Backend + ?Sized>(b: &B) {
    stop_rx(b);
    stop_tx(b);
}

/// Stops the receiver (the one receive queue).
pub(crate) fn stop_rx<B: Backend + ?Sized>(b: &B) {
    b.write32(regs::RCTL, b.read32(regs::RCTL) & !rctl::EN);
}

/// Stops the transmitter (the one transmit queue).
pub(crate) fn stop_tx<B: Backend + ?Sized>(b: &B) {
    b.write32(regs::TCTL, b.read32(regs::TCTL) & !tctl::EN);
}
