//! Deterministic simulation of several routers running [`Node`]s over a
//! simulated wire (quinn-proto's `Pair::step` style: no sleeps, the clock
//! jumps to the next deadline or delivery).
//!
//! The wire delivers each `SendAdvert` to the same instance on every other
//! router after 1 ms plus up to 0.5 ms of jitter, unless the packet is lost
//! (seeded PRNG), the routers are on different sides of a partition, or
//! either end's link for that instance is down. Crashed routers neither
//! send nor receive. Invariants are checked after every step.

// Routers and instances are indices into several parallel tables.
#![allow(clippy::needless_range_loop)]

extern crate std;

use std::vec;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::time::{Duration, Instant};

/// Instances per router in the simulation.
const K: usize = 2;

/// Deterministic PRNG (xorshift64*, seeded through splitmix64).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Packet {
    at: Instant,
    to: usize,
    instance: usize,
    advert: Advert,
}

struct Router {
    node: Node<K>,
    cfgs: Vec<Config>,
    up: bool,
    /// Virtual addresses installed, per instance (from the actions).
    vips: [bool; K],
    /// State per instance as told by `Transition` actions.
    seen: [State; K],
    announces: [u32; K],
}

impl Router {
    fn new(cfgs: &[Config]) -> Self {
        let mut node = Node::new();
        for c in cfgs {
            node.add_instance(*c).unwrap();
        }
        Router {
            node,
            cfgs: cfgs.to_vec(),
            up: false,
            vips: [false; K],
            seen: [State::Initialize; K],
            announces: [0; K],
        }
    }
}

/// One logged transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Event {
    pub at: Instant,
    pub router: usize,
    pub instance: usize,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

pub(super) struct Sim {
    pub now: Instant,
    routers: Vec<Router>,
    wire: Vec<Packet>,
    rng: Rng,
    /// Loss probability per packet and receiver, in percent.
    pub loss: u64,
    /// Partition side of each router.
    side: Vec<u8>,
    /// `(router, instance)` links that neither send nor receive.
    links_down: Vec<(usize, usize)>,
    pub log: Vec<Event>,
    /// When set, two MASTERs of one instance that can hear each other may
    /// coexist at most this long.
    pub dual_tolerance: Option<Duration>,
    dual_since: [Option<Instant>; K],
    /// Longest such coexistence seen.
    pub max_dual: Duration,
    pub adverts_sent: u64,
}

impl Sim {
    pub fn new(seed: u64, routers: &[&[Config]]) -> Self {
        Sim {
            now: Instant::from_secs(1000),
            routers: routers.iter().map(|c| Router::new(c)).collect(),
            wire: Vec::new(),
            rng: Rng::new(seed),
            loss: 0,
            side: vec![0; routers.len()],
            links_down: Vec::new(),
            log: Vec::new(),
            dual_tolerance: Some(Duration::from_millis(5)),
            dual_since: [None; K],
            max_dual: Duration::ZERO,
            adverts_sent: 0,
        }
    }

    pub fn start_all(&mut self) {
        for r in 0..self.routers.len() {
            self.start(r);
        }
    }

    pub fn start(&mut self, r: usize) {
        self.routers[r].up = true;
        let now = self.now;
        self.routers[r].node.start(now);
        self.drain(r);
        self.check();
    }

    /// Stops `r` dead: no release, nothing sent or received any more.
    pub fn crash(&mut self, r: usize) {
        self.routers[r].up = false;
        self.check();
    }

    /// Graceful stop (SIGTERM) of `r`.
    pub fn shutdown(&mut self, r: usize) {
        let now = self.now;
        self.routers[r].node.shutdown(now);
        self.drain(r);
        self.routers[r].up = false;
        self.check();
    }

    /// A fresh process on `r` (the old one crashed or stopped), with `cfgs`.
    pub fn restart(&mut self, r: usize, cfgs: &[Config]) {
        self.routers[r] = Router::new(cfgs);
        self.start(r);
    }

