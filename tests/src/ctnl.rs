//! The kernel's connection-tracking table of a namespace, over ctnetlink
//! (`NETLINK_NETFILTER`) with `tandem_protocol::netlink::ct`: dump, bulk insert,
//! flush, and the entry count (`/proc/sys/net/netfilter/nf_conntrack_count`).
//!
//! Used by the conntrack-sync tests (compare a master's table with a backup's cache
//! or with the table a takeover committed) and by `bench-ctsync` (10 000 NAT'd
//! entries in a few tens of milliseconds, where `conntrack -I` would need a process
//! per entry).

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tandem_protocol::conntrack::{
    Entry, Manip, NatDelta, TcpInfo, TcpState, Tuple, IPS_ASSURED, IPS_SEEN_REPLY,
};
use tandem_protocol::netlink::ct::{self, DumpFamily, Message, NewMode};
use tandem_protocol::netlink::{Messages, NETLINK_NETFILTER};

use crate::netns;

/// A ctnetlink socket opened inside a namespace (the socket stays in that
/// namespace whichever thread uses it).
pub struct CtSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

fn cvt(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

impl CtSocket {
    /// Opens a `NETLINK_NETFILTER` socket in namespace `ns`.
    pub fn open(ns: &str) -> io::Result<CtSocket> {
        let fd = netns::in_netns(ns, || -> io::Result<OwnedFd> {
            // SAFETY: socket(2) with constant arguments; the result is checked.
            let fd = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    NETLINK_NETFILTER,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let size: libc::c_int = 8 << 20;
            // SAFETY: setsockopt with a pointer to a live c_int and its size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    (&size as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
            // SAFETY: a zeroed sockaddr_nl is valid (pid 0: the kernel assigns one).
            let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            // SAFETY: bind(2) with a pointer to a live sockaddr_nl and its size.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sa as *const libc::sockaddr_nl).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(fd)
        })??;
        Ok(CtSocket {
            fd,
            seq: 1,
            buf: vec![0; 1 << 17],
        })
    }

    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_nl = the kernel (pid 0).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: sendto(2) with a live buffer and address.
        let n = cvt(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&sa as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if n != bytes.len() {
            return Err(io::Error::other("short netlink send"));
        }
        Ok(())
    }

    fn recv(&mut self) -> io::Result<usize> {
        // SAFETY: recv(2) into our own buffer of its length.
        cvt(unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0,
            )
        })
    }

    /// Every entry of the table (IPv4 and IPv6).
    pub fn dump(&mut self) -> io::Result<Vec<Entry>> {
        let mut req = [0u8; 64];
        self.seq += 1;
        let seq = self.seq;
        let len = ct::dump_request(&mut req, seq, DumpFamily::Both)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.send(&req[..len])?;
        let mut out = Vec::new();
        loop {
            let n = self.recv()?;
            for m in Messages::new(&self.buf[..n]) {
                let p = m.map_err(|e| io::Error::other(e.to_string()))?;
                if p.sequence_number() != seq {
                    continue;
                }
                match Message::parse(&p).map_err(|e| io::Error::other(e.to_string()))? {
                    Message::Entry { entry, .. } => out.push(entry),
                    Message::Done => return Ok(out),
                    Message::Error(e) if e.errno != 0 => {
                        return Err(io::Error::from_raw_os_error(e.errno))
                    }
                    _ => {}
                }
            }
        }
    }

    /// Creates every entry (`NewMode::Create`, acknowledged), batching the requests
    /// into large `sendto`s; returns how many the kernel refused (with the first
    /// error).
    pub fn insert(&mut self, entries: &[Entry]) -> io::Result<(usize, Option<io::Error>)> {
        const BATCH: usize = 128;
        let mut failed = 0;
        let mut first_err = None;
        let mut req = vec![0u8; BATCH * ct::MAX_REQUEST_LEN];
        for chunk in entries.chunks(BATCH) {
            let mut len = 0;
            let first_seq = self.seq + 1;
            for e in chunk {
                self.seq += 1;
                let n = ct::new_request(&mut req[len..], self.seq, e, NewMode::Create, true)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                len += n;
            }
            self.send(&req[..len])?;
            let mut acked = 0;
            while acked < chunk.len() {
                let n = self.recv()?;
                for m in Messages::new(&self.buf[..n]) {
                    let p = m.map_err(|e| io::Error::other(e.to_string()))?;
                    if p.sequence_number() < first_seq || p.sequence_number() > self.seq {
                        continue;
                    }
                    if let Ok(Message::Error(e)) = Message::parse(&p) {
                        acked += 1;
                        if e.errno != 0 {
                            failed += 1;
                            first_err.get_or_insert(io::Error::from_raw_os_error(e.errno));
                        }
                    }
                }
            }
        }
        Ok((failed, first_err))
    }

    /// Deletes every entry of the table.
    pub fn flush(&mut self) -> io::Result<()> {
        let mut req = [0u8; 64];
        self.seq += 1;
        let seq = self.seq;
        let len = ct::flush_request(&mut req, seq, DumpFamily::Both, true)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.send(&req[..len])?;
        loop {
            let n = self.recv()?;
            for m in Messages::new(&self.buf[..n]) {
                let p = m.map_err(|e| io::Error::other(e.to_string()))?;
                if p.sequence_number() != seq {
                    continue;
                }
                if let Ok(Message::Error(e)) = Message::parse(&p) {
                    return if e.errno == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(e.errno))
                    };
                }
            }
        }
    }
}

