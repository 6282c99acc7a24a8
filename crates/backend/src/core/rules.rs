//! The field rules, in one place: what an id, a cwd or a text field may look like, and
//! what each event's fields may hold. Every path that brings a field in (the session and
//! steering routes, `POST /api/events`, the hook, the file watcher) runs through these.
//! Checked before any state is consulted, so a malformed request never reaches the fold.

use chainwatch_shared::{EventKind, SessionStatus, StepId, WatchState};

use super::CoreError;

/// The longest id a client may choose (session, event, step, request, command ids).
pub const MAX_ID_LEN: usize = 128;
/// The longest free-text field (prompts, answers, summaries, output chunks).
pub const MAX_TEXT_LEN: usize = 1024 * 1024;
/// The longest short field (names, hostnames, users, models, titles).
pub const MAX_NAME_LEN: usize = 1024;

/// Ids appear in URL paths, so they are limited to characters that need no escaping.
pub fn id(field: &str, value: &str) -> Result<(), CoreError> {
    if value.is_empty() {
        return Err(CoreError::Invalid(format!("{field} must not be empty")));
    }
    if value.len() > MAX_ID_LEN {
        return Err(CoreError::Invalid(format!(
            "{field} is longer than {MAX_ID_LEN} characters"
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@')))
    {
        return Err(CoreError::Invalid(format!(
            "{field} may hold only letters, digits and - _ . : @ (found {bad:?})"
        )));
    }
    Ok(())
}

/// A required text field: not empty, not too long, no NUL.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.trim().is_empty() {
        return Err(CoreError::Invalid(format!("{field} must not be empty")));
    }
    optional_text(field, Some(value), max)
}

/// An optional text field: when present, not too long and no NUL.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<(), CoreError> {
    let Some(value) = value else { return Ok(()) };
    if value.len() > max {
        return Err(CoreError::Invalid(format!(
            "{field} is longer than {max} bytes"
        )));
    }
    if value.contains('\0') {
        return Err(CoreError::Invalid(format!(
            "{field} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// A cwd must be absolute on the agent's host (POSIX `/…`, Windows `C:\…` or `\\server\…`);
/// it need not exist on the server's host.
pub fn cwd(value: &str) -> Result<(), CoreError> {
    text("cwd", value, 4096)?;
    let bytes = value.as_bytes();
    let posix = value.starts_with('/');
    let windows_drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/');
    let unc = value.starts_with("\\\\");
    if posix || windows_drive || unc {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "cwd must be an absolute path, got {value:?}"
        )))
    }
}

/// The default largest event, encoded (`--max-event-bytes`): half the default body
/// limit, and above the longest text field, so any event whose fields keep their rules
/// fits unless it carries large JSON values, which [`fit_size`] previews.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 2 * 1024 * 1024;

/// Bytes of JSON text kept when a value is replaced by its preview.
pub const PREVIEW_BYTES: usize = 64 * 1024;

/// A JSON value replaced by a preview of its text: `{"truncated": true, "bytes": N,
/// "preview": "…"}` (the shape the hook uses for values it cannot post whole).
pub fn preview(value: &serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut end = text.len().min(PREVIEW_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    serde_json::json!({"truncated": true, "bytes": text.len(), "preview": &text[..end]})
}

/// Makes an event fit `max` encoded bytes where it can: the free-form JSON values an
/// agent reports (an `agent:event` payload, a tool's input and response, a step's input
/// and result, a permission's tool input) are replaced by previews, largest first, until
/// the event fits. What still does not fit is refused by the caller with 413.
pub fn fit_size(kind: &mut EventKind, max: usize) {
    use serde_json::Value;
    let size = |kind: &EventKind| serde_json::to_string(kind).map_or(usize::MAX, |s| s.len());
    if size(kind) <= max {
        return;
    }
    let mut values: Vec<&mut Value> = match kind {
        EventKind::AgentEvent { payload, .. } => vec![payload],
        EventKind::ToolUsed {
            input, response, ..
        } => input.iter_mut().chain(response.iter_mut()).collect(),
        EventKind::StepSpawned { input, .. } => input.iter_mut().collect(),
        EventKind::StepCompleted { result, .. } => result.iter_mut().collect(),
        EventKind::PermissionRequested { tool_input, .. } => vec![tool_input],
        _ => Vec::new(),
    };
    values.sort_by_key(|v| std::cmp::Reverse(serde_json::to_string(&**v).map_or(0, |s| s.len())));
    for value in values {
        if serde_json::to_string(&*value).map_or(0, |s| s.len()) > PREVIEW_BYTES {
            *value = preview(value);
        }
    }
}

/// The fields of a session update (`PUT /api/sessions/{id}`, `session:updated` from
/// any path): at least one given, a status that does not end the session, each text
/// within its size, no NUL.
pub fn session_update(
    status: Option<SessionStatus>,
    summary: Option<&str>,
    title: Option<&str>,
    model: Option<&str>,
    watch: Option<&WatchState>,
) -> Result<(), CoreError> {
    if status.is_none()
        && summary.is_none()
        && title.is_none()
        && model.is_none()
        && watch.is_none()
    {
        return Err(CoreError::Invalid(
            "nothing to update: give at least one of status, summary, title, model".into(),
        ));
    }
    if let Some(status) = status.filter(|s| s.is_terminal()) {
        return Err(CoreError::Invalid(format!(
            "status '{}' ends the session: send session:ended (POST /api/sessions/{{id}}/end)",
            status.as_str()
        )));
    }
    optional_text("summary", summary, MAX_TEXT_LEN)?;
    optional_text("title", title, MAX_NAME_LEN)?;
    optional_text("model", model, MAX_NAME_LEN)?;
    optional_text(
        "watch.reason",
        watch.and_then(|w| w.reason.as_deref()),
        MAX_TEXT_LEN,
    )
}

/// The fields of a session's end (`POST /api/sessions/{id}/end`, `session:ended`).
pub fn session_end(status: SessionStatus, reason: Option<&str>) -> Result<(), CoreError> {
    if !status.is_terminal() {
        return Err(CoreError::Invalid(format!(
            "an ended session's status is completed, failed or cancelled, not '{}'",
            status.as_str()
        )));
    }
    optional_text("reason", reason, MAX_TEXT_LEN)
}

/// The field rules of every event, whichever path it came by: the session and
/// steering routes build their event and check it here, `POST /api/events` (and so the
/// hook, which posts there) checks each event of a batch here. Needs no state. Every
/// variant is taken apart field by field, so a new field does not compile until it has
/// a rule (or is stated to need none).
pub fn event_fields(kind: &EventKind) -> Result<(), CoreError> {
    let step = |s: &Option<StepId>| s.as_ref().map_or(Ok(()), |s| id("stepId", s.as_str()));
    let name =
        |field: &str, value: &Option<String>| optional_text(field, value.as_deref(), MAX_NAME_LEN);
    match kind {
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
            self::cwd(cwd)?;
            for (field, value) in [
                ("hostname", hostname),
                ("platform", platform),
                ("user", user),
                ("model", model),
                ("title", title),
                ("source", source),
            ] {
                name(field, value)?;
            }
            optional_text(
                "watch.reason",
                watch.as_ref().and_then(|w| w.reason.as_deref()),
                MAX_TEXT_LEN,
            )
        }
        EventKind::SessionUpdated {
            status,
            summary,
            title,
            model,
            watch,
        } => session_update(
            *status,
            summary.as_deref(),
            title.as_deref(),
            model.as_deref(),
            watch.as_ref(),
        ),
        EventKind::SessionEnded { status, reason } => session_end(*status, reason.as_deref()),
        EventKind::ChainCompiled {
            chain_id,
            name: chain_name,
            steps,
        } => {
            id("chainId", chain_id.as_str())?;
            name("name", chain_name)?;
            for spec in steps {
                id("steps[].stepId", spec.step_id.as_str())?;
            }
            Ok(())
        }
        EventKind::ChainStarted { chain_id }
        | EventKind::ChainCompleted {
            chain_id,
            status: _,
        } => id("chainId", chain_id.as_str()),
        EventKind::StepSpawned {
            chain_id,
            step_id,
            name: step_name,
            kind: _,
            waits_for,
            parent_step_id,
            agent_type,
            tool_use_id,
            input: _,
        } => {
            id("chainId", chain_id.as_str())?;
            id("stepId", step_id.as_str())?;
            text("name", step_name, MAX_NAME_LEN)?;
            for waited in waits_for {
                id("waitsFor[]", waited.as_str())?;
            }
            step(parent_step_id)?;
            name("agentType", agent_type)?;
            name("toolUseId", tool_use_id)
        }
        EventKind::StepStarted { chain_id, step_id }
        | EventKind::StepCompleted {
            chain_id,
            step_id,
            result: _,
        } => {
            id("chainId", chain_id.as_str())?;
            id("stepId", step_id.as_str())
        }
        EventKind::StepFailed {
            chain_id,
            step_id,
            error,
        } => {
            id("chainId", chain_id.as_str())?;
            id("stepId", step_id.as_str())?;
            optional_text("error", Some(error), MAX_TEXT_LEN)
        }
        EventKind::InteractionAwaitingInput {
            request_id,
            prompt,
            quick_responses,
            step_id,
        } => {
            id("requestId", request_id.as_str())?;
            text("prompt", prompt, MAX_TEXT_LEN)?;
            for response in quick_responses {
                text("quickResponses[]", response, MAX_NAME_LEN)?;
            }
            step(step_id)
        }
        EventKind::InteractionInputReceived {
            request_id,
            text: answer,
            answered_by,
        } => {
            id("requestId", request_id.as_str())?;
            optional_text("answeredBy", answered_by.as_deref(), MAX_NAME_LEN)?;
            text("text", answer, MAX_TEXT_LEN)
        }
        EventKind::PermissionRequested {
            request_id,
            tool_name,
            tool_input: _,
            tool_use_id,
        } => {
            id("requestId", request_id.as_str())?;
            text("toolName", tool_name, MAX_NAME_LEN)?;
            name("toolUseId", tool_use_id)
        }
        EventKind::PermissionDecided {
            request_id,
            behavior: _,
            message,
            decided_by,
        } => {
            id("requestId", request_id.as_str())?;
            optional_text("decidedBy", decided_by.as_deref(), MAX_NAME_LEN)?;
            optional_text("message", message.as_deref(), MAX_TEXT_LEN)
        }
        EventKind::CommandIssued {
            command_id,
            command: _,
            step_id,
            reason,
            issued_by,
        } => {
            id("commandId", command_id.as_str())?;
            optional_text("issuedBy", issued_by.as_deref(), MAX_NAME_LEN)?;
            step(step_id)?;
            optional_text("reason", reason.as_deref(), MAX_TEXT_LEN)
        }
        EventKind::CommandAcknowledged { command_id, note } => {
            id("commandId", command_id.as_str())?;
            optional_text("note", note.as_deref(), MAX_TEXT_LEN)
        }
        EventKind::FileCreated { path, step_id }
        | EventKind::FileModified { path, step_id }
        | EventKind::FileDeleted { path, step_id } => {
            text("path", path, 4096)?;
            step(step_id)
        }
        EventKind::ToolUsed {
            tool_name,
            tool_use_id,
            status: _,
            input: _,
            response: _,
            error,
            step_id,
            duration_ms: _,
        } => {
            text("toolName", tool_name, MAX_NAME_LEN)?;
            name("toolUseId", tool_use_id)?;
            optional_text("error", error.as_deref(), MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::PromptSubmitted { prompt } => {
            optional_text("prompt", Some(prompt), MAX_TEXT_LEN)
        }
        EventKind::TerminalOutput {
            text: output,
            stream: _,
            tool_use_id,
            step_id,
        } => {
            optional_text("text", Some(output), MAX_TEXT_LEN)?;
            name("toolUseId", tool_use_id)?;
            step(step_id)
        }
        EventKind::ErrorOccurred {
            message,
            code,
            step_id,
        } => {
            text("message", message, MAX_TEXT_LEN)?;
            name("code", code)?;
            step(step_id)
        }
        EventKind::AgentNotification {
            message,
            notification_type,
        } => {
            optional_text("message", Some(message), MAX_TEXT_LEN)?;
            name("notificationType", notification_type)
        }
        EventKind::AgentEvent {
            name: event_name,
            payload: _,
        } => text("name", event_name, MAX_NAME_LEN),
        EventKind::MessageAssistant {
            text: said,
            model,
            usage: _,
            cost_usd,
            message_id,
            step_id,
            prompt_id,
            superseded: _,
        } => {
            optional_text("text", Some(said), MAX_TEXT_LEN)?;
            name("model", model)?;
            name("messageId", message_id)?;
            name("promptId", prompt_id)?;
            if cost_usd.is_some_and(|c| !c.is_finite() || c < 0.0) {
                return Err(CoreError::Invalid(
                    "costUsd must be a finite number, not negative".into(),
                ));
            }
            step(step_id)
        }
        EventKind::UsageReported {
            prompt_id,
            model,
            usage: _,
            cost_usd,
            duration_ms: _,
            request_id,
            replaces: _,
        } => {
            name("promptId", prompt_id)?;
            name("model", model)?;
            name("requestId", request_id)?;
            if cost_usd.is_some_and(|c| !c.is_finite() || c < 0.0) {
                return Err(CoreError::Invalid(
                    "costUsd must be a finite number, not negative".into(),
                ));
            }
            Ok(())
        }
        EventKind::SessionPruned {} => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe() {
        assert!(id("id", "3f1c-22:ab_c.d@x").is_ok());
        for bad in [
            "",
            "a/b",
            "a b",
            "a?b",
            "a%2F",
            "a\u{0}",
            "é",
            &"x".repeat(129),
        ] {
            assert!(id("id", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cwd_must_be_absolute() {
        for good in [
            "/home/ada/app",
            "C:\\Users\\ada",
            "d:/src",
            "\\\\server\\share",
        ] {
            assert!(cwd(good).is_ok(), "{good}");
        }
        for bad in ["", "relative/path", "./x", "~/app", "C:relative"] {
            assert!(cwd(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_refuses_nul_and_oversize() {
        assert!(text("t", "ok", 10).is_ok());
        assert!(text("t", "   ", 10).is_err());
        assert!(text("t", "a\0b", 10).is_err());
        assert!(text("t", "abcdefghijk", 10).is_err());
    }
}
