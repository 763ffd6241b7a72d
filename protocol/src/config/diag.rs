//! Diagnostics: every warning and error the parser reports, with file:line.

use core::fmt::{self, Write as _};

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

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match *self {
            Expected::Integer { min, max } => {
                f.write_str("an integer ")?;
                if min < 0 {
                    f.write_str("-")?;
                }
                num(f, min.unsigned_abs())?;
                f.write_str("..=")?;
                if max < 0 {
                    f.write_str("-")?;
                }
                return num(f, max.unsigned_abs());
            }
            Expected::Seconds { max } => {
                f.write_str("a time in seconds 0..=")?;
                num(f, u64::from(max))?;
                " (fractions allowed, e.g. 0.5)"
            }
            Expected::Bool => "one of on|off|true|false|yes|no",
            Expected::Version => "2 or 3",
            Expected::InterfaceName => {
                "an interface name of 1 to 15 bytes without '/', ':' or spaces"
            }
            Expected::Label => "a label of 1 to 15 bytes",
            Expected::Name => "a name of 1 to 32 bytes",
            Expected::RouterId => "a router id of 1 to 64 bytes",
            Expected::IpAddress => "an IPv4 or IPv6 address",
            Expected::Broadcast => "an IPv4 broadcast address, '+' or '-'",
            Expected::Prefix => "an address with optional /prefix length",
            Expected::AuthType => "PASS (AH is not supported)",
            Expected::Password => "a password",
            Expected::Scope => "one of global|site|link|host|nowhere",
            Expected::Table => "a table number or one of main|local|default",
            Expected::Path => "a file name or glob pattern",
            Expected::AddressOption => "one of brd|dev|scope|label",
            Expected::RouteOption => {
                "one of src|to|via|gw|dev|metric|table|scope|onlink"
            }
            Expected::TrackOption => "'weight N [reverse]'",
            Expected::OpenBrace => "'{'",
            Expected::ClosingQuote => "a closing quote",
            Expected::HexKey => "64 hexadecimal digits (a 32-byte key)",
            Expected::Protocol => "a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre) or number 0..=255",
            Expected::FileName => "a file name of 1 to 128 bytes",
            Expected::Command => "a command of 1 to 255 bytes",
        };
        f.write_str(text)
    }
}

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

    const fn what(self) -> &'static str {
        match self {
            Limit::Instances => "vrrp_instance blocks",
            Limit::SyncGroups => "vrrp_sync_group blocks",
            Limit::GroupMembers => "instances in one sync group",
            Limit::VirtualAddresses => "virtual addresses in one instance",
            Limit::VirtualRoutes => "virtual routes in one instance",
            Limit::UnicastPeers => "unicast peers in one instance",
            Limit::TrackInterfaces => "tracked interfaces in one instance",
            Limit::Words => "words in one statement",
            Limit::Depth => "nested blocks",
            Limit::SyncPeers => "peer addresses in tandem_sync",
            Limit::SyncProtocols => "protocols in conntrack_filter",
            Limit::IgnoredAddresses => "ignored addresses in conntrack_filter",
        }
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

impl fmt::Display for IncludeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IncludeError::NoMatch => "matched no file",
            IncludeError::NotFound => "file not found",
            IncludeError::PermissionDenied => "permission denied",
            IncludeError::NotUtf8 => "file is not valid UTF-8",
            IncludeError::TooLarge => "file too large",
            IncludeError::Io => "read error",
            IncludeError::TooDeep => "includes nested too deeply (include loop?)",
        })
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

/// `n` in decimal (ignores the formatter's width and flags, like `write!`).
fn num(f: &mut fmt::Formatter<'_>, n: u64) -> fmt::Result {
    if n >= 10 {
        num(f, n / 10)?;
    }
    f.write_char(char::from(b'0' + (n % 10) as u8))
}

