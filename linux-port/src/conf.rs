//! Reading the configuration: files and `include` globs from disk, parsed
//! by `tandem_protocol::config` (which reports file:line diagnostics).
//!
//! A [`Loader`] is built once at start-up and used again on every reload
//! without touching the heap: the text of every file (and the paths of
//! glob matches) goes into one fixed arena of [`MAX_TEXT`] bytes, directory
//! listings into a fixed `getdents64` buffer, glob results into a fixed
//! table of [`MAX_GLOB`] entries, and the [`Parser`] (which holds the
//! parsed [`Config`]) into a slot allocated once. The arena is zero-filled
//! by the allocator (`calloc`, fresh pages): only the bytes actually read
//! become resident.
//!
//! Limits (each a clear error, never a truncation):
//! - [`MAX_TEXT`] (256 KiB): the main file and all its includes together,
//!   plus the paths of the included files;
//! - [`MAX_GLOB`] (64): files one `include` pattern may match;
//! - [`sys::fs::PATH_MAX`]: bytes of one path;
//! - `include` nesting: [`MAX_INCLUDE_DEPTH`] (the parser's).

use crate::sys;
use std::fmt;
use std::io;
use std::path::Path;
use tandem_protocol::config::{
    self, Config, Diagnostic, IncludeError, Parser, Resume, Step, MAX_INCLUDE_DEPTH,
};

/// Bytes of configuration text one load may read: the main file and all
/// its includes together (plus the paths of included files).
pub const MAX_TEXT: usize = 256 * 1024;

/// Most files one `include` pattern may match.
pub const MAX_GLOB: usize = 64;

/// Bytes of the directory-listing buffer.
const DIR_BUF: usize = 4096;

/// `getdents64` records are 8-byte aligned within the buffer.
#[repr(C, align(8))]
struct DirBuf([u8; DIR_BUF]);

/// The outcome of loading a configuration (convenience form of [`Loader`]).
pub struct Loaded {
    /// The configuration, if it had no error.
    pub config: Option<Parsed>,
    /// Errors reported.
    pub errors: u32,
    /// Warnings reported.
    pub warnings: u32,
}

/// Loads `path` and its includes with a fresh [`Loader`] (for `tandem
/// check`); every diagnostic goes to `diag`. `Err` when the main file
/// cannot be read or a [`Loader`] limit was exceeded.
pub fn load(path: &Path, diag: &mut dyn FnMut(&Diagnostic<'_>)) -> Result<Loaded, LoadError> {
    let mut l = Loader::new();
    let o = l.load(path, diag)?;
    Ok(Loaded {
        config: l.valid.then_some(Parsed(l.parser)),
        errors: o.errors,
        warnings: o.warnings,
    })
}

/// Why a configuration could not be loaded at all (its problems with
/// file:line went to the diagnostics callback before).
#[derive(Clone, Copy, Debug)]
pub enum LoadError {
    /// The main file could not be read.
    Io(sys::Errno),
    /// The main file is not valid UTF-8.
    NotUtf8,
    /// The files together exceed [`MAX_TEXT`].
    TooLarge,
    /// An `include` pattern matches more than [`MAX_GLOB`] files.
    TooManyFiles,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(e) => e.fmt(f),
            LoadError::NotUtf8 => f.write_str("not valid UTF-8"),
            // Fixed texts (no formatting code); the asserts below keep them true.
            LoadError::TooLarge => f.write_str(
                "the configuration is larger than 256 KiB (the main file and all its includes together)",
            ),
            LoadError::TooManyFiles => f.write_str("an include pattern matches more than 64 files"),
        }
    }
}

const _: () = assert!(MAX_TEXT == 256 * 1024 && MAX_GLOB == 64);

/// Counts of one load.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Errors reported.
    pub errors: u32,
    /// Warnings reported.
    pub warnings: u32,
}

/// A configuration loaded by [`load`] (dereferences to it), kept in the
/// parser that read it.
pub struct Parsed(Box<Parser>);

impl core::ops::Deref for Parsed {
    type Target = Config;

    fn deref(&self) -> &Config {
        self.0.config()
    }
}

