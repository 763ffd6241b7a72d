//! Unit tests: every keyword, every diagnostic with its exact file:line text,
//! include handling, and a deterministic no-panic fuzz.

use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;

const SEED: &str = include_str!("../../tests/fixtures/keepalived-seed.conf");

/// Parse `text` as `test.conf`; return the result and every diagnostic as text.
fn run(text: &str) -> (Result<Config, Invalid>, Vec<String>) {
    let mut msgs = Vec::new();
    let r = parse_str("test.conf", text, &mut |d| msgs.push(d.to_string()));
    (r, msgs)
}

/// Parse, expect success and no diagnostic at all.
fn ok(text: &str) -> Config {
    let (r, msgs) = run(text);
    assert!(msgs.is_empty(), "unexpected diagnostics: {msgs:#?}");
    r.expect("valid")
}

/// Parse, expect success with exactly these warnings.
fn warns(text: &str, expected: &[&str]) -> Config {
    let (r, msgs) = run(text);
    assert_eq!(msgs, expected);
    r.expect("valid despite warnings")
}

/// Parse, expect failure with exactly these diagnostics.
fn fails(text: &str, expected: &[&str]) {
    let (r, msgs) = run(text);
    assert_eq!(msgs, expected);
    let inv = r.expect_err("must be invalid");
    assert_eq!(
        inv.errors as usize,
        msgs.iter().filter(|m| !m.contains("warning:")).count()
    );
}

/// A minimal valid instance around `body` (lines 1-4 are fixed, body starts
/// on line 5).
fn inst(body: &str) -> String {
    format!(
        "vrrp_instance V {{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {{ 10.0.0.1/24 }}\n{body}\n}}\n"
    )
}

fn one(text: &str) -> Instance {
    let c = ok(text);
    assert_eq!(c.instances.len(), 1);
    c.instances[0].clone()
}

fn ip(s: &str) -> core::net::IpAddr {
    s.parse().unwrap()
}

// ------------------------------------------------------------------ seed

#[test]
fn seed_verbatim() {
    let c = ok(SEED);
    assert_eq!(c.instances.len(), 2);
    assert_eq!(c.sync_groups.len(), 1);
    let (ii, i1) = c.instance("I1").unwrap();
    let (ei, e1) = c.instance("E1").unwrap();
    assert_eq!((ii, ei), (0, 1));
    assert_eq!(c.sync_groups[0].name.as_str(), "G1");
    // `group { E1 I1 }` in that order.
    assert_eq!(c.sync_groups[0].members.as_slice(), &[1, 0]);
    for i in [i1, e1] {
        assert_eq!(i.initial_state, InitialState::Backup);
        assert_eq!(i.vrid, 51);
        assert_eq!(i.priority, 101);
        assert_eq!(i.advert_int_cs, 100);
        assert_eq!(i.version, Version::V2);
        assert_eq!(i.family, Family::Ipv4);
        assert!(!i.preempt);
        assert_eq!(i.auth_pass, Some(*b"s3cret\0\0"));
        assert_eq!(i.sync_group, Some(0));
        assert!(i.accept);
        assert!(!i.v3_checksum_as_v2);
        assert!(i.unicast_peers.is_empty());
        assert_eq!(i.garp_master_delay_s, 5);
        assert_eq!(i.garp_master_repeat, 5);
        assert_eq!(i.garp_master_refresh_s, 0);
    }
    assert_eq!(i1.interface.as_str(), "br-lan");
    assert_eq!(e1.interface.as_str(), "eth0.2");
    assert_eq!(
        i1.virtual_addresses.as_slice(),
        &[VirtualAddress {
            addr: ip("10.9.8.4"),
            prefix_len: 24,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
        }]
    );
    assert_eq!(e1.virtual_addresses[0].addr, ip("192.168.0.4"));
    assert!(i1.virtual_routes.is_empty());
    assert_eq!(
        e1.virtual_routes.as_slice(),
        &[VirtualRoute {
            kind: RouteType::Unicast,
            dst: ip("0.0.0.0"),
            dst_len: 0,
            src: Some(ip("192.168.0.4")),
            via: Some(ip("192.168.0.1")),
            dev: Some(IfName::try_from("eth0.2").unwrap()),
            metric: Some(5),
            table: None,
            scope: None,
            onlink: false,
        }]
    );
}

#[test]
fn seed_with_other_interface_names() {
    let text = SEED
        .replace("br-lan", "lan0")
        .replace("dev eth0.2", "dev wan0")
        .replace("interface eth0.2", "interface wan0");
    let c = ok(&text);
    assert_eq!(c.instance("I1").unwrap().1.interface.as_str(), "lan0");
    let e1 = c.instance("E1").unwrap().1;
    assert_eq!(e1.interface.as_str(), "wan0");
    assert_eq!(e1.virtual_routes[0].dev.as_deref(), Some("wan0"));
}

#[test]
fn seed_with_crlf_and_tabs() {
    let text = SEED.replace('\n', "\r\n").replace("  ", "\t");
    assert_eq!(ok(&text).instances.len(), 2);
}

// ------------------------------------------------------------- keywords

#[test]
fn defaults() {
    let i = one(&inst(""));
    assert_eq!(i.priority, 100);
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.advert_int_cs, 100);
    assert_eq!(i.advert_int_micros(), 1_000_000);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay_ms, 0);
    assert!(i.accept);
    assert_eq!(i.auth_pass, None);
    assert_eq!(i.src_ip, None);
    assert!(!i.is_unicast());
    assert_eq!(i.sync_group, None);
    assert_eq!(i.garp_master_refresh_repeat, 1);
}

#[test]
fn state_keyword() {
    assert_eq!(
        one(&inst("state MASTER")).initial_state,
        InitialState::Master
    );
    assert_eq!(
        one(&inst("state master")).initial_state,
        InitialState::Master
    );
    assert_eq!(
        one(&inst("state BACKUP")).initial_state,
        InitialState::Backup
    );
    assert_eq!(
        one(&inst("state backup")).initial_state,
        InitialState::Backup
    );
    let c = warns(
        &inst("state FAULT"),
        &["test.conf:5: warning: state: unknown state 'FAULT', using BACKUP"],
    );
    assert_eq!(c.instances[0].initial_state, InitialState::Backup);
    fails(
        &inst("state"),
        &["test.conf:5: state: missing value, expected a name of 1 to 32 bytes"],
    );
}

