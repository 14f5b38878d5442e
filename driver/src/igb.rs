//! 82576 / I350 / I210 / I211 bring-up: per-queue register blocks, advanced
//! one-buffer receive descriptors and advanced transmit descriptors.

use std::time::Duration;

use crate::backend::Backend;
use crate::error::Error;
use crate::hw::wait_for;
use crate::regs::{self, igb as q, rctl, tctl};

/// EECD: the NIC finished loading its configuration from the EEPROM.
const EECD_AUTO_RD: u32 = 1 << 9;

/// RXDCTL thresholds (prefetch 8, host 8, write-back 1), as Linux's igb uses.
const RXDCTL_THRESH: u32 = 8 | (8 << 8) | (1 << q::XDCTL_WTHRESH_SHIFT);
/// TXDCTL thresholds (prefetch 8, host 1, write-back 1).
const TXDCTL_THRESH: u32 = 8 | (1 << 8) | (1 << q::XDCTL_WTHRESH_SHIFT);

/// Masks every interrupt, stops RX/TX and resets the MAC.
pub(crate) fn reset<B: Backend + ?Sized>(b: &B) -> Result<(), Error> {
    crate::hw::reset_mac(b, &[q::EIMC])?;
    if let Err(e) = wait_for(
        b,
        regs::EECD,
        "EEPROM auto-read",
        Duration::from_millis(10),
        |v| v & EECD_AUTO_RD != 0,
    ) {
        // Linux's igb goes on too: the MAC is read through EERD if RA0 is empty.
        // (QEMU's 82576 model never sets AUTO_RD, so this is routine there.)
        log::info!("{e}");
    }
    b.read32(q::EICR);
    Ok(())
}

/// Programs and enables receive queue `n` (the receiver itself stays off).
pub(crate) fn setup_rx<B: Backend + ?Sized>(
    b: &B,
    n: u32,
    ring_iova: u64,
    size: usize,
    buf_len: usize,
    drop_en: bool,
) -> Result<(), Error> {
    b.write32(q::rxdctl(n), 0);
    b.write32(q::rdbal(n), ring_iova as u32);
    b.write32(q::rdbah(n), (ring_iova >> 32) as u32);
    b.write32(q::rdlen(n), (size * crate::desc::DESC_SIZE) as u32);
    // BSIZEPKT in KiB (the pool's buffers are a multiple of 1 KiB, at most 16).
    let mut srrctl = q::SRRCTL_DESCTYPE_ADV_ONEBUF | (buf_len / 1024) as u32;
    if drop_en {
        srrctl |= q::SRRCTL_DROP_EN;
    }
    b.write32(q::srrctl(n), srrctl);
    b.write32(q::rdh(n), 0);
    b.write32(q::rdt(n), 0);
    b.write32(q::rxdctl(n), q::XDCTL_ENABLE | RXDCTL_THRESH);
    wait_for(
        b,
        q::rxdctl(n),
        "RX queue enable (RXDCTL.ENABLE)",
        Duration::from_millis(10),
        |v| v & q::XDCTL_ENABLE != 0,
    )?;
    Ok(())
}

/// RCTL: broadcast accepted, optional CRC strip and promiscuity. Buffer sizes
/// come from SRRCTL per queue.
pub(crate) fn rctl_value(promiscuous: bool, strip_crc: bool) -> u32 {
    let mut v = rctl::EN | rctl::BAM;
    if promiscuous {
        v |= rctl::UPE | rctl::MPE;
    }
    if strip_crc {
        v |= rctl::SECRC;
    }
    v
}

/// Programs and enables transmit queue `n`.
pub(crate) fn setup_tx<B: Backend + ?Sized>(
    b: &B,
    n: u32,
    ring_iova: u64,
    size: usize,
) -> Result<(), Error> {
    b.write32(q::txdctl(n), 0);
    b.write32(q::tdbal(n), ring_iova as u32);
    b.write32(q::tdbah(n), (ring_iova >> 32) as u32);
    b.write32(q::tdlen(n), (size * crate::desc::DESC_SIZE) as u32);
    b.write32(q::tdh(n), 0);
    b.write32(q::tdt(n), 0);
    b.write32(q::txdctl(n), q::XDCTL_ENABLE | TXDCTL_THRESH);
    wait_for(
        b,
        q::txdctl(n),
        "TX queue enable (TXDCTL.ENABLE)",
        Duration::from_millis(10),
        |v| v & q::XDCTL_ENABLE != 0,
    )?;
    Ok(())
}

