//! TFTP in a summary line, as `tcpdump -n` prints it (`print-tftp.c`):
//! `TFTP, length N, RRQ "file" octet`, the block of a DATA or ACK, the code
//! and text of an ERROR, the options of an OACK; `[|tftp]` where the bytes
//! run out.

use std::fmt::{self, Write};

use super::{end_line, write_tcpdump_char, Stop};

/// Writes the TFTP message `payload` (captured bytes of a UDP payload of
/// `length` bytes) as tcpdump does after the ports.
pub(super) fn write_tftp<W: Write + ?Sized>(
    out: &mut W,
    payload: &[u8],
    length: usize,
) -> fmt::Result {
    write!(out, "TFTP, length {length}")?;
    let r = message(out, payload, length);
    end_line(out, r, "tftp")
}

fn be16(p: &[u8], at: usize) -> Result<u16, Stop> {
    match (p.get(at), p.get(at + 1)) {
        (Some(&a), Some(&b)) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Stop::Cut),
    }
}

/// A NUL-terminated string of at most `n` bytes at `at`, printed as
/// tcpdump's `nd_printztn`; the bytes it took with its NUL, or 0 if the
/// message or the captured bytes end first.
fn string<W: Write + ?Sized>(
    out: &mut W,
    p: &[u8],
    mut at: usize,
    mut n: usize,
) -> Result<usize, Stop> {
    let mut bytes = 0;
    loop {
        let Some(&c) = p.get(at).filter(|_| n > 0) else {
            return Ok(0);
        };
        at += 1;
        bytes += 1;
        n -= 1;
        if c == 0 {
            return Ok(bytes);
        }
        write_tcpdump_char(out, c)?;
    }
}

/// ` "string"`: the bytes it took, or cut (after the closing quote, as
/// tcpdump prints it) if it has no end.
fn quoted<W: Write + ?Sized>(out: &mut W, p: &[u8], at: usize, n: usize) -> Result<usize, Stop> {
    out.write_str(" \"")?;
    let took = string(out, p, at, n)?;
    out.write_char('"')?;
    if took == 0 {
        return Err(Stop::Cut);
    }
    Ok(took)
}

/// Options: NUL-terminated strings, a blank before each that is not empty.
fn options<W: Write + ?Sized>(
    out: &mut W,
    p: &[u8],
    mut at: usize,
    mut left: usize,
) -> Result<(), Stop> {
    while left != 0 {
        if *p.get(at).ok_or(Stop::Cut)? != 0 {
            out.write_char(' ')?;
        }
        let took = string(out, p, at, left)?;
        if took == 0 {
            return Err(Stop::Cut);
        }
        at += took;
        left -= took;
    }
    Ok(())
}

fn message<W: Write + ?Sized>(out: &mut W, p: &[u8], length: usize) -> Result<(), Stop> {
    if length < 2 {
        return Err(Stop::Cut);
    }
    let opcode = be16(p, 0)?;
    let Some(name) =
        ["RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"].get(usize::from(opcode).wrapping_sub(1))
    else {
        // An unknown opcode ends the line.
        write!(out, ", tftp-#{opcode}")?;
        return Ok(());
    };
    write!(out, ", {name}")?;
    let (mut at, mut left) = (2, length - 2);
    match opcode {
        1 | 2 => {
            if left == 0 {
                return Err(Stop::Cut);
            }
            let took = quoted(out, p, at, left)?;
            at += took;
            left -= took;
            // The mode.
            if left == 0 {
                return Err(Stop::Cut);
            }
            out.write_char(' ')?;
            let took = string(out, p, at, left)?;
            if took == 0 {
                return Err(Stop::Cut);
            }
            options(out, p, at + took, left - took)
        }
        6 => options(out, p, at, left),
        3 | 4 => {
            if left < 2 {
                return Err(Stop::Cut);
            }
            write!(out, " block {}", be16(p, at)?)?;
            Ok(())
        }
        _ => {
            if left < 2 {
                return Err(Stop::Cut);
            }
            let code = be16(p, at)?;
            match ERRORS.get(usize::from(code)) {
                Some(e) => write!(out, " {e}")?,
                // tcpdump's format for an unknown code, quote and all.
                None => write!(out, " tftp-err-#{code} \"")?,
            }
            at += 2;
            left -= 2;
            if left == 0 {
                return Err(Stop::Cut);
            }
            quoted(out, p, at, left).map(|_| ())
        }
    }
}

/// tcpdump's names of the error codes.
const ERRORS: [&str; 8] = [
    "EUNDEF",
    "ENOTFOUND",
    "EACCESS",
    "ENOSPACE",
    "EBADOP",
    "EBADID",
    "EEXISTS",
    "ENOUSER",
];
