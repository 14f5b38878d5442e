//! Interface tests: hand-built frames in, frames out through a `Vec`-backed
//! device, checked with the wire parsers.

use std::net::SocketAddrV4;
use std::time::Duration;

use super::*;
use crate::wire::checksum;
use crate::wire::icmp::Message;
use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const GW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const FAR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
const SUBNET_BCAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 255);

/// A device that keeps every frame; `room` frames at most.
#[derive(Default)]
struct VecDev {
    frames: Vec<Vec<u8>>,
    room: Option<usize>,
}

impl TxDevice for VecDev {
    fn transmit<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> bool {
        if let Some(room) = self.room {
            if self.frames.len() >= room {
                return false;
            }
        }
        // A dirty buffer: emission must write every byte.
        let mut buf = vec![0xa5u8; len];
        fill(&mut buf);
        self.frames.push(buf);
        true
    }
}

impl VecDev {
    fn take(&mut self) -> Vec<Vec<u8>> {
        core::mem::take(&mut self.frames)
    }
}

fn config() -> InterfaceConfig {
    InterfaceConfig::new(OUR_MAC, OUR_IP, 24)
}

fn iface() -> Interface {
    Interface::new(config(), 1)
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

// ---- frame builders (independent of the interface) ----

fn eth(dst: [u8; 6], src: [u8; 6], tci: Option<u16>, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(tci) = tci {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa.octets());
    p
}

fn arp_frame(op: u16, sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr, dst: [u8; 6]) -> Vec<u8> {
    eth(dst, sha, None, 0x0806, &arp(op, sha, spa, [0; 6], tpa))
}

#[allow(clippy::too_many_arguments)]
fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ident: u16,
    more: bool,
    offset: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = 20 + payload.len();
    let flags = (u16::from(more) << 13) | (offset / 8);
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum::checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn icmp_echo(ty: u8, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let sum = checksum::checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, data: &[u8], csum: bool) -> Vec<u8> {
    let len = (8 + data.len()) as u16;
    let mut d = Vec::new();
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(data);
    if csum {
        let sum = !checksum::combine(&[
            checksum::pseudo_header(src, dst, 17, len),
            checksum::data(&d),
        ]);
        d[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
    }
    d
}

/// A TCP segment without options (flags as on the wire), checksum filled.
fn tcp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&1000u32.to_be_bytes());
    d.extend_from_slice(&0u32.to_be_bytes());
    d.extend_from_slice(&[5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    d.extend_from_slice(data);
    let sum = !checksum::combine(&[
        checksum::pseudo_header(src, dst, 6, d.len() as u16),
        checksum::data(&d),
    ]);
    d[16..18].copy_from_slice(&sum.to_be_bytes());
    d
}

fn ip_frame(src_mac: [u8; 6], packet: &[u8]) -> Vec<u8> {
    eth(OUR_MAC, src_mac, None, 0x0800, packet)
}

fn udp_frame(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let d = udp(PEER_IP, OUR_IP, sport, dport, data, true);
    ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 99, false, 0, &d))
}

/// An interface that already knows the peer (it asked for us).
fn iface_knowing_peer(dev: &mut VecDev) -> Interface {
    let mut i = iface();
    let req = arp_frame(1, PEER_MAC, PEER_IP, OUR_IP, [0xff; 6]);
    i.receive(t(0), &req, dev);
    assert_eq!(dev.take().len(), 1, "the ARP reply");
    i
}

// ---- parsers of what the interface sent ----

struct Out {
    eth: EthernetRepr,
    payload: Vec<u8>,
}

fn parse_eth(frame: &[u8]) -> Out {
    let p = EthernetPacket::new_checked(frame).expect("ethernet");
    let eth = EthernetRepr::parse(&p).expect("ethernet repr");
    Out {
        eth,
        payload: p.payload().to_vec(),
    }
}

fn parse_arp(frame: &[u8]) -> ArpRepr {
    let o = parse_eth(frame);
    assert_eq!(o.eth.ethertype, EtherType::ARP);
    ArpRepr::parse(&ArpPacket::new_checked(&o.payload[..]).unwrap()).unwrap()
}

/// The IPv4 header and payload (up to the total length) of a frame.
fn parse_ip(frame: &[u8]) -> (EthernetRepr, Ipv4Repr, Vec<u8>) {
    let o = parse_eth(frame);
    assert_eq!(o.eth.ethertype, EtherType::IPV4);
    let p = Ipv4Packet::new_checked(&o.payload[..]).unwrap();
    let ip = Ipv4Repr::parse(&p).expect("valid IPv4 header and checksum");
    (o.eth, ip, p.payload().to_vec())
}

fn parse_udp(frame: &[u8]) -> (Ipv4Repr, u16, u16, Vec<u8>) {
    let (_, ip, payload) = parse_ip(frame);
    assert_eq!(ip.protocol, IpProtocol::UDP);
    let p = UdpPacket::new_checked(&payload[..]).unwrap();
    let u = UdpRepr::parse(&p, ip.src_addr, ip.dst_addr).expect("valid UDP checksum");
    assert_ne!(p.checksum(), 0, "the interface always computes a checksum");
    (ip, u.src_port, u.dst_port, u.payload.to_vec())
}

// ---- ARP ----

#[test]
fn arp_request_is_answered_and_the_sender_learned() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let req = arp_frame(1, PEER_MAC, PEER_IP, OUR_IP, [0xff; 6]);
    i.receive(t(0), &req, &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 60, "padded to the minimum frame");
    let o = parse_eth(&out[0]);
    assert_eq!(o.eth.dst_addr.0, PEER_MAC);
    assert_eq!(o.eth.src_addr.0, OUR_MAC);
    assert!(out[0][42..].iter().all(|&b| b == 0), "padding zeroed");
    let r = parse_arp(&out[0]);
    assert_eq!(r.operation, ArpOperation::REPLY);
    assert_eq!(r.source_hardware_addr.0, OUR_MAC);
    assert_eq!(r.source_protocol_addr, OUR_IP);
    assert_eq!(r.target_hardware_addr.0, PEER_MAC);
    assert_eq!(r.target_protocol_addr, PEER_IP);
    assert_eq!(i.stats().arp_requests_answered, 1);
    assert_eq!(i.stats().arp_learned, 1);
    // Learned: a datagram to the peer goes straight out, no request.
    let h = i.udp_bind(5000).unwrap();
    i.udp_send(t(1), h, SocketAddrV4::new(PEER_IP, 6000), b"hi")
        .unwrap();
    i.poll(t(1), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    let (ip, sp, dp, data) = parse_udp(&out[0]);
    assert_eq!(parse_eth(&out[0]).eth.dst_addr.0, PEER_MAC);
    assert_eq!((ip.src_addr, ip.dst_addr, ip.ttl), (OUR_IP, PEER_IP, 64));
    assert_eq!((sp, dp, &data[..]), (5000, 6000, &b"hi"[..]));
    assert_eq!(i.stats().arp_requests_sent, 0);
}

