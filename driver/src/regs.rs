//! Register offsets (BAR0) and bit fields, named after the 8254x and 82576 datasheets.
//!
//! One module per register family. Offsets shared by both families live at the top
//! level; the per-queue blocks of the 82576 are functions of the queue number.

#![allow(missing_docs)] // The names are the datasheet's; each group is documented.

/// Device control.
pub const CTRL: u32 = 0x0000;
/// Device status.
pub const STATUS: u32 = 0x0008;
/// EEPROM/flash control.
pub const EECD: u32 = 0x0010;
/// EEPROM read.
pub const EERD: u32 = 0x0014;
/// Extended device control.
pub const CTRL_EXT: u32 = 0x0018;
/// MDI (PHY) control.
pub const MDIC: u32 = 0x0020;
/// VLAN ethertype.
pub const VET: u32 = 0x0038;
/// Interrupt cause read (read-to-clear).
pub const ICR: u32 = 0x00C0;
/// Interrupt throttling (e1000).
pub const ITR: u32 = 0x00C4;
/// Interrupt cause set.
pub const ICS: u32 = 0x00C8;
/// Interrupt mask set/read.
pub const IMS: u32 = 0x00D0;
/// Interrupt mask clear.
pub const IMC: u32 = 0x00D8;
/// Receive control.
pub const RCTL: u32 = 0x0100;
/// Transmit control.
pub const TCTL: u32 = 0x0400;
/// Transmit inter-packet gap.
pub const TIPG: u32 = 0x0410;
/// Receive checksum control.
pub const RXCSUM: u32 = 0x5000;
/// Multicast table array, 128 registers.
pub const MTA: u32 = 0x5200;
/// Number of MTA registers.
pub const MTA_LEN: u32 = 128;

/// Receive address low, entry `n` (0..16).
pub const fn ral(n: u32) -> u32 {
    0x5400 + 8 * n
}
/// Receive address high, entry `n` (0..16).
pub const fn rah(n: u32) -> u32 {
    0x5404 + 8 * n
}
/// RAH: address valid.
pub const RAH_AV: u32 = 1 << 31;

/// CTRL bits.
pub mod ctrl {
    pub const FD: u32 = 1 << 0;
    pub const LRST: u32 = 1 << 3;
    pub const ASDE: u32 = 1 << 5;
    pub const SLU: u32 = 1 << 6;
    pub const FRCSPD: u32 = 1 << 11;
    pub const FRCDPX: u32 = 1 << 12;
    pub const RST: u32 = 1 << 26;
    pub const RFCE: u32 = 1 << 27;
    pub const TFCE: u32 = 1 << 28;
    pub const VME: u32 = 1 << 30;
    pub const PHY_RST: u32 = 1 << 31;
}

/// STATUS bits.
pub mod status {
    pub const FD: u32 = 1 << 0;
    pub const LU: u32 = 1 << 1;
    pub const SPEED_SHIFT: u32 = 6;
    pub const SPEED_MASK: u32 = 0b11 << 6;
    /// 82576: PHY reset asserted (cleared by the driver after reset).
    pub const PHYRA: u32 = 1 << 10;
    pub const GIO_MASTER_ENABLE: u32 = 1 << 19;
}

/// EERD fields. The 8254x and the 82576 place them differently.
pub mod eerd {
    pub const START: u32 = 1 << 0;
    /// 82540EM/82545EM: DONE at bit 4, address from bit 8.
    pub const E1000_DONE: u32 = 1 << 4;
    pub const E1000_ADDR_SHIFT: u32 = 8;
    /// 82576 and later: DONE at bit 1, address from bit 2.
    pub const IGB_DONE: u32 = 1 << 1;
    pub const IGB_ADDR_SHIFT: u32 = 2;
    pub const DATA_SHIFT: u32 = 16;
}

