//! Projections: the state the event log folds into. [`SessionRecord::apply`] is the one
//! fold; the commit thread uses it to validate operations against current state, the
//! read model uses it for queries, and start-up uses it to rebuild both from the log.
//! Folding the same events always gives the same state (the web app's reducer mirrors
//! it for the browser).

use std::collections::{HashMap, VecDeque};

use super::calls::{self, CallMemory};

use chainwatch_shared::{
    AwaitingInput, Chain, ChainId, ChainStatus, ChainStep, Command, CommandStatus, CommandType,
    EventKind, FileChange, FileChangeKind, InputAnswer, PermissionBehavior, PermissionDecision,
    PermissionRequest, RequestId, Session, SessionCounts, SessionDetail, SessionId, SessionStatus,
    SessionUsage, StepId, StepKind, StepStatus, ToolStatus, WatchState, WorkspaceEvent,
};

/// How much of a session's first prompt it keeps as its name (`Session::first_prompt`).
pub const FIRST_PROMPT_CHARS: usize = 200;
/// How many prompts a session keeps for search (the newest), and how much of each.
pub const PROMPTS_KEPT: usize = 32;
/// See [`PROMPTS_KEPT`].
pub const PROMPT_SEARCH_CHARS: usize = 1000;
/// How many answers a session remembers (the newest).
const ANSWERS_KEPT: usize = 64;
/// How many file changes a session remembers (the newest); the log has them all.
const FILE_CHANGES_KEPT: usize = 1000;
/// How many decided permission requests a session remembers.
const DECIDED_PERMISSIONS_KEPT: usize = 256;

/// Everything the server keeps in memory about one session. Serializable for the
/// start-up snapshot (`core::snapshot`): a change to these fields or to the fold must
/// bump `snapshot::SCHEMA`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    /// The list view of the session (includes pending questions, permissions, commands).
    pub session: Session,
    /// Its chains with their steps.
    pub chains: Vec<Chain>,
    step_index: HashMap<StepId, (usize, usize)>,
    /// Every command issued, oldest first.
    pub commands: Vec<Command>,
    /// Decided permission requests, oldest first (pending ones are on `session`).
    pub decided_permissions: VecDeque<PermissionRequest>,
    /// The newest answers.
    pub answers: VecDeque<InputAnswer>,
    /// The newest file changes.
    pub file_changes: VecDeque<FileChange>,
    /// The newest prompts, each cut to `PROMPT_SEARCH_CHARS`: what a History search
    /// looks in besides the session's own fields.
    pub prompts: VecDeque<String>,
    /// Open and denied tool calls, changed files (core/calls.rs).
    #[serde(default)]
    pub calls: CallMemory,
}

fn not_watched() -> WatchState {
    WatchState {
        watched: false,
        reason: Some(
            "file watching is off on this server, or has not started for this session".into(),
        ),
    }
}

impl SessionRecord {
    /// A new record from a `session:started` event; `None` for any other event.
    pub fn start(event: &WorkspaceEvent) -> Option<Self> {
        let EventKind::SessionStarted { .. } = &event.kind else {
            return None;
        };
        let mut record = Self {
            session: Session {
                id: event.session_id.clone(),
                cwd: String::new(),
                hostname: None,
                platform: None,
                user: None,
                model: None,
                title: None,
                first_prompt: None,
                summary: None,
                source: None,
                status: SessionStatus::Pending,
                paused: false,
                started_at: event.timestamp,
                updated_at: event.timestamp,
                ended_at: None,
                end_reason: None,
                watch: not_watched(),
                counts: SessionCounts::default(),
                usage: SessionUsage::default(),
                awaiting_input: None,
                pending_permissions: Vec::new(),
                pending_commands: Vec::new(),
                current_step_id: None,
                last_seq: 0,
            },
            chains: Vec::new(),
            step_index: HashMap::new(),
            commands: Vec::new(),
            decided_permissions: VecDeque::new(),
            answers: VecDeque::new(),
            file_changes: VecDeque::new(),
            prompts: VecDeque::new(),
            calls: CallMemory::default(),
        };
        record.apply(event);
        Some(record)
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        self.session.status.is_terminal()
    }

    /// The session with its chains, as `GET /api/sessions/{id}` renders it.
    pub fn detail(&self) -> SessionDetail {
        SessionDetail {
            session: self.session.clone(),
            chains: self.chains.clone(),
            answers: self.answers.iter().cloned().collect(),
            file_changes: self.file_changes.iter().cloned().collect(),
        }
    }

