//! Which NICs the driver supports, by PCI vendor and device ID.

/// Intel's PCI vendor ID.
pub const INTEL_VENDOR_ID: u16 = 0x8086;

/// The two register/descriptor families the driver knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// 8254x (82540EM, 82545EM): legacy descriptors, one queue.
    E1000,
    /// 82576, I350, I210, I211: advanced descriptors, several queues.
    Igb,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::E1000 => "e1000",
            Family::Igb => "igb",
        })
    }
}

/// A supported NIC model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// PCI device ID (vendor is always Intel).
    pub device_id: u16,
    /// Marketing name.
    pub name: &'static str,
    /// Register family.
    pub family: Family,
    /// Receive queues the hardware has.
    pub rx_queues: u16,
    /// Transmit queues the hardware has.
    pub tx_queues: u16,
}

/// Every NIC igbpoll drives.
pub const SUPPORTED: &[Model] = &[
    Model {
        device_id: 0x100E,
        name: "82540EM",
        family: Family::E1000,
        rx_queues: 1,
        tx_queues: 1,
    },
    Model {
        device_id: 0x100F,
        name: "82545EM",
        family: Family::E1000,
        rx_queues: 1,
        tx_queues: 1,
    },
    Model {
        device_id: 0x10C9,
        name: "82576",
        family: Family::Igb,
        rx_queues: 16,
        tx_queues: 16,
    },
    Model {
        device_id: 0x1521,
        name: "I350",
        family: Family::Igb,
        rx_queues: 8,
        tx_queues: 8,
    },
    Model {
        device_id: 0x1533,
        name: "I210",
        family: Family::Igb,
        rx_queues: 4,
        tx_queues: 4,
    },
    Model {
        device_id: 0x1539,
        name: "I211",
        family: Family::Igb,
        rx_queues: 2,
        tx_queues: 2,
    },
];

/// Looks up a PCI vendor/device ID pair.
pub fn identify(vendor_id: u16, device_id: u16) -> Option<&'static Model> {
    if vendor_id != INTEL_VENDOR_ID {
        return None;
    }
    SUPPORTED.iter().find(|m| m.device_id == device_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_are_identified() {
        assert_eq!(identify(0x8086, 0x100E).unwrap().name, "82540EM");
        assert_eq!(identify(0x8086, 0x10C9).unwrap().family, Family::Igb);
        assert_eq!(identify(0x8086, 0x1539).unwrap().rx_queues, 2);
    }

    #[test]
    fn unknown_ids_are_refused() {
        assert!(
            identify(0x8086, 0x10D3).is_none(),
            "82574L is not supported"
        );
        assert!(identify(0x10EC, 0x100E).is_none(), "wrong vendor");
    }
}
