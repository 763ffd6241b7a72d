//! Conntrack sync in the port: the UDP sync socket, the ctnetlink sockets
//! (commit, dump, events) and the glue that feeds `tandem_core::ctsync`.
//!
//! # Takeover order
//!
//! The VRRP core queues, for an instance (or a whole sync group) becoming
//! MASTER, `Transition` first and `AddAddresses`/`Announce` after it. The
//! daemon carries out its actions in order and calls
//! [`Daemon::sync_transition`] at every `Transition`: when the router as a
//! whole becomes MASTER (some instance is MASTER), the external cache is
//! committed to the kernel **right there**, synchronously, before the rest
//! of the queue (addresses, routes, announcements) runs; only after the
//! queue is drained does the resync dump towards the peers start
//! ([`Daemon::sync_pump`]). When no instance is MASTER any more (BACKUP or
//! FAULT) the cache is emptied and a resync is asked from the new master.
//!
//! # Commit
//!
//! `IPCTNL_MSG_CT_NEW` create requests (`NLM_F_CREATE | NLM_F_EXCL`, NAT
//! through `CTA_NAT_*` on the un-translated reply, TCP with the liberal
//! window flags since the kernel never saw the sequence numbers), packed
//! into batches of up to 64 KiB, without acks except on the last message
//! of each batch: the kernel handles a batch inside `sendto`, so reading
//! its answers up to that last ack collects every error. An entry that
//! exists already (`EEXIST`: left from an earlier time as master, or
//! created by a packet) is sent again as an update.
//!
//! # Memory
//!
//! Everything is allocated in [`SyncPort::new`]: the cache (capacity from
//! the configuration, a quarter more slots for the hash table), the
//! retransmit window, frame and netlink buffers. The loop only reuses them.
//! All of it comes zeroed from the allocator and is not written at start-up
//! (an empty cache or window slot is all zero bits:
//! [`crate::sys::zeroed`]), so it becomes resident only as it is used: a
//! master never touches the cache, a backup's cache grows with its
//! entries.

use super::{is_vip, Daemon};
use crate::log::Level;
use crate::sys::clock;
use crate::sys::ctnetlink::{CtSocket, CT_EVENT_GROUPS};
use crate::sys::udp::{self, UdpSocket};
use crate::sys::zeroed::leak_zeroed;
use crate::sys::ErrorText;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tandem_core::ctsync::{
    self as cs, Action, CtSync, DumpError, EventKind, Filter, Role, Slot, TxSlot,
};
use tandem_core::time::{Duration, Instant};
use tandem_protocol::config::{SyncConfig, SyncKey};
use tandem_protocol::conntrack::{Entry, Tuple};
use tandem_protocol::netlink::ct::{self, DumpFamily, EntryKind, NewMode};
use tandem_protocol::netlink::route;
use tandem_protocol::netlink::{Messages, NLMSG_ERROR, NLM_F_ACK};
use tandem_protocol::sync;

/// Slots of the retransmit window (40 bytes each: 160 KiB).
pub const WINDOW_SLOTS: usize = 4096;
/// Bytes of one commit batch (the kernel takes it in one `sendto`).
const BATCH_BYTES: usize = 64 * 1024;
/// Most entries of one commit batch.
const BATCH_ENTRIES: usize = BATCH_BYTES / 128;
/// Receive buffer of the request socket (errors of a whole batch fit).
const REQUEST_RCVBUF: usize = 4 << 20;
/// Receive buffer of the event socket (`SO_RCVBUFFORCE`), like
/// conntrackd's `NetlinkBufferSize` maximum.
const EVENT_RCVBUF: usize = 8 << 20;
/// Netlink receive buffers (dump chunks, events, commit answers).
const NL_BUF: usize = 64 * 1024;
/// Largest sync datagram read.
const RX_BUF: usize = 65536;
/// Longest wait for the kernel's ack of a commit batch.
const COMMIT_WAIT_MS: i32 = 1000;
/// Log lines about dropped frames / send errors / overruns, at most every.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Reads per wakeup (so one busy socket does not starve the others).
const READS_PER_WAKEUP: usize = 64;
/// Largest key file read.
const MAX_KEY_FILE: usize = 4096;
const _: () = assert!(MAX_KEY_FILE == 4096, "load_key's error text says 4096");
/// Own addresses remembered for the filter.
const MAX_OWN: usize = 64;
/// A MASTER holds frames this long after an event, so that a burst of
/// events fills frames instead of sending each one alone.
const COALESCE: Duration = Duration::from_millis(2);
/// Epochs count quarter seconds from this instant (2024-01-01 UTC, ms).
const EPOCH_BASE_MS: u64 = 1_704_067_200_000;

/// An empty tuple (what a parsed entry starts from).
const NO_TUPLE: Tuple = Tuple::new(
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    0,
    0,
    0,
);

/// Reads the pre-shared key: the raw bytes of `key_file` (at least
/// [`sync::MIN_KEY_LEN`]) or the inline `key`. Errors name the file.
pub fn load_key(k: &SyncKey) -> Result<sync::Key, String> {
    match k {
        SyncKey::Inline(bytes) => {
            sync::Key::new(bytes).map_err(|e| format!("tandem_sync: key: {e}"))
        }
        SyncKey::File(p) => {
            let path = p.as_str();
            let mut buf = [0u8; MAX_KEY_FILE];
            let r = match crate::sys::file::read_all(path.as_bytes(), &mut buf) {
                Ok(Some(n)) => sync::Key::new(buf.get(..n).unwrap_or(&[])).map_err(|_| {
                    format!(
                        "key_file {path}: {n} byte(s); the sync key needs at least {} raw bytes (e.g. head -c 32 /dev/urandom > {path})",
                        sync::MIN_KEY_LEN
                    )
                }),
                Err(e) if e.raw_os_error() == Some(libc::EFBIG) => Err(format!(
                    // The text names MAX_KEY_FILE (4096, asserted below).
                    "key_file {path}: longer than 4096 bytes; is it the right file?"
                )),
                r => {
                    let e = r
                        .err()
                        .unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT));
                    Err(format!(
                        "key_file {path}: cannot read the sync key: {}",
                        ErrorText(&e)
                    ))
                }
            };
            // Wipe the key's copy (kept by `black_box` from being optimised
            // away as a dead store).
            buf.fill(0);
            std::hint::black_box(&buf);
            r
        }
    }
}

/// A warning when the key file can be read by others than its owner.
pub fn key_file_warning(k: &SyncKey) -> Option<String> {
    let SyncKey::File(p) = k else { return None };
    let mode = udp::file_mode(p.as_str().as_bytes())?;
    (mode & 0o077 != 0).then(|| {
        format!(
            "key_file {}: readable by group or others (mode {:o}); chmod 600 it",
            p.as_str(),
            mode & 0o777
        )
    })
}

