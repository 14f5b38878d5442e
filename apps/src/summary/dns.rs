//! DNS messages in a summary line, as `tcpdump -n` prints them (its
//! `print-domain.c` without `-v`): a query as `ID[+] TYPE? name. (length)`, a
//! response as `ID[flags] an/ns/ar` followed by its answers, on UDP port 53,
//! mDNS's port 5353 and TCP port 53 (after the 2-byte length prefix).
//!
//! Everything in the message is untrusted: a name's compression pointers
//! must point backwards (so no name loops), every read is bounds-checked
//! against the captured bytes, and a message that ends early prints what
//! tcpdump prints up to that point, then `[|domain]`.

use std::fmt::{self, Write};
use std::net::Ipv4Addr;

use super::{end_line, write_tcpdump_char, Ip6, Step, Stop};

/// Longest name tcpdump prints whole (MAXCDNAME).
const MAX_NAME: usize = 255;
const T_NS: u16 = 2;
const T_CNAME: u16 = 5;
const T_SOA: u16 = 6;
const T_PTR: u16 = 12;
const T_MX: u16 = 15;
const T_TXT: u16 = 16;
const T_A: u16 = 1;
const T_AAAA: u16 = 28;
const T_SRV: u16 = 33;
const T_A6: u16 = 38;
const T_DNAME: u16 = 39;
const T_OPT: u16 = 41;
const T_UNSPECA: u16 = 104;
const T_TSIG: u16 = 250;
const T_URI: u16 = 256;
const C_IN: u16 = 1;
/// mDNS: "unicast response wanted" in a question's class, "cache flush" in
/// a record's.
const C_MDNS_BIT: u16 = 0x8000;
const OPCODE_IQUERY: u16 = 1;

/// The captured bytes of a message, from its header on.
#[derive(Clone, Copy)]
struct Msg<'a>(&'a [u8]);

impl<'a> Msg<'a> {
    fn end(self) -> usize {
        self.0.len()
    }
    fn has(self, at: usize, n: usize) -> bool {
        at.checked_add(n).is_some_and(|e| e <= self.0.len())
    }
    fn u8(self, at: usize) -> Step<u8> {
        self.0.get(at).copied().ok_or(Stop::Cut)
    }
    fn be16(self, at: usize) -> Step<u16> {
        Ok(u16::from_be_bytes([self.u8(at)?, self.u8(at + 1)?]))
    }
    fn bytes(self, at: usize, n: usize) -> Step<&'a [u8]> {
        let end = at.checked_add(n).ok_or(Stop::Cut)?;
        self.0.get(at..end).ok_or(Stop::Cut)
    }
}

/// Writes the DNS message `msg` (the captured bytes of a UDP payload, or of a
/// TCP payload with its length prefix when `over_tcp`), whose length on the
/// wire is `length`, as tcpdump does after the ports (`mdns`: port 5353).
pub(super) fn write_dns<W: Write + ?Sized>(
    out: &mut W,
    msg: &[u8],
    length: usize,
    over_tcp: bool,
    mdns: bool,
) -> fmt::Result {
    let r = message(out, msg, length, over_tcp, mdns);
    end_line(out, r, "domain")
}

