//! [`CtSync`]: the roles, the per-peer reliability state and the frame
//! builder.

use heapless::Deque;
use tandem_protocol::conntrack::{Entry, Key};
use tandem_protocol::lease::{Duid, Lease};
use tandem_protocol::sync::{
    self, seq_after, Frame, FrameWriter, Freshness, Header, PushError, Record, ReplayWindow,
};

use super::cache::{Cache, Slot};
use super::window::{LeaseOp, TxSlot, Window};
use super::{
    Action, Config, Counters, Drop, DumpError, EventKind, Filter, Role, Transmit, ACTION_QUEUE,
    LEASE_RESEND_HOLDOFF, MAX_PEERS,
};
use crate::lease::{Change, DuidMerge, LeaseTable, Merged, Origin};
use crate::time::{Duration, Instant};

/// Nacks sent for the same missing record before the receiver gives up
/// on it, skips ahead and asks for a full resync instead.
const NACK_LIMIT: u8 = 8;

/// The same for a receiver that is not BACKUP (it only needs the peer's
/// leases, which a full lease resend restores): it gives up sooner.
const LEASE_NACK_LIMIT: u8 = 4;

/// How many times a lease request (a resync request sent by a MASTER) is
/// repeated, every [`Config::resync_retry`], until a lease record arrives.
const LEASE_REQUEST_TRIES: u8 = 3;

/// The master's full-resync progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resync {
    /// None running.
    Idle,
    /// Wanted; the resync-begin record waits for window space.
    Starting,
    /// Begin sent as `begin`; the port dumps the table (`done` when it
    /// said so; the resync-end record may still wait for space).
    Dumping { begin: u32, done: bool },
}

/// What one router knows about one peer.
#[derive(Clone, Copy, Debug)]
struct Peer {
    // ---- receiving from it
    replay: ReplayWindow,
    live: bool,
    last_heard: Option<Instant>,
    /// The next stream number expected from it (`None` until adopted from
    /// its first frame).
    rx_next: Option<u32>,
    /// `rx_next` was adopted from an alive record and nothing was applied
    /// since: a reliable record numbered before it (overtaken by the
    /// alive) moves it back.
    rx_tentative: bool,
    ack_due: Option<Instant>,
    frames_unacked: u32,
    /// A nack to send and when.
    nack: Option<(u32, u32)>,
    nack_due: Option<Instant>,
    /// The last nack sent (first missing number, when) and how many times
    /// in a row for that number.
    nack_sent: Option<(u32, Instant)>,
    nack_tries: u8,
    /// The highest frame number taken from it in its current epoch.
    top_seq: u32,
    /// Next resync request to it (BACKUP wanting a resync).
    req_due: Option<Instant>,
    /// Lease requests still to send it (MASTER wanting its leases), and
    /// when the next one is due.
    lease_req: u8,
    lease_req_due: Option<Instant>,
    // ---- sending to it (MASTER)
    /// Next stream number to send it.
    next: u32,
    /// It acknowledged everything before this.
    acked: u32,
    /// One past the highest number ever sent to it (to count resends).
    high: u32,
    rto_at: Option<Instant>,
    last_sent: Option<Instant>,
}

impl Peer {
    const NEW: Peer = Peer {
        replay: ReplayWindow::new(),
        live: false,
        last_heard: None,
        rx_next: None,
        rx_tentative: false,
        ack_due: None,
        frames_unacked: 0,
        nack: None,
        nack_due: None,
        nack_sent: None,
        nack_tries: 0,
        top_seq: 0,
        req_due: None,
        lease_req: 0,
        lease_req_due: None,
        next: 1,
        acked: 1,
        high: 1,
        rto_at: None,
        last_sent: None,
    };

    /// Receive position unknown (adopted from its next frame), no nack.
    #[inline(never)]
    fn reset_rx(&mut self) {
        self.rx_next = None;
        self.rx_tentative = false;
        self.nack = None;
        self.nack_due = None;
        self.nack_sent = None;
        self.nack_tries = 0;
    }

