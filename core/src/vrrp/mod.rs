//! The VRRP state machine: RFC 5798 (VRRPv3) and RFC 3768 (VRRPv2)
//! elections plus keepalived's extensions (`nopreempt`, `preempt_delay`,
//! FAULT, sync groups), sans-IO.
//!
//! # Shape
//!
//! A [`Node`] holds up to `N` VRRP instances (one per `vrrp_instance` of the
//! configuration) in fixed memory. The caller feeds it inputs — validated
//! adverts ([`Node::handle_advert`]), tracked-link or check results
//! ([`Node::set_fault`]), expired deadlines ([`Node::handle_timeout`]),
//! signals ([`Node::shutdown`], [`Node::reconfigure`]) — each with the current
//! `now` from its monotonic clock. The node never reads a clock and performs
//! no I/O: it queues [`Action`]s, which the caller drains with
//! [`Node::poll_action`] and carries out in order, and it reports the next
//! instant it wants to be woken at with [`Node::poll_timeout`].
//!
//! # Call-order contract
//!
//! After **every** input call (`start`, `handle_*`, `set_*`, `shutdown`,
//! `reconfigure`, `retire`) the caller should drain [`Node::poll_action`]
//! until it returns `None` and then re-read [`Node::poll_timeout`]. One input
//! call queues at most [`MAX_ACTIONS_PER_CALL`] actions per instance, and
//! every instance owns a queue of [`ACTION_QUEUE`] slots, so a caller that
//! drains after each call never loses an action. A caller that does not is
//! still safe: on overflow the oldest re-sendable action (an advert, an
//! announcement, a log-only transition) is dropped first, and an
//! `AddAddresses`/`RemoveAddresses` pair that cancels out is merged, so the
//! net address state is never lost; [`Node::dropped_actions`] counts drops.
//!
//! # Order of effects
//!
//! - Becoming MASTER: `Transition`, `SendAdvert`, `AddAddresses`, `Announce`
//!   — the advert goes out first so that the old master (if alive) removes
//!   the addresses before our gratuitous ARPs (keepalived,
//!   `vrrp_state_master_tx`: "send the advert first"). Another `Announce`
//!   follows after `garp_master_delay`, and every `garp_master_refresh` while
//!   MASTER.
//! - Leaving MASTER for BACKUP: `Transition`, `RemoveAddresses`.
//! - Leaving MASTER for FAULT, shutdown or retire: `Transition`,
//!   `SendAdvert { priority: 0 }`, `RemoveAddresses` — the peer takes over
//!   after its Skew_Time instead of a full Master_Down_Interval.
//!
//! `AddAddresses` and `RemoveAddresses` strictly alternate per instance,
//! starting with `AddAddresses`.
//!
//! # Panics
//!
//! No method panics, whatever its input. An out-of-range instance index is
//! ignored by the input methods and reads as an unknown instance
//! (`State::Initialize`, `None`, `0`) in the getters.

use core::fmt;
use core::net::IpAddr;

use crate::time::Duration;

mod node;
mod timer;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use node::Node;

/// Slots in each instance's action queue (see the module docs).
pub const ACTION_QUEUE: usize = 8;

/// Upper bound of the actions one input call queues for one instance.
pub const MAX_ACTIONS_PER_CALL: usize = 4;

/// The RFC 5798 §6.1 priority that marks the address owner, which becomes
/// MASTER at start-up without waiting.
pub const PRIORITY_OWNER: u8 = 255;

/// The priority an advert carries when its master stops being master
/// (RFC 5798 §6.4.3, "priority 0"): backups take over after Skew_Time.
pub const PRIORITY_RELEASE: u8 = 0;

/// keepalived's default `garp_master_delay`: a second round of gratuitous
/// ARPs this long after becoming MASTER.
pub const DEFAULT_GARP_MASTER_DELAY: Duration = Duration::from_secs(5);

/// keepalived's default `advert_int`.
pub const DEFAULT_ADVER_INT: Duration = Duration::from_secs(1);

/// Protocol version of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// VRRPv2, RFC 3768 (keepalived's default for IPv4). Skew_Time is
    /// `(256 − priority) / 256` seconds and the advert interval is the
    /// configured one.
    V2,
    /// VRRPv3, RFC 5798. Skew_Time is `(256 − priority) ×
    /// Master_Adver_Interval / 256`, and a backup learns
    /// Master_Adver_Interval from the master's adverts.
    V3,
}

