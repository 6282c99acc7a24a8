//! The commit step on the NATS JetStream store (`--store nats://…`), where several
//! instances share one log. One thread per instance owns the local copy of the stream
//! (SQLite), the authoritative projection and the read model, and does two jobs in
//! stream order:
//!
//! - **Follow**: every message the stream gets, from any instance, is written to the
//!   local copy, folded into the projection and the read model, and published to the
//!   socket hub, once, in seq order.
//! - **Commit**: operations are decided against the projection exactly as on the
//!   embedded store (`ops::Stager`), then appended with `Nats-Expected-Last-Sequence` =
//!   the last seq this instance applied. If another instance appended first, JetStream
//!   refuses, nothing is stored: the staged sessions are restored from the read model,
//!   the thread catches up with the stream and decides again (bounded). Refusals that
//!   depend on state (404, 409) are checked against the stream's head the same way, so
//!   a session created on another instance a moment ago is found.
//!
//! An instance's own events are applied as soon as JetStream acknowledged them; the
//! follower then skips them by seq. Callers hear back only after that, so a write is in
//! the read model and queued to every local socket when its request returns, and on
//! every other instance a moment later.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chainwatch_shared::{EventId, EventKind, SessionId, WorkspaceEvent};
use tokio::sync::{mpsc, oneshot};

use super::commit::restore;
use super::commit::{Job, Request};
use super::ops::Stager;
use super::projection::Projection;
use super::read_model::ReadModel;
use super::snapshot::Snapshots;
use super::{CommitConfig, Core, CoreError, Publisher};
use crate::store::nats::{AppendError, Followed, MAX_ATOMIC_BATCH, NatsConfig, NatsError, NatsLog};
use crate::store::{LogReader, LogWriter, LoggedEvent, SqliteWriter, StoreError, StoredId};

/// An operation the NATS store's commit thread may decide more than once: after losing
/// a race to another instance, it runs again on the state that won.
pub(super) trait Retry: Send {
    /// Runs the operation against the stager; a refusal is returned, not yet answered.
    fn attempt(&mut self, stager: &mut Stager<'_>) -> Result<(), CoreError>;
    /// Answers the caller: the last attempt's value once its commit is durable, or the
    /// error.
    fn finish(self: Box<Self>, result: Result<(), CoreError>);
}

struct RetryJob<T, F> {
    operation: F,
    reply: oneshot::Sender<Result<T, CoreError>>,
    value: Option<T>,
}

impl<T, F> Retry for RetryJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Clone + Send + 'static,
{
    fn attempt(&mut self, stager: &mut Stager<'_>) -> Result<(), CoreError> {
        let value = (self.operation.clone())(stager)?;
        self.value = Some(value);
        Ok(())
    }

    fn finish(self: Box<Self>, result: Result<(), CoreError>) {
        let RetryJob { reply, value, .. } = *self;
        let answer = result.and_then(|()| value.ok_or(CoreError::Unavailable));
        let _ = reply.send(answer);
    }
}

/// Wraps a typed operation and its reply channel into a [`Retry`] job.
pub(super) fn retry_job<T, F>(
    operation: F,
    reply: oneshot::Sender<Result<T, CoreError>>,
) -> Box<dyn Retry>
where
    T: Send + 'static,
    F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Clone + Send + 'static,
{
    Box::new(RetryJob {
        operation,
        reply,
        value: None,
    })
}

/// A [`Retry`] job run once, as the embedded store's commit thread runs every job.
pub(super) fn once(mut job: Box<dyn Retry>) -> Job {
    Box::new(move |stager| match job.attempt(stager) {
        Ok(()) => Some(Box::new(move |committed| job.finish(committed))),
        Err(error) => {
            job.finish(Err(error));
            None
        }
    })
}

type Exec = Box<dyn Retry>;

/// A plain job in a [`Retry`]'s clothes: it answers a refusal itself, and cannot be
/// decided a second time.
struct Once {
    job: Option<Job>,
    settle: Option<super::commit::Settle>,
}

impl Retry for Once {
    fn attempt(&mut self, stager: &mut Stager<'_>) -> Result<(), CoreError> {
        match self.job.take() {
            Some(job) => match job(stager) {
                Some(settle) => {
                    self.settle = Some(settle);
                    Ok(())
                }
                // Refused and already answered by the job.
                None => Err(CoreError::Invalid(String::new())),
            },
            None => Err(CoreError::Invalid(
                "this operation cannot be decided twice".into(),
            )),
        }
    }

