//! A synthetic traffic generator.
//!
//! Frames are built once, at construction, into one flat buffer of templates;
//! `poll` hands out the next template by reference, so the per-frame cost is an
//! index increment. A mixed generator is deterministic for a given seed.

use std::time::Duration;

use super::frame::{self, proto};
use super::{FrameSource, SourcePoll};

/// Templates a mixed generator cycles through.
pub const MIXED_TEMPLATES: usize = 1024;
/// Largest frame (without FCS) [`Generator::fixed_udp`] builds.
pub const MAX_FIXED: usize = 16 * 1024;

/// A deterministic pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeds it.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// A frame source cycling through pre-built frames. Never exhausted on its own:
/// combine with [`super::SourceExt::limit`] and [`super::SourceExt::paced`].
#[derive(Debug, Clone)]
pub struct Generator {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    next: usize,
}

impl Generator {
    fn from_frames(frames: Vec<Vec<u8>>) -> Generator {
        let mut data = Vec::with_capacity(frames.iter().map(Vec::len).sum());
        let mut spans = Vec::with_capacity(frames.len());
        for f in frames {
            spans.push((data.len(), f.len()));
            data.extend_from_slice(&f);
        }
        Generator {
            data,
            spans,
            next: 0,
        }
    }

    /// A seeded mix of ARP requests (broadcast), ICMP echo requests, UDP and TCP
    /// over IPv4 to `dst`, with valid checksums, sizes from 60 to 1514 bytes
    /// (1518 with a tag), one in eight 802.1Q-tagged.
    pub fn mixed(seed: u64, dst: [u8; 6]) -> Generator {
        let mut rng = SplitMix64::new(seed);
        let frames = (0..MIXED_TEMPLATES)
            .map(|i| Self::mixed_frame(&mut rng, dst, i as u16))
            .collect();
        Self::from_frames(frames)
    }

    fn mixed_frame(rng: &mut SplitMix64, dst: [u8; 6], id: u16) -> Vec<u8> {
        let host = rng.range(2, 250) as u8;
        let src_mac = [0x02, 0, 0, 0, rng.range(0, 255) as u8, host];
        let src_ip = [10, 0, rng.range(0, 255) as u8, host];
        let dst_ip = [10, 0, 0, 1];
        let vlan = (rng.range(0, 7) == 0).then(|| rng.range(1, 4094) as u16);
        let tag_len = if vlan.is_some() { 4 } else { 0 };
        let size = match rng.range(0, 9) {
            0..=3 => rng.range(60, 128),
            4..=6 => rng.range(129, 1023),
            _ => rng.range(1024, 1514),
        } as usize
            + tag_len;
        let kind = rng.range(0, 99);
        let mut f = Vec::with_capacity(size);
        if kind < 8 {
            frame::push_eth(
                &mut f,
                frame::BROADCAST,
                src_mac,
                vlan,
                frame::ETHERTYPE_ARP,
            );
            frame::push_arp(&mut f, src_mac, src_ip, dst_ip);
            frame::pad_min(&mut f);
            return f;
        }
        let p = match kind {
            8..=24 => proto::ICMP,
            25..=64 => proto::UDP,
            _ => proto::TCP,
        };
        frame::push_eth(&mut f, dst, src_mac, vlan, frame::ETHERTYPE_IPV4);
        let hdr = f.len() + 20 + if p == proto::TCP { 20 } else { 8 };
        let payload = size.saturating_sub(hdr);
        let ports = (rng.range(1024, 65535) as u16, rng.range(1, 1023) as u16);
        frame::push_ipv4(
            &mut f,
            src_ip,
            dst_ip,
            p,
            id,
            ports,
            payload,
            rng.next_u64() as u8,
        );
        frame::pad_min(&mut f);
        f
    }