    pub fn set_fault(&mut self, r: usize, i: usize, fault: bool) {
        let now = self.now;
        self.routers[r].node.set_fault(now, i, fault);
        self.drain(r);
        self.check();
    }

    pub fn set_priority(&mut self, r: usize, i: usize, priority: u8) {
        let now = self.now;
        self.routers[r].node.set_priority(now, i, priority);
        self.drain(r);
        self.check();
    }

    /// SIGHUP with `cfgs`: returns how many actions it queued.
    pub fn reconfigure(&mut self, r: usize, cfgs: &[Config]) -> usize {
        let now = self.now;
        for (i, c) in cfgs.iter().enumerate() {
            self.routers[r].node.reconfigure(now, i, *c);
            self.routers[r].cfgs[i] = *c;
        }
        let before = self.adverts_sent + self.log.len() as u64;
        self.drain(r);
        self.check();
        (self.adverts_sent + self.log.len() as u64 - before) as usize
    }

    pub fn partition(&mut self, sides: &[u8]) {
        self.side = sides.to_vec();
    }

    pub fn heal(&mut self) {
        self.side.iter_mut().for_each(|s| *s = 0);
        self.links_down.clear();
    }

    pub fn link_down(&mut self, r: usize, i: usize) {
        self.links_down.push((r, i));
    }

    pub fn node(&self, r: usize) -> &Node<K> {
        &self.routers[r].node
    }

    pub fn state(&self, r: usize, i: usize) -> State {
        self.routers[r].node.state(i)
    }

    pub fn announces(&self, r: usize, i: usize) -> u32 {
        self.routers[r].announces[i]
    }

