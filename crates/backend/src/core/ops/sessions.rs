//! Session lifecycle operations: create (`POST /api/sessions`), update
//! (`PUT /api/sessions/{id}`) and end (`POST /api/sessions/{id}/end`), with the
//! lifecycle rules ingest shares.

use chainwatch_shared::{
    CreateSession, EndSession, EventKind, Session, SessionId, SessionStatus, UpdateSession,
};

use super::super::access::{Reach, Visible};
use super::super::rules::{self, MAX_NAME_LEN};
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
        rules::cwd(&request.cwd)?;
        for (field, value) in [
            ("hostname", &request.hostname),
            ("platform", &request.platform),
            ("user", &request.user),
            ("model", &request.model),
            ("title", &request.title),
        ] {
            rules::optional_text(field, value.as_deref(), MAX_NAME_LEN)?;
        }
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
    /// state, then the fields' own rules ([`rules::session_update`],
    /// [`rules::session_end`]).
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
                rules::session_update(
                    *status,
                    summary.as_deref(),
                    title.as_deref(),
                    model.as_deref(),
                )
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
                rules::session_end(reason.as_deref())
            }
            _ => Ok(()),
        }
    }
}
