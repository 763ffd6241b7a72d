//! What `tandem status` shows, formatted as text or JSON into any
//! `fmt::Write` (the daemon uses a preallocated [`crate::buf::Buf`], so
//! answering a status request does not allocate).
//!
//! JSON shape (stable; tests and scripts rely on it):
//! ```text
//! {"pid":1,"now_ms":5000,"uptime_ms":4000,"allocations":0,
//!  "startup_allocations":57,"reloads":0,"config":"/etc/k.conf",
//!  "instances":[{"name":"I1","interface":"br-lan","family":"ipv4",
//!    "vrrp_version":2,"vrid":51,"sync_group":"G1","state":"MASTER",
//!    "priority":101,"effective_priority":101,"master":"192.168.1.2",
//!    "master_is_self":true,"received":10,"sent":20,"send_errors":0,
//!    "dropped":{"total":1,"ttl":0,"version":0,"checksum":0,"auth":1,
//!               "interval":0,"malformed":0},
//!    "address_list_mismatch":0,"transitions":2,
//!    "last_transition":{"from":"BACKUP","to":"MASTER","reason":"...",
//!      "reason_code":"MasterDown","at_ms":1000,"ago_ms":4000}}],
//!  "interfaces":[{"name":"br-lan","ifindex":3,"up":true,"unknown_vrid":0}],
//!  "sync":{"role":"backup","local_address":"10.255.0.1","port":3780,
//!    "interface":"sync0","frame_len":1472,"epoch":123456,
//!    "peers":[{"address":"10.255.0.2","live":true}],
//!    "cache":{"entries":298,"capacity":16384,"slots":20480,"purged":2},
//!    "window":{"records":0,"capacity":4096},
//!    "sent":{"frames":5,"bytes":400,"records":0,"resent":0,"errors":0},
//!    "received":{"frames":9,"bytes":9000,"records":300,"duplicate":0},
//!    "dropped":{"total":1,"bad_header":0,"bad_mac":1,"old_epoch":0,
//!      "duplicate":0,"too_old":0,"bad_body":0,"own":0,"unknown_peer":0,"idle":0},
//!    "events":{"received":0,"filtered":0,"ignored":0,"unencodable":0},
//!    "resync_pending":false,"resyncs_started":0,"resyncs_completed":1,
//!    "resync_requests_sent":1,"resync_requests_received":0,"dumped":0,
//!    "window_overflows":0,"event_overruns":0,"cache_full":0,
//!    "retransmit_timeouts":0,"nacks_sent":0,"nacks_received":0,"peers_lost":0,
//!    "last_commit":{"committed":10000,"updated":0,"failed":0,"took_us":41234,
//!      "at_ms":1000,"ago_ms":4000},
//!    "leases":{"file":"/tmp/dhcp.leases","entries":20,"capacity":1024,
//!      "in_flight":0,"pending":0,"duid":true,"sent":20,"received":0,
//!      "conflicts":0,"table_full":0,"resends":1,"file_reads":7,"bad_lines":0,
//!      "file_errors":0,"file_writes":0,"last_read_ms":4900,"last_write_ms":null,
//!      "commands":1,"command_failures":0,"running":null,
//!      "last_command":{"command":"dhcp_master_command","exit":0,"signal":null},
//!      "remasters":0}}}
//! ```
//! `leases` is `null` without `lease_file`: `entries`/`capacity` the lease
//! table (`lease_capacity`), `sent` the local changes streamed, `received`
//! the peer's lease records merged, `last_read_ms`/`last_write_ms` when the
//! lease file was last read (MASTER) or written (BACKUP, takeover),
//! `running` the DHCP command running now, `remasters` the takeovers
//! redone because the peer's leases came after them.
//! `master` and `last_transition` are `null` while unknown; times are
//! `CLOCK_MONOTONIC` milliseconds. `sync` is `null` without a
//! `tandem_sync` block; its `last_commit` is `null` before the first
//! commit (taking over as MASTER). Sync counters follow
//! `tandem_core::ctsync::Counters`: `sent.records` are reliable records
//! sent once, `sent.resent` those sent again; `dropped` counts refused
//! datagrams by reason (`bad_mac`: wrong key or altered; `duplicate` /
//! `too_old`: replays). `allocations` counts heap allocations
//! since start-up finished, reloads included (never reset): 0 is the
//! promise. `startup_allocations` counts those made during start-up
//! (non-zero: it shows the counter works); `reloads` counts SIGHUPs.

use crate::buf::{json_display, json_str};
use std::fmt::{self, Display};
use std::net::IpAddr;

/// Received adverts dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// TTL / hop limit not 255.
    pub ttl: u64,
    /// Version field not the instance's version.
    pub version: u64,
    /// Checksum did not verify.
    pub checksum: u64,
    /// Wrong authentication type or password.
    pub auth: u64,
    /// VRRPv2 advertisement interval differs from ours.
    pub interval: u64,
    /// Any other malformation (length, type, count...).
    pub malformed: u64,
}

