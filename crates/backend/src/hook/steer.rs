//! Steering: the answers the hook gives Claude Code on stdout once its event is reported.
//!
//! - PreToolUse: pending commands of the session are acted on and acknowledged. While the
//!   session is paused every tool call is denied; a cancel denies the call and stops
//!   Claude (`continue: false`); a skip denies the call it targets. An `AskUserQuestion`
//!   call is put to the page as questions (options as quick responses) and, when every
//!   question is answered in time, allowed with the answers in `updatedInput`.
//! - PermissionRequest: waits for Allow or Deny from the page and answers with it.
//! - Stop: a pending retry, or an answer from the page within the wait, becomes
//!   `decision: block` with the text as Claude's next instruction. With
//!   `stop_hook_active` the hook blocks again only for a new answer to this very Stop,
//!   so it never keeps Claude going by itself.
//!
//! Nothing decided means nothing printed: Claude Code goes on as without the hook.

use std::time::{Duration, Instant};

use chainwatch_shared::{
    Command, CommandType, EventKind, NewEvent, PermissionBehavior, RequestId, SessionId, StepId,
    ToolStatus,
};
use serde_json::{Map, Value, json};

use super::client::{Client, ClientError};
use super::config::HookConfig;
use super::ids;
use super::map::{self, MAIN_CHAIN};
use super::payload::Capture;

/// Longest single long poll; a longer wait is several of them.
const MAX_POLL: Duration = Duration::from_secs(60);

/// What the hook prints.
pub type Answer = Option<Value>;

/// Steering for one reported capture.
pub struct Steering<'a> {
    /// The client.
    pub client: &'a Client,
    /// The configuration.
    pub config: &'a HookConfig,
    /// The capture (already delivered).
    pub capture: &'a Capture,
}

