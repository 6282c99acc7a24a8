//! The domain model as clients see it: sessions, chains, steps, commands, questions,
//! permission requests and file changes. These are projections of the event log: the
//! backend folds events into them, and the web app folds the same events the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::ids::{ChainId, CommandId, RequestId, SessionId, StepId};

/// Where a session is in its life. `completed`, `failed` and `cancelled` are terminal:
/// a session in one of them has ended and changes no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionStatus {
    /// Created, nothing reported yet.
    Pending,
    /// The agent is working.
    Active,
    /// The agent waits for a person (a question or a permission request).
    Waiting,
    /// Paused by a command from the dashboard.
    Paused,
    /// Ended normally.
    Completed,
    /// Ended with a failure.
    Failed,
    /// Ended by a cancel command or by the agent giving up.
    Cancelled,
}

impl SessionStatus {
    /// Whether the session has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The wire name, as used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Waiting => "waiting",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Whether the server watches a session's working directory for file changes, and if
/// not, why (for example: the cwd is on another host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WatchState {
    /// True while the cwd is watched.
    pub watched: bool,
    /// Why the cwd is not watched, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// Running totals of a session, kept by the projection so lists need no event scans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCounts {
    /// Every event of the session.
    pub events: u64,
    /// `prompt:submitted` events.
    pub prompts: u64,
    /// `tool:used` events that record a call (not its start), and calls a permission
    /// denied from the page settled (they never run, so no such event comes).
    pub tool_calls: u64,
    /// Failed tool calls, failed steps and errors.
    pub failures: u64,
    /// Steps spawned across all chains.
    pub steps: u64,
    /// Steps that completed.
    pub steps_completed: u64,
    /// Distinct files the session changed (paths relative to its cwd): from `file:*`
    /// events and succeeded Write, Edit, MultiEdit and NotebookEdit calls; at most 10,000.
    pub file_changes: u64,
}

/// Tokens of one model request (or, summed, of a session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens not read from or written to the prompt cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_creation_tokens: u64,
}

impl TokenUsage {
    /// The prompt's whole size: input plus cache reads and writes (the context used).
    pub fn context_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_creation_tokens)
    }
}

/// A session's token and cost totals, summed over its `message:assistant` events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionUsage {
    /// Input tokens not read from or written to the cache.
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens.
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    #[ts(type = "number")]
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache.
    #[ts(type = "number")]
    pub cache_creation_tokens: u64,
    /// The cost in US dollars of the requests whose cost is known.
    pub cost_usd: f64,
    /// Requests counted.
    #[ts(type = "number")]
    pub requests: u64,
    /// Requests whose model has no price (their tokens count, their cost does not).
    #[ts(type = "number")]
    pub unpriced_requests: u64,
    /// The newest request's prompt size (input plus cache tokens): the context used.
    #[ts(type = "number")]
    pub context_tokens: u64,
    /// Requests whose figures came from the agent's telemetry (`usage:reported`)
    /// rather than from the price table.
    #[serde(default)]
    #[ts(type = "number")]
    pub reported_requests: u64,
}

/// Summed token and cost figures of some requests: what a `usage:reported` takes back
/// out of a session's totals when telemetry replaces a prompt's estimate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageFigures {
    /// Input tokens not read from or written to the cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default)]
    #[ts(type = "number")]
    pub cache_creation_tokens: u64,
    /// The cost in US dollars.
    #[serde(default)]
    pub cost_usd: f64,
    /// Requests.
    #[serde(default)]
    #[ts(type = "number")]
    pub requests: u64,
    /// Requests without a price.
    #[serde(default)]
    #[ts(type = "number")]
    pub unpriced_requests: u64,
}

impl UsageFigures {
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A question the agent waits on, shown in the dashboard until someone answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwaitingInput {
    /// Identifies the question; an answer names it.
    pub request_id: RequestId,
    /// The question or the agent's last message.
    pub prompt: String,
    /// Suggested answers, shown as buttons.
    pub quick_responses: Vec<String>,
    /// The step that asks, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub step_id: Option<StepId>,
    /// When the agent started waiting.
    pub since: DateTime<Utc>,
}

/// The answer a person gave to a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputAnswer {
    /// The question answered.
    pub request_id: RequestId,
    /// The answer.
    pub text: String,
    /// When it was given.
    pub answered_at: DateTime<Utc>,
    /// The seq of the `interaction:input-received` event.
    #[ts(type = "number")]
    pub seq: u64,
    /// Who answered (the token's name, `local` without tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub answered_by: Option<String>,
}

/// Allow or deny, for a tool permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PermissionBehavior {
    /// The tool call may run.
    Allow,
    /// The tool call is refused.
    Deny,
}

/// The decision on a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionDecision {
    /// Allow or deny.
    pub behavior: PermissionBehavior,
    /// Shown to the agent with a deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message: Option<String>,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// Who decided (the token's name, `local` without tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub decided_by: Option<String>,
}

/// A tool call that waits for a person to allow or deny it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    /// Identifies the request; the decision names it.
    pub request_id: RequestId,
    /// The tool, e.g. `Bash`.
    pub tool_name: String,
    /// The tool's input as the agent gave it.
    pub tool_input: Value,
    /// Claude Code's `tool_use_id`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tool_use_id: Option<String>,
    /// When it was asked.
    pub requested_at: DateTime<Utc>,
    /// The decision, once made. The first answer wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub decision: Option<PermissionDecision>,
    /// When the session moved on without a decision from the page: the same call ran
    /// or failed (someone answered in the terminal), or the turn ended. A settled
    /// request takes no decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub settled_at: Option<DateTime<Utc>>,
}

