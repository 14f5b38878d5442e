//! [`SimBackend`]: the driver's [`Backend`] implemented by the simulator.

use std::sync::Arc;

use igbpoll_driver::{Backend, DmaError, DmaMemory};

use crate::device::Device;
use crate::SimModel;

/// The driver's view of a simulated NIC: BAR0, configuration space and DMA
/// memory mapped in the simulated IOMMU. Cheap to clone; every clone reaches
/// the same device.
#[derive(Clone)]
pub struct SimBackend {
    pub(crate) dev: Arc<Device>,
}

impl std::fmt::Debug for SimBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBackend")
            .field("model", &self.dev.model)
            .finish()
    }
}

impl Backend for SimBackend {
    #[inline]
    fn read32(&self, offset: u32) -> u32 {
        self.dev.read32(offset)
    }

    #[inline]
    fn write32(&self, offset: u32, value: u32) {
        self.dev.write32(offset, value)
    }

    fn pci_read16(&self, offset: u16) -> u16 {
        self.dev.pci.read16(offset)
    }

    fn pci_write16(&self, offset: u16, value: u16) {
        self.dev.pci.write16(offset, value);
        self.dev.wake();
    }

    fn alloc_dma(&self, size: usize) -> Result<DmaMemory, DmaError> {
        self.dev.iommu.alloc(size)
    }

    fn name(&self) -> String {
        match self.dev.model {
            SimModel::E1000 => "sim:e1000".into(),
            SimModel::Igb => "sim:igb".into(),
        }
    }
}
