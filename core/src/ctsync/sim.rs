//! Deterministic simulation of two routers running [`CtSync`] over a lossy
//! simulated link (quinn-proto's `Pair::step` style: no sleeps, the clock
//! jumps to the next delivery or deadline). Each router has a model of its
//! kernel's conntrack table; dumps read the live table one entry at a time,
//! as a kernel dump does; commits write the cache into it.

extern crate std;

use std::boxed::Box;
use std::collections::{BTreeMap, VecDeque};
use std::vec;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr};

use tandem_protocol::conntrack::{
    self, Entry, Key as CtKey, Manip, NatDelta, TcpInfo, TcpState, Tuple,
};
use tandem_protocol::sync::{self, FrameWriter, Header, Record};

use super::*;
use crate::time::{Duration, Instant};

/// Deterministic PRNG (xorshift64*, seeded through splitmix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) const KEY: [u8; 32] = [0x42; 32];

pub(crate) fn key() -> sync::Key {
    sync::Key::new(&KEY).unwrap()
}

pub(crate) fn leak_cache(n: usize) -> &'static mut [Slot] {
    Box::leak(vec![Slot::EMPTY; n].into_boxed_slice())
}

pub(crate) fn leak_window(n: usize) -> &'static mut [TxSlot] {
    Box::leak(vec![TxSlot::EMPTY; n].into_boxed_slice())
}

/// A masqueraded TCP/IPv4 connection, client `n`.
pub(crate) fn nat_entry(rng: &mut Rng) -> Entry {
    let client = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2 + rng.below(250) as u8));
    let server = IpAddr::V4(Ipv4Addr::new(
        93,
        rng.below(256) as u8,
        rng.below(256) as u8,
        1 + rng.below(254) as u8,
    ));
    let sport = 1024 + rng.below(64000) as u16;
    let orig = if rng.below(5) == 0 {
        Tuple::udp(client, server, sport, 53)
    } else {
        Tuple::tcp(client, server, sport, 443)
    };
    let mut e = Entry::with_nat(
        orig,
        NatDelta {
            snat: Some(Manip {
                addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
                port: sport,
            }),
            dnat: None,
        },
    );
    e.status = conntrack::IPS_CONFIRMED | conntrack::IPS_SRC_NAT | conntrack::IPS_SRC_NAT_DONE;
    e.timeout = 120;
    if orig.proto == conntrack::IPPROTO_TCP {
        e.tcp = Some(TcpInfo::new(TcpState::SynSent));
    }
    e.id = Some(rng.next() as u32);
    e
}

/// What a peer can know of an entry (ids are local to a kernel).
pub(crate) fn wire(e: &Entry) -> Entry {
    Entry { id: None, ..*e }
}

pub(crate) struct Router {
    pub(crate) sync: CtSync<'static>,
    /// The kernel's table.
    pub(crate) table: BTreeMap<CtKey, Entry>,
    /// A dump in progress: the last key fed.
    dump: Option<Option<CtKey>>,
    pub(crate) up: bool,
    /// Every action polled, in order.
    pub(crate) actions: Vec<Action>,
}

impl Router {
    pub(crate) fn new(id: u32, epoch: u32, cache: usize, window: usize, filter: Filter) -> Router {
        let cfg = Config::new(id, epoch, 1);
        Router {
            sync: CtSync::new(cfg, key(), filter, leak_cache(cache), leak_window(window)),
            table: BTreeMap::new(),
            dump: None,
            up: true,
            actions: Vec::new(),
        }
    }

    /// The backup's cache as a map.
    pub(crate) fn cache(&self) -> BTreeMap<CtKey, Entry> {
        self.sync
            .cache_entries()
            .map(|e| (e.key(), wire(&e)))
            .collect()
    }

    /// The kernel table as a peer can know it (filtered like the master
    /// filters).
    pub(crate) fn table_view(&self) -> BTreeMap<CtKey, Entry> {
        self.table
            .iter()
            .filter(|(k, _)| self.sync.filter().accepts(k))
            .map(|(k, e)| (*k, wire(e)))
            .collect()
    }

    /// An event on this router's kernel table.
    pub(crate) fn event(&mut self, now: Instant, kind: EventKind, e: Entry) {
        match kind {
            EventKind::Destroy => {
                self.table.remove(&e.key());
            }
            _ => {
                self.table.insert(e.key(), e);
            }
        }
        self.sync.handle_ct_event(now, kind, &e);
    }

