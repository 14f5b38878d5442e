//! The interface: Ethernet, ARP, IPv4, ICMP, UDP, and dispatch to TCP. Being written.