#[test]
fn arp_for_another_host_updates_but_does_not_create() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let other = Ipv4Addr::new(10, 0, 0, 3);
    // Not for us: no answer, nothing learned.
    i.receive(
        t(0),
        &arp_frame(1, PEER_MAC, PEER_IP, other, [0xff; 6]),
        &mut dev,
    );
    assert!(dev.take().is_empty());
    assert_eq!(i.stats().arp_learned, 0);
    assert_eq!(i.net.arp.lookup(t(0), PEER_IP), None);
    // Once known, any ARP naming the peer updates its entry (merge).
    i.receive(
        t(0),
        &arp_frame(1, PEER_MAC, PEER_IP, OUR_IP, [0xff; 6]),
        &mut dev,
    );
    dev.take();
    let new_mac = [0x02, 0, 0, 0, 0, 0x22];
    i.receive(
        t(10),
        &arp_frame(1, new_mac, PEER_IP, other, [0xff; 6]),
        &mut dev,
    );
    assert!(dev.take().is_empty());
    assert_eq!(i.net.arp.lookup(t(10), PEER_IP).unwrap().mac.0, new_mac);
    // A reply to us creates an entry.
    let third = [0x02, 0, 0, 0, 0, 0x33];
    i.receive(
        t(10),
        &eth(
            OUR_MAC,
            third,
            None,
            0x0806,
            &arp(2, third, other, OUR_MAC, OUR_IP),
        ),
        &mut dev,
    );
    assert_eq!(i.net.arp.lookup(t(10), other).unwrap().mac.0, third);
    assert!(dev.take().is_empty(), "replies are not answered");
}

#[test]
fn arp_claims_of_our_address_and_bad_senders_are_dropped() {
    let mut dev = VecDev::default();
    let mut i = iface();
    i.receive(
        t(0),
        &arp_frame(1, PEER_MAC, OUR_IP, OUR_IP, [0xff; 6]),
        &mut dev,
    );
    let multicast_sender = arp(1, [0x01, 0, 0x5e, 0, 0, 1], PEER_IP, [0; 6], OUR_IP);
    i.receive(
        t(0),
        &eth([0xff; 6], PEER_MAC, None, 0x0806, &multicast_sender),
        &mut dev,
    );
    assert!(dev.take().is_empty());
    assert_eq!(i.stats().rx_arp_bad_sender, 2);
    assert_eq!(i.stats().arp_learned, 0);
}

#[test]
fn announce_is_a_gratuitous_request() {
    let mut dev = VecDev::default();
    let mut i = iface();
    i.announce(t(0), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    assert!(parse_eth(&out[0]).eth.dst_addr.is_broadcast());
    let r = parse_arp(&out[0]);
    assert_eq!(r.operation, ArpOperation::REQUEST);
    assert_eq!(
        (r.source_protocol_addr, r.target_protocol_addr),
        (OUR_IP, OUR_IP)
    );
    assert_eq!(r.source_hardware_addr.0, OUR_MAC);
    assert_eq!(i.stats().arp_announcements_sent, 1);
}

#[test]
fn resolution_retries_then_fails_and_drops_the_queue() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let h = i.udp_bind(5000).unwrap();
    let to = SocketAddrV4::new(PEER_IP, 9);
    i.udp_send(t(0), h, to, b"a").unwrap();
    i.udp_send(t(0), h, to, b"b").unwrap();
    i.poll(t(0), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1, "one request for two packets");
    let r = parse_arp(&out[0]);
    assert_eq!(r.target_protocol_addr, PEER_IP);
    assert!(parse_eth(&out[0]).eth.dst_addr.is_broadcast());
    assert_eq!(i.poll_at(), Some(t(1000)));
    i.poll(t(999), &mut dev);
    assert!(dev.take().is_empty(), "not before the retry interval");
    i.poll(t(1000), &mut dev);
    assert_eq!(parse_arp(&dev.take()[0]).target_protocol_addr, PEER_IP);
    i.poll(t(2000), &mut dev);
    assert_eq!(dev.take().len(), 1);
    assert_eq!(i.stats().arp_requests_sent, 3);
    i.poll(t(3000), &mut dev);
    assert!(dev.take().is_empty());
    let s = i.stats();
    assert_eq!(s.arp_resolution_failed, 1);
    assert_eq!(s.arp_dropped_unresolved, 2);
    assert_eq!(i.poll_at(), None);
    // A late reply finds nothing waiting (and creates an entry: it names us).
    i.receive(
        t(3100),
        &eth(
            OUR_MAC,
            PEER_MAC,
            None,
            0x0806,
            &arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
        ),
        &mut dev,
    );
    assert!(dev.take().is_empty());
}

#[test]
fn waiting_queue_is_bounded_and_flushed_on_reply() {
    let mut dev = VecDev::default();
    let mut c = config();
    c.arp.queue_len = 2;
    let mut i = Interface::new(c, 1);
    let h = i.udp_bind(5000).unwrap();
    for n in 0..4u8 {
        i.udp_send(t(0), h, SocketAddrV4::new(PEER_IP, 9), &[n])
            .unwrap();
    }
    i.poll(t(0), &mut dev);
    assert_eq!(dev.take().len(), 1, "the request");
    assert_eq!(i.stats().arp_dropped_queue_full, 2);
    let reply = eth(
        OUR_MAC,
        PEER_MAC,
        None,
        0x0806,
        &arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
    );
    i.receive(t(5), &reply, &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 2);
    for (n, f) in out.iter().enumerate() {
        assert_eq!(parse_eth(f).eth.dst_addr.0, PEER_MAC);
        let (_, _, dp, data) = parse_udp(f);
        assert_eq!((dp, data), (9, vec![n as u8]));
    }
    assert_eq!(i.stats().tx_udp, 2);
    // The retry timer may still be armed; it finds nothing to do.
    i.poll(t(1000), &mut dev);
    assert!(dev.take().is_empty());
    assert_eq!(i.poll_at(), None);
}

#[test]
fn entries_expire_and_are_resolved_again() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let h = i.udp_bind(5000).unwrap();
    let to = SocketAddrV4::new(PEER_IP, 9);
    i.udp_send(t(59_000), h, to, b"x").unwrap();
    i.poll(t(59_000), &mut dev);
    assert_eq!(parse_udp(&dev.take()[0]).3, b"x");
    i.udp_send(t(60_000), h, to, b"y").unwrap();
    i.poll(t(60_000), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    assert_eq!(
        parse_arp(&out[0]).target_protocol_addr,
        PEER_IP,
        "expired after 60 s"
    );
}

#[test]
fn a_full_cache_of_pending_addresses_refuses_more() {
    let mut dev = VecDev::default();
    let mut c = config();
    c.arp.capacity = 2;
    let mut i = Interface::new(c, 1);
    let h = i.udp_bind(5000).unwrap();
    for host in 2..5u8 {
        i.udp_send(
            t(0),
            h,
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, host), 9),
            b"x",
        )
        .unwrap();
    }
    i.poll(t(0), &mut dev);
    assert_eq!(dev.take().len(), 2);
    assert_eq!(i.stats().arp_dropped_cache_full, 1);
}

// ---- routing ----

#[test]
fn off_link_destinations_go_through_the_gateway() {
    let mut dev = VecDev::default();
    let mut c = config();
    c.gateway = Some(GW_IP);
    let mut i = Interface::new(c, 1);
    let h = i.udp_bind(5000).unwrap();
    i.udp_send(t(0), h, SocketAddrV4::new(FAR_IP, 53), b"q")
        .unwrap();
    i.poll(t(0), &mut dev);
    assert_eq!(parse_arp(&dev.take()[0]).target_protocol_addr, GW_IP);
    let reply = eth(
        OUR_MAC,
        GW_MAC,
        None,
        0x0806,
        &arp(2, GW_MAC, GW_IP, OUR_MAC, OUR_IP),
    );
    i.receive(t(1), &reply, &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    assert_eq!(parse_eth(&out[0]).eth.dst_addr.0, GW_MAC);
    assert_eq!(parse_udp(&out[0]).0.dst_addr, FAR_IP);
}

#[test]
fn no_gateway_means_no_route() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let h = i.udp_bind(5000).unwrap();
    assert_eq!(
        i.udp_send(t(0), h, SocketAddrV4::new(FAR_IP, 53), b"q"),
        Err(UdpError::NoRoute)
    );
    // A ping from off-link (through some router's MAC) cannot be answered.
    let ping = ipv4(FAR_IP, OUR_IP, 1, 1, false, 0, &icmp_echo(8, 1, 1, b"x"));
    i.receive(t(0), &ip_frame(GW_MAC, &ping), &mut dev);
    assert!(dev.take().is_empty());
    assert_eq!(i.stats().tx_no_route, 2);
}

