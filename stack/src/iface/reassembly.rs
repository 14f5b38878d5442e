//! IPv4 reassembly (RFC 791 §3.2, with RFC 5722's rule for overlaps).
//!
//! At most [`ReassemblyConfig::max_datagrams`] datagrams are reassembled at
//! once, each at most [`ReassemblyConfig::max_size`] bytes of payload and
//! [`ReassemblyConfig::max_fragments`] fragments, each for at most
//! [`ReassemblyConfig::timeout`] after its first fragment. A fragment that
//! overlaps one already received (exact duplicates included), ends past the
//! bound, or contradicts the others (a non-final fragment whose length is
//! not a multiple of 8, data past the final fragment) drops the whole
//! datagram. A fragment of a new datagram when the table is full is dropped;
//! datagrams in progress are not evicted for it.

use std::time::Duration;

use crate::time::Instant;
use crate::wire::{IpProtocol, Ipv4Addr, Ipv4Repr};

/// How reassembly is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Datagrams reassembled at once.
    pub max_datagrams: usize,
    /// Largest reassembled payload, in bytes.
    pub max_size: usize,
    /// Most fragments per datagram.
    pub max_fragments: usize,
    /// Time from a datagram's first fragment until it is given up.
    pub timeout: Duration,
}

impl Default for ReassemblyConfig {
    /// 4 datagrams of up to 65515 bytes (the IPv4 maximum) in up to 64
    /// fragments, 10 s each.
    fn default() -> ReassemblyConfig {
        ReassemblyConfig {
            max_datagrams: 4,
            max_size: 65535 - 20,
            max_fragments: 64,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    ident: u16,
}

#[derive(Debug)]
struct Datagram {
    key: Key,
    deadline: Instant,
    data: Vec<u8>,
    /// Received byte ranges, unordered, never overlapping.
    ranges: Vec<(usize, usize)>,
    received: usize,
    /// Payload length, once the final fragment arrived.
    total: Option<usize>,
    /// Header of the first fragment (offset 0), once it arrived.
    first: Option<Ipv4Repr>,
}

/// What one fragment did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// Kept; the datagram is not complete yet.
    Incomplete,
    /// The datagram is complete: its header (of the first fragment, with the
    /// fragment fields cleared and the whole payload length) and payload.
    Complete(Ipv4Repr, Vec<u8>),
    /// Dropped because it (and its datagram) overlapped.
    Overlap,
    /// Dropped because it ends past the bound.
    TooBig,
    /// Dropped because it contradicts the datagram's other fragments.
    Malformed,
    /// Dropped: the table is full.
    TableFull,
}

/// The datagrams being reassembled.
#[derive(Debug)]
pub(crate) struct Reassembler {
    config: ReassemblyConfig,
    datagrams: Vec<Datagram>,
}

impl Reassembler {
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler {
            config,
            datagrams: Vec::new(),
        }
    }

