//! The lease-sync lab (issue 5, point 6): Debian's dnsmasq on both routers, started
//! and stopped by Tandem's `dhcp_master_command` / `dhcp_backup_command`, and busybox
//! `udhcpc` clients, each in a namespace of its own on the LAN bridge.
//!
//! ```text
//!   <p>-c00 … <p>-cNN (udhcpc) ──[br-lan]── r1, r2 (dnsmasq on the master only)
//!                                           r1 sync0 ═══ r2 sync0 (tandem_sync)
//! ```
//!
//! Built on [`CtLab`] (sync link, key, `tandem_sync` block). Per router `rN`, in the
//! test's directory:
//!
//! * `rN.leases`: dnsmasq's `--dhcp-leasefile` and Tandem's `lease_file`;
//! * `rN-dhcp.sh master|backup`: the DHCP commands. `master` stops a running
//!   dnsmasq and starts it again (it reads the lease file only at start-up), `backup`
//!   stops it; each call is logged in `rN-dhcp-cmds.log` (serialised with `flock`);
//! * dnsmasq: DHCP only (`--port=0`), range [`RANGE_FIRST`]–[`RANGE_LAST`], 1 h,
//!   `--dhcp-authoritative` (the one server on the LAN: it answers renewals of
//!   leases it knows), `--no-ping` (the ping check before an offer is a heuristic
//!   that a sleeping or firewalled client defeats; without it only the lease table
//!   keeps an address from being handed out twice, which is what the tests check),
//!   running as root (it writes into the test's directory), pid file
//!   `rN-dnsmasq.pid`, log `rN-dnsmasq.log`.
//!
//! Clients: `udhcpc -f -B -T 1` with the script `udhcpc.sh`, which applies the
//! address to `eth0` and appends every event to the client's `<name>.events`
//! (`bound`, `renew`, `nak`, `deconfig`, with the address and the server
//! identifier), so a test reads what the client was told, and by whom.

use std::fmt;
use std::fs;
use std::io::{self, Seek, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::VrrpConf;
use crate::ctsync::{sync_addr, CtLab, SYNC_IF, SYNC_PORT};
use crate::json::Json;
use crate::netns::{self, ip, Netns};
use crate::topology::{RouterId, Topology, LAN_IF, LAN_VIP};

/// First address of dnsmasq's DHCP range.
pub const RANGE_FIRST: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 100);
/// Last address of dnsmasq's DHCP range (48 addresses).
pub const RANGE_LAST: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 147);

/// Router `r`'s lease file (dnsmasq's and Tandem's).
pub fn lease_path(topo: &Topology, r: RouterId) -> PathBuf {
    topo.dir().join(format!("{}.leases", r.name()))
}

/// Router `r`'s DHCP command script (`master` / `backup`).
pub fn script_path(topo: &Topology, r: RouterId) -> PathBuf {
    topo.dir().join(format!("{}-dhcp.sh", r.name()))
}

/// Router `r`'s dnsmasq pid file.
pub fn pid_path(topo: &Topology, r: RouterId) -> PathBuf {
    topo.dir().join(format!("{}-dnsmasq.pid", r.name()))
}

/// Log of router `r`'s DHCP command calls.
pub fn cmds_log_path(topo: &Topology, r: RouterId) -> PathBuf {
    topo.dir().join(format!("{}-dhcp-cmds.log", r.name()))
}

/// Router `r`'s dnsmasq log.
pub fn dnsmasq_log_path(topo: &Topology, r: RouterId) -> PathBuf {
    topo.dir().join(format!("{}-dnsmasq.log", r.name()))
}

