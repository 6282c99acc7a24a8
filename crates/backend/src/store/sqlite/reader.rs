//! The reader half of the SQLite log: pooled read-only connections, so reads never
//! wait for a commit and a commit never waits for a read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chainwatch_shared::{EventId, SessionId};
use rusqlite::{Connection, OpenFlags, params};

use crate::store::{EventRef, LogReader, LoggedEvent, Scope, StoreError};

/// Readers kept open for reuse; more are opened on demand under load.
const READER_POOL: usize = 8;

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

/// The reader half; see [`LogReader`]. Cheap to clone.
#[derive(Clone)]
pub struct SqliteReader {
    path: PathBuf,
    pool: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteReader {
    /// Readers of the log at `path`, opened as needed.
    pub(super) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            pool: Arc::new(Mutex::new(Vec::new())),
        }
    }

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
