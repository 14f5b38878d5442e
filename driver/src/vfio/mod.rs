//! Real hardware through Linux VFIO.
//!
//! The layers follow the kernel's objects: a [`VfioContainer`] (`/dev/vfio/vfio`,
//! one IOMMU address space, shared by every NIC of the process), a
//! [`VfioGroup`] (`/dev/vfio/N`, an IOMMU group attached to the container) and a
//! [`VfioDevice`] (one PCI function: BAR0 mapped, config space by `pread`/`pwrite`).
//! [`VfioBackend`] puts them behind the driver's [`crate::Backend`] seam, with
//! DMA memory from 2 MiB hugepages mapped into the container.
//!
//! Every ioctl is in `ioctl.rs`; the `mmap`s and volatile MMIO are in
//! `device.rs`, `dma.rs` and `backend.rs`, each unsafe block with its reason.
//! Hand a NIC to vfio-pci first with [`crate::pci::Sysfs::bind_vfio`].
//!
//! ```no_run
//! use igbpoll_driver::vfio::{VfioBackend, VfioContainer};
//! use igbpoll_driver::{Nic, NicConfig};
//!
//! let container = VfioContainer::open()?;
//! let backend = VfioBackend::open(&container, "0000:03:00.0".parse().unwrap())?;
//! let nic = Nic::open(backend, &NicConfig::default());
//! # Ok::<(), igbpoll_driver::vfio::VfioError>(())
//! ```

mod backend;
mod container;
mod device;
mod dma;
mod error;
mod group;
mod ioctl;

pub use backend::{check_sysfs, VfioBackend};
pub use container::{IommuMode, VfioContainer};
pub use device::{VfioDevice, MIN_BAR0_SIZE};
pub use dma::{pagemap_phys, round_to_hugepages, PagemapError, HUGEPAGE_SIZE};
pub use error::VfioError;
pub use group::VfioGroup;
