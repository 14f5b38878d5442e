//! `igbpoll send`: transmit generated frames or the frames of a capture file.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use igbpoll_driver::mempool::{MAX_BUF_LEN, RX_BUF_LEN};
use igbpoll_driver::nic::max_frame_of;
use igbpoll_driver::{Backend, NicConfig, Packet};
use igbpoll_hw_sim::wire::{PcapSink, Replay};

use crate::cli::{DeviceArgs, SendArgs};
use crate::device::{self, AnyDevice, Traffic};
use crate::error::CliError;

/// The ethertype of generated frames: IEEE 802 local experimental 1, which no
/// stack on the path will parse (QEMU's igb drops malformed IP frames on transmit).
pub const GENERATED_ETHERTYPE: u16 = 0x88B5;

/// Builds generated frame number `seq`: broadcast, from `src`, ethertype 0x88B5,
/// then the sequence number (big-endian u64) and a byte pattern, `size` bytes in all.
pub fn generated_frame(src: [u8; 6], seq: u64, size: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0xff; 6]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&GENERATED_ETHERTYPE.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    let mut i = 0u8;
    while out.len() < size {
        out.push(i);
        i = i.wrapping_add(1);
    }
    out.truncate(size);
}

/// The frames of a capture a NIC that sends frames of up to `limit` bytes
/// can send whole (jumbo frames too: `limit` is the family's, see
/// [`max_frame_of`]); the others (a host capture's GRO/TSO super-frames:
/// `send` does not segment) are skipped with a warning saying how many.
///
/// # Errors
/// No frame of the file can be sent.
fn sendable_frames<'a>(
    path: &Path,
    replay: &'a Replay,
    limit: usize,
) -> Result<Vec<&'a [u8]>, CliError> {
    let (fit, long): (Vec<&[u8]>, Vec<&[u8]>) = replay.frames().partition(|f| f.len() <= limit);
    if let Some(longest) = long.iter().map(|f| f.len()).max() {
        log::warn!(
            "{}: skipping {} of {} frames longer than the {limit} bytes this NIC sends \
             (the longest is {longest} bytes; jumbo or GRO/TSO frames are not segmented)",
            path.display(),
            long.len(),
            replay.len()
        );
    }
    if fit.is_empty() {
        let why = if long.is_empty() {
            "it holds no Ethernet frame"
        } else {
            "every frame is longer than the NIC sends"
        };
        return Err(CliError::Input {
            path: path.to_path_buf(),
            reason: format!("nothing to send: {why}"),
        });
    }
    Ok(fit)
}

