//! inotify on one directory, filtered by file name (lease file watch).
//!
//! dnsmasq rewrites its lease file in place (truncate + write through a
//! stream it keeps open: `IN_MODIFY`), other writers replace it (`rename`:
//! `IN_MOVED_TO`) or write and close it (`IN_CLOSE_WRITE`); so the
//! directory is watched for all of these, and events for other names are
//! skipped.

use super::{ck, ck_size, Errno, Fd};
use std::io;

/// Events of interest on the watched directory.
const MASK: u32 = libc::IN_MODIFY
    | libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_TO
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM;

/// Header of one `struct inotify_event` (the name follows).
const HEADER: usize = 16;

/// An inotify instance watching one directory.
pub struct Inotify {
    fd: Fd,
}

impl Inotify {
    /// Watches directory `dir` (path bytes, no NUL).
    pub fn watch_dir(dir: &[u8]) -> io::Result<Inotify> {
        let mut c = super::fs::CBuf::uninit();
        let c = super::fs::c_path(dir, &mut c)?;
        // SAFETY: plain syscall (the bare call: the C library's wrapper
        // only adds a fallback for kernels before 2.6.27); on success we
        // own the descriptor.
        let fd = ck(unsafe {
            libc::syscall(
                libc::SYS_inotify_init1,
                (libc::IN_NONBLOCK | libc::IN_CLOEXEC) as libc::c_long,
            )
        } as libc::c_int)?;
        let fd = Fd::from_raw(fd);
        // SAFETY: `c` is NUL-terminated (the bare call).
        ck(unsafe {
            libc::syscall(
                libc::SYS_inotify_add_watch,
                fd.raw() as libc::c_long,
                c,
                MASK as libc::c_long,
            )
        } as libc::c_int)?;
        Ok(Inotify { fd })
    }

    /// The descriptor (to poll).
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Drains pending events; true when one concerned `name` (or events
    /// were lost: queue overflow). `buf` should hold a few events
    /// (at least 16 + NAME_MAX + 1 bytes).
    pub fn read(&self, buf: &mut [u8], name: &[u8]) -> io::Result<bool> {
        let mut hit = false;
        loop {
            // SAFETY: `buf` is writable for its length.
            let r = ck_size(unsafe {
                super::raw::read(self.fd.raw(), buf.as_mut_ptr().cast(), buf.len())
            });
            let n = match r {
                Ok(0) => return Ok(hit),
                Ok(n) => n,
                Err(Errno(libc::EAGAIN)) => return Ok(hit),
                Err(Errno(libc::EINTR)) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut rest = buf.get(..n).unwrap_or(&[]);
            while let Some((h, body)) = rest.split_first_chunk::<HEADER>() {
                let mask = u32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
                let len = u32::from_ne_bytes([h[12], h[13], h[14], h[15]]) as usize;
                let (raw, next) = body.split_at(len.min(body.len()));
                let ev_name = raw.split(|&b| b == 0).next().unwrap_or(raw);
                if mask & libc::IN_Q_OVERFLOW != 0 || ev_name == name {
                    hit = true;
                }
                rest = next;
            }
        }
    }
}
