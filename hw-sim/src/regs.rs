//! The register file and the side effects of register accesses.
//!
//! Reads and writes are decoded here once; ring heads/tails, ICR/IMS and the
//! statistics go to their atomics in [`Device`], everything else to the locked
//! [`RegFile`]. Nothing a driver writes can make the model panic: unknown
//! offsets read 0 and ignore writes, ring registers are masked like silicon.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use igbpoll_driver::regs::{self, ctrl, icr, mdic, status};

use crate::device::Device;
use crate::eeprom::{Eeprom, EerdFormat};
use crate::phy::{Phy, PhyEvent};
use crate::stats::{STATS_BASE, STATS_END};
use crate::{e1000, igb, SimConfig, SimModel};

/// BAR0 size.
pub const BAR0_SIZE: u32 = 128 * 1024;

/// Offsets inside a queue's register block.
pub(crate) mod qreg {
    pub const BAL: u32 = 0x00;
    pub const BAH: u32 = 0x04;
    pub const LEN: u32 = 0x08;
    pub const SRRCTL: u32 = 0x0C;
    pub const HEAD: u32 = 0x10;
    pub const TAIL: u32 = 0x18;
    pub const XDCTL: u32 = 0x28;
    pub const RQDPC: u32 = 0x30;
}

/// Bits the ring length registers keep: a multiple of 128 bytes.
pub(crate) const LEN_MASK: u32 = 0x000F_FF80;
const GIO_MASTER_DISABLE: u32 = 1 << 2;
const INT_ASSERTED: u32 = 1 << 31;
const GPIE_NSICR: u32 = 1;

/// The locked part of the register state.
pub(crate) struct RegFile {
    mem: Vec<u32>,
    phy: Phy,
    eeprom: Eeprom,
    model: SimModel,
    mac: [u8; 6],
    link_delay: Duration,
    link_up_at: Option<Instant>,
    phyra: bool,
}

impl RegFile {
    pub(crate) fn new(cfg: &SimConfig) -> RegFile {
        let (phy_id, words, dev) = match cfg.model {
            SimModel::E1000 => (e1000::PHY_ID, e1000::EEPROM_WORDS, e1000::DEVICE_ID),
            SimModel::Igb => (igb::PHY_ID, igb::EEPROM_WORDS, igb::DEVICE_ID),
        };
        let mut r = RegFile {
            mem: vec![0; (BAR0_SIZE / 4) as usize],
            phy: Phy::new(phy_id),
            eeprom: Eeprom::new(cfg.mac, words, dev),
            model: cfg.model,
            mac: cfg.mac,
            link_delay: cfg.link_delay,
            link_up_at: None,
            phyra: false,
        };
        r.power_on();
        r
    }

    /// Loads power-on defaults (CTRL.RST does the same).
    fn power_on(&mut self) {
        self.mem.fill(0);
        match self.model {
            SimModel::E1000 => e1000::defaults(&mut self.mem),
            SimModel::Igb => igb::defaults(&mut self.mem),
        }
        // RA0 from the EEPROM MAC, address valid.
        let m = |i: usize| self.eeprom.word(i).to_le_bytes();
        let (w0, w1, w2) = (m(0), m(1), m(2));
        self.mem[(regs::ral(0) / 4) as usize] = u32::from_le_bytes([w0[0], w0[1], w1[0], w1[1]]);
        self.mem[(regs::rah(0) / 4) as usize] =
            u32::from(u16::from_le_bytes([w2[0], w2[1]])) | regs::RAH_AV;
        let _ = self.mac;
        self.phy.reset();
        self.link_up_at = None;
        self.phyra = self.model == SimModel::Igb;
    }

    /// The stored value of a plain register (canonical offset).
    #[inline]
    pub(crate) fn get(&self, off: u32) -> u32 {
        self.mem.get((off / 4) as usize).copied().unwrap_or(0)
    }

    fn set(&mut self, off: u32, v: u32) {
        if let Some(slot) = self.mem.get_mut((off / 4) as usize) {
            *slot = v;
        }
    }

