//! The only place with `unsafe`: thin, checked wrappers over the Linux
//! syscalls the daemon needs (after smoltcp's `phy/sys`).
//!
//! Every wrapper returns `io::Error::last_os_error()` right at the failing
//! call; context is added by the caller. Every file descriptor is opened
//! with `CLOEXEC` and owned by an [`Fd`], which closes it on drop. No
//! function here allocates on the heap.
#![allow(unsafe_code)]

pub mod alloc;
pub mod clock;
pub mod ctnetlink;
mod fd;
pub mod file;
pub mod fs;
pub mod inotify;
pub mod netlink;
pub mod packet;
pub mod poll;
mod raw;
pub mod signal;
pub mod spawn;
pub mod start;
pub mod timer;
pub mod udp;
pub mod unix;
pub mod vrrp;
pub mod zeroed;

pub use fd::Fd;

use std::io;
use std::os::fd::RawFd;

/// Turns a `-1` syscall return into the current `errno` error.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    Ok(ck(ret)?)
}

/// Like [`cvt`] for `ssize_t` results.
fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    Ok(ck_size(ret)?)
}

/// Like [`cvt`], with the bare [`Errno`] as the error (4 bytes, no drop
/// glue: what the daemon's own wrappers return).
#[inline(never)]
fn ck(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Like [`ck`] for `ssize_t` results.
#[inline(never)]
fn ck_size(ret: libc::ssize_t) -> Result<usize, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as usize)
    }
}

