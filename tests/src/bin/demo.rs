//! Demo: two virtual routers running Tandem with the seed's keepalived.conf, a LAN
//! client pinging through the VIPs, the master killed, the failover timeline.
//!
//! ```text
//! demo            (as root; namespaces dm-*, removed at the end and on Ctrl-C)
//! ```
//!
//! Steps, each printed with its time in ms since the daemons were started:
//! 1. the seed topology (LAN bridge: r1, r2, client; WAN bridge: r1, r2, gateway);
//! 2. Tandem on r1 and r2 at the same moment, with the seed's keepalived.conf
//!    verbatim except the priority (r1 150, r2 100; the seed has 101 on both) so
//!    that the returning r1 *would* take the VIPs back if `nopreempt` were ignored;
//! 3. the client pings 198.51.100.1 — an address of the WAN gateway reachable only
//!    through the master (client → LAN VIP → master → virtual default route →
//!    gateway, replies back to the WAN VIP) — every 100 ms;
//! 4. election: who became master, its VIPs and route (from the kernel's netlink
//!    notifications), first ping reply;
//! 5. the master dies: its daemon is crashed (SIGSTOP + SIGKILL, no priority-0
//!    advert) and both its cables are pulled (a box that lost power; otherwise its
//!    kernel would keep forwarding with the addresses the dead daemon left behind);
//! 6. the backup takes over: its transition, VIPs and route, the client's pings
//!    resume (lost pings counted);
//! 7. the old master comes back without a reboot (cables plugged back, Tandem
//!    started): Tandem removes the VIPs and route the killed daemon left behind in
//!    the kernel, and stays backup although its priority is higher: `nopreempt`.
//!
//! Exit status 0 when every step happened as expected, 1 with a message otherwise.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::Monitor;
use tandem_tests::topology::{Link, UPSTREAM};
use tandem_tests::{netns, tandem_bin, Kind, Pair, RouterId, VrrpConf};
use RouterId::{R1, R2};

const PREFIX: &str = "dm";
const PING_INTERVAL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- pinger

#[derive(Default)]
struct PingLog {
    /// seq → (sent at, reply at)
    sent: BTreeMap<u16, (Instant, Option<Instant>)>,
}

