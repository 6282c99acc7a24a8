//! Tool permissions: a tool call asks (`POST /api/sessions/{id}/permissions`), a person
//! decides (`POST /api/sessions/{id}/permissions/{requestId}`); the first answer wins.

use chainwatch_shared::{
    DecidePermission, EventKind, PermissionRequest, RequestId, RequestPermission, SessionId,
};

use super::super::access::Visible;
use super::super::rules::{self, MAX_NAME_LEN, MAX_TEXT_LEN};
use super::super::{Core, CoreError};
use super::{Stager, new_id};

impl Core {
    /// A tool call waits for a decision; emits `permission:requested`. Idempotent by
    /// request id.
    pub async fn request_permission(
        &self,
        session: Visible,
        request: RequestPermission,
    ) -> Result<PermissionRequest, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.request_permission(session.id(), request)
        })
        .await
    }

    /// Allows or denies a tool call; emits `permission:decided`.
    pub async fn decide_permission(
        &self,
        session: Visible,
        request_id: RequestId,
        request: DecidePermission,
    ) -> Result<PermissionRequest, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.decide_permission(session.id(), &request_id, request)
        })
        .await
    }
}

impl Stager<'_> {
    pub(super) fn request_permission(
        &mut self,
        id: &SessionId,
        request: RequestPermission,
    ) -> Result<PermissionRequest, CoreError> {
        let record = self.live_record(id)?;
        rules::text("toolName", &request.tool_name, MAX_NAME_LEN)?;
        let request_id = match request.request_id {
            Some(request_id) => {
                rules::id("requestId", request_id.as_str())?;
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

    fn permission(
        &self,
        id: &SessionId,
        request_id: &RequestId,
    ) -> Result<PermissionRequest, CoreError> {
        self.record(id)?
            .permission(request_id)
            .cloned()
            .ok_or_else(|| CoreError::NotFound {
                what: "permission request",
                id: request_id.to_string(),
            })
    }

    pub(super) fn decide_permission(
        &mut self,
        id: &SessionId,
        request_id: &RequestId,
        request: DecidePermission,
    ) -> Result<PermissionRequest, CoreError> {
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
        rules::optional_text("message", request.message.as_deref(), MAX_TEXT_LEN)?;
        let kind = EventKind::PermissionDecided {
            request_id: request_id.clone(),
            behavior: request.behavior,
            message: request.message,
        };
        self.emit(id, kind, None, None)?;
        self.permission(id, request_id)
    }
}
