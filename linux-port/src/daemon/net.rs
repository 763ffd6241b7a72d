//! rtnetlink work of the daemon: requests with acks, link and address
//! dumps, and the interface table they fill.

use crate::sys::netlink::NetlinkSocket;
use crate::sys::vrrp::{VrrpV4, VrrpV6};
use crate::sys::Errno;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tandem_protocol::config::IfName;
use tandem_protocol::netlink::route::{self, AddressMessage, LinkMessage, Message};
use tandem_protocol::netlink::{Messages, NLM_F_MULTI};

/// Size of the netlink receive buffer.
pub const NL_BUF: usize = 64 * 1024;

/// An interface the configuration names (instance interface, tracked
/// interface, `dev` of a virtual address or route).
pub struct Iface {
    /// Name.
    pub name: IfName,
    /// Index, while it exists.
    pub ifindex: Option<u32>,
    /// IFF_UP and IFF_RUNNING.
    pub up: bool,
    /// Ethernet address.
    pub mac: Option<[u8; 6]>,
    /// First primary IPv4 address that is not a virtual address.
    pub primary4: Option<Ipv4Addr>,
    /// Link-local IPv6 address (non-tentative preferred).
    pub link_local: Option<Ipv6Addr>,
    /// Whether IPv4 / IPv6 VRRP sockets are needed on it.
    pub need_v4: bool,
    /// See `need_v4`.
    pub need_v6: bool,
    /// Raw IPv4 VRRP socket.
    pub v4: Option<VrrpV4>,
    /// Raw IPv6 VRRP socket.
    pub v6: Option<VrrpV6>,
    /// The ifindex the sockets were opened on.
    pub sock_ifindex: Option<u32>,
    /// Adverts received for a VRID no instance has.
    pub unknown_vrid: u64,
    /// Socket-open failure already logged.
    pub open_error_logged: bool,
    /// Rate limit of receive-error log lines.
    pub next_rx_log: tandem_core::time::Instant,
}

impl Iface {
    /// A not-yet-seen interface.
    pub fn new(name: IfName) -> Self {
        Iface {
            name,
            ifindex: None,
            up: false,
            mac: None,
            primary4: None,
            link_local: None,
            need_v4: false,
            need_v6: false,
            v4: None,
            v6: None,
            sock_ifindex: None,
            unknown_vrid: 0,
            open_error_logged: false,
            next_rx_log: tandem_core::time::Instant::ZERO,
        }
    }
}

/// What an exchange's reply handler returns: `Some(result)` ends it.
type Reply = Option<Result<(), Errno>>;

/// The request socket plus buffers.
pub struct Netlink {
    sock: NetlinkSocket,
    seq: u32,
    tx: [u8; 512],
    rx: Box<[u8]>,
}

/// errno values the daemon tolerates.
pub const EEXIST: i32 = libc::EEXIST;
/// See [`EEXIST`].
pub const ESRCH: i32 = libc::ESRCH;
/// See [`EEXIST`].
pub const ENOENT: i32 = libc::ENOENT;
/// See [`EEXIST`].
pub const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
/// See [`EEXIST`].
pub const ENODEV: i32 = libc::ENODEV;

