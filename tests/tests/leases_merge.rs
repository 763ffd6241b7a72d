//! `tandem leases merge FILE…` (issue 5, point 5; no root needed): the
//! binary run on the captured dnsmasq files of two routers
//! (`protocol/src/lease/fixtures/`) and on the seed page's sample.
//!
//! Each positive check has its negative control: the seed's cron script
//! (`cat a b | sort -u`, run through `/bin/sh`) on the same input keeps
//! two lines for one client, two leases for one address and two `duid`
//! lines, and passes a corrupt line on silently — while the merge's output
//! is a valid file, and the corrupt line is reported and costs no other
//! lease.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tandem_protocol::lease::{lines, Lease, Line};
use tandem_tests::tandem_bin;

/// When the fixtures were captured (`fixtures/capture.env`): every finite
/// lease in them is still running at this second.
const CAPTURED: u64 = 1_795_675_734;

/// The seed page's sample `/tmp/dhcp.leases`.
const SEED: &str = "\
1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7
1633703352 c4:41:1e:68:97:62 192.168.222.243 hostname2 01:c4:41:1e:68:97:62
1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * 01:c0:10:b1:2c:e4:e6
1633703141 e8:f4:08:1f:9c:67 192.168.123.69 hostname3 01:e8:f4:08:1f:9c:67
";
/// A second before the seed's leases end.
const SEED_NOW: u64 = 1_633_700_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("protocol/src/lease/fixtures")
        .join(name)
}

fn r1() -> PathBuf {
    fixture("dnsmasq-2.90-r1.leases")
}

fn r2() -> PathBuf {
    fixture("dnsmasq-2.90-r2.leases")
}

