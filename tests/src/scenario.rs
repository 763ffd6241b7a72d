//! Two routers running a daemon each on the seed topology: the building blocks of
//! the failover tests, the benchmark and the demo.
//!
//! ```no_run
//! use tandem_tests::{Kind, Pair, RouterId, Stop, VrrpConf};
//! let mut pair = Pair::new("ttdemo", [Kind::Tandem, Kind::Keepalived],
//!     [VrrpConf::v3_fast().priority(150), VrrpConf::v3_fast().priority(100)]).unwrap();
//! pair.elect(RouterId::R1).unwrap();              // r1 master, r2 settled backup
//! let took = pair.measure_takeover(RouterId::R1, Stop::Crash, pair.crash_bound(RouterId::R2));
//! println!("r2 holds both VIPs {:?} after the crash of r1", took.unwrap());
//! ```

use std::io;
use std::time::{Duration, Instant};

use crate::config::VrrpConf;
use crate::daemon::{Daemon, Kind};
use crate::status::Role;
use crate::topology::{RouterId, Topology, Vips};
use crate::wait::{poll_until, AddrWatch, Timeout};

/// How the master is taken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGSTOP then SIGKILL of every process of the daemon (a crash: no priority-0
    /// advert, addresses left behind).
    Crash,
    /// SIGTERM (graceful: priority-0 advert, addresses removed).
    Term,
}

/// Slack added to a protocol bound for scheduling, process start-up and netlink.
pub const SLACK: Duration = Duration::from_millis(500);

/// The seed topology with one daemon slot per router.
pub struct Pair {
    // Field order matters: daemons drop (are killed) before the namespaces go.
    daemons: [Option<Daemon>; 2],
    kinds: [Kind; 2],
    confs: [VrrpConf; 2],
    extra: [String; 2],
    topo: Topology,
}

impl Pair {
    /// Builds the topology `prefix` (see [`Topology::seed`]); starts nothing.
    pub fn new(prefix: &str, kinds: [Kind; 2], confs: [VrrpConf; 2]) -> io::Result<Pair> {
        Ok(Pair {
            daemons: [None, None],
            kinds,
            confs,
            extra: [String::new(), String::new()],
            topo: Topology::seed(prefix)?,
        })
    }

    /// The topology.
    pub fn topo(&self) -> &Topology {
        &self.topo
    }

    /// The implementation configured for router `r`.
    pub fn kind(&self, r: RouterId) -> Kind {
        self.kinds[r.index()]
    }

    /// The configuration of router `r`.
    pub fn conf(&self, r: RouterId) -> &VrrpConf {
        &self.confs[r.index()]
    }

    /// Replaces router `r`'s configuration (used at its next start).
    pub fn set_conf(&mut self, r: RouterId, conf: VrrpConf) {
        self.confs[r.index()] = conf;
    }

    /// Text appended to router `r`'s rendered configuration (e.g. a `tandem_sync`
    /// block), used from its next start; empty by default.
    pub fn set_extra_conf(&mut self, r: RouterId, text: &str) {
        self.extra[r.index()] = text.to_string();
    }

    /// Router `r`'s full configuration text as [`Pair::start`] writes it.
    pub fn conf_text(&self, r: RouterId) -> String {
        self.confs[r.index()].render() + &self.extra[r.index()]
    }

    /// Replaces router `r`'s implementation (used at its next start).
    pub fn set_kind(&mut self, r: RouterId, kind: Kind) {
        self.kinds[r.index()] = kind;
    }

    /// Starts router `r`'s daemon (killing a previous one that still runs).
    pub fn start(&mut self, r: RouterId) -> io::Result<&mut Daemon> {
        if let Some(mut d) = self.daemons[r.index()].take() {
            d.crash();
        }
        let d = Daemon::start(&self.topo, r, self.kinds[r.index()], &self.conf_text(r))?;
        Ok(self.daemons[r.index()].insert(d))
    }

    /// Router `r`'s daemon (panics if it was never started).
    pub fn daemon(&mut self, r: RouterId) -> &mut Daemon {
        self.daemons[r.index()]
            .as_mut()
            .unwrap_or_else(|| panic!("no daemon started on {}", r.name()))
    }

    /// Router `r`'s daemon, if started.
    pub fn daemon_ref(&self, r: RouterId) -> Option<&Daemon> {
        self.daemons[r.index()].as_ref()
    }

