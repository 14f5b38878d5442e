//! `serve` options.

use std::net::Ipv4Addr;

use clap::Args;

/// An IPv4 address with its prefix length, `10.0.0.2/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, 0..=32.
    pub prefix_len: u8,
}

/// Parses `ADDR/PREFIX`.
pub fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected ADDRESS/PREFIX, e.g. 10.0.0.2/24"))?;
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| format!("`{a}` is not an IPv4 address"))?;
    let prefix_len: u8 = p
        .parse()
        .ok()
        .filter(|&n| n <= 32)
        .ok_or_else(|| format!("`{p}` is not a prefix length (0..=32)"))?;
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(format!("{addr} cannot be an interface address"));
    }
    Ok(Ipv4Cidr { addr, prefix_len })
}

/// `serve` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sudo igbpoll --pci 0000:03:00.0 serve --ip 10.0.0.2/24 --udp-echo 7 --tcp-echo 7 --http 80\n  \
    sudo ip netns exec ns igbpoll --sim igb --tap tap0 serve --ip 10.9.0.2/24 --http 80 --stats\n\n\
    HTTP paths: `/` a short page, `/bytes/N` N bytes of a fixed pattern (byte i is i*131+7 mod 256, so\n  \
    a download can be checked without a copy), `POST /sha256` answers the SHA-256 of the request body.")]
pub struct ServeArgs {
    /// The stack's address and prefix length, e.g. 10.0.0.2/24.
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_cidr)]
    pub ip: Ipv4Cidr,

    /// The default gateway (must be on the --ip subnet); without it only
    /// on-link peers are reachable.
    #[arg(long, value_name = "ADDR")]
    pub gateway: Option<Ipv4Addr>,

    /// Echo UDP datagrams received on PORT back to their sender.
    #[arg(long, value_name = "PORT")]
    pub udp_echo: Option<u16>,

    /// Echo every byte received on TCP PORT back to the sender (RFC 862);
    /// closes after the peer does and everything was echoed.
    #[arg(long, value_name = "PORT")]
    pub tcp_echo: Option<u16>,

    /// Serve HTTP/1.1 on TCP PORT (see the paths below).
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,

    /// Read and discard everything received on TCP PORT (RFC 863): a sink for
    /// goodput measurements.
    #[arg(long, value_name = "PORT")]
    pub tcp_discard: Option<u16>,

    /// Pin the stack's thread (the one polling the NIC) to this CPU.
    #[arg(long, value_name = "N")]
    pub core: Option<usize>,

    /// Pin the services' thread (echo, HTTP, discard; it talks to the stack
    /// through igbpoll-ring) to this CPU.
    #[arg(long, value_name = "N")]
    pub app_core: Option<usize>,

    /// Print the stack's counters to stderr every second.
    #[arg(long)]
    pub stats: bool,

    /// Stop after SECONDS (default: until Ctrl-C/SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// Maximum segment lifetime in milliseconds: TIME-WAIT lasts twice this.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub msl_ms: u64,

    /// Minimum TCP retransmission timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    pub rto_min_ms: u64,

    /// TCP receive and send buffer per connection, in KiB.
    #[arg(long, value_name = "KIB", default_value_t = 512)]
    pub tcp_buffer_kib: usize,

    /// Transmit and receive descriptors per ring (power of two, 8..=4096).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub ring: usize,

    /// Seed of the stack's random choices (initial sequence numbers, ports).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_refuses() {
        let c = parse_cidr("10.0.0.2/24").unwrap();
        assert_eq!(c.addr, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(c.prefix_len, 24);
        assert!(parse_cidr("10.0.0.2")
            .unwrap_err()
            .contains("ADDRESS/PREFIX"));
        assert!(parse_cidr("10.0.0.2/33").unwrap_err().contains("prefix"));
        assert!(parse_cidr("10.0.0/8").unwrap_err().contains("not an IPv4"));
        assert!(parse_cidr("0.0.0.0/0").is_err());
        assert!(parse_cidr("224.0.0.1/4").is_err());
    }
}
