//! DMA memory for VFIO devices: 2 MiB hugepages mapped into the container's
//! IOMMU address space (or, in no-IOMMU mode, addressed physically).
//!
//! Hugepages are physically contiguous per 2 MiB, never swapped or migrated, and
//! zeroed by the kernel, so a block needs no `mlock` and no clearing. The mapping
//! is `MAP_SHARED` so a `fork` does not copy-on-write pages the device writes.

use std::any::Any;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;
use std::sync::Arc;

use super::container::{IommuMode, VfioContainer};
use super::group::VfioGroup;
use super::ioctl;
use crate::dma::DmaMemory;
use crate::error::DmaError;

/// The hugepage size DMA memory comes in.
pub const HUGEPAGE_SIZE: usize = 2 << 20;

/// `size` rounded up to whole hugepages (at least one), or `None` on overflow.
pub fn round_to_hugepages(size: usize) -> Option<usize> {
    let pages = size.div_ceil(HUGEPAGE_SIZE).max(1);
    pages.checked_mul(HUGEPAGE_SIZE)
}

/// Free 2 MiB hugepages, from sysfs.
fn free_hugepages() -> usize {
    std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The soft RLIMIT_MEMLOCK in bytes.
fn memlock_limit() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } != 0 {
        return 0;
    }
    r.rlim_cur
}

/// Owns one hugepage mapping: unmaps it from the IOMMU, then from the process,
/// when the [`DmaMemory`] holding it is dropped.
struct HugeMapping {
    /// CPU address (kept as an integer so the owner is Send + Sync without unsafe).
    addr: usize,
    len: usize,
    iova: u64,
    /// Whether VFIO_IOMMU_MAP_DMA was done and must be undone.
    iommu_mapped: bool,
    container: Arc<VfioContainer>,
    /// Keeps the device's group attached to the container until the unmap: when
    /// its last group leaves, a container loses its IOMMU and VFIO_IOMMU_UNMAP_DMA
    /// fails with EINVAL (the kernel tears the mappings down itself then, but this
    /// process would have to leak the pages rather than free pages it cannot prove
    /// unmapped). Dropped after `drop` has run.
    _group: Option<Arc<VfioGroup>>,
}

impl Drop for HugeMapping {
    fn drop(&mut self) {
        if self.iommu_mapped {
            // The device must lose access before the pages go back to the kernel.
            if let Err(e) = ioctl::iommu_unmap_dma(self.container.fd(), self.iova, self.len as u64)
            {
                // Freeing pages the device may still reach is unsafe: leak them.
                log::error!(
                    "VFIO_IOMMU_UNMAP_DMA of iova {:#x}+{:#x} failed ({e}); leaking the memory",
                    self.iova,
                    self.len
                );
                return;
            }
        }
        // SAFETY: the mapping made in `alloc`, no longer reachable by the device
        // (unmapped above, or a no-IOMMU container) nor by the CPU (the DmaMemory
        // that pointed into it is being dropped).
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}

/// Maps `len` bytes (whole hugepages) of anonymous, shared, populated hugepage
/// memory; names the shortage when there are not enough free hugepages.
fn mmap_hugepages(len: usize) -> Result<*mut libc::c_void, DmaError> {
    debug_assert!(len.is_multiple_of(HUGEPAGE_SIZE));
    // SAFETY: a fresh anonymous mapping that aliases nothing; failure is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB | libc::MAP_POPULATE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return Err(if errno == libc::ENOMEM {
            DmaError::NoHugepages {
                needed: len / HUGEPAGE_SIZE,
                free: free_hugepages(),
            }
        } else {
            DmaError::Os {
                op: "mmap(MAP_HUGETLB)",
                errno,
            }
        });
    }
    Ok(ptr)
}

