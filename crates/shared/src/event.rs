//! The event log's vocabulary. Every change in Chainwatch is one of these events:
//! the backend's domain core produces them, the log stores them, the socket delivers
//! them, and both the backend's projections and the web app's reducer fold them.
//!
//! On the wire a stored event is one flat JSON object,
//! `{seq, eventId, sessionId, timestamp, type, …fields}`: [`WorkspaceEvent`] is the
//! envelope with the [`EventKind`] flattened into it, tagged by `type`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use utoipa::ToSchema;

use crate::ids::{ChainId, CommandId, EventId, RequestId, SessionId, StepId};
use crate::model::{
    ChainStatus, CommandType, PermissionBehavior, SessionStatus, StepKind, StepSpec, TokenUsage,
    WatchState,
};

/// A stored event: the envelope the server assigns plus what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceEvent {
    /// Position in the log: strictly increasing, gap-free, assigned by the server.
    #[ts(type = "number")]
    pub seq: u64,
    /// Idempotency key: an event posted twice with the same id is stored once.
    pub event_id: EventId,
    /// The session the event belongs to.
    pub session_id: SessionId,
    /// When it happened (as reported, or when the server received it).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An event as an agent posts it to `POST /api/events`: the server assigns `seq`, and
/// `eventId` and `timestamp` when they are missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    /// Idempotency key; give one to make retries safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub event_id: Option<EventId>,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// When it happened; the server's clock when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub timestamp: Option<DateTime<Utc>>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How a tool call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToolStatus {
    /// About to run (PreToolUse).
    Started,
    /// Ran and succeeded (PostToolUse).
    Succeeded,
    /// Ran and failed (PostToolUseFailure).
    Failed,
}

