//! The frame header, the checked view, the MAC key and the replay window.

use core::fmt;

use super::blake2s::Blake2s;
use super::body::Records;
use super::{
    Error, KeyError, HEADER_LEN, MAGIC, MIN_KEY_LEN, OVERHEAD, REPLAY_WINDOW, TAG_LEN, VERSION,
};

/// Field offsets (smoltcp style).
mod field {
    pub type Field = core::ops::Range<usize>;
    pub const MAGIC: Field = 0..2;
    pub const VERSION: usize = 2;
    pub const FLAGS: usize = 3;
    pub const SENDER: Field = 4..8;
    pub const EPOCH: Field = 8..12;
    pub const SEQ: Field = 12..16;
    pub const ACK: Field = 16..20;
}

const _: () = assert!(field::ACK.end == HEADER_LEN);

/// BLAKE2s personalisation of the key derivation (8 octets at most).
const KDF_PERSONA: &[u8] = b"TndmKey1";
/// BLAKE2s personalisation of the frame MAC.
const MAC_PERSONA: &[u8] = b"TndmSyn1";

/// The pre-shared key, ready to compute and check frame tags.
///
/// The key material (at least [`MIN_KEY_LEN`] octets, any length above) is
/// hashed into a 32-octet BLAKE2s key (`BLAKE2s-256`, personalisation
/// `TndmKey1`); a tag is keyed `BLAKE2s` with a 16-octet output over the
/// header and body (personalisation `TndmSyn1`). The keyed state is
/// prepared once, so a tag costs one BLAKE2s pass over the frame.
/// `Debug` does not show the key.
#[derive(Clone)]
pub struct Key {
    mac: Blake2s,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A key from raw key material (e.g. the contents of `key_file`).
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] below [`MIN_KEY_LEN`] octets.
    pub fn new(material: &[u8]) -> Result<Key, KeyError> {
        if material.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort);
        }
        let mut kdf = kdf();
        kdf.update(material);
        Ok(Key::from_derived(kdf))
    }

    /// A key from hexadecimal digits (the configuration's `key`), upper or
    /// lower case, at least 64 digits.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadHex`] for a non-hex digit or an odd count,
    /// [`KeyError::TooShort`] below 64 digits.
    pub fn from_hex(hex: &str) -> Result<Key, KeyError> {
        let digits = hex.as_bytes();
        if digits.len() % 2 != 0 {
            return Err(KeyError::BadHex);
        }
        if digits.len() < 2 * MIN_KEY_LEN {
            return Err(KeyError::TooShort);
        }
        let mut kdf = kdf();
        for pair in digits.chunks_exact(2) {
            let (Some(hi), Some(lo)) = (
                pair.first().copied().and_then(hex_val),
                pair.get(1).copied().and_then(hex_val),
            ) else {
                return Err(KeyError::BadHex);
            };
            kdf.update(&[hi << 4 | lo]);
        }
        Ok(Key::from_derived(kdf))
    }

    fn from_derived(kdf: Blake2s) -> Key {
        let derived = kdf.finish();
        Key {
            mac: Blake2s::new(TAG_LEN as u8, &derived, MAC_PERSONA),
        }
    }

    /// The tag of `data` (header and body).
    pub fn tag(&self, data: &[u8]) -> [u8; TAG_LEN] {
        let mut m = self.mac.clone();
        m.update(data);
        let out = m.finish();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&out[..TAG_LEN]);
        tag
    }

    /// Whether `tag` is the tag of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let want = self.tag(data);
        if tag.len() != TAG_LEN {
            return false;
        }
        // No early exit: the time does not depend on where the tags differ.
        let mut diff = 0u8;
        for (a, b) in want.iter().zip(tag) {
            diff |= a ^ b;
        }
        core::hint::black_box(diff) == 0
    }
}

