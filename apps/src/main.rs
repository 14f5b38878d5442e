//! The `igbpoll` command.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use igbpoll::cli::{Cli, Command};
use igbpoll::{capture, pci_cmd, send, serve, stats_cmd};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp_micros()
        .init();
    let result = match &cli.command {
        Command::Capture(a) => capture::run(&cli.device, a),
        Command::Send(a) => send::run(&cli.device, a),
        Command::Stats(a) => stats_cmd::run(&cli.device, a),
        Command::Serve(a) => serve::run(&cli.device, a),
        Command::List => pci_cmd::list(),
        Command::Bind(a) => pci_cmd::bind(a),
        Command::Unbind(a) => pci_cmd::unbind(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("igbpoll: {e}");
            ExitCode::FAILURE
        }
    }
}
