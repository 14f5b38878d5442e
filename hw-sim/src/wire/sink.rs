//! Sinks that record what the NIC transmits.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pcap_file::pcap::PcapHeader;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use super::FrameSink;

/// A sink keeping every transmitted frame in memory. Clone it before handing
/// it to the simulation; every clone sees the same frames.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    frames: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// A copy of the frames recorded so far.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Removes and returns the frames recorded so far.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.frames.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Frames recorded so far.
    pub fn len(&self) -> usize {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FrameSink for MemorySink {
    fn frame(&mut self, _ts: Duration, data: &[u8]) {
        self.frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(data.to_vec());
    }
}

/// Snap length written in pcap headers.
pub const SNAPLEN: u32 = 65535;

/// A sink writing a pcap file (LINKTYPE_ETHERNET, little-endian, microsecond
/// or nanosecond timestamps). Flushed when the simulation stops and when the
/// sink is dropped.
pub struct PcapSink<W: Write + Send = BufWriter<File>> {
    writer: Option<W>,
    nanos: bool,
    errors: u64,
}

impl<W: Write + Send> std::fmt::Debug for PcapSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSink")
            .field("nanos", &self.nanos)
            .field("errors", &self.errors)
            .finish()
    }
}

impl PcapSink {
    /// Creates (truncates) `path`; `nanos` selects nanosecond timestamps.
    pub fn create(path: impl AsRef<Path>, nanos: bool) -> Result<PcapSink, PcapError> {
        let f = File::create(path).map_err(PcapError::IoError)?;
        PcapSink::to_writer(BufWriter::new(f), nanos)
    }
}

impl<W: Write + Send> PcapSink<W> {
    /// Writes a pcap stream to `w`.
    pub fn to_writer(mut w: W, nanos: bool) -> Result<PcapSink<W>, PcapError> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: if nanos {
                TsResolution::NanoSecond
            } else {
                TsResolution::MicroSecond
            },
            endianness: Endianness::Little,
        };
        header.write_to(&mut w)?;
        Ok(PcapSink {
            writer: Some(w),
            nanos,
            errors: 0,
        })
    }

    /// Records that could not be written.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> std::io::Result<W> {
        let mut w = self.writer.take().expect("writer present until into_inner");
        w.flush()?;
        Ok(w)
    }

    fn write_record(w: &mut W, nanos: bool, ts: Duration, data: &[u8]) -> std::io::Result<()> {
        let len = data.len().min(SNAPLEN as usize);
        let frac = if nanos {
            ts.subsec_nanos()
        } else {
            ts.subsec_micros()
        };
        let mut hdr = [0u8; 16];
        hdr[0..4].copy_from_slice(&(ts.as_secs() as u32).to_le_bytes());
        hdr[4..8].copy_from_slice(&frac.to_le_bytes());
        hdr[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        hdr[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        w.write_all(&hdr)?;
        w.write_all(&data[..len])
    }
}

impl<W: Write + Send> FrameSink for PcapSink<W> {
    fn frame(&mut self, ts: Duration, data: &[u8]) {
        let nanos = self.nanos;
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        if Self::write_record(w, nanos, ts, data).is_err() {
            self.errors += 1;
        }
    }

    fn flush(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            if w.flush().is_err() {
                self.errors += 1;
            }
        }
    }
}

impl<W: Write + Send> Drop for PcapSink<W> {
    fn drop(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;

    #[test]
    fn pcap_file_is_readable_with_nanos() {
        let dir = std::env::temp_dir().join(format!("hwsim-sink-{}", std::process::id()));
        let mut s = PcapSink::create(&dir, true).unwrap();
        s.frame(Duration::new(5, 123_456_789), &[1u8; 60]);
        s.flush();
        drop(s);
        let bytes = std::fs::read(&dir).unwrap();
        std::fs::remove_file(&dir).ok();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.header().ts_resolution, TsResolution::NanoSecond);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.timestamp, Duration::new(5, 123_456_789));
        assert_eq!(&p.data[..], &[1u8; 60][..]);
    }
}
