//! The `tandem_sync { }` block (conntrack and lease sync channel) and its
//! `conntrack_filter { }`.

use core::net::{IpAddr, Ipv4Addr};

use super::super::diag::{DiagnosticKind as K, Expected, Limit};
use super::super::kw::{FilterKw, SyncKw};
use super::super::types::*;
use super::super::value;
use super::{Block, Late, Outcome, Parser, Sink, St, SyncMeta, KEY_FILE, NO, SYNC};

/// Protocol names `conntrack_filter { protocol ... }` knows.
const PROTOCOLS: [(&str, u8); 10] = [
    ("tcp", 6),
    ("udp", 17),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("sctp", 132),
    ("dccp", 33),
    ("udplite", 136),
    ("gre", 47),
    ("esp", 50),
];

/// A protocol name (any case) or number.
fn protocol(word: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(word))
        .map(|(_, p)| *p)
        .or_else(|| value::uint_in(word, 0, 255).map(|v| v as u8))
}

/// A file name into `dst` (in place: no `Path` moved around): whether
/// `word` is one (1..=PATH_LEN bytes, no control characters).
#[inline(never)]
fn path(word: &str, dst: &mut Path) -> bool {
    dst.clear();
    !word.is_empty() && !word.chars().any(|c| c.is_control()) && dst.push_str(word).is_ok()
}

/// 64 hex digits into `key`: whether `word` is that.
fn hex_key(word: &str, key: &mut [u8; SYNC_KEY_LEN]) -> bool {
    let b = word.as_bytes();
    if b.len() != 2 * SYNC_KEY_LEN {
        return false;
    }
    for (k, pair) in key.iter_mut().zip(b.chunks_exact(2)) {
        let mut v = 0;
        for &c in pair {
            let Some(d) = char::from(c).to_digit(16) else {
                return false;
            };
            v = v << 4 | d;
        }
        *k = v as u8;
    }
    true
}

impl Parser {
    #[inline(never)]
    pub(super) fn new_sync(&mut self, out: &mut St<'_, '_, '_, '_>) -> Outcome {
        out.none();
        if self.config.sync.is_some() {
            out.err(K::Duplicate, SYNC, SYNC);
            return Outcome::Ignored;
        }
        self.sync_meta = SyncMeta {
            loc: out.loc(),
            ..SyncMeta::default()
        };
        self.config.sync = Some(SyncConfig {
            interface: None,
            local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            peer_addresses: heapless::Vec::new(),
            port: DEFAULT_SYNC_PORT,
            key: SyncKey::File(Path::new()),
            conntrack_capacity: DEFAULT_CONNTRACK_CAPACITY,
            conntrack_filter: ConntrackFilter::default(),
            lease_file: None,
            lease_capacity: DEFAULT_LEASE_CAPACITY,
            dhcp_master_command: None,
            dhcp_backup_command: None,
        });
        Outcome::Block(Block::Sync)
    }

