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
//! batch waiting is indexed in one transaction. Batches with nothing to index (a tool
//! call's end, usage, chain steps) write nothing: the seq they bring is recorded with
//! the next documents, when the indexer is idle or stops, or after
//! `RECORD_EVERY` events, so a crash re-reads at most that many from the log.

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
/// Most events indexed without recording their seq in the file (events with nothing
/// to index); a restart after a crash re-reads them from the log.
const RECORD_EVERY: u64 = CATCH_UP_PAGE as u64;

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
        .spawn(move || {
            yield_to_the_live_path();
            Indexer {
                writer,
                reader,
                recorded: 0,
            }
            .run(inbox)
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
    /// The seq the file records as indexed (it may be behind the seq indexed).
    recorded: u64,
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
                Err(RecvTimeoutError::Disconnected) => {
                    if let Err(error) = self.record(indexed) {
                        tracing::warn!(%error, seq = indexed, "search index: the indexed seq is not recorded; the next start reads it again");
                    }
                    return;
                }
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
                    .record(indexed)
                    .and_then(|()| self.latest())
                    .and_then(|latest| self.catch_up(&mut indexed, latest)),
            };
            if let Err(error) = result {
                tracing::warn!(%error, seq = indexed, "search indexing failed; will retry from the log");
                // Re-read what failed from the log next time.
                indexed = self.writer.indexed_seq().unwrap_or(indexed);
                self.recorded = indexed;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// Writes the seq indexed into the file, if it is behind.
    fn record(&mut self, indexed: u64) -> Result<(), SearchError> {
        if indexed > self.recorded {
            self.writer.add(&[], indexed)?;
            self.recorded = indexed;
        }
        Ok(())
    }

    fn latest(&self) -> Result<u64, SearchError> {
        Ok(self.reader.latest_seq()?)
    }

    /// Checks the file against the log and catches up; returns the seq indexed.
    fn start(&mut self) -> Result<u64, SearchError> {
        let mut indexed = self.writer.indexed_seq()?;
        self.recorded = indexed;
        let latest = self.latest()?;
        if indexed > latest {
            tracing::info!(
                indexed,
                latest,
                "search index is ahead of the log; rebuilding it"
            );
            self.writer.clear()?;
            indexed = 0;
            self.recorded = 0;
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
                *indexed = upto;
                self.record(upto)?;
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
                let before = event.seq.saturating_sub(1);
                self.writer.add(&docs, before)?;
                self.recorded = self.recorded.max(before);
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
        if docs.is_empty() && upto < self.recorded + RECORD_EVERY {
            // Nothing to write but the seq: recorded later (see the module's note).
            return Ok(());
        }
        self.writer.add(&docs, upto)?;
        self.recorded = self.recorded.max(upto);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::LogWriter;
    use chainwatch_shared::{EventId, SessionId, ToolStatus};

    fn event(seq: u64, kind: EventKind) -> (Arc<WorkspaceEvent>, LoggedEvent) {
        let event = WorkspaceEvent {
            seq,
            event_id: EventId(format!("e{seq}")),
            session_id: SessionId("s".into()),
            timestamp: chrono::Utc::now(),
            kind,
        };
        let logged = LoggedEvent {
            seq,
            event_id: event.event_id.clone(),
            session_id: event.session_id.clone(),
            global: event.kind.is_global(),
            json: Arc::from(serde_json::to_string(&event).unwrap()),
        };
        (Arc::new(event), logged)
    }

    /// Events 1..=6: prompts at 2 and 5, the ends of tool calls (nothing to index)
    /// otherwise.
    fn events() -> Vec<(Arc<WorkspaceEvent>, LoggedEvent)> {
        (1..=6)
            .map(|seq| {
                let kind = if seq == 2 || seq == 5 {
                    EventKind::PromptSubmitted {
                        prompt: format!("needle{seq} haystack"),
                    }
                } else {
                    EventKind::ToolUsed {
                        tool_name: "Bash".into(),
                        tool_use_id: Some(format!("t{seq}")),
                        status: ToolStatus::Succeeded,
                        input: None,
                        response: None,
                        error: None,
                        step_id: None,
                        duration_ms: None,
                    }
                };
                event(seq, kind)
            })
            .collect()
    }

    fn hits(index: &SearchIndex, word: &str) -> Vec<u64> {
        let query = Query {
            text: word,
            session: None,
            since: 0,
            limit: 10,
            max_scanned: 100,
        };
        let found = index.search(&query, &|_| true).unwrap();
        found.iter().map(|hit| hit.seq).collect()
    }

    #[test]
    fn published_events_a_dropped_batch_and_the_seq_without_documents_are_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, reader) = crate::store::open_sqlite(&dir.path().join("log.db")).unwrap();
        let path = dir.path().join("search.db");
        let started = start(&path, Arc::new(reader)).unwrap();
        let all = events();
        let logged: Vec<LoggedEvent> = all.iter().map(|(_, l)| l.clone()).collect();
        log.append(&logged).unwrap();
        let decoded: Vec<Arc<WorkspaceEvent>> = all.iter().map(|(e, _)| e.clone()).collect();
        // Seq 1 published decoded, 2..=3 dropped (only in the log), 4..=5 decoded.
        started.feed.publish_decoded(&logged[..1], &decoded[..1]);
        started.feed.publish_decoded(&logged[3..5], &decoded[3..5]);
        let mut waited = 0;
        while hits(&started.index, "needle2").is_empty()
            || hits(&started.index, "needle5").is_empty()
        {
            assert!(waited < 400, "the indexer never indexed seq 2 and 5");
            std::thread::sleep(Duration::from_millis(25));
            waited += 1;
        }
        assert_eq!(hits(&started.index, "needle2"), [2], "read from the log");
        assert_eq!(hits(&started.index, "needle5"), [5], "taken decoded");
        assert_eq!(hits(&started.index, "haystack"), [5, 2]);
        // Seq 6 brings no document, so its seq is not written at once; when the feed
        // ends, the indexer records it.
        started.feed.publish_decoded(&logged[5..], &decoded[5..]);
        let Started {
            index,
            feed,
            thread,
        } = started;
        drop(feed);
        thread.join().unwrap();
        drop(index);
        let (_, writer) = SearchIndex::open(&path).unwrap();
        assert_eq!(writer.indexed_seq().unwrap(), 6);
    }
}
