//! keepalived.conf-style configuration: text in, a validated fixed-capacity
//! [`Config`] out, with every problem reported as a [`Diagnostic`] naming
//! file:line.
//!
//! No I/O and no allocation: the caller reads files. An `include PATTERN`
//! line pauses the parser ([`Step::Include`]); the caller expands the
//! pattern (keepalived allows a glob, relative to the including file's
//! directory), feeds each matching file, then resumes the including file.
//! [`parse_with`] does that loop for the common case given a closure that
//! loads the files of a pattern.
//!
//! ```
//! use tandem_protocol::config::{parse_with, IncludeError};
//!
//! let main = "vrrp_instance I1 {\n interface eth0\n virtual_router_id 51\n \
//!             virtual_ipaddress {\n  10.9.8.4/24\n }\n}\ninclude extra.conf\n";
//! let extra = "vrrp_instance E1 {\n interface eth1\n virtual_router_id 52\n \
//!              virtual_ipaddress {\n  192.168.0.4/24\n }\n}\n";
//! let load = |_from: &str, pattern: &str| -> Result<Vec<(String, String)>, IncludeError> {
//!     match pattern {
//!         "extra.conf" => Ok(vec![("extra.conf".to_string(), extra.to_string())]),
//!         _ => Err(IncludeError::NotFound),
//!     }
//! };
//! let mut messages = Vec::new();
//! let config = parse_with("main.conf", main, load, &mut |d| messages.push(d.to_string()))
//!     .unwrap();
//! assert_eq!(config.instances.len(), 2);
//! assert!(messages.is_empty());
//! ```
//!
//! Without a file system (or to control every step), drive [`Parser`]
//! directly:
//!
//! ```
//! use tandem_protocol::config::{Parser, Resume, Step};
//!
//! let main = "vrrp_instance V {\n interface eth0\n include vrid.conf\n \
//!             virtual_ipaddress { 10.0.0.1 }\n}\n";
//! let mut diag = |d: &tandem_protocol::config::Diagnostic<'_>| panic!("{d}");
//! let mut parser = Parser::new();
//! let mut at = Resume::START;
//! while let Step::Include { pattern, resume, .. } = parser.feed("main.conf", main, at, &mut diag) {
//!     assert_eq!(pattern, "vrid.conf");
//!     // Feed each file of the pattern (following its own includes the same way) ...
//!     assert_eq!(parser.feed("vrid.conf", "virtual_router_id 9\n", Resume::START, &mut diag), Step::Done);
//!     // ... then continue the including file.
//!     at = resume;
//! }
//! let config = parser.finish(&mut diag).unwrap();
//! assert_eq!(config.instances[0].vrid, 9);
//! ```
//!
//! # Guarantees
//! - Never panics, whatever the input; never allocates.
//! - Nothing is silently ignored: an unknown keyword is a warning (its block,
//!   if any, is skipped), an invalid value an error naming the keyword and
//!   what was expected, a capacity overflow an error.
//! - keepalived semantics are mirrored where they matter for
//!   interoperability (the README's configuration reference covers every keyword).

mod diag;
mod driver;
#[macro_use]
mod kw;
mod lex;
mod parser;
#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod tests;
mod types;
mod value;

pub use diag::{Diagnostic, DiagnosticKind, Expected, IncludeError, Invalid, Limit, Severity};
pub use driver::{parse_str, parse_with, MAX_INCLUDE_DEPTH};
pub use parser::{Parser, Resume, Step, FILE_NAME_LEN, MAX_DEPTH, MAX_FILES, MAX_WORDS};
pub use types::*;
