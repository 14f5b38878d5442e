//! Fixed-size packet buffers in DMA memory, and the owned [`Packet`] handle.
//!
//! A pool is one DMA block cut into equal buffers. Free buffers sit in a
//! lock-free queue, so a [`Packet`] can be dropped on any thread and its buffer
//! goes straight back. Each buffer is laid out as
//! `[headroom | data ...]`: the NIC writes received frames after
//! [`HEADROOM`] bytes, which an application can use to prepend headers in place.
//! The data part is [`RX_BUF_LEN`] (2 KiB) unless the pool is made with
//! [`Mempool::with_buffer_len`] (up to [`MAX_BUF_LEN`], for long frames).

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;

use crate::backend::Backend;
use crate::dma::DmaMemory;
use crate::error::DmaError;

/// Bytes reserved in front of the data in every buffer.
pub const HEADROOM: usize = 128;
/// Bytes of a receive buffer the NIC may fill (RCTL.BSIZE / SRRCTL.BSIZEPKT = 2 KiB),
/// in a pool made with [`Mempool::new`].
pub const RX_BUF_LEN: usize = 2048;
/// Distance between two buffers in such a pool (a multiple of the 64-byte cache line).
pub const BUF_STRIDE: usize = HEADROOM + RX_BUF_LEN;
/// The largest data part of a buffer ([`Mempool::with_buffer_len`]): 16 KiB,
/// the largest receive buffer of the 82540EM (RCTL.BSIZE with BSEX).
pub const MAX_BUF_LEN: usize = 16 * 1024;
/// The shortest frame on an Ethernet wire, without its 4-byte FCS.
pub const MIN_FRAME_LEN: usize = 60;

const _: () = assert!(BUF_STRIDE.is_multiple_of(64));
const _: () = assert!(HEADROOM + MAX_BUF_LEN <= u16::MAX as usize);

struct PoolInner {
    mem: DmaMemory,
    /// Distance between buffers: [`HEADROOM`] + `buf_len` (next to `mem`,
    /// which every packet access reads too). A u16, so the compiler knows
    /// `idx * stride + off + len` cannot overflow and drops that check from
    /// every packet access.
    stride: u16,
    /// The data part of each buffer.
    buf_len: usize,
    entries: u32,
    free: ArrayQueue<u32>,
    /// The counters are written on every allocation and free, usually on
    /// the receive core, while every packet access on any core reads `mem`:
    /// each on a cache line of its own, or the line holding `mem` would
    /// move between the cores with every packet.
    exhausted: CachePadded<AtomicU64>,
    /// Mempool handles plus packets alive: the pool is freed when it reaches 0.
    /// Like `Arc`'s count, but the receive path adds a whole batch of packets
    /// with one atomic add instead of one per packet.
    refs: CachePadded<AtomicUsize>,
}

/// A pool of packet buffers in DMA memory. Cheap to clone (a shared handle).
pub struct Mempool {
    inner: NonNull<PoolInner>,
}

// SAFETY: PoolInner is Send + Sync (DMA memory behind atomics, a lock-free queue,
// atomics); the handle only shares it, and `refs` keeps it alive.
unsafe impl Send for Mempool {}
// SAFETY: as above.
unsafe impl Sync for Mempool {}

impl Clone for Mempool {
    fn clone(&self) -> Self {
        self.inner().refs.fetch_add(1, Ordering::Relaxed);
        Mempool { inner: self.inner }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: this handle holds one reference.
        unsafe { release(self.inner, 1) }
    }
}

/// Drops `n` references to the pool, freeing it with the last one.
///
/// # Safety
/// The caller must own `n` references to `inner` and use none of them afterwards.
#[inline(always)]
unsafe fn release(inner: NonNull<PoolInner>, n: usize) {
    // SAFETY: the caller holds n >= 1 references, so the pool is alive here.
    let refs = unsafe { &inner.as_ref().refs };
    if refs.fetch_sub(n, Ordering::Release) == n {
        // Every other reference is gone; see their uses before freeing (as Arc does).
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: allocated by Box::new in Mempool::new; this was the last reference.
        drop(unsafe { Box::from_raw(inner.as_ptr()) });
    }
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("entries", &self.inner().entries)
            .field("free", &self.inner().free.len())
            .field("mem", &self.inner().mem)
            .finish()
    }
}

