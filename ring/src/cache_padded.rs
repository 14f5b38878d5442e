//! Alignment wrapper that keeps a value on its own cache line(s).

use core::ops::{Deref, DerefMut};

/// Pads and aligns a value to 128 bytes.
///
/// 128 rather than 64 because Intel CPUs prefetch cache lines in adjacent
/// pairs, so two hot values 64 bytes apart can still false-share.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct CachePadded<T>(
    /// The wrapped value.
    pub T,
);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_to_128() {
        assert_eq!(core::mem::align_of::<CachePadded<u8>>(), 128);
        assert_eq!(core::mem::size_of::<CachePadded<u64>>(), 128);
    }
}
