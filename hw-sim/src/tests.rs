//! Model tests in step mode, driven through registers and DMA memory with a
//! tiny ring driver written here.

use std::sync::atomic::Ordering;
use std::time::Duration;

use igbpoll_driver::backend::pci;
use igbpoll_driver::desc::{Advanced, Legacy, RxCompletion, RxFormat, TxFormat};
use igbpoll_driver::regs::{
    self, ctrl, e1000 as e, eerd, icr, igb as q, mdic, phy, rctl, stats, tctl,
};
use igbpoll_driver::{Backend, DmaMemory};

use crate::fifo::occupancy;
use crate::wire::frame::{self, crc32};
use crate::wire::{Generator, MemorySink, Replay, SourceExt};
use crate::{Corruption, Sim, SimConfig, SimModel};

const BUF: usize = 2048;

fn rx_off(m: SimModel, r: u32) -> u32 {
    match m {
        SimModel::E1000 => e::RDBAL + r,
        SimModel::Igb => q::rdbal(0) + r,
    }
}
fn tx_off(m: SimModel, n: u32, r: u32) -> u32 {
    match m {
        SimModel::E1000 => e::TDBAL + r,
        SimModel::Igb => q::tdbal(n) + r,
    }
}

struct Mini {
    sim: Sim,
    be: crate::SimBackend,
    model: SimModel,
    ring: DmaMemory,
    bufs: DmaMemory,
    n: usize,
    tail: usize,
    next: usize,
}

fn bring_up(be: &crate::SimBackend, model: SimModel) {
    be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER);
    be.write32(regs::IMC, !0);
    be.write32(regs::CTRL, ctrl::RST);
    match model {
        SimModel::E1000 => be.write32(regs::CTRL, be.read32(regs::CTRL) | ctrl::SLU),
        SimModel::Igb => be.write32(
            regs::MDIC,
            u32::from(phy::BMCR_AUTOEN | phy::BMCR_ANRESTART)
                | (mdic::PHY_ADDR << mdic::PHY_SHIFT)
                | mdic::OP_WRITE,
        ),
    }
    assert_ne!(be.read32(regs::STATUS) & regs::status::LU, 0, "link up");
}

impl Mini {
    /// A NIC with an RX ring of `n` descriptors, `post` of them given to the device.
    fn new(model: SimModel, n: usize, post: usize) -> Mini {
        Self::with(
            SimConfig::new(model).with_link_delay(Duration::ZERO),
            n,
            post,
            rctl::SECRC,
        )
    }

    fn with(cfg: SimConfig, n: usize, post: usize, extra_rctl: u32) -> Mini {
        let model = cfg.model;
        let sim = Sim::new(cfg);
        let be = sim.backend();
        bring_up(&be, model);
        let ring = be.alloc_dma(n * 16).unwrap();
        let bufs = be.alloc_dma(n * BUF).unwrap();
        be.write32(rx_off(model, 0), ring.iova() as u32);
        be.write32(rx_off(model, 4), (ring.iova() >> 32) as u32);
        be.write32(rx_off(model, 8), (n * 16) as u32);
        be.write32(rx_off(model, 0x10), 0);
        if model == SimModel::Igb {
            be.write32(q::srrctl(0), q::SRRCTL_DESCTYPE_ADV_ONEBUF | 2);
        }
        let mut m = Mini {
            sim,
            be,
            model,
            ring,
            bufs,
            n,
            tail: 0,
            next: 0,
        };
        m.post(post);
        m.be.write32(regs::RCTL, rctl::EN | rctl::BAM | extra_rctl);
        m
    }

    fn post(&mut self, k: usize) {
        for _ in 0..k {
            let iova = self.bufs.iova() + (self.tail * BUF) as u64;
            match self.model {
                SimModel::E1000 => <Legacy as RxFormat>::post(&self.ring, self.tail, iova),
                SimModel::Igb => <Advanced as RxFormat>::post(&self.ring, self.tail, iova),
            }
            self.tail = (self.tail + 1) % self.n;
        }
        self.be.write32(rx_off(self.model, 0x18), self.tail as u32);
    }

