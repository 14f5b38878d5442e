//! When a capture moves on to a new file, and what that file is called:
//! tcpdump's `-C` / `-G` / `-W` and dumpcap's `-b`.
//!
//! Names with `-G` go through strftime in local time. That is done with the
//! `chrono` crate rather than by hand: the conversions themselves are easy, but
//! local time is not (the zone database, `TZ`, daylight saving changes), and
//! tcpdump and dumpcap both name files in local time.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{Local, TimeZone};

use crate::cli::{CaptureArgs, RingOption};
use crate::error::CliError;

const NANOS: u64 = 1_000_000_000;

/// How files are named.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Naming {
    /// tcpdump: the `-w` name (strftime-expanded with `-G`), followed with
    /// `-C` by a file number padded to the digits `-W` needs.
    Tcpdump {
        pattern: String,
        strftime: bool,
        /// `Some(digits)` with `-C`.
        counter: Option<usize>,
    },
    /// dumpcap: `PREFIX_NNNNN_YYYYmmddHHMMSS.EXT`.
    Dumpcap { prefix: String, ext: String },
}

/// What makes a file full or old, and how many files are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    naming: Naming,
    /// A file is full once it holds more than this many bytes (tcpdump), or
    /// at least this many (`size_at_least`: dumpcap).
    max_bytes: Option<u64>,
    size_at_least: bool,
    max_packets: Option<u64>,
    /// Seconds after a file was opened (`-G`, `-b duration`).
    period_s: Option<u64>,
    /// Files end at multiples of this many seconds of the wall clock (`-b interval`).
    interval_s: Option<u64>,
    /// `-C` with `-W`: a ring of this many names, reused.
    reuse: Option<u32>,
    /// `-b files`: keep this many files, deleting older ones.
    keep: Option<u32>,
    /// `-G` with `-W` and without `-C`, or `-a files:N` (or `-a filesize`
    /// alone: 1): stop after this many files.
    stop_after: Option<u32>,
}

/// Digits tcpdump pads the file number to with `-W files`.
fn w_digits(files: u32) -> usize {
    let mut x = files.saturating_sub(1);
    let mut c = 0;
    while x > 0 {
        c += 1;
        x /= 10;
    }
    c
}

/// `template` expanded with strftime at `ts_ns`, in local time.
///
/// # Errors
/// An unknown conversion.
pub fn strftime(template: &str, ts_ns: u64) -> Result<String, String> {
    let t = Local.timestamp_nanos(ts_ns.min(i64::MAX as u64) as i64);
    let mut s = String::with_capacity(template.len() + 16);
    write!(s, "{}", t.format(template))
        .map_err(|_| format!("`{template}`: unknown strftime conversion"))?;
    Ok(s)
}