#[test]
fn interface_keyword() {
    let c = ok("vrrp_instance V {\n interface eth0.2\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n");
    assert_eq!(c.instances[0].interface.as_str(), "eth0.2");
    fails(
        "vrrp_instance V {\n interface abcdefghijklmnop\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n",
        &[
            "test.conf:2: interface: expected an interface name of 1 to 15 bytes without '/', ':' or spaces, got 'abcdefghijklmnop'",
            "test.conf:1: vrrp_instance: instance 'V' has no interface",
        ],
    );
    warns(
        &inst("interface eth1"),
        &["test.conf:5: warning: interface: given again; the last value is used"],
    );
}

#[test]
fn virtual_router_id_keyword() {
    assert_eq!(one(&inst("")).vrid, 7);
    fails(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 0\n}\n",
        &[
            "test.conf:3: virtual_router_id: expected an integer 1..=255, got '0'",
            "test.conf:1: vrrp_instance: instance 'V' has no virtual_router_id",
            "test.conf:1: warning: vrrp_instance: instance 'V' has no virtual address",
        ],
    );
    fails(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 256\n virtual_ipaddress { 10.0.0.1 }\n}\n",
        &[
            "test.conf:3: virtual_router_id: expected an integer 1..=255, got '256'",
            "test.conf:1: vrrp_instance: instance 'V' has no virtual_router_id",
        ],
    );
    warns(
        &inst("virtual_router_id 8"),
        &["test.conf:5: warning: virtual_router_id: given again; the last value is used"],
    );
}

#[test]
fn priority_keyword() {
    assert_eq!(one(&inst("priority 255")).priority, 255);
    assert_eq!(one(&inst("priority 1")).priority, 1);
    fails(
        &inst("priority abc"),
        &["test.conf:5: priority: expected an integer 1..=255, got 'abc'"],
    );
    fails(
        &inst("priority 0"),
        &["test.conf:5: priority: expected an integer 1..=255, got '0'"],
    );
    warns(
        &inst("priority 100 extra"),
        &["test.conf:5: warning: priority: extra value 'extra' ignored"],
    );
}

