//! `igbpoll stats`: the NIC's counters and the driver's, as `ethtool -S` shows them.

use std::io::Write;
use std::time::{Duration, Instant};

use igbpoll_driver::{Backend, NicConfig};

use crate::cli::{DeviceArgs, StatsArgs};
use crate::device::{self, AnyDevice, Traffic};
use crate::error::CliError;

/// Runs `stats`.
pub fn run(dev_args: &DeviceArgs, args: &StatsArgs) -> Result<(), CliError> {
    let opened = device::open_any(dev_args, &NicConfig::default(), Traffic::OnRequest)?;
    crate::with_device!(opened, dev => run_on(dev, args))
}

fn run_on<B: Backend>(mut dev: AnyDevice<B>, args: &StatsArgs) -> Result<(), CliError> {
    if args.duration > 0.0 {
        // Receive and discard for a while so the counters show traffic.
        let until = Instant::now() + Duration::from_secs_f64(args.duration);
        let stop = device::stop_flag();
        let mut batch = Vec::with_capacity(64);
        while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if dev.nic.rx_batch(0, &mut batch, 64) == 0 {
                std::thread::yield_now();
            }
            batch.clear();
        }
    }
    let s = dev.nic.stats();
    let mut o = std::io::stdout().lock();
    let _ = writeln!(
        o,
        "{}: {} {} link {}",
        dev.nic.name(),
        dev.nic.model().name,
        device::fmt_mac(dev.nic.mac()),
        dev.nic.link()
    );
    let _ = writeln!(o, "NIC statistics:");
    for (name, v) in s.hw.iter() {
        let _ = writeln!(o, "     {name}: {v}");
    }
    let _ = writeln!(o, "Driver statistics:");
    for (name, v) in s.driver.iter() {
        let _ = writeln!(o, "     {name}: {v}");
    }
    Ok(())
}
