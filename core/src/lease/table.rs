//! The fixed-capacity lease table.

use core::cmp::Ordering;
use core::fmt;
use core::net::IpAddr;

use tandem_protocol::lease::{Duid, Expiry, Lease};

use super::{Change, ClientKey, Conflict, DuidMerge, Merged, Origin, Outcome, Stats, TableFull};

/// Pool octets per lease of capacity (see [`pool_len`]): a lease keeps its
/// variable-length fields (hardware address, hostname, client id or DUID)
/// out of its [`Slot`], in one byte pool shared by the table. A typical
/// dnsmasq lease needs 15–35 octets there (a MAC, a short hostname, a
/// 7-octet client id; or a hostname and a 14-octet DUID).
pub const POOL_PER_LEASE: usize = 48;

/// The most pool octets one lease can need (16 + 63 + 255).
pub const LEASE_BYTES_MAX: usize = 16 + 63 + 255;

/// The pool length for a table of `capacity` slots: [`POOL_PER_LEASE`]
/// per slot, and room for at least one lease of [`LEASE_BYTES_MAX`].
pub const fn pool_len(capacity: usize) -> usize {
    capacity
        .saturating_mul(POOL_PER_LEASE)
        .saturating_add(LEASE_BYTES_MAX)
}

const EMPTY: u8 = 0;
const LIVE: u8 = 1;
/// Deleted by a local input, not yet polled (the lease stays readable).
const DELETED: u8 = 2;

const F_V6: u8 = 1;
const F_TEMPORARY: u8 = 2;
/// Last confirmed by the local DHCP server (its lease file), as opposed to
/// learnt from a peer: only such leases are deleted when the local file no
/// longer has them.
const F_LOCAL: u8 = 4;
/// Present in the snapshot being applied.
const F_SEEN: u8 = 8;
/// Queued as added / updated.
const F_ADDED: u8 = 16;
const F_UPDATED: u8 = 32;
const F_PENDING: u8 = F_ADDED | F_UPDATED;

/// One lease's fixed part of the table storage (48 octets): make an array
/// of [`Slot::EMPTY`] (`linux-port` maps zeroed memory: a `Slot` is plain
/// integers and [`Slot::EMPTY`] is all zero bits, so untouched slots cost
/// no RAM) and hand it to [`LeaseTable::new`] with a pool of
/// [`pool_len`] octets. A lease costs its slot plus its variable-length
/// fields in the pool: about 48 + [`POOL_PER_LEASE`] octets, so
/// `lease_capacity 1024` costs about 96 KiB.
///
/// Keep every field an integer or an array of integers: linux-port allocates
/// these slots as zeroed memory (`sys::zeroed` relies on all-zero bits being valid).
#[derive(Clone, Copy, Default)]
pub struct Slot {
    /// Expiry as written (0 = never).
    expires: u64,
    /// Creation order (dnsmasq writes the newest lease first): the
    /// non-empty slots have the numbers `0..` their count.
    seq: u32,
    /// IPv4 in the first 4 octets, or IPv6.
    addr: [u8; 16],
    /// IPv4: the hardware type; IPv6: the IAID.
    id: u32,
    /// Where the variable fields start in the pool.
    off: u32,
    /// Octets of hardware address (IPv4), hostname, client id / DUID.
    hw: u8,
    host: u8,
    cid: u8,
    state: u8,
    flags: u8,
    /// [`key_hash`] of the slot's client key (checked before the key).
    kh: u16,
}

impl Slot {
    /// An empty slot (all zero bits).
    pub const EMPTY: Slot = Slot {
        expires: 0,
        seq: 0,
        addr: [0; 16],
        id: 0,
        off: 0,
        hw: 0,
        host: 0,
        cid: 0,
        state: EMPTY,
        flags: 0,
        kh: 0,
    };

