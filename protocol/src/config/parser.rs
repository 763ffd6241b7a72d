//! The parser state machine: fed one file at a time, paused at `include`.
//!
//! keepalived.conf is line oriented: a statement is a keyword and its values
//! up to the end of the line, or up to a `{` (which opens the keyword's
//! block) or a `}` (which closes the current block). Inside value blocks
//! (`virtual_ipaddress`, `virtual_routes`, `unicast_peer`,
//! `track_interface`) each statement is one entry; inside `group { }` every
//! word is an instance name. A block keyword may have its `{` at the start
//! of the next line. `include` is honoured at the start of any line, even
//! inside a block: the included text stands in for the `include` line.

use core::fmt::Write as _;
use core::net::{IpAddr, Ipv4Addr};

use heapless::{String, Vec};

use super::diag::{
    Diagnostic, DiagnosticKind as K, Expected, IncludeError, Invalid, Limit, Severity,
};
use super::kw::{listed, AuthKw, GlobalKw, InstKw, RouteOpt, RouteTypeKw, TopKw, TrackOpt, VipOpt};
use super::lex::{Tok, Tokens};
use super::types::*;
use super::value;

mod sync;
use sync::finish_sync;

/// Most blocks open at once (e.g. `vrrp_instance { virtual_ipaddress { } }` is 2).
pub const MAX_DEPTH: usize = 8;
/// Most words in one statement (one line, or up to a brace).
pub const MAX_WORDS: usize = 32;
/// Most distinct file names remembered for diagnostics reported after a file
/// was read (unclosed blocks, sync group members, per-instance checks);
/// later files show as `?`.
pub const MAX_FILES: usize = 16;
/// File names longer than this are remembered by their last bytes, prefixed with `...`.
pub const FILE_NAME_LEN: usize = 96;

type FileName = String<FILE_NAME_LEN, u8>;
const UNKNOWN_FILE: u8 = u8::MAX;

/// Where to continue a file after an `include` (from [`Step::Include`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Resume {
    offset: usize,
    line: u32,
}

impl Resume {
    /// The start of a file.
    pub const START: Resume = Resume { offset: 0, line: 0 };

    /// The number of the last line read (the `include` line; 0 at the start).
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Loc {
    file: u8,
    line: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    GlobalDefs,
    SyncGroup(u8),
    GroupList(u8),
    Instance(u8),
    Vips(u8),
    Routes(u8),
    Peers(u8),
    TrackIf(u8),
    Auth(u8),
    /// `tandem_sync { }`.
    Sync,
    /// `tandem_sync { conntrack_filter { } }`.
    SyncFilter,
    /// An unknown, unsupported or invalid block: everything inside is skipped.
    Skip,
}

impl Block {
    /// The keyword that opens this block (for diagnostics).
    fn keyword(self) -> &'static str {
        match self {
            Block::GlobalDefs => "global_defs",
            Block::SyncGroup(_) => "vrrp_sync_group",
            Block::GroupList(_) => "group",
            Block::Instance(_) => "vrrp_instance",
            Block::Vips(_) => "virtual_ipaddress",
            Block::Routes(_) => "virtual_routes",
            Block::Peers(_) => "unicast_peer",
            Block::TrackIf(_) => "track_interface",
            Block::Auth(_) => "authentication",
            Block::Sync => "tandem_sync",
            Block::SyncFilter => "conntrack_filter",
            Block::Skip => "block",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    block: Block,
    loc: Loc,
}

/// A block header seen without its `{`: the next statement may be a lone `{`.
#[derive(Clone, Copy, Debug)]
struct Pending {
    frame: Frame,
    /// Missing `{` is an error (known block keyword) or fine (skipped keyword).
    required: bool,
}

/// The first bit of `auth_type`/`auth_pass` in `InstMeta::seen` (after [`InstKw`]'s).
const AUTH_SEEN: u32 = 16;

#[derive(Clone, Debug, Default)]
struct InstMeta {
    loc: Loc,
    seen: u32,
    version: Option<Version>,
    version_loc: Loc,
    /// Saturated at `u32::MAX` (far above the limits of [`adjust_advert`]).
    advert_micros: Option<u32>,
    advert_loc: Loc,
    auth_loc: Option<Loc>,
    auth_type_pass: Option<bool>,
    auth_pass: Option<[u8; AUTH_PASS_LEN]>,
    family: Option<Family>,
    src_loc: Loc,
    preempt_delay_set: bool,
}

/// What `tandem_sync { }` gave so far. Its values go straight into
/// `Config::sync` (with placeholders for the required keywords until
/// they are given: moving the whole block costs code on 32-bit MIPS).
#[derive(Clone, Copy, Debug, Default)]
struct SyncMeta {
    loc: Loc,
    seen: u32,
    /// `local_address` was given.
    local_set: bool,
    /// Which keyword gave the key: 0 none, 1 `key_file`, 2 `key`.
    key_from: u8,
    /// Where each of `peer_addresses` was given.
    peer_locs: [Loc; MAX_SYNC_PEERS],
}

#[derive(Clone, Debug, Default)]
struct GroupMeta {
    members: Vec<(Name, Loc), MAX_GROUP_MEMBERS, u8>,
}

#[derive(Clone, Copy, Debug, Default)]
struct GlobalMeta {
    seen: u32,
}

/// What a statement turned out to be.
enum Outcome {
    /// A complete statement (keyword with values, or a list entry).
    Simple,
    /// A keyword that opens this block.
    Block(Block),
    /// A skipped keyword (already reported): its block, if any, is skipped.
    Ignored,
}

/// Diagnostics sink for one `feed` call: counts and forwards.
struct Out<'d, 'f> {
    diag: &'d mut dyn FnMut(&Diagnostic<'_>),
    file: &'f str,
    file_id: u8,
    line: u32,
    errors: u32,
    warnings: u32,
}

/// Texts a diagnostic may name instead of a word of the statement: index
/// `FX + i` (see [`St::say`]).
const FIXED_TEXTS: [&str; 11] = [
    "",
    "{",
    "group",
    "virtual_ipaddress",
    "virtual_routes",
    "unicast_peer",
    "track_interface",
    "tandem_sync",
    "label",
    "key_file",
    "key",
];
/// The first index of [`FIXED_TEXTS`] (past every word index).
const FX: usize = 64;
/// The empty text.
const NO: usize = FX;
const OPEN: usize = FX + 1;
const GROUP: usize = FX + 2;
const VIPS: usize = FX + 3;
const ROUTES: usize = FX + 4;
const PEERS: usize = FX + 5;
const TRACK: usize = FX + 6;
const SYNC: usize = FX + 7;
const LABEL: usize = FX + 8;
const KEY_FILE: usize = FX + 9;

/// Word `i` of `words`, or a fixed text (`i >= FX`); "" past the end.
fn pick<'a>(words: &[&'a str], i: usize) -> &'a str {
    match i.checked_sub(FX) {
        Some(j) => FIXED_TEXTS.get(j).copied().unwrap_or(""),
        None => words.get(i).copied().unwrap_or(""),
    }
}

/// Severity bit of [`St::say`]'s `at`.
const WARN: usize = 1 << 16;

impl Out<'_, '_> {
    fn loc(&self) -> Loc {
        Loc {
            file: self.file_id,
            line: self.line,
        }
    }

    #[inline(never)]
    fn emit(&mut self, severity: Severity, keyword: &str, kind: K, token: &str) {
        match severity {
            Severity::Error => self.errors = self.errors.saturating_add(1),
            Severity::Warning => self.warnings = self.warnings.saturating_add(1),
        }
        (self.diag)(&Diagnostic {
            severity,
            file: self.file,
            line: self.line,
            keyword,
            kind,
            token,
            other: "",
        });
    }
}

/// One statement being read: the diagnostics sink and the statement's
/// words. Passed to the block parsers instead of the two (one argument
/// less at every one of the many diagnostic call sites).
struct St<'a, 'd, 'f, 't> {
    out: &'a mut Out<'d, 'f>,
    words: &'a [&'t str],
}

