//! The interface: Ethernet and ARP, IPv4 (with reassembly), ICMP, UDP
//! sockets, and the dispatch of segments to TCP.
//!
//! An [`Interface`] is driven by its caller with time passed in:
//! [`Interface::receive`] takes one received frame and may answer at once
//! through the [`TxDevice`]; [`Interface::poll`] runs the timers (ARP retries,
//! reassembly timeouts), sends what waits (UDP datagrams the application
//! queued) and lets TCP send and run its timers; [`Interface::poll_at`] says
//! when `poll` next has work. The TCP connections are reached through
//! [`Interface::tcp_mut`].
//!
//! What it accepts:
//!
//! * Ethernet II frames to our MAC or to broadcast. Frames carrying one
//!   802.1Q tag are accepted when the tag's VLAN is the configured one (or 0,
//!   a priority tag); answers to them carry the same tag. Frames shorter than
//!   their header, with a second tag, or with an EtherType other than IPv4 and
//!   ARP are dropped and counted.
//! * ARP (RFC 826): requests for our address are answered; an entry is
//!   updated from any ARP naming its address and created when an ARP targets
//!   us. See [`ArpConfig`] for the cache's bounds and retries.
//! * IPv4 to our address or a broadcast (255.255.255.255 or the subnet's),
//!   with a valid header checksum; options are skipped; the total length, not
//!   the frame length, says where the packet ends (frames are padded to 60
//!   bytes). Fragments are reassembled within the bounds of
//!   [`ReassemblyConfig`].
//! * ICMP echo requests to our address are answered (not those to a
//!   broadcast); other ICMP is counted and ignored. A UDP datagram to a
//!   closed port is answered with port unreachable (never for broadcasts,
//!   rate limited).
//! * UDP to bound sockets (checksum verified; zero means none was sent).
//! * TCP segments to our address: header and checksum verified (failures
//!   counted as `rx_tcp_malformed` / `rx_tcp_bad_checksum`; segments to a
//!   broadcast as `rx_tcp_broadcast`), then handed to [`Tcp`]; its
//!   answers go out at once, the rest of its output (data, ACKs,
//!   retransmissions) when [`Interface::poll`] runs [`Tcp::dispatch`].
//!
//! Output never fragments: a payload larger than [`MTU`] minus the headers
//! is refused. Frames are emitted straight into the device's buffer.
//! Every drop is counted in [`IfaceStats`] under its reason; nothing a frame
//! holds makes the interface panic.

mod arp_cache;
mod config;
mod output;
mod reassembly;
mod stats;
mod udp;

#[cfg(test)]
mod tests;

use std::net::SocketAddrV4;

pub use arp_cache::ArpConfig;
pub use config::InterfaceConfig;
pub use output::{MIN_FRAME_LEN, MTU};
pub use reassembly::ReassemblyConfig;
pub use stats::IfaceStats;
pub use udp::{UdpConfig, UdpError, UdpHandle};

use arp_cache::{ArpCache, Neighbor};
use output::{Net, Outcome, IP_HEADER_LEN};
use reassembly::{Fragment, Reassembler};
use udp::{DatagramQueue, Delivery, UdpSockets};

use crate::tcp::Tcp;
use crate::time::Instant;
use crate::wire::icmp::DstUnreachable;
use crate::wire::{
    self, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetPacket,
    EthernetRepr, IcmpPacket, IcmpRepr, IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr, TcpPacket,
    TcpRepr, UdpPacket, UdpRepr,
};

/// Where the interface puts outgoing frames. The driver implements it by
/// filling a DMA packet buffer in place.
pub trait TxDevice {
    /// Hands `fill` a buffer of exactly `len` bytes to write one frame into,
    /// and queues it for transmission. Returns false (and does not call
    /// `fill`) when there is no room now; the interface counts that.
    fn transmit<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> bool;
}

/// A datagram waiting to be sent: from our port, to where.
#[derive(Debug, Clone, Copy)]
struct UdpOut {
    src_port: u16,
    to: SocketAddrV4,
}

