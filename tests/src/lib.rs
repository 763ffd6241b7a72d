//! Network-namespace harness for Tandem's integration tests (and for the benchmark
//! and the demo built on it).
//!
//! * [`topology`]: the seed topology (two routers with `br-lan`/`eth0.2`, a LAN
//!   client, a WAN gateway, two bridges) in namespaces named `<prefix>-…`, torn down
//!   on drop; reading addresses, routes, neighbours; pulling cables; TCP probes from
//!   the client through the VIPs.
//! * [`daemon`]: `tandem` or `keepalived` in a router namespace with its own files;
//!   crash (SIGSTOP all, then SIGKILL), SIGTERM, freeze/thaw, `tandem status --json`.
//! * [`config`]: the seed keepalived.conf verbatim and its variants (VRRPv3 0.1 s,
//!   priorities, nopreempt, sync group, password).
//! * [`wait`]: polling with deadlines that report elapsed time, and [`wait::AddrWatch`]
//!   which times address changes to the kernel's notifications.
//! * [`scenario`]: [`Pair`] — elect a known master, take it down, measure the takeover.
//! * [`status`], [`json`]: readers for `tandem status --json` and `ip -j`.
//! * [`ctsync`]: the conntrack-sync lab (sync link, source NAT to the WAN VIP,
//!   `tcp_loose=0`, a WAN server, the `tandem_sync` block), the sync part of
//!   `tandem status --json`, capturing and injecting datagrams on the sync link.
//! * [`traffic`]: long-lived TCP connections and a UDP flow checked byte for byte in
//!   either direction; nftables reset counters.
//! * [`ctsync_conntrackd`]: Debian's conntrackd with the seed's file on the same lab
//!   (for `bench-ctsync`).
//! * [`ctnl`]: the kernel's conntrack table over ctnetlink (dump, bulk insert,
//!   flush, count).
//! * [`dhcp`]: the lease-sync lab: dnsmasq on both routers run by Tandem's DHCP
//!   commands, busybox udhcpc clients in namespaces of their own, lease files.
//!
//! Every test calls [`require_root`] first: without root it prints `SKIPPED: needs
//! root` and returns, except under `CI=true`, where it fails.

pub mod config;
pub mod ctnl;
pub mod ctsync;
pub mod ctsync_conntrackd;
pub mod daemon;
pub mod dhcp;
pub mod json;
pub mod netns;
pub mod scenario;
pub mod status;
pub mod topology;
pub mod traffic;
pub mod wait;

pub use config::{Version, VrrpConf, SEED_KEEPALIVED_CONF};
pub use daemon::{keepalived_bin, tandem_bin, Daemon, Kind};
pub use scenario::{Pair, Stop, SLACK};
pub use status::{Role, Status};
pub use topology::{Link, RouterId, Topology, Vips, GATEWAY, LAN_VIP, UPSTREAM, WAN_VIP};
pub use wait::{holds_during, poll_until, AddrEvent, AddrWatch, Timeout};

/// Whether the process runs as root. Without root: prints a loud `SKIPPED: needs
/// root` to stderr and returns false — unless the environment has `CI=true`, where a
/// test that cannot run is a failure, so it panics.
pub fn require_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("this test needs root (network namespaces) and CI=true: refusing to skip");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of
    // passing tests, and a skip must be seen.
    use std::io::Write as _;
    let _ = std::io::stderr()
        .write_all(b"\n******** SKIPPED: needs root (network namespaces) ********\n\n");
    false
}
