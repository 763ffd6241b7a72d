//! Network namespaces: creation with a guard that deletes them (and kills every
//! process still inside) on drop, `ip`/command helpers, and running a closure on a
//! thread that has entered a namespace (its sockets live there).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::thread;

/// Runs a command to completion and returns its stdout; a non-zero exit is an error
/// carrying the command line and its stderr.
pub fn run<I, S>(program: &str, args: I) -> io::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = output(program, &args)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "`{program} {}` failed ({}): {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Runs a command to completion and returns its whole output, whatever its exit status.
pub fn output<I, S>(program: &str, args: I) -> io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{program}`: {e}")))
}

/// `ip -n NS ARGS…`, returning stdout.
pub fn ip(ns: &str, args: &[&str]) -> io::Result<String> {
    let mut a = vec!["-n", ns];
    a.extend_from_slice(args);
    run("ip", a)
}

/// Runs `program args…` inside namespace `ns` (`ip netns exec`), returning stdout.
pub fn exec(ns: &str, program: &str, args: &[&str]) -> io::Result<String> {
    let mut a = vec!["netns", "exec", ns, program];
    a.extend_from_slice(args);
    run("ip", a)
}

/// Writes a sysctl (`net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`) inside `ns`.
pub fn sysctl(ns: &str, key: &str, value: &str) -> io::Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let value = value.to_string();
    in_netns(ns, move || std::fs::write(&path, value))?
}

/// Names of all existing network namespaces.
pub fn list() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/var/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// PIDs of the processes whose network namespace is `ns`.
pub fn pids(ns: &str) -> Vec<i32> {
    run("ip", ["netns", "pids", ns])
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Kills (SIGKILL) every process inside `ns`, then deletes it. Errors are ignored:
/// this is cleanup.
pub fn destroy(ns: &str) {
    for _ in 0..3 {
        let p = pids(ns);
        if p.is_empty() {
            break;
        }
        for pid in p {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = output("ip", ["netns", "del", ns]);
}

/// Deletes every namespace named `<prefix>-…` (left over by an earlier, aborted run
/// of the same test).
pub fn destroy_prefix(prefix: &str) {
    let p = format!("{prefix}-");
    for ns in list().into_iter().filter(|n| n.starts_with(&p)) {
        destroy(&ns);
    }
}

/// Moves the calling thread into network namespace `ns`.
pub fn enter(ns: &str) -> io::Result<()> {
    let f = File::open(format!("/var/run/netns/{ns}"))?;
    // SAFETY: setns(2) on a valid fd; it only changes this thread's namespace.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread that has entered namespace `ns`; sockets created there
/// belong to `ns`.
pub fn in_netns<T, F>(ns: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_string();
    thread::spawn(move || {
        enter(&ns)?;
        Ok(f())
    })
    .join()
    .map_err(|_| io::Error::other("thread in namespace panicked"))?
}

/// A network namespace that is deleted (after killing every process inside) when
/// the guard drops.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` (deleting a stale one of that name first) and sets
    /// its loopback up.
    pub fn create(name: &str) -> io::Result<Netns> {
        if list().iter().any(|n| n == name) {
            destroy(name);
        }
        run("ip", ["netns", "add", name])?;
        let ns = Netns {
            name: name.to_string(),
        };
        ip(name, &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        destroy(&self.name);
    }
}