/// Allocates `size` bytes (rounded up to whole hugepages) of zeroed DMA memory
/// that the container's devices can reach.
pub(crate) fn alloc(
    container: &Arc<VfioContainer>,
    group: Option<Arc<VfioGroup>>,
    size: usize,
) -> Result<DmaMemory, DmaError> {
    let len = round_to_hugepages(size).ok_or(DmaError::Exhausted {
        requested: size,
        available: 0,
    })?;
    let ptr = mmap_hugepages(len)?;
    let addr = ptr as usize;
    let mut owner = HugeMapping {
        addr,
        len,
        iova: 0,
        iommu_mapped: false,
        container: container.clone(),
        _group: group,
    };
    match container.mode() {
        IommuMode::Type1 => {
            let iova = container.alloc_iova(len as u64);
            // SAFETY: the memory stays mapped until `owner` is dropped, which
            // unmaps it from the IOMMU first.
            let r = unsafe { ioctl::iommu_map_dma(container.fd(), addr as u64, iova, len as u64) };
            if let Err(e) = r {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                return Err(if errno == libc::ENOMEM {
                    // type1 accounts pinned pages against RLIMIT_MEMLOCK.
                    DmaError::MemlockLimit {
                        limit: memlock_limit(),
                        needed: len as u64,
                    }
                } else {
                    DmaError::Os {
                        op: "VFIO_IOMMU_MAP_DMA",
                        errno,
                    }
                });
            }
            owner.iova = iova;
            owner.iommu_mapped = true;
        }
        IommuMode::NoIommu => {
            owner.iova = physical_address_of_block(addr, len)?;
        }
    }
    let iova = owner.iova;
    let nn = NonNull::new(ptr.cast::<u8>()).expect("mmap never returns NULL on success");
    let owner: Box<dyn Any + Send + Sync> = Box::new(owner);
    // SAFETY: `len` bytes at `nn`, 2 MiB aligned, readable and writable, stay
    // mapped until `owner` (moved into the DmaMemory) is dropped; the device
    // reaches byte 0 at `iova` (IOMMU mapping or physical address).
    Ok(unsafe { DmaMemory::from_raw_parts(nn, len, iova, owner) })
}

/// Why a `/proc/self/pagemap` entry gives no physical address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagemapError {
    /// The page is not in memory.
    NotPresent,
    /// The frame number reads as zero: the process lacks CAP_SYS_ADMIN.
    PfnHidden,
    /// The frame number times the page size does not fit in 64 bits.
    OutOfRange,
}

/// Bit 63 of a pagemap entry: the page is present.
const PAGEMAP_PRESENT: u64 = 1 << 63;
/// Bits 0..55: the page frame number.
const PAGEMAP_PFN_MASK: u64 = (1 << 55) - 1;

/// The physical address of virtual address `vaddr` from its 64-bit pagemap
/// entry (the one at offset `vaddr / page_size * 8` of `/proc/self/pagemap`).
pub fn pagemap_phys(entry: u64, vaddr: usize, page_size: usize) -> Result<u64, PagemapError> {
    if entry & PAGEMAP_PRESENT == 0 {
        return Err(PagemapError::NotPresent);
    }
    let pfn = entry & PAGEMAP_PFN_MASK;
    if pfn == 0 {
        return Err(PagemapError::PfnHidden);
    }
    pfn.checked_mul(page_size as u64)
        .and_then(|base| base.checked_add((vaddr % page_size) as u64))
        .ok_or(PagemapError::OutOfRange)
}

/// The physical address of the CPU address `vaddr` of this process.
fn virt_to_phys(pagemap: &File, vaddr: usize) -> Result<u64, DmaError> {
    let page = 4096usize;
    let mut buf = [0u8; 8];
    pagemap
        .read_exact_at(&mut buf, (vaddr / page * 8) as u64)
        .map_err(|e| DmaError::Os {
            op: "read /proc/self/pagemap",
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        })?;
    pagemap_phys(u64::from_ne_bytes(buf), vaddr, page).map_err(|e| DmaError::Os {
        op: match e {
            PagemapError::NotPresent => "pagemap: DMA page not present",
            PagemapError::PfnHidden => "pagemap: frame numbers hidden (need CAP_SYS_ADMIN)",
            PagemapError::OutOfRange => "pagemap: frame number out of range",
        },
        errno: libc::EPERM,
    })
}