impl Netlink {
    /// Opens the request socket.
    pub fn open() -> Result<Self, Errno> {
        Ok(Netlink {
            sock: NetlinkSocket::open(0)?,
            seq: 1,
            tx: [0; 512],
            rx: vec![0u8; NL_BUF].into_boxed_slice(),
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Sends the request built by `build(seq, buf) -> len` and waits for its
    /// ack. `Ok(0)` on success, `Ok(errno)` when the kernel refused.
    pub fn request(
        &mut self,
        build: impl FnOnce(u32, &mut [u8]) -> Result<usize, tandem_protocol::netlink::Error>,
    ) -> Result<i32, Errno> {
        let seq = self.next_seq();
        let len = build(seq, &mut self.tx);
        let mut errno = 0;
        self.exchange(seq, len, false, &mut |m, _| {
            if let Message::Error(e) = m {
                errno = e.errno;
                return Some(Ok(()));
            }
            None
        })
        .map(|()| errno)
    }

    /// Runs a dump (links or addresses) and hands every message to `f`.
    pub fn dump(
        &mut self,
        build: impl FnOnce(&mut [u8], u32) -> Result<usize, tandem_protocol::netlink::Error>,
        mut f: impl FnMut(&Message<'_>),
    ) -> Result<(), Errno> {
        let seq = self.next_seq();
        let len = build(&mut self.tx, seq);
        self.exchange(seq, len, true, &mut |m, multi| match m {
            Message::Done => Some(Ok(())),
            Message::Error(e) if !e.is_ack() => Some(Err(Errno(e.errno))),
            m => {
                f(m);
                (!multi).then_some(Ok(()))
            }
        })
    }

    /// Sends the `len` bytes built in `tx` (an error: the build failed),
    /// then hands every reply of sequence `seq` that parses to `on(message,
    /// multi-part)` until it returns the result. A reply that does not
    /// frame ends its datagram, or (`strict`) the exchange with an error.
    fn exchange(
        &mut self,
        seq: u32,
        len: Result<usize, tandem_protocol::netlink::Error>,
        strict: bool,
        on: &mut dyn FnMut(&Message<'_>, bool) -> Reply,
    ) -> Result<(), Errno> {
        let len = len.map_err(|_| Errno::INVALID_INPUT)?;
        self.sock.send(&self.tx[..len])?;
        loop {
            let n = match self.sock.recv(&mut self.rx) {
                Ok(n) => n,
                Err(e) if e.would_block() => return Err(Errno::TIMED_OUT),
                Err(e) => return Err(e),
            };
            for m in Messages::new(&self.rx[..n]) {
                let Ok(p) = m else {
                    if strict {
                        return Err(Errno::INVALID_DATA);
                    }
                    break;
                };
                if p.sequence_number() != seq {
                    continue;
                }
                if let Ok(m) = Message::parse(&p) {
                    if let Some(r) = on(&m, p.flags() & NLM_F_MULTI != 0) {
                        return r;
                    }
                }
            }
        }
    }

    /// Fills index, flags and MAC of every interface in `ifaces`.
    pub fn dump_links(&mut self, ifaces: &mut [Iface]) -> Result<(), Errno> {
        for i in ifaces.iter_mut() {
            i.ifindex = None;
            i.up = false;
        }
        self.dump(route::get_links, |m| {
            if let Message::NewLink(l) = m {
                apply_link(ifaces, l, false);
            }
        })
    }

    /// Fills the primary IPv4 and link-local IPv6 address of every
    /// interface, ignoring `exclude` (the virtual addresses).
    pub fn dump_addresses(
        &mut self,
        ifaces: &mut [Iface],
        exclude: &dyn Fn(&IpAddr) -> bool,
    ) -> Result<(), Errno> {
        for i in ifaces.iter_mut() {
            i.primary4 = None;
            i.link_local = None;
        }
        let mut ll_tentative = [false; 64];
        self.dump(
            |b, s| route::get_addresses(b, s, route::AF_UNSPEC),
            |m| {
                if let Message::NewAddress(a) = m {
                    apply_address(ifaces, a, exclude, &mut ll_tentative);
                }
            },
        )
    }
}

/// Updates the interface table from a link message; returns the index of
/// the interface concerned, if watched.
pub fn apply_link(ifaces: &mut [Iface], l: &LinkMessage<'_>, deleted: bool) -> Option<usize> {
    let pos = ifaces
        .iter()
        .position(|i| l.name.is_some_and(|n| n == i.name.as_str()))
        .or_else(|| ifaces.iter().position(|i| i.ifindex == Some(l.ifindex)))?;
    let i = &mut ifaces[pos];
    if deleted || l.name.is_some_and(|n| n != i.name.as_str()) {
        // Removed, or renamed away.
        if i.ifindex == Some(l.ifindex) {
            i.ifindex = None;
            i.up = false;
        }
        return Some(pos);
    }
    i.ifindex = Some(l.ifindex);
    i.up = l.is_up() && l.is_running();
    if let Some(m) = l.mac() {
        i.mac = Some(m);
    }
    Some(pos)
}

fn apply_address(
    ifaces: &mut [Iface],
    a: &AddressMessage<'_>,
    exclude: &dyn Fn(&IpAddr) -> bool,
    ll_tentative: &mut [bool; 64],
) {
    let Some(pos) = ifaces.iter().position(|i| i.ifindex == Some(a.ifindex)) else {
        return;
    };
    let Some(addr) = a.addr() else { return };
    if exclude(&addr) {
        return;
    }
    let i = &mut ifaces[pos];
    match addr {
        IpAddr::V4(v4) => {
            if i.primary4.is_none() && a.flags & route::IFA_F_SECONDARY == 0 {
                i.primary4 = Some(v4);
            }
        }
        IpAddr::V6(v6) => {
            if v6.segments()[0] & 0xffc0 != 0xfe80 {
                return;
            }
            let tentative = a.flags & (route::IFA_F_TENTATIVE | route::IFA_F_DADFAILED) != 0;
            let slot = ll_tentative.get_mut(pos);
            match (i.link_local, slot) {
                (None, Some(t)) => {
                    i.link_local = Some(v6);
                    *t = tentative;
                }
                (Some(_), Some(t)) if *t && !tentative => {
                    i.link_local = Some(v6);
                    *t = false;
                }
                (None, None) => i.link_local = Some(v6),
                _ => {}
            }
        }
    }
}
