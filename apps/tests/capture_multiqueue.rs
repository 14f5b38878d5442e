//! `capture --queues N`: RSS over several queues of the simulated 82576,
//! merged or per-queue output, every frame exactly once, per-flow order kept.

mod common;

use common::{complete_frames, complete_pcapng, dir, igbpoll, ok, summary_count, tmp};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn csum(data: &[u8]) -> u16 {
    let mut s = 0u32;
    for c in data.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 TCP or UDP frame of flow `flow`, carrying (flow, seq) in its payload.
fn frame(flow: u32, seq: u32) -> Vec<u8> {
    let tcp = flow.is_multiple_of(2);
    let mut f = Vec::new();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[0x08, 0x00]);
    let l4_len = if tcp { 20 } else { 8 };
    let payload: Vec<u8> = flow
        .to_be_bytes()
        .into_iter()
        .chain(seq.to_be_bytes())
        .chain([0u8; 24])
        .collect();
    let total = 20 + l4_len + payload.len();
    let mut ip = vec![
        0x45,
        0,
        0,
        0,
        0,
        0,
        0x40,
        0,
        64,
        if tcp { 6 } else { 17 },
        0,
        0,
    ];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&[10, (flow >> 8) as u8, flow as u8, 1]);
    ip.extend_from_slice(&[192, 168, (flow >> 4) as u8, (flow * 7) as u8]);
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let sport = 1024 + (flow * 13 % 60000) as u16;
    let dport = [80u16, 443, 53, 8080, 5001][flow as usize % 5];
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    if tcp {
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(&payload);
    f
}

/// `n` frames of 200 flows, interleaved; written as a pcap file.
fn mixed_flows(name: &str, n: u32) -> (PathBuf, Vec<Vec<u8>>) {
    let mut frames = Vec::new();
    let mut seqs = vec![0u32; 200];
    let mut x = 12345u32;
    for _ in 0..n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let flow = (x >> 8) % 200;
        frames.push(frame(flow, seqs[flow as usize]));
        seqs[flow as usize] += 1;
    }
    let mut data = Vec::new();
    data.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    data.extend_from_slice(&2u16.to_le_bytes());
    data.extend_from_slice(&4u16.to_le_bytes());
    data.extend_from_slice(&[0; 8]);
    data.extend_from_slice(&65535u32.to_le_bytes());
    data.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        data.extend_from_slice(&(i as u32 / 1000).to_le_bytes());
        data.extend_from_slice(&(i as u32 % 1000).to_le_bytes());
        data.extend_from_slice(&(f.len() as u32).to_le_bytes());
        data.extend_from_slice(&(f.len() as u32).to_le_bytes());
        data.extend_from_slice(f);
    }
    let path = tmp(name);
    std::fs::write(&path, data).expect("write pcap");
    (path, frames)
}

fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let data = std::fs::read(path).expect("read capture");
    let mut r = pcap_file::pcap::PcapReader::new(&data[..]).expect("pcap");
    let mut out = Vec::new();
    while let Some(p) = r.next_raw_packet() {
        let p = p.expect("record");
        let ts = u64::from(p.ts_sec) * 1_000_000_000 + u64::from(p.ts_frac);
        out.push((ts, p.data.to_vec()));
    }
    out
}

fn multiset(frames: &[Vec<u8>]) -> HashMap<&[u8], usize> {
    let mut m = HashMap::new();
    for f in frames {
        *m.entry(f.as_slice()).or_insert(0) += 1;
    }
    m
}

/// (flow, seq) of a frame of [`frame`].
fn flow_seq(f: &[u8]) -> (u32, u32) {
    let l4 = 14 + 20 + if f[23] == 6 { 20 } else { 8 };
    let g = |i: usize| u32::from_be_bytes(f[i..i + 4].try_into().unwrap());
    (g(l4), g(l4 + 4))
}

fn assert_flow_order(frames: &[Vec<u8>]) {
    let mut next: HashMap<u32, u32> = HashMap::new();
    for f in frames {
        let (flow, seq) = flow_seq(f);
        let want = next.entry(flow).or_insert(0);
        assert_eq!(seq, *want, "flow {flow} out of order");
        *want += 1;
    }
}

