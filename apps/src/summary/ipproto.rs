//! IGMP, ESP, VRRP and OSPF over IPv4 in a summary line, as `tcpdump -n`
//! prints them without `-v` (`print-igmp.c`, `print-esp.c`, `print-vrrp.c`,
//! `print-ospf.c`). IGMP's
//! DVMRP and PIMv1 messages are not decoded here (the caller prints the
//! generic line for them: [`igmp_decoded`]).

use std::fmt::{self, Write};
use std::net::Ipv4Addr;

use super::{end_line, Bytes, Step, Stop};

fn u8_at(b: Bytes<'_>, at: usize) -> Step<u8> {
    b.u8(at).ok_or(Stop::Cut)
}

fn be16_at(b: Bytes<'_>, at: usize) -> Step<u16> {
    b.be16(at).ok_or(Stop::Cut)
}

fn be32_at(b: Bytes<'_>, at: usize) -> Step<u32> {
    b.be32(at).ok_or(Stop::Cut)
}

fn ip_at(b: Bytes<'_>, at: usize) -> Step<Ipv4Addr> {
    b.ipv4(at).ok_or(Stop::Cut)
}

/// Whether [`write_igmp`] decodes the message in `igmp` (all but DVMRP
/// and PIMv1, and what is too short to tell).
pub(super) fn igmp_decoded(igmp: Bytes<'_>) -> bool {
    !matches!(igmp.u8(0), Some(0x13 | 0x14))
}

/// An IGMP message of `len` bytes (its IP payload length).
pub(super) fn write_igmp<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize) -> fmt::Result {
    let r = igmp(out, b, len);
    end_line(out, r, "igmp")
}

fn igmp<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize) -> Step<()> {
    match u8_at(b, 0)? {
        0x11 => {
            out.write_str("igmp query")?;
            if len >= 12 {
                return igmpv3_query(out, b, len);
            }
            let mrt = u8_at(b, 1)?;
            if mrt != 0 {
                out.write_str(" v2")?;
                if mrt != 100 {
                    write!(out, " [max resp time {mrt}]")?;
                }
            } else {
                out.write_str(" v1")?;
            }
            if be32_at(b, 4)? != 0 {
                write!(out, " [gaddr {}]", ip_at(b, 4)?)?;
            }
            if len != 8 {
                write!(out, " [len {len}]")?;
            }
        }
        0x12 => {
            write!(out, "igmp v1 report {}", ip_at(b, 4)?)?;
            if len != 8 {
                write!(out, " [len {len}]")?;
            }
        }
        0x16 => write!(out, "igmp v2 report {}", ip_at(b, 4)?)?,
        0x17 => write!(out, "igmp leave {}", ip_at(b, 4)?)?,
        0x22 => {
            out.write_str("igmp v3 report")?;
            if len < 16 || len & 3 != 0 {
                write!(out, " [invalid len {len}]")?;
            } else {
                write!(out, ", {} group record(s)", be16_at(b, 6)?)?;
            }
        }
        t @ (0x1e | 0x1f) => {
            // A multicast traceroute query or response (its query after 8 bytes).
            if len < 8 + 16 {
                write!(out, " [invalid len {len}]")?;
                return Ok(());
            }
            let name = if t == 0x1e { "mresp" } else { "mtrace" };
            let qid = u32::from_be_bytes([0, u8_at(b, 21)?, u8_at(b, 22)?, u8_at(b, 23)?]);
            let (src, dst, reply) = (ip_at(b, 8)?, ip_at(b, 12)?, ip_at(b, 16)?);
            write!(out, "{name} {qid}: {src} to {dst} reply-to {reply}")?;
            if reply.is_multicast() {
                write!(out, " with-ttl {}", u8_at(b, 20)?)?;
            }
        }
        t => write!(out, "igmp-{t}")?,
    }
    Ok(())
}

fn igmpv3_query<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize) -> Step<()> {
    out.write_str(" v3")?;
    if len < 12 || len & 3 != 0 {
        write!(out, " [invalid len {len}]")?;
        return Ok(());
    }
    let mrc = u32::from(u8_at(b, 1)?);
    let mrt = if mrc < 128 {
        mrc
    } else {
        ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3)
    };
    if mrc != 100 {
        out.write_str(" [max resp time ")?;
        if mrt < 600 {
            write!(out, "{:.1}s", f64::from(mrt) * 0.1)?;
        } else {
            write_relative_time(out, mrt / 10)?;
        }
        out.write_char(']')?;
    }
    if be32_at(b, 4)? == 0 {
        return Ok(());
    }
    write!(out, " [gaddr {}", ip_at(b, 4)?)?;
    let sources = usize::from(be16_at(b, 10)?);
    if sources > 0 {
        if len < 12 + sources * 4 {
            out.write_str(" [invalid number of sources]")?;
        } else {
            write!(out, ", {sources} source(s)")?;
        }
    }
    out.write_char(']')?;
    Ok(())
}

