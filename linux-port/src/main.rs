//! `tandem`: two OpenWrt routers as one highly available gateway.
//!
//! Layout (smoltcp's `phy/sys` pattern: one module holds every `unsafe`):
//! - `sys/`: file descriptors, raw VRRP sockets (IPv4/IPv6), the
//!   `AF_PACKET` socket for announcements, `NETLINK_ROUTE` sockets,
//!   `signalfd`, `ppoll`, `CLOCK_MONOTONIC`, the counting allocator;
//! - `cli`: the command-line contract (`run`, `check`, `status`, `resync`,
//!   `cache`, `leases merge`);
//! - `leases`: `tandem leases merge`, the offline merge of lease files;
//! - `conf`: reads the configuration and its `include`s from disk for
//!   `tandem_protocol::config`;
//! - `daemon/`: the single-threaded event loop that feeds `tandem_core`'s
//!   VRRP node (packets, link events, timeouts, signals) and turns its
//!   actions into syscalls (`rx`: receive checks; `tx`: adverts, addresses,
//!   routes, announcements; `net`: rtnetlink requests and the interface
//!   table; `ctsync`: conntrack sync — the UDP sync socket, ctnetlink
//!   commit/dump/events, and the takeover order commit → addresses →
//!   announcements → resync);
//! - `control` + `status`: the control socket and what `tandem status`
//!   prints (text or JSON);
//! - `log` + `buf`: stderr/syslog logging and formatting into fixed
//!   buffers, so the loop never allocates after start-up.
#![deny(unsafe_code)]
#![cfg_attr(not(test), no_main)]

mod buf;
mod cli;
mod conf;
mod control;
mod daemon;
mod leases;
mod log;
mod status;
mod sys;

/// A process exit status (std's `ExitCode` without its runtime: `main`
/// returns the byte to the C entry point in `sys::start`).
#[derive(Clone, Copy)]
pub struct ExitCode(u8);

impl ExitCode {
    /// Exit status 0.
    pub const SUCCESS: ExitCode = ExitCode(0);
    /// Exit status 1.
    pub const FAILURE: ExitCode = ExitCode(1);
}

impl From<u8> for ExitCode {
    fn from(v: u8) -> Self {
        ExitCode(v)
    }
}

impl From<ExitCode> for i32 {
    fn from(c: ExitCode) -> i32 {
        i32::from(c.0)
    }
}

#[global_allocator]
static ALLOCATOR: sys::alloc::Counting = sys::alloc::Counting;

/// The program: `args` are the arguments after the program name; returns
/// the exit status (called by the C entry point in `sys::start`).
fn main(args: cli::Args<'_>) -> ExitCode {
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            buf::print(2, format_args!("tandem: {e}\n\n{}\n", cli::USAGE));
            return ExitCode::from(2);
        }
    };
    let (control, req) = match cmd {
        cli::Command::Version => {
            let _ = sys::write_fd(
                1,
                concat!("tandem ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
            );
            return ExitCode::SUCCESS;
        }
        cli::Command::Help => {
            let _ = sys::write_fd(1, cli::USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        cli::Command::Run {
            config,
            control,
            syslog,
        } => {
            if syslog {
                if let Err(e) = log::init_syslog() {
                    buf::print(
                        2,
                        format_args!(
                            "tandem: cannot open /dev/log ({}); logging to stderr\n",
                            sys::ErrorText(&e)
                        ),
                    );
                }
            }
            return ExitCode::from(daemon::run(daemon::Options { config, control }));
        }
        cli::Command::Check { config } => return check(&config),
        cli::Command::LeasesMerge { files, now } => return leases::merge_command(&files, now),
        cli::Command::Status { control, json } => (control, control::Request::Status { json }),
        cli::Command::Resync { control } => (control, control::Request::Resync),
        cli::Command::Cache { control, json } => (control, control::Request::Cache { json }),
    };
    query(&control, req)
}

/// Prints `PATH: WHAT MESSAGE` on stderr (`tandem check`).
#[inline(never)]
fn say(path: &std::path::Path, what: &str, m: &dyn std::fmt::Display) {
    buf::print(2, format_args!("{}: {what}{m}\n", buf::path(path)));
}

/// `tandem check -c FILE`: validate without touching the system.
fn check(path: &std::path::Path) -> ExitCode {
    let loaded = match conf::load(path, &mut |d| buf::print(2, format_args!("{d}\n"))) {
        Ok(l) => l,
        Err(e) => {
            say(path, "cannot read: ", &e);
            return ExitCode::FAILURE;
        }
    };
    let mut port_warnings = 0;
    let mut port_errors = 0;
    if let Some(c) = &loaded.config {
        conf::unsupported(c, &mut |m| {
            port_warnings += 1;
            say(path, "warning: ", &m)
        });
        if let Some(s) = &c.sync {
            // The key is read as `run` would read it.
            if let Err(e) = daemon::load_sync_key(&s.key) {
                port_errors += 1;
                say(path, "error: ", &e);
            }
            if let Some(w) = daemon::sync_key_warning(&s.key) {
                port_warnings += 1;
                say(path, "warning: ", &w);
            }
        }
    }
    match loaded.config.filter(|_| port_errors == 0) {
        Some(c) => {
            buf::print(
                1,
                format_args!(
                    "{}: OK: {} instance(s), {} sync group(s), {} warning(s)\n",
                    buf::path(path),
                    c.instances.len(),
                    c.sync_groups.len(),
                    loaded.warnings + port_warnings
                ),
            );
            ExitCode::SUCCESS
        }
        None => {
            buf::print(
                2,
                format_args!(
                    "{}: {} error(s), {} warning(s)\n",
                    buf::path(path),
                    loaded.errors + port_errors,
                    loaded.warnings + port_warnings
                ),
            );
            ExitCode::FAILURE
        }
    }
}

/// `tandem status` / `tandem resync`: ask the running daemon.
fn query(path: &std::path::Path, req: control::Request) -> ExitCode {
    match control::query(path, req) {
        Ok(out) => {
            let _ = sys::write_fd(1, &out);
            if out.starts_with(b"error:") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            buf::print(
                2,
                format_args!(
                    "tandem: cannot reach the daemon at {}: {e} (is `tandem run` running?)\n",
                    buf::path(path),
                ),
            );
            ExitCode::FAILURE
        }
    }
}
