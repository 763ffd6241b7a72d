//! A `timerfd` on `CLOCK_MONOTONIC` armed at absolute deadlines.
//!
//! `ppoll`'s own timeout carries the kernel's select/poll slack (about
//! 0.1 % of the timeout, 0.5 % when niced: 3.6 ms late on a VRRPv2
//! Master_Down_Interval); an hrtimer-backed timerfd fires within the
//! thread's timer slack (50 µs), so deadlines go through it and `ppoll`
//! waits without a timeout.

use super::{ck, ck_size, Errno, Fd};
use tandem_core::time::Instant;

/// The deadline timer.
pub struct TimerFd {
    fd: Fd,
    armed: Option<Instant>,
}

impl TimerFd {
    /// A disarmed timer.
    pub fn new() -> Result<Self, Errno> {
        // SAFETY: plain syscall with integer arguments; on success we own the fd.
        let fd = ck(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        Ok(TimerFd {
            fd: Fd::from_raw(fd),
            armed: None,
        })
    }

    /// The descriptor to poll (readable once the deadline passed).
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Arms the timer at `deadline` (an instant of [`super::clock::now`]'s
    /// clock), or disarms it with `None`. A no-op when unchanged.
    pub fn set(&mut self, deadline: Option<Instant>) -> Result<(), Errno> {
        if deadline == self.armed {
            return Ok(());
        }
        let value = match deadline {
            // A zero it_value disarms; the origin itself is "now or past":
            // use 1 ns so that it fires at once.
            Some(d) => {
                let us = d.as_micros();
                let (sec, nsec) = (us / 1_000_000, (us % 1_000_000) * 1_000);
                libc::timespec {
                    tv_sec: sec.min(i32::MAX as u64) as _,
                    tv_nsec: if sec == 0 && nsec == 0 {
                        1
                    } else {
                        nsec as libc::c_long
                    },
                }
            }
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a valid itimerspec; a null old value is allowed.
        ck(unsafe {
            libc::timerfd_settime(
                self.fd.raw(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                core::ptr::null_mut(),
            )
        })?;
        self.armed = deadline;
        Ok(())
    }

    /// Clears the expiration count after the fd polled readable; the timer
    /// is then disarmed until the next [`TimerFd::set`].
    pub fn clear(&mut self) {
        let mut n = [0u8; 8];
        // SAFETY: `n` is writable for 8 bytes, what a timerfd read returns.
        let r = ck_size(unsafe { libc::read(self.fd.raw(), n.as_mut_ptr().cast(), n.len()) });
        match r {
            Ok(_) => self.armed = None,
            Err(e) if e.would_block() => {}
            Err(_) => self.armed = None,
        }
    }
}
