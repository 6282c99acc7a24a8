//! Maps one hook payload to the events Chainwatch stores. Pure: the same capture and the
//! same session state always give the same events with the same ids.
//!
//! Every mapping comes with the session's `session:started` (one deterministic id per
//! session, so only the first copy is stored), so a session exists whatever event the
//! server hears first. Tool calls become `tool:used`; Agent/Task calls and subagents
//! become steps of the session's `main` chain with their waits-for order; prompts,
//! notifications and Stop map to their own events; anything else is kept whole as
//! `agent:event`. The few mappings that depend on the session's state (SessionStart,
//! SessionEnd, Agent/Task calls, SubagentStart) get it from the server first.

use chainwatch_shared::{
    Chain, ChainId, ChainStatus, ChainStep, EventKind, NewEvent, OutputStream, SessionDetail,
    SessionId, StepId, StepKind, StepStatus, ToolStatus,
};
use serde_json::{Value, json};

use super::ids;
use super::payload::{Capture, Payload};

/// The chain the hook puts Agent/Task calls and subagents in.
pub const MAIN_CHAIN: &str = "main";
/// Longest free text the server takes (prompts, output, messages).
const MAX_TEXT: usize = crate::core::rules::MAX_TEXT_LEN;
/// Longest short text the server takes (names).
const MAX_NAME: usize = crate::core::rules::MAX_NAME_LEN;
/// JSON values (tool input, responses, raw payloads) above this are cut to a preview.
const MAX_JSON: usize = 256 * 1024;
/// The size of that preview.
const JSON_PREVIEW: usize = 64 * 1024;
/// Stop's prompt when Claude's last message is empty.
const STOP_PROMPT: &str = "Claude finished its turn and waits for your input.";

/// What the hook knows about the machine it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The host name.
    pub hostname: Option<String>,
    /// The user running Claude Code.
    pub user: Option<String>,
    /// `linux`, `macos`, `windows`, …
    pub platform: String,
    /// The process's working directory, used when the payload has no absolute cwd.
    pub cwd: Option<String>,
}

impl Origin {
    /// This process's host, user, platform and cwd.
    pub fn current() -> Self {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
        Self {
            hostname: gethostname::gethostname()
                .into_string()
                .ok()
                .filter(|h| !h.is_empty()),
            user,
            platform: std::env::consts::OS.to_owned(),
            cwd: std::env::current_dir()
                .ok()
                .map(|d| d.to_string_lossy().into_owned()),
        }
    }
}

/// What the server has for the session, for the mappings that depend on it.
#[derive(Debug, Clone, Copy)]
pub enum SessionState<'a> {
    /// Not asked (the mapping does not depend on it).
    Unknown,
    /// The server has no such session.
    Absent,
    /// The session as the server has it.
    Present(&'a SessionDetail),
}

/// Everything a mapping depends on besides the payload.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The session's state on the server.
    pub session: SessionState<'a>,
    /// True when delivering as the event happens, false when flushing the spool. Requests
    /// that something waits on (permissions) are only posted live; late ones are history.
    pub live: bool,
    /// True when a PermissionRequest hook waits for a decision from the page.
    pub permission_wait: bool,
    /// The machine.
    pub origin: &'a Origin,
}

/// The events of one payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The session's `session:started` with its per-session id, sent first.
    pub start: Option<NewEvent>,
    /// The events the payload maps to, in order.
    pub events: Vec<NewEvent>,
    /// What to store instead if the server refuses `events` (the payload, whole).
    pub fallback: NewEvent,
}

impl Mapping {
    /// The whole batch: start first, then the events.
    pub fn batch(&self) -> Vec<NewEvent> {
        self.start.iter().chain(&self.events).cloned().collect()
    }
}

/// Whether the mapping of this payload depends on the session's state.
pub fn needs_session(payload: &Payload) -> bool {
    match payload.event_name() {
        "SessionStart" | "SessionEnd" | "SubagentStart" => true,
        "PreToolUse" => payload.is_subagent_tool(),
        _ => false,
    }
}

