use super::*;
use std::string::String;
use std::vec::Vec;
use tandem_protocol::lease::{lines, Line};

static R1: &[u8] = include_bytes!("../../../protocol/src/lease/fixtures/dnsmasq-2.90-r1.leases");
static R1_RELOADED: &[u8] =
    include_bytes!("../../../protocol/src/lease/fixtures/dnsmasq-2.90-r1-reloaded.leases");
static R2: &[u8] = include_bytes!("../../../protocol/src/lease/fixtures/dnsmasq-2.90-r2.leases");
static EXTRAS: &[u8] =
    include_bytes!("../../../protocol/src/lease/fixtures/synthetic-extras.leases");
/// When the fixtures were captured (`fixtures/capture.env`): every finite
/// lease in them is still running at this second.
const CAPTURED: u64 = 1_795_675_734;

/// The seed page's sample file.
static SEED: &[u8] = b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7
1633703352 c4:41:1e:68:97:62 192.168.222.243 hostname2 01:c4:41:1e:68:97:62
1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * 01:c0:10:b1:2c:e4:e6
1633703141 e8:f4:08:1f:9c:67 192.168.123.69 hostname3 01:e8:f4:08:1f:9c:67
";
/// A second between the seed's lease times and their ends.
const SEED_NOW: u64 = 1_633_700_000;

fn lease(line: &str) -> Lease {
    match Line::parse(line.as_bytes()) {
        Ok(Line::Lease(l)) => l,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn file_leases(file: &[u8]) -> Vec<Lease> {
    lines(file)
        .filter_map(|l| match l.unwrap() {
            Line::Lease(l) => Some(l),
            _ => None,
        })
        .collect()
}

fn pool(slots: &[Slot]) -> Vec<u8> {
    std::vec![0; pool_len(slots.len())]
}

fn written(t: &LeaseTable<'_>) -> String {
    let mut s = String::new();
    t.write_file(&mut s).unwrap();
    s
}

fn sorted(t: &LeaseTable<'_>) -> Vec<Lease> {
    let mut v: Vec<Lease> = t.iter().collect();
    v.sort();
    v
}

fn drain(t: &mut LeaseTable<'_>) -> Vec<Change> {
    core::iter::from_fn(|| t.poll_change()).collect()
}

fn ok(r: Result<Outcome, TableFull>) -> Outcome {
    r.expect("table full")
}

/// Checks the two invariants: one lease per address, one per client.
fn assert_unique(t: &LeaseTable<'_>) {
    let all: Vec<Lease> = t.iter().collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a.addr(), b.addr(), "two leases for one address");
            assert!(
                !ClientKey::of(a).same_client(&ClientKey::of(b)),
                "two leases for one client: {a} / {b}"
            );
        }
    }
}

// ---------------------------------------------------------------- basics

#[test]
fn seed_sample_loads_and_writes_back() {
    let mut slots = [Slot::EMPTY; 8];
    let mut t_pool = pool(&slots);
    let mut t = LeaseTable::new(&mut slots, &mut t_pool);
    // Bottom-up: dnsmasq writes the newest lease first.
    for l in file_leases(SEED).iter().rev() {
        assert_eq!(
            ok(t.merge(SEED_NOW, l, Origin::Local)).merged,
            Merged::Added
        );
    }
    assert_eq!(t.len(), 4);
    assert_eq!(written(&t).as_bytes(), SEED);
    assert_unique(&t);
    // Merging the same file again changes nothing.
    for l in file_leases(SEED).iter().rev() {
        assert_eq!(
            ok(t.merge(SEED_NOW, l, Origin::Local)).merged,
            Merged::Unchanged
        );
    }
    assert_eq!(written(&t).as_bytes(), SEED);
    // The seed's leases have all ended a day later.
    assert_eq!(t.next_expiry(), Some(1633703141));
    assert_eq!(t.prune(1633703141), 1);
    assert_eq!(t.prune(SEED_NOW + 86_400), 3);
    assert!(t.is_empty());
    assert_eq!(t.stats().expired, 4);
}