    fn complete(&self, i: usize) -> Option<RxCompletion> {
        match self.model {
            SimModel::E1000 => Legacy::complete(&self.ring, i),
            SimModel::Igb => Advanced::complete(&self.ring, i),
        }
    }

    /// The next completed descriptor and its bytes.
    fn take(&mut self) -> Option<(RxCompletion, Vec<u8>)> {
        let c = self.complete(self.next)?;
        let len = usize::from(c.len).min(BUF);
        // SAFETY: the device wrote this buffer back (DD seen with Acquire) and
        // it is not reposted while the slice lives.
        let data = unsafe { self.bufs.slice(self.next * BUF, len) }.to_vec();
        // Consumed: clear the write-back so a stale DD is never seen again.
        self.ring
            .store_u64(self.next * 16 + 8, 0, Ordering::Relaxed);
        self.next = (self.next + 1) % self.n;
        Some((c, data))
    }
}

fn udp(len: usize, dst: [u8; 6]) -> Vec<u8> {
    Generator::fixed_udp(len, dst)
        .templates()
        .next()
        .unwrap()
        .to_vec()
}

const BOTH: [SimModel; 2] = [SimModel::E1000, SimModel::Igb];

#[test]
fn reset_restores_power_on_defaults() {
    for model in BOTH {
        let sim = Sim::new(SimConfig::new(model));
        let be = sim.backend();
        assert_eq!(
            be.read32(regs::CTRL),
            u32::MAX,
            "memory space off at power-on"
        );
        be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY);
        let rxdctl0 = be.read32(rx_off(model, 0x28));
        be.write32(regs::RCTL, rctl::EN | rctl::UPE);
        be.write32(regs::ral(0), 0xDEAD_BEEF);
        be.write32(regs::MTA + 8, 0xFFFF);
        be.write32(rx_off(model, 8), 4096);
        be.write32(rx_off(model, 0x18), 5);
        be.write32(regs::CTRL, ctrl::RST);
        assert_eq!(be.read32(regs::CTRL) & ctrl::RST, 0, "RST self-clears");
        assert_eq!(be.read32(regs::RCTL), 0);
        assert_eq!(be.read32(regs::MTA + 8), 0);
        assert_eq!(be.read32(rx_off(model, 8)), 0);
        assert_eq!(be.read32(rx_off(model, 0x18)), 0);
        assert_eq!(be.read32(rx_off(model, 0x28)), rxdctl0);
        let mac = sim.mac();
        assert_eq!(
            be.read32(regs::ral(0)),
            u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]])
        );
        assert_eq!(
            be.read32(regs::rah(0)),
            u32::from(u16::from_le_bytes([mac[4], mac[5]])) | regs::RAH_AV
        );
        assert_eq!(be.read32(regs::STATUS) & regs::status::LU, 0);
        let auto_rd = be.read32(regs::EECD) & (1 << 9) != 0;
        assert_eq!(auto_rd, model == SimModel::Igb);
    }
}

