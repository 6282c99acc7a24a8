//! The spool: captures the server did not take yet, one file each, delivered later in
//! the order they were captured.
//!
//! Adding an entry writes a temporary file and renames it into place, so it needs no lock
//! and a reader never sees half an entry. Entry names start with the capture time, so
//! name order is capture order. Flushing holds `.lock`, a file created exclusively (one
//! flusher at a time; removed when the flusher is done, and taken over once it is older
//! than any flush can last, when its process died holding it), delivers entries oldest first,
//! deletes each once the server stored it, and lists again until nothing is left. The
//! spool is bounded: when a new entry would pass the bound, the oldest entries go.
//! Delivery is idempotent (every event has a deterministic eventId), so an entry
//! delivered twice, for example when a process died between delivery and deletion, is
//! stored once.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::client::ClientError;
use super::payload::Capture;

const LOCK_FILE: &str = ".lock";
const ENTRY_SUFFIX: &str = ".json";
const PART_SUFFIX: &str = ".part";
/// A flush lock at least this old is taken over.
const MIN_STALE: Duration = Duration::from_secs(10);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why the spool could not take an entry.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool dir or an entry could not be written.
    #[error("cannot write to the spool {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The entry is bigger than the whole spool may be.
    #[error("the event ({size} bytes) is bigger than the spool's bound ({max} bytes)")]
    TooBig {
        /// The entry's size.
        size: u64,
        /// The bound.
        max: u64,
    },
}

/// How a flush ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flush {
    /// Every entry was delivered (or dropped as refused); the spool is empty.
    Done {
        /// Entries the server took.
        delivered: usize,
    },
    /// The server could not be reached or time ran out; the rest waits for next time.
    Stopped {
        /// Entries the server took before that.
        delivered: usize,
    },
    /// Another process holds the lock and flushes.
    Busy,
}

/// A spool directory with its size bound.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    stale_after: Duration,
}

/// The lock of the flusher; released when dropped.
pub struct FlushLock {
    path: PathBuf,
}