fn message<W: Write + ?Sized>(
    out: &mut W,
    msg: &[u8],
    mut length: usize,
    over_tcp: bool,
    mdns: bool,
) -> Step<()> {
    let mut m = Msg(msg);
    if over_tcp {
        if length < 2 {
            write!(out, " [DNS over TCP: length {length} < 2] (invalid)")?;
            return Ok(());
        }
        length -= 2;
        let prefix = m.be16(0)?;
        if usize::from(prefix) != length {
            write!(
                out,
                " [prefix length({prefix}) != length({length})] (invalid)"
            )?;
            return Ok(());
        }
        m = Msg(&msg[2..]);
        out.write_char(' ')?;
    }
    if length < 12 {
        write!(out, "domain [length {length} < 12] (invalid)")?;
        return Ok(());
    }
    if !m.has(0, 12) {
        return Err(Stop::Cut);
    }
    let id = m.be16(0)?;
    let flags = m.be16(2)?;
    let (qd, an, ns, ar) = (m.be16(4)?, m.be16(6)?, m.be16(8)?, m.be16(10)?);
    let opcode = (flags >> 11) & 0xf;
    if flags & 0x8000 != 0 {
        let rcode = u32::from(flags & 0xf) | extended_rcode(m, qd, an, ns, ar);
        write!(out, "{id}{}", OPCODES[usize::from(opcode)])?;
        match RCODES.get(rcode as usize) {
            Some(name) => out.write_str(name)?,
            None => write!(out, " Resp{}", rcode & 0xfff)?,
        }
        for (bit, set, clear) in [
            (0x0400, "*", ""),
            (0x0080, "", "-"),
            (0x0200, "|", ""),
            (0x0020, "$", ""),
        ] {
            out.write_str(if flags & bit != 0 { set } else { clear })?;
        }
        if qd != 1 {
            write!(out, " [{qd}q]")?;
        }
        let mut cp = 12;
        for i in 0..qd {
            if i != 0 {
                out.write_char(',')?;
            }
            cp = skip_name(m, cp).ok_or(Stop::Cut)? + 4;
        }
        write!(out, " {an}/{ns}/{ar}")?;
        let mut left = an;
        if left > 0 {
            cp = record(out, m, cp, mdns)?;
            left -= 1;
            while cp < m.end() && left > 0 {
                out.write_char(',')?;
                cp = record(out, m, cp, mdns)?;
                left -= 1;
            }
        }
        if left > 0 {
            return Err(Stop::Cut);
        }
    } else {
        write!(out, "{id}{}", OPCODES[usize::from(opcode)])?;
        if flags & 0x0100 != 0 {
            out.write_char('+')?;
        }
        if flags & 0x0010 != 0 {
            out.write_char('%')?;
        }
        if flags & 0x6cf != 0 {
            write!(out, " [b2&3=0x{flags:x}]")?;
        }
        if opcode == OPCODE_IQUERY {
            if qd != 0 {
                write!(out, " [{qd}q]")?;
            }
            if an != 1 {
                write!(out, " [{an}a]")?;
            }
        } else {
            if an != 0 {
                write!(out, " [{an}a]")?;
            }
            if qd != 1 {
                write!(out, " [{qd}q]")?;
            }
        }
        if ns != 0 {
            write!(out, " [{ns}n]")?;
        }
        if ar != 0 {
            write!(out, " [{ar}au]")?;
        }
        let mut left = qd;
        if left > 0 {
            let mut cp = question(out, m, 12, mdns)?;
            left -= 1;
            while cp < m.end() && left > 0 {
                cp = question(out, m, cp, mdns)?;
                left -= 1;
            }
        }
        if left > 0 {
            return Err(Stop::Cut);
        }
    }
    write!(out, " ({length})")?;
    Ok(())
}

/// The upper bits of the response code, from an OPT record in the
/// additional section (0 when there is none, or the message ends first).
fn extended_rcode(m: Msg<'_>, qd: u16, an: u16, ns: u16, ar: u16) -> u32 {
    let scan = || -> Option<u32> {
        let mut cp = 12;
        for _ in 0..qd {
            cp = skip_name(m, cp)? + 4;
            if cp >= m.end() {
                return None;
            }
        }
        for _ in 0..u32::from(an) + u32::from(ns) {
            cp = skip_name(m, cp)? + 8;
            let rdlen = usize::from(m.be16(cp).ok()?);
            cp += 2 + rdlen;
            if cp >= m.end() {
                return None;
            }
        }
        for _ in 0..ar {
            cp = skip_name(m, cp)?;
            let typ = m.be16(cp).ok()?;
            cp += 4;
            let ext = m.u8(cp).ok()?;
            if typ == T_OPT {
                return Some(u32::from(ext) << 4);
            }
            cp += 4;
            let rdlen = usize::from(m.be16(cp).ok()?);
            cp += 2 + rdlen;
            if cp >= m.end() {
                return None;
            }
        }
        None
    };
    scan().unwrap_or(0)
}

/// Skips a name without printing it (tcpdump's `ns_nskip`): the offset
/// after it, or `None` if the message ends first or a label type is unknown.
fn skip_name(m: Msg<'_>, mut cp: usize) -> Option<usize> {
    let mut i = m.u8(cp).ok()?;
    cp += 1;
    while i != 0 {
        match i & 0xc0 {
            0xc0 => return Some(cp + 1),
            0x40 => {
                if i & 0x3f != 1 {
                    return None;
                }
                let bits = match m.u8(cp).ok()? {
                    0 => 256,
                    b => usize::from(b),
                };
                cp += 1 + bits.div_ceil(8);
            }
            0x80 => return None,
            _ => cp += usize::from(i),
        }
        i = m.u8(cp).ok()?;
        cp += 1;
    }
    Some(cp)
}

