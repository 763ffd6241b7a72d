//! Unit tests: one per rule of the state machine.

extern crate std;

use std::string::ToString;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::time::{Duration, Instant};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn cfg(priority: u8, last: u8) -> Config {
    Config::new(51, priority, ip(last))
}

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn adv(last: u8, priority: u8) -> Advert {
    Advert {
        src: ip(last),
        priority,
        adver_int: Duration::from_secs(1),
    }
}

/// All queued actions, checking the per-call bound of the module docs.
fn drain<const N: usize>(node: &mut Node<N>) -> Vec<Action> {
    let actions = drain_unchecked(node);
    for i in 0..N {
        let n = actions.iter().filter(|a| a.instance() == i).count();
        assert!(n <= MAX_ACTIONS_PER_CALL, "{n} actions for instance {i}");
    }
    actions
}

fn drain_unchecked<const N: usize>(node: &mut Node<N>) -> Vec<Action> {
    core::iter::from_fn(|| node.poll_action()).collect()
}

fn tr(instance: usize, from: State, to: State, reason: Reason) -> Action {
    Action::Transition {
        instance,
        from,
        to,
        reason,
    }
}

fn became_master(i: usize, from: State, reason: Reason, priority: u8) -> Vec<Action> {
    std::vec![
        tr(i, from, State::Master, reason),
        Action::SendAdvert {
            instance: i,
            priority
        },
        Action::AddAddresses { instance: i },
        Action::Announce { instance: i },
    ]
}

/// A node with one started instance, actions drained.
fn started(c: Config, now: Instant) -> Node<4> {
    let mut node = Node::new();
    assert_eq!(node.add_instance(c), Ok(0));
    node.start(now);
    drain(&mut node);
    node
}

/// A started instance that became MASTER at `master_at`.
fn master(c: Config) -> (Node<4>, Instant) {
    let mut node = started(c, ms(0));
    let at = node.poll_timeout().unwrap();
    node.handle_timeout(at);
    drain(&mut node);
    assert_eq!(node.state(0), State::Master);
    (node, at)
}

#[test]
fn skew_and_master_down_interval_follow_the_rfcs() {
    // v2: (256 - 100) / 256 s = 0.609375 s.
    let one = Duration::from_secs(1);
    assert_eq!(
        skew_time(Version::V2, 100, one),
        Duration::from_micros(609_375)
    );
    assert_eq!(
        master_down_interval(Version::V2, 100, one),
        Duration::from_micros(3_609_375)
    );
    // v2 ignores the interval for the skew.
    assert_eq!(
        skew_time(Version::V2, 100, Duration::from_secs(3)),
        Duration::from_micros(609_375)
    );
    // v3: (256 - 100) * 0.1 s / 256 = 60.9375 ms.
    let cs10 = Duration::from_centis(10);
    assert_eq!(
        skew_time(Version::V3, 100, cs10),
        Duration::from_micros(60_937)
    );
    assert_eq!(
        master_down_interval(Version::V3, 100, cs10),
        Duration::from_micros(360_937)
    );
    assert_eq!(
        skew_time(Version::V2, 255, one),
        Duration::from_micros(3_906)
    );
}

#[test]
fn start_goes_backup_with_master_down_timer() {
    let mut node = Node::<4>::new();
    node.add_instance(cfg(100, 1)).unwrap();
    assert_eq!(node.poll_timeout(), None);
    node.start(ms(1000));
    assert_eq!(
        drain(&mut node),
        [tr(0, State::Initialize, State::Backup, Reason::Startup)]
    );
    assert_eq!(node.state(0), State::Backup);
    assert_eq!(
        node.poll_timeout(),
        Some(ms(1000) + Duration::from_micros(3_609_375))
    );
    // start again is a no-op.
    node.start(ms(1500));
    assert!(drain(&mut node).is_empty());
}

#[test]
fn master_down_timer_expiry_takes_over_in_order() {
    let mut node = started(cfg(100, 1), ms(0));
    let at = node.poll_timeout().unwrap();
    node.handle_timeout(at - Duration::from_micros(1));
    assert!(drain(&mut node).is_empty());
    node.handle_timeout(at);
    assert_eq!(
        drain(&mut node),
        became_master(0, State::Backup, Reason::MasterDown, 100)
    );
    assert_eq!(node.master_addr(0), Some(ip(1)));
    assert_eq!(node.transitions(0), 2);
    assert_eq!(node.last_transition(0), Some((at, Reason::MasterDown)));
    assert_eq!(node.poll_timeout(), Some(at + Duration::from_secs(1)));
}

