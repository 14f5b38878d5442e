//! ICMPv4 (RFC 792): echo request and reply, and destination unreachable.
//!
//! The [`Packet`] view is over the whole ICMP message (the IPv4 payload), as
//! the checksum covers all of it. [`Repr`] borrows the echo data or the
//! quoted bytes from the packet's buffer.

use super::checksum;
use super::ipv4::{self, Repr as Ipv4Repr};
use super::{read_u16, write_u16, Error, Result};

/// An ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message(pub u8);

impl Message {
    /// Echo reply.
    pub const ECHO_REPLY: Message = Message(0);
    /// Destination unreachable.
    pub const DST_UNREACHABLE: Message = Message(3);
    /// Echo request.
    pub const ECHO_REQUEST: Message = Message(8);
}

/// A destination-unreachable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DstUnreachable(pub u8);

impl DstUnreachable {
    /// Net unreachable.
    pub const NET_UNREACHABLE: DstUnreachable = DstUnreachable(0);
    /// Host unreachable.
    pub const HOST_UNREACHABLE: DstUnreachable = DstUnreachable(1);
    /// Protocol unreachable.
    pub const PROTO_UNREACHABLE: DstUnreachable = DstUnreachable(2);
    /// Port unreachable (the answer to a datagram for a closed UDP port).
    pub const PORT_UNREACHABLE: DstUnreachable = DstUnreachable(3);
    /// Fragmentation needed and DF set.
    pub const FRAG_REQUIRED: DstUnreachable = DstUnreachable(4);
}

/// Byte offsets of the ICMP fields.
pub mod field {
    use crate::wire::{Field, Rest};

    /// Message type.
    pub const TYPE: usize = 0;
    /// Message code.
    pub const CODE: usize = 1;
    /// Checksum over the whole message.
    pub const CHECKSUM: Field = 2..4;
    /// Echo identifier.
    pub const ECHO_IDENT: Field = 4..6;
    /// Echo sequence number.
    pub const ECHO_SEQNO: Field = 6..8;
    /// Unused word of a destination-unreachable message (next-hop MTU for
    /// code 4).
    pub const UNUSED: Field = 4..8;
    /// Echo data, or the quoted IPv4 header and leading payload bytes.
    pub const DATA: Rest = 8..;
}

/// Length of the ICMP header.
pub const HEADER_LEN: usize = field::DATA.start;
/// How many bytes of the offending datagram's payload an error quotes
/// (RFC 792: the IP header plus 64 bits).
pub const QUOTED_PAYLOAD_LEN: usize = 8;

/// A read/write view of an ICMP message.
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

    /// Checks that the buffer holds the 8-byte header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type.
    pub fn msg_type(&self) -> Message {
        Message(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// Whether the checksum over the whole buffer verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }

    /// Bytes after the header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Bytes after the header, with the lifetime of the underlying buffer.
    pub fn data_ref(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::DATA]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Message) {
        self.buffer.as_mut()[field::TYPE] = value.0;
    }

    /// Sets the message code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO.start, value);
    }

    /// Zeroes the unused word of an error message.
    pub fn clear_unused(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    /// Mutable bytes after the header.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA]
    }

    /// Computes and writes the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

