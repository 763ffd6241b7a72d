//! Shared by the `bench-failover` and `demo` binaries (included with `#[path]`; not
//! a binary of its own: cargo only discovers `src/bin/*.rs` and `src/bin/*/main.rs`).
//!
//! * cleanup of the binary's namespaces on Ctrl-C / SIGTERM / SIGHUP and on panic
//!   (the release profile aborts on panic, so destructors would not run);
//! * locating the `tandem` binary next to this one when `TANDEM_BIN` is unset;
//! * a time-stamped `ip monitor` follower for timelines.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use tandem_tests::netns;

/// Removes every namespace `<prefix>-…` (killing what runs inside) and the
/// harness's working directory of that prefix.
pub fn cleanup(prefix: &str) {
    netns::destroy_prefix(prefix);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("tandem-itest").join(prefix));
}

/// Must be called first in `main`, before any thread exists: blocks SIGINT, SIGTERM,
/// SIGHUP and SIGQUIT in every thread (children get a clean mask from `std::process`)
/// and waits for them on a dedicated thread that removes the namespaces and exits
/// with 128 + signal. A panic also removes them before the process aborts.
pub fn install_cleanup(prefix: &'static str) {
    // SAFETY: plain libc signal-set manipulation on a local, initialised sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on a valid set with the signals blocked in every thread.
        let r = unsafe { libc::sigwait(&set, &mut sig) };
        if r == 0 {
            eprintln!("\n*** interrupted (signal {sig}): removing the {prefix}-* namespaces ***");
            cleanup(prefix);
            std::process::exit(128 + sig);
        }
    });
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("*** panic: removing the {prefix}-* namespaces ***");
        cleanup(prefix);
    }));
}

/// Sets `TANDEM_BIN` to the `tandem` binary beside this executable (same cargo
/// target directory and profile) unless it is already set. Returns the path used, if
/// any. Call before any thread is spawned.
pub fn locate_tandem() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANDEM_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("tandem");
    if p.is_file() {
        std::env::set_var("TANDEM_BIN", &p);
        Some(p)
    } else {
        None
    }
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The load averages (`/proc/loadavg`, first three fields).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Follows `ip -o monitor <objects…>` in a namespace, time-stamping each line as it
/// arrives (on a reader thread, so the stamp is within a scheduling delay of the
/// kernel's notification).
pub struct Monitor {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Monitor {
    /// Starts `ip -n NS -o monitor OBJECTS…` and waits 150 ms for it to subscribe.
    pub fn start(ns: &str, objects: &[&str]) -> std::io::Result<Monitor> {
        let mut child = Command::new("ip")
            .args(["-n", ns, "-o", "monitor"])
            .args(objects)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let out = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let t = Instant::now();
                l2.lock().unwrap().push((t, line));
            }
        });
        thread::sleep(Duration::from_millis(150));
        Ok(Monitor { child, lines })
    }

    /// The first line at or after `since` for which `pred` holds, with its time stamp.
    pub fn find(&self, since: Instant, pred: impl Fn(&str) -> bool) -> Option<(Instant, String)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|(t, l)| *t >= since && pred(l))
            .cloned()
    }

    /// Waits up to `bound` (from now) for a line at or after `since` matching `pred`.
    pub fn wait(
        &self,
        since: Instant,
        bound: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(Instant, String)> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(x) = self.find(since, &pred) {
                return Some(x);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CLOCK_MONOTONIC now, in ms (what tandem's stderr log stamps lines with).
pub fn monotonic_ms() -> f64 {
    // SAFETY: an all-zero timespec is valid; clock_gettime fills it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Milliseconds as `1234.5`.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}
