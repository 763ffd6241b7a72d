//! The daemon: one single-threaded event loop around `ppoll(2)`.
//!
//! Start-up (the only place that allocates): block and open the signals,
//! read the configuration (into the [`conf::Loader`]'s buffers, kept for
//! reloads), open the netlink sockets, dump
//! links and addresses, remove virtual addresses and routes a crashed
//! earlier run left behind, open the VRRP sockets, build the core
//! [`Node`], bind the control socket. Then the loop: wait until a socket is
//! readable or the core's next deadline ([`Node::poll_timeout`]); read the
//! clock (`CLOCK_MONOTONIC`); feed packets, link events and timeouts to the
//! core; carry out every [`Action`] it queued.
//!
//! Reloads (SIGHUP) do not allocate either: the configuration is read into
//! the loader's fixed buffers, the new interface table is built in a spare
//! table allocated at start-up ([`MAX_IFACES`] entries, swapped with the
//! live one), the new instance records in a staging area of
//! [`cfg::MAX_INSTANCES`] entries, and the poll set and status buffers are
//! sized at start-up for the largest configuration. `tandem status` shows
//! the allocations made since start-up (0 is the promise) and those made
//! during start-up.

mod ctsync;
mod leases;
mod net;

pub use ctsync::{key_file_warning as sync_key_warning, load_key as load_sync_key};
mod rx;
mod tx;

use crate::conf;
use crate::control::{self, Pending, Request};
use crate::log;
use crate::status::{self, Counters};
use crate::sys::netlink::{NetlinkSocket, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK};
use crate::sys::packet::PacketSocket;
use crate::sys::poll::{self, PollFd, POLLIN};
use crate::sys::signal::{Signal, SignalFd};
use crate::sys::timer::TimerFd;
use crate::sys::{self, clock};
use net::{Iface, Netlink};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use tandem_core::time::{Duration, Instant};
use tandem_core::vrrp::{self as cv, Action, Node, Reason, State};
use tandem_protocol::config::{self as cfg, Family, IfName, Name};
use tandem_protocol::netlink::route::{Message, Op};
use tandem_protocol::vrrp as wire;

/// Instance slots of the core node: twice the configuration's maximum, so
/// that reloads which add instances have room (a retired instance keeps
/// its slot).
pub const SLOTS: usize = 2 * cfg::MAX_INSTANCES;

/// A deadline handled later than this is logged (the goal is to act within
/// 10 ms of Master_Down_Interval expiring).
const TIMER_LATE: Duration = Duration::from_millis(10);

/// Most watched interfaces (64 is written in [`SetupError`]'s text).
const MAX_IFACES: usize = 64;
const _: () = assert!(MAX_IFACES == 64 && SLOTS == 32);

/// Entries of the poll set: signals, timer, netlink events, sync and
/// leases (4), control listener and clients, two VRRP sockets per
/// interface.
const POLL_CAPACITY: usize = 3 + 4 + control::MAX_CLIENTS + 1 + 2 * MAX_IFACES;

/// Bytes of status response reserved per instance and per interface.
const STATUS_PER_INSTANCE: usize = 1200;
const STATUS_PER_IFACE: usize = 128;
/// Bytes of status response reserved for the sync section.
const STATUS_SYNC: usize = 2048;

/// Test hook (the negative control of the allocation test): when this
/// environment variable is set at start-up, every reload makes one heap
/// allocation on purpose, which `tandem status` must count.
const ALLOC_ON_RELOAD_ENV: &std::ffi::CStr = c"TANDEM_TEST_ALLOCATE_ON_RELOAD";

/// Why an instance could not be set up (formatted without allocating;
/// names are borrowed from the configuration, keeping results small).
#[derive(Clone, Debug)]
enum SetupError<'a> {
    TooManyIfaces,
    TooManyVips(&'a Name),
    NoRoom { added: usize, used: usize },
    IndexMismatch,
    Core(&'a Name, cv::Error),
}

impl std::fmt::Display for SetupError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::TooManyIfaces => f.write_str("more than 64 interfaces"),
            SetupError::TooManyVips(n) => {
                write!(f, "{n}: too many virtual addresses for one advert")
            }
            SetupError::NoRoom { added, used } => write!(
                f,
                "no room for {added} new instance(s) ({used} slots used of 32); restart tandem"
            ),
            SetupError::IndexMismatch => f.write_str("core instance index mismatch"),
            SetupError::Core(n, e) => write!(f, "{n}: cannot add instance: {e}"),
        }
    }
}

/// Options of `tandem run`.
pub struct Options {
    /// Configuration file.
    pub config: PathBuf,
    /// Control socket path.
    pub control: PathBuf,
}

/// The port's view of one VRRP instance (index = core instance index).
pub(crate) struct Inst {
    pub cfg: cfg::Instance,
    pub sync_group: Option<Name>,
    /// Index in the interface table of `cfg.interface`.
    pub iface: usize,
    /// Interface-table index of each virtual address's `dev`.
    pub vip_iface: heapless::Vec<usize, { cfg::MAX_VIPS }>,
    /// Interface-table index of each route's `dev`, if any.
    pub route_iface: heapless::Vec<Option<usize>, { cfg::MAX_ROUTES }>,
    /// Interface-table index of each tracked interface.
    pub track_iface: heapless::Vec<usize, { cfg::MAX_TRACK_INTERFACES }>,
    /// The advert we send (priority patched per send).
    pub repr: wire::Repr,
    /// Source address of our adverts (and core's primary address).
    pub src: Option<IpAddr>,
    pub counters: Counters,
    pub last: Option<(Instant, State, State, Reason)>,
    /// Virtual addresses and routes are installed.
    pub installed: bool,
    pub retired: bool,
    pub fault: bool,
    pub effective: u8,
    /// Rate limit of per-packet log lines.
    pub next_drop_log: Instant,
    pub next_send_log: Instant,
}

impl Inst {
    pub fn family(&self) -> Family {
        self.cfg.family
    }
    pub fn checksum_mode(&self) -> wire::ChecksumMode {
        if self.cfg.v3_checksum_as_v2 {
            wire::ChecksumMode::V3AsV2
        } else {
            wire::ChecksumMode::Rfc
        }
    }
}

/// Everything the loop owns.
pub(crate) struct Daemon {
    config_path: PathBuf,
    node: Box<Node<SLOTS>>,
    pub inst: Vec<Inst>,
    pub ifaces: Vec<Iface>,
    nl: Netlink,
    nl_events: NetlinkSocket,
    packet: PacketSocket,
    signals: SignalFd,
    timer: TimerFd,
    control: control::Server,
    started: Instant,
    /// Allocation count when start-up finished (never reset: reloads
    /// count as "after start-up").
    allocs_baseline: u64,
    /// Reloads done (SIGHUP).
    reloads: u32,
    /// Test hook: allocate on purpose on every reload ([`ALLOC_ON_RELOAD_ENV`]).
    alloc_on_reload: bool,
    /// The interface table of the next reload (capacity [`MAX_IFACES`]).
    ifaces_spare: Vec<Iface>,
    /// New instance records of a reload, with the index of the record they
    /// replace (capacity [`cfg::MAX_INSTANCES`]).
    staged: Vec<Inst>,
    fds: Vec<PollFd>,
    tokens: Vec<Token>,
    ctl_tokens: Vec<Option<usize>>,
    /// Addresses need a re-dump (address events seen).
    addresses_dirty: bool,
    /// Links need a re-dump (event socket overflowed).
    links_dirty: bool,
    stopping: bool,
    /// Conntrack sync (`tandem_sync { }`), if configured.
    sync: Option<Box<ctsync::SyncPort>>,
    /// Lease sync (`lease_file` in `tandem_sync { }`), if configured.
    leases: Option<Box<leases::LeasePort>>,
}