/// The step of a subagent, by Claude Code's `agent_id`.
pub fn agent_step(agent_id: &str) -> StepId {
    ids::step_id("agent-", agent_id)
}

/// The step of an Agent/Task tool call, by its `tool_use_id`.
pub fn task_step(tool_use_id: &str) -> StepId {
    ids::step_id("task-", tool_use_id)
}

/// The step a tool call runs in: its subagent's, when it comes from one.
pub fn running_step(payload: &Payload) -> Option<StepId> {
    payload.agent_id().map(agent_step)
}

/// Maps a capture to its events.
pub fn map(capture: &Capture, ctx: &Context<'_>) -> Mapping {
    Mapper::new(capture, ctx).map()
}

struct Mapper<'a> {
    capture: &'a Capture,
    payload: &'a Payload,
    ctx: &'a Context<'a>,
    session: SessionId,
}

impl<'a> Mapper<'a> {
    fn new(capture: &'a Capture, ctx: &'a Context<'a>) -> Self {
        Self {
            capture,
            payload: &capture.payload,
            ctx,
            session: ids::session_id(capture.payload.session_id()),
        }
    }

    fn event(&self, suffix: &str, kind: EventKind) -> NewEvent {
        NewEvent {
            event_id: Some(ids::event_id(&self.capture.base, suffix)),
            session_id: self.session.clone(),
            timestamp: Some(self.capture.captured_at),
            kind,
        }
    }

    fn raw_event(&self, suffix: &str) -> NewEvent {
        self.event(
            suffix,
            EventKind::AgentEvent {
                name: cut(self.payload.event_name(), MAX_NAME),
                payload: cap_json(&self.payload.0),
            },
        )
    }

    fn cwd(&self) -> String {
        self.payload
            .str("cwd")
            .filter(|c| is_absolute(c))
            .map(str::to_owned)
            .or_else(|| self.ctx.origin.cwd.clone().filter(|c| is_absolute(c)))
            .unwrap_or_else(|| "/".to_owned())
    }

    fn started_kind(&self) -> EventKind {
        let origin = self.ctx.origin;
        let short = |field: &str| self.payload.str(field).map(|v| cut(v, MAX_NAME));
        EventKind::SessionStarted {
            cwd: self.cwd(),
            hostname: origin.hostname.as_deref().map(|h| cut(h, MAX_NAME)),
            platform: Some(origin.platform.clone()),
            user: origin.user.as_deref().map(|u| cut(u, MAX_NAME)),
            model: model(self.payload),
            title: short("session_title").filter(|t| !t.is_empty()),
            source: Some("hook".to_owned()),
            watch: None,
        }
    }

    fn start(&self) -> NewEvent {
        NewEvent {
            event_id: Some(ids::session_start_id(&self.session)),
            session_id: self.session.clone(),
            timestamp: Some(self.capture.captured_at),
            kind: self.started_kind(),
        }
    }

    fn chain_started(&self) -> NewEvent {
        NewEvent {
            event_id: Some(ids::chain_start_id(&self.session, MAIN_CHAIN)),
            session_id: self.session.clone(),
            timestamp: Some(self.capture.captured_at),
            kind: EventKind::ChainStarted {
                chain_id: ChainId::new(MAIN_CHAIN),
            },
        }
    }

