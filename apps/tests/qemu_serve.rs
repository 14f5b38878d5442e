//! `igbpoll serve` over the real VFIO path: the stack in a QEMU guest (emulated
//! Intel IOMMU, TCG) on QEMU's emulated 82576 and 82540EM, each NIC on a host
//! TAP device (`-netdev tap`) inside a network namespace this test creates, so
//! the host kernel's own ARP, ICMP, UDP and TCP are the stack's peers. Traffic
//! never leaves the namespace.
//!
//! One boot (qemu/guest/serve.sh runs the steps and waits on the serial console
//! for the host between them):
//! 1. the guest kernel's igb driver answers ping over the TAP and moves a
//!    SHA-256-checked file each way (busybox httpd and nc): the harness checked
//!    without igbpoll, and baseline figures;
//! 2. per NIC (igb, then e1000): `igbpoll bind` (refused while the kernel's
//!    interface still has an address), `igbpoll --pci BDF serve`, then from the
//!    namespace: ping with no loss, curl `/`, TCP and UDP echo, a transfer each
//!    way checked with SHA-256 (`curl -T` to `/sha256`, `curl /bytes/N` piped
//!    to sha256sum), every connection closed within 2 x MSL + 5 s (serve's
//!    --stats lines), then SIGTERM and the counters on serve's exit line.
//!
//! A build without `serve` runs step 1 on both NICs and then fails, saying so.
//!
//! Measured here (TCG, 2 shared cores; 4 MB each way; figures vary a lot with
//! the machine's load): the whole run 43-61 s; ping RTT against serve min
//! 0.11-0.22 ms, avg 0.2-0.5 ms, but on the igb under load avg up to 80 ms with
//! single replies up to 580 ms (the kernel's igb: avg 0.6-2.6 ms, max 35 ms);
//! kernel -> stack 38-274 Mbit/s, stack -> kernel 131-216 Mbit/s on both NICs
//! (kernel igb + busybox: 19-63 up, 47-471 down).
//!
//! Boots a guest (under a minute under TCG), needs root, /dev/net/tun, iproute2,
//! ping, curl, socat and sha256sum, so it is `#[ignore]`d in a plain `cargo
//! test`; scripts/test-all.sh provisions QEMU and runs it with `--ignored`.

mod common;

use common::netns::Netns;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// MSL given to serve: TIME-WAIT lasts twice this.
const MSL_MS: u64 = 200;

/// The upload and the download of each igbpoll step, in bytes.
const TRANSFER: usize = 4 * 1000 * 1000;

/// One NIC of the guest: its TAP in the namespace, the host's and the
/// guest's addresses (a /24 each).
struct Nic {
    name: &'static str,
    tap: &'static str,
    host_ip: &'static str,
    guest_ip: &'static str,
}

