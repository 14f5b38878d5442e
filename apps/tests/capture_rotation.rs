//! `igbpoll capture` across files: tcpdump's -C/-G/-W and dumpcap's -b, every
//! file complete, no packet lost or duplicated across files, signals, -Z,
//! --stats and the drop causes of the summary.

mod common;

use common::{complete_frames, dir, igbpoll, ok, summary_count};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The files in `d` in the order they were made: tcpdump's numbers and
/// dumpcap's zero-padded ones both sort by (length, name).
fn files(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    v
}

/// 3,000 frames of the generator's mix, as a replay source.
fn mixed(d: &Path) -> (PathBuf, Vec<Vec<u8>>) {
    let path = d.join("mixed.pcap");
    ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "200000",
        "capture",
        "-c",
        "3000",
        "-w",
        path.to_str().unwrap(),
    ]));
    let f = complete_frames(&path);
    assert_eq!(f.len(), 3000);
    (path, f)
}

#[test]
fn size_rotation_loses_and_duplicates_nothing() {
    let src = dir("src");
    let (input, want) = mixed(&src);
    for (name, extra) in [
        ("x.pcap", &["-C", "0.1"][..]),
        ("x.pcapng", &["-C", "100k"][..]),
        ("y.pcapng", &["-b", "filesize:100"][..]),
        ("z.pcap", &["-b", "packets:700"][..]),
    ] {
        let d = dir(&format!("size-{}", extra.join("")).replace([':', '.'], "_"));
        let w = d.join(name);
        let mut args = vec![
            "--sim",
            "igb",
            "--sim-replay",
            input.to_str().unwrap(),
            "capture",
            "-w",
            w.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let stderr = ok(&igbpoll(&args));
        let fs = files(&d);
        assert!(fs.len() >= 3, "{extra:?}: several files: {fs:?}");
        let mut got = Vec::new();
        for f in &fs {
            let fr = complete_frames(f);
            assert!(!fr.is_empty(), "{}", f.display());
            got.extend(fr);
        }
        assert_eq!(
            got.len() as u64,
            summary_count(&stderr, " packets captured")
        );
        assert_eq!(got, want, "{extra:?}: every frame once, in order");
        let names: Vec<String> = fs
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        if extra[0] == "-C" {
            assert_eq!(names[0], name);
            assert_eq!(names[1], format!("{name}1"));
            assert_eq!(names[2], format!("{name}2"));
        } else {
            let (stem, ext) = name.split_once('.').unwrap();
            assert!(names[0].starts_with(&format!("{stem}_00001_")), "{names:?}");
            assert!(names[1].starts_with(&format!("{stem}_00002_")), "{names:?}");
            assert!(names
                .iter()
                .all(|n| n.ends_with(ext) && n.len() == name.len() + 21));
        }
        if extra[1] == "packets:700" {
            assert!(fs[..fs.len() - 1]
                .iter()
                .all(|f| complete_frames(f).len() == 700));
        }
    }
}

#[test]
fn post_rotate_command_gets_every_finished_file() {
    use std::os::unix::fs::PermissionsExt;
    let src = dir("zsrc");
    let (input, want) = mixed(&src);
    // The command moves each file it is given into done/: a file moved while
    // still being written would come out cut short or missing frames.
    let d = dir("z-out");
    let done = d.join("done");
    std::fs::create_dir(&done).unwrap();
    let script = src.join("finish.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec mv \"$1\" {}/\n", done.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, extra) in [
        ("x.pcap", &["-C", "0.1"][..]),
        ("y.pcapng", &["-b", "packets:500"][..]),
    ] {
        let w = d.join(name);
        let mut args = vec!["-w", w.to_str().unwrap(), "-z", script.to_str().unwrap()];
        args.extend_from_slice(extra);
        let stderr = ok(&common::replay_capture(&input, &args));
        let moved = files(&done);
        assert!(moved.len() >= 3, "{extra:?}: {moved:?}");
        // Every file, the last one too, was handed over, and only once
        // igbpoll had finished it; igbpoll waited for the last run.
        assert!(
            files(&d).iter().all(|f| f == &done),
            "{extra:?}: left behind"
        );
        assert!(
            stderr.contains(&format!(
                "-z command run on {} files, 0 failed",
                moved.len()
            )),
            "{stderr}"
        );
        let mut got = Vec::new();
        for f in &moved {
            got.extend(complete_frames(f));
            std::fs::remove_file(f).unwrap();
        }
        assert_eq!(got, want, "{extra:?}: every frame once, in order");
    }
    // A command that fails is counted, and the capture goes on.
    let w = d.join("f.pcap");
    let stderr = ok(&common::replay_capture(
        &input,
        &["-w", w.to_str().unwrap(), "-C", "0.1", "-z", "false"],
    ));
    let n = files(&d).iter().filter(|f| *f != &done).count();
    assert!(n >= 3);
    assert!(
        stderr.contains(&format!("-z command run on {n} files, {n} failed")),
        "{stderr}"
    );
    // A command that is not there is refused before the capture starts.
    let out = igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-w",
        w.to_str().unwrap(),
        "-z",
        "no-such-cmd-igbpoll",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such executable"));
}

#[test]
fn autostop_ends_the_capture_as_dumpcap_does() {
    let src = dir("asrc");
    let (input, want) = mixed(&src);
    let run = |d: &Path, name: &str, extra: &[&str]| {
        let w = d.join(name);
        let mut args = vec!["-w", w.to_str().unwrap()];
        args.extend_from_slice(extra);
        let stderr = ok(&common::replay_capture(&input, &args));
        let fs = files(d);
        let mut got = Vec::new();
        for f in &fs {
            got.extend(complete_frames(f));
        }
        assert_eq!(
            got.len() as u64,
            summary_count(&stderr, " packets captured")
        );
        assert_eq!(
            got[..],
            want[..got.len()],
            "{extra:?}: the first frames, in order"
        );
        (fs, got.len())
    };
    // filesize alone: one file, ended once it holds 100 kB.
    let d = dir("a-size");
    let (fs, n) = run(&d, "x.pcap", &["-a", "filesize:100"]);
    assert_eq!(fs.len(), 1, "{fs:?}");
    let len = std::fs::metadata(&fs[0]).unwrap().len();
    assert!((100_000..100_000 + 1600).contains(&len), "{len}");
    assert!(n < want.len());
    // files:N with -b: N files, then the end.
    let d = dir("a-files");
    let (fs, _) = run(&d, "y.pcapng", &["-b", "filesize:50", "-a", "files:3"]);
    assert_eq!(fs.len(), 3, "{fs:?}");
    // packets and duration: the first limit reached ends it.
    let d = dir("a-packets");
    let (_, n) = run(
        &d,
        "z.pcap",
        &["-a", "duration:600", "-a", "packets:700", "-c", "900"],
    );
    assert_eq!(n, 700);
    // What cannot be honoured is refused.
    for bad in [
        &["-a", "files:2", "-w", "a.pcap"][..],
        &["-a", "filesize:10", "-C", "1", "-w", "a.pcap"],
        &["-a", "filesize:10", "-w", "-"],
        &["-a", "size:10"],
        &["-a", "packets:0"],
    ] {
        let mut args = vec!["--sim", "igb", "capture"];
        args.extend_from_slice(bad);
        assert!(!igbpoll(&args).status.success(), "{bad:?}");
    }
}

#[test]
fn rings_keep_the_last_files() {
    let src = dir("ringsrc");
    let (input, _) = mixed(&src);
    // tcpdump: -C with -W reuses x0, x1, x2.
    let d = dir("ring-c");
    let w = d.join("x.pcap");
    ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "-w",
        w.to_str().unwrap(),
        "-C",
        "0.05",
        "-W",
        "3",
    ]));
    let mut names: Vec<String> = files(&d)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["x.pcap0", "x.pcap1", "x.pcap2"]);
    for f in files(&d) {
        assert!(!complete_frames(&f).is_empty());
    }
    // dumpcap: files:2 deletes all but the last two.
    let d = dir("ring-b");
    let w = d.join("y.pcapng");
    ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-replay",
        input.to_str().unwrap(),
        "capture",
        "-w",
        w.to_str().unwrap(),
        "-b",
        "filesize:50",
        "-b",
        "files:2",
    ]));
    let fs = files(&d);
    assert_eq!(fs.len(), 2, "{fs:?}");
    for f in &fs {
        assert!(!complete_frames(f).is_empty());
    }
}

