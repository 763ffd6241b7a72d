//! Mixed pairs: Tandem and Debian's keepalived on the two routers (issue 2, point 7,
//! second bullet). VRRPv2 with auth PASS (the seed) and VRRPv3 with 0.1 s adverts:
//! exactly one master, failover both ways (tandem → keepalived, keepalived →
//! tandem), crash and graceful. A wrong password is rejected and counted.
//!
//! Negative controls: with a wrong password neither side accepts the other and both
//! become master (the "exactly one master" check fails, tandem counts auth drops);
//! with the right password tandem counts no auth drop.

use std::thread;
use std::time::{Duration, Instant};

use tandem_tests::{holds_during, require_root, Kind, Pair, Role, RouterId, Stop, VrrpConf};
use RouterId::{R1, R2};

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

const REACH: Duration = Duration::from_secs(3);

fn takeover(p: &mut Pair, from: RouterId, how: Stop) -> Duration {
    let to = from.other();
    let bound = match how {
        Stop::Crash => p.crash_bound(to),
        Stop::Term => p.term_bound(to),
    };
    let took = p.measure_takeover(from, how, bound).unwrap_or_else(|e| {
        panic!(
            "{how:?} of {} ({}) → {} ({}) did not hold both VIPs within {bound:?}: {e}",
            from.name(),
            p.kind(from).name(),
            to.name(),
            p.kind(to).name()
        )
    });
    eprintln!(
        "{how:?} {} ({}) -> {} ({}): {took:?} (bound {bound:?})",
        from.name(),
        p.kind(from).name(),
        to.name(),
        p.kind(to).name()
    );
    if how == Stop::Term {
        let exit = p.daemon(from).wait_exit(Duration::from_secs(3));
        assert!(
            exit.is_some_and(|s| s.success()),
            "{} after SIGTERM: {exit:?}",
            p.kind(from).name()
        );
        ok(
            p.wait_holds_none(from, Instant::now(), Duration::from_secs(1))
                .map_err(|e| format!("{} kept VIPs: {e}", from.name())),
        );
        ok(p.check_master(to));
    } else {
        ok(p.check_holds(to));
    }
    ok(p.check_path_via(to, REACH));
    took
}

/// Restarts router `r` and waits until it is a settled backup, then checks that
/// the other router is the one master.
fn rejoin(p: &mut Pair, r: RouterId) {
    p.start(r).unwrap();
    ok(p.wait_backup(r, p.conf(r).master_down_interval() + Duration::from_secs(2)));
    ok(p.check_master(r.other()));
}

/// VRRPv2 with the seed's auth PASS: tandem (r1, 150) master, keepalived (r2, 100)
/// backup; crash of tandem → keepalived takes over; tandem returns as backup and
/// accepts keepalived's adverts (received grows, no auth drop); crash of keepalived
/// → tandem takes over.
#[test]
fn v2_auth_pass_failover_both_ways() {
    if !require_root() {
        return;
    }
    let c = VrrpConf::seed();
    let mut p = Pair::new(
        "tt2a",
        [Kind::Tandem, Kind::Keepalived],
        [c.clone().priority(150), c.priority(100)],
    )
    .unwrap();
    ok(p.elect(R1));
    ok(p.check_master(R1));
    ok(p.check_path_via(R1, REACH));

    takeover(&mut p, R1, Stop::Crash);
    rejoin(&mut p, R1);
    // Positive control of authentication: the right password is accepted.
    let s0 = p.daemon(R1).status().unwrap();
    thread::sleep(Duration::from_millis(2500));
    let s1 = p.daemon(R1).status().unwrap();
    for name in ["I1", "E1"] {
        let (a, b) = (s0.instance(name).unwrap(), s1.instance(name).unwrap());
        assert!(
            b.received.unwrap_or(0) >= a.received.unwrap_or(0) + 2,
            "{name}: adverts not received: {} then {}",
            s0.summary(),
            s1.summary()
        );
        assert_eq!(
            b.auth_dropped,
            Some(0),
            "{name}: keepalived's adverts dropped as auth failures: {}",
            s1.summary()
        );
        assert_eq!(b.state, Role::Backup);
    }
    takeover(&mut p, R2, Stop::Crash);
}

