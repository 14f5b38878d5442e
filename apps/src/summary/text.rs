//! Line-based text protocols in a summary line, as `tcpdump -n` prints them
//! (its `txtproto_print` without `-v`): the protocol's name and, when the
//! payload starts with a whole printable line, that line. FTP, SMTP and whois
//! always qualify; HTTP and RTSP only when the first token is one of their
//! request methods or the second a 3-digit response code, so that the middle
//! of a body is not printed as if it were a request. Also SSH's version
//! banner, which tcpdump prints the same way.

use std::fmt::{self, Write};

/// A text protocol tcpdump recognises by its TCP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextProtocol {
    Ftp,
    Smtp,
    Whois,
    Http,
    Rtsp,
}

impl TextProtocol {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            TextProtocol::Ftp => ("FTP", "ftp"),
            TextProtocol::Smtp => ("SMTP", "smtp"),
            TextProtocol::Whois => ("WHOIS", "whois"),
            TextProtocol::Http => ("HTTP", "http"),
            TextProtocol::Rtsp => ("RTSP", "rtsp"),
        }
    }

    /// Request methods that make a payload a request (`None`: any payload
    /// is printed).
    fn methods(self) -> Option<&'static [&'static str]> {
        match self {
            TextProtocol::Http => Some(HTTP_METHODS),
            TextProtocol::Rtsp => Some(RTSP_METHODS),
            _ => None,
        }
    }
}

/// Longest token tcpdump compares with the methods (MAX_TOKEN).
const MAX_TOKEN: usize = 128;

/// Writes `payload` (the captured bytes of a TCP payload of `len` bytes on
/// the wire) as tcpdump's text-protocol printer does, after its ": ".
pub(super) fn write_text<W: Write + ?Sized>(
    out: &mut W,
    payload: &[u8],
    len: usize,
    protocol: TextProtocol,
) -> fmt::Result {
    let print_this = match protocol.methods() {
        None => true,
        Some(methods) => {
            let mut print_this = false;
            if let Some((first, idx)) = token(payload, 0, len) {
                print_this = methods
                    .iter()
                    .any(|m| m.as_bytes().eq_ignore_ascii_case(first));
                // The response code is the second token ("HTTP/1.1 200 OK").
                if let Some((code, _)) = token(payload, idx, len) {
                    if code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
                        print_this = true;
                    }
                }
            }
            print_this
        }
    };
    let (name, cut_name) = protocol.names();
    out.write_str(name)?;
    if print_this {
        first_line(out, payload, len, cut_name)?;
    }
    Ok(())
}

fn printable(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// The token at `idx` (printable ASCII up to a blank or line end) and the
/// index after the blanks that follow it, as tcpdump's `fetch_token`; `None`
/// for no token, one too long, or one with other bytes in it.
fn token(payload: &[u8], mut idx: usize, len: usize) -> Option<(&[u8], usize)> {
    let start = idx;
    while idx < len {
        let c = *payload.get(idx)?;
        if c >= 0x80 {
            return None;
        }
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            break;
        }
        if !printable(c) || idx - start + 2 > MAX_TOKEN + 1 {
            return None;
        }
        idx += 1;
    }
    if idx == start {
        return None;
    }
    let token = &payload[start..idx];
    while idx < len {
        let Some(&c) = payload.get(idx) else { break };
        if c == b'\r' || c == b'\n' || !printable(c) || c != b' ' {
            break;
        }
        idx += 1;
    }
    Some((token, idx))
}

/// How a payload's first line ends, as tcpdump's line scanners see it.
enum Line {
    /// At this index, an LF or a CR-LF.
    Ends(usize),
    /// Printable to the end of the payload, with no line end.
    Unended,
    /// Something other than printable ASCII (and tabs, where allowed), or a
    /// CR without LF: not printed.
    Binary,
    /// The captured bytes end first.
    Cut,
}