impl Mempool {
    /// Allocates a pool of `entries` buffers of [`BUF_STRIDE`] bytes from `backend`.
    pub fn new<B: Backend + ?Sized>(backend: &B, entries: u32) -> Result<Self, DmaError> {
        Self::with_buffer_len(backend, entries, RX_BUF_LEN)
    }

    /// Allocates a pool of `entries` buffers whose data part is `buf_len`
    /// bytes: a multiple of 1 KiB (the NIC's buffer-size unit) from 1 KiB to
    /// [`MAX_BUF_LEN`], for frames longer than [`RX_BUF_LEN`].
    pub fn with_buffer_len<B: Backend + ?Sized>(
        backend: &B,
        entries: u32,
        buf_len: usize,
    ) -> Result<Self, DmaError> {
        if !buf_len.is_multiple_of(1024) || !(1024..=MAX_BUF_LEN).contains(&buf_len) {
            return Err(DmaError::BufferLen { len: buf_len });
        }
        if entries == 0 {
            return Err(DmaError::Exhausted {
                requested: 0,
                available: 0,
            });
        }
        let stride = HEADROOM + buf_len;
        let mem = backend.alloc_dma(entries as usize * stride)?;
        // Cannot fail: at most HEADROOM + MAX_BUF_LEN.
        let stride = u16::try_from(stride).unwrap_or(u16::MAX);
        let free = ArrayQueue::new(entries as usize);
        for i in 0..entries {
            // Cannot fail: the queue holds exactly `entries` items.
            let _ = free.push(i);
        }
        let inner = Box::new(PoolInner {
            mem,
            stride,
            buf_len,
            entries,
            free,
            exhausted: CachePadded::new(AtomicU64::new(0)),
            refs: CachePadded::new(AtomicUsize::new(1)),
        });
        Ok(Mempool {
            inner: NonNull::from(Box::leak(inner)),
        })
    }

    #[inline(always)]
    fn inner(&self) -> &PoolInner {
        // SAFETY: this handle holds a reference, so the pool is alive.
        unsafe { self.inner.as_ref() }
    }

    /// Bytes of each buffer the NIC may fill (the data part, after the headroom).
    pub fn buffer_len(&self) -> usize {
        self.inner().buf_len
    }

    /// Number of buffers in the pool.
    pub fn entries(&self) -> u32 {
        self.inner().entries
    }

    /// Number of buffers free right now.
    pub fn free_count(&self) -> usize {
        self.inner().free.len()
    }

    /// How many times an allocation found the pool empty.
    pub fn exhausted_count(&self) -> u64 {
        self.inner().exhausted.load(Ordering::Relaxed)
    }

    /// Takes a buffer as an empty packet (length 0, data after the headroom),
    /// or `None` when every buffer is in use (counted in [`Mempool::exhausted_count`]).
    pub fn alloc(&self) -> Option<Packet> {
        let idx = self.alloc_raw()?;
        self.reserve_packets(1);
        Some(self.packet(idx, HEADROOM as u16, 0))
    }

    /// Allocates a packet holding a copy of `data`; `None` when the pool is empty
    /// or `data` is longer than [`Mempool::buffer_len`].
    pub fn alloc_from(&self, data: &[u8]) -> Option<Packet> {
        if data.len() > self.buffer_len() {
            return None;
        }
        let mut p = self.alloc()?;
        p.set_len(data.len()).ok()?;
        p.copy_from_slice(data);
        Some(p)
    }

    #[inline(always)]
    pub(crate) fn alloc_raw(&self) -> Option<u32> {
        let idx = self.inner().free.pop();
        if idx.is_none() {
            self.inner().exhausted.fetch_add(1, Ordering::Relaxed);
        }
        idx
    }

    #[inline(always)]
    pub(crate) fn free_raw(&self, idx: u32) {
        // Cannot overflow: each index is in the queue at most once.
        let _ = self.inner().free.push(idx);
    }

    /// The device address of byte `off` of buffer `idx`.
    #[inline(always)]
    pub(crate) fn iova(&self, idx: u32, off: usize) -> u64 {
        let inner = self.inner();
        inner.mem.iova() + (idx as usize * usize::from(inner.stride) + off) as u64
    }

    /// Takes `n` references for packets about to be made with [`Mempool::packet`]:
    /// one atomic add for a whole batch.
    #[inline(always)]
    pub(crate) fn reserve_packets(&self, n: usize) {
        self.inner().refs.fetch_add(n, Ordering::Relaxed);
    }

