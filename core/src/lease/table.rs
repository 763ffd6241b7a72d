//! The fixed-capacity lease table.

use core::fmt;
use core::net::IpAddr;

use tandem_protocol::lease::{write_file, Duid, Lease};

use super::{Change, ClientKey, Conflict, DuidMerge, Merged, Origin, Outcome, Stats, TableFull};

/// One lease's worth of table storage. Make an array of
/// [`Slot::EMPTY`] (or a `Vec` of them in `linux-port`) and hand it to
/// [`LeaseTable::new`]; each slot holds one lease: 376 octets on x86_64, so
/// `lease_capacity 1024` costs about 376 KiB.
#[derive(Clone, Copy)]
pub struct Slot(State);

#[allow(clippy::large_enum_variant)] // the point of a slot is to hold a lease
#[derive(Clone, Copy)]
enum State {
    Empty,
    Live(Entry),
    /// Deleted by a local input, not yet polled.
    Deleted(Lease),
}

#[derive(Clone, Copy)]
struct Entry {
    lease: Lease,
    /// Creation order (dnsmasq writes the newest lease first).
    seq: u64,
    pending: Pending,
    /// Last confirmed by the local DHCP server (its lease file), as opposed
    /// to learnt from a peer: only such leases are deleted when the local
    /// file no longer has them.
    local: bool,
    /// Present in the snapshot being applied.
    seen: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    No,
    Added,
    Updated,
}

impl Slot {
    /// An empty slot.
    pub const EMPTY: Slot = Slot(State::Empty);

    /// An empty slot.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    fn live(&self) -> Option<&Entry> {
        match &self.0 {
            State::Live(e) => Some(e),
            _ => None,
        }
    }

    fn live_mut(&mut self) -> Option<&mut Entry> {
        match &mut self.0 {
            State::Live(e) => Some(e),
            _ => None,
        }
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            State::Empty => f.write_str("Empty"),
            State::Live(e) => write!(f, "Live({})", e.lease),
            State::Deleted(l) => write!(f, "Deleted({l})"),
        }
    }
}

/// A fixed-capacity table of leases with the merge rules and change
/// tracking described in the [module documentation](super).
pub struct LeaseTable<'s> {
    slots: &'s mut [Slot],
    next_seq: u64,
    duid: Option<Duid>,
    live: usize,
    deletes: usize,
    upserts: usize,
    stats: Stats,
}

impl fmt::Debug for LeaseTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseTable")
            .field("capacity", &self.slots.len())
            .field("leases", &self.live)
            .field("pending_changes", &self.pending_changes())
            .field("duid", &self.duid)
            .field("stats", &self.stats)
            .finish()
    }
}

/// The result of [`LeaseTable::apply_snapshot`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SnapshotSummary {
    /// Leases of the table that the file no longer has (deleted, queued).
    pub deleted: usize,
    /// Leases new in the table.
    pub added: usize,
    /// Leases updated in place.
    pub updated: usize,
    /// Leases the table already had.
    pub unchanged: usize,
    /// Leases dropped because the table has a newer one.
    pub stale: usize,
    /// Leases that had ended.
    pub expired: usize,
    /// Address conflicts.
    pub conflicts: usize,
    /// Leases refused because the table was full.
    pub full: usize,
}

impl<'s> LeaseTable<'s> {
    /// An empty table over `slots` (every slot is cleared). Its capacity is
    /// `slots.len()`; a zero-length slice gives a table that is always full.
    pub fn new(slots: &'s mut [Slot]) -> Self {
        for s in slots.iter_mut() {
            *s = Slot::EMPTY;
        }
        LeaseTable {
            slots,
            next_seq: 0,
            duid: None,
            live: 0,
            deletes: 0,
            upserts: 0,
            stats: Stats::default(),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of leases held (ended ones included until [`prune`](Self::prune)).
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the table holds no lease.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The server DUID (the `duid` line), if known.
    pub fn duid(&self) -> Option<&Duid> {
        self.duid.as_ref()
    }

    /// Sets (or clears) the server DUID unconditionally.
    pub fn set_duid(&mut self, duid: Option<Duid>) {
        self.duid = duid;
    }

    /// Merges a server DUID: the first one is kept, a different one is
    /// reported and ignored.
    pub fn merge_duid(&mut self, duid: &Duid) -> DuidMerge {
        match &self.duid {
            None => {
                self.duid = Some(*duid);
                DuidMerge::Set
            }
            Some(d) if d == duid => DuidMerge::Same,
            Some(_) => DuidMerge::Mismatch,
        }
    }

    /// The lease for `addr`, if any. O(capacity).
    pub fn get(&self, addr: IpAddr) -> Option<&Lease> {
        self.find_addr(addr)
            .and_then(|i| self.slots[i].live())
            .map(|e| &e.lease)
    }

    /// The lease of client `key`, if any ([`ClientKey::Anonymous`] finds
    /// nothing). O(capacity).
    pub fn get_client(&self, key: &ClientKey<'_>) -> Option<&Lease> {
        self.find_client(key)
            .and_then(|i| self.slots[i].live())
            .map(|e| &e.lease)
    }

    /// Every lease, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Lease> + Clone + '_ {
        self.slots.iter().filter_map(|s| s.live().map(|e| &e.lease))
    }

    /// Every lease in the order dnsmasq writes them: most recently created
    /// first (dnsmasq puts a new lease at the head of its list and keeps a
    /// renewed one in place; so does this table). O(capacity) per item.
    pub fn dnsmasq_order(&self) -> DnsmasqOrder<'_> {
        DnsmasqOrder {
            slots: self.slots,
            below: u64::MAX,
            done: false,
        }
    }