fn dir(case: &str) -> PathBuf {
    let d = std::env::temp_dir()
        .join("tandem-itest")
        .join(format!("leases-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `tandem leases merge [--now now] files…`.
fn merge(now: Option<u64>, files: &[&Path]) -> Output {
    let mut c = Command::new(tandem_bin());
    c.args(["leases", "merge"]);
    if let Some(n) = now {
        c.arg("--now").arg(n.to_string());
    }
    c.args(files).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The seed's cron job on the same files: `cat a b | sort -u`.
fn seed_script(files: &[&Path]) -> String {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg("cat \"$@\" | sort -u")
        .arg("sh")
        .args(files)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success());
    text(&out.stdout)
}

/// A client's identity as the merge rules see it (client id, else hardware
/// address; DUID + IAID + IA type + /64 for IPv6).
fn client(l: &Lease) -> Option<String> {
    match l {
        Lease::V4(v) if !v.client_id.is_empty() => Some(format!("id {:?}", v.client_id)),
        Lease::V4(v) if !v.hwaddr.as_slice().is_empty() => Some(format!("hw {:?}", v.hwaddr)),
        Lease::V6(v) if !v.duid.is_empty() => Some(format!(
            "ia {:?} {} {} {:?}",
            v.duid,
            v.iaid,
            v.temporary,
            &v.addr.octets()[..8]
        )),
        _ => None,
    }
}

/// Checks that `out` is a lease file dnsmasq can load: every line parses,
/// at most one lease per address and per client, at most one `duid` line.
/// Returns its leases.
fn assert_valid(out: &str) -> Vec<Lease> {
    let mut addrs: HashSet<IpAddr> = HashSet::new();
    let mut clients: HashSet<String> = HashSet::new();
    let mut duids = 0;
    let mut leases = Vec::new();
    for (n, l) in lines(out.as_bytes()).enumerate() {
        match l {
            Ok(Line::Lease(l)) => {
                assert!(addrs.insert(l.addr()), "line {}: address twice: {l}", n + 1);
                if let Some(c) = client(&l) {
                    assert!(clients.insert(c), "line {}: client twice: {l}", n + 1);
                }
                leases.push(l);
            }
            Ok(Line::Duid(_)) => duids += 1,
            Ok(Line::Other(o)) => panic!("line {}: unexpected verbatim line {o:?}", n + 1),
            Err(e) => panic!("output {e}:\n{out}"),
        }
    }
    assert!(duids <= 1, "{duids} duid lines:\n{out}");
    leases
}

/// The lease lines of a file, as text.
fn lease_lines(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(String::from)
        .collect()
}

#[test]
fn two_routers_merge_to_a_valid_file() {
    let (a, b) = (r1(), r2());
    let out = merge(Some(CAPTURED), &[&a, &b]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let leases = assert_valid(&stdout);

    // Router 2's newer leases are all there, verbatim.
    let r2_text = std::fs::read_to_string(&b).unwrap();
    for l in lease_lines(&r2_text) {
        assert!(stdout.contains(&format!("{l}\n")), "missing {l}:\n{stdout}");
    }
    // Router 1's leases that nobody replaced are there too: 14 + 4 read,
    // 2 renewals replaced older lines, 1 address conflict.
    assert_eq!(leases.len(), 15, "{stdout}");
    // Router 1's DUID (the first file's) is kept.
    assert!(stdout.contains("duid 00:01:00:01:32:9a:92:c0:76:5a:1c:4c:69:5e\n"));
    // The conflict and the second DUID are warnings naming file and line.
    let r2_name = b.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{r2_name}:1: warning: address 10.77.0.141 claimed by two clients"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{r2_name}:4: warning: server duid differs")),
        "{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");

    // Negative control: the seed's script on the same files.
    let naive = seed_script(&[&a, &b]);
    let count = |pred: &dyn Fn(&str) -> bool| naive.lines().filter(|l| pred(l)).count();
    assert_eq!(count(&|l| l.contains(" 02:00:00:00:00:01 ")), 2);
    assert_eq!(count(&|l| l.contains(" 10.77.0.141 ")), 2);
    assert_eq!(count(&|l| l.starts_with("duid ")), 2);
    assert_eq!(count(&|l| l.contains(" v6host ")), 2);
    assert!(
        std::panic::catch_unwind(|| assert_valid(&naive)).is_err(),
        "the seed's output should not be a valid lease file"
    );
}

#[test]
fn corrupt_line_is_reported_and_no_other_lease_is_lost() {
    let d = dir("corrupt");
    let a = r1();
    let b = r2();
    let clean = merge(Some(CAPTURED), &[&a, &b]);
    assert_eq!(clean.status.code(), Some(0));
    let clean_out = text(&clean.stdout);

    // Router 1's file with one byte of line 3's hardware address damaged
    // (a flash bit flip, a truncated copy...).
    let r1_text = std::fs::read_to_string(&a).unwrap();
    let mut damaged: Vec<String> = r1_text.lines().map(String::from).collect();
    let victim = damaged[2].clone();
    assert!(victim.starts_with("1795718929 02:00:00:00:00:06 10.77.0.145 "));
    damaged[2] = victim.replacen("02:00:00:00:00:06", "02:00:00:0g:00:06", 1);
    let bad = d.join("router1.leases");
    std::fs::write(&bad, damaged.join("\n") + "\n").unwrap();

    let out = merge(Some(CAPTURED), &[&bad, &b]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // Reported with file, line and column; status 1.
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    let at = format!("{}:3:12: error: ", bad.display());
    assert!(stderr.contains(&at), "expected {at:?} in:\n{stderr}");
    assert!(stderr.contains("1 bad line(s) left out"), "{stderr}");
    // The rest is still merged: exactly the clean merge minus that lease.
    assert_valid(&stdout);
    let mut want = lease_lines(&clean_out);
    assert!(want.remove(&victim), "{victim} not in the clean merge");
    assert_eq!(lease_lines(&stdout), want);
    assert!(stdout.contains("duid "));

    // Negative control: the seed's script passes the damaged line on
    // without a word, for dnsmasq to choke on.
    let naive = seed_script(&[&bad, &b]);
    assert!(naive.contains("02:00:00:0g:00:06"));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn seed_sample_renewed_on_the_peer() {
    let d = dir("seed");
    let mine = d.join("dhcp.leases");
    std::fs::write(&mine, SEED).unwrap();
    // The peer renewed hostname1 and handed 192.168.123.148 to a new client.
    let peer = d.join("dhcp_lease_temp");
    std::fs::write(
        &peer,
        "1633706946 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7\n\
         1633706950 aa:bb:cc:00:11:22 192.168.123.148 newphone 01:aa:bb:cc:00:11:22\n",
    )
    .unwrap();
    let out = merge(Some(SEED_NOW), &[&mine, &peer]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let leases = assert_valid(&stdout);
    assert_eq!(leases.len(), 4, "{stdout}");
    assert!(stdout.contains("1633706946 00:1c:42:0f:b1:c7 192.168.222.244 hostname1"));
    assert!(stdout.contains(" 192.168.123.148 newphone "));
    assert!(stderr.contains("address 192.168.123.148 claimed by two clients"));

    // Merging one file gives it back byte for byte.
    let same = merge(Some(SEED_NOW), &[&mine]);
    assert_eq!(text(&same.stdout), SEED);

    // Negative control: sort -u keeps both of hostname1's lines and both
    // clients of 192.168.123.148.
    let naive = seed_script(&[&mine, &peer]);
    assert_eq!(naive.matches("hostname1").count(), 2);
    assert_eq!(naive.matches(" 192.168.123.148 ").count(), 2);

    // With the system clock (2021's leases have long ended) nothing is
    // left: ended leases are dropped.
    let now = merge(None, &[&mine, &peer]);
    assert_eq!(now.status.code(), Some(0));
    assert_eq!(text(&now.stdout), "");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn standard_input_and_trouble() {
    // `-` reads standard input.
    let mut child = Command::new(tandem_bin())
        .args(["leases", "merge", "--now", &SEED_NOW.to_string(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(SEED.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), SEED);

    // An unreadable file: status 2, nothing on stdout.
    let missing = dir("missing").join("nope.leases");
    let out = merge(Some(SEED_NOW), &[&r1(), &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("nope.leases: cannot read"));

    // Usage errors: status 2 with the usage text.
    let out = Command::new(tandem_bin())
        .args(["leases", "merge"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tandem leases merge [--now SECONDS] FILE..."));
    let out = Command::new(tandem_bin())
        .args(["leases", "merge", "--now", "yesterday", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
