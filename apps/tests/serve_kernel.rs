//! `igbpoll serve` against the Linux kernel's own ARP/ICMP/UDP/TCP: the
//! simulated NIC's wire ends on a TAP device inside a network namespace this
//! test creates, the stack runs on the simulator, and ping, arping, curl,
//! socat and a UDP client in the namespace are its peers. Traffic never
//! leaves the namespace.
//!
//! Needs root, /dev/net/tun, iproute2, ping, arping, curl, socat, nft and
//! python3 (the test command installs them); skipped with a message otherwise.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::netns::Netns;
use sha2::{Digest, Sha256};

/// One namespace at a time: each runs a simulator, a stack and its peers,
/// and this machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

const HOST_IP: &str = "10.77.0.1";
const STACK_IP: &str = "10.77.0.2";
/// On the subnet, never answered for: the SYN flood's spoofed source.
const GHOST_IP: &str = "10.77.0.200";
/// TIME-WAIT lasts twice this.
const MSL_MS: u64 = 250;

fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peer")
        .join(name)
}

/// Why these tests cannot run here, if they cannot.
fn cannot_run() -> Option<String> {
    common::netns::cannot_run(&["ping", "arping", "curl", "socat", "nft", "python3"])
}

/// A network namespace with a TAP device `tap0` at HOST_IP/24.
struct Ns(Netns);

impl Ns {
    fn new(tag: &str) -> Ns {
        let ns = Netns::new(tag);
        ns.add_tap("tap0", &format!("{HOST_IP}/24"));
        Ns(ns)
    }
}

impl std::ops::Deref for Ns {
    type Target = Netns;
    fn deref(&self) -> &Netns {
        &self.0
    }
}

/// `igbpoll --sim igb --tap tap0 ... serve ...` inside a namespace.
struct Serve {
    child: Option<Child>,
    log: PathBuf,
}

