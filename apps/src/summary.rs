//! One-line packet summaries in the style of `tcpdump -n -e`.
//!
//! ```text
//! 12:34:56.789012 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 18
//! ```
//!
//! Every byte is treated as untrusted: lengths are bounds-checked, short
//! headers print what they can followed by `[|proto]` as tcpdump does, and no
//! input can make the formatter panic. Output goes to any [`fmt::Write`] (a
//! reused `String`, a `Formatter`), so formatting does not allocate.
//! Timestamps are printed in UTC, computed without any date crate.
//!
//! The output matches `TZ=UTC tcpdump -n -e -S` line for line, whole or cut
//! at any length (tests compare the two when tcpdump is installed), for what
//! is decoded here: Ethernet, VLAN tags, ARP, IPv4, IPv6 and its extension
//! headers, ICMP, ICMPv6, IGMP (but DVMRP and PIMv1), ESP, VRRP, OSPF, UDP, TCP and
//! its options, LLDP, and over them DNS and mDNS, the first line of HTTP, SMTP,
//! FTP, RTSP and whois, SSH's banner, TFTP, NTP and BOOTP/DHCP. Where
//! tcpdump decodes further (SNMP, GRE, LLC and STP, MPLS, …) the line
//! ends where this module stops: after
//! the ports, the IP protocol, the LLC SAPs or the ethertype's name.
//! tcpdump's hex dump of an unknown ethertype's payload, which follows the
//! line, is [`crate::hexdump`]'s.

#![forbid(unsafe_code)]

mod dns;
mod ipproto;
mod text;
mod tftp;

use std::fmt::{self, Write};
use std::net::Ipv4Addr;

const ETH_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_RARP: u16 = 0x8035;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_LLDP: u16 = 0x88cc;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_VLAN_9100: u16 = 0x9100;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IGMP: u8 = 2;
const IPPROTO_ESP: u8 = 50;
const IPPROTO_VRRP: u8 = 112;
const IPPROTO_OSPF: u8 = 89;
const IPPROTO_ICMPV6: u8 = 58;
const DNS_PORT: u16 = 53;
const MDNS_PORT: u16 = 5353;
const NFS_PORT: u16 = 2049;
/// IPv6 extension headers skipped before giving up.
const MAX_IPV6_EXTENSIONS: usize = 8;

/// A frame to summarise; its [`Display`](fmt::Display) writes the tcpdump-style line
/// (without a newline).
///
/// ```
/// use igbpoll::summary::Summary;
/// use std::fmt::Write;
///
/// let mut line = String::new();
/// write!(line, "{}", Summary::new(0, &[0u8; 4])).unwrap();
/// assert_eq!(line, "00:00:00.000000  [|ether]");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    ts_ns: u64,
    frame: &'a [u8],
    wire_len: usize,
}

impl<'a> Summary<'a> {
    /// A frame captured whole at `ts_ns` (nanoseconds since the Unix epoch).
    pub fn new(ts_ns: u64, frame: &'a [u8]) -> Self {
        Summary {
            ts_ns,
            frame,
            wire_len: frame.len(),
        }
    }

    /// A frame of which only `frame` was captured out of `wire_len` bytes on
    /// the wire (as with a snapshot length).
    pub fn with_wire_len(ts_ns: u64, frame: &'a [u8], wire_len: usize) -> Self {
        Summary {
            ts_ns,
            frame,
            wire_len,
        }
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(f, self.ts_ns, self.frame, self.wire_len)
    }
}

/// Writes the summary line of an Ethernet frame (no trailing newline).
///
/// `ts_ns` is nanoseconds since the Unix epoch; `frame` holds the captured
/// bytes and `wire_len` the frame's length on the wire.
///
/// # Errors
/// Only those of `out`.
pub fn write_summary<W: Write + ?Sized>(
    out: &mut W,
    ts_ns: u64,
    frame: &[u8],
    wire_len: usize,
) -> fmt::Result {
    write_timestamp(out, ts_ns)?;
    out.write_char(' ')?;
    write_frame(out, frame, wire_len)
}

/// Writes the summary line of an Ethernet frame without its timestamp (what
/// follows tcpdump's timestamp and its blank), for a caller that prints the
/// time its own way.
///
/// # Errors
/// Only those of `out`.
pub fn write_frame<W: Write + ?Sized>(out: &mut W, frame: &[u8], wire_len: usize) -> fmt::Result {
    write_ethernet(out, Bytes(frame), wire_len)
}

/// Writes `ts_ns` (nanoseconds since the Unix epoch) as UTC `HH:MM:SS.ffffff`.
///
/// # Errors
/// Only those of `out`.
pub fn write_timestamp<W: Write + ?Sized>(out: &mut W, ts_ns: u64) -> fmt::Result {
    let secs = ts_ns / 1_000_000_000;
    let micros = ts_ns % 1_000_000_000 / 1000;
    let of_day = secs % 86_400;
    write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        micros
    )
}

/// Bounds-checked big-endian reads from untrusted bytes.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn len(self) -> usize {
        self.0.len()
    }
    fn u8(self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    fn array<const N: usize>(self, at: usize) -> Option<[u8; N]> {
        let end = at.checked_add(N)?;
        self.0.get(at..end)?.try_into().ok()
    }
    fn be16(self, at: usize) -> Option<u16> {
        self.array(at).map(u16::from_be_bytes)
    }
    fn be32(self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_be_bytes)
    }
    fn ipv4(self, at: usize) -> Option<Ipv4Addr> {
        self.array::<4>(at).map(Ipv4Addr::from)
    }
    fn ipv6(self, at: usize) -> Option<Ip6> {
        self.array::<16>(at).map(Ip6)
    }
    fn mac(self, at: usize) -> Option<Mac> {
        self.array(at).map(Mac)
    }
    /// Bytes from `at` on (empty if `at` is past the end).
    fn from(self, at: usize) -> Bytes<'a> {
        Bytes(self.0.get(at..).unwrap_or(&[]))
    }
    /// At most the first `len` bytes.
    fn take(self, len: usize) -> Bytes<'a> {
        Bytes(&self.0[..len.min(self.0.len())])
    }
}

/// An IPv6 address written as tcpdump writes it (its `addrtostr6`): the
/// longest run of two or more zero groups (the first of equals) as `::`, and
/// an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) address
/// with its last 32 bits dotted.
#[derive(Clone, Copy)]
struct Ip6([u8; 16]);

impl fmt::Display for Ip6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.0;
        let words: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
        // (start, length) of the longest run of zero groups.
        let mut best: Option<(usize, usize)> = None;
        let mut run: Option<(usize, usize)> = None;
        for (i, &w) in words.iter().enumerate() {
            if w == 0 {
                run = Some(run.map_or((i, 1), |(b, l)| (b, l + 1)));
            } else if let Some(r) = run.take() {
                if best.is_none_or(|b| r.1 > b.1) {
                    best = Some(r);
                }
            }
        }
        if let Some(r) = run {
            if best.is_none_or(|b| r.1 > b.1) {
                best = Some(r);
            }
        }
        let best = best.filter(|b| b.1 >= 2);
        let ipv4_tail = match best {
            Some((0, 6)) => true,
            Some((0, 5)) => words[5] == 0xffff,
            _ => false,
        };
        for (i, &w) in words.iter().enumerate() {
            if let Some((base, len)) = best {
                if i >= base && i < base + len {
                    if i == base {
                        f.write_char(':')?;
                    }
                    continue;
                }
            }
            if i != 0 {
                f.write_char(':')?;
            }
            if i == 6 && ipv4_tail {
                return write!(f, "{}", Ipv4Addr::new(a[12], a[13], a[14], a[15]));
            }
            write!(f, "{w:x}")?;
        }
        if best.is_some_and(|(base, len)| base + len == 8) {
            f.write_char(':')?;
        }
        Ok(())
    }
}

/// Why an application-protocol printer stopped early.
enum Stop {
    /// The bytes ran out (or were malformed) where tcpdump prints `[|proto]`.
    Cut,
    /// As `Cut`, from a read tcpdump does not check first (its `GET_`
    /// macros jump straight to `[|proto]`, even where a failed check would
    /// be ignored: DNS's CHAIN option tells the two apart).
    Abort,
    /// The output failed.
    Fmt,
}

impl From<fmt::Error> for Stop {
    fn from(_: fmt::Error) -> Self {
        Stop::Fmt
    }
}

/// A printer's step: its value, or why it stopped.
type Step<T> = Result<T, Stop>;

/// Ends a printer's line: `[|name]` where it was cut.
fn end_line<W: Write + ?Sized>(out: &mut W, r: Step<()>, name: &str) -> fmt::Result {
    match r {
        Ok(()) => Ok(()),
        Err(Stop::Cut | Stop::Abort) => write!(out, " [|{name}]"),
        Err(Stop::Fmt) => Err(fmt::Error),
    }
}

/// Writes a byte of packet text as tcpdump does (`fn_print_char`): `M-` and
/// the low 7 bits for a byte with the high bit set, `^` and the byte XOR 0x40
/// for a control character.
fn write_tcpdump_char<W: Write + ?Sized>(out: &mut W, byte: u8) -> fmt::Result {
    let mut c = byte;
    if c >= 0x80 {
        out.write_str("M-")?;
        c &= 0x7f;
    }
    if !(0x20..0x7f).contains(&c) {
        out.write_char('^')?;
        c ^= 0x40;
    }
    out.write_char(char::from(c))
}

/// A MAC address printed as `aa:bb:cc:dd:ee:ff`.
struct Mac([u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// tcpdump's name for an ethertype.
pub(crate) fn ethertype_name(ethertype: u16) -> &'static str {
    match ethertype {
        ETHERTYPE_IPV4 => "IPv4",
        ETHERTYPE_ARP => "ARP",
        ETHERTYPE_RARP => "Reverse ARP",
        ETHERTYPE_IPV6 => "IPv6",
        ETHERTYPE_VLAN => "802.1Q",
        ETHERTYPE_QINQ => "802.1Q-QinQ",
        ETHERTYPE_VLAN_9100 => "802.1Q-9100",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x8863 => "PPPoE D",
        0x8864 => "PPPoE S",
        0x888e => "EAPOL",
        ETHERTYPE_LLDP => "LLDP",
        0x88f7 => "PTP",
        0x8809 => "Slow Protocols",
        0x8808 => "MAC control",
        _ => "Unknown",
    }
}

fn write_ethertype<W: Write + ?Sized>(out: &mut W, ethertype: u16) -> fmt::Result {
    write!(
        out,
        "ethertype {} (0x{ethertype:04x})",
        ethertype_name(ethertype)
    )
}

pub(crate) fn is_vlan(ethertype: u16) -> bool {
    matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_VLAN_9100
    )
}

/// Ethertypes whose payload this module decodes.
fn is_decoded(ethertype: u16) -> bool {
    is_vlan(ethertype)
        || matches!(
            ethertype,
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP | ETHERTYPE_RARP | ETHERTYPE_LLDP
        )
}

fn write_ethernet<W: Write + ?Sized>(
    out: &mut W,
    frame: Bytes<'_>,
    wire_len: usize,
) -> fmt::Result {
    let (Some(dst), Some(src), Some(mut ethertype)) = (frame.mac(0), frame.mac(6), frame.be16(12))
    else {
        return out.write_str(" [|ether]");
    };
    write!(out, "{src} > {dst}, ")?;
    let mut rest = frame.from(ETH_HEADER_LEN);
    let mut consumed = ETH_HEADER_LEN;
    if ethertype < 0x0600 {
        // An 802.3 length field, followed by LLC; tcpdump prints the length
        // of the payload, that field's unless the frame is shorter.
        let length = usize::from(ethertype).min(wire_len.saturating_sub(ETH_HEADER_LEN));
        write!(out, "802.3, length {length}: LLC")?;
        return match (rest.u8(0), rest.u8(1)) {
            (Some(dsap), Some(ssap)) => write!(out, ", dsap 0x{dsap:02x}, ssap 0x{ssap:02x}"),
            _ => out.write_str(" [|llc]"),
        };
    }
    // tcpdump prints a tag only once all of it is there, each after its
    // TPID's name; the frame's length follows the first name.
    let mut tagged = false;
    while is_vlan(ethertype) {
        let (Some(tci), Some(inner)) = (rest.be16(0), rest.be16(2)) else {
            return out.write_str(" [|vlan]");
        };
        write_ethertype(out, ethertype)?;
        if tagged {
            out.write_str(", ")?;
        } else {
            write!(out, ", length {wire_len}: ")?;
        }
        write!(out, "vlan {}, p {}, ", tci & 0x0fff, tci >> 13)?;
        if tci & 0x1000 != 0 {
            out.write_str("DEI, ")?;
        }
        tagged = true;
        ethertype = inner;
        rest = rest.from(4);
        consumed += 4;
    }
    write_ethertype(out, ethertype)?;
    if !tagged {
        write!(out, ", length {wire_len}")?;
    }
    if !is_decoded(ethertype) {
        // An unknown one is followed by tcpdump's hex dump of the payload.
        if ethertype_name(ethertype) == "Unknown" {
            out.write_str(if tagged { ", " } else { ": " })?;
        }
        return Ok(());
    }
    out.write_str(if tagged { ", " } else { ": " })?;
    let remaining = wire_len.saturating_sub(consumed);
    match ethertype {
        ETHERTYPE_IPV4 => write_ipv4(out, rest),
        ETHERTYPE_IPV6 => write_ipv6(out, rest),
        ETHERTYPE_ARP | ETHERTYPE_RARP => write_arp(out, rest, remaining),
        ETHERTYPE_LLDP => write_lldp(out, rest, remaining),
        _ => Ok(()),
    }
}