/// Seconds as tcpdump's `unsigned_relts_print`: `1m5s`, `2h`, `0s`.
fn write_relative_time<W: Write + ?Sized>(out: &mut W, mut secs: u32) -> fmt::Result {
    if secs == 0 {
        return out.write_str("0s");
    }
    for (unit, n) in [
        ("y", 31_536_000),
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= n {
            write!(out, "{}{unit}", secs / n)?;
            secs %= n;
        }
    }
    Ok(())
}

/// An ESP header of a datagram whose IP payload is `len` bytes.
pub(super) fn write_esp<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize) -> fmt::Result {
    // tcpdump wants more than the 8-byte header before it prints it.
    if b.len() <= 8 {
        return out.write_str(" [|esp]");
    }
    let (Some(spi), Some(seq)) = (b.be32(0), b.be32(4)) else {
        return out.write_str(" [|esp]");
    };
    write!(out, "ESP(spi=0x{spi:08x},seq=0x{seq:x}), length {len}")
}

/// A VRRP message of `len` bytes in an IPv4 datagram with time to live `ttl`.
pub(super) fn write_vrrp<W: Write + ?Sized>(
    out: &mut W,
    b: Bytes<'_>,
    len: usize,
    ttl: u8,
) -> fmt::Result {
    out.write_str("VRRP")?;
    let r = vrrp(out, b, len, ttl);
    end_line(out, r, "vrrp")
}

fn vrrp<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize, ttl: u8) -> Step<()> {
    let first = u8_at(b, 0)?;
    let (version, kind) = (first >> 4, first & 0x0f);
    write!(out, "v{version}, ")?;
    if kind == 1 {
        out.write_str("Advertisement")?;
    } else {
        write!(out, "unknown type ({kind})")?;
    }
    if ttl != 255 {
        write!(out, ", (ttl {ttl})")?;
    }
    if !(2..=3).contains(&version) || kind != 1 {
        return Ok(());
    }
    let (vrid, prio) = (u8_at(b, 1)?, u8_at(b, 2)?);
    write!(out, ", vrid {vrid}, prio {prio}")?;
    if version == 2 {
        let auth = u8_at(b, 4)?;
        match auth {
            0 => out.write_str(", authtype none")?,
            1 => out.write_str(", authtype simple")?,
            2 => out.write_str(", authtype ah")?,
            _ => write!(out, ", authtype #{auth}")?,
        }
        write!(out, ", intvl {}s, length {len}", u8_at(b, 5)?)?;
    } else {
        let intvl = (u16::from(u8_at(b, 4)? & 0x0f) << 8) | u16::from(u8_at(b, 5)?);
        write!(out, ", intvl {intvl}cs, length {len}")?;
    }
    Ok(())
}

/// An OSPFv2 packet of `len` bytes: version, type and length, less the
/// MD5 trailer when there is one (tcpdump's unsigned arithmetic kept).
pub(super) fn write_ospf<W: Write + ?Sized>(out: &mut W, b: Bytes<'_>, len: usize) -> fmt::Result {
    let r = ospf(out, b, len);
    end_line(out, r, "ospf2")
}

fn ospf<W: Write + ?Sized>(out: &mut W, mut b: Bytes<'_>, len: usize) -> Step<()> {
    let mut length = len as u32;
    if be16_at(b, 14)? == 2 {
        // MD5: tcpdump takes the 16-byte trailer off the length and off
        // what it may read.
        length = length.wrapping_sub(16);
        b = b.take(b.len() - 16);
    }
    let kind = u8_at(b, 1)?;
    let version = u8_at(b, 0)?;
    write!(out, "OSPFv{version}, ")?;
    match kind {
        1 => out.write_str("Hello")?,
        2 => out.write_str("Database Description")?,
        3 => out.write_str("LS-Request")?,
        4 => out.write_str("LS-Update")?,
        5 => out.write_str("LS-Ack")?,
        _ => write!(out, "unknown LS-type {kind}")?,
    }
    write!(out, ", length {length}")?;
    Ok(())
}
