//! Diagnostics: every warning and error the parser reports, with file:line.

use core::fmt;

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Severity {
    /// Something was ignored or adjusted (as keepalived would); the
    /// configuration is still usable.
    Warning,
    /// The configuration is invalid: [`Parser::finish`](super::Parser::finish) fails.
    Error,
}

/// What a value should have looked like, for [`DiagnosticKind::Expected`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Expected {
    /// An integer in `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A time in seconds, fractions allowed, at most `max` seconds.
    Seconds {
        /// Largest accepted value in seconds.
        max: u32,
    },
    /// `on|off|true|false|yes|no`.
    Bool,
    /// `2` or `3`.
    Version,
    /// An interface name (1 to 15 bytes, no `/`, `:` or whitespace).
    InterfaceName,
    /// An address label (1 to 15 bytes).
    Label,
    /// An instance or group name (1 to 32 bytes).
    Name,
    /// `router_id` text (1 to 64 bytes).
    RouterId,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An IPv4 address (or `+`/`-` for `brd`).
    Broadcast,
    /// An address with an optional `/prefix`.
    Prefix,
    /// `PASS` (`AH` is not supported).
    AuthType,
    /// A password of 1 or more bytes.
    Password,
    /// `global|site|link|host|nowhere`.
    Scope,
    /// A table number 0..=4294967295 or `main|local|default`.
    Table,
    /// A file name or glob pattern.
    Path,
    /// An option of a `virtual_ipaddress` line (`brd`, `dev`, `scope`, `label`).
    AddressOption,
    /// An option of a `virtual_routes` line (`src`, `to`, `via`, `gw`, `dev`,
    /// `metric`, `table`, `scope`, `onlink`).
    RouteOption,
    /// An option of a `track_interface` line (`weight W [reverse]`).
    TrackOption,
    /// `{` to open the block.
    OpenBrace,
    /// A closing quote.
    ClosingQuote,
    /// 64 hexadecimal digits (a 32-octet key).
    HexKey,
    /// A protocol name (`tcp`, `udp`, `icmp`, ...) or number 0..=255.
    Protocol,
    /// A file name of 1 to [`PATH_LEN`](super::PATH_LEN) bytes.
    FileName,
    /// A command of 1 to [`COMMAND_LEN`](super::COMMAND_LEN) bytes.
    Command,
}

impl Expected {
    /// The position of this kind's template in [`TEXTS`].
    #[inline(never)]
    fn text_index(self) -> usize {
        match self {
            Expected::Integer { .. } => T_INTEGER,
            Expected::Seconds { .. } => T_SECONDS,
            Expected::Bool => 0,
            Expected::Version => 1,
            Expected::InterfaceName => 2,
            Expected::Label => 3,
            Expected::Name => 4,
            Expected::RouterId => 5,
            Expected::IpAddress => 6,
            Expected::Broadcast => 7,
            Expected::Prefix => 8,
            Expected::AuthType => 9,
            Expected::Password => 10,
            Expected::Scope => 11,
            Expected::Table => 12,
            Expected::Path => 13,
            Expected::AddressOption => 14,
            Expected::RouteOption => 15,
            Expected::TrackOption => 16,
            Expected::OpenBrace => 17,
            Expected::ClosingQuote => 18,
            Expected::HexKey => 19,
            Expected::Protocol => 20,
            Expected::FileName => 21,
            Expected::Command => 22,
        }
    }

    /// Its template and numbers into `cx`.
    fn describe<'a>(self, cx: &mut Cx<'a>) {
        cx.sub = nth(TEXTS, self.text_index());
        match self {
            Expected::Integer { min, max } => {
                cx.a = min;
                cx.b = max;
            }
            Expected::Seconds { max } => cx.b = i64::from(max),
            _ => {}
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cx = Cx {
            kw: "",
            tok: "",
            other: "",
            sub: "",
            a: 0,
            b: 0,
        };
        self.describe(&mut cx);
        fill(f, "\x04", &cx)
    }
}

