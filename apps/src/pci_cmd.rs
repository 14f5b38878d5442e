//! `igbpoll list`, `bind` and `unbind`: the NICs on this machine and who drives them.

use std::io::Write;

use igbpoll_driver::pci::Sysfs;

use crate::cli::{BindArgs, UnbindArgs};
use crate::error::CliError;

/// Runs `list`.
pub fn list() -> Result<(), CliError> {
    let devices = Sysfs::default().list_supported()?;
    let mut o = std::io::stdout().lock();
    if devices.is_empty() {
        let _ = writeln!(
            o,
            "no supported NIC found (igbpoll drives 82540EM, 82545EM, 82576, I350, I210, I211)"
        );
        return Ok(());
    }
    let _ = writeln!(
        o,
        "{:<13} {:<10} {:<8} {:<10} {:<6} interfaces",
        "BDF", "ID", "model", "driver", "group"
    );
    for d in devices {
        let model = d.model.map_or("?", |m| m.name);
        let driver = d.driver.as_deref().unwrap_or("-");
        let group = d.iommu_group.map_or("-".to_string(), |g| g.to_string());
        let ifs: Vec<String> = d
            .interfaces
            .iter()
            .map(|i| {
                let state = if i.up { "up" } else { "down" };
                if i.addresses.is_empty() {
                    format!("{} ({state})", i.name)
                } else {
                    format!("{} ({state}, {})", i.name, i.addresses.join(" "))
                }
            })
            .collect();
        let _ = writeln!(
            o,
            "{:<13} {:04x}:{:04x}  {:<8} {:<10} {:<6} {}",
            d.addr.to_string(),
            d.vendor_id,
            d.device_id,
            model,
            driver,
            group,
            if ifs.is_empty() {
                "-".to_string()
            } else {
                ifs.join(", ")
            }
        );
        let peers = d.blocking_peers();
        if !peers.is_empty() {
            let names: Vec<String> = peers
                .iter()
                .map(|p| {
                    format!(
                        "{} ({})",
                        p.addr,
                        p.driver.as_deref().unwrap_or("no driver")
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "{:<13} shares IOMMU group with {}: bind those to vfio-pci too",
                "",
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// Runs `bind`.
pub fn bind(args: &BindArgs) -> Result<(), CliError> {
    let report = Sysfs::default().bind_vfio(args.bdf, args.force)?;
    let previous = report.previous_driver.as_deref().unwrap_or("no driver");
    println!(
        "{}: bound to vfio-pci (IOMMU group {}; was {previous}); `igbpoll unbind {}` gives it back",
        report.addr, report.iommu_group, report.addr
    );
    Ok(())
}

/// Runs `unbind`.
pub fn unbind(args: &UnbindArgs) -> Result<(), CliError> {
    match Sysfs::default().unbind_vfio(args.bdf)? {
        Some(driver) => println!(
            "{}: released from vfio-pci, now driven by {driver}",
            args.bdf
        ),
        None => println!(
            "{}: released from vfio-pci (no kernel driver took it)",
            args.bdf
        ),
    }
    Ok(())
}
