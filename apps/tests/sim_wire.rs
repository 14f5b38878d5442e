//! The simulated wire's ends through the CLI: `--tap IFNAME` (the host kernel on
//! the far end, inside a network namespace this test creates: no traffic leaves
//! it) and the fault stage (`--sim-loss` and friends).
//!
//! The TAP tests need root, /dev/net/tun, iproute2, ping and tcpdump; they are
//! skipped with a printed reason otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{igbpoll, read_frames, tmp};

/// One namespace at a time: each runs a simulator, and there are two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// The namespace's subnet (RFC 2544's benchmarking range): the TAP's address,
/// and one that nobody has, so the kernel keeps asking for it with ARP.
const TAP_IP: &str = "198.18.77.1";
const ABSENT_IP: &str = "198.18.77.2";

const BIN: &str = env!("CARGO_BIN_EXE_igbpoll");

/// Why the TAP tests cannot run here, if they cannot.
fn cannot_run() -> Option<String> {
    common::netns::cannot_run(&["ping", "tcpdump"])
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace with a TAP device at TAP_IP/24 (IPv6 off, so the
/// kernel's own traffic on it is ARP and what the test sends), deleted on drop
/// even when the test fails.
struct Ns {
    name: String,
    tap: String,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("igbpw{}{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Ns {
            name,
            tap: format!("tapw{tag}"),
        };
        let tap = ns.tap.clone();
        run(&mut ns.cmd(&["ip", "link", "set", "lo", "up"]));
        run(&mut ns.cmd(&["ip", "tuntap", "add", "dev", &tap, "mode", "tap"]));
        run(&mut ns.cmd(&[
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv6.conf.{tap}.disable_ipv6=1"),
        ]));
        run(&mut ns.cmd(&["ip", "addr", "add", &format!("{TAP_IP}/24"), "dev", &tap]));
        run(&mut ns.cmd(&["ip", "link", "set", &tap, "up"]));
        ns
    }

    /// `ip netns exec NS args...`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A child process killed on drop, with its stderr lines collected.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until a stderr line contains `what`.
    fn wait_for(&mut self, what: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while !self.seen.iter().any(|l| l.contains(what)) {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no `{what}` within {timeout:?}: {:?}", self.seen),
            }
        }
    }

    /// Waits for the exit (killing it after `timeout`); returns success and stderr.
    fn finish(mut self, timeout: Duration) -> (bool, String) {
        let end = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > end {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(l);
        }
        let ok = status.is_some_and(|s| s.success());
        (ok, self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number before `suffix` in the line that holds `prefix`.
fn count_in(stderr: &str, prefix: &str, suffix: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {stderr}"));
    let before = line
        .split(suffix)
        .next()
        .filter(|b| b.len() < line.len())
        .unwrap_or_else(|| panic!("no `{suffix}` in {line}"));
    before
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number before `{suffix}` in {line}"))
}

fn ipv4(s: &str) -> [u8; 4] {
    let v: Vec<u8> = s.split('.').map(|p| p.parse().unwrap()).collect();
    [v[0], v[1], v[2], v[3]]
}

/// Runs `ping` in the namespace towards the absent address long enough for the
/// kernel to send at least `arps` ARP requests (one a second), while `capture`
/// waits for them.
fn ping_absent(ns: &Ns, arps: u32) {
    let _ = ns
        .cmd(&[
            "ping",
            "-c",
            &(arps + 1).to_string(),
            "-i",
            "1",
            "-W",
            "1",
            ABSENT_IP,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[test]
fn tap_delivers_the_kernels_arp_requests_padded_to_60_bytes() {
    if let Some(why) = cannot_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("a");
    let out = tmp("tap-arp.pcap");
    let mut cap = Running::spawn(ns.cmd(&[
        BIN,
        "--sim",
        "igb",
        "--tap",
        &ns.tap,
        "capture",
        "-c",
        "3",
        "--duration",
        "30",
        "-w",
        out.to_str().unwrap(),
        "arp",
    ]));
    cap.wait_for("capturing on", Duration::from_secs(20));
    ping_absent(&ns, 3);
    let (ok, stderr) = cap.finish(Duration::from_secs(20));
    assert!(ok, "{stderr}");
    let frames = read_frames(&out);
    assert_eq!(frames.len(), 3, "{stderr}");
    for f in &frames {
        // The kernel wrote a 42-byte ARP request; the NIC got it padded to 60.
        assert_eq!(f.len(), 60, "{f:02x?}");
        assert_eq!(f[..6], [0xff; 6], "broadcast");
        assert_eq!(f[12..14], [0x08, 0x06], "ARP");
        assert_eq!(f[20..22], [0, 1], "request");
        assert_eq!(f[28..32], ipv4(TAP_IP), "sender");
        assert_eq!(f[38..42], ipv4(ABSENT_IP), "target");
        assert!(f[42..].iter().all(|&b| b == 0), "zero padding: {f:02x?}");
    }
    assert!(
        count_in(&stderr, &format!("tap {}:", ns.tap), "padded") >= 3,
        "{stderr}"
    );
}

#[test]
fn send_pcap_goes_out_through_the_tap_to_the_kernel() {
    if let Some(why) = cannot_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("b");
    // Five broadcast frames of a local experimental EtherType, each with its
    // number, of several sizes (a short one is padded to 60 by the NIC).
    let frames: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&[0x02, 0, 0, 0x77, 0, i]);
            f.extend_from_slice(&[0x88, 0xb5]);
            let len = [60usize, 100, 514, 1514, 200][usize::from(i)];
            f.extend((14..len).map(|k| (k as u8) ^ i));
            f
        })
        .collect();
    let input = tmp("tap-send-in.pcap");
    {
        let file = std::fs::File::create(&input).unwrap();
        let mut w = pcap_file::pcap::PcapWriter::new(file).unwrap();
        for (k, f) in frames.iter().enumerate() {
            w.write_packet(&pcap_file::pcap::PcapPacket::new(
                Duration::from_millis(k as u64),
                f.len() as u32,
                f,
            ))
            .unwrap();
        }
    }
    let seen = tmp("tap-send-seen.pcap");
    let mut dump = Running::spawn(ns.cmd(&[
        "tcpdump",
        "-i",
        &ns.tap,
        "-U",
        "-c",
        "5",
        "-w",
        seen.to_str().unwrap(),
        "ether proto 0x88b5",
    ]));
    dump.wait_for("listening on", Duration::from_secs(20));
    let out = ns
        .cmd(&[
            BIN,
            "--sim",
            "igb",
            "--tap",
            &ns.tap,
            "send",
            "--pcap",
            input.to_str().unwrap(),
        ])
        .output()
        .expect("run igbpoll send");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        count_in(&stderr, &format!("tap {}:", ns.tap), "frames to the kernel"),
        5,
        "{stderr}"
    );
    let (ok, dump_err) = dump.finish(Duration::from_secs(10));
    assert!(ok, "tcpdump: {dump_err}");
    assert_eq!(read_frames(&seen), frames, "tcpdump saw the frames sent");
}

#[test]
fn faults_on_the_tap_end_dup_every_kernel_frame() {
    if let Some(why) = cannot_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("c");
    let out = tmp("tap-dup.pcap");
    let mut cap = Running::spawn(ns.cmd(&[
        BIN,
        "--sim",
        "igb",
        "--tap",
        &ns.tap,
        "--sim-dup",
        "100%",
        "capture",
        "-c",
        "4",
        "--duration",
        "30",
        "-w",
        out.to_str().unwrap(),
        "arp",
    ]));
    cap.wait_for("capturing on", Duration::from_secs(20));
    ping_absent(&ns, 2);
    let (ok, stderr) = cap.finish(Duration::from_secs(20));
    assert!(ok, "{stderr}");
    let frames = read_frames(&out);
    assert_eq!(frames.len(), 4, "{stderr}");
    assert_eq!(frames[0], frames[1], "each ARP request twice in a row");
    assert_eq!(frames[2], frames[3]);
    assert!(frames.iter().all(|f| f.len() == 60 && f[12..14] == [8, 6]));
    let dup = count_in(&stderr, "faults towards the NIC", "duplicated");
    let seen = count_in(&stderr, "faults towards the NIC", "frames,");
    assert!(dup >= 2 && dup == seen, "{stderr}");
}

fn capture_args<'a>(extra: &[&'a str], count: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut a = vec!["--sim", "igb"];
    a.extend_from_slice(extra);
    a.extend(["capture", "-c", count, "-w", out]);
    a
}

