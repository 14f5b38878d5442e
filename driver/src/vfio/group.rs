//! [`VfioGroup`]: an IOMMU group (`/dev/vfio/N`) attached to a container.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use super::container::{open_vfio_file, IommuMode, VfioContainer};
use super::error::VfioError;
use super::ioctl::{self, sys};
use crate::pci::{GroupMember, Sysfs, VFIO_PCI};

/// An open IOMMU group, attached to a [`VfioContainer`]. Devices of the group
/// are opened from it; get one with [`VfioContainer::group`].
pub struct VfioGroup {
    fd: OwnedFd,
    number: u32,
    container: Arc<VfioContainer>,
}

impl std::fmt::Debug for VfioGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioGroup")
            .field("number", &self.number)
            .finish()
    }
}

/// The group's devices bound to a driver other than vfio-pci, read from sysfs,
/// to explain a group that is not viable.
fn blockers(number: u32) -> Vec<GroupMember> {
    Sysfs::default()
        .group_members(number)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.driver.as_deref().is_some_and(|d| d != VFIO_PCI))
        .collect()
}

impl VfioGroup {
    /// Opens `/dev/vfio/N` (`/dev/vfio/noiommu-N` in no-IOMMU mode), checks that
    /// the group is viable, attaches it to `container` and sets the container's
    /// IOMMU type if this is its first group.
    pub(crate) fn open(container: Arc<VfioContainer>, number: u32) -> Result<Self, VfioError> {
        let path = PathBuf::from(match container.mode() {
            IommuMode::Type1 => format!("/dev/vfio/{number}"),
            IommuMode::NoIommu => format!("/dev/vfio/noiommu-{number}"),
        });
        let file = open_vfio_file(&path).map_err(|e| match e.kind() {
            // The group file exists once a device of the group is bound to vfio-pci.
            io::ErrorKind::NotFound => VfioError::Os {
                op: "open /dev/vfio/N (is a device of the group bound to vfio-pci?)",
                errno: libc::ENOENT,
            },
            io::ErrorKind::PermissionDenied => VfioError::PermissionDenied { path: path.clone() },
            _ if e.raw_os_error() == Some(libc::EBUSY) => VfioError::GroupBusy { group: number },
            _ => VfioError::os("open /dev/vfio/N", &e),
        })?;
        let fd = OwnedFd::from(file);
        let flags = ioctl::group_get_status(fd.as_fd())
            .map_err(|e| VfioError::os("VFIO_GROUP_GET_STATUS", &e))?;
        if flags & sys::VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(VfioError::GroupNotViable {
                group: number,
                blocking: blockers(number),
            });
        }
        if flags & sys::VFIO_GROUP_FLAGS_CONTAINER_SET == 0 {
            ioctl::group_set_container(fd.as_fd(), container.fd())
                .map_err(|e| VfioError::os("VFIO_GROUP_SET_CONTAINER", &e))?;
        }
        container.ensure_iommu()?;
        Ok(VfioGroup {
            fd,
            number,
            container,
        })
    }

    /// The group number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The container the group is attached to.
    pub fn container(&self) -> &Arc<VfioContainer> {
        &self.container
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
