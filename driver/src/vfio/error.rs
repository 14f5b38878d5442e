//! [`VfioError`]: every way opening a device through VFIO can fail, each with
//! its cause and its fix.

use std::fmt;
use std::path::PathBuf;

use crate::error::DmaError;
use crate::pci::{GroupMember, PciAddress, PciError};

/// Why a device could not be opened through VFIO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VfioError {
    /// No PCI device at that address.
    NoSuchDevice {
        /// The address asked for.
        addr: PciAddress,
    },
    /// The device is bound to another driver (or none), not vfio-pci.
    NotBoundToVfio {
        /// The device.
        addr: PciAddress,
        /// The driver it is bound to.
        driver: Option<String>,
    },
    /// `/dev/vfio/vfio` does not exist: the vfio-pci module is not loaded.
    VfioMissing,
    /// The device has no IOMMU group, or the kernel offers no type-1 IOMMU:
    /// the IOMMU is off.
    IommuOff {
        /// The device, when one was being opened.
        addr: Option<PciAddress>,
    },
    /// No-IOMMU mode was asked for but the kernel does not allow it.
    NoIommuModeOff,
    /// The IOMMU group holds devices bound to kernel drivers.
    GroupNotViable {
        /// The group.
        group: u32,
        /// The devices in the way and their drivers.
        blocking: Vec<GroupMember>,
    },
    /// Another process (or another container of this one) has the group open.
    GroupBusy {
        /// The group.
        group: u32,
    },
    /// Opening a VFIO file was refused.
    PermissionDenied {
        /// The file.
        path: PathBuf,
    },
    /// The kernel speaks a VFIO API version this driver does not know.
    ApiVersion {
        /// The version the kernel reported.
        found: i32,
    },
    /// BAR0 is smaller than the NIC's register file.
    BarTooSmall {
        /// The device.
        addr: PciAddress,
        /// BAR0's size in bytes.
        size: u64,
        /// The size needed.
        needed: u64,
    },
    /// BAR0 cannot be mapped into the process.
    BarNotMappable {
        /// The device.
        addr: PciAddress,
        /// The region flags VFIO reported.
        flags: u32,
        /// The errno of a failed `mmap`, when the flags allowed one.
        errno: Option<i32>,
    },
    /// DMA memory could not be allocated or mapped.
    Dma(DmaError),
    /// A sysfs operation failed.
    Pci(PciError),
    /// Another system call failed.
    Os {
        /// What was being done (`VFIO_GROUP_SET_CONTAINER`, ...).
        op: &'static str,
        /// The errno it returned.
        errno: i32,
    },
}

