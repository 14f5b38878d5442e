//! UDP sockets: bound by port, each with a bounded receive queue, and the
//! interface's bounded queue of datagrams waiting to be sent.
//!
//! Queues are byte rings allocated when a socket is bound, so receiving and
//! sending datagrams allocates nothing.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddrV4;

use core::fmt;

/// How UDP sockets and the send queue are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    /// Most sockets bound at once.
    pub max_sockets: usize,
    /// Datagrams a socket's receive queue holds.
    pub rx_queue_len: usize,
    /// Payload bytes a socket's receive queue holds.
    pub rx_buffer_bytes: usize,
    /// Datagrams waiting to be sent (all sockets together).
    pub tx_queue_len: usize,
    /// Payload bytes waiting to be sent.
    pub tx_buffer_bytes: usize,
}

impl Default for UdpConfig {
    /// 64 sockets, each queueing 64 datagrams / 64 KiB; 128 datagrams /
    /// 256 KiB waiting to be sent.
    fn default() -> UdpConfig {
        UdpConfig {
            max_sockets: 64,
            rx_queue_len: 64,
            rx_buffer_bytes: 64 * 1024,
            tx_queue_len: 128,
            tx_buffer_bytes: 256 * 1024,
        }
    }
}

/// A bound UDP socket. Stale after [`udp_unbind`](super::Interface::udp_unbind):
/// a handle is never reused for another socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpHandle {
    index: u32,
    generation: u32,
}

/// Why a UDP call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UdpError {
    /// Another socket is bound to the port.
    PortInUse,
    /// Port 0 (no port) where one is needed.
    InvalidPort,
    /// The handle names no bound socket.
    InvalidHandle,
    /// [`UdpConfig::max_sockets`] are bound.
    TooManySockets,
    /// The payload does not fit in one frame (the stack never fragments).
    TooLarge,
    /// The send queue is full; try after the next poll.
    Full,
    /// The destination is off-link and there is no gateway.
    NoRoute,
    /// The destination is not a unicast or broadcast address.
    InvalidAddress,
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UdpError::PortInUse => "port in use",
            UdpError::InvalidPort => "invalid port",
            UdpError::InvalidHandle => "no such socket",
            UdpError::TooManySockets => "too many sockets",
            UdpError::TooLarge => "datagram too large",
            UdpError::Full => "send queue full",
            UdpError::NoRoute => "no route to host",
            UdpError::InvalidAddress => "invalid destination address",
        })
    }
}

impl std::error::Error for UdpError {}

/// A bounded queue of datagrams: their bytes in one ring, their metadata in
/// another, both allocated up front.
#[derive(Debug)]
pub(crate) struct DatagramQueue<M> {
    bytes: VecDeque<u8>,
    meta: VecDeque<(M, usize)>,
    max_bytes: usize,
    max_datagrams: usize,
}

impl<M: Copy> DatagramQueue<M> {
    pub fn new(max_datagrams: usize, max_bytes: usize) -> DatagramQueue<M> {
        DatagramQueue {
            bytes: VecDeque::with_capacity(max_bytes),
            meta: VecDeque::with_capacity(max_datagrams),
            max_bytes,
            max_datagrams,
        }
    }

    /// Appends a datagram; false (nothing stored) when it does not fit.
    pub fn push(&mut self, meta: M, data: &[u8]) -> bool {
        if self.meta.len() >= self.max_datagrams || self.bytes.len() + data.len() > self.max_bytes {
            return false;
        }
        self.bytes.extend(data.iter().copied());
        self.meta.push_back((meta, data.len()));
        true
    }

    /// The first datagram's metadata and length.
    pub fn front(&self) -> Option<(M, usize)> {
        self.meta.front().copied()
    }

    /// Copies the first datagram into `out` (as much as fits) without
    /// removing it; returns the bytes copied.
    pub fn copy_front(&self, out: &mut [u8]) -> usize {
        let Some(&(_, len)) = self.meta.front() else {
            return 0;
        };
        let n = len.min(out.len());
        let (a, b) = self.bytes.as_slices();
        let from_a = n.min(a.len());
        out[..from_a].copy_from_slice(&a[..from_a]);
        out[from_a..n].copy_from_slice(&b[..n - from_a]);
        n
    }

    /// Removes the first datagram.
    pub fn pop(&mut self) {
        if let Some((_, len)) = self.meta.pop_front() {
            self.bytes.drain(..len);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }
}

#[derive(Debug)]
struct Socket {
    port: u16,
    generation: u32,
    rx: DatagramQueue<SocketAddrV4>,
    /// On the readable list already.
    notified: bool,
}

/// The bound sockets.
#[derive(Debug)]
pub(crate) struct UdpSockets {
    config: UdpConfig,
    slots: Vec<Option<Socket>>,
    /// Generation of the next socket in each slot.
    generations: Vec<u32>,
    by_port: HashMap<u16, u32>,
    readable: VecDeque<UdpHandle>,
}

/// What [`UdpSockets::deliver`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Delivered,
    NoSocket,
    QueueFull,
}

impl UdpSockets {
    pub fn new(config: UdpConfig) -> UdpSockets {
        UdpSockets {
            config,
            slots: Vec::new(),
            generations: Vec::new(),
            by_port: HashMap::new(),
            readable: VecDeque::new(),
        }
    }