// ---- ICMP ----

#[test]
fn ping_reply_is_byte_exact() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    for len in [0usize, 1, 56, 1472] {
        let data: Vec<u8> = (0..len).map(|n| (n * 31) as u8).collect();
        let request = icmp_echo(8, 0x1234, len as u16, &data);
        let ping = ipv4(PEER_IP, OUR_IP, 1, 7, false, 0, &request);
        i.receive(t(1), &ip_frame(PEER_MAC, &ping), &mut dev);
        let out = dev.take();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), (14 + 20 + 8 + len).max(60));
        let (e, ip, icmp) = parse_ip(&out[0]);
        assert_eq!((e.dst_addr.0, e.src_addr.0), (PEER_MAC, OUR_MAC));
        assert_eq!((ip.src_addr, ip.dst_addr), (OUR_IP, PEER_IP));
        assert_eq!(
            (ip.protocol, ip.ttl, ip.payload_len),
            (IpProtocol::ICMP, 64, 8 + len)
        );
        // The reply is the request with type 0 and the checksum redone.
        let mut expected = request.clone();
        expected[0] = 0;
        expected[2..4].fill(0);
        let sum = checksum::checksum(&expected);
        expected[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(icmp, expected);
        let p = IcmpPacket::new_checked(&icmp[..]).unwrap();
        assert_eq!(
            IcmpRepr::parse(&p).unwrap(),
            IcmpRepr::EchoReply {
                ident: 0x1234,
                seq_no: len as u16,
                data: &data
            }
        );
    }
    assert_eq!(i.stats().icmp_echo_answered, 4);
}

#[test]
fn ping_from_an_unknown_host_waits_for_arp() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let ping = ipv4(PEER_IP, OUR_IP, 1, 7, false, 0, &icmp_echo(8, 1, 2, b"abc"));
    i.receive(t(0), &ip_frame(PEER_MAC, &ping), &mut dev);
    assert_eq!(parse_arp(&dev.take()[0]).target_protocol_addr, PEER_IP);
    let reply = eth(
        OUR_MAC,
        PEER_MAC,
        None,
        0x0806,
        &arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP),
    );
    i.receive(t(1), &reply, &mut dev);
    let out = dev.take();
    let (_, ip, icmp) = parse_ip(&out[0]);
    assert_eq!(ip.dst_addr, PEER_IP);
    assert_eq!(icmp[0], Message::ECHO_REPLY.0);
    assert_eq!(&icmp[8..], b"abc");
}

#[test]
fn bad_icmp_is_counted_and_other_icmp_ignored() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let mut bad = icmp_echo(8, 1, 1, b"data");
    bad[9] ^= 1;
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &bad)),
        &mut dev,
    );
    let reply = icmp_echo(0, 1, 1, b"data");
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 1, 2, false, 0, &reply)),
        &mut dev,
    );
    let short = [8u8, 0, 0];
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 1, 3, false, 0, &short)),
        &mut dev,
    );
    let unknown = icmp_echo(13, 1, 1, b"");
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 1, 4, false, 0, &unknown)),
        &mut dev,
    );
    assert!(dev.take().is_empty());
    let s = i.stats();
    assert_eq!(s.rx_icmp_bad_checksum, 1);
    assert_eq!(s.icmp_other_ignored, 2);
    assert_eq!(s.rx_icmp_malformed, 1);
    assert_eq!(s.icmp_echo_answered, 0);
}

#[test]
fn closed_udp_port_gets_port_unreachable_quoting_header_and_8_bytes() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let d = udp(PEER_IP, OUR_IP, 40000, 9999, b"hello, closed port", true);
    let packet = ipv4(PEER_IP, OUR_IP, 17, 0x4242, false, 0, &d);
    i.receive(t(0), &ip_frame(PEER_MAC, &packet), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    let (_, ip, icmp) = parse_ip(&out[0]);
    assert_eq!((ip.dst_addr, ip.protocol), (PEER_IP, IpProtocol::ICMP));
    assert_eq!((icmp[0], icmp[1]), (3, 3));
    assert_eq!(&icmp[4..8], &[0, 0, 0, 0]);
    assert_eq!(&icmp[8..28], &packet[..20], "the original header");
    assert_eq!(&icmp[28..], &d[..8], "and 8 bytes of its payload");
    assert_eq!(checksum::data(&icmp), 0xffff);
    assert_eq!(i.stats().rx_udp_no_socket, 1);
    assert_eq!(i.stats().icmp_port_unreachable_sent, 1);
}

#[test]
fn port_unreachable_never_for_broadcasts_and_rate_limited() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    for dst in [SUBNET_BCAST, Ipv4Addr::BROADCAST] {
        let d = udp(PEER_IP, dst, 1, 9999, b"x", true);
        let f = eth(
            [0xff; 6],
            PEER_MAC,
            None,
            0x0800,
            &ipv4(PEER_IP, dst, 17, 1, false, 0, &d),
        );
        i.receive(t(0), &f, &mut dev);
    }
    assert!(dev.take().is_empty());
    assert_eq!(i.stats().rx_udp_no_socket, 2);
    for _ in 0..15 {
        i.receive(t(0), &udp_frame(1, 9999, b"x"), &mut dev);
    }
    assert_eq!(dev.take().len(), 10, "the burst");
    assert_eq!(i.stats().icmp_rate_limited, 5);
    i.receive(t(99), &udp_frame(1, 9999, b"x"), &mut dev);
    assert!(dev.take().is_empty());
    i.receive(t(100), &udp_frame(1, 9999, b"x"), &mut dev);
    assert_eq!(dev.take().len(), 1, "one token per 100 ms");
}

// ---- UDP ----

#[test]
fn udp_echo_through_sockets() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let h = i.udp_bind(7).unwrap();
    let other = i.udp_bind(8).unwrap();
    assert_eq!(i.udp_bind(7), Err(UdpError::PortInUse));
    i.receive(t(0), &udp_frame(40000, 7, b"ping one"), &mut dev);
    i.receive(t(0), &udp_frame(40001, 7, b"ping two"), &mut dev);
    assert!(dev.take().is_empty());
    assert_eq!(i.next_udp_readable(), Some(h));
    assert_eq!(i.next_udp_readable(), None);
    let mut buf = [0u8; 2048];
    while let Some((from, n)) = i.udp_recv(h, &mut buf) {
        let data = buf[..n].to_vec();
        i.udp_send(t(0), h, from, &data).unwrap();
    }
    assert_eq!(i.udp_recv(other, &mut buf), None);
    assert_eq!(i.poll_at(), Some(Instant::ZERO));
    i.poll(t(0), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 2);
    let (ip, sp, dp, data) = parse_udp(&out[0]);
    assert_eq!(
        (ip.dst_addr, sp, dp, &data[..]),
        (PEER_IP, 7, 40000, &b"ping one"[..])
    );
    let (ip2, _, dp, data) = parse_udp(&out[1]);
    assert_eq!((dp, &data[..]), (40001, &b"ping two"[..]));
    assert_eq!(
        ip2.ident,
        ip.ident.wrapping_add(1),
        "IP identification increments"
    );
    assert_eq!(i.stats().udp_delivered, 2);
    assert_eq!(i.stats().tx_udp, 2);
}

