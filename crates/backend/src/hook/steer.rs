//! Steering: the answers the hook gives Claude Code once its event is reported.
//!
//! - PreToolUse: pending commands of the session are acted on and acknowledged. While the
//!   session is paused the call is *held*: the hook waits (up to `CHAINWATCH_PAUSE_WAIT_MS`)
//!   until a resume (the call runs) or a cancel (the call is denied and Claude stops); a
//!   pause never denies a call. A skip denies the call it targets.
//! - PermissionRequest: waits for Allow or Deny from the page and answers with it. Claude
//!   Code runs this hook while its own dialog is open, so the terminal can answer too and
//!   the first answer wins. An `AskUserQuestion` call is put to the page as questions
//!   (options as quick responses) instead, and allowed with the answers in
//!   `updatedInput`; `ExitPlanMode` is a permission like any other (approve = allow, send
//!   back = deny with the feedback as message).
//! - Stop: installed as a background hook (`async`, `asyncRewake`). A pending retry, or
//!   an answer from the page within the wait, is written on stderr with exit code 2, which
//!   wakes Claude with the text as its next instruction. A prompt typed in the terminal
//!   settles the page's question, and the hook ends without a word.
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
/// How often a held tool call looks at the session's commands again.
const HOLD_POLL: Duration = Duration::from_millis(250);
/// Longest long poll of a waiting Stop: between two, it looks for a retry command.
const STOP_POLL: Duration = Duration::from_secs(2);

/// What the hook answers Claude Code.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// JSON on stdout, exit code 0.
    Json(Value),
    /// Text on stderr, exit code 2: for Stop, Claude's next instruction (an `asyncRewake`
    /// Stop hook wakes Claude with it).
    Rewake(String),
}

