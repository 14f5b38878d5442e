//! Ethernet II frames, optionally with one IEEE 802.1Q VLAN tag.
//!
//! The frame check sequence is not part of the buffer: the NIC strips it.
//! Frames with a second tag (802.1ad/QinQ) are [`Error::Unsupported`].

use core::fmt;

use super::{read_u16, write_u16, Error, Result};

/// A 48-bit Ethernet (MAC) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// The broadcast address ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Address = Address([0xff; 6]);

    /// Builds an address from the first six bytes of `bytes`, or `None` if
    /// there are fewer.
    pub fn from_bytes(bytes: &[u8]) -> Option<Address> {
        bytes.get(..6)?.try_into().ok().map(Address)
    }

    /// The six octets.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the group bit is set (multicast or broadcast).
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is a unicast address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An EtherType. Unknown values are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EtherType(pub u16);

impl EtherType {
    /// Internet Protocol version 4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// Address Resolution Protocol.
    pub const ARP: EtherType = EtherType(0x0806);
    /// IEEE 802.1Q VLAN tag (customer tag).
    pub const VLAN: EtherType = EtherType(0x8100);
    /// IEEE 802.1ad service tag (QinQ); not supported.
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// Internet Protocol version 6.
    pub const IPV6: EtherType = EtherType(0x86dd);

    /// Whether this value announces a VLAN tag rather than a payload.
    pub const fn is_tag(self) -> bool {
        self.0 == Self::VLAN.0 || self.0 == Self::QINQ.0
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        EtherType(v)
    }
}

/// Byte offsets of the Ethernet header fields.
pub mod field {
    use crate::wire::{Field, Rest};

    /// Destination address.
    pub const DESTINATION: Field = 0..6;
    /// Source address.
    pub const SOURCE: Field = 6..12;
    /// EtherType, or the 802.1Q TPID (0x8100) when tagged.
    pub const ETHERTYPE: Field = 12..14;
    /// Payload of an untagged frame.
    pub const PAYLOAD: Rest = 14..;
    /// VLAN tag control information (PCP, DEI, VID) of a tagged frame.
    pub const VLAN_TCI: Field = 14..16;
    /// EtherType of the payload of a tagged frame.
    pub const INNER_ETHERTYPE: Field = 16..18;
    /// Payload of a tagged frame.
    pub const TAGGED_PAYLOAD: Rest = 18..;
}

/// Length of an untagged Ethernet header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of an Ethernet header with one 802.1Q tag.
pub const TAGGED_HEADER_LEN: usize = field::TAGGED_PAYLOAD.start;

/// A read/write view of an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Getters may panic if the buffer is
    /// shorter than the header; use for buffers you sized yourself.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the whole header, including the VLAN tag
    /// if the frame announces one. After this, no getter panics.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if len < self.header_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header length: 14, or 18 when the frame carries an 802.1Q tag.
    pub fn header_len(&self) -> usize {
        if self.ethertype() == EtherType::VLAN {
            TAGGED_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Address {
        let b = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[field::DESTINATION]);
        Address(a)
    }

    /// Source address.
    pub fn src_addr(&self) -> Address {
        let b = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[field::SOURCE]);
        Address(a)
    }

    /// The EtherType at offset 12: the payload's type, or [`EtherType::VLAN`]
    /// for a tagged frame.
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The VLAN tag control information, if the frame is 802.1Q tagged.
    pub fn vlan_tci(&self) -> Option<u16> {
        (self.ethertype() == EtherType::VLAN)
            .then(|| read_u16(self.buffer.as_ref(), field::VLAN_TCI.start))
    }

    /// The VLAN identifier (low 12 bits of the TCI), if tagged.
    pub fn vlan_id(&self) -> Option<u16> {
        self.vlan_tci().map(|tci| tci & 0x0fff)
    }

    /// The payload's EtherType: after the tag for a tagged frame, otherwise
    /// the same as [`ethertype`](Self::ethertype).
    pub fn payload_ethertype(&self) -> EtherType {
        if self.ethertype() == EtherType::VLAN {
            EtherType(read_u16(self.buffer.as_ref(), field::INNER_ETHERTYPE.start))
        } else {
            self.ethertype()
        }
    }

    /// Payload after the header (and tag).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Payload after the header, with the lifetime of the underlying buffer.
    pub fn payload_ref(&self) -> &'a [u8] {
        let at = self.header_len();
        &self.buffer.as_ref()[at..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType at offset 12 (use [`EtherType::VLAN`] to tag).
    pub fn set_ethertype(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, value.0);
    }

    /// Sets the VLAN TCI (offset 14; only meaningful on a tagged frame).
    pub fn set_vlan_tci(&mut self, tci: u16) {
        write_u16(self.buffer.as_mut(), field::VLAN_TCI.start, tci);
    }

    /// Sets the inner EtherType (offset 16; only meaningful on a tagged frame).
    pub fn set_inner_ethertype(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::INNER_ETHERTYPE.start, value.0);
    }

    /// Mutable payload after the header (and tag).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

