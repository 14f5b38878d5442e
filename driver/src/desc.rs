//! Descriptor layouts for both families, as "read" (driver-written) and
//! "write-back" (device-written) views.
//!
//! The `repr(C)` structs document each layout and are checked for size at compile
//! time; they are never placed over descriptor memory. Rings are read and written
//! through [`DmaMemory`]'s atomic accessors: the status/length half of a descriptor
//! is one aligned 64-bit word, loaded with Acquire so that the packet bytes the
//! device wrote before it are visible.

use std::sync::atomic::Ordering;

use crate::dma::DmaMemory;

/// Every descriptor of both families is 16 bytes.
pub const DESC_SIZE: usize = 16;

/// Legacy receive descriptor (8254x), both views share the layout.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct LegacyRxDesc {
    /// Buffer address (read format).
    pub buffer_addr: u64,
    /// Bytes written to the buffer (write-back).
    pub length: u16,
    /// Packet checksum (write-back).
    pub csum: u16,
    /// Status: DD, EOP, IXSM, VP, ...
    pub status: u8,
    /// Errors: CE, SE, SEQ, CXE, TCPE, IPE, RXE.
    pub errors: u8,
    /// VLAN tag when stripped.
    pub special: u16,
}

/// Legacy transmit descriptor (8254x).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct LegacyTxDesc {
    /// Buffer address.
    pub buffer_addr: u64,
    /// Bytes to send from the buffer.
    pub length: u16,
    /// Checksum offset.
    pub cso: u8,
    /// Command: EOP, IFCS, IC, RS, ...
    pub cmd: u8,
    /// Status: DD (written back when RS is set).
    pub status: u8,
    /// Checksum start.
    pub css: u8,
    /// VLAN tag to insert.
    pub special: u16,
}

/// Advanced one-buffer receive descriptor, read format (82576 and later).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AdvRxDescRead {
    /// Packet buffer address.
    pub pkt_addr: u64,
    /// Header buffer address; bit 0 doubles as DD in the write-back view.
    pub hdr_addr: u64,
}

/// Advanced receive descriptor, write-back format.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AdvRxDescWb {
    /// Packet type and RSS type.
    pub pkt_info: u16,
    /// Header length and SPH (header split only).
    pub hdr_info: u16,
    /// RSS hash, or IP identification.
    pub rss: u32,
    /// Extended status (DD, EOP, VP, ...) and extended errors (bits 20..31).
    pub status_error: u32,
    /// Bytes written to the packet buffer.
    pub length: u16,
    /// VLAN tag when stripped.
    pub vlan: u16,
}

/// Advanced transmit data descriptor (82576 and later).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AdvTxDesc {
    /// Buffer address.
    pub buffer_addr: u64,
    /// DTALEN (bits 0..15), DTYP (20..23), DCMD (24..31).
    pub cmd_type_len: u32,
    /// STA (bits 0..3, DD in the write-back), IDX, POPTS, PAYLEN (14..31).
    pub olinfo_status: u32,
}

const _: () = assert!(std::mem::size_of::<LegacyRxDesc>() == DESC_SIZE);
const _: () = assert!(std::mem::size_of::<LegacyTxDesc>() == DESC_SIZE);
const _: () = assert!(std::mem::size_of::<AdvRxDescRead>() == DESC_SIZE);
const _: () = assert!(std::mem::size_of::<AdvRxDescWb>() == DESC_SIZE);
const _: () = assert!(std::mem::size_of::<AdvTxDesc>() == DESC_SIZE);
// The status/length word the driver polls is the second 8-byte half in every layout.
const _: () = assert!(std::mem::offset_of!(LegacyRxDesc, length) == 8);
const _: () = assert!(std::mem::offset_of!(AdvRxDescWb, status_error) == 8);
const _: () = assert!(std::mem::offset_of!(AdvRxDescWb, length) == 12);
const _: () = assert!(std::mem::offset_of!(LegacyTxDesc, status) == 12);
const _: () = assert!(std::mem::offset_of!(AdvTxDesc, olinfo_status) == 12);

