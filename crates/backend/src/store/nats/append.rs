//! Appending a commit to the stream. One event is one publish carrying its eventId as
//! `Nats-Msg-Id`; several are a chain of such publishes on an R1 stream (`NatsLog::chain`)
//! or one atomic batch (`Nats-Batch-*` headers, ADR-50) on a replicated one, stored
//! whole or not at all. Either way the first message carries
//! `Nats-Expected-Last-Sequence`: the stream must still end where this instance last
//! applied it, or the append is refused and nothing is stored.

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;

use super::{MAX_ATOMIC_BATCH, NatsLog, subject};
use chainwatch_shared::SessionId;

use crate::store::LoggedEvent;

/// Why an append did not land.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another instance appended first (or the message id was stored before): catch up
    /// and decide again.
    #[error("the stream moved on since this instance last applied it")]
    Conflict,
    /// NATS did not answer or cannot be reached; the append may or may not land.
    #[error("{0}")]
    Unreachable(String),
    /// The commit is too large for JetStream (an event over `max_payload`, more events
    /// than an atomic batch takes): the request must be smaller.
    #[error("{0}")]
    TooLarge(String),
    /// JetStream refused the append for another reason.
    #[error("{0}")]
    Refused(String),
}

impl NatsLog {
    /// Appends `events` (seqs `after + 1 ..`) if the stream still ends at `after`;
    /// returns once JetStream acknowledged them (stored, and replicated when R > 1).
    pub fn append(&self, events: &[LoggedEvent], after: u64) -> Result<(), AppendError> {
        if events.is_empty() {
            return Ok(());
        }
        if events.len() > MAX_ATOMIC_BATCH {
            return Err(AppendError::TooLarge(format!(
                "{} events in one commit, more than JetStream's atomic batch limit of {MAX_ATOMIC_BATCH}",
                events.len()
            )));
        }
        if !self.connected() {
            return Err(AppendError::Unreachable(self.unreachable()));
        }
        let stream = &self.config.stream;
        let expected = u64::try_from(events.len()).unwrap_or(u64::MAX);
        let ack = if let [event] = events {
            let message = PublishMessage::build()
                .payload(bytes::Bytes::copy_from_slice(event.json.as_bytes()))
                .message_id(event.event_id.as_str())
                .expected_last_sequence(after);
            let subject = subject(stream, event.session_id.as_str());
            self.block_on(async {
                self.js
                    .send_publish(subject, message)
                    .await
                    .map_err(classify)?
                    .await
                    .map_err(classify)
            })?
        } else {
            let batch = uuid::Uuid::new_v4().simple().to_string();
            self.block_on(async {
                let last = events.len() - 1;
                for (index, event) in events.iter().enumerate() {
                    let mut headers = HeaderMap::new();
                    headers.insert("Nats-Batch-Id", batch.as_str());
                    headers.insert("Nats-Batch-Sequence", (index + 1).to_string().as_str());
                    if index == 0 {
                        headers.insert("Nats-Expected-Last-Sequence", after.to_string().as_str());
                    }
                    let subject = subject(stream, event.session_id.as_str());
                    let payload = bytes::Bytes::copy_from_slice(event.json.as_bytes());
                    if index == 0 {
                        // The batch opens with a request (ADR-50): the server answers once
                        // it took the batch, so the rest can stream without replies. Sent
                        // without a reply, a first message that reaches no stream leader
                        // (an election in a cluster) is lost silently and the commit only
                        // learns it at its own timeout: in the 3-node test that cost whole
                        // acknowledgement timeouts per write.
                        self.client
                            .request_with_headers(subject, headers, payload)
                            .await
                            .map_err(|e| {
                                AppendError::Unreachable(format!("NATS request failed: {e}"))
                            })?;
                    } else if index < last {
                        // No reply asked: the commit's acknowledgement covers the batch,
                        // and a gap or an unknown batch fails the commit.
                        self.client
                            .publish_with_headers(subject, headers, payload)
                            .await
                            .map_err(|e| {
                                AppendError::Unreachable(format!("NATS publish failed: {e}"))
                            })?;
                    } else {
                        headers.insert("Nats-Batch-Commit", "1");
                        let message = PublishMessage::build().headers(headers).payload(payload);
                        return self
                            .js
                            .send_publish(subject, message)
                            .await
                            .map_err(classify)?
                            .await
                            .map_err(classify);
                    }
                }
                Err(AppendError::Refused("empty batch".into()))
            })?
        };
        if ack.duplicate {
            // The eventId was published before within the duplicate window, by an
            // instance this one has not caught up with: decide again after catching up.
            return Err(AppendError::Conflict);
        }
        if ack.sequence != after + expected {
            return Err(AppendError::Refused(format!(
                "JetStream stored the commit at {} but {} was expected; is something else publishing to {}.events.>?",
                ack.sequence,
                after + expected,
                self.config.stream
            )));
        }
        Ok(())
    }