/// MDIC fields.
pub mod mdic {
    pub const DATA_MASK: u32 = 0xFFFF;
    pub const REG_SHIFT: u32 = 16;
    pub const PHY_SHIFT: u32 = 21;
    pub const OP_WRITE: u32 = 1 << 26;
    pub const OP_READ: u32 = 2 << 26;
    pub const READY: u32 = 1 << 28;
    pub const ERROR: u32 = 1 << 30;
    /// The internal PHY's MDIO address.
    pub const PHY_ADDR: u32 = 1;
}

/// PHY (MII) registers and bits reached through MDIC.
pub mod phy {
    pub const BMCR: u32 = 0;
    pub const BMSR: u32 = 1;
    pub const BMCR_ANRESTART: u16 = 1 << 9;
    pub const BMCR_AUTOEN: u16 = 1 << 12;
    pub const BMCR_RESET: u16 = 1 << 15;
    pub const BMSR_LSTATUS: u16 = 1 << 2;
    pub const BMSR_ANEGCOMPLETE: u16 = 1 << 5;
}

/// RCTL bits.
pub mod rctl {
    pub const EN: u32 = 1 << 1;
    pub const SBP: u32 = 1 << 2;
    pub const UPE: u32 = 1 << 3;
    pub const MPE: u32 = 1 << 4;
    pub const LPE: u32 = 1 << 5;
    pub const LBM_MASK: u32 = 0b11 << 6;
    pub const RDMTS_HALF: u32 = 0b00 << 8;
    pub const MO_SHIFT: u32 = 12;
    pub const BAM: u32 = 1 << 15;
    /// BSIZE 00 with BSEX 0: 2048-byte buffers.
    pub const BSIZE_2048: u32 = 0b00 << 16;
    pub const BSIZE_MASK: u32 = 0b11 << 16;
    pub const VFE: u32 = 1 << 18;
    pub const BSEX: u32 = 1 << 25;
    pub const SECRC: u32 = 1 << 26;
}

/// TCTL bits.
pub mod tctl {
    pub const EN: u32 = 1 << 1;
    pub const PSP: u32 = 1 << 3;
    pub const CT_SHIFT: u32 = 4;
    pub const COLD_SHIFT: u32 = 12;
    /// Collision threshold recommended by the datasheets.
    pub const CT_DEFAULT: u32 = 0x0F << CT_SHIFT;
    /// Collision distance for full duplex.
    pub const COLD_FULL_DUPLEX: u32 = 0x40 << COLD_SHIFT;
}

/// 8254x single-queue descriptor ring registers.
pub mod e1000 {
    pub const RDBAL: u32 = 0x2800;
    pub const RDBAH: u32 = 0x2804;
    pub const RDLEN: u32 = 0x2808;
    pub const RDH: u32 = 0x2810;
    pub const RDT: u32 = 0x2818;
    pub const RDTR: u32 = 0x2820;
    pub const RADV: u32 = 0x282C;
    pub const TDBAL: u32 = 0x3800;
    pub const TDBAH: u32 = 0x3804;
    pub const TDLEN: u32 = 0x3808;
    pub const TDH: u32 = 0x3810;
    pub const TDT: u32 = 0x3818;
    pub const TIDV: u32 = 0x3820;
    pub const TADV: u32 = 0x382C;
    /// TIPG for IEEE 802.3 copper (IPGT 10, IPGR1 8, IPGR2 6).
    pub const TIPG_COPPER: u32 = 10 | (8 << 10) | (6 << 20);
}

