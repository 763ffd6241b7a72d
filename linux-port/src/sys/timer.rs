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
            libc::syscall(
                libc::SYS_timerfd_create,
                libc::CLOCK_MONOTONIC as libc::c_long,
                (libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) as libc::c_long,
            )
        } as libc::c_int)?;
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
        // struct itimerspec: it_interval (zero: one-shot), it_value.
        let mut spec = [0i64; 4];
        if let Some(d) = deadline {
            let us = d.as_micros();
            let (sec, nsec) = (us / 1_000_000, (us % 1_000_000) * 1_000);
            spec[2] = sec.min(i32::MAX as u64) as i64;
            // An all-zero it_value would disarm the timer.
            spec[3] = if sec == 0 && nsec == 0 {
                1
            } else {
                nsec as i64
            };
        }
        // SAFETY: `spec` is a valid itimerspec for the call; the old value
        // is not asked for.
        ck(unsafe {
            super::time_call(
                libc::SYS_timerfd_settime,
                8,
                [
                    self.fd.raw() as usize,
                    libc::TFD_TIMER_ABSTIME as usize,
                    0,
                    0,
                    0,
                ],
                2,
                &mut spec,
            )
        } as libc::c_int)?;
        self.armed = deadline;
        Ok(())
    }

    /// Clears the expiration count after the fd polled readable; the timer
    /// is then disarmed until the next [`TimerFd::set`].
    pub fn clear(&mut self) {
        let mut n = [0u8; 8];
        // SAFETY: `n` is writable for 8 bytes, what a timerfd read returns.
        let r = ck_size(unsafe { super::raw::read(self.fd.raw(), n.as_mut_ptr().cast(), n.len()) });
        match r {
            Ok(_) => self.armed = None,
            Err(e) if e.would_block() => {}
            Err(_) => self.armed = None,
        }
    }
}