    fn eerd_format(&self) -> EerdFormat {
        match self.model {
            SimModel::E1000 => EerdFormat::E1000,
            SimModel::Igb => EerdFormat::Igb,
        }
    }

    /// Drops the link now (ICR.LSC if it was up) and forgets pending autoneg.
    fn link_down(&mut self, dev: &Device) {
        self.link_up_at = None;
        dev.link_pending.store(false, Ordering::Relaxed);
        self.phy.set_link(false);
        if dev.link_up.swap(false, Ordering::AcqRel) {
            dev.raise(icr::LSC);
        }
    }

    /// Starts autonegotiation: the link drops and comes up after the delay.
    fn autoneg(&mut self, dev: &Device) {
        self.link_down(dev);
        self.link_up_at = Some(Instant::now() + self.link_delay);
        dev.link_pending.store(true, Ordering::Release);
        self.poll_link(dev);
    }

    /// Completes a pending autonegotiation whose time has come.
    pub(crate) fn poll_link(&mut self, dev: &Device) -> bool {
        match self.link_up_at {
            Some(t) if Instant::now() >= t => {
                self.link_up_at = None;
                dev.link_pending.store(false, Ordering::Relaxed);
                self.phy.set_link(true);
                dev.link_up.store(true, Ordering::Release);
                dev.raise(icr::LSC);
                true
            }
            _ => false,
        }
    }

    fn status(&mut self, dev: &Device) -> u32 {
        self.poll_link(dev);
        let mut s = 0;
        if dev.link_up.load(Ordering::Acquire) {
            s |= status::FD | status::LU | (0b10 << status::SPEED_SHIFT);
        }
        if self.get(regs::CTRL) & GIO_MASTER_DISABLE == 0 {
            s |= status::GIO_MASTER_ENABLE;
        }
        if self.phyra {
            s |= status::PHYRA;
        }
        s
    }

    fn mdic(&mut self, dev: &Device, v: u32) -> u32 {
        let phy_addr = (v >> mdic::PHY_SHIFT) & 0x1F;
        let reg = (v >> mdic::REG_SHIFT) & 0x1F;
        let op = v & (3 << 26);
        let base = v & !(mdic::READY | mdic::ERROR | (1 << 29));
        if op != mdic::OP_READ && op != mdic::OP_WRITE {
            return base & !mdic::READY;
        }
        if phy_addr != mdic::PHY_ADDR {
            return base | mdic::READY | mdic::ERROR;
        }
        if op == mdic::OP_READ {
            return (base & !mdic::DATA_MASK) | u32::from(self.phy.read(reg)) | mdic::READY;
        }
        let slu = self.get(regs::CTRL) & ctrl::SLU != 0;
        match self.phy.write(reg, v as u16) {
            PhyEvent::None => {}
            PhyEvent::Restart => {
                // e1000: the MAC must ask for the link (SLU); igb: PHY autoneg alone.
                if self.model == SimModel::Igb || slu {
                    self.autoneg(dev);
                }
            }
            PhyEvent::Reset => {
                self.link_down(dev);
                if self.model == SimModel::E1000 && slu {
                    self.autoneg(dev);
                }
            }
        }
        base | mdic::READY
    }

    fn write_ctrl(&mut self, dev: &Device, v: u32) {
        if v & ctrl::RST != 0 {
            self.reset(dev);
            return;
        }
        let old = self.get(regs::CTRL);
        self.set(regs::CTRL, v & !ctrl::RST);
        if v & ctrl::PHY_RST != 0 && old & ctrl::PHY_RST == 0 {
            self.phy.reset();
            self.link_down(dev);
        }
        if self.model == SimModel::E1000 {
            let (was, now) = (old & ctrl::SLU != 0, v & ctrl::SLU != 0);
            if now && !was && v & ctrl::PHY_RST == 0 {
                self.autoneg(dev);
            } else if !now && was {
                self.link_down(dev);
            } else if now && old & ctrl::PHY_RST != 0 && v & ctrl::PHY_RST == 0 {
                self.autoneg(dev);
            }
        }
    }