#[test]
fn owner_becomes_master_at_start() {
    let mut node = Node::<4>::new();
    node.add_instance(cfg(255, 1)).unwrap();
    node.start(ms(0));
    assert_eq!(
        drain(&mut node),
        became_master(0, State::Initialize, Reason::Startup, 255)
    );
}

#[test]
fn initial_state_master_shortens_the_first_timer() {
    let mut c = cfg(100, 1);
    c.initial = State::Master;
    let node = started(c, ms(0));
    assert_eq!(node.state(0), State::Backup);
    // adver_int + skew instead of 3 × adver_int + skew.
    assert_eq!(
        node.poll_timeout(),
        Some(Instant::ZERO + Duration::from_micros(1_609_375))
    );
}

#[test]
fn spurious_timeouts_are_no_ops() {
    let (mut node, at) = master(cfg(100, 1));
    for t in [
        at,
        at + Duration::from_millis(10),
        at + Duration::from_millis(999),
    ] {
        node.handle_timeout(t);
        assert!(drain(&mut node).is_empty(), "at {t}");
    }
    let mut b = started(cfg(100, 1), ms(0));
    b.handle_timeout(ms(0));
    b.handle_timeout(ms(3000));
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.state(0), State::Backup);
}

#[test]
fn backup_priority_zero_sets_timer_to_skew() {
    let mut node = started(cfg(100, 1), ms(0));
    node.handle_advert(ms(500), 0, &adv(2, 150));
    assert_eq!(node.master_addr(0), Some(ip(2)));
    node.handle_advert(ms(1000), 0, &adv(2, 0));
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.master_addr(0), None);
    let at = ms(1000) + Duration::from_micros(609_375);
    assert_eq!(node.poll_timeout(), Some(at));
    node.handle_timeout(at);
    assert_eq!(
        drain(&mut node),
        became_master(0, State::Backup, Reason::MasterReleased, 100)
    );
}

#[test]
fn backup_higher_or_equal_priority_resets_timer() {
    for priority in [100, 200] {
        let mut node = started(cfg(100, 1), ms(0));
        node.handle_advert(ms(3000), 0, &adv(2, priority));
        assert_eq!(
            node.poll_timeout(),
            Some(ms(3000) + Duration::from_micros(3_609_375))
        );
        assert_eq!(node.master_addr(0), Some(ip(2)));
        assert!(drain(&mut node).is_empty());
    }
}

#[test]
fn backup_ignores_lower_priority_when_preempting() {
    let mut node = started(cfg(100, 1), ms(0));
    let at = node.poll_timeout().unwrap();
    node.handle_advert(ms(3000), 0, &adv(2, 50));
    assert_eq!(node.poll_timeout(), Some(at), "timer not reset");
    node.handle_timeout(at);
    assert_eq!(
        drain(&mut node),
        became_master(0, State::Backup, Reason::Preempt, 100)
    );
}

#[test]
fn nopreempt_backup_accepts_lower_priority_master() {
    let mut c = cfg(100, 1);
    c.preempt = false;
    let mut node = started(c, ms(0));
    node.handle_advert(ms(3000), 0, &adv(2, 50));
    assert_eq!(
        node.poll_timeout(),
        Some(ms(3000) + Duration::from_micros(3_609_375))
    );
    assert_eq!(node.master_addr(0), Some(ip(2)));
}

