//! The engine against a real temp tree and a fake OS watcher that can run out of
//! watches, with notify events built by hand: limits, attribution, coalescing, moves.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};

use super::*;

/// Watches succeed until `limit` are held, then fail as inotify does (ENOSPC).
struct FakeDirs {
    watched: Arc<Mutex<Vec<PathBuf>>>,
    limit: usize,
}

impl DirWatcher for FakeDirs {
    fn watch(&mut self, dir: &Path) -> Result<(), AddError> {
        let mut watched = self.watched.lock().expect("lock");
        if watched.len() >= self.limit {
            return Err(AddError::Limit(" (fs.inotify.max_user_watches = 3)".into()));
        }
        watched.push(dir.to_path_buf());
        Ok(())
    }
    fn unwatch(&mut self, dir: &Path) {
        self.watched.lock().expect("lock").retain(|d| d != dir);
    }
}

const WINDOW: Duration = Duration::from_millis(100);

fn engine(limit: usize, limits: Limits) -> (Engine, Arc<Mutex<Vec<PathBuf>>>) {
    let watched = Arc::new(Mutex::new(Vec::new()));
    let os = FakeDirs {
        watched: watched.clone(),
        limit,
    };
    (Engine::new(Ok(Box::new(os)), limits, WINDOW, None), watched)
}

fn roomy() -> Limits {
    Limits {
        max_dirs_per_session: 1000,
        max_dirs: 1000,
    }
}

fn tree(root: &Path, dirs: &[&str]) {
    for dir in dirs {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
}

fn live(cwd: &Path) -> Option<SessionInfo> {
    Some(SessionInfo {
        cwd: cwd.display().to_string(),
        ended: false,
    })
}

fn ev(kind: notify::EventKind, path: &Path) -> notify::Event {
    notify::Event::new(kind).add_path(path.to_path_buf())
}

fn changes(outputs: &[Output]) -> Vec<(String, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Changes(id, kinds) => Some((id, kinds)),
            _ => None,
        })
        .flat_map(|(id, kinds)| {
            kinds.iter().map(move |k| {
                let text = match k {
                    EventKind::FileCreated { path, .. } => format!("created {path}"),
                    EventKind::FileModified { path, .. } => format!("modified {path}"),
                    EventKind::FileDeleted { path, .. } => format!("deleted {path}"),
                    other => format!("{other:?}"),
                };
                (id.to_string(), text)
            })
        })
        .collect()
}

#[test]
fn a_session_is_watched_and_a_missing_cwd_is_recorded_as_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    tree(&root, &["src/a", "target/debug", "node_modules/x"]);
    let (mut engine, watched) = engine(100, roomy());
    engine.reconcile(&"s".into(), live(&root));
    assert_eq!(
        engine.take_outputs(),
        [Output::SetWatch(
            "s".into(),
            WatchState {
                watched: true,
                reason: None
            }
        )]
    );
    // The root, src and src/a; never target/ or node_modules/.
    assert_eq!(watched.lock().expect("lock").len(), 3);
    engine.reconcile(
        &"far".into(),
        Some(SessionInfo {
            cwd: "/no/such/dir/on/this/host".into(),
            ended: false,
        }),
    );
    let outputs = engine.take_outputs();
    let [Output::SetWatch(id, state)] = outputs.as_slice() else {
        panic!("{outputs:?}")
    };
    assert_eq!(id.as_str(), "far");
    assert!(!state.watched);
    assert!(
        state
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("not on this host"),
        "{state:?}"
    );
    // Ending releases every watch; reconciling again is idempotent.
    engine.reconcile(
        &"s".into(),
        Some(SessionInfo {
            cwd: root.display().to_string(),
            ended: true,
        }),
    );
    engine.reconcile(&"s".into(), None);
    assert!(watched.lock().expect("lock").is_empty());
    assert_eq!(engine.watched_dirs(), 0);
}

