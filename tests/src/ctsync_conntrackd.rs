//! Debian's conntrackd (1.4, FTFW) on the conntrack-sync lab's routers, for the
//! benchmark against Tandem.
//!
//! The configuration is the seed's `conntrackd.conf` (OpenWrt wiki, "Configure
//! conntrackd") with the addresses of the sync link filled in and, as LAB-NOTES
//! requires, per-namespace paths for what the seed leaves at global paths: the lock
//! file, the UNIX control socket and the log file (two instances in two namespaces
//! otherwise refuse to start or take each other's socket). The routers' own
//! addresses are added to `Address Ignore` (LAB-NOTES: VRRP and sync traffic create
//! entries of their own); the seed's `Nice` and `Backlog` lines are kept even though
//! conntrackd 1.4.7 ignores them with a warning.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use crate::ctsync::{sync_addr, SYNC_IF, SYNC_PORT};
use crate::daemon::process_tree;
use crate::topology::{RouterId, Topology};

/// Path of `conntrackd` (`$CONNTRACKD_BIN`, else the first on PATH or in /usr/sbin).
pub fn conntrackd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONNTRACKD_BIN") {
        return PathBuf::from(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join("conntrackd"))
        .find(|p| p.is_file());
    found.expect("conntrackd is missing: install it (`apt-get install conntrackd`)")
}

/// The seed's conntrackd.conf for router `r`, files under `dir`.
pub fn render_conf(topo: &Topology, r: RouterId, dir: &Path) -> String {
    let base = dir.join(r.name());
    let _ = topo;
    format!(
        "Sync {{
    Mode FTFW {{
        DisableExternalCache Off
        CommitTimeout 1800
        PurgeTimeout 5
    }}

    UDP {{
        IPv4_address {local}
        IPv4_Destination_Address {peer}
        Port {SYNC_PORT}
        Interface {SYNC_IF}
        SndSocketBuffer 1249280
        RcvSocketBuffer 1249280
        Checksum on
    }}
}}

General {{
    Nice -20
    HashSize 32768
    HashLimit 131072
    LogFile {base}-conntrackd.log
    Syslog off
    LockFile {base}-conntrackd.lock
    UNIX {{
        Path {base}-conntrackd.ctl
        Backlog 20
    }}
    NetlinkBufferSize 2097152
    NetlinkBufferSizeMaxGrowth 8388608
    Filter From Userspace {{
        Protocol Accept {{
            TCP
            UDP
            ICMP # This requires a Linux kernel >= 2.6.31
        }}
        Address Ignore {{
            IPv4_address 127.0.0.1 # loopback
            IPv4_address {local}
            IPv4_address {lan}
            IPv4_address {wan}
        }}
    }}
}}
",
        local = sync_addr(r),
        peer = sync_addr(r.other()),
        lan = r.lan_addr(),
        wan = r.wan_addr(),
        base = base.display(),
    )
}

/// conntrackd's cache sizes (`conntrackd -s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `cache internal: current active connections`.
    pub internal: u64,
    /// `cache external: current active connections`.
    pub external: u64,
}

/// A conntrackd running in the foreground in a router namespace.
pub struct Conntrackd {
    child: Child,
    ns: String,
    conf: PathBuf,
    log: PathBuf,
}

impl Conntrackd {
    /// The process id of conntrackd (`ip netns exec` replaces itself with it).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Starts conntrackd on router `r` (config `<r>-conntrackd.conf` in the
    /// topology's directory; stale lock and socket removed first) and waits until
    /// its control socket answers (5 s).
    pub fn start(topo: &Topology, r: RouterId) -> io::Result<Conntrackd> {
        let dir = topo.dir();
        let conf = dir.join(format!("{}-conntrackd.conf", r.name()));
        fs::write(&conf, render_conf(topo, r, dir))?;
        for ext in ["lock", "ctl"] {
            let _ = fs::remove_file(dir.join(format!("{}-conntrackd.{ext}", r.name())));
        }
        let log = dir.join(format!("{}-conntrackd.log", r.name()));
        let out = File::options()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}-conntrackd.out", r.name())))?;
        let ns = topo.router_ns(r);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(conntrackd_bin())
            .arg("-C")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()?;
        let d = Conntrackd {
            child,
            ns,
            conf,
            log,
        };
        let t = Instant::now();
        loop {
            if d.stats().is_ok() {
                return Ok(d);
            }
            if t.elapsed() > Duration::from_secs(5) {
                return Err(io::Error::other(format!(
                    "conntrackd in {} did not answer within 5 s; log:\n{}",
                    d.ns,
                    fs::read_to_string(&d.log).unwrap_or_default()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ctl(&self, args: &[&str]) -> io::Result<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(conntrackd_bin())
            .arg("-C")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(io::Error::other(format!(
                "conntrackd {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// `conntrackd -s`: the internal and external cache sizes.
    pub fn stats(&self) -> io::Result<Stats> {
        let text = self.ctl(&["-s"])?;
        let mut st = Stats::default();
        let mut section = "";
        for line in text.lines() {
            if line.starts_with("cache internal") {
                section = "internal";
            } else if line.starts_with("cache external") {
                section = "external";
            } else if let Some(rest) = line.strip_prefix("current active connections:") {
                let n = rest.trim().parse().map_err(io::Error::other)?;
                match section {
                    "internal" => st.internal = n,
                    "external" => st.external = n,
                    _ => {}
                }
            }
        }
        if section.is_empty() {
            return Err(io::Error::other(format!(
                "unexpected `conntrackd -s`: {text}"
            )));
        }
        Ok(st)
    }

    /// `conntrackd -c`: commit the external cache into the kernel; returns when the
    /// command returns.
    pub fn commit(&self) -> io::Result<()> {
        self.ctl(&["-c"]).map(|_| ())
    }

    /// `conntrackd -n`: ask the peer for a full resync.
    pub fn request_resync(&self) -> io::Result<()> {
        self.ctl(&["-n"]).map(|_| ())
    }

    /// `conntrackd -f external`: flush the external cache.
    pub fn flush_external(&self) -> io::Result<()> {
        self.ctl(&["-f", "external"]).map(|_| ())
    }

    /// The log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Conntrackd {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        for p in process_tree(pid) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}
