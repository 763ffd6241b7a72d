//! Offline merge of lease files: `tandem leases merge FILE…`.

use core::fmt;
use core::net::IpAddr;

use tandem_protocol::lease::{lines, Line, LineError};

use super::{Conflict, DuidMerge, LeaseTable, Merged, Origin, Slot};

/// Something worth telling the user while merging files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FileEvent<'a> {
    /// A line that could not be read; it is left out of the output.
    BadLine {
        /// Index of the file in the `files` argument.
        file: usize,
        /// Where and what.
        error: LineError,
    },
    /// Two clients claim one address; the newer lease is kept.
    Conflict {
        /// File of the lease being merged.
        file: usize,
        /// Its line number.
        line: usize,
        /// The two leases.
        conflict: &'a Conflict,
    },
    /// A lease did not fit: the table is full.
    Full {
        /// File of the lease.
        file: usize,
        /// Its line number.
        line: usize,
    },
    /// A `duid` line that differs from the first file's; the first one is
    /// kept.
    DuidMismatch {
        /// File of the line.
        file: usize,
        /// Its line number.
        line: usize,
    },
}

/// Counts from [`merge_files`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MergeSummary {
    /// Lease lines read (good ones).
    pub read: usize,
    /// Leases written.
    pub written: usize,
    /// Lines that could not be read.
    pub bad_lines: usize,
    /// Leases dropped because they had ended.
    pub expired: usize,
    /// Leases dropped because a newer one exists for the client or address
    /// (duplicates and stale lines).
    pub stale: usize,
    /// Address conflicts between two clients.
    pub conflicts: usize,
    /// Leases that did not fit.
    pub full: usize,
    /// Verbatim lines (extras, unknown lines) written.
    pub verbatim: usize,
}