#[test]
fn eerd_returns_mac_and_checksum() {
    for model in BOTH {
        let sim = Sim::new(SimConfig::new(model).with_mac([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        let be = sim.backend();
        be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY);
        let read = |w: u32| {
            let (shift, done) = match model {
                SimModel::E1000 => (eerd::E1000_ADDR_SHIFT, eerd::E1000_DONE),
                SimModel::Igb => (eerd::IGB_ADDR_SHIFT, eerd::IGB_DONE),
            };
            be.write32(regs::EERD, (w << shift) | eerd::START);
            let v = be.read32(regs::EERD);
            assert_ne!(v & done, 0);
            (v >> eerd::DATA_SHIFT) as u16
        };
        assert_eq!([read(0), read(1), read(2)], [0x1102, 0x3322, 0x5544]);
        let sum = (0..=0x3F).fold(0u16, |a, w| a.wrapping_add(read(w)));
        assert_eq!(sum, 0xBABA);
    }
}

#[test]
fn mdic_phy_and_link() {
    // igb: SLU alone does nothing; autoneg restart through the PHY does, after the delay.
    let sim = Sim::new(SimConfig::igb().with_link_delay(Duration::from_millis(20)));
    let be = sim.backend();
    be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY);
    be.write32(regs::CTRL, ctrl::SLU);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(be.read32(regs::STATUS) & regs::status::LU, 0);
    let mdio = |reg: u32, op: u32, data: u32| {
        be.write32(
            regs::MDIC,
            data | (reg << mdic::REG_SHIFT) | (1 << mdic::PHY_SHIFT) | op,
        );
        let v = be.read32(regs::MDIC);
        assert_ne!(v & mdic::READY, 0);
        assert_eq!(v & mdic::ERROR, 0);
        v & 0xFFFF
    };
    assert_eq!(mdio(2, mdic::OP_READ, 0), 0x02A8);
    assert_eq!(mdio(3, mdic::OP_READ, 0), 0x0390);
    be.read32(regs::ICR);
    mdio(
        0,
        mdic::OP_WRITE,
        u32::from(phy::BMCR_AUTOEN | phy::BMCR_ANRESTART),
    );
    assert_eq!(
        be.read32(regs::STATUS) & regs::status::LU,
        0,
        "not before the delay"
    );
    assert_eq!(mdio(1, mdic::OP_READ, 0) as u16 & phy::BMSR_LSTATUS, 0);
    std::thread::sleep(Duration::from_millis(25));
    assert_eq!(sim.step(), 1, "the link event is work");
    let st = be.read32(regs::STATUS);
    assert_eq!(st & 0xC3, regs::status::FD | regs::status::LU | 0x80);
    assert_ne!(mdio(1, mdic::OP_READ, 0) as u16 & phy::BMSR_LSTATUS, 0);
    assert_ne!(be.read32(regs::ICR) & icr::LSC, 0);
    assert_eq!(be.read32(regs::ICR), 0, "read to clear");
    // Wrong PHY address.
    be.write32(regs::MDIC, (2 << mdic::PHY_SHIFT) | mdic::OP_READ);
    let v = be.read32(regs::MDIC);
    assert_ne!(v & mdic::ERROR, 0);
    assert_ne!(v & mdic::READY, 0);

    // e1000: SLU brings it up.
    let sim = Sim::new(SimConfig::e1000().with_link_delay(Duration::ZERO));
    let be = sim.backend();
    be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY);
    assert_eq!(be.read32(regs::STATUS) & regs::status::LU, 0);
    be.write32(regs::CTRL, ctrl::SLU | ctrl::FD);
    assert_ne!(be.read32(regs::STATUS) & regs::status::LU, 0);
    assert_ne!(be.read32(regs::ICR) & icr::LSC, 0);
}

#[test]
fn rx_write_back_both_formats_with_fcs() {
    for model in BOTH {
        let mut m = Mini::with(
            SimConfig::new(model).with_link_delay(Duration::ZERO),
            8,
            7,
            0,
        );
        let f = udp(100, m.sim.mac());
        m.sim.inject(&f);
        assert!(m.take().is_none(), "nothing before the engine runs");
        assert_eq!(m.sim.step(), 1);
        let (c, data) = m.take().expect("written back");
        assert_eq!(usize::from(c.len), 104, "{model:?}: FCS counted");
        assert!(c.eop && !c.frame_error);
        assert_eq!(&data[..100], &f[..]);
        assert_eq!(&data[100..], &crc32(&f).to_le_bytes());
        assert_eq!(m.be.read32(rx_off(model, 0x10)), 1, "RDH advanced");
        assert_eq!(m.be.read32(stats::GPRC), 1);
        assert_eq!(m.be.read32(stats::GORCL), 104);
        assert_eq!(m.be.read32(stats::PRC127), 1);
        assert_ne!(m.be.read32(regs::ICR) & icr::RXT0, 0);
    }
}

#[test]
fn igb_legacy_desctype_uses_legacy_write_back() {
    let mut m = Mini::new(SimModel::Igb, 8, 0);
    m.be.write32(q::srrctl(0), 2); // DESCTYPE 000
    m.model = SimModel::E1000; // post/complete in the legacy format
    m.post(4);
    m.be.write32(q::rdt(0), 4);
    m.sim.inject(&udp(80, m.sim.mac()));
    m.sim.step();
    let (c, _) = m.take().unwrap();
    assert_eq!(c.len, 80);
}

