//! Opening the NIC a command runs on, and the simulator behind `--sim`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use igbpoll_driver::vfio::{VfioBackend, VfioContainer};
use igbpoll_driver::{Backend, Family, Nic, NicConfig};
use igbpoll_hw_sim::wire::{
    FaultConfig, FaultCounters, Faulty, FaultySink, Generator, Replay, SourceExt, Tap, TapCounters,
};
use igbpoll_hw_sim::{FrameSource, Sim, SimBackend, SimConfig, SimModel};

use crate::cli::{DeviceArgs, SimModelArg};
use crate::error::CliError;

/// An opened NIC on any backend, and the simulator behind it on `--sim`.
pub struct AnyDevice<B: Backend> {
    /// The NIC, brought up.
    pub nic: Nic<B>,
    /// The simulator on `--sim` (stopped on drop, after the NIC).
    pub sim: Option<Sim>,
    /// True when a finite source (a replay file) feeds the simulated wire.
    pub finite_source: bool,
    /// True when the wire waits for the NIC: a simulated source without
    /// `--sim-rate` behaves like a sender honouring PAUSE frames. Then nothing
    /// needs to be lost anywhere, and the capture waits for a slow writer instead
    /// of dropping (a real wire does not wait: there the capture drops and counts).
    pub flow_controlled: bool,
    /// The simulated wire's own counters (TAP end, fault stage), printed to
    /// stderr when the device is dropped, after the simulator stopped.
    pub wire_report: WireReport,
}

/// The counters of the simulated wire's ends that the NIC's statistics do not
/// show: the TAP end (`--tap`) and the fault stage (`--sim-loss` ...).
/// [`WireReport::lines`] formats them; dropping the report prints them to stderr.
#[derive(Debug, Default)]
pub struct WireReport {
    tap: Option<(String, TapCounters)>,
    /// Towards the NIC, and from it (when something receives its frames).
    faults: Option<(FaultCounters, Option<FaultCounters>)>,
}

impl WireReport {
    /// One line per wire end that has something to report.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((name, c)) = &self.tap {
            let s = c.snapshot();
            out.push(format!(
                "tap {name}: {} frames from the kernel ({} padded to 60 bytes, {} too long \
                 dropped, {} too short dropped, {} read errors), {} frames to the kernel \
                 ({} dropped: queue full, {} write errors)",
                s.rx_frames,
                s.rx_padded,
                s.rx_oversize,
                s.rx_malformed,
                s.rx_errors,
                s.tx_frames,
                s.tx_dropped_full,
                s.tx_errors
            ));
        }
        if let Some((to_nic, from_nic)) = &self.faults {
            let fmt = |dir: &str, c: &FaultCounters| {
                let s = c.snapshot();
                format!(
                    "sim wire faults {dir}: {} frames, {} lost, {} reordered, {} duplicated, \
                     {} corrupted, {} delivered",
                    s.frames, s.lost, s.reordered, s.duplicated, s.corrupted, s.delivered
                )
            };
            out.push(fmt("towards the NIC", to_nic));
            if let Some(c) = from_nic {
                out.push(fmt("from the NIC", c));
            }
        }
        out
    }
}

/// The fault stage `--sim-loss`, `--sim-reorder`, `--sim-dup`, `--sim-corrupt`
/// and `--sim-fault-seed` ask for.
pub fn fault_config(args: &DeviceArgs) -> FaultConfig {
    FaultConfig {
        loss: args.sim_loss.unwrap_or(0.0),
        reorder: args.sim_reorder.unwrap_or(0.0),
        dup: args.sim_dup.unwrap_or(0.0),
        corrupt: args.sim_corrupt.unwrap_or(0.0),
        seed: args.sim_fault_seed,
    }
}

/// Sets `source` as the simulator's, behind the fault stage when `faults` is
/// active; `release` lets it flush a frame the sink side holds back.
fn set_source(
    sim: &Sim,
    source: impl FrameSource + 'static,
    faults: &FaultConfig,
    release: Option<igbpoll_hw_sim::wire::HeldRelease>,
    report: &mut WireReport,
) {
    if faults.is_active() {
        let mut f = Faulty::new(source, faults);
        if let Some(r) = release {
            f = f.with_release(r);
        }
        let to_nic = f.counters();
        match &mut report.faults {
            Some((c, _)) => *c = to_nic,
            None => report.faults = Some((to_nic, None)),
        }
        sim.set_source(f);
    } else {
        sim.set_source(source);
    }
}

