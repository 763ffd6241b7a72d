//! Bare system calls in place of the C library's socket and file wrappers.
//!
//! Same arguments and results as the libc functions they replace (`-1` with
//! `errno` set on failure), so call sites read the same. musl's wrappers add
//! thread-cancellation points and, for some, time64 conversions of options
//! tandem does not use; on MIPS each is also reached through a PIC thunk.
//! Calls that some ABIs lack are made through the call every ABI has
//! (`recv` as `recvfrom`, `send` as `sendto`, `mkdir`/`unlink` as
//! `mkdirat`/`unlinkat` from the working directory).
//!
//! # Safety
//!
//! As for the libc functions: pointers must be valid for the lengths given.

use libc::{c_char, c_int, c_long, c_void, size_t, sockaddr, socklen_t, ssize_t};

/// `read(2)`.
pub unsafe fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(libc::SYS_read, fd as c_long, buf, len) as ssize_t }
}

/// `write(2)`.
pub unsafe fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(libc::SYS_write, fd as c_long, buf, len) as ssize_t }
}

/// `sendto(2)`.
pub unsafe fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> ssize_t {
    // SAFETY: the caller's contract.
    unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd as c_long,
            buf,
            len,
            flags as c_long,
            addr,
            addr_len as c_long,
        ) as ssize_t
    }
}

/// `send(2)`: `sendto` without an address.
pub unsafe fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the caller's contract; no address.
    unsafe { sendto(fd, buf, len, flags, core::ptr::null(), 0) }
}

/// `recvfrom(2)`.
pub unsafe fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    // SAFETY: the caller's contract.
    unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd as c_long,
            buf,
            len,
            flags as c_long,
            addr,
            addr_len,
        ) as ssize_t
    }
}

/// `recv(2)`: `recvfrom` without an address.
pub unsafe fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the caller's contract; no address.
    unsafe {
        recvfrom(
            fd,
            buf,
            len,
            flags,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    }
}

/// `socket(2)`.
pub unsafe fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: integer arguments only.
    unsafe {
        libc::syscall(
            libc::SYS_socket,
            domain as c_long,
            ty as c_long,
            protocol as c_long,
        ) as c_int
    }
}

/// `bind(2)`.
pub unsafe fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(libc::SYS_bind, fd as c_long, addr, len as c_long) as c_int }
}

/// `connect(2)`.
pub unsafe fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(libc::SYS_connect, fd as c_long, addr, len as c_long) as c_int }
}

/// `listen(2)`.
pub unsafe fn listen(fd: c_int, backlog: c_int) -> c_int {
    // SAFETY: integer arguments only.
    unsafe { libc::syscall(libc::SYS_listen, fd as c_long, backlog as c_long) as c_int }
}

/// `accept4(2)`.
pub unsafe fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(libc::SYS_accept4, fd as c_long, addr, len, flags as c_long) as c_int }
}

/// `getsockopt(2)`.
pub unsafe fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe {
        libc::syscall(
            libc::SYS_getsockopt,
            fd as c_long,
            level as c_long,
            name as c_long,
            value,
            len,
        ) as c_int
    }
}

/// `mkdir(2)` (as `mkdirat` from the working directory).
pub unsafe fn mkdir(path: *const c_char, mode: libc::mode_t) -> c_int {
    // SAFETY: the caller's contract (`path` NUL-terminated).
    unsafe {
        libc::syscall(
            libc::SYS_mkdirat,
            libc::AT_FDCWD as c_long,
            path,
            mode as c_long,
        ) as c_int
    }
}

/// `unlink(2)` (as `unlinkat` from the working directory).
pub unsafe fn unlink(path: *const c_char) -> c_int {
    // SAFETY: the caller's contract (`path` NUL-terminated).
    unsafe {
        libc::syscall(
            libc::SYS_unlinkat,
            libc::AT_FDCWD as c_long,
            path,
            0 as c_long,
        ) as c_int
    }
}
