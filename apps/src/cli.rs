//! Command-line definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// igbpoll: capture and send at line rate on Intel gigabit NICs, from user space.
///
/// Without a NIC, `--sim e1000` or `--sim igb` runs the same driver code against
/// a register-level model of the 82540EM or the 82576, fed by a traffic generator
/// or a capture file.
#[derive(Debug, Parser)]
#[command(
    name = "igbpoll",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Examples:\n  \
    igbpoll --sim igb capture -c 10\n  \
    igbpoll --sim e1000 --sim-size 60 capture -c 1000000 -w /tmp/x.pcap\n  \
    igbpoll --sim igb --sim-replay in.pcapng capture -w out.pcap\n  \
    igbpoll --sim igb send --pcap in.pcap --sim-tx-dump out.pcap\n  \
    igbpoll --sim e1000 stats\n  \
    sudo ip netns exec NS igbpoll --sim igb --tap tap0 serve --ip 10.9.0.2/24 --http 80\n  \
    sudo igbpoll list\n  \
    sudo igbpoll bind 0000:03:00.0 && sudo igbpoll --pci 0000:03:00.0 capture -w x.pcap")]
pub struct Cli {
    /// The NIC to run on.
    #[command(flatten)]
    pub device: DeviceArgs,

    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Which NIC to drive.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// Drive the NIC at this PCI address (e.g. 0000:03:00.0) through VFIO.
    /// It must be bound to vfio-pci first: `igbpoll bind BDF`.
    #[arg(long, value_name = "BDF", global = true, conflicts_with = "sim")]
    #[arg(help_heading = "Device")]
    pub pci: Option<igbpoll_driver::pci::PciAddress>,

    /// With --pci: use VFIO's no-IOMMU mode. This gives up all DMA protection
    /// (the NIC can then read and write any memory of the machine) and needs a
    /// kernel built with CONFIG_VFIO_NOIOMMU and `enable_unsafe_noiommu_mode=1`.
    #[arg(long, global = true, requires = "pci")]
    #[arg(help_heading = "Device")]
    pub unsafe_noiommu: bool,

    /// Run on a simulated NIC: e1000 (82540EM) or igb (82576).
    #[arg(long, value_name = "MODEL", global = true)]
    #[arg(help_heading = "Device")]
    pub sim: Option<SimModelArg>,

    /// Simulator: feed the wire from this pcap or pcapng file instead of the generator.
    #[arg(long, value_name = "FILE", global = true)]
    #[arg(help_heading = "Simulator")]
    pub sim_replay: Option<PathBuf>,

    /// Simulator: generate fixed-size UDP frames of BYTES (without FCS, 60..=1514)
    /// instead of the mixed ARP/ICMP/UDP/TCP traffic.
    #[arg(long, value_name = "BYTES", global = true, value_parser = clap::value_parser!(u16).range(60..=1514))]
    #[arg(help_heading = "Simulator")]
    pub sim_size: Option<u16>,

    /// Simulator: offer frames at PPS frames per second (default: as fast as possible).
    #[arg(long, value_name = "PPS", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    #[arg(help_heading = "Simulator")]
    pub sim_rate: Option<u64>,

    /// Simulator: seed of the traffic generator.
    #[arg(long, value_name = "N", global = true, default_value_t = 1)]
    #[arg(help_heading = "Simulator")]
    pub sim_seed: u64,