    fn finish(self: Box<Self>, result: Result<(), CoreError>) {
        if let Some(settle) = self.settle {
            settle(result);
        }
    }
}

/// Why the NATS store could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplicatedError {
    /// Connecting or the stream failed.
    #[error(transparent)]
    Nats(#[from] NatsError),
    /// The local copy failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// The shortest wait for another instance's turn (see `Replicator::wait_turn`).
const TURN_MIN: Duration = Duration::from_millis(2);
/// Another instance's write this recent makes a commit wait for its turn.
const FOREIGN_RECENT: Duration = Duration::from_secs(1);
/// The longest wait for another instance's write.
const TURN_MAX: Duration = Duration::from_millis(50);
/// How long an instance waits for the rest of another instance's operation (a chain
/// whose last applied message says its operation continues) before it presumes the
/// writer stopped for good and appends after the stored part.
const OPERATION_WAIT: Duration = Duration::from_secs(2);

/// Messages taken from the follower in one go (one local transaction).
const FOLLOW_BATCH: usize = 4096;
/// Messages the follower may hold before it waits for the commit thread.
const FOLLOW_QUEUE: usize = 65_536;

/// Starts the commit thread of an instance on the NATS store: rebuilds state from the
/// local copy, connects, checks the copy belongs to the stream, catches up with the
/// stream and only then returns, so the instance serves current state from the start.
/// `hub` hears every event; `local` (the file watcher) only this instance's own.
pub fn start(
    mirror: SqliteWriter,
    mirror_path: &Path,
    reader: &dyn LogReader,
    nats: NatsConfig,
    hub: Arc<dyn Publisher>,
    local: Option<Arc<dyn Publisher>>,
    config: CommitConfig,
) -> Result<(Core, JoinHandle<()>), ReplicatedError> {
    let started = Instant::now();
    // The snapshot covers the local copy up to its seq; only the copy's tail is folded,
    // then only the stream's tail is fetched (see `catch_up_at_start`).
    let (projection, latest, last_event_id, snapshot_seq, how) =
        restore(reader, config.snapshot.as_ref()).map_err(CoreError::from)?;
    let mirror_last_id = last_event_id.as_ref().map(|id| id.0.clone());
    tracing::info!(
        events = latest,
        sessions = projection.sessions.len(),
        from = %how,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rebuilt state from the local copy of the stream"
    );
    let read = Arc::new(ReadModel::new(projection.clone(), latest));
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread_read = read.clone();
    let path = mirror_path.display().to_string();
    let thread = std::thread::Builder::new()
        .name("chainwatch-commit".into())
        .spawn(move || {
            let opened = open(nats, &path, latest, mirror_last_id);
            let (log, follow) = match opened {
                Ok(opened) => opened,
                Err(error) => {
                    let _ = ready_tx.send(Err(error));
                    return;
                }
            };
            let snapshots = config
                .snapshot
                .map(|snapshot| Snapshots::start(snapshot, snapshot_seq));
            let retries = log.config().max_conflict_retries;
            let ack_timeout = log.config().ack_timeout;
            let mut replicator = Replicator {
                log: StagingLog { mirror, nats: log },
                follow,
                follow_open: true,
                projection,
                applied: latest,
                read: thread_read,
                hub,
                local,
                max_batch: config.max_batch.max(1),
                prices: config.prices,
                start_watch: config.start_watch,
                max_event_bytes: config.max_event_bytes.max(1024),
                retries,
                ack_timeout,
                snapshots,
                last_event_id,
                foreign_at: None,
                tail_continues: false,
                last_append: Duration::ZERO,
                starting: false,
            };
            replicator.catch_up_at_start();
            let _ = ready_tx.send(Ok(()));
            replicator.run(rx);
            if let Some(snapshots) = replicator.snapshots.take() {
                snapshots.finish(
                    &replicator.projection,
                    replicator.applied,
                    replicator.last_event_id.as_ref(),
                );
            }
        })
        .map_err(|e| {
            CoreError::Store(StoreError::Unusable {
                path: "commit thread".into(),
                reason: e.to_string(),
            })
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let _ = thread.join();
            return Err(error.into());
        }
        Err(_) => {
            let _ = thread.join();
            return Err(CoreError::Unavailable.into());
        }
    }
    tracing::info!(
        seq = read.latest_seq(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "caught up with the stream; serving"
    );
    Ok((Core::replicated(tx, read), thread))
}

fn open(
    nats: NatsConfig,
    mirror_path: &str,
    latest: u64,
    mirror_last_id: Option<String>,
) -> Result<(NatsLog, mpsc::Receiver<Followed>), NatsError> {
    let mut log = NatsLog::connect(nats)?;
    let stream = log.config().stream.clone();
    let mismatch = |reason: String| NatsError::Mirror {
        path: mirror_path.to_owned(),
        stream: stream.clone(),
        reason,
    };
    if latest > 0 {
        let head = log.head().map_err(|e| NatsError::Stream {
            stream: stream.clone(),
            reason: e.to_string(),
        })?;
        if head < latest {
            return Err(mismatch(format!(
                "the copy ends at seq {latest}, the stream at {head}"
            )));
        }
        if let (Some(ours), Some(theirs)) = (&mirror_last_id, log.event_id_at(latest)?) {
            if ours != &theirs {
                return Err(mismatch(format!(
                    "seq {latest} is event {ours} here and {theirs} in the stream"
                )));
            }
        }
    }
    let follow = log.follow(latest, FOLLOW_QUEUE);
    Ok((log, follow))
}

/// The writer the stager sees: eventId lookups go to the local copy (complete up to the
/// applied seq, which is the stream's head whenever an append lands); retention purges
/// the stream. Appends go through [`Replicator`], never through this.
struct StagingLog {
    mirror: SqliteWriter,
    nats: NatsLog,
}

impl LogWriter for StagingLog {
    fn append(&mut self, _events: &[LoggedEvent]) -> Result<(), StoreError> {
        Err(StoreError::Unusable {
            path: "NATS stream".into(),
            reason: "appends go through the replicated commit step".into(),
        })
    }

    fn stored(&mut self, event_id: &EventId) -> Result<Option<StoredId>, StoreError> {
        self.mirror.stored(event_id)
    }

    fn delete_sessions(&mut self, sessions: &[SessionId]) -> Result<u64, StoreError> {
        self.nats
            .purge_sessions(sessions)
            .map_err(|e| StoreError::Unreachable(e.to_string()))
    }
}

struct Replicator {
    log: StagingLog,
    follow: mpsc::Receiver<Followed>,
    follow_open: bool,
    projection: Projection,
    applied: u64,
    read: Arc<ReadModel>,
    hub: Arc<dyn Publisher>,
    local: Option<Arc<dyn Publisher>>,
    max_batch: usize,
    prices: Arc<super::pricing::PriceTable>,
    start_watch: Option<Arc<dyn super::StartWatch>>,
    /// The largest encoded event (`--max-event-bytes`).
    max_event_bytes: usize,
    retries: usize,
    ack_timeout: Duration,
    /// The start-up snapshot of the projection (`--snapshot-every`, and at shutdown).
    snapshots: Option<Snapshots>,
    /// The event id at `applied`, recorded in snapshots.
    last_event_id: Option<EventId>,
    /// When the stream last brought another instance's events.
    foreign_at: Option<Instant>,
    /// Whether the last applied message is in the middle of another instance's
    /// operation (its chain goes on): nothing is appended until it ends.
    tail_continues: bool,
    /// How long the last append (atomic batch or chain) took to be acknowledged.
    last_append: Duration,
    /// Catching up at start-up: the read model is set once at the end.
    starting: bool,
}

enum Next {
    Request(Option<Request>),
    Followed(Option<Followed>),
}

/// The most events one chain takes before its acknowledgements are awaited (the
/// operations that arrive later wait for the next round).
const CHAIN_MAX: usize = 4 * MAX_ATOMIC_BATCH;

/// The commit thread's queue of requests, for a round that takes more while its chain
/// is being stored, and the shutdown request if one came meanwhile.
struct Incoming<'a> {
    requests: &'a mut mpsc::Receiver<Request>,
    shutdown: &'a mut Option<oneshot::Sender<()>>,
}

impl Incoming<'_> {
    /// The operations already queued (at most `max`), without waiting.
    fn take_queued(&mut self, max: usize) -> Vec<Exec> {
        let mut taken: Vec<Exec> = Vec::new();
        while taken.len() < max && self.shutdown.is_none() {
            match self.requests.try_recv() {
                Ok(Request::Shutdown(done)) => *self.shutdown = Some(done),
                Ok(Request::Retry(job)) => taken.push(job),
                Ok(Request::Execute(job)) => taken.push(Box::new(Once {
                    job: Some(job),
                    settle: None,
                })),
                Err(_) => break,
            }
        }
        taken
    }
}

/// Files one decided operation: accepted (its events end at `staged`, the staged
/// count), refused on state (404, 409: checked against the stream's head after the
/// append), or answered now (input errors hold whatever the state).
fn file_outcome(
    result: Result<(), CoreError>,
    job: Exec,
    staged: usize,
    horizons: &mut Vec<usize>,
    accepted: &mut Vec<Exec>,
    refused: &mut Vec<(Exec, CoreError)>,
) {
    match result {
        Ok(()) => {
            horizons.push(staged);
            accepted.push(job);
        }
        Err(error @ (CoreError::NotFound { .. } | CoreError::Conflict(_))) => {
            refused.push((job, error))
        }
        Err(error) => job.finish(Err(error)),
    }
}

/// For the staged events `from..to`, whether each one's operation goes on in the next
/// event (`horizons`: the staged count after each accepted operation).
fn continuing(horizons: &[usize], from: usize, to: usize) -> Vec<bool> {
    (from..to)
        .map(|index| !horizons.contains(&(index + 1)))
        .collect()
}

impl Replicator {
    fn run(&mut self, mut requests: mpsc::Receiver<Request>) {
        loop {
            let first = {
                {
                    let follow = &mut self.follow;
                    let follow_open = self.follow_open;
                    let next = self.log.nats.block_on(async {
                        tokio::select! {
                            request = requests.recv() => Next::Request(request),
                            followed = follow.recv(), if follow_open => Next::Followed(followed),
                        }
                    });
                    match next {
                        Next::Request(Some(request)) => request,
                        Next::Request(None) => return,
                        Next::Followed(Some(first)) => {
                            self.apply_followed_from(first);
                            continue;
                        }
                        Next::Followed(None) => {
                            tracing::error!(
                                "the stream follower stopped; this instance no longer hears other instances"
                            );
                            self.follow_open = false;
                            continue;
                        }
                    }
                }
            };
            let mut executions: Vec<Exec> = Vec::new();
            let mut shutdown = self.take(first, &mut executions, &mut requests);
            let foreign_recent = self
                .foreign_at
                .is_some_and(|at| at.elapsed() < FOREIGN_RECENT);
            if shutdown.is_none() && foreign_recent {
                shutdown = self.wait_turn(&mut executions, &mut requests);
            }
            let mut incoming = Incoming {
                requests: &mut requests,
                shutdown: &mut shutdown,
            };
            self.commit(executions, &mut incoming);
            if let Some(done) = shutdown {
                tracing::info!(seq = self.applied, "commit thread stopped");
                let _ = done.send(());
                return;
            }
        }
    }

