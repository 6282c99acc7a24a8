//! The field rules, in one place: what an id, a cwd or a text field may look like, and
//! what each event's fields may hold. Every path that brings a field in (the session and
//! steering routes, `POST /api/events`, the hook, the file watcher) runs through these.
//! Checked before any state is consulted, so a malformed request never reaches the fold.

use chainwatch_shared::{EventKind, SessionStatus, StepId};

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

/// The fields of a session update (`PUT /api/sessions/{id}`, `session:updated`): at
/// least one given, each within its size, no NUL.
pub fn session_update(
    status: Option<SessionStatus>,
    summary: Option<&str>,
    title: Option<&str>,
    model: Option<&str>,
) -> Result<(), CoreError> {
    if status.is_none() && summary.is_none() && title.is_none() && model.is_none() {
        return Err(CoreError::Invalid(
            "nothing to update: give at least one of status, summary, title, model".into(),
        ));
    }
    optional_text("summary", summary, MAX_TEXT_LEN)?;
    optional_text("title", title, MAX_NAME_LEN)?;
    optional_text("model", model, MAX_NAME_LEN)
}

/// The fields of a session's end (`POST /api/sessions/{id}/end`, `session:ended`).
pub fn session_end(reason: Option<&str>) -> Result<(), CoreError> {
    optional_text("reason", reason, MAX_TEXT_LEN)
}

/// Field rules of agent-reported events that need no state.
pub fn event_fields(kind: &EventKind) -> Result<(), CoreError> {
    let step = |s: &Option<StepId>| s.as_ref().map_or(Ok(()), |s| id("stepId", s.as_str()));
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
            self::cwd(cwd)?;
            for (field, value) in [
                ("hostname", hostname),
                ("platform", platform),
                ("user", user),
                ("model", model),
                ("title", title),
                ("source", source),
            ] {
                optional_text(field, value.as_deref(), MAX_NAME_LEN)?;
            }
            Ok(())
        }
        EventKind::ChainCompiled {
            chain_id, steps, ..
        } => {
            id("chainId", chain_id.as_str())?;
            for spec in steps {
                id("steps[].stepId", spec.step_id.as_str())?;
            }
            Ok(())
        }
        EventKind::ChainStarted { chain_id } | EventKind::ChainCompleted { chain_id, .. } => {
            id("chainId", chain_id.as_str())
        }
        EventKind::StepSpawned {
            chain_id,
            step_id,
            name,
            ..
        } => {
            id("chainId", chain_id.as_str())?;
            id("stepId", step_id.as_str())?;
            text("name", name, MAX_NAME_LEN)
        }
        EventKind::StepStarted { chain_id, step_id }
        | EventKind::StepCompleted {
            chain_id, step_id, ..
        }
        | EventKind::StepFailed {
            chain_id, step_id, ..
        } => {
            id("chainId", chain_id.as_str())?;
            id("stepId", step_id.as_str())
        }
        EventKind::InteractionAwaitingInput {
            request_id,
            prompt,
            step_id,
            ..
        } => {
            id("requestId", request_id.as_str())?;
            text("prompt", prompt, MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::PermissionRequested {
            request_id,
            tool_name,
            ..
        } => {
            id("requestId", request_id.as_str())?;
            text("toolName", tool_name, MAX_NAME_LEN)
        }
        EventKind::FileCreated { path, step_id }
        | EventKind::FileModified { path, step_id }
        | EventKind::FileDeleted { path, step_id } => {
            text("path", path, 4096)?;
            step(step_id)
        }
        EventKind::ToolUsed {
            tool_name, step_id, ..
        } => {
            text("toolName", tool_name, MAX_NAME_LEN)?;
            step(step_id)
        }
        EventKind::PromptSubmitted { prompt } => {
            optional_text("prompt", Some(prompt), MAX_TEXT_LEN)
        }
        EventKind::TerminalOutput { text, step_id, .. } => {
            optional_text("text", Some(text), MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::ErrorOccurred {
            message, step_id, ..
        } => {
            text("message", message, MAX_TEXT_LEN)?;
            step(step_id)
        }
        EventKind::AgentNotification { message, .. } => {
            optional_text("message", Some(message), MAX_TEXT_LEN)
        }
        EventKind::AgentEvent { name, .. } => text("name", name, MAX_NAME_LEN),
        EventKind::MessageAssistant {
            text: said,
            model,
            cost_usd,
            message_id,
            step_id,
            ..
        } => {
            optional_text("text", Some(said), MAX_TEXT_LEN)?;
            optional_text("model", model.as_deref(), MAX_NAME_LEN)?;
            optional_text("messageId", message_id.as_deref(), MAX_NAME_LEN)?;
            if cost_usd.is_some_and(|c| !c.is_finite() || c < 0.0) {
                return Err(CoreError::Invalid(
                    "costUsd must be a finite number, not negative".into(),
                ));
            }
            step(step_id)
        }
        EventKind::SessionUpdated { .. }
        | EventKind::SessionPruned {}
        | EventKind::SessionEnded { .. }
        | EventKind::InteractionInputReceived { .. }
        | EventKind::PermissionDecided { .. }
        | EventKind::CommandIssued { .. }
        | EventKind::CommandAcknowledged { .. } => Ok(()),
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