    /// Simulator: connect the simulated wire to the host TAP device IFNAME
    /// (created if missing, attached if it exists, brought up; needs root), so
    /// the kernel's own ARP/IP/TCP talk to the driver. The TAP replaces the
    /// generator: not with --sim-replay, --sim-size or --sim-rate.
    #[arg(
        long,
        value_name = "IFNAME",
        global = true,
        requires = "sim",
        conflicts_with_all = ["sim_replay", "sim_size", "sim_rate"]
    )]
    #[arg(help_heading = "Simulator")]
    pub tap: Option<String>,

    /// Simulator: drop each frame on the wire (both directions) with probability
    /// RATE: a fraction 0..=1 (0.01) or a percentage (1%).
    #[arg(long, value_name = "RATE", global = true, requires = "sim", value_parser = igbpoll_hw_sim::wire::fault::parse_rate)]
    #[arg(help_heading = "Simulator")]
    pub sim_loss: Option<f64>,

    /// Simulator: hold a frame back behind the next one with probability RATE
    /// (released at once when the wire goes idle).
    #[arg(long, value_name = "RATE", global = true, requires = "sim", value_parser = igbpoll_hw_sim::wire::fault::parse_rate)]
    #[arg(help_heading = "Simulator")]
    pub sim_reorder: Option<f64>,

    /// Simulator: deliver a frame twice with probability RATE.
    #[arg(long, value_name = "RATE", global = true, requires = "sim", value_parser = igbpoll_hw_sim::wire::fault::parse_rate)]
    #[arg(help_heading = "Simulator")]
    pub sim_dup: Option<f64>,

    /// Simulator: flip 1 to 3 bits after the Ethernet header with probability
    /// RATE (the FCS stays valid: the stack's checksums must catch it).
    #[arg(long, value_name = "RATE", global = true, requires = "sim", value_parser = igbpoll_hw_sim::wire::fault::parse_rate)]
    #[arg(help_heading = "Simulator")]
    pub sim_corrupt: Option<f64>,

    /// Simulator: seed of the fault decisions (same seed, same decisions).
    #[arg(long, value_name = "N", global = true, default_value_t = 1)]
    #[arg(help_heading = "Simulator")]
    pub sim_fault_seed: u64,
}

/// The simulated NIC models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimModelArg {
    /// Intel 82540EM (e1000 family, legacy descriptors, one queue).
    E1000,
    /// Intel 82576 (igb family, advanced descriptors, 16 queues).
    Igb,
}

/// What to do.
// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture frames: print a line per packet, or write pcap or pcapng files.
    Capture(CaptureArgs),
    /// Transmit generated frames or the frames of a capture file.
    Send(SendArgs),
    /// Print the NIC's hardware counters and the driver's own.
    Stats(StatsArgs),
    /// Run the IPv4 stack on a dedicated core: answer ARP and ping, echo UDP
    /// and TCP, serve HTTP.
    Serve(crate::serve::ServeArgs),
    /// List the supported NICs on this machine: driver, IOMMU group, interfaces.
    List,
    /// Hand a NIC to vfio-pci so igbpoll can drive it (refused while its kernel
    /// interface is up with addresses, unless --force).
    Bind(BindArgs),
    /// Give a NIC back to its kernel driver.
    Unbind(UnbindArgs),
}

/// `capture` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    igbpoll --sim igb capture -c 10 'udp port 53 and host 10.0.0.1'\n  \
    igbpoll --sim igb capture -w out.pcapng --duration 5 tcp port 80\n  \
    igbpoll --sim igb capture -w - -U | wireshark -k -i -")]
#[derive(Clone)]
pub struct CaptureArgs {
    /// Stop after COUNT packets (counted after the filter).
    #[arg(short = 'c', long = "count", value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    #[arg(help_heading = "Stopping")]
    pub count: Option<u64>,

    /// Stop after SECONDS.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    #[arg(help_heading = "Stopping")]
    pub duration: Option<f64>,

    /// Write packets to FILE (`-` for stdout) instead of printing them.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    #[arg(help_heading = "Output")]
    pub write: Option<String>,

    /// File format of -w: by default pcap for a name ending in `.pcap`,
    /// pcapng for anything else (stdout included).
    #[arg(long, value_name = "FORMAT")]
    #[arg(help_heading = "Output")]
    pub format: Option<FileFormat>,