/// The length byte of the label at `cp` as tcpdump's `labellen` reads it:
/// the label's length (or a pointer's first byte), `None` after printing
/// what is wrong with an unknown label type, or if the message ended.
fn label_len<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize) -> Step<usize> {
    let i = m.u8(cp)?;
    match i & 0xc0 {
        0x40 => {
            let elt = i & 0x3f;
            if elt != 1 {
                write!(out, "<ELT {elt}>")?;
                return Err(Stop::Cut);
            }
            let bits = match m.u8(cp + 1)? {
                0 => 256,
                b => usize::from(b),
            };
            Ok(bits.div_ceil(8) + 1)
        }
        0x80 => {
            out.write_str("<BAD LABEL TYPE>")?;
            Err(Stop::Cut)
        }
        _ => Ok(usize::from(i)),
    }
}

/// Prints up to `n` bytes at `at` as tcpdump's `nd_printn` does (`M-` for the
/// high bit, `^` for control characters); cut if fewer were captured.
fn print_n<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, at: usize, n: usize) -> Step<()> {
    let avail = m.0.get(at..).unwrap_or(&[]);
    for &b in avail.iter().take(n) {
        write_tcpdump_char(out, b)?;
    }
    if avail.len() < n {
        return Err(Stop::Cut);
    }
    Ok(())
}

/// An EDNS bit-string label (`\[xHEX/BITS]`); the offset after it.
fn bit_label<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize) -> Step<usize> {
    let get = |at: usize| m.u8(at).map_err(|_| Stop::Abort);
    let bitlen = match get(cp)? {
        0 => 256,
        b => usize::from(b),
    };
    let lim = cp + 1 + bitlen.div_ceil(4);
    out.write_str("\\[x")?;
    let mut p = cp + 1;
    let mut b = bitlen;
    while p < lim && b > 7 {
        write!(out, "{:02x}", get(p)?)?;
        b -= 8;
        p += 1;
    }
    if b > 4 {
        let tc = get(p)?;
        write!(out, "{:02x}", tc & (0xffu8 << (8 - b)))?;
    } else if b > 0 {
        let tc = get(p)?;
        write!(out, "{:1x}", (tc >> 4) & (0x0fu8 << (4 - b)) & 0x0f)?;
    }
    write!(out, "/{bitlen}]")?;
    Ok(lim)
}

/// Prints the name at `cp` (tcpdump's `fqdn_print`), following compression
/// pointers only backwards; the offset after the name where it was stored.
fn name<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize) -> Step<usize> {
    name_from(out, m, cp, 0)
}

/// As [`name`], with compression pointers counted from `base` (tcpdump
/// passes the end of an EDNS CHAIN option there, which makes the limit on
/// pointers wrap around: its unsigned arithmetic is kept).
fn name_from<W: Write + ?Sized>(
    out: &mut W,
    m: Msg<'_>,
    mut cp: usize,
    base: usize,
) -> Step<usize> {
    let mut l = label_len(out, m, cp)?;
    let mut max_offset = (cp as u32).wrapping_sub(base as u32);
    let mut i = m.u8(cp)?;
    cp += 1;
    let mut compressed = false;
    let mut rp = 0;
    if i & 0xc0 != 0xc0 {
        rp = cp + l;
    }
    if i == 0 {
        out.write_char('.')?;
        return Ok(rp);
    }
    let mut chars = 0usize;
    while i != 0 && cp < m.end() {
        match i & 0xc0 {
            0xc0 => {
                if !compressed {
                    rp = cp + 1;
                    compressed = true;
                }
                let offset = u16::from_be_bytes([i, m.u8(cp)?]) & 0x3fff;
                if u32::from(offset) >= max_offset {
                    out.write_str("<BAD PTR>")?;
                    return Err(Stop::Cut);
                }
                max_offset = u32::from(offset);
                cp = base + usize::from(offset);
                i = m.u8(cp)?;
                l = label_len(out, m, cp)?;
                cp += 1;
                continue;
            }
            0x40 => {
                // label_len let only bit-string labels through.
                bit_label(out, m, cp)?;
            }
            _ => {
                if chars + l <= MAX_NAME {
                    print_n(out, m, cp, l)?;
                } else if chars < MAX_NAME {
                    print_n(out, m, cp, MAX_NAME - chars)?;
                }
                chars += l;
            }
        }
        cp += l;
        if chars <= MAX_NAME {
            out.write_char('.')?;
        }
        chars += 1;
        i = m.u8(cp)?;
        l = label_len(out, m, cp)?;
        cp += 1;
        if !compressed {
            rp += l + 1;
        }
    }
    if chars > MAX_NAME {
        out.write_str("<DOMAIN NAME TOO LONG>")?;
    }
    Ok(rp)
}