    /// Routers that are up and MASTER of instance `i`.
    pub fn masters(&self, i: usize) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&r| self.routers[r].up && self.state(r, i) == State::Master)
            .collect()
    }

    /// First transition of `r`'s instance `i` to `to` at or after `since`.
    pub fn first(&self, since: Instant, r: usize, i: usize, to: State) -> Option<Event> {
        self.log
            .iter()
            .find(|e| e.at >= since && e.router == r && e.instance == i && e.to == to)
            .copied()
    }

    /// Transitions of `r`'s instance `i` at or after `since`.
    pub fn count(&self, since: Instant, r: usize, i: usize) -> usize {
        self.log
            .iter()
            .filter(|e| e.at >= since && e.router == r && e.instance == i)
            .count()
    }

    fn connected(&self, a: usize, b: usize, i: usize) -> bool {
        self.routers[a].up
            && self.routers[b].up
            && self.side[a] == self.side[b]
            && !self.links_down.contains(&(a, i))
            && !self.links_down.contains(&(b, i))
    }

    /// Carries out every queued action of router `r`, checking the action
    /// contract on the way.
    fn drain(&mut self, r: usize) {
        let mut per_instance = [0usize; K];
        while let Some(action) = self.routers[r].node.poll_action() {
            let i = action.instance();
            per_instance[i] += 1;
            match action {
                Action::SendAdvert { instance, priority } => {
                    self.adverts_sent += 1;
                    let c = self.routers[r].cfgs[instance];
                    let advert = Advert {
                        src: c.primary_addr,
                        priority,
                        adver_int: c.adver_int,
                    };
                    for to in 0..self.routers.len() {
                        if to == r || !self.connected(r, to, instance) {
                            continue;
                        }
                        if self.rng.below(100) < self.loss {
                            continue;
                        }
                        let delay = Duration::from_micros(1000 + self.rng.below(500));
                        self.wire.push(Packet {
                            at: self.now + delay,
                            to,
                            instance,
                            advert,
                        });
                    }
                }
                Action::AddAddresses { instance } => {
                    let router = &mut self.routers[r];
                    assert!(!router.vips[instance], "AddAddresses twice: {r}/{instance}");
                    router.vips[instance] = true;
                }
                Action::RemoveAddresses { instance } => {
                    let router = &mut self.routers[r];
                    assert!(
                        router.vips[instance],
                        "RemoveAddresses twice: {r}/{instance}"
                    );
                    router.vips[instance] = false;
                }
                Action::Announce { instance } => {
                    let router = &mut self.routers[r];
                    assert!(router.vips[instance], "Announce without addresses");
                    router.announces[instance] += 1;
                }
                Action::Transition {
                    instance,
                    from,
                    to,
                    reason,
                } => {
                    let router = &mut self.routers[r];
                    assert_eq!(router.seen[instance], from, "transition chain broken");
                    assert_ne!(from, to);
                    router.seen[instance] = to;
                    self.log.push(Event {
                        at: self.now,
                        router: r,
                        instance,
                        from,
                        to,
                        reason,
                    });
                }
            }
        }
        for (i, n) in per_instance.iter().enumerate() {
            assert!(
                *n <= MAX_ACTIONS_PER_CALL,
                "{n} actions for {r}/{i} in one call"
            );
        }
        assert_eq!(self.routers[r].node.dropped_actions(), 0);
    }

    /// Invariants that hold after every step.
    fn check(&mut self) {
        for (r, router) in self.routers.iter().enumerate() {
            if !router.up {
                continue;
            }
            for i in 0..router.cfgs.len() {
                let state = router.node.state(i);
                assert_eq!(state, router.seen[i], "{r}/{i}: state vs transitions");
                assert_eq!(
                    router.vips[i],
                    state == State::Master,
                    "{r}/{i}: addresses on exactly while MASTER"
                );
                if state == State::Master || state == State::Backup {
                    assert!(router.node.poll_timeout().is_some());
                }
                // Sync group members share their state.
                if let Some(g) = router.cfgs[i].sync_group {
                    for j in 0..router.cfgs.len() {
                        if router.cfgs[j].sync_group == Some(g) {
                            assert_eq!(
                                router.node.state(j),
                                state,
                                "{r}: sync group members {i} and {j} differ at {}",
                                self.now
                            );
                        }
                    }
                }
            }
        }
        for i in 0..K {
            let masters = self.masters(i);
            let dual = masters
                .iter()
                .enumerate()
                .any(|(n, &a)| masters[n + 1..].iter().any(|&b| self.connected(a, b, i)));
            if dual {
                let since = *self.dual_since[i].get_or_insert(self.now);
                let lasted = self.now - since;
                self.max_dual = self.max_dual.max(lasted);
                if let Some(tolerance) = self.dual_tolerance {
                    assert!(
                        lasted <= tolerance,
                        "instance {i}: masters {masters:?} for {lasted} at {}",
                        self.now
                    );
                }
            } else {
                self.dual_since[i] = None;
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let wire = self.wire.iter().map(|p| p.at).min();
        let timers = self
            .routers
            .iter()
            .filter(|r| r.up)
            .filter_map(|r| r.node.poll_timeout())
            .min();
        match (wire, timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to the next delivery or deadline (if not after `limit`).
    fn step(&mut self, limit: Instant) -> bool {
        let Some(t) = self.next_event().filter(|t| *t <= limit) else {
            self.now = limit;
            self.check();
            return false;
        };
        self.now = self.now.max(t);
        while let Some(n) = (0..self.wire.len())
            .filter(|&n| self.wire[n].at <= self.now)
            .min_by_key(|&n| self.wire[n].at)
        {
            let p = self.wire.remove(n);
            // Dropped if the receiver crashed or got cut off meanwhile.
            if !self.routers[p.to].up || self.links_down.contains(&(p.to, p.instance)) {
                continue;
            }
            let now = self.now;
            self.routers[p.to]
                .node
                .handle_advert(now, p.instance, &p.advert);
            self.drain(p.to);
        }
        for r in 0..self.routers.len() {
            if self.routers[r].up
                && self.routers[r]
                    .node
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
            {
                let now = self.now;
                self.routers[r].node.handle_timeout(now);
                self.drain(r);
                assert!(
                    self.routers[r].node.poll_timeout().is_none_or(|t| t > now),
                    "handle_timeout left a due timer"
                );
            }
        }
        self.check();
        true
    }

    pub fn run_until(&mut self, limit: Instant) {
        while self.step(limit) {}
    }

    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        self.run_until(limit);
    }
}

// ---- scenarios --------------------------------------------------------------

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn rc(priority: u8, last: u8) -> Config {
    Config::new(51, priority, ip(last))
}

fn v3(mut c: Config, centis: u64) -> Config {
    c.version = Version::V3;
    c.adver_int = Duration::from_centis(centis);
    c
}

fn nopreempt(mut c: Config) -> Config {
    c.preempt = false;
    c
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn mdi(c: &Config) -> Duration {
    master_down_interval(c.version, c.priority, c.adver_int)
}

fn skew(c: &Config) -> Duration {
    skew_time(c.version, c.priority, c.adver_int)
}

/// Wire delay bound plus one scheduling tick.
const SLACK: Duration = Duration::from_millis(2);

#[test]
fn two_routers_elect_the_higher_priority() {
    let a = rc(150, 1);
    let b = rc(100, 2);
    let mut sim = Sim::new(1, &[&[a], &[b]]);
    let t0 = sim.now;
    sim.start_all();
    sim.run_for(secs(30));
    assert_eq!(sim.masters(0), [0]);
    assert_eq!(
        sim.first(t0, 0, 0, State::Master).unwrap().at,
        t0 + mdi(&a),
        "elected exactly when its Master_Down_Timer fired"
    );
    assert_eq!(sim.count(t0, 1, 0), 1, "B only started");
    assert_eq!(sim.node(1).master_addr(0), Some(ip(1)));
    assert_eq!(sim.max_dual, Duration::ZERO);
    // First announce at takeover, the second after garp_master_delay.
    assert_eq!(sim.announces(0, 0), 2);
}

#[test]
fn three_routers_elect_the_highest_priority() {
    let cfgs = [rc(100, 1), rc(200, 2), rc(150, 3)];
    let mut sim = Sim::new(2, &[&cfgs[0..1], &cfgs[1..2], &cfgs[2..3]]);
    let t0 = sim.now;
    sim.start_all();
    sim.run_for(secs(30));
    assert_eq!(sim.masters(0), [1]);
    assert_eq!(sim.count(t0, 0, 0), 1);
    assert_eq!(sim.count(t0, 2, 0), 1);
}

#[test]
fn lossy_wire_converges_and_flaps_resolve() {
    for (seed, routers, loss) in [(3, 2, 20), (4, 3, 10), (5, 3, 25)] {
        let cfgs: Vec<Config> = (0..routers)
            .map(|r| rc(200 - 50 * r as u8, r as u8 + 1))
            .collect();
        let slices: Vec<&[Config]> = cfgs.chunks(1).collect();
        let mut sim = Sim::new(seed, &slices);
        // Lost adverts make a backup take over until it hears the master
        // again; bounded by a few advertisement intervals.
        sim.dual_tolerance = Some(secs(8));
        sim.loss = loss;
        let t0 = sim.now;
        sim.start_all();
        sim.run_for(secs(3600));
        let flaps: usize = (1..routers)
            .map(|r| {
                sim.log
                    .iter()
                    .filter(|e| e.router == r && e.to == State::Master && e.at >= t0)
                    .count()
            })
            .sum();
        assert!(flaps > 0, "seed {seed}: the loss had no effect");
        assert!(flaps < 500, "seed {seed}: {flaps} flaps");
        sim.loss = 0;
        sim.run_for(secs(10));
        assert_eq!(sim.masters(0), [0], "seed {seed}");
        // Every flap ended with the backup yielding to the master.
        for e in sim
            .log
            .iter()
            .filter(|e| e.router != 0 && e.from == State::Master)
        {
            assert_eq!(e.reason, Reason::HigherPriority);
        }
    }
}

#[test]
fn partition_gives_two_masters_and_heal_gives_one() {
    let a = rc(150, 1);
    let b = rc(100, 2);
    let mut sim = Sim::new(6, &[&[a], &[b]]);
    sim.dual_tolerance = Some(a.adver_int + SLACK * 2);
    sim.start_all();
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0]);
    let cut = sim.now;
    sim.partition(&[0, 1]);
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0, 1], "split brain while partitioned");
    assert!(sim.first(cut, 1, 0, State::Master).unwrap().at <= cut + mdi(&b) + SLACK);
    let healed = sim.now;
    sim.heal();
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [0]);
    let back = sim.first(healed, 1, 0, State::Backup).unwrap();
    assert_eq!(back.reason, Reason::HigherPriority);
    assert!(back.at <= healed + a.adver_int + SLACK * 2);
    assert_eq!(sim.count(healed, 0, 0), 0, "A never left MASTER");
}

