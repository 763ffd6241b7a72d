//! DHCP lease sync in the port: dnsmasq's lease file on one side, the lease
//! table of `tandem_core::ctsync` (carried over the sync channel) on the
//! other, and the commands that hand DHCP over (issue 5, point 4).
//!
//! # How dnsmasq and Tandem meet: the lease file
//!
//! dnsmasq rewrites its whole lease file (`--dhcp-leasefile`, OpenWrt's
//! `/tmp/dhcp.leases`, in tmpfs) on every lease change, and reads it only
//! when it starts. So:
//!
//! - **MASTER** (its dnsmasq runs): the file is watched — inotify on its
//!   directory (`IN_MODIFY`: dnsmasq truncates and rewrites through the
//!   stream it keeps open; `IN_CLOSE_WRITE`/`IN_MOVED_TO`: other writers),
//!   plus a 1 s `stat` fallback (inode, size, mtime) — and, [`SETTLE`]
//!   after the last change, read and applied as a whole
//!   ([`LeaseTable::apply_snapshot`]); the table streams the changes. A bad
//!   line is logged with its line and column and costs no other lease. A
//!   file that does not end in a newline (caught mid-write) is read again
//!   a moment later.
//! - **BACKUP** (its dnsmasq stopped by `dhcp_backup_command`): whenever
//!   the peer's lease records changed the table, the file is rewritten
//!   from it ([`WRITE_COALESCE`] later; ended leases pruned first; temp
//!   file + `fsync` + `rename`, in dnsmasq's format and order), so the file
//!   always equals the merged table.
//! - **Takeover** (becoming MASTER): the file is written from the table
//!   (atomically) and only then `dhcp_master_command` runs (after the loop
//!   added the VIPs: the conntrack commit, the addresses and the
//!   announcements come first). dnsmasq starts with every lease. When the
//!   peer's leases still change the table within [`REMASTER_WINDOW`] after
//!   a takeover (this router restarted and became MASTER before it held
//!   the whole table), the file is written again and the command runs
//!   once more ([`REMASTER_DEBOUNCE`] after the last change, once).
//!   Without a `dhcp_master_command` the file is not written while MASTER
//!   (a running dnsmasq keeps writing the file it opened; a renamed-over
//!   file would no longer be the one it writes).
//! - Becoming BACKUP or FAULT: `dhcp_backup_command` runs; the file is
//!   written from the table once it has ended (dnsmasq stopped).
//! - At start-up, before following the first role, the file is read once
//!   (the leases a DHCP server running until now handed out). A missing
//!   file deletes nothing. The file's `duid` line becomes the table's
//!   server DUID (MASTER), which the sync channel carries to the peer; a
//!   BACKUP writes the adopted DUID into its file.
//! - `dhcp_master_command`/`dhcp_backup_command` without `lease_file`:
//!   only the commands run (DHCP on the master only, no lease sync).
//!
//! # Commands
//!
//! `/bin/sh -c COMMAND` through `sys::spawn` (vfork-style, no copy of the daemon's
//! memory, no heap), signal mask cleared; reaped with `waitpid(WNOHANG)`
//! every [`REAP_EVERY`] while one runs; the exit status is logged. One
//! command runs at a time: a command due while another runs waits for it
//! (a queue of one: the latest wanted role wins, so MASTER then BACKUP
//! while the first still runs ends with the backup command). A command
//! still running after [`SLOW_COMMAND`] is logged once; it is never
//! killed. At shutdown a MASTER starts `dhcp_backup_command` and does not
//! wait for it.
//!
//! # Memory
//!
//! Everything is allocated in [`LeasePort::new`]: the lease slots and
//! their byte pool (`lease_capacity`: 48 + 48 bytes a lease, see
//! `tandem_core::lease::Slot`), the 4 KiB lease ring, the file buffer
//! ([`BYTES_PER_LEASE`] per lease + 16 KiB; a larger file is refused with
//! an error, never partly applied), a 4 KiB write chunk, the paths and
//! commands (NUL-terminated; like the buffers, never freed). The loop
//! only reuses them. The slots, the
//! pool, the ring, the file and event buffers and the write chunk are zero
//! pages mapped lazily: RAM is used for what they hold, not for their
//! capacity.

use super::Daemon;
use crate::log::Level;
use crate::sys::file::{self, Signature, TempFile};
use crate::sys::inotify::Inotify;
use crate::sys::{clock, spawn, ErrorText};
use tandem_core::ctsync::{CtSync, Role, DEFAULT_LEASE_RING};
use tandem_core::lease::{pool_len, LeaseTable, SnapshotSummary};
use tandem_core::time::{Duration, Instant};
use tandem_protocol::config::SyncConfig;
use tandem_protocol::lease::{lines, Line};

