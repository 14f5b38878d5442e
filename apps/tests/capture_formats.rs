//! `igbpoll capture`: pcap and pcapng output, the closing statistics block,
//! filters checked against tcpdump on the same packets, and the usual flags.

mod common;

use common::{have, igbpoll, ok, read_pcap, summary_count, tcpdump_filtered, tmp, write_pcap};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption as Idb;
use pcap_file::pcapng::blocks::interface_statistics::InterfaceStatisticsOption as Isb;
use pcap_file::pcapng::{Block, PcapNgReader};

/// What a pcapng file holds.
#[derive(Default)]
struct Pcapng {
    frames: Vec<Vec<u8>>,
    idb: Vec<Idb<'static>>,
    isb: Vec<Isb<'static>>,
    ends_with_isb: bool,
}

fn read_pcapng(path: &Path) -> Pcapng {
    let data = std::fs::read(path).expect("read capture");
    assert!(data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]), "not pcapng");
    let mut r = PcapNgReader::new(&data[..]).expect("pcapng");
    let mut f = Pcapng::default();
    while let Some(b) = r.next_block() {
        f.ends_with_isb = false;
        match b.expect("block") {
            Block::EnhancedPacket(p) => f.frames.push(p.data.to_vec()),
            Block::InterfaceDescription(i) => f.idb = i.into_owned().options,
            Block::InterfaceStatistics(s) => {
                f.isb = s.into_owned().options;
                f.ends_with_isb = true;
            }
            _ => {}
        }
    }
    f
}

/// tshark's stderr without its note about running as root.
fn warnings(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("Running as user"))
        .collect()
}

fn isb_value(isb: &[Isb<'_>], pick: fn(&Isb<'_>) -> Option<u64>) -> u64 {
    isb.iter().find_map(pick).expect("option present")
}

/// 3,000 frames of the generator's mix (ARP, ICMP, UDP, TCP, 1 in 7 VLAN-tagged).
fn mixed_pcap() -> PathBuf {
    let path = tmp("mixed.pcap");
    let out = igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "200000",
        "capture",
        "-c",
        "3000",
        "-w",
        path.to_str().unwrap(),
    ]);
    ok(&out);
    assert_eq!(read_pcap(&path).len(), 3000);
    path
}

#[test]
fn filters_give_tcpdumps_packets() {
    if !have("tcpdump") {
        eprintln!("tcpdump not installed: skipped (scripts/test-all.sh installs it)");
        return;
    }
    let input = mixed_pcap();
    let filters = [
        "udp",
        "tcp port 80",
        "tcp portrange 1-100",
        "arp",
        "vlan",
        "vlan and udp",
        "icmp and host 10.0.0.1",
        "not ip",
        "ether broadcast",
        "greater 1000",
        "src net 10.0.128.0/17 and (tcp or icmp)",
    ];
    for (i, filter) in filters.iter().enumerate() {
        let expected = tmp(&format!("tcpdump-{i}.pcap"));
        let t = Command::new("tcpdump")
            .args(["-r"])
            .arg(&input)
            .arg("-w")
            .arg(&expected)
            .arg(filter)
            .output()
            .expect("tcpdump");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        let expected = read_pcap(&expected);
        let output = tmp(&format!("filtered-{i}.pcapng"));
        // Half the filters as one argument, half as separate words.
        let mut args: Vec<String> = [
            "--sim",
            "igb",
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "-w",
            output.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        if i % 2 == 0 {
            args.push(filter.to_string());
        } else {
            args.extend(filter.split(' ').map(String::from));
        }
        let stderr = ok(&igbpoll(&args));
        let got = read_pcapng(&output);
        assert_eq!(
            got.frames, expected,
            "`{filter}`: igbpoll keeps exactly tcpdump's frames, in order"
        );
        let n = expected.len() as u64;
        assert_eq!(summary_count(&stderr, " packets captured"), n);
        assert_eq!(summary_count(&stderr, " packets filtered out"), 3000 - n);
        assert_eq!(summary_count(&stderr, " packets received by filter"), 3000);
        assert!(got.ends_with_isb);
        assert_eq!(
            isb_value(&got.isb, |o| match o {
                Isb::IsbFilterAccept(v) => Some(*v),
                _ => None,
            }),
            n
        );
        assert!(got.idb.contains(&Idb::IfFilter(
            [&[0u8][..], filter.as_bytes()].concat().into()
        )));
    }
    // -F FILE, with a comment, as tcpdump reads it.
    let file = tmp("filter.txt");
    std::fs::write(&file, "# only web\ntcp port 80 # http\n  or arp\n").unwrap();
    let output = tmp("from-file.pcap");
    ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "-F",
        file.to_str().unwrap(),
        "-w",
        output.to_str().unwrap(),
    ]));
    let expected = tmp("from-file-tcpdump.pcap");
    let t = Command::new("tcpdump")
        .arg("-r")
        .arg(&input)
        .arg("-w")
        .arg(&expected)
        .arg("-F")
        .arg(&file)
        .output()
        .expect("tcpdump");
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    assert_eq!(read_pcap(&output), read_pcap(&expected));
}

