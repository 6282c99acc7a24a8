//! The start-up snapshot: the projection as it stood at some seq, so that start-up folds
//! only the log's tail instead of every event.
//!
//! The file holds one header line (JSON: schema, build version, the seq it covers, the
//! eventId stored at that seq, the body's length and SHA-256) and the projection as JSON.
//! It is written to a temporary file, fsynced and renamed over the old one, by the
//! commit thread at shutdown and by a background thread every `every_events` commits.
//!
//! A snapshot is used only when it matches the log: same schema and build, the body
//! intact (length and hash), and the log holding, at the snapshot's seq, the very event
//! the snapshot recorded (a log cut back below it, replaced, or pruned there fails this).
//! Anything else is logged and ignored, and the full fold runs: a snapshot can make
//! start-up faster, never different. Retention removes the file before it deletes
//! events, because a snapshot taken before a prune would hold sessions the log no
//! longer has.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chainwatch_shared::{EventId, WorkspaceEvent};
use sha2::{Digest, Sha256};

use super::projection::Projection;
use crate::store::{LogReader, Scope, StoreError};

/// The snapshot format and the fold's meaning. Bump it whenever `SessionRecord`'s
/// fields or `SessionRecord::apply` change: older snapshots are then ignored.
pub const SCHEMA: u32 = 2;

/// Events read per page when the tail is folded.
const TAIL_PAGE: usize = 10_000;

/// Where and how often snapshots are written.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// The snapshot file.
    pub path: PathBuf,
    /// Committed events between two background snapshots (0: only at shutdown).
    pub every_events: u64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    schema: u32,
    version: String,
    seq: u64,
    event_id: EventId,
    body_len: u64,
    body_sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `projection`, which covers the log up to `seq` (whose event is `event_id`),
/// atomically: temp file, fsync, rename, fsync of the directory.
pub fn write(
    path: &Path,
    projection: &Projection,
    seq: u64,
    event_id: &EventId,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(projection).map_err(std::io::Error::other)?;
    let header = Header {
        schema: SCHEMA,
        version: env!("CARGO_PKG_VERSION").into(),
        seq,
        event_id: event_id.clone(),
        body_len: body.len() as u64,
        body_sha256: hex(&Sha256::digest(&body)),
    };
    let tmp = temp_path(path);
    {
        let mut file = std::fs::File::create(&tmp)?;
        serde_json::to_writer(&mut file, &header).map_err(std::io::Error::other)?;
        file.write_all(b"\n")?;
        file.write_all(&body)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // The rename is durable once the directory is.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Removes the snapshot (before retention deletes events). A missing file is fine.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// There is none.
    #[error("no snapshot")]
    Missing,
    /// It cannot be read or parsed, or its body does not match its header (torn write).
    #[error("damaged: {0}")]
    Damaged(String),
    /// Written by another schema or build.
    #[error("written by schema {schema} of chainwatch {version}; this build is schema {SCHEMA} of {}", env!("CARGO_PKG_VERSION"))]
    OtherSchema {
        /// Its schema.
        schema: u32,
        /// Its build.
        version: String,
    },
    /// The log does not hold, at the snapshot's seq, the event it recorded.
    #[error("it covers seq {seq}, but the log {found}")]
    OtherLog {
        /// The snapshot's seq.
        seq: u64,
        /// What the log has there.
        found: String,
    },
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the snapshot at `path` and checks it against the log.
/// Returns the projection, its seq and the event id at that seq.
pub fn load(path: &Path, reader: &dyn LogReader) -> Result<(Projection, u64, EventId), Unusable> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(Unusable::Damaged(e.to_string())),
    };
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| Unusable::Damaged("no header line".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..newline])
        .map_err(|e| Unusable::Damaged(format!("header: {e}")))?;
    if header.schema != SCHEMA || header.version != env!("CARGO_PKG_VERSION") {
        return Err(Unusable::OtherSchema {
            schema: header.schema,
            version: header.version,
        });
    }
    let body = &bytes[newline + 1..];
    if body.len() as u64 != header.body_len || hex(&Sha256::digest(body)) != header.body_sha256 {
        return Err(Unusable::Damaged(format!(
            "body of {} bytes does not match its header ({} bytes, sha256 {})",
            body.len(),
            header.body_len,
            header.body_sha256
        )));
    }
    let at = reader.read(Scope::All, header.seq.saturating_sub(1), header.seq, 1)?;
    match at.first() {
        Some(event) if event.seq == header.seq && event.event_id == header.event_id => {}
        Some(event) if event.seq == header.seq => {
            return Err(Unusable::OtherLog {
                seq: header.seq,
                found: format!("has event '{}' there", event.event_id),
            });
        }
        _ => {
            return Err(Unusable::OtherLog {
                seq: header.seq,
                found: format!("has no event at that seq (newest {})", reader.latest_seq()?),
            });
        }
    }
    let projection: Projection =
        serde_json::from_slice(body).map_err(|e| Unusable::Damaged(format!("body: {e}")))?;
    Ok((projection, header.seq, header.event_id))
}

