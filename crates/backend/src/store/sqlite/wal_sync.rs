//! The WAL's fsync, split off the commit ([`crate::store::LogWriter::split_sync`]): the
//! sync thread makes every append that returned before its call durable while the
//! commit thread writes the next batch.

use std::path::{Path, PathBuf};

use super::unusable;
use crate::store::StoreError;

/// Syncs the WAL file of a [`super::SqliteWriter`] whose fsync was split off
/// ([`crate::store::LogWriter::split_sync`]).
pub struct WalSync {
    wal: PathBuf,
    database: PathBuf,
    /// The WAL as last opened, with its inode: reopened if SQLite replaced the file.
    file: Option<(std::fs::File, u64)>,
}

impl WalSync {
    /// The sync of the log at `database` (its WAL is `<database>-wal`).
    pub(super) fn of(database: &Path) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: PathBuf::from(wal),
            database: database.to_path_buf(),
            file: None,
        }
    }

    #[cfg(unix)]
    fn identity(meta: &std::fs::Metadata) -> u64 {
        std::os::unix::fs::MetadataExt::ino(meta)
    }

    #[cfg(not(unix))]
    fn identity(_: &std::fs::Metadata) -> u64 {
        0
    }
}

impl crate::store::LogSync for WalSync {
    fn sync(&mut self) -> Result<(), StoreError> {
        let io = |e: std::io::Error| unusable(&self.wal, format!("fsync of the WAL: {e}"));
        match std::fs::metadata(&self.wal) {
            Ok(meta) => {
                let identity = Self::identity(&meta);
                let current = self
                    .file
                    .as_ref()
                    .is_some_and(|(_, known)| *known == identity && identity != 0);
                if !current {
                    let file = std::fs::OpenOptions::new()
                        .read(true)
                        .open(&self.wal)
                        .map_err(io)?;
                    self.file = Some((file, identity));
                }
                if let Some((file, _)) = &self.file {
                    file.sync_data().map_err(io)?;
                }
                Ok(())
            }
            // No WAL (SQLite removed it after a checkpoint into the database file):
            // what was written is in the database file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.file = None;
                std::fs::File::open(&self.database)
                    .and_then(|file| file.sync_data())
                    .map_err(io)
            }
            Err(e) => Err(io(e)),
        }
    }
}
