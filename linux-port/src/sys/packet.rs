//! An `AF_PACKET` socket that only sends whole Ethernet frames (gratuitous
//! ARP, unsolicited neighbour advertisements). Protocol 0: receives nothing.

use super::{ck_size, socket, Errno, Fd};

/// A send-only packet socket.
pub struct PacketSocket {
    fd: Fd,
}

impl PacketSocket {
    /// Opens the socket.
    pub fn open() -> Result<Self, Errno> {
        Ok(PacketSocket {
            fd: socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?,
        })
    }

    /// Sends `frame` (starting with its Ethernet header) out of `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> Result<(), Errno> {
        if frame.len() < 14 {
            return Err(Errno::INVALID_INPUT);
        }
        // SAFETY: sockaddr_ll is plain old data; zero is a valid start.
        let mut sa: libc::sockaddr_ll = unsafe { core::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        sa.sll_ifindex = ifindex as libc::c_int;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: `frame` and `sa` are valid for the lengths given.
        ck_size(unsafe {
            super::raw::sendto(
                self.fd.raw(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })
        .map(drop)
    }
}