/// The state of one VRRP instance (RFC 5798 §6.4 plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Not started yet, or stopped by [`Node::shutdown`] / [`Node::retire`].
    Initialize,
    /// Watching the master; takes over when Master_Down_Timer fires.
    Backup,
    /// Holding the virtual addresses and sending adverts.
    Master,
    /// A tracked interface or check failed (keepalived FAULT): holds no
    /// address, sends nothing, ignores adverts until the fault clears.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// The configuration of one VRRP instance, as the port derives it from the
/// configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Priority, 1..=255; 255 marks the address owner.
    pub priority: u8,
    /// Advertisement_Interval. v2: whole seconds; v3: centiseconds.
    /// A zero interval is treated as one centisecond.
    pub adver_int: Duration,
    /// Protocol version.
    pub version: Version,
    /// `false` is keepalived's `nopreempt`: a higher-priority backup does not
    /// take over from a live lower-priority master.
    pub preempt: bool,
    /// keepalived's `preempt_delay`: how long a higher-priority backup waits,
    /// after start-up or after first seeing a lower-priority master, before
    /// it preempts.
    pub preempt_delay: Duration,
    /// keepalived's `state`: `Backup` or `Master` (anything else reads as
    /// `Backup`). With `Master` and a priority below 255 the first
    /// Master_Down_Timer is shortened to Advertisement_Interval + Skew_Time,
    /// as keepalived does; with priority 255 the instance becomes MASTER at
    /// start whatever this says.
    pub initial: State,
    /// The instance's own address on its interface; breaks ties between
    /// equal priorities (the greater address wins, RFC 5798 §6.4.3).
    pub primary_addr: IpAddr,
    /// Index of the instance's `vrrp_sync_group`, if any: all instances with
    /// the same index move together (see [`Node`]).
    pub sync_group: Option<u8>,
    /// Delay of the second `Announce` after becoming MASTER (keepalived
    /// `garp_master_delay`, default 5 s). Zero disables the second round.
    pub garp_master_delay: Duration,
    /// Period of further `Announce`s while MASTER (keepalived
    /// `garp_master_refresh`); `None` disables them.
    pub garp_master_refresh: Option<Duration>,
}

impl Config {
    /// A configuration with keepalived's defaults: VRRPv2, 1 s adverts,
    /// preemption on without delay, initial state BACKUP, no sync group,
    /// `garp_master_delay` 5 s, no refresh.
    pub const fn new(vrid: u8, priority: u8, primary_addr: IpAddr) -> Self {
        Config {
            vrid,
            priority,
            adver_int: DEFAULT_ADVER_INT,
            version: Version::V2,
            preempt: true,
            preempt_delay: Duration::ZERO,
            initial: State::Backup,
            primary_addr,
            sync_group: None,
            garp_master_delay: DEFAULT_GARP_MASTER_DELAY,
            garp_master_refresh: None,
        }
    }

    /// Rejects what no instance can run with.
    ///
    /// # Errors
    ///
    /// [`Error::Priority`] for priority 0 (reserved for release adverts),
    /// [`Error::Vrid`] for VRID 0.
    pub const fn validate(&self) -> Result<(), Error> {
        if self.priority == PRIORITY_RELEASE {
            return Err(Error::Priority);
        }
        if self.vrid == 0 {
            return Err(Error::Vrid);
        }
        Ok(())
    }
}

/// A received advertisement for one instance, already validated by the port
/// (TTL, version, VRID, checksum, authentication, lengths).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Source address of the IP packet (the sender's primary address).
    pub src: IpAddr,
    /// Advertised priority; 0 means the master is releasing.
    pub priority: u8,
    /// Advertised interval (v3: Max Adver Int; v2: Adver Int in seconds).
    pub adver_int: Duration,
}