/// A zeroed buffer of `n` octets, never freed (pages untouched until
/// written: not resident). One call site for every buffer of
/// [`SyncPort::new`].
#[inline(never)]
fn zeroed_buf(n: usize) -> &'static mut [u8] {
    crate::sys::file::zeroed_bytes(n)
}

/// This router's id in frame headers, from its local sync address.
fn sender_id(a: IpAddr) -> u32 {
    match a {
        IpAddr::V4(v4) => u32::from(v4),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            w(0) ^ w(4) ^ w(8) ^ w(12)
        }
    }
}

/// This run's epoch: quarter seconds of wall-clock time since 2024, so a
/// restart (which takes longer than that) always has a greater one, as
/// long as the clock does not go back.
fn epoch_now() -> u32 {
    let q = clock::realtime_millis().saturating_sub(EPOCH_BASE_MS) / 250;
    q.clamp(1, u64::from(u32::MAX)) as u32
}

/// The filter every router starts from: the configured protocols and
/// prefixes, plus multicast (VRRP adverts) and IPv6 link-local. Built
/// again from the configuration whenever the own addresses change.
#[inline(never)]
fn base_filter(cfg: &SyncConfig) -> Filter {
    /// Multicast (VRRP adverts) and IPv6 link-local.
    const DEFAULTS: [(IpAddr, u8); 3] = [
        (IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4),
        (IpAddr::V6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)), 8),
        (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
    ];
    let mut f = Filter::new();
    f.set_protocols(&cfg.conntrack_filter.protocols);
    for list in [&DEFAULTS[..], &cfg.conntrack_filter.ignore] {
        for &(a, l) in list {
            let _ = f.ignore(a, l);
        }
    }
    f
}

/// A running dump: its socket and the chunk being fed.
struct Dump {
    sock: CtSocket,
    seq: u32,
    len: usize,
    off: usize,
    entries: u64,
    started: Instant,
}

/// What the port counts beyond the core's counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortCounters {
    /// ctnetlink events read (before the filter).
    pub events: u64,
    /// Frames the UDP socket refused.
    pub send_errors: u64,
    /// Entries dumped from the kernel for resyncs.
    pub dumped: u64,
    /// Last commit: entries that existed and were updated instead.
    pub commit_updated: u32,
    /// Last commit: when (monotonic).
    pub commit_at: Option<Instant>,
    /// Commits done.
    pub commits: u32,
}

/// The sync channel and the conntrack side of the port.
pub struct SyncPort {
    /// The sans-IO sync state machine.
    pub core: CtSync<'static>,
    /// The configuration it was started with.
    pub cfg: SyncConfig,
    /// The role last set (follows the VRRP states).
    pub role: Role,
    udp: UdpSocket,
    /// Interface index of the sync interface (IPv6 link-local peers).
    scope: u32,
    /// Frame size limit (MTU minus IP and UDP headers).
    pub frame_len: usize,
    frame: &'static mut [u8],
    rx: &'static mut [u8],
    ct: CtSocket,
    ct_tx: &'static mut [u8],
    ct_rx: &'static mut [u8],
    /// Commit batches (never freed, like the buffers: no drop code).
    batch: std::mem::ManuallyDrop<Vec<Entry>>,
    retry: std::mem::ManuallyDrop<Vec<Entry>>,
    seq: u32,
    events: Option<CtSocket>,
    ev_rx: &'static mut [u8],
    dump: Option<Dump>,
    dump_buf: &'static mut [u8],
    dump_pending: bool,
    /// Own addresses changed: rebuild the filter.
    pub own_dirty: bool,
    own: heapless::Vec<IpAddr, MAX_OWN>,
    own_overflow_logged: bool,
    /// `local_address` is configured on an interface (as last seen).
    local_present: Option<bool>,
    /// Port-side counters.
    pub counters: PortCounters,
    next_drop_log: Instant,
    next_send_log: Instant,
    next_overrun_log: Instant,
    /// `cache_full` / `window_overflows` already logged, and when next.
    logged_full: u64,
    logged_overflows: u64,
    next_full_log: Instant,
    /// Events fed since the last transmission.
    events_since_tx: usize,
    /// Transmissions wait until then (event coalescing).
    hold_until: Option<Instant>,
}

impl SyncPort {
    /// Opens the sockets and allocates every buffer (start-up only). On an
    /// error the sockets opened so far are left open (the daemon exits):
    /// no drop code on the error paths.
    pub fn new(cfg: &SyncConfig) -> Result<Box<SyncPort>, String> {
        use std::mem::ManuallyDrop as Keep;
        let key = load_key(&cfg.key)?;
        if let Some(w) = key_file_warning(&cfg.key) {
            crate::log!(Warning, "{w}");
        }
        let dev = cfg.interface.as_ref().map(|i| i.as_str());
        let udp = Keep::new(
            UdpSocket::open(cfg.local_address, cfg.port, dev).map_err(|e| {
                format!(
                    "tandem_sync: cannot bind {}:{}{}{}: {e}",
                    cfg.local_address,
                    cfg.port,
                    if dev.is_some() { " on " } else { "" },
                    dev.unwrap_or("")
                )
            })?,
        );
        let mtu = match dev {
            Some(d) => {
                udp::interface_mtu(d).map_err(|e| format!("tandem_sync: interface {d}: {e}"))?
            }
            None => 1500,
        };
        let headers = if cfg.local_address.is_ipv6() { 48 } else { 28 };
        let mut frame_len = (mtu as usize).saturating_sub(headers).min(65507);
        if frame_len < sync::MIN_FRAME_LEN {
            crate::log!(
                Warning,
                "tandem_sync: MTU {mtu} is too small; frames of {} bytes will be fragmented",
                sync::MIN_FRAME_LEN
            );
            frame_len = sync::MIN_FRAME_LEN;
        }
        let scope = dev.map(udp::if_index).unwrap_or(0);
        let (ct_sock, _) = CtSocket::open(0, REQUEST_RCVBUF).map_err(|e| {
            format!(
                "ctnetlink socket: {} (is nf_conntrack_netlink available?)",
                ErrorText(&e)
            )
        })?;
        let ct_sock = Keep::new(ct_sock);
        let capacity = cfg.conntrack_capacity.max(1) as usize;
        let slots = capacity.saturating_add(capacity.div_ceil(4));
        // Zeroed (empty) slots: resident only as the cache and window fill.
        let cache: &'static mut [Slot] = leak_zeroed(slots);
        let window: &'static mut [TxSlot] = leak_zeroed(WINDOW_SLOTS);
        let k = cs::Config::new(
            sender_id(cfg.local_address),
            epoch_now(),
            cfg.peer_addresses.len().min(cs::MAX_PEERS),
        );
        if cfg.peer_addresses.len() > cs::MAX_PEERS {
            crate::log!(
                Warning,
                "tandem_sync: only the first {} peer addresses are used",
                cs::MAX_PEERS
            );
        }
        let core = CtSync::new(k, key, base_filter(cfg), cache, window);
        Ok(Box::new(SyncPort {
            core,
            cfg: cfg.clone(),
            role: Role::Idle,
            udp: Keep::into_inner(udp),
            scope,
            frame_len,
            frame: zeroed_buf(frame_len),
            rx: zeroed_buf(RX_BUF),
            ct: Keep::into_inner(ct_sock),
            ct_tx: zeroed_buf(BATCH_BYTES),
            ct_rx: zeroed_buf(NL_BUF),
            batch: Keep::new(Vec::with_capacity(BATCH_ENTRIES)),
            retry: Keep::new(Vec::with_capacity(BATCH_ENTRIES)),
            seq: 1,
            events: None,
            ev_rx: zeroed_buf(NL_BUF),
            dump: None,
            dump_buf: zeroed_buf(NL_BUF),
            dump_pending: false,
            own_dirty: true,
            own: heapless::Vec::new(),
            own_overflow_logged: false,
            local_present: None,
            counters: PortCounters::default(),
            next_drop_log: Instant::ZERO,
            next_send_log: Instant::ZERO,
            next_overrun_log: Instant::ZERO,
            events_since_tx: 0,
            hold_until: None,
            logged_full: 0,
            logged_overflows: 0,
            next_full_log: Instant::ZERO,
        }))
    }