    fn detail(&self) -> Option<&'a SessionDetail> {
        match self.ctx.session {
            SessionState::Present(detail) => Some(detail),
            SessionState::Unknown | SessionState::Absent => None,
        }
    }

    fn main_chain(&self) -> Option<&'a Chain> {
        self.detail()?
            .chains
            .iter()
            .find(|c| c.id.as_str() == MAIN_CHAIN)
    }

    fn map(&self) -> Mapping {
        let mut start = Some(self.start());
        let events = match self.payload.event_name() {
            "SessionStart" => self.session_start(&mut start),
            "SessionEnd" => self.session_end(),
            "UserPromptSubmit" => vec![self.event(
                "",
                EventKind::PromptSubmitted {
                    prompt: cut(self.payload.str("prompt").unwrap_or_default(), MAX_TEXT),
                },
            )],
            "PreToolUse" if self.payload.is_subagent_tool() => self.task_started(),
            "PostToolUse" if self.payload.is_subagent_tool() => self.task_completed(),
            "PostToolUseFailure" if self.payload.is_subagent_tool() => self.task_failed(),
            "PreToolUse" => vec![self.tool(ToolStatus::Started)],
            "PostToolUse" => self.tool_done(ToolStatus::Succeeded),
            "PostToolUseFailure" => self.tool_done(ToolStatus::Failed),
            "SubagentStart" => self.subagent_started(),
            "SubagentStop" => self.subagent_stopped(),
            "PermissionRequest" => vec![self.permission()],
            "Stop" => vec![self.stop()],
            "Notification" => vec![
                self.event(
                    "",
                    EventKind::AgentNotification {
                        message: cut(self.payload.str("message").unwrap_or_default(), MAX_TEXT),
                        notification_type: self
                            .payload
                            .str("notification_type")
                            .map(|t| cut(t, MAX_NAME)),
                    },
                ),
            ],
            "PermissionDenied" => vec![self.permission_denied()],
            "StopFailure" => vec![self.stop_failure()],
            "PostModelSwitch" => self.model_switched(),
            "PostCompact" => vec![self.raw_event(""), self.note("note", self.compacted())],
            "CwdChanged" => vec![self.raw_event(""), self.note("note", self.cwd_changed())],
            _ => vec![self.raw_event("")],
        };
        Mapping {
            start,
            events,
            fallback: self.raw_event("raw"),
        }
    }

    /// A new session starts with the per-session `session:started` (plus the payload). A
    /// session the server
    /// has ended (`claude --resume` of an ended session) is reopened by a fresh
    /// `session:started`. A live session (resume, clear, compact) keeps going: the payload
    /// is kept as `agent:event`, and a model it names updates the session.
    fn session_start(&self, start: &mut Option<NewEvent>) -> Vec<NewEvent> {
        match self.detail() {
            // The payload is kept under this occurrence's id, so a replay of it (same
            // id) is recognised later even after the session has ended.
            None => vec![self.raw_event("")],
            Some(detail) if detail.session.status.is_terminal() => {
                *start = None;
                vec![self.event("", self.started_kind())]
            }
            Some(_) => {
                let mut events = vec![self.raw_event("")];
                if let Some(model) = model(self.payload) {
                    events.push(self.event(
                        "model",
                        EventKind::SessionUpdated {
                            status: None,
                            summary: None,
                            title: None,
                            model: Some(model),
                            watch: None,
                        },
                    ));
                }
                events
            }
        }
    }

    fn session_end(&self) -> Vec<NewEvent> {
        if self
            .detail()
            .is_some_and(|d| d.session.status.is_terminal())
        {
            return vec![self.raw_event("")];
        }
        let mut events = Vec::new();
        let open_chain = self
            .main_chain()
            .filter(|c| matches!(c.status, ChainStatus::Pending | ChainStatus::Running));
        if let Some(chain) = open_chain {
            events.push(self.event(
                "chain",
                EventKind::ChainCompleted {
                    chain_id: chain.id.clone(),
                    status: ChainStatus::Completed,
                },
            ));
        }
        events.push(self.event(
            "",
            EventKind::SessionEnded {
                status: chainwatch_shared::SessionStatus::Completed,
                reason: self.payload.str("reason").map(|r| cut(r, MAX_TEXT)),
            },
        ));
        events
    }

    fn tool(&self, status: ToolStatus) -> NewEvent {
        let error = (status == ToolStatus::Failed).then(|| self.error_text());
        self.event(
            "",
            EventKind::ToolUsed {
                tool_name: cut(self.payload.tool_name().unwrap_or("unknown"), MAX_NAME),
                tool_use_id: self.payload.tool_use_id().map(str::to_owned),
                status,
                input: self.payload.get("tool_input").map(cap_json),
                response: self.payload.get("tool_response").map(cap_json),
                error,
                step_id: running_step(self.payload),
                duration_ms: self.payload.get("duration_ms").and_then(Value::as_u64),
            },
        )
    }

    fn error_text(&self) -> String {
        match self.payload.get("error") {
            Some(Value::String(text)) if !text.trim().is_empty() => cut(text, MAX_TEXT),
            Some(Value::Null) | None => "the tool call failed".to_owned(),
            Some(other) => cut(&other.to_string(), MAX_TEXT),
        }
    }

    /// PostToolUse / PostToolUseFailure, with a Bash command's output as terminal output.
    fn tool_done(&self, status: ToolStatus) -> Vec<NewEvent> {
        let mut events = vec![self.tool(status)];
        if self.payload.tool_name() != Some("Bash") {
            return events;
        }
        let output = |suffix: &str, text: &str, stream| {
            self.event(
                suffix,
                EventKind::TerminalOutput {
                    text: cut(text, MAX_TEXT),
                    stream: Some(stream),
                    tool_use_id: self.payload.tool_use_id().map(str::to_owned),
                    step_id: running_step(self.payload),
                },
            )
        };
        let response = self.payload.get("tool_response");
        let field = |name: &str| {
            response
                .and_then(|r| r.get(name))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        if let Some(stdout) = field("stdout") {
            events.push(output("out", stdout, OutputStream::Stdout));
        }
        if let Some(stderr) = field("stderr") {
            events.push(output("err", stderr, OutputStream::Stderr));
        }
        if status == ToolStatus::Failed {
            events.push(output("fail", &self.error_text(), OutputStream::Stderr));
        }
        events
    }

    /// An Agent/Task call: a step of the main chain that waits for the steps finished
    /// since the last spawn (or, when spawned beside running ones, for what they wait for).
    fn task_started(&self) -> Vec<NewEvent> {
        let Some(tool_use_id) = self.payload.tool_use_id() else {
            return vec![self.tool(ToolStatus::Started)];
        };
        let step_id = task_step(tool_use_id);
        let input = self.payload.get("tool_input");
        let text = |field: &str| {
            input
                .and_then(|i| i.get(field))
                .and_then(Value::as_str)
                .filter(|v| !v.trim().is_empty())
        };
        let agent_type = text("subagent_type");
        let name = text("description")
            .or(agent_type)
            .or(self.payload.tool_name())
            .unwrap_or("Task");
        let parent = running_step(self.payload);
        let chain_id = ChainId::new(MAIN_CHAIN);
        vec![
            self.chain_started(),
            self.event(
                "spawn",
                EventKind::StepSpawned {
                    chain_id: chain_id.clone(),
                    step_id: step_id.clone(),
                    name: cut(name, MAX_NAME),
                    kind: StepKind::Task,
                    waits_for: waits_for(self.main_chain(), parent.as_ref(), &step_id),
                    parent_step_id: parent,
                    agent_type: agent_type.map(|a| cut(a, MAX_NAME)),
                    tool_use_id: Some(tool_use_id.to_owned()),
                    input: input.map(cap_json),
                },
            ),
            self.event("", EventKind::StepStarted { chain_id, step_id }),
        ]
    }

    fn task_completed(&self) -> Vec<NewEvent> {
        let Some(tool_use_id) = self.payload.tool_use_id() else {
            return vec![self.tool(ToolStatus::Succeeded)];
        };
        let mut events = vec![self.event(
            "",
            EventKind::StepCompleted {
                chain_id: ChainId::new(MAIN_CHAIN),
                step_id: task_step(tool_use_id),
                result: self.payload.get("tool_response").map(cap_json),
            },
        )];
        events.extend(self.subagent_link(tool_use_id));
        events
    }

    /// Claude Code names the subagent an Agent call started in the call's response
    /// (`agentId`): that subagent's step is tied to the call exactly, where several calls
    /// in parallel would otherwise leave SubagentStart to guess (see `spawning_task`).
    fn subagent_link(&self, tool_use_id: &str) -> Option<NewEvent> {
        let agent_id = self
            .payload
            .get("tool_response")?
            .get("agentId")?
            .as_str()
            .filter(|id| !id.is_empty())?;
        let agent_type = self
            .payload
            .get("tool_input")
            .and_then(|i| i.get("subagent_type"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        Some(self.event(
            "link",
            EventKind::StepSpawned {
                chain_id: ChainId::new(MAIN_CHAIN),
                step_id: agent_step(agent_id),
                name: cut(agent_type.unwrap_or("subagent"), MAX_NAME),
                kind: StepKind::Subagent,
                waits_for: Vec::new(),
                parent_step_id: Some(task_step(tool_use_id)),
                agent_type: agent_type.map(|a| cut(a, MAX_NAME)),
                tool_use_id: None,
                input: None,
            },
        ))
    }

    fn task_failed(&self) -> Vec<NewEvent> {
        let Some(tool_use_id) = self.payload.tool_use_id() else {
            return vec![self.tool(ToolStatus::Failed)];
        };
        vec![self.event(
            "",
            EventKind::StepFailed {
                chain_id: ChainId::new(MAIN_CHAIN),
                step_id: task_step(tool_use_id),
                error: self.error_text(),
            },
        )]
    }

    /// A subagent: a step of the main chain, child of the Agent/Task call that spawned it
    /// (the newest running call for the same agent type that has no subagent yet).
    fn subagent_started(&self) -> Vec<NewEvent> {
        let Some(agent_id) = self.payload.agent_id() else {
            return vec![self.raw_event("")];
        };
        let step_id = agent_step(agent_id);
        let agent_type = self.payload.str("agent_type").filter(|t| !t.is_empty());
        let chain_id = ChainId::new(MAIN_CHAIN);
        vec![
            self.chain_started(),
            self.event(
                "spawn",
                EventKind::StepSpawned {
                    chain_id: chain_id.clone(),
                    step_id: step_id.clone(),
                    name: cut(agent_type.unwrap_or("subagent"), MAX_NAME),
                    kind: StepKind::Subagent,
                    waits_for: Vec::new(),
                    parent_step_id: spawning_task(self.main_chain(), agent_type, agent_id),
                    agent_type: agent_type.map(|a| cut(a, MAX_NAME)),
                    tool_use_id: None,
                    input: None,
                },
            ),
            self.event("", EventKind::StepStarted { chain_id, step_id }),
        ]
    }

    fn subagent_stopped(&self) -> Vec<NewEvent> {
        let Some(agent_id) = self.payload.agent_id() else {
            return vec![self.raw_event("")];
        };
        vec![
            self.event(
                "",
                EventKind::StepCompleted {
                    chain_id: ChainId::new(MAIN_CHAIN),
                    step_id: agent_step(agent_id),
                    result: self
                        .payload
                        .str("last_assistant_message")
                        .map(|m| Value::String(cut(m, MAX_TEXT))),
                },
            ),
        ]
    }

    /// A permission request is posted as such only when a hook waits for its decision;
    /// otherwise (late from the spool, waiting off, AskUserQuestion) it is history.
    fn permission(&self) -> NewEvent {
        let waited = self.ctx.live
            && self.ctx.permission_wait
            && self.payload.tool_name() != Some("AskUserQuestion");
        if !waited {
            return self.raw_event("");
        }
        self.event(
            "",
            EventKind::PermissionRequested {
                request_id: permission_request_id(self.capture),
                tool_name: cut(self.payload.tool_name().unwrap_or("unknown"), MAX_NAME),
                tool_input: self
                    .payload
                    .get("tool_input")
                    .map(cap_json)
                    .unwrap_or(Value::Null),
                tool_use_id: self.payload.tool_use_id().map(str::to_owned),
            },
        )
    }

    /// Auto mode (or a rule) denied a tool call: the call failed, with the reason.
    fn permission_denied(&self) -> NewEvent {
        let reason = self
            .payload
            .str("reason")
            .filter(|r| !r.trim().is_empty())
            .unwrap_or("the permission was denied");
        self.event(
            "",
            EventKind::ToolUsed {
                tool_name: cut(self.payload.tool_name().unwrap_or("unknown"), MAX_NAME),
                tool_use_id: self.payload.tool_use_id().map(str::to_owned),
                status: ToolStatus::Failed,
                input: self.payload.get("tool_input").map(cap_json),
                response: None,
                error: Some(cut(&format!("Permission denied: {reason}"), MAX_TEXT)),
                step_id: running_step(self.payload),
                duration_ms: None,
            },
        )
    }

    /// The turn ended with an API error instead of a Stop.
    fn stop_failure(&self) -> NewEvent {
        let code = self.payload.str("error").filter(|e| !e.is_empty());
        let details = self
            .payload
            .get("error_details")
            .map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|d| !d.is_empty() && d != "null");
        let mut message = format!(
            "Claude's turn ended with an API error ({})",
            code.unwrap_or("unknown")
        );
        if let Some(details) = details {
            message.push_str(": ");
            message.push_str(&details);
        }
        self.event(
            "",
            EventKind::ErrorOccurred {
                message: cut(&message, MAX_TEXT),
                code: code.map(|c| cut(c, MAX_NAME)),
                step_id: running_step(self.payload),
            },
        )
    }

    /// A model switch: kept whole, and the session's model follows it.
    fn model_switched(&self) -> Vec<NewEvent> {
        let mut events = vec![self.raw_event("")];
        let named = ["model", "new_model", "to_model", "model_id"]
            .iter()
            .find_map(|field| match self.payload.get(field) {
                Some(Value::String(m)) if !m.is_empty() => Some(cut(m, MAX_NAME)),
                Some(Value::Object(o)) => o
                    .get("id")
                    .or_else(|| o.get("display_name"))
                    .and_then(Value::as_str)
                    .map(|m| cut(m, MAX_NAME)),
                _ => None,
            });
        if let Some(model) = named {
            events.push(self.event(
                "model",
                EventKind::SessionUpdated {
                    status: None,
                    summary: None,
                    title: None,
                    model: Some(model),
                    watch: None,
                },
            ));
        }
        events
    }

    fn compacted(&self) -> String {
        let trigger = self.payload.str("trigger").unwrap_or("auto");
        format!("The conversation was compacted ({trigger})")
    }

    fn cwd_changed(&self) -> String {
        match (self.payload.str("old_cwd"), self.payload.str("new_cwd")) {
            (Some(old), Some(new)) => format!("Working directory changed from {old} to {new}"),
            (_, Some(new)) => format!("Working directory changed to {new}"),
            _ => "Working directory changed".to_owned(),
        }
    }

    /// A notice for the person, as a notification named after the hook event.
    fn note(&self, suffix: &str, message: String) -> NewEvent {
        self.event(
            suffix,
            EventKind::AgentNotification {
                message: cut(&message, MAX_TEXT),
                notification_type: Some(cut(self.payload.event_name(), MAX_NAME)),
            },
        )
    }

    fn stop(&self) -> NewEvent {
        let prompt = self
            .payload
            .str("last_assistant_message")
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(STOP_PROMPT);
        self.event(
            "",
            EventKind::InteractionAwaitingInput {
                request_id: stop_request_id(self.capture),
                prompt: cut(prompt, MAX_TEXT),
                quick_responses: Vec::new(),
                step_id: None,
            },
        )
    }
}

/// The request id of a Stop's question.
pub fn stop_request_id(capture: &Capture) -> chainwatch_shared::RequestId {
    ids::request_id("stop-", &capture.base, None)
}

/// The request id of a PermissionRequest.
pub fn permission_request_id(capture: &Capture) -> chainwatch_shared::RequestId {
    ids::request_id("perm-", &capture.base, None)
}

fn model(payload: &Payload) -> Option<String> {
    match payload.get("model") {
        Some(Value::String(m)) if !m.is_empty() => Some(cut(m, MAX_NAME)),
        // Some versions send `{"id": …, "display_name": …}`.
        Some(Value::Object(o)) => o
            .get("id")
            .or_else(|| o.get("display_name"))
            .and_then(Value::as_str)
            .map(|m| cut(m, MAX_NAME)),
        _ => None,
    }
}

/// The steps a new Agent/Task step waits for, among its siblings (same parent): the
/// finished ones no later sibling started after; failing those, what the newest running
/// sibling waits for (the new one runs beside it).
fn waits_for(chain: Option<&Chain>, parent: Option<&StepId>, new: &StepId) -> Vec<StepId> {
    let Some(chain) = chain else {
        return Vec::new();
    };
    let siblings: Vec<&ChainStep> = chain
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Task && s.parent_step_id.as_ref() == parent && &s.id != new)
        .collect();
    let finished = |s: &ChainStep| matches!(s.status, StepStatus::Completed | StepStatus::Failed);
    let consumed = |s: &ChainStep| {
        s.ended_at.is_some_and(|end| {
            siblings
                .iter()
                .any(|other| other.id != s.id && other.started_at.is_some_and(|t| t >= end))
        })
    };
    let fresh: Vec<StepId> = siblings
        .iter()
        .filter(|s| finished(s) && !consumed(s))
        .map(|s| s.id.clone())
        .collect();
    if !fresh.is_empty() {
        return fresh;
    }
    siblings
        .iter()
        .rev()
        .find(|s| matches!(s.status, StepStatus::Running | StepStatus::Pending))
        .map(|s| s.waits_for.clone())
        .unwrap_or_default()
}