/// Every entry of namespace `ns`'s table.
pub fn dump(ns: &str) -> io::Result<Vec<Entry>> {
    CtSocket::open(ns)?.dump()
}

/// The number of entries in namespace `ns`'s table (`nf_conntrack_count`).
pub fn count(ns: &str) -> io::Result<u64> {
    netns::in_netns(ns, || {
        fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
            .and_then(|s| s.trim().parse().map_err(io::Error::other))
    })?
}

/// Opens `nf_conntrack_count` of namespace `ns` once; [`Counter::read`] re-reads it
/// without entering the namespace again (for tight polling loops).
pub struct Counter(fs::File);

impl Counter {
    /// Opens the counter of namespace `ns`.
    pub fn open(ns: &str) -> io::Result<Counter> {
        netns::in_netns(ns, || {
            fs::File::open("/proc/sys/net/netfilter/nf_conntrack_count")
        })?
        .map(Counter)
    }

    /// The current count.
    pub fn read(&mut self) -> io::Result<u64> {
        use std::io::{Read, Seek};
        self.0.rewind()?;
        let mut s = String::new();
        self.0.read_to_string(&mut s)?;
        s.trim().parse().map_err(io::Error::other)
    }
}

/// `n` (at most 150 000) distinct NAT'd TCP/IPv4 entries as a masquerading router
/// holds them for established connections: client `10.9.8.(100 + i / 1000)`, source
/// port `p = 1024 + i % 64000`, to `server:(443 + i / 64000)`, source NAT to
/// `nat_addr` keeping the port (so that every reply tuple is distinct, as the kernel
/// requires); ESTABLISHED, `SEEN_REPLY|ASSURED`, timeout 3600 s. No packet is sent:
/// the addresses only appear in the table.
pub fn nat_tcp_entries(n: usize, server: Ipv4Addr, nat_addr: Ipv4Addr) -> Vec<Entry> {
    assert!(n <= 150_000, "at most 150 000 entries");
    (0..n)
        .map(|i| {
            let client = Ipv4Addr::new(10, 9, 8, 100 + (i / 1000) as u8);
            let port = 1024 + (i % 64000) as u16;
            let dport = 443 + (i / 64000) as u16;
            let orig = Tuple::tcp(IpAddr::V4(client), IpAddr::V4(server), port, dport);
            let delta = NatDelta {
                snat: Some(Manip {
                    addr: IpAddr::V4(nat_addr),
                    port,
                }),
                dnat: None,
            };
            let mut e = Entry::with_nat(orig, delta);
            e.status = IPS_SEEN_REPLY | IPS_ASSURED;
            e.timeout = 3600;
            e.tcp = Some(TcpInfo::new(TcpState::Established).liberal());
            e
        })
        .collect()
}

/// An entry as text for comparisons and messages: protocol, original tuple, reply
/// tuple (`tcp 10.9.8.10:40000>192.168.0.20:9000 | 192.168.0.20:9000>192.168.0.4:40000`).
pub fn describe(e: &Entry) -> String {
    let t = |t: &Tuple| format!("{}:{}>{}:{}", t.src, t.src_port, t.dst, t.dst_port);
    format!(
        "{} {} | {}",
        proto_name(e.orig.proto),
        t(&e.orig),
        t(&e.reply)
    )
}

/// `tcp`, `udp`, `icmp`, or `proto<N>`.
pub fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        1 => "icmp".to_string(),
        p => format!("proto{p}"),
    }
}
