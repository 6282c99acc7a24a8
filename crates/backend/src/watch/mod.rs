//! File watching of session cwds. A [`WatchPublisher`] sits next to the socket hub
//! behind the core's publisher and forwards, without blocking, the ids of sessions
//! whose global events were committed; the watcher thread ([`WatchService`]) then
//! reconciles each with the read model: a live session whose cwd is a directory on this
//! host is watched (its state goes to `watched: true` through
//! [`Core::set_watch_blocking`]), one whose cwd is elsewhere is recorded as not watched with
//! the reason, an ended one is released. OS notifications are debounced per file,
//! filtered by the ignore rules (`rules`), attributed to every session whose cwd holds
//! them, and committed through the core as `file:*` events with [`Core::ingest_blocking`],
//! exactly like events an agent reports (the core stamps the running step). The one
//! mutation path holds: the watcher never writes state itself.
//!
//! Whether a cwd can be watched is decided when the session starts
//! ([`StartDecision`], asked by the core for the `session:started` itself), with the
//! same rules ([`decide`]) the watcher applies; the watcher's own `SetWatch` then only
//! commits an event when its walk ends differently. After each commit with global
//! events the watcher reports the seq it has reconciled up to ([`Inbox::ready`]), so
//! `POST /api/sessions` can answer "watched" only once the watches are in place.

mod debounce;
pub mod engine;
mod os;
pub mod roots;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use chainwatch_shared::{EventKind, NewEvent, SessionId, WatchState};

use crate::config::WatchConfig;
use crate::core::{Core, CoreError, Publisher, SessionFilter, StartWatch};
use crate::store::LoggedEvent;
use engine::{Engine, Limits, Output, SessionInfo};
use os::{Backlog, DirWatcher, NotifyDirs};
use roots::FilesRoots;

/// Most events one `Ingest` of the watcher carries.
const INGEST_CHUNK: usize = 1000;
/// Most messages handled between two flushes, so that a flood cannot delay due changes
/// for long.
const BATCH: usize = 4096;

/// What the watcher thread hears.
#[derive(Debug)]
pub enum Msg {
    /// A session had a global event committed: bring its watch in line.
    Session(SessionId),
    /// Every session message before this one belongs to commits up to this seq.
    Reconciled(u64),
    /// A raw OS notification.
    Fs(notify::Result<notify::Event>),
    /// Stop the thread.
    Stop,
}

/// What a cwd is on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A directory; its canonical path.
    Dir(PathBuf),
    /// Nothing there (or a path that is not absolute here, like `C:\…` on Linux): the
    /// session runs on another host.
    Missing,
    /// Something that is not a directory.
    NotDir,
    /// It cannot be inspected.
    Unreadable(String),
}

/// Looks a cwd up on this host. Blocking file-system I/O: call it from a plain thread
/// or `web::block`.
pub fn probe(cwd: &str) -> Probe {
    let path = Path::new(cwd);
    if !path.is_absolute() {
        return Probe::Missing;
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => match path.canonicalize() {
            Ok(canonical) => Probe::Dir(canonical),
            Err(error) => Probe::Unreadable(error.to_string()),
        },
        Ok(_) => Probe::NotDir,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Probe::Missing
        }
        Err(error) => Probe::Unreadable(error.to_string()),
    }
}

/// Whether a session starting in `cwd` can be watched on this host, by the rules the
/// watcher applies: `Ok` with the canonical root to walk, or the reason it is not
/// watched. `unavailable`: why the OS watcher is not running, when it is not.
/// Blocking file-system look-ups (a `stat` and a `realpath`).
pub fn decide(
    cwd: &str,
    unavailable: Option<&str>,
    data_dir: Option<&Path>,
    roots: Option<&FilesRoots>,
) -> Result<PathBuf, String> {
    if let Some(reason) = unavailable {
        return Err(reason.to_owned());
    }
    let root = match probe(cwd) {
        Probe::Dir(root) => root,
        Probe::Missing => {
            return Err("the cwd is not on this host (no such directory on the server)".into());
        }
        Probe::NotDir => return Err("the cwd is not a directory on this host".into()),
        Probe::Unreadable(error) => {
            return Err(format!("the cwd cannot be read on this host: {error}"));
        }
    };
    if data_dir.is_some_and(|d| root.starts_with(d)) {
        return Err("the cwd is inside Chainwatch's data dir".into());
    }
    if let Some(roots) = roots {
        roots.check(&root)?;
    }
    Ok(root)
}

