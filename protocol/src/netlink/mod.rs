//! Netlink (RFC 3549, `linux/netlink.h`): the message header, attributes
//! (NLAs) and error/ack messages shared by every netlink family, plus
//! [`route`] (rtnetlink: links, addresses, routes) and [`ct`] (ctnetlink:
//! connection-tracking entries).
//!
//! This layer knows nothing about a particular family, so ctnetlink
//! (`NETLINK_NETFILTER`) can reuse it: [`Packet`] is a checked view of one
//! `nlmsghdr` and its payload, [`Messages`] walks the several messages one
//! `recv()` returns, [`Nlas`] walks attributes (nested ones too: call
//! [`Nlas::new`] on [`Nla::value`]) and [`MessageBuilder`] writes a request
//! into a caller-provided buffer.
//!
//! # Byte order
//! Netlink headers and rtnetlink attributes are in the *host's* byte order
//! (the kernel and the daemon share a CPU); this module reads and writes them
//! with `from_ne_bytes`/`to_ne_bytes`. Attributes flagged
//! [`NLA_F_NET_BYTEORDER`] (ctnetlink) are big-endian; their users decode
//! [`Nla::value`] themselves.
//!
//! # Panics
//! Nothing here panics on any input. Parsing goes through
//! [`Packet::new_checked`] and [`Nlas`], which report a typed [`Error`]
//! for every inconsistency; after `new_checked` succeeds no accessor panics.
//! Builders return [`Error::BufferTooSmall`] instead of writing past the end.
//!
//! ```
//! use tandem_protocol::netlink::{Messages, route::{self, Message}};
//! // An NLMSG_ERROR acknowledging request 7 (error 0), as recv() returns it.
//! // Netlink is in host byte order, so the example builds its bytes with
//! // to_ne_bytes (it holds on big-endian MIPS routers too).
//! let mut bytes = [0u8; 36];
//! bytes[0..4].copy_from_slice(&36u32.to_ne_bytes()); // length
//! bytes[4..6].copy_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
//! bytes[6..8].copy_from_slice(&0x100u16.to_ne_bytes()); // NLM_F_CAPPED
//! bytes[8..12].copy_from_slice(&7u32.to_ne_bytes()); // sequence number 7
//! bytes[12..16].copy_from_slice(&153u32.to_ne_bytes()); // port 153
//! // bytes[16..20]: error 0, an ack; then the request's header: RTM_NEWADDR
//! bytes[20..24].copy_from_slice(&32u32.to_ne_bytes());
//! bytes[24..26].copy_from_slice(&0x14u16.to_ne_bytes());
//! bytes[26..28].copy_from_slice(&0x0605u16.to_ne_bytes());
//! bytes[28..32].copy_from_slice(&7u32.to_ne_bytes());
//! bytes[32..36].copy_from_slice(&153u32.to_ne_bytes());
//! let mut messages = Messages::new(&bytes[..]);
//! let packet = messages.next().unwrap().unwrap();
//! match Message::parse(&packet).unwrap() {
//!     Message::Error(e) => {
//!         assert!(e.is_ack());
//!         assert_eq!(e.seq, 7);
//!     }
//!     _ => unreachable!(),
//! }
//! assert!(messages.next().is_none());
//! ```

use core::fmt;

pub mod ct;
pub mod route;

#[cfg(all(test, target_endian = "little"))]
mod tests;

/// Netlink protocol number of rtnetlink (`socket(AF_NETLINK, _, NETLINK_ROUTE)`).
pub const NETLINK_ROUTE: i32 = 0;
/// Netlink protocol number of netfilter (ctnetlink).
pub const NETLINK_NETFILTER: i32 = 12;

