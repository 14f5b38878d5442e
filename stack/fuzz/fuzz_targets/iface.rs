//! One `Interface` fed arbitrary frames, with the clock advanced by bytes of
//! the input. Every frame it transmits is parsed again by the wire parsers and
//! must be well-formed: from our MAC and address, a header the parsers accept,
//! checksums that verify, never an IPv4 fragment, padded with zeros to the
//! Ethernet minimum and no longer than the MTU allows.
//!
//! Input: one configuration byte (bit 0: the interface is on VLAN 100), one
//! byte whose bits say which of every 8 transmissions the device refuses,
//! then records, each led by an opcode byte (low 2 bits):
//!
//! * 0, 1: a frame: a clock step (one byte, in 8 ms), a big-endian length
//!   (two bytes), the frame's bytes;
//! * 2: a poll: a clock step (two bytes, big-endian, in ms), then `poll`;
//! * 3: the application sends a UDP datagram: socket (one byte), destination
//!   address (4) and port (2), payload length (1).
//!
//! After every record the application reads what its UDP sockets received,
//! accepts TCP connections on port 80 and echoes what they received. At the
//! end the clock jumps an hour ahead and `poll` must leave no work due.
//!
//! Time is passed in and randomness seeded, so the interface should be
//! deterministic: a second interface is fed the same input and must send the
//! same frames in the same order and end with the same counters
//! (`IGBPOLL_FUZZ_DETERMINISM=0` turns this off). It found that the ARP cache
//! retried pending addresses in a `HashMap`'s random order; fixed.
#![no_main]

use std::net::SocketAddrV4;
use std::sync::OnceLock;

use igbpoll_stack::iface::{
    ArpConfig, IfaceStats, Interface, InterfaceConfig, ReassemblyConfig, TxDevice, UdpConfig,
    UdpHandle, MIN_FRAME_LEN, MTU,
};
use igbpoll_stack::tcp::{ConnHandle, ListenHandle, TcpConfig};
use igbpoll_stack::time::Instant;
use igbpoll_stack::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetPacket, EthernetRepr, IcmpPacket,
    IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};
use libfuzzer_sys::fuzz_target;

const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PREFIX_LEN: u8 = 24;
const SUBNET_BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 255);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const VLAN: u16 = 100;
const TTL: u8 = 64;
/// Ports the application binds.
const PORTS: [u16; 2] = [7, 5353];
/// The port the application's TCP echo server listens on.
const TCP_PORT: u16 = 80;

/// A device that checks every frame the interface writes, handing it a dirty
/// buffer each time, and refuses the transmissions `refuse` names.
struct CheckingDevice {
    vlan_id: Option<u16>,
    refuse: u8,
    count: u32,
    /// FNV-1a over every frame sent, with its length.
    digest: u64,
}