/// Scans the line from `start` in a payload of `len` bytes on the wire.
fn scan_line(payload: &[u8], start: usize, len: usize, tabs: bool) -> Line {
    let mut idx = start;
    while idx < len {
        let Some(&c) = payload.get(idx) else {
            return Line::Cut;
        };
        match c {
            b'\n' => return Line::Ends(idx),
            b'\r' => {
                if idx + 1 >= len {
                    return Line::Binary;
                }
                return match payload.get(idx + 1) {
                    None => Line::Cut,
                    Some(b'\n') => Line::Ends(idx),
                    Some(_) => Line::Binary,
                };
            }
            b'\t' if tabs => idx += 1,
            c if !printable(c) => return Line::Binary,
            _ => idx += 1,
        }
    }
    Line::Unended
}

fn write_ascii<W: Write + ?Sized>(out: &mut W, text: &[u8]) -> fmt::Result {
    text.iter().try_for_each(|&c| out.write_char(char::from(c)))
}

/// ": " and the payload's first line, as tcpdump's `print_txt_line`:
/// nothing if it holds other than printable ASCII and tabs, or a CR not
/// followed by LF; the line and `[|name]` if it has no end in the payload;
/// just `[|name]` if the captured bytes end first.
fn first_line<W: Write + ?Sized>(
    out: &mut W,
    payload: &[u8],
    len: usize,
    cut_name: &str,
) -> fmt::Result {
    match scan_line(payload, 0, len, true) {
        Line::Ends(end) => {
            out.write_str(": ")?;
            write_ascii(out, &payload[..end])
        }
        Line::Unended => {
            out.write_str(": ")?;
            write_ascii(out, &payload[..len])?;
            write!(out, " [|{cut_name}]")
        }
        Line::Binary => Ok(()),
        Line::Cut => write!(out, " [|{cut_name}]"),
    }
}

/// SSH's version banner (`SSH-2.0-…`), as tcpdump's `ssh_print`: `: SSH: `
/// and the banner when the payload starts with a whole printable line that
/// begins `SSH-`; nothing for anything else.
pub(super) fn write_ssh<W: Write + ?Sized>(out: &mut W, payload: &[u8], len: usize) -> fmt::Result {
    for (i, &want) in b"SSH-".iter().enumerate() {
        match payload.get(i) {
            None => return out.write_str(" [|ssh]"),
            Some(&c) if c != want => return Ok(()),
            Some(_) => {}
        }
    }
    match scan_line(payload, 4, len, false) {
        Line::Ends(end) => {
            out.write_str(": SSH: ")?;
            write_ascii(out, &payload[..end])
        }
        // No line end in the payload, or not text: tcpdump prints nothing.
        Line::Unended | Line::Binary => Ok(()),
        Line::Cut => out.write_str(" [|ssh]"),
    }
}

/// tcpdump's HTTP request methods.
const HTTP_METHODS: &[&str] = &[
    "GET",
    "PUT",
    "COPY",
    "HEAD",
    "LOCK",
    "MOVE",
    "POLL",
    "POST",
    "BCOPY",
    "BMOVE",
    "MKCOL",
    "TRACE",
    "LABEL",
    "MERGE",
    "DELETE",
    "SEARCH",
    "UNLOCK",
    "REPORT",
    "UPDATE",
    "NOTIFY",
    "BDELETE",
    "CONNECT",
    "OPTIONS",
    "CHECKIN",
    "PROPFIND",
    "CHECKOUT",
    "CCM_POST",
    "SUBSCRIBE",
    "PROPPATCH",
    "BPROPFIND",
    "BPROPPATCH",
    "UNCHECKOUT",
    "MKACTIVITY",
    "MKWORKSPACE",
    "UNSUBSCRIBE",
    "RPC_CONNECT",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
];

/// tcpdump's RTSP request methods.
const RTSP_METHODS: &[&str] = &[
    "DESCRIBE",
    "ANNOUNCE",
    "GET_PARAMETER",
    "OPTIONS",
    "PAUSE",
    "PLAY",
    "RECORD",
    "REDIRECT",
    "SETUP",
    "SET_PARAMETER",
    "TEARDOWN",
];
