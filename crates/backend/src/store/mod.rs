//! The durable event log behind a narrow interface: append a batch durably, read a
//! range by seq (all events, the global topic, or one session's), look up an eventId.
//! SQLite is the embedded implementation; a distributed engine (NATS JetStream, whose
//! stream sequence maps onto `seq`, or PostgreSQL) is meant to be a second
//! implementation of these two traits, with no change to the core or the routes.
//!
//! The writer half is owned by the commit thread alone (one writer, by construction);
//! the reader half is shared by every request and socket.

pub mod nats;
mod sqlite;

use std::sync::Arc;

use chainwatch_shared::{EventId, SessionId};

pub mod lock;

pub use sqlite::{
    SqliteReader, SqliteWriter, WalSync, encode_fingerprints, event_id_fingerprint, open_sqlite,
};

/// Errors of the event log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no (I/O, corruption, a full disk, …).
    #[error("event log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer Chainwatch.
    #[error(
        "the database at {path} has schema version {found}, newer than this build understands ({supported}); upgrade chainwatch or use another --data-dir"
    )]
    NewerSchema {
        /// The database file.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The file is not a Chainwatch database or is damaged.
    #[error("the database at {path} cannot be used: {reason}")]
    Unusable {
        /// The database file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A distributed log (NATS JetStream) cannot be reached or did not acknowledge in
    /// time; the write was not acknowledged (503).
    #[error(
        "{0}; the write was not acknowledged, retry shortly (reads still serve this instance's copy)"
    )]
    Unreachable(String),
    /// A batch would store an event id the log already holds (or holds twice): the core
    /// checks ids before staging, so this is a bug caught by the log, not a client error.
    #[error("event id {0} is already in the log; the batch was not written")]
    DuplicateEventId(String),
    /// A stored event failed to decode (the log is damaged).
    #[error("stored event {seq} does not decode: {reason}")]
    Decode {
        /// Its seq.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// Which event log the server runs on (`--store`).
#[derive(Debug, Clone, Default)]
pub enum StoreConfig {
    /// The embedded SQLite log in the data dir (the default).
    #[default]
    Sqlite,
    /// NATS JetStream, shared by every instance on the same stream.
    Nats(Box<nats::NatsConfig>),
}

impl StoreConfig {
    /// Parses a `--store` value: `sqlite` or `nats://HOST:PORT[,HOST:PORT…]`.
    pub fn parse(value: &str, stream: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("sqlite") {
            return Ok(Self::Sqlite);
        }
        if value.starts_with("nats://") || value.starts_with("tls://") {
            return nats::NatsConfig::from_url(value, stream).map(|c| Self::Nats(Box::new(c)));
        }
        Err(format!(
            "--store '{value}' is neither 'sqlite' nor nats://HOST:PORT[,HOST:PORT…]"
        ))
    }
}

/// An event as the log holds it: its routing fields and its JSON, encoded once at
/// commit and never re-encoded (replays send these bytes as they are).
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    /// Its position.
    pub seq: u64,
    /// Its idempotency key.
    pub event_id: EventId,
    /// Its session.
    pub session_id: SessionId,
    /// Whether it is on the global topic.
    pub global: bool,
    /// The flat JSON object of the event.
    pub json: Arc<str>,
}

/// An event as [`LogReader::visit_capped`] lends it: its routing fields and its JSON,
/// borrowed from the store's own buffers for the length of one call, so a replay
/// frames the stored bytes without an allocation or a copy of its own per event.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// Its position.
    pub seq: u64,
    /// Its session.
    pub session_id: &'a str,
    /// Whether it is on the global topic.
    pub global: bool,
    /// The flat JSON object of the event, as stored.
    pub json: &'a str,
}

/// An event id already in the log: the seq it has and the session it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredId {
    /// Its position.
    pub seq: u64,
    /// Its session.
    pub session_id: SessionId,
}

/// Which events a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every event.
    All,
    /// Events of the global topic.
    Global,
    /// One session's events.
    Session(&'a SessionId),
}

/// The commit thread's half of the log.
pub trait LogWriter: Send + 'static {
    /// Appends the events in one transaction; returns only once they are durable.
    /// Their seqs are consecutive and follow the newest stored one.
    fn append(&mut self, events: &[LoggedEvent]) -> Result<(), StoreError>;
    /// Where an already stored event id is (its seq and its session), for idempotent
    /// ingest: a repeat into the same session is a duplicate, into another a conflict.
    fn stored(&mut self, event_id: &EventId) -> Result<Option<StoredId>, StoreError>;
    /// Removes every event of the given sessions (retention).
    fn delete_sessions(&mut self, sessions: &[SessionId]) -> Result<u64, StoreError>;
    /// Splits the fsync off [`LogWriter::append`]: from now on `append` writes without
    /// waiting for the disk, and the returned [`LogSync`] (used on another thread)
    /// makes every append that returned before its call durable. The commit step then
    /// stages and writes the next batch while the previous ones are being synced, and
    /// acknowledges nothing before its sync. `None` (the default): `append` stays
    /// durable by itself.
    fn split_sync(&mut self) -> Result<Option<Box<dyn LogSync>>, StoreError> {
        Ok(None)
    }
}

/// Makes a [`LogWriter`]'s earlier appends durable; see [`LogWriter::split_sync`].
pub trait LogSync: Send + 'static {
    /// Returns once everything appended before this call is on stable storage.
    fn sync(&mut self) -> Result<(), StoreError>;
}

/// The shared, read-only half of the log.
pub trait LogReader: Send + Sync + 'static {
    /// Events with `after < seq <= upto`, in seq order, at most `limit`.
    fn read(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
    /// [`LogReader::read`], stopping once the events read hold `max_bytes` of JSON (at
    /// least one event is returned when any is there), so one page of a replay is
    /// bounded in memory whatever its events weigh. The default reads whole pages.
    fn read_capped(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let _ = max_bytes;
        self.read(scope, after, upto, limit)
    }
    /// [`LogReader::read_capped`] without collecting: calls `visit` with each event read,
    /// in seq order, lent from the store's buffers (socket replays frame them straight
    /// from there). Stops after `limit` events or once they hold `max_bytes` of JSON
    /// (at least one event is visited when any is there). The default reads a page
    /// with [`LogReader::read_capped`] and lends its events.
    fn visit_capped(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
        max_bytes: usize,
        visit: &mut dyn FnMut(EventRef<'_>),
    ) -> Result<(), StoreError> {
        for event in self.read_capped(scope, after, upto, limit, max_bytes)? {
            visit(EventRef {
                seq: event.seq,
                session_id: event.session_id.as_str(),
                global: event.global,
                json: &event.json,
            });
        }
        Ok(())
    }
    /// The `limit` newest events with `seq < before`, in seq order (paging backwards).
    fn read_before(
        &self,
        scope: Scope<'_>,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
    /// The newest seq (0 for an empty log).
    fn latest_seq(&self) -> Result<u64, StoreError>;
    /// Calls `visit` with every event in seq order (start-up rebuild).
    fn scan(
        &self,
        visit: &mut dyn FnMut(LoggedEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}
