//! Receive-side scaling as the 82576 does it: which fields of a frame are
//! hashed (MRQC), the Toeplitz hash with the 40-byte key (RSSRK), and the
//! 128-entry redirection table (RETA) that turns the hash into a queue.
//!
//! Modelled after the datasheet and QEMU's igb: RSS applies only when MRQC
//! selects RSS (bits 0..2 = 2) **and** RXCSUM.PCSD is set; a frame whose type
//! has no enabled hash field (ARP, ICMPv6 with the IPv6 field off, ...) goes to
//! queue 0 with hash 0 and RSS type 0. Fragmented IPv4 is hashed on its
//! addresses only. IPv6 extension headers are not walked: an IPv6 packet whose
//! next header is not TCP or UDP is hashed on its addresses. One 802.1Q tag
//! (the VET ethertype) is skipped.

use igbpoll_driver::regs::{self, igb as q};

pub use igbpoll_driver::regs::igb::mrqc;

/// RSS type in the low 4 bits of the advanced write-back's pkt_info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RssType {
    /// Not hashed.
    None = 0,
    /// TCP over IPv4.
    TcpIpv4 = 1,
    /// IPv4 addresses only.
    Ipv4 = 2,
    /// TCP over IPv6.
    TcpIpv6 = 3,
    /// IPv6 addresses only.
    Ipv6 = 5,
    /// UDP over IPv4.
    UdpIpv4 = 7,
    /// UDP over IPv6.
    UdpIpv6 = 8,
}

/// The Toeplitz hash of `input` under `key` (the key must be at least 4 bytes
/// longer than the input; the 82576's 40-byte key covers IPv6 + ports).
///
/// For every set bit of the input, from the most significant bit of its first
/// byte on, the result is XORed with the 32 key bits starting at that bit position.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let key_bit = |i: usize| -> u32 {
        key.get(i / 8)
            .map_or(0, |b| u32::from(b >> (7 - (i % 8)) & 1))
    };
    let mut window = key
        .iter()
        .take(4)
        .fold(0u32, |w, &b| (w << 8) | u32::from(b));
    let mut hash = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= window;
            }
            window = (window << 1) | key_bit(i * 8 + bit + 32);
        }
    }
    hash
}

/// The fields a frame is hashed on: source address, destination address,
/// then (TCP/UDP) source port and destination port, as they are on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashInput {
    /// Which hash applies.
    pub rss_type: RssType,
    bytes: [u8; 36],
    len: usize,
}