#[test]
fn same_client_and_address_later_expiry_wins() {
    let mut slots = [Slot::EMPTY; 4];
    let mut t_pool = pool(&slots);
    let mut t = LeaseTable::new(&mut slots, &mut t_pool);
    let old = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 host 01:aa:aa:aa:aa:aa:01");
    let new = lease("2000 aa:aa:aa:aa:aa:01 10.0.0.1 host 01:aa:aa:aa:aa:aa:01");
    assert_eq!(ok(t.merge(0, &old, Origin::Remote)).merged, Merged::Added);
    assert_eq!(ok(t.merge(0, &new, Origin::Remote)).merged, Merged::Updated);
    assert_eq!(ok(t.merge(0, &old, Origin::Remote)).merged, Merged::Stale);
    assert_eq!(
        ok(t.merge(0, &new, Origin::Remote)).merged,
        Merged::Unchanged
    );
    assert_eq!(t.get(new.addr()), Some(new));
    assert_eq!(t.len(), 1);
    // An infinite lease is the latest of all.
    let inf = lease("0 aa:aa:aa:aa:aa:01 10.0.0.1 host 01:aa:aa:aa:aa:aa:01");
    assert_eq!(ok(t.merge(0, &inf, Origin::Remote)).merged, Merged::Updated);
    assert_eq!(ok(t.merge(0, &new, Origin::Remote)).merged, Merged::Stale);
    assert_eq!(t.prune(u64::MAX), 0);
}

#[test]
fn equal_expiry_ties_break_the_same_way_everywhere() {
    let a = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 alpha 01:aa:aa:aa:aa:aa:01");
    let b = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 beta 01:aa:aa:aa:aa:aa:01");
    let mut s1 = [Slot::EMPTY; 2];
    let mut s2 = [Slot::EMPTY; 2];
    let mut t1_pool = pool(&s1);
    let mut t1 = LeaseTable::new(&mut s1, &mut t1_pool);
    let mut t2_pool = pool(&s2);
    let mut t2 = LeaseTable::new(&mut s2, &mut t2_pool);
    for l in [a, b] {
        ok(t1.merge(0, &l, Origin::Remote));
    }
    for l in [b, a] {
        ok(t2.merge(0, &l, Origin::Remote));
    }
    assert_eq!(sorted(&t1), sorted(&t2));
    assert_eq!(sorted(&t1), [a.max(b)]);
}

#[test]
fn address_claimed_by_two_clients_keeps_the_newer_and_reports_it() {
    let x = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 x *");
    let y = lease("2000 bb:bb:bb:bb:bb:02 10.0.0.1 y *");
    // Newer second: it displaces the older.
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    ok(t.merge(0, &x, Origin::Remote));
    let o = ok(t.merge(0, &y, Origin::Remote));
    assert_eq!(o.merged, Merged::Added);
    assert_eq!(
        o.conflict,
        Some(Conflict {
            addr: x.addr(),
            kept: y,
            dropped: x
        })
    );
    assert_eq!(sorted(&t), [y]);
    // Older second: it is dropped, same conflict.
    let mut s2 = [Slot::EMPTY; 4];
    let mut t2_pool = pool(&s2);
    let mut t2 = LeaseTable::new(&mut s2, &mut t2_pool);
    ok(t2.merge(0, &y, Origin::Remote));
    let o = ok(t2.merge(0, &x, Origin::Remote));
    assert_eq!(o.merged, Merged::Stale);
    assert_eq!(
        o.conflict,
        Some(Conflict {
            addr: x.addr(),
            kept: y,
            dropped: x
        })
    );
    assert_eq!(sorted(&t2), [y]);
    assert_eq!(t.stats().conflicts, 1);
    assert_eq!(t2.stats().conflicts, 1);
}

#[test]
fn one_lease_per_client_the_newer_address_wins() {
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let at1 = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 x 01:aa:aa:aa:aa:aa:01");
    let at2 = lease("2000 aa:aa:aa:aa:aa:01 10.0.0.2 x 01:aa:aa:aa:aa:aa:01");
    let at3 = lease("1500 aa:aa:aa:aa:aa:01 10.0.0.3 x 01:aa:aa:aa:aa:aa:01");
    ok(t.merge(0, &at1, Origin::Remote));
    let o = ok(t.merge(0, &at2, Origin::Remote));
    assert_eq!(o.merged, Merged::Added);
    assert_eq!(o.moved_from, Some(at1.addr()));
    assert_eq!(o.conflict, None);
    assert_eq!(ok(t.merge(0, &at3, Origin::Remote)).merged, Merged::Stale);
    assert_eq!(sorted(&t), [at2]);
    assert_eq!(t.get(at1.addr()), None);
}