/// Largest UDP payload that fits in one frame.
const UDP_MAX_PAYLOAD: usize = MTU - IP_HEADER_LEN - wire::udp::HEADER_LEN;

/// One IPv4 interface and its protocols. See the [module docs](self).
#[derive(Debug)]
pub struct Interface {
    net: Net,
    vlan_id: Option<u16>,
    udp: UdpSockets,
    udp_tx: DatagramQueue<UdpOut>,
    reassembly: Reassembler,
    tcp: Tcp,
}

/// A received frame's link-layer facts the upper layers need.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// The tag it came with (answers carry the same).
    vlan_tci: Option<u16>,
}

impl Interface {
    /// An interface with this configuration. `seed` makes its random
    /// choices (the first IP identification) reproducible.
    pub fn new(config: InterfaceConfig, seed: u64) -> Interface {
        let ident = (splitmix64(seed) >> 48) as u16;
        let vlan_id = config.vlan_id.map(|v| v & 0x0fff);
        Interface {
            net: Net::new(
                EthernetAddress(config.mac),
                config.ip,
                config.prefix_len,
                config.gateway,
                vlan_id,
                config.ttl,
                ArpCache::new(config.arp),
                config.icmp_error_burst,
                config.icmp_error_interval,
                ident,
            ),
            vlan_id,
            udp: UdpSockets::new(config.udp),
            udp_tx: DatagramQueue::new(config.udp.tx_queue_len, config.udp.tx_buffer_bytes),
            reassembly: Reassembler::new(config.reassembly),
            tcp: Tcp::new(config.tcp, config.ip, splitmix64(seed ^ TCP_SEED_SALT)),
        }
    }

    /// The TCP connections and listeners.
    pub fn tcp(&self) -> &Tcp {
        &self.tcp
    }

    /// The TCP connections and listeners, to listen, connect, send and
    /// receive. What they queue goes out at the next [`poll`](Self::poll).
    pub fn tcp_mut(&mut self) -> &mut Tcp {
        &mut self.tcp
    }

    /// Our IPv4 address.
    pub fn ip(&self) -> Ipv4Addr {
        self.net.ip
    }

