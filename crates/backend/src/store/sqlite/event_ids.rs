//! Where each event id is, without a B-tree of random keys.
//!
//! Idempotent ingest asks, for every event, whether its id is already in the log. A
//! `UNIQUE` index on the id answered that, but the hook's ids are hashes, so each new id
//! lands in its own leaf of that index: a transaction of 16 events wrote about 16 more
//! index pages to the WAL (a third of its pages; docs/PERFORMANCE.md, fifth and seventh
//! passes). Instead the log keeps a table `event_ids (first_seq, fingerprints)` that only
//! grows at its end, one row per append: the 64-bit fingerprints of the ids of seqs
//! `first_seq`, `first_seq + 1`, …, eight bytes each. The writer holds its content in
//! memory: a map from each fingerprint to the seq that has it. A fingerprint found is
//! only a candidate: the row at that seq is read and its id compared, so two ids sharing
//! a fingerprint are told apart (both seqs are kept) and an answer is never a guess. A
//! deleted event's fingerprint is overwritten with [`DELETED`].
//!
//! The map is loaded on a thread of its own when the log opens, so start-up serves reads
//! meanwhile; the writer waits for it at its first look-up or append. It costs about
//! 32 bytes of memory per event in the log.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::unusable;
use crate::store::StoreError;

/// What `event_ids` holds for a deleted event; [`fingerprint`] never returns it.
pub const DELETED: i64 = i64::MIN;

/// The fingerprint of an event id: the first 8 bytes of its SHA-256, as SQLite's signed
/// integer (`DELETED` moved one up). Stored in the log, so it must never change
/// between builds.
pub fn fingerprint(event_id: &str) -> i64 {
    let digest = Sha256::digest(event_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    match i64::from_le_bytes(first) {
        DELETED => DELETED + 1,
        print => print,
    }
}

/// The `fingerprints` blob of consecutive seqs.
pub fn encode(fingerprints: &[i64]) -> Vec<u8> {
    fingerprints
        .iter()
        .flat_map(|print| print.to_le_bytes())
        .collect()
}

/// The fingerprints of a `fingerprints` blob, in seq order.
pub fn decode(blob: &[u8]) -> impl Iterator<Item = i64> + '_ {
    blob.chunks_exact(8).map(|chunk| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        i64::from_le_bytes(bytes)
    })
}

/// Keys are fingerprints, already uniformly spread: hashing them again is waste.
#[derive(Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_i64` is used; a fallback that still spreads other input.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_i64(&mut self, value: i64) {
        self.0 = value as u64;
    }
}

/// Every stored event's fingerprint, mapped to the seq (or, for a fingerprint two ids
/// share, the seqs) that hold it.
#[derive(Default)]
pub struct EventIdMap {
    first: HashMap<i64, u64, BuildHasherDefault<Passthrough>>,
    /// Further seqs of a fingerprint already in `first`: ids that collide (about one pair
    /// in 10^7 logs of a million events) or rows a retention left behind.
    more: HashMap<i64, Vec<u64>>,
}

impl EventIdMap {
    /// An empty map with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            first: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            more: HashMap::new(),
        }
    }

    /// Records that `seq` holds an id with this fingerprint.
    pub fn insert(&mut self, fingerprint: i64, seq: u64) {
        match self.first.entry(fingerprint) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(seq);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.more.entry(fingerprint).or_default().push(seq);
            }
        }
    }

    /// Forgets that `seq` holds this fingerprint (its event was deleted).
    pub fn remove(&mut self, fingerprint: i64, seq: u64) {
        if let Some(seqs) = self.more.get_mut(&fingerprint) {
            seqs.retain(|&s| s != seq);
            if self.first.get(&fingerprint) == Some(&seq)
                && let Some(next) = seqs.pop()
            {
                self.first.insert(fingerprint, next);
            }
            if seqs.is_empty() {
                self.more.remove(&fingerprint);
            }
            return;
        }
        if self.first.get(&fingerprint) == Some(&seq) {
            self.first.remove(&fingerprint);
        }
    }

    /// The seqs whose ids have this fingerprint: each a candidate to compare, usually
    /// none or one.
    pub fn candidates(&self, fingerprint: i64) -> impl Iterator<Item = u64> + '_ {
        self.first
            .get(&fingerprint)
            .copied()
            .into_iter()
            .chain(self.more.get(&fingerprint).into_iter().flatten().copied())
    }

    /// How many seqs the map holds.
    pub fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }
}