/// The `tandem_sync { }` block of router `r` with lease sync: `lease_file`,
/// `lease_capacity` and both DHCP commands (DESIGN.md, "Configuration contract").
/// With `lease_file == false` the same block without `lease_file` and
/// `lease_capacity` (the negative controls: the commands still run on
/// transitions, nothing carries leases).
pub fn lease_sync_block(topo: &Topology, r: RouterId, key_file: &Path, lease_file: bool) -> String {
    let mut b = format!(
        "\ntandem_sync {{\n\
         \x20   interface {SYNC_IF}\n\
         \x20   local_address {}\n\
         \x20   peer_address {}\n\
         \x20   port {SYNC_PORT}\n\
         \x20   key_file {}\n\
         \x20   conntrack_capacity 16384\n",
        sync_addr(r),
        sync_addr(r.other()),
        key_file.display()
    );
    if lease_file {
        b += &format!(
            "    lease_file {}\n    lease_capacity 1024\n",
            lease_path(topo, r).display()
        );
    }
    let s = script_path(topo, r);
    b += &format!(
        "    dhcp_master_command \"{0} master\"\n    dhcp_backup_command \"{0} backup\"\n}}\n",
        s.display()
    );
    b
}

fn write_exec(path: &Path, text: &str) -> io::Result<()> {
    fs::write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

/// Writes `rN-dhcp.sh` for both routers and the clients' `udhcpc.sh`.
pub fn write_scripts(topo: &Topology) -> io::Result<()> {
    for r in RouterId::BOTH {
        let n = r.name();
        let dir = topo.dir().display().to_string();
        let text = format!(
            r#"#!/bin/sh
# Tandem's dhcp_master_command / dhcp_backup_command on {n} (test lab):
# master: (re)start dnsmasq, which reads its lease file only at start-up;
# backup: stop it.
D={dir}
PID=$D/{n}-dnsmasq.pid
LOG=$D/{n}-dhcp-cmds.log
exec 9>"$D/{n}-dhcp.lock"
flock 9
echo "$(date +%s.%N) $1 begin" >>"$LOG"
stop() {{
    [ -s "$PID" ] || return 0
    p=$(cat "$PID")
    # A stale pid file (dnsmasq killed with the router) may name another process
    # by now: only this router's dnsmasq is stopped.
    if ! tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "--pid-file=$PID"; then
        rm -f "$PID"
        return 0
    fi
    kill "$p" 2>/dev/null
    # Until it is gone or a zombie (its parent, init, may reap it late).
    i=0
    while [ $i -lt 150 ]; do
        st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
        [ -z "$st" ] || [ "$st" = Z ] && break
        sleep 0.02
        i=$((i+1))
    done
    kill -9 "$p" 2>/dev/null
    rm -f "$PID"
}}
case "$1" in
master)
    stop
    dnsmasq --conf-file=/dev/null --port=0 --user=root --interface={LAN_IF} \
        --dhcp-range={RANGE_FIRST},{RANGE_LAST},255.255.255.0,1h \
        --dhcp-authoritative --no-ping --dhcp-option=option:router,{LAN_VIP} \
        --dhcp-leasefile=$D/{n}.leases --pid-file="$PID" \
        --log-facility=$D/{n}-dnsmasq.log --log-dhcp >>"$LOG" 2>&1 9>&-
    rc=$?
    ;;
backup)
    stop
    rc=0
    ;;
*)
    rc=2
    ;;
esac
echo "$(date +%s.%N) $1 end rc=$rc" >>"$LOG"
exit $rc
"#
        );
        write_exec(&script_path(topo, r), &text)?;
    }
    write_exec(
        &topo.dir().join("udhcpc.sh"),
        r#"#!/bin/sh
# busybox udhcpc event script (test lab): applies the address, logs the event.
echo "$(date +%s.%N) $1 ip=${ip:-} server=${serverid:-} lease=${lease:-}" >>"$TL_EVENTS"
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ;;
esac
exit 0
"#,
    )
}

