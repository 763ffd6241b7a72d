//! Whole-file reads, atomic replacement (temp file + `rename`) and `stat`,
//! over caller buffers (the lease file; nothing allocates).

use super::{cvt, cvt_size, Fd};
use std::io;

fn c_path(path: &[u8], buf: &mut [u8; super::fs::PATH_MAX + 1]) -> io::Result<()> {
    if path.len() > super::fs::PATH_MAX || path.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    buf[..path.len()].copy_from_slice(path);
    buf[path.len()] = 0;
    Ok(())
}

/// What identifies one version of a file (inode, size, change times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Device and inode.
    pub ino: (u64, u64),
    /// Size in bytes.
    pub size: u64,
    /// Modification time: seconds, nanoseconds (a pair, not one i128 of
    /// nanoseconds: 128-bit arithmetic is costly on 32-bit targets).
    pub mtime: (i64, i64),
    /// Status change time: seconds, nanoseconds.
    pub ctime: (i64, i64),
}

/// `stat(path)`: `None` when it does not exist.
// `time_t` and `c_long` are 32-bit on some targets: the `i64::from`s are
// conversions there.
#[allow(clippy::useless_conversion)]
pub fn stat(path: &[u8]) -> io::Result<Option<Signature>> {
    let mut c = [0u8; super::fs::PATH_MAX + 1];
    c_path(path, &mut c)?;
    // SAFETY: `st` is a valid out-pointer; `c` is NUL-terminated.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    let r = unsafe { libc::stat(c.as_ptr().cast(), &mut st) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::NotFound {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(Signature {
        ino: (st.st_dev as u64, st.st_ino as u64),
        size: st.st_size as u64,
        mtime: (i64::from(st.st_mtime), i64::from(st.st_mtime_nsec)),
        ctime: (i64::from(st.st_ctime), i64::from(st.st_ctime_nsec)),
    }))
}

/// Reads the whole file into `buf`: `Ok(Some(len))`, `Ok(None)` when it
/// does not exist; `ErrorKind::FileTooLarge`-like `EFBIG` when it does not
/// fit.
pub fn read_all(path: &[u8], buf: &mut [u8]) -> io::Result<Option<usize>> {
    let fd = match super::fs::open_read(path) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut len = 0;
    loop {
        if len == buf.len() {
            let mut probe = [0u8; 1];
            return match super::fs::read(&fd, &mut probe)? {
                0 => Ok(Some(len)),
                _ => Err(io::Error::from_raw_os_error(libc::EFBIG)),
            };
        }
        match super::fs::read(&fd, &mut buf[len..])? {
            0 => return Ok(Some(len)),
            n => len += n,
        }
    }
}

/// A file being written, to be renamed over its target.
pub struct TempFile {
    fd: Fd,
}

impl TempFile {
    /// Creates (or truncates) `path` for writing, mode 0644.
    pub fn create(path: &[u8]) -> io::Result<TempFile> {
        let mut c = [0u8; super::fs::PATH_MAX + 1];
        c_path(path, &mut c)?;
        // SAFETY: `c` is NUL-terminated; on success we own the descriptor.
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr().cast(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC | libc::O_NOCTTY,
                0o644 as libc::c_uint,
            )
        })?;
        Ok(TempFile {
            fd: Fd::from_raw(fd),
        })
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            // SAFETY: `bytes` is readable for its length.
            let r =
                cvt_size(unsafe { libc::write(self.fd.raw(), bytes.as_ptr().cast(), bytes.len()) });
            match r {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `fsync`, close, then `rename(from, to)`: readers see the old file
    /// or the new one, never a part.
    pub fn commit(self, from: &[u8], to: &[u8]) -> io::Result<()> {
        // SAFETY: plain syscall on our descriptor.
        cvt(unsafe { libc::fsync(self.fd.raw()) })?;
        drop(self);
        let mut a = [0u8; super::fs::PATH_MAX + 1];
        let mut b = [0u8; super::fs::PATH_MAX + 1];
        c_path(from, &mut a)?;
        c_path(to, &mut b)?;
        // SAFETY: both paths are NUL-terminated.
        cvt(unsafe { libc::rename(a.as_ptr().cast(), b.as_ptr().cast()) })?;
        Ok(())
    }
}

/// Removes `path` (ignoring a missing file).
pub fn remove(path: &[u8]) {
    let mut c = [0u8; super::fs::PATH_MAX + 1];
    if c_path(path, &mut c).is_ok() {
        // SAFETY: `c` is NUL-terminated.
        unsafe {
            libc::unlink(c.as_ptr().cast());
        }
    }
}
