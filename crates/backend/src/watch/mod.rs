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

mod debounce;
pub mod engine;
mod os;
pub mod roots;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use chainwatch_shared::{EventKind, NewEvent, SessionId};

use crate::config::WatchConfig;
use crate::core::{Core, CoreError, Publisher, SessionFilter};
use crate::store::LoggedEvent;
use engine::{Engine, Limits, Output, SessionInfo};
use os::{Backlog, DirWatcher, NotifyDirs};

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

/// Forwards the ids of sessions with committed global events to the watcher thread.
/// Never blocks: the channel is unbounded, and global events are few (session
/// lifecycle, questions, permissions, commands).
pub struct WatchPublisher {
    sender: Sender<Msg>,
}

impl Publisher for WatchPublisher {
    fn publish(&self, events: &[LoggedEvent]) {
        let mut last: Option<&SessionId> = None;
        for event in events.iter().filter(|e| e.global) {
            if last == Some(&event.session_id) {
                continue;
            }
            last = Some(&event.session_id);
            let _ = self.sender.send(Msg::Session(event.session_id.clone()));
        }
    }
}

/// The watcher thread's end of the channel, made before the core starts (the core
/// needs the publisher, the watcher needs the core).
pub struct Inbox {
    sender: Sender<Msg>,
    receiver: Receiver<Msg>,
}

/// A publisher for the core and the inbox for [`WatchService::start`].
pub fn channel_pair() -> (Arc<WatchPublisher>, Inbox) {
    let (sender, receiver) = channel();
    (
        Arc::new(WatchPublisher {
            sender: sender.clone(),
        }),
        Inbox { sender, receiver },
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
            .spawn(move || run(engine, inbox.receiver, &backlog, &core))?;
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

fn run(mut engine: Engine, receiver: Receiver<Msg>, backlog: &Backlog, core: &Core) {
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
        while let Some(msg) = next.take() {
            match msg {
                Msg::Stop => return,
                Msg::Session(id) => {
                    let info = info(core, &id);
                    engine.reconcile(&id, info);
                }
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
    }
}

/// Commits the engine's outputs through the core, blocking this thread until each is
/// durable. Changes of a session that has ended meanwhile are dropped.
fn deliver(core: &Core, outputs: Vec<Output>) {
    for output in outputs {
        let result = match output {
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
