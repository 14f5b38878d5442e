//! Replay of a pcap or pcapng capture.
//!
//! The whole capture is read into memory when the replay is made, so the
//! engine's per-frame path is an index increment. Records cut short by the
//! capture length are replayed with the bytes captured; a truncated or
//! malformed record ends the capture (everything before it is kept);
//! records of non-Ethernet interfaces are skipped.
//!
//! Frames shorter than the 60-byte Ethernet minimum are padded with zeros to
//! 60, as the sending NIC pads them on a real wire (and as the TAP end does):
//! captures taken on a host hold its outgoing frames unpadded, a 42-byte ARP
//! request or a 54-byte TCP ACK, and without padding the NIC model would
//! count and drop them as runts (RUC). Counted in [`Replay::padded_records`];
//! [`Replay::frames`] gives the frames as the file holds them.
//! Frames longer than a NIC without long-packet reception takes (jumbo
//! frames, or a host capture's GRO/TSO super-frames) are replayed as they
//! are: the NIC model drops them as oversize (ROC), as real silicon does;
//! [`Replay::long_records`] tells how many there are before the replay starts.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

use super::frame::MIN_FRAME;
use super::{FrameSource, SourcePoll};

/// The longest untagged frame (without FCS) a NIC takes with long-packet
/// reception off: 1518 bytes on the wire with the FCS.
pub const MAX_STANDARD_FRAME: usize = 1514;
/// The same for a frame carrying one 802.1Q tag.
pub const MAX_TAGGED_FRAME: usize = MAX_STANDARD_FRAME + 4;

