//! Every wire parser of igbpoll-stack on arbitrary bytes: the first byte picks
//! the format, the next eight give the pseudo-header addresses, the rest is the
//! packet. Whatever parses must emit into a buffer of `buffer_len()` and parse
//! back to the same representation (the round-trip property), and nothing may
//! panic.
#![no_main]

use igbpoll_stack::wire::{
    ArpPacket, ArpRepr, EthernetPacket, EthernetRepr, IcmpPacket, IcmpRepr, Ipv4Addr,
    Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if input.len() < 9 {
        return;
    }
    let src = Ipv4Addr::new(input[1], input[2], input[3], input[4]);
    let dst = Ipv4Addr::new(input[5], input[6], input[7], input[8]);
    let data = &input[9..];
    match input[0] % 6 {
        0 => {
            if let Ok(p) = EthernetPacket::new_checked(data) {
                if let Ok(r) = EthernetRepr::parse(&p) {
                    let mut out = vec![0xa5; r.buffer_len()];
                    r.emit(&mut EthernetPacket::new_unchecked(&mut out[..]));
                    let q = EthernetPacket::new_checked(&out[..]).expect("emitted header checks");
                    assert_eq!(EthernetRepr::parse(&q).expect("emitted header parses"), r);
                }
            }
        }
        1 => {
            if let Ok(p) = ArpPacket::new_checked(data) {
                if let Ok(r) = ArpRepr::parse(&p) {
                    let mut out = vec![0xa5; r.buffer_len()];
                    r.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
                    let q = ArpPacket::new_checked(&out[..]).expect("emitted ARP checks");
                    assert_eq!(ArpRepr::parse(&q).expect("emitted ARP parses"), r);
                }
            }
        }
        2 => {
            if let Ok(p) = Ipv4Packet::new_checked(data) {
                if let Ok(r) = Ipv4Repr::parse(&p) {
                    let mut out = vec![0xa5; r.buffer_len() + r.payload_len];
                    r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
                    let q = Ipv4Packet::new_checked(&out[..]).expect("emitted IPv4 checks");
                    assert_eq!(Ipv4Repr::parse(&q).expect("emitted IPv4 parses"), r);
                }
            }
        }
        3 => {
            if let Ok(p) = IcmpPacket::new_checked(data) {
                if let Ok(r) = IcmpRepr::parse(&p) {
                    let mut out = vec![0xa5; r.buffer_len()];
                    r.emit(&mut IcmpPacket::new_unchecked(&mut out[..]));
                    let q = IcmpPacket::new_checked(&out[..]).expect("emitted ICMP checks");
                    assert_eq!(IcmpRepr::parse(&q).expect("emitted ICMP parses"), r);
                }
            }
        }
        4 => {
            if let Ok(p) = UdpPacket::new_checked(data) {
                if let Ok(r) = UdpRepr::parse(&p, src, dst) {
                    let mut out = vec![0xa5; r.buffer_len()];
                    r.emit(&mut UdpPacket::new_unchecked(&mut out[..]), src, dst);
                    let q = UdpPacket::new_checked(&out[..]).expect("emitted UDP checks");
                    assert_eq!(UdpRepr::parse(&q, src, dst).expect("emitted UDP parses"), r);
                }
            }
        }
        _ => {
            if let Ok(p) = TcpPacket::new_checked(data) {
                if let Ok(r) = TcpRepr::parse(&p, src, dst) {
                    let mut out = vec![0xa5; r.buffer_len()];
                    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
                    let q = TcpPacket::new_checked(&out[..]).expect("emitted TCP checks");
                    assert_eq!(TcpRepr::parse(&q, src, dst).expect("emitted TCP parses"), r);
                }
            }
        }
    }
});
