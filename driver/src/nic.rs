//! [`Nic`]: one opened NIC — identification, bring-up, queues, statistics, and a
//! clean stop (receiver, transmitter and bus mastering off before any DMA memory
//! is released).

use std::sync::Arc;
use std::time::Duration;

use crate::backend::{pci, Backend};
use crate::error::Error;
use crate::guard::DeviceGuard;
use crate::hw::{self, LinkStatus};
use crate::ident::{self, Family, Model};
use crate::mempool::{Mempool, Packet};
use crate::queue::{check_ring_size, RxQueue, RxQueueStats, TxQueue};
use crate::regs;
use crate::stats::{HwCounters, HwStats};
use crate::{e1000, igb};

/// How to bring a NIC up.
#[derive(Debug, Clone)]
pub struct NicConfig {
    /// Receive queues to set up (1 on the e1000 family). More than one on igb
    /// turns on RSS: frames are spread over the queues by the Toeplitz hash of
    /// their addresses and ports (see [`crate::rss`]); non-IP frames go to queue 0.
    pub rx_queues: u16,
    /// Transmit queues to set up (1 on the e1000 family).
    pub tx_queues: u16,
    /// Descriptors per receive ring: a power of two from 8 to 4096.
    pub rx_ring_size: usize,
    /// Descriptors per transmit ring: a power of two from 8 to 4096.
    pub tx_ring_size: usize,
    /// Buffers in each receive queue's pool; 0 picks four times the ring size,
    /// leaving the application room to hold packets while the ring stays full.
    pub rx_pool_size: u32,
    /// Accept every unicast and multicast frame (RCTL.UPE and MPE).
    pub promiscuous: bool,
    /// Strip the 4-byte FCS from received frames (RCTL.SECRC).
    pub strip_crc: bool,
    /// igb: drop a frame for a queue without free descriptors at once and count
    /// it per queue (SRRCTL.DROP_EN) instead of holding it in the FIFO.
    /// Applies to every queue; see also `multi_queue_drop_en`.
    pub drop_en: bool,
    /// igb with several receive queues: DROP_EN on every queue even when
    /// `drop_en` is false (the default), so that one stalled queue does not hold
    /// the shared receive FIFO and starve the others. Set false to have full
    /// queues hold frames in the FIFO (lossless until it overflows, but
    /// head-of-line blocking across queues).
    pub multi_queue_drop_en: bool,
    /// The RSS Toeplitz key (used with more than one receive queue).
    pub rss_key: [u8; crate::regs::igb::RSS_KEY_LEN],
    /// How long to wait for the link at start; a link still down is reported,
    /// not an error.
    pub link_timeout: Duration,
    /// Longest frame to receive, in bytes without the FCS. 0: the Ethernet
    /// standard, 1514 bytes (1518 with a VLAN tag), with long-packet reception
    /// off and 2 KiB buffers. From [`STANDARD_FRAME`] to [`max_frame_of`] the
    /// family (9724 on igb, 16124 on the 82540EM): RCTL.LPE
    /// on (igb: RLPML limits frames to this length, tags included; the 82540EM
    /// takes up to 16 KiB and the driver refuses frames longer than its buffers)
    /// and receive buffers that hold such a frame whole (a multiple of 1 KiB on
    /// igb; 4, 8 or 16 KiB on the e1000 family).
    pub max_frame: usize,
}

/// The longest untagged Ethernet frame without its FCS (1500-byte MTU).
pub const STANDARD_FRAME: usize = 1514;
/// The longest frame (without FCS) the igb family takes or sends: 9728 bytes
/// with the FCS (the 82576 datasheet's 9.5 KB jumbo frame; RLPML's reset value).
pub const MAX_FRAME_IGB: usize = 0x2600 - 4;
/// The same for the e1000 family: 16128 bytes with the FCS.
pub const MAX_FRAME_E1000: usize = 0x3F00 - 4;

/// The longest frame [`NicConfig::max_frame`] may ask for on `family`, and
/// the longest a NIC of that family transmits.
pub fn max_frame_of(family: Family) -> usize {
    match family {
        Family::Igb => MAX_FRAME_IGB,
        Family::E1000 => MAX_FRAME_E1000,
    }
}