impl<'t> St<'_, '_, '_, 't> {
    fn loc(&self) -> Loc {
        self.out.loc()
    }

    /// Report `kind` about the words `at & 0xff` (keyword) and
    /// `at >> 8 & 0xff` (token) of the statement (see [`pick`]); a warning
    /// if `at & WARN`. Few arguments: diagnostics are reported from many
    /// places.
    #[inline(never)]
    fn say(&mut self, kind: &K, at: usize) {
        let severity = if at & WARN != 0 {
            Severity::Warning
        } else {
            Severity::Error
        };
        let words = self.words;
        self.out.emit(
            severity,
            pick(words, at & 0xff),
            *kind,
            pick(words, at >> 8 & 0xff),
        );
    }

    /// Error: `words[tok]` (of `words[kw]`) is not `e`.
    #[inline(always)]
    fn bad(&mut self, e: Expected, kw: usize, tok: usize) {
        self.say(&K::Expected(e), kw | tok << 8);
    }

    /// Error `kind` about `words[tok]` (of `words[kw]`).
    #[inline(always)]
    fn err(&mut self, kind: K, kw: usize, tok: usize) {
        self.say(&kind, kw | tok << 8);
    }

    /// Warning `kind` about `words[tok]` (of `words[kw]`).
    #[inline(always)]
    fn warn(&mut self, kind: K, kw: usize, tok: usize) {
        self.say(&kind, kw | tok << 8 | WARN);
    }

    /// The single value of `words[0]`; missing is an error, extra words a warning.
    #[inline(never)]
    fn one(&mut self, e: Expected) -> Option<&'t str> {
        self.none_after(2);
        let v = self.words.get(1).copied();
        if v.is_none() {
            self.bad(e, 0, 1);
        }
        v
    }

    /// A keyword that takes no value: extra words are a warning.
    fn none(&mut self) {
        self.none_after(1);
    }

    /// Warn about `words[i]` if there is one (an extra value).
    #[inline(never)]
    fn none_after(&mut self, i: usize) {
        if self.words.len() > i {
            self.warn(K::ExtraValue, 0, i);
        }
    }

    /// Warn if bit `bit` was set before in `seen`, and set it.
    #[inline(never)]
    fn once(&mut self, seen: &mut u32, bit: u32) {
        let mask = 1u32 << (bit & 31);
        if *seen & mask != 0 {
            self.warn(K::Repeated, 0, NO);
        }
        *seen |= mask;
    }

    /// An unsigned integer value in `min..=max` (missing/invalid reported).
    #[inline(never)]
    fn uint(&mut self, min: u32, max: u32) -> Option<u32> {
        let e = Expected::Integer {
            min: i64::from(min),
            max: i64::from(max),
        };
        let v = self.one(e)?;
        let n = value::uint_in(v, min, max);
        if n.is_none() {
            self.bad(e, 0, 1);
        }
        n
    }

    /// An optional `<BOOL>` (absent = true).
    #[inline(never)]
    fn opt_bool(&mut self) -> Option<bool> {
        let Some(v) = self.words.get(1) else {
            return Some(true);
        };
        self.none_after(2);
        let b = value::boolean(v);
        if b.is_none() {
            self.bad(Expected::Bool, 0, 1);
        }
        b
    }

    /// `words[i]` as an address (missing/invalid reported for `words[kw]`).
    #[inline(never)]
    fn ip(&mut self, kw: usize, i: usize, dst: &mut Option<IpAddr>) -> bool {
        match self.words.get(i).and_then(|w| value::ip(w)) {
            Some(a) => {
                *dst = Some(a);
                true
            }
            None => {
                self.bad(Expected::IpAddress, kw, i);
                false
            }
        }
    }

    /// `words[i]` as an interface name into `dst` (missing/invalid
    /// reported for `words[kw]`, `dst` then left alone).
    #[inline(never)]
    fn ifname(&mut self, kw: usize, i: usize, dst: &mut IfName) -> bool {
        let ok = value::ifname(self.words.get(i).copied().unwrap_or(""), dst);
        if !ok {
            self.bad(Expected::InterfaceName, kw, i);
        }
        ok
    }

    /// `words[i]` as a scope (missing/invalid reported for `words[kw]`).
    #[inline(never)]
    fn scope(&mut self, kw: usize, i: usize) -> Option<Scope> {
        let s = self.words.get(i).and_then(|w| value::scope(w));
        if s.is_none() {
            self.bad(Expected::Scope, kw, i);
        }
        s
    }
}

/// keepalived keywords Tandem knows but does not implement, by block. They
/// get a "not supported" warning instead of "unknown keyword".
const UNSUPPORTED_TOP: &str =
    "vrrp_script vrrp_track_file track_file vrrp_track_process track_group \
    garp_group bfd_instance virtual_server virtual_server_group static_ipaddress \
    static_routes static_rules linkbeat_interfaces interface_up_down_delays \
    net_namespace net_namespace_ipvs namespace_with_ipsets instance use_pid_dir \
    linkbeat_use_polling child_wait_time includer includem includew includeb \
    includea";

const UNSUPPORTED_GLOBAL: &str =
    "notification_email notification_email_from smtp_server smtp_helo_name \
    smtp_connect_timeout smtp_alert smtp_alert_vrrp smtp_alert_checker \
    no_email_faults enable_script_security script_user vrrp_mcast_group4 \
    vrrp_mcast_group6 default_interface vrrp_garp_lower_prio_repeat \
    vrrp_garp_lower_prio_delay vrrp_garp_interval vrrp_gna_interval vrrp_min_garp \
    vrrp_garp_extra_if vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert \
    vrrp_check_unicast_src vrrp_skip_check_adv_addr vrrp_strict vrrp_iptables \
    vrrp_ipsets nftables vrrp_priority vrrp_no_swap vrrp_rt_priority \
    vrrp_cpu_affinity vrrp_rlimit_rttime max_auto_priority dynamic_interfaces \
    lvs_id lvs_sync_daemon lvs_flush checker_priority enable_snmp_vrrp \
    enable_snmp_checker enable_snmp_rfc enable_traps enable_dbus process_names \
    vrrp_notify_fifo notify_fifo vrrp_startup_delay";

const UNSUPPORTED_GROUP: &str =
    "track_interface track_script track_file track_process track_bfd notify_master \
    notify_backup notify_fault notify_stop notify_deleted notify \
    notify_priority_changes smtp_alert global_tracking sync_group_tracking_weight";

const UNSUPPORTED_INSTANCE: &str =
    "use_vmac use_vmac_addr vmac_xmit_base use_ipvlan vrf native_ipv6 \
    dont_track_primary track_script track_file track_process track_bfd track_src_ip \
    mcast_dst_ip check_unicast_src unicast_fault_no_peer unicast_ttl \
    old_unicast_checksum garp_lower_prio_delay garp_lower_prio_repeat garp_extra_if \
    down_timer_adverts timer_expired_backup lower_prio_no_advert \
    higher_prio_send_advert auth_hmac virtual_ipaddress_excluded \
    no_virtual_ipaddress promote_secondaries virtual_rules skip_check_adv_addr \
    strict_mode debug notify_master notify_backup notify_fault notify_stop \
    notify_deleted notify notify_master_rx_lower_pri notify_priority_changes \
    smtp_alert kernel_rx_buf_size linkbeat_use_polling lvs_sync_daemon_interface";

/// A new instance with its defaults (and an empty name, filled in place).
fn new_instance() -> Instance {
    Instance {
        name: Name::new(),
        interface: IfName::new(),
        vrid: 0,
        priority: 100,
        initial_state: InitialState::Backup,
        version: Version::V2,
        family: Family::Ipv4,
        advert_int_cs: 100,
        preempt: true,
        preempt_delay_ms: 0,
        accept: true,
        auth_pass: None,
        v3_checksum_as_v2: false,
        virtual_addresses: Vec::new(),
        virtual_routes: Vec::new(),
        src_ip: None,
        unicast_peers: Vec::new(),
        track_interfaces: Vec::new(),
        garp_master_delay_s: 5,
        garp_master_repeat: 5,
        garp_master_refresh_s: 0,
        garp_master_refresh_repeat: 1,
        sync_group: None,
    }
}

