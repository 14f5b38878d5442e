//! The ring itself: shared storage plus the [`Producer`] and [`Consumer`] halves.
//!
//! Why `unsafe` lives here, outside the driver: a lock-free ring hands owned,
//! non-`Copy` items (packet handles) between two threads through slots that are
//! sometimes empty, so the slots are `UnsafeCell<MaybeUninit<T>>`. Only the two
//! private accessors `Shared::write` and `Shared::read` touch them, and the head
//! and tail indices (Acquire/Release) guarantee each slot has exactly one owner
//! at a time; each block says so in its `// SAFETY:` comment. A safe queue
//! (crossbeam's `ArrayQueue`) pays a compare-and-swap per item, which the
//! cached-index SPSC design avoids.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{CapacityError, Full, PopError};
use crossbeam_utils::CachePadded;

/// Constructor namespace for a single-producer/single-consumer ring.
///
/// The ring itself is never handled directly: [`Ring::with_capacity`] hands
/// out its two halves, and the storage is freed (remaining items dropped) when
/// both halves are gone.
#[derive(Debug)]
pub struct Ring<T> {
    _items: std::marker::PhantomData<T>,
}

impl<T> Ring<T> {
    /// Creates a ring holding at least `capacity` items and returns its two halves.
    ///
    /// The capacity is rounded up to the next power of two (see
    /// [`Producer::capacity`] for the actual value).
    ///
    /// # Errors
    /// [`CapacityError::Zero`] for `capacity == 0`, and
    /// [`CapacityError::TooLarge`] when the rounded capacity overflows or
    /// its storage would exceed `isize::MAX` bytes.
    pub fn with_capacity(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let too_large = CapacityError::TooLarge {
            requested: capacity,
        };
        let capacity = capacity.checked_next_power_of_two().ok_or(too_large)?;
        let bytes = capacity
            .checked_mul(std::mem::size_of::<T>())
            .ok_or(too_large)?;
        if bytes > isize::MAX as usize {
            return Err(too_large);
        }
        let slots = (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        let shared = Arc::new(Shared {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            producer_gone: AtomicBool::new(false),
            consumer_gone: AtomicBool::new(false),
            mask: capacity - 1,
            slots,
        });
        let producer = Producer {
            shared: Arc::clone(&shared),
            tail: 0,
            cached_head: 0,
        };
        let consumer = Consumer {
            shared,
            head: 0,
            cached_tail: 0,
        };
        Ok((producer, consumer))
    }
}

/// Storage and the two published indices, shared by both halves.
struct Shared<T> {
    /// Index of the next slot to read. Stored only by the consumer (Release).
    head: CachePadded<AtomicUsize>,
    /// Index of the next slot to write. Stored only by the producer (Release).
    tail: CachePadded<AtomicUsize>,
    /// Set (Release) by the producer's `Drop`, after its last `tail` store.
    producer_gone: AtomicBool,
    /// Set (Release) by the consumer's `Drop`, after its last `head` store.
    consumer_gone: AtomicBool,
    /// `capacity - 1`; capacity is a power of two.
    mask: usize,
    /// Slots `head..tail` (modulo capacity) are initialised; the rest are not.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the halves never touch the same slot at the same time: slots in
// `head..tail` belong to the consumer, all others to the producer, and
// ownership of a slot passes between them only through the Release/Acquire
// pairs on `head` and `tail`. Items are moved across threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Moves `item` into the slot for `index`.
    ///
    /// # Safety
    /// Only the producer may call this, and the slot must be free: `index` is
    /// in `tail..head + capacity` as last observed with an Acquire load of `head`.
    unsafe fn write(&self, index: usize, item: T) {
        let slot = self.slots[index & self.mask].get();
        // SAFETY: the caller owns this free slot; nobody else reads or writes
        // it until the producer publishes it with a Release store of `tail`.
        unsafe { (*slot).write(item) };
    }