#[test]
fn a_lease_that_loses_anywhere_changes_nothing() {
    // L is newer than the other client's lease at its address, but its own
    // client already has a newer lease elsewhere: L is stale, the table
    // keeps both existing leases.
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let other = lease("1000 bb:bb:bb:bb:bb:02 10.0.0.1 other *");
    let mine = lease("3000 aa:aa:aa:aa:aa:01 10.0.0.2 mine *");
    let l = lease("2000 aa:aa:aa:aa:aa:01 10.0.0.1 mine *");
    ok(t.merge(0, &other, Origin::Remote));
    ok(t.merge(0, &mine, Origin::Remote));
    let o = ok(t.merge(0, &l, Origin::Remote));
    assert_eq!(o.merged, Merged::Stale);
    assert_eq!(o.conflict, None);
    assert_eq!(sorted(&t), {
        let mut v = std::vec![other, mine];
        v.sort();
        v
    });
    // Newer than both: replaces both (a conflict and a move).
    let l = lease("4000 aa:aa:aa:aa:aa:01 10.0.0.1 mine *");
    let o = ok(t.merge(0, &l, Origin::Remote));
    assert_eq!(o.merged, Merged::Added);
    assert_eq!(o.moved_from, Some(mine.addr()));
    assert_eq!(o.conflict.map(|c| c.dropped), Some(other));
    assert_eq!(sorted(&t), [l]);
}

#[test]
fn client_identity() {
    // The client id wins over the MAC: one MAC, two client ids = two clients
    // (e.g. two OSes on one machine); one client id, two MACs = one client.
    let a = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.1 * 01:11");
    let b = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.2 * 01:22");
    let c = lease("2000 cc:cc:cc:cc:cc:03 10.0.0.3 * 01:11");
    assert!(!ClientKey::of(&a).same_client(&ClientKey::of(&b)));
    assert!(ClientKey::of(&a).same_client(&ClientKey::of(&c)));
    // Without client id, the MAC with its hardware type.
    let e = lease("1000 aa:aa:aa:aa:aa:01 10.0.0.4 * *");
    let f = lease("1000 06-aa:aa:aa:aa:aa:01 10.0.0.5 * *");
    assert!(!ClientKey::of(&e).same_client(&ClientKey::of(&f)));
    assert!(!ClientKey::of(&e).same_client(&ClientKey::of(&a)));
    // Neither: anonymous, only the address rule applies.
    let g = lease("1000 20- 10.0.0.6 * *");
    let h = lease("1000 20- 10.0.0.7 * *");
    assert_eq!(ClientKey::of(&g), ClientKey::Anonymous);
    assert!(!ClientKey::of(&g).same_client(&ClientKey::of(&h)));

    let mut s = [Slot::EMPTY; 8];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    for l in [a, b, c, e, f, g, h] {
        ok(t.merge(0, &l, Origin::Remote));
    }
    assert_eq!(t.len(), 6); // c replaced a
    assert_eq!(t.get(a.addr()), None);
    assert_unique(&t);
    // Anonymous leases for one address: the newer one.
    let g2 = lease("2000 20- 10.0.0.6 later *");
    assert_eq!(ok(t.merge(0, &g2, Origin::Remote)).merged, Merged::Updated);
}

#[test]
fn ipv6_identity_is_duid_iaid_type_and_prefix() {
    let na = lease("1000 1 fd77::10 * 00:03:00:01:02:00:00:00:00:01");
    let na2 = lease("1000 2 fd77::11 * 00:03:00:01:02:00:00:00:00:01");
    let ta = lease("1000 T1 fd77::12 * 00:03:00:01:02:00:00:00:00:01");
    let other_net = lease("1000 1 fd78::10 * 00:03:00:01:02:00:00:00:00:01");
    let moved = lease("2000 1 fd77::13 * 00:03:00:01:02:00:00:00:00:01");
    let mut s = [Slot::EMPTY; 8];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    for l in [na, na2, ta, other_net] {
        assert_eq!(ok(t.merge(0, &l, Origin::Remote)).merged, Merged::Added);
    }
    let o = ok(t.merge(0, &moved, Origin::Remote));
    assert_eq!(o.moved_from, Some(na.addr()));
    assert_eq!(t.len(), 4);
    assert_unique(&t);
    // IPv4 and IPv6 never collide.
    let v4 = lease("1000 aa 10.0.0.1 * 00:03:00:01:02:00:00:00:00:01");
    assert_eq!(ok(t.merge(0, &v4, Origin::Remote)).merged, Merged::Added);
}