/// `file` as stored in the file table: itself, or `...` and its tail.
fn shorten(file: &str) -> FileName {
    let mut s = FileName::new();
    if file.len() <= FILE_NAME_LEN {
        let _ = s.push_str(file);
        return s;
    }
    let mut start = file.len().saturating_sub(FILE_NAME_LEN - 3);
    while start < file.len() && !file.is_char_boundary(start) {
        start += 1;
    }
    let _ = s.push_str("...");
    let _ = s.push_str(file.get(start..).unwrap_or(""));
    s
}

/// The keepalived.conf parser. See the [module docs](super) for the call
/// sequence: [`Parser::new`], [`Parser::feed`] (repeatedly, following
/// includes), [`Parser::finish`].
///
/// It holds the [`Config`] under construction (about 40 KiB) plus small
/// tables (about 10 KiB); keep it off small stacks.
///
/// Laid out in this order (`repr(C)`): the small fields first, the big
/// configuration last, so that nearly every field is within the 32 KiB a
/// MIPS load or store reaches from the parser's address in one instruction.
#[derive(Debug)]
#[repr(C)]
pub struct Parser {
    errors: u32,
    warnings: u32,
    /// Blocks opened beyond [`MAX_DEPTH`] (already reported; skipped).
    overflow_depth: u32,
    pending: Option<Pending>,
    stack: Vec<Frame, MAX_DEPTH, u8>,
    global_meta: GlobalMeta,
    sync_meta: SyncMeta,
    global_version_set: bool,
    global_v3cs_set: bool,
    files: Vec<FileName, MAX_FILES, u8>,
    inst_meta: Vec<InstMeta, MAX_INSTANCES, u8>,
    group_meta: Vec<GroupMeta, MAX_SYNC_GROUPS, u8>,
    config: Config,
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
            inst_meta: Vec::new(),
            group_meta: Vec::new(),
            global_meta: GlobalMeta::default(),
            sync_meta: SyncMeta::default(),
            global_version_set: false,
            global_v3cs_set: false,
            files: Vec::new(),
            stack: Vec::new(),
            overflow_depth: 0,
            pending: None,
            errors: 0,
            warnings: 0,
        }
    }

    /// Errors reported so far.
    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// Warnings reported so far.
    pub fn warnings(&self) -> u32 {
        self.warnings
    }

    fn intern(&mut self, file: &str) -> u8 {
        let short = shorten(file);
        if let Some(i) = self.files.iter().position(|f| *f == short) {
            return i as u8;
        }
        let id = self.files.len() as u8;
        match self.files.push(short) {
            Ok(()) => id,
            Err(_) => UNKNOWN_FILE,
        }
    }

    /// Parse `text`, the contents of `file`, from `at` ([`Resume::START`] for
    /// a new file) until its end or an `include` line. Diagnostics go to
    /// `diag` as they are found. Statements (and blocks) may span included
    /// files, exactly as if the included text replaced the `include` line.
    ///
    /// `at` must come from a [`Step::Include`] for this same `text`; an
    /// out-of-range value is treated as the end of the text. *O*(length of
    /// the text).
    pub fn feed<'t>(
        &mut self,
        file: &str,
        text: &'t str,
        at: Resume,
        diag: &mut dyn FnMut(&Diagnostic<'_>),
    ) -> Step<'t> {
        let file_id = self.intern(file);
        let mut out = Out {
            diag,
            file,
            file_id,
            line: at.line,
            errors: 0,
            warnings: 0,
        };
        let mut offset = at.offset;
        let mut line_no = at.line;
        let step = loop {
            let Some(rest) = text.get(offset..) else {
                break Step::Done;
            };
            if rest.is_empty() {
                break Step::Done;
            }
            let (line, len) = match rest.bytes().position(|b| b == b'\n') {
                Some(n) => (rest.get(..n).unwrap_or(""), n + 1),
                None => (rest, rest.len()),
            };
            offset = offset.saturating_add(len);
            line_no = line_no.saturating_add(1);
            out.line = line_no;
            if let Some(pattern) = self.line(&mut out, line) {
                break Step::Include {
                    pattern,
                    line: line_no,
                    resume: Resume {
                        offset,
                        line: line_no,
                    },
                };
            }
        };
        self.errors = self.errors.saturating_add(out.errors);
        self.warnings = self.warnings.saturating_add(out.warnings);
        step
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
        let severity = if error == IncludeError::NoMatch {
            self.warnings = self.warnings.saturating_add(1);
            Severity::Warning
        } else {
            self.errors = self.errors.saturating_add(1);
            Severity::Error
        };
        diag(&Diagnostic {
            severity,
            file,
            line,
            keyword: "include",
            kind: K::Include(error),
            token: pattern,
            other: "",
        });
    }

    /// One line: returns the pattern if it is an `include` line.
    fn line<'t>(&mut self, out: &mut Out<'_, '_>, line: &'t str) -> Option<&'t str> {
        let mut toks = Tokens::new(line);
        let mut words: Vec<&'t str, MAX_WORDS> = Vec::new();
        let mut too_many = false;
        let mut first = true;
        loop {
            let tok = toks.next();
            let word = match tok {
                Some(Tok::Word(w)) => w,
                Some(Tok::Quoted(q)) => {
                    if q.contains('\\') {
                        out.emit(Severity::Warning, "", K::EscapeNotSupported, q);
                    }
                    q
                }
                Some(Tok::Unterminated(r)) => {
                    out.emit(Severity::Error, "", K::UnterminatedQuote, r);
                    r
                }
                // `{`, `}` or the end of the line ends the statement (one
                // call site for all three).
                Some(Tok::Open) | Some(Tok::Close) | None => {
                    let open = matches!(tok, Some(Tok::Open));
                    if open || !words.is_empty() || too_many {
                        self.statement(out, &words, open, too_many);
                    }
                    words.clear();
                    too_many = false;
                    match tok {
                        None => return None,
                        Some(Tok::Close) => self.close(out),
                        _ => {}
                    }
                    first = false;
                    continue;
                }
            };
            if first && matches!(tok, Some(Tok::Word("include"))) {
                return self.include(out, toks);
            }
            if words.push(word).is_err() && !too_many {
                too_many = true;
                let kw = words.first().copied().unwrap_or("");
                out.emit(Severity::Error, kw, K::TooMany(Limit::Words), word);
            }
            first = false;
        }
    }

    fn include<'t>(&mut self, out: &mut Out<'_, '_>, mut toks: Tokens<'t>) -> Option<&'t str> {
        let pattern = match toks.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) if !w.is_empty() => w,
            Some(Tok::Unterminated(r)) => {
                out.emit(Severity::Error, "include", K::UnterminatedQuote, r);
                return None;
            }
            _ => {
                out.emit(Severity::Error, "include", K::Expected(Expected::Path), "");
                return None;
            }
        };
        let extra = match toks.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) | Some(Tok::Unterminated(w)) => w,
            Some(Tok::Open) => "{",
            Some(Tok::Close) => "}",
            None => return Some(pattern),
        };
        out.emit(Severity::Warning, "include", K::ExtraValue, extra);
        Some(pattern)
    }

    /// Open `frame`; `keyword` is its header's first word (for diagnostics).
    fn push(&mut self, out: &mut Out<'_, '_>, frame: Frame, keyword: &str) {
        if self.overflow_depth > 0 || self.stack.push(frame).is_err() {
            if self.overflow_depth == 0 {
                out.emit(Severity::Error, keyword, K::TooMany(Limit::Depth), "{");
            }
            self.overflow_depth = self.overflow_depth.saturating_add(1);
        }
    }

    fn close(&mut self, out: &mut Out<'_, '_>) {
        if let Some(p) = self.pending.take() {
            if p.required {
                let loc = out.line;
                out.line = p.frame.loc.line;
                let e = K::Expected(Expected::OpenBrace);
                out.emit(Severity::Error, p.frame.block.keyword(), e, "");
                out.line = loc;
            }
        }
        if self.overflow_depth > 0 {
            self.overflow_depth -= 1;
        } else if self.stack.pop().is_none() {
            out.emit(Severity::Error, "", K::UnmatchedCloseBrace, "}");
        }
    }

    /// One statement: `words` up to a `{` (`open`), a `}` or the end of the line.
    fn statement(&mut self, out: &mut Out<'_, '_>, words: &[&str], open: bool, too_many: bool) {
        if let Some(p) = self.pending.take() {
            if words.is_empty() && open {
                self.push(out, p.frame, p.frame.block.keyword());
                return;
            }
            if p.required {
                let tok = words.first().copied().unwrap_or("{");
                let e = K::Expected(Expected::OpenBrace);
                out.emit(Severity::Error, p.frame.block.keyword(), e, tok);
            }
        }
        if words.is_empty() || too_many {
            if open {
                if !too_many {
                    out.emit(Severity::Error, "", K::UnexpectedOpenBrace, "{");
                }
                let skip = Frame {
                    block: Block::Skip,
                    loc: out.loc(),
                };
                self.push(out, skip, "");
            }
            return;
        }
        let kw = words.first().copied().unwrap_or("");
        let st = &mut St { out, words };
        let block = self.stack.last().map(|f| f.block);
        let outcome = match block {
            None => self.top(st),
            Some(Block::GlobalDefs) => self.global(st),
            Some(Block::SyncGroup(g)) => self.sync_group(st, usize::from(g)),
            Some(Block::GroupList(g)) => self.group_list(st, usize::from(g)),
            Some(
                Block::Instance(i)
                | Block::Vips(i)
                | Block::Routes(i)
                | Block::Peers(i)
                | Block::TrackIf(i)
                | Block::Auth(i),
            ) => {
                // The instance's blocks: its entries looked up once, here.
                let i = usize::from(i);
                match (self.config.instances.get_mut(i), self.inst_meta.get_mut(i)) {
                    (Some(inst), Some(meta)) => match block {
                        Some(Block::Instance(_)) => Self::instance(st, inst, meta, i),
                        Some(Block::Vips(_)) => Self::vip(st, inst, meta),
                        Some(Block::Routes(_)) => Self::route(st, inst),
                        Some(Block::Peers(_)) => Self::peer(st, inst),
                        Some(Block::TrackIf(_)) => Self::track(st, inst),
                        _ => Self::auth(st, meta),
                    },
                    _ => Outcome::Ignored,
                }
            }
            Some(Block::Sync | Block::SyncFilter) => match self.config.sync.as_mut() {
                Some(d) if block == Some(Block::Sync) => {
                    Self::sync_stmt(st, d, &mut self.sync_meta)
                }
                Some(d) => Self::sync_filter(st, &mut d.conntrack_filter),
                None => Outcome::Ignored,
            },
            Some(Block::Skip) => Outcome::Ignored,
        };
        // The block this statement opens (a skipped one if none).
        let (block, required) = match outcome {
            Outcome::Simple => {
                if !open {
                    return;
                }
                st.err(K::UnexpectedOpenBrace, 0, OPEN);
                (Block::Skip, false)
            }
            Outcome::Block(block) => (block, true),
            Outcome::Ignored => (Block::Skip, false),
        };
        let frame = Frame {
            block,
            loc: out.loc(),
        };
        if open {
            self.push(out, frame, kw);
        } else {
            self.pending = Some(Pending { frame, required });
        }
    }

    /// `words[0]` is not a keyword of this block (or one of `unsupported`).
    #[inline(never)]
    fn unknown(out: &mut St<'_, '_, '_, '_>, unsupported: &str) -> Outcome {
        let words = out.words;
        let kind = if listed(unsupported, words.first().copied().unwrap_or("")) {
            K::Unsupported
        } else {
            K::UnknownKeyword
        };
        out.warn(kind, 0, NO);
        Outcome::Ignored
    }

    #[inline(never)]
    fn top(&mut self, out: &mut St<'_, '_, '_, '_>) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        match TopKw::find(kw) {
            Some(TopKw::GlobalDefs) => {
                out.none();
                Outcome::Block(Block::GlobalDefs)
            }
            Some(TopKw::SyncGroup) => self.new_group(out),
            Some(TopKw::Instance) => self.new_instance(out),
            Some(TopKw::Sync) => self.new_sync(out),
            Some(TopKw::Version) => {
                self.global_version(out);
                Outcome::Simple
            }
            None => Self::unknown(out, UNSUPPORTED_TOP),
        }
    }

    fn global_version(&mut self, out: &mut St<'_, '_, '_, '_>) {
        out.once(&mut self.global_meta.seen, GlobalKw::Version as u32);
        if let Some(v) = out.uint(2, 3) {
            self.config.global.vrrp_version = if v == 2 { Version::V2 } else { Version::V3 };
            self.global_version_set = true;
        }
    }

    #[inline(never)]
    fn global(&mut self, out: &mut St<'_, '_, '_, '_>) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        let Some(k) = GlobalKw::find(kw) else {
            return Self::unknown(out, UNSUPPORTED_GLOBAL);
        };
        if k == GlobalKw::Version {
            self.global_version(out);
            return Outcome::Simple;
        }
        out.once(&mut self.global_meta.seen, k as u32);
        let g = &mut self.config.global;
        match k {
            GlobalKw::RouterId => {
                if let Some(v) = out.one(Expected::RouterId) {
                    // In place (an invalid value is an error: what is left
                    // then does not matter).
                    let id = g.router_id.insert(String::new());
                    if v.is_empty() || id.push_str(v).is_err() {
                        out.bad(Expected::RouterId, 0, 1);
                    }
                }
            }
            GlobalKw::V3Checksum => {
                if let Some(b) = out.opt_bool() {
                    g.v3_checksum_as_v2 = b;
                    self.global_v3cs_set = true;
                }
            }
            // `vrrp_garp_*`: one range lookup and one call.
            _ => {
                let max = match k {
                    GlobalKw::GarpDelay => u32::from(u16::MAX),
                    GlobalKw::GarpRefresh => u32::MAX,
                    _ => 255,
                };
                let min = u32::from(max == 255);
                if let Some(v) = out.uint(min, max) {
                    match k {
                        GlobalKw::GarpDelay => g.garp_master_delay_s = v as u16,
                        GlobalKw::GarpRepeat => g.garp_master_repeat = v as u8,
                        GlobalKw::GarpRefresh => g.garp_master_refresh_s = v,
                        _ => g.garp_master_refresh_repeat = v as u8,
                    }
                }
            }
        }
        Outcome::Simple
    }
    /// The name of a new block, `words[1]` (missing/invalid reported).
    #[inline(never)]
    fn block_name<'t>(out: &mut St<'_, '_, '_, 't>) -> Option<&'t str> {
        let raw = out.one(Expected::Name)?;
        if !value::name(raw) {
            out.bad(Expected::Name, 0, 1);
            return None;
        }
        Some(raw)
    }

    #[inline(never)]
    fn new_group(&mut self, out: &mut St<'_, '_, '_, '_>) -> Outcome {
        let Some(raw) = Self::block_name(out) else {
            return Outcome::Ignored;
        };
        let groups = &mut self.config.sync_groups;
        if groups.iter().any(|g| g.name == *raw) {
            out.err(K::Duplicate, 0, 1);
            return Outcome::Ignored;
        }
        let g = groups.len();
        let group = SyncGroup {
            name: Name::new(),
            members: Vec::new(),
        };
        if groups.push(group).is_err() {
            out.err(K::TooMany(Limit::SyncGroups), 0, 1);
            return Outcome::Ignored;
        }
        if let Some(group) = groups.last_mut() {
            // Valid names fit.
            let _ = group.name.push_str(raw);
        }
        let _ = self.group_meta.push(GroupMeta::default());
        Outcome::Block(Block::SyncGroup(g as u8))
    }

    #[inline(never)]
    fn sync_group(&mut self, out: &mut St<'_, '_, '_, '_>, g: usize) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        if kw == "group" {
            out.none();
            Outcome::Block(Block::GroupList(g as u8))
        } else {
            Self::unknown(out, UNSUPPORTED_GROUP)
        }
    }

    #[inline(never)]
    fn group_list(&mut self, out: &mut St<'_, '_, '_, '_>, g: usize) -> Outcome {
        let words = out.words;
        let Some(meta) = self.group_meta.get_mut(g) else {
            return Outcome::Simple;
        };
        for (i, &w) in words.iter().enumerate() {
            if !value::name(w) {
                out.bad(Expected::Name, GROUP, i);
                continue;
            }
            if meta.members.iter().any(|(n, _)| *n == *w) {
                out.err(K::Duplicate, GROUP, i);
                continue;
            }
            if meta.members.push((Name::new(), out.loc())).is_err() {
                out.err(K::TooMany(Limit::GroupMembers), GROUP, i);
            } else if let Some((n, _)) = meta.members.last_mut() {
                let _ = n.push_str(w);
            }
        }
        Outcome::Simple
    }

    #[inline(never)]
    fn new_instance(&mut self, out: &mut St<'_, '_, '_, '_>) -> Outcome {
        let Some(raw) = Self::block_name(out) else {
            return Outcome::Ignored;
        };
        let instances = &mut self.config.instances;
        if instances.iter().any(|i| i.name == *raw) {
            out.err(K::Duplicate, 0, 1);
            return Outcome::Ignored;
        }
        let i = instances.len();
        if instances.push(new_instance()).is_err() {
            out.err(K::TooMany(Limit::Instances), 0, 1);
            return Outcome::Ignored;
        }
        if let Some(inst) = instances.last_mut() {
            // Valid names fit.
            let _ = inst.name.push_str(raw);
        }
        let _ = self.inst_meta.push(InstMeta {
            loc: out.loc(),
            ..InstMeta::default()
        });
        Outcome::Block(Block::Instance(i as u8))
    }

    #[inline(never)]
    fn instance(
        out: &mut St<'_, '_, '_, '_>,
        inst: &mut Instance,
        meta: &mut InstMeta,
        i: usize,
    ) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        let Some(k) = InstKw::find(kw) else {
            return Self::unknown(out, UNSUPPORTED_INSTANCE);
        };
        if k as u32 <= InstKw::GarpRefreshRepeat as u32 {
            out.once(&mut meta.seen, k as u32);
        }
        // The unsigned-integer keywords: one range lookup and one call.
        // (`v3_checksum_as_v2` and `garp_*` go straight into `inst`: their
        // bits in `meta.seen` say they were given, see `check`; an invalid
        // value is an error, so what is left then does not matter.)
        let range = match k {
            InstKw::Vrid | InstKw::Priority | InstKw::GarpRepeat | InstKw::GarpRefreshRepeat => {
                Some((1, 255))
            }
            InstKw::GarpDelay => Some((0, u32::from(u16::MAX))),
            InstKw::GarpRefresh => Some((0, u32::MAX)),
            _ => None,
        };
        if let Some((min, max)) = range {
            if let Some(v) = out.uint(min, max) {
                match k {
                    InstKw::Vrid => inst.vrid = v as u8,
                    InstKw::Priority => inst.priority = v as u8,
                    InstKw::GarpDelay => inst.garp_master_delay_s = v as u16,
                    InstKw::GarpRepeat => inst.garp_master_repeat = v as u8,
                    InstKw::GarpRefresh => inst.garp_master_refresh_s = v,
                    _ => inst.garp_master_refresh_repeat = v as u8,
                }
            }
            return Outcome::Simple;
        }
        let block = match k {
            InstKw::State => {
                if let Some(v) = out.one(Expected::Name) {
                    inst.initial_state = if v.eq_ignore_ascii_case("MASTER") {
                        InitialState::Master
                    } else {
                        if !v.eq_ignore_ascii_case("BACKUP") {
                            out.warn(K::UnknownState, 0, 1);
                        }
                        InitialState::Backup
                    };
                }
                return Outcome::Simple;
            }
            InstKw::Interface => {
                if out.one(Expected::InterfaceName).is_some() {
                    out.ifname(0, 1, &mut inst.interface);
                }
                return Outcome::Simple;
            }
            // The two times: one path.
            InstKw::Advert | InstKw::PreemptDelay => {
                let advert = k == InstKw::Advert;
                let max = if advert { 65535 } else { 1000 };
                let e = Expected::Seconds { max };
                if let Some(v) = out.one(e) {
                    match value::seconds_micros(v, max) {
                        Some(m) if advert && m > 0 => {
                            meta.advert_micros = Some(m);
                            meta.advert_loc = out.loc();
                        }
                        Some(m) if !advert => {
                            // At most 1000 s: the microseconds fit a u32.
                            inst.preempt_delay_ms = m / 1000;
                            meta.preempt_delay_set = m > 0;
                        }
                        _ => out.bad(e, 0, 1),
                    }
                }
                return Outcome::Simple;
            }
            InstKw::Version => {
                if let Some(v) = out.one(Expected::Version) {
                    match v {
                        "2" => meta.version = Some(Version::V2),
                        "3" => meta.version = Some(Version::V3),
                        _ => out.bad(Expected::Version, 0, 1),
                    }
                    meta.version_loc = out.loc();
                }
                return Outcome::Simple;
            }
            InstKw::Preempt => {
                out.none();
                // `preempt` or `nopreempt`.
                inst.preempt = kw.len() == 7;
                return Outcome::Simple;
            }
            InstKw::Accept => {
                out.none();
                // `accept` or `no_accept`.
                inst.accept = kw.len() == 6;
                return Outcome::Simple;
            }
            InstKw::V3Checksum => {
                if let Some(b) = out.opt_bool() {
                    inst.v3_checksum_as_v2 = b;
                }
                return Outcome::Simple;
            }
            InstKw::SrcIp => {
                if out.one(Expected::IpAddress).is_some() && out.ip(0, 1, &mut inst.src_ip) {
                    meta.src_loc = out.loc();
                }
                return Outcome::Simple;
            }
            // Handled above.
            InstKw::Vrid
            | InstKw::Priority
            | InstKw::GarpDelay
            | InstKw::GarpRepeat
            | InstKw::GarpRefresh
            | InstKw::GarpRefreshRepeat => return Outcome::Simple,
            InstKw::Vips => Block::Vips(i as u8),
            InstKw::Routes => Block::Routes(i as u8),
            InstKw::Peers => Block::Peers(i as u8),
            InstKw::TrackIf => Block::TrackIf(i as u8),
            InstKw::Auth => {
                meta.auth_loc = Some(out.loc());
                Block::Auth(i as u8)
            }
        };
        // A block keyword.
        out.none();
        Outcome::Block(block)
    }

    #[inline(never)]
    fn auth(out: &mut St<'_, '_, '_, '_>, meta: &mut InstMeta) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        let Some(k) = AuthKw::find(kw) else {
            return Self::unknown(out, "");
        };
        out.once(&mut meta.seen, AUTH_SEEN + k as u32);
        match k {
            AuthKw::Type => {
                if let Some(v) = out.one(Expected::AuthType) {
                    if v.eq_ignore_ascii_case("PASS") {
                        meta.auth_type_pass = Some(true);
                    } else {
                        meta.auth_type_pass = Some(false);
                        out.bad(Expected::AuthType, 0, 1);
                    }
                }
            }
            AuthKw::Pass => {
                if let Some(v) = out.one(Expected::Password) {
                    if v.is_empty() {
                        out.bad(Expected::Password, 0, 1);
                    } else {
                        let mut pass = [0u8; AUTH_PASS_LEN];
                        for (d, s) in pass.iter_mut().zip(v.bytes()) {
                            *d = s;
                        }
                        if v.len() > AUTH_PASS_LEN {
                            out.warn(K::PasswordTruncated, 0, NO);
                        }
                        meta.auth_pass = Some(pass);
                    }
                }
            }
        }
        Outcome::Simple
    }
    #[inline(never)]
    fn vip(out: &mut St<'_, '_, '_, '_>, inst: &mut Instance, meta: &mut InstMeta) -> Outcome {
        let words = out.words;
        let first = words.first().copied().unwrap_or("");
        let mut vip = VirtualAddress {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
        };
        if !value::prefix(first, &mut vip.addr, &mut vip.prefix_len) {
            out.bad(Expected::Prefix, VIPS, 0);
            return Outcome::Simple;
        }
        let prefix_len = vip.prefix_len;
        // The address if IPv4 (`vip` is filled in while its options are read).
        let v4 = match vip.addr {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(_) => None,
        };
        let mut k = 1;
        while let Some(opt) = words.get(k).copied() {
            // `o`: the option's index, `k`: its argument's.
            let o = k;
            k += 1;
            let arg = words.get(k).copied();
            match VipOpt::find(opt) {
                Some(VipOpt::Brd) => {
                    let brd = match (v4, arg) {
                        (Some(a), Some(w)) => {
                            let mask = u32::MAX
                                .checked_shl(32 - u32::from(prefix_len))
                                .unwrap_or(0);
                            match w {
                                "+" => Some(Ipv4Addr::from(a | !mask)),
                                "-" => Some(Ipv4Addr::from(a & mask)),
                                _ => match value::ip(w) {
                                    Some(IpAddr::V4(b)) => Some(b),
                                    _ => None,
                                },
                            }
                        }
                        _ => None,
                    };
                    if brd.is_none() {
                        out.bad(Expected::Broadcast, o, k);
                        return Outcome::Simple;
                    }
                    vip.broadcast = brd;
                }
                Some(VipOpt::Dev) => {
                    if !out.ifname(o, k, vip.dev.insert(IfName::new())) {
                        return Outcome::Simple;
                    }
                }
                Some(VipOpt::Scope) => match out.scope(o, k) {
                    Some(s) => vip.scope = Some(s),
                    None => return Outcome::Simple,
                },
                Some(VipOpt::Label) => {
                    if !value::label(arg.unwrap_or(""), vip.label.insert(IfName::new())) {
                        out.bad(Expected::Label, o, k);
                        return Outcome::Simple;
                    }
                    if v4.is_none() {
                        vip.label = None;
                        out.warn(K::Unsupported, VIPS, LABEL);
                    }
                }
                Some(VipOpt::Flag) => {
                    out.warn(K::Unsupported, VIPS, o);
                    continue;
                }
                Some(VipOpt::WithArg) => out.warn(K::Unsupported, VIPS, o),
                None => {
                    out.bad(Expected::AddressOption, VIPS, o);
                    return Outcome::Simple;
                }
            }
            // Skip the argument.
            k += 1;
        }
        let family = if v4.is_some() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        match meta.family {
            Some(f) if f != family => {
                out.err(K::MixedFamilies, VIPS, 0);
                return Outcome::Simple;
            }
            _ => meta.family = Some(family),
        }
        if inst.virtual_addresses.push(vip).is_err() {
            out.err(K::TooMany(Limit::VirtualAddresses), VIPS, 0);
        }
        Outcome::Simple
    }

    #[inline(never)]
    fn route(out: &mut St<'_, '_, '_, '_>, inst: &mut Instance) -> Outcome {
        let words = out.words;
        let (kind, mut k) = match RouteTypeKw::find(words.first().copied().unwrap_or("")) {
            Some(RouteTypeKw::Blackhole) => (RouteType::Blackhole, 1),
            Some(RouteTypeKw::Unreachable) => (RouteType::Unreachable, 1),
            Some(RouteTypeKw::Prohibit) => (RouteType::Prohibit, 1),
            Some(RouteTypeKw::Unicast) => (RouteType::Unicast, 1),
            None => (RouteType::Unicast, 0),
        };
        // The index of the destination word (`default` or a prefix, then in `r.dst`).
        let mut dst_at = None;
        let mut is_default = false;
        // The indices of the words of `r.src` and `r.via` (values go straight
        // into `r`: every `IpAddr` move is a 17-byte copy on 32-bit MIPS).
        let mut src_at = NO;
        let mut via_at = NO;
        let mut r = VirtualRoute {
            kind,
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst_len: 0,
            src: None,
            via: None,
            dev: None,
            metric: None,
            table: None,
            scope: None,
            onlink: false,
        };
        while let Some(w) = words.get(k).copied() {
            // `o`: the option's index, `k`: its argument's.
            let o = k;
            k += 1;
            let arg = words.get(k).copied();
            let opt = RouteOpt::find(w);
            match opt {
                Some(RouteOpt::Src | RouteOpt::Via) => {
                    let (dst, at) = if opt == Some(RouteOpt::Src) {
                        (&mut r.src, &mut src_at)
                    } else {
                        (&mut r.via, &mut via_at)
                    };
                    if !out.ip(o, k, dst) {
                        return Outcome::Simple;
                    }
                    *at = k;
                }
                Some(RouteOpt::Dev) => {
                    if !out.ifname(o, k, r.dev.insert(IfName::new())) {
                        return Outcome::Simple;
                    }
                }
                Some(RouteOpt::Metric) => match arg.and_then(value::uint) {
                    Some(m) => r.metric = Some(m),
                    None => {
                        let e = Expected::Integer {
                            min: 0,
                            max: i64::from(u32::MAX),
                        };
                        out.bad(e, o, k);
                        return Outcome::Simple;
                    }
                },
                Some(RouteOpt::Table) => match arg.and_then(value::table) {
                    Some(t) => r.table = Some(t),
                    None => {
                        out.bad(Expected::Table, o, k);
                        return Outcome::Simple;
                    }
                },
                Some(RouteOpt::Scope) => {
                    let Some(sc) = out.scope(o, k) else {
                        return Outcome::Simple;
                    };
                    r.scope = Some(sc);
                }
                Some(RouteOpt::Onlink) => {
                    r.onlink = true;
                    continue;
                }
                Some(RouteOpt::NoTrack) => {
                    out.warn(K::Unsupported, ROUTES, o);
                    continue;
                }
                Some(RouteOpt::WithArg) => out.warn(K::Unsupported, ROUTES, o),
                None => {
                    let to = w == "to";
                    // The index of the destination word.
                    let t = if to { k } else { o };
                    let Some(target) = words.get(t).copied() else {
                        out.bad(Expected::Prefix, o, NO);
                        return Outcome::Simple;
                    };
                    if dst_at.is_some() {
                        out.bad(Expected::RouteOption, ROUTES, o);
                        return Outcome::Simple;
                    }
                    if target == "default" {
                        is_default = true;
                    } else if value::prefix(target, &mut r.dst, &mut r.dst_len) {
                    } else if to {
                        out.bad(Expected::Prefix, o, t);
                        return Outcome::Simple;
                    } else {
                        out.bad(Expected::RouteOption, ROUTES, o);
                        return Outcome::Simple;
                    }
                    dst_at = Some(t);
                    if !to {
                        continue;
                    }
                }
            }
            // Skip the argument.
            k += 1;
        }
        let Some(dst_at) = dst_at else {
            out.bad(Expected::Prefix, ROUTES, NO);
            return Outcome::Simple;
        };
        if is_default {
            // `default`: the family of the other addresses, IPv4 if none.
            if let Some(IpAddr::V6(_)) = r.src.as_ref().or(r.via.as_ref()) {
                r.dst = IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED);
            }
        }
        let family = Family::of(&r.dst);
        for (a, at) in [(&r.src, src_at), (&r.via, via_at)] {
            if a.as_ref().is_some_and(|a| Family::of(a) != family) {
                out.err(K::RouteFamily, ROUTES, at);
                return Outcome::Simple;
            }
        }
        if inst.virtual_routes.push(r).is_err() {
            out.err(K::TooMany(Limit::VirtualRoutes), ROUTES, dst_at);
        }
        Outcome::Simple
    }

    #[inline(never)]
    fn peer(out: &mut St<'_, '_, '_, '_>, inst: &mut Instance) -> Outcome {
        let words = out.words;
        let mut a = None;
        out.ip(PEERS, 0, &mut a);
        let Some(addr) = &a else {
            return Outcome::Simple;
        };
        let mut k = 1;
        while let Some(w) = words.get(k).copied() {
            if listed("min_ttl max_ttl", w) {
                out.warn(K::Unsupported, PEERS, k);
                k += 1;
            } else {
                out.warn(K::ExtraValue, PEERS, k);
            }
            k += 1;
        }
        if inst.unicast_peers.contains(addr) {
            out.err(K::Duplicate, PEERS, 0);
        } else if inst.unicast_peers.push(*addr).is_err() {
            out.err(K::TooMany(Limit::UnicastPeers), PEERS, 0);
        }
        Outcome::Simple
    }

    #[inline(never)]
    fn track(out: &mut St<'_, '_, '_, '_>, inst: &mut Instance) -> Outcome {
        let words = out.words;
        let mut t = TrackInterface {
            name: IfName::new(),
            weight: 0,
            reverse: false,
        };
        if !out.ifname(TRACK, 0, &mut t.name) {
            return Outcome::Simple;
        }
        let mut k = 1;
        while let Some(w) = words.get(k).copied() {
            let o = k;
            k += 1;
            match TrackOpt::find(w) {
                Some(TrackOpt::Weight) => {
                    match words.get(k).and_then(|a| value::int(a)) {
                        Some(v) if (-253..=253).contains(&v) => t.weight = v as i16,
                        _ => {
                            let e = Expected::Integer {
                                min: -253,
                                max: 253,
                            };
                            out.bad(e, o, k);
                            return Outcome::Simple;
                        }
                    }
                    k += 1;
                }
                Some(TrackOpt::Reverse) => t.reverse = true,
                Some(TrackOpt::NoReverse) => t.reverse = false,
                None => {
                    out.bad(Expected::TrackOption, TRACK, o);
                    return Outcome::Simple;
                }
            }
        }
        if inst.track_interfaces.iter().any(|x| x.name == t.name) {
            out.err(K::Duplicate, TRACK, 0);
        } else if inst.track_interfaces.push(t).is_err() {
            out.err(K::TooMany(Limit::TrackInterfaces), TRACK, 0);
        }
        Outcome::Simple
    }
}

