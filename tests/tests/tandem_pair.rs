//! Two Tandem routers on the seed topology (issue 2, point 7, first bullet), with
//! the seed's VRRPv2 configuration (advert 1 s, auth PASS, nopreempt, sync group G1
//! of I1 on `br-lan` and E1 on `eth0.2`, virtual default route). Where a scenario
//! needs a known master the priorities are r1 150 / r2 100 and r1 is started first.
//!
//! Every scenario carries a negative control: the same check, run where the feature
//! cannot help, must fail.

use std::time::{Duration, Instant};

use tandem_tests::{holds_during, require_root, Kind, Link, Pair, Role, RouterId, Stop, VrrpConf};
use RouterId::{R1, R2};

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Bound for the client to get through after a takeover.
const REACH: Duration = Duration::from_secs(3);

fn tandems(prefix: &str, conf: VrrpConf) -> Pair {
    Pair::new(
        prefix,
        [Kind::Tandem; 2],
        [conf.clone().priority(150), conf.priority(100)],
    )
    .unwrap()
}

/// The seed file verbatim on both routers (equal priorities), started together:
/// exactly one master, holding both VIPs and the route; the client gets out
/// through it. Negative controls: before any daemon runs the client cannot get out;
/// with VRRP to the backup blocked on the switches, both become master and the
/// "exactly one master" check fails.
#[test]
fn seed_pair_elects_exactly_one_master() {
    if !require_root() {
        return;
    }
    let mut p = Pair::new(
        "tt1a",
        [Kind::Tandem; 2],
        [VrrpConf::seed(), VrrpConf::seed()],
    )
    .unwrap();
    assert!(
        p.topo().probe_upstream(Duration::from_millis(500)).is_err(),
        "negative control: the client reached the upstream while no router holds the VIPs"
    );
    p.start(R1).unwrap();
    p.start(R2).unwrap();
    // Equal priorities with nopreempt may show two masters for a moment: read the
    // roles after settling.
    let mdi = p.conf(R1).master_down_interval();
    let settled = tandem_tests::poll_until(
        Instant::now(),
        mdi + Duration::from_secs(4),
        Duration::from_millis(100),
        || p.check_one_master().is_ok(),
    );
    ok(settled.map_err(|e| format!("no single master: {e}: {:?}", p.check_one_master())));
    let m = ok(p.check_one_master());
    let steady = holds_during(Duration::from_secs(2), Duration::from_millis(100), || {
        p.check_master(m).is_ok()
    });
    assert!(
        steady.is_ok(),
        "mastership of {} not steady: {:?}",
        m.name(),
        p.check_master(m)
    );
    ok(p.check_path_via(m, REACH));

    // Negative control: a VRRP partition (each router's adverts dropped on the
    // switches before they reach the other) → both become master.
    let b = m.other();
    p.topo().block_vrrp_to(R1, true).unwrap();
    p.topo().block_vrrp_to(R2, true).unwrap();
    let split = tandem_tests::poll_until(
        Instant::now(),
        mdi + Duration::from_secs(2),
        Duration::from_millis(100),
        || p.masters().len() == 2,
    );
    assert!(
        split.is_ok(),
        "partitioned, {} did not become master too",
        b.name()
    );
    assert!(
        p.check_one_master().is_err(),
        "negative control: two masters passed the check"
    );
    // Heal: one yields again (equal priorities: the greater address stays).
    p.topo().block_vrrp_to(R1, false).unwrap();
    p.topo().block_vrrp_to(R2, false).unwrap();
    let healed = tandem_tests::poll_until(
        Instant::now(),
        Duration::from_secs(4),
        Duration::from_millis(100),
        || p.check_one_master().is_ok(),
    );
    ok(healed.map_err(|e| {
        format!(
            "no single master after healing: {e}: {:?}",
            p.check_one_master()
        )
    }));
}

