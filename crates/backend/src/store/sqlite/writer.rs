//! The writer half of the SQLite log, owned by the commit thread: appends batches in one
//! transaction each, answers where an event id is stored (through the in-memory map of
//! [`super::event_ids`]), deletes whole sessions.

use std::collections::HashSet;
use std::path::PathBuf;

use chainwatch_shared::{EventId, SessionId};
use rusqlite::{Connection, OptionalExtension, params};

use super::event_ids::{DELETED, EventIdMap, Loading, decode, encode, fingerprint};
use super::wal_sync::WalSync;
use crate::store::{LogSync, LogWriter, LoggedEvent, StoreError, StoredId};

/// The writer half; see [`LogWriter`].
pub struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    ids: Loading,
    /// [`fingerprint`]; tests put a weaker one here to make ids collide.
    fingerprint: fn(&str) -> i64,
}

impl SqliteWriter {
    /// The writer of a migrated log; its id map starts loading now.
    pub(super) fn new(conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        let ids = Loading::start(&path)?;
        Ok(Self {
            conn,
            path,
            ids,
            fingerprint,
        })
    }

    /// Drops fsync per commit (`synchronous = NORMAL`, still crash-consistent in WAL
    /// mode) for a file that is a copy of a log kept durable elsewhere (the NATS
    /// store's local copy, which re-reads what a crash lost from the stream).
    pub fn relax_durability(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        Ok(())
    }

    /// Replaces the fingerprint (tests: a constant one makes every id collide).
    #[cfg(test)]
    pub(super) fn with_fingerprint(mut self, fingerprint: fn(&str) -> i64) -> Self {
        self.fingerprint = fingerprint;
        self
    }

    /// The writer's connection (tests read pragmas through it).
    #[cfg(test)]
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Where `event_id` is stored: each seq the map gives for its fingerprint is read and
/// its id compared.
fn find(
    conn: &Connection,
    ids: &EventIdMap,
    fingerprint: i64,
    event_id: &str,
) -> Result<Option<StoredId>, StoreError> {
    let mut row = conn.prepare_cached("SELECT event_id, session_id FROM events WHERE seq = ?1")?;
    for seq in ids.candidates(fingerprint) {
        let found = row
            .query_row([seq as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?;
        if let Some((stored, session)) = found
            && stored == event_id
        {
            return Ok(Some(StoredId {
                seq,
                session_id: SessionId(session),
            }));
        }
    }
    Ok(None)
}

impl LogWriter for SqliteWriter {
    fn append(&mut self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let fingerprints: Vec<i64> = events
            .iter()
            .map(|event| (self.fingerprint)(event.event_id.as_str()))
            .collect();
        let ids = self.ids.get(&self.path)?;
        // What the unique index used to refuse: an id already stored, or twice in the
        // batch. The core never stages either; this keeps the log's own guarantee.
        let mut seen = HashSet::with_capacity(events.len());
        for (index, (event, &print)) in events.iter().zip(&fingerprints).enumerate() {
            // Only a fingerprint seen earlier in the batch needs the ids compared.
            let repeated = !seen.insert(print)
                && events[..index]
                    .iter()
                    .any(|other| other.event_id == event.event_id);
            if repeated || find(&self.conn, ids, print, event.event_id.as_str())?.is_some() {
                return Err(StoreError::DuplicateEventId(
                    event.event_id.as_str().to_owned(),
                ));
            }
        }
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, event_id, session_id, global, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for event in events {
                insert.execute(params![
                    event.seq as i64,
                    event.event_id.as_str(),
                    event.session_id.as_str(),
                    event.global,
                    &*event.json
                ])?;
            }
            let mut insert_ids = tx.prepare_cached(
                "INSERT INTO event_ids (first_seq, fingerprints) VALUES (?1, ?2)",
            )?;
            // One row per run of consecutive seqs: a whole append, as its seqs follow.
            let mut start = 0;
            for end in 1..=events.len() {
                if end == events.len() || events[end].seq != events[end - 1].seq + 1 {
                    insert_ids.execute(params![
                        events[start].seq as i64,
                        encode(&fingerprints[start..end])
                    ])?;
                    start = end;
                }
            }
        }
        tx.commit()?;
        for (event, &print) in events.iter().zip(&fingerprints) {
            ids.insert(print, event.seq);
        }
        Ok(())
    }

    fn stored(&mut self, event_id: &EventId) -> Result<Option<StoredId>, StoreError> {
        let print = (self.fingerprint)(event_id.as_str());
        let ids = self.ids.get(&self.path)?;
        find(&self.conn, ids, print, event_id.as_str())
    }

    fn split_sync(&mut self) -> Result<Option<Box<dyn LogSync>>, StoreError> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        Ok(Some(Box::new(WalSync::of(&self.path))))
    }

    fn delete_sessions(&mut self, sessions: &[SessionId]) -> Result<u64, StoreError> {
        let ids = self.ids.get(&self.path)?;
        let tx = self.conn.transaction()?;
        let mut seqs = Vec::new();
        {
            let mut held = tx.prepare_cached("SELECT seq FROM events WHERE session_id = ?1")?;
            let mut delete = tx.prepare_cached("DELETE FROM events WHERE session_id = ?1")?;
            for session in sessions {
                for seq in held.query_map([session.as_str()], |row| row.get::<_, i64>(0))? {
                    seqs.push(seq?);
                }
                delete.execute([session.as_str()])?;
            }
        }
        seqs.sort_unstable();
        let forgotten = forget_fingerprints(&tx, &seqs)?;
        tx.commit()?;
        for (print, seq) in forgotten {
            ids.remove(print, seq);
        }
        Ok(seqs.len() as u64)
    }
}

/// Marks the fingerprints of the (sorted) deleted seqs [`DELETED`] in `event_ids`,
/// each row rewritten once and dropped once it holds nothing; returns what was
/// forgotten, for the map.
fn forget_fingerprints(
    tx: &rusqlite::Transaction<'_>,
    seqs: &[i64],
) -> Result<Vec<(i64, u64)>, StoreError> {
    let mut covering = tx.prepare_cached(
        "SELECT first_seq, fingerprints FROM event_ids WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
    )?;
    let mut update =
        tx.prepare_cached("UPDATE event_ids SET fingerprints = ?2 WHERE first_seq = ?1")?;
    let mut drop_row = tx.prepare_cached("DELETE FROM event_ids WHERE first_seq = ?1")?;
    let mut forgotten = Vec::with_capacity(seqs.len());
    let mut next = 0;
    while next < seqs.len() {
        let row = covering
            .query_row([seqs[next]], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        let Some((first, blob)) = row else {
            next += 1;
            continue;
        };
        let mut prints: Vec<i64> = decode(&blob).collect();
        let end = first + prints.len() as i64;
        if seqs[next] >= end {
            next += 1;
            continue;
        }
        while next < seqs.len() && seqs[next] < end {
            let slot = &mut prints[(seqs[next] - first) as usize];
            if *slot != DELETED {
                forgotten.push((*slot, seqs[next] as u64));
                *slot = DELETED;
            }
            next += 1;
        }
        if prints.iter().all(|&print| print == DELETED) {
            drop_row.execute([first])?;
        } else {
            update.execute(params![first, encode(&prints)])?;
        }
    }
    Ok(forgotten)
}