    /// The UDP socket (to poll).
    pub fn udp_fd(&self) -> i32 {
        self.udp.fd().raw()
    }

    /// The event socket, while subscribed.
    pub fn events_fd(&self) -> Option<i32> {
        self.events.as_ref().map(|s| s.fd().raw())
    }

    /// The dump socket, while a dump waits for more of the kernel's table.
    pub fn dump_fd(&self) -> Option<i32> {
        let d = self.dump.as_ref()?;
        let live = (0..cs::MAX_PEERS).any(|k| self.core.peer_live(k));
        (live && d.off >= d.len && self.core.dump_space() > 0).then(|| d.sock.fd().raw())
    }

    /// The configured peers.
    pub fn peers(&self) -> &[IpAddr] {
        let n = self.cfg.peer_addresses.len().min(cs::MAX_PEERS);
        &self.cfg.peer_addresses[..n]
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    // ------------------------------------------------------------ commit

    /// Writes the whole cache into the kernel; logs and records how long
    /// it took. Runs synchronously (the caller adds the VIPs after it).
    #[inline(never)]
    fn commit(&mut self) {
        let start = clock::now();
        let cpu_start = clock::thread_cpu_micros();
        let mut committed: u32 = 0;
        let mut updated: u32 = 0;
        let mut failed: u32 = 0;
        let mut first_error: Option<(i32, Tuple)> = None;
        let total = self.core.cache_len();
        let SyncPort {
            core,
            ct,
            ct_tx,
            ct_rx,
            batch,
            retry,
            seq,
            ..
        } = self;
        let mut it = core.cache_entries();
        let mut aborted = false;
        let mut more = true;
        while more && !aborted {
            batch.clear();
            retry.clear();
            let mut len = 0;
            let mut last = 0;
            let base = seq.wrapping_add(1);
            while batch.len() < BATCH_ENTRIES && BATCH_BYTES - len >= ct::MAX_REQUEST_LEN {
                let Some(mut e) = it.next() else {
                    more = false;
                    break;
                };
                e.tcp = e.tcp.map(|t| t.liberal());
                let s = base.wrapping_add(batch.len() as u32);
                if add_request(ct_tx, &mut len, &mut last, s, &e, NewMode::Create) {
                    batch.push(e);
                } else {
                    failed += 1;
                }
            }
            if batch.is_empty() {
                continue;
            }
            *seq = base.wrapping_add(batch.len() as u32);
            let r = send_batch(
                ct,
                &mut ct_tx[..len],
                last,
                ct_rx,
                base,
                &mut |k, errno| match (errno, batch.get(k)) {
                    (libc::EEXIST, Some(e)) if retry.len() < retry.capacity() => {
                        retry.push(*e);
                    }
                    (_, e) => {
                        failed += 1;
                        if first_error.is_none() {
                            if let Some(e) = e {
                                first_error = Some((errno, e.orig));
                            }
                        }
                    }
                },
            );
            match r {
                Ok(()) => committed += (batch.len() - retry.len()) as u32,
                Err(e) => {
                    log_io(Level::Error, "conntrack commit", e);
                    failed += batch.len() as u32;
                    aborted = true;
                    continue;
                }
            }
            if retry.is_empty() {
                continue;
            }
            // Entries that exist: update them (state, timeout, mark).
            let base = seq.wrapping_add(1);
            let mut len = 0;
            let mut last = 0;
            let mut sent = 0;
            for (k, e) in retry.iter().enumerate() {
                let s = base.wrapping_add(k as u32);
                if add_request(ct_tx, &mut len, &mut last, s, e, NewMode::Update) {
                    sent += 1;
                }
            }
            *seq = base.wrapping_add(retry.len() as u32);
            let mut refused = 0u32;
            let r = send_batch(ct, &mut ct_tx[..len], last, ct_rx, base, &mut |_, errno| {
                // EBUSY: the kernel's entry is further along (ASSURED,
                // SEEN_REPLY) than ours; it is there, which is what counts.
                if errno != libc::EBUSY {
                    refused += 1;
                }
            });
            if r.is_err() {
                refused = sent;
            }
            updated += sent - refused.min(sent);
            failed += refused + (retry.len() as u32 - sent);
        }
        drop(it);
        let took = clock::now().saturating_duration_since(start);
        self.core.record_commit(took, committed + updated, failed);
        self.counters.commit_updated = updated;
        self.counters.commit_at = Some(start);
        self.counters.commits = self.counters.commits.saturating_add(1);
        let us = Millis(took.as_micros());
        let cpu = Millis(clock::thread_cpu_micros().saturating_sub(cpu_start));
        crate::log!(
            Notice,
            "conntrack: committed {} of {total} cached entries in {us} ms ({cpu} ms CPU; {updated} existed and were updated, {failed} refused), before adding the virtual addresses",
            committed + updated,
        );
        if let Some((errno, t)) = &first_error {
            crate::log!(
                Warning,
                "conntrack: the kernel refused {}:{} -> {}:{} proto {}: {}",
                t.src,
                t.src_port,
                t.dst,
                t.dst_port,
                t.proto,
                crate::sys::Errno(*errno)
            );
        }
    }

    // ------------------------------------------------------------ events

    fn open_events(&mut self) {
        if self.events.is_some() {
            return;
        }
        match CtSocket::open(CT_EVENT_GROUPS, EVENT_RCVBUF) {
            Ok((s, granted)) => {
                if granted < EVENT_RCVBUF {
                    crate::log!(
                        Info,
                        "conntrack events: receive buffer {granted} bytes (wanted {EVENT_RCVBUF})"
                    );
                }
                self.events = Some(s);
            }
            Err(e) => {
                crate::log!(
                    Error,
                    "conntrack events: cannot subscribe: {}; the peers get periodic resyncs only",
                    ErrorText(&e)
                );
            }
        }
    }

    /// Reads pending ctnetlink events into the core.
    pub fn read_events(&mut self, now: Instant) {
        let SyncPort {
            events,
            ev_rx,
            core,
            counters,
            next_overrun_log,
            events_since_tx,
            hold_until,
            ..
        } = self;
        let Some(sock) = events.as_ref() else { return };
        let mut entry = Entry::new(NO_TUPLE, NO_TUPLE);
        for _ in 0..READS_PER_WAKEUP {
            let n = match sock.recv(ev_rx) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    core.handle_event_overrun(now);
                    if log_due(next_overrun_log, now) {
                        crate::log!(
                            Warning,
                            "conntrack events: the kernel dropped events (queue overrun, {} so far); full resync",
                            core.counters().event_overruns
                        );
                    }
                    continue;
                }
                Err(e) => {
                    log_io(Level::Error, "conntrack events", e);
                    break;
                }
            };
            for m in Messages::new(&ev_rx[..n]) {
                let Ok(p) = m else { break };
                if let Ok(ct::Parsed::Entry(kind)) = ct::parse_message(&p, &mut entry) {
                    let k = match kind {
                        EntryKind::New => EventKind::New,
                        EntryKind::Update => EventKind::Update,
                        EntryKind::Destroy => EventKind::Destroy,
                        EntryKind::Dump => continue,
                    };
                    counters.events += 1;
                    *events_since_tx += 1;
                    hold_until.get_or_insert(now + COALESCE);
                    core.handle_ct_event(now, k, &entry);
                }
            }
        }
    }

    // ------------------------------------------------------------ dump

    fn abort_dump(&mut self) {
        self.dump = None;
        self.dump_pending = false;
    }

    #[inline(never)]
    fn start_dump(&mut self, now: Instant) {
        self.dump = None;
        let seq = self.next_seq();
        let r = CtSocket::open(0, 1 << 20).and_then(|(s, _)| {
            let mut req = [0u8; 64];
            let n = ct::dump_request(&mut req, seq, DumpFamily::Both)
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
            s.send(&req[..n])?;
            Ok(s)
        });
        match r {
            Ok(sock) => {
                self.dump = Some(Dump {
                    sock,
                    seq,
                    len: 0,
                    off: 0,
                    entries: 0,
                    started: now,
                })
            }
            Err(e) => {
                log_io(Level::Error, "conntrack dump", e);
                self.core.handle_dump_failed(now);
            }
        }
    }

    /// Feeds the running dump to the core while its window has room.
    #[inline(never)]
    fn feed_dump(&mut self, now: Instant) {
        let SyncPort {
            dump,
            dump_buf,
            core,
            counters,
            ..
        } = self;
        let Some(d) = dump.as_mut() else { return };
        let mut entry = Entry::new(NO_TUPLE, NO_TUPLE);
        // Nobody to stream to (the peer was lost after the dump began):
        // pause; a peer that comes back gets a full resync anyway.
        if !(0..cs::MAX_PEERS).any(|k| core.peer_live(k)) {
            return;
        }
        loop {
            while d.off < d.len {
                let rest = &dump_buf[d.off..d.len];
                let p = match Messages::new(rest).next() {
                    Some(Ok(p)) => p,
                    _ => {
                        d.off = d.len;
                        break;
                    }
                };
                let advance = p.total_len().clamp(1, rest.len());
                if p.sequence_number() != d.seq {
                    d.off += advance;
                    continue;
                }
                match ct::parse_message(&p, &mut entry) {
                    Ok(ct::Parsed::Entry(_)) => match core.handle_dump_entry(now, &entry) {
                        Ok(()) => {
                            d.off += advance;
                            d.entries += 1;
                            counters.dumped += 1;
                        }
                        Err(DumpError::WindowFull) => return,
                        Err(_) => {
                            *dump = None;
                            return;
                        }
                    },
                    Ok(ct::Parsed::Done) => {
                        core.handle_dump_done(now);
                        let ms = now.saturating_duration_since(d.started).as_millis();
                        crate::log!(
                            Info,
                            "conntrack: resync dump of {} entries done in {ms} ms",
                            d.entries
                        );
                        *dump = None;
                        return;
                    }
                    Ok(ct::Parsed::Error(e)) if !e.is_ack() => {
                        dump_failed(core, dump, now, &crate::sys::Errno(e.errno));
                        return;
                    }
                    _ => d.off += advance,
                }
            }
            if core.dump_space() == 0 {
                return;
            }
            match d.sock.recv(dump_buf) {
                Ok(Some(n)) => {
                    d.len = n;
                    d.off = 0;
                }
                Ok(None) => return,
                Err(e) => {
                    dump_failed(core, dump, now, &ErrorText(&e));
                    return;
                }
            }
        }
    }

    // ------------------------------------------------------------ UDP

    /// Reads pending datagrams into the core.
    pub fn receive(&mut self, now: Instant) {
        let n_peers = self.peers().len();
        for _ in 0..READS_PER_WAKEUP {
            let (n, src) = match self.udp.recv_from(self.rx) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => {
                    if log_due(&mut self.next_drop_log, now) {
                        log_io(Level::Warning, "sync socket", e);
                    }
                    break;
                }
            };
            let peer = self.cfg.peer_addresses[..n_peers]
                .iter()
                .position(|p| *p == src)
                .unwrap_or(n_peers);
            if let Err(d) = self.core.handle_datagram(now, peer, &self.rx[..n]) {
                if !matches!(d, cs::Drop::Idle) && log_due(&mut self.next_drop_log, now) {
                    let total = self.core.counters().dropped.total();
                    crate::log!(
                        Warning,
                        "sync: dropped a frame from {src}: {d} ({total} dropped so far)"
                    );
                }
            }
        }
    }

    #[inline(never)]
    fn transmit(&mut self, now: Instant) {
        let SyncPort {
            core,
            frame,
            udp,
            cfg,
            scope,
            counters,
            next_send_log,
            ..
        } = self;
        while let Some(t) = core.poll_transmit(now, frame) {
            let Some(dst) = cfg.peer_addresses.get(t.peer) else {
                continue;
            };
            let Some(bytes) = frame.get(..t.len) else {
                continue;
            };
            if let Err(e) = udp.send_to(bytes, *dst, cfg.port, *scope) {
                counters.send_errors += 1;
                if log_due(next_send_log, now) {
                    crate::log!(
                        Warning,
                        "sync: cannot send to {dst}: {} ({} send errors so far)",
                        ErrorText(&e),
                        counters.send_errors
                    );
                }
            }
        }
    }

    #[inline(never)]
    fn handle_actions(&mut self) {
        while let Some(a) = self.core.poll_action() {
            let (peer, level, what) = match a {
                Action::PeerUp { peer } => (peer, Level::Notice, "is up"),
                Action::PeerLost { peer } => (peer, Level::Warning, "lost (not heard from)"),
                Action::PeerRestarted { peer } => (peer, Level::Notice, "restarted"),
                _ => (usize::MAX, Level::Info, ""),
            };
            if let Some(p) = self.cfg.peer_addresses.get(peer) {
                crate::log::write(level, format_args!("sync: peer {p} {what}"));
                continue;
            }
            // By reference: the address is formatted where it is.
            match &a {
                Action::Commit => self.commit(),
                Action::Dump => self.dump_pending = true,
                Action::ResyncComplete { entries } => {
                    crate::log!(
                        Info,
                        "conntrack: full resync received, {entries} entries cached"
                    );
                }
                Action::LeaseConflict { addr } => crate::log!(
                    Warning,
                    "lease sync: {addr} is claimed by two clients (the peer's lease and ours); the newer lease was kept"
                ),
                // LeasesChanged: the lease port follows the table itself
                // (daemon/leases.rs: received-record counter + fingerprint).
                _ => {}
            }
        }
    }

    /// Logs (rate-limited) a full cache or retransmit window.
    #[inline(never)]
    fn log_capacity(&mut self, now: Instant) {
        let c = self.core.counters();
        let (full, overflows) = (c.cache_full, c.window_overflows);
        if (full == self.logged_full && overflows == self.logged_overflows)
            || !log_due(&mut self.next_full_log, now)
        {
            return;
        }
        if full > self.logged_full {
            crate::log!(
                Warning,
                "conntrack cache full: {} entries not cached so far ({} cached, conntrack_capacity {}); raise conntrack_capacity",
                full,
                self.core.cache_len(),
                self.cfg.conntrack_capacity
            );
        }
        if overflows > self.logged_overflows {
            crate::log!(
                Warning,
                "conntrack sync: retransmit window full ({} events so far, {} slots); a full resync follows",
                overflows,
                self.core.window_capacity()
            );
        }
        self.logged_full = full;
        self.logged_overflows = overflows;
    }

    /// After any input: carry out actions, start or feed the dump, send
    /// what is due.
    pub fn pump(&mut self, now: Instant) {
        self.log_capacity(now);
        self.handle_actions();
        if self.dump_pending {
            self.dump_pending = false;
            self.start_dump(now);
        }
        self.feed_dump(now);
        self.handle_actions();
        if self.dump_pending {
            self.dump_pending = false;
            self.start_dump(now);
            self.feed_dump(now);
        }
        // Coalescing: after events, wait up to COALESCE for more, unless
        // about a frame's worth is there already.
        let full = self.events_since_tx >= self.frame_len / 24;
        if self.hold_until.is_none_or(|t| t <= now) || full {
            self.hold_until = None;
            self.events_since_tx = 0;
            self.transmit(now);
        }
    }

    /// Sends everything due now, coalescing or not (shutdown: the events
    /// of the last milliseconds still reach the peers).
    pub fn flush(&mut self, now: Instant) {
        self.read_events(now);
        self.hold_until = None;
        self.pump(now);
    }

    /// When the loop must call [`SyncPort::pump`] next (a soft deadline).
    pub fn deadline(&self) -> Option<Instant> {
        let t = self.core.poll_timeout();
        match self.hold_until {
            Some(h) => Some(t.map_or(h, |a| a.min(h))),
            None => t,
        }
    }

    /// Timers of the core.
    pub fn timeout(&mut self, now: Instant) {
        if self.core.poll_timeout().is_some_and(|t| t <= now) {
            self.core.handle_timeout(now);
        }
    }

    /// Follows the router's role (from the VRRP states).
    fn set_role(&mut self, now: Instant, want: Role) {
        if want == self.role {
            return;
        }
        crate::log!(Notice, "conntrack sync: {} -> {}", self.role, want);
        self.role = want;
        match want {
            Role::Master => {
                self.abort_dump();
                self.core.become_master(now);
                // The commit runs here, before the caller goes on with the
                // VRRP actions that add the addresses.
                self.handle_actions();
                // Subscribe after the commit (its own events are not news
                // to anybody); the resync dump follows in `pump`.
                self.open_events();
            }
            Role::Backup => {
                self.events = None;
                self.abort_dump();
                self.core.become_backup(now);
                self.handle_actions();
            }
            Role::Idle => {
                self.events = None;
                self.abort_dump();
                self.core.stop(now);
            }
        }
    }

    /// Rebuilds the filter from the base ([`base_filter`]) and `own`
    /// addresses.
    fn apply_own(&mut self) {
        let mut f = base_filter(&self.cfg);
        let mut missing = 0;
        for a in &self.own {
            let len = if a.is_ipv6() { 128 } else { 32 };
            if f.ignore(*a, len).is_err() {
                missing += 1;
            }
        }
        if missing > 0 && !self.own_overflow_logged {
            crate::log!(
                Warning,
                "conntrack filter full: {missing} of the router's own addresses are not filtered out (at most {} prefixes)",
                cs::MAX_IGNORED
            );
        }
        self.own_overflow_logged = missing > 0;
        *self.core.filter_mut() = f;
    }
}

