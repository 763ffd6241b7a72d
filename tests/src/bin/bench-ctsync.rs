//! Conntrack-sync benchmark: Tandem and Debian's conntrackd 1.4 (FTFW, the seed's
//! conntrackd.conf) on the same topology, in one run, over N repetitions each.
//!
//! ```text
//! bench-ctsync [--reps N] [--entries N] [--impls tandem,conntrackd] [--logs DIR]
//! bench-ctsync insert NAMESPACE N      # helper: N NAT'd TCP entries into a namespace
//! ```
//!
//! Topology: `tandem_tests::ctsync::CtLab` in namespaces `tcb-*` — the seed topology
//! plus a veth `sync0` between the routers (10.255.0.1/30 ↔ .2), source NAT LAN →
//! WAN to the WAN VIP, `nf_conntrack_tcp_loose=0`. Tandem: both routers run
//! `tandem run` with the seed's instances as VRRPv3 0.1 s (r1 priority 150 elected
//! first) and a `tandem_sync` block. conntrackd: both routers run `conntrackd -C`
//! with the seed's file (per-namespace lock, socket and log paths; see
//! `ctsync_conntrackd`), no VRRP daemon (the figures do not involve one).
//!
//! Each repetition builds the lab afresh and measures:
//! * `insert` — creating N established NAT'd TCP/IPv4 entries (client
//!   10.9.8.100+ → 192.168.0.20:443, SNAT to 192.168.0.4) in r1's kernel over
//!   ctnetlink (batched requests; the generator, not the daemons);
//! * `backup holds N` — from the start of the insert until r2's cache holds all N
//!   (Tandem: `tandem status --json`, conntrackd: `conntrackd -s`, external cache;
//!   polled every 5 ms, each poll a process);
//! * `B/entry` — UDP payload octets r1 → r2 on the sync link during that stream
//!   (+1 s to settle), divided by N, counted by nftables on r1's `sync0` (input and
//!   output hooks, UDP port 3780); also the IP octets and the datagram counts,
//!   and the octets r2 → r1 (acks);
//! * `resync` — r2's daemon killed and started again while r1 holds the N entries:
//!   from the start until r2's cache holds all N (conntrackd: `conntrackd -n` as
//!   soon as its socket answers; Tandem asks on its own);
//! * `commit` — the N cached entries into r2's kernel. Tandem: r1's daemon crashes
//!   (SIGSTOP + SIGKILL), r2 takes over and commits before adding the VIPs;
//!   conntrackd: `conntrackd -c` on r2. Observed with a tight poll (≈0.2 ms) of
//!   r2's `nf_conntrack_count`: from 1 % to 100 % of the N entries (a router's
//!   count moves by a few unrelated entries, so the first change is not a start
//!   signal); as each daemon reports it (Tandem: `last_commit.took_us` in `tandem
//!   status`; conntrackd: "commit has taken … seconds" in its log); from the
//!   trigger until all N are in the kernel (Tandem: the crash, so this includes
//!   the Master_Down_Interval, 361 ms here; conntrackd: the `-c` command); and the
//!   wall time of `conntrackd -c`;
//! * `backup holding N` — r2's VmRSS and RssAnon (`/proc/<pid>/status`) once it holds
//!   the N entries (for the static router build, run with
//!   `TANDEM_BIN=target/router/x86_64/tandem`; a glibc build's VmRSS includes the
//!   shared C library).
//!
//! Failed repetitions are reported with the reason and left out of the statistics.

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tandem_tests::ctnl::{self, CtSocket};
use tandem_tests::ctsync::{CtLab, SERVER, SYNC_IF, SYNC_PORT};
use tandem_tests::ctsync_conntrackd::Conntrackd;
use tandem_tests::traffic::{nft_apply, nft_counter};
use tandem_tests::{RouterId, VrrpConf, WAN_VIP};

const PREFIX: &str = "tcb";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Tandem,
    Conntrackd,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Tandem => "tandem",
            Impl::Conntrackd => "conntrackd",
        }
    }
}

