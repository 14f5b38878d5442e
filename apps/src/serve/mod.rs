//! `igbpoll serve`: the IPv4 stack on a dedicated core, answering ping and
//! arping, echoing UDP and TCP, serving HTTP.
//!
//! Two threads. The stack's thread owns the NIC and the [`Interface`]: it
//! polls the receive queue, hands every frame to the stack in the buffer the
//! NIC wrote it to, serves its clients' rings, runs the stack's timers, and
//! transmits what the stack emitted (written straight into DMA packet
//! buffers) with one `tx_batch` per round. It polls the NIC and the rings and
//! nothing else. The services (echo, HTTP, discard) are an ordinary
//! application on a second thread that reaches the stack only through a
//! [`StackClient`](igbpoll_stack::api::StackClient) over igbpoll-ring.

pub mod args;
mod nic_tx;
pub mod services;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use igbpoll_driver::{Backend, NicConfig, Packet};
use igbpoll_stack::api::{self, ApiServer};
use igbpoll_stack::iface::{Interface, InterfaceConfig};
use igbpoll_stack::time::Instant;

pub use args::ServeArgs;
use nic_tx::NicTx;
use services::{Service, ServiceStats, Services};

use crate::cli::DeviceArgs;
use crate::device::{self, AnyDevice, Traffic};
use crate::error::CliError;

/// Frames taken from the receive ring per round.
const RX_BURST: usize = 64;

/// Runs `serve`.
pub fn run(dev_args: &DeviceArgs, args: &ServeArgs) -> Result<(), CliError> {
    if let Some(gw) = args.gateway {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(args.ip.prefix_len))
            .unwrap_or(0);
        if u32::from(gw) & mask != u32::from(args.ip.addr) & mask {
            return Err(CliError::Usage(format!(
                "the gateway {gw} is not on {}/{}",
                args.ip.addr, args.ip.prefix_len
            )));
        }
    }
    if args.udp_echo.is_none()
        && args.tcp_echo.is_none()
        && args.http.is_none()
        && args.tcp_discard.is_none()
    {
        log::info!("no service asked for (--udp-echo, --tcp-echo, --http, --tcp-discard): answering ARP and ping only");
    }
    let config = NicConfig {
        rx_ring_size: args.ring,
        tx_ring_size: args.ring,
        ..NicConfig::default()
    };
    let opened = device::open_any(dev_args, &config, Traffic::OnRequest)?;
    crate::with_device!(opened, dev => serve_on(dev, args))
}

fn iface_config(args: &ServeArgs, mac: [u8; 6]) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(mac, args.ip.addr, args.ip.prefix_len);
    c.gateway = args.gateway;
    c.tcp.msl = Duration::from_millis(args.msl_ms);
    c.tcp.rto_min = Duration::from_millis(args.rto_min_ms);
    c.tcp.rx_buffer = args.tcp_buffer_kib * 1024;
    c.tcp.tx_buffer = args.tcp_buffer_kib * 1024;
    c
}