/// conntrack's name of a TCP state, in double quotes (as JSON has it).
fn tcp_state_name(s: tandem_protocol::conntrack::TcpState) -> &'static str {
    use tandem_protocol::conntrack::TcpState as T;
    match s {
        T::None => "\"NONE\"",
        T::SynSent => "\"SYN_SENT\"",
        T::SynRecv => "\"SYN_RECV\"",
        T::Established => "\"ESTABLISHED\"",
        T::FinWait => "\"FIN_WAIT\"",
        T::CloseWait => "\"CLOSE_WAIT\"",
        T::LastAck => "\"LAST_ACK\"",
        T::TimeWait => "\"TIME_WAIT\"",
        T::Close => "\"CLOSE\"",
        T::SynSent2 => "\"SYN_SENT2\"",
        T::Unknown(_) => "\"UNKNOWN\"",
    }
}

/// conntrack's name of a protocol, if it has one.
fn proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        58 => "icmpv6",
        132 => "sctp",
        136 => "udplite",
        _ => return None,
    })
}

/// A tuple's protocol fields in a `conntrack -L` line: ICMP type, code
/// and id, or the ports (or nothing).
struct Ports<'a>(&'a Tuple);

impl std::fmt::Display for Ports<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0;
        if t.is_icmp() {
            write!(
                f,
                " type={} code={} id={}",
                t.icmp_type(),
                t.icmp_code(),
                t.icmp_id()
            )
        } else if t.has_ports() {
            write!(f, " sport={} dport={}", t.src_port, t.dst_port)
        } else {
            Ok(())
        }
    }
}

