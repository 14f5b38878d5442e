//! Writes the seed corpora of the stack's fuzz targets, so the fuzzer starts
//! from real packets rather than from nothing:
//!
//!     igbpoll-stack-fuzz-seeds OUT_DIR
//!
//! writes `OUT_DIR/<target>/seed-<name>` for every target. Every packet is
//! built with the stack's own `emit` code and checked to parse again before it
//! is written (a seed the parser refuses would only teach the fuzzer noise).
#![deny(unsafe_code)]

use std::path::Path;
use std::{env, fs, process};

use igbpoll_stack::wire::{
    icmp, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetPacket,
    EthernetRepr, IcmpPacket, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpFlags,
    TcpOptions, TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

const MAC_A: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The VLAN the iface target's interface is on when its first byte says so.
const VLAN: u16 = 100;

/// One seed: the target it is for, a file name, the bytes.
struct Seed {
    target: &'static str,
    name: &'static str,
    bytes: Vec<u8>,
}

fn arp(operation: ArpOperation, padding: usize) -> Vec<u8> {
    let repr = ArpRepr {
        operation,
        source_hardware_addr: MAC_A,
        source_protocol_addr: IP_A,
        target_hardware_addr: if operation == ArpOperation::REPLY {
            MAC_B
        } else {
            EthernetAddress([0; 6])
        },
        target_protocol_addr: IP_B,
    };
    let mut buf = vec![0u8; repr.buffer_len() + padding];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(
        ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()),
        Ok(repr)
    );
    buf
}

fn icmp_message(repr: &IcmpRepr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut IcmpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(
        IcmpRepr::parse(&IcmpPacket::new_checked(&buf[..]).unwrap()).as_ref(),
        Ok(repr)
    );
    buf
}

fn udp_datagram(src: Ipv4Addr, dst: Ipv4Addr, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 40000,
        dst_port,
        payload,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst);
    let parsed = UdpRepr::parse(&UdpPacket::new_checked(&buf[..]).unwrap(), src, dst);
    assert_eq!(parsed, Ok(repr));
    buf
}

fn tcp_segment(repr: &TcpRepr, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);
    let parsed = TcpRepr::parse(&TcpPacket::new_checked(&buf[..]).unwrap(), src, dst);
    assert_eq!(parsed.as_ref(), Ok(repr));
    buf
}

/// A SYN with the options in Linux's order and layout (MSS, SACK-permitted,
/// timestamps, NOP, window scale), unlike the stack's own, plus an unknown
/// option the parser must skip by its length.
fn linux_style_syn(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut s = vec![
        0xc7, 0x38, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0xb0, 0x02, 0xfa, 0xf0, 0, 0,
        0, 0, // fixed header, data offset 11
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x01,
        0x03, 0x03, 0x07, // MSS, SACK-permitted, timestamps, NOP, window scale
        0xfd, 0x04, 0xbe, 0xef, // experimental option (RFC 6994)
    ];
    let mut p = TcpPacket::new_unchecked(&mut s[..]);
    p.fill_checksum(src, dst);
    let parsed = TcpRepr::parse(&TcpPacket::new_checked(&s[..]).unwrap(), src, dst).unwrap();
    assert_eq!(parsed.options.mss, Some(1460));
    assert_eq!(parsed.options.window_scale, Some(7));
    s
}

/// An IPv4 packet around `payload`.
fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    payload: &[u8],
    frag: (bool, u16),
) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: payload.len(),
        ttl: 64,
        ident: 0x1234,
        dont_frag: !frag.0 && frag.1 == 0,
        more_frags: frag.0,
        frag_offset: frag.1,
    };
    let mut buf = vec![0u8; repr.total_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[repr.buffer_len()..].copy_from_slice(payload);
    assert_eq!(
        Ipv4Repr::parse(&Ipv4Packet::new_checked(&buf[..]).unwrap()),
        Ok(repr)
    );
    buf
}

/// The same packet with a 4-byte options field (NOP NOP NOP EOL) after the
/// fixed header, length fields and checksum adjusted.
fn with_options(packet: &[u8]) -> Vec<u8> {
    let mut out = packet[..20].to_vec();
    out.extend_from_slice(&[1, 1, 1, 0]);
    out.extend_from_slice(&packet[20..]);
    let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
    p.set_version_and_header_len(4, 24);
    p.set_total_len(u16::try_from(packet.len() + 4).unwrap());
    p.fill_checksum();
    assert!(Ipv4Repr::parse(&Ipv4Packet::new_checked(&out[..]).unwrap()).is_ok());
    out
}

