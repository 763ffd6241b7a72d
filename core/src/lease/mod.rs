//! The DHCP lease table that lease sync keeps equal on every router, with
//! explicit merge rules, sans-IO.
//!
//! # Shape
//!
//! A [`LeaseTable`] lives in storage handed in by the caller
//! (`&mut [`[`Slot`]`]`, one 48-octet slot per lease, and a byte pool of
//! [`pool_len`] octets for the leases' variable-length fields:
//! `linux-port` sizes both from `lease_capacity`, a bare-metal build can
//! use `static`s). It holds
//! dnsmasq [`Lease`]s (see [`tandem_protocol::lease`]) and the server's
//! [`Duid`]. Inputs:
//!
//! - [`LeaseTable::merge`]: one lease, from the local DHCP server or from a
//!   peer ([`Origin`]), under the merge rules below;
//! - [`LeaseTable::apply_snapshot`]: the local lease file as a whole (the
//!   master's dnsmasq rewrote it): leases gone from it are deleted, the rest
//!   merged;
//! - [`LeaseTable::remove`]: a peer's deletion;
//! - [`LeaseTable::prune`]: drop leases that have ended.
//!
//! Outputs: [`LeaseTable::poll_change`] (what to ship to the peer),
//! [`LeaseTable::write_file`] (the lease file, in dnsmasq's order),
//! [`LeaseTable::next_expiry`] (when to prune next).
//!
//! # Merge rules
//!
//! Every lease has an *address* and, usually, a *client* ([`ClientKey`]):
//! its client id if it has one, else its hardware type and address (IPv4);
//! its DUID, IAID, IA type and /64 prefix (IPv6: dnsmasq gives an IA one
//! address per DHCP range, and ranges are at least /64). The table holds
//! **at most one lease per address and at most one per client**.
//!
//! Leases are ordered by expiry, infinite last (the derived order of
//! [`Lease`]: expiry first, then the other fields, so that two different
//! leases with the same expiry still compare the same way on every router).
//! "Newer" means greater in that order.
//!
//! Merging lease `L` at wall-clock second `now`:
//!
//! 1. `L` has ended (`expiry ≤ now`, not infinite): ignored
//!    ([`Merged::Expired`]).
//! 2. The entries `L` collides with are the one at `L`'s address and the
//!    one of `L`'s client (zero, one or two entries).
//! 3. If one of them equals `L`: nothing changes ([`Merged::Unchanged`]).
//! 4. If one of them is newer than `L`: `L` is dropped and nothing changes
//!    ([`Merged::Stale`]). When the newer one is another client's lease for
//!    the same address, that is an address **conflict**, reported in
//!    [`Outcome::conflict`] (kept: the table's, dropped: `L`).
//! 5. Otherwise `L` replaces both: the same client's lease for the same
//!    address is updated in place ([`Merged::Updated`]); another client's
//!    lease for the address is removed and reported as a **conflict** (kept:
//!    `L`); the client's lease for another address is removed
//!    ([`Outcome::moved_from`]); `L` is added ([`Merged::Added`]).
//! 6. A new lease needs a free slot, and every lease its octets in the
//!    pool; if there is no room, it is reclaimed from leases that have
//!    ended, then from deletions not yet polled (counted in
//!    [`Stats::lost_deletes`]); failing that the table is full:
//!    [`TableFull`], nothing changes, [`Stats::full`] counts it.
//!
//! A lease either wins against everything it collides with or changes
//! nothing, so the table never holds two leases for one address or one
//! client. Merging the same leases again changes nothing (idempotent).
//!
//! # Change tracking
//!
//! Changes caused by [`Origin::Local`] inputs (the DHCP server on this
//! router) are queued for the sync channel, per lease: added, updated,
//! deleted. [`LeaseTable::poll_change`] hands them out, deletions first (a
//! deleted lease and its replacement for the same address then arrive in the
//! right order). A lease added and updated before it is polled is polled
//! once, as added, with its latest content. [`Origin::Remote`] inputs (a
//! peer's changes, an offline merge) are not queued, so nothing echoes back.
//! Expiry is not a change: every router prunes by its own clock. Leases
//! displaced by a merge (the loser of a conflict, a client's previous
//! address) are not queued as deletions either: the peer merging the new
//! lease displaces them by the same rule. Only leases that disappear from
//! the local file ([`LeaseTable::apply_snapshot`]) or are removed locally
//! ([`LeaseTable::remove_addr`]) become [`Change::Deleted`].
//!
//! # The server DUID
//!
//! The `duid` line is the DHCPv6 server's identity, which clients put in
//! their RENEWs. The table keeps one ([`LeaseTable::set_duid`] for the local
//! file's, [`LeaseTable::merge_duid`]: first one wins). Writing the master's
//! DUID into the backup's file makes the backup's dnsmasq adopt it (dnsmasq
//! reads its DUID from the lease file unless `dhcp-duid` is configured), so
//! IPv6 clients keep renewing with the same server identifier after a
//! failover; configuring the same `dhcp-duid` on both routers does the same.
//!
//! # Time
//!
//! Expiries are wall-clock seconds (that is what dnsmasq writes); `now` is
//! wall-clock seconds supplied by the caller, converted at the edge by
//! `linux-port`. Nothing here reads a clock.
//!
//! # Cost and panics
//!
//! Lookups are linear: [`LeaseTable::merge`] is O(capacity), a whole file
//! O(leases × capacity), a few milliseconds for a thousand leases on a
//! router. No method panics, whatever its input.

