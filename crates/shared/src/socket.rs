//! The socket protocol of `/ws`: JSON text frames, tagged by `type`. The server speaks
//! first with `hello`; every socket is on the global `sessions` topic from then on, and
//! subscribes to a session's topic for its full stream.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use chrono::{DateTime, Utc};

use crate::event::WorkspaceEvent;
use crate::ids::SessionId;
use crate::model::SessionCounts;

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Add a session's full stream, first replaying what came after `since`.
    #[serde(rename_all = "camelCase")]
    Subscribe {
        /// The session.
        session_id: SessionId,
        /// Replay events with seq > since; omitted means live only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "number")]
        since: Option<u64>,
    },
    /// Drop a session's stream.
    #[serde(rename_all = "camelCase")]
    Unsubscribe {
        /// The session.
        session_id: SessionId,
    },
    /// Catch up the global topic after a reconnect: events with seq > since.
    #[serde(rename_all = "camelCase")]
    Resume {
        /// The newest seq the client had applied.
        #[ts(type = "number")]
        since: u64,
    },
    /// Heartbeat; the server answers `pong`.
    Ping,
}

/// A frame from the server.
// Built one at a time to be encoded; boxing the event would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMessage {
    /// First frame on every socket: the newest seq in the log.
    #[serde(rename_all = "camelCase")]
    Hello {
        /// The newest seq.
        #[ts(type = "number")]
        seq: u64,
    },
    /// An event on a topic the socket is on.
    #[serde(rename_all = "camelCase")]
    Event {
        /// The event.
        event: WorkspaceEvent,
    },
    /// A subscription took effect; replayed events (if any) were sent before this.
    #[serde(rename_all = "camelCase")]
    Subscribed {
        /// The session.
        session_id: SessionId,
        /// Events up to this seq were replayed; live ones follow.
        #[ts(type = "number")]
        seq: u64,
    },
    /// A subscription ended.
    #[serde(rename_all = "camelCase")]
    Unsubscribed {
        /// The session.
        session_id: SessionId,
    },
    /// A client message was refused; the socket stays open.
    #[serde(rename_all = "camelCase")]
    Error {
        /// Machine-readable: `bad_frame`, `too_many_subscriptions`, …
        code: String,
        /// For people.
        message: String,
    },
    /// The client fell too far behind to be caught up by replay: refetch over REST,
    /// then reconnect (or resume) from `seq`.
    #[serde(rename_all = "camelCase")]
    Resync {
        /// Why.
        reason: String,
        /// The newest seq at the time.
        #[ts(type = "number")]
        seq: u64,
        /// The session whose replay was too large, when it is a session's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        session_id: Option<SessionId>,
    },
    /// Answer to `ping`.
    Pong,
    /// A session's counts after events that are not on the global topic (tool calls,
    /// files, prompts, output, errors), so lists stay equal to the server without
    /// hearing those events. Sent to every socket that may see the session, at most
    /// once per session per progress interval (`--progress-interval-ms`); never stored.
    /// The figures are the read model's, as of `seq`: every event of the session up to
    /// `seq` was queued to the socket before this frame.
    #[serde(rename_all = "camelCase")]
    Progress {
        /// The session.
        session_id: SessionId,
        /// The session's newest event (its `lastSeq`) the counts include.
        #[ts(type = "number")]
        seq: u64,
        /// Its counts, as `GET /api/sessions` would answer them now.
        counts: SessionCounts,
        /// When it last changed.
        updated_at: DateTime<Utc>,
        /// The start of its first prompt, once it has one (its name in lists when it
        /// has no title).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        first_prompt: Option<String>,
    },
}