impl Drops {
    /// Sum of all reasons.
    pub fn total(&self) -> u64 {
        self.ttl + self.version + self.checksum + self.auth + self.interval + self.malformed
    }
}

/// Per-instance counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Adverts received for this instance (before checks).
    pub received: u64,
    /// Adverts sent.
    pub sent: u64,
    /// Adverts that could not be sent (no source address, socket error).
    pub send_errors: u64,
    /// Adverts dropped, by reason.
    pub dropped: Drops,
    /// Adverts accepted whose address list differs from ours (keepalived
    /// logs and accepts these).
    pub address_list_mismatch: u64,
    /// State changes.
    pub transitions: u32,
}

/// The last state change of an instance.
#[derive(Clone, Copy)]
pub struct Transition<'a> {
    /// Previous state.
    pub from: &'a dyn Display,
    /// New state.
    pub to: &'a dyn Display,
    /// Why (core's `Reason`).
    pub reason: &'a dyn Display,
    /// The reason as a stable identifier (`Debug` of core's `Reason`).
    pub reason_code: &'a dyn fmt::Debug,
    /// When, monotonic ms.
    pub at_ms: u64,
}

/// One instance as shown.
#[derive(Clone, Copy)]
pub struct InstanceStatus<'a> {
    /// Instance name.
    pub name: &'a str,
    /// Its interface.
    pub interface: &'a str,
    /// IPv6 instance?
    pub ipv6: bool,
    /// 2 or 3.
    pub vrrp_version: u8,
    /// VRID.
    pub vrid: u8,
    /// Sync group name.
    pub sync_group: Option<&'a str>,
    /// State name (`MASTER`, `BACKUP`, `FAULT`, `INIT`).
    pub state: &'a dyn Display,
    /// Configured priority.
    pub priority: u8,
    /// Effective priority (after tracked-interface weights).
    pub effective_priority: u8,
    /// Address of the current master, if known.
    pub master: Option<IpAddr>,
    /// Whether that master is this router.
    pub master_is_self: bool,
    /// Counters.
    pub counters: Counters,
    /// The last state change.
    pub last: Option<Transition<'a>>,
}

/// One watched interface as shown.
#[derive(Clone, Copy, Debug)]
pub struct IfaceStatus<'a> {
    /// Name.
    pub name: &'a str,
    /// Index, if the interface exists.
    pub ifindex: Option<u32>,
    /// Link up (IFF_UP and IFF_RUNNING).
    pub up: bool,
    /// Adverts received on it for a VRID no instance has.
    pub unknown_vrid: u64,
}

/// The last commit of the conntrack cache into the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStatus {
    /// Entries the kernel holds afterwards (created or updated).
    pub entries: u32,
    /// Of those, entries that existed and were updated.
    pub updated: u32,
    /// Entries the kernel refused.
    pub failed: u32,
    /// Duration in microseconds.
    pub took_us: u64,
    /// When, monotonic ms.
    pub at_ms: u64,
}

/// The conntrack sync channel as shown.
#[derive(Clone, Copy)]
pub struct SyncStatus<'a> {
    /// Role (`master`, `backup`, `idle`).
    pub role: &'a dyn Display,
    /// Local sync address.
    pub local: IpAddr,
    /// UDP port.
    pub port: u16,
    /// Sync interface, if bound to one.
    pub interface: Option<&'a str>,
    /// Frame size limit.
    pub frame_len: usize,
    /// This run's epoch.
    pub epoch: u32,
    /// Peers and whether each is live.
    pub peers: &'a [(IpAddr, bool)],
    /// The core's counters.
    pub counters: &'a tandem_core::ctsync::Counters,
    /// Entries in the external cache.
    pub cache_entries: usize,
    /// Configured capacity (`conntrack_capacity`).
    pub cache_capacity: u32,
    /// Hash table slots behind it.
    pub cache_slots: usize,
    /// Records in the retransmit window.
    pub window: usize,
    /// Slots of the retransmit window.
    pub window_capacity: usize,
    /// ctnetlink events read.
    pub events: u64,
    /// Frames the socket refused.
    pub send_errors: u64,
    /// Entries dumped for resyncs.
    pub dumped: u64,
    /// A resync is running or awaited.
    pub resync_pending: bool,
    /// The last commit.
    pub commit: Option<CommitStatus>,
    /// Lease sync, if `lease_file` is configured.
    pub leases: Option<LeaseStatus<'a>>,
}