#[test]
fn expired_leases_are_dropped() {
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let l = lease("1000 aa 10.0.0.1 * *");
    assert_eq!(ok(t.merge(1000, &l, Origin::Local)).merged, Merged::Expired);
    assert_eq!(ok(t.merge(5000, &l, Origin::Local)).merged, Merged::Expired);
    assert!(t.is_empty());
    assert_eq!(t.pending_changes(), 0);
    assert_eq!(ok(t.merge(999, &l, Origin::Local)).merged, Merged::Added);
    assert_eq!(t.prune(999), 0);
    assert_eq!(t.prune(1000), 1);
    assert!(t.is_empty());
}

#[test]
fn a_full_table_is_reported_and_changes_nothing() {
    let mut s = [Slot::EMPTY; 2];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let a = lease("1000 aa:01 10.0.0.1 * *");
    let b = lease("2000 aa:02 10.0.0.2 * *");
    let c = lease("3000 aa:03 10.0.0.3 * *");
    ok(t.merge(0, &a, Origin::Remote));
    ok(t.merge(0, &b, Origin::Remote));
    assert_eq!(
        t.merge(0, &c, Origin::Remote),
        Err(TableFull { capacity: 2 })
    );
    assert_eq!(t.stats().full, 1);
    assert_eq!(sorted(&t), [a, b]);
    assert!(TableFull { capacity: 2 }
        .to_string()
        .contains("lease_capacity"));
    // Updates and replacements still work when full.
    let b2 = lease("2500 aa:02 10.0.0.2 * *");
    assert_eq!(ok(t.merge(0, &b2, Origin::Remote)).merged, Merged::Updated);
    let c_at_a = lease("3000 aa:03 10.0.0.1 * *");
    assert!(ok(t.merge(0, &c_at_a, Origin::Remote)).conflict.is_some());
    // Once a lease has ended (b2, at 2500) its slot is reclaimed.
    let d = lease("4000 aa:04 10.0.0.4 * *");
    assert_eq!(ok(t.merge(2600, &d, Origin::Remote)).merged, Merged::Added);
    assert_eq!(t.get(b2.addr()), None);
    // A zero-capacity table is always full.
    let mut none: [Slot; 0] = [];
    let mut z_pool = pool(&none);
    let mut z = LeaseTable::new(&mut none, &mut z_pool);
    assert!(z.merge(0, &a, Origin::Local).is_err());
}

#[test]
fn a_full_table_reclaims_unpolled_deletions_last() {
    let mut s = [Slot::EMPTY; 2];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let a = lease("1000 aa:01 10.0.0.1 * *");
    let b = lease("2000 aa:02 10.0.0.2 * *");
    let c = lease("3000 aa:03 10.0.0.3 * *");
    ok(t.merge(0, &a, Origin::Local));
    ok(t.merge(0, &b, Origin::Local));
    assert_eq!(t.remove_addr(a.addr(), Origin::Local), Some(a));
    assert_eq!(ok(t.merge(0, &c, Origin::Local)).merged, Merged::Added);
    assert_eq!(t.stats().lost_deletes, 1);
    let changes = drain(&mut t);
    assert!(!changes.iter().any(|c| matches!(c, Change::Deleted(_))));
}

// ---------------------------------------------------------------- tracking

#[test]
fn local_changes_are_tracked_remote_ones_are_not() {
    let mut s = [Slot::EMPTY; 8];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let a = lease("1000 aa:01 10.0.0.1 a *");
    let a2 = lease("2000 aa:01 10.0.0.1 a *");
    let a3 = lease("3000 aa:01 10.0.0.1 a *");
    let b = lease("1000 aa:02 10.0.0.2 b *");

    // Added then updated before a poll: one Added with the latest content.
    ok(t.merge(0, &a, Origin::Local));
    ok(t.merge(0, &a2, Origin::Local));
    assert_eq!(t.pending_changes(), 1);
    assert_eq!(drain(&mut t), [Change::Added(a2)]);
    // Updated after the poll.
    ok(t.merge(0, &a3, Origin::Local));
    assert_eq!(drain(&mut t), [Change::Updated(a3)]);
    // Unchanged and stale: nothing.
    ok(t.merge(0, &a3, Origin::Local));
    ok(t.merge(0, &a, Origin::Local));
    assert_eq!(t.poll_change(), None);
    // Remote: nothing, not even deletions.
    ok(t.merge(0, &b, Origin::Remote));
    assert_eq!(t.remove(&b, Origin::Remote), Some(b));
    assert_eq!(t.poll_change(), None);
    // Local deletion, then a new lease for the same address: the deletion
    // is polled first.
    let c = lease("500 aa:03 10.0.0.1 c *");
    assert_eq!(t.remove_addr(a3.addr(), Origin::Local), Some(a3));
    ok(t.merge(0, &c, Origin::Local));
    assert_eq!(t.pending_changes(), 2);
    assert_eq!(drain(&mut t), [Change::Deleted(a3), Change::Added(c)]);
    // Expiry is not a change.
    assert_eq!(t.prune(600), 1);
    assert_eq!(t.poll_change(), None);
    // queue_all: everything again (for a peer that restarted).
    ok(t.merge(0, &a3, Origin::Remote));
    ok(t.merge(0, &b, Origin::Remote));
    t.queue_all();
    let mut all: Vec<Lease> = drain(&mut t).iter().map(|c| *c.lease()).collect();
    all.sort();
    assert_eq!(all, sorted(&t));
}

