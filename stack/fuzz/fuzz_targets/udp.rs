//! UDP datagrams. The input is the source and destination IPv4 addresses of
//! the pseudo-header (4 bytes each) followed by the datagram. Any datagram that
//! parses re-emits into a buffer of `buffer_len()` that parses, for the same
//! addresses, to the same `Repr`, with a checksum that is never zero.
#![no_main]

use igbpoll_stack::wire::{Ipv4Addr, UdpPacket, UdpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((addrs, data)) = input.split_first_chunk::<8>() else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
    let Ok(packet) = UdpPacket::new_checked(data) else {
        return;
    };
    let _ = (packet.src_port(), packet.checksum(), packet.payload().len());
    let Ok(repr) = UdpRepr::parse(&packet, src, dst) else {
        return;
    };
    let len = repr.buffer_len();
    assert_eq!(len, usize::from(packet.len()));

    let mut buf: Vec<u8> = data[..len].iter().map(|b| !b).collect();
    repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst);

    let again = UdpPacket::new_checked(&buf[..]).expect("emitted datagram fails check_len");
    assert_ne!(again.checksum(), 0, "emit sent no checksum");
    assert!(again.verify_checksum(src, dst));
    assert_eq!(UdpRepr::parse(&again, src, dst), Ok(repr));
    assert_eq!(buf[..6], data[..6], "ports or length differ");
    assert_eq!(buf[8..], data[8..len], "payload differs");
});