#[test]
fn frame_spanning_descriptors() {
    let mut m = Mini::new(SimModel::Igb, 8, 7);
    m.be.write32(q::srrctl(0), q::SRRCTL_DESCTYPE_ADV_ONEBUF | 1); // 1 KiB buffers
    let f = udp(1514, m.sim.mac());
    m.sim.inject(&f);
    m.sim.step();
    let (a, da) = m.take().unwrap();
    let (b, db) = m.take().unwrap();
    assert_eq!((a.len, a.eop, b.len, b.eop), (1024, false, 490, true));
    assert_eq!([da, db].concat(), f);
    assert_eq!(m.sim.counters().delivered, 1);
}

#[test]
fn fifo_holds_frames_and_rnbc_counts() {
    for model in BOTH {
        let mut m = Mini::new(model, 16, 0);
        let f = udp(60, m.sim.mac());
        for _ in 0..5 {
            m.sim.inject(&f);
        }
        m.sim.run_until_idle(10);
        let c = m.sim.counters();
        assert_eq!((c.offered, c.delivered, c.in_fifo), (5, 0, 5));
        assert_eq!(m.be.read32(stats::RNBC), 5);
        assert_eq!(m.be.read32(stats::MPC), 0);
        assert!(!m.sim.rx_drained());
        m.post(8);
        m.sim.run_until_idle(10);
        let c = m.sim.counters();
        assert_eq!((c.delivered, c.in_fifo), (5, 0));
        assert!(m.sim.rx_drained());
        for _ in 0..5 {
            assert_eq!(m.take().unwrap().1, f);
        }
    }
}

#[test]
fn mpc_counts_overflow_exactly() {
    for (model, fifo) in [(SimModel::E1000, 48 * 1024), (SimModel::Igb, 64 * 1024)] {
        let mut m = Mini::new(model, 16, 0);
        let f = udp(200, m.sim.mac());
        let n = 1000;
        for _ in 0..n {
            m.sim.inject(&f);
        }
        m.sim.run_until_idle(100);
        let fit = (fifo / occupancy(200)) as u64;
        let c = m.sim.counters();
        assert_eq!(c.in_fifo, fit);
        assert_eq!(c.dropped_overflow, n - fit);
        assert_eq!(m.be.read32(stats::MPC) as u64, n - fit);
        assert_ne!(m.be.read32(regs::ICR) & icr::RXO, 0);
        // Drain with a consumer that keeps reposting.
        let mut got = 0;
        while got < fit {
            m.post(8);
            m.sim.run_until_idle(10);
            while m.take().is_some() {
                got += 1;
            }
        }
        let c = m.sim.counters();
        assert_eq!(c.delivered + c.dropped_overflow, c.offered);
    }
}

#[test]
fn drop_en_counts_rqdpc() {
    let m = Mini::new(SimModel::Igb, 8, 0);
    m.be.write32(
        q::srrctl(0),
        q::SRRCTL_DESCTYPE_ADV_ONEBUF | q::SRRCTL_DROP_EN | 2,
    );
    for _ in 0..3 {
        m.sim.inject(&udp(60, m.sim.mac()));
    }
    m.sim.run_until_idle(10);
    assert_eq!(m.be.read32(q::rqdpc(0)), 3);
    assert_eq!(m.be.read32(q::rqdpc(0)), 0, "read to clear");
    assert_eq!(m.be.read32(stats::RNBC), 0);
    let c = m.sim.counters();
    assert_eq!((c.dropped_queue, c.in_fifo), (3, 0));
}

#[test]
fn disabled_igb_queue_receives_nothing() {
    let mut m = Mini::new(SimModel::Igb, 8, 7);
    m.be.write32(q::rxdctl(0), 0);
    assert_eq!(m.be.read32(q::rxdctl(0)) & q::XDCTL_ENABLE, 0);
    m.sim.inject(&udp(60, m.sim.mac()));
    m.sim.run_until_idle(10);
    assert!(m.take().is_none());
    m.be.write32(q::rxdctl(0), q::XDCTL_ENABLE);
    assert_ne!(m.be.read32(q::rxdctl(0)) & q::XDCTL_ENABLE, 0);
    m.sim.run_until_idle(10);
    assert!(m.take().is_some());
}