impl Drop for FlushLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Spool {
    /// The spool in `dir`, holding at most `max_bytes`.
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self {
            dir,
            max_bytes,
            stale_after: MIN_STALE,
        }
    }

    /// A lock older than `flush_bound` (and at least 10 s) belongs to a dead process.
    pub fn with_flush_bound(mut self, flush_bound: Duration) -> Self {
        self.stale_after = (flush_bound * 2).max(MIN_STALE);
        self
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Entries in capture order, with their sizes.
    fn entries(&self) -> Vec<(PathBuf, u64)> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut entries: Vec<(PathBuf, u64)> = read
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX))
            .map(|e| (e.path(), e.metadata().map(|m| m.len()).unwrap_or(0)))
            .collect();
        entries.sort();
        entries
    }

    /// Whether anything waits in the spool. Cheap: one directory read.
    pub fn has_entries(&self) -> bool {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return false;
        };
        read.filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX))
    }

    /// How many entries wait.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the spool is empty.
    pub fn is_empty(&self) -> bool {
        !self.has_entries()
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> SpoolError {
        let path = path.display().to_string();
        move |source| SpoolError::Io {
            path: path.clone(),
            source,
        }
    }

    /// Adds a capture, dropping the oldest entries if the bound requires it.
    pub fn push(&self, capture: &Capture) -> Result<PathBuf, SpoolError> {
        let bytes = serde_json::to_vec(capture).map_err(|e| SpoolError::Io {
            path: self.dir.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return Err(SpoolError::TooBig {
                size,
                max: self.max_bytes,
            });
        }
        fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        let entries = self.entries();
        let mut total: u64 = entries.iter().map(|(_, s)| s).sum();
        for (path, entry_size) in &entries {
            if total + size <= self.max_bytes {
                break;
            }
            if fs::remove_file(path).is_ok() {
                tracing::warn!(entry = %path.display(), "spool full: dropped its oldest entry");
            }
            total = total.saturating_sub(*entry_size);
        }
        let name = format!(
            "{:020}-{:010}-{:010}",
            capture
                .captured_at
                .timestamp_nanos_opt()
                .unwrap_or_default()
                .max(0),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let part = self.dir.join(format!("{name}{PART_SUFFIX}"));
        let path = self.dir.join(format!("{name}{ENTRY_SUFFIX}"));
        let mut file = File::create(&part).map_err(self.io(&part))?;
        file.write_all(&bytes).map_err(self.io(&part))?;
        drop(file);
        fs::rename(&part, &path).map_err(self.io(&path))?;
        Ok(path)
    }

    /// Takes the flush lock, trying until `deadline`; `None` if another process keeps it.
    pub fn lock(&self, deadline: Instant) -> Option<FlushLock> {
        fs::create_dir_all(&self.dir).ok()?;
        let path = self.dir.join(LOCK_FILE);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Some(FlushLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if self.lock_is_stale(&path) {
                        // Its holder died: move it aside (atomic, so only one taker wins).
                        let aside = self.dir.join(format!(
                            ".lock-stale-{}-{}",
                            std::process::id(),
                            COUNTER.fetch_add(1, Ordering::Relaxed)
                        ));
                        if fs::rename(&path, &aside).is_ok() {
                            tracing::warn!("took over a stale spool lock");
                            let _ = fs::remove_file(&aside);
                        }
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return None,
            }
        }
    }

    fn lock_is_stale(&self, path: &Path) -> bool {
        fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > self.stale_after)
    }

    /// Delivers every entry in order while `deliver` succeeds and time remains. An entry
    /// the server refuses is dropped (with a warning): no retry would change the answer.
    pub fn flush(
        &self,
        _lock: &FlushLock,
        deadline: Instant,
        mut deliver: impl FnMut(&Capture) -> Result<(), ClientError>,
    ) -> Flush {
        let mut delivered = 0;
        loop {
            let entries = self.entries();
            if entries.is_empty() {
                return Flush::Done { delivered };
            }
            for (path, _) in entries {
                if Instant::now() >= deadline {
                    return Flush::Stopped { delivered };
                }
                let capture = fs::read(&path)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Capture>(&bytes).ok());
                let Some(capture) = capture else {
                    tracing::warn!(entry = %path.display(), "unreadable spool entry dropped");
                    let _ = fs::remove_file(&path);
                    continue;
                };
                match deliver(&capture) {
                    Ok(()) => delivered += 1,
                    Err(e) if e.is_unreachable() => return Flush::Stopped { delivered },
                    Err(e) => {
                        tracing::warn!(entry = %path.display(), error = %e, "spooled event refused by the server; dropped");
                    }
                }
                let _ = fs::remove_file(&path);
            }
        }
    }

    /// Takes the lock (waiting until `deadline`) and flushes; `Busy` if it cannot.
    pub fn flush_now(
        &self,
        deadline: Instant,
        deliver: impl FnMut(&Capture) -> Result<(), ClientError>,
    ) -> Flush {
        match self.lock(deadline) {
            Some(lock) => self.flush(&lock, deadline, deliver),
            None => Flush::Busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::payload::Payload;
    use serde_json::json;

    fn capture(n: u64) -> Capture {
        let payload = Payload::from_value(
            json!({"session_id":"s","hook_event_name":"Notification","message":"m","n":n}),
        )
        .expect("payload");
        Capture::new(payload)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn flushes_in_capture_order_and_empties() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::new(dir.path().join("spool"), 1 << 20);
        assert!(spool.is_empty());
        for n in 0..5 {
            spool.push(&capture(n)).expect("push");
        }
        assert_eq!(spool.len(), 5);
        let mut seen = Vec::new();
        let flush = spool.flush_now(soon(), |c| {
            seen.push(c.payload.get("n").and_then(|n| n.as_u64()).unwrap_or(99));
            Ok(())
        });
        assert_eq!(flush, Flush::Done { delivered: 5 });
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert!(spool.is_empty());
    }

    #[test]
    fn stops_when_the_server_is_unreachable_and_keeps_the_rest() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::new(dir.path().to_path_buf(), 1 << 20);
        for n in 0..3 {
            spool.push(&capture(n)).expect("push");
        }
        let mut calls = 0;
        let flush = spool.flush_now(soon(), |_| {
            calls += 1;
            if calls == 2 {
                Err(ClientError::Unreachable("down".into()))
            } else {
                Ok(())
            }
        });
        assert_eq!(flush, Flush::Stopped { delivered: 1 });
        assert_eq!(spool.len(), 2);
    }

    #[test]
    fn refused_entries_are_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::new(dir.path().to_path_buf(), 1 << 20);
        spool.push(&capture(1)).expect("push");
        let flush = spool.flush_now(soon(), |_| {
            Err(ClientError::Refused {
                status: 422,
                message: "bad".into(),
            })
        });
        assert_eq!(flush, Flush::Done { delivered: 0 });
        assert!(spool.is_empty());
    }

    #[test]
    fn the_bound_drops_the_oldest() {
        let dir = tempfile::tempdir().expect("dir");
        let one = serde_json::to_vec(&capture(0)).expect("json").len() as u64;
        let spool = Spool::new(dir.path().to_path_buf(), one * 3 + one / 2);
        for n in 0..5 {
            spool.push(&capture(n)).expect("push");
        }
        assert_eq!(spool.len(), 3);
        let mut seen = Vec::new();
        spool.flush_now(soon(), |c| {
            seen.push(c.payload.get("n").and_then(|n| n.as_u64()).unwrap_or(99));
            Ok(())
        });
        assert_eq!(seen, vec![2, 3, 4]);
        let tiny = Spool::new(dir.path().join("tiny"), 10);
        assert!(matches!(
            tiny.push(&capture(0)),
            Err(SpoolError::TooBig { .. })
        ));
    }

    #[test]
    fn a_second_flusher_is_told_busy() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::new(dir.path().to_path_buf(), 1 << 20);
        spool.push(&capture(0)).expect("push");
        let lock = spool.lock(soon()).expect("lock");
        let other = Spool::new(dir.path().to_path_buf(), 1 << 20);
        let busy = other.flush_now(Instant::now() + Duration::from_millis(20), |_| Ok(()));
        assert_eq!(busy, Flush::Busy);
        drop(lock);
        assert_eq!(
            other.flush_now(soon(), |_| Ok(())),
            Flush::Done { delivered: 1 }
        );
    }

    #[test]
    fn a_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().expect("dir");
        let mut spool = Spool::new(dir.path().to_path_buf(), 1 << 20);
        spool.stale_after = Duration::from_millis(50);
        spool.push(&capture(0)).expect("push");
        let dead = spool.lock(soon()).expect("lock");
        std::mem::forget(dead);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(
            spool.flush_now(soon(), |_| Ok(())),
            Flush::Done { delivered: 1 }
        );
        assert!(!dir.path().join(LOCK_FILE).exists());
    }
}
