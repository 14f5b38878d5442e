//! The output path: routing (next hop), ARP resolution, and frames emitted
//! straight into the device's buffer.

use std::collections::VecDeque;
use std::time::Duration;

use super::arp_cache::{ArpCache, ArpTimers, Enqueued, Neighbor};
use super::stats::IfaceStats;
use super::TxDevice;
use crate::time::Instant;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetPacket, EthernetRepr,
    IpProtocol, Ipv4Addr, Ipv4Packet, Ipv4Repr,
};

/// The largest IPv4 packet (header included) the interface sends or expects
/// in one frame.
pub const MTU: usize = 1500;
/// The shortest frame on the wire, without the FCS: shorter ones are padded.
pub const MIN_FRAME_LEN: usize = 60;
/// The IPv4 header the interface emits (no options).
pub(crate) const IP_HEADER_LEN: usize = crate::wire::ipv4::HEADER_LEN;

/// What became of a packet given to [`Net::send_ipv4`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// In the device's buffer.
    Sent,
    /// Waiting for ARP resolution.
    Queued,
    /// Dropped and counted (no route, too big, ARP queue or cache full).
    Dropped,
    /// The device had no room (counted); the caller may try again later.
    DeviceFull,
}

impl Outcome {
    /// Sent or queued.
    pub fn accepted(self) -> bool {
        matches!(self, Outcome::Sent | Outcome::Queued)
    }
}

/// The interface's addresses and everything the output path needs.
#[derive(Debug)]
pub(crate) struct Net {
    pub mac: EthernetAddress,
    pub ip: Ipv4Addr,
    pub mask: u32,
    pub gateway: Option<Ipv4Addr>,
    /// The tag of frames the interface starts itself (ARP requests and
    /// announcements, broadcasts), when it sits on a VLAN.
    pub vlan_tci: Option<u16>,
    pub ttl: u8,
    pub arp: ArpCache,
    pub stats: IfaceStats,
    ident: u16,
    timers: ArpTimers,
    /// ICMP error token bucket.
    icmp_tokens: u32,
    icmp_burst: u32,
    icmp_interval: Duration,
    icmp_refilled: Instant,
}

