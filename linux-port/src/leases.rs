//! `tandem leases merge [--now SECONDS] FILE…`: the offline merge of
//! dnsmasq lease files (issue 5, point 5) — the seed's
//! `cat a b | sort -u` cron script done right.
//!
//! The merge itself is `tandem_core::lease::merge_files` (one lease per
//! address and per client, the newest wins, ended leases dropped, the first
//! file's `duid` line, verbatim lines kept once); this module reads the
//! files, supplies the wall clock, reports what it found on stderr and
//! chooses the exit status:
//!
//! | status | meaning |
//! |--------|---------|
//! | 0 | every line of every file was read; the merged file is on stdout (conflicts and a second `duid` are warnings on stderr) |
//! | 1 | the merged file is on stdout, but some lines could not be read (each one reported as `FILE:LINE:COLUMN: error: …`) and are left out |
//! | 2 | usage error, or a FILE could not be read, or stdout could not be written: nothing (or not everything) was written |
//!
//! A script can therefore write to a temporary file and rename it over the
//! lease file only on status 0 (or 0 and 1, to keep the good lines of a
//! damaged file).

use crate::ExitCode;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::sys::{clock, file, fs};
use tandem_core::lease::{merge_files, FileEvent, MergeSummary};
use tandem_protocol::lease::lines;

/// Exit status: merged, nothing left out.
pub const EXIT_OK: u8 = 0;
/// Exit status: merged, but bad lines were left out.
pub const EXIT_BAD_LINES: u8 = 1;
/// Exit status: nothing usable written (unreadable file, stdout error).
pub const EXIT_TROUBLE: u8 = 2;

/// What merging produced: the file, the diagnostics and the status.
#[derive(Debug)]
pub struct Merged {
    /// The merged lease file.
    pub output: String,
    /// One diagnostic a line, `FILE:LINE[:COLUMN]: error|warning: …`, in
    /// file and line order.
    pub diagnostics: String,
    /// The counts.
    pub summary: MergeSummary,
    /// [`EXIT_OK`] or [`EXIT_BAD_LINES`].
    pub status: u8,
}

/// The wall clock in seconds since the Unix epoch (dnsmasq's expiry unit).
pub fn wall_clock() -> u64 {
    clock::realtime_millis() / 1000
}

/// The current file's diagnostics (the merge reports each file bottom-up)
/// and where each starts; [`Diagnostics::flush`] appends them top-down.
struct Diagnostics {
    out: String,
    file: usize,
    cur: String,
    starts: Vec<usize>,
}

impl Diagnostics {
    fn flush(&mut self) {
        let mut end = self.cur.len();
        while let Some(s) = self.starts.pop() {
            self.out.push_str(&self.cur[s..end]);
            end = s;
        }
        self.cur.clear();
    }
}

/// Merges the files' contents (`(name, bytes)`, in the order given: list
/// this router's own file first, its `duid` line is the one kept) at
/// wall-clock second `now`. Pure: no I/O.
pub fn merge(inputs: &[(String, Vec<u8>)], now: u64) -> Merged {
    let files: Vec<&[u8]> = inputs.iter().map(|(_, b)| b.as_slice()).collect();
    // One slot per line and the files' size of pool are always enough: the
    // table never holds more than the leases it is given, and a lease's
    // fields take fewer bytes than its line.
    let n_lines: usize = files.iter().map(|f| lines(f).len()).sum();
    let n_bytes: usize = files.iter().map(|f| f.len()).sum();
    let slots = file::zeroed_lease_slots(n_lines.max(1));
    let pool = file::zeroed_bytes(n_bytes);
    let mut output = String::new();
    let mut d = Diagnostics {
        out: String::new(),
        file: 0,
        cur: String::new(),
        starts: Vec::new(),
    };
    let mut bad = false;
    let name = |i: usize| inputs.get(i).map_or("?", |(n, _)| n.as_str());
    let summary = merge_files(&files, now, slots, pool, &mut output, &mut |ev| {
        let (file, line) = match ev {
            FileEvent::BadLine { file, error } => (file, error.line),
            FileEvent::Conflict { file, line, .. }
            | FileEvent::Full { file, line }
            | FileEvent::DuidMismatch { file, line } => (file, line),
        };
        if file != d.file {
            d.flush();
            d.file = file;
        }
        d.starts.push(d.cur.len());
        let c = &mut d.cur;
        let _ = write!(c, "{}:{line}", name(file));
        let _ = match ev {
            FileEvent::BadLine { error, .. } => {
                bad = true;
                write!(
                    c,
                    ":{}: error: {} (line left out)",
                    error.column, error.kind
                )
            }
            FileEvent::Conflict { conflict, .. } => write!(
                c,
                ": warning: address {} claimed by two clients; kept the newer lease \
                 '{}', dropped '{}'",
                conflict.addr, conflict.kept, conflict.dropped
            ),
            FileEvent::Full { .. } => {
                bad = true;
                c.write_str(": error: lease table full (lease left out)")
            }
            FileEvent::DuidMismatch { .. } => write!(
                c,
                ": warning: server duid differs from the one in {}; kept that one",
                name(0)
            ),
        };
        c.push('\n');
    })
    // Writing into a String cannot fail.
    .unwrap_or_default();
    d.flush();
    Merged {
        output,
        diagnostics: d.out,
        summary,
        status: if bad { EXIT_BAD_LINES } else { EXIT_OK },
    }
}