    /// An empty slot.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    fn len(&self) -> usize {
        usize::from(self.hw) + usize::from(self.host) + usize::from(self.cid)
    }

    fn is_live(&self) -> bool {
        self.state == LIVE
    }

    fn is_v6(&self) -> bool {
        self.flags & F_V6 != 0
    }

    fn ip(&self) -> IpAddr {
        let a = self.addr;
        if self.is_v6() {
            IpAddr::from(a)
        } else {
            IpAddr::from([a[0], a[1], a[2], a[3]])
        }
    }

    fn has_addr(&self, v6: bool, addr: &[u8; 16]) -> bool {
        self.is_v6() == v6 && self.addr == *addr
    }

    fn is_expired(&self, now: u64) -> bool {
        self.expires != 0 && now >= self.expires
    }

    /// The variable fields: hardware address, hostname, client id.
    fn parts<'p>(&self, pool: &'p [u8]) -> (&'p [u8], &'p [u8], &'p [u8]) {
        let off = self.off as usize;
        let bytes = pool.get(off..off + self.len()).unwrap_or(&[]);
        let (hw, rest) = bytes.split_at(usize::from(self.hw).min(bytes.len()));
        let (host, cid) = rest.split_at(usize::from(self.host).min(rest.len()));
        (hw, host, cid)
    }

    fn key<'p>(&self, pool: &'p [u8]) -> ClientKey<'p> {
        let (hw, _, cid) = self.parts(pool);
        let a = self.addr;
        if self.is_v6() {
            if cid.is_empty() {
                return ClientKey::Anonymous;
            }
            ClientKey::Ia {
                duid: cid,
                iaid: self.id,
                temporary: self.flags & F_TEMPORARY != 0,
                prefix: [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]],
            }
        } else if !cid.is_empty() {
            ClientKey::ClientId(cid)
        } else if !hw.is_empty() {
            ClientKey::HwAddr {
                htype: self.id as u16,
                addr: hw,
            }
        } else {
            ClientKey::Anonymous
        }
    }

    /// The lease this slot holds.
    fn lease(&self, pool: &[u8]) -> Lease {
        let (hw, host, cid) = self.parts(pool);
        let mut l = Lease::EMPTY;
        l.fill(
            self.is_v6(),
            Expiry::from_raw(self.expires),
            self.id,
            self.flags & F_TEMPORARY != 0,
            &self.addr,
            hw,
            host,
            cid,
        );
        l
    }
}

/// A 16-bit digest of a client key (equal keys, equal digests): a slot
/// keeps its own to skip most key comparisons.
fn key_hash(key: &ClientKey<'_>) -> u16 {
    let bytes = match *key {
        ClientKey::ClientId(b)
        | ClientKey::HwAddr { addr: b, .. }
        | ClientKey::Ia { duid: b, .. } => b,
        ClientKey::Anonymous => &[],
    };
    let mut h = 0u32;
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h ^ h >> 16) as u16
}

/// `lease`'s address as stored in a slot: (IPv6, octets).
fn addr_key(addr: IpAddr) -> (bool, [u8; 16]) {
    match addr {
        IpAddr::V4(a) => {
            let mut o = [0; 16];
            o[..4].copy_from_slice(&a.octets());
            (false, o)
        }
        IpAddr::V6(a) => (true, a.octets()),
    }
}

/// The pool octets `lease` needs.
fn lease_bytes(lease: &Lease) -> usize {
    let hw = match lease {
        Lease::V4(l) => l.hwaddr.as_slice().len(),
        Lease::V6(_) => 0,
    };
    hw + lease.hostname().as_bytes().len() + lease.client_id().len()
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            EMPTY => "Empty",
            LIVE => "Live",
            _ => "Deleted",
        })
    }
}

