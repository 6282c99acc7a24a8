//! Following the stream: an ordered consumer (single-replica, no acks, recreated by the
//! client on any gap) from the message after the instance's last applied seq, handing
//! each message to the commit thread in stream order. When the consumer fails for good
//! (the server restarted, the consumer was deleted), a new one starts after the last
//! message handed on, so nothing is skipped and nothing is handed on twice.
//!
//! Messages are decoded here, on the client's runtime, not on the commit thread: a
//! new instance copying a long stream then parses JSON on one core while the commit
//! thread folds and writes on the other. Messages up to the seq the commit thread
//! says it has (applied, or is appending itself) are handed on undecoded: they are
//! the instance's own, and decoding them would only slow the client's I/O. The commit
//! thread decodes whatever it needs that came undecoded ([`decode`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::stream::Stream;
use chainwatch_shared::WorkspaceEvent;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// One message of the stream, as the follower hands it on.
#[derive(Debug)]
pub struct Followed {
    /// Its stream sequence: the event's seq.
    pub seq: u64,
    /// The event's JSON.
    pub payload: bytes::Bytes,
    /// The event decoded, unless the commit thread said it has it (or the message is
    /// not a Chainwatch event). Boxed: the queue holds up to tens of thousands.
    pub event: Option<Box<(WorkspaceEvent, Arc<str>)>>,
}

/// How long to wait before recreating a consumer that failed.
const RETRY: Duration = Duration::from_millis(250);

pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    stream: Stream,
    after: u64,
    capacity: usize,
    applied: Arc<AtomicU64>,
) -> mpsc::Receiver<Followed> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    runtime.spawn(run(stream, after, tx, applied));
    rx
}

async fn run(stream: Stream, mut after: u64, tx: mpsc::Sender<Followed>, applied: Arc<AtomicU64>) {
    loop {
        let config = OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..Default::default()
        };
        let messages = match stream.create_consumer(config).await {
            Ok(consumer) => consumer.messages().await,
            Err(error) => {
                tracing::debug!(%error, after, "cannot create the stream consumer yet; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                tracing::debug!(%error, after, "cannot consume the stream yet; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(next) = messages.next().await {
            let message = match next {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, after, "stream consumer failed; starting a new one");
                    break;
                }
            };
            let seq = match message.info() {
                Ok(info) => info.stream_sequence,
                Err(error) => {
                    tracing::warn!(%error, "a stream message without its metadata; starting a new consumer");
                    break;
                }
            };
            if seq <= after {
                continue;
            }
            after = seq;
            let event = if seq <= applied.load(Ordering::Acquire) {
                None
            } else {
                decode(seq, &message.payload).map(Box::new)
            };
            let followed = Followed {
                seq,
                payload: message.payload.clone(),
                event,
            };
            if tx.send(followed).await.is_err() {
                // The commit thread is gone: the server is stopping.
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Decodes a stream message. Its seq is the stream sequence whatever the JSON says (a
/// message published by something else than Chainwatch is re-encoded with it).
pub fn decode(seq: u64, payload: &[u8]) -> Option<(WorkspaceEvent, Arc<str>)> {
    let mut event: WorkspaceEvent = match serde_json::from_slice(payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(seq, %error, "a stream message is not a Chainwatch event; skipped");
            return None;
        }
    };
    if event.seq == seq {
        let json = std::str::from_utf8(payload).ok()?;
        return Some((event, Arc::from(json)));
    }
    event.seq = seq;
    let json = serde_json::to_string(&event).ok()?;
    Some((event, Arc::from(json)))
}
