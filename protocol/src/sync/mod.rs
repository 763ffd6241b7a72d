//! The Tandem sync frame: conntrack entries (and, later, DHCP leases)
//! between the routers of a group, over UDP, authenticated.
//!
//! # Frame layout
//!
//! ```text
//!  0      2   3   4          8          12         16         20        len-16     len
//! +------+---+---+----------+----------+----------+----------+----- ... -----+-----------+
//! |magic |ver|flg| sender   | epoch    | seq      | ack      | body          | tag (MAC) |
//! |"TS"  | 1 | 0 | u32 BE   | u32 BE   | u32 BE   | u32 BE   | records       | 16 octets |
//! +------+---+---+----------+----------+----------+----------+----- ... -----+-----------+
//! ```
//!
//! - `sender`: the sending router's id (the port derives it from its local
//!   sync address); a router drops frames carrying its own id.
//! - `epoch`: grows with every restart of the sender (and when `seq` is
//!   exhausted). A receiver remembers the highest epoch per peer and drops
//!   frames from older epochs ([`Error::OldEpoch`]).
//! - `seq`: the frame's number within the epoch, starting at 1, growing by
//!   one per frame sent (to any peer). A receiver keeps a sliding window of
//!   the last [`REPLAY_WINDOW`] numbers ([`ReplayWindow`]): a number seen
//!   before is [`Error::Duplicate`], one older than the window
//!   [`Error::TooOld`]. Reordering within the window is tolerated.
//! - `ack`: the next *stream* sequence number the sender expects from the
//!   receiver of this frame (cumulative acknowledgement of reliable
//!   records, see below); 0 when it has none.
//! - `tag`: keyed BLAKE2s-128 over everything before it (header and body),
//!   see [`Key`].
//!
//! # Body
//!
//! A sequence of [`Record`]s up to the end of the body, each one
//! postcard-encoded (a varint tag, then its fields; integers as varints).
//! Reliable records (conntrack new/update/destroy, resync begin/end, and
//! later lease records) are numbered on the sender's *stream*: a
//! [`Record::Seq`] gives the number of the next reliable record, and each
//! reliable record after it takes the next number. The receiver applies
//! them in order, acknowledges them in the header's `ack` and asks for
//! missing ones with [`Record::Nack`] (go-back-N: the sender resends from
//! there).
//!
//! Conntrack entries are compact (see [`Record::CtNew`]): a flags varint
//! (family, protocol class, which optional parts follow), addresses as raw
//! octets, ports as two octets, status XOR the usual bits as a varint,
//! the timeout as a varint, NAT as a delta from the original tuple — and a
//! source-NAT address equal to the previous one *in the same frame* is a
//! one-bit back reference (masquerade: every entry shares the WAN address).
//! The encoding context is per frame, so frames decode independently.
//!
//! # Use
//!
//! Sending: [`FrameWriter::new`] with the header, [`FrameWriter::push`]
//! records until it reports [`PushError::Full`], then
//! [`FrameWriter::finish`] computes the tag. Receiving:
//! [`Frame::new_checked`], [`Frame::verify`], then the caller's
//! [`ReplayWindow::check`] for the peer, [`Frame::records`] to iterate, and
//! [`ReplayWindow::accept`] once the frame was taken.
//! [`open`] does the first two steps.
//!
//! # Guarantees
//!
//! No allocation; nothing panics on any input: every malformed frame is a
//! typed [`Error`]. After [`Frame::new_checked`] no accessor panics.
//!
//! # Leases
//!
//! Lease add/change/delete (issue 5) are three more reliable records
//! ([`Record::LeaseAdd`], wire tags 9, 10, 11) on the same stream, encoded
//! as [`crate::lease::Lease::encode`]; the DHCP server's DUID travels as
//! [`Record::LeaseDuid`] (wire tag 12, reliable: a length octet and the
//! octets). A new kind is one more variant at
//! the end of [`Record`]: older decoders reject it as
//! [`Error::UnknownRecord`].

mod blake2s;
mod body;
mod frame;
#[cfg(test)]
mod tests;

use core::fmt;

pub use body::{FrameWriter, PushError, Record, Records, MAX_RECORD_LEN};
pub use frame::{open, Frame, Freshness, Header, Key, ReplayWindow};

/// The first two octets of every frame: `"TS"`.
pub const MAGIC: u16 = 0x5453;
/// The frame format version this module speaks.
pub const VERSION: u8 = 1;
/// Octets before the body.
pub const HEADER_LEN: usize = 20;
/// Octets of the MAC tag at the end of the frame.
pub const TAG_LEN: usize = 16;
/// Octets of a frame that are not body: header and tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The smallest frame buffer [`FrameWriter::new`] accepts: room for the
/// overhead and one record of any kind.
pub const MIN_FRAME_LEN: usize = OVERHEAD + MAX_RECORD_LEN;
/// Shortest accepted pre-shared key, in octets.
pub const MIN_KEY_LEN: usize = 32;
/// Frame numbers a [`ReplayWindow`] remembers below the highest one seen.
pub const REPLAY_WINDOW: u32 = 64;

/// Why a frame was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Shorter than a header and a tag.
    Truncated,
    /// The first two octets are not [`MAGIC`].
    BadMagic,
    /// A format version this module does not speak.
    BadVersion,
    /// The reserved flags octet is not zero.
    BadFlags,
    /// The MAC tag does not match: wrong key, or the frame was altered.
    BadMac,
    /// The frame's epoch is older than one already seen from this peer
    /// (a replay from before the peer's restart).
    OldEpoch,
    /// The frame's number was already seen in this epoch (replay or
    /// network duplicate).
    Duplicate,
    /// The frame's number is older than the replay window.
    TooOld,
    /// A record could not be decoded (truncated, bad field, bad flags).
    Malformed,
    /// A record kind this module does not know.
    UnknownRecord,
    /// A reliable record with no [`Record::Seq`] before it in the frame.
    MissingSeq,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "frame shorter than header and tag",
            Error::BadMagic => "not a Tandem sync frame (bad magic)",
            Error::BadVersion => "unsupported sync frame version",
            Error::BadFlags => "reserved flags set",
            Error::BadMac => "bad MAC (wrong key or altered frame)",
            Error::OldEpoch => "frame from an older epoch of the peer",
            Error::Duplicate => "frame number already seen (replay or duplicate)",
            Error::TooOld => "frame number older than the replay window",
            Error::Malformed => "malformed record",
            Error::UnknownRecord => "unknown record kind",
            Error::MissingSeq => "reliable record without a sequence number",
        })
    }
}

impl core::error::Error for Error {}

/// Why a key was refused by [`Key::new`] or [`Key::from_hex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_LEN`] octets.
    TooShort,
    /// Not an even number of hexadecimal digits.
    BadHex,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::TooShort => "sync key shorter than 32 octets",
            KeyError::BadHex => "sync key is not hexadecimal",
        })
    }
}

impl core::error::Error for KeyError {}

/// `a` comes after `b` in sequence-number (RFC 1982 style, 32-bit) order.
pub const fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}