/// Runs `send`.
pub fn run(dev_args: &DeviceArgs, args: &SendArgs) -> Result<(), CliError> {
    // Read before the NIC is opened, so a bad file fails fast.
    let replay = match &args.pcap {
        Some(path) => Some(Replay::open(path).map_err(|e| CliError::Input {
            path: path.clone(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    let config = NicConfig {
        tx_ring_size: args.ring,
        ..NicConfig::default()
    };
    let opened = device::open_any(dev_args, &config, Traffic::OnRequest)?;
    crate::with_device!(opened, dev => send_on(dev, args, replay.as_ref()))
}

fn send_on<B: Backend>(
    mut dev: AnyDevice<B>,
    args: &SendArgs,
    replay: Option<&Replay>,
) -> Result<(), CliError> {
    // Borrowed from the replay: the file's frames are not copied again.
    let frames: Option<Vec<&[u8]>> = match (&args.pcap, replay) {
        (Some(path), Some(r)) => Some(sendable_frames(
            path,
            r,
            max_frame_of(dev.nic.model().family).min(MAX_BUF_LEN),
        )?),
        _ => None,
    };
    let frames = frames.as_deref();
    let total = match (frames, args.count) {
        (Some(f), Some(n)) => f.len() as u64 * n,
        (Some(f), None) => f.len() as u64,
        (None, n) => n.unwrap_or(100),
    };
    let stop = device::stop_flag();
    if let Some(path) = &args.sim_tx_dump {
        let Some(sim) = &dev.sim else {
            return Err(CliError::Usage("--sim-tx-dump needs --sim".into()));
        };
        let sink = PcapSink::create(path, false).map_err(|e| CliError::Output {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        sim.add_sink(sink);
    }
    // Buffers that hold the longest frame to send: 2 KiB, or a multiple of
    // 1 KiB up to 16 KiB for jumbo frames.
    let longest = frames.map_or(usize::from(args.size), |f| {
        f.iter().map(|d| d.len()).max().unwrap_or(0)
    });
    let pool = if longest <= RX_BUF_LEN {
        dev.nic.alloc_pool(4096)?
    } else {
        dev.nic
            .alloc_pool_with_buffer_len(4096, longest.div_ceil(1024) * 1024)?
    };
    let src = dev.nic.mac();
    let mut pending: Vec<Packet> = Vec::with_capacity(64);
    let mut scratch = Vec::with_capacity(2048);
    let mut made = 0u64;
    let started = Instant::now();
    // With --rate, frame k is due at start + k/rate; a batch never holds more than
    // about a millisecond's worth, so the pacing stays smooth.
    let per_batch = args.rate.map_or(64, |r| (r / 1000).clamp(1, 64) as usize);
    while (made < total || !pending.is_empty()) && !stop.load(Ordering::Relaxed) {
        if let Some(rate) = args.rate {
            let due = started + Duration::from_secs_f64(made as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        while made < total && pending.len() < per_batch {
            let data: &[u8] = match frames {
                Some(f) => f[(made % f.len() as u64) as usize],
                None => {
                    generated_frame(src, made, usize::from(args.size), &mut scratch);
                    &scratch
                }
            };
            let Some(p) = pool.alloc_from(data) else {
                break;
            };
            pending.push(p);
            made += 1;
        }
        if dev.nic.tx_batch(0, &mut pending) == 0 {
            std::thread::yield_now();
        }
    }
    drop(pending);
    let left = dev.nic.flush_tx(Duration::from_secs(5));
    let secs = started.elapsed().as_secs_f64();
    let stats = dev.nic.stats();
    if let Some(sim) = &dev.sim {
        sim.stop(); // flushes --sim-tx-dump
    }
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "{} packets sent ({} bytes, {} padded to 60), {} still in flight, {:.0} packets/s",
        stats.driver.tx_packets,
        stats.driver.tx_bytes,
        stats.driver.tx_padded,
        left,
        stats.driver.tx_packets as f64 / secs.max(1e-9)
    );
    let _ = writeln!(
        e,
        "{} packets transmitted by the NIC (GPTC)",
        stats.hw.tx_packets
    );
    if left > 0 {
        return Err(CliError::Usage(format!(
            "{left} packets were not transmitted within 5 s: is the link up ({})?",
            dev.nic.link()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use igbpoll_driver::Family;

    #[test]
    fn generated_frames_carry_their_sequence_number() {
        let mut f = Vec::new();
        generated_frame([2, 0, 0, 0, 0, 1], 7, 60, &mut f);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..14], &[0x88, 0xB5]);
        assert_eq!(u64::from_be_bytes(f[14..22].try_into().unwrap()), 7);
        generated_frame([2, 0, 0, 0, 0, 1], 7, 20, &mut f);
        assert_eq!(f.len(), 20, "short frames stay short; the driver pads them");
    }

    fn pcap_of(frames: &[Vec<u8>]) -> Replay {
        let mut b = Vec::new();
        for v in [0xA1B2_C3D4u32, 0x0004_0002, 0, 0, 65535, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for f in frames {
            for v in [1u32, 0, f.len() as u32, f.len() as u32] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(f);
        }
        Replay::from_bytes(&b).unwrap()
    }

    #[test]
    fn frames_longer_than_the_nic_sends_are_skipped_and_short_ones_kept_unpadded() {
        let frames = vec![vec![1; 42], vec![2; 9000], vec![3; 1514], vec![4; 9725]];
        let p = Path::new("x.pcap");
        let all: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let replay = pcap_of(&frames);
        let got = sendable_frames(p, &replay, max_frame_of(Family::Igb)).unwrap();
        assert_eq!(got, all[..3].to_vec());
        let got = sendable_frames(p, &replay, max_frame_of(Family::E1000)).unwrap();
        assert_eq!(got, all);
        let err = sendable_frames(p, &pcap_of(&frames[3..]), 9724).unwrap_err();
        assert!(err.to_string().contains("every frame is longer"), "{err}");
        let err = sendable_frames(p, &pcap_of(&[]), 9724).unwrap_err();
        assert!(err.to_string().contains("no Ethernet frame"), "{err}");
    }
}
