//! PCI discovery and driver binding through sysfs (`/sys/bus/pci/devices`).
//!
//! Everything here reads and writes files under a configurable root ([`Sysfs`]),
//! so tests build a fake tree in a temporary directory and run without root.
//! The one exception is IPv4 interface addresses, which the kernel publishes in
//! no file: with the real root (`/`) they come from `getifaddrs(3)` (the only
//! unsafe code here, in the private `ifaddrs` submodule); IPv6 addresses are read from
//! `<root>/proc/net/if_inet6` in both cases.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::ident::{self, Model};

/// The name of the kernel's VFIO PCI driver.
pub const VFIO_PCI: &str = "vfio-pci";

/// A PCI function address: domain, bus, device and function (`0000:03:00.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    /// PCI domain (segment), 0 on most machines.
    pub domain: u16,
    /// Bus number.
    pub bus: u8,
    /// Device number, 0..32.
    pub device: u8,
    /// Function number, 0..8.
    pub function: u8,
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

/// Why a string is not a PCI address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseAddressError {
    /// The input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for ParseAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a PCI address ({}); expected DDDD:BB:DD.F or BB:DD.F in hex, \
             e.g. 0000:03:00.0 (see `lspci -D`)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseAddressError {}

fn hex_field(s: &str, max_digits: usize, what: &'static str) -> Result<u32, &'static str> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(what);
    }
    u32::from_str_radix(s, 16).map_err(|_| what)
}

impl FromStr for PciAddress {
    type Err = ParseAddressError;

    /// Parses `DDDD:BB:DD.F` or `BB:DD.F` (domain 0), hexadecimal, case-insensitive.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseAddressError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        let (rest, function) = s.rsplit_once('.').ok_or_else(|| err("no `.function`"))?;
        let function = hex_field(function, 1, "bad function number").map_err(err)?;
        if function > 7 {
            return Err(err("function number above 7"));
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [bus, dev] => ("0", *bus, *dev),
            [dom, bus, dev] => (*dom, *bus, *dev),
            _ => return Err(err("expected two or three `:`-separated fields")),
        };
        let domain = hex_field(domain, 4, "bad domain").map_err(err)?;
        let bus = hex_field(bus, 2, "bad bus number").map_err(err)?;
        let device = hex_field(device, 2, "bad device number").map_err(err)?;
        if device > 0x1f {
            return Err(err("device number above 1f"));
        }
        Ok(PciAddress {
            domain: domain as u16,
            bus: bus as u8,
            device: device as u8,
            function: function as u8,
        })
    }
}

/// A device in an IOMMU group, and the driver it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Its address.
    pub addr: PciAddress,
    /// The kernel driver bound to it, if any.
    pub driver: Option<String>,
}

impl fmt::Display for GroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.driver {
            Some(d) => write!(f, "{} (bound to {d})", self.addr),
            None => write!(f, "{} (no driver)", self.addr),
        }
    }
}

/// Whether a group member keeps VFIO from using the group: any device bound
/// to a kernel driver other than vfio-pci (pci-stub and no driver are fine, as
/// for the kernel's viability check; PCI bridges bound to `pcieport` too).
fn blocks_group(m: &GroupMember) -> bool {
    matches!(&m.driver, Some(d) if d != VFIO_PCI && d != "pci-stub" && d != "pcieport")
}

/// A network interface the kernel created for a PCI device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInterface {
    /// Its name (`eth1`, `enp3s0`).
    pub name: String,
    /// Administratively up (IFF_UP in `flags`).
    pub up: bool,
    /// `operstate` (`up`, `down`, `unknown`, ...).
    pub operstate: String,
    /// Its IP addresses, as text, IPv6 link-local (`fe80::/10`) ones included.
    pub addresses: Vec<String>,
}

impl NetInterface {
    /// Whether something on this machine probably uses the interface: it is up
    /// and has an address other than an IPv6 link-local one (which the kernel
    /// assigns to every up interface by itself).
    pub fn in_use(&self) -> bool {
        self.up && self.addresses.iter().any(|a| !is_link_local_v6(a))
    }
}

fn is_link_local_v6(a: &str) -> bool {
    let a = a.to_ascii_lowercase();
    ["fe8", "fe9", "fea", "feb"]
        .iter()
        .any(|p| a.starts_with(p))
        && a.contains(':')
}