    /// Send cursor at `head`: nothing in flight.
    fn reset_tx(&mut self, head: u32) {
        self.next = head;
        self.acked = head;
        self.high = head;
        self.rto_at = None;
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Counts one (a call: a 64-bit increment is seven instructions on
/// 32-bit targets, and there are dozens of counters).
#[inline(never)]
fn bump(c: &mut u64) {
    *c += 1;
}

fn due(t: Option<Instant>, now: Instant) -> bool {
    t.is_some_and(|t| t <= now)
}

/// Conntrack (and lease) sync for one router: see the [module docs](super)
/// for roles, takeover order, leases and the call-order contract.
///
/// Storage is the caller's: `cache` holds the BACKUP's external cache
/// (48 octets a slot on every target; a NAT'd IPv4 connection takes one
/// slot, an IPv6 one two or three: see [`Slot`]), `window` the unacknowledged
/// records (40 octets a slot, records packed like the cache's: an IPv4
/// connection takes one slot, an IPv6 one two or three; a few thousand
/// slots cover a dump at full speed). The cache stays untouched by a MASTER; without leases
/// ([`CtSync::attach_leases`]) a BACKUP's window stays empty.
#[derive(Debug)]
pub struct CtSync<'a> {
    cfg: Config,
    key: sync::Key,
    filter: Filter,
    role: Role,
    epoch: u32,
    frame_seq: u32,
    cache: Cache<'a>,
    /// Generation of cache entries (bumped by each resync-begin).
    gen: u16,
    /// The peer whose resync is open in the cache.
    resync_open: Option<usize>,
    /// BACKUP: a resync is wanted (requests repeat until it begins).
    resync_wanted: bool,
    window: Window<'a>,
    resync: Resync,
    /// Another resync is needed after the running one.
    resync_again: bool,
    peers: [Peer; MAX_PEERS],
    /// The peer `poll_transmit` looks at first (round robin).
    rr: usize,
    actions: Deque<Action, ACTION_QUEUE>,
    counters: Counters,
    /// The lease table, if leases are synced.
    leases: Option<LeaseTable<'a>>,
    /// Wall-clock seconds minus monotonic seconds (lease expiries).
    wall_offset: Option<i64>,
    /// When the whole lease table was last queued for the peers.
    lease_resend_at: Option<Instant>,
    /// The server DUID last put into the window (or adopted from a peer):
    /// the table's DUID is sent when it differs.
    duid_queued: Option<Duid>,
}

impl<'a> CtSync<'a> {
    /// A sync endpoint in [`Role::Idle`] over the caller's storage (both
    /// slices are cleared). `key` authenticates every frame both ways.
    pub fn new(
        cfg: Config,
        key: sync::Key,
        filter: Filter,
        cache: &'a mut [Slot],
        window: &'a mut [TxSlot],
    ) -> CtSync<'a> {
        CtSync {
            epoch: cfg.epoch,
            cfg,
            key,
            filter,
            role: Role::Idle,
            frame_seq: 1,
            cache: Cache::new(cache),
            gen: 0,
            resync_open: None,
            resync_wanted: false,
            window: Window::new(window),
            resync: Resync::Idle,
            resync_again: false,
            peers: [Peer::NEW; MAX_PEERS],
            rr: 0,
            actions: Deque::new(),
            counters: Counters::default(),
            leases: None,
            wall_offset: None,
            lease_resend_at: None,
            duid_queued: None,
        }
    }

    // ------------------------------------------------------------ leases

    /// Syncs leases too, over the same reliable stream (see the
    /// [module docs](super#leases)): `table` is this router's lease table
    /// (from now on reached through [`CtSync::leases`] and
    /// [`CtSync::leases_mut`]), `ring` the caller's storage for the
    /// encoded leases of lease records not yet acknowledged (each takes
    /// its wire size, [`Lease::encoded_len`]: about 35 octets for an IPv4
    /// lease; at least [`Lease::ENCODED_MAX`] octets, see
    /// [`DEFAULT_LEASE_RING`](super::DEFAULT_LEASE_RING)).
    ///
    /// Call it once, right after [`CtSync::new`]. Called again, it
    /// replaces the table (returning the old one) and the ring; unacknowledged
    /// records are then dropped and streaming starts over (MASTER: a full
    /// resync).
    pub fn attach_leases(
        &mut self,
        now: Instant,
        table: LeaseTable<'a>,
        ring: &'a mut [u8],
    ) -> Option<LeaseTable<'a>> {
        let restart = self.window.ring().items() > 0;
        self.window.set_lease_ring(ring);
        let old = self.leases.replace(table);
        if restart {
            self.stop_streaming();
            if self.role == Role::Master {
                self.remove_actions(false);
                self.start_resync(now);
            }
        }
        if self.role != Role::Idle && self.any_live() {
            self.resend_leases(now, true);
        }
        old
    }

