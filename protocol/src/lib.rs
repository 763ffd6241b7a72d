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

/// The address whose octets `b` are: 4 for IPv4, 16 for IPv6, else
/// `None`. One shared decoder for every format here.
#[inline(never)]
pub(crate) fn ip_from_octets(b: &[u8]) -> Option<core::net::IpAddr> {
    use core::net::IpAddr;
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(a));
    }
    <[u8; 16]>::try_from(b).ok().map(IpAddr::from)
}