    /// Drains actions and feeds the dump as far as the window allows.
    fn work(&mut self, now: Instant) {
        while let Some(a) = self.sync.poll_action() {
            self.actions.push(a);
            match a {
                Action::Commit => {
                    let entries: Vec<Entry> = self.sync.cache_entries().collect();
                    for e in &entries {
                        let mut e = *e;
                        e.id = Some(0xc0ffee);
                        self.table.insert(e.key(), e);
                    }
                    self.sync
                        .record_commit(Duration::from_millis(1), entries.len() as u32, 0);
                }
                Action::Dump => self.dump = Some(None),
                _ => {}
            }
        }
        while let Some(cursor) = self.dump {
            let next = match cursor {
                None => self.table.iter().next(),
                Some(k) => self
                    .table
                    .range((core::ops::Bound::Excluded(k), core::ops::Bound::Unbounded))
                    .next(),
            };
            match next {
                None => {
                    self.dump = None;
                    self.sync.handle_dump_done(now);
                }
                Some((k, e)) => {
                    let (k, e) = (*k, *e);
                    match self.sync.handle_dump_entry(now, &e) {
                        Ok(()) => self.dump = Some(Some(k)),
                        Err(DumpError::WindowFull) => break,
                        Err(_) => self.dump = None,
                    }
                }
            }
        }
        // A Dump action may have arrived while feeding (restart).
        if let Some(a) = self.sync.poll_action() {
            self.actions.push(a);
            if a == Action::Dump {
                self.dump = Some(None);
            }
        }
    }
}

struct Packet {
    at: Instant,
    to: usize,
    bytes: Vec<u8>,
}

/// Two routers, peer 0 of each being the other.
pub(crate) struct Pair {
    pub(crate) r: [Router; 2],
    pub(crate) now: Instant,
    rng: Rng,
    /// Loss in percent, per direction.
    pub(crate) loss: u64,
    /// Link completely down.
    pub(crate) cut: bool,
    flight: VecDeque<Packet>,
    /// Frames delivered to each router (for replay tests).
    pub(crate) captured: [Vec<Vec<u8>>; 2],
    pub(crate) sent: u64,
    pub(crate) lost: u64,
}

impl Pair {
    pub(crate) fn new(seed: u64, a: Router, b: Router) -> Pair {
        Pair {
            r: [a, b],
            now: Instant::from_secs(1000),
            rng: Rng::new(seed),
            loss: 0,
            cut: false,
            flight: VecDeque::new(),
            captured: [Vec::new(), Vec::new()],
            sent: 0,
            lost: 0,
        }
    }

    /// Lets both routers act and send at `now`.
    fn flush(&mut self) {
        for i in 0..2 {
            if !self.r[i].up {
                continue;
            }
            for _ in 0..10_000 {
                self.r[i].work(self.now);
                let mut buf = [0u8; 1472];
                let Some(t) = self.r[i].sync.poll_transmit(self.now, &mut buf) else {
                    break;
                };
                assert_eq!(t.peer, 0);
                self.sent += 1;
                if self.cut || self.rng.below(100) < self.loss {
                    self.lost += 1;
                    continue;
                }
                let at = self.now + Duration::from_micros(500 + self.rng.below(1000));
                self.flight.push_back(Packet {
                    at,
                    to: 1 - i,
                    bytes: buf[..t.len].to_vec(),
                });
            }
        }
    }

    /// One step: flush, jump to the next event, deliver and time out.
    pub(crate) fn step(&mut self, limit: Instant) {
        self.flush();
        let mut next = self.flight.iter().map(|p| p.at).min();
        for r in &self.r {
            if r.up {
                if let Some(t) = r.sync.poll_timeout() {
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
        }
        let next = next.unwrap_or(limit).min(limit);
        if next > self.now {
            self.now = next;
        }
        let now = self.now;
        let mut i = 0;
        while i < self.flight.len() {
            if self.flight[i].at <= now {
                let p = self.flight.remove(i).unwrap();
                if self.r[p.to].up {
                    self.captured[p.to].push(p.bytes.clone());
                    let _ = self.r[p.to].sync.handle_datagram(now, 0, &p.bytes);
                }
            } else {
                i += 1;
            }
        }
        for r in &mut self.r {
            if r.up && r.sync.poll_timeout().is_some_and(|t| t <= now) {
                r.sync.handle_timeout(now);
            }
        }
    }

    /// Runs until `until`, calling `each` before every step.
    pub(crate) fn run_until(&mut self, until: Instant, mut each: impl FnMut(&mut Pair)) {
        let mut steps = 0u64;
        while self.now < until {
            each(self);
            // Events happen at least every millisecond.
            let limit = (self.now + Duration::from_millis(1)).min(until);
            self.step(limit);
            steps += 1;
            assert!(steps < 10_000_000, "simulation does not advance");
        }
        self.flush();
    }

    pub(crate) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until, |_| {});
    }
}