impl VfioError {
    pub(crate) fn os(op: &'static str, e: &std::io::Error) -> Self {
        VfioError::Os {
            op,
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

impl From<DmaError> for VfioError {
    fn from(e: DmaError) -> Self {
        VfioError::Dma(e)
    }
}

impl From<PciError> for VfioError {
    fn from(e: PciError) -> Self {
        match e {
            PciError::NoSuchDevice { addr } => VfioError::NoSuchDevice { addr },
            PciError::NoIommuGroup { addr } => VfioError::IommuOff { addr: Some(addr) },
            PciError::GroupNotViable {
                group, blocking, ..
            } => VfioError::GroupNotViable { group, blocking },
            PciError::PermissionDenied { path } => VfioError::PermissionDenied { path },
            other => VfioError::Pci(other),
        }
    }
}

const IOMMU_FIX: &str = "enable VT-d / AMD-Vi in the firmware and add `intel_iommu=on iommu=pt` \
                         (Intel) or `amd_iommu=on` (AMD) to the kernel command line, then reboot";

impl fmt::Display for VfioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VfioError::NoSuchDevice { addr } => write!(
                f,
                "no PCI device {addr}; list the NICs with `igbpoll list` or `lspci -D -d 8086:`"
            ),
            VfioError::NotBoundToVfio { addr, driver } => write!(
                f,
                "{addr} is bound to {}, not vfio-pci; hand it over with `igbpoll bind {addr}` \
                 (as root)",
                driver.as_deref().unwrap_or("no driver")
            ),
            VfioError::VfioMissing => f.write_str(
                "/dev/vfio/vfio does not exist: VFIO is not loaded; run `modprobe vfio-pci` (as root)",
            ),
            VfioError::IommuOff { addr } => {
                if let Some(a) = addr {
                    write!(f, "{a} has no IOMMU group: ")?;
                }
                write!(f, "the IOMMU is off; {IOMMU_FIX}")
            }
            VfioError::NoIommuModeOff => f.write_str(
                "VFIO no-IOMMU mode is not enabled; if you accept that the NIC can then DMA \
                 anywhere in memory, run `echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode` \
                 before binding the NIC (as root)",
            ),
            VfioError::GroupNotViable { group, blocking } => {
                write!(f, "IOMMU group {group} is not viable: it also holds ")?;
                if blocking.is_empty() {
                    f.write_str("devices bound to kernel drivers (see /sys/kernel/iommu_groups)")?;
                }
                for (i, m) in blocking.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str(
                    "; bind every device of the group to vfio-pci (`igbpoll bind BDF`) or move \
                     the NIC to a slot with its own group",
                )
            }
            VfioError::GroupBusy { group } => write!(
                f,
                "IOMMU group {group} is in use by another process (/dev/vfio/{group} is busy); \
                 find it with `fuser -v /dev/vfio/{group}` and stop it"
            ),
            VfioError::PermissionDenied { path } => write!(
                f,
                "permission denied opening {}; run as root (or give your user the file)",
                path.display()
            ),
            VfioError::ApiVersion { found } => write!(
                f,
                "the kernel's VFIO API version is {found}, this driver speaks version {}; \
                 the kernel is too old or too new",
                super::ioctl::sys::VFIO_API_VERSION
            ),
            VfioError::BarTooSmall { addr, size, needed } => write!(
                f,
                "{addr}: BAR0 is {size} bytes, a supported NIC has at least {needed}; \
                 is this the right device (`lspci -vs {addr}`)?"
            ),
            VfioError::BarNotMappable { addr, flags, errno } => {
                write!(f, "{addr}: BAR0 cannot be mapped (region flags {flags:#x}")?;
                if let Some(e) = errno {
                    write!(f, ", mmap: {}", std::io::Error::from_raw_os_error(*e))?;
                }
                f.write_str(
                    "); the device's memory BAR is disabled or hidden by the platform; \
                     check `lspci -vs` and the kernel log",
                )
            }
            VfioError::Dma(e) => write!(f, "{e}"),
            VfioError::Pci(e) => write!(f, "{e}"),
            VfioError::Os { op, errno } => write!(
                f,
                "{op} failed: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for VfioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VfioError::Dma(e) => Some(e),
            VfioError::Pci(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> PciAddress {
        "0000:03:00.0".parse().unwrap()
    }

    #[test]
    fn every_message_names_its_fix() {
        let cases: Vec<(VfioError, &[&str])> = vec![
            (
                VfioError::NoSuchDevice { addr: addr() },
                &["0000:03:00.0", "lspci"],
            ),
            (
                VfioError::NotBoundToVfio {
                    addr: addr(),
                    driver: Some("igb".into()),
                },
                &["bound to igb", "igbpoll bind 0000:03:00.0"],
            ),
            (VfioError::VfioMissing, &["modprobe vfio-pci"]),
            (
                VfioError::IommuOff { addr: Some(addr()) },
                &["intel_iommu=on", "amd_iommu=on"],
            ),
            (VfioError::NoIommuModeOff, &["enable_unsafe_noiommu_mode"]),
            (
                VfioError::GroupNotViable {
                    group: 14,
                    blocking: vec![GroupMember {
                        addr: "0000:03:00.1".parse().unwrap(),
                        driver: Some("igb".into()),
                    }],
                },
                &["group 14", "0000:03:00.1 (bound to igb)", "igbpoll bind"],
            ),
            (VfioError::GroupBusy { group: 14 }, &["fuser"]),
            (
                VfioError::PermissionDenied {
                    path: "/dev/vfio/14".into(),
                },
                &["/dev/vfio/14", "root"],
            ),
            (
                VfioError::BarTooSmall {
                    addr: addr(),
                    size: 4096,
                    needed: 128 << 10,
                },
                &["4096", "131072"],
            ),
            (
                VfioError::BarNotMappable {
                    addr: addr(),
                    flags: 3,
                    errno: None,
                },
                &["BAR0 cannot be mapped"],
            ),
            (
                VfioError::Dma(DmaError::NoHugepages { needed: 4, free: 1 }),
                &["4 free", "1 free", "nr_hugepages"],
            ),
            (
                VfioError::Dma(DmaError::MemlockLimit {
                    limit: 65536,
                    needed: 2 << 20,
                }),
                &["ulimit -l"],
            ),
        ];
        for (e, needles) in cases {
            let msg = e.to_string();
            for n in needles {
                assert!(msg.contains(n), "`{msg}` lacks `{n}`");
            }
        }
    }

    #[test]
    fn pci_errors_map_to_their_vfio_counterparts() {
        let a = addr();
        assert_eq!(
            VfioError::from(PciError::NoIommuGroup { addr: a }),
            VfioError::IommuOff { addr: Some(a) }
        );
        assert_eq!(
            VfioError::from(PciError::NoSuchDevice { addr: a }),
            VfioError::NoSuchDevice { addr: a }
        );
        assert!(matches!(
            VfioError::from(PciError::VfioPciNotLoaded),
            VfioError::Pci(PciError::VfioPciNotLoaded)
        ));
    }
}