/// Per-queue packet counts of the summary ("queue N: P packets received").
fn queue_counts(stderr: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("queue "))
        .map(|l| {
            let (_, rest) = l.split_once(": ").unwrap();
            rest.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn four_queues_capture_every_frame_once_in_flow_order() {
    let (input, frames) = mixed_flows("flows.pcap", 20_000);
    let out = tmp("merged.pcap");
    let err = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "--queues",
        "4",
        "--cores",
        "0-1",
        "--time-stamp-precision",
        "nano",
        "-w",
        out.to_str().unwrap(),
    ]));
    let got = read_pcap(&out);
    assert_eq!(got.len(), frames.len(), "{err}");
    let got_frames: Vec<Vec<u8>> = got.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(multiset(&got_frames), multiset(&frames));
    assert_flow_order(&got_frames);
    assert!(
        got.windows(2).all(|w| w[0].0 <= w[1].0),
        "the merged file is in timestamp order"
    );
    let per_q = queue_counts(&err);
    assert_eq!(per_q.len(), 4, "{err}");
    assert_eq!(per_q.iter().sum::<u64>(), frames.len() as u64, "{err}");
    assert!(
        per_q.iter().filter(|&&n| n > 0).count() >= 3,
        "RSS spreads the flows: {per_q:?}"
    );
    assert!(
        err.contains(&format!("{} packets captured", frames.len())),
        "{err}"
    );
}

#[test]
fn per_queue_files_add_up() {
    let (input, frames) = mixed_flows("flows-pq.pcap", 8_000);
    let out = tmp("pq.pcapng");
    let err = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "--queues",
        "4",
        "--per-queue",
        "-w",
        out.to_str().unwrap(),
    ]));
    let per_q = queue_counts(&err);
    let mut all = Vec::new();
    for (q, &n) in per_q.iter().enumerate() {
        let f = complete_pcapng(&tmp(&format!("pq.q{q}.pcapng")));
        assert_eq!(f.len() as u64, n, "queue {q}: {err}");
        assert_flow_order(&f);
        all.extend(f);
    }
    assert_eq!(per_q.len(), 4);
    assert_eq!(multiset(&all), multiset(&frames));
}

/// The files of queue `q` in `d` whose names start with `stem.qN`, in the
/// order they were written.
fn queue_files(d: &Path, stem: &str, q: usize) -> Vec<PathBuf> {
    let prefix = format!("{stem}.q{q}");
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    // tcpdump's names: x.qN.pcapng, x.qN.pcapng1, x.qN.pcapng2…; dumpcap's
    // carry a zero-padded file number: both sort by (length, name).
    v.sort_by_key(|p| {
        let n = p.display().to_string();
        (n.len(), n)
    });
    v
}

