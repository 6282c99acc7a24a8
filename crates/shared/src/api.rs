//! Bodies of the REST API under `/api`: requests, responses and the error shape. Lists
//! are objects (`{"sessions": […]}`), never bare arrays, so they can grow fields.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::event::WorkspaceEvent;
use crate::ids::{EventId, RequestId, SessionId, StepId};
use crate::model::{
    Command, CommandType, PermissionBehavior, PermissionRequest, Session, SessionStatus,
};

/// Every error answer: `{error, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `not_found`, `invalid_transition`.
    pub error: String,
    /// For people: what was wrong and, where it helps, how to fix it.
    pub message: String,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// The newest seq in the log.
    #[ts(type = "number")]
    pub seq: u64,
}

/// `POST /api/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSession {
    /// The id to use; the server makes one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub id: Option<SessionId>,
    /// The agent's working directory: absolute, but need not exist on the server.
    pub cwd: String,
    /// The agent's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hostname: Option<String>,
    /// The agent's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub platform: Option<String>,
    /// Who runs the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user: Option<String>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub model: Option<String>,
    /// A title for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub title: Option<String>,
}

/// `PUT /api/sessions/{id}`: fields to change; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSession {
    /// A non-terminal status (end a session with `POST …/end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub status: Option<SessionStatus>,
    /// A summary of the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub summary: Option<String>,
    /// A title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub title: Option<String>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub model: Option<String>,
}

/// `POST /api/sessions/{id}/end` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndSession {
    /// Completed (the default), failed or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub status: Option<SessionStatus>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// `GET /api/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// The page of sessions, newest first.
    pub sessions: Vec<Session>,
    /// How many sessions match the filters in all.
    #[ts(type = "number")]
    pub total: u64,
}

/// `GET /api/events` and `GET /api/sessions/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    /// Events with seq > since, ordered by seq.
    pub events: Vec<WorkspaceEvent>,
    /// The newest seq in the log when the page was read.
    #[ts(type = "number")]
    pub latest_seq: u64,
    /// True when more events follow this page (ask again with `since` = the last seq).
    pub has_more: bool,
}

/// One event found by `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The event's seq (open the session at it).
    #[ts(type = "number")]
    pub seq: u64,
    /// Its session.
    pub session_id: SessionId,
    /// Its type, e.g. `prompt:submitted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The words around the match (plain text).
    pub snippet: String,
    /// When it happened (RFC 3339).
    pub timestamp: String,
}

/// `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// Matching events, newest first.
    pub results: Vec<SearchHit>,
}

/// What became of one posted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestedEvent {
    /// Its id (given or assigned).
    pub event_id: EventId,
    /// Its seq; for a duplicate, the seq the first copy got.
    #[ts(type = "number")]
    pub seq: u64,
    /// True when the event had been stored before and was not stored again.
    pub duplicate: bool,
}

/// `POST /api/events` answer, one entry per posted event, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    /// One per posted event.
    pub events: Vec<IngestedEvent>,
}

/// `POST /api/sessions/{id}/commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueCommand {
    /// pause, resume, cancel, retry or skip.
    #[serde(rename = "type")]
    pub command: CommandType,
    /// The step it targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub step_id: Option<StepId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// `POST /api/sessions/{id}/commands/{commandId}/ack` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcknowledgeCommand {
    /// What the agent did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub note: Option<String>,
}

/// `GET /api/sessions/{id}/commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandList {
    /// The commands, oldest first.
    pub commands: Vec<Command>,
    /// True while the session is paused (a pause not yet followed by a resume).
    pub paused: bool,
}

/// `POST /api/sessions/{id}/input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitInput {
    /// The answer.
    pub text: String,
    /// The question answered; the open one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub request_id: Option<RequestId>,
}

/// `POST /api/sessions/{id}/awaiting-input`: the agent waits for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwaitInput {
    /// Identifies the question; the server makes one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub request_id: Option<RequestId>,
    /// The question.
    pub prompt: String,
    /// Suggested answers.
    #[serde(default)]
    pub quick_responses: Vec<String>,
    /// The step that asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub step_id: Option<StepId>,
}

/// `POST /api/sessions/{id}/permissions`: a tool call waits for a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPermission {
    /// Identifies the request; the server makes one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub request_id: Option<RequestId>,
    /// The tool.
    pub tool_name: String,
    /// Its input.
    #[serde(default)]
    pub tool_input: serde_json::Value,
    /// Claude Code's `tool_use_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tool_use_id: Option<String>,
}

/// `POST /api/sessions/{id}/permissions/{requestId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecidePermission {
    /// allow or deny.
    pub behavior: PermissionBehavior,
    /// Shown to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message: Option<String>,
}

/// `GET /api/sessions/{id}/permissions/{requestId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionState {
    /// The request and, once made, its decision.
    pub request: PermissionRequest,
}

/// `GET /api/sessions/{id}/input`: the answer to a question, once given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputState {
    /// The answer, or null when none came within the wait.
    pub answer: Option<crate::model::InputAnswer>,
    /// Whether the question (with a `requestId`: that one) is still open: asked and
    /// neither answered nor settled (a prompt typed in the terminal, the session ended).
    /// A waiting hook stops waiting once this is false.
    #[serde(default)]
    pub open: bool,
}

/// One entry of a session's file tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// Relative to the cwd, `/`-separated.
    pub path: String,
    /// True for a directory.
    pub dir: bool,
    /// Size in bytes (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub size: Option<u64>,
}

/// `GET /api/sessions/{id}/files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileTree {
    /// The session's cwd.
    pub root: String,
    /// Entries, depth-first, sorted by path.
    pub files: Vec<FileEntry>,
    /// True when the listing stopped at its limit.
    pub truncated: bool,
}

/// `GET /api/sessions/{id}/files/content?path=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileContent {
    /// Relative to the cwd.
    pub path: String,
    /// Size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// The text (up to the limit), or null for binary files.
    pub content: Option<String>,
    /// True when the content was cut at the limit.
    pub truncated: bool,
}

/// `POST /api/events` body: one event or an array of them.
// A wire type for the schema and the generated TypeScript; never held in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(untagged)]
pub enum EventBatch {
    /// A single event.
    One(crate::event::NewEvent),
    /// Several events, stored all or none, in order.
    Many(Vec<crate::event::NewEvent>),
}