#[derive(Clone, Copy, Debug)]
enum Token {
    Signal,
    Timer,
    Netlink,
    Control(Option<usize>),
    V4(usize),
    V6(usize),
    SyncUdp,
    CtEvents,
    CtDump,
    Leases,
}

/// `tandem run`. Returns the process exit status.
pub fn run(mut opts: Options) -> u8 {
    // Signals first, so that a TERM during start-up is not lost.
    let signals = match SignalFd::new() {
        Ok(s) => s,
        Err(e) => {
            crate::log!(Error, "cannot set up signal handling: {e}");
            return 1;
        }
    };
    // Left to the exit on the early returns below (memory only).
    let mut loader = std::mem::ManuallyDrop::new(conf::Loader::new());
    let outcome = match loader.load(&opts.config, &mut log::diagnostic) {
        Ok(o) => o,
        Err(e) => {
            crate::log!(Error, "cannot read {}: {e}", crate::buf::path(&opts.config));
            return 1;
        }
    };
    let Some(config) = loader.config() else {
        crate::log!(
            Error,
            "{}: {} error(s); not started",
            crate::buf::path(&opts.config),
            outcome.errors
        );
        return 1;
    };
    conf::unsupported(config, &mut warn);
    let Some(mut d) = Daemon::new(&mut opts, signals, config) else {
        return 1;
    };
    crate::log!(
        Notice,
        "tandem {} started: {} instance(s) from {}, control socket {}",
        env!("CARGO_PKG_VERSION"),
        config.instances.len(),
        crate::buf::path(&d.config_path),
        crate::buf::path(&opts.control)
    );
    d.alloc_on_reload = sys::env_is_set(ALLOC_ON_RELOAD_ENV);
    // The configuration reader stays here (its buffers are reused by
    // reloads), apart from the daemon: the configuration it holds is read
    // while the daemon changes.
    let code = d.run_loop(&mut loader);
    // The process exits now: descriptors and memory go with it; only the
    // control socket file needs removing (what `Daemon`'s drop would do
    // besides, at the cost of its drop code).
    std::mem::forget(d);
    remove_control_socket(&opts.control);
    code
}

/// Removes the control socket file (as [`control::Server`]'s drop does),
/// for the exits that leave the daemon undropped.
fn remove_control_socket(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let _ = crate::sys::unix::unlink(path.as_os_str().as_bytes());
}

/// Logs a configuration warning of [`conf::unsupported`].
fn warn(m: std::fmt::Arguments<'_>) {
    log::write(log::Level::Warning, m);
}

/// Logs a start-up error: `start-up failed: {e}`.
#[inline(never)]
fn startup_failed(e: &dyn std::fmt::Display) {
    crate::log!(Error, "start-up failed: {e}");
}

/// Logs a start-up error: `start-up failed: {what}: {e}`.
#[inline(never)]
fn fail(what: &dyn std::fmt::Display, e: &dyn std::fmt::Display) {
    startup_failed(&format_args!("{what}: {e}"));
}

fn unspecified(f: Family) -> IpAddr {
    match f {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// [`SetupError::TooManyIfaces`], as a zero-sized error (the result of
/// [`iface_index`] then fits in registers).
struct TooManyIfaces;

impl From<TooManyIfaces> for SetupError<'_> {
    fn from(_: TooManyIfaces) -> Self {
        SetupError::TooManyIfaces
    }
}

fn iface_index(ifaces: &mut Vec<Iface>, name: &IfName) -> Result<usize, TooManyIfaces> {
    if let Some(p) = ifaces.iter().position(|i| i.name == *name) {
        return Ok(p);
    }
    if ifaces.len() >= MAX_IFACES {
        return Err(TooManyIfaces);
    }
    ifaces.push(Iface::new(name.clone()));
    Ok(ifaces.len() - 1)
}

/// Builds the port-side record of an instance at the end of `out` (in
/// place: the record is large). On failure a partly built record is left
/// at the end of `out` (the callers discard it).
fn make_inst<'c>(
    c: &'c cfg::Instance,
    all: &cfg::Config,
    ifaces: &mut Vec<Iface>,
    out: &mut Vec<Inst>,
) -> Result<(), SetupError<'c>> {
    let iface = iface_index(ifaces, &c.interface)?;
    match c.family {
        Family::Ipv4 => ifaces[iface].need_v4 = true,
        Family::Ipv6 => ifaces[iface].need_v6 = true,
    }
    let sync_group = c
        .sync_group
        .and_then(|g| all.sync_groups.get(usize::from(g)))
        .map(|g| g.name.clone());
    let n = out.len();
    out.push(Inst {
        cfg: sys::copy_instance(c),
        sync_group,
        iface,
        vip_iface: heapless::Vec::new(),
        route_iface: heapless::Vec::new(),
        track_iface: heapless::Vec::new(),
        repr: wire::Repr {
            version: match c.version {
                cfg::Version::V2 => wire::Version::V2,
                cfg::Version::V3 => wire::Version::V3,
            },
            vrid: c.vrid,
            priority: c.priority,
            advert_int: c.advert_int_cs,
            auth: match (c.version, c.auth_pass) {
                (cfg::Version::V2, Some(p)) => wire::Auth::Pass(p),
                _ => wire::Auth::None,
            },
            // All virtual addresses are of the instance's family.
            addresses: match c.family {
                Family::Ipv4 => wire::Addresses::Ipv4(heapless::Vec::new()),
                Family::Ipv6 => wire::Addresses::Ipv6(heapless::Vec::new()),
            },
        },
        src: None,
        counters: Counters::default(),
        last: None,
        installed: false,
        retired: false,
        fault: false,
        effective: c.priority,
        next_drop_log: Instant::ZERO,
        next_send_log: Instant::ZERO,
    });
    // The rest is filled in place.
    let inst = &mut out[n];
    let mut fits = true;
    let addresses = &mut inst.repr.addresses;
    let mut add = |a: &IpAddr| {
        fits &= match (&mut *addresses, a) {
            (wire::Addresses::Ipv4(l), IpAddr::V4(a)) => l.push(*a).is_ok(),
            (wire::Addresses::Ipv6(l), IpAddr::V6(a)) => l.push(*a).is_ok(),
            _ => false,
        }
    };
    if c.virtual_addresses.is_empty() {
        // No VIP: adverts still need one address (keepalived refuses such
        // instances; the parser warned). Advertise the unspecified address.
        add(&unspecified(c.family));
    }
    for v in &c.virtual_addresses {
        let i = match &v.dev {
            Some(d) => iface_index(ifaces, d)?,
            None => iface,
        };
        let _ = inst.vip_iface.push(i);
        add(&v.addr);
    }
    for r in &c.virtual_routes {
        let i = match &r.dev {
            Some(d) => Some(iface_index(ifaces, d)?),
            None => None,
        };
        let _ = inst.route_iface.push(i);
    }
    for t in &c.track_interfaces {
        let _ = inst.track_iface.push(iface_index(ifaces, &t.name)?);
    }
    if !fits {
        return Err(SetupError::TooManyVips(&c.name));
    }
    Ok(())
}

