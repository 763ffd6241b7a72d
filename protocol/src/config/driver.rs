//! The include loop for the common case: a closure loads the files of a pattern.

use super::diag::{Diagnostic, IncludeError, Invalid};
use super::parser::{Parser, Resume, Step};
use super::types::Config;

/// Deepest `include` nesting [`parse_with`] follows (the main file is depth 0).
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Parse the main file `text` (named `file` in diagnostics) and everything it
/// includes.
///
/// `load(including_file, pattern)` resolves an `include` pattern (relative
/// paths relative to the directory of `including_file`; keepalived allows
/// glob patterns) and returns the matching files as `(name, text)` pairs in
/// the order to parse them (sorted, like glob(3)). An empty list is reported
/// as a warning ([`IncludeError::NoMatch`]); an `Err` as an error. Includes
/// nest at most [`MAX_INCLUDE_DEPTH`] deep.
///
/// Every warning and error goes to `diag`; the result is `Err` if there was
/// any error.
pub fn parse_with<F, I, N, T>(
    file: &str,
    text: &str,
    mut load: F,
    diag: &mut dyn FnMut(&Diagnostic<'_>),
) -> Result<Config, Invalid>
where
    F: FnMut(&str, &str) -> Result<I, IncludeError>,
    I: IntoIterator<Item = (N, T)>,
    N: AsRef<str>,
    T: AsRef<str>,
{
    let mut parser = Parser::new();
    feed_file(&mut parser, file, text, 0, &mut load, diag);
    parser.finish(diag)
}

/// Parse a configuration that has no `include` (any `include` line is
/// reported as an error, [`IncludeError::NotFound`]).
pub fn parse_str(
    file: &str,
    text: &str,
    diag: &mut dyn FnMut(&Diagnostic<'_>),
) -> Result<Config, Invalid> {
    parse_with(
        file,
        text,
        |_: &str, _: &str| Err::<[(&str, &str); 0], _>(IncludeError::NotFound),
        diag,
    )
}

fn feed_file<F, I, N, T>(
    parser: &mut Parser,
    file: &str,
    text: &str,
    depth: usize,
    load: &mut F,
    diag: &mut dyn FnMut(&Diagnostic<'_>),
) where
    F: FnMut(&str, &str) -> Result<I, IncludeError>,
    I: IntoIterator<Item = (N, T)>,
    N: AsRef<str>,
    T: AsRef<str>,
{
    let mut at = Resume::START;
    loop {
        match parser.feed(file, text, at, diag) {
            Step::Done => return,
            Step::Include {
                pattern,
                line,
                resume,
            } => {
                at = resume;
                if depth >= MAX_INCLUDE_DEPTH {
                    parser.include_error(file, line, pattern, IncludeError::TooDeep, diag);
                    continue;
                }
                match load(file, pattern) {
                    Err(e) => parser.include_error(file, line, pattern, e, diag),
                    Ok(files) => {
                        let mut any = false;
                        for (name, inner) in files {
                            any = true;
                            feed_file(parser, name.as_ref(), inner.as_ref(), depth + 1, load, diag);
                        }
                        if !any {
                            parser.include_error(file, line, pattern, IncludeError::NoMatch, diag);
                        }
                    }
                }
            }
        }
    }
}
