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

/// Armed deadlines of one instance; fixed size, no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; 4],
}

impl TimerTable {
    /// Arms `timer` for `at` (re-arming replaces the old deadline).
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer as usize] = Some(at);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }

    /// Disarms every timer.
    pub(crate) fn stop_all(&mut self) {
        self.data = [None; 4];
    }

    /// Disarms `timer` and returns `true` if it was due at `now`.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Instant) -> bool {
        match self.data[timer as usize] {
            Some(at) if at <= now => {
                self.data[timer as usize] = None;
                true
            }
            _ => false,
        }
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }
}