/// Reads the map from the log's `event_ids` table.
fn load(path: &Path) -> Result<EventIdMap, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let latest: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |row| {
        row.get(0)
    })?;
    let mut map = EventIdMap::with_capacity(usize::try_from(latest).unwrap_or(0));
    let mut query = conn.prepare("SELECT first_seq, fingerprints FROM event_ids")?;
    let mut rows = query.query([])?;
    while let Some(row) = rows.next()? {
        let first = row.get::<_, i64>(0)? as u64;
        for (offset, print) in
            decode(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?).enumerate()
        {
            if print != DELETED {
                map.insert(print, first + offset as u64);
            }
        }
    }
    Ok(map)
}

/// The writer's map: loading on its own thread, loaded, or failed to load.
pub enum Loading {
    /// Being read from the log.
    Pending(JoinHandle<Result<EventIdMap, StoreError>>),
    /// Ready.
    Ready(EventIdMap),
    /// The load failed: every look-up and append fails with this reason, never with a
    /// map that would take every id for a new one.
    Failed(String),
}

impl Loading {
    /// Starts reading the map of the log at `path` (already migrated) on a thread.
    pub fn start(path: &Path) -> Result<Self, StoreError> {
        let owned = path.to_path_buf();
        std::thread::Builder::new()
            .name("chainwatch-ids".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let map = load(&owned);
                if let Ok(map) = &map {
                    tracing::debug!(
                        events = map.len(),
                        millis = started.elapsed().as_millis() as u64,
                        "event id map loaded"
                    );
                }
                map
            })
            .map(Loading::Pending)
            .map_err(|e| unusable(path, format!("cannot start the id map's thread: {e}")))
    }

    /// The map, waiting for its load to finish the first time.
    pub fn get(&mut self, path: &Path) -> Result<&mut EventIdMap, StoreError> {
        if matches!(self, Loading::Pending(_)) {
            let taken = std::mem::replace(self, Loading::Failed(String::new()));
            *self = match taken {
                Loading::Pending(handle) => match handle.join() {
                    Ok(Ok(map)) => Loading::Ready(map),
                    Ok(Err(e)) => Loading::Failed(format!("the id map did not load: {e}")),
                    Err(_) => Loading::Failed("the id map's thread panicked".into()),
                },
                other => other,
            };
        }
        match self {
            Loading::Ready(map) => Ok(map),
            Loading::Failed(reason) => Err(unusable(path, reason.as_str())),
            Loading::Pending(_) => Err(unusable(path, "the id map did not load")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_seq_of_a_shared_fingerprint_and_forgets_them_one_by_one() {
        let mut map = EventIdMap::default();
        map.insert(7, 1);
        map.insert(9, 2);
        map.insert(7, 3);
        map.insert(7, 4);
        assert_eq!(map.candidates(7).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(map.candidates(8).count(), 0);
        assert_eq!(map.len(), 4);
        map.remove(7, 1);
        let mut left: Vec<_> = map.candidates(7).collect();
        left.sort_unstable();
        assert_eq!(left, [3, 4]);
        map.remove(7, 4);
        map.remove(7, 3);
        assert_eq!(map.candidates(7).count(), 0);
        map.remove(9, 5);
        assert_eq!(
            map.candidates(9).collect::<Vec<_>>(),
            [2],
            "another seq's removal"
        );
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn a_map_that_failed_to_load_keeps_failing() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No such database: the load fails.
        let path = dir.path().join("missing").join("log.db");
        let mut loading = Loading::start(&path).expect("starts");
        assert!(loading.get(&path).is_err());
        assert!(
            loading.get(&path).is_err(),
            "a second look-up must not find an empty map"
        );
    }

    #[test]
    fn a_blob_holds_the_fingerprints_in_order() {
        let prints = [fingerprint("a"), DELETED, -1, 0, i64::MAX];
        assert_eq!(decode(&encode(&prints)).collect::<Vec<_>>(), prints);
    }

    #[test]
    fn the_fingerprint_is_stable() {
        // Stored in logs: a change here would make every existing log's ids unfindable.
        assert_eq!(fingerprint("e1"), fingerprint("e1"));
        assert_eq!(
            fingerprint("abc"),
            i64::from_le_bytes([0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea])
        );
    }
}
