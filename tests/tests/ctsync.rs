//! Conntrack sync (issue 4, item 7): NAT'd connections survive a failover with
//! zero resets, the sync converges over a lossy link, forged frames change nothing,
//! and a returning master gets a full resync. Each test has a negative control.
//!
//! Lab: [`tandem_tests::ctsync::CtLab`] — the seed topology, a sync link `sync0`
//! between the routers, LAN → WAN source NAT to the WAN VIP, `tcp_loose=0` on the
//! routers, a WAN server 192.168.0.20. VRRPv3 with 0.1 s adverts (the seed's
//! instances otherwise: sync group, nopreempt); r1 priority 150 is elected first.
//!
//! Traffic ([`tandem_tests::traffic`]): 200 TCP connections and a UDP flow from the
//! LAN client to the server. After a failover the *server* writes first on every
//! connection (with `tcp_loose=0` the new master passes that packet only if it has
//! the connection's state), then the client answers; resets are counted with
//! nftables in the client's and the server's namespace.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tandem_protocol::conntrack::{Entry, Manip, NatDelta, TcpInfo, TcpState, Tuple};
use tandem_protocol::sync::{self as wire, Frame, FrameWriter, Header, Record};
use tandem_tests::ctnl;
use tandem_tests::ctsync::{
    capture_udp, inject_udp, random_key, sync_addr, CtLab, Datagram, SyncStatus, SERVER, SYNC_IF,
    SYNC_PORT, TCP_PORT, UDP_PORT,
};
use tandem_tests::topology::Link;
use tandem_tests::traffic::{First, Round, RstCounter, Rsts, TcpFleet, UdpFlow};
use tandem_tests::{require_root, RouterId, VrrpConf, WAN_VIP};

use RouterId::{R1, R2};

/// TCP connections per scenario.
const CONNS: usize = 200;
/// Deadline of each phase of an exchange after a failover (TCP retransmits a
/// segment lost during the takeover after 0.2, 0.6, 1.4, 3.0 s…). The negative
/// controls use the same deadline.
const AFTER: Duration = Duration::from_secs(5);
/// Deadline of each phase of an exchange while nothing fails over.
const STEADY: Duration = Duration::from_secs(3);
/// Bound for the backup's cache to hold what the master's table holds, on a
/// healthy link.
const SYNC_BOUND: Duration = Duration::from_secs(5);

