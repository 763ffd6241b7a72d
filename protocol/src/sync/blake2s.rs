//! BLAKE2s (RFC 7693) with a key and a personalisation: what the sync frame
//! MAC and its key derivation need, and nothing else (no salt, no tree
//! mode, digest length fixed by the caller).
//!
//! Written for size: one compression loop over the round schedule instead of
//! ten unrolled rounds. The `blake2` crate's `Blake2sMac` is the test oracle.

/// Initialisation vector (RFC 7693, 2.6: the SHA-256 IV).
const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Message word schedule of the ten rounds (RFC 7693, 2.7).
const SIGMA: [[u8; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The four (a, b, c, d) word indices of the eight G calls of a round:
/// four columns, then four diagonals.
const LANES: [[u8; 4]; 8] = [
    [0, 4, 8, 12],
    [1, 5, 9, 13],
    [2, 6, 10, 14],
    [3, 7, 11, 15],
    [0, 5, 10, 15],
    [1, 6, 11, 12],
    [2, 7, 8, 13],
    [3, 4, 9, 14],
];

/// Block size in octets.
const BLOCK: usize = 64;

/// An incremental BLAKE2s computation.
#[derive(Clone)]
pub(super) struct Blake2s {
    h: [u32; 8],
    /// Octets compressed so far (RFC 7693's `t`; frames and key files are far
    /// below 2^32 octets, the high word stays counted anyway).
    t: u64,
    buf: [u8; BLOCK],
    /// Octets in `buf`, 0..=64: a full buffer is only compressed once more
    /// input arrives, because the last block is compressed differently.
    len: usize,
}

impl Blake2s {
    /// A state for a `out_len`-octet digest (1..=32) keyed with `key` (0..=32
    /// octets; empty = unkeyed) and personalised with `persona` (0..=8
    /// octets, zero-padded). Out-of-range lengths are clamped, never a panic;
    /// the callers pass constants.
    pub(super) fn new(out_len: u8, key: &[u8], persona: &[u8]) -> Blake2s {
        let out_len = out_len.clamp(1, 32);
        let key = &key[..key.len().min(32)];
        let mut h = IV;
        // Parameter block word 0: digest length, key length, fanout 1, depth 1.
        h[0] ^= 0x0101_0000 ^ ((key.len() as u32) << 8) ^ u32::from(out_len);
        // Words 6 and 7: the personalisation (salt, words 4 and 5, is zero).
        let mut p = [0u8; 8];
        let n = persona.len().min(8);
        p[..n].copy_from_slice(&persona[..n]);
        h[6] ^= u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        h[7] ^= u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        let mut s = Blake2s {
            h,
            t: 0,
            buf: [0; BLOCK],
            len: 0,
        };
        if !key.is_empty() {
            // The key, zero-padded, is the first block.
            s.buf[..key.len()].copy_from_slice(key);
            s.len = BLOCK;
        }
        s
    }

    /// Absorbs `data`.
    pub(super) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.len == BLOCK {
                self.t = self.t.wrapping_add(BLOCK as u64);
                self.compress(false);
                self.len = 0;
            }
            let n = (BLOCK - self.len).min(data.len());
            self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
        }
    }

    /// The digest: its first `out_len` octets (the rest of the state words
    /// follow; callers take the prefix).
    pub(super) fn finish(mut self) -> [u8; 32] {
        self.t = self.t.wrapping_add(self.len as u64);
        self.buf[self.len..].fill(0);
        self.compress(true);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn compress(&mut self, last: bool) {
        let mut m = [0u32; 16];
        for (w, b) in m.iter_mut().zip(self.buf.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let mut v = [0u32; 16];
        v[..8].copy_from_slice(&self.h);
        v[8..].copy_from_slice(&IV);
        v[12] ^= self.t as u32;
        v[13] ^= (self.t >> 32) as u32;
        if last {
            v[14] = !v[14];
        }
        for s in &SIGMA {
            for (i, l) in LANES.iter().enumerate() {
                let [a, b, c, d] = l.map(usize::from);
                let x = m[usize::from(s[2 * i])];
                let y = m[usize::from(s[2 * i + 1])];
                v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
                v[d] = (v[d] ^ v[a]).rotate_right(16);
                v[c] = v[c].wrapping_add(v[d]);
                v[b] = (v[b] ^ v[c]).rotate_right(12);
                v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
                v[d] = (v[d] ^ v[a]).rotate_right(8);
                v[c] = v[c].wrapping_add(v[d]);
                v[b] = (v[b] ^ v[c]).rotate_right(7);
            }
        }
        for (i, h) in self.h.iter_mut().enumerate() {
            *h ^= v[i] ^ v[i + 8];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Blake2s;
    use blake2::digest::consts::{U16, U32};
    use blake2::digest::{FixedOutput, Update};
    use blake2::Blake2sMac;

    fn ours(out_len: u8, key: &[u8], persona: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut s = Blake2s::new(out_len, key, persona);
        for p in parts {
            s.update(p);
        }
        s.finish()
    }

    #[test]
    fn rfc7693_appendix_b() {
        // BLAKE2s-256("abc").
        let d = ours(32, &[], &[], &[b"abc"]);
        let want = [
            0x50, 0x8C, 0x5E, 0x8C, 0x32, 0x7C, 0x14, 0xE2, 0xE1, 0xA7, 0x2B, 0xA3, 0x4E, 0xEB,
            0x45, 0x2F, 0x37, 0x45, 0x8B, 0x20, 0x9E, 0xD6, 0x3A, 0x29, 0x4D, 0x99, 0x9B, 0x4C,
            0x86, 0x67, 0x59, 0x82,
        ];
        assert_eq!(d, want);
    }

    #[test]
    fn keyed_empty_message_vector() {
        // The BLAKE2 reference keyed KAT (blake2s-kat.txt), message of length 0,
        // key 00 01 .. 1f.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let d = ours(32, &key, &[], &[]);
        let want = [
            0x48, 0xa8, 0x99, 0x7d, 0xa4, 0x07, 0x87, 0x6b, 0x3d, 0x79, 0xc0, 0xd9, 0x23, 0x25,
            0xad, 0x3b, 0x89, 0xcb, 0xb7, 0x54, 0xd8, 0x6a, 0xb7, 0x1a, 0xee, 0x04, 0x7a, 0xd3,
            0x45, 0xfd, 0x2c, 0x49,
        ];
        assert_eq!(d, want);
    }

    /// A small deterministic generator for the differential test.
    fn next(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn same_as_the_blake2_crate() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut data = [0u8; 600];
        for b in data.iter_mut() {
            *b = next(&mut seed) as u8;
        }
        for case in 0..400usize {
            let len = match case {
                0..=200 => case,
                _ => (next(&mut seed) % 600) as usize,
            };
            let key_len = [0usize, 1, 16, 31, 32][case % 5];
            let key: [u8; 32] = core::array::from_fn(|i| (i * 7 + case) as u8);
            let key = &key[..key_len];
            let persona: &[u8] = [&b"TndmSyn1"[..], b"TndmKey1", b"", b"abc"][case % 4];
            let msg = &data[..len];
            // Split the input at an arbitrary point: streaming must not matter.
            let cut = if len == 0 {
                0
            } else {
                (next(&mut seed) as usize) % len
            };
            let (a, b) = msg.split_at(cut);

            let got32 = ours(32, key, persona, &[a, b]);
            let key_opt = if key.is_empty() { None } else { Some(key) };
            let mut o = Blake2sMac::<U32>::new_with_salt_and_personal(key_opt, &[], persona)
                .expect("valid parameters");
            Update::update(&mut o, msg);
            assert_eq!(&got32[..], o.finalize_fixed().as_slice(), "32, case {case}");

            let got16 = ours(16, key, persona, &[a, b]);
            let mut o = Blake2sMac::<U16>::new_with_salt_and_personal(key_opt, &[], persona)
                .expect("valid parameters");
            Update::update(&mut o, msg);
            assert_eq!(
                &got16[..16],
                o.finalize_fixed().as_slice(),
                "16, case {case}"
            );
        }
    }
}