#[test]
fn udp_receive_queue_is_bounded_and_checksums_checked() {
    let mut dev = VecDev::default();
    let mut c = config();
    c.udp.rx_queue_len = 2;
    let mut i = Interface::new(c, 1);
    let h = i.udp_bind(7).unwrap();
    // Checksum zero: none computed, accepted.
    let d = udp(PEER_IP, OUR_IP, 1, 7, b"no sum", false);
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 1, false, 0, &d)),
        &mut dev,
    );
    let mut bad = udp(PEER_IP, OUR_IP, 1, 7, b"bad sum", true);
    bad[9] ^= 0xff;
    i.receive(
        t(0),
        &ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 2, false, 0, &bad)),
        &mut dev,
    );
    i.receive(t(0), &udp_frame(1, 7, b"two"), &mut dev);
    i.receive(t(0), &udp_frame(1, 7, b"three"), &mut dev);
    let s = i.stats();
    assert_eq!(s.rx_udp_bad_checksum, 1);
    assert_eq!(s.udp_delivered, 2);
    assert_eq!(s.rx_udp_queue_full, 1);
    let mut buf = [0u8; 3];
    assert_eq!(
        i.udp_recv(h, &mut buf),
        Some((SocketAddrV4::new(PEER_IP, 1), 3))
    );
    assert_eq!(&buf, b"no ", "truncated to the buffer");
    let mut buf = [0u8; 16];
    assert_eq!(i.udp_recv(h, &mut buf).map(|(_, n)| n), Some(3));
    assert_eq!(&buf[..3], b"two");
    assert_eq!(i.udp_recv(h, &mut buf), None);
    assert!(i.udp_unbind(h));
    assert_eq!(
        i.udp_send(t(0), h, SocketAddrV4::new(PEER_IP, 1), b""),
        Err(UdpError::InvalidHandle)
    );
}

#[test]
fn udp_send_refuses_what_cannot_go() {
    let mut i = iface();
    let h = i.udp_bind(7).unwrap();
    let to = SocketAddrV4::new(PEER_IP, 9);
    assert_eq!(i.udp_send(t(0), h, to, &[0; 1473]), Err(UdpError::TooLarge));
    assert!(i.udp_send(t(0), h, to, &[0; 1472]).is_ok());
    assert_eq!(
        i.udp_send(t(0), h, SocketAddrV4::new(PEER_IP, 0), b""),
        Err(UdpError::InvalidPort)
    );
    assert_eq!(
        i.udp_send(t(0), h, SocketAddrV4::new(OUR_IP, 9), b""),
        Err(UdpError::InvalidAddress)
    );
    let mut c = config();
    c.udp.tx_queue_len = 1;
    let mut i = Interface::new(c, 1);
    let h = i.udp_bind(7).unwrap();
    assert!(i.udp_send(t(0), h, to, b"1").is_ok());
    assert_eq!(i.udp_send(t(0), h, to, b"2"), Err(UdpError::Full));
}

#[test]
fn a_full_device_keeps_the_datagram_for_the_next_poll() {
    let mut dev = VecDev {
        room: Some(0),
        ..VecDev::default()
    };
    let mut i = iface_knowing_peer(&mut VecDev::default());
    let h = i.udp_bind(7).unwrap();
    i.udp_send(t(0), h, SocketAddrV4::new(PEER_IP, 9), b"later")
        .unwrap();
    i.poll(t(0), &mut dev);
    assert_eq!(i.stats().tx_device_full, 1);
    dev.room = None;
    i.poll(t(1), &mut dev);
    assert_eq!(parse_udp(&dev.take()[0]).3, b"later");
}

#[test]
fn udp_broadcast_is_delivered_and_sent() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let h = i.udp_bind(67).unwrap();
    for dst in [SUBNET_BCAST, Ipv4Addr::BROADCAST] {
        let d = udp(PEER_IP, dst, 68, 67, b"bcast", true);
        let f = eth(
            [0xff; 6],
            PEER_MAC,
            None,
            0x0800,
            &ipv4(PEER_IP, dst, 17, 1, false, 0, &d),
        );
        i.receive(t(0), &f, &mut dev);
    }
    assert_eq!(i.stats().udp_delivered, 2);
    i.udp_send(
        t(0),
        h,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 68),
        b"offer",
    )
    .unwrap();
    i.poll(t(0), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1, "no ARP for a broadcast");
    assert!(parse_eth(&out[0]).eth.dst_addr.is_broadcast());
    assert_eq!(parse_udp(&out[0]).0.dst_addr, Ipv4Addr::BROADCAST);
}

// ---- broadcast, filtering, VLAN ----

#[test]
fn broadcast_ping_is_ignored_and_strangers_filtered() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let ping = ipv4(
        PEER_IP,
        SUBNET_BCAST,
        1,
        1,
        false,
        0,
        &icmp_echo(8, 1, 1, b""),
    );
    i.receive(
        t(0),
        &eth([0xff; 6], PEER_MAC, None, 0x0800, &ping),
        &mut dev,
    );
    assert_eq!(i.stats().icmp_echo_broadcast_ignored, 1);
    // To another host's MAC, to a multicast MAC, to another IP.
    let ping = ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &icmp_echo(8, 1, 1, b""));
    i.receive(
        t(0),
        &eth([0x02, 9, 9, 9, 9, 9], PEER_MAC, None, 0x0800, &ping),
        &mut dev,
    );
    i.receive(
        t(0),
        &eth([0x01, 0, 0x5e, 0, 0, 1], PEER_MAC, None, 0x0800, &ping),
        &mut dev,
    );
    assert_eq!(i.stats().rx_eth_not_for_us, 2);
    let other = ipv4(
        PEER_IP,
        Ipv4Addr::new(10, 0, 0, 3),
        1,
        1,
        false,
        0,
        &icmp_echo(8, 1, 1, b""),
    );
    i.receive(t(0), &ip_frame(PEER_MAC, &other), &mut dev);
    assert_eq!(i.stats().rx_ipv4_not_for_us, 1);
    assert!(dev.take().is_empty());
}

#[test]
fn vlan_tags_are_filtered_and_echoed() {
    let mut dev = VecDev::default();
    let req = arp(1, PEER_MAC, PEER_IP, [0; 6], OUR_IP);
    let tagged = |tci| eth([0xff; 6], PEER_MAC, Some(tci), 0x0806, &req);
    let mut i = iface();
    i.receive(t(0), &tagged(100), &mut dev);
    assert_eq!(i.stats().rx_vlan_mismatch, 1);
    assert!(dev.take().is_empty());
    let mut c = config();
    c.vlan_id = Some(100);
    let mut i = Interface::new(c, 1);
    i.receive(t(0), &tagged(200), &mut dev);
    assert_eq!(i.stats().rx_vlan_mismatch, 1);
    let tci = (5 << 13) | 100;
    i.receive(t(0), &tagged(tci), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    assert_eq!(parse_eth(&out[0]).eth.vlan_tci, Some(tci), "the same tag");
    assert_eq!(parse_arp(&out[0]).operation, ArpOperation::REPLY);
    // The peer was learned on the VLAN: a ping reply carries the tag too.
    let ping = ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &icmp_echo(8, 1, 1, b"v"));
    i.receive(
        t(1),
        &eth(OUR_MAC, PEER_MAC, Some(tci), 0x0800, &ping),
        &mut dev,
    );
    let out = dev.take();
    assert_eq!(parse_eth(&out[0]).eth.vlan_tci, Some(tci));
    assert_eq!(parse_ip(&out[0]).2[0], 0);
    // A second tag is not supported.
    let mut qinq = eth(OUR_MAC, PEER_MAC, Some(100), 0x8100, &[0, 100, 0x08, 0x00]);
    qinq.truncate(60);
    i.receive(t(1), &qinq, &mut dev);
    assert_eq!(i.stats().rx_vlan_stacked, 1);
}

