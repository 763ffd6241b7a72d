//! Tandem's behaviour, with no I/O: VRRP elections (and, as they land,
//! conntrack sync and lease merge).
//!
//! Everything here is *sans-IO*: no clock is read, no socket opened, no file
//! touched. Every entry point takes `now` (a [`time::Instant`] supplied by the
//! caller) and its input, queues effects the caller must carry out, and
//! reports the next instant at which it wants to be polled. The crate is
//! `#![no_std]` and never allocates; tables live in storage handed in by the
//! caller or in fixed-capacity `heapless` containers.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ctsync;
pub mod lease;
pub mod time;
pub mod vrrp;
