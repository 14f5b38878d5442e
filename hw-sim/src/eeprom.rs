//! The NVM (EEPROM) image and the EERD read interface.
//!
//! Words 0..2 hold the MAC address (byte 0 in the low byte of word 0), and the
//! checksum word 0x3F makes words 0..=0x3F sum to 0xBABA, as the datasheets require.

use igbpoll_driver::regs::eerd;

/// The word the checksum covers up to (inclusive).
pub const CHECKSUM_WORD: usize = 0x3F;
/// The sum words 0..=0x3F must reach.
pub const CHECKSUM_SUM: u16 = 0xBABA;

/// An EEPROM image.
#[derive(Debug, Clone)]
pub struct Eeprom {
    words: Vec<u16>,
}

/// Where the EERD fields sit (the two families differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EerdFormat {
    /// 82540EM: address from bit 8, DONE at bit 4.
    E1000,
    /// 82576: address from bit 2, DONE at bit 1.
    Igb,
}

impl Eeprom {
    /// Builds an image of `size` words holding `mac`, with a valid checksum.
    pub fn new(mac: [u8; 6], size: usize, device_id: u16) -> Eeprom {
        let mut words = vec![0xFFFFu16; size.max(CHECKSUM_WORD + 1)];
        for (i, w) in words.iter_mut().take(CHECKSUM_WORD).enumerate() {
            *w = if i < 3 {
                u16::from_le_bytes([mac[2 * i], mac[2 * i + 1]])
            } else {
                0
            };
        }
        words[0x0A] = 0x4408; // initialization control 1 (load subsystem IDs)
        words[0x0B] = 0x8086; // subsystem ID
        words[0x0C] = 0x8086; // subsystem vendor ID
        words[0x0D] = device_id;
        words[0x0E] = 0x8086;
        let sum = words[..CHECKSUM_WORD]
            .iter()
            .fold(0u16, |a, &w| a.wrapping_add(w));
        words[CHECKSUM_WORD] = CHECKSUM_SUM.wrapping_sub(sum);
        Eeprom { words }
    }

    /// Word `addr`, or 0xFFFF (erased) past the end.
    pub fn word(&self, addr: usize) -> u16 {
        self.words.get(addr).copied().unwrap_or(0xFFFF)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the image is empty (never: at least 64 words).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The EERD value after the driver wrote `value`: the read is done at once.
    /// A write without START leaves DONE clear.
    pub fn eerd_write(&self, fmt: EerdFormat, value: u32) -> u32 {
        if value & eerd::START == 0 {
            return value & !(eerd::E1000_DONE | eerd::IGB_DONE);
        }
        match fmt {
            EerdFormat::E1000 => {
                let addr = (value >> eerd::E1000_ADDR_SHIFT) & 0xFF;
                (u32::from(self.word(addr as usize)) << eerd::DATA_SHIFT)
                    | (addr << eerd::E1000_ADDR_SHIFT)
                    | eerd::E1000_DONE
            }
            EerdFormat::Igb => {
                let addr = (value >> eerd::IGB_ADDR_SHIFT) & 0x3FFF;
                (u32::from(self.word(addr as usize)) << eerd::DATA_SHIFT)
                    | (addr << eerd::IGB_ADDR_SHIFT)
                    | eerd::IGB_DONE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_and_mac() {
        let e = Eeprom::new([0x52, 0x54, 0, 0x12, 0x34, 0x56], 64, 0x100E);
        let sum = (0..=CHECKSUM_WORD).fold(0u16, |a, i| a.wrapping_add(e.word(i)));
        assert_eq!(sum, CHECKSUM_SUM);
        assert_eq!(e.word(0), 0x5452);
        assert_eq!(e.word(2), 0x5634);
        assert_eq!(e.word(1000), 0xFFFF);
    }

    #[test]
    fn eerd_formats() {
        let e = Eeprom::new([1, 2, 3, 4, 5, 6], 1024, 0x10C9);
        let v = e.eerd_write(EerdFormat::E1000, (1 << 8) | 1);
        assert_eq!(v >> 16, 0x0403);
        assert_ne!(v & eerd::E1000_DONE, 0);
        let v = e.eerd_write(EerdFormat::Igb, (2 << 2) | 1);
        assert_eq!(v >> 16, 0x0605);
        assert_ne!(v & eerd::IGB_DONE, 0);
        assert_eq!(e.eerd_write(EerdFormat::Igb, 2 << 2) & eerd::IGB_DONE, 0);
    }
}