// ---- reassembly ----

fn fragments(ident: u16, d: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(d.len());
    bounds
        .windows(2)
        .map(|w| {
            let more = w[1] != d.len();
            let p = ipv4(
                PEER_IP,
                OUR_IP,
                17,
                ident,
                more,
                w[0] as u16,
                &d[w[0]..w[1]],
            );
            ip_frame(PEER_MAC, &p)
        })
        .collect()
}

fn big_datagram(len: usize) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|n| (n % 251) as u8).collect();
    let d = udp(PEER_IP, OUR_IP, 1000, 7, &data, true);
    (data, d)
}

#[test]
fn fragments_reassemble_in_and_out_of_order() {
    let (data, d) = big_datagram(3000);
    for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0]] {
        let mut dev = VecDev::default();
        let mut i = iface();
        let h = i.udp_bind(7).unwrap();
        let frags = fragments(5, &d, &[1480, 2960]);
        for &n in &order {
            i.receive(t(0), &frags[n], &mut dev);
        }
        let mut buf = vec![0u8; 4000];
        let (from, n) = i.udp_recv(h, &mut buf).expect("reassembled");
        assert_eq!(from, SocketAddrV4::new(PEER_IP, 1000));
        assert_eq!(&buf[..n], &data[..]);
        let s = i.stats();
        assert_eq!((s.rx_frags, s.frag_reassembled), (3, 1));
    }
}

#[test]
fn overlapping_fragments_drop_the_datagram() {
    let (_, d) = big_datagram(100);
    let mut dev = VecDev::default();
    let mut i = iface();
    let h = i.udp_bind(7).unwrap();
    let a = ipv4(PEER_IP, OUR_IP, 17, 5, true, 0, &d[..64]);
    let b = ipv4(PEER_IP, OUR_IP, 17, 5, false, 56, &d[56..]);
    i.receive(t(0), &ip_frame(PEER_MAC, &a), &mut dev);
    i.receive(t(0), &ip_frame(PEER_MAC, &b), &mut dev);
    assert_eq!(i.stats().frag_dropped_overlap, 1);
    let rest = ipv4(PEER_IP, OUR_IP, 17, 5, false, 64, &d[64..]);
    i.receive(t(0), &ip_frame(PEER_MAC, &rest), &mut dev);
    assert_eq!(i.udp_recv(h, &mut [0u8; 200]), None);
    assert_eq!(i.stats().frag_reassembled, 0);
}

#[test]
fn fragments_time_out_and_the_table_is_bounded() {
    let (_, d) = big_datagram(3000);
    let mut dev = VecDev::default();
    let mut c = config();
    c.reassembly.max_datagrams = 1;
    let mut i = Interface::new(c, 1);
    let f5 = fragments(5, &d, &[1480, 2960]);
    let f6 = fragments(6, &d, &[1480, 2960]);
    i.receive(t(0), &f5[0], &mut dev);
    i.receive(t(0), &f6[0], &mut dev);
    assert_eq!(i.stats().frag_dropped_table_full, 1);
    assert_eq!(i.poll_at(), Some(t(10_000)));
    i.poll(t(10_000), &mut dev);
    assert_eq!(i.stats().frag_dropped_timeout, 1);
    assert_eq!(i.poll_at(), None);
    // The rest of datagram 5 arrives too late: it cannot complete.
    i.receive(t(10_001), &f5[1], &mut dev);
    i.receive(t(10_001), &f5[2], &mut dev);
    assert_eq!(i.stats().frag_reassembled, 0);
}

#[test]
fn oversized_reassembly_is_refused() {
    let mut c = config();
    c.reassembly.max_size = 2000;
    let mut i = Interface::new(c, 1);
    let mut dev = VecDev::default();
    let (_, d) = big_datagram(3000);
    for f in fragments(5, &d, &[1480, 2960]) {
        i.receive(t(0), &f, &mut dev);
    }
    // The second fragment crosses the bound and drops the datagram; the
    // third, past the bound on its own, is dropped too.
    assert_eq!(i.stats().frag_dropped_too_big, 2);
    assert_eq!(i.stats().frag_reassembled, 0);
    assert_eq!(i.reassembly.len(), 0);
}

#[test]
fn reassembled_ping_too_big_for_one_reply_is_dropped() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let request = icmp_echo(8, 1, 1, &[7u8; 2000]);
    for (off, end, more) in [(0usize, 1480usize, true), (1480, request.len(), false)] {
        let p = ipv4(PEER_IP, OUR_IP, 1, 9, more, off as u16, &request[off..end]);
        i.receive(t(0), &ip_frame(PEER_MAC, &p), &mut dev);
    }
    assert_eq!(i.stats().frag_reassembled, 1);
    assert_eq!(i.stats().icmp_echo_too_big, 1);
    assert!(dev.take().is_empty(), "output never fragments");
}

#[test]
fn ip_options_are_skipped() {
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let request = icmp_echo(8, 9, 9, b"opts");
    // A header with one option word (four NOPs): IHL 6.
    let plain = ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &request);
    let mut p = plain[..20].to_vec();
    p[0] = 0x46;
    p[2..4].copy_from_slice(&((24 + request.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[1, 1, 1, 1]);
    p[10..12].fill(0);
    let sum = checksum::checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&request);
    i.receive(t(0), &ip_frame(PEER_MAC, &p), &mut dev);
    let out = dev.take();
    assert_eq!(out.len(), 1);
    let (_, ip, icmp) = parse_ip(&out[0]);
    assert_eq!(
        ip.payload_len,
        request.len(),
        "the reply carries no options"
    );
    assert_eq!(&icmp[8..], b"opts");
}

// ---- malformed input ----

#[test]
fn padding_is_ignored_in_favour_of_the_total_length() {
    let mut dev = VecDev::default();
    let mut i = iface();
    let h = i.udp_bind(7).unwrap();
    let mut f = udp_frame(1, 7, b"ab");
    assert_eq!(f.len(), 60);
    f[44..].fill(0xee);
    i.receive(t(0), &f, &mut dev);
    let mut buf = [0u8; 64];
    assert_eq!(i.udp_recv(h, &mut buf).map(|(_, n)| n), Some(2));
    assert_eq!(&buf[..2], b"ab");
}

