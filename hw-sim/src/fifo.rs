//! The receive packet buffer: frames wait here when no descriptor is free.
//!
//! Occupancy is accounted like a real packet buffer: each frame takes its
//! length plus the 4-byte FCS rounded up to 16 bytes, plus 16 bytes of
//! per-frame status ([`occupancy`]). A frame that does not fit is dropped by
//! the caller (MPC). Storage is one preallocated byte ring: no allocation per frame.
//! Each frame carries a 64-bit tag chosen on arrival (the engine keeps its
//! receive queue and RSS result there), so a frame keeps the queue it was
//! classified for while it waits.

use std::collections::VecDeque;

/// Bytes of packet buffer one frame of `len` bytes (without FCS) takes.
#[inline(always)]
pub const fn occupancy(len: usize) -> usize {
    (len + 4).div_ceil(16) * 16 + 16
}

/// The FIFO.
pub(crate) struct Fifo {
    arena: Vec<u8>,
    frames: VecDeque<(usize, usize, u64)>,
    write: usize,
    used: usize,
    cap: usize,
    scratch: Vec<u8>,
}

impl Fifo {
    pub(crate) fn new(cap: usize) -> Fifo {
        Fifo {
            arena: vec![0; cap.max(1)],
            frames: VecDeque::with_capacity(cap / 80 + 1),
            write: 0,
            used: 0,
            cap,
            scratch: Vec::with_capacity(16 * 1024),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Bytes of packet buffer still free.
    pub(crate) fn free_bytes(&self) -> usize {
        self.cap - self.used
    }

    /// Stores a copy of `frame` with `tag`; false (nothing stored) when it does not fit.
    pub(crate) fn push(&mut self, frame: &[u8], tag: u64) -> bool {
        let occ = occupancy(frame.len());
        if self.used + occ > self.cap || frame.len() > self.arena.len() {
            return false;
        }
        let n = self.arena.len();
        let start = self.write;
        let first = frame.len().min(n - start);
        self.arena[start..start + first].copy_from_slice(&frame[..first]);
        self.arena[..frame.len() - first].copy_from_slice(&frame[first..]);
        self.write = (start + frame.len()) % n;
        self.used += occ;
        self.frames.push_back((start, frame.len(), tag));
        true
    }

    /// The oldest frame and its tag.
    pub(crate) fn front(&mut self) -> Option<(&[u8], u64)> {
        let &(start, len, tag) = self.frames.front()?;
        let n = self.arena.len();
        if start + len <= n {
            Some((&self.arena[start..start + len], tag))
        } else {
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.arena[start..]);
            self.scratch
                .extend_from_slice(&self.arena[..len - (n - start)]);
            Some((&self.scratch, tag))
        }
    }

    /// Drops the oldest frame.
    pub(crate) fn pop(&mut self) {
        if let Some((_, len, _)) = self.frames.pop_front() {
            self.used -= occupancy(len);
        }
        if self.frames.is_empty() {
            self.write = 0;
        }
    }

    /// Empties the FIFO, returning how many frames were lost.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.frames.len();
        self.frames.clear();
        self.used = 0;
        self.write = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_until_full_then_refuses() {
        let mut f = Fifo::new(1024);
        let frame = [7u8; 60];
        let fit = 1024 / occupancy(60);
        for _ in 0..fit {
            assert!(f.push(&frame, 0));
        }
        assert!(!f.push(&frame, 0));
        assert_eq!(f.len(), fit);
        f.pop();
        assert!(f.push(&[9u8; 60], 9));
        for _ in 0..fit - 1 {
            assert_eq!(f.front().unwrap(), (&frame[..], 0));
            f.pop();
        }
        assert_eq!(f.front().unwrap(), (&[9u8; 60][..], 9));
    }

    #[test]
    fn wraps_around() {
        let mut f = Fifo::new(256);
        for i in 0..50u8 {
            let fr: Vec<u8> = (0..61).map(|k| k ^ i).collect();
            assert!(f.push(&fr, 1));
            assert_eq!(f.front().unwrap().0, &fr[..]);
            f.pop();
            assert!(f.push(&fr, 1));
            assert!(f.push(&fr, 1));
            f.pop();
            assert_eq!(f.front().unwrap().0, &fr[..]);
            f.pop();
        }
    }
}
