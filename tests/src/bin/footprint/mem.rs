//! Memory of running daemons, shared by the footprint reporter (`footprint`
//! binary) and the footprint test (`tests/footprint.rs`, which includes this file
//! with `#[path]`).
//!
//! * [`Mem`]: `VmRSS`, `VmHWM`, `RssAnon`, `RssFile` of a process (or the sum over
//!   a daemon's processes) from `/proc/<pid>/status`.
//! * [`static_build`]: the statically linked musl router build of `tandem`
//!   (`size-report build x86_64`), whose RSS is what the 1.5 MiB budget is about: the
//!   host's glibc build also maps the shared C library (≈ 1.9 MiB of `RssFile`).
//! * [`Spawned`]: `tandem run` of any binary in a namespace with its own files and
//!   environment (the harness's `Daemon` always runs `tandem_bin()`), killed on drop.
//! * Configuration text: [`with_tables`] adds `lease_capacity` and `lease_file` to a
//!   `tandem_sync` block.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem_tests::ctsync::CtLab;
use tandem_tests::{tandem_bin, Role, RouterId, Status};
use RouterId::{R1, R2};

/// The RAM budget of a running master (issue 3): 1.5 MiB.
pub const BUDGET_KIB: u64 = 1536;

/// Memory figures of a process, KiB (as `/proc/<pid>/status` prints them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mem {
    /// Resident set size now.
    pub rss: u64,
    /// Peak resident set size ("high water mark").
    pub hwm: u64,
    /// Resident anonymous memory (heap, stack, .data/.bss copies): private.
    pub anon: u64,
    /// Resident file-backed memory (the binary's and shared libraries' pages).
    pub file: u64,
    /// Processes summed.
    pub procs: u32,
}

impl Mem {
    /// Reads `/proc/<pid>/status`.
    pub fn of(pid: i32) -> io::Result<Mem> {
        let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib = |key: &str| -> io::Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| io::Error::other(format!("/proc/{pid}/status: no {key}")))
        };
        Ok(Mem {
            rss: kib("VmRSS:")?,
            hwm: kib("VmHWM:")?,
            anon: kib("RssAnon:")?,
            file: kib("RssFile:")?,
            procs: 1,
        })
    }

    /// The sum over `pids` (a daemon made of several processes, like keepalived's
    /// parent and VRRP child).
    pub fn sum(pids: &[i32]) -> io::Result<Mem> {
        let mut m = Mem::default();
        for &p in pids {
            let x = Mem::of(p)?;
            m.rss += x.rss;
            m.hwm += x.hwm;
            m.anon += x.anon;
            m.file += x.file;
            m.procs += 1;
        }
        Ok(m)
    }
}

/// Column header for [`row`].
pub fn header() -> String {
    format!(
        "{:<60} {:>5} {:>9} {:>9} {:>9} {:>9}",
        "daemon (binary, configuration, role)", "procs", "VmRSS", "VmHWM", "RssAnon", "RssFile"
    )
}

/// One table row, figures in KiB.
pub fn row(label: &str, m: &Mem) -> String {
    format!(
        "{:<60} {:>5} {:>6} KiB {:>6} KiB {:>6} KiB {:>6} KiB",
        label, m.procs, m.rss, m.hwm, m.anon, m.file
    )
}

/// Whether the ELF file at `path` is statically linked (no `PT_INTERP` program
/// header). `None` if it is not a readable ELF file.
pub fn is_static(path: &Path) -> Option<bool> {
    let b = fs::read(path).ok()?;
    if b.get(..4)? != b"\x7fELF" {
        return None;
    }
    let is64 = *b.get(4)? == 2;
    let le = *b.get(5)? == 1;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if le { s[n - 1 - i] } else { s[i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    let (phoff, phentsize, phnum) = if is64 {
        (rd(0x20, 8)?, rd(0x36, 2)?, rd(0x38, 2)?)
    } else {
        (rd(0x1c, 4)?, rd(0x2a, 2)?, rd(0x2c, 2)?)
    };
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).ok()?;
        if rd(at, 4)? == 3 {
            return Some(false); // PT_INTERP: dynamically linked
        }
    }
    Some(true)
}

/// The static x86_64 musl router build: `$TANDEM_STATIC_BIN`, else
/// `<target dir>/router/x86_64/tandem` (`$CARGO_TARGET_DIR` or the workspace's
/// `target/`), as `cargo run -p size-report -- build x86_64` writes it. `None` if
/// there is none (or it is not static).
pub fn static_build() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("TANDEM_STATIC_BIN") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace")
                .to_path_buf();
            let mut dirs = Vec::new();
            if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
                dirs.push(PathBuf::from(t));
            }
            dirs.push(ws.join("target"));
            dirs.into_iter()
                .map(|d| d.join("router/x86_64/tandem"))
                .collect()
        }
    };
    candidates.into_iter().find(|p| is_static(p) == Some(true))
}

/// A short name of a binary for tables: "static musl" or "glibc (host build)".
pub fn describe(bin: &Path) -> &'static str {
    match is_static(bin) {
        Some(true) => "static musl",
        Some(false) => "dynamic (host build)",
        None => "?",
    }
}

