//! `igbpoll capture`: poll the NIC, filter, print or write every packet,
//! account for every drop.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use igbpoll_driver::mempool::HEADROOM;
use igbpoll_driver::{Backend, NicConfig, Packet, Stats};

use crate::cli::{CaptureArgs, DeviceArgs, FileFormat, Precision};
use crate::device::{self, AnyDevice, Traffic};
use crate::error::CliError;
use crate::filter::{self, Filter};
use crate::pcap_writer::{PcapWriter, Resolution, RECORD_HEADER_LEN};
use crate::pcapng_writer::{
    EpbRecord, EpbTrailer, Interface, InterfaceStats, PcapngWriter, EPB_HEADER_LEN,
};
use crate::summary::write_summary;

/// Printed lines are flushed at least this often, even without `-U`.
const LINE_FLUSH_INTERVAL_NS: u64 = 100_000_000;

/// Where captured packets go.
enum Output {
    Lines {
        out: io::BufWriter<io::Stdout>,
        line: String,
        /// Flush after every batch (`-U`), not only when the buffer fills or
        /// [`LINE_FLUSH_INTERVAL_NS`] passed.
        every_batch: bool,
        last_flush_ns: u64,
    },
    Pcap {
        w: PcapWriter<File>,
        path: String,
    },
    Pcapng {
        w: PcapngWriter<File>,
        path: String,
        /// Trailers of the batch's blocks whose buffer had no tailroom for them
        /// (reused from batch to batch).
        spilled: Vec<EpbTrailer>,
    },
}

/// The file format `-w PATH` gets: `--format`, else pcap for a `.pcap` name
/// and pcapng for anything else (stdout included), as dumpcap does.
pub fn file_format(format: Option<FileFormat>, path: &str) -> FileFormat {
    format.unwrap_or_else(|| {
        if path.to_ascii_lowercase().ends_with(".pcap") {
            FileFormat::Pcap
        } else {
            FileFormat::Pcapng
        }
    })
}

/// The filter of `-F FILE` or of the trailing words, compiled.
///
/// # Errors
/// Both were given, the file cannot be read, or libpcap refused the
/// expression (its message is kept, as tcpdump prints it).
pub fn filter_of(args: &CaptureArgs) -> Result<Option<Filter>, CliError> {
    let words = filter::expression_from_words(&args.expression);
    let expression = match (&args.filter_file, words) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(
                "give the filter expression either with -F FILE or on the command line, \
                 not both"
                    .into(),
            ))
        }
        (Some(path), None) => {
            let e = filter::expression_from_file(path).map_err(|e| CliError::Input {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if e.is_empty() {
                return Ok(None);
            }
            e
        }
        (None, Some(e)) => e,
        (None, None) => return Ok(None),
    };
    Filter::compile(&expression)
        .map(Some)
        // libpcap's message already reads "can't parse filter expression: ...".
        .map_err(|e| CliError::Usage(e.to_string()))
}

impl Output {
    fn lines(every_batch: bool) -> Output {
        Output::Lines {
            out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
            line: String::with_capacity(256),
            every_batch,
            last_flush_ns: 0,
        }
    }

    /// Opens `path` (`-`: a clone of stdout's descriptor, which bypasses Rust's
    /// line-buffered stdout, so writes leave as one `writev` each).
    fn create(path: &str) -> Result<File, CliError> {
        let err = |source| CliError::Output {
            path: path.to_string(),
            source,
        };
        let fd: OwnedFd = if path == "-" {
            io::stdout().as_fd().try_clone_to_owned().map_err(err)?
        } else {
            File::create(path).map_err(err)?.into()
        };
        Ok(File::from(fd))
    }

