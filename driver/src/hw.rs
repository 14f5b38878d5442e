//! Control-path helpers shared by both families: bounded waits, PHY access
//! through MDIC, EEPROM reads through EERD, the MAC address, link status.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::Error;
use crate::ident::Family;
use crate::regs::{self, eerd, mdic, status};

/// Polls `reg` until `done(value)` or the deadline; every wait in the driver ends.
pub(crate) fn wait_for<B: Backend + ?Sized>(
    b: &B,
    reg: u32,
    what: &'static str,
    timeout: Duration,
    done: impl Fn(u32) -> bool,
) -> Result<u32, Error> {
    let start = Instant::now();
    let mut pause = 1u64;
    loop {
        let v = b.read32(reg);
        if done(v) {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                device: b.name(),
                what,
                register: reg,
                last_value: v,
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        b.delay_us(pause);
        pause = (pause * 2).min(1000);
    }
}

/// Runs one MDIC command on the internal PHY and waits for READY (or ERROR).
fn mdic<B: Backend + ?Sized>(b: &B, reg: u32, op: u32, data: u16) -> Result<u16, Error> {
    b.write32(
        regs::MDIC,
        u32::from(data) | (reg << mdic::REG_SHIFT) | (mdic::PHY_ADDR << mdic::PHY_SHIFT) | op,
    );
    let v = wait_for(
        b,
        regs::MDIC,
        "MDIC ready",
        Duration::from_millis(10),
        |v| v & (mdic::READY | mdic::ERROR) != 0,
    )?;
    if v & mdic::ERROR != 0 {
        return Err(Error::PhyAccess {
            device: b.name(),
            phy_register: reg,
        });
    }
    Ok((v & mdic::DATA_MASK) as u16)
}

/// Reads PHY register `reg` through MDIC.
pub(crate) fn phy_read<B: Backend + ?Sized>(b: &B, reg: u32) -> Result<u16, Error> {
    mdic(b, reg, mdic::OP_READ, 0)
}

/// Writes PHY register `reg` through MDIC.
pub(crate) fn phy_write<B: Backend + ?Sized>(b: &B, reg: u32, value: u16) -> Result<(), Error> {
    mdic(b, reg, mdic::OP_WRITE, value).map(|_| ())
}

/// Stops the receiver and transmitter, masks interrupts (`mask_extra` names
/// family-specific mask-clear registers such as the 82576's EIMC) and resets
/// the MAC with CTRL.RST, waiting for the bit to clear itself.
pub(crate) fn reset_mac<B: Backend + ?Sized>(b: &B, mask_extra: &[u32]) -> Result<(), Error> {
    let mask_all = || {
        b.write32(regs::IMC, !0);
        for &r in mask_extra {
            b.write32(r, !0);
        }
        b.read32(regs::ICR);
    };
    mask_all();
    b.write32(regs::RCTL, 0);
    b.write32(regs::TCTL, regs::tctl::PSP);
    let c = b.read32(regs::CTRL);
    b.write32(regs::CTRL, c | regs::ctrl::RST);
    // Both families need a moment before registers may be touched again.
    b.delay_us(1_000);
    wait_for(
        b,
        regs::CTRL,
        "reset (CTRL.RST to clear)",
        Duration::from_millis(100),
        |v| v & regs::ctrl::RST == 0,
    )?;
    mask_all();
    Ok(())
}

/// Reads one 16-bit EEPROM word through EERD (the field layout differs by family).
pub(crate) fn eeprom_read<B: Backend + ?Sized>(
    b: &B,
    family: Family,
    word: u32,
) -> Result<u16, Error> {
    let (shift, done) = match family {
        Family::E1000 => (eerd::E1000_ADDR_SHIFT, eerd::E1000_DONE),
        Family::Igb => (eerd::IGB_ADDR_SHIFT, eerd::IGB_DONE),
    };
    b.write32(regs::EERD, (word << shift) | eerd::START);
    let v = wait_for(
        b,
        regs::EERD,
        "EEPROM read (EERD.DONE)",
        Duration::from_millis(10),
        |v| v & done != 0,
    )?;
    Ok((v >> eerd::DATA_SHIFT) as u16)
}

/// True for an address a NIC may own: not all-zero, not multicast/broadcast.
pub(crate) fn valid_unicast(mac: &[u8; 6]) -> bool {
    mac != &[0; 6] && mac[0] & 1 == 0
}

/// The MAC address: receive-address entry 0 when it is valid (the hardware loads
/// it from the EEPROM at reset), else the first three EEPROM words.
pub(crate) fn read_mac<B: Backend + ?Sized>(b: &B, family: Family) -> Result<[u8; 6], Error> {
    let ral = b.read32(regs::ral(0));
    let rah = b.read32(regs::rah(0));
    let mut mac = [0u8; 6];
    mac[..4].copy_from_slice(&ral.to_le_bytes());
    mac[4..].copy_from_slice(&(rah as u16).to_le_bytes());
    if rah & regs::RAH_AV != 0 && valid_unicast(&mac) {
        return Ok(mac);
    }
    for w in 0..3 {
        let word = eeprom_read(b, family, w)?;
        mac[2 * w as usize..2 * w as usize + 2].copy_from_slice(&word.to_le_bytes());
    }
    Ok(mac)
}

/// Writes receive-address entry 0 with AV set.
pub(crate) fn write_mac<B: Backend + ?Sized>(b: &B, mac: &[u8; 6]) {
    b.write32(
        regs::ral(0),
        u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
    );
    b.write32(
        regs::rah(0),
        u32::from(u16::from_le_bytes([mac[4], mac[5]])) | regs::RAH_AV,
    );
}

/// Link state as STATUS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Link up (STATUS.LU).
    pub up: bool,
    /// Speed in Mbit/s (10, 100 or 1000); meaningful when up.
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

impl LinkStatus {
    /// Decodes STATUS.
    pub fn from_status(v: u32) -> Self {
        let speed_mbps = match (v & status::SPEED_MASK) >> status::SPEED_SHIFT {
            0 => 10,
            1 => 100,
            _ => 1000,
        };
        LinkStatus {
            up: v & status::LU != 0,
            speed_mbps,
            full_duplex: v & status::FD != 0,
        }
    }
}

impl std::fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.up {
            let duplex = if self.full_duplex { "full" } else { "half" };
            write!(f, "up {} Mbit/s {duplex} duplex", self.speed_mbps)
        } else {
            f.write_str("down")
        }
    }
}