/// Inserts `lease_capacity N` and `lease_file PATH` after the `conntrack_capacity`
/// line of a `tandem_sync` block (the lease table exists with a `lease_file`).
pub fn with_tables(conf: &str, leases: u32, lease_file: &Path) -> String {
    let mut out = String::new();
    for l in conf.lines() {
        out.push_str(l);
        out.push('\n');
        if l.trim_start().starts_with("conntrack_capacity") {
            let indent = &l[..l.len() - l.trim_start().len()];
            out.push_str(&format!(
                "{indent}lease_capacity {leases}\n{indent}lease_file {}\n",
                lease_file.display()
            ));
        }
    }
    out
}

/// `tandem run` of `bin` in namespace `ns`, with its configuration, control socket
/// and log under `dir` (named after `name`) and extra environment `env`. Killed
/// (SIGKILL) on drop.
pub struct Spawned {
    child: Child,
    bin: PathBuf,
    sock: PathBuf,
    log: PathBuf,
}

impl Spawned {
    /// Writes `conf` and starts the daemon.
    pub fn start(
        ns: &str,
        bin: &Path,
        dir: &Path,
        name: &str,
        conf: &str,
        env: &[(&str, &str)],
    ) -> io::Result<Spawned> {
        let conf_path = dir.join(format!("{name}.conf"));
        fs::write(&conf_path, conf)?;
        let sock = dir.join(format!("{name}.sock"));
        let _ = fs::remove_file(&sock);
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns])
            .arg(bin)
            .arg("run")
            .arg("-c")
            .arg(&conf_path)
            .arg("--control")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Ok(Spawned {
            child: cmd.spawn()?,
            bin: bin.to_path_buf(),
            sock,
            log,
        })
    }

    /// PID of the daemon (`ip netns exec` execs it).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its memory now.
    pub fn mem(&self) -> io::Result<Mem> {
        Mem::of(self.pid())
    }

    /// `tandem status --json` (asked with the host build: the protocol is the same).
    pub fn status(&self) -> io::Result<Status> {
        let out = Command::new(tandem_bin())
            .arg("status")
            .arg("--control")
            .arg(&self.sock)
            .arg("--json")
            .stdin(Stdio::null())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(io::Error::other(format!("tandem status: {text}")));
        }
        Status::parse(&text).map_err(io::Error::other)
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The binary it runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Polls `status` until `cond` holds (every 50 ms, within `bound`).
    pub fn wait_status(
        &self,
        bound: Duration,
        mut cond: impl FnMut(&Status) -> bool,
    ) -> Result<Status, String> {
        let t = std::time::Instant::now();
        let mut last = String::from("no status");
        while t.elapsed() < bound {
            match self.status() {
                Ok(s) if cond(&s) => return Ok(s),
                Ok(s) => last = s.summary(),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "{} ({}): condition not reached within {bound:?}: {last}; log:\n{}",
            self.bin.display(),
            self.pid(),
            self.log()
        ))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A number of the top level of `tandem status --json` (e.g. `allocations`).
pub fn status_num(s: &Status, key: &str) -> Option<u64> {
    s.raw.get(key).and_then(|v| v.as_u64())
}

/// Which tables a measured configuration has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tables {
    /// The seed's VRRP instances only.
    VrrpOnly,
    /// Plus `tandem_sync` with conntrack_capacity 16384, lease_capacity 1024 and a
    /// (empty) lease_file.
    Full,
}

/// Runs `bin` on both routers of a conntrack lab (r1 150 started first: master),
/// with `tables`; returns (master, backup) memory after status requests.
pub fn measure(
    lab: &CtLab,
    bin: &Path,
    tables: Tables,
    name: &str,
    env: &[(&str, &str)],
) -> Result<(Mem, Mem), String> {
    let topo = lab.topo();
    let conf = |r: RouterId| match tables {
        Tables::VrrpOnly => lab.pair().conf(r).render(),
        Tables::Full => {
            let leases = topo.dir().join(format!("{}-{name}.leases", r.name()));
            let _ = fs::write(&leases, "");
            with_tables(&lab.pair().conf_text(r), 1024, &leases)
        }
    };
    let r1 = Spawned::start(
        &topo.router_ns(R1),
        bin,
        topo.dir(),
        &format!("r1-{name}"),
        &conf(R1),
        env,
    )
    .map_err(|e| e.to_string())?;
    r1.wait_status(Duration::from_secs(6), |s| s.all(&Role::Master))?;
    let r2 = Spawned::start(
        &topo.router_ns(R2),
        bin,
        topo.dir(),
        &format!("r2-{name}"),
        &conf(R2),
        env,
    )
    .map_err(|e| e.to_string())?;
    r2.wait_status(Duration::from_secs(6), |s| s.all(&Role::Backup))?;
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..10 {
        r1.status().map_err(|e| e.to_string())?;
        r2.status().map_err(|e| e.to_string())?;
    }
    let m = r1.mem().map_err(|e| e.to_string())?;
    let b = r2.mem().map_err(|e| e.to_string())?;
    // Graceful stop (addresses released) before the next run.
    for d in [&r1, &r2] {
        d.signal(libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(300));
    Ok((m, b))
}

/// The tandem binaries to measure: the host build the harness runs and the static
/// router build, if there is one (a loud note otherwise).
pub fn binaries() -> Vec<PathBuf> {
    let mut v = vec![tandem_bin()];
    match static_build() {
        Some(s) if !v.contains(&s) => v.push(s),
        Some(_) => {}
        None => eprintln!(
            "\n******** NOTE: no static router build: the 1.5 MiB budget is checked on the \
             host build's private memory only. Build it with `cargo run -p size-report -- \
             build x86_64` (or set TANDEM_STATIC_BIN) ********\n"
        ),
    }
    v
}
