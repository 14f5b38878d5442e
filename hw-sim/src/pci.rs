//! PCI configuration space of the simulated function.
//!
//! Only COMMAND is writable. Memory-space decoding and bus mastering start
//! off, as at power-on: until the driver sets COMMAND.MEMORY, BAR0 reads return
//! all-ones and writes are dropped; until it sets COMMAND.BUS_MASTER, the device
//! does no DMA.

use std::sync::atomic::{AtomicU16, Ordering};

use igbpoll_driver::backend::pci;

/// COMMAND bits a driver may change (I/O, memory, bus master, parity, SERR, INTx disable).
const COMMAND_WRITABLE: u16 = 0x0547;

/// The configuration space.
pub(crate) struct PciConfig {
    device_id: u16,
    revision: u8,
    command: AtomicU16,
}

impl PciConfig {
    pub(crate) fn new(device_id: u16, revision: u8) -> PciConfig {
        PciConfig {
            device_id,
            revision,
            command: AtomicU16::new(0),
        }
    }

    #[inline(always)]
    pub(crate) fn memory_enabled(&self) -> bool {
        self.command.load(Ordering::Relaxed) & pci::COMMAND_MEMORY != 0
    }

    #[inline(always)]
    pub(crate) fn bus_master(&self) -> bool {
        self.command.load(Ordering::Relaxed) & pci::COMMAND_BUS_MASTER != 0
    }

    pub(crate) fn read16(&self, off: u16) -> u16 {
        match off & !1 {
            pci::VENDOR_ID => 0x8086,
            pci::DEVICE_ID => self.device_id,
            pci::COMMAND => self.command.load(Ordering::Relaxed),
            0x06 => 0x0010, // STATUS: capabilities list bit (none modelled), no errors
            pci::REVISION_ID => u16::from(self.revision),
            0x0A => 0x0200, // class: network controller, Ethernet
            0x0E => 0x0000, // header type 0
            0x10 => 0x0000, // BAR0 low (memory, 32-bit)
            0x12 => 0xFEB0,
            pci::SUBSYSTEM_VENDOR_ID => 0x8086,
            pci::SUBSYSTEM_ID => self.device_id,
            0x3C => 0x010B, // interrupt pin A, line 11
            _ => 0,
        }
    }

    pub(crate) fn write16(&self, off: u16, value: u16) {
        if off & !1 == pci::COMMAND {
            self.command
                .store(value & COMMAND_WRITABLE, Ordering::Relaxed);
        }
    }
}
