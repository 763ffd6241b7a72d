//! Command-line parsing (no I/O, unit-tested).
//!
//! The contract (issue 2, point 6; users' scripts rely on it):
//! - `tandem run -c FILE [--control PATH] [--syslog]`
//! - `tandem check -c FILE`
//! - `tandem status [--control PATH] [--json]`
//! - `tandem resync [--control PATH]` (issue 4: full conntrack resync)
//! - `tandem --version`, `tandem --help`
//!
//! Bad usage is an [`UsageError`]; `main` prints it with the usage text and
//! exits with status 2.

use std::ffi::OsString;
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
  tandem --version
  tandem --help

Options:
  -c, --config FILE   configuration file (keepalived.conf syntax)
  --control PATH      control socket (default /var/run/tandem.sock)
  --syslog            log to syslog (/dev/log, facility daemon) instead of stderr
  --json              machine-readable status

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
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::MissingCommand => {
                write!(f, "missing command (run, check, status or resync)")
            }
            UsageError::UnknownCommand(c) => {
                write!(
                    f,
                    "unknown command '{c}' (expected run, check, status or resync)"
                )
            }
            UsageError::UnknownOption { command, option } => {
                write!(f, "'{command}' does not take option '{option}'")
            }
            UsageError::MissingValue(o) => write!(f, "option '{o}' needs a value"),
            UsageError::MissingRequired { command, option } => {
                write!(f, "'{command}' needs {option}")
            }
            UsageError::Duplicate(o) => write!(f, "option '{o}' given twice"),
            UsageError::NotUnicode => write!(f, "argument is not valid UTF-8"),
            UsageError::Unexpected { command, arg } => {
                write!(f, "'{command}' takes no argument '{arg}'")
            }
        }
    }
}

impl std::error::Error for UsageError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Config,
    Control,
    Syslog,
    Json,
}

impl Opt {
    fn name(self) -> &'static str {
        match self {
            Opt::Config => "-c",
            Opt::Control => "--control",
            Opt::Syslog => "--syslog",
            Opt::Json => "--json",
        }
    }
    fn takes_value(self) -> bool {
        matches!(self, Opt::Config | Opt::Control)
    }
}

fn lookup(name: &str) -> Option<Opt> {
    Some(match name {
        "-c" | "--config" => Opt::Config,
        "--control" => Opt::Control,
        "--syslog" => Opt::Syslog,
        "--json" => Opt::Json,
        _ => return None,
    })
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command, UsageError> {
    let mut args = args.into_iter();
    let first = args.next().ok_or(UsageError::MissingCommand)?;
    let first = first.into_string().map_err(|_| UsageError::NotUnicode)?;
    let (command, allowed): (&'static str, &[Opt]) = match first.as_str() {
        "--version" | "-V" | "version" => return Ok(Command::Version),
        "--help" | "-h" | "help" => return Ok(Command::Help),
        "run" => ("run", &[Opt::Config, Opt::Control, Opt::Syslog]),
        "check" => ("check", &[Opt::Config]),
        "status" => ("status", &[Opt::Control, Opt::Json]),
        "resync" => ("resync", &[Opt::Control]),
        _ => return Err(UsageError::UnknownCommand(first)),
    };
    let mut config: Option<PathBuf> = None;
    let mut control: Option<PathBuf> = None;
    let mut syslog = false;
    let mut json = false;
    while let Some(arg) = args.next() {
        let text = match arg.to_str() {
            Some(t) => t,
            None => {
                return Err(UsageError::Unexpected {
                    command,
                    arg: arg.to_string_lossy().into_owned(),
                })
            }
        };
        if text == "--help" || text == "-h" {
            return Ok(Command::Help);
        }
        // `--opt=value` form.
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (text, None),
        };
        let opt = match lookup(name) {
            Some(o) if allowed.contains(&o) => o,
            Some(_) => {
                return Err(UsageError::UnknownOption {
                    command,
                    option: text.to_owned(),
                })
            }
            None if text.starts_with('-') => {
                return Err(UsageError::UnknownOption {
                    command,
                    option: text.to_owned(),
                })
            }
            None => {
                return Err(UsageError::Unexpected {
                    command,
                    arg: text.to_owned(),
                })
            }
        };
        let value: Option<PathBuf> = if opt.takes_value() {
            match inline {
                Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
                Some(_) => return Err(UsageError::MissingValue(opt.name())),
                None => match args.next() {
                    Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
                    _ => return Err(UsageError::MissingValue(opt.name())),
                },
            }
        } else {
            if inline.is_some() {
                return Err(UsageError::UnknownOption {
                    command,
                    option: text.to_owned(),
                });
            }
            None
        };
        match opt {
            Opt::Config => {
                if config.replace(value.unwrap_or_default()).is_some() {
                    return Err(UsageError::Duplicate(opt.name()));
                }
            }
            Opt::Control => {
                if control.replace(value.unwrap_or_default()).is_some() {
                    return Err(UsageError::Duplicate(opt.name()));
                }
            }
            Opt::Syslog => syslog = true,
            Opt::Json => json = true,
        }
    }
    let control = control.unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL));
    let need_config = |c: Option<PathBuf>| {
        c.ok_or(UsageError::MissingRequired {
            command,
            option: "-c FILE",
        })
    };
    Ok(match command {
        "run" => Command::Run {
            config: need_config(config)?,
            control,
            syslog,
        },
        "check" => Command::Check {
            config: need_config(config)?,
        },
        "resync" => Command::Resync { control },
        _ => Command::Status { control, json },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from))
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
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["run", "--help"]), Ok(Command::Help));
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
    }
}