    /// Adds `first` and whatever else is queued (up to `max_batch` operations) to
    /// `executions`; returns the shutdown request if one came.
    fn take(
        &self,
        first: Request,
        executions: &mut Vec<Exec>,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Option<oneshot::Sender<()>> {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                Request::Shutdown(done) => return Some(done),
                Request::Retry(job) => executions.push(job),
                // Only the embedded store's Core sends these: decided once.
                Request::Execute(job) => executions.push(Box::new(Once {
                    job: Some(job),
                    settle: None,
                })),
            }
            if executions.len() < self.max_batch {
                next = requests.try_recv().ok();
            }
        }
        None
    }

    /// When another instance wrote in the last [`FOREIGN_RECENT`], waits for that
    /// instance's next write to arrive before deciding the next commit (at most twice
    /// this instance's last append, within [`TURN_MIN`]..[`TURN_MAX`]), gathering the
    /// requests that arrive meanwhile and applying the stream's messages. Both
    /// sending at once makes one of them lose the race (for an atomic batch, after
    /// nats-server staged it for nothing), and the loser, which must catch up first,
    /// tended to lose again until its retries ran out (503); taking turns wastes
    /// nothing.
    fn wait_turn(
        &mut self,
        executions: &mut Vec<Exec>,
        requests: &mut mpsc::Receiver<Request>,
    ) -> Option<oneshot::Sender<()>> {
        let until = Instant::now() + (self.last_append * 2).clamp(TURN_MIN, TURN_MAX);
        let applied = self.applied;
        while self.applied == applied && executions.len() < self.max_batch {
            let wait = until.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            let follow = &mut self.follow;
            let follow_open = self.follow_open;
            let next = self.log.nats.block_on(async {
                tokio::select! {
                    request = requests.recv() => Some(Next::Request(request)),
                    followed = follow.recv(), if follow_open => Some(Next::Followed(followed)),
                    () = tokio::time::sleep(wait) => None,
                }
            });
            match next {
                Some(Next::Request(Some(request))) => {
                    if let Some(done) = self.take(request, executions, requests) {
                        return Some(done);
                    }
                }
                // The other instance's write applies here; the loop ends when it did.
                Some(Next::Followed(Some(first))) => self.apply_followed_from(first),
                Some(Next::Followed(None)) => self.follow_open = false,
                // Closed (the next `recv` says so) or out of time.
                Some(Next::Request(None)) | None => break,
            }
        }
        None
    }