/// A random event on router `i`'s table: mostly new connections, some
/// updates and destroys of existing ones.
pub(crate) fn random_event(pair: &mut Pair, i: usize) {
    let now = pair.now;
    let roll = pair.rng.below(10);
    let r = &mut pair.r[i];
    if roll < 5 || r.table.is_empty() {
        let e = nat_entry(&mut pair.rng);
        r.event(now, EventKind::New, e);
    } else {
        let n = pair.rng.below(r.table.len() as u64) as usize;
        let Some(mut e) = r.table.values().nth(n).copied() else {
            return;
        };
        if roll < 8 {
            e.status |= conntrack::IPS_SEEN_REPLY | conntrack::IPS_ASSURED;
            e.timeout = 432_000 - pair.rng.below(1000) as u32;
            if e.tcp.is_some() {
                e.tcp = Some(TcpInfo {
                    state: TcpState::Established,
                    wscale_orig: 7,
                    wscale_reply: 7,
                    flags_orig: 0x23,
                    flags_reply: 0x23,
                });
            }
            r.event(now, EventKind::Update, e);
        } else {
            r.event(now, EventKind::Destroy, e);
        }
    }
}

fn assert_mirrors(pair: &Pair, master: usize, backup: usize) {
    let want = pair.r[master].table_view();
    let got = pair.r[backup].cache();
    if want != got {
        let missing = want.keys().filter(|k| !got.contains_key(k)).count();
        let extra = got.keys().filter(|k| !want.contains_key(k)).count();
        let differ = want
            .iter()
            .filter(|(k, e)| got.get(k).is_some_and(|g| g != *e))
            .count();
        panic!(
            "backup cache differs from master table: {} vs {} entries, {missing} missing, \
             {extra} extra, {differ} differ\nmaster {:#?}\nbackup {:#?}",
            want.len(),
            got.len(),
            pair.r[master].sync.counters(),
            pair.r[backup].sync.counters()
        );
    }
}

fn start_pair(seed: u64, preload: usize, window: usize) -> Pair {
    let a = Router::new(1, 10, 4096, window, Filter::new());
    let b = Router::new(2, 20, 4096, window, Filter::new());
    let mut pair = Pair::new(seed, a, b);
    for _ in 0..preload {
        let e = nat_entry(&mut pair.rng);
        pair.r[0].table.insert(e.key(), e);
    }
    let now = pair.now;
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair
}

/// 20 % loss both ways while connections come and go; once the loss stops,
/// the backup's cache equals the master's table.
#[test]
fn lossy_link_converges() {
    for seed in 1..=4 {
        let mut pair = start_pair(seed, 600, 512);
        pair.loss = 20;
        let until = pair.now + Duration::from_secs(8);
        let mut last = pair.now;
        pair.run_until(until, |p| {
            // About 400 events a second.
            while last + Duration::from_micros(2500) <= p.now {
                last += Duration::from_micros(2500);
                random_event(p, 0);
            }
        });
        pair.loss = 0;
        pair.run_for(Duration::from_secs(3));
        assert_mirrors(&pair, 0, 1);
        let m = pair.r[0].sync.counters();
        let b = pair.r[1].sync.counters();
        assert!(pair.lost > 0);
        assert!(m.records_resent > 0, "{m:?}");
        assert!(b.nacks_sent > 0 || m.retransmit_timeouts > 0);
        assert!(b.resyncs_completed >= 1, "{b:?}");
        assert!(pair.r[1].sync.cache_len() > 500);
        std::println!(
            "seed {seed}: {} entries synced; sent {} frames, lost {}; master resent {} of {} records, \
             {} nacks, {} timeouts, {} overflows, {} resyncs",
            pair.r[1].sync.cache_len(),
            pair.sent,
            pair.lost,
            m.records_resent,
            m.records_sent,
            m.nacks_received,
            m.retransmit_timeouts,
            m.window_overflows,
            m.resyncs_started
        );
    }
}