// ---------------------------------------------------------------- finish

struct Sink<'d, 'f> {
    diag: &'d mut dyn FnMut(&Diagnostic<'_>),
    /// The file table, for `Loc::file`.
    files: &'f [FileName],
    errors: u32,
    warnings: u32,
}

/// The keyword of each [`Late`], `\0`-separated, in declaration order.
const LATE_KW: &str = "vrrp_instance\0vrrp_instance\0unicast_src_ip\0unicast_peer\0version\0\
    authentication\0auth_pass\0auth_type\0vrrp_instance\0nopreempt\0preempt_delay\0\
    track_interface\0vrrp_instance\0group\0group\0tandem_sync\0peer_address\0peer_address";

/// Bit `i`: [`Late`] `i` is a warning.
const LATE_WARN: u32 = 1 << Late::Ipv6NeedsV3 as u32
    | 1 << Late::AuthIgnoredV3 as u32
    | 1 << Late::NoVirtualAddresses as u32
    | 1 << Late::NopreemptWithMaster as u32
    | 1 << Late::PreemptDelayWithNopreempt as u32
    | 1 << Late::TrackOwnInterface as u32;

/// The problems found at the end (each with its fixed keyword and kind).
#[derive(Clone, Copy)]
enum Late {
    MissingInterface,
    MissingVrid,
    SrcFamily,
    PeerFamily,
    Ipv6NeedsV3,
    AuthIgnoredV3,
    NoPassword,
    NoAuthType,
    NoVirtualAddresses,
    NopreemptWithMaster,
    PreemptDelayWithNopreempt,
    TrackOwnInterface,
    DuplicateVrid,
    UnknownInstance,
    InTwoGroups,
    SyncMissing,
    PeerIsLocal,
    SyncFamily,
}