    /// CTRL.RST: every register back to its power-on value.
    fn reset(&mut self, dev: &Device) {
        self.power_on();
        dev.link_pending.store(false, Ordering::Relaxed);
        dev.link_up.store(false, Ordering::Release);
        for a in dev
            .rdh
            .iter()
            .chain(&dev.rdt)
            .chain(&dev.tdh)
            .chain(&dev.tdt)
        {
            a.store(0, Ordering::Relaxed);
        }
        dev.icr.store(0, Ordering::Relaxed);
        dev.ims.store(0, Ordering::Relaxed);
        dev.stats.clear();
        dev.reset_epoch.fetch_add(1, Ordering::Release);
    }
}

/// What a BAR0 offset is.
enum Decoded {
    RxHead(usize),
    RxTail(usize),
    TxHead(usize),
    TxTail(usize),
    Rqdpc(usize),
    /// A queue register kept in the register file at this canonical offset.
    Queue(u32, u32),
    Plain(u32),
}

fn decode(model: SimModel, off: u32) -> Decoded {
    let q = match model {
        SimModel::E1000 => e1000::decode_queue(off),
        SimModel::Igb => igb::decode_queue(off),
    };
    let Some((rx, n, r)) = q else {
        return Decoded::Plain(off);
    };
    let block = match (model, rx) {
        (SimModel::E1000, true) => e1000::RX_BLOCK,
        (SimModel::E1000, false) => e1000::TX_BLOCK,
        (SimModel::Igb, true) => igb::rx_block(n),
        (SimModel::Igb, false) => igb::tx_block(n),
    };
    match (rx, r) {
        (true, qreg::HEAD) => Decoded::RxHead(n),
        (true, qreg::TAIL) => Decoded::RxTail(n),
        (false, qreg::HEAD) => Decoded::TxHead(n),
        (false, qreg::TAIL) => Decoded::TxTail(n),
        (true, qreg::RQDPC) if model == SimModel::Igb => Decoded::Rqdpc(n),
        _ => Decoded::Queue(block + r, r),
    }
}

impl Device {
    fn lock_regs(&self) -> std::sync::MutexGuard<'_, RegFile> {
        self.regs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A driver read of the BAR0 register at `off`.
    pub(crate) fn read32(&self, off: u32) -> u32 {
        if !self.pci.memory_enabled() {
            return u32::MAX;
        }
        if off >= BAR0_SIZE || off & 3 != 0 {
            return 0;
        }
        if (STATS_BASE..STATS_END).contains(&off) {
            return self.stats.read(off);
        }
        match decode(self.model, off) {
            Decoded::RxHead(n) => self.rdh[n].load(Ordering::Acquire),
            Decoded::RxTail(n) => self.rdt[n].load(Ordering::Relaxed),
            Decoded::TxHead(n) => self.tdh[n].load(Ordering::Acquire),
            Decoded::TxTail(n) => self.tdt[n].load(Ordering::Relaxed),
            Decoded::Rqdpc(n) => self.stats.read_rqdpc(n),
            Decoded::Queue(c, qreg::XDCTL) if self.model == SimModel::Igb && c < 0xE000 => {
                self.read_rxdctl(c)
            }
            Decoded::Queue(c, _) => self.lock_regs().get(c),
            Decoded::Plain(off) => self.read_plain(off),
        }
    }

    /// RXDCTL: ENABLE reads back 0 only once the engine thread works with a
    /// configuration where the queue is off, so a driver that clears it and
    /// waits for the bit knows the queue does no more DMA (as on silicon).
    fn read_rxdctl(&self, c: u32) -> u32 {
        let v = self.lock_regs().get(c);
        let n = (c - igb::rx_block(0)) / 0x40;
        let engine_on_thread = self
            .engine_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        let still_active = self.rx_active.load(Ordering::Acquire) & (1 << n) != 0;
        if engine_on_thread && still_active {
            v | igbpoll_driver::regs::igb::XDCTL_ENABLE
        } else {
            v
        }
    }