/// ` zone=N` in a `conntrack -L` line, or nothing for zone 0.
struct Zone(u16);

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 != 0 {
            write!(f, " zone={}", self.0)?;
        }
        Ok(())
    }
}

/// One cache entry as a text line (`conntrack -L` style) or a JSON object.
fn write_entry(w: &mut dyn std::fmt::Write, e: &Entry, json: bool) -> std::fmt::Result {
    // The name in quotes (JSON), or null.
    let quoted = e.tcp.map_or("null", |t| tcp_state_name(t.state));
    let (o, r) = (&e.orig, &e.reply);
    if json {
        return write!(
            w,
            "{{\"proto\":{},\"state\":{quoted},\"timeout\":{},\"status\":{},\"mark\":{},\"zone\":{},\
             \"orig\":{{\"src\":\"{}\",\"dst\":\"{}\",\"sport\":{},\"dport\":{}}},\
             \"reply\":{{\"src\":\"{}\",\"dst\":\"{}\",\"sport\":{},\"dport\":{}}}}}",
            o.proto,
            e.timeout,
            e.status,
            e.mark,
            e.zone,
            o.src,
            o.dst,
            o.src_port,
            o.dst_port,
            r.src,
            r.dst,
            r.src_port,
            r.dst_port
        );
    }
    let name = proto_name(o.proto);
    let proto: &dyn std::fmt::Display = match &name {
        Some(n) => n,
        None => &o.proto,
    };
    // Text: " NAME", or nothing.
    let state = match quoted.get(1..quoted.len() - 1) {
        Some(name) if e.tcp.is_some() => (" ", name),
        _ => ("", ""),
    };
    writeln!(
        w,
        "{proto:<8} {}{}{} src={} dst={}{} src={} dst={}{} status=0x{:x} mark={}{}",
        e.timeout,
        state.0,
        state.1,
        o.src,
        o.dst,
        Ports(o),
        r.src,
        r.dst,
        Ports(r),
        e.status,
        e.mark,
        Zone(e.zone),
    )
}

