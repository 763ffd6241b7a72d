//! [`Node`]: the instances of one router, their timers and action queues,
//! and the sync-group logic.

use core::net::IpAddr;

use heapless::Vec;

use super::timer::{Timer, TimerTable};
use super::{
    master_down_interval, skew_time, Action, Advert, Config, Error, Reason, State, Version,
    ACTION_QUEUE, PRIORITY_OWNER, PRIORITY_RELEASE,
};
use crate::time::{Duration, Instant};

/// The smallest advertisement interval used, whatever the configuration
/// says: one centisecond (VRRPv3's unit), so that no timer spins.
const MIN_ADVER_INT: Duration = Duration::from_centis(1);

/// One VRRP instance.
#[derive(Clone, Debug)]
struct Instance {
    cfg: Config,
    state: State,
    /// Effective priority (the configured one unless [`Node::set_priority`]).
    priority: u8,
    /// This instance's own fault (a tracked link or check is down).
    fault: bool,
    /// Removed from the configuration; ignores every input.
    retired: bool,
    /// keepalived's `wantstate == MASTER`: the Master_Down_Timer fired (or
    /// the instance is MASTER) and no master has been heard since. A sync
    /// group becomes MASTER only when every member wants to.
    wants_master: bool,
    /// RFC 5798 Master_Adver_Interval: learnt from the master (v3), the
    /// configured interval otherwise.
    master_adver_int: Duration,
    /// Source of the last advert accepted from a master (BACKUP).
    master_addr: Option<IpAddr>,
    /// keepalived's `preempt_time`: preemption is allowed from this instant
    /// ([`Instant::END`]: not set).
    preempt_at: Instant,
    /// What it will mean when Master_Down_Timer fires.
    down_reason: Reason,
    /// The last address action queued was `AddAddresses`.
    addresses: bool,
    timers: TimerTable,
    transitions: u32,
    last_transition: Option<(Instant, Reason)>,
    /// Queued actions, each with the node-wide sequence number that orders
    /// them across instances.
    queue: Vec<(u32, Action), ACTION_QUEUE>,
}

impl Instance {
    fn new(cfg: Config) -> Self {
        Instance {
            cfg,
            state: State::Initialize,
            priority: cfg.priority,
            fault: false,
            retired: false,
            wants_master: false,
            master_adver_int: adver_int(&cfg),
            master_addr: None,
            preempt_at: Instant::END,
            down_reason: Reason::MasterDown,
            addresses: false,
            timers: TimerTable::default(),
            transitions: 0,
            last_transition: None,
            queue: Vec::new(),
        }
    }

    /// Takes part in elections (started, not retired).
    fn active(&self) -> bool {
        !self.retired && self.state != State::Initialize
    }

    /// Skew_Time with the current priority and Master_Adver_Interval.
    fn skew(&self) -> Duration {
        skew_time(self.cfg.version, self.priority, self.master_adver_int)
    }

    /// Master_Down_Interval with the current priority and
    /// Master_Adver_Interval.
    fn down_interval(&self) -> Duration {
        master_down_interval(self.cfg.version, self.priority, self.master_adver_int)
    }

    /// Learns Master_Adver_Interval from a master's advert (v3 only; v2
    /// intervals must match the configuration, RFC 3768 §7.1).
    fn learn_interval(&mut self, advert: &Advert) {
        if self.cfg.version == Version::V3 && advert.adver_int > Duration::ZERO {
            self.master_adver_int = advert.adver_int;
        }
    }

    /// Whether a lower-priority advert must still be accepted because of
    /// `preempt_delay` (keepalived `vrrp_state_backup`).
    fn preempt_delayed(&self, now: Instant) -> bool {
        self.cfg.preempt_delay > Duration::ZERO
            && (self.preempt_at == Instant::END || self.preempt_at > now)
    }
}

/// `a > b` in [`IpAddr`]'s order (IPv4 before IPv6, then the address
/// bytes), compared as one byte string: smaller than the derived order's
/// code.
fn addr_gt(a: &IpAddr, b: &IpAddr) -> bool {
    fn key(x: &IpAddr) -> [u8; 17] {
        let mut k = [0u8; 17];
        match x {
            IpAddr::V4(v) => k[13..].copy_from_slice(&v.octets()),
            IpAddr::V6(v) => {
                k[0] = 1;
                k[1..].copy_from_slice(&v.octets());
            }
        }
        k
    }
    key(a) > key(b)
}