struct Args {
    reps: usize,
    entries: usize,
    impls: Vec<Impl>,
    logs: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        reps: 5,
        entries: 10_000,
        impls: vec![Impl::Tandem, Impl::Conntrackd],
        logs: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--reps" => a.reps = v()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--entries" => a.entries = v()?.parse().map_err(|e| format!("--entries: {e}"))?,
            "--impls" => {
                a.impls = v()?
                    .split(',')
                    .map(|s| match s {
                        "tandem" => Ok(Impl::Tandem),
                        "conntrackd" => Ok(Impl::Conntrackd),
                        o => Err(format!("unknown implementation {o}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--logs" => a.logs = Some(v()?.into()),
            "-h" | "--help" => {
                return Err(
                    "usage: bench-ctsync [--reps N] [--entries N] [--impls tandem,conntrackd] [--logs DIR]"
                        .into(),
                )
            }
            o => return Err(format!("unknown argument {o}")),
        }
    }
    if a.reps == 0 || a.entries == 0 || a.entries > 150_000 {
        return Err("--reps ≥ 1, 1 ≤ --entries ≤ 150000".into());
    }
    Ok(a)
}

/// One repetition's figures.
#[derive(Clone, Debug, Default)]
struct Sample {
    insert: Duration,
    backup_holds: Duration,
    payload_per_entry: f64,
    ip_per_entry: f64,
    datagrams: u64,
    back_payload_per_entry: f64,
    back_datagrams: u64,
    resync: Option<Duration>,
    commit_span: Duration,
    commit_from_trigger: Duration,
    commit_reported: Option<Duration>,
    commit_reported_conntrackd: Option<Duration>,
    commit_command: Option<Duration>,
    /// r2's (VmRSS, RssAnon) in KiB once it holds the N entries.
    backup_mem: Option<(f64, f64)>,
}

/// (VmRSS, RssAnon) of `pid` in KiB, from `/proc/<pid>/status`.
fn mem_kib(pid: i32) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((kib("VmRSS:")?, kib("RssAnon:")?))
}

// ---------------------------------------------------------------- sync-link bytes

fn install_byte_counters(ns: &str) -> io::Result<()> {
    nft_apply(
        ns,
        &format!(
            "table inet tcbytes {{\n  counter tx {{ }}\n  counter rx {{ }}\n  chain out {{ type filter hook output priority 0; policy accept;\n    oifname \"{SYNC_IF}\" udp dport {SYNC_PORT} counter name tx\n  }}\n  chain in {{ type filter hook input priority 0; policy accept;\n    iifname \"{SYNC_IF}\" udp dport {SYNC_PORT} counter name rx\n  }}\n}}\n"
        ),
    )
}

/// (tx packets, tx octets, rx packets, rx octets) on `sync0`, IP level.
fn byte_counters(ns: &str) -> io::Result<(u64, u64, u64, u64)> {
    let (tp, tb) = nft_counter(ns, "inet", "tcbytes", "tx")?;
    let (rp, rb) = nft_counter(ns, "inet", "tcbytes", "rx")?;
    Ok((tp, tb, rp, rb))
}

// ---------------------------------------------------------------- kernel count watcher

/// Polls a namespace's `nf_conntrack_count` on its own thread (every ≈0.2 ms) and
/// records when it first reaches `baseline + n / 100` (1 % of the commit: a few
/// unrelated entries come and go on a router) and when it reaches `baseline + n`.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<(Option<Instant>, Option<Instant>, u64)>,
}

impl Watcher {
    fn start(ns: &str, n: u64) -> io::Result<Watcher> {
        let mut c = ctnl::Counter::open(ns)?;
        let baseline = c.read()?;
        let start = baseline + (n / 100).max(1);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut first = None;
            let mut last = baseline;
            while !flag.load(Ordering::Relaxed) {
                let v = c.read().unwrap_or(last);
                let t = Instant::now();
                last = v;
                if v >= start && first.is_none() {
                    first = Some(t);
                }
                if v >= baseline + n {
                    return (first, Some(t), v);
                }
                thread::sleep(Duration::from_micros(200));
            }
            (first, None, last)
        });
        Ok(Watcher { stop, thread })
    }

    /// Waits up to `bound` for the full count; returns (first change, full).
    fn wait(self, bound: Duration) -> Result<(Instant, Instant), String> {
        let t = Instant::now();
        while !self.thread.is_finished() && t.elapsed() < bound {
            thread::sleep(Duration::from_millis(2));
        }
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok((Some(a), Some(b), _)) => Ok((a, b)),
            Ok((_, _, last)) => Err(format!(
                "the kernel never held all entries within {bound:?} (count {last})"
            )),
            Err(_) => Err("watcher panicked".into()),
        }
    }
}

