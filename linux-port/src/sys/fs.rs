//! Reading files and listing directories without the heap (for the
//! configuration loader, which runs again on every reload): `open(2)`,
//! `read(2)`, `getdents64(2)`, `statx(2)` over caller buffers. std's
//! `fs::read_dir` allocates per entry and `fs::read` allocates the
//! contents; these do not.

use super::{ck, ck_size, Errno, Fd};
use std::io;

/// Longest path accepted (bytes, without the terminating NUL).
pub const PATH_MAX: usize = 4095;

/// Room for a NUL-terminated path (not zeroed: [`c_path`] writes it).
pub(super) type CBuf = core::mem::MaybeUninit<[u8; PATH_MAX + 1]>;

/// Copies `path` into `buf` with a terminating NUL; returns the C string.
#[inline(never)]
pub(super) fn c_path(path: &[u8], buf: &mut CBuf) -> Result<*const libc::c_char, Errno> {
    if path.len() > PATH_MAX {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    if path.contains(&0) {
        return Err(Errno(libc::EINVAL));
    }
    let p = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `path.len() <= PATH_MAX`: the path and its NUL fit in `buf`.
    unsafe {
        core::ptr::copy_nonoverlapping(path.as_ptr(), p, path.len());
        p.add(path.len()).write(0);
    }
    Ok(p.cast())
}

/// Opens `path` with `flags` (and `O_CLOEXEC`).
pub(super) fn open_raw(path: &[u8], flags: libc::c_int) -> Result<Fd, Errno> {
    let mut c = CBuf::uninit();
    let c = c_path(path, &mut c)?;
    // SAFETY: `c` is NUL-terminated; on success we own the descriptor.
    let fd = ck(unsafe { super::open_c(c, flags | libc::O_CLOEXEC, 0) })?;
    Ok(Fd::from_raw(fd))
}

/// `open(2)` flags of [`open_read`].
pub(super) const READ: libc::c_int = libc::O_RDONLY | libc::O_NOCTTY;

/// Opens `path` for reading.
pub fn open_read(path: &[u8]) -> io::Result<Fd> {
    Ok(open_raw(path, READ)?)
}

/// Opens the directory `path` for [`list_dir`].
pub fn open_dir(path: &[u8]) -> io::Result<Fd> {
    Ok(open_raw(path, libc::O_RDONLY | libc::O_DIRECTORY)?)
}

/// Reads from `fd` into `buf` (retrying on `EINTR`); `Ok(0)` at the end.
pub fn read(fd: &Fd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(read_raw(fd, buf)?)
}

/// [`read`] with the bare [`Errno`].
pub(super) fn read_raw(fd: &Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is writable for its length.
        match ck_size(unsafe { super::raw::read(fd.raw(), buf.as_mut_ptr().cast(), buf.len()) }) {
            Err(Errno(libc::EINTR)) => continue,
            r => return r,
        }
    }
}

/// Calls `entry(name, is_regular_file)` for every entry of the directory
/// `dir` (in the kernel's order; `.` and `..` included). `name` has no NUL;
/// "regular file" follows symbolic links (like `Path::is_file`). `buf`
/// holds the raw `getdents64` records (any size from 512 bytes; larger
/// means fewer syscalls).
pub fn list_dir(dir: &Fd, buf: &mut [u8], mut entry: impl FnMut(&[u8], bool)) -> io::Result<()> {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    const NAME: usize = 19;
    loop {
        // SAFETY: `buf` is writable for its length; getdents64 writes at
        // most that many bytes of records.
        let n = super::retry(|| unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.raw() as libc::c_long,
                buf.as_mut_ptr(),
                buf.len() as libc::c_long,
            )
        } as isize)?;
        if n == 0 {
            return Ok(());
        }
        let records = buf.get(..n).unwrap_or(&[]);
        let mut at = 0;
        while let Some(rec) = records.get(at..) {
            let Some(len) = rec.get(16..18) else { break };
            let len = usize::from(u16::from_ne_bytes([len[0], len[1]]));
            let Some(rec) = rec.get(..len).filter(|_| len > NAME) else {
                break;
            };
            at += len;
            let raw = &rec[NAME..];
            let Some(end) = raw.iter().position(|b| *b == 0) else {
                continue;
            };
            let name = &raw[..end];
            let regular = match rec[18] {
                libc::DT_REG => true,
                libc::DT_LNK | libc::DT_UNKNOWN => is_file_at(dir, &raw[..=end]),
                _ => false,
            };
            entry(name, regular);
        }
    }
}