/// The lease side of the sync (`lease_file`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaseStatus<'a> {
    /// The lease file.
    pub file: &'a str,
    /// Leases in the table.
    pub entries: usize,
    /// `lease_capacity`.
    pub capacity: usize,
    /// Lease records not yet acknowledged.
    pub in_flight: usize,
    /// Local changes not yet taken into the window.
    pub pending: usize,
    /// The table knows the server DUID.
    pub duid: bool,
    /// Lease file reads applied.
    pub file_reads: u64,
    /// Bad lines left out.
    pub bad_lines: u64,
    /// Failed reads or writes.
    pub file_errors: u64,
    /// Lease file writes.
    pub file_writes: u64,
    /// Last read (monotonic ms).
    pub last_read_ms: Option<u64>,
    /// Last write (monotonic ms).
    pub last_write_ms: Option<u64>,
    /// Commands started.
    pub commands: u64,
    /// Commands that failed.
    pub command_failures: u64,
    /// The command running now (its keyword).
    pub running: Option<&'static str>,
    /// The last command that ended: keyword, exit code or signal.
    pub last_command: Option<(&'static str, Option<i32>, Option<i32>)>,
    /// Takeovers redone.
    pub remasters: u64,
}

fn json_opt(w: &mut dyn fmt::Write, v: Option<impl Display>) -> fmt::Result {
    match v {
        Some(v) => write!(w, "{v}"),
        None => w.write_str("null"),
    }
}

fn lease_text(
    w: &mut dyn fmt::Write,
    h: &Header<'_>,
    c: &tandem_core::ctsync::Counters,
    l: &LeaseStatus<'_>,
) -> fmt::Result {
    writeln!(
        w,
        "  leases {} of {} ({} in flight, {} pending{}), sent {}, received {}, conflicts {}, table full {}, resends {}",
        l.entries,
        l.capacity,
        l.in_flight,
        l.pending,
        if l.duid { ", server duid known" } else { "" },
        c.lease_changes_sent,
        c.lease_records_received,
        c.lease_conflicts,
        c.lease_table_full,
        c.lease_resends
    )?;
    write!(
        w,
        "  lease file {}: {} reads ({} bad lines), {} writes, {} errors, last write ",
        l.file, l.file_reads, l.bad_lines, l.file_writes, l.file_errors
    )?;
    match l.last_write_ms {
        Some(at) => write!(w, "{} ago", secs(h.now_ms.saturating_sub(at)))?,
        None => w.write_str("never")?,
    }
    write!(
        w,
        "; dhcp commands {} ({} failed, {} remasters)",
        l.commands, l.command_failures, l.remasters
    )?;
    if let Some(r) = l.running {
        write!(w, ", {r} running")?;
    }
    if let Some((k, code, sig)) = l.last_command {
        match (code, sig) {
            (_, Some(s)) => write!(w, ", last {k} killed by signal {s}")?,
            (Some(c), None) => write!(w, ", last {k} exit {c}")?,
            _ => {}
        }
    }
    writeln!(w)
}

fn lease_json(
    w: &mut dyn fmt::Write,
    c: &tandem_core::ctsync::Counters,
    l: &LeaseStatus<'_>,
) -> fmt::Result {
    w.write_str("{\"file\":")?;
    json_str(w, l.file)?;
    write!(
        w,
        ",\"entries\":{},\"capacity\":{},\"in_flight\":{},\"pending\":{},\"duid\":{},\"sent\":{},\"received\":{},\"conflicts\":{},\"table_full\":{},\"resends\":{},\"file_reads\":{},\"bad_lines\":{},\"file_errors\":{},\"file_writes\":{},\"last_read_ms\":",
        l.entries,
        l.capacity,
        l.in_flight,
        l.pending,
        l.duid,
        c.lease_changes_sent,
        c.lease_records_received,
        c.lease_conflicts,
        c.lease_table_full,
        c.lease_resends,
        l.file_reads,
        l.bad_lines,
        l.file_errors,
        l.file_writes
    )?;
    json_opt(w, l.last_read_ms)?;
    w.write_str(",\"last_write_ms\":")?;
    json_opt(w, l.last_write_ms)?;
    write!(
        w,
        ",\"commands\":{},\"command_failures\":{},\"running\":",
        l.commands, l.command_failures
    )?;
    match l.running {
        Some(r) => write!(w, "\"{r}\"")?,
        None => w.write_str("null")?,
    }
    w.write_str(",\"last_command\":")?;
    match l.last_command {
        Some((k, code, sig)) => {
            write!(w, "{{\"command\":\"{k}\",\"exit\":")?;
            json_opt(w, code)?;
            w.write_str(",\"signal\":")?;
            json_opt(w, sig)?;
            w.write_char('}')?;
        }
        None => w.write_str("null")?,
    }
    write!(w, ",\"remasters\":{}}}", l.remasters)
}

fn sync_dropped_total(d: &tandem_core::ctsync::Drops) -> u64 {
    d.bad_header
        + d.bad_mac
        + d.old_epoch
        + d.duplicate
        + d.too_old
        + d.bad_body
        + d.own
        + d.unknown_peer
        + d.idle
}