    /// Router `r`'s daemon if it is tandem and has not exited.
    fn live_tandem(&self, r: RouterId) -> Option<&Daemon> {
        self.daemon_ref(r)
            .filter(|d| d.kind() == Kind::Tandem && !d.has_exited())
    }

    /// Which VIPs router `r` holds.
    pub fn vips(&self, r: RouterId) -> io::Result<Vips> {
        self.topo.vips(r)
    }

    /// Master_Down_Interval of router `r` (as a backup) + [`SLACK`]: the bound for a
    /// takeover after a crash of the other router.
    pub fn crash_bound(&self, r: RouterId) -> Duration {
        self.conf(r).master_down_interval() + SLACK
    }

    /// Skew_Time of router `r` + 0.3 s: the bound for a takeover after a graceful
    /// stop (priority 0) of the other router.
    pub fn term_bound(&self, r: RouterId) -> Duration {
        self.conf(r).skew() + Duration::from_millis(300)
    }

    /// Polls until router `r` holds both VIPs, within `bound` from `since`.
    pub fn wait_holds_both(
        &self,
        r: RouterId,
        since: Instant,
        bound: Duration,
    ) -> Result<Duration, Timeout> {
        poll_until(since, bound, Duration::from_millis(20), || {
            self.vips(r).map(Vips::both).unwrap_or(false)
        })
    }

    /// Polls until router `r` holds neither VIP, within `bound` from `since`.
    pub fn wait_holds_none(
        &self,
        r: RouterId,
        since: Instant,
        bound: Duration,
    ) -> Result<Duration, Timeout> {
        poll_until(since, bound, Duration::from_millis(20), || {
            self.vips(r).map(Vips::none).unwrap_or(false)
        })
    }

    /// Waits until router `r`'s daemon is a settled backup: for tandem, `status`
    /// reports every instance in Backup and (if counted) adverts received; for
    /// keepalived, its log shows both instances entered BACKUP. Then it holds no VIP.
    /// Finally waits one more advertisement interval so that it has heard the master.
    pub fn wait_backup(&mut self, r: RouterId, bound: Duration) -> Result<Duration, String> {
        let since = Instant::now();
        let kind = self.kind(r);
        let adv = self.conf(r).advert_int;
        let d = self.daemon(r);
        let res = poll_until(since, bound, Duration::from_millis(50), || match kind {
            Kind::Tandem => d
                .status()
                .map(|s| s.all(&Role::Backup) && s.received().is_none_or(|n| n > 0))
                .unwrap_or(false),
            Kind::Keepalived => {
                let log = d.log();
                ["I1", "E1"].iter().all(|i| {
                    log.lines()
                        .any(|l| l.contains(&format!("({i}) Entering BACKUP STATE")))
                })
            }
        });
        let took = res.map_err(|t| {
            format!(
                "{} did not become backup: {t}; log:\n{}",
                r.name(),
                d.log_tail(30)
            )
        })?;
        std::thread::sleep(adv + adv / 2);
        let v = self.vips(r).map_err(|e| e.to_string())?;
        if !v.none() {
            return Err(format!("{} is backup but holds {v:?}", r.name()));
        }
        Ok(took)
    }

    /// Makes `first` the master deterministically: starts it alone, waits until it
    /// holds both VIPs (Master_Down_Interval + 3 s), starts the other router and
    /// waits until that one is a settled backup.
    pub fn elect(&mut self, first: RouterId) -> Result<(), String> {
        let t = Instant::now();
        self.start(first).map_err(|e| e.to_string())?;
        let bound = self.conf(first).master_down_interval() + Duration::from_secs(3);
        if let Err(e) = self.wait_holds_both(first, t, bound) {
            let d = self.daemon(first);
            let exited = d.wait_exit(Duration::ZERO);
            let log = d.log_tail(30);
            return Err(format!(
                "{} did not become master alone: {e}; daemon exited: {exited:?}; log:\n{log}",
                first.name()
            ));
        }
        let o = first.other();
        self.start(o).map_err(|e| e.to_string())?;
        let bound = self.conf(o).master_down_interval() + Duration::from_secs(3);
        self.wait_backup(o, bound)?;
        Ok(())
    }

    /// Routers acting as master: holding a VIP or the virtual route, or (tandem,
    /// running) reporting an instance in MASTER.
    pub fn masters(&self) -> Vec<RouterId> {
        RouterId::BOTH
            .into_iter()
            .filter(|&r| {
                let holds = self.vips(r).map(|v| !v.none()).unwrap_or(false)
                    || self.topo.has_virtual_route(r).unwrap_or(false);
                let says = self.live_tandem(r).is_some_and(|d| {
                    d.status()
                        .is_ok_and(|s| s.instances.iter().any(|i| i.state == Role::Master))
                });
                holds || says
            })
            .collect()
    }

