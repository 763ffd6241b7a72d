//! `tandem`: two OpenWrt routers as one highly available gateway.
//!
//! Layout (smoltcp's `phy/sys` pattern):
//! - `sys/`: the only module with `unsafe` — file descriptors, sockets,
//!   signals, clock, poll;
//! - everything else is safe glue: CLI, logging, configuration, the event
//!   loop that feeds `tandem_core` and turns its actions into syscalls.
#![deny(unsafe_code)]

mod buf;
mod cli;
mod conf;
mod control;
mod daemon;
mod log;
mod status;
mod sys;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: sys::alloc::Counting = sys::alloc::Counting;

fn main() -> ExitCode {
    let cmd = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tandem: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match cmd {
        cli::Command::Version => {
            println!("tandem {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::Run {
            config,
            control,
            syslog,
        } => {
            if syslog {
                if let Err(e) = log::init_syslog() {
                    eprintln!("tandem: cannot open /dev/log ({e}); logging to stderr");
                }
            }
            ExitCode::from(daemon::run(daemon::Options { config, control }))
        }
        cli::Command::Check { config } => check(&config),
        cli::Command::Status { control, json } => status(&control, json),
    }
}

/// `tandem check -c FILE`: validate without touching the system.
fn check(path: &std::path::Path) -> ExitCode {
    let loaded = match conf::load(path, &mut |d| eprintln!("{d}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match loaded.config {
        Some(c) => {
            println!(
                "{}: OK: {} instance(s), {} sync group(s), {} warning(s)",
                path.display(),
                c.instances.len(),
                c.sync_groups.len(),
                loaded.warnings
            );
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "{}: {} error(s), {} warning(s)",
                path.display(),
                loaded.errors,
                loaded.warnings
            );
            ExitCode::FAILURE
        }
    }
}

/// `tandem status`: ask the running daemon.
fn status(path: &std::path::Path, json: bool) -> ExitCode {
    match control::query(path, control::Request::Status { json }) {
        Ok(out) => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&out);
            if out.starts_with(b"error:") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!(
                "tandem: cannot reach the daemon at {}: {e} (is `tandem run` running?)",
                path.display()
            );
            ExitCode::FAILURE
        }
    }
}
