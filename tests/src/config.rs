//! Writers for keepalived.conf-style configuration files, read by both `tandem` and
//! Debian's `keepalived`.
//!
//! [`VrrpConf::seed`] renders the seed's file byte for byte (see
//! `tests/fixtures/seed-keepalived.conf`, copied from the OpenWrt wiki page in
//! `shared/seed-openwrt-high-availability.md`); the other settings produce variants
//! in the same layout: VRRPv3 with 0.1 s adverts, per-router priorities, without
//! `nopreempt`, without the sync group, another password.

use std::fmt::Write as _;
use std::time::Duration;

/// The seed's keepalived.conf, verbatim.
pub const SEED_KEEPALIVED_CONF: &str = include_str!("../fixtures/seed-keepalived.conf");

/// The seed's `auth_pass`.
pub const SEED_PASSWORD: &str = "s3cret";

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// RFC 3768 (keepalived's default); advert_int in whole seconds, auth PASS possible.
    V2,
    /// RFC 5798; advert_int in centiseconds, no authentication.
    V3,
}

/// One router's configuration: the seed's two instances (I1 on `br-lan`, E1 on
/// `eth0.2`, both VRID 51) with the knobs the scenarios turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpConf {
    /// Protocol version; V3 adds `version 3` to each instance.
    pub version: Version,
    /// Advertisement interval (V2: whole seconds; V3: multiple of 10 ms).
    pub advert_int: Duration,
    /// Priority of both instances (the seed: 101).
    pub priority: u8,
    /// `nopreempt` on both instances (the seed: yes).
    pub nopreempt: bool,
    /// The `vrrp_sync_group G1 { group { E1 I1 } }` block (the seed: yes).
    pub sync_group: bool,
    /// `authentication { auth_type PASS auth_pass … }` (the seed: `s3cret`). Only
    /// rendered for V2: keepalived ignores it for V3 with a warning.
    pub auth_pass: Option<String>,
    /// `virtual_router_id` of both instances (the seed: 51).
    pub vrid: u8,
}

impl VrrpConf {
    /// The seed configuration: VRRPv2, advert 1 s, priority 101, nopreempt, sync
    /// group G1, auth PASS `s3cret`, VRID 51.
    pub fn seed() -> Self {
        VrrpConf {
            version: Version::V2,
            advert_int: Duration::from_secs(1),
            priority: 101,
            nopreempt: true,
            sync_group: true,
            auth_pass: Some(SEED_PASSWORD.to_string()),
            vrid: 51,
        }
    }

    /// The seed turned into VRRPv3 with 0.1 s adverts (no authentication block).
    pub fn v3_fast() -> Self {
        VrrpConf {
            version: Version::V3,
            advert_int: Duration::from_millis(100),
            auth_pass: None,
            ..Self::seed()
        }
    }

    /// The same configuration with another priority.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// The same configuration with or without `nopreempt`.
    pub fn nopreempt(mut self, nopreempt: bool) -> Self {
        self.nopreempt = nopreempt;
        self
    }

    /// The same configuration with or without the sync group.
    pub fn sync_group(mut self, sync_group: bool) -> Self {
        self.sync_group = sync_group;
        self
    }

    /// The same configuration with another password (`None`: no authentication block).
    pub fn auth_pass(mut self, pass: Option<&str>) -> Self {
        self.auth_pass = pass.map(str::to_string);
        self
    }

    /// Skew_Time of this router: v2 (256 − priority)/256 s, v3
    /// (256 − priority) × advert_int / 256 (RFC 5798 §6.1, keepalived's behaviour).
    pub fn skew(&self) -> Duration {
        let unit = match self.version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => self.advert_int,
        };
        unit * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval of this router as a backup: 3 × advert_int + skew.
    pub fn master_down_interval(&self) -> Duration {
        self.advert_int * 3 + self.skew()
    }

    fn advert_int_text(&self) -> String {
        let ms = self.advert_int.as_millis();
        if ms % 1000 == 0 {
            format!("{}", ms / 1000)
        } else {
            let s = format!("{}.{:03}", ms / 1000, ms % 1000);
            s.trim_end_matches('0').to_string()
        }
    }

    fn instance(&self, out: &mut String, name: &str, ifname: &str, vip: &str, routes: bool) {
        let _ = writeln!(out, "vrrp_instance {name} {{");
        out.push_str("  state backup\n");
        let _ = writeln!(out, "  interface {ifname}");
        let _ = writeln!(out, "  virtual_router_id {}", self.vrid);
        if self.version == Version::V3 {
            out.push_str("  version 3\n");
        }
        let _ = writeln!(out, "  priority {}", self.priority);
        let _ = writeln!(out, "  advert_int {}", self.advert_int_text());
        let _ = writeln!(out, "  virtual_ipaddress {{\n    {vip}\n  }}");
        if routes {
            out.push_str(
                "  virtual_routes {\n    src 192.168.0.4 to 0.0.0.0/0 via 192.168.0.1 dev eth0.2 metric 5\n  }\n",
            );
        }
        if let (Some(pass), Version::V2) = (&self.auth_pass, self.version) {
            let _ = writeln!(
                out,
                "  authentication {{\n    auth_type PASS\n    auth_pass {pass}\n  }}"
            );
        }
        if self.nopreempt {
            out.push_str("  nopreempt\n");
        }
        out.push_str("}\n");
    }

    /// The configuration file text.
    pub fn render(&self) -> String {
        let mut out = String::from("! Configuration File for keepalived\n\n");
        if self.sync_group {
            out.push_str(
                "! failover E1 and I1 at the same time\nvrrp_sync_group G1 {\n  group {\n    E1\n    I1\n  }\n}\n\n",
            );
        }
        out.push_str("! internal\n");
        self.instance(&mut out, "I1", "br-lan", "10.9.8.4/24", false);
        out.push_str("\n! external\n");
        self.instance(&mut out, "E1", "eth0.2", "192.168.0.4/24", true);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_renders_verbatim() {
        assert_eq!(VrrpConf::seed().render(), SEED_KEEPALIVED_CONF);
    }

    #[test]
    fn v3_variant() {
        let t = VrrpConf::v3_fast().priority(150).render();
        assert!(
            t.contains("  version 3\n  priority 150\n  advert_int 0.1\n"),
            "{t}"
        );
        assert!(!t.contains("authentication"));
    }

    #[test]
    fn timings() {
        let c = VrrpConf::seed().priority(100);
        assert_eq!(c.skew(), Duration::from_micros(609_375));
        assert_eq!(c.master_down_interval(), Duration::from_micros(3_609_375));
        let c = VrrpConf::v3_fast().priority(100);
        assert_eq!(c.master_down_interval(), Duration::from_nanos(360_937_500));
    }

    #[test]
    fn variants_drop_blocks() {
        let t = VrrpConf::seed()
            .sync_group(false)
            .nopreempt(false)
            .auth_pass(None)
            .render();
        assert!(!t.contains("vrrp_sync_group") && !t.contains("nopreempt") && !t.contains("auth"));
    }
}
