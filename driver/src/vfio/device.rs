//! [`VfioDevice`]: one PCI function opened through its group: BAR0 mapped into
//! the process, configuration space reached with `pread`/`pwrite`.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;
use std::sync::Arc;

use super::error::VfioError;
use super::group::VfioGroup;
use super::ioctl::{self, sys};
use crate::pci::PciAddress;

/// The smallest BAR0 of a supported NIC: the 8254x and 82576 register files are
/// 128 KiB.
pub const MIN_BAR0_SIZE: u64 = 128 << 10;

/// A PCI function opened through VFIO, with BAR0 mapped.
pub struct VfioDevice {
    file: File,
    addr: PciAddress,
    bar0: NonNull<u8>,
    bar0_len: usize,
    config_offset: u64,
    config_size: u64,
    group: Arc<VfioGroup>,
}

// SAFETY: `bar0` points to a MAP_SHARED mapping of device registers owned by this
// value (unmapped only in Drop); it is only accessed with volatile loads and
// stores of whole registers, which any thread may do. The file is Send + Sync.
unsafe impl Send for VfioDevice {}
// SAFETY: as above.
unsafe impl Sync for VfioDevice {}

impl std::fmt::Debug for VfioDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioDevice")
            .field("addr", &self.addr)
            .field("group", &self.group.number())
            .field("bar0_len", &self.bar0_len)
            .finish()
    }
}

impl VfioDevice {
    /// Gets the device's file descriptor from its group, checks that it is a
    /// PCI device, and maps BAR0 (at least [`MIN_BAR0_SIZE`] bytes, mmap-able).
    pub fn open(group: Arc<VfioGroup>, addr: PciAddress) -> Result<Self, VfioError> {
        let name = CString::new(addr.to_string()).expect("a PCI address has no NUL");
        let fd = ioctl::group_get_device_fd(group.fd(), &name).map_err(|e| {
            if e.raw_os_error() == Some(libc::EBUSY) {
                VfioError::Os {
                    op: "VFIO_GROUP_GET_DEVICE_FD (the device is open elsewhere)",
                    errno: libc::EBUSY,
                }
            } else {
                VfioError::os("VFIO_GROUP_GET_DEVICE_FD", &e)
            }
        })?;
        let info = ioctl::device_get_info(fd.as_fd())
            .map_err(|e| VfioError::os("VFIO_DEVICE_GET_INFO", &e))?;
        if info.flags & sys::VFIO_DEVICE_FLAGS_PCI == 0
            || info.num_regions <= sys::VFIO_PCI_CONFIG_REGION_INDEX
        {
            return Err(VfioError::Os {
                op: "VFIO_DEVICE_GET_INFO (not a vfio-pci device)",
                errno: libc::ENODEV,
            });
        }
        let bar = ioctl::device_get_region_info(fd.as_fd(), sys::VFIO_PCI_BAR0_REGION_INDEX)
            .map_err(|e| VfioError::os("VFIO_DEVICE_GET_REGION_INFO(BAR0)", &e))?;
        let cfg = ioctl::device_get_region_info(fd.as_fd(), sys::VFIO_PCI_CONFIG_REGION_INDEX)
            .map_err(|e| VfioError::os("VFIO_DEVICE_GET_REGION_INFO(config)", &e))?;
        check_bar0(addr, &bar)?;
        let file = File::from(fd);
        let len = bar.size as usize;
        // SAFETY: a fresh shared mapping of the device's BAR0 region at the offset
        // VFIO gave; it aliases no Rust object. Failure is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                bar.offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(VfioError::BarNotMappable {
                addr,
                flags: bar.flags,
                errno: std::io::Error::last_os_error().raw_os_error(),
            });
        }
        let bar0 = NonNull::new(ptr.cast::<u8>()).expect("mmap never returns NULL on success");
        Ok(VfioDevice {
            file,
            addr,
            bar0,
            bar0_len: len,
            config_offset: cfg.offset,
            config_size: cfg.size,
            group,
        })
    }

    /// The device's PCI address.
    pub fn addr(&self) -> PciAddress {
        self.addr
    }

    /// The group the device belongs to.
    pub fn group(&self) -> &Arc<VfioGroup> {
        &self.group
    }

    /// BAR0 as a pointer and a length, for volatile access.
    pub(crate) fn bar0(&self) -> (NonNull<u8>, usize) {
        (self.bar0, self.bar0_len)
    }

    /// Reads `buf.len()` bytes of configuration space at `offset`.
    pub fn read_config(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.check_config(offset, buf.len())?;
        self.file.read_exact_at(buf, self.config_offset + offset)
    }

    /// Writes `buf` to configuration space at `offset`. (VFIO virtualises parts
    /// of it, such as the BARs; the COMMAND register reaches the device.)
    pub fn write_config(&self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        self.check_config(offset, buf.len())?;
        self.file.write_all_at(buf, self.config_offset + offset)
    }

    fn check_config(&self, offset: u64, len: usize) -> std::io::Result<()> {
        if offset.saturating_add(len as u64) > self.config_size {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(())
    }

    /// Resets the function (VFIO_DEVICE_RESET: FLR or another reset the kernel
    /// knows for it).
    pub fn reset(&self) -> Result<(), VfioError> {
        ioctl::device_reset(self.file.as_fd()).map_err(|e| VfioError::os("VFIO_DEVICE_RESET", &e))
    }
}

/// BAR0 must be readable, writable, mmap-able and hold the register file.
fn check_bar0(addr: PciAddress, bar: &sys::vfio_region_info) -> Result<(), VfioError> {
    let need = sys::VFIO_REGION_INFO_FLAG_READ
        | sys::VFIO_REGION_INFO_FLAG_WRITE
        | sys::VFIO_REGION_INFO_FLAG_MMAP;
    if bar.size < MIN_BAR0_SIZE {
        return Err(VfioError::BarTooSmall {
            addr,
            size: bar.size,
            needed: MIN_BAR0_SIZE,
        });
    }
    if bar.flags & need != need || usize::try_from(bar.size).is_err() {
        return Err(VfioError::BarNotMappable {
            addr,
            flags: bar.flags,
            errno: None,
        });
    }
    Ok(())
}

impl Drop for VfioDevice {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `open`; no reference into it
        // exists (it is only reached through volatile accesses of this value).
        unsafe { libc::munmap(self.bar0.as_ptr().cast(), self.bar0_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(flags: u32, size: u64) -> sys::vfio_region_info {
        sys::vfio_region_info {
            flags,
            size,
            ..Default::default()
        }
    }

    #[test]
    fn bar0_must_be_large_and_mappable() {
        let a: PciAddress = "03:00.0".parse().unwrap();
        let rwm = sys::VFIO_REGION_INFO_FLAG_READ
            | sys::VFIO_REGION_INFO_FLAG_WRITE
            | sys::VFIO_REGION_INFO_FLAG_MMAP;
        assert!(check_bar0(a, &region(rwm, 128 << 10)).is_ok());
        assert_eq!(
            check_bar0(a, &region(rwm, 64 << 10)),
            Err(VfioError::BarTooSmall {
                addr: a,
                size: 64 << 10,
                needed: 128 << 10
            })
        );
        let no_mmap = rwm & !sys::VFIO_REGION_INFO_FLAG_MMAP;
        assert_eq!(
            check_bar0(a, &region(no_mmap, 128 << 10)),
            Err(VfioError::BarNotMappable {
                addr: a,
                flags: no_mmap,
                errno: None
            })
        );
    }
}