/// The configured advertisement interval, at least [`MIN_ADVER_INT`].
fn adver_int(cfg: &Config) -> Duration {
    if cfg.adver_int < MIN_ADVER_INT {
        MIN_ADVER_INT
    } else {
        cfg.adver_int
    }
}

/// Up to `N` VRRP instances of one router, their timers, their action queues
/// and the sync-group logic. Memory is fixed: `N` instances, each with an
/// action queue of [`ACTION_QUEUE`](super::ACTION_QUEUE) slots.
///
/// # Elections (RFC 5798 §6.4)
///
/// - [`start`](Node::start): priority 255 → MASTER at once; otherwise BACKUP
///   with Master_Down_Timer = Master_Down_Interval (keepalived's `state
///   MASTER` shortens the first one to Advertisement_Interval + Skew_Time).
/// - BACKUP, advert with priority 0: Master_Down_Timer = Skew_Time. Advert
///   with a priority ≥ ours, or preemption off (`nopreempt`), or
///   `preempt_delay` running: the master is alive, Master_Down_Timer =
///   Master_Down_Interval. Lower priority with preemption allowed: ignored,
///   the timer runs out and we preempt.
/// - MASTER, advert with a higher priority, or equal priority from a greater
///   address: BACKUP. Priority 0: send an advert at once. Lower priority:
///   send an advert at once too, so that a lower-priority router that became
///   MASTER during a partition yields quickly (keepalived: "forcing a new
///   election").
///
/// # FAULT (keepalived)
///
/// [`set_fault(true)`](Node::set_fault) takes the instance to FAULT from any
/// started state; a MASTER first releases (advert with priority 0, addresses
/// removed) so that the backup takes over after Skew_Time. In FAULT adverts
/// are ignored. When the fault clears the instance goes to BACKUP with a
/// fresh Master_Down_Timer (a priority-255 owner uses Advertisement_Interval
/// + Skew_Time, like keepalived).
///
/// # Sync groups (keepalived 2.x `vrrp_sync.c`)
///
/// Instances with the same [`Config::sync_group`] move together:
/// - A member whose Master_Down_Timer fires becomes MASTER only if every
///   other member wants MASTER too (its own timer fired and it has not heard
///   a master since) or the group is already MASTER; then every member
///   becomes MASTER together (reason `SyncGroup` for the others). Otherwise
///   it re-arms its timer and waits: keepalived prefers BACKUP "to avoid
///   thrashing" when only one link lost the master's adverts.
/// - A MASTER member that yields to a better advert takes every other MASTER
///   member to BACKUP.
/// - A fault on any member puts every member in FAULT; the group leaves
///   FAULT (all to BACKUP) only when no member has a fault left.
/// - Members not started yet or retired take no part.
#[derive(Debug)]
pub struct Node<const N: usize> {
    instances: Vec<Instance, N>,
    /// Sequence number of the next queued action.
    /// (Wraps: queued actions are compared by age, `seq - their number`,
    /// and at most `N` × [`ACTION_QUEUE`] of them are queued at a time.)
    seq: u32,
    dropped: u32,
}

impl<const N: usize> Default for Node<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Node<N> {
    /// An empty node.
    pub const fn new() -> Self {
        Node {
            instances: Vec::new(),
            seq: 0,
            dropped: 0,
        }
    }

    /// Adds an instance in state `Initialize` and returns its index: the
    /// number of instances added before it. Indices stay valid for the
    /// node's lifetime; slots of retired instances are not reused. Call
    /// [`start`](Node::start) to start it.
    ///
    /// # Errors
    ///
    /// [`Error::Capacity`] when all `N` slots are in use, or what
    /// [`Config::validate`] reports.
    pub fn add_instance(&mut self, cfg: Config) -> Result<usize, Error> {
        cfg.validate()?;
        self.instances
            .push(Instance::new(cfg))
            .map_err(|_| Error::Capacity)?;
        Ok(self.instances.len() - 1)
    }