    /// Our MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.net.mac.0
    }

    /// The counters.
    pub fn stats(&self) -> IfaceStats {
        self.net.stats
    }

    /// Broadcasts a gratuitous ARP (a request for our own address), so
    /// neighbours learn or refresh our MAC. Call once at start.
    pub fn announce<D: TxDevice>(&mut self, _now: Instant, dev: &mut D) {
        let ip = self.net.ip;
        let repr = ArpRepr {
            operation: ArpOperation::REQUEST,
            source_hardware_addr: self.net.mac,
            source_protocol_addr: ip,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ip,
        };
        let tci = self.net.vlan_tci;
        if self
            .net
            .send_arp(dev, EthernetAddress::BROADCAST, tci, repr)
        {
            self.net.stats.arp_announcements_sent += 1;
        }
    }

    /// Takes one received frame (without FCS). Answers (ARP replies, echo
    /// replies, ICMP errors, packets that waited for the sender's address)
    /// go out through `dev` at once.
    pub fn receive<D: TxDevice>(&mut self, now: Instant, frame: &[u8], dev: &mut D) {
        self.net.stats.rx_frames += 1;
        let Ok(eth) = EthernetPacket::new_checked(frame) else {
            self.net.stats.rx_eth_truncated += 1;
            return;
        };
        let repr = match EthernetRepr::parse(&eth) {
            Ok(r) => r,
            Err(wire::Error::Unsupported) => {
                self.net.stats.rx_vlan_stacked += 1;
                return;
            }
            Err(_) => {
                self.net.stats.rx_eth_truncated += 1;
                return;
            }
        };
        let broadcast = repr.dst_addr.is_broadcast();
        if repr.dst_addr != self.net.mac && !broadcast {
            self.net.stats.rx_eth_not_for_us += 1;
            return;
        }
        if repr.src_addr.is_multicast() || repr.src_addr == self.net.mac {
            self.net.stats.rx_eth_bad_source += 1;
            return;
        }
        if let Some(tci) = repr.vlan_tci {
            let vid = tci & 0x0fff;
            if vid != 0 && Some(vid) != self.vlan_id {
                self.net.stats.rx_vlan_mismatch += 1;
                return;
            }
        }
        let link = Link {
            vlan_tci: repr.vlan_tci,
        };
        let payload = eth.payload_ref();
        match repr.ethertype {
            EtherType::ARP => self.receive_arp(now, link, payload, dev),
            EtherType::IPV4 => self.receive_ipv4(now, link, broadcast, payload, dev),
            _ => self.net.stats.rx_unknown_ethertype += 1,
        }
    }

    fn receive_arp<D: TxDevice>(&mut self, now: Instant, link: Link, payload: &[u8], dev: &mut D) {
        let stats = &mut self.net.stats;
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            stats.rx_arp_truncated += 1;
            return;
        };
        let arp = match ArpRepr::parse(&packet) {
            Ok(a) => a,
            Err(wire::Error::Truncated) => {
                stats.rx_arp_truncated += 1;
                return;
            }
            Err(_) => {
                stats.rx_arp_unsupported += 1;
                return;
            }
        };
        let (sha, spa) = (arp.source_hardware_addr, arp.source_protocol_addr);
        if sha.is_multicast() || spa == self.net.ip || spa.is_broadcast() || spa.is_multicast() {
            stats.rx_arp_bad_sender += 1;
            return;
        }
        stats.rx_arp += 1;
        let for_us = arp.target_protocol_addr == self.net.ip;
        // An ARP probe (RFC 5227) has no sender address: nothing to learn.
        if !spa.is_unspecified() && self.net.on_link(spa) && !self.net.is_broadcast(spa) {
            let neighbor = Neighbor {
                mac: sha,
                vlan_tci: link.vlan_tci,
            };
            if let Some(waiting) = self.net.arp.learn(now, spa, neighbor, for_us) {
                self.net.stats.arp_learned += 1;
                self.net.flush(dev, neighbor, waiting);
            }
        }
        if arp.operation == ArpOperation::REQUEST && for_us {
            let reply = ArpRepr {
                operation: ArpOperation::REPLY,
                source_hardware_addr: self.net.mac,
                source_protocol_addr: self.net.ip,
                target_hardware_addr: sha,
                target_protocol_addr: spa,
            };
            if self.net.send_arp(dev, sha, link.vlan_tci, reply) {
                self.net.stats.arp_requests_answered += 1;
            }
        }
    }

    fn receive_ipv4<D: TxDevice>(
        &mut self,
        now: Instant,
        _link: Link,
        link_broadcast: bool,
        payload: &[u8],
        dev: &mut D,
    ) {
        let stats = &mut self.net.stats;
        let packet = match Ipv4Packet::new_checked(payload) {
            Ok(p) => p,
            Err(wire::Error::Truncated) => {
                stats.rx_ipv4_truncated += 1;
                return;
            }
            Err(_) => {
                stats.rx_ipv4_malformed += 1;
                return;
            }
        };
        let ip = match Ipv4Repr::parse(&packet) {
            Ok(r) => r,
            Err(wire::Error::Checksum) => {
                stats.rx_ipv4_bad_checksum += 1;
                return;
            }
            Err(wire::Error::Truncated) => {
                stats.rx_ipv4_truncated += 1;
                return;
            }
            Err(_) => {
                stats.rx_ipv4_malformed += 1;
                return;
            }
        };
        stats.rx_ipv4 += 1;
        let src = ip.src_addr;
        if src.is_broadcast()
            || src.is_multicast()
            || src.is_loopback()
            || src.is_unspecified()
            || src == self.net.ip
            || Some(src) == self.net.subnet_broadcast()
        {
            self.net.stats.rx_ipv4_bad_source += 1;
            return;
        }
        let ip_broadcast = self.net.is_broadcast(ip.dst_addr);
        if ip.dst_addr != self.net.ip && !ip_broadcast {
            self.net.stats.rx_ipv4_not_for_us += 1;
            return;
        }
        let broadcast = ip_broadcast || link_broadcast;
        if ip.more_frags || ip.frag_offset != 0 {
            self.net.stats.rx_frags += 1;
            self.expire_fragments(now);
            let stats = &mut self.net.stats;
            match self.reassembly.add(now, &ip, packet.payload_ref()) {
                Fragment::Incomplete => {}
                Fragment::Complete(header, data) => {
                    stats.frag_reassembled += 1;
                    self.deliver(now, dev, &header, &data, broadcast);
                }
                Fragment::Overlap => stats.frag_dropped_overlap += 1,
                Fragment::TooBig => stats.frag_dropped_too_big += 1,
                Fragment::Malformed => stats.frag_dropped_malformed += 1,
                Fragment::TableFull => stats.frag_dropped_table_full += 1,
            }
            return;
        }
        self.deliver(now, dev, &ip, packet.payload_ref(), broadcast);
    }

    /// Hands a whole datagram (`ip` its header) to its protocol.
    fn deliver<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        match ip.protocol {
            IpProtocol::ICMP => self.receive_icmp(now, dev, ip, payload, broadcast),
            IpProtocol::UDP => self.receive_udp(now, dev, ip, payload, broadcast),
            IpProtocol::TCP => self.receive_tcp(now, dev, ip, payload, broadcast),
            _ => self.net.stats.rx_ipv4_unknown_protocol += 1,
        }
    }

    fn receive_icmp<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        let stats = &mut self.net.stats;
        let Ok(packet) = IcmpPacket::new_checked(payload) else {
            stats.rx_icmp_malformed += 1;
            return;
        };
        stats.rx_icmp += 1;
        let (ident, seq_no, data) = match IcmpRepr::parse(&packet) {
            Ok(IcmpRepr::EchoRequest {
                ident,
                seq_no,
                data,
            }) => (ident, seq_no, data),
            Ok(_) | Err(wire::Error::Unsupported) => {
                stats.icmp_other_ignored += 1;
                return;
            }
            Err(wire::Error::Checksum) => {
                stats.rx_icmp_bad_checksum += 1;
                return;
            }
            Err(_) => {
                stats.rx_icmp_malformed += 1;
                return;
            }
        };
        if broadcast {
            stats.icmp_echo_broadcast_ignored += 1;
            return;
        }
        let reply = IcmpRepr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let len = reply.buffer_len();
        if IP_HEADER_LEN + len > MTU {
            stats.icmp_echo_too_big += 1;
            return;
        }
        let sent = self
            .net
            .send_ipv4(now, dev, ip.src_addr, IpProtocol::ICMP, len, |buf| {
                reply.emit(&mut IcmpPacket::new_unchecked(buf))
            });
        if sent.accepted() {
            self.net.stats.icmp_echo_answered += 1;
        }
    }

    fn receive_udp<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        let stats = &mut self.net.stats;
        let Ok(packet) = UdpPacket::new_checked(payload) else {
            stats.rx_udp_malformed += 1;
            return;
        };
        let udp = match UdpRepr::parse(&packet, ip.src_addr, ip.dst_addr) {
            Ok(u) => u,
            Err(wire::Error::Checksum) => {
                stats.rx_udp_bad_checksum += 1;
                return;
            }
            Err(_) => {
                stats.rx_udp_malformed += 1;
                return;
            }
        };
        stats.rx_udp += 1;
        let from = SocketAddrV4::new(ip.src_addr, udp.src_port);
        match self.udp.deliver(udp.dst_port, from, udp.payload) {
            Delivery::Delivered => self.net.stats.udp_delivered += 1,
            Delivery::QueueFull => self.net.stats.rx_udp_queue_full += 1,
            Delivery::NoSocket => {
                self.net.stats.rx_udp_no_socket += 1;
                if !broadcast {
                    self.port_unreachable(now, dev, ip, payload);
                }
            }
        }
    }

    /// Checks a TCP segment (header, checksum, not to a broadcast) and
    /// hands it to TCP, whose answers go out at once.
    fn receive_tcp<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        let stats = &mut self.net.stats;
        if broadcast {
            stats.rx_tcp_broadcast += 1;
            return;
        }
        let Ok(packet) = TcpPacket::new_checked(payload) else {
            stats.rx_tcp_malformed += 1;
            return;
        };
        let seg = match TcpRepr::parse(&packet, ip.src_addr, ip.dst_addr) {
            Ok(seg) => seg,
            Err(wire::Error::Checksum) => {
                stats.rx_tcp_bad_checksum += 1;
                return;
            }
            Err(_) => {
                stats.rx_tcp_malformed += 1;
                return;
            }
        };
        stats.rx_tcp += 1;
        let mut tx = tcp_tx(&mut self.net, dev, now);
        self.tcp
            .process(now, ip.src_addr, ip.dst_addr, &seg, &mut tx);
    }

    /// Answers the datagram `ip`/`payload` with ICMP port unreachable,
    /// quoting its header and the first 8 bytes of its payload.
    fn port_unreachable<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        ip: &Ipv4Repr,
        payload: &[u8],
    ) {
        if !self.net.icmp_error_allowed(now) {
            self.net.stats.icmp_rate_limited += 1;
            return;
        }
        let quoted = &payload[..payload.len().min(wire::icmp::QUOTED_PAYLOAD_LEN)];
        let icmp = IcmpRepr::DstUnreachable {
            reason: DstUnreachable::PORT_UNREACHABLE,
            header: *ip,
            data: quoted,
        };
        let sent = self.net.send_ipv4(
            now,
            dev,
            ip.src_addr,
            IpProtocol::ICMP,
            icmp.buffer_len(),
            |buf| icmp.emit(&mut IcmpPacket::new_unchecked(buf)),
        );
        if sent.accepted() {
            self.net.stats.icmp_port_unreachable_sent += 1;
        }
    }

    fn expire_fragments(&mut self, now: Instant) {
        self.net.stats.frag_dropped_timeout += self.reassembly.expire(now);
    }

    /// Runs the timers (ARP retries and failures, reassembly timeouts),
    /// sends the UDP datagrams the application queued, then lets TCP send
    /// what is due ([`Tcp::dispatch`]).
    pub fn poll<D: TxDevice>(&mut self, now: Instant, dev: &mut D) {
        self.expire_fragments(now);
        self.net.poll_arp(now, dev);
        let src_ip = self.net.ip;
        while let Some((out, len)) = self.udp_tx.front() {
            let dst_ip = *out.to.ip();
            let queue = &self.udp_tx;
            let sent = self.net.send_ipv4(
                now,
                dev,
                dst_ip,
                IpProtocol::UDP,
                wire::udp::HEADER_LEN + len,
                |buf| {
                    let mut packet = UdpPacket::new_unchecked(buf);
                    let header = UdpRepr {
                        src_port: out.src_port,
                        dst_port: out.to.port(),
                        payload: &[],
                    };
                    header.emit_header(&mut packet, len);
                    queue.copy_front(packet.payload_mut());
                    packet.fill_checksum(src_ip, dst_ip);
                },
            );
            if sent == Outcome::DeviceFull {
                break;
            }
            if sent.accepted() {
                self.net.stats.tx_udp += 1;
            }
            self.udp_tx.pop();
        }
        let mut tx = tcp_tx(&mut self.net, dev, now);
        self.tcp.dispatch(now, &mut tx);
    }

    /// When [`poll`](Self::poll) next has work: `None` when only a received
    /// frame can make work; a time at or before now means at once.
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.udp_tx.is_empty() {
            return Some(Instant::ZERO);
        }
        [
            self.net.arp.poll_at(),
            self.reassembly.poll_at(),
            self.tcp.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Binds a UDP socket to `port`.
    pub fn udp_bind(&mut self, port: u16) -> Result<UdpHandle, UdpError> {
        self.udp.bind(port)
    }

    /// Unbinds a socket; its queued datagrams are dropped. Returns false if
    /// the handle was not bound.
    pub fn udp_unbind(&mut self, handle: UdpHandle) -> bool {
        self.udp.unbind(handle)
    }

    /// Takes the socket's oldest datagram: copies as much as fits into
    /// `buf` (the rest is discarded) and returns the sender and the bytes
    /// copied. `None` when the queue is empty or the handle is stale.
    pub fn udp_recv(&mut self, handle: UdpHandle, buf: &mut [u8]) -> Option<(SocketAddrV4, usize)> {
        self.udp.recv(handle, buf)
    }

    /// Queues a datagram from the socket to `to`; it is sent (through ARP
    /// resolution if need be) by the next [`poll`](Self::poll). `to` may be
    /// a unicast address or a broadcast.
    pub fn udp_send(
        &mut self,
        _now: Instant,
        handle: UdpHandle,
        to: SocketAddrV4,
        data: &[u8],
    ) -> Result<(), UdpError> {
        let src_port = self.udp.port(handle).ok_or(UdpError::InvalidHandle)?;
        if to.port() == 0 {
            return Err(UdpError::InvalidPort);
        }
        if data.len() > UDP_MAX_PAYLOAD {
            return Err(UdpError::TooLarge);
        }
        let dst = *to.ip();
        if dst.is_unspecified() || dst.is_multicast() || dst.is_loopback() || dst == self.net.ip {
            return Err(UdpError::InvalidAddress);
        }
        if !self.net.is_broadcast(dst) && self.net.next_hop(dst).is_none() {
            self.net.stats.tx_no_route += 1;
            return Err(UdpError::NoRoute);
        }
        if !self.udp_tx.push(UdpOut { src_port, to }, data) {
            return Err(UdpError::Full);
        }
        Ok(())
    }

    /// The next UDP socket that received datagrams since it was last
    /// returned here (each socket is named once until then; read it until
    /// [`udp_recv`](Self::udp_recv) returns `None`).
    pub fn next_udp_readable(&mut self) -> Option<UdpHandle> {
        self.udp.next_readable()
    }
}