#[test]
fn remove_applies_only_to_the_same_client_and_not_to_a_newer_lease() {
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let a = lease("2000 aa:01 10.0.0.1 a *");
    ok(t.merge(0, &a, Origin::Remote));
    // Another client's lease for the address: not ours to delete.
    assert_eq!(
        t.remove(&lease("2000 aa:02 10.0.0.1 a *"), Origin::Remote),
        None
    );
    // An older version of it: the table has a renewal the peer had not seen.
    assert_eq!(
        t.remove(&lease("1000 aa:01 10.0.0.1 a *"), Origin::Remote),
        None
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t.remove(&a, Origin::Remote), Some(a));
    assert!(t.is_empty());
    assert_eq!(t.remove(&a, Origin::Remote), None);
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshots_of_the_local_file_become_changes() {
    let mut s = [Slot::EMPTY; 8];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let a = lease("1000 aa:01 10.0.0.1 a *");
    let b = lease("1000 aa:02 10.0.0.2 b *");
    let c = lease("1000 aa:03 10.0.0.3 c *");
    let sum = t.apply_snapshot(0, [c, b, a], |_, _| {});
    assert_eq!(sum.added, 3);
    assert_eq!(drain(&mut t).len(), 3);

    // dnsmasq: b released, a renewed, d new.
    let a2 = lease("2000 aa:01 10.0.0.1 a *");
    let d = lease("1500 aa:04 10.0.0.4 d *");
    let sum = t.apply_snapshot(0, [d, c, a2], |_, _| {});
    assert_eq!(
        (sum.deleted, sum.added, sum.updated, sum.unchanged),
        (1, 1, 1, 1)
    );
    let changes = drain(&mut t);
    assert_eq!(changes[0], Change::Deleted(b));
    assert!(changes.contains(&Change::Updated(a2)));
    assert!(changes.contains(&Change::Added(d)));
    assert_eq!(changes.len(), 3);

    // A lease learnt from the peer is not deleted by the local file...
    let p = lease("1000 aa:05 10.0.0.5 p *");
    ok(t.merge(0, &p, Origin::Remote));
    let sum = t.apply_snapshot(0, [d, c, a2], |_, _| {});
    assert_eq!(sum.deleted, 0);
    assert_eq!(t.get(p.addr()), Some(p));
    // ...until the local server has had it and dropped it (after a
    // takeover, dnsmasq loaded the merged file).
    t.apply_snapshot(0, [p, d, c, a2], |_, _| {});
    drain(&mut t);
    let sum = t.apply_snapshot(0, [d, c, a2], |_, _| {});
    assert_eq!(sum.deleted, 1);
    assert_eq!(drain(&mut t), [Change::Deleted(p)]);
}

#[test]
fn a_released_address_handed_to_another_client_is_not_a_conflict() {
    let mut s = [Slot::EMPTY; 4];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    let x = lease("5000 aa:01 10.0.0.1 x *");
    t.apply_snapshot(0, [x], |_, _| {});
    drain(&mut t);
    // x released; dnsmasq gives the address to y, whose lease ends sooner.
    let y = lease("3000 aa:02 10.0.0.1 y *");
    let mut conflicts = 0;
    let sum = t.apply_snapshot(0, [y], |_, r| {
        if r.as_ref().is_ok_and(|o| o.conflict.is_some()) {
            conflicts += 1;
        }
    });
    assert_eq!((sum.deleted, sum.added, conflicts), (1, 1, 0));
    assert_eq!(drain(&mut t), [Change::Deleted(x), Change::Added(y)]);
    assert_eq!(sorted(&t), [y]);
}

#[test]
fn a_peer_following_the_change_stream_holds_the_same_table() {
    let mut sm = [Slot::EMPTY; 32];
    let mut sb = [Slot::EMPTY; 32];
    let mut master_pool = pool(&sm);
    let mut master = LeaseTable::new(&mut sm, &mut master_pool);
    let mut backup_pool = pool(&sb);
    let mut backup = LeaseTable::new(&mut sb, &mut backup_pool);
    fn ship(from: &mut LeaseTable<'_>, to: &mut LeaseTable<'_>) {
        while let Some(c) = from.poll_change() {
            match c {
                Change::Added(l) | Change::Updated(l) => {
                    to.merge(CAPTURED, &l, Origin::Remote).unwrap();
                }
                Change::Deleted(l) => {
                    to.remove(&l, Origin::Remote);
                }
            }
        }
    }
    // The master's dnsmasq file, in three versions: r1, r1 reloaded with a
    // new client, then r2's leases as if the same server had made them.
    for file in [R1, R1_RELOADED, R2] {
        let snapshot: Vec<Lease> = file_leases(file).into_iter().rev().collect();
        master.apply_snapshot(CAPTURED, snapshot, |_, _| {});
        ship(&mut master, &mut backup);
        assert_eq!(sorted(&master), sorted(&backup));
        assert_unique(&master);
    }
    // The backup's own changes are not echoed back.
    assert_eq!(backup.pending_changes(), 0);
}

// ---------------------------------------------------------------- order

#[test]
fn dnsmasq_order_newest_created_first() {
    // r1 loaded bottom-up; then the client dnsmasq added after reloading.
    let mut s = [Slot::EMPTY; 32];
    let mut t_pool = pool(&s);
    let mut t = LeaseTable::new(&mut s, &mut t_pool);
    if let Some(Ok(Line::Duid(d))) = lines(R1).find(|l| matches!(l, Ok(Line::Duid(_)))) {
        t.set_duid(Some(d));
    }
    for l in file_leases(R1).iter().rev() {
        ok(t.merge(CAPTURED, l, Origin::Local));
    }
    assert_eq!(written(&t).as_bytes(), R1);
    let late = file_leases(R1_RELOADED)[0];
    assert_eq!(late.hostname().as_str(), "late");
    ok(t.merge(CAPTURED, &late, Origin::Local));
    // Like dnsmasq, the new lease comes first; the others keep their order
    // (dnsmasq itself reverses them when it reloads its file, see the
    // reloaded fixture: the order carries no meaning).
    let out = written(&t);
    let first = out.lines().next().unwrap();
    assert_eq!(first, late.to_string());
    let rest: Vec<&str> = out.lines().skip(1).collect();
    let r1: Vec<&str> = core::str::from_utf8(R1).unwrap().lines().collect();
    assert_eq!(rest, r1);
    // A renewal keeps its place.
    let mut renewed = file_leases(R1)[3];
    renewed.set_expires(Expiry::from_raw(renewed.expires().raw() + 3600));
    assert_eq!(
        ok(t.merge(CAPTURED, &renewed, Origin::Local)).merged,
        Merged::Updated
    );
    assert_eq!(
        written(&t).lines().nth(4),
        Some(renewed.to_string().as_str())
    );
}

// ---------------------------------------------------------------- merge_files

fn merge(files: &[&[u8]], now: u64, cap: usize) -> (String, MergeSummary, Vec<FileEvent<'static>>) {
    let mut slots = std::vec![Slot::EMPTY; cap];
    let mut pool = pool(&slots);
    let mut out = String::new();
    let mut events = Vec::new();
    let sum = merge_files(files, now, &mut slots, &mut pool, &mut out, &mut |e| {
        events.push(match e {
            FileEvent::Conflict {
                file,
                line,
                conflict,
            } => FileEvent::Conflict {
                file,
                line,
                conflict: std::boxed::Box::leak(std::boxed::Box::new(*conflict)),
            },
            FileEvent::BadLine { file, error } => FileEvent::BadLine { file, error },
            FileEvent::Full { file, line } => FileEvent::Full { file, line },
            FileEvent::DuidMismatch { file, line } => FileEvent::DuidMismatch { file, line },
        })
    })
    .unwrap();
    (out, sum, events)
}

#[test]
fn merging_one_dnsmasq_file_gives_it_back() {
    for file in [R1, R1_RELOADED, R2, EXTRAS] {
        let (out, sum, events) = merge(&[file], CAPTURED, 64);
        assert_eq!(out.as_bytes(), file);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(sum.written, sum.read);
    }
    let (out, _, _) = merge(&[SEED], SEED_NOW, 8);
    assert_eq!(out.as_bytes(), SEED);
}

/// The seed's cron job, for comparison: `cat a b | sort -u`.
fn sort_u(files: &[&[u8]]) -> Vec<String> {
    let mut all: Vec<String> = files
        .iter()
        .flat_map(|f| core::str::from_utf8(f).unwrap().lines())
        .map(String::from)
        .collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn merging_two_routers_files_is_the_cron_script_done_right() {
    // Negative control: the seed's script keeps two lines for the client
    // that renewed on router 2, two leases for 10.77.0.141 (router 2 gave it
    // to another client), two duid lines, two lines for v6host, and it
    // puts the duid line in the middle of the IPv4 leases.
    let naive = sort_u(&[R1, R2]);
    let count = |pred: &dyn Fn(&str) -> bool| naive.iter().filter(|l| pred(l)).count();
    assert_eq!(count(&|l| l.contains(" 02:00:00:00:00:01 ")), 2);
    assert_eq!(count(&|l| l.contains(" 10.77.0.141 ")), 2);
    assert_eq!(count(&|l| l.starts_with("duid ")), 2);
    assert_eq!(count(&|l| l.contains(" v6host ")), 2);

    let (out, sum, events) = merge(&[R1, R2], CAPTURED, 64);
    // A valid file: every line parses, no address or client twice.
    let mut slots = [Slot::EMPTY; 64];
    let mut t_pool = pool(&slots);
    let mut t = LeaseTable::new(&mut slots, &mut t_pool);
    for l in lines(out.as_bytes()) {
        if let Line::Lease(l) = l.unwrap() {
            assert_eq!(
                ok(t.merge(CAPTURED, &l, Origin::Remote)).merged,
                Merged::Added
            );
        }
    }
    assert_unique(&t);
    assert_eq!(out.lines().filter(|l| l.starts_with("duid ")).count(), 1);
    // Router 2's renewals win; router 1's client 02 lost its address to the
    // newer squatter, and the conflict is reported.
    let r2 = file_leases(R2);
    for l in &r2 {
        assert_eq!(t.get(l.addr()), Some(*l));
    }
    let conflicts: Vec<&FileEvent> = events
        .iter()
        .filter(|e| matches!(e, FileEvent::Conflict { .. }))
        .collect();
    assert_eq!(conflicts.len(), 1);
    match conflicts[0] {
        FileEvent::Conflict { file, conflict, .. } => {
            assert_eq!(*file, 1);
            assert_eq!(conflict.kept.hostname().as_str(), "squatter");
            assert!(conflict.dropped.to_string().contains(" 02:00:00:00:00:02 "));
        }
        _ => unreachable!(),
    }
    // Router 1's DUID is kept; router 2's is reported.
    assert!(events
        .iter()
        .any(|e| matches!(e, FileEvent::DuidMismatch { file: 1, line: 4 })));
    assert!(out.contains("duid 00:01:00:01:32:9a:92:c0:76:5a:1c:4c:69:5e\n"));
    // 14 from r1 + 4 from r2 read; 2 renewals replaced old versions, 1
    // conflict; 15 written.
    assert_eq!(
        (
            sum.read,
            sum.written,
            sum.stale,
            sum.conflicts,
            sum.bad_lines
        ),
        (18, 15, 2, 1, 0)
    );
    // Merging in the other order gives the same leases.
    let (out2, _, _) = merge(&[R2, R1], CAPTURED, 64);
    let set = |s: &str| {
        let mut v: Vec<String> = s
            .lines()
            .filter(|l| !l.starts_with("duid"))
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(set(&out), set(&out2));
}

#[test]
fn merging_drops_ended_leases_and_their_extras() {
    // At 1795718925, alpha (…916) and client 02 (…919) have ended.
    let (out, sum, _) = merge(&[EXTRAS], 1_795_718_925, 8);
    assert_eq!(sum.expired, 2);
    assert_eq!(
        out,
        "duid 00:01:00:01:32:9a:92:c0:76:5a:1c:4c:69:5e\n\
         1795718932 1 fd77::c7 v6host 00:01:00:01:2c:3d:4e:5f:02:00:00:00:00:01\n\
         vendorclass fd77::c7 00:00:01:37:00:08:4d:53:46:54:20:35:2e:30\n"
    );
    // Extras repeated in two files are written once.
    let (out, _, _) = merge(&[EXTRAS, EXTRAS], CAPTURED, 8);
    assert_eq!(out.as_bytes(), EXTRAS);
}

#[test]
fn bad_lines_are_reported_per_file_and_the_rest_is_merged() {
    let bad = b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7\n\
1633703352 c4:41:1e:68:97:62 192.168.222.2433 hostname2 01:c4:41:1e:68:97:62\n\
1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * 01:c0:10:b1:2c:e4:e6 junk\n";
    let (out, sum, events) = merge(&[SEED, bad], SEED_NOW, 8);
    assert_eq!(out.as_bytes(), SEED);
    assert_eq!(sum.bad_lines, 2);
    let errors: Vec<(usize, usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            FileEvent::BadLine { file, error } => Some((*file, error.line, error.column)),
            _ => None,
        })
        .collect();
    // Bottom-up, as read.
    assert_eq!(errors, [(1, 3, 69), (1, 2, 30)]);
}

#[test]
fn merge_into_a_small_table_reports_what_did_not_fit() {
    let (out, sum, events) = merge(&[R1], CAPTURED, 4);
    assert_eq!(sum.written, 4);
    assert_eq!(sum.full, 10);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, FileEvent::Full { file: 0, .. }))
            .count(),
        10
    );
    assert_eq!(lines(out.as_bytes()).filter(|l| l.is_ok()).count(), 5);
}

