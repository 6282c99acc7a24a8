//! The raw JetStream reference of the NATS section: what the stream itself takes on
//! this machine, without Chainwatch. One async-nats client publishes the messages a
//! Chainwatch instance would store for the bench's batches (the same `tool:used` JSON,
//! its `eventId` as `Nats-Msg-Id`, one subject per session) to a stream configured as
//! Chainwatch's (file storage, R1, 2-minute duplicate window, atomic publish and direct
//! get allowed), as fast as JetStream acknowledges them: 100 publishes sent back to
//! back, then their 100 acknowledgements awaited, and again.
//!
//! Two variants: `plain` carries only the message id (the most the stream can take
//! with Chainwatch's guarantee of no doubles); `chain` also carries what a Chainwatch
//! chain carries (`Nats-Expected-Last-Sequence`, and `Nats-Expected-Last-Msg-Id` after
//! the first of each hundred), so the gap between the two is the price of the checks.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage as Publish, stream};

/// Messages sent before their acknowledgements are awaited.
pub const WINDOW: usize = 100;

/// Which headers the raw publishes carry.
#[derive(Clone, Copy, Debug)]
pub enum Variant {
    /// The message id only.
    Plain,
    /// The message id, the expected last sequence and (after the first of a window)
    /// the expected last message id, as a Chainwatch chain sends them.
    Chain,
    /// `Chain`, while two ordered consumers follow the stream as two instances'
    /// followers do: one on the publishing connection (as an instance follows on the
    /// connection it appends on), one on a connection of its own.
    Followed,
    /// `Chain` with both followers on connections of their own.
    FollowedApart,
}

/// A client and a stream configured as Chainwatch configures its own.
pub struct RawStream {
    url: String,
    js: jetstream::Context,
    name: String,
    /// The stream's last sequence, as this client knows it.
    last: u64,
    /// Messages published so far (their ids stay unique across runs).
    count: u64,
}

impl RawStream {
    /// Connects to `url` and creates stream `name` (subjects `name.events.>`).
    pub async fn open(url: &str, name: &str) -> Result<Self, String> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| format!("raw stream: connect: {e}"))?;
        let js = jetstream::new(client);
        let config = stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("{name}.events.>")],
            storage: stream::StorageType::File,
            num_replicas: 1,
            allow_atomic_publish: true,
            allow_direct: true,
            duplicate_window: chainwatch::store::nats::DUPLICATE_WINDOW,
            ..Default::default()
        };
        let mut stream = js
            .get_or_create_stream(config)
            .await
            .map_err(|e| format!("raw stream: create: {e}"))?;
        let last = stream
            .info()
            .await
            .map_err(|e| format!("raw stream: info: {e}"))?
            .state
            .last_sequence;
        Ok(Self {
            url: url.to_owned(),
            js,
            name: name.to_owned(),
            last,
            count: 0,
        })
    }

    /// Publishes for `duration`, windows of [`WINDOW`] messages spread over `sessions`
    /// as the bench's clients spread theirs; returns the acknowledged messages per
    /// second.
    pub async fn run(
        &mut self,
        variant: Variant,
        duration: Duration,
        sessions: &[String],
        tag: &str,
    ) -> Result<f64, String> {
        let subjects: Vec<String> = sessions
            .iter()
            .map(|s| chainwatch::store::nats::subject(&self.name, s))
            .collect();
        let mut followers = Vec::new();
        if let Variant::Followed | Variant::FollowedApart = variant {
            for own in [matches!(variant, Variant::FollowedApart), true] {
                let js = if own {
                    let client = async_nats::connect(&self.url)
                        .await
                        .map_err(|e| format!("raw stream: connect: {e}"))?;
                    jetstream::new(client)
                } else {
                    self.js.clone()
                };
                followers.push(follow(js, &self.name, self.last).await?);
            }
        }
        let result = self
            .publish(variant, duration, &subjects, sessions, tag)
            .await;
        for follower in followers {
            follower.abort();
        }
        result
    }

    async fn publish(
        &mut self,
        variant: Variant,
        duration: Duration,
        subjects: &[String],
        sessions: &[String],
        tag: &str,
    ) -> Result<f64, String> {
        let started = Instant::now();
        let mut acked = 0u64;
        let mut window = 0usize;
        while started.elapsed() < duration {
            // One window is one client's batch: one session.
            let k = window % subjects.len().max(1);
            let session = &sessions[k];
            let mut acks = Vec::with_capacity(WINDOW);
            let mut previous: Option<String> = None;
            for i in 0..WINDOW {
                self.count += 1;
                let seq = self.last + 1 + i as u64;
                let event_id = crate::payload::hook_id(&format!("{tag}-{window}-{i}"));
                let row = crate::payload::tool_used_row(seq, session, event_id.clone());
                let mut message = Publish::build()
                    .payload(bytes::Bytes::copy_from_slice(row.json.as_bytes()))
                    .message_id(event_id.as_str());
                if !matches!(variant, Variant::Plain) {
                    message = message.expected_last_sequence(seq - 1);
                    if let Some(previous) = &previous {
                        message = message.expected_last_message_id(previous.as_str());
                    }
                    previous = Some(event_id);
                }
                let ack = self
                    .js
                    .send_publish(subjects[k].clone(), message)
                    .await
                    .map_err(|e| format!("raw stream: publish: {e}"))?;
                acks.push(ack);
            }
            for ack in acks {
                let ack = ack.await.map_err(|e| format!("raw stream: ack: {e}"))?;
                if ack.duplicate {
                    return Err(format!("raw stream: {} was a duplicate", ack.sequence));
                }
                self.last = self.last.max(ack.sequence);
                acked += 1;
            }
            window += 1;
        }
        Ok(acked as f64 / started.elapsed().as_secs_f64())
    }
}

/// An ordered consumer draining the stream from after `last`, as an instance's follower.
async fn follow(
    js: jetstream::Context,
    name: &str,
    last: u64,
) -> Result<tokio::task::JoinHandle<()>, String> {
    use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
    use futures_util::StreamExt;
    let stream = js
        .get_stream(name)
        .await
        .map_err(|e| format!("raw stream: follow: {e}"))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: last + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("raw stream: follow: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| format!("raw stream: follow: {e}"))?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(message)) = messages.next().await {
            std::hint::black_box(message.payload.len());
        }
    }))
}
