//! DMA memory: bytes that the CPU and the device both reach.
//!
//! The device (or the simulator's DMA thread) may write this memory at any time,
//! so the driver never forms `&`/`&mut` references into descriptor memory. It reads
//! and writes through the atomic accessors here, with explicit ordering, which
//! compile to plain aligned loads and stores on x86-64. Packet buffers are the one
//! exception, and only while the driver owns them (see [`DmaMemory::slice`]).

use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A block of DMA-reachable memory: a CPU address, the address the device uses
/// for it (the IOVA), and a length.
///
/// The value owns the mapping: when it is dropped the backend's owner object is
/// dropped too, which unmaps the memory from the device and frees it.
pub struct DmaMemory {
    ptr: NonNull<u8>,
    iova: u64,
    len: usize,
    _owner: Box<dyn Any + Send + Sync>,
}

// SAFETY: DmaMemory is a pointer to memory that lives as long as the value (kept
// alive by `_owner`); every access through it is atomic, or to a region the caller
// has been handed exclusive ownership of (documented on each unsafe method).
unsafe impl Send for DmaMemory {}
// SAFETY: as above; shared access only goes through atomic operations.
unsafe impl Sync for DmaMemory {}

impl std::fmt::Debug for DmaMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaMemory")
            .field("virt", &self.ptr)
            .field("iova", &format_args!("{:#x}", self.iova))
            .field("len", &self.len)
            .finish()
    }
}

impl DmaMemory {
    /// Wraps memory a backend allocated and mapped for the device.
    ///
    /// # Safety
    /// `ptr` must point to `len` bytes of readable and writable memory, aligned to
    /// at least 8 bytes, that stay valid until `owner` is dropped, and `iova` must be
    /// the address at which the device reaches the first of those bytes.
    pub unsafe fn from_raw_parts(
        ptr: NonNull<u8>,
        len: usize,
        iova: u64,
        owner: Box<dyn Any + Send + Sync>,
    ) -> Self {
        DmaMemory {
            ptr,
            iova,
            len,
            _owner: owner,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the block has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device (IO virtual) address of byte 0.
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// The CPU address of byte 0, for backends and simulators that translate IOVAs.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    #[inline(always)]
    fn check(&self, offset: usize, size: usize) {
        assert!(
            offset.is_multiple_of(size)
                && offset.checked_add(size).is_some_and(|end| end <= self.len),
            "DMA access at {offset:#x}+{size} outside a {:#x}-byte block or misaligned",
            self.len
        );
    }

    /// Atomically loads the little-endian u32 at `offset` (4-byte aligned).
    #[inline(always)]
    pub fn load_u32(&self, offset: usize, order: Ordering) -> u32 {
        self.check(offset, 4);
        // SAFETY: in bounds and aligned (checked above); the memory is live while
        // self is; atomic access is sound against concurrent device writes.
        let a = unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast()) };
        u32::from_le(a.load(order))
    }

    /// Atomically stores the little-endian u32 at `offset` (4-byte aligned).
    #[inline(always)]
    pub fn store_u32(&self, offset: usize, value: u32, order: Ordering) {
        self.check(offset, 4);
        // SAFETY: as in load_u32.
        let a = unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast()) };
        a.store(value.to_le(), order);
    }

    /// Atomically loads the little-endian u64 at `offset` (8-byte aligned).
    #[inline(always)]
    pub fn load_u64(&self, offset: usize, order: Ordering) -> u64 {
        self.check(offset, 8);
        // SAFETY: as in load_u32.
        let a = unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) };
        u64::from_le(a.load(order))
    }

    /// Atomically stores the little-endian u64 at `offset` (8-byte aligned).
    #[inline(always)]
    pub fn store_u64(&self, offset: usize, value: u64, order: Ordering) {
        self.check(offset, 8);
        // SAFETY: as in load_u32.
        let a = unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) };
        a.store(value.to_le(), order);
    }

    /// A shared view of `len` bytes at `offset`.
    ///
    /// # Safety
    /// Nobody (device or CPU) may write those bytes while the returned slice lives:
    /// the caller must own them, e.g. a receive buffer whose descriptor the device
    /// has written back (observed with Acquire ordering) and not yet been given again.
    #[inline(always)]
    pub unsafe fn slice(&self, offset: usize, len: usize) -> &[u8] {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: in bounds (checked); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), len) }
    }

    /// A mutable view of `len` bytes at `offset`.
    ///
    /// # Safety
    /// Nobody else (device or CPU) may read or write those bytes while the returned
    /// slice lives; see [`DmaMemory::slice`].
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, offset: usize, len: usize) -> &mut [u8] {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: in bounds (checked); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(offset), len) }
    }
}
