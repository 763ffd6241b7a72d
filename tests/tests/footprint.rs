//! RAM (issue 3, point 5): no heap allocation after start-up, reloads included, and
//! the resident memory of a running master.
//!
//! * `no_heap_allocation_after_start_up`: two tandem routers with the seed's
//!   configuration (r1 150, r2 100) through election, status requests (JSON and
//!   text), SIGHUP reloads (unchanged, then a changed file: one more virtual
//!   address and an `include` glob adding an instance, then back: the added
//!   instance retired), the master's LAN cable pulled and plugged back (FAULT, the
//!   sync group moves), a crash of the new master (failover back) and its restart.
//!   Every daemon's `tandem status` must say `allocations: 0` (heap allocations
//!   since start-up, reloads included) with `startup_allocations > 0` (the counter
//!   is live). **Negative control**: a daemon started with
//!   `TANDEM_TEST_ALLOCATE_ON_RELOAD=1` (one deliberate allocation per reload)
//!   reports exactly 2 after two reloads, and the same check rejects it.
//! * `no_heap_allocation_with_conntrack_sync`: the same promise with the
//!   `tandem_sync` block (conntrack cache of 16 384 entries, 1 024 leases, a lease
//!   file per router): NAT'd TCP connections and leases synced to the backup (one
//!   lease added to the master's file on the way), reload, crash of the master
//!   (conntrack commit, lease file written), the old master back as backup (full
//!   resync).
//! * `rss_of_a_master`: VmRSS/VmHWM of master and backup from `/proc/<pid>/status`,
//!   VRRP only and with the tables configured (conntrack 16 384, leases 1 024), for
//!   the host build the harness runs and, when it exists, the static musl router
//!   build (`cargo run -p size-report -- build x86_64`; or `$TANDEM_STATIC_BIN`).
//!   Asserts the 1.5 MiB budget for the master, VRRP only and with the tables
//!   configured: VmHWM of the static build; for a dynamic build, whose VmRSS
//!   includes ≈ 1.9 MiB of shared glibc pages, its private part (RssAnon). The
//!   tables fit because their storage is zero-filled memory that becomes resident
//!   only as entries arrive (a master's conntrack cache stays empty).
//!   **Negative control**: the same master started with
//!   `TANDEM_TEST_PREFAULT_TABLES=1` (the daemon writes every byte of its table
//!   storage at start-up, as it did before the tables were lazily resident) is
//!   over the budget, and the same check rejects it.
//!
//! The figures are printed (`--nocapture`); the `footprint` binary prints the same
//! measurements side by side with keepalived.

#[path = "../src/bin/footprint/mem.rs"]
mod mem;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mem::{measure, status_num, Mem, Spawned, Tables, BUDGET_KIB};
use tandem_tests::ctsync::{sync_block, CtLab, SERVER, TCP_PORT};
use tandem_tests::traffic::{First, TcpFleet};
use tandem_tests::{
    holds_during, poll_until, require_root, tandem_bin, Kind, Link, Pair, Role, RouterId, Status,
    Stop, VrrpConf,
};
use RouterId::{R1, R2};

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The promise as checked: no heap allocation since start-up (reloads included),
/// and a live counter (start-up did allocate).
fn no_allocations(s: &Status) -> Result<(), String> {
    let after = status_num(s, "allocations").ok_or("status has no 'allocations'")?;
    let startup =
        status_num(s, "startup_allocations").ok_or("status has no 'startup_allocations'")?;
    let reloads = status_num(s, "reloads").ok_or("status has no 'reloads'")?;
    if startup == 0 {
        return Err("startup_allocations is 0: the counter is not counting".into());
    }
    if after != 0 {
        return Err(format!(
            "{after} heap allocation(s) after start-up ({reloads} reload(s), {startup} during start-up)"
        ));
    }
    Ok(())
}

fn counts(s: &Status) -> String {
    format!(
        "allocations after start-up {:?}, during start-up {:?}, reloads {:?}",
        status_num(s, "allocations"),
        status_num(s, "startup_allocations"),
        status_num(s, "reloads")
    )
}