/// Frames with a wrong key, replays and garbage change nothing and are
/// counted.
#[test]
fn bad_frames_change_nothing() {
    let mut pair = start_pair(9, 200, 512);
    pair.run_for(Duration::from_secs(2));
    assert_mirrors(&pair, 0, 1);
    let before = pair.r[1].cache();
    let counters = *pair.r[1].sync.counters();
    let now = pair.now;
    let b = &mut pair.r[1].sync;

    // A forged frame: the right format, another key, a new entry and the
    // destruction of an existing one.
    let other = sync::Key::new(&[7u8; 32]).unwrap();
    let victim = *before.keys().next().unwrap();
    let mut buf = [0u8; 1472];
    let header = Header {
        sender: 1,
        epoch: 10,
        seq: 1_000_000,
        ack: 0,
    };
    let mut w = FrameWriter::new(&mut buf, &header).unwrap();
    w.push(&Record::Seq(1)).unwrap();
    w.push(&Record::CtNew(nat_entry(&mut Rng::new(5)))).unwrap();
    w.push(&Record::CtDestroy(victim)).unwrap();
    w.push(&Record::ResyncBegin).unwrap();
    w.push(&Record::ResyncEnd).unwrap();
    let n = w.finish(&other);
    assert_eq!(
        b.handle_datagram(now, 0, &buf[..n]),
        Err(Drop::Frame(sync::Error::BadMac))
    );

    // Replays of everything the backup received so far.
    let replays = pair.captured[1].clone();
    let b = &mut pair.r[1].sync;
    let mut replay_drops = 0;
    for f in &replays {
        match b.handle_datagram(now, 0, f) {
            Err(Drop::Frame(sync::Error::Duplicate | sync::Error::TooOld)) => replay_drops += 1,
            other => panic!("replay accepted: {other:?}"),
        }
    }

    // Garbage, and frames from unknown peers or with our own id.
    let mut rng = Rng::new(77);
    for _ in 0..1000 {
        let len = rng.below(300) as usize;
        let mut g: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && g.len() > 4 {
            g[0] = 0x54;
            g[1] = 0x53;
            g[2] = 1;
            g[3] = 0;
        }
        assert!(b.handle_datagram(now, 0, &g).is_err());
    }
    assert_eq!(
        b.handle_datagram(now, 3, &replays[0]),
        Err(Drop::UnknownPeer)
    );

    let after = *b.counters();
    assert_eq!(pair.r[1].cache(), before);
    let d = after.dropped;
    let d0 = counters.dropped;
    assert!(d.bad_mac > d0.bad_mac);
    assert_eq!(
        d.duplicate + d.too_old - d0.duplicate - d0.too_old,
        replay_drops
    );
    assert!(d.bad_header > d0.bad_header);
    assert_eq!(d.unknown_peer, d0.unknown_peer + 1);
    assert_eq!(after.frames_received, counters.frames_received);
    assert_eq!(after.records_received, counters.records_received);

    // The link still works afterwards.
    pair.run_for(Duration::from_millis(100));
    let now = pair.now;
    let e = nat_entry(&mut Rng::new(1234));
    pair.r[0].event(now, EventKind::New, e);
    pair.run_for(Duration::from_secs(1));
    assert_mirrors(&pair, 0, 1);
}

/// The master dies; the backup takes over (commit first), keeps serving;
/// the old master returns with a new epoch as backup and receives a full
/// resync.
#[test]
fn old_master_returns_and_gets_full_resync() {
    let mut pair = start_pair(11, 300, 512);
    pair.loss = 5;
    let until = pair.now + Duration::from_secs(3);
    let mut last = pair.now;
    pair.run_until(until, |p| {
        while last + Duration::from_millis(5) <= p.now {
            last += Duration::from_millis(5);
            random_event(p, 0);
        }
    });
    pair.loss = 0;
    pair.run_for(Duration::from_secs(2));
    assert_mirrors(&pair, 0, 1);
    let synced = pair.r[0].table_view();

    // Crash of router 0 (nothing more from or to it).
    pair.r[0].up = false;
    pair.run_for(Duration::from_millis(500));
    let now = pair.now;
    pair.r[1].actions.clear();
    pair.r[1].sync.become_master(now);
    // The first action is the commit; the dump only follows.
    assert_eq!(pair.r[1].sync.poll_action(), Some(Action::Commit));
    pair.r[1].actions.push(Action::Commit);
    let entries: Vec<Entry> = pair.r[1].sync.cache_entries().collect();
    for e in entries {
        pair.r[1].table.insert(e.key(), e);
    }
    let committed: BTreeMap<CtKey, Entry> = pair.r[1].table_view();
    assert_eq!(committed, synced, "commit holds the old master's table");
    // No peer is live yet (it died before we were master): no dump yet.
    pair.run_for(Duration::from_secs(4));
    assert!(pair.r[1]
        .actions
        .iter()
        .any(|a| matches!(a, Action::PeerLost { .. })));
    // New connections on the new master.
    for _ in 0..50 {
        random_event(&mut pair, 1);
    }

    // Router 0 reboots: empty kernel table, a greater epoch, BACKUP.
    let mut a = Router::new(1, 11, 4096, 512, Filter::new());
    let now = pair.now;
    a.sync.become_backup(now);
    pair.r[0] = a;
    pair.run_for(Duration::from_secs(3));
    assert_mirrors(&pair, 1, 0);
    assert_eq!(pair.r[0].sync.counters().resyncs_completed, 1);
    assert!(pair.r[1].sync.counters().resyncs_started >= 1);
    assert!(pair.r[1].actions.contains(&Action::Dump));
    assert!(pair.r[0]
        .actions
        .iter()
        .any(|a| matches!(a, Action::ResyncComplete { .. })));
}

