//! The raw VFIO ioctls: request numbers and one thin function per call.
//!
//! The `repr(C)` argument structures come from the `vfio-bindings` crate
//! (generated from the kernel's `linux/vfio.h`); the request numbers are macros in
//! C, so they are computed here. Every `unsafe` ioctl of the driver is in this file.
//! The functions return the kernel's errno as an [`io::Error`]; the safe types in
//! `container.rs`, `group.rs` and `device.rs` turn it into a [`super::VfioError`].

use std::ffi::CStr;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub(crate) use vfio_bindings::bindings::vfio as sys;

/// `_IO(VFIO_TYPE, VFIO_BASE + nr)`: VFIO's requests carry no size or direction
/// bits; the argument's size travels in its `argsz` field instead.
const fn vfio_io(nr: u32) -> libc::Ioctl {
    ((sys::VFIO_TYPE as u32) << 8 | (sys::VFIO_BASE + nr)) as libc::Ioctl
}

pub(crate) const VFIO_GET_API_VERSION: libc::Ioctl = vfio_io(0);
pub(crate) const VFIO_CHECK_EXTENSION: libc::Ioctl = vfio_io(1);
pub(crate) const VFIO_SET_IOMMU: libc::Ioctl = vfio_io(2);
pub(crate) const VFIO_GROUP_GET_STATUS: libc::Ioctl = vfio_io(3);
pub(crate) const VFIO_GROUP_SET_CONTAINER: libc::Ioctl = vfio_io(4);
pub(crate) const VFIO_GROUP_GET_DEVICE_FD: libc::Ioctl = vfio_io(6);
pub(crate) const VFIO_DEVICE_GET_INFO: libc::Ioctl = vfio_io(7);
pub(crate) const VFIO_DEVICE_GET_REGION_INFO: libc::Ioctl = vfio_io(8);
pub(crate) const VFIO_DEVICE_RESET: libc::Ioctl = vfio_io(11);
pub(crate) const VFIO_IOMMU_MAP_DMA: libc::Ioctl = vfio_io(13);
pub(crate) const VFIO_IOMMU_UNMAP_DMA: libc::Ioctl = vfio_io(14);

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn argsz<T>() -> u32 {
    size_of::<T>() as u32
}

/// VFIO_GET_API_VERSION on a container.
pub(crate) fn get_api_version(container: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: this request takes no argument and touches no memory of ours.
    check(unsafe { libc::ioctl(container.as_raw_fd(), VFIO_GET_API_VERSION) })
}

/// VFIO_CHECK_EXTENSION on a container: whether IOMMU type `ext` is supported.
pub(crate) fn check_extension(container: BorrowedFd<'_>, ext: u32) -> io::Result<bool> {
    // SAFETY: the argument is an integer passed by value; no memory is touched.
    check(unsafe {
        libc::ioctl(
            container.as_raw_fd(),
            VFIO_CHECK_EXTENSION,
            ext as libc::c_ulong,
        )
    })
    .map(|r| r > 0)
}

/// VFIO_SET_IOMMU on a container (after a group was attached).
pub(crate) fn set_iommu(container: BorrowedFd<'_>, iommu_type: u32) -> io::Result<()> {
    // SAFETY: the argument is an integer passed by value; no memory is touched.
    check(unsafe {
        libc::ioctl(
            container.as_raw_fd(),
            VFIO_SET_IOMMU,
            iommu_type as libc::c_ulong,
        )
    })
    .map(drop)
}

/// VFIO_GROUP_GET_STATUS: the group's flags (VIABLE, CONTAINER_SET).
pub(crate) fn group_get_status(group: BorrowedFd<'_>) -> io::Result<u32> {
    let mut status = sys::vfio_group_status {
        argsz: argsz::<sys::vfio_group_status>(),
        flags: 0,
    };
    // SAFETY: `status` is a live, correctly sized vfio_group_status that the
    // kernel fills in; argsz tells it the size.
    check(unsafe { libc::ioctl(group.as_raw_fd(), VFIO_GROUP_GET_STATUS, &mut status) })?;
    Ok(status.flags)
}

/// VFIO_GROUP_SET_CONTAINER: attaches a group to a container.
pub(crate) fn group_set_container(
    group: BorrowedFd<'_>,
    container: BorrowedFd<'_>,
) -> io::Result<()> {
    let fd: libc::c_int = container.as_raw_fd();
    // SAFETY: the kernel reads one int (the container fd) from the pointer,
    // which points to a live local.
    check(unsafe { libc::ioctl(group.as_raw_fd(), VFIO_GROUP_SET_CONTAINER, &fd) }).map(drop)
}