impl Sink<'_, '_> {
    /// Report `what` at `loc` about `token`.
    #[inline(never)]
    fn late(&mut self, loc: &Loc, what: Late, token: &str) {
        self.late2(loc, what, token, "");
    }

    /// Report `what` at `loc` about the address `addr`.
    #[inline(never)]
    fn late_ip(&mut self, loc: &Loc, what: Late, addr: &IpAddr) {
        let mut text: String<48> = String::new();
        let _ = write!(text, "{addr}");
        self.late2(loc, what, &text, "");
    }

    #[inline(never)]
    fn late2(&mut self, loc: &Loc, what: Late, token: &str, other: &str) {
        // Keyword and severity from tables (one match less).
        let i = what as usize;
        let keyword = LATE_KW.split('\0').nth(i).unwrap_or("");
        let severity = if LATE_WARN >> i & 1 != 0 {
            Severity::Warning
        } else {
            Severity::Error
        };
        let kind = match what {
            Late::MissingInterface => K::MissingInterface,
            Late::MissingVrid => K::MissingVrid,
            Late::SrcFamily | Late::PeerFamily => K::MixedFamilies,
            Late::Ipv6NeedsV3 => K::Ipv6NeedsV3,
            Late::AuthIgnoredV3 => K::AuthIgnoredV3,
            Late::NoPassword => K::Expected(Expected::Password),
            Late::NoAuthType => K::Expected(Expected::AuthType),
            Late::NoVirtualAddresses => K::NoVirtualAddresses,
            Late::NopreemptWithMaster => K::NopreemptWithMaster,
            Late::PreemptDelayWithNopreempt => K::PreemptDelayWithNopreempt,
            Late::TrackOwnInterface => K::TrackOwnInterface,
            Late::DuplicateVrid => K::DuplicateVrid,
            Late::UnknownInstance => K::UnknownInstance,
            Late::InTwoGroups => K::InTwoGroups,
            Late::SyncMissing => K::MissingKeyword,
            Late::PeerIsLocal => K::PeerIsLocal,
            Late::SyncFamily => K::SyncFamily,
        };
        self.emit(loc, severity, keyword, kind, token, other);
    }