#[test]
fn three_router_partition_and_heal() {
    let cfgs = [rc(200, 1), rc(150, 2), rc(100, 3)];
    let mut sim = Sim::new(7, &[&cfgs[0..1], &cfgs[1..2], &cfgs[2..3]]);
    sim.dual_tolerance = Some(secs(1) + SLACK * 2);
    sim.start_all();
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0]);
    sim.partition(&[0, 1, 1]);
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0, 1]);
    assert_eq!(sim.state(2, 0), State::Backup);
    let healed = sim.now;
    sim.heal();
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [0]);
    assert_eq!(sim.count(healed, 2, 0), 0, "C stayed BACKUP throughout");
}

#[test]
fn master_crash_backup_takes_over_within_master_down_interval() {
    for (seed, a, b) in [
        (8, rc(150, 1), rc(100, 2)),
        (9, v3(rc(150, 1), 10), v3(rc(100, 2), 10)),
        (10, v3(rc(254, 1), 100), v3(rc(1, 2), 100)),
    ] {
        let mut sim = Sim::new(seed, &[&[a], &[b]]);
        sim.start_all();
        sim.run_for(secs(20) + Duration::from_millis(345));
        assert_eq!(sim.masters(0), [0]);
        let crash = sim.now;
        sim.crash(0);
        sim.run_for(secs(10));
        assert_eq!(sim.masters(0), [1]);
        let e = sim.first(crash, 1, 0, State::Master).unwrap();
        assert_eq!(e.reason, Reason::MasterDown);
        let took = e.at - crash;
        assert!(took <= mdi(&b) + SLACK, "seed {seed}: took {took}");
        assert!(
            took + a.adver_int + SLACK >= mdi(&b),
            "seed {seed}: too early, {took}"
        );
    }
}

