//! Tokenizer for one line of keepalived.conf (hand-written: smaller than
//! nom combinators on 32-bit MIPS).
//!
//! - Words are separated by whitespace; `{` and `}` are tokens of their own
//!   even when touching a word (`group{` is `group`, `{`).
//! - Outside quotes, `#` or `!` starts a comment that runs to the end of the
//!   line (keepalived: "comments ... can start anywhere in a line"), so
//!   `auth_pass ab!cd` is the password `ab`, exactly as keepalived reads it.
//! - `"..."` or `'...'` is one word with the quotes removed; whitespace,
//!   braces and comment characters inside are kept. Backslash escapes are not
//!   interpreted (reported by the parser).

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

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '{' | '}' | '#' | '!' | '"' | '\''))
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
        let rest = self.rest.trim_start();
        self.rest = "";
        let mut chars = rest.chars();
        let first = chars.next()?;
        let after = chars.as_str();
        let (tok, rest) = match first {
            '#' | '!' => return None,
            '{' => (Tok::Open, after),
            '}' => (Tok::Close, after),
            '"' | '\'' => match after.split_once(first) {
                Some((quoted, rest)) => (Tok::Quoted(quoted), rest),
                None => (Tok::Unterminated(after), ""),
            },
            _ => {
                // `first` is a word character: a word runs to the next non-word character.
                let n = rest.find(|c| !is_word_char(c)).unwrap_or(rest.len());
                let (word, rest) = rest.split_at_checked(n).unwrap_or((rest, ""));
                (Tok::Word(word), rest)
            }
        };
        self.rest = rest;
        Some(tok)
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
