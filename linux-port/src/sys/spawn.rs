//! Running a shell command without blocking the loop and without the heap:
//! `posix_spawn("/bin/sh", ["sh", "-c", CMD])` with the signal mask
//! cleared and SIGPIPE reset (the daemon blocks TERM/INT/HUP for its
//! signalfd and Rust ignores SIGPIPE; a child must not inherit either),
//! then `waitpid(pid, WNOHANG)` from the loop.

use std::io;

extern "C" {
    static environ: *const *mut libc::c_char;
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// Starts `/bin/sh -c CMD`; `cmd` must end with a NUL (prepared once, at
/// start-up). Returns the child's pid.
pub fn spawn_shell(cmd: &[u8]) -> io::Result<libc::pid_t> {
    if cmd.last() != Some(&0) || cmd[..cmd.len() - 1].contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    const SH: &[u8] = b"/bin/sh\0";
    const ARG0: &[u8] = b"sh\0";
    const DASH_C: &[u8] = b"-c\0";
    let argv: [*mut libc::c_char; 4] = [
        ARG0.as_ptr() as *mut libc::c_char,
        DASH_C.as_ptr() as *mut libc::c_char,
        cmd.as_ptr() as *mut libc::c_char,
        core::ptr::null_mut(),
    ];
    // SAFETY: the attribute object is initialised before use and destroyed
    // after; the sigsets are initialised by sigemptyset/sigaddset; argv is
    // a NULL-terminated array of NUL-terminated strings that outlive the
    // call; `environ` is the process environment.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        let r = libc::posix_spawnattr_init(&mut attr);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let mut empty: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut def: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut def);
        for s in [
            libc::SIGPIPE,
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGCHLD,
        ] {
            libc::sigaddset(&mut def, s);
        }
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        libc::posix_spawnattr_setsigdefault(&mut attr, &def);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        );
        let mut pid: libc::pid_t = 0;
        let r = libc::posix_spawn(
            &mut pid,
            SH.as_ptr().cast(),
            core::ptr::null(),
            &attr,
            argv.as_ptr(),
            environ,
        );
        libc::posix_spawnattr_destroy(&mut attr);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(pid)
    }
}

/// Reaps `pid` if it has ended (`None`: still running).
pub fn try_wait(pid: libc::pid_t) -> io::Result<Option<Exit>> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        return Ok(Some(if libc::WIFEXITED(status) {
            Exit::Code(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(-1)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(pid: libc::pid_t) -> Exit {
        for _ in 0..500 {
            if let Some(e) = try_wait(pid).unwrap() {
                return e;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("child did not end");
    }

    #[test]
    fn runs_through_the_shell() {
        assert_eq!(wait(spawn_shell(b"exit 3\0").unwrap()), Exit::Code(3));
        assert_eq!(
            wait(spawn_shell(b"true && exit 0\0").unwrap()),
            Exit::Code(0)
        );
        assert_eq!(wait(spawn_shell(b"kill -9 $$\0").unwrap()), Exit::Signal(9));
        assert!(spawn_shell(b"no nul").is_err());
    }
}
