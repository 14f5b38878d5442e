//! IPv4 headers: any bytes that parse re-emit (header without options, the
//! payload copied after it) to a packet that parses to the same `Repr` and
//! payload. A header without options, DSCP/ECN or the reserved flag is
//! represented whole, so then the emitted header equals the input apart from
//! the checksum (0x0000 and 0xffff both verify for some headers).
//!
//! The ICMP destination-unreachable message the stack builds about a parsed
//! packet must itself round-trip through the ICMP parser, quoting this header.
#![no_main]

use igbpoll_stack::wire::{icmp, IcmpPacket, IcmpRepr, Ipv4Packet, Ipv4Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let _ = (packet.options().len(), packet.is_fragment(), packet.dscp());
    let Ok(repr) = Ipv4Repr::parse(&packet) else {
        return;
    };
    assert_eq!(repr.payload_len, packet.payload().len());
    assert_eq!(repr.total_len(), repr.buffer_len() + repr.payload_len);

    // Dirty buffer: the complement of the input, cycled.
    let mut buf: Vec<u8> = data
        .iter()
        .cycle()
        .take(repr.total_len())
        .map(|b| !b)
        .collect();
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[repr.buffer_len()..].copy_from_slice(packet.payload());

    let again = Ipv4Packet::new_checked(&buf[..]).expect("emitted packet fails check_len");
    assert_eq!(again.header_len(), repr.buffer_len());
    assert_eq!(Ipv4Repr::parse(&again), Ok(repr));
    assert_eq!(again.payload(), packet.payload());

    let simple = packet.header_len() == 20 && data[1] == 0 && data[6] & 0x80 == 0;
    if simple {
        assert_eq!(
            buf[..10],
            data[..10],
            "emitted header differs before the checksum"
        );
        assert_eq!(
            buf[12..20],
            data[12..20],
            "emitted header differs after the checksum"
        );
    }

    // What the interface would send back for an unreachable port.
    let unreachable = IcmpRepr::dst_unreachable(icmp::DstUnreachable::PORT_UNREACHABLE, &packet)
        .expect("dst_unreachable refuses a parsed packet");
    let mut msg = vec![0x5au8; unreachable.buffer_len()];
    unreachable.emit(&mut IcmpPacket::new_unchecked(&mut msg[..]));
    let msg_packet = IcmpPacket::new_checked(&msg[..]).expect("emitted ICMP fails check_len");
    match IcmpRepr::parse(&msg_packet) {
        Ok(IcmpRepr::DstUnreachable {
            reason,
            header,
            data: quoted,
        }) => {
            assert_eq!(reason, icmp::DstUnreachable::PORT_UNREACHABLE);
            assert_eq!(header, repr);
            let n = packet.payload().len().min(icmp::QUOTED_PAYLOAD_LEN);
            assert_eq!(quoted, &packet.payload()[..n]);
        }
        other => panic!("destination unreachable parsed as {other:?}"),
    }
});