    /// Applies `first` and whatever else the follower has ready.
    fn apply_followed_from(&mut self, first: Followed) {
        let mut batch = vec![first];
        while batch.len() < FOLLOW_BATCH {
            match self.follow.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        self.apply_followed(batch);
    }

    /// When the last applied message is in the middle of another instance's operation,
    /// waits for the operation's last message (the rest of its chain is on its way)
    /// before anything is decided or appended, at most [`OPERATION_WAIT`]: so that no
    /// append lands inside an operation of several events, which is stored whole. After
    /// that the writer is presumed stopped for good and its stored part stays.
    fn wait_operation_end(&mut self) {
        let until = Instant::now() + OPERATION_WAIT;
        while self.tail_continues && self.follow_open {
            let wait = until.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                tracing::warn!(
                    applied = self.applied,
                    "another instance's operation stopped in the middle (its writer is gone?); appending after its stored part"
                );
                self.tail_continues = false;
                return;
            }
            let follow = &mut self.follow;
            let next = self
                .log
                .nats
                .block_on(async { tokio::time::timeout(wait, follow.recv()).await });
            match next {
                Ok(Some(first)) => self.apply_followed_from(first),
                Ok(None) => self.follow_open = false,
                Err(_) => {}
            }
        }
    }

    /// Applies everything the follower has ready, without waiting.
    fn drain_followed(&mut self) {
        while let Ok(first) = self.follow.try_recv() {
            self.apply_followed_from(first);
        }
    }