/// Writes `template` with `\u{1}` replaced by `tok`, `\u{2}` by `other` and
/// `\u{3}` by `kw` (one writer for every message instead of one `write!`
/// format per message).
fn fill(
    f: &mut fmt::Formatter<'_>,
    template: &str,
    kw: &str,
    tok: &str,
    other: &str,
) -> fmt::Result {
    let mut rest = template;
    while let Some(i) = rest.find(['\u{1}', '\u{2}', '\u{3}']) {
        let (text, tail) = rest.split_at_checked(i).unwrap_or((rest, ""));
        f.write_str(text)?;
        let mut chars = tail.chars();
        f.write_str(match chars.next() {
            Some('\u{1}') => tok,
            Some('\u{2}') => other,
            _ => kw,
        })?;
        rest = chars.as_str();
    }
    f.write_str(rest)
}

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DiagnosticKind as K;
        if !self.file.is_empty() {
            f.write_str(self.file)?;
            if self.line != 0 {
                f.write_str(":")?;
                num(f, u64::from(self.line))?;
            }
            f.write_str(": ")?;
        } else if self.line != 0 {
            f.write_str("line ")?;
            num(f, u64::from(self.line))?;
            f.write_str(": ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        let (kw, tok, other) = (self.keyword, self.token, self.other);
        // Kinds that name the keyword themselves.
        let whole = match self.kind {
            K::UnknownKeyword => Some("unknown keyword '\u{3}' (ignored)"),
            K::Unsupported if tok.is_empty() => {
                Some("'\u{3}' is not supported by Tandem (ignored)")
            }
            K::UnclosedBlock => Some("\u{3}: block opened here is never closed"),
            K::UnexpectedOpenBrace => Some("unexpected '{'"),
            K::UnmatchedCloseBrace => Some("'}' without an open block"),
            _ => None,
        };
        if let Some(t) = whole {
            return fill(f, t, kw, tok, other);
        }
        if !kw.is_empty() {
            f.write_str(kw)?;
            f.write_str(": ")?;
        }
        let template = match self.kind {
            K::Expected(e) => {
                f.write_str(if tok.is_empty() {
                    "missing value, expected "
                } else {
                    "expected "
                })?;
                fmt::Display::fmt(&e, f)?;
                if tok.is_empty() {
                    return Ok(());
                }
                ", got '\u{1}'"
            }
            K::TooMany(limit) => {
                f.write_str("too many ")?;
                f.write_str(limit.what())?;
                f.write_str(" (at most ")?;
                num(f, limit.max() as u64)?;
                "): '\u{1}' dropped"
            }
            K::Include(e) => {
                fill(f, "'\u{1}': ", kw, tok, other)?;
                return fmt::Display::fmt(&e, f);
            }
            K::AdvertIntAdjusted { centis } => {
                f.write_str("adjusted to ")?;
                num(f, u64::from(centis / 100))?;
                f.write_str(if centis % 100 < 10 { ".0" } else { "." })?;
                num(f, u64::from(centis % 100))?;
                " s (VRRPv2: whole seconds 1..=255, VRRPv3: 0.01..=40.95 s)"
            }
            K::UnterminatedQuote => "quoted string '\u{1}' has no closing quote",
            K::Duplicate => "'\u{1}' is already defined",
            K::MissingKeyword => "missing '\u{1}'",
            K::Conflict => "cannot be combined with '\u{1}' (use one of them)",
            K::PeerIsLocal => "'\u{1}' is the local_address",
            K::SyncFamily => "'\u{1}' is not of the same address family as local_address",
            K::MissingInterface => "instance '\u{1}' has no interface",
            K::MissingVrid => "instance '\u{1}' has no virtual_router_id",
            K::DuplicateVrid => {
                "instance '\u{1}' has the same interface, virtual_router_id and address family as instance '\u{2}'"
            }
            K::UnknownInstance => "sync group '\u{2}' names unknown instance '\u{1}'",
            K::InTwoGroups => "instance '\u{1}' is already a member of sync group '\u{2}'",
            K::MixedFamilies => {
                "'\u{1}' is not of the same address family as the instance's first virtual address"
            }
            K::RouteFamily => "'\u{1}' is not of the same address family as the route's destination",
            K::Unsupported => "option '\u{1}' is not supported by Tandem (ignored)",
            K::ExtraValue => "extra value '\u{1}' ignored",
            K::Repeated => "given again; the last value is used",
            K::UnknownState => "unknown state '\u{1}', using BACKUP",
            K::PasswordTruncated => "longer than 8 characters; only the first 8 are used",
            K::AuthIgnoredV3 => {
                "instance '\u{1}' uses VRRP version 3, which has no authentication (ignored)"
            }
            K::Ipv6NeedsV3 => "IPv6 instance '\u{1}' uses VRRP version 3",
            K::NoVirtualAddresses => "instance '\u{1}' has no virtual address",
            K::NopreemptWithMaster => "nopreempt has no effect on instance '\u{1}' with state MASTER",
            K::PreemptDelayWithNopreempt => {
                "instance '\u{1}' has nopreempt; preempt_delay is reset to 0"
            }
            K::TrackOwnInterface => {
                "'\u{1}' is the instance's own interface, always tracked (entry ignored)"
            }
            K::EscapeNotSupported => {
                "backslash escapes are not supported; '\u{1}' is taken literally"
            }
            // Handled above.
            K::UnknownKeyword
            | K::UnclosedBlock
            | K::UnexpectedOpenBrace
            | K::UnmatchedCloseBrace => "",
        };
        fill(f, template, kw, tok, other)
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
