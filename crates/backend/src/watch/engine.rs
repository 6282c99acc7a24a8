//! The watcher's state machine, free of threads and of the core so that it can be
//! tested alone. It knows which sessions are watched (each a canonical root with its
//! ignore rules), which directories the OS watches for them (shared when roots
//! overlap, counted per session and in all against the caps), and which files each
//! watched directory holds (to tell a file that was replaced from one that is new). It
//! turns raw notify events into debounced changes, attributes each change to every
//! watched session whose root contains it and does not ignore it, and hands back
//! [`Output`]s for the service to commit through the core.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chainwatch_shared::{EventKind, SessionId, WatchState};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};

use super::debounce::Debouncer;
use super::os::{AddError, DirWatcher};
use super::roots::FilesRoots;
use super::rules::{self, Rules, Step};

/// The deepest level the engine watches below a root (a guard against pathological
/// trees; the directory caps normally bind first).
const MAX_WALK_DEPTH: usize = 256;

/// What the engine asks the service to commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// The session's watch state changed.
    SetWatch(SessionId, WatchState),
    /// File events of one session (`file:created` / `file:modified` / `file:deleted`).
    Changes(SessionId, Vec<EventKind>),
    /// An `error:occurred` for the session: message and code.
    Error(SessionId, String, &'static str),
}

/// The directory caps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directories watched for one session.
    pub max_dirs_per_session: usize,
    /// Directories watched in all.
    pub max_dirs: usize,
}

/// What the engine needs to know of a session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Its cwd as reported.
    pub cwd: String,
    /// Whether it has ended.
    pub ended: bool,
}

struct SessionState {
    cwd: String,
    root: Option<Root>,
}

struct Root {
    rules: Rules,
    stats: RootStats,
}

#[derive(Default)]
struct RootStats {
    /// Directories watched for this session.
    dirs: usize,
    /// Why only part of the tree is watched, once a limit was hit.
    partial: Option<String>,
}

#[derive(Default)]
struct DirState {
    /// Sessions that watch this directory.
    owners: Vec<SessionId>,
    /// Files (not directories) known to be in it.
    files: HashSet<OsString>,
}

/// Why a directory was not watched.
enum Problem {
    SessionCap,
    TotalCap,
    OsLimit(String),
}

/// The watcher's state.
pub struct Engine {
    os: Option<Box<dyn DirWatcher>>,
    /// Why nothing is watched, when `os` is `None`.
    unavailable: String,
    limits: Limits,
    data_dir: Option<PathBuf>,
    sessions: HashMap<SessionId, SessionState>,
    dirs: BTreeMap<PathBuf, DirState>,
    debouncer: Debouncer,
    outputs: Vec<Output>,
    rescan_wanted: bool,
    /// Where cwds may be watched; `None`: anywhere (engine tests only).
    roots: Option<FilesRoots>,
}

impl Engine {
    /// An engine on `os`; with `None` every session is recorded as not watched because
    /// of `unavailable`. `data_dir` (canonical) is never reported.
    pub fn new(
        os: Result<Box<dyn DirWatcher>, String>,
        limits: Limits,
        debounce: std::time::Duration,
        data_dir: Option<PathBuf>,
    ) -> Self {
        let (os, unavailable) = match os {
            Ok(os) => (Some(os), String::new()),
            Err(reason) => (None, reason),
        };
        Self {
            os,
            unavailable,
            limits,
            data_dir,
            sessions: HashMap::new(),
            dirs: BTreeMap::new(),
            debouncer: Debouncer::new(debounce),
            outputs: Vec::new(),
            rescan_wanted: false,
            roots: None,
        }
    }

    /// Watches only cwds inside `roots` (the server always sets this; without it every
    /// cwd on this host may be watched, as the engine's own tests want).
    #[must_use]
    pub fn restrict(mut self, roots: FilesRoots) -> Self {
        self.roots = Some(roots);
        self
    }