/// SIGKILL of the master: the backup holds both VIPs within Master_Down_Interval
/// plus 0.5 s of the kill; the killed router, restarted, cleans up what it left
/// behind and stays backup (nopreempt) although its priority is higher; the client
/// gets out through the new master each time. Negative control: with the backup's
/// daemon frozen (SIGSTOP), the VIPs do not move within the bound.
#[test]
fn crash_of_master_fails_over_and_nopreempt_holds() {
    if !require_root() {
        return;
    }
    let mut p = tandems("tt1b", VrrpConf::seed());
    ok(p.elect(R1));
    ok(p.check_master(R1));
    ok(p.check_path_via(R1, REACH));

    // Negative control.
    p.daemon(R2).pause();
    let frozen = p.measure_takeover(R1, Stop::Crash, p.crash_bound(R2));
    assert!(
        frozen.is_err(),
        "negative control: r2 took over while frozen ({frozen:?})"
    );
    p.daemon(R2).resume();
    // An advert of r1 may have been queued while r2 was frozen: read after the thaw,
    // it restarts r2's Master_Down timer.
    let thawed = p.wait_holds_both(
        R2,
        Instant::now(),
        p.crash_bound(R2) + Duration::from_secs(1),
    );
    ok(thawed.map_err(|e| format!("r2 after thaw: {e}")));
    ok(p.check_holds(R2));
    ok(p.check_path_via(R2, REACH));

    // r1 returns: removes its leftover VIPs and route, stays backup.
    p.start(R1).unwrap();
    ok(p.wait_backup(R1, Duration::from_secs(3)));
    let mdi = p.conf(R1).master_down_interval();
    let stays = holds_during(mdi * 2, Duration::from_millis(100), || {
        p.check_master(R2).is_ok()
    });
    assert!(
        stays.is_ok(),
        "nopreempt: r2 lost mastership after {stays:?}: {:?}",
        p.check_master(R2)
    );

    // The measured crash: r2 killed, r1 takes over.
    let bound = p.crash_bound(R1);
    let took = p.measure_takeover(R2, Stop::Crash, bound);
    let took = took.unwrap_or_else(|e| {
        panic!("r1 did not hold both VIPs within {bound:?} of the kill of r2: {e}")
    });
    eprintln!("crash failover r2 -> r1: {took:?} (bound {bound:?})");
    ok(p.check_holds(R1));
    ok(p.check_path_via(R1, REACH));
}

/// Negative control of nopreempt: the same sequence without `nopreempt` — the
/// returning higher-priority router takes the VIPs back.
#[test]
fn without_nopreempt_the_returning_router_takes_over() {
    if !require_root() {
        return;
    }
    let mut p = tandems("tt1c", VrrpConf::seed().nopreempt(false));
    ok(p.elect(R1));
    let took = p.measure_takeover(R1, Stop::Crash, p.crash_bound(R2));
    took.unwrap_or_else(|e| panic!("r2 did not take over: {e}"));
    p.start(R1).unwrap();
    // r1 still has the addresses it held when it crashed: wait for the full picture.
    let bound = p.conf(R1).master_down_interval() + Duration::from_secs(2);
    let back = tandem_tests::poll_until(Instant::now(), bound, Duration::from_millis(100), || {
        p.check_master(R1).is_ok()
    });
    back.unwrap_or_else(|e| {
        panic!(
            "without nopreempt r1 (150) did not preempt r2 (100): {e}: {:?}",
            p.check_master(R1)
        )
    });
    ok(p.check_path_via(R1, REACH));
}