/// Why a transition happened; carried by [`Action::Transition`] for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Reason {
    /// [`Node::start`]: leaving Initialize (priority 255 owner → MASTER,
    /// otherwise BACKUP, or FAULT when a fault is already set).
    Startup,
    /// Master_Down_Timer expired: no advert from a master for
    /// Master_Down_Interval.
    MasterDown,
    /// The master released (advert with priority 0) and Skew_Time passed.
    MasterReleased,
    /// Master_Down_Timer expired while the current master had a lower
    /// priority than ours (preemption, RFC 5798 §6.4.2).
    Preempt,
    /// A MASTER saw an advert with a higher priority.
    HigherPriority,
    /// A MASTER saw an advert with equal priority from a greater address.
    HigherAddress,
    /// A tracked interface or check failed.
    Fault,
    /// The fault cleared.
    FaultCleared,
    /// Another member of the instance's sync group moved.
    SyncGroup,
    /// [`Node::shutdown`].
    Shutdown,
    /// [`Node::retire`]: the instance was removed from the configuration.
    Retired,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Startup => "start-up",
            Reason::MasterDown => "no advert from the master for Master_Down_Interval",
            Reason::MasterReleased => "master released (priority 0)",
            Reason::Preempt => "preempting a lower-priority master",
            Reason::HigherPriority => "advert with higher priority",
            Reason::HigherAddress => "advert with equal priority from a greater address",
            Reason::Fault => "fault (tracked interface or check down)",
            Reason::FaultCleared => "fault cleared",
            Reason::SyncGroup => "sync group member moved",
            Reason::Shutdown => "shutdown",
            Reason::Retired => "removed from the configuration",
        })
    }
}

/// An effect the caller must carry out, in the order polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Send an advert for `instance` with this priority (0 on release); the
    /// port builds the packet from the instance's configuration.
    SendAdvert {
        /// Instance index.
        instance: usize,
        /// Priority to advertise.
        priority: u8,
    },
    /// Install the instance's virtual addresses and virtual routes.
    AddAddresses {
        /// Instance index.
        instance: usize,
    },
    /// Remove the instance's virtual addresses and virtual routes.
    RemoveAddresses {
        /// Instance index.
        instance: usize,
    },
    /// Send gratuitous ARPs / unsolicited neighbour advertisements for every
    /// virtual address of the instance.
    Announce {
        /// Instance index.
        instance: usize,
    },
    /// The instance changed state: log it and count it.
    Transition {
        /// Instance index.
        instance: usize,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
}

impl Action {
    /// The instance the action is about.
    pub const fn instance(&self) -> usize {
        match *self {
            Action::SendAdvert { instance, .. }
            | Action::AddAddresses { instance }
            | Action::RemoveAddresses { instance }
            | Action::Announce { instance }
            | Action::Transition { instance, .. } => instance,
        }
    }
}

/// Errors of [`Node::add_instance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// All `N` instance slots are in use.
    Capacity,
    /// Priority 0 is reserved for release adverts.
    Priority,
    /// VRID 0 is not a valid virtual router identifier.
    Vrid,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Capacity => "no free VRRP instance slot",
            Error::Priority => "priority must be 1..=255",
            Error::Vrid => "virtual router id must be 1..=255",
        })
    }
}

impl core::error::Error for Error {}

/// RFC 5798 §6.1 Skew_Time for `priority`: v2 `(256 − priority) / 256` s,
/// v3 `(256 − priority) × master_adver_int / 256`.
pub fn skew_time(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    let base = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => master_adver_int,
    };
    base.mul_div(256 - u64::from(priority), 256)
}

/// RFC 5798 §6.1 Master_Down_Interval: `3 × master_adver_int + Skew_Time`.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_int: Duration,
) -> Duration {
    master_adver_int * 3 + skew_time(version, priority, master_adver_int)
}

// `defmt` formats `core::net` addresses only with its `ip_in_core` feature,
// which this crate does not turn on: the two types holding an address are
// formatted by hand.
#[cfg(feature = "defmt")]
fn format_ip(f: defmt::Formatter<'_>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            defmt::write!(f, "{}.{}.{}.{}", a, b, c, d);
        }
        IpAddr::V6(a) => defmt::write!(f, "{=[?]:x}", &a.segments()[..]),
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Config {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Config {{ vrid: {}, priority: {}, adver_int: {}, version: {}, preempt: {}, preempt_delay: {}, initial: {}, primary_addr: ",
            self.vrid,
            self.priority,
            self.adver_int,
            self.version,
            self.preempt,
            self.preempt_delay,
            self.initial
        );
        format_ip(f, &self.primary_addr);
        defmt::write!(
            f,
            ", sync_group: {}, garp_master_delay: {}, garp_master_refresh: {} }}",
            self.sync_group,
            self.garp_master_delay,
            self.garp_master_refresh
        );
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Advert {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Advert {{ src: ");
        format_ip(f, &self.src);
        defmt::write!(
            f,
            ", priority: {}, adver_int: {} }}",
            self.priority,
            self.adver_int
        );
    }
}
