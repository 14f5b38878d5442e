//! The timestamps of printed lines, as tcpdump prints them: local time of day
//! by default, none (`-t`), seconds since the epoch (`-tt`), the time since the
//! previous packet (`-ttt`), the local date and time (`-tttt`), the time since
//! the first packet (`-ttttt`); in microseconds, or nanoseconds with
//! `--time-stamp-precision nano`. A test compares each with tcpdump's.
//!
//! Local time comes from the `chrono` crate (the zone database and `TZ`, as
//! libc's `localtime` reads them for tcpdump).

#![forbid(unsafe_code)]

use std::fmt::{self, Write};

use chrono::{Local, TimeZone, Timelike};

const NANOS: u64 = 1_000_000_000;

/// Which timestamp starts each line (tcpdump's `-t` count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Local time of day (no `-t`).
    TimeOfDay,
    /// No timestamp (`-t`).
    None,
    /// Seconds since the Unix epoch (`-tt`).
    Epoch,
    /// Time since the previous packet (`-ttt`).
    SincePrevious,
    /// Local date and time (`-tttt`).
    DateTime,
    /// Time since the first packet (`-ttttt`).
    SinceFirst,
}

impl Stamp {
    /// The stamp of `-t` given `count` times (0 to 5).
    pub fn from_count(count: u8) -> Option<Stamp> {
        Some(match count {
            0 => Stamp::TimeOfDay,
            1 => Stamp::None,
            2 => Stamp::Epoch,
            3 => Stamp::SincePrevious,
            4 => Stamp::DateTime,
            5 => Stamp::SinceFirst,
            _ => return None,
        })
    }
}

/// Formats the timestamps of successive lines.
#[derive(Debug, Clone)]
pub struct TimeFormat {
    stamp: Stamp,
    nanos: bool,
    first: Option<u64>,
    previous: Option<u64>,
    /// The local date/time of day of the last second printed, up to the
    /// fraction: a zone lookup per second, not per line.
    second: Option<(u64, String)>,
}

impl TimeFormat {
    /// Timestamps of kind `stamp`, with nine digits of fraction if `nanos`.
    pub fn new(stamp: Stamp, nanos: bool) -> TimeFormat {
        TimeFormat {
            stamp,
            nanos,
            first: None,
            previous: None,
            second: None,
        }
    }

    /// Writes the timestamp of a packet received at `ts_ns` (nanoseconds since
    /// the epoch) followed by the blank before the rest of the line; nothing
    /// for `-t`.
    ///
    /// # Errors
    /// Only those of `out`.
    pub fn write<W: Write + ?Sized>(&mut self, out: &mut W, ts_ns: u64) -> fmt::Result {
        // In microseconds, differences are of the truncated times, as
        // tcpdump's (libpcap hands it microseconds).
        let ts_ns = if self.nanos {
            ts_ns
        } else {
            ts_ns / 1000 * 1000
        };
        let reference = match self.stamp {
            Stamp::SincePrevious => self.previous.unwrap_or(ts_ns),
            Stamp::SinceFirst => *self.first.get_or_insert(ts_ns),
            _ => 0,
        };
        self.previous = Some(ts_ns);
        match self.stamp {
            Stamp::None => Ok(()),
            Stamp::Epoch => {
                write!(out, "{}.", ts_ns / NANOS)?;
                self.fraction(out, ts_ns % NANOS)?;
                out.write_char(' ')
            }
            Stamp::TimeOfDay | Stamp::DateTime => {
                let secs = ts_ns / NANOS;
                if self.second.as_ref().is_none_or(|(s, _)| *s != secs) {
                    let mut text = String::with_capacity(24);
                    let whole = i64::try_from(secs).unwrap_or(i64::MAX);
                    match Local.timestamp_opt(whole, 0).earliest() {
                        Some(t) => {
                            if self.stamp == Stamp::DateTime {
                                write!(text, "{} ", t.format("%Y-%m-%d"))?;
                            }
                            write!(text, "{:02}:{:02}:{:02}.", t.hour(), t.minute(), t.second())?;
                        }
                        // Out of chrono's range: seconds since the epoch instead.
                        None => write!(text, "{secs}.")?,
                    }
                    self.second = Some((secs, text));
                }
                if let Some((_, text)) = &self.second {
                    out.write_str(text)?;
                }
                self.fraction(out, ts_ns % NANOS)?;
                out.write_char(' ')
            }
            Stamp::SincePrevious | Stamp::SinceFirst => {
                // tcpdump: a sign column (blank, or '-' for a packet older
                // than its reference), then the difference as a time of day.
                let (sign, d) = if ts_ns >= reference {
                    (' ', ts_ns - reference)
                } else {
                    ('-', reference - ts_ns)
                };
                let secs = d / NANOS;
                write!(
                    out,
                    "{sign}{:02}:{:02}:{:02}.",
                    secs / 3600 % 24,
                    secs / 60 % 60,
                    secs % 60
                )?;
                self.fraction(out, d % NANOS)?;
                out.write_char(' ')
            }
        }
    }