impl Drop for WireReport {
    fn drop(&mut self) {
        for l in self.lines() {
            eprintln!("igbpoll: {l}");
        }
    }
}

impl<B: Backend> AnyDevice<B> {
    /// True when a finite simulated source is exhausted and every frame of it
    /// reached a descriptor or was dropped (checked before a final poll).
    pub fn wire_drained(&self) -> bool {
        self.finite_source && self.sim.as_ref().is_some_and(Sim::rx_drained)
    }
}

/// A device on one of the two backends. Commands are generic over the backend;
/// [`with_device!`] runs one on whichever was opened, so the fast path is
/// monomorphised: no dynamic dispatch per register access.
pub enum Opened {
    /// `--sim MODEL`.
    Sim(AnyDevice<SimBackend>),
    /// `--pci BDF`, through VFIO.
    Pci(AnyDevice<VfioBackend>),
}

/// Runs `$body` with `$dev` bound to the concrete device inside an [`Opened`].
#[macro_export]
macro_rules! with_device {
    ($opened:expr, $dev:ident => $body:expr) => {
        match $opened {
            $crate::device::Opened::Sim($dev) => $body,
            $crate::device::Opened::Pci($dev) => $body,
        }
    };
}

/// Opens the NIC named by `--pci` or `--sim`.
pub fn open_any(
    args: &DeviceArgs,
    config: &NicConfig,
    traffic: Traffic,
) -> Result<Opened, CliError> {
    if let Some(addr) = args.pci {
        // Name a missing or unbound device before anything about VFIO itself.
        igbpoll_driver::vfio::check_sysfs(&igbpoll_driver::pci::Sysfs::default(), addr)?;
        let container = if args.unsafe_noiommu {
            log::warn!("no-IOMMU mode: the NIC can DMA anywhere in memory");
            VfioContainer::open_unsafe_noiommu()?
        } else {
            VfioContainer::open()?
        };
        let backend = VfioBackend::open(&container, addr)?;
        let nic = Nic::open(backend, config)?;
        return Ok(Opened::Pci(AnyDevice {
            nic,
            sim: None,
            finite_source: false,
            flow_controlled: false,
            wire_report: WireReport::default(),
        }));
    }
    Ok(Opened::Sim(open_sim(args, config, traffic)?))
}

/// What feeds the simulated wire.
pub enum Traffic {
    /// Nothing unless `--sim-replay`, `--sim-size` or `--sim-rate` ask for it.
    OnRequest,
    /// The generator or replay file named by the options (mixed traffic by default).
    Always,
}

