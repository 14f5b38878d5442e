//! pcapng output with gathered writes.
//!
//! [`PcapngWriter`] writes a Section Header Block and one Interface
//! Description Block when created, then one Enhanced Packet Block (EPB) per
//! frame, and [`PcapngWriter::finish`] ends the file with an Interface
//! Statistics Block (ISB). Blocks are in host byte order, as libpcap and
//! dumpcap write them.
//!
//! An EPB is a 28-byte header, the captured bytes, zero padding to a multiple
//! of 4 and the 4-byte block length again. Like the pcap writer, nothing of
//! the frame is copied: [`PcapngWriter::epb`] gives header and trailer so the
//! caller can place them around the frame in its own buffer (the capture path
//! puts the header in the packet's headroom and the trailer in its tailroom,
//! one iovec per block) and hand the blocks to
//! [`PcapngWriter::write_records`]; [`PcapngWriter::write_batch`] takes plain
//! frames and gathers header, frame and trailer as three slices.
//! Errors and retries are those of [`crate::pcap_writer`].

#![forbid(unsafe_code)]

use std::io::{self, IoSlice, Write};

use crate::pcap_writer::{
    cut_file, whole_records, write_all_vectored, write_all_vectored_len, Frame, Resolution, Totals,
    IOV_MAX,
};
use crate::pcap_writer::{DEFAULT_SNAPLEN, LINKTYPE_ETHERNET};

/// Block type of the Section Header Block.
pub const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// Block type of the Interface Description Block.
pub const IDB_TYPE: u32 = 1;
/// Block type of the Interface Statistics Block.
pub const ISB_TYPE: u32 = 5;
/// Block type of the Enhanced Packet Block.
pub const EPB_TYPE: u32 = 6;
/// The byte-order magic of the Section Header Block.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Size of an EPB up to the packet data.
pub const EPB_HEADER_LEN: usize = 28;
/// Largest EPB trailer: 3 bytes of padding and the block total length.
pub const EPB_TRAILER_MAX: usize = 7;

const OPT_ENDOFOPT: u16 = 0;
const SHB_OS: u16 = 3;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_MACADDR: u16 = 6;
const IF_SPEED: u16 = 8;
const IF_TSRESOL: u16 = 9;
const IF_FILTER: u16 = 11;
const IF_HARDWARE: u16 = 15;
const ISB_STARTTIME: u16 = 2;
const ISB_ENDTIME: u16 = 3;
const ISB_IFRECV: u16 = 4;
const ISB_IFDROP: u16 = 5;
const ISB_FILTERACCEPT: u16 = 6;
const ISB_OSDROP: u16 = 7;
const ISB_USRDELIV: u16 = 8;

/// What the Interface Description Block says about the capture's interface.
#[derive(Debug, Clone, Default)]
pub struct Interface {
    /// `if_name`: the device (PCI address, or `sim:MODEL`).
    pub name: String,
    /// `if_description`: model, MAC, link.
    pub description: String,
    /// `if_MACaddr`.
    pub mac: Option<[u8; 6]>,
    /// `if_speed` in bits per second (omitted when unknown or 0).
    pub speed_bps: u64,
    /// `if_filter`: the libpcap filter expression, if any.
    pub filter: Option<String>,
    /// `if_hardware`: the NIC's model (omitted when empty).
    pub hardware: String,
}

/// The counts of the closing Interface Statistics Block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Start of the capture, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End of the capture (also the block's timestamp).
    pub end_ns: u64,
    /// `isb_ifrecv`: packets the NIC received.
    pub ifrecv: u64,
    /// `isb_ifdrop`: packets the NIC dropped.
    pub ifdrop: u64,
    /// `isb_filteraccept`: packets the filter accepted (written only with a filter).
    pub filteraccept: Option<u64>,
    /// `isb_osdrop`: packets dropped by the driver or the application.
    pub osdrop: u64,
    /// `isb_usrdeliv`: packets delivered to the file.
    pub usrdeliv: u64,
}

/// The bytes after an EPB's packet data: padding to 4 bytes and the block
/// total length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpbTrailer {
    bytes: [u8; EPB_TRAILER_MAX + 1],
    len: u8,
}