#[test]
fn advert_int_keyword() {
    assert_eq!(one(&inst("advert_int 3")).advert_int_cs, 300);
    let i = one(&inst("version 3\nadvert_int 0.1"));
    assert_eq!((i.version, i.advert_int_cs), (Version::V3, 10));
    let c = warns(
        &inst("advert_int 0.5"),
        &["test.conf:5: warning: advert_int: adjusted to 1.00 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
    );
    assert_eq!(c.instances[0].advert_int_cs, 100);
    let c = warns(
        &inst("advert_int 2.5"),
        &["test.conf:5: warning: advert_int: adjusted to 3.00 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
    );
    assert_eq!(c.instances[0].advert_int_cs, 300);
    let c = warns(
        &inst("advert_int 300"),
        &["test.conf:5: warning: advert_int: adjusted to 255.00 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
    );
    assert_eq!(c.instances[0].advert_int_cs, 25500);
    let c = warns(
        &inst("version 3\nadvert_int 0.001"),
        &["test.conf:6: warning: advert_int: adjusted to 0.01 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
    );
    assert_eq!(c.instances[0].advert_int_cs, 1);
    let c = warns(
        &inst("version 3\nadvert_int 41"),
        &["test.conf:6: warning: advert_int: adjusted to 40.95 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
    );
    assert_eq!(c.instances[0].advert_int_cs, 4095);
    fails(
        &inst("advert_int 0"),
        &["test.conf:5: advert_int: expected a time in seconds 0..=65535 (fractions allowed, e.g. 0.5), got '0'"],
    );
    fails(
        &inst("advert_int fast"),
        &["test.conf:5: advert_int: expected a time in seconds 0..=65535 (fractions allowed, e.g. 0.5), got 'fast'"],
    );
}

#[test]
fn version_keyword() {
    assert_eq!(one(&inst("version 3")).version, Version::V3);
    assert_eq!(one(&inst("version 2")).version, Version::V2);
    fails(
        &inst("version 4"),
        &["test.conf:5: version: expected 2 or 3, got '4'"],
    );
    // Global default, at top level or in global_defs; the instance wins.
    let c = ok(&format!("vrrp_version 3\n{}", inst("")));
    assert_eq!(c.instances[0].version, Version::V3);
    assert_eq!(c.global.vrrp_version, Version::V3);
    let c = ok(&format!(
        "{}global_defs {{\n vrrp_version 3\n}}\n",
        inst("")
    ));
    assert_eq!(c.instances[0].version, Version::V3);
    let c = ok(&format!("vrrp_version 3\n{}", inst("version 2")));
    assert_eq!(c.instances[0].version, Version::V2);
    fails(
        "vrrp_version 1\n",
        &["test.conf:1: vrrp_version: expected an integer 2..=3, got '1'"],
    );
}

#[test]
fn ipv6_instance_uses_v3() {
    let text = "vrrp_instance V6 {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  fe80::1/64\n  2001:db8::1/64 dev eth1\n }\n}\n";
    let i = one(text);
    assert_eq!((i.family, i.version), (Family::Ipv6, Version::V3));
    assert_eq!(i.virtual_addresses[1].dev.as_deref(), Some("eth1"));
    let text = text.replace(" interface eth0\n", " interface eth0\n version 2\n");
    let c = warns(
        &text,
        &["test.conf:3: warning: version: IPv6 instance 'V6' uses VRRP version 3"],
    );
    assert_eq!(c.instances[0].version, Version::V3);
}

#[test]
fn preempt_keywords() {
    assert!(!one(&inst("nopreempt")).preempt);
    let c = warns(
        &inst("nopreempt\npreempt"),
        &["test.conf:6: warning: preempt: given again; the last value is used"],
    );
    assert!(c.instances[0].preempt);
    let i = one(&inst("preempt"));
    assert!(i.preempt);
    warns(
        &inst("nopreempt yes"),
        &["test.conf:5: warning: nopreempt: extra value 'yes' ignored"],
    );
    warns(
        &inst("state MASTER\nnopreempt"),
        &["test.conf:1: warning: nopreempt: nopreempt has no effect on instance 'V' with state MASTER"],
    );
}

#[test]
fn preempt_delay_keyword() {
    assert_eq!(one(&inst("preempt_delay 300")).preempt_delay_ms, 300_000);
    assert_eq!(one(&inst("preempt_delay 4.12")).preempt_delay_ms, 4_120);
    fails(
        &inst("preempt_delay 1001"),
        &["test.conf:5: preempt_delay: expected a time in seconds 0..=1000 (fractions allowed, e.g. 0.5), got '1001'"],
    );
    let c = warns(
        &inst("nopreempt\npreempt_delay 10"),
        &["test.conf:1: warning: preempt_delay: instance 'V' has nopreempt; preempt_delay is reset to 0"],
    );
    assert_eq!(c.instances[0].preempt_delay_ms, 0);
}

#[test]
fn accept_keywords() {
    assert!(!one(&inst("no_accept")).accept);
    assert!(one(&inst("accept")).accept);
}

#[test]
fn v3_checksum_as_v2_keyword() {
    assert!(one(&inst("v3_checksum_as_v2")).v3_checksum_as_v2);
    assert!(one(&inst("v3_checksum_as_v2 yes")).v3_checksum_as_v2);
    assert!(!one(&inst("v3_checksum_as_v2 off")).v3_checksum_as_v2);
    let c = ok(&format!(
        "global_defs {{\n v3_checksum_as_v2\n}}\n{}",
        inst("")
    ));
    assert!(c.global.v3_checksum_as_v2);
    assert!(c.instances[0].v3_checksum_as_v2);
    let c = ok(&format!(
        "global_defs {{\n v3_checksum_as_v2 true\n}}\n{}",
        inst("v3_checksum_as_v2 false")
    ));
    assert!(!c.instances[0].v3_checksum_as_v2);
    fails(
        &inst("v3_checksum_as_v2 maybe"),
        &["test.conf:5: v3_checksum_as_v2: expected one of on|off|true|false|yes|no, got 'maybe'"],
    );
}

#[test]
fn src_ip_keywords() {
    assert_eq!(
        one(&inst("unicast_src_ip 10.0.0.2")).src_ip,
        Some(ip("10.0.0.2"))
    );
    assert_eq!(
        one(&inst("mcast_src_ip 10.0.0.3")).src_ip,
        Some(ip("10.0.0.3"))
    );
    fails(
        &inst("unicast_src_ip 10.0.0"),
        &["test.conf:5: unicast_src_ip: expected an IPv4 or IPv6 address, got '10.0.0'"],
    );
    fails(
        &inst("unicast_src_ip fe80::2"),
        &["test.conf:5: unicast_src_ip: 'fe80::2' is not of the same address family as the instance's first virtual address"],
    );
}

#[test]
fn unicast_peer_keyword() {
    let i = one(&inst("unicast_peer {\n 10.0.0.2\n 10.0.0.3\n}"));
    assert_eq!(
        i.unicast_peers.as_slice(),
        &[ip("10.0.0.2"), ip("10.0.0.3")]
    );
    assert!(i.is_unicast());
    warns(
        &inst("unicast_peer {\n 10.0.0.2 min_ttl 250\n}"),
        &["test.conf:6: warning: unicast_peer: option 'min_ttl' is not supported by Tandem (ignored)"],
    );
    fails(
        &inst("unicast_peer {\n 10.0.0.2\n 10.0.0.2\n}"),
        &["test.conf:7: unicast_peer: '10.0.0.2' is already defined"],
    );
    fails(
        &inst("unicast_peer {\n host.example\n}"),
        &["test.conf:6: unicast_peer: expected an IPv4 or IPv6 address, got 'host.example'"],
    );
    let peers: String = (1..=9).map(|n| format!(" 10.0.1.{n}\n")).collect();
    fails(
        &inst(&format!("unicast_peer {{\n{peers}}}")),
        &["test.conf:14: unicast_peer: too many unicast peers in one instance (at most 8): '10.0.1.9' dropped"],
    );
    // Peers of the wrong family (no source address to compare with: the VIPs decide).
    fails(
        &inst("unicast_peer {\n fe80::2\n}"),
        &["test.conf:1: unicast_peer: 'fe80::2' is not of the same address family as the instance's first virtual address"],
    );
}

#[test]
fn track_interface_keyword() {
    let i = one(&inst(
        "track_interface {\n eth1\n eth2 weight -20\n eth3 weight 10 reverse\n}",
    ));
    let t = i.track_interfaces.as_slice();
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].name.as_str(), t[0].weight, t[0].reverse),
        ("eth1", 0, false)
    );
    assert_eq!(
        (t[1].name.as_str(), t[1].weight, t[1].reverse),
        ("eth2", -20, false)
    );
    assert_eq!(
        (t[2].name.as_str(), t[2].weight, t[2].reverse),
        ("eth3", 10, true)
    );
    fails(
        &inst("track_interface {\n eth1 weight 300\n}"),
        &["test.conf:6: weight: expected an integer -253..=253, got '300'"],
    );
    fails(
        &inst("track_interface {\n eth1 heavy\n}"),
        &["test.conf:6: track_interface: expected 'weight N [reverse]', got 'heavy'"],
    );
    let c = warns(
        &inst("track_interface {\n eth0\n eth1\n}"),
        &["test.conf:1: warning: track_interface: 'eth0' is the instance's own interface, always tracked (entry ignored)"],
    );
    assert_eq!(c.instances[0].track_interfaces.len(), 1);
}

#[test]
fn garp_keywords() {
    let i = one(&inst(
        "garp_master_delay 10\ngarp_master_repeat 2\ngarp_master_refresh 60\ngarp_master_refresh_repeat 3",
    ));
    assert_eq!(
        (
            i.garp_master_delay_s,
            i.garp_master_repeat,
            i.garp_master_refresh_s,
            i.garp_master_refresh_repeat
        ),
        (10, 2, 60, 3)
    );
    let c = ok(&format!(
        "global_defs {{\n vrrp_garp_master_delay 1\n vrrp_garp_master_repeat 1\n vrrp_garp_master_refresh 30\n vrrp_garp_master_refresh_repeat 2\n}}\n{}",
        inst("garp_master_delay 0")
    ));
    let i = &c.instances[0];
    assert_eq!(
        (
            i.garp_master_delay_s,
            i.garp_master_repeat,
            i.garp_master_refresh_s,
            i.garp_master_refresh_repeat
        ),
        (0, 1, 30, 2)
    );
    fails(
        &inst("garp_master_repeat 0"),
        &["test.conf:5: garp_master_repeat: expected an integer 1..=255, got '0'"],
    );
}

#[test]
fn virtual_ipaddress_keyword() {
    let i = one(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n  10.0.1.1/24 brd + dev eth1 scope link label eth1:1\n  10.0.2.1/24 brd - \n  10.0.3.1/16 broadcast 10.0.255.254\n }\n}\n",
    );
    let v = i.virtual_addresses.as_slice();
    assert_eq!(v.len(), 4);
    assert_eq!((v[0].addr, v[0].prefix_len), (ip("10.0.0.1"), 32));
    assert_eq!(v[1].broadcast, Some("10.0.1.255".parse().unwrap()));
    assert_eq!(v[1].dev.as_deref(), Some("eth1"));
    assert_eq!(v[1].scope, Some(Scope::Link));
    assert_eq!(v[1].label.as_deref(), Some("eth1:1"));
    assert_eq!(v[2].broadcast, Some("10.0.2.0".parse().unwrap()));
    assert_eq!(v[3].broadcast, Some("10.0.255.254".parse().unwrap()));
    // One-line block.
    let i = one("vrrp_instance V { interface eth0; virtual_router_id 1\n virtual_ipaddress { 10.0.0.1/8 }\n}\n".replace(';', "\n").as_str());
    assert_eq!(i.virtual_addresses[0].prefix_len, 8);
    warns(
        &inst("virtual_ipaddress {\n 10.0.0.2/24 no_track\n}"),
        &["test.conf:6: warning: virtual_ipaddress: option 'no_track' is not supported by Tandem (ignored)"],
    );
    fails(
        &inst("virtual_ipaddress {\n 10.0.0.2/24 mtu 1400\n}"),
        &["test.conf:6: virtual_ipaddress: expected one of brd|dev|scope|label, got 'mtu'"],
    );
    fails(
        &inst("virtual_ipaddress {\n 10.0.0.2/33\n}"),
        &["test.conf:6: virtual_ipaddress: expected an address with optional /prefix length, got '10.0.0.2/33'"],
    );
    fails(
        &inst("virtual_ipaddress {\n 10.0.0.2 dev\n}"),
        &["test.conf:6: dev: missing value, expected an interface name of 1 to 15 bytes without '/', ':' or spaces"],
    );
    fails(
        &inst("virtual_ipaddress {\n 10.0.0.2 scope galaxy\n}"),
        &["test.conf:6: scope: expected one of global|site|link|host|nowhere, got 'galaxy'"],
    );
}