/// Polls router `r`'s status until it has counted `n` reloads.
fn wait_reloads(p: &mut Pair, r: RouterId, n: u64) -> Status {
    let mut last = None;
    let res = poll_until(
        Instant::now(),
        Duration::from_secs(3),
        Duration::from_millis(50),
        || match p.daemon(r).status() {
            Ok(s) => {
                let done = status_num(&s, "reloads") == Some(n);
                last = Some(s);
                done
            }
            Err(_) => false,
        },
    );
    res.unwrap_or_else(|e| panic!("{}: reload {n} not counted: {e}", r.name()));
    last.expect("status")
}

/// `tandem status` (text) through the CLI: exercises the text renderer.
fn text_status(sock: &Path) -> String {
    let out = std::process::Command::new(tandem_bin())
        .arg("status")
        .arg("--control")
        .arg(sock)
        .output()
        .expect("tandem status");
    assert!(out.status.success(), "tandem status (text) failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether router `r` has address `a` (any interface).
fn has_addr(p: &Pair, r: RouterId, a: Ipv4Addr) -> bool {
    p.topo()
        .addresses(r)
        .map(|v| v.iter().any(|x| x.addr == a))
        .unwrap_or(false)
}

const EXTRA_VIP: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 44);
const X1_VIP: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 60);
const X1: &str = "vrrp_instance X1 {\n  state backup\n  interface br-lan\n  virtual_router_id 60\n  priority 50\n  advert_int 1\n  virtual_ipaddress {\n    10.9.8.60/24\n  }\n}\n";

/// The 1.5 MiB budget check of a master: VmHWM of a static build; the private
/// memory (RssAnon) of a dynamic one.
fn within_budget(bin: &Path, m: &Mem) -> Result<(), String> {
    if mem::is_static(bin) == Some(true) {
        if m.hwm > BUDGET_KIB {
            return Err(format!(
                "VmHWM {} KiB > {BUDGET_KIB} KiB ({})",
                m.hwm,
                bin.display()
            ));
        }
    } else if m.anon > BUDGET_KIB {
        return Err(format!(
            "RssAnon {} KiB > {BUDGET_KIB} KiB (dynamic build {})",
            m.anon,
            bin.display()
        ));
    }
    Ok(())
}