/// Polls `get` every 5 ms until it returns at least `n`, within `bound` from `since`.
fn poll_count(
    since: Instant,
    bound: Duration,
    n: u64,
    mut get: impl FnMut() -> io::Result<u64>,
) -> Result<Duration, String> {
    loop {
        let v = get();
        let t = Instant::now();
        if let Ok(v) = &v {
            if *v >= n {
                return Ok(t - since);
            }
        }
        if since.elapsed() > bound {
            return Err(format!(
                "backup did not hold {n} entries within {bound:?} (last: {v:?})"
            ));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn confs() -> [VrrpConf; 2] {
    [
        VrrpConf::v3_fast().priority(150),
        VrrpConf::v3_fast().priority(100),
    ]
}

fn insert_entries(lab: &CtLab, n: usize) -> Result<Duration, String> {
    let entries = ctnl::nat_tcp_entries(n, SERVER, WAN_VIP);
    let mut s = CtSocket::open(&lab.topo().router_ns(RouterId::R1)).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let (failed, err) = s.insert(&entries).map_err(|e| e.to_string())?;
    let took = t.elapsed();
    if failed > 0 {
        return Err(format!("{failed} of {n} inserts refused: {err:?}"));
    }
    Ok(took)
}

fn bytes_sample(
    s: &mut Sample,
    ns: &str,
    before: (u64, u64, u64, u64),
    n: usize,
) -> Result<(), String> {
    let after = byte_counters(ns).map_err(|e| e.to_string())?;
    let (tp, tb) = (after.0 - before.0, after.1 - before.1);
    let (rp, rb) = (after.2 - before.2, after.3 - before.3);
    let n = n as f64;
    s.datagrams = tp;
    s.payload_per_entry = (tb - 28 * tp) as f64 / n;
    s.ip_per_entry = tb as f64 / n;
    s.back_datagrams = rp;
    s.back_payload_per_entry = (rb - 28 * rp) as f64 / n;
    Ok(())
}

fn rep_tandem(lab: &mut CtLab, n: usize, log: &mut String) -> Result<Sample, String> {
    use RouterId::{R1, R2};
    lab.pair_mut().elect(R1)?;
    let r1 = lab.topo().router_ns(R1);
    let r2 = lab.topo().router_ns(R2);
    install_byte_counters(&r1).map_err(|e| e.to_string())?;
    let mut s = Sample::default();
    let bound = Duration::from_secs(60);

    // Stream: insert on r1, wait for r2's cache.
    let c0 = byte_counters(&r1).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    s.insert = insert_entries(lab, n)?;
    s.backup_holds = poll_count(t0, bound, n as u64, || {
        lab.sync_status(R2).map(|st| st.cache_entries)
    })?;
    thread::sleep(Duration::from_secs(1));
    s.backup_mem = mem_kib(lab.pair_mut().daemon(R2).pid());
    bytes_sample(&mut s, &r1, c0, n)?;

    // Resync: r2 restarted while r1 holds the entries.
    lab.pair_mut().daemon(R2).crash();
    let t = Instant::now();
    lab.pair_mut().start(R2).map_err(|e| e.to_string())?;
    s.resync = Some(poll_count(t, bound, n as u64, || {
        lab.sync_status(R2).map(|st| st.cache_entries)
    })?);
    lab.pair_mut().wait_backup(R2, Duration::from_secs(5))?;

    // Commit: r1 crashes, r2 commits before taking the VIPs.
    let w = Watcher::start(&r2, n as u64).map_err(|e| e.to_string())?;
    let t = lab.pair_mut().daemon(R1).crash();
    let (first, full) = w.wait(Duration::from_secs(30))?;
    s.commit_span = full - first;
    s.commit_from_trigger = full - t;
    let st = lab.sync_status(R2).map_err(|e| e.to_string())?;
    s.commit_reported = st.last_commit();
    let _ = writeln!(log, "tandem r2 after the commit: {}", st.summary());
    if let Some(c) = st.last_commit_entries() {
        if c < n as u64 {
            return Err(format!("tandem reports {c} committed, not {n}"));
        }
    }
    Ok(s)
}

fn rep_conntrackd(lab: &CtLab, n: usize, log: &mut String) -> Result<Sample, String> {
    use RouterId::{R1, R2};
    let r1 = lab.topo().router_ns(R1);
    let r2 = lab.topo().router_ns(R2);
    let _d1 = Conntrackd::start(lab.topo(), R1).map_err(|e| e.to_string())?;
    let mut d2 = Conntrackd::start(lab.topo(), R2).map_err(|e| e.to_string())?;
    install_byte_counters(&r1).map_err(|e| e.to_string())?;
    thread::sleep(Duration::from_millis(300));
    let mut s = Sample::default();
    let bound = Duration::from_secs(60);

    let c0 = byte_counters(&r1).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    s.insert = insert_entries(lab, n)?;
    s.backup_holds = poll_count(t0, bound, n as u64, || d2.stats().map(|st| st.external))?;
    thread::sleep(Duration::from_secs(1));
    s.backup_mem = mem_kib(d2.pid());
    bytes_sample(&mut s, &r1, c0, n)?;

    // Resync: r2's conntrackd restarted, then `conntrackd -n`.
    drop(d2);
    let t = Instant::now();
    d2 = Conntrackd::start(lab.topo(), R2).map_err(|e| e.to_string())?;
    d2.request_resync().map_err(|e| e.to_string())?;
    s.resync = Some(poll_count(t, bound, n as u64, || {
        d2.stats().map(|st| st.external)
    })?);

    // Commit: `conntrackd -c` on r2.
    let before = ctnl::count(&r2).map_err(|e| e.to_string())?;
    let w = Watcher::start(&r2, n as u64).map_err(|e| e.to_string())?;
    let t = Instant::now();
    d2.commit().map_err(|e| e.to_string())?;
    s.commit_command = Some(t.elapsed());
    let (first, full) = w.wait(Duration::from_secs(30))?;
    s.commit_span = full - first;
    s.commit_from_trigger = full - t;
    let after = ctnl::count(&r2).map_err(|e| e.to_string())?;
    // "commit has taken 0.085324 seconds" (conntrackd's log, the last one).
    s.commit_reported_conntrackd = d2
        .log()
        .lines()
        .rev()
        .find_map(|l| {
            let rest = l.split("commit has taken ").nth(1)?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .map(Duration::from_secs_f64);
    let _ = writeln!(
        log,
        "conntrackd r2 kernel {before} → {after} entries; stats {:?}",
        d2.stats()
    );
    Ok(s)
}

fn median(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Some((m, v[0], v[v.len() - 1]))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

type Figure = (&'static str, &'static str, fn(&Sample) -> Option<f64>);

const FIGURES: &[Figure] = &[
    ("insert N entries on r1 (generator)", "ms", |s| {
        Some(ms(s.insert))
    }),
    ("backup holds N (from the insert's start)", "ms", |s| {
        Some(ms(s.backup_holds))
    }),
    ("  of which after the insert ended", "ms", |s| {
        Some(ms(s.backup_holds.saturating_sub(s.insert)))
    }),
    ("sync payload r1→r2 per entry", "B", |s| {
        Some(s.payload_per_entry)
    }),
    ("sync IP octets r1→r2 per entry", "B", |s| {
        Some(s.ip_per_entry)
    }),
    ("datagrams r1→r2", "", |s| Some(s.datagrams as f64)),
    ("payload r2→r1 (acks) per entry", "B", |s| {
        Some(s.back_payload_per_entry)
    }),
    ("datagrams r2→r1", "", |s| Some(s.back_datagrams as f64)),
    ("resync: restarted backup holds N", "ms", |s| {
        s.resync.map(ms)
    }),
    ("commit: kernel count 1 % → 100 % of N", "ms", |s| {
        Some(ms(s.commit_span))
    }),
    ("commit as the daemon reports it", "ms", |s| {
        s.commit_reported.or(s.commit_reported_conntrackd).map(ms)
    }),
    ("trigger → all N in kernel (tandem: crash)", "ms", |s| {
        Some(ms(s.commit_from_trigger))
    }),
    ("`conntrackd -c` wall time", "ms", |s| {
        s.commit_command.map(ms)
    }),
    ("backup holding N: VmRSS", "KiB", |s| {
        s.backup_mem.map(|m| m.0)
    }),
    ("backup holding N: RssAnon (private)", "KiB", |s| {
        s.backup_mem.map(|m| m.1)
    }),
];

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some("insert") {
        let (Some(ns), Some(n)) = (raw.get(2), raw.get(3).and_then(|n| n.parse().ok())) else {
            eprintln!("usage: bench-ctsync insert NAMESPACE N");
            return ExitCode::from(2);
        };
        let entries = ctnl::nat_tcp_entries(n, SERVER, WAN_VIP);
        let t = Instant::now();
        let r = CtSocket::open(ns).and_then(|mut s| s.insert(&entries));
        println!("{r:?} in {:?}", t.elapsed());
        return ExitCode::SUCCESS;
    }
    common::install_cleanup(PREFIX);
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if !common::is_root() {
        eprintln!("bench-ctsync: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    if args.impls.contains(&Impl::Tandem) {
        if let Some(p) = common::locate_tandem() {
            eprintln!("tandem binary: {}", p.display());
        }
    }
    let n = args.entries;
    let mut results: Vec<(Impl, Vec<Sample>)> =
        args.impls.iter().map(|&i| (i, Vec::new())).collect();
    let mut failures = Vec::new();
    for rep in 1..=args.reps {
        for (imp, samples) in results.iter_mut() {
            let mut log = String::new();
            let t = Instant::now();
            let r = match CtLab::new(PREFIX, confs(), *imp == Impl::Tandem) {
                Err(e) => Err(format!("lab: {e}")),
                Ok(mut lab) => {
                    let r = match imp {
                        Impl::Tandem => rep_tandem(&mut lab, n, &mut log),
                        Impl::Conntrackd => rep_conntrackd(&lab, n, &mut log),
                    };
                    if let Some(dir) = &args.logs {
                        let d = dir.join(format!("{}-{rep}", imp.name()));
                        let _ = std::fs::create_dir_all(&d);
                        let _ = std::fs::write(d.join("notes.txt"), &log);
                        if let Ok(rd) = std::fs::read_dir(lab.topo().dir()) {
                            for e in rd.flatten() {
                                let _ = std::fs::copy(e.path(), d.join(e.file_name()));
                            }
                        }
                    }
                    r
                }
            };
            common::cleanup(PREFIX);
            match r {
                Ok(s) => {
                    eprintln!(
                        "rep {rep} {:<10} ({:.1} s): backup holds {n} after {:.1} ms, {:.1} B/entry, resync {:?} ms, commit span {:.1} ms (reported {:?})",
                        imp.name(),
                        t.elapsed().as_secs_f64(),
                        ms(s.backup_holds),
                        s.payload_per_entry,
                        s.resync.map(ms),
                        ms(s.commit_span),
                        s.commit_reported.map(ms)
                    );
                    if !log.is_empty() {
                        eprint!("{log}");
                    }
                    samples.push(s);
                }
                Err(e) => {
                    eprintln!("rep {rep} {} FAILED: {e}", imp.name());
                    if !log.is_empty() {
                        eprint!("{log}");
                    }
                    failures.push(format!("rep {rep} {}: {e}", imp.name()));
                }
            }
        }
    }

    println!(
        "\nConntrack sync, {n} NAT'd TCP/IPv4 entries, {} repetition(s); median [min–max]\n",
        args.reps
    );
    let mut header = format!("| {:<48} |", "figure");
    let mut sep = format!("|{}|", "-".repeat(50));
    for (imp, s) in &results {
        let _ = write!(
            header,
            " {:<26} |",
            format!("{} (n={})", imp.name(), s.len())
        );
        sep.push_str(&format!("{}|", "-".repeat(28)));
    }
    if results.len() == 2 {
        header.push_str(" ratio |");
        sep.push_str("-------|");
    }
    println!("{header}\n{sep}");
    for (name, unit, f) in FIGURES {
        let mut line = format!(
            "| {:<48} |",
            format!(
                "{name}{}",
                if unit.is_empty() {
                    String::new()
                } else {
                    format!(" ({unit})")
                }
            )
        );
        let mut meds = Vec::new();
        for (_, samples) in &results {
            let v: Vec<f64> = samples.iter().filter_map(f).collect();
            match median(v) {
                Some((m, lo, hi)) => {
                    let _ = write!(line, " {:<26} |", format!("{m:.1} [{lo:.1}–{hi:.1}]"));
                    meds.push(Some(m));
                }
                None => {
                    let _ = write!(line, " {:<26} |", "—");
                    meds.push(None);
                }
            }
        }
        if results.len() == 2 {
            match (meds[0], meds[1]) {
                (Some(a), Some(b)) if b > 0.0 => {
                    let _ = write!(line, " {:>5.2} |", a / b);
                }
                _ => line.push_str("   —   |"),
            }
        }
        println!("{line}");
    }
    if results.len() == 2 {
        println!(
            "\nratio = {} / {}",
            results[0].0.name(),
            results[1].0.name()
        );
    }
    if !failures.is_empty() {
        println!("\nFailed repetitions (excluded):");
        for f in &failures {
            println!("- {f}");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
