//! The typed configuration: what a keepalived.conf means, in fixed-capacity
//! containers. Every value here has been validated; defaults are filled in.

use core::net::{IpAddr, Ipv4Addr};

use heapless::{String, Vec};

/// Most `vrrp_instance` blocks in one configuration.
pub const MAX_INSTANCES: usize = 16;
/// Most `vrrp_sync_group` blocks in one configuration.
pub const MAX_SYNC_GROUPS: usize = 8;
/// Most instances named in one sync group's `group { }` block.
pub const MAX_GROUP_MEMBERS: usize = MAX_INSTANCES;
/// Most entries in one instance's `virtual_ipaddress { }` block.
pub const MAX_VIPS: usize = 20;
/// Most entries in one instance's `virtual_routes { }` block.
pub const MAX_ROUTES: usize = 8;
/// Most entries in one instance's `unicast_peer { }` block.
pub const MAX_UNICAST_PEERS: usize = 8;
/// Most entries in one instance's `track_interface { }` block.
pub const MAX_TRACK_INTERFACES: usize = 8;
/// Longest interface name or address label, in bytes (Linux `IFNAMSIZ - 1`).
pub const IFNAME_LEN: usize = 15;
/// Longest instance or sync group name, in bytes.
pub const NAME_LEN: usize = 32;
/// Longest `router_id`, in bytes.
pub const ROUTER_ID_LEN: usize = 64;
/// Length of the VRRPv2 simple-text password field: longer `auth_pass`
/// values are truncated to this many bytes (as keepalived does).
pub const AUTH_PASS_LEN: usize = 8;

/// Most `peer_address` lines in `tandem_sync { }`.
pub const MAX_SYNC_PEERS: usize = 4;
/// Most protocols in `conntrack_filter { protocol ... }`.
pub const MAX_SYNC_PROTOCOLS: usize = 16;
/// Most prefixes in `conntrack_filter { ignore_address ... }`.
pub const MAX_SYNC_IGNORE: usize = 16;
/// Longest file name (`key_file`, `lease_file`), in bytes.
pub const PATH_LEN: usize = 128;
/// Longest command (`dhcp_master_command`, `dhcp_backup_command`), in bytes.
pub const COMMAND_LEN: usize = 255;
/// Octets of an inline sync key (`key` with 64 hex digits).
pub const SYNC_KEY_LEN: usize = 32;
/// Default `port` of the sync channel (UDP).
pub const DEFAULT_SYNC_PORT: u16 = 3780;
/// Default `conntrack_capacity`.
pub const DEFAULT_CONNTRACK_CAPACITY: u32 = 16384;
/// Largest `conntrack_capacity`.
pub const MAX_CONNTRACK_CAPACITY: u32 = 4_194_304;
/// Default `lease_capacity`.
pub const DEFAULT_LEASE_CAPACITY: u32 = 1024;
/// Largest `lease_capacity`.
pub const MAX_LEASE_CAPACITY: u32 = 1_048_576;

/// A file name: 1 to [`PATH_LEN`] bytes.
pub type Path = String<PATH_LEN, u8>;
/// A shell command line: 1 to [`COMMAND_LEN`] bytes.
pub type Command = String<COMMAND_LEN, u8>;

/// An interface name or address label: 1 to [`IFNAME_LEN`] bytes, no `/`
/// and no whitespace.
pub type IfName = String<IFNAME_LEN, u8>;
/// An instance or sync group name: 1 to [`NAME_LEN`] bytes.
pub type Name = String<NAME_LEN, u8>;

/// The VRRP protocol version an instance speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, whole-second intervals, optional PASS authentication.
    V2,
    /// VRRPv3, RFC 5798: IPv4 and IPv6, centisecond intervals, no authentication.
    V3,
}

/// The address family of an instance (of its virtual addresses and adverts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Family {
    /// IPv4: adverts to 224.0.0.18, gratuitous ARP.
    Ipv4,
    /// IPv6: adverts to ff02::12, unsolicited neighbour advertisements.
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// The state an instance starts in (keepalived `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitialState {
    /// Start as backup and wait for the master-down timer (the default).
    Backup,
    /// Start as master (immediately only with priority 255).
    Master,
}

