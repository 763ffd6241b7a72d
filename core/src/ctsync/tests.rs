extern crate std;

use std::collections::BTreeMap;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tandem_protocol::conntrack::{Entry, Key as CtKey, Tuple};
use tandem_protocol::sync::{self, Frame, Record};

use super::cache::Cache;
use super::sim::{key, leak_cache, leak_window, nat_entry, Rng};
use super::window::{TxItem, Window};
use super::*;
use crate::time::{Duration, Instant};

#[test]
fn cache_matches_a_model() {
    for (cap, seed) in [(1usize, 1u64), (7, 2), (64, 3), (500, 4), (4096, 5)] {
        let slots = leak_cache(cap);
        let mut cache = Cache::new(slots);
        let mut model: BTreeMap<CtKey, Entry> = BTreeMap::new();
        let mut rng = Rng::new(seed);
        let mut pool: Vec<Entry> = (0..cap * 2).map(|_| nat_entry(&mut rng)).collect();
        let mut gen = 0u16;
        for round in 0..cap * 20 {
            let i = rng.below(pool.len() as u64) as usize;
            let mut e = pool[i];
            match rng.below(10) {
                0..=5 => {
                    e.timeout = rng.next() as u32;
                    pool[i] = e;
                    match cache.upsert(&e, gen) {
                        Ok(()) => {
                            model.insert(e.key(), e);
                        }
                        Err(_) => {
                            // Full within the probe limit: the table is
                            // either full or crowded there.
                            assert!(!model.contains_key(&e.key()));
                        }
                    }
                }
                6..=8 => {
                    assert_eq!(cache.remove(&e.key()), model.remove(&e.key()).is_some());
                }
                _ => {
                    if round % 7 == 0 {
                        // A resync: keep a random half.
                        gen = gen.wrapping_add(1);
                        let keep: Vec<Entry> = model
                            .values()
                            .filter(|_| rng.below(2) == 0)
                            .copied()
                            .collect();
                        for k in &keep {
                            cache.upsert(k, gen).unwrap();
                        }
                        let purged = cache.purge_except(gen);
                        assert_eq!(purged, model.len() - keep.len());
                        model = keep.into_iter().map(|e| (e.key(), e)).collect();
                    }
                }
            }
            assert_eq!(cache.len(), model.len());
            if round % 97 == 0 {
                cache.check();
                for (k, e) in &model {
                    assert_eq!(cache.get(k), Some(*e));
                }
            }
        }
        cache.check();
        let mut got: Vec<Entry> = cache.iter().collect();
        got.sort_by_key(|e| e.key());
        let want: Vec<Entry> = model.values().copied().collect();
        assert_eq!(got, want);
        cache.clear();
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.iter().count(), 0);
    }
}

#[test]
fn cache_fills_to_most_of_its_slots() {
    let mut cache = Cache::new(leak_cache(16384));
    let mut rng = Rng::new(99);
    let mut n = 0;
    let mut full = 0;
    for _ in 0..16384 {
        match cache.upsert(&nat_entry(&mut rng), 0) {
            Ok(()) => n += 1,
            Err(_) => full += 1,
        }
    }
    cache.check();
    std::println!("cache: {n} of 16384 slots used, {full} refused at the probe limit");
    assert!(n > 16384 * 85 / 100, "{n}");
    let empty = Cache::new(leak_cache(0));
    assert_eq!(empty.capacity(), 0);
    let mut empty = empty;
    assert!(empty.upsert(&nat_entry(&mut rng), 0).is_err());
    assert!(!empty.remove(&nat_entry(&mut rng).key()));
}

#[test]
fn window_ring() {
    let mut w = Window::new(leak_window(4));
    assert_eq!((w.base(), w.head(), w.len()), (1, 1, 0));
    assert!(w.holds(1));
    assert!(!w.holds(2));
    for s in 1..=4 {
        assert_eq!(w.push(TxItem::ResyncBegin), Some(s));
    }
    assert_eq!(w.push(TxItem::ResyncEnd), None);
    assert_eq!(w.space(), 0);
    w.release_to(3);
    assert_eq!((w.base(), w.head()), (3, 5));
    assert!(w.get(2).is_none());
    assert!(w.get(3).is_some());
    assert!(w.holds(5));
    assert!(!w.holds(6));
    assert_eq!(w.push(TxItem::ResyncEnd), Some(5));
    assert_eq!(w.get(5), Some(TxItem::ResyncEnd));
    // Releasing backwards or beyond the head is harmless.
    w.release_to(1);
    assert_eq!(w.base(), 3);
    w.release_to(1000);
    assert_eq!((w.base(), w.head(), w.len()), (6, 6, 0));
    w.push(TxItem::ResyncBegin);
    w.clear();
    assert_eq!((w.base(), w.head(), w.len()), (7, 7, 0));
    let mut z = Window::new(leak_window(0));
    assert_eq!(z.push(TxItem::ResyncBegin), None);
    assert!(z.get(1).is_none());
}