    /// A permission request by id, pending or decided.
    pub fn permission(&self, request_id: &RequestId) -> Option<&PermissionRequest> {
        self.session
            .pending_permissions
            .iter()
            .chain(self.decided_permissions.iter())
            .find(|p| &p.request_id == request_id)
    }

    /// The answer to a question, when given.
    pub fn answer(&self, request_id: &RequestId) -> Option<&InputAnswer> {
        self.answers
            .iter()
            .rev()
            .find(|a| &a.request_id == request_id)
    }

    /// A step by id.
    pub fn step(&self, step_id: &StepId) -> Option<&ChainStep> {
        let &(c, s) = self.step_index.get(step_id)?;
        self.chains.get(c)?.steps.get(s)
    }

    /// Moves a session out of `pending`/`waiting` when the agent shows activity.
    fn activity(&mut self) {
        if matches!(self.session.status, SessionStatus::Pending) {
            self.session.status = SessionStatus::Active;
        }
    }

    /// Back to active once nothing waits for a person any more.
    fn settle_waiting(&mut self) {
        if self.session.status == SessionStatus::Waiting
            && self.session.awaiting_input.is_none()
            && self.session.pending_permissions.is_empty()
        {
            self.session.status = if self.session.paused {
                SessionStatus::Paused
            } else {
                SessionStatus::Active
            };
        }
    }

