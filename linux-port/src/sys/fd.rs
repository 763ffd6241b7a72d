//! An owned file descriptor.

use std::os::fd::{AsRawFd, RawFd};

/// An owned file descriptor, closed on drop. Always opened with `CLOEXEC`.
#[derive(Debug)]
pub struct Fd(RawFd);

impl Fd {
    /// Takes ownership of `fd` (must be open and owned by nobody else).
    pub(super) fn from_raw(fd: RawFd) -> Self {
        Fd(fd)
    }

    /// The raw descriptor (still owned by `self`).
    pub fn raw(&self) -> RawFd {
        self.0
    }
}

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor and nobody uses it after drop (the
        // bare call: its result is of no use here).
        unsafe {
            libc::syscall(libc::SYS_close, self.0 as libc::c_long);
        }
    }
}