/// The core's [`StartWatch`]: the watch state a `session:started` carries.
pub struct StartDecision {
    /// Chainwatch's own data dir, canonical.
    data_dir: Option<PathBuf>,
    /// Set once the OS watcher has started (`None`) or failed (the reason).
    unavailable: OnceLock<Option<String>>,
    /// Where files may come from (`--files-root`).
    roots: FilesRoots,
}

impl StartWatch for StartDecision {
    fn at_start(&self, cwd: &str) -> WatchState {
        let unavailable = self.unavailable.get().and_then(Option::as_deref);
        match decide(
            cwd,
            unavailable,
            self.data_dir.as_deref(),
            Some(&self.roots),
        ) {
            Ok(_) => WatchState {
                watched: true,
                reason: None,
            },
            Err(reason) => WatchState {
                watched: false,
                reason: Some(reason),
            },
        }
    }
}

/// Forwards the ids of sessions with committed global events to the watcher thread.
/// Never blocks: the channel is unbounded, and global events are few (session
/// lifecycle, questions, permissions, commands).
pub struct WatchPublisher {
    sender: Sender<Msg>,
}

impl Publisher for WatchPublisher {
    fn publish(&self, events: &[LoggedEvent]) {
        let mut last: Option<&SessionId> = None;
        let mut newest = None;
        for event in events.iter().filter(|e| e.global) {
            newest = Some(event.seq);
            if last == Some(&event.session_id) {
                continue;
            }
            last = Some(&event.session_id);
            let _ = self.sender.send(Msg::Session(event.session_id.clone()));
        }
        if let Some(seq) = newest {
            let _ = self.sender.send(Msg::Reconciled(seq));
        }
    }
}

/// The watcher thread's end of the channel, made before the core starts (the core
/// needs the publisher and the start decision, the watcher needs the core).
pub struct Inbox {
    sender: Sender<Msg>,
    receiver: Receiver<Msg>,
    decision: Arc<StartDecision>,
    ready: tokio::sync::watch::Sender<u64>,
}

impl Inbox {
    /// The start decision, for the core.
    pub fn decision(&self) -> Arc<StartDecision> {
        self.decision.clone()
    }

    /// The newest committed seq whose sessions the watcher has brought in line (their
    /// watches are in place when this is at or past their `session:started`).
    pub fn ready(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ready.subscribe()
    }
}

/// A publisher for the core and the inbox for [`WatchService::start`]. `data_dir`:
/// Chainwatch's own, never watched; `roots`: the only places a cwd may be watched.
pub fn channel_pair(data_dir: &Path, roots: FilesRoots) -> (Arc<WatchPublisher>, Inbox) {
    let (sender, receiver) = channel();
    let decision = Arc::new(StartDecision {
        data_dir: data_dir.canonicalize().ok(),
        unavailable: OnceLock::new(),
        roots,
    });
    (
        Arc::new(WatchPublisher {
            sender: sender.clone(),
        }),
        Inbox {
            sender,
            receiver,
            decision,
            ready: tokio::sync::watch::Sender::new(0),
        },
    )
}