    /// Identical UDP/IPv4 frames of `size` bytes without FCS (clamped to
    /// 60..=16384) to `dst`.
    pub fn fixed_udp(size: usize, dst: [u8; 6]) -> Generator {
        let size = size.clamp(frame::MIN_FRAME, MAX_FIXED);
        let mut f = Vec::with_capacity(size);
        frame::push_eth(
            &mut f,
            dst,
            [0x02, 0, 0, 0, 0, 0x02],
            None,
            frame::ETHERTYPE_IPV4,
        );
        frame::push_ipv4(
            &mut f,
            [10, 0, 0, 2],
            [10, 0, 0, 1],
            proto::UDP,
            1,
            (4000, 4001),
            size - 42,
            0,
        );
        Self::from_frames(vec![f])
    }

    /// The pre-built frames, in the order they are sent.
    pub fn templates(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans.iter().map(|&(o, l)| &self.data[o..o + l])
    }
}

impl FrameSource for Generator {
    #[inline]
    fn poll(&mut self, _now: Duration) -> SourcePoll<'_> {
        let (o, l) = self.spans[self.next];
        self.next += 1;
        if self.next == self.spans.len() {
            self.next = 0;
        }
        SourcePoll::Frame(&self.data[o..o + l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SourceExt;

    fn collect(src: &mut impl FrameSource, n: usize) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        for _ in 0..n {
            match src.poll(Duration::ZERO) {
                SourcePoll::Frame(f) => v.push(f.to_vec()),
                _ => break,
            }
        }
        v
    }

    #[test]
    fn same_seed_same_frames() {
        let a = collect(&mut Generator::mixed(42, [2; 6]), 3000);
        let b = collect(&mut Generator::mixed(42, [2; 6]), 3000);
        let c = collect(&mut Generator::mixed(43, [2; 6]), 3000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn mixed_frames_are_valid() {
        let g = Generator::mixed(7, [2; 6]);
        let (mut ip, mut vlan, mut arp) = (0, 0, 0);
        for f in g.templates() {
            assert!((60..=1518).contains(&f.len()), "len {}", f.len());
            let tagged = f[12..14] == [0x81, 0x00];
            if tagged {
                vlan += 1;
            } else {
                assert!(f.len() <= 1514);
            }
            match frame::verify_ipv4(f) {
                Some(ok) => {
                    assert!(ok, "bad checksum");
                    ip += 1;
                }
                None => arp += 1,
            }
        }
        assert!(ip > 800 && vlan > 60 && arp > 30, "{ip} {vlan} {arp}");
    }

    #[test]
    fn fixed_size_and_limit() {
        let mut g = Generator::fixed_udp(60, [2; 6]).limit(3);
        let v = collect(&mut g, 10);
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|f| f.len() == 60));
        assert_eq!(frame::verify_ipv4(&v[0]), Some(true));
        assert!(matches!(g.poll(Duration::ZERO), SourcePoll::Done));
        let g = Generator::fixed_udp(1514, [2; 6]);
        assert_eq!(g.templates().next().unwrap().len(), 1514);
    }

    #[test]
    fn only_paced_sources_may_come_late() {
        use crate::wire::PACED_SLACK;
        let g = Generator::fixed_udp(60, [2; 6]);
        assert_eq!(g.slack(), Duration::ZERO);
        let paced = Generator::fixed_udp(60, [2; 6]).paced(1000.0);
        assert_eq!(paced.slack(), PACED_SLACK);
        // Wrappers pass it on.
        assert_eq!(paced.limit(5).slack(), PACED_SLACK);
        let boxed: Box<dyn FrameSource> = Box::new(Generator::fixed_udp(60, [2; 6]).paced(10.0));
        assert_eq!(boxed.slack(), PACED_SLACK);
    }

    #[test]
    fn pacing_follows_the_clock() {
        let mut g = Generator::fixed_udp(60, [2; 6]).paced(1000.0);
        assert!(matches!(g.poll(Duration::ZERO), SourcePoll::Frame(_)));
        match g.poll(Duration::from_micros(10)) {
            SourcePoll::Until(t) => assert_eq!(t, Duration::from_millis(1)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            g.poll(Duration::from_millis(1)),
            SourcePoll::Frame(_)
        ));
    }
}
