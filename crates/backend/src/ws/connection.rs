//! One socket's task: sends `hello`, then forwards the hub's frames, answers the
//! client's messages (subscribe with replay, unsubscribe, resume, ping), pings on a
//! heartbeat and closes idle, slow or oversending sockets.
//!
//! The seam between replay and live delivery: `subscribe` registers the topic at the
//! hub's newest published seq H under the hub's lock; events after H queue up live
//! while the task replays `(since, H]` from the log, so nothing is missed and nothing
//! is sent twice. Global events already delivered live (seq above the socket's global
//! floor) are left out of a session replay for the same reason.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_http::ws::{CloseCode, CloseReason, ProtocolError};
use chainwatch_shared::{ClientMessage, ServerMessage, SessionId};
use tokio::sync::watch;

use bytes::Bytes;

use super::body::{End, Gate, Outbox};
use super::frame::{close_frame, ping_frame, pong_frame, text_frame};
use super::hub::{Hub, HubError};
use super::inbound::{Inbound, Message};
use super::replay::{REPLAY_CHUNK_BYTES, ReplaySource};
use crate::config::SocketConfig;
use crate::core::{Reach, rules};
use crate::store::{LogReader, Scope};

/// The task waits while more than this many bytes of frames are queued for the writer.
const QUEUED_BYTES: usize = 4 * REPLAY_CHUNK_BYTES;

/// What a connection needs from the server.
pub struct ConnectionContext {
    /// The hub.
    pub hub: Arc<Hub>,
    /// The log, for replays.
    pub reader: Arc<dyn LogReader>,
    /// Limits.
    pub config: SocketConfig,
    /// Flips to true at shutdown.
    pub shutdown: watch::Receiver<bool>,
    /// Whose sessions this socket may see.
    pub reach: Reach,
}

enum Flow {
    Continue,
    Stop,
}

struct Connection {
    context: ConnectionContext,
    id: u64,
    /// Global events with seq above this were (or will be) delivered to this socket.
    global_floor: u64,
    /// Holds the hub's live frames back while this task replays.
    gate: Rc<Gate>,
    /// Where replays go, already framed.
    outbox: Rc<Outbox>,
    /// The close frame to send when the task ends (`None`: the client closed first).
    close: Option<CloseReason>,
    /// When the client last sent a frame.
    last_heard: Instant,
}

/// Holds the live frames back while it lives (a replay), so the replay's frames and
/// the answer that ends it go out first.
struct Held(Rc<Gate>);

