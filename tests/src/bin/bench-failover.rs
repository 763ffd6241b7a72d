//! Failover benchmark: Tandem and Debian's keepalived on the same seed topology, in
//! one run, over N repetitions each.
//!
//! ```text
//! bench-failover [--reps N] [--versions v2,v3] [--impls tandem,keepalived]
//!                [--stops crash,term] [--logs DIR]
//! ```
//!
//! Topology: the harness's seed topology (`tandem_tests::Topology`) in namespaces
//! `bn-*`: two routers with instances I1 (`br-lan`, VIP 10.9.8.4/24) and E1
//! (`eth0.2`, VIP 192.168.0.4/24 + the virtual default route) in sync group G1,
//! VRID 51, `state backup`, `nopreempt`; VRRPv2 with advert_int 1 s and auth PASS
//! (the seed), or VRRPv3 with advert_int 0.1 s (no auth). r1 has priority 150, r2
//! 100; r1 is started alone and becomes master, then r2 is started and settles as
//! backup (deterministic master; `nopreempt` plays no role).
//!
//! Figures per repetition (both daemons restarted, leftover VIPs/routes removed
//! before each; the stop is sent 0.5 × advert_int after one of r1's adverts on
//! br-lan as seen by the capture, so that the crash figure does not vary by up to one
//! interval with the phase of the advert cycle):
//! * `failover` — from the signal to r1's daemon (SIGSTOP+SIGKILL of all its
//!   processes = crash, or SIGTERM = graceful) until r2 holds both VIPs, timed on the
//!   kernel's address notifications in r2's namespace (`ip -o monitor address`,
//!   stamped on arrival: sub-millisecond resolution).
//! * `lateness` (crash) — from VRRP adverts captured with tcpdump (kernel time
//!   stamps, nanosecond precision) on both bridges of the switch namespace:
//!   max over instances of (r2's first advert) − min over instances of (r1's last
//!   advert + Master_Down_Interval of r2). That is how late the group took over
//!   after the earliest Master_Down_Timer expiry.
//! * `lateness` (term) — the same with r1's priority-0 advert + Skew_Time of r2.
//!
//! Failed repetitions are reported (with the reason) and excluded from the
//! statistics, never silently dropped.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tandem_tests::{
    keepalived_bin, netns, tandem_bin, AddrWatch, Kind, Pair, RouterId, Stop, Vips, VrrpConf,
};

const PREFIX: &str = "bn";
const PRIO_MASTER: u8 = 150;
const PRIO_BACKUP: u8 = 100;
/// The stop is sent this fraction of advert_int after an advert of r1 on br-lan.
const PHASE: f64 = 0.5;

// ---------------------------------------------------------------- capture

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bridge {
    Lan,
    Wan,
}

impl Bridge {
    fn name(self) -> &'static str {
        match self {
            Bridge::Lan => "br-lan",
            Bridge::Wan => "br-wan",
        }
    }

    fn addr(self, r: RouterId) -> Ipv4Addr {
        match self {
            Bridge::Lan => r.lan_addr(),
            Bridge::Wan => r.wan_addr(),
        }
    }
}

/// One VRRP advert seen on a bridge.
#[derive(Clone, Debug)]
struct Advert {
    /// Kernel time stamp, nanoseconds since the epoch (CLOCK_REALTIME).
    ts: i128,
    bridge: Bridge,
    src: Ipv4Addr,
    prio: u8,
}

/// tcpdump on both bridges of the switch namespace.
struct Capture {
    children: Vec<Child>,
    adverts: Arc<Mutex<Vec<Advert>>>,
    precision: &'static str,
}

fn parse_ts(s: &str) -> Option<i128> {
    let (sec, frac) = s.split_once('.')?;
    let mut f = frac.to_string();
    if f.len() > 9 || f.is_empty() {
        return None;
    }
    while f.len() < 9 {
        f.push('0');
    }
    Some(sec.parse::<i128>().ok()? * 1_000_000_000 + f.parse::<i128>().ok()?)
}

/// `1795673545.778708000 IP 10.99.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 52, prio 200, …`
fn parse_line(line: &str, bridge: Bridge) -> Option<Advert> {
    let mut it = line.split_whitespace();
    let ts = parse_ts(it.next()?)?;
    if it.next()? != "IP" {
        return None;
    }
    let src = it.next()?.parse().ok()?;
    let rest = line.split_once("prio ")?.1;
    let prio = rest
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some(Advert {
        ts,
        bridge,
        src,
        prio,
    })
}

