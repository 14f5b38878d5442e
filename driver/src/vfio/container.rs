//! [`VfioContainer`]: one IOMMU address space (`/dev/vfio/vfio`), shared by every
//! device the process opens.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::error::VfioError;
use super::group::VfioGroup;
use super::ioctl::{self, sys};

/// Where IOVAs handed out by [`VfioContainer::alloc_iova`] start: 4 GiB, above
/// the x86 MSI window (0xfee0_0000) and other low reserved ranges, and far
/// below the 39-bit limit of the smallest VT-d address width.
const IOVA_BASE: u64 = 1 << 32;

/// How the container's devices reach memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IommuMode {
    /// The type-1 IOMMU: devices use IOVAs that the container maps.
    Type1,
    /// No IOMMU: devices use physical addresses and can reach all of memory.
    NoIommu,
}

/// An open `/dev/vfio/vfio`: one IOMMU address space. Hold it in an [`Arc`];
/// groups and backends keep it alive, and DMA mappings of all its devices
/// live in it.
pub struct VfioContainer {
    fd: OwnedFd,
    mode: IommuMode,
    /// Whether VFIO_SET_IOMMU was done (it needs a group attached first).
    iommu_set: Mutex<bool>,
    /// Groups opened through this container: a group file can be opened only once.
    groups: Mutex<HashMap<u32, Weak<VfioGroup>>>,
    next_iova: AtomicU64,
}

impl std::fmt::Debug for VfioContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioContainer")
            .field("mode", &self.mode)
            .finish()
    }
}

/// Opens a `/dev/vfio/...` file read-write, naming the usual failures.
pub(crate) fn open_vfio_file(path: &Path) -> Result<File, io::Error> {
    OpenOptions::new().read(true).write(true).open(path)
}

impl VfioContainer {
    /// Opens `/dev/vfio/vfio`, checks the API version and that the kernel
    /// offers the type-1 IOMMU.
    pub fn open() -> Result<Arc<Self>, VfioError> {
        Self::open_mode(IommuMode::Type1)
    }

    /// Opens a container in VFIO's **unsafe no-IOMMU mode**.
    ///
    /// What this gives up: without an IOMMU nothing stops the NIC from reading
    /// or writing *any* physical memory, so a driver bug or a malicious device
    /// can corrupt the kernel; the kernel taints itself when it is used. DMA
    /// addresses are physical addresses (looked up in `/proc/self/pagemap`, which
    /// needs CAP_SYS_ADMIN), every DMA block must be physically contiguous (one
    /// 2 MiB hugepage at most, in practice), and nothing is unmapped from the
    /// device when memory is freed. Needs the `vfio` module parameter
    /// `enable_unsafe_noiommu_mode=1` and CAP_SYS_RAWIO. Use it only on
    /// machines without an IOMMU, such as some virtual machines.
    pub fn open_unsafe_noiommu() -> Result<Arc<Self>, VfioError> {
        Self::open_mode(IommuMode::NoIommu)
    }

    fn open_mode(mode: IommuMode) -> Result<Arc<Self>, VfioError> {
        let path = Path::new("/dev/vfio/vfio");
        let file = open_vfio_file(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => VfioError::VfioMissing,
            io::ErrorKind::PermissionDenied => VfioError::PermissionDenied { path: path.into() },
            _ => VfioError::os("open /dev/vfio/vfio", &e),
        })?;
        let fd = OwnedFd::from(file);
        let version = ioctl::get_api_version(fd.as_fd())
            .map_err(|e| VfioError::os("VFIO_GET_API_VERSION", &e))?;
        if version != sys::VFIO_API_VERSION as i32 {
            return Err(VfioError::ApiVersion { found: version });
        }
        let ext = match mode {
            IommuMode::Type1 => sys::VFIO_TYPE1_IOMMU,
            IommuMode::NoIommu => sys::VFIO_NOIOMMU_IOMMU,
        };
        let supported = ioctl::check_extension(fd.as_fd(), ext)
            .map_err(|e| VfioError::os("VFIO_CHECK_EXTENSION", &e))?;
        if !supported {
            return Err(match mode {
                IommuMode::Type1 => VfioError::IommuOff { addr: None },
                IommuMode::NoIommu => VfioError::NoIommuModeOff,
            });
        }
        Ok(Arc::new(VfioContainer {
            fd,
            mode,
            iommu_set: Mutex::new(false),
            groups: Mutex::new(HashMap::new()),
            next_iova: AtomicU64::new(IOVA_BASE),
        }))
    }

    /// The container's IOMMU mode.
    pub fn mode(&self) -> IommuMode {
        self.mode
    }

    /// IOMMU group `number`, opened and attached to this container, or the one
    /// already opened through it.
    pub fn group(self: &Arc<Self>, number: u32) -> Result<Arc<VfioGroup>, VfioError> {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = groups.get(&number).and_then(Weak::upgrade) {
            return Ok(g);
        }
        let g = Arc::new(VfioGroup::open(self.clone(), number)?);
        groups.insert(number, Arc::downgrade(&g));
        Ok(g)
    }

    /// Sets the IOMMU type once, after the first group was attached (the
    /// kernel refuses it before).
    pub(crate) fn ensure_iommu(&self) -> Result<(), VfioError> {
        let mut set = self.iommu_set.lock().unwrap_or_else(|p| p.into_inner());
        if !*set {
            let t = match self.mode {
                IommuMode::Type1 => sys::VFIO_TYPE1_IOMMU,
                IommuMode::NoIommu => sys::VFIO_NOIOMMU_IOMMU,
            };
            ioctl::set_iommu(self.fd.as_fd(), t)
                .map_err(|e| VfioError::os("VFIO_SET_IOMMU", &e))?;
            *set = true;
        }
        Ok(())
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reserves `len` bytes of IO virtual address space. IOVAs are never
    /// reused: the 39-bit space of the smallest IOMMU holds 250 000 hugepages.
    pub(crate) fn alloc_iova(&self, len: u64) -> u64 {
        self.next_iova.fetch_add(len, Ordering::Relaxed)
    }
}