    /// Router `r` is the one master: it holds both VIPs and the virtual route, the
    /// other router holds none of them, and running tandem daemons agree (all
    /// instances MASTER on `r`, all BACKUP with `r` as master on the other).
    pub fn check_master(&self, r: RouterId) -> Result<(), String> {
        self.topo.check_sole_master(r)?;
        for (x, want) in [(r, Role::Master), (r.other(), Role::Backup)] {
            let Some(d) = self.live_tandem(x) else {
                continue;
            };
            let s = d.status().map_err(|e| format!("{}: {e}", x.name()))?;
            if !s.all(&want) {
                return Err(format!(
                    "{} should be all {want:?}: {}",
                    x.name(),
                    s.summary()
                ));
            }
            if want == Role::Backup {
                for i in &s.instances {
                    let expect = if i.name == "I1" {
                        r.lan_addr()
                    } else {
                        r.wan_addr()
                    };
                    if i.master.as_deref() != Some(expect.to_string().as_str()) {
                        return Err(format!(
                            "{} {} should know master {expect}: {}",
                            x.name(),
                            i.name,
                            s.summary()
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Router `r` holds both VIPs and the virtual route, and a running tandem there
    /// reports every instance MASTER (says nothing about the other router, which
    /// may keep addresses after a crash).
    pub fn check_holds(&self, r: RouterId) -> Result<(), String> {
        let v = self.vips(r).map_err(|e| e.to_string())?;
        if !v.both() {
            return Err(format!("{} should hold both VIPs, holds {v:?}", r.name()));
        }
        if !self.topo.has_virtual_route(r).map_err(|e| e.to_string())? {
            return Err(format!(
                "{} lacks the virtual route: {:?}",
                r.name(),
                self.topo.routes(r)
            ));
        }
        if let Some(d) = self.live_tandem(r) {
            let s = d.status().map_err(|e| format!("{}: {e}", r.name()))?;
            if !s.all(&Role::Master) {
                return Err(format!(
                    "{} holds the VIPs but reports {}",
                    r.name(),
                    s.summary()
                ));
            }
        }
        Ok(())
    }

    /// Exactly one router is master (see [`Pair::masters`]) and passes
    /// [`Pair::check_master`]; returns it.
    pub fn check_one_master(&self) -> Result<RouterId, String> {
        match self.masters()[..] {
            [m] => self.check_master(m).map(|_| m),
            ref v => Err(format!(
                "expected exactly one master, found {v:?} (r1 {:?}, r2 {:?})",
                self.vips(RouterId::R1),
                self.vips(RouterId::R2)
            )),
        }
    }

    /// The client reaches `UPSTREAM` within `bound`, and the client's and the
    /// gateway's neighbour entries for the VIPs point to router `r` (so the traffic
    /// went through `r`, whose gratuitous ARPs updated them).
    pub fn check_path_via(&self, r: RouterId, bound: Duration) -> Result<Duration, String> {
        let took = self
            .topo
            .wait_client_reaches(Instant::now(), bound)
            .map_err(|e| format!("client cannot reach the upstream through the VIPs: {e}"))?;
        let (l, w) = self.topo.vip_neighbours().map_err(|e| e.to_string())?;
        if l.as_deref() != Some(r.lan_mac().as_str()) || w.as_deref() != Some(r.wan_mac().as_str())
        {
            return Err(format!(
                "neighbour entries for the VIPs should point to {} ({} / {}), are {l:?} / {w:?}",
                r.name(),
                r.lan_mac(),
                r.wan_mac()
            ));
        }
        Ok(took)
    }

    /// Takes down router `from`'s daemon as `how` says and returns the time from the
    /// signal until the other router holds both VIPs (timed on the kernel's address
    /// notifications, see [`AddrWatch`]), within `bound`.
    pub fn measure_takeover(
        &mut self,
        from: RouterId,
        how: Stop,
        bound: Duration,
    ) -> Result<Duration, Timeout> {
        let watch = AddrWatch::start(&self.topo.router_ns(from.other())).expect("ip monitor");
        let d = self.daemon(from);
        let t = match how {
            Stop::Crash => d.crash(),
            Stop::Term => d.terminate(),
        };
        watch.wait_for(t, bound, |set| Vips::from_addrs(set).both())
    }
}
