//! Following the stream: an ordered consumer (single-replica, no acks, recreated by the
//! client on any gap) from the message after the instance's last applied seq, handing
//! each message to the commit thread in stream order. When the consumer fails for good
//! (the server restarted, the consumer was deleted), a new one starts after the last
//! message handed on, so nothing is skipped and nothing is handed on twice. A consumer
//! that stalls silently (it lived on a cluster node that died, and the client saw no
//! error) is found by comparing what it delivered with the stream's head, and replaced.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// One message of the stream, as the follower hands it on.
#[derive(Debug)]
pub struct Followed {
    /// Its stream sequence: the event's seq.
    pub seq: u64,
    /// The event's JSON.
    pub payload: bytes::Bytes,
    /// Whether its operation goes on in the next message (the `Chainwatch-Continues`
    /// header).
    pub continues: bool,
}

/// The header a chain's message carries when the next message belongs to the same
/// operation (a batch of events stored whole): no instance appends after it until the
/// operation's last message arrived (see `NatsLog::chain`).
pub const CONTINUES: &str = "Chainwatch-Continues";

/// How long to wait before recreating a consumer that failed.
const RETRY: Duration = Duration::from_millis(250);

/// A consumer that delivered nothing for this long is checked against the stream's
/// head (one stream-info request), and replaced when the stream holds more.
const STALL_CHECK: Duration = Duration::from_secs(2);

/// Whether the stream holds messages after `after` (false when it cannot be asked: a
/// NATS that cannot be reached is not a stalled consumer).
async fn behind(stream: &Stream, after: u64) -> bool {
    match stream.get_info().await {
        Ok(info) => info.state.last_sequence > after,
        Err(_) => false,
    }
}

pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    stream: Stream,
    after: u64,
    capacity: usize,
) -> mpsc::Receiver<Followed> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    runtime.spawn(run(stream, after, tx));
    rx
}

async fn run(stream: Stream, mut after: u64, tx: mpsc::Sender<Followed>) {
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
        loop {
            let next = match tokio::time::timeout(STALL_CHECK, messages.next()).await {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(_) if behind(&stream, after).await => {
                    // The consumer lived on a node that is gone (a cluster lost it) and
                    // the client has not noticed: the stream holds more than it delivered.
                    tracing::warn!(
                        after,
                        "the stream consumer stalled behind the stream's head; starting a new one"
                    );
                    break;
                }
                Err(_) => continue,
            };
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
            let continues = message
                .headers
                .as_ref()
                .is_some_and(|headers| headers.get(CONTINUES).is_some());
            let followed = Followed {
                seq,
                payload: message.payload.clone(),
                continues,
            };
            if tx.send(followed).await.is_err() {
                // The commit thread is gone: the server is stopping.
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