#[test]
fn preempt_delay_holds_preemption_after_start_and_after_a_lower_master_appears() {
    let mut c = cfg(100, 1);
    c.preempt_delay = Duration::from_secs(10);
    let mut node = started(c, ms(0));
    // Within 10 s of start-up a lower master is accepted.
    node.handle_advert(ms(9000), 0, &adv(2, 50));
    assert_eq!(
        node.poll_timeout(),
        Some(ms(9000) + Duration::from_micros(3_609_375))
    );
    // After that, it is ignored.
    let at = node.poll_timeout().unwrap();
    node.handle_advert(ms(10_000), 0, &adv(2, 50));
    assert_eq!(node.poll_timeout(), Some(at));
    node.handle_timeout(at);
    assert_eq!(node.state(0), State::Master);

    // A higher master clears the delay; the next lower one restarts it.
    let mut node = started(c, ms(0));
    node.handle_advert(ms(20_000), 0, &adv(2, 200));
    node.handle_advert(ms(21_000), 0, &adv(2, 50));
    assert_eq!(
        node.poll_timeout(),
        Some(ms(21_000) + Duration::from_micros(3_609_375)),
        "accepted: delay restarted at 21 s"
    );
    node.handle_advert(ms(30_000), 0, &adv(2, 50));
    assert_eq!(
        node.poll_timeout(),
        Some(ms(30_000) + Duration::from_micros(3_609_375)),
        "still within 10 s of 21 s"
    );
    let at = node.poll_timeout().unwrap();
    node.handle_advert(ms(31_000), 0, &adv(2, 50));
    assert_eq!(node.poll_timeout(), Some(at), "delay over: ignored");
}