const IGB: Nic = Nic {
    name: "igb",
    tap: "qtap0",
    host_ip: "10.78.0.1",
    guest_ip: "10.78.0.2",
};
const E1000: Nic = Nic {
    name: "e1000",
    tap: "qtap1",
    host_ip: "10.78.1.1",
    guest_ip: "10.78.1.2",
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// What this test needs and does not find, if anything.
fn missing_prerequisite() -> Option<String> {
    common::netns::cannot_run(&["ping", "curl", "socat", "sha256sum"])
}

/// A network namespace with one TAP device per NIC, removed on drop.
struct Ns(Netns);

impl Ns {
    fn new() -> Ns {
        let ns = Netns::new("qemu");
        for nic in [&IGB, &E1000] {
            ns.add_tap(nic.tap, &format!("{}/24", nic.host_ip));
        }
        Ns(ns)
    }
}

impl std::ops::Deref for Ns {
    type Target = Netns;
    fn deref(&self) -> &Netns {
        &self.0
    }
}

/// The guest: qemu/run-guest.sh inside the namespace, its serial console on
/// our stdout pipe (lines) and stdin (what the guest script reads).
struct Guest<'a> {
    ns: &'a Ns,
    child: Child,
    console: Option<ChildStdin>,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl<'a> Guest<'a> {
    fn boot(ns: &'a Ns, initrd: &Path, knobs: &str) -> Guest<'a> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "bash"])
            .arg(repo().join("qemu/run-guest.sh"))
            .args(["-c", "-t", "480"])
            .args(["-i", &format!("tap:{}", IGB.tap)])
            .args(["-e", &format!("tap:{}", E1000.tap)])
            .args(["-a", &format!("igbpoll.bind=none igbpoll.kmods=1 {knobs}")])
            .arg(initrd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run-guest.sh");
        let (tx, lines) = mpsc::channel::<String>();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let line = line.trim_end_matches('\r').to_string();
                println!("guest| {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Guest {
            ns,
            console: child.stdin.take(),
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// The next console line containing `pat`, within `secs`. Fails at once on
    /// a line containing one of `fail`, or on the guest's last line.
    fn expect_or(&mut self, pat: &str, fail: &[&str], secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(pat) {
                        return line;
                    }
                    let last = ["IGBPOLL-GUEST: done rc="];
                    let failed = fail.iter().chain(&last).find(|f| line.contains(**f));
                    if let Some(f) = failed {
                        panic!("waiting for '{pat}', the guest printed '{f}': {line}");
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no '{pat}' from the guest within {secs} s")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the guest ended before printing '{pat}'")
                }
            }
        }
    }

    /// The next console line containing `pat`, within `secs`.
    fn expect(&mut self, pat: &str, secs: u64) -> String {
        self.expect_or(pat, &[], secs)
    }

    /// Moves the console lines received so far into the log, unread.
    fn drain(&mut self) {
        let pending: Vec<String> = self.lines.try_iter().collect();
        self.log.extend(pending);
    }

    /// The rc the guest script reported for `what` ("IGBPOLL-T: rc WHAT N").
    fn rc(&mut self, what: &str, secs: u64) -> i32 {
        let key = format!("IGBPOLL-T: rc {what} ");
        let line = self.expect(&key, secs);
        let (_, n) = line.split_once(&key).unwrap();
        n.trim()
            .parse()
            .unwrap_or_else(|_| panic!("bad rc line {line}"))
    }

    /// Types one line on the guest's serial console.
    fn say(&mut self, line: &str) {
        let c = self.console.as_mut().expect("console open");
        writeln!(c, "{line}").expect("write to the guest console");
        c.flush().unwrap();
    }

    /// The console lines read so far, from the first one containing `from`.
    fn log_since(&self, from: &str) -> &[String] {
        let i = self.log.iter().rposition(|l| l.contains(from)).unwrap_or(0);
        &self.log[i..]
    }

    /// Waits for QEMU to end (the guest powers off after its last step).
    fn finish(mut self, secs: u64) -> bool {
        self.console.take();
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().expect("wait run-guest.sh") {
                for line in self.lines.try_iter() {
                    self.log.push(line);
                }
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Guest<'_> {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // QEMU runs under timeout(1) in its own process group: end every
            // process in our namespace by pid, then reap run-guest.sh.
            for pid in self.ns.pids() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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

/// Pings `ip` until it answers (ARP resolved, stack up), within `secs`.
fn wait_for_ping(ns: &Ns, ip: &str, secs: u64) -> Duration {
    let t = Instant::now();
    while !ns.sh(&format!("ping -c 1 -W 1 {ip}")).status.success() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{ip} never answered a ping within {secs} s"
        );
    }
    t.elapsed()
}

/// `ping -c 20`: no loss allowed; returns the rtt min/avg/max line's numbers.
fn ping_20(ns: &Ns, ip: &str) -> [f64; 3] {
    let text = check(&ns.sh(&format!("ping -c 20 -i 0.2 -q {ip}")), "ping");
    assert!(
        text.contains("20 packets transmitted, 20 received, 0% packet loss"),
        "{text}"
    );
    let rtt = text
        .lines()
        .find_map(|l| l.strip_prefix("rtt min/avg/max/mdev = "))
        .unwrap_or_else(|| panic!("no rtt line in {text}"));
    let v: Vec<f64> = rtt
        .trim_end_matches(" ms")
        .split('/')
        .filter_map(|x| x.parse().ok())
        .collect();
    [v[0], v[1], v[2]]
}

/// The `/bytes/N` pattern: byte i is ((i*131+7) ^ (i>>8)) & 0xff.
fn pattern(n: usize) -> Vec<u8> {
    (0..n as u64)
        .map(|i| ((i.wrapping_mul(131).wrapping_add(7)) ^ (i >> 8)) as u8)
        .collect()
}

/// Pseudo-random bytes (xorshift), so the upload is nothing like the pattern.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