#[test]
fn hitting_the_os_limit_reports_an_error_and_a_partial_watch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    tree(&root, &["a", "b", "c", "d", "e"]);
    let (mut engine, watched) = engine(3, roomy());
    engine.reconcile(&"s".into(), live(&root));
    let outputs = engine.take_outputs();
    let [Output::Error(_, message, code), Output::SetWatch(_, state)] = outputs.as_slice() else {
        panic!("{outputs:?}")
    };
    assert_eq!(*code, "watch_limit");
    assert!(message.contains("OS limit"), "{message}");
    assert!(message.contains("max_user_watches"), "{message}");
    assert!(state.watched);
    assert!(state.reason.as_deref().unwrap_or("").contains("partly"));
    assert_eq!(watched.lock().expect("lock").len(), 3);
    // A second session meeting the same limit is told too; the first is not told again.
    let other = tempfile::tempdir().expect("tempdir");
    engine.reconcile(&"t".into(), live(&other.path().canonicalize().expect("c")));
    let outputs = engine.take_outputs();
    assert!(
        matches!(outputs.as_slice(), [Output::SetWatch(id, s)] if id.as_str() == "t" && !s.watched),
        "{outputs:?}"
    );
    // A new directory under the partly watched root does not report again.
    std::fs::create_dir(root.join("f")).expect("mkdir");
    engine.on_fs(
        ev(
            notify::EventKind::Create(CreateKind::Folder),
            &root.join("f"),
        ),
        Instant::now(),
    );
    assert!(engine.take_outputs().is_empty());
}

#[test]
fn the_caps_per_session_and_in_all_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    tree(&root, &["a", "b", "c", "d"]);
    let (mut engine, _) = engine(
        1000,
        Limits {
            max_dirs_per_session: 2,
            max_dirs: 3,
        },
    );
    engine.reconcile(&"s".into(), live(&root));
    let outputs = engine.take_outputs();
    assert!(
        matches!(&outputs[0], Output::Error(_, _, "watch_dir_cap")),
        "{outputs:?}"
    );
    assert_eq!(engine.watched_dirs(), 2);
    let other = tempfile::tempdir().expect("tempdir");
    let other_root = other.path().canonicalize().expect("c");
    tree(&other_root, &["x", "y"]);
    engine.reconcile(&"t".into(), live(&other_root));
    assert_eq!(engine.watched_dirs(), 3);
    let outputs = engine.take_outputs();
    assert!(
        matches!(&outputs[0], Output::Error(_, m, "watch_dir_cap") if m.contains("--watch-max-dirs")),
        "{outputs:?}"
    );
}

#[test]
fn changes_are_coalesced_attributed_and_classified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    tree(&root, &["app/src"]);
    std::fs::write(root.join("app/src/old.rs"), "x").expect("write");
    let app = root.join("app");
    let (mut engine, _) = engine(100, roomy());
    // Two sessions whose cwds overlap: the change is reported to both, each relative
    // to its own cwd.
    engine.reconcile(&"outer".into(), live(&root));
    engine.reconcile(&"inner".into(), live(&app));
    engine.take_outputs();
    let t0 = Instant::now();
    let new = app.join("src/new.rs");
    std::fs::write(&new, "1").expect("write");
    engine.on_fs(ev(notify::EventKind::Create(CreateKind::File), &new), t0);
    for i in 0..50 {
        engine.on_fs(
            ev(
                notify::EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                &new,
            ),
            t0 + Duration::from_millis(i),
        );
    }
    // A temp file that comes and goes within the window is never reported.
    let temp = app.join("src/.new.rs.swp");
    engine.on_fs(ev(notify::EventKind::Create(CreateKind::File), &temp), t0);
    engine.on_fs(ev(notify::EventKind::Remove(RemoveKind::File), &temp), t0);
    // An editor's atomic save of a known file: rename over it.
    let old = app.join("src/old.rs");
    engine.on_fs(
        ev(
            notify::EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &old,
        ),
        t0,
    );
    engine.flush(t0 + Duration::from_millis(50));
    assert!(engine.take_outputs().is_empty(), "not due yet");
    engine.flush(t0 + WINDOW);
    let mut got = changes(&engine.take_outputs());
    got.sort();
    assert_eq!(
        got,
        [
            ("inner".to_string(), "created src/new.rs".to_string()),
            ("inner".to_string(), "modified src/old.rs".to_string()),
            ("outer".to_string(), "created app/src/new.rs".to_string()),
            ("outer".to_string(), "modified app/src/old.rs".to_string()),
        ]
    );
    // Deleting a known file is a deletion; the next window after it is a new one.
    std::fs::remove_file(&new).expect("rm");
    let t1 = t0 + Duration::from_secs(1);
    engine.on_fs(ev(notify::EventKind::Remove(RemoveKind::File), &new), t1);
    engine.flush(t1 + WINDOW);
    let got = changes(&engine.take_outputs());
    assert!(got.contains(&("inner".to_string(), "deleted src/new.rs".to_string())));
}