impl HashInput {
    /// The bytes fed to the Toeplitz hash.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Picks the hash type and input of `frame` for the MRQC hash fields `fields`;
/// `vet` is the VLAN ethertype (VET low half) in wire order. `None` when the
/// frame gets no hash (not IP, or its type is not enabled).
pub fn hash_input(frame: &[u8], fields: u32, vet: [u8; 2]) -> Option<HashInput> {
    let mut l3 = 14;
    let mut ethertype = [*frame.get(12)?, *frame.get(13)?];
    if ethertype == vet {
        ethertype = [*frame.get(16)?, *frame.get(17)?];
        l3 = 18;
    }
    let ip = frame.get(l3..)?;
    let mut bytes = [0u8; 36];
    let pick = |tcp: u32, udp: u32, proto: u8, l4_ok: bool| match proto {
        6 if l4_ok && fields & tcp != 0 => Some(true),
        17 if l4_ok && fields & udp != 0 => Some(false),
        _ => None,
    };
    match ethertype {
        [0x08, 0x00] => {
            let ihl = usize::from(*ip.first()? & 0xF) * 4;
            if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl {
                return None;
            }
            let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3FFF != 0;
            let l4 = ip.get(ihl..ihl + 4);
            let l4_proto = pick(mrqc::TCP_IPV4, mrqc::UDP_IPV4, ip[9], !frag && l4.is_some());
            bytes[..8].copy_from_slice(&ip[12..20]);
            match (l4_proto, l4) {
                (Some(tcp), Some(ports)) => {
                    bytes[8..12].copy_from_slice(ports);
                    let rss_type = if tcp {
                        RssType::TcpIpv4
                    } else {
                        RssType::UdpIpv4
                    };
                    Some(HashInput {
                        rss_type,
                        bytes,
                        len: 12,
                    })
                }
                _ if fields & mrqc::IPV4 != 0 => Some(HashInput {
                    rss_type: RssType::Ipv4,
                    bytes,
                    len: 8,
                }),
                _ => None,
            }
        }
        [0x86, 0xDD] => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return None;
            }
            let l4 = ip.get(40..44);
            let l4_proto = pick(
                mrqc::TCP_IPV6 | mrqc::TCP_IPV6_EX,
                mrqc::UDP_IPV6 | mrqc::UDP_IPV6_EX,
                ip[6],
                l4.is_some(),
            );
            bytes[..32].copy_from_slice(&ip[8..40]);
            match (l4_proto, l4) {
                (Some(tcp), Some(ports)) => {
                    bytes[32..36].copy_from_slice(ports);
                    let rss_type = if tcp {
                        RssType::TcpIpv6
                    } else {
                        RssType::UdpIpv6
                    };
                    Some(HashInput {
                        rss_type,
                        bytes,
                        len: 36,
                    })
                }
                _ if fields & (mrqc::IPV6 | mrqc::IPV6_EX) != 0 => Some(HashInput {
                    rss_type: RssType::Ipv6,
                    bytes,
                    len: 32,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Where RSS sends one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    /// The receive queue.
    pub queue: u8,
    /// The Toeplitz hash (0 when not hashed).
    pub hash: u32,
    /// The hash type (written to pkt_info).
    pub rss_type: RssType,
}

/// The RSS registers, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rss {
    /// MRQC hash-field bits.
    pub fields: u32,
    /// The Toeplitz key, byte 0 first (RSSRK0 bits 7:0).
    pub key: [u8; 40],
    /// The redirection table, entry 0 first (RETA0 bits 7:0).
    pub reta: [u8; 128],
    /// The VLAN ethertype skipped before the IP header, in wire order.
    pub vet: [u8; 2],
}

/// Number of RSSRK registers.
pub const RSSRK_REGS: u32 = 10;
/// Number of RETA registers.
pub const RETA_REGS: u32 = 32;

impl Rss {
    /// Decodes the RSS registers through `read` (BAR0 offset → value). `None`
    /// when RSS is off: MRQC not in RSS mode, or RXCSUM.PCSD clear.
    pub fn from_registers(read: impl Fn(u32) -> u32) -> Option<Rss> {
        let m = read(q::MRQC);
        if m & mrqc::MODE_MASK != mrqc::MODE_RSS || read(regs::RXCSUM) & q::RXCSUM_PCSD == 0 {
            return None;
        }
        let mut key = [0u8; 40];
        for i in 0..RSSRK_REGS {
            let w = read(q::rssrk(i)).to_le_bytes();
            key[4 * i as usize..4 * i as usize + 4].copy_from_slice(&w);
        }
        let mut reta = [0u8; 128];
        for i in 0..RETA_REGS {
            let w = read(q::reta(i)).to_le_bytes();
            reta[4 * i as usize..4 * i as usize + 4].copy_from_slice(&w);
        }
        Some(Rss {
            fields: m & !mrqc::MODE_MASK,
            key,
            reta,
            vet: (read(regs::VET) as u16).to_be_bytes(),
        })
    }

    /// The queue of redirection-table entry `hash & 0x7F`.
    #[inline]
    pub fn queue_of(&self, hash: u32) -> u8 {
        self.reta[(hash & 0x7F) as usize] & 0xF
    }

    /// The highest queue the table names.
    pub fn max_queue(&self) -> u8 {
        self.reta.iter().map(|e| e & 0xF).max().unwrap_or(0)
    }

    /// Where `frame` goes.
    pub fn dispatch(&self, frame: &[u8]) -> Dispatch {
        match hash_input(frame, self.fields, self.vet) {
            Some(h) => {
                let hash = toeplitz(&self.key, h.bytes());
                Dispatch {
                    queue: self.queue_of(hash),
                    hash,
                    rss_type: h.rss_type,
                }
            }
            None => Dispatch {
                queue: 0,
                hash: 0,
                rss_type: RssType::None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::{self, proto};

    /// The key of Microsoft's RSS verification suite.
    const MS_KEY: [u8; 40] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f,
        0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    fn input(src: &[u8], dst: &[u8], ports: Option<(u16, u16)>) -> Vec<u8> {
        let mut v = [src, dst].concat();
        if let Some((s, d)) = ports {
            v.extend_from_slice(&s.to_be_bytes());
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    /// Microsoft's "Verifying the RSS Hash Calculation" IPv4 examples:
    /// (destination, source, IPv4 hash, TCP/IPv4 hash).
    #[test]
    fn microsoft_ipv4_vectors() {
        type Case = ([u8; 4], u16, [u8; 4], u16, u32, u32);
        let cases: [Case; 5] = [
            (
                [161, 142, 100, 80],
                1766,
                [66, 9, 149, 187],
                2794,
                0x323e8fc2,
                0x51ccc178,
            ),
            (
                [65, 69, 140, 83],
                4739,
                [199, 92, 111, 2],
                14230,
                0xd718262a,
                0xc626b0ea,
            ),
            (
                [12, 22, 207, 184],
                38024,
                [24, 19, 198, 95],
                12898,
                0xd2d0a5de,
                0x5c2b394a,
            ),
            (
                [209, 142, 163, 6],
                2217,
                [38, 27, 205, 30],
                48228,
                0x82989176,
                0xafc7327f,
            ),
            (
                [202, 188, 127, 2],
                1303,
                [153, 39, 163, 191],
                44251,
                0x5d1809c5,
                0x10e828a2,
            ),
        ];
        for (dst, dport, src, sport, ip_hash, tcp_hash) in cases {
            assert_eq!(toeplitz(&MS_KEY, &input(&src, &dst, None)), ip_hash);
            assert_eq!(
                toeplitz(&MS_KEY, &input(&src, &dst, Some((sport, dport)))),
                tcp_hash
            );
        }
    }

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    /// The same suite's IPv6 examples.
    #[test]
    fn microsoft_ipv6_vectors() {
        let cases = [
            (
                "3ffe:2501:200:3::1",
                1766,
                "3ffe:2501:200:1fff::7",
                2794,
                0x2cc18cd5,
                0x40207d3d,
            ),
            (
                "ff02::1",
                4739,
                "3ffe:501:8::260:97ff:fe40:efab",
                14230,
                0x0f0c461c,
                0xdde51bbf,
            ),
            (
                "fe80::200:f8ff:fe21:67cf",
                38024,
                "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
                44251,
                0x4b61e985,
                0x02d1feef,
            ),
        ];
        for (dst, dport, src, sport, ip_hash, tcp_hash) in cases {
            let (s, d) = (v6(src), v6(dst));
            assert_eq!(toeplitz(&MS_KEY, &input(&s, &d, None)), ip_hash);
            assert_eq!(
                toeplitz(&MS_KEY, &input(&s, &d, Some((sport, dport)))),
                tcp_hash
            );
        }
    }

    fn rss(fields: u32) -> Rss {
        Rss {
            fields,
            key: MS_KEY,
            reta: std::array::from_fn(|i| (i % 4) as u8),
            vet: [0x81, 0x00],
        }
    }

    fn ipv4_frame(p: u8, vlan: Option<u16>, frag: bool) -> Vec<u8> {
        let mut f = Vec::new();
        frame::push_eth(&mut f, [2; 6], [4; 6], vlan, frame::ETHERTYPE_IPV4);
        let ip = f.len();
        frame::push_ipv4(
            &mut f,
            [66, 9, 149, 187],
            [161, 142, 100, 80],
            p,
            1,
            (2794, 1766),
            10,
            0,
        );
        if frag {
            f[ip + 6] |= 0x20; // more fragments
        }
        f
    }

    #[test]
    fn frames_are_hashed_on_the_fields_mrqc_enables() {
        let all = mrqc::TCP_IPV4 | mrqc::IPV4 | mrqc::UDP_IPV4 | mrqc::IPV6 | mrqc::TCP_IPV6;
        let r = rss(all);
        let d = r.dispatch(&ipv4_frame(proto::TCP, None, false));
        assert_eq!((d.hash, d.rss_type), (0x51ccc178, RssType::TcpIpv4));
        assert_eq!(d.queue, (0x51ccc178 & 0x7F) as u8 % 4);
        // The same behind an 802.1Q tag.
        assert_eq!(r.dispatch(&ipv4_frame(proto::TCP, Some(5), false)), d);
        // A fragment: addresses only.
        let d = r.dispatch(&ipv4_frame(proto::TCP, None, true));
        assert_eq!((d.hash, d.rss_type), (0x323e8fc2, RssType::Ipv4));
        // ICMP: addresses only; UDP: ports with the UDP field, else addresses.
        let d = r.dispatch(&ipv4_frame(proto::ICMP, None, false));
        assert_eq!((d.hash, d.rss_type), (0x323e8fc2, RssType::Ipv4));
        let d = r.dispatch(&ipv4_frame(proto::UDP, None, false));
        assert_eq!((d.hash, d.rss_type), (0x51ccc178, RssType::UdpIpv4));
        let d = rss(mrqc::IPV4).dispatch(&ipv4_frame(proto::UDP, None, false));
        assert_eq!((d.hash, d.rss_type), (0x323e8fc2, RssType::Ipv4));
        // No enabled field, or not IP: queue 0, no hash.
        let none = Dispatch {
            queue: 0,
            hash: 0,
            rss_type: RssType::None,
        };
        assert_eq!(
            rss(mrqc::IPV6).dispatch(&ipv4_frame(proto::TCP, None, false)),
            none
        );
        let mut arp = Vec::new();
        frame::push_eth(&mut arp, [0xFF; 6], [4; 6], None, frame::ETHERTYPE_ARP);
        frame::push_arp(&mut arp, [4; 6], [10, 0, 0, 2], [10, 0, 0, 1]);
        assert_eq!(r.dispatch(&arp), none);
        // Truncated headers never panic.
        let f = ipv4_frame(proto::TCP, None, false);
        for n in 0..f.len() {
            r.dispatch(&f[..n]);
        }
    }
}
