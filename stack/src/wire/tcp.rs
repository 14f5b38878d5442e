//! TCP segments (RFC 9293) with the IPv4 pseudo-header checksum, and the
//! options the stack speaks: MSS, window scale (RFC 7323), SACK-permitted
//! (RFC 2018) and timestamps (RFC 7323).
//!
//! Parsing is strict where a lax reading could mislead the state machine: a
//! data offset below 5 or beyond the buffer, and an option whose length runs
//! past the header or is below 2, are errors. Unknown options are skipped by
//! their length. Flags are kept as they came, so odd combinations (SYN+FIN,
//! SYN+RST, no flags at all) reach the connection code, which decides.

use core::ops::BitOr;

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, write_u16, Error, Ipv4Addr, Result};

/// Byte offsets of the TCP header fields.
pub mod field {
    use crate::wire::Field;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number.
    pub const SEQ: Field = 4..8;
    /// Acknowledgment number.
    pub const ACK: Field = 8..12;
    /// Data offset (high nibble) and reserved bits.
    pub const DATA_OFFSET: usize = 12;
    /// Flags.
    pub const FLAGS: usize = 13;
    /// Window.
    pub const WINDOW: Field = 14..16;
    /// Checksum.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer.
    pub const URGENT: Field = 18..20;
    /// Options start here.
    pub const OPTIONS: usize = 20;
}

/// Length of the TCP header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Longest header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;

/// Option kinds.
mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const TIMESTAMPS: u8 = 8;
}

