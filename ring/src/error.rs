//! Small, `Copy` error types of the ring.

use core::fmt;

/// `push` failed because the ring is full; the rejected item is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(
    /// The item that did not fit.
    pub T,
);

impl<T> Full<T> {
    /// Returns the item that did not fit.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl<T: fmt::Debug> std::error::Error for Full<T> {}

/// Why [`Consumer::try_pop`](crate::Consumer::try_pop) returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// Nothing to pop right now; the producer is still alive.
    Empty,
    /// The producer is gone and every item it pushed has been popped.
    Closed,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::Empty => "ring is empty",
            PopError::Closed => "ring is closed: producer gone and ring drained",
        })
    }
}

impl std::error::Error for PopError {}

/// [`Ring::with_capacity`](crate::Ring::with_capacity) was asked for an impossible size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityError {
    /// A capacity of zero was requested.
    Zero,
    /// The capacity, rounded up to a power of two, does not fit in memory.
    TooLarge {
        /// The requested capacity.
        requested: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => f.write_str("ring capacity must be at least 1"),
            CapacityError::TooLarge { requested } => {
                write!(f, "ring capacity {requested} is too large")
            }
        }
    }
}

impl std::error::Error for CapacityError {}
