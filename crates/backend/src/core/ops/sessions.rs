//! Session lifecycle operations: create (`POST /api/sessions`), update
//! (`PUT /api/sessions/{id}`) and end (`POST /api/sessions/{id}/end`), with the
//! lifecycle rules ingest shares.

use chainwatch_shared::{
    CreateSession, EndSession, EventKind, Session, SessionId, SessionStatus, UpdateSession,
};

use super::super::access::{Reach, Visible};
use super::super::rules;
use super::super::{Core, CoreError};
use super::{Stager, new_id};

impl Core {
    /// Creates a session; emits `session:started`. A scoped caller creates sessions
    /// only as its own user: without `user` the session gets it, with another one the
    /// request is refused (403).
    pub async fn create_session(
        &self,
        reach: &Reach,
        mut request: CreateSession,
    ) -> Result<Session, CoreError> {
        request.user = reach.owner_of_new(request.user)?;
        self.run(move |s| s.create_session(request)).await
    }

    /// Changes status, summary, title or model; emits `session:updated`.
    pub async fn update_session(
        &self,
        session: Visible,
        request: UpdateSession,
    ) -> Result<Session, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.update_session(session.id(), request)
        })
        .await
    }

    /// Ends a session; emits `session:ended`.
    pub async fn end_session(
        &self,
        session: Visible,
        request: EndSession,
    ) -> Result<Session, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.end_session(session.id(), request)
        })
        .await
    }
}

impl Stager<'_> {
    pub(super) fn create_session(&mut self, request: CreateSession) -> Result<Session, CoreError> {
        let id = match request.id {
            Some(id) => {
                rules::id("id", id.as_str())?;
                if self.projection.sessions.contains_key(&id) {
                    return Err(CoreError::Conflict(format!(
                        "a session with id '{id}' already exists"
                    )));
                }
                id
            }
            None => SessionId(new_id()),
        };
        rules::cwd(&request.cwd)?;
        // Whether the cwd is watched is decided now, in this event (no second commit).
        let kind = EventKind::SessionStarted {
            watch: self.start_watch.map(|w| w.at_start(&request.cwd)),
            cwd: request.cwd,
            hostname: request.hostname,
            platform: request.platform,
            user: request.user,
            model: request.model,
            title: request.title,
            source: Some("api".into()),
        };
        rules::event_fields(&kind)?;
        self.emit(&id, kind, None, None)?;
        self.session(&id)
    }

    pub(super) fn update_session(
        &mut self,
        id: &SessionId,
        request: UpdateSession,
    ) -> Result<Session, CoreError> {
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

    pub(super) fn end_session(
        &mut self,
        id: &SessionId,
        request: EndSession,
    ) -> Result<Session, CoreError> {
        let kind = EventKind::SessionEnded {
            status: request.status.unwrap_or(SessionStatus::Completed),
            reason: request.reason,
        };
        self.check_lifecycle(id, &kind)?;
        self.emit(id, kind, None, None)?;
        self.session(id)
    }

    /// Rules on session lifecycle events given by the session routes: the session's
    /// state, then the fields' own rules ([`rules::event_fields`], as for ingest).
    fn check_lifecycle(&self, id: &SessionId, kind: &EventKind) -> Result<(), CoreError> {
        match kind {
            EventKind::SessionUpdated { .. } => {
                self.live_record(id).map_err(|e| match e {
                    CoreError::Conflict(_) => CoreError::Conflict(format!(
                        "session '{id}' has ended; it cannot be updated"
                    )),
                    other => other,
                })?;
            }
            EventKind::SessionEnded { .. } => {
                let record = self.record(id)?;
                if record.is_ended() {
                    return Err(CoreError::Conflict(format!(
                        "session '{id}' has already ended ({})",
                        record.session.status.as_str()
                    )));
                }
            }
            _ => {}
        }
        rules::event_fields(kind)
    }
}