    /// Starts a chain appending events (seqs `after + 1 ..`) as separate publishes sent back to back
    /// (no atomic batch: JetStream stages an R1 file stream's atomic batch in a file
    /// store of its own, a fixed cost per batch of several milliseconds that dominated
    /// commits, 3x slower than a chain in a side-by-side probe). Each carries its eventId
    /// as `Nats-Msg-Id`, expects the stream to end at the seq before it and, after the
    /// first, that the stream's last message is the event before it
    /// (`Nats-Expected-Last-Msg-Id`). So once one is refused, every later one is refused
    /// too: what lands is a prefix, in order. `continues[i]` marks an event whose
    /// operation goes on in the next one (the `Chainwatch-Continues` header): other instances
    /// append nothing after it until the operation's last event is stored, so an
    /// operation of several events is cut only when its writer stops for good in the
    /// middle (then its stored part stays, unacknowledged, and a retry with the same
    /// eventIds completes it). Only on an R1 stream (see [`NatsLog::chains`]).
    /// [`Chain::finish`] says how many landed and why the next did not.
    ///
    /// The chain is sent in segments ([`Chain::send`]): each segment
    /// continues the one before it (the seq and the message id its first message
    /// expects are the previous segment's last), so the commit thread can decide the
    /// next segment while the stream stores the last one, and a chain cut short still
    /// lands as a prefix.
    pub fn chain(&self, after: u64) -> Chain {
        Chain {
            runtime: self.handle().clone(),
            js: self.js.clone(),
            stream: self.config.stream.clone(),
            after,
            sent: 0,
            previous_id: None,
            acks: std::collections::VecDeque::new(),
            tally: Tally::default(),
            error: (!self.connected()).then(|| AppendError::Unreachable(self.unreachable())),
        }
    }

    /// Removes every message of the given sessions from the stream (retention); returns
    /// how many went.
    pub fn purge_sessions(&self, sessions: &[SessionId]) -> Result<u64, AppendError> {
        if !self.connected() {
            return Err(AppendError::Unreachable(self.unreachable()));
        }
        let mut purged = 0;
        for session in sessions {
            let filter = subject(&self.config.stream, session.as_str());
            let stream = self.stream.clone();
            let answer = self.block_on(async move { stream.purge().filter(filter).await });
            purged += answer
                .map_err(|e| AppendError::Unreachable(format!("NATS purge failed: {e}")))?
                .purged;
        }
        Ok(purged)
    }
}

/// The most publishes of a chain awaiting their acknowledgement. async-nats holds a
/// permit per acknowledgement not yet awaited (5,000 by default) and a publish past
/// them waits for one to be freed: a chain that awaited none before its end would wait
/// forever once it passed them, so the oldest are awaited as the window fills.
const ACK_WINDOW: usize = 4096;

/// A chain of publishes in flight (see [`NatsLog::chain`]).
pub struct Chain {
    runtime: tokio::runtime::Handle,
    js: async_nats::jetstream::Context,
    stream: String,
    /// The seq the stream ended at before the chain.
    after: u64,
    /// Messages sent so far.
    sent: u64,
    /// The eventId of the last message sent.
    previous_id: Option<String>,
    /// Acknowledgements not awaited yet, oldest first (at most [`ACK_WINDOW`]).
    acks: std::collections::VecDeque<async_nats::jetstream::context::PublishAckFuture>,
    /// What the acknowledgements awaited so far said.
    tally: Tally,
    /// Why sending stopped, if it did (nothing more is sent after it).
    error: Option<AppendError>,
}

/// The acknowledgements of a chain, in order: how many landed (a prefix) and why the
/// next did not.
#[derive(Default)]
struct Tally {
    /// Acknowledgements counted.
    counted: u64,
    landed: usize,
    refused: Option<AppendError>,
}

impl Tally {
    /// Counts the next acknowledgement of a chain that began after `after`.
    fn count(
        &mut self,
        answer: Result<async_nats::jetstream::publish::PublishAck, AppendError>,
        after: u64,
        stream: &str,
    ) {
        let expected = after + self.counted + 1;
        self.counted += 1;
        match answer {
            Ok(ack) if self.refused.is_none() && !ack.duplicate && ack.sequence == expected => {
                self.landed += 1;
            }
            Ok(ack) if self.refused.is_none() => {
                self.refused = Some(if ack.duplicate {
                    // Stored before by an instance this one has not caught up with.
                    AppendError::Conflict
                } else {
                    AppendError::Refused(format!(
                        "JetStream stored an event at {} but {expected} was expected; is something else publishing to {stream}.events.>?",
                        ack.sequence
                    ))
                });
            }
            Ok(ack) if !ack.duplicate => {
                // Cannot happen while the chain holds; the follower applies it as
                // the stream has it.
                tracing::error!(
                    seq = ack.sequence,
                    "an event landed after an earlier one of its chain was refused"
                );
            }
            Ok(_) => {}
            Err(error) => {
                if self.refused.is_none() {
                    self.refused = Some(error);
                }
            }
        }
    }
}