#[test]
fn no_heap_allocation_after_start_up() {
    if !require_root() {
        return;
    }
    let mut p = Pair::new(
        "tr1a",
        [Kind::Tandem; 2],
        [
            VrrpConf::seed().priority(150),
            VrrpConf::seed().priority(100),
        ],
    )
    .unwrap();
    ok(p.elect(R1));
    ok(p.check_master(R1));

    // Status requests: JSON (what the harness polls) and text.
    for r in RouterId::BOTH {
        for _ in 0..10 {
            p.daemon(r).status().unwrap();
        }
        let sock = p.daemon(r).control_path().to_path_buf();
        let t = text_status(&sock);
        assert!(t.contains("heap allocations since start-up 0"), "{t}");
    }

    // SIGHUP, unchanged: nothing moves.
    p.daemon(R1).reload();
    p.daemon(R2).reload();
    wait_reloads(&mut p, R1, 1);
    wait_reloads(&mut p, R2, 1);
    let steady = holds_during(Duration::from_secs(2), Duration::from_millis(100), || {
        p.check_master(R1).is_ok()
    });
    assert!(steady.is_ok(), "after SIGHUP: {:?}", p.check_master(R1));

    // SIGHUP, changed: one more VIP on the master's I1, and an include glob that
    // adds instance X1 (VRID 60, no peer: r1 becomes its master).
    let base = p.conf_text(R1);
    let dir: PathBuf = p.daemon(R1).conf_path().parent().unwrap().to_path_buf();
    fs::create_dir_all(dir.join("r1.d")).unwrap();
    fs::write(dir.join("r1.d/x1.conf"), X1).unwrap();
    let changed = base.replacen(
        "    10.9.8.4/24\n",
        "    10.9.8.4/24\n    10.9.8.44/24\n",
        1,
    ) + "\ninclude r1.d/*.conf\n";
    assert!(changed.contains("10.9.8.44"));
    p.daemon(R1).rewrite_config(&changed).unwrap();
    p.daemon(R1).reload();
    let s = wait_reloads(&mut p, R1, 2);
    assert_eq!(s.instances.len(), 3, "X1 not added: {}", s.summary());
    let up = poll_until(
        Instant::now(),
        Duration::from_secs(7),
        Duration::from_millis(100),
        || has_addr(&p, R1, EXTRA_VIP) && has_addr(&p, R1, X1_VIP),
    );
    up.unwrap_or_else(|e| {
        panic!("changed reload not applied (10.9.8.44 and X1's 10.9.8.60 on r1): {e}")
    });
    let s = p.daemon(R1).status().unwrap();
    assert_eq!(
        s.instance("X1").map(|i| i.state.clone()),
        Some(Role::Master),
        "{}",
        s.summary()
    );

    // Back to the original file: the VIP removed, X1 retired.
    p.daemon(R1).rewrite_config(&base).unwrap();
    p.daemon(R1).reload();
    let s = wait_reloads(&mut p, R1, 3);
    assert_eq!(s.instances.len(), 2, "X1 not retired: {}", s.summary());
    let gone = poll_until(
        Instant::now(),
        Duration::from_secs(3),
        Duration::from_millis(100),
        || !has_addr(&p, R1, EXTRA_VIP) && !has_addr(&p, R1, X1_VIP),
    );
    gone.unwrap_or_else(|e| panic!("reverted reload left 10.9.8.44 or 10.9.8.60 on r1: {e}"));
    ok(p.check_master(R1));

    // Link down: the master's LAN cable → FAULT, both VIPs to r2 (sync group).
    let t = Instant::now();
    p.topo().set_cable(R1, Link::Lan, false).unwrap();
    let moved = p.wait_holds_both(R2, t, p.crash_bound(R2));
    moved.unwrap_or_else(|e| panic!("r2 did not take over after r1's LAN cable was pulled: {e}"));
    let fault = poll_until(
        Instant::now(),
        Duration::from_secs(2),
        Duration::from_millis(50),
        || {
            p.daemon(R1)
                .status()
                .is_ok_and(|s| s.instance("I1").is_some_and(|i| i.state == Role::Fault))
        },
    );
    fault.unwrap_or_else(|e| panic!("r1 not in FAULT with its LAN cable pulled: {e}"));
    // Link up: r1 back to BACKUP.
    p.topo().set_cable(R1, Link::Lan, true).unwrap();
    let back = poll_until(
        Instant::now(),
        Duration::from_secs(4),
        Duration::from_millis(100),
        || p.daemon(R1).status().is_ok_and(|s| s.all(&Role::Backup)),
    );
    back.unwrap_or_else(|e| panic!("r1 did not leave FAULT after the cable came back: {e}"));
    // ... and `ip link set down/up` inside the backup (netlink link events).
    p.topo().set_router_link(R1, Link::Wan, false).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    p.topo().set_router_link(R1, Link::Wan, true).unwrap();
    let back = poll_until(
        Instant::now(),
        Duration::from_secs(4),
        Duration::from_millis(100),
        || p.daemon(R1).status().is_ok_and(|s| s.all(&Role::Backup)),
    );
    back.unwrap_or_else(|e| panic!("r1 not BACKUP after its eth0.2 went down and up: {e}"));
    // r1 learns the master from the next advert.
    let known = poll_until(
        Instant::now(),
        Duration::from_secs(3),
        Duration::from_millis(100),
        || p.check_master(R2).is_ok(),
    );
    known.unwrap_or_else(|e| panic!("{e}: {:?}", p.check_master(R2)));

    // r2 has been backup, reloaded, taken over: its verdict before the crash.
    let s2 = p.daemon(R2).status().unwrap();
    eprintln!("r2 before its crash: {}", counts(&s2));
    ok(no_allocations(&s2).map_err(|e| format!("r2: {e}")));

    // Failover: crash of the master r2 → r1 takes over.
    let bound = p.crash_bound(R1);
    let took = p.measure_takeover(R2, Stop::Crash, bound);
    let took = took.unwrap_or_else(|e| panic!("r1 did not take over after the crash of r2: {e}"));
    eprintln!("crash failover r2 -> r1: {took:?}");
    ok(p.check_holds(R1));
    // r2 returns (a new process) and stays backup (nopreempt).
    p.start(R2).unwrap();
    ok(p.wait_backup(R2, Duration::from_secs(5)));
    ok(p.check_master(R1));

    // The verdict.
    for r in RouterId::BOTH {
        let s = p.daemon(r).status().unwrap();
        eprintln!("{}: {}", r.name(), counts(&s));
        ok(no_allocations(&s).map_err(|e| format!("{}: {e}", r.name())));
    }
    let s1 = p.daemon(R1).status().unwrap();
    assert_eq!(status_num(&s1, "reloads"), Some(3), "{}", counts(&s1));

    // RSS of the master that went through all of it.
    let bin = tandem_bin();
    let m = Mem::of(p.daemon(R1).pid()).unwrap();
    let b = Mem::of(p.daemon(R2).pid()).unwrap();
    eprintln!("{}", mem::header());
    eprintln!(
        "{}",
        mem::row(&format!("tandem {}, seed, master", mem::describe(&bin)), &m)
    );
    eprintln!(
        "{}",
        mem::row(&format!("tandem {}, seed, backup", mem::describe(&bin)), &b)
    );
    ok(within_budget(&bin, &m));

    // Negative control: the same check on a daemon that allocates once per reload
    // (test hook) fails, with exactly the allocations made.
    p.daemon(R2).crash();
    let ns = p.topo().router_ns(R2);
    let conf = p.conf_text(R2);
    let hooked = Spawned::start(
        &ns,
        &bin,
        p.topo().dir(),
        "r2-alloc-hook",
        &conf,
        &[("TANDEM_TEST_ALLOCATE_ON_RELOAD", "1")],
    )
    .unwrap();
    let s = ok(hooked.wait_status(Duration::from_secs(6), |s| s.all(&Role::Backup)));
    ok(no_allocations(&s).map_err(|e| format!("hooked daemon before any reload: {e}")));
    for n in 1..=2 {
        hooked.signal(libc::SIGHUP);
        ok(hooked.wait_status(Duration::from_secs(3), |s| {
            status_num(s, "reloads") == Some(n)
        }));
    }
    let s = hooked.status().unwrap();
    assert_eq!(
        status_num(&s, "allocations"),
        Some(2),
        "the hook's allocations were not counted: {}",
        counts(&s)
    );
    let e = no_allocations(&s).expect_err("negative control: the check accepted 2 allocations");
    eprintln!("negative control (TANDEM_TEST_ALLOCATE_ON_RELOAD): rejected: {e}");
}

