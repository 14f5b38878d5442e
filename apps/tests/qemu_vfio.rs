//! igbpoll over the real VFIO path, end to end, in a QEMU guest with an emulated
//! Intel IOMMU and QEMU's emulated 82576 (`-device igb`) and 82540EM (`-device
//! e1000`), driven by the scripts under `qemu/` (see qemu/README.md).
//!
//! In the guest: `igbpoll list`, the failure cases (no such device, not bound to
//! vfio-pci, no hugepages), `igbpoll bind`, then per NIC `capture -c N -w FILE`
//! while the host injects N frames (60..1514 bytes, several ethertypes, VLAN tags,
//! more than the ring holds), the file back over the serial console, and `send
//! --pcap` while the host receives. The host compares everything byte for byte.
//!
//! Boots a guest (about 25 s warm), so it is `#[ignore]`d in a plain `cargo
//! test`; scripts/test-all.sh provisions QEMU and runs it with `--ignored`.

mod common;

use common::frames_in;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use igbpoll_hw_sim::wire::Generator;

const N: usize = 600;
const RING: usize = 256;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The driver's `vfio_probe` example (several NICs in one VFIO container), built by
/// `cargo test --workspace` (scripts/test-all.sh runs that first) next to this test.
fn vfio_probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/vfio_probe");
    assert!(
        p.exists(),
        "{} missing: build it with `cargo build --release -p igbpoll-driver --examples`",
        p.display()
    );
    p
}

fn frames(seed: u64) -> Vec<Vec<u8>> {
    let g = Generator::mixed(seed, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    let t: Vec<&[u8]> = g.templates().collect();
    (0..N).map(|i| t[i % t.len()].to_vec()).collect()
}

/// Frames longer than the standard 1514 bytes (and two that are not), unicast
/// to the guest NICs' MAC, for `capture --max-frame 9018`.
fn jumbo_frames() -> Vec<Vec<u8>> {
    [9018usize, 4000, 1600, 1515, 1514, 60]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let mut f = vec![
                0x52, 0x54, 0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 7, 0x88, 0xB5,
            ];
            f.extend((0..len - 14).map(|b| (b as u8).wrapping_mul(7).wrapping_add(i as u8)));
            f
        })
        .collect()
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::with_header(f, PcapHeader::default()).unwrap();
    for (i, fr) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(
            Duration::from_millis(i as u64),
            fr.len() as u32,
            fr,
        ))
        .unwrap();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in text.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// One NIC's UDP link to QEMU: inject by sending to `qemu`, receive on `sock`.
