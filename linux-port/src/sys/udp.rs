//! The UDP socket of the sync channel: bound to `local_address:port`,
//! optionally to the sync interface (`SO_BINDTODEVICE`), non-blocking.

use super::vrrp::{bind_to_device, v4_sockaddr, v6_sockaddr};
use super::{ck, ck_size, cvt_size, setsockopt_int, socket, Errno, Fd};
use std::io;
use std::net::IpAddr;

/// A bound UDP socket.
pub struct UdpSocket {
    fd: Fd,
    v6: bool,
}

/// The permission bits of the file at `path` (`stat`; `None` when it
/// cannot be stat'ed): for the warning about a sync key file others can
/// read.
pub fn file_mode(path: &[u8]) -> Option<u32> {
    let mut c = super::fs::CBuf::uninit();
    let c = super::fs::c_path(path, &mut c).ok()?;
    let st = super::fs::statx(libc::AT_FDCWD, c).ok()?;
    Some(u32::from(st.mode))
}

/// The MTU of interface `name` (`SIOCGIFMTU`).
pub fn interface_mtu(name: &str) -> Result<u32, Errno> {
    ifreq_int(name, libc::AF_INET, libc::SIOCGIFMTU as libc::c_ulong).map(|m| m.max(0) as u32)
}

/// The `int` an interface `ioctl` (`request`, on a socket of `domain`)
/// returns for interface `name`: its index or MTU. The bare system call
/// (the C library's `ioctl` brings conversions for other requests).
#[inline(never)]
fn ifreq_int(
    name: &str,
    domain: libc::c_int,
    request: libc::c_ulong,
) -> Result<libc::c_int, Errno> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
        return Err(Errno::INVALID_INPUT);
    }
    let fd = socket(domain, libc::SOCK_DGRAM, 0)?;
    // SAFETY: ifreq is plain old data; zero is a valid start.
    let mut req: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: the request reads the name and writes an int member of
    // `req`, which is valid for the call.
    ck(unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            fd.raw() as libc::c_long,
            request,
            &mut req as *mut libc::ifreq,
        )
    } as libc::c_int)?;
    // SAFETY: the kernel filled the int member (`ifru_mtu` and
    // `ifru_ifindex` share it).
    Ok(unsafe { req.ifr_ifru.ifru_mtu })
}

