//! The Rust projection's side of the projection ↔ reducer cross-check: every event log
//! of `tests/fixtures/logs/*.jsonl` (together covering every event type) is folded by
//! `core::projection::Projection`, the server's one fold, into `*.expected.json`: each
//! session's list row, its chains, answers and file changes, and its commands. The web
//! reducer's unit test (`web/tests/unit/projection-crosscheck.test.ts`) folds the same
//! logs and must reproduce that JSON. The expected files are checked in; this test
//! fails when they are stale and rewrites them with `CHAINWATCH_BLESS=1`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chainwatch::core::projection::Projection;
use chainwatch_shared::{EventKind, WorkspaceEvent};
use serde_json::{Map, Value, json};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs")
}

fn logs() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(logs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    logs.sort();
    logs
}

/// A log's events. Each line must be in the form the server stores (its own
/// serialization: defaults written out, timestamps as chrono writes them), as a
/// recorded log is; `CHAINWATCH_BLESS=1` rewrites a log into that form.
fn read_log(path: &Path) -> Vec<WorkspaceEvent> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut events = Vec::new();
    let mut canonical = String::new();
    let mut odd = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let event: WorkspaceEvent = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        let stored = serde_json::to_string(&event).unwrap();
        if serde_json::from_str::<Value>(line).unwrap()
            != serde_json::from_str::<Value>(&stored).unwrap()
        {
            odd.push(i + 1);
        }
        canonical.push_str(&stored);
        canonical.push('\n');
        events.push(event);
    }
    if !odd.is_empty() {
        if std::env::var_os("CHAINWATCH_BLESS").is_some() {
            std::fs::write(path, canonical).unwrap();
        } else {
            panic!(
                "{}: lines {odd:?} are not as the server stores them; rerun with CHAINWATCH_BLESS=1",
                path.display()
            );
        }
    }
    events
}

/// What the projection holds after folding `events`, as the web shows it.
fn expected(events: &[WorkspaceEvent]) -> Value {
    let mut projection = Projection::default();
    for event in events {
        projection.apply(event);
    }
    let mut ids: Vec<_> = projection.sessions.keys().cloned().collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut sessions = Vec::new();
    let mut details = Map::new();
    let mut commands = Map::new();
    for id in ids {
        let record = &projection.sessions[&id];
        let detail = record.detail();
        sessions.push(serde_json::to_value(&detail.session).unwrap());
        details.insert(
            id.to_string(),
            json!({
                "chains": detail.chains,
                "answers": detail.answers,
                "fileChanges": detail.file_changes,
            }),
        );
        commands.insert(
            id.to_string(),
            serde_json::to_value(&record.commands).unwrap(),
        );
    }
    json!({"sessions": sessions, "details": details, "commands": commands})
}

#[test]
fn the_fixture_logs_cover_every_event_type() {
    let mut seen = BTreeSet::new();
    for log in logs() {
        for event in read_log(&log) {
            seen.insert(event.kind.type_name());
        }
    }
    let missing: Vec<_> = EventKind::TYPE_NAMES
        .iter()
        .filter(|t| !seen.contains(*t))
        .collect();
    assert!(missing.is_empty(), "no fixture log has {missing:?}");
}

#[test]
fn the_expected_folds_are_current() {
    let mut stale = Vec::new();
    for log in logs() {
        let fresh = format!(
            "{}\n",
            serde_json::to_string_pretty(&expected(&read_log(&log))).unwrap()
        );
        let path = log.with_extension("expected.json");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            if std::env::var_os("CHAINWATCH_BLESS").is_some() {
                std::fs::write(&path, fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale (the projection folds the logs differently now; rerun with CHAINWATCH_BLESS=1 \
         and check the web reducer's cross-check still passes): {stale:?}"
    );
}
