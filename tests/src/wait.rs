//! Waiting with deadlines, and timing address changes precisely.
//!
//! [`poll_until`] re-evaluates a condition until it holds or a bound passes.
//! [`AddrWatch`] follows a namespace's address changes as they happen (`ip -o
//! monitor address`, each line time-stamped on arrival), so a takeover is timed to
//! the moment the kernel reported the address, not to the next poll.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::topology::{addresses, IfAddr};

/// A condition did not hold within its bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout {
    /// How long was waited (from the start instant given by the caller).
    pub waited: Duration,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "condition did not hold within {:?}", self.waited)
    }
}

impl std::error::Error for Timeout {}

/// Evaluates `cond` every `interval` until it returns true or `bound` has passed
/// since `since`; returns the time from `since` to the first evaluation that held
/// (measured when that evaluation started).
pub fn poll_until(
    since: Instant,
    bound: Duration,
    interval: Duration,
    mut cond: impl FnMut() -> bool,
) -> Result<Duration, Timeout> {
    let deadline = since + bound;
    loop {
        let t = Instant::now();
        if cond() {
            return Ok(t.saturating_duration_since(since));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Timeout {
                waited: now - since,
            });
        }
        thread::sleep(interval.min(deadline - now));
    }
}

/// Checks that `cond` holds at every evaluation (every `interval`) during `span`;
/// returns the elapsed time of the first evaluation where it did not hold.
pub fn holds_during(
    span: Duration,
    interval: Duration,
    mut cond: impl FnMut() -> bool,
) -> Result<(), Duration> {
    let start = Instant::now();
    loop {
        if !cond() {
            return Err(start.elapsed());
        }
        if start.elapsed() >= span {
            return Ok(());
        }
        thread::sleep(interval);
    }
}

/// An address change reported by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrEvent {
    /// Address added.
    Add(IfAddr),
    /// Address removed.
    Del(IfAddr),
}

#[derive(Default)]
struct WatchState {
    initial: BTreeSet<IfAddr>,
    events: Vec<(Instant, AddrEvent)>,
    closed: bool,
}

/// Follows the IPv4 addresses of one namespace in real time.
pub struct AddrWatch {
    ns: String,
    child: Child,
    shared: Arc<(Mutex<WatchState>, Condvar)>,
}

fn parse_monitor_line(line: &str) -> Option<AddrEvent> {
    // "[Deleted ]3: eth0.2    inet 10.1.1.1/24 scope global eth0.2\  valid_lft …"
    let (deleted, rest) = match line.strip_prefix("Deleted ") {
        Some(r) => (true, r),
        None => (false, line),
    };
    let mut it = rest.split_whitespace();
    let _index = it.next()?;
    let ifname = it.next()?.split('@').next()?.to_string();
    if it.next()? != "inet" {
        return None;
    }
    let (addr, prefix) = it.next()?.split_once('/')?;
    let a = IfAddr {
        ifname,
        addr: addr.parse::<Ipv4Addr>().ok()?,
        prefix: prefix.parse().ok()?,
    };
    Some(if deleted {
        AddrEvent::Del(a)
    } else {
        AddrEvent::Add(a)
    })
}