#[test]
fn master_yields_to_higher_priority() {
    let (mut node, _) = master(cfg(100, 1));
    node.handle_advert(ms(5000), 0, &adv(2, 101));
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Master, State::Backup, Reason::HigherPriority),
            Action::RemoveAddresses { instance: 0 },
        ]
    );
    assert_eq!(node.master_addr(0), Some(ip(2)));
    assert_eq!(
        node.poll_timeout(),
        Some(ms(5000) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn master_tie_break_on_primary_address() {
    // Equal priority from a greater address: yield.
    let (mut node, _) = master(cfg(100, 5));
    node.handle_advert(ms(5000), 0, &adv(6, 100));
    assert_eq!(
        drain(&mut node)[0],
        tr(0, State::Master, State::Backup, Reason::HigherAddress)
    );
    // Equal priority from a smaller address: stay, answer at once.
    let (mut node, _) = master(cfg(100, 5));
    node.handle_advert(ms(5000), 0, &adv(4, 100));
    assert_eq!(
        drain(&mut node),
        [Action::SendAdvert {
            instance: 0,
            priority: 100
        }]
    );
    assert_eq!(node.state(0), State::Master);
    // IPv6 link-local addresses compare the same way.
    let a = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let b = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
    let (mut node, _) = master(Config::new(1, 100, a));
    node.handle_advert(
        ms(5000),
        0,
        &Advert {
            src: b,
            priority: 100,
            adver_int: Duration::from_secs(1),
        },
    );
    assert_eq!(node.state(0), State::Backup);
}

#[test]
fn master_answers_lower_priority_and_release_at_once() {
    for p in [0, 50] {
        let (mut node, at) = master(cfg(100, 1));
        node.handle_advert(at + Duration::from_millis(300), 0, &adv(2, p));
        assert_eq!(
            drain(&mut node),
            [Action::SendAdvert {
                instance: 0,
                priority: 100
            }]
        );
        assert_eq!(node.state(0), State::Master);
    }
}

#[test]
fn own_looped_back_advert_is_ignored() {
    let (mut node, _) = master(cfg(100, 1));
    node.handle_advert(ms(9000), 0, &adv(1, 200));
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.state(0), State::Master);
}

#[test]
fn master_sends_adverts_and_announces_after_delay_and_refresh() {
    let mut c = cfg(100, 1);
    c.garp_master_refresh = Some(Duration::from_secs(60));
    let (mut node, at) = master(c);
    let mut adverts = 0;
    let mut announces = Vec::new();
    let mut now = at;
    while now < at + Duration::from_secs(125) {
        now = node.poll_timeout().unwrap();
        node.handle_timeout(now);
        for a in drain(&mut node) {
            match a {
                Action::SendAdvert { priority: 100, .. } => adverts += 1,
                Action::Announce { .. } => announces.push(now - at),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(adverts, 125);
    assert_eq!(
        announces,
        [
            Duration::from_secs(5),
            Duration::from_secs(60),
            Duration::from_secs(120)
        ]
    );
}

#[test]
fn late_timeout_sends_one_advert_not_a_burst() {
    let (mut node, at) = master(cfg(100, 1));
    let late = at + Duration::from_secs(10);
    node.handle_timeout(late);
    let sent = drain(&mut node)
        .iter()
        .filter(|a| matches!(a, Action::SendAdvert { .. }))
        .count();
    assert_eq!(sent, 1);
    assert_eq!(node.poll_timeout(), Some(late + Duration::from_secs(1)));
}

#[test]
fn shutdown_releases_with_priority_zero() {
    let (mut node, _) = master(cfg(100, 1));
    node.shutdown(ms(9000));
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Master, State::Initialize, Reason::Shutdown),
            Action::SendAdvert {
                instance: 0,
                priority: 0
            },
            Action::RemoveAddresses { instance: 0 },
        ]
    );
    assert_eq!(node.poll_timeout(), None);
    // A backup only logs.
    let mut b = started(cfg(100, 1), ms(0));
    b.shutdown(ms(10));
    assert_eq!(
        drain(&mut b),
        [tr(0, State::Backup, State::Initialize, Reason::Shutdown)]
    );
    // A second shutdown does nothing; start brings it back.
    b.shutdown(ms(20));
    assert!(drain(&mut b).is_empty());
    b.start(ms(30));
    assert_eq!(b.state(0), State::Backup);
}

#[test]
fn fault_releases_mastership_and_clears_to_backup() {
    let (mut node, _) = master(cfg(100, 1));
    node.set_fault(ms(9000), 0, true);
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Master, State::Fault, Reason::Fault),
            Action::SendAdvert {
                instance: 0,
                priority: 0
            },
            Action::RemoveAddresses { instance: 0 },
        ]
    );
    assert_eq!(node.poll_timeout(), None);
    assert!(node.fault(0));
    // Adverts and repeated faults are ignored in FAULT.
    node.handle_advert(ms(9500), 0, &adv(2, 50));
    node.set_fault(ms(9600), 0, true);
    node.handle_timeout(ms(99_000));
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.state(0), State::Fault);
    node.set_fault(ms(100_000), 0, false);
    assert_eq!(
        drain(&mut node),
        [tr(0, State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(
        node.poll_timeout(),
        Some(ms(100_000) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn fault_before_start_starts_in_fault() {
    let mut node = Node::<4>::new();
    node.add_instance(cfg(255, 1)).unwrap();
    node.set_fault(ms(0), 0, true);
    assert!(drain(&mut node).is_empty());
    node.start(ms(1));
    assert_eq!(
        drain(&mut node),
        [tr(0, State::Initialize, State::Fault, Reason::Fault)]
    );
}

#[test]
fn set_priority_master_advertises_at_once() {
    let (mut node, _) = master(cfg(100, 1));
    node.set_priority(ms(9000), 0, 90);
    assert_eq!(
        drain(&mut node),
        [Action::SendAdvert {
            instance: 0,
            priority: 90
        }]
    );
    assert_eq!(node.priority(0), 90);
    // The Adver_Timer restarted: the next advert is one interval later.
    node.handle_timeout(ms(9999));
    assert!(!drain(&mut node)
        .iter()
        .any(|a| matches!(a, Action::SendAdvert { .. })));
    node.handle_timeout(ms(10_000));
    assert_eq!(
        drain(&mut node),
        [Action::SendAdvert {
            instance: 0,
            priority: 90
        }]
    );
    // Unchanged: nothing. 0 reads as 1.
    node.set_priority(ms(9100), 0, 90);
    assert!(drain(&mut node).is_empty());
    node.set_priority(ms(9200), 0, 0);
    assert_eq!(node.priority(0), 1);
    // A backup raises its priority: it preempts the lower master.
    let mut b = started(cfg(100, 1), ms(0));
    b.handle_advert(ms(1000), 0, &adv(2, 150));
    b.set_priority(ms(1100), 0, 200);
    assert!(drain(&mut b).is_empty());
    let at = b.poll_timeout().unwrap();
    b.handle_advert(ms(2000), 0, &adv(2, 150));
    assert_eq!(b.poll_timeout(), Some(at));
    b.handle_timeout(at);
    assert_eq!(b.state(0), State::Master);
}

#[test]
fn reconfigure_unchanged_is_silent_changed_priority_applies() {
    let c = cfg(100, 1);
    let (mut node, _) = master(c);
    let timeout = node.poll_timeout();
    let transitions = node.transitions(0);
    node.reconfigure(ms(9000), 0, c);
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.state(0), State::Master);
    assert_eq!(node.poll_timeout(), timeout);
    assert_eq!(node.transitions(0), transitions);

    let mut c2 = c;
    c2.priority = 120;
    node.reconfigure(ms(9000), 0, c2);
    assert_eq!(
        drain(&mut node),
        [Action::SendAdvert {
            instance: 0,
            priority: 120
        }]
    );
    assert_eq!(node.state(0), State::Master);
    assert_eq!(node.config(0), Some(&c2));

    // Invalid: rejected, nothing changes.
    let mut bad = c2;
    bad.priority = 0;
    assert_eq!(bad.validate(), Err(Error::Priority));
    node.reconfigure(ms(9000), 0, bad);
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.config(0), Some(&c2));

    // A backup with a changed preempt flag keeps its state silently.
    let mut b = started(c, ms(0));
    let mut c3 = c;
    c3.preempt = false;
    b.reconfigure(ms(10), 0, c3);
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.state(0), State::Backup);
}

#[test]
fn retire_releases_and_keeps_the_slot() {
    let mut node = Node::<2>::new();
    node.add_instance(cfg(255, 1)).unwrap();
    node.add_instance(cfg(100, 2)).unwrap();
    assert_eq!(node.add_instance(cfg(100, 3)), Err(Error::Capacity));
    node.start(ms(0));
    drain(&mut node);
    node.retire(ms(100), 0);
    node.retire(ms(100), 0);
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Master, State::Initialize, Reason::Retired),
            Action::SendAdvert {
                instance: 0,
                priority: 0
            },
            Action::RemoveAddresses { instance: 0 },
        ]
    );
    // Inputs to a retired instance are ignored.
    node.set_fault(ms(200), 0, true);
    node.handle_advert(ms(200), 0, &adv(9, 200));
    node.start(ms(200));
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.state(0), State::Initialize);
    // Its slot stays taken: indices are stable.
    assert_eq!(node.add_instance(cfg(100, 3)), Err(Error::Capacity));
    assert_eq!(node.len(), 2);
}

