//! The snapshot against real SQLite logs: a matching one gives the same state as the
//! full fold with only the tail read; a damaged, foreign or out-of-date one is refused
//! with its reason, and `Core::start` then folds the whole log.

use std::sync::Arc;

use chainwatch_shared::*;

use super::*;
use crate::core::commit::rebuild;
use crate::core::{CommitConfig, Core, Mutation, Publisher};
use crate::store::{LoggedEvent, open_sqlite};

struct Nobody;

impl Publisher for Nobody {
    fn publish(&self, _: &[LoggedEvent]) {}
}

fn create(id: &str, title: &str) -> Mutation {
    Mutation::CreateSession(CreateSession {
        id: Some(id.into()),
        cwd: "/home/ada/app".into(),
        hostname: Some("laptop".into()),
        platform: None,
        user: Some("ada".into()),
        model: None,
        title: Some(title.into()),
    })
}

fn prompt(session: &str, text: &str) -> Mutation {
    Mutation::Ingest(vec![NewEvent {
        event_id: None,
        session_id: session.into(),
        timestamp: None,
        kind: EventKind::PromptSubmitted {
            prompt: text.into(),
        },
    }])
}

/// The state as JSON with sorted keys, for comparing two projections.
fn state(projection: &Projection) -> serde_json::Value {
    serde_json::to_value(projection).expect("encodes")
}

/// Runs `mutations` through a core on the log at `db` with snapshots at `path`, then
/// stops it (which writes the final snapshot).
fn run(db: &Path, path: &Path, mutations: Vec<Mutation>) {
    let (writer, reader) = open_sqlite(db).expect("opens");
    let config = CommitConfig {
        snapshot: Some(SnapshotConfig {
            path: path.to_owned(),
            every_events: 0,
        }),
        ..CommitConfig::default()
    };
    let (core, thread) =
        Core::start(Box::new(writer), &reader, Arc::new(Nobody), config).expect("starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for mutation in mutations {
            core.execute(mutation).await.expect("accepted");
        }
        core.shutdown().await;
    });
    thread.join().expect("commit thread");
}

#[test]
fn a_matching_snapshot_plus_the_tail_is_the_full_fold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = (dir.path().join("log.db"), dir.path().join("snap"));
    run(&db, &path, vec![create("a", "first"), prompt("a", "hello")]);
    let (_, reader) = open_sqlite(&db).expect("opens");
    let (snapshot, seq, _) = load(&path, &reader).expect("the shutdown snapshot matches");
    assert_eq!(seq, reader.latest_seq().expect("seq"));
    // More events after the snapshot, with no new snapshot (as after a kill -9).
    let (writer, reader) = open_sqlite(&db).expect("opens");
    let (core, thread) = Core::start(
        Box::new(writer),
        &reader,
        Arc::new(Nobody),
        CommitConfig::default(),
    )
    .expect("starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        core.execute(create("b", "second")).await.expect("ok");
        core.execute(prompt("a", "again")).await.expect("ok");
        core.shutdown().await;
    });
    thread.join().expect("commit thread");
    let mut from_snapshot = snapshot;
    let (latest, last_id) = fold_tail(&mut from_snapshot, &reader, seq).expect("tail");
    let (full, full_latest) = rebuild(&reader).expect("full fold");
    assert_eq!(latest, full_latest);
    assert!(last_id.is_some());
    assert_eq!(state(&from_snapshot), state(&full));
    assert_eq!(from_snapshot.sessions.len(), 2);
}

#[test]
fn core_start_uses_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = (dir.path().join("log.db"), dir.path().join("snap"));
    run(&db, &path, vec![create("a", "from the log")]);
    // Rewrite the snapshot with a title the log never had: seeing it after a start
    // proves the start read the snapshot instead of folding the log.
    let (_, reader) = open_sqlite(&db).expect("opens");
    let (mut projection, seq, event_id) = load(&path, &reader).expect("matches");
    if let Some(record) = projection.sessions.get_mut(&SessionId::from("a")) {
        record.session.title = Some("from the snapshot".into());
    }
    write(&path, &projection, seq, &event_id).expect("written");
    let title = |db: &Path, path: &Path| {
        let (writer, reader) = open_sqlite(db).expect("opens");
        let config = CommitConfig {
            snapshot: Some(SnapshotConfig {
                path: path.to_owned(),
                every_events: 0,
            }),
            ..CommitConfig::default()
        };
        let (core, thread) =
            Core::start(Box::new(writer), &reader, Arc::new(Nobody), config).expect("starts");
        let title = core
            .read()
            .session(&SessionId::from("a"))
            .and_then(|s| s.title);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(core.shutdown());
        thread.join().expect("commit thread");
        title
    };
    assert_eq!(title(&db, &path).as_deref(), Some("from the snapshot"));

    // A torn write: the same file cut short is ignored and the log is folded.
    write(&path, &projection, seq, &event_id).expect("written");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("cut");
    assert!(matches!(load(&path, &reader), Err(Unusable::Damaged(_))));
    assert_eq!(title(&db, &path).as_deref(), Some("from the log"));
}

