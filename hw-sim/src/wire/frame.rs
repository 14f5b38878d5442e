//! Frame building and checking: Ethernet, 802.1Q, ARP, IPv4, ICMP, UDP, TCP,
//! Internet checksums and the Ethernet FCS (CRC-32).

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType (TPID) of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Minimum frame length without FCS.
pub const MIN_FRAME: usize = 60;
/// The broadcast MAC address.
pub const BROADCAST: [u8; 6] = [0xFF; 6];

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The Ethernet FCS of `frame` (IEEE CRC-32), to be sent least significant byte first.
pub fn crc32(frame: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in frame {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// Ones'-complement sum of `data` folded into 16 bits, starting from `init`.
pub fn ones_sum(data: &[u8], init: u32) -> u32 {
    let mut sum = init;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum
}

/// The Internet checksum of `data` (with `init` folded in).
pub fn checksum(data: &[u8], init: u32) -> u16 {
    !(ones_sum(data, init) as u16)
}

fn pseudo_header(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> u32 {
    let mut p = [0u8; 12];
    p[..4].copy_from_slice(&src);
    p[4..8].copy_from_slice(&dst);
    p[9] = proto;
    p[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    ones_sum(&p, 0)
}

/// Appends an Ethernet header (with an 802.1Q tag when `vlan` is set).
pub fn push_eth(out: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    if let Some(tci) = vlan {
        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// Appends an ARP request for `target_ip`.
pub fn push_arp(out: &mut Vec<u8>, sha: [u8; 6], spa: [u8; 4], target_ip: [u8; 4]) {
    out.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    out.extend_from_slice(&sha);
    out.extend_from_slice(&spa);
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&target_ip);
}

/// IPv4 protocol numbers used by the generator.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

/// Appends an IPv4 packet: header (no options, valid checksum) and an L4
/// segment of `proto` carrying `payload_len` bytes of `fill`, with a valid
/// ICMP/UDP/TCP checksum.
#[allow(clippy::too_many_arguments)]
pub fn push_ipv4(
    out: &mut Vec<u8>,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    ports: (u16, u16),
    payload_len: usize,
    fill: u8,
) {
    let l4_hdr = match proto {
        self::proto::TCP => 20,
        _ => 8,
    };
    let total = 20 + l4_hdr + payload_len;
    let ip_start = out.len();
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    let c = checksum(&out[ip_start..ip_start + 20], 0);
    out[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());

    let l4 = out.len();
    match proto {
        self::proto::ICMP => {
            // Echo request: type 8, code 0, checksum, identifier, sequence.
            out.extend_from_slice(&[8, 0, 0, 0]);
            out.extend_from_slice(&ports.0.to_be_bytes());
            out.extend_from_slice(&ports.1.to_be_bytes());
        }
        self::proto::TCP => {
            out.extend_from_slice(&ports.0.to_be_bytes());
            out.extend_from_slice(&ports.1.to_be_bytes());
            out.extend_from_slice(&u32::from(id).wrapping_mul(2654435761).to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]);
        }
        _ => {
            out.extend_from_slice(&ports.0.to_be_bytes());
            out.extend_from_slice(&ports.1.to_be_bytes());
            out.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
    }
    out.extend((0..payload_len).map(|i| fill.wrapping_add(i as u8)));
    let seg = &out[l4..];
    let (csum_off, init) = match proto {
        self::proto::ICMP => (2, 0),
        self::proto::TCP => (16, pseudo_header(src, dst, proto, seg.len())),
        _ => (6, pseudo_header(src, dst, proto, seg.len())),
    };
    let mut c = checksum(seg, init);
    if proto == self::proto::UDP && c == 0 {
        c = 0xFFFF;
    }
    out[l4 + csum_off..l4 + csum_off + 2].copy_from_slice(&c.to_be_bytes());
}

/// Pads `out` with zeros to the 60-byte Ethernet minimum.
pub fn pad_min(out: &mut Vec<u8>) {
    if out.len() < MIN_FRAME {
        out.resize(MIN_FRAME, 0);
    }
}

/// Checks the IPv4 header checksum and the ICMP/UDP/TCP checksum of an
/// Ethernet frame. `None` when the frame is not IPv4 (or is malformed).
pub fn verify_ipv4(frame: &[u8]) -> Option<bool> {
    let mut off = 12;
    let mut et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    if et == ETHERTYPE_VLAN {
        off += 4;
        et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    if et != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(off + 2..)?;
    let ihl = usize::from(ip.first()? & 0xF) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    if ihl < 20 || total < ihl || ip.len() < total {
        return None;
    }
    if checksum(&ip[..ihl], 0) != 0 {
        return Some(false);
    }
    let proto = ip[9];
    let src: [u8; 4] = ip[12..16].try_into().ok()?;
    let dst: [u8; 4] = ip[16..20].try_into().ok()?;
    let seg = &ip[ihl..total];
    let ok = match proto {
        self::proto::ICMP => checksum(seg, 0) == 0,
        self::proto::UDP | self::proto::TCP => {
            checksum(seg, pseudo_header(src, dst, proto, seg.len())) == 0
        }
        _ => true,
    };
    Some(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn udp_tcp_icmp_checksums_verify() {
        for p in [proto::UDP, proto::TCP, proto::ICMP] {
            let mut f = Vec::new();
            push_eth(&mut f, [2; 6], [4; 6], Some(5), ETHERTYPE_IPV4);
            push_ipv4(
                &mut f,
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                p,
                7,
                (1000, 2000),
                33,
                9,
            );
            assert_eq!(verify_ipv4(&f), Some(true), "proto {p}");
            let n = f.len() - 1;
            f[n] ^= 0xFF;
            assert_eq!(verify_ipv4(&f), Some(false), "proto {p} corrupted");
        }
    }
}