struct Link {
    sock: UdpSocket,
    qemu_port: u16,
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Link {
    fn new() -> Link {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Link {
            sock,
            qemu_port: free_udp_port(),
        }
    }
    fn ports(&self) -> String {
        format!(
            "{}:{}",
            self.qemu_port,
            self.sock.local_addr().unwrap().port()
        )
    }
}

const GUEST_SH: &str = r#"#!/bin/sh
T() { echo "IGBPOLL-T: $*"; }
IGB=$IGBPOLL_IGB_BDF; E1000=$IGBPOLL_E1000_BDF
igbpoll list
igbpoll --pci 0000:00:1f.6 stats; T "rc nodev $?"
igbpoll unbind $E1000; T "rc unbind $?"
igbpoll --pci $E1000 stats; T "rc notbound $?"
igbpoll bind $E1000; T "rc bind $?"
vfio_probe $IGB $E1000 --open; T "rc shared-container $?"
echo 0 > /proc/sys/vm/nr_hugepages
igbpoll --pci $IGB stats; T "rc nohuge $?"
echo 64 > /proc/sys/vm/nr_hugepages
igbpoll --pci $IGB capture --queues 4 -c __N__ --duration 60 --ring __RING__ -w /tmp/mq.pcap; T "rc capture-mq $?"
T "file-begin mq"; base64 /tmp/mq.pcap; T "file-end mq"
for nic in igb e1000; do
  if [ $nic = igb ]; then bdf=$IGB; else bdf=$E1000; fi
  igbpoll --pci $bdf capture -c __N__ --duration 60 --ring __RING__ -w /tmp/$nic.pcap; T "rc capture-$nic $?"
  T "file-begin $nic"; base64 /tmp/$nic.pcap; T "file-end $nic"
  T "jumbo-next $nic"
  igbpoll --pci $bdf capture --max-frame 9018 --writer-buffer 256 -c __J__ --duration 60 --ring __RING__ -w /tmp/$nic-jumbo.pcapng; T "rc jumbo-$nic $?"
  T "file-begin $nic-jumbo"; base64 /tmp/$nic-jumbo.pcapng; T "file-end $nic-jumbo"
  igbpoll --pci $bdf stats; T "rc stats-$nic $?"
  T "send-start $nic"
  igbpoll --pci $bdf send --pcap /frames.pcap --rate 2000; T "rc send-$nic $?"
  sleep 1; T "send-end $nic"
done
exit 0
"#;

#[test]
#[ignore = "boots a QEMU guest: run by scripts/test-all.sh after qemu/provision.sh"]
fn capture_send_stats_and_failures_over_vfio_in_qemu() {
    let work = std::env::temp_dir().join(format!("igbpoll-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let inject = frames(5);
    let to_send = frames(6);
    write_pcap(&work.join("frames.pcap"), &to_send);
    std::fs::write(
        work.join("guest.sh"),
        GUEST_SH
            .replace("__N__", &N.to_string())
            .replace("__J__", &jumbo_frames().len().to_string())
            .replace("__RING__", &RING.to_string()),
    )
    .unwrap();
    let initrd = work.join("guest.cpio.gz");
    let st = Command::new("bash")
        .arg(repo().join("qemu/mkinitramfs.sh"))
        .arg("-s")
        .arg(work.join("guest.sh"))
        .arg(&initrd)
        .arg(format!("{}=/bin/igbpoll", env!("CARGO_BIN_EXE_igbpoll")))
        .arg(format!("{}=/bin/vfio_probe", vfio_probe().display()))
        .arg(format!(
            "{}=/frames.pcap",
            work.join("frames.pcap").display()
        ))
        .status()
        .expect("mkinitramfs");
    assert!(st.success(), "qemu/mkinitramfs.sh failed");

    let links = [Link::new(), Link::new()]; // igb, e1000
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(repo().join("qemu/run-guest.sh"))
        .args([
            "-t",
            "300",
            "-i",
            &links[0].ports(),
            "-e",
            &links[1].ports(),
        ])
        .arg(&initrd)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run-guest.sh");
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("guest| {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut log: Vec<String> = Vec::new();
    // Set when the guest says its next capture on that NIC takes jumbo frames.
    let mut jumbo_next = [false, false];
    let received: [Arc<Mutex<Vec<Vec<u8>>>>; 2] = Default::default();
    let receiving = [
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    ];
    let mut receivers = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let sock = link.sock.try_clone().unwrap();
        let (store, on) = (received[i].clone(), receiving[i].clone());
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        receivers.push((
            done,
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !d2.load(Ordering::Relaxed) {
                    if let Ok((n, _)) = sock.recv_from(&mut buf) {
                        if on.load(Ordering::Relaxed) {
                            store.lock().unwrap().push(buf[..n].to_vec());
                        }
                    }
                }
            }),
        ));
    }
    for line in rx.iter() {
        for (i, bdf) in ["0000:00:02.0", "0000:00:03.0"].iter().enumerate() {
            if line.contains(&format!("capturing on {bdf}")) {
                // The driver is up: inject, paced well below the emulated NIC's rate.
                // QEMU's e1000 holds off delivery for 1 s after every RCTL write
                // (qemu-nic-facts.md §6) and meanwhile stops reading its socket:
                // let that pass rather than overflow the socket buffer.
                if i == 1 {
                    std::thread::sleep(Duration::from_millis(1500));
                }
                let dst = ("127.0.0.1", links[i].qemu_port);
                let frames = if std::mem::take(&mut jumbo_next[i]) {
                    jumbo_frames()
                } else {
                    inject.clone()
                };
                for f in &frames {
                    links[i].sock.send_to(f, dst).unwrap();
                    std::thread::sleep(Duration::from_micros(1500));
                }
            }
            let nic = ["igb", "e1000"][i];
            if line.contains(&format!("IGBPOLL-T: jumbo-next {nic}")) {
                jumbo_next[i] = true;
            }
            if line.contains(&format!("IGBPOLL-T: send-start {nic}")) {
                receiving[i].store(true, Ordering::Relaxed);
            }
            if line.contains(&format!("IGBPOLL-T: send-end {nic}")) {
                receiving[i].store(false, Ordering::Relaxed);
            }
        }
        log.push(line);
    }
    let status = child.wait().unwrap();
    for (done, h) in receivers {
        done.store(true, Ordering::Relaxed);
        h.join().unwrap();
    }
    println!("QEMU guest run: {:.1} s", started.elapsed().as_secs_f64());
    assert!(status.success(), "guest failed: {status}");

    let text = log.join("\n");
    let rc = |name: &str| -> i32 {
        let key = format!("IGBPOLL-T: rc {name} ");
        let line = log
            .iter()
            .find_map(|l| l.split_once(&key).map(|(_, r)| r.trim().to_string()));
        line.unwrap_or_else(|| panic!("no result for {name}"))
            .parse()
            .unwrap()
    };
    assert_ne!(rc("nodev"), 0);
    assert!(
        text.contains("no PCI device 0000:00:1f.6"),
        "no-device message"
    );
    assert_eq!(rc("unbind"), 0);
    assert_ne!(rc("notbound"), 0);
    assert!(
        text.contains("igbpoll bind"),
        "not-bound message suggests `igbpoll bind`"
    );
    assert_eq!(rc("bind"), 0);
    assert_eq!(rc("shared-container"), 0);
    assert!(
        text.contains("vfio_probe: 2 NICs open at once in one container"),
        "both NICs driven from one VFIO container"
    );
    assert_ne!(rc("nohuge"), 0);
    assert!(
        text.contains("nr_hugepages"),
        "no-hugepages message says how to reserve them"
    );
    assert!(
        text.contains("0000:00:02.0") && text.contains("82576"),
        "list shows the igb"
    );

    // RSS over 4 queues of QEMU's 82576: every injected frame exactly once, and the
    // summary's per-queue lines show several queues used.
    assert_eq!(rc("capture-mq"), 0);
    let begin = log
        .iter()
        .position(|l| l.contains("IGBPOLL-T: file-begin mq"))
        .unwrap();
    let end = log
        .iter()
        .position(|l| l.contains("IGBPOLL-T: file-end mq"))
        .unwrap();
    let mut mq = frames_in(&base64_decode(&log[begin + 1..end].concat()));
    assert_eq!(mq.len(), N, "multi-queue: every injected frame captured");
    let queues_used = log
        .iter()
        .filter_map(|l| l.strip_prefix("queue "))
        .filter_map(|r| r.split_once(": ").map(|(_, rest)| rest.to_string()))
        .filter_map(|r| r.split(' ').next().and_then(|n| n.parse::<u64>().ok()))
        .filter(|&n| n > 0)
        .count();
    assert!(queues_used >= 2, "RSS spread the flows over several queues");
    mq.sort();
    let mut want = inject.clone();
    want.sort();
    assert_eq!(mq, want, "multi-queue: the same frames, each once");

    for (i, nic) in ["igb", "e1000"].iter().enumerate() {
        assert_eq!(rc(&format!("capture-{nic}")), 0);
        let begin = log
            .iter()
            .position(|l| l.contains(&format!("IGBPOLL-T: file-begin {nic}")))
            .unwrap();
        let end = log
            .iter()
            .position(|l| l.contains(&format!("IGBPOLL-T: file-end {nic}")))
            .unwrap();
        let b64: String = log[begin + 1..end].concat();
        let captured = frames_in(&base64_decode(&b64));
        assert_eq!(captured.len(), N, "{nic}: every injected frame captured");
        for (k, (c, f)) in captured.iter().zip(&inject).enumerate() {
            assert_eq!(
                c, f,
                "{nic}: captured frame {k} differs from the injected one"
            );
        }
        // --max-frame 9018: long-packet reception and buffers that hold a
        // jumbo frame whole, on QEMU's models of both chips.
        assert_eq!(rc(&format!("jumbo-{nic}")), 0);
        let begin = log
            .iter()
            .position(|l| l.contains(&format!("IGBPOLL-T: file-begin {nic}-jumbo")))
            .unwrap();
        let end = log
            .iter()
            .position(|l| l.contains(&format!("IGBPOLL-T: file-end {nic}-jumbo")))
            .unwrap();
        let jumbo = frames_in(&base64_decode(&log[begin + 1..end].concat()));
        assert!(
            jumbo == jumbo_frames(),
            "{nic}: the jumbo frames captured whole, in order ({} frames of {:?} bytes)",
            jumbo.len(),
            jumbo.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(rc(&format!("stats-{nic}")), 0);
        assert_eq!(rc(&format!("send-{nic}")), 0);
        let got = received[i].lock().unwrap().clone();
        assert_eq!(got.len(), N, "{nic}: every sent frame reached the host");
        for (k, (g, f)) in got.iter().zip(&to_send).enumerate() {
            assert_eq!(g, f, "{nic}: sent frame {k} differs on the wire");
        }
    }
    assert!(text.contains(&format!("{N} packets captured")));
    assert!(
        text.contains(&format!("{N} written to memory (GPRC)")),
        "GPRC agrees"
    );
    assert!(
        text.contains(&format!("{N} packets transmitted by the NIC (GPTC)")),
        "GPTC agrees"
    );
}
