//! Interface name → index and hardware address.

use super::{cvt, socket};
use std::ffi::CString;
use std::io;

/// The index of interface `name`, or `None` when it does not exist.
pub fn index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The Ethernet address of interface `name`.
pub fn hwaddr(name: &str) -> io::Result<[u8; 6]> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    // SAFETY: ifreq is plain old data; zero is a valid start.
    let mut req: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, b) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *b as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads ifr_name and writes ifr_hwaddr inside `req`.
    cvt(unsafe { libc::ioctl(s.raw(), libc::SIOCGIFHWADDR, &mut req) })?;
    // SAFETY: after SIOCGIFHWADDR the union holds a sockaddr.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, b) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *b as u8;
    }
    Ok(mac)
}