/// ICMP echo from a raw socket inside the client's namespace, one request every
/// [`PING_INTERVAL`].
struct Pinger {
    log: Arc<Mutex<PingLog>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn raw_icmp_socket() -> std::io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the fd is owned on success.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created, valid descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Pinger {
    fn start(ns: &str, target: Ipv4Addr) -> std::io::Result<Pinger> {
        let log = Arc::new(Mutex::new(PingLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (l2, s2, ns) = (log.clone(), stop.clone(), ns.to_string());
        let thread = thread::spawn(move || {
            let fd = netns::enter(&ns).and_then(|_| raw_icmp_socket());
            let fd = match fd {
                Ok(fd) => {
                    let _ = tx.send(Ok(()));
                    fd
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            ping_loop(&fd, target, &l2, &s2);
        });
        rx.recv()
            .map_err(|_| std::io::Error::other("pinger thread died"))??;
        Ok(Pinger {
            log,
            stop,
            thread: Some(thread),
        })
    }

    /// (seq, sent, reply) in order.
    fn snapshot(&self) -> Vec<(u16, Instant, Option<Instant>)> {
        self.log
            .lock()
            .unwrap()
            .sent
            .iter()
            .map(|(&s, &(t, r))| (s, t, r))
            .collect()
    }

    /// The first reply at or after `since`: (seq, sent, reply).
    fn first_reply_after(&self, since: Instant) -> Option<(u16, Instant, Instant)> {
        self.snapshot()
            .into_iter()
            .filter_map(|(s, t, r)| r.filter(|r| *r >= since).map(|r| (s, t, r)))
            .min_by_key(|x| x.2)
    }

    fn wait_reply_after(&self, since: Instant, bound: Duration) -> Option<(u16, Instant, Instant)> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(x) = self.first_reply_after(since) {
                return Some(x);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn ping_loop(fd: &OwnedFd, target: Ipv4Addr, log: &Mutex<PingLog>, stop: &AtomicBool) {
    let id = (std::process::id() & 0xffff) as u16;
    let mut seq: u16 = 0;
    let mut next = Instant::now();
    // SAFETY: an all-zero sockaddr_in is valid; fields are set below.
    let mut dst: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    dst.sin_family = libc::AF_INET as libc::sa_family_t;
    dst.sin_addr.s_addr = u32::from(target).to_be();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next {
            seq = seq.wrapping_add(1);
            let mut pkt = [0u8; 16];
            pkt[0] = 8; // echo request
            pkt[4..6].copy_from_slice(&id.to_be_bytes());
            pkt[6..8].copy_from_slice(&seq.to_be_bytes());
            pkt[8..16].copy_from_slice(b"tandemdm");
            let c = checksum(&pkt);
            pkt[2..4].copy_from_slice(&c.to_be_bytes());
            log.lock().unwrap().sent.insert(seq, (now, None));
            // SAFETY: valid fd, buffer and sockaddr_in of the stated sizes.
            unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    libc::MSG_DONTWAIT,
                    (&dst as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                );
            }
            next += PING_INTERVAL;
            if next < now {
                next = now + PING_INTERVAL;
            }
        }
        let wait = next.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, wait.as_millis().min(100) as libc::c_int + 1) };
        if n <= 0 {
            continue;
        }
        let mut buf = [0u8; 1500];
        // SAFETY: valid fd and buffer.
        let len = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        let t = Instant::now();
        if len < 20 {
            continue;
        }
        let len = len as usize;
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        if len < ihl + 8 {
            continue;
        }
        let icmp = &buf[ihl..len];
        let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
        if icmp[0] != 0 || src != target || u16::from_be_bytes([icmp[4], icmp[5]]) != id {
            continue;
        }
        let s = u16::from_be_bytes([icmp[6], icmp[7]]);
        if let Some(e) = log.lock().unwrap().sent.get_mut(&s) {
            if e.1.is_none() {
                e.1 = Some(t);
            }
        }
    }
}

// ---------------------------------------------------------------- timeline

/// Events of one section of the timeline, printed in time order by [`Timeline::flush`].
struct Timeline {
    t0: Instant,
    /// CLOCK_MONOTONIC at `t0`, in ms (tandem's stderr log stamps lines with it).
    mono0_ms: f64,
    events: Mutex<Vec<(f64, String)>>,
    /// Summary lines printed at the end.
    summary: Mutex<Vec<String>>,
    /// Log lines already shown, per router.
    seen: Mutex<[usize; 2]>,
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            t0: Instant::now(),
            mono0_ms: common::monotonic_ms(),
            events: Mutex::new(Vec::new()),
            summary: Mutex::new(Vec::new()),
            seen: Mutex::new([0; 2]),
        }
    }

    fn ms(&self, t: Instant) -> f64 {
        if t >= self.t0 {
            (t - self.t0).as_secs_f64() * 1e3
        } else {
            -((self.t0 - t).as_secs_f64() * 1e3)
        }
    }

    fn at(&self, t: Instant, what: &str) {
        self.add(self.ms(t), what.to_string());
    }

    fn add(&self, ms: f64, what: String) {
        self.events.lock().unwrap().push((ms, what));
    }

    fn note(&self, line: String) {
        self.summary.lock().unwrap().push(line);
    }

    fn now(&self, what: &str) {
        self.at(Instant::now(), what);
    }

    /// Adds the new transition lines of router `r`'s tandem log
    /// (`[12345678 ms] tandem: I1: BACKUP -> MASTER (reason)`) at their own time.
    fn log_lines(&self, pair: &Pair, r: RouterId) {
        let Some(d) = pair.daemon_ref(r) else { return };
        let log = d.log();
        let lines: Vec<&str> = log.lines().collect();
        let mut seen = self.seen.lock().unwrap();
        let from = seen[r.index()].min(lines.len());
        for l in &lines[from..] {
            if !l.contains(" -> ") {
                continue;
            }
            let stamp = l
                .strip_prefix('[')
                .and_then(|x| x.split_once(" ms]"))
                .and_then(|(n, rest)| Some((n.trim().parse::<f64>().ok()?, rest)));
            match stamp {
                Some((n, rest)) => self.add(
                    n - self.mono0_ms,
                    format!("{} log:{}", r.name(), rest.trim_end()),
                ),
                None => self.add(f64::NAN, format!("{} log: {}", r.name(), l.trim())),
            }
        }
        seen[r.index()] = lines.len();
    }

    /// Prints the collected events in time order and forgets them.
    fn flush(&self) {
        let mut ev = std::mem::take(&mut *self.events.lock().unwrap());
        ev.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (ms, what) in ev {
            if ms.is_nan() {
                println!("  {:>9}     {what}", "?");
            } else {
                println!("  {ms:>9.1} ms  {what}");
            }
        }
    }
}

fn fail(msg: impl AsRef<str>) -> Result<(), String> {
    Err(msg.as_ref().to_string())
}

/// `tandem status` (text) of router `r`, indented.
fn status_text(pair: &Pair, r: RouterId) -> String {
    let Some(d) = pair.daemon_ref(r) else {
        return "    (not running)".into();
    };
    match Command::new(tandem_bin())
        .arg("status")
        .arg("--control")
        .arg(d.control_path())
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            text.lines()
                .map(|l| format!("    | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Err(e) => format!("    (tandem status failed: {e})"),
    }
}

fn addr_event(r: RouterId, line: &str) -> String {
    // "3: br-lan    inet 10.9.8.4/24 scope global secondary br-lan\ …"
    let mut it = line.split_whitespace();
    let deleted = line.starts_with("Deleted");
    if deleted {
        it.next();
    }
    let _ = it.next();
    let ifname = it.next().unwrap_or("?");
    let _ = it.next();
    let addr = it.next().unwrap_or("?");
    format!(
        "{}: {} {addr} {} {ifname}",
        r.name(),
        if deleted {
            "VIP removed:"
        } else {
            "VIP added:"
        },
        if deleted { "from" } else { "on" }
    )
}

fn route_event(r: RouterId, line: &str) -> String {
    let l = line.split('\\').next().unwrap_or(line).trim();
    match l.strip_prefix("Deleted ") {
        Some(rest) => format!("{}: route removed: {rest}", r.name()),
        None => format!("{}: route added: {l}", r.name()),
    }
}

fn is_vip_line(l: &str) -> bool {
    l.contains(" inet 10.9.8.4/") || l.contains(" inet 192.168.0.4/")
}

fn is_vroute_line(l: &str) -> bool {
    l.contains("default via 192.168.0.1") && l.contains("metric 5")
}

/// Prints the address and route events of `r` between `from` and `to` (inclusive).
fn print_events(tl: &Timeline, mon: &Monitor, r: RouterId, from: Instant, to: Instant) {
    let mut t = from;
    while let Some((at, line)) = mon.find(t, |l| is_vip_line(l) || is_vroute_line(l)) {
        if at > to {
            break;
        }
        let text = if is_vip_line(&line) {
            addr_event(r, &line)
        } else {
            route_event(r, &line)
        };
        tl.at(at, &text);
        t = at + Duration::from_nanos(1);
    }
}

fn main() -> ExitCode {
    common::install_cleanup(PREFIX);
    if !common::is_root() {
        eprintln!("demo: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    common::locate_tandem();
    if std::panic::catch_unwind(tandem_bin).is_err() {
        return ExitCode::from(2);
    }
    let r = run();
    common::cleanup(PREFIX);
    match r {
        Ok(()) => {
            println!("\nDEMO OK");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("\nDEMO FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let version = Command::new(tandem_bin())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("Tandem demo — {version} ({})", tandem_bin().display());
    println!(
        "Two routers r1, r2 share a LAN (client 10.9.8.10) and a WAN (gateway 192.168.0.1,\n\
         upstream 198.51.100.1). VIPs: 10.9.8.4 (br-lan, client's gateway), 192.168.0.4\n\
         (eth0.2) and the route `default via 192.168.0.1 src 192.168.0.4 metric 5`.\n\
         Configuration: the seed's keepalived.conf (VRRPv2, advert 1 s, auth PASS, sync group\n\
         G1, nopreempt) verbatim except `priority`: r1 150, r2 100 (seed: 101 on both)."
    );
    let conf = VrrpConf::seed();
    let mut pair = Pair::new(
        PREFIX,
        [Kind::Tandem; 2],
        [conf.clone().priority(150), conf.clone().priority(100)],
    )
    .map_err(|e| format!("cannot build the topology: {e}"))?;
    let mdi_r2 = pair.conf(R2).master_down_interval();
    let mdi_r1 = pair.conf(R1).master_down_interval();
    println!(
        "Master_Down_Interval: r1 {} ms, r2 {} ms. Working directory: {}",
        common::ms(mdi_r1),
        common::ms(mdi_r2),
        pair.topo().dir().display()
    );
    let mons = [
        Monitor::start(&pair.topo().router_ns(R1), &["address", "route"])
            .map_err(|e| format!("ip monitor: {e}"))?,
        Monitor::start(&pair.topo().router_ns(R2), &["address", "route"])
            .map_err(|e| format!("ip monitor: {e}"))?,
    ];
    let pinger = Pinger::start(&pair.topo().client_ns(), UPSTREAM)
        .map_err(|e| format!("cannot start the pinger: {e}"))?;

    println!("\nTimeline (ms since the daemons were started):");
    let tl = Timeline::new();
    for r in [R1, R2] {
        pair.start(r)
            .map_err(|e| format!("cannot start tandem on {}: {e}", r.name()))?;
    }
    tl.at(
        tl.t0,
        "start: tandem on r1 (priority 150) and r2 (priority 100), both `state backup`",
    );
    tl.at(tl.t0, "client pings 198.51.100.1 every 100 ms");

    let res = run_demo(&mut pair, &tl, &mons, &pinger, mdi_r1, mdi_r2);
    tl.flush();
    println!("\nSummary:");
    for l in tl.summary.lock().unwrap().iter() {
        println!("  - {l}");
    }
    let s = pinger.snapshot();
    let answered = s.iter().filter(|x| x.2.is_some()).count();
    println!(
        "\nPings: {} sent, {answered} answered, {} unanswered (including those before the first election).",
        s.len(),
        s.len() - answered
    );
    if res.is_err() {
        for r in [R1, R2] {
            if let Some(d) = pair.daemon_ref(r) {
                println!(
                    "\n--- {} tandem log (tail) ---\n{}",
                    r.name(),
                    d.log_tail(25)
                );
            }
        }
    }
    drop(pinger);
    drop(mons);
    drop(pair);
    res
}

fn section(tl: &Timeline, title: &str) {
    tl.flush();
    println!("  ---- {title} ----");
}

fn run_demo(
    pair: &mut Pair,
    tl: &Timeline,
    mons: &[Monitor; 2],
    pinger: &Pinger,
    mdi_r1: Duration,
    mdi_r2: Duration,
) -> Result<(), String> {
    let t0 = tl.t0;
    section(tl, "election");
    let bound = mdi_r1 + Duration::from_secs(3);
    let elected = pair.wait_holds_both(R1, t0, bound);
    // Let the route and the first pings come.
    let first = pinger.wait_reply_after(t0, Duration::from_secs(3));
    thread::sleep(Duration::from_millis(300));
    let t_elected = Instant::now();
    for r in [R1, R2] {
        tl.log_lines(pair, r);
    }
    print_events(tl, &mons[0], R1, t0, t_elected);
    print_events(tl, &mons[1], R2, t0, t_elected);
    if elected.is_err() {
        let mut exited = String::new();
        for r in [R1, R2] {
            let d = pair.daemon(r);
            if !d.running() {
                let st = d
                    .wait_exit(Duration::ZERO)
                    .map_or("?".to_string(), |s| s.to_string());
                exited += &format!("; tandem on {} exited ({st})", r.name());
            }
        }
        return fail(format!(
            "election: r1 (priority 150) does not hold both VIPs {} ms after the start \
             (VIPs r1 {:?}, r2 {:?}){exited}",
            bound.as_millis(),
            pair.vips(R1),
            pair.vips(R2)
        ));
    }
    if let Some((t, _)) = mons[0].find(t0, |l| l.contains(" inet 10.9.8.4/")) {
        tl.note(format!(
            "election: r1 became MASTER and took the VIPs {} ms after the start \
             (its Master_Down_Interval: {} ms)",
            common::ms(t - t0),
            common::ms(mdi_r1)
        ));
    }
    match first {
        Some((seq, _, at)) => tl.at(at, &format!("client: first ping reply (icmp_seq {seq})")),
        None => return fail("the client gets no ping reply through r1"),
    }
    if let Err(e) = pair.check_master(R1) {
        return fail(format!("after the election: {e}"));
    }
    tl.now("r1 is MASTER (holds both VIPs and the route), r2 is BACKUP");
    tl.flush();
    for r in [R1, R2] {
        println!(
            "    tandem status on {}:\n{}",
            r.name(),
            status_text(pair, r)
        );
    }

    // --- steady state, then kill
    thread::sleep(Duration::from_secs(2));
    section(tl, "failure of the master");
    let kill_at = pair.daemon(R1).crash();
    pair.topo()
        .power_off(R1)
        .map_err(|e| format!("cannot pull r1's cables: {e}"))?;
    tl.at(
        kill_at,
        "KILL r1: tandem SIGSTOP+SIGKILL (no priority-0 advert), both cables pulled",
    );
    let last_before = pinger
        .snapshot()
        .into_iter()
        .rfind(|x| x.2.is_some_and(|r| r <= kill_at));
    if let Some((seq, _, Some(at))) = last_before {
        tl.at(
            at,
            &format!("client: last ping reply before the kill (icmp_seq {seq})"),
        );
    }
    let bound = mdi_r2 + Duration::from_secs(1);
    let took = pair.wait_holds_both(R2, kill_at, bound);
    let resumed = pinger.wait_reply_after(kill_at, Duration::from_secs(8));
    thread::sleep(Duration::from_millis(300));
    let t_after = Instant::now();
    tl.log_lines(pair, R2);
    print_events(tl, &mons[1], R2, kill_at, t_after);
    if took.is_err() {
        return fail(format!(
            "r2 does not hold both VIPs {} ms after the kill (Master_Down_Interval {} ms)",
            bound.as_millis(),
            mdi_r2.as_millis()
        ));
    }
    let vips_at = mons[1]
        .find(kill_at, |l| l.contains(" inet 10.9.8.4/"))
        .zip(mons[1].find(kill_at, |l| l.contains(" inet 192.168.0.4/")))
        .map(|(a, b)| a.0.max(b.0));
    if let Some(at) = vips_at {
        tl.note(format!(
            "failover: r2 held both VIPs {} ms after r1 was killed (r2's Master_Down_Interval: {} ms)",
            common::ms(at - kill_at),
            common::ms(mdi_r2)
        ));
        tl.at(
            at,
            &format!(
                "r2 holds both VIPs: {} ms after the kill (r2's Master_Down_Interval: {} ms)",
                common::ms(at - kill_at),
                common::ms(mdi_r2)
            ),
        );
    }
    let Some((seq, _, at)) = resumed else {
        return fail("the client's pings do not resume within 8 s of the kill");
    };
    let from = last_before.map_or(kill_at, |l| l.1);
    let lost: Vec<u16> = pinger
        .snapshot()
        .into_iter()
        .filter(|x| x.1 >= from && x.0 < seq && x.2.is_none())
        .map(|x| x.0)
        .collect();
    tl.at(
        at,
        &format!(
            "client: pings resume (icmp_seq {seq}) {} ms after the kill; {} pings lost{}",
            common::ms(at - kill_at),
            lost.len(),
            match (lost.first(), lost.last()) {
                (Some(a), Some(b)) => format!(" (icmp_seq {a}..={b})"),
                _ => String::new(),
            }
        ),
    );
    tl.note(format!(
        "client: {} pings lost (every 100 ms), replies resumed {} ms after the kill",
        lost.len(),
        common::ms(at - kill_at)
    ));
    if let Err(e) = pair.check_holds(R2) {
        return fail(format!("after the takeover: {e}"));
    }
    tl.flush();
    if !pair.topo().neighbours_point_to(R2).unwrap_or(false) {
        println!(
            "    note: client/gateway neighbour entries for the VIPs: {:?}",
            pair.topo().vip_neighbours()
        );
    }
    println!("    tandem status on r2:\n{}", status_text(pair, R2));

    // --- the old master comes back
    section(tl, "r1 comes back");
    let left = pair.vips(R1).map_err(|e| e.to_string())?;
    let route = pair.topo().has_virtual_route(R1).unwrap_or(false);
    let mut leftovers = Vec::new();
    if left.lan {
        leftovers.push("10.9.8.4");
    }
    if left.wan {
        leftovers.push("192.168.0.4");
    }
    if route {
        leftovers.push("the virtual route");
    }
    if leftovers.is_empty() {
        leftovers.push("nothing");
    }
    tl.now(&format!(
        "r1 comes back without a reboot: the killed daemon left behind {} in its kernel",
        leftovers.join(", ")
    ));
    for l in [Link::Lan, Link::Wan] {
        pair.topo()
            .set_cable(R1, l, true)
            .map_err(|e| format!("cannot plug r1's cable back: {e}"))?;
    }
    let t_back = Instant::now();
    pair.start(R1)
        .map_err(|e| format!("cannot restart tandem on r1: {e}"))?;
    tl.at(
        t_back,
        "r1: cables plugged back, tandem started (priority 150 > r2's 100); it must remove \
         the leftovers itself",
    );
    let backup = pair.wait_backup(R1, mdi_r1 + Duration::from_secs(2));
    tl.log_lines(pair, R1);
    if let Err(e) = backup {
        return fail(format!(
            "r1 after restart: {e} (did tandem remove what the killed daemon left behind?)"
        ));
    }
    tl.now("r1 is a settled BACKUP (hears r2's adverts, holds no VIP)");
    let removed: Vec<Instant> = [" inet 10.9.8.4/", " inet 192.168.0.4/"]
        .iter()
        .filter_map(|pat| {
            mons[0]
                .find(t_back, |l| l.starts_with("Deleted") && l.contains(pat))
                .map(|x| x.0)
        })
        .collect();
    if let Some(last) = removed.iter().max().filter(|_| removed.len() == 2) {
        tl.note(format!(
            "clean-up: r1's tandem removed the VIPs left behind by the killed daemon {} ms after it was started",
            common::ms(*last - t_back)
        ));
    }
    let watch = mdi_r1 * 2;
    let stable = tandem_tests::holds_during(watch, Duration::from_millis(100), || {
        pair.check_master(R2).is_ok()
    });
    let t_end = Instant::now();
    tl.log_lines(pair, R1);
    tl.log_lines(pair, R2);
    print_events(tl, &mons[0], R1, t_back, t_end);
    print_events(tl, &mons[1], R2, t_back, t_end);
    if let Err(at) = stable {
        return fail(format!(
            "r1 took the VIPs back {} ms after it was BACKUP (nopreempt ignored?): VIPs r1 {:?}, r2 {:?}",
            at.as_millis(),
            pair.vips(R1),
            pair.vips(R2)
        ));
    }
    let lost_after = pinger
        .snapshot()
        .into_iter()
        .filter(|x| x.1 >= t_back && x.1 + Duration::from_millis(500) <= t_end && x.2.is_none())
        .count();
    tl.at(
        t_end,
        &format!(
            "r1 stayed BACKUP for {:.1} s (nopreempt), r2 is still MASTER; {lost_after} pings lost since r1 came back",
            watch.as_secs_f64()
        ),
    );
    tl.note(format!(
        "nopreempt: r1 (priority 150) came back and stayed BACKUP for {:.1} s; \
         {lost_after} pings lost meanwhile",
        watch.as_secs_f64()
    ));
    tl.flush();
    for r in [R1, R2] {
        println!(
            "    tandem status on {}:\n{}",
            r.name(),
            status_text(pair, r)
        );
    }
    if lost_after > 0 {
        return fail(format!("{lost_after} pings lost after r1 came back"));
    }
    Ok(())
}
