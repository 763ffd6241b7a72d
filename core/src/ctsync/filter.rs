//! What the master sends: conntrackd's `Filter` (protocols, ignored
//! addresses).

use core::net::IpAddr;

use heapless::Vec;
use tandem_protocol::conntrack::Key;

use super::CapacityError;

/// Most ignored address prefixes (configured plus the router's own).
pub const MAX_IGNORED: usize = 32;

/// Which connections are synced, like conntrackd's `Filter` block.
///
/// A connection is sent when its protocol is allowed and neither the
/// source nor the destination of its *original* tuple is ignored (as
/// conntrackd's `Address Ignore` matches): so the router's own traffic
/// (VRRP, the sync channel, SSH to the router) stays out while NAT'd
/// forwarded connections, whose original tuple holds a client and a
/// server, go through. Loopback (127.0.0.0/8, ::1) is always ignored; add
/// the router's own addresses with [`Filter::ignore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Allowed protocols, one bit per IP protocol number.
    protocols: [u32; 8],
    ignored: Vec<(IpAddr, u8), MAX_IGNORED>,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter::new()
    }
}

fn prefix_match(net: &IpAddr, len: u8, a: &IpAddr) -> bool {
    // Octet by octet (IPv4 in the first 4): no 128-bit shifts, which
    // 32-bit targets spell out at length.
    let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
    let bits = match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            x[..4].copy_from_slice(&n.octets());
            y[..4].copy_from_slice(&a.octets());
            32
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            x = n.octets();
            y = a.octets();
            128
        }
        _ => return false,
    };
    let mut left = u32::from(len).min(bits);
    for (p, q) in x.iter().zip(&y) {
        if left == 0 {
            break;
        }
        let take = left.min(8);
        // The `take` high bits of an octet.
        let mask = (0xff00u16 >> take) as u8;
        if (p ^ q) & mask != 0 {
            return false;
        }
        left -= take;
    }
    true
}

impl Filter {
    /// Every protocol, only loopback ignored.
    pub const fn new() -> Filter {
        Filter {
            protocols: [u32::MAX; 8],
            ignored: Vec::new(),
        }
    }

    /// Allows only `protocols` (IP protocol numbers, e.g. 6, 17, 1, 58).
    /// An empty list allows every protocol.
    pub fn set_protocols(&mut self, protocols: &[u8]) {
        if protocols.is_empty() {
            self.protocols = [u32::MAX; 8];
            return;
        }
        self.protocols = [0; 8];
        for &p in protocols {
            if let Some(w) = self.protocols.get_mut(usize::from(p / 32)) {
                *w |= 1 << (p % 32);
            }
        }
    }

    /// Whether protocol `p` is allowed.
    pub fn allows_protocol(&self, p: u8) -> bool {
        self.protocols
            .get(usize::from(p / 32))
            .is_some_and(|w| w & (1 << (p % 32)) != 0)
    }

    /// Ignores connections from or to `addr/prefix_len` (a host with 32
    /// or 128). Adding a prefix already present does nothing.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] when [`MAX_IGNORED`] prefixes are set.
    pub fn ignore(&mut self, addr: IpAddr, prefix_len: u8) -> Result<(), CapacityError> {
        if self.ignored.contains(&(addr, prefix_len)) {
            return Ok(());
        }
        self.ignored
            .push((addr, prefix_len))
            .map_err(|_| CapacityError)
    }

    /// Stops ignoring `addr/prefix_len` (e.g. an address the router lost).
    pub fn unignore(&mut self, addr: IpAddr, prefix_len: u8) {
        self.ignored.retain(|x| *x != (addr, prefix_len));
    }

    /// The ignored prefixes (loopback, always ignored, is not listed).
    pub fn ignored(&self) -> &[(IpAddr, u8)] {
        &self.ignored
    }

    /// Whether `addr` is ignored.
    pub fn ignores_address(&self, addr: &IpAddr) -> bool {
        addr.is_loopback()
            || self
                .ignored
                .iter()
                .any(|(net, len)| prefix_match(net, *len, addr))
    }

    /// Whether the connection with this key is synced. O([`MAX_IGNORED`]).
    pub fn accepts(&self, key: &Key) -> bool {
        self.allows_protocol(key.orig.proto)
            && !self.ignores_address(&key.orig.src)
            && !self.ignores_address(&key.orig.dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn bits_match_as_masks() {
        let v4 = [
            0x0a00_0001u32,
            0x0a00_0101,
            0x0aff_0001,
            0x8a00_0001,
            0x0a00_0000,
        ];
        for &n in &v4 {
            for &a in &v4 {
                for len in 0..=40u8 {
                    let l = u32::from(len.min(32));
                    let mask = u32::MAX.checked_shl(32 - l).unwrap_or(0);
                    let want = n & mask == a & mask;
                    let (n, a) = (Ipv4Addr::from(n), Ipv4Addr::from(a));
                    assert_eq!(
                        prefix_match(&IpAddr::V4(n), len, &IpAddr::V4(a)),
                        want,
                        "{n} {a} /{len}"
                    );
                }
            }
        }
        let v6 = [
            0xfd00_0000_0000_0000_0000_0000_0000_0001u128,
            0xfd00_0000_0000_0000_0000_0000_0000_0003,
            0xfd00_0000_0000_0001_0000_0000_0000_0001,
            0xfe80_0000_0000_0000_0000_0000_0000_0001,
            0x7d00_0000_0000_0000_0000_0000_0000_0001,
        ];
        for &n in &v6 {
            for &a in &v6 {
                for len in 0..=140u8 {
                    let l = u32::from(len.min(128));
                    let mask = u128::MAX.checked_shl(128 - l).unwrap_or(0);
                    let want = n & mask == a & mask;
                    let (n, a) = (Ipv6Addr::from(n), Ipv6Addr::from(a));
                    assert_eq!(
                        prefix_match(&IpAddr::V6(n), len, &IpAddr::V6(a)),
                        want,
                        "{n} {a} /{len}"
                    );
                }
            }
        }
        let (a4, a6) = (
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        );
        assert!(!prefix_match(&a4, 0, &a6) && !prefix_match(&a6, 0, &a4));
    }
}
