//! The operations of the domain: each turns a request into the events it causes, after
//! checking it against the current state. An operation that fails changes nothing and
//! emits nothing. Runs on the commit thread only, so each sees the state left by the
//! one before it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chainwatch_shared::{
    AcknowledgeCommand, AwaitInput, AwaitingInput, Command, CommandId, CommandStatus,
    CreateSession, DecidePermission, EndSession, EventId, EventKind, IngestedEvent, InputAnswer,
    IssueCommand, NewEvent, PermissionRequest, RequestId, RequestPermission, Session, SessionId,
    SessionStatus, StepId, SubmitInput, UpdateSession, WatchState, WorkspaceEvent,
};
use chrono::{DateTime, Utc};

use super::CoreError;
use super::projection::{Projection, SessionRecord};
use super::validate::{self, MAX_NAME_LEN, MAX_TEXT_LEN};
use crate::store::{LogWriter, LoggedEvent};

/// A request to change state. Routes build these; only the core executes them.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// `POST /api/sessions`.
    CreateSession(CreateSession),
    /// `PUT /api/sessions/{id}`.
    UpdateSession(SessionId, UpdateSession),
    /// `POST /api/sessions/{id}/end`.
    EndSession(SessionId, EndSession),
    /// `POST /api/events`: events as agents report them; all or none are stored.
    Ingest(Vec<NewEvent>),
    /// `POST /api/sessions/{id}/commands`, by the named principal.
    IssueCommand(SessionId, IssueCommand, By),
    /// `POST /api/sessions/{id}/commands/{commandId}/ack`.
    AcknowledgeCommand(SessionId, CommandId, AcknowledgeCommand),
    /// `POST /api/sessions/{id}/awaiting-input`.
    AwaitInput(SessionId, AwaitInput),
    /// `POST /api/sessions/{id}/input`, by the named principal.
    SubmitInput(SessionId, SubmitInput, By),
    /// `POST /api/sessions/{id}/permissions`.
    RequestPermission(SessionId, RequestPermission),
    /// `POST /api/sessions/{id}/permissions/{requestId}`, by the named principal.
    DecidePermission(SessionId, RequestId, DecidePermission, By),
    /// Retention: remove sessions that ended before the cutoff, with their events.
    Prune {
        /// Sessions ended before this go.
        ended_before: DateTime<Utc>,
    },
    /// The file watcher started or stopped watching a session's cwd: emits
    /// `session:updated { watch }`. A no-op (no event) when the session has ended or the
    /// state is already the one given.
    SetWatch(SessionId, WatchState),
}

/// Who made a decision, answer or command: the authenticated principal's name (the
/// token's name, `local` on a tokenless loopback server). Routes take it from the
/// request's principal, never from its body; the core records it on the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By(pub String);

/// What an operation produced, for the route to render.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The session as it stands after the operation.
    Session(Box<Session>),
    /// One entry per ingested event.
    Ingested(Vec<IngestedEvent>),
    /// The command issued or acknowledged.
    Command(Command),
    /// The question now awaited.
    Awaiting(AwaitingInput),
    /// The answer recorded.
    Answer(InputAnswer),
    /// The permission request, asked or decided.
    Permission(PermissionRequest),
    /// Sessions removed by retention, and how many events went with them.
    Pruned {
        /// The sessions.
        sessions: Vec<SessionId>,
        /// Their events.
        events: u64,
    },
}

/// A fresh server-made id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Stages events for one commit: assigns seqs, folds them into the commit thread's
/// projection, and encodes each once.
pub struct Stager<'a> {
    pub(super) projection: &'a mut Projection,
    pub(super) next_seq: &'a mut u64,
    pub(super) staged: &'a mut Vec<(Arc<WorkspaceEvent>, LoggedEvent)>,
    /// Event ids staged in this commit, for idempotency before they are in the log.
    pub(super) staged_ids: &'a mut HashMap<EventId, u64>,
    pub(super) writer: &'a mut dyn LogWriter,
    pub(super) now: DateTime<Utc>,
}

