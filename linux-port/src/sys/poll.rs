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
    let mut ts = [0i64; 2];
    let n = match timeout {
        Some(d) => {
            let us = d.as_micros();
            ts = [
                (us / 1_000_000).min(i32::MAX as u64) as i64,
                ((us % 1_000_000) * 1_000) as i64,
            ];
            2
        }
        None => 0,
    };
    // SAFETY: `fds` is a valid pollfd array of its length, `ts` a valid
    // timespec (or null: no timeout); no signal mask.
    let r = unsafe {
        super::time_call(
            libc::SYS_ppoll,
            11,
            [
                fds.as_mut_ptr() as usize,
                fds.len(),
                0,
                0,
                super::SIGSET_BYTES,
            ],
            2,
            &mut ts[..n],
        )
    } as libc::c_int;
    match ck(r) {
        Ok(n) => Ok(n as usize),
        Err(e) if e.0 == libc::EINTR => Ok(0),
        Err(e) => Err(e),
    }
}
