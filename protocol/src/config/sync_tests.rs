//! Tests of the `tandem_sync { }` block: every keyword, every error with its
//! exact file:line text.

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;

fn run(text: &str) -> (Result<Config, Invalid>, Vec<String>) {
    let mut msgs = Vec::new();
    let r = parse_str("test.conf", text, &mut |d| msgs.push(d.to_string()));
    (r, msgs)
}

fn ok(text: &str) -> SyncConfig {
    let (r, msgs) = run(text);
    assert!(msgs.is_empty(), "unexpected diagnostics: {msgs:#?}");
    r.expect("valid").sync.expect("tandem_sync parsed")
}

fn warns(text: &str, expected: &[&str]) -> SyncConfig {
    let (r, msgs) = run(text);
    assert_eq!(msgs, expected);
    r.expect("valid despite warnings")
        .sync
        .expect("tandem_sync")
}

fn fails(text: &str, expected: &[&str]) {
    let (r, msgs) = run(text);
    assert_eq!(msgs, expected);
    let inv = r.expect_err("must be invalid");
    assert_eq!(
        inv.errors as usize,
        msgs.iter().filter(|m| !m.contains("warning:")).count()
    );
}

/// A valid block around `body` (body starts on line 5).
fn block(body: &str) -> String {
    format!(
        "tandem_sync {{\n    local_address 10.255.0.1\n    peer_address 10.255.0.2\n    key_file /etc/tandem/sync.key\n{body}\n}}\n"
    )
}

fn ip(s: &str) -> core::net::IpAddr {
    s.parse().unwrap()
}

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

#[test]
fn design_example() {
    let text = "\
tandem_sync {
    interface sync0               # dedicated link (or any interface)
    local_address 10.255.0.1
    peer_address 10.255.0.2       # may repeat for groups of 3+
    port 3780
    key_file /etc/tandem/sync.key # raw bytes, at least 32; or: key <64 hex digits>
    conntrack_capacity 16384      # external cache entries
    conntrack_filter {            # like conntrackd's Filter block
        protocol tcp udp icmp
        ignore_address 127.0.0.1
    }
    lease_file /tmp/dhcp.leases
    lease_capacity 1024
    dhcp_master_command \"/etc/init.d/dnsmasq restart\"  # on becoming MASTER
    dhcp_backup_command \"/etc/init.d/dnsmasq stop\"     # on BACKUP or FAULT
}
";
    let s = ok(text);
    assert_eq!(s.interface.as_deref(), Some("sync0"));
    assert_eq!(s.local_address, ip("10.255.0.1"));
    assert_eq!(s.peer_addresses.as_slice(), &[ip("10.255.0.2")]);
    assert_eq!(s.port, 3780);
    assert_eq!(
        s.key,
        SyncKey::File("/etc/tandem/sync.key".try_into().unwrap())
    );
    assert_eq!(s.conntrack_capacity, 16384);
    assert_eq!(s.conntrack_filter.protocols.as_slice(), &[6, 17, 1]);
    assert_eq!(
        s.conntrack_filter.ignore.as_slice(),
        &[(ip("127.0.0.1"), 32)]
    );
    assert_eq!(s.lease_file.as_deref(), Some("/tmp/dhcp.leases"));
    assert_eq!(s.lease_capacity, 1024);
    assert_eq!(
        s.dhcp_master_command.as_deref(),
        Some("/etc/init.d/dnsmasq restart")
    );
    assert_eq!(
        s.dhcp_backup_command.as_deref(),
        Some("/etc/init.d/dnsmasq stop")
    );
}

#[test]
fn defaults() {
    let s = ok(&block(""));
    assert_eq!(s.interface, None);
    assert_eq!(s.port, DEFAULT_SYNC_PORT);
    assert_eq!(s.conntrack_capacity, DEFAULT_CONNTRACK_CAPACITY);
    assert!(s.conntrack_filter.protocols.is_empty());
    assert!(s.conntrack_filter.ignore.is_empty());
    assert_eq!(s.lease_file, None);
    assert_eq!(s.lease_capacity, DEFAULT_LEASE_CAPACITY);
    assert_eq!(s.dhcp_master_command, None);
    assert_eq!(s.dhcp_backup_command, None);
    // No block, no sync.
    let (r, msgs) = run("");
    assert!(msgs.is_empty());
    assert_eq!(r.unwrap().sync, None);
}

#[test]
fn with_instances_and_braces_on_next_line() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n \
                virtual_ipaddress { 10.0.0.1/24 }\n}\ntandem_sync\n{\n local_address fd00::1\n \
                peer_address fd00::2\n peer_address fd00::3\n key KEY\n conntrack_filter\n {\n \
                protocol 58 ICMPv6 sctp\n ignore_address fd00::/64 10.0.0.0/8\n }\n}\n"
        .replace("KEY", KEY_HEX);
    let (r, msgs) = run(&text);
    assert!(msgs.is_empty(), "{msgs:?}");
    let c = r.unwrap();
    assert_eq!(c.instances.len(), 1);
    let s = c.sync.unwrap();
    assert_eq!(s.peer_addresses.len(), 2);
    let mut want = [0u8; 32];
    for (i, b) in want.iter_mut().enumerate() {
        *b = i as u8;
    }
    assert_eq!(s.key, SyncKey::Inline(want));
    assert_eq!(s.conntrack_filter.protocols.as_slice(), &[58, 132]);
    assert_eq!(
        s.conntrack_filter.ignore.as_slice(),
        &[(ip("fd00::"), 64), (ip("10.0.0.0"), 8)]
    );
    // The inline key never shows in Debug output.
    let dbg = format!("{:?}", s.key);
    assert_eq!(dbg, "Inline(..)");
    assert!(!format!("{s:?}").contains("31"));
}

