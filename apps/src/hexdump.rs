//! tcpdump's packet dumps under the summary line: `-x` (hex), `-X` (hex and
//! ASCII), doubled (`-xx`, `-XX`) to include the link-level header, and `-A`
//! (ASCII). The output is tcpdump's byte for byte (a test compares it with
//! tcpdump's when tcpdump is installed).
//!
//! ```text
//! (the dump lines start with a tab)
//! 12:34:56.789012 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 60: ...
//!         0x0000:  4500 002e 0000 4000 4011 26b4 0a00 0001  E.....@.@.&.....
//! ```
//!
//! Every length comes from the captured bytes, so no frame can make it panic.

#![forbid(unsafe_code)]

use std::fmt::{self, Write};

use crate::summary::{ethertype_name, is_vlan};

/// Bytes per dump line.
const BYTES_PER_LINE: usize = 16;
/// Width of a full line's hex part: eight groups of " hhhh".
const HEX_WIDTH: usize = 40;

/// Which dump follows each summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    /// Hex (`-x`; `-xx` with the link-level header).
    Hex {
        /// Include the link-level header.
        link: bool,
    },
    /// Hex and ASCII (`-X`; `-XX` with the link-level header).
    HexAscii {
        /// Include the link-level header.
        link: bool,
    },
    /// ASCII without the link-level header (`-A`).
    Ascii,
}

impl Dump {
    /// The dump tcpdump's flags ask for: `-X` wins over `-x`, which wins over
    /// `-A`; a flag given twice includes the link-level header.
    pub fn from_flags(x: u8, big_x: u8, ascii: bool) -> Option<Dump> {
        if big_x > 0 {
            Some(Dump::HexAscii { link: big_x > 1 })
        } else if x > 0 {
            Some(Dump::Hex { link: x > 1 })
        } else if ascii {
            Some(Dump::Ascii)
        } else {
            None
        }
    }
}

/// The payload tcpdump dumps in hex and ASCII after the summary line when no
/// `-x`/`-X` is given: that of an ethertype it does not know.
pub fn default_print(frame: &[u8]) -> Option<&[u8]> {
    let len = link_header_len(frame);
    let ethertype = frame.get(len.checked_sub(2)?..len)?;
    let ethertype = u16::from_be_bytes([ethertype[0], ethertype[1]]);
    (ethertype >= 0x0600 && ethertype_name(ethertype) == "Unknown").then(|| &frame[len..])
}

/// The link-level header's length as tcpdump counts it: the Ethernet header
/// and every VLAN tag after it, or the whole frame when it is cut inside them.
pub fn link_header_len(frame: &[u8]) -> usize {
    let be16 = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let Some(mut ethertype) = be16(12) else {
        return frame.len();
    };
    let mut len = 14;
    while is_vlan(ethertype) {
        match be16(len + 2) {
            Some(inner) => {
                ethertype = inner;
                len += 4;
            }
            None => return frame.len(),
        }
    }
    len
}

/// Writes what tcpdump prints after the summary line of `frame` (the captured
/// bytes), which it does not end: the dump `dump` asks for, or without `-x`
/// and `-X` the hex dump of an unknown ethertype's payload (then `-A`'s ASCII).
/// Each line of a hex dump starts with a newline and a tab.
///
/// # Errors
/// Only those of `out`.
pub fn write_dump<W: Write + ?Sized>(out: &mut W, dump: Option<Dump>, frame: &[u8]) -> fmt::Result {
    let payload = || frame.get(link_header_len(frame)..).unwrap_or(&[]);
    match dump {
        Some(Dump::Hex { link }) => write_hex(out, if link { frame } else { payload() }, false),
        Some(Dump::HexAscii { link }) => write_hex(out, if link { frame } else { payload() }, true),
        None | Some(Dump::Ascii) => {
            if let Some(p) = default_print(frame) {
                write_hex(out, p, true)?;
            }
            if dump.is_some() && !payload().is_empty() {
                write_ascii(out, payload())?;
            }
            Ok(())
        }
    }
}

/// tcpdump's printable characters: graphic ASCII, not the space.
fn is_graph(b: u8) -> bool {
    b > 0x20 && b <= 0x7e
}

fn write_hex<W: Write + ?Sized>(out: &mut W, bytes: &[u8], ascii: bool) -> fmt::Result {
    let mut hex = String::with_capacity(HEX_WIDTH);
    for (line, chunk) in bytes.chunks(BYTES_PER_LINE).enumerate() {
        hex.clear();
        for pair in chunk.chunks(2) {
            match *pair {
                [a, b] => write!(hex, " {a:02x}{b:02x}")?,
                [a] => write!(hex, " {a:02x}")?,
                _ => {}
            }
        }
        write!(out, "\n\t0x{:04x}: ", line * BYTES_PER_LINE)?;
        if ascii {
            write!(out, "{hex:<HEX_WIDTH$}  ")?;
            for &b in chunk {
                out.write_char(if is_graph(b) { char::from(b) } else { '.' })?;
            }
        } else {
            out.write_str(&hex)?;
        }
    }
    Ok(())
}