/// An address or route scope, as `ip address`/`ip route` spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// `global` (RT_SCOPE_UNIVERSE, 0).
    Global,
    /// `site` (RT_SCOPE_SITE, 200).
    Site,
    /// `link` (RT_SCOPE_LINK, 253).
    Link,
    /// `host` (RT_SCOPE_HOST, 254).
    Host,
    /// `nowhere` (RT_SCOPE_NOWHERE, 255).
    Nowhere,
}

impl Scope {
    /// The rtnetlink value (`ifa_scope` / `rtm_scope`).
    pub const fn to_rt(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
}

/// The kind of a virtual route (`rtm_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RouteType {
    /// An ordinary route (RTN_UNICAST), the default.
    Unicast,
    /// `blackhole` (RTN_BLACKHOLE): silently discard.
    Blackhole,
    /// `unreachable` (RTN_UNREACHABLE): discard with ICMP unreachable.
    Unreachable,
    /// `prohibit` (RTN_PROHIBIT): discard with ICMP prohibited.
    Prohibit,
}

impl RouteType {
    /// The rtnetlink value (`rtm_type`).
    pub const fn to_rt(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
        }
    }
}

/// One line of `virtual_ipaddress { }`:
/// `ADDR[/PREFIX] [brd ADDR|+|-] [dev IF] [scope SCOPE] [label LABEL]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VirtualAddress {
    /// The address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub addr: IpAddr,
    /// Prefix length; defaults to 32 (IPv4) or 128 (IPv6) as in keepalived.
    pub prefix_len: u8,
    /// IPv4 broadcast address (`brd`); `None` lets the kernel decide.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub broadcast: Option<Ipv4Addr>,
    /// Interface to put it on (`dev`); `None` = the instance's interface.
    pub dev: Option<IfName>,
    /// Address scope (`scope`); `None` = global.
    pub scope: Option<Scope>,
    /// Address label (`label`, e.g. `eth0:1`); IPv4 only.
    pub label: Option<IfName>,
}

/// One line of `virtual_routes { }`:
/// `[src ADDR] [to] DST/PREFIX [via|gw ADDR] [dev IF] [metric N] [table T] [scope S] [onlink]`,
/// optionally preceded by `blackhole`, `unreachable` or `prohibit`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VirtualRoute {
    /// Route type; [`RouteType::Unicast`] unless a type keyword was given.
    pub kind: RouteType,
    /// Destination network (host bits as written).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub dst: IpAddr,
    /// Destination prefix length; defaults to 32/128 (a host route).
    pub dst_len: u8,
    /// Preferred source address (`src`).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub src: Option<IpAddr>,
    /// Gateway (`via` or `gw`).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub via: Option<IpAddr>,
    /// Output interface (`dev`); `None` lets the kernel choose.
    pub dev: Option<IfName>,
    /// Route metric (`metric`, also `priority`/`preference`).
    pub metric: Option<u32>,
    /// Routing table (`table`; `main` = 254, `local` = 255, `default` = 253); `None` = main.
    pub table: Option<u32>,
    /// Route scope (`scope`); `None` lets the kernel choose.
    pub scope: Option<Scope>,
    /// `onlink`: the gateway is on-link even if no prefix covers it.
    pub onlink: bool,
}

/// One line of `track_interface { }`: `IF [weight W [reverse]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrackInterface {
    /// The tracked interface.
    pub name: IfName,
    /// 0 (default): the instance goes to FAULT while the link is down.
    /// Otherwise -253..=253: added to the priority while up (positive) or
    /// subtracted while down (negative), as in keepalived.
    pub weight: i16,
    /// `reverse`: the direction of the weight adjustment is reversed.
    pub reverse: bool,
}

