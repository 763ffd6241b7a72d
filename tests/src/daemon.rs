//! Running a VRRP daemon (`tandem` or Debian's `keepalived`) inside a router
//! namespace, with its own config, log, pid files and control socket under the
//! topology's working directory; crash, graceful stop, freeze and thaw.
//!
//! The daemon is started through `ip netns exec` (which execs, so the child's PID
//! is the daemon's) as the leader of a new process group. A guard kills the whole
//! group (and every descendant) on drop and, if the test is panicking, prints the
//! tail of the daemon's log.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use std::os::unix::process::CommandExt;

use crate::status::Status;
use crate::topology::{RouterId, Topology};

/// Which implementation runs on a router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This project's `tandem run`.
    Tandem,
    /// Debian's keepalived (VRRP subsystem only, foreground).
    Keepalived,
}

impl Kind {
    /// `"tandem"` / `"keepalived"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tandem => "tandem",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// Path of the `tandem` binary: `$TANDEM_BIN`, else `<workspace>/target/release/tandem`,
/// else `<workspace>/target/debug/tandem`. Panics with build instructions if none
/// exists. Prints a loud warning (once) if the binary is older than the sources of
/// `linux-port`, `core` or `protocol`.
pub fn tandem_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let p = find_tandem_bin();
        warn_if_stale(&p);
        p
    })
    .clone()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn find_tandem_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TANDEM_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "TANDEM_BIN={} does not exist: build it with `cargo build --release -p tandem`",
            p.display()
        );
        return p;
    }
    let ws = workspace();
    for profile in ["release", "debug"] {
        let p = ws.join("target").join(profile).join("tandem");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "the tandem binary is missing: build it first with `cargo build --release -p tandem` \
         (looked for {0}/target/release/tandem and {0}/target/debug/tandem), or set TANDEM_BIN",
        ws.display()
    );
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for e in fs::read_dir(dir).ok()?.flatten() {
        let m = if e.file_type().ok()?.is_dir() {
            newest_mtime(&e.path())
        } else {
            e.metadata().ok()?.modified().ok()
        };
        newest = newest.max(m);
    }
    newest
}

fn warn_if_stale(bin: &Path) {
    let Some(built) = fs::metadata(bin).ok().and_then(|m| m.modified().ok()) else {
        return;
    };
    let ws = workspace();
    let src = ["linux-port/src", "core/src", "protocol/src"]
        .iter()
        .filter_map(|d| newest_mtime(&ws.join(d)))
        .max();
    if src.is_some_and(|s| s > built) {
        eprintln!(
            "\n******** WARNING: {} is older than the sources: rebuild it \
             (`cargo build --release -p tandem`) ********\n",
            bin.display()
        );
    }
}

/// Path of `keepalived` (`$KEEPALIVED_BIN` or the first one on PATH / in /usr/sbin).
/// Panics with install instructions if none exists.
pub fn keepalived_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KEEPALIVED_BIN") {
        return PathBuf::from(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join("keepalived"))
        .find(|p| p.is_file());
    found.expect("keepalived is missing: install it (`apt-get install keepalived`)")
}

fn proc_stat(pid: i32) -> Option<(i32, i32)> {
    // (ppid, pgid) from /proc/PID/stat; the command name may contain spaces.
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let _state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgid = f.next()?.parse().ok()?;
    Some((ppid, pgid))
}

/// `root` and every live process descending from it or in its process group.
pub fn process_tree(root: i32) -> Vec<i32> {
    let all: Vec<(i32, i32, i32)> = fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter_map(|p| proc_stat(p).map(|(pp, pg)| (p, pp, pg)))
                .collect()
        })
        .unwrap_or_default();
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for &(p, pp, pg) in &all {
            if !tree.contains(&p) && (tree.contains(&pp) || pg == root) {
                tree.push(p);
                grew = true;
            }
        }
    }
    tree
}

fn signal_all(pids: &[i32], sig: i32) {
    for &p in pids {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(p, sig);
        }
    }
}

/// A daemon running in a router namespace.
pub struct Daemon {
    kind: Kind,
    router: RouterId,
    child: Child,
    exit: Option<ExitStatus>,
    conf: PathBuf,
    control: PathBuf,
    log: PathBuf,
    label: String,
}

