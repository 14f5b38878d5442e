//! Byte rings for the send and receive buffers, and the bounded record of
//! out-of-order data held in the receive ring beyond its contiguous part.

/// A fixed-capacity byte ring. Storage is allocated once (lazily, when a
/// connection is established) and never grows.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl Ring {
    /// A ring of `cap` bytes.
    pub(crate) fn with_capacity(cap: usize) -> Ring {
        Ring {
            buf: vec![0; cap],
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room after the contiguous bytes.
    pub(crate) fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Physical index of logical offset `off` (`off` < capacity).
    #[inline]
    fn index(&self, off: usize) -> usize {
        let i = self.head + off;
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }

    /// Copies `data` to logical offset `len + off` without making it part of
    /// the contiguous bytes; clipped to the room. Returns the bytes written.
    pub(crate) fn write_at(&mut self, off: usize, data: &[u8]) -> usize {
        let room = self.free().saturating_sub(off);
        let n = data.len().min(room);
        if n == 0 {
            return 0;
        }
        let start = self.index(self.len + off);
        let first = n.min(self.buf.len() - start);
        self.buf[start..start + first].copy_from_slice(&data[..first]);
        self.buf[..n - first].copy_from_slice(&data[first..n]);
        n
    }

    /// Makes `n` more bytes (written with `write_at`) contiguous.
    pub(crate) fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    /// Appends as much of `data` as fits.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = self.write_at(0, data);
        self.commit(n);
        n
    }

    /// Copies out and removes up to `out.len()` bytes from the front.
    pub(crate) fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        let first = n.min(self.buf.len() - self.head);
        out[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
        out[first..n].copy_from_slice(&self.buf[..n - first]);
        self.consume(n);
        n
    }

    /// Drops `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        // The head never jumps back to 0 when empty: out-of-order bytes may
        // sit beyond the end, placed relative to it.
        self.head = self.index(n);
    }

    /// The contiguous bytes from logical offset `off`, at most `max` of them,
    /// stopping at the physical end of the storage.
    pub(crate) fn slice(&self, off: usize, max: usize) -> &[u8] {
        if off >= self.len {
            return &[];
        }
        let start = self.index(off);
        let n = max.min(self.len - off).min(self.buf.len() - start);
        &self.buf[start..start + n]
    }
}

/// Most out-of-order ranges an [`Assembler`] can hold.
pub(crate) const MAX_RANGES: usize = 32;

/// Out-of-order ranges held beyond a ring's contiguous bytes, as offsets
/// from its end, sorted and disjoint, at most a fixed number of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assembler {
    ranges: [(usize, usize); MAX_RANGES],
    count: usize,
    limit: usize,
}

impl Assembler {
    pub(crate) fn new(limit: usize) -> Assembler {
        Assembler {
            ranges: [(0, 0); MAX_RANGES],
            count: 0,
            limit: limit.clamp(1, MAX_RANGES),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The end of the last range held (0 when none).
    #[cfg(test)]
    pub(crate) fn highest(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            self.ranges[self.count - 1].1
        }
    }

    /// Records `[start, end)`, merging with neighbours. False when the range
    /// would need a new entry and none is free (the data is then dropped).
    pub(crate) fn add(&mut self, start: usize, end: usize) -> bool {
        if start >= end {
            return true;
        }
        // First range whose end reaches start.
        let mut i = 0;
        while i < self.count && self.ranges[i].1 < start {
            i += 1;
        }
        // Ranges i..j overlap or touch [start, end).
        let mut j = i;
        let (mut s, mut e) = (start, end);
        while j < self.count && self.ranges[j].0 <= end {
            s = s.min(self.ranges[j].0);
            e = e.max(self.ranges[j].1);
            j += 1;
        }
        if i == j {
            if self.count == self.limit {
                return false;
            }
            self.ranges.copy_within(i..self.count, i + 1);
            self.count += 1;
        } else if j > i + 1 {
            self.ranges.copy_within(j..self.count, i + 1);
            self.count -= j - i - 1;
        }
        self.ranges[i] = (s, e);
        true
    }

    /// `n` bytes became contiguous at the front: returns how far the
    /// contiguous part now reaches (`n` or more, with held ranges it joins)
    /// and rebases what is left on the new end.
    pub(crate) fn advance(&mut self, n: usize) -> usize {
        let mut reach = n;
        let mut k = 0;
        while k < self.count && self.ranges[k].0 <= reach {
            reach = reach.max(self.ranges[k].1);
            k += 1;
        }
        self.ranges.copy_within(k..self.count, 0);
        self.count -= k;
        for r in &mut self.ranges[..self.count] {
            r.0 -= reach;
            r.1 -= reach;
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps_and_slices_stop_at_the_end() {
        let mut r = Ring::with_capacity(8);
        assert_eq!(r.push(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(r.pop(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(r.push(b"ghijklmn"), 6);
        assert_eq!(r.len(), 8);
        assert_eq!(r.free(), 0);
        assert_eq!(r.slice(0, 100), b"efgh");
        assert_eq!(r.slice(4, 100), b"ijkl");
        assert_eq!(r.slice(2, 3), b"gh", "stops at the physical end");
        let mut all = [0u8; 8];
        assert_eq!(r.pop(&mut all), 8);
        assert_eq!(&all, b"efghijkl");
        assert!(r.is_empty());
    }

    #[test]
    fn ring_write_at_then_commit() {
        let mut r = Ring::with_capacity(10);
        r.push(b"012");
        assert_eq!(r.write_at(3, b"6789XYZ"), 4, "clipped to the room");
        assert_eq!(r.write_at(0, b"345"), 3);
        r.commit(7);
        let mut out = [0u8; 10];
        assert_eq!(r.pop(&mut out), 10);
        assert_eq!(&out, b"0123456789");
    }

    #[test]
    fn assembler_merges_and_advances() {
        let mut a = Assembler::new(3);
        assert!(a.add(10, 20));
        assert!(a.add(30, 40));
        assert!(a.add(50, 60));
        assert!(!a.add(70, 80), "no fourth range");
        assert!(a.add(20, 30), "bridging needs no new entry");
        assert_eq!(a.highest(), 60);
        assert_eq!(a.advance(5), 5, "a hole remains");
        assert_eq!(a.advance(5), 35, "reaches through the merged range");
        // 45..55 rebased on the new end (35): 10..20.
        assert_eq!(a.highest(), 20);
        assert_eq!(a.advance(15), 20);
        assert!(a.is_empty());
        assert!(a.add(5, 6));
        assert!(a.add(1, 9));
        assert_eq!(a.advance(1), 9);
    }
}