/// A `<character-string>`: `"text"`; the offset after it.
fn char_string<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize) -> Step<usize> {
    let n = usize::from(m.u8(cp)?);
    print_n(out, m, cp + 1, n)?;
    Ok(cp + 1 + n)
}

fn type_name<W: Write + ?Sized>(out: &mut W, t: u16) -> fmt::Result {
    match TYPES.iter().find(|(n, _)| *n == t) {
        Some((_, name)) => out.write_str(name),
        None => write!(out, "Type{t}"),
    }
}

fn class_name<W: Write + ?Sized>(out: &mut W, c: u16) -> fmt::Result {
    match c {
        1 => out.write_str("IN"),
        3 => out.write_str("CHAOS"),
        4 => out.write_str("HS"),
        255 => out.write_str("ANY"),
        _ => write!(out, "(Class {c})"),
    }
}

/// A question: ` TYPE[ CLASS]? name.`; the offset after it.
fn question<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, np: usize, mdns: bool) -> Step<usize> {
    let cp = skip_name(m, np).ok_or(Stop::Cut)?;
    if !m.has(cp, 4) {
        return Err(Stop::Cut);
    }
    out.write_char(' ')?;
    type_name(out, m.be16(cp)?)?;
    let raw = m.be16(cp + 2)?;
    let class = if mdns { raw & !C_MDNS_BIT } else { raw };
    if class != C_IN {
        out.write_char(' ')?;
        class_name(out, class)?;
    }
    if mdns {
        out.write_str(if raw & C_MDNS_BIT != 0 {
            " (QU)"
        } else {
            " (QM)"
        })?;
    }
    out.write_str("? ")?;
    Ok(name(out, m, np)? + 4)
}

/// An answer: ` TYPE data`; the offset after it (the end of the message
/// when its fixed part is not all there, as tcpdump's `ns_rprint`).
fn record<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize, mdns: bool) -> Step<usize> {
    let Some(mut cp) = skip_name(m, cp).filter(|&c| m.has(c, 10)) else {
        return Ok(m.end());
    };
    let typ = m.be16(cp)?;
    let raw = m.be16(cp + 2)?;
    cp += 4;
    let class = if mdns { raw & !C_MDNS_BIT } else { raw };
    if class != C_IN && typ != T_OPT {
        out.write_char(' ')?;
        class_name(out, class)?;
    }
    if mdns && raw & C_MDNS_BIT != 0 {
        out.write_str(" (Cache flush)")?;
    }
    let mut opt_flags = 0;
    if typ == T_OPT {
        opt_flags = m.be16(cp + 2)?;
    }
    cp += 4;
    let len = usize::from(m.be16(cp)?);
    cp += 2;
    let rp = cp + len;
    out.write_char(' ')?;
    type_name(out, typ)?;
    if rp > m.end() {
        return Err(Stop::Cut);
    }
    match typ {
        T_A => {
            let a = m.bytes(cp, 4)?;
            write!(out, " {}", Ipv4Addr::new(a[0], a[1], a[2], a[3]))?;
        }
        T_NS | T_CNAME | T_PTR | T_DNAME => {
            out.write_char(' ')?;
            name(out, m, cp)?;
        }
        T_SOA => {}
        T_MX => {
            // tcpdump puts the blank before it looks at the preference.
            out.write_char(' ')?;
            let pref = m.be16(cp)?;
            name(out, m, cp + 2)?;
            write!(out, " {pref}")?;
        }
        T_TXT => {
            let mut at = cp;
            while at < rp {
                out.write_str(" \"")?;
                at = char_string(out, m, at)?;
                out.write_char('"')?;
            }
        }
        T_SRV => {
            out.write_char(' ')?;
            if !m.has(cp, 6) {
                return Err(Stop::Cut);
            }
            name(out, m, cp + 6)?;
            write!(
                out,
                ":{} {} {}",
                m.be16(cp + 4)?,
                m.be16(cp)?,
                m.be16(cp + 2)?
            )?;
        }
        T_AAAA => {
            let a: [u8; 16] = m.bytes(cp, 16)?.try_into().map_err(|_| Stop::Cut)?;
            write!(out, " {}", Ip6(a))?;
        }
        T_A6 => {
            let pbit = usize::from(m.u8(cp)?);
            let pbyte = (pbit & !7) / 8;
            if pbit > 128 {
                write!(out, " {pbit}(bad plen)")?;
            } else {
                if pbit < 128 {
                    let mut a = [0u8; 16];
                    a[pbyte..].copy_from_slice(m.bytes(cp + 1, 16 - pbyte)?);
                    write!(out, " {pbit} {}", Ip6(a))?;
                }
                if pbit > 0 {
                    out.write_char(' ')?;
                    name(out, m, cp + 1 + 16 - pbyte)?;
                }
            }
        }
        T_URI => {
            m.bytes(cp, len)?;
            write!(out, " {} {} ", m.be16(cp)?, m.be16(cp + 2)?)?;
            // tcpdump's unsigned arithmetic: a record shorter than 4 bytes
            // prints the rest of the message and is cut.
            print_n(out, m, cp + 4, len.checked_sub(4).unwrap_or(usize::MAX))?;
        }
        T_OPT => {
            write!(out, " UDPsize={class}")?;
            if opt_flags & 0x8000 != 0 {
                out.write_str(" DO")?;
            }
            if cp < rp {
                out.write_str(" [")?;
                let mut at = cp;
                while at < rp {
                    at = edns_option(out, m, at)?;
                    if at < rp {
                        out.write_char(',')?;
                    }
                }
                out.write_char(']')?;
            }
        }
        T_UNSPECA => {
            m.bytes(cp, len)?;
            print_n(out, m, cp, len)?;
        }
        T_TSIG => {}
        _ => {}
    }
    Ok(rp)
}