fn write_ascii<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> fmt::Result {
    out.write_char('\n')?;
    for (i, &b) in bytes.iter().enumerate() {
        let left = bytes.len() - i - 1;
        match b {
            // A CR is left out before a LF and at the very end, as tcpdump
            // does (its test is on the bytes left after this one).
            b'\r' => {
                if left > 1 && bytes[i + 1] != b'\n' {
                    out.write_char('.')?;
                }
            }
            b'\t' | b' ' | b'\n' => out.write_char(char::from(b))?,
            _ if is_graph(b) => out.write_char(char::from(b))?,
            _ => out.write_char('.')?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::write_summary;

    fn dump(d: Dump, frame: &[u8]) -> String {
        let mut s = String::new();
        write_dump(&mut s, Some(d), frame).unwrap();
        s
    }

    #[test]
    fn link_header_counts_every_tag() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45; 20]);
        assert_eq!(link_header_len(&f), 14);
        let mut q = vec![0u8; 12];
        q.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00, 0x45]);
        assert_eq!(link_header_len(&q), 22);
        // Cut inside the header or a tag: all of it is header.
        assert_eq!(link_header_len(&q[..19]), 19);
        assert_eq!(link_header_len(&f[..10]), 10);
        assert_eq!(link_header_len(&[]), 0);
    }

    #[test]
    fn hex_lines_are_tcpdumps() {
        let f: Vec<u8> = (0u8..14).chain(0x41..0x41 + 19).collect();
        assert_eq!(
            dump(Dump::Hex { link: false }, &f),
            "\n\t0x0000:  4142 4344 4546 4748 494a 4b4c 4d4e 4f50\n\t0x0010:  5152 53"
        );
        assert_eq!(
            dump(Dump::HexAscii { link: false }, &f),
            "\n\t0x0000:  4142 4344 4546 4748 494a 4b4c 4d4e 4f50  ABCDEFGHIJKLMNOP\
             \n\t0x0010:  5152 53                                  QRS"
        );
        assert!(dump(Dump::Hex { link: true }, &f).starts_with("\n\t0x0000:  0001 0203"));
        // Nothing after the header: no dump (and no panic on any cut).
        assert_eq!(dump(Dump::Hex { link: false }, &f[..14]), "");
        for n in 0..f.len() {
            for d in [
                Dump::Hex { link: false },
                Dump::HexAscii { link: true },
                Dump::Ascii,
            ] {
                dump(d, &f[..n]);
            }
        }
    }

    #[test]
    fn unknown_ethertypes_get_the_default_dump() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xb5, b'h', b'i']);
        let mut s = String::new();
        write_dump(&mut s, None, &f).unwrap();
        assert_eq!(
            s,
            "\n\t0x0000:  6869                                     hi"
        );
        // Known ethertypes and 802.3 lengths get none.
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(default_print(&f), None);
        f[12..14].copy_from_slice(&[0x00, 0x40]);
        assert_eq!(default_print(&f), None);
        assert_eq!(default_print(&f[..5]), None);
    }

    #[test]
    fn ascii_drops_cr_as_tcpdump_does() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(b"a\r\nb\rc\x01\td \r");
        assert_eq!(dump(Dump::Ascii, &f), "\na\nb.c.\td ");
    }

    /// Compares every dump with real tcpdump's when it is installed.
    #[test]
    fn matches_tcpdump() {
        use crate::pcap_writer::{Frame, PcapWriter, Resolution};
        let frames: Vec<Vec<u8>> = crate::summary::tests::cases()
            .into_iter()
            .map(|(f, _)| f)
            .chain([vec![0xab; 9], {
                let mut f = vec![2u8; 12];
                f.extend_from_slice(&[0x08, 0x00]);
                f.extend((0..=255u8).cycle().take(301));
                f
            }])
            .collect();
        let path =
            std::env::temp_dir().join(format!("igbpoll-{}-hexdump.pcap", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = PcapWriter::new(file, 0, Resolution::Micros).unwrap();
        let ts = 1_700_000_000_123_456_000;
        let records: Vec<Frame<'_>> = frames.iter().map(|f| Frame::new(ts, f)).collect();
        writer.write_batch(&records).unwrap();
        drop(writer.finish());
        for (flag, d) in [
            ("-x", Some(Dump::Hex { link: false })),
            ("-xx", Some(Dump::Hex { link: true })),
            ("-X", Some(Dump::HexAscii { link: false })),
            ("-XX", Some(Dump::HexAscii { link: true })),
            ("-A", Some(Dump::Ascii)),
            ("-S", None),
        ] {
            let output = std::process::Command::new("tcpdump")
                .args(["-n", "-e", "-S", flag, "-r"])
                .arg(&path)
                .env("TZ", "UTC")
                .output();
            let output = match output {
                Ok(o) if o.status.success() => o,
                Ok(o) => panic!("tcpdump failed: {}", String::from_utf8_lossy(&o.stderr)),
                Err(e) => {
                    println!("note: tcpdump not runnable ({e}); skipping comparison");
                    break;
                }
            };
            let theirs = String::from_utf8_lossy(&output.stdout);
            let mut ours = String::new();
            for f in &frames {
                write_summary(&mut ours, ts, f, f.len()).unwrap();
                write_dump(&mut ours, d, f).unwrap();
                ours.push('\n');
            }
            let (ours, theirs): (Vec<&str>, Vec<&str>) =
                (ours.lines().collect(), theirs.lines().collect());
            let diff: Vec<String> = ours
                .iter()
                .zip(&theirs)
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("ours:    {a:?}\ntcpdump: {b:?}"))
                .take(10)
                .collect();
            assert!(diff.is_empty(), "{flag}:\n{}", diff.join("\n"));
            assert_eq!(ours.len(), theirs.len(), "{flag}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}