#[test]
fn no_heap_allocation_with_conntrack_sync() {
    if !require_root() {
        return;
    }
    let confs = [
        VrrpConf::v3_fast().priority(150),
        VrrpConf::v3_fast().priority(100),
    ];
    let mut lab = CtLab::new("tr1b", confs, true).expect("lab");
    // Lease sync too: a lease file per router, three leases on the master's.
    let lease_file =
        |lab: &CtLab, r: RouterId| lab.topo().dir().join(format!("{}.leases", r.name()));
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let lease = |i: u8| format!("{expiry} 02:00:00:00:00:{i:02x} 10.9.8.{i} host{i} *\n");
    for r in RouterId::BOTH {
        let path = lease_file(&lab, r);
        let text = if r == R1 {
            (101..104).map(lease).collect()
        } else {
            String::new()
        };
        fs::write(&path, text).unwrap();
        let block = sync_block(r, &lab.key_path());
        lab.pair_mut()
            .set_extra_conf(r, &mem::with_tables(&block, 1024, &path));
    }
    lab.pair_mut().elect(R1).expect("elect r1");
    let cl = lab.topo().client_ns();
    let sv = lab.server_ns();
    let mut fleet = TcpFleet::open(&cl, &sv, SERVER, TCP_PORT, 32).expect("TCP fleet");
    for first in [First::Client, First::Server] {
        let r = fleet.exchange(first, "before", Duration::from_secs(3));
        assert!(r.all_ok(), "before ({first:?} first): {r}");
    }
    let want = lab.client_entries(R1).expect("r1 conntrack").len() as u64;
    ok(lab.wait_cache(R2, Duration::from_secs(5), |n| n == want));
    // A new lease on the master reaches the backup's file.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(lease_file(&lab, R1))
        .unwrap();
    std::io::Write::write_all(&mut f, lease(104).as_bytes()).unwrap();
    drop(f);
    let synced = poll_until(
        Instant::now(),
        Duration::from_secs(5),
        Duration::from_millis(100),
        || {
            let t = fs::read_to_string(lease_file(&lab, R2)).unwrap_or_default();
            (101..=104).all(|i| t.contains(&format!(" 10.9.8.{i} ")))
        },
    );
    synced.unwrap_or_else(|e| {
        panic!(
            "leases did not reach r2's lease file: {e}: {:?}",
            fs::read_to_string(lease_file(&lab, R2))
        )
    });
    for r in RouterId::BOTH {
        lab.pair_mut().daemon(r).reload();
    }
    for r in RouterId::BOTH {
        wait_reloads(lab.pair_mut(), r, 1);
    }
    // Crash of the master: r2 commits its cache, takes the VIPs; traffic goes on.
    let t = Instant::now();
    lab.pair_mut().daemon(R1).crash();
    let bound = lab.pair().crash_bound(R2) + Duration::from_millis(500);
    let took = lab.pair().wait_holds_both(R2, t, bound);
    took.unwrap_or_else(|e| panic!("r2 did not take over: {e}"));
    let r = fleet.exchange(First::Server, "after", Duration::from_secs(3));
    assert!(r.all_ok(), "after the crash: {r}");
    // r1 back: backup, full resync from r2.
    lab.pair_mut().start(R1).unwrap();
    ok(lab.pair_mut().wait_backup(R1, Duration::from_secs(5)));
    let want = lab.client_entries(R2).expect("r2 conntrack").len() as u64;
    ok(lab.wait_cache(R1, Duration::from_secs(5), |n| n == want));
    let r = fleet.exchange(First::Client, "resynced", Duration::from_secs(3));
    assert!(r.all_ok(), "after the resync: {r}");
    for r in RouterId::BOTH {
        let s = lab.pair_mut().daemon(r).status().unwrap();
        eprintln!("{} (sync): {}", r.name(), counts(&s));
        ok(no_allocations(&s).map_err(|e| format!("{} (with tandem_sync): {e}", r.name())));
    }
    let bin = tandem_bin();
    let m = Mem::of(lab.pair_mut().daemon(R2).pid()).unwrap();
    eprintln!("{}", mem::header());
    eprintln!(
        "{}",
        mem::row(
            &format!(
                "tandem {}, seed + ct 16384 + leases 1024, master",
                mem::describe(&bin)
            ),
            &m
        )
    );
}