/// A steering command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandType {
    /// Stop starting new work until resumed.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Stop the session's work.
    Cancel,
    /// Run a failed step again.
    Retry,
    /// Skip a step.
    Skip,
}

/// Whether the agent has acknowledged a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    /// Issued, not yet seen by the agent.
    Pending,
    /// The agent (its hook) has acted on it.
    Acknowledged,
}

/// A steering command issued to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    /// Identifies the command; the acknowledgement names it.
    pub id: CommandId,
    /// The session it steers.
    pub session_id: SessionId,
    /// What to do.
    #[serde(rename = "type")]
    pub command: CommandType,
    /// The step it targets (retry and skip), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub step_id: Option<StepId>,
    /// Why, as the person wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    /// Pending until acknowledged.
    pub status: CommandStatus,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When the agent acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// What the agent said when acknowledging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub note: Option<String>,
    /// Who issued it (the token's name, `local` without tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub issued_by: Option<String>,
}

/// The life of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChainStatus {
    /// Compiled, not started.
    Pending,
    /// Started.
    Running,
    /// Every step done.
    Completed,
    /// A step failed and the chain gave up.
    Failed,
    /// Cancelled.
    Cancelled,
}

/// The life of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Spawned or planned, not started.
    Pending,
    /// Started.
    Running,
    /// Done.
    Completed,
    /// Failed.
    Failed,
    /// Skipped by a command.
    Skipped,
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A planned step of a compiled chain.
    Step,
    /// A subagent (Claude Code's SubagentStart/SubagentStop).
    Subagent,
    /// A Task or Agent tool call.
    Task,
}

/// A step as declared when a chain is compiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepSpec {
    /// The step's id, unique within the session.
    pub step_id: StepId,
    /// A short name for people.
    pub name: String,
    /// Steps that must finish first.
    #[serde(default)]
    pub waits_for: Vec<StepId>,
    /// The step that spawned this one, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub parent_step_id: Option<StepId>,
}

/// A step of a chain, as projected from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainStep {
    /// The step's id.
    pub id: StepId,
    /// The chain it belongs to.
    pub chain_id: ChainId,
    /// A short name for people.
    pub name: String,
    /// What it is.
    pub kind: StepKind,
    /// Where it is.
    pub status: StepStatus,
    /// Steps that must finish first.
    pub waits_for: Vec<StepId>,
    /// The step that spawned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub parent_step_id: Option<StepId>,
    /// The subagent's type (Claude Code's `agent_type`), when a subagent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub agent_type: Option<String>,
    /// The tool call that spawned it (Task/Agent), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tool_use_id: Option<String>,
    /// What it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub input: Option<Value>,
    /// What it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub result: Option<Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ended_at: Option<DateTime<Utc>>,
}

/// A chain of steps in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    /// The chain's id.
    pub id: ChainId,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// A short name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name: Option<String>,
    /// Where it is.
    pub status: ChainStatus,
    /// Its steps, in the order they were declared or spawned.
    pub steps: Vec<ChainStep>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileChangeKind {
    /// It appeared.
    Created,
    /// Its content changed.
    Modified,
    /// It went away.
    Deleted,
}

/// A change to a file under a session's cwd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// Path relative to the session's cwd, `/`-separated.
    pub path: String,
    /// What happened.
    pub change: FileChangeKind,
    /// The step running when it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub step_id: Option<StepId>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The seq of the event that recorded it.
    #[ts(type = "number")]
    pub seq: u64,
}

/// A session as shown in lists: everything but its chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// The agent's working directory (absolute; on the agent's host).
    pub cwd: String,
    /// The agent's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hostname: Option<String>,
    /// The agent's platform, e.g. `linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub platform: Option<String>,
    /// Who runs the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user: Option<String>,
    /// The model, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub model: Option<String>,
    /// A short title for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub title: Option<String>,
    /// A summary of the work, as the agent or a person wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub summary: Option<String>,
    /// The start of its first prompt (at most 200 characters): what a session without
    /// a title is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub first_prompt: Option<String>,
    /// Where the session came from: `api`, `hook`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub source: Option<String>,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// True between a pause command and the next resume (the status may meanwhile be
    /// `waiting`; it returns to `paused`, not `active`, once answered).
    pub paused: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub end_reason: Option<String>,
    /// Whether its cwd is watched for file changes.
    pub watch: WatchState,
    /// Running totals.
    pub counts: SessionCounts,
    /// Tokens and cost so far.
    #[serde(default)]
    pub usage: SessionUsage,
    /// The question it waits on, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub awaiting_input: Option<AwaitingInput>,
    /// Tool calls that wait for a decision.
    pub pending_permissions: Vec<PermissionRequest>,
    /// Commands not yet acknowledged.
    pub pending_commands: Vec<Command>,
    /// The step running now, when any (the newest started and not ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub current_step_id: Option<StepId>,
    /// The newest seq of any event of this session.
    #[ts(type = "number")]
    pub last_seq: u64,
}

/// A session with its chains and steps, as `GET /api/sessions/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetail {
    /// The session.
    #[serde(flatten)]
    pub session: Session,
    /// Its chains, in the order they appeared.
    pub chains: Vec<Chain>,
    /// The last answers given to its questions, newest last.
    pub answers: Vec<InputAnswer>,
    /// Files it changed, newest last (bounded).
    pub file_changes: Vec<FileChange>,
}