impl NicConfig {
    /// Bytes of each receive buffer on a NIC of `family`: 2 KiB unless
    /// [`NicConfig::max_frame`] asks for more.
    pub fn rx_buffer_len(&self, family: Family) -> usize {
        if self.max_frame == 0 {
            return crate::mempool::RX_BUF_LEN;
        }
        let need = self.max_frame + if self.strip_crc { 0 } else { 4 };
        match family {
            Family::Igb => need.div_ceil(1024).max(2) * 1024,
            Family::E1000 => need.next_power_of_two().max(crate::mempool::RX_BUF_LEN),
        }
        .min(crate::mempool::MAX_BUF_LEN)
    }
}

impl Default for NicConfig {
    fn default() -> Self {
        NicConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_ring_size: 512,
            tx_ring_size: 512,
            rx_pool_size: 0,
            promiscuous: false,
            strip_crc: true,
            drop_en: false,
            multi_queue_drop_en: true,
            rss_key: crate::rss::DEFAULT_KEY,
            link_timeout: Duration::from_secs(10),
            max_frame: 0,
        }
    }
}

impl NicConfig {
    /// Whether SRRCTL.DROP_EN is set on the receive queues: `drop_en`, or
    /// several queues with `multi_queue_drop_en`.
    pub fn queue_drop_en(&self) -> bool {
        self.drop_en || (self.rx_queues > 1 && self.multi_queue_drop_en)
    }
}

/// Counters the driver keeps itself, summed over queues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Packets handed to the application.
    pub rx_packets: u64,
    /// Bytes handed to the application.
    pub rx_bytes: u64,
    /// Descriptors with a length of 0 or beyond the buffer: dropped.
    pub rx_bad_length: u64,
    /// Frames without EOP on their first descriptor: dropped.
    pub rx_no_eop: u64,
    /// Frames the NIC flagged with receive errors: dropped.
    pub rx_frame_errors: u64,
    /// Frames with a bad IP/L4 checksum per the NIC (delivered).
    pub rx_csum_errors: u64,
    /// Ring refills that found the receive pool empty.
    pub rx_alloc_failures: u64,
    /// Packets handed to the NIC.
    pub tx_packets: u64,
    /// Bytes handed to the NIC.
    pub tx_bytes: u64,
    /// Short frames padded to 60 bytes.
    pub tx_padded: u64,
    /// tx_batch calls that found the ring full.
    pub tx_ring_full: u64,
    /// Empty packets refused.
    pub tx_invalid: u64,
}

impl DriverStats {
    /// Every counter as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("drv_rx_packets", self.rx_packets),
            ("drv_rx_bytes", self.rx_bytes),
            ("drv_rx_bad_length", self.rx_bad_length),
            ("drv_rx_no_eop", self.rx_no_eop),
            ("drv_rx_frame_errors", self.rx_frame_errors),
            ("drv_rx_csum_errors", self.rx_csum_errors),
            ("drv_rx_alloc_failures", self.rx_alloc_failures),
            ("drv_tx_packets", self.tx_packets),
            ("drv_tx_bytes", self.tx_bytes),
            ("drv_tx_padded", self.tx_padded),
            ("drv_tx_ring_full", self.tx_ring_full),
            ("drv_tx_invalid", self.tx_invalid),
        ]
        .into_iter()
    }
}

/// Hardware and driver statistics together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// The NIC's own counters.
    pub hw: HwStats,
    /// The driver's counters.
    pub driver: DriverStats,
}

/// An opened, running NIC.
///
/// Its receive queues can be moved to other threads ([`Nic::take_rx_queues`]);
/// the NIC and the queues share a guard so that, whatever is dropped last, the
/// device stops its DMA before any ring or buffer is released.
pub struct Nic<B: Backend> {
    dev: Arc<DeviceGuard<B>>,
    model: &'static Model,
    mac: [u8; 6],
    config: NicConfig,
    rx: Vec<RxQueue<B>>,
    rx_stats: Vec<Arc<RxQueueStats>>,
    tx: Vec<TxQueue<B>>,
    hw: HwCounters,
}

