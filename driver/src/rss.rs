//! Receive-side scaling settings: the Toeplitz key, the redirection table and
//! the hash fields the driver programs when it opens several receive queues.
//!
//! A frame's queue is `RETA[hash & 0x7F]`, where `hash` is the Toeplitz hash of
//! its source and destination addresses (and, for TCP and UDP, ports) under
//! the key. Non-IP frames land on queue 0.

use crate::regs::igb::{mrqc, RETA_ENTRIES, RSS_KEY_LEN};

/// The key of Microsoft's RSS verification suite, which Linux drivers and
/// DPDK also use as their well-known default: hashes can be checked against
/// the published examples.
pub const DEFAULT_KEY: [u8; RSS_KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// MRQC hash fields the driver enables: IPv4 and IPv6 addresses, plus ports for
/// TCP and UDP over either (the "Ex" variants too, which QEMU's model reads
/// for TCP over IPv6).
pub const HASH_FIELDS: u32 = mrqc::TCP_IPV4
    | mrqc::IPV4
    | mrqc::UDP_IPV4
    | mrqc::IPV6
    | mrqc::IPV6_EX
    | mrqc::TCP_IPV6
    | mrqc::TCP_IPV6_EX
    | mrqc::UDP_IPV6;

/// A redirection table dealing `queues` round-robin: entry `i` is `i % queues`.
pub fn round_robin_reta(queues: u16) -> [u8; RETA_ENTRIES] {
    let q = queues.max(1) as usize;
    std::array::from_fn(|i| (i % q) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reta_spreads_evenly() {
        for q in [1u16, 2, 4, 8, 16] {
            let t = round_robin_reta(q);
            for n in 0..q {
                let hits = t.iter().filter(|&&e| u16::from(e) == n).count();
                assert_eq!(hits, RETA_ENTRIES / q as usize);
            }
        }
    }
}
