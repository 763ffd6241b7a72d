//! `tandem`: two OpenWrt routers as one highly available gateway.
//!
//! Layout (smoltcp's `phy/sys` pattern):
//! - `sys/`: the only module with `unsafe` — file descriptors, sockets,
//!   signals, clock, poll;
//! - everything else is safe glue: CLI, logging, configuration, the event
//!   loop that feeds `tandem_core` and turns its actions into syscalls.
#![deny(unsafe_code)]
// Temporary while the event loop is wired up.
#![allow(dead_code, unused_imports)]

mod buf;
mod cli;
mod control;
mod log;
mod status;
mod sys;

use std::process::ExitCode;

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
        _ => {
            eprintln!("tandem: not implemented yet");
            ExitCode::FAILURE
        }
    }
}
