//! The ARP cache (RFC 826): resolved neighbours that expire, and addresses
//! being resolved, each with a bounded queue of packets waiting for it.
//!
//! The cache holds at most [`ArpConfig::capacity`] addresses. When it is full,
//! a new address takes the place of the resolved entry closest to expiry; when
//! every entry is still being resolved, the new one is refused. An unresolved
//! address is asked for every [`ArpConfig::retry_interval`], at most
//! [`ArpConfig::max_tries`] times; then it and its waiting packets are dropped.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::time::Instant;
use crate::wire::{EthernetAddress, Ipv4Addr};

/// How the ARP cache behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpConfig {
    /// Most addresses held (resolved or being resolved).
    pub capacity: usize,
    /// How long a resolved entry is trusted after it was last learned.
    pub entry_ttl: Duration,
    /// Time between two requests for an unresolved address.
    pub retry_interval: Duration,
    /// Requests sent for an address before giving up.
    pub max_tries: u32,
    /// Packets that may wait for one unresolved address.
    pub queue_len: usize,
}

impl Default for ArpConfig {
    /// 256 entries, 60 s lifetime, a request every second, 3 tries, 8
    /// waiting packets per address.
    fn default() -> ArpConfig {
        ArpConfig {
            capacity: 256,
            entry_ttl: Duration::from_secs(60),
            retry_interval: Duration::from_secs(1),
            max_tries: 3,
            queue_len: 8,
        }
    }
}

/// Where to send frames for a resolved address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Neighbor {
    /// Its MAC.
    pub mac: EthernetAddress,
    /// The VLAN tag its ARP came with (frames to it carry the same).
    pub vlan_tci: Option<u16>,
}

#[derive(Debug)]
enum State {
    Resolved {
        neighbor: Neighbor,
        expires: Instant,
    },
    Pending {
        tries: u32,
        next_try: Instant,
        /// IPv4 packets (header and payload) waiting for the address.
        queue: VecDeque<Vec<u8>>,
    },
}

/// What [`ArpCache::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// Queued; the address is new (or had expired): send the first request now.
    FirstRequest,
    /// Queued behind a resolution already under way.
    Waiting,
    /// Dropped: this address's queue is full.
    QueueFull,
    /// Dropped: the cache is full of unresolved addresses.
    CacheFull,
}

/// What the timers found in [`ArpCache::poll`].
#[derive(Debug, Default)]
pub(crate) struct ArpTimers {
    /// Addresses to ask for again.
    pub retry: Vec<Ipv4Addr>,
    /// Addresses given up on.
    pub failed: u64,
    /// Packets dropped with them.
    pub dropped: u64,
}

/// The cache.
#[derive(Debug)]
pub(crate) struct ArpCache {
    config: ArpConfig,
    // Ordered, so timers fire in the same order for the same input (a
    // HashMap's random iteration order made output nondeterministic).
    entries: BTreeMap<Ipv4Addr, State>,
    /// Earliest retry deadline of any pending entry (may be early, never late).
    next_retry: Option<Instant>,
}

impl ArpCache {
    pub fn new(config: ArpConfig) -> ArpCache {
        ArpCache {
            config,
            entries: BTreeMap::new(),
            next_retry: None,
        }
    }

    /// The neighbour at `ip`, if resolved and not expired.
    pub fn lookup(&self, now: Instant, ip: Ipv4Addr) -> Option<Neighbor> {
        match self.entries.get(&ip)? {
            State::Resolved { neighbor, expires } if now < *expires => Some(*neighbor),
            _ => None,
        }
    }

    /// Records that `ip` is at `neighbor`. An existing entry is updated (the
    /// RFC 826 merge); a missing one is created only when `create` is true.
    /// Returns the packets that were waiting for `ip` (empty if none), or
    /// `None` when nothing was recorded.
    pub fn learn(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        neighbor: Neighbor,
        create: bool,
    ) -> Option<VecDeque<Vec<u8>>> {
        let expires = now + self.config.entry_ttl;
        if let Some(state) = self.entries.get_mut(&ip) {
            let old = core::mem::replace(state, State::Resolved { neighbor, expires });
            return Some(match old {
                State::Pending { queue, .. } => queue,
                State::Resolved { .. } => VecDeque::new(),
            });
        }
        if !create || !self.make_room() {
            return None;
        }
        self.entries
            .insert(ip, State::Resolved { neighbor, expires });
        Some(VecDeque::new())
    }