/// Sets an integer socket option.
fn setsockopt_int(
    fd: &Fd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> Result<(), Errno> {
    setsockopt(fd, level, name, &value)
}

/// Sets a socket option whose value is the plain-old-data `T`.
fn setsockopt<T: Copy>(
    fd: &Fd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> Result<(), Errno> {
    // SAFETY: `value` points to a live `T` of exactly `size_of::<T>()` bytes
    // (plain old data) for the duration of the call.
    let bytes = unsafe {
        core::slice::from_raw_parts((value as *const T).cast::<u8>(), core::mem::size_of::<T>())
    };
    setsockopt_raw(fd, level, name, bytes)
}

/// The non-generic part of [`setsockopt`].
#[inline(never)]
fn setsockopt_raw(
    fd: &Fd,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
) -> Result<(), Errno> {
    // SAFETY: `value` is live for its length; the kernel only reads it.
    // The bare call: the C library's wrapper only adds time64 conversions
    // of options tandem passes in their old form anyway.
    ck(unsafe {
        libc::syscall(
            libc::SYS_setsockopt,
            fd.raw() as libc::c_long,
            level as libc::c_long,
            name as libc::c_long,
            value.as_ptr(),
            value.len(),
        )
    } as libc::c_int)
    .map(drop)
}

/// Opens a socket with `SOCK_CLOEXEC | SOCK_NONBLOCK` added to `ty`.
fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> Result<Fd, Errno> {
    socket_as(domain, ty | libc::SOCK_NONBLOCK, protocol)
}

/// [`socket`] with the type flags as given (plus `SOCK_CLOEXEC`).
#[inline(never)]
fn socket_as(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> Result<Fd, Errno> {
    // SAFETY: plain syscall with integer arguments; on success we own the fd.
    let fd = ck(unsafe { raw::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    Ok(Fd::from_raw(fd))
}

/// Sets the action of `sig` to `SIG_DFL` or `SIG_IGN` (`handler`) with the
/// bare `rt_sigaction` call (the C library's `sigaction` and `signal` bring
/// handler trampolines tandem does not need). The kernel's `struct
/// sigaction` is `{flags, handler, mask[128 bits]}` on MIPS and `{handler,
/// flags, restorer, mask[64 bits]}` elsewhere; flags and mask stay empty.
///
/// # Safety
///
/// Only for `SIG_DFL` and `SIG_IGN` (no handler runs).
pub(crate) unsafe fn set_signal(sig: libc::c_int, handler: libc::sighandler_t) {
    #[cfg(any(target_arch = "mips", target_arch = "mips64"))]
    const AT: usize = 1;
    #[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
    const AT: usize = 0;
    let mut act = [0usize; 8];
    act[AT] = handler;
    // SAFETY: `act` is larger than the kernel's struct and outlives the call.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig as libc::c_long,
            act.as_ptr(),
            core::ptr::null::<usize>(),
            SIGSET_BYTES,
        );
    }
}

/// The kernel's signal set size (`_NSIG / 8`).
#[cfg(any(target_arch = "mips", target_arch = "mips64"))]
const SIGSET_BYTES: usize = 16;
#[cfg(not(any(target_arch = "mips", target_arch = "mips64")))]
const SIGSET_BYTES: usize = 8;

/// `open(2)` of the NUL-terminated `path` as the bare `openat` call
/// (`O_LARGEFILE` added on 32-bit ABIs, as the C library's `open` does).
/// Returns the descriptor, or `-1` with `errno` set.
///
/// # Safety
///
/// `path` is NUL-terminated.
pub(crate) unsafe fn open_c(
    path: *const libc::c_char,
    flags: libc::c_int,
    mode: libc::c_uint,
) -> libc::c_int {
    #[cfg(target_pointer_width = "32")]
    const LARGE: libc::c_int = libc::O_LARGEFILE;
    #[cfg(not(target_pointer_width = "32"))]
    const LARGE: libc::c_int = 0;
    // SAFETY: `path` is NUL-terminated; the kernel only reads it.
    unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD as libc::c_long,
            path,
            (flags | LARGE) as libc::c_long,
            mode as libc::c_long,
        ) as libc::c_int
    }
}

/// A kernel signal set: bit `sig - 1` of `unsigned long` words, as many
/// as [`SIGSET_BYTES`].
pub(crate) type SigSet = [libc::c_ulong; SIGSET_BYTES / core::mem::size_of::<libc::c_ulong>()];

/// The set of `sigs`.
pub(crate) fn sig_set(sigs: &[libc::c_int]) -> SigSet {
    const BITS: usize = libc::c_ulong::BITS as usize;
    let mut set: SigSet = Default::default();
    for &s in sigs {
        let b = s as usize - 1;
        set[b / BITS] |= 1 << (b % BITS);
    }
    set
}

/// The bare `rt_sigprocmask` call (the C library's `sigprocmask` and
/// `pthread_sigmask` wrap the same call); `old` may be null. Returns the
/// call's result (`-1` with `errno` set on failure).
///
/// # Safety
///
/// `old` is null or writable.
pub(crate) unsafe fn sig_mask(how: libc::c_int, set: &SigSet, old: *mut SigSet) -> libc::c_int {
    // SAFETY: `set` is readable, `old` null or writable, both of the
    // kernel's signal set size.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            how as libc::c_long,
            set.as_ptr(),
            old,
            SIGSET_BYTES,
        ) as libc::c_int
    }
}

/// The number of `clock_gettime64`, the first of the time64 system calls
/// of 32-bit ABIs (Linux 5.1: 403, plus 4000 on MIPS o32).
#[cfg(target_pointer_width = "32")]
const NR_TIME64: libc::c_long = if cfg!(target_arch = "mips") {
    4403
} else {
    403
};