/// One PCI function as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDevice {
    /// Its address.
    pub addr: PciAddress,
    /// PCI vendor ID.
    pub vendor_id: u16,
    /// PCI device ID.
    pub device_id: u16,
    /// The model, when igbpoll supports the device.
    pub model: Option<&'static Model>,
    /// The kernel driver bound to it, if any.
    pub driver: Option<String>,
    /// Its IOMMU group, if the IOMMU is on (or VFIO no-IOMMU mode made one).
    pub iommu_group: Option<u32>,
    /// The other devices in that group.
    pub group_peers: Vec<GroupMember>,
    /// Network interfaces of the device (empty when no network driver is bound).
    pub interfaces: Vec<NetInterface>,
}

impl PciDevice {
    /// Peers in the IOMMU group bound to a driver that keeps VFIO from using it.
    pub fn blocking_peers(&self) -> Vec<GroupMember> {
        self.group_peers
            .iter()
            .filter(|m| blocks_group(m))
            .cloned()
            .collect()
    }
}

/// What [`Sysfs::bind_vfio`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindReport {
    /// The device.
    pub addr: PciAddress,
    /// The driver it was bound to before (to give back with [`Sysfs::unbind_vfio`]);
    /// `Some("vfio-pci")` when it already was bound to vfio-pci.
    pub previous_driver: Option<String>,
    /// Its IOMMU group: the number of `/dev/vfio/N`.
    pub iommu_group: u32,
}

/// Why a sysfs operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PciError {
    /// No such device under `/sys/bus/pci/devices`.
    NoSuchDevice {
        /// The address asked for.
        addr: PciAddress,
    },
    /// The device has no IOMMU group: the IOMMU is off or absent.
    NoIommuGroup {
        /// The device.
        addr: PciAddress,
    },
    /// The vfio-pci driver is not loaded.
    VfioPciNotLoaded,
    /// A kernel interface of the NIC is up with addresses; binding would cut it off.
    InterfaceInUse {
        /// The device.
        addr: PciAddress,
        /// The interface.
        interface: String,
        /// Its addresses.
        addresses: Vec<String>,
    },
    /// Other devices in the IOMMU group are bound to kernel drivers, so VFIO
    /// cannot use the group.
    GroupNotViable {
        /// The device.
        addr: PciAddress,
        /// The group.
        group: u32,
        /// The devices in the way and their drivers.
        blocking: Vec<GroupMember>,
    },
    /// After the rebind the device is not bound to the expected driver.
    BindFailed {
        /// The device.
        addr: PciAddress,
        /// The driver wanted.
        wanted: String,
        /// The driver it is bound to now.
        actual: Option<String>,
    },
    /// Writing a sysfs file was refused: not root.
    PermissionDenied {
        /// The file.
        path: PathBuf,
    },
    /// A sysfs file could not be read or written, or held unexpected text.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::NoSuchDevice { addr } => write!(
                f,
                "no PCI device {addr}; list the machine's NICs with `lspci -D -d 8086:` \
                 or `igbpoll list`"
            ),
            PciError::NoIommuGroup { addr } => write!(
                f,
                "{addr} has no IOMMU group: the IOMMU is off; enable VT-d/AMD-Vi in the \
                 firmware and add `intel_iommu=on iommu=pt` (Intel) or `amd_iommu=on` (AMD) \
                 to the kernel command line, then reboot"
            ),
            PciError::VfioPciNotLoaded => f.write_str(
                "the vfio-pci driver is not loaded; load it with `modprobe vfio-pci` (as root)",
            ),
            PciError::InterfaceInUse {
                addr,
                interface,
                addresses,
            } => write!(
                f,
                "{addr} is network interface {interface}, which is up with addresses {}; \
                 taking it away would cut off whatever uses it. Bring it down first \
                 (`ip link set {interface} down`) or pass --force",
                addresses.join(", ")
            ),
            PciError::GroupNotViable {
                addr,
                group,
                blocking,
            } => {
                write!(
                    f,
                    "IOMMU group {group} of {addr} also holds devices bound to kernel drivers: "
                )?;
                for (i, m) in blocking.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str(
                    "; VFIO needs every device of a group bound to vfio-pci (or to no driver): \
                     bind them too (`igbpoll bind BDF`), or move the NIC to another slot",
                )
            }
            PciError::BindFailed {
                addr,
                wanted,
                actual,
            } => write!(
                f,
                "{addr} should now be bound to {wanted} but is bound to {}; see the kernel \
                 log (`dmesg | tail`)",
                actual.as_deref().unwrap_or("no driver")
            ),
            PciError::PermissionDenied { path } => write!(
                f,
                "permission denied writing {}; run as root (sudo)",
                path.display()
            ),
            PciError::Io { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for PciError {}

/// The sysfs (and procfs) tree to work on: `/` on a real machine, a temporary
/// directory in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    /// The directory that holds `sys/` and `proc/`.
    pub root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs { root: "/".into() }
    }
}