#[test]
fn graceful_shutdown_hands_over_within_skew_time() {
    for (seed, a, b) in [
        (11, rc(150, 1), rc(100, 2)),
        (12, v3(rc(150, 1), 10), v3(rc(100, 2), 10)),
    ] {
        let mut sim = Sim::new(seed, &[&[a], &[b]]);
        sim.start_all();
        sim.run_for(secs(20) + Duration::from_millis(123));
        let stop = sim.now;
        sim.shutdown(0);
        sim.run_for(secs(10));
        let e = sim.first(stop, 1, 0, State::Master).unwrap();
        assert_eq!(e.reason, Reason::MasterReleased);
        let took = e.at - stop;
        assert!(took <= skew(&b) + SLACK, "seed {seed}: took {took}");
        assert!(took >= skew(&b));
        assert_eq!(sim.masters(0), [1]);
    }
}

#[test]
fn restarted_master_with_nopreempt_stays_backup() {
    let a = nopreempt(rc(150, 1));
    let b = nopreempt(rc(100, 2));
    let mut sim = Sim::new(13, &[&[a], &[b]]);
    sim.start_all();
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0]);
    sim.crash(0);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [1]);
    let back = sim.now;
    sim.restart(0, &[a]);
    sim.run_for(secs(120));
    assert_eq!(
        sim.masters(0),
        [1],
        "nopreempt: the returning router stays BACKUP"
    );
    assert_eq!(sim.count(back, 0, 0), 1, "only its start-up");
    assert_eq!(sim.node(0).master_addr(0), Some(ip(2)));
}