/// The running watcher thread.
pub struct WatchService {
    sender: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl WatchService {
    /// Starts the watcher thread; it first reconciles every live session. `data_dir`
    /// (Chainwatch's own) is never reported. When the OS watcher cannot start, the
    /// server runs on and every session is recorded as not watched with the reason.
    pub fn start(
        config: &WatchConfig,
        data_dir: &Path,
        roots: roots::FilesRoots,
        inbox: Inbox,
        core: Core,
    ) -> std::io::Result<Self> {
        let backlog = Arc::new(Backlog::default());
        let os: Result<Box<dyn DirWatcher>, String> = if config.enabled {
            NotifyDirs::start(
                inbox.sender.clone(),
                backlog.clone(),
                config.queue_events.max(1),
            )
            .map(|w| Box::new(w) as Box<dyn DirWatcher>)
            .map_err(|e| {
                tracing::error!(error = %e, "the OS file watcher cannot start; no cwd is watched");
                format!("the server's file watcher cannot start: {e}")
            })
        } else {
            Err("file watching is turned off on this server (--no-watch)".into())
        };
        let _ = inbox.decision.unavailable.set(os.as_ref().err().cloned());
        let engine = Engine::new(
            os,
            Limits {
                max_dirs_per_session: config.max_dirs_per_session,
                max_dirs: config.max_dirs,
            },
            config.debounce,
            data_dir.canonicalize().ok(),
        )
        .restrict(roots);
        let sender = inbox.sender.clone();
        let thread = std::thread::Builder::new()
            .name("chainwatch-watch".into())
            .spawn(move || run(engine, inbox.receiver, &backlog, &core, &inbox.ready))?;
        Ok(Self {
            sender,
            thread: Some(thread),
        })
    }

    /// Stops the thread (pending changes are dropped) and waits for it.
    pub fn stop(mut self) {
        let _ = self.sender.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WatchService {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.sender.send(Msg::Stop);
        }
    }
}

fn info(core: &Core, id: &SessionId) -> Option<SessionInfo> {
    core.read().with_session(id, |record| SessionInfo {
        cwd: record.session.cwd.clone(),
        ended: record.is_ended(),
    })
}

fn run(
    mut engine: Engine,
    receiver: Receiver<Msg>,
    backlog: &Backlog,
    core: &Core,
    ready: &tokio::sync::watch::Sender<u64>,
) {
    let live = core.read().sessions(&SessionFilter {
        ended: Some(false),
        limit: usize::MAX,
        ..SessionFilter::default()
    });
    for session in live.0 {
        engine.reconcile(&session.id, info(core, &session.id));
    }
    deliver(core, engine.take_outputs());
    loop {
        let first = match engine.next_due() {
            Some(due) => match receiver.recv_timeout(due.saturating_duration_since(Instant::now()))
            {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match receiver.recv() {
                Ok(msg) => Some(msg),
                Err(_) => return,
            },
        };
        let mut next = first;
        let mut handled = 0;
        let mut reconciled = None;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Stop => return,
                Msg::Session(id) => {
                    let info = info(core, &id);
                    engine.reconcile(&id, info);
                }
                Msg::Reconciled(seq) => reconciled = Some(seq),
                Msg::Fs(event) => {
                    backlog.queued.fetch_sub(1, Ordering::AcqRel);
                    match event {
                        Ok(event) => engine.on_fs(event, Instant::now()),
                        Err(error) => tracing::warn!(%error, "file watcher error"),
                    }
                }
            }
            handled += 1;
            if handled < BATCH {
                next = match receiver.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                };
            }
        }
        if backlog.overflowed.swap(false, Ordering::AcqRel) | engine.take_rescan() {
            engine.rescan(Instant::now());
        }
        engine.flush(Instant::now());
        deliver(core, engine.take_outputs());
        // After the deliveries: a state the walk changed is committed by now.
        if let Some(seq) = reconciled {
            ready.send_replace(seq);
        }
    }
}

/// Commits the engine's outputs through the core, blocking this thread until each is
/// durable. Changes of a session that has ended meanwhile are dropped.
fn deliver(core: &Core, outputs: Vec<Output>) {
    for output in outputs {
        let result = match output {
            // The state the session already has (most often the one its start decided):
            // nothing to commit.
            Output::SetWatch(id, state)
                if core.read().with_session(&id, |r| r.session.watch == state) == Some(true) =>
            {
                continue;
            }
            Output::SetWatch(id, state) => core
                .set_watch_blocking(id.clone(), state)
                .map(drop)
                .map_err(|e| (id, e)),
            Output::Changes(id, kinds) => {
                if core.read().with_session(&id, |r| r.is_ended()) != Some(false) {
                    continue;
                }
                let mut result = Ok(());
                for chunk in kinds.chunks(INGEST_CHUNK) {
                    let events = chunk
                        .iter()
                        .map(|kind| new_event(&id, kind.clone()))
                        .collect();
                    if let Err(error) = core.ingest_blocking(events) {
                        result = Err((id.clone(), error));
                        break;
                    }
                }
                result
            }
            Output::Error(id, message, code) => {
                if core.read().with_session(&id, |r| r.is_ended()) != Some(false) {
                    continue;
                }
                let kind = EventKind::ErrorOccurred {
                    message,
                    code: Some(code.into()),
                    step_id: None,
                };
                core.ingest_blocking(vec![new_event(&id, kind)])
                    .map(drop)
                    .map_err(|e| (id, e))
            }
        };
        match result {
            Ok(()) => {}
            Err((_, CoreError::Unavailable)) => {
                tracing::debug!("the core is shutting down; watcher output dropped");
            }
            Err((session, error)) => {
                tracing::warn!(%session, %error, "the core refused a watcher change");
            }
        }
    }
}

fn new_event(id: &SessionId, kind: EventKind) -> NewEvent {
    NewEvent {
        event_id: None,
        session_id: id.clone(),
        timestamp: None,
        kind,
    }
}