    /// Keep at most SNAPLEN bytes of each packet (0 = 262144, as tcpdump).
    #[arg(
        short = 's',
        long = "snapshot-length",
        value_name = "SNAPLEN",
        default_value_t = MAX_SNAPLEN,
        value_parser = parse_snaplen
    )]
    #[arg(help_heading = "Output")]
    pub snaplen: u32,

    /// Timestamp precision of the file (pcap magic number, pcapng if_tsresol)
    /// or of printed lines. Default: micro for pcap (tcpdump's default, which
    /// every pcap reader takes) and printed lines, nano for pcapng (if_tsresol
    /// 9, which every pcapng reader honours).
    #[arg(long = "time-stamp-precision", value_name = "PRECISION")]
    #[arg(help_heading = "Output")]
    pub precision: Option<Precision>,

    /// Packet-buffered output: flush after every polled batch (never per
    /// packet) and at least every 100 ms. File output is always written by one
    /// gathered write per batch; this makes printed lines follow too.
    #[arg(short = 'U', long = "packet-buffered")]
    #[arg(help_heading = "Output")]
    pub packet_buffered: bool,

    /// After each printed line, the packet's bytes in hex without the
    /// link-level header (-xx: with it), as tcpdump -x.
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    #[arg(help_heading = "Printing (without -w)")]
    pub hex: u8,

    /// After each printed line, the packet's bytes in hex and ASCII without the
    /// link-level header (-XX: with it), as tcpdump -X.
    #[arg(short = 'X', action = clap::ArgAction::Count)]
    #[arg(help_heading = "Printing (without -w)")]
    pub hex_ascii: u8,

    /// After each printed line, the packet's bytes in ASCII without the
    /// link-level header, as tcpdump -A.
    #[arg(short = 'A')]
    #[arg(help_heading = "Printing (without -w)")]
    pub ascii: bool,

    /// Timestamps of printed lines, as tcpdump's: -t none, -tt seconds since
    /// the epoch, -ttt time since the previous packet, -tttt local date and
    /// time, -ttttt time since the first packet (without -t: local time of
    /// day); nanoseconds with --time-stamp-precision nano.
    #[arg(short = 't', action = clap::ArgAction::Count)]
    #[arg(help_heading = "Printing (without -w)")]
    pub time_stamps: u8,

    /// Line-buffered printing, as tcpdump -l: the same as -U for printed lines.
    #[arg(short = 'l')]
    #[arg(help_heading = "Printing (without -w)")]
    pub line_buffered: bool,

    /// Taken for tcpdump's sake and changes nothing: igbpoll never resolves
    /// addresses or ports to names (-n, -nn) and always prints the link-level
    /// header (-e).
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    #[arg(help_heading = "Printing (without -w)")]
    pub no_names: u8,

    /// tcpdump's -i: refused with a pointer to --pci (hidden).
    #[arg(short = 'i', value_name = "INTERFACE", hide = true)]
    pub interface: Option<String>,

    /// tcpdump's -r: refused with a pointer to --sim-replay (hidden).
    #[arg(short = 'r', value_name = "FILE", hide = true)]
    pub read_file: Option<String>,

    /// Taken for tcpdump's sake: the link-level header is always printed.
    #[arg(short = 'e', hide = true)]
    pub link_header: bool,

    /// Read the filter expression from FILE (`#` starts a comment), as tcpdump -F.
    #[arg(short = 'F', value_name = "FILE")]
    #[arg(help_heading = "Filter")]
    pub filter_file: Option<PathBuf>,

    /// Receive descriptors in the ring (power of two, 8..=4096).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    #[arg(help_heading = "Receive")]
    pub ring: usize,

    /// Longest frame to capture, in bytes without the FCS. Without it, the
    /// Ethernet standard: 1514 bytes, 1518 with a VLAN tag; the NIC drops longer
    /// frames and counts them (ROC, among the NIC's drops). A value up to the
    /// NIC's jumbo-frame limit, 9724 on igb and 16124 on the 82540EM (9018 for
    /// the usual jumbo frames), turns on the NIC's long-packet
    /// reception (LPE; on igb, RLPML = BYTES + 4) with receive buffers that hold
    /// such a frame whole. The 82540EM has no length limit register: it takes
    /// frames up to its buffer size (a power of two, 4 to 16 KiB).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(1514..=16124))]
    #[arg(help_heading = "Receive")]
    pub max_frame: Option<u16>,

    /// Packets taken from the ring per poll.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    #[arg(help_heading = "Receive")]
    pub batch: u32,

    /// Do not put the NIC in promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    #[arg(help_heading = "Receive")]
    pub no_promisc: bool,

    /// Rotate -w FILE when it is larger than SIZE millions of bytes (tcpdump -C;
    /// fractions allowed, or a k/m/g suffix for KiB/MiB/GiB). Files are FILE,
    /// FILE1, FILE2... (FILE0... with -W).
    #[arg(short = 'C', value_name = "SIZE", value_parser = parse_file_size)]
    #[arg(help_heading = "Rotation")]
    pub file_size: Option<u64>,

    /// Rotate -w FILE every SECONDS (tcpdump -G); FILE may hold strftime
    /// conversions (%Y %m %d %H %M %S %s ...), expanded in local time.
    #[arg(short = 'G', value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    #[arg(help_heading = "Rotation")]
    pub rotate_seconds: Option<u64>,

    /// With -C: a ring of FILES files, reusing the oldest (tcpdump -W). With
    /// -G alone: stop after FILES files.
    #[arg(short = 'W', value_name = "FILES", value_parser = clap::value_parser!(u32).range(1..))]
    #[arg(help_heading = "Rotation")]
    pub file_count: Option<u32>,

    /// dumpcap's autostop: duration:N (seconds), packets:N, filesize:KB (stop
    /// once the file holds KB x 1000 bytes; with -b, start the next file
    /// instead, as dumpcap does), files:N (with -b: stop after N files).
    /// Repeat for several; the first condition met ends the capture.
    #[arg(short = 'a', long = "autostop", value_name = "KEY:VALUE", value_parser = parse_autostop)]
    #[arg(help_heading = "Stopping")]
    pub autostop: Vec<AutoStop>,

    /// Run COMMAND FILE on every finished file, after each rotation and on the
    /// last file at the end (tcpdump -z, e.g. `-z gzip`): a program from PATH,
    /// at the lowest CPU priority, as the -Z user; the capture does not wait for
    /// it between files, and waits for every run before it exits.
    #[arg(short = 'z', value_name = "COMMAND")]
    #[arg(help_heading = "Rotation")]
    pub post_rotate: Option<String>,

    /// dumpcap's ring buffer: duration:N (seconds per file), interval:N (files
    /// aligned to multiples of N seconds of the wall clock), filesize:KB
    /// (1000 bytes), packets:N, files:N (keep the last N, deleting older ones).
    /// Files are PREFIX_NNNNN_YYYYmmddHHMMSS.EXT. Repeat for several.
    #[arg(short = 'b', long = "ring-buffer", value_name = "KEY:VALUE", value_parser = parse_ring_option)]
    #[arg(help_heading = "Rotation")]
    pub ring_buffer: Vec<RingOption>,

    /// Print a line per second to stderr: packets/s, Mbit/s, drops by cause,
    /// warning events, receive ring occupancy.
    #[arg(long)]
    #[arg(help_heading = "Reporting")]
    pub stats: bool,

    /// After the NIC and the first output file are open, drop privileges to
    /// USER (its uid, gid and groups); the first file is handed to USER too, and
    /// later files are created as USER.
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    #[arg(help_heading = "Privileges")]
    pub user: Option<String>,

    /// Packets the receive thread may hand to the writer thread before the
    /// writer has written them; beyond that, packets are dropped and counted
    /// as "the writer fell behind".
    #[arg(long, value_name = "PACKETS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(64..=1_048_576))]
    #[arg(help_heading = "Receive")]
    pub writer_buffer: u32,

    /// Receive queues (igb: RSS spreads flows over them by the Toeplitz hash;
    /// up to 16 on the 82576, 8 on the I350, 4 on the I210; the e1000 has one).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    #[arg(help_heading = "Receive")]
    pub queues: u16,

    /// CPUs the receive threads run on, one thread pinned to each (`0,1`,
    /// `0-3`, `0-1,3`); queues are dealt over them round-robin, several per
    /// thread when there are more queues than cores. Without it: one unpinned
    /// thread per queue, at most one per CPU.
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    #[arg(help_heading = "Receive")]
    pub cores: Option<Cores>,

    /// With --queues N and -w NAME.EXT: one file per queue, NAME.qN.EXT, each
    /// with its own interface description and statistics, instead of one file
    /// merged in timestamp order. With -C/-G/-W/-b each queue's files rotate
    /// on their own (NAME.qN.EXT1…, or dumpcap's NAME.qN_00001_…).
    #[arg(long)]
    #[arg(help_heading = "Output")]
    pub per_queue: bool,

    /// A tcpdump filter expression (libpcap syntax), in one argument or as
    /// several words; packets it rejects are counted and never written.
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true)]
    pub expression: Vec<String>,
}