impl Daemon {
    /// Starts `kind` on router `r` of `topo` with configuration text `conf`.
    ///
    /// Files (in `topo.dir()`): `<r>-<kind>.conf`, `<r>-<kind>.log` (appended to
    /// across restarts), tandem's control socket `<r>.sock`, keepalived's pid files
    /// `<r>-keepalived{,-vrrp}.pid` (stale ones are removed first).
    pub fn start(topo: &Topology, r: RouterId, kind: Kind, conf: &str) -> io::Result<Daemon> {
        let dir = topo.dir();
        let base = format!("{}-{}", r.name(), kind.name());
        let conf_path = dir.join(format!("{base}.conf"));
        fs::write(&conf_path, conf)?;
        let log = dir.join(format!("{base}.log"));
        let out = File::options().create(true).append(true).open(&log)?;
        let control = dir.join(format!("{}.sock", r.name()));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &topo.router_ns(r)]);
        match kind {
            Kind::Tandem => {
                let _ = fs::remove_file(&control);
                cmd.arg(tandem_bin())
                    .arg("run")
                    .arg("-c")
                    .arg(&conf_path)
                    .arg("--control")
                    .arg(&control);
            }
            Kind::Keepalived => {
                let pid = dir.join(format!("{base}.pid"));
                let vrrp_pid = dir.join(format!("{base}-vrrp.pid"));
                let _ = fs::remove_file(&pid);
                let _ = fs::remove_file(&vrrp_pid);
                cmd.arg(keepalived_bin())
                    .args([
                        "--dont-fork",
                        "--log-console",
                        "--log-detail",
                        "--no-syslog",
                        "--vrrp",
                    ])
                    .arg("--use-file")
                    .arg(&conf_path)
                    .arg("--pid")
                    .arg(&pid)
                    .arg("--vrrp_pid")
                    .arg(&vrrp_pid);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let child = cmd.spawn()?;
        Ok(Daemon {
            kind,
            router: r,
            child,
            exit: None,
            conf: conf_path,
            control,
            log,
            label: format!("{}/{}", topo.router_ns(r), kind.name()),
        })
    }

    /// Which implementation this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The router it runs on.
    pub fn router(&self) -> RouterId {
        self.router
    }

    /// PID of the daemon (leader of its process group).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Path of its configuration file.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// Path of tandem's control socket (unused by keepalived).
    pub fn control_path(&self) -> &Path {
        &self.control
    }

    /// Path of its log (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the daemon has exited (without reaping it; see [`Daemon::running`]).
    pub fn has_exited(&self) -> bool {
        if self.exit.is_some() {
            return true;
        }
        match fs::read_to_string(format!("/proc/{}/stat", self.pid())) {
            Ok(s) => s
                .rfind(')')
                .and_then(|i| s.get(i + 2..i + 3))
                .is_none_or(|st| st == "Z" || st == "X"),
            Err(_) => true,
        }
    }

    /// Whether the daemon has not exited yet.
    pub fn running(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Sends `sig` to the daemon's whole process tree.
    pub fn signal(&mut self, sig: i32) {
        if self.poll_exit().is_none() {
            signal_all(&process_tree(self.pid()), sig);
        }
    }

    /// Emulates a crash: SIGSTOP every process of the daemon (so that no part of it
    /// can send a priority-0 advert or remove addresses), then SIGKILL them. Returns
    /// the instant just before the first signal (the moment the daemon went silent).
    pub fn crash(&mut self) -> Instant {
        let t = Instant::now();
        if self.poll_exit().is_none() {
            let tree = process_tree(self.pid());
            signal_all(&tree, libc::SIGSTOP);
            signal_all(&tree, libc::SIGKILL);
            self.exit = self.child.wait().ok();
        }
        t
    }

    /// Sends SIGTERM (graceful release: priority 0, addresses removed) and returns the
    /// instant just before it; use [`Daemon::wait_exit`] for the outcome.
    pub fn terminate(&mut self) -> Instant {
        let t = Instant::now();
        if self.poll_exit().is_none() {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(self.pid(), libc::SIGTERM);
            }
        }
        t
    }

    /// Replaces the configuration file's text (takes effect at the next
    /// [`Daemon::reload`] or restart).
    pub fn rewrite_config(&self, text: &str) -> io::Result<()> {
        fs::write(&self.conf, text)
    }

    /// Sends SIGHUP (reload the configuration).
    pub fn reload(&mut self) {
        if self.poll_exit().is_none() {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(self.pid(), libc::SIGHUP);
            }
        }
    }

    /// Freezes the daemon (SIGSTOP to all its processes).
    pub fn pause(&mut self) {
        self.signal(libc::SIGSTOP);
    }

    /// Thaws a paused daemon (SIGCONT).
    pub fn resume(&mut self) {
        self.signal(libc::SIGCONT);
    }

    /// Waits up to `timeout` for the daemon to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.poll_exit() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// `tandem status --control <sock> --json`, parsed (tandem only).
    pub fn status(&self) -> io::Result<Status> {
        assert_eq!(self.kind, Kind::Tandem, "status is a tandem command");
        let out = Command::new(tandem_bin())
            .arg("status")
            .arg("--control")
            .arg(&self.control)
            .arg("--json")
            .stdin(Stdio::null())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "tandem status failed ({}): {}{}",
                out.status,
                text,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Status::parse(&text).map_err(io::Error::other)
    }

    /// Tail (last `lines` lines) of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let v: Vec<&str> = log.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.poll_exit().is_none() {
            let tree = process_tree(self.pid());
            signal_all(&tree, libc::SIGKILL);
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "----- {} log ({}) -----\n{}\n-----",
                self.label,
                self.log.display(),
                self.log_tail(60)
            );
        }
    }
}