#[test]
fn runt_oversize_and_filter() {
    for model in BOTH {
        let m = Mini::new(model, 8, 7);
        let mac = m.sim.mac();
        m.sim.inject(&udp(60, mac)[..59]); // runt
        m.sim.inject(&udp(1515, mac)); // oversize without LPE
        m.sim.inject(&udp(60, [2, 9, 9, 9, 9, 9])); // another unicast
        m.sim.inject(&udp(60, [0x01, 0, 0x5E, 0, 0, 1])); // multicast, not in MTA
        let mut tagged = Vec::new();
        frame::push_eth(&mut tagged, mac, [2; 6], Some(7), 0x88B5);
        tagged.resize(1518, 0xAA); // 1522 with FCS: legal when tagged
        m.sim.inject(&tagged);
        m.sim.run_until_idle(10);
        let c = m.sim.counters();
        assert_eq!(
            (
                c.dropped_runt,
                c.dropped_oversize,
                c.dropped_filtered,
                c.delivered
            ),
            (1, 1, 2, 1),
            "{model:?}"
        );
        assert_eq!(m.be.read32(stats::RUC), 1);
        assert_eq!(m.be.read32(stats::ROC), 1);
        assert_eq!(m.be.read32(stats::TPR), 5);
        // MTA hash for 01:00:5e:00:00:01 with MO=0, then promiscuous.
        let h = crate::filter::mta_hash(&[0x01, 0, 0x5E, 0, 0, 1], 0);
        m.be.write32(regs::MTA + 4 * (h >> 5), 1 << (h & 31));
        m.sim.inject(&udp(60, [0x01, 0, 0x5E, 0, 0, 1]));
        m.be.write32(regs::RCTL, m.be.read32(regs::RCTL) | rctl::UPE);
        m.sim.inject(&udp(60, [2, 9, 9, 9, 9, 9]));
        m.sim.run_until_idle(10);
        assert_eq!(m.sim.counters().delivered, 3);
        assert_eq!(m.be.read32(stats::MPRC), 1);
    }
}

#[test]
fn hostile_write_backs() {
    for model in BOTH {
        let mut m = Mini::new(model, 8, 7);
        let f = udp(60, m.sim.mac());
        m.sim.corrupt_next_rx(1, Corruption::LengthOverflow);
        m.sim.inject(&f);
        m.sim.step();
        assert_eq!(m.take().unwrap().0.len, 0xFFFF);
        m.sim.corrupt_next_rx(1, Corruption::NoEop);
        m.sim.inject(&f);
        m.sim.step();
        assert!(!m.take().unwrap().0.eop);
        m.sim.corrupt_next_rx(2, Corruption::FrameError);
        m.sim.inject(&f);
        m.sim.inject(&f);
        m.sim.inject(&f);
        m.sim.step();
        assert!(m.take().unwrap().0.frame_error);
        assert!(m.take().unwrap().0.frame_error);
        let (c, _) = m.take().unwrap();
        assert!(!c.frame_error && c.eop && c.len == 60);
    }
}

fn tx_setup(be: &crate::SimBackend, model: SimModel, qn: u32, n: usize) -> DmaMemory {
    let ring = be.alloc_dma(n * 16).unwrap();
    be.write32(tx_off(model, qn, 0), ring.iova() as u32);
    be.write32(tx_off(model, qn, 4), (ring.iova() >> 32) as u32);
    be.write32(tx_off(model, qn, 8), (n * 16) as u32);
    be.write32(tx_off(model, qn, 0x10), 0);
    be.write32(tx_off(model, qn, 0x18), 0);
    if model == SimModel::Igb && qn != 0 {
        be.write32(q::txdctl(qn), q::XDCTL_ENABLE);
    }
    be.write32(
        regs::TCTL,
        tctl::EN | tctl::PSP | tctl::CT_DEFAULT | tctl::COLD_FULL_DUPLEX,
    );
    ring
}