/// The meaning of an ICMP message this stack handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo request ("ping").
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data to echo back.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echoed data.
        data: &'a [u8],
    },
    /// Destination unreachable, quoting the offending datagram.
    DstUnreachable {
        /// Why.
        reason: DstUnreachable,
        /// The offending datagram's IPv4 header (its `payload_len` is the
        /// original's, not what is quoted).
        header: Ipv4Repr,
        /// The quoted leading bytes of the offending datagram's payload.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses a checked message: checksum ([`Error::Checksum`]), echo code 0
    /// ([`Error::Malformed`]), the quoted IPv4 header of an error (version 4,
    /// IHL at least 5 and within the message; its own checksum is not
    /// checked, since the ICMP checksum covers it). Other message types are
    /// [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = packet.data_ref();
        match (packet.msg_type(), packet.msg_code()) {
            (Message::ECHO_REQUEST, 0) => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::ECHO_REPLY, 0) => Ok(Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::ECHO_REQUEST | Message::ECHO_REPLY, _) => Err(Error::Malformed),
            (Message::DST_UNREACHABLE, code) => {
                if data.len() < ipv4::HEADER_LEN {
                    return Err(Error::Truncated);
                }
                // The quoted header's total length is the original's, longer
                // than what is quoted, so Ipv4Packet::check_len does not apply.
                let ip = ipv4::Packet::new_unchecked(data);
                if ip.version() != 4 || ip.header_len() < ipv4::HEADER_LEN {
                    return Err(Error::Malformed);
                }
                if data.len() < ip.header_len() {
                    return Err(Error::Truncated);
                }
                if usize::from(ip.total_len()) < ip.header_len() {
                    return Err(Error::Malformed);
                }
                Ok(Repr::DstUnreachable {
                    reason: DstUnreachable(code),
                    header: Ipv4Repr::from_header(&ip),
                    data: &data[ip.header_len()..],
                })
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// A destination-unreachable message about `original`, a checked IPv4
    /// packet: quotes its header and the first 8 bytes of its payload.
    pub fn dst_unreachable<T: AsRef<[u8]> + ?Sized>(
        reason: DstUnreachable,
        original: &ipv4::Packet<&'a T>,
    ) -> Result<Repr<'a>> {
        original.check_len()?;
        let payload = original.payload_ref();
        Ok(Repr::DstUnreachable {
            reason,
            header: Ipv4Repr::from_header(original),
            data: &payload[..payload.len().min(QUOTED_PAYLOAD_LEN)],
        })
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
            Repr::DstUnreachable { data, .. } => HEADER_LEN + ipv4::HEADER_LEN + data.len(),
        }
    }

    /// Writes the message and its checksum into `packet`, whose buffer must
    /// be exactly [`buffer_len`](Self::buffer_len) long (the checksum covers
    /// the whole buffer).
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let msg = if matches!(self, Repr::EchoRequest { .. }) {
                    Message::ECHO_REQUEST
                } else {
                    Message::ECHO_REPLY
                };
                packet.set_msg_type(msg);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                packet.data_mut()[..data.len()].copy_from_slice(data);
            }
            Repr::DstUnreachable {
                reason,
                header,
                data,
            } => {
                packet.set_msg_type(Message::DST_UNREACHABLE);
                packet.set_msg_code(reason.0);
                packet.clear_unused();
                let out = packet.data_mut();
                header.emit(&mut ipv4::Packet::new_unchecked(
                    &mut out[..ipv4::HEADER_LEN],
                ));
                out[ipv4::HEADER_LEN..ipv4::HEADER_LEN + data.len()].copy_from_slice(data);
            }
        }
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::Protocol;
    use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};
    use crate::wire::Ipv4Addr;

    /// An echo request as Linux `ping` sends it: IPv4 10.0.0.1 -> 10.0.0.2,
    /// DF, TTL 64, ident 0x002a, seq 1, 56 bytes of data (a 16-byte
    /// timestamp, then 0x10..=0x37).
    const LINUX_PING: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0x5b, 0x2a, 0x40, 0x00, 0x40, 0x01, 0xcb, 0x7c, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0x73, 0x50, 0x00, 0x2a, 0x00, 0x01, 0x5f, 0x0e,
        0x8a, 0x66, 0x00, 0x00, 0x00, 0x00, 0xd1, 0x3c, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e,
        0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    #[test]
    fn parse_linux_ping_field_by_field() {
        let ip = ipv4::Packet::new_checked(&LINUX_PING[..]).unwrap();
        let ip_repr = Ipv4Repr::parse(&ip).unwrap();
        assert_eq!(ip_repr.src_addr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(ip_repr.dst_addr, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(ip_repr.protocol, Protocol::ICMP);
        assert_eq!(ip_repr.payload_len, 64);
        assert_eq!(ip_repr.ttl, 64);
        assert_eq!(ip_repr.ident, 0x5b2a);
        assert!(ip_repr.dont_frag);
        let p = Packet::new_checked(ip.payload_ref()).unwrap();
        assert_eq!(p.msg_type(), Message::ECHO_REQUEST);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x7350);
        assert_eq!(p.echo_ident(), 0x002a);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.data().len(), 56);
        assert!(p.verify_checksum());
        let repr = Repr::parse(&p).unwrap();
        assert_eq!(
            repr,
            Repr::EchoRequest {
                ident: 0x2a,
                seq_no: 1,
                data: &LINUX_PING[28..]
            }
        );
        // Re-emission reproduces the message byte for byte.
        let mut buf = [0xaau8; 64];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &LINUX_PING[20..]);
    }

    #[test]
    fn echo_reply_round_trip_in_dirty_buffer() {
        let data = [1u8, 2, 3, 4, 5];
        let repr = Repr::EchoReply {
            ident: 7,
            seq_no: 0xfffe,
            data: &data,
        };
        let mut buf = [0xaau8; 13];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), repr);
    }

    #[test]
    fn port_unreachable_quotes_header_and_8_bytes() {
        // A UDP datagram to a closed port: 10.0.0.1:40000 -> 10.0.0.2:7.
        let udp = [
            0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x0b, 0xac, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
        ];
        let orig_repr = Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: Protocol::UDP,
            payload_len: udp.len(),
            ttl: 64,
            ident: 9,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let mut orig = [0u8; 34];
        orig_repr.emit(&mut ipv4::Packet::new_unchecked(&mut orig[..]));
        orig[20..].copy_from_slice(&udp);
        let orig_packet = ipv4::Packet::new_checked(&orig[..]).unwrap();

        let repr = Repr::dst_unreachable(DstUnreachable::PORT_UNREACHABLE, &orig_packet).unwrap();
        assert_eq!(repr.buffer_len(), 8 + 20 + 8);
        let mut buf = [0xaau8; 36];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..2], &[3, 3]);
        assert_eq!(&buf[4..8], &[0, 0, 0, 0]);
        // The quoted header and 8 bytes are the original's, byte for byte.
        assert_eq!(&buf[8..], &orig[..28]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        let parsed = Repr::parse(&p).unwrap();
        assert_eq!(parsed, repr);
        match parsed {
            Repr::DstUnreachable {
                reason,
                header,
                data,
            } => {
                assert_eq!(reason, DstUnreachable::PORT_UNREACHABLE);
                assert_eq!(header, orig_repr);
                assert_eq!(data, &udp[..8]);
            }
            _ => panic!("wrong variant"),
        }
    }

    #[test]
    fn truncated_and_bogus() {
        let msg = &LINUX_PING[20..];
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&msg[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        // Shorter echo data: the checksum no longer matches.
        let p = Packet::new_checked(&msg[..40]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Checksum);
        // Nonzero echo code.
        let mut m = msg.to_vec();
        m[1] = 1;
        Packet::new_unchecked(&mut m[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&m[..]).unwrap()).unwrap_err(),
            Error::Malformed
        );
        // Unsupported type (timestamp request).
        m[0] = 13;
        m[1] = 0;
        Packet::new_unchecked(&mut m[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&m[..]).unwrap()).unwrap_err(),
            Error::Unsupported
        );
        // Destination unreachable quoting too little, or a bogus header.
        let mut du = [3u8, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17];
        Packet::new_unchecked(&mut du[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&du[..]).unwrap()).unwrap_err(),
            Error::Truncated
        );
        let mut du = [0u8; 28];
        du[0] = 3;
        du[8] = 0x4f; // IHL 15: 60 bytes, only 20 quoted
        Packet::new_unchecked(&mut du[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&du[..]).unwrap()).unwrap_err(),
            Error::Truncated
        );
        du[8] = 0x43; // IHL 3
        Packet::new_unchecked(&mut du[..]).fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&du[..]).unwrap()).unwrap_err(),
            Error::Malformed
        );
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0x1357_9bdf_2468_ace0);
        let mut buf = [0u8; 80];
        let mut ok = 0usize;
        for _ in 0..FUZZ_ITERATIONS {
            let b = rng.buffer(&mut buf, |h| {
                if h.len() >= 8 {
                    let r = h[3];
                    h[0] = [0, 3, 8][usize::from(r % 3)];
                    h[1] = if r & 0x80 == 0 { 0 } else { 3 };
                    if h.len() >= 9 {
                        h[8] = 0x45;
                    }
                    Packet::new_unchecked(&mut h[..]).fill_checksum();
                }
            });
            if let Ok(p) = Packet::new_checked(b) {
                if let Ok(r) = Repr::parse(&p) {
                    ok += 1;
                    let _ = r.buffer_len();
                }
            }
        }
        assert!(ok > 0);
    }
}
