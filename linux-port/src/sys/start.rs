//! The process entry point without std's runtime start-up (`#![no_main]`):
//! saves std's `rt::cleanup`, its start-up `main` and the main-thread
//! bookkeeping. It does by hand what std's start-up does that tandem
//! relies on: descriptors 0–2 are made valid (reopened on `/dev/null` if
//! closed) and `SIGPIPE` is ignored (a closed pipe is a write error, not a
//! kill). It reads `argv` itself: without std's start-up,
//! `std::env::args` is empty on musl. Nothing in tandem uses std's buffered
//! stdout, so there is nothing to flush at exit.

use std::ffi::{c_char, OsString};
use std::os::unix::ffi::OsStringExt;

/// Linux's limit of one argument's length, its NUL included (32 pages;
/// here for the largest page size, 64 KiB).
#[cfg_attr(test, allow(dead_code))]
const MAX_ARG_STRLEN: usize = 32 * 65536;

/// The command-line arguments after the program name.
#[cfg_attr(test, allow(dead_code))]
pub struct Args {
    next: *const *const c_char,
    left: usize,
}

impl Iterator for Args {
    type Item = OsString;
    fn next(&mut self) -> Option<OsString> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // SAFETY: `next` points into the `argv` array the C start-up code
        // gave `main`, which has `left` more valid NUL-terminated strings
        // and lives as long as the process; the scan stops at the NUL,
        // which Linux puts within `MAX_ARG_STRLEN` (a bounded byte loop:
        // not turned into a call of the C library's word-wise `strlen`).
        let s = unsafe {
            let p = (*self.next).cast::<u8>();
            let mut n = 0;
            while n < MAX_ARG_STRLEN && *p.add(n) != 0 {
                n += 1;
            }
            core::slice::from_raw_parts(p, n)
        };
        // SAFETY: still inside `argv` (or one past its last argument,
        // at the NULL terminator, when `left` is 0).
        self.next = unsafe { self.next.add(1) };
        Some(OsString::from_vec(s.to_vec()))
    }
}

/// Dies of SIGABRT as `abort(3)` does (default action, unblocked), with
/// bare system calls (musl's `abort` brings its locks along).
#[cfg(not(test))]
fn abort() -> ! {
    // SAFETY: SIG_DFL only; a signal to this process; `_exit` ends it if
    // the signal somehow did not.
    unsafe {
        super::set_signal(libc::SIGABRT, libc::SIG_DFL);
        super::sig_mask(
            libc::SIG_UNBLOCK,
            &super::sig_set(&[libc::SIGABRT]),
            core::ptr::null_mut(),
        );
        libc::syscall(
            libc::SYS_kill,
            libc::getpid() as libc::c_long,
            libc::SIGABRT as libc::c_long,
        );
        libc::_exit(127)
    }
}

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const c_char) -> std::ffi::c_int {
    for fd in 0..3 {
        // SAFETY: plain syscalls on integer descriptors and a static path.
        unsafe {
            if libc::syscall(
                libc::SYS_fcntl,
                fd as libc::c_long,
                libc::F_GETFD as libc::c_long,
            ) == -1
                && super::open_c(c"/dev/null".as_ptr(), libc::O_RDWR, 0) == -1
            {
                abort();
            }
        }
    }
    // SAFETY: SIG_IGN and SIG_DFL only.
    unsafe {
        super::set_signal(libc::SIGPIPE, libc::SIG_IGN);
        // An ignored SIGCHLD inherited from whatever started us (a shell's
        // `trap '' CHLD`, some supervisors) would make the kernel reap the
        // DHCP commands itself, and `waitpid` fail with ECHILD.
        super::set_signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    let left = (argc as usize).saturating_sub(1);
    // SAFETY: `argv` has `argc` entries plus a NULL terminator, so one
    // past its first entry is in bounds.
    let next = unsafe { argv.add(1) };
    std::ffi::c_int::from(crate::main(&mut Args { next, left }))
}