fn sync_text(w: &mut dyn fmt::Write, h: &Header<'_>, s: &SyncStatus<'_>) -> fmt::Result {
    let c = s.counters;
    let d = &c.dropped;
    write!(w, "conntrack sync: {}, {} port {}", s.role, s.local, s.port)?;
    if let Some(i) = s.interface {
        write!(w, " on {i}")?;
    }
    write!(
        w,
        " (frames up to {} bytes, epoch {}), peers",
        s.frame_len, s.epoch
    )?;
    for (a, live) in s.peers {
        write!(w, " {a} ({})", if *live { "up" } else { "down" })?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "  sent {} frames ({} bytes, {} records, {} resent, {} errors), received {} frames ({} bytes, {} records, {} duplicate)",
        c.frames_sent,
        c.bytes_sent,
        c.records_sent,
        c.records_resent,
        s.send_errors,
        c.frames_received,
        c.bytes_received,
        c.records_received,
        c.records_duplicate
    )?;
    writeln!(
        w,
        "  dropped {} (header {}, mac {}, old epoch {}, duplicate {}, too old {}, body {}, own {}, unknown peer {}, not started {})",
        sync_dropped_total(d),
        d.bad_header,
        d.bad_mac,
        d.old_epoch,
        d.duplicate,
        d.too_old,
        d.bad_body,
        d.own,
        d.unknown_peer,
        d.idle
    )?;
    writeln!(
        w,
        "  cache {} of {} entries ({} slots, {} full, {} purged), window {} of {} ({} overflows)",
        s.cache_entries,
        s.cache_capacity,
        s.cache_slots,
        c.cache_full,
        c.cache_purged,
        s.window,
        s.window_capacity,
        c.window_overflows
    )?;
    writeln!(
        w,
        "  events {} ({} filtered, {} ignored, {} overruns), resyncs {} started, {} completed{}, requests {} sent, {} received, nacks {} sent, {} received, retransmit timeouts {}, peers lost {}",
        s.events,
        c.events_filtered,
        c.events_ignored,
        c.event_overruns,
        c.resyncs_started,
        c.resyncs_completed,
        if s.resync_pending { " (one pending)" } else { "" },
        c.resync_requests_sent,
        c.resync_requests_received,
        c.nacks_sent,
        c.nacks_received,
        c.retransmit_timeouts,
        c.peers_lost
    )?;
    match &s.commit {
        Some(m) => writeln!(
            w,
            "  last commit: {} entries ({} updated, {} refused) in {}.{:03} ms, {} ago",
            m.entries,
            m.updated,
            m.failed,
            m.took_us / 1000,
            m.took_us % 1000,
            secs(h.now_ms.saturating_sub(m.at_ms))
        )?,
        None => writeln!(w, "  last commit: none")?,
    }
    match &s.leases {
        Some(l) => lease_text(w, h, c, l),
        None => Ok(()),
    }
}

