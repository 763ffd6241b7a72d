//! The backup's external cache: conntrack entries in caller storage,
//! packed ([`super::packed`]) into fixed 48-octet slots, found through a
//! hash index kept in the same slots (separate chaining).
//!
//! Each slot plays two parts at once: its `bucket` word is bucket `i` of
//! the hash index (the first record of that chain), and the rest holds one
//! record, or one part of a record, or nothing. A record whose packed form
//! fits [`DATA`] octets (a NAT'd TCP or UDP IPv4 connection: about 28)
//! takes one slot; longer ones (IPv6, marks and zones on top, a reply tuple
//! that is not the original's inverse plus NAT) take a head slot and
//! continuation slots linked from it: an IPv6 entry usually two or three.
//! Free slots form a free list, so no record ever moves; deleting is
//! O(chain).
//!
//! Memory: 48 octets a slot on every target (116 before the entries were
//! packed), so 20 480 slots (a `conntrack_capacity` of 16 384 and a
//! quarter more) take 960 KiB instead of 2.3 MiB. With separate chaining
//! every slot can hold a record (the last quarter is no longer just
//! headroom for probing).

use tandem_protocol::conntrack::{Entry, Key};

use super::packed::{pack, unpack_into, MAX_PACKED, NO_TUPLE};

/// Longest hash chain: an insert into a bucket that already holds this
/// many records fails (counted in
/// [`Counters::cache_full`](super::Counters::cache_full)), so that a
/// lookup unpacks and compares at most `PROBE_LIMIT` records. With one
/// bucket per slot, chains stay short (about one record on average even
/// in a full cache); the limit only matters for pathological keys.
pub const PROBE_LIMIT: usize = 64;

/// Record octets in one slot.
const DATA: usize = 36;

/// Slot kinds.
const FREE: u8 = 0;
const HEAD: u8 = 1;
const CONT: u8 = 2;

/// Slot indices are stored as `u32` (plus one: 0 is "none").
const MAX_SLOTS: usize = (u32::MAX - 1) as usize;

/// One slot of the cache (48 octets). Storage is the caller's
/// (`&mut [Slot]`: zeroed memory, a `static` array, `vec![Slot::EMPTY; n]`
/// — which writes, and so makes resident, every slot); its
/// contents are private. A connection takes one slot when its packed form
/// is at most 36 octets (masqueraded IPv4 TCP/UDP: about 28), otherwise
/// two to four (IPv6).
///
/// [`Slot::EMPTY`] is all zero bits (only integer fields), so zeroed
/// memory is a valid array of empty slots: storage from a zeroing
/// allocator (`calloc`, fresh anonymous pages) becomes resident only as
/// the cache fills ([`CtSync::new`](super::CtSync::new) writes only slots
/// that are not empty).
///
/// Keep every field an integer or an array of integers: linux-port allocates
/// these slots as zeroed memory (`sys::zeroed` relies on all-zero bits being valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Bucket `i` of the hash index: its first record's slot + 1, or 0.
    /// Belongs to the index, not to the record held in this slot.
    bucket: u32,
    /// HEAD: the next record of its chain; CONT: the next part; FREE: the
    /// next free slot (slot + 1, or 0).
    link: u32,
    /// HEAD: the generation (resync) that last wrote it.
    gen: u16,
    kind: u8,
    /// HEAD: the packed length; CONT: the octets used here.
    len: u8,
    /// HEAD: the packed entry (when longer than `DATA`: the first
    /// continuation slot + 1 as a big-endian `u32`, then the first
    /// `DATA - 4` octets); CONT: the next octets.
    data: [u8; DATA],
}

impl Slot {
    /// A free slot.
    pub const EMPTY: Slot = Slot {
        bucket: 0,
        link: 0,
        gen: 0,
        kind: FREE,
        len: 0,
        data: [0; DATA],
    };
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::EMPTY
    }
}

/// Slots a packed record of `len` octets takes.
fn parts(len: usize) -> usize {
    if len <= DATA {
        1
    } else {
        1 + (len - (DATA - 4)).div_ceil(DATA)
    }
}

/// `index + 1` as stored in a link.
fn link_of(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(0)
}

/// The slot a link names.
fn slot_of(link: u32) -> Option<usize> {
    (link as usize).checked_sub(1)
}

/// Empties every slot, writing only those that are not empty already.
fn empty_all(slots: &mut [Slot]) {
    for s in slots.iter_mut() {
        if *s != Slot::EMPTY {
            *s = Slot::EMPTY;
        }
    }
}

/// The cache had no room for the entry: too few free slots, or its hash
/// chain is [`PROBE_LIMIT`] long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CacheFull;