/// One `vrrp_instance NAME { }` block, with every default resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instance {
    /// The instance name.
    pub name: Name,
    /// The interface adverts are sent and received on (`interface`).
    pub interface: IfName,
    /// Virtual router identifier 1..=255 (`virtual_router_id`).
    pub vrid: u8,
    /// Priority 1..=255 (`priority`, default 100; 255 = address owner).
    pub priority: u8,
    /// Initial state (`state`, default BACKUP).
    pub initial_state: InitialState,
    /// Protocol version (`version`, else global `vrrp_version`, else 2;
    /// IPv6 instances always use 3).
    pub version: Version,
    /// Address family, from the virtual addresses (else `unicast_src_ip`, else IPv4).
    pub family: Family,
    /// Advertisement interval in centiseconds (`advert_int`, default 1 s = 100).
    /// Whole seconds for VRRPv2 (a multiple of 100, 100..=25500);
    /// 1..=4095 for VRRPv3.
    pub advert_int_cs: u16,
    /// `false` after `nopreempt` (default `true`).
    pub preempt: bool,
    /// `preempt_delay` in milliseconds (0..=1_000_000, default 0).
    pub preempt_delay_ms: u32,
    /// Accept mode: `accept` (default) / `no_accept`.
    pub accept: bool,
    /// VRRPv2 simple-text password (`authentication { auth_type PASS; auth_pass X }`),
    /// zero-padded to 8 bytes exactly as it goes on the wire. Always `None`
    /// for VRRPv3.
    pub auth_pass: Option<[u8; AUTH_PASS_LEN]>,
    /// Compute the VRRPv3 IPv4 checksum without the pseudo-header
    /// (`v3_checksum_as_v2`, per instance or in `global_defs`).
    pub v3_checksum_as_v2: bool,
    /// Virtual addresses, all of [`Instance::family`]; the order is kept (it is
    /// the order in adverts).
    pub virtual_addresses: Vec<VirtualAddress, MAX_VIPS, u8>,
    /// Virtual routes, installed with the addresses.
    pub virtual_routes: Vec<VirtualRoute, MAX_ROUTES, u8>,
    /// Source address for adverts (`unicast_src_ip` or `mcast_src_ip`);
    /// `None` = the interface's primary address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub src_ip: Option<IpAddr>,
    /// Unicast peers (`unicast_peer { }`); empty = multicast.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub unicast_peers: Vec<IpAddr, MAX_UNICAST_PEERS, u8>,
    /// Tracked interfaces besides [`Instance::interface`] (which is always tracked).
    pub track_interfaces: Vec<TrackInterface, MAX_TRACK_INTERFACES, u8>,
    /// Seconds between the first and the second burst of gratuitous ARPs /
    /// unsolicited NAs after becoming master (`garp_master_delay`, default 5;
    /// 0 = no second burst).
    pub garp_master_delay_s: u16,
    /// Gratuitous ARPs / NAs per burst (`garp_master_repeat`, default 5, at least 1).
    pub garp_master_repeat: u8,
    /// Seconds between periodic gratuitous ARP refreshes while master
    /// (`garp_master_refresh`, default 0 = none).
    pub garp_master_refresh_s: u32,
    /// Gratuitous ARPs / NAs per refresh (`garp_master_refresh_repeat`, default 1).
    pub garp_master_refresh_repeat: u8,
    /// Index in [`Config::sync_groups`] of the group this instance belongs to.
    pub sync_group: Option<u8>,
}

impl Instance {
    /// Whether adverts go to [`Instance::unicast_peers`] instead of the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// The advertisement interval in microseconds.
    pub fn advert_int_micros(&self) -> u64 {
        u64::from(self.advert_int_cs) * 10_000
    }
}

/// One `vrrp_sync_group NAME { group { ... } }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SyncGroup {
    /// The group name.
    pub name: Name,
    /// Indices in [`Config::instances`] of the members, in the order written.
    pub members: Vec<u8, MAX_GROUP_MEMBERS, u8>,
}

/// `global_defs { }` and the global keywords, as far as Tandem uses them.
/// Their effect is already folded into every [`Instance`]; they are kept
/// here for display.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalDefs {
    /// `router_id` (informational).
    pub router_id: Option<String<ROUTER_ID_LEN, u8>>,
    /// `vrrp_version`: default version of instances (default 2).
    pub vrrp_version: Version,
    /// `v3_checksum_as_v2`: default of the instance option.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_garp_master_delay` (default 5).
    pub garp_master_delay_s: u16,
    /// `vrrp_garp_master_repeat` (default 5).
    pub garp_master_repeat: u8,
    /// `vrrp_garp_master_refresh` (default 0 = none).
    pub garp_master_refresh_s: u32,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub garp_master_refresh_repeat: u8,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            vrrp_version: Version::V2,
            v3_checksum_as_v2: false,
            garp_master_delay_s: 5,
            garp_master_repeat: 5,
            garp_master_refresh_s: 0,
            garp_master_refresh_repeat: 1,
        }
    }
}