    fn catch_up_at_start(&mut self) {
        let started = Instant::now();
        let before = self.applied;
        // Start-up waits as long as messages keep coming: a large stream takes time.
        // Nobody reads the read model before the instance serves: only the projection
        // folds the stream meanwhile, and the read model is set from it once at the end.
        self.starting = true;
        self.catch_up(Duration::from_secs(10));
        self.starting = false;
        if self.applied > before {
            self.read.reset(&self.projection, self.applied);
        }
        tracing::info!(
            from = before,
            to = self.applied,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "caught up with the stream"
        );
    }

    /// Applies the stream up to its current head. Gives up after `idle` without a
    /// message (a purged tail is never delivered) or when NATS cannot be asked.
    fn catch_up(&mut self, idle: Duration) {
        let head = match self.log.nats.head() {
            Ok(head) => head,
            Err(error) => {
                tracing::warn!(%error, "cannot ask the stream for its head");
                return;
            }
        };
        while self.applied < head && self.follow_open {
            let follow = &mut self.follow;
            let next = self
                .log
                .nats
                .block_on(async { tokio::time::timeout(idle, follow.recv()).await });
            match next {
                Ok(Some(first)) => self.apply_followed_from(first),
                Ok(None) => self.follow_open = false,
                Err(_) => {
                    tracing::warn!(
                        applied = self.applied,
                        head,
                        "the stream's head was not delivered in time"
                    );
                    return;
                }
            }
        }
    }

    /// Decides and appends `work`, retrying what lost a race after catching up.
    fn commit(&mut self, mut work: Vec<Exec>, incoming: &mut Incoming<'_>) {
        let mut round = 0;
        while !work.is_empty() {
            round += 1;
            let last = round > self.retries;
            let (again, later) = self.round(work, last, incoming);
            if !again.is_empty() {
                self.catch_up(self.ack_timeout);
            }
            // Operations that did not fit under the atomic batch limit go next, as a
            // round of their own.
            work = again;
            if !later.is_empty() {
                self.commit(later, incoming);
            }
        }
    }

