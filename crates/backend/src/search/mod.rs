//! Search across every session (`GET /api/search`): a full-text index fed by the
//! commit step's publisher, in its own thread, so committing never waits for indexing.
//!
//! The indexer takes published batches from a bounded queue; when the queue is full a
//! batch is dropped and the indexer notices the gap by seq and reads the missing events
//! from the log (`LogReader`), exactly as it catches up at start when the index file is
//! missing or behind. So the index never assumes which store holds the log, and search
//! is at most a moment behind the log. `session:pruned` removes a session's documents.

pub mod extract;
pub mod index;
pub mod vocab;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use chainwatch_shared::{EventKind, WorkspaceEvent};

use crate::core::Publisher;
use crate::store::{LogReader, LoggedEvent, Scope};
use index::{Document, Writer};
pub use index::{Query, SearchError, SearchIndex};

/// Published batches queued for the indexer before batches are dropped (and read back
/// from the log instead).
const QUEUE_BATCHES: usize = 4096;
/// Events read from the log per catch-up page.
const CATCH_UP_PAGE: usize = 5000;
/// How often an idle indexer checks the log for events it did not hear of.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// The publisher half: hands committed batches to the indexer thread without blocking.
pub struct IndexFeed {
    queue: SyncSender<Vec<LoggedEvent>>,
}

impl Publisher for IndexFeed {
    fn publish(&self, events: &[LoggedEvent]) {
        match self.queue.try_send(events.to_vec()) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            // The indexer will find the gap and read it from the log.
            Err(TrySendError::Full(_)) => {
                tracing::debug!("search index queue full; will catch up from the log")
            }
        }
    }
}

/// A started index: queries go to `index`, the core's fanout publishes to `feed`, and
/// `thread` ends once the feed is dropped.
pub struct Started {
    /// The index, for queries.
    pub index: Arc<SearchIndex>,
    /// The publisher to add to the core's fanout.
    pub feed: Arc<IndexFeed>,
    /// The indexer thread.
    pub thread: JoinHandle<()>,
}

/// Opens the index and starts its thread.
pub fn start(path: &std::path::Path, reader: Arc<dyn LogReader>) -> Result<Started, SearchError> {
    let (index, writer) = SearchIndex::open(path)?;
    let (queue, inbox) = std::sync::mpsc::sync_channel(QUEUE_BATCHES);
    let thread = std::thread::Builder::new()
        .name("chainwatch-search".into())
        .spawn(move || {
            yield_to_the_live_path();
            Indexer { writer, reader }.run(inbox)
        })
        .map_err(SearchError::Thread)?;
    Ok(Started {
        index: Arc::new(index),
        feed: Arc::new(IndexFeed { queue }),
        thread,
    })
}

/// The indexer thread's nice value (Linux: per thread).
const INDEXER_NICE: i32 = 10;

/// Lowers this thread's CPU priority. The index is a secondary, eventually consistent
/// view that catches up from the log, while ingest, the commit and the sockets answer
/// people and agents now: on a busy machine the indexer should take the CPU they leave,
/// not half of it (a log of 1M events to index after a restart otherwise took a core
/// from the sockets for two minutes).
fn yield_to_the_live_path() {
    let thread = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(thread), INDEXER_NICE) {
        tracing::debug!(%error, "search indexer keeps its priority");
    }
}

struct Indexer {
    writer: Writer,
    reader: Arc<dyn LogReader>,
}

impl Indexer {
    fn run(mut self, inbox: Receiver<Vec<LoggedEvent>>) {
        let mut indexed = match self.start() {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(%error, "search index unusable; search answers from what it has");
                return;
            }
        };
        loop {
            let batch = match inbox.recv_timeout(IDLE_CHECK) {
                Ok(batch) => Some(batch),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let result = match batch {
                Some(batch) => self.take(&batch, &mut indexed),
                None => self
                    .latest()
                    .and_then(|latest| self.catch_up(&mut indexed, latest)),
            };
            if let Err(error) = result {
                tracing::warn!(%error, seq = indexed, "search indexing failed; will retry from the log");
                // Re-read what failed from the log next time.
                indexed = self.writer.indexed_seq().unwrap_or(indexed);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    fn latest(&self) -> Result<u64, SearchError> {
        Ok(self.reader.latest_seq()?)
    }

    /// Checks the file against the log and catches up; returns the seq indexed.
    fn start(&mut self) -> Result<u64, SearchError> {
        let mut indexed = self.writer.indexed_seq()?;
        let latest = self.latest()?;
        if indexed > latest {
            tracing::info!(
                indexed,
                latest,
                "search index is ahead of the log; rebuilding it"
            );
            self.writer.clear()?;
            indexed = 0;
        }
        if indexed < latest {
            let started = std::time::Instant::now();
            let from = indexed;
            self.catch_up(&mut indexed, latest)?;
            tracing::info!(
                from,
                to = indexed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "search index caught up from the log"
            );
        }
        Ok(indexed)
    }

    /// Reads events after `indexed` up to `upto` from the log and indexes them.
    fn catch_up(&mut self, indexed: &mut u64, upto: u64) -> Result<(), SearchError> {
        while *indexed < upto {
            let page = self
                .reader
                .read(Scope::All, *indexed, upto, CATCH_UP_PAGE)?;
            let Some(last) = page.last().map(|e| e.seq) else {
                // Nothing left up to `upto` (pruned events leave holes).
                self.writer.add(&[], upto)?;
                *indexed = upto;
                break;
            };
            self.index(&page, last)?;
            *indexed = last;
        }
        Ok(())
    }

    /// Indexes a published batch, reading any gap before it from the log first.
    fn take(&mut self, batch: &[LoggedEvent], indexed: &mut u64) -> Result<(), SearchError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        if last.seq <= *indexed {
            return Ok(());
        }
        if first.seq > *indexed + 1 {
            self.catch_up(indexed, first.seq - 1)?;
        }
        let fresh: Vec<LoggedEvent> = batch.iter().filter(|e| e.seq > *indexed).cloned().collect();
        self.index(&fresh, last.seq)?;
        *indexed = last.seq;
        Ok(())
    }

    fn index(&mut self, events: &[LoggedEvent], upto: u64) -> Result<(), SearchError> {
        let mut docs = Vec::with_capacity(events.len());
        for logged in events {
            let Ok(event) = serde_json::from_str::<WorkspaceEvent>(&logged.json) else {
                tracing::warn!(seq = logged.seq, "event does not decode; not indexed");
                continue;
            };
            if let EventKind::SessionPruned {} = event.kind {
                // Index what came before it first, then drop the session.
                self.writer.add(&docs, logged.seq.saturating_sub(1))?;
                docs.clear();
                self.writer.remove_session(event.session_id.as_str())?;
                continue;
            }
            if let Some(text) = extract::text(&event.kind) {
                docs.push(Document {
                    seq: event.seq,
                    session_id: event.session_id.0,
                    kind: event.kind.type_name(),
                    timestamp: event
                        .timestamp
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    text,
                });
            }
        }
        self.writer.add(&docs, upto)
    }
}