    /// Starts every instance still in `Initialize` (all of them at first; on
    /// a reload, the ones just added): priority 255 → MASTER, a fault
    /// already set → FAULT, otherwise BACKUP. Then every sync group with a
    /// MASTER member takes its new members to MASTER. Idempotent.
    pub fn start(&mut self, now: Instant) {
        let starting = |inst: &Instance| !inst.retired && inst.state == State::Initialize;
        // Owners first, so that their groups' new members can go straight to
        // MASTER below (one transition per instance and call).
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if starting(inst)
                && !inst.fault
                && !self.group_has_fault(i)
                && inst.priority == PRIORITY_OWNER
            {
                self.reset_for_start(now, i);
                self.enter_master(now, i, Reason::Startup);
            }
        }
        for i in 0..self.instances.len() {
            if !starting(&self.instances[i]) {
                continue;
            }
            self.reset_for_start(now, i);
            let group_master = (0..self.instances.len())
                .any(|j| self.member(i, j) && self.instances[j].state == State::Master);
            let inst = &self.instances[i];
            if inst.fault {
                self.enter_fault(now, i, Reason::Fault);
            } else if self.group_has_fault(i) {
                self.enter_fault(now, i, Reason::SyncGroup);
            } else if group_master {
                self.enter_master(now, i, Reason::SyncGroup);
            } else {
                let first = if inst.cfg.initial == State::Master {
                    adver_int(&inst.cfg) + inst.skew()
                } else {
                    inst.down_interval()
                };
                self.enter_backup(now, i, Reason::Startup, first);
            }
        }
        // A new owner takes along the members that were already running.
        for i in 0..self.instances.len() {
            if self.instances[i].state == State::Master {
                self.sync_master(now, i);
            }
        }
    }

    /// Fresh per-run state of instance `i` before it leaves `Initialize`.
    fn reset_for_start(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        inst.master_adver_int = adver_int(&inst.cfg);
        inst.preempt_at = if inst.cfg.preempt_delay > Duration::ZERO {
            now + inst.cfg.preempt_delay
        } else {
            Instant::END
        };
        inst.wants_master = false;
        inst.master_addr = None;
        inst.down_reason = Reason::MasterDown;
    }

    /// Feeds a validated advert received for `instance` (RFC 5798 §6.4.2,
    /// §6.4.3). Adverts whose source is the instance's own primary address
    /// (our own, looped back) and adverts for instances in `Initialize` or
    /// FAULT are ignored.
    pub fn handle_advert(&mut self, now: Instant, instance: usize, advert: &Advert) {
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        if inst.retired || advert.src == inst.cfg.primary_addr {
            return;
        }
        match inst.state {
            State::Initialize | State::Fault => {}
            State::Backup => {
                if advert.priority == PRIORITY_RELEASE {
                    inst.timers.set(Timer::MasterDown, now + inst.skew());
                    inst.down_reason = Reason::MasterReleased;
                    inst.master_addr = None;
                } else if !inst.cfg.preempt
                    || advert.priority >= inst.priority
                    || inst.preempt_delayed(now)
                {
                    inst.learn_interval(advert);
                    inst.timers
                        .set(Timer::MasterDown, now + inst.down_interval());
                    inst.down_reason = Reason::MasterDown;
                    inst.master_addr = Some(advert.src);
                    inst.wants_master = false;
                    if inst.cfg.preempt_delay > Duration::ZERO {
                        if advert.priority >= inst.priority {
                            inst.preempt_at = Instant::END;
                        } else if inst.preempt_at == Instant::END {
                            inst.preempt_at = now + inst.cfg.preempt_delay;
                        }
                    }
                } else {
                    // A lower-priority master and we may preempt: discard
                    // the advert and let Master_Down_Timer run out.
                    inst.down_reason = Reason::Preempt;
                    inst.master_addr = Some(advert.src);
                }
            }
            State::Master => {
                let priority = inst.priority;
                if advert.priority == PRIORITY_RELEASE {
                    self.emit(instance, Action::SendAdvert { instance, priority });
                    return;
                }
                let reason = if advert.priority > priority {
                    Reason::HigherPriority
                } else if advert.priority == priority
                    && addr_gt(&advert.src, &inst.cfg.primary_addr)
                {
                    Reason::HigherAddress
                } else {
                    // Lower priority (or equal from a smaller address):
                    // assert ourselves at once.
                    self.emit(instance, Action::SendAdvert { instance, priority });
                    return;
                };
                inst.learn_interval(advert);
                inst.master_addr = Some(advert.src);
                inst.wants_master = false;
                inst.down_reason = Reason::MasterDown;
                let interval = inst.down_interval();
                self.enter_backup(now, instance, reason, interval);
                self.sync_backup(now, instance);
            }
        }
    }

    /// Sets (`true`) or clears (`false`) the fault of `instance` (tracked
    /// interface down/up, check failed/passed). Setting an already-set fault,
    /// or clearing a clear one, does nothing. Before `start` the fault is
    /// only recorded (the instance starts in FAULT).
    pub fn set_fault(&mut self, now: Instant, instance: usize, fault: bool) {
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        if inst.retired || inst.fault == fault {
            return;
        }
        inst.fault = fault;
        if inst.state == State::Initialize {
            return;
        }
        if fault {
            if inst.state != State::Fault {
                self.enter_fault(now, instance, Reason::Fault);
            }
            for j in 0..self.instances.len() {
                if self.member(instance, j) && self.instances[j].state != State::Fault {
                    self.enter_fault(now, j, Reason::SyncGroup);
                }
            }
        } else {
            if self.group_has_fault(instance) {
                return;
            }
            self.leave_fault(now, instance, Reason::FaultCleared);
            for j in 0..self.instances.len() {
                if self.member(instance, j) && self.instances[j].state == State::Fault {
                    self.leave_fault(now, j, Reason::SyncGroup);
                }
            }
        }
    }

    /// Changes the effective priority of `instance` (0 reads as 1: priority 0
    /// is reserved for release). A MASTER sends an advert with the new
    /// priority at once, so that a higher-priority backup can preempt; a
    /// BACKUP uses it from the next advert on.
    pub fn set_priority(&mut self, now: Instant, instance: usize, priority: u8) {
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        let priority = priority.max(1);
        if inst.retired || inst.priority == priority {
            return;
        }
        inst.priority = priority;
        if inst.state == State::Master {
            self.advertise(now, instance);
        }
    }

    /// Runs every deadline due at `now`: adverts and announcements of
    /// MASTERs, Master_Down_Timers of BACKUPs. Spurious calls (nothing due)
    /// are no-ops. Each timer fires at most once per call, so a caller that
    /// slept through several intervals gets one advert, not a burst.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            for timer in Timer::VALUES {
                if !self.instances[i].timers.take_expired(timer, now) {
                    continue;
                }
                self.fire(now, i, timer);
            }
        }
    }

    /// Graceful stop of every instance (SIGTERM): a MASTER sends an advert
    /// with priority 0 and removes its addresses; every started instance
    /// goes to `Initialize` (reason `Shutdown`) and its timers stop.
    /// [`start`](Node::start) starts them again.
    pub fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i].active() {
                self.enter_initialize(now, i, Reason::Shutdown);
            }
        }
    }

    /// Applies a new configuration to `instance` (SIGHUP). An identical
    /// configuration changes nothing and queues nothing. Otherwise the
    /// instance keeps its state and:
    /// - a new priority replaces the effective one as
    ///   [`set_priority`](Node::set_priority) does;
    /// - a MASTER whose priority, interval or version changed sends an advert
    ///   at once with the new values, and re-arms its announcement refresh;
    /// - `initial` matters only at start; a new `sync_group` takes part from
    ///   the next event on.
    ///
    /// Ignored for a retired instance (add it again instead), and for a
    /// configuration that [`Config::validate`] rejects (check it first).
    pub fn reconfigure(&mut self, now: Instant, instance: usize, cfg: Config) {
        let cfg = &cfg;
        if cfg.validate().is_err() {
            return;
        }
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        let old = &inst.cfg;
        if inst.retired || old == cfg {
            return;
        }
        let advert = cfg.priority != old.priority
            || cfg.adver_int != old.adver_int
            || cfg.version != old.version;
        let refresh = cfg.garp_master_refresh != old.garp_master_refresh;
        if cfg.priority != old.priority {
            inst.priority = cfg.priority;
        }
        if cfg.preempt_delay != old.preempt_delay {
            inst.preempt_at = Instant::END;
        }
        inst.cfg = *cfg;
        if cfg.version == Version::V2 || inst.state != State::Backup {
            inst.master_adver_int = adver_int(cfg);
        }
        if inst.state == State::Master {
            if advert {
                self.advertise(now, instance);
            }
            if refresh {
                self.arm_refresh(now, instance);
            }
        }
    }

    /// Stops `instance` for good, as [`shutdown`](Node::shutdown) does for it
    /// alone (reason `Retired`): a MASTER releases with priority 0 and removes
    /// its addresses. Its queued actions can still be polled; its slot stays
    /// taken.
    pub fn retire(&mut self, now: Instant, instance: usize) {
        let Some(inst) = self.instances.get(instance) else {
            return;
        };
        if inst.retired {
            return;
        }
        if inst.state != State::Initialize {
            self.enter_initialize(now, instance, Reason::Retired);
        }
        self.instances[instance].retired = true;
    }

    /// The next action to carry out, oldest first across all instances.
    /// Drain it (until `None`) after every input call; see the module docs.
    /// *O*(N).
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        // The oldest head: the largest age (sequence numbers are unique and
        // taken before `self.seq` advances, so every age is at least 1).
        let (mut oldest, mut age) = (None, 0);
        for (i, inst) in self.instances.iter().enumerate() {
            if let Some((seq, _)) = inst.queue.first() {
                let a = self.seq.wrapping_sub(*seq);
                if a > age {
                    (oldest, age) = (Some(i), a);
                }
            }
        }
        Some(self.instances[oldest?].queue.remove(0).1)
    }

    /// The next instant at which [`handle_timeout`](Node::handle_timeout)
    /// must be called, or `None` when nothing is armed. Re-read it after
    /// every input call. *O*(N).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut min = u64::MAX;
        for inst in &self.instances {
            min = min.min(inst.timers.earliest());
        }
        (min != u64::MAX).then_some(Instant::from_micros(min))
    }

    /// Number of instance slots in use (retired ones included).
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// `true` when no instance was added.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The configuration of `instance`.
    pub fn config(&self, instance: usize) -> Option<&Config> {
        self.instances.get(instance).map(|inst| &inst.cfg)
    }

    /// The state of `instance` (`Initialize` for an unknown index).
    pub fn state(&self, instance: usize) -> State {
        self.instances
            .get(instance)
            .map_or(State::Initialize, |inst| inst.state)
    }

    /// The effective priority of `instance` (0 for an unknown index).
    pub fn priority(&self, instance: usize) -> u8 {
        self.instances.get(instance).map_or(0, |inst| inst.priority)
    }

    /// `true` when `instance` has a fault set.
    pub fn fault(&self, instance: usize) -> bool {
        self.instances.get(instance).is_some_and(|inst| inst.fault)
    }

    /// The address of the current master of `instance`: our own primary
    /// address when MASTER, the last accepted master's when BACKUP, `None`
    /// while unknown (after a release, in FAULT or `Initialize`).
    pub fn master_addr(&self, instance: usize) -> Option<IpAddr> {
        let inst = self.instances.get(instance)?;
        match inst.state {
            State::Master => Some(inst.cfg.primary_addr),
            State::Backup => inst.master_addr,
            State::Initialize | State::Fault => None,
        }
    }

    /// The Master_Down_Interval `instance` currently uses (with the
    /// Master_Adver_Interval learnt from the master for v3).
    pub fn master_down_interval(&self, instance: usize) -> Option<Duration> {
        self.instances.get(instance).map(Instance::down_interval)
    }

    /// When and why `instance` last changed state.
    pub fn last_transition(&self, instance: usize) -> Option<(Instant, Reason)> {
        self.instances.get(instance)?.last_transition
    }

    /// How many times `instance` changed state.
    pub fn transitions(&self, instance: usize) -> u32 {
        self.instances
            .get(instance)
            .map_or(0, |inst| inst.transitions)
    }

    /// Actions dropped because a queue overflowed (only possible when the
    /// caller does not drain [`poll_action`](Node::poll_action) after each
    /// input call).
    pub fn dropped_actions(&self) -> u32 {
        self.dropped
    }

    // ---- internals -------------------------------------------------------

    /// Queues `action` for instance `i`, making room if the queue is full:
    /// first by dropping its oldest advert, announcement or log-only
    /// transition, else (a queue full of alternating address actions) by
    /// merging the oldest Add/Remove pair, which cancels out.
    fn emit(&mut self, i: usize, action: Action) {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let queue = &mut self.instances[i].queue;
        if queue.is_full() {
            let pos = queue.iter().position(|(_, a)| {
                !matches!(
                    a,
                    Action::AddAddresses { .. } | Action::RemoveAddresses { .. }
                )
            });
            match pos {
                Some(pos) => {
                    queue.remove(pos);
                    self.dropped = self.dropped.saturating_add(1);
                }
                None => {
                    queue.remove(0);
                    queue.remove(0);
                    self.dropped = self.dropped.saturating_add(2);
                }
            }
        }
        // Cannot fail: room was made above.
        let _ = queue.push((seq, action));
    }

    /// Records a state change and queues its `Transition`.
    fn transition(&mut self, now: Instant, i: usize, to: State, reason: Reason) {
        let inst = &mut self.instances[i];
        let from = inst.state;
        inst.state = to;
        inst.transitions = inst.transitions.saturating_add(1);
        inst.last_transition = Some((now, reason));
        self.emit(
            i,
            Action::Transition {
                instance: i,
                from,
                to,
                reason,
            },
        );
    }

    /// Queues `RemoveAddresses` if the addresses are on.
    fn remove_addresses(&mut self, i: usize) {
        if self.instances[i].addresses {
            self.instances[i].addresses = false;
            self.emit(i, Action::RemoveAddresses { instance: i });
        }
    }

    /// MASTER: sends an advert now and restarts the Adver_Timer.
    fn advertise(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        let priority = inst.priority;
        inst.timers.set(Timer::Adver, now + adver_int(&inst.cfg));
        self.emit(
            i,
            Action::SendAdvert {
                instance: i,
                priority,
            },
        );
    }

    /// (Re-)arms the `garp_master_refresh` timer.
    fn arm_refresh(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        match inst.cfg.garp_master_refresh {
            Some(every) if every > Duration::ZERO => {
                inst.timers.set(Timer::GarpRefresh, now + every)
            }
            _ => inst.timers.stop(Timer::GarpRefresh),
        }
    }

    /// RFC 5798 §6.4.1/§6.4.2 "transition to the Master state": advert
    /// first, then the addresses, then the announcements.
    fn enter_master(&mut self, now: Instant, i: usize, reason: Reason) {
        if self.instances[i].state == State::Master {
            return;
        }
        self.transition(now, i, State::Master, reason);
        let inst = &mut self.instances[i];
        inst.wants_master = true;
        inst.master_adver_int = adver_int(&inst.cfg);
        inst.master_addr = None;
        inst.timers.stop_all();
        let delay = inst.cfg.garp_master_delay;
        if delay > Duration::ZERO {
            inst.timers.set(Timer::GarpDelay, now + delay);
        }
        self.arm_refresh(now, i);
        self.advertise(now, i);
        if !self.instances[i].addresses {
            self.instances[i].addresses = true;
            self.emit(i, Action::AddAddresses { instance: i });
        }
        self.emit(i, Action::Announce { instance: i });
    }

    /// To BACKUP with Master_Down_Timer = `now + down`.
    fn enter_backup(&mut self, now: Instant, i: usize, reason: Reason, down: Duration) {
        if self.instances[i].state != State::Backup {
            self.transition(now, i, State::Backup, reason);
        }
        self.remove_addresses(i);
        let inst = &mut self.instances[i];
        inst.timers.stop_all();
        inst.timers.set(Timer::MasterDown, now + down);
    }

    /// To FAULT: a MASTER releases (priority 0) and removes its addresses.
    fn enter_fault(&mut self, now: Instant, i: usize, reason: Reason) {
        self.leave(now, i, State::Fault, reason);
    }

    /// To `Initialize` (shutdown, retire): like FAULT, without coming back.
    fn enter_initialize(&mut self, now: Instant, i: usize, reason: Reason) {
        self.leave(now, i, State::Initialize, reason);
    }

    /// Common part of FAULT and `Initialize`.
    fn leave(&mut self, now: Instant, i: usize, to: State, reason: Reason) {
        let was_master = self.instances[i].state == State::Master;
        self.transition(now, i, to, reason);
        if was_master {
            self.emit(
                i,
                Action::SendAdvert {
                    instance: i,
                    priority: PRIORITY_RELEASE,
                },
            );
        }
        self.remove_addresses(i);
        let inst = &mut self.instances[i];
        inst.timers.stop_all();
        inst.wants_master = false;
        inst.master_addr = None;
        inst.down_reason = Reason::MasterDown;
    }

    /// FAULT → BACKUP.
    fn leave_fault(&mut self, now: Instant, i: usize, reason: Reason) {
        let inst = &mut self.instances[i];
        inst.master_adver_int = adver_int(&inst.cfg);
        let down = if inst.priority == PRIORITY_OWNER {
            adver_int(&inst.cfg) + inst.skew()
        } else {
            inst.down_interval()
        };
        self.enter_backup(now, i, reason, down);
    }

    /// A due timer of instance `i`.
    fn fire(&mut self, now: Instant, i: usize, timer: Timer) {
        let state = self.instances[i].state;
        match (timer, state) {
            (Timer::MasterDown, State::Backup) => self.master_down(now, i),
            (Timer::Adver, State::Master) => self.advertise(now, i),
            (Timer::GarpDelay, State::Master) => self.emit(i, Action::Announce { instance: i }),
            (Timer::GarpRefresh, State::Master) => {
                self.arm_refresh(now, i);
                self.emit(i, Action::Announce { instance: i });
            }
            // A timer armed in another state: stale, nothing to do.
            _ => {}
        }
    }

    /// Master_Down_Timer fired in BACKUP (RFC 5798 §6.4.2), subject to the
    /// sync group's agreement.
    fn master_down(&mut self, now: Instant, i: usize) {
        self.instances[i].wants_master = true;
        let agreed = (0..self.instances.len()).all(|j| {
            let other = &self.instances[j];
            !self.member(i, j) || other.state == State::Master || other.wants_master
        });
        if !agreed {
            let inst = &mut self.instances[i];
            inst.timers
                .set(Timer::MasterDown, now + inst.down_interval());
            return;
        }
        let reason = self.instances[i].down_reason;
        self.enter_master(now, i, reason);
        self.sync_master(now, i);
    }

    /// Takes every other member of `i`'s group to MASTER.
    fn sync_master(&mut self, now: Instant, i: usize) {
        for j in 0..self.instances.len() {
            if self.member(i, j) && self.instances[j].state == State::Backup {
                self.enter_master(now, j, Reason::SyncGroup);
            }
        }
    }

    /// Takes every other MASTER member of `i`'s group to BACKUP.
    fn sync_backup(&mut self, now: Instant, i: usize) {
        for j in 0..self.instances.len() {
            if self.member(i, j) && self.instances[j].state == State::Master {
                let inst = &mut self.instances[j];
                inst.wants_master = false;
                inst.down_reason = Reason::MasterDown;
                inst.master_adver_int = adver_int(&inst.cfg);
                let down = inst.down_interval();
                self.enter_backup(now, j, Reason::SyncGroup, down);
            }
        }
    }

    /// Whether `j` is another started member of `i`'s sync group. (Callers
    /// loop over indices and may change states meanwhile: no transition
    /// changes membership, which depends on retirement and leaving
    /// Initialize only.)
    #[inline(never)]
    fn member(&self, i: usize, j: usize) -> bool {
        let group = self.instances[i].cfg.sync_group;
        let inst = &self.instances[j];
        group.is_some() && j != i && inst.active() && inst.cfg.sync_group == group
    }

    /// Whether another member of `i`'s sync group has a fault of its own.
    fn group_has_fault(&self, i: usize) -> bool {
        let Some(group) = self.instances[i].cfg.sync_group else {
            return false;
        };
        self.instances.iter().enumerate().any(|(j, inst)| {
            j != i && !inst.retired && inst.cfg.sync_group == Some(group) && inst.fault
        })
    }
}

#[cfg(test)]
mod internal_tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn address_order_matches_ipaddr() {
        let v = [
            IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)),
        ];
        for a in &v {
            for b in &v {
                assert_eq!(addr_gt(a, b), a > b, "{a} > {b}");
            }
        }
    }

    #[test]
    fn action_order_survives_sequence_wrap() {
        let mut n: Node<2> = Node::new();
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        n.add_instance(Config::new(1, 100, a)).unwrap();
        n.add_instance(Config::new(2, 100, a)).unwrap();
        n.seq = u32::MAX - 1;
        n.emit(1, Action::Announce { instance: 1 });
        n.emit(0, Action::Announce { instance: 0 });
        n.emit(1, Action::AddAddresses { instance: 1 });
        n.emit(0, Action::AddAddresses { instance: 0 });
        assert_eq!(n.seq, 2);
        for want in [
            Action::Announce { instance: 1 },
            Action::Announce { instance: 0 },
            Action::AddAddresses { instance: 1 },
            Action::AddAddresses { instance: 0 },
        ] {
            assert_eq!(n.poll_action(), Some(want));
        }
        assert_eq!(n.poll_action(), None);
    }
}
