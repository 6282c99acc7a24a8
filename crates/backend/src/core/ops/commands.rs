//! Steering commands: issue (`POST /api/sessions/{id}/commands`) and acknowledge
//! (`POST /api/sessions/{id}/commands/{commandId}/ack`, or `command:acknowledged` by
//! ingest, which shares [`Stager::check_ack`]).

use chainwatch_shared::{
    AcknowledgeCommand, Command, CommandId, CommandStatus, EventKind, IssueCommand, SessionId,
};

use super::super::access::Visible;
use super::super::rules::{self, MAX_TEXT_LEN};
use super::super::{Core, CoreError};
use super::{Stager, new_id};

impl Core {
    /// Issues pause, resume, cancel, retry or skip; emits `command:issued`.
    pub async fn issue_command(
        &self,
        session: Visible,
        request: IssueCommand,
    ) -> Result<Command, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.issue_command(session.id(), request)
        })
        .await
    }

    /// The agent acted on a command; emits `command:acknowledged`.
    pub async fn acknowledge_command(
        &self,
        session: Visible,
        command_id: CommandId,
        request: AcknowledgeCommand,
    ) -> Result<Command, CoreError> {
        self.run(move |s| {
            s.within_reach(&session)?;
            s.acknowledge(session.id(), &command_id, request)
        })
        .await
    }
}

impl Stager<'_> {
    /// The command exists on this session and is not acknowledged yet.
    pub(super) fn check_ack(
        &self,
        id: &SessionId,
        command_id: &CommandId,
    ) -> Result<(), CoreError> {
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

    pub(super) fn issue_command(
        &mut self,
        id: &SessionId,
        request: IssueCommand,
    ) -> Result<Command, CoreError> {
        let record = self.live_record(id)?;
        if let Some(step_id) = &request.step_id {
            rules::id("stepId", step_id.as_str())?;
            if record.step(step_id).is_none() {
                return Err(CoreError::NotFound {
                    what: "step",
                    id: step_id.to_string(),
                });
            }
        }
        rules::optional_text("reason", request.reason.as_deref(), MAX_TEXT_LEN)?;
        let command_id = CommandId(new_id());
        let kind = EventKind::CommandIssued {
            command_id: command_id.clone(),
            command: request.command,
            step_id: request.step_id,
            reason: request.reason,
        };
        self.emit(id, kind, None, None)?;
        self.command(id, &command_id)
    }

    fn command(&self, id: &SessionId, command_id: &CommandId) -> Result<Command, CoreError> {
        self.record(id)?
            .commands
            .iter()
            .find(|c| &c.id == command_id)
            .cloned()
            .ok_or_else(|| CoreError::NotFound {
                what: "command",
                id: command_id.to_string(),
            })
    }

    pub(super) fn acknowledge(
        &mut self,
        id: &SessionId,
        command_id: &CommandId,
        request: AcknowledgeCommand,
    ) -> Result<Command, CoreError> {
        self.check_ack(id, command_id)?;
        rules::optional_text("note", request.note.as_deref(), MAX_TEXT_LEN)?;
        let kind = EventKind::CommandAcknowledged {
            command_id: command_id.clone(),
            note: request.note,
        };
        self.emit(id, kind, None, None)?;
        self.command(id, command_id)
    }
}
