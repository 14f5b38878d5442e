//! TCP segments. The input is the source and destination IPv4 addresses of the
//! pseudo-header (4 bytes each) followed by the segment (the whole IP payload).
//! Any segment that parses re-emits into a buffer of `buffer_len()` that
//! parses, for the same addresses, to the same `Repr`: the options the stack
//! understands survive in its own layout, the rest of the header and the data
//! are unchanged (the ack number only where ACK gives it a meaning).
#![no_main]

use igbpoll_stack::wire::{Ipv4Addr, TcpFlags, TcpOptions, TcpPacket, TcpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((addrs, data)) = input.split_first_chunk::<8>() else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
    let Ok(packet) = TcpPacket::new_checked(data) else {
        return;
    };
    // After check_len no getter may panic, and the option parser takes any
    // option bytes.
    let _ = (
        packet.urgent(),
        packet.payload().len(),
        TcpOptions::parse(packet.options()),
    );
    let Ok(repr) = TcpRepr::parse(&packet, src, dst) else {
        return;
    };
    assert_eq!(repr.payload, packet.payload());
    let len = repr.buffer_len();

    let mut buf: Vec<u8> = data.iter().cycle().take(len).map(|b| !b).collect();
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);

    let again = TcpPacket::new_checked(&buf[..]).expect("emitted segment fails check_len");
    assert!(
        again.verify_checksum(src, dst),
        "emitted checksum does not verify"
    );
    assert_eq!(again.header_len(), repr.header_len());
    assert_eq!(TcpRepr::parse(&again, src, dst), Ok(repr));
    assert_eq!(buf[..8], data[..8], "ports or sequence number differ");
    if repr.flags.contains(TcpFlags::ACK) {
        assert_eq!(buf[8..12], data[8..12], "ack number differs");
    }
    assert_eq!(buf[13..16], data[13..16], "flags or window differ");
    assert_eq!(buf[again.header_len()..], *packet.payload(), "data differs");
});