#[test]
fn commands_unquoted_words_are_joined() {
    let s = ok(&block(
        "    dhcp_master_command /etc/init.d/dnsmasq   restart\n    dhcp_backup_command 'a  b'",
    ));
    assert_eq!(
        s.dhcp_master_command.as_deref(),
        Some("/etc/init.d/dnsmasq restart")
    );
    assert_eq!(s.dhcp_backup_command.as_deref(), Some("a  b"));
}

#[test]
fn command_length_limit_and_contents() {
    // 127 + 1 + 127 = 255 bytes joined: fits; one more byte does not.
    let (a, b) = ("a".repeat(127), "b".repeat(127));
    let s = ok(&block(&format!("    dhcp_master_command {a} {b}")));
    assert_eq!(s.dhcp_master_command.map(|c| c.len()), Some(255));
    fails(
        &block(&format!("    dhcp_master_command {a} {b}x")),
        &[&format!(
            "test.conf:5: dhcp_master_command: expected a command of 1 to 255 bytes, got '{a}'"
        )],
    );
    // Whitespace only, or a control character: invalid; a bad value keeps the old one.
    fails(
        &block("    dhcp_backup_command ' ' '\t'"),
        &["test.conf:5: dhcp_backup_command: expected a command of 1 to 255 bytes, got ' '"],
    );
    fails(
        &block("    dhcp_backup_command run 'a\u{7}'"),
        &["test.conf:5: dhcp_backup_command: expected a command of 1 to 255 bytes, got 'run'"],
    );
    let (r, _) = run(&block(
        "    dhcp_backup_command one\n    dhcp_backup_command ' '",
    ));
    assert!(r.is_err());
}

#[test]
fn missing_required_keywords() {
    fails(
        "tandem_sync {\n}\n",
        &[
            "test.conf:1: tandem_sync: missing 'local_address'",
            "test.conf:1: tandem_sync: missing 'peer_address'",
            "test.conf:1: tandem_sync: missing 'key_file or key'",
        ],
    );
    fails(
        "tandem_sync {\n local_address 10.0.0.1\n key_file k\n}\n",
        &["test.conf:1: tandem_sync: missing 'peer_address'"],
    );
}

#[test]
fn value_errors() {
    let cases: Vec<(&str, &str)> = vec![
        (
            "    interface a/b",
            "test.conf:5: interface: expected an interface name of 1 to 15 bytes without '/', ':' or spaces, got 'a/b'",
        ),
        (
            "    port 0",
            "test.conf:5: port: expected an integer 1..=65535, got '0'",
        ),
        (
            "    port 65536",
            "test.conf:5: port: expected an integer 1..=65535, got '65536'",
        ),
        (
            "    port",
            "test.conf:5: port: missing value, expected an integer 1..=65535",
        ),
        (
            "    conntrack_capacity 0",
            "test.conf:5: conntrack_capacity: expected an integer 1..=4194304, got '0'",
        ),
        (
            "    lease_capacity lots",
            "test.conf:5: lease_capacity: expected an integer 1..=1048576, got 'lots'",
        ),
        (
            "    peer_address 10.255.0.300",
            "test.conf:5: peer_address: expected an IPv4 or IPv6 address, got '10.255.0.300'",
        ),
        (
            "    peer_address 10.255.0.2",
            "test.conf:5: peer_address: '10.255.0.2' is already defined",
        ),
        (
            "    peer_address 10.255.0.1",
            "test.conf:5: peer_address: '10.255.0.1' is the local_address",
        ),
        (
            "    peer_address fd00::2",
            "test.conf:5: peer_address: 'fd00::2' is not of the same address family as local_address",
        ),
        (
            "    key 0011",
            "test.conf:5: key: expected 64 hexadecimal digits (a 32-byte key), got '0011'",
        ),
        (
            "    lease_file",
            "test.conf:5: lease_file: missing value, expected a file name of 1 to 128 bytes",
        ),
        (
            "    dhcp_master_command",
            "test.conf:5: dhcp_master_command: missing value, expected a command of 1 to 255 bytes",
        ),
        (
            "    dhcp_backup_command \"\"",
            "test.conf:5: dhcp_backup_command: missing value, expected a command of 1 to 255 bytes",
        ),
        (
            "    conntrack_filter {\n        protocol tcp foo\n    }",
            "test.conf:6: protocol: expected a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre) or number 0..=255, got 'foo'",
        ),
        (
            "    conntrack_filter {\n        protocol 256\n    }",
            "test.conf:6: protocol: expected a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre) or number 0..=255, got '256'",
        ),
        (
            "    conntrack_filter {\n        protocol\n    }",
            "test.conf:6: protocol: missing value, expected a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre) or number 0..=255",
        ),
        (
            "    conntrack_filter {\n        ignore_address 10.0.0.0/33\n    }",
            "test.conf:6: ignore_address: expected an address with optional /prefix length, got '10.0.0.0/33'",
        ),
        (
            "    conntrack_filter {\n        ignore_address\n    }",
            "test.conf:6: ignore_address: missing value, expected an address with optional /prefix length",
        ),
    ];
    for (body, msg) in cases {
        fails(&block(body), &[msg]);
    }
}