/// `tandem leases merge`: reads `files`, merges them at `now` (default:
/// the system's wall clock), prints the merged file on stdout and the
/// diagnostics on stderr. See the module docs for the exit status.
pub fn merge_command(files: &[PathBuf], now: Option<u64>) -> ExitCode {
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        let mut bytes = Vec::new();
        match fs::read_to_end(f.as_os_str().as_encoded_bytes(), &mut bytes) {
            Ok(()) => inputs.push((crate::buf::path(f).to_string(), bytes)),
            Err(e) => {
                crate::buf::print(
                    2,
                    format_args!(
                        "tandem: {}: cannot read: {}\n",
                        crate::buf::path(f),
                        crate::sys::ErrorText(&e)
                    ),
                );
                return ExitCode::from(EXIT_TROUBLE);
            }
        }
    }
    let m = merge(&inputs, now.unwrap_or_else(wall_clock));
    let _ = crate::sys::write_fd(2, m.diagnostics.as_bytes());
    if let Err(e) = crate::sys::write_fd(1, m.output.as_bytes()) {
        crate::buf::print(
            2,
            format_args!(
                "tandem: cannot write the merged file: {}\n",
                crate::sys::ErrorText(&e)
            ),
        );
        return ExitCode::from(EXIT_TROUBLE);
    }
    if m.status != EXIT_OK {
        let s = &m.summary;
        crate::buf::print(
            2,
            format_args!(
                "tandem: {} bad line(s) left out; {} lease(s) written from {} file(s)\n",
                s.bad_lines,
                s.written,
                files.len()
            ),
        );
    }
    ExitCode::from(m.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, text: &str) -> (String, Vec<u8>) {
        (name.to_owned(), text.as_bytes().to_vec())
    }

    const R1: &str = "\
2000 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *
1500 aa:aa:aa:aa:aa:02 10.0.0.11 beta *
";
    const R2: &str = "\
2500 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *
1900 aa:aa:zz:aa:aa:03 10.0.0.12 gamma *
1800 aa:aa:aa:aa:aa:04 10.0.0.11 delta *
";

    #[test]
    fn merges_and_reports() {
        let m = merge(&[input("r1", R1), input("r2", R2)], 1000);
        assert_eq!(m.status, EXIT_BAD_LINES);
        // alpha's renewal from r2 wins; delta's newer lease took .11 from
        // beta; dnsmasq's order (the lease created last first).
        assert_eq!(
            m.output,
            "1800 aa:aa:aa:aa:aa:04 10.0.0.11 delta *\n2500 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *\n"
        );
        let d: Vec<&str> = m.diagnostics.lines().collect();
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("r2:2:6: error: "), "{d:?}");
        assert!(d[1].starts_with("r2:3: warning: address 10.0.0.11 "));
        assert_eq!(m.summary.bad_lines, 1);
    }

    #[test]
    fn clean_inputs_exit_zero() {
        let m = merge(&[input("r1", R1)], 1000);
        assert_eq!(m.status, EXIT_OK);
        assert_eq!(m.output, R1);
        assert!(m.diagnostics.is_empty());
        // Ended leases are dropped: at 1600 beta's has ended.
        let m = merge(&[input("r1", R1)], 1600);
        assert_eq!(m.output, "2000 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *\n");
        assert_eq!(m.status, EXIT_OK);
        // Nothing at all: an empty file.
        let m = merge(&[input("empty", "")], 1600);
        assert_eq!((m.output.as_str(), m.status), ("", EXIT_OK));
    }

    #[test]
    fn wall_clock_is_plausible() {
        // After 2020-01-01.
        assert!(wall_clock() > 1_577_836_800);
    }
}