/// A system call taking or filling `struct timespec`s, given as `i64`
/// pairs in `t` and passed as argument `at` of `args` (a null pointer when
/// `t` is empty). 64-bit ABIs: call `nr`. 32-bit ABIs: the time64 call
/// `NR_TIME64 + off64`, and on a kernel without it (`ENOSYS`, before 5.1;
/// or `EPERM` from a seccomp filter that predates it) `nr` with the times
/// narrowed to 32 bits (read back into `t`). musl calls the time64 form
/// first only when a value needs 64 bits (and always for `clock_gettime`),
/// and links its vDSO lookup and conversions for it. Returns the call's result
/// (`-1` with `errno` set on failure).
///
/// # Safety
///
/// `args` must be valid for system call `nr`; `t` holds at most 4 values.
#[inline(never)]
unsafe fn time_call(
    nr: libc::c_long,
    off64: libc::c_long,
    mut args: [usize; 5],
    at: usize,
    t: &mut [i64],
) -> libc::c_long {
    if !t.is_empty() {
        args[at] = t.as_mut_ptr() as usize;
    }
    let [a, b, c, d, e] = args;
    #[cfg(target_pointer_width = "64")]
    {
        let _ = off64;
        // SAFETY: the caller's arguments, `t` in place.
        unsafe { libc::syscall(nr, a, b, c, d, e) }
    }
    #[cfg(target_pointer_width = "32")]
    {
        // SAFETY: the caller's arguments, `t` in place.
        let r = unsafe { libc::syscall(NR_TIME64 + off64, a, b, c, d, e) };
        // EPERM too: seccomp filters older than the time64 calls answer that.
        if r >= 0 || !matches!(Errno::last().0, libc::ENOSYS | libc::EPERM) {
            return r;
        }
        // The times narrowed in place (value k into the k-th 32-bit word:
        // at or before the 64-bit value it comes from, which is read
        // first), the same pointer passed, and widened back from the last.
        let n = t.len();
        let t = t.as_mut_ptr();
        let w = t.cast::<i32>();
        // SAFETY: `t` and `w` (the same pointer) cover the `n` values; see
        // above for the order.
        unsafe {
            for k in 0..n {
                w.add(k).write(t.add(k).read() as i32);
            }
            let r = libc::syscall(nr, a, b, c, d, e);
            for k in (0..n).rev() {
                t.add(k).write(i64::from(w.add(k).read()));
            }
            r
        }
    }
}

/// Whether an error means "nothing to read/write right now".
pub fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// A copy of a configured instance, made bit for bit: one `memcpy` instead
/// of the derived field-by-field clone (which unrolls a push loop for
/// every inline list of the record and costs kilobytes of code).
///
/// Sound because `cfg::Instance` owns no resource: it is made only of
/// integers, addresses and heapless (inline, fixed-capacity) strings and
/// vectors of such, whose drops release nothing; so the copy and the
/// original behave exactly like a clone and its original (a test checks
/// the copy equals the clone).
pub fn copy_instance(src: &tandem_protocol::config::Instance) -> tandem_protocol::config::Instance {
    // SAFETY: `src` is a valid, initialised value; see above why a bitwise
    // duplicate of this type is a valid independent value.
    unsafe { core::ptr::read(src) }
}

extern "C" {
    /// The process environment: `NAME=value` strings, NULL-terminated.
    static environ: *const *mut libc::c_char;
}

/// Whether the environment variable `name` is set (what `getenv(3)` tells,
/// without std's environment lock and `OsString` copy, nor the C
/// library's string helpers; nothing in tandem changes its environment).
pub fn env_is_set(name: &std::ffi::CStr) -> bool {
    let name = name.to_bytes();
    // SAFETY: `environ` is null or a NULL-terminated array of
    // NUL-terminated strings, which no thread of tandem modifies; each
    // string is read up to its NUL at most (`name` holds no NUL, so a
    // mismatch stops the comparison there).
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let e = (*p).cast::<u8>();
            let mut i = 0;
            while i < name.len() && *e.add(i) == name[i] {
                i += 1;
            }
            if i == name.len() && *e.add(i) == b'=' {
                return true;
            }
            p = p.add(1);
        }
    }
    false
}

/// The process id (for syslog lines).
pub fn pid() -> u32 {
    std::process::id()
}

/// Writes `bytes` to stderr with `write(2)` (no locking, no allocation);
/// errors are ignored (there is nowhere left to report them).
pub fn write_stderr(bytes: &[u8]) {
    let _ = write_fd(2, bytes);
}

/// Writes all of `bytes` to the descriptor `fd` (1: stdout, 2: stderr)
/// with `write(2)`, retrying on `EINTR`; no locking, no buffering.
pub fn write_fd(fd: RawFd, bytes: &[u8]) -> io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is valid for `rest.len()` bytes.
        let r = retry(|| unsafe { raw::write(fd, rest.as_ptr().cast(), rest.len()) } as isize)?;
        if r == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        rest = &rest[r..];
    }
    Ok(())
}

/// Makes a system call until it does not fail with `EINTR`: its
/// non-negative result, or the error it failed with.
pub(crate) fn retry(mut call: impl FnMut() -> isize) -> Result<usize, Errno> {
    loop {
        let r = call();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = Errno::last();
        if e.0 != libc::EINTR {
            return Err(e);
        }
    }
}

