//! Raw, atomic access to DMA memory through host pointers the IOMMU handed out.
//!
//! The engine never forms `&`/`&mut` to driver memory: descriptor words are
//! read and written with atomics, packet bytes with `copy_nonoverlapping` into
//! buffers the driver has handed to the device.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Stores a little-endian u64.
///
/// # Safety
/// `p` must be valid for 8 bytes and 8-byte aligned.
#[inline(always)]
pub(crate) unsafe fn store_u64(p: *mut u8, v: u64, order: Ordering) {
    // SAFETY: caller's promise; atomic access tolerates the driver's concurrent atomics.
    unsafe { AtomicU64::from_ptr(p.cast()).store(v.to_le(), order) }
}

/// Loads a little-endian u64.
///
/// # Safety
/// As [`store_u64`].
#[inline(always)]
pub(crate) unsafe fn load_u64(p: *mut u8, order: Ordering) -> u64 {
    // SAFETY: caller's promise.
    u64::from_le(unsafe { AtomicU64::from_ptr(p.cast()).load(order) })
}

/// ORs bits into a little-endian u32.
///
/// # Safety
/// `p` must be valid for 4 bytes and 4-byte aligned.
#[inline(always)]
pub(crate) unsafe fn or_u32(p: *mut u8, bits: u32, order: Ordering) {
    // SAFETY: caller's promise.
    unsafe { AtomicU32::from_ptr(p.cast()).fetch_or(bits.to_le(), order) };
}

/// Copies `src` to device-reachable memory at `dst`.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes, and the driver must have handed
/// that buffer to the device (it does not read or write it until it sees DD).
#[inline(always)]
pub(crate) unsafe fn write_bytes(dst: *mut u8, src: &[u8]) {
    // SAFETY: caller's promise; src is engine-owned memory, so no overlap.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) }
}

/// Appends `len` bytes of device-reachable memory at `src` to `out`.
///
/// # Safety
/// `src` must be valid for `len` bytes that the driver handed to the device.
#[inline(always)]
pub(crate) unsafe fn read_bytes(src: *const u8, len: usize, out: &mut Vec<u8>) {
    out.reserve(len);
    let at = out.len();
    // SAFETY: reserve made room for len bytes after `at`; src is caller-checked
    // and cannot overlap the engine's own Vec.
    unsafe {
        std::ptr::copy_nonoverlapping(src, out.as_mut_ptr().add(at), len);
        out.set_len(at + len);
    }
}