/// A small window overflows while the backup cannot be reached: the master
/// counts it and does a full resync once the link is back.
#[test]
fn window_overflow_leads_to_resync() {
    let mut pair = start_pair(13, 100, 64);
    pair.run_for(Duration::from_secs(1));
    assert_mirrors(&pair, 0, 1);
    let started = pair.r[0].sync.counters().resyncs_started;
    pair.cut = true;
    let until = pair.now + Duration::from_millis(1500);
    let mut last = pair.now;
    pair.run_until(until, |p| {
        while last + Duration::from_millis(5) <= p.now {
            last += Duration::from_millis(5);
            random_event(p, 0);
        }
    });
    let m = *pair.r[0].sync.counters();
    assert!(m.window_overflows > 0, "{m:?}");
    assert!(
        pair.r[0].sync.peer_live(0),
        "peer still live (not timed out)"
    );
    pair.cut = false;
    pair.run_for(Duration::from_secs(3));
    assert_mirrors(&pair, 0, 1);
    assert!(pair.r[0].sync.counters().resyncs_started > started);
    assert!(pair.r[1].sync.counters().resyncs_completed >= 2);
}

/// A backup whose cache is too small counts what it cannot keep.
#[test]
fn full_cache_is_counted() {
    let a = Router::new(1, 1, 16, 256, Filter::new());
    let b = Router::new(2, 1, 16, 256, Filter::new());
    let mut pair = Pair::new(3, a, b);
    for _ in 0..100 {
        let e = nat_entry(&mut pair.rng);
        pair.r[0].table.insert(e.key(), e);
    }
    let now = pair.now;
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.run_for(Duration::from_secs(2));
    let b = &pair.r[1].sync;
    assert_eq!(b.cache_len(), 16);
    assert!(b.counters().cache_full >= 84, "{:?}", b.counters());
    assert_eq!(b.cache_capacity(), 16);
}

/// The filter keeps the router's own and loopback connections and other
/// protocols out of the sync.
#[test]
fn filtered_connections_stay_home() {
    let mut filter = Filter::new();
    filter
        .ignore(IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)), 32)
        .unwrap();
    filter.set_protocols(&[conntrack::IPPROTO_TCP, conntrack::IPPROTO_UDP]);
    let a = Router::new(1, 1, 1024, 256, filter);
    let b = Router::new(2, 1, 1024, 256, Filter::new());
    let mut pair = Pair::new(4, a, b);
    let now = pair.now;
    pair.r[0].sync.become_master(now);
    pair.r[1].sync.become_backup(now);
    pair.run_for(Duration::from_secs(1));
    let now = pair.now;
    let own = Entry::with_nat(
        Tuple::udp(
            IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 255, 0, 2)),
            3780,
            3780,
        ),
        NatDelta::NONE,
    );
    let lo = Entry::with_nat(
        Tuple::tcp(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            5000,
            22,
        ),
        NatDelta::NONE,
    );
    let vrrp = Entry::with_nat(
        Tuple::new(
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)),
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            112,
            0,
            0,
        ),
        NatDelta::NONE,
    );
    let good = nat_entry(&mut Rng::new(8));
    for e in [own, lo, vrrp, good] {
        pair.r[0].event(now, EventKind::New, e);
    }
    pair.run_for(Duration::from_secs(1));
    assert_eq!(pair.r[0].sync.counters().events_filtered, 3);
    let cache = pair.r[1].cache();
    assert_eq!(cache.len(), 1);
    assert!(cache.contains_key(&good.key()));
}
