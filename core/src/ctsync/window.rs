//! The master's retransmit window: reliable records not yet acknowledged
//! by every live peer, in caller storage, numbered on the stream.

use tandem_protocol::conntrack::{Entry, Key};
use tandem_protocol::sync::{seq_after, Record};

/// A reliable record waiting in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxItem {
    New(Entry),
    Update(Entry),
    Destroy(Key),
    ResyncBegin,
    ResyncEnd,
}

impl TxItem {
    pub(crate) fn record(&self) -> Record {
        match *self {
            TxItem::New(e) => Record::CtNew(e),
            TxItem::Update(e) => Record::CtUpdate(e),
            TxItem::Destroy(k) => Record::CtDestroy(k),
            TxItem::ResyncBegin => Record::ResyncBegin,
            TxItem::ResyncEnd => Record::ResyncEnd,
        }
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
    }
}