impl Chain {
    /// Sends `events` after those sent before, awaiting only the oldest
    /// acknowledgements once `ACK_WINDOW` are outstanding; `continues[i]` marks an
    /// event whose operation goes on in the next one. Stops at the first refusal seen:
    /// nothing after it could land.
    pub fn send<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e LoggedEvent>,
        continues: &[bool],
    ) {
        if self.error.is_some() || self.tally.refused.is_some() {
            return;
        }
        let (js, stream) = (&self.js, self.stream.as_str());
        let (after, mut sent, mut previous_id) = (self.after, self.sent, self.previous_id.take());
        let (acks, tally) = (&mut self.acks, &mut self.tally);
        let error = self.runtime.block_on(async {
            for (index, event) in events.into_iter().enumerate() {
                while acks.len() >= ACK_WINDOW {
                    if let Some(oldest) = acks.pop_front() {
                        tally.count(oldest.await.map_err(classify), after, stream);
                    }
                }
                if tally.refused.is_some() {
                    return None;
                }
                let mut message = PublishMessage::build()
                    .payload(bytes::Bytes::copy_from_slice(event.json.as_bytes()))
                    .message_id(event.event_id.as_str())
                    .expected_last_sequence(after + sent);
                if let Some(previous) = &previous_id {
                    message = message.expected_last_message_id(previous.as_str());
                }
                if continues.get(index).copied().unwrap_or(false) {
                    message = message.header(super::follow::CONTINUES, "1");
                }
                let subject = subject(stream, event.session_id.as_str());
                match js.send_publish(subject, message).await {
                    Ok(ack) => acks.push_back(ack),
                    Err(error) => return Some(classify(error)),
                }
                sent += 1;
                previous_id = Some(event.event_id.as_str().to_owned());
            }
            None
        });
        self.sent = sent;
        self.previous_id = previous_id;
        self.error = error;
    }

    /// How many messages were sent.
    pub fn sent(&self) -> usize {
        usize::try_from(self.sent).unwrap_or(usize::MAX)
    }

    /// Waits for every acknowledgement; returns how many landed (a prefix) and why the
    /// next did not.
    pub fn finish(self) -> (usize, Option<AppendError>) {
        let Chain {
            runtime,
            stream,
            after,
            acks,
            mut tally,
            error: send_error,
            ..
        } = self;
        runtime.block_on(async {
            for ack in acks {
                tally.count(ack.await.map_err(classify), after, &stream);
            }
        });
        (tally.landed, tally.refused.or(send_error))
    }
}

fn classify(error: async_nats::jetstream::context::PublishError) -> AppendError {
    match error.kind() {
        PublishErrorKind::WrongLastSequence | PublishErrorKind::WrongLastMessageId => {
            AppendError::Conflict
        }
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => AppendError::Unreachable(
            format!("NATS JetStream did not acknowledge the append: {error}"),
        ),
        PublishErrorKind::MaxPayloadExceeded => AppendError::TooLarge(format!(
            "an event is larger than the NATS server's max_payload: {error}"
        )),
        // No responder: the stream's leader is being elected (a node was lost), or the
        // stream was deleted. Either way nothing was stored.
        PublishErrorKind::StreamNotFound => AppendError::Unreachable(format!(
            "NATS JetStream has no leader for the stream right now (an election after a node loss, or the stream was deleted): {error}"
        )),
        _ => {
            // The batch's own failures (a wrong expected sequence inside a batch is
            // reported with the same code) and anything else JetStream says.
            let text = error.to_string();
            if text.contains("wrong last sequence") || text.contains("10071") {
                AppendError::Conflict
            } else if text.contains("batch is incomplete")
                || text.contains("10176")
                || text.contains("too many inflight")
                || text.contains("10210")
            {
                // Nothing of the batch was stored: its first messages went nowhere (no
                // stream leader while a node was lost, a new leader that never saw the
                // batch open) or the server had too many batches open. Worth a retry.
                AppendError::Unreachable(format!(
                    "NATS JetStream did not take the batch whole (nothing was stored): {text}"
                ))
            } else {
                AppendError::Refused(format!("JetStream refused the append: {text}"))
            }
        }
    }
}