#[test]
fn vip_family_mixing_is_an_error() {
    fails(
        &inst("virtual_ipaddress {\n fe80::1\n}"),
        &["test.conf:6: virtual_ipaddress: 'fe80::1' is not of the same address family as the instance's first virtual address"],
    );
}

#[test]
fn vip_capacity_is_an_error() {
    let vips: String = (1..=21).map(|n| format!(" 10.1.0.{n}\n")).collect();
    let text = format!(
        "vrrp_instance V {{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {{\n{vips} }}\n}}\n"
    );
    fails(
        &text,
        &["test.conf:25: virtual_ipaddress: too many virtual addresses in one instance (at most 20): '10.1.0.21' dropped"],
    );
}

#[test]
fn virtual_routes_keyword() {
    let i = one(&inst(
        "virtual_routes {\n src 10.0.0.1 to 0.0.0.0/0 via 10.0.0.254 dev eth0 metric 5\n 192.168.110.0/24 via 10.0.0.254\n 192.168.111.0/24 dev eth2 table 100 scope link\n blackhole 192.168.114.0/24\n 0.0.0.0/0 gw 10.0.0.253 table main onlink\n default via 10.0.0.252 metric 7 table local\n}",
    ));
    let r = i.virtual_routes.as_slice();
    assert_eq!(r.len(), 6);
    assert_eq!(r[0].src, Some(ip("10.0.0.1")));
    assert_eq!(
        (r[0].dst, r[0].dst_len, r[0].metric),
        (ip("0.0.0.0"), 0, Some(5))
    );
    assert_eq!(
        (r[1].dst, r[1].dst_len, r[1].via),
        (ip("192.168.110.0"), 24, Some(ip("10.0.0.254")))
    );
    assert_eq!((r[1].src, r[1].dev.as_ref()), (None, None));
    assert_eq!(
        (r[2].table, r[2].scope, r[2].dev.as_deref()),
        (Some(100), Some(Scope::Link), Some("eth2"))
    );
    assert_eq!((r[3].kind, r[3].dst_len), (RouteType::Blackhole, 24));
    assert_eq!(
        (r[4].via, r[4].table, r[4].onlink),
        (Some(ip("10.0.0.253")), Some(254), true)
    );
    assert_eq!(
        (r[5].dst, r[5].dst_len, r[5].table),
        (ip("0.0.0.0"), 0, Some(255))
    );
    // IPv6 routes; `default` takes the family of the gateway.
    let i = one(&inst(
        "virtual_routes {\n default via fe80::1 dev eth0\n 2001:db8::/32 via fe80::1\n}",
    ));
    assert_eq!(i.virtual_routes[0].dst, ip("::"));
    assert_eq!(i.virtual_routes[1].dst_len, 32);
    fails(
        &inst("virtual_routes {\n 10.1.0.0/16 via fe80::1\n}"),
        &["test.conf:6: virtual_routes: 'fe80::1' is not of the same address family as the route's destination"],
    );
    fails(
        &inst("virtual_routes {\n via 10.0.0.1\n}"),
        &["test.conf:6: virtual_routes: missing value, expected an address with optional /prefix length"],
    );
    fails(
        &inst("virtual_routes {\n 10.1.0.0/16 via 10.0.0.1 mtu 1400\n}"),
        &["test.conf:6: virtual_routes: expected one of src|to|via|gw|dev|metric|table|scope|onlink, got 'mtu'"],
    );
    fails(
        &inst("virtual_routes {\n 10.1.0.0/16 table wan\n}"),
        &["test.conf:6: table: expected a table number or one of main|local|default, got 'wan'"],
    );
    fails(
        &inst("virtual_routes {\n 10.1.0.0/16 metric -1\n}"),
        &["test.conf:6: metric: expected an integer 0..=4294967295, got '-1'"],
    );
    let routes: String = (1..=9)
        .map(|n| format!(" 10.{n}.0.0/16 via 10.0.0.1\n"))
        .collect();
    fails(
        &inst(&format!("virtual_routes {{\n{routes}}}")),
        &["test.conf:14: virtual_routes: too many virtual routes in one instance (at most 8): '10.9.0.0/16' dropped"],
    );
}