/// Opens a non-blocking `AF_UNIX` datagram socket connected to `path`
/// (syslog's `/dev/log`). The descriptor stays open for the life of the
/// process (the logger keeps it in a static).
pub fn dgram_open(path: &[u8]) -> io::Result<RawFd> {
    let fd = socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0)?;
    dgram_connect(fd.raw(), path)?;
    let raw = fd.raw();
    core::mem::forget(fd);
    Ok(raw)
}

/// Connects the datagram socket `fd` to the `AF_UNIX` address `path`.
pub fn dgram_connect(fd: RawFd, path: &[u8]) -> io::Result<()> {
    Ok(unix::attach(fd, path, true)?)
}

/// Sends `bytes` as one datagram on the connected socket `fd`; whether it
/// was sent.
pub fn dgram_send(fd: RawFd, bytes: &[u8]) -> bool {
    // SAFETY: `bytes` is valid for its length; the kernel only reads it.
    unsafe { raw::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) >= 0 }
}

/// Displays an OS error number like std does (`No such device (os error
/// 19)`) but without allocating: std's `Display` for OS errors builds a
/// `String`.
///
/// A few negative values stand for the `io::ErrorKind`s the daemon's
/// wrappers report without an OS error; they display like std's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// `io::ErrorKind::InvalidInput` (displays "invalid input parameter").
    pub const INVALID_INPUT: Errno = Errno(-1);
    /// `io::ErrorKind::TimedOut` (displays "timed out").
    pub const TIMED_OUT: Errno = Errno(-2);
    /// `io::ErrorKind::InvalidData` (displays "invalid data").
    pub const INVALID_DATA: Errno = Errno(-3);
    /// `io::ErrorKind::NotConnected` (displays "not connected").
    pub const NOT_CONNECTED: Errno = Errno(-4);

    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        // SAFETY: errno is thread-local and always readable.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// Whether it means "nothing to read/write right now" (see [`would_block`]).
    pub fn would_block(self) -> bool {
        self.0 == libc::EAGAIN || self.0 == libc::EINTR
    }
}