    /// Moves the item out of the slot for `index`, leaving it uninitialised.
    ///
    /// # Safety
    /// Only the consumer may call this, the slot must be initialised (`index`
    /// is in `head..tail` as last observed with an Acquire load of `tail`), and
    /// `head` must move past `index` before it is read again.
    unsafe fn read(&self, index: usize) -> T {
        let slot = self.slots[index & self.mask].get();
        // SAFETY: the producer initialised this slot and published it with a
        // Release store of `tail` that the caller observed with Acquire; the
        // producer does not touch it again until `head` moves past it.
        unsafe { (*slot).assume_init_read() }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both halves are gone; `Arc`'s drop gives us exclusive access and makes
        // their final index stores visible.
        let tail = *self.tail.get_mut();
        let mut index = *self.head.get_mut();
        while index != tail {
            let slot = self.slots[index & self.mask].get_mut();
            // SAFETY: slots in `head..tail` are initialised and were not read out.
            unsafe { slot.assume_init_drop() };
            index = index.wrapping_add(1);
        }
    }
}

/// The sending half of a ring. `Send` for `T: Send`; one per ring.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Authoritative next write index (the shared `tail` trails it only
    /// within a batch).
    tail: usize,
    /// Last observed value of the consumer's `head`.
    cached_head: usize,
}

impl<T> Producer<T> {
    /// Free slots, reloading the consumer's `head` only if the cached copy
    /// shows fewer than `want` free.
    fn free_slots(&mut self, want: usize) -> usize {
        let capacity = self.shared.capacity();
        let free = capacity - self.tail.wrapping_sub(self.cached_head);
        if free >= want {
            return free;
        }
        // Acquire: pairs with the consumer's Release store of `head`, so the
        // slots it freed are no longer being read.
        self.cached_head = self.shared.head.load(Ordering::Acquire);
        capacity - self.tail.wrapping_sub(self.cached_head)
    }

    /// Publishes everything written so far.
    fn publish(&self) {
        // Release: the slot writes before this become visible to a consumer
        // that loads `tail` with Acquire.
        self.shared.tail.store(self.tail, Ordering::Release);
    }

    /// Pushes one item.
    ///
    /// # Errors
    /// [`Full`] with the item handed back if there is no free slot.
    pub fn push(&mut self, item: T) -> Result<(), Full<T>> {
        if self.free_slots(1) == 0 {
            return Err(Full(item));
        }
        // SAFETY: we are the producer and `free_slots` saw this slot free.
        unsafe { self.shared.write(self.tail, item) };
        self.tail = self.tail.wrapping_add(1);
        self.publish();
        Ok(())
    }

    /// Moves as many items as fit from the front of `batch` into the ring, in
    /// order, and returns how many were moved.
    ///
    /// Items that did not fit stay in `batch`, in order, shifted to the front;
    /// `batch` is never reallocated. The items are published with a single
    /// index store.
    pub fn push_batch(&mut self, batch: &mut Vec<T>) -> usize {
        let n = self.free_slots(batch.len()).min(batch.len());
        self.push_iter(&mut batch.drain(..n))
    }

    /// Pulls items from `items` while there is room, and returns how many
    /// were pushed.
    ///
    /// No item is taken from the iterator unless it has a free slot waiting for
    /// it, so the caller keeps the rest (for example in a `vec::IntoIter` or a
    /// `VecDeque` drain it has not finished). All items are published with a
    /// single index store.
    pub fn push_iter<I: Iterator<Item = T>>(&mut self, items: &mut I) -> usize {
        let free = self.free_slots(items.size_hint().0.max(1));
        let mut pushed = 0;
        while pushed < free {
            let Some(item) = items.next() else { break };
            // SAFETY: we are the producer and `free_slots` saw `free` slots
            // free from `tail` on; this is one of them.
            unsafe { self.shared.write(self.tail, item) };
            self.tail = self.tail.wrapping_add(1);
            pushed += 1;
        }
        if pushed > 0 {
            self.publish();
        }
        pushed
    }

    /// Number of items in the ring (a snapshot: the consumer may be popping).
    pub fn len(&self) -> usize {
        self.tail
            .wrapping_sub(self.shared.head.load(Ordering::Acquire))
    }

