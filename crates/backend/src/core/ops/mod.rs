//! The operations of the domain: each turns a request into the events it causes, after
//! checking it against the current state. An operation that fails changes nothing and
//! emits nothing. Runs on the commit thread only, so each sees the state left by the
//! one before it.
//!
//! One module per group of operations; each holds the [`Stager`] side (the checks and
//! the events) and the typed [`Core`](super::Core) method routes call, whose return
//! type is the operation's own result, so a route cannot receive the wrong kind of
//! outcome. [`Mutation`] and [`Outcome`] remain as the untyped form (tests, tools).
//! The field rules every operation shares live in [`super::rules`].

mod commands;
mod ingest;
mod permissions;
mod questions;
mod retention;
mod sessions;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use chainwatch_shared::{
    AcknowledgeCommand, AwaitInput, AwaitingInput, Command, CommandId, CreateSession,
    DecidePermission, EndSession, EventId, EventKind, IngestedEvent, InputAnswer, IssueCommand,
    NewEvent, PermissionRequest, RequestId, RequestPermission, Session, SessionId, SubmitInput,
    UpdateSession, WatchState, WorkspaceEvent,
};
use chrono::{DateTime, Utc};

pub use retention::Pruned;

use super::CoreError;
use super::access::Visible;
use super::projection::{Projection, SessionRecord};
use crate::store::{LogWriter, LoggedEvent, StoredId};

/// Who made a decision, answer or command: the authenticated principal's name (the
/// token's name, `local` on a tokenless loopback server). Routes take it from the
/// request's principal, never from its body; the core records it on the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By(pub String);

/// A request to change state, in untyped form, acting with the server's own reach
/// (every session). Routes call the typed methods of [`Core`](super::Core), which take
/// the caller's [`Reach`](super::Reach) or a [`Visible`] session; this enum serves tests.
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

/// What an operation produced, in untyped form (see [`Mutation`]).
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
    /// Prices for `message:assistant` events that report no cost.
    pub(super) prices: &'a super::pricing::PriceTable,
    /// Decides a new session's watch state (none: the fold's default stands).
    pub(super) start_watch: Option<&'a dyn super::StartWatch>,
    /// The start-up snapshots, which retention invalidates before it deletes.
    pub(super) snapshots: Option<&'a super::snapshot::Snapshots>,
    /// The largest encoded event ([`super::rules::fit_size`] previews values first).
    pub(super) max_event_bytes: usize,
}

impl Stager<'_> {
    fn emit(
        &mut self,
        session_id: &SessionId,
        kind: EventKind,
        event_id: Option<EventId>,
        timestamp: Option<DateTime<Utc>>,
    ) -> Result<IngestedEvent, CoreError> {
        let mut event = WorkspaceEvent {
            seq: *self.next_seq,
            event_id: event_id.unwrap_or_else(|| EventId(new_id())),
            session_id: session_id.clone(),
            timestamp: timestamp.unwrap_or(self.now),
            kind,
        };
        let encode = |event: &WorkspaceEvent| {
            serde_json::to_string(event)
                .map_err(|e| CoreError::Invalid(format!("event cannot be encoded: {e}")))
        };
        let mut json = encode(&event)?;
        // Encoded once when it fits, as nearly every event does: the event's JSON holds
        // all of its kind's, so when the event fits, fit_size would leave the kind as is.
        if json.len() > self.max_event_bytes {
            super::rules::fit_size(&mut event.kind, self.max_event_bytes);
            json = encode(&event)?;
        }
        if json.len() > self.max_event_bytes {
            return Err(CoreError::TooLarge(format!(
                "a {} event of {} bytes is over the per-event limit of {} bytes (--max-event-bytes)",
                event.kind.type_name(),
                json.len(),
                self.max_event_bytes
            )));
        }
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

    /// Re-checks on the commit thread that a session a route checked is still within
    /// the caller's reach (it was not pruned or re-homed in between).
    fn within_reach(&self, session: &Visible) -> Result<(), CoreError> {
        let record = self.record(session.id())?;
        if session.reach().sees(record.session.user.as_deref()) {
            Ok(())
        } else {
            Err(CoreError::session_not_found(session.id()))
        }
    }

    /// The session as it stands now.
    fn session(&self, id: &SessionId) -> Result<Session, CoreError> {
        Ok(self.record(id)?.session.clone())
    }

    /// Where an event id already is, in the log or earlier in this commit.
    fn existing(&mut self, event_id: &EventId) -> Result<Option<StoredId>, CoreError> {
        if let Some(&seq) = self.staged_ids.get(event_id) {
            // Only a repeat within one commit gets here: rare, so a scan of the staged.
            let session_id = self
                .staged
                .iter()
                .rev()
                .find(|(_, logged)| logged.seq == seq)
                .map(|(_, logged)| logged.session_id.clone());
            if let Some(session_id) = session_id {
                return Ok(Some(StoredId { seq, session_id }));
            }
        }
        Ok(self.writer.stored(event_id)?)
    }

    /// Runs one operation given in untyped form.
    pub fn execute(&mut self, mutation: Mutation) -> Result<Outcome, CoreError> {
        let session = |s: Session| Outcome::Session(Box::new(s));
        Ok(match mutation {
            Mutation::CreateSession(request) => session(self.create_session(request)?),
            Mutation::UpdateSession(id, request) => session(self.update_session(&id, request)?),
            Mutation::EndSession(id, request) => session(self.end_session(&id, request)?),
            Mutation::Ingest(events) => {
                Outcome::Ingested(self.ingest(&super::access::Reach::All, events)?)
            }
            Mutation::IssueCommand(id, request, by) => {
                Outcome::Command(self.issue_command(&id, request, by)?)
            }
            Mutation::AcknowledgeCommand(id, command_id, request) => {
                Outcome::Command(self.acknowledge(&id, &command_id, request)?)
            }
            Mutation::AwaitInput(id, request) => Outcome::Awaiting(self.await_input(&id, request)?),
            Mutation::SubmitInput(id, request, by) => {
                Outcome::Answer(self.submit_input(&id, request, by)?)
            }
            Mutation::RequestPermission(id, request) => {
                Outcome::Permission(self.request_permission(&id, request)?)
            }
            Mutation::DecidePermission(id, request_id, request, by) => {
                Outcome::Permission(self.decide_permission(&id, &request_id, request, by)?)
            }
            Mutation::Prune { ended_before } => {
                let Pruned { sessions, events } = self.prune(ended_before)?;
                Outcome::Pruned { sessions, events }
            }
            Mutation::SetWatch(id, watch) => session(self.set_watch(&id, watch)?),
        })
    }
}