    /// Removes datagrams past their deadline; returns how many.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let before = self.datagrams.len();
        self.datagrams.retain(|d| now < d.deadline);
        (before - self.datagrams.len()) as u64
    }

    /// The earliest deadline.
    pub fn poll_at(&self) -> Option<Instant> {
        self.datagrams.iter().map(|d| d.deadline).min()
    }

    /// Adds one fragment (`repr` is its header, `payload` its payload).
    pub fn add(&mut self, now: Instant, repr: &Ipv4Repr, payload: &[u8]) -> Fragment {
        let key = Key {
            src: repr.src_addr,
            dst: repr.dst_addr,
            protocol: repr.protocol,
            ident: repr.ident,
        };
        let start = usize::from(repr.frag_offset);
        let end = start + payload.len();
        let pos = match self.datagrams.iter().position(|d| d.key == key) {
            Some(pos) => pos,
            None => {
                if self.datagrams.len() >= self.config.max_datagrams {
                    return Fragment::TableFull;
                }
                self.datagrams.push(Datagram {
                    key,
                    deadline: now + self.config.timeout,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    received: 0,
                    total: None,
                    first: None,
                });
                self.datagrams.len() - 1
            }
        };
        let verdict = self.check(pos, repr, start, end);
        if verdict != Fragment::Incomplete {
            self.datagrams.swap_remove(pos);
            return verdict;
        }
        let d = &mut self.datagrams[pos];
        if d.data.len() < end {
            d.data.resize(end, 0);
        }
        d.data[start..end].copy_from_slice(payload);
        d.ranges.push((start, end));
        d.received += payload.len();
        if !repr.more_frags {
            d.total = Some(end);
        }
        if start == 0 {
            d.first = Some(*repr);
        }
        match (d.total, d.first) {
            (Some(total), Some(first)) if d.received == total => {
                let d = self.datagrams.swap_remove(pos);
                let mut data = d.data;
                data.truncate(total);
                let header = Ipv4Repr {
                    more_frags: false,
                    frag_offset: 0,
                    payload_len: total,
                    ..first
                };
                Fragment::Complete(header, data)
            }
            _ => Fragment::Incomplete,
        }
    }

    fn check(&self, pos: usize, repr: &Ipv4Repr, start: usize, end: usize) -> Fragment {
        let d = &self.datagrams[pos];
        if end > self.config.max_size {
            return Fragment::TooBig;
        }
        if repr.more_frags && (end == start || (end - start) & 7 != 0) {
            return Fragment::Malformed;
        }
        if d.ranges.len() >= self.config.max_fragments {
            return Fragment::Malformed;
        }
        if let Some(total) = d.total {
            if end > total || (!repr.more_frags && end != total) {
                return Fragment::Malformed;
            }
        }
        if !repr.more_frags && d.ranges.iter().any(|&(_, e)| e > end) {
            return Fragment::Malformed;
        }
        // A zero-length final fragment overlaps nothing; any other range
        // must be disjoint from every range received.
        if d.ranges.iter().any(|&(s, e)| start < e && s < end) {
            return Fragment::Overlap;
        }
        Fragment::Incomplete
    }

    /// Datagrams in progress.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(ident: u16, offset: u16, more: bool, len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IpProtocol::UDP,
            payload_len: len,
            ttl: 64,
            ident,
            dont_frag: false,
            more_frags: more,
            frag_offset: offset,
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn any_order_completes_with_the_right_bytes() {
        let all = data(40);
        let pieces = [(0usize, 16usize), (16, 32), (32, 40)];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut r = Reassembler::new(ReassemblyConfig::default());
            let mut result = None;
            for (n, &i) in order.iter().enumerate() {
                let (s, e) = pieces[i];
                let repr = frag(1, s as u16, e != 40, e - s);
                match r.add(Instant::ZERO, &repr, &all[s..e]) {
                    Fragment::Incomplete => assert!(n < 2),
                    Fragment::Complete(h, d) => {
                        assert_eq!(n, 2);
                        result = Some((h, d));
                    }
                    other => panic!("{other:?}"),
                }
            }
            let (h, d) = result.unwrap();
            assert_eq!(d, all);
            assert_eq!(h.payload_len, 40);
            assert!(!h.more_frags);
            assert_eq!(h.frag_offset, 0);
            assert_eq!(r.len(), 0);
        }
    }

    #[test]
    fn overlap_and_duplicates_drop_the_datagram() {
        let all = data(32);
        let mut r = Reassembler::new(ReassemblyConfig::default());
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 0, true, 16), &all[..16]),
            Fragment::Incomplete
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 8, true, 16), &all[8..24]),
            Fragment::Overlap
        );
        assert_eq!(r.len(), 0);
        assert_eq!(
            r.add(Instant::ZERO, &frag(2, 0, true, 16), &all[..16]),
            Fragment::Incomplete
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(2, 0, true, 16), &all[..16]),
            Fragment::Overlap
        );
    }

    #[test]
    fn bounds_and_contradictions() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_datagrams: 1,
            max_size: 64,
            ..ReassemblyConfig::default()
        });
        let d = data(80);
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 56, false, 16), &d[..16]),
            Fragment::TooBig
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 0, true, 12), &d[..12]),
            Fragment::Malformed
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 0, true, 16), &d[..16]),
            Fragment::Incomplete
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(2, 0, true, 16), &d[..16]),
            Fragment::TableFull
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(1, 8, false, 0), &[]),
            Fragment::Malformed
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(3, 16, false, 8), &d[..8]),
            Fragment::Incomplete
        );
        assert_eq!(
            r.add(Instant::ZERO, &frag(3, 24, true, 8), &d[..8]),
            Fragment::Malformed
        );
    }

    #[test]
    fn timeout_forgets_the_datagram() {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let d = data(16);
        r.add(Instant::ZERO, &frag(1, 0, true, 8), &d[..8]);
        assert_eq!(r.poll_at(), Some(Instant::from_secs(10)));
        assert_eq!(r.expire(Instant::from_secs(9)), 0);
        assert_eq!(r.expire(Instant::from_secs(10)), 1);
        assert_eq!(
            r.add(Instant::from_secs(10), &frag(1, 8, false, 8), &d[8..]),
            Fragment::Incomplete
        );
    }
}