    /// The lease table, if [attached](CtSync::attach_leases).
    pub fn leases(&self) -> Option<&LeaseTable<'a>> {
        self.leases.as_ref()
    }

    /// The lease table, to apply the local DHCP server's changes
    /// ([`LeaseTable::apply_snapshot`] or [`LeaseTable::merge`] with
    /// [`Origin::Local`]), set its DUID, or prune it. Changes queued by
    /// local inputs are streamed to the peers: drain
    /// [`CtSync::poll_transmit`] afterwards, as after any input.
    pub fn leases_mut(&mut self) -> Option<&mut LeaseTable<'a>> {
        self.leases.as_mut()
    }

    /// Tells the wall clock: at monotonic `now` it is `wall_secs` seconds
    /// since the Unix epoch. Leases from peers are merged at the wall-clock
    /// second extrapolated from the last call (an ended lease is not taken;
    /// 0, nothing has ended, before the first call). Call it at start-up
    /// and whenever the port reads the wall clock anyway (a step of the
    /// wall clock then takes effect).
    pub fn set_wall_clock(&mut self, now: Instant, wall_secs: u64) {
        let mono = i64::try_from(now.as_micros() / 1_000_000).unwrap_or(i64::MAX);
        let wall = i64::try_from(wall_secs).unwrap_or(i64::MAX);
        self.wall_offset = Some(wall.saturating_sub(mono));
    }

    /// The wall-clock second at monotonic `now`, as told by
    /// [`CtSync::set_wall_clock`] (`None` before).
    pub fn wall_clock(&self, now: Instant) -> Option<u64> {
        let mono = i64::try_from(now.as_micros() / 1_000_000).unwrap_or(i64::MAX);
        self.wall_offset
            .map(|o| u64::try_from(mono.saturating_add(o).max(0)).unwrap_or(0))
    }

    /// Lease records in the retransmit window (not yet acknowledged by
    /// every live peer).
    pub fn leases_in_flight(&self) -> usize {
        self.window.ring().items()
    }

    /// Queues the whole lease table for the peers (`force`), or does so
    /// unless it was done within [`LEASE_RESEND_HOLDOFF`].
    fn resend_leases(&mut self, now: Instant, force: bool) {
        let Some(t) = self.leases.as_mut() else {
            return;
        };
        if !force
            && self
                .lease_resend_at
                .is_some_and(|at| now < at + LEASE_RESEND_HOLDOFF)
        {
            return;
        }
        t.queue_all();
        // The DUID goes with every whole table.
        self.duid_queued = None;
        self.lease_resend_at = Some(now);
        bump(&mut self.counters.lease_resends);
    }

    /// Bytes the lease ring must have free before a change is taken from
    /// the table (then any lease fits).
    fn lease_need(&self) -> usize {
        Lease::ENCODED_MAX.min(self.window.ring().capacity())
    }

    /// Whether [`CtSync::pump_leases`] would move a change now.
    fn lease_pumpable(&self) -> bool {
        self.role != Role::Idle
            && self.window.ring().capacity() > 0
            && (self
                .leases
                .as_ref()
                .is_some_and(|t| t.pending_changes() > 0)
                || self.duid_pending().is_some())
            && self.window.space() > 0
            && self.window.ring().contiguous() >= self.lease_need()
            && self.any_live()
    }

    /// The table's server DUID, when it has not been sent yet.
    fn duid_pending(&self) -> Option<Duid> {
        let d = *self.leases.as_ref()?.duid()?;
        (self.duid_queued != Some(d)).then_some(d)
    }

    /// Moves the table's queued changes into the window while there is
    /// room (the table keeps the rest: nothing overflows). A new server
    /// DUID goes first.
    fn pump_leases(&mut self) {
        while self.lease_pumpable() {
            if let Some(d) = self.duid_pending() {
                match self.window.push_duid(&d) {
                    Some(_) => {
                        self.duid_queued = Some(d);
                        bump(&mut self.counters.lease_changes_sent);
                    }
                    None => return,
                }
                continue;
            }
            let Some(change) = self.leases.as_mut().and_then(|t| t.poll_change()) else {
                return;
            };
            let (op, lease) = match &change {
                Change::Added(l) => (LeaseOp::Add, l),
                Change::Updated(l) => (LeaseOp::Change, l),
                Change::Deleted(l) => (LeaseOp::Delete, l),
            };
            match self.window.push_lease(op, lease) {
                Some(_) => bump(&mut self.counters.lease_changes_sent),
                None => bump(&mut self.counters.leases_unsendable),
            }
        }
    }

    /// A lease record from `peer`, in order.
    fn apply_lease(&mut self, now: Instant, peer: usize, lease: &Lease, delete: bool) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.lease_req = 0;
            p.lease_req_due = None;
        }
        let wall = self.wall_clock(now).unwrap_or(0);
        let Some(t) = self.leases.as_mut() else {
            bump(&mut self.counters.lease_records_ignored);
            return;
        };
        bump(&mut self.counters.lease_records_received);
        let mut conflict = None;
        let changed = if delete {
            t.remove(lease, Origin::Remote).is_some()
        } else {
            match t.merge(wall, lease, Origin::Remote) {
                Ok(o) => {
                    conflict = o.conflict.map(|c| c.addr);
                    matches!(o.merged, Merged::Added | Merged::Updated)
                }
                Err(_) => {
                    bump(&mut self.counters.lease_table_full);
                    false
                }
            }
        };
        if let Some(addr) = conflict {
            bump(&mut self.counters.lease_conflicts);
            self.push_action(Action::LeaseConflict { addr });
        }
        if changed {
            self.push_action(Action::LeasesChanged);
        }
    }

    /// A server-DUID record from `peer`, in order: a BACKUP adopts it (its
    /// DHCP server is to take the master's identity), others keep the
    /// first one they know ([`LeaseTable::merge_duid`]).
    fn apply_duid(&mut self, peer: usize, duid: &Duid) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.lease_req = 0;
            p.lease_req_due = None;
        }
        let backup = self.role == Role::Backup;
        let Some(t) = self.leases.as_mut() else {
            bump(&mut self.counters.lease_records_ignored);
            return;
        };
        bump(&mut self.counters.lease_records_received);
        let changed = if backup {
            let new = t.duid() != Some(duid);
            if new {
                t.set_duid(Some(*duid));
            }
            new
        } else {
            t.merge_duid(duid) == DuidMerge::Set
        };
        if changed {
            // Adopted: not sent back.
            self.duid_queued = Some(*duid);
            self.push_action(Action::LeasesChanged);
        }
    }

    /// Asks `peer` for its leases (MASTER: it does not follow a BACKUP's
    /// stream as closely as a BACKUP follows the master's).
    fn request_leases(&mut self, now: Instant, peer: usize) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.lease_req = LEASE_REQUEST_TRIES;
            p.lease_req_due = Some(now);
        }
    }

    // ------------------------------------------------------------ getters

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The current epoch (the configured one, or later if frame numbers
    /// ran out).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The filter, to add or remove the router's own addresses as they come
    /// and go (takes effect for the next events).
    pub fn filter_mut(&mut self) -> &mut Filter {
        &mut self.filter
    }

    /// What happened so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Entries in the external cache.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Slots of the external cache.
    pub fn cache_capacity(&self) -> usize {
        self.cache.capacity()
    }

    /// Every entry of the external cache (what [`Action::Commit`] commits),
    /// in no particular order, unpacked one by one. O(cache slots).
    pub fn cache_entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.cache.iter()
    }

    /// The cached entry with this key. O([`PROBE_LIMIT`](super::PROBE_LIMIT)).
    pub fn cache_get(&self, key: &Key) -> Option<Entry> {
        self.cache.get(key)
    }

    /// Records in the retransmit window (sent or not, unacknowledged).
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Slots of the retransmit window (a record takes one or more).
    pub fn window_capacity(&self) -> usize {
        self.window.capacity()
    }

    /// Whether peer `peer` was heard from within the peer timeout.
    pub fn peer_live(&self, peer: usize) -> bool {
        self.peers.get(peer).is_some_and(|p| p.live)
    }

    /// Whether a full resync is running (MASTER) or awaited (BACKUP).
    pub fn resync_pending(&self) -> bool {
        self.resync != Resync::Idle || self.resync_wanted || self.resync_open.is_some()
    }

    fn npeers(&self) -> usize {
        self.cfg.peers.min(MAX_PEERS)
    }

    fn any_live(&self) -> bool {
        self.peers.iter().take(self.npeers()).any(|p| p.live)
    }

    // ------------------------------------------------------------ roles

    /// The VRRP group became MASTER. Queues [`Action::Commit`] (carry it
    /// out before adding the VIPs) and starts a full resync towards the
    /// peers ([`Action::Dump`] once a peer is live and the window has room).
    pub fn become_master(&mut self, now: Instant) {
        self.role = Role::Master;
        self.resync_open = None;
        self.resync_wanted = false;
        self.stop_streaming();
        for p in self.peers.iter_mut() {
            p.req_due = None;
        }
        self.remove_actions(true);
        self.push_action(Action::Commit);
        self.start_resync(now);
    }

    /// The VRRP group became BACKUP (or FAULT): the cache is emptied,
    /// streaming stops, and a full resync is requested from the peers
    /// (repeated every [`Config::resync_retry`] until it begins).
    pub fn become_backup(&mut self, now: Instant) {
        self.role = Role::Backup;
        self.cache.clear();
        self.gen = 0;
        self.resync_open = None;
        let in_flight = self.window.ring().items() > 0;
        self.stop_streaming();
        self.remove_actions(true);
        self.want_resync(now);
        if in_flight {
            // Lease records were dropped with the window.
            self.resend_leases(now, true);
        }
    }

    /// Stops syncing (shutdown): nothing more is sent or applied; the
    /// cache is kept.
    pub fn stop(&mut self, now: Instant) {
        self.role = Role::Idle;
        if self.window.ring().items() > 0 {
            // Queued again, for whenever streaming resumes.
            self.resend_leases(now, true);
        }
        self.stop_streaming();
        self.resync_wanted = false;
        for p in self.peers.iter_mut() {
            p.req_due = None;
            p.ack_due = None;
            p.nack = None;
            p.nack_due = None;
            p.lease_req = 0;
            p.lease_req_due = None;
        }
        self.remove_actions(true);
    }

    /// A full resync on request (`tandem resync`): a MASTER streams its
    /// whole table again, a BACKUP asks the master for it.
    pub fn request_resync(&mut self, now: Instant) {
        match self.role {
            Role::Master => {
                if self.resync == Resync::Idle {
                    self.start_resync(now);
                } else {
                    self.resync_again = true;
                }
            }
            Role::Backup => {
                self.want_resync(now);
                self.resend_leases(now, true);
            }
            Role::Idle => {}
        }
    }

    /// Reports how the port's commit of the cache went (for the counters
    /// and `tandem status`).
    pub fn record_commit(&mut self, took: Duration, committed: u32, failed: u32) {
        self.counters.last_commit = Some(super::CommitReport {
            took,
            committed,
            failed,
        });
    }

    fn stop_streaming(&mut self) {
        self.window.clear();
        self.resync = Resync::Idle;
        self.resync_again = false;
        let head = self.window.head();
        for p in self.peers.iter_mut() {
            p.reset_tx(head);
        }
    }

    fn want_resync(&mut self, now: Instant) {
        self.resync_wanted = true;
        let n = self.npeers();
        for p in self.peers.iter_mut().take(n) {
            p.req_due = Some(now);
        }
    }

    // ------------------------------------------------------------ actions

    /// Drops the queued [`Action::Dump`] (and [`Action::Commit`] with
    /// `commit`), keeping the order of the rest.
    fn remove_actions(&mut self, commit: bool) {
        self.rotate_actions(&mut |a| {
            matches!(a, Action::Dump) || (commit && matches!(a, Action::Commit))
        });
    }

    /// Takes every queued action out and puts back those `drop` refuses,
    /// in order (the queue is rotated in place).
    fn rotate_actions(&mut self, drop: &mut dyn FnMut(&Action) -> bool) {
        for _ in 0..self.actions.len() {
            let Some(a) = self.actions.pop_front() else {
                break;
            };
            if !drop(&a) {
                let _ = self.actions.push_back(a);
            }
        }
    }

    fn push_action(&mut self, a: Action) {
        let essential =
            |a: &Action| matches!(a, Action::Commit | Action::Dump | Action::LeasesChanged);
        // Essential actions carry nothing: the same kind is the same action.
        let kind = core::mem::discriminant(&a);
        if essential(&a)
            && self
                .actions
                .iter()
                .any(|x| core::mem::discriminant(x) == kind)
        {
            return;
        }
        if self.actions.is_full() {
            bump(&mut self.counters.actions_dropped);
            if !essential(&a) {
                return;
            }
            // Make room: drop the oldest informational action (at most
            // three essential ones are ever queued, so there is one).
            let mut dropped = false;
            self.rotate_actions(&mut |x| {
                let d = !dropped && !essential(x);
                dropped |= d;
                d
            });
        }
        let _ = self.actions.push_back(a);
    }

    /// The next effect to carry out. Poll after every input until `None`.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ------------------------------------------------------------ master side

    fn start_resync(&mut self, now: Instant) {
        if self.role != Role::Master || !self.any_live() {
            // A peer coming up starts one.
            return;
        }
        match self.resync {
            Resync::Idle => {
                self.resync = Resync::Starting;
                bump(&mut self.counters.resyncs_started);
                self.progress(now);
            }
            Resync::Starting => {}
            Resync::Dumping { .. } => self.resync_again = true,
        }
    }

    /// A full resync that `peer` will see from its beginning: the running
    /// one if `peer` has not acknowledged its begin record yet (it is in
    /// flight or will be resent), else another one after it.
    fn resync_for(&mut self, now: Instant, peer: usize) {
        if let (Resync::Dumping { begin, .. }, Some(p)) = (self.resync, self.peers.get(peer)) {
            if seq_after(p.acked, begin) {
                self.resync_again = true;
            }
            return;
        }
        self.start_resync(now);
    }

    /// Pushes the resync's begin/end records when the window has room.
    fn progress(&mut self, now: Instant) {
        for _ in 0..4 {
            match self.resync {
                Resync::Starting => match self.window.push_resync(false) {
                    Some(begin) => {
                        self.resync = Resync::Dumping { begin, done: false };
                        self.push_action(Action::Dump);
                        // A resync carries the whole lease table too.
                        self.resend_leases(now, true);
                    }
                    None => return,
                },
                Resync::Dumping { done: true, .. } => {
                    if self.window.push_resync(true).is_none() {
                        return;
                    }
                    self.resync = Resync::Idle;
                    if self.resync_again {
                        self.resync_again = false;
                        self.resync = Resync::Starting;
                        bump(&mut self.counters.resyncs_started);
                    } else {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// An event or entry could not be queued: a full resync must follow.
    fn overflow(&mut self, now: Instant) {
        match self.resync {
            Resync::Idle => self.start_resync(now),
            Resync::Starting => {}
            Resync::Dumping { .. } => self.resync_again = true,
        }
    }

    /// Drops the records every live peer acknowledged.
    fn release(&mut self) {
        let base = self.window.base();
        let n = self.npeers();
        let min = self
            .peers
            .iter()
            .take(n)
            .filter(|p| p.live)
            .map(|p| p.acked)
            .min_by_key(|a| a.wrapping_sub(base));
        match min {
            Some(a) => self.window.release_to(a),
            None => self.window.clear(),
        }
    }

    fn checked(e: &Entry, kind: EventKind) -> bool {
        e.orig.is_consistent() && (kind == EventKind::Destroy || e.reply.is_consistent())
    }

    /// A ctnetlink event (MASTER: filtered, then streamed; otherwise
    /// counted and ignored).
    pub fn handle_ct_event(&mut self, now: Instant, kind: EventKind, entry: &Entry) {
        if self.role != Role::Master {
            bump(&mut self.counters.events_ignored);
            return;
        }
        if !self.filter.accepts(&entry.key()) {
            bump(&mut self.counters.events_filtered);
            return;
        }
        if !Self::checked(entry, kind) {
            bump(&mut self.counters.unencodable);
            return;
        }
        if !self.any_live() {
            // Nobody to tell: a peer that comes up gets a full resync.
            return;
        }
        if self.window.push_entry(kind, entry).is_none() {
            bump(&mut self.counters.window_overflows);
            self.overflow(now);
        }
    }

    /// The kernel's event queue overran (ENOBUFS on the ctnetlink event
    /// socket): events were lost, so a full resync follows (MASTER).
    pub fn handle_event_overrun(&mut self, now: Instant) {
        bump(&mut self.counters.event_overruns);
        if self.role == Role::Master {
            self.overflow(now);
        }
    }

    /// One entry of the dump asked for by [`Action::Dump`].
    ///
    /// # Errors
    ///
    /// [`DumpError::WindowFull`]: keep the entry and offer it again later
    /// (the window frees up as peers acknowledge; [`CtSync::dump_space`]).
    /// [`DumpError::NotDumping`]: stop this dump (the role changed or the
    /// resync was restarted, which asks for a new dump).
    pub fn handle_dump_entry(&mut self, _now: Instant, entry: &Entry) -> Result<(), DumpError> {
        if self.role != Role::Master || !matches!(self.resync, Resync::Dumping { done: false, .. })
        {
            return Err(DumpError::NotDumping);
        }
        if !self.filter.accepts(&entry.key()) {
            bump(&mut self.counters.events_filtered);
            return Ok(());
        }
        if !Self::checked(entry, EventKind::New) {
            bump(&mut self.counters.unencodable);
            return Ok(());
        }
        if self.dump_space() == 0 {
            return Err(DumpError::WindowFull);
        }
        match self.window.push_entry(EventKind::New, entry) {
            Some(_) => Ok(()),
            None => Err(DumpError::WindowFull),
        }
    }

    /// How many dump entries [`CtSync::handle_dump_entry`] takes now (0 when
    /// no dump is wanted): free window slots, one per IPv4 entry (an IPv6
    /// entry takes two or three, so fewer of those fit; the one that does
    /// not is refused with [`DumpError::WindowFull`]). A dump may fill the window only up to
    /// [`DUMP_RESERVE`](super::DUMP_RESERVE) of it, so that the events
    /// arriving meanwhile still fit.
    pub fn dump_space(&self) -> usize {
        match (self.role, self.resync) {
            (Role::Master, Resync::Dumping { done: false, .. }) => {
                let reserve = self.window.capacity() / super::DUMP_RESERVE;
                self.window.space().saturating_sub(reserve)
            }
            _ => 0,
        }
    }

    /// The dump is complete: the resync ends once its end record fits.
    pub fn handle_dump_done(&mut self, now: Instant) {
        if let Resync::Dumping { begin, done: false } = self.resync {
            self.resync = Resync::Dumping { begin, done: true };
            self.progress(now);
        }
    }

    /// The dump failed (netlink error): the resync starts over with a new
    /// dump.
    pub fn handle_dump_failed(&mut self, now: Instant) {
        if matches!(self.resync, Resync::Dumping { .. }) {
            self.resync = Resync::Starting;
            self.progress(now);
        }
    }

    fn on_ack(&mut self, now: Instant, peer: usize, ack: u32) {
        if ack == 0 || self.role == Role::Idle || !self.window.holds(ack) {
            return;
        }
        let rto = self.cfg.retransmit_timeout;
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        if seq_after(ack, p.acked) {
            p.acked = ack;
            if seq_after(ack, p.next) {
                p.next = ack;
            }
            p.rto_at = if p.next != p.acked {
                Some(now + rto)
            } else {
                None
            };
            self.release();
        }
    }

    fn on_nack(&mut self, now: Instant, peer: usize, first: u32) {
        bump(&mut self.counters.nacks_received);
        let master = self.role == Role::Master;
        if !master && (self.role == Role::Idle || self.leases.is_none()) {
            return;
        }
        if !self.window.holds(first) {
            if seq_after(self.window.base(), first) {
                // Gone from the window: only a full resync helps.
                if master {
                    self.resync_for(now, peer);
                } else {
                    self.resend_leases(now, false);
                }
            }
            return;
        }
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        if seq_after(first, p.acked) {
            p.acked = first;
        }
        if seq_after(p.next, first) {
            p.next = first;
        }
        self.release();
    }

    fn on_resync_request(&mut self, now: Instant, peer: usize) {
        bump(&mut self.counters.resync_requests_received);
        match self.role {
            // The conntrack resync carries the leases.
            Role::Master => match self.resync {
                Resync::Idle => self.start_resync(now),
                _ => self.resync_for(now, peer),
            },
            Role::Backup => self.resend_leases(now, false),
            Role::Idle => {}
        }
    }

    // ------------------------------------------------------------ receiving

    /// A datagram from configured peer `peer` (the port matched its
    /// source address against `peer_address`).
    ///
    /// # Errors
    ///
    /// Why it was dropped (also counted in [`Counters::dropped`]); a
    /// dropped datagram changes nothing else.
    pub fn handle_datagram(&mut self, now: Instant, peer: usize, data: &[u8]) -> Result<(), Drop> {
        let r = self.datagram(now, peer, data);
        if let Err(d) = r {
            let c = &mut self.counters.dropped;
            bump(match d {
                Drop::UnknownPeer => &mut c.unknown_peer,
                Drop::Own => &mut c.own,
                Drop::Idle => &mut c.idle,
                Drop::Frame(e) => match e {
                    sync::Error::BadMac => &mut c.bad_mac,
                    sync::Error::OldEpoch => &mut c.old_epoch,
                    sync::Error::Duplicate => &mut c.duplicate,
                    sync::Error::TooOld => &mut c.too_old,
                    sync::Error::Malformed
                    | sync::Error::UnknownRecord
                    | sync::Error::MissingSeq => &mut c.bad_body,
                    _ => &mut c.bad_header,
                },
            });
        }
        r
    }

    fn datagram(&mut self, now: Instant, peer: usize, data: &[u8]) -> Result<(), Drop> {
        if peer >= self.npeers() {
            return Err(Drop::UnknownPeer);
        }
        let frame = Frame::new_checked(data).map_err(Drop::Frame)?;
        frame.verify(&self.key).map_err(Drop::Frame)?;
        if frame.sender() == self.cfg.sender_id {
            return Err(Drop::Own);
        }
        if self.role == Role::Idle {
            return Err(Drop::Idle);
        }
        let (epoch, seq) = (frame.epoch(), frame.seq());
        let fresh = self
            .peers
            .get(peer)
            .ok_or(Drop::UnknownPeer)?
            .replay
            .check(epoch, seq)
            .map_err(Drop::Frame)?;
        // The whole body must decode before any of it is acted on.
        let mut numbered = false;
        // Records are matched by reference (a lease record is some 370
        // octets: no moves).
        let mut r = Record::ResyncRequest;
        let mut it = frame.records();
        while let Some(x) = it.next_into(&mut r) {
            match (x, &r) {
                (Err(e), _) => return Err(Drop::Frame(e)),
                (_, Record::Seq(_)) => numbered = true,
                (_, r) if r.is_reliable() && !numbered => {
                    return Err(Drop::Frame(sync::Error::MissingSeq))
                }
                _ => {}
            }
        }
        bump(&mut self.counters.frames_received);
        self.counters.bytes_received += data.len() as u64;
        let head = self.window.head();
        let role = self.role;
        let Some(p) = self.peers.get_mut(peer) else {
            return Err(Drop::UnknownPeer);
        };
        p.replay.accept(epoch, seq);
        // A frame overtaken by a newer one carries stale nacks.
        let newest = fresh != Freshness::Current || seq > p.top_seq;
        if newest {
            p.top_seq = seq;
        }
        p.last_heard = Some(now);
        let came_up = !p.live;
        p.live = true;
        let restarted = fresh == Freshness::NewEpoch;
        if restarted || fresh == Freshness::First {
            // Its stream starts afresh: adopt its position from this frame.
            p.reset_rx();
        }
        if came_up || restarted {
            p.reset_tx(head);
            // Answer at once, so that it hears of us without waiting for
            // our next alive (a restarted router's first frames may be
            // lost; this halves its wait).
            p.ack_due = Some(now);
        }
        if restarted && self.resync_open == Some(peer) {
            self.resync_open = None;
        }
        if came_up {
            self.push_action(Action::PeerUp { peer });
        } else if restarted {
            self.push_action(Action::PeerRestarted { peer });
        }
        if (came_up || restarted) && role == Role::Master {
            self.resync_for(now, peer);
        }
        if (came_up || restarted) && role == Role::Backup {
            self.resend_leases(now, true);
        }
        if came_up && role == Role::Master && self.leases.is_some() {
            // What it streamed while lost is of no use to a MASTER (its
            // leases come again on request): adopt its stream afresh.
            if let Some(p) = self.peers.get_mut(peer) {
                p.reset_rx();
            }
            self.request_leases(now, peer);
        }
        self.on_ack(now, peer, frame.ack());

        let mut cur: u32 = 0;
        let mut fresh_records = false;
        let mut duplicates = false;
        let mut it = frame.records();
        while let Some(x) = it.next_into(&mut r) {
            if x.is_err() {
                continue;
            }
            let r = &r;
            match *r {
                Record::Seq(s) => cur = s,
                Record::Nack { first, .. } => {
                    if newest {
                        self.on_nack(now, peer, first);
                    }
                }
                Record::ResyncRequest => self.on_resync_request(now, peer),
                Record::Alive { next } => self.on_alive(now, peer, next),
                _ => {
                    let s = cur;
                    cur = cur.wrapping_add(1);
                    match self.on_reliable(now, peer, s, r) {
                        Some(true) => fresh_records = true,
                        Some(false) => duplicates = true,
                        None => {}
                    }
                }
            }
        }
        let (every, delay) = (self.cfg.ack_every, self.cfg.ack_delay);
        if let Some(p) = self.peers.get_mut(peer) {
            if fresh_records {
                p.frames_unacked += 1;
            }
            if fresh_records || duplicates {
                let at = if fresh_records && p.frames_unacked >= every {
                    now
                } else {
                    now + delay
                };
                p.ack_due = earliest(p.ack_due, Some(at));
            }
        }
        self.progress(now);
        self.pump_leases();
        Ok(())
    }

    /// A reliable record numbered `s` from `peer`: `Some(true)` applied,
    /// `Some(false)` a duplicate, `None` out of order (nacked).
    fn on_reliable(&mut self, now: Instant, peer: usize, s: u32, r: &Record) -> Option<bool> {
        let p = self.peers.get_mut(peer)?;
        let mut expected = *p.rx_next.get_or_insert(s);
        if p.rx_tentative && seq_after(expected, s) {
            // The alive we adopted our position from overtook this record.
            expected = s;
            p.nack = None;
            p.nack_due = None;
        }
        if s == expected || (seq_after(s, expected) && *r == Record::ResyncBegin) {
            // In order — or a resync beginning after a gap: it supersedes
            // whatever was lost before it.
            p.rx_next = Some(s.wrapping_add(1));
            p.rx_tentative = false;
            if p.nack.is_some_and(|(first, _)| !seq_after(first, s)) {
                p.nack = None;
                p.nack_due = None;
            }
            bump(&mut self.counters.records_received);
            self.apply(now, peer, r);
            Some(true)
        } else if seq_after(expected, s) {
            bump(&mut self.counters.records_duplicate);
            Some(false)
        } else {
            self.schedule_nack(now, peer, expected, s.wrapping_sub(1));
            None
        }
    }

    fn on_alive(&mut self, now: Instant, peer: usize, next: u32) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        match p.rx_next {
            None => {
                p.rx_next = Some(next);
                p.rx_tentative = true;
            }
            Some(x) if seq_after(next, x) => self.schedule_nack(now, peer, x, next.wrapping_sub(1)),
            Some(_) => {}
        }
    }

    fn schedule_nack(&mut self, now: Instant, peer: usize, first: u32, last: u32) {
        let backup = self.role == Role::Backup;
        if !backup && self.leases.is_none() {
            // Only a backup needs what others stream (or anyone, leases).
            if let Some(p) = self.peers.get_mut(peer) {
                p.rx_next = Some(last.wrapping_add(1));
            }
            return;
        }
        let limit = if backup { NACK_LIMIT } else { LEASE_NACK_LIMIT };
        let rto = self.cfg.retransmit_timeout;
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        let at = match p.nack_sent {
            Some((f, sent)) if f == first => {
                if p.nack_tries >= limit {
                    // The peer cannot resend it: skip ahead, resync.
                    p.rx_next = Some(last.wrapping_add(1));
                    p.nack = None;
                    p.nack_due = None;
                    p.nack_sent = None;
                    p.nack_tries = 0;
                    if backup {
                        self.want_resync(now);
                    } else {
                        self.request_leases(now, peer);
                    }
                    return;
                }
                sent + rto
            }
            _ => {
                p.nack_tries = 0;
                now
            }
        };
        p.nack = Some((first, last));
        p.nack_due = earliest(p.nack_due, Some(at));
    }

    fn apply(&mut self, now: Instant, peer: usize, r: &Record) {
        let (lease, delete) = match r {
            Record::LeaseAdd(l) | Record::LeaseChange(l) => (Some(l), false),
            Record::LeaseDelete(l) => (Some(l), true),
            Record::LeaseDuid(d) => return self.apply_duid(peer, d),
            _ => (None, false),
        };
        if let Some(l) = lease {
            return self.apply_lease(now, peer, l, delete);
        }
        if self.role != Role::Backup {
            return;
        }
        match r {
            Record::CtNew(e) | Record::CtUpdate(e) => {
                // One upsert call for both (a guard would be duplicated).
                let full = self.cache.upsert(e, self.gen).is_err();
                if full {
                    bump(&mut self.counters.cache_full);
                }
            }
            Record::CtDestroy(k) => {
                self.cache.remove(k);
            }
            Record::ResyncBegin => {
                self.gen = self.gen.wrapping_add(1);
                self.resync_open = Some(peer);
                self.resync_wanted = false;
                for p in self.peers.iter_mut() {
                    p.req_due = None;
                }
            }
            Record::ResyncEnd if self.resync_open == Some(peer) => {
                self.resync_open = None;
                let purged = self.cache.purge_except(self.gen);
                self.counters.cache_purged += purged as u64;
                bump(&mut self.counters.resyncs_completed);
                let entries = u32::try_from(self.cache.len()).unwrap_or(u32::MAX);
                self.push_action(Action::ResyncComplete { entries });
            }
            _ => {}
        }
    }

    // ------------------------------------------------------------ timers

    /// Expired deadlines: lost peers, retransmit timeouts. Acks, nacks,
    /// requests and alives are sent by [`CtSync::poll_transmit`] when due.
    /// Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let n = self.npeers();
        let (timeout, role) = (self.cfg.peer_timeout, self.role);
        for i in 0..n {
            let Some(p) = self.peers.get_mut(i) else {
                break;
            };
            let lost = p.live && p.last_heard.is_none_or(|t| t + timeout <= now);
            if lost {
                p.live = false;
                p.rto_at = None;
                p.nack = None;
                p.nack_due = None;
                p.ack_due = None;
            }
            if p.live && due(p.rto_at, now) {
                p.rto_at = None;
                if role != Role::Idle && p.next != p.acked {
                    p.next = p.acked;
                    bump(&mut self.counters.retransmit_timeouts);
                }
            }
            if lost {
                bump(&mut self.counters.peers_lost);
                self.push_action(Action::PeerLost { peer: i });
            }
        }
        if self.role != Role::Idle {
            self.release();
        }
        if self.role == Role::Master {
            self.progress(now);
        }
        self.pump_leases();
    }

    /// The next instant [`CtSync::handle_timeout`] or
    /// [`CtSync::poll_transmit`] has something to do (a soft deadline; it
    /// may be in the past). `None` while idle.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.role == Role::Idle {
            return None;
        }
        // The minimum in plain microseconds (u64::MAX: none), cheaper than
        // comparing optional instants.
        let mut t = u64::MAX;
        /// Lowers `t` to `c` (one call per deadline, not an inlined
        /// 64-bit compare each).
        #[inline(never)]
        fn add(t: &mut u64, c: &Option<Instant>) {
            if let Some(c) = c {
                *t = (*t).min(c.as_micros());
            }
        }
        for p in self.peers.iter().take(self.npeers()) {
            add(&mut t, &p.ack_due);
            if p.nack.is_some() {
                add(&mut t, &p.nack_due);
            }
            if self.resync_wanted {
                add(&mut t, &p.req_due);
            }
            if p.lease_req > 0 {
                add(&mut t, &p.lease_req_due);
            }
            add(
                &mut t,
                &Some(
                    p.last_sent
                        .map_or(Instant::ZERO, |s| s + self.cfg.alive_interval),
                ),
            );
            if p.live {
                add(&mut t, &p.rto_at);
                add(&mut t, &p.last_heard.map(|h| h + self.cfg.peer_timeout));
            }
        }
        if self.lease_pumpable() {
            // Lease changes wait for the window: take them now.
            t = 0;
        }
        (t != u64::MAX).then_some(Instant::from_micros(t))
    }

    // ------------------------------------------------------------ sending

    /// The next frame to send, built in `buf` (whose length is the frame
    /// size limit, at least
    /// [`MIN_FRAME_LEN`](tandem_protocol::sync::MIN_FRAME_LEN)): send
    /// `buf[..len]` to the peer named. Call until `None` after every input.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if self.role == Role::Idle {
            return None;
        }
        self.pump_leases();
        let n = self.npeers();
        for k in 0..n {
            let i = (self.rr + k) % n;
            if let Some(len) = self.build(now, i, buf) {
                self.rr = (i + 1) % n;
                return Some(Transmit { peer: i, len });
            }
        }
        None
    }

    fn build(&mut self, now: Instant, i: usize, buf: &mut [u8]) -> Option<usize> {
        let role = self.role;
        let head = self.window.head();
        let p = self.peers.get(i)?;
        let ack = due(p.ack_due, now);
        let nack = p.nack.filter(|_| due(p.nack_due, now));
        let req = self.resync_wanted && due(p.req_due, now);
        let lease_req = p.lease_req > 0 && due(p.lease_req_due, now);
        let data = role != Role::Idle && p.live && self.window.contains(p.next);
        let alive = p
            .last_sent
            .is_none_or(|t| t + self.cfg.alive_interval <= now);
        if !(ack || nack.is_some() || req || lease_req || data || alive) {
            return None;
        }
        let header = Header {
            sender: self.cfg.sender_id,
            epoch: self.epoch,
            seq: self.frame_seq,
            // Nothing is acknowledged on the strength of an alive alone
            // (the records before it may be in flight, overtaken).
            ack: p.rx_next.filter(|_| !p.rx_tentative).unwrap_or(0),
        };
        let mut w = FrameWriter::new(buf, &header).ok()?;
        let p = self.peers.get_mut(i)?;
        if let Some((first, last)) = nack {
            if w.push(&Record::Nack { first, last }).is_ok() {
                p.nack = None;
                p.nack_due = None;
                p.nack_tries = match p.nack_sent {
                    Some((f, _)) if f == first => p.nack_tries.saturating_add(1),
                    _ => 1,
                };
                p.nack_sent = Some((first, now));
                bump(&mut self.counters.nacks_sent);
            }
        }
        if (req || lease_req) && w.push(&Record::ResyncRequest).is_ok() {
            let retry_at = now + self.cfg.resync_retry;
            if req {
                p.req_due = Some(retry_at);
                bump(&mut self.counters.resync_requests_sent);
            }
            if lease_req {
                p.lease_req -= 1;
                p.lease_req_due = (p.lease_req > 0).then_some(retry_at);
                bump(&mut self.counters.lease_requests_sent);
            }
        }
        let mut sent_data = false;
        if data && w.push(&Record::Seq(p.next)).is_ok() {
            while self.window.contains(p.next) {
                match self.window.push_to(p.next, &mut w) {
                    Some(Ok(())) => {
                        if seq_after(p.high, p.next) {
                            bump(&mut self.counters.records_resent);
                        } else {
                            bump(&mut self.counters.records_sent);
                            p.high = p.next.wrapping_add(1);
                        }
                        sent_data = true;
                    }
                    Some(Err(PushError::Inconsistent)) | None => {
                        bump(&mut self.counters.unencodable)
                    }
                    Some(Err(_)) => break,
                }
                p.next = p.next.wrapping_add(1);
            }
            if sent_data && p.rto_at.is_none() {
                p.rto_at = Some(now + self.cfg.retransmit_timeout);
            }
        }
        if !sent_data {
            let _ = w.push(&Record::Alive { next: head });
        }
        let len = w.finish(&self.key);
        p.ack_due = None;
        p.frames_unacked = 0;
        p.last_sent = Some(now);
        bump(&mut self.counters.frames_sent);
        self.counters.bytes_sent += len as u64;
        self.frame_seq = self.frame_seq.wrapping_add(1);
        if self.frame_seq == 0 {
            // Frame numbers ran out: a new epoch, and (MASTER) a resync,
            // since receivers adopt a new stream position with it.
            self.epoch = self.epoch.saturating_add(1);
            self.frame_seq = 1;
            self.start_resync(now);
        }
        Some(len)
    }
}
