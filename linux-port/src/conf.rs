//! Reading the configuration: files and `include` globs from disk, parsed
//! by `tandem_protocol::config` (which reports file:line diagnostics).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use tandem_protocol::config::{self, Config, Diagnostic, IncludeError};

/// Largest configuration file read.
const MAX_FILE: u64 = 1 << 20;

/// The outcome of loading a configuration.
pub struct Loaded {
    /// The configuration, if it had no error.
    pub config: Option<Box<Config>>,
    /// Errors reported.
    pub errors: u32,
    /// Warnings reported.
    pub warnings: u32,
}

/// Loads `path` and its includes; every diagnostic goes to `diag`.
/// `Err` only when the main file cannot be read.
pub fn load(path: &Path, diag: &mut dyn FnMut(&Diagnostic<'_>)) -> io::Result<Loaded> {
    let text = read(path).map_err(|e| match e {
        ReadError::Io(e) => e,
        ReadError::Include(k) => io::Error::new(io::ErrorKind::InvalidData, k.to_string()),
    })?;
    let name = path.to_string_lossy();
    let mut errors = 0;
    let mut warnings = 0;
    let mut count = |d: &Diagnostic<'_>| {
        if d.is_error() {
            errors += 1;
        } else {
            warnings += 1;
        }
        diag(d)
    };
    let result = config::parse_with(&name, &text, load_pattern, &mut count);
    Ok(Loaded {
        config: result.ok().map(Box::new),
        errors,
        warnings,
    })
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

enum ReadError {
    Io(io::Error),
    Include(IncludeError),
}

fn read(path: &Path) -> Result<String, ReadError> {
    let meta = fs::metadata(path).map_err(ReadError::Io)?;
    if meta.len() > MAX_FILE {
        return Err(ReadError::Include(IncludeError::TooLarge));
    }
    let bytes = fs::read(path).map_err(ReadError::Io)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Include(IncludeError::NotUtf8))
}

fn include_error(e: ReadError) -> IncludeError {
    match e {
        ReadError::Include(k) => k,
        ReadError::Io(e) => match e.kind() {
            io::ErrorKind::NotFound => IncludeError::NotFound,
            io::ErrorKind::PermissionDenied => IncludeError::PermissionDenied,
            _ => IncludeError::Io,
        },
    }
}

/// Resolves an `include` pattern relative to the including file's directory
/// and reads the matching files in sorted order. Wildcards (`*`, `?`,
/// `[...]`) are honoured in the last path component.
fn load_pattern(from: &str, pattern: &str) -> Result<Vec<(String, String)>, IncludeError> {
    let base = Path::new(from).parent().unwrap_or(Path::new(""));
    let full: PathBuf = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let files = expand(&full)?;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let text = read(&f).map_err(include_error)?;
        out.push((f.to_string_lossy().into_owned(), text));
    }
    Ok(out)
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn expand(full: &Path) -> Result<Vec<PathBuf>, IncludeError> {
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !has_wildcard(&name) {
        return Ok(vec![full.to_owned()]);
    }
    let dir = full.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(include_error(ReadError::Io(e))),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with('.') && !name.starts_with('.') {
            continue;
        }
        if glob_match(name.as_bytes(), n.as_bytes()) && e.path().is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
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
        let dir = std::env::temp_dir().join(format!("tandem-conf-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        let inst = |name: &str, vrid: u8| {
            format!(
                "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n virtual_ipaddress {{\n  10.0.0.{vrid}/24\n }}\n}}\n"
            )
        };
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
}