/// The `stat` fallback (and wall-clock, prune) period.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// A changed file is read this long after the last change seen.
pub const SETTLE: Duration = Duration::from_millis(30);
/// A BACKUP writes the file this long after the first change (batching).
pub const WRITE_COALESCE: Duration = Duration::from_millis(100);
/// After a takeover, lease changes from the peer within this time rewrite
/// the file and run `dhcp_master_command` again (once).
pub const REMASTER_WINDOW: Duration = Duration::from_secs(10);
/// ... that long after the last such change.
pub const REMASTER_DEBOUNCE: Duration = Duration::from_secs(1);
/// How often a running command is checked for.
pub const REAP_EVERY: Duration = Duration::from_millis(50);
/// A command running longer than this is logged (once).
pub const SLOW_COMMAND: Duration = Duration::from_secs(60);
/// File buffer per lease of `lease_capacity` (a dnsmasq line is 60–100
/// bytes; a 255-octet client id makes it ~900).
pub const BYTES_PER_LEASE: usize = 256;
/// Bad lines logged per read (the rest are counted).
const BAD_LINES_LOGGED: usize = 5;
/// Bytes of the write chunk.
const CHUNK: usize = 4 * 1024;
/// Logs about a file that cannot be read or written, at most every.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Which DHCP command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// `dhcp_master_command`.
    Master,
    /// `dhcp_backup_command`.
    Backup,
}

impl Which {
    fn keyword(self) -> &'static str {
        match self {
            Which::Master => "dhcp_master_command",
            Which::Backup => "dhcp_backup_command",
        }
    }
}

/// What the lease side counts (for `tandem status`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaseCounters {
    /// Lease file reads applied (MASTER).
    pub file_reads: u64,
    /// Lines that could not be read (left out).
    pub bad_lines: u64,
    /// Reads or writes that failed.
    pub file_errors: u64,
    /// Lease file writes (BACKUP, takeover).
    pub file_writes: u64,
    /// When the file was last written (monotonic).
    pub last_write: Option<Instant>,
    /// When the file was last read (monotonic).
    pub last_read: Option<Instant>,
    /// Commands started.
    pub commands: u64,
    /// Commands that failed (could not start, or exited non-zero).
    pub command_failures: u64,
    /// The last command that ended, and how.
    pub last_command: Option<(Which, spawn::Exit)>,
    /// Takeovers redone because the peer's leases came late.
    pub remasters: u64,
}

struct Running {
    pid: libc::pid_t,
    which: Which,
    started: Instant,
    warned: bool,
}

/// The lease side of the port.
pub struct LeasePort {
    /// `lease_file` is configured (else only the commands run).
    file: bool,
    path: &'static str,
    tmp: &'static [u8],
    /// Where the file name starts in `path`.
    name_at: usize,
    /// `lease_capacity`.
    pub capacity: usize,
    watch: Option<Inotify>,
    ev_buf: &'static mut [u8],
    read_buf: &'static mut [u8],
    chunk: &'static mut [u8],
    /// The file as last read, and as last written by us.
    seen: Option<Signature>,
    written: Option<Signature>,
    role: Role,
    started: bool,
    next_poll: Instant,
    read_due: Option<Instant>,
    write_due: Option<Instant>,
    /// A BACKUP writes the file when the backup command has ended.
    write_after_command: bool,
    /// The commands, NUL-terminated.
    master_cmd: Option<&'static str>,
    backup_cmd: Option<&'static str>,
    running: Option<Running>,
    queued: Option<Which>,
    takeover_at: Option<Instant>,
    remaster_due: Option<Instant>,
    remaster_done: bool,
    /// `lease_records_received` last looked at.
    records_seen: u64,
    /// Table generation when the file and the table last agreed.
    gen_file: u32,
    next_error_log: Instant,
    /// Counters.
    pub counters: LeaseCounters,
}

/// `s` NUL-terminated, allocated once and never freed (the port lives as
/// long as the process: no drop code for it).
fn boxed_cstr(s: &str) -> &'static str {
    Box::leak(format!("{s}\0").into_boxed_str())
}

/// Seconds since the Unix epoch on `CLOCK_REALTIME` (dnsmasq's expiries).
fn wall_secs() -> u64 {
    clock::realtime_millis() / 1000
}

/// Whether the deadline in `slot` has come; it is cleared then.
#[inline(never)]
fn take_due(slot: &mut Option<Instant>, now: Instant) -> bool {
    let due = slot.is_some_and(|t| t <= now);
    if due {
        *slot = None;
    }
    due
}

/// Reads the wall clock, hands it to `core` and returns it.
#[inline(never)]
fn sync_wall_clock(now: Instant, core: &mut CtSync<'static>) -> u64 {
    let wall = wall_secs();
    core.set_wall_clock(now, wall);
    wall
}

/// `fmt::Write` into a fixed chunk that is flushed to the temp file when
/// full (a file of any size, written without allocating).
struct ChunkWriter<'a> {
    file: &'a mut TempFile,
    buf: &'a mut [u8],
    len: usize,
    error: Option<std::io::Error>,
}