#[test]
fn add_instance_rejects_invalid_configs() {
    let mut node = Node::<2>::new();
    assert!(node.is_empty());
    assert_eq!(node.add_instance(cfg(0, 1)), Err(Error::Priority));
    let mut c = cfg(100, 1);
    c.vrid = 0;
    assert_eq!(node.add_instance(c), Err(Error::Vrid));
    assert!(!Error::Capacity.to_string().is_empty());
}

#[test]
fn v3_backup_learns_master_adver_int() {
    let mut c = cfg(100, 1);
    c.version = Version::V3;
    let mut node = started(c, ms(0));
    assert_eq!(
        node.master_down_interval(0),
        Some(Duration::from_micros(3_609_375))
    );
    node.handle_advert(
        ms(100),
        0,
        &Advert {
            src: ip(2),
            priority: 200,
            adver_int: Duration::from_centis(10),
        },
    );
    // 3 × 0.1 s + (256 − 100) × 0.1 s / 256.
    assert_eq!(
        node.master_down_interval(0),
        Some(Duration::from_micros(360_937))
    );
    assert_eq!(
        node.poll_timeout(),
        Some(ms(100) + Duration::from_micros(360_937))
    );
    // v2 does not learn.
    let mut node = started(cfg(100, 1), ms(0));
    node.handle_advert(
        ms(100),
        0,
        &Advert {
            src: ip(2),
            priority: 200,
            adver_int: Duration::from_secs(3),
        },
    );
    assert_eq!(
        node.master_down_interval(0),
        Some(Duration::from_micros(3_609_375))
    );
}

#[test]
fn zero_interval_is_clamped() {
    let mut c = cfg(255, 1);
    c.adver_int = Duration::ZERO;
    let mut node = started(c, ms(0));
    assert_eq!(node.poll_timeout(), Some(ms(10)));
    node.handle_timeout(ms(10));
    assert_eq!(drain(&mut node).len(), 1);
}