/// Writes the next chunk of the cache listing into `out` (fixed
/// capacity): `cursor` 0 starts it, `k + 1` continues after `k` entries;
/// `more` is set while something is left. Entries are never cut; the
/// listing is not a snapshot (the cache may change between chunks).
pub(super) fn cache_chunk(
    sync: Option<&SyncPort>,
    json: bool,
    out: &mut Vec<u8>,
    cursor: &mut usize,
    more: &mut bool,
) {
    use std::fmt::Write;
    let room = |out: &Vec<u8>| out.capacity() - out.len();
    let Some(s) = sync else {
        let _ = writeln!(
            super::VecBuf {
                v: out,
                truncated: false
            },
            "error: conntrack sync is not configured (no tandem_sync block)"
        );
        return;
    };
    let mut line = [0u8; 512];
    let mut put = |out: &mut Vec<u8>, f: &dyn Fn(&mut crate::buf::Buf<'_>) -> std::fmt::Result| {
        let mut b = crate::buf::Buf::new(&mut line);
        // A cut line is an error (Buf reports it): never send half an entry.
        let ok = f(&mut b).is_ok();
        let n = b.len();
        if !ok || n > room(out) {
            return false;
        }
        out.extend_from_slice(&line[..n]);
        true
    };
    let mut done = cursor.saturating_sub(1);
    if *cursor == 0 {
        let n = s.core.cache_len();
        let role = s.role;
        let header = |b: &mut crate::buf::Buf<'_>| {
            if json {
                write!(b, "{{\"role\":\"{role}\",\"count\":{n},\"entries\":[")
            } else {
                writeln!(b, "conntrack cache ({role}): {n} entries")
            }
        };
        if !put(out, &header) {
            *more = true;
            return;
        }
        *cursor = 1;
    }
    // One loop (no `skip`: its own loop would unpack entries too).
    for (k, e) in s.core.cache_entries().enumerate() {
        if k < done {
            continue;
        }
        let first = done == 0;
        let ok = put(out, &|b: &mut crate::buf::Buf<'_>| {
            if json && !first {
                b.write_char(',')?;
            }
            write_entry(b, &e, json)?;
            Ok(())
        });
        if !ok {
            *cursor = done + 1;
            *more = true;
            return;
        }
        done += 1;
    }
    *cursor = done + 1;
    if json && !put(out, &|b: &mut crate::buf::Buf<'_>| b.write_str("]}\n")) {
        // The footer goes alone into the next chunk: no entry follows.
        *more = true;
        return;
    }
    *more = false;
}

/// Appends the request numbered `s` for `e` at `*len` of `tx` (`*last`:
/// its offset); whether it could be encoded.
#[inline(never)]
fn add_request(
    tx: &mut [u8],
    len: &mut usize,
    last: &mut usize,
    s: u32,
    e: &Entry,
    mode: NewMode,
) -> bool {
    let Ok(n) = ct::new_request(tx.get_mut(*len..).unwrap_or_default(), s, e, mode, false) else {
        return false;
    };
    *last = *len;
    *len += n;
    true
}