fn sync_json(w: &mut dyn fmt::Write, h: &Header<'_>, s: &SyncStatus<'_>) -> fmt::Result {
    let c = s.counters;
    let d = &c.dropped;
    w.write_str("{\"role\":")?;
    json_display(w, s.role)?;
    write!(
        w,
        ",\"local_address\":\"{}\",\"port\":{},\"interface\":",
        s.local, s.port
    )?;
    match s.interface {
        Some(i) => json_str(w, i)?,
        None => w.write_str("null")?,
    }
    write!(
        w,
        ",\"frame_len\":{},\"epoch\":{},\"peers\":[",
        s.frame_len, s.epoch
    )?;
    for (n, (a, live)) in s.peers.iter().enumerate() {
        if n > 0 {
            w.write_char(',')?;
        }
        write!(w, "{{\"address\":\"{a}\",\"live\":{live}}}")?;
    }
    write!(
        w,
        "],\"cache\":{{\"entries\":{},\"capacity\":{},\"slots\":{},\"purged\":{}}},\"window\":{{\"records\":{},\"capacity\":{}}}",
        s.cache_entries, s.cache_capacity, s.cache_slots, c.cache_purged, s.window, s.window_capacity,
    )?;
    write!(
        w,
        ",\"sent\":{{\"frames\":{},\"bytes\":{},\"records\":{},\"resent\":{},\"errors\":{}}},\"received\":{{\"frames\":{},\"bytes\":{},\"records\":{},\"duplicate\":{}}}",
        c.frames_sent,
        c.bytes_sent,
        c.records_sent,
        c.records_resent,
        s.send_errors,
        c.frames_received,
        c.bytes_received,
        c.records_received,
        c.records_duplicate
    )?;
    write!(
        w,
        ",\"dropped\":{{\"total\":{},\"bad_header\":{},\"bad_mac\":{},\"old_epoch\":{},\"duplicate\":{},\"too_old\":{},\"bad_body\":{},\"own\":{},\"unknown_peer\":{},\"idle\":{}}}",
        sync_dropped_total(d),
        d.bad_header,
        d.bad_mac,
        d.old_epoch,
        d.duplicate,
        d.too_old,
        d.bad_body,
        d.own,
        d.unknown_peer,
        d.idle
    )?;
    write!(
        w,
        ",\"events\":{{\"received\":{},\"filtered\":{},\"ignored\":{},\"unencodable\":{}}}",
        s.events, c.events_filtered, c.events_ignored, c.unencodable,
    )?;
    write!(
        w,
        ",\"resync_pending\":{},\"resyncs_started\":{},\"resyncs_completed\":{},\"resync_requests_sent\":{},\"resync_requests_received\":{},\"dumped\":{},\"window_overflows\":{},\"event_overruns\":{},\"cache_full\":{},\"retransmit_timeouts\":{},\"nacks_sent\":{},\"nacks_received\":{},\"peers_lost\":{},\"last_commit\":",
        s.resync_pending,
        c.resyncs_started,
        c.resyncs_completed,
        c.resync_requests_sent,
        c.resync_requests_received,
        s.dumped,
        c.window_overflows,
        c.event_overruns,
        c.cache_full,
        c.retransmit_timeouts,
        c.nacks_sent,
        c.nacks_received,
        c.peers_lost
    )?;
    match &s.commit {
        Some(m) => write!(
            w,
            "{{\"committed\":{},\"updated\":{},\"failed\":{},\"took_us\":{},\"at_ms\":{},\"ago_ms\":{}}}",
            m.entries,
            m.updated,
            m.failed,
            m.took_us,
            m.at_ms,
            h.now_ms.saturating_sub(m.at_ms)
        )?,
        None => w.write_str("null")?,
    }
    w.write_str(",\"leases\":")?;
    match &s.leases {
        Some(l) => lease_json(w, c, l)?,
        None => w.write_str("null")?,
    }
    w.write_char('}')
}

/// Daemon-wide facts.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    /// Process id.
    pub pid: u32,
    /// Now, monotonic ms.
    pub now_ms: u64,
    /// Since start, ms.
    pub uptime_ms: u64,
    /// The configuration file.
    pub config: &'a str,
    /// Heap allocations since the end of start-up, reloads included (never
    /// reset): 0 while the daemon keeps its no-allocation promise.
    pub allocations: u64,
    /// Heap allocations made during start-up (> 0: the counter is live).
    pub startup_allocations: u64,
    /// Reloads (SIGHUP) since start-up.
    pub reloads: u32,
}

fn secs(ms: u64) -> impl Display {
    struct S(u64);
    impl Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}.{:03} s", self.0 / 1000, self.0 % 1000)
        }
    }
    S(ms)
}

/// Human-readable status.
pub fn text<'a, 'b>(
    w: &mut dyn fmt::Write,
    h: &Header<'_>,
    instances: impl Iterator<Item = InstanceStatus<'a>>,
    ifaces: impl Iterator<Item = IfaceStatus<'b>>,
    sync: Option<&SyncStatus<'_>>,
) -> fmt::Result {
    writeln!(
        w,
        "tandem (pid {}), up {}, config {}, heap allocations since start-up {} (start-up {}, reloads {})",
        h.pid,
        secs(h.uptime_ms),
        h.config,
        h.allocations,
        h.startup_allocations,
        h.reloads
    )?;
    for i in instances {
        write!(
            w,
            "{}: {} ({}, {}, VRRPv{}, vrid {}",
            i.name,
            i.state,
            i.interface,
            if i.ipv6 { "IPv6" } else { "IPv4" },
            i.vrrp_version,
            i.vrid
        )?;
        if let Some(g) = i.sync_group {
            write!(w, ", sync group {g}")?;
        }
        writeln!(w, ")")?;
        write!(
            w,
            "  priority {} (effective {}), master ",
            i.priority, i.effective_priority
        )?;
        match i.master {
            Some(a) if i.master_is_self => writeln!(w, "{a} (this router)")?,
            Some(a) => writeln!(w, "{a}")?,
            None => writeln!(w, "unknown")?,
        }
        let c = &i.counters;
        let d = &c.dropped;
        writeln!(
            w,
            "  received {}, sent {} ({} failed), dropped {} (ttl {}, version {}, checksum {}, auth {}, interval {}, malformed {}), address list mismatch {}",
            c.received,
            c.sent,
            c.send_errors,
            d.total(),
            d.ttl,
            d.version,
            d.checksum,
            d.auth,
            d.interval,
            d.malformed,
            c.address_list_mismatch
        )?;
        write!(w, "  transitions {}", c.transitions)?;
        match i.last {
            Some(t) => writeln!(
                w,
                ", last {} ago (at {} ms): {} -> {} ({})",
                secs(h.now_ms.saturating_sub(t.at_ms)),
                t.at_ms,
                t.from,
                t.to,
                t.reason
            )?,
            None => writeln!(w)?,
        }
    }
    for f in ifaces {
        write!(w, "interface {}: ", f.name)?;
        match f.ifindex {
            Some(_) if f.up => write!(w, "up")?,
            Some(_) => write!(w, "down")?,
            None => write!(w, "missing")?,
        }
        writeln!(w, ", unknown VRID {}", f.unknown_vrid)?;
    }
    match sync {
        Some(s) => sync_text(w, h, s),
        None => Ok(()),
    }
}