/// LLDP as tcpdump prints it without `-v` (`print-lldp.c`): the length, and
/// the system name when a TLV carries one; its walk over the TLVs also says
/// `[|lldp]` where one is cut.
fn write_lldp<W: Write + ?Sized>(out: &mut W, lldp: Bytes<'_>, length: usize) -> fmt::Result {
    write!(out, "LLDP, length {length}")?;
    let (mut at, mut left) = (0usize, length);
    while left >= 2 {
        let Some(tlv) = lldp.be16(at) else {
            return out.write_str(" [|lldp]");
        };
        let (kind, len) = (tlv >> 9, usize::from(tlv & 0x1ff));
        left -= 2;
        at += 2;
        if kind == 0 || len == 0 {
            break;
        }
        if lldp.len() < at + len || left < len {
            return out.write_str(" [|lldp]");
        }
        if kind == 5 {
            // The system name, up to a NUL.
            out.write_str(": ")?;
            for &c in lldp.0[at..at + len].iter().take_while(|&&c| c != 0) {
                write_tcpdump_char(out, c)?;
            }
        }
        left -= len;
        at += len;
    }
    Ok(())
}

fn write_arp<W: Write + ?Sized>(out: &mut W, arp: Bytes<'_>, length: usize) -> fmt::Result {
    let (Some(htype), Some(ptype), Some(hlen), Some(plen), Some(op)) =
        (arp.be16(0), arp.be16(2), arp.u8(4), arp.u8(5), arp.be16(6))
    else {
        return out.write_str(" [|arp]");
    };
    if (htype, ptype, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4) {
        return write!(
            out,
            "ARP, hardware type {htype}, protocol 0x{ptype:04x}, opcode {op}, length {length}"
        );
    }
    let (Some(sha), Some(spa), Some(tha), Some(tpa)) =
        (arp.mac(8), arp.ipv4(14), arp.mac(18), arp.ipv4(24))
    else {
        return out.write_str(" [|arp]");
    };
    match op {
        1 => {
            write!(out, "Request who-has {tpa}")?;
            if tha.0 != [0; 6] {
                write!(out, " ({tha})")?;
            }
            write!(out, " tell {spa}")?;
        }
        2 => write!(out, "Reply {spa} is-at {sha}")?,
        3 => write!(out, "Reverse Request who-is {tha} tell {sha}")?,
        4 => write!(out, "Reverse Reply {tha} at {tpa}")?,
        _ => write!(out, "Unknown opcode ({op})")?,
    }
    write!(out, ", length {length}")
}

fn write_ipv4<W: Write + ?Sized>(out: &mut W, ip: Bytes<'_>) -> fmt::Result {
    let Some(vihl) = ip.u8(0) else {
        return out.write_str(" [|ip]");
    };
    let version = vihl >> 4;
    if version == 6 {
        return out.write_str("IP6, wrong link-layer encapsulation (invalid)");
    } else if version != 4 {
        return write!(out, "IP{version} (invalid)");
    }
    let (Some(total_len), Some(frag), Some(proto), Some(src), Some(dst)) =
        (ip.be16(2), ip.be16(6), ip.u8(9), ip.ipv4(12), ip.ipv4(16))
    else {
        return out.write_str(" [|ip]");
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 {
        return write!(out, "{src} > {dst}: IP bad-hlen {ihl}");
    }
    let total_len = usize::from(total_len);
    if total_len < ihl {
        return write!(out, "{src} > {dst}: IP bad-len {total_len}");
    }
    if ip.len() < ihl {
        return out.write_str(" [|ip]");
    }
    // Drop Ethernet padding past the IP datagram; keep truncation visible.
    let l4 = ip.take(total_len).from(ihl);
    let l4_len = total_len - ihl;
    let offset = usize::from(frag & 0x1fff) * 8;
    if offset != 0 {
        return write!(
            out,
            "{src} > {dst}: ip-proto-{proto} (frag offset {offset}), length {l4_len}"
        );
    }
    // More fragments follow (this is the first): UDP's length is not checked.
    let fragmented = frag & 0x2000 != 0;
    let ttl = ip.u8(8).unwrap_or(0);
    match proto {
        IPPROTO_TCP => write_tcp(out, Some((&src, &dst)), l4, l4_len),
        IPPROTO_UDP => write_udp(out, Some((&src, &dst)), l4, l4_len, fragmented),
        IPPROTO_ICMP => write_icmp(out, src, dst, l4, l4_len),
        IPPROTO_IGMP if ipproto::igmp_decoded(l4) => {
            write!(out, "{src} > {dst}: ")?;
            ipproto::write_igmp(out, l4, l4_len)
        }
        IPPROTO_ESP => {
            write!(out, "{src} > {dst}: ")?;
            ipproto::write_esp(out, l4, l4_len)
        }
        IPPROTO_VRRP => {
            write!(out, "{src} > {dst}: ")?;
            ipproto::write_vrrp(out, l4, l4_len, ttl)
        }
        IPPROTO_OSPF => {
            write!(out, "{src} > {dst}: ")?;
            ipproto::write_ospf(out, l4, l4_len)
        }
        _ => write!(out, "{src} > {dst}:  ip-proto-{proto} {l4_len}"),
    }
}

fn write_ipv6<W: Write + ?Sized>(out: &mut W, ip: Bytes<'_>) -> fmt::Result {
    let (Some(vtc), Some(payload_len), Some(mut next), Some(src), Some(dst)) =
        (ip.u8(0), ip.be16(4), ip.u8(6), ip.ipv6(8), ip.ipv6(24))
    else {
        return out.write_str(" [|ip6]");
    };
    let version = vtc >> 4;
    if version != 6 {
        return write!(out, "IP{version} [|ip6]");
    }
    let mut len = usize::from(payload_len);
    let mut l4 = ip.take(40 + len).from(40);
    // As tcpdump: the addresses come first unless TCP or UDP follows the
    // fixed header (their printers put them with the ports), then a name for
    // each extension header on the way.
    let addressed = !matches!(next, IPPROTO_TCP | IPPROTO_UDP);
    if addressed {
        write!(out, "{src} > {dst}: ")?;
    }
    let mut offset = 40;
    let mut fragmented = false;
    for _ in 0..MAX_IPV6_EXTENSIONS {
        let this = next;
        let header_len = match next {
            // Hop-by-hop, routing, destination options: length in 8-octet units.
            // tcpdump names one only once all of it is there.
            0 | 43 | 60 => {
                let (name, cut) = match next {
                    0 => ("HBH ", " [|hbhopt]"),
                    60 => ("DSTOPT ", " [|dstopt]"),
                    _ => ("", " [|srcrt]"),
                };
                let units = l4.u8(1).map(|u| (usize::from(u) + 1) * 8);
                match units {
                    Some(n) if l4.len() >= n => {
                        out.write_str(name)?;
                        n
                    }
                    _ => return out.write_str(cut),
                }
            }
            44 => {
                let Some(frag) = l4.be16(2) else {
                    return out.write_str(" [|frag6]");
                };
                let fragment_len = (40 + usize::from(payload_len)).saturating_sub(offset + 8);
                write!(out, "frag ({}|{fragment_len}) ", frag & 0xfff8)?;
                if frag & 0xfff8 != 0 {
                    // Not the first fragment: nothing more to decode.
                    return Ok(());
                }
                fragmented = true;
                8
            }
            _ => break,
        };
        let Some(after) = l4.u8(0) else {
            return out.write_str(" [|ip6]");
        };
        next = after;
        l4 = l4.from(header_len);
        len = len.saturating_sub(header_len);
        offset += header_len;
        // After a fragment header tcpdump stops where the captured bytes
        // end; after the others the next printer says it was cut.
        if this == 44 && l4.len() == 0 {
            return Ok(());
        }
    }
    match next {
        // Straight after the fixed header they print the addresses with the
        // ports; after an extension header the addresses are already out.
        IPPROTO_TCP => write_tcp(out, (!addressed).then_some((&src, &dst)), l4, len),
        IPPROTO_UDP => write_udp(
            out,
            (!addressed).then_some((&src, &dst)),
            l4,
            len,
            fragmented,
        ),
        IPPROTO_ICMPV6 => write_icmp6(out, l4, len),
        _ if addressed => write!(out, " ip-proto-{next} {len}"),
        _ => write!(out, "{src} > {dst}:  ip-proto-{next} {len}"),
    }
}

/// The network addresses a transport line starts with: both, or none when an
/// IPv6 extension header came between (tcpdump printed them before it).
type Addrs<'a> = Option<(&'a dyn fmt::Display, &'a dyn fmt::Display)>;

/// "src.sport > dst.dport: " (or "sport > dport: " without addresses).
fn write_ports<W: Write + ?Sized>(
    out: &mut W,
    addrs: Addrs<'_>,
    sport: u16,
    dport: u16,
) -> fmt::Result {
    match addrs {
        Some((src, dst)) => write!(out, "{src}.{sport} > {dst}.{dport}: "),
        None => write!(out, "{sport} > {dport}: "),
    }
}

/// A UDP datagram whose IP header says it has `length` bytes (header
/// included); `fragmented`: the first fragment of several.
fn write_udp<W: Write + ?Sized>(
    out: &mut W,
    addrs: Addrs<'_>,
    udp: Bytes<'_>,
    length: usize,
    fragmented: bool,
) -> fmt::Result {
    let (Some(sport), Some(dport)) = (udp.be16(0), udp.be16(2)) else {
        if let Some((src, dst)) = addrs {
            write!(out, "{src} > {dst}: ")?;
        }
        return out.write_str(" [|udp]");
    };
    write_ports(out, addrs, sport, dport)?;
    if length < 8 {
        return write!(out, "truncated-udp {length}");
    }
    let Some(ulen) = udp.be16(4) else {
        return out.write_str(" [|udp]");
    };
    let mut ulen = usize::from(ulen);
    if ulen == 0 && length > 65535 {
        // An IPv6 jumbogram (RFC 2675).
        ulen = length;
    }
    if ulen < 8 {
        // tcpdump's words, blank and all.
        return write!(out, "truncated-udplength {ulen}");
    }
    let ulen = ulen - 8;
    let length = (length - 8).min(ulen);
    if udp.len() < 8 {
        return out.write_str(" [|udp]");
    }
    let payload = udp.from(8);
    // tcpdump takes Sun RPC to or from the NFS port for NFS first.
    let rpc = payload.be32(4);
    let nfs = (dport == NFS_PORT && rpc == Some(0)) || (sport == NFS_PORT && rpc == Some(1));
    let app = if nfs {
        UdpApplication::Other
    } else {
        udp_application(sport, dport)
    };
    match app {
        UdpApplication::Dns => return dns::write_dns(out, payload.0, length, false, false),
        UdpApplication::Mdns => return dns::write_dns(out, payload.0, length, false, true),
        UdpApplication::Tftp => return tftp::write_tftp(out, payload.0, length),
        UdpApplication::Bootp => return write_bootp(out, payload, length),
        UdpApplication::Ntp => {
            return match payload.u8(0) {
                Some(status) => write!(
                    out,
                    "NTPv{}, {}, length {length}",
                    (status & 0x38) >> 3,
                    NTP_MODES[usize::from(status & 0x07)]
                ),
                None => out.write_str(" [|ntp]"),
            };
        }
        UdpApplication::Other | UdpApplication::None => {}
    }
    if ulen > length && !fragmented {
        write!(out, "UDP, bad length {ulen} > {length}")
    } else {
        write!(out, "UDP, length {ulen}")
    }
}

/// What tcpdump decodes a UDP payload as, by port.
enum UdpApplication {
    Dns,
    Mdns,
    Tftp,
    Bootp,
    Ntp,
    /// A protocol tcpdump decodes and this module does not.
    Other,
    None,
}

/// The first protocol in tcpdump's order (print-udp.c) whose port either
/// end uses, as far as NTP: the ports after it are all ones this module
/// does not decode.
fn udp_application(sport: u16, dport: u16) -> UdpApplication {
    let either = |ports: &[u16]| ports.iter().any(|&p| sport == p || dport == p);
    if either(&[DNS_PORT]) {
        UdpApplication::Dns
    } else if either(&[MDNS_PORT]) {
        UdpApplication::Mdns
    } else if either(&[525]) {
        // timed
        UdpApplication::Other
    } else if either(&[69]) {
        UdpApplication::Tftp
    } else if either(&[67, 68]) {
        UdpApplication::Bootp
    } else if either(&[520, 654, 500, 4500, 7500, 8500, 161, 162]) {
        // RIP, AODV, ISAKMP, SNMP.
        UdpApplication::Other
    } else if either(&[123]) {
        UdpApplication::Ntp
    } else {
        UdpApplication::None
    }
}

/// BOOTP and DHCP as tcpdump prints them without `-v`: the operation, the
/// client's MAC address in a request, the length.
fn write_bootp<W: Write + ?Sized>(out: &mut W, bootp: Bytes<'_>, length: usize) -> fmt::Result {
    let Some(op) = bootp.u8(0) else {
        return out.write_str(" [|bootp]");
    };
    match op {
        1 => out.write_str("BOOTP/DHCP, Request")?,
        2 => out.write_str("BOOTP/DHCP, Reply")?,
        _ => write!(out, "BOOTP/DHCP, unknown (0x{op:02x})")?,
    }
    let (Some(htype), Some(hlen)) = (bootp.u8(1), bootp.u8(2)) else {
        return out.write_str(" [|bootp]");
    };
    if htype == 1 && hlen == 6 && op == 1 {
        let Some(chaddr) = bootp.mac(28) else {
            return out.write_str(" [|bootp]");
        };
        write!(out, " from {chaddr}")?;
    }
    write!(out, ", length {length}")
}

/// tcpdump's names of the NTP modes.
const NTP_MODES: [&str; 8] = [
    "unspecified",
    "symmetric active",
    "symmetric passive",
    "Client",
    "Server",
    "Broadcast",
    "Control Message",
    "Reserved",
];

/// tcpdump's TCP flag letters, in its order.
const TCP_FLAGS: [(u8, char); 8] = [
    (0x01, 'F'),
    (0x02, 'S'),
    (0x04, 'R'),
    (0x08, 'P'),
    (0x10, '.'),
    (0x20, 'U'),
    (0x40, 'E'),
    (0x80, 'W'),
];

fn write_tcp<W: Write + ?Sized>(
    out: &mut W,
    addrs: Addrs<'_>,
    tcp: Bytes<'_>,
    l4_len: usize,
) -> fmt::Result {
    let (Some(sport), Some(dport)) = (tcp.be16(0), tcp.be16(2)) else {
        // tcpdump's spacing, one blank here and two below.
        return match addrs {
            Some((src, dst)) => write!(out, "{src} > {dst}: [|tcp]"),
            None => out.write_str(" [|tcp]"),
        };
    };
    write_ports(out, addrs, sport, dport)?;
    // Nothing more until the whole fixed header (20 bytes) is there.
    let (Some(seq), Some(ack), Some(off), Some(flags), Some(win), Some(_)) = (
        tcp.be32(4),
        tcp.be32(8),
        tcp.u8(12),
        tcp.u8(13),
        tcp.be16(14),
        tcp.be32(16),
    ) else {
        return out.write_str(" [|tcp]");
    };
    let header_len = usize::from(off >> 4) * 4;
    if header_len < 20 {
        return write!(
            out,
            "tcp {l4_len} [bad hdr length {header_len} - too short, < 20]"
        );
    }
    let data_len = l4_len.saturating_sub(header_len);
    out.write_str("Flags [")?;
    if flags == 0 {
        out.write_str("none")?;
    }
    for (bit, letter) in TCP_FLAGS {
        if flags & bit != 0 {
            out.write_char(letter)?;
        }
    }
    out.write_char(']')?;
    if data_len > 0 || flags & 0x07 != 0 {
        write!(out, ", seq {seq}")?;
        if data_len > 0 {
            // Sequence numbers wrap; the length fits in 32 bits for any IP packet.
            write!(out, ":{}", seq.wrapping_add(data_len as u32))?;
        }
    }
    if flags & 0x10 != 0 {
        write!(out, ", ack {ack}")?;
    }
    write!(out, ", win {win}")?;
    if header_len > 20 {
        out.write_str(", options [")?;
        match write_tcp_options(out, tcp.take(header_len).from(20), header_len - 20)? {
            TcpOptions::Done => out.write_char(']')?,
            // tcpdump's cut mark, and its '>' once an option was whole.
            TcpOptions::Cut { after_one } => {
                out.write_str(" [|tcp]")?;
                return if after_one {
                    out.write_char('>')
                } else {
                    Ok(())
                };
            }
            // tcpdump ends the line at a malformed option.
            TcpOptions::Bad => return Ok(()),
        }
    }
    write!(out, ", length {data_len}")?;
    // Options that ended early (EOL) leave the rest of a cut header unread;
    // tcpdump says so on its way to a payload.
    if data_len > 0 && tcp.len() < header_len {
        write!(
            out,
            " [remaining caplen({}) < header length({header_len})] [|tcp]",
            tcp.len()
        )?;
        return Ok(());
    }
    if data_len == 0 {
        return Ok(());
    }
    let payload = tcp.from(header_len).0;
    match tcp_application(sport, dport) {
        TcpApplication::Text(p) => {
            out.write_str(": ")?;
            text::write_text(out, payload, data_len, p)
        }
        TcpApplication::Ssh => text::write_ssh(out, payload, data_len),
        TcpApplication::Dns => dns::write_dns(out, payload, data_len, true, false),
        TcpApplication::Other | TcpApplication::None => Ok(()),
    }
}

/// What tcpdump decodes a TCP payload as, by port.
enum TcpApplication {
    Text(text::TextProtocol),
    Ssh,
    Dns,
    /// A protocol tcpdump decodes and this module does not.
    Other,
    None,
}

/// The first protocol in tcpdump's order (print-tcp.c) whose port either
/// end uses.
fn tcp_application(sport: u16, dport: u16) -> TcpApplication {
    use text::TextProtocol::{Ftp, Http, Rtsp, Smtp, Whois};
    let either = |ports: &[u16]| ports.iter().any(|&p| sport == p || dport == p);
    if either(&[23]) {
        TcpApplication::Other
    } else if either(&[25]) {
        TcpApplication::Text(Smtp)
    } else if either(&[43]) {
        TcpApplication::Text(Whois)
    } else if either(&[179, 1723, 6379]) {
        // BGP, PPTP, Redis.
        TcpApplication::Other
    } else if either(&[22]) {
        TcpApplication::Ssh
    } else if either(&[139, 445, 10288, 6633, 6653]) {
        // NetBIOS, SMB, BEEP, OpenFlow.
        TcpApplication::Other
    } else if either(&[21]) {
        TcpApplication::Text(Ftp)
    } else if either(&[80, 8080]) {
        TcpApplication::Text(Http)
    } else if either(&[554, 8554]) {
        TcpApplication::Text(Rtsp)
    } else if either(&[DNS_PORT]) {
        TcpApplication::Dns
    } else {
        TcpApplication::None
    }
}

/// How the options of a TCP header ended.
enum TcpOptions {
    /// All of them printed.
    Done,
    /// The captured bytes ran out (`after_one`: after a whole option).
    Cut {
        /// An option was printed whole before.
        after_one: bool,
    },
    /// A malformed option ("[bad opt]" printed).
    Bad,
}

/// tcpdump's "[bad opt]", closing the list if an option came before.
fn bad_option<W: Write + ?Sized>(out: &mut W, after_one: bool) -> Result<TcpOptions, fmt::Error> {
    out.write_str("[bad opt]")?;
    if after_one {
        out.write_char(']')?;
    }
    Ok(TcpOptions::Bad)
}

/// tcpdump's names of TCP options.
fn tcp_option_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0 => "eol",
        1 => "nop",
        2 => "mss",
        3 => "wscale",
        4 => "sackOK",
        5 => "sack",
        6 => "echo",
        7 => "echoreply",
        8 => "TS",
        11 => "cc",
        12 => "ccnew",
        13 => "",
        19 => "md5",
        20 => "scps",
        28 => "uto",
        29 => "tcp-ao",
        30 => "mptcp",
        34 => "tfo",
        254 => "exp",
        _ => return None,
    })
}

