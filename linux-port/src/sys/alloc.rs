//! The global allocator: a small size-class allocator over `mmap(2)` that
//! counts heap allocations (a relaxed atomic add), so the daemon can show —
//! and tests can assert — that the event loop allocates nothing after
//! start-up. It never calls the C library's `malloc`, so musl's allocator
//! is not linked into the static binary (≈ 10 KB of flash on mipsel).
//!
//! * Requests of at most [`MAX_SMALL`] bytes (and alignment) are rounded up
//!   to a power of two (at least [`MIN_BLOCK`]) and served from that size
//!   class's free list, else carved from an arena chunk (`mmap`ed
//!   [`CHUNK`] bytes; pages only cost RAM once touched). Freed blocks go
//!   back on their class's list (LIFO), so the memory of a class stays
//!   bounded by its peak use.
//! * Larger requests get their own anonymous mapping (page-rounded),
//!   returned with `munmap`; `realloc` between large sizes is `mremap`,
//!   which moves no bytes. Fresh mappings are zero-filled by the kernel,
//!   so `alloc_zeroed` does not touch them.
//! * Alignments above a page are refused (null: Rust aborts); nothing in
//!   tandem asks for them.
//!
//! One spin lock guards the lists (the daemon is single-threaded; the
//! unit tests are not).
//!
//! The count is a `usize`: 32-bit MIPS has no 64-bit atomics (a 32-bit count
//! wraps after 4 294 967 296 allocations, far beyond what start-up makes;
//! after start-up the count is meant to stay 0).

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// Smallest block (a free-list link fits; 16-byte alignment at most).
const MIN_BLOCK: usize = 16;
/// Largest size class; larger requests are mapped on their own.
const MAX_SMALL: usize = 2048;
/// Size classes: 16, 32, ..., 2048.
const CLASSES: usize = 8;
/// Bytes of address space reserved per arena chunk.
const CHUNK: usize = 256 * 1024;
/// Page size assumed for large mappings (4 KiB on every OpenWrt target).
const PAGE: usize = 4096;

/// Allocator state (behind [`LOCK`]).
struct State {
    /// Head of each class's free list (the link is the block's first word).
    free: [*mut u8; CLASSES],
    /// Unused part of the current arena chunk.
    next: usize,
    end: usize,
}

static LOCK: AtomicBool = AtomicBool::new(false);
static mut STATE: State = State {
    free: [null_mut(); CLASSES],
    next: 0,
    end: 0,
};

/// The counting allocator.
pub struct Counting;

/// Size class of a small layout (None: large).
fn class(size: usize, align: usize) -> Option<usize> {
    let n = size.max(align).max(MIN_BLOCK);
    if n > MAX_SMALL {
        return None;
    }
    Some((n.next_power_of_two().trailing_zeros() - MIN_BLOCK.trailing_zeros()) as usize)
}

/// Bytes of a large mapping for `size`.
fn pages(size: usize) -> usize {
    (size + PAGE - 1) & !(PAGE - 1)
}

/// Maps `len` fresh zeroed bytes (null on failure). The bare system
/// calls here and below: the C library's wrappers only add argument checks
/// the kernel makes too and a wait for other threads' unmapping.
fn map(len: usize) -> *mut u8 {
    #[cfg(target_pointer_width = "32")]
    const NR: libc::c_long = libc::SYS_mmap2;
    #[cfg(not(target_pointer_width = "32"))]
    const NR: libc::c_long = libc::SYS_mmap;
    // SAFETY: an anonymous private mapping touches no existing memory.
    let p = unsafe {
        libc::syscall(
            NR,
            0usize,
            len,
            (libc::PROT_READ | libc::PROT_WRITE) as libc::c_long,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as libc::c_long,
            -1 as libc::c_long,
            0 as libc::c_long,
        )
    };
    if p == -1 {
        null_mut()
    } else {
        p as usize as *mut u8
    }
}

/// Runs `f` on the state with the lock held.
fn locked<R>(f: impl FnOnce(&mut State) -> R) -> R {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    // SAFETY: the lock gives exclusive access to STATE until released.
    let r = f(unsafe { &mut *std::ptr::addr_of_mut!(STATE) });
    LOCK.store(false, Ordering::Release);
    r
}