    /// Gives back `n` references taken with [`Mempool::reserve_packets`] and not
    /// used for packets. The caller's own handle keeps the count above zero.
    #[inline(always)]
    pub(crate) fn unreserve_packets(&self, n: usize) {
        if n > 0 {
            self.inner().refs.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Wraps buffer `idx`, which the caller owns, as a packet. The packet owns
    /// one reference, which the caller took with [`Mempool::reserve_packets`].
    #[inline(always)]
    pub(crate) fn packet(&self, idx: u32, off: u16, len: u16) -> Packet {
        Packet {
            pool: self.inner,
            idx,
            off,
            len,
        }
    }

    /// Takes `p`'s buffer back without going through the free queue: returns
    /// its index, now owned by the caller, or gives `p` back when it belongs to
    /// another pool. The packet's pool reference stays taken; the caller gives
    /// it back, for many packets at once, with [`Mempool::release_reclaimed`].
    #[inline(always)]
    pub(crate) fn reclaim(&self, p: Packet) -> Result<u32, Packet> {
        if !self.owns(&p) {
            return Err(p);
        }
        let idx = p.idx;
        std::mem::forget(p);
        Ok(idx)
    }

    /// Gives back the pool references of `n` packets taken with
    /// [`Mempool::reclaim`]: one atomic operation for all of them. This
    /// handle's own reference keeps the pool alive.
    #[inline(always)]
    pub(crate) fn release_reclaimed(&self, n: usize) {
        if n > 0 {
            // Release, as a packet's drop: its accesses to the pool come first.
            self.inner().refs.fetch_sub(n, Ordering::Release);
        }
    }

    /// True when `p`'s buffer belongs to this pool.
    #[inline]
    pub fn owns(&self, p: &Packet) -> bool {
        p.pool == self.inner
    }

    /// True when both handles are the same pool.
    pub fn same_pool(&self, other: &Mempool) -> bool {
        self.inner == other.inner
    }
}

/// An owned packet buffer from a [`Mempool`]. Derefs to its bytes; returns to
/// its pool when dropped, on any thread.
pub struct Packet {
    pool: NonNull<PoolInner>,
    idx: u32,
    off: u16,
    len: u16,
}

// SAFETY: a Packet owns its buffer and one reference to its pool, which is
// Send + Sync; dropping it on any thread returns the buffer through the pool's
// lock-free queue.
unsafe impl Send for Packet {}
// SAFETY: `&Packet` only reads the packet's own bytes.
unsafe impl Sync for Packet {}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("buffer", &self.idx)
            .field("len", &self.len)
            .finish()
    }
}

/// The requested length or headroom does not fit the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("packet buffer too small")
    }
}

impl std::error::Error for NoRoom {}

impl Packet {
    /// Bytes free in front of the data.
    pub fn headroom(&self) -> usize {
        self.off as usize
    }

    /// The largest length the data may grow to from its current start.
    pub fn capacity(&self) -> usize {
        usize::from(self.pool_inner().stride) - self.off as usize
    }

    /// Sets the data length; new bytes (if it grows) keep whatever the buffer held.
    pub fn set_len(&mut self, len: usize) -> Result<(), NoRoom> {
        if len > self.capacity() {
            return Err(NoRoom);
        }
        self.len = len as u16;
        Ok(())
    }

    /// Grows the data by `n` bytes at the front (into the headroom), for
    /// prepending a header in place. The new bytes are returned zeroed.
    #[inline]
    pub fn push_front(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        if n > self.off as usize {
            return Err(NoRoom);
        }
        self.off -= n as u16;
        self.len += n as u16;
        let head = &mut self[..n];
        head.fill(0);
        Ok(head)
    }

    /// Puts `bytes` in front of the data (into the headroom): as
    /// [`Packet::push_front`] then a copy, without zeroing the bytes first.
    #[inline]
    pub fn prepend(&mut self, bytes: &[u8]) -> Result<(), NoRoom> {
        let n = bytes.len();
        if n > self.off as usize {
            return Err(NoRoom);
        }
        self.off -= n as u16;
        self.len += n as u16;
        let start = self.start();
        // SAFETY: as in deref_mut (the bytes are this packet's own, now part
        // of its data); `&mut self` makes this the only view.
        unsafe { self.pool_inner().mem.slice_mut(start, n) }.copy_from_slice(bytes);
        Ok(())
    }