impl<B: Backend> std::fmt::Debug for Nic<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nic")
            .field("device", &self.dev.backend.name())
            .field("model", &self.model.name)
            .field("mac", &hw_mac(&self.mac))
            .finish()
    }
}

fn hw_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

impl<B: Backend> Nic<B> {
    /// Identifies the device behind `backend`, resets it and brings it up:
    /// MAC, link, receive and transmit rings, receiver and transmitter on.
    pub fn open(backend: B, config: &NicConfig) -> Result<Self, Error> {
        let b = backend;
        let vendor_id = b.pci_read16(pci::VENDOR_ID);
        let device_id = b.pci_read16(pci::DEVICE_ID);
        if vendor_id == 0xFFFF {
            return Err(Error::DeviceNotResponding { device: b.name() });
        }
        let model =
            ident::identify(vendor_id, device_id).ok_or_else(|| Error::UnsupportedDevice {
                device: b.name(),
                vendor_id,
                device_id,
            })?;
        check_config(model, config)?;

        let cmd = b.pci_read16(pci::COMMAND);
        b.pci_write16(
            pci::COMMAND,
            cmd | pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER | pci::COMMAND_INTX_DISABLE,
        );
        if b.read32(regs::STATUS) == u32::MAX {
            return Err(Error::DeviceNotResponding { device: b.name() });
        }
        match model.family {
            Family::E1000 => e1000::reset(&b)?,
            Family::Igb => igb::reset(&b)?,
        }
        let mac = hw::read_mac(&b, model.family)?;
        hw::write_mac(&b, &mac);
        for i in 0..regs::MTA_LEN {
            b.write32(regs::MTA + 4 * i, 0);
        }
        let link = hw::link_up(&b, config.link_timeout)?;
        log::info!("{}: {} {} link {link}", b.name(), model.name, hw_mac(&mac));

        let rqdpc = if model.family == Family::Igb {
            config.rx_queues as usize
        } else {
            0
        };
        let mut hw = HwCounters::new(rqdpc);
        hw.update(&b); // clear what the registers held before
        hw = HwCounters::new(rqdpc);

        let mut nic = Nic {
            dev: Arc::new(DeviceGuard::new(
                b,
                model.family,
                config.rx_queues,
                config.tx_queues,
            )),
            model,
            mac,
            config: config.clone(),
            rx: Vec::new(),
            rx_stats: Vec::new(),
            tx: Vec::new(),
            hw,
        };
        nic.setup_queues()?;
        Ok(nic)
    }