/// Brings the link up: SLU and speed detection, then, when STATUS.LU stays low,
/// an autonegotiation restart through the PHY (the 82576 and QEMU's model need
/// it), and a wait of at most `timeout`. A link still down is not an error.
pub(crate) fn link_up<B: Backend + ?Sized>(b: &B, timeout: Duration) -> Result<LinkStatus, Error> {
    use regs::ctrl;
    let c = b.read32(regs::CTRL);
    let c =
        (c | ctrl::SLU | ctrl::ASDE) & !(ctrl::LRST | ctrl::PHY_RST | ctrl::FRCSPD | ctrl::FRCDPX);
    b.write32(regs::CTRL, c);
    if b.read32(regs::STATUS) & status::LU != 0 {
        return Ok(LinkStatus::from_status(b.read32(regs::STATUS)));
    }
    let bmcr = phy_read(b, regs::phy::BMCR)?;
    phy_write(
        b,
        regs::phy::BMCR,
        bmcr | regs::phy::BMCR_AUTOEN | regs::phy::BMCR_ANRESTART,
    )?;
    let v = match wait_for(b, regs::STATUS, "link up", timeout, |v| v & status::LU != 0) {
        Ok(v) => v,
        Err(_) => b.read32(regs::STATUS),
    };
    Ok(LinkStatus::from_status(v))
}
