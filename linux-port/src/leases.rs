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

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use tandem_core::lease::{merge_files, FileEvent, MergeSummary, Slot};
use tandem_protocol::lease::{lines, Line};

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
    /// One diagnostic per line, `FILE:LINE[:COLUMN]: error|warning: …`,
    /// in file and line order.
    pub diagnostics: Vec<String>,
    /// The counts.
    pub summary: MergeSummary,
    /// [`EXIT_OK`] or [`EXIT_BAD_LINES`].
    pub status: u8,
}

/// The wall clock in seconds since the Unix epoch (dnsmasq's expiry unit).
pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Merges the files' contents (`(name, bytes)`, in the order given: list
/// this router's own file first, its `duid` line is the one kept) at
/// wall-clock second `now`. Pure: no I/O.
pub fn merge(inputs: &[(String, Vec<u8>)], now: u64) -> Merged {
    let files: Vec<&[u8]> = inputs.iter().map(|(_, b)| b.as_slice()).collect();
    // One slot per lease line is always enough: the table never needs more
    // than the leases it is given.
    let leases: usize = files
        .iter()
        .map(|f| lines(f).filter(|l| matches!(l, Ok(Line::Lease(_)))).count())
        .sum();
    let mut slots = vec![Slot::EMPTY; leases.max(1)];
    let mut output = String::new();
    let mut diagnostics: Vec<((usize, usize), String)> = Vec::new();
    let mut bad = false;
    let name = |i: usize| inputs.get(i).map_or("?", |(n, _)| n.as_str());
    let summary = merge_files(&files, now, &mut slots, &mut output, |ev| {
        let mut d = String::new();
        let at = match ev {
            FileEvent::BadLine { file, error } => (file, error.line),
            FileEvent::Conflict { file, line, .. }
            | FileEvent::Full { file, line }
            | FileEvent::DuidMismatch { file, line } => (file, line),
        };
        let _ = match ev {
            FileEvent::BadLine { file, error } => {
                bad = true;
                write!(
                    d,
                    "{}:{}:{}: error: {} (line left out)",
                    name(file),
                    error.line,
                    error.column,
                    error.kind
                )
            }
            FileEvent::Conflict {
                file,
                line,
                conflict,
            } => write!(
                d,
                "{}:{}: warning: address {} claimed by two clients; kept the newer lease \
                 '{}', dropped '{}'",
                name(file),
                line,
                conflict.addr,
                conflict.kept,
                conflict.dropped
            ),
            FileEvent::Full { file, line } => {
                bad = true;
                write!(
                    d,
                    "{}:{}: error: lease table full (lease left out)",
                    name(file),
                    line
                )
            }
            FileEvent::DuidMismatch { file, line } => write!(
                d,
                "{}:{}: warning: server duid differs from the one in {}; kept that one",
                name(file),
                line,
                name(0)
            ),
        };
        diagnostics.push((at, d));
    })
    // Writing into a String cannot fail.
    .unwrap_or_default();
    // The merge reads each file bottom-up: report top-down.
    diagnostics.sort_by_key(|(at, _)| *at);
    Merged {
        output,
        diagnostics: diagnostics.into_iter().map(|(_, d)| d).collect(),
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
        match read(f) {
            Ok(bytes) => inputs.push((f.display().to_string(), bytes)),
            Err(e) => {
                eprintln!("tandem: {}: cannot read: {e}", f.display());
                return ExitCode::from(EXIT_TROUBLE);
            }
        }
    }
    let m = merge(&inputs, now.unwrap_or_else(wall_clock));
    for d in &m.diagnostics {
        eprintln!("{d}");
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(m.output.as_bytes()).and_then(|_| out.flush()) {
        eprintln!("tandem: cannot write the merged file: {e}");
        return ExitCode::from(EXIT_TROUBLE);
    }
    if m.status != EXIT_OK {
        let s = &m.summary;
        eprintln!(
            "tandem: {} bad line(s) left out; {} lease(s) written from {} file(s)",
            s.bad_lines,
            s.written,
            files.len()
        );
    }
    ExitCode::from(m.status)
}

/// A lease file's bytes (`-`: standard input).
fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut v)?;
        Ok(v)
    } else {
        std::fs::read(path)
    }
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
        assert_eq!(m.diagnostics.len(), 2, "{:?}", m.diagnostics);
        assert!(
            m.diagnostics[0].starts_with("r2:2:6: error: "),
            "{:?}",
            m.diagnostics
        );
        assert!(m.diagnostics[1].starts_with("r2:3: warning: address 10.0.0.11 "));
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