/// PID of router `r`'s dnsmasq if it runs (pid file, and a live dnsmasq process
/// with that pid file on its command line: a stale pid may name another process).
pub fn dnsmasq_pid(topo: &Topology, r: RouterId) -> Option<i32> {
    let path = pid_path(topo, r);
    let pid: i32 = fs::read_to_string(&path).ok()?.trim().parse().ok()?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let ours = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .any(|a| a == format!("--pid-file={}", path.display()));
    let alive = ours
        && stat.contains("(dnsmasq)")
        && stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..i + 3))
            .is_some_and(|s| s != "Z" && s != "X");
    alive.then_some(pid)
}

/// SIGKILLs router `r`'s dnsmasq (a crash of the router takes it down too).
pub fn kill_dnsmasq(topo: &Topology, r: RouterId) {
    if let Some(pid) = dnsmasq_pid(topo, r) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGSTOP);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let _ = fs::remove_file(pid_path(topo, r));
}

/// Runs router `r`'s DHCP script with `arg` (`master` / `backup`) in its namespace,
/// as a keepalived notify script would.
pub fn run_script(topo: &Topology, r: RouterId, arg: &str) -> io::Result<()> {
    netns::exec(
        &topo.router_ns(r),
        &script_path(topo, r).to_string_lossy(),
        &[arg],
    )
    .map(|_| ())
}

// ---------------------------------------------------------------- lease files

/// One IPv4 line of a dnsmasq lease file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseLine {
    /// Expiry (seconds since 1970; 0: infinite).
    pub expiry: u64,
    /// Hardware address as written.
    pub mac: String,
    /// The leased address.
    pub ip: Ipv4Addr,
    /// Host name (`*`: none).
    pub host: String,
    /// 1-based line number.
    pub line: usize,
}

/// A lease file read by the test's own minimal reader (an oracle independent of
/// `protocol::lease`): IPv4 lines `expiry mac ip host client-id`; the `duid` line
/// and IPv6 lines are skipped, anything else is a bad line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseFile {
    /// The IPv4 leases in file order.
    pub leases: Vec<LeaseLine>,
    /// Line numbers of lines that are not leases.
    pub bad: Vec<usize>,
}

impl LeaseFile {
    /// Parses a file's text.
    pub fn parse(text: &str) -> LeaseFile {
        let mut f = LeaseFile::default();
        for (i, l) in text.lines().enumerate() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.is_empty() || w[0] == "duid" {
                continue;
            }
            let lease = (w.len() == 5)
                .then(|| {
                    Some(LeaseLine {
                        expiry: w[0].parse().ok()?,
                        mac: w[1].to_ascii_lowercase(),
                        ip: w[2].parse().ok()?,
                        host: w[3].to_string(),
                        line: i + 1,
                    })
                })
                .flatten();
            match lease {
                Some(x) => f.leases.push(x),
                // IPv6 lines: `expiry iaid ipv6 host duid`.
                None if w.len() == 5 && w[2].contains(':') => {}
                None => f.bad.push(i + 1),
            }
        }
        f
    }

    /// Reads `path` (a missing file is empty).
    pub fn read(path: &Path) -> io::Result<LeaseFile> {
        match fs::read_to_string(path) {
            Ok(t) => Ok(LeaseFile::parse(&t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LeaseFile::default()),
            Err(e) => Err(e),
        }
    }

    /// The lease of hardware address `mac`, if any.
    pub fn of_mac(&self, mac: &str) -> Option<&LeaseLine> {
        self.leases.iter().find(|l| l.mac == mac)
    }

    /// Addresses leased to more than one hardware address, and hardware addresses
    /// with more than one lease.
    pub fn duplicates(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, a) in self.leases.iter().enumerate() {
            for b in &self.leases[i + 1..] {
                if a.ip == b.ip {
                    out.push(format!("{} leased to {} and {}", a.ip, a.mac, b.mac));
                }
                if a.mac == b.mac {
                    out.push(format!("{} holds {} and {}", a.mac, a.ip, b.ip));
                }
            }
        }
        out
    }
}

