//! The control socket (`/var/run/tandem.sock` by default): one request
//! line, one response, then close.
//!
//! Requests: `status` (text), `status json`, `resync` (ask for a full
//! conntrack resync), `cache` / `cache json` (list the conntrack cache).
//! A long answer (the cache) is produced in chunks: the answer callback
//! fills the client's buffer, sets [`Pending::more`] and is called again
//! with its [`Pending::cursor`] once the chunk has been written. The server never blocks the
//! event loop: the listener and the clients are non-blocking, a client gets
//! [`CLIENT_TIMEOUT`] to send its line and read the answer, at most
//! [`MAX_CLIENTS`] are served at once (more are closed at once), and each
//! client slot owns a response buffer allocated at start-up (or reload), so
//! answering does not allocate.

use crate::sys::poll::{PollFd, POLLIN, POLLOUT};
use crate::sys::{unix, Errno, Fd};
use std::path::Path;
use tandem_core::time::{Duration, Instant};

/// Clients served at once.
pub const MAX_CLIENTS: usize = 4;
/// How long a client may take to send its request and read the response.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest request line.
pub const MAX_REQUEST: usize = 128;

/// A parsed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `status` / `status json`.
    Status {
        /// JSON output.
        json: bool,
    },
    /// `resync`: a full conntrack resync (MASTER: stream the table again;
    /// BACKUP: ask the master for it).
    Resync,
    /// `cache` / `cache json`: the conntrack cache, entry by entry.
    Cache {
        /// JSON output.
        json: bool,
    },
}

/// Every request: command word, argument word (`""`: none), request.
const REQUESTS: [(&str, &str, Request); 5] = [
    ("status", "", Request::Status { json: false }),
    ("status", "json", Request::Status { json: true }),
    ("resync", "", Request::Resync),
    ("cache", "", Request::Cache { json: false }),
    ("cache", "json", Request::Cache { json: true }),
];

/// Parses one request line (without or with its newline).
pub fn parse_request(line: &[u8]) -> Option<Request> {
    let line = std::str::from_utf8(line).ok()?.trim();
    let mut words = line.split_ascii_whitespace();
    let command = words.next()?;
    let arg = words.next().unwrap_or("");
    if words.next().is_some() {
        return None;
    }
    REQUESTS
        .iter()
        .find(|r| r.0 == command && r.1 == arg)
        .map(|r| r.2)
}

/// The request line a client sends.
pub fn request_line(req: Request) -> &'static str {
    match req {
        Request::Status { json: false } => "status\n",
        Request::Status { json: true } => "status json\n",
        Request::Resync => "resync\n",
        Request::Cache { json: false } => "cache\n",
        Request::Cache { json: true } => "cache json\n",
    }
}

