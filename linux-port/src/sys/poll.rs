//! `ppoll(2)` with a microsecond timeout.

use super::{ck, Errno};
use std::os::fd::RawFd;
use tandem_core::time::Duration;

pub use libc::{POLLIN, POLLOUT};

/// One entry of the poll set.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct PollFd(libc::pollfd);

impl PollFd {
    /// Watches `fd` for `events`; a negative `fd` is ignored by the kernel.
    pub fn new(fd: RawFd, events: i16) -> Self {
        PollFd(libc::pollfd {
            fd,
            events,
            revents: 0,
        })
    }

    /// The events that happened.
    pub fn revents(&self) -> i16 {
        self.0.revents
    }
}

/// Waits until one of `fds` is ready or `timeout` (None = forever) passes.
/// Returns the number of ready entries (0 on timeout or signal).
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> Result<usize, Errno> {
    let ts;
    let tp = match timeout {
        Some(d) => {
            let us = d.as_micros();
            ts = libc::timespec {
                tv_sec: (us / 1_000_000).min(i32::MAX as u64) as _,
                tv_nsec: ((us % 1_000_000) * 1_000) as libc::c_long,
            };
            &ts as *const libc::timespec
        }
        None => core::ptr::null(),
    };
    // SAFETY: `PollFd` is `repr(transparent)` over `pollfd`, so the slice is a
    // valid array of `fds.len()` pollfds; `tp` is null or points to `ts`,
    // which outlives the call; a null sigmask keeps the current mask.
    let r = unsafe {
        libc::ppoll(
            fds.as_mut_ptr().cast::<libc::pollfd>(),
            fds.len() as libc::nfds_t,
            tp,
            core::ptr::null(),
        )
    };
    match ck(r) {
        Ok(n) => Ok(n as usize),
        Err(e) if e.0 == libc::EINTR => Ok(0),
        Err(e) => Err(e),
    }
}