/// VRRPv3 with 0.1 s adverts, keepalived (r1, 150) first master, tandem (r2, 100)
/// backup: crash keepalived → tandem; SIGTERM tandem → keepalived; SIGTERM
/// keepalived → tandem; crash tandem → keepalived.
#[test]
fn v3_fast_failover_both_ways() {
    if !require_root() {
        return;
    }
    let c = VrrpConf::v3_fast();
    let mut p = Pair::new(
        "tt2b",
        [Kind::Keepalived, Kind::Tandem],
        [c.clone().priority(150), c.priority(100)],
    )
    .unwrap();
    ok(p.elect(R1));
    ok(p.check_master(R1));
    ok(p.check_path_via(R1, REACH));

    takeover(&mut p, R1, Stop::Crash);
    rejoin(&mut p, R1);
    takeover(&mut p, R2, Stop::Term);
    rejoin(&mut p, R2);
    takeover(&mut p, R1, Stop::Term);
    rejoin(&mut p, R1);
    takeover(&mut p, R2, Stop::Crash);
}

/// Wrong password on keepalived's side: tandem rejects keepalived's adverts and
/// counts them (auth drop counter grows), keepalived rejects tandem's ("received an
/// invalid passwd!"); each becomes master on its own, so there is no single master.
#[test]
fn wrong_password_is_rejected_and_counted() {
    if !require_root() {
        return;
    }
    let c = VrrpConf::seed();
    let mut p = Pair::new(
        "tt2c",
        [Kind::Tandem, Kind::Keepalived],
        [
            c.clone().priority(150),
            c.priority(100).auth_pass(Some("wr0ng")),
        ],
    )
    .unwrap();
    let t = Instant::now();
    p.start(R1).unwrap();
    p.start(R2).unwrap();
    let bound = p.conf(R2).master_down_interval() + Duration::from_secs(2);
    let both = tandem_tests::poll_until(t, bound, Duration::from_millis(100), || {
        p.vips(R1).is_ok_and(|v| v.both()) && p.vips(R2).is_ok_and(|v| v.both())
    });
    both.unwrap_or_else(|e| {
        panic!(
            "with mismatched passwords both routers should be master: {e}; r1 {:?} r2 {:?}",
            p.vips(R1),
            p.vips(R2)
        )
    });
    assert!(p.check_one_master().is_err());
    // keepalived, as a master that sees a conflicting master it cannot
    // authenticate, does not advertise every second (captured: gaps of 2-3 s), so
    // wait for the counters to move rather than expecting one drop per second.
    let s0 = p.daemon(R1).status().unwrap();
    let grew = tandem_tests::poll_until(
        Instant::now(),
        Duration::from_secs(6),
        Duration::from_millis(200),
        || {
            p.daemon_ref(R1).unwrap().status().is_ok_and(|s1| {
                ["I1", "E1"].iter().all(|n| {
                    let a = s0.instance(n).and_then(|i| i.auth_dropped).unwrap_or(0);
                    s1.instance(n)
                        .and_then(|i| i.auth_dropped)
                        .is_some_and(|b| b > a)
                })
            })
        },
    );
    let s1 = p.daemon(R1).status().unwrap();
    grew.unwrap_or_else(|e| {
        panic!(
            "auth drop counters did not grow: {e}: {} then {}",
            s0.summary(),
            s1.summary()
        )
    });
    assert!(s1.all(&Role::Master), "tandem: {}", s1.summary());
    for i in &s1.instances {
        // Every advert keepalived sent was dropped for authentication.
        assert!(
            i.auth_dropped >= Some(1)
                && i.auth_dropped == i.received
                && i.auth_dropped == i.dropped_total,
            "{}: every advert should be an auth drop: {}",
            i.name,
            s1.summary()
        );
    }
    let log = p.daemon(R2).log();
    assert!(
        log.contains("received an invalid passwd"),
        "keepalived did not reject tandem's password:\n{log}"
    );
    let stays = holds_during(
        Duration::from_millis(500),
        Duration::from_millis(100),
        || p.vips(R2).is_ok_and(|v| v.both()),
    );
    assert!(stays.is_ok(), "keepalived lost its VIPs");
}
