//! `NETLINK_NETFILTER` sockets for ctnetlink: requests (commit, dump) and
//! the conntrack event subscription. Messages are built and parsed by
//! `tandem_protocol::netlink::ct`.
//!
//! All sockets are non-blocking; [`CtSocket::wait`] blocks on one of them
//! for a bounded time (the synchronous commit waits for its acks).

use super::{cvt, cvt_size, setsockopt_int, socket, would_block, Fd};
use std::io;
use tandem_protocol::netlink::ct::{
    NF_NETLINK_CONNTRACK_DESTROY, NF_NETLINK_CONNTRACK_NEW, NF_NETLINK_CONNTRACK_UPDATE,
};

/// Legacy group bits of the new, update and destroy events.
pub const CT_EVENT_GROUPS: u32 =
    NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY;

/// `NETLINK_CAP_ACK` (linux/netlink.h): errors carry only the request's
/// header, not its payload.
const NETLINK_CAP_ACK: libc::c_int = 10;

/// A ctnetlink socket.
pub struct CtSocket {
    fd: Fd,
}

impl CtSocket {
    /// Opens a socket subscribed to `groups` (0 for requests and dumps),
    /// with a receive buffer of `rcvbuf` bytes (`SO_RCVBUFFORCE`, or
    /// `SO_RCVBUF` up to the system limit without `CAP_NET_ADMIN`).
    /// Returns the socket and the buffer size the kernel granted.
    pub fn open(groups: u32, rcvbuf: usize) -> io::Result<(Self, usize)> {
        let fd = socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW,
            tandem_protocol::netlink::NETLINK_NETFILTER,
        )?;
        let size = rcvbuf.min(i32::MAX as usize) as libc::c_int;
        if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
            let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size);
        }
        let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 1 << 20);
        let _ = setsockopt_int(&fd, libc::SOL_NETLINK, NETLINK_CAP_ACK, 1);
        super::netlink::bind(&fd, groups)?;
        let granted = getsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap_or(0);
        Ok((CtSocket { fd }, granted.max(0) as usize))
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Sends one datagram of netlink messages to the kernel. The kernel
    /// handles them before this returns (its answers are queued on the
    /// socket).
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain old data; zero = the kernel (pid 0).
        let mut sa: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: `msg` and `sa` are valid for the lengths given.
            let r = cvt_size(unsafe {
                super::raw::sendto(
                    self.fd.raw(),
                    msg.as_ptr().cast(),
                    msg.len(),
                    0,
                    (&sa as *const libc::sockaddr_nl).cast(),
                    core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            });
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r.map(drop),
            }
        }
    }

    /// Receives one datagram (possibly several messages). `Ok(None)` when
    /// nothing is pending. `ENOBUFS` means the kernel dropped messages
    /// (event overrun).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let r = cvt_size(unsafe {
            super::raw::recv(self.fd.raw(), buf.as_mut_ptr().cast(), buf.len(), 0)
        });
        match r {
            Ok(n) => Ok(Some(n)),
            Err(e) if would_block(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits up to `timeout_ms` for the socket to become readable; whether
    /// it did.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut p = [super::poll::PollFd::new(self.fd.raw(), libc::POLLIN)];
        let timeout = u64::try_from(timeout_ms)
            .ok()
            .map(tandem_core::time::Duration::from_millis);
        // A signal counts as "not readable", as before.
        Ok(super::poll::poll(&mut p, timeout)? > 0)
    }
}

fn getsockopt_int(fd: &Fd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid out-pointers of the sizes given.
    cvt(unsafe {
        super::raw::getsockopt(
            fd.raw(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}