/// What each [`Limit`] counts, `\0`-separated, in declaration order.
const LIMIT_TEXTS: &str = concat!(
    "vrrp_instance blocks",
    "\0",
    "vrrp_sync_group blocks",
    "\0",
    "instances in one sync group",
    "\0",
    "virtual addresses in one instance",
    "\0",
    "virtual routes in one instance",
    "\0",
    "unicast peers in one instance",
    "\0",
    "tracked interfaces in one instance",
    "\0",
    "words in one statement",
    "\0",
    "nested blocks",
    "\0",
    "peer addresses in tandem_sync",
    "\0",
    "protocols in conntrack_filter",
    "\0",
    "ignored addresses in conntrack_filter",
    "\0",
);

/// A capacity that was exceeded, for [`DiagnosticKind::TooMany`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Limit {
    /// [`MAX_INSTANCES`](super::MAX_INSTANCES).
    Instances,
    /// [`MAX_SYNC_GROUPS`](super::MAX_SYNC_GROUPS).
    SyncGroups,
    /// [`MAX_GROUP_MEMBERS`](super::MAX_GROUP_MEMBERS).
    GroupMembers,
    /// [`MAX_VIPS`](super::MAX_VIPS).
    VirtualAddresses,
    /// [`MAX_ROUTES`](super::MAX_ROUTES).
    VirtualRoutes,
    /// [`MAX_UNICAST_PEERS`](super::MAX_UNICAST_PEERS).
    UnicastPeers,
    /// [`MAX_TRACK_INTERFACES`](super::MAX_TRACK_INTERFACES).
    TrackInterfaces,
    /// [`MAX_WORDS`](super::MAX_WORDS) words in one statement.
    Words,
    /// [`MAX_DEPTH`](super::MAX_DEPTH) nested blocks.
    Depth,
    /// [`MAX_SYNC_PEERS`](super::MAX_SYNC_PEERS).
    SyncPeers,
    /// [`MAX_SYNC_PROTOCOLS`](super::MAX_SYNC_PROTOCOLS).
    SyncProtocols,
    /// [`MAX_SYNC_IGNORE`](super::MAX_SYNC_IGNORE).
    IgnoredAddresses,
}

impl Limit {
    /// The capacity.
    pub const fn max(self) -> usize {
        match self {
            Limit::Instances => super::MAX_INSTANCES,
            Limit::SyncGroups => super::MAX_SYNC_GROUPS,
            Limit::GroupMembers => super::MAX_GROUP_MEMBERS,
            Limit::VirtualAddresses => super::MAX_VIPS,
            Limit::VirtualRoutes => super::MAX_ROUTES,
            Limit::UnicastPeers => super::MAX_UNICAST_PEERS,
            Limit::TrackInterfaces => super::MAX_TRACK_INTERFACES,
            Limit::Words => super::MAX_WORDS,
            Limit::Depth => super::MAX_DEPTH,
            Limit::SyncPeers => super::MAX_SYNC_PEERS,
            Limit::SyncProtocols => super::MAX_SYNC_PROTOCOLS,
            Limit::IgnoredAddresses => super::MAX_SYNC_IGNORE,
        }
    }

    fn what(self) -> &'static str {
        nth(LIMIT_TEXTS, self as usize)
    }
}

/// Why an `include` could not be honoured. The caller's loader returns it
/// (or the driver produces it) and the parser reports it with the
/// `include` line's location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IncludeError {
    /// The pattern matched no file: a **warning** (keepalived's plain
    /// `include` is silent about it).
    NoMatch,
    /// A named file does not exist.
    NotFound,
    /// A matching file could not be read: permission denied.
    PermissionDenied,
    /// A matching file is not valid UTF-8.
    NotUtf8,
    /// A matching file is too large.
    TooLarge,
    /// Any other I/O error.
    Io,
    /// Includes nested more than [`MAX_INCLUDE_DEPTH`](super::MAX_INCLUDE_DEPTH) deep
    /// (an include loop?).
    TooDeep,
}

