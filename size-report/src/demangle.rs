//! Rust symbol names, made readable and attributed to a crate.
//!
//! Handles the v0 scheme (`_R...`, what current nightlies emit) and the legacy scheme
//! (`_ZN...E`). Names that are neither (musl, compiler-builtins' `#[no_mangle]`
//! functions, assembly) are reported as C. The crate of a symbol is the crate
//! that *defines* the item (a generic instantiated by `tandem` for its own types but
//! defined in `core` counts as `core`), like `cargo bloat` does.

/// Crate label for symbols that are not Rust-mangled.
pub const C_CRATE: &str = "[C: musl, builtins]";

/// Readable name and defining crate of a raw symbol name.
pub fn demangle(raw: &str) -> (String, String) {
    if let Some(rest) = raw.strip_prefix("_R") {
        let mut p = V0 {
            s: rest.as_bytes(),
            pos: 0,
            out: String::new(),
            depth: 0,
        };
        if let Some(krate) = p.symbol() {
            return (p.out, krate);
        }
    }
    if let Some(rest) = raw.strip_prefix("_ZN").or_else(|| raw.strip_prefix("__ZN")) {
        if let Some(r) = legacy(rest) {
            return r;
        }
        // C++ (Itanium) names that the Rust legacy rules do not fit: LLVM libunwind.
        if let Some(ns) = first_component(rest) {
            return (raw.to_string(), ns.to_string());
        }
    }
    if ["_Unwind_", "__unw_", "unw_"]
        .iter()
        .any(|p| raw.starts_with(p))
    {
        return (raw.to_string(), "libunwind".to_string());
    }
    (raw.to_string(), C_CRATE.to_string())
}

/// `<len><name>` at the start of a mangled path.
fn first_component(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: usize = s.get(..digits)?.parse().ok()?;
    s.get(digits..digits.checked_add(n)?)
}

/// Legacy mangling: `_ZN` {len ident} `E`, with `$..$` escapes and a trailing hash.
fn legacy(s: &str) -> Option<(String, String)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut parts = Vec::new();
    while i < b.len() && b[i] != b'E' {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n: usize = s.get(start..i)?.parse().ok()?;
        let part = s.get(i..i.checked_add(n)?)?;
        i += n;
        parts.push(part);
    }
    if parts.is_empty() {
        return None;
    }
    if let Some(last) = parts.last() {
        if last.len() == 17
            && last.starts_with('h')
            && last[1..].bytes().all(|c| c.is_ascii_hexdigit())
        {
            parts.pop();
        }
    }
    let parts: Vec<String> = parts.iter().map(|p| unescape_legacy(p)).collect();
    let name = parts.join("::");
    let krate = first_crate(&name).unwrap_or_else(|| parts[0].clone());
    Some((name, krate))
}

fn unescape_legacy(p: &str) -> String {
    let p = p
        .strip_prefix('_')
        .filter(|r| r.starts_with('$'))
        .unwrap_or(p);
    let mut out = String::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            out.push_str("::");
            rest = r;
        } else if rest.starts_with('$') {
            let end = rest[1..].find('$').map(|e| e + 1);
            let Some(end) = end else {
                out.push_str(rest);
                break;
            };
            let code = &rest[1..end];
            let rep = match code {
                "SP" => "@".to_string(),
                "BP" => "*".to_string(),
                "RF" => "&".to_string(),
                "LT" => "<".to_string(),
                "GT" => ">".to_string(),
                "LP" => "(".to_string(),
                "RP" => ")".to_string(),
                "C" => ",".to_string(),
                _ => code
                    .strip_prefix('u')
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .map(String::from)
                    .unwrap_or_else(|| format!("${code}$")),
            };
            out.push_str(&rep);
            rest = &rest[end + 1..];
        } else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// First `ident::` in a readable path: the crate of `<&T as core::fmt::Debug>::fmt` is `core`.