/// Legacy RX status bits.
pub mod rx_status {
    /// Descriptor done.
    pub const DD: u8 = 0x01;
    /// End of packet.
    pub const EOP: u8 = 0x02;
    /// 802.1Q packet (tag stripped into `special`).
    pub const VP: u8 = 0x08;
}

/// Legacy RX error bits.
pub mod rx_errors {
    /// CRC or alignment error.
    pub const CE: u8 = 0x01;
    /// Symbol error.
    pub const SE: u8 = 0x02;
    /// Sequence error.
    pub const SEQ: u8 = 0x04;
    /// Carrier extension error.
    pub const CXE: u8 = 0x10;
    /// TCP/UDP checksum error (the frame itself is intact).
    pub const TCPE: u8 = 0x20;
    /// IPv4 checksum error (the frame itself is intact).
    pub const IPE: u8 = 0x40;
    /// RX data error.
    pub const RXE: u8 = 0x80;
    /// Errors that make the frame itself bad.
    pub const FRAME: u8 = CE | SE | SEQ | CXE | RXE;
}

/// Advanced RX extended status/error bits.
pub mod adv_rx {
    /// Descriptor done.
    pub const DD: u32 = 1 << 0;
    /// End of packet.
    pub const EOP: u32 = 1 << 1;
    /// 802.1Q packet.
    pub const VP: u32 = 1 << 3;
    /// Header buffer overflow (header split only).
    pub const HBO: u32 = 1 << 23;
    /// CRC error.
    pub const CE: u32 = 1 << 24;
    /// Symbol error.
    pub const SE: u32 = 1 << 25;
    /// Sequence error.
    pub const SEQ: u32 = 1 << 26;
    /// Carrier extension error.
    pub const CXE: u32 = 1 << 28;
    /// L4 checksum error (the frame itself is intact).
    pub const L4E: u32 = 1 << 29;
    /// IPv4 checksum error (the frame itself is intact).
    pub const IPE: u32 = 1 << 30;
    /// RX data error.
    pub const RXE: u32 = 1 << 31;
    /// Errors that make the frame itself bad.
    pub const FRAME: u32 = CE | SE | SEQ | CXE | RXE;
}

/// Legacy TX command bits.
pub mod tx_cmd {
    /// End of packet.
    pub const EOP: u8 = 0x01;
    /// Insert FCS.
    pub const IFCS: u8 = 0x02;
    /// Report status (write back DD).
    pub const RS: u8 = 0x08;
}

/// Advanced TX cmd_type_len bits.
pub mod adv_tx {
    /// Descriptor type: advanced data.
    pub const DTYP_DATA: u32 = 0x3 << 20;
    /// End of packet.
    pub const EOP: u32 = 1 << 24;
    /// Insert FCS.
    pub const IFCS: u32 = 1 << 25;
    /// Report status.
    pub const RS: u32 = 1 << 27;
    /// Descriptor extension (advanced format).
    pub const DEXT: u32 = 1 << 29;
    /// PAYLEN shift in olinfo_status.
    pub const PAYLEN_SHIFT: u32 = 14;
}

/// What a received descriptor says once the device has written it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxCompletion {
    /// Bytes the device says it wrote (untrusted).
    pub len: u16,
    /// Last descriptor of the frame.
    pub eop: bool,
    /// The device flagged the frame as bad (CRC, symbol, sequence, RX data error).
    pub frame_error: bool,
    /// The device found a bad IP or L4 checksum (the frame is delivered).
    pub csum_error: bool,
    /// The stripped VLAN TCI, if the device stripped one.
    pub vlan: Option<u16>,
}

/// A receive descriptor format: how to post a buffer and read a completion.
pub trait RxFormat: Send + 'static {
    /// Writes the read format of descriptor `index`: buffer at `iova`, status cleared.
    fn post(ring: &DmaMemory, index: usize, iova: u64);
    /// Reads descriptor `index`; `None` until the device has set DD.
    fn complete(ring: &DmaMemory, index: usize) -> Option<RxCompletion>;
}

/// A transmit descriptor format.
pub trait TxFormat: Send + 'static {
    /// Writes descriptor `index` for one whole frame of `len` bytes at `iova`,
    /// asking for a DD write-back.
    fn post(ring: &DmaMemory, index: usize, iova: u64, len: u16);
    /// True once the device has written DD back for descriptor `index`.
    fn done(ring: &DmaMemory, index: usize) -> bool;
}