/// Sends a batch of requests (`msg`, the one at offset `last` gets an ack
/// request) and reads the kernel's answers until that ack: `on_error(k,
/// errno)` for each refused request, `k` counted from `base`.
fn send_batch(
    sock: &CtSocket,
    msg: &mut [u8],
    last: usize,
    rx: &mut [u8],
    base: u32,
    on_error: &mut dyn FnMut(usize, i32),
) -> std::io::Result<()> {
    if msg.is_empty() {
        return Ok(());
    }
    // The last message asks for an ack: its answer ends the batch.
    let flags_at = last + 6;
    let Some(f) = msg.get_mut(flags_at..flags_at + 2) else {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    };
    let flags = u16::from_ne_bytes([f[0], f[1]]) | NLM_F_ACK;
    f.copy_from_slice(&flags.to_ne_bytes());
    let last_seq = {
        let s = msg.get(last + 8..last + 12).unwrap_or(&[0; 4]);
        u32::from_ne_bytes([s[0], s[1], s[2], s[3]])
    };
    sock.send(msg)?;
    // The kernel handled the whole batch inside `sendto`: its answers are
    // queued. Should some be lost (ENOBUFS), the entries are in the kernel
    // anyway; only refusals go uncounted.
    let mut lost = false;
    loop {
        let n = match sock.recv(rx) {
            Ok(Some(n)) => n,
            Ok(None) if lost => return Ok(()),
            Ok(None) => {
                if !sock.wait(COMMIT_WAIT_MS)? {
                    return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
                }
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                lost = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut done = false;
        for m in Messages::new(&rx[..n]) {
            let Ok(p) = m else { break };
            if p.message_type() != NLMSG_ERROR {
                continue;
            }
            // The error code and the echoed request header (as
            // `ErrorMessage::parse` requires; its text is not needed).
            let pl = p.payload();
            if let (Some(&[a, b, c, d]), true) = (pl.get(..4), pl.len() >= 20) {
                let errno = i32::from_ne_bytes([a, b, c, d]).saturating_neg();
                let s = p.sequence_number();
                if errno != 0 {
                    on_error(s.wrapping_sub(base) as usize, errno);
                }
                if s == last_seq {
                    done = true;
                }
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// Logs `<what>: <error>` at `level` (one call for the similar lines).
#[inline(never)]
fn log_io(level: Level, what: &str, e: std::io::Error) {
    crate::log::write(level, format_args!("{what}: {}", ErrorText(&e)));
}

/// Rate limit of a log line: whether it may be logged `now` (then not
/// again for [`LOG_EVERY`]).
#[inline(never)]
fn log_due(next: &mut Instant, now: Instant) -> bool {
    let due = now >= *next;
    if due {
        *next = now + LOG_EVERY;
    }
    due
}

/// Microseconds shown as milliseconds with three decimals (`12.345`).
struct Millis(u64);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A dump failed (`why`): logged, dropped, and asked for again.
fn dump_failed(
    core: &mut CtSync<'static>,
    dump: &mut Option<Dump>,
    now: Instant,
    why: &dyn std::fmt::Display,
) {
    crate::log!(Error, "conntrack dump: {why}; retrying");
    core.handle_dump_failed(now);
    *dump = None;
}

impl Daemon {
    /// The router's sync role from the VRRP states: MASTER while some
    /// instance is, else BACKUP while some instance is BACKUP or FAULT.
    fn wanted_role(&self) -> Role {
        let mut master = false;
        let mut other = false;
        for (i, inst) in self.inst.iter().enumerate() {
            if inst.retired || i >= self.node.len() {
                continue;
            }
            match self.node.state(i) {
                tandem_core::vrrp::State::Master => master = true,
                tandem_core::vrrp::State::Backup | tandem_core::vrrp::State::Fault => other = true,
                _ => {}
            }
        }
        if master {
            Role::Master
        } else if other {
            Role::Backup
        } else {
            Role::Idle
        }
    }

    /// Called at every VRRP `Transition` action, before the actions queued
    /// after it: on becoming MASTER the cache is committed here, before the
    /// addresses are added.
    pub(super) fn sync_transition(&mut self, now: Instant) {
        if self.stopping || self.sync.is_none() {
            return;
        }
        let want = self.wanted_role();
        if let Some(s) = self.sync.as_deref_mut() {
            s.set_role(now, want);
        }
    }

    /// After the loop's inputs: sync timers, actions, dump, transmissions.
    pub(super) fn sync_pump(&mut self, now: Instant) {
        if self.sync.as_ref().is_some_and(|s| s.own_dirty) {
            self.refresh_own_addresses();
        }
        if let Some(s) = self.sync.as_deref_mut() {
            s.timeout(now);
            s.pump(now);
        }
    }

    /// Re-reads every local address (all interfaces) and filters the
    /// router's own ones (not the virtual addresses) out of the sync.
    pub(super) fn refresh_own_addresses(&mut self) {
        let Some(s) = self.sync.as_deref_mut() else {
            return;
        };
        s.own_dirty = false;
        let inst = &self.inst;
        let own = &mut s.own;
        own.clear();
        let local = s.cfg.local_address;
        let mut local_present = false;
        let r = self.nl.dump(
            |b, q| route::get_addresses(b, q, route::AF_UNSPEC),
            |m| {
                if let route::Message::NewAddress(a) = m {
                    let Some(addr) = a.addr() else { return };
                    local_present |= addr == local;
                    let ll = matches!(addr, IpAddr::V6(v6) if v6.is_unicast_link_local());
                    if !ll && !addr.is_loopback() && !is_vip(inst, &addr) && !own.contains(&addr) {
                        let _ = own.push(addr);
                    }
                }
            },
        );
        if let Err(e) = r {
            crate::log!(Error, "address dump for the conntrack filter: {}", e);
            s.own_dirty = true;
            return;
        }
        s.apply_own();
        if s.local_present != Some(local_present) {
            if !local_present {
                crate::log!(
                    Warning,
                    "tandem_sync: local_address {local} is not configured on any interface (yet); the sync channel waits for it"
                );
            } else if s.local_present.is_some() {
                crate::log!(Info, "tandem_sync: local_address {local} is configured now");
            }
            s.local_present = Some(local_present);
        }
    }

    /// SIGHUP: the sync block is read at start-up only.
    pub(super) fn sync_reload(&mut self, new: &tandem_protocol::config::Config) {
        match (&self.sync, &new.sync) {
            (None, None) => {}
            (Some(s), Some(n)) if s.cfg == *n => {}
            _ => crate::log!(
                Warning,
                "reload: tandem_sync changed; restart tandem to apply it (the running sync keeps its settings)"
            ),
        }
        if let Some(s) = self.sync.as_deref_mut() {
            // Virtual addresses may have changed.
            s.own_dirty = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_protocol::conntrack::{Key, Tuple};

    fn sync_config(extra: &str) -> SyncConfig {
        let text = format!(
            "tandem_sync {{\n local_address 10.255.0.1\n peer_address 10.255.0.2\n key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n{extra}}}\n"
        );
        let c =
            tandem_protocol::config::parse_str("t", &text, &mut |d| assert!(!d.is_error(), "{d}"))
                .unwrap();
        c.sync.unwrap()
    }

    fn key(src: [u8; 4], dst: [u8; 4], proto: u8) -> Key {
        let t = Tuple::new(
            IpAddr::V4(Ipv4Addr::from(src)),
            IpAddr::V4(Ipv4Addr::from(dst)),
            proto,
            1000,
            80,
        );
        Key { orig: t, zone: 0 }
    }

    #[test]
    fn entry_lines() {
        let line = |proto: u8| {
            let t = key([10, 0, 0, 2], [192, 0, 2, 1], proto).orig;
            let mut e = Entry::new(t, t.inverse());
            e.timeout = 30;
            e.status = 0x18e;
            let mut s = String::new();
            write_entry(&mut s, &e, false).unwrap();
            s
        };
        assert_eq!(
            line(17),
            "udp      30 src=10.0.0.2 dst=192.0.2.1 sport=1000 dport=80 src=192.0.2.1 dst=10.0.0.2 sport=80 dport=1000 status=0x18e mark=0\n"
        );
        assert!(
            line(99).starts_with("99       30 src=10.0.0.2 "),
            "{}",
            line(99)
        );
    }

    #[test]
    fn entry_lines_all_fields() {
        use tandem_protocol::conntrack::{TcpInfo, TcpState};
        let t = key([10, 0, 0, 2], [192, 0, 2, 1], 6).orig;
        let mut e = Entry::new(t, t.inverse());
        e.timeout = 300;
        e.status = 0x18e;
        e.mark = 7;
        e.zone = 3;
        e.tcp = Some(TcpInfo {
            state: TcpState::Established,
            wscale_orig: 7,
            wscale_reply: 7,
            flags_orig: 0,
            flags_reply: 0,
        });
        let icmp = Tuple::new(t.src, t.dst, 1, 0x1234, 0x0800);
        let mut i = Entry::new(icmp, icmp.inverse());
        i.timeout = 29;
        let mut out = String::new();
        for e in [&e, &i] {
            for json in [false, true] {
                write_entry(&mut out, e, json).unwrap();
                out.push('|');
            }
        }
        assert_eq!(out, EXPECTED_LINES, "{out}");
    }

    const EXPECTED_LINES: &str = concat!(
        "tcp      300 ESTABLISHED src=10.0.0.2 dst=192.0.2.1 sport=1000 dport=80 src=192.0.2.1 dst=10.0.0.2 sport=80 dport=1000 status=0x18e mark=7 zone=3\n|",
        "{\"proto\":6,\"state\":\"ESTABLISHED\",\"timeout\":300,\"status\":398,\"mark\":7,\"zone\":3,\"orig\":{\"src\":\"10.0.0.2\",\"dst\":\"192.0.2.1\",\"sport\":1000,\"dport\":80},\"reply\":{\"src\":\"192.0.2.1\",\"dst\":\"10.0.0.2\",\"sport\":80,\"dport\":1000}}|",
        "icmp     29 src=10.0.0.2 dst=192.0.2.1 type=8 code=0 id=4660 src=192.0.2.1 dst=10.0.0.2 type=0 code=0 id=4660 status=0x0 mark=0\n|",
        "{\"proto\":1,\"state\":null,\"timeout\":29,\"status\":0,\"mark\":0,\"zone\":0,\"orig\":{\"src\":\"10.0.0.2\",\"dst\":\"192.0.2.1\",\"sport\":4660,\"dport\":2048},\"reply\":{\"src\":\"192.0.2.1\",\"dst\":\"10.0.0.2\",\"sport\":4660,\"dport\":0}}|",
    );

    #[test]
    fn millis() {
        assert_eq!(Millis(12_345).to_string(), "12.345");
        assert_eq!(Millis(7).to_string(), "0.007");
        assert_eq!(Millis(3_000_040).to_string(), "3000.040");
    }

    #[test]
    fn sender_ids() {
        assert_eq!(sender_id("10.255.0.1".parse().unwrap()), 0x0aff_0001);
        let a = sender_id("fd00::1".parse().unwrap());
        let b = sender_id("fd00::2".parse().unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn epoch_grows_with_time() {
        let e = epoch_now();
        // 2024 + at least a year of quarter seconds, far from the end.
        assert!(e > 4 * 365 * 86400, "{e}");
        assert!(e < u32::MAX / 2, "{e}");
    }

    #[test]
    fn default_filter_and_config() {
        let c = sync_config(
            " conntrack_filter {\n  protocol tcp udp\n  ignore_address 192.0.2.0/24\n }\n",
        );
        let f = base_filter(&c);
        // Forwarded NAT'd TCP: synced.
        assert!(f.accepts(&key([10, 9, 8, 10], [198, 51, 100, 1], 6)));
        // Protocols, configured prefixes, multicast (VRRP), loopback: not.
        assert!(!f.accepts(&key([10, 9, 8, 10], [198, 51, 100, 1], 1)));
        assert!(!f.accepts(&key([10, 9, 8, 10], [192, 0, 2, 7], 6)));
        assert!(!f.accepts(&key([10, 9, 8, 2], [224, 0, 0, 18], 17)));
        assert!(!f.accepts(&key([127, 0, 0, 1], [127, 0, 0, 1], 6)));
        let all = base_filter(&sync_config(""));
        assert!(all.accepts(&key([10, 9, 8, 10], [198, 51, 100, 1], 1)));
    }

    #[test]
    fn key_sources() {
        let inline = sync_config("");
        assert!(load_key(&inline.key).is_ok());
        assert!(key_file_warning(&inline.key).is_none());
        let dir = std::env::temp_dir().join(format!("tandem-key-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, bytes: &[u8], mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let s = p.to_str().unwrap();
            SyncKey::File(tandem_protocol::config::Path::try_from(s).unwrap())
        };
        let good = file("good.key", &[7u8; 32], 0o600);
        assert!(load_key(&good).is_ok());
        assert!(key_file_warning(&good).is_none());
        let open = file("open.key", &[7u8; 40], 0o644);
        assert!(load_key(&open).is_ok());
        assert!(key_file_warning(&open).unwrap().contains("open.key"));
        let short = file("short.key", &[7u8; 31], 0o600);
        let e = load_key(&short).unwrap_err();
        assert!(e.contains("short.key") && e.contains("31 byte"), "{e}");
        assert!(load_key(&file("max.key", &[7u8; 4096], 0o600)).is_ok());
        let e = load_key(&file("long.key", &[7u8; 4097], 0o600)).unwrap_err();
        assert!(e.contains("long.key: longer than 4096 bytes"), "{e}");
        let missing = SyncKey::File(
            tandem_protocol::config::Path::try_from(dir.join("none.key").to_str().unwrap())
                .unwrap(),
        );
        let e = load_key(&missing).unwrap_err();
        assert!(e.contains("none.key") && e.contains("cannot read"), "{e}");
        assert!(e.ends_with("No such file or directory (os error 2)"), "{e}");
        // The same key from a file and inline authenticates the same frames.
        let bytes: Vec<u8> = (0u8..32).collect();
        let from_file = load_key(&file("same.key", &bytes, 0o600)).unwrap();
        let from_inline = load_key(&inline.key).unwrap();
        assert_eq!(from_file.tag(b"frame"), from_inline.tag(b"frame"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