/// SIGTERM of the master: it sends priority 0, removes its VIPs and route and
/// exits 0; the backup holds both VIPs within Skew_Time + 0.3 s. Negative control:
/// a crash (no priority 0) is not taken over within that bound.
#[test]
fn sigterm_hands_over_within_skew() {
    if !require_root() {
        return;
    }
    let mut p = tandems("tt1d", VrrpConf::seed());
    ok(p.elect(R1));
    let bound = p.term_bound(R2);
    let took = p.measure_takeover(R1, Stop::Term, bound);
    let took = took.unwrap_or_else(|e| {
        panic!("r2 did not hold both VIPs within {bound:?} of SIGTERM to r1: {e}")
    });
    eprintln!("graceful handover r1 -> r2: {took:?} (bound {bound:?})");
    let exit = p.daemon(R1).wait_exit(Duration::from_secs(3));
    assert!(
        exit.is_some_and(|s| s.success()),
        "tandem on r1 after SIGTERM: {exit:?}"
    );
    ok(p.check_master(R2));
    ok(p.check_path_via(R2, REACH));

    // Negative control.
    p.start(R1).unwrap();
    ok(p.wait_backup(R1, Duration::from_secs(3)));
    let bound = p.term_bound(R1);
    let fast = p.measure_takeover(R2, Stop::Crash, bound);
    assert!(
        fast.is_err(),
        "negative control: r1 took over within {bound:?} of a crash ({fast:?})"
    );
    let later = p.wait_holds_both(R1, Instant::now(), p.crash_bound(R1));
    later.unwrap_or_else(|e| panic!("r1 did not take over after the crash at all: {e}"));
}

fn pull_lan_cable_of_master(
    prefix: &str,
    sync_group: bool,
) -> (Pair, Result<Duration, tandem_tests::Timeout>) {
    let mut p = tandems(prefix, VrrpConf::seed().sync_group(sync_group));
    ok(p.elect(R1));
    ok(p.check_master(R1));
    let t = Instant::now();
    p.topo().set_cable(R1, Link::Lan, false).unwrap();
    let moved = p.wait_holds_both(R2, t, p.crash_bound(R2));
    (p, moved)
}

/// LAN cable of the master pulled: the sync group moves both VIPs (and the route)
/// to the backup; the old master goes FAULT and releases its WAN VIP too; the
/// client gets out through the new master. Plugged back, the old master stays
/// backup (nopreempt).
#[test]
fn lan_link_down_moves_both_vips() {
    if !require_root() {
        return;
    }
    let (p, moved) = pull_lan_cable_of_master("tt1e", true);
    let took = moved
        .unwrap_or_else(|e| panic!("r2 did not get both VIPs after r1's LAN link went down: {e}"));
    eprintln!("LAN link down on r1 -> r2 holds both: {took:?}");
    ok(
        p.wait_holds_none(R1, Instant::now(), Duration::from_secs(1))
            .map_err(|e| format!("r1 kept a VIP: {e}")),
    );
    ok(p.check_master(R2).or_else(|e| {
        if e.contains("r1 should be all Backup") {
            Ok(())
        } else {
            Err(e)
        }
    }));
    let s = p.daemon_ref(R1).unwrap().status().unwrap();
    assert_eq!(
        s.instance("I1").map(|i| i.state.clone()),
        Some(Role::Fault),
        "r1: {}",
        s.summary()
    );
    ok(p.check_path_via(R2, REACH));

    p.topo().set_cable(R1, Link::Lan, true).unwrap();
    let back = tandem_tests::poll_until(
        Instant::now(),
        Duration::from_secs(4),
        Duration::from_millis(100),
        || {
            p.daemon_ref(R1)
                .unwrap()
                .status()
                .is_ok_and(|s| s.all(&Role::Backup))
        },
    );
    back.unwrap_or_else(|e| panic!("r1 did not leave FAULT after the cable came back: {e}"));
    // It learns the master from the next advert.
    let known = tandem_tests::poll_until(
        Instant::now(),
        Duration::from_secs(3),
        Duration::from_millis(100),
        || p.check_master(R2).is_ok(),
    );
    known.unwrap_or_else(|e| panic!("after the cable came back: {e}: {:?}", p.check_master(R2)));
    let stays = holds_during(Duration::from_secs(3), Duration::from_millis(100), || {
        p.check_master(R2).is_ok()
    });
    assert!(
        stays.is_ok(),
        "after the cable came back: {:?}",
        p.check_master(R2)
    );

    // The other form of link down: `ip link set br-lan down` inside the new master.
    let t = Instant::now();
    p.topo().set_router_link(R2, Link::Lan, false).unwrap();
    let moved = p.wait_holds_both(R1, t, p.crash_bound(R1));
    let took = moved
        .unwrap_or_else(|e| panic!("r1 did not get both VIPs after r2's br-lan was set down: {e}"));
    eprintln!("br-lan set down on r2 -> r1 holds both: {took:?}");
    let freed = p.wait_holds_none(R2, Instant::now(), Duration::from_secs(1));
    ok(freed.map_err(|e| format!("r2 kept a VIP: {e}")));
    ok(p.check_holds(R1));
    ok(p.check_path_via(R1, REACH));
}