/// Frames as a host's own capture holds them: outgoing ones unpadded (a
/// 42-byte ARP request, 54-byte TCP ACKs, a 46-byte tagged UDP datagram),
/// full-size ones, and two longer than a NIC takes without long-packet
/// reception (a GRO super-frame, a 1515-byte untagged frame).
fn host_capture() -> (PathBuf, Vec<Vec<u8>>) {
    fn eth(dst: [u8; 6], ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
        f.extend_from_slice(&ty.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }
    fn ipv4(proto: u8, src: u8, l4: &[u8]) -> Vec<u8> {
        let total = (20 + l4.len()) as u16;
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, 2]);
        h.extend_from_slice(l4);
        h
    }
    fn tcp(sport: u16, dport: u16, flags: u8, data: &[u8]) -> Vec<u8> {
        let mut t = sport.to_be_bytes().to_vec();
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0x10, 0, 0, 0, 0, 0]);
        t.extend_from_slice(data);
        t
    }
    fn udp(dport: u16, data: &[u8]) -> Vec<u8> {
        let mut u = 5353u16.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(data);
        u
    }
    let us = [2, 0, 0, 0, 0, 1];
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 1];
    arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    let mut frames = Vec::new();
    for i in 0..40u8 {
        frames.push(eth([0xff; 6], 0x0806, &arp));
        frames.push(eth(
            us,
            0x0800,
            &ipv4(6, 1 + i % 3, &tcp(80, 40000, 0x10, &[])),
        ));
        frames.push(eth(
            us,
            0x0800,
            &ipv4(6, 1, &tcp(443, 40001, 0x18, &[i; 1460])),
        ));
        let mut tagged = vec![0, 100, 8, 0];
        tagged.extend_from_slice(&ipv4(17, 3, &udp(4001, &[i; 2])));
        frames.push(eth(us, 0x8100, &tagged));
        let mut v6 = vec![0x60, 0, 0, 0, 0, 16, 17, 64];
        v6.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v6.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v6.extend_from_slice(&udp(547, &[i; 8]));
        frames.push(eth(us, 0x86dd, &v6));
        if i % 10 == 0 {
            frames.push(eth(
                us,
                0x0800,
                &ipv4(6, 2, &tcp(80, 40002, 0x18, &[i; 7000])),
            ));
            frames.push(eth(us, 0x0800, &ipv4(17, 2, &udp(9, &[i; 1473]))));
        }
    }
    let path = tmp("host-capture.pcap");
    write_pcap(&path, &frames);
    (path, frames)
}

