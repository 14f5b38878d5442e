//! What the CLI reports when a command fails: the cause and what to do.

use std::fmt;
use std::path::PathBuf;

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// No device was named.
    NoDevice,
    /// The driver failed to bring the NIC up.
    Driver(igbpoll_driver::Error),
    /// A capture file to replay or send could not be read.
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The output could not be created or written.
    Output {
        /// The file (`-` for stdout).
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A setting makes no sense for this command.
    Usage(String),
    /// VFIO could not give us the device.
    Vfio(igbpoll_driver::vfio::VfioError),
    /// Discovery or binding through sysfs failed.
    Pci(igbpoll_driver::pci::PciError),
    /// `--tap IFNAME`: the TAP device could not be opened.
    Tap(igbpoll_hw_sim::wire::TapError),
    /// `-Z USER`: privileges could not be given up.
    Privileges {
        /// The user asked for.
        user: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::NoDevice => f.write_str(
                "no NIC given: use --pci BDF for a NIC bound to vfio-pci (`igbpoll list` \
                 shows them), or --sim e1000 / --sim igb to run on the simulator",
            ),
            CliError::Vfio(e) => write!(f, "{e}"),
            CliError::Pci(e) => write!(f, "{e}"),
            CliError::Tap(e) => write!(f, "{e}"),
            CliError::Driver(e) => write!(f, "{e}"),
            CliError::Input { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
            CliError::Output { path, source } => write!(f, "cannot write {path}: {source}"),
            CliError::Usage(msg) => f.write_str(msg),
            CliError::Privileges { user, reason } => {
                write!(f, "cannot drop privileges to {user}: {reason}")
            }
        }
    }
}

impl std::error::Error for CliError {}

impl From<igbpoll_driver::Error> for CliError {
    fn from(e: igbpoll_driver::Error) -> Self {
        CliError::Driver(e)
    }
}

impl From<igbpoll_driver::vfio::VfioError> for CliError {
    fn from(e: igbpoll_driver::vfio::VfioError) -> Self {
        CliError::Vfio(e)
    }
}

impl From<igbpoll_driver::pci::PciError> for CliError {
    fn from(e: igbpoll_driver::pci::PciError) -> Self {
        CliError::Pci(e)
    }
}