/// Merges dnsmasq lease files into one and writes it to `out`: the offline
/// equivalent of the seed's `cat a b | sort -u` cron script, done right.
///
/// - Leases go through a [`LeaseTable`] over `slots` (its capacity bounds the
///   output) with the [merge rules](super#merge-rules) at wall-clock second
///   `now`: one lease per address and per client, the newest wins, ended
///   leases are dropped, conflicts are reported. Each file is read
///   bottom-up (oldest lease first, as dnsmasq wrote them newest first), the
///   files in the order given.
/// - The output is in dnsmasq's order ([`LeaseTable::write_file`]): IPv4
///   leases newest first, the `duid` line, IPv6 leases, then verbatim lines.
///   Merging one file that dnsmasq wrote, with no lease ended, gives it back
///   byte for byte.
/// - The `duid` line: the first file's is kept (list this router's own file
///   first); a different one is reported ([`FileEvent::DuidMismatch`]).
/// - Verbatim lines ([`Line::Other`]): `agent-info ADDRESS …` and
///   `vendorclass ADDRESS …` are kept when a lease for ADDRESS is in the
///   output; other non-empty lines are kept; each distinct line once, in
///   the order read.
/// - Bad lines are reported with their file index, line and column
///   ([`FileEvent::BadLine`]) and left out; the rest is merged.
///
/// Events come file by file, each file's bottom-up (as it is read).
///
/// Fails only if `out` does. Nothing is allocated; O(lines × capacity).
///
/// ```
/// use tandem_core::lease::{merge_files, pool_len, FileEvent, Slot};
///
/// let router1 = b"1000 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *\n";
/// let router2 = b"2000 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *\n\
///                 2000 bb:bb:bb:bb:bb:02 10.0.0.11 beta *\n";
/// let mut slots = vec![Slot::EMPTY; 16];
/// let mut pool = vec![0; pool_len(16)];
/// let mut out = String::new();
/// let mut events = 0;
/// let sum = merge_files(&[router1, router2], 500, &mut slots, &mut pool, &mut out, &mut |_| {
///     events += 1
/// })
/// .unwrap();
/// // One line per client: router 2's renewal replaced router 1's line.
/// assert_eq!(
///     out,
///     "2000 bb:bb:bb:bb:bb:02 10.0.0.11 beta *\n2000 aa:aa:aa:aa:aa:01 10.0.0.10 alpha *\n"
/// );
/// assert_eq!((sum.written, sum.stale), (2, 1));
/// assert_eq!(events, 0);
/// ```
pub fn merge_files(
    files: &[&[u8]],
    now: u64,
    slots: &mut [Slot],
    pool: &mut [u8],
    out: &mut dyn fmt::Write,
    event: &mut dyn FnMut(FileEvent<'_>),
) -> Result<MergeSummary, fmt::Error> {
    let mut table = LeaseTable::new(slots, pool);
    let mut sum = MergeSummary::default();

    for (file, input) in files.iter().enumerate() {
        // Bottom-up: dnsmasq writes the newest lease first.
        let mut it = lines(input);
        let mut line = it.len() + 1;
        let mut r = Ok(Line::Other(""));
        while it.next_into(true, &mut r) {
            line -= 1;
            let lease = match &r {
                Err(error) => {
                    sum.bad_lines += 1;
                    event(FileEvent::BadLine {
                        file,
                        error: *error,
                    });
                    continue;
                }
                Ok(Line::Lease(lease)) => lease,
                Ok(Line::Duid(d)) => {
                    if table.merge_duid(d) == DuidMerge::Mismatch {
                        event(FileEvent::DuidMismatch { file, line });
                    }
                    continue;
                }
                Ok(Line::Other(_)) => continue,
            };
            sum.read += 1;
            match table.merge(now, lease, Origin::Remote) {
                Ok(o) => {
                    match o.merged {
                        Merged::Expired => sum.expired += 1,
                        // The line, or the older version it replaced.
                        Merged::Stale | Merged::Unchanged if o.conflict.is_none() => sum.stale += 1,
                        Merged::Updated => sum.stale += 1,
                        _ => {}
                    }
                    if o.moved_from.is_some() {
                        sum.stale += 1;
                    }
                    if let Some(conflict) = &o.conflict {
                        sum.conflicts += 1;
                        event(FileEvent::Conflict {
                            file,
                            line,
                            conflict,
                        });
                    }
                }
                Err(_) => {
                    sum.full += 1;
                    event(FileEvent::Full { file, line });
                }
            }
        }
    }

    table.write_file(out)?;
    sum.written = table.len();

    // Verbatim lines, each distinct one once, in the order read.
    for (file, input) in files.iter().enumerate() {
        for (n, r) in lines(input).enumerate() {
            let Ok(Line::Other(text)) = r else { continue };
            if !keep_verbatim(&table, text) || seen_before(files, file, n, text) {
                continue;
            }
            out.write_str(text)?;
            out.write_char('\n')?;
            sum.verbatim += 1;
        }
    }
    Ok(sum)
}

/// Whether a verbatim line belongs in the merged file.
fn keep_verbatim(table: &LeaseTable<'_>, text: &str) -> bool {
    let mut words = text.split_ascii_whitespace();
    match words.next() {
        None => false, // blank line
        Some("agent-info" | "vendorclass") => match words.next().map(str::parse::<IpAddr>) {
            Some(Ok(addr)) => table.get(addr).is_some(),
            _ => true, // not one dnsmasq wrote: keep as is
        },
        Some(_) => true,
    }
}

/// Whether `text` appeared as a verbatim line before line index `n` of
/// file `file` (a line's kind depends on its octets only: an earlier line
/// with the same octets was a verbatim line too).
fn seen_before(files: &[&[u8]], file: usize, n: usize, text: &str) -> bool {
    files.iter().enumerate().take(file + 1).any(|(f, input)| {
        let limit = if f == file { n } else { usize::MAX };
        input
            .split(|&c| c == b'\n')
            .take(limit)
            .any(|l| l == text.as_bytes())
    })
}
