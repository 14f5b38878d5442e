//! The TAP wire end at the library level: the driver runs on the simulator
//! whose wire ends on a TAP device in a network namespace this test creates,
//! and answers the kernel's ARP requests and pings itself (a few lines of ARP
//! and ICMP in the test). `ping` in the namespace then measures the round trip
//! through kernel → TAP → simulated NIC → driver → NIC → TAP → kernel.
//!
//! Needs root, /dev/net/tun, iproute2 and ping; skipped with a reason otherwise.
//! Traffic never leaves the namespace.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use igbpoll_driver::{Nic, NicConfig, Packet};
use igbpoll_hw_sim::wire::Tap;
use igbpoll_hw_sim::{Sim, SimConfig};

const HOST_IP: [u8; 4] = [198, 18, 78, 1];
const SIM_IP: [u8; 4] = [198, 18, 78, 2];

fn cannot_run() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    for tool in ["ip", "ping"] {
        let ok = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace deleted on drop (with the TAP moved into it).
struct Ns(String);

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    !fold(sum)
}

/// Turns an ARP request for SIM_IP or an ICMP echo request to SIM_IP into its
/// answer, in place. False for anything else.
fn answer(p: &mut [u8], mac: [u8; 6]) -> bool {
    if p.len() < 42 {
        return false;
    }
    let peer: [u8; 6] = p[6..12].try_into().unwrap();
    match [p[12], p[13]] {
        [0x08, 0x06] if p[20..22] == [0, 1] && p[38..42] == SIM_IP => {
            p[20..22].copy_from_slice(&[0, 2]);
            let (sha, spa): ([u8; 6], [u8; 4]) =
                (p[22..28].try_into().unwrap(), p[28..32].try_into().unwrap());
            p[32..38].copy_from_slice(&sha);
            p[38..42].copy_from_slice(&spa);
            p[22..28].copy_from_slice(&mac);
            p[28..32].copy_from_slice(&SIM_IP);
        }
        [0x08, 0x00] if p[30..34] == SIM_IP => {
            let ihl = usize::from(p[14] & 0xf) * 4;
            let total = usize::from(u16::from_be_bytes([p[16], p[17]]));
            if p[23] != 1 || ihl < 20 || total < ihl + 8 || 14 + total > p.len() {
                return false;
            }
            let icmp = 14 + ihl;
            if p[icmp] != 8 {
                return false;
            }
            let src: [u8; 4] = p[26..30].try_into().unwrap();
            p[26..30].copy_from_slice(&SIM_IP);
            p[30..34].copy_from_slice(&src);
            p[icmp] = 0;
            p[icmp + 2..icmp + 4].fill(0);
            let c = checksum(&p[icmp..14 + total]);
            p[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
        }
        _ => return false,
    }
    p[..6].copy_from_slice(&peer);
    p[6..12].copy_from_slice(&mac);
    true
}

/// `rtt min/avg/max/mdev = a/b/c/d ms` → (min, avg, max) in microseconds.
fn rtt(ping_out: &str) -> (f64, f64, f64) {
    let line = ping_out
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or_else(|| panic!("no rtt line: {ping_out}"));
    let nums: Vec<f64> = line
        .split('=')
        .nth(1)
        .unwrap()
        .split(" ms")
        .next()
        .unwrap()
        .trim()
        .split('/')
        .map(|v| v.parse::<f64>().unwrap() * 1000.0)
        .collect();
    (nums[0], nums[1], nums[2])
}

#[test]
fn kernel_pings_the_driver_through_the_tap() {
    if let Some(why) = cannot_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let pid = std::process::id();
    let ns = Ns(format!("igbpt{pid}"));
    let _ = Command::new("ip").args(["netns", "del", &ns.0]).output();
    ip(&["netns", "add", &ns.0]);
    let name = format!("tpe{}", pid % 1_000_000);
    let tap = Tap::open(&name).expect("open the TAP");
    let counters = tap.counters();
    // Made in this namespace, moved into the test's before it has an address.
    ip(&["link", "set", "dev", &name, "netns", &ns.0]);
    let in_ns = |args: &[&str]| {
        let mut a = vec!["netns", "exec", &ns.0, "ip"];
        a.extend_from_slice(args);
        ip(&a)
    };
    in_ns(&["link", "set", "lo", "up"]);
    let host = format!(
        "{}.{}.{}.{}/24",
        HOST_IP[0], HOST_IP[1], HOST_IP[2], HOST_IP[3]
    );
    let target = format!("{}.{}.{}.{}", SIM_IP[0], SIM_IP[1], SIM_IP[2], SIM_IP[3]);
    in_ns(&["addr", "add", &host, "dev", &name]);
    in_ns(&["link", "set", &name, "up"]);

    let sim = Sim::new(SimConfig::igb());
    tap.attach(&sim).expect("attach the TAP");
    sim.start();
    let mut nic = Nic::open(sim.backend(), &NicConfig::default()).expect("open the NIC");
    let mac = nic.mac();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let responder = std::thread::spawn(move || {
        let mut batch: Vec<Packet> = Vec::with_capacity(64);
        let mut out: Vec<Packet> = Vec::with_capacity(64);
        let mut answered = 0u64;
        while !stop2.load(Ordering::Relaxed) {
            if nic.rx_batch(0, &mut batch, 64) == 0 {
                std::hint::spin_loop();
            }
            for mut p in batch.drain(..) {
                if answer(&mut p, mac) {
                    out.push(p);
                }
            }
            while !out.is_empty() {
                answered += nic.tx_batch(0, &mut out) as u64;
            }
        }
        answered
    });

    let started = Instant::now();
    let ping = Command::new("ip")
        .args(["netns", "exec", &ns.0, "ping", "-c", "200", "-i", "0.005"])
        .args(["-W", "1", "-q", &target])
        .output()
        .expect("run ping");
    let took = started.elapsed();
    // A frame longer than the TAP end's maximum (1518 bytes) is dropped there
    // and counted: a 1900-byte ping on a 2000-byte MTU.
    in_ns(&["link", "set", "dev", &name, "mtu", "2000"]);
    let big = Command::new("ip")
        .args([
            "netns", "exec", &ns.0, "ping", "-c", "1", "-W", "1", "-s", "1900",
        ])
        .arg(&target)
        .output()
        .expect("run ping");
    assert!(!big.status.success(), "a 1942-byte frame got an answer");
    stop.store(true, Ordering::Relaxed);
    let answered = responder.join().expect("responder");
    let text = String::from_utf8_lossy(&ping.stdout).into_owned();
    assert!(
        text.contains(" 0% packet loss"),
        "{text}{}",
        String::from_utf8_lossy(&ping.stderr)
    );
    let (min, avg, max) = rtt(&text);
    let s = counters.snapshot();
    println!(
        "ping through the TAP: rtt min {min:.0} us, avg {avg:.0} us, max {max:.0} us \
         ({took:?} for 200); TAP {s:?}; answered {answered}"
    );
    // The ARP request (42 bytes from the kernel) was padded, and was answered.
    assert!(s.rx_padded >= 1, "{s:?}");
    assert!(s.rx_oversize >= 1, "{s:?}");
    assert!(answered >= 201, "{answered}");
    assert!(s.tx_frames >= 201 && s.tx_errors == 0, "{s:?}");
    // The engine slept between pings and the wake-up thread woke it.
    assert!(s.wakeups >= 1, "{s:?}");
    // Generous bounds: other work shares the two cores. Typical figures (min
    // ~20 us, avg 30-90 us when the machine is quiet) are printed above.
    assert!(
        min < 2_000.0 && avg < 20_000.0,
        "RTT min {min} us, avg {avg} us"
    );
}
