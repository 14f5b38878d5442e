//! igbpoll-driver: a user-space poll-mode driver for Intel gigabit NICs.
//!
//! The driver owns the NIC's descriptor rings and DMA buffers, polls them in
//! batches and hands packets to the application in place. It is generic over a
//! [`Backend`]: VFIO for real hardware, `igbpoll-hw-sim` for the register-level
//! simulator.
//!
//! ```ignore
//! let mut nic = Nic::open(backend, &NicConfig::default())?;
//! let mut batch = Vec::with_capacity(32);
//! loop {
//!     nic.rx_batch(0, &mut batch, 32);
//!     for pkt in batch.drain(..) {
//!         println!("{} bytes", pkt.len()); // pkt returns to its pool on drop
//!     }
//! }
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod desc;
pub mod dma;
pub mod error;
pub mod ident;
pub mod regs;

pub use backend::Backend;
pub use dma::DmaMemory;
pub use error::{DmaError, Error};
pub use ident::{Family, Model};
pub mod hw;
pub mod mempool;
pub mod nic;
pub mod pci;
pub mod queue;
pub mod rss;
pub mod stats;
pub mod vfio;

mod e1000;
mod guard;
mod igb;
#[cfg(test)]
mod testing;

pub use hw::LinkStatus;
pub use mempool::{Mempool, Packet};
pub use nic::{DriverStats, Nic, NicConfig, Stats};
pub use queue::{RxQueue, TxQueue};
pub use stats::HwStats;
