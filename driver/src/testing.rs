//! A bare backend for the driver's own unit tests: heap memory whose IOVA is its
//! CPU address, and a register file that only stores values. Tests of the driver
//! against a NIC model live in `igbpoll-tests`, over `igbpoll-hw-sim`.

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::backend::Backend;
use crate::dma::DmaMemory;
use crate::error::DmaError;

/// Registers as plain storage; DMA memory on the heap.
#[derive(Default)]
pub(crate) struct HeapBackend {
    pub regs: Mutex<HashMap<u32, u32>>,
    /// PCI configuration space words (16-bit, by offset).
    pub config: Mutex<HashMap<u16, u16>>,
}

impl HeapBackend {
    /// A backend whose configuration space reports `vendor:device`.
    pub fn with_ids(vendor: u16, device: u16) -> Self {
        let b = HeapBackend::default();
        b.config.lock().unwrap().extend([(0, vendor), (2, device)]);
        b
    }
}

struct HeapBlock(NonNull<u8>, std::alloc::Layout);
// SAFETY: the block is plain heap memory owned by this value.
unsafe impl Send for HeapBlock {}
// SAFETY: as above; HeapBlock itself never touches the memory except to free it.
unsafe impl Sync for HeapBlock {}

impl Drop for HeapBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in alloc_dma with this layout, freed once.
        unsafe { std::alloc::dealloc(self.0.as_ptr(), self.1) }
    }
}

impl Backend for HeapBackend {
    fn read32(&self, offset: u32) -> u32 {
        *self.regs.lock().unwrap().get(&offset).unwrap_or(&0)
    }
    fn write32(&self, offset: u32, value: u32) {
        self.regs.lock().unwrap().insert(offset, value);
    }
    fn pci_read16(&self, offset: u16) -> u16 {
        *self.config.lock().unwrap().get(&offset).unwrap_or(&0)
    }
    fn pci_write16(&self, offset: u16, value: u16) {
        self.config.lock().unwrap().insert(offset, value);
    }
    fn alloc_dma(&self, size: usize) -> Result<DmaMemory, DmaError> {
        let layout = std::alloc::Layout::from_size_align(size.max(1), 4096).map_err(|_| {
            DmaError::Exhausted {
                requested: size,
                available: 0,
            }
        })?;
        // SAFETY: layout has a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).ok_or(
            DmaError::Exhausted {
                requested: size,
                available: 0,
            },
        )?;
        let owner = HeapBlock(ptr, layout);
        // SAFETY: ptr is a live, zeroed, 4096-aligned block of `size` bytes owned by `owner`.
        Ok(unsafe { DmaMemory::from_raw_parts(ptr, size, ptr.as_ptr() as u64, Box::new(owner)) })
    }
    fn name(&self) -> String {
        "heap".into()
    }
}