#[test]
fn a_host_capture_replays_as_a_wire_carries_it() {
    if !have("tcpdump") {
        eprintln!("tcpdump not installed: skipped (scripts/test-all.sh installs it)");
        return;
    }
    let (input, frames) = host_capture();
    let long = frames.iter().filter(|f| f.len() > 1514).count() as u64;
    assert_eq!(long, 8);
    for filter in [
        "",
        "arp",
        "tcp",
        "vlan and udp port 4001",
        "ip6",
        "less 64",
        "tcp[13] = 0x10",
    ] {
        // What the wire carries: short frames padded with zeros to 60 by the
        // sender; the NIC drops the long ones (ROC).
        let expected: Vec<Vec<u8>> = tcpdump_filtered(&input, filter)
            .into_iter()
            .filter(|f| f.len() <= 1514)
            .map(|mut f| {
                if f.len() < 60 {
                    f.resize(60, 0);
                }
                f
            })
            .collect();
        let output = tmp("host-igbpoll.pcap");
        let mut args = vec![
            "--sim",
            "igb",
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
        ];
        args.extend(["-w", output.to_str().unwrap()]);
        if !filter.is_empty() {
            args.push(filter);
        }
        let stderr = ok(&igbpoll(&args));
        assert_eq!(read_pcap(&output), expected, "`{filter}`");
        assert_eq!(
            summary_count(&stderr, " packets captured"),
            expected.len() as u64
        );
        assert_eq!(
            summary_count(&stderr, " packets received by the NIC"),
            frames.len() as u64,
            "`{filter}`: {stderr}"
        );
        assert_eq!(
            summary_count(&stderr, " packets dropped by the NIC"),
            long,
            "`{filter}`: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{long} too long (ROC)")),
            "{stderr}"
        );
        assert!(stderr.contains("0 runts (RUC)"), "{stderr}");
    }
}

