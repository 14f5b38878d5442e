//! The `igbpoll` binary as a user runs it, with tcpdump and tshark reading what
//! it writes.

mod common;

use common::{have, igbpoll, read_frames, tmp, write_pcap};

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A reference capture: 3,000 frames of the generator's mix, made by igbpoll itself
/// from the simulator and checked below against an independent reader.
fn reference(tag: &str, model: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let path = tmp(&format!("ref-{tag}-{model}.pcap"));
    let out = igbpoll(
        &[
            "--sim",
            model,
            "--sim-rate",
            "200000",
            "capture",
            "-c",
            "3000",
            "-w",
        ]
        .iter()
        .copied()
        .chain([path.to_str().unwrap()])
        .collect::<Vec<_>>(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = read_frames(&path);
    assert_eq!(frames.len(), 3000);
    (path, frames)
}

#[test]
fn replay_capture_round_trip_read_by_tcpdump_and_tshark() {
    for model in ["e1000", "igb"] {
        let (input, frames) = reference("replay", model);
        let output = tmp(&format!("out-{model}.pcap"));
        let out = igbpoll(&[
            "--sim",
            model,
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "-w",
            output.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("3000 packets captured"), "{stderr}");
        assert_eq!(
            read_frames(&output),
            frames,
            "{model}: capture == replayed file"
        );
        if have("tcpdump") {
            let t = Command::new("tcpdump")
                .args(["-n", "-r"])
                .arg(&output)
                .output()
                .expect("tcpdump");
            assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
            assert_eq!(
                String::from_utf8_lossy(&t.stdout).lines().count(),
                3000,
                "tcpdump reads every packet"
            );
        } else {
            eprintln!("tcpdump not installed: skipped its check (scripts/test-all.sh installs it)");
        }
        if have("tshark") {
            let t = Command::new("tshark")
                .args(["-r"])
                .arg(&output)
                .args(["-T", "fields", "-e", "frame.len"])
                .output()
                .expect("tshark");
            assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
            let lens: Vec<usize> = String::from_utf8_lossy(&t.stdout)
                .lines()
                .map(|l| l.trim().parse().unwrap())
                .collect();
            assert_eq!(
                lens,
                frames.iter().map(Vec::len).collect::<Vec<_>>(),
                "tshark sees the same frames"
            );
        }
    }
}

#[test]
fn capture_to_stdout_is_a_pcapng_stream() {
    let out = igbpoll(&["--sim", "igb", "capture", "-c", "100", "-w", "-"]);
    assert!(out.status.success());
    assert!(
        out.stdout.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]),
        "pcapng by default"
    );
    let path = tmp("stdout.pcapng");
    std::fs::write(&path, &out.stdout).unwrap();
    assert_eq!(read_frames(&path).len(), 100);
}

#[test]
fn capture_prints_tcpdump_style_lines() {
    let out = igbpoll(&["--sim", "e1000", "capture", "-c", "25"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 25);
    assert!(
        text.lines()
            .all(|l| l.contains(" > ") && l.contains("length")),
        "{text}"
    );
}

#[test]
fn snaplen_truncates_records() {
    let path = tmp("snap.pcap");
    let out = igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-c",
        "200",
        "-s",
        "64",
        "-w",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(read_frames(&path).iter().all(|f| f.len() <= 64));
}

#[test]
fn snaplen_cuts_printed_lines_as_tcpdump_does() {
    let lines = |snap: &str| {
        let out = igbpoll(&["--sim", "igb", "capture", "-c", "50", "-s", snap]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split_once(' ').map_or("", |(_, rest)| rest).to_owned())
            .collect::<Vec<_>>()
    };
    // 20 bytes hold the Ethernet header and not the next one: every line names
    // the ethertype and ends where the frame was cut.
    let cut = lines("20");
    assert_eq!(cut.len(), 50);
    assert!(
        cut.iter()
            .all(|l| l.contains(", length ") && l.ends_with(']')),
        "{cut:?}"
    );
    assert!(cut.iter().any(|l| l.ends_with("[|ip]")), "{cut:?}");
    // 0 means the largest, the same lines as without -s (same seed, same frames).
    let whole = lines("0");
    assert_eq!(whole, lines("262144"));
    assert!(whole.iter().any(|l| l.contains("UDP, length")), "{whole:?}");
    let too_big = igbpoll(&["--sim", "igb", "capture", "-c", "1", "-s", "262145"]);
    assert!(!too_big.status.success());
    assert!(String::from_utf8_lossy(&too_big.stderr).contains("invalid snaplen"));
}

#[test]
fn printed_dumps_match_tcpdumps() {
    if !have("tcpdump") {
        eprintln!("tcpdump not installed: skipped (scripts/test-all.sh installs it)");
        return;
    }
    let (input, frames) = reference("dumps", "igb");
    let strip_time = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| match l.split_once(' ') {
                Some((t, rest)) if t.len() == 15 && t.as_bytes()[2] == b':' => rest.to_owned(),
                _ => l.to_owned(),
            })
            .collect()
    };
    for flags in [&["-x"][..], &["-XX"], &["-X", "-s", "90"], &["-A"]] {
        let out = common::replay_capture(&input, flags);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = strip_time(&String::from_utf8_lossy(&out.stdout));
        // tcpdump cuts at -s when it captures; reading, it is given the cut file.
        let cut = tmp("dumps-cut.pcap");
        let snap = flags.iter().position(|&f| f == "-s").map(|i| flags[i + 1]);
        let file = match snap {
            Some(n) => {
                common::write_pcap_cut(&cut, &frames, n.parse().unwrap());
                cut.clone()
            }
            None => input.clone(),
        };
        let t = Command::new("tcpdump")
            .args(["-n", "-e", "-S", flags[0], "-r"])
            .arg(&file)
            .output()
            .expect("tcpdump");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        let theirs = strip_time(&String::from_utf8_lossy(&t.stdout));
        // Packet by packet: a summary line (the only lines with " > ", as
        // the frames hold no text that prints it), then its dump.
        let packets = |lines: &[String]| {
            let mut v: Vec<Vec<String>> = Vec::new();
            for l in lines {
                if l.contains(" > ") && !l.starts_with('\t') {
                    v.push(vec![l.clone()]);
                } else if let Some(p) = v.last_mut() {
                    p.push(l.clone());
                }
            }
            v
        };
        let (ours, theirs) = (packets(&ours), packets(&theirs));
        assert_eq!(ours.len(), frames.len(), "{flags:?}");
        assert_eq!(theirs.len(), frames.len(), "{flags:?}");
        // Where tcpdump decodes an application protocol other than DNS (TFTP, SNMP, HTTP…)
        // and igbpoll does not, the summary differs, and a cut inside such a
        // decoder changes tcpdump's dump too; every other packet is the same
        // line for line.
        let mut app_protocols = 0;
        for (a, b) in ours.iter().zip(&theirs) {
            if a[0] != b[0] {
                app_protocols += 1;
                continue;
            }
            assert_eq!(a, b, "{flags:?}");
        }
        assert!(
            app_protocols * 50 < frames.len(),
            "{flags:?}: {app_protocols} summaries differ"
        );
    }
}