/// The Agent/Task step a new subagent belongs to: the call whose response named it
/// (`agentId`, when that call's PostToolUse came first), else a guess.
fn spawning_task(
    chain: Option<&Chain>,
    agent_type: Option<&str>,
    agent_id: &str,
) -> Option<StepId> {
    let chain = chain?;
    let named = chain.steps.iter().find(|s| {
        s.kind == StepKind::Task
            && s.result
                .as_ref()
                .and_then(|r| r.get("agentId"))
                .and_then(Value::as_str)
                == Some(agent_id)
    });
    if let Some(task) = named {
        return Some(task.id.clone());
    }
    let has_child = |task: &ChainStep| {
        chain
            .steps
            .iter()
            .any(|s| s.kind == StepKind::Subagent && s.parent_step_id.as_ref() == Some(&task.id))
    };
    let open: Vec<&ChainStep> = chain
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Task && s.status == StepStatus::Running && !has_child(s))
        .collect();
    open.iter()
        .rev()
        .find(|s| agent_type.is_some() && s.agent_type.as_deref() == agent_type)
        .or_else(|| open.last())
        .map(|s| s.id.clone())
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with("\\\\")
        || (bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'\\' | b'/'))
}

/// `text` cut to at most `max` bytes on a character boundary, without NUL characters.
pub fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].replace('\0', "")
}

/// A JSON value, or a preview of it when it is too big to post whole.
fn cap_json(value: &Value) -> Value {
    let Ok(text) = serde_json::to_string(value) else {
        return Value::Null;
    };
    if text.len() <= MAX_JSON {
        return value.clone();
    }
    json!({"truncated": true, "bytes": text.len(), "preview": cut(&text, JSON_PREVIEW)})
}

#[cfg(test)]
mod tests;