/// Reads configurations into buffers allocated once (see the module docs).
pub struct Loader {
    arena: Box<[u8]>,
    dir: Box<DirBuf>,
    /// The parser of the last load (holding its configuration): on the
    /// heap, not on the stack (accesses beyond 32 KiB of stack frame cost
    /// two extra instructions each on MIPS).
    parser: Box<Parser>,
    valid: bool,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    /// Allocates the buffers (about 256 KiB of address space, resident only
    /// as far as configuration text is read, plus the [`Parser`] with its
    /// [`Config`]).
    pub fn new() -> Loader {
        Loader {
            arena: vec![0u8; MAX_TEXT].into_boxed_slice(),
            dir: Box::new(DirBuf([0; DIR_BUF])),
            parser: Box::default(),
            valid: false,
        }
    }

    /// The configuration of the last [`Loader::load`], if it had no error.
    pub fn config(&self) -> Option<&Config> {
        self.valid.then_some(self.parser.config())
    }

    /// Loads `path` and its includes; every diagnostic goes to `diag`. Does
    /// not allocate. `Ok` says how many errors and warnings there were
    /// ([`Loader::config`] is `Some` if there was no error).
    pub fn load(
        &mut self,
        path: &Path,
        diag: &mut dyn FnMut(&Diagnostic<'_>),
    ) -> Result<Outcome, LoadError> {
        self.valid = false;
        let raw = path.as_os_str().as_encoded_bytes();
        let parser = &mut *self.parser;
        *parser = Parser::new();
        let mut cx = Cx {
            parser: &mut *parser,
            diag: &mut *diag,
            dir: &mut self.dir.0,
            limit: Limit::None,
        };
        feed_path(&mut cx, raw, 0, &mut self.arena)?;
        let limit = cx.limit;
        // The totals after the final checks (their warnings count too).
        let outcome = match parser.finish_in_place(diag) {
            Err(e) => Outcome {
                errors: e.errors,
                warnings: e.warnings,
            },
            Ok(_) => Outcome {
                errors: 0,
                warnings: parser.warnings(),
            },
        };
        match limit {
            Limit::None => {}
            Limit::TooLarge => return Err(LoadError::TooLarge),
            Limit::TooManyFiles => return Err(LoadError::TooManyFiles),
        }
        // (`finish_in_place` is `Ok` exactly when there was no error.)
        self.valid = outcome.errors == 0;
        Ok(outcome)
    }
}

/// The first [`Loader`] limit a load exceeded (a small copy type: no
/// `io::Error` to drop).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Limit {
    None,
    TooLarge,
    TooManyFiles,
}

impl Limit {
    /// Records `l` unless a limit was exceeded before.
    fn set(&mut self, l: Limit) {
        if *self == Limit::None {
            *self = l;
        }
    }
}

/// State of one load shared by the recursion.
struct Cx<'a> {
    parser: &'a mut Parser,
    diag: &'a mut dyn FnMut(&Diagnostic<'_>),
    dir: &'a mut [u8],
    /// A limit was exceeded (reported as the load's error at the end).
    limit: Limit,
}

/// Feeds `text` (the file `name`, at `raw` on disk) and, recursively, what
/// it includes; `free` is the unused part of the arena. Returns the bytes
/// of `free` used: every file read keeps its space until the load ends, so
/// [`MAX_TEXT`] bounds all files together.
fn feed_file(
    cx: &mut Cx<'_>,
    name: &str,
    raw: &[u8],
    text: &str,
    depth: usize,
    free: &mut [u8],
) -> usize {
    let mut at = Resume::START;
    let mut used = 0;
    loop {
        match cx.parser.feed(name, text, at, &mut *cx.diag) {
            Step::Done => return used,
            Step::Include {
                pattern,
                line,
                resume,
            } => {
                at = resume;
                let r = if depth >= MAX_INCLUDE_DEPTH {
                    Err(IncludeError::TooDeep)
                } else {
                    let room = free.get_mut(used..).unwrap_or(&mut []);
                    include(cx, raw, pattern, depth, room)
                };
                let e = match r {
                    Ok((n, files)) => {
                        used += n;
                        if files > 0 {
                            continue;
                        }
                        IncludeError::NoMatch
                    }
                    Err(e) => e,
                };
                cx.parser
                    .include_error(name, line, pattern, e, &mut *cx.diag);
            }
        }
    }
}

