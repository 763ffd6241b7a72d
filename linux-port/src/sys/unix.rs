//! `AF_UNIX` stream sockets for the control socket, and the `mkdir(2)` /
//! `unlink(2)` around it: std's `UnixListener` / `UnixStream` /
//! `fs::create_dir` / `fs::remove_file` without their `Path`,
//! `SocketAddr` and `io::Error` code. Errors are the bare [`Errno`].

use super::fs::{c_path, CBuf};
use super::{ck, ck_size, setsockopt, Errno, Fd};

/// Longest socket path (bytes, without the terminating NUL): one less
/// than `sun_path`, as std's `UnixListener::bind` accepts.
pub const MAX_PATH: usize = 107;

/// `mkdir(path, 0777)` (the umask applies), like `fs::create_dir`.
pub fn mkdir(path: &[u8]) -> Result<(), Errno> {
    let mut b = CBuf::uninit();
    let c = c_path(path, &mut b)?;
    // SAFETY: `c` is NUL-terminated and lives for the call.
    ck(unsafe { super::raw::mkdir(c, 0o777) }).map(drop)
}

/// `unlink(path)`, like `fs::remove_file`.
pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    let mut b = CBuf::uninit();
    let c = c_path(path, &mut b)?;
    // SAFETY: `c` is NUL-terminated and lives for the call.
    ck(unsafe { super::raw::unlink(c) }).map(drop)
}

/// A stream socket (blocking unless `nonblock`) and `connect(2)` (`true`)
/// or `bind(2)` + `listen(2)` (`false`) on `path` (longer than
/// [`MAX_PATH`]: `ENAMETOOLONG`).
fn open(path: &[u8], connect: bool) -> Result<Fd, Errno> {
    let nonblock = if connect { 0 } else { libc::SOCK_NONBLOCK };
    // SAFETY: plain syscall with integer arguments; on success we own the fd.
    let fd = Fd::from_raw(ck(unsafe {
        super::raw::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | nonblock,
            0,
        )
    })?);
    attach(fd.raw(), path, connect)?;
    Ok(fd)
}

/// `connect(2)` (`true`) or `bind(2)` + `listen(2)` (`false`) of the socket
/// `fd` on the `AF_UNIX` address `path` (longer than [`MAX_PATH`]:
/// `ENAMETOOLONG`; with a NUL: `EINVAL`).
pub(super) fn attach(fd: libc::c_int, path: &[u8], connect: bool) -> Result<(), Errno> {
    if path.contains(&0) {
        return Err(Errno(libc::EINVAL));
    }
    if path.len() > MAX_PATH {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    // SAFETY: `sockaddr_un` is plain old data; all zeros is valid.
    let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(path) {
        *d = *s as libc::c_char;
    }
    let len = (core::mem::size_of::<libc::sa_family_t>() + path.len() + 1) as libc::socklen_t;
    let a = (&addr as *const libc::sockaddr_un).cast();
    // SAFETY: `addr` is a valid `sockaddr_un` of at least `len` bytes.
    ck(unsafe {
        if connect {
            super::raw::connect(fd, a, len)
        } else {
            match super::raw::bind(fd, a, len) {
                0 => super::raw::listen(fd, -1),
                r => r,
            }
        }
    })
    .map(drop)
}

/// A non-blocking listening socket bound to `path` (std's
/// `UnixListener::bind`: backlog as large as the system allows).
pub fn listen(path: &[u8]) -> Result<Fd, Errno> {
    open(path, false)
}

/// A blocking socket connected to `path`; reads and writes give up after
/// `timeout_secs` (0: never).
pub fn connect(path: &[u8], timeout_secs: u32) -> Result<Fd, Errno> {
    let fd = open(path, true)?;
    if timeout_secs > 0 {
        let tv = libc::timeval {
            tv_sec: timeout_secs as libc::time_t,
            tv_usec: 0,
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv)?;
    }
    Ok(fd)
}

/// Accepts a connection on `listener`, non-blocking and close-on-exec.
pub fn accept(listener: &Fd) -> Result<Fd, Errno> {
    // SAFETY: null address pointers are allowed; on success we own the fd.
    let fd = ck(unsafe {
        super::raw::accept4(
            listener.raw(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        )
    })?;
    Ok(Fd::from_raw(fd))
}

/// `read(2)` on `fd`.
pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is writable for its length.
    ck_size(unsafe { super::raw::read(fd.raw(), buf.as_mut_ptr().cast(), buf.len()) })
}

/// `write(2)` on `fd` (`SIGPIPE` is ignored: a closed peer is `EPIPE`).
pub fn write(fd: &Fd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is readable for its length.
    ck_size(unsafe { super::raw::write(fd.raw(), buf.as_ptr().cast(), buf.len()) })
}