    /// True if the ring holds no items (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the ring has no free slot (a snapshot).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Number of slots (a power of two).
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// True once the consumer is gone: nothing pushed from now on will be
    /// popped (it will be dropped with the ring).
    pub fn is_closed(&self) -> bool {
        self.shared.consumer_gone.load(Ordering::Acquire)
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Publish anything written but not yet published (only possible if an
        // iterator passed to `push_iter` panicked), then say we are gone.
        self.publish();
        // Release: orders the final `tail` store before the flag.
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a ring. `Send` for `T: Send`; one per ring.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Authoritative next read index.
    head: usize,
    /// Last observed value of the producer's `tail`.
    cached_tail: usize,
}

impl<T> Consumer<T> {
    /// Items ready to pop, reloading the producer's `tail` only if the cached
    /// copy shows fewer than `want`.
    fn available(&mut self, want: usize) -> usize {
        let ready = self.cached_tail.wrapping_sub(self.head);
        if ready >= want {
            return ready;
        }
        // Acquire: pairs with the producer's Release store of `tail`, so the
        // slot contents it published are visible.
        self.cached_tail = self.shared.tail.load(Ordering::Acquire);
        self.cached_tail.wrapping_sub(self.head)
    }

    /// Frees every slot read so far.
    fn publish(&self) {
        // Release: our reads of the slots happen before the producer, loading
        // `head` with Acquire, overwrites them.
        self.shared.head.store(self.head, Ordering::Release);
    }

    /// Pops the oldest item, or `None` if the ring is empty right now.
    ///
    /// Use [`Consumer::try_pop`] or [`Consumer::is_closed`] to tell "empty"
    /// from "empty for good".
    pub fn pop(&mut self) -> Option<T> {
        self.try_pop().ok()
    }

    /// Pops the oldest item.
    ///
    /// # Errors
    /// [`PopError::Empty`] if nothing is ready but the producer is alive;
    /// [`PopError::Closed`] if the producer is gone and the ring is drained.
    pub fn try_pop(&mut self) -> Result<T, PopError> {
        if self.cached_tail == self.head {
            // Load the flag *before* reloading `tail`: if the flag is set, the
            // tail we load next is the producer's final one.
            let gone = self.shared.producer_gone.load(Ordering::Acquire);
            if self.available(1) == 0 {
                return Err(if gone {
                    PopError::Closed
                } else {
                    PopError::Empty
                });
            }
        }
        // SAFETY: we are the consumer and `head != cached_tail`, a value of
        // `tail` loaded with Acquire, so this slot is initialised.
        let item = unsafe { self.shared.read(self.head) };
        self.head = self.head.wrapping_add(1);
        self.publish();
        Ok(item)
    }

    /// Appends up to `max` items to `out`, oldest first, and returns how many.
    ///
    /// Reserves room in `out` first (no allocation if it already has the
    /// capacity). The slots are released with a single index store.
    pub fn pop_batch(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let n = self.available(max).min(max);
        if n == 0 {
            return 0;
        }
        out.reserve(n);
        for _ in 0..n {
            // SAFETY: we are the consumer and `head` is one of the `n` slots
            // below `cached_tail`, a value of `tail` loaded with Acquire.
            let item = unsafe { self.shared.read(self.head) };
            self.head = self.head.wrapping_add(1);
            out.push(item);
        }
        self.publish();
        n
    }

    /// Number of items in the ring (a snapshot: the producer may be pushing).
    pub fn len(&self) -> usize {
        self.shared
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head)
    }

    /// True if there is nothing to pop right now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of slots (a power of two).
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// True once the producer is gone *and* every item it pushed has been
    /// popped: nothing will ever arrive again.
    pub fn is_closed(&self) -> bool {
        // Flag first, then `tail`: see `try_pop`.
        self.shared.producer_gone.load(Ordering::Acquire) && self.is_empty()
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.publish();
        // Release: orders the final `head` store before the flag.
        self.shared.consumer_gone.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    /// Counts its drops in a shared counter.
    #[derive(Debug)]
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn halves_are_send() {
        assert_send::<Producer<Box<u8>>>();
        assert_send::<Consumer<Box<u8>>>();
    }

    #[test]
    fn capacity_rounds_up_and_rejects_zero() {
        assert_eq!(
            Ring::<u8>::with_capacity(0).unwrap_err(),
            CapacityError::Zero
        );
        let (tx, rx) = Ring::<u8>::with_capacity(5).unwrap();
        assert_eq!(tx.capacity(), 8);
        assert_eq!(rx.capacity(), 8);
        assert_eq!(Ring::<u8>::with_capacity(1).unwrap().0.capacity(), 1);
        assert!(matches!(
            Ring::<u8>::with_capacity(usize::MAX),
            Err(CapacityError::TooLarge { .. })
        ));
        assert!(matches!(
            Ring::<u64>::with_capacity(usize::MAX / 4 + 1),
            Err(CapacityError::TooLarge { .. })
        ));
    }

    #[test]
    fn fifo_order() {
        let (mut tx, mut rx) = Ring::with_capacity(8).unwrap();
        for i in 0..5 {
            tx.push(i.to_string()).unwrap();
        }
        for i in 0..5 {
            assert_eq!(rx.pop(), Some(i.to_string()));
        }
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn full_and_empty() {
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        assert!(tx.is_empty() && rx.is_empty());
        assert_eq!(rx.try_pop(), Err(PopError::Empty));
        for i in 0..4 {
            tx.push(Box::new(i)).unwrap();
        }
        assert!(tx.is_full());
        assert_eq!(tx.len(), 4);
        assert_eq!(rx.len(), 4);
        let Full(back) = tx.push(Box::new(99)).unwrap_err();
        assert_eq!(*back, 99);
        assert_eq!(*rx.pop().unwrap(), 0);
        tx.push(Box::new(4)).unwrap();
        assert_eq!(tx.push(Box::new(5)).unwrap_err().into_inner(), Box::new(5));
        for i in 1..5 {
            assert_eq!(*rx.pop().unwrap(), i);
        }
        assert!(rx.pop().is_none());
        assert!(!rx.is_closed());
    }

    #[test]
    fn wraps_around_many_times() {
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        let mut next_in = 0u32;
        let mut next_out = 0u32;
        let rounds = if cfg!(miri) { 200 } else { 100_000 };
        for round in 0..rounds {
            // Vary the fill level so head and tail cross slot 0 at every phase.
            let burst = round % 5;
            for _ in 0..burst {
                if tx.push(next_in).is_ok() {
                    next_in += 1;
                }
            }
            for _ in 0..(round % 3 + 1) {
                if let Some(v) = rx.pop() {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
            }
        }
        while let Some(v) = rx.pop() {
            assert_eq!(v, next_out);
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
        assert!(next_in > 4 * 1000 || cfg!(miri));
    }

    #[test]
    fn indices_survive_usize_overflow() {
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        // Start every counter just below the wrap point.
        let start = usize::MAX - 5;
        tx.tail = start;
        tx.cached_head = start;
        tx.shared.tail.store(start, Ordering::Relaxed);
        tx.shared.head.store(start, Ordering::Relaxed);
        rx.head = start;
        rx.cached_tail = start;
        for i in 0..40 {
            tx.push(i).unwrap();
            tx.push(i + 100).unwrap();
            assert_eq!(rx.len(), 2);
            assert_eq!(rx.pop(), Some(i));
            assert_eq!(rx.pop(), Some(i + 100));
        }
    }

    #[test]
    fn batch_ops() {
        let (mut tx, mut rx) = Ring::with_capacity(8).unwrap();
        let mut batch: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let cap_before = batch.capacity();
        let ptr_before = batch.as_ptr();
        assert_eq!(tx.push_batch(&mut batch), 8);
        // The rest stays with the caller, in order, in the same allocation.
        assert_eq!(batch, ["8", "9"]);
        assert_eq!(batch.capacity(), cap_before);
        assert_eq!(batch.as_ptr(), ptr_before);
        assert_eq!(tx.push_batch(&mut batch), 0);

        let mut out = Vec::with_capacity(16);
        assert_eq!(rx.pop_batch(&mut out, 3), 3);
        assert_eq!(out, ["0", "1", "2"]);
        assert_eq!(tx.push_batch(&mut batch), 2);
        assert!(batch.is_empty());
        assert_eq!(rx.pop_batch(&mut out, 100), 7);
        assert_eq!(out, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert_eq!(rx.pop_batch(&mut out, 100), 0);
        assert_eq!(rx.pop_batch(&mut out, 0), 0);
        assert_eq!(tx.push_batch(&mut Vec::new()), 0);
    }

    #[test]
    fn push_iter_takes_only_what_fits() {
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        let mut source = (0..10).map(|i| i * 10);
        assert_eq!(tx.push_iter(&mut source), 4);
        // Nothing was pulled from the iterator beyond what fitted.
        assert_eq!(source.next(), Some(40));
        assert_eq!(rx.pop(), Some(0));
        let mut rest = vec![50, 60].into_iter();
        assert_eq!(tx.push_iter(&mut rest), 1);
        assert_eq!(rest.as_slice(), &[60]);
        let mut out = Vec::new();
        rx.pop_batch(&mut out, 10);
        assert_eq!(out, [10, 20, 30, 50]);
    }

    #[test]
    fn remaining_items_dropped_when_both_halves_gone() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = Ring::with_capacity(8).unwrap();
        for _ in 0..6 {
            tx.push(Counted(drops.clone())).unwrap();
        }
        drop(rx.pop());
        drop(rx.pop());
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        drop(tx);
        assert_eq!(drops.load(Ordering::Relaxed), 2, "consumer still alive");
        drop(rx);
        assert_eq!(drops.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn remaining_items_dropped_after_wrap() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        for _ in 0..3 {
            tx.push(Counted(drops.clone())).unwrap();
        }
        let mut out = Vec::new();
        rx.pop_batch(&mut out, 3);
        drop(out);
        // These occupy slots 3, 0 and 1: the live range wraps.
        for _ in 0..3 {
            tx.push(Counted(drops.clone())).unwrap();
        }
        drop(rx);
        assert!(tx.is_closed());
        // Pushing after the consumer left still works; the items are dropped later.
        tx.push(Counted(drops.clone())).unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 3);
        drop(tx);
        assert_eq!(drops.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn consumer_learns_producer_is_gone_after_draining() {
        let (mut tx, mut rx) = Ring::with_capacity(4).unwrap();
        tx.push(1).unwrap();
        tx.push(2).unwrap();
        assert!(!tx.is_closed());
        drop(tx);
        assert!(!rx.is_closed(), "items remain");
        assert_eq!(rx.try_pop(), Ok(1));
        assert_eq!(rx.try_pop(), Ok(2));
        assert!(rx.is_closed());
        assert_eq!(rx.try_pop(), Err(PopError::Closed));
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn zero_sized_items() {
        let (mut tx, mut rx) = Ring::with_capacity(2).unwrap();
        tx.push(()).unwrap();
        tx.push(()).unwrap();
        assert!(tx.push(()).is_err());
        assert_eq!(rx.pop(), Some(()));
    }

    /// Moves `count` sequential u64 through a ring of `capacity` using batches
    /// of `batch` on both sides, checking order.
    fn two_thread_transfer(count: u64, capacity: usize, batch: usize) {
        let (mut tx, mut rx) = Ring::with_capacity(capacity).unwrap();
        let producer = thread::spawn(move || {
            let mut pending: Vec<u64> = Vec::with_capacity(batch);
            let mut next = 0u64;
            while next < count || !pending.is_empty() {
                while pending.len() < batch && next < count {
                    pending.push(next);
                    next += 1;
                }
                if tx.push_batch(&mut pending) == 0 {
                    thread::yield_now();
                }
            }
        });
        let mut out = Vec::with_capacity(batch);
        let mut expected = 0u64;
        loop {
            out.clear();
            if rx.pop_batch(&mut out, batch) == 0 {
                match rx.try_pop() {
                    Ok(v) => out.push(v),
                    Err(PopError::Empty) => {
                        thread::yield_now();
                        continue;
                    }
                    Err(PopError::Closed) => break,
                }
            }
            for &v in &out {
                assert_eq!(v, expected);
                expected += 1;
            }
        }
        producer.join().unwrap();
        assert_eq!(expected, count);
    }

    #[test]
    fn stress_two_threads_ten_million_in_order() {
        let count = if cfg!(miri) { 500 } else { 10_000_000 };
        two_thread_transfer(count, 1024, 32);
    }

    /// Small enough for Miri (`cargo +nightly miri test -p igbpoll-ring`):
    /// heap-owning items through a tiny ring so every slot is reused often and
    /// any double drop, leak or data race on a slot is reported.
    #[test]
    fn miri_friendly_owned_items_across_threads() {
        let count = if cfg!(miri) { 64 } else { 5_000 };
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = Ring::with_capacity(2).unwrap();
        let producer_drops = drops.clone();
        let producer = thread::spawn(move || {
            for i in 0..count {
                let mut item = (Box::new(i), Counted(producer_drops.clone()));
                loop {
                    match tx.push(item) {
                        Ok(()) => break,
                        Err(Full(back)) => {
                            item = back;
                            thread::yield_now();
                        }
                    }
                }
            }
            // Leave some items behind for the ring's own drop.
            let mut extra: Vec<_> = (0..3)
                .map(|i| (Box::new(count + i), Counted(producer_drops.clone())))
                .collect();
            while tx.push_batch(&mut extra) == 0 && !tx.is_closed() {
                thread::yield_now();
            }
        });
        let mut expected = 0;
        while expected < count {
            match rx.try_pop() {
                Ok((v, _counted)) => {
                    assert_eq!(*v, expected);
                    expected += 1;
                }
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => panic!("closed early"),
            }
        }
        producer.join().unwrap();
        // Items left in the ring (at most its capacity) are dropped with it;
        // extras that did not fit were dropped by the producer thread.
        assert!(rx.len() <= 2);
        drop(rx);
        assert_eq!(drops.load(Ordering::Relaxed), count + 3);
    }
}