#[test]
fn time_rotation_names_files_by_time() {
    for (name, extra) in [
        ("t-%Y%m%d-%H%M%S.pcapng", &["-G", "1"][..]),
        ("u.pcap", &["-b", "interval:1"][..]),
    ] {
        let d = dir(&format!("time-{}", extra[0].trim_start_matches('-')));
        let w = d.join(name);
        let mut args = vec![
            "--sim",
            "igb",
            "--sim-rate",
            "20000",
            "capture",
            "--duration",
            "2.5",
            "-w",
            w.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let stderr = ok(&igbpoll(&args));
        let fs = files(&d);
        assert!((2..=5).contains(&fs.len()), "{extra:?}: {fs:?}");
        let total: usize = fs.iter().map(|f| complete_frames(f).len()).sum();
        assert_eq!(total as u64, summary_count(&stderr, " packets captured"));
        for f in &fs {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!n.contains('%'), "{n}");
            assert!(n.contains("20"), "a year in {n}");
        }
    }
}

#[test]
fn signals_leave_every_rotated_file_complete() {
    for (sig, name) in [("-TERM", "s.pcapng"), ("-INT", "s.pcap")] {
        let d = dir(&format!("sig{sig}"));
        let w = d.join(name);
        let child = Command::new(env!("CARGO_BIN_EXE_igbpoll"))
            .args([
                "--sim",
                "igb",
                "--sim-rate",
                "100000",
                "capture",
                "-C",
                "0.2",
                "-w",
            ])
            .arg(&w)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        let stderr = ok(&out);
        let fs = files(&d);
        assert!(fs.len() >= 2, "{sig}: {fs:?}");
        let total: usize = fs.iter().map(|f| complete_frames(f).len()).sum();
        assert_eq!(
            total as u64,
            summary_count(&stderr, " packets captured"),
            "{sig}"
        );
    }
}