impl Stager<'_> {
    fn emit(
        &mut self,
        session_id: &SessionId,
        kind: EventKind,
        event_id: Option<EventId>,
        timestamp: Option<DateTime<Utc>>,
    ) -> Result<IngestedEvent, CoreError> {
        let event = WorkspaceEvent {
            seq: *self.next_seq,
            event_id: event_id.unwrap_or_else(|| EventId(new_id())),
            session_id: session_id.clone(),
            timestamp: timestamp.unwrap_or(self.now),
            kind,
        };
        let json = serde_json::to_string(&event)
            .map_err(|e| CoreError::Invalid(format!("event cannot be encoded: {e}")))?;
        *self.next_seq += 1;
        self.projection.apply(&event);
        self.staged_ids.insert(event.event_id.clone(), event.seq);
        let logged = LoggedEvent {
            seq: event.seq,
            event_id: event.event_id.clone(),
            session_id: event.session_id.clone(),
            global: event.kind.is_global(),
            json: Arc::from(json),
        };
        let ingested = IngestedEvent {
            event_id: event.event_id.clone(),
            seq: event.seq,
            duplicate: false,
        };
        self.staged.push((Arc::new(event), logged));
        Ok(ingested)
    }

    fn record(&self, id: &SessionId) -> Result<&SessionRecord, CoreError> {
        self.projection
            .sessions
            .get(id)
            .ok_or_else(|| CoreError::session_not_found(id))
    }

    fn live_record(&self, id: &SessionId) -> Result<&SessionRecord, CoreError> {
        let record = self.record(id)?;
        if record.is_ended() {
            return Err(CoreError::Conflict(format!(
                "session '{id}' has ended ({}); it takes no more commands or answers",
                record.session.status.as_str()
            )));
        }
        Ok(record)
    }

    fn session(&self, id: &SessionId) -> Result<Outcome, CoreError> {
        Ok(Outcome::Session(Box::new(self.record(id)?.session.clone())))
    }

    /// The seq an event id already has, in the log or earlier in this commit.
    fn existing_seq(&mut self, event_id: &EventId) -> Result<Option<u64>, CoreError> {
        if let Some(seq) = self.staged_ids.get(event_id) {
            return Ok(Some(*seq));
        }
        Ok(self.writer.seq_of(event_id)?)
    }

    /// Runs one operation.
    pub fn execute(&mut self, mutation: Mutation) -> Result<Outcome, CoreError> {
        match mutation {
            Mutation::CreateSession(request) => self.create_session(request),
            Mutation::UpdateSession(id, request) => self.update_session(&id, request),
            Mutation::EndSession(id, request) => self.end_session(&id, request),
            Mutation::Ingest(events) => self.ingest(events),
            Mutation::IssueCommand(id, request, by) => self.issue_command(&id, request, by),
            Mutation::AcknowledgeCommand(id, command_id, request) => {
                self.acknowledge(&id, &command_id, request)
            }
            Mutation::AwaitInput(id, request) => self.await_input(&id, request),
            Mutation::SubmitInput(id, request, by) => self.submit_input(&id, request, by),
            Mutation::RequestPermission(id, request) => self.request_permission(&id, request),
            Mutation::DecidePermission(id, request_id, request, by) => {
                self.decide_permission(&id, &request_id, request, by)
            }
            Mutation::Prune { ended_before } => self.prune(ended_before),
            Mutation::SetWatch(id, watch) => self.set_watch(&id, watch),
        }
    }

    fn create_session(&mut self, request: CreateSession) -> Result<Outcome, CoreError> {
        validate::cwd(&request.cwd)?;
        for (field, value) in [
            ("hostname", &request.hostname),
            ("platform", &request.platform),
            ("user", &request.user),
            ("model", &request.model),
            ("title", &request.title),
        ] {
            validate::optional_text(field, value.as_deref(), MAX_NAME_LEN)?;
        }
        let id = match request.id {
            Some(id) => {
                validate::id("id", id.as_str())?;
                if self.projection.sessions.contains_key(&id) {
                    return Err(CoreError::Conflict(format!(
                        "a session with id '{id}' already exists"
                    )));
                }
                id
            }
            None => SessionId(new_id()),
        };
        let kind = EventKind::SessionStarted {
            cwd: request.cwd,
            hostname: request.hostname,
            platform: request.platform,
            user: request.user,
            model: request.model,
            title: request.title,
            source: Some("api".into()),
            watch: None,
        };
        self.emit(&id, kind, None, None)?;
        self.session(&id)
    }

    /// Deletes the sessions' events in its own transaction, then records one
    /// `session:pruned` per session so open lists drop them. A crash between the two
    /// leaves the sessions gone (their events are), just unannounced until reload.
    fn prune(&mut self, cutoff: DateTime<Utc>) -> Result<Outcome, CoreError> {
        let sessions = super::projection::ended_before(self.projection.sessions.values(), cutoff);
        if sessions.is_empty() {
            return Ok(Outcome::Pruned {
                sessions,
                events: 0,
            });
        }
        let events = self.writer.delete_sessions(&sessions)?;
        for id in &sessions {
            self.emit(id, EventKind::SessionPruned {}, None, None)?;
        }
        Ok(Outcome::Pruned { sessions, events })
    }

    fn update_session(
        &mut self,
        id: &SessionId,
        request: UpdateSession,
    ) -> Result<Outcome, CoreError> {
        let kind = EventKind::SessionUpdated {
            status: request.status,
            summary: request.summary,
            title: request.title,
            model: request.model,
            watch: None,
        };
        self.check_lifecycle(id, &kind)?;
        self.emit(id, kind, None, None)?;
        self.session(id)
    }

    fn set_watch(&mut self, id: &SessionId, watch: WatchState) -> Result<Outcome, CoreError> {
        let record = self.record(id)?;
        // The watcher may learn of an end after it happened: that is not an error, and an
        // ended session keeps the "ended" watch state its end gave it.
        if record.is_ended() || record.session.watch == watch {
            return self.session(id);
        }
        validate::optional_text("watch.reason", watch.reason.as_deref(), MAX_TEXT_LEN)?;
        let kind = EventKind::SessionUpdated {
            status: None,
            summary: None,
            title: None,
            model: None,
            watch: Some(watch),
        };
        self.emit(id, kind, None, None)?;
        self.session(id)
    }

    fn end_session(&mut self, id: &SessionId, request: EndSession) -> Result<Outcome, CoreError> {
        let kind = EventKind::SessionEnded {
            status: request.status.unwrap_or(SessionStatus::Completed),
            reason: request.reason,
        };
        self.check_lifecycle(id, &kind)?;
        self.emit(id, kind, None, None)?;
        self.session(id)
    }

    /// Rules on session lifecycle events, shared by the routes and ingest.
    fn check_lifecycle(&self, id: &SessionId, kind: &EventKind) -> Result<(), CoreError> {
        match kind {
            EventKind::SessionUpdated {
                status,
                summary,
                title,
                model,
                ..
            } => {
                self.live_record(id).map_err(|e| match e {
                    CoreError::Conflict(_) => CoreError::Conflict(format!(
                        "session '{id}' has ended; it cannot be updated"
                    )),
                    other => other,
                })?;
                if let Some(status) = status {
                    if status.is_terminal() {
                        return Err(CoreError::Invalid(format!(
                            "status '{}' ends the session; use POST /api/sessions/{id}/end",
                            status.as_str()
                        )));
                    }
                }
                if status.is_none() && summary.is_none() && title.is_none() && model.is_none() {
                    return Err(CoreError::Invalid(
                        "nothing to update: give at least one of status, summary, title, model"
                            .into(),
                    ));
                }
                validate::optional_text("summary", summary.as_deref(), MAX_TEXT_LEN)?;
                validate::optional_text("title", title.as_deref(), MAX_NAME_LEN)?;
                validate::optional_text("model", model.as_deref(), MAX_NAME_LEN)
            }
            EventKind::SessionEnded { status, reason } => {
                let record = self.record(id)?;
                if record.is_ended() {
                    return Err(CoreError::Conflict(format!(
                        "session '{id}' has already ended ({})",
                        record.session.status.as_str()
                    )));
                }
                if !status.is_terminal() {
                    return Err(CoreError::Invalid(format!(
                        "an ended session's status is completed, failed or cancelled, not '{}'",
                        status.as_str()
                    )));
                }
                validate::optional_text("reason", reason.as_deref(), MAX_TEXT_LEN)
            }
            _ => Ok(()),
        }
    }

    fn ingest(&mut self, events: Vec<NewEvent>) -> Result<Outcome, CoreError> {
        if events.is_empty() {
            return Err(CoreError::Invalid(
                "no events: post one event or a non-empty array".into(),
            ));
        }
        // Pass 1: check every event against the state as the earlier ones would leave
        // it, without changing anything, so that a batch is stored whole or not at all.
        let mut live: HashMap<SessionId, bool> = HashMap::new();
        let mut seen_ids: HashSet<EventId> = HashSet::new();
        let mut duplicates: HashMap<usize, u64> = HashMap::new();
        for (index, event) in events.iter().enumerate() {
            let at = |e: CoreError| prefix(index, events.len(), e);
            if let Some(event_id) = &event.event_id {
                validate::id("eventId", event_id.as_str()).map_err(at)?;
                if !seen_ids.insert(event_id.clone()) {
                    return Err(at(CoreError::Invalid(format!(
                        "eventId '{event_id}' appears twice in the batch"
                    ))));
                }
                if let Some(seq) = self.existing_seq(event_id).map_err(at)? {
                    duplicates.insert(index, seq);
                    continue;
                }
            }
            validate::id("sessionId", event.session_id.as_str()).map_err(at)?;
            check_fields(&event.kind).map_err(at)?;
            let known = live.get(&event.session_id).copied().or_else(|| {
                self.projection
                    .sessions
                    .get(&event.session_id)
                    .map(|r| !r.is_ended())
            });
            let id = &event.session_id;
            match &event.kind {
                EventKind::SessionStarted { .. } => {
                    if known == Some(true) {
                        return Err(at(CoreError::Conflict(format!(
                            "session '{id}' has already started; send session:updated to change it"
                        ))));
                    }
                    live.insert(id.clone(), true);
                }
                EventKind::SessionUpdated { status, .. } => {
                    if known.is_none() {
                        return Err(at(CoreError::session_not_found(id)));
                    }
                    if known == Some(false) {
                        return Err(at(CoreError::Conflict(format!(
                            "session '{id}' has ended; it cannot be updated"
                        ))));
                    }
                    if status.is_some_and(SessionStatus::is_terminal) {
                        return Err(at(CoreError::Invalid(
                            "a terminal status is set by session:ended".into(),
                        )));
                    }
                }
                EventKind::SessionEnded { status, .. } => {
                    match known {
                        None => return Err(at(CoreError::session_not_found(id))),
                        Some(false) => {
                            return Err(at(CoreError::Conflict(format!(
                                "session '{id}' has already ended"
                            ))));
                        }
                        Some(true) => {}
                    }
                    if !status.is_terminal() {
                        return Err(at(CoreError::Invalid(
                            "session:ended needs status completed, failed or cancelled".into(),
                        )));
                    }
                    live.insert(id.clone(), false);
                }
                EventKind::SessionPruned {} => {
                    return Err(at(CoreError::Invalid(
                        "session:pruned is recorded by retention only".into(),
                    )));
                }
                EventKind::CommandIssued { .. }
                | EventKind::PermissionDecided { .. }
                | EventKind::InteractionInputReceived { .. } => {
                    return Err(at(CoreError::Invalid(format!(
                        "{} is a person's decision: use the session's commands, permissions or input route",
                        event.kind.type_name()
                    ))));
                }
                EventKind::CommandAcknowledged { command_id, .. } => {
                    if known.is_none() {
                        return Err(at(CoreError::session_not_found(id)));
                    }
                    self.check_ack(id, command_id).map_err(at)?;
                }
                _ => {
                    if known.is_none() {
                        return Err(at(CoreError::NotFound {
                            what: "session",
                            id: format!(
                                "{id}' (send session:started first, or create it with POST /api/sessions"
                            ),
                        }));
                    }
                }
            }
        }
        // Pass 2: emit.
        let mut results = Vec::with_capacity(events.len());
        for (index, event) in events.into_iter().enumerate() {
            if let Some(&seq) = duplicates.get(&index) {
                let event_id = event.event_id.unwrap_or_else(|| EventId(String::new()));
                results.push(IngestedEvent {
                    event_id,
                    seq,
                    duplicate: true,
                });
                continue;
            }
            self.announce_activity(&event.session_id, &event.kind)?;
            let kind = self.stamp_step(&event.session_id, event.kind);
            let kind = match kind {
                // The server decides whether it watches a cwd, not the agent.
                EventKind::SessionStarted {
                    cwd,
                    hostname,
                    platform,
                    user,
                    model,
                    title,
                    source,
                    ..
                } => EventKind::SessionStarted {
                    cwd,
                    hostname,
                    platform,
                    user,
                    model,
                    title,
                    source,
                    watch: None,
                },
                EventKind::SessionUpdated {
                    status,
                    summary,
                    title,
                    model,
                    ..
                } => EventKind::SessionUpdated {
                    status,
                    summary,
                    title,
                    model,
                    watch: None,
                },
                other => other,
            };
            results.push(self.emit(&event.session_id, kind, event.event_id, event.timestamp)?);
        }
        Ok(Outcome::Ingested(results))
    }

    /// The first sign of work moves a pending session to active. The change is
    /// recorded as its own global `session:updated`, so session lists (which do not
    /// hear a session's tool calls) see it live.
    fn announce_activity(
        &mut self,
        session: &SessionId,
        kind: &EventKind,
    ) -> Result<(), CoreError> {
        let activity = matches!(
            kind,
            EventKind::ToolUsed { .. }
                | EventKind::PromptSubmitted { .. }
                | EventKind::StepSpawned { .. }
                | EventKind::StepStarted { .. }
                | EventKind::ChainStarted { .. }
        );
        let pending = self
            .projection
            .sessions
            .get(session)
            .is_some_and(|r| r.session.status == SessionStatus::Pending);
        if activity && pending {
            let update = EventKind::SessionUpdated {
                status: Some(SessionStatus::Active),
                summary: None,
                title: None,
                model: None,
                watch: None,
            };
            self.emit(session, update, None, None)?;
        }
        Ok(())
    }

    /// File events without a step get the session's running step, so the files view can
    /// tie a change to the step that made it.
    fn stamp_step(&self, session: &SessionId, kind: EventKind) -> EventKind {
        let current = || {
            self.projection
                .sessions
                .get(session)
                .and_then(|r| r.session.current_step_id.clone())
        };
        match kind {
            EventKind::FileCreated {
                path,
                step_id: None,
            } => EventKind::FileCreated {
                path,
                step_id: current(),
            },
            EventKind::FileModified {
                path,
                step_id: None,
            } => EventKind::FileModified {
                path,
                step_id: current(),
            },
            EventKind::FileDeleted {
                path,
                step_id: None,
            } => EventKind::FileDeleted {
                path,
                step_id: current(),
            },
            other => other,
        }
    }

    fn check_ack(&self, id: &SessionId, command_id: &CommandId) -> Result<(), CoreError> {
        let record = self.record(id)?;
        let command = record
            .commands
            .iter()
            .find(|c| &c.id == command_id)
            .ok_or_else(|| CoreError::NotFound {
                what: "command",
                id: command_id.to_string(),
            })?;
        if command.status == CommandStatus::Acknowledged {
            return Err(CoreError::Conflict(format!(
                "command '{command_id}' was already acknowledged"
            )));
        }
        Ok(())
    }

    fn issue_command(
        &mut self,
        id: &SessionId,
        request: IssueCommand,
        by: By,
    ) -> Result<Outcome, CoreError> {
        let record = self.live_record(id)?;
        if let Some(step_id) = &request.step_id {
            validate::id("stepId", step_id.as_str())?;
            if record.step(step_id).is_none() {
                return Err(CoreError::NotFound {
                    what: "step",
                    id: step_id.to_string(),
                });
            }
        }
        validate::optional_text("reason", request.reason.as_deref(), MAX_TEXT_LEN)?;
        let command_id = CommandId(new_id());
        let kind = EventKind::CommandIssued {
            command_id: command_id.clone(),
            command: request.command,
            step_id: request.step_id,
            reason: request.reason,
            issued_by: Some(by.0),
        };
        self.emit(id, kind, None, None)?;
        self.command(id, &command_id)
    }

    fn command(&self, id: &SessionId, command_id: &CommandId) -> Result<Outcome, CoreError> {
        self.record(id)?
            .commands
            .iter()
            .find(|c| &c.id == command_id)
            .cloned()
            .map(Outcome::Command)
            .ok_or_else(|| CoreError::NotFound {
                what: "command",
                id: command_id.to_string(),
            })
    }

    fn acknowledge(
        &mut self,
        id: &SessionId,
        command_id: &CommandId,
        request: AcknowledgeCommand,
    ) -> Result<Outcome, CoreError> {
        self.check_ack(id, command_id)?;
        validate::optional_text("note", request.note.as_deref(), MAX_TEXT_LEN)?;
        let kind = EventKind::CommandAcknowledged {
            command_id: command_id.clone(),
            note: request.note,
        };
        self.emit(id, kind, None, None)?;
        self.command(id, command_id)
    }

    fn await_input(&mut self, id: &SessionId, request: AwaitInput) -> Result<Outcome, CoreError> {
        self.live_record(id)?;
        validate::text("prompt", &request.prompt, MAX_TEXT_LEN)?;
        for response in &request.quick_responses {
            validate::text("quickResponses[]", response, MAX_NAME_LEN)?;
        }
        let request_id = match request.request_id {
            Some(request_id) => {
                validate::id("requestId", request_id.as_str())?;
                request_id
            }
            None => RequestId(new_id()),
        };
        if let Some(step_id) = &request.step_id {
            validate::id("stepId", step_id.as_str())?;
        }
        let kind = EventKind::InteractionAwaitingInput {
            request_id,
            prompt: request.prompt,
            quick_responses: request.quick_responses,
            step_id: request.step_id,
        };
        self.emit(id, kind, None, None)?;
        let awaiting = self.record(id)?.session.awaiting_input.clone();
        awaiting
            .map(Outcome::Awaiting)
            .ok_or_else(|| CoreError::Conflict("the question was not recorded".into()))
    }

    fn submit_input(
        &mut self,
        id: &SessionId,
        request: SubmitInput,
        by: By,
    ) -> Result<Outcome, CoreError> {
        let record = self.live_record(id)?;
        validate::text("text", &request.text, MAX_TEXT_LEN)?;
        let awaiting = record.session.awaiting_input.as_ref();
        let request_id = match (&request.request_id, awaiting) {
            (Some(asked), Some(open)) if asked == &open.request_id => asked.clone(),
            (Some(asked), _) => {
                return Err(if record.answer(asked).is_some() {
                    CoreError::Conflict(format!("question '{asked}' was already answered"))
                } else {
                    CoreError::NotFound {
                        what: "open question",
                        id: asked.to_string(),
                    }
                });
            }
            (None, Some(open)) => open.request_id.clone(),
            (None, None) => {
                return Err(CoreError::Conflict(format!(
                    "session '{id}' is not waiting for input (it may have been answered already)"
                )));
            }
        };
        let kind = EventKind::InteractionInputReceived {
            request_id: request_id.clone(),
            text: request.text,
            answered_by: Some(by.0),
        };
        self.emit(id, kind, None, None)?;
        self.record(id)?
            .answer(&request_id)
            .cloned()
            .map(Outcome::Answer)
            .ok_or_else(|| CoreError::Conflict("the answer was not recorded".into()))
    }

    fn request_permission(
        &mut self,
        id: &SessionId,
        request: RequestPermission,
    ) -> Result<Outcome, CoreError> {
        let record = self.live_record(id)?;
        validate::text("toolName", &request.tool_name, MAX_NAME_LEN)?;
        let request_id = match request.request_id {
            Some(request_id) => {
                validate::id("requestId", request_id.as_str())?;
                if record.permission(&request_id).is_some() {
                    // Asking again is how a hook re-attaches after a restart: idempotent.
                    return self.permission(id, &request_id);
                }
                request_id
            }
            None => RequestId(new_id()),
        };
        let kind = EventKind::PermissionRequested {
            request_id: request_id.clone(),
            tool_name: request.tool_name,
            tool_input: request.tool_input,
            tool_use_id: request.tool_use_id,
        };
        self.emit(id, kind, None, None)?;
        self.permission(id, &request_id)
    }

    fn permission(&self, id: &SessionId, request_id: &RequestId) -> Result<Outcome, CoreError> {
        self.record(id)?
            .permission(request_id)
            .cloned()
            .map(Outcome::Permission)
            .ok_or_else(|| CoreError::NotFound {
                what: "permission request",
                id: request_id.to_string(),
            })
    }

    fn decide_permission(
        &mut self,
        id: &SessionId,
        request_id: &RequestId,
        request: DecidePermission,
        by: By,
    ) -> Result<Outcome, CoreError> {
        let record = self.record(id)?;
        let pending = record
            .permission(request_id)
            .ok_or_else(|| CoreError::NotFound {
                what: "permission request",
                id: request_id.to_string(),
            })?;
        if pending.settled_at.is_some() {
            return Err(CoreError::Conflict(format!(
                "permission request '{request_id}' was settled without this page: the session moved on (answered in the terminal, or the turn ended)"
            )));
        }
        if let Some(decision) = &pending.decision {
            return Err(CoreError::Conflict(format!(
                "permission request '{request_id}' was already decided ({:?}); the first answer wins",
                decision.behavior
            )
            .to_lowercase()));
        }
        validate::optional_text("message", request.message.as_deref(), MAX_TEXT_LEN)?;
        let kind = EventKind::PermissionDecided {
            request_id: request_id.clone(),
            behavior: request.behavior,
            message: request.message,
            decided_by: Some(by.0),
        };
        self.emit(id, kind, None, None)?;
        self.permission(id, request_id)
    }
}