impl Serve {
    fn start(ns: &Ns, dev_args: &[&str], serve_args: &[&str]) -> Serve {
        let log = common::tmp(&format!("{}.serve.log", ns.name));
        let file = std::fs::File::create(&log).expect("log file");
        let mut args: Vec<String> = vec![
            env!("CARGO_BIN_EXE_igbpoll").into(),
            "--sim".into(),
            "igb".into(),
            "--tap".into(),
            "tap0".into(),
        ];
        args.extend(dev_args.iter().map(|s| s.to_string()));
        args.extend(
            [
                "serve",
                "--ip",
                &format!("{STACK_IP}/24"),
                "--msl-ms",
                &MSL_MS.to_string(),
                "--seed",
                "1",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.extend(serve_args.iter().map(|s| s.to_string()));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start igbpoll serve");
        let serve = Serve {
            child: Some(child),
            log,
        };
        // Up once the stack answers a ping.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = ns.sh(&format!("ping -c 1 -W 1 {STACK_IP}"));
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the stack never answered a ping: {}",
                serve.log_text()
            );
        }
        serve
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, wait, and the log.
    fn stop(mut self) -> String {
        let mut child = self.child.take().expect("running");
        // `ip netns exec` execs igbpoll, so the pid is igbpoll's.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let log = self.log_text();
                assert!(status.success(), "igbpoll serve failed: {log}");
                return log;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("igbpoll serve did not stop on SIGTERM: {}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Counter `name` on the stack's exit line.
fn exit_stat(log: &str, name: &str) -> u64 {
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with("stack at exit:"))
        .unwrap_or_else(|| panic!("no exit line in {log}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == name)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in {line}"))
}

fn check(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

macro_rules! need_root {
    () => {
        if let Some(why) = cannot_run() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

#[test]
fn ping_arping_and_udp_echo_against_the_kernel() {
    need_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("icmp");
    let serve = Serve::start(&ns, &[], &["--udp-echo", "7"]);

    let out = ns.sh(&format!("ping -c 1000 -i 0.002 -q {STACK_IP}"));
    let text = check(&out, "ping");
    assert!(
        text.contains("1000 packets transmitted, 1000 received, 0% packet loss"),
        "{text}"
    );

    let out = ns.sh(&format!("arping -c 3 -w 5 -I tap0 {STACK_IP}"));
    let text = check(&out, "arping");
    assert!(text.contains("Received 3 response"), "{text}");

    let script = peer_script("udp_echo.py");
    let out = ns.sh(&format!(
        "python3 {} {STACK_IP} 7 10000 32",
        script.display()
    ));
    let text = check(&out, "UDP echo of 10,000 datagrams");
    assert!(text.contains("received 10000 bad 0 missing 0"), "{text}");

    // A closed UDP port gets port unreachable: the kernel reports ECONNREFUSED.
    let out = ns.sh(&format!(
        "python3 -c \"import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.connect(('{STACK_IP}',9));s.send(b'x');s.settimeout(2)\ntry:\n s.recv(10)\nexcept ConnectionRefusedError:\n print('refused')\""
    ));
    assert!(check(&out, "closed UDP port").contains("refused"));

    let log = serve.stop();
    assert!(exit_stat(&log, "udp_echoed") >= 10_000, "{log}");
}

#[test]
fn tcp_echo_and_http_with_curl_sequential_and_parallel() {
    need_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("http");
    let serve = Serve::start(&ns, &[], &["--tcp-echo", "7", "--http", "80"]);

    let out = ns.sh(&format!(
        "printf 'hello over tcp\\n' | socat -t 5 - TCP:{STACK_IP}:7"
    ));
    assert_eq!(check(&out, "TCP echo"), "hello over tcp\n");

    let out = ns.sh(&format!(
        "for i in $(seq 100); do curl -sS --max-time 5 http://{STACK_IP}/ || exit 1; done"
    ));
    let text = check(&out, "100 sequential curls");
    assert_eq!(
        text.matches("hello from the user-space stack").count(),
        100,
        "{text}"
    );

    let urls: String = (0..50)
        .map(|i| format!(" -o /dev/null http://{STACK_IP}/bytes/{}", 1000 + i))
        .collect();
    let out = ns.sh(&format!(
        "curl -sS -Z --parallel-max 50 --max-time 20 -w '%{{http_code}} %{{size_download}}\\n'{urls}"
    ));
    let text = check(&out, "50 parallel curls");
    let mut sizes: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("200 "))
        .map(|s| s.trim().parse().unwrap())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, (1000..1050).collect::<Vec<u64>>(), "{text}");

    let out = ns.sh(&format!(
        "curl -sS -o /dev/null -w '%{{http_code}}' http://{STACK_IP}/nope"
    ));
    assert_eq!(check(&out, "404"), "404");

    // Every connection is gone once TIME-WAIT (2 x MSL) has passed.
    std::thread::sleep(Duration::from_millis(4 * MSL_MS + 500));
    let log = serve.stop();
    assert_eq!(exit_stat(&log, "connections_open"), 0, "{log}");
    assert!(exit_stat(&log, "http_requests") >= 151, "{log}");
}

/// The `/bytes/N` pattern (the server's `pattern_byte`).
fn pattern(n: usize) -> Vec<u8> {
    (0..n as u64)
        .map(|i| ((i.wrapping_mul(131).wrapping_add(7)) ^ (i >> 8)) as u8)
        .collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// 100 MB up (PUT /sha256: the stack hashes what it received) and 100 MB
/// down (GET /bytes/N, hashed here), both checked with SHA-256. Returns the
/// goodput of each direction in Mbit/s.
fn transfer_100mb_each_way(ns: &Ns) -> (f64, f64) {
    const N: usize = 100 * 1000 * 1000;
    let file = common::tmp(&format!("{}.upload", ns.name));
    let mut data = vec![0u8; N];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(&data))
        .expect("write the upload file");
    let want_up = hex(&Sha256::digest(&data));
    drop(data);

    let t = Instant::now();
    let out = ns.sh(&format!(
        "curl -sS --max-time 240 -T {} http://{STACK_IP}/sha256",
        file.display()
    ));
    let up_secs = t.elapsed().as_secs_f64();
    let got = check(&out, "100 MB upload");
    assert_eq!(
        got.trim(),
        want_up,
        "the stack received other bytes than were sent"
    );
    let _ = std::fs::remove_file(&file);

    let want_down = hex(&Sha256::digest(pattern(N)));
    let t = Instant::now();
    let out = ns.sh(&format!(
        "curl -sS --max-time 240 http://{STACK_IP}/bytes/{N} | sha256sum"
    ));
    let down_secs = t.elapsed().as_secs_f64();
    let got = check(&out, "100 MB download");
    assert_eq!(
        got.split_whitespace().next().unwrap_or(""),
        want_down,
        "the kernel received other bytes than the stack sent"
    );
    let mbit = |s: f64| N as f64 * 8.0 / s / 1e6;
    (mbit(up_secs), mbit(down_secs))
}

#[test]
fn tcp_100mb_each_way_clean() {
    need_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("bulk");
    let serve = Serve::start(&ns, &[], &["--http", "80"]);
    let (up, down) = transfer_100mb_each_way(&ns);
    eprintln!("clean: kernel -> stack {up:.0} Mbit/s, stack -> kernel {down:.0} Mbit/s");
    std::thread::sleep(Duration::from_millis(2 * MSL_MS + 500));
    let log = serve.stop();
    assert_eq!(exit_stat(&log, "connections_open"), 0, "{log}");
}

#[test]
fn tcp_100mb_each_way_with_loss_and_reordering() {
    need_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("lossy");
    // hw-sim's fault stage: 1% loss and 1% reordering each way; and the
    // kernel side drops another 0.5% of what it sends, with nftables.
    let serve = Serve::start(
        &ns,
        &[
            "--sim-loss",
            "1%",
            "--sim-reorder",
            "1%",
            "--sim-fault-seed",
            "5",
        ],
        &["--http", "80"],
    );
    let nft = ns.sh(
        "nft add table inet igbp && \
         nft add chain inet igbp out '{ type filter hook output priority 0; }' && \
         nft add rule inet igbp out 'oifname tap0 meta l4proto tcp numgen random mod 1000 < 5 counter drop'",
    );
    check(&nft, "nftables loss rule");
    let (up, down) = transfer_100mb_each_way(&ns);
    eprintln!(
        "1% loss + 1% reordering: kernel -> stack {up:.0} Mbit/s, stack -> kernel {down:.0} Mbit/s"
    );
    let counters = check(&ns.sh("nft list chain inet igbp out"), "nft list");
    assert!(
        !counters.contains("packets 0 "),
        "nftables dropped nothing: {counters}"
    );
    std::thread::sleep(Duration::from_millis(2 * MSL_MS + 500));
    let log = serve.stop();
    assert!(
        exit_stat(&log, "retransmits") > 0,
        "no retransmission under loss? {log}"
    );
    assert_eq!(exit_stat(&log, "connections_open"), 0, "{log}");
}

#[test]
fn hostile_frames_and_a_syn_flood_leave_the_stack_serving() {
    need_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = Ns::new("hostile");
    let serve = Serve::start(&ns, &[], &["--http", "80", "--udp-echo", "7"]);
    let mac = serve
        .log_text()
        .lines()
        .find_map(|l| l.split_once(", MAC ").map(|(_, r)| r[..17].to_string()))
        .expect("the banner names the MAC");
    let out = ns.sh(&format!(
        "python3 {} tap0 {mac} {STACK_IP} {HOST_IP} 80 100000 {GHOST_IP}",
        peer_script("hostile.py").display()
    ));
    let sent = check(&out, "hostile frames");
    assert!(sent.contains("syn_flood=100000"), "{sent}");
    // Still serving, to a real client, right after the flood.
    let out = ns.sh(&format!("ping -c 5 -i 0.05 -q {STACK_IP}"));
    assert!(check(&out, "ping after the flood").contains(" 0% packet loss"));
    let out = ns.sh(&format!(
        "curl -sS --max-time 10 --retry 3 http://{STACK_IP}/"
    ));
    assert!(check(&out, "curl after the flood").contains("hello from the user-space stack"));
    let log = serve.stop();
    // What was dropped is counted.
    for name in [
        "rx_ipv4_bad_checksum",
        "rx_tcp_bad_checksum",
        "rx_udp_bad_checksum",
    ] {
        assert!(exit_stat(&log, name) >= 50, "{name}: {log}");
    }
    assert!(
        exit_stat(&log, "syn_dropped") + exit_stat(&log, "half_open_evicted") > 0,
        "the flood left no trace in the counters: {log}"
    );
}