#[test]
fn stats_prints_a_line_per_second_with_the_causes() {
    let d = dir("stats");
    let w = d.join("s.pcap");
    let stderr = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "50000",
        "capture",
        "--stats",
        "--duration",
        "2.6",
        "-w",
        w.to_str().unwrap(),
        "not arp",
    ]));
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" pps, ")).collect();
    assert!((2..=4).contains(&lines.len()), "{stderr}");
    for l in &lines {
        for cause in [
            "Mbit/s",
            "MPC",
            "RQDPC",
            "writer behind",
            "filtered out",
            "RNBC",
            "RUC",
            "/1024 filled",
            "posted",
        ] {
            assert!(l.contains(cause), "{cause} in {l}");
        }
    }
    // About 50,000 pps.
    let pps: f64 = lines[1]
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((30_000.0..70_000.0).contains(&pps), "{}", lines[1]);
}

/// Every frame the NIC wrote to memory is accounted for once: captured,
/// filtered out, dropped by the driver, dropped because the writer fell
/// behind, or left in the ring. A small writer buffer makes the writer fall
/// behind on an unpaced source.
#[test]
fn the_summary_accounts_for_every_frame() {
    let d = dir("acc");
    let w = d.join("a.pcapng");
    let stderr = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-size",
        "60",
        "capture",
        "-c",
        "300000",
        "--writer-buffer",
        "64",
        "--batch",
        "64",
        "-w",
        w.to_str().unwrap(),
    ]));
    let captured = summary_count(&stderr, " packets captured");
    assert_eq!(captured, 300_000);
    let gprc: u64 = stderr
        .lines()
        .find_map(|l| l.split_once(" written to memory (GPRC)"))
        .map(|(a, _)| a.rsplit('(').next().unwrap().parse().unwrap())
        .unwrap();
    let behind = summary_count(&stderr, " packets dropped because the writer fell behind");
    let filtered = summary_count(&stderr, " packets filtered out");
    let driver = summary_count(&stderr, " packets dropped by the driver");
    let unread = stderr
        .lines()
        .find_map(|l| {
            l.strip_suffix(" packets in the receive ring, not read when the capture stopped")
        })
        .map_or(0, |n| n.parse::<u64>().unwrap());
    assert_eq!(
        captured + behind + filtered + driver + unread,
        gprc,
        "{stderr}"
    );
    assert_eq!(complete_frames(&w).len() as u64, captured);
    assert!(stderr.contains("per packet: receive thread"), "{stderr}");
}

/// -Z USER: files after the first are created as USER, and the first is
/// handed over. Needs root (skipped otherwise).
#[test]
fn relinquished_privileges_own_the_rotated_files() {
    let out = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        eprintln!("not root: -Z not tested");
        return;
    }
    let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
    if !nobody.status.success() {
        eprintln!("no user nobody: -Z not tested");
        return;
    }
    let uid: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .unwrap();
    let d = dir("privs");
    Command::new("chmod").arg("777").arg(&d).status().unwrap();
    let w = d.join("p.pcap");
    let stderr = ok(&igbpoll(&[
        "--sim",
        "igb",
        "--sim-rate",
        "100000",
        "capture",
        "-c",
        "20000",
        "-C",
        "0.2",
        "-Z",
        "nobody",
        "-w",
        w.to_str().unwrap(),
    ]));
    let fs = files(&d);
    assert!(fs.len() >= 2, "{fs:?}");
    use std::os::unix::fs::MetadataExt;
    for f in &fs {
        assert_eq!(std::fs::metadata(f).unwrap().uid(), uid, "{}", f.display());
    }
    let total: usize = fs.iter().map(|f| complete_frames(f).len()).sum();
    assert_eq!(total as u64, summary_count(&stderr, " packets captured"));
    // The threads' CPU time is still measured after the privilege drop: it
    // once came from /proc, unreadable after -Z, and a short capture printed
    // "0.0 ns CPU" (a real measurement is never below 0.05 ns per packet).
    let short = ok(&igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-c",
        "100",
        "-Z",
        "nobody",
        "-w",
        d.join("short.pcap").to_str().unwrap(),
    ]));
    let line = short
        .lines()
        .find(|l| l.starts_with("per packet:"))
        .unwrap_or_else(|| panic!("no per-packet line in {short}"));
    assert!(
        !line.contains(" 0.0 ns CPU") && !line.contains("? ns CPU"),
        "{line}"
    );
    // An unknown user is an error before any packet is captured.
    let bad = igbpoll(&[
        "--sim",
        "igb",
        "capture",
        "-Z",
        "no-such-user-here",
        "-w",
        d.join("q.pcap").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such user"));
}
