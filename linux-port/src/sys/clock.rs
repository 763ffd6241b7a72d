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