/// VFIO_GROUP_GET_DEVICE_FD: a file descriptor for device `name` (its PCI address).
pub(crate) fn group_get_device_fd(group: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: the kernel reads a NUL-terminated string from the pointer, which
    // `name` guarantees.
    let fd =
        check(unsafe { libc::ioctl(group.as_raw_fd(), VFIO_GROUP_GET_DEVICE_FD, name.as_ptr()) })?;
    // SAFETY: on success the ioctl returned a new file descriptor that nothing
    // else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// VFIO_DEVICE_GET_INFO.
pub(crate) fn device_get_info(device: BorrowedFd<'_>) -> io::Result<sys::vfio_device_info> {
    let mut info = sys::vfio_device_info {
        argsz: argsz::<sys::vfio_device_info>(),
        ..Default::default()
    };
    // SAFETY: `info` is a live vfio_device_info of the size argsz announces.
    check(unsafe { libc::ioctl(device.as_raw_fd(), VFIO_DEVICE_GET_INFO, &mut info) })?;
    Ok(info)
}

/// VFIO_DEVICE_GET_REGION_INFO for region `index` (BAR0 = 0, config space = 7).
pub(crate) fn device_get_region_info(
    device: BorrowedFd<'_>,
    index: u32,
) -> io::Result<sys::vfio_region_info> {
    let mut info = sys::vfio_region_info {
        argsz: argsz::<sys::vfio_region_info>(),
        index,
        ..Default::default()
    };
    // SAFETY: `info` is a live vfio_region_info of the size argsz announces; the
    // kernel writes no capability chain beyond argsz.
    check(unsafe { libc::ioctl(device.as_raw_fd(), VFIO_DEVICE_GET_REGION_INFO, &mut info) })?;
    Ok(info)
}

/// VFIO_DEVICE_RESET (function-level or other reset the kernel knows for the device).
pub(crate) fn device_reset(device: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: this request takes no argument.
    check(unsafe { libc::ioctl(device.as_raw_fd(), VFIO_DEVICE_RESET) }).map(drop)
}

/// VFIO_IOMMU_MAP_DMA: maps `size` bytes at `vaddr` to `iova`, readable and
/// writable by the device.
///
/// # Safety
/// `vaddr..vaddr+size` must be memory of this process that stays mapped until
/// [`iommu_unmap_dma`] removes the mapping (the kernel pins the pages, but the
/// device would keep writing to them after the process unmapped them).
pub(crate) unsafe fn iommu_map_dma(
    container: BorrowedFd<'_>,
    vaddr: u64,
    iova: u64,
    size: u64,
) -> io::Result<()> {
    let map = sys::vfio_iommu_type1_dma_map {
        argsz: argsz::<sys::vfio_iommu_type1_dma_map>(),
        flags: sys::VFIO_DMA_MAP_FLAG_READ | sys::VFIO_DMA_MAP_FLAG_WRITE,
        vaddr,
        iova,
        size,
    };
    // SAFETY: `map` is a live, correctly sized argument; the memory it names is
    // the caller's promise.
    check(unsafe { libc::ioctl(container.as_raw_fd(), VFIO_IOMMU_MAP_DMA, &map) }).map(drop)
}

/// VFIO_IOMMU_UNMAP_DMA: removes the mapping of `size` bytes at `iova`.
pub(crate) fn iommu_unmap_dma(container: BorrowedFd<'_>, iova: u64, size: u64) -> io::Result<()> {
    let mut unmap = sys::vfio_iommu_type1_dma_unmap {
        argsz: argsz::<sys::vfio_iommu_type1_dma_unmap>(),
        flags: 0,
        iova,
        size,
        data: Default::default(),
    };
    // SAFETY: `unmap` is a live, correctly sized argument (no dirty bitmap is
    // asked for, so the kernel reads nothing beyond it); it writes back `size`.
    check(unsafe { libc::ioctl(container.as_raw_fd(), VFIO_IOMMU_UNMAP_DMA, &mut unmap) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_linux_vfio_h() {
        // _IO(';', 100 + n) from include/uapi/linux/vfio.h.
        assert_eq!(VFIO_GET_API_VERSION, 0x3b64);
        assert_eq!(VFIO_CHECK_EXTENSION, 0x3b65);
        assert_eq!(VFIO_SET_IOMMU, 0x3b66);
        assert_eq!(VFIO_GROUP_GET_STATUS, 0x3b67);
        assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3b68);
        assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
        assert_eq!(VFIO_DEVICE_GET_INFO, 0x3b6b);
        assert_eq!(VFIO_DEVICE_GET_REGION_INFO, 0x3b6c);
        assert_eq!(VFIO_DEVICE_RESET, 0x3b6f);
        assert_eq!(VFIO_IOMMU_MAP_DMA, 0x3b71);
        assert_eq!(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
    }
}
