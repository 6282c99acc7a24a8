//! The embedded event log: one SQLite file in WAL mode. The writer connection belongs to
//! the commit thread; readers take connections from a small pool, so reads never wait
//! for a commit and a commit never waits for a read.
//!
//! Durability: `synchronous = FULL`, so every committed transaction is fsynced before
//! `append` returns; an acknowledged event survives kill -9 and power loss. Group
//! commit (many events per transaction) is what keeps that fast. The commit step runs
//! the writer split ([`super::LogWriter::split_sync`]): SQLite commits without waiting
//! (`synchronous = NORMAL`) and [`WalSync`] fdatasyncs the WAL file on another thread
//! before anything is acknowledged, so the same guarantee holds while the next batch
//! is written during the previous one's sync. In WAL mode a commit writes only the WAL
//! (the database file is written by checkpoints, which SQLite syncs itself at NORMAL),
//! so syncing the WAL after a commit makes it as durable as `FULL` would have.
//!
//! Event ids are found through an in-memory map over the table `event_ids`
//! ([`event_ids`]), not through a unique index. The modules: [`schema`] (tables and
//! migrations), [`writer`], [`wal_sync`], [`reader`], [`event_ids`].

mod event_ids;
mod reader;
mod schema;
#[cfg(test)]
mod tests;
mod wal_sync;
mod writer;

use std::path::Path;

use rusqlite::Connection;

pub use event_ids::{encode as encode_fingerprints, fingerprint as event_id_fingerprint};
pub use reader::SqliteReader;
pub use wal_sync::WalSync;
pub use writer::SqliteWriter;

use super::StoreError;

fn unusable(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unusable {
        path: path.display().to_string(),
        reason: err.to_string(),
    }
}

/// Opens (creating when missing) the log at `path`, migrating it to this build's schema.
pub fn open_sqlite(path: &Path) -> Result<(SqliteWriter, SqliteReader), StoreError> {
    // SQLite takes an empty file for a new database; here it is a log that lost its
    // content (or something else), never to be silently started over.
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Err(unusable(
            path,
            "the file is empty (0 bytes), so it is not a Chainwatch log; move it away to start a new log there",
        ));
    }
    let conn = Connection::open(path).map_err(|e| unusable(path, e))?;
    // The first real query is where a file that is not a database fails.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| unusable(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(unusable(
            path,
            format!("WAL mode unavailable (journal_mode is {mode})"),
        ));
    }
    // A checkpoint every 10,000 pages (about 40 MiB of WAL) rather than SQLite's 1,000:
    // index pages that many commits touch are then copied into the database once, not
    // once per few commits (about 1.5x the throughput of small commits; see
    // docs/PERFORMANCE.md).
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 10000;",
    )?;
    schema::migrate(&conn, path)?;
    let reader = SqliteReader::new(path);
    Ok((SqliteWriter::new(conn, path.to_path_buf())?, reader))
}