impl EpbTrailer {
    /// The trailer's bytes (4 to 7 of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The trailer's bytes followed by zeros to 8: one fixed-size store puts
    /// them after a frame whose buffer has the room (then only
    /// [`EpbTrailer::len`] of them belong to the block).
    pub fn padded(&self) -> [u8; EPB_TRAILER_MAX + 1] {
        self.bytes
    }

    /// Bytes of the trailer (4 to 7).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

/// One EPB laid out by the caller: `block` is header and data, `trailer` the
/// rest (empty when the caller put the trailer at the end of `block`).
#[derive(Debug, Clone, Copy)]
pub struct EpbRecord<'a> {
    /// Header and captured bytes (and, if `trailer` is empty, the trailer).
    pub block: &'a [u8],
    /// The trailer, when it is not in `block`.
    pub trailer: &'a [u8],
}

/// Writes pcapng (one Ethernet interface) to any [`Write`] with gathered writes.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    resolution: Resolution,
    /// EPB headers and trailers of the chunk being written by `write_batch`.
    scratch: Vec<u8>,
    totals: Totals,
    failed: bool,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block and the Interface Description Block.
    ///
    /// `snaplen` 0 is taken as [`DEFAULT_SNAPLEN`].
    ///
    /// # Errors
    /// Any error from writing them.
    pub fn new(
        mut out: W,
        interface: &Interface,
        snaplen: u32,
        resolution: Resolution,
    ) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        let mut head = section_header();
        head.extend_from_slice(&interface_description(interface, snaplen, resolution));
        write_all_vectored(&mut out, &[IoSlice::new(&head)])?;
        Ok(PcapngWriter {
            out,
            snaplen,
            resolution,
            scratch: Vec::with_capacity(IOV_MAX / 3 * (EPB_HEADER_LEN + EPB_TRAILER_MAX)),
            totals: Totals {
                packets: 0,
                bytes: head.len() as u64,
            },
            failed: false,
        })
    }

    /// The snapshot length in the Interface Description Block.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Packets and bytes written so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The EPB header and trailer for a frame of `len` bytes received at
    /// `ts_ns`, and how many of its bytes the block keeps (the snaplen applied).
    pub fn epb(&self, ts_ns: u64, len: usize) -> ([u8; EPB_HEADER_LEN], EpbTrailer, usize) {
        let incl = len.min(self.snaplen as usize);
        let pad = incl.wrapping_neg() & 3;
        let total = (EPB_HEADER_LEN + incl + pad + 4) as u32;
        let ts = ticks(ts_ns, self.resolution);
        let mut h = [0u8; EPB_HEADER_LEN];
        h[0..4].copy_from_slice(&EPB_TYPE.to_ne_bytes());
        h[4..8].copy_from_slice(&total.to_ne_bytes());
        // Interface 0 (bytes 8..12 stay zero).
        h[12..16].copy_from_slice(&((ts >> 32) as u32).to_ne_bytes());
        h[16..20].copy_from_slice(&(ts as u32).to_ne_bytes());
        h[20..24].copy_from_slice(&(incl as u32).to_ne_bytes());
        h[24..28].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
        // `pad` zero bytes, then the total length: built in a register (a
        // store at a variable offset into a byte array, read back whole,
        // stalled store forwarding on every packet).
        let shift = if cfg!(target_endian = "little") {
            8 * pad
        } else {
            8 * (4 - pad)
        };
        let trailer = EpbTrailer {
            bytes: (u64::from(total) << shift).to_ne_bytes(),
            len: (pad + 4) as u8,
        };
        (h, trailer, incl)
    }

    /// Writes EPBs laid out by the caller (see [`PcapngWriter::epb`]), in
    /// order, with one `write_vectored` per [`IOV_MAX`] slices.
    ///
    /// # Errors
    /// As for [`crate::pcap_writer::PcapWriter::write_batch`]; after an
    /// error this writer refuses further writes.
    pub fn write_records(&mut self, records: &[EpbRecord<'_>]) -> io::Result<()> {
        self.write_record_iter(records.iter().copied())
    }

    /// As [`PcapngWriter::write_records`], from an iterator, so the caller
    /// need not collect the records first.
    ///
    /// # Errors
    /// As for [`PcapngWriter::write_records`].
    pub fn write_record_iter<'a>(
        &mut self,
        records: impl IntoIterator<Item = EpbRecord<'a>>,
    ) -> io::Result<()> {
        self.check_usable()?;
        let records = records.into_iter();
        // Sized for the records at hand (see PcapWriter::write_record_slices).
        let mut slices: Vec<IoSlice<'a>> =
            Vec::with_capacity((records.size_hint().0 * 2).clamp(1, IOV_MAX));
        let mut packets = 0u64;
        let mut bytes = 0u64;
        for r in records {
            let need = 1 + usize::from(!r.trailer.is_empty());
            if slices.len() + need > IOV_MAX {
                self.flush_slices(&mut slices, packets, bytes)?;
                slices.clear();
                (packets, bytes) = (0, 0);
            }
            slices.push(IoSlice::new(r.block));
            if !r.trailer.is_empty() {
                slices.push(IoSlice::new(r.trailer));
            }
            packets += 1;
            bytes += (r.block.len() + r.trailer.len()) as u64;
        }
        self.flush_slices(&mut slices, packets, bytes)
    }

    /// Writes one EPB per frame, gathering header, frame and trailer.
    ///
    /// # Errors
    /// As for [`PcapngWriter::write_records`].
    pub fn write_batch(&mut self, frames: &[Frame<'_>]) -> io::Result<()> {
        const PER_CALL: usize = IOV_MAX / 3;
        // Per frame: header, the trailer buffer, the trailer length.
        const SLOT: usize = EPB_HEADER_LEN + EPB_TRAILER_MAX + 2;
        self.check_usable()?;
        for chunk in frames.chunks(PER_CALL) {
            self.scratch.clear();
            for f in chunk {
                let (h, t, _) = self.epb(f.ts_ns, f.data.len());
                self.scratch.extend_from_slice(&h);
                self.scratch.extend_from_slice(&t.bytes);
                self.scratch.push(t.len);
            }
            let mut slices = [IoSlice::new(&[]); IOV_MAX];
            let mut used = 0;
            let mut bytes = 0u64;
            for (f, slot) in chunk.iter().zip(self.scratch.chunks_exact(SLOT)) {
                let incl = f.data.len().min(self.snaplen as usize);
                let tlen = slot[SLOT - 1] as usize;
                slices[used] = IoSlice::new(&slot[..EPB_HEADER_LEN]);
                slices[used + 1] = IoSlice::new(&f.data[..incl]);
                slices[used + 2] = IoSlice::new(&slot[EPB_HEADER_LEN..EPB_HEADER_LEN + tlen]);
                used += 3;
                bytes += (EPB_HEADER_LEN + incl + tlen) as u64;
            }
            if let Err(f) = write_all_vectored_len(&mut self.out, &slices[..used], bytes as usize) {
                // Inline (not `record_failure`): the slices borrow `scratch`.
                let (records, bytes) = whole_records(&slices[..used], f.written, epb_len);
                self.totals.packets += records;
                self.totals.bytes += bytes;
                self.failed = true;
                return Err(f.error);
            }
            self.totals.packets += chunk.len() as u64;
            self.totals.bytes += bytes;
        }
        Ok(())
    }

    /// Writes one frame. Prefer [`PcapngWriter::write_batch`] for many.
    ///
    /// # Errors
    /// As for [`PcapngWriter::write_batch`].
    pub fn write_packet(&mut self, ts_ns: u64, data: &[u8]) -> io::Result<()> {
        self.write_batch(&[Frame::new(ts_ns, data)])
    }

    /// Flushes a buffered `W` (a `File` has nothing to flush).
    ///
    /// # Errors
    /// The output's error; this writer then refuses further writes.
    pub fn flush(&mut self) -> io::Result<()> {
        self.check_usable()?;
        self.out.flush().inspect_err(|_| self.failed = true)
    }

    /// Ends the file with an Interface Statistics Block and hands back the
    /// output and the totals. Nothing is flushed: flush a buffered `W` after.
    ///
    /// # Errors
    /// Writing the block failed, or an earlier write had failed (then no block
    /// is written, as the stream may end in a partial block).
    pub fn finish(mut self, stats: &InterfaceStats) -> io::Result<(W, Totals)> {
        self.write_statistics(stats)?;
        Ok((self.out, self.totals))
    }

    /// Writes the Interface Statistics Block that ends the file (what
    /// [`PcapngWriter::finish`] does, keeping the writer).
    ///
    /// # Errors
    /// As for [`PcapngWriter::finish`]; after an error this writer refuses
    /// further writes.
    pub fn write_statistics(&mut self, stats: &InterfaceStats) -> io::Result<()> {
        self.check_usable()?;
        let isb = interface_statistics(stats, self.resolution);
        let slices = [IoSlice::new(&isb)];
        if let Err(f) = write_all_vectored_len(&mut self.out, &slices, isb.len()) {
            // A torn statistics block counts as no block.
            self.failed = true;
            return Err(f.error);
        }
        self.totals.bytes += isb.len() as u64;
        Ok(())
    }

    /// After a write of `slices` failed with `written` bytes out: counts the
    /// blocks left whole and stops the writer.
    fn record_failure(&mut self, slices: &[IoSlice<'_>], written: usize) {
        let (records, bytes) = whole_records(slices, written, epb_len);
        self.totals.packets += records;
        self.totals.bytes += bytes;
        self.failed = true;
    }

    fn flush_slices(
        &mut self,
        slices: &mut [IoSlice<'_>],
        packets: u64,
        bytes: u64,
    ) -> io::Result<()> {
        if let Err(f) = write_all_vectored_len(&mut self.out, slices, bytes as usize) {
            self.record_failure(slices, f.written);
            return Err(f.error);
        }
        self.totals.packets += packets;
        self.totals.bytes += bytes;
        Ok(())
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other(
                "pcapng writer stopped after an earlier write error",
            ))
        } else {
            Ok(())
        }
    }
}

