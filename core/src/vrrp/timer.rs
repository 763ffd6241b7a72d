//! Per-instance deadlines, in the shape of quinn-proto's `TimerTable`: an
//! enum indexes a fixed array of optional instants.

use crate::time::Instant;

/// The deadlines one instance can have armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// BACKUP: Master_Down_Timer (RFC 5798 §6.2).
    MasterDown = 0,
    /// MASTER: Adver_Timer (RFC 5798 §6.2).
    Adver = 1,
    /// MASTER: the second announcement, `garp_master_delay` after takeover.
    GarpDelay = 2,
    /// MASTER: periodic announcement, `garp_master_refresh`.
    GarpRefresh = 3,
}

impl Timer {
    /// Every timer, in the order expiries are handled.
    pub(crate) const VALUES: [Timer; 4] = [
        Timer::MasterDown,
        Timer::Adver,
        Timer::GarpDelay,
        Timer::GarpRefresh,
    ];
}

/// Armed deadlines of one instance; fixed size, no allocation. Each is
/// stored as its microseconds, [`OFF`] when disarmed (an instant that far
/// out, half a million years of uptime, is never reached).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerTable {
    data: [u64; 4],
}

/// A disarmed timer.
const OFF: u64 = u64::MAX;

impl Default for TimerTable {
    fn default() -> Self {
        TimerTable { data: [OFF; 4] }
    }
}

impl TimerTable {
    /// Arms `timer` for `at` (re-arming replaces the old deadline).
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer as usize] = at.as_micros();
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = OFF;
    }

    /// Disarms every timer.
    pub(crate) fn stop_all(&mut self) {
        self.data = [OFF; 4];
    }

    /// Disarms `timer` and returns `true` if it was due at `now`.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Instant) -> bool {
        let at = self.data[timer as usize];
        if at != OFF && at <= now.as_micros() {
            self.data[timer as usize] = OFF;
            return true;
        }
        false
    }

    /// The earliest armed deadline, in microseconds; `u64::MAX` if none.
    pub(crate) fn earliest(&self) -> u64 {
        let mut min = OFF;
        for &at in &self.data {
            min = min.min(at);
        }
        min
    }
}
