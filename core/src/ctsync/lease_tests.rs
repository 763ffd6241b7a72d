//! Lease sync over the conntrack stream: deterministic simulations (the
//! [`sim`](super::sim) pair) and unit tests of the lease ring.

extern crate std;

use std::boxed::Box;
use std::collections::BTreeSet;
use std::format;
use std::vec;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr};

use tandem_protocol::lease::{ClientId, Expiry, Hostname, HwAddr, Lease, Lease4};
use tandem_protocol::sync::{self, FrameWriter, Header, Record};

use super::sim::{key, leak_window, nat_entry, random_event, Pair, Rng, Router};
use super::window::{LeaseOp, TxItem, Window};
use super::*;
use crate::lease::{LeaseTable, Origin, Slot as LeaseSlot};
use crate::time::{Duration, Instant};

/// Wall-clock seconds at the simulation's start (monotonic 1000 s).
const WALL: u64 = 1_700_000_000;

/// The wall clock at monotonic `now`.
fn wall(now: Instant) -> u64 {
    (WALL + now.as_millis() / 1000).saturating_sub(1000)
}

fn leak_leases(n: usize) -> &'static mut [LeaseSlot] {
    Box::leak(vec![LeaseSlot::EMPTY; n].into_boxed_slice())
}

fn leak_ring(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

/// Client `n`'s IPv4 lease, ending at `expires`.
fn lease(n: u8, expires: u64) -> Lease {
    Lease::V4(Lease4 {
        expires: Expiry::from_raw(expires),
        hwaddr: HwAddr::ethernet([0x02, 0, 0, 0, 0, n]),
        addr: Ipv4Addr::new(192, 168, 1, 100u8.wrapping_add(n)),
        hostname: Hostname::new(&format!("host-{n}")).unwrap(),
        client_id: ClientId::new(),
    })
}

fn router(id: u32, epoch: u32, leases: usize, ring: usize, now: Instant) -> Router {
    let mut r = Router::new(id, epoch, 4096, 512, Filter::new());
    let table = LeaseTable::new(
        leak_leases(leases),
        leak_ring(crate::lease::pool_len(leases)),
    );
    assert!(r.sync.attach_leases(now, table, leak_ring(ring)).is_none());
    r.sync.set_wall_clock(now, wall(now));
    r
}

/// A pair with leases on both routers: router 0 MASTER, router 1 BACKUP.
fn lease_pair(seed: u64, capacity: usize) -> Pair {
    let now = Instant::from_secs(1000);
    let a = router(1, 10, capacity, DEFAULT_LEASE_RING, now);
    let b = router(2, 20, capacity, DEFAULT_LEASE_RING, now);
    let mut pair = Pair::new(seed, a, b);
    assert_eq!(pair.now, now);
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair
}

/// Runs until the routers know each other and the backup's first full
/// resync is complete (with loss, the first frames may take a few
/// seconds to get through).
fn settle(pair: &mut Pair) {
    let until = pair.now + Duration::from_secs(30);
    while pair.now < until {
        pair.run_for(Duration::from_millis(100));
        let (m, b) = (&pair.r[0].sync, &pair.r[1].sync);
        if m.peer_live(0)
            && b.peer_live(0)
            && b.counters().resyncs_completed > 0
            && m.window_len() == 0
        {
            return;
        }
    }
    panic!("the pair does not settle");
}

fn table(r: &Router) -> BTreeSet<Lease> {
    r.sync.leases().unwrap().iter().collect()
}

/// Router `i`'s DHCP server now has exactly `leases` (its lease file as a
/// whole, as the port applies it after dnsmasq rewrote the file).
fn dhcp_file(pair: &mut Pair, i: usize, leases: &[Lease]) {
    let wall = wall(pair.now);
    let t = pair.r[i].sync.leases_mut().unwrap();
    let sum = t.apply_snapshot(wall, leases.iter().rev().copied(), |_, r| {
        assert!(r.is_ok());
    });
    assert_eq!(sum.full, 0);
}

/// Runs until router `to`'s table equals router `from`'s (or `limit`
/// passes); how long that took.
fn time_to_converge(pair: &mut Pair, from: usize, to: usize, limit: Duration) -> Option<Duration> {
    let start = pair.now;
    let until = start + limit;
    let mut at = None;
    pair.run_until(until, |p| {
        if at.is_none() && table(&p.r[to]) == table(&p.r[from]) {
            at = Some(p.now);
        }
    });
    if at.is_none() && table(&pair.r[to]) == table(&pair.r[from]) {
        at = Some(pair.now);
    }
    at.map(|t| t.saturating_duration_since(start))
}

fn leases_20(expires: u64) -> Vec<Lease> {
    (1..=20).map(|n| lease(n, expires)).collect()
}

/// 20 leases appear on the MASTER; the BACKUP's table equals the master's
/// within 1 s of simulated time, without loss and with 20 % loss both
/// ways, while conntrack entries stream on the same channel.
#[test]
fn twenty_leases_reach_the_backup_within_a_second() {
    let mut worst = Duration::ZERO;
    for (seed, loss) in (1..=100).map(|s| (s, if s <= 5 { 0 } else { 20 })) {
        let mut pair = lease_pair(seed, 64);
        let mut rng = Rng::new(seed);
        for _ in 0..200 {
            let e = nat_entry(&mut rng);
            pair.r[0].table.insert(e.key(), e);
        }
        pair.loss = loss;
        settle(&mut pair);
        assert!(table(&pair.r[1]).is_empty());

        let wall = WALL + 3600;
        dhcp_file(&mut pair, 0, &leases_20(wall));
        assert_eq!(table(&pair.r[0]).len(), 20);
        let took = time_to_converge(&mut pair, 0, 1, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: no convergence"));
        assert!(
            took <= Duration::from_secs(1),
            "seed {seed}, loss {loss} %: {} ms",
            took.as_millis()
        );
        worst = worst.max(took);
        assert!(pair.r[1].actions.contains(&Action::LeasesChanged));
        let b = pair.r[1].sync.counters();
        assert!(b.lease_records_received >= 20, "{b:?}");
        assert_eq!(b.lease_table_full, 0);

        // Conntrack sync carried on meanwhile.
        pair.loss = 0;
        pair.run_for(Duration::from_secs(3));
        assert_eq!(pair.r[1].cache(), pair.r[0].table_view(), "seed {seed}");
    }
    std::println!("20 leases: worst propagation {} ms", worst.as_millis());
}

/// Leases that appear on the BACKUP (e.g. its DHCP server still ran) reach
/// the MASTER the same way: the design is symmetric.
#[test]
fn backup_side_leases_reach_the_master() {
    for seed in 1..=10 {
        let mut pair = lease_pair(seed, 64);
        pair.loss = 20;
        settle(&mut pair);
        dhcp_file(&mut pair, 1, &leases_20(WALL + 3600));
        let took = time_to_converge(&mut pair, 1, 0, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: no convergence"));
        assert!(took <= Duration::from_secs(1), "seed {seed}: {took:?}");
        assert!(pair.r[1].sync.counters().lease_changes_sent >= 20);
    }
}

/// Renewals and releases on the master propagate: a renewed lease replaces
/// the old line, released ones disappear from the backup.
#[test]
fn changes_and_deletes_propagate() {
    for seed in 1..=10 {
        let mut pair = lease_pair(seed, 64);
        pair.loss = 20;
        settle(&mut pair);
        let mut leases = leases_20(WALL + 3600);
        dhcp_file(&mut pair, 0, &leases);
        assert!(time_to_converge(&mut pair, 0, 1, Duration::from_secs(1)).is_some());

        // Five clients released their leases, three renewed.
        leases.drain(0..5);
        for l in leases.iter_mut().take(3) {
            l.set_expires(Expiry::from_raw(WALL + 7200));
        }
        dhcp_file(&mut pair, 0, &leases);
        assert_eq!(pair.r[0].sync.leases().unwrap().pending_changes(), 8);
        let took = time_to_converge(&mut pair, 0, 1, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: no convergence"));
        assert!(took <= Duration::from_secs(1), "seed {seed}: {took:?}");
        let b = table(&pair.r[1]);
        assert_eq!(b.len(), 15);
        assert_eq!(b, leases.iter().copied().collect::<BTreeSet<_>>());
        for n in 1..=5 {
            let addr = lease(n, 0).addr();
            assert!(pair.r[1].sync.leases().unwrap().get(addr).is_none());
        }
    }
}

/// How long a restarted router may take to hold the whole table: 1 s on
/// a clean link; with 20 % loss its first frames (a resync request, then
/// one a second) may be lost too.
fn restart_bound(loss: u64) -> Duration {
    if loss == 0 {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(3)
    }
}

/// A restarted BACKUP (new epoch, empty table) receives the whole table.
#[test]
fn restarted_backup_receives_the_whole_table() {
    for (seed, loss) in (1..=12).map(|s| (s, if s <= 4 { 0 } else { 20 })) {
        let mut pair = lease_pair(seed, 64);
        pair.loss = loss;
        settle(&mut pair);
        dhcp_file(&mut pair, 0, &leases_20(WALL + 3600));
        assert!(time_to_converge(&mut pair, 0, 1, Duration::from_secs(1)).is_some());

        pair.r[1].up = false;
        pair.run_for(Duration::from_millis(500));
        let now = pair.now;
        let mut b = router(2, 21, 64, DEFAULT_LEASE_RING, now);
        b.sync.become_backup(now);
        pair.r[1] = b;
        assert!(table(&pair.r[1]).is_empty());
        let took = time_to_converge(&mut pair, 0, 1, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: no convergence"));
        assert!(took <= restart_bound(loss), "seed {seed}: {took:?}");
        assert!(pair.r[0]
            .actions
            .iter()
            .any(|a| matches!(a, Action::PeerRestarted { .. } | Action::PeerUp { .. })));
    }
}

/// The master dies; the backup takes over with every lease; the old
/// master returns empty — as BACKUP, or straight away as MASTER (a
/// preempting owner) — and receives the whole table, including leases the
/// new master handed out meanwhile.
#[test]
fn returning_master_receives_the_whole_table() {
    for (seed, back_as_master) in (1..=16).map(|s| (s, s % 2 == 0)) {
        let loss = if seed <= 4 { 0 } else { 20 };
        let mut pair = lease_pair(seed, 64);
        pair.loss = loss;
        settle(&mut pair);
        let leases = leases_20(WALL + 3600);
        dhcp_file(&mut pair, 0, &leases);
        assert!(time_to_converge(&mut pair, 0, 1, Duration::from_secs(1)).is_some());

        // Crash of router 0; router 1 takes over, its DHCP server starts
        // from the synced table and hands out one more lease.
        pair.r[0].up = false;
        pair.run_for(Duration::from_secs(4));
        let now = pair.now;
        pair.r[1].sync.become_master(now);
        let mut now_file: Vec<Lease> = table(&pair.r[1]).into_iter().collect();
        now_file.push(lease(21, WALL + 3700));
        dhcp_file(&mut pair, 1, &now_file);
        pair.run_for(Duration::from_millis(300));

        let now = pair.now;
        let mut a = router(1, 11, 64, DEFAULT_LEASE_RING, now);
        if back_as_master {
            a.sync.become_master(now);
            pair.r[1].sync.become_backup(now);
        } else {
            a.sync.become_backup(now);
        }
        pair.r[0] = a;
        let took = time_to_converge(&mut pair, 1, 0, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: no convergence"));
        assert!(
            took <= restart_bound(loss),
            "seed {seed} (master: {back_as_master}): {took:?}"
        );
        assert_eq!(table(&pair.r[0]).len(), 21);
    }
}

/// Once both tables agree nothing more is sent: merged peer leases are not
/// echoed back, and the link carries only alives.
#[test]
fn no_echo_once_converged() {
    let mut pair = lease_pair(5, 64);
    pair.run_for(Duration::from_secs(1));
    dhcp_file(&mut pair, 0, &leases_20(WALL + 3600));
    pair.run_for(Duration::from_secs(2));
    assert_eq!(table(&pair.r[0]), table(&pair.r[1]));
    let c0 = *pair.r[0].sync.counters();
    let c1 = *pair.r[1].sync.counters();
    // Unchanged file: no change queued.
    dhcp_file(&mut pair, 0, &leases_20(WALL + 3600));
    pair.run_for(Duration::from_secs(10));
    let d0 = pair.r[0].sync.counters();
    let d1 = pair.r[1].sync.counters();
    assert_eq!(d0.lease_changes_sent, c0.lease_changes_sent);
    assert_eq!(d1.lease_changes_sent, c1.lease_changes_sent);
    assert_eq!(d0.records_sent, c0.records_sent);
    assert_eq!(d1.records_sent, c1.records_sent);
    // About one alive a second each way.
    let frames = d0.frames_sent - c0.frames_sent + d1.frames_sent - c1.frames_sent;
    assert!(frames <= 24, "{frames}");
}

/// A full resend of a large table through a small ring: the table is the
/// queue, nothing is lost, and conntrack entries still get through.
#[test]
fn large_table_through_a_small_ring() {
    let now = Instant::from_secs(1000);
    let a = router(1, 10, 1024, 1024, now);
    let b = router(2, 20, 1024, 1024, now);
    let mut pair = Pair::new(17, a, b);
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.loss = 20;
    pair.run_for(Duration::from_secs(1));
    let leases: Vec<Lease> = (0..1000u32)
        .map(|n| {
            let mut l = lease((n % 250) as u8, WALL + 3600 + u64::from(n));
            if let Lease::V4(v4) = &mut l {
                v4.addr = Ipv4Addr::new(10, 1, (n / 250) as u8, (n % 250) as u8);
                v4.hwaddr = HwAddr::ethernet([2, 1, 0, 0, (n >> 8) as u8, n as u8]);
            }
            l
        })
        .collect();
    dhcp_file(&mut pair, 0, &leases);
    let mut last = pair.now;
    let until = pair.now + Duration::from_secs(10);
    pair.run_until(until, |p| {
        while last + Duration::from_millis(10) <= p.now {
            last += Duration::from_millis(10);
            random_event(p, 0);
        }
    });
    pair.loss = 0;
    pair.run_for(Duration::from_secs(3));
    assert_eq!(table(&pair.r[1]).len(), 1000);
    assert_eq!(table(&pair.r[0]), table(&pair.r[1]));
    assert_eq!(pair.r[1].cache(), pair.r[0].table_view());
    assert!(pair.r[0].sync.leases_in_flight() <= 30);
    assert_eq!(pair.r[0].sync.counters().leases_unsendable, 0);
}

/// A backup whose lease table is too small counts what it cannot keep.
#[test]
fn full_lease_table_is_counted() {
    let now = Instant::from_secs(1000);
    let a = router(1, 10, 64, DEFAULT_LEASE_RING, now);
    let b = router(2, 20, 8, DEFAULT_LEASE_RING, now);
    let mut pair = Pair::new(3, a, b);
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.run_for(Duration::from_secs(1));
    dhcp_file(&mut pair, 0, &leases_20(WALL + 3600));
    pair.run_for(Duration::from_secs(1));
    assert_eq!(table(&pair.r[1]).len(), 8);
    assert_eq!(pair.r[1].sync.counters().lease_table_full, 12);
    assert_eq!(pair.r[1].sync.leases().unwrap().stats().full, 12);
}

/// A peer's lease for an address another client holds: the newer one is
/// kept and the conflict reported.
#[test]
fn conflicts_are_reported() {
    let mut pair = lease_pair(4, 64);
    pair.run_for(Duration::from_secs(1));
    // The backup learnt client 1's lease for .101 (from its own server).
    let mine = lease(1, WALL + 100);
    pair.r[1]
        .sync
        .leases_mut()
        .unwrap()
        .merge(WALL + 1, &mine, Origin::Remote)
        .unwrap();
    // The master's server gave .101 to client 2, later.
    let mut theirs = lease(2, WALL + 3600);
    if let Lease::V4(l) = &mut theirs {
        l.addr = Ipv4Addr::new(192, 168, 1, 101);
    }
    dhcp_file(&mut pair, 0, &[theirs]);
    pair.run_for(Duration::from_secs(1));
    let addr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 101));
    assert!(pair.r[1].actions.contains(&Action::LeaseConflict { addr }));
    assert_eq!(pair.r[1].sync.leases().unwrap().get(addr), Some(theirs));
    assert_eq!(pair.r[1].sync.counters().lease_conflicts, 1);
}

/// Expired leases from a peer are not taken (the wall clock given by the
/// port decides); without a table, lease records are acknowledged and
/// ignored.
#[test]
fn expired_and_unwanted_leases() {
    let now = Instant::from_secs(1000);
    let a = router(1, 10, 64, DEFAULT_LEASE_RING, now);
    let mut b = Router::new(2, 20, 4096, 512, Filter::new());
    b.sync.set_wall_clock(now, wall(now));
    let mut pair = Pair::new(6, a, b);
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.run_for(Duration::from_secs(1));
    let mut leases = leases_20(WALL + 3600);
    leases[0].set_expires(Expiry::from_raw(WALL + 5));
    dhcp_file(&mut pair, 0, &leases);
    pair.run_for(Duration::from_secs(1));
    let c = pair.r[1].sync.counters();
    assert_eq!(c.lease_records_ignored, 20);
    assert_eq!(pair.r[0].sync.leases_in_flight(), 0, "acknowledged");

    // A backup with a table whose wall clock says lease 1 has ended.
    let now = pair.now;
    let mut b = router(2, 21, 64, DEFAULT_LEASE_RING, now);
    b.sync.set_wall_clock(now, WALL + 100);
    assert_eq!(
        b.sync.wall_clock(now + Duration::from_secs(5)),
        Some(WALL + 105)
    );
    b.sync.become_backup(now);
    pair.r[1] = b;
    pair.run_for(Duration::from_secs(1));
    assert_eq!(table(&pair.r[1]).len(), 19);
    assert!(pair.r[1]
        .sync
        .leases()
        .unwrap()
        .get(leases[0].addr())
        .is_none());
}

/// Lease records in a forged frame (wrong key) change nothing.
#[test]
fn forged_lease_records_change_nothing() {
    let mut pair = lease_pair(8, 64);
    pair.run_for(Duration::from_secs(1));
    let now = pair.now;
    let other = sync::Key::new(&[7u8; 32]).unwrap();
    let mut buf = [0u8; 1472];
    let header = Header {
        sender: 1,
        epoch: 10,
        seq: 1_000_000,
        ack: 0,
    };
    let mut w = FrameWriter::new(&mut buf, &header).unwrap();
    w.push(&Record::Seq(1)).unwrap();
    w.push(&Record::LeaseAdd(lease(9, WALL + 3600))).unwrap();
    let n = w.finish(&other);
    assert_eq!(
        pair.r[1].sync.handle_datagram(now, 0, &buf[..n]),
        Err(Drop::Frame(sync::Error::BadMac))
    );
    assert!(table(&pair.r[1]).is_empty());
    // With the right key it would have been taken: the test can fail.
    let mut w = FrameWriter::new(&mut buf, &header).unwrap();
    w.push(&Record::Seq(1)).unwrap();
    w.push(&Record::LeaseAdd(lease(9, WALL + 3600))).unwrap();
    let n = w.finish(&key());
    let mut fresh = router(2, 30, 64, DEFAULT_LEASE_RING, now);
    fresh.sync.become_backup(now);
    fresh.sync.handle_datagram(now, 0, &buf[..n]).unwrap();
    assert_eq!(fresh.sync.leases().unwrap().len(), 1);
}

/// The window's slots did not grow for leases.
#[test]
fn slot_sizes() {
    let slot = core::mem::size_of::<TxSlot>();
    std::println!(
        "TxSlot {slot} B, Lease {} B, Record {} B",
        core::mem::size_of::<Lease>(),
        core::mem::size_of::<Record>()
    );
    if core::mem::size_of::<usize>() == 8 {
        assert!(slot <= 112, "{slot}");
    }
}

/// The ring against a model: FIFO allocations of every size, wrapping,
/// each lease read back intact, space reclaimed.
#[test]
fn lease_ring_matches_a_model() {
    for (ring, seed) in [(Lease::ENCODED_MAX, 1u64), (400, 2), (1000, 3), (4096, 4)] {
        let mut w = Window::new(leak_window(64));
        w.set_lease_ring(leak_ring(ring));
        let mut rng = Rng::new(seed);
        let mut model: std::collections::VecDeque<(u32, Lease)> = Default::default();
        for round in 0..20_000 {
            if rng.below(2) == 0 {
                let mut l = lease(rng.below(250) as u8, rng.next() >> rng.below(64));
                if let Lease::V4(v4) = &mut l {
                    let n = rng.below(256) as usize;
                    let id: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    v4.client_id = ClientId::from_slice(&id[..n.min(255)]).unwrap();
                }
                let fits = w.ring().contiguous() >= l.encoded_len() && w.space() > 0;
                match w.push_lease(LeaseOp::Change, &l) {
                    Some(seq) => {
                        assert!(fits, "round {round}");
                        model.push_back((seq, l));
                    }
                    None => assert!(!fits, "round {round}: {:?}", w.ring()),
                }
            } else if let Some((seq, _)) = model.pop_front() {
                w.release_to(seq.wrapping_add(1));
            }
            if model.is_empty() {
                assert_eq!(w.ring().contiguous(), ring);
            }
            assert_eq!(w.ring().items(), model.len());
            for (seq, l) in &model {
                assert_eq!(w.record(*seq), Some(Record::LeaseChange(*l)));
            }
        }
        // Mixed with other records, cleared at once.
        w.push(TxItem::ResyncBegin);
        w.push_lease(LeaseOp::Delete, &lease(1, 5));
        w.clear();
        assert_eq!((w.ring().items(), w.ring().contiguous()), (0, ring));
    }
    // No ring: a lease record cannot be stored.
    let mut w = Window::new(leak_window(4));
    assert_eq!(w.push_lease(LeaseOp::Add, &lease(1, 5)), None);
    assert_eq!(w.len(), 0);
}

/// Leases attached to a node that is streaming: the whole table goes out.
#[test]
fn attach_while_running() {
    let now = Instant::from_secs(1000);
    let a = Router::new(1, 10, 4096, 512, Filter::new());
    let b = router(2, 20, 64, DEFAULT_LEASE_RING, now);
    let mut pair = Pair::new(2, a, b);
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.run_for(Duration::from_secs(1));
    let mut t = LeaseTable::new(leak_leases(64), leak_ring(crate::lease::pool_len(64)));
    for l in leases_20(WALL + 3600) {
        t.merge(WALL, &l, Origin::Remote).unwrap();
    }
    let now = pair.now;
    assert!(pair.r[0]
        .sync
        .attach_leases(now, t, leak_ring(DEFAULT_LEASE_RING))
        .is_none());
    pair.r[0].sync.set_wall_clock(now, WALL);
    assert!(time_to_converge(&mut pair, 0, 1, Duration::from_secs(1)).is_some());
    assert_eq!(table(&pair.r[1]).len(), 20);
}

fn duid(tag: u8) -> tandem_protocol::lease::Duid {
    tandem_protocol::lease::Duid::from_slice(&[
        0, 1, 0, 1, 0x2a, 0x3b, 0x4c, tag, 2, 0x42, 0xac, 0x11, 0, tag,
    ])
    .unwrap()
}

/// The master's server DUID reaches the backup (which adopts it over its
/// own); a master keeps the one it has; nothing echoes; a restarted
/// backup gets it with the whole table.
#[test]
fn server_duid_travels() {
    for (seed, loss) in [(1, 0), (2, 20), (3, 20)] {
        let mut pair = lease_pair(seed, 64);
        pair.loss = loss;
        settle(&mut pair);
        let (d1, d2) = (duid(1), duid(2));
        // The master's DHCP server (its file) has D1; the backup's old file D2.
        pair.r[0].sync.leases_mut().unwrap().set_duid(Some(d1));
        pair.r[1].sync.leases_mut().unwrap().set_duid(Some(d2));
        dhcp_file(&mut pair, 0, &leases_20(WALL + 3600));
        pair.r[1].actions.clear();
        pair.run_for(Duration::from_secs(2));
        assert_eq!(
            pair.r[1].sync.leases().unwrap().duid(),
            Some(&d1),
            "seed {seed}"
        );
        assert_eq!(
            pair.r[0].sync.leases().unwrap().duid(),
            Some(&d1),
            "seed {seed}"
        );
        assert!(pair.r[1].actions.contains(&Action::LeasesChanged));
        assert_eq!(table(&pair.r[0]), table(&pair.r[1]));
        // Converged: nothing more is sent either way.
        let c0 = pair.r[0].sync.counters().lease_changes_sent;
        let c1 = pair.r[1].sync.counters().lease_changes_sent;
        pair.run_for(Duration::from_secs(5));
        assert_eq!(pair.r[0].sync.counters().lease_changes_sent, c0);
        assert_eq!(pair.r[1].sync.counters().lease_changes_sent, c1);
        // A new DUID on the master travels again.
        let d3 = duid(3);
        pair.r[0].sync.leases_mut().unwrap().set_duid(Some(d3));
        pair.run_for(Duration::from_secs(2));
        assert_eq!(
            pair.r[1].sync.leases().unwrap().duid(),
            Some(&d3),
            "seed {seed}"
        );
        // A restarted backup receives it with the whole table.
        pair.r[1].up = false;
        pair.run_for(Duration::from_millis(500));
        let now = pair.now;
        let mut b = router(2, 21, 64, DEFAULT_LEASE_RING, now);
        b.sync.become_backup(now);
        pair.r[1] = b;
        assert!(time_to_converge(&mut pair, 0, 1, Duration::from_secs(5)).is_some());
        pair.run_for(Duration::from_secs(1));
        assert_eq!(
            pair.r[1].sync.leases().unwrap().duid(),
            Some(&d3),
            "seed {seed}"
        );
    }
}

/// A master that has no DUID takes the first one it hears; one that has
/// one keeps it.
#[test]
fn master_keeps_its_duid() {
    let mut pair = lease_pair(9, 64);
    settle(&mut pair);
    pair.r[1].sync.leases_mut().unwrap().set_duid(Some(duid(7)));
    pair.run_for(Duration::from_secs(2));
    assert_eq!(pair.r[0].sync.leases().unwrap().duid(), Some(&duid(7)));
    pair.r[0].sync.leases_mut().unwrap().set_duid(Some(duid(8)));
    pair.r[1].sync.leases_mut().unwrap().set_duid(Some(duid(9)));
    pair.run_for(Duration::from_secs(2));
    assert_eq!(pair.r[0].sync.leases().unwrap().duid(), Some(&duid(8)));
    assert_eq!(pair.r[1].sync.leases().unwrap().duid(), Some(&duid(8)));
}

#[test]
fn duid_in_the_ring() {
    let mut slots = vec![TxSlot::EMPTY; 8];
    let mut ring = vec![0u8; 64];
    let mut w = Window::new(&mut slots);
    w.set_lease_ring(&mut ring);
    let d = duid(5);
    let s1 = w.push_duid(&d).unwrap();
    let s2 = w.push_lease(LeaseOp::Add, &lease(1, WALL + 10)).unwrap();
    assert_eq!(w.record(s1), Some(Record::LeaseDuid(d)));
    assert!(matches!(w.record(s2), Some(Record::LeaseAdd(_))));
    // The ring is full: refused, nothing changes.
    let long = tandem_protocol::lease::Duid::from_slice(&[1; 100]).unwrap();
    assert!(w.push_duid(&long).is_none());
    assert_eq!(w.len(), 2);
    w.release_to(s2.wrapping_add(1));
    assert_eq!(w.ring().items(), 0);
    assert!(w.push_duid(&long).is_none(), "longer than the ring");
}