/// Mixed into the seed for TCP's, so its ISNs and the IP identifications
/// do not derive from the same value.
const TCP_SEED_SALT: u64 = 0x7463_705f_6973_6e73;

/// The sender TCP's output goes through: each segment emitted straight into
/// an IPv4 packet to `remote` (through ARP resolution). True when the
/// segment went out, waits for ARP, or was dropped for good (no route, ARP
/// queue full, not a unicast destination; counted): TCP's retransmission
/// recovers those like any loss. False only when the device had no room,
/// so TCP keeps the segment and stops sending for now.
fn tcp_tx<'a, D: TxDevice>(
    net: &'a mut Net,
    dev: &'a mut D,
    now: Instant,
) -> impl FnMut(Ipv4Addr, &TcpRepr<'_>) -> bool + 'a {
    move |remote, seg| {
        if remote.is_broadcast()
            || remote.is_multicast()
            || remote.is_unspecified()
            || net.is_broadcast(remote)
        {
            net.stats.tx_tcp_bad_destination += 1;
            return true;
        }
        let src = net.ip;
        let sent = net.send_ipv4(now, dev, remote, IpProtocol::TCP, seg.buffer_len(), |buf| {
            seg.emit(&mut TcpPacket::new_unchecked(buf), src, remote)
        });
        if sent.accepted() {
            net.stats.tx_tcp += 1;
        }
        sent != Outcome::DeviceFull
    }
}

/// SplitMix64: spreads a seed's bits.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