/// Why a capture could not be opened.
#[derive(Debug)]
pub enum ReplayError {
    /// The file could not be read.
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither a pcap nor a pcapng file.
    NotACapture {
        /// The first bytes of the file.
        magic: [u8; 4],
    },
    /// The capture header is malformed.
    BadHeader {
        /// What pcap-file said.
        reason: String,
    },
    /// A pcap file whose link type is not Ethernet.
    LinkType {
        /// The link type found.
        link_type: u32,
    },
    /// A pcapng file none of whose packets is on an Ethernet interface.
    NoEthernet {
        /// The packets on other interfaces.
        records: u64,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io { path, source } => write!(f, "cannot read capture {path}: {source}"),
            ReplayError::NotACapture { magic } => {
                write!(f, "not a pcap or pcapng file (starts with {magic:02x?})")
            }
            ReplayError::BadHeader { reason } => write!(f, "malformed capture header: {reason}"),
            ReplayError::LinkType { link_type } => write!(
                f,
                "capture link type {link_type} is not Ethernet (1); only Ethernet can be replayed"
            ),
            ReplayError::NoEthernet { records } => write!(
                f,
                "none of the {records} packets is on an Ethernet interface (link type 1); \
                 only Ethernet can be replayed"
            ),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A capture replayed frame by frame, once, then [`SourcePoll::Done`].
#[derive(Debug, Clone)]
pub struct Replay {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    next: usize,
    truncated_records: u64,
    padded_records: u64,
    long_records: u64,
    other_link_records: u64,
    stopped_early: bool,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

impl Replay {
    /// Reads a pcap or pcapng file.
    pub fn open(path: impl AsRef<Path>) -> Result<Replay, ReplayError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ReplayError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Parses a pcap or pcapng capture held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Replay, ReplayError> {
        let mut magic = [0u8; 4];
        let n = bytes.len().min(4);
        magic[..n].copy_from_slice(&bytes[..n]);
        let mut r = Replay {
            data: Vec::new(),
            spans: Vec::new(),
            next: 0,
            truncated_records: 0,
            padded_records: 0,
            long_records: 0,
            other_link_records: 0,
            stopped_early: false,
        };
        match magic {
            [0xD4, 0xC3, 0xB2, 0xA1]
            | [0xA1, 0xB2, 0xC3, 0xD4]
            | [0x4D, 0x3C, 0xB2, 0xA1]
            | [0xA1, 0xB2, 0x3C, 0x4D] => r.load_pcap(bytes)?,
            PCAPNG_MAGIC => r.load_pcapng(bytes)?,
            _ => return Err(ReplayError::NotACapture { magic }),
        }
        if r.spans.is_empty() && r.other_link_records > 0 {
            return Err(ReplayError::NoEthernet {
                records: r.other_link_records,
            });
        }
        Ok(r)
    }

    fn push(&mut self, frame: &[u8], orig_len: u32) {
        if (orig_len as usize) > frame.len() {
            self.truncated_records += 1;
        }
        let tagged = frame.len() >= 14 && frame[12..14] == [0x81, 0x00];
        let max = if tagged {
            MAX_TAGGED_FRAME
        } else {
            MAX_STANDARD_FRAME
        };
        if frame.len() > max {
            self.long_records += 1;
        }
        // The padding is stored after the frame: the wire sends it, and
        // `frames` leaves it out.
        let pad = MIN_FRAME.saturating_sub(frame.len());
        if pad > 0 {
            self.padded_records += 1;
        }
        self.spans.push((self.data.len(), frame.len()));
        self.data.extend_from_slice(frame);
        self.data.resize(self.data.len() + pad, 0);
    }

    fn load_pcap(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let mut rd = PcapReader::new(bytes).map_err(|e| ReplayError::BadHeader {
            reason: e.to_string(),
        })?;
        let dl = rd.header().datalink;
        if dl != DataLink::ETHERNET {
            return Err(ReplayError::LinkType {
                link_type: u32::from(dl),
            });
        }
        while let Some(rec) = rd.next_raw_packet() {
            match rec {
                Ok(p) => {
                    let (data, orig) = (p.data.into_owned(), p.orig_len);
                    self.push(&data, orig);
                }
                Err(_) => {
                    self.stopped_early = true;
                    break;
                }
            }
        }
        Ok(())
    }

    fn load_pcapng(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let mut rd = PcapNgReader::new(bytes).map_err(|e| ReplayError::BadHeader {
            reason: e.to_string(),
        })?;
        loop {
            let (frame, orig, iface) = match rd.next_block() {
                None => break,
                Some(Err(_)) => {
                    self.stopped_early = true;
                    break;
                }
                Some(Ok(Block::EnhancedPacket(p))) => {
                    (p.data.into_owned(), p.original_len, Some(p.interface_id))
                }
                Some(Ok(Block::SimplePacket(p))) => (p.data.into_owned(), p.original_len, Some(0)),
                Some(Ok(Block::Packet(p))) => (
                    p.data.into_owned(),
                    p.original_len,
                    Some(u32::from(p.interface_id)),
                ),
                Some(Ok(_)) => continue,
            };
            let ethernet = iface.is_some_and(|i| {
                rd.interfaces()
                    .get(i as usize)
                    .is_some_and(|d| d.linktype == DataLink::ETHERNET)
            });
            if ethernet {
                self.push(&frame, orig);
            } else {
                self.other_link_records += 1;
            }
        }
        Ok(())
    }

    /// Frames in the capture.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the capture holds no frame.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Records whose original length exceeded what was captured.
    pub fn truncated_records(&self) -> u64 {
        self.truncated_records
    }

    /// Frames shorter than 60 bytes, replayed padded with zeros to 60.
    pub fn padded_records(&self) -> u64 {
        self.padded_records
    }

    /// Frames longer than [`MAX_STANDARD_FRAME`] ([`MAX_TAGGED_FRAME`] with an
    /// 802.1Q tag): a NIC without long-packet reception drops them (ROC).
    pub fn long_records(&self) -> u64 {
        self.long_records
    }

    /// Frames longer than `max` bytes: what a NIC whose long-packet limit is
    /// `max` (tags included) drops.
    pub fn frames_longer_than(&self, max: usize) -> u64 {
        self.spans.iter().filter(|&&(_, l)| l > max).count() as u64
    }

    /// Records of a pcapng file's non-Ethernet interfaces (Linux "any"
    /// captures, loopback, Wi-Fi…), left out: only Ethernet goes on the wire.
    pub fn other_link_records(&self) -> u64 {
        self.other_link_records
    }

    /// True when a malformed or cut-off record ended the capture early.
    pub fn stopped_early(&self) -> bool {
        self.stopped_early
    }

    /// The frames as the file holds them (without the padding the wire
    /// adds), in order.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans.iter().map(|&(o, l)| &self.data[o..o + l])
    }
}

impl FrameSource for Replay {
    #[inline]
    fn poll(&mut self, _now: Duration) -> SourcePoll<'_> {
        match self.spans.get(self.next) {
            Some(&(o, l)) => {
                self.next += 1;
                SourcePoll::Frame(&self.data[o..o + l.max(MIN_FRAME)])
            }
            None => SourcePoll::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::generator::Generator;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;

    fn frames() -> Vec<Vec<u8>> {
        Generator::mixed(1, [2; 6])
            .templates()
            .take(20)
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn pcap_bytes(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut sink = crate::wire::sink::PcapSink::to_writer(Vec::new(), true).unwrap();
        for (i, f) in frames.iter().enumerate() {
            crate::wire::FrameSink::frame(&mut sink, Duration::from_micros(i as u64), f);
        }
        sink.into_inner().unwrap()
    }

    #[test]
    fn pcap_roundtrip() {
        let f = frames();
        let mut r = Replay::from_bytes(&pcap_bytes(&f)).unwrap();
        assert_eq!(r.len(), 20);
        for want in &f {
            match r.poll(Duration::ZERO) {
                SourcePoll::Frame(got) => assert_eq!(got, &want[..]),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(r.poll(Duration::ZERO), SourcePoll::Done));
    }

    #[test]
    fn truncated_pcap_keeps_what_it_can() {
        let f = frames();
        let bytes = pcap_bytes(&f);
        let cut = &bytes[..bytes.len() - 7];
        let r = Replay::from_bytes(cut).unwrap();
        assert_eq!(r.len(), 19);
        assert!(r.stopped_early());
        // A record whose incl_len is absurd.
        let mut bad = bytes[..24].to_vec();
        bad.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0]);
        let r = Replay::from_bytes(&bad).unwrap();
        assert!(r.is_empty());
        assert!(Replay::from_bytes(b"junk").is_err());
        assert!(Replay::from_bytes(&bytes[..10]).is_err());
    }

    #[test]
    fn caplen_shorter_than_frame() {
        // One record: orig_len 1000, 64 bytes captured, snaplen 64.
        let mut b = Vec::new();
        b.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        for v in [0u32, 0, 64, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [1u32, 0, 64, 1000] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&[0xAB; 64]);
        let r = Replay::from_bytes(&b).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r.truncated_records(), 1);
        assert_eq!(r.frames().next().unwrap(), &[0xAB; 64][..]);
    }

    /// A two-interface pcapng (Ethernet and Linux cooked): only the Ethernet
    /// interface's packets are replayed, the others counted; a file with no
    /// Ethernet interface is refused.
    #[test]
    fn pcapng_non_ethernet_interfaces_are_left_out() {
        let f = frames();
        let build = |links: &[DataLink]| {
            let mut w = PcapNgWriter::new(Vec::new()).unwrap();
            for &l in links {
                w.write_pcapng_block(InterfaceDescriptionBlock::new(l, 0))
                    .unwrap();
            }
            for (i, fr) in f.iter().enumerate() {
                let epb = EnhancedPacketBlock {
                    interface_id: (i % links.len()) as u32,
                    timestamp: Duration::from_micros(i as u64),
                    original_len: fr.len() as u32,
                    data: fr.as_slice().into(),
                    options: vec![],
                };
                w.write_pcapng_block(epb).unwrap();
            }
            w.into_inner()
        };
        let r = Replay::from_bytes(&build(&[DataLink::ETHERNET, DataLink::LINUX_SLL])).unwrap();
        let got: Vec<Vec<u8>> = r.frames().map(<[u8]>::to_vec).collect();
        let want: Vec<Vec<u8>> = f.iter().step_by(2).cloned().collect();
        assert_eq!(got, want);
        assert_eq!(r.other_link_records(), (f.len() / 2) as u64);
        match Replay::from_bytes(&build(&[DataLink::LINUX_SLL])) {
            Err(e @ ReplayError::NoEthernet { .. }) => {
                assert!(e.to_string().contains("Ethernet"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pcapng_replay() {
        let f = frames();
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 0))
            .unwrap();
        for (i, fr) in f.iter().enumerate() {
            let epb = EnhancedPacketBlock {
                interface_id: 0,
                timestamp: Duration::from_micros(i as u64),
                original_len: fr.len() as u32,
                data: fr.as_slice().into(),
                options: vec![],
            };
            w.write_pcapng_block(epb).unwrap();
        }
        let bytes = w.into_inner();
        let r = Replay::from_bytes(&bytes).unwrap();
        let got: Vec<Vec<u8>> = r.frames().map(<[u8]>::to_vec).collect();
        assert_eq!(got, f);
        // Truncated pcapng: no panic, a prefix survives.
        let r = Replay::from_bytes(&bytes[..bytes.len() - 5]).unwrap();
        assert_eq!(r.len(), 19);
    }

    #[test]
    fn short_frames_are_padded_and_long_ones_counted() {
        let mut arp = vec![0xFFu8; 6];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend((0..28u8).map(|b| b | 0x40));
        let mut tagged = arp[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0, 100, 0x08, 0x00]);
        tagged.resize(MAX_TAGGED_FRAME, 0x11);
        let mut untagged_long = arp[..12].to_vec();
        untagged_long.extend_from_slice(&[0x08, 0x00]);
        untagged_long.resize(MAX_STANDARD_FRAME + 1, 0x22);
        let f = vec![
            arp.clone(),
            vec![0x66; 54],
            vec![0x33; 60],
            tagged.clone(),
            untagged_long.clone(),
            vec![0x44; 9000],
            vec![0x55; 7],
        ];
        assert_eq!(arp.len(), 42);
        let r = Replay::from_bytes(&pcap_bytes(&f)).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(r.padded_records(), 3);
        assert_eq!(r.long_records(), 2);
        assert_eq!(r.frames_longer_than(1514), 3);
        assert_eq!(r.frames_longer_than(9000), 0);
        let recorded: Vec<&[u8]> = r.frames().collect();
        assert_eq!(recorded, f.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut r = r.clone();
        let mut got = Vec::new();
        while let SourcePoll::Frame(w) = r.poll(Duration::ZERO) {
            got.push(w.to_vec());
        }
        assert_eq!(got.len(), 7);
        assert_eq!(got[0].len(), MIN_FRAME);
        assert_eq!(&got[0][..42], &arp[..]);
        assert!(got[0][42..].iter().all(|&b| b == 0));
        assert_eq!(&got[1][..54], &f[1][..]);
        assert_eq!(got[1][54..], [0; 6]);
        assert_eq!(got[2], f[2]);
        assert_eq!(got[3], tagged);
        assert_eq!(got[4], untagged_long);
        assert_eq!(got[5].len(), 9000);
        assert_eq!(&got[6][..7], &[0x55; 7][..]);
        assert!(got[6][7..].iter().all(|&b| b == 0));
    }
}