impl PcapngWriter<std::fs::File> {
    /// After a failed write: cuts the file back to its last whole block (so
    /// every reader takes it) and lets the writer go on from there, for
    /// instance to end the file with its statistics block. Only for a file
    /// this writer wrote from its start.
    ///
    /// # Errors
    /// The file cannot be truncated (a pipe, a socket) or sought.
    pub fn cut_to_whole_records(&mut self) -> io::Result<()> {
        cut_file(&mut self.out, self.totals.bytes)?;
        self.failed = false;
        Ok(())
    }
}

/// A block's whole length, from its header.
fn epb_len(header: &[u8]) -> Option<usize> {
    let len = header.get(4..8)?;
    Some(u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize)
}

/// A timestamp in units of the file's resolution.
fn ticks(ts_ns: u64, resolution: Resolution) -> u64 {
    match resolution {
        Resolution::Nanos => ts_ns,
        Resolution::Micros => ts_ns / 1000,
    }
}

/// A block of `kind` around `body` (whose length is a multiple of 4).
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    debug_assert_eq!(body.len() % 4, 0);
    let total = (body.len() + 12) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&total.to_ne_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&total.to_ne_bytes());
    b
}

/// Appends an option (code, length, value padded to 4 bytes).
fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Longer values cannot be encoded; the strings here are short.
    let value = &value[..value.len().min(usize::from(u16::MAX) & !3)];
    buf.extend_from_slice(&code.to_ne_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + (value.len().wrapping_neg() & 3), 0);
}