/// Which stream terminal output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What happened, tagged by `type` with the contract's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
// Fields are renamed per variant: utoipa ignores `rename_all_fields`, and the
// OpenAPI document must name fields exactly as the wire does.
#[serde(tag = "type", deny_unknown_fields)]
pub enum EventKind {
    /// A session began (created through the API, or first heard of from the hook).
    #[serde(rename = "session:started", rename_all = "camelCase")]
    SessionStarted {
        /// The agent's working directory (absolute).
        cwd: String,
        /// The agent's host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        hostname: Option<String>,
        /// The agent's platform.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        platform: Option<String>,
        /// Who runs the agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        user: Option<String>,
        /// The model, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        model: Option<String>,
        /// A title for people.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        title: Option<String>,
        /// Where the session came from (`api`, `hook`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        source: Option<String>,
        /// Whether the server watches the cwd (set by the server).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        watch: Option<WatchState>,
    },
    /// Some of a session's fields changed; absent fields are unchanged.
    #[serde(rename = "session:updated", rename_all = "camelCase")]
    SessionUpdated {
        /// The new status (never a terminal one: ending is `session:ended`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        status: Option<SessionStatus>,
        /// The new summary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        summary: Option<String>,
        /// The new title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        title: Option<String>,
        /// The model, when it became known or changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        model: Option<String>,
        /// The watch state, when it changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        watch: Option<WatchState>,
    },
    /// A session ended.
    #[serde(rename = "session:ended", rename_all = "camelCase")]
    SessionEnded {
        /// The terminal status: completed, failed or cancelled.
        status: SessionStatus,
        /// Why it ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<String>,
    },
    /// A chain of steps was planned.
    #[serde(rename = "chain:compiled", rename_all = "camelCase")]
    ChainCompiled {
        /// The chain.
        chain_id: ChainId,
        /// A name for people.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        name: Option<String>,
        /// Its planned steps.
        #[serde(default)]
        steps: Vec<StepSpec>,
    },
    /// A chain started running.
    #[serde(rename = "chain:started", rename_all = "camelCase")]
    ChainStarted {
        /// The chain.
        chain_id: ChainId,
    },
    /// A chain finished.
    #[serde(rename = "chain:completed", rename_all = "camelCase")]
    ChainCompleted {
        /// The chain.
        chain_id: ChainId,
        /// Completed, failed or cancelled.
        status: ChainStatus,
    },
    /// A step appeared (a subagent, a Task call, or a step added to a chain).
    #[serde(rename = "step:spawned", rename_all = "camelCase")]
    StepSpawned {
        /// The chain it belongs to.
        chain_id: ChainId,
        /// The step.
        step_id: StepId,
        /// A name for people.
        name: String,
        /// What it is.
        kind: StepKind,
        /// Steps that must finish first.
        #[serde(default)]
        waits_for: Vec<StepId>,
        /// The step that spawned it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        parent_step_id: Option<StepId>,
        /// The subagent's type.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        agent_type: Option<String>,
        /// The tool call that spawned it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        tool_use_id: Option<String>,
        /// What it was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        input: Option<Value>,
    },
    /// A step started running.
    #[serde(rename = "step:started", rename_all = "camelCase")]
    StepStarted {
        /// The chain.
        chain_id: ChainId,
        /// The step.
        step_id: StepId,
    },
    /// A step finished.
    #[serde(rename = "step:completed", rename_all = "camelCase")]
    StepCompleted {
        /// The chain.
        chain_id: ChainId,
        /// The step.
        step_id: StepId,
        /// What it produced.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        result: Option<Value>,
    },
    /// A step failed.
    #[serde(rename = "step:failed", rename_all = "camelCase")]
    StepFailed {
        /// The chain.
        chain_id: ChainId,
        /// The step.
        step_id: StepId,
        /// Why.
        error: String,
    },
    /// The agent waits for a person's answer.
    #[serde(rename = "interaction:awaiting-input", rename_all = "camelCase")]
    InteractionAwaitingInput {
        /// Identifies the question.
        request_id: RequestId,
        /// The question or the agent's last message.
        prompt: String,
        /// Suggested answers.
        #[serde(default)]
        quick_responses: Vec<String>,
        /// The step that asks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// A person answered.
    #[serde(rename = "interaction:input-received", rename_all = "camelCase")]
    InteractionInputReceived {
        /// The question answered.
        request_id: RequestId,
        /// The answer.
        text: String,
        /// Who answered: the name of the token that made the request (`local` on a
        /// tokenless loopback server). Set by the server, never taken from a body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        answered_by: Option<String>,
    },
    /// A tool call waits for a person to allow or deny it.
    #[serde(rename = "permission:requested", rename_all = "camelCase")]
    PermissionRequested {
        /// Identifies the request.
        request_id: RequestId,
        /// The tool.
        tool_name: String,
        /// The tool's input.
        tool_input: Value,
        /// Claude Code's `tool_use_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        tool_use_id: Option<String>,
    },
    /// A person allowed or denied a tool call. The first decision wins.
    #[serde(rename = "permission:decided", rename_all = "camelCase")]
    PermissionDecided {
        /// The request decided.
        request_id: RequestId,
        /// Allow or deny.
        behavior: PermissionBehavior,
        /// Shown to the agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        message: Option<String>,
        /// Who decided: the token's name (`local` on a tokenless loopback server).
        /// Set by the server, never taken from a body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        decided_by: Option<String>,
    },
    /// A person issued a steering command.
    #[serde(rename = "command:issued", rename_all = "camelCase")]
    CommandIssued {
        /// The command.
        command_id: CommandId,
        /// What to do.
        command: CommandType,
        /// The step it targets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<String>,
        /// Who issued it: the token's name (`local` on a tokenless loopback server).
        /// Set by the server, never taken from a body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        issued_by: Option<String>,
    },
    /// The agent acted on a command.
    #[serde(rename = "command:acknowledged", rename_all = "camelCase")]
    CommandAcknowledged {
        /// The command.
        command_id: CommandId,
        /// What the agent said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        note: Option<String>,
    },
    /// A file appeared under the session's cwd.
    #[serde(rename = "file:created", rename_all = "camelCase")]
    FileCreated {
        /// Relative to the cwd.
        path: String,
        /// The step running when it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// A file under the session's cwd changed.
    #[serde(rename = "file:modified", rename_all = "camelCase")]
    FileModified {
        /// Relative to the cwd.
        path: String,
        /// The step running when it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// A file under the session's cwd went away.
    #[serde(rename = "file:deleted", rename_all = "camelCase")]
    FileDeleted {
        /// Relative to the cwd.
        path: String,
        /// The step running when it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// The agent called a tool (or is about to).
    #[serde(rename = "tool:used", rename_all = "camelCase")]
    ToolUsed {
        /// The tool, e.g. `Bash`, `Edit`.
        tool_name: String,
        /// Claude Code's `tool_use_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        tool_use_id: Option<String>,
        /// Started, succeeded or failed.
        status: ToolStatus,
        /// The tool's input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        input: Option<Value>,
        /// The tool's response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        response: Option<Value>,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        error: Option<String>,
        /// The step it ran in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
        /// How long it ran.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "number")]
        duration_ms: Option<u64>,
    },
    /// A person (or script) gave the agent a prompt.
    #[serde(rename = "prompt:submitted", rename_all = "camelCase")]
    PromptSubmitted {
        /// The prompt.
        prompt: String,
    },
    /// Output from a command the agent ran.
    #[serde(rename = "terminal:output", rename_all = "camelCase")]
    TerminalOutput {
        /// The text, ANSI escapes included.
        text: String,
        /// Which stream.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        stream: Option<OutputStream>,
        /// The tool call that produced it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        tool_use_id: Option<String>,
        /// The step it ran in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// Something went wrong (in the agent, or in the server on the session's behalf).
    #[serde(rename = "error:occurred", rename_all = "camelCase")]
    ErrorOccurred {
        /// What went wrong.
        message: String,
        /// A machine-readable code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        code: Option<String>,
        /// The step it happened in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// The agent told the person something (Claude Code's Notification hook).
    #[serde(rename = "agent:notification", rename_all = "camelCase")]
    AgentNotification {
        /// The message.
        message: String,
        /// The kind of notification, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        notification_type: Option<String>,
    },
    /// The assistant replied: one text message from the model's transcript, with the
    /// token usage of the API request that produced it. A request whose reply is split
    /// over several messages reports its usage on the first only, so summing `usage`
    /// over a session's events gives its totals.
    #[serde(rename = "message:assistant", rename_all = "camelCase")]
    MessageAssistant {
        /// What the assistant said (thinking blocks are never included). May be empty
        /// when the event only reports usage.
        #[serde(default)]
        text: String,
        /// The model that answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        model: Option<String>,
        /// Tokens of the request, when this message reports them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        usage: Option<TokenUsage>,
        /// The request's cost in US dollars. The server sets it from its price table
        /// when the agent does not give one (and `usage` and `model` are known).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        cost_usd: Option<f64>,
        /// The API's message id (several events may share it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        message_id: Option<String>,
        /// The subagent's step, for a subagent's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        step_id: Option<StepId>,
    },
    /// Retention removed an ended session and its events; lists drop it.
    #[serde(rename = "session:pruned", rename_all = "camelCase")]
    SessionPruned {},
    /// Anything else an agent reported, kept whole (a hook event Chainwatch does not map
    /// yet, for example). Never rejected: agents add events faster than we do.
    #[serde(rename = "agent:event", rename_all = "camelCase")]
    AgentEvent {
        /// The agent's name for the event, e.g. Claude Code's `hook_event_name`.
        name: String,
        /// The raw payload.
        payload: Value,
    },
}

impl EventKind {
    /// Every `type` name, in declaration order.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "session:started",
        "session:updated",
        "session:ended",
        "chain:compiled",
        "chain:started",
        "chain:completed",
        "step:spawned",
        "step:started",
        "step:completed",
        "step:failed",
        "interaction:awaiting-input",
        "interaction:input-received",
        "permission:requested",
        "permission:decided",
        "command:issued",
        "command:acknowledged",
        "file:created",
        "file:modified",
        "file:deleted",
        "tool:used",
        "prompt:submitted",
        "terminal:output",
        "error:occurred",
        "agent:notification",
        "message:assistant",
        "session:pruned",
        "agent:event",
    ];

    /// The `type` name of this event (the serde tag; a unit test keeps the two equal).
    pub fn type_name(&self) -> &'static str {
        Self::TYPE_NAMES[self.ordinal()]
    }

    fn ordinal(&self) -> usize {
        match self {
            Self::SessionStarted { .. } => 0,
            Self::SessionUpdated { .. } => 1,
            Self::SessionEnded { .. } => 2,
            Self::ChainCompiled { .. } => 3,
            Self::ChainStarted { .. } => 4,
            Self::ChainCompleted { .. } => 5,
            Self::StepSpawned { .. } => 6,
            Self::StepStarted { .. } => 7,
            Self::StepCompleted { .. } => 8,
            Self::StepFailed { .. } => 9,
            Self::InteractionAwaitingInput { .. } => 10,
            Self::InteractionInputReceived { .. } => 11,
            Self::PermissionRequested { .. } => 12,
            Self::PermissionDecided { .. } => 13,
            Self::CommandIssued { .. } => 14,
            Self::CommandAcknowledged { .. } => 15,
            Self::FileCreated { .. } => 16,
            Self::FileModified { .. } => 17,
            Self::FileDeleted { .. } => 18,
            Self::ToolUsed { .. } => 19,
            Self::PromptSubmitted { .. } => 20,
            Self::TerminalOutput { .. } => 21,
            Self::ErrorOccurred { .. } => 22,
            Self::AgentNotification { .. } => 23,
            Self::MessageAssistant { .. } => 24,
            Self::SessionPruned { .. } => 25,
            Self::AgentEvent { .. } => 26,
        }
    }

    /// Whether the event goes to the global `sessions` topic that every socket is on.
    ///
    /// Session lifecycle events feed session lists, chain and step events their step
    /// progress; questions, permission requests and commands feed the "needs you" view
    /// across all sessions; assistant messages carry the usage that session lists total
    /// live. The high-volume rest (tool calls, files, output, prompts)
    /// is only on the session's own topic.
    pub fn is_global(&self) -> bool {
        // Exhaustive on purpose: a new event type does not compile until someone
        // decides whether session lists and the "needs you" view must hear it.
        match self {
            Self::SessionStarted { .. }
            | Self::SessionUpdated { .. }
            | Self::SessionEnded { .. }
            | Self::SessionPruned { .. }
            | Self::ChainCompiled { .. }
            | Self::ChainStarted { .. }
            | Self::ChainCompleted { .. }
            | Self::StepSpawned { .. }
            | Self::StepStarted { .. }
            | Self::StepCompleted { .. }
            | Self::StepFailed { .. }
            | Self::InteractionAwaitingInput { .. }
            | Self::InteractionInputReceived { .. }
            | Self::PermissionRequested { .. }
            | Self::PermissionDecided { .. }
            | Self::CommandIssued { .. }
            | Self::CommandAcknowledged { .. }
            | Self::MessageAssistant { .. } => true,
            Self::FileCreated { .. }
            | Self::FileModified { .. }
            | Self::FileDeleted { .. }
            | Self::ToolUsed { .. }
            | Self::PromptSubmitted { .. }
            | Self::TerminalOutput { .. }
            | Self::ErrorOccurred { .. }
            | Self::AgentNotification { .. }
            | Self::AgentEvent { .. } => false,
        }
    }
}

pub mod examples;

#[cfg(test)]
mod tests;