    #[inline(never)]
    fn emit(
        &mut self,
        loc: &Loc,
        severity: Severity,
        keyword: &str,
        kind: K,
        token: &str,
        other: &str,
    ) {
        match severity {
            Severity::Error => self.errors = self.errors.saturating_add(1),
            Severity::Warning => self.warnings = self.warnings.saturating_add(1),
        }
        let file = self
            .files
            .get(usize::from(loc.file))
            .map(|f| f.as_str())
            .unwrap_or("?");
        (self.diag)(&Diagnostic {
            severity,
            file,
            line: loc.line,
            keyword,
            kind,
            token,
            other,
        });
    }
}

/// keepalived's rounding of the advertisement interval (vrrp.c,
/// `vrrp_complete_instance`): VRRPv2 to whole seconds 1..=255, VRRPv3 to
/// centiseconds 1..=4095. Returns centiseconds and whether it changed.
fn adjust_advert(version: Version, micros: u32) -> (u16, bool) {
    let (limit, max_cs, unit) = match version {
        Version::V2 => (256 * 1_000_000, 25500, 1_000_000),
        Version::V3 => (4096 * 10_000, 4095, 10_000),
    };
    if micros >= limit {
        return (max_cs, true);
    }
    let m = micros;
    if m % unit != 0 {
        // Round to the unit (at least one), in centiseconds.
        let units = ((m + unit / 2) / unit).max(1);
        ((units * (unit / 10_000)) as u16, true)
    } else {
        ((m / 10_000) as u16, false)
    }
}

