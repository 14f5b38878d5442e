//! The one seam under the hardware.
//!
//! Everything the driver does to a NIC goes through [`Backend`]: BAR0 register
//! access, DMA-able memory and PCI configuration space. VFIO implements it for real
//! devices; `igbpoll-hw-sim` implements it with register-level models of the chips.
//! The driver is generic over the backend, so a register access on real hardware
//! compiles down to one volatile load or store: no dynamic dispatch in the fast path.

use crate::dma::DmaMemory;
use crate::error::DmaError;

/// PCI configuration-space offsets the driver uses.
pub mod pci {
    /// Vendor ID (16 bits).
    pub const VENDOR_ID: u16 = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE_ID: u16 = 0x02;
    /// Command register (16 bits).
    pub const COMMAND: u16 = 0x04;
    /// Revision ID (8 bits, low byte of the dword at 0x08).
    pub const REVISION_ID: u16 = 0x08;
    /// Subsystem vendor ID (16 bits).
    pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
    /// Subsystem ID (16 bits).
    pub const SUBSYSTEM_ID: u16 = 0x2E;
    /// COMMAND: respond to memory-space accesses.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    /// COMMAND: the device may master the bus (DMA).
    pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
    /// COMMAND: legacy INTx disabled.
    pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
}

/// Access to one NIC: its registers, its PCI configuration space and DMA memory
/// the device can reach.
///
/// Implementations must be cheap to call: [`Backend::read32`] and
/// [`Backend::write32`] are on the driver's per-batch path (one tail write per
/// batch), never per packet.
pub trait Backend: Send + Sync + 'static {
    /// Reads the 32-bit register at byte `offset` of BAR0.
    fn read32(&self, offset: u32) -> u32;

    /// Writes the 32-bit register at byte `offset` of BAR0.
    fn write32(&self, offset: u32, value: u32);

    /// Reads 16 bits of PCI configuration space at `offset`.
    fn pci_read16(&self, offset: u16) -> u16;

    /// Writes 16 bits of PCI configuration space at `offset`.
    fn pci_write16(&self, offset: u16, value: u16);

    /// Allocates `size` bytes of zeroed memory that the device can reach by DMA,
    /// aligned to at least 4 KiB, and mapped for the device (IOMMU) before it
    /// is returned. The mapping lives as long as the returned value.
    fn alloc_dma(&self, size: usize) -> Result<DmaMemory, DmaError>;

    /// A short human-readable name of the device: a PCI address such as
    /// `0000:03:00.0`, or `sim:igb` for a simulated one.
    fn name(&self) -> String;

    /// Waits for about `micros` microseconds. Used only on the control path
    /// (reset, link, EEPROM); a simulator may advance a virtual clock instead.
    fn delay_us(&self, micros: u64) {
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}
