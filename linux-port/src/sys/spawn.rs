//! Running a shell command without blocking the loop and without the heap:
//! `/bin/sh -c CMD` started as `posix_spawn` does it (`clone` with
//! `CLONE_VM | CLONE_VFORK`, then `execve`), with the signal mask
//! cleared and SIGPIPE reset (the daemon blocks TERM/INT/HUP for its
//! signalfd and Rust ignores SIGPIPE; a child must not inherit either),
//! then `waitpid(pid, WNOHANG)` from the loop.

use super::Errno;
use std::io;

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
        let (what, n) = match self {
            Exit::Code(c) => ("exit status", c),
            Exit::Signal(s) => ("killed by signal", s),
        };
        write!(f, "{what} {n}")
    }
}

/// Signals a child gets back to their default action (the daemon blocks
/// or ignores them; a handler would not survive `execve` anyway).
const DEFAULT_SIGNALS: [libc::c_int; 5] = [
    libc::SIGPIPE,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGCHLD,
];

/// What the child needs, in the parent's memory (shared until `execve`).
struct Child {
    argv: [*mut libc::c_char; 4],
    /// `errno` of a failed `execve`.
    err: libc::c_int,
}

const SH: &[u8] = b"/bin/sh\0";

/// The child side of [`spawn_shell`], on its own stack in the parent's
/// memory (`CLONE_VM | CLONE_VFORK`, as `posix_spawn` does it): default
/// signal actions, an empty signal mask, `execve`.
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Child`, which outlives the child's
    // use of it (the parent is suspended until `execve` or `_exit`); only
    // async-signal-safe calls are made.
    unsafe {
        let c = arg.cast::<Child>();
        for s in DEFAULT_SIGNALS {
            super::set_signal(s, libc::SIG_DFL);
        }
        super::sig_mask(libc::SIG_SETMASK, &[0; _], core::ptr::null_mut());
        libc::syscall(
            libc::SYS_execve,
            SH.as_ptr(),
            (*c).argv.as_ptr(),
            super::environ,
        );
        (*c).err = *libc::__errno_location();
        libc::_exit(127)
    }
}

/// Starts `/bin/sh -c CMD`; `cmd` must end with a NUL (prepared once, at
/// start-up). Returns the child's pid.
pub fn spawn_shell(cmd: &[u8]) -> io::Result<libc::pid_t> {
    if cmd.last() != Some(&0) || cmd[..cmd.len() - 1].contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut c = Child {
        argv: [
            c"sh".as_ptr() as *mut libc::c_char,
            c"-c".as_ptr() as *mut libc::c_char,
            cmd.as_ptr() as *mut libc::c_char,
            core::ptr::null_mut(),
        ],
        err: 0,
    };
    // The child's stack (the parent waits until it has called `execve`).
    let mut stack = core::mem::MaybeUninit::<[u64; 1024]>::uninit();
    // SAFETY: all signals are blocked around `clone` so that no handler
    // runs in the child before it resets them (restored right after);
    // `child` only uses `c` and its own stack, both alive until the child
    // has exec'd or exited (CLONE_VFORK); the stack top is 8-aligned.
    unsafe {
        // Every signal (the kernel leaves SIGKILL and SIGSTOP out).
        let mut old: super::SigSet = [0; _];
        super::sig_mask(libc::SIG_BLOCK, &[!0; _], &mut old);
        let top = stack.as_mut_ptr().cast::<u64>().add(1024).cast();
        let pid = libc::clone(
            child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut c as *mut Child).cast(),
        );
        let e = io::Error::last_os_error();
        super::sig_mask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        if pid < 0 {
            return Err(e);
        }
        let err = core::ptr::read_volatile(&c.err);
        if err != 0 {
            // It exited: reap it.
            let mut status = 0;
            while wait4(pid, &mut status, 0) < 0 && Errno::last().0 == libc::EINTR {}
            return Err(io::Error::from_raw_os_error(err));
        }
        Ok(pid)
    }
}

/// `waitpid(2)` as the bare `wait4` call (what the C library's wrapper
/// makes).
///
/// # Safety
///
/// `status` is writable.
#[inline(never)]
unsafe fn wait4(pid: libc::pid_t, status: &mut libc::c_int, options: libc::c_int) -> libc::c_long {
    // SAFETY: `status` is writable; no rusage is asked for.
    unsafe {
        libc::syscall(
            libc::SYS_wait4,
            pid as libc::c_long,
            status as *mut libc::c_int,
            options as libc::c_long,
            core::ptr::null_mut::<libc::c_void>(),
        )
    }
}

/// Reaps `pid` if it has ended (`None`: still running).
pub fn try_wait(pid: libc::pid_t) -> io::Result<Option<Exit>> {
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid out-pointer.
    let r = super::retry(|| unsafe { wait4(pid, &mut status, libc::WNOHANG) } as isize)?;
    if r == 0 {
        return Ok(None);
    }
    Ok(Some(if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(-1)
    }))
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
        // An `execve` that fails (one argument over 128 KiB) is an error
        // (the child is reaped).
        let mut long = vec![b':'; 200 * 1024];
        long.push(0);
        let e = spawn_shell(&long).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
        // SIGPIPE (ignored by Rust) is back to its default action, and a
        // blocked signal is not blocked in the child.
        assert_eq!(
            wait(spawn_shell(b"kill -PIPE $$\0").unwrap()),
            Exit::Signal(13)
        );
        // SAFETY: plain signal mask calls on this thread.
        unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
            let e = wait(spawn_shell(b"kill -USR1 $$; exit 0\0").unwrap());
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
            assert_eq!(e, Exit::Signal(libc::SIGUSR1));
        }
    }
}