fn end_of_options(buf: &mut Vec<u8>) {
    option(buf, OPT_ENDOFOPT, &[]);
}

fn timestamp_option(buf: &mut Vec<u8>, code: u16, ts_ns: u64, resolution: Resolution) {
    let t = ticks(ts_ns, resolution);
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&((t >> 32) as u32).to_ne_bytes());
    v[4..].copy_from_slice(&(t as u32).to_ne_bytes());
    option(buf, code, &v);
}

fn section_header() -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
    body.extend_from_slice(&1u16.to_ne_bytes());
    body.extend_from_slice(&0u16.to_ne_bytes());
    body.extend_from_slice(&(-1i64).to_ne_bytes()); // section length unknown
                                                    // shb_os as dumpcap writes it: the system and its release.
    if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        option(
            &mut body,
            SHB_OS,
            format!("Linux {}", release.trim()).as_bytes(),
        );
    }
    option(
        &mut body,
        SHB_USERAPPL,
        concat!("igbpoll ", env!("CARGO_PKG_VERSION")).as_bytes(),
    );
    end_of_options(&mut body);
    block(SHB_TYPE, &body)
}

fn interface_description(i: &Interface, snaplen: u32, resolution: Resolution) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    body.extend_from_slice(&(LINKTYPE_ETHERNET as u16).to_ne_bytes());
    body.extend_from_slice(&0u16.to_ne_bytes());
    body.extend_from_slice(&snaplen.to_ne_bytes());
    if !i.name.is_empty() {
        option(&mut body, IF_NAME, i.name.as_bytes());
    }
    if !i.description.is_empty() {
        option(&mut body, IF_DESCRIPTION, i.description.as_bytes());
    }
    if let Some(mac) = i.mac {
        option(&mut body, IF_MACADDR, &mac);
    }
    if i.speed_bps > 0 {
        option(&mut body, IF_SPEED, &i.speed_bps.to_ne_bytes());
    }
    let tsresol = match resolution {
        Resolution::Micros => 6u8,
        Resolution::Nanos => 9u8,
    };
    option(&mut body, IF_TSRESOL, &[tsresol]);
    if let Some(f) = &i.filter {
        // First byte 0: a libpcap filter string.
        let mut v = vec![0u8];
        v.extend_from_slice(f.as_bytes());
        option(&mut body, IF_FILTER, &v);
    }
    if !i.hardware.is_empty() {
        option(&mut body, IF_HARDWARE, i.hardware.as_bytes());
    }
    end_of_options(&mut body);
    block(IDB_TYPE, &body)
}