#[test]
fn tx_reaches_memory_sink_with_padding() {
    for (model, qn) in [(SimModel::E1000, 0), (SimModel::Igb, 0), (SimModel::Igb, 5)] {
        let sim = Sim::new(SimConfig::new(model).with_link_delay(Duration::ZERO));
        let be = sim.backend();
        bring_up(&be, model);
        let sink = MemorySink::new();
        sim.add_sink(sink.clone());
        let ring = tx_setup(&be, model, qn, 8);
        let buf = be.alloc_dma(4096).unwrap();
        let payload: Vec<u8> = (0..42u8).collect();
        // SAFETY: the device does not own this buffer until TDT moves.
        unsafe { buf.slice_mut(0, 42) }.copy_from_slice(&payload);
        match model {
            SimModel::E1000 => <Legacy as TxFormat>::post(&ring, 0, buf.iova(), 42),
            SimModel::Igb => <Advanced as TxFormat>::post(&ring, 0, buf.iova(), 42),
        }
        // A legacy descriptor on igb too (DEXT=0).
        <Legacy as TxFormat>::post(&ring, 1, buf.iova(), 42);
        be.write32(tx_off(model, qn, 0x18), 2);
        assert!(sink.is_empty(), "TDT only records the tail");
        sim.run_until_idle(10);
        let frames = sink.take();
        assert_eq!(frames.len(), 2, "{model:?} q{qn}");
        for f in &frames {
            assert_eq!(f.len(), 60);
            assert_eq!(&f[..42], &payload[..]);
            assert!(f[42..].iter().all(|&b| b == 0));
        }
        assert!(Legacy::done(&ring, 0) && Legacy::done(&ring, 1));
        assert_eq!(be.read32(tx_off(model, qn, 0x10)), 2);
        assert_eq!(be.read32(stats::GPTC), 2);
        assert_eq!(be.read32(stats::GPTC), 0, "clear on read");
        assert_eq!(be.read32(stats::GOTCL), 128);
        assert_eq!(be.read32(stats::GOTCH), 0);
        assert_eq!(be.read32(stats::GOTCL), 0, "high read cleared both");
        assert_eq!(be.read32(stats::PTC64), 2);
        assert_eq!(sim.counters().transmitted, 2);
    }
}

#[test]
fn dma_outside_mapped_memory_faults() {
    let mut m = Mini::new(SimModel::Igb, 8, 0);
    // A driver that passes a CPU address instead of an IOVA.
    let virt = m.bufs.as_ptr() as u64;
    <Advanced as RxFormat>::post(&m.ring, 0, virt);
    m.tail = 1;
    m.be.write32(q::rdt(0), 1);
    m.sim.inject(&udp(60, m.sim.mac()));
    m.sim.step();
    let faults = m.sim.take_faults();
    assert_eq!(faults.len(), 1);
    assert_eq!(
        (
            faults[0].iova,
            faults[0].len,
            faults[0].write,
            faults[0].what
        ),
        (virt, 60, true, "rx buffer")
    );
    assert!(m.take().is_some(), "the descriptor is still written back");
    // Buffers freed while still posted.
    m.post(2);
    let iova = m.bufs.iova();
    let ring = std::mem::replace(&mut m.bufs, m.be.alloc_dma(4096).unwrap());
    drop(ring);
    m.sim.inject(&udp(60, m.sim.mac()));
    m.sim.step();
    let f = m.sim.take_faults();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].iova, iova + BUF as u64);
    // A ring that was never mapped.
    m.be.write32(q::rdbal(0), 0x1234_0000);
    m.be.write32(q::rdbah(0), 0);
    m.sim.inject(&udp(60, m.sim.mac()));
    m.sim.step();
    let f = m.sim.take_faults();
    assert_eq!(
        (f.len(), f[0].iova, f[0].what),
        (1, 0x1234_0000, "rx descriptor ring")
    );
    assert_eq!(m.sim.counters().dropped_dma_fault, 1);
    // No bus mastering: no DMA at all.
    m.be.pci_write16(pci::COMMAND, pci::COMMAND_MEMORY);
    assert_eq!(m.sim.step(), 0);
}

