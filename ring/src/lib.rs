//! A lock-free, bounded, single-producer/single-consumer ring for moving owned
//! items (packet handles) between two cores.
//!
//! [`Ring::with_capacity`] returns a ([`Producer`], [`Consumer`]) pair. Each half
//! is `Send` (for `T: Send`) and is meant to live on its own thread; all
//! operations take `&mut self`, so the type system enforces "single" producer
//! and "single" consumer.
//!
//! ```
//! use igbpoll_ring::{Ring, PopError};
//!
//! let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
//! tx.push(String::from("a")).unwrap();
//! let mut batch = vec![String::from("b"), String::from("c")];
//! assert_eq!(tx.push_batch(&mut batch), 2);
//! drop(tx);
//!
//! let mut out = Vec::new();
//! assert_eq!(rx.pop_batch(&mut out, 8), 3);
//! assert_eq!(out, ["a", "b", "c"]);
//! // The producer is gone and everything was drained: the ring is closed.
//! assert_eq!(rx.try_pop(), Err(PopError::Closed));
//! ```
//!
//! # Design
//!
//! * Indices are free-running `usize` counters (`head` = next slot to read,
//!   `tail` = next slot to write); a slot is `index & (capacity - 1)` and the
//!   fill level is `tail.wrapping_sub(head)`. Capacity is a power of two so the
//!   wrap is a mask and the counters may overflow harmlessly.
//! * Each side keeps its own index in a plain field and a *cached* copy of the
//!   other side's index. It only reloads the shared atomic when the cached value
//!   says the ring looks full (producer) or empty (consumer), so in steady state
//!   a push or pop touches no cache line written by the other core.
//! * The producer's and consumer's shared fields sit on separate, padded cache
//!   lines ([`CachePadded`]) to avoid false sharing.
//!
//! # Memory ordering
//!
//! * The producer writes a slot, then publishes it with a `Release` store of
//!   `tail`. The consumer loads `tail` with `Acquire` before reading slots, so
//!   the slot contents are visible to it.
//! * The consumer moves an item out of a slot, then frees it with a `Release`
//!   store of `head`. The producer loads `head` with `Acquire` before reusing
//!   slots, so it never overwrites a slot the consumer is still reading.
//! * Dropping a half stores its "gone" flag with `Release` after its last index
//!   store; the other half loads it with `Acquire` *before* reloading the index,
//!   so "closed and empty" really means nothing more will arrive.
//!
//! # Checking under Miri
//!
//! The tests use small iteration counts under `cfg(miri)`; run them with
//! `cargo +nightly miri test -p igbpoll-ring` (needs the `miri` rustup
//! component; CI does not require it).

#![warn(missing_docs)]

mod error;
mod spsc;

/// Pads and aligns a value to its own cache line(s) (128 bytes on x86_64,
/// where the CPU prefetches lines in adjacent pairs).
pub use crossbeam_utils::CachePadded;
pub use error::{CapacityError, Full, PopError};
pub use spsc::{Consumer, Producer, Ring};