/// Negative control of the sync group: without it only the LAN VIP moves; the WAN
/// VIP stays on the old master and the client is cut off.
#[test]
fn without_sync_group_link_down_splits_vips() {
    if !require_root() {
        return;
    }
    let (p, moved) = pull_lan_cable_of_master("tt1f", false);
    assert!(
        moved.is_err(),
        "negative control: both VIPs moved without a sync group"
    );
    let (v1, v2) = (p.vips(R1).unwrap(), p.vips(R2).unwrap());
    assert!(
        v2.lan && !v2.wan && v1.wan,
        "expected LAN VIP on r2 and WAN VIP on r1, got r1 {v1:?} r2 {v2:?}"
    );
    assert!(
        p.check_path_via(R2, Duration::from_secs(1)).is_err(),
        "negative control: client got through a split pair"
    );
}

/// SIGHUP with an unchanged file: no instance changes state, the master never
/// drops a VIP, nothing is re-elected (issue 2, point 5). Negative control: the
/// same reload after the LAN VIP was changed in r1's file does remove 10.9.8.4 (the
/// address watch sees the change the check looks for).
#[test]
fn sighup_with_unchanged_config_keeps_state() {
    if !require_root() {
        return;
    }
    let mut p = tandems("tt1g", VrrpConf::seed());
    ok(p.elect(R1));
    let before: Vec<_> = RouterId::BOTH
        .iter()
        .map(|&r| p.daemon(r).status().unwrap())
        .collect();
    let watch = tandem_tests::AddrWatch::start(&p.topo().router_ns(R1)).unwrap();
    let watch2 = tandem_tests::AddrWatch::start(&p.topo().router_ns(R2)).unwrap();
    let t = Instant::now();
    p.daemon(R1).reload();
    p.daemon(R2).reload();
    let steady = holds_during(Duration::from_secs(3), Duration::from_millis(100), || {
        p.check_master(R1).is_ok()
    });
    assert!(steady.is_ok(), "after SIGHUP: {:?}", p.check_master(R1));
    for (r, w) in [(R1, &watch), (R2, &watch2)] {
        let ev = w.events_since(t);
        assert!(
            ev.is_empty(),
            "{}: addresses changed on an unchanged reload: {ev:?}",
            r.name()
        );
    }
    for (r, s0) in RouterId::BOTH.into_iter().zip(&before) {
        assert!(p.daemon(r).running(), "{} exited on SIGHUP", r.name());
        let s1 = p.daemon(r).status().unwrap();
        for i in &s1.instances {
            let was = s0.instance(&i.name).unwrap();
            assert_eq!(
                (i.state.clone(), i.transitions),
                (was.state.clone(), was.transitions),
                "{} {}: state changed on an unchanged reload: {} then {}",
                r.name(),
                i.name,
                s0.summary(),
                s1.summary()
            );
        }
    }

    // Negative control: a changed VIP is applied by the reload.
    let changed = VrrpConf::seed()
        .priority(150)
        .render()
        .replace("10.9.8.4/24", "10.9.8.5/24");
    p.daemon(R1).rewrite_config(&changed).unwrap();
    let t = Instant::now();
    p.daemon(R1).reload();
    let gone = watch.wait_for(t, Duration::from_secs(3), |set| {
        !set.iter().any(|a| a.addr == tandem_tests::LAN_VIP)
    });
    gone.unwrap_or_else(|e| {
        panic!("negative control: the reload of a changed VIP left 10.9.8.4: {e}")
    });
    assert!(
        p.check_master(R1).is_err(),
        "negative control: the check passed with another VIP"
    );
}
