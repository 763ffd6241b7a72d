//! Big start-up tables from zeroed memory: [`leak_zeroed`] takes a slice of
//! `n` values from the allocator's `alloc_zeroed` (`calloc`: for large
//! sizes fresh anonymous pages, which the kernel maps only when first
//! written), instead of `vec![T::EMPTY; n]`, which writes every element
//! and so makes the whole table resident at start-up.
//!
//! Only types whose all-zero bit pattern is a valid (empty) value may be
//! allocated this way: they carry the [`Zeroable`] marker, implemented
//! here for octets, the conntrack cache's and the retransmit window's slots
//! and the lease table's slots (tests compare the zeroed memory with their
//! empty values).
//!
//! Test hook: with `TANDEM_TEST_PREFAULT_TABLES` set in the environment,
//! every page of these tables is written once when it is allocated, as if
//! the tables were initialised element by element: the footprint test's
//! negative control (such a master must be over the RAM budget).

use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use tandem_core::ctsync::{Slot, TxSlot};

/// The test hook's variable (see the module documentation).
const PREFAULT_ENV: &std::ffi::CStr = c"TANDEM_TEST_PREFAULT_TABLES";

/// A type for which all-zero bits are a valid value.
///
/// # Safety
///
/// Every bit of a value of the type may be zero: the type contains only
/// integers and arrays of integers (no references, no `bool`, no enums
/// without a zero discriminant, no `NonZero*`).
pub unsafe trait Zeroable: Copy {}

// SAFETY: `Slot` holds only `u32`, `u16`, `u8` and `[u8; N]` fields, and
// `Slot::EMPTY` is all zero bits (checked by the tests below).
unsafe impl Zeroable for Slot {}

// SAFETY: `TxSlot` holds only `u32`, `u8` and `[u8; N]` fields, and
// `TxSlot::EMPTY` is all zero bits (checked by the tests below).
unsafe impl Zeroable for TxSlot {}

// SAFETY: an integer.
unsafe impl Zeroable for u8 {}

// SAFETY: a lease `Slot` holds only integer and `[u8; N]` fields, and its
// empty value is all zero bits (documented in `tandem_core::lease::Slot`,
// checked by `sys::file`'s tests). These impls rely on the private field
// layouts of tandem-core's slot types: a reference, `bool`, enum or
// `NonZero*` field added there would make them unsound.
unsafe impl Zeroable for tandem_core::lease::Slot {}

/// `n` zeroed values, leaked (tables that live as long as the process).
/// Pages the caller never writes stay out of the resident set. Aborts
/// (like `vec!`) when the allocation fails.
pub fn leak_zeroed<T: Zeroable>(n: usize) -> &'static mut [T] {
    let Ok(layout) = Layout::array::<T>(n) else {
        handle_alloc_error(Layout::new::<T>())
    };
    if layout.size() == 0 {
        return &mut [];
    }
    let p = zeroed_raw(layout);
    // SAFETY: `p` is non-null, suitably aligned and sized for `n` values
    // of `T`, zeroed, which is a valid `T` for every element (`Zeroable`'s
    // invariant), and never freed, so the `'static` borrow is sound.
    unsafe { std::slice::from_raw_parts_mut(p.cast::<T>(), n) }
}

/// The non-generic part of [`leak_zeroed`]: zeroed memory for `layout`
/// (of non-zero size), never null.
#[inline(never)]
fn zeroed_raw(layout: Layout) -> *mut u8 {
    // SAFETY: `layout` has a non-zero size; the result is checked for null.
    let p = unsafe {
        let p = alloc_zeroed(layout);
        if p.is_null() {
            handle_alloc_error(layout);
        }
        p
    };
    if super::env_is_set(PREFAULT_ENV) {
        for off in (0..layout.size()).step_by(4096) {
            // SAFETY: `off` is inside the allocation; a volatile write of
            // the zero already there (so it is not optimised away).
            unsafe { p.add(off).write_volatile(0) };
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_slots_are_empty() {
        assert!(leak_zeroed::<Slot>(100).iter().all(|s| *s == Slot::EMPTY));
        assert!(leak_zeroed::<TxSlot>(100)
            .iter()
            .all(|s| *s == TxSlot::EMPTY));
        assert!(leak_zeroed::<Slot>(0).is_empty());
    }

    #[test]
    fn sizes_without_padding() {
        // Only integer fields and no padding: all bytes are accounted for.
        assert_eq!(size_of::<Slot>(), 48);
        assert_eq!(size_of::<TxSlot>(), 40);
    }
}