impl Steering<'_> {
    fn session(&self) -> SessionId {
        ids::session_id(self.capture.payload.session_id())
    }

    fn quick_deadline(&self) -> Instant {
        Instant::now() + self.config.timeout
    }

    /// The answer for this capture's event, if any.
    pub fn decide(&self) -> Answer {
        let result = match self.capture.payload.event_name() {
            "PreToolUse" => self.pre_tool_use(),
            "PermissionRequest" => self.permission(),
            "Stop" => self.stop(),
            "PostToolUse" | "PostToolUseFailure"
                if self.capture.payload.tool_name() == Some("AskUserQuestion")
                    && !self.config.question_wait.is_zero() =>
            {
                self.settle_questions().map(|()| None)
            }
            _ => Ok(None),
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "steering skipped");
            None
        })
    }

    fn acknowledge(&self, command: &Command, note: &str) {
        if let Err(e) =
            self.client
                .acknowledge(&self.session(), &command.id, note, self.quick_deadline())
        {
            tracing::warn!(command = %command.id, error = %e, "cannot acknowledge the command");
        }
    }

    /// The step this tool call is (Agent/Task) or runs in (inside a subagent).
    fn this_step(&self) -> Option<StepId> {
        let payload = &self.capture.payload;
        match (payload.is_subagent_tool(), payload.tool_use_id()) {
            (true, Some(tool_use_id)) => Some(map::task_step(tool_use_id)),
            _ => map::running_step(payload),
        }
    }

    fn pre_tool_use(&self) -> Result<Answer, ClientError> {
        let list = self
            .client
            .commands(&self.session(), self.quick_deadline())?;
        let this_step = self.this_step();
        let mut deny: Option<(String, bool)> = None;
        for command in &list.commands {
            let why = command
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            match command.command {
                CommandType::Pause => {
                    self.acknowledge(
                        command,
                        "Claude Code: tool calls are denied while the session is paused",
                    );
                    if deny.is_none() {
                        deny = Some((paused_reason(&why), false));
                    }
                }
                CommandType::Resume => {
                    self.acknowledge(command, "Claude Code: tool calls run again");
                }
                CommandType::Cancel => {
                    self.acknowledge(command, "Claude Code: denied the tool call and stopped");
                    deny = Some((
                        format!(
                            "Chainwatch: the person watching this session cancelled its work from the dashboard{why}. Stop working on this task."
                        ),
                        true,
                    ));
                }
                CommandType::Skip => {
                    let targets_this = match &command.step_id {
                        None => true,
                        Some(step) => this_step.as_ref() == Some(step),
                    };
                    if targets_this {
                        self.acknowledge(command, "Claude Code: skipped the tool call");
                        if deny.as_ref().is_none_or(|(_, stop)| !stop) {
                            deny = Some((
                                format!(
                                    "Chainwatch: the person watching this session chose to skip this step from the dashboard{why}. Do not run it; go on with the rest of the task."
                                ),
                                false,
                            ));
                        }
                    }
                }
                // A retry reaches Claude at its next Stop, as an instruction.
                CommandType::Retry => {}
            }
        }
        if deny.is_none() && list.paused {
            deny = Some((paused_reason(""), false));
        }
        if let Some((reason, stop)) = deny {
            self.report_denial(&reason);
            let mut answer = json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            });
            if stop {
                answer["continue"] = Value::Bool(false);
                answer["stopReason"] = Value::String(reason);
            }
            return Ok(Some(answer));
        }
        if self.capture.payload.tool_name() == Some("AskUserQuestion")
            && !self.config.question_wait.is_zero()
        {
            return self.ask();
        }
        Ok(None)
    }

    /// Records that the call did not run, so the page does not show it as running.
    fn report_denial(&self, reason: &str) {
        let payload = &self.capture.payload;
        let kind = match (payload.is_subagent_tool(), payload.tool_use_id()) {
            (true, Some(tool_use_id)) => EventKind::StepFailed {
                chain_id: chainwatch_shared::ChainId::new(MAIN_CHAIN),
                step_id: map::task_step(tool_use_id),
                error: reason.to_owned(),
            },
            _ => EventKind::ToolUsed {
                tool_name: payload.tool_name().unwrap_or("unknown").to_owned(),
                tool_use_id: payload.tool_use_id().map(str::to_owned),
                status: ToolStatus::Failed,
                input: None,
                response: None,
                error: Some(reason.to_owned()),
                step_id: map::running_step(payload),
                duration_ms: None,
            },
        };
        let event = NewEvent {
            event_id: Some(ids::event_id(&self.capture.base, "denied")),
            session_id: self.session(),
            timestamp: None,
            kind,
        };
        if let Err(e) = self.client.post_events(&[event], self.quick_deadline()) {
            tracing::warn!(error = %e, "cannot record the denied tool call");
        }
    }

    /// Waits for an answer to `request`, in long polls, until `deadline`.
    fn wait_answer(
        &self,
        request: &RequestId,
        deadline: Instant,
    ) -> Result<Option<String>, ClientError> {
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            let wait = left.min(MAX_POLL);
            if let Some(answer) =
                self.client
                    .wait_input(&self.session(), request, wait, deadline + MAX_POLL)?
            {
                return Ok(Some(answer.text));
            }
            if wait.is_zero() {
                return Ok(None);
            }
        }
    }

    /// AskUserQuestion: each question goes to the page in turn; all answered in time →
    /// allow with `answers` keyed by question text.
    fn ask(&self) -> Result<Answer, ClientError> {
        let Some(input) = self.capture.payload.get("tool_input") else {
            return Ok(None);
        };
        let Some(questions) = input.get("questions").and_then(Value::as_array) else {
            return Ok(None);
        };
        let deadline = Instant::now() + self.config.question_wait;
        let mut answers = Map::new();
        for (index, question) in questions.iter().enumerate() {
            let Some(text) = question.get("question").and_then(Value::as_str) else {
                return Ok(None);
            };
            let labels: Vec<String> = question
                .get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("label").and_then(Value::as_str))
                .filter(|l| !l.trim().is_empty())
                .map(|l| map::cut(l, 1024))
                .collect();
            let request_id = ids::request_id("ask-", &self.capture.base, Some(index));
            let event = NewEvent {
                event_id: Some(ids::event_id(&self.capture.base, &format!("ask{index}"))),
                session_id: self.session(),
                timestamp: None,
                kind: EventKind::InteractionAwaitingInput {
                    request_id: request_id.clone(),
                    prompt: map::cut(text, 1024 * 1024),
                    quick_responses: labels,
                    step_id: map::running_step(&self.capture.payload),
                },
            };
            self.client.post_events(&[event], self.quick_deadline())?;
            match self.wait_answer(&request_id, deadline)? {
                Some(answer) => {
                    answers.insert(text.to_owned(), Value::String(answer));
                }
                None => return Ok(None),
            }
        }
        let mut updated = input.clone();
        if let Some(object) = updated.as_object_mut() {
            object.insert("answers".to_owned(), Value::Object(answers));
        }
        Ok(Some(json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "permissionDecisionReason": "Answered from the Chainwatch dashboard",
                "updatedInput": updated,
            }
        })))
    }

    /// After an `AskUserQuestion` the page's questions are settled with what the person
    /// answered in the terminal (when the page did not answer first), so the session
    /// does not look as if it still waited.
    fn settle_questions(&self) -> Result<(), ClientError> {
        let payload = &self.capture.payload;
        let Some(tool_use_id) = payload.tool_use_id() else {
            return Ok(());
        };
        let asked = ids::tool_base("PreToolUse", payload.session_id(), tool_use_id);
        let questions = payload
            .get("tool_input")
            .and_then(|i| i.get("questions"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let answers = payload
            .get("tool_response")
            .and_then(|r| r.get("answers"))
            .or_else(|| payload.get("tool_input").and_then(|i| i.get("answers")));
        for (index, question) in questions.iter().enumerate() {
            let answer = question
                .get("question")
                .and_then(Value::as_str)
                .and_then(|q| answers.and_then(|a| a.get(q)))
                .and_then(Value::as_str)
                .filter(|a| !a.trim().is_empty());
            let text = match (answer, payload.event_name()) {
                (Some(answer), _) => answer,
                (None, "PostToolUseFailure") => "(not answered: dismissed in the terminal)",
                (None, _) => "(answered in the terminal)",
            };
            let request = ids::request_id("ask-", &asked, Some(index));
            match self
                .client
                .submit_input(&self.session(), &request, text, self.quick_deadline())
            {
                // Refused: answered already, or never asked (the page took too long).
                Ok(()) | Err(ClientError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// PermissionRequest: waits for the page's decision (the request was posted by the
    /// report, unless waiting is off or the tool is AskUserQuestion).
    fn permission(&self) -> Result<Answer, ClientError> {
        if self.config.permission_wait.is_zero()
            || self.capture.payload.tool_name() == Some("AskUserQuestion")
        {
            return Ok(None);
        }
        let request_id = map::permission_request_id(self.capture);
        let deadline = Instant::now() + self.config.permission_wait;
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            let wait = left.min(MAX_POLL);
            let request = self.client.wait_permission(
                &self.session(),
                &request_id,
                wait,
                deadline + MAX_POLL,
            )?;
            if let Some(decision) = request.decision {
                let decision = match decision.behavior {
                    PermissionBehavior::Allow => json!({"behavior": "allow"}),
                    PermissionBehavior::Deny => json!({
                        "behavior": "deny",
                        "message": decision
                            .message
                            .filter(|m| !m.trim().is_empty())
                            .unwrap_or_else(|| "Denied from the Chainwatch dashboard.".to_owned()),
                    }),
                };
                return Ok(Some(json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PermissionRequest",
                        "decision": decision,
                    }
                })));
            }
            // Settled without the page (answered in the terminal, or the turn ended):
            // nothing to say, and nothing more to wait for.
            if wait.is_zero() || request.settled_at.is_some() {
                return Ok(None);
            }
        }
    }

    /// Stop: a pending retry, or an answer from the page, keeps Claude working.
    fn stop(&self) -> Result<Answer, ClientError> {
        let list = self
            .client
            .commands(&self.session(), self.quick_deadline())?;
        if let Some(retry) = list
            .commands
            .iter()
            .find(|c| c.command == CommandType::Retry)
        {
            self.acknowledge(retry, "Claude Code: asked Claude to retry");
            let what = retry
                .step_id
                .as_ref()
                .map(|s| format!(" step '{s}'"))
                .unwrap_or_else(|| " the last step".to_owned());
            let why = retry
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            return Ok(Some(block(format!(
                "The person watching this session asked from the Chainwatch dashboard to retry{what}{why}. Please do it again."
            ))));
        }
        if self.config.stop_wait.is_zero() {
            return Ok(None);
        }
        let request_id = map::stop_request_id(self.capture);
        let deadline = Instant::now() + self.config.stop_wait;
        Ok(self.wait_answer(&request_id, deadline)?.map(block))
    }
}

fn paused_reason(why: &str) -> String {
    format!(
        "Chainwatch: the person watching this session paused it from the dashboard{why}. Do not run tools or work around this; stop and wait until it is resumed."
    )
}

fn block(reason: String) -> Value {
    json!({"decision": "block", "reason": reason})
}
