//! Conntrack sync, sans-IO: the reliability of conntrackd's FTFW mode over
//! Tandem's authenticated sync frames ([`tandem_protocol::sync`]) — and,
//! on the same reliable stream, DHCP lease sync ([leases](#leases)).
//!
//! # Roles
//!
//! - **MASTER** ([`CtSync::become_master`]): asks for a kernel dump
//!   ([`Action::Dump`]) and streams it, bracketed by resync-begin/end
//!   records, then streams every ctnetlink event
//!   ([`CtSync::handle_ct_event`]) that passes the [`Filter`]. Reliable
//!   records wait in a fixed retransmit window (caller storage, [`TxSlot`])
//!   until every live peer acknowledged them; a nack or a retransmit
//!   timeout resends from the first missing one (go-back-N). When the
//!   window overflows, when a peer asks, when a peer comes back after being
//!   lost, or when the kernel's event queue overran
//!   ([`CtSync::handle_event_overrun`]), a **full resync** follows: a new
//!   dump streamed between resync-begin and resync-end.
//! - **BACKUP** ([`CtSync::become_backup`]): keeps what it receives in the
//!   external cache (caller storage, [`Slot`]; not in the kernel), asks the
//!   master for a full resync (retried until it starts), acknowledges
//!   received records, and asks for missing ones. At resync-end it drops
//!   every entry the resync did not send again. A full cache is counted
//!   ([`Counters::cache_full`]), never a panic.
//! - **Idle** (before either, or after [`CtSync::stop`]): sends nothing and
//!   applies nothing.
//!
//! Both roles send an alive record to every configured peer when they have
//! sent it nothing for [`Config::alive_interval`]; a peer not heard from
//! for [`Config::peer_timeout`] is lost (it no longer holds back the
//! window) and gets a full resync when it is heard again.
//!
//! # Takeover order (the port's job, the reason for one state machine)
//!
//! When the VRRP group becomes MASTER the port calls
//! [`CtSync::become_master`] **before** carrying out VRRP's
//! `AddAddresses`, and drains [`CtSync::poll_action`]: the first action is
//! [`Action::Commit`] — write every [`CtSync::cache_entries`] entry into
//! the kernel now, and only then add the VIPs and routes, announce, hand
//! DHCP over; [`Action::Dump`] follows (the resync towards the peers).
//! Report the commit's duration with [`CtSync::record_commit`]. When the
//! group becomes BACKUP (or FAULT), call [`CtSync::become_backup`]: the
//! cache is emptied and a resync requested from the new master.
//!
//! # Leases
//!
//! With a lease table attached ([`CtSync::attach_leases`]), lease
//! add/change/delete records ([`Record::LeaseAdd`](sync::Record::LeaseAdd)
//! and its siblings) travel on the same numbered stream as the conntrack
//! records, with the same acks, nacks and retransmissions — in **both**
//! directions: whichever router has local lease changes (its DHCP server
//! wrote them; normally the MASTER) sends them, and every peer merges them.
//!
//! - **Sending.** The port feeds the local DHCP server's leases into
//!   [`CtSync::leases_mut`] with [`Origin::Local`](crate::lease::Origin)
//!   (e.g. [`LeaseTable::apply_snapshot`](crate::lease::LeaseTable::apply_snapshot)
//!   when dnsmasq rewrote its file); the table queues the changes and
//!   [`CtSync::poll_transmit`] takes them into the retransmit window as
//!   far as there is room. There is no lease overflow: what does not fit
//!   stays queued in the table (one flag per lease) until acks free room.
//! - **Receiving.** Lease records are merged into the table in stream order
//!   with [`Origin::Remote`](crate::lease::Origin) (never sent back) at the
//!   wall-clock second given by [`CtSync::set_wall_clock`]; deletions go
//!   through [`LeaseTable::remove`](crate::lease::LeaseTable::remove) (only
//!   the same client's lease, never a newer one). When the table changed,
//!   [`Action::LeasesChanged`] asks the port to write the lease file (a
//!   BACKUP: its DHCP server is stopped); an address conflict is reported
//!   as [`Action::LeaseConflict`].
//! - **Whole table.** Every full conntrack resync (a MASTER's) queues the
//!   whole lease table too
//!   ([`LeaseTable::queue_all`](crate::lease::LeaseTable::queue_all)); so does a
//!   BACKUP when a peer comes up or restarts, when it is asked (a resync
//!   request; at most once per [`LEASE_RESEND_HOLDOFF`] unless the peer
//!   came up), on `tandem resync`, and when a role change dropped lease
//!   records from its window. A MASTER that hears a peer again after
//!   losing it adopts that peer's stream afresh and asks it for its leases
//!   (a resync request, repeated up to 3 times until a lease record comes).
//!   So a restarted router receives the whole table from its peer, whatever
//!   the roles.
//! - **Gaps.** A BACKUP receiver nacks missing records as for conntrack. A
//!   MASTER receiver nacks too, but gives up sooner (after 4 nacks for the
//!   same record) and asks for the peer's leases instead.
//! - **What a full resend does not repair.** A deletion lost in a gap
//!   (the peer was unreachable longer than the window lasted, or
//!   restarted) is not replayed: the receiver keeps that lease until it
//!   ends (an address stays reserved too long, never handed out twice).
//!
//! Memory: a lease record takes one window slot ([`TxSlot`]) plus its
//! encoded lease in the caller's byte ring (its wire size, about 35 octets
//! for an IPv4 lease, at most [`Lease::ENCODED_MAX`](tandem_protocol::lease::Lease::ENCODED_MAX));
//! [`DEFAULT_LEASE_RING`] (4 KiB) holds over 100 typical leases in flight.
//! Leases are not copied into the window slots (a [`Record`](sync::Record)
//! with a lease is 368 octets, nine times a slot). The table itself is the
//! caller's ([`crate::lease::Slot`], 48 octets a lease plus about 48 in its pool).
//!
//! - **Server DUID.** The table's DUID (the lease file's `duid` line, set
//!   by the port with [`LeaseTable::set_duid`](crate::lease::LeaseTable::set_duid))
//!   travels as a reliable [`Record::LeaseDuid`](sync::Record::LeaseDuid)
//!   in the lease ring whenever it changes and with every whole-table
//!   resend. A BACKUP adopts the peer's DUID (its DHCP server then starts
//!   with the master's identity, so DHCPv6 clients keep renewing with the
//!   same server identifier); a MASTER keeps the first one it knows
//!   ([`LeaseTable::merge_duid`](crate::lease::LeaseTable::merge_duid)).
//!   Either way a change raises [`Action::LeasesChanged`] and counts as a
//!   received lease record; an adopted DUID is not sent back.
//!
//! # Call-order contract (quinn-proto style)
//!
//! After **every** input (`become_*`, `stop`, `request_resync`,
//! `handle_*`), drain [`CtSync::poll_action`] and then
//! [`CtSync::poll_transmit`] until they return `None`, and re-read
//! [`CtSync::poll_timeout`]; call [`CtSync::handle_timeout`] when it
//! passes (spurious calls are no-ops). Send each [`Transmit`] to the
//! configured peer it names. Frame buffers must be at least
//! [`MIN_FRAME_LEN`](tandem_protocol::sync::MIN_FRAME_LEN) octets; their
//! length is the frame size limit (the sync link's MTU minus IP and UDP
//! headers: 1472 on Ethernet with IPv4, 1452 with IPv6).
//!
//! # Memory and time
//!
//! Fixed: the caller's slots, [`MAX_PEERS`] peers, an action queue of
//! [`ACTION_QUEUE`]. Cache lookups cost at most [`PROBE_LIMIT`] probes; a
//! frame is built in O(records in it); a resync-end purge is O(cache
//! slots).
//!
//! The cache keeps entries packed (a format close to the sync record's,
//! but lossless and self-contained) in 48-octet [`Slot`]s that also hold
//! the hash index: a masqueraded TCP/IPv4 connection packs into about 26
//! octets and takes one slot, a TCP/IPv6 one about 47 octets and two
//! slots, the longest entry (IPv6, both NATs, or a reply tuple kept in
//! full) at most four. For a `conntrack_capacity` of 16 384 the port gives
//! 20 480 slots (a quarter more, room for IPv6 entries): 960 KiB, where
//! the unpacked cache took 116 octets a slot, 2.3 MiB
//! (`cargo test -p tandem-core -- bytes_per_entry --nocapture` prints the
//! figures).
//!
//! The retransmit window keeps its conntrack records packed the same way,
//! in 40-octet [`TxSlot`]s: a NAT'd IPv4 event (with the kernel's id) takes
//! one slot, an IPv6 one two or three, any other record one; the port's
//! 4 096 slots take 160 KiB (448 KiB with the 112-octet unpacked slots).
//! [`CtSync::window_capacity`] and [`CtSync::dump_space`] count slots,
//! [`CtSync::window_len`] records.
//!
//! Empty slots of both are all zero bits and [`CtSync::new`] writes only
//! slots that are not empty: storage from a zeroing allocator (`calloc`,
//! fresh anonymous pages) becomes resident only as it fills (the port's
//! master keeps its cache at 0 KiB resident).
//!
//! | table (port defaults) | bytes/slot before | after | slots | bytes after |
//! |---|---:|---:|---:|---:|
//! | conntrack cache (`conntrack_capacity` 16 384 + ¼) | 116 | 48 | 20 480 | 983 040 (was 2 375 680) |
//! | retransmit window | 112 | 40 | 4 096 | 163 840 (was 458 752) |
//!
//! # Panics
//!
//! None, whatever the input: bad frames are counted and reported as a
//! [`Drop`]; out-of-range peer indices are a [`Drop::UnknownPeer`].

