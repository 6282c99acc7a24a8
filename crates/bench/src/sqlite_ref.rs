//! The durable-ingest reference: raw SQLite inserts of the rows the server stores for
//! the ingest load (the event and its id's fingerprint), in batches of 100, one
//! transaction each, with the server's pragmas
//! (WAL, `synchronous = FULL`, a checkpoint every 10,000 pages) on a file whose schema the server's own store created.
//! One thread, no HTTP, no validation: what the disk and SQLite allow.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use crate::payload;

/// Inserts for `duration`; returns rows per second.
pub fn run(db: &Path, duration: Duration, batch: usize, tag: &str) -> Result<f64, String> {
    // The server's store creates the file with its schema and migrations.
    drop(chainwatch::store::open_sqlite(db).map_err(|e| e.to_string())?);
    let mut conn = Connection::open(db).map_err(|e| e.to_string())?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 10000;")
        .map_err(|e| e.to_string())?;
    let mut seq: u64 = conn
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| e.to_string())? as u64;
    let started = Instant::now();
    let mut rows = 0u64;
    let mut n = 0u64;
    while started.elapsed() < duration {
        let batch_rows: Vec<_> = (0..batch)
            .map(|i| {
                seq += 1;
                payload::tool_used_row(
                    seq,
                    "bench-ref",
                    payload::hook_id(&format!("{tag}-{n}-{i}")),
                )
            })
            .collect();
        n += 1;
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (seq, event_id, session_id, global, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| e.to_string())?;
            let prints: Vec<i64> = batch_rows
                .iter()
                .map(|row| chainwatch::store::event_id_fingerprint(row.event_id.as_str()))
                .collect();
            tx.execute(
                "INSERT INTO event_ids (first_seq, fingerprints) VALUES (?1, ?2)",
                params![
                    batch_rows[0].seq as i64,
                    chainwatch::store::encode_fingerprints(&prints)
                ],
            )
            .map_err(|e| e.to_string())?;
            for row in &batch_rows {
                insert
                    .execute(params![
                        row.seq as i64,
                        row.event_id.as_str(),
                        row.session_id.as_str(),
                        row.global,
                        &*row.json
                    ])
                    .map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        rows += batch as u64;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