/// The hex SHA-256 of a file, by sha256sum.
fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Counter `name` on serve's "stack at exit:" line.
fn exit_stat(line: &str, name: &str) -> u64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == name)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in {line}"))
}

/// What one igbpoll step measured.
struct Figures {
    first_answer: Duration,
    rtt: [f64; 3],
    up_mbit: f64,
    down_mbit: f64,
}

/// Files the transfers use, with their SHA-256.
struct Transfer {
    upload: PathBuf,
    upload_sha: String,
    download_sha: String,
}

/// The checks against `igbpoll serve` on `nic`, from bind to the exit line.
fn serve_step(guest: &mut Guest, nic: &Nic, after_kernel: bool, files: &Transfer) -> Figures {
    let ns = guest.ns;
    if after_kernel {
        assert_ne!(
            guest.rc(&format!("bind-in-use-{}", nic.name), 60),
            0,
            "{}: igbpoll bind took a NIC whose kernel interface has an address",
            nic.name
        );
    }
    assert_eq!(
        guest.rc(&format!("bind-{}", nic.name), 60),
        0,
        "igbpoll bind"
    );
    let ended = format!("IGBPOLL-T: rc igbpoll-{} ", nic.name);
    let banner = guest.expect_or("igbpoll serve:", &[&ended], 60);
    assert!(
        banner.contains(&format!("{}/24", nic.guest_ip)),
        "banner names the address: {banner}"
    );
    guest.expect(&format!("IGBPOLL-T: wait igbpoll {}", nic.name), 30);

    // The stack resolves the host's ARP request (the entry the kernel step
    // left is flushed first) and answers ICMP echo.
    let _ = ns.sh(&format!("ip neigh flush dev {}", nic.tap));
    let first_answer = wait_for_ping(ns, nic.guest_ip, 30);
    let rtt = ping_20(ns, nic.guest_ip);
    let neigh = check(
        &ns.sh(&format!("ip neigh show {} dev {}", nic.guest_ip, nic.tap)),
        "ip neigh",
    );
    let mac = if nic.name == "igb" {
        "52:54:00:12:34:56"
    } else {
        "52:54:00:12:34:57"
    };
    assert!(
        neigh.contains(mac),
        "ARP resolved to the NIC's MAC: {neigh}"
    );

    let out = ns.sh(&format!(
        "curl -sS --max-time 30 -w '\\nstatus %{{http_code}}' http://{}/",
        nic.guest_ip
    ));
    let page = check(&out, "curl /");
    assert!(page.contains("hello from the user-space stack"), "{page}");
    assert!(page.ends_with("status 200"), "{page}");
    let out = ns.sh(&format!(
        "curl -sS --max-time 30 -o /dev/null -w '%{{http_code}}' http://{}/nope",
        nic.guest_ip
    ));
    assert_eq!(check(&out, "curl /nope"), "404");

    let out = ns.sh(&format!(
        "printf 'hello over tcp\\nfrom {}\\n' | socat -t 10 - TCP:{}:7",
        nic.name, nic.guest_ip
    ));
    assert_eq!(
        check(&out, "TCP echo"),
        format!("hello over tcp\nfrom {}\n", nic.name)
    );
    let out = ns.sh(&format!(
        "printf 'udp datagram {}' | socat -t 5 - UDP:{}:7",
        nic.name, nic.guest_ip
    ));
    assert_eq!(
        check(&out, "UDP echo"),
        format!("udp datagram {}", nic.name)
    );

    // Up: the stack hashes what it received.
    let out = ns.sh(&format!(
        "curl -sS --max-time 150 -T {} -w ' %{{time_total}}' http://{}/sha256",
        files.upload.display(),
        nic.guest_ip
    ));
    let text = check(&out, "upload");
    let mut w = text.split_whitespace();
    let (got, secs) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
    assert_eq!(
        got, files.upload_sha,
        "{}: the stack received other bytes than were sent",
        nic.name
    );
    let up_secs: f64 = secs.parse().expect("curl's time_total");

    // Down: the kernel hashes what it received.
    let t = Instant::now();
    let out = ns.sh(&format!(
        "curl -sS --max-time 150 http://{}/bytes/{TRANSFER} | sha256sum",
        nic.guest_ip
    ));
    let down_secs = t.elapsed().as_secs_f64();
    let text = check(&out, "download");
    assert_eq!(
        text.split_whitespace().next().unwrap_or(""),
        files.download_sha,
        "{}: the kernel received other bytes than the stack sent",
        nic.name
    );

    // Every connection gone once TIME-WAIT (2 x MSL) has passed: serve's
    // per-second counters (--stats) say so within a few seconds. Lines already
    // on their way over the serial console predate the transfers' end.
    std::thread::sleep(Duration::from_millis(500));
    guest.drain();
    let sockets = ns.sh(&format!("ss -tanoi dst {}", nic.guest_ip));
    let sockets = String::from_utf8_lossy(&sockets.stdout).into_owned();
    let deadline = Instant::now() + Duration::from_millis(2 * MSL_MS + 5000);
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        let line = guest.expect(" connections_open ", left.max(1));
        if !line.starts_with("stack at exit:") && exit_stat(&line, "connections_open") == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the stack still has connections {} ms after the last transfer: {line}\n\
             the host's sockets to it:\n{sockets}",
            nic.name,
            2 * MSL_MS + 5500
        );
    }
    guest.say(&format!("stop {}", nic.name));
    assert_eq!(
        guest.rc(&format!("igbpoll-{}", nic.name), 60),
        0,
        "{}: serve's exit status after SIGTERM",
        nic.name
    );
    let exit = guest
        .log_since("igbpoll serve:")
        .iter()
        .find(|l| l.starts_with("stack at exit:"))
        .unwrap_or_else(|| panic!("{}: no 'stack at exit:' line", nic.name))
        .clone();
    assert_eq!(
        exit_stat(&exit, "connections_open"),
        0,
        "{exit}\nthe host's sockets to the stack before the stop:\n{sockets}"
    );
    // /, /nope, the upload and the download; the TCP echo; the UDP echo.
    assert!(exit_stat(&exit, "http_requests") >= 4, "{exit}");
    assert!(exit_stat(&exit, "services_accepted") >= 5, "{exit}");
    assert!(exit_stat(&exit, "udp_echoed") >= 1, "{exit}");

    let mbit = |s: f64| TRANSFER as f64 * 8.0 / s / 1e6;
    Figures {
        first_answer,
        rtt,
        up_mbit: mbit(up_secs),
        down_mbit: mbit(down_secs),
    }
}