fn interface_statistics(s: &InterfaceStats, resolution: Resolution) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    let t = ticks(s.end_ns, resolution);
    body.extend_from_slice(&0u32.to_ne_bytes()); // interface 0
    body.extend_from_slice(&((t >> 32) as u32).to_ne_bytes());
    body.extend_from_slice(&(t as u32).to_ne_bytes());
    timestamp_option(&mut body, ISB_STARTTIME, s.start_ns, resolution);
    timestamp_option(&mut body, ISB_ENDTIME, s.end_ns, resolution);
    option(&mut body, ISB_IFRECV, &s.ifrecv.to_ne_bytes());
    option(&mut body, ISB_IFDROP, &s.ifdrop.to_ne_bytes());
    if let Some(n) = s.filteraccept {
        option(&mut body, ISB_FILTERACCEPT, &n.to_ne_bytes());
    }
    option(&mut body, ISB_OSDROP, &s.osdrop.to_ne_bytes());
    option(&mut body, ISB_USRDELIV, &s.usrdeliv.to_ne_bytes());
    end_of_options(&mut body);
    block(ISB_TYPE, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    use pcap_file::pcapng::blocks::interface_statistics::InterfaceStatisticsOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    use std::time::Duration;

    fn frame_bytes(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 7 + j) as u8).collect()
    }

    fn interface() -> Interface {
        Interface {
            name: "sim:82576".into(),
            description: "Intel 82576, 02:00:00:00:00:01, 1000 Mbit/s full duplex".into(),
            mac: Some([2, 0, 0, 0, 0, 1]),
            speed_bps: 1_000_000_000,
            filter: Some("udp".into()),
            hardware: "Intel 82576 (igb)".into(),
        }
    }

    fn stats() -> InterfaceStats {
        InterfaceStats {
            start_ns: 1_700_000_000_123_456_789,
            end_ns: 1_700_000_001_000_000_000,
            ifrecv: 1000,
            ifdrop: 7,
            filteraccept: Some(900),
            osdrop: 3,
            usrdeliv: 900,
        }
    }

    /// Every EPB as (timestamp, original length, data), and the ISB's options.
    #[allow(clippy::type_complexity)]
    fn read_back(
        bytes: &[u8],
    ) -> (
        Vec<(Duration, u32, Vec<u8>)>,
        Vec<InterfaceDescriptionOption<'static>>,
        Vec<InterfaceStatisticsOption<'static>>,
    ) {
        let mut r = PcapNgReader::new(bytes).expect("section header");
        let mut packets = Vec::new();
        let mut idb = Vec::new();
        let mut isb = Vec::new();
        let mut last_was_isb = false;
        while let Some(b) = r.next_block() {
            last_was_isb = false;
            match b.expect("valid block") {
                Block::InterfaceDescription(i) => {
                    assert_eq!(i.linktype, pcap_file::DataLink::ETHERNET);
                    idb = i.into_owned().options;
                }
                Block::EnhancedPacket(p) => {
                    assert_eq!(p.interface_id, 0);
                    packets.push((p.timestamp, p.original_len, p.data.into_owned()));
                }
                Block::InterfaceStatistics(s) => {
                    isb = s.into_owned().options;
                    last_was_isb = true;
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        assert!(last_was_isb || isb.is_empty(), "the ISB ends the file");
        (packets, idb, isb)
    }

    #[test]
    fn blocks_round_trip_in_both_resolutions_with_snaplen() {
        for (res, tick) in [(Resolution::Nanos, 1), (Resolution::Micros, 1000)] {
            let datas: Vec<Vec<u8>> = (0..1000).map(|i| frame_bytes(i, 14 + i % 1500)).collect();
            let frames: Vec<Frame<'_>> = datas
                .iter()
                .enumerate()
                .map(|(i, d)| Frame::new(1_700_000_000_000_000_000 + i as u64 * 1_234_567, d))
                .collect();
            let mut w = PcapngWriter::new(Vec::new(), &interface(), 1000, res).unwrap();
            w.write_batch(&frames[..1]).unwrap();
            w.write_batch(&frames[1..]).unwrap();
            let (out, totals) = w.finish(&stats()).unwrap();
            assert_eq!(totals.packets, 1000);
            assert_eq!(totals.bytes as usize, out.len());
            let (packets, idb, isb) = read_back(&out);
            assert_eq!(packets.len(), 1000);
            for (i, (ts, orig, data)) in packets.iter().enumerate() {
                // pcap-file 2 reads the raw count of if_tsresol units as nanoseconds.
                assert_eq!(ts.as_nanos() as u64, frames[i].ts_ns / tick);
                assert_eq!(*orig as usize, datas[i].len());
                assert_eq!(data[..], datas[i][..datas[i].len().min(1000)]);
            }
            let tsresol = if res == Resolution::Nanos { 9 } else { 6 };
            assert!(idb.contains(&InterfaceDescriptionOption::IfTsResol(tsresol)));
            assert!(idb.contains(&InterfaceDescriptionOption::IfName("sim:82576".into())));
            assert!(idb.contains(&InterfaceDescriptionOption::IfMacAddr(
                vec![2, 0, 0, 0, 0, 1].into()
            )));
            assert!(idb.contains(&InterfaceDescriptionOption::IfSpeed(1_000_000_000)));
            assert!(idb.contains(&InterfaceDescriptionOption::IfHardware(
                "Intel 82576 (igb)".into()
            )));
            assert!(isb.contains(&InterfaceStatisticsOption::IsbIfRecv(1000)));
            assert!(isb.contains(&InterfaceStatisticsOption::IsbIfDrop(7)));
            assert!(isb.contains(&InterfaceStatisticsOption::IsbFilterAccept(900)));
            assert!(isb.contains(&InterfaceStatisticsOption::IsbOsDrop(3)));
            assert!(isb.contains(&InterfaceStatisticsOption::IsbUsrDeliv(900)));
        }
    }

    #[test]
    fn caller_laid_out_records_equal_gathered_frames() {
        let datas: Vec<Vec<u8>> = (0..1500).map(|i| frame_bytes(i, 60 + i % 7)).collect();
        let frames: Vec<Frame<'_>> = datas.iter().map(|d| Frame::new(5, d)).collect();
        let mut a = PcapngWriter::new(Vec::new(), &interface(), 0, Resolution::Nanos).unwrap();
        a.write_batch(&frames).unwrap();
        let (a, _) = a.finish(&stats()).unwrap();

        let mut b = PcapngWriter::new(Vec::new(), &interface(), 0, Resolution::Nanos).unwrap();
        // Even frames: header, data and trailer in one buffer; odd ones: the
        // trailer apart.
        let mut blocks = Vec::new();
        let mut trailers = Vec::new();
        for (i, d) in datas.iter().enumerate() {
            let (h, t, incl) = b.epb(5, d.len());
            let mut blk = h.to_vec();
            blk.extend_from_slice(&d[..incl]);
            if i % 2 == 0 {
                blk.extend_from_slice(t.as_bytes());
                trailers.push(Vec::new());
            } else {
                trailers.push(t.as_bytes().to_vec());
            }
            blocks.push(blk);
        }
        let records: Vec<EpbRecord<'_>> = blocks
            .iter()
            .zip(&trailers)
            .map(|(block, trailer)| EpbRecord { block, trailer })
            .collect();
        b.write_records(&records).unwrap();
        let (b, totals) = b.finish(&stats()).unwrap();
        assert_eq!(totals.packets, 1500);
        assert_eq!(a, b);
    }

    #[test]
    fn a_failed_write_stops_the_writer_and_no_isb_follows() {
        struct Failing(usize);
        impl Write for Failing {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::from_raw_os_error(libc::ENOSPC));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = PcapngWriter::new(Failing(1), &interface(), 0, Resolution::Nanos).unwrap();
        assert!(w.write_packet(1, &[0u8; 60]).is_err());
        assert!(w.write_packet(1, &[0u8; 60]).is_err());
        assert!(w.finish(&stats()).is_err());
    }

    #[test]
    fn a_full_disk_leaves_whole_blocks_counted_and_a_file_cut_back_to_them() {
        let datas: Vec<Vec<u8>> = (0..50).map(|i| frame_bytes(i, 17 + i * 11)).collect();
        let frames: Vec<Frame<'_>> = datas.iter().map(|d| Frame::new(5, d)).collect();
        let path = std::env::temp_dir().join(format!("igbpoll-{}-full.pcapng", std::process::id()));
        for room in [150usize, 700, 701, 2222] {
            // A file, its last write cut short as a full disk cuts it.
            let mut file = std::fs::File::create(&path).unwrap();
            let w = PcapngWriter::new(&mut file, &interface(), 0, Resolution::Nanos).unwrap();
            let head = w.totals().bytes as usize;
            drop(w);
            let mut full =
                PcapngWriter::new(Vec::new(), &interface(), 0, Resolution::Nanos).unwrap();
            full.write_batch(&frames).unwrap();
            let (all, _) = full.finish(&stats()).unwrap();
            use std::io::Write as _;
            file.write_all(&all[head..head + room]).unwrap();
            drop(file);
            // The writer's count of whole blocks for that cut…
            let mut w = PcapngWriter::new(
                crate::pcap_writer::tests::Full {
                    sink: Vec::new(),
                    room: head + room,
                },
                &interface(),
                0,
                Resolution::Nanos,
            )
            .unwrap();
            assert!(w.write_batch(&frames).is_err());
            let t = w.totals();
            assert!(t.bytes as usize <= head + room);
            // …is what reads back whole from the file cut to it, which then
            // takes its statistics block.
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let mut cut = PcapngWriter {
                out: file,
                snaplen: DEFAULT_SNAPLEN,
                resolution: Resolution::Nanos,
                scratch: Vec::new(),
                totals: t,
                failed: true,
            };
            cut.cut_to_whole_records().unwrap();
            cut.finish(&stats()).unwrap();
            let (packets, _, isb) = read_back(&std::fs::read(&path).unwrap());
            assert_eq!(packets.len() as u64, t.packets, "room {room}");
            assert!(!isb.is_empty());
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn tshark_capinfos_and_tcpdump_read_the_file() {
        let path = std::env::temp_dir().join(format!("igbpoll-{}-w.pcapng", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut w = PcapngWriter::new(file, &interface(), 0, Resolution::Nanos).unwrap();
        // Broadcast ARP request 10.0.0.1 asking for 10.0.0.2, 61 bytes (padded).
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
        arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        arp.resize(61, 0);
        w.write_batch(&[
            Frame::new(1_000_000_001, &arp),
            Frame::new(2_000_000_000, &arp),
        ])
        .unwrap();
        drop(w.finish(&stats()).unwrap());
        let run = |tool: &str, args: &[&str]| match std::process::Command::new(tool)
            .args(args)
            .arg(&path)
            .output()
        {
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr);
                assert!(o.status.success(), "{tool}: {text}");
                Some(text)
            }
            Err(e) => {
                println!("note: {tool} not runnable ({e}); skipped");
                None
            }
        };
        if let Some(t) = run("tcpdump", &["-n", "--time-stamp-precision=nano", "-r"]) {
            assert_eq!(
                t.matches("Request who-has 10.0.0.2 tell 10.0.0.1").count(),
                2,
                "{t}"
            );
            assert!(t.contains(".000000001 ARP"), "{t}");
        }
        if let Some(t) = run("capinfos", &[]) {
            assert!(t.contains("pcapng"), "{t}");
            assert!(
                t.contains("Number of packets:   2") || t.contains("Number of packets = 2"),
                "{t}"
            );
            assert!(t.contains("sim:82576"), "{t}");
        }
        if let Some(t) = run("tshark", &["-T", "fields", "-e", "frame.len", "-r"]) {
            assert_eq!(t.lines().filter(|l| l.trim() == "61").count(), 2, "{t}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}