/// One option of an OPT record; the offset after it.
fn edns_option<W: Write + ?Sized>(out: &mut W, m: Msg<'_>, cp: usize) -> Step<usize> {
    let opt = m.be16(cp)?;
    match EDNS_OPTIONS.iter().find(|(n, _)| *n == opt) {
        Some((_, name)) => out.write_str(name)?,
        None => write!(out, "Opt{opt}")?,
    }
    let data_len = usize::from(m.be16(cp + 2)?);
    let data = m.bytes(cp + 4, data_len)?;
    if data_len > 0 {
        out.write_char(' ')?;
        let invalid = |out: &mut W| out.write_str(" (invalid)");
        match opt {
            8 => client_subnet(out, data)?,
            10 => {
                if data_len < 8 || (data_len > 8 && data_len < 16) || data_len > 40 {
                    invalid(out)?;
                } else {
                    for (i, b) in data.iter().enumerate() {
                        if i == 8 {
                            out.write_char(' ')?;
                        }
                        write!(out, "{b:02x}")?;
                    }
                }
            }
            11 => match data {
                [a, b] => {
                    let tenths = u16::from_be_bytes([*a, *b]);
                    write!(out, "{:.1} sec", f64::from(tenths) / 10.0)?;
                }
                _ => invalid(out)?,
            },
            9 => match data {
                [a, b, c, d] => write!(out, "{} sec", u32::from_be_bytes([*a, *b, *c, *d]))?,
                _ => invalid(out)?,
            },
            12 => write!(out, "({data_len})")?,
            14 => {
                if data_len % 2 != 0 {
                    invalid(out)?;
                } else {
                    for (i, w) in data.chunks_exact(2).enumerate() {
                        if i > 0 {
                            out.write_char(' ')?;
                        }
                        write!(out, "{}", u16::from_be_bytes([w[0], w[1]]))?;
                    }
                }
            }
            5..=7 => {
                let table: &[(u8, &str)] = match opt {
                    5 => DNSSEC_ALGORITHMS,
                    6 => DS_HASHES,
                    _ => NSEC3_HASHES,
                };
                for (i, &b) in data.iter().enumerate() {
                    if i > 0 {
                        out.write_char(' ')?;
                    }
                    match table.iter().find(|(n, _)| *n == b) {
                        Some((_, name)) => out.write_str(name)?,
                        None => write!(out, "Alg_{b}")?,
                    }
                }
            }
            13 => {
                // A name whose failure tcpdump ignores (but not a jump).
                match name_from(out, m, cp + 4, cp + 4 + data_len) {
                    Ok(_) | Err(Stop::Cut) => {}
                    Err(e) => return Err(e),
                }
            }
            _ => {
                for b in data {
                    write!(out, "{b:02x}")?;
                }
            }
        }
    }
    Ok(cp + 4 + data_len)
}