use core::fmt;
use core::net::IpAddr;

use tandem_protocol::sync;

use crate::time::Duration;

mod cache;
mod filter;
mod node;
mod packed;
mod window;

#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use cache::{Slot, PROBE_LIMIT};
pub use filter::{Filter, MAX_IGNORED};
pub use node::CtSync;
pub use window::TxSlot;

/// Most peers of one router (`peer_address` lines).
pub const MAX_PEERS: usize = 4;

/// Slots in the action queue. [`Action::Commit`], [`Action::Dump`] and
/// [`Action::LeasesChanged`] are never dropped (they are queued at most
/// once each); informational
/// actions are dropped first when a caller does not drain the queue.
pub const ACTION_QUEUE: usize = 16;

/// A dump leaves `1 / DUMP_RESERVE` of the retransmit window free for the
/// events that arrive while it runs (otherwise each of them would overflow
/// the window and ask for yet another resync).
pub const DUMP_RESERVE: usize = 2;

/// Default [`Config::alive_interval`].
pub const DEFAULT_ALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`Config::peer_timeout`].
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// Default [`Config::retransmit_timeout`].
pub const DEFAULT_RETRANSMIT_TIMEOUT: Duration = Duration::from_millis(200);
/// Default [`Config::ack_delay`].
pub const DEFAULT_ACK_DELAY: Duration = Duration::from_millis(10);
/// Default [`Config::resync_retry`].
pub const DEFAULT_RESYNC_RETRY: Duration = Duration::from_secs(1);