impl AddrWatch {
    /// Starts following namespace `ns` (returns once the monitor is subscribed and
    /// the initial addresses are read).
    pub fn start(ns: &str) -> io::Result<AddrWatch> {
        let mut child = Command::new("ip")
            .args(["-n", ns, "-o", "-4", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let shared = Arc::new((Mutex::new(WatchState::default()), Condvar::new()));
        let s2 = shared.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let t = Instant::now();
                        if let Some(ev) = parse_monitor_line(&line) {
                            let (m, cv) = &*s2;
                            m.lock().unwrap().events.push((t, ev));
                            cv.notify_all();
                        }
                    }
                }
            }
            let (m, cv) = &*s2;
            m.lock().unwrap().closed = true;
            cv.notify_all();
        });
        // Give `ip monitor` time to bind its netlink socket before the dump: events
        // replayed over the dump are idempotent, missed ones would not be.
        thread::sleep(Duration::from_millis(150));
        let initial = addresses(ns)?.into_iter().collect();
        shared.0.lock().unwrap().initial = initial;
        Ok(AddrWatch {
            ns: ns.to_string(),
            child,
            shared,
        })
    }

    /// The namespace being watched.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The changes reported at or after `since`, with their arrival times.
    pub fn events_since(&self, since: Instant) -> Vec<(Instant, AddrEvent)> {
        let st = self.shared.0.lock().unwrap();
        st.events
            .iter()
            .filter(|(t, _)| *t >= since)
            .cloned()
            .collect()
    }

    /// The current set of addresses as seen through the events.
    pub fn current(&self) -> BTreeSet<IfAddr> {
        let st = self.shared.0.lock().unwrap();
        let mut set = st.initial.clone();
        for (_, ev) in &st.events {
            apply(&mut set, ev);
        }
        set
    }

    /// Waits until `pred` holds for the address set, at `since` or after it, within
    /// `bound` from `since`; returns the time from `since` to the event that made it
    /// hold (zero if it already held at `since`).
    pub fn wait_for(
        &self,
        since: Instant,
        bound: Duration,
        pred: impl Fn(&BTreeSet<IfAddr>) -> bool,
    ) -> Result<Duration, Timeout> {
        let deadline = since + bound;
        let (m, cv) = &*self.shared;
        let mut st = m.lock().unwrap();
        loop {
            let mut set = st.initial.clone();
            let mut checked_at_since = false;
            for (t, ev) in &st.events {
                if *t >= since && !checked_at_since {
                    checked_at_since = true;
                    if pred(&set) {
                        return Ok(Duration::ZERO);
                    }
                }
                apply(&mut set, ev);
                if *t >= since && pred(&set) {
                    return if *t <= deadline {
                        Ok(*t - since)
                    } else {
                        Err(Timeout { waited: bound })
                    };
                }
            }
            let now = Instant::now();
            if !checked_at_since && now >= since && pred(&set) {
                return Ok(Duration::ZERO);
            }
            if now >= deadline || st.closed {
                return Err(Timeout {
                    waited: now.saturating_duration_since(since),
                });
            }
            st = cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }
}

fn apply(set: &mut BTreeSet<IfAddr>, ev: &AddrEvent) {
    match ev {
        AddrEvent::Add(a) => {
            set.insert(a.clone());
        }
        AddrEvent::Del(a) => {
            set.remove(a);
        }
    }
}

impl Drop for AddrWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_monitor_lines() {
        let a = parse_monitor_line("3: eth0.2    inet 10.1.1.1/24 scope global eth0.2\\       valid_lft forever preferred_lft forever\n");
        assert_eq!(
            a,
            Some(AddrEvent::Add(IfAddr {
                ifname: "eth0.2".into(),
                addr: Ipv4Addr::new(10, 1, 1, 1),
                prefix: 24
            }))
        );
        let d = parse_monitor_line(
            "Deleted 3: br-lan    inet 10.9.8.4/24 scope global secondary br-lan\\ x",
        );
        assert!(matches!(d, Some(AddrEvent::Del(IfAddr { prefix: 24, .. }))));
        assert_eq!(
            parse_monitor_line("3: eth0    inet6 fe80::1/64 scope link"),
            None
        );
    }

    #[test]
    fn poll_until_reports_elapsed_and_timeout() {
        let start = Instant::now();
        let mut n = 0;
        let r = poll_until(
            start,
            Duration::from_secs(1),
            Duration::from_millis(1),
            || {
                n += 1;
                n == 3
            },
        );
        assert!(r.unwrap() < Duration::from_secs(1));
        let r = poll_until(
            Instant::now(),
            Duration::from_millis(30),
            Duration::from_millis(5),
            || false,
        );
        assert!(r.unwrap_err().waited >= Duration::from_millis(30));
    }
}
