//! Receive and transmit descriptor rings, generic over the descriptor format.
//!
//! Linux ring vocabulary: `next_to_clean` is the oldest descriptor handed to the
//! device, `next_to_use` the next one the driver fills. Work per call is bounded
//! by the caller's batch size.

mod rx;
mod tx;

pub use rx::{RxQueue, RxQueueStats};
pub use tx::{TxQueue, TxQueueStats};

use std::sync::atomic::{AtomicU64, Ordering};

/// A statistics counter written by one thread (the queue's owner) and read by
/// any: a relaxed load and store, no locked instruction on the fast path.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning thread calls this.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Ring sizes the hardware accepts: 8 to 4096 descriptors, a power of two
/// (RDLEN must be a multiple of 128 bytes; a power of two lets the driver mask).
pub fn check_ring_size(setting: &'static str, size: usize) -> Result<(), crate::Error> {
    if !(8..=4096).contains(&size) || !size.is_power_of_two() {
        return Err(crate::Error::InvalidConfig {
            setting,
            value: size,
            allowed: "a power of two from 8 to 4096".into(),
        });
    }
    Ok(())
}