/// The CPU list of `--cores`, in the order given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cores(pub Vec<usize>);

/// Parses `0,1`, `0-3`, `0-1,3`: CPU numbers and inclusive ranges.
pub fn parse_cores(s: &str) -> Result<Cores, String> {
    let mut cores = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!(
                "`{s}`: empty CPU number (expected a list like 0,1 or 0-3)"
            ));
        }
        let num = |v: &str| {
            v.trim().parse::<usize>().map_err(|_| {
                format!("`{v}` in `{s}` is not a CPU number (expected a list like 0,1 or 0-3)")
            })
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!(
                "`{part}` in `{s}`: a range goes from the lower CPU to the higher"
            ));
        }
        if hi >= 4096 {
            return Err(format!("CPU {hi} in `{s}`: CPU numbers go up to 4095"));
        }
        for c in lo..=hi {
            if cores.contains(&c) {
                return Err(format!("CPU {c} appears twice in `{s}`"));
            }
            cores.push(c);
        }
    }
    Ok(Cores(cores))
}

/// Capture file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng, with the interface's description and closing statistics.
    Pcapng,
}

/// One `-b KEY:VALUE` of dumpcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingOption {
    /// `duration:N`: a new file every N seconds after the last one was opened.
    Duration(u64),
    /// `interval:N`: a new file at every multiple of N seconds of the wall clock.
    Interval(u64),
    /// `filesize:KB`: a new file once this one holds KB x 1000 bytes.
    FileSizeKb(u64),
    /// `packets:N`: a new file every N packets.
    Packets(u64),
    /// `files:N`: keep only the last N files.
    Files(u32),
}