/// Whether `name` (NUL-terminated) in `dir` is a regular file, following
/// symbolic links.
fn is_file_at(dir: &Fd, name: &[u8]) -> bool {
    matches!(statx(dir.raw(), name.as_ptr().cast()), Ok(st) if st.mode & S_IFMT == S_IFREG)
}

/// The file type bits of [`Statx::mode`] and the type of a regular file.
const S_IFMT: u16 = libc::S_IFMT as u16;
const S_IFREG: u16 = libc::S_IFREG as u16;

/// A `statx(2)` timestamp (the kernel's `struct statx_timestamp`).
#[repr(C)]
pub(super) struct StatxTime {
    /// Seconds since the epoch.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: u32,
    _reserved: i32,
}

/// What `statx(2)` fills (the kernel's `struct statx`, 256 bytes, the same
/// on every architecture).
#[repr(C)]
pub(super) struct Statx {
    _mask: u32,
    _blksize: u32,
    _attributes: u64,
    _nlink: u32,
    _uid: u32,
    _gid: u32,
    /// File type and permission bits.
    pub mode: u16,
    _pad: u16,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    _blocks: u64,
    _attributes_mask: u64,
    _atime: StatxTime,
    _btime: StatxTime,
    /// Last status change.
    pub ctime: StatxTime,
    /// Last modification.
    pub mtime: StatxTime,
    _rdev_major: u32,
    _rdev_minor: u32,
    /// Major number of the device holding the file.
    pub dev_major: u32,
    /// Minor number of the device holding the file.
    pub dev_minor: u32,
    _spare: [u64; 14],
}

const _: () = assert!(core::mem::size_of::<Statx>() == 256);

/// `stat`/`fstatat` as the `statx(2)` system call (following symbolic
/// links): `path` is NUL-terminated, relative to the directory `dir`
/// (`AT_FDCWD`: the working directory). The raw call keeps libc's
/// `fstatat` and its `struct stat` conversion out of the binary.
pub(super) fn statx(dir: libc::c_int, path: *const libc::c_char) -> Result<Statx, super::Errno> {
    let mut st = core::mem::MaybeUninit::<Statx>::uninit();
    // SAFETY: `path` is NUL-terminated (caller); `st` is writable for one
    // `struct statx`, which the kernel fills on success.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            dir as libc::c_long,
            path,
            0 as libc::c_long,
            0x7ff as libc::c_long, // STATX_BASIC_STATS
            st.as_mut_ptr(),
        )
    };
    super::ck(r as libc::c_int)?;
    // SAFETY: statx succeeded: it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// Appends the whole file `path` (`-`: standard input, left open) to `out`.
pub fn read_to_end(path: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let fd = if path == b"-" {
        Fd::from_raw(0)
    } else {
        open_read(path)?
    };
    let r = (|| loop {
        out.reserve(8192);
        let len = out.len();
        out.resize(out.capacity(), 0);
        let n = read(&fd, &mut out[len..]);
        out.truncate(len + *n.as_ref().unwrap_or(&0));
        if n? == 0 {
            return Ok(());
        }
    })();
    if path == b"-" {
        core::mem::forget(fd);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_lists() {
        let dir = std::env::temp_dir().join(format!("tandem-sysfs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.conf"), "hello").unwrap();
        std::os::unix::fs::symlink(dir.join("a.conf"), dir.join("link.conf")).unwrap();
        std::os::unix::fs::symlink(dir.join("sub"), dir.join("dirlink")).unwrap();
        let d = dir.as_os_str().as_encoded_bytes();
        let fd = open_read(&[d, b"/a.conf"].concat()).unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(read(&fd, &mut buf).unwrap(), 3);
        assert_eq!(read(&fd, &mut buf).unwrap(), 2);
        assert_eq!(read(&fd, &mut buf).unwrap(), 0);
        let e = open_read(&[d, b"/nothere"].concat()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            open_read(&[0x61; PATH_MAX + 1]).unwrap_err().raw_os_error(),
            Some(libc::ENAMETOOLONG)
        );
        let fd = open_dir(d).unwrap();
        let mut seen = Vec::new();
        // A small buffer: several getdents64 calls.
        let mut buf = [0u8; 512];
        list_dir(&fd, &mut buf, |n, f| seen.push((n.to_vec(), f))).unwrap();
        seen.sort();
        let want: Vec<(Vec<u8>, bool)> = [
            (".", false),
            ("..", false),
            ("a.conf", true),
            ("dirlink", false),
            ("link.conf", true),
            ("sub", false),
        ]
        .iter()
        .map(|(n, f)| (n.as_bytes().to_vec(), *f))
        .collect();
        assert_eq!(seen, want);
        let _ = std::fs::remove_dir_all(dir);
    }
}