    fn file(
        file: File,
        path: String,
        format: FileFormat,
        args: &CaptureArgs,
        interface: &Interface,
    ) -> Result<Output, CliError> {
        let res = match args.precision {
            Precision::Micro => Resolution::Micros,
            Precision::Nano => Resolution::Nanos,
        };
        let err = |source| CliError::Output {
            path: path.clone(),
            source,
        };
        Ok(match format {
            FileFormat::Pcap => Output::Pcap {
                w: PcapWriter::new(file, args.snaplen, res).map_err(err)?,
                path,
            },
            FileFormat::Pcapng => Output::Pcapng {
                w: PcapngWriter::new(file, interface, args.snaplen, res).map_err(err)?,
                path,
                spilled: Vec::with_capacity(args.batch as usize),
            },
        })
    }

    fn write(&mut self, ts_ns: u64, batch: &mut [Packet]) -> Result<(), CliError> {
        match self {
            Output::Lines {
                out,
                line,
                every_batch,
                last_flush_ns,
            } => {
                let err = |source| CliError::Output {
                    path: "stdout".into(),
                    source,
                };
                for p in batch {
                    line.clear();
                    // Writing into a String cannot fail.
                    let _ = write_summary(line, ts_ns, p, p.len());
                    line.push('\n');
                    out.write_all(line.as_bytes()).map_err(err)?;
                }
                if *every_batch || ts_ns.saturating_sub(*last_flush_ns) >= LINE_FLUSH_INTERVAL_NS {
                    *last_flush_ns = ts_ns;
                    out.flush().map_err(err)?;
                }
                Ok(())
            }
            Output::Pcap { w, path } => {
                // Each record header goes into the packet's headroom, right before
                // the frame, so header and frame leave in one iovec, uncopied.
                let mut kept = Vec::with_capacity(batch.len());
                for p in batch.iter_mut() {
                    let (header, incl) = w.record_header(ts_ns, p.len());
                    match p.push_front(RECORD_HEADER_LEN) {
                        Ok(room) => room.copy_from_slice(&header),
                        Err(_) => unreachable!("every buffer has {HEADROOM} bytes of headroom"),
                    }
                    kept.push(RECORD_HEADER_LEN + incl);
                }
                let records: Vec<&[u8]> = batch.iter().zip(&kept).map(|(p, &n)| &p[..n]).collect();
                w.write_records(&records)
                    .map_err(|source| CliError::Output {
                        path: path.clone(),
                        source,
                    })
            }
            Output::Pcapng { w, path, spilled } => {
                // The EPB header goes into the headroom and, when the buffer has
                // room after the kept bytes, the trailer right after them: one
                // iovec per block. Otherwise the trailer is a second, small one.
                spilled.clear();
                let mut layout: Vec<(usize, Option<usize>)> = Vec::with_capacity(batch.len());
                for p in batch.iter_mut() {
                    let (header, trailer, incl) = w.epb(ts_ns, p.len());
                    match p.push_front(EPB_HEADER_LEN) {
                        Ok(room) => room.copy_from_slice(&header),
                        Err(_) => unreachable!("every buffer has {HEADROOM} bytes of headroom"),
                    }
                    let body = EPB_HEADER_LEN + incl;
                    let t = trailer.as_bytes();
                    if p.set_len(body + t.len()).is_ok() {
                        p[body..].copy_from_slice(t);
                        layout.push((body + t.len(), None));
                    } else {
                        layout.push((body, Some(spilled.len())));
                        spilled.push(trailer);
                    }
                }
                let records: Vec<EpbRecord<'_>> = batch
                    .iter()
                    .zip(&layout)
                    .map(|(p, &(n, t))| EpbRecord {
                        block: &p[..n],
                        trailer: t.map_or(&[][..], |i| spilled[i].as_bytes()),
                    })
                    .collect();
                w.write_records(&records)
                    .map_err(|source| CliError::Output {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// Flushes printed lines; ends a pcapng file with its statistics block.
    fn finish(self, stats: &InterfaceStats) -> Result<(), CliError> {
        match self {
            Output::Lines { mut out, .. } => out.flush().map_err(|source| CliError::Output {
                path: "stdout".into(),
                source,
            }),
            Output::Pcap { w, .. } => {
                drop(w.finish());
                Ok(())
            }
            Output::Pcapng { w, path, .. } => match w.finish(stats) {
                Ok(_) => Ok(()),
                Err(source) => Err(CliError::Output { path, source }),
            },
        }
    }
}

/// The drop accounting of a capture, as the summary and the pcapng
/// statistics block give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Packets written (or printed).
    pub captured: u64,
    /// Packets the filter rejected.
    pub filtered: u64,
    /// Frames written to memory by the NIC (GPRC).
    pub nic_delivered: u64,
    /// Frames the NIC dropped: FIFO overflow (MPC).
    pub nic_missed: u64,
    /// Frames the NIC dropped: no descriptor with DROP_EN (RQDPC, all queues).
    pub nic_queue_drops: u64,
    /// Frames the driver refused (bad length, no EOP, frame errors).
    pub driver_refused: u64,
}

impl Accounting {
    fn new(captured: u64, filtered: u64, s: &Stats) -> Self {
        let d = &s.driver;
        Accounting {
            captured,
            filtered,
            nic_delivered: s.hw.rx_packets,
            nic_missed: s.hw.rx_missed_errors,
            nic_queue_drops: s.hw.rx_queue_drops.iter().sum(),
            driver_refused: d.rx_bad_length + d.rx_no_eop + d.rx_frame_errors,
        }
    }

    /// Frames the NIC took for this host: written to memory, or dropped for
    /// lack of room (GPRC counts only the former).
    pub fn nic_received(&self) -> u64 {
        self.nic_delivered + self.nic_dropped()
    }

    /// Frames the NIC dropped (MPC + RQDPC).
    pub fn nic_dropped(&self) -> u64 {
        self.nic_missed + self.nic_queue_drops
    }

    /// Frames in memory that were neither read nor refused when the capture
    /// stopped (still in the ring).
    pub fn unread(&self) -> u64 {
        self.nic_delivered
            .saturating_sub(self.captured + self.filtered + self.driver_refused)
    }
}

/// Runs `capture`.
pub fn run(dev_args: &DeviceArgs, args: &CaptureArgs) -> Result<(), CliError> {
    let filter = filter_of(args)?;
    if args.write.is_none() && args.format.is_some() {
        return Err(CliError::Usage("--format needs -w FILE".into()));
    }
    let config = NicConfig {
        rx_ring_size: args.ring,
        promiscuous: !args.no_promisc,
        ..NicConfig::default()
    };
    let stop = device::stop_flag();
    // The output is created before the NIC is opened, so a bad path fails fast.
    let file = match &args.write {
        Some(path) => Some((Output::create(path)?, path.clone())),
        None => None,
    };
    let opened = device::open_any(dev_args, &config, Traffic::Always)?;
    crate::with_device!(opened, dev => capture_on(dev, args, filter, file, &stop))
}

/// The capture loop on an opened device; generic over the backend so register
/// accesses compile to the backend's own code (volatile MMIO on VFIO).
fn capture_on<B: Backend>(
    mut dev: AnyDevice<B>,
    args: &CaptureArgs,
    filter: Option<Filter>,
    file: Option<(File, String)>,
    stop: &AtomicBool,
) -> Result<(), CliError> {
    let link = dev.nic.link();
    let description = format!(
        "Intel {}, MAC {}, link {}",
        dev.nic.model().name,
        device::fmt_mac(dev.nic.mac()),
        link
    );
    eprintln!(
        "igbpoll: capturing on {} ({}, {}), link {}{}",
        dev.nic.name(),
        dev.nic.model().name,
        device::fmt_mac(dev.nic.mac()),
        link,
        filter
            .as_ref()
            .map(|f| format!(", filter `{}`", f.expression()))
            .unwrap_or_default()
    );
    let mut out = match file {
        None => Output::lines(args.packet_buffered),
        Some((file, path)) => {
            let interface = Interface {
                name: dev.nic.name(),
                description,
                mac: Some(dev.nic.mac()),
                speed_bps: if link.up {
                    u64::from(link.speed_mbps) * 1_000_000
                } else {
                    0
                },
                filter: filter.as_ref().map(|f| f.expression().to_string()),
            };
            let format = file_format(args.format, &path);
            Output::file(file, path, format, args, &interface)?
        }
    };

    let limit = args.count.unwrap_or(u64::MAX);
    let batch_max = args.batch as usize;
    let mut batch: Vec<Packet> = Vec::with_capacity(batch_max);
    let mut captured = 0u64;
    let mut filtered = 0u64;
    let mut idle = 0u32;
    let started = Instant::now();
    let start_ns = device::now_ns();
    let deadline = args
        .duration
        .map(|s| started + Duration::from_secs_f64(s.min(1e9)));
    let result = loop {
        if stop.load(Ordering::Relaxed) || captured >= limit {
            break Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok(());
        }
        // Observed before polling: if the wire was drained and the ring then
        // holds nothing, every frame of a finite source has been seen.
        let drained = dev.wire_drained();
        let want = batch_max.min((limit - captured).min(usize::MAX as u64) as usize);
        let n = dev.nic.rx_batch(0, &mut batch, want);
        if n == 0 {
            if drained && !dev.nic.rx_queue(0).has_completions() {
                break Ok(());
            }
            idle = idle.wrapping_add(1);
            if idle.is_multiple_of(256) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        if let Some(f) = &filter {
            // Rejected packets go back to the pool here, before the writer.
            batch.retain(|p| f.matches(p));
            filtered += (n - batch.len()) as u64;
            if batch.is_empty() {
                continue;
            }
        }
        let ts = device::now_ns();
        if let Err(e) = out.write(ts, &mut batch) {
            break Err(e);
        }
        captured += batch.len() as u64;
        batch.clear();
    };
    let elapsed = started.elapsed();
    let stats = dev.nic.stats();
    let acc = Accounting::new(captured, filtered, &stats);
    let isb = InterfaceStats {
        start_ns,
        end_ns: device::now_ns(),
        ifrecv: acc.nic_received(),
        ifdrop: acc.nic_dropped(),
        filteraccept: filter.as_ref().map(|_| captured),
        osdrop: acc.driver_refused,
        usrdeliv: captured,
    };
    // After a write error the file is left as it is (it may end mid-block).
    let finished = if result.is_ok() {
        out.finish(&isb)
    } else {
        Ok(())
    };
    print_summary(&acc, &stats, elapsed.as_secs_f64());
    result.and(finished)
}

fn print_summary(acc: &Accounting, s: &Stats, secs: f64) {
    let hw = &s.hw;
    let d = &s.driver;
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "{} packets captured", acc.captured);
    let _ = writeln!(
        e,
        "{} packets received by the NIC ({} written to memory (GPRC), {} dropped)",
        acc.nic_received(),
        acc.nic_delivered,
        acc.nic_dropped()
    );
    let _ = writeln!(e, "{} packets filtered out", acc.filtered);
    let _ = writeln!(
        e,
        "{} packets dropped by the NIC ({} FIFO overflow (MPC), {} per-queue (RQDPC))",
        acc.nic_dropped(),
        acc.nic_missed,
        acc.nic_queue_drops
    );
    let _ = writeln!(
        e,
        "{} packets dropped by the driver (bad descriptor length {}, no EOP {}, \
         frame errors {})",
        acc.driver_refused, d.rx_bad_length, d.rx_no_eop, d.rx_frame_errors
    );
    if acc.unread() > 0 {
        let _ = writeln!(
            e,
            "{} packets in the receive ring, not read when the capture stopped",
            acc.unread()
        );
    }
    let _ = writeln!(
        e,
        "not drops by themselves: {} no-buffer events (RNBC), {} runts (RUC), \
         {} oversize (ROC), {} receive-pool exhaustions",
        hw.rx_no_buffer_count,
        hw.rx_short_length_errors,
        hw.rx_long_length_errors,
        d.rx_alloc_failures
    );
    if secs > 0.0 {
        let _ = writeln!(
            e,
            "{:.3} s, {:.0} packets/s",
            secs,
            acc.captured as f64 / secs
        );
    }
}