#[test]
fn authentication_keyword() {
    let i = one(&inst(
        "authentication {\n auth_type PASS\n auth_pass abc\n}",
    ));
    assert_eq!(i.auth_pass, Some(*b"abc\0\0\0\0\0"));
    let c = warns(
        &inst("authentication {\n auth_type PASS\n auth_pass 0123456789\n}"),
        &["test.conf:7: warning: auth_pass: longer than 8 characters; only the first 8 are used"],
    );
    assert_eq!(c.instances[0].auth_pass, Some(*b"01234567"));
    // Quoted password with a space and a comment character.
    let i = one(&inst(
        "authentication {\n auth_type PASS\n auth_pass \"a b#c\"\n}",
    ));
    assert_eq!(i.auth_pass, Some(*b"a b#c\0\0\0"));
    fails(
        &inst("authentication {\n auth_type AH\n auth_pass abc\n}"),
        &["test.conf:6: auth_type: expected PASS (AH is not supported), got 'AH'"],
    );
    fails(
        &inst("authentication {\n auth_type PASS\n}"),
        &["test.conf:5: auth_pass: missing value, expected a password"],
    );
    fails(
        &inst("authentication {\n auth_pass abc\n}"),
        &["test.conf:5: auth_type: missing value, expected PASS (AH is not supported)"],
    );
    let c = warns(
        &inst("version 3\nauthentication {\n auth_type PASS\n auth_pass abc\n}"),
        &["test.conf:6: warning: authentication: instance 'V' uses VRRP version 3, which has no authentication (ignored)"],
    );
    assert_eq!(c.instances[0].auth_pass, None);
}

#[test]
fn global_defs_keyword() {
    let c = warns(
        "global_defs {\n router_id tandem-a\n notification_email {\n  root@example.com\n }\n smtp_server 127.0.0.1\n}\n",
        &[
            "test.conf:3: warning: 'notification_email' is not supported by Tandem (ignored)",
            "test.conf:6: warning: 'smtp_server' is not supported by Tandem (ignored)",
        ],
    );
    assert_eq!(c.global.router_id.as_deref(), Some("tandem-a"));
    assert!(c.instances.is_empty());
}

#[test]
fn comments() {
    let c = ok(&format!(
        "# hash comment\n! bang comment\n{}",
        inst("priority 50 # trailing\nnopreempt ! trailing too\n   # indented")
    ));
    assert_eq!(c.instances[0].priority, 50);
    assert!(!c.instances[0].preempt);
}

#[test]
fn sync_group_one_line() {
    let text = format!(
        "vrrp_sync_group G {{ group {{ A B }} }}\n{}{}",
        inst("").replace("vrrp_instance V", "vrrp_instance A"),
        inst("")
            .replace("vrrp_instance V", "vrrp_instance B")
            .replace("eth0", "eth1")
    );
    let c = ok(&text);
    assert_eq!(c.sync_groups[0].members.as_slice(), &[0, 1]);
}

#[test]
fn brace_on_next_line() {
    let c = ok("vrrp_instance V\n{\n interface eth0\n virtual_router_id 7\n virtual_ipaddress\n {\n 10.0.0.1\n }\n}\n");
    assert_eq!(c.instances[0].virtual_addresses.len(), 1);
    fails(
        "vrrp_instance V\n interface eth0\n",
        &[
            "test.conf:2: vrrp_instance: expected '{', got 'interface'",
            "test.conf:2: warning: unknown keyword 'interface' (ignored)",
            "test.conf:1: vrrp_instance: instance 'V' has no interface",
            "test.conf:1: vrrp_instance: instance 'V' has no virtual_router_id",
            "test.conf:1: warning: vrrp_instance: instance 'V' has no virtual address",
        ],
    );
}

#[test]
fn quotes_and_escapes() {
    warns(
        &inst("authentication {\n auth_type PASS\n auth_pass \"a\\tb\"\n}"),
        &["test.conf:7: warning: backslash escapes are not supported; 'a\\tb' is taken literally"],
    );
    fails(
        &inst("authentication {\n auth_type PASS\n auth_pass \"abc\n}"),
        &["test.conf:7: quoted string 'abc' has no closing quote"],
    );
}

// -------------------------------------------------- unknown keywords

#[test]
fn unknown_keyword_warns_and_skips_its_block() {
    let c = warns(
        &format!(
            "frobnicate 1 2\nvrrp_script chk {{\n script \"/bin/true\"\n nested {{ a }}\n}}\n{}",
            inst("colour blue\nnotify_master /bin/x\nweird {\n priority 1\n}\n")
        ),
        &[
            "test.conf:1: warning: unknown keyword 'frobnicate' (ignored)",
            "test.conf:2: warning: 'vrrp_script' is not supported by Tandem (ignored)",
            "test.conf:10: warning: unknown keyword 'colour' (ignored)",
            "test.conf:11: warning: 'notify_master' is not supported by Tandem (ignored)",
            "test.conf:12: warning: unknown keyword 'weird' (ignored)",
        ],
    );
    // The skipped block's `priority 1` did not apply.
    assert_eq!(c.instances[0].priority, 100);
}

#[test]
fn unknown_keyword_block_on_next_line() {
    let c = warns(
        &format!("weird\n{{\n priority 1\n}}\n{}", inst("")),
        &["test.conf:1: warning: unknown keyword 'weird' (ignored)"],
    );
    assert_eq!(c.instances.len(), 1);
}

#[test]
fn keyword_outside_its_block_is_unknown() {
    warns(
        &format!("priority 5\n{}", inst("")),
        &["test.conf:1: warning: unknown keyword 'priority' (ignored)"],
    );
}

// -------------------------------------------------- semantic errors

#[test]
fn missing_interface() {
    fails(
        "vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
        &["test.conf:1: vrrp_instance: instance 'V' has no interface"],
    );
}

#[test]
fn missing_vrid() {
    fails(
        "vrrp_instance V {\n interface eth0\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
        &["test.conf:1: vrrp_instance: instance 'V' has no virtual_router_id"],
    );
}

#[test]
fn no_virtual_address_warns() {
    warns(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\n",
        &["test.conf:1: warning: vrrp_instance: instance 'V' has no virtual address"],
    );
}

#[test]
fn sync_group_names_unknown_instance() {
    fails(
        &format!(
            "vrrp_sync_group G {{\n group {{\n V\n X9\n }}\n}}\n{}",
            inst("")
        ),
        &["test.conf:4: group: sync group 'G' names unknown instance 'X9'"],
    );
}

