//! The full-text index: its own SQLite file (`search.db` in the data dir) with an FTS5
//! table over the searchable text of each event, keyed by the event's seq. It is a
//! cache of the event log, whatever store holds the log: it remembers the newest seq it
//! has indexed, and is caught up from the log when it is missing or behind (or rebuilt
//! when it is ahead of the log, i.e. belongs to another log).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chainwatch_shared::{SearchHit, SessionId};
use rusqlite::{Connection, OptionalExtension, params};

use super::vocab::{self, Vocabulary};

/// The index schema's version; a file with another version is rebuilt.
const SCHEMA_VERSION: i64 = 2;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// SQLite said no.
    #[error("search index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The event log could not be read to catch up.
    #[error(transparent)]
    Log(#[from] crate::store::StoreError),
    /// The indexer thread cannot start.
    #[error("cannot start the search indexer: {0}")]
    Thread(std::io::Error),
    /// The query has no words to look for.
    #[error("the query has no words to search for (letters or digits)")]
    EmptyQuery,
}

/// One document to index.
#[derive(Debug, Clone)]
pub struct Document {
    /// The event's seq.
    pub seq: u64,
    /// Its session.
    pub session_id: String,
    /// Its type name.
    pub kind: &'static str,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// The searchable text.
    pub text: String,
}

/// A search: the words, and the filters.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// What the person typed.
    pub text: &'a str,
    /// Only this session's events.
    pub session: Option<&'a SessionId>,
    /// Only events after this seq.
    pub since: u64,
    /// Most hits.
    pub limit: usize,
    /// Most matching rows looked at before giving up on finding `limit` visible ones.
    pub max_scanned: usize,
}

/// The index file: one writer (the indexer thread), readers for queries.
pub struct SearchIndex {
    path: PathBuf,
    reader: Mutex<Connection>,
}

