//! Tokenizer (nom) for one line of keepalived.conf.
//!
//! - Words are separated by whitespace; `{` and `}` are tokens of their own
//!   even when touching a word (`group{` is `group`, `{`).
//! - Outside quotes, `#` or `!` starts a comment that runs to the end of the
//!   line (keepalived: "comments ... can start anywhere in a line"), so
//!   `auth_pass ab!cd` is the password `ab`, exactly as keepalived reads it.
//! - `"..."` or `'...'` is one word with the quotes removed; whitespace,
//!   braces and comment characters inside are kept. Backslash escapes are not
//!   interpreted (reported by the parser).

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{map, value};
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// One token of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A bare word.
    Word(&'a str),
    /// A quoted string, quotes removed.
    Quoted(&'a str),
    /// `{`
    Open,
    /// `}`
    Close,
    /// A quote with no closing quote on the line; the text after it.
    Unterminated(&'a str),
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '{' | '}' | '#' | '!' | '"' | '\''))
}

fn token(i: &str) -> IResult<&str, Tok<'_>> {
    alt((
        value(Tok::Open, char('{')),
        value(Tok::Close, char('}')),
        map(
            delimited(char('"'), take_till(|c| c == '"'), char('"')),
            Tok::Quoted,
        ),
        map(
            delimited(char('\''), take_till(|c| c == '\''), char('\'')),
            Tok::Quoted,
        ),
        map(take_while1(is_word_char), Tok::Word),
    ))
    .parse(i)
}

/// The tokens of one line (without its line terminator).
pub(crate) struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(line: &'a str) -> Self {
        Tokens { rest: line }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let skipped: IResult<&str, &str> = take_while(is_space).parse(self.rest);
        let rest = match skipped {
            Ok((rest, _)) => rest,
            Err(_) => "",
        };
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with('!') {
            self.rest = "";
            return None;
        }
        match token(rest) {
            Ok((rest, tok)) => {
                self.rest = rest;
                Some(tok)
            }
            Err(_) => {
                // Only an unterminated quote can fail: every other first
                // character is a brace or a word character.
                self.rest = "";
                let after = rest.get(1..).unwrap_or("");
                Some(Tok::Unterminated(after))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tok::*;
    use super::*;

    fn toks(s: &str) -> std::vec::Vec<Tok<'_>> {
        Tokens::new(s).collect()
    }

    #[test]
    fn words_braces_comments() {
        assert_eq!(
            toks("  vrrp_instance I1 {  # comment"),
            [Word("vrrp_instance"), Word("I1"), Open]
        );
        assert_eq!(
            toks("group{E1 I1}}"),
            [Word("group"), Open, Word("E1"), Word("I1"), Close, Close]
        );
        assert_eq!(toks("! a comment"), []);
        assert_eq!(toks("auth_pass ab!cd"), [Word("auth_pass"), Word("ab")]);
        assert_eq!(toks("\t\r"), []);
    }

    #[test]
    fn quotes() {
        assert_eq!(
            toks("auth_pass \"a b#{c\" x"),
            [Word("auth_pass"), Quoted("a b#{c"), Word("x")]
        );
        assert_eq!(toks("'x y'"), [Quoted("x y")]);
        assert_eq!(toks("\"\""), [Quoted("")]);
        assert_eq!(toks("a \"bc"), [Word("a"), Unterminated("bc")]);
        assert_eq!(toks("ab\"cd\""), [Word("ab"), Quoted("cd")]);
    }
}
