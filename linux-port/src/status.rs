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

use crate::buf::json_display;
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
#[cfg(test)]
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
#[cfg(test)]
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
    pub counters: &'a Counters,
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
#[cfg(test)]
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
#[cfg(test)]
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

// Text and JSON are rendered from the same values by one small template
// interpreter (one call per section instead of a `write!` per field).
// In a template, a marker byte followed by a two-digit index stands for a
// value: `#nn` the number `n[nn]`, `!nn` the same or `null` when it is
// [`NULL`], `?nn` the number as `true`/`false`, `~nn` a number of
// milliseconds as seconds (`1.234`), `$nn` the text `s[nn]` (in JSON a
// quoted, escaped string, `null` when absent). Templates come in pairs:
// `[json, text]`.
//
// Write errors are not checked on the way: the daemon's buffer reports
// truncation itself and takes nothing more once it has cut.

/// A number shown as JSON `null`.
const NULL: u64 = u64::MAX;

// Conditional blocks: a marker byte and a two-digit index start a block
// shown only when `s[nn]` is set (`IF_SOME`) or absent (`IF_NONE`), or
// when `n[nn]` is not 0 (`IF_SET`) or is 0 (`IF_ZERO`); [`END`] ends it
// (blocks do not nest). One template per section instead of a branch and
// a call per optional piece.
/// Block shown when the text value is present.
const IF_SOME: u8 = 1;
/// Block shown when the text value is absent.
const IF_NONE: u8 = 2;
/// Block shown when the number is not 0.
const IF_SET: u8 = 3;
/// Block shown when the number is 0.
const IF_ZERO: u8 = 4;
/// End of a block.
const END: u8 = 5;

/// A text value of a template (`None`: JSON `null`).
pub type Txt<'a> = Option<&'a dyn Display>;

/// The values of a section, by template index: what [`Writer::instance`]
/// and [`Writer::sync`] document for each index.
pub struct Vals<'a> {
    /// The numbers (`#nn`, `!nn`, `?nn`, `~nn`).
    pub n: &'a [&'a u64],
    /// The texts (`$nn`).
    pub s: &'a [Txt<'a>],
}

/// Shows a `Debug` as `Display` (`reason_code`).
pub struct Dbg<'a>(pub &'a dyn fmt::Debug);

impl Display for Dbg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// The output and its mode.
struct Out<'w> {
    w: &'w mut dyn fmt::Write,
    json: bool,
}

impl Out<'_> {
    /// Writes literal text.
    fn s(&mut self, t: &str) {
        let _ = self.w.write_str(t);
    }

    /// Writes literal text in JSON mode only.
    fn j(&mut self, t: &str) {
        if self.json {
            self.s(t)
        }
    }

    /// Writes the JSON (`t[0]`) or the text (`t[1]`) template.
    fn pick(&mut self, t: &[&str; 2], v: &Vals<'_>) {
        self.fill(t[usize::from(!self.json)], v)
    }

    /// Writes template `t` with the values `v`.
    #[inline(never)]
    fn fill(&mut self, t: &str, v: &Vals<'_>) {
        let b = t.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !matches!(c, b'#' | b'!' | b'?' | b'~' | b'$' | 1..=END) {
                i += 1;
                continue;
            }
            self.s(&t[start..i]);
            if c == END {
                i += 1;
                start = i;
                continue;
            }
            let k = usize::from(b[i + 1] - b'0') * 10 + usize::from(b[i + 2] - b'0');
            i += 3;
            start = i;
            if c < END {
                let shown = match c {
                    IF_SOME => v.s[k].is_some(),
                    IF_NONE => v.s[k].is_none(),
                    IF_SET => *v.n[k] != 0,
                    IF_ZERO => *v.n[k] == 0,
                    _ => true,
                };
                if !shown {
                    // Past the block's end (templates always have one).
                    while b[i] != END {
                        i += 1;
                    }
                    i += 1;
                    start = i;
                }
                continue;
            }
            let w = &mut *self.w;
            let _ = match c {
                b'$' => match v.s[k] {
                    Some(d) if self.json => json_display(w, d),
                    Some(d) => write!(w, "{d}"),
                    None => w.write_str("null"),
                },
                _ => {
                    let n = *v.n[k];
                    match c {
                        b'!' if n == NULL => w.write_str("null"),
                        b'?' => w.write_str(if n != 0 { "true" } else { "false" }),
                        b'~' => write!(w, "{}.{:03}", n / 1000, n % 1000),
                        _ => write!(w, "{n}"),
                    }
                }
            };
        }
        self.s(&t[start..]);
    }
}