#[test]
fn directories_that_appear_and_go_are_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let (mut engine, watched) = engine(100, roomy());
    engine.reconcile(&"s".into(), live(&root));
    engine.take_outputs();
    let t0 = Instant::now();
    // mkdir -p a/b && write a/b/f: the new tree is walked and watched, its file is new.
    tree(&root, &["a/b"]);
    std::fs::write(root.join("a/b/f.txt"), "x").expect("write");
    engine.on_fs(
        ev(
            notify::EventKind::Create(CreateKind::Folder),
            &root.join("a"),
        ),
        t0,
    );
    assert_eq!(watched.lock().expect("lock").len(), 3);
    engine.flush(t0 + WINDOW);
    assert_eq!(
        changes(&engine.take_outputs()),
        [("s".to_string(), "created a/b/f.txt".to_string())]
    );
    // Ignored trees that appear are never watched.
    tree(&root, &["target/debug/deps"]);
    engine.on_fs(
        ev(
            notify::EventKind::Create(CreateKind::Folder),
            &root.join("target"),
        ),
        t0,
    );
    assert_eq!(watched.lock().expect("lock").len(), 3);
    // Moving the directory away: its files are deleted and its watches released.
    let t1 = t0 + Duration::from_secs(1);
    let away = tempfile::tempdir().expect("tempdir");
    std::fs::rename(root.join("a"), away.path().join("a")).expect("move");
    engine.on_fs(
        ev(
            notify::EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            &root.join("a"),
        ),
        t1,
    );
    assert_eq!(watched.lock().expect("lock").len(), 1);
    engine.flush(t1 + WINDOW);
    assert_eq!(
        changes(&engine.take_outputs()),
        [("s".to_string(), "deleted a/b/f.txt".to_string())]
    );
}

#[test]
fn without_an_os_watcher_sessions_are_recorded_as_not_watched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(Err("turned off".into()), roomy(), WINDOW, None);
    engine.reconcile(&"s".into(), live(dir.path()));
    assert_eq!(
        engine.take_outputs(),
        [Output::SetWatch(
            "s".into(),
            WatchState {
                watched: false,
                reason: Some("turned off".into())
            }
        )]
    );
}

/// What the engine alone absorbs, without the OS or the core: raw notifications per
/// second for new files (create + modify + close-write each, then one flush with a stat
/// per file), and for a storm on one file whose window is open.
/// `cargo test --release -p chainwatch --lib absorption -- --ignored --nocapture`
#[test]
#[ignore = "measurement"]
fn absorption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    tree(&root, &["src/gen"]);
    std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n").expect("write");
    let (mut engine, _) = engine(100, roomy());
    engine.reconcile(&"s".into(), live(&root));
    engine.take_outputs();
    let n = 10_000;
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| root.join(format!("src/gen/file-{i}.rs")))
        .collect();
    for path in &paths {
        std::fs::write(path, "x").expect("write");
    }
    let now = Instant::now();
    let started = Instant::now();
    for path in &paths {
        engine.on_fs(ev(notify::EventKind::Create(CreateKind::File), path), now);
        engine.on_fs(
            ev(
                notify::EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                path,
            ),
            now,
        );
        engine.on_fs(
            ev(
                notify::EventKind::Access(notify::event::AccessKind::Close(
                    notify::event::AccessMode::Write,
                )),
                path,
            ),
            now,
        );
    }
    let fed = started.elapsed();
    engine.flush(now + WINDOW);
    let total = started.elapsed();
    let outputs = engine.take_outputs();
    assert_eq!(changes(&outputs).len(), n);
    eprintln!(
        "new files: {} raw notifications in {:.1} ms = {:.0}/s; with the flush (a stat per \
         file) {n} changes in {:.1} ms = {:.0} files/s",
        3 * n,
        fed.as_secs_f64() * 1e3,
        (3 * n) as f64 / fed.as_secs_f64(),
        total.as_secs_f64() * 1e3,
        n as f64 / total.as_secs_f64()
    );
    let storm = &paths[0];
    let raw = 1_000_000;
    let started = Instant::now();
    let later = now + Duration::from_secs(10);
    for _ in 0..raw {
        engine.on_fs(
            ev(
                notify::EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                storm,
            ),
            later,
        );
    }
    let spent = started.elapsed();
    eprintln!(
        "storm: {raw} raw notifications on one file in {:.1} ms = {:.0}/s ({:.0} ns each)",
        spent.as_secs_f64() * 1e3,
        raw as f64 / spent.as_secs_f64(),
        spent.as_nanos() as f64 / raw as f64
    );
}
