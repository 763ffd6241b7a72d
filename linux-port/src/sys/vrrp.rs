//! Raw VRRP sockets (IP protocol 112), one per (interface, family).
//!
//! IPv4: the kernel hands us the IP header on receive, so the TTL and the
//! destination are read from it; we send with an `IP_PKTINFO` control
//! message that fixes the outgoing interface and the source address (the
//! interface's primary address or `unicast_src_ip`, never a VIP).
//! TTL 255 for multicast and unicast, multicast loop off, 224.0.0.18 joined
//! on the interface with `ip_mreqn`.
//!
//! IPv6: no header on receive, so `IPV6_RECVHOPLIMIT` + `IPV6_RECVPKTINFO`
//! give the hop limit and the destination (needed for the pseudo-header
//! checksum, which we compute and check ourselves); we send with
//! `IPV6_PKTINFO` (source = the interface's link-local address), hop limit
//! 255, ff02::12 joined on the interface.

use super::{ck_size, setsockopt_int, setsockopt_raw, socket, Errno, Fd};
use std::net::{Ipv4Addr, Ipv6Addr};

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: libc::c_int = 112;
/// VRRP's IPv4 multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP's IPv6 multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

pub(super) fn bind_to_device(fd: &Fd, name: &str) -> Result<(), Errno> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(Errno::INVALID_INPUT);
    }
    super::setsockopt_raw(fd, libc::SOL_SOCKET, libc::SO_BINDTODEVICE, bytes)
}

pub(super) fn v4_sockaddr(addr: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.octets()),
        },
        sin_zero: [0; 8],
    }
}

pub(super) fn v6_sockaddr(addr: Ipv6Addr, scope: u32) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: addr.octets(),
        },
        sin6_scope_id: scope,
    }
}

/// A raw IPv4 VRRP socket bound to one interface.
pub struct VrrpV4 {
    fd: Fd,
    ifindex: u32,
}