/// A sequence number: arithmetic and comparisons are modulo 2^32 (RFC 9293
/// §3.4), through the signed difference, so they hold across the wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self + n`, wrapping.
    #[inline]
    pub const fn wrapping_add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }

    /// `self - other` as a signed distance (valid within 2^31).
    #[inline]
    pub const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self < other` modulo 2^32.
    #[inline]
    pub const fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }

    /// `self <= other` modulo 2^32.
    #[inline]
    pub const fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }

    /// `self > other` modulo 2^32.
    #[inline]
    pub const fn gt(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }

    /// `self >= other` modulo 2^32.
    #[inline]
    pub const fn ge(self, other: SeqNumber) -> bool {
        self.diff(other) >= 0
    }
}

/// The control bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from the sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push.
    pub const PSH: Flags = Flags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// The urgent pointer is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN echo (RFC 3168).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: Flags = Flags(0x80);

    /// True when every bit of `f` is set.
    #[inline]
    pub const fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// The options of a segment that the stack understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Maximum segment size (SYN only).
    pub mss: Option<u16>,
    /// Window scale shift (SYN only; values above 14 are taken as 14, RFC 7323 §2.3).
    pub window_scale: Option<u8>,
    /// SACK permitted (SYN only).
    pub sack_permitted: bool,
    /// Timestamps: (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
}

impl Options {
    /// Bytes these options take when emitted: each in its own 4-byte slot
    /// (NOP-padded), timestamps in 12, so the header stays 4-byte aligned.
    pub const fn len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.window_scale.is_some() {
            n += 4;
        }
        if self.sack_permitted {
            n += 4;
        }
        if self.timestamps.is_some() {
            n += 12;
        }
        n
    }

    /// True when no option is present.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses an option list (the bytes between the fixed header and the data).
    pub fn parse(mut bytes: &[u8]) -> Result<Options> {
        let mut o = Options::default();
        while let Some(&k) = bytes.first() {
            match k {
                kind::END => break,
                kind::NOP => {
                    bytes = &bytes[1..];
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*bytes.get(1).ok_or(Error::Malformed)?);
            if len < 2 || len > bytes.len() {
                return Err(Error::Malformed);
            }
            let body = &bytes[2..len];
            match (k, body.len()) {
                (kind::MSS, 2) => o.mss = Some(read_u16(body, 0)),
                (kind::WINDOW_SCALE, 1) => o.window_scale = Some(body[0].min(14)),
                (kind::SACK_PERMITTED, 0) => o.sack_permitted = true,
                (kind::TIMESTAMPS, 8) => {
                    let v = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let e = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    o.timestamps = Some((v, e));
                }
                (kind::MSS | kind::WINDOW_SCALE | kind::SACK_PERMITTED | kind::TIMESTAMPS, _) => {
                    return Err(Error::Malformed)
                }
                _ => {} // Unknown (SACK blocks included): skipped by its length.
            }
            bytes = &bytes[len..];
        }
        Ok(o)
    }

    /// Writes the options into `out` (of exactly [`Options::len`] bytes),
    /// padding with NOPs and a final END.
    fn emit(&self, out: &mut [u8]) {
        let mut i = 0;
        if let Some(mss) = self.mss {
            out[i..i + 2].copy_from_slice(&[kind::MSS, 4]);
            write_u16(out, i + 2, mss);
            i += 4;
        }
        if let Some(ws) = self.window_scale {
            out[i..i + 4].copy_from_slice(&[kind::NOP, kind::WINDOW_SCALE, 3, ws]);
            i += 4;
        }
        if self.sack_permitted {
            out[i..i + 4].copy_from_slice(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]);
            i += 4;
        }
        if let Some((v, e)) = self.timestamps {
            out[i..i + 2].copy_from_slice(&[kind::NOP, kind::NOP]);
            out[i + 2..i + 4].copy_from_slice(&[kind::TIMESTAMPS, 10]);
            out[i + 4..i + 8].copy_from_slice(&v.to_be_bytes());
            out[i + 8..i + 12].copy_from_slice(&e.to_be_bytes());
            i += 12;
        }
        let n = out.len();
        out[i.min(n)..].fill(kind::END);
    }
}

/// A read/write view of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Getters may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the fixed header ([`Error::Truncated`]),
    /// that the data offset is at least 5 ([`Error::Malformed`]) and that the
    /// buffer holds the whole header ([`Error::Truncated`]).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = self.header_len();
        if hl < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < hl {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        let b = &self.buffer.as_ref()[field::SEQ];
        SeqNumber(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> SeqNumber {
        let b = &self.buffer.as_ref()[field::ACK];
        SeqNumber(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Header length in bytes, from the data offset.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }

    /// The control bits.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// Window, unscaled.
    pub fn window(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// The data after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// True when the checksum over the pseudo-header, header and data verifies.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u16::try_from(b.len()) else {
            return false;
        };
        checksum::combine(&[
            checksum::pseudo_header(src, dst, Protocol::TCP.0, len),
            checksum::data(b),
        ]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The data, borrowed for the buffer's lifetime.
    pub fn payload_ref(&self) -> &'a [u8] {
        let hl = self.header_len();
        &self.buffer.as_ref()[hl..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, v);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, v);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, v: SeqNumber) {
        self.buffer.as_mut()[field::SEQ].copy_from_slice(&v.0.to_be_bytes());
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, v: SeqNumber) {
        self.buffer.as_mut()[field::ACK].copy_from_slice(&v.0.to_be_bytes());
    }

    /// Sets the header length (a multiple of 4, 20..=60), clearing the reserved bits.
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::DATA_OFFSET] = ((len / 4) as u8) << 4;
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, f: Flags) {
        self.buffer.as_mut()[field::FLAGS] = f.0;
    }

    /// Sets the window.
    pub fn set_window(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW.start, v);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, v);
    }

    /// The data, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[hl..]
    }

    /// Computes and writes the checksum over the whole buffer (header and
    /// data) for `src` → `dst`.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let sum = checksum::combine(&[
            checksum::pseudo_header(src, dst, Protocol::TCP.0, b.len() as u16),
            checksum::data(b),
        ]);
        self.set_checksum(!sum);
    }
}

/// The meaning of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number; zero when `flags` has no ACK.
    pub ack: SeqNumber,
    /// Control bits, as on the wire.
    pub flags: Flags,
    /// Window, unscaled, as on the wire.
    pub window: u16,
    /// Options understood.
    pub options: Options,
    /// Data, borrowed from the packet.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a segment that arrived from `src` to `dst`: length checks,
    /// checksum ([`Error::Checksum`]), options ([`Error::Malformed`]), and
    /// nonzero ports ([`Error::Malformed`]). The whole buffer after the header
    /// is the data: callers pass exactly the IP payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if packet.src_port() == 0 || packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            // Without ACK the field means nothing: read as zero, as emitted.
            ack: if packet.flags().contains(Flags::ACK) {
                packet.ack_number()
            } else {
                SeqNumber(0)
            },
            flags: packet.flags(),
            window: packet.window(),
            options: Options::parse(packet.options())?,
            payload: packet.payload_ref(),
        })
    }

    /// The header length `emit` writes (options included).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Bytes `emit` writes: header, options and data.
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment takes: data, plus one for SYN and FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(Flags::SYN))
            + usize::from(self.flags.contains(Flags::FIN))
    }

    /// Writes the segment (for `src` → `dst`, checksum filled) into the
    /// buffer, which must be exactly [`buffer_len`](Self::buffer_len) long.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        let hl = self.header_len();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(if self.flags.contains(Flags::ACK) {
            self.ack
        } else {
            SeqNumber(0)
        });
        packet.set_header_len(hl);
        packet.set_flags(self.flags);
        packet.set_window(self.window);
        packet.set_urgent(0);
        self.options
            .emit(&mut packet.buffer.as_mut()[HEADER_LEN..hl]);
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::{XorShift, FUZZ_ITERATIONS};

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A Linux SYN (40-byte header): 10.0.0.1:51000 → 10.0.0.2:80, seq
    /// 0x01020304, window 64240, MSS 1460, SACK-permitted, timestamps
    /// (0x11223344, 0), NOP, window scale 7. Checksum computed by hand
    /// below from the RFC 1071 sum, independent of `fill_checksum`.
    fn linux_syn() -> Vec<u8> {
        let mut s = vec![
            0xc7, 0x38, 0x00, 0x50, // ports
            0x01, 0x02, 0x03, 0x04, // seq
            0x00, 0x00, 0x00, 0x00, // ack
            0xa0, 0x02, 0xfa, 0xf0, // offset 10, SYN, window 64240
            0x00, 0x00, 0x00, 0x00, // checksum, urgent
            0x02, 0x04, 0x05, 0xb4, // MSS 1460
            0x04, 0x02, // SACK permitted
            0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, // TS
            0x01, // NOP
            0x03, 0x03, 0x07, // WS 7
        ];
        // Pseudo-header: 0a00 0001 0a00 0002 0006 0028, then the words.
        let mut sum: u32 = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 0x0028;
        for w in s.chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let c = !(sum as u16);
        s[16..18].copy_from_slice(&c.to_be_bytes());
        s
    }

    #[test]
    fn parses_a_linux_syn() {
        let bytes = linux_syn();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        let r = Repr::parse(&p, SRC, DST).unwrap();
        assert_eq!((r.src_port, r.dst_port), (51000, 80));
        assert_eq!(r.seq, SeqNumber(0x0102_0304));
        assert_eq!(r.flags, Flags::SYN);
        assert_eq!(r.window, 64240);
        assert_eq!(
            r.options,
            Options {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((0x1122_3344, 0)),
            }
        );
        assert!(r.payload.is_empty());
        assert_eq!(r.segment_len(), 1);
        // The same bytes from other addresses fail the pseudo-header check.
        assert_eq!(
            Repr::parse(&p, SRC, Ipv4Addr::new(10, 0, 0, 3)).unwrap_err(),
            Error::Checksum
        );
    }

    #[test]
    fn round_trips_into_a_dirty_buffer() {
        let payload: Vec<u8> = (0..=200u8).collect();
        for options in [
            Options::default(),
            Options {
                mss: Some(1460),
                window_scale: Some(9),
                sack_permitted: false,
                timestamps: None,
            },
            Options {
                mss: Some(536),
                window_scale: Some(0),
                sack_permitted: true,
                timestamps: Some((7, 9)),
            },
        ] {
            let r = Repr {
                src_port: 7,
                dst_port: 40000,
                seq: SeqNumber(u32::MAX - 5),
                ack: SeqNumber(12345),
                flags: Flags::ACK | Flags::PSH,
                window: 5000,
                options,
                payload: &payload,
            };
            let mut buf = vec![0xa5u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut buf[..]), DST, SRC);
            assert_eq!(buf.len() % 4, (payload.len() % 4));
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(p.header_len() % 4, 0);
            assert_eq!(Repr::parse(&p, DST, SRC).unwrap(), r);
        }
    }

    #[test]
    fn ack_number_is_zero_without_ack() {
        let r = Repr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNumber(1),
            ack: SeqNumber(99),
            flags: Flags::SYN,
            window: 0,
            options: Options::default(),
            payload: &[],
        };
        let mut buf = vec![0xffu8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut buf[..]), SRC, DST);
        assert_eq!(Packet::new_unchecked(&buf[..]).ack_number(), SeqNumber(0));
    }

    #[test]
    fn refuses_bad_lengths_and_options() {
        let good = linux_syn();
        assert_eq!(
            Packet::new_checked(&good[..19]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&good[..39]).unwrap_err(),
            Error::Truncated
        );
        let mut b = good.clone();
        b[12] = 0x40; // data offset 4
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
        for bad in [
            &[2u8, 4, 5][..], // MSS running past the end
            &[3, 0],          // length 0
            &[8, 1, 0, 0],    // length 1
            &[2, 3, 5, 0],    // MSS of the wrong length
            &[4, 3, 0, 0],    // SACK-permitted of the wrong length
        ] {
            assert_eq!(Options::parse(bad), Err(Error::Malformed), "{bad:?}");
        }
        // Unknown options are skipped; END stops; SACK blocks ignored.
        let o = Options::parse(&[30, 4, 1, 2, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 5, 0]).unwrap();
        assert_eq!(o.mss, Some(0x0500));
        assert_eq!(Options::parse(&[0, 99, 99]).unwrap(), Options::default());
        // Window scale above 14 is taken as 14.
        assert_eq!(Options::parse(&[3, 3, 20]).unwrap().window_scale, Some(14));
    }

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a.wrapping_add(4);
        assert_eq!(b, SeqNumber(2));
        assert!(a.lt(b) && b.gt(a) && a.le(a) && a.ge(a));
        assert_eq!(b.diff(a), 4);
        assert_eq!(a.diff(b), -4);
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0x7c9_d1e5);
        let mut buf = [0u8; 96];
        for _ in 0..FUZZ_ITERATIONS {
            let b = rng.buffer(&mut buf, |h| {
                if h.len() > 12 {
                    h[12] = 0x50 | (h[12] & 0xa0);
                }
            });
            if let Ok(p) = Packet::new_checked(b) {
                let _ = p.payload();
                let _ = p.options();
                if let Ok(r) = Repr::parse(&p, SRC, DST) {
                    let mut out = vec![0u8; r.buffer_len()];
                    r.emit(&mut Packet::new_unchecked(&mut out[..]), SRC, DST);
                }
                let _ = Options::parse(p.options());
            }
        }
    }
}