    /// One decision and append. Returns the operations to decide again (lost a race,
    /// or refused on state the stream has moved past) and those that did not fit.
    fn round(
        &mut self,
        work: Vec<Exec>,
        last: bool,
        incoming: &mut Incoming<'_>,
    ) -> (Vec<Exec>, Vec<Exec>) {
        self.drain_followed();
        self.wait_operation_end();
        let mut staged: Vec<(Arc<WorkspaceEvent>, LoggedEvent)> = Vec::new();
        let mut staged_ids = std::collections::HashMap::new();
        let mut accepted: Vec<Exec> = Vec::new();
        let mut refused: Vec<(Exec, CoreError)> = Vec::new();
        let mut later: Vec<Exec> = Vec::new();
        // For each accepted operation, the staged events up to and including its own.
        let mut horizons: Vec<usize> = Vec::new();
        let mut next_seq = self.applied + 1;
        let deciding = Instant::now();
        let now = chrono::Utc::now();
        let mut work = work.into_iter();
        while let Some(mut job) = work.next() {
            let before = staged.len();
            let result = self.attempt(&mut job, &mut next_seq, &mut staged, &mut staged_ids, now);
            if staged.len() > MAX_ATOMIC_BATCH && before > 0 {
                // Over the atomic batch limit: this operation and the rest wait for
                // the next round; undo everything and decide the ones before again.
                let events: Vec<Arc<WorkspaceEvent>> =
                    staged.iter().map(|(e, _)| e.clone()).collect();
                self.rollback(&events);
                later.push(job);
                later.extend(work);
                let mut again: Vec<Exec> = accepted;
                again.extend(refused.into_iter().map(|(job, _)| job));
                return (again, later);
            }
            file_outcome(
                result,
                job,
                staged.len(),
                &mut horizons,
                &mut accepted,
                &mut refused,
            );
        }
        let decided = deciding.elapsed();
        let mut again: Vec<Exec> = Vec::new();
        let mut appended = true;
        if staged.is_empty() {
            // Nothing to store (a duplicate eventId, a no-op): the answer stands.
            for job in accepted {
                job.finish(Ok(()));
            }
        } else {
            if staged.len() > 1 && self.log.nats.chains() {
                // A chain of publishes, of which a prefix lands; the operations past it
                // are decided again (or fail). An operation cut in the middle (NATS
                // went away) is decided again too: its stored events are then
                // duplicates and the rest follows them. While the stream stores a
                // segment, the operations that arrived meanwhile are decided and sent
                // after it, as more of the same chain.
                let appending = Instant::now();
                let mut chain = self.log.nats.chain(self.applied);
                let mut sent = 0;
                loop {
                    let continues = continuing(&horizons, sent, staged.len());
                    chain.send(staged[sent..].iter().map(|(_, l)| l), &continues);
                    sent = staged.len();
                    if sent >= CHAIN_MAX || incoming.shutdown.is_some() {
                        break;
                    }
                    let more = incoming.take_queued(self.max_batch);
                    if more.is_empty() {
                        break;
                    }
                    for mut job in more {
                        let result = self.attempt(
                            &mut job,
                            &mut next_seq,
                            &mut staged,
                            &mut staged_ids,
                            now,
                        );
                        file_outcome(
                            result,
                            job,
                            staged.len(),
                            &mut horizons,
                            &mut accepted,
                            &mut refused,
                        );
                    }
                    if staged.len() == sent {
                        break;
                    }
                }
                let (landed, error) = chain.finish();
                self.last_append = appending.elapsed();
                let (mut events, mut logged): (Vec<_>, Vec<_>) = staged.into_iter().unzip();
                tracing::debug!(
                    events = logged.len(),
                    landed,
                    operations = accepted.len(),
                    decide_us = decided.as_micros() as u64,
                    append_us = self.last_append.as_micros() as u64,
                    "chain appended"
                );
                let rest = events.split_off(landed);
                logged.truncate(landed);
                if landed > 0 {
                    // This instance completes its own cut operation itself, next.
                    self.apply_own(events, logged);
                }
                if let Some(error) = error {
                    self.rollback(&rest);
                    appended = false;
                    let retry = matches!(error, AppendError::Conflict) && !last;
                    let failure = (!retry).then(|| self.failure(error, last));
                    for (job, horizon) in accepted.into_iter().zip(horizons) {
                        match &failure {
                            _ if horizon <= landed => job.finish(Ok(())),
                            None => again.push(job),
                            Some(failure) => job.finish(Err(failure.clone_error())),
                        }
                    }
                    if retry {
                        again.extend(refused.drain(..).map(|(job, _)| job));
                    }
                } else {
                    for job in accepted {
                        job.finish(Ok(()));
                    }
                }
                return self.settle_refused(refused, appended, last, again, later);
            }
            let (events, logged): (Vec<_>, Vec<_>) = staged.into_iter().unzip();
            let appending = Instant::now();
            let result = self.append(&events, &logged);
            self.last_append = appending.elapsed();
            tracing::debug!(
                events = logged.len(),
                operations = accepted.len(),
                decide_us = decided.as_micros() as u64,
                append_us = appending.elapsed().as_micros() as u64,
                ok = result.is_ok(),
                "atomic batch appended"
            );
            match result {
                Ok(()) => {
                    self.apply_own(events, logged);
                    for job in accepted {
                        job.finish(Ok(()));
                    }
                }
                Err(error) => {
                    self.rollback(&events);
                    appended = false;
                    match error {
                        AppendError::Conflict if !last => {
                            again.extend(accepted);
                            again.extend(refused.drain(..).map(|(job, _)| job));
                        }
                        other => {
                            let failure = self.failure(other, last);
                            for job in accepted {
                                job.finish(Err(failure.clone_error()));
                            }
                        }
                    }
                }
            }
        }
        self.settle_refused(refused, appended, last, again, later)
    }