#[test]
fn restarted_master_with_preempt_takes_back() {
    let a = rc(150, 1);
    let b = rc(100, 2);
    let mut sim = Sim::new(14, &[&[a], &[b]]);
    sim.start_all();
    sim.run_for(secs(20));
    sim.crash(0);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [1]);
    let back = sim.now;
    sim.restart(0, &[a]);
    sim.run_for(secs(30));
    assert_eq!(sim.masters(0), [0]);
    let e = sim.first(back, 0, 0, State::Master).unwrap();
    assert_eq!(e.reason, Reason::Preempt);
    assert_eq!(e.at, back + mdi(&a), "ignores the lower master's adverts");
    let y = sim.first(back, 1, 0, State::Backup).unwrap();
    assert_eq!(y.reason, Reason::HigherPriority);
    assert!(y.at - e.at <= SLACK);
}

#[test]
fn preempt_delay_postpones_the_take_back() {
    let mut a = rc(150, 1);
    a.preempt_delay = secs(15);
    let b = rc(100, 2);
    let mut sim = Sim::new(15, &[&[a], &[b]]);
    sim.start_all();
    sim.run_for(secs(20));
    sim.crash(0);
    sim.run_for(secs(10));
    let back = sim.now;
    sim.restart(0, &[a]);
    sim.run_for(secs(60));
    let e = sim.first(back, 0, 0, State::Master).unwrap();
    assert_eq!(e.reason, Reason::Preempt);
    assert!(e.at >= back + secs(15), "not before preempt_delay");
    assert!(e.at <= back + secs(15) + mdi(&a) + SLACK);
    assert_eq!(sim.masters(0), [0]);
}

#[test]
fn simultaneous_start_with_equal_priorities_lower_address_yields() {
    for (seed, a, b) in [
        (16, rc(100, 1), rc(100, 2)),
        (17, v3(rc(100, 1), 10), v3(rc(100, 2), 10)),
        (18, nopreempt(rc(100, 1)), nopreempt(rc(100, 2))),
    ] {
        let mut sim = Sim::new(seed, &[&[a], &[b]]);
        let t0 = sim.now;
        sim.start_all();
        sim.run_for(secs(30));
        assert_eq!(sim.masters(0), [1], "seed {seed}: the greater address wins");
        // Both took over at the same instant; A yielded on B's advert.
        assert_eq!(sim.first(t0, 0, 0, State::Master).unwrap().at, t0 + mdi(&a));
        let y = sim
            .log
            .iter()
            .find(|e| e.router == 0 && e.from == State::Master)
            .unwrap();
        assert_eq!(y.to, State::Backup);
        assert_eq!(y.reason, Reason::HigherAddress);
        assert_eq!(sim.count(t0, 1, 0), 2, "B: start-up, MASTER");
        assert!(sim.max_dual <= SLACK, "seed {seed}: {}", sim.max_dual);
    }
}

#[test]
fn priority_changes_move_mastership() {
    let a = rc(150, 1);
    let b = rc(100, 2);
    let mut sim = Sim::new(19, &[&[a], &[b]]);
    sim.start_all();
    sim.run_for(secs(20));
    assert_eq!(sim.masters(0), [0]);
    // A drops below B: B ignores the lower adverts and preempts.
    let t = sim.now;
    sim.set_priority(0, 0, 50);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [1]);
    let e = sim.first(t, 1, 0, State::Master).unwrap();
    assert_eq!(e.reason, Reason::Preempt);
    assert!(e.at - t <= mdi(&b) + SLACK);
    // A rises again: it preempts back.
    let t = sim.now;
    sim.set_priority(0, 0, 150);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [0]);
    assert!(sim.first(t, 0, 0, State::Master).unwrap().at - t <= mdi(&a) + SLACK);
    // B raises itself above A: B preempts.
    let t = sim.now;
    sim.set_priority(1, 0, 200);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [1]);
    assert_eq!(sim.node(0).master_addr(0), Some(ip(2)));
    assert!(sim.first(t, 1, 0, State::Master).unwrap().at - t <= secs(4));
}

