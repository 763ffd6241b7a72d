//! Keyword tables: each block's keywords as one space-separated string and
//! an enum, looked up by one shared loop (instead of a string `match` per
//! block, which compiles to one comparison call per keyword).

/// The position of `word` in the space-separated list `names`.
#[inline(never)]
pub(crate) fn index(names: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    // A plain byte loop (smaller than `split(' ').position(..)`).
    let w = word.as_bytes();
    let mut rest = names.as_bytes();
    let mut i = 0;
    loop {
        let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        if name == w {
            return Some(i);
        }
        rest = tail.get(1..)?;
        i += 1;
    }
}

/// Whether `word` is in the space-separated list `names`.
pub(crate) fn listed(names: &str, word: &str) -> bool {
    index(names, word).is_some()
}

/// The first argument.
macro_rules! pick {
    ($v:expr, $t:literal) => {
        $v
    };
}

/// `enum Name { Variant: "kw" "alias", ... }`: the enum, plus `Name::find`.
macro_rules! keywords {
    ($name:ident { $($var:ident : $($text:literal)+),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $($var,)*
        }

        impl $name {
            const NAMES: &'static str = concat!($($($text, " ",)+)*);
            const ALL: &'static [$name] = &[$($(pick!($name::$var, $text),)+)*];

            /// The keyword `word` names.
            pub(crate) fn find(word: &str) -> Option<Self> {
                $crate::config::kw::index(Self::NAMES, word).and_then(|i| Self::ALL.get(i).copied())
            }
        }
    };
}

keywords!(TopKw {
    GlobalDefs: "global_defs",
    SyncGroup: "vrrp_sync_group",
    Instance: "vrrp_instance",
    Sync: "tandem_sync",
    Version: "vrrp_version",
});

// Every `global_defs` keyword may be given once: its discriminant is its
// bit in `GlobalMeta::seen`.
keywords!(GlobalKw {
    RouterId: "router_id",
    Version: "vrrp_version",
    V3Checksum: "v3_checksum_as_v2",
    GarpDelay: "vrrp_garp_master_delay",
    GarpRepeat: "vrrp_garp_master_repeat",
    GarpRefresh: "vrrp_garp_master_refresh",
    GarpRefreshRepeat: "vrrp_garp_master_refresh_repeat",
});

// Keywords up to `GarpRefreshRepeat` may be given once: the discriminant is
// the bit in `InstMeta::seen`.
keywords!(InstKw {
    State: "state",
    Interface: "interface",
    Vrid: "virtual_router_id",
    Priority: "priority",
    Advert: "advert_int",
    Version: "version",
    Preempt: "nopreempt" "preempt",
    PreemptDelay: "preempt_delay",
    Accept: "accept" "no_accept",
    V3Checksum: "v3_checksum_as_v2",
    SrcIp: "unicast_src_ip" "mcast_src_ip",
    GarpDelay: "garp_master_delay",
    GarpRepeat: "garp_master_repeat",
    GarpRefresh: "garp_master_refresh",
    GarpRefreshRepeat: "garp_master_refresh_repeat",
    Vips: "virtual_ipaddress",
    Routes: "virtual_routes",
    Peers: "unicast_peer",
    TrackIf: "track_interface",
    Auth: "authentication",
});

// Bit `AUTH_SEEN + discriminant` in `InstMeta::seen`.
keywords!(AuthKw {
    Type: "auth_type",
    Pass: "auth_pass",
});

// Keywords up to `BackupCmd` may be given once: the discriminant is the bit
// in `SyncDraft::seen`.
keywords!(SyncKw {
    Interface: "interface",
    Local: "local_address",
    Port: "port",
    Capacity: "conntrack_capacity",
    LeaseFile: "lease_file",
    LeaseCapacity: "lease_capacity",
    MasterCmd: "dhcp_master_command",
    BackupCmd: "dhcp_backup_command",
    Peer: "peer_address",
    KeyFile: "key_file",
    Key: "key",
    Filter: "conntrack_filter",
});

keywords!(FilterKw {
    Protocol: "protocol",
    Ignore: "ignore_address",
});

// Options of a `virtual_ipaddress` entry.
keywords!(VipOpt {
    Brd: "brd" "broadcast",
    Dev: "dev",
    Scope: "scope",
    Label: "label",
    Flag: "home" "-nodad" "nodad" "mngtmpaddr" "noprefixroute" "autojoin" "no_track" "use_vmac",
    WithArg: "peer" "preferred_lft" "track_group",
});

// Route types that may start a `virtual_routes` entry.
keywords!(RouteTypeKw {
    Blackhole: "blackhole",
    Unreachable: "unreachable",
    Prohibit: "prohibit",
    Unicast: "unicast",
});

// Options of a `virtual_routes` entry (`to` and the destination aside).
keywords!(RouteOpt {
    Src: "src",
    Via: "via" "gw",
    Dev: "dev" "oif",
    Metric: "metric" "priority" "preference",
    Table: "table",
    Scope: "scope",
    Onlink: "onlink",
    NoTrack: "no_track",
    WithArg: "or" "protocol" "proto",
});

// Options of a `track_interface` entry.
keywords!(TrackOpt {
    Weight: "weight",
    Reverse: "reverse",
    NoReverse: "noreverse",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(InstKw::find("state"), Some(InstKw::State));
        assert_eq!(InstKw::find("preempt"), Some(InstKw::Preempt));
        assert_eq!(InstKw::find("authentication"), Some(InstKw::Auth));
        assert_eq!(InstKw::find(""), None);
        assert_eq!(InstKw::find("state interface"), None);
        assert_eq!(VipOpt::find("use_vmac"), Some(VipOpt::Flag));
        assert_eq!(VipOpt::find("track_group"), Some(VipOpt::WithArg));
        assert_eq!(RouteOpt::find("proto"), Some(RouteOpt::WithArg));
        assert_eq!(SyncKw::find("conntrack_filter"), Some(SyncKw::Filter));
        assert!(listed("a bc d", "bc"));
        assert!(!listed("a bc d", "b"));
        assert!(!listed("a bc d", ""));
    }
}