/// The unkeyed BLAKE2s-256 of the key derivation.
fn kdf() -> Blake2s {
    Blake2s::new(32, &[], KDF_PERSONA)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The header fields a sender chooses (magic, version and flags are fixed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// The sending router's id.
    pub sender: u32,
    /// The sender's epoch (grows with each restart).
    pub epoch: u32,
    /// The frame number within the epoch, from 1.
    pub seq: u32,
    /// The next stream sequence number the sender expects from the
    /// frame's receiver (cumulative ack); 0 = none.
    pub ack: u32,
}

impl Header {
    /// Writes the header into the first [`HEADER_LEN`] octets of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`HEADER_LEN`].
    pub fn emit(&self, buf: &mut [u8]) {
        let h = &mut buf[..HEADER_LEN];
        h[field::MAGIC].copy_from_slice(&MAGIC.to_be_bytes());
        h[field::VERSION] = VERSION;
        h[field::FLAGS] = 0;
        h[field::SENDER].copy_from_slice(&self.sender.to_be_bytes());
        h[field::EPOCH].copy_from_slice(&self.epoch.to_be_bytes());
        h[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        h[field::ACK].copy_from_slice(&self.ack.to_be_bytes());
    }
}

/// A zero-copy view of a frame (smoltcp style): header fields, body and
/// tag. Use [`Frame::new_checked`] on received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

fn be32(b: &[u8], f: field::Field) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(f) {
        a.copy_from_slice(s);
    }
    u32::from_be_bytes(a)
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// A view without checks (for emission).
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// A view of received bytes: checks the length, magic, version and
    /// flags (not the tag: see [`Frame::verify`]).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::BadMagic`], [`Error::BadVersion`],
    /// [`Error::BadFlags`].
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let f = Frame::new_unchecked(buffer);
        f.check_len()?;
        if f.magic() != MAGIC {
            return Err(Error::BadMagic);
        }
        if f.version() != VERSION {
            return Err(Error::BadVersion);
        }
        if f.flags() != 0 {
            return Err(Error::BadFlags);
        }
        Ok(f)
    }

    /// Checks that the buffer holds a header and a tag.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`].
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < OVERHEAD {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The magic number.
    pub fn magic(&self) -> u16 {
        let b = self.buffer.as_ref();
        match b.get(field::MAGIC) {
            Some(&[x, y]) => u16::from_be_bytes([x, y]),
            _ => 0,
        }
    }

    /// The format version.
    pub fn version(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::VERSION)
            .copied()
            .unwrap_or(0)
    }

    /// The reserved flags octet.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref().get(field::FLAGS).copied().unwrap_or(0)
    }

    /// The sender id.
    pub fn sender(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SENDER)
    }

    /// The sender's epoch.
    pub fn epoch(&self) -> u32 {
        be32(self.buffer.as_ref(), field::EPOCH)
    }

    /// The frame number.
    pub fn seq(&self) -> u32 {
        be32(self.buffer.as_ref(), field::SEQ)
    }

    /// The cumulative stream acknowledgement.
    pub fn ack(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ACK)
    }

    /// The header fields.
    pub fn header(&self) -> Header {
        Header {
            sender: self.sender(),
            epoch: self.epoch(),
            seq: self.seq(),
            ack: self.ack(),
        }
    }

    /// The body (records); empty if the frame is shorter than the overhead.
    pub fn body(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = b.len().saturating_sub(TAG_LEN);
        b.get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The MAC tag (the last [`TAG_LEN`] octets).
    pub fn tag(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(b.len().saturating_sub(TAG_LEN)..).unwrap_or(&[])
    }

    /// Checks the tag with `key`.
    ///
    /// # Errors
    ///
    /// [`Error::BadMac`], or [`Error::Truncated`] if the frame is shorter
    /// than the overhead.
    pub fn verify(&self, key: &Key) -> Result<(), Error> {
        self.check_len()?;
        let b = self.buffer.as_ref();
        let end = b.len().saturating_sub(TAG_LEN);
        let (data, tag) = b.split_at(end);
        if key.verify(data, tag) {
            Ok(())
        } else {
            Err(Error::BadMac)
        }
    }

    /// Iterates over the body's records.
    pub fn records(&self) -> Records<'_> {
        Records::new(self.body())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Writes the header fields.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`].
    pub fn set_header(&mut self, header: &Header) {
        header.emit(self.buffer.as_mut());
    }

    /// Computes the tag over header and body and writes it into the last
    /// [`TAG_LEN`] octets.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`OVERHEAD`].
    pub fn fill_tag(&mut self, key: &Key) {
        let b = self.buffer.as_mut();
        assert!(
            b.len() >= OVERHEAD,
            "sync frame buffer shorter than OVERHEAD"
        );
        let end = b.len() - TAG_LEN;
        let tag = key.tag(&b[..end]);
        b[end..].copy_from_slice(&tag);
    }
}

/// Checks a received frame's format and tag: [`Frame::new_checked`] then
/// [`Frame::verify`]. Replay checks are the caller's ([`ReplayWindow`]),
/// since they need per-peer state.
///
/// # Errors
///
/// As [`Frame::new_checked`] and [`Frame::verify`].
pub fn open<'a>(key: &Key, bytes: &'a [u8]) -> Result<Frame<&'a [u8]>, Error> {
    let f = Frame::new_checked(bytes)?;
    f.verify(key)?;
    Ok(f)
}

/// How a frame that passed [`ReplayWindow::check`] relates to the peer's
/// earlier frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Freshness {
    /// The first frame from this peer.
    First,
    /// A new frame of the current epoch.
    Current,
    /// The first frame of a newer epoch: the peer restarted (or its frame
    /// numbers ran out).
    NewEpoch,
}

/// Replay protection for one peer: the highest epoch seen and, within it,
/// a sliding window of the last [`REPLAY_WINDOW`] frame numbers (RFC 4303
/// §3.4.3 style). Check with [`ReplayWindow::check`] before acting on a
/// frame, and record it with [`ReplayWindow::accept`] only after its tag
/// was verified. O(1), 16 octets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplayWindow {
    epoch: u32,
    top: u32,
    bits: u64,
    valid: bool,
}

impl ReplayWindow {
    /// A window that has seen nothing.
    pub const fn new() -> ReplayWindow {
        ReplayWindow {
            epoch: 0,
            top: 0,
            bits: 0,
            valid: false,
        }
    }

    /// The highest epoch seen, if any.
    pub const fn epoch(&self) -> Option<u32> {
        if self.valid {
            Some(self.epoch)
        } else {
            None
        }
    }

    /// Whether a frame `(epoch, seq)` would be fresh.
    ///
    /// # Errors
    ///
    /// [`Error::OldEpoch`] for an epoch below the highest seen,
    /// [`Error::Duplicate`] for a number already seen, [`Error::TooOld`]
    /// for a number below the window (or 0, which no sender uses).
    pub const fn check(&self, epoch: u32, seq: u32) -> Result<Freshness, Error> {
        if !self.valid {
            return Ok(Freshness::First);
        }
        if epoch < self.epoch {
            return Err(Error::OldEpoch);
        }
        if epoch > self.epoch {
            return Ok(Freshness::NewEpoch);
        }
        if seq == 0 {
            return Err(Error::TooOld);
        }
        if seq > self.top {
            return Ok(Freshness::Current);
        }
        let back = self.top - seq;
        if back >= REPLAY_WINDOW {
            return Err(Error::TooOld);
        }
        if self.bits & (1u64 << back) != 0 {
            return Err(Error::Duplicate);
        }
        Ok(Freshness::Current)
    }

    /// Records frame `(epoch, seq)` as seen (after [`check`](Self::check)
    /// passed and the tag was verified). A newer epoch restarts the window.
    pub fn accept(&mut self, epoch: u32, seq: u32) {
        if !self.valid || epoch > self.epoch {
            *self = ReplayWindow {
                epoch,
                top: seq,
                bits: 1,
                valid: true,
            };
            return;
        }
        if epoch < self.epoch {
            return;
        }
        if seq > self.top {
            let shift = seq - self.top;
            self.bits = if shift >= 64 { 0 } else { self.bits << shift };
            self.bits |= 1;
            self.top = seq;
        } else {
            let back = self.top - seq;
            if back < 64 {
                self.bits |= 1u64 << back;
            }
        }
    }

    /// Forgets everything (the next frame is [`Freshness::First`]).
    pub fn reset(&mut self) {
        *self = ReplayWindow::new();
    }
}