    /// Decides one operation against the projection, staging its events.
    fn attempt(
        &mut self,
        job: &mut Exec,
        next_seq: &mut u64,
        staged: &mut Vec<(Arc<WorkspaceEvent>, LoggedEvent)>,
        staged_ids: &mut std::collections::HashMap<EventId, u64>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), CoreError> {
        let mut stager = Stager {
            projection: &mut self.projection,
            next_seq,
            staged,
            staged_ids,
            writer: &mut self.log,
            prices: &self.prices,
            start_watch: self.start_watch.as_deref(),
            // Retention invalidates it before it purges.
            snapshots: self.snapshots.as_ref(),
            max_event_bytes: self.max_event_bytes,
            now,
        };
        job.attempt(&mut stager)
    }

    /// Answers the refused operations of a round, or decides them again when the
    /// stream had something newer than what they were decided on (a session created on
    /// another instance a moment ago, …).
    fn settle_refused(
        &mut self,
        refused: Vec<(Exec, CoreError)>,
        appended: bool,
        last: bool,
        mut again: Vec<Exec>,
        later: Vec<Exec>,
    ) -> (Vec<Exec>, Vec<Exec>) {
        if !refused.is_empty() {
            let moved =
                appended && !last && self.log.nats.head().is_ok_and(|head| head > self.applied);
            for (job, error) in refused {
                if moved {
                    again.push(job);
                } else {
                    job.finish(Err(error));
                }
            }
        }
        (again, later)
    }

    fn append(
        &mut self,
        events: &[Arc<WorkspaceEvent>],
        logged: &[LoggedEvent],
    ) -> Result<(), AppendError> {
        if logged.len() <= MAX_ATOMIC_BATCH {
            return self.log.nats.append(logged, self.applied);
        }
        if !events
            .iter()
            .all(|e| matches!(e.kind, EventKind::SessionPruned {}))
        {
            return Err(AppendError::TooLarge(format!(
                "one request may produce at most {MAX_ATOMIC_BATCH} events on the NATS store (JetStream's atomic batch limit), this one produced {}; send smaller batches",
                logged.len()
            )));
        }
        // Retention's `session:pruned` events are independent of each other: stored in
        // chunks, each chunk whole.
        let mut after = self.applied;
        for chunk in logged.chunks(MAX_ATOMIC_BATCH) {
            self.log.nats.append(chunk, after)?;
            after += chunk.len() as u64;
        }
        Ok(())
    }

    fn failure(&self, error: AppendError, last: bool) -> Failure {
        match error {
            AppendError::Conflict => {
                debug_assert!(last);
                Failure::Unreachable(format!(
                    "the NATS stream is busy: this write lost the race to other instances {} times in a row",
                    self.retries
                ))
            }
            AppendError::Unreachable(message) => Failure::Unreachable(message),
            AppendError::TooLarge(message) => Failure::TooLarge(message),
            AppendError::Refused(message) => Failure::Refused(message),
        }
    }

    /// Restores the sessions the refused commit touched from the read model, which
    /// holds exactly the stream up to `applied`.
    fn rollback(&mut self, events: &[Arc<WorkspaceEvent>]) {
        let touched: HashSet<&SessionId> = events.iter().map(|e| &e.session_id).collect();
        for id in touched {
            match self.read.with_session(id, Clone::clone) {
                Some(record) => {
                    self.projection.sessions.insert(id.clone(), record);
                }
                None => {
                    self.projection.sessions.remove(id);
                }
            }
        }
    }

    /// This instance's own events, acknowledged by JetStream (already in the
    /// projection: the stager folded them).
    fn apply_own(&mut self, events: Vec<Arc<WorkspaceEvent>>, logged: Vec<LoggedEvent>) {
        self.tail_continues = false;
        self.persist(&events, &logged);
        self.read.apply(&events);
        self.hub.publish(&logged);
        if let Some(local) = &self.local {
            local.publish(&logged);
        }
        if let Some(last) = logged.last() {
            self.applied = last.seq;
            self.last_event_id = Some(last.event_id.clone());
        }
        self.snapshot_if_due();
    }

    /// Hands the projection to the snapshot writer when enough events were applied
    /// since the last one; the projection then covers exactly `applied`.
    fn snapshot_if_due(&mut self) {
        if let (Some(snapshots), Some(id)) = (self.snapshots.as_mut(), &self.last_event_id) {
            if snapshots.due(self.applied) {
                snapshots.hand_off(&self.projection, self.applied, id);
            }
        }
    }

