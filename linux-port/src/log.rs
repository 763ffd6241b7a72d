//! Logging to stderr (default) or syslog (`--syslog`: `/dev/log`, facility
//! daemon, ident `tandem`, for OpenWrt's `logread`).
//!
//! Each line is formatted into a stack buffer and written with one syscall:
//! logging never allocates. stderr lines carry the `CLOCK_MONOTONIC` time
//! in milliseconds: `[12345678 ms] tandem: I1: BACKUP -> MASTER (...)`.

use crate::buf::Buf;
use crate::sys;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

/// Syslog severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// LOG_ERR.
    Error = 3,
    /// LOG_WARNING.
    Warning = 4,
    /// LOG_NOTICE.
    Notice = 5,
    /// LOG_INFO.
    Info = 6,
}

const LOG_DAEMON: u8 = 3 << 3;
const DEV_LOG: &str = "/dev/log";
const LINE: usize = 768;

/// The `/dev/log` socket once [`init_syslog`] succeeded (-1: stderr).
static SYSLOG: AtomicI32 = AtomicI32::new(-1);

/// Switches logging to syslog. On failure logging stays on stderr.
pub fn init_syslog() -> std::io::Result<()> {
    let fd = sys::dgram_open(DEV_LOG.as_bytes())?;
    SYSLOG.store(fd, Relaxed);
    Ok(())
}

/// Writes one log line.
pub fn write(level: Level, args: fmt::Arguments<'_>) {
    write_tagged(level, true, args)
}

/// Logs a configuration diagnostic (its text already says "warning:").
pub fn diagnostic(d: &tandem_protocol::config::Diagnostic<'_>) {
    let level = if d.is_error() {
        Level::Error
    } else {
        Level::Warning
    };
    write_tagged(level, d.is_error(), format_args!("{d}"))
}

fn write_tagged(level: Level, tagged: bool, args: fmt::Arguments<'_>) {
    let mut mem = [0u8; LINE];
    let mut b = Buf::new(&mut mem[..LINE - 1]);
    let s = SYSLOG.load(Relaxed);
    if s >= 0 {
        let _ = write!(b, "<{}>tandem[{}]: ", LOG_DAEMON | level as u8, sys::pid());
        let _ = b.write_fmt(args);
        let n = b.len();
        if sys::dgram_send(s, &mem[..n]) {
            return;
        }
        // logd restarted? Reconnect once, then fall back to stderr.
        if sys::dgram_connect(s, DEV_LOG.as_bytes()).is_ok() && sys::dgram_send(s, &mem[..n]) {
            return;
        }
        b = Buf::new(&mut mem[..LINE - 1]);
    }
    let now = sys::clock::now();
    let tag = match level {
        _ if !tagged => "",
        Level::Error => "error: ",
        Level::Warning => "warning: ",
        Level::Notice | Level::Info => "",
    };
    let _ = write!(b, "[{} ms] tandem: {tag}", now.as_millis());
    let _ = b.write_fmt(args);
    let n = b.len();
    mem[n] = b'\n';
    sys::write_stderr(&mem[..=n]);
}

/// `log!(Level, "fmt", args...)`.
#[macro_export]
macro_rules! log {
    ($lvl:ident, $($t:tt)*) => {
        $crate::log::write($crate::log::Level::$lvl, format_args!($($t)*))
    };
}