fn open(path: &Path) -> Result<Connection, SearchError> {
    let conn = Connection::open(path)?;
    // A cache of the log: losing the newest writes on a crash only means catching up.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}

impl SearchIndex {
    /// Opens (or creates) the index at `path`; a file of another schema is emptied.
    /// Returns the index and the seq it has indexed up to.
    pub fn open(path: &Path) -> Result<(Self, Writer), SearchError> {
        let conn = open(path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            conn.execute_batch(
                "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS meta;
                 DROP TABLE IF EXISTS terms;",
            )?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS docs (seq INTEGER PRIMARY KEY, session_id TEXT NOT NULL,
                 type TEXT NOT NULL, timestamp TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS docs_session ON docs (session_id, seq);
             CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
             CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text,
                 tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');",
        )?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let reader = open(path)?;
        Ok((
            Self {
                path: path.to_path_buf(),
                reader: Mutex::new(reader),
            },
            Writer {
                conn,
                vocabulary: Vocabulary::default(),
            },
        ))
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hits for a query, newest first, keeping those `visible` admits.
    pub fn search(
        &self,
        query: &Query<'_>,
        visible: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let conn = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let expression =
            vocab::match_expression(&conn, query.text)?.ok_or(SearchError::EmptyQuery)?;
        let sql = "SELECT d.seq, d.session_id, d.type, d.timestamp,
                          snippet(fts, 0, '', '', '…', 24)
                   FROM fts JOIN docs d ON d.seq = fts.rowid
                   WHERE fts MATCH ?1 AND fts.rowid > ?2 AND (?3 IS NULL OR d.session_id = ?3)
                   ORDER BY fts.rowid DESC";
        let mut statement = conn.prepare_cached(sql)?;
        let since = i64::try_from(query.since).unwrap_or(i64::MAX);
        let mut rows = statement.query(params![
            expression,
            since,
            query.session.map(SessionId::as_str)
        ])?;
        let mut hits = Vec::new();
        let mut scanned = 0usize;
        while let Some(row) = rows.next()? {
            scanned += 1;
            let session: String = row.get(1)?;
            if visible(&session) {
                let seq: i64 = row.get(0)?;
                hits.push(SearchHit {
                    seq: u64::try_from(seq).unwrap_or_default(),
                    session_id: SessionId(session),
                    kind: row.get(2)?,
                    timestamp: row.get(3)?,
                    snippet: row.get(4)?,
                });
                if hits.len() >= query.limit {
                    break;
                }
            }
            if scanned >= query.max_scanned {
                break;
            }
        }
        Ok(hits)
    }
}

/// The indexer's connection.
pub struct Writer {
    conn: Connection,
    vocabulary: Vocabulary,
}

impl Writer {
    /// The newest seq indexed (0 when empty).
    pub fn indexed_seq(&self) -> Result<u64, SearchError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| r.get(0))
            .optional()?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    /// Adds documents and records `upto` as indexed, in one transaction. Documents at
    /// or below the indexed seq are skipped (a replay after a crash).
    pub fn add(&mut self, docs: &[Document], upto: u64) -> Result<(), SearchError> {
        let tx = self.conn.transaction()?;
        {
            let mut doc = tx.prepare_cached(
                "INSERT OR IGNORE INTO docs (seq, session_id, type, timestamp) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut fts = tx.prepare_cached("INSERT INTO fts (rowid, text) VALUES (?1, ?2)")?;
            for d in docs {
                let seq = i64::try_from(d.seq).unwrap_or(i64::MAX);
                if doc.execute(params![seq, d.session_id, d.kind, d.timestamp])? == 1 {
                    fts.execute(params![seq, d.text])?;
                    self.vocabulary.add(&tx, &d.text)?;
                }
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                params![i64::try_from(upto).unwrap_or(i64::MAX)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes a session's documents (retention pruned it).
    pub fn remove_session(&mut self, session: &str) -> Result<(), SearchError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM fts WHERE rowid IN (SELECT seq FROM docs WHERE session_id = ?1)",
            params![session],
        )?;
        tx.execute("DELETE FROM docs WHERE session_id = ?1", params![session])?;
        tx.commit()?;
        Ok(())
    }

    /// Empties the index (it belonged to another log).
    pub fn clear(&mut self) -> Result<(), SearchError> {
        self.conn.execute_batch(
            "DELETE FROM fts; DELETE FROM docs; DELETE FROM meta; DELETE FROM terms;",
        )?;
        self.vocabulary.forget();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(seq: u64, session: &str, text: &str) -> Document {
        Document {
            seq,
            session_id: session.into(),
            kind: "prompt:submitted",
            timestamp: "2026-11-27T10:00:00Z".into(),
            text: text.into(),
        }
    }

    fn query(text: &str) -> Query<'_> {
        Query {
            text,
            session: None,
            since: 0,
            limit: 10,
            max_scanned: 1000,
        }
    }

    #[test]
    fn finds_words_newest_first_with_filters_and_scope() {
        let dir = tempfile::tempdir().unwrap();
        let (index, mut writer) = SearchIndex::open(&dir.path().join("s.db")).unwrap();
        writer
            .add(
                &[
                    doc(1, "a", "fix the flaky websocket test"),
                    doc(2, "b", "the websocket reconnects"),
                    doc(3, "a", "unrelated words"),
                    doc(4, "a", "WebSocket résumé"),
                ],
                4,
            )
            .unwrap();
        assert_eq!(writer.indexed_seq().unwrap(), 4);
        let all = |_: &str| true;
        let seqs = |hits: Vec<SearchHit>| hits.iter().map(|h| h.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(index.search(&query("websocket"), &all).unwrap()),
            [4, 2, 1]
        );
        assert_eq!(
            seqs(index.search(&query("websock"), &all).unwrap()),
            [4, 2, 1]
        );
        assert_eq!(seqs(index.search(&query("resume"), &all).unwrap()), [4]);
        assert_eq!(
            seqs(index.search(&query("flaky websocket"), &all).unwrap()),
            [1]
        );
        let only_a = |s: &str| s == "a";
        assert_eq!(
            seqs(index.search(&query("websocket"), &only_a).unwrap()),
            [4, 1]
        );
        let b = SessionId::from("b");
        let q = Query {
            session: Some(&b),
            ..query("websocket")
        };
        assert_eq!(seqs(index.search(&q, &all).unwrap()), [2]);
        let q = Query {
            since: 2,
            ..query("websocket")
        };
        assert_eq!(seqs(index.search(&q, &all).unwrap()), [4]);
        let q = Query {
            limit: 1,
            ..query("websocket")
        };
        assert_eq!(seqs(index.search(&q, &all).unwrap()), [4]);
        // FTS syntax in the input is just text: operators are words to find.
        assert_eq!(
            seqs(index.search(&query("\"websocket*( -"), &all).unwrap()),
            [4, 2, 1]
        );
        assert!(
            index
                .search(&query("websocket OR flaky"), &all)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            index.search(&query(" *\"( "), &all),
            Err(SearchError::EmptyQuery)
        ));
        let hit = &index.search(&query("flaky"), &all).unwrap()[0];
        assert_eq!(hit.snippet, "fix the flaky websocket test");
        writer.remove_session("a").unwrap();
        assert_eq!(seqs(index.search(&query("websocket"), &all).unwrap()), [2]);
        // Replays of indexed seqs are ignored.
        writer.add(&[doc(2, "b", "websocket")], 4).unwrap();
        assert_eq!(seqs(index.search(&query("websocket"), &all).unwrap()), [2]);
    }
}