/// A suggested lease ring ([`CtSync::attach_leases`]) in octets: over 100
/// typical IPv4 leases in flight, and always room for the longest one
/// ([`Lease::ENCODED_MAX`](tandem_protocol::lease::Lease::ENCODED_MAX)).
pub const DEFAULT_LEASE_RING: usize = 4096;

/// A peer's resync request, or a nack for lease records gone from the
/// window, queues the whole lease table again at most this often (a BACKUP
/// asks every [`Config::resync_retry`] until a MASTER's resync begins,
/// which another BACKUP never sends).
pub const LEASE_RESEND_HOLDOFF: Duration = Duration::from_secs(4);

/// How one router takes part in conntrack sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// This router's id in frame headers (the port uses its local sync
    /// address); frames carrying it are dropped as our own.
    pub sender_id: u32,
    /// This run's epoch: must be greater than in any earlier run (the port
    /// persists a counter, or uses the wall clock at start-up), otherwise
    /// peers drop our frames as [`sync::Error::OldEpoch`] until they
    /// restart.
    pub epoch: u32,
    /// Number of configured peers, 1..=[`MAX_PEERS`] (more are ignored);
    /// [`CtSync::handle_datagram`] and [`Transmit::peer`] use indices into
    /// the port's peer list.
    pub peers: usize,
    /// Send an alive record to a peer that was sent nothing for this long.
    pub alive_interval: Duration,
    /// A peer not heard from for this long is lost.
    pub peer_timeout: Duration,
    /// Resend unacknowledged records after this long without progress.
    pub retransmit_timeout: Duration,
    /// Acknowledge received records at the latest this long after them
    /// (at once after [`Config::ack_every`] frames).
    pub ack_delay: Duration,
    /// Acknowledge at once after this many frames with new records.
    pub ack_every: u32,
    /// Repeat a resync request this often until the resync starts.
    pub resync_retry: Duration,
}

