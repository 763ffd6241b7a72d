//! `CLOCK_MONOTONIC`, the only clock the daemon uses (a wall-clock jump must
//! not cause a failover).

use tandem_core::time::Instant;

/// Now on `CLOCK_MONOTONIC`, as the core's [`Instant`].
pub fn now() -> Instant {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on
    // Linux, so the call cannot fail.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    Instant::from_micros((ts.tv_sec as u64).saturating_mul(1_000_000) + (ts.tv_nsec as u64) / 1_000)
}

/// Milliseconds since the Unix epoch on `CLOCK_REALTIME` (only for the
/// sync channel's epoch at start-up, never for deadlines).
pub fn realtime_millis() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_REALTIME always exists.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
    }
    (ts.tv_sec.max(0) as u64).saturating_mul(1000) + (ts.tv_nsec as u64) / 1_000_000
}

/// CPU time of the calling thread (user and system), in microseconds:
/// tells work from waiting when a measured step is slow on a busy box.
pub fn thread_cpu_micros() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock always exists.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    (ts.tv_sec.max(0) as u64).saturating_mul(1_000_000) + (ts.tv_nsec as u64) / 1_000
}
