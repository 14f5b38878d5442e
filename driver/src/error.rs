//! Driver errors: one variant per failing operation, with the fields a user needs
//! to see what went wrong and what to do.

use std::fmt;

/// Why DMA memory could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmaError {
    /// The backend's DMA space is used up.
    Exhausted {
        /// Bytes asked for.
        requested: usize,
        /// Bytes still available.
        available: usize,
    },
    /// No free 2 MiB hugepages to allocate from.
    NoHugepages {
        /// Hugepages needed for the allocation.
        needed: usize,
        /// Hugepages free at the time.
        free: usize,
    },
    /// The memory could not be locked: RLIMIT_MEMLOCK is too low.
    MemlockLimit {
        /// The limit in bytes.
        limit: u64,
        /// Bytes the allocation needed locked.
        needed: u64,
    },
    /// A packet buffer length the NIC cannot use (not a multiple of 1 KiB
    /// from 1 KiB to 16 KiB).
    BufferLen {
        /// The length asked for.
        len: usize,
    },
    /// A system call failed.
    Os {
        /// What was being done (`mmap`, `VFIO_IOMMU_MAP_DMA`, ...).
        op: &'static str,
        /// The errno it returned.
        errno: i32,
    },
}

impl fmt::Display for DmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmaError::Exhausted {
                requested,
                available,
            } => write!(
                f,
                "DMA memory exhausted: {requested} bytes requested, {available} available"
            ),
            DmaError::NoHugepages { needed, free } => write!(
                f,
                "{needed} free 2 MiB hugepages needed, {free} free; reserve more with \
                 `echo 512 > /proc/sys/vm/nr_hugepages` (as root)"
            ),
            DmaError::MemlockLimit { limit, needed } => write!(
                f,
                "locked-memory limit {limit} bytes is below the {needed} bytes DMA memory needs; \
                 run as root or raise it with `ulimit -l unlimited`"
            ),
            DmaError::BufferLen { len } => write!(
                f,
                "a {len}-byte packet buffer is not a multiple of 1024 from 1024 to 16384"
            ),
            DmaError::Os { op, errno } => write!(
                f,
                "{op} failed: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for DmaError {}

/// An error of the driver's control path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The PCI vendor/device ID is not one the driver supports.
    UnsupportedDevice {
        /// Backend name of the device.
        device: String,
        /// PCI vendor ID.
        vendor_id: u16,
        /// PCI device ID.
        device_id: u16,
    },
    /// The device reads all-ones: it is gone from the bus, or powered down.
    DeviceNotResponding {
        /// Backend name of the device.
        device: String,
    },
    /// A register did not reach the expected state before its deadline.
    Timeout {
        /// Backend name of the device.
        device: String,
        /// What was waited for.
        what: &'static str,
        /// The register polled.
        register: u32,
        /// Its last value.
        last_value: u32,
        /// How long the driver waited.
        waited_ms: u64,
    },
    /// A PHY access through MDIC failed.
    PhyAccess {
        /// Backend name of the device.
        device: String,
        /// PHY register number.
        phy_register: u32,
    },
    /// DMA memory could not be allocated or mapped.
    Dma {
        /// Backend name of the device.
        device: String,
        /// What it was for.
        purpose: &'static str,
        /// The cause.
        source: DmaError,
    },
    /// A configuration value is out of the range the hardware accepts.
    InvalidConfig {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: usize,
        /// What is allowed.
        allowed: String,
    },
    /// The device could not be opened through VFIO.
    Vfio(crate::vfio::VfioError),
}

impl From<crate::vfio::VfioError> for Error {
    fn from(e: crate::vfio::VfioError) -> Self {
        Error::Vfio(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedDevice {
                device,
                vendor_id,
                device_id,
            } => write!(
                f,
                "{device}: unsupported NIC {vendor_id:04x}:{device_id:04x}; igbpoll drives \
                 82540EM (8086:100e), 82545EM (8086:100f), 82576 (8086:10c9), I350 (8086:1521), \
                 I210 (8086:1533) and I211 (8086:1539)"
            ),
            Error::DeviceNotResponding { device } => write!(
                f,
                "{device}: the device reads all-ones: it is gone from the bus or powered down; \
                 check `lspci -s` and the kernel log"
            ),
            Error::Timeout {
                device,
                what,
                register,
                last_value,
                waited_ms,
            } => write!(
                f,
                "{device}: timed out after {waited_ms} ms waiting for {what} \
                 (register {register:#06x} reads {last_value:#010x})"
            ),
            Error::PhyAccess {
                device,
                phy_register,
            } => write!(
                f,
                "{device}: PHY register {phy_register} access through MDIC failed"
            ),
            Error::Dma {
                device,
                purpose,
                source,
            } => {
                write!(
                    f,
                    "{device}: cannot allocate DMA memory for {purpose}: {source}"
                )
            }
            Error::InvalidConfig {
                setting,
                value,
                allowed,
            } => {
                write!(f, "invalid {setting} {value}: {allowed}")
            }
            Error::Vfio(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Dma { source, .. } => Some(source),
            Error::Vfio(e) => Some(e),
            _ => None,
        }
    }
}