/// EDNS client subnet: `address/source/scope`.
fn client_subnet<W: Write + ?Sized>(out: &mut W, data: &[u8]) -> fmt::Result {
    let invalid = |out: &mut W| out.write_str(" (invalid)");
    let [f0, f1, src, scope, addr @ ..] = data else {
        return invalid(out);
    };
    let bits = match u16::from_be_bytes([*f0, *f1]) {
        1 => 32,
        2 => 128,
        _ => return invalid(out),
    };
    let (src, scope) = (usize::from(*src), usize::from(*scope));
    if addr.len() > bits / 8 || src > bits || scope > bits || src.div_ceil(8) != addr.len() {
        return invalid(out);
    }
    let mut padded = [0u8; 16];
    padded[..addr.len()].copy_from_slice(addr);
    if bits == 32 {
        let a = Ipv4Addr::new(padded[0], padded[1], padded[2], padded[3]);
        write!(out, "{a}/{src}/{scope}")
    } else {
        write!(out, "{}/{src}/{scope}", Ip6(padded))
    }
}

/// tcpdump's opcode suffixes.
const OPCODES: [&str; 16] = [
    "",
    " inv_q",
    " stat",
    " op3",
    " notify",
    " update",
    " op6",
    " op7",
    " op8",
    " updateA",
    " updateD",
    " updateDA",
    " updateM",
    " updateMA",
    " zoneInit",
    " zoneRef",
];

/// tcpdump's response-code suffixes (two without their blank, as tcpdump has them).
const RCODES: [&str; 24] = [
    "",
    " FormErr",
    " ServFail",
    " NXDomain",
    " NotImp",
    " Refused",
    " YXDomain",
    " YXRRSet",
    " NXRRSet",
    " NotAuth",
    " NotZone",
    " Resp11",
    " Resp12",
    " Resp13",
    " Resp14",
    " NoChange",
    " BadVers",
    "Resp17",
    " Resp18",
    " Resp19",
    " Resp20",
    "Resp21",
    " Resp22",
    " BadCookie",
];

/// tcpdump's record type names.
const TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (3, "MD"),
    (4, "MF"),
    (5, "CNAME"),
    (6, "SOA"),
    (7, "MB"),
    (8, "MG"),
    (9, "MR"),
    (10, "NULL"),
    (11, "WKS"),
    (12, "PTR"),
    (13, "HINFO"),
    (14, "MINFO"),
    (15, "MX"),
    (16, "TXT"),
    (17, "RP"),
    (18, "AFSDB"),
    (19, "X25"),
    (20, "ISDN"),
    (21, "RT"),
    (22, "NSAP"),
    (23, "NSAP_PTR"),
    (24, "SIG"),
    (25, "KEY"),
    (26, "PX"),
    (27, "GPOS"),
    (28, "AAAA"),
    (29, "LOC"),
    (30, "NXT"),
    (31, "EID"),
    (32, "NIMLOC"),
    (33, "SRV"),
    (34, "ATMA"),
    (35, "NAPTR"),
    (36, "KX"),
    (37, "CERT"),
    (38, "A6"),
    (39, "DNAME"),
    (40, "SINK"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS"),
    (44, "SSHFP"),
    (45, "IPSECKEY"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (99, "SPF"),
    (100, "UINFO"),
    (101, "UID"),
    (102, "GID"),
    (103, "UNSPEC"),
    (104, "UNSPECA"),
    (249, "TKEY"),
    (250, "TSIG"),
    (251, "IXFR"),
    (252, "AXFR"),
    (253, "MAILB"),
    (254, "MAILA"),
    (255, "ANY"),
    (256, "URI"),
];

/// tcpdump's EDNS option names.
const EDNS_OPTIONS: &[(u16, &str)] = &[
    (1, "LLQ"),
    (2, "UL"),
    (3, "NSID"),
    (5, "DAU"),
    (6, "DHU"),
    (7, "N3U"),
    (8, "ECS"),
    (9, "EXPIRE"),
    (10, "COOKIE"),
    (11, "KEEPALIVE"),
    (12, "PADDING"),
    (13, "CHAIN"),
    (14, "KEY-TAG"),
    (16, "CLIENT-TAG"),
    (17, "SERVER-TAG"),
];

const DNSSEC_ALGORITHMS: &[(u8, &str)] = &[
    (0, "DELETE"),
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DS"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

const DS_HASHES: &[(u8, &str)] = &[
    (1, "SHA-1"),
    (2, "SHA-256"),
    (3, "GOST_R_34.11-94"),
    (4, "SHA-384"),
];

const NSEC3_HASHES: &[(u8, &str)] = &[(1, "SHA-1")];