/// Separate chaining over the caller's slots.
#[derive(Debug)]
pub(crate) struct Cache<'a> {
    slots: &'a mut [Slot],
    /// Entries (head slots).
    len: usize,
    /// Slots in use (heads and continuations).
    used: usize,
    /// Slots from here on were never used since the last clear.
    fresh: usize,
    /// First slot of the free list (+ 1), or 0.
    free: u32,
}

impl<'a> Cache<'a> {
    /// A cache over `slots`, emptied (only slots that are not empty are
    /// written: zeroed memory the caller never touched stays untouched,
    /// and so not resident, until entries arrive).
    pub(crate) fn new(slots: &'a mut [Slot]) -> Cache<'a> {
        empty_all(slots);
        Cache {
            slots,
            len: 0,
            used: 0,
            fresh: 0,
            free: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Slots usable (indices must fit a link).
    fn cap(&self) -> usize {
        self.slots.len().min(MAX_SLOTS)
    }

    fn home(&self, hash: u32) -> usize {
        // Multiply-shift: uniform over any capacity, no division.
        ((u64::from(hash) * self.cap() as u64) >> 32) as usize
    }

    /// The packed record whose head is slot `i`, copied into `buf`; its
    /// length.
    fn bytes(&self, i: usize, buf: &mut [u8; MAX_PACKED]) -> Option<usize> {
        let s = self.slots.get(i)?;
        if s.kind != HEAD {
            return None;
        }
        let len = usize::from(s.len);
        if len <= DATA {
            buf.get_mut(..len)?.copy_from_slice(s.data.get(..len)?);
            return Some(len);
        }
        let (first, rest) = s.data.split_first_chunk::<4>()?;
        let mut n = rest.len();
        buf.get_mut(..n)?.copy_from_slice(rest);
        let mut next = u32::from_be_bytes(*first);
        while n < len {
            let c = self.slots.get(slot_of(next)?)?;
            if c.kind != CONT {
                return None;
            }
            let k = usize::from(c.len).min(len - n);
            buf.get_mut(n..n + k)?.copy_from_slice(c.data.get(..k)?);
            n += k;
            next = c.link;
        }
        Some(len)
    }

    /// The entry whose head is slot `i`.
    fn entry_at(&self, i: usize) -> Option<Entry> {
        let mut e = Entry::new(NO_TUPLE, NO_TUPLE);
        self.entry_into(i, &mut e)?;
        Some(e)
    }

    /// The entry whose head is slot `i`, into `e` (every field written
    /// when it unpacks).
    fn entry_into(&self, i: usize, e: &mut Entry) -> Option<()> {
        let mut buf = [0; MAX_PACKED];
        let n = self.bytes(i, &mut buf)?;
        unpack_into(buf.get(..n)?, e)
    }

    /// The record of `key`, if cached: the slot before it in its chain
    /// (`None`: it is the first) and its slot; the entry is left in `e`.
    /// O([`PROBE_LIMIT`]).
    fn find(&self, key: &Key, hash: u32, e: &mut Entry) -> Option<(Option<usize>, usize)> {
        if self.cap() == 0 {
            return None;
        }
        let mut prev = None;
        let mut cur = self.slots.get(self.home(hash))?.bucket;
        for _ in 0..PROBE_LIMIT {
            let i = slot_of(cur)?;
            self.entry_into(i, e)?;
            if e.orig == key.orig && e.zone == key.zone {
                return Some((prev, i));
            }
            prev = Some(i);
            cur = self.slots.get(i)?.link;
        }
        None
    }

    /// Records in bucket `b`'s chain (up to [`PROBE_LIMIT`]).
    fn chain_len(&self, b: usize) -> usize {
        let mut n = 0;
        let mut cur = self.slots.get(b).map_or(0, |s| s.bucket);
        while let Some(i) = slot_of(cur) {
            if n >= PROBE_LIMIT {
                break;
            }
            n += 1;
            cur = self.slots.get(i).map_or(0, |s| s.link);
        }
        n
    }

    /// The entry cached under `key`.
    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        let mut e = Entry::new(NO_TUPLE, NO_TUPLE);
        self.find(key, key.hash32(), &mut e)?;
        Some(e)
    }

    /// Inserts or replaces the entry with `entry`'s key, tagged with `gen`.
    /// A replacement that does not fit keeps the old entry.
    pub(crate) fn upsert(&mut self, entry: &Entry, gen: u16) -> Result<(), CacheFull> {
        let mut buf = [0; MAX_PACKED];
        let n = pack(entry, &mut buf).ok_or(CacheFull)?;
        let bytes = buf.get(..n).ok_or(CacheFull)?;
        let need = parts(n);
        let key = entry.key();
        let hash = key.hash32();
        if self.cap() == 0 {
            return Err(CacheFull);
        }
        let home = self.home(hash);
        let free = self.cap() - self.used;
        let mut scratch = Entry::new(NO_TUPLE, NO_TUPLE);
        match self.find(&key, hash, &mut scratch) {
            Some((prev, i)) => {
                let old = self.slots.get(i).map_or(0, |s| parts(usize::from(s.len)));
                if free + old < need {
                    return Err(CacheFull);
                }
                self.unlink(home, prev, i);
                self.free_record(i);
            }
            None => {
                if free < need || self.chain_len(home) >= PROBE_LIMIT {
                    return Err(CacheFull);
                }
            }
        }
        self.insert(home, bytes, gen).ok_or(CacheFull)
    }

    /// Writes a record into free slots and puts it first in bucket
    /// `home`'s chain (the caller checked there is room).
    fn insert(&mut self, home: usize, bytes: &[u8], gen: u16) -> Option<()> {
        let n = bytes.len();
        let len = u8::try_from(n).ok()?;
        let mut next = 0;
        let (first, rest) = if n > DATA {
            bytes.split_at(DATA - 4)
        } else {
            (bytes, &[][..])
        };
        // Continuations from the last, each linking to the one after it.
        let chunks = rest.len().div_ceil(DATA);
        for c in (0..chunks).rev() {
            let chunk = rest.get(c * DATA..rest.len().min((c + 1) * DATA))?;
            let j = self.alloc()?;
            let s = self.slots.get_mut(j)?;
            s.kind = CONT;
            s.link = next;
            s.len = u8::try_from(chunk.len()).ok()?;
            s.data.get_mut(..chunk.len())?.copy_from_slice(chunk);
            next = link_of(j);
        }
        let h = self.alloc()?;
        let chain = self.slots.get(home)?.bucket;
        let s = self.slots.get_mut(h)?;
        s.kind = HEAD;
        s.gen = gen;
        s.len = len;
        s.link = chain;
        if n > DATA {
            s.data.get_mut(..4)?.copy_from_slice(&next.to_be_bytes());
            s.data.get_mut(4..)?.copy_from_slice(first);
        } else {
            s.data.get_mut(..n)?.copy_from_slice(first);
        }
        self.slots.get_mut(home)?.bucket = link_of(h);
        self.len += 1;
        Some(())
    }

    /// A free slot, taken.
    fn alloc(&mut self) -> Option<usize> {
        let i = match slot_of(self.free) {
            Some(i) => {
                self.free = self.slots.get(i)?.link;
                i
            }
            None if self.fresh < self.cap() => {
                self.fresh += 1;
                self.fresh - 1
            }
            None => return None,
        };
        self.used += 1;
        Some(i)
    }

    /// Gives slot `i` back (its bucket word stays).
    fn release(&mut self, i: usize) {
        let free = self.free;
        if let Some(s) = self.slots.get_mut(i) {
            *s = Slot {
                bucket: s.bucket,
                link: free,
                ..Slot::EMPTY
            };
            self.free = link_of(i);
            self.used = self.used.saturating_sub(1);
        }
    }

    /// Takes record `i` out of bucket `home`'s chain (`prev` before it).
    fn unlink(&mut self, home: usize, prev: Option<usize>, i: usize) {
        let next = self.slots.get(i).map_or(0, |s| s.link);
        let at = match prev {
            None => self.slots.get_mut(home).map(|s| &mut s.bucket),
            Some(p) => self.slots.get_mut(p).map(|s| &mut s.link),
        };
        if let Some(at) = at {
            *at = next;
        }
    }

    /// Frees record `i` (head and continuations); it is unlinked already.
    fn free_record(&mut self, i: usize) {
        let Some(s) = self.slots.get(i).copied() else {
            return;
        };
        if usize::from(s.len) > DATA {
            let mut next = s
                .data
                .first_chunk::<4>()
                .map_or(0, |b| u32::from_be_bytes(*b));
            for _ in 0..parts(usize::from(s.len)) - 1 {
                let Some(j) = slot_of(next) else { break };
                next = self.slots.get(j).map_or(0, |c| c.link);
                self.release(j);
            }
        }
        self.release(i);
        self.len = self.len.saturating_sub(1);
    }

    /// Removes the entry cached under `key`; whether there was one.
    pub(crate) fn remove(&mut self, key: &Key) -> bool {
        let hash = key.hash32();
        let mut scratch = Entry::new(NO_TUPLE, NO_TUPLE);
        match self.find(key, hash, &mut scratch) {
            Some((prev, i)) => {
                let home = self.home(hash);
                self.unlink(home, prev, i);
                self.free_record(i);
                true
            }
            None => false,
        }
    }

    /// Removes every entry whose generation is not `gen`; how many.
    /// O(slots); records never move, so each is seen once.
    pub(crate) fn purge_except(&mut self, gen: u16) -> usize {
        let mut removed = 0;
        for i in 0..self.fresh.min(self.cap()) {
            let stale = matches!(self.slots.get(i), Some(s) if s.kind == HEAD && s.gen != gen);
            if stale {
                if let Some(e) = self.entry_at(i) {
                    if self.remove(&e.key()) {
                        removed += 1;
                    }
                }
            }
        }
        removed
    }

    /// Empties the cache (writing only the slots in use).
    pub(crate) fn clear(&mut self) {
        empty_all(self.slots);
        self.len = 0;
        self.used = 0;
        self.fresh = 0;
        self.free = 0;
    }

    /// Every cached entry, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.fresh.min(self.cap())).filter_map(|i| self.entry_at(i))
    }

    /// Checks the table's invariants (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let cap = self.cap();
        let mut heads = 0;
        let mut used = 0;
        for (i, s) in self.slots.iter().enumerate() {
            if i >= self.fresh {
                assert_eq!(s.kind, FREE, "slot {i} past the fresh mark");
            }
            if s.kind != FREE {
                used += 1;
            }
            // Every chain: heads of this bucket, within the limit.
            let mut n = 0;
            let mut cur = s.bucket;
            while let Some(j) = slot_of(cur) {
                n += 1;
                assert!(n <= PROBE_LIMIT, "chain of bucket {i} too long");
                assert_eq!(self.slots[j].kind, HEAD);
                let e = self.entry_at(j).expect("unpacks");
                assert_eq!(self.home(e.key().hash32()), i);
                cur = self.slots[j].link;
            }
            if s.kind != HEAD {
                continue;
            }
            heads += 1;
            let e = self.entry_at(i).expect("unpacks");
            let mut got = Entry::new(NO_TUPLE, NO_TUPLE);
            let (_, at) = self
                .find(&e.key(), e.key().hash32(), &mut got)
                .expect("found");
            assert_eq!((at, got), (i, e));
        }
        assert_eq!(heads, self.len);
        assert_eq!(used, self.used);
        let mut free = 0;
        let mut cur = self.free;
        while let Some(j) = slot_of(cur) {
            assert_eq!(self.slots[j].kind, FREE);
            free += 1;
            assert!(free <= cap);
            cur = self.slots[j].link;
        }
        assert_eq!(free + self.used, self.fresh);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::packed::unpack;
    use core::mem::size_of;
    use core::net::{IpAddr, Ipv6Addr};
    use std::vec::Vec;

    use tandem_protocol::conntrack::{
        Entry, Manip, NatDelta, TcpInfo, TcpState, Tuple, IPPROTO_GRE, IPS_CONFIRMED,
    };

    use super::super::sim::{leak_cache, nat_entry, Rng};
    use super::super::window::TxSlot;
    use super::*;

    fn v6(n: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))
    }

    /// Entries of every shape: IPv4 and IPv6, NAT both ways, odd replies,
    /// marks, zones, wide window scales, unknown TCP states.
    fn shapes(rng: &mut Rng) -> Vec<Entry> {
        let mut out = Vec::new();
        for _ in 0..8 {
            out.push(nat_entry(rng));
        }
        let mut e = nat_entry(rng);
        e.id = None;
        e.mark = 0xdead_beef;
        e.zone = 300;
        e.tcp = Some(TcpInfo {
            state: TcpState::Unknown(200),
            wscale_orig: 14,
            wscale_reply: 200,
            flags_orig: 0xff,
            flags_reply: 1,
        });
        out.push(e);
        let o = Tuple::tcp(v6(1), v6(2), 40000, 443);
        let mut e = Entry::with_nat(
            o,
            NatDelta {
                snat: Some(Manip {
                    addr: v6(9),
                    port: 50000,
                }),
                dnat: Some(Manip {
                    addr: v6(7),
                    port: 8443,
                }),
            },
        );
        e.status = IPS_CONFIRMED;
        e.timeout = u32::MAX;
        e.tcp = Some(TcpInfo::new(TcpState::Established));
        out.push(e);
        // A reply that is no inverse plus NAT (other protocol, mixed
        // families): kept in full.
        let o = Tuple::new(v6(1), v6(2), IPPROTO_GRE, 0, 0);
        let mut e = Entry::new(o, Tuple::udp(v6(3), v6(4), 5, 6));
        e.id = Some(u32::MAX);
        e.mark = u32::MAX;
        e.zone = u16::MAX;
        e.status = u32::MAX;
        out.push(e);
        let o = Tuple::icmp(v6(1), v6(2), 7, 128, 0);
        out.push(Entry::with_nat(o, NatDelta::NONE));
        let mixed = Tuple::udp(v6(1), IpAddr::from([192, 0, 2, 1]), 1, 2);
        out.push(Entry::new(mixed, mixed.inverse()));
        out
    }

    #[test]
    fn empty_is_all_zero() {
        let Slot {
            bucket,
            link,
            gen,
            kind,
            len,
            data,
        } = Slot::EMPTY;
        assert_eq!((bucket, link, gen, kind, len), (0, 0, 0, 0, 0));
        assert_eq!(data, [0; DATA]);
        assert_eq!(size_of::<Slot>(), 4 + 4 + 2 + 1 + 1 + DATA, "no padding");
    }

    #[test]
    fn packing_is_lossless() {
        let mut rng = Rng::new(5);
        for e in shapes(&mut rng) {
            let mut buf = [0; MAX_PACKED];
            let n = pack(&e, &mut buf).unwrap();
            assert!(n <= 140, "{n}: {e:?}");
            assert_eq!(unpack(&buf[..n]), Some(e));
        }
    }

    #[test]
    fn every_shape_round_trips_through_the_cache() {
        let mut rng = Rng::new(6);
        let all = shapes(&mut rng);
        let mut cache = Cache::new(leak_cache(64));
        for e in &all {
            cache.upsert(e, 1).unwrap();
        }
        cache.check();
        for e in &all {
            assert_eq!(cache.get(&e.key()), Some(*e));
        }
        // The IPv6 entries take more than one slot each.
        assert!(cache.used > all.len());
        for e in all.iter().step_by(2) {
            assert!(cache.remove(&e.key()));
        }
        cache.check();
        assert_eq!(cache.purge_except(1), 0);
        assert_eq!(cache.purge_except(2), all.len() / 2);
        cache.check();
        assert_eq!((cache.len(), cache.used), (0, 0));
        // A full cache keeps an entry it cannot replace by a longer one.
        let mut small = Cache::new(leak_cache(1));
        let mut e = nat_entry(&mut rng);
        small.upsert(&e, 0).unwrap();
        let before = e;
        e.mark = u32::MAX;
        e.timeout = u32::MAX;
        e.tcp = Some(TcpInfo::new(TcpState::Unknown(99)).liberal());
        assert_eq!(small.upsert(&e, 0), Err(CacheFull));
        assert_eq!(small.get(&e.key()), Some(before));
        small.check();
    }

    /// Bytes per entry (printed for the RAM documentation:
    /// `cargo test -p tandem-core -- bytes_per_entry --nocapture`).
    #[test]
    fn bytes_per_entry() {
        let slot = size_of::<Slot>();
        let tx = size_of::<TxSlot>();
        let mut rng = Rng::new(7);
        let mut buf = [0; MAX_PACKED];
        let mut e = nat_entry(&mut rng);
        e.id = None;
        e.timeout = 432_000;
        e.tcp = Some(TcpInfo::new(TcpState::Established));
        let nat_tcp = pack(&e, &mut buf).unwrap();
        // A routed (not NAT'd) TCP/IPv6 connection.
        let mut v6e = Entry::with_nat(Tuple::tcp(v6(1), v6(2), 40000, 443), NatDelta::NONE);
        v6e.timeout = 432_000;
        v6e.status = IPS_CONFIRMED;
        v6e.tcp = Some(TcpInfo::new(TcpState::Established));
        let v6_len = pack(&v6e, &mut buf).unwrap();
        let worst = shapes(&mut rng)
            .iter()
            .map(|e| pack(e, &mut buf).unwrap())
            .max()
            .unwrap();
        let cap = 16_384usize;
        let slots = cap + cap.div_ceil(4);
        std::println!(
            "conntrack cache slot {slot} B (record {DATA} B); NAT'd TCP/IPv4 entry packed in \
             {nat_tcp} B = 1 slot; TCP/IPv6 entry {v6_len} B = {} slots; \
             longest {worst} B = {} slots; {slots} slots for conntrack_capacity {cap}: {} B; \
             retransmit window slot {tx} B",
            parts(v6_len),
            parts(worst),
            slots * slot
        );
        assert_eq!(slot, 48);
        assert_eq!(parts(nat_tcp), 1);
        assert!(parts(v6_len) <= 2);
    }
}
