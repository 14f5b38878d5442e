//! ARP (RFC 826) for Ethernet and IPv4.
//!
//! The [`Packet`] view reads any hardware/protocol address lengths (`check_len`
//! honours HLEN and PLEN); [`Repr`] accepts only Ethernet/IPv4 requests and
//! replies and reports anything else as [`Error::Unsupported`].

use super::ethernet::{Address as EthernetAddress, EtherType};
use super::{read_ipv4, read_u16, write_u16, Error, Ipv4Addr, Result};

/// Hardware type 1: Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;

/// An ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation(pub u16);

impl Operation {
    /// Who has `target_protocol_addr`?
    pub const REQUEST: Operation = Operation(1);
    /// `source_protocol_addr` is at `source_hardware_addr`.
    pub const REPLY: Operation = Operation(2);
}

/// Byte offsets of the ARP fields. The address fields are given for
/// Ethernet/IPv4 (HLEN 6, PLEN 4); the getters on [`Packet`] compute them from
/// HLEN and PLEN.
pub mod field {
    use crate::wire::Field;

    /// Hardware type.
    pub const HTYPE: Field = 0..2;
    /// Protocol type (an EtherType).
    pub const PTYPE: Field = 2..4;
    /// Hardware address length.
    pub const HLEN: usize = 4;
    /// Protocol address length.
    pub const PLEN: usize = 5;
    /// Operation.
    pub const OPER: Field = 6..8;
    /// Sender hardware address (Ethernet/IPv4).
    pub const SHA: Field = 8..14;
    /// Sender protocol address (Ethernet/IPv4).
    pub const SPA: Field = 14..18;
    /// Target hardware address (Ethernet/IPv4).
    pub const THA: Field = 18..24;
    /// Target protocol address (Ethernet/IPv4).
    pub const TPA: Field = 24..28;
}

/// Length of the fixed part before the addresses.
pub const FIXED_LEN: usize = field::OPER.end;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = field::TPA.end;

/// A read/write view of an ARP packet.
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

    /// Checks that the buffer holds the fixed part and the four addresses at
    /// the lengths HLEN and PLEN announce. Trailing bytes (Ethernet padding)
    /// are allowed.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN {
            return Err(Error::Truncated);
        }
        if len < self.packet_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the ARP packet as HLEN and PLEN say (8 + 2·HLEN + 2·PLEN).
    pub fn packet_len(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// Protocol type.
    pub fn protocol_type(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    pub fn operation(&self) -> Operation {
        Operation(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    fn sha_start(&self) -> usize {
        FIXED_LEN
    }
    fn spa_start(&self) -> usize {
        self.sha_start() + usize::from(self.hardware_len())
    }
    fn tha_start(&self) -> usize {
        self.spa_start() + usize::from(self.protocol_len())
    }
    fn tpa_start(&self) -> usize {
        self.tha_start() + usize::from(self.hardware_len())
    }

    /// Sender hardware address bytes.
    pub fn source_hardware_addr(&self) -> &[u8] {
        let s = self.sha_start();
        &self.buffer.as_ref()[s..s + usize::from(self.hardware_len())]
    }

    /// Sender protocol address bytes.
    pub fn source_protocol_addr(&self) -> &[u8] {
        let s = self.spa_start();
        &self.buffer.as_ref()[s..s + usize::from(self.protocol_len())]
    }

    /// Target hardware address bytes.
    pub fn target_hardware_addr(&self) -> &[u8] {
        let s = self.tha_start();
        &self.buffer.as_ref()[s..s + usize::from(self.hardware_len())]
    }

    /// Target protocol address bytes.
    pub fn target_protocol_addr(&self) -> &[u8] {
        let s = self.tpa_start();
        &self.buffer.as_ref()[s..s + usize::from(self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE.start, value);
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE.start, value.0);
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, value: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, value.0);
    }

    /// Sets the sender hardware address (its length must equal HLEN).
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let s = self.sha_start();
        self.buffer.as_mut()[s..s + value.len()].copy_from_slice(value);
    }

    /// Sets the sender protocol address (its length must equal PLEN).
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let s = self.spa_start();
        self.buffer.as_mut()[s..s + value.len()].copy_from_slice(value);
    }

    /// Sets the target hardware address (its length must equal HLEN).
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let s = self.tha_start();
        self.buffer.as_mut()[s..s + value.len()].copy_from_slice(value);
    }

    /// Sets the target protocol address (its length must equal PLEN).
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let s = self.tpa_start();
        self.buffer.as_mut()[s..s + value.len()].copy_from_slice(value);
    }
}

