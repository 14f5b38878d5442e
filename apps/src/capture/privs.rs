//! `-Z USER`: giving up root once the NIC and the first file are open.

use std::ffi::CString;
use std::path::Path;

use nix::unistd::{initgroups, setgid, setuid, User};

use crate::error::CliError;

/// Checks that `user` exists, before anything is opened, so that a typo
/// leaves no file behind.
///
/// # Errors
/// No such user, or the user database cannot be read.
pub fn check_user(user: &str) -> Result<(), CliError> {
    User::from_name(user)
        .map_err(|e| e.to_string())
        .and_then(|u| u.map(|_| ()).ok_or_else(|| "no such user".to_string()))
        .map_err(|reason| CliError::Privileges {
            user: user.to_string(),
            reason,
        })
}

/// Switches the process (all its threads) to `user`'s uid, gid and
/// supplementary groups. `first_file`, when given, is handed to `user`
/// first, so a ring of files (`-C … -W`) can reuse it later.
///
/// # Errors
/// The user is unknown, or a system call refused (not root, for example).
pub fn drop_to(user: &str, first_file: Option<&Path>) -> Result<(), CliError> {
    let err = |reason: String| CliError::Privileges {
        user: user.to_string(),
        reason,
    };
    let u = User::from_name(user)
        .map_err(|e| err(e.to_string()))?
        .ok_or_else(|| err("no such user".into()))?;
    if let Some(path) = first_file {
        std::os::unix::fs::chown(path, Some(u.uid.as_raw()), Some(u.gid.as_raw()))
            .map_err(|e| err(format!("cannot hand {} over: {e}", path.display())))?;
    }
    let name = CString::new(user).map_err(|e| err(e.to_string()))?;
    initgroups(&name, u.gid).map_err(|e| err(format!("initgroups: {e}")))?;
    setgid(u.gid).map_err(|e| err(format!("setgid: {e}")))?;
    setuid(u.uid).map_err(|e| err(format!("setuid: {e}")))?;
    log::info!("running as {user} (uid {}, gid {})", u.uid, u.gid);
    Ok(())
}
