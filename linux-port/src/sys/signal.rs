//! TERM/INT/HUP delivered through a `signalfd`, so they are ordinary events
//! of the poll loop (no async-signal-safety concerns).

use super::{ck, ck_size, Errno, Fd};

/// A signal the daemon handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: graceful shutdown.
    Terminate,
    /// SIGHUP: reload the configuration.
    Reload,
}

/// A signalfd for SIGTERM, SIGINT and SIGHUP (which are blocked).
pub struct SignalFd {
    fd: Fd,
}

fn set() -> super::SigSet {
    super::sig_set(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP])
}

impl SignalFd {
    /// Blocks the signals (the process is single-threaded) and opens the fd.
    pub fn new() -> Result<Self, Errno> {
        let s = set();
        // SAFETY: a null old-set is allowed.
        ck(unsafe { super::sig_mask(libc::SIG_BLOCK, &s, core::ptr::null_mut()) })?;
        // SAFETY: -1 asks for a new fd; `s` is a kernel signal set of the
        // size given (the bare call: no emulation for kernels before 2.6.27).
        let fd = ck(unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1 as libc::c_long,
                s.as_ptr(),
                super::SIGSET_BYTES,
                (libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) as libc::c_long,
            )
        } as libc::c_int)?;
        Ok(SignalFd {
            fd: Fd::from_raw(fd),
        })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Reads one pending signal, if any.
    pub fn read(&self) -> Result<Option<Signal>, Errno> {
        // SAFETY: signalfd_siginfo is plain old data; all-zero is valid.
        let mut info: libc::signalfd_siginfo = unsafe { core::mem::zeroed() };
        let size = core::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is a writable buffer of `size` bytes.
        let r = ck_size(unsafe {
            super::raw::read(
                self.fd.raw(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        });
        match r {
            Ok(n) if n == size => Ok(Some(match info.ssi_signo as i32 {
                libc::SIGHUP => Signal::Reload,
                _ => Signal::Terminate,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.would_block() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
