//! Opens one NIC through VFIO and prints what it sees, without resetting or
//! enabling it: vendor/device, CTRL/STATUS, the MAC in RAL0/RAH0, and a 2 MiB
//! DMA mapping. Meant for a QEMU guest with an emulated igb/e1000 behind a
//! virtual IOMMU (the NIC already bound to vfio-pci).
//!
//! ```text
//! vfio_probe 0000:00:03.0                     # type-1 IOMMU
//! vfio_probe 0000:00:02.0 0000:00:03.0 --open # both NICs in one container, then
//!                                             # Nic::open (reset, link, rings) on each
//! vfio_probe 0000:00:03.0 --noiommu           # VFIO unsafe no-IOMMU mode
//! vfio_probe 0000:00:03.0 --bind --unbind     # take the NIC from its kernel driver
//!                                             # first, give it back at the end
//! ```
//!
//! Exit status 0 when everything worked; the last line is `vfio_probe: OK`.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use igbpoll_driver::backend::pci;
use igbpoll_driver::pci::{PciAddress, Sysfs};
use igbpoll_driver::regs;
use igbpoll_driver::vfio::{VfioBackend, VfioContainer};
use igbpoll_driver::{Backend, Nic, NicConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bdfs: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if bdfs.is_empty() {
        eprintln!("usage: vfio_probe BDF... [--noiommu] [--open] [--bind] [--unbind]");
        return ExitCode::from(2);
    }
    let noiommu = args.iter().any(|a| a == "--noiommu");
    let open = args.iter().any(|a| a == "--open");
    let bind = args.iter().any(|a| a == "--bind");
    let unbind = args.iter().any(|a| a == "--unbind");
    if bind {
        for bdf in &bdfs {
            let r = bdf
                .parse::<PciAddress>()
                .map_err(|e| e.to_string())
                .and_then(|a| {
                    Sysfs::default()
                        .bind_vfio(a, false)
                        .map_err(|e| e.to_string())
                });
            match r {
                Ok(r) => println!(
                    "bind: {} now on vfio-pci (was {}), group {}",
                    r.addr,
                    r.previous_driver.as_deref().unwrap_or("no driver"),
                    r.iommu_group
                ),
                Err(e) => {
                    eprintln!("vfio_probe: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let result = run(&bdfs, noiommu, open);
    if unbind {
        for bdf in &bdfs {
            if let Ok(a) = bdf.parse::<PciAddress>() {
                match Sysfs::default().unbind_vfio(a) {
                    Ok(d) => println!("unbind: {a} now on {}", d.as_deref().unwrap_or("no driver")),
                    Err(e) => eprintln!("vfio_probe: unbind {a}: {e}"),
                }
            }
        }
    }
    match result {
        Ok(()) => {
            println!("vfio_probe: OK");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vfio_probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(bdfs: &[&String], noiommu: bool, open: bool) -> Result<(), Box<dyn std::error::Error>> {
    // One container for every NIC: their DMA memory shares one address space.
    let container = if noiommu {
        VfioContainer::open_unsafe_noiommu()?
    } else {
        VfioContainer::open()?
    };
    let mut nics = Vec::new();
    for bdf in bdfs {
        nics.push(probe(&container, bdf)?);
    }
    if open {
        // All of them open at once, in the one container.
        let mut opened = Vec::new();
        for backend in nics {
            let nic = Nic::open(backend, &NicConfig::default())?;
            let m = nic.mac();
            println!(
                "nic: {} {} mac={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} link {}",
                nic.name(),
                nic.model().name,
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                nic.link()
            );
            opened.push(nic);
        }
        println!(
            "vfio_probe: {} NICs open at once in one container",
            opened.len()
        );
    }
    Ok(())
}

fn probe(
    container: &Arc<VfioContainer>,
    bdf: &str,
) -> Result<VfioBackend, Box<dyn std::error::Error>> {
    let addr: PciAddress = bdf.parse()?;
    let dev = Sysfs::default().device(addr)?;
    println!(
        "sysfs: {addr} {:04x}:{:04x} {} driver={} iommu_group={}",
        dev.vendor_id,
        dev.device_id,
        dev.model.map_or("unsupported", |m| m.name),
        dev.driver.as_deref().unwrap_or("-"),
        dev.iommu_group.map_or("-".to_string(), |g| g.to_string()),
    );
    for m in &dev.group_peers {
        println!("sysfs: group peer {m}");
    }

    let nic = VfioBackend::open(container, addr)?;
    println!(
        "vfio: group {} opened, BAR0 mapped",
        nic.device().group().number()
    );

    let vendor = nic.pci_read16(pci::VENDOR_ID);
    let device = nic.pci_read16(pci::DEVICE_ID);
    let command = nic.pci_read16(pci::COMMAND);
    println!("config: vendor={vendor:04x} device={device:04x} command={command:04x}");
    if (vendor, device) != (dev.vendor_id, dev.device_id) {
        return Err(format!(
            "config space reads {vendor:04x}:{device:04x}, sysfs says {:04x}:{:04x}",
            dev.vendor_id, dev.device_id
        )
        .into());
    }
    // Memory decoding must be on for BAR0 reads to reach the device.
    nic.pci_write16(pci::COMMAND, command | pci::COMMAND_MEMORY);

    let ctrl = nic.read32(regs::CTRL);
    let status = nic.read32(regs::STATUS);
    println!("bar0: CTRL={ctrl:#010x} STATUS={status:#010x}");
    if status == u32::MAX {
        return Err("BAR0 reads all-ones: the device does not respond".into());
    }
    let ral = nic.read32(regs::ral(0));
    let rah = nic.read32(regs::rah(0));
    let mac = [
        ral as u8,
        (ral >> 8) as u8,
        (ral >> 16) as u8,
        (ral >> 24) as u8,
        rah as u8,
        (rah >> 8) as u8,
    ];
    println!(
        "bar0: RAL0={ral:#010x} RAH0={rah:#010x} mac={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} valid={}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        rah & regs::RAH_AV != 0
    );

    let mem = nic.alloc_dma(2 << 20)?;
    mem.store_u64(0, 0x1122_3344_5566_7788, Ordering::Relaxed);
    let back = mem.load_u64(0, Ordering::Relaxed);
    println!(
        "dma: {} bytes at iova {:#x} (cpu {:p}), readback {back:#x}",
        mem.len(),
        mem.iova(),
        mem.as_ptr()
    );
    if back != 0x1122_3344_5566_7788 {
        return Err("DMA memory readback mismatch".into());
    }
    drop(mem);
    println!("dma: unmapped");
    Ok(nic)
}