/// Builds the simulator named by `args` and opens the driver on it.
fn open_sim(
    args: &DeviceArgs,
    config: &NicConfig,
    traffic: Traffic,
) -> Result<AnyDevice<SimBackend>, CliError> {
    let model = match args.sim {
        Some(SimModelArg::E1000) => SimModel::E1000,
        Some(SimModelArg::Igb) => SimModel::Igb,
        None => return Err(CliError::NoDevice),
    };
    let sim = Sim::new(SimConfig::new(model));
    let mut wire_report = WireReport::default();
    let faults = fault_config(args);
    faults.validate().map_err(CliError::Usage)?;
    let wants_source =
        args.sim_replay.is_some() || args.sim_size.is_some() || args.sim_rate.is_some();
    let mut finite_source = false;
    let has_source = matches!(traffic, Traffic::Always) || wants_source;
    if let Some(name) = &args.tap {
        // The TAP is the far end of the wire: no generator (clap refuses
        // --tap with --sim-replay, --sim-size and --sim-rate).
        let tap = Tap::open(name).map_err(CliError::Tap)?;
        wire_report.tap = Some((name.clone(), tap.counters()));
        let (source, sink) = tap.split(sim.waker()).map_err(CliError::Tap)?;
        let mut release = None;
        if faults.is_active() {
            let sink = FaultySink::new(sink, &faults);
            release = Some(sink.release_handle());
            wire_report.faults = Some((FaultCounters::default(), Some(sink.counters())));
            sim.add_sink(sink);
        } else {
            sim.add_sink(sink);
        }
        set_source(&sim, source, &faults, release, &mut wire_report);
        log::info!("simulated wire connected to TAP {name}");
    } else if has_source {
        let source: Box<dyn FrameSource> = if let Some(path) = &args.sim_replay {
            finite_source = true;
            let replay = Replay::open(path).map_err(|e| CliError::Input {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if replay.is_empty() {
                log::warn!("{}: no frames to replay", path.display());
            }
            if replay.truncated_records() > 0 {
                log::warn!(
                    "{}: {} records hold less than their frame (captured with a snapshot \
                     length); the wire carries the bytes the file holds",
                    path.display(),
                    replay.truncated_records()
                );
            }
            if replay.other_link_records() > 0 {
                log::warn!(
                    "{}: {} packets on non-Ethernet interfaces are left out; {} Ethernet \
                     frames are replayed",
                    path.display(),
                    replay.other_link_records(),
                    replay.len()
                );
            }
            if replay.padded_records() > 0 {
                log::info!(
                    "{}: {} frames shorter than 60 bytes are sent padded with zeros to 60, \
                     as a sending NIC pads them",
                    path.display(),
                    replay.padded_records()
                );
            }
            // With --max-frame, igb drops what is longer (RLPML); the
            // 82540EM has no such limit and takes what fits its buffers.
            let max = match (config.max_frame, model) {
                (0, _) => None,
                (max, SimModel::Igb) => Some(max),
                (_, SimModel::E1000) => Some(config.rx_buffer_len(Family::E1000)),
            };
            let long = match max {
                None => replay.long_records(),
                Some(max) => replay.frames_longer_than(max),
            };
            if long > 0 {
                let limit = match (max, model) {
                    (None, _) => "1514 bytes (1518 with a VLAN tag)".to_string(),
                    (Some(max), SimModel::Igb) => format!("{max} bytes (--max-frame)"),
                    (Some(max), SimModel::E1000) => {
                        format!("the 82540EM's {max}-byte buffers at this --max-frame")
                    }
                };
                log::warn!(
                    "{}: {long} frames are longer than {limit}: the NIC drops them as \
                     too long (ROC), as real silicon does (capture --max-frame up to 9724 on igb, 16124 on e1000, \
                     takes jumbo frames; a host capture's GRO/TSO frames never were on a wire)",
                    path.display(),
                );
            }
            Box::new(replay)
        } else if let Some(size) = args.sim_size {
            Box::new(Generator::fixed_udp(usize::from(size), sim.mac()))
        } else {
            Box::new(Generator::mixed(args.sim_seed, sim.mac()))
        };
        match args.sim_rate {
            Some(pps) => set_source(
                &sim,
                source.paced(pps as f64),
                &faults,
                None,
                &mut wire_report,
            ),
            None => set_source(&sim, source, &faults, None, &mut wire_report),
        }
    }
    if faults.is_active() && wire_report.faults.is_none() {
        log::warn!(
            "--sim-loss/--sim-reorder/--sim-dup/--sim-corrupt: nothing on the simulated wire \
             to apply them to (no traffic source and no --tap)"
        );
    }
    sim.start();
    let nic = Nic::open(sim.backend(), config)?;
    // The TAP source is flow-controlled too: the kernel's TAP queue holds
    // frames while the NIC's FIFO is full.
    let flow_controlled = args.tap.is_some() || (has_source && args.sim_rate.is_none());
    Ok(AnyDevice {
        nic,
        sim: Some(sim),
        finite_source,
        flow_controlled,
        wire_report,
    })
}

/// Pins the calling thread (`what`, for the error message) to CPU `core`.
pub fn pin_thread(core: usize, what: &str) -> Result<(), CliError> {
    let mut set = nix::sched::CpuSet::new();
    set.set(core)
        .and_then(|()| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set))
        .map_err(|e| CliError::Usage(format!("cannot pin {what} to CPU {core}: {e}")))
}

/// A flag raised by SIGINT or SIGTERM.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            log::warn!("cannot handle signal {sig}: {e}");
        }
    }
    flag
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos() as u64
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}