/// What the hook answers, if anything.
pub type Answer = Option<Reply>;

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
        let payload = &self.capture.payload;
        let asks = payload.tool_name() == Some("AskUserQuestion");
        let result = match payload.event_name() {
            "PreToolUse" => self.pre_tool_use(),
            "PermissionRequest" if asks => self.ask(),
            "PermissionRequest" => self.permission(),
            "Stop" => self.stop(),
            "PostToolUse" | "PostToolUseFailure" if asks => self.settle_questions().map(|()| None),
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

    /// Acts on the pending commands: `Some((reason, stop))` when the call must not run.
    fn act_on(&self, commands: &[Command], this_step: Option<&StepId>) -> Option<(String, bool)> {
        let mut deny: Option<(String, bool)> = None;
        for command in commands {
            let why = command
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            match command.command {
                CommandType::Pause => self.acknowledge(
                    command,
                    "Claude Code: the next tool call waits until the session is resumed or cancelled",
                ),
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
                        Some(step) => this_step == Some(step),
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
        deny
    }

    /// PreToolUse: commands are acted on; while paused, the call is held until a resume
    /// or a cancel, or until the hold's bound (then it runs: a pause denies nothing).
    fn pre_tool_use(&self) -> Result<Answer, ClientError> {
        let this_step = self.this_step();
        let hold_until = Instant::now() + self.config.pause_wait;
        let mut held = false;
        loop {
            let list = self
                .client
                .commands(&self.session(), self.quick_deadline())?;
            if let Some((reason, stop)) = self.act_on(&list.commands, this_step.as_ref()) {
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
                return Ok(Some(Reply::Json(answer)));
            }
            if !list.paused {
                if held {
                    tracing::info!("resumed; the held tool call runs");
                }
                return Ok(None);
            }
            if Instant::now() >= hold_until {
                tracing::warn!(
                    "the session is still paused after CHAINWATCH_PAUSE_WAIT_MS; the held tool call runs"
                );
                return Ok(None);
            }
            held = true;
            std::thread::sleep(HOLD_POLL.min(hold_until.saturating_duration_since(Instant::now())));
        }
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
                input: payload.get("tool_input").cloned(),
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

    /// Waits for an answer to `request`, in long polls of at most `poll`, until
    /// `deadline`; `None` when the wait ran out or the question was settled without one.
    /// `between` runs before each poll and may end the wait (`Some`) with its own result.
    fn wait_answer(
        &self,
        request: &RequestId,
        deadline: Instant,
        poll: Duration,
        between: impl Fn() -> Option<Option<String>>,
    ) -> Result<Option<String>, ClientError> {
        loop {
            if let Some(early) = between() {
                return Ok(early);
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            let wait = left.min(poll);
            let state =
                self.client
                    .wait_input(&self.session(), request, wait, deadline + MAX_POLL)?;
            if let Some(answer) = state.answer {
                return Ok(Some(answer.text));
            }
            if !state.open || wait.is_zero() {
                return Ok(None);
            }
        }
    }

    /// AskUserQuestion (from its PermissionRequest, which Claude Code runs while its own
    /// dialog is open): each question goes to the page in turn; all answered in time →
    /// allow with `answers` keyed by question text. Answered in the terminal first → the
    /// PostToolUse hook settles the page's questions and this one says nothing.
    fn ask(&self) -> Result<Answer, ClientError> {
        if self.config.question_wait.is_zero() {
            return Ok(None);
        }
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
            let request_id = question_request_id(&self.capture.payload, index);
            // Answered already: the terminal was quicker (see settle_questions).
            let state = self.client.wait_input(
                &self.session(),
                &request_id,
                Duration::ZERO,
                self.quick_deadline(),
            )?;
            if state.answer.is_some() {
                return Ok(None);
            }
            let labels: Vec<String> = question
                .get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("label").and_then(Value::as_str))
                .filter(|l| !l.trim().is_empty())
                .map(|l| map::cut(l, 1024))
                .collect();
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
            match self.wait_answer(&request_id, deadline, MAX_POLL, || None)? {
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
        Ok(Some(Reply::Json(json!({
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "allow", "updatedInput": updated},
            }
        }))))
    }

    /// After an `AskUserQuestion` ran, the page's open question of the call gets the
    /// answer given in the terminal (when the page did not answer first), so the session
    /// no longer looks as if it waited.
    fn settle_questions(&self) -> Result<(), ClientError> {
        let payload = &self.capture.payload;
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
            let request = question_request_id(payload, index);
            match self
                .client
                .submit_input(&self.session(), &request, text, self.quick_deadline())
            {
                // Refused: answered already, or not (yet) put to the page.
                Ok(()) | Err(ClientError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// PermissionRequest: waits for the page's decision (the request was posted by the
    /// report, unless waiting is off or the tool is AskUserQuestion).
    fn permission(&self) -> Result<Answer, ClientError> {
        if self.config.permission_wait.is_zero() {
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
                    // Claude Code 2.1.328 ignores a bare allow of ExitPlanMode (its dialog
                    // stays open); an allow that restates the input is honoured.
                    PermissionBehavior::Allow
                        if self.capture.payload.tool_name() == Some("ExitPlanMode") =>
                    {
                        let plan = self
                            .capture
                            .payload
                            .get("tool_input")
                            .and_then(|i| i.get("plan"))
                            .cloned()
                            .unwrap_or_else(|| Value::String(String::new()));
                        json!({"behavior": "allow", "updatedInput": {"plan": plan}})
                    }
                    PermissionBehavior::Allow => json!({"behavior": "allow"}),
                    PermissionBehavior::Deny => json!({
                        "behavior": "deny",
                        "message": decision
                            .message
                            .filter(|m| !m.trim().is_empty())
                            .unwrap_or_else(|| "Denied from the Chainwatch dashboard.".to_owned()),
                    }),
                };
                return Ok(Some(Reply::Json(json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PermissionRequest",
                        "decision": decision,
                    }
                }))));
            }
            // Settled without the page (answered in the terminal, or the turn ended):
            // nothing to say, and nothing more to wait for.
            if wait.is_zero() || request.settled_at.is_some() {
                return Ok(None);
            }
        }
    }

    /// A pending retry, acknowledged, as Claude's next instruction.
    fn retry(&self) -> Result<Option<String>, ClientError> {
        let list = self
            .client
            .commands(&self.session(), self.quick_deadline())?;
        let Some(retry) = list
            .commands
            .iter()
            .find(|c| c.command == CommandType::Retry)
        else {
            return Ok(None);
        };
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
        Ok(Some(format!(
            "The person watching this session asked from the Chainwatch dashboard to retry{what}{why}. Please do it again."
        )))
    }

    /// Stop: a pending retry, or an answer from the page, wakes Claude (exit 2, the text
    /// on stderr). The wait ends quietly when the question is settled elsewhere (a prompt
    /// typed in the terminal, the session ended).
    fn stop(&self) -> Result<Answer, ClientError> {
        if let Some(retry) = self.retry()? {
            return Ok(Some(Reply::Rewake(retry)));
        }
        if self.config.stop_wait.is_zero() || !self.config.attended {
            return Ok(None);
        }
        let request_id = map::stop_request_id(self.capture);
        let deadline = Instant::now() + self.config.stop_wait;
        let between = || {
            // Nobody left to wake.
            if self
                .config
                .claude_pid
                .is_some_and(|pid| !process_alive(pid))
            {
                return Some(None);
            }
            match self.retry() {
                Ok(found) => found.map(Some),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot look for a retry");
                    None
                }
            }
        };
        Ok(self
            .wait_answer(&request_id, deadline, STOP_POLL, between)?
            .map(Reply::Rewake))
    }
}

/// The request id of question `index` of an AskUserQuestion call: from the session, the
/// prompt and the questions, which its PermissionRequest and its PostToolUse both carry
/// (PermissionRequest has no `tool_use_id`).
pub fn question_request_id(payload: &super::payload::Payload, index: usize) -> RequestId {
    let questions = payload
        .get("tool_input")
        .and_then(|i| i.get("questions"))
        .map(Value::to_string)
        .unwrap_or_default();
    let key = ids::hash(&[
        payload.session_id().as_bytes(),
        payload.str("prompt_id").unwrap_or_default().as_bytes(),
        questions.as_bytes(),
    ]);
    ids::request_id("ask-", &key, Some(index))
}

/// Whether the process `pid` still runs; true where that cannot be told (no `/proc`).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}