    /// Takes what the engine wants committed, oldest first.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// When the next pending change is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.debouncer.next_due()
    }

    /// Directories the OS watches now.
    pub fn watched_dirs(&self) -> usize {
        self.dirs.len()
    }

    /// Brings a session in line with its state: watches a live session's cwd, stops
    /// watching an ended (or unknown) one. Idempotent.
    pub fn reconcile(&mut self, id: &SessionId, info: Option<SessionInfo>) {
        match info {
            Some(info) if !info.ended => {
                if let Some(state) = self.sessions.get(id) {
                    if state.cwd == info.cwd {
                        return;
                    }
                    self.stop(id);
                }
                self.start(id, info.cwd);
            }
            _ => self.stop(id),
        }
    }

    fn not_watched(&mut self, id: &SessionId, cwd: String, reason: String) {
        self.sessions
            .insert(id.clone(), SessionState { cwd, root: None });
        self.outputs.push(Output::SetWatch(
            id.clone(),
            WatchState {
                watched: false,
                reason: Some(reason),
            },
        ));
    }

    fn start(&mut self, id: &SessionId, cwd: String) {
        let unavailable = self.os.is_none().then_some(self.unavailable.as_str());
        let root = match super::decide(
            &cwd,
            unavailable,
            self.data_dir.as_deref(),
            self.roots.as_ref(),
        ) {
            Ok(root) => root,
            Err(reason) => return self.not_watched(id, cwd, reason),
        };
        let rules = Rules::new(root.clone(), self.data_dir.clone());
        self.sessions.insert(
            id.clone(),
            SessionState {
                cwd: cwd.clone(),
                root: Some(Root {
                    rules,
                    stats: RootStats::default(),
                }),
            },
        );
        let started = Instant::now();
        let problem = self.add_tree(id, &root, None);
        let dirs = self
            .sessions
            .get(id)
            .and_then(|s| s.root.as_ref())
            .map_or(0, |r| r.stats.dirs);
        tracing::info!(
            session = %id,
            cwd = %root.display(),
            dirs,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "watching the session's cwd"
        );
        if dirs == 0 {
            let reason = match problem {
                Some(problem) => self.describe(&problem).0,
                None => "the cwd could not be watched".into(),
            };
            return self.not_watched(id, cwd, reason);
        }
        if let Some(problem) = problem {
            let _ = self.report(id, &problem);
        }
        let partial = self.partial(id);
        self.outputs.push(Output::SetWatch(
            id.clone(),
            WatchState {
                watched: true,
                reason: partial,
            },
        ));
    }

    fn partial(&self, id: &SessionId) -> Option<String> {
        self.sessions
            .get(id)
            .and_then(|s| s.root.as_ref())
            .and_then(|r| r.stats.partial.clone())
    }

    /// Stops watching a session; directories no other session needs are released.
    fn stop(&mut self, id: &SessionId) {
        let Some(state) = self.sessions.remove(id) else {
            return;
        };
        let Some(root) = state.root else { return };
        let root = root.rules.root().to_path_buf();
        let under: Vec<PathBuf> = self.dirs_under(&root);
        let mut released = 0;
        for dir in under {
            if let Some(entry) = self.dirs.get_mut(&dir) {
                entry.owners.retain(|owner| owner != id);
                if entry.owners.is_empty() {
                    self.dirs.remove(&dir);
                    if let Some(os) = self.os.as_mut() {
                        os.unwatch(&dir);
                    }
                    released += 1;
                }
            }
        }
        tracing::info!(session = %id, released, "stopped watching the session's cwd");
    }

    /// Watched directories at or below `path`.
    fn dirs_under(&self, path: &Path) -> Vec<PathBuf> {
        self.dirs
            .range(path.to_path_buf()..)
            .take_while(|(dir, _)| dir.starts_with(path))
            .map(|(dir, _)| dir.clone())
            .collect()
    }

    /// Watches `start` and the tree below it for session `id`, as far as the rules and
    /// limits allow. Files met that were not known are reported as created when `now`
    /// is given (a directory that appeared while watched). Returns the first limit hit.
    fn add_tree(&mut self, id: &SessionId, start: &Path, now: Option<Instant>) -> Option<Problem> {
        let limits = self.limits;
        let os = self.os.as_mut()?;
        let Root { rules, stats } = self.sessions.get_mut(id).and_then(|s| s.root.as_mut())?;
        let dirs = &mut self.dirs;
        let debouncer = &mut self.debouncer;
        let mut problem = None;
        match add_dir(os.as_mut(), dirs, stats, id, start, limits) {
            Ok(()) => {}
            Err(Some(p)) => return Some(p),
            Err(None) => return None,
        }
        rules::walk(rules, start, MAX_WALK_DEPTH, &mut |entry| {
            if entry.dir {
                return match add_dir(os.as_mut(), dirs, stats, id, &entry.path, limits) {
                    Ok(()) => Step::Continue,
                    Err(None) => Step::Skip,
                    Err(Some(p)) => {
                        problem = Some(p);
                        Step::Stop
                    }
                };
            }
            if let (Some(parent), Some(name)) = (entry.path.parent(), entry.path.file_name()) {
                if let Some(dir) = dirs.get_mut(parent) {
                    if dir.files.insert(name.to_os_string()) {
                        if let Some(now) = now {
                            debouncer.touch(entry.path.clone(), false, now);
                        }
                    }
                }
            }
            Step::Continue
        });
        problem
    }

    /// The reason text for a session's watch state and the `error:occurred` message.
    fn describe(&self, problem: &Problem) -> (String, String, &'static str) {
        match problem {
            Problem::SessionCap => (
                format!(
                    "partly watched: the cap of {} directories per session was reached",
                    self.limits.max_dirs_per_session
                ),
                format!(
                    "file watching stopped at {} directories, the cap per session \
                     (--watch-max-dirs-per-session); changes in the other directories of the cwd \
                     are not reported",
                    self.limits.max_dirs_per_session
                ),
                "watch_dir_cap",
            ),
            Problem::TotalCap => (
                format!(
                    "partly watched: the server's cap of {} watched directories was reached",
                    self.limits.max_dirs
                ),
                format!(
                    "file watching stopped: the server watches {} directories, its cap \
                     (--watch-max-dirs); changes in the other directories of the cwd are not \
                     reported",
                    self.limits.max_dirs
                ),
                "watch_dir_cap",
            ),
            Problem::OsLimit(detail) => (
                format!("partly watched: the OS limit on file watches was reached{detail}"),
                format!(
                    "file watching stopped: the OS limit on file watches was reached{detail}; \
                     changes in the other directories of the cwd are not reported. Raise it \
                     (sysctl fs.inotify.max_user_watches=524288) or lower --watch-max-dirs"
                ),
                "watch_limit",
            ),
        }
    }

    /// Records a limit once per session: the partial reason and an `error:occurred`.
    /// True when it was new.
    fn report(&mut self, id: &SessionId, problem: &Problem) -> bool {
        let (reason, message, code) = self.describe(problem);
        let Some(root) = self.sessions.get_mut(id).and_then(|s| s.root.as_mut()) else {
            return false;
        };
        if root.stats.partial.is_some() {
            return false;
        }
        tracing::warn!(session = %id, code, "{message}");
        root.stats.partial = Some(reason);
        self.outputs.push(Output::Error(id.clone(), message, code));
        true
    }

    /// Reports a limit met after the start, with the session's new watch state.
    fn report_later(&mut self, id: &SessionId, problem: &Problem) {
        if self.report(id, problem) {
            let partial = self.partial(id);
            self.outputs.push(Output::SetWatch(
                id.clone(),
                WatchState {
                    watched: true,
                    reason: partial,
                },
            ));
        }
    }

    /// Feeds one raw notify event.
    pub fn on_fs(&mut self, event: notify::Event, now: Instant) {
        if event.need_rescan() {
            self.rescan_wanted = true;
            return;
        }
        use notify::EventKind as K;
        match event.kind {
            K::Access(AccessKind::Close(AccessMode::Write))
            | K::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_) | ModifyKind::Any)
            | K::Modify(ModifyKind::Other) => {
                for path in event.paths {
                    self.changed(path, now);
                }
            }
            K::Create(kind) => {
                let hint = match kind {
                    CreateKind::Folder => Some(true),
                    CreateKind::File => Some(false),
                    _ => None,
                };
                for path in event.paths {
                    self.appeared(path, hint, now);
                }
            }
            K::Modify(ModifyKind::Name(RenameMode::To)) => {
                for path in event.paths {
                    self.appeared(path, None, now);
                }
            }
            K::Modify(ModifyKind::Name(RenameMode::From)) | K::Remove(_) => {
                for path in event.paths {
                    self.vanished(&path, now);
                }
            }
            K::Modify(ModifyKind::Name(RenameMode::Both)) => {}
            K::Modify(ModifyKind::Name(_)) => {
                for path in event.paths {
                    if std::fs::symlink_metadata(&path).is_ok() {
                        self.appeared(path, None, now);
                    } else {
                        self.vanished(&path, now);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the engine asked for a rescan (the OS queue overflowed).
    pub fn take_rescan(&mut self) -> bool {
        std::mem::take(&mut self.rescan_wanted)
    }

    fn parent_watched(&self, path: &Path) -> bool {
        path.parent().is_some_and(|p| self.dirs.contains_key(p))
    }

    fn known(&self, path: &Path) -> bool {
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => self
                .dirs
                .get(parent)
                .is_some_and(|dir| dir.files.contains(name)),
            _ => false,
        }
    }

    /// Sessions that would report `path`.
    fn wanted(&self, path: &Path, is_dir: bool) -> bool {
        self.sessions.values().any(|s| {
            s.root
                .as_ref()
                .is_some_and(|r| !r.rules.is_ignored(path, is_dir))
        })
    }

    fn changed(&mut self, path: PathBuf, now: Instant) {
        // A save storm: the path's window is open, nothing to learn (one hash lookup).
        if self.debouncer.is_pending(&path) {
            return;
        }
        if self.dirs.contains_key(&path) || !self.parent_watched(&path) {
            return;
        }
        if !self.wanted(&path, false) {
            return;
        }
        let existed = self.known(&path);
        self.debouncer.touch(path, existed, now);
    }

    fn appeared(&mut self, path: PathBuf, hint: Option<bool>, now: Instant) {
        if hint == Some(false) && self.debouncer.is_pending(&path) {
            return;
        }
        if !self.parent_watched(&path) || self.dirs.contains_key(&path) {
            return;
        }
        let is_dir = hint.unwrap_or_else(|| {
            std::fs::symlink_metadata(&path)
                .map(|m| m.is_dir())
                .unwrap_or(false)
        });
        if !is_dir {
            if self.wanted(&path, false) {
                let existed = self.known(&path);
                self.debouncer.touch(path, existed, now);
            }
            return;
        }
        let sessions: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.root
                    .as_ref()
                    .is_some_and(|r| !r.rules.is_ignored(&path, true))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in sessions {
            if let Some(problem) = self.add_tree(&id, &path, Some(now)) {
                self.report_later(&id, &problem);
            }
        }
    }

    fn vanished(&mut self, path: &Path, now: Instant) {
        let under = self.dirs_under(path);
        if under.is_empty() {
            if self.known(path) || self.debouncer.is_pending(path) {
                let existed = self.known(path);
                self.debouncer.touch(path.to_path_buf(), existed, now);
            }
            return;
        }
        // A watched directory went (deleted, or moved: a move into the tree arrives as a
        // new directory): its known files count as deleted.
        for dir in under {
            let Some(state) = self.dirs.remove(&dir) else {
                continue;
            };
            if let Some(os) = self.os.as_mut() {
                os.unwatch(&dir);
            }
            for name in state.files {
                self.debouncer.touch(dir.join(name), true, now);
            }
            for owner in state.owners {
                if let Some(root) = self.sessions.get_mut(&owner).and_then(|s| s.root.as_mut()) {
                    root.stats.dirs = root.stats.dirs.saturating_sub(1);
                }
            }
        }
        // Sessions whose cwd itself went are no longer watched.
        let lost: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.root
                    .as_ref()
                    .is_some_and(|r| r.rules.root().starts_with(path))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in lost {
            if let Some(state) = self.sessions.get_mut(&id) {
                state.root = None;
            }
            self.outputs.push(Output::SetWatch(
                id,
                WatchState {
                    watched: false,
                    reason: Some("the cwd was deleted or moved away".into()),
                },
            ));
        }
    }

    /// Walks every watched tree again after notifications were lost: new directories
    /// are watched, new files reported as created, vanished ones as deleted.
    pub fn rescan(&mut self, now: Instant) {
        tracing::warn!("file notifications were dropped; rescanning the watched trees");
        let ids: Vec<(SessionId, PathBuf)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                s.root
                    .as_ref()
                    .map(|r| (id.clone(), r.rules.root().to_path_buf()))
            })
            .collect();
        for (id, root) in ids {
            if let Some(problem) = self.add_tree(&id, &root, Some(now)) {
                self.report_later(&id, &problem);
            }
        }
        let mut gone_dirs = Vec::new();
        let mut gone_files = Vec::new();
        for (dir, state) in &self.dirs {
            if !dir.is_dir() {
                gone_dirs.push(dir.clone());
                continue;
            }
            for name in &state.files {
                let path = dir.join(name);
                if std::fs::symlink_metadata(&path).is_err() {
                    gone_files.push(path);
                }
            }
        }
        for dir in gone_dirs {
            self.vanished(&dir, now);
        }
        for path in gone_files {
            self.debouncer.touch(path, true, now);
        }
    }

    /// Turns the changes whose window closed by `now` into outputs, one per session.
    pub fn flush(&mut self, now: Instant) {
        let due = self.debouncer.due(now);
        if due.is_empty() {
            return;
        }
        let mut by_session: Vec<(SessionId, Vec<EventKind>)> = Vec::new();
        for (path, existed) in due {
            let exists = std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir());
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            if let Some(dir) = self.dirs.get_mut(parent) {
                if exists {
                    dir.files.insert(name.to_os_string());
                } else {
                    dir.files.remove(name);
                }
            }
            if name == ".gitignore" {
                for state in self.sessions.values_mut() {
                    if let Some(root) = state.root.as_mut() {
                        if parent.starts_with(root.rules.root()) {
                            root.rules.load_dir(parent);
                        }
                    }
                }
            }
            let make: fn(String) -> EventKind = match (existed, exists) {
                (true, true) => |path| EventKind::FileModified {
                    path,
                    step_id: None,
                },
                (false, true) => |path| EventKind::FileCreated {
                    path,
                    step_id: None,
                },
                (true, false) => |path| EventKind::FileDeleted {
                    path,
                    step_id: None,
                },
                (false, false) => continue,
            };
            for (id, state) in &self.sessions {
                let Some(root) = &state.root else { continue };
                if root.rules.is_ignored(&path, false) {
                    continue;
                }
                let Some(relative) = root.rules.relative(&path) else {
                    continue;
                };
                match by_session.iter_mut().find(|(s, _)| s == id) {
                    Some((_, kinds)) => kinds.push(make(relative)),
                    None => by_session.push((id.clone(), vec![make(relative)])),
                }
            }
        }
        self.outputs.extend(
            by_session
                .into_iter()
                .map(|(id, kinds)| Output::Changes(id, kinds)),
        );
    }
}