/// Message type: nothing, to be ignored.
pub const NLMSG_NOOP: u16 = 1;
/// Message type: error or acknowledgement (`struct nlmsgerr`).
pub const NLMSG_ERROR: u16 = 2;
/// Message type: end of a multipart (dump) reply.
pub const NLMSG_DONE: u16 = 3;
/// Message type: data lost.
pub const NLMSG_OVERRUN: u16 = 4;
/// Message types below this value are control messages, not family messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// Flag: this is a request.
pub const NLM_F_REQUEST: u16 = 0x01;
/// Flag: part of a multipart reply, terminated by [`NLMSG_DONE`].
pub const NLM_F_MULTI: u16 = 0x02;
/// Flag: reply with an acknowledgement ([`NLMSG_ERROR`] with error 0).
pub const NLM_F_ACK: u16 = 0x04;
/// Flag: echo this request to the sender's multicast groups.
pub const NLM_F_ECHO: u16 = 0x08;
/// Flag: the dump was inconsistent because the table changed meanwhile.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// GET flag: return the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// GET flag: return every matching entry.
pub const NLM_F_MATCH: u16 = 0x200;
/// GET flag: dump ([`NLM_F_ROOT`] | [`NLM_F_MATCH`]).
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// NEW flag: replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// NEW flag: fail with `EEXIST` if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// NEW flag: create the object if it does not exist.
pub const NLM_F_CREATE: u16 = 0x400;
/// NEW flag: append to the end of a list.
pub const NLM_F_APPEND: u16 = 0x800;
/// [`NLMSG_ERROR`] flag: the echoed request is only its header.
pub const NLM_F_CAPPED: u16 = 0x100;
/// [`NLMSG_ERROR`] flag: extended-ack attributes follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// Attribute type flag: the value is a list of nested attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Attribute type flag: the value is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// Mask for the attribute type without the two flags above.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Extended ack attribute: a NUL-terminated error message from the kernel.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

/// Length of `struct nlmsghdr`.
pub const HEADER_LEN: usize = field::PORT.end;
/// Length of an attribute header (`struct nlattr`).
pub const NLA_HEADER_LEN: usize = 4;
/// Length of the payload of an [`NLMSG_ERROR`] before the echoed request
/// (`int error`).
pub const ERROR_CODE_LEN: usize = 4;

/// Round `len` up to netlink's 4-octet alignment (`NLMSG_ALIGN`, `NLA_ALIGN`).
///
/// Saturates instead of overflowing, so it never panics.
pub const fn align(len: usize) -> usize {
    match len.checked_add(3) {
        Some(n) => n & !3,
        None => usize::MAX & !3,
    }
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const LENGTH: Field = 0..4;
    pub const TYPE: Field = 4..6;
    pub const FLAGS: Field = 6..8;
    pub const SEQ: Field = 8..12;
    pub const PORT: Field = 12..16;
}

/// What was wrong with a netlink message, or why one could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// Fewer octets than a message header (16) where a message should start.
    Truncated,
    /// The header's length field is smaller than the header itself.
    LengthTooSmall,
    /// The header's length field reaches past the end of the buffer.
    LengthBeyondBuffer,
    /// The payload is shorter than the fixed header of its message type
    /// (`ifinfomsg`, `ifaddrmsg`, `nlmsgerr`...).
    PayloadTooShort,
    /// Fewer than 4 octets (an attribute header) left for an attribute.
    NlaTruncated,
    /// An attribute's length field is smaller than its 4-octet header.
    NlaLengthTooSmall,
    /// An attribute's length field reaches past the end of its enclosing
    /// message or attribute.
    NlaBeyondEnd,
    /// An attribute's value has the wrong size for its type.
    BadAttributeLength {
        /// The attribute type (without flags).
        kind: u16,
    },
    /// A string attribute is not NUL-terminated or not UTF-8.
    BadString {
        /// The attribute type (without flags).
        kind: u16,
    },
    /// Building: the caller's buffer is too small for the message.
    BufferTooSmall,
    /// Building: a message or attribute would exceed the 16-bit or 32-bit
    /// length fields of netlink.
    TooLong,
    /// Building: addresses of different families in one request.
    FamilyMismatch,
    /// Building: a prefix length longer than the address (32 or 128).
    PrefixTooLong,
    /// Building: an interface label that is empty, contains NUL, or is longer
    /// than 15 octets (`IFNAMSIZ` - 1).
    BadLabel,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("netlink message shorter than its 16-octet header"),
            Error::LengthTooSmall => f.write_str("netlink length field smaller than the header"),
            Error::LengthBeyondBuffer => {
                f.write_str("netlink length field beyond the end of the buffer")
            }
            Error::PayloadTooShort => {
                f.write_str("netlink payload shorter than its fixed family header")
            }
            Error::NlaTruncated => f.write_str("netlink attribute header truncated"),
            Error::NlaLengthTooSmall => {
                f.write_str("netlink attribute length smaller than its header")
            }
            Error::NlaBeyondEnd => f.write_str("netlink attribute beyond the end of its message"),
            Error::BadAttributeLength { kind } => {
                write!(f, "netlink attribute {kind} has the wrong length")
            }
            Error::BadString { kind } => {
                write!(
                    f,
                    "netlink attribute {kind} is not a NUL-terminated UTF-8 string"
                )
            }
            Error::BufferTooSmall => f.write_str("buffer too small for the netlink message"),
            Error::TooLong => f.write_str("netlink message or attribute too long"),
            Error::FamilyMismatch => f.write_str("addresses of different families in one request"),
            Error::PrefixTooLong => f.write_str("prefix length longer than the address"),
            Error::BadLabel => f.write_str("interface label empty, too long or containing NUL"),
        }
    }
}