/// Machine-readable status (see the module docs for the shape).
pub fn json<'a, 'b>(
    w: &mut dyn fmt::Write,
    h: &Header<'_>,
    instances: impl Iterator<Item = InstanceStatus<'a>>,
    ifaces: impl Iterator<Item = IfaceStatus<'b>>,
    sync: Option<&SyncStatus<'_>>,
) -> fmt::Result {
    write!(
        w,
        "{{\"pid\":{},\"now_ms\":{},\"uptime_ms\":{},\"allocations\":{},\"startup_allocations\":{},\"reloads\":{},\"config\":",
        h.pid, h.now_ms, h.uptime_ms, h.allocations, h.startup_allocations, h.reloads
    )?;
    json_str(w, h.config)?;
    w.write_str(",\"instances\":[")?;
    for (n, i) in instances.enumerate() {
        if n > 0 {
            w.write_char(',')?;
        }
        w.write_str("{\"name\":")?;
        json_str(w, i.name)?;
        w.write_str(",\"interface\":")?;
        json_str(w, i.interface)?;
        write!(
            w,
            ",\"family\":\"{}\",\"vrrp_version\":{},\"vrid\":{},\"sync_group\":",
            if i.ipv6 { "ipv6" } else { "ipv4" },
            i.vrrp_version,
            i.vrid
        )?;
        match i.sync_group {
            Some(g) => json_str(w, g)?,
            None => w.write_str("null")?,
        }
        write!(w, ",\"state\":",)?;
        json_display(w, i.state)?;
        write!(
            w,
            ",\"priority\":{},\"effective_priority\":{},\"master\":",
            i.priority, i.effective_priority
        )?;
        match i.master {
            Some(a) => write!(w, "\"{a}\"")?,
            None => w.write_str("null")?,
        }
        let c = &i.counters;
        let d = &c.dropped;
        write!(
            w,
            ",\"master_is_self\":{},\"received\":{},\"sent\":{},\"send_errors\":{},\"dropped\":{{\"total\":{},\"ttl\":{},\"version\":{},\"checksum\":{},\"auth\":{},\"interval\":{},\"malformed\":{}}},\"address_list_mismatch\":{},\"transitions\":{},\"last_transition\":",
            i.master_is_self,
            c.received,
            c.sent,
            c.send_errors,
            d.total(),
            d.ttl,
            d.version,
            d.checksum,
            d.auth,
            d.interval,
            d.malformed,
            c.address_list_mismatch,
            c.transitions
        )?;
        match i.last {
            Some(t) => {
                w.write_str("{\"from\":")?;
                json_display(w, t.from)?;
                w.write_str(",\"to\":")?;
                json_display(w, t.to)?;
                w.write_str(",\"reason\":")?;
                json_display(w, t.reason)?;
                write!(
                    w,
                    ",\"reason_code\":\"{:?}\",\"at_ms\":{},\"ago_ms\":{}}}",
                    t.reason_code,
                    t.at_ms,
                    h.now_ms.saturating_sub(t.at_ms)
                )?
            }
            None => w.write_str("null")?,
        }
        w.write_char('}')?;
    }
    w.write_str("],\"interfaces\":[")?;
    for (n, f) in ifaces.enumerate() {
        if n > 0 {
            w.write_char(',')?;
        }
        w.write_str("{\"name\":")?;
        json_str(w, f.name)?;
        w.write_str(",\"ifindex\":")?;
        match f.ifindex {
            Some(i) => write!(w, "{i}")?,
            None => w.write_str("null")?,
        }
        write!(w, ",\"up\":{},\"unknown_vrid\":{}}}", f.up, f.unknown_vrid)?;
    }
    w.write_str("],\"sync\":")?;
    match sync {
        Some(s) => sync_json(w, h, s)?,
        None => w.write_str("null")?,
    }
    w.write_str("}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum R {
        MasterDown,
    }
    impl Display for R {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("no \"advert\" from the master")
        }
    }

    fn sample<'a>(r: &'a R, last: bool) -> InstanceStatus<'a> {
        InstanceStatus {
            name: "I1",
            interface: "br-lan",
            ipv6: false,
            vrrp_version: 2,
            vrid: 51,
            sync_group: Some("G1"),
            state: &"MASTER",
            priority: 101,
            effective_priority: 101,
            master: Some("192.168.1.2".parse().unwrap()),
            master_is_self: true,
            counters: Counters {
                received: 10,
                sent: 20,
                send_errors: 0,
                dropped: Drops {
                    auth: 1,
                    ..Drops::default()
                },
                address_list_mismatch: 0,
                transitions: 2,
            },
            last: last.then_some(Transition {
                from: &"BACKUP",
                to: &"MASTER",
                reason: r,
                reason_code: r,
                at_ms: 1000,
            }),
        }
    }

    const H: Header<'static> = Header {
        pid: 7,
        now_ms: 5000,
        uptime_ms: 4000,
        config: "/etc/k.conf",
        allocations: 0,
        startup_allocations: 57,
        reloads: 2,
    };

    fn ifaces() -> impl Iterator<Item = IfaceStatus<'static>> {
        [IfaceStatus {
            name: "br-lan",
            ifindex: Some(3),
            up: true,
            unknown_vrid: 4,
        }]
        .into_iter()
    }

    #[test]
    fn json_shape() {
        let r = R::MasterDown;
        let mut s = String::new();
        json(
            &mut s,
            &H,
            [sample(&r, true), sample(&r, false)].into_iter(),
            ifaces(),
            None,
        )
        .unwrap();
        assert_eq!(
            s,
            concat!(
                r#"{"pid":7,"now_ms":5000,"uptime_ms":4000,"allocations":0,"startup_allocations":57,"reloads":2,"config":"/etc/k.conf","instances":["#,
                r#"{"name":"I1","interface":"br-lan","family":"ipv4","vrrp_version":2,"vrid":51,"sync_group":"G1","state":"MASTER","priority":101,"effective_priority":101,"master":"192.168.1.2","master_is_self":true,"received":10,"sent":20,"send_errors":0,"dropped":{"total":1,"ttl":0,"version":0,"checksum":0,"auth":1,"interval":0,"malformed":0},"address_list_mismatch":0,"transitions":2,"last_transition":{"from":"BACKUP","to":"MASTER","reason":"no \"advert\" from the master","reason_code":"MasterDown","at_ms":1000,"ago_ms":4000}},"#,
                r#"{"name":"I1","interface":"br-lan","family":"ipv4","vrrp_version":2,"vrid":51,"sync_group":"G1","state":"MASTER","priority":101,"effective_priority":101,"master":"192.168.1.2","master_is_self":true,"received":10,"sent":20,"send_errors":0,"dropped":{"total":1,"ttl":0,"version":0,"checksum":0,"auth":1,"interval":0,"malformed":0},"address_list_mismatch":0,"transitions":2,"last_transition":null}"#,
                r#"],"interfaces":[{"name":"br-lan","ifindex":3,"up":true,"unknown_vrid":4}],"sync":null}"#,
                "\n"
            )
        );
    }

    #[test]
    fn text_shape() {
        let r = R::MasterDown;
        let mut s = String::new();
        text(&mut s, &H, [sample(&r, true)].into_iter(), ifaces(), None).unwrap();
        assert!(s.starts_with(
            "tandem (pid 7), up 4.000 s, config /etc/k.conf, heap allocations since start-up 0 (start-up 57, reloads 2)\n"
        ));
        assert!(s.contains("I1: MASTER (br-lan, IPv4, VRRPv2, vrid 51, sync group G1)\n"));
        assert!(s.contains("  priority 101 (effective 101), master 192.168.1.2 (this router)\n"));
        assert!(
            s.contains("dropped 1 (ttl 0, version 0, checksum 0, auth 1, interval 0, malformed 0)")
        );
        assert!(s.contains("transitions 2, last 4.000 s ago (at 1000 ms): BACKUP -> MASTER"));
        assert!(s.contains("interface br-lan: up, unknown VRID 4\n"));
    }

    fn sync_sample<'a>(
        c: &'a tandem_core::ctsync::Counters,
        peers: &'a [(IpAddr, bool)],
    ) -> SyncStatus<'a> {
        SyncStatus {
            role: &"backup",
            local: "10.255.0.1".parse().unwrap(),
            port: 3780,
            interface: Some("sync0"),
            frame_len: 1472,
            epoch: 9,
            peers,
            counters: c,
            cache_entries: 298,
            cache_capacity: 16384,
            cache_slots: 20480,
            window: 0,
            window_capacity: 4096,
            events: 0,
            send_errors: 0,
            dumped: 0,
            resync_pending: false,
            commit: Some(CommitStatus {
                entries: 10000,
                updated: 3,
                failed: 1,
                took_us: 41234,
                at_ms: 1000,
            }),
            leases: None,
        }
    }

    #[test]
    fn sync_json_and_text() {
        let c = tandem_core::ctsync::Counters {
            frames_received: 9,
            records_received: 300,
            dropped: tandem_core::ctsync::Drops {
                bad_mac: 2,
                duplicate: 1,
                ..Default::default()
            },
            resyncs_completed: 1,
            ..Default::default()
        };
        let peers = [("10.255.0.2".parse().unwrap(), true)];
        let st = sync_sample(&c, &peers);
        let mut s = String::new();
        json(
            &mut s,
            &H,
            core::iter::empty(),
            core::iter::empty(),
            Some(&st),
        )
        .unwrap();
        // The header is pinned by `json_shape`; the sync object here.
        let at = s.find(r#","sync":"#).unwrap();
        assert!(
            s[..at].ends_with(r#""instances":[],"interfaces":[]"#),
            "{s}"
        );
        assert_eq!(
            &s[at..],
            concat!(
                r#","sync":"#,
                r#"{"role":"backup","local_address":"10.255.0.1","port":3780,"interface":"sync0","frame_len":1472,"epoch":9,"peers":[{"address":"10.255.0.2","live":true}],"#,
                r#""cache":{"entries":298,"capacity":16384,"slots":20480,"purged":0},"window":{"records":0,"capacity":4096},"#,
                r#""sent":{"frames":0,"bytes":0,"records":0,"resent":0,"errors":0},"received":{"frames":9,"bytes":0,"records":300,"duplicate":0},"#,
                r#""dropped":{"total":3,"bad_header":0,"bad_mac":2,"old_epoch":0,"duplicate":1,"too_old":0,"bad_body":0,"own":0,"unknown_peer":0,"idle":0},"#,
                r#""events":{"received":0,"filtered":0,"ignored":0,"unencodable":0},"#,
                r#""resync_pending":false,"resyncs_started":0,"resyncs_completed":1,"resync_requests_sent":0,"resync_requests_received":0,"dumped":0,"window_overflows":0,"event_overruns":0,"cache_full":0,"retransmit_timeouts":0,"nacks_sent":0,"nacks_received":0,"peers_lost":0,"#,
                r#""last_commit":{"committed":10000,"updated":3,"failed":1,"took_us":41234,"at_ms":1000,"ago_ms":4000},"leases":null}}"#,
                "\n"
            )
        );
        let mut t = String::new();
        text(
            &mut t,
            &H,
            core::iter::empty(),
            core::iter::empty(),
            Some(&st),
        )
        .unwrap();
        assert!(
            t.contains("conntrack sync: backup, 10.255.0.1 port 3780 on sync0"),
            "{t}"
        );
        assert!(t.contains("peers 10.255.0.2 (up)"), "{t}");
        assert!(
            t.contains("dropped 3 (header 0, mac 2, old epoch 0, duplicate 1"),
            "{t}"
        );
        assert!(t.contains("cache 298 of 16384 entries"), "{t}");
        assert!(
            t.contains(
                "last commit: 10000 entries (3 updated, 1 refused) in 41.234 ms, 4.000 s ago"
            ),
            "{t}"
        );
        assert!(!t.contains("leases"), "{t}");
        // With leases.
        let mut st = st;
        st.leases = Some(LeaseStatus {
            file: "/tmp/dhcp.leases",
            entries: 20,
            capacity: 1024,
            file_writes: 3,
            last_write_ms: Some(4500),
            commands: 1,
            last_command: Some(("dhcp_backup_command", Some(0), None)),
            ..Default::default()
        });
        let mut s = String::new();
        json(
            &mut s,
            &H,
            core::iter::empty(),
            core::iter::empty(),
            Some(&st),
        )
        .unwrap();
        assert!(
            s.contains(r#""leases":{"file":"/tmp/dhcp.leases","entries":20,"capacity":1024,"in_flight":0,"pending":0,"duid":false,"sent":0,"received":0,"conflicts":0,"table_full":0,"resends":0,"file_reads":0,"bad_lines":0,"file_errors":0,"file_writes":3,"last_read_ms":null,"last_write_ms":4500,"commands":1,"command_failures":0,"running":null,"last_command":{"command":"dhcp_backup_command","exit":0,"signal":null},"remasters":0}}}"#),
            "{s}"
        );
        let mut t = String::new();
        text(
            &mut t,
            &H,
            core::iter::empty(),
            core::iter::empty(),
            Some(&st),
        )
        .unwrap();
        assert!(
            t.contains(
                "  leases 20 of 1024 (0 in flight, 0 pending), sent 0, received 0, conflicts 0"
            ),
            "{t}"
        );
        assert!(t.contains("lease file /tmp/dhcp.leases: 0 reads (0 bad lines), 3 writes, 0 errors, last write 0.500 s ago"), "{t}");
    }
}
