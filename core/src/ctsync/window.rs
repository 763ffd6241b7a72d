//! The retransmit window: reliable records not yet acknowledged by every
//! live peer, in caller storage, numbered on the stream. Lease records
//! keep only a reference in their window slot; the lease itself waits,
//! compactly encoded, in a byte ring ([`LeaseRing`]) beside it.
//!
//! Conntrack records are kept packed ([`super::packed`]) in 40-octet
//! slots: a NAT'd IPv4 connection takes one slot, an IPv6 one two or
//! three (consecutive, wrapping around the end). Every slot carries its
//! record's number, so the slot of a number is found directly while every
//! record takes one slot, and by binary search (O(log slots)) otherwise.

use tandem_protocol::conntrack::Entry;
use tandem_protocol::conntrack::Key;
use tandem_protocol::lease::{Duid, Lease};
use tandem_protocol::sync::{seq_after, FrameWriter, PushError, Record};

#[cfg(test)]
use super::packed::unpack;
#[cfg(test)]
use super::packed::unpack_key;
use super::packed::{pack, pack_key, unpack_into, unpack_key_into, MAX_PACKED, NO_TUPLE};
use super::EventKind;

/// What a lease record does on the receiving side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeaseOp {
    Add,
    Change,
    Delete,
    /// The server DUID: the ring holds its raw octets, not a lease.
    Duid,
}

/// A reliable record waiting in the window (tests push and read these;
/// the node uses the `push_*` methods and [`Window::push_to`]).
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxItem {
    New(Entry),
    Update(Entry),
    Destroy(Key),
    ResyncBegin,
    ResyncEnd,
    /// A lease record; the lease is `ring[off..off + len]`, encoded.
    Lease {
        op: LeaseOp,
        off: u32,
        len: u16,
    },
}

/// A FIFO byte ring for the encoded leases of the window's lease records
/// (caller storage). Allocations are contiguous and freed in the order
/// made, which is the window's order.
#[derive(Debug)]
pub(crate) struct LeaseRing<'a> {
    buf: &'a mut [u8],
    /// Oldest byte in use.
    head: usize,
    /// Next byte to allocate.
    tail: usize,
    /// The data wrapped: it runs `head..wrap_end`, then `0..tail`.
    wrapped: bool,
    wrap_end: usize,
    /// Leases held.
    items: usize,
}

impl<'a> LeaseRing<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> LeaseRing<'a> {
        LeaseRing {
            buf,
            head: 0,
            tail: 0,
            wrapped: false,
            wrap_end: 0,
            items: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn items(&self) -> usize {
        self.items
    }

    /// The longest allocation that succeeds now.
    pub(crate) fn contiguous(&self) -> usize {
        let cap = self.buf.len();
        if self.items == 0 {
            cap
        } else if self.wrapped {
            self.head.saturating_sub(self.tail)
        } else {
            cap.saturating_sub(self.tail).max(self.head)
        }
    }

    /// Stores `lease`; its offset and length, or `None` without room.
    fn put(&mut self, lease: &Lease) -> Option<(u32, u16)> {
        self.put_with(lease.encoded_len(), &mut |b| lease.encode(b).ok())
    }

    /// Stores raw `bytes` (a DUID); its offset and length.
    fn put_raw(&mut self, bytes: &[u8]) -> Option<(u32, u16)> {
        self.put_with(bytes.len(), &mut |b| {
            b.copy_from_slice(bytes);
            Some(bytes.len())
        })
    }

    /// Allocates `len` bytes, fills them with `fill` (which returns the
    /// length used), and returns their offset and length.
    fn put_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> Option<(u32, u16)> {
        let cap = self.buf.len();
        if self.items == 0 {
            self.head = 0;
            self.tail = 0;
            self.wrapped = false;
        }
        let off = if self.wrapped {
            (self.head.saturating_sub(self.tail) >= len).then_some(self.tail)?
        } else if cap.saturating_sub(self.tail) >= len {
            self.tail
        } else if self.head >= len {
            self.wrapped = true;
            self.wrap_end = self.tail;
            0
        } else {
            return None;
        };
        let n = fill(self.buf.get_mut(off..off + len)?)?;
        self.tail = off + n;
        self.items += 1;
        Some((u32::try_from(off).ok()?, u16::try_from(n).ok()?))
    }

    /// Takes back the allocation just made at `off`.
    fn unput(&mut self, off: u32) {
        self.items = self.items.saturating_sub(1);
        self.tail = off as usize;
        if self.wrapped && self.tail == 0 {
            self.wrapped = false;
            self.tail = self.wrap_end;
        }
        if self.items == 0 {
            self.clear();
        }
    }

    fn get_raw(&self, off: u32, len: u16) -> Option<&[u8]> {
        let off = off as usize;
        self.buf.get(off..off + usize::from(len))
    }

    /// Frees the oldest allocation, `off..off + len`.
    fn free(&mut self, off: u32, len: u16) {
        self.items = self.items.saturating_sub(1);
        if self.items == 0 {
            self.head = 0;
            self.tail = 0;
            self.wrapped = false;
            return;
        }
        self.head = off as usize + usize::from(len);
        if self.wrapped && self.head >= self.wrap_end {
            self.head = 0;
            self.wrapped = false;
        }
    }

    fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.wrapped = false;
        self.items = 0;
    }
}

