//! Every byte format Tandem reads or writes, with no I/O and no allocation.
//!
//! Conventions (after smoltcp's `wire` module):
//! - a zero-copy checked view `Packet<T: AsRef<[u8]>>` with `new_checked`
//!   (use it on untrusted input) and `new_unchecked` (for emission);
//! - a `Repr` with `parse`, `buffer_len` and `emit`;
//! - after `new_checked` succeeds no accessor panics, and `emit` never panics
//!   when given a buffer of exactly `buffer_len()` octets;
//! - parsers never panic on any input and return a typed error saying what
//!   was wrong.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod announce;
pub mod config;
pub mod conntrack;
pub mod lease;
pub mod netlink;
pub mod sync;
pub mod vrrp;