fn io_err(path: &Path, e: io::Error) -> PciError {
    if e.kind() == io::ErrorKind::PermissionDenied {
        PciError::PermissionDenied {
            path: path.to_path_buf(),
        }
    } else {
        PciError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }
}

fn read_trimmed(path: &Path) -> Result<String, PciError> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| io_err(path, e))
}

fn read_hex(path: &Path) -> Result<u32, PciError> {
    let s = read_trimmed(path)?;
    u32::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| PciError::Io {
        path: path.to_path_buf(),
        reason: format!("expected a hexadecimal number, read `{s}`"),
    })
}

fn write_str(path: &Path, s: &str) -> Result<(), PciError> {
    // sysfs attributes must be written in one write(2), as write_all does for
    // short strings; no O_CREAT, so a wrong path does not make a file (O_TRUNC
    // is what `echo >` does; sysfs ignores it).
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    f.write_all(s.as_bytes()).map_err(|e| io_err(path, e))
}

/// The last path component of a symlink's target, if the link exists.
fn link_name(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}

impl Sysfs {
    /// A tree rooted at `root` (which holds `sys/` and `proc/`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
    }

    fn devices_dir(&self) -> PathBuf {
        self.root.join("sys/bus/pci/devices")
    }

    /// The sysfs directory of a device.
    pub fn device_dir(&self, addr: PciAddress) -> PathBuf {
        self.devices_dir().join(addr.to_string())
    }

    fn drivers_dir(&self) -> PathBuf {
        self.root.join("sys/bus/pci/drivers")
    }

    fn existing_device_dir(&self, addr: PciAddress) -> Result<PathBuf, PciError> {
        let dir = self.device_dir(addr);
        if dir.exists() {
            Ok(dir)
        } else {
            Err(PciError::NoSuchDevice { addr })
        }
    }

    /// The kernel driver bound to a device, if any.
    pub fn driver(&self, addr: PciAddress) -> Option<String> {
        link_name(&self.device_dir(addr).join("driver"))
    }

    /// The IOMMU group of a device, if it has one.
    pub fn iommu_group(&self, addr: PciAddress) -> Option<u32> {
        link_name(&self.device_dir(addr).join("iommu_group"))?
            .parse()
            .ok()
    }

    /// Every device in IOMMU group `group`, with its driver.
    pub fn group_members(&self, group: u32) -> Result<Vec<GroupMember>, PciError> {
        let dir = self
            .root
            .join(format!("sys/kernel/iommu_groups/{group}/devices"));
        let mut members = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            // Non-PCI entries (none on x86) are skipped.
            if let Ok(addr) = entry.file_name().to_string_lossy().parse::<PciAddress>() {
                members.push(GroupMember {
                    addr,
                    driver: self.driver(addr),
                });
            }
        }
        members.sort_by_key(|m| m.addr);
        Ok(members)
    }

    /// Devices of IOMMU group `group` other than `addr` that keep VFIO from
    /// using the group (bound to a kernel driver other than vfio-pci).
    pub fn group_blockers(&self, group: u32, addr: PciAddress) -> Vec<GroupMember> {
        self.group_members(group)
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.addr != addr && blocks_group(m))
            .collect()
    }

    /// Network interfaces of a device (the `net/` subdirectory), with state and addresses.
    pub fn interfaces(&self, addr: PciAddress) -> Vec<NetInterface> {
        let net = self.device_dir(addr).join("net");
        let Ok(entries) = fs::read_dir(&net) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let v6 = self.ipv6_addresses();
        names
            .into_iter()
            .map(|name| {
                // The same files as /sys/class/net/NAME/{flags,operstate}.
                let dir = net.join(&name);
                let up = read_hex(&dir.join("flags")).is_ok_and(|f| f & IFF_UP != 0);
                let operstate =
                    read_trimmed(&dir.join("operstate")).unwrap_or_else(|_| "unknown".into());
                let mut addresses = if self.root == Path::new("/") {
                    ifaddrs::ipv4_addresses(&name)
                } else {
                    Vec::new()
                };
                addresses.extend(
                    v6.iter()
                        .filter(|(n, _)| *n == name)
                        .map(|(_, a)| a.clone()),
                );
                NetInterface {
                    name,
                    up,
                    operstate,
                    addresses,
                }
            })
            .collect()
    }

    /// `(interface, address)` pairs from `<root>/proc/net/if_inet6`.
    fn ipv6_addresses(&self) -> Vec<(String, String)> {
        fs::read_to_string(self.root.join("proc/net/if_inet6"))
            .map(|s| parse_if_inet6(&s))
            .unwrap_or_default()
    }

    /// One device.
    pub fn device(&self, addr: PciAddress) -> Result<PciDevice, PciError> {
        let dir = self.existing_device_dir(addr)?;
        let vendor_id = read_hex(&dir.join("vendor"))? as u16;
        let device_id = read_hex(&dir.join("device"))? as u16;
        let iommu_group = self.iommu_group(addr);
        let group_peers = match iommu_group {
            Some(g) => self
                .group_members(g)?
                .into_iter()
                .filter(|m| m.addr != addr)
                .collect(),
            None => Vec::new(),
        };
        Ok(PciDevice {
            addr,
            vendor_id,
            device_id,
            model: ident::identify(vendor_id, device_id),
            driver: self.driver(addr),
            iommu_group,
            group_peers,
            interfaces: self.interfaces(addr),
        })
    }

    /// Every PCI device, sorted by address.
    pub fn list(&self) -> Result<Vec<PciDevice>, PciError> {
        let dir = self.devices_dir();
        let mut addrs = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            if let Ok(a) = entry.file_name().to_string_lossy().parse::<PciAddress>() {
                addrs.push(a);
            }
        }
        addrs.sort();
        addrs.into_iter().map(|a| self.device(a)).collect()
    }

    /// The devices igbpoll supports, sorted by address.
    pub fn list_supported(&self) -> Result<Vec<PciDevice>, PciError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|d| d.model.is_some())
            .collect())
    }

    /// Hands a device to vfio-pci.
    ///
    /// Refuses (unless `force`) when one of the NIC's kernel interfaces is up with
    /// addresses ([`NetInterface::in_use`]), and (always) when the IOMMU group
    /// holds devices bound to other kernel drivers, since VFIO could not use the
    /// group anyway. Then writes `vfio-pci` to `driver_override`, unbinds the
    /// current driver, asks the kernel to probe the device again and checks that
    /// vfio-pci took it. The report names the previous driver, for
    /// [`Sysfs::unbind_vfio`].
    pub fn bind_vfio(&self, addr: PciAddress, force: bool) -> Result<BindReport, PciError> {
        let dev = self.device(addr)?;
        let group = dev.iommu_group.ok_or(PciError::NoIommuGroup { addr })?;
        if dev.driver.as_deref() == Some(VFIO_PCI) {
            return Ok(BindReport {
                addr,
                previous_driver: dev.driver,
                iommu_group: group,
            });
        }
        if !self.drivers_dir().join(VFIO_PCI).is_dir() {
            return Err(PciError::VfioPciNotLoaded);
        }
        if !force {
            if let Some(i) = dev.interfaces.iter().find(|i| i.in_use()) {
                return Err(PciError::InterfaceInUse {
                    addr,
                    interface: i.name.clone(),
                    addresses: i.addresses.clone(),
                });
            }
        }
        let blocking = dev.blocking_peers();
        if !blocking.is_empty() {
            return Err(PciError::GroupNotViable {
                addr,
                group,
                blocking,
            });
        }
        let dir = self.device_dir(addr);
        write_str(&dir.join("driver_override"), VFIO_PCI)?;
        if let Some(old) = &dev.driver {
            write_str(
                &self.drivers_dir().join(old).join("unbind"),
                &addr.to_string(),
            )?;
        }
        self.reprobe(addr)?;
        let now = self.driver(addr);
        if now.as_deref() != Some(VFIO_PCI) {
            return Err(PciError::BindFailed {
                addr,
                wanted: VFIO_PCI.into(),
                actual: now,
            });
        }
        Ok(BindReport {
            addr,
            previous_driver: dev.driver,
            iommu_group: group,
        })
    }

    /// Gives a device back to the kernel: clears `driver_override`, unbinds
    /// vfio-pci and reprobes, so the kernel's own driver (igb, e1000) takes it.
    /// Returns the driver bound afterwards.
    pub fn unbind_vfio(&self, addr: PciAddress) -> Result<Option<String>, PciError> {
        let dir = self.existing_device_dir(addr)?;
        // A lone newline clears the override.
        write_str(&dir.join("driver_override"), "\n")?;
        if let Some(old) = self.driver(addr) {
            write_str(
                &self.drivers_dir().join(old).join("unbind"),
                &addr.to_string(),
            )?;
        }
        self.reprobe(addr)?;
        Ok(self.driver(addr))
    }

    fn reprobe(&self, addr: PciAddress) -> Result<(), PciError> {
        let probe = self.root.join("sys/bus/pci/drivers_probe");
        match write_str(&probe, &addr.to_string()) {
            // The write fails with ENODEV-like errors when no driver wants the
            // device; the caller checks the outcome by reading `driver`.
            Err(PciError::Io { .. }) => Ok(()),
            r => r,
        }
    }
}