/// Record octets in one window slot.
const TX_DATA: usize = 34;

// Slot kinds: a record's first slot says what it is.
const K_FREE: u8 = 0;
const K_NEW: u8 = 1;
const K_UPDATE: u8 = 2;
const K_DESTROY: u8 = 3;
const K_BEGIN: u8 = 4;
const K_END: u8 = 5;
const K_LEASE_ADD: u8 = 6;
const K_LEASE_CHANGE: u8 = 7;
const K_LEASE_DELETE: u8 = 8;
const K_LEASE_DUID: u8 = 9;
/// A further slot of a packed record.
const K_CONT: u8 = 10;

/// The slot kind of a lease record.
fn lease_kind(op: LeaseOp) -> u8 {
    match op {
        LeaseOp::Add => K_LEASE_ADD,
        LeaseOp::Change => K_LEASE_CHANGE,
        LeaseOp::Delete => K_LEASE_DELETE,
        LeaseOp::Duid => K_LEASE_DUID,
    }
}

/// A lease record's packed octets: its ring offset and length.
fn lease_bytes(off: u32, len: u16) -> [u8; 6] {
    let [a, b, c, d] = off.to_be_bytes();
    let [e, f] = len.to_be_bytes();
    [a, b, c, d, e, f]
}

/// A lease record's ring offset and length (its packed octets).
fn lease_ref(bytes: &[u8]) -> Option<(u32, u16)> {
    let (off, rest) = bytes.split_first_chunk::<4>()?;
    let (len, _) = rest.split_first_chunk::<2>()?;
    Some((u32::from_be_bytes(*off), u16::from_be_bytes(*len)))
}

/// Slots a record of `len` packed octets takes.
fn tx_parts(len: usize) -> usize {
    len.div_ceil(TX_DATA).max(1)
}

/// One slot of the retransmit window (40 octets). Storage is the caller's
/// (`&mut [TxSlot]`); its contents are private. A conntrack record takes
/// one slot when packed into at most 34 octets (a NAT'd IPv4 connection:
/// about 30 with the kernel's id), otherwise two to five (IPv6); any other
/// record one.
///
/// [`TxSlot::EMPTY`] is all zero bits (only integer fields), so zeroed
/// memory is a valid array of free slots: storage from a zeroing
/// allocator stays untouched, and so not resident, until records arrive.
///
/// Keep every field an integer or an array of integers: linux-port allocates
/// these slots as zeroed memory (`sys::zeroed` relies on all-zero bits being valid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSlot {
    /// The record's number (in every slot of the record).
    seq: u32,
    kind: u8,
    /// First slot: the packed length; further slots: the octets used.
    len: u8,
    /// The packed record (a lease record: the ring offset, big-endian
    /// `u32`, and length, `u16`).
    data: [u8; TX_DATA],
}