    /// Frees a slot when the cache is full: the resolved entry closest to
    /// (or longest past) expiry. False if every entry is pending.
    /// Returns true (room) without evicting when not full.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.config.capacity {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter_map(|(ip, s)| match s {
                State::Resolved { expires, .. } => Some((*expires, *ip)),
                State::Pending { .. } => None,
            })
            .min();
        match victim {
            Some((_, ip)) => {
                self.entries.remove(&ip);
                true
            }
            None => false,
        }
    }

    /// Queues the packet `make` builds until `ip` resolves. `make` is only
    /// called when the packet will be queued.
    pub fn enqueue(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        make: impl FnOnce() -> Vec<u8>,
    ) -> (Enqueued, bool) {
        let first_try = now + self.config.retry_interval;
        let evicted;
        match self.entries.get_mut(&ip) {
            Some(State::Pending { queue, .. }) => {
                if queue.len() >= self.config.queue_len {
                    return (Enqueued::QueueFull, false);
                }
                queue.push_back(make());
                return (Enqueued::Waiting, false);
            }
            Some(state) => {
                // Resolved but expired: resolve again.
                evicted = false;
                *state = Self::pending(first_try);
            }
            None => {
                let full = self.entries.len() >= self.config.capacity;
                if !self.make_room() {
                    return (Enqueued::CacheFull, false);
                }
                evicted = full;
                self.entries.insert(ip, Self::pending(first_try));
            }
        }
        if self.config.queue_len == 0 {
            return (Enqueued::QueueFull, evicted);
        }
        if let Some(State::Pending { queue, .. }) = self.entries.get_mut(&ip) {
            queue.push_back(make());
        }
        self.next_retry = Some(self.next_retry.map_or(first_try, |t| t.min(first_try)));
        (Enqueued::FirstRequest, evicted)
    }

    fn pending(next_try: Instant) -> State {
        State::Pending {
            tries: 1,
            next_try,
            queue: VecDeque::new(),
        }
    }

    /// Runs the retry timers: addresses due for another request are returned
    /// in `timers.retry`, those out of tries are removed with their packets.
    pub fn poll(&mut self, now: Instant, timers: &mut ArpTimers) {
        match self.next_retry {
            Some(t) if now >= t => {}
            _ => return,
        }
        let (interval, max_tries) = (self.config.retry_interval, self.config.max_tries);
        let mut next: Option<Instant> = None;
        self.entries.retain(|ip, state| match state {
            State::Resolved { .. } => true,
            State::Pending {
                tries,
                next_try,
                queue,
            } => {
                if now < *next_try {
                    next = Some(next.map_or(*next_try, |t| t.min(*next_try)));
                    return true;
                }
                if *tries >= max_tries {
                    timers.failed += 1;
                    timers.dropped += queue.len() as u64;
                    return false;
                }
                *tries += 1;
                *next_try = now + interval;
                next = Some(next.map_or(*next_try, |t| t.min(*next_try)));
                timers.retry.push(*ip);
                true
            }
        });
        self.next_retry = next;
    }

    /// When [`poll`](Self::poll) next has work.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_retry
    }

    /// Addresses held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
    const N: Neighbor = Neighbor {
        mac: EthernetAddress([2, 0, 0, 0, 0, 9]),
        vlan_tci: None,
    };

    #[test]
    fn learn_creates_only_when_asked_and_expires() {
        let mut c = ArpCache::new(ArpConfig::default());
        assert!(c.learn(Instant::ZERO, IP, N, false).is_none());
        assert_eq!(c.lookup(Instant::ZERO, IP), None);
        assert!(c.learn(Instant::ZERO, IP, N, true).is_some());
        assert_eq!(c.lookup(Instant::from_secs(59), IP), Some(N));
        assert_eq!(c.lookup(Instant::from_secs(60), IP), None);
    }

    #[test]
    fn eviction_prefers_the_oldest_resolved_entry() {
        let mut c = ArpCache::new(ArpConfig {
            capacity: 2,
            ..ArpConfig::default()
        });
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        c.learn(Instant::ZERO, a, N, true);
        c.learn(Instant::from_secs(1), b, N, true);
        c.learn(Instant::from_secs(2), IP, N, true);
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(Instant::from_secs(2), a), None);
        assert!(c.lookup(Instant::from_secs(2), b).is_some());
    }

    #[test]
    fn pending_entries_are_never_evicted() {
        let mut c = ArpCache::new(ArpConfig {
            capacity: 1,
            ..ArpConfig::default()
        });
        let (r, _) = c.enqueue(Instant::ZERO, IP, || vec![1]);
        assert_eq!(r, Enqueued::FirstRequest);
        let (r, _) = c.enqueue(Instant::ZERO, Ipv4Addr::new(10, 0, 0, 1), || vec![1]);
        assert_eq!(r, Enqueued::CacheFull);
        assert!(c
            .learn(Instant::ZERO, Ipv4Addr::new(10, 0, 0, 1), N, true)
            .is_none());
    }
}