impl Config {
    /// A configuration with the default timers.
    pub const fn new(sender_id: u32, epoch: u32, peers: usize) -> Config {
        Config {
            sender_id,
            epoch,
            peers,
            alive_interval: DEFAULT_ALIVE_INTERVAL,
            peer_timeout: DEFAULT_PEER_TIMEOUT,
            retransmit_timeout: DEFAULT_RETRANSMIT_TIMEOUT,
            ack_delay: DEFAULT_ACK_DELAY,
            ack_every: 4,
            resync_retry: DEFAULT_RESYNC_RETRY,
        }
    }
}

/// The sync role, following the VRRP group's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Not started or stopped: nothing sent, nothing applied.
    Idle,
    /// Streams the kernel table to the peers.
    Master,
    /// Keeps the external cache.
    Backup,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Idle => "idle",
            Role::Master => "master",
            Role::Backup => "backup",
        })
    }
}

/// A ctnetlink event's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EventKind {
    /// `IPCTNL_MSG_CT_NEW` with `NLM_F_CREATE`: a new connection.
    New,
    /// `IPCTNL_MSG_CT_NEW` without it: a changed connection.
    Update,
    /// `IPCTNL_MSG_CT_DELETE`: a connection gone.
    Destroy,
}

/// An effect the caller must carry out, in the order polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Action {
    /// Write every entry of [`CtSync::cache_entries`] into the kernel
    /// (`IPCTNL_MSG_CT_NEW` with create; TCP with the liberal window
    /// flags), **before** adding the VIPs; then call
    /// [`CtSync::record_commit`].
    Commit,
    /// Dump the kernel's table and feed it to
    /// [`CtSync::handle_dump_entry`], then [`CtSync::handle_dump_done`].
    Dump,
    /// A peer was heard from for the first time, or again after being lost.
    PeerUp {
        /// Peer index.
        peer: usize,
    },
    /// A peer was not heard from for [`Config::peer_timeout`].
    PeerLost {
        /// Peer index.
        peer: usize,
    },
    /// A peer restarted (its epoch grew).
    PeerRestarted {
        /// Peer index.
        peer: usize,
    },
    /// This backup completed a full resync: the cache now mirrors the
    /// master's table.
    ResyncComplete {
        /// Entries in the cache.
        entries: u32,
    },
    /// A peer's lease records changed the lease table
    /// ([`CtSync::leases`]): a BACKUP writes its lease file from it
    /// (temp file + rename). Queued once until polled, never dropped.
    LeasesChanged,
    /// A peer's lease claims an address that another client's lease holds;
    /// the newer lease was kept (counted in [`Counters::lease_conflicts`]).
    LeaseConflict {
        /// The address both clients claim.
        addr: IpAddr,
    },
}

/// A frame to send: `buf[..len]` to the configured peer `peer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit {
    /// Peer index (into the port's peer list).
    pub peer: usize,
    /// Frame length.
    pub len: usize,
}

/// Why [`CtSync::handle_datagram`] dropped a datagram (each reason is
/// also counted in [`Counters::dropped`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Drop {
    /// The frame was refused: format, MAC, epoch, replay, body.
    Frame(sync::Error),
    /// The peer index is not a configured peer.
    UnknownPeer,
    /// The frame carries our own sender id (a reflection, or a peer
    /// misconfigured with our address).
    Own,
    /// Received while [`Role::Idle`].
    Idle,
}

impl fmt::Display for Drop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drop::Frame(e) => fmt::Display::fmt(e, f),
            Drop::UnknownPeer => f.write_str("not from a configured peer"),
            Drop::Own => f.write_str("frame with our own sender id"),
            Drop::Idle => f.write_str("sync not started"),
        }
    }
}

impl core::error::Error for Drop {}

/// Why [`CtSync::handle_dump_entry`] did not take an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DumpError {
    /// The retransmit window is full: keep the entry and offer it again
    /// after the next inputs ([`CtSync::dump_space`] says when).
    WindowFull,
    /// No dump was asked for (any more): stop feeding this dump.
    NotDumping,
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DumpError::WindowFull => "retransmit window full",
            DumpError::NotDumping => "no dump in progress",
        })
    }
}

impl core::error::Error for DumpError {}