impl Policy {
    /// The policy the options ask for, or `None` for a single file.
    ///
    /// # Errors
    /// Rotation without a file to rotate, tcpdump's and dumpcap's options
    /// mixed, `-W` alone, or a bad strftime pattern.
    pub fn from_args(args: &CaptureArgs) -> Result<Option<Policy>, CliError> {
        let tcpdump = args.file_size.is_some() || args.rotate_seconds.is_some();
        let dumpcap = !args.ring_buffer.is_empty();
        let stop_bytes = args.autostop_bytes();
        let stop_files = args.autostop_files();
        if stop_files.is_some() && !dumpcap {
            return Err(CliError::Usage(
                "-a files:N goes with dumpcap's -b (with -G, tcpdump's -W N stops after N files)"
                    .into(),
            ));
        }
        if !tcpdump && !dumpcap && stop_bytes.is_none() {
            if args.file_count.is_some() {
                return Err(CliError::Usage("-W needs -C or -G".into()));
            }
            return Ok(None);
        }
        let path = match args.write.as_deref() {
            Some("-") | None => {
                return Err(CliError::Usage(
                    "file rotation (-C, -G, -b) and -a filesize need -w FILE (not stdout)".into(),
                ))
            }
            Some(p) => p,
        };
        if tcpdump && (dumpcap || stop_bytes.is_some()) {
            return Err(CliError::Usage(
                "use tcpdump's -C/-G/-W or dumpcap's -b/-a, not both".into(),
            ));
        }
        if !tcpdump && !dumpcap {
            // -a filesize alone: one file, ended (and the capture with it)
            // once it holds that much, as dumpcap does.
            return Ok(Some(Policy {
                max_bytes: stop_bytes,
                stop_after: Some(1),
                ..Policy::dumpcap_rules(Naming::Tcpdump {
                    pattern: path.to_string(),
                    strftime: false,
                    counter: None,
                })
            }));
        }
        if dumpcap {
            if args.file_count.is_some() {
                return Err(CliError::Usage(
                    "-W goes with -C or -G; use -b files:N".into(),
                ));
            }
            let mut p = Policy {
                stop_after: stop_files,
                ..Policy::dumpcap_rules(dumpcap_naming(path))
            };
            for o in &args.ring_buffer {
                match *o {
                    RingOption::Duration(s) => p.period_s = Some(s),
                    RingOption::Interval(s) => p.interval_s = Some(s),
                    RingOption::FileSizeKb(kb) => p.limit_bytes(kb.saturating_mul(1000)),
                    RingOption::Packets(n) => p.max_packets = Some(n),
                    RingOption::Files(n) => p.keep = Some(n),
                }
            }
            // With -b, -a filesize starts the next file, as dumpcap's does.
            if let Some(b) = stop_bytes {
                p.limit_bytes(b);
            }
            if p.period_s.is_none()
                && p.interval_s.is_none()
                && p.max_bytes.is_none()
                && p.max_packets.is_none()
            {
                return Err(CliError::Usage(
                    "-b files:N needs a condition to switch files: duration, interval, \
                     filesize or packets"
                        .into(),
                ));
            }
            return Ok(Some(p));
        }
        let strftime_names = args.rotate_seconds.is_some();
        if strftime_names {
            strftime(path, 0).map_err(CliError::Usage)?;
            if !path.contains('%') && args.file_size.is_none() {
                log::warn!(
                    "-G without a strftime conversion in the name: every file overwrites {path}"
                );
            }
        }
        let with_c = args.file_size.is_some();
        Ok(Some(Policy {
            naming: Naming::Tcpdump {
                pattern: path.to_string(),
                strftime: strftime_names,
                counter: with_c.then(|| args.file_count.map_or(0, w_digits)),
            },
            max_bytes: args.file_size,
            size_at_least: false,
            max_packets: None,
            period_s: args.rotate_seconds,
            interval_s: None,
            // tcpdump: with both -C and -G, -W only shapes the names.
            reuse: if with_c && !strftime_names {
                args.file_count
            } else {
                None
            },
            keep: None,
            stop_after: if !with_c { args.file_count } else { None },
        }))
    }

    /// Files named by `naming` under dumpcap's size rule, nothing else set.
    fn dumpcap_rules(naming: Naming) -> Policy {
        Policy {
            naming,
            max_bytes: None,
            size_at_least: true,
            max_packets: None,
            period_s: None,
            interval_s: None,
            reuse: None,
            keep: None,
            stop_after: None,
        }
    }

    /// Files end at `bytes` at the latest (the smallest limit given wins).
    fn limit_bytes(&mut self, bytes: u64) {
        self.max_bytes = Some(self.max_bytes.map_or(bytes, |m| m.min(bytes)));
    }

    /// The same policy for the files of one queue of `--per-queue`: every
    /// name gets `.qN` before its extension (`x.pcap` → `x.q2.pcap`, then
    /// `x.q2.pcap1`… with `-C`; dumpcap's `cap.q2_00001_…pcapng`).
    pub fn for_queue(&self, q: usize) -> Policy {
        let naming = match &self.naming {
            Naming::Tcpdump {
                pattern,
                strftime,
                counter,
            } => Naming::Tcpdump {
                pattern: super::multi::queue_path(pattern, q),
                strftime: *strftime,
                counter: *counter,
            },
            Naming::Dumpcap { prefix, ext } => Naming::Dumpcap {
                prefix: format!("{prefix}.q{q}"),
                ext: ext.clone(),
            },
        };
        Policy {
            naming,
            ..self.clone()
        }
    }
}

/// dumpcap's prefix and extension: the name split at the last dot of its
/// file name.
fn dumpcap_naming(path: &str) -> Naming {
    let file_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => Naming::Dumpcap {
            prefix: path[..file_start + dot].to_string(),
            ext: path[file_start + dot..].to_string(),
        },
        _ => Naming::Dumpcap {
            prefix: path.to_string(),
            ext: String::new(),
        },
    }
}

/// What the writer does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Open this file (truncating it), then delete `delete` if given.
    Open {
        /// The new file.
        path: PathBuf,
        /// An old file to delete (dumpcap's `files:N`).
        delete: Option<PathBuf>,
    },
    /// The file count of `-G … -W` is reached: stop the capture.
    Stop,
}

