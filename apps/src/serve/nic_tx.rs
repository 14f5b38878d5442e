//! The stack's transmit path: frames are written straight into DMA packet
//! buffers and posted in one `tx_batch` per round.

use igbpoll_driver::{Backend, Mempool, Nic, Packet};
use igbpoll_stack::iface::TxDevice;

/// A [`TxDevice`] over a packet pool and the NIC's transmit queue 0.
pub struct NicTx {
    pool: Mempool,
    pending: Vec<Packet>,
    limit: usize,
    no_buffer: u64,
}

impl NicTx {
    /// Frames go into buffers of `pool`; at most `limit` wait for the ring.
    pub fn new(pool: Mempool, limit: usize) -> NicTx {
        NicTx {
            pool,
            pending: Vec::with_capacity(limit),
            limit,
            no_buffer: 0,
        }
    }

    /// Posts what waits; returns how many frames went to the ring.
    pub fn flush<B: Backend>(&mut self, nic: &mut Nic<B>) -> usize {
        if self.pending.is_empty() {
            return 0;
        }
        nic.tx_batch(0, &mut self.pending)
    }

    /// Frames the stack could not emit for want of a buffer or ring space.
    pub fn no_buffer(&self) -> u64 {
        self.no_buffer
    }
}

impl TxDevice for NicTx {
    fn transmit<F: FnOnce(&mut [u8])>(&mut self, len: usize, fill: F) -> bool {
        if self.pending.len() >= self.limit {
            self.no_buffer += 1;
            return false;
        }
        let Some(mut p) = self.pool.alloc() else {
            self.no_buffer += 1;
            return false;
        };
        if p.set_len(len).is_err() {
            self.no_buffer += 1;
            return false;
        }
        fill(&mut p);
        self.pending.push(p);
        true
    }
}