/// The physical address of a block of hugepages, which must be contiguous for
/// the device to use it without an IOMMU.
fn physical_address_of_block(addr: usize, len: usize) -> Result<u64, DmaError> {
    let pagemap = File::open("/proc/self/pagemap").map_err(|e| DmaError::Os {
        op: "open /proc/self/pagemap",
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    let base = virt_to_phys(&pagemap, addr)?;
    for off in (HUGEPAGE_SIZE..len).step_by(HUGEPAGE_SIZE) {
        if virt_to_phys(&pagemap, addr + off)? != base + off as u64 {
            return Err(DmaError::Os {
                op: "no-IOMMU DMA: hugepages not physically contiguous (allocate at most 2 MiB)",
                errno: libc::ENOMEM,
            });
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_whole_hugepages() {
        const M2: usize = 2 << 20;
        assert_eq!(round_to_hugepages(0), Some(M2));
        assert_eq!(round_to_hugepages(1), Some(M2));
        assert_eq!(round_to_hugepages(4096), Some(M2));
        assert_eq!(round_to_hugepages(M2), Some(M2));
        assert_eq!(round_to_hugepages(M2 + 1), Some(2 * M2));
        assert_eq!(round_to_hugepages(5 * M2 - 7), Some(5 * M2));
        assert_eq!(round_to_hugepages(usize::MAX), None);
    }

    #[test]
    fn hugepage_shortage_is_named_or_memory_is_zeroed() {
        let free = free_hugepages();
        match mmap_hugepages(HUGEPAGE_SIZE) {
            Ok(p) => {
                // SAFETY: a fresh 2 MiB mapping we own; read, then unmapped.
                let zeroed = unsafe {
                    std::slice::from_raw_parts(p.cast::<u8>(), HUGEPAGE_SIZE)
                        .iter()
                        .all(|&b| b == 0)
                };
                // SAFETY: unmaps the mapping made above, no longer referenced.
                unsafe { libc::munmap(p, HUGEPAGE_SIZE) };
                assert!(zeroed, "hugepages come zeroed from the kernel");
            }
            Err(DmaError::NoHugepages { needed, free: f }) => {
                assert_eq!(needed, 1);
                assert!(f <= free, "{f} free now, {free} before");
                eprintln!("note: no free 2 MiB hugepage here ({f} free); shortage reported");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        // Far more than any machine has reserved.
        let huge = 1 << 40;
        assert!(matches!(
            mmap_hugepages(huge),
            Err(DmaError::NoHugepages { needed, .. }) if needed == huge / HUGEPAGE_SIZE
        ));
    }

    #[test]
    fn pagemap_entries_translate_to_physical_addresses() {
        // Present, PFN 0x12345, soft-dirty and exclusive bits set (55, 56).
        let entry = PAGEMAP_PRESENT | (1 << 56) | (1 << 55) | 0x12345;
        assert_eq!(
            pagemap_phys(entry, 0x7f00_0000_0abc, 4096),
            Ok(0x12345 * 4096 + 0xabc)
        );
        assert_eq!(
            pagemap_phys(0x12345, 0x1000, 4096),
            Err(PagemapError::NotPresent)
        );
        assert_eq!(
            pagemap_phys(PAGEMAP_PRESENT, 0x1000, 4096),
            Err(PagemapError::PfnHidden)
        );
        // The PFN field is 55 bits wide; bits above it are flags, not address.
        let high = PAGEMAP_PRESENT | (1 << 61) | (1 << 40);
        assert_eq!(pagemap_phys(high, 0x10, 4096), Ok((1 << 52) + 0x10));
        // A PFN whose address does not fit in 64 bits is refused, not wrapped.
        let max = PAGEMAP_PRESENT | PAGEMAP_PFN_MASK;
        assert_eq!(pagemap_phys(max, 0, 4096), Err(PagemapError::OutOfRange));
    }

    #[test]
    fn own_pagemap_reads_without_privilege_errors_only() {
        // Without CAP_SYS_ADMIN frame numbers read as zero; with it, a real
        // address. Either way the parse must not panic and must be consistent.
        let v = vec![1u8; 4096];
        let Ok(pagemap) = File::open("/proc/self/pagemap") else {
            eprintln!("note: no /proc/self/pagemap here; skipping");
            return;
        };
        match virt_to_phys(&pagemap, v.as_ptr() as usize) {
            Ok(phys) => assert_eq!(phys % 4096, v.as_ptr() as u64 % 4096),
            Err(DmaError::Os { op, .. }) => assert!(op.starts_with("pagemap"), "{op}"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}