fn serve_on<B: Backend>(mut dev: AnyDevice<B>, args: &ServeArgs) -> Result<(), CliError> {
    let stop = device::stop_flag();
    let mac = dev.nic.mac();
    let seed = args
        .seed
        .unwrap_or_else(|| device::now_ns() ^ u64::from(std::process::id()));
    let mut iface = Interface::new(iface_config(args, mac), seed);

    // The services' thread and its rings.
    let window = args.tcp_buffer_kib * 1024;
    let (client, port) = api::channel(4096, window, window)
        .map_err(|e| CliError::Usage(format!("cannot make the socket API's rings: {e}")))?;
    let mut services = Services::new(client, Arc::new(ServiceStats::default()));
    let service_stats = Arc::clone(services.stats());
    let asks = [
        (args.tcp_echo, Service::Echo),
        (args.http, Service::Http),
        (args.tcp_discard, Service::Discard),
    ];
    for (port, service) in asks {
        if let Some(p) = port {
            services
                .listen(service, p)
                .map_err(|e| CliError::Usage(format!("{service:?} on port {p}: {e}")))?;
        }
    }
    if let Some(p) = args.udp_echo {
        services
            .udp_echo(p)
            .map_err(|e| CliError::Usage(format!("UDP echo on port {p}: {e}")))?;
    }
    let app_stop = Arc::new(AtomicBool::new(false));
    let app_core = args.app_core;
    let app = {
        let app_stop = Arc::clone(&app_stop);
        std::thread::Builder::new()
            .name("igbpoll-services".into())
            .spawn(move || -> Result<(), String> {
                if let Some(c) = app_core {
                    device::pin_thread(c, "the services' thread").map_err(|e| e.to_string())?;
                }
                services.run(&app_stop)
            })
            .map_err(|e| CliError::Usage(format!("cannot start the services' thread: {e}")))?
    };
    let mut server = ApiServer::new(vec![port]);

    if let Some(c) = args.core {
        device::pin_thread(c, "the stack's thread")?;
    }
    let pool = dev.nic.alloc_pool((args.ring as u32 * 2).max(1024))?;
    let mut tx = NicTx::new(pool, args.ring);
    let mut batch: Vec<Packet> = Vec::with_capacity(RX_BURST);
    let started = StdInstant::now();
    let deadline = args
        .duration
        .map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let clock = || Instant::from_micros(started.elapsed().as_micros() as u64);
    eprintln!(
        "igbpoll serve: {}/{} on {} ({}), MAC {}, link {}",
        args.ip.addr,
        args.ip.prefix_len,
        dev.nic.name(),
        dev.nic.model().name,
        device::fmt_mac(mac),
        dev.nic.link()
    );
    iface.announce(clock(), &mut tx);
    tx.flush(&mut dev.nic);

    let mut next_print = started + Duration::from_secs(1);
    let mut idle_rounds = 0u32;
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| StdInstant::now() >= d) {
            break;
        }
        let now = clock();
        let n = dev.nic.rx_batch(0, &mut batch, RX_BURST);
        for p in batch.drain(..) {
            iface.receive(now, &p, &mut tx);
        }
        let served = server.run(now, &mut iface);
        iface.poll(now, &mut tx);
        let sent = tx.flush(&mut dev.nic);
        if n == 0 && !served && sent == 0 {
            idle_rounds = idle_rounds.saturating_add(1);
            // A dedicated core spins; a shared machine gets it back when idle.
            if idle_rounds > 2048 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        } else {
            idle_rounds = 0;
        }
        if app.is_finished() {
            break;
        }
        if args.stats && StdInstant::now() >= next_print {
            next_print += Duration::from_secs(1);
            print_stats(&iface, &tx, &service_stats, false);
        }
    }
    app_stop.store(true, Ordering::Relaxed);
    drop(server);
    let app_outcome = app.join();
    print_stats(&iface, &tx, &service_stats, true);
    let stats = dev.nic.stats();
    eprintln!(
        "NIC: {} frames received, {} sent; dropped by the NIC {} (MPC), {} no-buffer events (RNBC)",
        stats.hw.rx_packets,
        stats.hw.tx_packets,
        stats.hw.rx_missed_errors,
        stats.hw.rx_no_buffer_count
    );
    match app_outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CliError::Usage(e)),
        Err(_) => Err(CliError::Usage("the services' thread panicked".into())),
    }
}

fn print_stats(iface: &Interface, tx: &NicTx, svc: &ServiceStats, last: bool) {
    let mut e = std::io::stderr().lock();
    let s = iface.stats();
    let t = iface.tcp().stats();
    let mut line = String::new();
    for (name, v) in s.iter().chain(t.iter()).filter(|(_, v)| last || *v != 0) {
        line.push_str(&format!("{name} {v}  "));
    }
    line.push_str(&format!(
        "tx_no_buffer {}  connections_open {}  services_accepted {}  http_requests {}  udp_echoed {}",
        tx.no_buffer(),
        iface.tcp().connection_count(),
        svc.accepted.load(Ordering::Relaxed),
        svc.http_requests.load(Ordering::Relaxed),
        svc.udp_echoed.load(Ordering::Relaxed),
    ));
    let _ = writeln!(e, "{}{line}", if last { "stack at exit: " } else { "" });
}