#[test]
fn filter_rules() {
    let mut f = Filter::new();
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let t = |src, dst, proto| CtKey {
        orig: Tuple::new(src, dst, proto, 1, 2),
        zone: 0,
    };
    assert!(f.accepts(&t(v4(192, 168, 1, 2), v4(8, 8, 8, 8), 6)));
    assert!(f.accepts(&t(v4(192, 168, 1, 2), v4(8, 8, 8, 8), 112)));
    assert!(!f.accepts(&t(v4(127, 0, 0, 1), v4(127, 0, 0, 1), 6)));
    assert!(!f.accepts(&t(v4(127, 1, 2, 3), v4(8, 8, 8, 8), 6)));
    let lo6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(!f.accepts(&t(lo6, lo6, 6)));
    f.ignore(v4(10, 255, 0, 0), 24).unwrap();
    f.ignore(v4(10, 255, 0, 0), 24).unwrap();
    assert_eq!(f.ignored().len(), 1);
    assert!(!f.accepts(&t(v4(10, 255, 0, 9), v4(8, 8, 8, 8), 6)));
    assert!(!f.accepts(&t(v4(8, 8, 8, 8), v4(10, 255, 0, 9), 6)));
    assert!(f.accepts(&t(v4(10, 255, 1, 9), v4(8, 8, 8, 8), 6)));
    let net6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0));
    f.ignore(net6, 32).unwrap();
    let in6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
    let out6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb9, 1, 0, 0, 0, 0, 1));
    assert!(!f.accepts(&t(in6, out6, 6)));
    assert!(f.accepts(&t(out6, out6, 6)));
    f.ignore(v4(0, 0, 0, 0), 0).unwrap();
    assert!(!f.accepts(&t(v4(1, 1, 1, 1), v4(2, 2, 2, 2), 6)));
    assert!(
        f.accepts(&t(out6, out6, 6)),
        "an IPv4 prefix matches no IPv6"
    );
    f.unignore(v4(0, 0, 0, 0), 0);
    f.set_protocols(&[6, 17]);
    assert!(f.allows_protocol(6) && f.allows_protocol(17) && !f.allows_protocol(1));
    assert!(!f.accepts(&t(v4(1, 1, 1, 1), v4(2, 2, 2, 2), 1)));
    f.set_protocols(&[]);
    assert!(f.allows_protocol(255));
    for i in 0..MAX_IGNORED {
        let _ = f.ignore(v4(172, 16, 0, i as u8), 32);
    }
    assert_eq!(f.ignore(v4(172, 17, 0, 0), 32), Err(CapacityError));
}

fn node(id: u32) -> CtSync<'static> {
    CtSync::new(
        Config::new(id, 1, 1),
        key(),
        Filter::new(),
        leak_cache(64),
        leak_window(64),
    )
}

fn records(bytes: &[u8]) -> Vec<Record> {
    let f = Frame::new_checked(bytes).unwrap();
    f.verify(&key()).unwrap();
    f.records().map(|r| r.unwrap()).collect()
}

#[test]
fn idle_sends_nothing_and_drops() {
    let mut n = node(1);
    let now = Instant::from_secs(1);
    assert_eq!(n.role(), Role::Idle);
    assert_eq!(n.poll_timeout(), None);
    let mut buf = [0u8; 1472];
    assert_eq!(n.poll_transmit(now, &mut buf), None);
    let mut m = node(2);
    m.become_backup(now);
    let t = m.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(n.handle_datagram(now, 0, &buf[..t.len]), Err(Drop::Idle));
    assert_eq!(n.counters().dropped.idle, 1);
    n.handle_ct_event(now, EventKind::New, &nat_entry(&mut Rng::new(1)));
    assert_eq!(n.counters().events_ignored, 1);
}

#[test]
fn backup_requests_resync_until_it_begins() {
    let mut b = node(2);
    let now = Instant::from_secs(1);
    b.become_backup(now);
    assert!(b.poll_timeout().unwrap() <= now);
    let mut buf = [0u8; 1472];
    let t = b.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(t.peer, 0);
    let r = records(&buf[..t.len]);
    assert!(r.contains(&Record::ResyncRequest));
    assert!(b.poll_transmit(now, &mut buf).is_none());
    // Repeated after resync_retry.
    let later = now + DEFAULT_RESYNC_RETRY;
    assert_eq!(b.poll_timeout(), Some(later));
    let t = b.poll_transmit(later, &mut buf).unwrap();
    assert!(records(&buf[..t.len]).contains(&Record::ResyncRequest));
    assert_eq!(b.counters().resync_requests_sent, 2);
    assert!(b.resync_pending());
}