impl TxSlot {
    /// A free slot.
    pub const EMPTY: TxSlot = TxSlot {
        seq: 0,
        kind: K_FREE,
        len: 0,
        data: [0; TX_DATA],
    };

    /// Slots the record starting here takes.
    fn parts(&self) -> usize {
        match self.kind {
            K_NEW | K_UPDATE | K_DESTROY => tx_parts(usize::from(self.len)),
            _ => 1,
        }
    }
}

impl Default for TxSlot {
    fn default() -> TxSlot {
        TxSlot::EMPTY
    }
}

/// A ring of records numbered `base .. base + len`.
#[derive(Debug)]
pub(crate) struct Window<'a> {
    slots: &'a mut [TxSlot],
    /// The oldest record's first slot.
    start: usize,
    /// Slots in use.
    used: usize,
    /// Records held.
    len: usize,
    base: u32,
    ring: LeaseRing<'a>,
}

impl<'a> Window<'a> {
    /// An empty window over `slots`; the first record gets number 1.
    pub(crate) fn new(slots: &'a mut [TxSlot]) -> Window<'a> {
        // Only slots that are not empty are written: zeroed memory the
        // caller never touched stays untouched (not resident).
        for s in slots.iter_mut() {
            if *s != TxSlot::EMPTY {
                *s = TxSlot::EMPTY;
            }
        }
        Window {
            slots,
            start: 0,
            used: 0,
            len: 0,
            base: 1,
            ring: LeaseRing::new(&mut []),
        }
    }

    /// Gives lease records their byte ring. Lease records already held
    /// (in the previous ring) are dropped from the window first, with
    /// everything after them: the caller restarts streaming.
    pub(crate) fn set_lease_ring(&mut self, buf: &'a mut [u8]) {
        if self.ring.items() > 0 {
            self.clear();
        }
        self.ring = LeaseRing::new(buf);
    }

    pub(crate) fn ring(&self) -> &LeaseRing<'a> {
        &self.ring
    }

    /// Appends a lease record; its number, or `None` when the window or
    /// the ring is full.
    pub(crate) fn push_lease(&mut self, op: LeaseOp, lease: &Lease) -> Option<u32> {
        if self.used >= self.slots.len() {
            return None;
        }
        let at = self.ring.put(lease)?;
        self.push_ring(op, at)
    }

    /// Appends a server-DUID record (its octets in the ring); its number,
    /// or `None` when the window or the ring is full.
    pub(crate) fn push_duid(&mut self, duid: &Duid) -> Option<u32> {
        if self.used >= self.slots.len() {
            return None;
        }
        let at = self.ring.put_raw(duid.as_slice())?;
        self.push_ring(LeaseOp::Duid, at)
    }

    /// Appends a lease record for the ring's allocation `(off, len)`
    /// (taken back when the window has no room).
    fn push_ring(&mut self, op: LeaseOp, (off, len): (u32, u16)) -> Option<u32> {
        let seq = self.push_bytes(lease_kind(op), &lease_bytes(off, len));
        if seq.is_none() {
            self.ring.unput(off);
        }
        seq
    }

    /// Appends a conntrack event record (a destroy keeps only the key).
    pub(crate) fn push_entry(&mut self, kind: EventKind, e: &Entry) -> Option<u32> {
        let mut buf = [0; MAX_PACKED];
        let (k, n) = match kind {
            EventKind::New => (K_NEW, pack(e, &mut buf)?),
            EventKind::Update => (K_UPDATE, pack(e, &mut buf)?),
            EventKind::Destroy => (K_DESTROY, pack_key(&e.key(), &mut buf)?),
        };
        self.push_bytes(k, buf.get(..n)?)
    }

    /// Appends a resync-begin (or, with `end`, resync-end) record.
    pub(crate) fn push_resync(&mut self, end: bool) -> Option<u32> {
        self.push_bytes(if end { K_END } else { K_BEGIN }, &[])
    }

    /// Pushes the record numbered `seq` into `w`: `None` when it is not
    /// held or cannot be read back, else what the push did.
    pub(crate) fn push_to(
        &self,
        seq: u32,
        w: &mut FrameWriter<'_>,
    ) -> Option<Result<(), PushError>> {
        self.with_record(seq, &mut |r| w.push(r))
    }

