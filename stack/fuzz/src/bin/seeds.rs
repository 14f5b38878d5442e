//! Writes a seed corpus for the `wire` target into the directory given: one
//! valid packet of each kind the parsers handle, built with the stack's own
//! emitters, prefixed with the target's selector byte and pseudo-header
//! addresses.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use igbpoll_stack::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetPacket, EthernetRepr,
    IcmpPacket, IcmpRepr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn prefixed(selector: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(&SRC.octets());
    v.extend_from_slice(&DST.octets());
    v.extend_from_slice(body);
    v
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: seeds DIR"));
    std::fs::create_dir_all(&dir).expect("corpus dir");
    let mac_a = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    let mac_b = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
    let mut seeds: Vec<(&str, Vec<u8>)> = Vec::new();

    for vlan in [None, Some(100)] {
        let r = EthernetRepr {
            src_addr: mac_b,
            dst_addr: mac_a,
            vlan_tci: vlan,
            ethertype: EtherType::IPV4,
        };
        let mut b = vec![0u8; r.buffer_len() + 46];
        r.emit(&mut EthernetPacket::new_unchecked(&mut b[..]));
        seeds.push(("ethernet", prefixed(0, &b)));
    }

    let arp = ArpRepr {
        operation: ArpOperation::REQUEST,
        source_hardware_addr: mac_b,
        source_protocol_addr: SRC,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: DST,
    };
    let mut b = vec![0u8; arp.buffer_len()];
    arp.emit(&mut ArpPacket::new_unchecked(&mut b[..]));
    seeds.push(("arp", prefixed(1, &b)));

    let ip = Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        protocol: IpProtocol::UDP,
        payload_len: 12,
        ttl: 64,
        ident: 7,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut b = vec![0u8; ip.buffer_len() + 12];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut b[..]));
    seeds.push(("ipv4", prefixed(2, &b)));

    let echo = IcmpRepr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: b"abcdefgh",
    };
    let mut b = vec![0u8; echo.buffer_len()];
    echo.emit(&mut IcmpPacket::new_unchecked(&mut b[..]));
    seeds.push(("icmp", prefixed(3, &b)));

    let udp = UdpRepr {
        src_port: 40000,
        dst_port: 7,
        payload: b"hello",
    };
    let mut b = vec![0u8; udp.buffer_len()];
    udp.emit(&mut UdpPacket::new_unchecked(&mut b[..]), SRC, DST);
    seeds.push(("udp", prefixed(4, &b)));

    let syn = TcpRepr {
        src_port: 51000,
        dst_port: 80,
        seq: TcpSeqNumber(1),
        ack: TcpSeqNumber(0),
        flags: TcpFlags::SYN,
        window: 64240,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 0)),
        },
        payload: &[],
    };
    let data = TcpRepr {
        flags: TcpFlags::ACK | TcpFlags::PSH,
        options: TcpOptions::default(),
        payload: b"GET / HTTP/1.1\r\n\r\n",
        ..syn
    };
    for (i, r) in [syn, data].iter().enumerate() {
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), SRC, DST);
        seeds.push((if i == 0 { "tcp-syn" } else { "tcp-data" }, prefixed(5, &b)));
    }

    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }
}
