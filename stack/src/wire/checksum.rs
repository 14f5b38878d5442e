//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header.
//!
//! [`data`] and [`pseudo_header`] return the folded one's-complement *sum*
//! (not yet inverted); [`combine`] adds partial sums; the value written into a
//! header is the complement of the final sum, as returned by [`checksum`].
//! A received header verifies when the sum over it (checksum field included)
//! is `0xffff`.

use super::Ipv4Addr;

/// Folds a 32-bit accumulator into a 16-bit one's-complement sum.
#[inline]
fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One's-complement sum of `bytes` taken as big-endian 16-bit words; an odd
/// final byte is padded with a zero byte.
pub fn data(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        // Keep the accumulator from overflowing on very long inputs.
        if sum >= 0x8000_0000 {
            sum = u32::from(fold(sum));
        }
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    fold(sum)
}

/// One's-complement sum of partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u32::from(s)).sum())
}

/// One's-complement sum of the IPv4 pseudo-header used by UDP and TCP
/// (RFC 768): source, destination, zero, protocol, upper-layer length.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    combine(&[
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(protocol),
        length,
    ])
}

/// The checksum to write into a header whose other bytes are `bytes` (with the
/// checksum field itself zero): the complement of [`data`].
pub fn checksum(bytes: &[u8]) -> u16 {
    !data(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(checksum(&bytes), 0x220d);
        // Byte-order independence (RFC 1071 1.2.B): swapped input, swapped sum.
        let swapped = [0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6];
        assert_eq!(data(&swapped), 0xf2dd);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(data(&[0x00, 0x01, 0xf2]), 0xf201);
    }

    #[test]
    fn empty_and_carry() {
        assert_eq!(data(&[]), 0);
        // ffff + 0001 = 1_0000 -> folds to 0001.
        assert_eq!(data(&[0xff, 0xff, 0x00, 0x01]), 0x0001);
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
    }

    #[test]
    fn long_input_does_not_overflow() {
        let bytes = vec![0xffu8; 1 << 20];
        assert_eq!(data(&bytes), 0xffff);
    }

    #[test]
    fn known_ipv4_header() {
        // The classic example header (Wikipedia "IPv4 header checksum"):
        // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(data(&hdr), 0xffff);
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(checksum(&zeroed), 0xb861);
    }

    #[test]
    fn pseudo_header_sum() {
        let sum = pseudo_header(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            17,
            12,
        );
        // 0a00 + 0001 + 0a00 + 0002 + 0011 + 000c = 1401 + 0001 + 0002 + 0011 + 000c
        assert_eq!(sum, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x000c);
    }
}