/// Rewrites `path` in place as dnsmasq does (no rename: dnsmasq keeps the file
/// open): write from the start, then truncate to the new length.
pub fn rewrite_in_place(path: &Path, text: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.rewind()?;
    f.write_all(text.as_bytes())?;
    f.set_len(text.len() as u64)?;
    f.sync_all()
}

/// The lease count of a `tandem status --json` document: the first of
/// `leases.{entries,count,len}`, `lease_sync.{entries,count}`, or in the sync object
/// (`conntrack_sync` / `sync`) `leases.{entries,count}`, `leases` (a number),
/// `lease_entries`.
pub fn status_lease_count(doc: &Json) -> Result<u64, String> {
    let at = |path: &str| {
        let mut v = doc;
        for k in path.split('.') {
            v = v.get(k)?;
        }
        v.as_u64()
    };
    let mut paths = vec![
        "leases.entries".to_string(),
        "leases.count".into(),
        "leases.len".into(),
        "lease_sync.entries".into(),
        "lease_sync.count".into(),
        "leases".into(),
    ];
    for s in ["conntrack_sync", "sync", "ctsync"] {
        for k in ["leases.entries", "leases.count", "leases", "lease_entries"] {
            paths.push(format!("{s}.{k}"));
        }
    }
    paths.iter().find_map(|p| at(p)).ok_or_else(|| {
        let keys: Vec<&String> = doc
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        format!("`tandem status --json` reports no lease count (looked for {paths:?}; top-level keys: {keys:?})")
    })
}

// ---------------------------------------------------------------- clients

/// What udhcpc told its script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEvent {
    /// `bound`, `renew`, `nak`, `deconfig`, `leasefail`.
    pub kind: String,
    /// The address (for `bound` / `renew`).
    pub ip: Option<Ipv4Addr>,
    /// The server identifier of the answer.
    pub server: Option<Ipv4Addr>,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(ip) = self.ip {
            write!(f, " {ip}")?;
        }
        if let Some(s) = self.server {
            write!(f, " from {s}")?;
        }
        Ok(())
    }
}

/// A DHCP client: namespace `<prefix>-cNN` with `eth0` (MAC [`client_mac`]) on
/// the LAN bridge, and busybox udhcpc in it. Drop kills udhcpc and deletes the
/// namespace.
pub struct Client {
    name: String,
    mac: String,
    events: PathBuf,
    log: PathBuf,
    script: PathBuf,
    child: Option<Child>,
    // Dropped after the child is killed.
    ns: Netns,
}

