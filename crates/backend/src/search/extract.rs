//! What of an event is searchable: the words people look for (prompts, the assistant's
//! replies, tool inputs, terminal output, file paths, errors, questions and answers).
//! Events with nothing worth finding give `None` and are not indexed.

use chainwatch_shared::{EventKind, ToolStatus};
use serde_json::Value;

/// The most text one event contributes to the index; the rest is not searchable.
pub const MAX_INDEXED_BYTES: usize = 32 * 1024;

/// The searchable text of an event.
pub fn text(kind: &EventKind) -> Option<String> {
    let mut out = String::new();
    match kind {
        EventKind::PromptSubmitted { prompt } => out.push_str(prompt),
        EventKind::MessageAssistant { text, .. } => out.push_str(text),
        EventKind::ToolUsed {
            tool_name,
            status,
            input,
            error,
            tool_use_id,
            ..
        } => {
            // A call's start and its end repeat the same input: index it once (the
            // start), and the end only for its error or when no start names it.
            if *status == ToolStatus::Succeeded && tool_use_id.is_some() {
                return None;
            }
            out.push_str(tool_name);
            if *status != ToolStatus::Failed || tool_use_id.is_none() {
                if let Some(input) = input {
                    strings(input, &mut out);
                }
            }
            if let Some(error) = error {
                push(&mut out, error);
            }
        }
        EventKind::TerminalOutput { text, .. } => strip_ansi(text, &mut out),
        EventKind::FileCreated { path, .. }
        | EventKind::FileModified { path, .. }
        | EventKind::FileDeleted { path, .. } => out.push_str(path),
        EventKind::ErrorOccurred { message, code, .. } => {
            out.push_str(message);
            if let Some(code) = code {
                push(&mut out, code);
            }
        }
        EventKind::StepFailed { error, .. } => out.push_str(error),
        EventKind::StepSpawned { name, input, .. } => {
            out.push_str(name);
            if let Some(input) = input {
                strings(input, &mut out);
            }
        }
        EventKind::InteractionAwaitingInput { prompt, .. } => out.push_str(prompt),
        EventKind::InteractionInputReceived { text, .. } => out.push_str(text),
        EventKind::PermissionRequested {
            tool_name,
            tool_input,
            ..
        } => {
            out.push_str(tool_name);
            strings(tool_input, &mut out);
        }
        EventKind::AgentNotification { message, .. } => out.push_str(message),
        EventKind::SessionStarted { cwd, title, .. } => {
            out.push_str(cwd);
            if let Some(title) = title {
                push(&mut out, title);
            }
        }
        EventKind::SessionUpdated { summary, title, .. } => {
            for part in [summary, title].into_iter().flatten() {
                push(&mut out, part);
            }
        }
        EventKind::SessionEnded { reason, .. } => {
            if let Some(reason) = reason {
                out.push_str(reason);
            }
        }
        EventKind::ChainCompiled { .. }
        | EventKind::ChainStarted { .. }
        | EventKind::ChainCompleted { .. }
        | EventKind::StepStarted { .. }
        | EventKind::StepCompleted { .. }
        | EventKind::PermissionDecided { .. }
        | EventKind::CommandIssued { .. }
        | EventKind::CommandAcknowledged { .. }
        | EventKind::SessionPruned {}
        | EventKind::AgentEvent { .. }
        | EventKind::UsageReported { .. } => {}
    }
    if out.trim().is_empty() {
        return None;
    }
    if out.len() > MAX_INDEXED_BYTES {
        let mut end = MAX_INDEXED_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    Some(out)
}

fn push(out: &mut String, part: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(part);
}

/// Every string (and number) inside a JSON value, one per line.
fn strings(value: &Value, out: &mut String) {
    if out.len() > MAX_INDEXED_BYTES {
        return;
    }
    match value {
        Value::String(s) => push(out, s),
        Value::Number(n) => push(out, &n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The text without ANSI escape sequences (colours would glue to the words).
fn strip_ansi(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // CSI: parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_inputs_are_indexed_once_and_failures_keep_their_error() {
        let tool = |status, error: Option<&str>| EventKind::ToolUsed {
            tool_name: "Bash".into(),
            tool_use_id: Some("t1".into()),
            status,
            input: Some(json!({"command": "cargo test --workspace", "timeout": 60})),
            response: None,
            error: error.map(Into::into),
            step_id: None,
            duration_ms: None,
        };
        let started = tool(ToolStatus::Started, None);
        let got = text(&started).unwrap();
        assert!(got.contains("cargo test --workspace") && got.contains("60"));
        let succeeded = tool(ToolStatus::Succeeded, None);
        assert_eq!(text(&succeeded), None);
        let failed = tool(ToolStatus::Failed, Some("exit status 101"));
        assert_eq!(text(&failed).unwrap(), "Bash\nexit status 101");
    }

    #[test]
    fn terminal_output_loses_its_colours_and_big_text_is_cut() {
        let out = EventKind::TerminalOutput {
            text: "\u{1b}[32mok\u{1b}[0m done".into(),
            stream: None,
            tool_use_id: None,
            step_id: None,
        };
        assert_eq!(text(&out).unwrap(), "ok done");
        let big = EventKind::PromptSubmitted {
            prompt: "é".repeat(MAX_INDEXED_BYTES),
        };
        assert!(text(&big).unwrap().len() <= MAX_INDEXED_BYTES);
        assert_eq!(
            text(&EventKind::MessageAssistant {
                text: " ".into(),
                model: None,
                usage: None,
                cost_usd: None,
                message_id: None,
                step_id: None,
                prompt_id: None,
                superseded: None,
            }),
            None
        );
    }
}