#[test]
fn malformed_frames_are_counted_by_reason() {
    let ping = ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &icmp_echo(8, 1, 1, b"x"));
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = ping.clone();
        f(&mut p);
        ip_frame(PEER_MAC, &p)
    };
    let refix = |p: &mut Vec<u8>| {
        p[10..12].fill(0);
        let s = checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&s.to_be_bytes());
    };
    let mut short_arp = arp(1, PEER_MAC, PEER_IP, [0; 6], OUR_IP);
    short_arp.truncate(20);
    let mut short_arp_frame = eth([0xff; 6], PEER_MAC, None, 0x0806, &short_arp);
    short_arp_frame.truncate(34);
    let mut bad_htype = arp(1, PEER_MAC, PEER_IP, [0; 6], OUR_IP);
    bad_htype[1] = 6;
    let bad_udp_len = {
        let mut d = udp(PEER_IP, OUR_IP, 1, 7, b"abc", true);
        d[4..6].copy_from_slice(&4u16.to_be_bytes());
        ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 1, false, 0, &d))
    };
    let syn = tcp(PEER_IP, OUR_IP, 4000, 80, 0x02, b"");
    let tcp_frame = |seg: &[u8]| ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 6, 1, false, 0, seg));
    let mut bad_tcp_sum = syn.clone();
    bad_tcp_sum[16] ^= 1;
    let mut bad_tcp_offset = syn.clone();
    bad_tcp_offset[12] = 4 << 4;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("rx_tcp_bad_checksum", tcp_frame(&bad_tcp_sum)),
        ("rx_tcp_malformed", tcp_frame(&bad_tcp_offset)),
        ("rx_tcp_malformed", tcp_frame(&syn[..19])),
        (
            "rx_tcp_broadcast",
            ip_frame(
                PEER_MAC,
                &ipv4(
                    PEER_IP,
                    SUBNET_BCAST,
                    6,
                    1,
                    false,
                    0,
                    &tcp(PEER_IP, SUBNET_BCAST, 4000, 80, 0x02, b""),
                ),
            ),
        ),
        ("rx_eth_truncated", vec![0xff; 13]),
        (
            "rx_eth_truncated",
            eth(OUR_MAC, PEER_MAC, None, 0x8100, &[])[..16].to_vec(),
        ),
        (
            "rx_unknown_ethertype",
            eth(OUR_MAC, PEER_MAC, None, 0x86dd, &[0; 40]),
        ),
        (
            "rx_eth_bad_source",
            eth(OUR_MAC, [0xff; 6], None, 0x0800, &ping),
        ),
        (
            "rx_eth_bad_source",
            eth(OUR_MAC, OUR_MAC, None, 0x0800, &ping),
        ),
        ("rx_arp_truncated", short_arp_frame),
        (
            "rx_arp_unsupported",
            eth([0xff; 6], PEER_MAC, None, 0x0806, &bad_htype),
        ),
        (
            "rx_ipv4_truncated",
            eth(OUR_MAC, PEER_MAC, None, 0x0800, &ping[..19])[..33].to_vec(),
        ),
        (
            "rx_ipv4_truncated",
            with(&|p| {
                p[2..4].copy_from_slice(&200u16.to_be_bytes());
                refix(p)
            }),
        ),
        (
            "rx_ipv4_malformed",
            with(&|p| {
                p[0] = 0x44;
                refix(p)
            }),
        ),
        (
            "rx_ipv4_malformed",
            with(&|p| {
                p[0] = 0x65;
                refix(p)
            }),
        ),
        (
            "rx_ipv4_malformed",
            with(&|p| {
                p[2..4].copy_from_slice(&10u16.to_be_bytes());
                refix(p)
            }),
        ),
        ("rx_ipv4_bad_checksum", with(&|p| p[8] = 1)),
        (
            "rx_ipv4_bad_source",
            with(&|p| {
                p[12..16].copy_from_slice(&[255; 4]);
                refix(p)
            }),
        ),
        (
            "rx_ipv4_bad_source",
            with(&|p| {
                p[12..16].copy_from_slice(&[127, 0, 0, 1]);
                refix(p)
            }),
        ),
        (
            "rx_ipv4_bad_source",
            with(&|p| {
                p[12..16].copy_from_slice(&OUR_IP.octets());
                refix(p)
            }),
        ),
        (
            "rx_ipv4_unknown_protocol",
            with(&|p| {
                p[9] = 99;
                refix(p)
            }),
        ),
        ("rx_udp_malformed", bad_udp_len),
        (
            "rx_udp_malformed",
            ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 1, false, 0, &[0; 5])),
        ),
        (
            "rx_icmp_malformed",
            ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &[8, 0])),
        ),
        (
            "frag_dropped_malformed",
            ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 1, true, 0, &[0; 12])),
        ),
    ];
    for (name, frame) in cases {
        let mut dev = VecDev::default();
        let mut i = iface_knowing_peer(&mut dev);
        let before = i.stats();
        i.receive(t(0), &frame, &mut dev);
        let after = i.stats();
        let changed: Vec<_> = after
            .iter()
            .zip(before.iter())
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .filter(|n| {
                !matches!(
                    *n,
                    "rx_frames" | "rx_ipv4" | "rx_icmp" | "rx_udp" | "rx_frags"
                )
            })
            .collect();
        assert_eq!(changed, vec![name], "frame {frame:02x?}");
        assert!(dev.take().is_empty(), "{name}: nothing sent");
    }
}

#[test]
fn random_frames_never_panic() {
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let h = i.udp_bind(7).unwrap();
    let templates = [
        udp_frame(1, 7, b"abcdefgh"),
        udp_frame(1, 9, b"abcdefgh"),
        ip_frame(
            PEER_MAC,
            &ipv4(PEER_IP, OUR_IP, 1, 1, false, 0, &icmp_echo(8, 1, 1, b"xy")),
        ),
        ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 17, 3, true, 0, &[0; 16])),
        ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 6, 1, false, 0, &[0; 20])),
        arp_frame(1, PEER_MAC, PEER_IP, OUR_IP, [0xff; 6]),
    ];
    let mut buf = [0u8; 128];
    let mut now = 0;
    for n in 0..FUZZ_ITERATIONS {
        let tpl = &templates[n % templates.len()];
        let frame = rng.buffer(&mut buf, |h| {
            // Keep a valid prefix of a real frame so the later layers are
            // reached, with the random tail.
            let keep = h.len().min(tpl.len()).min(14 + n % 40);
            h[..keep].copy_from_slice(&tpl[..keep]);
        });
        now += 1;
        i.receive(t(now), frame, &mut dev);
        if n % 1000 == 0 {
            i.poll(t(now), &mut dev);
            let mut sink = [0u8; 256];
            while i.udp_recv(h, &mut sink).is_some() {}
        }
        for f in dev.take() {
            // Whatever went out is a well-formed frame from us.
            let o = parse_eth(&f);
            assert_eq!(o.eth.src_addr.0, OUR_MAC);
            assert!(f.len() >= 60);
        }
    }
    assert_eq!(i.stats().rx_frames, FUZZ_ITERATIONS as u64 + 1);
}

/// A TCP segment sent by the interface: Ethernet and IPv4 checked, the
/// segment re-parsed (checksum verified) with the wire parsers.
struct SentSeg {
    eth: EthernetRepr,
    ip: Ipv4Repr,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: crate::wire::TcpFlags,
    payload: Vec<u8>,
}

fn parse_tcp(frame: &[u8]) -> SentSeg {
    let (eth, ip, payload) = parse_ip(frame);
    assert_eq!(ip.protocol, IpProtocol::TCP);
    let packet = TcpPacket::new_checked(&payload[..]).expect("TCP header");
    let seg = TcpRepr::parse(&packet, ip.src_addr, ip.dst_addr).expect("TCP checksum");
    SentSeg {
        eth,
        ip,
        src_port: seg.src_port,
        dst_port: seg.dst_port,
        seq: seg.seq.0,
        ack: seg.ack.0,
        flags: seg.flags,
        payload: seg.payload.to_vec(),
    }
}

