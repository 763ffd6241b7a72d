//! The retransmit window: reliable records not yet acknowledged by every
//! live peer, in caller storage, numbered on the stream. Lease records
//! keep only a reference in their window slot; the lease itself waits,
//! compactly encoded, in a byte ring ([`LeaseRing`]) beside it.

use tandem_protocol::conntrack::{Entry, Key};
use tandem_protocol::lease::{Duid, Lease};
use tandem_protocol::sync::{seq_after, Record};

/// What a lease record does on the receiving side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeaseOp {
    Add,
    Change,
    Delete,
    /// The server DUID: the ring holds its raw octets, not a lease.
    Duid,
}

/// A reliable record waiting in the window.
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

impl TxItem {
    /// The record, for every item but a lease (see [`Window::record`]).
    pub(crate) fn record(&self) -> Option<Record> {
        Some(match *self {
            TxItem::New(e) => Record::CtNew(e),
            TxItem::Update(e) => Record::CtUpdate(e),
            TxItem::Destroy(k) => Record::CtDestroy(k),
            TxItem::ResyncBegin => Record::ResyncBegin,
            TxItem::ResyncEnd => Record::ResyncEnd,
            TxItem::Lease { .. } => return None,
        })
    }
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
        self.put_with(lease.encoded_len(), |b| lease.encode(b).ok())
    }

    /// Stores raw `bytes` (a DUID); its offset and length.
    fn put_raw(&mut self, bytes: &[u8]) -> Option<(u32, u16)> {
        self.put_with(bytes.len(), |b| {
            b.copy_from_slice(bytes);
            Some(bytes.len())
        })
    }

    /// Allocates `len` bytes, fills them with `fill` (which returns the
    /// length used), and returns their offset and length.
    fn put_with(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Option<usize>,
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

    fn get(&self, off: u32, len: u16) -> Option<Lease> {
        Lease::decode(self.get_raw(off, len)?).ok().map(|(l, _)| l)
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

/// One slot of the retransmit window. Storage is the caller's
/// (`&mut [TxSlot]`); its contents are private.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSlot(Option<TxItem>);

impl TxSlot {
    /// A free slot.
    pub const EMPTY: TxSlot = TxSlot(None);
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
    start: usize,
    len: usize,
    base: u32,
    ring: LeaseRing<'a>,
}

impl<'a> Window<'a> {
    /// An empty window over `slots`; the first record gets number 1.
    pub(crate) fn new(slots: &'a mut [TxSlot]) -> Window<'a> {
        slots.fill(TxSlot::EMPTY);
        Window {
            slots,
            start: 0,
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
        if self.len >= self.slots.len() {
            return None;
        }
        let (off, len) = self.ring.put(lease)?;
        let seq = self.push(TxItem::Lease { op, off, len });
        if seq.is_none() {
            self.ring.unput(off);
        }
        seq
    }

    /// Appends a server-DUID record (its octets in the ring); its number,
    /// or `None` when the window or the ring is full.
    pub(crate) fn push_duid(&mut self, duid: &Duid) -> Option<u32> {
        if self.len >= self.slots.len() {
            return None;
        }
        let (off, len) = self.ring.put_raw(duid.as_slice())?;
        let seq = self.push(TxItem::Lease {
            op: LeaseOp::Duid,
            off,
            len,
        });
        if seq.is_none() {
            self.ring.unput(off);
        }
        seq
    }

    /// The record numbered `seq`, if held.
    pub(crate) fn record(&self, seq: u32) -> Option<Record> {
        match *self.get(seq)? {
            TxItem::Lease {
                op: LeaseOp::Duid,
                off,
                len,
            } => Duid::from_slice(self.ring.get_raw(off, len)?)
                .ok()
                .map(Record::LeaseDuid),
            TxItem::Lease { op, off, len } => {
                let l = self.ring.get(off, len)?;
                Some(match op {
                    LeaseOp::Add => Record::LeaseAdd(l),
                    LeaseOp::Change => Record::LeaseChange(l),
                    LeaseOp::Delete | LeaseOp::Duid => Record::LeaseDelete(l),
                })
            }
            item => item.record(),
        }
    }

    /// The oldest number still held (== `head` when empty).
    pub(crate) fn base(&self) -> u32 {
        self.base
    }

    /// The number the next record will take.
    pub(crate) fn head(&self) -> u32 {
        self.base.wrapping_add(self.len as u32)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Free slots.
    pub(crate) fn space(&self) -> usize {
        self.slots.len() - self.len
    }

    /// Appends `item`; its number, or `None` when the window is full.
    pub(crate) fn push(&mut self, item: TxItem) -> Option<u32> {
        let cap = self.slots.len();
        if self.len >= cap {
            return None;
        }
        let seq = self.head();
        let idx = (self.start + self.len) % cap;
        *self.slots.get_mut(idx)? = TxSlot(Some(item));
        self.len += 1;
        Some(seq)
    }

    /// The record numbered `seq`, if held.
    pub(crate) fn get(&self, seq: u32) -> Option<&TxItem> {
        let off = seq.wrapping_sub(self.base) as usize;
        if off >= self.len {
            return None;
        }
        let idx = (self.start + off) % self.slots.len();
        self.slots.get(idx)?.0.as_ref()
    }

    /// Whether `seq` is held or is the head (a valid resend position).
    pub(crate) fn holds(&self, seq: u32) -> bool {
        (seq.wrapping_sub(self.base) as usize) <= self.len
    }

    /// Drops every record numbered before `seq` (clamped to the head).
    pub(crate) fn release_to(&mut self, seq: u32) {
        let cap = self.slots.len();
        while self.len > 0 && seq_after(seq, self.base) {
            if let Some(s) = self.slots.get_mut(self.start) {
                if let TxSlot(Some(TxItem::Lease { off, len, .. })) = *s {
                    self.ring.free(off, len);
                }
                *s = TxSlot::EMPTY;
            }
            self.start = (self.start + 1) % cap;
            self.len -= 1;
            self.base = self.base.wrapping_add(1);
        }
    }

    /// Drops every record; numbering continues from the head.
    pub(crate) fn clear(&mut self) {
        let head = self.head();
        self.release_to(head);
        self.start = 0;
        self.ring.clear();
    }
}
