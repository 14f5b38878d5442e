//! Ethernet (and 802.1Q) frames: any bytes that parse re-emit to the same
//! header, byte for byte (every header field is represented), and re-parse to
//! the same `Repr`.
#![no_main]

use igbpoll_stack::wire::{EthernetPacket, EthernetRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = EthernetPacket::new_checked(data) else {
        return;
    };
    // After check_len no getter may panic.
    let _ = (
        packet.vlan_id(),
        packet.payload_ethertype(),
        packet.payload().len(),
    );
    let Ok(repr) = EthernetRepr::parse(&packet) else {
        return;
    };
    let len = repr.buffer_len();
    assert_eq!(len, packet.header_len());
    assert_eq!(packet.payload().len(), data.len() - len);

    // Emit into a dirty buffer of exactly buffer_len(): the complement of the
    // input, so a byte emit forgets to write cannot match by chance.
    let mut buf: Vec<u8> = data[..len].iter().map(|b| !b).collect();
    repr.emit(&mut EthernetPacket::new_unchecked(&mut buf[..]));
    assert_eq!(
        buf,
        data[..len],
        "emitted header differs from the parsed one"
    );

    let again = EthernetPacket::new_checked(&buf[..]).expect("emitted frame fails check_len");
    assert_eq!(EthernetRepr::parse(&again), Ok(repr));
});