#[test]
fn instance_in_two_sync_groups() {
    fails(
        &format!(
            "vrrp_sync_group G {{\n group {{ V }}\n}}\nvrrp_sync_group H {{\n group {{ V }}\n}}\n{}",
            inst("")
        ),
        &["test.conf:5: group: instance 'V' is already a member of sync group 'G'"],
    );
}

#[test]
fn duplicate_group_member() {
    fails(
        &format!("vrrp_sync_group G {{\n group {{ V V }}\n}}\n{}", inst("")),
        &["test.conf:2: group: 'V' is already defined"],
    );
}

#[test]
fn duplicate_instance_name() {
    fails(
        &format!("{}{}", inst(""), inst("").replace("eth0", "eth1")),
        &["test.conf:7: vrrp_instance: 'V' is already defined"],
    );
}

#[test]
fn duplicate_sync_group_name() {
    fails(
        "vrrp_sync_group G {\n}\nvrrp_sync_group G {\n}\n",
        &["test.conf:3: vrrp_sync_group: 'G' is already defined"],
    );
}

#[test]
fn duplicate_interface_vrid_family() {
    let b = inst("").replace("vrrp_instance V", "vrrp_instance W");
    fails(
        &format!("{}{b}", inst("")),
        &["test.conf:7: vrrp_instance: instance 'W' has the same interface, virtual_router_id and address family as instance 'V'"],
    );
    // Another interface, another VRID or another family is fine.
    ok(&format!("{}{}", inst(""), b.replace("eth0", "eth1")));
    ok(&format!(
        "{}{}",
        inst(""),
        b.replace("virtual_router_id 7", "virtual_router_id 8")
    ));
    ok(&format!(
        "{}{}",
        inst(""),
        b.replace("10.0.0.1/24", "fe80::1/64")
    ));
    // Unicast instances to disjoint peers may share a VRID.
    let u1 = inst("unicast_peer {\n 10.0.0.2\n}");
    let u2 = inst("unicast_peer {\n 10.0.0.3\n}").replace("vrrp_instance V", "vrrp_instance W");
    ok(&format!("{u1}{u2}"));
}

#[test]
fn unmatched_close_brace() {
    fails(
        &format!("{}}}\n", inst("")),
        &["test.conf:7: '}' without an open block"],
    );
}

#[test]
fn unclosed_block() {
    fails(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n 10.0.0.1\n",
        &[
            "test.conf:1: vrrp_instance: block opened here is never closed",
            "test.conf:4: virtual_ipaddress: block opened here is never closed",
        ],
    );
}

#[test]
fn unexpected_open_brace() {
    fails(
        &inst("nopreempt {\n priority 1\n}\n{\n}"),
        &["test.conf:5: unexpected '{'", "test.conf:8: unexpected '{'"],
    );
}

#[test]
fn too_many_instances() {
    let text: String = (0..17)
        .map(|n| {
            format!(
                "vrrp_instance V{n} {{\n interface eth0\n virtual_router_id {}\n virtual_ipaddress {{ 10.0.0.1 }}\n}}\n",
                n + 1
            )
        })
        .collect();
    fails(
        &text,
        &["test.conf:81: vrrp_instance: too many vrrp_instance blocks (at most 16): 'V16' dropped"],
    );
}

#[test]
fn too_many_sync_groups() {
    let text: String = (0..9)
        .map(|n| format!("vrrp_sync_group G{n} {{\n}}\n"))
        .collect();
    fails(
        &text,
        &["test.conf:17: vrrp_sync_group: too many vrrp_sync_group blocks (at most 8): 'G8' dropped"],
    );
}

#[test]
fn too_deep() {
    let text = format!("{}{}", "weird {\n".repeat(9), "}\n".repeat(9));
    let (r, msgs) = run(&text);
    assert!(r.is_err());
    assert_eq!(
        msgs.last().unwrap(),
        "test.conf:9: weird: too many nested blocks (at most 8): '{' dropped"
    );
}

#[test]
fn too_many_words() {
    let text = format!("{}\n", "w ".repeat(40));
    let (r, msgs) = run(&text);
    assert!(r.is_err());
    assert_eq!(
        msgs,
        ["test.conf:1: w: too many words in one statement (at most 32): 'w' dropped"]
    );
}

#[test]
fn invalid_names() {
    fails(
        &format!("vrrp_instance {} {{\n}}\n", "n".repeat(33)),
        &[&format!(
            "test.conf:1: vrrp_instance: expected a name of 1 to 32 bytes, got '{}'",
            "n".repeat(33)
        )],
    );
    fails(
        "vrrp_instance {\n}\n",
        &["test.conf:1: vrrp_instance: missing value, expected a name of 1 to 32 bytes"],
    );
}

// ---------------------------------------------------------------- include