#[test]
fn key_and_key_file_conflict() {
    fails(
        &block(&format!("    key {KEY_HEX}")),
        &["test.conf:5: key: cannot be combined with 'key_file' (use one of them)"],
    );
    let s = warns(
        &block("    key_file /other"),
        &["test.conf:5: warning: key_file: given again; the last value is used"],
    );
    assert_eq!(s.key, SyncKey::File("/other".try_into().unwrap()));
    let long = "k".repeat(PATH_LEN + 1);
    fails(
        &format!("tandem_sync {{\n local_address 10.0.0.1\n peer_address 10.0.0.2\n key_file {long}\n}}\n"),
        &[
            &format!("test.conf:4: key_file: expected a file name of 1 to 128 bytes, got '{long}'"),
            "test.conf:1: tandem_sync: missing 'key_file or key'",
        ],
    );
    let bad_hex = KEY_HEX.replace('A', "g");
    fails(
        &format!(
            "tandem_sync {{\n local_address 10.0.0.1\n peer_address 10.0.0.2\n key {bad_hex}\n}}\n"
        ),
        &[
            &format!(
                "test.conf:4: key: expected 64 hexadecimal digits (a 32-byte key), got '{bad_hex}'"
            ),
            "test.conf:1: tandem_sync: missing 'key_file or key'",
        ],
    );
}

#[test]
fn capacities_and_repeats() {
    let peers: String = (3..=6)
        .map(|i| format!("    peer_address 10.255.0.{i}\n"))
        .collect();
    fails(
        &block(peers.trim_end()),
        &["test.conf:8: peer_address: too many peer addresses in tandem_sync (at most 4): '10.255.0.6' dropped"],
    );
    let protos: String = (100..=116).map(|p| format!(" {p}")).collect();
    fails(
        &block(&format!("    conntrack_filter {{\n        protocol{protos}\n    }}")),
        &["test.conf:6: protocol: too many protocols in conntrack_filter (at most 16): '116' dropped"],
    );
    let addrs: String = (1..=17).map(|i| format!(" 10.9.9.{i}")).collect();
    fails(
        &block(&format!("    conntrack_filter {{\n        ignore_address{addrs}\n    }}")),
        &["test.conf:6: ignore_address: too many ignored addresses in conntrack_filter (at most 16): '10.9.9.17' dropped"],
    );
    // Repeated protocols and addresses are kept once; lines accumulate.
    let s = ok(&block(
        "    conntrack_filter {\n        protocol tcp tcp\n        protocol udp\n        ignore_address 1.2.3.4 1.2.3.4/32\n        ignore_address ::1\n    }",
    ));
    assert_eq!(s.conntrack_filter.protocols.as_slice(), &[6, 17]);
    assert_eq!(
        s.conntrack_filter.ignore.as_slice(),
        &[(ip("1.2.3.4"), 32), (ip("::1"), 128)]
    );
    let s = warns(
        &block("    port 1\n    port 2"),
        &["test.conf:6: warning: port: given again; the last value is used"],
    );
    assert_eq!(s.port, 2);
}

#[test]
fn block_level_errors() {
    fails(
        &format!("{}{}", block(""), block("")),
        &["test.conf:7: tandem_sync: 'tandem_sync' is already defined"],
    );
    warns(
        &block("    frobnicate 3\n    conntrack_filter {\n        mode fast\n    }"),
        &[
            "test.conf:5: warning: unknown keyword 'frobnicate' (ignored)",
            "test.conf:7: warning: unknown keyword 'mode' (ignored)",
        ],
    );
    warns(
        &block("    local_address 10.255.0.1 extra"),
        &[
            "test.conf:5: warning: local_address: given again; the last value is used",
            "test.conf:5: warning: local_address: extra value 'extra' ignored",
        ],
    );
    fails(
        "tandem_sync\n",
        &[
            "test.conf:1: tandem_sync: missing value, expected '{'",
            "test.conf:1: tandem_sync: missing 'local_address'",
            "test.conf:1: tandem_sync: missing 'peer_address'",
            "test.conf:1: tandem_sync: missing 'key_file or key'",
        ],
    );
    fails(
        "tandem_sync {\n local_address 10.0.0.1\n",
        &[
            "test.conf:1: tandem_sync: block opened here is never closed",
            "test.conf:1: tandem_sync: missing 'peer_address'",
            "test.conf:1: tandem_sync: missing 'key_file or key'",
        ],
    );
}