impl VrrpV4 {
    /// Opens the socket on interface `name` (index `ifindex`) and joins
    /// 224.0.0.18 there.
    pub fn open(name: &str, ifindex: u32) -> Result<Self, Errno> {
        const IP: libc::c_int = libc::IPPROTO_IP;
        let mreq = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes(GROUP_V4.octets()),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex as libc::c_int,
        };
        let fd = open_raw(
            libc::AF_INET,
            name,
            &[
                (IP, libc::IP_TTL, 255),
                (IP, libc::IP_MULTICAST_TTL, 255),
                (IP, libc::IP_MULTICAST_LOOP, 0),
            ],
            &[(IP, libc::IP_MULTICAST_IF), (IP, libc::IP_ADD_MEMBERSHIP)],
            pod_bytes(&mreq),
        )?;
        Ok(VrrpV4 { fd, ifindex })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Receives one datagram *including its IPv4 header* into `buf`. An
    /// error that [would block](Errno::would_block) when nothing is pending.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        ck_size(unsafe { super::raw::recv(self.fd.raw(), buf.as_mut_ptr().cast(), buf.len(), 0) })
    }

    /// Sends the VRRP message `payload` (no IP header) from `src` to `dst`
    /// out of this interface.
    pub fn send(&self, payload: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<(), Errno> {
        let sa = v4_sockaddr(dst);
        let info = libc::in_pktinfo {
            ipi_ifindex: self.ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from_ne_bytes(src.octets()),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        send_pktinfo(
            &self.fd,
            payload,
            &sa,
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &info,
        )
    }
}

/// One received IPv6 VRRP message.
#[derive(Clone, Copy, Debug)]
pub struct RecvV6 {
    /// Length of the VRRP message in the buffer.
    pub len: usize,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address (from `IPV6_PKTINFO`).
    pub dst: Option<Ipv6Addr>,
    /// Hop limit (from `IPV6_HOPLIMIT`).
    pub hop_limit: Option<u8>,
}

/// A raw IPv6 VRRP socket bound to one interface.
pub struct VrrpV6 {
    fd: Fd,
    ifindex: u32,
}

impl VrrpV6 {
    /// Opens the socket on interface `name` (index `ifindex`) and joins
    /// ff02::12 there.
    pub fn open(name: &str, ifindex: u32) -> Result<Self, Errno> {
        const IP6: libc::c_int = libc::IPPROTO_IPV6;
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: GROUP_V6.octets(),
            },
            ipv6mr_interface: ifindex as libc::c_uint,
        };
        let fd = open_raw(
            libc::AF_INET6,
            name,
            &[
                (IP6, libc::IPV6_UNICAST_HOPS, 255),
                (IP6, libc::IPV6_MULTICAST_HOPS, 255),
                (IP6, libc::IPV6_MULTICAST_LOOP, 0),
                (IP6, libc::IPV6_MULTICAST_IF, ifindex as libc::c_int),
                (IP6, libc::IPV6_RECVHOPLIMIT, 1),
                (IP6, libc::IPV6_RECVPKTINFO, 1),
            ],
            &[(IP6, libc::IPV6_ADD_MEMBERSHIP)],
            pod_bytes(&mreq),
        )?;
        Ok(VrrpV6 { fd, ifindex })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Receives one VRRP message (no IP header) into `buf`.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<RecvV6>, Errno> {
        let mut sa = v6_sockaddr(Ipv6Addr::UNSPECIFIED, 0);
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut cbuf = CmsgBuf([0; 128]);
        // SAFETY: msghdr is plain old data; zero is a valid start.
        let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_name = (&mut sa as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.0.len() as _;
        // The raw system call, not libc's `recvmsg`: musl's wrapper converts
        // 32-bit-time SCM timestamps (which we never ask for) and would link
        // that code in. `msg` is zeroed above, so on 64-bit targets the
        // padding next to its `int`-sized fields reads as the kernel's
        // `size_t` fields.
        // SAFETY: every pointer in `msg` refers to live, writable locals.
        let r = unsafe { libc::syscall(libc::SYS_recvmsg, self.fd.raw(), &mut msg, 0) };
        let r = ck_size(r as libc::ssize_t);
        let len = match r {
            Ok(n) => n,
            Err(e) if e.would_block() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = RecvV6 {
            len,
            src: Ipv6Addr::from(sa.sin6_addr.s6_addr),
            dst: None,
            hop_limit: None,
        };
        // SAFETY: the kernel filled `msg_controllen` bytes of `cbuf` with
        // well-formed cmsgs; CMSG_FIRSTHDR/NXTHDR stay within that length and
        // we read each payload unaligned with the size its type implies.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let data = libc::CMSG_DATA(c);
                if (*c).cmsg_level == libc::IPPROTO_IPV6 {
                    if (*c).cmsg_type == libc::IPV6_HOPLIMIT {
                        let h = core::ptr::read_unaligned(data.cast::<libc::c_int>());
                        out.hop_limit = Some(h.clamp(0, 255) as u8);
                    } else if (*c).cmsg_type == libc::IPV6_PKTINFO {
                        let p = core::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                        out.dst = Some(Ipv6Addr::from(p.ipi6_addr.s6_addr));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(Some(out))
    }

    /// Sends the VRRP message `payload` from `src` to `dst` out of this
    /// interface.
    pub fn send(&self, payload: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<(), Errno> {
        let sa = v6_sockaddr(dst, self.ifindex);
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex as _,
        };
        let (level, ty) = (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO);
        send_pktinfo(&self.fd, payload, &sa, level, ty, &info)
    }
}

/// A raw VRRP socket of `domain` bound to interface `name`, with the
/// integer options `opts` (level, name, value) set, then the options
/// `joins` (level, name) set to the membership request `mreq`.
fn open_raw(
    domain: libc::c_int,
    name: &str,
    opts: &[(libc::c_int, libc::c_int, libc::c_int)],
    joins: &[(libc::c_int, libc::c_int)],
    mreq: &[u8],
) -> Result<Fd, Errno> {
    let fd = socket(domain, libc::SOCK_RAW, IPPROTO_VRRP)?;
    bind_to_device(&fd, name)?;
    for &(level, opt, value) in opts {
        setsockopt_int(&fd, level, opt, value)?;
    }
    for &(level, opt) in joins {
        setsockopt_raw(&fd, level, opt, mreq)?;
    }
    Ok(fd)
}

/// The bytes of the plain-old-data value `v` (a socket option struct
/// with no padding: every byte is set).
fn pod_bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: `v` is a live `T` of `size_of::<T>()` initialised bytes,
    // borrowed for the slice's lifetime.
    unsafe { core::slice::from_raw_parts((v as *const T).cast::<u8>(), core::mem::size_of::<T>()) }
}

/// Sends `payload` to the socket address `sa` with one control message
/// (`level`, `ty`) carrying `info` (the packet-info struct fixing the
/// outgoing interface and source address).
fn send_pktinfo<A, I: Copy>(
    fd: &Fd,
    payload: &[u8],
    sa: &A,
    level: libc::c_int,
    ty: libc::c_int,
    info: &I,
) -> Result<(), Errno> {
    let size = core::mem::size_of::<I>();
    // SAFETY: `sa` and `info` are live values of their full size (the
    // sockaddr and pktinfo structs have no padding: every byte is set).
    let (sa, info) = unsafe {
        (
            core::slice::from_raw_parts((sa as *const A).cast::<u8>(), core::mem::size_of::<A>()),
            core::slice::from_raw_parts((info as *const I).cast::<u8>(), size),
        )
    };
    send_cmsg(fd, payload, sa, level, ty, info)
}

/// The non-generic part of [`send_pktinfo`].
fn send_cmsg(
    fd: &Fd,
    payload: &[u8],
    sa: &[u8],
    level: libc::c_int,
    ty: libc::c_int,
    info: &[u8],
) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut cbuf = CmsgBuf([0; 128]);
    // SAFETY: msghdr is plain old data; zero is a valid start.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_name = sa.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = sa.len() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(info.len() as u32) } as _;
    // SAFETY: the control buffer is 8-aligned and large enough for one
    // pktinfo cmsg (in6_pktinfo is 20 bytes: CMSG_SPACE 40 < 128), so
    // CMSG_FIRSTHDR is non-null and CMSG_DATA points inside `cbuf` with
    // room for `info`.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = level;
        (*c).cmsg_type = ty;
        (*c).cmsg_len = libc::CMSG_LEN(info.len() as u32) as _;
        core::ptr::copy_nonoverlapping(info.as_ptr(), libc::CMSG_DATA(c), info.len());
    }
    // SAFETY: every pointer in `msg` refers to data that outlives the call;
    // the kernel only reads the name, iovec and control data of a send.
    // The bare call: `msg` and the control buffer are zeroed first, so the
    // padding the C library's wrapper clears on 64-bit ABIs is clear.
    ck_size(unsafe {
        libc::syscall(
            libc::SYS_sendmsg,
            fd.raw() as libc::c_long,
            &msg as *const libc::msghdr,
            0 as libc::c_long,
        )
    } as libc::ssize_t)
    .map(drop)
}