    /// Moves the pending requests `which` picks to the decided ones as settled: the
    /// session moved on without the page's answer (Claude Code's dialog was answered in
    /// the terminal, or the turn ended).
    fn settle_permissions(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        which: impl Fn(&PermissionRequest) -> bool,
    ) {
        let (settled, pending): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.session.pending_permissions)
                .into_iter()
                .partition(|p| which(p));
        self.session.pending_permissions = pending;
        for mut request in settled {
            request.settled_at = Some(at);
            if self.decided_permissions.len() == DECIDED_PERMISSIONS_KEPT {
                self.decided_permissions.pop_front();
            }
            self.decided_permissions.push_back(request);
        }
        self.settle_waiting();
    }

    fn chain_mut(&mut self, chain_id: &ChainId) -> usize {
        if let Some(i) = self.chains.iter().position(|c| &c.id == chain_id) {
            return i;
        }
        self.chains.push(Chain {
            id: chain_id.clone(),
            session_id: self.session.id.clone(),
            name: None,
            status: ChainStatus::Pending,
            steps: Vec::new(),
            started_at: None,
            completed_at: None,
        });
        self.chains.len() - 1
    }

    fn step_mut(&mut self, chain_id: &ChainId, step_id: &StepId) -> &mut ChainStep {
        let (c, s) = match self.step_index.get(step_id) {
            Some(&pos) => pos,
            None => {
                let c = self.chain_mut(chain_id);
                let s = self.chains[c].steps.len();
                self.chains[c].steps.push(ChainStep {
                    id: step_id.clone(),
                    chain_id: chain_id.clone(),
                    name: step_id.to_string(),
                    kind: StepKind::Step,
                    status: StepStatus::Pending,
                    waits_for: Vec::new(),
                    parent_step_id: None,
                    agent_type: None,
                    tool_use_id: None,
                    input: None,
                    result: None,
                    error: None,
                    started_at: None,
                    ended_at: None,
                });
                self.session.counts.steps += 1;
                self.step_index.insert(step_id.clone(), (c, s));
                (c, s)
            }
        };
        &mut self.chains[c].steps[s]
    }

    fn end_step(&mut self, step_id: &StepId) {
        if self.session.current_step_id.as_ref() == Some(step_id) {
            self.session.current_step_id = None;
        }
    }

    fn record_file(
        &mut self,
        event: &WorkspaceEvent,
        path: &str,
        change: FileChangeKind,
        step_id: &Option<StepId>,
    ) {
        if let Some(path) = calls::relative_to_cwd(path, &self.session.cwd)
            && self.calls.changed(path)
        {
            self.session.counts.file_changes += 1;
        }
        if self.file_changes.len() == FILE_CHANGES_KEPT {
            self.file_changes.pop_front();
        }
        self.file_changes.push_back(FileChange {
            path: path.to_owned(),
            change,
            step_id: step_id.clone(),
            at: event.timestamp,
            seq: event.seq,
        });
    }

    /// Folds one event of this session into the record.
    pub fn apply(&mut self, event: &WorkspaceEvent) {
        let s = &mut self.session;
        s.last_seq = s.last_seq.max(event.seq);
        s.updated_at = event.timestamp;
        s.counts.events += 1;
        match &event.kind {
            EventKind::SessionStarted {
                cwd,
                hostname,
                platform,
                user,
                model,
                title,
                source,
                watch,
            } => {
                s.cwd.clone_from(cwd);
                let keep = |field: &mut Option<String>, value: &Option<String>| {
                    if value.is_some() {
                        field.clone_from(value);
                    }
                };
                keep(&mut s.hostname, hostname);
                keep(&mut s.platform, platform);
                keep(&mut s.user, user);
                keep(&mut s.model, model);
                keep(&mut s.title, title);
                keep(&mut s.source, source);
                if let Some(watch) = watch {
                    s.watch = watch.clone();
                }
                if s.status.is_terminal() {
                    // A resumed session (claude --resume) starts again.
                    s.status = SessionStatus::Active;
                    s.ended_at = None;
                    s.end_reason = None;
                }
            }
            EventKind::SessionUpdated {
                status,
                summary,
                title,
                model,
                watch,
            } => {
                if let Some(status) = status {
                    s.status = *status;
                }
                if summary.is_some() {
                    s.summary.clone_from(summary);
                }
                if title.is_some() {
                    s.title.clone_from(title);
                }
                if model.is_some() {
                    s.model.clone_from(model);
                }
                if let Some(watch) = watch {
                    s.watch = watch.clone();
                }
            }
            EventKind::SessionEnded { status, reason } => {
                s.status = *status;
                s.ended_at = Some(event.timestamp);
                s.end_reason.clone_from(reason);
                s.awaiting_input = None;
                s.current_step_id = None;
                s.watch = WatchState {
                    watched: false,
                    reason: Some("the session has ended".into()),
                };
            }
            EventKind::ChainCompiled {
                chain_id,
                name,
                steps,
            } => {
                let c = self.chain_mut(chain_id);
                if name.is_some() {
                    self.chains[c].name.clone_from(name);
                }
                for spec in steps {
                    let step = self.step_mut(chain_id, &spec.step_id);
                    step.name.clone_from(&spec.name);
                    step.waits_for.clone_from(&spec.waits_for);
                    step.parent_step_id.clone_from(&spec.parent_step_id);
                }
            }
            EventKind::ChainStarted { chain_id } => {
                self.activity();
                let c = self.chain_mut(chain_id);
                self.chains[c].status = ChainStatus::Running;
                self.chains[c].started_at = Some(event.timestamp);
            }
            EventKind::ChainCompleted { chain_id, status } => {
                let c = self.chain_mut(chain_id);
                self.chains[c].status = *status;
                self.chains[c].completed_at = Some(event.timestamp);
            }
            EventKind::StepSpawned {
                chain_id,
                step_id,
                name,
                kind,
                waits_for,
                parent_step_id,
                agent_type,
                tool_use_id,
                input,
            } => {
                self.activity();
                let step = self.step_mut(chain_id, step_id);
                step.name.clone_from(name);
                step.kind = *kind;
                step.waits_for.clone_from(waits_for);
                step.parent_step_id.clone_from(parent_step_id);
                step.agent_type.clone_from(agent_type);
                step.tool_use_id.clone_from(tool_use_id);
                step.input.clone_from(input);
            }
            EventKind::StepStarted { chain_id, step_id } => {
                self.activity();
                let at = event.timestamp;
                let step = self.step_mut(chain_id, step_id);
                step.status = StepStatus::Running;
                step.started_at = Some(at);
                self.session.current_step_id = Some(step_id.clone());
            }
            EventKind::StepCompleted {
                chain_id,
                step_id,
                result,
            } => {
                let at = event.timestamp;
                let step = self.step_mut(chain_id, step_id);
                let newly = step.status != StepStatus::Completed;
                step.status = StepStatus::Completed;
                step.result.clone_from(result);
                step.ended_at = Some(at);
                if newly {
                    self.session.counts.steps_completed += 1;
                }
                self.end_step(step_id);
            }
            EventKind::StepFailed {
                chain_id,
                step_id,
                error,
            } => {
                let at = event.timestamp;
                let step = self.step_mut(chain_id, step_id);
                step.status = StepStatus::Failed;
                step.error = Some(error.clone());
                step.ended_at = Some(at);
                self.session.counts.failures += 1;
                self.end_step(step_id);
            }
            EventKind::InteractionAwaitingInput {
                request_id,
                prompt,
                quick_responses,
                step_id,
            } => {
                // The turn ended: nothing waits for a permission any more.
                if !self.session.pending_permissions.is_empty() {
                    self.settle_permissions(event.timestamp, |_| true);
                }
                let s = &mut self.session;
                s.awaiting_input = Some(AwaitingInput {
                    request_id: request_id.clone(),
                    prompt: prompt.clone(),
                    quick_responses: quick_responses.clone(),
                    step_id: step_id.clone(),
                    since: event.timestamp,
                });
                if !s.status.is_terminal() {
                    s.status = SessionStatus::Waiting;
                }
            }
            EventKind::InteractionInputReceived {
                request_id,
                text,
                answered_by,
            } => {
                if s.awaiting_input
                    .as_ref()
                    .is_some_and(|a| &a.request_id == request_id)
                {
                    s.awaiting_input = None;
                }
                if self.answers.len() == ANSWERS_KEPT {
                    self.answers.pop_front();
                }
                self.answers.push_back(InputAnswer {
                    request_id: request_id.clone(),
                    text: text.clone(),
                    answered_at: event.timestamp,
                    seq: event.seq,
                    answered_by: answered_by.clone(),
                });
                self.settle_waiting();
            }
            EventKind::PermissionRequested {
                request_id,
                tool_name,
                tool_input,
                tool_use_id,
            } => {
                s.pending_permissions
                    .retain(|p| &p.request_id != request_id);
                s.pending_permissions.push(PermissionRequest {
                    request_id: request_id.clone(),
                    tool_name: tool_name.clone(),
                    tool_input: tool_input.clone(),
                    tool_use_id: tool_use_id.clone(),
                    requested_at: event.timestamp,
                    decision: None,
                    settled_at: None,
                });
                if !s.status.is_terminal() {
                    s.status = SessionStatus::Waiting;
                }
            }
            EventKind::PermissionDecided {
                request_id,
                behavior,
                message,
                decided_by,
            } => {
                if let Some(i) = s
                    .pending_permissions
                    .iter()
                    .position(|p| &p.request_id == request_id)
                {
                    let mut request = s.pending_permissions.remove(i);
                    // A denied call never runs, so no later event settles it: the
                    // denial does, as a failed call.
                    if *behavior == PermissionBehavior::Deny
                        && self.calls.deny(
                            request.tool_use_id.as_deref(),
                            &request.tool_name,
                            &request.tool_input,
                        )
                    {
                        s.counts.tool_calls += 1;
                        s.counts.failures += 1;
                    }
                    request.decision = Some(PermissionDecision {
                        behavior: *behavior,
                        message: message.clone(),
                        decided_at: event.timestamp,
                        decided_by: decided_by.clone(),
                    });
                    if self.decided_permissions.len() == DECIDED_PERMISSIONS_KEPT {
                        self.decided_permissions.pop_front();
                    }
                    self.decided_permissions.push_back(request);
                }
                self.settle_waiting();
            }
            EventKind::CommandIssued {
                command_id,
                command,
                step_id,
                reason,
                issued_by,
            } => {
                let issued = Command {
                    id: command_id.clone(),
                    session_id: event.session_id.clone(),
                    command: *command,
                    step_id: step_id.clone(),
                    reason: reason.clone(),
                    status: CommandStatus::Pending,
                    issued_at: event.timestamp,
                    acknowledged_at: None,
                    note: None,
                    issued_by: issued_by.clone(),
                };
                s.pending_commands.push(issued.clone());
                self.commands.push(issued);
                match command {
                    CommandType::Pause => {
                        self.session.paused = true;
                        if !self.session.status.is_terminal() {
                            self.session.status = SessionStatus::Paused;
                        }
                    }
                    CommandType::Resume => {
                        self.session.paused = false;
                        if self.session.status == SessionStatus::Paused {
                            self.session.status = SessionStatus::Active;
                        }
                    }
                    CommandType::Cancel | CommandType::Retry | CommandType::Skip => {}
                }
            }
            EventKind::CommandAcknowledged { command_id, note } => {
                s.pending_commands.retain(|c| &c.id != command_id);
                if let Some(command) = self.commands.iter_mut().find(|c| &c.id == command_id) {
                    command.status = CommandStatus::Acknowledged;
                    command.acknowledged_at = Some(event.timestamp);
                    command.note.clone_from(note);
                }
            }
            EventKind::FileCreated { path, step_id } => {
                self.record_file(event, path, FileChangeKind::Created, step_id)
            }
            EventKind::FileModified { path, step_id } => {
                self.record_file(event, path, FileChangeKind::Modified, step_id)
            }
            EventKind::FileDeleted { path, step_id } => {
                self.record_file(event, path, FileChangeKind::Deleted, step_id)
            }
            EventKind::ToolUsed {
                status,
                tool_name,
                input,
                tool_use_id,
                ..
            } => {
                // The call a pending request asked about ran or failed: it was answered
                // elsewhere. (Permission requests carry no tool_use_id; the same tool
                // with the same input is the same call.)
                if *status != ToolStatus::Started && !s.pending_permissions.is_empty() {
                    let input = input.clone().unwrap_or(serde_json::Value::Null);
                    let name = tool_name.clone();
                    self.settle_permissions(event.timestamp, |p| {
                        p.tool_name == name && p.tool_input == input
                    });
                }
                let (counts, started_path) = match (status, tool_use_id) {
                    (ToolStatus::Started, Some(id)) => {
                        self.calls.started(id, tool_name, input.as_ref());
                        (false, None)
                    }
                    (ToolStatus::Started, None) => (false, None),
                    (_, Some(id)) => self.calls.finished(id),
                    (_, None) => (true, None),
                };
                if *status == ToolStatus::Succeeded && calls::changes_file(tool_name) {
                    let path = calls::input_path(input.as_ref())
                        .map(str::to_owned)
                        .or(started_path);
                    if let Some(path) =
                        path.and_then(|p| calls::relative_to_cwd(&p, &self.session.cwd))
                        && self.calls.changed(path)
                    {
                        self.session.counts.file_changes += 1;
                    }
                }
                let s = &mut self.session;
                match status {
                    ToolStatus::Started => {}
                    ToolStatus::Succeeded if counts => s.counts.tool_calls += 1,
                    ToolStatus::Failed if counts => {
                        s.counts.tool_calls += 1;
                        s.counts.failures += 1;
                    }
                    ToolStatus::Succeeded | ToolStatus::Failed => {}
                }
                self.activity();
            }
            EventKind::PromptSubmitted { prompt } => {
                s.counts.prompts += 1;
                if s.first_prompt.is_none() && !prompt.trim().is_empty() {
                    s.first_prompt = Some(prompt.trim().chars().take(FIRST_PROMPT_CHARS).collect());
                }
                // A prompt typed in the terminal answers whatever the agent waited on.
                s.awaiting_input = None;
                if matches!(s.status, SessionStatus::Pending | SessionStatus::Waiting) {
                    s.status = SessionStatus::Active;
                }
                self.settle_waiting();
                if self.prompts.len() == PROMPTS_KEPT {
                    self.prompts.pop_front();
                }
                // Kept lower-cased: searches are case-insensitive and run often.
                let kept: String = prompt.chars().take(PROMPT_SEARCH_CHARS).collect();
                self.prompts.push_back(kept.to_lowercase());
            }
            EventKind::ErrorOccurred { .. } => s.counts.failures += 1,
            EventKind::MessageAssistant {
                usage, cost_usd, ..
            } => {
                if let Some(usage) = usage {
                    let total = &mut s.usage;
                    total.input_tokens = total.input_tokens.saturating_add(usage.input_tokens);
                    total.output_tokens = total.output_tokens.saturating_add(usage.output_tokens);
                    total.cache_read_tokens = total
                        .cache_read_tokens
                        .saturating_add(usage.cache_read_tokens);
                    total.cache_creation_tokens = total
                        .cache_creation_tokens
                        .saturating_add(usage.cache_creation_tokens);
                    total.requests += 1;
                    total.context_tokens = usage.context_tokens();
                    match cost_usd {
                        Some(cost) => total.cost_usd += cost,
                        None => total.unpriced_requests += 1,
                    }
                } else if let Some(cost) = cost_usd {
                    s.usage.cost_usd += cost;
                }
                self.activity();
            }
            // Removal is the container's business (`Projection::apply`, the read model).
            EventKind::SessionPruned {} => {}
            EventKind::TerminalOutput { .. }
            | EventKind::AgentNotification { .. }
            | EventKind::AgentEvent { .. } => {}
        }
    }
}

/// The ended sessions whose end is older than `cutoff` (retention).
pub fn ended_before<'a>(
    records: impl Iterator<Item = &'a SessionRecord>,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Vec<SessionId> {
    records
        .filter(|r| r.session.ended_at.is_some_and(|ended| ended < cutoff))
        .map(|r| r.session.id.clone())
        .collect()
}

/// All sessions, keyed by id: the state the commit thread validates against.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Projection {
    /// Sessions by id.
    pub sessions: HashMap<SessionId, SessionRecord>,
}

impl Projection {
    /// Folds one event. An event of an unknown session other than `session:started` is
    /// ignored (the core never commits one).
    pub fn apply(&mut self, event: &WorkspaceEvent) {
        if let EventKind::SessionPruned {} = event.kind {
            self.sessions.remove(&event.session_id);
            return;
        }
        match self.sessions.get_mut(&event.session_id) {
            Some(record) => record.apply(event),
            None => {
                if let Some(record) = SessionRecord::start(event) {
                    self.sessions.insert(event.session_id.clone(), record);
                }
            }
        }
    }
}