    /// Messages from the stream: every instance's events, in stream order.
    fn apply_followed(&mut self, batch: Vec<Followed>) {
        let mut events = Vec::with_capacity(batch.len());
        let mut logged = Vec::with_capacity(batch.len());
        let mut newest = self.applied;
        for item in batch {
            if item.seq <= self.applied {
                // This instance's own, applied when JetStream acknowledged it.
                continue;
            }
            newest = newest.max(item.seq);
            self.tail_continues = item.continues;
            let Some((event, json)) = decode(&item) else {
                continue;
            };
            self.projection.apply(&event);
            logged.push(LoggedEvent {
                seq: event.seq,
                event_id: event.event_id.clone(),
                session_id: event.session_id.clone(),
                global: event.kind.is_global(),
                json,
            });
            events.push(Arc::new(event));
        }
        if !events.is_empty() {
            self.foreign_at = Some(Instant::now());
            self.persist(&events, &logged);
            if !self.starting {
                self.read.apply(&events);
            }
            self.hub.publish(&logged);
            if let Some(local) = &self.local {
                // The watcher watches the sessions started through this instance, and
                // must hear when one of them ends elsewhere.
                let ends: Vec<LoggedEvent> = events
                    .iter()
                    .zip(&logged)
                    .filter(|(e, _)| {
                        matches!(
                            e.kind,
                            EventKind::SessionEnded { .. } | EventKind::SessionPruned {}
                        )
                    })
                    .map(|(_, l)| l.clone())
                    .collect();
                if !ends.is_empty() {
                    local.publish(&ends);
                }
            }
        }
        if let Some(last) = logged.last() {
            self.last_event_id = Some(last.event_id.clone());
        }
        self.applied = newest;
        self.snapshot_if_due();
    }

    /// Writes events to the local copy. A `session:pruned` first removes the session's
    /// earlier events, as the purge did in the stream. Retries until the disk takes
    /// them: the copy must stay gap-free for replays.
    fn persist(&mut self, events: &[Arc<WorkspaceEvent>], logged: &[LoggedEvent]) {
        let pruned: Vec<(&SessionId, u64)> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::SessionPruned {}))
            .map(|e| (&e.session_id, e.seq))
            .collect();
        if !pruned.is_empty() {
            // A snapshot taken before the purge would hold the pruned sessions.
            if let Some(snapshots) = &self.snapshots {
                snapshots.invalidate();
            }
        }
        let mut wait = Duration::from_millis(100);
        loop {
            let result = if pruned.is_empty() {
                self.log.mirror.append(logged)
            } else {
                let sessions: Vec<SessionId> = pruned.iter().map(|(s, _)| (*s).clone()).collect();
                let keep: Vec<LoggedEvent> = logged
                    .iter()
                    .filter(|e| {
                        !pruned
                            .iter()
                            .any(|(s, seq)| *s == &e.session_id && e.seq < *seq)
                    })
                    .cloned()
                    .collect();
                self.log
                    .mirror
                    .delete_sessions(&sessions)
                    .and_then(|_| self.log.mirror.append(&keep))
            };
            match result {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, "cannot write the local copy of the stream; retrying");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Decodes a stream message. Its seq is the stream sequence whatever the JSON says (a
/// message published by something else than Chainwatch is re-encoded with it).
fn decode(item: &Followed) -> Option<(WorkspaceEvent, Arc<str>)> {
    let mut event: WorkspaceEvent = match serde_json::from_slice(&item.payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(seq = item.seq, %error, "a stream message is not a Chainwatch event; skipped");
            return None;
        }
    };
    if event.seq == item.seq {
        let json = std::str::from_utf8(&item.payload).ok()?;
        return Some((event, Arc::from(json)));
    }
    event.seq = item.seq;
    let json = serde_json::to_string(&event).ok()?;
    Some((event, Arc::from(json)))
}

/// Why a commit failed for good, cloned to every caller of it.
enum Failure {
    Unreachable(String),
    TooLarge(String),
    Refused(String),
}

impl Failure {
    fn clone_error(&self) -> CoreError {
        match self {
            Self::Unreachable(message) => {
                CoreError::Store(StoreError::Unreachable(message.clone()))
            }
            Self::TooLarge(message) => CoreError::Invalid(message.clone()),
            Self::Refused(message) => CoreError::Store(StoreError::Unusable {
                path: "NATS stream".into(),
                reason: message.clone(),
            }),
        }
    }
}
