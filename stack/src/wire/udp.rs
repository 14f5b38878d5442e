//! UDP (RFC 768) with the IPv4 pseudo-header checksum.
//!
//! A received checksum of zero means "not computed" and is accepted; emission
//! always computes one (and writes `0xffff` for a computed zero).

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, write_u16, Error, Ipv4Addr, Result};

/// Byte offsets of the UDP header fields.
pub mod field {
    use crate::wire::{Field, Rest};

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of header and payload.
    pub const LENGTH: Field = 4..6;
    /// Checksum (zero: none).
    pub const CHECKSUM: Field = 6..8;
    /// Payload (up to the length field).
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Getters may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header, that the length field is at
    /// least 8 ([`Error::Malformed`]) and that the buffer holds that many
    /// bytes ([`Error::Truncated`]). Bytes past the length are ignored.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < field_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Length field (header and payload).
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Whether the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Whether the checksum verifies against the pseudo-header for these
    /// addresses; a zero checksum (none sent) verifies. Call after
    /// `check_len`.
    pub fn verify_checksum(&self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let len = self.len();
        let sum = checksum::combine(&[
            checksum::pseudo_header(src_addr, dst_addr, Protocol::UDP.0, len),
            checksum::data(&self.buffer.as_ref()[..usize::from(len)]),
        ]);
        sum == 0xffff
    }