/// What each [`IncludeError`] means, `\0`-separated, in declaration order.
const INCLUDE_TEXTS: &str = "matched no file\0file not found\0permission denied\0\
    file is not valid UTF-8\0file too large\0read error\0\
    includes nested too deeply (include loop?)";

impl IncludeError {
    fn text(self) -> &'static str {
        nth(INCLUDE_TEXTS, self as usize)
    }
}

impl fmt::Display for IncludeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl core::error::Error for IncludeError {}

/// What a [`Diagnostic`] is about. The [`Diagnostic`]'s `token` and `other`
/// fields fill in the details each variant documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DiagnosticKind {
    // ---- errors ----
    /// Error: the value `token` of `keyword` is invalid (empty `token`: missing).
    Expected(Expected),
    /// Error: a `{` where no block can start.
    UnexpectedOpenBrace,
    /// Error: a `}` with no open block.
    UnmatchedCloseBrace,
    /// Error: the block of `keyword` opened here is never closed.
    UnclosedBlock,
    /// Error: a quoted string `token` runs to the end of the line.
    UnterminatedQuote,
    /// Error: more than the capacity allows; the excess is dropped.
    TooMany(Limit),
    /// Error: `keyword` `token` is defined twice (instances, sync groups).
    Duplicate,
    /// Error: instance `token` has no `interface`.
    MissingInterface,
    /// Error: instance `token` has no `virtual_router_id`.
    MissingVrid,
    /// Error: instance `token` has the same interface, VRID and address
    /// family as instance `other`.
    DuplicateVrid,
    /// Error: sync group `other` names instance `token`, which does not exist.
    UnknownInstance,
    /// Error: instance `token` is named by sync groups `other` and this one.
    InTwoGroups,
    /// Error: address `token` is not of the instance's address family (set by
    /// the first virtual address).
    MixedFamilies,
    /// Error: route address `token` is not of the destination's family.
    RouteFamily,
    /// Error or warning ([`IncludeError::NoMatch`]): `include` of `token` failed.
    Include(IncludeError),
    /// Error: block `keyword` lacks `token` (e.g. `tandem_sync` without
    /// `local_address`).
    MissingKeyword,
    /// Error: `keyword` conflicts with `token`, given before in the same
    /// block (`key` and `key_file`).
    Conflict,
    /// Error: `peer_address` `token` is the `local_address`.
    PeerIsLocal,
    /// Error: `peer_address` `token` is not of `local_address`'s family.
    SyncFamily,
    // ---- warnings ----
    /// Warning: `keyword` is not a keyword here; it (and its block) is skipped.
    UnknownKeyword,
    /// Warning: `keyword` (or option `token`) is a keepalived feature Tandem
    /// does not implement; skipped.
    Unsupported,
    /// Warning: extra value `token` after `keyword` is ignored.
    ExtraValue,
    /// Warning: `keyword` given again; the new value replaces the old one.
    Repeated,
    /// Warning: `state` `token` is neither MASTER nor BACKUP; BACKUP is used
    /// (as keepalived does).
    UnknownState,
    /// Warning: `auth_pass` longer than 8 bytes; only the first 8 are used.
    PasswordTruncated,
    /// Warning: `advert_int` adjusted to `centis` centiseconds
    /// (VRRPv2: whole seconds 1..=255; VRRPv3: 0.01..=40.95 s), as keepalived does.
    AdvertIntAdjusted {
        /// The interval used, in centiseconds.
        centis: u16,
    },
    /// Warning: `authentication` is ignored with VRRP version 3 (instance `token`).
    AuthIgnoredV3,
    /// Warning: `version 2` on IPv6 instance `token`: version 3 is used.
    Ipv6NeedsV3,
    /// Warning: instance `token` has no virtual address.
    NoVirtualAddresses,
    /// Warning: `nopreempt` has no effect on instance `token` with `state MASTER`.
    NopreemptWithMaster,
    /// Warning: `preempt_delay` is meaningless with `nopreempt` on instance `token`; reset to 0.
    PreemptDelayWithNopreempt,
    /// Warning: `track_interface` names the instance's own interface
    /// `token`, which is always tracked; the entry is dropped (as keepalived does).
    TrackOwnInterface,
    /// Warning: backslash escapes in quoted string `token` are taken literally.
    EscapeNotSupported,
}