impl Held {
    fn new(gate: &Rc<Gate>) -> Self {
        gate.hold();
        Self(gate.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.release();
    }
}

fn encode(message: &ServerMessage) -> String {
    // Server messages are plain data; encoding cannot fail.
    serde_json::to_string(message).unwrap_or_else(|_| {
        String::from("{\"type\":\"error\",\"code\":\"internal\",\"message\":\"encoding failed\"}")
    })
}

impl Connection {
    /// Queues a frame for the writer; stops the socket when the writer is gone or has not
    /// taken the frames before it within the send timeout.
    async fn push(&mut self, frame: Bytes) -> Flow {
        if !self.outbox.push(frame) {
            return Flow::Stop;
        }
        let room = self.outbox.room(QUEUED_BYTES);
        match tokio::time::timeout(self.context.config.send_timeout, room).await {
            Ok(true) => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    async fn send(&mut self, message: &ServerMessage) -> Flow {
        self.push(text_frame(&[&encode(message)])).await
    }

    async fn error(&mut self, code: &str, message: impl Into<String>) -> Flow {
        self.send(&ServerMessage::Error {
            code: code.into(),
            message: message.into(),
        })
        .await
    }

    /// Sends the events of `scope` in `(after, upto]` from the log, leaving out global
    /// events above the socket's global floor when `skip_delivered_global`. Pages are
    /// read, filtered and framed on a blocking thread (the next while this one is
    /// written) and reach the writer through the outbox, which is drained before this
    /// returns, so the message that ends the replay follows its last frame.
    async fn replay(
        &mut self,
        scope: Scope<'_>,
        after: u64,
        upto: u64,
        skip_delivered_global: bool,
    ) -> Result<Flow, String> {
        let mut sent = 0usize;
        let source = ReplaySource {
            reader: self.context.reader.clone(),
            hub: self.context.hub.clone(),
            reach: self.context.reach.clone(),
            session: match scope {
                Scope::Session(id) => Some(id.clone()),
                _ => None,
            },
            upto,
            page_bytes: self.context.config.replay_page_bytes,
            global_floor: skip_delivered_global.then_some(self.global_floor),
        };
        let read_page = |cursor: u64| {
            let source = source.clone();
            actix_web::rt::task::spawn_blocking(move || source.read_page(cursor))
        };
        let send_timeout = self.context.config.send_timeout;
        let mut pending = (after < upto).then(|| read_page(after));
        while let Some(reading) = pending.take() {
            let page = reading
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let Some(last) = page.last_read else { break };
            // Read the next page from the log while this one is being sent.
            if last < upto {
                pending = Some(read_page(last));
            }
            sent += page.frames;
            if sent > self.context.config.replay_limit {
                return Err(format!(
                    "more than {} events to replay",
                    self.context.config.replay_limit
                ));
            }
            for chunk in page.chunks {
                if !self.outbox.push(chunk) {
                    return Ok(Flow::Stop);
                }
                let room = self.outbox.room(QUEUED_BYTES);
                if !matches!(tokio::time::timeout(send_timeout, room).await, Ok(true)) {
                    return Ok(Flow::Stop);
                }
            }
        }
        Ok(Flow::Continue)
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(message) => message,
            Err(e) => {
                return self
                    .error("bad_frame", format!("not a client message: {e}"))
                    .await;
            }
        };
        match message {
            ClientMessage::Ping => self.send(&ServerMessage::Pong).await,
            ClientMessage::Subscribe { session_id, since } => {
                self.subscribe(session_id, since).await
            }
            ClientMessage::Unsubscribe { session_id } => {
                self.context.hub.unsubscribe(self.id, &session_id);
                self.send(&ServerMessage::Unsubscribed { session_id }).await
            }
            ClientMessage::Resume { since } => {
                let upto = self.global_floor;
                if since >= upto {
                    return Flow::Continue;
                }
                let _held = Held::new(&self.gate);
                match self.replay(Scope::Global, since, upto, false).await {
                    Ok(Flow::Continue) => {
                        self.global_floor = since;
                        Flow::Continue
                    }
                    Ok(Flow::Stop) => Flow::Stop,
                    Err(reason) => {
                        let seq = self.context.reader.latest_seq().unwrap_or(upto);
                        self.send(&ServerMessage::Resync {
                            reason,
                            seq,
                            session_id: None,
                        })
                        .await
                    }
                }
            }
        }
    }

    async fn subscribe(&mut self, session_id: SessionId, since: Option<u64>) -> Flow {
        if let Err(e) = rules::id("sessionId", session_id.as_str()) {
            return self.error("bad_frame", e.to_string()).await;
        }
        // Held from before the topic is registered until `subscribed` is queued.
        let _held = Held::new(&self.gate);
        let upto = match self.context.hub.subscribe(self.id, &session_id) {
            Ok(seq) => seq,
            Err(HubError::Forbidden) => {
                return self
                    .error(
                        "forbidden",
                        format!("this token may not see session '{session_id}'"),
                    )
                    .await;
            }
            Err(HubError::TooManySubscriptions(n)) => {
                return self
                    .error(
                        "too_many_subscriptions",
                        format!("a socket may subscribe to at most {n} sessions"),
                    )
                    .await;
            }
            Err(_) => return Flow::Stop,
        };
        if let Some(since) = since.filter(|since| *since < upto) {
            match self
                .replay(Scope::Session(&session_id), since, upto, true)
                .await
            {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => return Flow::Stop,
                Err(reason) => {
                    let resync = ServerMessage::Resync {
                        reason,
                        seq: upto,
                        session_id: Some(session_id.clone()),
                    };
                    if let Flow::Stop = self.send(&resync).await {
                        return Flow::Stop;
                    }
                }
            }
        }
        self.send(&ServerMessage::Subscribed {
            session_id,
            seq: upto,
        })
        .await
    }
}

/// The task of a socket the hub registered as `id` (global events after `hello_seq`
/// arrive live), reading the client's frames from `inbound`; its frames go through
/// `outbox` to the socket's writer, with which it shares `gate` (see [`super::body`]).
/// Runs until the socket closes; the close frame is the outbox's last.
pub(super) fn task<'a>(
    context: ConnectionContext,
    id: u64,
    hello_seq: u64,
    gate: Rc<Gate>,
    outbox: Rc<Outbox>,
    inbound: Inbound<'a>,
) -> impl Future<Output = ()> + 'a {
    let conn = Connection {
        context,
        id,
        global_floor: hello_seq,
        gate,
        outbox,
        close: Some(CloseReason {
            code: CloseCode::Normal,
            description: None,
        }),
        last_heard: Instant::now(),
    };
    run(conn, inbound)
}