/// A lease's variable fields live in the shared pool: removing one closes
/// the gap and keeps every other lease intact; a full pool refuses a lease
/// like a full table (counted, nothing changed), after reclaiming ended
/// leases.
#[test]
fn pool_is_compacted_and_a_full_pool_is_reported() {
    let grown_text = |n: u8, exp: u64| {
        let cid: Vec<String> = (0..40).map(|i| std::format!("{:02x}", i ^ n)).collect();
        std::format!(
            "{exp} aa:aa:aa:aa:aa:{n:02x} 10.0.0.{n} host-{n} {}",
            cid.join(":")
        )
    };
    let long = |n: u8, exp: u64| lease(&grown_text(n, exp));
    let mut slots = [Slot::EMPTY; 8];
    // Room for three such leases (6 + 6 + 40 octets each).
    let mut pool = [0u8; 3 * 52 + 10];
    let mut t = LeaseTable::new(&mut slots, &mut pool);
    let l: Vec<Lease> = (1..=4).map(|n| long(n, 1000 + u64::from(n))).collect();
    for x in &l[..3] {
        assert_eq!(ok(t.merge(0, x, Origin::Local)).merged, Merged::Added);
    }
    assert_eq!(
        t.merge(0, &l[3], Origin::Remote),
        Err(TableFull { capacity: 8 })
    );
    assert_eq!((t.len(), t.stats().full), (3, 1));
    // Remove the middle one: the others keep their fields.
    assert_eq!(t.remove_addr(l[1].addr(), Origin::Remote), Some(l[1]));
    assert_eq!(ok(t.merge(0, &l[3], Origin::Remote)).merged, Merged::Added);
    for x in [&l[0], &l[2], &l[3]] {
        assert_eq!(t.get(x.addr()), Some(*x));
    }
    // An update that grows in place, and one that shrinks.
    let short = lease(&grown_text(1, 2000).replace(" host-1 ", " h "));
    assert_eq!(
        ok(t.merge(0, &short, Origin::Local)).merged,
        Merged::Updated
    );
    let grown = lease(&grown_text(1, 3000));
    assert_eq!(
        ok(t.merge(0, &grown, Origin::Local)).merged,
        Merged::Updated
    );
    assert_eq!(t.get(grown.addr()), Some(grown));
    // Ended leases are reclaimed for room.
    let l5 = long(5, 5000);
    assert_eq!(ok(t.merge(1500, &l5, Origin::Remote)).merged, Merged::Added);
    assert_eq!(t.stats().expired, 1);
    assert_eq!(t.get(l5.addr()), Some(l5));
    assert_eq!(t.get(grown.addr()), Some(grown));
    assert_unique(&t);
    // A queued deletion keeps its lease until polled.
    assert_eq!(t.remove_addr(l5.addr(), Origin::Local), Some(l5));
    let changes = drain(&mut t);
    assert!(changes.contains(&Change::Deleted(l5)), "{changes:?}");
}

#[test]
fn memory_per_slot() {
    // Documented in Slot: 48 octets a slot, plus the lease's octets in
    // the pool (POOL_PER_LEASE a lease of capacity).
    std::println!(
        "Lease {} Slot {} pool {POOL_PER_LEASE}",
        core::mem::size_of::<Lease>(),
        core::mem::size_of::<Slot>()
    );
    assert_eq!(core::mem::size_of::<Slot>(), 48);
}
