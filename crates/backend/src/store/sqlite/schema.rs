//! The log's schema: the tables, the migrations that bring an older file to this
//! build's schema (`PRAGMA user_version` counts those applied), and the check that a
//! file is a Chainwatch log at all (`PRAGMA application_id`).

use std::path::Path;

use rusqlite::Connection;

use super::event_ids::{encode, fingerprint};
use super::unusable;
use crate::store::StoreError;

/// One step of the schema: SQL, then (for data SQL cannot compute) code, in one
/// transaction.
struct Migration {
    sql: &'static str,
    then: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

/// The first schema (logs written before 28 November 2026 stopped there).
pub(super) const FIRST_SCHEMA: &str = r#"
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        event_id   TEXT    NOT NULL UNIQUE,
        session_id TEXT    NOT NULL,
        global     INTEGER NOT NULL,
        body       TEXT    NOT NULL
    );
    CREATE INDEX events_by_session ON events(session_id, seq);
    CREATE INDEX events_global ON events(seq) WHERE global = 1;
"#;

/// Schema migrations, applied in order; `user_version` records how many ran.
const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: FIRST_SCHEMA,
        then: None,
    },
    // The unique index on event ids gives way to `event_ids`, which grows only at its
    // end (see event_ids.rs for why). SQLite cannot drop a UNIQUE constraint, so the
    // table is rebuilt (a new log's is empty; an old log's is copied once).
    Migration {
        sql: r#"
            CREATE TABLE events_v2 (
                seq        INTEGER PRIMARY KEY,
                event_id   TEXT    NOT NULL,
                session_id TEXT    NOT NULL,
                global     INTEGER NOT NULL,
                body       TEXT    NOT NULL
            );
            INSERT INTO events_v2 (seq, event_id, session_id, global, body)
                SELECT seq, event_id, session_id, global, body FROM events ORDER BY seq;
            DROP TABLE events;
            ALTER TABLE events_v2 RENAME TO events;
            CREATE INDEX events_by_session ON events(session_id, seq);
            CREATE INDEX events_global ON events(seq) WHERE global = 1;
            CREATE TABLE event_ids (
                first_seq    INTEGER PRIMARY KEY,
                fingerprints BLOB    NOT NULL
            );
        "#,
        then: Some(fill_event_ids),
    },
];

/// Fingerprints every stored event id into `event_ids`, a row per run of up to 1,024
/// consecutive seqs.
fn fill_event_ids(conn: &Connection) -> rusqlite::Result<()> {
    const RUN: usize = 1024;
    let mut read = conn.prepare("SELECT seq, event_id FROM events ORDER BY seq")?;
    let mut write =
        conn.prepare("INSERT INTO event_ids (first_seq, fingerprints) VALUES (?1, ?2)")?;
    let mut run: Vec<i64> = Vec::with_capacity(RUN);
    let mut first = 0i64;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let follows = first + run.len() as i64 == seq;
        if !run.is_empty() && (!follows || run.len() == RUN) {
            write.execute(rusqlite::params![first, encode(&run)])?;
            run.clear();
        }
        if run.is_empty() {
            first = seq;
        }
        run.push(fingerprint(row.get_ref(1)?.as_str()?));
    }
    if !run.is_empty() {
        write.execute(rusqlite::params![first, encode(&run)])?;
    }
    Ok(())
}

/// `PRAGMA application_id` of a Chainwatch log ("CWTC"): tells our file from another
/// program's SQLite database.
const APPLICATION_ID: i32 = 0x4357_5443;

/// Checks that the file is a Chainwatch log and brings it to this build's schema.
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let application: i32 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |row| row.get(0),
    )?;
    // Logs made before the application id was set have 0 and a schema version.
    let foreign = (application != 0 && application != APPLICATION_ID)
        || (application == 0 && version == 0 && tables > 0);
    if foreign {
        return Err(unusable(
            path,
            format!(
                "it is another program's SQLite database (application_id {application:#x}, {tables} tables, no Chainwatch schema); use another --data-dir"
            ),
        ));
    }
    if application == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::NewerSchema {
            path: path.display().to_string(),
            found: version,
            supported,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let started = std::time::Instant::now();
        if version > 0 {
            // A migration of a log that holds events may copy them (schema 2 does):
            // say so before a start that can take seconds per million events.
            tracing::info!(
                from = version,
                to = index + 1,
                log = %path.display(),
                "migrating the event log; a large log takes a while, once"
            );
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(migration.sql)
            .map_err(|e| unusable(path, e))?;
        if let Some(then) = migration.then {
            then(&tx).map_err(|e| unusable(path, e))?;
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(
            version = index + 1,
            millis = started.elapsed().as_millis() as u64,
            "applied schema migration"
        );
    }
    Ok(())
}