    fn read_plain(&self, off: u32) -> u32 {
        match off {
            regs::STATUS => self.lock_regs().status(self),
            regs::ICR => self.read_icr(),
            regs::ICS => self.icr.load(Ordering::Relaxed),
            regs::IMS | regs::IMC => self.ims.load(Ordering::Relaxed),
            _ => self.lock_regs().get(off),
        }
    }

    fn read_icr(&self) -> u32 {
        let ims = self.ims.load(Ordering::Relaxed);
        match self.model {
            SimModel::E1000 => self.icr.swap(0, Ordering::AcqRel),
            SimModel::Igb => {
                let v = self.icr.load(Ordering::Acquire);
                let asserted = v & ims != 0;
                let nsicr = self.lock_regs().get(igbpoll_driver::regs::igb::GPIE) & GPIE_NSICR != 0;
                let v = if asserted { v | INT_ASSERTED } else { v };
                if ims == 0 || nsicr || asserted {
                    self.icr.fetch_and(!(v & !INT_ASSERTED), Ordering::AcqRel);
                }
                v
            }
        }
    }

    /// A driver write of `v` to the BAR0 register at `off`.
    pub(crate) fn write32(&self, off: u32, v: u32) {
        if !self.pci.memory_enabled() || off >= BAR0_SIZE || off & 3 != 0 {
            return;
        }
        if (STATS_BASE..STATS_END).contains(&off) {
            return;
        }
        match decode(self.model, off) {
            Decoded::RxTail(n) => {
                self.rdt[n].store(v & 0xFFFF, Ordering::Release);
                self.wake();
            }
            Decoded::TxTail(n) => {
                self.tdt[n].store(v & 0xFFFF, Ordering::Release);
                self.wake();
            }
            Decoded::RxHead(n) => {
                self.rdh[n].store(v & 0xFFFF, Ordering::Release);
                self.bump_generation();
            }
            Decoded::TxHead(n) => {
                self.tdh[n].store(v & 0xFFFF, Ordering::Release);
                self.bump_generation();
            }
            Decoded::Rqdpc(_) => {}
            Decoded::Queue(c, r) => {
                let v = match r {
                    qreg::BAL => v & !0xF,
                    qreg::LEN => v & LEN_MASK,
                    _ => v,
                };
                let mut rf = self.lock_regs();
                rf.set(c, v);
                drop(rf);
                self.bump_generation();
                self.wake();
            }
            Decoded::Plain(off) => {
                self.write_plain(off, v);
                self.bump_generation();
                self.wake();
            }
        }
    }

    fn write_plain(&self, off: u32, v: u32) {
        match off {
            regs::ICR => {
                self.icr.fetch_and(!v, Ordering::AcqRel);
            }
            regs::ICS => self.raise(v),
            regs::IMS => {
                self.ims.fetch_or(v, Ordering::Relaxed);
            }
            regs::IMC => {
                self.ims.fetch_and(!v, Ordering::Relaxed);
            }
            _ => {
                let mut rf = self.lock_regs();
                match off {
                    regs::CTRL => rf.write_ctrl(self, v),
                    regs::STATUS => {
                        if v & status::PHYRA == 0 {
                            rf.phyra = false;
                        }
                    }
                    regs::EECD => {
                        let ro = rf.get(regs::EECD) & 0x0000_FF00 & !(1 << 7);
                        let gnt = if v & (1 << 6) != 0 { 1 << 7 } else { 0 };
                        rf.set(regs::EECD, ro | (v & 0x4F) | gnt);
                    }
                    regs::EERD => {
                        let r = rf.eeprom.eerd_write(rf.eerd_format(), v);
                        rf.set(regs::EERD, r);
                    }
                    regs::MDIC => {
                        let r = rf.mdic(self, v);
                        rf.set(regs::MDIC, r);
                    }
                    _ => rf.set(off, v),
                }
            }
        }
    }

    /// Completes pending autonegotiation (engine side).
    pub(crate) fn poll_link(&self) -> bool {
        if !self.link_pending.load(Ordering::Acquire) {
            return false;
        }
        self.lock_regs().poll_link(self)
    }
}