/// Enables the transmitter.
pub(crate) fn enable_tx<B: Backend + ?Sized>(b: &B) {
    b.write32(
        regs::TCTL,
        tctl::EN | tctl::PSP | tctl::CT_DEFAULT | tctl::COLD_FULL_DUPLEX,
    );
}

/// How long a queue may take to acknowledge RXDCTL.ENABLE = 0.
const QUEUE_STOP_TIMEOUT: Duration = Duration::from_millis(10);

/// Stops the receiver, the transmitter and the given queues, waiting for each
/// receive queue to report itself disabled.
pub(crate) fn stop<B: Backend + ?Sized>(b: &B, rx_queues: u32, tx_queues: u32) {
    b.write32(regs::RCTL, b.read32(regs::RCTL) & !rctl::EN);
    b.write32(regs::TCTL, b.read32(regs::TCTL) & !tctl::EN);
    for n in 0..rx_queues {
        b.write32(q::rxdctl(n), b.read32(q::rxdctl(n)) & !q::XDCTL_ENABLE);
    }
    for n in 0..tx_queues {
        b.write32(q::txdctl(n), b.read32(q::txdctl(n)) & !q::XDCTL_ENABLE);
    }
    for n in 0..rx_queues {
        wait_rx_disabled(b, n);
    }
}

fn wait_rx_disabled<B: Backend + ?Sized>(b: &B, n: u32) {
    if let Err(e) = wait_for(
        b,
        q::rxdctl(n),
        "RX queue disable (RXDCTL.ENABLE to clear)",
        QUEUE_STOP_TIMEOUT,
        |v| v & q::XDCTL_ENABLE == 0,
    ) {
        log::warn!("{e}");
    }
}

/// Stops receive queue `n` alone while the others run on: frames RSS still
/// steers to it are dropped (SRRCTL.DROP_EN) instead of holding the shared
/// FIFO; the queue is disabled and, once RXDCTL.ENABLE reads back 0, its ring
/// length is set to 0, so that even a device that ignores RXDCTL (QEMU's model)
/// can no longer reach the ring or its buffers.
pub(crate) fn stop_rx_queue<B: Backend + ?Sized>(b: &B, n: u32) {
    b.write32(q::srrctl(n), b.read32(q::srrctl(n)) | q::SRRCTL_DROP_EN);
    b.write32(q::rxdctl(n), b.read32(q::rxdctl(n)) & !q::XDCTL_ENABLE);
    wait_rx_disabled(b, n);
    b.write32(q::rdlen(n), 0);
}

/// Stops transmit queue `n` alone.
pub(crate) fn stop_tx_queue<B: Backend + ?Sized>(b: &B, n: u32) {
    b.write32(q::txdctl(n), b.read32(q::txdctl(n)) & !q::XDCTL_ENABLE);
}

/// Programs RSS over `queues` receive queues: the Toeplitz key, a redirection
/// table that deals the queues round-robin, MRQC in RSS mode with the IPv4,
/// IPv6, TCP and UDP hash fields, and RXCSUM.PCSD (the descriptor carries the
/// hash; QEMU's model applies RSS only with it). One queue turns RSS off.
pub(crate) fn setup_rss<B: Backend + ?Sized>(b: &B, queues: u16, key: &[u8; q::RSS_KEY_LEN]) {
    if queues <= 1 {
        b.write32(q::MRQC, 0);
        return;
    }
    for (i, k) in key.chunks_exact(4).enumerate() {
        b.write32(
            q::rssrk(i as u32),
            u32::from_le_bytes([k[0], k[1], k[2], k[3]]),
        );
    }
    let reta = crate::rss::round_robin_reta(queues);
    for (i, e) in reta.chunks_exact(4).enumerate() {
        b.write32(
            q::reta(i as u32),
            u32::from_le_bytes([e[0], e[1], e[2], e[3]]),
        );
    }
    b.write32(regs::RXCSUM, b.read32(regs::RXCSUM) | q::RXCSUM_PCSD);
    b.write32(q::MRQC, q::mrqc::MODE_RSS | crate::rss::HASH_FIELDS);
}
