//! `CLOCK_MONOTONIC`, the only clock the daemon uses (a wall-clock jump must
//! not cause a failover).

use tandem_core::time::Instant;

/// Microseconds on `clock` (negative seconds read as 0).
fn micros(clock: libc::clockid_t) -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: `ts` is a valid out-pointer (a 64-bit timespec); the clocks
    // asked for always exist on Linux, so the call cannot fail.
    unsafe {
        super::time_call(
            libc::SYS_clock_gettime,
            0,
            [clock as usize, 0, 0, 0, 0],
            1,
            &mut ts,
        );
    }
    (ts[0].max(0) as u64).saturating_mul(1_000_000) + (ts[1] as u64) / 1_000
}

/// Now on `CLOCK_MONOTONIC`, as the core's [`Instant`].
pub fn now() -> Instant {
    Instant::from_micros(micros(libc::CLOCK_MONOTONIC))
}

/// Milliseconds since the Unix epoch on `CLOCK_REALTIME` (only for the
/// sync channel's epoch at start-up, never for deadlines).
pub fn realtime_millis() -> u64 {
    micros(libc::CLOCK_REALTIME) / 1_000
}

/// CPU time of the calling thread (user and system), in microseconds:
/// tells work from waiting when a measured step is slow on a busy box.
pub fn thread_cpu_micros() -> u64 {
    micros(libc::CLOCK_THREAD_CPUTIME_ID)
}