impl Net {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mac: EthernetAddress,
        ip: Ipv4Addr,
        prefix_len: u8,
        gateway: Option<Ipv4Addr>,
        vlan_id: Option<u16>,
        ttl: u8,
        arp: ArpCache,
        icmp_burst: u32,
        icmp_interval: Duration,
        ident: u16,
    ) -> Net {
        let prefix = u32::from(prefix_len.min(32));
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        Net {
            mac,
            ip,
            mask,
            gateway,
            vlan_tci: vlan_id.map(|v| v & 0x0fff),
            ttl,
            arp,
            stats: IfaceStats::default(),
            ident,
            timers: ArpTimers::default(),
            icmp_tokens: icmp_burst,
            icmp_burst,
            icmp_interval,
            icmp_refilled: Instant::ZERO,
        }
    }

    /// Whether `ip` is on the interface's subnet.
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask == u32::from(self.ip) & self.mask
    }

    /// The subnet's directed broadcast address, if the subnet has one
    /// (prefixes /31 and /32 do not).
    pub fn subnet_broadcast(&self) -> Option<Ipv4Addr> {
        (self.mask < 0xffff_fffe).then(|| Ipv4Addr::from(u32::from(self.ip) | !self.mask))
    }

    /// Whether `ip` is the limited or the subnet broadcast.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip.is_broadcast() || Some(ip) == self.subnet_broadcast()
    }

    /// Where a packet for `dst` goes first: `dst` itself when on-link, else
    /// the gateway. `None`: no route.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.on_link(dst) {
            Some(dst)
        } else {
            self.gateway
        }
    }

    /// Takes one ICMP error token, if the rate limit allows one now.
    pub fn icmp_error_allowed(&mut self, now: Instant) -> bool {
        if self.icmp_interval.is_zero() {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.icmp_refilled);
        let earned = elapsed.as_micros() / self.icmp_interval.as_micros().max(1);
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.icmp_tokens = self.icmp_tokens.saturating_add(earned).min(self.icmp_burst);
            self.icmp_refilled = now;
        }
        if self.icmp_tokens == 0 {
            return false;
        }
        self.icmp_tokens -= 1;
        true
    }

    /// Emits one frame of `payload_len` payload bytes, padded to
    /// [`MIN_FRAME_LEN`]; `fill` writes the payload. False (counted) if the
    /// device had no room.
    fn emit_frame<D: TxDevice>(
        &mut self,
        dev: &mut D,
        dst: EthernetAddress,
        vlan_tci: Option<u16>,
        ethertype: EtherType,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        let eth = EthernetRepr {
            src_addr: self.mac,
            dst_addr: dst,
            vlan_tci,
            ethertype,
        };
        let header_len = eth.buffer_len();
        let len = (header_len + payload_len).max(MIN_FRAME_LEN);
        let ok = dev.transmit(len, |buf| {
            // A device handing out a wrong-sized buffer gets nothing written.
            if buf.len() < len {
                return;
            }
            let buf = &mut buf[..len];
            eth.emit(&mut EthernetPacket::new_unchecked(&mut *buf));
            let (payload, pad) = buf[header_len..].split_at_mut(payload_len);
            fill(payload);
            pad.fill(0);
        });
        if ok {
            self.stats.tx_frames += 1;
            self.stats.tx_bytes += len as u64;
        } else {
            self.stats.tx_device_full += 1;
        }
        ok
    }

    /// Sends an ARP packet.
    pub fn send_arp<D: TxDevice>(
        &mut self,
        dev: &mut D,
        dst: EthernetAddress,
        vlan_tci: Option<u16>,
        arp: ArpRepr,
    ) -> bool {
        self.emit_frame(
            dev,
            dst,
            vlan_tci,
            EtherType::ARP,
            arp.buffer_len(),
            |buf| arp.emit(&mut ArpPacket::new_unchecked(buf)),
        )
    }

    /// Broadcasts a request for `target`.
    pub fn send_arp_request<D: TxDevice>(&mut self, dev: &mut D, target: Ipv4Addr) {
        let repr = ArpRepr {
            operation: ArpOperation::REQUEST,
            source_hardware_addr: self.mac,
            source_protocol_addr: self.ip,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        let tci = self.vlan_tci;
        if self.send_arp(dev, EthernetAddress::BROADCAST, tci, repr) {
            self.stats.arp_requests_sent += 1;
        }
    }

    fn next_ident(&mut self) -> u16 {
        let id = self.ident;
        self.ident = self.ident.wrapping_add(1);
        id
    }

    /// Sends an IPv4 packet to `dst` with a payload of `payload_len` bytes
    /// that `fill` writes (into a slice of exactly that length). The packet
    /// goes to the device if the next hop is resolved, else waits for ARP.
    pub fn send_ipv4<D: TxDevice>(
        &mut self,
        now: Instant,
        dev: &mut D,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Outcome {
        if IP_HEADER_LEN + payload_len > MTU {
            self.stats.tx_too_big += 1;
            return Outcome::Dropped;
        }
        let (hop, neighbor) = if self.is_broadcast(dst) {
            let n = Neighbor {
                mac: EthernetAddress::BROADCAST,
                vlan_tci: self.vlan_tci,
            };
            (dst, Some(n))
        } else {
            let Some(hop) = self.next_hop(dst) else {
                self.stats.tx_no_route += 1;
                return Outcome::Dropped;
            };
            (hop, self.arp.lookup(now, hop))
        };
        let repr = Ipv4Repr {
            src_addr: self.ip,
            dst_addr: dst,
            protocol,
            payload_len,
            ttl: self.ttl,
            ident: 0,
            dont_frag: protocol == IpProtocol::TCP,
            more_frags: false,
            frag_offset: 0,
        };
        let write = |buf: &mut [u8], ident: u16| {
            let (header, payload) = buf.split_at_mut(IP_HEADER_LEN);
            Ipv4Repr { ident, ..repr }.emit(&mut Ipv4Packet::new_unchecked(header));
            fill(payload);
        };
        if let Some(n) = neighbor {
            let ident = self.ident;
            let total = repr.total_len();
            if self.emit_frame(dev, n.mac, n.vlan_tci, EtherType::IPV4, total, |buf| {
                write(buf, ident)
            }) {
                self.next_ident();
                return Outcome::Sent;
            }
            return Outcome::DeviceFull;
        }
        let ident = self.next_ident();
        let (result, evicted) = self.arp.enqueue(now, hop, || {
            let mut packet = vec![0u8; repr.total_len()];
            write(&mut packet, ident);
            packet
        });
        if evicted {
            self.stats.arp_evicted += 1;
        }
        match result {
            Enqueued::FirstRequest => {
                self.send_arp_request(dev, hop);
                Outcome::Queued
            }
            Enqueued::Waiting => Outcome::Queued,
            Enqueued::QueueFull => {
                self.stats.arp_dropped_queue_full += 1;
                Outcome::Dropped
            }
            Enqueued::CacheFull => {
                self.stats.arp_dropped_cache_full += 1;
                Outcome::Dropped
            }
        }
    }

    /// Sends the packets that waited for `neighbor`.
    pub fn flush<D: TxDevice>(
        &mut self,
        dev: &mut D,
        neighbor: Neighbor,
        queue: VecDeque<Vec<u8>>,
    ) {
        for packet in queue {
            self.emit_frame(
                dev,
                neighbor.mac,
                neighbor.vlan_tci,
                EtherType::IPV4,
                packet.len(),
                |buf| buf.copy_from_slice(&packet),
            );
        }
    }

    /// Runs the ARP retry timers.
    pub fn poll_arp<D: TxDevice>(&mut self, now: Instant, dev: &mut D) {
        let mut timers = core::mem::take(&mut self.timers);
        timers.retry.clear();
        timers.failed = 0;
        timers.dropped = 0;
        self.arp.poll(now, &mut timers);
        self.stats.arp_resolution_failed += timers.failed;
        self.stats.arp_dropped_unresolved += timers.dropped;
        for &ip in &timers.retry {
            self.send_arp_request(dev, ip);
        }
        self.timers = timers;
    }
}
