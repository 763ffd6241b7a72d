//! Whole-file reads, atomic replacement (temp file + `rename`) and `stat`,
//! over caller buffers (the lease file; nothing allocates).

use super::fs::{c_path, CBuf};
use super::{ck, ck_size, Errno, Fd};
use std::io;

/// What identifies one version of a file (device, inode, size,
/// modification and status change times in seconds and nanoseconds; each
/// field's low 32 bits: a change that keeps all of them is not a change of
/// a lease file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature([u32; 7]);

/// `stat(path)`: `None` when it does not exist.
pub fn stat(path: &[u8]) -> io::Result<Option<Signature>> {
    let mut c = CBuf::uninit();
    let c = c_path(path, &mut c)?;
    let st = match super::fs::statx(libc::AT_FDCWD, c) {
        Ok(st) => st,
        Err(super::Errno(libc::ENOENT)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // The low 32 bits of `makedev(major, minor)`, as `st_dev`.
    let dev = (st.dev_major & 0xfff) << 8 | (st.dev_minor & 0xff) | (st.dev_minor & 0xfff00) << 12;
    Ok(Some(Signature([
        dev,
        st.ino as u32,
        st.size as u32,
        st.mtime.sec as u32,
        st.mtime.nsec,
        st.ctime.sec as u32,
        st.ctime.nsec,
    ])))
}

/// Reads the whole file into `buf`: `Ok(Some(len))`, `Ok(None)` when it
/// does not exist; `ErrorKind::FileTooLarge`-like `EFBIG` when it does not
/// fit.
pub fn read_all(path: &[u8], buf: &mut [u8]) -> io::Result<Option<usize>> {
    Ok(read_all_raw(path, buf)?)
}

/// [`read_all`] with the bare [`Errno`].
fn read_all_raw(path: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
    let fd = match super::fs::open_raw(path, super::fs::READ) {
        Ok(fd) => fd,
        Err(Errno(libc::ENOENT)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut len = 0;
    loop {
        if len == buf.len() {
            let mut probe = [0u8; 1];
            return match super::fs::read_raw(&fd, &mut probe)? {
                0 => Ok(Some(len)),
                _ => Err(Errno(libc::EFBIG)),
            };
        }
        match super::fs::read_raw(&fd, &mut buf[len..])? {
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
        let mut c = CBuf::uninit();
        let c = c_path(path, &mut c)?;
        // SAFETY: `c` is NUL-terminated; on success we own the descriptor.
        let fd = ck(unsafe {
            super::open_c(
                c,
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC | libc::O_NOCTTY,
                0o644,
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
            let r = ck_size(unsafe {
                super::raw::write(self.fd.raw(), bytes.as_ptr().cast(), bytes.len())
            });
            match r {
                Ok(n) => bytes = &bytes[n..],
                Err(Errno(libc::EINTR)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// `fsync`, close, then `rename(from, to)`: readers see the old file
    /// or the new one, never a part.
    pub fn commit(self, from: &[u8], to: &[u8]) -> io::Result<()> {
        // SAFETY: plain syscall on our descriptor.
        ck(
            unsafe { libc::syscall(libc::SYS_fsync, self.fd.raw() as libc::c_long) } as libc::c_int,
        )?;
        drop(self);
        let mut a = CBuf::uninit();
        let mut b = CBuf::uninit();
        let a = c_path(from, &mut a)?;
        let b = c_path(to, &mut b)?;
        // SAFETY: both paths are NUL-terminated (`rename(2)` as the bare
        // `renameat` call).
        ck(unsafe {
            libc::syscall(
                libc::SYS_renameat,
                libc::AT_FDCWD as libc::c_long,
                a,
                libc::AT_FDCWD as libc::c_long,
                b,
            )
        } as libc::c_int)?;
        Ok(())
    }
}

/// Removes `path` (ignoring a missing file).
pub fn remove(path: &[u8]) {
    let mut c = CBuf::uninit();
    if let Ok(c) = c_path(path, &mut c) {
        // SAFETY: `c` is NUL-terminated.
        unsafe {
            super::raw::unlink(c);
        }
    }
}

/// `len` zero bytes that are never freed and cost RAM only once written
/// (see [`super::zeroed`]).
pub fn zeroed_bytes(len: usize) -> &'static mut [u8] {
    super::zeroed::leak_zeroed(len)
}

/// `n` empty lease slots (see [`super::zeroed`]).
pub fn zeroed_lease_slots(n: usize) -> &'static mut [tandem_core::lease::Slot] {
    super::zeroed::leak_zeroed(n)
}

#[cfg(test)]
mod tests {
    use tandem_core::lease::{pool_len, LeaseTable};

    #[test]
    fn zeroed_storage_is_empty_and_writable() {
        let b = super::zeroed_bytes(100_000);
        assert!(b.iter().all(|&x| x == 0));
        b[99_999] = 1;
        assert!(super::zeroed_bytes(0).is_empty());
        let slots = super::zeroed_lease_slots(1000);
        assert!(slots.iter().all(|s| format!("{s:?}") == "Empty"));
        let t = LeaseTable::new(slots, super::zeroed_bytes(pool_len(1000)));
        assert!(t.is_empty() && t.capacity() == 1000);
    }
}
