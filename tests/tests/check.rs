//! `tandem check -c FILE` (no root needed): the seed configuration and its VRRPv3
//! variant are accepted; each broken variant — the seed with one line changed — is
//! rejected with a non-zero exit and a diagnostic naming `file:line`. The seed
//! itself passing is the negative control of every rejection: only the changed line
//! can be the cause.

use std::path::{Path, PathBuf};
use std::process::Command;

use tandem_tests::{tandem_bin, VrrpConf, SEED_KEEPALIVED_CONF};

fn dir(case: &str) -> PathBuf {
    let d = std::env::temp_dir()
        .join("tandem-itest")
        .join(format!("check-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `tandem check -c path`: (success, stdout + stderr).
fn check(path: &Path) -> (bool, String) {
    let out = Command::new(tandem_bin())
        .arg("check")
        .arg("-c")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The seed with line `line` (1-based) replaced by `with` (`None`: deleted).
fn seed_with(line: usize, with: Option<&str>) -> String {
    let mut lines: Vec<&str> = SEED_KEEPALIVED_CONF.lines().collect();
    match with {
        Some(w) => lines[line - 1] = w,
        None => {
            lines.remove(line - 1);
        }
    }
    lines.join("\n") + "\n"
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn seed_and_v3_variant_are_accepted() {
    let d = dir("good");
    for (name, text) in [
        ("seed.conf", SEED_KEEPALIVED_CONF.to_string()),
        ("v3.conf", VrrpConf::v3_fast().priority(150).render()),
        (
            "plain.conf",
            VrrpConf::seed()
                .sync_group(false)
                .nopreempt(false)
                .auth_pass(None)
                .render(),
        ),
    ] {
        let p = write(&d, name, &text);
        let (ok, out) = check(&p);
        assert!(
            ok,
            "tandem check rejected {name}:\n{text}\n--- output:\n{out}"
        );
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn broken_configs_fail_with_file_and_line() {
    let d = dir("broken");
    // (description, line to change, replacement; the diagnostic must name `line`)
    let cases: &[(&str, usize, Option<&str>, usize)] = &[
        ("priority out of range", 16, Some("  priority 300"), 16),
        ("virtual_router_id 0", 15, Some("  virtual_router_id 0"), 15),
        ("bad virtual address", 19, Some("    10.9.8.300/24"), 19),
        ("unknown auth_type", 22, Some("    auth_type FOO"), 22),
        ("non-numeric advert_int", 34, Some("  advert_int often"), 34),
        (
            "bad route metric",
            39,
            Some("    src 192.168.0.4 to 0.0.0.0/0 via 192.168.0.1 dev eth0.2 metric x"),
            39,
        ),
        ("unclosed block", 46, None, 29),
    ];
    let mut failures = Vec::new();
    for (i, &(what, line, with, at)) in cases.iter().enumerate() {
        let p = write(&d, &format!("case{i}.conf"), &seed_with(line, with));
        let (ok, out) = check(&p);
        let want = format!("{}:{at}", p.display());
        if ok || !out.contains(&want) {
            failures.push(format!(
                "{what}: exit ok={ok}, expected a diagnostic naming {want}, got:\n{out}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn error_in_included_file_names_that_file() {
    let d = dir("include");
    let sub = "! extra instance\nvrrp_instance X1 {\n  state backup\n  interface br-lan\n  virtual_router_id 52\n  priority 999\n  virtual_ipaddress {\n    10.9.8.5/24\n  }\n}\n";
    write(&d, "sub.conf", sub);
    let main = write(
        &d,
        "main.conf",
        &format!("{SEED_KEEPALIVED_CONF}include sub.conf\n"),
    );
    let (ok, out) = check(&main);
    assert!(
        !ok && out.contains("sub.conf:6"),
        "expected an error naming sub.conf:6, got ok={ok}:\n{out}"
    );
    // Control: the same include with a valid priority passes.
    write(&d, "sub.conf", &sub.replace("priority 999", "priority 99"));
    let (ok, out) = check(&main);
    assert!(ok, "valid include rejected:\n{out}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn unknown_keyword_is_a_warning_with_file_and_line() {
    let d = dir("warn");
    let p = write(&d, "warn.conf", &seed_with(17, Some("  frobnicate 1")));
    let (ok, out) = check(&p);
    let want = format!("{}:17", p.display());
    assert!(ok, "an unknown keyword should only warn, got:\n{out}");
    assert!(
        out.contains(&want) && out.contains("frobnicate"),
        "expected a warning naming {want}, got:\n{out}"
    );
    let (ok, out) = check(&d.join("missing.conf"));
    assert!(!ok, "a missing file passed the check:\n{out}");
    let _ = std::fs::remove_dir_all(d);
}

/// The summary counts every warning printed, also those of the checks after
/// parsing (an instance without a virtual address): it once said 0. The
/// negative control is the same file with an address: no warning, count 0.
#[test]
fn summary_counts_the_warnings_of_the_final_checks() {
    let d = dir("count");
    let bare = "vrrp_instance I1 {\n interface eth0\n virtual_router_id 5\n}\n";
    let p = write(&d, "bare.conf", bare);
    let (ok, out) = check(&p);
    assert!(
        ok,
        "a missing virtual address should only warn, got:\n{out}"
    );
    assert!(
        out.contains("no virtual address")
            && out.contains("OK: 1 instance(s), 0 sync group(s), 1 warning(s)"),
        "expected the warning and a count of 1, got:\n{out}"
    );
    let with = "vrrp_instance I1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n";
    let p = write(&d, "with.conf", with);
    let (ok, out) = check(&p);
    assert!(
        ok && out.contains("0 warning(s)") && !out.contains("warning:"),
        "got:\n{out}"
    );
    let _ = std::fs::remove_dir_all(d);
}