    fn fraction<W: Write + ?Sized>(&self, out: &mut W, ns: u64) -> fmt::Result {
        if self.nanos {
            write!(out, "{ns:09}")
        } else {
            write!(out, "{:06}", ns / 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: &mut TimeFormat, ts: u64) -> String {
        let mut s = String::new();
        f.write(&mut s, ts).unwrap();
        s
    }

    #[test]
    fn deltas_and_epoch_seconds() {
        let t0 = 1_700_000_000 * NANOS + 123_456_789;
        let mut f = TimeFormat::new(Stamp::SincePrevious, false);
        assert_eq!(line(&mut f, t0), " 00:00:00.000000 ");
        assert_eq!(
            line(&mut f, t0 + 3_723 * NANOS + 1_000),
            " 01:02:03.000001 "
        );
        assert_eq!(line(&mut f, t0), "-01:02:03.000001 ");
        let mut f = TimeFormat::new(Stamp::SinceFirst, true);
        assert_eq!(line(&mut f, t0), " 00:00:00.000000000 ");
        assert_eq!(line(&mut f, t0 + 5), " 00:00:00.000000005 ");
        assert_eq!(line(&mut f, t0 + 7), " 00:00:00.000000007 ");
        let mut f = TimeFormat::new(Stamp::Epoch, false);
        assert_eq!(line(&mut f, t0), "1700000000.123456 ");
        assert_eq!(line(&mut TimeFormat::new(Stamp::None, true), t0), "");
        assert_eq!(Stamp::from_count(6), None);
        // Any timestamp, even past chrono's range, prints something.
        for s in [Stamp::TimeOfDay, Stamp::DateTime] {
            assert!(!line(&mut TimeFormat::new(s, false), u64::MAX).is_empty());
        }
    }

    /// Every kind of stamp, against real tcpdump on the same timestamps (in
    /// this process's time zone, which tcpdump inherits).
    #[test]
    fn matches_tcpdump() {
        let stamps: Vec<u64> = [0u64, 1_500, 999_999_999, 61_000_000_123, 90_061_000_000_000]
            .iter()
            .map(|d| 1_700_000_000 * NANOS + 987_654_321 + d)
            .collect();
        // A nanosecond pcap of 60-byte frames at those times.
        let frame = [0u8; 60];
        let records: Vec<(u64, &[u8], usize)> =
            stamps.iter().map(|&t| (t, &frame[..], 60)).collect();
        let pcap = crate::pcap_writer::tests::raw_pcap(true, &records);
        let path =
            std::env::temp_dir().join(format!("igbpoll-{}-timefmt.pcap", std::process::id()));
        std::fs::write(&path, &pcap).unwrap();
        // What follows the timestamp: the line as -t prints it.
        let mut rest: Vec<String> = Vec::new();
        for count in [1u8, 0, 2, 3, 4, 5] {
            for nanos in [false, true] {
                let mut args = vec!["-n".to_string(), "-r".into(), path.display().to_string()];
                if count > 0 {
                    args.push(format!("-{}", "t".repeat(count.into())));
                }
                if nanos {
                    args.push("--nano".into());
                }
                let out = match std::process::Command::new("tcpdump").args(&args).output() {
                    Ok(o) if o.status.success() => o,
                    Ok(o) => panic!("tcpdump: {}", String::from_utf8_lossy(&o.stderr)),
                    Err(e) => {
                        println!("note: tcpdump not runnable ({e}); skipping comparison");
                        std::fs::remove_file(&path).unwrap();
                        return;
                    }
                };
                let text = String::from_utf8_lossy(&out.stdout);
                if count == 1 {
                    rest = text.lines().map(str::to_owned).collect();
                }
                let mut f = TimeFormat::new(Stamp::from_count(count).unwrap(), nanos);
                for ((l, &t), r) in text.lines().zip(&stamps).zip(&rest) {
                    let ours = line(&mut f, t) + r;
                    assert_eq!(ours, l, "-t x{count}, nano {nanos}");
                }
                assert_eq!(text.lines().count(), stamps.len());
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}