impl CheckingDevice {
    fn record(&mut self, frame: &[u8]) {
        let len = (frame.len() as u64).to_le_bytes();
        for &b in len.iter().chain(frame) {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl TxDevice for CheckingDevice {
    fn transmit<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> bool {
        let k = self.count;
        self.count = self.count.wrapping_add(1);
        if self.refuse & (1 << (k % 8)) != 0 {
            return false;
        }
        assert!(len >= MIN_FRAME_LEN, "frame of {len} bytes is not padded");
        assert!(len <= 18 + MTU, "frame of {len} bytes exceeds the MTU");
        let mut buf = vec![0xa5 ^ (k as u8); len];
        fill(&mut buf);
        check_frame(&buf, self.vlan_id);
        self.record(&buf);
        true
    }
}

/// Asserts that an outgoing frame is well-formed.
fn check_frame(frame: &[u8], vlan_id: Option<u16>) {
    let eth = EthernetPacket::new_checked(frame).expect("sent frame fails check_len");
    let repr = EthernetRepr::parse(&eth).expect("sent Ethernet header does not parse");
    assert_eq!(repr.src_addr, EthernetAddress(MAC), "sent from another MAC");
    assert!(repr.dst_addr.is_unicast() || repr.dst_addr.is_broadcast());
    assert_ne!(repr.dst_addr, EthernetAddress(MAC), "sent to ourselves");
    if let Some(tci) = repr.vlan_tci {
        let vid = tci & 0x0fff;
        assert!(vid == 0 || Some(vid) == vlan_id, "sent on VLAN {vid}");
    }
    let payload = eth.payload();
    let used = match repr.ethertype {
        EtherType::ARP => {
            let arp = ArpPacket::new_checked(payload).expect("sent ARP fails check_len");
            let arp_repr = ArpRepr::parse(&arp).expect("sent ARP does not parse");
            assert_eq!(arp_repr.source_hardware_addr, EthernetAddress(MAC));
            assert_eq!(arp_repr.source_protocol_addr, IP);
            arp_repr.buffer_len()
        }
        EtherType::IPV4 => check_ipv4(payload, repr.dst_addr.is_broadcast()),
        other => panic!("sent EtherType {:#06x}", other.0),
    };
    assert!(
        payload[used..].iter().all(|&b| b == 0),
        "padding after {used} bytes is not zero"
    );
    if eth.header_len() + used >= MIN_FRAME_LEN {
        assert_eq!(payload.len(), used, "frame longer than its packet");
    }
}

/// Asserts that an outgoing IPv4 packet is well-formed; returns its length.
fn check_ipv4(data: &[u8], eth_broadcast: bool) -> usize {
    let ip = Ipv4Packet::new_checked(data).expect("sent IPv4 fails check_len");
    let repr = Ipv4Repr::parse(&ip).expect("sent IPv4 header does not parse");
    assert_eq!(ip.header_len(), 20);
    assert_eq!(repr.src_addr, IP, "sent from another address");
    assert_eq!(repr.ttl, TTL);
    assert!(!repr.more_frags && repr.frag_offset == 0, "sent a fragment");
    assert!(repr.total_len() <= MTU);
    let dst = repr.dst_addr;
    let ip_broadcast = dst.is_broadcast() || dst == SUBNET_BROADCAST;
    assert_eq!(
        eth_broadcast, ip_broadcast,
        "broadcast frame and address disagree for {dst}"
    );
    assert!(dst != IP && !dst.is_unspecified() && !dst.is_loopback() && !dst.is_multicast());
    let payload = ip.payload();
    match repr.protocol {
        IpProtocol::ICMP => {
            let icmp = IcmpPacket::new_checked(payload).expect("sent ICMP fails check_len");
            match IcmpRepr::parse(&icmp).expect("sent ICMP does not parse") {
                IcmpRepr::EchoReply { .. } => assert!(!ip_broadcast, "echo reply to a broadcast"),
                IcmpRepr::DstUnreachable { header, .. } => {
                    assert!(!ip_broadcast, "ICMP error to a broadcast");
                    assert_eq!(header.dst_addr, IP, "ICMP error about a packet not for us");
                    assert_eq!(header.src_addr, dst, "ICMP error not to the sender");
                }
                other => panic!("sent ICMP {other:?}"),
            }
        }
        IpProtocol::UDP => {
            let udp = UdpPacket::new_checked(payload).expect("sent UDP fails check_len");
            let udp_repr = UdpRepr::parse(&udp, IP, dst).expect("sent UDP does not parse");
            assert_ne!(udp.checksum(), 0, "sent UDP without a checksum");
            assert!(PORTS.contains(&udp_repr.src_port), "sent from unbound port");
            assert_eq!(udp_repr.buffer_len(), payload.len());
        }
        IpProtocol::TCP => {
            let tcp = TcpPacket::new_checked(payload).expect("sent TCP fails check_len");
            TcpRepr::parse(&tcp, IP, dst).expect("sent TCP does not parse");
        }
        other => panic!("sent IP protocol {}", other.0),
    }
    repr.total_len()
}

/// Reads the input front to back; running out reads as zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

fn config(vlan: bool) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(MAC, IP, PREFIX_LEN);
    c.gateway = Some(GATEWAY);
    c.vlan_id = vlan.then_some(VLAN);
    c.ttl = TTL;
    // Small bounds, so that inputs reach them.
    c.arp = ArpConfig {
        capacity: 4,
        queue_len: 2,
        ..ArpConfig::default()
    };
    c.reassembly = ReassemblyConfig {
        max_datagrams: 2,
        max_size: 3000,
        max_fragments: 8,
        ..ReassemblyConfig::default()
    };
    c.tcp = TcpConfig {
        rx_buffer: 4096,
        tx_buffer: 4096,
        max_connections: 4,
        max_half_open: 2,
        ..TcpConfig::default()
    };
    c.udp = UdpConfig {
        max_sockets: 4,
        rx_queue_len: 4,
        rx_buffer_bytes: 4096,
        tx_queue_len: 4,
        tx_buffer_bytes: 4096,
    };
    c
}

/// The application: reads its UDP sockets; accepts TCP connections and
/// echoes what they receive.
fn drain(iface: &mut Interface, listener: ListenHandle, conns: &mut Vec<ConnHandle>) {
    let mut buf = [0u8; 2048];
    let tcp = iface.tcp_mut();
    while let Some(h) = tcp.accept(listener) {
        conns.push(h);
    }
    conns.retain(|&h| tcp.state(h).is_some());
    for &h in conns.iter() {
        if let Ok(n) = tcp.recv(h, &mut buf) {
            assert!(n <= buf.len(), "recv says it copied {n} bytes");
            let _ = tcp.send(h, &buf[..n]);
        }
    }
    while tcp.next_event().is_some() {}
    while let Some(handle) = iface.next_udp_readable() {
        while let Some((_from, n)) = iface.udp_recv(handle, &mut buf) {
            assert!(n <= buf.len(), "udp_recv says it copied {n} bytes");
        }
    }
}

/// Runs the whole input through a new interface; returns what the device saw
/// (transmissions asked for, digest of the frames sent) and the counters.
fn run(data: &[u8]) -> (u32, u64, IfaceStats) {
    let mut input = Input(data);
    let vlan = input.u8() & 1 != 0;
    let mut dev = CheckingDevice {
        vlan_id: vlan.then_some(VLAN),
        refuse: input.u8(),
        count: 0,
        digest: 0xcbf2_9ce4_8422_2325,
    };
    let mut iface = Interface::new(config(vlan), 1);
    let handles: Vec<UdpHandle> = PORTS.iter().map(|&p| iface.udp_bind(p).unwrap()).collect();
    let listener = iface.tcp_mut().listen(TCP_PORT, 2).unwrap();
    let mut conns = Vec::new();
    let mut now = Instant::ZERO;
    iface.announce(now, &mut dev);

    while !input.0.is_empty() {
        match input.u8() & 3 {
            0 | 1 => {
                now = Instant::from_micros(now.total_micros() + u64::from(input.u8()) * 8_000);
                let len = usize::from(input.u16());
                let frame = input.bytes(len);
                iface.receive(now, frame, &mut dev);
            }
            2 => {
                now = Instant::from_micros(now.total_micros() + u64::from(input.u16()) * 1_000);
                iface.poll(now, &mut dev);
            }
            _ => {
                let handle = handles[usize::from(input.u8()) % handles.len()];
                let a = input.bytes(4);
                let addr = match *a {
                    [a, b, c, d] => Ipv4Addr::new(a, b, c, d),
                    _ => GATEWAY,
                };
                let to = SocketAddrV4::new(addr, input.u16());
                let payload = vec![0x42; usize::from(input.u8()) * 6];
                let _ = iface.udp_send(now, handle, to, &payload);
            }
        }
        drain(&mut iface, listener, &mut conns);
    }

    // An hour later, with a device that takes everything, one poll does all
    // that is due: ARP gives up, fragments time out, queued datagrams go.
    dev.refuse = 0;
    now = Instant::from_micros(now.total_micros() + 3_600_000_000);
    iface.poll(now, &mut dev);
    if let Some(at) = iface.poll_at() {
        assert!(at > now, "poll left work due at {at:?} (now {now:?})");
    }
    (dev.count, dev.digest, iface.stats())
}

/// Whether to check that a second run gives the same output.
fn check_determinism() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("IGBPOLL_FUZZ_DETERMINISM").is_none_or(|v| v != "0"))
}

fuzz_target!(|data: &[u8]| {
    let first = run(data);
    if check_determinism() {
        let second = run(data);
        assert_eq!(first, second, "the same input gave different output");
    }
});