/// The state of a rotating capture: which file is open and since when.
#[derive(Debug)]
pub struct Rotator {
    policy: Policy,
    /// Files opened so far.
    opened: u64,
    /// tcpdump's -C file number within the current -G period.
    c_count: u32,
    /// When the current file was opened (ns since the epoch).
    opened_ns: u64,
    /// dumpcap's files still on disk, oldest first.
    kept: VecDeque<PathBuf>,
}

impl Rotator {
    /// A rotator for `policy`; call [`Rotator::first`] for the first name.
    pub fn new(policy: Policy) -> Rotator {
        Rotator {
            policy,
            opened: 0,
            c_count: 0,
            opened_ns: 0,
            kept: VecDeque::new(),
        }
    }

    /// The first file's name, opened at `now_ns`.
    ///
    /// # Errors
    /// A bad strftime pattern.
    pub fn first(&mut self, now_ns: u64) -> Result<PathBuf, String> {
        match self.open(now_ns, false)? {
            Next::Open { path, .. } => Ok(path),
            Next::Stop => Err("no file to open".into()),
        }
    }

    /// The next file, opened at `now_ns`, or the end of the capture.
    ///
    /// # Errors
    /// A bad strftime pattern.
    pub fn next(&mut self, now_ns: u64) -> Result<Next, String> {
        if let Some(n) = self.policy.stop_after {
            if self.opened >= u64::from(n) {
                return Ok(Next::Stop);
            }
        }
        let by_time = self.deadline_ns().is_some_and(|d| now_ns >= d);
        self.open(now_ns, !by_time)
    }

    fn open(&mut self, now_ns: u64, by_size: bool) -> Result<Next, String> {
        let first = self.opened == 0;
        self.opened += 1;
        let path = match &self.policy.naming {
            Naming::Tcpdump {
                pattern,
                strftime: st,
                counter,
            } => {
                if !first {
                    if by_size {
                        self.c_count += 1;
                        if let Some(w) = self.policy.reuse {
                            if self.c_count >= w {
                                self.c_count = 0;
                            }
                        }
                    } else {
                        self.c_count = 0;
                    }
                }
                let base = if *st {
                    strftime(pattern, now_ns)?
                } else {
                    pattern.clone()
                };
                match counter {
                    Some(digits) if self.c_count > 0 || *digits > 0 => {
                        format!("{base}{:0digits$}", self.c_count, digits = *digits)
                    }
                    _ => base,
                }
            }
            Naming::Dumpcap { prefix, ext } => {
                let t = strftime("%Y%m%d%H%M%S", now_ns)?;
                format!("{prefix}_{:05}_{t}{ext}", self.opened)
            }
        };
        self.opened_ns = now_ns;
        let path = PathBuf::from(path);
        let mut delete = None;
        if let Some(keep) = self.policy.keep {
            self.kept.push_back(path.clone());
            if self.kept.len() > keep as usize {
                delete = self.kept.pop_front();
            }
        }
        Ok(Next::Open { path, delete })
    }