impl core::error::Error for Error {}

/// A zero-copy view of one netlink message: `struct nlmsghdr` and its payload.
///
/// Use [`Packet::new_checked`] on received bytes; the buffer may be longer
/// than the message (the rest is ignored, see [`Packet::total_len`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it (for emission).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Packet::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check that the buffer holds a header and that the length field lies
    /// between the header length and the buffer length.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::LengthTooSmall`] or
    /// [`Error::LengthBeyondBuffer`].
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let declared = self.length() as usize;
        if declared < HEADER_LEN {
            Err(Error::LengthTooSmall)
        } else if declared > len {
            Err(Error::LengthBeyondBuffer)
        } else {
            Ok(())
        }
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, f: field::Field) -> u16 {
        // One bounds check for the field, none per octet.
        let b = &self.buffer.as_ref()[f.start..][..2];
        u16::from_ne_bytes([b[0], b[1]])
    }

    fn u32_at(&self, f: field::Field) -> u32 {
        let b = &self.buffer.as_ref()[f.start..][..4];
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }

    /// `nlmsg_len`: length of the message including the header.
    pub fn length(&self) -> u32 {
        self.u32_at(field::LENGTH)
    }

    /// `nlmsg_type`: [`NLMSG_ERROR`], [`NLMSG_DONE`], `RTM_NEWLINK`...
    pub fn message_type(&self) -> u16 {
        self.u16_at(field::TYPE)
    }

    /// `nlmsg_flags`: `NLM_F_*`.
    pub fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS)
    }

    /// `nlmsg_seq`: the request's sequence number (0 for multicast events).
    pub fn sequence_number(&self) -> u32 {
        self.u32_at(field::SEQ)
    }

    /// `nlmsg_pid`: the sender's port id (0 from the kernel, and in requests).
    pub fn port_number(&self) -> u32 {
        self.u32_at(field::PORT)
    }

    /// The header as a value.
    pub fn header(&self) -> Header {
        Header {
            length: self.length(),
            message_type: self.message_type(),
            flags: self.flags(),
            sequence_number: self.sequence_number(),
            port_number: self.port_number(),
        }
    }

    /// Length of the whole message rounded up to the alignment: where the
    /// next message in a `recv()` buffer starts.
    pub fn total_len(&self) -> usize {
        align(self.length() as usize)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: from the end of the header to the declared length.
    ///
    /// Returns an empty slice rather than panicking if the packet was not
    /// checked and the length field is inconsistent.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = (self.length() as usize).min(b.len());
        b.get(HEADER_LEN..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, f: field::Field, v: u16) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_ne_bytes());
    }

    fn set_u32_at(&mut self, f: field::Field, v: u32) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_ne_bytes());
    }

    /// Set `nlmsg_len`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`HEADER_LEN`] (emission only).
    pub fn set_length(&mut self, v: u32) {
        self.set_u32_at(field::LENGTH, v)
    }

    /// Set `nlmsg_type`. Panics like [`set_length`](Packet::set_length).
    pub fn set_message_type(&mut self, v: u16) {
        self.set_u16_at(field::TYPE, v)
    }

    /// Set `nlmsg_flags`. Panics like [`set_length`](Packet::set_length).
    pub fn set_flags(&mut self, v: u16) {
        self.set_u16_at(field::FLAGS, v)
    }

    /// Set `nlmsg_seq`. Panics like [`set_length`](Packet::set_length).
    pub fn set_sequence_number(&mut self, v: u32) {
        self.set_u32_at(field::SEQ, v)
    }

    /// Set `nlmsg_pid`. Panics like [`set_length`](Packet::set_length).
    pub fn set_port_number(&mut self, v: u32) {
        self.set_u32_at(field::PORT, v)
    }

    /// The payload, mutable: everything after the header up to the buffer's
    /// end (not the length field).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

