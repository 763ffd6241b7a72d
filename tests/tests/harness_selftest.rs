//! Self-tests of the harness with Debian's keepalived on both routers (VRRPv3,
//! 0.1 s adverts, so they are cheap). They show that the checks the Tandem tests
//! use pass for a known-good implementation, and that each one fails in its
//! negative control.

use std::time::{Duration, Instant};

use tandem_tests::{holds_during, require_root, Kind, Link, Pair, RouterId, Stop, VrrpConf};
use RouterId::{R1, R2};

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn keepalived_pair_election_crash_and_nopreempt() {
    if !require_root() {
        return;
    }
    let c = VrrpConf::v3_fast();
    let mut p = Pair::new(
        "tth1",
        [Kind::Keepalived; 2],
        [c.clone().priority(150), c.priority(100)],
    )
    .unwrap();

    // Negative control: with no router holding the VIPs the client cannot get out,
    // and there is no master.
    assert!(
        p.topo().probe_upstream(Duration::from_millis(500)).is_err(),
        "client reached the upstream without VIPs"
    );
    assert!(p.check_one_master().is_err());

    ok(p.elect(R1));
    ok(p.check_master(R1));
    ok(p.check_path_via(R1, Duration::from_secs(2)));

    // Negative control: the backup frozen, the crash of the master is not taken over.
    p.daemon(R2).pause();
    let frozen = p.measure_takeover(R1, Stop::Crash, p.crash_bound(R2));
    assert!(frozen.is_err(), "r2 took over while frozen: {frozen:?}");
    p.daemon(R2).resume();
    ok(
        p.wait_holds_both(R2, Instant::now(), Duration::from_secs(2))
            .map_err(|e| e.to_string()),
    );
    ok(p.check_holds(R2));
    ok(p.check_path_via(R2, Duration::from_secs(2)));

    // The crashed router comes back: removes what it left behind, stays backup
    // (nopreempt) although its priority is higher.
    p.start(R1).unwrap();
    ok(p.wait_backup(R1, Duration::from_secs(2)));
    let mdi = p.conf(R1).master_down_interval();
    let stays = holds_during(mdi * 3, Duration::from_millis(50), || {
        p.check_master(R2).is_ok()
    });
    assert!(
        stays.is_ok(),
        "r2 lost mastership after {stays:?}: {:?}",
        p.check_master(R2)
    );

    let took = p.measure_takeover(R2, Stop::Crash, p.crash_bound(R1));
    let took = took.unwrap_or_else(|e| panic!("r1 did not take over: {e}"));
    assert!(took <= p.crash_bound(R1));
    ok(p.check_holds(R1));
    ok(p.check_path_via(R1, Duration::from_secs(2)));
}

fn lan_cable_pull(prefix: &str, sync_group: bool) -> Pair {
    let c = VrrpConf::v3_fast().sync_group(sync_group);
    let mut p = Pair::new(
        prefix,
        [Kind::Keepalived; 2],
        [c.clone().priority(150), c.priority(100)],
    )
    .unwrap();
    ok(p.elect(R1));
    let t = Instant::now();
    p.topo().set_cable(R1, Link::Lan, false).unwrap();
    let moved = p.wait_holds_both(R2, t, p.crash_bound(R2));
    assert_eq!(
        moved.is_ok(),
        sync_group,
        "both VIPs on r2 after the LAN cable pull: {moved:?}"
    );
    p
}

#[test]
fn keepalived_sync_group_moves_both_vips() {
    if !require_root() {
        return;
    }
    let p = lan_cable_pull("tth2", true);
    ok(
        p.wait_holds_none(R1, Instant::now(), Duration::from_secs(1))
            .map_err(|e| e.to_string()),
    );
    ok(p.check_master(R2));
    ok(p.check_path_via(R2, Duration::from_secs(2)));
}

#[test]
fn keepalived_without_sync_group_splits_vips() {
    if !require_root() {
        return;
    }
    // Negative control of the sync-group check: without the group only the LAN VIP
    // moves, the client is cut off.
    let p = lan_cable_pull("tth3", false);
    assert!(p.vips(R1).unwrap().wan && p.vips(R2).unwrap().lan);
    assert!(p.check_path_via(R2, Duration::from_secs(1)).is_err());
}
