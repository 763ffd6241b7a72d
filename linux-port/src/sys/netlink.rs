//! `NETLINK_ROUTE` sockets: requests (with acks) and event subscriptions.
//! Messages are built and parsed by `tandem_protocol::netlink`.

use super::{ck, ck_size, setsockopt_int, socket_as, Errno, Fd};

/// rtnetlink multicast group: link changes.
pub const RTMGRP_LINK: u32 = libc::RTMGRP_LINK as u32;
/// rtnetlink multicast group: IPv4 address changes.
pub const RTMGRP_IPV4_IFADDR: u32 = libc::RTMGRP_IPV4_IFADDR as u32;
/// rtnetlink multicast group: IPv6 address changes.
pub const RTMGRP_IPV6_IFADDR: u32 = libc::RTMGRP_IPV6_IFADDR as u32;

/// A `NETLINK_ROUTE` socket.
pub struct NetlinkSocket {
    fd: Fd,
}

impl NetlinkSocket {
    /// Opens a socket subscribed to `groups` (0 for a request socket).
    /// Request sockets block on receive (the kernel answers rtnetlink
    /// requests synchronously) with a 1 s safety timeout; event sockets
    /// are non-blocking.
    pub fn open(groups: u32) -> Result<Self, Errno> {
        // Request sockets block for the request/ack exchange.
        let ty = if groups == 0 {
            libc::SOCK_RAW
        } else {
            libc::SOCK_RAW | libc::SOCK_NONBLOCK
        };
        let fd = socket_as(libc::AF_NETLINK, ty, libc::NETLINK_ROUTE)?;
        bind(&fd, groups)?;
        if groups == 0 {
            let tv = libc::timeval {
                tv_sec: 1,
                tv_usec: 0,
            };
            super::setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        } else {
            // Large enough not to lose a burst of link events.
            let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20);
        }
        let _ = setsockopt_int(&fd, libc::SOL_NETLINK, libc::NETLINK_EXT_ACK, 1);
        Ok(NetlinkSocket { fd })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Sends one or more netlink messages to the kernel.
    pub fn send(&self, msg: &[u8]) -> Result<(), Errno> {
        // SAFETY: sockaddr_nl is plain old data; zero = the kernel (pid 0).
        let mut sa: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `msg` and `sa` are valid for the lengths given.
        ck_size(unsafe {
            super::raw::sendto(
                self.fd.raw(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&sa as *const libc::sockaddr_nl).cast(),
                core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Receives one datagram (possibly several messages). An error that
    /// [would block](Errno::would_block) when nothing is pending
    /// (non-blocking socket) or the timeout passed.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        ck_size(unsafe { super::raw::recv(self.fd.raw(), buf.as_mut_ptr().cast(), buf.len(), 0) })
    }
}

/// Binds a netlink socket to the kernel-assigned port id and the multicast
/// `groups` (0: none).
pub(crate) fn bind(fd: &Fd, groups: u32) -> Result<(), Errno> {
    // SAFETY: sockaddr_nl is plain old data; zero is a valid start.
    let mut sa: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = groups;
    // SAFETY: `sa` is a valid sockaddr_nl of the given size.
    ck(unsafe {
        super::raw::bind(
            fd.raw(),
            (&sa as *const libc::sockaddr_nl).cast(),
            core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    })
    .map(drop)
}