#[test]
fn sim_loss_drops_about_the_rate_and_reports_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = tmp("loss.pcap");
    let run = igbpoll(&capture_args(
        &[
            "--sim-size",
            "60",
            "--sim-loss",
            "10%",
            "--sim-fault-seed",
            "5",
        ],
        "30000",
        out.to_str().unwrap(),
    ));
    let stderr = common::ok(&run);
    assert_eq!(read_frames(&out).len(), 30000);
    let line = "faults towards the NIC";
    let frames = count_in(&stderr, line, "frames,");
    let lost = count_in(&stderr, line, "lost");
    let delivered = count_in(&stderr, line, "delivered");
    assert_eq!(delivered, frames - lost, "{stderr}");
    assert!(delivered >= 30000, "{stderr}");
    let rate = lost as f64 / frames as f64;
    // 30k+ frames: the standard deviation of the rate is under 0.002.
    assert!((rate - 0.10).abs() < 0.012, "loss rate {rate}: {stderr}");
    // The NIC saw only what the stage let through.
    let received = common::summary_count(&stderr, "packets received by the NIC");
    assert!(received <= delivered, "{stderr}");
}

#[test]
fn same_fault_seed_same_capture_other_seed_another() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = |seed: &str, name: &str| {
        let out = tmp(name);
        let run = igbpoll(&capture_args(
            &[
                "--sim-seed",
                "3",
                "--sim-loss",
                "0.05",
                "--sim-reorder",
                "5%",
                "--sim-dup",
                "2%",
                "--sim-corrupt",
                "3%",
                "--sim-fault-seed",
                seed,
            ],
            "5000",
            out.to_str().unwrap(),
        ));
        let stderr = common::ok(&run);
        for what in ["lost", "reordered", "duplicated", "corrupted"] {
            assert!(
                count_in(&stderr, "faults towards the NIC", what) > 0,
                "{what}: {stderr}"
            );
        }
        read_frames(&out)
    };
    let a = cap("11", "seed-a.pcap");
    let b = cap("11", "seed-b.pcap");
    let c = cap("12", "seed-c.pcap");
    assert_eq!(a.len(), 5000);
    assert!(a == b, "same seed, same frames in the same order");
    assert!(a != c, "another seed, another capture");
}

#[test]
fn bad_fault_rates_and_tap_combinations_are_refused() {
    for (flag, value) in [
        ("--sim-loss", "1.5"),
        ("--sim-loss", "abc"),
        ("--sim-reorder", "-1%"),
        ("--sim-dup", "101%"),
        ("--sim-corrupt", "nan"),
    ] {
        // `--flag=value`, so that `-1%` is not taken for an option.
        let arg = format!("{flag}={value}");
        let run = igbpoll(&["--sim", "igb", &arg, "capture", "-c", "1"]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{flag} {value}");
        assert!(stderr.contains("is not a rate"), "{flag} {value}: {stderr}");
    }
    for other in [
        &["--sim-rate", "10"][..],
        &["--sim-size", "60"][..],
        &["--sim-replay", "x.pcap"][..],
    ] {
        let mut args = vec!["--sim", "igb", "--tap", "tapx"];
        args.extend_from_slice(other);
        args.extend(["capture", "-c", "1"]);
        let run = igbpoll(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?}");
        assert!(stderr.contains("cannot be used with"), "{args:?}: {stderr}");
    }
    let run = igbpoll(&["--sim", "igb", "--tap", "a/b", "capture", "-c", "1"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("TAP interface name `a/b`"), "{stderr}");
}