impl ChunkWriter<'_> {
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.file.write_all(&self.buf[..self.len]);
        self.len = 0;
        r
    }
}

impl std::fmt::Write for ChunkWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &c in s.as_bytes() {
            if self.len == self.buf.len() {
                if let Err(e) = self.flush() {
                    self.error = Some(e);
                    return Err(std::fmt::Error);
                }
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = c;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// `dhcp_master_command` when the configuration has none, on OpenWrt.
pub const OPENWRT_MASTER_COMMAND: &str = "/etc/init.d/dnsmasq restart";
/// `dhcp_backup_command` when the configuration has none, on OpenWrt.
pub const OPENWRT_BACKUP_COMMAND: &str = "/etc/init.d/dnsmasq stop";

/// An OpenWrt system with its dnsmasq init script (`/etc/openwrt_release`
/// and `/etc/init.d/dnsmasq` exist): there the DHCP commands default to
/// [`OPENWRT_MASTER_COMMAND`] and [`OPENWRT_BACKUP_COMMAND`].
fn is_openwrt() -> bool {
    [&b"/etc/openwrt_release"[..], b"/etc/init.d/dnsmasq"]
        .iter()
        .all(|p| matches!(file::stat(p), Ok(Some(_))))
}

impl LeasePort {
    /// Allocates everything, attaches the lease table to `core` and sets
    /// its wall clock. `Ok(None)` without `lease_file` and DHCP commands;
    /// with commands but no `lease_file` only the commands run.
    pub fn new(
        cfg: &SyncConfig,
        core: &mut CtSync<'static>,
        now: Instant,
    ) -> Result<Option<Box<LeasePort>>, String> {
        if cfg.lease_file.is_none()
            && cfg.dhcp_master_command.is_none()
            && cfg.dhcp_backup_command.is_none()
        {
            return Ok(None);
        }
        // Not dropped on the error paths (the daemon exits): no drop code.
        let mut p = std::mem::ManuallyDrop::new(Box::new(LeasePort {
            file: false,
            path: "",
            tmp: &[],
            name_at: 0,
            capacity: 0,
            watch: None,
            ev_buf: &mut [],
            read_buf: &mut [],
            chunk: &mut [],
            seen: None,
            written: None,
            role: Role::Idle,
            started: false,
            next_poll: now,
            read_due: None,
            write_due: None,
            write_after_command: false,
            master_cmd: cfg.dhcp_master_command.as_ref().map(|c| boxed_cstr(c)),
            backup_cmd: cfg.dhcp_backup_command.as_ref().map(|c| boxed_cstr(c)),
            running: None,
            queued: None,
            takeover_at: None,
            remaster_due: None,
            remaster_done: false,
            records_seen: 0,
            gen_file: u32::MAX,
            next_error_log: Instant::ZERO,
            counters: LeaseCounters::default(),
        }));
        let Some(path) = cfg.lease_file.as_ref() else {
            crate::log!(
                Notice,
                "dhcp_master_command/dhcp_backup_command without lease_file: the commands run on MASTER/BACKUP, but leases are not synced"
            );
            return Ok(Some(std::mem::ManuallyDrop::into_inner(p)));
        };
        let path = path.as_str();
        let (dir, name) = match path.rfind('/') {
            Some(0) => ("/", &path[1..]),
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (".", path),
        };
        if name.is_empty() {
            return Err(format!("lease_file {path}: not a file name"));
        }
        let openwrt = is_openwrt();
        let q: &mut LeasePort = &mut p;
        // Per command: keyword, OpenWrt default, what its absence means.
        const MISSING: [(&str, &str, &str); 2] = [
            (
                "dhcp_master_command",
                OPENWRT_MASTER_COMMAND,
                "nothing restarts the DHCP server on takeover, so it will not know the peer's leases",
            ),
            (
                "dhcp_backup_command",
                OPENWRT_BACKUP_COMMAND,
                "a BACKUP's DHCP server must be stopped by other means",
            ),
        ];
        for (k, &(kw, default, hint)) in MISSING.iter().enumerate() {
            let cmd = if k == 0 {
                &mut q.master_cmd
            } else {
                &mut q.backup_cmd
            };
            if cmd.is_none() && openwrt {
                // OpenWrt's defaults: its procd init script owns dnsmasq.
                crate::log!(Notice, "{kw}: OpenWrt default \"{default}\"");
                *cmd = Some(boxed_cstr(default));
            } else if cmd.is_none() {
                crate::log!(
                    Warning,
                    "lease_file {path} without {kw}: {hint} (e.g. {kw} \"{default}\")"
                );
            }
        }
        let capacity = cfg.lease_capacity.max(1) as usize;
        let slots = file::zeroed_lease_slots(capacity);
        let pool = file::zeroed_bytes(pool_len(capacity));
        let ring = file::zeroed_bytes(DEFAULT_LEASE_RING);
        core.attach_leases(now, LeaseTable::new(slots, pool), ring);
        sync_wall_clock(now, core);
        p.watch = match Inotify::watch_dir(dir.as_bytes()) {
            Ok(w) => Some(w),
            Err(e) => {
                crate::log!(
                    Warning,
                    "lease_file {path}: cannot watch {dir} ({}); checking the file every second instead",
                    ErrorText(&e)
                );
                None
            }
        };
        let sep = if dir.ends_with('/') { "" } else { "/" };
        let tmp = format!("{dir}{sep}.{name}.tandem").into_bytes();
        p.file = true;
        p.path = Box::leak(path.into());
        p.tmp = Box::leak(tmp.into_boxed_slice());
        p.name_at = path.len() - name.len();
        p.capacity = capacity;
        p.ev_buf = file::zeroed_bytes(4096);
        p.read_buf = file::zeroed_bytes(capacity.saturating_mul(BYTES_PER_LEASE) + 16 * 1024);
        p.chunk = file::zeroed_bytes(CHUNK);
        Ok(Some(std::mem::ManuallyDrop::into_inner(p)))
    }

    /// Whether `lease_file` is configured.
    pub fn has_file(&self) -> bool {
        self.file
    }

    fn path_str(&self) -> &str {
        self.path
    }

    /// The inotify descriptor (to poll).
    pub fn fd(&self) -> Option<i32> {
        self.watch.as_ref().map(|w| w.fd().raw())
    }

    /// The command running now.
    pub fn running(&self) -> Option<Which> {
        self.running.as_ref().map(|r| r.which)
    }

    /// What `tandem status` shows.
    pub fn status(&self, core: &CtSync<'static>) -> crate::status::LeaseStatus<'_> {
        let t = core.leases();
        let c = &self.counters;
        crate::status::LeaseStatus {
            file: self.path_str(),
            entries: t.map_or(0, |t| t.len()),
            capacity: self.capacity,
            in_flight: core.leases_in_flight(),
            pending: t.map_or(0, |t| t.pending_changes()),
            duid: t.is_some_and(|t| t.duid().is_some()),
            file_reads: c.file_reads,
            bad_lines: c.bad_lines,
            file_errors: c.file_errors,
            file_writes: c.file_writes,
            last_read_ms: c.last_read.map(|t| t.as_millis()),
            last_write_ms: c.last_write.map(|t| t.as_millis()),
            commands: c.commands,
            command_failures: c.command_failures,
            running: self.running().map(Which::keyword),
            last_command: c.last_command.map(|(w, e)| match e {
                spawn::Exit::Code(x) => (w.keyword(), Some(x), None),
                spawn::Exit::Signal(s) => (w.keyword(), None, Some(s)),
            }),
            remasters: c.remasters,
        }
    }

    /// The inotify descriptor is readable.
    pub fn readable(&mut self, now: Instant) {
        let Some(w) = self.watch.as_ref() else { return };
        let name = self.path.as_bytes().get(self.name_at..).unwrap_or_default();
        match w.read(self.ev_buf, name) {
            Ok(true) if self.role == Role::Master => self.read_due = Some(now + SETTLE),
            Ok(_) => {}
            Err(e) => {
                crate::log!(
                    Error,
                    "lease_file: inotify: {}; checking every second instead",
                    ErrorText(&e)
                );
                self.watch = None;
            }
        }
    }

    /// When [`LeasePort::pump`] must run next.
    pub fn deadline(&self) -> Option<Instant> {
        let mut t = self.next_poll;
        for d in [&self.read_due, &self.write_due, &self.remaster_due] {
            if let Some(d) = *d {
                t = t.min(d);
            }
        }
        if let Some(r) = &self.running {
            t = t.min(r.started.max(clock::now()) + REAP_EVERY);
        }
        Some(t)
    }

    #[inline(never)]
    /// Counts a file error and logs `lease_file PATH: {what}{e}` (rate
    /// limited).
    fn log_error(&mut self, now: Instant, what: &str, e: &dyn std::fmt::Display) {
        self.counters.file_errors += 1;
        if now >= self.next_error_log {
            self.next_error_log = now + LOG_EVERY;
            crate::log!(Error, "lease_file {}: {what}{e}", self.path_str());
        }
    }

    /// Reads the file and applies it to the table (this router's DHCP
    /// server wrote it). `force`: even when it looks unchanged.
    fn load(&mut self, now: Instant, core: &mut CtSync<'static>, force: bool) {
        if !self.file {
            return;
        }
        let sig = match file::stat(self.path.as_bytes()) {
            Ok(s) => s,
            Err(e) => return self.log_error(now, "cannot stat: ", &ErrorText(&e)),
        };
        if !force && (sig == self.seen || (sig.is_some() && sig == self.written)) {
            return;
        }
        let len = match file::read_all(self.path.as_bytes(), self.read_buf) {
            Ok(Some(n)) => n,
            Ok(None) => {
                // No file is not "no leases" (dnsmasq never removes it):
                // nothing is deleted until it is there again.
                self.seen = None;
                return;
            }
            Err(e) if e.raw_os_error() == Some(libc::EFBIG) => {
                let n = self.read_buf.len();
                let capacity = self.capacity;
                self.log_error(
                    now,
                    "larger than ",
                    &format_args!(
                        "{n} bytes ({BYTES_PER_LEASE} per lease of lease_capacity {capacity}); not read: raise lease_capacity"
                    ),
                );
                self.seen = sig;
                return;
            }
            Err(e) => return self.log_error(now, "cannot read: ", &ErrorText(&e)),
        };
        let bytes = &self.read_buf[..len];
        if len > 0 && bytes[len - 1] != b'\n' {
            // Caught in the middle of a rewrite: read again shortly.
            self.read_due = Some(now + SETTLE);
            return;
        }
        self.seen = sig;
        let path = self.path;
        let wall = sync_wall_clock(now, core);
        let mut table = core.leases_mut();
        if let Some(t) = table.as_deref_mut() {
            t.snapshot_begin();
        }
        let mut bad = 0usize;
        let mut duid = None;
        let mut it = lines(bytes);
        let mut l = Ok(Line::Other(""));
        while it.next_into(false, &mut l) {
            match &l {
                Err(e) => {
                    bad += 1;
                    if bad <= BAD_LINES_LOGGED {
                        crate::log!(
                            Warning,
                            "{path}:{}:{}: {} (line left out; the other leases are kept)",
                            e.line,
                            e.column,
                            e.kind
                        );
                    }
                }
                Ok(Line::Duid(d)) => duid = Some(*d),
                Ok(Line::Lease(l)) => {
                    if let Some(t) = table.as_deref_mut() {
                        t.snapshot_see(l);
                    }
                }
                Ok(Line::Other(_)) => {}
            }
        }
        if bad > BAD_LINES_LOGGED {
            crate::log!(
                Warning,
                "{path}: {} more bad line(s) left out",
                bad - BAD_LINES_LOGGED
            );
        }
        self.counters.bad_lines += bad as u64;
        let Some(table) = table else {
            return;
        };
        let mut sum = SnapshotSummary {
            deleted: table.snapshot_prune(wall),
            ..SnapshotSummary::default()
        };
        let mut conflicts = 0u32;
        let mut full = 0u32;
        // Bottom-up: the oldest lease is created first.
        let mut it = lines(bytes);
        while it.next_into(true, &mut l) {
            let Ok(Line::Lease(l)) = &l else { continue };
            match table.snapshot_merge(wall, l, &mut sum) {
                Ok(o) => {
                    if let Some(c) = &o.conflict {
                        conflicts += 1;
                        if conflicts <= 3 {
                            crate::log!(
                                Warning,
                                "lease conflict: {} claimed by two clients; kept '{}', dropped '{}'",
                                c.addr,
                                c.kept,
                                c.dropped
                            );
                        }
                    }
                }
                Err(_) => {
                    full += 1;
                    if full == 1 {
                        crate::log!(
                            Error,
                            "lease table full (lease_capacity {}): {} left out of the sync; raise lease_capacity",
                            self.capacity,
                            l.addr()
                        );
                    }
                }
            }
        }
        if duid.is_some() {
            table.set_duid(duid);
        }
        self.counters.file_reads += 1;
        self.counters.last_read = Some(now);
        self.gen_file = table.generation();
        if sum.added + sum.updated + sum.deleted > 0 {
            crate::log!(
                Info,
                "lease_file: {} added, {} updated, {} deleted ({} leases)",
                sum.added,
                sum.updated,
                sum.deleted,
                table.len()
            );
        }
    }

    /// Writes the file from the table (pruned first): temp + rename.
    fn write(&mut self, now: Instant, core: &mut CtSync<'static>) {
        if !self.file {
            return;
        }
        let wall = sync_wall_clock(now, core);
        let Some(table) = core.leases_mut() else {
            return;
        };
        table.prune(wall);
        let generation = table.generation();
        let mut f = match TempFile::create(self.tmp) {
            Ok(f) => f,
            Err(e) => {
                return self.log_error(now, "cannot create the temporary file: ", &ErrorText(&e))
            }
        };
        let mut w = ChunkWriter {
            file: &mut f,
            buf: self.chunk,
            len: 0,
            error: None,
        };
        let r = table.write_file(&mut w);
        // `None`: a formatting error without an I/O error.
        let r = match (r, w.error.take()) {
            (_, Some(e)) => Err(Some(e)),
            (Err(_), None) => Err(None),
            (Ok(()), None) => w.flush().map_err(Some),
        };
        let n = table.len();
        let r = r.and_then(|()| f.commit(self.tmp, self.path.as_bytes()).map_err(Some));
        if let Err(e) = r {
            file::remove(self.tmp);
            return match &e {
                Some(e) => self.log_error(now, "cannot write: ", &ErrorText(e)),
                None => self.log_error(now, "cannot write: ", &"format error"),
            };
        }
        self.written = file::stat(self.path.as_bytes()).ok().flatten();
        self.seen = self.written;
        self.gen_file = generation;
        self.counters.file_writes += 1;
        self.counters.last_write = Some(now);
        crate::log!(
            Info,
            "lease_file {}: written, {n} lease(s)",
            self.path_str()
        );
    }

    fn request(&mut self, now: Instant, which: Which, core: &mut CtSync<'static>) {
        if self.running.is_some() {
            self.queued = Some(which);
            return;
        }
        self.start(now, which, core);
    }

    fn start(&mut self, now: Instant, which: Which, core: &mut CtSync<'static>) {
        let master = which == Which::Master;
        let cmd = if master {
            self.master_cmd
        } else {
            self.backup_cmd
        };
        let Some(cmd) = cmd else {
            if which == Which::Backup && self.write_after_command {
                self.write_after_command = false;
                self.write(now, core);
            }
            return;
        };
        if master {
            // dnsmasq reads its lease file only at start: the file first.
            self.write(now, core);
        }
        let text = cmd.strip_suffix('\0').unwrap_or(cmd);
        self.counters.commands += 1;
        match spawn::spawn_shell(cmd.as_bytes()) {
            Ok(pid) => {
                crate::log!(Notice, "{}: started '{text}' (pid {pid})", which.keyword());
                self.running = Some(Running {
                    pid,
                    which,
                    started: now,
                    warned: false,
                });
            }
            Err(e) => {
                self.counters.command_failures += 1;
                crate::log!(
                    Error,
                    "{}: cannot start '{text}': {}",
                    which.keyword(),
                    ErrorText(&e)
                );
            }
        }
    }

    fn reap(&mut self, now: Instant, core: &mut CtSync<'static>) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        let exit = match spawn::try_wait(r.pid) {
            Ok(Some(e)) => e,
            Ok(None) => {
                let took = now.saturating_duration_since(r.started);
                if took > SLOW_COMMAND && !r.warned {
                    r.warned = true;
                    crate::log!(
                        Warning,
                        "{}: still running after {} s (pid {}); the next command waits",
                        r.which.keyword(),
                        took.as_millis() as u32 / 1000,
                        r.pid
                    );
                }
                return;
            }
            Err(e) => {
                crate::log!(Error, "waitpid {}: {}", r.pid, ErrorText(&e));
                spawn::Exit::Code(-1)
            }
        };
        let which = r.which;
        let ms = now.saturating_duration_since(r.started).as_millis();
        self.running = None;
        self.counters.last_command = Some((which, exit));
        let (level, how) = if exit == spawn::Exit::Code(0) {
            (Level::Notice, "done")
        } else {
            self.counters.command_failures += 1;
            (Level::Warning, "failed")
        };
        crate::log::write(
            level,
            format_args!("{}: {how} ({exit}, {ms} ms)", which.keyword()),
        );
        if which == Which::Backup && self.write_after_command {
            self.write_after_command = false;
            if self.role == Role::Backup {
                self.write(now, core);
            }
        }
        if let Some(next) = self.queued.take() {
            self.start(now, next, core);
        }
    }

    fn on_role(&mut self, now: Instant, role: Role, core: &mut CtSync<'static>) {
        let first = !self.started;
        self.started = true;
        if first && role != Role::Idle {
            // This router's own leases (a restart without a reboot: the
            // DHCP server may have run until now).
            self.load(now, core, true);
        }
        self.role = role;
        match role {
            Role::Master => {
                self.takeover_at = Some(now);
                self.remaster_due = None;
                self.remaster_done = false;
                self.write_due = None;
                self.write_after_command = false;
                self.request(now, Which::Master, core);
            }
            Role::Backup => {
                self.takeover_at = None;
                self.remaster_due = None;
                self.read_due = None;
                self.write_after_command = true;
                self.request(now, Which::Backup, core);
            }
            Role::Idle => {}
        }
    }

    /// After the loop's inputs and the VRRP actions: follow `role`, read
    /// or write the file, run and reap commands.
    pub fn pump(&mut self, now: Instant, role: Role, core: &mut CtSync<'static>) {
        if role != self.role {
            self.on_role(now, role, core);
        }
        if now >= self.next_poll {
            self.next_poll = now + POLL_EVERY;
            let wall = sync_wall_clock(now, core);
            if self.file && self.role == Role::Master && self.read_due.is_none() {
                match file::stat(self.path.as_bytes()) {
                    Ok(sig) if sig != self.seen && sig != self.written => {
                        self.read_due = Some(now + SETTLE)
                    }
                    Ok(_) => {}
                    Err(e) => self.log_error(now, "cannot stat: ", &ErrorText(&e)),
                }
            }
            if let Some(t) = core.leases_mut() {
                if t.next_expiry().is_some_and(|x| x <= wall) {
                    t.prune(wall);
                    if self.role == Role::Backup && self.running.is_none() {
                        self.write_due.get_or_insert(now);
                    }
                }
            }
        }
        // The peer's lease records. (Each conflict is logged with its
        // address by the sync port.)
        let records = core.counters().lease_records_received;
        if records != self.records_seen {
            self.records_seen = records;
            let changed = core
                .leases()
                .is_some_and(|t| t.generation() != self.gen_file);
            if changed {
                match self.role {
                    Role::Backup if !self.write_after_command => {
                        self.write_due.get_or_insert(now + WRITE_COALESCE);
                    }
                    Role::Master
                        if !self.remaster_done
                            && self.master_cmd.is_some()
                            && self.takeover_at.is_some_and(|t| now < t + REMASTER_WINDOW) =>
                    {
                        self.remaster_due = Some(now + REMASTER_DEBOUNCE);
                    }
                    _ => {}
                }
            }
        }
        if take_due(&mut self.read_due, now) && self.role == Role::Master {
            self.load(now, core, false);
        }
        if take_due(&mut self.write_due, now) && self.role == Role::Backup {
            self.write(now, core);
        }
        if take_due(&mut self.remaster_due, now) && self.role == Role::Master && !self.remaster_done
        {
            self.remaster_done = true;
            self.counters.remasters += 1;
            crate::log!(
                Notice,
                "lease sync: the peer's leases arrived after the takeover; writing the lease file and running dhcp_master_command again"
            );
            // What the DHCP server wrote meanwhile comes first.
            self.load(now, core, false);
            self.request(now, Which::Master, core);
        }
        if self.running.is_some() {
            self.reap(now, core);
        }
    }

    /// Shutdown: a MASTER hands DHCP back (the backup command is started,
    /// not waited for).
    pub fn shutdown(&mut self, now: Instant, core: &mut CtSync<'static>) {
        if self.role == Role::Master && self.backup_cmd.is_some() {
            self.write_after_command = false;
            self.running = None;
            self.start(now, Which::Backup, core);
        }
    }
}

impl Daemon {
    /// The lease watch became readable.
    pub(super) fn lease_readable(&mut self, now: Instant) {
        if let Some(l) = self.leases.as_deref_mut() {
            l.readable(now);
        }
    }

    /// After the loop's inputs (and after [`Daemon::sync_pump`]).
    pub(super) fn lease_pump(&mut self, now: Instant) {
        if let (Some(l), Some(s)) = (self.leases.as_deref_mut(), self.sync.as_deref_mut()) {
            let role = if self.stopping { Role::Idle } else { s.role };
            l.pump(now, role, &mut s.core);
        }
    }

    /// The lease side's next deadline.
    pub(super) fn lease_deadline(&self) -> Option<Instant> {
        self.leases.as_ref().and_then(|l| l.deadline())
    }

    /// SIGTERM.
    pub(super) fn lease_shutdown(&mut self, now: Instant) {
        if let (Some(l), Some(s)) = (self.leases.as_deref_mut(), self.sync.as_deref_mut()) {
            l.shutdown(now, &mut s.core);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_core::ctsync as cs;

    fn core() -> CtSync<'static> {
        let key = tandem_protocol::sync::Key::new(&[7u8; 32]).unwrap();
        let cache = Box::leak(vec![cs::Slot::EMPTY; 16].into_boxed_slice());
        let window = Box::leak(vec![cs::TxSlot::EMPTY; 16].into_boxed_slice());
        CtSync::new(
            cs::Config::new(1, 1, 1),
            key,
            cs::Filter::new(),
            cache,
            window,
        )
    }

    fn config(dir: &std::path::Path, master: &str, backup: &str) -> SyncConfig {
        let text = format!(
            "tandem_sync {{\n local_address 10.255.0.1\n peer_address 10.255.0.2\n key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n lease_file {}/dhcp.leases\n lease_capacity 8\n dhcp_master_command \"{master}\"\n dhcp_backup_command \"{backup}\"\n}}\n",
            dir.display()
        );
        tandem_protocol::config::parse_str("t", &text, &mut |d| assert!(!d.is_error(), "{d}"))
            .unwrap()
            .sync
            .unwrap()
    }

    /// Pumps (with `role`) until no command runs.
    fn settle(l: &mut LeasePort, role: Role, core: &mut CtSync<'static>) {
        for _ in 0..300 {
            let now = clock::now();
            l.readable(now);
            l.pump(now, role, core);
            if l.running.is_none() && l.read_due.is_none() && l.write_due.is_none() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("does not settle");
    }

    /// Takeover writes the file before the master command runs (the
    /// command copies it); a bad line costs only itself; the file watch
    /// follows in-place rewrites; BACKUP runs its command and writes the
    /// merged table after it; failures are counted.
    #[test]
    fn file_and_commands() {
        let dir = std::env::temp_dir().join(format!("tandem-lease-p-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("dhcp.leases");
        let wall = wall_secs();
        let l1 = format!(
            "{} 00:1c:42:0f:b1:c7 192.168.1.10 host1 01:00:1c:42:0f:b1:c7\n",
            wall + 3600
        );
        let l2 = format!("{} 00:1c:42:0f:b1:c8 192.168.1.11 host2 *\n", wall + 3000);
        let l3 = format!("{} 00:1c:42:0f:b1:c9 192.168.1.12 * *\n", wall + 2000);
        std::fs::write(&file, format!("{l1}1 zz 192.168.1.99 x *\n{l2}")).unwrap();
        let at_master = dir.join("at-master");
        let cfg = config(
            &dir,
            &format!("sleep 0.05; cp {} {}", file.display(), at_master.display()),
            // Still running after the pump that starts it (a bare `exit 3`
            // could already be reaped within that pump).
            "sleep 0.05; exit 3",
        );
        let mut core = core();
        let now = clock::now();
        let mut l = LeasePort::new(&cfg, &mut core, now).unwrap().unwrap();
        assert!(l.has_file() && l.fd().is_some());
        l.pump(now, Role::Master, &mut core);
        assert_eq!(core.leases().unwrap().len(), 2);
        assert_eq!(l.counters.bad_lines, 1);
        assert_eq!(l.counters.file_writes, 1);
        assert_eq!(l.running(), Some(Which::Master));
        settle(&mut l, Role::Master, &mut core);
        let copied = std::fs::read_to_string(&at_master).unwrap();
        assert_eq!(copied, format!("{l1}{l2}"), "the file is written first");
        assert_eq!(
            l.counters.last_command,
            Some((Which::Master, spawn::Exit::Code(0)))
        );
        // dnsmasq rewrites the file in place with one more lease.
        {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
            f.seek(std::io::SeekFrom::Start(0)).unwrap();
            f.write_all(format!("{l3}{l1}{l2}").as_bytes()).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        settle(&mut l, Role::Master, &mut core);
        assert_eq!(core.leases().unwrap().len(), 3);
        assert_eq!(core.leases().unwrap().pending_changes(), 3);
        // BACKUP: the command fails (counted); the file is written after it.
        l.pump(clock::now(), Role::Backup, &mut core);
        assert_eq!(l.running(), Some(Which::Backup));
        let writes = l.counters.file_writes;
        settle(&mut l, Role::Backup, &mut core);
        assert_eq!(l.counters.file_writes, writes + 1);
        assert_eq!(l.counters.command_failures, 1);
        assert_eq!(
            l.counters.last_command,
            Some((Which::Backup, spawn::Exit::Code(3)))
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{l3}{l1}{l2}")
        );
        assert!(!dir.join(".dhcp.leases.tandem").exists());
        let st = l.status(&core);
        assert_eq!(
            (st.entries, st.capacity, st.file_writes),
            (3, 8, writes + 1)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A command still running when the next is due: the latest one waits.
    #[test]
    fn commands_queue() {
        let dir = std::env::temp_dir().join(format!("tandem-lease-q-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let cfg = config(
            &dir,
            &format!("sleep 0.2; echo master >> {}", log.display()),
            &format!("echo backup >> {}", log.display()),
        );
        let mut core = core();
        let now = clock::now();
        let mut l = LeasePort::new(&cfg, &mut core, now).unwrap().unwrap();
        l.pump(now, Role::Master, &mut core);
        l.pump(now, Role::Backup, &mut core);
        l.pump(now, Role::Master, &mut core);
        l.pump(now, Role::Backup, &mut core);
        assert_eq!(l.running(), Some(Which::Master));
        settle(&mut l, Role::Backup, &mut core);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "master\nbackup\n");
        assert_eq!(l.counters.commands, 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn chunked_writes_cross_the_chunk() {
        let dir = std::env::temp_dir().join(format!("tandem-lease-w-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(".f.tandem");
        let dst = dir.join("f");
        let mut f = TempFile::create(tmp.to_str().unwrap().as_bytes()).unwrap();
        let mut buf = [0u8; 7];
        let mut w = ChunkWriter {
            file: &mut f,
            buf: &mut buf,
            len: 0,
            error: None,
        };
        use std::fmt::Write;
        for i in 0..100 {
            writeln!(w, "line {i}").unwrap();
        }
        w.flush().unwrap();
        f.commit(
            tmp.to_str().unwrap().as_bytes(),
            dst.to_str().unwrap().as_bytes(),
        )
        .unwrap();
        let got = std::fs::read_to_string(&dst).unwrap();
        let want: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(got, want);
        assert!(!tmp.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
