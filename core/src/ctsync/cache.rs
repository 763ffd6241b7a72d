//! The backup's external cache: conntrack entries in caller storage, open
//! addressing with linear probing.

use tandem_protocol::conntrack::{Entry, Key};

/// Longest probe sequence: an entry lives at most this many slots after
/// its home slot. An insert that finds no free slot within it fails
/// (counted in [`Counters::cache_full`](super::Counters::cache_full)), so
/// lookups cost at most `PROBE_LIMIT` comparisons.
/// With linear probing that starts to happen around 85-90 % load: give the
/// cache about a quarter more slots than the entries it must hold.
pub const PROBE_LIMIT: usize = 64;

/// One slot of the cache. Storage is the caller's (`&mut [Slot]`, e.g.
/// `vec![Slot::EMPTY; n]` or a `static` array); its contents are private.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    hash: u32,
    gen: u16,
    entry: Option<Entry>,
}

impl Slot {
    /// A free slot.
    pub const EMPTY: Slot = Slot {
        hash: 0,
        gen: 0,
        entry: None,
    };
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::EMPTY
    }
}

/// The cache had no free slot within [`PROBE_LIMIT`] of the entry's home.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CacheFull;

/// Open addressing over the caller's slots. Deletion shifts later entries
/// back (no tombstones), so a free slot always ends a probe sequence.
#[derive(Debug)]
pub(crate) struct Cache<'a> {
    slots: &'a mut [Slot],
    len: usize,
}

impl<'a> Cache<'a> {
    /// A cache over `slots`, emptied.
    pub(crate) fn new(slots: &'a mut [Slot]) -> Cache<'a> {
        slots.fill(Slot::EMPTY);
        Cache { slots, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn home(&self, hash: u32) -> usize {
        // Multiply-shift: uniform over any capacity, no division.
        ((u64::from(hash) * self.slots.len() as u64) >> 32) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 >= self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// The slot of `key`, if cached. O(PROBE_LIMIT).
    fn find(&self, key: &Key, hash: u32) -> Option<usize> {
        let cap = self.slots.len();
        if cap == 0 {
            return None;
        }
        let mut i = self.home(hash);
        for _ in 0..PROBE_LIMIT.min(cap) {
            let s = self.slots.get(i)?;
            match &s.entry {
                None => return None,
                Some(e) if s.hash == hash && e.key() == *key => return Some(i),
                Some(_) => {}
            }
            i = self.next(i);
        }
        None
    }

    /// The entry cached under `key`.
    pub(crate) fn get(&self, key: &Key) -> Option<&Entry> {
        let i = self.find(key, key.hash32())?;
        self.slots.get(i)?.entry.as_ref()
    }

    /// Inserts or replaces the entry with `entry`'s key, tagged with `gen`.
    pub(crate) fn upsert(&mut self, entry: &Entry, gen: u16) -> Result<(), CacheFull> {
        let key = entry.key();
        let hash = key.hash32();
        let cap = self.slots.len();
        if cap == 0 {
            return Err(CacheFull);
        }
        let mut i = self.home(hash);
        for _ in 0..PROBE_LIMIT.min(cap) {
            let Some(s) = self.slots.get_mut(i) else {
                return Err(CacheFull);
            };
            match &s.entry {
                None => {
                    *s = Slot {
                        hash,
                        gen,
                        entry: Some(*entry),
                    };
                    self.len += 1;
                    return Ok(());
                }
                Some(e) if s.hash == hash && e.key() == key => {
                    s.entry = Some(*entry);
                    s.gen = gen;
                    return Ok(());
                }
                Some(_) => {}
            }
            i = self.next(i);
        }
        Err(CacheFull)
    }

    /// Removes the entry cached under `key`; whether there was one.
    pub(crate) fn remove(&mut self, key: &Key) -> bool {
        match self.find(key, key.hash32()) {
            Some(i) => {
                self.delete_at(i);
                true
            }
            None => false,
        }
    }

    /// Empties slot `hole` and shifts the rest of its probe run back
    /// (Knuth's algorithm R): an entry moves into the hole when the hole
    /// lies between its home and its slot.
    fn delete_at(&mut self, mut hole: usize) {
        let cap = self.slots.len();
        let mut j = hole;
        for _ in 0..cap {
            j = self.next(j);
            let (hash, occupied) = match self.slots.get(j) {
                Some(s) => (s.hash, s.entry.is_some()),
                None => break,
            };
            if !occupied {
                break;
            }
            let home = self.home(hash);
            // Distances measured backwards from j, cyclically.
            let from_home = (j + cap - home) % cap;
            let from_hole = (j + cap - hole) % cap;
            if from_home >= from_hole {
                if let Some(moved) = self.slots.get(j).copied() {
                    if let Some(h) = self.slots.get_mut(hole) {
                        *h = moved;
                    }
                }
                hole = j;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            *h = Slot::EMPTY;
        }
        self.len = self.len.saturating_sub(1);
    }

    /// Removes every entry whose generation is not `gen`; how many.
    pub(crate) fn purge_except(&mut self, gen: u16) -> usize {
        let mut removed = 0;
        let mut i = 0;
        // A deletion pulls later entries into slot `i`: look at it again.
        // Entries only move backwards (or from the start of the table to
        // its end, already visited and kept), so every slot is seen.
        let mut budget = self.slots.len().saturating_mul(2);
        while i < self.slots.len() && budget > 0 {
            budget -= 1;
            let stale = matches!(self.slots.get(i), Some(s) if s.entry.is_some() && s.gen != gen);
            if stale {
                self.delete_at(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
        removed
    }

    /// Empties the cache.
    pub(crate) fn clear(&mut self) {
        self.slots.fill(Slot::EMPTY);
        self.len = 0;
    }

    /// Every cached entry, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.slots.iter().filter_map(|s| s.entry.as_ref())
    }

    /// Checks the table's invariants (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let cap = self.slots.len();
        let mut n = 0;
        for (i, s) in self.slots.iter().enumerate() {
            let Some(e) = &s.entry else { continue };
            n += 1;
            assert_eq!(s.hash, e.key().hash32());
            let home = self.home(s.hash);
            let dist = (i + cap - home) % cap;
            assert!(dist < PROBE_LIMIT, "entry {dist} slots from home");
            // No free slot between home and the entry.
            let mut k = home;
            while k != i {
                assert!(self.slots[k].entry.is_some(), "hole in probe run");
                k = self.next(k);
            }
            assert_eq!(self.find(&e.key(), s.hash), Some(i));
        }
        assert_eq!(n, self.len);
    }
}