/// The 8254x legacy descriptors.
#[derive(Debug)]
pub enum Legacy {}

/// The 82576-and-later advanced descriptors.
#[derive(Debug)]
pub enum Advanced {}

const TX_DD: u64 = 1 << 32;

impl RxFormat for Legacy {
    #[inline(always)]
    fn post(ring: &DmaMemory, index: usize, iova: u64) {
        let off = index * DESC_SIZE;
        ring.store_u64(off, iova, Ordering::Relaxed);
        ring.store_u64(off + 8, 0, Ordering::Relaxed);
    }

    #[inline(always)]
    fn complete(ring: &DmaMemory, index: usize) -> Option<RxCompletion> {
        let wb = ring.load_u64(index * DESC_SIZE + 8, Ordering::Acquire);
        let status = (wb >> 32) as u8;
        if status & rx_status::DD == 0 {
            return None;
        }
        let errors = (wb >> 40) as u8;
        Some(RxCompletion {
            len: wb as u16,
            eop: status & rx_status::EOP != 0,
            frame_error: errors & rx_errors::FRAME != 0,
            csum_error: errors & (rx_errors::TCPE | rx_errors::IPE) != 0,
            vlan: (status & rx_status::VP != 0).then_some((wb >> 48) as u16),
        })
    }
}

impl RxFormat for Advanced {
    #[inline(always)]
    fn post(ring: &DmaMemory, index: usize, iova: u64) {
        let off = index * DESC_SIZE;
        ring.store_u64(off, iova, Ordering::Relaxed);
        // hdr_addr = 0 also clears DD, which shares its bit 0.
        ring.store_u64(off + 8, 0, Ordering::Relaxed);
    }

    #[inline(always)]
    fn complete(ring: &DmaMemory, index: usize) -> Option<RxCompletion> {
        let wb = ring.load_u64(index * DESC_SIZE + 8, Ordering::Acquire);
        let status = wb as u32;
        if status & adv_rx::DD == 0 {
            return None;
        }
        Some(RxCompletion {
            len: (wb >> 32) as u16,
            eop: status & adv_rx::EOP != 0,
            frame_error: status & adv_rx::FRAME != 0,
            csum_error: status & (adv_rx::L4E | adv_rx::IPE) != 0,
            vlan: (status & adv_rx::VP != 0).then_some((wb >> 48) as u16),
        })
    }
}

impl TxFormat for Legacy {
    #[inline(always)]
    fn post(ring: &DmaMemory, index: usize, iova: u64, len: u16) {
        let off = index * DESC_SIZE;
        let cmd = tx_cmd::EOP | tx_cmd::IFCS | tx_cmd::RS;
        ring.store_u64(off, iova, Ordering::Relaxed);
        ring.store_u64(
            off + 8,
            u64::from(len) | (u64::from(cmd) << 24),
            Ordering::Relaxed,
        );
    }

    #[inline(always)]
    fn done(ring: &DmaMemory, index: usize) -> bool {
        ring.load_u64(index * DESC_SIZE + 8, Ordering::Acquire) & TX_DD != 0
    }
}

impl TxFormat for Advanced {
    #[inline(always)]
    fn post(ring: &DmaMemory, index: usize, iova: u64, len: u16) {
        let off = index * DESC_SIZE;
        let cmd_type_len = u32::from(len)
            | adv_tx::DTYP_DATA
            | adv_tx::EOP
            | adv_tx::IFCS
            | adv_tx::RS
            | adv_tx::DEXT;
        let olinfo = u32::from(len) << adv_tx::PAYLEN_SHIFT;
        ring.store_u64(off, iova, Ordering::Relaxed);
        ring.store_u64(
            off + 8,
            u64::from(cmd_type_len) | (u64::from(olinfo) << 32),
            Ordering::Relaxed,
        );
    }

    #[inline(always)]
    fn done(ring: &DmaMemory, index: usize) -> bool {
        ring.load_u64(index * DESC_SIZE + 8, Ordering::Acquire) & TX_DD != 0
    }
}