/// Writes the options (`opts`, `room` bytes of header, as many captured as
/// `opts` holds) the way tcpdump does, comma-separated, without the brackets.
fn write_tcp_options<W: Write + ?Sized>(
    out: &mut W,
    opts: Bytes<'_>,
    room: usize,
) -> Result<TcpOptions, fmt::Error> {
    let mut at = 0;
    let mut first = true;
    while at < room {
        if !first {
            out.write_char(',')?;
        }
        first = false;
        // tcpdump adds its '>' only to a cut inside an option's data, after
        // another option.
        let cut = TcpOptions::Cut { after_one: false };
        let Some(kind) = opts.u8(at) else {
            return Ok(cut);
        };
        // EOL and NOP are one byte; the others carry their length.
        let len = if kind <= 1 {
            1
        } else {
            let Some(len) = opts.u8(at + 1) else {
                return Ok(cut);
            };
            let len = usize::from(len);
            if len < 2 || len > room - at {
                return bad_option(out, at > 0);
            }
            len
        };
        let data = at + if kind <= 1 { 1 } else { 2 };
        // The name once kind and length are read; then the data, read as
        // tcpdump reads it (where it runs out, the cut mark, and '>' after
        // another option).
        match tcp_option_name(kind) {
            Some(name) => out.write_str(name)?,
            None => write!(out, "unknown-{kind}")?,
        }
        let cut_inside = TcpOptions::Cut { after_one: at > 0 };
        let used = match kind {
            0 | 1 | 4 => 0,
            2 => {
                if len < 4 {
                    return bad_option(out, at > 0);
                }
                let Some(mss) = opts.be16(data) else {
                    return Ok(cut_inside);
                };
                write!(out, " {mss}")?;
                2
            }
            3 => {
                if len < 3 {
                    return bad_option(out, at > 0);
                }
                let Some(shift) = opts.u8(data) else {
                    return Ok(cut_inside);
                };
                write!(out, " {shift}")?;
                1
            }
            5 => {
                let n = len - 2;
                if n % 8 != 0 {
                    out.write_str(" invalid sack")?;
                } else {
                    write!(out, " {} ", n / 8)?;
                    for i in (0..n).step_by(8) {
                        let (Some(s), Some(e)) = (opts.be32(data + i), opts.be32(data + i + 4))
                        else {
                            return Ok(cut_inside);
                        };
                        write!(out, "{{{s}:{e}}}")?;
                    }
                }
                n
            }
            8 => {
                if len < 10 {
                    return bad_option(out, at > 0);
                }
                let (Some(val), Some(ecr)) = (opts.be32(data), opts.be32(data + 4)) else {
                    return Ok(cut_inside);
                };
                write!(out, " val {val} ecr {ecr}")?;
                8
            }
            _ => {
                let n = len - 2;
                if n > 0 {
                    out.write_str(" 0x")?;
                }
                for i in 0..n {
                    let Some(b) = opts.u8(data + i) else {
                        return Ok(cut_inside);
                    };
                    write!(out, "{b:02x}")?;
                }
                n
            }
        };
        let read = used + if kind <= 1 { 1 } else { 2 };
        if read != len {
            write!(out, "[len {len}]")?;
        }
        // tcpdump moves on by what it read, not by the option's length.
        at += read;
        if kind == 0 {
            break;
        }
    }
    Ok(TcpOptions::Done)
}

/// tcpdump's wording of an unreachable message's code 5 to 15, with where
/// the inner datagram's destination goes (`{}`).
fn unreach_text(code: u8) -> Option<(&'static str, &'static str)> {
    Some(match code {
        5 => ("", " unreachable - source route failed"),
        6 => ("net ", " unreachable - unknown"),
        7 => ("host ", " unreachable - unknown"),
        8 => ("", " unreachable - source host isolated"),
        9 => ("net ", " unreachable - admin prohibited"),
        10 => ("host ", " unreachable - admin prohibited"),
        11 => ("net ", " unreachable - tos prohibited"),
        12 => ("host ", " unreachable - tos prohibited"),
        13 => ("host ", " unreachable - admin prohibited filter"),
        14 => ("host ", " unreachable - host precedence violation"),
        15 => ("host ", " unreachable - precedence cutoff"),
        _ => return None,
    })
}