/// The core's configuration of an instance.
fn core_config(c: &cfg::Instance, src: Option<IpAddr>) -> cv::Config {
    let mut k = cv::Config::new(c.vrid, c.priority, src.unwrap_or(unspecified(c.family)));
    k.adver_int = Duration::from_centis(u64::from(c.advert_int_cs));
    k.version = match c.version {
        cfg::Version::V2 => cv::Version::V2,
        cfg::Version::V3 => cv::Version::V3,
    };
    k.preempt = c.preempt;
    k.preempt_delay = Duration::from_millis(u64::from(c.preempt_delay_ms));
    k.initial = match c.initial_state {
        cfg::InitialState::Backup => State::Backup,
        cfg::InitialState::Master => State::Master,
    };
    k.sync_group = c.sync_group;
    k.garp_master_delay = Duration::from_secs(u64::from(c.garp_master_delay_s));
    k.garp_master_refresh = (c.garp_master_refresh_s > 0)
        .then(|| Duration::from_secs(u64::from(c.garp_master_refresh_s)));
    k
}

/// keepalived's tracking rules: the instance is in FAULT while its own
/// interface or a tracked interface of weight 0 is down (`reverse`: up);
/// a positive weight is added while the interface is up, a negative one
/// while it is down; the result stays in 1..=254, and an address owner
/// (255) is never adjusted. Returns (fault, effective priority).
fn health(cfg: &cfg::Instance, own_up: bool, track_up: impl Iterator<Item = bool>) -> (bool, u8) {
    let mut fault = !own_up;
    let mut prio = i32::from(cfg.priority);
    for (t, up) in cfg.track_interfaces.iter().zip(track_up) {
        let up = up != t.reverse;
        if t.weight == 0 {
            fault |= !up;
        } else if (t.weight > 0) == up {
            prio += i32::from(t.weight);
        }
    }
    let effective = if cfg.priority == 255 {
        255
    } else {
        prio.clamp(1, 254) as u8
    };
    (fault, effective)
}

/// Warns that instance `i` has no address to send adverts from
/// (`{name}: {interface} has no usable {family} address{tail}`).
#[inline(never)]
fn no_address(i: &Inst, tail: &str) {
    let fam = match i.family() {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "link-local IPv6",
    };
    crate::log!(
        Warning,
        "{}: {} has no usable {fam} address{tail}",
        i.cfg.name,
        i.cfg.interface
    );
}

/// [`Daemon::open_sockets`] of one interface (apart from the loop:
/// smaller code).
#[inline(never)]
fn open_iface_sockets(f: &mut Iface) {
    if f.ifindex.is_none() || f.ifindex != f.sock_ifindex {
        f.v4 = None;
        f.v6 = None;
        f.sock_ifindex = None;
    }
    let Some(idx) = f.ifindex else { return };
    let mut ok = true;
    if f.need_v4 && f.v4.is_none() {
        match sys::vrrp::VrrpV4::open(&f.name, idx) {
            Ok(s) => f.v4 = Some(s),
            Err(e) => ok = open_failed(f, "IPv4", e),
        }
    }
    if f.need_v6 && f.v6.is_none() {
        match sys::vrrp::VrrpV6::open(&f.name, idx) {
            Ok(s) => f.v6 = Some(s),
            Err(e) => ok = open_failed(f, "IPv6", e),
        }
    }
    f.open_error_logged = !ok;
    f.sock_ifindex = Some(idx);
}

/// Logs that a VRRP socket of `f` cannot be opened, unless already
/// logged since the last success. Returns `false` (not ok).
#[inline(never)]
fn open_failed(f: &Iface, fam: &str, e: sys::Errno) -> bool {
    if !f.open_error_logged {
        crate::log!(Error, "{}: cannot open {fam} VRRP socket: {e}", f.name);
    }
    false
}

/// Whether `a` is a virtual address of any instance in `inst`.
fn is_vip(inst: &[Inst], a: &IpAddr) -> bool {
    inst.iter()
        .filter(|i| !i.retired)
        .any(|i| i.cfg.virtual_addresses.iter().any(|v| v.addr == *a))
}

impl Daemon {
    /// Sets the daemon up; a failure is logged (`start-up failed: ...`)
    /// and gives `None`. On failure the caller exits at once, so the
    /// parts built (descriptors and memory only: nothing to undo but what
    /// the process exit does) are left to the exit rather than dropped on
    /// each early return (`ManuallyDrop`: no clean-up code per return
    /// path). Once the control server exists, a failure removes its
    /// socket file (what its drop would do). Not inlined into [`run`]:
    /// smaller code.
    #[inline(never)]
    fn new(opts: &mut Options, signals: SignalFd, config: &cfg::Config) -> Option<Daemon> {
        use std::mem::ManuallyDrop as Keep;
        let signals = Keep::new(signals);
        let nl_events = Keep::new(
            NetlinkSocket::open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
                .map_err(|e| fail(&"netlink event socket", &e))
                .ok()?,
        );
        let nl = Keep::new(
            Netlink::open()
                .map_err(|e| fail(&"netlink socket", &e))
                .ok()?,
        );
        let packet = Keep::new(
            PacketSocket::open()
                .map_err(|e| fail(&"packet socket", &e))
                .ok()?,
        );
        let timer = Keep::new(TimerFd::new().map_err(|e| fail(&"timerfd", &e)).ok()?);
        let mut ifaces = Keep::new(Vec::with_capacity(MAX_IFACES));
        let mut inst = Keep::new(Vec::with_capacity(SLOTS));
        for c in &config.instances {
            if let Err(e) = make_inst(c, config, &mut ifaces, &mut inst) {
                startup_failed(&e);
                return None;
            }
        }
        let mut sync = Keep::new(match &config.sync {
            Some(sc) => match ctsync::SyncPort::new(sc) {
                Ok(s) => Some(s),
                Err(e) => {
                    startup_failed(&e);
                    return None;
                }
            },
            None => None,
        });
        let leases = Keep::new(match (&config.sync, sync.as_deref_mut()) {
            (Some(sc), Some(s)) => match leases::LeasePort::new(sc, &mut s.core, clock::now()) {
                Ok(l) => l,
                Err(e) => {
                    startup_failed(&e);
                    return None;
                }
            },
            _ => None,
        });
        // Status buffers for the largest configuration a reload may bring.
        let cap = status_capacity(cfg::MAX_INSTANCES, MAX_IFACES);
        let control = control::Server::bind(&opts.control, cap)
            .map_err(|e| {
                fail(
                    &format_args!("control socket {}", crate::buf::path(&opts.control)),
                    &e,
                )
            })
            .ok()?;
        let mut d = Keep::new(Daemon {
            config_path: std::mem::take(&mut opts.config),
            node: Box::new(Node::new()),
            inst: Keep::into_inner(inst),
            ifaces: Keep::into_inner(ifaces),
            nl: Keep::into_inner(nl),
            nl_events: Keep::into_inner(nl_events),
            packet: Keep::into_inner(packet),
            signals: Keep::into_inner(signals),
            timer: Keep::into_inner(timer),
            control,
            started: clock::now(),
            allocs_baseline: 0,
            reloads: 0,
            alloc_on_reload: false,
            ifaces_spare: Vec::with_capacity(MAX_IFACES),
            staged: Vec::with_capacity(cfg::MAX_INSTANCES),
            // Sized for the most interfaces a reload may bring.
            fds: Vec::with_capacity(POLL_CAPACITY),
            tokens: Vec::with_capacity(POLL_CAPACITY),
            ctl_tokens: Vec::with_capacity(control::MAX_CLIENTS + 1),
            addresses_dirty: false,
            links_dirty: false,
            stopping: false,
            sync: Keep::into_inner(sync),
            leases: Keep::into_inner(leases),
        });
        d.refresh_links();
        d.refresh_addresses();
        d.refresh_own_addresses();
        for i in &d.inst {
            if i.src.is_none() {
                no_address(i, " yet; adverts wait for one");
            }
        }
        d.cleanup_leftovers();
        d.open_sockets();
        let now = clock::now();
        for (i, c) in config.instances.iter().enumerate() {
            if let Err(e) = d.add_core(i, &c.name) {
                // Left to the exit like the rest but for the control
                // socket file.
                remove_control_socket(&opts.control);
                startup_failed(&e);
                return None;
            }
        }
        d.update_health(now, true);
        d.node.start(now);
        d.drain(now);
        Some(Keep::into_inner(d))
    }

