//! Hardware statistics registers accumulated into 64-bit totals.
//!
//! The datasheets make every statistics register clear on read, and the 64-bit
//! byte counters clear when their high half is read (so the low half is read
//! first). QEMU's e1000 model does not clear MPC and RNBC on read; rather than
//! trust either, the driver learns each 32-bit register's behaviour the first
//! time it reads a non-zero value, by reading it again at once: a register that
//! cleared reads (almost) zero, one that did not reads at least as much. From then
//! on it adds the value read (clear-on-read) or the growth since the last read
//! (cumulative).

use crate::backend::Backend;
use crate::regs::{igb, stats as r};

macro_rules! hw_stats {
    ($( $field:ident : $name:literal = $kind:expr ),* $(,)?) => {
        /// Totals of the NIC's own counters since the driver opened it, named as
        /// `ethtool -S` names them for the e1000 and igb drivers.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct HwStats {
            $( #[doc = concat!("`", $name, "`")] pub $field: u64, )*
            /// Per-queue drops (RQDPC), igb only: `rx_queue_N_drops`.
            pub rx_queue_drops: Vec<u64>,
        }

        const TABLE: &[(&str, Kind)] = &[ $( ($name, $kind), )* ];

        impl HwStats {
            fn slots(&mut self) -> [&mut u64; TABLE.len()] {
                [ $( &mut self.$field, )* ]
            }

            /// Every counter as (name, value), in a stable order.
            pub fn iter(&self) -> impl Iterator<Item = (String, u64)> + '_ {
                [ $( ($name.to_string(), self.$field), )* ]
                    .into_iter()
                    .chain(self.rx_queue_drops.iter().enumerate()
                        .map(|(q, v)| (format!("rx_queue_{q}_drops"), *v)))
            }
        }
    };
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A 32-bit counter.
    Single(u32),
    /// A 64-bit counter in two registers: low, then high (reading high clears both).
    Pair(u32, u32),
}

use Kind::{Pair, Single};

hw_stats! {
    rx_packets: "rx_packets" = Single(r::GPRC),
    tx_packets: "tx_packets" = Single(r::GPTC),
    rx_bytes: "rx_bytes" = Pair(r::GORCL, r::GORCH),
    tx_bytes: "tx_bytes" = Pair(r::GOTCL, r::GOTCH),
    rx_broadcast: "rx_broadcast" = Single(r::BPRC),
    tx_broadcast: "tx_broadcast" = Single(r::BPTC),
    rx_multicast: "rx_multicast" = Single(r::MPRC),
    tx_multicast: "tx_multicast" = Single(r::MPTC),
    rx_total_packets: "rx_total_packets" = Single(r::TPR),
    tx_total_packets: "tx_total_packets" = Single(r::TPT),
    rx_total_bytes: "rx_total_bytes" = Pair(r::TORL, r::TORH),
    tx_total_bytes: "tx_total_bytes" = Pair(r::TOTL, r::TOTH),
    rx_missed_errors: "rx_missed_errors" = Single(r::MPC),
    rx_no_buffer_count: "rx_no_buffer_count" = Single(r::RNBC),
    rx_short_length_errors: "rx_short_length_errors" = Single(r::RUC),
    rx_long_length_errors: "rx_long_length_errors" = Single(r::ROC),
    rx_fragment_errors: "rx_fragment_errors" = Single(r::RFC),
    rx_jabber_errors: "rx_jabber_errors" = Single(r::RJC),
    rx_crc_errors: "rx_crc_errors" = Single(r::CRCERRS),
    rx_align_errors: "rx_align_errors" = Single(r::ALGNERRC),
    rx_symbol_errors: "rx_symbol_errors" = Single(r::SYMERRS),
    rx_errors_phy: "rx_errors_phy" = Single(r::RXERRC),
    rx_length_errors: "rx_length_errors" = Single(r::RLEC),
    collisions: "collisions" = Single(r::COLC),
    tx_deferred_ok: "tx_deferred_ok" = Single(r::DC),
    rx_flow_control_xon: "rx_flow_control_xon" = Single(r::XONRXC),
    rx_flow_control_xoff: "rx_flow_control_xoff" = Single(r::XOFFRXC),
    tx_flow_control_xon: "tx_flow_control_xon" = Single(r::XONTXC),
    tx_flow_control_xoff: "tx_flow_control_xoff" = Single(r::XOFFTXC),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    ClearOnRead,
    Cumulative { last: u32 },
}

/// Reads the statistics registers and keeps the 64-bit totals.
#[derive(Debug)]
pub(crate) struct HwCounters {
    totals: HwStats,
    modes: Vec<Mode>,
    rqdpc_modes: Vec<Mode>,
}

impl HwCounters {
    /// `queues`: how many RQDPC registers to read (0 on e1000).
    pub(crate) fn new(queues: usize) -> Self {
        HwCounters {
            totals: HwStats {
                rx_queue_drops: vec![0; queues],
                ..HwStats::default()
            },
            modes: vec![Mode::Unknown; TABLE.len()],
            rqdpc_modes: vec![Mode::Unknown; queues],
        }
    }

    fn read_single<B: Backend + ?Sized>(b: &B, reg: u32, mode: &mut Mode) -> u64 {
        let v = b.read32(reg);
        match *mode {
            Mode::ClearOnRead => u64::from(v),
            Mode::Cumulative { last } => {
                *mode = Mode::Cumulative { last: v };
                u64::from(v.saturating_sub(last))
            }
            Mode::Unknown if v == 0 => 0,
            Mode::Unknown => {
                let again = b.read32(reg);
                if again >= v {
                    *mode = Mode::Cumulative { last: again };
                    u64::from(again)
                } else {
                    *mode = Mode::ClearOnRead;
                    u64::from(v) + u64::from(again)
                }
            }
        }
    }

    /// Reads every register once, adds to the totals, and returns them.
    pub(crate) fn update<B: Backend + ?Sized>(&mut self, b: &B) -> &HwStats {
        let slots = self.totals.slots();
        for (i, (_, kind)) in TABLE.iter().enumerate() {
            let add = match *kind {
                Single(reg) => Self::read_single(b, reg, &mut self.modes[i]),
                Pair(lo, hi) => {
                    let l = b.read32(lo);
                    let h = b.read32(hi);
                    u64::from(l) | (u64::from(h) << 32)
                }
            };
            *slots[i] += add;
        }
        for (q, mode) in self.rqdpc_modes.iter_mut().enumerate() {
            self.totals.rx_queue_drops[q] += Self::read_single(b, igb::rqdpc(q as u32), mode);
        }
        &self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HeapBackend;

    #[test]
    fn cumulative_register_is_not_double_counted() {
        // HeapBackend registers keep their value on read, like QEMU's e1000 MPC.
        let b = HeapBackend::default();
        let mut c = HwCounters::new(0);
        b.write32(r::MPC, 5);
        assert_eq!(c.update(&b).rx_missed_errors, 5);
        assert_eq!(c.update(&b).rx_missed_errors, 5);
        b.write32(r::MPC, 9);
        assert_eq!(c.update(&b).rx_missed_errors, 9);
    }

    #[test]
    fn pairs_combine_low_and_high() {
        let b = HeapBackend::default();
        let mut c = HwCounters::new(2);
        b.write32(r::GORCL, 0x10);
        b.write32(r::GORCH, 0x1);
        assert_eq!(c.update(&b).rx_bytes, 0x1_0000_0010);
        assert!(c.totals.iter().any(|(n, _)| n == "rx_queue_1_drops"));
    }
}
