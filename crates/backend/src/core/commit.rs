//! The one commit step. A single thread owns the log's writer and the authoritative
//! projection; requests reach it through a bounded channel. It takes every request
//! waiting (group commit), runs each operation against the projection, appends all
//! their events in one fsynced transaction, folds them into the read model, hands them
//! to the publisher in seq order, and only then answers the callers.
//!
//! If a transaction fails, nothing of it is acknowledged or published, and the
//! projection is reset from the read model, which holds exactly the durable state.
//!
//! When the log lets the fsync be split off its append ([`LogWriter::split_sync`], the
//! SQLite log), the commit thread only stages and writes: it hands each written batch
//! to a second thread, `chainwatch-sync`, which takes every batch waiting, makes them
//! durable with one sync, and only then folds them into the read model, publishes them
//! and answers their callers, in seq order. So the commit thread stages and writes the
//! next batch while the disk syncs the previous ones, and an fsync is shared by every
//! batch written meanwhile. A written batch waits in a queue of one for the sync
//! thread: the commit thread stays at most two batches ahead of the disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use chainwatch_shared::{EventId, WorkspaceEvent};
use tokio::sync::{mpsc, oneshot};

use super::CoreError;
use super::StartWatch;
use super::ops::{Mutation, Outcome, Stager};
use super::projection::Projection;
use super::read_model::ReadModel;
use super::snapshot::{self, SnapshotConfig, Snapshots};
use crate::store::{LogReader, LogSync, LogWriter, LoggedEvent, StoreError};

/// Receives committed events, in seq order, after they are durable.
pub trait Publisher: Send + Sync + 'static {
    /// Called on the commit thread once per commit; must not block.
    fn publish(&self, events: &[LoggedEvent]);

    /// The same commit with each event as the commit step staged it (`decoded[i]` is
    /// `events[i]`), for publishers that need its fields: they take them from here
    /// instead of parsing the JSON again. By default [`Publisher::publish`]; paths that
    /// only have the JSON call that.
    fn publish_decoded(&self, events: &[LoggedEvent], decoded: &[Arc<WorkspaceEvent>]) {
        let _ = decoded;
        self.publish(events);
    }
}

/// Hands every commit to several publishers in turn (the socket hub, the file watcher).
/// Each must keep to the [`Publisher`] rule: never block.
pub struct Fanout(pub Vec<Arc<dyn Publisher>>);

impl Publisher for Fanout {
    fn publish(&self, events: &[LoggedEvent]) {
        for publisher in &self.0 {
            publisher.publish(events);
        }
    }

    fn publish_decoded(&self, events: &[LoggedEvent], decoded: &[Arc<WorkspaceEvent>]) {
        for publisher in &self.0 {
            publisher.publish_decoded(events, decoded);
        }
    }
}

/// Tunables of the commit step.
#[derive(Clone)]
pub struct CommitConfig {
    /// Operations waiting for the commit thread before callers wait to enqueue.
    pub queue: usize,
    /// Most operations folded into one transaction.
    pub max_batch: usize,
    /// Prices that cost the model requests agents report (`message:assistant`).
    pub prices: Arc<super::pricing::PriceTable>,
    /// The start-up snapshot (none: start-up always folds the whole log).
    pub snapshot: Option<SnapshotConfig>,
    /// Decides a new session's watch state at its start (none: no watcher runs, and the
    /// fold's default "not watched" stands).
    pub start_watch: Option<Arc<dyn StartWatch>>,
    /// The largest encoded event (`--max-event-bytes`).
    pub max_event_bytes: usize,
}

impl std::fmt::Debug for CommitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitConfig")
            .field("queue", &self.queue)
            .field("max_batch", &self.max_batch)
            .field("snapshot", &self.snapshot)
            .field("start_watch", &self.start_watch.is_some())
            .field("max_event_bytes", &self.max_event_bytes)
            .finish()
    }
}