    /// Adds record `i` to the core (its index there must be `i` too); a
    /// record the core refuses is removed again.
    /// `name`: the instance's name in the configuration (for the error).
    fn add_core<'c>(&mut self, i: usize, name: &'c Name) -> Result<(), SetupError<'c>> {
        let k = core_config(&self.inst[i].cfg, self.inst[i].src);
        match self.node.add_instance(k) {
            Ok(idx) if idx == i => Ok(()),
            Ok(_) => Err(SetupError::IndexMismatch),
            Err(e) => {
                self.inst.truncate(i);
                Err(SetupError::Core(name, e))
            }
        }
    }

    fn refresh_links(&mut self) {
        if let Err(e) = self.nl.dump_links(&mut self.ifaces) {
            crate::log!(Error, "link dump failed: {e}");
        }
        self.links_dirty = false;
    }

    /// Re-reads interface addresses and recomputes advert sources.
    fn refresh_addresses(&mut self) {
        let inst = &self.inst;
        if let Err(e) = self
            .nl
            .dump_addresses(&mut self.ifaces, &|a: &IpAddr| is_vip(inst, a))
        {
            crate::log!(Error, "address dump failed: {e}");
        }
        self.addresses_dirty = false;
        for i in 0..self.inst.len() {
            self.update_src(i);
        }
    }

    /// Sets the advert source of instance `i`; tells the core when it changed.
    fn update_src(&mut self, i: usize) {
        let inst = &self.inst[i];
        if inst.retired {
            return;
        }
        let f = &self.ifaces[inst.iface];
        let src = inst.cfg.src_ip.or(match inst.family() {
            Family::Ipv4 => f.primary4.map(IpAddr::V4),
            Family::Ipv6 => f.link_local.map(IpAddr::V6),
        });
        if src == inst.src {
            return;
        }
        let name = &inst.cfg.name;
        match src {
            Some(a) => crate::log!(Info, "{name}: adverts from {a} on {}", f.name),
            None => no_address(inst, "; cannot send adverts"),
        }
        self.inst[i].src = src;
        // Before start-up the core does not know the instance yet.
        if i < self.node.len() {
            let now = clock::now();
            let k = core_config(&self.inst[i].cfg, src);
            self.node.reconfigure(now, i, k);
            self.drain(now);
        }
    }

    /// Opens the VRRP sockets each interface needs (and closes those of
    /// vanished interfaces).
    fn open_sockets(&mut self) {
        for f in &mut self.ifaces {
            open_iface_sockets(f);
        }
    }

    /// Recomputes fault and effective priority of every instance from the
    /// link table and tells the core what changed.
    fn update_health(&mut self, now: Instant, initial: bool) {
        for i in 0..self.inst.len() {
            self.update_health_of(i, now, initial);
        }
    }

    /// [`Daemon::update_health`] of instance `i` (apart from the loop:
    /// smaller code).
    #[inline(never)]
    fn update_health_of(&mut self, i: usize, now: Instant, initial: bool) {
        let inst = &self.inst[i];
        if inst.retired {
            return;
        }
        let own = &self.ifaces[inst.iface];
        let ifaces = &self.ifaces;
        let (fault, effective) = health(
            &inst.cfg,
            own.up,
            inst.track_iface.iter().map(|&fi| ifaces[fi].up),
        );
        let (old_fault, old_prio) = (inst.fault, inst.effective);
        let name = &inst.cfg.name;
        if initial || fault != old_fault {
            if fault {
                crate::log!(
                    Warning,
                    "{name}: fault: {} or a tracked interface is down",
                    own.name
                );
            } else if !initial {
                crate::log!(Info, "{name}: interfaces up again");
            }
            self.inst[i].fault = fault;
            if initial && !fault {
                // Nothing to tell the core.
            } else {
                self.node.set_fault(now, i, fault);
                self.drain(now);
            }
        }
        if effective != old_prio || (initial && effective != self.inst[i].cfg.priority) {
            let name = &self.inst[i].cfg.name;
            crate::log!(Info, "{name}: effective priority {effective}");
            self.inst[i].effective = effective;
            self.node.set_priority(now, i, effective);
            self.drain(now);
        }
    }

    /// Carries out every action the core queued.
    pub fn drain(&mut self, now: Instant) {
        while let Some(a) = self.node.poll_action() {
            self.act(now, a);
        }
    }

    /// Carries out one action of the core (apart from [`Daemon::drain`]'s
    /// loop: smaller code).
    #[inline(never)]
    fn act(&mut self, now: Instant, a: Action) {
        match a {
            Action::SendAdvert { instance, priority } => self.send_advert(now, instance, priority),
            Action::AddAddresses { instance } => self.add_addresses(instance),
            Action::RemoveAddresses { instance } => self.remove_addresses(instance),
            Action::Announce { instance } => self.announce(now, instance),
            Action::Transition {
                instance,
                from,
                to,
                reason,
            } => {
                let Some(inst) = self.inst.get_mut(instance) else {
                    return;
                };
                inst.counters.transitions = inst.counters.transitions.saturating_add(1);
                inst.last = Some((now, from, to, reason));
                let lvl = if to == State::Fault {
                    log::Level::Warning
                } else {
                    log::Level::Notice
                };
                log::write(
                    lvl,
                    format_args!(
                        "{}: {from} -> {to} ({reason}, prio {})",
                        inst.cfg.name, inst.effective
                    ),
                );
                // Takeover order: the conntrack commit runs here, before
                // the AddAddresses queued after this Transition.
                self.sync_transition(now);
            }
        }
    }

    /// The earliest deadline of the core, the control clients, the sync
    /// and the leases (not inlined into the loop: smaller code).
    #[inline(never)]
    fn next_deadline(&self) -> Option<Instant> {
        // Compared as microseconds, u64::MAX standing for "none".
        let us = |t: Option<Instant>| t.map_or(u64::MAX, Instant::as_micros);
        let sync = us(self.sync.as_ref().and_then(|s| s.deadline()));
        let mut soft = sync.min(us(self.lease_deadline()));
        if soft != u64::MAX {
            // The sync core's deadlines are soft and may lie in the past
            // until its next poll: never less than 1 ms ahead (no busy loop).
            soft = soft.max((clock::now() + Duration::from_millis(1)).as_micros());
        }
        let hard = us(self.node.poll_timeout()).min(us(self.control.next_deadline()));
        let t = hard.min(soft);
        (t != u64::MAX).then_some(Instant::from_micros(t))
    }

    /// Adds `fd` (polled for input) with its `token` to the poll set.
    #[inline(never)]
    fn watch(&mut self, fd: libc::c_int, token: Token) {
        self.fds.push(PollFd::new(fd, POLLIN));
        self.tokens.push(token);
    }

    fn build_poll_set(&mut self) {
        self.fds.clear();
        self.tokens.clear();
        self.watch(self.signals.fd().raw(), Token::Signal);
        self.watch(self.timer.fd().raw(), Token::Timer);
        self.watch(self.nl_events.fd().raw(), Token::Netlink);
        self.ctl_tokens.clear();
        let before = self.fds.len();
        self.control.poll_fds(&mut self.fds, &mut self.ctl_tokens);
        for t in &self.ctl_tokens {
            self.tokens.push(Token::Control(*t));
        }
        debug_assert_eq!(self.fds.len() - before, self.ctl_tokens.len());
        if let Some(s) = &self.sync {
            let (udp, events, dump) = (s.udp_fd(), s.events_fd(), s.dump_fd());
            self.watch(udp, Token::SyncUdp);
            if let Some(fd) = events {
                self.watch(fd, Token::CtEvents);
            }
            if let Some(fd) = dump {
                self.watch(fd, Token::CtDump);
            }
        }
        if let Some(fd) = self.leases.as_ref().and_then(|l| l.fd()) {
            self.watch(fd, Token::Leases);
        }
        for k in 0..self.ifaces.len() {
            let f = &self.ifaces[k];
            let (v4, v6) = (
                f.v4.as_ref().map(|s| s.fd().raw()),
                f.v6.as_ref().map(|s| s.fd().raw()),
            );
            if let Some(fd) = v4 {
                self.watch(fd, Token::V4(k));
            }
            if let Some(fd) = v6 {
                self.watch(fd, Token::V6(k));
            }
        }
    }

    fn run_loop(&mut self, loader: &mut conf::Loader) -> u8 {
        self.allocs_baseline = sys::alloc::allocations();
        loop {
            self.build_poll_set();
            // Deadlines go through the timerfd (precise); ppoll's own
            // timeout is only a fallback should arming fail.
            let deadline = self.next_deadline();
            let timeout = match self.timer.set(deadline) {
                Ok(()) => None,
                Err(_) => {
                    let now = clock::now();
                    deadline.map(|d| d.saturating_duration_since(now))
                }
            };
            if let Err(e) = poll::poll(&mut self.fds, timeout) {
                crate::log!(Error, "poll failed: {e}");
                return 1;
            }
            let now = clock::now();
            for k in 0..self.fds.len() {
                if self.fds[k].revents() == 0 {
                    continue;
                }
                match self.tokens[k] {
                    Token::Signal => {
                        while let Ok(Some(sig)) = self.signals.read() {
                            match sig {
                                Signal::Terminate => self.stopping = true,
                                Signal::Reload => self.reload(now, loader),
                            }
                        }
                    }
                    Token::Timer => self.timer.clear(),
                    Token::Netlink => self.netlink_events(now),
                    Token::Control(None) => self.control.accept(now),
                    Token::Control(Some(c)) => self.serve(c, now),
                    Token::V4(f) => self.receive_v4(now, f),
                    Token::V6(f) => self.receive_v6(now, f),
                    Token::SyncUdp => {
                        if let Some(s) = self.sync.as_deref_mut() {
                            s.receive(now);
                        }
                    }
                    Token::CtEvents => {
                        if let Some(s) = self.sync.as_deref_mut() {
                            s.read_events(now);
                        }
                    }
                    // Fed by sync_pump below.
                    Token::CtDump => {}
                    Token::Leases => self.lease_readable(now),
                }
            }
            if self.stopping {
                return self.shutdown();
            }
            if self.links_dirty {
                self.refresh_links();
                self.open_sockets();
                self.update_health(now, false);
            }
            if self.addresses_dirty {
                self.refresh_addresses();
            }
            self.control.expire(now);
            if let Some(due) = self.node.poll_timeout().filter(|t| *t <= now) {
                let late = now.saturating_duration_since(due);
                if late > TIMER_LATE {
                    crate::log!(Warning, "timer ran {} ms late", late.as_millis());
                }
                self.node.handle_timeout(now);
                self.drain(now);
            }
            self.sync_pump(now);
            self.lease_pump(now);
        }
    }

    fn shutdown(&mut self) -> u8 {
        let now = clock::now();
        crate::log!(Notice, "shutting down: releasing mastership");
        self.lease_shutdown(now);
        if let Some(s) = self.sync.as_deref_mut() {
            s.flush(now);
            s.core.stop(now);
        }
        self.node.shutdown(now);
        self.drain(now);
        // Belt and braces: nothing may stay installed.
        for i in 0..self.inst.len() {
            if self.inst[i].installed {
                self.remove_addresses(i);
            }
        }
        crate::log!(Notice, "stopped");
        0
    }

    fn netlink_events(&mut self, now: Instant) {
        let mut buf = [0u8; 16 * 1024];
        let mut links_changed = false;
        loop {
            let n = match self.nl_events.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.would_block() => break,
                Err(e) if e.0 == libc::ENOBUFS => {
                    // Events lost: re-read everything.
                    self.links_dirty = true;
                    self.addresses_dirty = true;
                    continue;
                }
                Err(e) => {
                    crate::log!(Error, "netlink events: {e}");
                    break;
                }
            };
            for m in tandem_protocol::netlink::Messages::new(&buf[..n]) {
                let Ok(p) = m else { break };
                let m = Message::parse(&p);
                let deleted = matches!(m, Ok(Message::DelLink(_)));
                match m {
                    Ok(Message::NewLink(l) | Message::DelLink(l)) => {
                        links_changed |= net::apply_link(&mut self.ifaces, &l, deleted).is_some();
                    }
                    Ok(Message::NewAddress(a)) | Ok(Message::DelAddress(a)) => {
                        let watched = self.ifaces.iter().any(|f| f.ifindex == Some(a.ifindex));
                        let ours = a.addr().is_some_and(|x| is_vip(&self.inst, &x));
                        if watched && !ours {
                            self.addresses_dirty = true;
                        }
                        if !ours {
                            if let Some(s) = self.sync.as_deref_mut() {
                                s.own_dirty = true;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if links_changed {
            self.open_sockets();
            self.update_health(now, false);
        }
    }

    fn serve(&mut self, c: usize, now: Instant) {
        // Split borrows: the control server writes into its own buffer
        // while we read the rest of `self`.
        let Daemon {
            control,
            inst,
            ifaces,
            node,
            started,
            config_path,
            allocs_baseline,
            reloads,
            sync,
            leases,
            ..
        } = self;
        let allocations = sys::alloc::allocations().saturating_sub(*allocs_baseline);
        let startup_allocations = *allocs_baseline;
        let reloads = *reloads;
        control.service(c, |p: Pending<'_>| {
            match p.request {
                Some(Request::Resync) => {
                    resync(p, now, sync.as_deref_mut());
                    return;
                }
                Some(Request::Cache { json }) => {
                    if *p.cursor == 0 {
                        p.response.clear();
                    }
                    ctsync::cache_chunk(sync.as_deref(), json, p.response, p.cursor, p.more);
                    return;
                }
                _ => {}
            }
            let h = status::Header {
                pid: sys::pid(),
                now_ms: now.as_millis(),
                uptime_ms: now.saturating_duration_since(*started).as_millis(),
                config: config_path.to_str().unwrap_or("?"),
                allocations,
                startup_allocations,
                reloads,
            };
            render(
                p,
                &h,
                inst,
                ifaces,
                node,
                sync.as_deref(),
                leases.as_deref(),
            );
        });
    }

    fn reload(&mut self, now: Instant, loader: &mut conf::Loader) {
        crate::log!(
            Notice,
            "SIGHUP: reloading {}",
            crate::buf::path(&self.config_path)
        );
        self.reloads = self.reloads.saturating_add(1);
        if self.alloc_on_reload {
            // The test hook: one allocation the status must count.
            drop(std::hint::black_box(Box::new(self.reloads)));
        }
        let outcome = match loader.load(&self.config_path, &mut log::diagnostic) {
            Ok(o) => o,
            Err(e) => {
                crate::log!(
                    Error,
                    "reload: cannot load {}: {e}; keeping the running configuration",
                    crate::buf::path(&self.config_path)
                );
                return;
            }
        };
        let Some(new) = loader.config() else {
            crate::log!(
                Error,
                "reload: {} error(s); keeping the running configuration",
                outcome.errors
            );
            return;
        };
        conf::unsupported(new, &mut warn);
        if let Err(e) = self.apply(now, new) {
            crate::log!(Error, "reload: {e}");
        }
        self.sync_reload(new);
    }

    /// Applies a new configuration: unchanged instances keep their state,
    /// changed ones are reconfigured, removed ones retired, new ones added.
    /// Allocation-free: the new interface table is built in
    /// `ifaces_spare`, the new records of running instances in `staged`,
    /// those of added instances at the end of `inst` (within its capacity).
    fn apply<'c>(&mut self, now: Instant, new: &'c cfg::Config) -> Result<(), SetupError<'c>> {
        // Index of the running record each new instance keeps (`None`:
        // added). Retiring below does not change it: a retired record
        // matches no new instance.
        let mut pos = heapless::Vec::<Option<usize>, { cfg::MAX_INSTANCES }>::new();
        let mut added = 0;
        for c in &new.instances {
            let p = self.running(c);
            added += usize::from(p.is_none());
            // Within capacity: a configuration has at most MAX_INSTANCES.
            let _ = pos.push(p);
        }
        // Check capacity first so that a failure changes nothing.
        let first_new = self.inst.len();
        if first_new + added > SLOTS {
            return Err(SetupError::NoRoom {
                added,
                used: first_new,
            });
        }
        // Retire instances that are gone (or changed identity).
        for i in 0..first_new {
            // Names are unique in a configuration, so is the key of the
            // running records: the record is kept iff some `pos` names it.
            if !self.inst[i].retired && !pos.contains(&Some(i)) {
                self.retire(now, i);
            }
        }
        // New interface table (in the spare one), new records of running
        // instances (in `staged`; both are empty between reloads).
        let staged = self.stage(new, &pos);
        if staged.is_ok() {
            std::mem::swap(&mut self.ifaces, &mut self.ifaces_spare);
            // Interfaces named for the first time need their index before
            // any address moves.
            self.refresh_links();
            self.open_sockets();
            // Changed instances: move addresses that changed while installed.
            for (k, p) in pos.iter().flatten().enumerate() {
                self.replace(now, *p, k);
            }
        }
        // The old table's remaining sockets close here (or, on failure,
        // the unused new table and records go).
        self.ifaces_spare.clear();
        self.staged.clear();
        if let Err(e) = staged {
            self.inst.truncate(first_new);
            return Err(e);
        }
        let mut i = first_new;
        for (p, c) in pos.iter().zip(&new.instances) {
            if p.is_some() {
                continue;
            }
            crate::log!(Notice, "{}: added", c.name);
            if let Err(e) = self.add_core(i, &c.name) {
                self.inst.truncate(i + 1);
                return Err(e);
            }
            i += 1;
        }
        self.refresh_addresses();
        // A no-op (the poll set is sized at start-up for the largest
        // configuration, as are the status buffers).
        self.control
            .reserve(status_capacity(cfg::MAX_INSTANCES, MAX_IFACES));
        // New instances start with their initial health (`make_inst`).
        self.update_health(now, false);
        if first_new < self.inst.len() {
            self.node.start(now);
            self.drain(now);
        }
        crate::log!(Notice, "reload done: {} instance(s)", new.instances.len());
        Ok(())
    }

    /// Retires record `i` (gone from the configuration).
    fn retire(&mut self, now: Instant, i: usize) {
        crate::log!(
            Notice,
            "{}: removed from the configuration",
            self.inst[i].cfg.name
        );
        self.node.retire(now, i);
        self.drain(now);
        if self.inst[i].installed {
            self.remove_addresses(i);
        }
        self.inst[i].retired = true;
    }

    /// Puts the new record `staged[k]` of running instance `p` in place;
    /// the staged one becomes the old record (pointing into
    /// `ifaces_spare`, the old interface table). The new one keeps the
    /// state.
    fn replace(&mut self, now: Instant, p: usize, k: usize) {
        let Daemon { inst, staged, .. } = self;
        let (cur, rec) = (&mut inst[p], &mut staged[k]);
        std::mem::swap(cur, rec);
        cur.counters = rec.counters;
        cur.last = rec.last;
        cur.installed = rec.installed;
        cur.fault = rec.fault;
        // The core resets the effective priority to a changed configured
        // one; update_health re-applies weights.
        if rec.cfg.priority == cur.cfg.priority {
            cur.effective = rec.effective;
        }
        cur.src = rec.src;
        if rec.installed {
            self.reinstall(p, k);
        }
        let k = core_config(&self.inst[p].cfg, self.inst[p].src);
        self.node.reconfigure(now, p, k);
        self.drain(now);
    }

    /// The index of the running (not retired) record with `c`'s identity.
    fn running(&self, c: &cfg::Instance) -> Option<usize> {
        self.inst
            .iter()
            .position(|i| !i.retired && same_key(&i.cfg, c))
    }

    /// Builds the records of `new`'s instances (`pos`: the running record
    /// each replaces) into `staged` (replacements, in order) or at the end
    /// of `inst` (added ones), and their interface table into
    /// `ifaces_spare`, carrying over the interfaces' state.
    fn stage<'c>(
        &mut self,
        new: &'c cfg::Config,
        pos: &[Option<usize>],
    ) -> Result<(), SetupError<'c>> {
        let Daemon {
            inst,
            ifaces: old_ifaces,
            ifaces_spare: ifaces,
            staged,
            ..
        } = self;
        for (c, p) in new.instances.iter().zip(pos) {
            let out = match p {
                Some(_) => &mut *staged,
                None => &mut *inst,
            };
            make_inst(c, new, ifaces, out)?;
        }
        // Retired instances keep pointing at a valid interface.
        for i in inst.iter_mut().filter(|i| i.retired) {
            i.iface = iface_index(ifaces, &old_ifaces[i.iface].name)?;
            i.vip_iface.clear();
            i.route_iface.clear();
            i.track_iface.clear();
        }
        for nf in ifaces.iter_mut() {
            if let Some(old) = old_ifaces.iter_mut().find(|o| o.name == nf.name) {
                nf.ifindex = old.ifindex;
                nf.up = old.up;
                nf.mac = old.mac;
                nf.unknown_vrid = old.unknown_vrid;
                nf.sock_ifindex = old.sock_ifindex;
                // (Swapped: the new entry has none yet, nothing to drop.)
                if nf.need_v4 {
                    std::mem::swap(&mut nf.v4, &mut old.v4);
                }
                if nf.need_v6 {
                    std::mem::swap(&mut nf.v6, &mut old.v6);
                }
            }
        }
        Ok(())
    }

    /// While installed, the addresses or routes of running instance `p`
    /// changed (its old record: `staged[k]`, pointing into
    /// `ifaces_spare`): remove what is gone, add what is new.
    fn reinstall(&mut self, p: usize, k: usize) {
        let Daemon {
            inst,
            staged,
            ifaces_spare,
            nl,
            ..
        } = self;
        let (old, new) = (&staged[k], &inst[p].cfg);
        if old.cfg.virtual_addresses == new.virtual_addresses
            && old.cfg.virtual_routes == new.virtual_routes
        {
            return;
        }
        tx::addresses(nl, old, ifaces_spare, Op::Delete, false, Some(new));
        // (Installed: marked so again.)
        self.add_addresses(p);
    }
}

