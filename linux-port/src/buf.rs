//! A fixed-capacity text buffer: `fmt::Write` into preallocated bytes,
//! truncating instead of growing, so formatting never allocates.

use std::fmt::{self, Write as _};

/// Text written into a borrowed byte slice. Output that does not fit is cut
/// (at a character boundary) and [`Buf::truncated`] is set.
pub struct Buf<'a> {
    data: &'a mut [u8],
    len: usize,
    truncated: bool,
}

impl<'a> Buf<'a> {
    /// An empty buffer over `data`.
    pub fn new(data: &'a mut [u8]) -> Self {
        Buf {
            data,
            len: 0,
            truncated: false,
        }
    }

    /// The bytes written so far.
    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether some output was cut.
    #[cfg(test)]
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Appends raw bytes (cut if they do not fit).
    pub fn push_bytes(&mut self, b: &[u8]) {
        let room = self.data.len() - self.len;
        let n = b.len().min(room);
        self.data[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        if n < b.len() {
            self.truncated = true;
        }
    }
}

impl fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.data.len() - self.len;
        if s.len() <= room {
            self.push_bytes(s.as_bytes());
            Ok(())
        } else {
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.push_bytes(&s.as_bytes()[..cut]);
            self.truncated = true;
            Err(fmt::Error)
        }
    }
}

/// Formats `args` onto the descriptor `fd` (1: stdout, 2: stderr) through
/// a stack buffer, in writes of up to 512 bytes (nothing is cut); write
/// errors are ignored. One non-generic path instead of std's
/// `print!`/`eprintln!` machinery at every call site.
#[inline(never)]
pub fn print(fd: std::os::fd::RawFd, args: fmt::Arguments<'_>) {
    struct Out {
        fd: std::os::fd::RawFd,
        len: usize,
        mem: [u8; 512],
    }
    impl fmt::Write for Out {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let mut s = s.as_bytes();
            while !s.is_empty() {
                if self.len == self.mem.len() {
                    let _ = crate::sys::write_fd(self.fd, &self.mem);
                    self.len = 0;
                }
                let n = s.len().min(self.mem.len() - self.len);
                self.mem[self.len..self.len + n].copy_from_slice(&s[..n]);
                self.len += n;
                s = &s[n..];
            }
            Ok(())
        }
    }
    let mut o = Out {
        fd,
        len: 0,
        mem: [0; 512],
    };
    let _ = o.write_fmt(args);
    let _ = crate::sys::write_fd(fd, &o.mem[..o.len]);
}

/// A `fmt::Write` adapter that escapes what passes through it for the
/// inside of a JSON string (RFC 8259).
pub struct JsonEsc<'a>(pub &'a mut dyn fmt::Write);

impl fmt::Write for JsonEsc<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Runs of bytes that need no escape are written whole; they end
        // only at ASCII bytes, so every run is whole characters.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut start = 0;
        for (i, &b) in s.as_bytes().iter().enumerate() {
            if b >= 0x20 && b != b'"' && b != b'\\' {
                continue;
            }
            // `\"`, `\\`, `\n`, `\r`, `\t`, else `\u00XX`.
            let mut e = *b"\\u00xx";
            e[1] = match b {
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                b'"' | b'\\' => b,
                _ => 0,
            };
            let n = if e[1] == 0 {
                e[1] = b'u';
                e[4] = HEX[usize::from(b >> 4)];
                e[5] = HEX[usize::from(b & 15)];
                6
            } else {
                2
            };
            self.0.write_str(&s[start..i])?;
            self.0
                .write_str(core::str::from_utf8(&e[..n]).unwrap_or_default())?;
            start = i + 1;
        }
        self.0.write_str(&s[start..])
    }
}

/// Writes `s` as a JSON string literal (with quotes).
#[cfg(test)]
pub fn json_str(w: &mut dyn fmt::Write, s: &str) -> fmt::Result {
    json_display(w, &s)
}

/// Writes the `Display` of `v` as a JSON string literal (with quotes).
pub fn json_display(w: &mut dyn fmt::Write, v: &dyn fmt::Display) -> fmt::Result {
    w.write_char('"')?;
    write!(JsonEsc(w), "{v}")?;
    w.write_char('"')
}

/// Passes `b` to `out` as text, piece by piece, with U+FFFD for each
/// invalid UTF-8 sequence (the same text as `String::from_utf8_lossy` and
/// `Path::display`); stops and returns false when `out` does.
#[inline(never)]
pub fn lossy(mut b: &[u8], out: &mut dyn FnMut(&str) -> bool) -> bool {
    loop {
        match core::str::from_utf8(b) {
            Ok(s) => return out(s),
            Err(e) => {
                let (good, bad) = b.split_at(e.valid_up_to());
                // `good` is the valid prefix `from_utf8` found.
                let good = core::str::from_utf8(good).unwrap_or_default();
                if !out(good) || !out("\u{FFFD}") {
                    return false;
                }
                b = &bad[e.error_len().map_or(bad.len(), usize::from)..];
            }
        }
    }
}

/// A path (any bytes) shown as text: [`lossy`] as `Display`.
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if lossy(self.0, &mut |s| f.write_str(s).is_ok()) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

/// `p` shown as text, as `Path::display` shows it (one shared lossy
/// `Display` instead of std's).
pub fn path(p: &std::path::Path) -> Lossy<'_> {
    Lossy(p.as_os_str().as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_matches_std() {
        let cases: [&[u8]; 9] = [
            b"",
            b"plain",
            b"a\xffb",
            b"\xff\xfe",
            b"x\xe2\x82",
            b"\xe2\x82\xacok\xf0\x9f",
            b"\xc0\xafz",
            b"\xed\xa0\x80end",
            b"\xf4\x90\x80\x80",
        ];
        for b in cases {
            assert_eq!(Lossy(b).to_string(), String::from_utf8_lossy(b));
            let p = std::path::Path::new(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b),
            );
            assert_eq!(path(p).to_string(), p.display().to_string());
        }
    }

    #[test]
    fn truncates_at_char_boundary() {
        let mut mem = [0u8; 5];
        let mut b = Buf::new(&mut mem);
        assert!(write!(b, "ab").is_ok());
        assert!(write!(b, "cé€").is_err());
        assert_eq!(b.as_bytes(), "abcé".as_bytes());
        assert!(b.truncated());
        assert_eq!(b.len(), 5);
    }

    #[test]
    fn json_escapes() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\nd\u{1}").unwrap();
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
        let mut s = String::new();
        json_str(&mut s, "é\u{1f}\t€\r").unwrap();
        assert_eq!(s, r#""é\u001f\t€\r""#);
    }
}