    /// Shortens the data to `len` bytes (nothing happens if it is not longer).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len as usize {
            self.len = len as u16;
        }
    }

    /// Removes `n` bytes from the front of the data.
    pub fn pull_front(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len as usize {
            return Err(NoRoom);
        }
        self.off += n as u16;
        self.len -= n as u16;
        Ok(())
    }

    /// Pads the data with zeros to at least `len` bytes.
    pub fn pad_to(&mut self, len: usize) -> Result<(), NoRoom> {
        let old = self.len as usize;
        if old >= len {
            return Ok(());
        }
        self.set_len(len)?;
        self[old..].fill(0);
        Ok(())
    }

    #[inline(always)]
    fn pool_inner(&self) -> &PoolInner {
        // SAFETY: the packet holds a reference, so the pool is alive.
        unsafe { self.pool.as_ref() }
    }

    /// A handle to the pool this packet's buffer belongs to.
    pub fn pool(&self) -> Mempool {
        self.pool_inner().refs.fetch_add(1, Ordering::Relaxed);
        Mempool { inner: self.pool }
    }

    /// The device address of the first data byte.
    #[inline(always)]
    pub fn iova(&self) -> u64 {
        self.pool_inner().mem.iova() + self.start() as u64
    }

    #[inline(always)]
    fn start(&self) -> usize {
        self.idx as usize * usize::from(self.pool_inner().stride) + self.off as usize
    }
}

impl Deref for Packet {
    type Target = [u8];

    #[inline(always)]
    fn deref(&self) -> &[u8] {
        // A received buffer is wrapped only after its descriptor's DD was observed
        // with Acquire; a buffer given to TX is held by the queue, out of the
        // application's reach.
        // SAFETY: the buffer belongs to this handle alone: taken from the free
        // queue and not posted to the device.
        unsafe { self.pool_inner().mem.slice(self.start(), self.len as usize) }
    }
}

impl DerefMut for Packet {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref; `&mut self` makes this the only view.
        unsafe {
            self.pool_inner()
                .mem
                .slice_mut(self.start(), self.len as usize)
        }
    }
}