/// What ended the socket task's wait.
enum Wake {
    /// A frame from the client, an error reading one, or the end of the stream.
    Incoming(Option<Result<Message, ProtocolError>>),
    /// The writer stopped taking live frames.
    Ended(End),
    /// The heartbeat: ping, or close when the client has been silent too long.
    Heartbeat,
    /// The server is shutting down.
    Shutdown,
}

/// Runs a socket until it closes.
///
/// The task's future is as large as the largest state it can be in, and it is held by
/// every socket for its whole life, so everything but the idle wait (the `hello`, the
/// handling of what woke the task, the close) runs in a boxed future: an idle socket
/// carries only the wait's state.
#[allow(clippy::manual_async_fn)] // on purpose: see the comment inside
fn run(mut conn: Connection, mut stream: Inbound<'_>) -> impl Future<Output = ()> {
    // An `async` block rather than an `async fn`: an `async fn` keeps its arguments
    // and the locals they are moved into side by side in its state (448 bytes twice);
    // the block's captures are used in place.
    async move {
        let mut shutdown = conn.context.shutdown.clone();
        let hello = Box::pin(conn.send(&ServerMessage::Hello {
            seq: conn.global_floor,
        }))
        .await;
        // Live frames may follow `hello` now (the gate held them since registration).
        conn.gate.release();
        if let Flow::Continue = hello {
            let mut heartbeat = tokio::time::interval(conn.context.config.heartbeat);
            heartbeat.tick().await;
            conn.last_heard = Instant::now();
            loop {
                let wake = tokio::select! {
                    incoming = stream.recv() => Wake::Incoming(incoming),
                    end = conn.gate.ended() => Wake::Ended(end),
                    _ = heartbeat.tick() => Wake::Heartbeat,
                    _ = shutdown.changed() => Wake::Shutdown,
                };
                if let Flow::Stop = Box::pin(conn.on_wake(wake)).await {
                    break;
                }
            }
        }
        conn.context.hub.unregister(conn.id);
        conn.close();
    }
}

impl Connection {
    /// Handles what ended the task's wait.
    async fn on_wake(&mut self, wake: Wake) -> Flow {
        match wake {
            Wake::Incoming(incoming) => {
                self.last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => self.on_text(&text).await,
                    Some(Ok(Message::Ping(bytes))) => self.push(pong_frame(&bytes)).await,
                    Some(Ok(Message::Pong(_))) => Flow::Continue,
                    Some(Ok(Message::Binary(_))) | Some(Ok(Message::Continuation(_))) => {
                        self.error("bad_frame", "only JSON text frames are understood")
                            .await
                    }
                    Some(Ok(Message::Close)) | None => {
                        self.close = None;
                        Flow::Stop
                    }
                    Some(Err(e)) => {
                        let _ = self
                            .error("bad_frame", format!("protocol error: {e}"))
                            .await;
                        self.close = Some(CloseReason {
                            code: CloseCode::Size,
                            description: Some(format!(
                                "frames are limited to {} bytes",
                                self.context.config.max_frame_bytes
                            )),
                        });
                        Flow::Stop
                    }
                }
            }
            Wake::Ended(End::Lagged) => {
                let seq = self.context.reader.latest_seq().unwrap_or(0);
                let reason = "this socket fell behind; refetch over REST, then resume".to_owned();
                let _ = self
                    .send(&ServerMessage::Resync {
                        reason,
                        seq,
                        session_id: None,
                    })
                    .await;
                self.close = Some(CloseReason {
                    code: CloseCode::Again,
                    description: Some("too slow".into()),
                });
                Flow::Stop
            }
            Wake::Ended(End::Away) | Wake::Shutdown => {
                self.close = Some(CloseReason {
                    code: CloseCode::Away,
                    description: Some("server shutting down".into()),
                });
                Flow::Stop
            }
            Wake::Heartbeat => {
                if self.last_heard.elapsed() > self.context.config.idle_timeout {
                    self.close = Some(CloseReason {
                        code: CloseCode::Policy,
                        description: Some("idle".into()),
                    });
                    Flow::Stop
                } else {
                    self.push(ping_frame()).await
                }
            }
        }
    }

    /// Queues the close frame, the writer's last.
    fn close(self) {
        let frame = match &self.close {
            Some(reason) => close_frame(
                Some(reason.code.into()),
                reason.description.as_deref().unwrap_or(""),
            ),
            None => close_frame(None, ""),
        };
        self.outbox.close(frame);
    }
}
