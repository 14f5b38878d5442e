//! The interface's configuration.

use std::time::Duration;

use super::{ArpConfig, ReassemblyConfig, UdpConfig};
use crate::tcp::TcpConfig;
use crate::wire::Ipv4Addr;

/// How an [`Interface`](super::Interface) is set up. [`InterfaceConfig::new`] fills in the
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Our MAC address.
    pub mac: [u8; 6],
    /// Our IPv4 address.
    pub ip: Ipv4Addr,
    /// The subnet's prefix length (0 to 32).
    pub prefix_len: u8,
    /// The router for destinations off the subnet (none: they are dropped
    /// and counted as `tx_no_route`).
    pub gateway: Option<Ipv4Addr>,
    /// The 802.1Q VLAN the interface is on. `None`: tagged frames (other
    /// than priority tags, VLAN 0) are dropped. `Some(id)`: frames tagged
    /// with `id` are accepted too, and the interface's own ARP requests and
    /// broadcasts carry that tag.
    pub vlan_id: Option<u16>,
    /// Time to live of the packets sent.
    pub ttl: u8,
    /// The ARP cache.
    pub arp: ArpConfig,
    /// IPv4 reassembly.
    pub reassembly: ReassemblyConfig,
    /// UDP sockets.
    pub udp: UdpConfig,
    /// TCP.
    pub tcp: TcpConfig,
    /// ICMP errors that may be sent in a burst.
    pub icmp_error_burst: u32,
    /// One more ICMP error may be sent per this interval (zero: no limit).
    pub icmp_error_interval: Duration,
}

impl InterfaceConfig {
    /// A configuration for `mac` and `ip`/`prefix_len` with no gateway, no
    /// VLAN, TTL 64, and the default ARP, reassembly, UDP and TCP settings; ICMP
    /// errors at most 10 at once and 10 per second.
    pub fn new(mac: [u8; 6], ip: Ipv4Addr, prefix_len: u8) -> InterfaceConfig {
        InterfaceConfig {
            mac,
            ip,
            prefix_len,
            gateway: None,
            vlan_id: None,
            ttl: 64,
            arp: ArpConfig::default(),
            reassembly: ReassemblyConfig::default(),
            udp: UdpConfig::default(),
            tcp: TcpConfig::default(),
            icmp_error_burst: 10,
            icmp_error_interval: Duration::from_millis(100),
        }
    }
}