fn tcp_frame_from_peer(seg: &[u8]) -> Vec<u8> {
    ip_frame(PEER_MAC, &ipv4(PEER_IP, OUR_IP, 6, 1, false, 0, seg))
}

#[test]
fn syn_to_a_closed_port_is_reset() {
    use crate::wire::TcpFlags;
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    // Padded to 60 bytes: the segment ends where the IPv4 total length says.
    let frame = tcp_frame_from_peer(&tcp(PEER_IP, OUR_IP, 4000, 81, 0x02, b""));
    assert_eq!(frame.len(), 60);
    i.receive(t(1), &frame, &mut dev);
    i.poll(t(1), &mut dev);
    let frames = dev.take();
    assert_eq!(frames.len(), 1, "one reset");
    let r = parse_tcp(&frames[0]);
    assert_eq!(r.eth.dst_addr.0, PEER_MAC);
    assert_eq!(
        (r.ip.src_addr, r.ip.dst_addr, r.ip.ttl),
        (OUR_IP, PEER_IP, 64)
    );
    assert_eq!((r.src_port, r.dst_port), (81, 4000));
    assert!(
        r.flags.contains(TcpFlags::RST | TcpFlags::ACK),
        "{:?}",
        r.flags
    );
    assert_eq!(r.ack, 1001, "acknowledges the SYN");
    assert_eq!(r.seq, 0, "a SYN without ACK is reset from sequence 0");
    assert!(r.payload.is_empty());
    let s = i.stats();
    assert_eq!((s.rx_tcp, s.tx_tcp), (1, 1));
    assert_eq!(i.tcp().stats().segments_in, 1);
}

#[test]
fn syn_to_a_listener_gets_a_syn_ack_and_bad_ones_never_reach_tcp() {
    use crate::wire::TcpFlags;
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    i.tcp_mut().listen(80, 4).unwrap();
    let mut bad = tcp(PEER_IP, OUR_IP, 4000, 80, 0x02, b"");
    bad[17] ^= 0x40;
    i.receive(t(1), &tcp_frame_from_peer(&bad), &mut dev);
    i.poll(t(1), &mut dev);
    assert!(dev.take().is_empty());
    assert_eq!(i.stats().rx_tcp_bad_checksum, 1);
    assert_eq!(i.tcp().stats().segments_in, 0, "TCP never saw it");

    let syn = tcp(PEER_IP, OUR_IP, 4000, 80, 0x02, b"");
    i.receive(t(2), &tcp_frame_from_peer(&syn), &mut dev);
    i.poll(t(2), &mut dev);
    let frames = dev.take();
    assert_eq!(frames.len(), 1, "one SYN-ACK");
    let r = parse_tcp(&frames[0]);
    assert_eq!((r.src_port, r.dst_port), (80, 4000));
    assert_eq!(r.flags.0 & 0x3f, (TcpFlags::SYN | TcpFlags::ACK).0);
    assert_eq!(r.ack, 1001);
    assert!(r.ip.dont_frag, "TCP is sent with DF");
    assert_eq!(i.stats().rx_tcp, 1);
}

/// Two interfaces on one in-memory Ethernet: every frame one sends is
/// received by the other (`drop` says which to lose, by sequence number).
struct Lan {
    a: Interface,
    b: Interface,
    da: VecDev,
    db: VecDev,
    now: Instant,
    carried: usize,
    dropped: usize,
}

impl Lan {
    fn new() -> Lan {
        let a = Interface::new(InterfaceConfig::new(OUR_MAC, OUR_IP, 24), 11);
        let b = Interface::new(InterfaceConfig::new(PEER_MAC, PEER_IP, 24), 22);
        Lan {
            a,
            b,
            da: VecDev::default(),
            db: VecDev::default(),
            now: Instant::ZERO,
            carried: 0,
            dropped: 0,
        }
    }

    /// Polls both and carries frames until nothing moves, then advances the
    /// clock by `step_ms`. `lose(n)` loses the n-th frame carried.
    fn step(&mut self, step_ms: u64, lose: &dyn Fn(usize) -> bool) {
        for _ in 0..100 {
            self.a.poll(self.now, &mut self.da);
            self.b.poll(self.now, &mut self.db);
            let (fa, fb) = (self.da.take(), self.db.take());
            if fa.is_empty() && fb.is_empty() {
                break;
            }
            for f in fa {
                self.carried += 1;
                if lose(self.carried) {
                    self.dropped += 1;
                } else {
                    self.b.receive(self.now, &f, &mut self.db);
                }
            }
            for f in fb {
                self.carried += 1;
                if lose(self.carried) {
                    self.dropped += 1;
                } else {
                    self.a.receive(self.now, &f, &mut self.da);
                }
            }
        }
        self.now += Duration::from_millis(step_ms);
    }
}

fn tcp_exchange(lose: &dyn Fn(usize) -> bool) -> Lan {
    use crate::tcp::State;
    let mut lan = Lan::new();
    let listener = lan.a.tcp_mut().listen(80, 4).unwrap();
    let client = lan
        .b
        .tcp_mut()
        .connect(lan.now, SocketAddrV4::new(OUR_IP, 80), None)
        .unwrap();
    let up: Vec<u8> = (0..200_000u32).map(|n| (n * 7 + n / 251) as u8).collect();
    let down: Vec<u8> = (0..50_000u32).map(|n| (n * 13 + 5) as u8).collect();
    let (mut up_sent, mut down_sent) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let mut server = None;
    let mut buf = vec![0u8; 8192];
    for _ in 0..20_000 {
        lan.step(1, lose);
        if server.is_none() {
            server = lan.a.tcp_mut().accept(listener);
        }
        let Some(srv) = server else { continue };
        if up_sent < up.len() {
            up_sent += lan.b.tcp_mut().send(client, &up[up_sent..]).unwrap_or(0);
            if up_sent == up.len() {
                lan.b.tcp_mut().close(client).unwrap();
            }
        }
        if down_sent < down.len() {
            down_sent += lan.a.tcp_mut().send(srv, &down[down_sent..]).unwrap_or(0);
            if down_sent == down.len() {
                lan.a.tcp_mut().close(srv).unwrap();
            }
        }
        while let Ok(n @ 1..) = lan.a.tcp_mut().recv(srv, &mut buf) {
            got_up.extend_from_slice(&buf[..n]);
        }
        while let Ok(n @ 1..) = lan.b.tcp_mut().recv(client, &mut buf) {
            got_down.extend_from_slice(&buf[..n]);
        }
        let done = |s: Option<State>| matches!(s, Some(State::TimeWait | State::Closed) | None);
        if got_up.len() == up.len()
            && got_down.len() == down.len()
            && done(lan.a.tcp().state(srv))
            && done(lan.b.tcp().state(client))
        {
            break;
        }
    }
    assert!(server.is_some(), "the connection was accepted");
    assert_eq!(got_up.len(), up.len(), "client to server");
    assert!(got_up == up, "client to server bytes differ");
    assert_eq!(got_down.len(), down.len(), "server to client");
    assert!(got_down == down, "server to client bytes differ");
    lan
}