/// 82576 (igb) registers: per-queue blocks and the extended interrupt set.
pub mod igb {
    pub const fn rdbal(q: u32) -> u32 {
        0xC000 + 0x40 * q
    }
    pub const fn rdbah(q: u32) -> u32 {
        0xC004 + 0x40 * q
    }
    pub const fn rdlen(q: u32) -> u32 {
        0xC008 + 0x40 * q
    }
    pub const fn srrctl(q: u32) -> u32 {
        0xC00C + 0x40 * q
    }
    pub const fn rdh(q: u32) -> u32 {
        0xC010 + 0x40 * q
    }
    pub const fn rdt(q: u32) -> u32 {
        0xC018 + 0x40 * q
    }
    pub const fn rxdctl(q: u32) -> u32 {
        0xC028 + 0x40 * q
    }
    /// Per-queue receive drop packet count (read-to-clear).
    pub const fn rqdpc(q: u32) -> u32 {
        0xC030 + 0x40 * q
    }
    pub const fn tdbal(q: u32) -> u32 {
        0xE000 + 0x40 * q
    }
    pub const fn tdbah(q: u32) -> u32 {
        0xE004 + 0x40 * q
    }
    pub const fn tdlen(q: u32) -> u32 {
        0xE008 + 0x40 * q
    }
    pub const fn tdh(q: u32) -> u32 {
        0xE010 + 0x40 * q
    }
    pub const fn tdt(q: u32) -> u32 {
        0xE018 + 0x40 * q
    }
    pub const fn txdctl(q: u32) -> u32 {
        0xE028 + 0x40 * q
    }
    /// Number of RX/TX queue register blocks on the 82576.
    pub const QUEUES: u32 = 16;

    pub const EICS: u32 = 0x1520;
    pub const EIMS: u32 = 0x1524;
    pub const EIMC: u32 = 0x1528;
    pub const EIAC: u32 = 0x152C;
    pub const EIAM: u32 = 0x1530;
    pub const EICR: u32 = 0x1580;
    pub const GPIE: u32 = 0x1514;
    pub const MRQC: u32 = 0x5818;
    pub const RLPML: u32 = 0x5004;
    /// RXCSUM: packet checksum disable; the descriptor carries the RSS hash instead.
    pub const RXCSUM_PCSD: u32 = 1 << 13;

    /// RSS redirection table register `n` (0..32): entries 4n..4n+3, entry 4n in bits 7:0.
    pub const fn reta(n: u32) -> u32 {
        0x5C00 + 4 * n
    }
    /// RSS random key register `n` (0..10): key bytes 4n..4n+3, byte 4n in bits 7:0.
    pub const fn rssrk(n: u32) -> u32 {
        0x5C80 + 4 * n
    }
    /// RETA entries (128 one-byte entries in 32 registers).
    pub const RETA_ENTRIES: usize = 128;
    /// RSSRK key length in bytes (10 registers).
    pub const RSS_KEY_LEN: usize = 40;

    /// MRQC: multiple receive queue mode and the RSS hash fields.
    pub mod mrqc {
        /// Bits 0..2: the mode.
        pub const MODE_MASK: u32 = 0b111;
        /// Mode: RSS only.
        pub const MODE_RSS: u32 = 0b010;
        /// Hash TCP over IPv4 on addresses and ports.
        pub const TCP_IPV4: u32 = 1 << 16;
        /// Hash IPv4 on addresses.
        pub const IPV4: u32 = 1 << 17;
        /// Hash TCP over IPv6 (with extension headers) on addresses and ports.
        pub const TCP_IPV6_EX: u32 = 1 << 18;
        /// Hash IPv6 (with extension headers) on addresses.
        pub const IPV6_EX: u32 = 1 << 19;
        /// Hash IPv6 on addresses.
        pub const IPV6: u32 = 1 << 20;
        /// Hash TCP over IPv6 on addresses and ports.
        pub const TCP_IPV6: u32 = 1 << 21;
        /// Hash UDP over IPv4 on addresses and ports.
        pub const UDP_IPV4: u32 = 1 << 22;
        /// Hash UDP over IPv6 on addresses and ports.
        pub const UDP_IPV6: u32 = 1 << 23;
        /// Hash UDP over IPv6 (with extension headers) on addresses and ports.
        pub const UDP_IPV6_EX: u32 = 1 << 24;
    }