    fn dma_err(&self, purpose: &'static str) -> impl FnOnce(crate::DmaError) -> Error + '_ {
        move |source| Error::Dma {
            device: self.dev.backend.name(),
            purpose,
            source,
        }
    }

    fn setup_queues(&mut self) -> Result<(), Error> {
        let b = &self.dev.backend;
        let c = &self.config;
        let family = self.model.family;
        let pool_size = match c.rx_pool_size {
            0 => (c.rx_ring_size * 4) as u32,
            n => n,
        };
        for n in 0..u32::from(c.tx_queues) {
            let ring = b
                .alloc_dma(c.tx_ring_size * crate::desc::DESC_SIZE)
                .map_err(self.dma_err("a transmit ring"))?;
            let tdt = match family {
                Family::E1000 => regs::e1000::TDT,
                Family::Igb => regs::igb::tdt(n),
            };
            let q = TxQueue::new(
                self.dev.clone(),
                n as u16,
                family,
                ring,
                c.tx_ring_size,
                tdt,
            );
            match family {
                Family::E1000 => e1000::setup_tx(b, q.ring_iova(), c.tx_ring_size),
                Family::Igb => igb::setup_tx(b, n, q.ring_iova(), c.tx_ring_size)?,
            }
            self.tx.push(q);
        }
        if family == Family::Igb {
            igb::enable_tx(b);
        }
        for n in 0..u32::from(c.rx_queues) {
            let ring = b
                .alloc_dma(c.rx_ring_size * crate::desc::DESC_SIZE)
                .map_err(self.dma_err("a receive ring"))?;
            let pool = Mempool::with_buffer_len(b, pool_size, c.rx_buffer_len(family))
                .map_err(self.dma_err("receive packet buffers"))?;
            let (rdh, rdt) = match family {
                Family::E1000 => (regs::e1000::RDH, regs::e1000::RDT),
                Family::Igb => (regs::igb::rdh(n), regs::igb::rdt(n)),
            };
            let q = RxQueue::new(
                self.dev.clone(),
                n as u16,
                family,
                ring,
                c.rx_ring_size,
                (rdh, rdt),
                pool,
            );
            match family {
                Family::E1000 => e1000::setup_rx(b, q.ring_iova(), c.rx_ring_size),
                Family::Igb => igb::setup_rx(
                    b,
                    n,
                    q.ring_iova(),
                    c.rx_ring_size,
                    c.rx_buffer_len(family),
                    c.queue_drop_en(),
                )?,
            }
            q.start();
            self.rx_stats.push(q.stats().clone());
            self.rx.push(q);
        }
        if family == Family::Igb {
            igb::setup_rss(b, c.rx_queues, &c.rss_key);
            if c.max_frame != 0 {
                // RLPML counts the FCS.
                b.write32(regs::igb::RLPML, (c.max_frame + 4) as u32);
            }
        }
        self.write_rctl();
        Ok(())
    }

    fn write_rctl(&self) {
        let c = &self.config;
        let (p, s) = (c.promiscuous, c.strip_crc);
        let mut v = match self.model.family {
            Family::E1000 => e1000::rctl_value(p, s, c.rx_buffer_len(Family::E1000)),
            Family::Igb => igb::rctl_value(p, s),
        };
        if c.max_frame != 0 {
            v |= regs::rctl::LPE;
        }
        self.dev.backend.write32(regs::RCTL, v);
    }

    /// Receives up to `max` packets from queue `queue` into `out`; returns how many.
    /// See [`RxQueue::rx_batch`]. Panics if `queue` was not configured or was
    /// taken out with [`Nic::take_rx_queues`].
    #[inline]
    pub fn rx_batch(&mut self, queue: usize, out: &mut Vec<Packet>, max: usize) -> usize {
        self.rx[queue].rx_batch(out, max)
    }

    /// Sends packets from the front of `pkts` on queue `queue`; returns how many
    /// were posted (the rest stay in `pkts`). See [`TxQueue::tx_batch`].
    #[inline]
    pub fn tx_batch(&mut self, queue: usize, pkts: &mut Vec<Packet>) -> usize {
        self.tx[queue].tx_batch(pkts)
    }

    /// Receive queue `n`. Panics if it was not configured or was taken out.
    pub fn rx_queue(&mut self, n: usize) -> &mut RxQueue<B> {
        &mut self.rx[n]
    }

    /// Takes back `packets` for the refills of receive queue `queue` (see
    /// [`RxQueue::recycle`]). Panics as [`Nic::rx_batch`] does.
    #[inline]
    pub fn recycle(&mut self, queue: usize, packets: &mut Vec<Packet>) {
        self.rx[queue].recycle(packets);
    }

    /// Sets how many recycled buffers receive queue `queue` keeps (see
    /// [`RxQueue::set_recycle_limit`]). Panics as [`Nic::rx_batch`] does.
    pub fn set_recycle_limit(&mut self, queue: usize, limit: usize) {
        self.rx[queue].set_recycle_limit(limit);
    }

    /// Moves every receive queue still held by the NIC out of it, in queue
    /// order, so that each can be polled on a thread of its own (an
    /// [`RxQueue`] is `Send`). The NIC keeps the control path: statistics
    /// (which still count the moved queues), link, promiscuity, transmit.
    ///
    /// Teardown needs no ordering: a queue dropped while the device runs stops
    /// its own DMA before releasing its buffers, and whichever of the NIC and
    /// the queues is dropped last stops the whole device first.
    pub fn take_rx_queues(&mut self) -> Vec<RxQueue<B>> {
        std::mem::take(&mut self.rx)
    }

    /// Number of receive queues the NIC was opened with (moved out or not).
    pub fn rx_queue_count(&self) -> usize {
        self.rx_stats.len()
    }

    /// The counters of every receive queue, in queue order (moved out or not).
    pub fn rx_queue_stats(&self) -> &[Arc<RxQueueStats>] {
        &self.rx_stats
    }

    /// Transmit queue `n`.
    pub fn tx_queue(&mut self, n: usize) -> &mut TxQueue<B> {
        &mut self.tx[n]
    }

    /// Allocates a pool of `entries` buffers this NIC can transmit from.
    pub fn alloc_pool(&self, entries: u32) -> Result<Mempool, Error> {
        Mempool::new(&self.dev.backend, entries).map_err(self.dma_err("a packet pool"))
    }

    /// Allocates a pool of `entries` buffers of `buf_len` bytes (see
    /// [`Mempool::with_buffer_len`]), for transmitting frames longer than 2 KiB.
    pub fn alloc_pool_with_buffer_len(
        &self,
        entries: u32,
        buf_len: usize,
    ) -> Result<Mempool, Error> {
        Mempool::with_buffer_len(&self.dev.backend, entries, buf_len)
            .map_err(self.dma_err("a packet pool"))
    }

    /// Turns promiscuous mode (every unicast and multicast frame) on or off.
    pub fn set_promiscuous(&mut self, on: bool) {
        self.config.promiscuous = on;
        self.write_rctl();
    }

    /// The NIC's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The NIC model.
    pub fn model(&self) -> &'static Model {
        self.model
    }

