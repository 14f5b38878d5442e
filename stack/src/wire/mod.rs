//! Zero-copy views and representations of the wire formats the stack speaks.
//!
//! Every protocol module follows the same shape:
//!
//! * `Packet<T: AsRef<[u8]>>` wraps a buffer. [`Packet::new_checked`] (per
//!   module) validates the buffer with `check_len`, after which every getter is
//!   in bounds. `new_unchecked` skips the check; getters may then panic on a
//!   short buffer, so only use it on buffers you sized yourself (for emission).
//!   Setters exist for `T: AsMut<[u8]>`. Field offsets live in each module's
//!   `field` submodule.
//! * `Repr` is the parsed, validated meaning of a packet: `Repr::parse` reads a
//!   checked `Packet`, `Repr::emit` writes every header byte into a caller's
//!   `Packet` (the buffer may hold garbage beforehand), and `Repr::buffer_len`
//!   says how many bytes `emit` needs.
//!
//! Errors are the small `Copy` [`Error`].
//!
//! [`Packet::new_checked`]: ethernet::Packet::new_checked

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;

pub use arp::{Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr};
pub use ethernet::{
    Address as EthernetAddress, EtherType, Packet as EthernetPacket, Repr as EthernetRepr,
};
pub use icmp::{Packet as IcmpPacket, Repr as IcmpRepr};
pub use ipv4::{Packet as Ipv4Packet, Protocol as IpProtocol, Repr as Ipv4Repr};
pub use tcp::{
    Flags as TcpFlags, Options as TcpOptions, Packet as TcpPacket, Repr as TcpRepr,
    SeqNumber as TcpSeqNumber,
};
pub use udp::{Packet as UdpPacket, Repr as UdpRepr};

/// IPv4 addresses are the standard library's.
pub use core::net::Ipv4Addr;

/// Why a buffer could not be read as a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header, or than a length field says.
    Truncated,
    /// A field holds a value the format does not allow (a header length below
    /// the minimum, a total length shorter than the header, a wrong version).
    Malformed,
    /// A checksum does not verify.
    Checksum,
    /// Well-formed, but a variant this stack does not handle (an ARP hardware
    /// type other than Ethernet, an ICMP message type other than echo and
    /// destination unreachable, a second VLAN tag).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
            Error::Checksum => "checksum mismatch",
            Error::Unsupported => "unsupported packet",
        })
    }
}

impl std::error::Error for Error {}

/// Result of parsing wire data.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range inside a header.
pub type Field = core::ops::Range<usize>;
/// The rest of a buffer from an offset.
pub type Rest = core::ops::RangeFrom<usize>;

/// Reads a big-endian `u16` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Writes a big-endian `u16` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn write_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Reads an IPv4 address at `at`. Callers have checked the length.
#[inline]
pub(crate) fn read_ipv4(buf: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3])
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Deterministic xorshift64 generator for the random-input tests.
    pub struct XorShift(pub u64);

    impl XorShift {
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// Fills `buf` with a random length in `0..=max` of random bytes and
        /// returns that slice. One buffer in four gets a plausible first
        /// bytes pattern supplied by `seed_header`, so the parsers get past
        /// their first checks often enough to exercise the later ones.
        pub fn buffer<'a>(
            &mut self,
            buf: &'a mut [u8],
            seed_header: impl FnOnce(&mut [u8]),
        ) -> &'a [u8] {
            let len = (self.next_u64() as usize) % (buf.len() + 1);
            for chunk in buf[..len].chunks_mut(8) {
                let r = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&r[..chunk.len()]);
            }
            if self.next_u64() & 3 == 0 {
                seed_header(&mut buf[..len]);
            }
            &buf[..len]
        }
    }

    pub const FUZZ_ITERATIONS: usize = 100_000;
}