#[test]
fn two_interfaces_exchange_tcp_data_both_ways() {
    let lan = tcp_exchange(&|_| false);
    let (sa, sb) = (lan.a.stats(), lan.b.stats());
    // The client resolved the server first; nothing was dropped anywhere.
    assert_eq!(sb.arp_requests_sent, 1);
    assert_eq!(sa.arp_requests_answered, 1);
    assert_eq!(sa.arp_requests_sent, 0, "learned from the request");
    for s in [sa, sb] {
        assert_eq!(s.rx_tcp_bad_checksum + s.rx_tcp_malformed, 0);
        assert_eq!(s.tx_too_big + s.tx_no_route + s.tx_device_full, 0);
        assert!(s.tx_tcp > 30 && s.rx_tcp > 30, "{s:?}");
    }
    assert_eq!(sa.rx_tcp, sb.tx_tcp);
    assert_eq!(sb.rx_tcp, sa.tx_tcp);
}

#[test]
fn tcp_exchange_survives_a_lossy_wire() {
    // Loses one frame in 13 (ARP and SYNs included): retransmission and
    // ARP retries recover.
    let lan = tcp_exchange(&|n| n % 13 == 5);
    assert!(lan.dropped > 10, "{} frames lost", lan.dropped);
}

/// Refills a TCP segment's checksum after its bytes were changed.
fn refill_tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, d: &mut [u8]) {
    d[16..18].fill(0);
    let sum = !checksum::combine(&[
        checksum::pseudo_header(src, dst, 6, d.len() as u16),
        checksum::data(d),
    ]);
    d[16..18].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn random_tcp_segments_with_valid_checksums_never_panic() {
    use crate::wire::TcpFlags;
    let mut rng = XorShift(0x7cb5_0000_1234_9876);
    let mut dev = VecDev::default();
    let mut i = iface_knowing_peer(&mut dev);
    let listener = i.tcp_mut().listen(80, 8).unwrap();
    // A real connection first, so random segments land near its window.
    i.receive(
        t(1),
        &tcp_frame_from_peer(&tcp(PEER_IP, OUR_IP, 4000, 80, 0x02, b"")),
        &mut dev,
    );
    let syn_ack = parse_tcp(&dev.take()[0]);
    let mut ack = tcp(PEER_IP, OUR_IP, 4000, 80, 0x10, b"");
    ack[4..8].copy_from_slice(&1001u32.to_be_bytes());
    ack[8..12].copy_from_slice(&syn_ack.seq.wrapping_add(1).to_be_bytes());
    refill_tcp_checksum(PEER_IP, OUR_IP, &mut ack);
    i.receive(t(2), &tcp_frame_from_peer(&ack), &mut dev);
    let conn = i.tcp_mut().accept(listener).expect("established");
    let (our_seq, their_seq) = (syn_ack.seq.wrapping_add(1), 1001u32);

    let mut now = 2;
    let mut sent = 0;
    for n in 0..FUZZ_ITERATIONS {
        let data_len = (rng.next_u64() % 64) as usize;
        let mut d = tcp(PEER_IP, OUR_IP, 4000, 80, 0, &vec![0x5a; data_len]);
        let r = rng.next_u64();
        if r & 7 == 0 {
            // Another port pair now and then: listener, no listener.
            let ports = [(4001u16, 80u16), (4000, 81), (r as u16 | 1, 80)];
            let (sp, dp) = ports[(r >> 3) as usize % ports.len()];
            d[0..2].copy_from_slice(&sp.to_be_bytes());
            d[2..4].copy_from_slice(&dp.to_be_bytes());
        }
        let near = |base: u32, r: u64| base.wrapping_add((r % 4096) as u32).wrapping_sub(2048);
        let seq = if r & 16 == 0 {
            near(their_seq, r >> 8)
        } else {
            (r >> 8) as u32
        };
        let ackn = if r & 32 == 0 {
            near(our_seq, r >> 24)
        } else {
            (r >> 24) as u32
        };
        d[4..8].copy_from_slice(&seq.to_be_bytes());
        d[8..12].copy_from_slice(&ackn.to_be_bytes());
        d[13] = (rng.next_u64() as u8) & 0x3f;
        d[14..16].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
        if n % 5 == 0 && data_len >= 8 {
            // Options: a random data offset over random option bytes.
            let off = 5 + (rng.next_u64() % 3) as u8;
            d[12] = off << 4;
            for b in &mut d[20..20 + 4 * usize::from(off - 5)] {
                *b = rng.next_u64() as u8;
            }
        }
        refill_tcp_checksum(PEER_IP, OUR_IP, &mut d);
        now += rng.next_u64() % 50;
        i.receive(t(now), &tcp_frame_from_peer(&d), &mut dev);
        if n % 7 == 0 {
            let _ = i.tcp_mut().send(conn, b"some data from us");
            let mut sink = [0u8; 512];
            let _ = i.tcp_mut().recv(conn, &mut sink);
        }
        if n % 3 == 0 {
            i.poll(t(now), &mut dev);
        }
        for f in dev.take() {
            if parse_eth(&f).eth.ethertype == EtherType::ARP {
                // The peer's entry expired (the clock runs for an hour):
                // the peer answers.
                assert_eq!(parse_arp(&f).target_protocol_addr, PEER_IP);
                let reply = arp_frame(2, PEER_MAC, PEER_IP, OUR_IP, OUR_MAC);
                i.receive(t(now), &reply, &mut dev);
                continue;
            }
            // Everything else sent is a valid segment from us to the peer.
            let s = parse_tcp(&f);
            assert_eq!((s.ip.src_addr, s.ip.dst_addr), (OUR_IP, PEER_IP));
            assert_eq!(s.eth.dst_addr.0, PEER_MAC);
            assert!(!s.flags.contains(TcpFlags::SYN | TcpFlags::RST));
            sent += 1;
        }
    }
    let s = i.stats();
    // Random option bytes are often malformed (counted, never given to
    // TCP); everything else reached TCP exactly once.
    assert_eq!(s.rx_tcp + s.rx_tcp_malformed, FUZZ_ITERATIONS as u64 + 2);
    assert!(s.rx_tcp_malformed > 1000 && s.rx_tcp > 80_000, "{s:?}");
    assert_eq!(i.tcp().stats().segments_in, s.rx_tcp);
    assert_eq!(s.rx_tcp_bad_checksum, 0);
    assert!(sent > 100, "{sent} segments sent");
}

#[test]
fn data_queued_before_the_handshake_completes_arrives() {
    // The client queues data right after connect, before even ARP has
    // resolved the server: it goes out as soon as the handshake allows,
    // possibly riding on the handshake's final ACK.
    let mut lan = Lan::new();
    let listener = lan.a.tcp_mut().listen(80, 4).unwrap();
    let client = lan
        .b
        .tcp_mut()
        .connect(lan.now, SocketAddrV4::new(OUR_IP, 80), None)
        .unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|n| (n * 31 + 7) as u8).collect();
    let mut sent = lan.b.tcp_mut().send(client, &data).unwrap_or(0);
    let mut got = Vec::new();
    let mut server = None;
    let mut buf = vec![0u8; 8192];
    for _ in 0..5_000 {
        lan.step(1, &|_| false);
        if sent < data.len() {
            sent += lan.b.tcp_mut().send(client, &data[sent..]).unwrap_or(0);
        }
        if server.is_none() {
            server = lan.a.tcp_mut().accept(listener);
        }
        if let Some(srv) = server {
            while let Ok(n @ 1..) = lan.a.tcp_mut().recv(srv, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        if got.len() == data.len() {
            break;
        }
    }
    assert!(server.is_some(), "the connection was accepted");
    assert_eq!(got.len(), data.len());
    assert!(got == data);
}
