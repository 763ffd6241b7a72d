//! Long-lived traffic between two namespaces, for the conntrack-sync tests: a fleet
//! of TCP connections and a UDP flow whose every exchange is checked byte for byte,
//! in either direction (the WAN side first, which is what breaks after a failover
//! without synced state when `nf_conntrack_tcp_loose=0`), and nftables counters of
//! the TCP resets a namespace receives and sends.
//!
//! Sockets are created on threads that entered the namespaces (see
//! [`netns::in_netns`]); afterwards they are used from the test's thread. Every
//! socket is non-blocking; an exchange writes to all connections, then sweeps them
//! until each has read exactly the expected bytes or the deadline passes.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::netns;

/// Which side writes first in an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum First {
    /// The LAN client writes, the server reads, then the server answers.
    Client,
    /// The WAN server writes (server push), the client reads, then answers.
    Server,
}

/// The outcome of one exchange over a set of connections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Connections that exchanged the data both ways.
    pub ok: usize,
    /// Connections that did not, with what went wrong (index → reason).
    pub failed: BTreeMap<usize, String>,
}

impl Round {
    /// Every connection exchanged its data.
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ok, {} failed", self.ok, self.failed.len())?;
        // The first few reasons, then a histogram of all of them.
        let mut hist: BTreeMap<&str, usize> = BTreeMap::new();
        for r in self.failed.values() {
            *hist.entry(r.as_str()).or_default() += 1;
        }
        if !hist.is_empty() {
            write!(f, " (")?;
            for (i, (r, n)) in hist.iter().enumerate() {
                if i > 0 {
                    write!(f, "; ")?;
                }
                write!(f, "{n}× {r}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    dead: Option<String>,
}

/// A fleet of TCP connections from a client namespace to a server namespace.
pub struct TcpFleet {
    conns: Vec<Conn>,
    listener: TcpListener,
    server: SocketAddr,
}

fn classify(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::BrokenPipe => "broken pipe".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::TimedOut => "timed out (kernel)".into(),
        _ => e.to_string(),
    }
}

/// Reads what is available into `buf`; `Ok(true)` once `buf` holds `want`.
fn read_some(s: &mut impl Read, buf: &mut Vec<u8>, want: &[u8]) -> Result<bool, String> {
    let mut tmp = [0u8; 256];
    loop {
        match s.read(&mut tmp) {
            Ok(0) => return Err("closed by the peer (EOF)".into()),
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                if buf.len() >= want.len() {
                    return if buf[..] == want[..] {
                        Ok(true)
                    } else {
                        Err(format!(
                            "unexpected data {:?}",
                            String::from_utf8_lossy(buf)
                        ))
                    };
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(classify(&e)),
        }
    }
}

impl TcpFleet {
    /// Listens on `server:port` in `server_ns` and opens `n` connections from
    /// `client_ns` (each connect within 3 s), pairing each with its accepted end.
    pub fn open(
        client_ns: &str,
        server_ns: &str,
        server: Ipv4Addr,
        port: u16,
        n: usize,
    ) -> io::Result<TcpFleet> {
        let addr = SocketAddr::from((server, port));
        // Connections are opened one by one and accepted at once, so the listen
        // backlog never holds more than one.
        let listener = netns::in_netns(server_ns, move || TcpListener::bind(addr))??;
        let mut fleet = TcpFleet {
            conns: Vec::new(),
            listener,
            server: addr,
        };
        fleet.open_more(client_ns, n)?;
        Ok(fleet)
    }

    /// Opens `n` more connections (same listener) from `client_ns`.
    pub fn open_more(&mut self, client_ns: &str, n: usize) -> io::Result<()> {
        let addr = self.server;
        let l2 = self.listener.try_clone()?;
        let more = netns::in_netns(client_ns, move || -> io::Result<Vec<Conn>> {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let c = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
                let (s, _) = l2.accept()?;
                c.set_nodelay(true)?;
                s.set_nodelay(true)?;
                c.set_nonblocking(true)?;
                s.set_nonblocking(true)?;
                v.push(Conn {
                    client: c,
                    server: s,
                    dead: None,
                });
            }
            Ok(v)
        })??;
        self.conns.extend(more);
        Ok(())
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether the fleet is empty.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Client-side local ports, in connection order.
    pub fn client_ports(&self) -> Vec<u16> {
        self.conns
            .iter()
            .map(|c| c.client.local_addr().map(|a| a.port()).unwrap_or(0))
            .collect()
    }

    /// One exchange on every connection not already broken: the `first` side
    /// writes `"<tag> <i> q\n"`, the other reads it, then answers `"<tag> <i> a\n"`.
    /// Each of the two phases has `deadline`. A connection that fails is marked
    /// broken and is not used by later exchanges (it fails them at once).
    pub fn exchange(&mut self, first: First, tag: &str, deadline: Duration) -> Round {
        let q: Vec<Vec<u8>> = (0..self.conns.len())
            .map(|i| format!("{tag} {i} q\n").into_bytes())
            .collect();
        let a: Vec<Vec<u8>> = (0..self.conns.len())
            .map(|i| format!("{tag} {i} a\n").into_bytes())
            .collect();
        self.phase(first, &q, deadline);
        let other = match first {
            First::Client => First::Server,
            First::Server => First::Client,
        };
        self.phase(other, &a, deadline);
        let mut r = Round::default();
        for (i, c) in self.conns.iter().enumerate() {
            match &c.dead {
                None => r.ok += 1,
                Some(why) => {
                    r.failed.insert(i, why.clone());
                }
            }
        }
        r
    }

    /// Server push: every `period` the server writes `"push NNNNNN\n"` on every
    /// live connection while the clients read, until `stop` is set; then waits up to
    /// `deadline` until every client has received exactly what its server wrote. A
    /// connection whose write or read fails (a reset) or that is short at the end is
    /// marked broken. Meant to run on its own thread across a failover, so that
    /// packets reach the new master the moment it takes over.
    pub fn push_until(&mut self, stop: &AtomicBool, period: Duration, deadline: Duration) -> Round {
        let n = self.conns.len();
        let mut sent: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut got: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut tick = 0u32;
        let mut next = Instant::now();
        let mut stopped: Option<Instant> = None;
        loop {
            if stopped.is_none() {
                if stop.load(Ordering::Relaxed) {
                    stopped = Some(Instant::now());
                } else if Instant::now() >= next {
                    let msg = format!("push {tick:06}\n");
                    tick += 1;
                    next += period;
                    for (i, c) in self.conns.iter_mut().enumerate() {
                        if c.dead.is_some() {
                            continue;
                        }
                        match c.server.write(msg.as_bytes()) {
                            Ok(k) if k == msg.len() => sent[i].extend_from_slice(msg.as_bytes()),
                            Ok(k) => c.dead = Some(format!("server push: short write {k}")),
                            Err(e) => c.dead = Some(format!("server push: {}", classify(&e))),
                        }
                    }
                }
            }
            let mut complete = true;
            for (i, c) in self.conns.iter_mut().enumerate() {
                if c.dead.is_some() {
                    continue;
                }
                let mut tmp = [0u8; 4096];
                loop {
                    match c.client.read(&mut tmp) {
                        Ok(0) => {
                            c.dead = Some("client read during push: EOF".into());
                            break;
                        }
                        Ok(k) => got[i].extend_from_slice(&tmp[..k]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            c.dead = Some(format!("client read during push: {}", classify(&e)));
                            break;
                        }
                    }
                }
                if c.dead.is_none() && !sent[i].starts_with(&got[i]) {
                    c.dead = Some("client received bytes the server did not push".into());
                }
                complete &= c.dead.is_some() || got[i].len() == sent[i].len();
            }
            if let Some(t) = stopped {
                if complete {
                    break;
                }
                if t.elapsed() >= deadline {
                    for (i, c) in self.conns.iter_mut().enumerate() {
                        if c.dead.is_none() && got[i].len() != sent[i].len() {
                            c.dead = Some(format!(
                                "client did not receive every push within {deadline:?} after the pushes stopped"
                            ));
                        }
                    }
                    break;
                }
            }
            thread::sleep(Duration::from_millis(2));
        }
        let mut r = Round::default();
        for (i, c) in self.conns.iter().enumerate() {
            match &c.dead {
                None => r.ok += 1,
                Some(why) => {
                    r.failed.insert(i, why.clone());
                }
            }
        }
        r
    }

    fn phase(&mut self, writer: First, msgs: &[Vec<u8>], deadline: Duration) {
        let start = Instant::now();
        let mut pending: Vec<usize> = Vec::new();
        for (i, c) in self.conns.iter_mut().enumerate() {
            if c.dead.is_some() {
                continue;
            }
            let w = match writer {
                First::Client => &mut c.client,
                First::Server => &mut c.server,
            };
            match w.write(&msgs[i]) {
                Ok(n) if n == msgs[i].len() => pending.push(i),
                Ok(n) => c.dead = Some(format!("short write {n}")),
                Err(e) => c.dead = Some(format!("write: {}", classify(&e))),
            }
        }
        let mut bufs: BTreeMap<usize, Vec<u8>> = pending.iter().map(|&i| (i, Vec::new())).collect();
        let side = match writer {
            First::Client => "server",
            First::Server => "client",
        };
        loop {
            pending.retain(|&i| {
                let c = &mut self.conns[i];
                let r = match writer {
                    First::Client => &mut c.server,
                    First::Server => &mut c.client,
                };
                let buf = bufs.get_mut(&i).expect("buffer");
                match read_some(r, buf, &msgs[i]) {
                    Ok(true) => false,
                    Ok(false) => true,
                    Err(e) => {
                        c.dead = Some(format!("{side} read: {e}"));
                        false
                    }
                }
            });
            if pending.is_empty() {
                return;
            }
            if start.elapsed() >= deadline {
                for &i in &pending {
                    let got = bufs[&i].len();
                    self.conns[i].dead = Some(if got == 0 {
                        format!("{side} did not receive within {deadline:?}")
                    } else {
                        format!("{side} received only part within {deadline:?}")
                    });
                }
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A UDP flow: one client socket (in the LAN) talking to one server socket (in
/// the WAN), which answers to the address it saw (the NAT'd one).
pub struct UdpFlow {
    client: UdpSocket,
    server: UdpSocket,
    /// The client's address as the server sees it (after source NAT).
    pub peer: SocketAddr,
}

impl UdpFlow {
    /// Binds `server:port` in `server_ns`, a client socket in `client_ns`, and does
    /// a first client-first exchange (within 3 s) to learn the NAT'd peer address.
    pub fn open(
        client_ns: &str,
        server_ns: &str,
        server: Ipv4Addr,
        port: u16,
    ) -> io::Result<UdpFlow> {
        let addr = SocketAddr::from((server, port));
        let s = netns::in_netns(server_ns, move || UdpSocket::bind(addr))??;
        let c = netns::in_netns(client_ns, move || -> io::Result<UdpSocket> {
            let c = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
            c.connect(addr)?;
            Ok(c)
        })??;
        s.set_read_timeout(Some(Duration::from_millis(100)))?;
        c.set_read_timeout(Some(Duration::from_millis(100)))?;
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut buf = [0u8; 64];
        let peer = loop {
            c.send(b"hello\n")?;
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                if &buf[..n] == b"hello\n" {
                    break from;
                }
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "UDP: the server heard nothing from the client",
                ));
            }
        };
        let flow = UdpFlow {
            client: c,
            server: s,
            peer,
        };
        flow.exchange(First::Server, "udp-open", Duration::from_secs(3))
            .map_err(io::Error::other)?;
        Ok(flow)
    }

    /// One exchange: `first` sends `"<tag> q"` (repeated every 100 ms: datagrams
    /// may be lost during a takeover) until the other side receives it, then the
    /// other side answers likewise. The server must see the client at the same
    /// NAT'd address as when the flow was opened. Each phase has `deadline`.
    pub fn exchange(&self, first: First, tag: &str, deadline: Duration) -> Result<(), String> {
        let q = format!("{tag} q\n");
        let a = format!("{tag} a\n");
        self.phase(first, q.as_bytes(), deadline)?;
        let other = match first {
            First::Client => First::Server,
            First::Server => First::Client,
        };
        self.phase(other, a.as_bytes(), deadline)
    }

    fn phase(&self, writer: First, msg: &[u8], deadline: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut buf = [0u8; 256];
        loop {
            match writer {
                First::Client => {
                    let _ = self.client.send(msg);
                    match self.server.recv_from(&mut buf) {
                        Ok((n, from)) if &buf[..n] == msg => {
                            if from != self.peer {
                                return Err(format!(
                                    "server saw the client at {from}, not at {} any more (NAT mapping lost)",
                                    self.peer
                                ));
                            }
                            // Drain duplicates of the repeated datagram.
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                First::Server => {
                    let _ = self.server.send_to(msg, self.peer);
                    if let Ok(n) = self.client.recv(&mut buf) {
                        if &buf[..n] == msg {
                            return Ok(());
                        }
                    }
                }
            }
            if start.elapsed() >= deadline {
                return Err(format!(
                    "{} did not receive {:?} within {deadline:?}",
                    match writer {
                        First::Client => "server",
                        First::Server => "client",
                    },
                    String::from_utf8_lossy(msg).trim()
                ));
            }
        }
    }

    /// Drops datagrams still queued on both sockets (repeats of earlier phases).
    pub fn drain(&self) {
        let mut buf = [0u8; 256];
        for s in [&self.client, &self.server] {
            let _ = s.set_nonblocking(true);
            while s.recv(&mut buf).is_ok() {}
            let _ = s.set_nonblocking(false);
        }
    }
}

/// nftables counters of TCP resets in a namespace (table `inet tcrst`): received
/// (`input`) and sent (`output`), restricted to one TCP port on the far side
/// (received: source port; sent: destination port) or on this side.
pub struct RstCounter {
    ns: String,
}

/// Received and sent TCP resets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rsts {
    /// Resets received.
    pub received: u64,
    /// Resets sent.
    pub sent: u64,
}

impl RstCounter {
    /// Installs the counters in `ns` for TCP traffic to or from `port` (either
    /// side of the connection).
    pub fn install(ns: &str, port: u16) -> io::Result<RstCounter> {
        let rules = format!(
            "table inet tcrst {{\n\
             \x20 counter rst_in {{ }}\n\
             \x20 counter rst_out {{ }}\n\
             \x20 chain in {{ type filter hook input priority 0; policy accept;\n\
             \x20   tcp sport {port} tcp flags & rst == rst counter name rst_in\n\
             \x20   tcp dport {port} tcp flags & rst == rst counter name rst_in\n\
             \x20 }}\n\
             \x20 chain out {{ type filter hook output priority 0; policy accept;\n\
             \x20   tcp sport {port} tcp flags & rst == rst counter name rst_out\n\
             \x20   tcp dport {port} tcp flags & rst == rst counter name rst_out\n\
             \x20 }}\n\
             }}\n"
        );
        nft_apply(ns, &rules)?;
        Ok(RstCounter { ns: ns.to_string() })
    }

    /// The counts so far.
    pub fn read(&self) -> io::Result<Rsts> {
        Ok(Rsts {
            received: nft_counter(&self.ns, "inet", "tcrst", "rst_in")?.0,
            sent: nft_counter(&self.ns, "inet", "tcrst", "rst_out")?.0,
        })
    }
}

/// Applies an nftables ruleset text in namespace `ns` (`nft -f -`).
pub fn nft_apply(ns: &str, rules: &str) -> io::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(rules.as_bytes())?;
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "nft -f in {ns} failed: {}\n{rules}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// (packets, bytes) of the named nftables counter `family table name` in `ns`.
pub fn nft_counter(ns: &str, family: &str, table: &str, name: &str) -> io::Result<(u64, u64)> {
    let text = netns::exec(ns, "nft", &["list", "counter", family, table, name])?;
    let num = |key: &str| -> Option<u64> {
        let mut words = text.split_whitespace();
        while let Some(w) = words.next() {
            if w == key {
                return words.next()?.parse().ok();
            }
        }
        None
    };
    match (num("packets"), num("bytes")) {
        (Some(p), Some(b)) => Ok((p, b)),
        _ => Err(io::Error::other(format!("no counter values in {text:?}"))),
    }
}
