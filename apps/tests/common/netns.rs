//! Network namespaces with TAP devices, for the tests whose peer is the host
//! kernel's own TCP/IP. Traffic stays inside the namespace; it is deleted on
//! drop, even when the test fails.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Why a namespace test cannot run here (not root, no /dev/net/tun, one of
/// `tools` missing), or None.
pub fn cannot_run(tools: &[&str]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    for tool in std::iter::once(&"ip").chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// A network namespace named `igbp-TAG-PID`, removed on drop.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// A fresh namespace (a stale one of the same name is removed first) with
    /// its loopback up.
    pub fn new(tag: &str) -> Netns {
        let name = format!("igbp-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let ns = Netns { name };
        ip(&["netns", "add", &ns.name]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Adds TAP device `dev` with address `cidr` (e.g. 10.77.0.1/24), up.
    pub fn add_tap(&self, dev: &str, cidr: &str) {
        ip(&["-n", &self.name, "tuntap", "add", "dev", dev, "mode", "tap"]);
        ip(&["-n", &self.name, "addr", "add", cidr, "dev", dev]);
        ip(&["-n", &self.name, "link", "set", dev, "up"]);
    }

    /// Runs `sh -c script` inside the namespace and returns its output.
    pub fn sh(&self, script: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("run sh in the namespace")
    }

    /// Pids of the processes in the namespace.
    pub fn pids(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Runs `ip ARGS`, which must succeed.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
