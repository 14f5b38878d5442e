//! Helpers shared by the integration tests in `apps/tests` (each test file has
//! `mod common;`). Not every test file uses every helper.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod netns;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// The first bytes of a pcapng file (its section header block type).
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Runs the igbpoll binary with `args` and no stdin, and waits for it.
pub fn igbpoll<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_igbpoll"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run igbpoll")
}

/// Stderr of a run that must have succeeded.
pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The temp-dir prefix of this test binary and process.
fn scratch_name() -> String {
    format!(
        "igbpoll-{}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    )
}

/// A path for `name` in this test binary's temp directory.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(scratch_name());
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// A fresh, empty directory for one test.
pub fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{}-{name}", scratch_name()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Whether `tool --version` runs.
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// The number on the summary line that ends with `suffix`.
pub fn summary_count(stderr: &str, suffix: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split_once(suffix).map(|(n, _)| n))
        .unwrap_or_else(|| panic!("no `{suffix}` in {stderr}"))
        .trim()
        .parse()
        .unwrap()
}

/// Frames of a pcap (not pcapng) capture held in memory.
pub fn pcap_frames(data: &[u8]) -> Vec<Vec<u8>> {
    let mut r = PcapReader::new(data).expect("pcap");
    let mut out = Vec::new();
    while let Some(p) = r.next_raw_packet() {
        out.push(p.expect("record").data.to_vec());
    }
    out
}

/// Frames of a pcap (not pcapng) file.
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    pcap_frames(&std::fs::read(path).expect("read capture"))
}

/// `igbpoll --sim igb --sim-replay INPUT capture ARGS…`.
pub fn replay_capture(input: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().expect("utf-8 path"),
        "capture",
    ];
    all.extend_from_slice(args);
    igbpoll(&all)
}

/// Frames of a pcap or pcapng capture held in memory, read with the pcap-file
/// crate; a pcapng capture need not end with its statistics block.
pub fn frames_in(data: &[u8]) -> Vec<Vec<u8>> {
    if !data.starts_with(&PCAPNG_MAGIC) {
        return pcap_frames(data);
    }
    let mut out = Vec::new();
    let mut r = PcapNgReader::new(data).expect("pcapng");
    while let Some(b) = r.next_block() {
        if let Block::EnhancedPacket(p) = b.expect("block") {
            out.push(p.data.to_vec());
        }
    }
    out
}

/// Frames of a pcap or pcapng file (see [`frames_in`]).
pub fn read_frames(path: &Path) -> Vec<Vec<u8>> {
    frames_in(&std::fs::read(path).expect("read capture"))
}

/// Frames of a capture file; panics unless the file is complete (a pcapng
/// file must end with its statistics block).
pub fn complete_frames(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("read capture");
    let mut out = Vec::new();
    if data.starts_with(&PCAPNG_MAGIC) {
        let mut r = PcapNgReader::new(&data[..]).expect("pcapng");
        let mut ends_with_isb = false;
        while let Some(b) = r.next_block() {
            ends_with_isb = false;
            match b.unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                Block::EnhancedPacket(p) => out.push(p.data.to_vec()),
                Block::InterfaceStatistics(_) => ends_with_isb = true,
                _ => {}
            }
        }
        assert!(
            ends_with_isb,
            "{} ends with its statistics block",
            path.display()
        );
    } else {
        let mut r = PcapReader::new(&data[..]).expect("pcap");
        while let Some(p) = r.next_raw_packet() {
            out.push(
                p.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .data
                    .to_vec(),
            );
        }
    }
    out
}

/// Frames of a pcapng file that must be complete (see [`complete_frames`]).
pub fn complete_pcapng(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("read capture");
    assert!(
        data.starts_with(&PCAPNG_MAGIC),
        "{} is pcapng",
        path.display()
    );
    complete_frames(path)
}

/// Writes `frames` as a classic pcap file, 1 µs apart.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    write_pcap_cut(path, frames, usize::MAX);
}

/// Writes `frames` as a pcap file with each record cut to `snaplen` bytes (its
/// original length kept), as a capture with `-s snaplen` records them.
pub fn write_pcap_cut(path: &Path, frames: &[Vec<u8>], snaplen: usize) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = pcap_file::pcap::PcapWriter::new(file).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        let ts = std::time::Duration::from_micros(i as u64);
        let kept = &f[..f.len().min(snaplen)];
        w.write_packet(&pcap_file::pcap::PcapPacket::new(ts, f.len() as u32, kept))
            .expect("pcap record");
    }
}

/// The frames `tcpdump -r input -w … filter` keeps, in order.
pub fn tcpdump_filtered(input: &Path, filter: &str) -> Vec<Vec<u8>> {
    let out = tmp(&format!(
        "tcpdump-filtered-{:x}.pcap",
        filter
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    ));
    let t = Command::new("tcpdump")
        .arg("-r")
        .arg(input)
        .arg("-w")
        .arg(&out)
        .arg(filter)
        .output()
        .expect("tcpdump");
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    read_pcap(&out)
}