/// Whether this build of igbpoll has the `serve` command.
fn has_serve() -> bool {
    Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args(["serve", "--help"])
        .stdin(Stdio::null())
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The kernel step's transfers: a download of busybox httpd's random /blob
/// and an upload into busybox nc, both checked with SHA-256 (the guest prints
/// its hashes). Returns Mbit/s up and down.
fn kernel_transfers(guest: &mut Guest, files: &Transfer, work: &Path) -> (f64, f64) {
    let ns = guest.ns;
    let line = guest.expect("IGBPOLL-T: blob ", 60);
    let blob_sha = line.rsplit(' ').next().unwrap().to_string();
    guest.expect("IGBPOLL-T: wait kernel igb", 60);
    let got = work.join("blob");
    let out = ns.sh(&format!(
        "curl -sS --max-time 150 -o {} -w '%{{time_total}}' http://{}/blob",
        got.display(),
        IGB.guest_ip
    ));
    let down_secs: f64 = check(&out, "kernel download").trim().parse().unwrap();
    assert_eq!(sha256_file(&got), blob_sha, "kernel igb: download damaged");
    let _ = std::fs::remove_file(&got);

    let t = Instant::now();
    let out = ns.sh(&format!(
        "socat -u OPEN:{} TCP:{}:9",
        files.upload.display(),
        IGB.guest_ip
    ));
    check(&out, "kernel upload");
    let line = guest.expect("IGBPOLL-T: upload ", 60);
    let up_secs = t.elapsed().as_secs_f64();
    assert_eq!(
        line.rsplit(' ').next().unwrap(),
        files.upload_sha,
        "kernel igb: upload damaged"
    );
    let mbit = |s: f64| TRANSFER as f64 * 8.0 / s / 1e6;
    (mbit(up_secs), mbit(down_secs))
}

#[test]
#[ignore = "boots a QEMU guest: run by scripts/test-all.sh after qemu/provision.sh"]
fn ping_curl_and_sha256_transfers_against_serve_over_vfio_in_qemu() {
    if let Some(what) = missing_prerequisite() {
        panic!("this test needs {what}");
    }
    let serve = has_serve();
    let work = std::env::temp_dir().join(format!("igbpoll-qemu-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let files = {
        let upload = work.join("upload.bin");
        std::fs::write(&upload, noise(TRANSFER, 0x5EED_F11E)).unwrap();
        let expected = work.join("pattern.bin");
        std::fs::write(&expected, pattern(TRANSFER)).unwrap();
        let download_sha = sha256_file(&expected);
        let _ = std::fs::remove_file(&expected);
        Transfer {
            upload_sha: sha256_file(&upload),
            upload,
            download_sha,
        }
    };

    let initrd = work.join("guest.cpio.gz");
    let st = Command::new("bash")
        .arg(repo().join("qemu/mkinitramfs.sh"))
        .arg("-s")
        .arg(repo().join("qemu/guest/serve.sh"))
        .arg(&initrd)
        .arg(format!("{}=/bin/igbpoll", env!("CARGO_BIN_EXE_igbpoll")))
        .status()
        .expect("mkinitramfs");
    assert!(st.success(), "qemu/mkinitramfs.sh failed");

    let ns = Ns::new();
    let started = Instant::now();
    let mut steps = format!("kernel:igb:{}/24", IGB.guest_ip);
    if serve {
        steps += &format!(
            ",igbpoll:igb:{}/24,igbpoll:e1000:{}/24",
            IGB.guest_ip, E1000.guest_ip
        );
    } else {
        // Until `serve` is in the build, the harness is checked on both NICs
        // with the guest kernel's drivers.
        steps += &format!(",kernel:e1000:{}/24", E1000.guest_ip);
    }
    let mut guest = Guest::boot(
        &ns,
        &initrd,
        &format!("igbpoll.serve={steps} igbpoll.blob={TRANSFER}"),
    );

    // 1. The guest kernel's igb on the TAP: the harness without igbpoll, and
    //    the baseline figures.
    guest.expect("IGBPOLL-T: kernel igb ", 120);
    let booted = started.elapsed();
    wait_for_ping(&ns, IGB.guest_ip, 30);
    let kernel_rtt = ping_20(&ns, IGB.guest_ip);
    let (kernel_up, kernel_down) = kernel_transfers(&mut guest, &files, &work);
    guest.say("stop kernel igb");
    assert_eq!(guest.rc("kernel-igb", 30), 0, "kernel step");

    // 2. igbpoll serve on each NIC.
    let mut figures = Vec::new();
    if serve {
        for (nic, after_kernel) in [(&IGB, true), (&E1000, false)] {
            let t = Instant::now();
            let f = serve_step(&mut guest, nic, after_kernel, &files);
            figures.push((nic.name, f, t.elapsed().as_secs_f64()));
        }
    } else {
        guest.expect("IGBPOLL-T: wait kernel e1000", 60);
        wait_for_ping(&ns, E1000.guest_ip, 30);
        ping_20(&ns, E1000.guest_ip);
        guest.say("stop kernel e1000");
        assert_eq!(guest.rc("kernel-e1000", 30), 0, "kernel e1000 step");
    }

    assert!(guest.finish(60), "the guest did not power off cleanly");
    let total = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&work);

    println!(
        "guest booted, kernel igb up after {:.1} s; whole run {total:.1} s",
        booted.as_secs_f64()
    );
    println!(
        "kernel igb: ping rtt min/avg/max {:.3}/{:.3}/{:.3} ms; {} MB host -> guest {kernel_up:.1} Mbit/s, guest -> host {kernel_down:.1} Mbit/s",
        kernel_rtt[0],
        kernel_rtt[1],
        kernel_rtt[2],
        TRANSFER / 1_000_000
    );
    for (name, f, secs) in &figures {
        println!(
            "igbpoll serve on {name} ({secs:.1} s): first ping answered after {:.1} s; ping rtt min/avg/max {:.3}/{:.3}/{:.3} ms; \
             {} MB kernel -> stack {:.1} Mbit/s, stack -> kernel {:.1} Mbit/s",
            f.first_answer.as_secs_f64(),
            f.rtt[0],
            f.rtt[1],
            f.rtt[2],
            TRANSFER / 1_000_000,
            f.up_mbit,
            f.down_mbit
        );
    }
    assert!(
        serve,
        "this build of igbpoll has no `serve` command: only the kernel-driver steps ran"
    );
}
