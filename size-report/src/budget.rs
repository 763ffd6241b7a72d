//! The budget file (`size-report/budgets.toml`): a small TOML subset.
//!
//! ```toml
//! [mipsel]              # target alias or full triple
//! stripped = 262_144    # bytes; keys: stripped, text, rodata, data, bss
//! ```
//! Only tables of integer keys are accepted; anything else is an error with the line.

use std::collections::BTreeMap;
use std::fmt;

/// The measures a budget can limit.
pub const KEYS: [&str; 5] = ["stripped", "text", "rodata", "data", "bss"];

/// Limits per target (alias or triple as written in the file), per key, in bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Budgets {
    /// table name -> key -> limit
    pub tables: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A syntax error in the budget file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was expected.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl Budgets {
    /// Parses the file contents.
    pub fn parse(text: &str) -> Result<Budgets, ParseError> {
        let mut b = Budgets::default();
        let mut table: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |msg: String| ParseError { line, msg };
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            if let Some(name) = l.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| err("expected `]` after the table name".into()))?
                    .trim()
                    .trim_matches('"');
                if name.is_empty() {
                    return Err(err("empty table name".into()));
                }
                if b.tables.contains_key(name) {
                    return Err(err(format!("table [{name}] given twice")));
                }
                b.tables.insert(name.to_string(), BTreeMap::new());
                table = Some(name.to_string());
                continue;
            }
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| err("expected `key = bytes` or `[target]`".into()))?;
            let (k, v) = (k.trim(), v.trim());
            if !KEYS.contains(&k) {
                return Err(err(format!(
                    "unknown key `{k}` (expected one of {})",
                    KEYS.join(", ")
                )));
            }
            let n: u64 = v
                .replace('_', "")
                .parse()
                .map_err(|_| err(format!("`{v}` is not a whole number of bytes")))?;
            let t = table
                .as_ref()
                .ok_or_else(|| err("key outside of a `[target]` table".into()))?;
            let tab = b.tables.get_mut(t).expect("table inserted above");
            if tab.insert(k.to_string(), n).is_some() {
                return Err(err(format!("`{k}` given twice in [{t}]")));
            }
        }
        Ok(b)
    }

    /// The limits for a target, looked up by alias, then by triple.
    pub fn for_target(&self, alias: &str, triple: &str) -> Option<&BTreeMap<String, u64>> {
        self.tables.get(alias).or_else(|| self.tables.get(triple))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tables_comments_and_underscores() {
        let b = Budgets::parse(
            "# budgets\n\n[mipsel]\nstripped = 262_144 # 256 KiB\nbss=4096\n[\"x86_64-unknown-linux-musl\"]\ntext = 1\n",
        )
        .unwrap();
        let m = b.for_target("mipsel", "mipsel-unknown-linux-musl").unwrap();
        assert_eq!(m.get("stripped"), Some(&262_144));
        assert_eq!(m.get("bss"), Some(&4096));
        let x = b.for_target("x86_64", "x86_64-unknown-linux-musl").unwrap();
        assert_eq!(x.get("text"), Some(&1));
        assert!(b.for_target("mips", "mips-unknown-linux-musl").is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("stripped = 1", 1, "outside"),
            ("[a]\nfoo = 1", 2, "unknown key"),
            ("[a]\nstripped = 1.5", 2, "whole number"),
            ("[a\n", 1, "`]`"),
            ("[a]\n[a]", 2, "twice"),
            ("[a]\ntext = 1\ntext = 2", 3, "twice"),
            ("[a]\njunk", 2, "expected"),
        ];
        for (text, line, msg) in cases {
            let e = Budgets::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(e.msg.contains(msg), "{text}: {}", e.msg);
        }
    }
}