    /// When the current file must end, if time rotates files.
    pub fn deadline_ns(&self) -> Option<u64> {
        let period = self
            .policy
            .period_s
            .map(|s| self.opened_ns.saturating_add(s.saturating_mul(NANOS)));
        let interval = self.policy.interval_s.map(|s| {
            let step = s.saturating_mul(NANOS);
            (self.opened_ns / step + 1).saturating_mul(step)
        });
        match (period, interval) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when a file holding `bytes` bytes and `packets` packets must be
    /// closed before the next packet goes in.
    pub fn full(&self, bytes: u64, packets: u64) -> bool {
        if packets == 0 {
            return false;
        }
        let by_size = self.policy.max_bytes.is_some_and(|m| {
            if self.policy.size_at_least {
                bytes >= m
            } else {
                bytes > m
            }
        });
        by_size || self.policy.max_packets.is_some_and(|m| packets >= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn policy(words: &[&str]) -> Result<Option<Policy>, CliError> {
        let cli = crate::cli::Cli::try_parse_from(
            ["igbpoll", "--sim", "igb", "capture"]
                .iter()
                .chain(words)
                .copied(),
        )
        .expect("parse");
        match cli.command {
            crate::cli::Command::Capture(a) => Policy::from_args(&a),
            _ => unreachable!(),
        }
    }

    fn names(words: &[&str], n: usize) -> Vec<String> {
        let mut r = Rotator::new(policy(words).unwrap().unwrap());
        let mut v = vec![r.first(0).unwrap().display().to_string()];
        for _ in 1..n {
            match r.next(1).unwrap() {
                Next::Open { path, .. } => v.push(path.display().to_string()),
                Next::Stop => v.push("STOP".into()),
            }
        }
        v
    }

    #[test]
    fn tcpdump_names() {
        assert_eq!(names(&["-w", "x", "-C", "1"], 3), ["x", "x1", "x2"]);
        assert_eq!(
            names(&["-w", "x", "-C", "1", "-W", "3"], 5),
            ["x0", "x1", "x2", "x0", "x1"]
        );
        assert_eq!(
            names(&["-w", "x", "-C", "1", "-W", "11"], 2),
            ["x00", "x01"]
        );
        assert_eq!(names(&["-w", "x", "-C", "1", "-W", "1"], 2), ["x", "x"]);
        assert_eq!(w_digits(10), 1);
        assert_eq!(w_digits(100), 2);
    }

    #[test]
    fn g_with_w_stops_after_the_files() {
        let v = names(&["-w", "x-%s", "-G", "1", "-W", "2"], 3);
        assert_eq!(v[2], "STOP");
        assert!(v[0].starts_with("x-"));
    }

    #[test]
    fn strftime_conversions() {
        // 2001-09-09 01:46:40 UTC; %s is the same in every zone.
        let ts = 1_000_000_000 * NANOS;
        assert_eq!(strftime("a-%s-%%", ts).unwrap(), "a-1000000000-%");
        let s = strftime("%Y-%m-%d %H:%M:%S", ts).unwrap();
        assert_eq!(s.len(), 19);
        assert!(s.starts_with("2001-09-0"), "{s}");
        assert!(strftime("%Q", 0).is_err() || strftime("%Q", 0).is_ok());
    }

    #[test]
    fn dumpcap_names_and_files() {
        let mut r = Rotator::new(
            policy(&[
                "-w",
                "/tmp/d/cap.pcapng",
                "-b",
                "filesize:10",
                "-b",
                "files:2",
            ])
            .unwrap()
            .unwrap(),
        );
        let first = r.first(0).unwrap().display().to_string();
        assert!(first.starts_with("/tmp/d/cap_00001_19"), "{first}");
        assert!(first.ends_with(".pcapng"), "{first}");
        assert_eq!(first.len(), "/tmp/d/cap_00001_19700101000000.pcapng".len());
        let Next::Open { delete, .. } = r.next(5).unwrap() else {
            panic!()
        };
        assert_eq!(delete, None);
        let Next::Open { path, delete } = r.next(5).unwrap() else {
            panic!()
        };
        assert!(path.display().to_string().contains("_00003_"));
        assert_eq!(delete.unwrap().display().to_string(), first);
        assert!(r.full(10_000, 1));
        assert!(!r.full(9_999, 1));
        assert!(!r.full(1 << 40, 0));
    }

    #[test]
    fn interval_is_aligned_to_the_clock() {
        let mut r = Rotator::new(
            policy(&["-w", "x.pcap", "-b", "interval:10"])
                .unwrap()
                .unwrap(),
        );
        r.first(123 * NANOS + 5).unwrap();
        assert_eq!(r.deadline_ns(), Some(130 * NANOS));
        let mut r = Rotator::new(
            policy(&["-w", "x.pcap", "-b", "duration:10"])
                .unwrap()
                .unwrap(),
        );
        r.first(123 * NANOS).unwrap();
        assert_eq!(r.deadline_ns(), Some(133 * NANOS));
    }

    #[test]
    fn per_queue_names_carry_the_queue() {
        let p = policy(&["-w", "/d/x.pcap", "-C", "1"]).unwrap().unwrap();
        let mut r = Rotator::new(p.for_queue(2));
        assert_eq!(r.first(0).unwrap().display().to_string(), "/d/x.q2.pcap");
        let Next::Open { path, .. } = r.next(1).unwrap() else {
            panic!()
        };
        assert_eq!(path.display().to_string(), "/d/x.q2.pcap1");
        let p = policy(&["-w", "/d/cap.pcapng", "-b", "packets:5"])
            .unwrap()
            .unwrap();
        let first = Rotator::new(p.for_queue(0)).first(0).unwrap();
        let first = first.display().to_string();
        assert!(first.starts_with("/d/cap.q0_00001_"), "{first}");
        assert!(first.ends_with(".pcapng"), "{first}");
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert!(policy(&["-w", "x", "-W", "3"]).is_err());
        assert!(policy(&["-C", "1"]).is_err());
        assert!(policy(&["-w", "-", "-C", "1"]).is_err());
        assert!(policy(&["-w", "x", "-C", "1", "-b", "files:3"]).is_err());
        assert!(policy(&["-w", "x", "-b", "files:3"]).is_err());
        assert!(policy(&["-w", "x"]).unwrap().is_none());
    }
}
