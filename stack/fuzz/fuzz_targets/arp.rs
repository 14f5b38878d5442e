//! ARP packets: any bytes that parse (Ethernet/IPv4 request or reply) re-emit
//! to the same 28 bytes (every field of that form is represented) and re-parse
//! to the same `Repr`. Trailing bytes (Ethernet padding) are ignored.
#![no_main]

use igbpoll_stack::wire::{ArpPacket, ArpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    // After check_len no getter may panic, whatever HLEN and PLEN say.
    let _ = (
        packet.source_hardware_addr().len(),
        packet.source_protocol_addr().len(),
        packet.target_hardware_addr().len(),
        packet.target_protocol_addr().len(),
    );
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };
    let len = repr.buffer_len();
    assert_eq!(len, packet.packet_len());

    let mut buf: Vec<u8> = data[..len].iter().map(|b| !b).collect();
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(
        buf,
        data[..len],
        "emitted packet differs from the parsed one"
    );

    let again = ArpPacket::new_checked(&buf[..]).expect("emitted packet fails check_len");
    assert_eq!(ArpRepr::parse(&again), Ok(repr));
});
