//! End-to-end checks in a QEMU guest (TCG, q35, emulated VT-d, `-device igb` and
//! `-device e1000` on UDP netdevs), driven by the scripts under `qemu/`.
//!
//! Slow (about 40 s warm) and needs root the first time (qemu/provision.sh installs
//! QEMU >= 8, busybox-static and cpio, and downloads the guest kernel), so these
//! tests are `#[ignore]`d in a plain `cargo test`; scripts/test-all.sh runs them:
//!
//! ```text
//! cargo test --release -p igbpoll-tests --test qemu -- --ignored --nocapture
//! ```

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Guest boots share the cache work dirs and the default UDP ports: one at a time.
static GUEST: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn run_script(name: &str) {
    let _one = GUEST.lock().unwrap_or_else(|e| e.into_inner());
    let script = repo().join("qemu").join(name);
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        status.success(),
        "{} failed with {status} (serial logs under .cache/qemu/)",
        script.display()
    );
}

/// Both NICs are bound to vfio-pci, each alone in its IOMMU group, /dev/vfio/N exists.
#[test]
#[ignore = "boots a QEMU guest: run by scripts/test-all.sh after qemu/provision.sh"]
fn qemu_guest_binds_both_nics_to_vfio() {
    run_script("smoke.sh");
}

/// Frames go both ways over the UDP netdevs (with the guest kernel's own drivers).
#[test]
#[ignore = "boots a QEMU guest: run by scripts/test-all.sh after qemu/provision.sh"]
fn qemu_netdev_frames_both_ways() {
    run_script("netcheck.sh");
}