impl UdpSocket {
    /// Opens a socket bound to `local:port`, on `device` if given. The
    /// address may not be configured yet (`IP_FREEBIND`): OpenWrt may start
    /// Tandem before the sync link is up.
    pub fn open(local: IpAddr, port: u16, device: Option<&str>) -> Result<Self, Errno> {
        let v6 = local.is_ipv6();
        let fd = socket(
            if v6 { libc::AF_INET6 } else { libc::AF_INET },
            libc::SOCK_DGRAM,
            libc::IPPROTO_UDP,
        )?;
        if let Some(d) = device {
            bind_to_device(&fd, d)?;
        }
        let _ = setsockopt_int(&fd, libc::IPPROTO_IP, libc::IP_FREEBIND, 1);
        let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 1 << 20);
        let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20);
        if v6 {
            let _ = setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1);
        }
        // DSCP CS6 (network control), as routing protocols use.
        if v6 {
            let _ = setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, 0xc0);
        } else {
            let _ = setsockopt_int(&fd, libc::IPPROTO_IP, libc::IP_TOS, 0xc0);
        }
        let scope = match local {
            IpAddr::V6(a) if a.is_unicast_link_local() => device.map(if_index).unwrap_or(0),
            _ => 0,
        };
        let sa = SockAddr::new(local, port, scope);
        // SAFETY: `sa` holds a valid socket address of the length given.
        ck(unsafe { super::raw::bind(fd.raw(), sa.ptr(), sa.len) })?;
        Ok(UdpSocket { fd, v6 })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Sends `buf` to `dst:port` (`scope`: interface index for an IPv6
    /// link-local destination).
    pub fn send_to(&self, buf: &[u8], dst: IpAddr, port: u16, scope: u32) -> io::Result<()> {
        if dst.is_ipv6() != self.v6 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let scope = match dst {
            IpAddr::V6(a) if a.is_unicast_link_local() => scope,
            _ => 0,
        };
        let sa = SockAddr::new(dst, port, scope);
        // SAFETY: `buf` and `sa` are valid for the lengths given.
        let r = unsafe {
            super::raw::sendto(
                self.fd.raw(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                sa.ptr(),
                sa.len,
            )
        };
        cvt_size(r).map(drop)
    }

    /// Receives one datagram; its length and source address. `Ok(None)`
    /// when nothing is pending.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, IpAddr)>> {
        // SAFETY: sockaddr_storage is plain old data; zero is a valid start.
        let mut ss: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        let mut len = core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `buf` is writable for its length; `ss`/`len` are valid
        // out-pointers of the sizes given.
        let r = ck_size(unsafe {
            super::raw::recvfrom(
                self.fd.raw(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        });
        let n = match r {
            Ok(n) => n,
            Err(e) if e.would_block() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let src = match i32::from(ss.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in (family AF_INET).
                let sa =
                    unsafe { &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                IpAddr::V4(std::net::Ipv4Addr::from(sa.sin_addr.s_addr.to_ne_bytes()))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 (family AF_INET6).
                let sa = unsafe {
                    &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                IpAddr::V6(std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr))
            }
            _ => return Ok(Some((0, IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)))),
        };
        // MSG_TRUNC: a datagram longer than `buf` reports its real length;
        // cut it (the MAC check then fails and counts it).
        Ok(Some((n.min(buf.len()), src)))
    }
}

/// The index of interface `name`, 0 if unknown (`if_nametoindex(3)`).
pub fn if_index(name: &str) -> u32 {
    ifreq_int(name, libc::AF_UNIX, libc::SIOCGIFINDEX as libc::c_ulong).map_or(0, |i| i as u32)
}

/// An IPv4 or IPv6 socket address with its length (IPv4 in the first
/// bytes of the larger `sockaddr_in6`).
struct SockAddr {
    sa: libc::sockaddr_in6,
    len: libc::socklen_t,
}

impl SockAddr {
    /// `ip`:`port`; `scope` is the IPv6 scope id (ignored for IPv4).
    fn new(ip: IpAddr, port: u16, scope: u32) -> Self {
        match ip {
            IpAddr::V4(a) => {
                let mut v4 = v4_sockaddr(a);
                v4.sin_port = port.to_be();
                let mut sa = v6_sockaddr(std::net::Ipv6Addr::UNSPECIFIED, 0);
                // SAFETY: a sockaddr_in (16 bytes, 4-aligned) fits at the
                // start of a sockaddr_in6 (28 bytes, 4-aligned).
                unsafe {
                    core::ptr::write((&mut sa as *mut libc::sockaddr_in6).cast(), v4);
                }
                SockAddr {
                    sa,
                    len: core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                }
            }
            IpAddr::V6(a) => {
                let mut sa = v6_sockaddr(a, scope);
                sa.sin6_port = port.to_be();
                SockAddr {
                    sa,
                    len: core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                }
            }
        }
    }

    /// The address for `bind`/`sendto`.
    fn ptr(&self) -> *const libc::sockaddr {
        (&self.sa as *const libc::sockaddr_in6).cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_index_and_mtu() {
        // SAFETY: a NUL-terminated name; if_nametoindex only reads it.
        let want = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert!(want > 0);
        assert_eq!(if_index("lo"), want);
        assert_eq!(if_index("no-such-if0"), 0);
        assert_eq!(if_index(""), 0);
        assert_eq!(if_index("a-name-far-too-long"), 0);
        assert!(interface_mtu("lo").unwrap() >= 1280);
        assert!(interface_mtu("no-such-if0").is_err());
        assert!(interface_mtu("").is_err());
    }
}