/// Folds the events after `seq` into `projection`; returns the newest seq and its
/// event id.
pub fn fold_tail(
    projection: &mut Projection,
    reader: &dyn LogReader,
    mut seq: u64,
) -> Result<(u64, Option<EventId>), StoreError> {
    let latest = reader.latest_seq()?;
    let mut last_id = None;
    while seq < latest {
        let page = reader.read(Scope::All, seq, latest, TAIL_PAGE)?;
        let Some(last) = page.last() else { break };
        let next = last.seq;
        for logged in page {
            let event: WorkspaceEvent =
                serde_json::from_str(&logged.json).map_err(|e| StoreError::Decode {
                    seq: logged.seq,
                    reason: e.to_string(),
                })?;
            projection.apply(&event);
            last_id = Some(logged.event_id);
        }
        seq = next;
    }
    Ok((seq, last_id))
}

/// A projection to write, taken on the commit thread.
struct Job {
    projection: Projection,
    seq: u64,
    event_id: EventId,
    generation: u64,
}

/// Writes snapshots: in the background while serving, synchronously at shutdown.
/// Retention's [`Snapshots::invalidate`] wins over a background write in flight.
pub struct Snapshots {
    config: SnapshotConfig,
    /// Bumped by `invalidate`; a job taken under an older generation is not renamed in.
    generation: Arc<Mutex<u64>>,
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The seq of the newest snapshot written or handed off.
    last_seq: AtomicU64,
    /// The seq of the snapshot on disk (0: none known).
    on_disk: Arc<AtomicU64>,
}

impl Snapshots {
    /// Starts the background writer. `last_seq`: the seq the snapshot on disk covers
    /// now (0: none).
    pub fn start(config: SnapshotConfig, last_seq: u64) -> Self {
        let generation = Arc::new(Mutex::new(0u64));
        let on_disk = Arc::new(AtomicU64::new(last_seq));
        let thread_on_disk = on_disk.clone();
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(1);
        let path = config.path.clone();
        let thread_generation = generation.clone();
        let thread = std::thread::Builder::new()
            .name("chainwatch-snapshot".into())
            .spawn(move || {
                for job in queue {
                    let started = std::time::Instant::now();
                    let result = write_unless_stale(&path, &job, &thread_generation);
                    match result {
                        Ok(true) => {
                            thread_on_disk.store(job.seq, Ordering::Release);
                            tracing::info!(
                                seq = job.seq,
                                sessions = job.projection.sessions.len(),
                                elapsed_ms = started.elapsed().as_millis() as u64,
                                "snapshot written"
                            );
                        }
                        Ok(false) => {}
                        Err(error) => tracing::warn!(%error, "snapshot not written"),
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::warn!("the snapshot thread cannot start; snapshots only at shutdown");
        }
        Self {
            config,
            generation,
            jobs: thread.as_ref().map(|_| jobs),
            thread,
            last_seq: AtomicU64::new(last_seq),
            on_disk,
        }
    }

    /// Whether `seq` is far enough past the last snapshot for a background one.
    pub fn due(&self, seq: u64) -> bool {
        self.config.every_events > 0
            && self.jobs.is_some()
            && seq.saturating_sub(self.last_seq.load(Ordering::Acquire)) >= self.config.every_events
    }

    /// Hands a copy of the projection to the background writer (skipped when it is
    /// still busy with the previous one).
    pub fn hand_off(&mut self, projection: &Projection, seq: u64, event_id: &EventId) {
        let Some(jobs) = &self.jobs else { return };
        let generation = *lock(&self.generation);
        let job = Job {
            projection: projection.clone(),
            seq,
            event_id: event_id.clone(),
            generation,
        };
        if jobs.try_send(job).is_ok() {
            self.last_seq.store(seq, Ordering::Release);
        }
    }

    /// Removes the snapshot, and keeps any background write in flight from putting one
    /// back.
    pub fn invalidate(&self) {
        let mut generation = lock(&self.generation);
        *generation += 1;
        if let Err(error) = remove(&self.config.path) {
            tracing::warn!(%error, "cannot remove the snapshot before retention");
        }
        self.on_disk.store(0, Ordering::Release);
        drop(generation);
        self.last_seq.store(0, Ordering::Release);
    }

    /// Stops the background writer, then writes the final snapshot (unless the one on
    /// disk already covers `seq`).
    pub fn finish(mut self, projection: &Projection, seq: u64, event_id: Option<&EventId>) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let Some(event_id) = event_id else { return };
        if self.on_disk.load(Ordering::Acquire) == seq {
            return;
        }
        let started = std::time::Instant::now();
        match write(&self.config.path, projection, seq, event_id) {
            Ok(()) => tracing::info!(
                seq,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "snapshot written at shutdown"
            ),
            Err(error) => tracing::warn!(%error, "snapshot not written at shutdown"),
        }
    }
}

fn lock(generation: &Mutex<u64>) -> std::sync::MutexGuard<'_, u64> {
    generation
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes a job's snapshot unless `invalidate` ran since it was taken; the check and
/// the rename happen under the generation lock.
fn write_unless_stale(path: &Path, job: &Job, generation: &Mutex<u64>) -> std::io::Result<bool> {
    let body_path = temp_path(&temp_path(path));
    // Encode and write outside the lock (the slow part), rename under it.
    write(&body_path, &job.projection, job.seq, &job.event_id)?;
    let current = lock(generation);
    if *current != job.generation {
        drop(current);
        let _ = std::fs::remove_file(&body_path);
        return Ok(false);
    }
    std::fs::rename(&body_path, path)?;
    drop(current);
    Ok(true)
}

#[cfg(test)]
mod tests;