/// Reads the file at `path` into the start of `free` (after its name for
/// diagnostics when that is not UTF-8) and feeds it, and what it includes,
/// with [`feed_file`]. Returns the bytes of `free` used. One path for the
/// main file and every included one.
fn feed_path(
    cx: &mut Cx<'_>,
    path: &[u8],
    depth: usize,
    free: &mut [u8],
) -> Result<usize, LoadError> {
    let total = free.len();
    let (name, after) = display_name(path, free).ok_or(LoadError::TooLarge)?;
    let (text, after) = read_file(path, after)?;
    let read = total - after.len();
    Ok(read + feed_file(cx, name, path, text, depth, after))
}

/// Appends `b` to `buf` at `*len`; false if it does not fit.
#[inline(never)]
fn put(buf: &mut [u8], len: &mut usize, b: &[u8]) -> bool {
    match buf.get_mut(*len..*len + b.len()) {
        Some(dst) => {
            dst.copy_from_slice(b);
            *len += b.len();
            true
        }
        None => false,
    }
}

/// `raw` as text for diagnostics: itself if it is UTF-8, else a lossy copy
/// stored at the start of `free`. Returns the name and the rest of `free`.
fn display_name<'a>(raw: &'a [u8], free: &'a mut [u8]) -> Option<(&'a str, &'a mut [u8])> {
    if let Ok(s) = core::str::from_utf8(raw) {
        return Some((s, free));
    }
    let mut n = 0;
    if !crate::buf::lossy(raw, &mut |s| put(free, &mut n, s.as_bytes())) {
        return None;
    }
    let (name, rest) = free.split_at_mut(n);
    let name = core::str::from_utf8(name).ok()?;
    Some((name, rest))
}

/// Reads the file at `path` into the start of `free`; returns its text and
/// the rest of `free`.
fn read_file<'a>(path: &[u8], free: &'a mut [u8]) -> Result<(&'a str, &'a mut [u8]), LoadError> {
    let n = match sys::file::read_all(path, free) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(LoadError::Io(sys::Errno(libc::ENOENT))),
        // `EFBIG`: `read_all`'s "does not fit in `free`".
        Err(e) => {
            return Err(match errno(e) {
                sys::Errno(libc::EFBIG) => LoadError::TooLarge,
                e => LoadError::Io(e),
            })
        }
    };
    let (text, rest) = free.split_at_mut(n);
    let text = core::str::from_utf8(text).map_err(|_| LoadError::NotUtf8)?;
    Ok((text, rest))
}

