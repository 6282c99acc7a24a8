//! The embedded event log: one SQLite file in WAL mode. The writer connection belongs to
//! the commit thread; readers take connections from a small pool, so reads never wait
//! for a commit and a commit never waits for a read.
//!
//! Durability: `synchronous = FULL`, so every committed transaction is fsynced before
//! `append` returns; an acknowledged event survives kill -9 and power loss. Group
//! commit (many events per transaction) is what keeps that fast. The commit step runs
//! the writer split ([`LogWriter::split_sync`]): SQLite commits without waiting
//! (`synchronous = NORMAL`) and [`WalSync`] fdatasyncs the WAL file on another thread
//! before anything is acknowledged, so the same guarantee holds while the next batch
//! is written during the previous one's sync. In WAL mode a commit writes only the WAL
//! (the database file is written by checkpoints, which SQLite syncs itself at NORMAL),
//! so syncing the WAL after a commit makes it as durable as `FULL` would have.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chainwatch_shared::{EventId, SessionId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{EventRef, LogReader, LogWriter, LoggedEvent, Scope, StoreError, StoredId};

/// Schema migrations, applied in order; `user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        event_id   TEXT    NOT NULL UNIQUE,
        session_id TEXT    NOT NULL,
        global     INTEGER NOT NULL,
        body       TEXT    NOT NULL
    );
    CREATE INDEX events_by_session ON events(session_id, seq);
    CREATE INDEX events_global ON events(seq) WHERE global = 1;
"#];

/// `PRAGMA application_id` of a Chainwatch log ("CWTC"): tells our file from another
/// program's SQLite database.
const APPLICATION_ID: i32 = 0x4357_5443;

/// Readers kept open for reuse; more are opened on demand under load.
const READER_POOL: usize = 8;

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
    migrate(&conn, path)?;
    let reader = SqliteReader {
        path: path.to_path_buf(),
        pool: Arc::new(Mutex::new(Vec::new())),
    };
    Ok((
        SqliteWriter {
            conn,
            path: path.to_path_buf(),
        },
        reader,
    ))
}

fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
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
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql).map_err(|e| unusable(path, e))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied schema migration");
    }
    Ok(())
}

/// Collects rows until they hold `max_bytes` of JSON (at least one row).
fn capped(
    rows: impl Iterator<Item = rusqlite::Result<LoggedEvent>>,
    max_bytes: usize,
) -> rusqlite::Result<Vec<LoggedEvent>> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for row in rows {
        let event = row?;
        bytes = bytes.saturating_add(event.json.len());
        out.push(event);
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

/// Runs the forward page query of a scope (`after < seq <= upto`, in seq order, at most
/// `limit` rows, the given columns) and hands its rows to `take`: the one place that
/// says how each scope filters, for the collected and the lent read alike.
fn forward_page<T>(
    conn: &Connection,
    columns: &str,
    scope: Scope<'_>,
    after: u64,
    upto: u64,
    limit: usize,
    take: impl FnOnce(rusqlite::Rows<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let (after, upto, limit) = (
        after.min(i64::MAX as u64) as i64,
        upto.min(i64::MAX as u64) as i64,
        limit as i64,
    );
    let filter = match scope {
        Scope::All => "",
        Scope::Global => "global = 1 AND ",
        Scope::Session(_) => "session_id = ?4 AND ",
    };
    let mut query = conn.prepare_cached(&format!(
        "SELECT {columns} FROM events WHERE {filter}seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let rows = match scope {
        Scope::Session(session) => query.query(params![after, upto, limit, session.as_str()])?,
        Scope::All | Scope::Global => query.query(params![after, upto, limit])?,
    };
    take(rows)
}

/// The writer half; see [`LogWriter`].
pub struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
}

/// Syncs the WAL file of a [`SqliteWriter`] whose fsync was split off
/// ([`LogWriter::split_sync`]).
pub struct WalSync {
    wal: PathBuf,
    database: PathBuf,
    /// The WAL as last opened, with its inode: reopened if SQLite replaced the file.
    file: Option<(std::fs::File, u64)>,
}

impl WalSync {
    #[cfg(unix)]
    fn identity(meta: &std::fs::Metadata) -> u64 {
        std::os::unix::fs::MetadataExt::ino(meta)
    }

    #[cfg(not(unix))]
    fn identity(_: &std::fs::Metadata) -> u64 {
        0
    }
}

impl super::LogSync for WalSync {
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

impl SqliteWriter {
    /// Drops fsync per commit (`synchronous = NORMAL`, still crash-consistent in WAL
    /// mode) for a file that is a copy of a log kept durable elsewhere (the NATS
    /// store's local copy, which re-reads what a crash lost from the stream).
    pub fn relax_durability(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        Ok(())
    }
}

impl LogWriter for SqliteWriter {
    fn append(&mut self, events: &[LoggedEvent]) -> Result<(), StoreError> {
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
        }
        tx.commit()?;
        Ok(())
    }

    fn stored(&mut self, event_id: &EventId) -> Result<Option<StoredId>, StoreError> {
        // A miss (the usual answer) is the index alone; only a hit reads its row.
        let mut query = self
            .conn
            .prepare_cached("SELECT seq, session_id FROM events WHERE event_id = ?1")?;
        Ok(query
            .query_row([event_id.as_str()], |row| {
                Ok(StoredId {
                    seq: row.get::<_, i64>(0)? as u64,
                    session_id: SessionId(row.get(1)?),
                })
            })
            .optional()?)
    }

    fn split_sync(&mut self) -> Result<Option<Box<dyn super::LogSync>>, StoreError> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        Ok(Some(Box::new(WalSync {
            wal: PathBuf::from(wal),
            database: self.path.clone(),
            file: None,
        })))
    }

    fn delete_sessions(&mut self, sessions: &[SessionId]) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        let mut deleted = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM events WHERE session_id = ?1")?;
            for session in sessions {
                deleted += delete.execute([session.as_str()])? as u64;
            }
        }
        tx.commit()?;
        Ok(deleted)
    }
}