/// One of dumpcap's `-a` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoStop {
    /// `duration:N`: stop after N seconds.
    Duration(u64),
    /// `packets:N`: stop after N packets.
    Packets(u64),
    /// `filesize:KB`: stop once the file holds KB x 1000 bytes.
    FileSizeKb(u64),
    /// `files:N`: stop after N files (with `-b`).
    Files(u32),
}

/// dumpcap's `KEY:VALUE` (`-a`, `-b`): the key and a positive whole number.
fn key_and_count<'a>(s: &'a str, keys: &str) -> Result<(&'a str, u64), String> {
    let (key, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected KEY:VALUE ({keys})"))?;
    let n = value
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{value}` is not a positive whole number"))?;
    Ok((key, n))
}

/// A file count of `files:N`.
fn file_count(n: u64) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{n}: too many files"))
}

fn parse_autostop(s: &str) -> Result<AutoStop, String> {
    let keys = "duration, packets, filesize, files";
    let (key, n) = key_and_count(s, keys)?;
    Ok(match key {
        "duration" => AutoStop::Duration(n),
        "packets" => AutoStop::Packets(n),
        "filesize" => AutoStop::FileSizeKb(n),
        "files" => AutoStop::Files(file_count(n)?),
        _ => return Err(format!("unknown autostop condition `{key}` ({keys})")),
    })
}

impl CaptureArgs {
    /// The arguments with `-a duration` and `-a packets` folded into
    /// `--duration` and `-c` (the first limit reached ends the capture).
    pub fn with_autostop(&self) -> CaptureArgs {
        let mut a = self.clone();
        for c in &self.autostop {
            match *c {
                AutoStop::Duration(s) => {
                    let s = s as f64;
                    a.duration = Some(a.duration.map_or(s, |d| d.min(s)));
                }
                AutoStop::Packets(n) => a.count = Some(a.count.map_or(n, |c| c.min(n))),
                AutoStop::FileSizeKb(_) | AutoStop::Files(_) => {}
            }
        }
        a
    }

    /// `-a filesize:KB`, in bytes (the smallest, when repeated).
    pub fn autostop_bytes(&self) -> Option<u64> {
        self.autostop
            .iter()
            .filter_map(|c| match *c {
                AutoStop::FileSizeKb(kb) => Some(kb.saturating_mul(1000)),
                _ => None,
            })
            .min()
    }

    /// `-a files:N` (the smallest, when repeated).
    pub fn autostop_files(&self) -> Option<u32> {
        self.autostop
            .iter()
            .filter_map(|c| match *c {
                AutoStop::Files(n) => Some(n),
                _ => None,
            })
            .min()
    }
}

fn parse_ring_option(s: &str) -> Result<RingOption, String> {
    let keys = "duration, interval, filesize, packets, files";
    let (key, n) = key_and_count(s, keys)?;
    Ok(match key {
        "duration" => RingOption::Duration(n),
        "interval" => RingOption::Interval(n),
        "filesize" => RingOption::FileSizeKb(n),
        "packets" => RingOption::Packets(n),
        "files" => RingOption::Files(file_count(n)?),
        _ => return Err(format!("unknown ring buffer option `{key}` ({keys})")),
    })
}

/// tcpdump's `-C`: millions of bytes (a fraction allowed), or a number with a
/// k/m/g suffix for KiB/MiB/GiB.
fn parse_file_size(s: &str) -> Result<u64, String> {
    let (num, unit) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1024.0),
        Some((i, 'm' | 'M')) => (&s[..i], 1024.0 * 1024.0),
        Some((i, 'g' | 'G')) => (&s[..i], 1024.0 * 1024.0 * 1024.0),
        _ => (s, 1e6),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * unit >= 1.0 && v * unit < 1e18 => {
            Ok((v * unit) as u64)
        }
        _ => Err(format!(
            "`{s}` is not a file size (millions of bytes, or with k/m/g)"
        )),
    }
}

/// tcpdump's largest snapshot length, and what `-s 0` means.
pub const MAX_SNAPLEN: u32 = 262_144;

/// tcpdump's `-s`: 1..=262144 bytes, 0 for the largest.
fn parse_snaplen(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(0) => Ok(MAX_SNAPLEN),
        Ok(v) if v <= MAX_SNAPLEN => Ok(v),
        _ => Err(format!(
            "invalid snaplen `{s}`: 1..={MAX_SNAPLEN} bytes, or 0 for {MAX_SNAPLEN}"
        )),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds")),
    }
}

/// Timestamp precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    /// Microseconds (classic pcap).
    Micro,
    /// Nanoseconds.
    Nano,
}

/// `send` options.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Frames to send (generated frames; with --pcap, the file's frames are
    /// sent this many times over, default once).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Size of generated frames in bytes without FCS (shorter frames are padded to 60).
    #[arg(long, value_name = "BYTES", default_value_t = 60, value_parser = clap::value_parser!(u16).range(14..=1514))]
    pub size: u16,

    /// Send the frames of this pcap or pcapng file, as they are (shorter than
    /// 60 bytes: padded by the NIC; jumbo frames up to 16 KiB: whole, from
    /// buffers sized to the longest; longer ones, such as a host capture's
    /// GRO/TSO frames, are skipped with a warning).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Simulator: write every frame that leaves the NIC to this pcap file.
    #[arg(long, value_name = "FILE")]
    pub sim_tx_dump: Option<PathBuf>,

    /// Send at most PPS frames per second (default: as fast as the NIC takes them).
    #[arg(long, value_name = "PPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,

    /// Transmit descriptors in the ring (power of two, 8..=4096).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub ring: usize,
}

/// `stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Receive (and discard) for SECONDS before printing, so the counters show traffic.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub duration: f64,
}

/// `bind` options.
#[derive(Debug, Args)]
pub struct BindArgs {
    /// The NIC's PCI address, e.g. 0000:03:00.0.
    #[arg(value_name = "BDF")]
    pub bdf: igbpoll_driver::pci::PciAddress,

    /// Take the NIC even if its kernel interface is up with addresses.
    #[arg(long)]
    pub force: bool,
}

/// `unbind` options.
#[derive(Debug, Args)]
pub struct UnbindArgs {
    /// The NIC's PCI address, e.g. 0000:03:00.0.
    #[arg(value_name = "BDF")]
    pub bdf: igbpoll_driver::pci::PciAddress,
}