    pub fn bind(&mut self, port: u16) -> Result<UdpHandle, UdpError> {
        if port == 0 {
            return Err(UdpError::InvalidPort);
        }
        if self.by_port.contains_key(&port) {
            return Err(UdpError::PortInUse);
        }
        let index = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < self.config.max_sockets => {
                self.slots.push(None);
                self.generations.push(0);
                self.slots.len() - 1
            }
            None => return Err(UdpError::TooManySockets),
        };
        let generation = self.generations[index];
        self.generations[index] = generation.wrapping_add(1);
        self.slots[index] = Some(Socket {
            port,
            generation,
            rx: DatagramQueue::new(self.config.rx_queue_len, self.config.rx_buffer_bytes),
            notified: false,
        });
        let index = index as u32;
        self.by_port.insert(port, index);
        Ok(UdpHandle { index, generation })
    }

    fn get_mut(&mut self, h: UdpHandle) -> Option<&mut Socket> {
        self.slots
            .get_mut(h.index as usize)?
            .as_mut()
            .filter(|s| s.generation == h.generation)
    }

    /// The port `h` is bound to.
    pub fn port(&self, h: UdpHandle) -> Option<u16> {
        self.slots
            .get(h.index as usize)?
            .as_ref()
            .filter(|s| s.generation == h.generation)
            .map(|s| s.port)
    }

    pub fn unbind(&mut self, h: UdpHandle) -> bool {
        if self.get_mut(h).is_none() {
            return false;
        }
        if let Some(s) = self.slots[h.index as usize].take() {
            self.by_port.remove(&s.port);
        }
        self.readable.retain(|r| *r != h);
        true
    }

    /// Queues a received datagram for the socket bound to `port`.
    pub fn deliver(&mut self, port: u16, from: SocketAddrV4, data: &[u8]) -> Delivery {
        let Some(&index) = self.by_port.get(&port) else {
            return Delivery::NoSocket;
        };
        let Some(Some(s)) = self.slots.get_mut(index as usize) else {
            return Delivery::NoSocket;
        };
        if !s.rx.push(from, data) {
            return Delivery::QueueFull;
        }
        if !s.notified {
            s.notified = true;
            self.readable.push_back(UdpHandle {
                index,
                generation: s.generation,
            });
        }
        Delivery::Delivered
    }

    pub fn recv(&mut self, h: UdpHandle, buf: &mut [u8]) -> Option<(SocketAddrV4, usize)> {
        let s = self.get_mut(h)?;
        let (from, _) = s.rx.front()?;
        let n = s.rx.copy_front(buf);
        s.rx.pop();
        Some((from, n))
    }

    pub fn next_readable(&mut self) -> Option<UdpHandle> {
        while let Some(h) = self.readable.pop_front() {
            if let Some(s) = self.get_mut(h) {
                s.notified = false;
                if !s.rx.is_empty() {
                    return Some(h);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const FROM: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000);

    #[test]
    fn queue_wraps_and_bounds() {
        let mut q = DatagramQueue::<u8>::new(3, 10);
        assert!(q.push(1, b"abcd"));
        assert!(q.push(2, b"efgh"));
        assert!(!q.push(3, b"ijk"), "over the byte bound");
        q.pop();
        assert!(q.push(3, b"ijklmn"));
        let mut out = [0u8; 8];
        assert_eq!(q.front(), Some((2, 4)));
        assert_eq!(q.copy_front(&mut out), 4);
        assert_eq!(&out[..4], b"efgh");
        q.pop();
        assert_eq!(q.copy_front(&mut out[..3]), 3, "truncated to the buffer");
        assert_eq!(&out[..3], b"ijk");
        q.pop();
        assert!(q.is_empty());
        assert!(q.push(1, b"a") && q.push(2, b"b") && q.push(3, b"c"));
        assert!(!q.push(4, b"d"), "over the datagram bound");
    }

    #[test]
    fn bind_unbind_and_stale_handles() {
        let mut u = UdpSockets::new(UdpConfig {
            max_sockets: 1,
            ..UdpConfig::default()
        });
        assert_eq!(u.bind(0), Err(UdpError::InvalidPort));
        let h = u.bind(7).unwrap();
        assert_eq!(u.bind(7), Err(UdpError::PortInUse));
        assert_eq!(u.bind(8), Err(UdpError::TooManySockets));
        assert_eq!(u.deliver(7, FROM, b"x"), Delivery::Delivered);
        assert!(u.unbind(h));
        assert!(!u.unbind(h));
        let h2 = u.bind(8).unwrap();
        assert_ne!(h, h2);
        assert_eq!(u.recv(h, &mut [0; 4]), None, "stale handle");
        assert_eq!(u.deliver(7, FROM, b"x"), Delivery::NoSocket);
        assert_eq!(u.next_readable(), None);
    }

    #[test]
    fn readable_list_names_each_socket_once() {
        let mut u = UdpSockets::new(UdpConfig::default());
        let a = u.bind(1).unwrap();
        let b = u.bind(2).unwrap();
        u.deliver(1, FROM, b"1");
        u.deliver(2, FROM, b"2");
        u.deliver(1, FROM, b"3");
        assert_eq!(u.next_readable(), Some(a));
        assert_eq!(u.next_readable(), Some(b));
        assert_eq!(u.next_readable(), None);
        let mut buf = [0u8; 4];
        assert_eq!(u.recv(a, &mut buf), Some((FROM, 1)));
        assert_eq!(buf[0], b'1');
        u.deliver(1, FROM, b"4");
        assert_eq!(u.next_readable(), Some(a));
    }
}