/// `"true"`-ish number.
pub fn flag(b: bool) -> u64 {
    u64::from(b)
}

/// An optional number, [`NULL`] when absent.
fn opt(v: Option<u64>) -> u64 {
    v.unwrap_or(NULL)
}

/// The address family as shown: JSON `ipv4`/`ipv6`, text `IPv4`/`IPv6`.
static FAMILY: [&str; 4] = ["ipv4", "ipv6", "IPv4", "IPv6"];

/// Human-readable status.
#[cfg(test)]
pub fn text<'a, 'b>(
    w: &mut dyn fmt::Write,
    h: &Header<'_>,
    instances: impl Iterator<Item = InstanceStatus<'a>>,
    ifaces: impl Iterator<Item = IfaceStatus<'b>>,
    sync: Option<&SyncStatus<'_>>,
) -> fmt::Result {
    write(w, false, h, instances, ifaces, sync);
    Ok(())
}

/// Machine-readable status (see the module docs for the shape).
#[cfg(test)]
pub fn json<'a, 'b>(
    w: &mut dyn fmt::Write,
    h: &Header<'_>,
    instances: impl Iterator<Item = InstanceStatus<'a>>,
    ifaces: impl Iterator<Item = IfaceStatus<'b>>,
    sync: Option<&SyncStatus<'_>>,
) -> fmt::Result {
    write(w, true, h, instances, ifaces, sync);
    Ok(())
}

/// Writes the status as JSON (`json`, see the module docs for the shape)
/// or text from iterators (see [`Writer`]).
#[cfg(test)]
pub fn write<'a, 'b>(
    w: &mut dyn fmt::Write,
    json: bool,
    h: &Header<'_>,
    instances: impl Iterator<Item = InstanceStatus<'a>>,
    ifaces: impl Iterator<Item = IfaceStatus<'b>>,
    sync: Option<&SyncStatus<'_>>,
) {
    let mut wr = Writer::new(w, json, h);
    for i in instances {
        wr.instance_status(&i);
    }
    wr.interfaces();
    for f in ifaces {
        wr.iface(&f);
    }
    wr.finish(sync);
}

/// Writes the status as JSON (see the module docs for the shape) or text,
/// piece by piece: [`Writer::new`] (the header), every
/// [`Writer::instance`], [`Writer::interfaces`], every [`Writer::iface`],
/// then [`Writer::finish`]. Write errors are ignored (the daemon's buffer
/// reports truncation itself).
pub struct Writer<'a> {
    o: Out<'a>,
    h: &'a Header<'a>,
    sep: &'static str,
}

impl<'a> Writer<'a> {
    /// Starts with the header.
    pub fn new(w: &'a mut dyn fmt::Write, json: bool, h: &'a Header<'a>) -> Self {
        let mut o = Out { w, json };
        o.pick(
            &[
                r#"{"pid":#00,"now_ms":#01,"uptime_ms":#02,"allocations":#03,"startup_allocations":#04,"reloads":#05,"config":$00,"instances":["#,
                "tandem (pid #00), up ~02 s, config $00, heap allocations since start-up #03 (start-up #04, reloads #05)\n",
            ],
            &Vals {
                n: &[
                    &h.pid.into(),
                    &h.now_ms,
                    &h.uptime_ms,
                    &h.allocations,
                    &h.startup_allocations,
                    &h.reloads.into(),
                ],
                s: &[Some(&h.config)],
            },
        );
        Writer { o, h, sep: "" }
    }