fn group_cfg(priority: u8, last: u8, vrid: u8) -> Config {
    let mut c = Config::new(vrid, priority, ip(last));
    c.sync_group = Some(0);
    c
}

/// Two instances in one sync group, started, actions drained.
fn group_node(priority: u8) -> Node<4> {
    let mut node = Node::new();
    node.add_instance(group_cfg(priority, 1, 1)).unwrap();
    node.add_instance(group_cfg(priority, 1, 2)).unwrap();
    node.start(ms(0));
    drain(&mut node);
    node
}

#[test]
fn sync_group_goes_master_together() {
    let mut node = group_node(100);
    let at = node.poll_timeout().unwrap();
    node.handle_timeout(at);
    // Member 0 fired first but waited for member 1, whose timer fired in
    // the same call: member 1 leads, member 0 follows.
    let mut expected = Vec::new();
    expected.extend(became_master(1, State::Backup, Reason::MasterDown, 100));
    expected.extend(became_master(0, State::Backup, Reason::SyncGroup, 100));
    assert_eq!(drain(&mut node), expected);
}

#[test]
fn sync_group_waits_until_every_member_wants_master() {
    let mut node = group_node(100);
    // Member 1 keeps hearing a master; member 0 does not.
    node.handle_advert(ms(3000), 1, &adv(2, 200));
    let at0 = Instant::ZERO + Duration::from_micros(3_609_375);
    node.handle_timeout(at0);
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.state(0), State::Backup, "prefers BACKUP");
    // Member 0 re-armed its timer; member 1's fires first.
    assert_eq!(
        node.poll_timeout(),
        Some(ms(3000) + Duration::from_micros(3_609_375))
    );
    // The master of member 1 dies too: its timer fires, the group goes.
    node.handle_timeout(ms(3000) + Duration::from_micros(3_609_375));
    let actions = drain(&mut node);
    assert_eq!(
        actions[0],
        tr(1, State::Backup, State::Master, Reason::MasterDown)
    );
    assert_eq!(node.state(0), State::Master);
    assert_eq!(node.state(1), State::Master);
}

#[test]
fn sync_group_goes_backup_together() {
    let mut node = group_node(100);
    let at = node.poll_timeout().unwrap();
    node.handle_timeout(at);
    drain(&mut node);
    node.handle_advert(ms(5000), 0, &adv(2, 200));
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Master, State::Backup, Reason::HigherPriority),
            Action::RemoveAddresses { instance: 0 },
            tr(1, State::Master, State::Backup, Reason::SyncGroup),
            Action::RemoveAddresses { instance: 1 },
        ]
    );
}

#[test]
fn sync_group_fault_moves_all_members_and_clears_when_all_clear() {
    let mut node = group_node(100);
    let at = node.poll_timeout().unwrap();
    node.handle_timeout(at);
    drain(&mut node);
    node.set_fault(ms(5000), 1, true);
    assert_eq!(
        drain(&mut node),
        [
            tr(1, State::Master, State::Fault, Reason::Fault),
            Action::SendAdvert {
                instance: 1,
                priority: 0
            },
            Action::RemoveAddresses { instance: 1 },
            tr(0, State::Master, State::Fault, Reason::SyncGroup),
            Action::SendAdvert {
                instance: 0,
                priority: 0
            },
            Action::RemoveAddresses { instance: 0 },
        ]
    );
    node.set_fault(ms(5100), 0, true);
    assert!(drain(&mut node).is_empty());
    node.set_fault(ms(5200), 1, false);
    assert!(drain(&mut node).is_empty(), "member 0 still faulty");
    assert_eq!(node.state(1), State::Fault);
    node.set_fault(ms(5300), 0, false);
    assert_eq!(
        drain(&mut node),
        [
            tr(0, State::Fault, State::Backup, Reason::FaultCleared),
            tr(1, State::Fault, State::Backup, Reason::SyncGroup),
        ]
    );
}

