//! Opening the NIC a command runs on, and the simulator behind `--sim`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use igbpoll_driver::{Nic, NicConfig};
use igbpoll_hw_sim::wire::{Generator, Replay, SourceExt};
use igbpoll_hw_sim::{FrameSource, Sim, SimBackend, SimConfig, SimModel};

use crate::cli::{DeviceArgs, SimModelArg};
use crate::error::CliError;

/// An opened NIC and, on `--sim`, the simulator it runs on.
pub struct Device {
    /// The NIC, brought up.
    pub nic: Nic<SimBackend>,
    /// The simulator (kept alive as long as the NIC; stopped on drop).
    pub sim: Sim,
    /// True when the wire is fed from a finite source (a replay file), so that
    /// a capture ends when the source is done.
    pub finite_source: bool,
}

/// What feeds the simulated wire.
pub enum Traffic {
    /// Nothing unless `--sim-replay`, `--sim-size` or `--sim-rate` ask for it.
    OnRequest,
    /// The generator or replay file named by the options (mixed traffic by default).
    Always,
}

/// Builds the simulator named by `args` and opens the driver on it.
pub fn open(args: &DeviceArgs, config: &NicConfig, traffic: Traffic) -> Result<Device, CliError> {
    let model = match args.sim {
        Some(SimModelArg::E1000) => SimModel::E1000,
        Some(SimModelArg::Igb) => SimModel::Igb,
        None => return Err(CliError::NoDevice),
    };
    let sim = Sim::new(SimConfig::new(model));
    let wants_source =
        args.sim_replay.is_some() || args.sim_size.is_some() || args.sim_rate.is_some();
    let mut finite_source = false;
    if matches!(traffic, Traffic::Always) || wants_source {
        let source: Box<dyn FrameSource> = if let Some(path) = &args.sim_replay {
            finite_source = true;
            let replay = Replay::open(path).map_err(|e| CliError::Input {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if replay.is_empty() {
                log::warn!("{}: no frames to replay", path.display());
            }
            Box::new(replay)
        } else if let Some(size) = args.sim_size {
            Box::new(Generator::fixed_udp(usize::from(size), sim.mac()))
        } else {
            Box::new(Generator::mixed(args.sim_seed, sim.mac()))
        };
        match args.sim_rate {
            Some(pps) => sim.set_source(source.paced(pps as f64)),
            None => sim.set_source(source),
        }
    }
    sim.start();
    let nic = Nic::open(sim.backend(), config)?;
    Ok(Device {
        nic,
        sim,
        finite_source,
    })
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