fn first_crate(name: &str) -> Option<String> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if name[i..].starts_with("::") {
                return Some(name[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A v0 demangler (<https://doc.rust-lang.org/rustc/symbol-mangling/v0.html>),
/// writing a `rustc-demangle`-like name without crate hashes into `out`.
struct V0<'a> {
    s: &'a [u8],
    pos: usize,
    out: String,
    depth: u32,
}

impl V0<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `_R` [decimal version] path [instantiating crate] [vendor suffix]; returns the crate.
    fn symbol(&mut self) -> Option<String> {
        if self.peek()?.is_ascii_digit() {
            self.decimal()?;
        }
        let krate = self.path(true)?;
        // The instantiating crate and any `.llvm.123` suffix are not shown.
        Some(krate)
    }

    fn decimal(&mut self) -> Option<u64> {
        if self.eat(b'0') {
            return Some(0);
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse()
            .ok()
    }

    /// `{0-9a-zA-Z} _`: "_" is 0, otherwise the number + 1.
    fn base62(&mut self) -> Option<u64> {
        if self.eat(b'_') {
            return Some(0);
        }
        let mut x: u64 = 0;
        loop {
            let c = self.next()?;
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'z' => c - b'a' + 10,
                b'A'..=b'Z' => c - b'A' + 36,
                b'_' => return x.checked_add(1),
                _ => return None,
            };
            x = x.checked_mul(62)?.checked_add(u64::from(d))?;
        }
    }

    fn disambiguator(&mut self) -> Option<u64> {
        if self.eat(b's') {
            self.base62().map(|n| n + 1)
        } else {
            Some(0)
        }
    }

    /// `["u"] decimal ["_"] bytes`
    fn ident(&mut self) -> Option<String> {
        let puny = self.eat(b'u');
        let n = usize::try_from(self.decimal()?).ok()?;
        self.eat(b'_');
        let end = self.pos.checked_add(n)?;
        let bytes = self.s.get(self.pos..end)?;
        self.pos = end;
        let s = String::from_utf8_lossy(bytes).into_owned();
        Some(if puny { format!("{s}(punycode)") } else { s })
    }

    /// Runs `f` at the back-referenced position, then returns here.
    fn backref<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let at = usize::try_from(self.base62()?).ok()?;
        if at >= self.pos {
            return None;
        }
        let here = self.pos;
        self.pos = at;
        let r = f(self);
        self.pos = here;
        r
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth < 200).then_some(())
    }

    /// Prints a path (`value`: generic arguments as `::<..>`, else `<..>`); returns its crate.
    fn path(&mut self, value: bool) -> Option<String> {
        self.enter()?;
        let r = match self.next()? {
            b'C' => {
                self.disambiguator()?;
                let name = self.ident()?;
                self.out.push_str(&name);
                Some(name)
            }
            b'N' => {
                let ns = self.next()?;
                let krate = self.path(value)?;
                let dis = self.disambiguator()?;
                let name = self.ident()?;
                match ns {
                    b'C' => self.out.push_str(&format!("::{{closure#{dis}}}")),
                    b'S' => self.out.push_str(&format!("::{{shim:{name}#{dis}}}")),
                    b'A'..=b'Z' => self
                        .out
                        .push_str(&format!("::{{{}:{name}#{dis}}}", ns as char)),
                    _ if name.is_empty() => {}
                    _ => {
                        self.out.push_str("::");
                        self.out.push_str(&name);
                    }
                }
                Some(krate)
            }
            b'M' => {
                self.disambiguator()?;
                let krate = self.path_hidden()?;
                self.out.push('<');
                self.ty()?;
                self.out.push('>');
                Some(krate)
            }
            b'X' => {
                self.disambiguator()?;
                let krate = self.path_hidden()?;
                self.out.push('<');
                self.ty()?;
                self.out.push_str(" as ");
                self.path(false)?;
                self.out.push('>');
                Some(krate)
            }
            b'Y' => {
                self.out.push('<');
                self.ty()?;
                self.out.push_str(" as ");
                let krate = self.path(false)?;
                self.out.push('>');
                Some(krate)
            }
            b'I' => {
                let krate = self.path(value)?;
                self.out.push_str(if value { "::<" } else { "<" });
                self.generic_args()?;
                self.out.push('>');
                Some(krate)
            }
            b'B' => self.backref(|p| p.path(value)),
            _ => None,
        };
        self.depth -= 1;
        r
    }

    /// Parses a path without printing it (the module of an impl); returns its crate.
    fn path_hidden(&mut self) -> Option<String> {
        let len = self.out.len();
        let krate = self.path(false);
        self.out.truncate(len);
        krate
    }

    fn generic_args(&mut self) -> Option<()> {
        let mut first = true;
        while !self.eat(b'E') {
            if !first {
                self.out.push_str(", ");
            }
            first = false;
            match self.peek()? {
                b'L' => {
                    self.pos += 1;
                    self.base62()?;
                    self.out.push_str("'_");
                }
                b'K' => {
                    self.pos += 1;
                    self.konst()?;
                }
                _ => self.ty()?,
            }
        }
        Some(())
    }

    fn konst(&mut self) -> Option<()> {
        self.enter()?;
        let r = match self.peek()? {
            b'p' => {
                self.pos += 1;
                self.out.push('_');
                Some(())
            }
            b'B' => {
                self.pos += 1;
                self.backref(|p| p.konst())
            }
            c => {
                self.pos += 1;
                let neg = self.eat(b'n');
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
                let hex = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
                if !self.eat(b'_') {
                    return None;
                }
                let v = if hex.is_empty() {
                    0
                } else {
                    u128::from_str_radix(hex, 16).ok()?
                };
                match c {
                    b'b' => self.out.push_str(if v == 0 { "false" } else { "true" }),
                    b'c' => match u32::try_from(v).ok().and_then(char::from_u32) {
                        Some(ch) => self.out.push_str(&format!("{ch:?}")),
                        None => self.out.push('?'),
                    },
                    _ => self
                        .out
                        .push_str(&format!("{}{v}", if neg { "-" } else { "" })),
                }
                Some(())
            }
        };
        self.depth -= 1;
        r
    }

    fn ty(&mut self) -> Option<()> {
        self.enter()?;
        let c = self.peek()?;
        let basic = match c {
            b'a' => Some("i8"),
            b'b' => Some("bool"),
            b'c' => Some("char"),
            b'd' => Some("f64"),
            b'e' => Some("str"),
            b'f' => Some("f32"),
            b'h' => Some("u8"),
            b'i' => Some("isize"),
            b'j' => Some("usize"),
            b'l' => Some("i32"),
            b'm' => Some("u32"),
            b'n' => Some("i128"),
            b'o' => Some("u128"),
            b's' => Some("i16"),
            b't' => Some("u16"),
            b'u' => Some("()"),
            b'v' => Some("..."),
            b'x' => Some("i64"),
            b'y' => Some("u64"),
            b'z' => Some("!"),
            b'p' => Some("_"),
            _ => None,
        };
        if let Some(b) = basic {
            self.pos += 1;
            self.out.push_str(b);
            self.depth -= 1;
            return Some(());
        }
        let r = match c {
            b'C' | b'N' | b'M' | b'X' | b'Y' | b'I' => self.path(false).map(|_| ()),
            b'B' => {
                self.pos += 1;
                self.backref(|p| p.ty())
            }
            b'A' => {
                self.pos += 1;
                self.out.push('[');
                self.ty()?;
                self.out.push_str("; ");
                self.konst()?;
                self.out.push(']');
                Some(())
            }
            b'S' => {
                self.pos += 1;
                self.out.push('[');
                self.ty()?;
                self.out.push(']');
                Some(())
            }
            b'T' => {
                self.pos += 1;
                self.out.push('(');
                let mut n = 0;
                while !self.eat(b'E') {
                    if n > 0 {
                        self.out.push_str(", ");
                    }
                    self.ty()?;
                    n += 1;
                }
                if n == 1 {
                    self.out.push(',');
                }
                self.out.push(')');
                Some(())
            }
            b'R' | b'Q' => {
                self.pos += 1;
                self.out.push('&');
                if self.eat(b'L') {
                    self.base62()?;
                }
                if c == b'Q' {
                    self.out.push_str("mut ");
                }
                self.ty()
            }
            b'P' | b'O' => {
                self.pos += 1;
                self.out
                    .push_str(if c == b'P' { "*const " } else { "*mut " });
                self.ty()
            }
            b'F' => {
                self.pos += 1;
                if self.eat(b'G') {
                    self.base62()?;
                }
                if self.eat(b'U') {
                    self.out.push_str("unsafe ");
                }
                if self.eat(b'K') {
                    if self.eat(b'C') {
                        self.out.push_str("extern \"C\" ");
                    } else {
                        let abi = self.ident()?;
                        self.out
                            .push_str(&format!("extern \"{}\" ", abi.replace('_', "-")));
                    }
                }
                self.out.push_str("fn(");
                let mut n = 0;
                while !self.eat(b'E') {
                    if n > 0 {
                        self.out.push_str(", ");
                    }
                    self.ty()?;
                    n += 1;
                }
                self.out.push(')');
                if self.peek() == Some(b'u') {
                    self.pos += 1;
                } else {
                    self.out.push_str(" -> ");
                    self.ty()?;
                }
                Some(())
            }
            b'D' => {
                self.pos += 1;
                if self.eat(b'G') {
                    self.base62()?;
                }
                self.out.push_str("dyn ");
                let mut n = 0;
                while !self.eat(b'E') {
                    if n > 0 {
                        self.out.push_str(" + ");
                    }
                    self.path(false)?;
                    while self.eat(b'p') {
                        let name = self.ident()?;
                        self.out.push_str(&format!("<{name} = "));
                        self.ty()?;
                        self.out.push('>');
                    }
                    n += 1;
                }
                // lifetime
                if !self.eat(b'L') {
                    return None;
                }
                self.base62()?;
                Some(())
            }
            _ => None,
        };
        self.depth -= 1;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_names_and_crates() {
        // Symbols of a small nightly-built program, checked against `nm -C`.
        let cases = [
            ("_RNvCskOGwlKjLXpR_1t4main", "t::main", "t"),
            ("_RINvCskOGwlKjLXpR_1t1gKj3_EB2_", "t::g::<3>", "t"),
            ("_RNCNvCskOGwlKjLXpR_1t4main0B3_", "t::main::{closure#0}", "t"),
            ("_RNvYNtCskOGwlKjLXpR_1t1SNtB4_2Tr1fB4_", "<t::S as t::Tr>::f", "t"),
            (
                "_RNvXs_CskOGwlKjLXpR_1tNtB4_1SNtNtCs8NwYtU1Mohg_4core3fmt5Debug3fmt",
                "<t::S as core::fmt::Debug>::fmt",
                "t",
            ),
            (
                "_RNvMsa_NtCs8NwYtU1Mohg_4core3fmtNtB5_9Formatter9write_fmtCskOGwlKjLXpR_1t",
                "<core::fmt::Formatter>::write_fmt",
                "core",
            ),
            (
                "_RINvMs2_NtCs8NwYtU1Mohg_4core3fmtNtB6_9Arguments3newKj4_Kj1_ECskOGwlKjLXpR_1t",
                "<core::fmt::Arguments>::new::<4, 1>",
                "core",
            ),
            (
                "_RNvYNCNvCskOGwlKjLXpR_1t4main0INtNtNtCs8NwYtU1Mohg_4core3ops8function6FnOnceTmEE9call_onceB6_",
                "<t::main::{closure#0} as core::ops::function::FnOnce<(u32,)>>::call_once",
                "core",
            ),
            (
                "_RNvYFEuINtNtNtCs8NwYtU1Mohg_4core3ops8function6FnOnceuE9call_onceCskOGwlKjLXpR_1t",
                "<fn() as core::ops::function::FnOnce<()>>::call_once",
                "core",
            ),
            (
                "_RNvMNtNtCs8NwYtU1Mohg_4core3ptr9const_ptrPu13is_aligned_toCskOGwlKjLXpR_1t",
                "<*const ()>::is_aligned_to",
                "core",
            ),
        ];
        for (raw, name, krate) in cases {
            assert_eq!(
                demangle(raw),
                (name.to_string(), krate.to_string()),
                "{raw}"
            );
        }
    }

    #[test]
    fn legacy_names_and_crates() {
        assert_eq!(
            demangle("_ZN4core3fmt5write17h0123456789abcdefE"),
            ("core::fmt::write".to_string(), "core".to_string())
        );
        assert_eq!(
            demangle("_ZN67_$LT$tandem_protocol..vrrp..Error$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE"),
            (
                "<tandem_protocol::vrrp::Error as core::fmt::Display>::fmt".to_string(),
                "tandem_protocol".to_string()
            )
        );
        assert_eq!(
            demangle("_ZN44_$LT$$RF$T$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE").1,
            "core"
        );
    }

    #[test]
    fn libunwind_is_its_own_crate() {
        let cxx =
            "_ZN9libunwind10CFI_ParserINS_17LocalAddressSpaceEE8parseCIEERS1_jPNS2_8CIE_InfoE";
        assert_eq!(demangle(cxx).1, "libunwind");
        assert_eq!(demangle("_Unwind_Backtrace").1, "libunwind");
        assert_eq!(demangle("__unw_step").1, "libunwind");
    }

    #[test]
    fn c_and_garbage() {
        assert_eq!(
            demangle("memcpy"),
            ("memcpy".to_string(), C_CRATE.to_string())
        );
        for raw in [
            "_R",
            "_RN",
            "_RNvB9_3foo",
            "_RC99_x",
            "_ZN99abcE",
            "_RIC1aKj1234",
            "_RYAuKB_",
        ] {
            let (name, _) = demangle(raw);
            assert!(!name.is_empty());
        }
    }
}