    /// Payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Payload with the lifetime of the underlying buffer.
    pub fn payload_ref(&self) -> &'a [u8] {
        let end = usize::from(self.len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Mutable payload, up to the length field.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Computes the checksum over the pseudo-header, header and payload (up
    /// to the length field) and writes it; a computed zero is sent as
    /// `0xffff`.
    pub fn fill_checksum(&mut self, src_addr: Ipv4Addr, dst_addr: Ipv4Addr) {
        self.set_checksum(0);
        let len = self.len();
        let sum = !checksum::combine(&[
            checksum::pseudo_header(src_addr, dst_addr, Protocol::UDP.0, len),
            checksum::data(&self.buffer.as_ref()[..usize::from(len)]),
        ]);
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }
}

/// The meaning of a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload, borrowed from the packet.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a checked datagram that arrived from `src_addr` to `dst_addr`:
    /// checksum ([`Error::Checksum`]; zero accepted), destination port
    /// nonzero ([`Error::Malformed`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if !packet.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: packet.payload_ref(),
        })
    }

    /// Bytes `emit` writes: header plus payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes the header for a payload of `payload_len` bytes, leaving the
    /// checksum zero: for callers that write the payload in place and then
    /// call [`Packet::fill_checksum`].
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        payload_len: usize,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len((HEADER_LEN + payload_len).min(usize::from(u16::MAX)) as u16);
        packet.set_checksum(0);
    }

    /// Writes header, payload and checksum (for `src_addr` → `dst_addr`)
    /// into the start of `packet`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
    ) {
        self.emit_header(packet, self.payload.len());
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src_addr, dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// "hello\n" from 10.0.0.1:40000 to 10.0.0.2:7, checksum 0x0bac.
    const DATAGRAM: [u8; 14] = [
        0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x0b, 0xac, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
    ];

    #[test]
    fn parse_known_datagram() {
        let p = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 7);
        assert_eq!(p.len(), 14);
        assert_eq!(p.checksum(), 0x0bac);
        assert!(p.verify_checksum(SRC, DST));
        assert!(!p.verify_checksum(DST, Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(p.payload(), b"hello\n");
        let r = Repr::parse(&p, SRC, DST).unwrap();
        assert_eq!(r.payload, b"hello\n");
        let mut buf = [0xaau8; 14];
        r.emit(&mut Packet::new_unchecked(&mut buf[..]), SRC, DST);
        assert_eq!(buf, DATAGRAM);
    }

    #[test]
    fn zero_checksum_accepted_wrong_rejected() {
        let mut d = DATAGRAM;
        d[6] = 0;
        d[7] = 0;
        let p = Packet::new_checked(&d[..]).unwrap();
        assert!(Repr::parse(&p, SRC, DST).is_ok());
        d[7] = 1;
        let p = Packet::new_checked(&d[..]).unwrap();
        assert_eq!(Repr::parse(&p, SRC, DST).unwrap_err(), Error::Checksum);
        // Wrong pseudo-header.
        let p = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(
            Repr::parse(&p, SRC, Ipv4Addr::new(10, 0, 0, 9)).unwrap_err(),
            Error::Checksum
        );
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Find a payload whose checksum computes to zero: adjust two bytes.
        let mut buf = [0u8; 10];
        let repr = Repr {
            src_port: 1,
            dst_port: 2,
            payload: &[0, 0],
        };
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), SRC, DST);
        let c = u16::from_be_bytes([buf[6], buf[7]]);
        // Put the checksum value into the payload: the new sum is 0xffff, so
        // the computed checksum is zero.
        let payload = c.to_be_bytes();
        let repr = Repr {
            src_port: 1,
            dst_port: 2,
            payload: &payload,
        };
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), SRC, DST);
        assert_eq!(&buf[6..8], &[0xff, 0xff]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p, SRC, DST).unwrap(), repr);
    }

    #[test]
    fn truncated_and_bogus_lengths() {
        for len in 0..DATAGRAM.len() {
            assert_eq!(
                Packet::new_checked(&DATAGRAM[..len]).unwrap_err(),
                Error::Truncated,
                "len {len}"
            );
        }
        for bogus in 0..8u16 {
            let mut d = DATAGRAM;
            d[4..6].copy_from_slice(&bogus.to_be_bytes());
            assert_eq!(Packet::new_checked(&d[..]).unwrap_err(), Error::Malformed);
        }
        let mut d = DATAGRAM;
        d[4..6].copy_from_slice(&0xffffu16.to_be_bytes());
        assert_eq!(Packet::new_checked(&d[..]).unwrap_err(), Error::Truncated);
        // Dst port zero.
        let mut d = DATAGRAM;
        d[2] = 0;
        d[3] = 0;
        let p = Packet::new_checked(&d[..]).unwrap();
        assert_eq!(Repr::parse(&p, SRC, DST).unwrap_err(), Error::Malformed);
        // Trailing bytes past the length field are ignored.
        let mut longer = DATAGRAM.to_vec();
        longer.extend_from_slice(&[0xee; 6]);
        let p = Packet::new_checked(&longer[..]).unwrap();
        assert_eq!(Repr::parse(&p, SRC, DST).unwrap().payload, b"hello\n");
    }

    #[test]
    fn emit_into_dirty_buffer() {
        let payload = [0x11u8; 33];
        let repr = Repr {
            src_port: 5353,
            dst_port: 9,
            payload: &payload,
        };
        let mut buf = [0xaau8; 64];
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..repr.buffer_len()]),
            SRC,
            DST,
        );
        assert!(buf[repr.buffer_len()..].iter().all(|&b| b == 0xaa));
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p, SRC, DST).unwrap(), repr);
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0x0f0f_1e1e_2d2d_3c3c);
        let mut buf = [0u8; 64];
        let mut ok = 0usize;
        for _ in 0..FUZZ_ITERATIONS {
            let b = rng.buffer(&mut buf, |h| {
                if h.len() >= 8 {
                    let n = h.len() as u16;
                    h[4..6].copy_from_slice(&n.to_be_bytes());
                    if h[0] & 1 == 0 {
                        h[6] = 0;
                        h[7] = 0;
                    } else {
                        Packet::new_unchecked(&mut h[..]).fill_checksum(SRC, DST);
                    }
                }
            });
            if let Ok(p) = Packet::new_checked(b) {
                let _ = p.payload();
                if Repr::parse(&p, SRC, DST).is_ok() {
                    ok += 1;
                }
            }
        }
        assert!(ok > 0);
    }
}