/// Whether two configured instances have the same identity (name,
/// interface, family, VRID): a reload keeps such an instance's state.
fn same_key(a: &cfg::Instance, b: &cfg::Instance) -> bool {
    a.name == b.name && a.interface == b.interface && a.family == b.family && a.vrid == b.vrid
}

fn status_capacity(instances: usize, ifaces: usize) -> usize {
    512 + STATUS_SYNC + instances * STATUS_PER_INSTANCE + ifaces * STATUS_PER_IFACE
}

/// Answers `resync`: asks the sync core for a full resync (sent by the
/// loop's next pump).
fn resync(p: Pending<'_>, now: Instant, sync: Option<&mut ctsync::SyncPort>) {
    use std::fmt::Write;
    p.response.clear();
    let mut b = VecBuf {
        v: p.response,
        truncated: false,
    };
    let answer = match sync {
        None => "error: conntrack sync is not configured (no tandem_sync block)\n",
        Some(s) => {
            s.core.request_resync(now);
            crate::log!(Notice, "control: full conntrack resync requested");
            match s.role {
                tandem_core::ctsync::Role::Master => {
                    "ok: this router is master: streaming the whole table to the peers again\n"
                }
                tandem_core::ctsync::Role::Backup => {
                    "ok: this router is backup: asked the master for a full resync\n"
                }
                _ => "error: conntrack sync has not started yet (no VRRP state reached)\n",
            }
        }
    };
    let _ = b.write_str(answer);
}