/// The MAC of client `index`: `02:7c:` and four octets scattered by a fixed hash
/// of the index. dnsmasq picks a new client's address from a hash of its MAC:
/// MACs that differ only in the last octet get consecutive addresses, so a
/// server that lost its leases would hand newcomers exactly the free addresses
/// and nothing could collide; scattered MACs make the collisions of a server
/// without the leases as likely as in real life (and the same in every run).
pub fn client_mac(index: usize) -> String {
    // splitmix64
    let mut z = (index as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let b = z.to_be_bytes();
    format!("02:7c:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

impl Client {
    /// Creates client `index` of `topo` (namespace, veth into `br-lan`); starts
    /// nothing.
    pub fn create(topo: &Topology, index: usize) -> io::Result<Client> {
        let name = format!("c{index:02}");
        let ns = Netns::create(&format!("{}-{name}", topo.prefix()))?;
        let mac = client_mac(index);
        let port = format!("{name}-lan");
        let sw = topo.sw();
        ip(
            ns.name(),
            &[
                "link", "add", "eth0", "address", &mac, "type", "veth", "peer", "name", &port,
                "netns", &sw,
            ],
        )?;
        ip(&sw, &["link", "set", &port, "master", "br-lan"])?;
        ip(&sw, &["link", "set", &port, "up"])?;
        ip(ns.name(), &["link", "set", "eth0", "up"])?;
        let events = topo.dir().join(format!("{name}.events"));
        let _ = fs::remove_file(&events);
        Ok(Client {
            log: topo.dir().join(format!("{name}-udhcpc.log")),
            script: topo.dir().join("udhcpc.sh"),
            name,
            mac,
            events,
            child: None,
            ns,
        })
    }

    /// The client's name (`c07`), also its DHCP host name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its MAC (lower case, as dnsmasq writes it).
    pub fn mac(&self) -> &str {
        &self.mac
    }

    /// Its namespace.
    pub fn ns(&self) -> &str {
        self.ns.name()
    }

    /// Starts udhcpc (foreground, broadcast replies, 1 s between packets, retrying
    /// every second without end).
    pub fn start(&mut self) -> io::Result<()> {
        self.stop();
        let out = fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", self.ns.name(), "udhcpc", "-f", "-B"])
            .args(["-i", "eth0", "-T", "1", "-t", "5", "-A", "1"])
            .arg("-s")
            .arg(&self.script)
            .arg("-x")
            .arg(format!("hostname:{}", self.name))
            .env("TL_EVENTS", &self.events)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills udhcpc (SIGKILL: no release is sent).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Forces a renewal (SIGUSR1 to udhcpc): a unicast REQUEST to the server that
    /// gave the lease, then, without an answer, a broadcast one (rebinding).
    pub fn renew(&mut self) -> io::Result<()> {
        let c = self
            .child
            .as_mut()
            .ok_or_else(|| io::Error::other("udhcpc not running"))?;
        if c.try_wait()?.is_some() {
            return Err(io::Error::other(format!("{}: udhcpc exited", self.name)));
        }
        // SAFETY: kill(2) has no memory-safety preconditions.
        if unsafe { libc::kill(c.id() as i32, libc::SIGUSR1) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<ClientEvent> {
        let text = fs::read_to_string(&self.events).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace().skip(1);
                let kind = w.next()?.to_string();
                let mut ev = ClientEvent {
                    kind,
                    ip: None,
                    server: None,
                };
                for kv in w {
                    if let Some(v) = kv.strip_prefix("ip=") {
                        ev.ip = v.parse().ok();
                    } else if let Some(v) = kv.strip_prefix("server=") {
                        ev.server = v.parse().ok();
                    }
                }
                Some(ev)
            })
            .collect()
    }

    /// The last `bound` or `renew` event's address, unless a `nak` or `deconfig`
    /// came after it.
    pub fn leased(&self) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
        let ev = self.events();
        let last = ev
            .iter()
            .rev()
            .find(|e| matches!(e.kind.as_str(), "bound" | "renew" | "nak" | "deconfig"))?;
        match last.kind.as_str() {
            "bound" | "renew" => last.ip.map(|ip| (ip, last.server)),
            _ => None,
        }
    }

    /// The IPv4 addresses on `eth0`.
    pub fn addresses(&self) -> io::Result<Vec<Ipv4Addr>> {
        let out = ip(self.ns.name(), &["-4", "-o", "addr", "show", "dev", "eth0"])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let i = w.iter().position(|x| *x == "inet")?;
                w.get(i + 1)?.split('/').next()?.parse().ok()
            })
            .collect())
    }

    /// The udhcpc log (its own messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates clients `first..first + n` and starts udhcpc in each, one after the
/// other: each is bound (within `bound`) before the next starts. (Started at the
/// same instant, clients whose MACs hash near each other are offered the same free
/// address — dnsmasq reserves nothing for an offer — and all but one are NAKed
/// and retry seconds later: slow, and not what the tests are about.)
pub fn start_clients(
    topo: &Topology,
    first: usize,
    n: usize,
    bound: Duration,
) -> Result<Vec<Client>, String> {
    let mut v = Vec::with_capacity(n);
    for i in first..first + n {
        v.push(Client::create(topo, i).map_err(|e| format!("create client {i}: {e}"))?);
    }
    for i in 0..v.len() {
        v[i].start().map_err(|e| format!("start udhcpc: {e}"))?;
        wait_bound(&v[i..=i], bound)?;
    }
    Ok(v)
}

/// Polls until every client holds a lease (a `bound`/`renew` event and the address
/// on `eth0`), within `bound`; on timeout names the clients without one.
pub fn wait_bound(clients: &[Client], bound: Duration) -> Result<Duration, String> {
    let t = Instant::now();
    crate::wait::poll_until(t, bound, Duration::from_millis(20), || {
        clients.iter().all(|c| {
            c.leased()
                .is_some_and(|(ip, _)| c.addresses().is_ok_and(|a| a.contains(&ip)))
        })
    })
    .map_err(|e| {
        let missing: Vec<String> = clients
            .iter()
            .filter(|c| c.leased().is_none())
            .map(|c| {
                format!(
                    "{} ({:?}; udhcpc: {})",
                    c.name(),
                    c.events().iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                    c.log().lines().last().unwrap_or("")
                )
            })
            .collect();
        format!(
            "{e}: {} of {} clients without a lease: {missing:?}",
            missing.len(),
            clients.len()
        )
    })
}

// ---------------------------------------------------------------- the lab

/// Two tandem routers with conntrack and lease sync, dnsmasq run by the DHCP
/// commands, and the clients the test adds.
pub struct DhcpLab {
    // Field order: the lab (daemons, namespaces) drops after nothing else needs it;
    // dnsmasq dies with the router namespaces.
    oracle: Option<LeaseOracle>,
    lab: CtLab,
    lease_file: [bool; 2],
}

impl DhcpLab {
    /// The lab `prefix` (VRRPv3 0.1 s; r1 priority 150, r2 100; the seed's
    /// nopreempt and sync group); `lease_file`: whether the routers' `tandem_sync`
    /// blocks carry `lease_file` (false: the negative controls). Starts nothing.
    pub fn new(prefix: &str, lease_file: bool) -> io::Result<DhcpLab> {
        let confs = [
            VrrpConf::v3_fast().priority(150),
            VrrpConf::v3_fast().priority(100),
        ];
        let lab = CtLab::new(prefix, confs, true)?;
        write_scripts(lab.topo())?;
        let mut l = DhcpLab {
            lab,
            lease_file: [lease_file; 2],
            oracle: None,
        };
        for r in RouterId::BOTH {
            l.set_lease_file(r, lease_file);
        }
        Ok(l)
    }

    /// Whether router `r`'s next start has `lease_file` in its configuration.
    pub fn set_lease_file(&mut self, r: RouterId, on: bool) {
        self.lease_file[r.index()] = on;
        let key = self.lab.key_path();
        let block = lease_sync_block(self.lab.topo(), r, &key, on);
        self.lab.pair_mut().set_extra_conf(r, &block);
    }

    /// Starts the [`LeaseOracle`] (the harness does what lease sync should do; for
    /// the lab's positive control). With the oracle, [`DhcpLab::wait_leases`] reads
    /// only the lease files (the daemons have no lease table).
    pub fn start_oracle(&mut self) {
        self.oracle = Some(LeaseOracle::start(self.lab.topo()));
    }

    /// Whether the oracle runs.
    pub fn has_oracle(&self) -> bool {
        self.oracle.is_some()
    }

    /// Whether router `r` runs (or will run) with `lease_file`.
    pub fn lease_file_enabled(&self, r: RouterId) -> bool {
        self.lease_file[r.index()]
    }

    /// The conntrack-sync lab underneath.
    pub fn ct(&mut self) -> &mut CtLab {
        &mut self.lab
    }

    /// The conntrack-sync lab underneath, shared.
    pub fn ct_ref(&self) -> &CtLab {
        &self.lab
    }

    /// The topology.
    pub fn topo(&self) -> &Topology {
        self.lab.topo()
    }

    /// Router `r`'s lease file, read.
    pub fn leases(&self, r: RouterId) -> io::Result<LeaseFile> {
        LeaseFile::read(&lease_path(self.topo(), r))
    }

    /// Router `r`'s lease count from `tandem status --json`.
    pub fn status_leases(&mut self, r: RouterId) -> Result<u64, String> {
        let st = self
            .lab
            .pair_mut()
            .daemon(r)
            .status()
            .map_err(|e| e.to_string())?;
        status_lease_count(&st.raw)
    }

    /// A number of router `r`'s `tandem status --json` at a dotted path (e.g.
    /// `sync.leases.bad_lines`).
    pub fn status_num(&mut self, r: RouterId, path: &str) -> Result<u64, String> {
        let st = self
            .lab
            .pair_mut()
            .daemon(r)
            .status()
            .map_err(|e| e.to_string())?;
        let mut v = &st.raw;
        for k in path.split('.') {
            v = v
                .get(k)
                .ok_or_else(|| format!("`tandem status --json` has no {path}"))?;
        }
        v.as_u64()
            .ok_or_else(|| format!("{path} is not a number: {v:?}"))
    }

    /// Router `r`'s dnsmasq PID if it runs.
    pub fn dnsmasq(&self, r: RouterId) -> Option<i32> {
        dnsmasq_pid(self.topo(), r)
    }

    /// Polls until router `r`'s dnsmasq runs (or, `running == false`, does not),
    /// within `bound`.
    pub fn wait_dnsmasq(
        &self,
        r: RouterId,
        running: bool,
        bound: Duration,
    ) -> Result<Duration, String> {
        crate::wait::poll_until(Instant::now(), bound, Duration::from_millis(20), || {
            self.dnsmasq(r).is_some() == running
        })
        .map_err(|e| {
            format!(
                "{}'s dnsmasq should {}run: {e}; DHCP command calls:\n{}",
                r.name(),
                if running { "" } else { "not " },
                fs::read_to_string(cmds_log_path(self.topo(), r)).unwrap_or_default()
            )
        })
    }

    /// The log of router `r`'s DHCP command calls.
    pub fn cmds_log(&self, r: RouterId) -> String {
        fs::read_to_string(cmds_log_path(self.topo(), r)).unwrap_or_default()
    }

    /// Router `r`'s dnsmasq log.
    pub fn dnsmasq_log(&self, r: RouterId) -> String {
        fs::read_to_string(dnsmasq_log_path(self.topo(), r)).unwrap_or_default()
    }

    /// A crash of router `r`: its tandem SIGSTOPped and SIGKILLed (see
    /// [`crate::Daemon::crash`]) and its dnsmasq SIGKILLed with it (the box went
    /// down; its links stay up). Returns the instant of the crash.
    pub fn crash(&mut self, r: RouterId) -> Instant {
        let t = self.lab.pair_mut().daemon(r).crash();
        kill_dnsmasq(self.topo(), r);
        t
    }

    /// Polls until router `r`'s lease file and its status both hold `want(file)`
    /// and a count `n`, within `bound` from `since`. Returns the elapsed time or what
    /// was seen last.
    pub fn wait_leases(
        &mut self,
        r: RouterId,
        since: Instant,
        bound: Duration,
        mut want: impl FnMut(&LeaseFile) -> bool,
        n: u64,
    ) -> Result<Duration, String> {
        let mut last = String::new();
        let path = lease_path(self.topo(), r);
        crate::wait::poll_until(since, bound, Duration::from_millis(10), || {
            let f = LeaseFile::read(&path).unwrap_or_default();
            let file_ok = want(&f);
            let st = if self.oracle.is_some() {
                Ok(n)
            } else {
                self.status_leases(r)
            };
            last = format!(
                "file {} leases (bad lines {:?}), status {st:?}",
                f.leases.len(),
                f.bad
            );
            file_ok && st == Ok(n)
        })
        .map_err(|e| format!("{}: {e}; last seen: {last}", r.name()))
    }
}

// ---------------------------------------------------------------- the oracle

/// What lease sync should do, done by the harness (a lab check that the scenario
/// can pass, like `ctsync`'s oracle commit): every 50 ms it asks both daemons for
/// their role (`tandem status --json`, all instances MASTER or BACKUP); the
/// master's lease file is copied to the backup (temp file + rename) whenever they
/// differ; a router that becomes master gets its `master` script, one that becomes
/// backup its `backup` script. Stops on drop.
pub struct LeaseOracle {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn oracle_role(topo_dir: &Path, r: RouterId) -> Option<crate::Role> {
    let out = Command::new(crate::tandem_bin())
        .arg("status")
        .arg("--control")
        .arg(topo_dir.join(format!("{}.sock", r.name())))
        .arg("--json")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let st = crate::Status::parse(&String::from_utf8_lossy(&out.stdout)).ok()?;
    [crate::Role::Master, crate::Role::Backup]
        .into_iter()
        .find(|role| st.all(role))
}

impl LeaseOracle {
    fn start(topo: &Topology) -> LeaseOracle {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let dir = topo.dir().to_path_buf();
        let ns = [topo.router_ns(RouterId::R1), topo.router_ns(RouterId::R2)];
        let thread = std::thread::spawn(move || {
            let mut roles: [Option<crate::Role>; 2] = [None, None];
            while !flag.load(Ordering::Relaxed) {
                let now = [
                    oracle_role(&dir, RouterId::R1),
                    oracle_role(&dir, RouterId::R2),
                ];
                let master = RouterId::BOTH
                    .into_iter()
                    .find(|r| now[r.index()] == Some(crate::Role::Master));
                if let Some(m) = master {
                    let b = m.other();
                    let from = dir.join(format!("{}.leases", m.name()));
                    let to = dir.join(format!("{}.leases", b.name()));
                    if let Ok(text) = fs::read(&from) {
                        if fs::read(&to).ok().as_ref() != Some(&text) {
                            let tmp = dir.join(format!("{}.leases.oracle", b.name()));
                            if fs::write(&tmp, &text).is_ok() {
                                let _ = fs::rename(&tmp, &to);
                            }
                        }
                    }
                }
                for r in RouterId::BOTH {
                    let i = r.index();
                    if now[i].is_some() && now[i] != roles[i] {
                        let arg = if now[i] == Some(crate::Role::Master) {
                            "master"
                        } else {
                            "backup"
                        };
                        let script = dir.join(format!("{}-dhcp.sh", r.name()));
                        let _ = netns::exec(&ns[i], &script.to_string_lossy(), &[arg]);
                    }
                    if now[i].is_some() {
                        roles[i] = now[i].clone();
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        LeaseOracle {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LeaseOracle {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------- timing leases

/// First sighting of each lease (MAC, address), per watched file.
type Sightings =
    std::sync::Arc<std::sync::Mutex<Vec<std::collections::HashMap<(String, Ipv4Addr), Instant>>>>;

/// When each lease first appeared in each of some lease files: a thread reads them
/// every 10 ms. For the propagation time of every single lease (the moment the
/// master's dnsmasq wrote it to the moment the backup's file held it).
pub struct LeaseWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: Sightings,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LeaseWatch {
    /// Starts watching `files`.
    pub fn start(files: Vec<PathBuf>) -> LeaseWatch {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![
            std::collections::HashMap::new();
            files.len()
        ]));
        let (flag, out) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                for (i, f) in files.iter().enumerate() {
                    let t = Instant::now();
                    let Ok(lf) = LeaseFile::read(f) else { continue };
                    let mut m = out.lock().unwrap_or_else(|e| e.into_inner());
                    for l in lf.leases {
                        m[i].entry((l.mac, l.ip)).or_insert(t);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        LeaseWatch {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// When the lease (`mac`, `ip`) first appeared in file `i`.
    pub fn seen(&self, i: usize, mac: &str, ip: Ipv4Addr) -> Option<Instant> {
        let m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        m.get(i)?.get(&(mac.to_string(), ip)).copied()
    }
}

impl Drop for LeaseWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
