//! `igbpoll capture`: poll the NIC, print or write every packet, account for
//! every drop.

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::Instant;

use igbpoll_driver::mempool::HEADROOM;
use igbpoll_driver::{NicConfig, Packet, Stats};

use crate::cli::{CaptureArgs, DeviceArgs, Precision};
use crate::device::{self, Traffic};
use crate::error::CliError;
use crate::pcap_writer::{PcapWriter, Resolution, RECORD_HEADER_LEN};
use crate::summary::write_summary;

/// Where captured packets go.
enum Output {
    Lines {
        out: io::BufWriter<io::Stdout>,
        line: String,
    },
    Pcap {
        w: PcapWriter<std::fs::File>,
        path: String,
    },
}

impl Output {
    fn open(args: &CaptureArgs) -> Result<Output, CliError> {
        let Some(path) = args.write.clone() else {
            return Ok(Output::Lines {
                out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
                line: String::with_capacity(256),
            });
        };
        let err = |source| CliError::Output {
            path: path.clone(),
            source,
        };
        let fd: OwnedFd = if path == "-" {
            io::stdout().as_fd().try_clone_to_owned().map_err(err)?
        } else {
            std::fs::File::create(&path).map_err(err)?.into()
        };
        let res = match args.precision {
            Precision::Micro => Resolution::Micros,
            Precision::Nano => Resolution::Nanos,
        };
        let w = PcapWriter::new(std::fs::File::from(fd), args.snaplen, res).map_err(err)?;
        Ok(Output::Pcap { w, path })
    }

    fn write(&mut self, ts_ns: u64, batch: &mut [Packet]) -> Result<(), CliError> {
        match self {
            Output::Lines { out, line } => {
                for p in batch {
                    line.clear();
                    // Writing into a String cannot fail.
                    let _ = write_summary(line, ts_ns, p, p.len());
                    line.push('\n');
                    out.write_all(line.as_bytes())
                        .map_err(|source| CliError::Output {
                            path: "stdout".into(),
                            source,
                        })?;
                }
                out.flush().map_err(|source| CliError::Output {
                    path: "stdout".into(),
                    source,
                })
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
        }
    }
}

/// Runs `capture`.
pub fn run(dev_args: &DeviceArgs, args: &CaptureArgs) -> Result<(), CliError> {
    let config = NicConfig {
        rx_ring_size: args.ring,
        promiscuous: !args.no_promisc,
        ..NicConfig::default()
    };
    let stop = device::stop_flag();
    let mut out = Output::open(args)?;
    let mut dev = device::open(dev_args, &config, Traffic::Always)?;
    eprintln!(
        "igbpoll: capturing on {} ({}, {}), link {}",
        dev.nic.name(),
        dev.nic.model().name,
        device::fmt_mac(dev.nic.mac()),
        dev.nic.link()
    );

    let limit = args.count.unwrap_or(u64::MAX);
    let batch_max = args.batch as usize;
    let mut batch: Vec<Packet> = Vec::with_capacity(batch_max);
    let mut captured = 0u64;
    let mut idle = 0u32;
    let started = Instant::now();
    let result = loop {
        if stop.load(Ordering::Relaxed) || captured >= limit {
            break Ok(());
        }
        // Observed before polling: if the wire was drained and the ring then
        // holds nothing, every frame of a finite source has been seen.
        let drained = dev.finite_source && dev.sim.rx_drained();
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
        let ts = device::now_ns();
        if let Err(e) = out.write(ts, &mut batch) {
            break Err(e);
        }
        captured += n as u64;
        batch.clear();
    };
    let elapsed = started.elapsed();
    let stats = dev.nic.stats();
    if let Output::Pcap { w, .. } = out {
        drop(w.finish());
    }
    print_summary(captured, &stats, elapsed.as_secs_f64());
    result
}

fn print_summary(captured: u64, s: &Stats, secs: f64) {
    let hw = &s.hw;
    let d = &s.driver;
    let queue_drops: u64 = hw.rx_queue_drops.iter().sum();
    let refused = d.rx_bad_length + d.rx_no_eop + d.rx_frame_errors;
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "{captured} packets captured");
    let _ = writeln!(e, "{} packets received by the NIC (GPRC)", hw.rx_packets);
    let _ = writeln!(
        e,
        "{} packets dropped by the NIC ({} FIFO overflow (MPC), {} per-queue (RQDPC))",
        hw.rx_missed_errors + queue_drops,
        hw.rx_missed_errors,
        queue_drops
    );
    let _ = writeln!(
        e,
        "{refused} packets dropped by the driver (bad descriptor length {}, no EOP {}, \
         frame errors {})",
        d.rx_bad_length, d.rx_no_eop, d.rx_frame_errors
    );
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
        let _ = writeln!(e, "{:.3} s, {:.0} packets/s", secs, captured as f64 / secs);
    }
}
