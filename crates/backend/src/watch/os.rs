//! The OS side of watching: one notify watcher (inotify on Linux) shared by every
//! session, to which the engine adds and removes single directories. The engine
//! recurses itself, so that ignored trees (`target/`, `node_modules/`, …) are never
//! watched at all and cost nothing however much is written there. Behind the small
//! [`DirWatcher`] trait so that the engine's limits can be tested without the OS.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::Msg;

/// Why a directory could not be watched.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The OS limit on watches was reached (inotify's `max_user_watches`).
    #[error("the OS limit on file watches was reached{0}")]
    Limit(String),
    /// The directory went away before it could be watched.
    #[error("the directory no longer exists")]
    Gone,
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Adds and removes watches on single directories (not recursive).
pub trait DirWatcher: Send {
    /// Watches the direct children of `dir`.
    fn watch(&mut self, dir: &Path) -> Result<(), AddError>;
    /// Stops watching `dir`; a directory that is gone or was never watched is fine.
    fn unwatch(&mut self, dir: &Path);
}

/// The notify watcher, forwarding every notification to the engine's channel without
/// ever blocking notify's thread: past `capacity` queued notifications it drops them and
/// raises `overflowed`, and the engine rescans instead.
pub struct NotifyDirs {
    watcher: RecommendedWatcher,
}

/// Counts notifications between notify's thread and the engine's.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Notifications sent and not yet taken.
    pub queued: AtomicUsize,
    /// Set when notifications were dropped: the engine must rescan.
    pub overflowed: AtomicBool,
}

impl NotifyDirs {
    /// Starts the OS watcher.
    pub fn start(
        sender: Sender<Msg>,
        backlog: Arc<Backlog>,
        capacity: usize,
    ) -> Result<Self, notify::Error> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if backlog.queued.fetch_add(1, Ordering::AcqRel) >= capacity {
                backlog.queued.fetch_sub(1, Ordering::AcqRel);
                backlog.overflowed.store(true, Ordering::Release);
                return;
            }
            if sender.send(Msg::Fs(event)).is_err() {
                backlog.queued.fetch_sub(1, Ordering::AcqRel);
            }
        })?;
        Ok(Self { watcher })
    }
}

impl DirWatcher for NotifyDirs {
    fn watch(&mut self, dir: &Path) -> Result<(), AddError> {
        self.watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|error| match error.kind {
                notify::ErrorKind::MaxFilesWatch => AddError::Limit(max_user_watches()),
                notify::ErrorKind::PathNotFound => AddError::Gone,
                notify::ErrorKind::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound => {
                    AddError::Gone
                }
                _ => AddError::Other(error.to_string()),
            })
    }

    fn unwatch(&mut self, dir: &Path) {
        // notify drops the watches of deleted or moved directories itself; removing one
        // it already dropped answers WatchNotFound, which is what we want anyway.
        let _ = self.watcher.unwatch(dir);
    }
}

/// " (fs.inotify.max_user_watches = N)" where the OS tells it.
fn max_user_watches() -> String {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|n| format!(" (fs.inotify.max_user_watches = {})", n.trim()))
        .unwrap_or_default()
}
