//! The simulated IOMMU: DMA memory allocation, IOVA → host translation, faults.
//!
//! Every block handed out by [`Iommu::alloc`] gets an IOVA range of its own, far
//! from its host address (IOVAs start at [`IOVA_BASE`]) and separated from the
//! next block by an unmapped guard page, so a driver that passes a virtual address
//! or runs off the end of a buffer faults instead of scribbling. A DMA access
//! outside every live mapping is recorded as a [`DmaFault`] and not performed.
//!
//! A mapping ends when the driver drops its [`DmaMemory`]. The host memory itself
//! is freed only when the engine no longer holds a cached reference to it, so a
//! late DMA can never touch freed memory; it faults instead.

use std::alloc::{alloc, dealloc, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use igbpoll_driver::{DmaError, DmaMemory};

/// The first IOVA handed out. IOVAs grow from here and are unrelated to the
/// host addresses of the memory behind them.
pub const IOVA_BASE: u64 = 0x1_0000_0000;

const PAGE: usize = 4096;
/// Transparent huge page size (x86-64).
const HUGE_PAGE: usize = 2 << 20;

/// One DMA access the IOMMU refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaFault {
    /// The device address accessed.
    pub iova: u64,
    /// Bytes accessed.
    pub len: usize,
    /// True for a device write (to memory), false for a read.
    pub write: bool,
    /// What the device was doing ("rx descriptor", "tx buffer", ...).
    pub what: &'static str,
}

/// Host memory behind one mapping.
pub(crate) struct Region {
    ptr: NonNull<u8>,
    layout: Layout,
    pub(crate) iova: u64,
    pub(crate) len: usize,
    mapped: AtomicBool,
}

// SAFETY: Region owns a heap block; all access to its bytes goes through raw
// pointers with atomic or DMA-style (ownership-transferred) discipline.
unsafe impl Send for Region {}
// SAFETY: as above; the only shared mutable state is the `mapped` atomic.
unsafe impl Sync for Region {}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: ptr was allocated with exactly this layout in Iommu::alloc.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl Region {
    /// True while the driver still holds the mapping.
    #[inline(always)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.mapped.load(Ordering::Relaxed)
    }

    /// Host pointer for `iova..iova+len` if it lies inside this region.
    #[inline(always)]
    pub(crate) fn host(&self, iova: u64, len: usize) -> Option<*mut u8> {
        let off = iova.checked_sub(self.iova)?;
        let end = off.checked_add(len as u64)?;
        if end > self.len as u64 {
            return None;
        }
        // SAFETY: off + len <= self.len, inside the allocation.
        Some(unsafe { self.ptr.as_ptr().add(off as usize) })
    }
}

/// The owner object stored in each [`DmaMemory`]: dropping it unmaps.
struct Mapping {
    region: Arc<Region>,
    iommu: Weak<Iommu>,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        self.region.mapped.store(false, Ordering::Release);
        if let Some(iommu) = self.iommu.upgrade() {
            let mut table = iommu.table.write().unwrap_or_else(|e| e.into_inner());
            table.remove(&self.region.iova);
            iommu
                .mapped_bytes
                .fetch_sub(self.region.len as u64, Ordering::Relaxed);
        }
    }
}

/// IOVA space, mappings and the fault log.
pub(crate) struct Iommu {
    me: Weak<Iommu>,
    table: RwLock<BTreeMap<u64, Arc<Region>>>,
    next_iova: Mutex<u64>,
    mapped_bytes: AtomicU64,
    limit: u64,
    faults: Mutex<Vec<DmaFault>>,
    fault_count: AtomicU64,
    fault_log_limit: usize,
}

impl Iommu {
    pub(crate) fn new(limit: u64, fault_log_limit: usize) -> Arc<Iommu> {
        Arc::new_cyclic(|me| Iommu {
            me: me.clone(),
            table: RwLock::new(BTreeMap::new()),
            next_iova: Mutex::new(IOVA_BASE),
            mapped_bytes: AtomicU64::new(0),
            limit,
            faults: Mutex::new(Vec::new()),
            fault_count: AtomicU64::new(0),
            fault_log_limit,
        })
    }