    /// The record numbered `seq`, if held (tests).
    #[cfg(test)]
    pub(crate) fn record(&self, seq: u32) -> Option<Record> {
        let mut out = None;
        let _ = self.with_record(seq, &mut |r| {
            out = Some(*r);
            Ok(())
        });
        out
    }

    /// Calls `f` with the record numbered `seq` (built in place: a lease
    /// record is some 370 octets, not to be moved around): `None` when it
    /// is not held or cannot be read back, else what `f` returned.
    fn with_record(
        &self,
        seq: u32,
        f: &mut dyn FnMut(&Record) -> Result<(), PushError>,
    ) -> Option<Result<(), PushError>> {
        let mut buf = [0; MAX_PACKED];
        let (kind, bytes) = self.bytes(seq, &mut buf)?;
        // One record slot, its variant set first and its fields filled
        // in place.
        let mut r = Record::ResyncRequest;
        match kind {
            K_NEW | K_UPDATE => {
                let e = Entry::new(NO_TUPLE, NO_TUPLE);
                r = if kind == K_NEW {
                    Record::CtNew(e)
                } else {
                    Record::CtUpdate(e)
                };
                if let Record::CtNew(e) | Record::CtUpdate(e) = &mut r {
                    unpack_into(bytes, e)?;
                }
            }
            K_DESTROY => {
                r = Record::CtDestroy(Key {
                    orig: NO_TUPLE,
                    zone: 0,
                });
                if let Record::CtDestroy(k) = &mut r {
                    unpack_key_into(bytes, k)?;
                }
            }
            K_BEGIN => r = Record::ResyncBegin,
            K_END => r = Record::ResyncEnd,
            K_LEASE_DUID => {
                let (off, len) = lease_ref(bytes)?;
                r = Record::LeaseDuid(Duid::from_slice(self.ring.get_raw(off, len)?).ok()?);
            }
            K_LEASE_ADD..=K_LEASE_DELETE => {
                let (off, len) = lease_ref(bytes)?;
                // Wire tags 9 to 11: add, change, delete.
                let tag = u32::from(kind - K_LEASE_ADD) + 9;
                r.set_lease(tag, self.ring.get_raw(off, len)?)?;
            }
            _ => return None,
        }
        Some(f(&r))
    }

    /// The oldest number still held (== `head` when empty).
    pub(crate) fn base(&self) -> u32 {
        self.base
    }