/// The error number of `e` (every error of `sys::fs` is one).
#[inline(never)]
fn errno(e: io::Error) -> sys::Errno {
    sys::Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// What `e` means for an `include` (as `io::ErrorKind` would classify it).
fn include_error(e: sys::Errno) -> IncludeError {
    match e.0 {
        libc::ENOENT => IncludeError::NotFound,
        libc::EACCES | libc::EPERM => IncludeError::PermissionDenied,
        _ => IncludeError::Io,
    }
}

/// Resolves an `include` pattern relative to the including file's
/// directory (`from` is its path) and feeds the matching files in sorted
/// order. Wildcards (`*`, `?`, `[...]`) are honoured in the last path
/// component. Returns (bytes of `free` used, files fed).
fn include(
    cx: &mut Cx<'_>,
    from: &[u8],
    pattern: &str,
    depth: usize,
    free: &mut [u8],
) -> Result<(usize, usize), IncludeError> {
    let too_large = |cx: &mut Cx<'_>| {
        cx.limit.set(Limit::TooLarge);
        IncludeError::TooLarge
    };
    // The full pattern: relative to the including file's directory.
    let mut len = 0;
    let p = pattern.as_bytes();
    let mut fits = true;
    if !p.starts_with(b"/") {
        if let Some(i) = from.iter().rposition(|b| *b == b'/') {
            fits &= put(free, &mut len, &from[..=i]);
        }
    }
    fits &= put(free, &mut len, p);
    if !fits {
        return Err(too_large(cx));
    }
    let (full, rest) = free.split_at_mut(len);
    let full: &[u8] = full;
    let slash = full.iter().rposition(|b| *b == b'/');
    let last = match slash {
        Some(i) => &full[i + 1..],
        None => full,
    };
    // Matches: (start, end) of their paths in `rest`.
    let mut found: heapless::Vec<(u32, u32), MAX_GLOB> = heapless::Vec::new();
    let mut names_len = 0;
    if !has_wildcard(last) {
        let _ = found.push((0, 0));
    } else {
        let (dir, prefix): (&[u8], &[u8]) = match slash {
            Some(0) => (b"/", b"/"),
            Some(i) => (&full[..i], &full[..=i]),
            None => (b".", b"./"),
        };
        let fd = match sys::fs::open_dir(dir).map_err(errno) {
            Ok(fd) => fd,
            Err(sys::Errno(libc::ENOENT)) => return Ok((len, 0)),
            Err(e) => return Err(include_error(e)),
        };
        let mut overflow = false;
        let mut too_many = false;
        let listed = sys::fs::list_dir(&fd, cx.dir, |name, regular| {
            if !regular
                || (name.starts_with(b".") && !last.starts_with(b"."))
                || !glob_match(last, name)
            {
                return;
            }
            if found.is_full() {
                too_many = true;
                return;
            }
            let start = names_len;
            if put(rest, &mut names_len, prefix) && put(rest, &mut names_len, name) {
                let _ = found.push((start as u32, names_len as u32));
            } else {
                overflow = true;
            }
        });
        if let Err(e) = listed {
            return Err(include_error(errno(e)));
        }
        if overflow {
            return Err(too_large(cx));
        }
        if too_many {
            cx.limit.set(Limit::TooManyFiles);
            return Err(IncludeError::Io);
        }
        // Insertion sort by path (small: no sort machinery in the binary).
        let names: &[u8] = rest;
        let key = |e: (u32, u32)| names.get(e.0 as usize..e.1 as usize).unwrap_or(&[]);
        for i in 1..found.len() {
            let mut j = i;
            while j > 0 && key(found[j - 1]) > key(found[j]) {
                found.swap(j - 1, j);
                j -= 1;
            }
        }
    }
    let (names, mut free) = rest.split_at_mut(names_len);
    let names: &[u8] = names;
    let mut used = len + names_len;
    for &(a, b) in &found {
        let path = if b == 0 {
            full
        } else {
            &names[a as usize..b as usize]
        };
        let rest = core::mem::take(&mut free);
        let n = match feed_path(cx, path, depth + 1, &mut *rest) {
            Ok(n) => n,
            Err(LoadError::Io(e)) => return Err(include_error(e)),
            Err(LoadError::NotUtf8) => return Err(IncludeError::NotUtf8),
            // (`TooManyFiles` is recorded in `cx.limit`, never returned here.)
            Err(_) => return Err(too_large(cx)),
        };
        used += n;
        free = rest.get_mut(n..).unwrap_or(&mut []);
    }
    Ok((used, found.len()))
}

