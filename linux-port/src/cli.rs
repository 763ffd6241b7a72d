//! Command-line parsing (no I/O, unit-tested).
//!
//! The contract (issue 2, point 6; users' scripts rely on it):
//! - `tandem run -c FILE [--control PATH] [--syslog]`
//! - `tandem check -c FILE`
//! - `tandem status [--control PATH] [--json]`
//! - `tandem resync [--control PATH]` (issue 4: full conntrack resync)
//! - `tandem cache [--control PATH] [--json]` (the conntrack cache)
//! - `tandem leases merge [--now SECONDS] FILE…` (issue 5: offline merge
//!   of dnsmasq lease files)
//! - `tandem --version`, `tandem --help`
//!
//! Bad usage is an [`UsageError`]; `main` prints it with the usage text and
//! exits with status 2.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

/// Default path of the control socket.
pub const DEFAULT_CONTROL: &str = "/var/run/tandem.sock";

/// Usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
Usage:
  tandem run -c FILE [--control PATH] [--syslog]
      Run in the foreground with the keepalived-style configuration FILE.
  tandem check -c FILE
      Validate FILE without touching the system; errors and warnings name
      file:line. Exit status 1 when there are errors.
  tandem status [--control PATH] [--json]
      Show every instance of the running daemon: state, priority, master
      address, counters and the last transition; with a tandem_sync block,
      the conntrack sync: role, peers, frames and records sent, received,
      resent and dropped (by reason), cache size and capacity, and the last
      commit (entries, duration).
  tandem resync [--control PATH]
      Ask for a full conntrack resync: a backup asks the master for its
      whole table again; a master streams it to the peers again.
  tandem cache [--control PATH] [--json]
      List the conntrack entries this router holds for takeover (a backup's
      external cache), one per line like `conntrack -L`, or as JSON.
  tandem leases merge [--now SECONDS] FILE...
      Merge dnsmasq lease files (this router's first, e.g. with a copy of
      the peer's) into one valid lease file on stdout: one lease per
      address and per client, the newest wins, ended leases are dropped,
      one duid line (the first file's). A bad line is reported on stderr
      as FILE:LINE:COLUMN and left out; the rest is still merged. An
      address claimed by two clients keeps the newer lease (a warning).
      FILE - is standard input. Exit status: 0 merged; 1 merged, but bad
      lines were left out; 2 usage error or unreadable FILE (nothing
      written). Write to a temporary file and rename it over the lease
      file only on success.
  tandem --version
  tandem --help

Options:
  -c, --config FILE   configuration file (keepalived.conf syntax)
  --control PATH      control socket (default /var/run/tandem.sock)
  --syslog            log to syslog (/dev/log, facility daemon) instead of stderr
  --json              machine-readable status
  --now SECONDS       leases merge: the wall-clock time (seconds since
                      1970) at which ended leases are dropped (default: the
                      system clock; 0 keeps every lease)

Signals (run): TERM/INT release mastership (priority 0), remove the virtual
addresses and routes, exit 0; HUP reloads the configuration.
";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `tandem run`.
    Run {
        /// Configuration file.
        config: PathBuf,
        /// Control socket path.
        control: PathBuf,
        /// Log to syslog instead of stderr.
        syslog: bool,
    },
    /// `tandem check`.
    Check {
        /// Configuration file.
        config: PathBuf,
    },
    /// `tandem status`.
    Status {
        /// Control socket path.
        control: PathBuf,
        /// JSON output.
        json: bool,
    },
    /// `tandem resync`.
    Resync {
        /// Control socket path.
        control: PathBuf,
    },
    /// `tandem leases merge`.
    LeasesMerge {
        /// The lease files, in order (`-`: standard input).
        files: Vec<PathBuf>,
        /// `--now`: wall-clock seconds (default: the system clock).
        now: Option<u64>,
    },
    /// `tandem cache`.
    Cache {
        /// Control socket path.
        control: PathBuf,
        /// JSON output.
        json: bool,
    },
    /// `tandem --version`.
    Version,
    /// `tandem --help`.
    Help,
}

/// A command line that does not follow the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// No subcommand given.
    MissingCommand,
    /// The subcommand is not one of run/check/status.
    UnknownCommand(String),
    /// An option that this subcommand does not take.
    UnknownOption {
        /// Subcommand.
        command: &'static str,
        /// The offending argument.
        option: String,
    },
    /// An option that needs a value was last.
    MissingValue(&'static str),
    /// A required option is absent.
    MissingRequired {
        /// Subcommand.
        command: &'static str,
        /// The option.
        option: &'static str,
    },
    /// The same option twice.
    Duplicate(&'static str),
    /// An argument that is not valid UTF-8 where text is needed.
    NotUnicode,
    /// A positional argument where none is expected.
    Unexpected {
        /// Subcommand.
        command: &'static str,
        /// The argument.
        arg: String,
    },
    /// An option value that is not what the option takes.
    BadValue {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const EXPECTED: &str = "run, check, status, resync or cache";
        // Every message is text and up to two values, in five pieces.
        let parts: [&str; 5] = match self {
            UsageError::MissingCommand => ["missing command (", EXPECTED, ")", "", ""],
            UsageError::UnknownCommand(c) => {
                ["unknown command '", c, "' (expected ", EXPECTED, ")"]
            }
            UsageError::UnknownOption { command, option } => {
                ["'", command, "' does not take option '", option, "'"]
            }
            UsageError::MissingValue(o) => ["option '", o, "' needs a value", "", ""],
            UsageError::MissingRequired { command, option } => {
                ["'", command, "' needs ", option, ""]
            }
            UsageError::Duplicate(o) => ["option '", o, "' given twice", "", ""],
            UsageError::NotUnicode => ["argument is not valid UTF-8", "", "", "", ""],
            UsageError::Unexpected { command, arg } => {
                ["'", command, "' takes no argument '", arg, "'"]
            }
            UsageError::BadValue { option, value } => {
                ["option '", option, "' does not take '", value, "'"]
            }
        };
        parts.iter().try_for_each(|p| f.write_str(p))
    }
}

impl std::error::Error for UsageError {}

// Options as bits (`allowed` per command, flags seen).
const CONFIG: u8 = 1;
const CONTROL: u8 = 2;
const SYSLOG: u8 = 4;
const JSON: u8 = 8;
/// `leases merge`: `--now SECONDS`.
const NOW: u8 = 16;
/// `leases merge`: `--` (the rest are files).
const DASHES: u8 = 32;

/// The arguments after the program name.
pub type Args<'a> = &'a mut dyn Iterator<Item = OsString>;

/// Index of `s` in `names` (`names.len()` when absent): one comparison
/// loop instead of one per name.
#[inline(never)]
fn find(s: &str, names: &[&str]) -> usize {
    names.iter().position(|n| *n == s).unwrap_or(names.len())
}

/// `s` as a decimal `u64` (what `str::parse::<u64>` accepts: an optional
/// `+`, then digits), without core's generic radix parser.
fn parse_u64(s: &str) -> Option<u64> {
    let d = s.strip_prefix('+').unwrap_or(s);
    if d.is_empty() {
        return None;
    }
    d.bytes().try_fold(0u64, |n, c| {
        let v = c.wrapping_sub(b'0');
        if v > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(v))
    })
}

/// Parses the arguments after the program name. One loop for every
/// command (`leases merge` too: its positional arguments are files).
pub fn parse(args: Args<'_>) -> Result<Command, UsageError> {
    // Collected first: the loop borrows them (no `OsString` moved or
    // dropped on every path), the result owns copies.
    let argv: Vec<OsString> = args.collect();
    parse_args(&argv)
}

/// `a` as text (`NotUnicode` when it is not UTF-8).
fn utf8(a: &OsStr) -> Result<&str, UsageError> {
    a.to_str().ok_or(UsageError::NotUnicode)
}

/// [`parse`] over the collected arguments.
fn parse_args(argv: &[OsString]) -> Result<Command, UsageError> {
    let mut args = argv.iter().map(OsString::as_os_str);
    let first = utf8(args.next().ok_or(UsageError::MissingCommand)?)?;
    const COMMANDS: [&str; 12] = [
        "run",
        "check",
        "status",
        "resync",
        "cache",
        "leases",
        "--version",
        "-V",
        "version",
        "--help",
        "-h",
        "help",
    ];
    const ALLOWED: [u8; 6] = [
        CONFIG | CONTROL | SYSLOG,
        CONFIG,
        CONTROL | JSON,
        CONTROL,
        CONTROL | JSON,
        NOW | DASHES,
    ];
    const HELP: [&str; 2] = ["--help", "-h"];
    let (mut command, allowed) = match find(first, &COMMANDS) {
        i @ 0..=5 => (COMMANDS[i], ALLOWED[i]),
        6..=8 => return Ok(Command::Version),
        9..=11 => return Ok(Command::Help),
        _ => return Err(UsageError::UnknownCommand(first.to_owned())),
    };
    let leases = allowed & NOW != 0;
    if leases {
        // `tandem leases merge [--now SECONDS] [--] FILE…`.
        let Some(sub) = args.next() else {
            return Err(UsageError::MissingRequired {
                command,
                option: "merge",
            });
        };
        let sub = utf8(sub)?;
        if find(sub, &HELP) < 2 {
            return Ok(Command::Help);
        }
        if sub != "merge" {
            return Err(UsageError::UnknownCommand(["leases ", sub].concat()));
        }
        command = "leases merge";
    }
    // `-c` and `--control` values; `leases merge`: its files and `--now`.
    let mut values: [Option<&OsStr>; 2] = [None, None];
    let mut files = Vec::new();
    let mut now: Option<u64> = None;
    let mut flags = 0u8;
    while let Some(arg) = args.next() {
        let text = arg.to_str();
        if leases && (flags & DASHES != 0 || text.is_none_or(|t| t == "-" || !t.starts_with('-'))) {
            files.push(PathBuf::from(arg));
            continue;
        }
        let Some(text) = text else {
            return Err(UsageError::Unexpected {
                command,
                arg: crate::buf::Lossy(arg.as_encoded_bytes()).to_string(),
            });
        };
        // `--opt=value` form.
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (text, None),
        };
        if find(if leases { name } else { text }, &HELP) < 2 {
            return Ok(Command::Help);
        }
        const OPTIONS: [&str; 7] = [
            "-c",
            "--config",
            "--control",
            "--syslog",
            "--json",
            "--now",
            "--",
        ];
        const BITS: [u8; 8] = [CONFIG, CONFIG, CONTROL, SYSLOG, JSON, NOW, DASHES, 0];
        let bit = BITS[find(name, &OPTIONS)];
        if bit & allowed == 0 || (matches!(bit, SYSLOG | JSON) && inline.is_some()) {
            let option = text.to_owned();
            return Err(if bit == 0 && !text.starts_with('-') {
                UsageError::Unexpected {
                    command,
                    arg: option,
                }
            } else {
                UsageError::UnknownOption { command, option }
            });
        }
        if bit & (SYSLOG | JSON | DASHES) != 0 {
            flags |= bit;
            continue;
        }
        if bit == NOW {
            let value = match inline {
                Some(v) => v,
                None => utf8(args.next().ok_or(UsageError::MissingValue("--now"))?)?,
            };
            let Some(secs) = parse_u64(value) else {
                return Err(UsageError::BadValue {
                    option: "--now",
                    value: value.to_owned(),
                });
            };
            if now.replace(secs).is_some() {
                return Err(UsageError::Duplicate("--now"));
            }
            continue;
        }
        let (k, opt) = if bit == CONFIG {
            (0, "-c")
        } else {
            (1, "--control")
        };
        let value = match inline {
            Some(v) => OsStr::new(v),
            None => args.next().unwrap_or_default(),
        };
        if value.is_empty() {
            return Err(UsageError::MissingValue(opt));
        }
        if values[k].replace(value).is_some() {
            return Err(UsageError::Duplicate(opt));
        }
    }
    let [config, control] = values;
    let control = PathBuf::from(control.unwrap_or(OsStr::new(DEFAULT_CONTROL)));
    let json = flags & JSON != 0;
    let config = match config {
        Some(c) => PathBuf::from(c),
        None if allowed & CONFIG != 0 => {
            return Err(UsageError::MissingRequired {
                command,
                option: "-c FILE",
            })
        }
        None => PathBuf::new(),
    };
    Ok(match allowed {
        a if a == CONFIG | CONTROL | SYSLOG => Command::Run {
            config,
            control,
            syslog: flags & SYSLOG != 0,
        },
        CONFIG => Command::Check { config },
        CONTROL => Command::Resync { control },
        _ if leases => {
            if files.is_empty() {
                return Err(UsageError::MissingRequired {
                    command,
                    option: "FILE",
                });
            }
            Command::LeasesMerge { files, now }
        }
        _ if command == "cache" => Command::Cache { control, json },
        _ => Command::Status { control, json },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(&mut args.iter().map(OsString::from))
    }

    #[test]
    fn parse_u64_matches_std() {
        for s in [
            "",
            "+",
            "-",
            "0",
            "+7",
            "-7",
            "12a",
            " 1",
            "1700000000",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "++1",
        ] {
            assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "{s:?}");
        }
    }

    #[test]
    fn run_forms() {
        assert_eq!(
            p(&["run", "-c", "/etc/k.conf"]),
            Ok(Command::Run {
                config: "/etc/k.conf".into(),
                control: DEFAULT_CONTROL.into(),
                syslog: false
            })
        );
        assert_eq!(
            p(&["run", "--syslog", "--control", "/tmp/s", "--config=/x"]),
            Ok(Command::Run {
                config: "/x".into(),
                control: "/tmp/s".into(),
                syslog: true
            })
        );
    }

    #[test]
    fn check_and_status() {
        assert_eq!(
            p(&["check", "-c", "f"]),
            Ok(Command::Check { config: "f".into() })
        );
        assert_eq!(
            p(&["status"]),
            Ok(Command::Status {
                control: DEFAULT_CONTROL.into(),
                json: false
            })
        );
        assert_eq!(
            p(&["status", "--json", "--control=/s"]),
            Ok(Command::Status {
                control: "/s".into(),
                json: true
            })
        );
        assert_eq!(
            p(&["resync"]),
            Ok(Command::Resync {
                control: DEFAULT_CONTROL.into()
            })
        );
        assert_eq!(
            p(&["resync", "--control", "/s"]),
            Ok(Command::Resync {
                control: "/s".into()
            })
        );
        assert!(matches!(
            p(&["resync", "--json"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert_eq!(
            p(&["cache", "--json"]),
            Ok(Command::Cache {
                control: DEFAULT_CONTROL.into(),
                json: true
            })
        );
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["run", "--help"]), Ok(Command::Help));
    }

    #[test]
    fn leases_merge() {
        assert_eq!(
            p(&["leases", "merge", "a", "/tmp/b"]),
            Ok(Command::LeasesMerge {
                files: vec!["a".into(), "/tmp/b".into()],
                now: None
            })
        );
        assert_eq!(
            p(&["leases", "merge", "--now", "1700000000", "a"]),
            Ok(Command::LeasesMerge {
                files: vec!["a".into()],
                now: Some(1_700_000_000)
            })
        );
        assert_eq!(
            p(&["leases", "merge", "a", "--now=0", "-", "--", "--odd"]),
            Ok(Command::LeasesMerge {
                files: vec!["a".into(), "-".into(), "--odd".into()],
                now: Some(0)
            })
        );
        assert_eq!(p(&["leases", "merge", "--help"]), Ok(Command::Help));
        assert_eq!(p(&["leases", "--help"]), Ok(Command::Help));
        assert_eq!(
            p(&["leases", "merge"]),
            Err(UsageError::MissingRequired {
                command: "leases merge",
                option: "FILE"
            })
        );
        assert_eq!(
            p(&["leases"]),
            Err(UsageError::MissingRequired {
                command: "leases",
                option: "merge"
            })
        );
        assert!(matches!(
            p(&["leases", "sync", "a"]),
            Err(UsageError::UnknownCommand(c)) if c == "leases sync"
        ));
        assert_eq!(
            p(&["leases", "merge", "--now", "soon", "a"]),
            Err(UsageError::BadValue {
                option: "--now",
                value: "soon".into()
            })
        );
        assert_eq!(
            p(&["leases", "merge", "a", "--now"]),
            Err(UsageError::MissingValue("--now"))
        );
        assert_eq!(
            p(&["leases", "merge", "--now", "1", "--now", "2", "a"]),
            Err(UsageError::Duplicate("--now"))
        );
        assert!(matches!(
            p(&["leases", "merge", "--json", "a"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert!(USAGE.contains("tandem leases merge [--now SECONDS] FILE..."));
        assert!(!UsageError::BadValue {
            option: "--now",
            value: "x".into()
        }
        .to_string()
        .is_empty());
    }

    #[test]
    fn usage_error_texts() {
        let cases: [(UsageError, &str); 9] = [
            (
                UsageError::MissingCommand,
                "missing command (run, check, status, resync or cache)",
            ),
            (
                UsageError::UnknownCommand("x".into()),
                "unknown command 'x' (expected run, check, status, resync or cache)",
            ),
            (
                UsageError::UnknownOption {
                    command: "run",
                    option: "--x".into(),
                },
                "'run' does not take option '--x'",
            ),
            (UsageError::MissingValue("-c"), "option '-c' needs a value"),
            (
                UsageError::MissingRequired {
                    command: "run",
                    option: "-c FILE",
                },
                "'run' needs -c FILE",
            ),
            (UsageError::Duplicate("-c"), "option '-c' given twice"),
            (UsageError::NotUnicode, "argument is not valid UTF-8"),
            (
                UsageError::Unexpected {
                    command: "status",
                    arg: "y".into(),
                },
                "'status' takes no argument 'y'",
            ),
            (
                UsageError::BadValue {
                    option: "--now",
                    value: "z".into(),
                },
                "option '--now' does not take 'z'",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn usage_errors() {
        assert_eq!(p(&[]), Err(UsageError::MissingCommand));
        assert!(matches!(p(&["start"]), Err(UsageError::UnknownCommand(_))));
        assert_eq!(
            p(&["run"]),
            Err(UsageError::MissingRequired {
                command: "run",
                option: "-c FILE"
            })
        );
        assert_eq!(p(&["run", "-c"]), Err(UsageError::MissingValue("-c")));
        assert_eq!(
            p(&["check", "-c", "a", "-c", "b"]),
            Err(UsageError::Duplicate("-c"))
        );
        assert!(matches!(
            p(&["check", "-c", "a", "--json"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert!(matches!(
            p(&["status", "-c", "a"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert!(matches!(
            p(&["status", "extra"]),
            Err(UsageError::Unexpected { .. })
        ));
        assert!(matches!(
            p(&["status", "--json=1"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert!(!UsageError::MissingCommand.to_string().is_empty());
        // `leases merge`'s options are its own.
        for args in [
            &["status", "--now", "1"][..],
            &["status", "--"],
            &["run", "--now=1"],
        ] {
            assert!(matches!(p(args), Err(UsageError::UnknownOption { .. })));
        }
        assert_eq!(
            p(&["leases", "merge", "-c", "a"]),
            Err(UsageError::UnknownOption {
                command: "leases merge",
                option: "-c".into()
            })
        );
        assert_eq!(p(&["leases", "merge", "a", "--help=x"]), Ok(Command::Help));
        assert!(matches!(
            p(&["status", "--help=x"]),
            Err(UsageError::UnknownOption { .. })
        ));
        assert_eq!(p(&["leases", "-h"]), Ok(Command::Help));
        assert_eq!(
            p(&["leases", "merge", "--now="]),
            Err(UsageError::BadValue {
                option: "--now",
                value: String::new()
            })
        );
    }
}