/// `struct nlmsghdr` as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// `nlmsg_len`: length including this header.
    pub length: u32,
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags` (`NLM_F_*`).
    pub flags: u16,
    /// `nlmsg_seq`.
    pub sequence_number: u32,
    /// `nlmsg_pid`.
    pub port_number: u32,
}

impl Header {
    /// Parse the first [`HEADER_LEN`] octets of `bytes`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if `bytes` is shorter than a header. The length
    /// field is not checked against anything.
    pub fn parse(bytes: &[u8]) -> Result<Header, Error> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet::new_unchecked(bytes).header())
    }

    /// Write the header into the first [`HEADER_LEN`] octets of `buf`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        let buf = buf.get_mut(..HEADER_LEN).ok_or(Error::BufferTooSmall)?;
        let mut p = Packet::new_unchecked(buf);
        p.set_length(self.length);
        p.set_message_type(self.message_type);
        p.set_flags(self.flags);
        p.set_sequence_number(self.sequence_number);
        p.set_port_number(self.port_number);
        Ok(())
    }
}

/// Iterator over the messages in one `recv()` buffer.
///
/// Yields each message as a checked [`Packet`] (whose buffer is exactly that
/// message, without padding). On the first malformed message it yields the
/// error once and then stops: after a bad length nothing later can be
/// trusted. Complexity: O(1) per message.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Messages<'a> {
    /// Iterate over the messages in `buffer` (the bytes `recv()` returned).
    pub const fn new(buffer: &'a [u8]) -> Messages<'a> {
        Messages {
            rest: buffer,
            failed: false,
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Packet<&'a [u8]>, Error>;

    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let packet = match Packet::new_checked(self.rest) {
            Ok(p) => p,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let len = packet.length() as usize;
        let (this, _) = self.rest.split_at(len);
        let next = packet.total_len().min(self.rest.len());
        self.rest = self.rest.get(next..).unwrap_or(&[]);
        Some(Ok(Packet::new_unchecked(this)))
    }
}

impl core::iter::FusedIterator for Messages<'_> {}

/// One netlink attribute (`struct nlattr` and its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nla<'a> {
    raw_kind: u16,
    value: &'a [u8],
}

impl<'a> Nla<'a> {
    /// The attribute type without [`NLA_F_NESTED`] and
    /// [`NLA_F_NET_BYTEORDER`].
    pub fn kind(&self) -> u16 {
        self.raw_kind & NLA_TYPE_MASK
    }

    /// The attribute type as sent, with flags.
    pub fn raw_kind(&self) -> u16 {
        self.raw_kind
    }

    /// Whether the sender flagged the value as nested attributes.
    pub fn is_nested(&self) -> bool {
        self.raw_kind & NLA_F_NESTED != 0
    }

    /// Whether the sender flagged the value as network byte order.
    pub fn is_net_byteorder(&self) -> bool {
        self.raw_kind & NLA_F_NET_BYTEORDER != 0
    }

    /// The value, without header or padding.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// Attributes nested in the value.
    pub fn nested(&self) -> Nlas<'a> {
        Nlas::new(self.value)
    }

    /// The value as one octet.
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly 1 octet.
    pub fn as_u8(&self) -> Result<u8, Error> {
        Ok(self.be(1)? as u8)
    }

    /// The value as a host-order `u16`.
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly 2 octets.
    pub fn as_u16(&self) -> Result<u16, Error> {
        Ok(u16::from_ne_bytes(self.fixed::<2>()?))
    }

    /// The value as a host-order `u32`.
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly 4 octets.
    pub fn as_u32(&self) -> Result<u32, Error> {
        Ok(u32::from_ne_bytes(self.fixed::<4>()?))
    }

    /// The value as a big-endian `u16` (ctnetlink ports, [`NLA_F_NET_BYTEORDER`]).
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly 2 octets.
    pub fn as_be_u16(&self) -> Result<u16, Error> {
        Ok(self.be(2)? as u16)
    }

    /// The value as a big-endian `u32` (ctnetlink, [`NLA_F_NET_BYTEORDER`]).
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly 4 octets.
    pub fn as_be_u32(&self) -> Result<u32, Error> {
        self.be(4)
    }

    /// The value as a big-endian number of exactly `len` (at most 4)
    /// octets; one shared reader for every width.
    #[inline(never)]
    pub(crate) fn be(&self, len: usize) -> Result<u32, Error> {
        if self.value.len() != len {
            return Err(Error::BadAttributeLength { kind: self.kind() });
        }
        Ok(self.value.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
    }

    /// The value as a fixed-size array.
    ///
    /// # Errors
    /// [`Error::BadAttributeLength`] unless the value is exactly `N` octets.
    pub fn fixed<const N: usize>(&self) -> Result<[u8; N], Error> {
        self.value
            .try_into()
            .map_err(|_| Error::BadAttributeLength { kind: self.kind() })
    }

    /// The value as a NUL-terminated UTF-8 string, without the NUL (and
    /// anything after it).
    ///
    /// # Errors
    /// [`Error::BadString`] if there is no NUL or the text is not UTF-8.
    pub fn as_str(&self) -> Result<&'a str, Error> {
        let err = Error::BadString { kind: self.kind() };
        let nul = self.value.iter().position(|&b| b == 0).ok_or(err)?;
        let text = self.value.get(..nul).ok_or(err)?;
        core::str::from_utf8(text).map_err(|_| err)
    }
}

/// Iterator over the attributes in a buffer (a message's payload after its
/// fixed family header, or a nested attribute's value).
///
/// On the first malformed attribute it yields the error once and stops.
/// Complexity: O(1) per attribute.
#[derive(Debug, Clone)]
pub struct Nlas<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Nlas<'a> {
    /// Iterate over the attributes in `buffer`.
    pub const fn new(buffer: &'a [u8]) -> Nlas<'a> {
        Nlas {
            rest: buffer,
            failed: false,
        }
    }
}

impl<'a> Iterator for Nlas<'a> {
    type Item = Result<Nla<'a>, Error>;

    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let fail = |s: &mut Self, e| {
            s.failed = true;
            Some(Err(e))
        };
        let Some(head) = self.rest.get(..NLA_HEADER_LEN) else {
            return fail(self, Error::NlaTruncated);
        };
        let len = u16::from_ne_bytes([head[0], head[1]]) as usize;
        let raw_kind = u16::from_ne_bytes([head[2], head[3]]);
        if len < NLA_HEADER_LEN {
            return fail(self, Error::NlaLengthTooSmall);
        }
        let Some(value) = self.rest.get(NLA_HEADER_LEN..len) else {
            return fail(self, Error::NlaBeyondEnd);
        };
        // The last attribute may omit its padding.
        let next = align(len).min(self.rest.len());
        self.rest = self.rest.get(next..).unwrap_or(&[]);
        Some(Ok(Nla { raw_kind, value }))
    }
}

impl core::iter::FusedIterator for Nlas<'_> {}

/// An [`NLMSG_ERROR`] message: an error, or an acknowledgement when
/// [`errno`](ErrorMessage::errno) is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorMessage<'a> {
    /// The positive `errno` value (`EEXIST` = 17...), or 0 for an ack.
    /// (The kernel sends it negated; this is the negation of what it sent,
    /// saturating.)
    pub errno: i32,
    /// Type of the request this answers.
    pub request_type: u16,
    /// Sequence number of the request this answers.
    pub seq: u32,
    /// The kernel's extended-ack message ([`NLMSGERR_ATTR_MSG`]), if any.
    pub message: Option<&'a str>,
}

impl<'a> ErrorMessage<'a> {
    /// Parse the payload of an [`NLMSG_ERROR`] message whose header flags are
    /// `flags` (to find extended-ack attributes).
    ///
    /// The payload is `int error` followed by the request's header (and, if
    /// not [`NLM_F_CAPPED`], its payload); a malformed extended-ack section
    /// is ignored rather than reported, since the error code is what matters.
    ///
    /// # Errors
    /// [`Error::PayloadTooShort`] if the payload cannot hold the error code
    /// and the request's header.
    pub fn parse(payload: &'a [u8], flags: u16) -> Result<ErrorMessage<'a>, Error> {
        let code = payload
            .get(..ERROR_CODE_LEN)
            .ok_or(Error::PayloadTooShort)?;
        let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
        let request = payload
            .get(ERROR_CODE_LEN..)
            .ok_or(Error::PayloadTooShort)?;
        let header = Header::parse(request).map_err(|_| Error::PayloadTooShort)?;
        let mut message = None;
        if flags & NLM_F_ACK_TLVS != 0 {
            let echoed = if flags & NLM_F_CAPPED != 0 {
                HEADER_LEN
            } else {
                align(header.length as usize)
            };
            let tlvs = request.get(echoed..).unwrap_or(&[]);
            for nla in Nlas::new(tlvs).map_while(Result::ok) {
                if nla.kind() == NLMSGERR_ATTR_MSG {
                    message = nla.as_str().ok();
                }
            }
        }
        Ok(ErrorMessage {
            errno: code.saturating_neg(),
            request_type: header.message_type,
            seq: header.sequence_number,
            message,
        })
    }

    /// Whether this is an acknowledgement (errno 0), not an error.
    pub fn is_ack(&self) -> bool {
        self.errno == 0
    }
}

/// Where a nested attribute started, returned by
/// [`MessageBuilder::begin_nested`] and consumed by
/// [`MessageBuilder::end_nested`].
#[derive(Debug)]
#[must_use = "pass it to end_nested to fix the nested attribute's length"]
pub struct NestStart(usize);

/// Writes one netlink message into a caller-provided buffer.
///
/// [`new`](MessageBuilder::new) writes the header; then the family header
/// ([`push_fixed`](MessageBuilder::push_fixed)) and attributes are appended,
/// each padded to 4 octets; [`finish`](MessageBuilder::finish) sets the
/// length field and returns the number of octets written. Nothing is
/// written past the end of the buffer: the first error
/// ([`Error::BufferTooSmall`], [`Error::TooLong`]) is remembered, every
/// later push does nothing, and [`finish`](MessageBuilder::finish) returns
/// it (the message is incomplete and must not be sent).
#[derive(Debug)]
pub struct MessageBuilder<'a> {
    buf: &'a mut [u8],
    len: usize,
    err: Option<Error>,
}

impl<'a> MessageBuilder<'a> {
    /// Start a message of type `message_type` with `flags` and sequence
    /// number `seq` (port id 0: the kernel fills in the sender's). A
    /// buffer that cannot hold a header is reported by
    /// [`finish`](MessageBuilder::finish) ([`Error::BufferTooSmall`]).
    pub fn new(buf: &'a mut [u8], message_type: u16, flags: u16, seq: u32) -> MessageBuilder<'a> {
        let err = Header {
            length: HEADER_LEN as u32,
            message_type,
            flags,
            sequence_number: seq,
            port_number: 0,
        }
        .emit(buf)
        .err();
        MessageBuilder {
            buf,
            len: HEADER_LEN,
            err,
        }
    }

    /// Octets written so far (always a multiple of 4).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing but the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len == HEADER_LEN
    }

    /// The first error so far, if any.
    pub fn error(&self) -> Option<Error> {
        self.err
    }

    /// Reserve `n` octets plus padding, zeroed; return them (`None` after
    /// an error, which is remembered).
    #[inline(never)]
    fn reserve(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.err.is_some() {
            return None;
        }
        let start = self.len;
        let end = align(n).saturating_add(start);
        if end > u32::MAX as usize {
            self.err = Some(Error::TooLong);
            return None;
        }
        let Some(area) = self.buf.get_mut(start..end) else {
            self.err = Some(Error::BufferTooSmall);
            return None;
        };
        area.fill(0);
        self.len = end;
        Some(area)
    }

    /// Append raw octets (a family header such as `ifaddrmsg`), padded to 4.
    pub fn push_fixed(&mut self, bytes: &[u8]) {
        if let Some(area) = self.reserve(bytes.len()) {
            area[..bytes.len()].copy_from_slice(bytes);
        }
    }

    /// An attribute header of `kind` for a value of `value_len` octets;
    /// the value's room after it.
    #[inline(never)]
    fn nla(&mut self, kind: u16, value_len: usize) -> Option<&mut [u8]> {
        let len = NLA_HEADER_LEN + value_len;
        if len > u16::MAX as usize {
            if self.err.is_none() {
                self.err = Some(Error::TooLong);
            }
            return None;
        }
        let area = self.reserve(len)?;
        area[..2].copy_from_slice(&(len as u16).to_ne_bytes());
        area[2..4].copy_from_slice(&kind.to_ne_bytes());
        area.get_mut(NLA_HEADER_LEN..)
    }

    /// Append an attribute of type `kind` (flags included, if any) with
    /// `value`, padded to 4 ([`Error::TooLong`] if the value does not fit
    /// the 16-bit attribute length).
    #[inline(never)]
    pub fn push_attr(&mut self, kind: u16, value: &[u8]) {
        if let Some(area) = self.nla(kind, value.len()) {
            area[..value.len()].copy_from_slice(value);
        }
    }

    /// Append a host-order `u32` attribute.
    pub fn push_attr_u32(&mut self, kind: u16, value: u32) {
        self.push_attr(kind, &value.to_ne_bytes())
    }

    /// Append a string attribute, NUL-terminated.
    pub fn push_attr_str(&mut self, kind: u16, value: &str) {
        // The NUL is already there: reserve() zeroes.
        if let Some(area) = self.nla(kind, value.len() + 1) {
            area[..value.len()].copy_from_slice(value.as_bytes());
        }
    }

    /// Open a nested attribute of type `kind` ([`NLA_F_NESTED`] is added);
    /// attributes pushed until [`end_nested`](MessageBuilder::end_nested)
    /// go inside it.
    pub fn begin_nested(&mut self, kind: u16) -> NestStart {
        let at = self.len;
        self.nla(kind | NLA_F_NESTED, 0);
        NestStart(at)
    }

    /// Close a nested attribute: set its length to cover what was pushed
    /// since [`begin_nested`](MessageBuilder::begin_nested)
    /// ([`Error::TooLong`] if the nested attributes exceed 65535 octets).
    #[inline(never)]
    pub fn end_nested(&mut self, start: NestStart) {
        if self.err.is_some() {
            return;
        }
        let len = self.len.saturating_sub(start.0);
        let Ok(len) = u16::try_from(len) else {
            self.err = Some(Error::TooLong);
            return;
        };
        if let Some(field) = self.buf.get_mut(start.0..start.0 + 2) {
            field.copy_from_slice(&len.to_ne_bytes());
        }
    }

    /// Set the header's length field and return the message length, or
    /// the first error.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] or [`Error::TooLong`], the first one met.
    pub fn finish(self) -> Result<usize, Error> {
        if let Some(e) = self.err {
            return Err(e);
        }
        let mut p = Packet::new_unchecked(&mut self.buf[..]);
        // len <= u32::MAX is enforced by reserve().
        p.set_length(self.len as u32);
        Ok(self.len)
    }
}