    /// The backend's name for the device (PCI address, or `sim:MODEL`).
    pub fn name(&self) -> String {
        self.dev.backend.name()
    }

    /// The configuration the NIC was opened with.
    pub fn config(&self) -> &NicConfig {
        &self.config
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.dev.backend
    }

    /// Current link state.
    pub fn link(&self) -> LinkStatus {
        LinkStatus::from_status(self.dev.backend.read32(regs::STATUS))
    }

    /// Reads the hardware counters (accumulating them into 64-bit totals) and
    /// sums the driver's counters.
    pub fn stats(&mut self) -> Stats {
        let hw = self.hw.update(&self.dev.backend).clone();
        let mut d = DriverStats::default();
        for s in &self.rx_stats {
            d.rx_packets += s.packets.get();
            d.rx_bytes += s.bytes.get();
            d.rx_bad_length += s.bad_length.get();
            d.rx_no_eop += s.no_eop.get();
            d.rx_frame_errors += s.frame_errors.get();
            d.rx_csum_errors += s.csum_errors.get();
            d.rx_alloc_failures += s.alloc_failures.get();
        }
        for q in &self.tx {
            let s = q.stats();
            d.tx_packets += s.packets.get();
            d.tx_bytes += s.bytes.get();
            d.tx_padded += s.padded.get();
            d.tx_ring_full += s.ring_full.get();
            d.tx_invalid += s.invalid.get();
        }
        Stats { hw, driver: d }
    }

