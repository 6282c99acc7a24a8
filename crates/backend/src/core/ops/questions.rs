//! Questions to a person: the agent asks (`POST /api/sessions/{id}/awaiting-input`), a
//! person answers (`POST /api/sessions/{id}/input`).

use chainwatch_shared::{
    AwaitInput, AwaitingInput, EventKind, InputAnswer, RequestId, SessionId, SubmitInput,
};

use super::super::access::Visible;
use super::super::rules::{self, MAX_NAME_LEN, MAX_TEXT_LEN};
use super::super::{Core, CoreError};
use super::{Stager, new_id};

impl Core {
    /// The agent waits for a person's answer; emits `interaction:awaiting-input`.
    pub async fn await_input(
        &self,
        session: Visible,
        request: AwaitInput,
    ) -> Result<AwaitingInput, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.await_input(session.id(), request)
        })
        .await
    }

    /// Answers the session's open question; emits `interaction:input-received`.
    pub async fn submit_input(
        &self,
        session: Visible,
        request: SubmitInput,
    ) -> Result<InputAnswer, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.submit_input(session.id(), request)
        })
        .await
    }
}

impl Stager<'_> {
    pub(super) fn await_input(
        &mut self,
        id: &SessionId,
        request: AwaitInput,
    ) -> Result<AwaitingInput, CoreError> {
        self.live_record(id)?;
        rules::text("prompt", &request.prompt, MAX_TEXT_LEN)?;
        for response in &request.quick_responses {
            rules::text("quickResponses[]", response, MAX_NAME_LEN)?;
        }
        let request_id = match request.request_id {
            Some(request_id) => {
                rules::id("requestId", request_id.as_str())?;
                request_id
            }
            None => RequestId(new_id()),
        };
        if let Some(step_id) = &request.step_id {
            rules::id("stepId", step_id.as_str())?;
        }
        let kind = EventKind::InteractionAwaitingInput {
            request_id,
            prompt: request.prompt,
            quick_responses: request.quick_responses,
            step_id: request.step_id,
        };
        self.emit(id, kind, None, None)?;
        self.record(id)?
            .session
            .awaiting_input
            .clone()
            .ok_or_else(|| CoreError::Conflict("the question was not recorded".into()))
    }

    pub(super) fn submit_input(
        &mut self,
        id: &SessionId,
        request: SubmitInput,
    ) -> Result<InputAnswer, CoreError> {
        let record = self.live_record(id)?;
        rules::text("text", &request.text, MAX_TEXT_LEN)?;
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
        };
        self.emit(id, kind, None, None)?;
        self.record(id)?
            .answer(&request_id)
            .cloned()
            .ok_or_else(|| CoreError::Conflict("the answer was not recorded".into()))
    }
}