/// The reader half; see [`LogReader`]. Cheap to clone.
#[derive(Clone)]
pub struct SqliteReader {
    path: PathBuf,
    pool: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteReader {
    fn with_conn<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                conn
            }
        };
        let result = work(&conn);
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < READER_POOL {
                pool.push(conn);
            }
        }
        result
    }
}

fn row_to_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<LoggedEvent> {
    Ok(LoggedEvent {
        seq: row.get::<_, i64>(0)? as u64,
        event_id: EventId(row.get(1)?),
        session_id: SessionId(row.get(2)?),
        global: row.get(3)?,
        json: Arc::from(row.get_ref(4)?.as_str()?),
    })
}

const COLUMNS: &str = "seq, event_id, session_id, global, body";

/// What [`LogReader::visit_capped`] reads: no event id (a replay does not send it
/// apart from the JSON).
const VISIT_COLUMNS: &str = "seq, session_id, global, body";

/// Lends each row of a [`VISIT_COLUMNS`] query to `visit`, straight from SQLite's
/// buffers, until the JSON lent holds `max_bytes`.
fn visit_rows(
    mut rows: rusqlite::Rows<'_>,
    max_bytes: usize,
    visit: &mut dyn FnMut(EventRef<'_>),
) -> rusqlite::Result<()> {
    let mut bytes = 0usize;
    while let Some(row) = rows.next()? {
        let json = row.get_ref(3)?.as_str()?;
        visit(EventRef {
            seq: row.get::<_, i64>(0)? as u64,
            session_id: row.get_ref(1)?.as_str()?,
            global: row.get(2)?,
            json,
        });
        bytes = bytes.saturating_add(json.len());
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(())
}

impl LogReader for SqliteReader {
    fn read(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.read_capped(scope, after, upto, limit, usize::MAX)
    }

    fn read_capped(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.with_conn(|conn| {
            Ok(forward_page(
                conn,
                COLUMNS,
                scope,
                after,
                upto,
                limit,
                |rows| capped(rows.mapped(row_to_event), max_bytes),
            )?)
        })
    }

    fn visit_capped(
        &self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        limit: usize,
        max_bytes: usize,
        visit: &mut dyn FnMut(EventRef<'_>),
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            Ok(forward_page(
                conn,
                VISIT_COLUMNS,
                scope,
                after,
                upto,
                limit,
                |rows| visit_rows(rows, max_bytes, visit),
            )?)
        })
    }

    fn read_before(
        &self,
        scope: Scope<'_>,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.with_conn(|conn| {
            let (before, limit) = (before.min(i64::MAX as u64) as i64, limit as i64);
            let mut rows = match scope {
                Scope::All => {
                    let mut q = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM events WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
                    ))?;
                    q.query_map(params![before, limit], row_to_event)?.collect::<Result<Vec<_>, _>>()?
                }
                Scope::Global => {
                    let mut q = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM events WHERE global = 1 AND seq < ?1 ORDER BY seq DESC LIMIT ?2"
                    ))?;
                    q.query_map(params![before, limit], row_to_event)?.collect::<Result<Vec<_>, _>>()?
                }
                Scope::Session(session) => {
                    let mut q = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM events WHERE session_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
                    ))?;
                    q.query_map(params![session.as_str(), before, limit], row_to_event)?
                        .collect::<Result<Vec<_>, _>>()?
                }
            };
            rows.reverse();
            Ok(rows)
        })
    }

    fn latest_seq(&self) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            Ok(
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |row| {
                    row.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    fn scan(
        &self,
        visit: &mut dyn FnMut(LoggedEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let mut q = conn.prepare(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"))?;
            let mut rows = q.query([])?;
            while let Some(row) = rows.next()? {
                visit(row_to_event(row)?)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, session: &str, global: bool) -> LoggedEvent {
        LoggedEvent {
            seq,
            event_id: EventId(format!("e{seq}")),
            session_id: SessionId(session.into()),
            global,
            json: Arc::from(format!("{{\"seq\":{seq}}}")),
        }
    }

    #[test]
    fn appends_and_reads_by_scope() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut writer, reader) = open_sqlite(&dir.path().join("log.db")).expect("opens");
        writer
            .append(&[
                event(1, "a", true),
                event(2, "a", false),
                event(3, "b", true),
            ])
            .expect("appends");
        assert_eq!(reader.latest_seq().expect("latest"), 3);
        let seqs = |v: Vec<LoggedEvent>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(reader.read(Scope::All, 0, u64::MAX, 10).expect("read")),
            [1, 2, 3]
        );
        assert_eq!(
            seqs(reader.read(Scope::Global, 0, u64::MAX, 10).expect("read")),
            [1, 3]
        );
        let a = SessionId("a".into());
        assert_eq!(
            seqs(
                reader
                    .read(Scope::Session(&a), 1, u64::MAX, 10)
                    .expect("read")
            ),
            [2]
        );
        assert_eq!(
            seqs(reader.read(Scope::All, 0, 2, 10).expect("read")),
            [1, 2]
        );
        assert_eq!(
            seqs(reader.read_before(Scope::All, 3, 1).expect("read")),
            [2]
        );
        assert_eq!(
            writer.stored(&EventId("e2".into())).expect("lookup"),
            Some(StoredId {
                seq: 2,
                session_id: a.clone()
            })
        );
        assert_eq!(
            writer.stored(&EventId("nope".into())).expect("lookup"),
            None
        );
    }

    #[test]
    fn a_split_sync_syncs_the_wal_that_holds_the_appends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        let (mut writer, reader) = open_sqlite(&path).expect("opens");
        let mut sync = writer.split_sync().expect("splits").expect("SQLite splits");
        let synchronous: i64 = writer
            .conn
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(
            synchronous, 1,
            "NORMAL: the commit no longer waits for the disk"
        );
        writer.append(&[event(1, "a", true)]).expect("appends");
        sync.sync().expect("syncs");
        let wal = dir.path().join("log.db-wal");
        assert!(
            std::fs::metadata(&wal).expect("the WAL exists").len() > 0,
            "the append is in the WAL this syncs"
        );
        writer.append(&[event(2, "a", false)]).expect("appends");
        sync.sync().expect("syncs again through the same handle");
        assert_eq!(reader.latest_seq().expect("latest"), 2);
        // SQLite removes the WAL when the last connection closes (after checkpointing
        // it into the database file): the sync then syncs the database file.
        drop(reader);
        drop(writer);
        assert!(std::fs::metadata(&wal).is_err(), "the WAL is gone");
        sync.sync().expect("syncs the database file");
        let (_, reader) = open_sqlite(&path).expect("reopens");
        assert_eq!(reader.latest_seq().expect("latest"), 2);
    }

    #[test]
    fn a_duplicate_event_id_fails_the_whole_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut writer, reader) = open_sqlite(&dir.path().join("log.db")).expect("opens");
        writer.append(&[event(1, "a", true)]).expect("appends");
        let mut dup = event(3, "a", false);
        dup.event_id = EventId("e1".into());
        assert!(writer.append(&[event(2, "a", false), dup]).is_err());
        assert_eq!(reader.latest_seq().expect("latest"), 1);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        std::fs::write(
            &path,
            b"this is not sqlite, just some text that is long enough to have a header.......",
        )
        .expect("writes");
        let err = open_sqlite(&path).err().expect("refused");
        assert!(err.to_string().contains("cannot be used"), "{err}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        drop(open_sqlite(&path).expect("opens"));
        Connection::open(&path)
            .expect("opens")
            .pragma_update(None, "user_version", 99)
            .expect("sets");
        let err = open_sqlite(&path).err().expect("refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, .. }),
            "{err}"
        );
    }
}