/// One warning or error, delivered to the caller's callback while parsing.
///
/// It borrows the text being parsed (and the parser's tables), so format or
/// copy what you need inside the callback. `Display` gives the one-line
/// message, e.g.
/// `keepalived.conf:12: priority: expected an integer 1..=255, got 'abc'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Diagnostic<'a> {
    /// Warning or error.
    pub severity: Severity,
    /// File name as the caller gave it to [`Parser::feed`](super::Parser::feed)
    /// (possibly shortened, see [`FILE_NAME_LEN`](super::FILE_NAME_LEN), for
    /// problems found after the file was read); empty if unknown.
    pub file: &'a str,
    /// 1-based line number; 0 when the problem has no single line.
    pub line: u32,
    /// The keyword (or block) concerned; may be empty.
    pub keyword: &'a str,
    /// What happened.
    pub kind: DiagnosticKind,
    /// The offending text (value, name, option); may be empty.
    pub token: &'a str,
    /// A second name some kinds refer to; usually empty.
    pub other: &'a str,
}

impl Diagnostic<'_> {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every message template, `\0`-separated: the [`Expected`] texts (in
/// [`Expected::template`] order), then the [`DiagnosticKind`] messages (see
/// [`DiagnosticKind`]'s `template`). One string table and one writer
/// ([`fill`]) instead of one branch and `write!` per message.
///
/// Placeholders: `\x01` token, `\x02` other, `\x03` keyword, `\x04` the
/// sub-text (expected value, limit, include error), `\x05`/`\x06` the
/// numbers, `\x07` the second number as two digits, `\x0b\x0c` `keyword: `
/// if there is a keyword.
const TEXTS: &str = concat!(
    // 0: Expected.
    "one of on|off|true|false|yes|no\0",
    "2 or 3\0",
    "an interface name of 1 to 15 bytes without '/', ':' or spaces\0",
    "a label of 1 to 15 bytes\0",
    "a name of 1 to 32 bytes\0",
    "a router id of 1 to 64 bytes\0",
    "an IPv4 or IPv6 address\0",
    "an IPv4 broadcast address, '+' or '-'\0",
    "an address with optional /prefix length\0",
    "PASS (AH is not supported)\0",
    "a password\0",
    "one of global|site|link|host|nowhere\0",
    "a table number or one of main|local|default\0",
    "a file name or glob pattern\0",
    "one of brd|dev|scope|label\0",
    "one of src|to|via|gw|dev|metric|table|scope|onlink\0",
    "'weight N [reverse]'\0",
    "'{'\0",
    "a closing quote\0",
    "64 hexadecimal digits (a 32-byte key)\0",
    "a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre) or number 0..=255\0",
    "a file name of 1 to 128 bytes\0",
    "a command of 1 to 255 bytes\0",
    // 23
    "an integer \x05..=\x06\0",
    "a time in seconds 0..=\x06 (fractions allowed, e.g. 0.5)\0",
    // 25: DiagnosticKind, in declaration order (token empty).
    "\x0b\x0cmissing value, expected \x04\0",
    "unexpected '{'\0",
    "'}' without an open block\0",
    "\x03: block opened here is never closed\0",
    "\x0b\x0cquoted string '\x01' has no closing quote\0",
    "\x0b\x0ctoo many \x04 (at most \x06): '\x01' dropped\0",
    "\x0b\x0c'\x01' is already defined\0",
    "\x0b\x0cinstance '\x01' has no interface\0",
    "\x0b\x0cinstance '\x01' has no virtual_router_id\0",
    "\x0b\x0cinstance '\x01' has the same interface, virtual_router_id and address family as instance '\x02'\0",
    "\x0b\x0csync group '\x02' names unknown instance '\x01'\0",
    "\x0b\x0cinstance '\x01' is already a member of sync group '\x02'\0",
    "\x0b\x0c'\x01' is not of the same address family as the instance's first virtual address\0",
    "\x0b\x0c'\x01' is not of the same address family as the route's destination\0",
    "\x0b\x0c'\x01': \x04\0",
    "\x0b\x0cmissing '\x01'\0",
    "\x0b\x0ccannot be combined with '\x01' (use one of them)\0",
    "\x0b\x0c'\x01' is the local_address\0",
    "\x0b\x0c'\x01' is not of the same address family as local_address\0",
    "unknown keyword '\x03' (ignored)\0",
    "'\x03' is not supported by Tandem (ignored)\0",
    "\x0b\x0cextra value '\x01' ignored\0",
    "\x0b\x0cgiven again; the last value is used\0",
    "\x0b\x0cunknown state '\x01', using BACKUP\0",
    "\x0b\x0clonger than 8 characters; only the first 8 are used\0",
    "\x0b\x0cadjusted to \x05.\x07 s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)\0",
    "\x0b\x0cinstance '\x01' uses VRRP version 3, which has no authentication (ignored)\0",
    "\x0b\x0cIPv6 instance '\x01' uses VRRP version 3\0",
    "\x0b\x0cinstance '\x01' has no virtual address\0",
    "\x0b\x0cnopreempt has no effect on instance '\x01' with state MASTER\0",
    "\x0b\x0cinstance '\x01' has nopreempt; preempt_delay is reset to 0\0",
    "\x0b\x0c'\x01' is the instance's own interface, always tracked (entry ignored)\0",
    "\x0b\x0cbackslash escapes are not supported; '\x01' is taken literally\0",
    // 58: Expected and Unsupported with a token.
    "\x0b\x0cexpected \x04, got '\x01'\0",
    "\x0b\x0coption '\x01' is not supported by Tandem (ignored)\0",
);