impl From<Errno> for io::Error {
    fn from(e: Errno) -> io::Error {
        match e {
            Errno::INVALID_INPUT => io::ErrorKind::InvalidInput.into(),
            Errno::TIMED_OUT => io::ErrorKind::TimedOut.into(),
            Errno::INVALID_DATA => io::ErrorKind::InvalidData.into(),
            Errno::NOT_CONNECTED => io::ErrorKind::NotConnected.into(),
            Errno(code) => io::Error::from_raw_os_error(code),
        }
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match *self {
            Errno::INVALID_INPUT => "invalid input parameter",
            Errno::TIMED_OUT => "timed out",
            Errno::INVALID_DATA => "invalid data",
            Errno::NOT_CONNECTED => "not connected",
            _ => "",
        };
        if !kind.is_empty() {
            return f.write_str(kind);
        }
        let mut buf = [0u8; 128];
        // `{text} (os error {code})`, or `os error {code}` without a text.
        let text = os_text(self.0, &mut buf);
        if let Some(s) = text {
            f.write_str(s)?;
            f.write_str(" (")?;
        }
        write!(f, "os error {}", self.0)?;
        if text.is_some() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The text of OS error `code` as libc words it (`strerror`), if known.
///
/// With musl (the router builds) the texts come from [`MUSL_TEXTS`]: the
/// errors tandem can meet, in musl's words, without linking musl's whole
/// `strerror` table (and std's `io::Error` display, which calls it);
/// another code shows as `os error N` alone.
#[cfg(target_env = "musl")]
fn os_text(code: i32, _buf: &mut [u8; 128]) -> Option<&'static str> {
    musl_text(code)
}

/// The text of OS error `code` from `strerror_r` (glibc builds).
#[cfg(not(target_env = "musl"))]
fn os_text(code: i32, buf: &mut [u8; 128]) -> Option<&str> {
    // SAFETY: `buf` is writable for its length; the XSI strerror_r
    // (what libc binds on glibc and musl) NUL-terminates within it.
    let r = unsafe { libc::strerror_r(code, buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match core::str::from_utf8(&buf[..len]) {
        Ok(s) if r == 0 && !s.is_empty() => Some(s),
        _ => None,
    }
}

/// One table of OS error codes (each below 256 on Linux) and their texts.
macro_rules! error_texts {
    ($(($code:ident, $text:literal)),* $(,)?) => {
        /// The error codes of [`MUSL_TEXTS`], in its order.
        #[cfg(any(test, target_env = "musl"))]
        const MUSL_CODES: &[u8] = &[$({
            assert!(libc::$code > 0 && libc::$code < 256);
            libc::$code as u8
        }),*];
        /// musl's `strerror` texts of [`MUSL_CODES`], each ended by a NUL.
        #[cfg(any(test, target_env = "musl"))]
        const MUSL_TEXTS: &str = concat!($($text, "\0"),*);
    };
}

error_texts![
    (EPERM, "Operation not permitted"),
    (ENOENT, "No such file or directory"),
    (ESRCH, "No such process"),
    (EINTR, "Interrupted system call"),
    (EIO, "I/O error"),
    (ENXIO, "No such device or address"),
    (E2BIG, "Argument list too long"),
    (ENOEXEC, "Exec format error"),
    (EBADF, "Bad file descriptor"),
    (ECHILD, "No child process"),
    (EAGAIN, "Resource temporarily unavailable"),
    (ENOMEM, "Out of memory"),
    (EACCES, "Permission denied"),
    (EFAULT, "Bad address"),
    (EBUSY, "Resource busy"),
    (EEXIST, "File exists"),
    (EXDEV, "Cross-device link"),
    (ENODEV, "No such device"),
    (ENOTDIR, "Not a directory"),
    (EISDIR, "Is a directory"),
    (EINVAL, "Invalid argument"),
    (ENFILE, "Too many open files in system"),
    (EMFILE, "No file descriptors available"),
    (ENOTTY, "Not a tty"),
    (ETXTBSY, "Text file busy"),
    (EFBIG, "File too large"),
    (ENOSPC, "No space left on device"),
    (EROFS, "Read-only file system"),
    (EMLINK, "Too many links"),
    (EPIPE, "Broken pipe"),
    (ERANGE, "Result not representable"),
    (ENAMETOOLONG, "Filename too long"),
    (ENOSYS, "Function not implemented"),
    (ENOTEMPTY, "Directory not empty"),
    (ELOOP, "Symbolic link loop"),
    (EPROTO, "Protocol error"),
    (EOVERFLOW, "Value too large for data type"),
    (ENOTSOCK, "Not a socket"),
    (EMSGSIZE, "Message too large"),
    (ENOPROTOOPT, "Protocol not available"),
    (EPROTONOSUPPORT, "Protocol not supported"),
    (EOPNOTSUPP, "Not supported"),
    (EAFNOSUPPORT, "Address family not supported by protocol"),
    (EADDRINUSE, "Address in use"),
    (EADDRNOTAVAIL, "Address not available"),
    (ENETDOWN, "Network is down"),
    (ENETUNREACH, "Network unreachable"),
    (ECONNRESET, "Connection reset by peer"),
    (ENOBUFS, "No buffer space available"),
    (ENOTCONN, "Socket not connected"),
    (ETIMEDOUT, "Operation timed out"),
    (ECONNREFUSED, "Connection refused"),
    (EHOSTDOWN, "Host is down"),
    (EHOSTUNREACH, "Host is unreachable"),
    (EALREADY, "Operation already in progress"),
    (EINPROGRESS, "Operation in progress"),
    (ECONNABORTED, "Connection aborted"),
    (ESTALE, "Stale file handle"),
    (ETIME, "Device timeout"),
];

/// musl's text for `code`, if [`MUSL_TEXTS`] has it.
#[cfg(any(test, target_env = "musl"))]
fn musl_text(code: i32) -> Option<&'static str> {
    let mut k = MUSL_CODES.iter().position(|&c| i32::from(c) == code)?;
    // The `k`th text: after `k` NULs.
    let mut start = 0;
    for (i, &b) in MUSL_TEXTS.as_bytes().iter().enumerate() {
        if b == 0 {
            if k == 0 {
                return MUSL_TEXTS.get(start..i);
            }
            k -= 1;
            start = i + 1;
        }
    }
    None
}

/// Displays an `io::Error` without allocating (see [`Errno`]).
#[derive(Clone, Copy, Debug)]
pub struct ErrorText<'a>(pub &'a io::Error);

impl std::fmt::Display for ErrorText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every `io::Error` tandem makes is an OS error or a bare kind (no
        // std API that attaches a message or a custom error is used), and a
        // bare kind displays as its description: std's `Display` (and its
        // allocating OS error text) is not needed.
        match self.0.raw_os_error() {
            Some(code) => Errno(code).fmt(f),
            None => other_error(self.0, f),
        }
    }
}

