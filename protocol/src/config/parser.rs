//! The parser state machine: fed one file at a time, paused at `include`.

use super::diag::{Diagnostic, IncludeError, Invalid};
use super::types::Config;

/// Most blocks open at once (e.g. `vrrp_instance { virtual_ipaddress { } }` is 2).
pub const MAX_DEPTH: usize = 8;
/// Most words in one statement (one line, or up to a brace).
pub const MAX_WORDS: usize = 32;
/// Most distinct file names remembered for diagnostics reported after a file
/// was read (unclosed blocks, sync group members); later files show as `?`.
pub const MAX_FILES: usize = 16;
/// File names longer than this are remembered by their last bytes, prefixed with `...`.
pub const FILE_NAME_LEN: usize = 96;

/// Where to continue a file after an `include` (from [`Step::Include`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Resume {
    pub(crate) offset: usize,
    pub(crate) line: u32,
}

impl Resume {
    /// The start of a file.
    pub const START: Resume = Resume { offset: 0, line: 0 };

    /// The number of the last line read (the `include` line).
    pub const fn line(&self) -> u32 {
        self.line
    }
}

/// What [`Parser::feed`] stopped at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step<'t> {
    /// The end of the text was reached.
    Done,
    /// An `include PATTERN` line. Feed every file the pattern names (in
    /// sorted order, keepalived uses glob(3)), each from [`Resume::START`] and
    /// following its own includes, or report a problem with
    /// [`Parser::include_error`]; then call [`Parser::feed`] again with the
    /// same file name and text and `at: resume`.
    Include {
        /// The pattern as written (quotes removed). Relative paths are
        /// relative to the including file's directory.
        pattern: &'t str,
        /// The line of the `include` statement.
        line: u32,
        /// Where to continue this file.
        resume: Resume,
    },
}

/// The keepalived.conf parser. See the [module docs](super) for the call
/// sequence: [`Parser::new`], [`Parser::feed`] (repeatedly, following
/// includes), [`Parser::finish`].
///
/// It holds the [`Config`] under construction (about 40 KiB) plus small
/// tables; keep it off small stacks.
#[derive(Debug)]
pub struct Parser {
    config: Config,
    errors: u32,
    warnings: u32,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with an empty configuration.
    pub fn new() -> Self {
        Parser {
            config: Config::default(),
            errors: 0,
            warnings: 0,
        }
    }

    /// Parse `text`, the contents of `file`, from `at` ([`Resume::START`] for
    /// a new file) until its end or an `include` line. Diagnostics go to
    /// `diag` as they are found. Statements (and blocks) may span included
    /// files, exactly as if the included text replaced the `include` line.
    ///
    /// `at` must come from a [`Step::Include`] for this same `text`; an
    /// out-of-range value is treated as the end of the text.
    pub fn feed<'t>(
        &mut self,
        file: &str,
        text: &'t str,
        at: Resume,
        diag: &mut dyn FnMut(&Diagnostic<'_>),
    ) -> Step<'t> {
        let _ = (file, text, at, diag);
        Step::Done
    }

    /// Report that the `include` at `file:line` of `pattern` failed
    /// ([`IncludeError::NoMatch`] is a warning, the rest are errors).
    pub fn include_error(
        &mut self,
        file: &str,
        line: u32,
        pattern: &str,
        error: IncludeError,
        diag: &mut dyn FnMut(&Diagnostic<'_>),
    ) {
        let _ = (file, line, pattern, error, diag);
    }

    /// Errors reported so far.
    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// Warnings reported so far.
    pub fn warnings(&self) -> u32 {
        self.warnings
    }

    /// End of input: check what can only be checked on the whole
    /// configuration (unclosed blocks, missing interface or VRID, sync group
    /// members, duplicate VRIDs), resolve defaults, and return the
    /// configuration if no error was reported.
    pub fn finish(self, diag: &mut dyn FnMut(&Diagnostic<'_>)) -> Result<Config, Invalid> {
        let _ = diag;
        if self.errors == 0 {
            Ok(self.config)
        } else {
            Err(Invalid {
                errors: self.errors,
                warnings: self.warnings,
            })
        }
    }
}