/// Writes the answer to a control request into the client's buffer.
fn render(
    p: Pending<'_>,
    h: &status::Header<'_>,
    inst: &[Inst],
    ifaces: &[Iface],
    node: &Node<SLOTS>,
    sync: Option<&ctsync::SyncPort>,
    leases: Option<&leases::LeasePort>,
) {
    p.response.clear();
    let mut b = VecBuf {
        v: p.response,
        truncated: false,
    };
    if let Some(Request::Status { json }) = p.request {
        status_body(&mut b, json, h, inst, ifaces, node, sync, leases);
    } else {
        use std::fmt::Write;
        let _ = b.write_str(
            "error: unknown request (expected 'status', 'status json', 'resync', 'cache' or 'cache json')\n",
        );
    }
    if b.truncated {
        let n = b.v.len();
        crate::log!(Warning, "status response truncated at {n} bytes");
    }
}

/// The status itself (see [`status::Writer`]).
#[allow(clippy::too_many_arguments)]
fn status_body(
    b: &mut VecBuf<'_>,
    json: bool,
    h: &status::Header<'_>,
    inst: &[Inst],
    ifaces: &[Iface],
    node: &Node<SLOTS>,
    sync: Option<&ctsync::SyncPort>,
    leases: Option<&leases::LeasePort>,
) {
    let mut wr = status::Writer::new(b, json, h);
    for (k, i) in inst.iter().enumerate() {
        if !i.retired {
            instance_status(
                &mut wr,
                i,
                node.state(k.min(SLOTS - 1)),
                node.master_addr(k).as_ref(),
                h,
            );
        }
    }
    wr.interfaces();
    for f in ifaces {
        wr.iface(&status::IfaceStatus {
            name: f.name.as_str(),
            ifindex: f.ifindex,
            up: f.up,
            unknown_vrid: f.unknown_vrid,
        });
    }
    let Some(s) = sync else {
        wr.no_sync();
        return wr.end();
    };
    let mut peers: heapless::Vec<(IpAddr, bool), { tandem_core::ctsync::MAX_PEERS }> =
        heapless::Vec::new();
    for (k, a) in s.peers().iter().enumerate() {
        let _ = peers.push((*a, s.core.peer_live(k)));
    }
    let c = s.core.counters();
    let d = &c.dropped;
    let p = &s.counters;
    let m = c.last_commit;
    let commit_at = p.commit_at.map_or(0, |t| t.as_millis());
    let x: [u64; 16] = [
        s.cfg.port.into(),
        s.frame_len as u64,
        s.core.epoch().into(),
        s.core.cache_len() as u64,
        s.cfg.conntrack_capacity.into(),
        s.core.cache_capacity() as u64,
        s.core.window_len() as u64,
        s.core.window_capacity() as u64,
        d.total(),
        status::flag(s.core.resync_pending()),
        // Shown only with a commit.
        m.map_or(0, |m| m.committed.into()),
        p.commit_updated.into(),
        m.map_or(0, |m| m.failed.into()),
        h.now_ms.saturating_sub(commit_at),
        m.map_or(0, |m| m.took.as_micros()),
        commit_at,
    ];
    let lease = leases.filter(|l| l.has_file()).map(|l| l.status(&s.core));
    wr.sync(
        &status::Vals {
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
                &p.send_errors,
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
                &p.events,
                &c.events_filtered,
                &c.events_ignored,
                &c.unencodable,
                &x[9],
                &c.resyncs_started,
                &c.resyncs_completed,
                &c.resync_requests_sent,
                &c.resync_requests_received,
                &p.dumped,
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
                &x[14],
                &x[15],
                &x[13],
            ],
            s: &[
                Some(&s.role),
                Some(&s.cfg.local_address),
                s.cfg
                    .interface
                    .as_ref()
                    .map(|i| i as &dyn std::fmt::Display),
            ],
        },
        &peers,
        m.is_some(),
        lease.as_ref(),
        c,
    );
    wr.end();
}