/// Displays an `io::Error` that is not an OS error: an error made with
/// `io::Error::new` shows its payload, one made from a kind the kind's
/// description (as std does; a message std attaches to an error of its
/// own shows as its kind). Not std's `Display`, which brings in libc's
/// `strerror` table.
#[cfg(target_env = "musl")]
fn other_error(e: &io::Error, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match e.get_ref() {
        Some(inner) => std::fmt::Display::fmt(inner, f),
        None => std::fmt::Display::fmt(&e.kind(), f),
    }
}

/// Displays an `io::Error` that is not an OS error (std's `Display`).
#[cfg(not(target_env = "musl"))]
fn other_error(e: &io::Error, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    std::fmt::Display::fmt(e, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_set_as_std_sees_it() {
        for name in [
            c"PATH",
            c"PAT",
            c"PATHX",
            c"HOME",
            c"TANDEM_NOT_SET_ANYWHERE",
            c"P",
        ] {
            let s = name.to_str().unwrap();
            assert_eq!(env_is_set(name), std::env::var_os(s).is_some(), "{s}");
        }
        assert!(env_is_set(c"PATH"));
    }

    #[test]
    fn copy_instance_is_a_clone() {
        let text = "vrrp_instance I {\n interface eth0\n virtual_router_id 7\n track_interface {\n  wan weight -20\n }\n virtual_ipaddress {\n  10.0.0.1/24 dev lan label lan:1\n  10.0.0.2\n }\n virtual_routes {\n  10.1.0.0/16 via 10.0.0.254 dev lan\n }\n unicast_peer {\n  10.0.0.9\n }\n}\n";
        let c =
            tandem_protocol::config::parse_str("t", text, &mut |d| assert!(!d.is_error(), "{d}"))
                .unwrap();
        let i = &c.instances[0];
        assert_eq!(i.virtual_addresses.len(), 2);
        assert_eq!(copy_instance(i), i.clone());
    }

    #[test]
    fn musl_texts() {
        assert_eq!(MUSL_CODES.len() + 1, MUSL_TEXTS.split('\0').count());
        for (i, c) in MUSL_CODES.iter().enumerate() {
            assert!(!MUSL_CODES[..i].contains(c), "{c} twice");
        }
        assert_eq!(musl_text(libc::ENOENT), Some("No such file or directory"));
        assert_eq!(musl_text(libc::EINPROGRESS), Some("Operation in progress"));
        assert_eq!(musl_text(libc::ENETUNREACH), Some("Network unreachable"));
        assert_eq!(musl_text(0), None);
        assert_eq!(musl_text(4095), None);
    }

    #[test]
    fn errno_text_matches_std() {
        for code in [libc::ENODEV, libc::ENETUNREACH, libc::EEXIST] {
            let e = io::Error::from_raw_os_error(code);
            assert_eq!(ErrorText(&e).to_string(), e.to_string());
        }
        let e = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(ErrorText(&e).to_string(), e.to_string());
        for k in [
            Errno::INVALID_INPUT,
            Errno::TIMED_OUT,
            Errno::INVALID_DATA,
            Errno::NOT_CONNECTED,
            Errno(libc::ENODEV),
        ] {
            assert_eq!(k.to_string(), io::Error::from(k).to_string());
        }
    }
}
