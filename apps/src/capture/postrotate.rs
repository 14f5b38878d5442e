//! tcpdump's `-z COMMAND`: run `COMMAND FILE` on every file the capture has
//! finished (after each rotation, and on the last file at the end), so files
//! can be compressed or moved while the capture goes on.
//!
//! Like tcpdump, the command is a program (looked up in `PATH`) given the
//! file's name as its only argument, run at the lowest CPU priority (through
//! `nice -n 19`, when `nice` is there) so it does not take time from the
//! capture, and never waited for between files. Unlike tcpdump, the last file
//! gets the command too, and the capture waits for every command it started
//! before it exits, so that when igbpoll returns, every file is done; each run
//! is in a process group of its own, so the Ctrl-C that ends a capture does
//! not kill a compression half-way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::CliError;

/// The command and the runs of it not yet reaped.
#[derive(Debug)]
pub struct PostRotate {
    program: PathBuf,
    /// `nice`, when found: the command runs under `nice -n 19`.
    nice: Option<PathBuf>,
    running: Vec<(Child, PathBuf)>,
    /// Runs that could not start or ended with a failure.
    pub(super) failed: u64,
    /// Runs started.
    pub(super) started: u64,
}

/// `name` as `execvp` finds it: a path when it holds a `/`, else the first
/// executable file of that name in `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

impl PostRotate {
    /// The command `program`, checked now, so that a typo fails the capture
    /// before it starts rather than at its first rotation.
    ///
    /// # Errors
    /// `program` is empty, or not an executable file (in `PATH`).
    pub fn new(program: &str) -> Result<PostRotate, CliError> {
        if program.is_empty() {
            return Err(CliError::Usage("-z needs a command".into()));
        }
        let found = find_program(program).ok_or_else(|| {
            CliError::Usage(format!(
                "-z {program}: no such executable{}",
                if program.contains('/') {
                    ""
                } else {
                    " in PATH"
                }
            ))
        })?;
        Ok(PostRotate {
            program: found,
            nice: find_program("nice"),
            running: Vec::new(),
            failed: 0,
            started: 0,
        })
    }

    /// Starts the command on `file` (finished), without waiting for it.
    pub fn run(&mut self, file: &Path) {
        self.reap(false);
        let mut cmd = match &self.nice {
            Some(nice) => {
                let mut c = Command::new(nice);
                c.arg("-n").arg("19").arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        // Its own process group: a Ctrl-C at the terminal, which ends the
        // capture cleanly, does not also kill a compression half-way.
        use std::os::unix::process::CommandExt;
        cmd.arg(file).stdin(Stdio::null()).process_group(0);
        self.started += 1;
        match cmd.spawn() {
            Ok(child) => self.running.push((child, file.to_path_buf())),
            Err(e) => {
                self.failed += 1;
                log::warn!(
                    "-z: cannot run {} {}: {e}",
                    self.program.display(),
                    file.display()
                );
            }
        }
    }

    /// Collects the runs that have ended (all of them, waiting, with `wait`),
    /// warning of each that failed.
    pub fn reap(&mut self, wait: bool) {
        let program = &self.program;
        let failed = &mut self.failed;
        self.running.retain_mut(|(child, file)| {
            let status = if wait {
                child.wait().map(Some)
            } else {
                child.try_wait()
            };
            match status {
                Ok(None) => true,
                Ok(Some(s)) if s.success() => false,
                Ok(Some(s)) => {
                    *failed += 1;
                    log::warn!(
                        "-z: {} {} ended with {s}",
                        program.display(),
                        file.display()
                    );
                    false
                }
                Err(e) => {
                    *failed += 1;
                    log::warn!(
                        "-z: waiting for {} {}: {e}",
                        program.display(),
                        file.display()
                    );
                    false
                }
            }
        });
    }

    /// Runs not yet ended.
    pub fn running(&self) -> usize {
        self.running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("no-such-program-igbpoll").is_none());
        // A directory or a file that is not executable is no program.
        assert!(find_program("/").is_none());
        let plain = std::env::temp_dir().join(format!("igbpoll-z-plain-{}", std::process::id()));
        std::fs::write(&plain, b"#!/bin/sh\n").unwrap();
        assert!(find_program(plain.to_str().unwrap()).is_none());
        std::fs::remove_file(&plain).unwrap();
        assert!(matches!(PostRotate::new(""), Err(CliError::Usage(_))));
        assert!(matches!(
            PostRotate::new("no-such-program-igbpoll"),
            Err(CliError::Usage(m)) if m.contains("in PATH")
        ));
    }

    #[test]
    fn the_command_gets_the_file_and_failures_are_counted() {
        let dir = std::env::temp_dir().join(format!("igbpoll-z-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.pcap");
        std::fs::write(&file, b"x").unwrap();
        // `rm` removes the file it is given: proof it got that name.
        let mut ok = PostRotate::new("rm").unwrap();
        ok.run(&file);
        ok.reap(true);
        assert_eq!((ok.started, ok.failed, ok.running()), (1, 0, 0));
        assert!(!file.exists());
        // `false` fails on every file.
        let mut bad = PostRotate::new("false").unwrap();
        bad.run(&file);
        bad.run(&file);
        bad.reap(true);
        assert_eq!((bad.started, bad.failed, bad.running()), (2, 2, 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
