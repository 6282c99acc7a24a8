//! Search across every session (`GET /api/search`): a full-text index fed by the
//! commit step's publisher, in its own thread, so committing never waits for indexing.
//!
//! The indexer takes published batches from a bounded queue; when the queue is full a
//! batch is dropped and the indexer notices the gap by seq and reads the missing events
//! from the log (`LogReader`), exactly as it catches up at start when the index file is
//! missing or behind. So the index never assumes which store holds the log, and search
//! is at most a moment behind the log. `session:pruned` removes a session's documents.
//!
//! Published events arrive as the commit step staged them (shared, not copied), so the
//! indexer does not parse their JSON again; only events read from the log, and those of
//! a path that publishes JSON alone, are decoded here, on the indexer's thread. Every
//! batch waiting is indexed in one transaction.

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

/// Published batches (and events) taken into one indexing transaction at most.
const MAX_GATHERED_EVENTS: usize = CATCH_UP_PAGE;

/// A committed event on its way to the indexer.
#[derive(Clone)]
enum Fed {
    /// As the commit step staged it.
    Decoded(Arc<WorkspaceEvent>),
    /// Only its JSON (a path that publishes JSON alone); decoded by the indexer.
    Logged(LoggedEvent),
}

impl Fed {
    fn seq(&self) -> u64 {
        match self {
            Self::Decoded(event) => event.seq,
            Self::Logged(logged) => logged.seq,
        }
    }
}

/// The publisher half: hands committed batches to the indexer thread without blocking.
pub struct IndexFeed {
    queue: SyncSender<Vec<Fed>>,
}

impl IndexFeed {
    fn send(&self, batch: Vec<Fed>) {
        match self.queue.try_send(batch) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            // The indexer will find the gap and read it from the log.
            Err(TrySendError::Full(_)) => {
                tracing::debug!("search index queue full; will catch up from the log")
            }
        }
    }
}

impl Publisher for IndexFeed {
    fn publish(&self, events: &[LoggedEvent]) {
        self.send(events.iter().cloned().map(Fed::Logged).collect());
    }

    fn publish_decoded(&self, events: &[LoggedEvent], decoded: &[Arc<WorkspaceEvent>]) {
        if decoded.len() != events.len() {
            return self.publish(events);
        }
        self.send(decoded.iter().cloned().map(Fed::Decoded).collect());
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
        .spawn(move || Indexer { writer, reader }.run(inbox))
        .map_err(SearchError::Thread)?;
    Ok(Started {
        index: Arc::new(index),
        feed: Arc::new(IndexFeed { queue }),
        thread,
    })
}

struct Indexer {
    writer: Writer,
    reader: Arc<dyn LogReader>,
}

impl Indexer {
    fn run(mut self, inbox: Receiver<Vec<Fed>>) {
        let mut indexed = match self.start() {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(%error, "search index unusable; search answers from what it has");
                return;
            }
        };
        let mut batches = Vec::new();
        loop {
            let first = match inbox.recv_timeout(IDLE_CHECK) {
                Ok(batch) => Some(batch),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let result = match first {
                Some(first) => {
                    // Every batch waiting goes into one transaction.
                    let mut gathered = first.len();
                    batches.push(first);
                    while gathered < MAX_GATHERED_EVENTS {
                        let Ok(next) = inbox.try_recv() else { break };
                        gathered += next.len();
                        batches.push(next);
                    }
                    let result = self.take(&batches, &mut indexed);
                    batches.clear();
                    result
                }
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
            let page: Vec<Fed> = page.into_iter().map(Fed::Logged).collect();
            self.index(&page, last)?;
            *indexed = last;
        }
        Ok(())
    }

    /// Indexes published batches (in seq order) in one transaction, reading any gap
    /// before one of them from the log first.
    fn take(&mut self, batches: &[Vec<Fed>], indexed: &mut u64) -> Result<(), SearchError> {
        let mut fresh: Vec<Fed> = Vec::new();
        let mut upto = *indexed;
        for batch in batches {
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                continue;
            };
            if last.seq() <= upto {
                continue;
            }
            if first.seq() > upto + 1 {
                // A dropped batch: index what is gathered, then read the gap.
                if upto > *indexed {
                    self.index(&fresh, upto)?;
                    *indexed = upto;
                }
                fresh.clear();
                self.catch_up(indexed, first.seq() - 1)?;
                upto = *indexed;
            }
            fresh.extend(batch.iter().filter(|e| e.seq() > upto).cloned());
            upto = last.seq();
        }
        if upto > *indexed {
            self.index(&fresh, upto)?;
            *indexed = upto;
        }
        Ok(())
    }

    fn index(&mut self, events: &[Fed], upto: u64) -> Result<(), SearchError> {
        let mut docs = Vec::with_capacity(events.len());
        for fed in events {
            let decoded;
            let event: &WorkspaceEvent = match fed {
                Fed::Decoded(event) => event,
                Fed::Logged(logged) => match serde_json::from_str::<WorkspaceEvent>(&logged.json) {
                    Ok(event) => {
                        decoded = event;
                        &decoded
                    }
                    Err(_) => {
                        tracing::warn!(seq = logged.seq, "event does not decode; not indexed");
                        continue;
                    }
                },
            };
            if let EventKind::SessionPruned {} = event.kind {
                // Index what came before it first, then drop the session.
                self.writer.add(&docs, event.seq.saturating_sub(1))?;
                docs.clear();
                self.writer.remove_session(event.session_id.as_str())?;
                continue;
            }
            if let Some(text) = extract::text(&event.kind) {
                docs.push(Document {
                    seq: event.seq,
                    session_id: event.session_id.0.clone(),
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