    fn sep(&mut self) {
        self.o.j(self.sep);
        self.sep = ",";
    }

    /// One instance, from its values: `n` = VRRP version, VRID,
    /// priority, effective priority, master is this router (0/1),
    /// received, sent, send errors, dropped total, dropped for TTL,
    /// version, checksum, auth, interval, malformed, address list
    /// mismatches, transitions, last transition at (ms), its age (ms),
    /// master known and this router (0/1);
    /// `s` = name, interface, [`Writer::family`], sync group, state,
    /// master, and for the last transition: from, to, reason, reason code
    /// (`None` when there was none).
    pub fn instance(&mut self, v: &Vals<'_>) {
        self.sep();
        instance(&mut self.o, v);
    }

    /// The family text of an instance (`s[2]` of [`Writer::instance`]).
    pub fn family(&self, ipv6: bool) -> &'static dyn Display {
        &FAMILY[usize::from(ipv6) + 2 * usize::from(!self.o.json)]
    }

    /// One instance as [`InstanceStatus`].
    #[cfg(test)]
    pub fn instance_status(&mut self, i: &InstanceStatus<'_>) {
        let c = &i.counters;
        let d = &c.dropped;
        let t = i.last.as_ref();
        let code = t.map(|t| Dbg(t.reason_code));
        let at = t.map_or(0, |t| t.at_ms);
        let x: [u64; 10] = [
            i.vrrp_version.into(),
            i.vrid.into(),
            i.priority.into(),
            i.effective_priority.into(),
            flag(i.master_is_self),
            d.total(),
            c.transitions.into(),
            at,
            self.h.now_ms.saturating_sub(at),
            flag(i.master_is_self && i.master.is_some()),
        ];
        let v = &Vals {
            n: &[
                &x[0],
                &x[1],
                &x[2],
                &x[3],
                &x[4],
                &c.received,
                &c.sent,
                &c.send_errors,
                &x[5],
                &d.ttl,
                &d.version,
                &d.checksum,
                &d.auth,
                &d.interval,
                &d.malformed,
                &c.address_list_mismatch,
                &x[6],
                &x[7],
                &x[8],
                &x[9],
            ],
            s: &[
                Some(&i.name),
                Some(&i.interface),
                Some(self.family(i.ipv6)),
                i.sync_group.as_ref().map(|g| g as &dyn Display),
                Some(i.state),
                i.master.as_ref().map(|a| a as &dyn Display),
                t.map(|t| t.from),
                t.map(|t| t.to),
                t.map(|t| t.reason),
                code.as_ref().map(|c| c as &dyn Display),
            ],
        };
        self.instance(v);
    }

    /// Ends the instances, starts the interfaces.
    pub fn interfaces(&mut self) {
        self.o.j(r#"],"interfaces":["#);
        self.sep = "";
    }

    /// One interface.
    #[inline(never)]
    pub fn iface(&mut self, f: &IfaceStatus<'_>) {
        self.sep();
        let state: &dyn Display = match f.ifindex {
            Some(_) if f.up => &"up",
            Some(_) => &"down",
            None => &"missing",
        };
        self.o.pick(
            &[
                r#"{"name":$00,"ifindex":!00,"up":?01,"unknown_vrid":#02}"#,
                "interface $00: $01, unknown VRID #02\n",
            ],
            &Vals {
                n: &[&opt(f.ifindex.map(u64::from)), &flag(f.up), &f.unknown_vrid],
                s: &[Some(&f.name), Some(state)],
            },
        );
    }

    /// Ends the interfaces; the sync section from its values: `n` =
    /// port, frame length, epoch, cache entries, capacity, slots, purged,
    /// window records, capacity, then the counters in the order of the JSON
    /// shape (`sent` to `peers_lost`, `events.received` and `sent.errors`,
    /// `dumped` being the port's), then the last commit: committed,
    /// updated, failed, took (µs), at (ms), its age (ms); `s` = role,
    /// local address, interface. `commit`: whether there was one.
    pub fn sync(
        &mut self,
        v: &Vals<'_>,
        peers: &[(IpAddr, bool)],
        commit: bool,
        leases: Option<&LeaseStatus<'_>>,
        c: &tandem_core::ctsync::Counters,
    ) {
        let o = &mut self.o;
        o.j(r#"],"sync":"#);
        sync_status(o, self.h, v, peers, commit, leases, c);
    }

    /// Ends the interfaces without a sync section.
    pub fn no_sync(&mut self) {
        self.o.j(r#"],"sync":null"#);
    }

    /// Ends the status.
    pub fn end(mut self) {
        self.o.j("}\n");
    }

    /// Ends the interfaces; the sync section as [`SyncStatus`].
    #[cfg(test)]
    pub fn finish(mut self, sync: Option<&SyncStatus<'_>>) {
        match sync {
            Some(s) => {
                let c = s.counters;
                let d = &c.dropped;
                let m = s.commit.unwrap_or_default();
                let x: [u64; 14] = [
                    s.port.into(),
                    s.frame_len as u64,
                    s.epoch.into(),
                    s.cache_entries as u64,
                    s.cache_capacity.into(),
                    s.cache_slots as u64,
                    s.window as u64,
                    s.window_capacity as u64,
                    d.total(),
                    flag(s.resync_pending),
                    m.entries.into(),
                    m.updated.into(),
                    m.failed.into(),
                    self.h.now_ms.saturating_sub(m.at_ms),
                ];
                let v = &Vals {
                    n: &[
                        &x[0],
                        &x[1],
                        &x[2],
                        &x[3],
                        &x[4],
                        &x[5],
                        &c.cache_purged,
                        &x[6],
                        &x[7],
                        &c.frames_sent,
                        &c.bytes_sent,
                        &c.records_sent,
                        &c.records_resent,
                        &s.send_errors,
                        &c.frames_received,
                        &c.bytes_received,
                        &c.records_received,
                        &c.records_duplicate,
                        &x[8],
                        &d.bad_header,
                        &d.bad_mac,
                        &d.old_epoch,
                        &d.duplicate,
                        &d.too_old,
                        &d.bad_body,
                        &d.own,
                        &d.unknown_peer,
                        &d.idle,
                        &s.events,
                        &c.events_filtered,
                        &c.events_ignored,
                        &c.unencodable,
                        &x[9],
                        &c.resyncs_started,
                        &c.resyncs_completed,
                        &c.resync_requests_sent,
                        &c.resync_requests_received,
                        &s.dumped,
                        &c.window_overflows,
                        &c.event_overruns,
                        &c.cache_full,
                        &c.retransmit_timeouts,
                        &c.nacks_sent,
                        &c.nacks_received,
                        &c.peers_lost,
                        &x[10],
                        &x[11],
                        &x[12],
                        &m.took_us,
                        &m.at_ms,
                        &x[13],
                    ],
                    s: &[
                        Some(s.role),
                        Some(&s.local),
                        s.interface.as_ref().map(|i| i as &dyn Display),
                    ],
                };
                self.sync(v, s.peers, s.commit.is_some(), s.leases.as_ref(), c);
            }
            None => self.no_sync(),
        }
        self.end();
    }
}

fn instance(o: &mut Out<'_>, v: &Vals<'_>) {
    o.pick(
        &[
            concat!(
                r#"{"name":$00,"interface":$01,"family":$02,"vrrp_version":#00,"vrid":#01,"sync_group":$03,"state":$04,"priority":#02,"effective_priority":#03,"master":$05,"master_is_self":?04,"received":#05,"sent":#06,"send_errors":#07,"dropped":{"total":#08,"ttl":#09,"version":#10,"checksum":#11,"auth":#12,"interval":#13,"malformed":#14},"address_list_mismatch":#15,"transitions":#16,"last_transition":"#,
                "\x0106",
                r#"{"from":$06,"to":$07,"reason":$08,"reason_code":$09,"at_ms":#17,"ago_ms":#18}"#,
                "\x05\x0206null\x05}",
            ),
            concat!(
                "$00: $04 ($01, $02, VRRPv#00, vrid #01\x0103, sync group $03\x05)\n",
                "  priority #02 (effective #03), master \x0105$05\x05\x0319 (this router)\x05\x0205unknown\x05\n",
                "  received #05, sent #06 (#07 failed), dropped #08 (ttl #09, version #10, checksum #11, auth #12, interval #13, malformed #14), address list mismatch #15\n",
                "  transitions #16\x0106, last ~18 s ago (at #17 ms): $06 -> $07 ($08)\x05\n",
            ),
        ],
        v,
    );
}

fn sync_status(
    o: &mut Out<'_>,
    h: &Header<'_>,
    v: &Vals<'_>,
    peers: &[(IpAddr, bool)],
    commit: bool,
    leases: Option<&LeaseStatus<'_>>,
    c: &tandem_core::ctsync::Counters,
) {
    o.pick(
        &[
            r#"{"role":$00,"local_address":$01,"port":#00,"interface":$02,"frame_len":#01,"epoch":#02,"peers":["#,
            "conntrack sync: $00, $01 port #00\x0102 on $02\x05 (frames up to #01 bytes, epoch #02), peers",
        ],
        v,
    );
    for (k, (a, live)) in peers.iter().enumerate() {
        o.pick(
            &[
                "\x0301,\x05{\"address\":$00,\"live\":?00}",
                " $00 (\x0300up\x05\x0400down\x05)",
            ],
            &Vals {
                n: &[&flag(*live), &(k as u64)],
                s: &[Some(a)],
            },
        );
    }
    o.pick(
        &[
            r#"],"cache":{"entries":#03,"capacity":#04,"slots":#05,"purged":#06},"window":{"records":#07,"capacity":#08},"sent":{"frames":#09,"bytes":#10,"records":#11,"resent":#12,"errors":#13},"received":{"frames":#14,"bytes":#15,"records":#16,"duplicate":#17},"dropped":{"total":#18,"bad_header":#19,"bad_mac":#20,"old_epoch":#21,"duplicate":#22,"too_old":#23,"bad_body":#24,"own":#25,"unknown_peer":#26,"idle":#27},"events":{"received":#28,"filtered":#29,"ignored":#30,"unencodable":#31},"resync_pending":?32,"resyncs_started":#33,"resyncs_completed":#34,"resync_requests_sent":#35,"resync_requests_received":#36,"dumped":#37,"window_overflows":#38,"event_overruns":#39,"cache_full":#40,"retransmit_timeouts":#41,"nacks_sent":#42,"nacks_received":#43,"peers_lost":#44,"last_commit":"#,
            "\n  sent #09 frames (#10 bytes, #11 records, #12 resent, #13 errors), received #14 frames (#15 bytes, #16 records, #17 duplicate)\n  dropped #18 (header #19, mac #20, old epoch #21, duplicate #22, too old #23, body #24, own #25, unknown peer #26, not started #27)\n  cache #03 of #04 entries (#05 slots, #40 full, #06 purged), window #07 of #08 (#38 overflows)\n  events #28 (#29 filtered, #30 ignored, #39 overruns), resyncs #33 started, #34 completed\x0332 (one pending)\x05, requests #35 sent, #36 received, nacks #42 sent, #43 received, retransmit timeouts #41, peers lost #44\n",
        ],
        v,
    );
    let commit = match commit {
        true => &[
            r#"{"committed":#45,"updated":#46,"failed":#47,"took_us":#48,"at_ms":#49,"ago_ms":#50},"leases":"#,
            "  last commit: #45 entries (#46 updated, #47 refused) in ~48 ms, ~50 s ago\n",
        ],
        false => &[r#"null,"leases":"#, "  last commit: none\n"],
    };
    o.pick(commit, v);
    match leases {
        Some(l) => lease_status(o, h, c, l),
        None => o.j("null"),
    }
    o.j("}");
}

fn lease_status(
    o: &mut Out<'_>,
    h: &Header<'_>,
    c: &tandem_core::ctsync::Counters,
    l: &LeaseStatus<'_>,
) {
    let (kw, code, sig) = match l.last_command {
        Some((k, code, sig)) => (Some(k), code, sig),
        None => (None, None, None),
    };
    let x: [u64; 13] = [
        l.entries as u64,
        l.capacity as u64,
        l.in_flight as u64,
        l.pending as u64,
        flag(l.duid),
        opt(l.last_read_ms),
        opt(l.last_write_ms),
        opt(code.map(|c| c as u64)),
        opt(sig.map(|c| c as u64)),
        h.now_ms.saturating_sub(l.last_write_ms.unwrap_or(0)),
        flag(l.last_write_ms.is_some()),
        flag(kw.is_some() && sig.is_some()),
        flag(kw.is_some() && code.is_some() && sig.is_none()),
    ];
    let v = &Vals {
        n: &[
            &x[0],
            &x[1],
            &x[2],
            &x[3],
            &x[4],
            &c.lease_changes_sent,
            &c.lease_records_received,
            &c.lease_conflicts,
            &c.lease_table_full,
            &c.lease_resends,
            &l.file_reads,
            &l.bad_lines,
            &l.file_errors,
            &l.file_writes,
            &x[5],
            &x[6],
            &l.commands,
            &l.command_failures,
            &l.remasters,
            &x[7],
            &x[8],
            &x[9],
            &x[10],
            &x[11],
            &x[12],
        ],
        s: &[
            Some(&l.file),
            l.running.as_ref().map(|r| r as &dyn Display),
            kw.as_ref().map(|k| k as &dyn Display),
        ],
    };
    o.pick(
        &[
            concat!(
                r#"{"file":$00,"entries":#00,"capacity":#01,"in_flight":#02,"pending":#03,"duid":?04,"sent":#05,"received":#06,"conflicts":#07,"table_full":#08,"resends":#09,"file_reads":#10,"bad_lines":#11,"file_errors":#12,"file_writes":#13,"last_read_ms":!14,"last_write_ms":!15,"commands":#16,"command_failures":#17,"running":$01,"last_command":"#,
                "\x0102",
                r#"{"command":$02,"exit":!19,"signal":!20}"#,
                "\x05\x0202null\x05",
                r#","remasters":#18}"#,
            ),
            concat!(
                "  leases #00 of #01 (#02 in flight, #03 pending\x0304, server duid known\x05), sent #05, received #06, conflicts #07, table full #08, resends #09\n",
                "  lease file $00: #10 reads (#11 bad lines), #13 writes, #12 errors, last write \x0322~21 s ago\x05\x0422never\x05",
                "; dhcp commands #16 (#17 failed, #18 remasters)\x0101, $01 running\x05",
                "\x0323, last $02 killed by signal #20\x05\x0324, last $02 exit #19\x05\n",
            ),
        ],
        v,
    );
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
            counters: &Counters {
                received: 10,
                sent: 20,
                send_errors: 0,
                dropped: Drops {
                    ttl: 0,
                    version: 0,
                    checksum: 0,
                    auth: 1,
                    interval: 0,
                    malformed: 0,
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
