//! The data dir belongs to one running server: [`DataDirLock`] holds an exclusive lock
//! on `chainwatch.lock` inside it for the server's life, with the holder's pid written
//! in it, so a second server on the same dir refuses to start and names the first
//! (two writers would interleave seqs and answer 500 for each other's sessions). The
//! OS releases the lock when the process dies, kill -9 included.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "chainwatch.lock";

/// Why the data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "the data dir {dir} is in use by another chainwatch server ({holder}); stop it or start this one with another --data-dir"
    )]
    Held {
        /// The data dir.
        dir: PathBuf,
        /// Who holds it, as the lock file says (`pid N`).
        holder: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock the data dir {dir}: {source}")]
    Io {
        /// The data dir.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An exclusive lock on a data dir, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks `dir` (which must exist) or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match try_lock(&file) {
            Ok(true) => {}
            Ok(false) => {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = match pid.trim() {
                    "" => "pid unknown".to_owned(),
                    pid => format!("pid {pid}"),
                };
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(error) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// An exclusive, non-blocking `flock`: `Ok(false)` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Elsewhere the data dir is not locked (documented in SECURITY.md).
#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_dir_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataDirLock::acquire(dir.path()).expect("first lock");
        let refused = DataDirLock::acquire(dir.path()).expect_err("second lock");
        let message = refused.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).expect("free again once dropped");
    }
}
