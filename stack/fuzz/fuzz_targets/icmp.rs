//! ICMP messages (echo request/reply, destination unreachable): any bytes that
//! parse re-emit into a buffer of `buffer_len()` that parses to the same
//! `Repr`. An echo is represented whole, so its emitted bytes equal the input
//! apart from the checksum (0x0000 and 0xffff can both verify).
#![no_main]

use igbpoll_stack::wire::{IcmpPacket, IcmpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = IcmpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.data().len(),
    );
    let Ok(repr) = IcmpRepr::parse(&packet) else {
        return;
    };
    let len = repr.buffer_len();

    let mut buf: Vec<u8> = data.iter().cycle().take(len).map(|b| !b).collect();
    repr.emit(&mut IcmpPacket::new_unchecked(&mut buf[..]));

    let again = IcmpPacket::new_checked(&buf[..]).expect("emitted message fails check_len");
    assert!(again.verify_checksum(), "emitted checksum does not verify");
    assert_eq!(IcmpRepr::parse(&again), Ok(repr));

    match repr {
        IcmpRepr::EchoRequest { .. } | IcmpRepr::EchoReply { .. } => {
            assert_eq!(len, data.len());
            assert_eq!(buf[..2], data[..2]);
            assert_eq!(
                buf[4..],
                data[4..],
                "emitted echo differs from the parsed one"
            );
        }
        IcmpRepr::DstUnreachable { data: quoted, .. } => {
            // The quoted header is emitted without its options; the quoted
            // payload follows it in both.
            let quoted_header_len = usize::from(data[8] & 0x0f) * 4;
            assert_eq!(len, data.len() - (quoted_header_len - 20));
            assert_eq!(buf[..2], data[..2]);
            assert_eq!(buf[28..], *quoted);
            assert_eq!(buf[28..], data[8 + quoted_header_len..]);
        }
    }
});