/// Where the sync channel's pre-shared key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SyncKey {
    /// `key_file PATH`: raw key bytes (at least 32) in a file the port
    /// reads.
    File(Path),
    /// `key HEX`: 64 hexadecimal digits, i.e. 32 octets.
    Inline([u8; SYNC_KEY_LEN]),
}

/// Shows the file name but never the inline key.
impl core::fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SyncKey::File(p) => f.debug_tuple("File").field(p).finish(),
            SyncKey::Inline(_) => f.write_str("Inline(..)"),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SyncKey {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            SyncKey::File(p) => defmt::write!(f, "File({=str})", p.as_str()),
            SyncKey::Inline(_) => defmt::write!(f, "Inline(..)"),
        }
    }
}

/// `conntrack_filter { }`: which connections the master sends (like
/// conntrackd's `Filter` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConntrackFilter {
    /// `protocol NAME|NUMBER ...`: IP protocol numbers to sync; empty =
    /// every protocol.
    pub protocols: Vec<u8, MAX_SYNC_PROTOCOLS, u8>,
    /// `ignore_address ADDR[/PREFIX] ...`: connections from or to these are
    /// not synced (loopback and the router's own addresses always are
    /// ignored, see the reference).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub ignore: Vec<(IpAddr, u8), MAX_SYNC_IGNORE, u8>,
}

/// The `tandem_sync { }` block: the authenticated sync channel between the
/// routers (conntrack and lease sync), with every default resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SyncConfig {
    /// `interface`: the link the sync socket is bound to (`None`: any).
    pub interface: Option<IfName>,
    /// `local_address`: the address the sync socket is bound to.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub local_address: IpAddr,
    /// `peer_address` (repeatable): the other routers, same family as
    /// [`SyncConfig::local_address`], in the order written.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub peer_addresses: Vec<IpAddr, MAX_SYNC_PEERS, u8>,
    /// `port`: UDP port on both ends (default [`DEFAULT_SYNC_PORT`]).
    pub port: u16,
    /// `key_file` or `key`.
    pub key: SyncKey,
    /// `conntrack_capacity`: external cache entries (default
    /// [`DEFAULT_CONNTRACK_CAPACITY`]).
    pub conntrack_capacity: u32,
    /// `conntrack_filter { }`.
    pub conntrack_filter: ConntrackFilter,
    /// `lease_file`: dnsmasq's lease file (`None`: no lease sync).
    pub lease_file: Option<Path>,
    /// `lease_capacity`: lease table entries (default
    /// [`DEFAULT_LEASE_CAPACITY`]).
    pub lease_capacity: u32,
    /// `dhcp_master_command`: run through `/bin/sh -c` on becoming MASTER.
    pub dhcp_master_command: Option<Command>,
    /// `dhcp_backup_command`: run through `/bin/sh -c` on becoming BACKUP
    /// or FAULT.
    pub dhcp_backup_command: Option<Command>,
}

/// A whole validated configuration.
///
/// Its size is fixed by the capacities above (about 40 KiB); keep it in a
/// `static` or a `Box` rather than on a small stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Global settings.
    pub global: GlobalDefs,
    /// VRRP instances, in the order they appear.
    pub instances: Vec<Instance, MAX_INSTANCES, u8>,
    /// Sync groups, in the order they appear.
    pub sync_groups: Vec<SyncGroup, MAX_SYNC_GROUPS, u8>,
    /// The `tandem_sync { }` block, if any.
    pub sync: Option<SyncConfig>,
}

impl Config {
    /// The instance called `name` and its index. *O*(n).
    pub fn instance(&self, name: &str) -> Option<(usize, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .find(|(_, i)| i.name.as_str() == name)
    }

    /// The sync group called `name` and its index. *O*(n).
    pub fn sync_group(&self, name: &str) -> Option<(usize, &SyncGroup)> {
        self.sync_groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.name.as_str() == name)
    }
}