fn ethernet(
    dst: EthernetAddress,
    vlan_tci: Option<u16>,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: MAC_A,
        dst_addr: dst,
        vlan_tci,
        ethertype,
    };
    let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
    repr.emit(&mut EthernetPacket::new_unchecked(&mut buf[..]));
    buf[repr.buffer_len()..].copy_from_slice(payload);
    assert_eq!(
        EthernetRepr::parse(&EthernetPacket::new_checked(&buf[..]).unwrap()),
        Ok(repr)
    );
    buf
}

/// The UDP and TCP targets' input: pseudo-header addresses, then the datagram.
fn with_addrs(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
    let mut out = src.octets().to_vec();
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(segment);
    out
}

/// The iface target's records (see fuzz_targets/iface.rs): its input.
struct IfaceInput(Vec<u8>);

impl IfaceInput {
    fn new(vlan: bool) -> IfaceInput {
        IfaceInput(vec![u8::from(vlan), 0])
    }
    /// A received frame, `step` × 8 ms after the previous record.
    fn frame(mut self, step: u8, frame: &[u8]) -> IfaceInput {
        self.0.push(0);
        self.0.push(step);
        self.0
            .extend_from_slice(&u16::try_from(frame.len()).unwrap().to_be_bytes());
        self.0.extend_from_slice(frame);
        self
    }
    /// A poll `step_ms` after the previous record.
    fn poll(mut self, step_ms: u16) -> IfaceInput {
        self.0.push(2);
        self.0.extend_from_slice(&step_ms.to_be_bytes());
        self
    }
    /// The application sends `len6` × 6 bytes from its first socket.
    fn udp_send(mut self, to: Ipv4Addr, port: u16, len6: u8) -> IfaceInput {
        self.0.extend_from_slice(&[3, 0]);
        self.0.extend_from_slice(&to.octets());
        self.0.extend_from_slice(&port.to_be_bytes());
        self.0.push(len6);
        self
    }
}