#[test]
fn master_commits_before_dumping() {
    let mut m = node(1);
    let mut b = node(2);
    let now = Instant::from_secs(1);
    m.become_master(now);
    assert_eq!(m.poll_action(), Some(Action::Commit));
    // No peer is known yet: no dump.
    assert_eq!(m.poll_action(), None);
    assert_eq!(m.dump_space(), 0);
    assert_eq!(
        m.handle_dump_entry(now, &nat_entry(&mut Rng::new(2))),
        Err(DumpError::NotDumping)
    );
    b.become_backup(now);
    let mut buf = [0u8; 1472];
    let t = b.poll_transmit(now, &mut buf).unwrap();
    m.handle_datagram(now, 0, &buf[..t.len]).unwrap();
    assert_eq!(m.poll_action(), Some(Action::PeerUp { peer: 0 }));
    assert_eq!(m.poll_action(), Some(Action::Dump));
    assert_eq!(m.poll_action(), None);
    assert_eq!(m.counters().resyncs_started, 1);
    assert_eq!(m.dump_space(), 63 - 64 / DUMP_RESERVE);
    // Becoming master again re-queues the commit first.
    m.become_master(now);
    assert_eq!(m.poll_action(), Some(Action::Commit));
    assert_eq!(m.poll_action(), Some(Action::Dump));
    m.record_commit(Duration::from_millis(42), 10, 1);
    assert_eq!(
        m.counters().last_commit.unwrap().took,
        Duration::from_millis(42)
    );
    // A dump entry from an inconsistent tuple is counted, not queued.
    let bad = Entry::new(
        Tuple::udp(
            IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            1,
            2,
        ),
        Tuple::udp(
            IpAddr::V4(Ipv4Addr::new(2, 2, 2, 2)),
            IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
            2,
            1,
        ),
    );
    assert_eq!(m.handle_dump_entry(now, &bad), Ok(()));
    assert_eq!(m.counters().unencodable, 1);
}

#[test]
fn own_and_unknown_frames_dropped() {
    let mut a = node(1);
    let mut a2 = node(1);
    let now = Instant::from_secs(1);
    a.become_backup(now);
    a2.become_backup(now);
    let mut buf = [0u8; 1472];
    let t = a2.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(a.handle_datagram(now, 0, &buf[..t.len]), Err(Drop::Own));
    assert_eq!(
        a.handle_datagram(now, 1, &buf[..t.len]),
        Err(Drop::UnknownPeer)
    );
    assert_eq!(
        a.handle_datagram(now, 0, &buf[..10]),
        Err(Drop::Frame(sync::Error::Truncated))
    );
    let c = a.counters().dropped;
    assert_eq!((c.own, c.unknown_peer, c.bad_header), (1, 1, 1));
}

#[test]
fn old_epoch_dropped_after_restart() {
    let mut m = node(1);
    let now = Instant::from_secs(1);
    let mut old = CtSync::new(
        Config::new(2, 5, 1),
        key(),
        Filter::new(),
        leak_cache(4),
        leak_window(4),
    );
    let mut new = CtSync::new(
        Config::new(2, 6, 1),
        key(),
        Filter::new(),
        leak_cache(4),
        leak_window(4),
    );
    m.become_master(now);
    old.become_backup(now);
    new.become_backup(now);
    let mut b1 = [0u8; 1472];
    let mut b2 = [0u8; 1472];
    let t1 = old.poll_transmit(now, &mut b1).unwrap();
    let t2 = new.poll_transmit(now, &mut b2).unwrap();
    m.handle_datagram(now, 0, &b2[..t2.len]).unwrap();
    assert_eq!(
        m.handle_datagram(now, 0, &b1[..t1.len]),
        Err(Drop::Frame(sync::Error::OldEpoch))
    );
    assert_eq!(m.counters().dropped.old_epoch, 1);
}

/// An alive that overtakes the data before it: the receiver adopts its
/// position only tentatively (acknowledging nothing), and the overtaken
/// records still apply when they arrive.
#[test]
fn overtaking_alive_neither_acks_nor_skips() {
    let mut m = node(1);
    let mut b = node(2);
    let now = Instant::from_secs(1);
    m.become_master(now);
    b.become_backup(now);
    let mut buf = [0u8; 1472];
    let t = b.poll_transmit(now, &mut buf).unwrap();
    m.handle_datagram(now, 0, &buf[..t.len]).unwrap();
    while m.poll_action().is_some() {}
    m.handle_dump_done(now);
    let mut data = [0u8; 1472];
    let t1 = m.poll_transmit(now, &mut data).unwrap();
    assert_eq!(
        records(&data[..t1.len])[..3],
        [Record::Seq(1), Record::ResyncBegin, Record::ResyncEnd]
    );
    let later = now + DEFAULT_ALIVE_INTERVAL;
    let mut alive = [0u8; 1472];
    let t2 = m.poll_transmit(later, &mut alive).unwrap();
    assert!(records(&alive[..t2.len]).contains(&Record::Alive { next: 3 }));

    // The alive arrives first.
    b.handle_datagram(later, 0, &alive[..t2.len]).unwrap();
    let t = b.poll_transmit(later, &mut buf).unwrap();
    assert_eq!(Frame::new_checked(&buf[..t.len]).unwrap().ack(), 0);
    b.handle_datagram(later, 0, &data[..t1.len]).unwrap();
    assert_eq!(b.counters().resyncs_completed, 1);
    assert_eq!(b.counters().records_duplicate, 0);
    let at = later + DEFAULT_ACK_DELAY;
    let t = b.poll_transmit(at, &mut buf).unwrap();
    assert_eq!(Frame::new_checked(&buf[..t.len]).unwrap().ack(), 3);
}