use core::fmt;
use core::net::IpAddr;

pub use tandem_protocol::lease::{Duid, Expiry, Lease, Lease4, Lease6};

mod files;
mod table;

#[cfg(test)]
mod tests;

pub use files::{merge_files, FileEvent, MergeSummary};
pub use table::{
    pool_len, DnsmasqOrder, LeaseTable, Slot, SnapshotSummary, LEASE_BYTES_MAX, POOL_PER_LEASE,
};

/// Who a lease change comes from; decides whether it is queued for the sync
/// channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Origin {
    /// This router's DHCP server (its lease file): changes are queued for
    /// [`LeaseTable::poll_change`].
    Local,
    /// A peer over the sync channel, or an offline merge: not queued.
    Remote,
}

/// The identity that the "one lease per client" rule uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientKey<'a> {
    /// An IPv4 client that sent a client identifier (option 61).
    ClientId(&'a [u8]),
    /// An IPv4 client without client identifier: its hardware address.
    HwAddr {
        /// ARP hardware type.
        htype: u16,
        /// Hardware address octets (not empty).
        addr: &'a [u8],
    },
    /// An IPv6 identity association.
    Ia {
        /// The client's DUID.
        duid: &'a [u8],
        /// The IAID.
        iaid: u32,
        /// IA_TA (temporary) rather than IA_NA.
        temporary: bool,
        /// The first 64 bits of the address (the DHCP range).
        prefix: [u8; 8],
    },
    /// Nothing identifies the client (no client id, no hardware address or
    /// DUID): only the address rule applies. Never equal to another key in
    /// the client rule.
    Anonymous,
}

impl<'a> ClientKey<'a> {
    /// The client identity of `lease`.
    pub fn of(lease: &'a Lease) -> Self {
        match lease {
            Lease::V4(l) => {
                if !l.client_id.is_empty() {
                    ClientKey::ClientId(l.client_id.as_slice())
                } else if !l.hwaddr.as_slice().is_empty() {
                    ClientKey::HwAddr {
                        htype: l.hwaddr.htype(),
                        addr: l.hwaddr.as_slice(),
                    }
                } else {
                    ClientKey::Anonymous
                }
            }
            Lease::V6(l) => {
                if l.duid.is_empty() {
                    return ClientKey::Anonymous;
                }
                let o = l.addr.octets();
                ClientKey::Ia {
                    duid: l.duid.as_slice(),
                    iaid: l.iaid,
                    temporary: l.temporary,
                    prefix: [o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]],
                }
            }
        }
    }

    /// True when both keys name the same client ([`ClientKey::Anonymous`]
    /// names nobody).
    pub fn same_client(&self, other: &ClientKey<'_>) -> bool {
        !matches!(self, ClientKey::Anonymous) && self == other
    }
}

/// What [`LeaseTable::merge`] did with a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Merged {
    /// The lease is new in the table (it may have displaced others: see
    /// [`Outcome`]).
    Added,
    /// It replaced the same client's older lease for the same address.
    Updated,
    /// The table already held exactly this lease.
    Unchanged,
    /// The table holds a newer lease for this address or client; dropped.
    Stale,
    /// The lease had already ended at `now`; ignored.
    Expired,
}

/// An address claimed by two different clients: the newer lease is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conflict {
    /// The address both leases claim.
    pub addr: IpAddr,
    /// The lease the table holds now.
    pub kept: Lease,
    /// The lease that lost (removed from the table, or never entered).
    pub dropped: Lease,
}

/// The result of one [`LeaseTable::merge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Outcome {
    /// What happened to the merged lease.
    pub merged: Merged,
    /// An address conflict, if the lease collided with another client's
    /// lease for the same address (whichever won).
    pub conflict: Option<Conflict>,
    /// The address of the same client's older lease that the merged lease
    /// replaced (the client moved to a new address).
    pub moved_from: Option<IpAddr>,
}

/// The table has no free slot for a new lease (all hold leases that have
/// not ended). Nothing was changed; [`Stats::full`] counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TableFull {
    /// The table's capacity (slots).
    pub capacity: usize,
}

impl fmt::Display for TableFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lease table full ({} leases): raise lease_capacity",
            self.capacity
        )
    }
}

impl core::error::Error for TableFull {}

/// One change to ship to the peer, from [`LeaseTable::poll_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Change {
    /// A lease the peer has not been told about.
    Added(Lease),
    /// A new version (later expiry, new hostname…) of a lease already
    /// shipped, for the same address and client.
    Updated(Lease),
    /// A lease that is gone (released, or replaced by another client's or
    /// another address's lease). The peer applies it with
    /// [`LeaseTable::remove`].
    Deleted(Lease),
}

impl Change {
    /// The lease this change is about.
    pub fn lease(&self) -> &Lease {
        match self {
            Change::Added(l) | Change::Updated(l) | Change::Deleted(l) => l,
        }
    }
}

/// What merging the server's DUID did ([`LeaseTable::merge_duid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DuidMerge {
    /// The table had no DUID; it has this one now.
    Set,
    /// The table has the same DUID.
    Same,
    /// The table has another DUID and keeps it.
    Mismatch,
}

/// Counters (saturating) for the status output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// New leases refused because the table was full.
    pub full: u32,
    /// Address conflicts between two clients.
    pub conflicts: u32,
    /// Queued deletions dropped to make room before they were polled.
    pub lost_deletes: u32,
    /// Leases dropped because they had ended (by [`LeaseTable::prune`],
    /// or reclaimed for room).
    pub expired: u32,
}