/// An ICMP timestamp (milliseconds since midnight UT) as tcpdump prints it.
fn write_icmp_time<W: Write + ?Sized>(out: &mut W, ms: u32) -> fmt::Result {
    let (msec, secs) = (ms % 1000, ms / 1000);
    let (hrs, min, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    write!(out, "{hrs:02}:{min:02}:{sec:02}.{msec:03}")
}

fn write_icmp<W: Write + ?Sized>(
    out: &mut W,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    icmp: Bytes<'_>,
    len: usize,
) -> fmt::Result {
    // tcpdump prints nothing of the ICMP message unless all it reads is there,
    // so every field is read before anything is written.
    let cut = |out: &mut W| write!(out, "{src} > {dst}:  [|icmp]");
    let (Some(kind), Some(code)) = (icmp.u8(0), icmp.u8(1)) else {
        return cut(out);
    };
    // The datagram an error message quotes, from its 9th byte.
    let inner_dst = icmp.ipv4(8 + 16);
    let inner_proto = icmp.u8(8 + 9);
    let inner_port = icmp
        .u8(8)
        .and_then(|v| icmp.be16(8 + usize::from(v & 0x0f) * 4 + 2));
    let word = (icmp.be16(4), icmp.be16(6));
    let prefix = |out: &mut W| write!(out, "{src} > {dst}: ICMP ");
    match kind {
        0 | 8 => {
            let (Some(id), Some(seq)) = word else {
                return cut(out);
            };
            prefix(out)?;
            let name = if kind == 0 {
                "echo reply"
            } else {
                "echo request"
            };
            write!(out, "{name}, id {id}, seq {seq}")?;
        }
        3 => {
            let Some(odst) = inner_dst else {
                return cut(out);
            };
            match code {
                0 => {
                    prefix(out)?;
                    write!(out, "net {odst} unreachable")?;
                }
                1 => {
                    prefix(out)?;
                    write!(out, "host {odst} unreachable")?;
                }
                2 => {
                    let Some(p) = inner_proto else {
                        return cut(out);
                    };
                    prefix(out)?;
                    write!(out, "{odst} protocol {p} unreachable")?;
                }
                3 => {
                    let (Some(p), Some(port)) = (inner_proto, inner_port) else {
                        return cut(out);
                    };
                    prefix(out)?;
                    match p {
                        IPPROTO_TCP => write!(out, "{odst} tcp port {port} unreachable")?,
                        IPPROTO_UDP => write!(out, "{odst} udp port {port} unreachable")?,
                        _ => write!(out, "{odst} protocol {p} port {port} unreachable")?,
                    }
                }
                4 => {
                    let Some(mtu) = word.1 else {
                        return cut(out);
                    };
                    prefix(out)?;
                    write!(out, "{odst} unreachable - need to frag")?;
                    if mtu != 0 {
                        write!(out, " (mtu {mtu})")?;
                    }
                }
                _ => {
                    prefix(out)?;
                    match unreach_text(code) {
                        Some((before, after)) => write!(out, "{before}{odst}{after}")?,
                        None => write!(out, "{odst} unreachable - #{code}")?,
                    }
                }
            }
        }
        4 => {
            prefix(out)?;
            out.write_str("source quench")?;
        }
        5 => {
            let (Some(gw), Some(odst)) = (icmp.ipv4(4), inner_dst) else {
                return cut(out);
            };
            prefix(out)?;
            match code {
                0 => write!(out, "redirect {odst} to net {gw}")?,
                1 => write!(out, "redirect {odst} to host {gw}")?,
                2 => write!(out, "redirect-tos {odst} to net {gw}")?,
                3 => write!(out, "redirect-tos {odst} to host {gw}")?,
                _ => write!(out, "redirect-#{code} {odst} to {gw}")?,
            }
        }
        11 => {
            // tcpdump reads the quoted header first.
            if inner_dst.is_none() {
                return cut(out);
            }
            prefix(out)?;
            match code {
                0 => out.write_str("time exceeded in-transit")?,
                1 => out.write_str("ip reassembly time exceeded")?,
                _ => write!(out, "time exceeded-#{code}")?,
            }
        }
        12 => {
            let Some(ptr) = icmp.u8(4) else {
                return cut(out);
            };
            prefix(out)?;
            match code {
                0 => write!(out, "parameter problem - octet {ptr}")?,
                1 => out.write_str("parameter problem - option missing")?,
                _ => write!(out, "parameter problem - code {code}")?,
            }
        }
        13 | 14 => {
            let (Some(id), Some(seq)) = word else {
                return cut(out);
            };
            if kind == 13 {
                prefix(out)?;
                write!(out, "time stamp query id {id} seq {seq}")?;
            } else {
                let (Some(org), Some(recv), Some(xmit)) =
                    (icmp.be32(8), icmp.be32(12), icmp.be32(16))
                else {
                    return cut(out);
                };
                prefix(out)?;
                write!(out, "time stamp reply id {id} seq {seq}: org ")?;
                write_icmp_time(out, org)?;
                out.write_str(", recv ")?;
                write_icmp_time(out, recv)?;
                out.write_str(", xmit ")?;
                write_icmp_time(out, xmit)?;
            }
        }
        9 => {
            let (Some(count), Some(size), Some(lifetime)) = (icmp.u8(4), icmp.u8(5), icmp.be16(6))
            else {
                return cut(out);
            };
            // tcpdump builds this text in a buffer of 164 bytes, which cuts
            // a long list of addresses short without a mark.
            let mut text = String::from("router advertisement lifetime ");
            let (h, m, sec) = (lifetime / 3600, lifetime % 3600 / 60, lifetime % 60);
            let _ = match lifetime {
                0..=59 => write!(text, "{lifetime}"),
                60..=3599 => write!(text, "{}:{sec:02}", lifetime / 60),
                _ => write!(text, "{h}:{m:02}:{sec:02}"),
            };
            let _ = write!(text, " {count}:");
            if size != 2 {
                let _ = write!(text, " [size {size}]");
            } else {
                for i in 0..usize::from(count) {
                    let (Some(addr), Some(pref)) = (icmp.ipv4(8 + 8 * i), icmp.be32(12 + 8 * i))
                    else {
                        return cut(out);
                    };
                    let _ = write!(text, " {{{addr} {pref}}}");
                }
            }
            text.truncate(163);
            prefix(out)?;
            out.write_str(&text)?;
        }
        10 => {
            prefix(out)?;
            out.write_str("router solicitation")?;
        }
        17 => {
            prefix(out)?;
            out.write_str("address mask request")?;
        }
        18 => {
            let Some(mask) = icmp.be32(8) else {
                return cut(out);
            };
            prefix(out)?;
            write!(out, "address mask is 0x{mask:08x}")?;
        }
        _ => {
            prefix(out)?;
            write!(out, "type-#{kind}")?;
        }
    }
    write!(out, ", length {len}")
}

/// ICMPv6, after tcpdump's "src > dst: " (printed by the IPv6 header), as it
/// prints it: progressively, ending in " [|icmp6]" where the bytes run out.
fn write_icmp6<W: Write + ?Sized>(out: &mut W, icmp: Bytes<'_>, len: usize) -> fmt::Result {
    const CUT: &str = " [|icmp6]";
    let Some(kind) = icmp.u8(0) else {
        return out.write_str(CUT);
    };
    let code = icmp.u8(1).unwrap_or(0);
    out.write_str("ICMP6, ")?;
    // The packet an error message quotes starts at its 9th byte.
    let quoted_dst = icmp.ipv6(8 + 24);
    match kind {
        128 | 129 => {
            out.write_str(if kind == 128 {
                "echo request"
            } else {
                "echo reply"
            })?;
            let (Some(id), Some(seq)) = (icmp.be16(4), icmp.be16(6)) else {
                return out.write_str(CUT);
            };
            write!(out, ", id {id}, seq {seq}")?;
        }
        133 => out.write_str("router solicitation")?,
        134 => out.write_str("router advertisement")?,
        135 | 136 => {
            let Some(target) = icmp.ipv6(8) else {
                return out.write_str("neighbor [|icmp6]");
            };
            if kind == 135 {
                write!(out, "neighbor solicitation, who has {target}")?;
            } else {
                write!(out, "neighbor advertisement, tgt is {target}")?;
            }
        }
        130..=132 => {
            out.write_str(match kind {
                130 => "multicast listener query",
                131 => "multicast listener report",
                _ => "multicast listener done",
            })?;
            if kind == 130 && len >= 28 {
                out.write_str(" v2")?;
                let Some(group) = icmp.ipv6(8) else {
                    return out.write_str(CUT);
                };
                write!(out, " [gaddr {group}")?;
                let Some(sources) = icmp.be16(26) else {
                    return out.write_str(CUT);
                };
                if sources > 0 {
                    write!(out, ", {sources} source(s)")?;
                }
                out.write_char(']')?;
            } else {
                let (Some(delay), Some(addr)) = (icmp.be16(4), icmp.ipv6(8)) else {
                    return out.write_str(CUT);
                };
                write!(out, " max resp delay: {delay} addr: {addr}")?;
            }
        }
        143 => {
            out.write_str("multicast listener report v2")?;
            let Some(groups) = icmp.be16(6) else {
                return out.write_str(CUT);
            };
            write!(out, ", {groups} group record(s)")?;
        }
        1 => {
            out.write_str("destination unreachable")?;
            if icmp.u8(1).is_none() {
                return out.write_str(CUT);
            }
            out.write_str(", ")?;
            match code {
                0 => out.write_str("unreachable route")?,
                1 => out.write_str("unreachable prohibited")?,
                2 => out.write_str("beyond scope")?,
                3 => out.write_str("unreachable address")?,
                4 => out.write_str("unreachable port")?,
                _ => write!(out, "unknown unreach code ({code})")?,
            }
            match code {
                0 | 1 | 3 => {
                    let Some(d) = quoted_dst else {
                        return out.write_str(CUT);
                    };
                    write!(out, " {d}")?;
                }
                2 => {
                    let (Some(d), Some(s)) = (quoted_dst, icmp.ipv6(8 + 8)) else {
                        return out.write_str(CUT);
                    };
                    write!(out, " {d}, source address {s}")?;
                }
                4 => {
                    let (Some(d), Some(p), Some(port)) =
                        (quoted_dst, icmp.u8(8 + 6), icmp.be16(8 + 40 + 2))
                    else {
                        return out.write_str(CUT);
                    };
                    match p {
                        IPPROTO_TCP => write!(out, ", {d} tcp port {port}")?,
                        IPPROTO_UDP => write!(out, ", {d} udp port {port}")?,
                        _ => write!(out, ", {d} protocol {p} port {port} unreachable")?,
                    }
                }
                _ => {}
            }
        }
        2 => {
            out.write_str("packet too big")?;
            let Some(mtu) = icmp.be32(4) else {
                return out.write_str(CUT);
            };
            write!(out, ", mtu {mtu}")?;
        }
        3 => {
            out.write_str("time exceeded in-transit")?;
            match code {
                0 => {
                    let Some(d) = quoted_dst else {
                        return out.write_str(CUT);
                    };
                    write!(out, " for {d}")?;
                }
                1 => out.write_str(" (reassembly)")?,
                _ => write!(out, ", unknown code ({code})")?,
            }
        }
        _ => write!(out, "unknown icmp6 type ({kind})")?,
    }
    write!(out, ", length {len}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
    const IP_A: [u8; 4] = [10, 0, 0, 1];
    const IP_B: [u8; 4] = [10, 0, 0, 2];
    /// 2023-11-14 22:13:20.123456789 UTC.
    const TS: u64 = 1_700_000_000_123_456_789;

    /// Ethernet frame MAC_A > MAC_B, padded to the 60-byte minimum.
    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = MAC_B.to_vec();
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        if f.len() < 60 {
            f.resize(60, 0);
        }
        f
    }

    fn vlan_tag(tpid: u16, tci: u16) -> Vec<u8> {
        let mut t = tpid.to_be_bytes().to_vec();
        t.extend_from_slice(&tci.to_be_bytes());
        t
    }

    /// Frame with `tags` (TPID, TCI) pairs, then `ethertype` and `payload`.
    fn eth_tagged(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = MAC_B.to_vec();
        f.extend_from_slice(&MAC_A);
        for &(tpid, tci) in tags {
            f.extend_from_slice(&vlan_tag(tpid, tci));
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        if f.len() < 64 {
            f.resize(64, 0);
        }
        f
    }

    fn checksum(data: &[u8]) -> u16 {
        let mut sum = 0u32;
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            sum += hi | u32::from(*pair.get(1).unwrap_or(&0));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut h = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&IP_A);
        h.extend_from_slice(&IP_B);
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        h.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        h.extend_from_slice(payload);
        h
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = sport.to_be_bytes().to_vec();
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&ack.to_be_bytes());
        t.extend_from_slice(&[0x50, flags]);
        t.extend_from_slice(&64240u16.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(payload);
        t
    }

    /// A TCP header with `options` (a multiple of 4 bytes) after the fixed part.
    fn tcp_opts(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut t = tcp(sport, dport, 1000, 2000, flags, &[]);
        t[12] = (((20 + options.len()) / 4) as u8) << 4;
        t.extend_from_slice(options);
        t.extend_from_slice(payload);
        t
    }

    fn icmp_echo(kind: u8, id: u16, seq: u16, payload_len: usize) -> Vec<u8> {
        let mut i = vec![kind, 0, 0, 0];
        i.extend_from_slice(&id.to_be_bytes());
        i.extend_from_slice(&seq.to_be_bytes());
        i.resize(8 + payload_len, 0xab);
        let c = checksum(&i);
        i[2..4].copy_from_slice(&c.to_be_bytes());
        i
    }

    /// An ICMP message of `kind`/`code` with its second word `rest`, quoting
    /// the start of `quoted` (an IP datagram) as an error message does.
    fn icmp_msg(kind: u8, code: u8, rest: [u8; 4], quoted: &[u8]) -> Vec<u8> {
        let mut i = vec![kind, code, 0, 0];
        i.extend_from_slice(&rest);
        i.extend_from_slice(&quoted[..quoted.len().min(28)]);
        let c = checksum(&i);
        i[2..4].copy_from_slice(&c.to_be_bytes());
        i
    }

    /// A frame carrying ICMP error `kind`/`code` (second word `rest`) that
    /// quotes a UDP datagram to port 53.
    fn icmp_error(kind: u8, code: u8, rest: [u8; 4]) -> Vec<u8> {
        let quoted = ipv4(IPPROTO_UDP, &udp(40000, 53, &[0x78; 10]));
        eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_ICMP, &icmp_msg(kind, code, rest, &quoted)),
        )
    }

    fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
        let mut a = vec![0, 1, 0x08, 0x00, 6, 4];
        a.extend_from_slice(&op.to_be_bytes());
        a.extend_from_slice(&sha);
        a.extend_from_slice(&spa);
        a.extend_from_slice(&tha);
        a.extend_from_slice(&tpa);
        a
    }

    fn summary(frame: &[u8]) -> String {
        let mut line = String::new();
        write_summary(&mut line, TS, frame, frame.len()).unwrap();
        line
    }

    const ETH_PREFIX: &str = "22:13:20.123456 02:00:00:00:00:01 > 02:00:00:00:00:02, ";

    /// Hand-built frames and the line expected for each (after ETH_PREFIX).
    pub(crate) fn cases() -> Vec<(Vec<u8>, &'static str)> {
        let http = b"GET / HTTP/1.1\r\n\r\n";
        vec![
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(1234, 5000, &[7; 18]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 18",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(40000, 9999, &[1; 100]))),
                "ethertype IPv4 (0x0800), length 142: 10.0.0.1.40000 > 10.0.0.2.9999: UDP, length 100",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1000, 0, 0x02, &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [S], seq 1000, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(5001, 40000, 5000, 1001, 0x12, &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.5001 > 10.0.0.2.40000: Flags [S.], seq 5000, ack 1001, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1001, 5001, 0x18, http))),
                "ethertype IPv4 (0x0800), length 72: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [P.], seq 1001:1019, ack 5001, win 64240, length 18",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1019, 5001, 0x11, &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [F.], seq 1019, ack 5001, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1019, 0, 0x04, &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [R], seq 1019, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1019, 5001, 0x10, &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [.], ack 5001, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x02, &[2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7], &[]))),
                "ethertype IPv4 (0x0800), length 74: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x10, &[1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6], &[]))),
                "ethertype IPv4 (0x0800), length 66: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [.], ack 2000, win 64240, options [nop,nop,TS val 5 ecr 6], length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x10, &[1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200], &[]))),
                "ethertype IPv4 (0x0800), length 66: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [.], ack 2000, win 64240, options [nop,nop,sack 1 {100:200}], length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x18, &[99, 4, 0xab, 0xcd, 0, 0, 0, 0], &[1, 2, 3]))),
                "ethertype IPv4 (0x0800), length 65: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [P.], seq 1000:1003, ack 2000, win 64240, options [unknown-99 0xabcd,eol], length 3",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x02, &[2, 6, 5, 0xb4, 0, 0, 1, 1], &[]))),
                "ethertype IPv4 (0x0800), length 62: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [S], seq 1000, win 64240, options [mss 1460[len 6],eol], length 0",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_TCP, &tcp_opts(40000, 5001, 0x02, &[1, 2, 1, 1], &[]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.5001: Flags [S], seq 1000, win 64240, options [nop,[bad opt]]",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_echo(8, 0x1234, 7, 56))),
                "ethertype IPv4 (0x0800), length 98: 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 7, length 64",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_echo(0, 0x1234, 7, 56))),
                "ethertype IPv4 (0x0800), length 98: 10.0.0.1 > 10.0.0.2: ICMP echo reply, id 4660, seq 7, length 64",
            ),
            (
                icmp_error(3, 3, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 udp port 53 unreachable, length 36",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_msg(3, 3, [0; 4], &ipv4(IPPROTO_TCP, &tcp(40000, 80, 1, 0, 0x02, &[]))))),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 tcp port 80 unreachable, length 36",
            ),
            (
                icmp_error(3, 0, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP net 10.0.0.2 unreachable, length 36",
            ),
            (
                icmp_error(3, 2, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 protocol 17 unreachable, length 36",
            ),
            (
                icmp_error(3, 4, [0, 0, 0x05, 0xdc]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.2 unreachable - need to frag (mtu 1500), length 36",
            ),
            (
                icmp_error(3, 13, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP host 10.0.0.2 unreachable - admin prohibited filter, length 36",
            ),
            (
                icmp_error(11, 0, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP time exceeded in-transit, length 36",
            ),
            (
                icmp_error(4, 0, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP source quench, length 36",
            ),
            (
                icmp_error(11, 1, [0; 4]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP ip reassembly time exceeded, length 36",
            ),
            (
                icmp_error(5, 1, [10, 0, 0, 254]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP redirect 10.0.0.2 to host 10.0.0.254, length 36",
            ),
            (
                icmp_error(12, 0, [20, 0, 0, 0]),
                "ethertype IPv4 (0x0800), length 70: 10.0.0.1 > 10.0.0.2: ICMP parameter problem - octet 20, length 36",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_msg(14, 0, [0, 5, 0, 9], &[0, 0, 0, 1, 0x05, 0x26, 0x5c, 0x01, 0x0f, 0, 0, 0]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1 > 10.0.0.2: ICMP time stamp reply id 5 seq 9: org 00:00:00.001, recv 24:00:00.001, xmit 69:54:18.240, length 20",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_msg(18, 0, [0, 1, 0, 2], &[255, 255, 255, 0]))),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1 > 10.0.0.2: ICMP address mask is 0xffffff00, length 12",
            ),
            (
                eth(ETHERTYPE_ARP, &arp(1, MAC_A, IP_A, [0; 6], IP_B)),
                "ethertype ARP (0x0806), length 60: Request who-has 10.0.0.2 tell 10.0.0.1, length 46",
            ),
            (
                eth(ETHERTYPE_ARP, &arp(2, MAC_A, IP_A, MAC_B, IP_B)),
                "ethertype ARP (0x0806), length 60: Reply 10.0.0.1 is-at 02:00:00:00:00:01, length 46",
            ),
            (
                eth(ETHERTYPE_IPV6, &ipv6(IPPROTO_UDP, &udp(5000, 6000, &[0; 10]))),
                "ethertype IPv6 (0x86dd), length 72: 2001:db8::1.5000 > 2001:db8::2.6000: UDP, length 10",
            ),
            (
                eth(ETHERTYPE_IPV6, &ipv6(IPPROTO_TCP, &tcp(5000, 22, 1, 0, 0x02, &[]))),
                "ethertype IPv6 (0x86dd), length 74: 2001:db8::1.5000 > 2001:db8::2.22: Flags [S], seq 1, win 64240, length 0",
            ),
            (
                eth(ETHERTYPE_IPV6, &ipv6(IPPROTO_ICMPV6, &icmp_echo(128, 9, 3, 8))),
                "ethertype IPv6 (0x86dd), length 70: 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id 9, seq 3, length 16",
            ),
            (
                // Hop-by-hop options (router alert), then an MLDv2 report.
                eth(
                    ETHERTYPE_IPV6,
                    &ipv6(0, &[&[58u8, 0, 5, 2, 0, 0, 1, 0][..], &[143, 0, 0, 0, 0, 0, 0, 1], &[4, 0, 0, 0], &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2]].concat()),
                ),
                "ethertype IPv6 (0x86dd), length 90: 2001:db8::1 > 2001:db8::2: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28",
            ),
            (
                eth(
                    ETHERTYPE_IPV6,
                    &ipv6(IPPROTO_ICMPV6, &[&[1u8, 4, 0, 0, 0, 0, 0, 0][..], &ipv6(IPPROTO_UDP, &udp(5000, 53, &[]))].concat()),
                ),
                "ethertype IPv6 (0x86dd), length 110: 2001:db8::1 > 2001:db8::2: ICMP6, destination unreachable, unreachable port, 2001:db8::2 udp port 53, length 56",
            ),
            (
                eth(
                    ETHERTYPE_IPV6,
                    &ipv6(IPPROTO_ICMPV6, &[&[2u8, 0, 0, 0, 0, 0, 5, 0xdc][..], &ipv6(IPPROTO_UDP, &udp(5000, 53, &[]))].concat()),
                ),
                "ethertype IPv6 (0x86dd), length 110: 2001:db8::1 > 2001:db8::2: ICMP6, packet too big, mtu 1500, length 56",
            ),
            (
                eth(
                    ETHERTYPE_IPV6,
                    &ipv6(IPPROTO_ICMPV6, &[&[3u8, 0, 0, 0, 0, 0, 0, 0][..], &ipv6(IPPROTO_UDP, &udp(5000, 53, &[]))].concat()),
                ),
                "ethertype IPv6 (0x86dd), length 110: 2001:db8::1 > 2001:db8::2: ICMP6, time exceeded in-transit for 2001:db8::2, length 56",
            ),
            (
                // The first fragment of a UDP datagram: ports without addresses.
                eth(
                    ETHERTYPE_IPV6,
                    &ipv6(44, &[&[IPPROTO_UDP, 0, 0, 1, 0, 0, 0, 7][..], &udp(5000, 6000, &[9; 8])].concat()),
                ),
                "ethertype IPv6 (0x86dd), length 78: 2001:db8::1 > 2001:db8::2: frag (0|16) 5000 > 6000: UDP, length 8",
            ),
            (
                eth(ETHERTYPE_IPV4, &ipv4(99, &[0; 12])),
                "ethertype IPv4 (0x0800), length 60: 10.0.0.1 > 10.0.0.2:  ip-proto-99 12",
            ),
            (
                eth_tagged(&[(ETHERTYPE_VLAN, 100)], ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(1, 2, &[0; 4]))),
                "ethertype 802.1Q (0x8100), length 64: vlan 100, p 0, ethertype IPv4 (0x0800), 10.0.0.1.1 > 10.0.0.2.2: UDP, length 4",
            ),
            (
                eth_tagged(
                    &[(ETHERTYPE_QINQ, 0xa000 | 200), (ETHERTYPE_VLAN, 0x3000 | 300)],
                    ETHERTYPE_ARP,
                    &arp(1, MAC_A, IP_A, [0; 6], IP_B),
                ),
                "ethertype 802.1Q-QinQ (0x88a8), length 64: vlan 200, p 5, ethertype 802.1Q (0x8100), vlan 300, p 1, DEI, ethertype ARP (0x0806), Request who-has 10.0.0.2 tell 10.0.0.1, length 42",
            ),
            (
                eth(0x88b5, &[1, 2, 3]),
                "ethertype Unknown (0x88b5), length 60: ",
            ),
            (
                eth_tagged(&[(ETHERTYPE_VLAN, 5)], 0x88b5, &[1, 2, 3]),
                "ethertype 802.1Q (0x8100), length 64: vlan 5, p 0, ethertype Unknown (0x88b5), ",
            ),
        ]
    }

    #[test]
    fn hand_built_frames() {
        for (frame, expected) in cases() {
            let line = summary(&frame);
            assert_eq!(line.strip_prefix(ETH_PREFIX), Some(expected), "{line}");
        }
    }

    #[test]
    fn timestamp_is_utc_time_of_day() {
        let mut s = String::new();
        write_timestamp(&mut s, 0).unwrap();
        assert_eq!(s, "00:00:00.000000");
        s.clear();
        write_timestamp(
            &mut s,
            (86_400 * 3 + 23 * 3600 + 59 * 60 + 59) * 1_000_000_000 + 999_999_999,
        )
        .unwrap();
        assert_eq!(s, "23:59:59.999999");
        s.clear();
        write_timestamp(&mut s, u64::MAX).unwrap();
        assert_eq!(s.len(), "HH:MM:SS.ffffff".len());
    }

    #[test]
    fn display_matches_write_summary() {
        let frame = eth(0x88b5, &[]);
        let shown = Summary::new(TS, &frame).to_string();
        assert_eq!(shown, summary(&frame));
        let short = Summary::with_wire_len(TS, &frame[..20], 1514).to_string();
        assert!(
            short.ends_with("ethertype Unknown (0x88b5), length 1514: "),
            "{short}"
        );
    }

    #[test]
    fn truncated_headers_print_what_they_can() {
        let udp_frame = eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_UDP, &udp(1234, 5000, &[7; 18])),
        );
        let tcp_frame = eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_TCP, &tcp(40000, 5001, 1, 0, 0x02, &[])),
        );
        let arp_frame = eth(ETHERTYPE_ARP, &arp(1, MAC_A, IP_A, [0; 6], IP_B));
        let v6_frame = eth(
            ETHERTYPE_IPV6,
            &ipv6(IPPROTO_UDP, &udp(5000, 6000, &[0; 10])),
        );
        let vlan_frame = eth_tagged(&[(ETHERTYPE_VLAN, 100)], ETHERTYPE_IPV4, &[]);
        let icmp_frame = eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &icmp_echo(8, 1, 1, 0)));
        let cut = |f: &[u8], n: usize| {
            let line = Summary::with_wire_len(TS, &f[..n], f.len()).to_string();
            line.strip_prefix("22:13:20.123456 ").unwrap().to_owned()
        };
        assert_eq!(cut(&udp_frame, 13), " [|ether]");
        assert!(cut(&udp_frame, 14).ends_with("length 60:  [|ip]"));
        assert!(cut(&udp_frame, 33).ends_with("length 60:  [|ip]"));
        assert!(cut(&udp_frame, 34).ends_with("length 60: 10.0.0.1 > 10.0.0.2:  [|udp]"));
        assert!(cut(&udp_frame, 39).ends_with(":  [|udp]"));
        assert!(cut(&tcp_frame, 38).ends_with("10.0.0.1.40000 > 10.0.0.2.5001:  [|tcp]"));
        assert!(cut(&tcp_frame, 36).ends_with("10.0.0.1 > 10.0.0.2: [|tcp]"));
        assert!(cut(&icmp_frame, 38).ends_with("10.0.0.1 > 10.0.0.2:  [|icmp]"));
        assert!(cut(&arp_frame, 20).ends_with("length 60:  [|arp]"));
        assert!(cut(&arp_frame, 40).ends_with("length 60:  [|arp]"));
        assert!(cut(&v6_frame, 50).ends_with("length 72:  [|ip6]"));
        assert!(cut(&v6_frame, 57).ends_with("2001:db8::1 > 2001:db8::2:  [|udp]"));
        assert!(cut(&vlan_frame, 16).ends_with("02:00:00:00:00:02,  [|vlan]"));
        let mut bad_ihl = udp_frame.clone();
        bad_ihl[14] = 0x43;
        assert!(summary(&bad_ihl).ends_with("IP bad-hlen 12"));
    }

    #[test]
    fn ipv4_padding_is_not_payload_and_lengths_come_from_headers() {
        // A 60-byte frame with an 18-byte TCP segment claimed by IP total length 40:
        // trailing padding must not count as data.
        let frame = eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_TCP, &tcp(1, 2, 9, 0, 0x02, &[])),
        );
        assert!(summary(&frame).ends_with("length 0"));
    }

    /// Deterministic xorshift64*.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut frame = Vec::with_capacity(200);
        let mut line = String::with_capacity(512);
        // Valid-looking prefixes so the random tail reaches the deep parsers.
        let prefixes: [&[u8]; 7] = [
            &[],
            &[0x08, 0x00, 0x45],
            &[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04],
            &[0x86, 0xdd, 0x60],
            &[0x81, 0x00, 0x00, 0x64, 0x08, 0x00, 0x45],
            &[
                0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
            ],
            &[0x08, 0x00, 0x4f],
        ];
        for i in 0..100_000u64 {
            frame.clear();
            let len = (rng.next() % 200) as usize;
            for _ in 0..len {
                frame.push(rng.next() as u8);
            }
            let prefix = prefixes[(i % prefixes.len() as u64) as usize];
            if frame.len() >= 12 + prefix.len() {
                frame[12..12 + prefix.len()].copy_from_slice(prefix);
            }
            let wire_len = if i % 3 == 0 {
                rng.next() as usize
            } else {
                frame.len()
            };
            line.clear();
            write_summary(&mut line, rng.next(), &frame, wire_len).unwrap();
            assert!(!line.is_empty());
        }
    }

    /// Asserts that every record (captured bytes, length on the wire)
    /// prints as `tcpdump -n -e -S` prints it, when tcpdump is installed;
    /// lists the first `show` that do not.
    fn assert_tcpdump_agrees(tag: &str, records: &[(&[u8], usize)], show: usize) {
        let Some(theirs) = tcpdump_lines(tag, records) else {
            return;
        };
        assert_eq!(theirs.len(), records.len());
        let mismatches: Vec<String> = records
            .iter()
            .zip(&theirs)
            .filter_map(|(&(data, len), t)| {
                let mut ours = String::new();
                write_summary(&mut ours, TS, data, len).unwrap();
                (&ours != t).then(|| {
                    format!(
                        "ours:    {ours}\ntcpdump: {t}\n(cut {} of {len}) {data:02x?}",
                        data.len()
                    )
                })
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {}:\n{}",
            mismatches.len(),
            records.len(),
            mismatches[..mismatches.len().min(show)].join("\n")
        );
    }

    /// Every frame of `frames`, whole and cut at every length.
    fn every_cut(frames: &[Vec<u8>]) -> Vec<(&[u8], usize)> {
        frames
            .iter()
            .flat_map(|f| (1..=f.len()).map(move |n| (&f[..n], f.len())))
            .collect()
    }

    /// Runs `tcpdump -n -e -S` on a pcap of `records` (captured bytes, length
    /// on the wire); `None` when tcpdump is not installed.
    fn tcpdump_lines(tag: &str, records: &[(&[u8], usize)]) -> Option<Vec<String>> {
        let records: Vec<(u64, &[u8], usize)> =
            records.iter().map(|&(d, len)| (TS, d, len)).collect();
        let pcap = crate::pcap_writer::tests::raw_pcap(false, &records);
        let path = std::env::temp_dir().join(format!("igbpoll-{}-{tag}.pcap", std::process::id()));
        std::fs::write(&path, &pcap).unwrap();
        let output = std::process::Command::new("tcpdump")
            .args(["-n", "-e", "-S", "-r"])
            .arg(&path)
            .env("TZ", "UTC")
            .output();
        std::fs::remove_file(&path).unwrap();
        match output {
            Ok(o) if o.status.success() => Some(
                String::from_utf8(o.stdout)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with('\t'))
                    .map(str::to_owned)
                    .collect(),
            ),
            Ok(o) => panic!("tcpdump failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                println!("note: tcpdump not runnable ({e}); skipping comparison");
                None
            }
        }
    }

    /// Every case cut at every length up to 80 bytes (as a snapshot length
    /// cuts it) prints as tcpdump prints it.
    #[test]
    fn cut_frames_match_tcpdump() {
        let cases = cases();
        let mut records: Vec<(&[u8], usize)> = Vec::new();
        for (f, _) in &cases {
            // A record of no bytes is not valid pcap (tcpdump refuses it).
            for n in 1..=f.len().min(80) {
                records.push((&f[..n], f.len()));
            }
        }
        let Some(theirs) = tcpdump_lines("cut", &records) else {
            return;
        };
        assert_eq!(theirs.len(), records.len());
        let mismatches: Vec<String> = records
            .iter()
            .zip(&theirs)
            .map(|(&(data, len), t)| {
                (
                    format!(
                        "{} (cut {})",
                        Summary::with_wire_len(TS, data, len),
                        data.len()
                    ),
                    format!("{t} (cut {})", data.len()),
                )
            })
            .filter(|(ours, theirs)| ours != theirs)
            .map(|(ours, theirs)| format!("ours:    {ours}\ntcpdump: {theirs}"))
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {}:\n{}",
            mismatches.len(),
            records.len(),
            mismatches.join("\n")
        );
    }

    /// A name in wire form: its labels, then the root.
    fn dns_name(name: &str) -> Vec<u8> {
        let mut n = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            n.push(label.len() as u8);
            n.extend_from_slice(label.as_bytes());
        }
        n.push(0);
        n
    }

    /// A DNS header: id, flags, then the four section counts.
    fn dns_header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut h = id.to_be_bytes().to_vec();
        h.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            h.extend_from_slice(&c.to_be_bytes());
        }
        h
    }

    fn dns_question(name: &[u8], qtype: u16, class: u16) -> Vec<u8> {
        let mut q = name.to_vec();
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&class.to_be_bytes());
        q
    }

    fn dns_rr(name: &[u8], typ: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
        let mut r = name.to_vec();
        r.extend_from_slice(&typ.to_be_bytes());
        r.extend_from_slice(&class.to_be_bytes());
        r.extend_from_slice(&ttl.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    /// DNS messages (UDP, mDNS, TCP, IPv6) of every kind the printer tells
    /// apart, well-formed and not, each in a frame.
    fn dns_frames() -> Vec<Vec<u8>> {
        const PTR: [u8; 2] = [0xc0, 12];
        let cat = |parts: &[&[u8]]| parts.concat();
        let example = dns_name("example.com");
        let opt = dns_rr(&[0], 41, 1232, 0x0000_8000, &[]);
        let mut msgs: Vec<Vec<u8>> = vec![
            // Queries: A with RD, AAAA with an OPT record, MX in CHAOS, ANY,
            // two questions, odd bits, IQUERY, update, notify.
            cat(&[
                &dns_header(0x1234, 0x0100, [1, 0, 0, 0]),
                &dns_question(&example, 1, 1),
            ]),
            cat(&[
                &dns_header(7, 0x0120, [1, 0, 0, 1]),
                &dns_question(&example, 28, 1),
                &opt,
            ]),
            cat(&[
                &dns_header(8, 0x0010, [1, 0, 0, 0]),
                &dns_question(&example, 15, 3),
            ]),
            cat(&[
                &dns_header(9, 0, [1, 0, 0, 0]),
                &dns_question(&dns_name("x.y"), 255, 255),
            ]),
            cat(&[
                &dns_header(10, 0x0100, [2, 0, 0, 0]),
                &dns_question(&example, 1, 1),
                &dns_question(&PTR, 28, 1),
            ]),
            cat(&[
                &dns_header(11, 0x0141, [1, 1, 1, 0]),
                &dns_question(&example, 1, 1),
            ]),
            cat(&[&dns_header(12, 0x0800, [0, 2, 0, 0])]),
            cat(&[
                &dns_header(13, 0x2800, [1, 0, 0, 0]),
                &dns_question(&example, 6, 1),
            ]),
            cat(&[
                &dns_header(14, 0x2000, [1, 0, 0, 0]),
                &dns_question(&example, 6, 1),
            ]),
            cat(&[
                &dns_header(15, 0x0100, [1, 0, 0, 0]),
                &dns_question(&example, 65, 7),
            ]),
            // Responses: a CNAME chain through pointers with A and AAAA, an
            // authority and an additional section that are not printed.
            cat(&[
                &dns_header(0x1234, 0x8180, [1, 3, 1, 1]),
                &dns_question(&dns_name("www.example.com"), 1, 1),
                &dns_rr(&PTR, 5, 1, 300, &[0xc0, 16]),
                &dns_rr(&[0xc0, 16], 1, 1, 300, &[93, 184, 216, 34]),
                &dns_rr(
                    &[0xc0, 16],
                    28,
                    1,
                    300,
                    &"2606:2800:220:1:248:1893:25c8:1946"
                        .parse::<Ipv6Addr>()
                        .unwrap()
                        .octets(),
                ),
                &dns_rr(&[0xc0, 16], 6, 1, 300, &[0; 22]),
                &opt,
            ]),
            // MX, TXT (two strings), SRV, PTR, NS, DNAME, SOA, an unknown type.
            cat(&[
                &dns_header(2, 0x8580, [1, 8, 0, 0]),
                &dns_question(&example, 255, 1),
                &dns_rr(
                    &PTR,
                    15,
                    1,
                    1,
                    &cat(&[&[0, 10], &dns_name("mx.example.com")]),
                ),
                &dns_rr(&PTR, 16, 1, 1, b"\x05hello\x03a\"b"),
                &dns_rr(&PTR, 33, 1, 1, &cat(&[&[0, 1, 0, 2, 0x13, 0xc4], &PTR])),
                &dns_rr(&PTR, 12, 1, 1, &dns_name("host.example.com")),
                &dns_rr(&PTR, 2, 1, 1, &[3, b'n', b's', b'1', 0xc0, 12]),
                &dns_rr(&PTR, 39, 1, 1, &dns_name("other.net")),
                &dns_rr(&PTR, 6, 1, 1, &[0; 22]),
                &dns_rr(&PTR, 65, 1, 1, &[1, 2, 3]),
            ]),
            // NXDomain, authoritative; truncated, authentic data, no recursion.
            cat(&[
                &dns_header(3, 0x8583, [1, 0, 1, 0]),
                &dns_question(&example, 1, 1),
            ]),
            cat(&[
                &dns_header(4, 0x8220, [1, 0, 0, 0]),
                &dns_question(&example, 1, 1),
            ]),
            // Extended response codes from OPT: BadVers (16) and 17.
            cat(&[
                &dns_header(5, 0x8180, [1, 0, 0, 1]),
                &dns_question(&example, 1, 1),
                &dns_rr(&[0], 41, 512, 0x0100_0000, &[]),
            ]),
            cat(&[
                &dns_header(6, 0x8181, [1, 0, 0, 1]),
                &dns_question(&example, 1, 1),
                &dns_rr(&[0], 41, 512, 0x0100_0000, &[]),
            ]),
            cat(&[&dns_header(16, 0xf80f, [0, 0, 0, 0])]),
            // An OPT record among the answers, with options.
            cat(&[
                &dns_header(17, 0x8180, [0, 1, 0, 0]),
                &dns_rr(
                    &[0],
                    41,
                    4096,
                    0x0000_8000,
                    &cat(&[
                        &[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2],
                        &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
                        &[0, 12, 0, 3, 0, 0, 0],
                        &[0, 11, 0, 2, 0, 25],
                        &[0, 3, 0, 2, 0xab, 0xcd],
                        &[0, 99, 0, 0],
                    ]),
                ),
            ]),
            // A6, URI, UNSPECA, an A of the wrong length.
            cat(&[
                &dns_header(18, 0x8180, [0, 4, 0, 0]),
                &dns_rr(
                    &example,
                    38,
                    1,
                    1,
                    &cat(&[&[64], &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 1], &[0]]),
                ),
                &dns_rr(&example, 256, 1, 1, b"\x00\x01\x00\x02http://x/"),
                &dns_rr(&example, 104, 1, 1, b"ascii"),
                &dns_rr(&example, 1, 1, 1, &[1, 2]),
            ]),
            // Names: a forward pointer, a pointer to itself, reserved and
            // extended label types, a bit-string label, odd characters, a
            // name longer than 255.
            cat(&[
                &dns_header(20, 0x0100, [1, 0, 0, 0]),
                &dns_question(&[0xc0, 40], 1, 1),
            ]),
            cat(&[
                &dns_header(21, 0x0100, [1, 0, 0, 0]),
                &dns_question(&PTR, 1, 1),
            ]),
            cat(&[
                &dns_header(22, 0x0100, [1, 0, 0, 0]),
                &dns_question(&[0x81, 0], 1, 1),
            ]),
            cat(&[
                &dns_header(23, 0x0100, [1, 0, 0, 0]),
                &dns_question(&[0x42, 0], 1, 1),
            ]),
            cat(&[
                &dns_header(24, 0x0100, [1, 0, 0, 0]),
                &dns_question(&[0x41, 12, 0xab, 0xc0, 0], 1, 1),
            ]),
            cat(&[
                &dns_header(25, 0x0100, [1, 0, 0, 0]),
                &dns_question(&[4, b'a', 0x01, 0x80, 0xff, 2, b'b', 0x7f, 0], 1, 1),
            ]),
            cat(&[
                &dns_header(26, 0x0100, [1, 0, 0, 0]),
                &dns_question(&dns_name(&["abcdefghij"; 30].join(".")), 1, 1),
            ]),
            // Too short for a header.
            vec![0, 1, 2, 3, 4],
            // Counts beyond the message.
            cat(&[
                &dns_header(27, 0x8180, [1, 2, 0, 0]),
                &dns_question(&example, 1, 1),
            ]),
            cat(&[
                &dns_header(28, 0x0100, [3, 0, 0, 0]),
                &dns_question(&example, 1, 1),
            ]),
        ];
        let mut frames: Vec<Vec<u8>> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (s, d) = if i % 2 == 0 { (40000, 53) } else { (53, 40000) };
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(s, d, m)))
            })
            .collect();
        // mDNS: a question wanting a unicast reply, an answer to flush.
        let mdns_q = cat(&[
            &dns_header(0, 0, [1, 0, 0, 0]),
            &dns_question(&dns_name("printer.local"), 12, 0x8001),
        ]);
        let mdns_a = cat(&[
            &dns_header(0, 0x8400, [0, 1, 0, 0]),
            &dns_rr(&dns_name("printer.local"), 1, 0x8001, 120, &[10, 0, 0, 9]),
        ]);
        for m in [&mdns_q, &mdns_a] {
            frames.push(eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(5353, 5353, m))));
        }
        // IPv6.
        frames.push(eth(
            ETHERTYPE_IPV6,
            &ipv6(IPPROTO_UDP, &udp(40001, 53, &msgs[0])),
        ));
        // TCP: a prefixed query, a wrong prefix, a 1-byte payload.
        let mut prefixed = (msgs[0].len() as u16).to_be_bytes().to_vec();
        prefixed.extend_from_slice(&msgs[0]);
        let mut wrong = prefixed.clone();
        wrong[1] ^= 1;
        for (payload, other) in [(&prefixed, 40002), (&wrong, 40003), (&vec![9], 40004)] {
            frames.push(eth(
                ETHERTYPE_IPV4,
                &ipv4(IPPROTO_TCP, &tcp(other, 53, 1, 2, 0x18, payload)),
            ));
        }
        // UDP whose length is longer than the IP datagram, and one whose IP
        // datagram is too short for a UDP header.
        let mut long = ipv4(IPPROTO_UDP, &udp(1, 2, &[0; 8]));
        long[24..26].copy_from_slice(&40u16.to_be_bytes());
        frames.push(eth(ETHERTYPE_IPV4, &long));
        let mut short = ipv4(IPPROTO_UDP, &udp(1, 2, &[0; 8]));
        short[2..4].copy_from_slice(&24u16.to_be_bytes());
        frames.push(eth(ETHERTYPE_IPV4, &short));
        msgs.clear();
        frames
    }

    /// DNS from or to a TCP port tcpdump gives to another protocol first
    /// (HTTP's, here) is not printed as DNS; a DNS query is.
    #[test]
    fn tcp_dns_yields_to_the_ports_tcpdump_tries_first() {
        let query = cat_query();
        let line = |port| {
            summary(&eth(
                ETHERTYPE_IPV4,
                &ipv4(IPPROTO_TCP, &tcp(port, 53, 1, 2, 0x18, &query)),
            ))
        };
        assert!(
            line(40000).ends_with(", length 31 4660+ A? example.com. (29)"),
            "{}",
            line(40000)
        );
        assert!(line(80).ends_with(", length 31: HTTP"), "{}", line(80));
        assert!(line(22).ends_with(", length 31"), "{}", line(22));
    }

    /// A DNS query for example.com's A record, with its TCP length prefix.
    fn cat_query() -> Vec<u8> {
        let msg = [
            dns_header(0x1234, 0x0100, [1, 0, 0, 0]),
            dns_question(&dns_name("example.com"), 1, 1),
        ]
        .concat();
        [(msg.len() as u16).to_be_bytes().to_vec(), msg].concat()
    }

    /// A few DNS lines spelled out (the test below compares them all with
    /// tcpdump when it is installed).
    #[test]
    fn dns_lines() {
        let frames = dns_frames();
        let line = |i: usize| {
            let l = summary(&frames[i]);
            l.split_once(": ")
                .map(|(_, r)| r.split_once(": ").map_or(r, |(_, d)| d).to_owned())
                .unwrap()
        };
        assert_eq!(line(0), "4660+ A? example.com. (29)");
        assert_eq!(line(1), "7+ [1au] AAAA? example.com. (40)");
        assert_eq!(line(2), "8% MX CHAOS? example.com. (29)");
        assert_eq!(
            line(10),
            "4660 3/1/1 CNAME example.com., A 93.184.216.34, AAAA 2606:2800:220:1:248:1893:25c8:1946 (136)"
        );
        assert_eq!(line(12), "3 NXDomain* 0/1/0 (29)");
        assert_eq!(line(19), "20+ A? <BAD PTR> [|domain]");
        assert_eq!(line(20), "21+ A? <BAD PTR> [|domain]");
    }

    /// DNS messages and text-protocol payloads with random bytes changed
    /// (headers left alone) never panic the printer and print as tcpdump
    /// prints them.
    #[test]
    fn mutated_dns_and_text_match_tcpdump() {
        let mut frames = dns_frames();
        frames.extend(text_frames());
        frames.extend(tftp_frames());
        frames.extend(ntp_frames());
        frames.extend(bootp_frames());
        frames.extend(ipproto_frames());
        frames.extend(router_advertisement_frames());
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        // Each with its length on the wire: a cut is a snapshot length's.
        let mut mutated: Vec<(Vec<u8>, usize)> = Vec::new();
        for i in 0..3000u64 {
            let mut f = frames[(i % frames.len() as u64) as usize].clone();
            // Past Ethernet, IP and the transport header (UDP's 8, or TCP's
            // 20 and DNS's length prefix).
            let start = match f[23] {
                IPPROTO_TCP => 14 + 20 + 22,
                IPPROTO_UDP => 14 + 20 + 8,
                // IGMP, ESP, VRRP: all but the first byte (the type, which
                // could make IGMP a DVMRP message this module leaves alone).
                _ => 14 + 20 + 1,
            };
            let start = if f[12..14] == ETHERTYPE_IPV6.to_be_bytes() {
                14 + 40 + 8
            } else {
                start
            };
            if f.len() <= start {
                continue;
            }
            for _ in 0..1 + rng.next() % 4 {
                let at = start + (rng.next() as usize) % (f.len() - start);
                f[at] = rng.next() as u8;
            }
            let wire_len = f.len();
            let cut = start + (rng.next() as usize) % (f.len() - start + 1);
            if i % 2 == 0 {
                f.truncate(cut.max(1));
            }
            let mut line = String::new();
            write_summary(&mut line, TS, &f, wire_len).unwrap();
            mutated.push((f, wire_len));
        }
        let records: Vec<(&[u8], usize)> = mutated.iter().map(|(f, len)| (&f[..], *len)).collect();
        assert_tcpdump_agrees("mutated", &records, 10);
    }

    #[test]
    fn ipv6_addresses_are_written_as_tcpdump_writes_them() {
        for (text, expected) in [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8::1", "2001:db8::1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:3:0:0:4", "1::2:3:0:0:4"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
        ] {
            let a: Ipv6Addr = text.parse().unwrap();
            assert_eq!(Ip6(a.octets()).to_string(), expected, "{text}");
        }
    }

    /// TCP payloads of the text protocols tcpdump prints a line of.
    fn text_frames() -> Vec<Vec<u8>> {
        let payloads: [(u16, &[u8]); 21] = [
            (80, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"),
            (80, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (8080, b"post /form HTTP/1.0\nX: y\n"),
            (80, b"<html><body>not a request line</body></html>\r\n"),
            (80, b"GET /no-line-end"),
            (80, b"GET /cr\ronly\r\n"),
            (80, b"GET /\x01binary\r\n"),
            (80, b"GET\t/tab HTTP/1.1\r\n"),
            (25, b"EHLO mail.example.com\r\n"),
            (25, b"250-mail.example.com at your service\r\n"),
            (21, b"USER anonymous\r\n"),
            (21, b"\xff\xfe binary"),
            (43, b"example.com\r\n"),
            (554, b"DESCRIBE rtsp://x/y RTSP/1.0\r\nCSeq: 1\r\n"),
            (554, b"RTSP/1.0 200 OK\r\n"),
            (80, &[b'A'; 200]),
            (22, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
            (22, b"SSH-2.0-no-line-end"),
            (22, b"\x00\x00\x01\x0c\x0a\x14 binary"),
            (22, b"S"),
            (22, b"SSH-\x01\r\n"),
        ];
        payloads
            .iter()
            .map(|&(port, p)| {
                eth(
                    ETHERTYPE_IPV4,
                    &ipv4(IPPROTO_TCP, &tcp(40000, port, 1, 2, 0x18, p)),
                )
            })
            .collect()
    }

    /// TFTP messages of every opcode, well-formed and not.
    fn tftp_frames() -> Vec<Vec<u8>> {
        let payloads: [&[u8]; 13] = [
            b"\x00\x01file.txt\x00octet\x00",
            b"\x00\x02up.bin\x00netascii\x00blksize\x00512\x00tsize\x000\x00",
            b"\x00\x03\x00\x07some data",
            b"\x00\x04\x00\x07",
            b"\x00\x05\x00\x01File not found\x00",
            b"\x00\x05\x00\x09odd code\x00",
            b"\x00\x06blksize\x001428\x00",
            b"\x00\x00",
            b"\x00\x63abc",
            b"\x00\x01no-nul-at-all",
            b"\x00",
            b"\x00\x01a\x01b\xffc\x00mail\x00\x00x\x00",
            b"\x00\x04\x00",
        ];
        payloads
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (s, d) = if i % 2 == 0 { (40000, 69) } else { (69, 40000) };
                eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(s, d, p)))
            })
            .collect()
    }

    /// NTP packets: a client's request, a server's reply, a control message,
    /// and one on a port tcpdump gives to SNMP first.
    fn ntp_frames() -> Vec<Vec<u8>> {
        let mut client = vec![0x23u8];
        client.resize(48, 0);
        let mut server = vec![0x24u8, 2, 6, 0xe9];
        server.resize(48, 7);
        let control = [0x16u8, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        vec![
            eth(
                ETHERTYPE_IPV4,
                &ipv4(IPPROTO_UDP, &udp(40000, 123, &client)),
            ),
            eth(
                ETHERTYPE_IPV4,
                &ipv4(IPPROTO_UDP, &udp(123, 40000, &server)),
            ),
            eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(123, 123, &control))),
        ]
    }

    /// BOOTP/DHCP: a request from an Ethernet client, a reply, an unknown
    /// operation, a request with another hardware type.
    fn bootp_frames() -> Vec<Vec<u8>> {
        let mut request = vec![1u8, 1, 6, 0];
        request.resize(28, 0);
        request.extend_from_slice(&[0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        request.resize(300, 0);
        let mut reply = request.clone();
        reply[0] = 2;
        let mut odd = request.clone();
        odd[0] = 7;
        let mut token_ring = request.clone();
        token_ring[1] = 6;
        [
            (68, 67, &request),
            (67, 68, &reply),
            (68, 67, &odd),
            (68, 67, &token_ring),
        ]
        .iter()
        .map(|&(s, d, p)| eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_UDP, &udp(s, d, p))))
        .collect()
    }

    /// IGMP of every kind, ESP and VRRP, well-formed and not.
    fn ipproto_frames() -> Vec<Vec<u8>> {
        let mut igmp: Vec<Vec<u8>> = vec![
            vec![0x11, 0, 0, 0, 0, 0, 0, 0],
            vec![0x11, 100, 0, 0, 0, 0, 0, 0],
            vec![0x11, 50, 0, 0, 239, 1, 1, 1],
            vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0],
            vec![0x11, 100, 0, 0, 0, 0, 0, 0, 2, 125, 0, 0],
            vec![
                0x11, 0x8f, 0, 0, 239, 1, 1, 1, 2, 125, 0, 2, 10, 0, 0, 1, 10, 0, 0, 2,
            ],
            vec![0x11, 0xff, 0, 0, 239, 1, 1, 1, 2, 125, 0, 9, 10, 0, 0, 1],
            vec![0x11, 20, 0, 0, 239, 1, 1, 1, 2, 125, 0, 0, 1],
            vec![0x12, 0, 0, 0, 239, 1, 2, 3],
            vec![0x12, 0, 0, 0, 239, 1, 2, 3, 0, 0, 0, 0],
            vec![0x16, 0, 0, 0, 239, 1, 2, 3],
            vec![0x17, 0, 0, 0, 239, 1, 2, 3],
            vec![
                0x22, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 239, 1, 2, 3, 3, 0, 0, 0, 239, 1, 2, 4,
            ],
            vec![0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0],
            [
                &[0x1f, 0, 0, 0, 0, 0, 0, 0][..],
                &[10, 0, 0, 1, 239, 1, 1, 1, 224, 0, 0, 9, 64, 0, 1, 2],
            ]
            .concat(),
            [
                &[0x1e, 0, 0, 0, 0, 0, 0, 0][..],
                &[10, 0, 0, 1, 239, 1, 1, 1, 10, 0, 0, 9, 64, 0, 1, 2],
            ]
            .concat(),
            vec![0x1e, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0x42, 0, 0, 0],
        ];
        let mut frames: Vec<Vec<u8>> = igmp
            .drain(..)
            .map(|m| eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_IGMP, &m)))
            .collect();
        frames.push(eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_ESP, &[0, 0, 0x12, 0x34, 0, 0, 0, 7, 0xaa, 0xbb]),
        ));
        frames.push(eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_ESP, &[0, 0, 0x12, 0x34, 0, 0, 0, 7]),
        ));
        let vrrp: [(&[u8], u8); 6] = [
            (&[0x21, 1, 100, 1, 0, 1, 0, 0, 10, 0, 0, 254], 255),
            (
                &[
                    0x21, 7, 200, 1, 1, 3, 0, 0, 10, 0, 0, 254, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
                64,
            ),
            (&[0x31, 2, 100, 1, 0x0f, 0xa0, 0, 0, 10, 0, 0, 254], 255),
            (&[0x22, 1, 100, 1, 0, 1, 0, 0], 255),
            (&[0x11, 1, 100, 1, 0, 1, 0, 0], 255),
            (&[0x21, 1, 100, 1, 9, 1, 0, 0], 255),
        ];
        for (m, ttl) in vrrp {
            let mut ip = ipv4(IPPROTO_VRRP, m);
            ip[8] = ttl;
            frames.push(eth(ETHERTYPE_IPV4, &ip));
        }
        // OSPF: hello, an unknown type, MD5 authentication, MD5 on a packet
        // shorter than its trailer.
        let mut hello = vec![2u8, 1, 0, 44, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        hello.resize(44, 0);
        let mut odd = hello.clone();
        odd[1] = 9;
        let mut md5 = hello.clone();
        md5[15] = 2;
        md5.resize(60, 0xee);
        let mut short_md5 = md5.clone();
        short_md5.truncate(20);
        for m in [hello, odd, md5, short_md5] {
            frames.push(eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_OSPF, &m)));
        }
        frames
    }

    #[test]
    fn igmp_esp_and_vrrp_lines() {
        let f = ipproto_frames();
        let tail = |i: usize| {
            summary(&f[i])
                .split_once("10.0.0.2: ")
                .map(|(_, t)| t.to_owned())
                .unwrap()
        };
        assert_eq!(tail(10), "igmp v2 report 239.1.2.3");
        assert_eq!(tail(18), "ESP(spi=0x00001234,seq=0x7), length 10");
        assert_eq!(
            tail(20),
            "VRRPv2, Advertisement, vrid 1, prio 100, authtype none, intvl 1s, length 12"
        );
        // DVMRP is left to the generic line.
        let dvmrp = summary(&eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_IGMP, &[0x13, 0, 0, 0, 0, 0, 0, 0]),
        ));
        assert!(dvmrp.ends_with("10.0.0.2:  ip-proto-2 8"), "{dvmrp}");
    }

    /// An 802.3 frame's length is its length field's (tcpdump: "802.3,
    /// length 38: LLC, dsap STP …" for this STP frame padded to 60 bytes).
    #[test]
    fn an_802_3_frame_prints_its_length_field() {
        let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0];
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&38u16.to_be_bytes());
        f.extend_from_slice(&[0x42, 0x42, 0x03]);
        f.resize(60, 0);
        let line = summary(&f);
        assert!(line.contains(", 802.3, length 38: LLC, "), "{line}");
    }

    /// ICMP router advertisements: one address, several, a long list that
    /// tcpdump's buffer cuts, an odd address size, and lifetimes of each form.
    fn router_advertisement_frames() -> Vec<Vec<u8>> {
        let advert = |count: u8, size: u8, lifetime: u16, entries: usize| {
            let mut m = vec![9u8, 0, 0, 0, count, size];
            m.extend_from_slice(&lifetime.to_be_bytes());
            for i in 0..entries {
                m.extend_from_slice(&[10, 0, 0, i as u8 + 1]);
                m.extend_from_slice(&(i as u32 * 1000 + 7).to_be_bytes());
            }
            eth(ETHERTYPE_IPV4, &ipv4(IPPROTO_ICMP, &m))
        };
        vec![
            advert(1, 2, 1800, 1),
            advert(3, 2, 45, 3),
            advert(12, 2, 9000, 12),
            advert(2, 4, 600, 2),
            advert(4, 2, 1800, 2),
        ]
    }

    #[test]
    fn router_advertisements_match_tcpdump_whole_and_cut() {
        let frames = router_advertisement_frames();
        let line = summary(&frames[0]);
        assert!(
            line.ends_with("ICMP router advertisement lifetime 30:00 1: {10.0.0.1 7}, length 16"),
            "{line}"
        );
        assert_tcpdump_agrees("router-adverts", &every_cut(&frames), 20);
    }

    /// LLDP: chassis, port, TTL, a system name (one with a NUL inside),
    /// the end TLV; a TLV longer than the frame; one with an odd character.
    fn lldp_frames() -> Vec<Vec<u8>> {
        let tlv = |kind: u16, value: &[u8]| {
            let mut t = ((kind << 9) | value.len() as u16).to_be_bytes().to_vec();
            t.extend_from_slice(value);
            t
        };
        let chassis = tlv(1, &[4, 0x02, 0, 0, 0, 0, 1]);
        let port = tlv(2, &[7, b'1']);
        let ttl = tlv(3, &[0, 120]);
        let mut frames = Vec::new();
        for name in [&b"switch-1"[..], b"sw\0tail", b"caf\xe9\x01"] {
            let body = [
                chassis.clone(),
                port.clone(),
                ttl.clone(),
                tlv(5, name),
                tlv(0, &[]),
            ]
            .concat();
            frames.push(eth(ETHERTYPE_LLDP, &body));
        }
        let long = [chassis.clone(), tlv(5, &[b'x'; 40])[..10].to_vec()].concat();
        frames.push(eth(ETHERTYPE_LLDP, &long));
        frames.push(eth(ETHERTYPE_LLDP, &[chassis, port, ttl].concat()));
        frames
    }

    #[test]
    fn lldp_matches_tcpdump_whole_and_cut() {
        let frames = lldp_frames();
        let line = summary(&frames[0]);
        assert!(
            line.ends_with("ethertype LLDP (0x88cc), length 60: LLDP, length 46: switch-1"),
            "{line}"
        );
        assert_tcpdump_agrees("lldp", &every_cut(&frames), 20);
    }

    #[test]
    fn a_dhcp_request_is_printed() {
        let line = summary(&bootp_frames()[0]);
        assert!(
            line.ends_with(": BOOTP/DHCP, Request from 02:11:22:33:44:55, length 300"),
            "{line}"
        );
    }

    #[test]
    fn an_ntp_request_is_printed() {
        let line = summary(&ntp_frames()[0]);
        assert!(line.ends_with(": NTPv4, Client, length 48"), "{line}");
        let snmp_first = summary(&eth(
            ETHERTYPE_IPV4,
            &ipv4(IPPROTO_UDP, &udp(161, 123, &[0x23; 48])),
        ));
        assert!(snmp_first.ends_with(": UDP, length 48"), "{snmp_first}");
    }

    #[test]
    fn a_tftp_read_request_is_printed() {
        let line = summary(&tftp_frames()[0]);
        assert!(
            line.ends_with(": TFTP, length 17, RRQ \"file.txt\" octet"),
            "{line}"
        );
    }

    /// Text-protocol and TFTP lines match tcpdump's, whole and cut at every
    /// length.
    #[test]
    fn text_protocols_and_tftp_match_tcpdump_whole_and_cut() {
        let mut frames = text_frames();
        frames.extend(tftp_frames());
        frames.extend(ntp_frames());
        frames.extend(bootp_frames());
        frames.extend(ipproto_frames());
        assert_tcpdump_agrees("text", &every_cut(&frames), 20);
    }

    #[test]
    fn an_http_request_line_is_printed() {
        let line = summary(&text_frames()[0]);
        assert!(line.ends_with(": HTTP: GET /index.html HTTP/1.1"), "{line}");
        let body = summary(&text_frames()[3]);
        assert!(body.ends_with(", length 46: HTTP"), "{body}");
    }

    /// DNS lines match tcpdump's, whole and cut at every length.
    #[test]
    fn dns_matches_tcpdump_whole_and_cut() {
        assert_tcpdump_agrees("dns", &every_cut(&dns_frames()), 40);
    }

    /// Compares with real tcpdump when it is installed.
    #[test]
    fn matches_tcpdump() {
        use crate::pcap_writer::{Frame, PcapWriter, Resolution};
        let cases = cases();
        let path =
            std::env::temp_dir().join(format!("igbpoll-{}-summary.pcap", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = PcapWriter::new(file, 0, Resolution::Micros).unwrap();
        let frames: Vec<Frame<'_>> = cases.iter().map(|(f, _)| Frame::new(TS, f)).collect();
        writer.write_batch(&frames).unwrap();
        drop(writer.finish());
        let output = std::process::Command::new("tcpdump")
            // -S: absolute sequence numbers, as this module prints them.
            .args(["-n", "-e", "-S", "-r"])
            .arg(&path)
            .env("TZ", "UTC")
            .output();
        std::fs::remove_file(&path).unwrap();
        let output = match output {
            Ok(o) if o.status.success() => o,
            Ok(o) => panic!("tcpdump failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                println!("note: tcpdump not runnable ({e}); skipping comparison");
                return;
            }
        };
        let stdout = String::from_utf8(output.stdout).unwrap();
        // tcpdump's hex dump of unknown payloads is crate::hexdump's (and
        // tested there).
        let theirs: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('\t')).collect();
        assert_eq!(theirs.len(), cases.len(), "{stdout}");
        let mismatches: Vec<String> = cases
            .iter()
            .zip(theirs)
            .map(|((frame, _), their_line)| (summary(frame), their_line))
            .filter(|(ours, theirs)| ours != theirs)
            .map(|(ours, theirs)| format!("ours:    {ours}\ntcpdump: {theirs}"))
            .collect();
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}