/// A block of class `c` (null when out of memory).
fn alloc_small(c: usize) -> *mut u8 {
    let size = MIN_BLOCK << c;
    locked(|s| {
        let head = s.free[c];
        if !head.is_null() {
            // SAFETY: free blocks hold the next link in their first word.
            s.free[c] = unsafe { *head.cast::<*mut u8>() };
            return head;
        }
        // Blocks are aligned to their size (a power of two).
        let mut at = (s.next + size - 1) & !(size - 1);
        if at + size > s.end {
            let p = map(CHUNK);
            if p.is_null() {
                return null_mut();
            }
            s.next = p as usize;
            s.end = s.next + CHUNK;
            at = s.next;
        }
        s.next = at + size;
        at as *mut u8
    })
}

/// Returns a block of class `c` to its free list.
fn free_small(p: *mut u8, c: usize) {
    locked(|s| {
        // SAFETY: the block is ours again and at least a pointer in size.
        unsafe { *p.cast::<*mut u8>() = s.free[c] };
        s.free[c] = p;
    })
}

/// Allocates without counting.
fn alloc(layout: Layout) -> *mut u8 {
    if layout.align() > PAGE {
        return null_mut();
    }
    match class(layout.size(), layout.align()) {
        Some(c) => alloc_small(c),
        None => map(pages(layout.size())),
    }
}

/// Frees a block `alloc` returned for `layout`.
///
/// # Safety
/// `p` came from [`alloc`] (or a realloc) with this `layout`.
unsafe fn free(p: *mut u8, layout: Layout) {
    match class(layout.size(), layout.align()) {
        Some(c) => free_small(p, c),
        // SAFETY: a large block is a whole mapping of this length.
        None => unsafe {
            libc::syscall(libc::SYS_munmap, p, pages(layout.size()));
        },
    }
}

// SAFETY: blocks never overlap (each is handed out once until freed: free
// lists and the bump pointer are only touched under the lock, large blocks
// are separate mappings), are at least `size` bytes and aligned to `align`
// (small blocks to their power-of-two class size ≥ align, mappings to a
// page ≥ align; larger alignments get null).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let p = alloc(layout);
        if !p.is_null() && class(layout.size(), layout.align()).is_some() {
            // SAFETY: `p` is valid for `size` bytes. (Mappings are zeroed.)
            unsafe { p.write_bytes(0, layout.size()) };
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let old = class(layout.size(), layout.align());
        let new = class(new_size, layout.align());
        if old.is_some() && old == new {
            return ptr;
        }
        if old.is_none() && new.is_none() {
            // SAFETY: `ptr` is a whole mapping of the old length.
            let p = unsafe {
                libc::syscall(
                    libc::SYS_mremap,
                    ptr,
                    pages(layout.size()),
                    pages(new_size),
                    libc::MREMAP_MAYMOVE as libc::c_long,
                )
            };
            return if p == -1 {
                null_mut()
            } else {
                p as usize as *mut u8
            };
        }
        // SAFETY: the caller guarantees a valid layout for `new_size`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let p = alloc(new_layout);
        if !p.is_null() {
            // SAFETY: both blocks are valid for the copied length and
            // distinct; `ptr` is then freed with its own layout.
            unsafe {
                p.copy_from_nonoverlapping(ptr, layout.size().min(new_size));
                free(ptr, layout);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { free(ptr, layout) }
    }
}

/// Heap allocations (and reallocations) since the process started.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class(0, 1), Some(0));
        assert_eq!(class(16, 8), Some(0));
        assert_eq!(class(17, 1), Some(1));
        assert_eq!(class(1, 64), Some(2));
        assert_eq!(class(2048, 4), Some(7));
        assert_eq!(class(2049, 4), None);
        assert_eq!(pages(2049), 4096);
        assert_eq!(pages(8192), 8192);
    }

    #[test]
    fn blocks_round_trip() {
        let a = Counting;
        let mut v = Vec::new();
        for size in [1usize, 15, 16, 100, 2048, 2049, 5000, 70_000] {
            let l = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: non-zero sizes, freed below with the same layout.
            unsafe {
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null() && p as usize % 8 == 0);
                assert!((0..size).all(|k| *p.add(k) == 0));
                p.write_bytes(0xa5, size);
                let q = a.realloc(p, l, size * 3);
                assert!((0..size).all(|k| *q.add(k) == 0xa5));
                v.push((q, Layout::from_size_align(size * 3, 8).unwrap()));
            }
        }
        for (p, l) in v {
            // SAFETY: allocated above with this layout.
            unsafe { a.dealloc(p, l) };
        }
    }
}
