//! [`Node`]: the instances of one router and the sync-group logic.

use core::net::IpAddr;

use super::{Action, Advert, Config, Error, Reason, State};
use crate::time::Instant;

/// Up to `N` VRRP instances of one router, their timers, their action queues
/// and the sync-group logic.
///
/// Sync groups follow keepalived 2.x: a member becomes MASTER only when every
/// member of its group wants to (its own Master_Down_Timer fired) or the
/// group is already MASTER, and then all members become MASTER together; a
/// MASTER member that yields to a better advert takes the whole group to
/// BACKUP; a fault on any member puts the whole group in FAULT until every
/// member's fault has cleared.
#[derive(Debug)]
pub struct Node<const N: usize> {
    _p: (),
}

impl<const N: usize> Default for Node<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Node<N> {
    /// An empty node.
    pub const fn new() -> Self {
        Node { _p: () }
    }

    /// Adds an instance in state `Initialize` and returns its index.
    pub fn add_instance(&mut self, cfg: Config) -> Result<usize, Error> {
        let _ = cfg;
        Err(Error::Capacity)
    }

    /// Moves every instance still in `Initialize` out of it.
    pub fn start(&mut self, now: Instant) {
        let _ = now;
    }

    /// Feeds a validated advert received for `instance`.
    pub fn handle_advert(&mut self, now: Instant, instance: usize, advert: &Advert) {
        let _ = (now, instance, advert);
    }

    /// Sets or clears the fault of `instance`.
    pub fn set_fault(&mut self, now: Instant, instance: usize, fault: bool) {
        let _ = (now, instance, fault);
    }

    /// Changes the effective priority of `instance`.
    pub fn set_priority(&mut self, now: Instant, instance: usize, priority: u8) {
        let _ = (now, instance, priority);
    }

    /// Runs the deadlines due at `now`; spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// Graceful stop of every instance.
    pub fn shutdown(&mut self, now: Instant) {
        let _ = now;
    }

    /// Applies a new configuration to `instance`.
    pub fn reconfigure(&mut self, now: Instant, instance: usize, cfg: Config) {
        let _ = (now, instance, cfg);
    }

    /// Stops `instance` for good, like `shutdown` for it alone.
    pub fn retire(&mut self, now: Instant, instance: usize) {
        let _ = (now, instance);
    }

    /// The next action to carry out.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        None
    }

    /// The next instant at which `handle_timeout` must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Number of instance slots in use (including retired ones).
    pub fn len(&self) -> usize {
        0
    }

    /// `true` when no instance was added.
    pub fn is_empty(&self) -> bool {
        true
    }

    /// The configuration of `instance`.
    pub fn config(&self, instance: usize) -> Option<&Config> {
        let _ = instance;
        None
    }

    /// The state of `instance`.
    pub fn state(&self, instance: usize) -> State {
        let _ = instance;
        State::Initialize
    }

    /// The effective priority of `instance`.
    pub fn priority(&self, instance: usize) -> u8 {
        let _ = instance;
        0
    }

    /// The address of the current master of `instance`, if known.
    pub fn master_addr(&self, instance: usize) -> Option<IpAddr> {
        let _ = instance;
        None
    }

    /// When and why `instance` last changed state.
    pub fn last_transition(&self, instance: usize) -> Option<(Instant, Reason)> {
        let _ = instance;
        None
    }

    /// How many times `instance` changed state.
    pub fn transitions(&self, instance: usize) -> u32 {
        let _ = instance;
        0
    }

    /// Actions dropped because a queue overflowed.
    pub fn dropped_actions(&self) -> u32 {
        0
    }
}