impl Default for CommitConfig {
    fn default() -> Self {
        Self {
            queue: 16_384,
            max_batch: 1024,
            prices: Arc::default(),
            snapshot: None,
            start_watch: None,
            max_event_bytes: super::rules::DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// One operation for the commit thread: runs it against the projection and, when it
/// staged events, returns how to answer the caller once the commit is durable (or has
/// failed). Built by [`job`] from a typed operation, so each caller's reply channel
/// carries exactly its operation's result type.
pub(super) type Job = Box<dyn FnOnce(&mut Stager<'_>) -> Option<Settle> + Send>;

/// Answers a caller whose operation succeeded: `Ok` once its commit is durable, the
/// commit's error otherwise.
pub(super) type Settle = Box<dyn FnOnce(Result<(), CoreError>) + Send>;

/// What reaches a commit thread (this one, or the NATS store's in `replicated`).
pub(super) enum Request {
    Execute(Job),
    /// An operation that may be decided more than once (the NATS store's commit thread
    /// decides again after losing a race to another instance).
    Retry(Box<dyn super::replicated::Retry>),
    Shutdown(oneshot::Sender<()>),
}

/// Wraps a typed operation and its reply channel into a [`Job`].
fn job<T, F>(operation: F, reply: oneshot::Sender<Result<T, CoreError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Send + 'static,
{
    Box::new(move |stager| match operation(stager) {
        Ok(value) => Some(Box::new(move |committed: Result<(), CoreError>| {
            let _ = reply.send(committed.map(|()| value));
        })),
        // A refused operation emitted nothing; answer it at once.
        Err(error) => {
            let _ = reply.send(Err(error));
            None
        }
    })
}

/// The handle routes use to change state. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    requests: mpsc::Sender<Request>,
    read: Arc<ReadModel>,
    /// Operations are sent as [`Request::Retry`] (the NATS store).
    retry: bool,
}

/// The state at start-up: from the snapshot and the log's tail when the snapshot
/// matches the log, else from the whole log. Returns the projection, the newest seq and
/// its event id, the seq of the snapshot used (0: none), and how it was built.
pub(super) fn restore(
    reader: &dyn LogReader,
    config: Option<&SnapshotConfig>,
) -> Result<(Projection, u64, Option<EventId>, u64, String), StoreError> {
    if let Some(config) = config {
        match snapshot::load(&config.path, reader) {
            Ok((mut projection, at, at_id)) => {
                let (latest, last_id) = snapshot::fold_tail(&mut projection, reader, at)?;
                let last_id = last_id.or(Some(at_id));
                let how = format!("snapshot at seq {at} and {} events after it", latest - at);
                return Ok((projection, latest, last_id, at, how));
            }
            Err(snapshot::Unusable::Missing) => {}
            Err(why) => {
                tracing::warn!(reason = %why, "snapshot ignored; folding the whole log");
            }
        }
    }
    let mut last_id = None;
    let mut projection = Projection::default();
    let mut latest = 0;
    reader.scan(&mut |logged| {
        let event: WorkspaceEvent =
            serde_json::from_str(&logged.json).map_err(|e| StoreError::Decode {
                seq: logged.seq,
                reason: e.to_string(),
            })?;
        projection.apply(&event);
        latest = logged.seq;
        last_id = Some(logged.event_id);
        Ok(())
    })?;
    Ok((projection, latest, last_id, 0, "the whole log".into()))
}

/// Rebuilds the projection by folding the whole log; returns it with the newest seq.
pub fn rebuild(reader: &dyn LogReader) -> Result<(Projection, u64), StoreError> {
    let mut projection = Projection::default();
    let mut latest = 0;
    reader.scan(&mut |logged| {
        let event: WorkspaceEvent =
            serde_json::from_str(&logged.json).map_err(|e| StoreError::Decode {
                seq: logged.seq,
                reason: e.to_string(),
            })?;
        projection.apply(&event);
        latest = logged.seq;
        Ok(())
    })?;
    Ok((projection, latest))
}

impl Core {
    /// Rebuilds state from the log and starts the commit thread.
    pub fn start(
        mut writer: Box<dyn LogWriter>,
        reader: &dyn LogReader,
        publisher: Arc<dyn Publisher>,
        config: CommitConfig,
    ) -> Result<(Self, JoinHandle<()>), CoreError> {
        let started = std::time::Instant::now();
        let (projection, latest, last_event_id, snapshot_seq, how) =
            restore(reader, config.snapshot.as_ref())?;
        tracing::info!(
            events = latest,
            sessions = projection.sessions.len(),
            from = %how,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "rebuilt state from the event log"
        );
        let read = Arc::new(ReadModel::new(projection.clone(), latest));
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let thread_read = read.clone();
        let sync = writer.split_sync()?;
        let thread = std::thread::Builder::new()
            .name("chainwatch-commit".into())
            .spawn(move || {
                let durable = match sync {
                    Some(sync) => match Durable::start(sync, thread_read.clone(), publisher.clone(), latest) {
                        Ok(durable) => Some(durable),
                        Err(error) => {
                            tracing::error!(%error, "sync thread not started; the commit thread stops");
                            return;
                        }
                    },
                    None => None,
                };
                let mut snapshots = config
                    .snapshot
                    .map(|snapshot| Snapshots::start(snapshot, snapshot_seq));
                // A start that folded many events writes a snapshot at once.
                if let (Some(snapshots), Some(id)) = (snapshots.as_mut(), &last_event_id) {
                    if snapshots.due(latest) {
                        snapshots.hand_off(&projection, latest, id);
                    }
                }
                let mut committer = Committer {
                    writer: &mut *writer,
                    projection,
                    next_seq: latest + 1,
                    last_event_id,
                    read: thread_read,
                    publisher,
                    max_batch: config.max_batch.max(1),
                    prices: config.prices,
                    snapshots,
                    start_watch: config.start_watch,
                    max_event_bytes: config.max_event_bytes.max(1024),
                    durable,
                };
                committer.run(rx);
                if let Some(durable) = committer.durable.take() {
                    durable.stop();
                }
                if let Some(snapshots) = committer.snapshots.take() {
                    snapshots.finish(
                        &committer.projection,
                        committer.next_seq - 1,
                        committer.last_event_id.as_ref(),
                    );
                }
            })
            .map_err(|e| {
                CoreError::Store(StoreError::Unusable {
                    path: "commit thread".into(),
                    reason: e.to_string(),
                })
            })?;
        Ok((
            Self {
                requests: tx,
                read,
                retry: false,
            },
            thread,
        ))
    }

    /// A handle on the NATS store's commit thread (`replicated`), which takes
    /// operations it may decide more than once.
    pub(super) fn replicated(requests: mpsc::Sender<Request>, read: Arc<ReadModel>) -> Self {
        Self {
            requests,
            read,
            retry: true,
        }
    }

    fn request<T, F>(&self, operation: F, reply: oneshot::Sender<Result<T, CoreError>>) -> Request
    where
        T: Send + 'static,
        F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Clone + Send + 'static,
    {
        if self.retry {
            Request::Retry(super::replicated::retry_job(operation, reply))
        } else {
            Request::Execute(job(operation, reply))
        }
    }

    /// Runs a typed operation on the commit thread; resolves once its events are durable
    /// and published. The typed methods of each `ops` module call this.
    pub(super) async fn run<T, F>(&self, operation: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Clone + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(self.request(operation, reply))
            .await
            .map_err(|_| CoreError::Unavailable)?;
        answer.await.map_err(|_| CoreError::Unavailable)?
    }

    /// [`Core::run`] for plain threads (the file watcher): blocks the calling thread
    /// until the operation is durable and published. Never call it from async code.
    pub(super) fn run_blocking<T, F>(&self, operation: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Stager<'_>) -> Result<T, CoreError> + Clone + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.requests
            .blocking_send(self.request(operation, reply))
            .map_err(|_| CoreError::Unavailable)?;
        answer.blocking_recv().map_err(|_| CoreError::Unavailable)?
    }

    /// Runs one operation given in untyped form; resolves once its events are durable
    /// and published. Routes use the typed methods instead.
    pub async fn execute(&self, mutation: Mutation) -> Result<Outcome, CoreError> {
        self.run(move |stager| stager.execute(mutation)).await
    }

    /// [`Core::execute`] for plain threads: blocks the calling thread until the
    /// operation is durable and published. Never call it from async code.
    pub fn execute_blocking(&self, mutation: Mutation) -> Result<Outcome, CoreError> {
        self.run_blocking(move |stager| stager.execute(mutation))
    }

    /// Durable state for queries.
    pub fn read(&self) -> &Arc<ReadModel> {
        &self.read
    }

    /// Finishes what is queued, then stops the commit thread.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.requests.send(Request::Shutdown(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

struct Committer<'w> {
    writer: &'w mut dyn LogWriter,
    projection: Projection,
    next_seq: u64,
    /// The event id at `next_seq - 1`, recorded in snapshots.
    last_event_id: Option<EventId>,
    read: Arc<ReadModel>,
    publisher: Arc<dyn Publisher>,
    max_batch: usize,
    prices: Arc<super::pricing::PriceTable>,
    snapshots: Option<Snapshots>,
    start_watch: Option<Arc<dyn StartWatch>>,
    max_event_bytes: usize,
    /// The sync thread, when the log's fsync is split off its append.
    durable: Option<Durable>,
}

/// A written batch on its way to the sync thread.
struct Written {
    events: Vec<Arc<WorkspaceEvent>>,
    logged: Vec<LoggedEvent>,
    answered: Vec<Settle>,
}

enum ToSync {
    Batch(Written),
    /// Answered once every batch handed over before it is settled.
    Barrier(std::sync::mpsc::Sender<()>),
}

/// The commit thread's end of the sync thread.
struct Durable {
    batches: std::sync::mpsc::SyncSender<ToSync>,
    thread: JoinHandle<()>,
    /// The newest seq made durable and published.
    synced: Arc<AtomicU64>,
    /// Set when a sync failed: the log's state on disk is unknown, so nothing more is
    /// acknowledged until a restart rebuilds from the log.
    failed: Arc<AtomicBool>,
}

impl Durable {
    fn start(
        mut sync: Box<dyn LogSync>,
        read: Arc<ReadModel>,
        publisher: Arc<dyn Publisher>,
        latest: u64,
    ) -> std::io::Result<Self> {
        // One batch may wait while the previous ones sync; the commit thread then waits
        // (and more operations gather into its next batch).
        let (batches, waiting) = std::sync::mpsc::sync_channel::<ToSync>(1);
        let synced = Arc::new(AtomicU64::new(latest));
        let failed = Arc::new(AtomicBool::new(false));
        let (thread_synced, thread_failed) = (synced.clone(), failed.clone());
        let thread = std::thread::Builder::new()
            .name("chainwatch-sync".into())
            .spawn(move || {
                let mut group = Vec::new();
                while let Ok(first) = waiting.recv() {
                    group.push(first);
                    while let Ok(next) = waiting.try_recv() {
                        group.push(next);
                    }
                    let has_events = group
                        .iter()
                        .any(|item| matches!(item, ToSync::Batch(w) if !w.logged.is_empty()));
                    let outcome = if thread_failed.load(Ordering::Acquire) {
                        Err("an earlier sync of the event log failed; restart the server".to_owned())
                    } else if has_events {
                        sync.sync().map_err(|error| {
                            tracing::error!(%error, "syncing the event log failed; nothing more is acknowledged until a restart");
                            thread_failed.store(true, Ordering::Release);
                            error.to_string()
                        })
                    } else {
                        Ok(())
                    };
                    for item in group.drain(..) {
                        match item {
                            ToSync::Batch(written) => match &outcome {
                                Ok(()) => {
                                    if !written.logged.is_empty() {
                                        read.apply(&written.events);
                                        publisher.publish_decoded(&written.logged, &written.events);
                                    }
                                    if let Some(last) = written.logged.last() {
                                        thread_synced.store(last.seq, Ordering::Release);
                                    }
                                    for settle in written.answered {
                                        settle(Ok(()));
                                    }
                                }
                                Err(reason) => {
                                    for settle in written.answered {
                                        settle(Err(CoreError::Store(StoreError::Unusable {
                                            path: "event log".into(),
                                            reason: reason.clone(),
                                        })));
                                    }
                                }
                            },
                            ToSync::Barrier(done) => {
                                let _ = done.send(());
                            }
                        }
                    }
                }
            })?;
        Ok(Self {
            batches,
            thread,
            synced,
            failed,
        })
    }

    /// Returns once every batch handed over so far is settled.
    fn barrier(&self) {
        let (done, settled) = std::sync::mpsc::channel();
        if self.batches.send(ToSync::Barrier(done)).is_ok() {
            let _ = settled.recv();
        }
    }

    /// Settles what is handed over, then ends the sync thread.
    fn stop(self) {
        drop(self.batches);
        let _ = self.thread.join();
    }
}

impl Committer<'_> {
    fn run(&mut self, mut requests: mpsc::Receiver<Request>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let Some(first) = requests.blocking_recv() else {
                return;
            };
            batch.push(first);
            while batch.len() < self.max_batch {
                match requests.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let mut shutdown = None;
            let mut executions = Vec::with_capacity(batch.len());
            for request in batch.drain(..) {
                match request {
                    Request::Execute(operation) => executions.push(operation),
                    Request::Retry(operation) => {
                        executions.push(super::replicated::once(operation))
                    }
                    Request::Shutdown(done) => shutdown = Some(done),
                }
            }
            self.commit(executions);
            if let Some(done) = shutdown {
                if let Some(durable) = &self.durable {
                    durable.barrier();
                }
                tracing::info!(
                    seq = self.next_seq - 1,
                    "commit thread stopped; log flushed"
                );
                let _ = done.send(());
                return;
            }
        }
    }

    fn commit(&mut self, executions: Vec<Job>) {
        let mut staged: Vec<(Arc<WorkspaceEvent>, crate::store::LoggedEvent)> = Vec::new();
        let mut staged_ids: HashMap<EventId, u64> = HashMap::new();
        let mut answered: Vec<Settle> = Vec::with_capacity(executions.len());
        let now = chrono::Utc::now();
        for operation in executions {
            let mut stager = Stager {
                projection: &mut self.projection,
                next_seq: &mut self.next_seq,
                staged: &mut staged,
                staged_ids: &mut staged_ids,
                writer: &mut *self.writer,
                now,
                prices: &self.prices,
                start_watch: self.start_watch.as_deref(),
                snapshots: self.snapshots.as_ref(),
                max_event_bytes: self.max_event_bytes,
            };
            if let Some(settle) = operation(&mut stager) {
                answered.push(settle);
            }
        }
        if let Some(durable) = &self.durable {
            if durable.failed.load(Ordering::Acquire) && !staged.is_empty() {
                self.projection = self.read.snapshot();
                self.next_seq = self.read.latest_seq() + 1;
                for settle in answered {
                    settle(Err(CoreError::Store(StoreError::Unusable {
                        path: "event log".into(),
                        reason: "an earlier sync of the event log failed; restart the server"
                            .into(),
                    })));
                }
                return;
            }
        }
        if staged.is_empty() {
            // Nothing written; an answer that relies on an earlier write (a duplicate
            // eventId) still waits until that write is durable.
            let behind = self.durable.as_ref().filter(|durable| {
                durable.synced.load(Ordering::Acquire) < self.next_seq.saturating_sub(1)
            });
            match behind {
                Some(durable) if !answered.is_empty() => {
                    let written = Written {
                        events: Vec::new(),
                        logged: Vec::new(),
                        answered,
                    };
                    let _ = durable.batches.send(ToSync::Batch(written));
                }
                _ => {
                    for settle in answered {
                        settle(Ok(()));
                    }
                }
            }
            return;
        }
        let (events, logged): (Vec<_>, Vec<_>) = staged.into_iter().unzip();
        match self.writer.append(&logged) {
            Ok(()) => {
                let last = logged.last().map(|last| (last.seq, last.event_id.clone()));
                match &self.durable {
                    Some(durable) => {
                        let written = Written {
                            events,
                            logged,
                            answered,
                        };
                        if durable.batches.send(ToSync::Batch(written)).is_err() {
                            tracing::error!(
                                "the sync thread is gone; nothing more is acknowledged"
                            );
                        }
                    }
                    None => {
                        self.read.apply(&events);
                        self.publisher.publish_decoded(&logged, &events);
                        for settle in answered {
                            settle(Ok(()));
                        }
                    }
                }
                if let Some((seq, event_id)) = last {
                    if let Some(snapshots) = self.snapshots.as_mut() {
                        if snapshots.due(seq) {
                            snapshots.hand_off(&self.projection, seq, &event_id);
                        }
                    }
                    self.last_event_id = Some(event_id);
                }
            }
            Err(error) => {
                tracing::error!(%error, events = logged.len(), "commit failed; nothing acknowledged");
                // The read model is the durable state once the batches written before
                // this one are settled.
                if let Some(durable) = &self.durable {
                    durable.barrier();
                }
                self.projection = self.read.snapshot();
                self.next_seq = self.read.latest_seq() + 1;
                let message = error.to_string();
                for settle in answered {
                    settle(Err(CoreError::Store(StoreError::Unusable {
                        path: "event log".into(),
                        reason: message.clone(),
                    })));
                }
            }
        }
    }
}
