//! The interface's counters: everything received, sent and dropped, by reason.

macro_rules! counters {
    ($( $(#[doc = $doc:literal])+ $name:ident ),* $(,)?) => {
        /// Counters of the interface, by event and drop reason. A `Copy`
        /// snapshot; [`IfaceStats::iter`] yields `(name, value)` pairs that
        /// read well printed as `name value`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct IfaceStats {
            $( $(#[doc = $doc])+ pub $name: u64, )*
        }

        impl IfaceStats {
            /// Every counter's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$( stringify!($name) ),*];

            /// `(name, value)` for every counter, in declaration order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$( (stringify!($name), self.$name) ),*].into_iter()
            }
        }
    };
}

counters! {
    /// Frames handed to `receive`.
    rx_frames,
    /// Frames dropped: shorter than the Ethernet header (and tag).
    rx_eth_truncated,
    /// Frames dropped: addressed to another unicast or a multicast MAC.
    rx_eth_not_for_us,
    /// Frames dropped: sent from our own MAC or a multicast source.
    rx_eth_bad_source,
    /// Frames dropped: 802.1Q tag whose VLAN is not ours (or no VLAN configured).
    rx_vlan_mismatch,
    /// Frames dropped: a second VLAN tag (QinQ).
    rx_vlan_stacked,
    /// Frames dropped: EtherType neither IPv4 nor ARP.
    rx_unknown_ethertype,
    /// ARP packets received (well formed Ethernet/IPv4).
    rx_arp,
    /// ARP dropped: shorter than its addresses.
    rx_arp_truncated,
    /// ARP dropped: hardware/protocol other than Ethernet/IPv4, or an unknown operation.
    rx_arp_unsupported,
    /// ARP dropped: the sender claims our address (a conflict) or an invalid one.
    rx_arp_bad_sender,
    /// ARP requests for our address answered.
    arp_requests_answered,
    /// ARP entries created or updated from received ARP.
    arp_learned,
    /// ARP requests sent to resolve an address (retries included).
    arp_requests_sent,
    /// Gratuitous ARP announcements sent.
    arp_announcements_sent,
    /// Addresses whose resolution failed after every retry.
    arp_resolution_failed,
    /// Packets dropped: waiting for an address whose resolution failed.
    arp_dropped_unresolved,
    /// Packets dropped: the queue of an unresolved address was full.
    arp_dropped_queue_full,
    /// Packets dropped: the ARP cache was full of unresolved addresses.
    arp_dropped_cache_full,
    /// Resolved entries evicted to make room.
    arp_evicted,
    /// IPv4 packets received (header parsed).
    rx_ipv4,
    /// IPv4 dropped: shorter than the header or than its total length.
    rx_ipv4_truncated,
    /// IPv4 dropped: version not 4, IHL below 5, or total length below the header.
    rx_ipv4_malformed,
    /// IPv4 dropped: header checksum mismatch.
    rx_ipv4_bad_checksum,
    /// IPv4 dropped: broadcast, multicast, loopback or our own source address.
    rx_ipv4_bad_source,
    /// IPv4 dropped: destination neither ours nor a broadcast.
    rx_ipv4_not_for_us,
    /// IPv4 dropped: protocol neither ICMP, UDP nor TCP.
    rx_ipv4_unknown_protocol,
    /// IPv4 fragments received.
    rx_frags,
    /// Datagrams reassembled from fragments.
    frag_reassembled,
    /// Fragmented datagrams dropped: a fragment overlapped another.
    frag_dropped_overlap,
    /// Fragments dropped (with their datagram): ending past the reassembly bound.
    frag_dropped_too_big,
    /// Fragments dropped: inconsistent (a non-final fragment not a multiple of
    /// 8 bytes, data past the final fragment's end, too many fragments).
    frag_dropped_malformed,
    /// Fragmented datagrams dropped: not complete before the timeout.
    frag_dropped_timeout,
    /// Fragments dropped: too many datagrams already in reassembly.
    frag_dropped_table_full,
    /// ICMP messages received.
    rx_icmp,
    /// ICMP dropped: shorter than its header, or malformed.
    rx_icmp_malformed,
    /// ICMP dropped: checksum mismatch.
    rx_icmp_bad_checksum,
    /// Echo requests answered.
    icmp_echo_answered,
    /// Echo requests ignored: sent to a broadcast address.
    icmp_echo_broadcast_ignored,
    /// Echo requests dropped: the reply would not fit in one frame.
    icmp_echo_too_big,
    /// Other ICMP messages (echo replies, errors, unknown types), counted and ignored.
    icmp_other_ignored,
    /// Port unreachable messages sent.
    icmp_port_unreachable_sent,
    /// Port unreachable messages not sent: rate limit.
    icmp_rate_limited,
    /// UDP datagrams received (checksum verified).
    rx_udp,
    /// UDP dropped: shorter than the header or its length field, or port 0.
    rx_udp_malformed,
    /// UDP dropped: checksum mismatch.
    rx_udp_bad_checksum,
    /// UDP dropped: no socket bound to the port.
    rx_udp_no_socket,
    /// UDP dropped: the socket's receive queue was full.
    rx_udp_queue_full,
    /// UDP datagrams delivered to a socket.
    udp_delivered,
    /// UDP datagrams sent.
    tx_udp,
    /// TCP segments received and handed to TCP.
    rx_tcp,
    /// TCP dropped: malformed header.
    rx_tcp_malformed,
    /// TCP dropped: checksum mismatch.
    rx_tcp_bad_checksum,
    /// TCP dropped: sent to a broadcast address.
    rx_tcp_broadcast,
    /// TCP segments sent (or waiting for ARP).
    tx_tcp,
    /// TCP segments not sent: to a broadcast, multicast or unspecified address.
    tx_tcp_bad_destination,
    /// Frames handed to the device.
    tx_frames,
    /// Bytes handed to the device (padding included).
    tx_bytes,
    /// Frames not sent: the device had no room.
    tx_device_full,
    /// Packets dropped on output: no route (off-link and no gateway).
    tx_no_route,
    /// Packets dropped on output: larger than the MTU allows.
    tx_too_big,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iter_names_and_values_line_up() {
        let stats = IfaceStats {
            rx_frames: 3,
            tx_too_big: 9,
            ..IfaceStats::default()
        };
        let all: Vec<_> = stats.iter().collect();
        assert_eq!(all.len(), IfaceStats::NAMES.len());
        assert_eq!(all[0], ("rx_frames", 3));
        assert_eq!(*all.last().unwrap(), ("tx_too_big", 9));
        assert_eq!(all.iter().map(|(_, v)| v).sum::<u64>(), 12);
    }
}