fn lan_wan(priority: u8, last: u8) -> [Config; 2] {
    let mut lan = Config::new(1, priority, ip(last));
    lan.sync_group = Some(0);
    let mut wan = Config::new(2, priority, IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)));
    wan.sync_group = Some(0);
    [lan, wan]
}

#[test]
fn sync_group_moves_together_on_crash_fault_and_restart() {
    let a = lan_wan(150, 1);
    let b = lan_wan(100, 2);
    let mut sim = Sim::new(20, &[&a, &b]);
    sim.start_all();
    sim.run_for(secs(20));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![0], vec![0]));

    // Crash: both instances of B take over.
    let crash = sim.now;
    sim.crash(0);
    sim.run_for(secs(10));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![1], vec![1]));
    for i in 0..2 {
        assert!(sim.first(crash, 1, i, State::Master).unwrap().at - crash <= mdi(&b[i]) + SLACK);
    }

    // Restart with preempt: A takes both back.
    sim.restart(0, &a);
    sim.run_for(secs(20));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![0], vec![0]));

    // A's LAN link goes down (its release on the LAN is lost): A's group
    // goes to FAULT, B's group takes over within Master_Down_Interval.
    let fault = sim.now;
    sim.link_down(0, 0);
    sim.set_fault(0, 0, true);
    assert_eq!(
        (sim.state(0, 0), sim.state(0, 1)),
        (State::Fault, State::Fault)
    );
    sim.run_for(secs(10));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![1], vec![1]));
    for i in 0..2 {
        assert!(sim.first(fault, 1, i, State::Master).unwrap().at - fault <= mdi(&b[0]) + SLACK);
    }
    assert_eq!(
        (sim.state(0, 0), sim.state(0, 1)),
        (State::Fault, State::Fault)
    );

    // The link comes back: A leaves FAULT and preempts both.
    let clear = sim.now;
    sim.heal();
    sim.set_fault(0, 0, false);
    sim.run_for(secs(10));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![0], vec![0]));
    assert_eq!(
        sim.first(clear, 0, 1, State::Backup).unwrap().reason,
        Reason::SyncGroup
    );

    // Graceful stop of A: both released, B takes both within skew.
    let stop = sim.now;
    sim.shutdown(0);
    sim.run_for(secs(5));
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![1], vec![1]));
    for i in 0..2 {
        assert!(sim.first(stop, 1, i, State::Master).unwrap().at - stop <= skew(&b[i]) + SLACK);
    }
}

#[test]
fn sync_group_prefers_backup_when_only_one_link_loses_the_master() {
    // A's WAN adverts stop reaching B (no fault detected anywhere).
    let a = lan_wan(150, 1);
    let b = lan_wan(100, 2);
    let mut sim = Sim::new(21, &[&a, &b]);
    sim.start_all();
    sim.run_for(secs(20));
    let cut = sim.now;
    sim.link_down(0, 1);
    sim.run_for(secs(120));
    assert_eq!(
        sim.count(cut, 1, 0) + sim.count(cut, 1, 1),
        0,
        "B does not flap"
    );
    assert_eq!((sim.masters(0), sim.masters(1)), (vec![0], vec![0]));

    // Negative control: without the sync group B's WAN instance takes over.
    let mut a2 = a;
    let mut b2 = b;
    for c in a2.iter_mut().chain(b2.iter_mut()) {
        c.sync_group = None;
    }
    let mut sim = Sim::new(21, &[&a2, &b2]);
    sim.start_all();
    sim.run_for(secs(20));
    sim.link_down(0, 1);
    sim.run_for(secs(120));
    assert_eq!(sim.state(1, 1), State::Master);
    assert_eq!(sim.state(1, 0), State::Backup);
}