    /// SRRCTL fields.
    pub const SRRCTL_BSIZEPKT_MASK: u32 = 0x7F;
    pub const SRRCTL_BSIZEHDR_SHIFT: u32 = 8;
    pub const SRRCTL_DESCTYPE_MASK: u32 = 0b111 << 25;
    pub const SRRCTL_DESCTYPE_ADV_ONEBUF: u32 = 0b001 << 25;
    pub const SRRCTL_DROP_EN: u32 = 1 << 31;
    /// RXDCTL/TXDCTL: queue enable.
    pub const XDCTL_ENABLE: u32 = 1 << 25;
    /// RXDCTL/TXDCTL: write-back threshold field shift.
    pub const XDCTL_WTHRESH_SHIFT: u32 = 16;
}

/// Statistics registers (common to both families; all 32-bit unless paired L/H).
pub mod stats {
    pub const CRCERRS: u32 = 0x4000;
    pub const ALGNERRC: u32 = 0x4004;
    pub const SYMERRS: u32 = 0x4008;
    pub const RXERRC: u32 = 0x400C;
    pub const MPC: u32 = 0x4010;
    pub const SCC: u32 = 0x4014;
    pub const ECOL: u32 = 0x4018;
    pub const MCC: u32 = 0x401C;
    pub const LATECOL: u32 = 0x4020;
    pub const COLC: u32 = 0x4028;
    pub const DC: u32 = 0x4030;
    pub const SEC: u32 = 0x4038;
    pub const RLEC: u32 = 0x4040;
    pub const XONRXC: u32 = 0x4048;
    pub const XONTXC: u32 = 0x404C;
    pub const XOFFRXC: u32 = 0x4050;
    pub const XOFFTXC: u32 = 0x4054;
    pub const FCRUC: u32 = 0x4058;
    pub const PRC64: u32 = 0x405C;
    pub const PRC127: u32 = 0x4060;
    pub const PRC255: u32 = 0x4064;
    pub const PRC511: u32 = 0x4068;
    pub const PRC1023: u32 = 0x406C;
    pub const PRC1522: u32 = 0x4070;
    pub const GPRC: u32 = 0x4074;
    pub const BPRC: u32 = 0x4078;
    pub const MPRC: u32 = 0x407C;
    pub const GPTC: u32 = 0x4080;
    pub const GORCL: u32 = 0x4088;
    pub const GORCH: u32 = 0x408C;
    pub const GOTCL: u32 = 0x4090;
    pub const GOTCH: u32 = 0x4094;
    pub const RNBC: u32 = 0x40A0;
    pub const RUC: u32 = 0x40A4;
    pub const RFC: u32 = 0x40A8;
    pub const ROC: u32 = 0x40AC;
    pub const RJC: u32 = 0x40B0;
    pub const TORL: u32 = 0x40C0;
    pub const TORH: u32 = 0x40C4;
    pub const TOTL: u32 = 0x40C8;
    pub const TOTH: u32 = 0x40CC;
    pub const TPR: u32 = 0x40D0;
    pub const TPT: u32 = 0x40D4;
    pub const PTC64: u32 = 0x40D8;
    pub const PTC127: u32 = 0x40DC;
    pub const PTC255: u32 = 0x40E0;
    pub const PTC511: u32 = 0x40E4;
    pub const PTC1023: u32 = 0x40E8;
    pub const PTC1522: u32 = 0x40EC;
    pub const MPTC: u32 = 0x40F0;
    pub const BPTC: u32 = 0x40F4;
}

/// Interrupt cause bits (ICR/IMS/IMC).
pub mod icr {
    pub const TXDW: u32 = 1 << 0;
    pub const LSC: u32 = 1 << 2;
    pub const RXDMT0: u32 = 1 << 4;
    pub const RXO: u32 = 1 << 6;
    pub const RXT0: u32 = 1 << 7;
}