/// Reports what the configuration asks for that this port cannot do yet
/// (the parser accepts it; the netlink builders lack the attribute).
pub fn unsupported(c: &Config, report: &mut dyn FnMut(std::fmt::Arguments<'_>)) {
    for i in &c.instances {
        for v in &i.virtual_addresses {
            if v.broadcast.is_some() {
                report(format_args!(
                    "{}: 'brd' of {} is not applied yet (the kernel picks no broadcast address)",
                    i.name, v.addr
                ));
            }
        }
        for r in &i.virtual_routes {
            if r.kind != config::RouteType::Unicast || r.onlink {
                report(format_args!(
                    "{}: route to {}/{}: blackhole/unreachable/prohibit and onlink are not supported yet; the route is skipped",
                    i.name, r.dst, r.dst_len
                ));
            }
        }
    }
}

fn has_wildcard(s: &[u8]) -> bool {
    s.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
}

/// glob(7) matching of one path component: `*`, `?`, `[abc]`, `[a-z]`,
/// `[!x]`.
pub fn glob_match(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(&p[pi..], s[si]) {
                        if ok {
                            pi += next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// Matches `c` against the bracket expression at the start of `p`; returns
/// (matched, length of the expression), or `None` if it is not closed.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tandem-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn inst(name: &str, vrid: u8) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n virtual_ipaddress {{\n  10.0.0.{vrid}/24\n }}\n}}\n"
        )
    }

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes());
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf~"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[", "["));
    }

    #[test]
    fn includes_relative_and_sorted() {
        let dir = tmp("conf-test");
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        fs::write(dir.join("main.conf"), "include conf.d/*.conf\n").unwrap();
        fs::write(dir.join("conf.d/b.conf"), inst("B", 2)).unwrap();
        fs::write(dir.join("conf.d/a.conf"), inst("A", 1)).unwrap();
        fs::write(dir.join("conf.d/c.txt"), "garbage {").unwrap();
        let mut msgs = Vec::new();
        let l = load(&dir.join("main.conf"), &mut |d| msgs.push(d.to_string())).unwrap();
        assert_eq!(l.errors, 0, "{msgs:?}");
        let c = l.config.unwrap();
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.instances[0].name.as_str(), "A");
        // A missing include is an error naming file:line.
        fs::write(dir.join("bad.conf"), "\ninclude nothere.conf\n").unwrap();
        msgs.clear();
        let l = load(&dir.join("bad.conf"), &mut |d| msgs.push(d.to_string())).unwrap();
        assert!(l.config.is_none());
        assert!(msgs[0].contains("bad.conf:2"), "{msgs:?}");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn nested_relative_includes_and_odd_names() {
        let dir = tmp("conf-nested");
        fs::create_dir_all(dir.join("conf.d/sub")).unwrap();
        fs::write(
            dir.join("main.conf"),
            "include conf.d/a.conf\ninclude /nonexistent-dir/*.conf\n",
        )
        .unwrap();
        // Relative to conf.d/, not to the main file.
        fs::write(
            dir.join("conf.d/a.conf"),
            format!("{}include sub/*\n", inst("A", 1)),
        )
        .unwrap();
        fs::write(dir.join("conf.d/sub/x.conf"), inst("X", 3)).unwrap();
        // Hidden files and directories are not matched by '*'.
        fs::write(dir.join("conf.d/sub/.hidden"), "garbage {").unwrap();
        fs::create_dir_all(dir.join("conf.d/sub/dir.conf")).unwrap();
        // A non-UTF-8 file name is shown lossily.
        let odd = &std::ffi::OsStr::from_bytes(b"conf.d/sub/\xffz.conf");
        fs::write(dir.join(odd), "bogus_keyword 1\n").unwrap();
        let mut msgs = Vec::new();
        let mut l = Loader::new();
        let o = l
            .load(&dir.join("main.conf"), &mut |d| msgs.push(d.to_string()))
            .unwrap();
        assert_eq!(o.errors, 0, "{msgs:?}");
        let c = l.config().unwrap();
        let names: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["A", "X"]);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("sub/\u{FFFD}z.conf:1"), "{msgs:?}");
        assert!(
            msgs[1].contains("main.conf:2") && msgs[1].contains("matched no file"),
            "{msgs:?}"
        );
        // A failed load leaves no configuration; the next good one does.
        fs::write(dir.join("conf.d/a.conf"), "vrrp_instance {\n").unwrap();
        let o = l.load(&dir.join("main.conf"), &mut |_| {}).unwrap();
        assert!(o.errors > 0 && l.config().is_none());
        fs::write(dir.join("conf.d/a.conf"), inst("B", 2)).unwrap();
        l.load(&dir.join("main.conf"), &mut |_| {}).unwrap();
        assert_eq!(l.config().unwrap().instances[0].name.as_str(), "B");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn limits_are_errors() {
        let dir = tmp("conf-limits");
        let comment = |n: usize| {
            let mut s = "#".repeat(n - 1);
            s.push('\n');
            s
        };
        let mut l = Loader::new();
        // Exactly MAX_TEXT bytes fit.
        fs::write(dir.join("full.conf"), comment(MAX_TEXT)).unwrap();
        l.load(&dir.join("full.conf"), &mut |d| panic!("{d}"))
            .unwrap();
        assert!(l.config().is_some());
        // One more does not.
        fs::write(dir.join("big.conf"), comment(MAX_TEXT + 1)).unwrap();
        let e = l
            .load(&dir.join("big.conf"), &mut |d| panic!("{d}"))
            .unwrap_err();
        assert!(matches!(e, LoadError::TooLarge), "{e:?}");
        assert!(l.config().is_none());
        assert!(e.to_string().contains("256 KiB"), "{e}");
        let e = load(&dir.join("big.conf"), &mut |_| {}).err().unwrap();
        assert!(e.to_string().contains("larger than 256 KiB"), "{e}");
        // Files that fit alone but not together: the include is reported
        // with file:line, and the load fails.
        fs::write(dir.join("half.conf"), comment(MAX_TEXT / 2 + 10)).unwrap();
        fs::write(
            dir.join("two.conf"),
            "include half.conf\ninclude half.conf\n",
        )
        .unwrap();
        let mut msgs = Vec::new();
        let e = l
            .load(&dir.join("two.conf"), &mut |d| msgs.push(d.to_string()))
            .unwrap_err();
        assert!(matches!(e, LoadError::TooLarge), "{e:?}");
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains("two.conf:2") && msgs[0].contains("too large"),
            "{msgs:?}"
        );
        // More than MAX_GLOB matches.
        fs::create_dir_all(dir.join("many")).unwrap();
        for i in 0..=MAX_GLOB {
            fs::write(dir.join(format!("many/{i:03}.conf")), "").unwrap();
        }
        fs::write(dir.join("many.conf"), "include many/*.conf\n").unwrap();
        let e = l.load(&dir.join("many.conf"), &mut |_| {}).unwrap_err();
        assert!(matches!(e, LoadError::TooManyFiles), "{e:?}");
        fs::remove_file(dir.join(format!("many/{MAX_GLOB:03}.conf"))).unwrap();
        l.load(&dir.join("many.conf"), &mut |d| panic!("{d}"))
            .unwrap();
        // The main file missing.
        let e = l.load(&dir.join("nothere.conf"), &mut |_| {}).unwrap_err();
        assert!(matches!(e, LoadError::Io(sys::Errno(libc::ENOENT))));
        let _ = fs::remove_dir_all(dir);
    }

    const PROBE: &str = "TANDEM_CONF_ALLOC_PROBE";

    /// Runs in a child process (see `loading_again_does_not_allocate`),
    /// alone, so that the process-wide allocation counter sees only it.
    #[test]
    fn alloc_probe() {
        let Some(dir) = std::env::var_os(PROBE) else {
            return;
        };
        let dir = PathBuf::from(dir);
        let main = dir.join("main.conf");
        let missing = dir.join("nothere.conf");
        let mut l = Loader::new();
        let mut diags = 0u32;
        l.load(&main, &mut |_| diags += 1).unwrap();
        assert!(l.config().is_some());
        let before = crate::sys::alloc::allocations();
        for _ in 0..3 {
            l.load(&main, &mut |_| diags += 1).unwrap();
        }
        let _ = l.load(&missing, &mut |_| diags += 1);
        let during = crate::sys::alloc::allocations() - before;
        assert!(l.config().is_none());
        // Control: the convenience form allocates its buffers.
        let before = crate::sys::alloc::allocations();
        let _ = load(&main, &mut |_| diags += 1);
        let control = crate::sys::alloc::allocations() - before;
        println!("alloc-probe: reloads {during} convenience {control} diagnostics {diags}");
    }

    #[test]
    fn loading_again_does_not_allocate() {
        let dir = tmp("conf-alloc");
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        fs::write(
            dir.join("main.conf"),
            "include conf.d/*.conf\ninclude none/*.conf\nunknown_kw\n",
        )
        .unwrap();
        fs::write(dir.join("conf.d/a.conf"), inst("A", 1)).unwrap();
        fs::write(dir.join("conf.d/b.conf"), inst("B", 2)).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "conf::tests::alloc_probe",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE, &dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = text
            .lines()
            .find_map(|l| l.split_once("alloc-probe:"))
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("{text}"));
        let n: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
        assert_eq!(n[0], 0, "loading again allocated: {line}");
        assert!(
            n[1] > 0,
            "negative control: the counter saw no allocation: {line}"
        );
        // 2 warnings per load (no match, unknown keyword) x 5 loads + 1 missing file.
        assert_eq!(n[2], 10, "{line}");
        let _ = fs::remove_dir_all(dir);
    }
}
