//! tcpdump filter expressions, compiled by libpcap.
//!
//! libpcap's compiler is the only way to accept exactly tcpdump's language and
//! get exactly its answers, so [`Filter`] compiles with `pcap_compile` on a
//! "dead" Ethernet handle (through the `pcap` crate, which keeps the FFI out of
//! this crate) and runs the program with libpcap's BPF interpreter
//! (`pcap_offline_filter`) on each frame as received, before any snaplen.

#![forbid(unsafe_code)]

use std::fmt;
use std::path::Path;

use pcap::{BpfProgram, Capture, Linktype};

/// A compiled filter.
pub struct Filter {
    expression: String,
    program: BpfProgram,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("expression", &self.expression)
            .field("instructions", &self.program.get_instructions().len())
            .finish()
    }
}

/// Why an expression did not compile: libpcap's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// Compiles `expression` (optimized, as tcpdump does) for Ethernet frames.
    ///
    /// # Errors
    /// libpcap's message, such as `syntax error` or `unknown host 'x'`.
    pub fn compile(expression: &str) -> Result<Filter, FilterError> {
        let dead = Capture::dead(Linktype::ETHERNET).map_err(|e| FilterError(e.to_string()))?;
        let program = dead.compile(expression, true).map_err(|e| match e {
            pcap::Error::PcapError(msg) => FilterError(msg),
            other => FilterError(other.to_string()),
        })?;
        Ok(Filter {
            expression: expression.to_string(),
            program,
        })
    }

    /// The expression as compiled.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Whether the filter accepts `frame` (a whole Ethernet frame without FCS).
    #[inline]
    pub fn matches(&self, frame: &[u8]) -> bool {
        self.program.filter(frame)
    }
}

/// The expression given as trailing words (joined with spaces, as tcpdump
/// joins them), or `None` when there are none or only blanks.
pub fn expression_from_words(words: &[String]) -> Option<String> {
    let e = words.join(" ");
    (!e.trim().is_empty()).then_some(e)
}

/// Reads an expression from a file, as tcpdump's `-F` does: `#` starts a
/// comment that runs to the end of the line, and lines are joined.
///
/// # Errors
/// The file could not be read, or is not UTF-8.
pub fn expression_from_file(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(strip_comments(&text))
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp_frame(vlan: bool) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        // IPv4, 20-byte header, UDP, 10.0.0.2 -> 10.0.0.1
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1]);
        // UDP 1234 -> 53, length 8
        f.extend_from_slice(&[0x04, 0xd2, 0, 53, 0, 8, 0, 0]);
        f.resize(60, 0);
        f
    }

    #[test]
    fn matches_as_tcpdump_would() {
        let plain = udp_frame(false);
        let tagged = udp_frame(true);
        let f = Filter::compile("udp port 53 and host 10.0.0.1").unwrap();
        assert!(f.matches(&plain));
        assert!(
            !f.matches(&tagged),
            "without `vlan` the tag is not looked through"
        );
        assert!(Filter::compile("vlan and udp port 53")
            .unwrap()
            .matches(&tagged));
        assert!(!Filter::compile("tcp").unwrap().matches(&plain));
        assert!(
            Filter::compile("").unwrap().matches(&plain),
            "empty accepts all"
        );
        assert!(
            !Filter::compile("ip").unwrap().matches(&[0u8; 5]),
            "short frame"
        );
        assert_eq!(Filter::compile("udp").unwrap().expression(), "udp");
    }

    #[test]
    fn a_bad_expression_gets_libpcaps_message() {
        let e = Filter::compile("udp port").unwrap_err();
        assert!(e.0.contains("syntax error"), "{e}");
        let e = Filter::compile("port 99999").unwrap_err();
        assert!(e.0.contains("port"), "{e}");
    }

    #[test]
    fn words_and_files() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(expression_from_words(&w(&[])), None);
        assert_eq!(expression_from_words(&w(&[" "])), None);
        assert_eq!(
            expression_from_words(&w(&["udp", "and", "port 53"])).as_deref(),
            Some("udp and port 53")
        );
        assert_eq!(
            strip_comments("# web\ntcp port 80 # http\n  or arp\n"),
            "tcp port 80    or arp"
        );
    }

    /// Cost of libpcap's interpreter per packet, for the README:
    /// `cargo test --release -p igbpoll --lib filter_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn filter_cost() {
        let frame = udp_frame(false);
        for expr in [
            "",
            "tcp",
            "tcp port 80",
            "udp port 53 and host 10.0.0.9",
            "not ip",
        ] {
            let f = Filter::compile(expr).unwrap();
            let n = 20_000_000u32;
            let t = std::time::Instant::now();
            let mut kept = 0u32;
            for _ in 0..n {
                kept += u32::from(f.matches(std::hint::black_box(&frame)));
            }
            let ns = t.elapsed().as_nanos() as f64 / f64::from(n);
            println!("`{expr}`: {ns:.1} ns/packet, kept {kept} of {n}");
        }
    }
}