impl Drop for Packet {
    #[inline(always)]
    fn drop(&mut self) {
        // Cannot overflow: each index is in the queue at most once.
        let _ = self.pool_inner().free.push(self.idx);
        // SAFETY: the packet owned one reference and is gone after this.
        unsafe { release(self.pool, 1) }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::HeapBackend;

    #[test]
    fn alloc_until_exhausted_then_recover() {
        let pool = Mempool::new(&HeapBackend::default(), 4).unwrap();
        let held: Vec<_> = (0..4).map(|_| pool.alloc().unwrap()).collect();
        assert!(pool.alloc().is_none());
        assert_eq!(pool.exhausted_count(), 1);
        drop(held);
        assert_eq!(pool.free_count(), 4);
        assert!(pool.alloc().is_some());
    }

    #[test]
    fn packets_are_send_and_return_from_other_threads() {
        let pool = Mempool::new(&HeapBackend::default(), 8).unwrap();
        let pkts: Vec<_> = (0..8).map(|_| pool.alloc_from(&[7; 60]).unwrap()).collect();
        std::thread::spawn(move || {
            for p in &pkts {
                assert_eq!(&p[..], &[7; 60][..]);
            }
            drop(pkts);
        })
        .join()
        .unwrap();
        assert_eq!(pool.free_count(), 8);
    }

    #[test]
    fn headroom_push_pull_and_pad() {
        let pool = Mempool::new(&HeapBackend::default(), 1).unwrap();
        let mut p = pool.alloc_from(&[1, 2, 3]).unwrap();
        p.push_front(2).unwrap();
        assert_eq!(&p[..], &[0, 0, 1, 2, 3]);
        assert_eq!(p.headroom(), HEADROOM - 2);
        p.pull_front(2).unwrap();
        p.pad_to(MIN_FRAME_LEN).unwrap();
        assert_eq!(p.len(), 60);
        assert!(p[3..].iter().all(|&b| b == 0));
        assert_eq!(p.push_front(HEADROOM + 1), Err(NoRoom));
        assert_eq!(p.set_len(BUF_STRIDE), Err(NoRoom));
        assert!(pool.alloc_from(&[0; RX_BUF_LEN + 1]).is_none());
    }

    #[test]
    fn packets_keep_the_pool_alive_after_every_handle_is_gone() {
        let pool = Mempool::new(&HeapBackend::default(), 4).unwrap();
        let a = pool.alloc_from(&[1; 10]).unwrap();
        let b = pool.alloc_from(&[2; 10]).unwrap();
        assert_eq!(pool.inner().refs.load(Ordering::Relaxed), 3);
        drop(pool);
        assert_eq!(&a[..], &[1; 10]);
        let again = b.pool();
        assert_eq!(again.free_count(), 2);
        drop(again);
        drop(a);
        drop(b); // the last reference frees the pool (checked under Miri/ASan)
    }

    #[test]
    fn iova_points_at_the_data() {
        let pool = Mempool::new(&HeapBackend::default(), 2).unwrap();
        let _a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        let base = pool.inner().mem.iova();
        assert_eq!(b.iova(), base + (BUF_STRIDE + HEADROOM) as u64);
    }

    #[test]
    fn long_buffers_have_their_own_stride_and_bad_lengths_are_refused() {
        let be = HeapBackend::default();
        for bad in [0, 1000, 1536, MAX_BUF_LEN + 1024] {
            assert!(matches!(
                Mempool::with_buffer_len(&be, 2, bad),
                Err(DmaError::BufferLen { len }) if len == bad
            ));
        }
        let pool = Mempool::with_buffer_len(&be, 3, 9 * 1024).unwrap();
        assert_eq!(pool.buffer_len(), 9216);
        let big = vec![0xA5; 9216];
        let a = pool.alloc_from(&big).unwrap();
        let b = pool.alloc_from(&big[..100]).unwrap();
        assert!(pool.alloc_from(&vec![0; 9217]).is_none());
        assert_eq!(
            &a[..],
            &big[..],
            "a whole 9 KiB frame, not overwritten by the next"
        );
        assert_eq!(b.iova() - a.iova(), (HEADROOM + 9216) as u64);
        assert_eq!(a.capacity(), 9216);
        let mut c = pool.alloc().unwrap();
        assert_eq!(c.set_len(9216 + 1), Err(NoRoom));
        assert!(c.set_len(9216).is_ok());
    }

    #[test]
    fn prepend_and_truncate() {
        let pool = Mempool::new(&HeapBackend::default(), 1).unwrap();
        let mut p = pool.alloc_from(&[7; 60]).unwrap();
        p.prepend(&[1, 2, 3]).unwrap();
        assert_eq!(p.len(), 63);
        assert_eq!(&p[..4], &[1, 2, 3, 7]);
        assert_eq!(p.headroom(), HEADROOM - 3);
        p.truncate(10);
        assert_eq!(&p[..], &[1, 2, 3, 7, 7, 7, 7, 7, 7, 7]);
        p.truncate(20);
        assert_eq!(p.len(), 10, "truncate never grows");
        assert_eq!(p.prepend(&[0; HEADROOM]), Err(NoRoom));
        assert_eq!(p.len(), 10, "a refused prepend changes nothing");
        p.prepend(&[9; HEADROOM - 3]).unwrap();
        assert_eq!(p.headroom(), 0);
    }

    #[test]
    fn reclaimed_packets_give_their_references_back_in_one_go() {
        let be = HeapBackend::default();
        let pool = Mempool::new(&be, 4).unwrap();
        let other = Mempool::new(&be, 1).unwrap();
        let pkts: Vec<Packet> = (0..3).map(|_| pool.alloc().unwrap()).collect();
        assert_eq!(pool.inner().refs.load(Ordering::Relaxed), 4);
        let idx: Vec<u32> = pkts.into_iter().map(|p| pool.reclaim(p).unwrap()).collect();
        pool.release_reclaimed(idx.len());
        assert_eq!(pool.inner().refs.load(Ordering::Relaxed), 1);
        assert_eq!(
            pool.free_count(),
            1,
            "reclaimed buffers are the caller's, not free"
        );
        let foreign = other.alloc().unwrap();
        assert!(!pool.owns(&foreign));
        assert!(pool.reclaim(foreign).is_err());
        for i in idx {
            pool.free_raw(i);
        }
        assert_eq!(pool.free_count(), 4);
        assert_eq!(
            other.free_count(),
            1,
            "the foreign packet went back to its own pool"
        );
    }
}