/// `mkdir -p` of the directory of `path`: every prefix up to a `/` in
/// turn, an existing directory being fine (std's `create_dir_all` walks
/// `Path` components: more code).
fn make_parent_dirs(raw: &[u8]) -> Result<(), Errno> {
    for (i, b) in raw.iter().enumerate() {
        if *b != b'/' || i == 0 {
            continue;
        }
        let dir = &raw[..i];
        if let Err(e) = unix::mkdir(dir) {
            // An existing directory is fine (it opens as one: no `stat`
            // machinery of std's `Path::is_dir`).
            if crate::sys::fs::open_dir(dir).is_err() {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Why the control socket could not be bound or reached (the texts of
/// std's `io::Error`s for the same failures, without their machinery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A system call failed.
    Os(Errno),
    /// The path does not fit in a `sockaddr_un`.
    TooLong,
    /// A live daemon answers on the socket.
    AlreadyRunning,
    /// The daemon took no more of the request.
    WriteZero,
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::Os(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Os(e) => e.fmt(f),
            Error::TooLong => f.write_str("path must be shorter than SUN_LEN"),
            Error::AlreadyRunning => {
                f.write_str("another tandem is running on this control socket")
            }
            Error::WriteZero => f.write_str("failed to write whole buffer"),
        }
    }
}

/// `path`'s bytes, if it fits in a `sockaddr_un`.
fn socket_path(path: &Path) -> Result<&[u8], Error> {
    let raw = path.as_os_str().as_encoded_bytes();
    if raw.len() > unix::MAX_PATH {
        return Err(Error::TooLong);
    }
    Ok(raw)
}

enum Phase {
    Reading,
    Writing { sent: usize },
}

struct Client {
    stream: Fd,
    deadline: Instant,
    req: [u8; MAX_REQUEST],
    req_len: usize,
    phase: Phase,
    request: Option<Request>,
    cursor: usize,
    more: bool,
}

/// The listening socket and its clients.
pub struct Server {
    listener: Fd,
    path: Vec<u8>,
    clients: [Option<Client>; MAX_CLIENTS],
    /// One response buffer per slot (capacity fixed at start-up/reload).
    responses: [Vec<u8>; MAX_CLIENTS],
}

/// What the caller must answer.
pub struct Pending<'a> {
    /// The request.
    pub request: Option<Request>,
    /// Where to write the response (its capacity must not grow: write
    /// through a [`crate::buf::Buf`] over its spare capacity).
    pub response: &'a mut Vec<u8>,
    /// Where a chunked answer continues (0 at the first call).
    pub cursor: &'a mut usize,
    /// Set to be called again (with `cursor`) after this chunk is written.
    pub more: &'a mut bool,
}

impl Server {
    /// Binds `path` (creating its directory, replacing a stale socket) with
    /// response buffers of `response_capacity` bytes.
    pub fn bind(path: &Path, response_capacity: usize) -> Result<Server, Error> {
        let raw = path.as_os_str().as_encoded_bytes();
        make_parent_dirs(raw)?;
        let raw = socket_path(path)?;
        let listener = match unix::listen(raw) {
            Ok(l) => l,
            Err(Errno(libc::EADDRINUSE)) => {
                // Stale if nobody answers.
                if unix::connect(raw, 0).is_ok() {
                    return Err(Error::AlreadyRunning);
                }
                unix::unlink(raw)?;
                unix::listen(raw)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Server {
            listener,
            path: raw.to_vec(),
            clients: [const { None }; MAX_CLIENTS],
            responses: core::array::from_fn(|_| Vec::with_capacity(response_capacity)),
        })
    }

    /// Makes sure every response buffer holds `capacity` bytes (reload).
    pub fn reserve(&mut self, capacity: usize) {
        for r in &mut self.responses {
            r.clear();
            r.reserve(capacity);
        }
    }

    /// Appends the descriptors to poll and their tokens (`None` = listener,
    /// `Some(i)` = client slot `i`).
    pub fn poll_fds(&self, fds: &mut Vec<PollFd>, tokens: &mut Vec<Option<usize>>) {
        fds.push(PollFd::new(self.listener.raw(), POLLIN));
        tokens.push(None);
        for (i, c) in self.clients.iter().enumerate() {
            if let Some(c) = c {
                let ev = match c.phase {
                    Phase::Reading => POLLIN,
                    Phase::Writing { .. } => POLLOUT,
                };
                fds.push(PollFd::new(c.stream.raw(), ev));
                tokens.push(Some(i));
            }
        }
    }

    /// Earliest client deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients.iter().flatten().map(|c| c.deadline).min()
    }

    /// Closes clients past their deadline.
    pub fn expire(&mut self, now: Instant) {
        for c in &mut self.clients {
            if c.as_ref().is_some_and(|c| c.deadline <= now) {
                *c = None;
            }
        }
    }

    /// Accepts pending connections.
    pub fn accept(&mut self, now: Instant) {
        loop {
            match unix::accept(&self.listener) {
                Ok(stream) => {
                    let Some(slot) = self.clients.iter_mut().find(|c| c.is_none()) else {
                        drop(stream); // busy: close at once
                        continue;
                    };
                    *slot = Some(Client {
                        stream,
                        deadline: now + CLIENT_TIMEOUT,
                        req: [0; MAX_REQUEST],
                        req_len: 0,
                        phase: Phase::Reading,
                        request: None,
                        cursor: 0,
                        more: false,
                    });
                }
                Err(Errno(libc::EINTR)) => continue,
                Err(_) => return,
            }
        }
    }

    /// Services client `i`. When its request is complete, calls `answer`
    /// to fill the response, then starts writing it (and calls `answer`
    /// again for the next chunk while it sets [`Pending::more`]).
    pub fn service(&mut self, i: usize, mut answer: impl FnMut(Pending<'_>)) {
        let Some(slot) = self.clients.get_mut(i) else {
            return;
        };
        let Some(c) = slot.as_mut() else { return };
        let resp = &mut self.responses[i];
        let mut close = false;
        match c.phase {
            Phase::Reading => {
                let mut complete = false;
                loop {
                    if c.req_len == MAX_REQUEST {
                        complete = true;
                        break;
                    }
                    match unix::read(&c.stream, &mut c.req[c.req_len..]) {
                        Ok(0) => {
                            complete = true;
                            break;
                        }
                        Ok(n) => {
                            c.req_len += n;
                            if c.req[..c.req_len].contains(&b'\n') {
                                complete = true;
                                break;
                            }
                        }
                        Err(Errno(libc::EINTR)) => continue,
                        Err(Errno(libc::EAGAIN)) => break,
                        Err(_) => {
                            close = true;
                            break;
                        }
                    }
                }
                if complete && !close {
                    let line = c.req[..c.req_len]
                        .split(|b| *b == b'\n')
                        .next()
                        .unwrap_or(&[]);
                    resp.clear();
                    c.request = parse_request(line);
                    c.more = false;
                    c.cursor = 0;
                    answer(Pending {
                        request: c.request,
                        response: resp,
                        cursor: &mut c.cursor,
                        more: &mut c.more,
                    });
                    c.phase = Phase::Writing { sent: 0 };
                }
            }
            Phase::Writing { .. } => {}
        }
        if let Phase::Writing { ref mut sent } = c.phase {
            loop {
                if *sent >= resp.len() {
                    if c.more {
                        c.more = false;
                        resp.clear();
                        *sent = 0;
                        answer(Pending {
                            request: c.request,
                            response: resp,
                            cursor: &mut c.cursor,
                            more: &mut c.more,
                        });
                        if !resp.is_empty() {
                            continue;
                        }
                    }
                    close = true;
                    break;
                }
                match unix::write(&c.stream, &resp[*sent..]) {
                    Ok(0) => {
                        close = true;
                        break;
                    }
                    Ok(n) => *sent += n,
                    Err(Errno(libc::EINTR)) => continue,
                    Err(Errno(libc::EAGAIN)) => break,
                    Err(_) => {
                        close = true;
                        break;
                    }
                }
            }
        }
        if close {
            *slot = None;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = unix::unlink(&self.path);
    }
}

/// `tandem status`: sends the request and returns the whole response.
pub fn query(path: &Path, req: Request) -> Result<Vec<u8>, Error> {
    let s = unix::connect(socket_path(path)?, 5)?;
    let mut line = request_line(req).as_bytes();
    while !line.is_empty() {
        match unix::write(&s, line) {
            Ok(0) => return Err(Error::WriteZero),
            Ok(n) => line = &line[n..],
            Err(Errno(libc::EINTR)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // A plain loop: `read_to_end`'s adaptive probing is more code.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match unix::read(&s, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno(libc::EINTR)) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::net::UnixStream;

    #[test]
    fn requests() {
        assert_eq!(
            parse_request(b"status\n"),
            Some(Request::Status { json: false })
        );
        assert_eq!(
            parse_request(b" status  json \r\n"),
            Some(Request::Status { json: true })
        );
        assert_eq!(parse_request(b"status xml"), None);
        assert_eq!(parse_request(b"status json extra"), None);
        assert_eq!(parse_request(b"\xff"), None);
        assert_eq!(parse_request(b""), None);
        assert_eq!(parse_request(b"resync\n"), Some(Request::Resync));
        assert_eq!(parse_request(b"resync now"), None);
        assert_eq!(
            parse_request(b"cache json\n"),
            Some(Request::Cache { json: true })
        );
        for r in [
            Request::Status { json: false },
            Request::Status { json: true },
            Request::Resync,
            Request::Cache { json: false },
            Request::Cache { json: true },
        ] {
            assert_eq!(parse_request(request_line(r).as_bytes()), Some(r));
        }
    }

    #[test]
    fn chunked_answer() {
        let dir = std::env::temp_dir().join(format!("tandem-ctl-chunk-{}", std::process::id()));
        let path = dir.join("c.sock");
        // A buffer of 16 bytes: the answer comes in many chunks.
        let mut srv = Server::bind(&path, 16).unwrap();
        let p2 = path.clone();
        let t = std::thread::spawn(move || query(&p2, Request::Cache { json: false }).unwrap());
        let mut calls = 0;
        for _ in 0..2000 {
            srv.accept(Instant::ZERO);
            for i in 0..MAX_CLIENTS {
                srv.service(i, |p| {
                    assert_eq!(p.request, Some(Request::Cache { json: false }));
                    calls += 1;
                    let k = *p.cursor;
                    p.response
                        .extend_from_slice(format!("entry {k:02}\n").as_bytes());
                    *p.cursor = k + 1;
                    *p.more = k + 1 < 20;
                });
            }
            if t.is_finished() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let out = String::from_utf8(t.join().unwrap()).unwrap();
        assert_eq!(calls, 20);
        assert_eq!(out.lines().count(), 20);
        assert!(out.starts_with("entry 00\nentry 01\n") && out.ends_with("entry 19\n"));
        drop(srv);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn round_trip_over_a_socket() {
        let dir = std::env::temp_dir().join(format!("tandem-ctl-test-{}", std::process::id()));
        let path = dir.join("sub/t.sock");
        let mut srv = Server::bind(&path, 4096).unwrap();
        // A stale socket file is replaced.
        drop(srv);
        std::os::unix::net::UnixListener::bind(&path).map(drop).ok();
        srv = Server::bind(&path, 4096).unwrap();
        let p2 = path.clone();
        let t = std::thread::spawn(move || query(&p2, Request::Status { json: true }).unwrap());
        let start = Instant::ZERO;
        let mut answered = false;
        for _ in 0..2000 {
            srv.accept(start);
            for i in 0..MAX_CLIENTS {
                srv.service(i, |p| {
                    assert_eq!(p.request, Some(Request::Status { json: true }));
                    p.response.extend_from_slice(b"{}\n");
                    answered = true;
                });
            }
            if t.is_finished() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(answered);
        assert_eq!(t.join().unwrap(), b"{}\n");
        // Deadlines: a silent client is dropped.
        let _c = UnixStream::connect(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        srv.accept(start);
        assert_eq!(srv.next_deadline(), Some(start + CLIENT_TIMEOUT));
        srv.expire(start + CLIENT_TIMEOUT);
        assert_eq!(srv.next_deadline(), None);
        drop(srv);
        assert!(!path.exists());
        let _ = fs::remove_dir_all(dir);
    }
}