/// A fixed-capacity table of leases with the merge rules and change
/// tracking described in the [module documentation](super).
pub struct LeaseTable<'s> {
    slots: &'s mut [Slot],
    /// Slots from `top` on are empty (never used).
    top: usize,
    /// No slot before this one is empty.
    hint: usize,
    /// The variable-length fields of the slots' leases, packed from the
    /// start (`..used`; a freed lease's octets are closed up).
    pool: &'s mut [u8],
    used: usize,
    generation: u32,
    next_seq: u32,
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
    /// An empty table over `slots` and `pool` (see [`pool_len`]; slots that
    /// are not empty are cleared, empty ones are not written). Its capacity
    /// is `slots.len()`; a zero-length slice gives a table that is always
    /// full. A lease that does not fit the pool is refused like one that
    /// does not fit the slots ([`TableFull`]).
    pub fn new(slots: &'s mut [Slot], pool: &'s mut [u8]) -> Self {
        for s in slots.iter_mut() {
            if s.state != EMPTY {
                *s = Slot::EMPTY;
            }
        }
        LeaseTable {
            slots,
            top: 0,
            hint: 0,
            pool,
            used: 0,
            generation: 0,
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
        if self.duid != duid {
            self.changed();
        }
        self.duid = duid;
    }

    /// Merges a server DUID: the first one is kept, a different one is
    /// reported and ignored.
    pub fn merge_duid(&mut self, duid: &Duid) -> DuidMerge {
        match &self.duid {
            None => {
                self.duid = Some(*duid);
                self.changed();
                DuidMerge::Set
            }
            Some(d) if d == duid => DuidMerge::Same,
            Some(_) => DuidMerge::Mismatch,
        }
    }

    /// The lease for `addr`, if any. O(capacity).
    pub fn get(&self, addr: IpAddr) -> Option<Lease> {
        self.find_addr(addr).map(|i| self.lease(i))
    }

    /// The lease of client `key`, if any ([`ClientKey::Anonymous`] finds
    /// nothing). O(capacity).
    pub fn get_client(&self, key: &ClientKey<'_>) -> Option<Lease> {
        self.find_client(key).map(|i| self.lease(i))
    }

    /// Every lease, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = Lease> + Clone + '_ {
        self.slots[..self.top]
            .iter()
            .filter(|s| s.is_live())
            .map(|s| s.lease(self.pool))
    }

    /// Every lease in the order dnsmasq writes them: most recently created
    /// first (dnsmasq puts a new lease at the head of its list and keeps a
    /// renewed one in place; so does this table). Usually O(1) per item
    /// (O(capacity) at worst).
    pub fn dnsmasq_order(&self) -> DnsmasqOrder<'_> {
        DnsmasqOrder {
            slots: &self.slots[..self.top],
            pool: self.pool,
            below: u32::MAX,
            at: self.top,
        }
    }

    /// Writes the table as a dnsmasq lease file: IPv4 leases, the `duid`
    /// line, IPv6 leases, newest first in each part (as
    /// [`tandem_protocol::lease::write_file`]). Leases that have ended are
    /// written too: call [`prune`](Self::prune) first.
    pub fn write_file(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        for v6 in [false, true] {
            if v6 {
                if let Some(d) = &self.duid {
                    // As `Line::Duid` writes it.
                    w.write_str("duid ")?;
                    if !d.is_empty() {
                        write!(w, "{d}")?;
                    }
                    w.write_char('\n')?;
                }
            }
            let mut order = self.dnsmasq_order();
            while let Some(i) = order.next_index() {
                if self.slots[i].is_v6() == v6 {
                    writeln!(w, "{}", self.lease(i))?;
                }
            }
        }
        Ok(())
    }

    /// A count of the changes to the leases and the DUID (wrapping): when
    /// it is unchanged, so is what [`write_file`](Self::write_file) writes.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The earliest finite expiry of a lease held (wall-clock seconds): when
    /// to call [`prune`](Self::prune) next.
    pub fn next_expiry(&self) -> Option<u64> {
        self.slots[..self.top]
            .iter()
            .filter(|s| s.is_live() && s.expires != 0)
            .map(|s| s.expires)
            .min()
    }

    /// Drops every lease that has ended at `now` (not queued as a change:
    /// every router prunes by itself). Returns how many.
    pub fn prune(&mut self, now: u64) -> usize {
        let mut n = 0;
        for i in 0..self.top {
            if self.slots[i].is_live() && self.slots[i].is_expired(now) {
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
        self.merge_into(now, lease, origin, &mut outcome)
            .map(|()| outcome)
    }

    /// [`merge`](Self::merge) into `outcome` (which says
    /// [`Merged::Expired`], no conflict, not moved).
    fn merge_into(
        &mut self,
        now: u64,
        lease: &Lease,
        origin: Origin,
        outcome: &mut Outcome,
    ) -> Result<(), TableFull> {
        if lease.is_expired(now) {
            return Ok(());
        }
        let key = ClientKey::of(lease);
        let a = self.find_addr(lease.addr());
        let c = self.find_client(&key).filter(|&c| Some(c) != a);
        let local = origin == Origin::Local;

        // The entry at the address, and whether it is the same client's.
        let a_same = a.is_some_and(|i| {
            // The same client, or both anonymous.
            self.slots[i].key(self.pool) == key
        });

        if let Some(i) = a {
            let ord = self.cmp_slot(i, lease);
            if ord.is_eq() || (a_same && ord.is_gt()) {
                if local {
                    self.slots[i].flags |= F_LOCAL | F_SEEN;
                }
                outcome.merged = if ord.is_eq() {
                    Merged::Unchanged
                } else {
                    Merged::Stale
                };
                return Ok(());
            }
            if ord.is_gt() {
                // Another client's newer lease holds the address.
                outcome.merged = Merged::Stale;
                self.conflict(outcome, i, lease, false);
                return Ok(());
            }
        }
        if let Some(i) = c {
            if self.cmp_slot(i, lease).is_gt() {
                // The client has a newer lease elsewhere.
                outcome.merged = Merged::Stale;
                return Ok(());
            }
        }

        // The lease wins against everything it collides with. It needs a
        // slot (unless it updates the one at its address) and pool room
        // (what the collisions free counts): find them before changing
        // anything.
        let freed = [a, c]
            .into_iter()
            .flatten()
            .map(|i| self.slots[i].len())
            .sum::<usize>();
        let Some(new_slot) = self.room(
            now,
            a.is_none() && c.is_none(),
            lease_bytes(lease),
            freed,
            [a, c],
        ) else {
            self.stats.full = self.stats.full.saturating_add(1);
            return Err(TableFull {
                capacity: self.slots.len(),
            });
        };

        if let Some(i) = c {
            // The client moved: its old lease goes (the peer applies the
            // same rule to the new lease, so this is not queued).
            outcome.moved_from = Some(self.slots[i].ip());
            self.free(i);
        }
        match a {
            Some(i) if a_same => {
                self.cut(i, u32::MAX);
                self.store(i, lease);
                let s = &mut self.slots[i];
                s.flags = (s.flags & (F_PENDING | F_V6 | F_TEMPORARY)) | F_SEEN;
                if local {
                    s.flags |= F_LOCAL;
                    if s.flags & F_PENDING == 0 {
                        s.flags |= F_UPDATED;
                        self.upserts += 1;
                    }
                }
                outcome.merged = Merged::Updated;
                return Ok(());
            }
            Some(i) => {
                self.conflict(outcome, i, lease, true);
                self.free(i);
            }
            None => {}
        }
        let i = match new_slot {
            Some(i) => i,
            // A collision was just freed.
            None => self.empty_slot().unwrap_or(0),
        };
        self.store(i, lease);
        let s = &mut self.slots[i];
        s.state = LIVE;
        s.seq = self.next_seq;
        s.flags |= F_SEEN;
        if local {
            s.flags |= F_LOCAL | F_ADDED;
            self.upserts += 1;
        }
        self.next_seq += 1;
        self.live += 1;
        outcome.merged = Merged::Added;
        Ok(())
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
        self.snapshot_begin();
        for l in leases.clone() {
            self.snapshot_see(&l);
        }
        sum.deleted = self.snapshot_prune(now);
        for l in leases {
            let r = self.snapshot_merge(now, &l, &mut sum);
            report(&l, &r);
        }
        sum
    }

    /// [`apply_snapshot`](Self::apply_snapshot) in steps, without an
    /// iterator that can be read twice: first `snapshot_begin`, then
    /// [`snapshot_see`](Self::snapshot_see) with every lease of the file,
    /// then [`snapshot_prune`](Self::snapshot_prune), then
    /// [`snapshot_merge`](Self::snapshot_merge) with every lease (oldest
    /// first).
    pub fn snapshot_begin(&mut self) {
        for s in self.slots[..self.top].iter_mut() {
            s.flags &= !F_SEEN;
        }
    }

    /// A lease of the file being applied (see
    /// [`snapshot_begin`](Self::snapshot_begin)).
    pub fn snapshot_see(&mut self, l: &Lease) {
        if let Some(i) = self.find_addr(l.addr()) {
            if self.slots[i].key(self.pool) == ClientKey::of(l) {
                self.slots[i].flags |= F_SEEN;
            }
        }
    }

    /// Deletes (and queues) every lease that came from this router's file
    /// and was not seen; returns how many (see
    /// [`snapshot_begin`](Self::snapshot_begin)).
    pub fn snapshot_prune(&mut self, now: u64) -> usize {
        let mut n = 0;
        for i in 0..self.top {
            let s = &self.slots[i];
            if s.is_live() && s.flags & (F_LOCAL | F_SEEN) == F_LOCAL && !s.is_expired(now) {
                self.delete(i, Origin::Local);
                n += 1;
            }
        }
        n
    }

    /// Merges a lease of the file with [`Origin::Local`] and counts the
    /// result in `sum` (see [`snapshot_begin`](Self::snapshot_begin)).
    pub fn snapshot_merge(
        &mut self,
        now: u64,
        l: &Lease,
        sum: &mut SnapshotSummary,
    ) -> Result<Outcome, TableFull> {
        let r = self.merge(now, l, Origin::Local);
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
        r
    }

    /// Applies a peer's deletion ([`Change::Deleted`]): removes the lease
    /// for `lease`'s address if it belongs to the same client and is not
    /// newer than `lease`. Returns the removed lease. [`Origin::Local`]
    /// queues the deletion. O(capacity).
    pub fn remove(&mut self, lease: &Lease, origin: Origin) -> Option<Lease> {
        let i = self.find_addr(lease.addr())?;
        if self.slots[i].key(self.pool) != ClientKey::of(lease) || self.cmp_slot(i, lease).is_gt() {
            return None;
        }
        let held = self.lease(i);
        self.delete(i, origin);
        Some(held)
    }

    /// Removes the lease for `addr`, whoever holds it. Returns it.
    /// [`Origin::Local`] queues the deletion. O(capacity).
    pub fn remove_addr(&mut self, addr: IpAddr, origin: Origin) -> Option<Lease> {
        let i = self.find_addr(addr)?;
        let held = self.lease(i);
        self.delete(i, origin);
        Some(held)
    }

    /// The next change to ship to the peer, deletions first; `None` when
    /// there is none. Poll after every [`Origin::Local`] input until `None`.
    /// O(capacity).
    #[must_use]
    pub fn poll_change(&mut self) -> Option<Change> {
        if self.deletes > 0 {
            if let Some(i) = self.slots[..self.top]
                .iter()
                .position(|s| s.state == DELETED)
            {
                let l = self.lease(i);
                self.clear(i);
                self.deletes = self.deletes.saturating_sub(1);
                return Some(Change::Deleted(l));
            }
            self.deletes = 0;
        }
        if self.upserts > 0 {
            if let Some(i) = self.slots[..self.top]
                .iter()
                .position(|s| s.is_live() && s.flags & F_PENDING != 0)
            {
                let l = self.lease(i);
                let s = &mut self.slots[i];
                let added = s.flags & F_ADDED != 0;
                s.flags &= !F_PENDING;
                self.upserts = self.upserts.saturating_sub(1);
                return Some(if added {
                    Change::Added(l)
                } else {
                    Change::Updated(l)
                });
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
        for s in self.slots[..self.top].iter_mut() {
            if s.is_live() && s.flags & F_PENDING == 0 {
                s.flags |= F_ADDED;
                self.upserts += 1;
            }
        }
    }

    // ------------------------------------------------------------ internals

    fn lease(&self, i: usize) -> Lease {
        self.slots[i].lease(self.pool)
    }

    /// Reports (and counts) a conflict for one address between the lease
    /// in slot `i` and `lease`; `wins`: `lease` is the one kept.
    #[inline(never)]
    fn conflict(&mut self, outcome: &mut Outcome, i: usize, lease: &Lease, wins: bool) {
        let held = self.lease(i);
        let (kept, dropped) = if wins { (lease, &held) } else { (&held, lease) };
        outcome.conflict = Some(Conflict {
            addr: kept.addr(),
            kept: *kept,
            dropped: *dropped,
        });
        self.stats.conflicts = self.stats.conflicts.saturating_add(1);
    }

    /// `self.lease(i).cmp(lease)` without building the slot's lease: the
    /// derived order of [`Lease`] (variant; then expiry, hardware type or
    /// IAID, IA_TA flag, hardware address octets, address, hostname, client
    /// id or DUID: within one variant the fields the other one lacks are
    /// equal).
    fn cmp_slot(&self, i: usize, lease: &Lease) -> Ordering {
        let s = &self.slots[i];
        let (hw, host, cid) = s.parts(self.pool);
        let (v6, addr) = addr_key(lease.addr());
        let (id, temporary, lhw): (u32, bool, &[u8]) = match lease {
            Lease::V4(l) => (u32::from(l.hwaddr.htype()), false, l.hwaddr.as_slice()),
            Lease::V6(l) => (l.iaid, l.temporary, &[]),
        };
        // The scalar fields as big-endian octets; an expiry of 0 (never)
        // is the greatest.
        let head = |v6: bool, expires: u64, id: u32, temporary: bool| {
            let mut h = [0u8; 14];
            h[0] = v6 as u8;
            h[1..9].copy_from_slice(&expires.wrapping_sub(1).to_be_bytes());
            h[9..13].copy_from_slice(&id.to_be_bytes());
            h[13] = temporary as u8;
            h
        };
        let a = head(s.is_v6(), s.expires, s.id, s.flags & F_TEMPORARY != 0);
        let b = head(v6, lease.expires().raw(), id, temporary);
        for (x, y) in [
            (&a[..], &b[..]),
            (hw, lhw),
            (&s.addr[..], &addr[..]),
            (host, lease.hostname().as_bytes()),
            (cid, lease.client_id().as_slice()),
        ] {
            match x.cmp(y) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    }

    fn changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn find_addr(&self, addr: IpAddr) -> Option<usize> {
        let (v6, a) = addr_key(addr);
        self.slots[..self.top]
            .iter()
            .position(|s| s.is_live() && s.has_addr(v6, &a))
    }

    /// The live slot of client `key` ([`ClientKey::Anonymous`]: none).
    fn find_client(&self, key: &ClientKey<'_>) -> Option<usize> {
        if matches!(key, ClientKey::Anonymous) {
            return None;
        }
        let kh = key_hash(key);
        self.slots[..self.top]
            .iter()
            .position(|s| s.is_live() && s.kh == kh && s.key(self.pool) == *key)
    }

    /// The first empty slot, if any.
    fn empty_slot(&mut self) -> Option<usize> {
        while let Some(s) = self.slots.get(self.hint) {
            if s.state == EMPTY {
                return Some(self.hint);
            }
            self.hint += 1;
        }
        None
    }

    /// Writes `lease` into slot `i` (its fields, its octets at the end of
    /// the pool); the caller made room. Keeps `seq` and `state`.
    fn store(&mut self, i: usize, lease: &Lease) {
        let (_, addr) = addr_key(lease.addr());
        let host = lease.hostname().as_bytes();
        let cid = lease.client_id().as_slice();
        let (id, hw, flags): (u32, &[u8], u8) = match lease {
            Lease::V4(l) => (u32::from(l.hwaddr.htype()), l.hwaddr.as_slice(), 0),
            Lease::V6(l) => (
                l.iaid,
                &[],
                F_V6 | if l.temporary { F_TEMPORARY } else { 0 },
            ),
        };
        self.changed();
        let off = self.used;
        let mut end = off;
        for part in [hw, host, cid] {
            if let Some(dst) = self.pool.get_mut(end..end + part.len()) {
                dst.copy_from_slice(part);
                end += part.len();
            }
        }
        self.used = end;
        let s = &mut self.slots[i];
        s.expires = lease.expires().raw();
        s.addr = addr;
        s.id = id;
        s.off = off as u32;
        s.hw = hw.len() as u8;
        s.host = host.len() as u8;
        s.cid = cid.len() as u8;
        s.flags = (s.flags & !(F_V6 | F_TEMPORARY)) | flags;
        self.slots[i].kh = key_hash(&ClientKey::of(lease));
        self.top = self.top.max(i + 1);
    }

    /// Takes slot `i`'s octets out of the pool (closing the gap) and
    /// lowers the sequence numbers above `above` by one.
    fn cut(&mut self, i: usize, above: u32) {
        let s = self.slots[i];
        let (off, mut len) = (s.off as usize, s.len());
        if off + len <= self.used {
            self.pool.copy_within(off + len..self.used, off);
            self.used -= len;
        } else {
            len = 0;
        }
        for t in self.slots[..self.top].iter_mut() {
            if t.state != EMPTY {
                if t.off as usize > off {
                    t.off -= len as u32;
                }
                t.seq -= u32::from(t.seq > above);
            }
        }
        let s = &mut self.slots[i];
        (s.hw, s.host, s.cid) = (0, 0, 0);
    }

    /// Empties slot `i` (live or deleted) and its octets (the later
    /// sequence numbers close up).
    fn clear(&mut self, i: usize) {
        self.cut(i, self.slots[i].seq);
        self.slots[i] = Slot::EMPTY;
        self.next_seq -= 1;
        self.hint = self.hint.min(i);
    }

    /// Empties live slot `i` without queueing anything.
    fn free(&mut self, i: usize) {
        if self.slots[i].is_live() {
            if self.slots[i].flags & F_PENDING != 0 {
                self.upserts = self.upserts.saturating_sub(1);
            }
            self.live = self.live.saturating_sub(1);
            self.changed();
            self.clear(i);
        }
    }

    /// Deletes live slot `i`; a local deletion is queued (the slot keeps
    /// the lease until it is polled).
    fn delete(&mut self, i: usize, origin: Origin) {
        let s = self.slots[i];
        if !s.is_live() {
            return;
        }
        if origin == Origin::Local {
            if s.flags & F_PENDING != 0 {
                self.upserts = self.upserts.saturating_sub(1);
            }
            self.live = self.live.saturating_sub(1);
            self.slots[i].state = DELETED;
            self.deletes += 1;
            self.changed();
        } else {
            self.free(i);
        }
    }

    /// Room for a lease of `bytes` pool octets (`freed`: what the slots in
    /// `keep` will give back) and, if `slot`, a slot: reclaims leases that
    /// have ended, then unpolled deletions, until there is room. `None`:
    /// full. `Some(slot)`: the free slot (when one was asked for).
    fn room(
        &mut self,
        now: u64,
        slot: bool,
        bytes: usize,
        freed: usize,
        keep: [Option<usize>; 2],
    ) -> Option<Option<usize>> {
        loop {
            let empty = self.empty_slot();
            if (!slot || empty.is_some()) && self.pool.len() - self.used + freed >= bytes {
                return Some(empty.filter(|_| slot));
            }
            let spare = |j: usize| !keep.contains(&Some(j));
            if let Some(j) = (0..self.top)
                .find(|&j| spare(j) && self.slots[j].is_live() && self.slots[j].is_expired(now))
            {
                self.free(j);
                self.stats.expired = self.stats.expired.saturating_add(1);
            } else if let Some(j) = self.slots[..self.top]
                .iter()
                .position(|s| s.state == DELETED)
            {
                self.clear(j);
                self.deletes = self.deletes.saturating_sub(1);
                self.stats.lost_deletes = self.stats.lost_deletes.saturating_add(1);
            } else {
                return None;
            }
        }
    }
}

/// The table's leases, most recently created first: see
/// [`LeaseTable::dnsmasq_order`].
#[derive(Debug, Clone)]
pub struct DnsmasqOrder<'t> {
    slots: &'t [Slot],
    pool: &'t [u8],
    /// Only entries created before this sequence number remain.
    below: u32,
    /// The slot of the last entry (where the search for the next starts).
    at: usize,
}

impl DnsmasqOrder<'_> {
    /// The slot of the next lease.
    fn next_index(&mut self) -> Option<usize> {
        let mut best: Option<usize> = None;
        // Sequence numbers are distinct and dense (the table closes them up
        // when a slot is emptied): the search, round from the last entry
        // downwards, usually stops at once on its predecessor.
        let mut i = self.at;
        for _ in 0..self.slots.len() {
            i = i.checked_sub(1).unwrap_or(self.slots.len() - 1);
            let s = &self.slots[i];
            if s.is_live() && s.seq < self.below && best.is_none_or(|b| s.seq > self.slots[b].seq) {
                best = Some(i);
                if s.seq + 1 == self.below {
                    break;
                }
            }
        }
        // Nothing is below 0: done.
        self.below = best.map_or(0, |b| self.slots[b].seq);
        self.at = best.unwrap_or(0);
        best
    }
}

impl Iterator for DnsmasqOrder<'_> {
    type Item = Lease;

    fn next(&mut self) -> Option<Lease> {
        self.next_index().map(|i| self.slots[i].lease(self.pool))
    }
}

#[cfg(test)]
mod cmp_tests {
    use super::*;
    use tandem_protocol::lease::{lines, ClientId, Hostname, HwAddr, Lease4, Line};

    /// `cmp_slot` orders as the derived `Ord` of `Lease`.
    #[test]
    fn cmp_slot_is_lease_order() {
        let file = b"0 aa:bb:cc:dd:ee:01 10.0.0.1 a *
5 aa:bb:cc:dd:ee:01 10.0.0.1 a *
5 aa:bb:cc:dd:ee:01 10.0.0.2 a *
5 aa:bb:cc:dd:ee:01 10.0.0.1 b *
5 aa:bb:cc:dd:ee:01 10.0.0.1 * *
5 aa:bb:cc:dd:ee:01 10.0.0.1 a 01:02
5 aa:bb:cc:dd:ee:01 10.0.0.1 a 01
5 aa:bb:cc:dd:ee:02 10.0.0.1 a *
5 aa:bb:cc:dd:ee 10.0.0.1 a *
5 06-aa:bb:cc:dd:ee:01 10.0.0.1 a *
5 20- 10.0.0.1 a *
6 aa:bb:cc:dd:ee:01 10.0.0.1 a *
4294967297 aa:bb:cc:dd:ee:01 10.0.0.1 a *
5 7 fd00::1 a 00:01
5 T7 fd00::1 a 00:01
5 8 fd00::1 a 00:01
5 7 fd00::2 a 00:01
5 7 fd00::1 * 00:01
5 7 fd00::1 a 00:01:02
0 7 fd00::1 a 00:01
9 7 fd00::1 a *
";
        let leases: [Lease; 21] = {
            let mut v = [Lease::V4(Lease4 {
                expires: Expiry::NEVER,
                hwaddr: HwAddr::default(),
                addr: [0; 4].into(),
                hostname: Hostname::NONE,
                client_id: ClientId::new(),
            }); 21];
            for (n, l) in lines(file).enumerate() {
                match l {
                    Ok(Line::Lease(l)) => v[n] = l,
                    other => panic!("{other:?}"),
                }
            }
            v
        };
        for a in &leases {
            let mut slots = [Slot::EMPTY; 1];
            let mut pool = [0u8; pool_len(1)];
            let mut t = LeaseTable::new(&mut slots, &mut pool);
            t.merge(1, a, Origin::Remote).unwrap();
            assert_eq!(t.lease(0), *a);
            for b in &leases {
                assert_eq!(t.cmp_slot(0, b), a.cmp(b), "{a} vs {b}");
            }
        }
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use tandem_protocol::lease::Line;

    /// Under churn (adds, moves, conflicts, local and remote deletions,
    /// prunes) the creation numbers stay dense and `dnsmasq_order` is the
    /// live slots by creation, newest first.
    #[test]
    fn dnsmasq_order_under_churn() {
        let mut slots = [Slot::EMPTY; 40];
        let mut pool = [0u8; pool_len(40)];
        let mut t = LeaseTable::new(&mut slots, &mut pool);
        let mut x = 12345u32;
        let mut rnd = |n: u32| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) % n
        };
        for step in 0..3000u64 {
            let (c, a, e) = (rnd(30), rnd(30), 100 + step + u64::from(rnd(50)));
            let text = std::format!("{e} aa:bb:cc:dd:ee:{c:02x} 10.0.0.{a} h{c} *");
            let Ok(Line::Lease(l)) = Line::parse(text.as_bytes()) else {
                panic!("{text}")
            };
            match rnd(10) {
                0 => {
                    t.remove_addr(l.addr(), Origin::Local);
                }
                1 => {
                    t.remove_addr(l.addr(), Origin::Remote);
                }
                2 => while t.poll_change().is_some() {},
                3 => {
                    t.prune(step + 60);
                }
                _ => {
                    let _ = t.merge(step, &l, Origin::Local);
                }
            }
            let mut seqs: std::vec::Vec<u32> = t.slots[..t.top]
                .iter()
                .filter(|s| s.state != EMPTY)
                .map(|s| s.seq)
                .collect();
            seqs.sort_unstable();
            assert!(seqs.iter().copied().eq(0..t.next_seq), "{seqs:?}");
            assert!(t.slots[t.top..].iter().all(|s| s.state == EMPTY));
            assert!(t.slots[..t.hint].iter().all(|s| s.state != EMPTY));
            let mut live: std::vec::Vec<(u32, Lease)> = t.slots[..t.top]
                .iter()
                .filter(|s| s.is_live())
                .map(|s| (s.seq, s.lease(t.pool)))
                .collect();
            live.sort_by_key(|&(seq, _)| core::cmp::Reverse(seq));
            assert!(live.iter().map(|(_, l)| *l).eq(t.dnsmasq_order()));
        }
    }
}