    /// Allocates zeroed, page-aligned memory and maps it at a fresh IOVA.
    pub(crate) fn alloc(&self, size: usize) -> Result<DmaMemory, DmaError> {
        // Large blocks (packet pools) come in 2 MiB units backed by transparent
        // huge pages where the kernel allows, as VFIO's hugepage DMA memory is:
        // fewer TLB misses when the CPU touches packet bytes.
        let align = if size >= HUGE_PAGE { HUGE_PAGE } else { PAGE };
        let len = size.max(1).div_ceil(align) * align;
        let used = self.mapped_bytes.load(Ordering::Relaxed);
        let available = self.limit.saturating_sub(used) as usize;
        if len > available {
            return Err(DmaError::Exhausted {
                requested: size,
                available,
            });
        }
        let layout = Layout::from_size_align(len, align).map_err(|_| DmaError::Exhausted {
            requested: size,
            available,
        })?;
        // SAFETY: layout has a non-zero size.
        let raw = unsafe { alloc(layout) };
        let ptr = NonNull::new(raw).ok_or(DmaError::Os {
            op: "alloc",
            errno: libc_enomem(),
        })?;
        if align == HUGE_PAGE {
            // Before the first touch: std's zeroed allocation of a 2 MiB-aligned
            // block writes every page itself, which faults them in as 4 KiB
            // pages and makes the hint useless.
            // SAFETY: [raw, raw+len) is this allocation; MADV_HUGEPAGE is only a
            // hint about its backing and never changes its contents.
            unsafe { libc::madvise(raw.cast(), len, libc::MADV_HUGEPAGE) };
        }
        // DMA memory starts zeroed, as VFIO's fresh anonymous mappings do.
        // SAFETY: [raw, raw+len) is this allocation, not yet shared.
        unsafe { std::ptr::write_bytes(raw, 0, len) };
        let iova = {
            let mut next = self.next_iova.lock().unwrap_or_else(|e| e.into_inner());
            let iova = *next;
            // One unmapped guard page between blocks.
            *next = iova + len as u64 + PAGE as u64;
            iova
        };
        let region = Arc::new(Region {
            ptr,
            layout,
            iova,
            len,
            mapped: AtomicBool::new(true),
        });
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(iova, region.clone());
        self.mapped_bytes.fetch_add(len as u64, Ordering::Relaxed);
        let owner = Box::new(Mapping {
            region,
            iommu: self.me.clone(),
        });
        // SAFETY: ptr points to len zeroed bytes, 4096-aligned, kept alive by the
        // Arc<Region> inside `owner`; iova is where the simulated device sees them.
        Ok(unsafe { DmaMemory::from_raw_parts(ptr, len, iova, owner) })
    }

    /// The live region holding `iova..iova+len`, if any.
    pub(crate) fn lookup(&self, iova: u64, len: usize) -> Option<Arc<Region>> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        let (_, r) = table.range(..=iova).next_back()?;
        r.host(iova, len)?;
        Some(r.clone())
    }

    /// Records a refused access.
    pub(crate) fn fault(&self, iova: u64, len: usize, write: bool, what: &'static str) {
        self.fault_count.fetch_add(1, Ordering::Relaxed);
        let mut log = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() < self.fault_log_limit {
            log.push(DmaFault {
                iova,
                len,
                write,
                what,
            });
        }
    }

    pub(crate) fn faults(&self) -> Vec<DmaFault> {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn take_faults(&self) -> Vec<DmaFault> {
        std::mem::take(&mut *self.faults.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn fault_count(&self) -> u64 {
        self.fault_count.load(Ordering::Relaxed)
    }
}

fn libc_enomem() -> i32 {
    12
}

/// A translation cache: the last region hit, checked before the table.
#[derive(Default)]
pub(crate) struct Translator {
    last: Option<Arc<Region>>,
}

impl Translator {
    /// Host pointer for a device access of `len` bytes at `iova`, or `None`
    /// (after recording a fault) when no live mapping covers it.
    #[inline(always)]
    pub(crate) fn map(
        &mut self,
        iommu: &Iommu,
        iova: u64,
        len: usize,
        write: bool,
        what: &'static str,
    ) -> Option<*mut u8> {
        if let Some(r) = &self.last {
            if r.is_mapped() {
                if let Some(p) = r.host(iova, len) {
                    return Some(p);
                }
            }
        }
        self.map_slow(iommu, iova, len, write, what)
    }

    #[cold]
    fn map_slow(
        &mut self,
        iommu: &Iommu,
        iova: u64,
        len: usize,
        write: bool,
        what: &'static str,
    ) -> Option<*mut u8> {
        match iommu.lookup(iova, len) {
            Some(r) => {
                let p = r.host(iova, len);
                self.last = Some(r);
                p
            }
            None => {
                iommu.fault(iova, len, write, what);
                None
            }
        }
    }

    /// Drops the cached region (so its memory can be freed).
    pub(crate) fn clear(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_is_zeroed_aligned_and_translated() {
        let iommu = Iommu::new(1 << 30, 16);
        let m = iommu.alloc(100).unwrap();
        assert_eq!(m.len(), 4096);
        assert_eq!(m.as_ptr() as usize % 4096, 0);
        assert!(m.iova() >= IOVA_BASE);
        assert_ne!(m.iova(), m.as_ptr() as u64);
        assert_eq!(m.load_u64(8, Ordering::Relaxed), 0);
        let mut t = Translator::default();
        let p = t.map(&iommu, m.iova() + 16, 8, true, "test").unwrap();
        assert_eq!(p as usize, m.as_ptr() as usize + 16);
        // Past the end: the guard page faults.
        assert!(t.map(&iommu, m.iova() + 4090, 8, true, "test").is_none());
        assert_eq!(iommu.fault_count(), 1);
    }

    #[test]
    fn dropped_memory_faults() {
        let iommu = Iommu::new(1 << 30, 16);
        let m = iommu.alloc(4096).unwrap();
        let iova = m.iova();
        let mut t = Translator::default();
        assert!(t.map(&iommu, iova, 4, false, "x").is_some());
        drop(m);
        assert!(t.map(&iommu, iova, 4, false, "x").is_none());
        let f = iommu.faults();
        assert_eq!(
            f,
            vec![DmaFault {
                iova,
                len: 4,
                write: false,
                what: "x"
            }]
        );
    }

    #[test]
    fn limit_is_enforced() {
        let iommu = Iommu::new(8192, 16);
        let _a = iommu.alloc(8192).unwrap();
        assert!(matches!(iommu.alloc(1), Err(DmaError::Exhausted { .. })));
    }
}