#[test]
fn rss_of_a_master() {
    if !require_root() {
        return;
    }
    let lab = CtLab::new(
        "tr1c",
        [
            VrrpConf::seed().priority(150),
            VrrpConf::seed().priority(100),
        ],
        true,
    )
    .expect("lab");
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let bins = mem::binaries();
    for (k, bin) in bins.iter().enumerate() {
        for tables in [Tables::VrrpOnly, Tables::Full] {
            let name = format!("b{k}-{tables:?}");
            let (m, b) = ok(measure(&lab, bin, tables, &name, &[]));
            let what = match tables {
                Tables::VrrpOnly => "seed (VRRP only)",
                Tables::Full => "seed + ct 16384 + leases 1024",
            };
            rows.push(mem::row(
                &format!("{}, {what}, master", mem::describe(bin)),
                &m,
            ));
            rows.push(mem::row(
                &format!("{}, {what}, backup", mem::describe(bin)),
                &b,
            ));
            if let Err(e) = within_budget(bin, &m) {
                rows.push(format!("  ^ OVER the {BUDGET_KIB} KiB budget: {e}"));
                failures.push(format!("{what}: {e}"));
            }
        }
    }
    // Negative control: the router build (the last one measured), tables written
    // at start-up.
    let bin = bins.last().expect("a tandem binary");
    let (m, _) = ok(measure(
        &lab,
        bin,
        Tables::Full,
        "prefault",
        &[("TANDEM_TEST_PREFAULT_TABLES", "1")],
    ));
    rows.push(mem::row(
        &format!(
            "{}, seed + ct 16384 + leases 1024, tables prefaulted (control), master",
            mem::describe(bin)
        ),
        &m,
    ));
    eprintln!("\n{}\n{}\n", mem::header(), rows.join("\n"));
    assert!(
        within_budget(bin, &m).is_err(),
        "negative control: a master whose tables are resident from the start must be \
         over the {BUDGET_KIB} KiB budget (measured {m:?}): the check cannot fail"
    );
    assert!(failures.is_empty(), "master over budget: {failures:?}");
}