/// A fixed-capacity container was full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapacityError;

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("capacity exceeded")
    }
}

impl core::error::Error for CapacityError {}

/// Frames dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Drops {
    /// Too short, bad magic, version or flags.
    pub bad_header: u64,
    /// Bad MAC (wrong key, altered, garbage).
    pub bad_mac: u64,
    /// From an older epoch of the peer.
    pub old_epoch: u64,
    /// Frame number already seen (replay).
    pub duplicate: u64,
    /// Frame number below the replay window.
    pub too_old: u64,
    /// Undecodable body (authentic, so a version mismatch or a bug).
    pub bad_body: u64,
    /// Our own sender id.
    pub own: u64,
    /// Not from a configured peer.
    pub unknown_peer: u64,
    /// Received while idle.
    pub idle: u64,
}

impl Drops {
    /// Frames dropped for any reason.
    pub fn total(&self) -> u64 {
        self.bad_header
            + self.bad_mac
            + self.old_epoch
            + self.duplicate
            + self.too_old
            + self.bad_body
            + self.own
            + self.unknown_peer
            + self.idle
    }
}

/// The last commit of the cache into the kernel, as reported by the port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CommitReport {
    /// How long it took until the kernel held every entry.
    pub took: Duration,
    /// Entries committed.
    pub committed: u32,
    /// Entries the kernel refused.
    pub failed: u32,
}

/// What happened so far (for `tandem status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Counters {
    /// Frames sent.
    pub frames_sent: u64,
    /// Octets sent (UDP payload).
    pub bytes_sent: u64,
    /// Frames received and accepted.
    pub frames_received: u64,
    /// Octets received in accepted frames.
    pub bytes_received: u64,
    /// Reliable records sent for the first time.
    pub records_sent: u64,
    /// Reliable records sent again (after a nack or a timeout).
    pub records_resent: u64,
    /// Reliable records received in order and applied.
    pub records_received: u64,
    /// Reliable records received again (already applied).
    pub records_duplicate: u64,
    /// Frames dropped, by reason.
    pub dropped: Drops,
    /// Events not sent: their protocol or an address is filtered out.
    pub events_filtered: u64,
    /// Events received while not MASTER (ignored).
    pub events_ignored: u64,
    /// Events or dump entries that could not be encoded (mixed families).
    pub unencodable: u64,
    /// Events that found the retransmit window full (each one leads to a
    /// full resync).
    pub window_overflows: u64,
    /// Kernel event queue overruns reported by the port (ENOBUFS).
    pub event_overruns: u64,
    /// Entries a BACKUP could not cache (full: see [`PROBE_LIMIT`]).
    pub cache_full: u64,
    /// Entries dropped by resync-end because the resync did not send them.
    pub cache_purged: u64,
    /// Full resyncs started (MASTER).
    pub resyncs_started: u64,
    /// Full resyncs completed (BACKUP).
    pub resyncs_completed: u64,
    /// Resync requests sent (BACKUP; repeated until the resync starts).
    pub resync_requests_sent: u64,
    /// Resync requests received (MASTER).
    pub resync_requests_received: u64,
    /// Nacks sent.
    pub nacks_sent: u64,
    /// Nacks received.
    pub nacks_received: u64,
    /// Retransmit timeouts (resends without a nack).
    pub retransmit_timeouts: u64,
    /// Peers lost (not heard from for the peer timeout).
    pub peers_lost: u64,
    /// Informational actions dropped because the queue was full.
    pub actions_dropped: u64,
    /// Local lease changes taken from the table into the window.
    pub lease_changes_sent: u64,
    /// Lease records received in order and merged (or removed).
    pub lease_records_received: u64,
    /// Lease records received without a lease table (ignored).
    pub lease_records_ignored: u64,
    /// Peers' leases that conflicted with another client's lease.
    pub lease_conflicts: u64,
    /// Peers' leases refused because the lease table was full.
    pub lease_table_full: u64,
    /// Times the whole lease table was queued for the peers.
    pub lease_resends: u64,
    /// Lease requests sent (MASTER, after hearing a peer again).
    pub lease_requests_sent: u64,
    /// Lease changes that did not fit a lease ring shorter than
    /// [`Lease::ENCODED_MAX`](tandem_protocol::lease::Lease::ENCODED_MAX) (dropped).
    pub leases_unsendable: u64,
    /// The last commit, if any.
    pub last_commit: Option<CommitReport>,
}