/// Names the failing event of a batch, so a client knows which to fix.
fn prefix(index: usize, len: usize, error: CoreError) -> CoreError {
    if len == 1 {
        return error;
    }
    match error {
        CoreError::Invalid(m) => CoreError::Invalid(format!("events[{index}]: {m}")),
        CoreError::Conflict(m) => CoreError::Conflict(format!("events[{index}]: {m}")),
        CoreError::NotFound { what, id } => CoreError::NotFound {
            what,
            id: format!("{id}' (events[{index}]"),
        },
        other => other,
    }
}

/// Field rules of agent-reported events that need no state.
fn check_fields(kind: &EventKind) -> Result<(), CoreError> {
    let step = |s: &Option<StepId>| {
        s.as_ref()
            .map_or(Ok(()), |s| validate::id("stepId", s.as_str()))
    };
    match kind {
        EventKind::SessionStarted {
            cwd,
            hostname,
            platform,
            user,
            model,
            title,
            source,
            ..
        } => {
            validate::cwd(cwd)?;
            for (field, value) in [
                ("hostname", hostname),
                ("platform", platform),
                ("user", user),
                ("model", model),
                ("title", title),
                ("source", source),
            ] {
                validate::optional_text(field, value.as_deref(), MAX_NAME_LEN)?;
            }
            Ok(())
        }
        EventKind::ChainCompiled {
            chain_id, steps, ..
        } => {
            validate::id("chainId", chain_id.as_str())?;
            for spec in steps {
                validate::id("steps[].stepId", spec.step_id.as_str())?;
            }
            Ok(())
        }
        EventKind::ChainStarted { chain_id } | EventKind::ChainCompleted { chain_id, .. } => {
            validate::id("chainId", chain_id.as_str())
        }
        EventKind::StepSpawned {
            chain_id,
            step_id,
            name,
            ..
        } => {
            validate::id("chainId", chain_id.as_str())?;
            validate::id("stepId", step_id.as_str())?;
            validate::text("name", name, MAX_NAME_LEN)
        }
        EventKind::StepStarted { chain_id, step_id }
        | EventKind::StepCompleted {
            chain_id, step_id, ..
        }
        | EventKind::StepFailed {
            chain_id, step_id, ..
        } => {
            validate::id("chainId", chain_id.as_str())?;
            validate::id("stepId", step_id.as_str())
        }
        EventKind::InteractionAwaitingInput {
            request_id,
            prompt,
            step_id,
            ..
        } => {
            validate::id("requestId", request_id.as_str())?;
            validate::text("prompt", prompt, MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::PermissionRequested {
            request_id,
            tool_name,
            ..
        } => {
            validate::id("requestId", request_id.as_str())?;
            validate::text("toolName", tool_name, MAX_NAME_LEN)
        }
        EventKind::FileCreated { path, step_id }
        | EventKind::FileModified { path, step_id }
        | EventKind::FileDeleted { path, step_id } => {
            validate::text("path", path, 4096)?;
            step(step_id)
        }
        EventKind::ToolUsed {
            tool_name, step_id, ..
        } => {
            validate::text("toolName", tool_name, MAX_NAME_LEN)?;
            step(step_id)
        }
        EventKind::PromptSubmitted { prompt } => {
            validate::optional_text("prompt", Some(prompt), MAX_TEXT_LEN)
        }
        EventKind::TerminalOutput { text, step_id, .. } => {
            validate::optional_text("text", Some(text), MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::ErrorOccurred {
            message, step_id, ..
        } => {
            validate::text("message", message, MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::AgentNotification { message, .. } => {
            validate::optional_text("message", Some(message), MAX_TEXT_LEN)
        }
        EventKind::AgentEvent { name, .. } => validate::text("name", name, MAX_NAME_LEN),
        EventKind::SessionUpdated { .. }
        | EventKind::SessionPruned {}
        | EventKind::SessionEnded { .. }
        | EventKind::InteractionInputReceived { .. }
        | EventKind::PermissionDecided { .. }
        | EventKind::CommandIssued { .. }
        | EventKind::CommandAcknowledged { .. } => Ok(()),
    }
}