impl Parser {
    /// End of input: check what can only be checked on the whole
    /// configuration (unclosed blocks, missing interface or VRID, address
    /// families, sync group members, duplicate VRIDs), resolve defaults
    /// (global `vrrp_version`, `v3_checksum_as_v2` and `vrrp_garp_*`; IPv6
    /// instances use version 3; advertisement interval rounding), and return
    /// the configuration if no error was reported (warnings are fine).
    pub fn finish(mut self, diag: &mut dyn FnMut(&Diagnostic<'_>)) -> Result<Config, Invalid> {
        self.finish_in_place(diag)?;
        Ok(self.config)
    }

    /// The configuration as parsed so far (complete and checked once
    /// [`Parser::finish_in_place`] returned `Ok`). After an error, fields
    /// may hold partly written or rejected values: read it only when
    /// `finish_in_place` returned `Ok`.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// [`Parser::finish`] without moving the parser: the configuration to
    /// copy or swap out, if there was no error. The parser is spent
    /// afterwards.
    pub fn finish_in_place(
        &mut self,
        diag: &mut dyn FnMut(&Diagnostic<'_>),
    ) -> Result<&mut Config, Invalid> {
        let (errors, warnings) = self.check(diag);
        if errors == 0 {
            Ok(&mut self.config)
        } else {
            Err(Invalid { errors, warnings })
        }
    }

    /// [`Parser::finish`]'s checks, in place (the parser is far too big to
    /// move onto the stack: on MIPS every access beyond 32 KiB of stack
    /// frame costs two extra instructions). Returns the error and warning
    /// totals.
    #[inline(never)]
    fn check(&mut self, diag: &mut dyn FnMut(&Diagnostic<'_>)) -> (u32, u32) {
        let Parser {
            config,
            inst_meta,
            group_meta,
            files,
            stack,
            pending,
            errors,
            warnings,
            sync_meta,
            global_version_set: _,
            global_v3cs_set: _,
            global_meta: _,
            overflow_depth: _,
        } = self;
        let Config {
            global,
            instances,
            sync_groups,
            sync,
        } = config;
        let mut s = Sink {
            diag,
            files: files.as_slice(),
            errors: *errors,
            warnings: *warnings,
        };

        if let Some(p) = pending {
            if p.required {
                s.emit(
                    &p.frame.loc,
                    Severity::Error,
                    p.frame.block.keyword(),
                    K::Expected(Expected::OpenBrace),
                    "",
                    "",
                );
            }
        }
        for f in stack.iter() {
            let kw = f.block.keyword();
            s.emit(&f.loc, Severity::Error, kw, K::UnclosedBlock, "", "");
        }

        for (inst, meta) in instances.iter_mut().zip(inst_meta.iter()) {
            let name = inst.name.as_str();
            let loc = &meta.loc;
            if inst.interface.is_empty() {
                s.late(loc, Late::MissingInterface, name);
            }
            if inst.vrid == 0 {
                s.late(loc, Late::MissingVrid, name);
            }
            // Address family: virtual addresses, else source, else peers, else IPv4.
            let family = meta
                .family
                .or(inst.src_ip.as_ref().map(Family::of))
                .or(inst.unicast_peers.first().map(Family::of))
                .unwrap_or(Family::Ipv4);
            inst.family = family;
            if let Some(src) = &inst.src_ip {
                if Family::of(src) != family {
                    s.late_ip(&meta.src_loc, Late::SrcFamily, src);
                }
            }
            for p in inst.unicast_peers.iter() {
                if Family::of(p) != family {
                    s.late_ip(loc, Late::PeerFamily, p);
                }
            }
            // Version: explicit, else global; IPv6 always 3.
            let mut version = meta.version.unwrap_or(global.vrrp_version);
            if family == Family::Ipv6 && version == Version::V2 {
                if meta.version == Some(Version::V2) {
                    s.late(&meta.version_loc, Late::Ipv6NeedsV3, name);
                }
                version = Version::V3;
            }
            inst.version = version;
            let micros = meta.advert_micros.unwrap_or(1_000_000);
            let (cs, changed) = adjust_advert(version, micros);
            inst.advert_int_cs = cs;
            if changed {
                s.emit(
                    &meta.advert_loc,
                    Severity::Warning,
                    "advert_int",
                    K::AdvertIntAdjusted { centis: cs },
                    "",
                    "",
                );
            }
            if let Some(auth_loc) = &meta.auth_loc {
                if version == Version::V3 {
                    s.late(auth_loc, Late::AuthIgnoredV3, name);
                } else {
                    match (meta.auth_type_pass, meta.auth_pass) {
                        (Some(true), Some(p)) => inst.auth_pass = Some(p),
                        (Some(true), None) => s.late(auth_loc, Late::NoPassword, ""),
                        (None, _) => s.late(auth_loc, Late::NoAuthType, ""),
                        // AH: already reported.
                        (Some(false), _) => {}
                    }
                }
            }
            if inst.virtual_addresses.is_empty() {
                s.late(loc, Late::NoVirtualAddresses, name);
            }
            if !inst.preempt {
                if inst.initial_state == InitialState::Master {
                    s.late(loc, Late::NopreemptWithMaster, name);
                }
                if meta.preempt_delay_set {
                    s.late(loc, Late::PreemptDelayWithNopreempt, name);
                    inst.preempt_delay_ms = 0;
                }
            }
            if let Some(pos) = inst
                .track_interfaces
                .iter()
                .position(|t| t.name == inst.interface)
            {
                s.late(loc, Late::TrackOwnInterface, inst.interface.as_str());
                inst.track_interfaces.remove(pos);
            }
            // The global values where the instance gave none.
            let given = |k: InstKw| meta.seen >> k as u32 & 1 != 0;
            if !given(InstKw::V3Checksum) {
                inst.v3_checksum_as_v2 = global.v3_checksum_as_v2;
            }
            if !given(InstKw::GarpDelay) {
                inst.garp_master_delay_s = global.garp_master_delay_s;
            }
            if !given(InstKw::GarpRepeat) {
                inst.garp_master_repeat = global.garp_master_repeat;
            }
            if !given(InstKw::GarpRefresh) {
                inst.garp_master_refresh_s = global.garp_master_refresh_s;
            }
            if !given(InstKw::GarpRefreshRepeat) {
                inst.garp_master_refresh_repeat = global.garp_master_refresh_repeat;
            }
        }

        // Two instances on one interface with one VRID and family would share
        // adverts (unless both are unicast to disjoint peers).
        let all = instances.as_slice();
        for (b, ib) in all.iter().enumerate() {
            for ia in all.iter().take(b) {
                let clash = ia.vrid != 0
                    && ia.vrid == ib.vrid
                    && !ia.interface.is_empty()
                    && ia.interface == ib.interface
                    && ia.family == ib.family
                    && !(ia.is_unicast()
                        && ib.is_unicast()
                        && ia
                            .unicast_peers
                            .iter()
                            .all(|p| !ib.unicast_peers.contains(p)));
                if clash {
                    let loc = inst_meta.get(b).map(|m| m.loc).unwrap_or_default();
                    s.late2(&loc, Late::DuplicateVrid, &ib.name, &ia.name);
                    break;
                }
            }
        }

        // Sync group members.
        for (g, meta) in group_meta.iter().enumerate() {
            for (member, loc) in meta.members.iter() {
                let found = instances.iter().position(|i| i.name == *member);
                let group_name = sync_groups.get(g).map(|x| x.name.as_str()).unwrap_or("");
                match found {
                    None => s.late2(loc, Late::UnknownInstance, member, group_name),
                    Some(ix) => {
                        let prev = instances.get(ix).and_then(|i| i.sync_group);
                        if let Some(pg) = prev {
                            let other = sync_groups
                                .get(usize::from(pg))
                                .map(|x| x.name.as_str())
                                .unwrap_or("");
                            s.late2(loc, Late::InTwoGroups, member, other);
                        } else {
                            if let Some(i) = instances.get_mut(ix) {
                                i.sync_group = Some(g as u8);
                            }
                            if let Some(grp) = sync_groups.get_mut(g) {
                                let _ = grp.members.push(ix as u8);
                            }
                        }
                    }
                }
            }
        }

        finish_sync(&mut s, sync_meta, sync);
        // The totals include the final checks from now on.
        (*errors, *warnings) = (s.errors, s.warnings);
        (s.errors, s.warnings)
    }
}