/// An Ethernet/IPv4 ARP request or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// [`Operation::REQUEST`] or [`Operation::REPLY`].
    pub operation: Operation,
    /// Sender hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target hardware address (zero in a request from Linux).
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Parses a checked packet. Hardware other than Ethernet, protocols other
    /// than IPv4 and operations other than request/reply are
    /// [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != EtherType::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        let operation = packet.operation();
        if operation != Operation::REQUEST && operation != Operation::REPLY {
            return Err(Error::Unsupported);
        }
        let b = packet.buffer.as_ref();
        let mac = |range: core::ops::Range<usize>| {
            EthernetAddress::from_bytes(&b[range]).ok_or(Error::Truncated)
        };
        Ok(Repr {
            operation,
            source_hardware_addr: mac(field::SHA)?,
            source_protocol_addr: read_ipv4(b, field::SPA.start),
            target_hardware_addr: mac(field::THA)?,
            target_protocol_addr: read_ipv4(b, field::TPA.start),
        })
    }

    /// Bytes `emit` writes: 28.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into the start of `packet`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(EtherType::IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(&self.source_hardware_addr.0);
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(&self.target_hardware_addr.0);
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet;
    use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};

    /// An ARP request in the form Linux sends it (42 bytes, no padding):
    /// "who-has 10.0.0.2 tell 10.0.0.1" from 52:54:00:12:34:56.
    const LINUX_ARP_REQUEST: [u8; 42] = [
        // Ethernet: broadcast, 52:54:00:12:34:56, ARP
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
        // ARP: Ethernet, IPv4, 6, 4, request
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x0a, 0x00, 0x00, 0x01, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
    ];

    fn request_repr() -> Repr {
        Repr {
            operation: Operation::REQUEST,
            source_hardware_addr: EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    #[test]
    fn parse_linux_request_field_by_field() {
        let eth = ethernet::Packet::new_checked(&LINUX_ARP_REQUEST[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::ARP);
        let p = Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::IPV4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), Operation::REQUEST);
        assert_eq!(
            p.source_hardware_addr(),
            &[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
        );
        assert_eq!(p.source_protocol_addr(), &[10, 0, 0, 1]);
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &[10, 0, 0, 2]);
        assert_eq!(Repr::parse(&p).unwrap(), request_repr());
    }

    #[test]
    fn padded_to_60_still_parses() {
        let mut frame = [0u8; 60];
        frame[..42].copy_from_slice(&LINUX_ARP_REQUEST);
        let eth = ethernet::Packet::new_checked(&frame[..]).unwrap();
        let p = Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), request_repr());
    }

    #[test]
    fn truncated() {
        let arp = &LINUX_ARP_REQUEST[14..];
        for len in 0..arp.len() {
            assert_eq!(
                Packet::new_checked(&arp[..len]).unwrap_err(),
                Error::Truncated,
                "len {len}"
            );
        }
    }

    #[test]
    fn bogus_lengths() {
        let mut arp = [0u8; 28];
        arp.copy_from_slice(&LINUX_ARP_REQUEST[14..]);
        // HLEN 255 claims far more than the buffer holds.
        arp[4] = 255;
        assert_eq!(Packet::new_checked(&arp[..]).unwrap_err(), Error::Truncated);
        // HLEN 2 fits, but is not Ethernet.
        arp[4] = 2;
        let p = Packet::new_checked(&arp[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
        arp[4] = 6;
        arp[7] = 9; // operation 9
        let p = Packet::new_checked(&arp[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
        arp[7] = 1;
        arp[1] = 6; // hardware type 6 (IEEE 802)
        let p = Packet::new_checked(&arp[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
    }

    #[test]
    fn emit_into_dirty_buffer() {
        let mut reply = request_repr();
        reply.operation = Operation::REPLY;
        for repr in [request_repr(), reply] {
            let mut buf = [0xaau8; 40];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            assert!(buf[repr.buffer_len()..].iter().all(|&b| b == 0xaa));
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(Repr::parse(&p).unwrap(), repr);
        }
        // Emission reproduces Linux's bytes exactly.
        let mut buf = [0xaau8; 28];
        request_repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &LINUX_ARP_REQUEST[14..]);
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        let mut buf = [0u8; 64];
        let mut ok = 0usize;
        for _ in 0..FUZZ_ITERATIONS {
            let b = rng.buffer(&mut buf, |h| {
                let n = h.len().min(8);
                h[..n].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1][..n]);
            });
            if let Ok(p) = Packet::new_checked(b) {
                let _ = p.source_hardware_addr();
                let _ = p.target_protocol_addr();
                if Repr::parse(&p).is_ok() {
                    ok += 1;
                }
            }
        }
        assert!(ok > 0);
    }
}