const T_INTEGER: usize = 23;
const T_SECONDS: usize = 24;

impl DiagnosticKind {
    /// The position of this kind's template in [`TEXTS`]. `missing`: the
    /// token is empty.
    #[inline(never)]
    fn text_index(self, missing: bool) -> usize {
        use DiagnosticKind as K;
        // Declaration order.
        let i = match self {
            K::Expected(_) if !missing => return 58,
            K::Unsupported if !missing => return 59,
            K::Expected(_) => 0,
            K::UnexpectedOpenBrace => 1,
            K::UnmatchedCloseBrace => 2,
            K::UnclosedBlock => 3,
            K::UnterminatedQuote => 4,
            K::TooMany(_) => 5,
            K::Duplicate => 6,
            K::MissingInterface => 7,
            K::MissingVrid => 8,
            K::DuplicateVrid => 9,
            K::UnknownInstance => 10,
            K::InTwoGroups => 11,
            K::MixedFamilies => 12,
            K::RouteFamily => 13,
            K::Include(_) => 14,
            K::MissingKeyword => 15,
            K::Conflict => 16,
            K::PeerIsLocal => 17,
            K::SyncFamily => 18,
            K::UnknownKeyword => 19,
            K::Unsupported => 20,
            K::ExtraValue => 21,
            K::Repeated => 22,
            K::UnknownState => 23,
            K::PasswordTruncated => 24,
            K::AdvertIntAdjusted { .. } => 25,
            K::AuthIgnoredV3 => 26,
            K::Ipv6NeedsV3 => 27,
            K::NoVirtualAddresses => 28,
            K::NopreemptWithMaster => 29,
            K::PreemptDelayWithNopreempt => 30,
            K::TrackOwnInterface => 31,
            K::EscapeNotSupported => 32,
        };
        25 + i
    }
}

/// The `i`th `\0`-separated text of `texts`.
fn nth(texts: &str, i: usize) -> &str {
    texts.split('\0').nth(i).unwrap_or("")
}

/// What [`fill`] puts in for the placeholders.
struct Cx<'a> {
    kw: &'a str,
    tok: &'a str,
    other: &'a str,
    /// `\x04`: a template of its own (filled with the same context).
    sub: &'a str,
    a: i64,
    b: i64,
}