#[test]
fn random_chaos_converges_to_the_highest_priority() {
    for seed in 100..130u64 {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(2) as usize;
        let version_v3 = rng.below(2) == 0;
        let group = rng.below(2) == 0;
        let mut cfgs: Vec<[Config; 2]> = Vec::new();
        for r in 0..n {
            let owner = r == n - 1 && rng.below(3) == 0;
            let priority = if owner {
                255
            } else {
                50 + 50 * r as u8 + rng.below(40) as u8
            };
            let mut pair = lan_wan(priority, r as u8 + 1);
            for c in pair.iter_mut() {
                if version_v3 {
                    *c = v3(*c, 10 + 10 * rng.below(3));
                }
                if !group {
                    c.sync_group = None;
                }
            }
            cfgs.push(pair);
        }
        let slices: Vec<&[Config]> = cfgs.iter().map(|c| &c[..]).collect();
        let mut sim = Sim::new(seed, &slices);
        sim.dual_tolerance = None;
        sim.start_all();
        for _ in 0..60 {
            let r = rng.below(n as u64) as usize;
            match rng.below(8) {
                0 => sim.crash(r),
                1 if !sim.routers[r].up => sim.restart(r, &cfgs[r]),
                1 => sim.shutdown(r),
                2 => {
                    let sides: Vec<u8> = (0..n).map(|_| rng.below(2) as u8).collect();
                    sim.partition(&sides);
                }
                3 => sim.heal(),
                4 => sim.loss = rng.below(40),
                5 if sim.routers[r].up => {
                    sim.set_priority(r, rng.below(2) as usize, 1 + rng.below(255) as u8)
                }
                6 if sim.routers[r].up => {
                    sim.set_fault(r, rng.below(2) as usize, rng.below(2) == 0)
                }
                7 if sim.routers[r].up => {
                    // Unchanged configuration: nothing happens.
                    let transitions = sim.log.len();
                    let same = sim.routers[r].cfgs.clone();
                    assert_eq!(sim.reconfigure(r, &same), 0, "seed {seed}");
                    assert_eq!(sim.log.len(), transitions);
                }
                _ => {}
            }
            sim.run_for(Duration::from_millis(rng.below(8000)));
        }
        // Heal everything, restore priorities, and settle.
        sim.heal();
        sim.loss = 0;
        for r in 0..n {
            if !sim.routers[r].up {
                sim.restart(r, &cfgs[r]);
            }
            for i in 0..2 {
                sim.set_fault(r, i, false);
                sim.set_priority(r, i, cfgs[r][i].priority);
            }
        }
        sim.run_for(secs(30));
        sim.dual_tolerance = Some(Duration::ZERO);
        sim.run_for(secs(30));
        for i in 0..2 {
            assert_eq!(sim.masters(i), [n - 1], "seed {seed}, instance {i}");
            for r in 0..n - 1 {
                assert_eq!(sim.state(r, i), State::Backup, "seed {seed}");
            }
        }
    }
}

#[test]
fn reload_keeps_state_unless_the_priority_changes() {
    let a = rc(150, 1);
    let b = rc(100, 2);
    let mut sim = Sim::new(22, &[&[a], &[b]]);
    sim.start_all();
    sim.run_for(secs(20));
    let t = sim.now;
    // Unchanged files: nothing at all happens on either router.
    assert_eq!(sim.reconfigure(0, &[a]), 0);
    assert_eq!(sim.reconfigure(1, &[b]), 0);
    sim.run_for(secs(20));
    assert_eq!(sim.count(t, 0, 0) + sim.count(t, 1, 0), 0);
    // B's new priority is above A's: B preempts.
    let mut b2 = b;
    b2.priority = 200;
    let t = sim.now;
    sim.reconfigure(1, &[b2]);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [1]);
    assert!(sim.first(t, 1, 0, State::Master).unwrap().at - t <= mdi(&b2) + SLACK);
    // A master's new priority goes out at once.
    let sent = sim.adverts_sent;
    let mut b3 = b2;
    b3.priority = 120;
    let t = sim.now;
    assert_eq!(sim.reconfigure(1, &[b3]), 1, "one advert");
    assert_eq!(sim.adverts_sent, sent + 1);
    sim.run_for(secs(10));
    assert_eq!(sim.masters(0), [0], "A (150) preempts B (120)");
    assert!(sim.first(t, 0, 0, State::Master).unwrap().at - t <= mdi(&a) + SLACK);
}