    /// Waits until every transmitted packet has been reclaimed, at most `timeout`;
    /// returns the number still in flight.
    pub fn flush_tx(&mut self, timeout: Duration) -> usize {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left: usize = self
                .tx
                .iter_mut()
                .map(|q| {
                    q.clean();
                    q.in_flight()
                })
                .sum();
            if left == 0 || std::time::Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

impl<B: Backend> Drop for Nic<B> {
    fn drop(&mut self) {
        // Nobody else holds the device (no queue was moved out, or those moved
        // out are gone): stop it all before the queues release their buffers.
        // Otherwise the queues still here stop their own DMA as they drop, and
        // the last user of the device stops it.
        let here = 1 + self.rx.len() + self.tx.len();
        if Arc::strong_count(&self.dev) == here {
            self.dev.stop();
        }
    }
}

fn check_config(model: &Model, c: &NicConfig) -> Result<(), Error> {
    check_ring_size("RX ring size", c.rx_ring_size)?;
    check_ring_size("TX ring size", c.tx_ring_size)?;
    for (setting, n, max) in [
        ("RX queue count", c.rx_queues, model.rx_queues),
        ("TX queue count", c.tx_queues, model.tx_queues),
    ] {
        if n == 0 || n > max {
            let allowed = if max == 1 {
                format!(
                    "only 1 (the {} has a single queue; several queues and RSS need an igb-family NIC)",
                    model.name
                )
            } else {
                format!("1 to {max} on the {}", model.name)
            };
            return Err(Error::InvalidConfig {
                setting,
                value: n as usize,
                allowed,
            });
        }
    }
    let max = max_frame_of(model.family);
    if c.max_frame != 0 && !(STANDARD_FRAME..=max).contains(&c.max_frame) {
        return Err(Error::InvalidConfig {
            setting: "longest frame",
            value: c.max_frame,
            allowed: format!(
                "0 (the standard 1514, 1518 tagged) or {STANDARD_FRAME} to {max} on the {}",
                model.name
            ),
        });
    }
    let pool = c.rx_pool_size as usize;
    if pool != 0 && pool < c.rx_ring_size {
        return Err(Error::InvalidConfig {
            setting: "RX pool size",
            value: pool,
            allowed: format!(
                "0 (automatic) or at least the RX ring size {}",
                c.rx_ring_size
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HeapBackend;

    #[test]
    fn unknown_device_is_refused_by_name() {
        let err =
            Nic::open(HeapBackend::with_ids(0x8086, 0x10D3), &NicConfig::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::UnsupportedDevice {
                vendor_id: 0x8086,
                device_id: 0x10D3,
                ..
            }
        ));
        assert!(err.to_string().contains("82576 (8086:10c9)"), "{err}");
    }

    #[test]
    fn absent_device_reads_all_ones() {
        let err =
            Nic::open(HeapBackend::with_ids(0xFFFF, 0xFFFF), &NicConfig::default()).unwrap_err();
        assert!(matches!(err, Error::DeviceNotResponding { .. }), "{err}");
        let b = HeapBackend::with_ids(0x8086, 0x10C9);
        b.write32(regs::STATUS, u32::MAX);
        let err = Nic::open(b, &NicConfig::default()).unwrap_err();
        assert!(matches!(err, Error::DeviceNotResponding { .. }), "{err}");
    }

    #[test]
    fn a_reset_that_never_finishes_times_out_with_an_error() {
        // Plain register storage: CTRL.RST stays set, as on a hung device.
        for id in [0x100E, 0x10C9] {
            let t = std::time::Instant::now();
            let err =
                Nic::open(HeapBackend::with_ids(0x8086, id), &NicConfig::default()).unwrap_err();
            match err {
                Error::Timeout { register, what, .. } => {
                    assert_eq!(register, regs::CTRL);
                    assert!(what.contains("reset"));
                }
                other => panic!("expected a reset timeout, got {other}"),
            }
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "the wait has a deadline"
            );
        }
    }

    #[test]
    fn receive_buffers_hold_the_longest_frame() {
        let c = |max_frame, strip_crc| NicConfig {
            max_frame,
            strip_crc,
            ..NicConfig::default()
        };
        for (max, strip, igb, e1000) in [
            (0, true, 2048, 2048),
            (0, false, 2048, 2048),
            (1522, true, 2048, 2048),
            (2046, false, 3072, 4096),
            (9018, true, 9216, 16384),
            (4096, true, 4096, 4096),
            (MAX_FRAME_E1000, false, 16384, 16384),
            (MAX_FRAME_IGB, true, 10240, 16384),
        ] {
            assert_eq!(c(max, strip).rx_buffer_len(Family::Igb), igb, "{max}");
            assert_eq!(c(max, strip).rx_buffer_len(Family::E1000), e1000, "{max}");
        }
    }

    #[test]
    fn bad_configs_are_refused_before_touching_the_device() {
        let b = || HeapBackend::with_ids(0x8086, 0x100E);
        for cfg in [
            NicConfig {
                rx_ring_size: 100,
                ..NicConfig::default()
            },
            NicConfig {
                tx_ring_size: 4,
                ..NicConfig::default()
            },
            NicConfig {
                rx_queues: 2,
                ..NicConfig::default()
            },
            NicConfig {
                rx_pool_size: 10,
                ..NicConfig::default()
            },
            NicConfig {
                max_frame: 1000,
                ..NicConfig::default()
            },
            NicConfig {
                max_frame: MAX_FRAME_E1000 + 1,
                ..NicConfig::default()
            },
        ] {
            let err = Nic::open(b(), &cfg).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
        }
    }
}