/// One instance of the status (apart: the loop would keep every constant
/// of it in a spilled register).
#[inline(never)]
fn instance_status(
    wr: &mut status::Writer<'_>,
    i: &Inst,
    state: State,
    known: Option<&IpAddr>,
    h: &status::Header<'_>,
) {
    let is_master = state == State::Master;
    let master = match is_master {
        true => i.src.as_ref().or(known),
        false => known,
    };
    let c = &i.counters;
    let d = &c.dropped;
    let t = i.last.as_ref();
    let code = t.map(|t| status::Dbg(&t.3));
    let at = t.map_or(0, |t| t.0.as_millis());
    let x: [u64; 10] = [
        match i.cfg.version {
            cfg::Version::V2 => 2,
            cfg::Version::V3 => 3,
        },
        i.cfg.vrid.into(),
        i.cfg.priority.into(),
        i.effective.into(),
        status::flag(is_master),
        d.total(),
        c.transitions.into(),
        at,
        h.now_ms.saturating_sub(at),
        status::flag(is_master && master.is_some()),
    ];
    wr.instance(&status::Vals {
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
            Some(&i.cfg.name),
            Some(&i.cfg.interface),
            Some(wr.family(i.family() == Family::Ipv6)),
            i.sync_group.as_ref().map(|g| g as &dyn std::fmt::Display),
            Some(&state),
            master.map(|a| a as &dyn std::fmt::Display),
            t.map(|t| &t.1 as &dyn std::fmt::Display),
            t.map(|t| &t.2 as &dyn std::fmt::Display),
            t.map(|t| &t.3 as &dyn std::fmt::Display),
            code.as_ref().map(|c| c as &dyn std::fmt::Display),
        ],
    });
}