fn confs() -> [VrrpConf; 2] {
    [
        VrrpConf::v3_fast().priority(150),
        VrrpConf::v3_fast().priority(100),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failover {
    /// SIGSTOP + SIGKILL of r1's daemon.
    Crash,
    /// SIGTERM to r1's daemon.
    Term,
    /// r1's LAN cable pulled (the sync group moves both instances).
    LanDown,
}

struct Traffic {
    fleet: TcpFleet,
    udp: UdpFlow,
    rst_client: RstCounter,
    rst_server: RstCounter,
}

impl Traffic {
    fn open(lab: &CtLab, conns: usize) -> Traffic {
        let cl = lab.topo().client_ns();
        let sv = lab.server_ns();
        let rst_client = RstCounter::install(&cl, TCP_PORT).expect("rst counter (client)");
        let rst_server = RstCounter::install(&sv, TCP_PORT).expect("rst counter (server)");
        let t = Instant::now();
        let fleet = TcpFleet::open(&cl, &sv, SERVER, TCP_PORT, conns).expect("open TCP fleet");
        let udp = UdpFlow::open(&cl, &sv, SERVER, UDP_PORT).expect("open UDP flow");
        eprintln!(
            "opened {conns} TCP connections and a UDP flow in {:?}",
            t.elapsed()
        );
        Traffic {
            fleet,
            udp,
            rst_client,
            rst_server,
        }
    }

    /// Both directions on every connection and the UDP flow, while steady: all must
    /// work.
    fn check_steady(&mut self, tag: &str) {
        for first in [First::Client, First::Server] {
            let r = self
                .fleet
                .exchange(first, &format!("{tag}-{first:?}"), STEADY);
            assert!(
                r.all_ok(),
                "{tag} ({first:?} first), before any failover: {r}"
            );
            self.udp
                .exchange(first, &format!("{tag}-{first:?}"), STEADY)
                .unwrap_or_else(|e| panic!("{tag}: UDP ({first:?} first): {e}"));
        }
        self.udp.drain();
    }

    fn rsts(&self) -> (Rsts, Rsts) {
        (
            self.rst_client.read().expect("read rst counter"),
            self.rst_server.read().expect("read rst counter"),
        )
    }
}

struct Outcome {
    /// The server pushing on every connection every 20 ms across the failover.
    push: Round,
    /// The exchange after the failover (server first).
    tcp: Round,
    udp: Result<(), String>,
    /// Resets (received, sent) at the client during the failover and after it.
    client: Rsts,
    /// The same at the server.
    server: Rsts,
}

fn sub(a: Rsts, b: Rsts) -> Rsts {
    Rsts {
        received: a.received - b.received,
        sent: a.sent - b.sent,
    }
}

/// The master's LAN clients' entries are all in the backup's cache (count).
fn wait_synced(lab: &mut CtLab, master: RouterId, bound: Duration) -> Result<Duration, String> {
    let want = lab.client_entries(master).expect("dump master table").len() as u64;
    lab.wait_cache(master.other(), bound, |n| n == want)
        .map_err(|e| format!("backup cache never held the master's {want} client entries: {e}"))
}

/// Where r2's state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Tandem's conntrack sync (`tandem_sync` block).
    Tandem,
    /// Nowhere (no `tandem_sync` block): the negative controls.
    None,
    /// The test copies r1's client entries into r2's kernel before the failover
    /// (a perfect sync and commit, without Tandem): the harness's positive
    /// control, showing that the scenario can pass.
    Oracle,
    /// The test copies them once r2 holds the VIPs (as keepalived's notify script
    /// runs `conntrackd -c`): the negative control of the takeover order.
    LateOracle,
}

/// Copies r1's LAN clients' entries into r2's kernel (TCP with the liberal window
/// flags, as a commit does); returns (copied, refused).
fn copy_entries(lab: &CtLab) -> (usize, usize) {
    let entries: Vec<Entry> = lab
        .client_entries(R1)
        .expect("dump r1")
        .into_iter()
        .map(|mut e| {
            e.tcp = e.tcp.map(TcpInfo::liberal);
            e
        })
        .collect();
    let mut sock = ctnl::CtSocket::open(&lab.topo().router_ns(R2)).expect("ctnetlink");
    let (failed, _) = sock.insert(&entries).expect("insert");
    (entries.len(), failed)
}

/// Push period during a failover.
const PUSH_PERIOD: Duration = Duration::from_millis(20);

/// r1 master with traffic through it; `how` takes r1 down; r2 must hold both VIPs;
/// then the server writes first on every connection and the UDP flow.
fn failover(prefix: &str, how: Failover, state: State) -> Outcome {
    let sync = state == State::Tandem;
    if !require_root() {
        return Outcome {
            push: Round::default(),
            tcp: Round::default(),
            udp: Ok(()),
            client: Rsts::default(),
            server: Rsts::default(),
        };
    }
    let mut lab = CtLab::new(prefix, confs(), sync).expect("lab");
    lab.pair_mut().elect(R1).expect("elect r1");
    let mut tr = Traffic::open(&lab, CONNS);
    tr.check_steady("before");
    match state {
        State::Tandem => {
            let took = wait_synced(&mut lab, R1, SYNC_BOUND).unwrap_or_else(|e| panic!("{e}"));
            eprintln!("backup cache complete {took:?} after the check");
        }
        State::None | State::LateOracle => std::thread::sleep(Duration::from_millis(500)),
        State::Oracle => {
            let (n, failed) = copy_entries(&lab);
            assert_eq!(failed, 0, "oracle commit of {n} entries");
            eprintln!("oracle: copied {n} entries from r1 to r2's kernel");
        }
    }
    let (c0, s0) = tr.rsts();
    // The server pushes on every connection across the failover (from 0.3 s before
    // it until 1 s after r2 holds the VIPs), so that packets reach r2 the moment it
    // takes over: an entry committed after the VIPs came up is too late.
    let stop = AtomicBool::new(false);
    let fleet = &mut tr.fleet;
    let push = std::thread::scope(|sc| {
        let pusher = sc.spawn(|| fleet.push_until(&stop, PUSH_PERIOD, AFTER));
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        match how {
            Failover::Crash => {
                lab.pair_mut().daemon(R1).crash();
            }
            Failover::Term => {
                lab.pair_mut().daemon(R1).terminate();
            }
            Failover::LanDown => lab.topo().set_cable(R1, Link::Lan, false).expect("cable"),
        }
        let bound = match how {
            Failover::Term => lab.pair().term_bound(R2),
            _ => lab.pair().crash_bound(R2),
        };
        let took = lab
            .pair()
            .wait_holds_both(R2, t, bound + Duration::from_millis(500));
        if state == State::LateOracle {
            let (n, failed) = copy_entries(&lab);
            eprintln!("late oracle: copied {n} entries ({failed} refused) into r2 after the VIPs");
        }
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        let push = pusher.join().expect("pusher");
        let took = took.unwrap_or_else(|e| panic!("r2 did not take over after {how:?}: {e}"));
        eprintln!("{how:?}: r2 holds both VIPs after {took:?}");
        push
    });
    if sync {
        if let Ok(s) = lab.sync_status(R2) {
            eprintln!("r2 sync after the takeover: {}", s.summary());
        }
    }
    let tcp = tr.fleet.exchange(First::Server, "after", AFTER);
    let udp = tr.udp.exchange(First::Server, "after", AFTER);
    let (c1, s1) = tr.rsts();
    let out = Outcome {
        push,
        tcp,
        udp,
        client: sub(c1, c0),
        server: sub(s1, s0),
    };
    eprintln!(
        "{how:?} {state:?}: push across the failover {}; exchange after it {}; UDP {:?}; resets at the client {:?}, at the server {:?}",
        out.push, out.tcp, out.udp, out.client, out.server
    );
    out
}

fn assert_survived(o: &Outcome, what: &str) {
    assert!(
        o.push.all_ok(),
        "{what}: every TCP connection must keep receiving the server's pushes across the failover: {}",
        o.push
    );
    assert!(
        o.tcp.all_ok(),
        "{what}: every TCP connection must still exchange data: {}",
        o.tcp
    );
    assert!(o.udp.is_ok(), "{what}: UDP flow: {:?}", o.udp);
    assert_eq!(
        o.client.received, 0,
        "{what}: the client must see no reset; counters {:?}",
        o.client
    );
    assert_eq!(o.server.sent, 0, "{what}: resets sent by the server");
}

fn assert_broken(o: &Outcome, what: &str) {
    if !require_root() {
        return;
    }
    assert_eq!(
        o.tcp.ok, 0,
        "{what}: without sync no connection should survive the failover: {}",
        o.tcp
    );
    assert!(o.udp.is_err(), "{what}: the UDP flow should break too");
}

#[test]
fn crash_keeps_nat_connections() {
    let o = failover("tc1a", Failover::Crash, State::Tandem);
    if require_root() {
        assert_survived(&o, "crash");
    }
}

#[test]
fn crash_without_sync_breaks_connections() {
    let o = failover("tc1b", Failover::Crash, State::None);
    assert_broken(&o, "crash without sync");
}

#[test]
fn sigterm_keeps_nat_connections() {
    let o = failover("tc2a", Failover::Term, State::Tandem);
    if require_root() {
        assert_survived(&o, "SIGTERM");
    }
}

#[test]
fn sigterm_without_sync_breaks_connections() {
    let o = failover("tc2b", Failover::Term, State::None);
    assert_broken(&o, "SIGTERM without sync");
}

#[test]
fn lan_link_down_keeps_nat_connections() {
    let o = failover("tc3a", Failover::LanDown, State::Tandem);
    if require_root() {
        assert_survived(&o, "LAN link down");
    }
}

#[test]
fn lan_link_down_without_sync_breaks_connections() {
    let o = failover("tc3b", Failover::LanDown, State::None);
    assert_broken(&o, "LAN link down without sync");
}

/// Harness check (no Tandem sync involved): with r1's entries copied into r2's
/// kernel before a crash, every connection survives — the scenario can pass, so a
/// failing sync test points at the sync, not at the lab.
#[test]
fn harness_oracle_commit_keeps_connections() {
    let o = failover("tc1c", Failover::Crash, State::Oracle);
    if require_root() {
        assert_survived(&o, "crash with an oracle commit");
    }
}

/// Control of the takeover order (no Tandem sync involved): r1's entries copied
/// into r2's kernel only once r2 holds the VIPs — what keepalived's notify script
/// with `conntrackd -c` does — are too late for the pushes that reach r2 first:
/// connections are reset. (The exchange after the failover alone would not see
/// this: it starts when the state is there.)
#[test]
fn harness_late_commit_resets_connections() {
    let o = failover("tc1d", Failover::Crash, State::LateOracle);
    if !require_root() {
        return;
    }
    assert!(
        !o.push.all_ok() && o.server.received + o.client.received > 0,
        "a commit after the VIPs should lose connections to resets: {}",
        o.push
    );
}

/// The same entries in two lists of `ctnl::describe` lines.
fn same_lists(what: &str, a: &[String], b: &[String]) -> Result<(), String> {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    if a == b {
        return Ok(());
    }
    let only_a: Vec<_> = a.iter().filter(|x| !b.contains(x)).take(5).collect();
    let only_b: Vec<_> = b.iter().filter(|x| !a.contains(x)).take(5).collect();
    Err(format!(
        "{what}: {} vs {} entries; only in the first: {only_a:?}; only in the second: {only_b:?}",
        a.len(),
        b.len()
    ))
}

fn describe_all(v: &[Entry]) -> Vec<String> {
    v.iter().map(ctnl::describe).collect()
}

/// Same original and reply tuples in two lists of entries.
fn same_connections(a: &[Entry], b: &[Entry]) -> Result<(), String> {
    same_lists("connections", &describe_all(a), &describe_all(b))
}

/// 20 % loss on the sync link while 180 connections open: once the loss stops the
/// backup's cache matches the master's table, and a takeover commits exactly the
/// master's connections. Control: while the link is cut, the comparison reports a
/// difference (it can fail).
#[test]
fn lossy_sync_link_converges() {
    if !require_root() {
        return;
    }
    let mut lab = CtLab::new("tc4", confs(), true).expect("lab");
    lab.pair_mut().elect(R1).expect("elect r1");
    let cl = lab.topo().client_ns();
    let sv = lab.server_ns();

    // Control: the link cut while 20 connections open → the cache lags behind.
    lab.set_sync_loss(100).expect("cut");
    let mut fleet = TcpFleet::open(&cl, &sv, SERVER, TCP_PORT, 20).expect("fleet");
    std::thread::sleep(Duration::from_millis(500));
    let master = lab.client_entries(R1).expect("dump").len() as u64;
    let backup = lab.sync_status(R2).map(|s| s.cache_entries);
    assert!(
        master >= 20 && backup.as_ref().is_ok_and(|&b| b != master),
        "control: with the link cut the backup's cache ({backup:?}) should differ from the master's {master} entries"
    );

    // 20 % loss while 180 more connections open, one every 10 ms, and the UDP flow
    // starts.
    let s1 = lab.sync_status(R1).expect("status");
    lab.set_sync_loss(20).expect("loss");
    let t = Instant::now();
    for _ in 20..CONNS {
        fleet.open_more(&cl, 1).expect("more connections");
        std::thread::sleep(Duration::from_millis(10));
    }
    let udp = UdpFlow::open(&cl, &sv, SERVER, UDP_PORT).expect("udp");
    let r = fleet.exchange(First::Client, "lossy", STEADY);
    assert!(r.all_ok(), "traffic under sync loss: {r}");
    std::thread::sleep(Duration::from_millis(300));
    let lost = lab.sync_lost().expect("loss counters");
    eprintln!(
        "{CONNS} connections open, {lost} sync datagrams dropped in {:?} of 20 % loss",
        t.elapsed()
    );
    assert!(lost > 0, "the loss rule dropped nothing");
    lab.set_sync_loss(0).expect("loss off");
    let s2 = lab.sync_status(R1).expect("status");
    let resent = |s: &SyncStatus| s.num(&["sent.resent", "resent.records"]).unwrap_or(0);
    eprintln!(
        "r1 resent {} records during the loss; resyncs started {:?} → {:?}",
        resent(&s2) - resent(&s1),
        s1.resyncs_started(),
        s2.resyncs_started()
    );

    // Converges: the cache count equals the master's LAN-client entries.
    let took = wait_synced(&mut lab, R1, Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("cache matched the master's table {took:?} after the loss stopped");
    let s = lab.sync_status(R2).expect("status");
    eprintln!("r2: {}", s.summary());
    let before = lab.client_entries(R1).expect("dump");
    assert_eq!(s.cache_entries, before.len() as u64);
    let cache = lab.cache_list(R2).expect("tandem cache");
    same_lists("r2's cache vs r1's table", &cache, &describe_all(&before))
        .unwrap_or_else(|e| panic!("{e}"));

    // Content: a takeover commits exactly these connections.
    lab.pair_mut().daemon(R1).crash();
    lab.pair()
        .wait_holds_both(R2, Instant::now(), lab.pair().crash_bound(R2))
        .expect("r2 takes over");
    let after = lab.client_entries(R2).expect("dump r2");
    same_connections(&before, &after)
        .unwrap_or_else(|e| panic!("r2's committed table differs from r1's: {e}"));
    let r = fleet.exchange(First::Server, "after", AFTER);
    assert!(r.all_ok(), "after the takeover: {r}");
    udp.exchange(First::Server, "after", AFTER)
        .expect("UDP after the takeover");
}

/// A simple xorshift generator (the tests need no cryptographic randomness, only
/// reproducible garbage; the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn sync_frames(d: &[Datagram], from: RouterId) -> Vec<Vec<u8>> {
    d.iter()
        .filter(|(src, dst, _)| {
            *src.ip() == sync_addr(from)
                && *dst.ip() == sync_addr(from.other())
                && dst.port() == SYNC_PORT
        })
        .map(|(_, _, p)| p.clone())
        .collect()
}

fn as_peer(from: RouterId, payload: Vec<u8>) -> Datagram {
    (
        std::net::SocketAddrV4::new(sync_addr(from), SYNC_PORT),
        std::net::SocketAddrV4::new(sync_addr(from.other()), SYNC_PORT),
        payload,
    )
}

/// Datagrams forged from captured frames of one router, and how many of each kind.
#[derive(Clone, Default)]
struct Forged {
    datagrams: Vec<Datagram>,
    wrong_key: usize,
    replays: usize,
    garbage: usize,
}

/// From `frames` captured from router `from`: 20 re-tagged with a `wrong` key and
/// given fresh sequence numbers (only the MAC can stop them), 20 verbatim replays,
/// 20 datagrams of random bytes and 10 with a plausible header (magic, version,
/// sender, epoch, a fresh sequence number) and random rest — all from `from`'s sync
/// address and port to its peer's.
fn forge(frames: &[Vec<u8>], from: RouterId, rng: &mut Rng, wrong: &wire::Key) -> Forged {
    let mut f = Forged::default();
    let max_seq = frames
        .iter()
        .filter_map(|b| Frame::new_checked(b.as_slice()).ok().map(|f| f.seq()))
        .max()
        .unwrap_or(0);
    for (i, b) in frames.iter().cycle().take(20).enumerate() {
        let mut b = b.clone();
        let Ok(fr) = Frame::new_checked(b.as_slice()) else {
            continue;
        };
        let h = Header {
            seq: max_seq + 1000 + i as u32,
            ..fr.header()
        };
        let mut fr = Frame::new_unchecked(b.as_mut_slice());
        fr.set_header(&h);
        fr.fill_tag(wrong);
        f.datagrams.push(as_peer(from, b));
        f.wrong_key += 1;
    }
    for b in frames.iter().cycle().take(20) {
        f.datagrams.push(as_peer(from, b.clone()));
        f.replays += 1;
    }
    for _ in 0..20 {
        let n = 1 + (rng.next() % 600) as usize;
        f.datagrams.push(as_peer(from, rng.bytes(n)));
        f.garbage += 1;
    }
    if let Some(hdr) = frames
        .first()
        .and_then(|b| Frame::new_checked(b.as_slice()).ok())
        .map(|fr| fr.header())
    {
        for i in 0..10 {
            let n = 40 + (rng.next() % 500) as usize;
            let mut b = rng.bytes(n);
            Header {
                seq: max_seq + 5000 + i,
                ..hdr
            }
            .emit(&mut b);
            f.datagrams.push(as_peer(from, b));
            f.garbage += 1;
        }
    }
    f
}

/// Frames with a wrong key, replayed frames and garbage sent to each router's sync
/// port from the other's address change nothing (cache, table, roles, traffic) and
/// are counted. Control: the same forged frame with the right key is accepted and adds
/// an entry to the cache (so only the MAC stopped the others).
#[test]
fn forged_frames_change_nothing_and_are_counted() {
    if !require_root() {
        return;
    }
    let mut lab = CtLab::new("tc5", confs(), true).expect("lab");
    lab.pair_mut().elect(R1).expect("elect r1");
    let cl = lab.topo().client_ns();
    let sv = lab.server_ns();
    let r2ns = lab.topo().router_ns(R2);
    let r1ns = lab.topo().router_ns(R1);

    // Capture real frames while 40 connections open.
    let cap = {
        let ns = r2ns.clone();
        std::thread::spawn(move || {
            capture_udp(&ns, SYNC_IF, SYNC_PORT, Duration::from_millis(1500))
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let mut fleet = TcpFleet::open(&cl, &sv, SERVER, TCP_PORT, 40).expect("fleet");
    let captured = cap.join().expect("capture thread").expect("capture");
    let from_r1 = sync_frames(&captured, R1);
    assert!(
        !from_r1.is_empty(),
        "no sync frame from r1 captured on r2's sync0 ({} datagrams)",
        captured.len()
    );
    wait_synced(&mut lab, R1, SYNC_BOUND).unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(300));
    let from_r2 = sync_frames(&captured, R2);
    assert!(
        !from_r2.is_empty(),
        "no sync frame from r2 captured on r2's sync0 ({} datagrams)",
        captured.len()
    );
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&random_key().expect("random")[..8]);
    let seed = u64::from_le_bytes(seed) | 1;
    eprintln!("garbage seed {seed:#x}");
    let mut rng = Rng(seed);
    let wrong = wire::Key::new(&rng.bytes(32)).expect("key");
    let before = [R1, R2].map(|r| lab.sync_status(r).expect("status"));
    let cache_before = lab.cache_list(R2).expect("tandem cache");
    let table_before = lab.client_entries(R1).expect("dump r1");
    // Towards r2 (backup) as if from r1, and towards r1 (master) as if from r2.
    let mut sent = [Forged::default(), Forged::default()];
    for (to, frames) in [(R2, &from_r1), (R1, &from_r2)] {
        let from = to.other();
        let f = forge(frames, from, &mut rng, &wrong);
        let n = inject_udp(&lab.topo().router_ns(from), f.datagrams.clone()).expect("inject");
        assert_eq!(n, f.datagrams.len());
        eprintln!(
            "injected towards {}: {} wrong-key frames, {} replays, {} garbage",
            to.name(),
            f.wrong_key,
            f.replays,
            f.garbage
        );
        sent[to.index()] = f;
    }
    std::thread::sleep(Duration::from_millis(500));

    for to in [R1, R2] {
        let (b, f) = (&before[to.index()], &sent[to.index()]);
        let a = lab.sync_status(to).expect("status");
        eprintln!(
            "{} before: {}\n{} after:  {}",
            to.name(),
            b.summary(),
            to.name(),
            a.summary()
        );
        let delta = |k: &str| a.dropped_by(k) - b.dropped_by(k);
        let who = to.name();
        assert_eq!(
            a.dropped_total - b.dropped_total,
            f.datagrams.len() as u64,
            "{who}: every injected datagram must be dropped and counted"
        );
        assert_eq!(
            delta("bad_mac") + delta("bad_header"),
            (f.wrong_key + f.garbage) as u64,
            "{who}: wrong-key and garbage frames: bad MAC or bad header"
        );
        assert_eq!(
            delta("duplicate") + delta("too_old"),
            f.replays as u64,
            "{who}: replays: duplicate or too old"
        );
        assert_eq!(a.cache_entries, b.cache_entries, "{who}: the cache changed");
        assert_eq!(a.role, b.role, "{who}: the sync role changed");
    }
    same_connections(&table_before, &lab.client_entries(R1).expect("dump r1"))
        .unwrap_or_else(|e| panic!("r1's table changed: {e}"));
    same_lists(
        "r2's cache before and after",
        &cache_before,
        &lab.cache_list(R2).expect("tandem cache"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    lab.pair().check_master(R1).expect("roles unchanged");
    let r = fleet.exchange(First::Server, "after-injection", STEADY);
    assert!(r.all_ok(), "traffic after the injection: {r}");
    let hdr = Frame::new_checked(from_r1[0].as_slice())
        .expect("captured frame")
        .header();

    // Control: the same kind of forged frame with the right key is accepted.
    // The next stream number r1 will use: from its alive records (sent every
    // second) or from the numbered records of its last frames.
    let right = wire::Key::new(lab.key()).expect("key");
    let cap2 =
        capture_udp(&r2ns, SYNC_IF, SYNC_PORT, Duration::from_millis(1500)).expect("capture");
    let mut next_from_r1 = None;
    let mut hdr = hdr;
    for f in sync_frames(&cap2, R1).iter().chain(from_r1.iter()) {
        let Ok(fr) = wire::open(&right, f) else {
            continue;
        };
        if fr.seq() > hdr.seq {
            hdr = fr.header();
        }
        let mut cur: Option<u32> = None;
        for rec in fr.records().flatten() {
            match rec {
                Record::Seq(n) => cur = Some(n),
                Record::Alive { next } => cur = Some(next),
                r if r.is_reliable() => cur = cur.map(|c| c + 1),
                _ => {}
            }
        }
        if let Some(c) = cur {
            next_from_r1 = Some(next_from_r1.map_or(c, |n: u32| n.max(c)));
        }
    }
    let next_from_r1 =
        next_from_r1.expect("r1's next stream number (no alive or numbered record captured)");
    let fake = {
        let orig = Tuple::tcp(
            std::net::Ipv4Addr::new(10, 9, 8, 77).into(),
            SERVER.into(),
            4242,
            TCP_PORT,
        );
        let mut e = Entry::with_nat(
            orig,
            NatDelta {
                snat: Some(Manip {
                    addr: WAN_VIP.into(),
                    port: 4242,
                }),
                dnat: None,
            },
        );
        e.status =
            tandem_protocol::conntrack::IPS_SEEN_REPLY | tandem_protocol::conntrack::IPS_ASSURED;
        e.timeout = 3600;
        e.tcp = Some(TcpInfo::new(TcpState::Established));
        e
    };
    let mut buf = vec![0u8; 1400];
    let h = Header {
        seq: hdr.seq + 100,
        ..hdr
    };
    let mut w = FrameWriter::new(&mut buf, &h).expect("writer");
    w.push(&Record::Seq(next_from_r1)).expect("seq");
    w.push(&Record::CtNew(fake)).expect("record");
    let len = w.finish(&right);
    buf.truncate(len);
    let mut wrong_copy = buf.clone();
    Frame::new_unchecked(wrong_copy.as_mut_slice()).fill_tag(&wrong);
    // First the wrong-key copy (must change nothing), then the right one.
    let c0 = lab.sync_status(R2).expect("status").cache_entries;
    inject_udp(&r1ns, vec![as_peer(R1, wrong_copy)]).expect("inject");
    std::thread::sleep(Duration::from_millis(300));
    let c1 = lab.sync_status(R2).expect("status").cache_entries;
    assert_eq!(
        c1, c0,
        "the wrong-key copy of the forged entry changed the cache"
    );
    inject_udp(&r1ns, vec![as_peer(R1, buf)]).expect("inject");
    let took = lab.wait_cache(R2, Duration::from_secs(2), |n| n == c0 + 1);
    assert!(
        took.is_ok(),
        "control: a forged frame with the right key (stream seq {next_from_r1}) should add its entry: {took:?}"
    );
}

/// The old master returns after a crash: it becomes backup and receives a full
/// resync (its cache fills with the new master's connections). Control: started
/// with a wrong key it stays empty for as long, and the new master counts its
/// frames as bad MACs.
#[test]
fn returning_master_becomes_backup_with_full_resync() {
    if !require_root() {
        return;
    }
    let mut lab = CtLab::new("tc6", confs(), true).expect("lab");
    lab.pair_mut().elect(R1).expect("elect r1");
    let mut tr = Traffic::open(&lab, CONNS);
    tr.check_steady("before");
    wait_synced(&mut lab, R1, SYNC_BOUND).unwrap_or_else(|e| panic!("{e}"));
    let t = lab.pair_mut().daemon(R1).crash();
    lab.pair()
        .wait_holds_both(R2, t, lab.pair().crash_bound(R2))
        .expect("r2 takes over");
    let r = tr.fleet.exchange(First::Server, "after-crash", AFTER);
    assert!(r.all_ok(), "after the crash: {r}");
    let want = lab.client_entries(R2).expect("dump r2").len() as u64;
    assert!(want >= CONNS as u64, "r2 holds {want} client entries");
    let fill_bound = Duration::from_secs(3);

    // Control: r1 comes back with a wrong key.
    let good = lab.key().to_vec();
    lab.use_key(R1, &random_key().expect("key")).expect("key");
    let bad_mac0 = lab.sync_status(R2).expect("status").dropped_by("bad_mac");
    lab.pair_mut().start(R1).expect("restart r1");
    lab.pair_mut()
        .wait_backup(R1, Duration::from_secs(5))
        .expect("r1 backup");
    let t = Instant::now();
    let filled = lab.wait_cache(R1, fill_bound, |n| n > 0);
    assert!(
        filled.is_err(),
        "control: r1 with a wrong key got entries: {filled:?}"
    );
    let bad_mac1 = lab.sync_status(R2).expect("status").dropped_by("bad_mac");
    assert!(
        bad_mac1 > bad_mac0,
        "control: r2 should count r1's wrong-key frames as bad MACs ({bad_mac0} → {bad_mac1})"
    );
    eprintln!(
        "control: r1 with a wrong key stayed empty for {:?}",
        t.elapsed()
    );

    // r1 comes back with the right key: backup (nopreempt), full resync.
    lab.use_key(R1, &good).expect("key");
    lab.pair_mut().start(R1).expect("restart r1");
    let t = Instant::now();
    lab.pair_mut()
        .wait_backup(R1, Duration::from_secs(5))
        .expect("r1 backup");
    lab.pair().check_master(R2).expect("r2 stays master");
    let took = lab
        .wait_cache(R1, fill_bound, |n| n == want)
        .unwrap_or_else(|e| panic!("returning r1 did not get the full table: {e}"));
    eprintln!(
        "r1's cache holds r2's {want} entries {:?} after its start",
        t.elapsed()
    );
    let _ = took;
    let table = lab.client_entries(R2).expect("dump r2");
    let cache = lab.cache_list(R1).expect("tandem cache");
    same_lists("r1's cache vs r2's table", &cache, &describe_all(&table))
        .unwrap_or_else(|e| panic!("{e}"));
    let s1 = lab.sync_status(R1).expect("status");
    let s2 = lab.sync_status(R2).expect("status");
    eprintln!("r1: {}\nr2: {}", s1.summary(), s2.summary());
    assert_eq!(s1.role, "backup");
    if let Some(n) = s1.resyncs_completed() {
        assert!(n >= 1, "r1 completed no resync");
    }
    if let Some(n) = s2.resyncs_started() {
        assert!(n >= 1, "r2 started no resync");
    }
    let r = tr.fleet.exchange(First::Server, "after-return", STEADY);
    assert!(r.all_ok(), "traffic after r1's return: {r}");
}
