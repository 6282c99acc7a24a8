//! The SQLite log against real files: reads by scope, the split sync, where ids are
//! found (through collisions, reopening, migration and retention), and the files it
//! refuses.

use std::sync::Arc;

use chainwatch_shared::{EventId, SessionId};
use rusqlite::Connection;

use super::open_sqlite;
use crate::store::{LogReader, LogWriter, LoggedEvent, Scope, StoreError, StoredId};

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
        .connection()
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
fn a_batch_with_an_id_already_stored_or_repeated_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, reader) = open_sqlite(&dir.path().join("log.db")).expect("opens");
    writer.append(&[event(1, "a", true)]).expect("appends");
    let mut dup = event(3, "a", false);
    dup.event_id = EventId("e1".into());
    let err = writer
        .append(&[event(2, "a", false), dup])
        .expect_err("refused");
    assert!(
        matches!(&err, StoreError::DuplicateEventId(id) if id == "e1"),
        "{err}"
    );
    let mut twice = event(3, "a", false);
    twice.event_id = EventId("e2".into());
    let err = writer
        .append(&[event(2, "a", false), twice])
        .expect_err("refused");
    assert!(
        matches!(&err, StoreError::DuplicateEventId(id) if id == "e2"),
        "{err}"
    );
    assert_eq!(reader.latest_seq().expect("latest"), 1);
    writer
        .append(&[event(2, "a", false)])
        .expect("the refused batches left nothing");
}

/// Every id gets the same fingerprint: each look-up must compare the stored ids.
fn colliding(_: &str) -> i64 {
    42
}

#[test]
fn ids_that_share_a_fingerprint_are_told_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (writer, _reader) = open_sqlite(&dir.path().join("log.db")).expect("opens");
    let mut writer = writer.with_fingerprint(colliding);
    writer
        .append(&[event(1, "a", true), event(2, "b", false)])
        .expect("appends ids whose fingerprints collide");
    writer.append(&[event(3, "a", false)]).expect("appends");
    for (id, seq, session) in [("e1", 1, "a"), ("e2", 2, "b"), ("e3", 3, "a")] {
        assert_eq!(
            writer.stored(&EventId(id.into())).expect("lookup"),
            Some(StoredId {
                seq,
                session_id: SessionId(session.into())
            }),
            "{id}"
        );
    }
    assert_eq!(writer.stored(&EventId("e4".into())).expect("lookup"), None);
    let mut dup = event(4, "b", false);
    dup.event_id = EventId("e2".into());
    assert!(matches!(
        writer.append(&[dup]),
        Err(StoreError::DuplicateEventId(_))
    ));
    writer
        .delete_sessions(&[SessionId("a".into())])
        .expect("deletes");
    assert_eq!(writer.stored(&EventId("e1".into())).expect("lookup"), None);
    assert_eq!(
        writer.stored(&EventId("e2".into())).expect("lookup"),
        Some(StoredId {
            seq: 2,
            session_id: SessionId("b".into())
        }),
        "the survivor of a shared fingerprint"
    );
}

#[test]
fn ids_are_found_after_reopening_and_forgotten_with_their_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    {
        let (mut writer, _reader) = open_sqlite(&path).expect("opens");
        writer
            .append(&[event(1, "a", true), event(2, "b", true)])
            .expect("appends");
    }
    let (mut writer, _reader) = open_sqlite(&path).expect("reopens");
    assert_eq!(
        writer.stored(&EventId("e2".into())).expect("lookup"),
        Some(StoredId {
            seq: 2,
            session_id: SessionId("b".into())
        })
    );
    assert_eq!(
        writer
            .delete_sessions(&[SessionId("b".into())])
            .expect("deletes"),
        1
    );
    assert_eq!(writer.stored(&EventId("e2".into())).expect("lookup"), None);
    let mut again = event(3, "c", true);
    again.event_id = EventId("e2".into());
    writer
        .append(&[again])
        .expect("an id whose event was deleted may be stored again");
    drop(writer);
    let (mut writer, _reader) = open_sqlite(&path).expect("reopens");
    assert_eq!(
        writer.stored(&EventId("e2".into())).expect("lookup"),
        Some(StoredId {
            seq: 3,
            session_id: SessionId("c".into())
        })
    );
    assert!(
        writer
            .stored(&EventId("e1".into()))
            .expect("lookup")
            .is_some()
    );
}

#[test]
fn a_log_of_the_first_schema_is_migrated_with_its_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.db");
    {
        // A log as the first schema wrote it, with its unique index.
        let conn = Connection::open(&path).expect("creates");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA application_id = 1129796675;")
            .expect("pragmas");
        conn.execute_batch(super::schema::FIRST_SCHEMA)
            .expect("the first schema");
        conn.execute_batch(
            r#"
            INSERT INTO events VALUES (1, 'hook-1', 'a', 1, '{"seq":1}');
            INSERT INTO events VALUES (2, 'hook-2', 'b', 0, '{"seq":2}');
            INSERT INTO events VALUES (5, 'hook-5', 'b', 0, '{"seq":5}');
            PRAGMA user_version = 1;"#,
        )
        .expect("writes the old schema");
    }
    let (mut writer, reader) = open_sqlite(&path).expect("migrates");
    assert_eq!(
        writer.stored(&EventId("hook-2".into())).expect("lookup"),
        Some(StoredId {
            seq: 2,
            session_id: SessionId("b".into())
        })
    );
    assert_eq!(
        writer.stored(&EventId("hook-5".into())).expect("lookup"),
        Some(StoredId {
            seq: 5,
            session_id: SessionId("b".into())
        }),
        "a seq after a gap"
    );
    let global: Vec<u64> = reader
        .read(Scope::Global, 0, u64::MAX, 10)
        .expect("reads")
        .into_iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(global, [1], "rows and their indexes carried over");
    let unique: i64 = writer
        .connection()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND name LIKE 'sqlite_autoindex%'",
            [],
            |row| row.get(0),
        )
        .expect("counts");
    assert_eq!(unique, 0, "the unique index on event ids is gone");
    writer
        .append(&[event(6, "a", false)])
        .expect("appends after the migration");
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