    /// Writes the table as a dnsmasq lease file: IPv4 leases, the `duid`
    /// line, IPv6 leases, newest first in each part (see
    /// [`tandem_protocol::lease::write_file`]). Leases that have ended are
    /// written too: call [`prune`](Self::prune) first.
    pub fn write_file<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write_file(w, self.duid.as_ref(), self.dnsmasq_order())
    }

    /// The earliest finite expiry of a lease held (wall-clock seconds): when
    /// to call [`prune`](Self::prune) next.
    pub fn next_expiry(&self) -> Option<u64> {
        self.iter().filter_map(|l| l.expires().secs()).min()
    }

    /// Drops every lease that has ended at `now` (not queued as a change:
    /// every router prunes by itself). Returns how many.
    pub fn prune(&mut self, now: u64) -> usize {
        let mut n = 0;
        for i in 0..self.slots.len() {
            if self.slots[i]
                .live()
                .is_some_and(|e| e.lease.is_expired(now))
            {
                self.free(i);
                n += 1;
            }
        }
        self.stats.expired = self.stats.expired.saturating_add(n as u32);
        n
    }

    /// Merges one lease under the [merge rules](super#merge-rules).
    /// [`Origin::Local`] changes are queued for
    /// [`poll_change`](Self::poll_change). O(capacity).
    pub fn merge(&mut self, now: u64, lease: &Lease, origin: Origin) -> Result<Outcome, TableFull> {
        let mut outcome = Outcome {
            merged: Merged::Expired,
            conflict: None,
            moved_from: None,
        };
        if lease.is_expired(now) {
            return Ok(outcome);
        }
        let key = ClientKey::of(lease);
        let a = self.find_addr(lease.addr());
        let c = self.find_client(&key).filter(|&c| Some(c) != a);
        let local = origin == Origin::Local;

        // The entry at the address, and whether it is the same client's.
        let at_addr = a.and_then(|i| self.slots[i].live().map(|e| (i, e.lease)));
        let a_same = at_addr.is_some_and(|(_, held)| {
            let k = ClientKey::of(&held);
            k.same_client(&key) || (k == ClientKey::Anonymous && key == ClientKey::Anonymous)
        });

        if let Some((i, held)) = at_addr {
            if held == *lease || (a_same && held > *lease) {
                if let Some(e) = self.slots[i].live_mut() {
                    if local {
                        e.local = true;
                        e.seen = true;
                    }
                }
                outcome.merged = if held == *lease {
                    Merged::Unchanged
                } else {
                    Merged::Stale
                };
                return Ok(outcome);
            }
            if held > *lease {
                // Another client's newer lease holds the address.
                outcome.merged = Merged::Stale;
                outcome.conflict = Some(Conflict {
                    addr: lease.addr(),
                    kept: held,
                    dropped: *lease,
                });
                self.stats.conflicts = self.stats.conflicts.saturating_add(1);
                return Ok(outcome);
            }
        }
        if let Some(i) = c {
            if self.slots[i].live().is_some_and(|e| e.lease > *lease) {
                // The client has a newer lease elsewhere.
                outcome.merged = Merged::Stale;
                return Ok(outcome);
            }
        }

        // The lease wins against everything it collides with. A new entry
        // needs a slot: find it before changing anything.
        let new_slot = if a.is_none() && c.is_none() {
            match self.free_slot(now) {
                Some(i) => Some(i),
                None => {
                    self.stats.full = self.stats.full.saturating_add(1);
                    return Err(TableFull {
                        capacity: self.slots.len(),
                    });
                }
            }
        } else {
            None
        };

        if let Some(i) = c {
            // The client moved: its old lease goes (the peer applies the
            // same rule to the new lease, so this is not queued).
            outcome.moved_from = self.slots[i].live().map(|e| e.lease.addr());
            self.free(i);
        }
        match at_addr {
            Some((i, _)) if a_same => {
                if let Some(e) = self.slots[i].live_mut() {
                    e.lease = *lease;
                    e.local = local;
                    e.seen = true;
                    if local && e.pending == Pending::No {
                        e.pending = Pending::Updated;
                        self.upserts += 1;
                    }
                }
                outcome.merged = Merged::Updated;
                return Ok(outcome);
            }
            Some((i, held)) => {
                outcome.conflict = Some(Conflict {
                    addr: lease.addr(),
                    kept: *lease,
                    dropped: held,
                });
                self.stats.conflicts = self.stats.conflicts.saturating_add(1);
                self.free(i);
            }
            None => {}
        }
        let Some(i) = new_slot.or_else(|| self.free_slot(now)) else {
            // Unreachable: a collision was just freed.
            self.stats.full = self.stats.full.saturating_add(1);
            return Err(TableFull {
                capacity: self.slots.len(),
            });
        };
        let pending = if local {
            self.upserts += 1;
            Pending::Added
        } else {
            Pending::No
        };
        self.slots[i] = Slot(State::Live(Entry {
            lease: *lease,
            seq: self.next_seq,
            pending,
            local,
            seen: true,
        }));
        self.next_seq = self.next_seq.saturating_add(1);
        self.live += 1;
        outcome.merged = Merged::Added;
        Ok(outcome)
    }

    /// Applies the local DHCP server's lease file as a whole (`leases`: its
    /// lease lines, ideally bottom-up so that the oldest is created first):
    ///
    /// 1. every lease the table got from this router's file earlier (not
    ///    one learnt from a peer since) whose address and client are no
    ///    longer in `leases` is deleted and queued ([`Change::Deleted`]);
    /// 2. every lease of `leases` is merged with [`Origin::Local`];
    ///    `report` is called with each and its result (to log conflicts and
    ///    a full table).
    ///
    /// Deleting first lets a lease that dnsmasq released and handed to
    /// another client (possibly with an earlier expiry) come in without a
    /// spurious conflict. The file's `duid` line is the caller's to pass to
    /// [`set_duid`](Self::set_duid). O(leases × capacity).
    ///
    /// Call it only with the file of a DHCP server that runs on this router
    /// (the master's): a backup's file is written from the table.
    pub fn apply_snapshot<I, F>(&mut self, now: u64, leases: I, mut report: F) -> SnapshotSummary
    where
        I: IntoIterator<Item = Lease>,
        I::IntoIter: Clone,
        F: FnMut(&Lease, &Result<Outcome, TableFull>),
    {
        let leases = leases.into_iter();
        let mut sum = SnapshotSummary::default();
        for s in self.slots.iter_mut() {
            if let Some(e) = s.live_mut() {
                e.seen = false;
            }
        }
        for l in leases.clone() {
            if let Some(i) = self.find_addr(l.addr()) {
                if let Some(e) = self.slots[i].live_mut() {
                    if ClientKey::of(&e.lease) == ClientKey::of(&l) {
                        e.seen = true;
                    }
                }
            }
        }
        for i in 0..self.slots.len() {
            let gone = self.slots[i]
                .live()
                .is_some_and(|e| e.local && !e.seen && !e.lease.is_expired(now));
            if gone {
                self.delete(i, Origin::Local);
                sum.deleted += 1;
            }
        }
        for l in leases {
            let r = self.merge(now, &l, Origin::Local);
            match &r {
                Ok(o) => {
                    match o.merged {
                        Merged::Added => sum.added += 1,
                        Merged::Updated => sum.updated += 1,
                        Merged::Unchanged => sum.unchanged += 1,
                        Merged::Stale => sum.stale += 1,
                        Merged::Expired => sum.expired += 1,
                    }
                    if o.conflict.is_some() {
                        sum.conflicts += 1;
                    }
                }
                Err(_) => sum.full += 1,
            }
            report(&l, &r);
        }
        sum
    }

    /// Applies a peer's deletion ([`Change::Deleted`]): removes the lease
    /// for `lease`'s address if it belongs to the same client and is not
    /// newer than `lease`. Returns the removed lease. [`Origin::Local`]
    /// queues the deletion. O(capacity).
    pub fn remove(&mut self, lease: &Lease, origin: Origin) -> Option<Lease> {
        let i = self.find_addr(lease.addr())?;
        let held = self.slots[i].live()?.lease;
        if ClientKey::of(&held) != ClientKey::of(lease) || held > *lease {
            return None;
        }
        self.delete(i, origin);
        Some(held)
    }

    /// Removes the lease for `addr`, whoever holds it. Returns it.
    /// [`Origin::Local`] queues the deletion. O(capacity).
    pub fn remove_addr(&mut self, addr: IpAddr, origin: Origin) -> Option<Lease> {
        let i = self.find_addr(addr)?;
        let held = self.slots[i].live()?.lease;
        self.delete(i, origin);
        Some(held)
    }

    /// The next change to ship to the peer, deletions first; `None` when
    /// there is none. Poll after every [`Origin::Local`] input until `None`.
    /// O(capacity).
    #[must_use]
    pub fn poll_change(&mut self) -> Option<Change> {
        if self.deletes > 0 {
            for s in self.slots.iter_mut() {
                if let State::Deleted(l) = s.0 {
                    *s = Slot::EMPTY;
                    self.deletes = self.deletes.saturating_sub(1);
                    return Some(Change::Deleted(l));
                }
            }
            self.deletes = 0;
        }
        if self.upserts > 0 {
            for s in self.slots.iter_mut() {
                if let Some(e) = s.live_mut() {
                    let change = match e.pending {
                        Pending::No => continue,
                        Pending::Added => Change::Added(e.lease),
                        Pending::Updated => Change::Updated(e.lease),
                    };
                    e.pending = Pending::No;
                    self.upserts = self.upserts.saturating_sub(1);
                    return Some(change);
                }
            }
            self.upserts = 0;
        }
        None
    }

    /// Number of changes waiting for [`poll_change`](Self::poll_change).
    pub fn pending_changes(&self) -> usize {
        self.deletes + self.upserts
    }

    /// Queues every lease as [`Change::Added`] (e.g. for a peer that
    /// restarted and needs the whole table). Already queued leases keep
    /// their place.
    pub fn queue_all(&mut self) {
        for s in self.slots.iter_mut() {
            if let Some(e) = s.live_mut() {
                if e.pending == Pending::No {
                    e.pending = Pending::Added;
                    self.upserts += 1;
                }
            }
        }
    }

    // ------------------------------------------------------------ internals

    fn find_addr(&self, addr: IpAddr) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.live().is_some_and(|e| e.lease.addr() == addr))
    }

    fn find_client(&self, key: &ClientKey<'_>) -> Option<usize> {
        if *key == ClientKey::Anonymous {
            return None;
        }
        self.slots
            .iter()
            .position(|s| s.live().is_some_and(|e| ClientKey::of(&e.lease) == *key))
    }

    /// Empties live slot `i` without queueing anything.
    fn free(&mut self, i: usize) {
        if let Some(e) = self.slots[i].live() {
            if e.pending != Pending::No {
                self.upserts = self.upserts.saturating_sub(1);
            }
            self.live = self.live.saturating_sub(1);
            self.slots[i] = Slot::EMPTY;
        }
    }

    /// Deletes live slot `i`; a local deletion is queued.
    fn delete(&mut self, i: usize, origin: Origin) {
        let Some(lease) = self.slots[i].live().map(|e| e.lease) else {
            return;
        };
        self.free(i);
        if origin == Origin::Local {
            self.slots[i] = Slot(State::Deleted(lease));
            self.deletes += 1;
        }
    }

    /// A slot for a new lease: an empty one, else one whose lease has ended,
    /// else one holding an unpolled deletion.
    fn free_slot(&mut self, now: u64) -> Option<usize> {
        if let Some(i) = self.slots.iter().position(|s| matches!(s.0, State::Empty)) {
            return Some(i);
        }
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.live().is_some_and(|e| e.lease.is_expired(now)))
        {
            self.free(i);
            self.stats.expired = self.stats.expired.saturating_add(1);
            return Some(i);
        }
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| matches!(s.0, State::Deleted(_)))
        {
            self.slots[i] = Slot::EMPTY;
            self.deletes = self.deletes.saturating_sub(1);
            self.stats.lost_deletes = self.stats.lost_deletes.saturating_add(1);
            return Some(i);
        }
        None
    }
}

/// The table's leases, most recently created first: see
/// [`LeaseTable::dnsmasq_order`].
#[derive(Debug, Clone)]
pub struct DnsmasqOrder<'t> {
    slots: &'t [Slot],
    /// Only entries created before this sequence number remain.
    below: u64,
    done: bool,
}

impl<'t> Iterator for DnsmasqOrder<'t> {
    type Item = &'t Lease;

    fn next(&mut self) -> Option<&'t Lease> {
        if self.done {
            return None;
        }
        let next = self
            .slots
            .iter()
            .filter_map(|s| s.live())
            .filter(|e| e.seq < self.below)
            .max_by_key(|e| e.seq);
        match next {
            Some(e) => {
                self.below = e.seq;
                Some(&e.lease)
            }
            None => {
                self.done = true;
                None
            }
        }
    }
}