#[test]
fn max_frame_captures_jumbo_frames_whole() {
    let (input, frames) = host_capture();
    let padded = |f: &Vec<u8>| {
        let mut f = f.clone();
        if f.len() < 60 {
            f.resize(60, 0);
        }
        f
    };
    // (model, --max-frame, frames the NIC drops as too long)
    for (model, max, dropped) in [
        ("igb", "9018", 0u64),
        ("e1000", "9018", 0),
        ("igb", "7000", 4),
        ("igb", "1515", 4),
    ] {
        let limit: usize = max.parse().unwrap();
        let output = tmp(&format!("jumbo-{model}-{max}.pcapng"));
        let stderr = ok(&igbpoll(&[
            "--sim",
            model,
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "--max-frame",
            max,
            "-w",
            output.to_str().unwrap(),
        ]));
        let expected: Vec<Vec<u8>> = frames
            .iter()
            .filter(|f| f.len() <= limit)
            .map(padded)
            .collect();
        assert_eq!(expected.len() as u64, frames.len() as u64 - dropped);
        let got = read_pcapng(&output);
        assert!(
            got.frames == expected,
            "{model} --max-frame {max}: {stderr}"
        );
        assert_eq!(
            summary_count(&stderr, " packets dropped by the NIC"),
            dropped,
            "{stderr}"
        );
        assert!(stderr.contains("no EOP 0,"), "{stderr}");
    }
    let out = igbpoll(&["--sim", "igb", "capture", "-c", "1", "--max-frame", "20000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1514..=16124"));
    // Within the option's range but beyond the 82576's 9.5 KB jumbo frames.
    let out = igbpoll(&["--sim", "igb", "capture", "-c", "1", "--max-frame", "9725"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1514 to 9724 on the 82576"), "{stderr}");
}

#[test]
fn bad_filters_get_libpcaps_message_and_fail() {
    for (args, message) in [
        (&["udp", "port"][..], "syntax error"),
        (&["port 99999"], "illegal port number 99999"),
        (&["hst 10.0.0.1"], "syntax error"),
    ] {
        let out = igbpoll(&[&["--sim", "igb", "capture", "-c", "1"][..], args].concat());
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("capturing on"),
            "fails before the NIC opens"
        );
    }
    let file = tmp("f.txt");
    std::fs::write(&file, "udp").unwrap();
    let out = igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-F",
        file.to_str().unwrap(),
        "tcp",
    ]);
    assert!(!out.status.success());
    let out = igbpoll(&["--sim", "igb", "capture", "-F", "/nonexistent/filter"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/filter"));
}

#[test]
fn format_follows_the_name_unless_given() {
    let cases: [(&str, &[&str], bool); 5] = [
        ("a.pcap", &[], false),
        ("a.pcapng", &[], true),
        ("a.cap", &[], true),
        ("b.pcapng", &["--format", "pcap"], false),
        ("b.pcap", &["--format", "pcapng"], true),
    ];
    for (name, extra, pcapng) in cases {
        let path = tmp(name);
        let mut args = vec!["--sim", "e1000", "capture", "-c", "50", "-w"];
        args.push(path.to_str().unwrap());
        args.extend_from_slice(extra);
        ok(&igbpoll(&args));
        let n = if pcapng {
            read_pcapng(&path).frames.len()
        } else {
            read_pcap(&path).len()
        };
        assert_eq!(n, 50, "{name} {extra:?}");
    }
    // stdout gets pcapng.
    let out = igbpoll(&["--sim", "igb", "capture", "-c", "100", "-w", "-"]);
    ok(&out);
    let path = tmp("stdout.out");
    std::fs::write(&path, &out.stdout).unwrap();
    let f = read_pcapng(&path);
    assert_eq!(f.frames.len(), 100);
    assert!(f.ends_with_isb);
    // --format without -w is a mistake.
    assert!(!igbpoll(&["--sim", "igb", "capture", "--format", "pcap"])
        .status
        .success());
}

#[test]
fn pcapng_describes_the_interface_and_ends_with_the_summarys_counts() {
    // Without --time-stamp-precision pcapng gets nanoseconds.
    for (precision, tsresol) in [("micro", 6u8), ("nano", 9), ("", 9)] {
        let path = tmp(&format!("desc-{precision}.pcapng"));
        let mut args = vec!["--sim", "igb", "capture", "-c", "2000", "-s", "100"];
        if !precision.is_empty() {
            args.extend(["--time-stamp-precision", precision]);
        }
        args.extend(["-w", path.to_str().unwrap()]);
        let stderr = ok(&igbpoll(&args));
        let f = read_pcapng(&path);
        assert_eq!(f.frames.len(), 2000);
        assert!(f.frames.iter().all(|d| d.len() <= 100));
        assert!(f.idb.contains(&Idb::IfTsResol(tsresol)));
        assert!(f.idb.contains(&Idb::IfName("sim:igb".into())));
        assert!(f.idb.contains(&Idb::IfSpeed(1_000_000_000)));
        assert!(f.idb.contains(&Idb::IfHardware("Intel 82576 (igb)".into())));
        assert!(f
            .idb
            .iter()
            .any(|o| matches!(o, Idb::IfMacAddr(m) if m.len() == 6)));
        assert!(f
            .idb
            .iter()
            .any(|o| matches!(o, Idb::IfDescription(d) if d.contains("82576")
                && d.contains("1000 Mbit/s")
                && d.contains("52:54:00:12:34:56")
                && d.contains("driver igbpoll")
                && d.contains("(igb)"))));
        assert!(f.ends_with_isb, "the statistics block ends the file");
        let get = |pick: fn(&Isb<'_>) -> Option<u64>| isb_value(&f.isb, pick);
        assert_eq!(
            get(|o| match o {
                Isb::IsbUsrDeliv(v) => Some(*v),
                _ => None,
            }),
            summary_count(&stderr, " packets captured")
        );
        assert_eq!(
            get(|o| match o {
                Isb::IsbIfRecv(v) => Some(*v),
                _ => None,
            }),
            summary_count(&stderr, " packets received by the NIC")
        );
        assert_eq!(
            get(|o| match o {
                Isb::IsbIfDrop(v) => Some(*v),
                _ => None,
            }),
            summary_count(&stderr, " packets dropped by the NIC")
        );
        assert_eq!(
            get(|o| match o {
                Isb::IsbOsDrop(v) => Some(*v),
                _ => None,
            }),
            summary_count(&stderr, " packets dropped by the driver")
                + summary_count(&stderr, " packets dropped because the writer fell behind")
        );
        if have("capinfos") {
            let c = Command::new("capinfos").arg(&path).output().unwrap();
            let text = String::from_utf8_lossy(&c.stdout);
            assert!(c.status.success(), "{text}");
            assert!(text.contains("pcapng"), "{text}");
            assert!(
                text.contains("Number of packets:   2,000")
                    || text.contains("Number of packets:   2000"),
                "{text}"
            );
            assert!(
                text.contains(&format!("Time resolution = 0x0{tsresol}")),
                "{text}"
            );
        }
        if have("tshark") {
            let t = Command::new("tshark")
                .arg("-r")
                .arg(&path)
                .args(["-T", "fields", "-e", "frame.cap_len"])
                .output()
                .unwrap();
            assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
            assert_eq!(warnings(&t.stderr), "", "no warning");
            assert_eq!(String::from_utf8_lossy(&t.stdout).lines().count(), 2000);
        }
        if have("tcpdump") {
            let t = Command::new("tcpdump")
                .args(["-n", "-r"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
            assert_eq!(String::from_utf8_lossy(&t.stdout).lines().count(), 2000);
        }
    }
}

#[test]
fn sigterm_leaves_a_pcapng_file_ending_with_its_statistics() {
    let path = tmp("sigterm.pcapng");
    let child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args(["--sim", "igb", "--sim-rate", "50000", "capture", "-w"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(600));
    assert!(Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stderr = ok(&out);
    let f = read_pcapng(&path);
    assert!(f.ends_with_isb);
    let captured = summary_count(&stderr, " packets captured");
    assert!(captured > 0);
    assert_eq!(f.frames.len() as u64, captured);
    if have("tshark") {
        let t = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .output()
            .unwrap();
        assert!(t.status.success());
        assert_eq!(warnings(&t.stderr), "", "tshark reads it without a warning");
    }
}

#[test]
fn duration_stops_the_capture() {
    let path = tmp("duration.pcapng");
    let t0 = Instant::now();
    let stderr = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "20000",
        "capture",
        "--duration",
        "0.5",
        "-w",
        path.to_str().unwrap(),
    ]));
    assert!(t0.elapsed() < Duration::from_secs(10));
    let captured = summary_count(&stderr, " packets captured");
    assert!(captured > 1000, "{stderr}");
    assert_eq!(read_pcapng(&path).frames.len() as u64, captured);
}

/// With -U, packets show on a pipe while the capture is still running.
#[test]
fn packet_buffered_output_arrives_while_capturing() {
    for args in [&["-U"][..], &["-U", "-w", "-"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
            .args(["--sim", "igb", "--sim-rate", "200", "capture"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut got = 0;
            // pcapng headers and a few blocks, or a few lines.
            while got < 400 {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            // Keep the pipe open: closing it would end igbpoll with EPIPE.
            (got, stdout)
        });
        let t0 = Instant::now();
        while !reader.is_finished() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let alive = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(alive, "{args:?}: still capturing");
        assert!(
            reader.join().unwrap().0 >= 400,
            "{args:?}: output arrived live"
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{args:?}");
    }
}

#[test]
fn pcap_is_microseconds_unless_nano_is_asked() {
    for (precision, magic) in [
        ("", 0xa1b2_c3d4u32),
        ("micro", 0xa1b2_c3d4),
        ("nano", 0xa1b2_3c4d),
    ] {
        let path = tmp(&format!("magic-{precision}.pcap"));
        let mut args = vec!["--sim", "igb", "capture", "-c", "10"];
        if !precision.is_empty() {
            args.extend(["--time-stamp-precision", precision]);
        }
        args.extend(["-w", path.to_str().unwrap()]);
        ok(&igbpoll(&args));
        let data = std::fs::read(&path).unwrap();
        assert_eq!(
            u32::from_ne_bytes(data[..4].try_into().unwrap()),
            magic,
            "`{precision}`"
        );
        assert_eq!(read_pcap(&path).len(), 10);
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_capture_with_its_count() {
    use std::io::BufRead;
    // Printed lines, read by something that stops after 100 (like `| head`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args(["--sim", "igb", "capture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("igbpoll");
    let out = child.stdout.take().unwrap();
    let read = std::io::BufReader::new(out).lines().take(100).count();
    assert_eq!(read, 100);
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).to_string();
    assert!(!done.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot write stdout: Broken pipe"),
        "{stderr}"
    );
    let captured = summary_count(&stderr, " packets captured");
    assert!(
        captured >= 100,
        "lines handed to stdout are counted: {stderr}"
    );
    // pcap to the pipe: what was written whole is counted, the rest is said.
    let mut child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args([
            "--sim",
            "igb",
            "--sim-size",
            "60",
            "capture",
            "-w",
            "-",
            "--format",
            "pcap",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("igbpoll");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 24 + 76 * 3000];
    out.read_exact(&mut buf).unwrap();
    drop(out);
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).to_string();
    assert!(!done.status.success());
    assert!(stderr.contains("cannot write -: Broken pipe"), "{stderr}");
    let captured = summary_count(&stderr, " packets captured");
    let handed = captured
        + summary_count(
            &stderr,
            " packets handed to the writer and not written whole",
        );
    assert!(handed >= 3000, "{stderr}");
}

#[test]
fn pcapng_blocks_are_whole_when_the_frame_fills_its_buffer() {
    // With --max-frame 2048 the buffers are 2 KiB: a 2045..2048-byte frame
    // leaves no room after it for the block's trailer, which then leaves in
    // an iovec of its own; shorter ones take it in the buffer.
    let frames: Vec<Vec<u8>> = [
        2048usize, 2047, 2046, 2045, 2044, 2041, 2040, 60, 61, 62, 63,
    ]
    .iter()
    .map(|&n| {
        let mut f = vec![
            0x52, 0x54, 0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 9, 0x88, 0xB5,
        ];
        f.extend((0..n - 14).map(|i| (i * 7) as u8));
        f
    })
    .collect();
    let input = tmp("fill.pcap");
    write_pcap(&input, &frames);
    for model in ["igb", "e1000"] {
        let output = tmp(&format!("fill-{model}.pcapng"));
        ok(&igbpoll(&[
            "--sim",
            model,
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "--max-frame",
            "2048",
            "-w",
            output.to_str().unwrap(),
        ]));
        let got = read_pcapng(&output);
        assert!(got.frames == frames, "{model}");
        assert!(got.ends_with_isb);
        if have("tshark") {
            let t = Command::new("tshark")
                .arg("-r")
                .arg(&output)
                .output()
                .unwrap();
            assert!(t.status.success());
            assert_eq!(warnings(&t.stderr), "", "{model}: tshark reads it cleanly");
        }
    }
}

/// A full disk (a 1 MiB tmpfs this test mounts; skipped when it cannot, as
/// without root) ends the capture with its error, and leaves a file every
/// reader takes: cut back to its last whole record (a pcapng one then ends
/// with its statistics block if that fits in what the cut freed), holding
/// exactly the packets the summary counts.
#[test]
fn a_full_disk_leaves_a_file_that_reads_whole() {
    let mnt = common::dir("full-disk");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs (not root?): skipped");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        for name in ["x.pcap", "x.pcapng"] {
            let path = mnt.join(name);
            let out = igbpoll(&["--sim", "igb", "capture", "-w", path.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{stderr}");
            assert!(stderr.contains("No space left on device"), "{stderr}");
            // Every block whole (this reader panics on a cut one).
            let frames = common::read_frames(&path);
            assert!(frames.len() > 1000, "{name}: {}", frames.len());
            assert_eq!(
                frames.len() as u64,
                summary_count(&stderr, " packets captured"),
                "{name}"
            );
            if have("capinfos") {
                let c = Command::new("capinfos")
                    .arg(&path)
                    .output()
                    .expect("capinfos");
                let text = String::from_utf8_lossy(&c.stdout) + String::from_utf8_lossy(&c.stderr);
                assert!(
                    c.status.success() && !text.contains("cut short"),
                    "{name}: {text}"
                );
            }
            std::fs::remove_file(&path).unwrap();
        }
    });
    let _ = Command::new("umount").arg(&mnt).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
