//! The PHY reached through MDIC: MII registers and autonegotiation requests.
//!
//! The PHY answers only at MDIO address 1. Link timing is kept by the register
//! file (see `regs.rs`); the PHY reports what a register write asks for.

use igbpoll_driver::regs::phy as mii;

/// PHY identifier register 1.
pub const PHYID1: u32 = 2;
/// PHY identifier register 2.
pub const PHYID2: u32 = 3;
/// Autonegotiation advertisement.
pub const ANAR: u32 = 4;
/// Link partner ability.
pub const ANLPAR: u32 = 5;
/// 1000BASE-T control.
pub const GCR: u32 = 9;
/// 1000BASE-T status.
pub const GSR: u32 = 10;
/// Extended status.
pub const ESTATUS: u32 = 15;

const BMCR_DEFAULT: u16 = 0x1140; // AUTOEN | FD | speed 1000
const BMSR_DEFAULT: u16 = 0x7949; // capabilities, extended status, no link

/// What a PHY register write asked the link to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhyEvent {
    /// Nothing link-related.
    None,
    /// Autonegotiation restart (BMCR.ANRESTART with AUTOEN).
    Restart,
    /// PHY reset (BMCR.RESET): link drops and registers return to defaults.
    Reset,
}

/// The PHY register file.
#[derive(Debug, Clone)]
pub struct Phy {
    regs: [u16; 32],
    id: (u16, u16),
}

impl Phy {
    /// A PHY with the given ID (PHYID1, PHYID2) in its power-on state.
    pub fn new(id: (u16, u16)) -> Phy {
        let mut p = Phy { regs: [0; 32], id };
        p.reset();
        p
    }

    /// Power-on defaults.
    pub fn reset(&mut self) {
        self.regs = [0; 32];
        self.regs[mii::BMCR as usize] = BMCR_DEFAULT;
        self.regs[mii::BMSR as usize] = BMSR_DEFAULT;
        self.regs[PHYID1 as usize] = self.id.0;
        self.regs[PHYID2 as usize] = self.id.1;
        self.regs[ANAR as usize] = 0x01E1;
        self.regs[GCR as usize] = 0x0300;
        self.regs[ESTATUS as usize] = 0x3000;
    }

    /// Reflects the link state in BMSR, ANLPAR and GSR.
    pub fn set_link(&mut self, up: bool) {
        let bmsr = &mut self.regs[mii::BMSR as usize];
        if up {
            *bmsr |= mii::BMSR_LSTATUS | mii::BMSR_ANEGCOMPLETE;
            self.regs[ANLPAR as usize] = 0xC1E1;
            self.regs[GSR as usize] = 0x3C00;
        } else {
            *bmsr &= !(mii::BMSR_LSTATUS | mii::BMSR_ANEGCOMPLETE);
            self.regs[ANLPAR as usize] = 0;
            self.regs[GSR as usize] = 0;
        }
    }

    /// Reads register `reg` (0..32).
    pub fn read(&self, reg: u32) -> u16 {
        self.regs[(reg & 31) as usize]
    }

    /// Writes register `reg`; read-only registers ignore the write.
    pub fn write(&mut self, reg: u32, value: u16) -> PhyEvent {
        match reg & 31 {
            r if r == mii::BMCR => {
                if value & mii::BMCR_RESET != 0 {
                    self.reset();
                    return PhyEvent::Reset;
                }
                // ANRESTART self-clears.
                self.regs[r as usize] = value & !mii::BMCR_ANRESTART;
                if value & mii::BMCR_ANRESTART != 0 && value & mii::BMCR_AUTOEN != 0 {
                    PhyEvent::Restart
                } else {
                    PhyEvent::None
                }
            }
            r if r == mii::BMSR || r == PHYID1 || r == PHYID2 || r == GSR || r == ESTATUS => {
                PhyEvent::None
            }
            r => {
                self.regs[r as usize] = value;
                PhyEvent::None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_and_reset() {
        let mut p = Phy::new((0x0141, 0x0C20));
        assert_eq!(p.read(PHYID1), 0x0141);
        assert_eq!(
            p.write(0, mii::BMCR_AUTOEN | mii::BMCR_ANRESTART),
            PhyEvent::Restart
        );
        assert_eq!(p.read(0) & mii::BMCR_ANRESTART, 0);
        p.set_link(true);
        assert_ne!(p.read(1) & mii::BMSR_LSTATUS, 0);
        assert_eq!(p.write(0, mii::BMCR_RESET), PhyEvent::Reset);
        assert_eq!(p.read(0), BMCR_DEFAULT);
        p.write(1, 0);
        assert_eq!(p.read(1), BMSR_DEFAULT);
    }
}