    #[inline(never)]
    pub(super) fn sync_stmt(
        out: &mut St<'_, '_, '_, '_>,
        d: &mut SyncConfig,
        m: &mut SyncMeta,
    ) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        let Some(k) = SyncKw::find(kw) else {
            return Self::unknown(out, "");
        };
        if k as u32 <= SyncKw::BackupCmd as u32 {
            out.once(&mut m.seen, k as u32);
        }
        // The keywords with one value: it is read here, once.
        let e = match k {
            SyncKw::Interface => Some(Expected::InterfaceName),
            SyncKw::Local | SyncKw::Peer => Some(Expected::IpAddress),
            SyncKw::KeyFile | SyncKw::LeaseFile => Some(Expected::FileName),
            SyncKw::Key => Some(Expected::HexKey),
            _ => None,
        };
        let mut v = "";
        if let Some(e) = e {
            match out.one(e) {
                Some(w) => v = w,
                None => return Outcome::Simple,
            }
        }
        match k {
            SyncKw::Interface => {
                // (An invalid name is an error: what is left does not matter.)
                out.ifname(0, 1, d.interface.insert(IfName::new()));
            }
            SyncKw::Local | SyncKw::Peer => {
                let mut a = None;
                out.ip(0, 1, &mut a);
                match &a {
                    None => {}
                    Some(ip) if k == SyncKw::Local => {
                        d.local_address = *ip;
                        m.local_set = true;
                    }
                    Some(ip) if d.peer_addresses.contains(ip) => out.err(K::Duplicate, 0, 1),
                    Some(ip) => {
                        let n = d.peer_addresses.len();
                        if d.peer_addresses.push(*ip).is_err() {
                            out.err(K::TooMany(Limit::SyncPeers), 0, 1);
                        } else if let Some(l) = m.peer_locs.get_mut(n) {
                            *l = out.loc();
                        }
                    }
                }
            }
            SyncKw::Port => {
                if let Some(v) = out.uint(1, u32::from(u16::MAX)) {
                    d.port = v as u16;
                }
            }
            SyncKw::KeyFile | SyncKw::Key => {
                let inline = k == SyncKw::Key;
                // Parsed in place: an invalid value or a conflict is an
                // error, so what is left in `d.key` then does not matter.
                d.key = if inline {
                    SyncKey::Inline([0; SYNC_KEY_LEN])
                } else {
                    SyncKey::File(Path::new())
                };
                let ok = match &mut d.key {
                    SyncKey::Inline(k) => hex_key(v, k),
                    SyncKey::File(p) => path(v, p),
                };
                if !ok {
                    let e = if inline {
                        Expected::HexKey
                    } else {
                        Expected::FileName
                    };
                    out.bad(e, 0, 1);
                    return Outcome::Simple;
                }
                let from = 1 + u8::from(inline);
                if m.key_from != 0 && m.key_from != from {
                    let prev = if inline { KEY_FILE } else { KEY_FILE + 1 };
                    out.err(K::Conflict, 0, prev);
                } else {
                    if m.key_from != 0 {
                        out.warn(K::Repeated, 0, NO);
                    }
                    m.key_from = from;
                }
            }
            SyncKw::Capacity => {
                if let Some(v) = out.uint(1, MAX_CONNTRACK_CAPACITY) {
                    d.conntrack_capacity = v;
                }
            }
            SyncKw::Filter => {
                out.none();
                return Outcome::Block(Block::SyncFilter);
            }
            SyncKw::LeaseFile => {
                if !path(v, d.lease_file.insert(Path::new())) {
                    out.bad(Expected::FileName, 0, 1);
                }
            }
            SyncKw::LeaseCapacity => {
                if let Some(v) = out.uint(1, MAX_LEASE_CAPACITY) {
                    d.lease_capacity = v;
                }
            }
            SyncKw::MasterCmd | SyncKw::BackupCmd => {
                let slot = if k == SyncKw::MasterCmd {
                    &mut d.dhcp_master_command
                } else {
                    &mut d.dhcp_backup_command
                };
                // The rest of the line, words joined by single spaces
                // (quote it to keep other spacing). Built in place: an
                // invalid command is an error, what is left does not matter.
                let rest = words.get(1..).unwrap_or(&[]);
                let cmd = slot.insert(Command::new());
                let mut fits = true;
                for (i, w) in rest.iter().enumerate() {
                    if i > 0 {
                        fits &= cmd.push(' ').is_ok();
                    }
                    fits &= cmd.push_str(w).is_ok();
                }
                if cmd.trim().is_empty() || !fits || cmd.chars().any(|c| c.is_control()) {
                    out.bad(Expected::Command, 0, 1);
                }
            }
        }
        Outcome::Simple
    }

    #[inline(never)]
    pub(super) fn sync_filter(out: &mut St<'_, '_, '_, '_>, f: &mut ConntrackFilter) -> Outcome {
        let words = out.words;
        let kw = words.first().copied().unwrap_or("");
        let Some(k) = FilterKw::find(kw) else {
            return Self::unknown(out, "");
        };
        // One loop for both lists: each value is added once.
        let proto = k == FilterKw::Protocol;
        let e = if proto {
            Expected::Protocol
        } else {
            Expected::Prefix
        };
        if words.len() < 2 {
            out.bad(e, 0, 1);
        }
        for i in 1..words.len() {
            let w = words.get(i).copied().unwrap_or("");
            let full = if proto {
                match protocol(w) {
                    None => None,
                    Some(p) if f.protocols.contains(&p) => Some(false),
                    Some(p) => Some(f.protocols.push(p).is_err()),
                }
            } else {
                let mut item = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
                if !value::prefix(w, &mut item.0, &mut item.1) {
                    None
                } else if f.ignore.contains(&item) {
                    Some(false)
                } else {
                    Some(f.ignore.push(item).is_err())
                }
            };
            match full {
                None => out.bad(e, 0, i),
                Some(false) => {}
                Some(true) => {
                    let l = if proto {
                        Limit::SyncProtocols
                    } else {
                        Limit::IgnoredAddresses
                    };
                    out.err(K::TooMany(l), 0, i);
                }
            }
        }
        Outcome::Simple
    }
}

/// End-of-input checks of `tandem_sync { }`: required keywords and address
/// families. Drops the block unless it is complete.
pub(super) fn finish_sync(s: &mut Sink<'_, '_>, m: &SyncMeta, sync: &mut Option<SyncConfig>) {
    let Some(d) = sync.as_ref() else {
        return;
    };
    if !m.local_set {
        s.late(&m.loc, Late::SyncMissing, "local_address");
    }
    if d.peer_addresses.is_empty() {
        s.late(&m.loc, Late::SyncMissing, "peer_address");
    }
    if m.key_from == 0 {
        s.late(&m.loc, Late::SyncMissing, "key_file or key");
    }
    let l = &d.local_address;
    for (p, loc) in d.peer_addresses.iter().zip(m.peer_locs.iter()) {
        if m.local_set {
            if l == p {
                s.late_ip(loc, Late::PeerIsLocal, p);
            } else if l.is_ipv4() != p.is_ipv4() {
                s.late_ip(loc, Late::SyncFamily, p);
            }
        }
    }
    if !m.local_set || m.key_from == 0 || d.peer_addresses.is_empty() {
        *sync = None;
    }
}