/// IFF_UP in `/sys/class/net/IF/flags`.
const IFF_UP: u32 = 0x1;

/// Parses `/proc/net/if_inet6`: `address ifindex prefixlen scope flags name` per
/// line, the address as 32 hex digits, the numbers in hex.
fn parse_if_inet6(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 6 || f[0].len() != 32 {
                return None;
            }
            let bits = u128::from_str_radix(f[0], 16).ok()?;
            let prefix = u8::from_str_radix(f[2], 16).ok()?;
            let addr = std::net::Ipv6Addr::from(bits);
            Some((f[5].to_string(), format!("{addr}/{prefix}")))
        })
        .collect()
}

/// IPv4 interface addresses from `getifaddrs(3)`: the only unsafe code of this module.
mod ifaddrs {
    /// The IPv4 addresses of interface `name`, as text; empty on any failure.
    #[allow(unsafe_code)]
    pub(super) fn ipv4_addresses(name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs writes a list head into `head` on success; we free
        // it with freeifaddrs below and do not keep pointers into it.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
                continue;
            }
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let ifname = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
            if ifname.to_bytes() != name.as_bytes() {
                continue;
            }
            // SAFETY: ifa_addr is non-null and points to a sockaddr of the list.
            let family = unsafe { (*ifa.ifa_addr).sa_family };
            if i32::from(family) == libc::AF_INET {
                // SAFETY: for AF_INET the sockaddr is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                out.push(ip.to_string());
            }
        }
        // SAFETY: `head` came from a successful getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(head) };
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn addr(s: &str) -> PciAddress {
        s.parse().unwrap()
    }

    #[test]
    fn parses_full_and_short_addresses() {
        assert_eq!(
            addr("0000:03:00.0"),
            PciAddress {
                domain: 0,
                bus: 3,
                device: 0,
                function: 0
            }
        );
        let a = addr("03:1f.7");
        assert_eq!((a.domain, a.bus, a.device, a.function), (0, 3, 0x1f, 7));
        let a = addr("ABCD:ff:0a.1");
        assert_eq!(
            (a.domain, a.bus, a.device, a.function),
            (0xabcd, 0xff, 0x0a, 1)
        );
        assert_eq!(a.to_string(), "abcd:ff:0a.1");
        assert_eq!(addr("3:0.0").to_string(), "0000:03:00.0");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "03:00",
            "0000:03:00.8",
            "0000:03:20.0",
            "0000:103:00.0",
            "00000:03:00.0",
            "0:0:0:0.0",
            "xx:00.0",
            "03:00.x",
            "+3:00.0",
            "03:00.00",
        ] {
            let e = bad.parse::<PciAddress>().unwrap_err();
            assert_eq!(e.input, bad);
            assert!(e.to_string().contains("lspci -D"), "{e}");
        }
    }

    /// A fake sysfs tree in a temporary directory, removed on drop.
    pub(crate) struct FakeSys {
        pub(crate) sys: Sysfs,
    }

    impl Drop for FakeSys {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.sys.root);
        }
    }

    impl FakeSys {
        pub(crate) fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let root = std::env::temp_dir().join(format!(
                "igbpoll-fakesys-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&root);
            for d in [
                "sys/bus/pci/devices",
                "sys/bus/pci/drivers",
                "sys/kernel/iommu_groups",
                "proc/net",
            ] {
                fs::create_dir_all(root.join(d)).unwrap();
            }
            fs::write(root.join("sys/bus/pci/drivers_probe"), "").unwrap();
            FakeSys {
                sys: Sysfs::new(root),
            }
        }

        pub(crate) fn root(&self) -> &Path {
            &self.sys.root
        }

        pub(crate) fn driver(&self, name: &str) {
            let d = self.root().join("sys/bus/pci/drivers").join(name);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("unbind"), "").unwrap();
        }

        pub(crate) fn device(
            &self,
            bdf: &str,
            vendor: u16,
            device: u16,
            driver: Option<&str>,
            group: Option<u32>,
        ) {
            let dir = self.root().join("sys/bus/pci/devices").join(bdf);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("vendor"), format!("0x{vendor:04x}\n")).unwrap();
            fs::write(dir.join("device"), format!("0x{device:04x}\n")).unwrap();
            fs::write(dir.join("driver_override"), "(null)\n").unwrap();
            if let Some(drv) = driver {
                self.driver(drv);
                symlink(
                    format!("../../../bus/pci/drivers/{drv}"),
                    dir.join("driver"),
                )
                .unwrap();
            }
            if let Some(g) = group {
                let gdir = self
                    .root()
                    .join(format!("sys/kernel/iommu_groups/{g}/devices"));
                fs::create_dir_all(&gdir).unwrap();
                symlink(
                    format!("../../../kernel/iommu_groups/{g}"),
                    dir.join("iommu_group"),
                )
                .unwrap();
                symlink(format!("../../../../bus/pci/devices/{bdf}"), gdir.join(bdf)).unwrap();
            }
        }

        fn interface(&self, bdf: &str, name: &str, flags: u32, operstate: &str, v6: &[&str]) {
            let dir = self
                .root()
                .join("sys/bus/pci/devices")
                .join(bdf)
                .join("net")
                .join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("flags"), format!("0x{flags:x}\n")).unwrap();
            fs::write(dir.join("operstate"), format!("{operstate}\n")).unwrap();
            let mut f = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(self.root().join("proc/net/if_inet6"))
                .unwrap();
            for a in v6 {
                use std::io::Write;
                writeln!(f, "{a} 03 40 00 80 {name:>8}").unwrap();
            }
        }
    }

    const GLOBAL: &str = "20010db8000000000000000000000001";
    const LINK_LOCAL: &str = "fe80000000000000021b21fffe3a4b5c";

    #[test]
    fn lists_devices_with_driver_group_and_interfaces() {
        let fake = FakeSys::new("list");
        fake.device("0000:00:00.0", 0x8086, 0x29c0, None, Some(0));
        fake.device("0000:03:00.0", 0x8086, 0x10c9, Some("igb"), Some(12));
        fake.device("0000:03:00.1", 0x8086, 0x10c9, Some("vfio-pci"), Some(12));
        fake.interface("0000:03:00.0", "enp3s0f0", 0x1003, "up", &[GLOBAL]);
        fake.device("0000:04:00.0", 0x10ec, 0x8168, Some("r8169"), None);

        let all = fake.sys.list().unwrap();
        assert_eq!(all.len(), 4);
        let d = &all[1];
        assert_eq!(d.addr, addr("0000:03:00.0"));
        assert_eq!((d.vendor_id, d.device_id), (0x8086, 0x10c9));
        assert_eq!(d.model.unwrap().name, "82576");
        assert_eq!(d.driver.as_deref(), Some("igb"));
        assert_eq!(d.iommu_group, Some(12));
        assert_eq!(
            d.group_peers,
            vec![GroupMember {
                addr: addr("0000:03:00.1"),
                driver: Some("vfio-pci".into())
            }]
        );
        assert!(d.blocking_peers().is_empty());
        assert_eq!(d.interfaces.len(), 1);
        let i = &d.interfaces[0];
        assert_eq!(i.name, "enp3s0f0");
        assert!(i.up);
        assert_eq!(i.operstate, "up");
        assert_eq!(i.addresses, vec!["2001:db8::1/64".to_string()]);
        assert!(i.in_use());

        assert!(all[0].model.is_none(), "a host bridge is not a NIC");
        assert_eq!(all[3].iommu_group, None);
        assert_eq!(all[3].driver.as_deref(), Some("r8169"));

        let supported = fake.sys.list_supported().unwrap();
        let addrs: Vec<String> = supported.iter().map(|d| d.addr.to_string()).collect();
        assert_eq!(addrs, ["0000:03:00.0", "0000:03:00.1"]);

        assert_eq!(
            fake.sys.device(addr("0000:09:00.0")).unwrap_err(),
            PciError::NoSuchDevice {
                addr: addr("0000:09:00.0")
            }
        );
    }

    #[test]
    fn link_local_only_or_down_interfaces_are_not_in_use() {
        let fake = FakeSys::new("inuse");
        fake.device("0000:03:00.0", 0x8086, 0x1533, Some("igb"), Some(5));
        fake.interface("0000:03:00.0", "eth1", 0x1003, "up", &[LINK_LOCAL]);
        fake.device("0000:04:00.0", 0x8086, 0x1533, Some("igb"), Some(6));
        fake.interface("0000:04:00.0", "eth2", 0x1002, "down", &[GLOBAL]);
        let d = fake.sys.device(addr("03:00.0")).unwrap();
        assert_eq!(
            d.interfaces[0].addresses,
            vec!["fe80::21b:21ff:fe3a:4b5c/64"]
        );
        assert!(!d.interfaces[0].in_use());
        let d = fake.sys.device(addr("04:00.0")).unwrap();
        assert!(!d.interfaces[0].up);
        assert!(!d.interfaces[0].in_use());
    }

    #[test]
    fn bind_refuses_an_interface_in_use_unless_forced() {
        let fake = FakeSys::new("refuse");
        fake.driver("vfio-pci");
        fake.device("0000:03:00.0", 0x8086, 0x1521, Some("igb"), Some(7));
        fake.interface("0000:03:00.0", "eno1", 0x1003, "up", &[GLOBAL, LINK_LOCAL]);
        let a = addr("0000:03:00.0");
        let e = fake.sys.bind_vfio(a, false).unwrap_err();
        match &e {
            PciError::InterfaceInUse {
                interface,
                addresses,
                ..
            } => {
                assert_eq!(interface, "eno1");
                assert_eq!(addresses.len(), 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = e.to_string();
        assert!(msg.contains("eno1") && msg.contains("--force"), "{msg}");
        // Nothing was written.
        let dir = fake.sys.device_dir(a);
        assert_eq!(
            fs::read_to_string(dir.join("driver_override")).unwrap(),
            "(null)\n"
        );

        // Forced: the override, unbind and probe are written; the fake kernel
        // does not rebind, so the check afterwards reports it.
        let e = fake.sys.bind_vfio(a, true).unwrap_err();
        assert_eq!(
            e,
            PciError::BindFailed {
                addr: a,
                wanted: "vfio-pci".into(),
                actual: Some("igb".into())
            }
        );
        assert_eq!(
            fs::read_to_string(dir.join("driver_override")).unwrap(),
            "vfio-pci"
        );
        let root = fake.root();
        assert_eq!(
            fs::read_to_string(root.join("sys/bus/pci/drivers/igb/unbind")).unwrap(),
            "0000:03:00.0"
        );
        assert_eq!(
            fs::read_to_string(root.join("sys/bus/pci/drivers_probe")).unwrap(),
            "0000:03:00.0"
        );
    }

    #[test]
    fn binding_a_device_already_on_vfio_pci_changes_nothing() {
        let fake = FakeSys::new("already");
        fake.driver("vfio-pci");
        fake.device("0000:05:00.0", 0x8086, 0x10c9, Some("vfio-pci"), Some(4));
        let r = fake.sys.bind_vfio(addr("05:00.0"), false).unwrap();
        assert_eq!(r.previous_driver.as_deref(), Some("vfio-pci"));
        assert_eq!(r.iommu_group, 4);
        assert_eq!(
            fs::read_to_string(fake.root().join("sys/bus/pci/drivers_probe")).unwrap(),
            "",
            "no probe was asked for"
        );
    }

    #[test]
    fn bind_explains_a_group_that_is_not_viable() {
        let fake = FakeSys::new("viable");
        fake.driver("vfio-pci");
        fake.device("0000:03:00.0", 0x8086, 0x10c9, None, Some(9));
        fake.device("0000:03:00.1", 0x8086, 0x10c9, Some("igb"), Some(9));
        fake.device("0000:00:1c.0", 0x8086, 0x9d10, Some("pcieport"), Some(9));
        fake.device("0000:03:00.2", 0x8086, 0x10c9, None, Some(9));
        let a = addr("0000:03:00.0");
        let e = fake.sys.bind_vfio(a, false).unwrap_err();
        assert_eq!(
            e,
            PciError::GroupNotViable {
                addr: a,
                group: 9,
                blocking: vec![GroupMember {
                    addr: addr("0000:03:00.1"),
                    driver: Some("igb".into())
                }]
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("0000:03:00.1 (bound to igb)"), "{msg}");
        assert!(msg.contains("igbpoll bind"), "{msg}");
        assert_eq!(fake.sys.group_blockers(9, a).len(), 1);
        assert_eq!(fake.sys.group_members(9).unwrap().len(), 4);
    }

    #[test]
    fn bind_needs_an_iommu_group_and_vfio_pci() {
        let fake = FakeSys::new("prereq");
        fake.device("0000:03:00.0", 0x8086, 0x10c9, Some("igb"), None);
        fake.device("0000:04:00.0", 0x8086, 0x10c9, Some("igb"), Some(2));
        let e = fake.sys.bind_vfio(addr("03:00.0"), false).unwrap_err();
        assert!(matches!(e, PciError::NoIommuGroup { .. }));
        assert!(e.to_string().contains("intel_iommu=on"));
        let e = fake.sys.bind_vfio(addr("04:00.0"), false).unwrap_err();
        assert_eq!(e, PciError::VfioPciNotLoaded);
        assert!(e.to_string().contains("modprobe vfio-pci"));
    }

    #[test]
    fn unbind_clears_the_override_and_reprobes() {
        let fake = FakeSys::new("unbind");
        fake.device("0000:03:00.0", 0x8086, 0x10c9, Some("vfio-pci"), Some(3));
        let a = addr("03:00.0");
        let now = fake.sys.unbind_vfio(a).unwrap();
        assert_eq!(
            now.as_deref(),
            Some("vfio-pci"),
            "the fake kernel never rebinds"
        );
        let root = fake.root();
        assert_eq!(
            fs::read_to_string(fake.sys.device_dir(a).join("driver_override")).unwrap(),
            "\n"
        );
        assert_eq!(
            fs::read_to_string(root.join("sys/bus/pci/drivers/vfio-pci/unbind")).unwrap(),
            "0000:03:00.0"
        );
        assert_eq!(
            fs::read_to_string(root.join("sys/bus/pci/drivers_probe")).unwrap(),
            "0000:03:00.0"
        );
    }

    #[test]
    fn if_inet6_parsing_skips_junk() {
        let text =
            format!("{GLOBAL} 03 40 00 80     eth0\nshort line\n{LINK_LOCAL} 02 40 20 80 lo\n");
        let v = parse_if_inet6(&text);
        assert_eq!(
            v,
            vec![
                ("eth0".to_string(), "2001:db8::1/64".to_string()),
                ("lo".to_string(), "fe80::21b:21ff:fe3a:4b5c/64".to_string())
            ]
        );
    }

    #[test]
    fn real_sysfs_lists_without_error() {
        let sys = Sysfs::default();
        if !Path::new("/sys/bus/pci/devices").is_dir() {
            eprintln!("note: no /sys/bus/pci/devices here; skipping the real-sysfs listing");
            return;
        }
        let all = sys.list().unwrap();
        for d in &all {
            assert_eq!(sys.device(d.addr).unwrap().addr, d.addr);
        }
    }
}