#[test]
fn sync_group_owner_at_start_takes_the_group() {
    let mut node = Node::<4>::new();
    node.add_instance(group_cfg(100, 1, 1)).unwrap();
    node.add_instance(group_cfg(255, 1, 2)).unwrap();
    node.start(ms(0));
    let mut expected = became_master(1, State::Initialize, Reason::Startup, 255);
    expected.extend(became_master(0, State::Initialize, Reason::SyncGroup, 100));
    assert_eq!(drain(&mut node), expected);
    assert_eq!(node.last_transition(0), Some((ms(0), Reason::SyncGroup)));

    // An owner added on reload takes the running group along.
    let mut node = group_node(100);
    node.add_instance(group_cfg(255, 1, 3)).unwrap();
    node.start(ms(50));
    let mut expected = became_master(2, State::Initialize, Reason::Startup, 255);
    expected.extend(became_master(0, State::Backup, Reason::SyncGroup, 100));
    expected.extend(became_master(1, State::Backup, Reason::SyncGroup, 100));
    assert_eq!(drain(&mut node), expected);

    // A member added to a group in FAULT starts in FAULT.
    let mut node = group_node(100);
    node.set_fault(ms(10), 0, true);
    drain(&mut node);
    node.add_instance(group_cfg(100, 1, 3)).unwrap();
    node.start(ms(20));
    assert_eq!(
        drain(&mut node),
        [tr(2, State::Initialize, State::Fault, Reason::SyncGroup)]
    );
}

#[test]
fn undrained_queue_drops_oldest_but_keeps_address_state() {
    let (mut node, at) = master(cfg(100, 1));
    // Many adverts without draining: only the newest survive.
    let mut now = at;
    for _ in 0..20 {
        now = node.poll_timeout().unwrap();
        node.handle_timeout(now);
    }
    assert_eq!(drain_unchecked(&mut node).len(), ACTION_QUEUE);
    assert!(node.dropped_actions() > 0);
    // Flap between MASTER and BACKUP without draining: the last address
    // action wins and Add/Remove still alternate.
    for k in 0..10u64 {
        let t = now + Duration::from_secs(10 * (k + 1));
        node.handle_advert(t, 0, &adv(2, 200));
        let down = node.poll_timeout().unwrap();
        node.handle_timeout(down);
    }
    assert_eq!(node.state(0), State::Master);
    let addr: Vec<_> = drain_unchecked(&mut node)
        .into_iter()
        .filter(|a| {
            matches!(
                a,
                Action::AddAddresses { .. } | Action::RemoveAddresses { .. }
            )
        })
        .collect();
    assert!(!addr.is_empty());
    // The port had the addresses on: the first queued is a Remove, the last an Add.
    assert!(matches!(addr[0], Action::RemoveAddresses { .. }));
    assert!(matches!(addr[addr.len() - 1], Action::AddAddresses { .. }));
    for w in addr.windows(2) {
        assert_ne!(
            core::mem::discriminant(&w[0]),
            core::mem::discriminant(&w[1])
        );
    }
}

#[test]
fn unknown_instance_indices_never_panic() {
    let mut node = Node::<1>::new();
    node.handle_advert(ms(0), 7, &adv(2, 100));
    node.set_fault(ms(0), 7, true);
    node.set_priority(ms(0), 7, 5);
    node.retire(ms(0), 7);
    node.reconfigure(ms(0), 7, cfg(100, 1));
    assert_eq!(node.state(7), State::Initialize);
    assert_eq!(node.priority(7), 0);
    assert_eq!(node.master_addr(7), None);
    assert_eq!(node.transitions(7), 0);
    assert_eq!(node.last_transition(7), None);
    assert_eq!(node.config(7), None);
    assert!(node.poll_action().is_none());
}

#[test]
fn displays_are_readable() {
    assert_eq!(State::Master.to_string(), "MASTER");
    assert_eq!(State::Backup.to_string(), "BACKUP");
    assert_eq!(State::Fault.to_string(), "FAULT");
    assert_eq!(State::Initialize.to_string(), "INIT");
    for r in [
        Reason::Startup,
        Reason::MasterDown,
        Reason::MasterReleased,
        Reason::Preempt,
        Reason::HigherPriority,
        Reason::HigherAddress,
        Reason::Fault,
        Reason::FaultCleared,
        Reason::SyncGroup,
        Reason::Shutdown,
        Reason::Retired,
    ] {
        assert!(!r.to_string().is_empty());
    }
    assert_eq!(Action::Announce { instance: 3 }.instance(), 3);
}
