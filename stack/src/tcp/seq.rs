//! Sequence-space helpers and initial sequence numbers.

use crate::time::Instant;
use crate::wire::{Ipv4Addr, TcpSeqNumber as Seq};

/// Bytes from `from` to `to` (`to` at or after `from`); zero otherwise.
#[inline]
pub(crate) fn span(from: Seq, to: Seq) -> usize {
    let d = to.diff(from);
    if d > 0 {
        d as usize
    } else {
        0
    }
}

/// `seq + n` for a byte count that fits the sequence space.
#[inline]
pub(crate) fn add(seq: Seq, n: usize) -> Seq {
    seq.wrapping_add(n as u32)
}

/// The later of two sequence numbers.
#[inline]
pub(crate) fn max(a: Seq, b: Seq) -> Seq {
    if a.ge(b) {
        a
    } else {
        b
    }
}

/// Initial sequence numbers, RFC 9293 §3.4.1 / RFC 6528: a clock ticking
/// every 4 µs plus a keyed hash of the 4-tuple, the key derived from a seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IsnGenerator {
    k0: u64,
    k1: u64,
}

/// A 64-bit finaliser (multiply-xorshift mixing).
#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

impl IsnGenerator {
    pub(crate) fn new(seed: u64) -> IsnGenerator {
        let k0 = mix(seed ^ 0x5eed_0f15_0000_0001);
        let k1 = mix(k0 ^ seed.rotate_left(29) ^ 0x7cb3_0000_0000_0002);
        IsnGenerator { k0, k1 }
    }

    /// The ISN for a connection from `local` to `remote` at `now`.
    pub(crate) fn isn(&self, local: (Ipv4Addr, u16), remote: (Ipv4Addr, u16), now: Instant) -> Seq {
        let a = (u64::from(u32::from(local.0)) << 32) | u64::from(u32::from(remote.0));
        let b = (u64::from(local.1) << 16) | u64::from(remote.1);
        let h = mix(mix(a ^ self.k0).wrapping_add(b) ^ self.k1);
        let clock = (now.total_micros() / 4) as u32;
        Seq((h as u32).wrapping_add(clock))
    }

    /// A pseudo-random 64-bit value from the key (ephemeral port start).
    pub(crate) fn scramble(&self, x: u64) -> u64 {
        mix(x ^ self.k1)
    }
}