/// Watches one directory for `id`. `Err(None)`: skip it (gone, or unwatchable for a
/// reason that is not a limit); `Err(Some(_))`: a limit, stop.
fn add_dir(
    os: &mut dyn DirWatcher,
    dirs: &mut BTreeMap<PathBuf, DirState>,
    stats: &mut RootStats,
    id: &SessionId,
    dir: &Path,
    limits: Limits,
) -> Result<(), Option<Problem>> {
    if let Some(entry) = dirs.get_mut(dir) {
        if !entry.owners.contains(id) {
            if stats.dirs >= limits.max_dirs_per_session {
                return Err(Some(Problem::SessionCap));
            }
            entry.owners.push(id.clone());
            stats.dirs += 1;
        }
        return Ok(());
    }
    if stats.dirs >= limits.max_dirs_per_session {
        return Err(Some(Problem::SessionCap));
    }
    if dirs.len() >= limits.max_dirs {
        return Err(Some(Problem::TotalCap));
    }
    match os.watch(dir) {
        Ok(()) => {
            dirs.insert(
                dir.to_path_buf(),
                DirState {
                    owners: vec![id.clone()],
                    files: HashSet::new(),
                },
            );
            stats.dirs += 1;
            Ok(())
        }
        Err(AddError::Limit(detail)) => Err(Some(Problem::OsLimit(detail))),
        Err(AddError::Gone) => Err(None),
        Err(AddError::Other(error)) => {
            tracing::debug!(dir = %dir.display(), %error, "directory not watched");
            Err(None)
        }
    }
}

#[cfg(test)]
mod tests;