impl Capture {
    fn start(sw: &str) -> io::Result<Capture> {
        let adverts = Arc::new(Mutex::new(Vec::new()));
        let mut children = Vec::new();
        let mut precision = "nano";
        for bridge in [Bridge::Lan, Bridge::Wan] {
            let (child, p) = match Self::spawn(sw, bridge, true, &adverts) {
                Ok(c) => (c, "nano"),
                Err(e) => {
                    eprintln!("tcpdump with nanosecond time stamps failed ({e}); using micro");
                    (Self::spawn(sw, bridge, false, &adverts)?, "micro")
                }
            };
            if p == "micro" {
                precision = "micro";
            }
            children.push(child);
        }
        Ok(Capture {
            children,
            adverts,
            precision,
        })
    }

    fn spawn(
        sw: &str,
        bridge: Bridge,
        nano: bool,
        adverts: &Arc<Mutex<Vec<Advert>>>,
    ) -> io::Result<Child> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", sw, "tcpdump", "-i", bridge.name()])
            .args(["-n", "-l", "-tt", "--immediate-mode"]);
        if nano {
            cmd.arg("--time-stamp-precision=nano");
        }
        cmd.args(["ip", "proto", "112"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut tx = Some(tx);
            let mut text = String::new();
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(()));
                    }
                } else {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(Err(text));
            }
        });
        let a2 = adverts.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = parse_line(&line, bridge) {
                    a2.lock().unwrap().push(a);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(child),
            Ok(Err(text)) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!("tcpdump failed: {}", text.trim())))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(
                    "tcpdump did not start listening within 5 s",
                ))
            }
        }
    }

    /// Adverts with a time stamp at or after `since` (ns since the epoch).
    fn since(&self, since: i128) -> Vec<Advert> {
        let mut v: Vec<Advert> = self
            .adverts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.ts >= since)
            .cloned()
            .collect();
        v.sort_by_key(|a| a.ts);
        v
    }

    /// The earliest advert at or after `since` from `src` on `bridge` (scans the
    /// recent end only: adverts are stored in arrival order).
    fn first_from(&self, since: i128, bridge: Bridge, src: Ipv4Addr) -> Option<Advert> {
        let v = self.adverts.lock().unwrap();
        v.iter()
            .rev()
            .take_while(|a| a.ts >= since - 5_000_000_000)
            .filter(|a| a.ts >= since && a.bridge == bridge && a.src == src)
            .min_by_key(|a| a.ts)
            .cloned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wall_ns(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- scenarios

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ver {
    V2,
    V3,
}

impl Ver {
    fn name(self) -> &'static str {
        match self {
            Ver::V2 => "v2",
            Ver::V3 => "v3",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Ver::V2 => "VRRPv2 advert 1 s",
            Ver::V3 => "VRRPv3 advert 0.1 s",
        }
    }

    fn conf(self) -> VrrpConf {
        match self {
            Ver::V2 => VrrpConf::seed(),
            Ver::V3 => VrrpConf::v3_fast(),
        }
    }
}

fn stop_name(s: Stop) -> &'static str {
    match s {
        Stop::Crash => "crash",
        Stop::Term => "term",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Impl {
    Tandem,
    Keepalived,
}

impl Impl {
    fn kind(self) -> Kind {
        match self {
            Impl::Tandem => Kind::Tandem,
            Impl::Keepalived => Kind::Keepalived,
        }
    }

    fn name(self) -> &'static str {
        self.kind().name()
    }
}

/// The outcome of one successful repetition.
#[derive(Clone, Debug)]
struct Sample {
    /// Signal → r2 holds both VIPs.
    failover: Duration,
    /// Group takeover lateness on the wire (ms, may be negative), if the capture had it.
    lateness_ms: Option<f64>,
    /// Signal → r2's first advert on the wire (ms).
    wire_ms: Option<f64>,
    /// Per-instance lateness detail for the progress line.
    detail: String,
    /// Wall-clock time of the stop signal (ns since the epoch), to find the
    /// repetition in the saved capture.
    kill_wall: i128,
    /// CLOCK_MONOTONIC of the stop signal in ms (tandem's log time base).
    kill_mono_ms: f64,
}

/// Key of a series: (version, stop, implementation).
type Key = (Ver, u8, Impl);

fn key(v: Ver, s: Stop, i: Impl) -> Key {
    (v, if s == Stop::Crash { 0 } else { 1 }, i)
}

#[derive(Default)]
struct Series {
    samples: Vec<Sample>,
    failures: Vec<String>,
}

struct Opts {
    reps: usize,
    versions: Vec<Ver>,
    impls: Vec<Impl>,
    stops: Vec<Stop>,
    logs: PathBuf,
}

const USAGE: &str = "usage: bench-failover [--reps N] [--versions v2,v3] \
[--impls tandem,keepalived] [--stops crash,term] [--logs DIR]\n\
Runs as root. Namespaces bn-*; logs of the last run kept in DIR \
(default /tmp/tandem-bench-logs).";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        reps: 10,
        versions: vec![Ver::V3, Ver::V2],
        impls: vec![Impl::Tandem, Impl::Keepalived],
        stops: vec![Stop::Crash, Stop::Term],
        logs: PathBuf::from("/tmp/tandem-bench-logs"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--reps" => {
                o.reps = val()?
                    .parse()
                    .map_err(|e| format!("--reps: {e}"))
                    .and_then(|n: usize| {
                        if n == 0 {
                            Err("--reps must be ≥ 1".to_string())
                        } else {
                            Ok(n)
                        }
                    })?
            }
            "--versions" => {
                o.versions = val()?
                    .split(',')
                    .map(|s| match s {
                        "v2" => Ok(Ver::V2),
                        "v3" => Ok(Ver::V3),
                        _ => Err(format!("unknown version {s:?} (v2, v3)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--impls" => {
                o.impls = val()?
                    .split(',')
                    .map(|s| match s {
                        "tandem" => Ok(Impl::Tandem),
                        "keepalived" => Ok(Impl::Keepalived),
                        _ => Err(format!("unknown implementation {s:?} (tandem, keepalived)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--stops" => {
                o.stops = val()?
                    .split(',')
                    .map(|s| match s {
                        "crash" => Ok(Stop::Crash),
                        "term" => Ok(Stop::Term),
                        _ => Err(format!("unknown stop {s:?} (crash, term)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--logs" => o.logs = PathBuf::from(val()?),
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
}

/// Stops both daemons (crash) and removes what a killed daemon left behind.
fn reset(pair: &mut Pair) {
    for r in RouterId::BOTH {
        if pair.daemon_ref(r).is_some() {
            pair.daemon(r).crash();
        }
        let ns = pair.topo().router_ns(r);
        let v = pair.vips(r).unwrap_or(Vips {
            lan: true,
            wan: true,
        });
        if v.lan {
            let _ = netns::output(
                "ip",
                ["-n", &ns, "addr", "del", "10.9.8.4/24", "dev", "br-lan"],
            );
        }
        if v.wan {
            let _ = netns::output(
                "ip",
                ["-n", &ns, "addr", "del", "192.168.0.4/24", "dev", "eth0.2"],
            );
        }
        if pair.topo().has_virtual_route(r).unwrap_or(true) {
            let _ = netns::output(
                "ip",
                [
                    "-n",
                    &ns,
                    "route",
                    "del",
                    "default",
                    "via",
                    "192.168.0.1",
                    "dev",
                    "eth0.2",
                    "metric",
                    "5",
                ],
            );
        }
    }
}

fn ms_i(ns: i128) -> f64 {
    ns as f64 / 1e6
}

/// Computes the wire figures of one repetition from the capture.
fn analyse(
    adverts: &[Advert],
    kill: i128,
    stop: Stop,
    conf_r2: &VrrpConf,
) -> Result<(f64, f64, String), String> {
    let base = match stop {
        Stop::Crash => conf_r2.master_down_interval(),
        Stop::Term => conf_r2.skew(),
    }
    .as_nanos() as i128;
    let mut expiry = i128::MAX;
    let mut first_new = i128::MIN;
    let mut detail = String::new();
    let mut olds = [0i128; 2];
    let mut news = [0i128; 2];
    for (k, b) in [Bridge::Lan, Bridge::Wan].into_iter().enumerate() {
        let r1 = b.addr(RouterId::R1);
        let r2 = b.addr(RouterId::R2);
        let new = adverts
            .iter()
            .find(|a| a.bridge == b && a.src == r2 && a.ts >= kill && a.prio > 0)
            .ok_or_else(|| format!("no advert of r2 on {} after the stop", b.name()))?
            .ts;
        let old = match stop {
            Stop::Crash => {
                adverts
                    .iter()
                    .rfind(|a| a.bridge == b && a.src == r1 && a.prio > 0 && a.ts < new)
                    .ok_or_else(|| format!("no advert of r1 on {} before the takeover", b.name()))?
                    .ts
            }
            Stop::Term => {
                adverts
                    .iter()
                    .find(|a| a.bridge == b && a.src == r1 && a.prio == 0 && a.ts >= kill)
                    .ok_or_else(|| format!("no priority-0 advert of r1 on {}", b.name()))?
                    .ts
            }
        };
        if stop == Stop::Crash && old > kill {
            // Sent between the time stamp of the stop and the SIGSTOP (the daemon's
            // process tree is read from /proc first): r2's timer started there.
            let _ = write!(
                detail,
                "(r1's last advert on {} {:.1} ms after the stop time stamp) ",
                b.name(),
                ms_i(old - kill)
            );
        }
        let late = new - old - base;
        let _ = write!(detail, "{} {:+.1} ", &b.name()[3..], ms_i(late));
        olds[k] = old;
        news[k] = new;
        expiry = expiry.min(old + base);
        first_new = first_new.max(new);
    }
    // How far apart the two instances' adverts were (wan − lan): r1's last (crash) or
    // priority-0 (term) adverts, and r2's first ones.
    let _ = write!(
        detail,
        "| r1 {:+.1} r2 {:+.1}",
        ms_i(olds[1] - olds[0]),
        ms_i(news[1] - news[0])
    );
    Ok((ms_i(first_new - expiry), ms_i(first_new - kill), detail))
}

/// One repetition.
fn rep(pair: &mut Pair, cap: &Capture, imp: Impl, ver: Ver, stop: Stop) -> Result<Sample, String> {
    reset(pair);
    for r in RouterId::BOTH {
        pair.set_kind(r, imp.kind());
    }
    let prio = |r: RouterId| {
        if r == RouterId::R1 {
            PRIO_MASTER
        } else {
            PRIO_BACKUP
        }
    };
    for r in RouterId::BOTH {
        pair.set_conf(r, ver.conf().priority(prio(r)));
    }
    let adv = pair.conf(RouterId::R1).advert_int;
    let rep_start = wall_ns(SystemTime::now());
    pair.elect(RouterId::R1)?;
    pair.check_master(RouterId::R1)?;
    // Settle: r2 has heard r1 for at least 2.5 intervals (elect waits 1.5).
    thread::sleep(adv);
    // r2 was started after r1 held the VIPs: as a backup it must not have advertised.
    let r2 = [RouterId::R2.lan_addr(), RouterId::R2.wan_addr()];
    if let Some(a) = cap.since(rep_start).iter().find(|a| r2.contains(&a.src)) {
        return Err(format!(
            "r2 advertised (priority {} on {}) while r1 was master: not a settled backup",
            a.prio,
            a.bridge.name()
        ));
    }
    let watch = AddrWatch::start(&pair.topo().router_ns(RouterId::R2))
        .map_err(|e| format!("ip monitor: {e}"))?;
    let bound = match stop {
        Stop::Crash => pair.crash_bound(RouterId::R2) + Duration::from_secs(1),
        Stop::Term => pair.conf(RouterId::R2).master_down_interval() + Duration::from_secs(1),
    };
    // Phase-lock the stop to r1's advert cycle: PHASE × advert_int after one of its
    // adverts on br-lan, so that every repetition (and both implementations) stop the
    // master at the same point of the cycle.
    // If the capture reported the advert too late to hit that point (a loaded
    // machine), the next advert is used.
    let phase = (adv.as_nanos() as f64 * PHASE) as i128;
    let mut from = wall_ns(SystemTime::now());
    let deadline = Instant::now() + adv * 5;
    loop {
        if let Some(a) = cap.first_from(from, Bridge::Lan, RouterId::R1.lan_addr()) {
            let target = a.ts + phase;
            let now = wall_ns(SystemTime::now());
            // Accept a target missed by at most 2 % of the interval.
            if target + phase / 25 >= now {
                if target > now {
                    thread::sleep(Duration::from_nanos((target - now) as u64));
                }
                break;
            }
            from = a.ts + 1;
        }
        if Instant::now() >= deadline {
            return Err(
                "could not phase-lock the stop to r1's adverts on br-lan within 5 intervals".into(),
            );
        }
        thread::sleep(Duration::from_millis(1));
    }
    let d = pair.daemon(RouterId::R1);
    let wall = wall_ns(SystemTime::now());
    let mono = common::monotonic_ms();
    let t = match stop {
        Stop::Crash => d.crash(),
        Stop::Term => d.terminate(),
    };
    let took = watch
        .wait_for(t, bound, |s| Vips::from_addrs(s).both())
        .map_err(|e| format!("r2 did not hold both VIPs: {e}"))?;
    let mut note = String::new();
    if stop == Stop::Term {
        match pair.daemon(RouterId::R1).wait_exit(Duration::from_secs(5)) {
            Some(s) if s.success() => {}
            Some(s) => note = format!(" (r1 exited with {s})"),
            None => note = " (r1 still running 5 s after SIGTERM)".into(),
        }
    }
    // Let the new master's first adverts reach the capture.
    let deadline = Instant::now() + Duration::from_secs(2);
    let wire = loop {
        thread::sleep(Duration::from_millis(50));
        let adverts = cap.since(wall - 10_000_000_000);
        match analyse(&adverts, wall, stop, pair.conf(RouterId::R2)) {
            Ok(x) => break Ok(x),
            Err(e) if Instant::now() >= deadline => break Err(e),
            Err(_) => {}
        }
    };
    let (lateness_ms, wire_ms, detail) = match wire {
        Ok((l, w, d)) => (Some(l), Some(w), d),
        Err(e) => (None, None, format!("capture: {e}")),
    };
    Ok(Sample {
        failover: took,
        lateness_ms,
        wire_ms,
        detail: detail + &note,
        kill_wall: wall,
        kill_mono_ms: mono,
    })
}

// ---------------------------------------------------------------- statistics

struct Stats {
    n: usize,
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut v: Vec<f64>) -> Option<Stats> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stats {
        n,
        median,
        min: v[0],
        max: v[n - 1],
    })
}

fn main() -> ExitCode {
    common::install_cleanup(PREFIX);
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench-failover: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !common::is_root() {
        eprintln!("bench-failover: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    common::locate_tandem();
    if opts.impls.contains(&Impl::Tandem) {
        let p = std::panic::catch_unwind(tandem_bin);
        match p {
            Ok(p) => println!("tandem:     {}", p.display()),
            Err(_) => return ExitCode::from(2),
        }
    }
    if opts.impls.contains(&Impl::Keepalived) {
        let v = netns::output(
            keepalived_bin().to_str().unwrap_or("keepalived"),
            ["--version"],
        )
        .map(|o| {
            let t = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            t.lines().next().unwrap_or("").to_string()
        })
        .unwrap_or_default();
        println!("keepalived: {} ({v})", keepalived_bin().display());
    }
    let start_load = common::loadavg();
    let started = Instant::now();
    println!(
        "load average at start: {start_load}; {} CPU(s)",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "config: seed topology (namespaces {PREFIX}-*), sync group G1 {{I1 br-lan, E1 eth0.2}}, \
         VRID 51, nopreempt, r1 priority {PRIO_MASTER} (master), r2 priority {PRIO_BACKUP}; \
         v2: advert_int 1 + auth PASS; v3: advert_int 0.1"
    );
    for v in &opts.versions {
        let c = v.conf().priority(PRIO_BACKUP);
        println!(
            "  {}: r2 Master_Down_Interval {} ms, Skew_Time {} ms",
            v.label(),
            common::ms(c.master_down_interval()),
            common::ms(c.skew())
        );
    }

    let mut pair = match Pair::new(
        PREFIX,
        [Kind::Keepalived; 2],
        [VrrpConf::seed(), VrrpConf::seed()],
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench-failover: cannot build the topology: {e}");
            common::cleanup(PREFIX);
            return ExitCode::FAILURE;
        }
    };
    let cap = match Capture::start(&pair.topo().sw()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench-failover: cannot capture: {e}");
            drop(pair);
            common::cleanup(PREFIX);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "capture: tcpdump on br-lan and br-wan in {PREFIX}-sw, {}second time stamps",
        cap.precision
    );

    let mut results: BTreeMap<Key, Series> = BTreeMap::new();
    let mut markers =
        String::from("# rep\tversion\tstop\timpl\tstop_wall_ns\tstop_monotonic_ms\tresult\n");
    let total = opts.versions.len() * opts.stops.len() * opts.impls.len() * opts.reps;
    let mut done = 0;
    for &ver in &opts.versions {
        for &stop in &opts.stops {
            // Implementations alternate rep by rep so that load changes hit both alike.
            for i in 0..opts.reps {
                for &imp in &opts.impls {
                    done += 1;
                    let t0 = Instant::now();
                    let r = rep(&mut pair, &cap, imp, ver, stop);
                    let series = results.entry(key(ver, stop, imp)).or_default();
                    let head = format!(
                        "[{done:>3}/{total}] {} {:<5} {:<10} rep {:>2}/{}",
                        ver.name(),
                        stop_name(stop),
                        imp.name(),
                        i + 1,
                        opts.reps
                    );
                    match r {
                        Ok(s) => {
                            println!(
                                "{head}: failover {:>7} ms  lateness {:>7} ms  wire {:>7} ms  [{}] load {} ({:.1} s)",
                                common::ms(s.failover),
                                s.lateness_ms.map_or("-".into(), |l| format!("{l:.1}")),
                                s.wire_ms.map_or("-".into(), |l| format!("{l:.1}")),
                                s.detail.trim(),
                                common::loadavg(),
                                t0.elapsed().as_secs_f64()
                            );
                            let _ = writeln!(
                                markers,
                                "{done}\t{}\t{}\t{}\t{}\t{:.3}\tfailover_ms={:.3} lateness_ms={:?} [{}]",
                                ver.name(),
                                stop_name(stop),
                                imp.name(),
                                s.kill_wall,
                                s.kill_mono_ms,
                                s.failover.as_secs_f64() * 1e3,
                                s.lateness_ms,
                                s.detail.trim()
                            );
                            series.samples.push(s);
                        }
                        Err(e) => {
                            let mut msg = e.lines().next().unwrap_or("").to_string();
                            for r in RouterId::BOTH {
                                if let Some(d) = pair.daemon_ref(r) {
                                    let _ = write!(
                                        msg,
                                        "\n      {} log tail:\n        {}",
                                        r.name(),
                                        d.log_tail(8).replace('\n', "\n        ")
                                    );
                                }
                            }
                            println!("{head}: FAILED: {msg}");
                            let _ = writeln!(
                                markers,
                                "{done}\t{}\t{}\t{}\t{}\t-\tFAILED {}",
                                ver.name(),
                                stop_name(stop),
                                imp.name(),
                                wall_ns(SystemTime::now()),
                                e.lines().next().unwrap_or("")
                            );
                            series.failures.push(e.lines().next().unwrap_or("").into());
                        }
                    }
                }
            }
        }
    }
    reset(&mut pair);
    // Keep the logs and configs of this run, the capture and the repetitions' times.
    let _ = std::fs::remove_dir_all(&opts.logs);
    let _ = std::fs::create_dir_all(&opts.logs);
    let mut tsv = String::from("# ts_ns\tbridge\tsrc\tprio\n");
    for a in cap.since(0) {
        let _ = writeln!(tsv, "{}\t{}\t{}\t{}", a.ts, a.bridge.name(), a.src, a.prio);
    }
    drop(cap);
    let _ = std::fs::write(opts.logs.join("adverts.tsv"), tsv);
    let _ = std::fs::write(opts.logs.join("reps.tsv"), markers);
    if let Ok(d) = std::fs::read_dir(pair.topo().dir()) {
        for e in d.flatten() {
            let _ = std::fs::copy(e.path(), opts.logs.join(e.file_name()));
        }
    }
    let workdir = pair.topo().dir().to_path_buf();
    drop(pair);
    let _ = std::fs::remove_dir_all(workdir);
    common::cleanup(PREFIX);

    report(&opts, &results, &start_load, started.elapsed());
    println!(
        "\nlogs, configs, capture (adverts.tsv) and stop times (reps.tsv) kept in {}",
        opts.logs.display()
    );
    let failed: usize = results.values().map(|s| s.failures.len()).sum();
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn report(opts: &Opts, results: &BTreeMap<Key, Series>, start_load: &str, took: Duration) {
    println!(
        "\n==== results: {} reps each; load average start {start_load}, end {}; {:.0} s ====",
        opts.reps,
        common::loadavg(),
        took.as_secs_f64()
    );
    let cell = |st: &Option<Stats>, tried: usize| match st {
        Some(st) => format!(
            "{:>8.1} ({:>7.1} .. {:>7.1}) {:>5}",
            st.median,
            st.min,
            st.max,
            format!("{}/{tried}", st.n)
        ),
        None => format!("{:>8} {:>20} {:>5}", "-", "", format!("0/{tried}")),
    };
    print!("{:<22}", "figure (ms)");
    for imp in &opts.impls {
        print!(
            " | {:<36}",
            format!("{} median (min .. max) ok", imp.name())
        );
    }
    println!(" | T/K");
    let mut machine = Vec::new();
    for &ver in &opts.versions {
        for &stop in &opts.stops {
            type Pick = fn(&Sample) -> Option<f64>;
            let figures: [(&str, Pick); 3] = [
                ("failover", |s| Some(s.failover.as_secs_f64() * 1e3)),
                ("lateness", |s| s.lateness_ms),
                ("wire", |s| s.wire_ms),
            ];
            for (fname, pick) in figures {
                let label = format!("{} {} {}", ver.name(), stop_name(stop), fname);
                print!("{label:<22}");
                let mut medians = BTreeMap::new();
                for &imp in &opts.impls {
                    let series = results.get(&key(ver, stop, imp));
                    let vals: Vec<f64> = series
                        .map(|s| s.samples.iter().filter_map(pick).collect())
                        .unwrap_or_default();
                    let tried = series.map_or(0, |s| s.samples.len() + s.failures.len());
                    let st = stats(vals);
                    print!(" | {}", cell(&st, tried));
                    match &st {
                        Some(st) => {
                            medians.insert(imp, st.median);
                            machine.push(format!(
                                "BENCH figure={fname} version={} stop={} impl={} n={} failed={} median_ms={:.3} min_ms={:.3} max_ms={:.3}",
                                ver.name(),
                                stop_name(stop),
                                imp.name(),
                                st.n,
                                tried - st.n,
                                st.median,
                                st.min,
                                st.max
                            ));
                        }
                        None => machine.push(format!(
                            "BENCH figure={fname} version={} stop={} impl={} n=0 failed={tried}",
                            ver.name(),
                            stop_name(stop),
                            imp.name()
                        )),
                    }
                }
                match (medians.get(&Impl::Tandem), medians.get(&Impl::Keepalived)) {
                    (Some(t), Some(k)) if fname != "lateness" => {
                        println!(" | {:.3}", t / k);
                        machine.push(format!(
                            "BENCH_RATIO figure={fname} version={} stop={} tandem_over_keepalived={:.4}",
                            ver.name(),
                            stop_name(stop),
                            t / k
                        ));
                    }
                    _ => println!(" |"),
                }
            }
        }
    }
    let failures: Vec<_> = results
        .iter()
        .flat_map(|((v, s, i), series)| {
            series.failures.iter().map(move |f| {
                format!(
                    "{} {} {}: {f}",
                    v.name(),
                    if *s == 0 { "crash" } else { "term" },
                    i.name()
                )
            })
        })
        .collect();
    println!(
        "\nfailover: stop signal → r2 holds both VIPs (`ip monitor address` in r2's namespace).\n\
         lateness: r2's takeover on the wire (its first advert on both bridges) − the earliest \
         expiry of its Master_Down_Interval after r1's last advert (crash) or of its Skew_Time \
         after r1's priority-0 advert (term); tcpdump time stamps on the bridges.\n\
         wire: stop signal → r2's first advert on the wire (both bridges).\n\
         Stops are sent {PHASE} × advert_int after an advert of r1. T/K: ratio of the medians."
    );
    if failures.is_empty() {
        println!("failed repetitions: none");
    } else {
        println!("failed repetitions: {}", failures.len());
        for f in failures {
            println!("  {f}");
        }
    }
    println!();
    for m in machine {
        println!("{m}");
    }
}