/// `fmt::Write` into a `Vec<u8>` within its capacity: never reallocates, and
/// touches only the bytes written (filling the whole preallocated status
/// buffer with zeros first would make all of it resident). Output that does
/// not fit is cut at a character boundary.
struct VecBuf<'a> {
    v: &'a mut Vec<u8>,
    truncated: bool,
}

impl std::fmt::Write for VecBuf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // Once cut, take nothing more (writers may go on after an error).
        let room = if self.truncated {
            0
        } else {
            self.v.capacity() - self.v.len()
        };
        if s.len() <= room {
            self.v.extend_from_slice(s.as_bytes());
            return Ok(());
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.v.extend_from_slice(&s.as_bytes()[..cut]);
        self.truncated = true;
        Err(std::fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(prio: u8, track: &str) -> cfg::Instance {
        let text = format!(
            "vrrp_instance I {{\n interface a\n virtual_router_id 1\n priority {prio}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n track_interface {{\n{track}\n }}\n}}\n"
        );
        let c = cfg::parse_str("t", &text, &mut |d| assert!(!d.is_error(), "{d}")).unwrap();
        c.instances[0].clone()
    }

    #[test]
    fn tracking_rules() {
        let c = inst(
            100,
            "  b\n  c weight 20\n  d weight -30\n  e weight 10 reverse",
        );
        let h = |own, t: [bool; 4]| health(&c, own, t.into_iter());
        assert_eq!(h(true, [true, true, true, false]), (false, 130));
        assert!(h(false, [true, true, true, false]).0);
        assert!(h(true, [false, true, true, false]).0);
        assert_eq!(h(true, [true, false, true, false]), (false, 110));
        assert_eq!(h(true, [true, false, false, false]), (false, 80));
        assert_eq!(h(true, [true, false, false, true]), (false, 70));
        let low = inst(10, "  d weight -30");
        assert_eq!(health(&low, true, [false].into_iter()), (false, 1));
        let high = inst(250, "  c weight 20");
        assert_eq!(health(&high, true, [true].into_iter()), (false, 254));
        let owner = inst(255, "  d weight -30");
        assert_eq!(health(&owner, true, [false].into_iter()), (false, 255));
    }

    /// Bytes per entry of each memory table (printed for the RAM
    /// documentation: `cargo test -p tandem -- memory_per_entry --nocapture`).
    #[test]
    fn memory_per_entry() {
        use core::mem::size_of;
        use tandem_core::{ctsync as cs, lease};
        let ct = size_of::<cs::Slot>();
        let tx = size_of::<cs::TxSlot>();
        let ls = size_of::<lease::Slot>();
        let node = size_of::<Node<SLOTS>>();
        println!("table                      bytes/entry  entries                     bytes");
        println!(
            "VRRP instance (port Inst)  {:>11}  {SLOTS:>7} (capacity, fixed) {:>9}",
            size_of::<Inst>(),
            SLOTS * size_of::<Inst>()
        );
        println!(
            "VRRP instance (core node)  {:>11}  {SLOTS:>7} (capacity, fixed) {node:>9}",
            node / SLOTS
        );
        println!(
            "parsed instance (config)   {:>11}  {:>7} (capacity, fixed) {:>9}",
            size_of::<cfg::Instance>(),
            cfg::MAX_INSTANCES,
            size_of::<cfg::Config>()
        );
        println!(
            "reload staging             {:>11}  {:>7} (capacity, fixed) {:>9}",
            size_of::<Inst>(),
            cfg::MAX_INSTANCES,
            cfg::MAX_INSTANCES * size_of::<Inst>()
        );
        println!(
            "interface                  {:>11}  {MAX_IFACES:>7} (x2, fixed)       {:>9}",
            size_of::<Iface>(),
            2 * MAX_IFACES * size_of::<Iface>()
        );
        let cap = cfg::DEFAULT_CONNTRACK_CAPACITY as usize;
        let slots = cap + cap.div_ceil(4);
        println!("conntrack cache slot       {ct:>11}  {slots:>7} (conntrack_capacity {cap} + 1/4) {:>9}", slots * ct);
        println!(
            "retransmit window slot     {tx:>11}  {:>7} (fixed)           {:>9}",
            super::ctsync::WINDOW_SLOTS,
            super::ctsync::WINDOW_SLOTS * tx
        );
        let leases = cfg::DEFAULT_LEASE_CAPACITY as usize;
        println!(
            "lease slot                 {ls:>11}  {leases:>7} (lease_capacity)    {:>9}",
            leases * ls
        );
        let file = super::leases::BYTES_PER_LEASE;
        println!(
            "lease file read buffer     {file:>11}  {leases:>7} (lease_capacity) + 16 KiB {:>9}",
            leases * file + 16 * 1024
        );
        println!(
            "lease sync ring                               (fixed)           {:>9}",
            cs::DEFAULT_LEASE_RING
        );
        println!(
            "config parser (stack, transient)       {:>9}",
            size_of::<cfg::Parser>()
        );
        assert!(ct > 0 && tx > 0 && ls > 0);
    }
}