/// A frame from MAC_A to the iface target's interface (or to broadcast),
/// padded to the Ethernet minimum as a NIC would receive it.
fn frame_to_iface(
    broadcast: bool,
    vlan: Option<u16>,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let dst = if broadcast {
        EthernetAddress::BROADCAST
    } else {
        MAC_B
    };
    let mut f = ethernet(dst, vlan, ethertype, payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn iface_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let ping_data: Vec<u8> = (0u8..32).collect();
    let ping = icmp_message(&IcmpRepr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: &ping_data,
    });
    let ping_packet = ipv4(IP_A, IP_B, IpProtocol::ICMP, &ping, (false, 0));
    let who_has = arp(ArpOperation::REQUEST, 0);
    let is_at = {
        let repr = ArpRepr {
            operation: ArpOperation::REPLY,
            source_hardware_addr: MAC_A,
            source_protocol_addr: IP_A,
            target_hardware_addr: MAC_B,
            target_protocol_addr: IP_B,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        buf
    };
    let echo = udp_datagram(IP_A, IP_B, 7, b"echo this, please");
    let closed = udp_datagram(IP_A, IP_B, 9, b"discard");
    let echo_packet = ipv4(IP_A, IP_B, IpProtocol::UDP, &echo, (false, 0));
    let closed_packet = ipv4(IP_A, IP_B, IpProtocol::UDP, &closed, (false, 0));
    let first = ipv4(IP_A, IP_B, IpProtocol::UDP, &echo[..16], (true, 0));
    let last = ipv4(IP_A, IP_B, IpProtocol::UDP, &echo[16..], (false, 16));
    let broadcast = udp_datagram(IP_A, Ipv4Addr::BROADCAST, 5353, b"anyone?");
    let broadcast_packet = ipv4(
        IP_A,
        Ipv4Addr::BROADCAST,
        IpProtocol::UDP,
        &broadcast,
        (false, 0),
    );
    let tcp_syn = {
        let syn = TcpRepr {
            src_port: 51000,
            dst_port: 80,
            seq: TcpSeqNumber(1),
            ack: TcpSeqNumber(0),
            flags: TcpFlags::SYN,
            window: 64240,
            options: TcpOptions {
                mss: Some(1460),
                ..TcpOptions::default()
            },
            payload: &[],
        };
        ipv4(
            IP_A,
            IP_B,
            IpProtocol::TCP,
            &tcp_segment(&syn, IP_A, IP_B),
            (false, 0),
        )
    };
    let f = |b, e, p: &[u8]| frame_to_iface(b, None, e, p);
    let tagged = |p: &[u8]| frame_to_iface(false, Some(VLAN), EtherType::IPV4, p);
    vec![
        (
            "arp-then-ping",
            IfaceInput::new(false)
                .frame(0, &f(true, EtherType::ARP, &who_has))
                .frame(1, &f(false, EtherType::IPV4, &ping_packet))
                .0,
        ),
        (
            "ping-waits-for-arp",
            IfaceInput::new(false)
                .frame(0, &f(false, EtherType::IPV4, &ping_packet))
                .poll(1500)
                .frame(1, &f(false, EtherType::ARP, &is_at))
                .0,
        ),
        (
            "udp-echo-and-closed-port",
            IfaceInput::new(false)
                .frame(0, &f(false, EtherType::ARP, &is_at))
                .frame(1, &f(false, EtherType::IPV4, &echo_packet))
                .frame(1, &f(false, EtherType::IPV4, &closed_packet))
                .frame(1, &f(false, EtherType::IPV4, &broadcast_packet))
                .0,
        ),
        (
            "fragments",
            IfaceInput::new(false)
                .frame(0, &f(false, EtherType::IPV4, &last))
                .frame(2, &f(false, EtherType::IPV4, &first))
                .frame(2, &f(false, EtherType::IPV4, &first))
                .poll(11_000)
                .0,
        ),
        (
            "vlan",
            IfaceInput::new(true)
                .frame(0, &tagged(&ping_packet))
                .frame(
                    0,
                    &frame_to_iface(false, Some(0), EtherType::IPV4, &ping_packet),
                )
                .frame(
                    0,
                    &frame_to_iface(true, Some(VLAN), EtherType::ARP, &who_has),
                )
                .0,
        ),
        (
            "app-sends",
            IfaceInput::new(false)
                .udp_send(IP_A, 9000, 10)
                .udp_send(Ipv4Addr::new(192, 0, 2, 1), 53, 3)
                .udp_send(Ipv4Addr::BROADCAST, 5353, 1)
                .poll(0)
                .poll(1000)
                .frame(0, &f(false, EtherType::ARP, &is_at))
                .poll(0)
                .0,
        ),
        (
            "tcp-syn",
            IfaceInput::new(false)
                .frame(0, &f(false, EtherType::ARP, &is_at))
                .frame(0, &f(false, EtherType::IPV4, &tcp_syn))
                .0,
        ),
    ]
}

fn seeds() -> Vec<Seed> {
    let seed = |target, name, bytes| Seed {
        target,
        name,
        bytes,
    };
    let ping_data: Vec<u8> = (0u8..56).collect();
    let echo_request = icmp_message(&IcmpRepr::EchoRequest {
        ident: 0x4d2,
        seq_no: 1,
        data: &ping_data,
    });
    let echo_reply = icmp_message(&IcmpRepr::EchoReply {
        ident: 0x4d2,
        seq_no: 1,
        data: &ping_data,
    });
    let hello = udp_datagram(IP_A, IP_B, 7, b"hello\n");
    let empty_udp = udp_datagram(IP_B, IP_A, 53, b"");
    let udp_packet = ipv4(IP_A, IP_B, IpProtocol::UDP, &hello, (false, 0));
    let ping_packet = ipv4(IP_A, IP_B, IpProtocol::ICMP, &echo_request, (false, 0));
    let fragment = ipv4(IP_A, IP_B, IpProtocol::UDP, &hello[..8], (true, 0));
    let last_fragment = ipv4(IP_A, IP_B, IpProtocol::UDP, &hello[8..], (false, 8));
    let udp_packet_options = with_options(&udp_packet);
    let closed_port = Ipv4Packet::new_checked(&udp_packet[..]).unwrap();
    let unreachable = icmp_message(
        &IcmpRepr::dst_unreachable(icmp::DstUnreachable::PORT_UNREACHABLE, &closed_port).unwrap(),
    );
    let syn = TcpRepr {
        src_port: 51000,
        dst_port: 80,
        seq: TcpSeqNumber(0x0102_0304),
        ack: TcpSeqNumber(0),
        flags: TcpFlags::SYN,
        window: 64240,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((0x1122_3344, 0)),
        },
        payload: &[],
    };
    let syn_ack = TcpRepr {
        src_port: 80,
        dst_port: 51000,
        seq: TcpSeqNumber(0xfffffff0),
        ack: syn.seq.wrapping_add(1),
        flags: TcpFlags::SYN | TcpFlags::ACK,
        options: TcpOptions {
            timestamps: None,
            ..syn.options
        },
        ..syn
    };
    let request_data = TcpRepr {
        seq: syn.seq.wrapping_add(1),
        ack: syn_ack.seq.wrapping_add(1),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        options: TcpOptions::default(),
        payload: b"GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n",
        ..syn
    };
    let fin = TcpRepr {
        flags: TcpFlags::FIN | TcpFlags::ACK,
        payload: &[],
        ..request_data
    };
    let rst = TcpRepr {
        flags: TcpFlags::RST,
        ack: TcpSeqNumber(0),
        ..fin
    };
    let tcp_syn = tcp_segment(&syn, IP_A, IP_B);
    let tcp_data = tcp_segment(&request_data, IP_A, IP_B);
    let tcp_seeds = [
        ("syn", tcp_syn.clone()),
        ("syn-ack", tcp_segment(&syn_ack, IP_B, IP_A)),
        ("data", tcp_data.clone()),
        ("fin", tcp_segment(&fin, IP_A, IP_B)),
        ("rst", tcp_segment(&rst, IP_A, IP_B)),
        ("linux-syn", linux_style_syn(IP_A, IP_B)),
    ];
    let tcp_packet = ipv4(IP_A, IP_B, IpProtocol::TCP, &tcp_data, (false, 0));
    let request = arp(ArpOperation::REQUEST, 0);
    let reply = arp(ArpOperation::REPLY, 0);
    let padded_request = arp(ArpOperation::REQUEST, 18);

    let mut all = vec![
        seed(
            "ethernet",
            "arp-request",
            ethernet(
                EthernetAddress::BROADCAST,
                None,
                EtherType::ARP,
                &padded_request,
            ),
        ),
        seed(
            "ethernet",
            "vlan-ipv4",
            ethernet(MAC_B, Some(0xa064), EtherType::IPV4, &udp_packet),
        ),
        seed(
            "ethernet",
            "ipv4-ping",
            ethernet(MAC_B, None, EtherType::IPV4, &ping_packet),
        ),
        seed("arp", "request", request),
        seed("arp", "reply", reply),
        seed("arp", "request-padded", padded_request),
        seed("ipv4", "udp", udp_packet.clone()),
        seed("ipv4", "tcp", tcp_packet),
        seed("ipv4", "icmp", ping_packet),
        seed("ipv4", "first-fragment", fragment),
        seed("ipv4", "last-fragment", last_fragment),
        seed("ipv4", "options", udp_packet_options),
        seed("icmp", "echo-request", echo_request),
        seed("icmp", "echo-reply", echo_reply),
        seed("icmp", "port-unreachable", unreachable),
        seed("udp", "hello", with_addrs(IP_A, IP_B, &hello)),
        seed("udp", "empty", with_addrs(IP_B, IP_A, &empty_udp)),
    ];
    for (name, input) in iface_seeds() {
        all.push(seed("iface", name, input));
    }
    for (name, segment) in tcp_seeds {
        let (src, dst) = if name == "syn-ack" {
            (IP_B, IP_A)
        } else {
            (IP_A, IP_B)
        };
        all.push(seed("tcp", name, with_addrs(src, dst, &segment)));
    }
    all
}

fn write(out: &Path, seeds: &[Seed]) -> std::io::Result<()> {
    for s in seeds {
        let dir = out.join(s.target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{}", s.name)), &s.bytes)?;
    }
    Ok(())
}

fn main() {
    let Some(out) = env::args_os().nth(1) else {
        eprintln!("usage: igbpoll-stack-fuzz-seeds OUT_DIR");
        process::exit(2);
    };
    let seeds = seeds();
    if let Err(e) = write(Path::new(&out), &seeds) {
        eprintln!("writing seeds under {}: {e}", Path::new(&out).display());
        process::exit(1);
    }
    println!(
        "wrote {} seeds under {}",
        seeds.len(),
        Path::new(&out).display()
    );
}