/// `--per-queue` with a rotation option: every queue's files are complete,
/// they hold that queue's packets in order, and all files together hold
/// every frame exactly once, as many as the summary says.
fn per_queue_rotation(name: &str, ext: &str, rotation: &[&str]) -> Vec<usize> {
    let (input, frames) = mixed_flows(&format!("flows-{name}.pcap"), 8_000);
    let d = dir(name);
    let out = d.join(format!("cap.{ext}"));
    let mut args = vec![
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "--queues",
        "4",
        "--per-queue",
        "-w",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(rotation);
    let err = ok(&igbpoll(&args));
    let per_q = queue_counts(&err);
    assert_eq!(per_q.len(), 4, "{err}");
    let mut all = Vec::new();
    let mut files_per_queue = Vec::new();
    let mut files = 0;
    for (q, &n) in per_q.iter().enumerate() {
        let fs = queue_files(&d, "cap", q);
        assert!(!fs.is_empty(), "queue {q} has files: {err}");
        let mut mine = Vec::new();
        for f in &fs {
            mine.extend(complete_frames(f));
        }
        assert_eq!(mine.len() as u64, n, "queue {q} ({fs:?}): {err}");
        assert_flow_order(&mine);
        files_per_queue.push(fs.len());
        files += fs.len();
        all.extend(mine);
    }
    assert_eq!(all.len() as u64, summary_count(&err, " packets captured"));
    assert_eq!(multiset(&all), multiset(&frames));
    assert!(
        err.contains(&format!(", {files} files")),
        "{files} files: {err}"
    );
    files_per_queue
}

#[test]
fn per_queue_files_rotate_by_size() {
    // 8,000 frames of 60–100 bytes over four queues: ~200 kB a queue.
    let files = per_queue_rotation("pq-c", "pcapng", &["-C", "40k"]);
    assert!(
        files.iter().all(|&n| n >= 3),
        "every queue rotated: {files:?}"
    );
}

#[test]
fn per_queue_files_rotate_by_packets() {
    let files = per_queue_rotation("pq-b", "pcap", &["-b", "packets:500"]);
    assert!(
        files.iter().all(|&n| n >= 3),
        "every queue rotated: {files:?}"
    );
}

/// The largest resident set of `child` while it runs (sampled from
/// `/proc/PID/status` every 20 ms), in KiB.
fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().expect("wait for igbpoll").is_none() {
        if let Ok(s) = std::fs::read_to_string(&status) {
            let rss = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak = peak.max(rss.unwrap_or(0));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peak
}

#[test]
fn merged_capture_memory_stays_bounded() {
    // Every batch vector that goes to the writer comes back to its receive
    // thread: a build that merged them lost one vector in every few and grew
    // by ~130 MB a second here. With the pools, the simulator's memory and
    // the buffers, this capture needs about 60 MB however long it runs.
    let out = tmp("bounded.pcap");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args(["--sim", "igb", "capture", "--duration", "4"])
        .args(["--queues", "4", "--cores", "1", "-w"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run igbpoll");
    let peak = peak_rss_kib(&mut child);
    let done = child.wait_with_output().expect("igbpoll's output");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    let captured = summary_count(&err, " packets captured");
    let _ = std::fs::remove_file(&out);
    assert!(captured > 100_000, "{err}");
    assert!(
        peak < 200 * 1024,
        "peak resident set {peak} KiB after {captured} packets"
    );
}

#[test]
fn e1000_has_a_single_queue() {
    let out = igbpoll(&["--sim", "e1000", "capture", "--queues", "2", "-c", "10"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("82540EM has a single queue"),
        "names the model's single queue: {err}"
    );
}

#[test]
fn bad_core_lists_are_named() {
    for (list, says) in [
        ("3-1", "a range goes from the lower CPU to the higher"),
        ("0,x", "`x` in `0,x` is not a CPU number"),
        ("0,,1", "empty CPU number"),
        ("1,0-1", "CPU 1 appears twice"),
        ("4000", "is not available"),
    ] {
        let out = igbpoll(&[
            "--sim", "igb", "capture", "--queues", "2", "--cores", list, "-c", "1",
        ]);
        assert!(!out.status.success(), "{list}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{list}: {err}");
    }
}

#[test]
fn a_filter_on_four_queues_keeps_tcpdumps_frames() {
    if !common::have("tcpdump") {
        eprintln!("tcpdump not installed: skipped (scripts/test-all.sh installs it)");
        return;
    }
    let (input, _) = mixed_flows("flows-filter.pcap", 6_000);
    for filter in [
        "udp",
        "tcp dst port 443 or udp dst port 53",
        "src net 10.0.0.0/24",
    ] {
        let want = common::tcpdump_filtered(&input, filter);
        assert!(
            !want.is_empty() && want.len() < 6_000,
            "`{filter}` selects some"
        );
        let out = tmp("flows-filtered.pcap");
        let err = ok(&igbpoll(&[
            "--sim",
            "igb",
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "--queues",
            "4",
            "--cores",
            "0-1",
            "-w",
            out.to_str().unwrap(),
            filter,
        ]));
        let got: Vec<Vec<u8>> = read_pcap(&out).into_iter().map(|(_, f)| f).collect();
        assert_eq!(multiset(&got), multiset(&want), "`{filter}`: {err}");
        assert_flow_order(&got);
        assert!(
            err.contains(&format!("{} packets filtered out", 6_000 - want.len())),
            "{err}"
        );
    }
}