    /// The number the next record will take.
    pub(crate) fn head(&self) -> u32 {
        self.base.wrapping_add(self.len as u32)
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Free slots (a record takes at least one).
    pub(crate) fn space(&self) -> usize {
        self.slots.len().saturating_sub(self.used)
    }

    /// Appends `item`; its number, or `None` when the window has not
    /// slots enough for it (tests; the node uses the `push_*` methods).
    #[cfg(test)]
    pub(crate) fn push(&mut self, item: TxItem) -> Option<u32> {
        match item {
            TxItem::New(e) => self.push_entry(EventKind::New, &e),
            TxItem::Update(e) => self.push_entry(EventKind::Update, &e),
            TxItem::Destroy(k) => {
                let mut buf = [0; MAX_PACKED];
                let n = pack_key(&k, &mut buf)?;
                self.push_bytes(K_DESTROY, buf.get(..n)?)
            }
            TxItem::ResyncBegin => self.push_resync(false),
            TxItem::ResyncEnd => self.push_resync(true),
            TxItem::Lease { op, off, len } => {
                self.push_bytes(lease_kind(op), &lease_bytes(off, len))
            }
        }
    }

    /// Appends a record of `kind` packed as `buf`; its number, or `None`
    /// when the window has not slots enough for it.
    fn push_bytes(&mut self, kind: u8, buf: &[u8]) -> Option<u32> {
        let n = buf.len();
        let cap = self.slots.len();
        let need = tx_parts(n);
        if self.used + need > cap {
            return None;
        }
        let seq = self.head();
        let first = (self.start + self.used) % cap;
        for k in 0..need {
            let chunk = buf.get(k * TX_DATA..n.min((k + 1) * TX_DATA))?;
            let s = self.slots.get_mut((first + k) % cap)?;
            *s = TxSlot {
                seq,
                kind: if k == 0 { kind } else { K_CONT },
                len: u8::try_from(if k == 0 { n } else { chunk.len() }).ok()?,
                ..TxSlot::EMPTY
            };
            s.data.get_mut(..chunk.len())?.copy_from_slice(chunk);
        }
        self.used += need;
        self.len += 1;
        Some(seq)
    }

    /// Whether the record numbered `seq` is held.
    pub(crate) fn contains(&self, seq: u32) -> bool {
        (seq.wrapping_sub(self.base) as usize) < self.len
    }

    /// The first slot of the record numbered `seq`, if held.
    fn slot_of(&self, seq: u32) -> Option<usize> {
        let off = seq.wrapping_sub(self.base) as usize;
        if off >= self.len {
            return None;
        }
        let cap = self.slots.len();
        let rel = |p: usize| {
            self.slots
                .get((self.start + p) % cap)
                .map_or(usize::MAX, |s| s.seq.wrapping_sub(self.base) as usize)
        };
        let pos = if self.used == self.len {
            // One slot a record.
            off
        } else {
            // The first slot whose record is not before `seq`.
            let (mut lo, mut hi) = (0, self.used);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if rel(mid) < off {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let i = (self.start + pos) % cap;
        let s = self.slots.get(i)?;
        (s.seq == seq && s.kind != K_CONT && s.kind != K_FREE).then_some(i)
    }

    /// The kind and packed octets (copied into `buf`) of the record
    /// numbered `seq`, if held.
    fn bytes<'b>(&self, seq: u32, buf: &'b mut [u8; MAX_PACKED]) -> Option<(u8, &'b [u8])> {
        let i = self.slot_of(seq)?;
        let s = self.slots.get(i)?;
        let n = usize::from(s.len);
        let cap = self.slots.len();
        for k in 0..s.parts() {
            let c = self.slots.get((i + k) % cap)?;
            let used = n.saturating_sub(k * TX_DATA).min(TX_DATA);
            buf.get_mut(k * TX_DATA..k * TX_DATA + used)?
                .copy_from_slice(c.data.get(..used)?);
        }
        Some((s.kind, buf.get(..n)?))
    }

    /// The record numbered `seq`, if held, as pushed.
    #[cfg(test)]
    pub(crate) fn get(&self, seq: u32) -> Option<TxItem> {
        let mut buf = [0; MAX_PACKED];
        let (kind, bytes) = self.bytes(seq, &mut buf)?;
        let lease = |op| {
            let (off, len) = lease_ref(bytes)?;
            Some(TxItem::Lease { op, off, len })
        };
        match kind {
            K_NEW => unpack(bytes).map(TxItem::New),
            K_UPDATE => unpack(bytes).map(TxItem::Update),
            K_DESTROY => unpack_key(bytes).map(TxItem::Destroy),
            K_BEGIN => Some(TxItem::ResyncBegin),
            K_END => Some(TxItem::ResyncEnd),
            K_LEASE_ADD => lease(LeaseOp::Add),
            K_LEASE_CHANGE => lease(LeaseOp::Change),
            K_LEASE_DELETE => lease(LeaseOp::Delete),
            K_LEASE_DUID => lease(LeaseOp::Duid),
            _ => None,
        }
    }

    /// Whether `seq` is held or is the head (a valid resend position).
    pub(crate) fn holds(&self, seq: u32) -> bool {
        (seq.wrapping_sub(self.base) as usize) <= self.len
    }

    /// Drops every record numbered before `seq` (clamped to the head).
    pub(crate) fn release_to(&mut self, seq: u32) {
        let cap = self.slots.len();
        while self.len > 0 && seq_after(seq, self.base) {
            if let Some(s) = self.slots.get(self.start) {
                if (K_LEASE_ADD..=K_LEASE_DUID).contains(&s.kind) {
                    let (off, len) = lease_ref(&s.data).unwrap_or((0, 0));
                    self.ring.free(off, len);
                }
            }
            let parts = self
                .slots
                .get(self.start)
                .map_or(1, TxSlot::parts)
                .min(self.used);
            for k in 0..parts {
                if let Some(s) = self.slots.get_mut((self.start + k) % cap) {
                    *s = TxSlot::EMPTY;
                }
            }
            self.start = (self.start + parts) % cap;
            self.used -= parts;
            self.len -= 1;
            self.base = self.base.wrapping_add(1);
        }
    }

    /// Drops every record; numbering continues from the head.
    pub(crate) fn clear(&mut self) {
        let head = self.head();
        self.release_to(head);
        self.start = 0;
        self.used = 0;
        self.ring.clear();
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::net::{IpAddr, Ipv6Addr};
    use std::collections::VecDeque;

    use tandem_protocol::conntrack::{Entry, NatDelta, TcpInfo, TcpState, Tuple};

    use super::super::sim::{leak_window, nat_entry, Rng};
    use super::*;

    fn v6_entry(rng: &mut Rng) -> Entry {
        let a = IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            0,
            rng.next() as u16,
        ));
        let b = IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            1,
            0,
            0,
            0,
            0,
            rng.next() as u16,
        ));
        let mut e = Entry::with_nat(Tuple::tcp(a, b, rng.next() as u16, 443), NatDelta::NONE);
        e.timeout = rng.next() as u32;
        e.mark = rng.next() as u32;
        e.tcp = Some(TcpInfo::new(TcpState::Established));
        e.id = Some(rng.next() as u32);
        e
    }

    /// Records of one to several slots, pushed and released in random
    /// order against a model, wrapping around the slots many times.
    #[test]
    fn packed_records_match_a_model() {
        for (cap, seed) in [(1usize, 1u64), (3, 2), (7, 3), (64, 4)] {
            let mut w = Window::new(leak_window(cap));
            let mut model: VecDeque<(u32, TxItem)> = VecDeque::new();
            let mut rng = Rng::new(seed);
            for _ in 0..cap * 200 {
                if rng.below(3) > 0 {
                    let item = match rng.below(6) {
                        0 => TxItem::New(nat_entry(&mut rng)),
                        1 => TxItem::Update(v6_entry(&mut rng)),
                        2 => TxItem::Destroy(v6_entry(&mut rng).key()),
                        3 => TxItem::Destroy(nat_entry(&mut rng).key()),
                        4 => TxItem::New(v6_entry(&mut rng)),
                        _ => TxItem::ResyncBegin,
                    };
                    match w.push(item) {
                        Some(seq) => {
                            assert_eq!(seq, w.head().wrapping_sub(1));
                            model.push_back((seq, item));
                        }
                        None => assert!(w.space() < 5, "{}", w.space()),
                    }
                } else {
                    let upto = w.base().wrapping_add(rng.below(4) as u32);
                    w.release_to(upto);
                    while model.front().is_some_and(|(s, _)| seq_after(upto, *s)) {
                        model.pop_front();
                    }
                }
                assert_eq!(w.len(), model.len());
                assert!(w.used <= cap);
                for (seq, item) in &model {
                    assert_eq!(w.get(*seq), Some(*item));
                }
                assert!(w.get(w.head()).is_none());
                assert!(w.get(w.base().wrapping_sub(1)).is_none());
            }
            w.clear();
            assert_eq!((w.len(), w.used, w.space()), (0, 0, cap));
        }
    }

    #[test]
    fn slot_size() {
        let mut rng = Rng::new(9);
        let mut buf = [0; MAX_PACKED];
        let n = pack(&nat_entry(&mut rng), &mut buf).unwrap();
        std::println!(
            "retransmit window slot {} B (record {TX_DATA} B); a NAT'd TCP/IPv4 event with \
             its kernel id packs into {n} B = {} slot; 4096 slots: {} B",
            core::mem::size_of::<TxSlot>(),
            tx_parts(n),
            4096 * core::mem::size_of::<TxSlot>()
        );
        assert_eq!(core::mem::size_of::<TxSlot>(), 40);
        assert_eq!(tx_parts(n), 1);
    }
}