#[test]
fn another_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = (dir.path().join("log.db"), dir.path().join("snap"));
    run(&db, &path, vec![create("a", "t")]);
    let text = std::fs::read_to_string(&path).expect("read");
    let older = text.replacen(
        &format!("\"schema\":{SCHEMA}"),
        &format!("\"schema\":{}", SCHEMA + 1),
        1,
    );
    assert_ne!(older, text);
    std::fs::write(&path, older).expect("write");
    let (_, reader) = open_sqlite(&db).expect("opens");
    assert!(matches!(
        load(&path, &reader),
        Err(Unusable::OtherSchema { .. })
    ));
}

#[test]
fn a_log_cut_back_or_replaced_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (long, path) = (dir.path().join("long.db"), dir.path().join("snap"));
    run(
        &long,
        &path,
        vec![create("a", "t"), prompt("a", "1"), prompt("a", "2")],
    );
    // A shorter log (the same history cut back): no event at the snapshot's seq.
    let short = dir.path().join("short.db");
    run(&short, &dir.path().join("other"), vec![create("a", "t")]);
    let (_, reader) = open_sqlite(&short).expect("opens");
    assert!(matches!(
        load(&path, &reader),
        Err(Unusable::OtherLog { .. })
    ));
    // Another log as long: a different event at that seq.
    let other = dir.path().join("other.db");
    run(
        &other,
        &dir.path().join("other2"),
        vec![create("b", "t"), prompt("b", "1"), prompt("b", "2")],
    );
    let (_, reader) = open_sqlite(&other).expect("opens");
    assert!(matches!(
        load(&path, &reader),
        Err(Unusable::OtherLog { .. })
    ));
    // And the start folds that log, not the snapshot's state.
    let (writer, reader) = open_sqlite(&other).expect("opens");
    let config = CommitConfig {
        snapshot: Some(SnapshotConfig {
            path: path.clone(),
            every_events: 0,
        }),
        ..CommitConfig::default()
    };
    let (core, thread) =
        Core::start(Box::new(writer), &reader, Arc::new(Nobody), config).expect("starts");
    assert!(core.read().session(&SessionId::from("a")).is_none());
    assert!(core.read().session(&SessionId::from("b")).is_some());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(core.shutdown());
    thread.join().expect("commit thread");
}

#[test]
fn retention_removes_the_snapshot_before_it_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = (dir.path().join("log.db"), dir.path().join("snap"));
    let end = Mutation::EndSession(
        "a".into(),
        EndSession {
            status: None,
            reason: None,
        },
    );
    run(&db, &path, vec![create("a", "t"), end]);
    assert!(path.exists());
    let (writer, reader) = open_sqlite(&db).expect("opens");
    let config = CommitConfig {
        snapshot: Some(SnapshotConfig {
            path: path.clone(),
            every_events: 0,
        }),
        ..CommitConfig::default()
    };
    let (core, thread) =
        Core::start(Box::new(writer), &reader, Arc::new(Nobody), config).expect("starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let ended_before = chrono::Utc::now() + chrono::Duration::seconds(60);
        core.execute(Mutation::Prune { ended_before })
            .await
            .expect("pruned");
        assert!(!path.exists(), "the snapshot goes before the events do");
        core.shutdown().await;
    });
    thread.join().expect("commit thread");
    // The shutdown snapshot after the prune matches the pruned log.
    let (_, reader) = open_sqlite(&db).expect("opens");
    let (projection, _, _) = load(&path, &reader).expect("matches");
    assert!(projection.sessions.is_empty());
}