/// The meaning of an Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Address,
    /// Destination address.
    pub dst_addr: Address,
    /// VLAN tag control information, for an 802.1Q tagged frame.
    pub vlan_tci: Option<u16>,
    /// The payload's EtherType (the inner one for a tagged frame).
    pub ethertype: EtherType,
}

impl Repr {
    /// Parses a checked frame. A second tag is [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        let ethertype = packet.payload_ethertype();
        if ethertype.is_tag() || packet.ethertype() == EtherType::QINQ {
            return Err(Error::Unsupported);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            vlan_tci: packet.vlan_tci(),
            ethertype,
        })
    }

    /// Header length `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        if self.vlan_tci.is_some() {
            TAGGED_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header into the start of `packet`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_dst_addr(self.dst_addr);
        packet.set_src_addr(self.src_addr);
        match self.vlan_tci {
            Some(tci) => {
                packet.set_ethertype(EtherType::VLAN);
                packet.set_vlan_tci(tci);
                packet.set_inner_ethertype(self.ethertype);
            }
            None => packet.set_ethertype(self.ethertype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};

    // Start of a real ARP request as captured on Linux (tcpdump -xx):
    // broadcast from 52:54:00:12:34:56, EtherType ARP.
    const ARP_FRAME_HEAD: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06, 0x00,
        0x01,
    ];

    const TAGGED: [u8; 20] = [
        0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x81, 0x00, 0xa0,
        0x64, 0x08, 0x00, 0x45, 0x00,
    ];

    #[test]
    fn parse_untagged() {
        let p = Packet::new_checked(&ARP_FRAME_HEAD[..]).unwrap();
        assert_eq!(p.dst_addr(), Address::BROADCAST);
        assert_eq!(p.src_addr(), Address([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
        assert_eq!(p.ethertype(), EtherType::ARP);
        assert_eq!(p.vlan_tci(), None);
        assert_eq!(p.payload(), &[0x00, 0x01]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.ethertype, EtherType::ARP);
        assert_eq!(r.vlan_tci, None);
        assert_eq!(r.buffer_len(), 14);
    }

    #[test]
    fn parse_tagged() {
        let p = Packet::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(p.ethertype(), EtherType::VLAN);
        assert_eq!(p.vlan_tci(), Some(0xa064));
        assert_eq!(p.vlan_id(), Some(100));
        assert_eq!(p.payload_ethertype(), EtherType::IPV4);
        assert_eq!(p.header_len(), 18);
        assert_eq!(p.payload(), &[0x45, 0x00]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.vlan_tci, Some(0xa064));
        assert_eq!(r.ethertype, EtherType::IPV4);
        assert_eq!(r.buffer_len(), 18);
    }

    #[test]
    fn truncated() {
        for len in 0..14 {
            assert_eq!(
                Packet::new_checked(&ARP_FRAME_HEAD[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        for len in 14..18 {
            assert_eq!(
                Packet::new_checked(&TAGGED[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        assert!(Packet::new_checked(&TAGGED[..18]).is_ok());
    }

    #[test]
    fn double_tag_unsupported() {
        let mut f = TAGGED;
        f[16] = 0x81;
        f[17] = 0x00;
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
        f[12] = 0x88;
        f[13] = 0xa8;
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Unsupported);
    }

    #[test]
    fn emit_into_dirty_buffer() {
        for vlan_tci in [None, Some(0x2005)] {
            let repr = Repr {
                src_addr: Address([2, 0, 0, 0, 0, 1]),
                dst_addr: Address([2, 0, 0, 0, 0, 2]),
                vlan_tci,
                ethertype: EtherType::IPV4,
            };
            let mut buf = [0xaau8; 64];
            let mut p = Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut p);
            let n = repr.buffer_len();
            assert!(buf[n..].iter().all(|&b| b == 0xaa));
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(Repr::parse(&p).unwrap(), repr);
            assert_eq!(p.header_len(), n);
        }
    }

    #[test]
    fn address_helpers() {
        assert!(Address::BROADCAST.is_broadcast());
        assert!(Address::BROADCAST.is_multicast());
        assert!(Address([0x52, 0x54, 0, 0, 0, 1]).is_unicast());
        assert_eq!(Address::from_bytes(&[1, 2, 3]), None);
        assert_eq!(
            Address([0x52, 0x54, 0, 0x12, 0x34, 0x56]).to_string(),
            "52:54:00:12:34:56"
        );
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut buf = [0u8; 64];
        let mut ok = 0usize;
        for _ in 0..FUZZ_ITERATIONS {
            let b = rng.buffer(&mut buf, |h| {
                if h.len() >= 14 {
                    h[12..14].copy_from_slice(&[0x81, 0x00]);
                }
            });
            if let Ok(p) = Packet::new_checked(b) {
                let _ = p.payload();
                let _ = p.payload_ethertype();
                if Repr::parse(&p).is_ok() {
                    ok += 1;
                }
            }
        }
        assert!(ok > 0);
    }
}