/// An in-memory file system for `parse_with`.
fn fs(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

fn run_fs(files: &BTreeMap<String, String>, main: &str) -> (Result<Config, Invalid>, Vec<String>) {
    let mut msgs = Vec::new();
    let load = |_from: &str, pattern: &str| -> Result<Vec<(String, String)>, IncludeError> {
        if let Some(prefix) = pattern.strip_suffix('*') {
            return Ok(files
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect());
        }
        match files.get(pattern) {
            Some(t) => Ok(vec![(pattern.to_string(), t.clone())]),
            None => Err(IncludeError::NotFound),
        }
    };
    let r = parse_with(main, &files[main], load, &mut |d| msgs.push(d.to_string()));
    (r, msgs)
}

#[test]
fn include_nested_and_globbed() {
    let files = fs(&[
        ("main.conf", "include groups.conf\ninclude conf.d/*\n"),
        ("groups.conf", "vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n"),
        ("conf.d/a.conf", "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n include conf.d-vips\n}\n"),
        ("conf.d/b.conf", "vrrp_instance B {\n interface eth1\n virtual_router_id 1\n virtual_ipaddress { 10.1.0.1 }\n}\n"),
        ("conf.d-vips", "virtual_ipaddress {\n 10.0.0.1/24\n}\n"),
    ]);
    let (r, msgs) = run_fs(&files, "main.conf");
    assert!(msgs.is_empty(), "{msgs:?}");
    let c = r.unwrap();
    assert_eq!(c.instances.len(), 2);
    assert_eq!(c.instances[0].virtual_addresses[0].prefix_len, 24);
    assert_eq!(c.sync_groups[0].members.as_slice(), &[0, 1]);
}

#[test]
fn include_diagnostics_name_the_included_file() {
    let files = fs(&[
        ("main.conf", "! main\ninclude inst.conf\nvrrp_sync_group G {\n group { V X }\n}\n"),
        ("inst.conf", "vrrp_instance V {\n interface eth0\n priority high\n virtual_ipaddress { 10.0.0.1 }\n}\n"),
    ]);
    let (r, msgs) = run_fs(&files, "main.conf");
    assert!(r.is_err());
    assert_eq!(
        msgs,
        [
            "inst.conf:3: priority: expected an integer 1..=255, got 'high'",
            "inst.conf:1: vrrp_instance: instance 'V' has no virtual_router_id",
            "main.conf:4: group: sync group 'G' names unknown instance 'X'",
        ]
    );
}

#[test]
fn include_problems() {
    let files = fs(&[
        (
            "main.conf",
            "include missing.conf\ninclude none.d/*\ninclude\ninclude a.conf b.conf\n",
        ),
        ("a.conf", ""),
    ]);
    let (r, msgs) = run_fs(&files, "main.conf");
    assert!(r.is_err());
    assert_eq!(
        msgs,
        [
            "main.conf:1: include: 'missing.conf': file not found",
            "main.conf:2: warning: include: 'none.d/*': matched no file",
            "main.conf:3: include: missing value, expected a file name or glob pattern",
            "main.conf:4: warning: include: extra value 'b.conf' ignored",
        ]
    );
}

#[test]
fn include_loop_is_bounded() {
    let files = fs(&[("main.conf", "include main.conf\n")]);
    let (r, msgs) = run_fs(&files, "main.conf");
    assert!(r.is_err());
    assert_eq!(
        msgs,
        ["main.conf:1: include: 'main.conf': includes nested too deeply (include loop?)"]
    );
}

#[test]
fn include_with_the_low_level_api() {
    // Drive Parser::feed by hand, as a bare-metal port without files would.
    let main = "vrrp_instance V {\n interface eth0\n include vrid.conf\n virtual_ipaddress { 10.0.0.1 }\n}\n";
    let inner = "virtual_router_id 42\n";
    let mut msgs: Vec<String> = Vec::new();
    let mut diag = |d: &Diagnostic<'_>| msgs.push(d.to_string());
    let mut p = Parser::new();
    let step = p.feed("main.conf", main, Resume::START, &mut diag);
    let Step::Include {
        pattern,
        line,
        resume,
    } = step
    else {
        panic!("expected an include, got {step:?}");
    };
    assert_eq!((pattern, line, resume.line()), ("vrid.conf", 3, 3));
    assert_eq!(
        p.feed("vrid.conf", inner, Resume::START, &mut diag),
        Step::Done
    );
    assert_eq!(p.feed("main.conf", main, resume, &mut diag), Step::Done);
    assert_eq!((p.errors(), p.warnings()), (0, 0));
    let c = p.finish(&mut diag).unwrap();
    assert_eq!(c.instances[0].vrid, 42);
    assert!(msgs.is_empty());
}

#[test]
fn resume_out_of_range_is_end() {
    let mut p = Parser::new();
    let mut diag = |_: &Diagnostic<'_>| {};
    let long = "\n\n\n\ninclude x\n";
    let Step::Include { resume, .. } = p.feed("a", long, Resume::START, &mut diag) else {
        panic!("expected an include");
    };
    // A resume point from another text: past its end, or not on a char boundary.
    assert_eq!(p.feed("b", "", resume, &mut diag), Step::Done);
    assert_eq!(p.feed("c", "ééééééé", resume, &mut diag), Step::Done);
}

#[test]
fn long_file_names_are_shortened_for_late_diagnostics() {
    let long = format!("/etc/{}/keepalived.conf", "d".repeat(200));
    let mut msgs = Vec::new();
    let r = parse_str(&long, "vrrp_instance V {\n}\n", &mut |d| {
        msgs.push(d.to_string())
    });
    assert!(r.is_err());
    let want = format!("...{}", &long[long.len() - (FILE_NAME_LEN - 3)..]);
    assert!(msgs[0].starts_with(&format!("{want}:1: ")), "{}", msgs[0]);
}

#[test]
fn diagnostic_fields() {
    let mut seen = Vec::new();
    let _ = parse_str("f.conf", &inst("priority abc"), &mut |d| {
        seen.push((
            d.severity,
            d.file.to_string(),
            d.line,
            d.keyword.to_string(),
            d.kind,
            d.token.to_string(),
        ))
    });
    assert_eq!(
        seen,
        [(
            Severity::Error,
            "f.conf".to_string(),
            5,
            "priority".to_string(),
            DiagnosticKind::Expected(Expected::Integer { min: 1, max: 255 }),
            "abc".to_string()
        )]
    );
    let inv = Invalid {
        errors: 2,
        warnings: 1,
    };
    assert_eq!(
        inv.to_string(),
        "invalid configuration: 2 error(s), 1 warning(s)"
    );
}

// ------------------------------------------------------------------ fuzz

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "vrrp_instance",
    "vrrp_sync_group",
    "group",
    "global_defs",
    "interface",
    "state",
    "virtual_router_id",
    "priority",
    "advert_int",
    "virtual_ipaddress",
    "virtual_routes",
    "authentication",
    "auth_type",
    "auth_pass",
    "PASS",
    "nopreempt",
    "version",
    "include",
    "unicast_peer",
    "track_interface",
    "src",
    "to",
    "via",
    "dev",
    "metric",
    "table",
    "brd",
    "weight",
    "default",
    "blackhole",
    "label",
    "scope",
    "{",
    "}",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "#",
    "!",
    "\"",
    "'",
    "\\",
    "10.0.0.1",
    "10.0.0.0/24",
    "fe80::1",
    "/",
    "255",
    "0",
    "-1",
    "0.1",
    "99999999999999999999999",
    "eth0",
    "I1",
    "E1",
    "é",
    "\u{0}",
    "\r",
];

fn random_text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::new();
    for _ in 0..len {
        s.push_str(PIECES[rng.below(PIECES.len())]);
        if rng.below(3) == 0 {
            s.push(' ');
        }
    }
    s
}