#[test]
fn bogus_ring_registers_do_not_panic() {
    for model in BOTH {
        let sim = Sim::new(SimConfig::new(model).with_link_delay(Duration::ZERO));
        let be = sim.backend();
        bring_up(&be, model);
        for (r, v) in [
            (0, 0xFFFF_FFF0u32),
            (4, 0xFFFF_FFFF),
            (8, 0xFFFF_FFFF),
            (0x10, 0xFFFF),
            (0x18, 0x7),
        ] {
            be.write32(rx_off(model, r), v);
            be.write32(tx_off(model, 0, r), v);
        }
        be.write32(regs::RCTL, rctl::EN | rctl::BSIZE_MASK | rctl::BSEX);
        be.write32(regs::TCTL, tctl::EN);
        for _ in 0..3 {
            sim.inject(&udp(60, sim.mac()));
        }
        sim.run_until_idle(10);
        be.write32(0x1FFFC, 1);
        be.read32(0x20000);
        be.write32(3, 1);
    }
}

#[test]
fn stats_clear_on_read() {
    let m = Mini::new(SimModel::E1000, 8, 7);
    for _ in 0..3 {
        m.sim.inject(&[0xFF; 64]);
    }
    m.sim.run_until_idle(10);
    for (reg, want) in [
        (stats::BPRC, 3),
        (stats::GPRC, 3),
        (stats::TPR, 3),
        (stats::PRC127, 3),
        (stats::TORL, 204),
    ] {
        assert_eq!(m.be.read32(reg), want, "{reg:#x}");
    }
    assert_eq!(m.be.read32(stats::TORH), 0);
    for reg in [
        stats::BPRC,
        stats::GPRC,
        stats::TPR,
        stats::PRC127,
        stats::TORL,
    ] {
        assert_eq!(m.be.read32(reg), 0, "{reg:#x}");
    }
}

#[test]
fn replay_to_the_end_is_seen() {
    let frames: Vec<Vec<u8>> = Generator::mixed(3, crate::DEFAULT_MAC)
        .templates()
        .take(30)
        .map(<[u8]>::to_vec)
        .collect();
    let mut sink = crate::wire::PcapSink::to_writer(Vec::new(), false).unwrap();
    for f in &frames {
        crate::wire::FrameSink::frame(&mut sink, Duration::ZERO, f);
    }
    let bytes = sink.into_inner().unwrap();
    let mut m = Mini::with(
        SimConfig::igb().with_link_delay(Duration::ZERO),
        64,
        63,
        rctl::SECRC | rctl::LPE,
    );
    m.sim.set_source(Replay::from_bytes(&bytes).unwrap());
    assert!(!m.sim.rx_drained());
    m.sim.run_until_idle(10);
    assert!(m.sim.rx_drained());
    let c = m.sim.counters();
    assert_eq!((c.offered, c.delivered), (30, 30));
    for f in &frames {
        assert_eq!(&m.take().unwrap().1, f);
    }
}

#[test]
fn engine_thread_with_paced_source() {
    let mut m = Mini::new(SimModel::Igb, 256, 255);
    let n = 20_000;
    m.sim
        .set_source(Generator::mixed(9, m.sim.mac()).limit(n).paced(2_000_000.0));
    m.sim.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut got = 0u64;
    loop {
        let mut k = 0;
        while let Some((c, data)) = m.take() {
            assert!(c.eop && usize::from(c.len) == data.len());
            got += 1;
            k += 1;
        }
        if k > 0 {
            m.post(k);
        }
        if m.sim.rx_drained() && m.complete(m.next).is_none() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: {:?}",
            m.sim.counters()
        );
        std::thread::yield_now();
    }
    m.sim.stop();
    let c = m.sim.counters();
    assert_eq!(c.offered, n);
    assert_eq!(c.delivered, got);
    assert_eq!(c.delivered + c.dropped_overflow, c.offered);
    assert!(!m.sim.is_running());
    assert_eq!(m.sim.step(), 0, "idle once drained");
}
