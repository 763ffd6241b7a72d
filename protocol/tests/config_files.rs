//! protocol::config driven the way the Linux port drives it: real files,
//! includes resolved relative to the including file, `*` globs, sorted.

use std::path::{Path, PathBuf};

use tandem_protocol::config::{parse_with, Config, IncludeError, Invalid};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A loader like the port's: `pattern` relative to the including file's
/// directory; a `*` in the last component matches any run of characters.
fn load(from: &str, pattern: &str) -> Result<Vec<(String, String)>, IncludeError> {
    let base = Path::new(from).parent().unwrap_or(Path::new("."));
    let full = base.join(pattern);
    let mut names = Vec::new();
    let file_pattern = full.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if let Some((pre, post)) = file_pattern.split_once('*') {
        let dir = full.parent().unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len() {
                names.push(dir.join(n));
            }
        }
        names.sort();
    } else {
        names.push(full);
    }
    names
        .into_iter()
        .map(|p| match std::fs::read_to_string(&p) {
            Ok(t) => Ok((p.to_string_lossy().into_owned(), t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(IncludeError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(IncludeError::PermissionDenied)
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(IncludeError::NotUtf8),
            Err(_) => Err(IncludeError::Io),
        })
        .collect()
}

fn parse_file(path: &Path) -> (Result<Config, Invalid>, Vec<String>) {
    let name = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut msgs = Vec::new();
    let r = parse_with(&name, &text, load, &mut |d| msgs.push(d.to_string()));
    (r, msgs)
}

#[test]
fn seed_file_verbatim() {
    let (r, msgs) = parse_file(&fixtures().join("keepalived-seed.conf"));
    assert!(msgs.is_empty(), "{msgs:?}");
    let c = r.unwrap();
    assert_eq!(c.instances.len(), 2);
    assert_eq!(c.sync_groups[0].members.len(), 2);
}

#[test]
fn seed_split_over_included_files_is_the_same_config() {
    let (whole, _) = parse_file(&fixtures().join("keepalived-seed.conf"));
    let (split, msgs) = parse_file(&fixtures().join("include/main.conf"));
    assert!(msgs.is_empty(), "{msgs:?}");
    let mut split = split.unwrap();
    assert_eq!(split.global.router_id.as_deref(), Some("tandem-a"));
    split.global.router_id = None;
    assert_eq!(split, whole.unwrap());
}

#[test]
fn error_in_an_included_file_names_it() {
    let dir = std::env::temp_dir().join(format!("tandem-config-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::fs::write(dir.join("main.conf"), "include d/*.conf\n").unwrap();
    std::fs::write(
        dir.join("d/x.conf"),
        "vrrp_instance X {\n interface eth0\n virtual_router_id 300\n}\n",
    )
    .unwrap();
    let (r, msgs) = parse_file(&dir.join("main.conf"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(r.is_err());
    let x = dir.join("d/x.conf").to_string_lossy().into_owned();
    assert_eq!(
        msgs,
        [
            format!("{x}:3: virtual_router_id: expected an integer 1..=255, got '300'"),
            format!("{x}:1: vrrp_instance: instance 'X' has no virtual_router_id"),
            format!("{x}:1: warning: vrrp_instance: instance 'X' has no virtual address"),
        ]
    );
}