fn no_panic(text: &str, rng: &mut Rng) {
    let mut count = 0usize;
    let extra = random_text(rng, 30);
    let load = |_: &str, p: &str| -> Result<Vec<(String, String)>, IncludeError> {
        if p.len() % 3 == 0 {
            Err(IncludeError::Io)
        } else {
            Ok(vec![(p.to_string(), extra.clone())])
        }
    };
    let r = parse_with("fuzz.conf", text, load, &mut |d| {
        // Display must not panic either.
        let _ = d.to_string();
        count += 1;
    });
    if let Err(inv) = r {
        assert!(inv.errors >= 1);
        assert!(count >= inv.errors as usize);
    }
}

#[test]
fn fuzz_random_token_soup_never_panics() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    for _ in 0..3000 {
        let len = rng.below(120);
        let text = random_text(&mut rng, len);
        no_panic(&text, &mut rng);
    }
}

#[test]
fn fuzz_truncated_seed_never_panics() {
    let mut rng = Rng(42);
    let mut cut = 0;
    while cut <= SEED.len() {
        if SEED.is_char_boundary(cut) {
            no_panic(&SEED[..cut], &mut rng);
        }
        cut += 1;
    }
}

#[test]
fn fuzz_mutated_seed_never_panics() {
    let mut rng = Rng(7);
    for _ in 0..2000 {
        let mut bytes = SEED.as_bytes().to_vec();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, b"{}\"#!\n /0"[rng.below(9)]),
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        no_panic(&text, &mut rng);
    }
}

// ------------------------------------------------------ more edge cases

#[test]
fn vip_ipv6_options() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fe80::1 label eth0:1\n }\n}\n";
    let c = warns(
        text,
        &["test.conf:5: warning: virtual_ipaddress: option 'label' is not supported by Tandem (ignored)"],
    );
    assert_eq!(c.instances[0].virtual_addresses[0].label, None);
    fails(
        &text.replace("label eth0:1", "brd +"),
        &[
            "test.conf:5: brd: expected an IPv4 broadcast address, '+' or '-', got '+'",
            "test.conf:1: warning: vrrp_instance: instance 'V' has no virtual address",
        ],
    );
}

#[test]
fn unknown_keyword_in_authentication() {
    warns(
        &inst("authentication {\n auth_type PASS\n auth_pass x\n auth_key y\n}"),
        &["test.conf:8: warning: unknown keyword 'auth_key' (ignored)"],
    );
}

#[test]
fn too_many_track_interfaces() {
    let t: String = (1..=9).map(|n| format!(" eth{n}\n")).collect();
    fails(
        &inst(&format!("track_interface {{\n{t}}}")),
        &["test.conf:14: track_interface: too many tracked interfaces in one instance (at most 8): 'eth9' dropped"],
    );
}

#[test]
fn too_many_group_members() {
    let names: String = (0..17).map(|n| format!(" V{n}")).collect();
    let (r, msgs) = run(&format!("vrrp_sync_group G {{\n group {{{names} }}\n}}\n"));
    assert!(r.is_err());
    assert_eq!(
        msgs[0],
        "test.conf:2: group: too many instances in one sync group (at most 16): 'V16' dropped"
    );
}

#[test]
fn include_with_unterminated_quote() {
    fails(
        "include \"conf.d/*\n",
        &["test.conf:1: include: quoted string 'conf.d/*' has no closing quote"],
    );
}

#[test]
fn quoted_include_pattern() {
    let mut p = Parser::new();
    let mut diag = |_: &Diagnostic<'_>| {};
    let step = p.feed(
        "m",
        "include \"a b.conf\" # comment\n",
        Resume::START,
        &mut diag,
    );
    assert!(matches!(
        step,
        Step::Include {
            pattern: "a b.conf",
            line: 1,
            ..
        }
    ));
}

#[test]
fn sizes_are_as_documented() {
    // REFERENCE/API docs promise about 40 KiB for a Config and 10 KiB more for the parser.
    let config = core::mem::size_of::<Config>();
    let parser = core::mem::size_of::<Parser>();
    std::println!("Config: {config} bytes, Parser: {parser} bytes");
    assert!(config <= 48 * 1024, "{config}");
    assert!(parser <= config + 12 * 1024, "{parser}");
}

#[test]
fn large_numbers_at_the_limits() {
    // Intervals beyond 4294 s (more microseconds than a u32 holds) clamp
    // like any other interval above the limit.
    for v in ["4294.967295", "4295", "65535", "65535.0"] {
        let c = warns(
            &inst(&format!("advert_int {v}")),
            &["test.conf:5: warning: advert_int: adjusted to 255.00 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"],
        );
        assert_eq!(c.instances[0].advert_int_cs, 25500);
    }
    fails(
        &inst("advert_int 65535.5"),
        &["test.conf:5: advert_int: expected a time in seconds 0..=65535 (fractions allowed, e.g. 0.5), got '65535.5'"],
    );
    fails(
        &inst("advert_int 18446744073709551616"),
        &["test.conf:5: advert_int: expected a time in seconds 0..=65535 (fractions allowed, e.g. 0.5), got '18446744073709551616'"],
    );
    assert_eq!(one(&inst("preempt_delay 1000")).preempt_delay_ms, 1_000_000);
    fails(
        &inst("preempt_delay 1000.000001"),
        &["test.conf:5: preempt_delay: expected a time in seconds 0..=1000 (fractions allowed, e.g. 0.5), got '1000.000001'"],
    );
    let c = ok(&inst("garp_master_refresh 4294967295"));
    assert_eq!(c.instances[0].garp_master_refresh_s, u32::MAX);
    fails(
        &inst("garp_master_refresh 4294967296"),
        &["test.conf:5: garp_master_refresh: expected an integer 0..=4294967295, got '4294967296'"],
    );
    fails(
        &inst("priority 18446744073709551617"),
        &["test.conf:5: priority: expected an integer 1..=255, got '18446744073709551617'"],
    );
    let c = ok(&inst(
        "virtual_routes {\n 10.1.0.0/16 via 10.9.8.1 metric 4294967295 table 4294967295\n}",
    ));
    let r = &c.instances[0].virtual_routes[0];
    assert_eq!((r.metric, r.table), (Some(u32::MAX), Some(u32::MAX)));
    fails(
        &inst("virtual_routes {\n 10.1.0.0/16 via 10.9.8.1 metric 4294967296\n}"),
        &["test.conf:6: metric: expected an integer 0..=4294967295, got '4294967296'"],
    );
    fails(
        &inst("track_interface {\n eth1 weight -2147483648\n}"),
        &["test.conf:6: weight: expected an integer -253..=253, got '-2147483648'"],
    );
}