#[test]
fn send_leaves_the_wire_as_given() {
    for model in ["e1000", "igb"] {
        let (input, frames) = reference("send", model);
        let dump = tmp(&format!("tx-{model}.pcap"));
        let out = igbpoll(&[
            "--sim",
            model,
            "send",
            "--pcap",
            input.to_str().unwrap(),
            "--sim-tx-dump",
            dump.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(read_frames(&dump), frames, "{model}");
        // Generated frames, some shorter than 60 bytes: padded by the driver.
        let out = igbpoll(&[
            "--sim",
            model,
            "send",
            "--count",
            "50",
            "--size",
            "42",
            "--sim-tx-dump",
            dump.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        let sent = read_frames(&dump);
        assert_eq!(sent.len(), 50);
        assert!(sent
            .iter()
            .all(|f| f.len() == 60 && f[42..].iter().all(|&b| b == 0)));
    }
}

#[test]
fn send_transmits_jumbo_frames_whole_and_skips_longer_ones() {
    let mut frames: Vec<Vec<u8>> = [60usize, 9018, 1514, 4000, 9724, 12000]
        .iter()
        .map(|&len| {
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&[2, 0, 0, 0, 0, 3, 0x88, 0xB5]);
            f.extend((0..len - 14).map(|i| (i % 251) as u8));
            f
        })
        .collect();
    // A host capture's GRO frame: longer than any buffer.
    frames.push(vec![0x11; 20000]);
    let input = tmp("jumbo-send.pcap");
    write_pcap(&input, &frames);
    // The 82576 sends frames of up to 9724 bytes (9728 with the FCS), the
    // 82540EM up to 16124.
    for (model, sent) in [("e1000", 6), ("igb", 5)] {
        let dump = tmp(&format!("jumbo-tx-{model}.pcap"));
        let out = igbpoll(&[
            "--sim",
            model,
            "send",
            "--pcap",
            input.to_str().unwrap(),
            "--sim-tx-dump",
            dump.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("skipping {} of 7 frames", 7 - sent)),
            "{stderr}"
        );
        let want: Vec<Vec<u8>> = frames
            .iter()
            .filter(|f| f.len() <= if model == "igb" { 9724 } else { 16124 })
            .cloned()
            .collect();
        assert_eq!(want.len(), sent);
        assert_eq!(read_frames(&dump), want, "{model}");
    }
}

#[test]
fn stats_names_counters_like_ethtool() {
    let out = igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "100000",
        "stats",
        "--duration",
        "0.2",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "rx_packets",
        "rx_missed_errors",
        "rx_no_buffer_count",
        "rx_queue_0_drops",
        "drv_rx_packets",
    ] {
        assert!(
            text.contains(&format!("     {name}: ")),
            "{name} missing:\n{text}"
        );
    }
    let rx: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("rx_packets: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rx > 0, "the NIC received while polled");
}

#[test]
fn errors_name_the_cause() {
    let out = igbpoll(&["capture"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sim"));
    let out = igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        "/nonexistent.pcap",
        "capture",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pcap"));
    let out = igbpoll(&["--sim", "igb", "capture", "--ring", "100"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("power of two"));
    let out = igbpoll(&["--sim", "igb", "--sim-size", "20", "capture"]);
    assert!(
        !out.status.success(),
        "a 20-byte generated frame is refused"
    );
    // tcpdump's habits get a pointer to igbpoll's way.
    for (args, hint) in [
        (&["capture", "-i", "eth0"][..], "--pci BDF"),
        (
            &["--sim", "igb", "capture", "-r", "x.pcap"],
            "--sim-replay x.pcap",
        ),
    ] {
        let out = igbpoll(args);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(hint),
            "{args:?}"
        );
    }
    // An unknown -Z user is refused before any file is made.
    let file = tmp("no-user.pcap");
    let _ = std::fs::remove_file(&file);
    let out = igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-Z",
        "no-such-user-igbpoll",
        "-w",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such user"));
    assert!(!file.exists());
}

#[test]
fn help_is_there() {
    for args in [
        &["--help"][..],
        &["capture", "--help"],
        &["send", "--help"],
        &["stats", "--help"],
    ] {
        let out = igbpoll(args);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn sigterm_and_sigint_leave_a_complete_file_and_a_summary() {
    for sig in ["-TERM", "-INT"] {
        let path = tmp(&format!("sig{sig}.pcap"));
        let child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
            .args(["--sim", "igb", "--sim-rate", "50000", "capture", "-w"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(700));
        let k = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(k.success());
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "exits cleanly on {sig}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let captured: usize = stderr
            .lines()
            .find_map(|l| l.strip_suffix(" packets captured"))
            .unwrap_or_else(|| panic!("summary printed: {stderr}"))
            .parse()
            .unwrap();
        assert!(captured > 0);
        assert_eq!(
            read_frames(&path).len(),
            captured,
            "file count == summary count"
        );
    }
}

#[test]
fn reflector_example_swaps_and_returns_every_frame() {
    // Cargo builds the package's examples for its tests, next to the test binary.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/reflector");
    for model in ["e1000", "igb"] {
        let out = Command::new(&example)
            .args([model, "20000"])
            .output()
            .expect("run the example");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{model}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("offered 20000, reflected "), "{text}");
    }
}

/// A replay far larger than the writer's buffer loses nothing: the simulated wire
/// is flow-controlled, so the capture waits for its writer instead of dropping.
#[test]
fn large_replay_is_captured_whole() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let g = igbpoll_hw_sim::wire::Generator::mixed(9, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    let t: Vec<&[u8]> = g.templates().collect();
    let n = 60_000;
    let input = tmp("large-in.pcap");
    let mut w = PcapWriter::with_header(
        std::fs::File::create(&input).unwrap(),
        PcapHeader::default(),
    )
    .unwrap();
    for i in 0..n {
        let f = t[i % t.len()];
        w.write_packet(&PcapPacket::new(
            std::time::Duration::from_micros(i as u64),
            f.len() as u32,
            f,
        ))
        .unwrap();
    }
    drop(w);
    let output = tmp("large-out.pcap");
    let out = igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "--writer-buffer",
        "1024",
        "-w",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{n} packets captured")),
        "{stderr}"
    );
    let got = read_frames(&output);
    assert_eq!(got.len(), n);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, f)| f[..] == *t[i % t.len()]),
        "frames in order, intact"
    );
}