/// Writes `template` with its placeholders filled in from `cx` (one writer
/// for every message).
fn fill(f: &mut fmt::Formatter<'_>, template: &str, cx: &Cx<'_>) -> fmt::Result {
    let mut rest = template;
    while let Some(i) = rest.bytes().position(|b| b < 13) {
        let (text, tail) = rest.split_at_checked(i).unwrap_or((rest, ""));
        f.write_str(text)?;
        let code = tail.as_bytes().first().copied().unwrap_or(0);
        rest = tail.get(1..).unwrap_or("");
        let put = match code {
            1 => cx.tok,
            2 => cx.other,
            3 | 11 => cx.kw,
            4 => {
                fill(f, cx.sub, cx)?;
                continue;
            }
            5..=7 => {
                let v = if code == 5 { cx.a } else { cx.b };
                f.write_str(if v < 0 { "-" } else { "" })?;
                f.write_str(if code == 7 && v < 10 { "0" } else { "" })?;
                // `write!`: the caller's width and flags do not apply.
                write!(f, "{}", v.unsigned_abs())?;
                continue;
            }
            _ if cx.kw.is_empty() => "",
            _ => ": ",
        };
        f.write_str(put)?;
    }
    f.write_str(rest)
}

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cx = Cx {
            kw: self.keyword,
            tok: self.token,
            other: self.other,
            sub: "",
            a: 0,
            b: 0,
        };
        match self.kind {
            DiagnosticKind::Expected(e) => e.describe(&mut cx),
            DiagnosticKind::TooMany(l) => {
                cx.sub = l.what();
                cx.b = l.max() as i64;
            }
            DiagnosticKind::Include(e) => cx.sub = e.text(),
            DiagnosticKind::AdvertIntAdjusted { centis } => {
                cx.a = i64::from(centis / 100);
                cx.b = i64::from(centis % 100);
            }
            _ => {}
        }
        // `file:line: `, `file: `, `line N: ` or nothing.
        let file = self.file;
        if !file.is_empty() || self.line != 0 {
            f.write_str(if file.is_empty() { "line " } else { file })?;
            if self.line != 0 {
                f.write_str(if file.is_empty() { "" } else { ":" })?;
                write!(f, "{}", self.line)?;
            }
            f.write_str(": ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        let t = self.kind.text_index(self.token.is_empty());
        fill(f, nth(TEXTS, t), &cx)
    }
}

/// [`Parser::finish`](super::Parser::finish) failed: the configuration had errors
/// (already reported through the callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Invalid {
    /// Number of errors reported.
    pub errors: u32,
    /// Number of warnings reported.
    pub warnings: u32,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {} error(s), {} warning(s)",
            self.errors, self.warnings
        )
    }
}

impl core::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn text_tables_match_the_enums() {
        // One text per kind plus the empty piece after the last `\0`.
        assert_eq!(TEXTS.split('\0').count(), 61);
        assert_eq!(LIMIT_TEXTS.split('\0').count(), 13);
        assert_eq!(
            Expected::Bool.to_string(),
            "one of on|off|true|false|yes|no"
        );
        assert_eq!(Expected::Command.to_string(), "a command of 1 to 255 bytes");
        assert_eq!(
            Expected::Integer {
                min: -253,
                max: 253
            }
            .to_string(),
            "an integer -253..=253"
        );
        assert_eq!(INCLUDE_TEXTS.split('\0').count(), 7);
        assert_eq!(IncludeError::NoMatch.to_string(), "matched no file");
        assert_eq!(IncludeError::NotUtf8.to_string(), "file is not valid UTF-8");
        assert_eq!(
            IncludeError::TooDeep.to_string(),
            "includes nested too deeply (include loop?)"
        );
        assert_eq!(Limit::Instances.what(), "vrrp_instance blocks");
        assert_eq!(
            Limit::IgnoredAddresses.what(),
            "ignored addresses in conntrack_filter"
        );
    }
}
