//! The Markdown export of a session (`GET /api/sessions/{id}/export?format=markdown`):
//! the conversation as a person reads it. Prompts, the assistant's replies, tool calls
//! with their outcome, questions and answers, permission decisions and errors, in log
//! order. Rendering is incremental (one event at a time) so a long session streams
//! without being held in memory; the JSONL export needs no rendering at all.

use std::collections::HashMap;
use std::fmt::Write;

use chainwatch_shared::{EventKind, Session, ToolStatus, WorkspaceEvent};
use serde_json::Value;

/// Tool calls whose start is remembered until their outcome arrives; older ones are
/// rendered without an outcome.
const OPEN_CALLS_KEPT: usize = 1024;
/// The longest tool input shown, in characters.
const INPUT_SHOWN: usize = 300;

/// Renders one session's events as Markdown.
#[derive(Debug, Default)]
pub struct MarkdownExport {
    open_calls: HashMap<String, (String, String)>,
}

/// The title line and facts of a session.
pub fn header(session: &Session) -> String {
    let mut out = String::new();
    let title = session.title.as_deref().unwrap_or(session.id.as_str());
    let _ = writeln!(out, "# {}\n", one_line(title));
    let _ = writeln!(out, "- Session: `{}`", session.id);
    let _ = writeln!(out, "- Directory: `{}`", session.cwd);
    for (label, value) in [
        ("Host", &session.hostname),
        ("User", &session.user),
        ("Model", &session.model),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "- {label}: {}", one_line(value));
        }
    }
    let _ = writeln!(out, "- Started: {}", session.started_at.to_rfc3339());
    let _ = writeln!(out, "- Status: {}", session.status.as_str());
    let u = &session.usage;
    let _ = writeln!(
        out,
        "- Tokens: {} input, {} output, {} cache read, {} cache write; cost ${:.4}\n",
        u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_creation_tokens, u.cost_usd
    );
    out
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|line| format!("> {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a tool call was asked to do, short: the command, the file, or the input.
fn summarize(input: Option<&Value>) -> String {
    let Some(input) = input else {
        return String::new();
    };
    let text = [
        "command",
        "file_path",
        "path",
        "pattern",
        "url",
        "description",
    ]
    .iter()
    .find_map(|key| input.get(key).and_then(Value::as_str).map(str::to_owned))
    .unwrap_or_else(|| input.to_string());
    let mut short: String = one_line(&text).chars().take(INPUT_SHOWN).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short.replace('`', "'")
}

impl MarkdownExport {
    /// The Markdown of one event ("" for events that are not part of the conversation).
    pub fn event(&mut self, event: &WorkspaceEvent) -> String {
        let at = event.timestamp.format("%H:%M:%S");
        match &event.kind {
            EventKind::PromptSubmitted { prompt } => {
                format!("## Prompt ({at})\n\n{}\n\n", quote(prompt))
            }
            EventKind::MessageAssistant { text, step_id, .. } if !text.trim().is_empty() => {
                let who = match step_id {
                    Some(step) => format!("Subagent `{step}`"),
                    None => "Assistant".to_owned(),
                };
                format!("**{who}** ({at}):\n\n{}\n\n", text.trim_end())
            }
            EventKind::ToolUsed {
                tool_name,
                tool_use_id,
                status,
                input,
                error,
                ..
            } => {
                let summary = summarize(input.as_ref());
                match (status, tool_use_id) {
                    (ToolStatus::Started, Some(id)) => {
                        if self.open_calls.len() >= OPEN_CALLS_KEPT {
                            self.open_calls.clear();
                        }
                        self.open_calls
                            .insert(id.clone(), (tool_name.clone(), summary));
                        String::new()
                    }
                    _ => {
                        let (name, summary) = tool_use_id
                            .as_ref()
                            .and_then(|id| self.open_calls.remove(id))
                            .filter(|(_, s)| !s.is_empty())
                            .unwrap_or((tool_name.clone(), summary));
                        let outcome = match status {
                            ToolStatus::Succeeded => "ok".to_owned(),
                            ToolStatus::Failed => format!(
                                "failed: {}",
                                one_line(error.as_deref().unwrap_or("no reason given"))
                            ),
                            ToolStatus::Started => "started".to_owned(),
                        };
                        format!("- Tool `{name}` `{summary}`: {outcome}\n\n")
                    }
                }
            }
            EventKind::InteractionAwaitingInput { prompt, .. } => {
                format!("**Question** ({at}):\n\n{}\n\n", quote(prompt))
            }
            EventKind::InteractionInputReceived { text, .. } => {
                format!("**Answer** ({at}):\n\n{}\n\n", quote(text))
            }
            EventKind::PermissionRequested {
                tool_name,
                tool_input,
                ..
            } => format!(
                "- Permission asked for `{tool_name}` `{}`\n\n",
                summarize(Some(tool_input))
            ),
            EventKind::PermissionDecided {
                behavior, message, ..
            } => format!(
                "- Permission {}{}\n\n",
                match behavior {
                    chainwatch_shared::PermissionBehavior::Allow => "allowed",
                    chainwatch_shared::PermissionBehavior::Deny => "denied",
                },
                message
                    .as_deref()
                    .map(|m| format!(": {}", one_line(m)))
                    .unwrap_or_default()
            ),
            EventKind::ErrorOccurred { message, .. } => {
                format!("> **Error** ({at}): {}\n\n", one_line(message))
            }
            EventKind::StepFailed { error, step_id, .. } => {
                format!("> **Step `{step_id}` failed**: {}\n\n", one_line(error))
            }
            EventKind::SessionEnded { status, reason } => format!(
                "---\n\nSession ended ({}){} at {}.\n",
                status.as_str(),
                reason
                    .as_deref()
                    .map(|r| format!(": {}", one_line(r)))
                    .unwrap_or_default(),
                event.timestamp.to_rfc3339()
            ),
            _ => String::new(),
        }
    }

    /// Tool calls that started and never reported an outcome.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        let mut open: Vec<_> = self.open_calls.drain().collect();
        open.sort();
        for (_, (name, summary)) in open {
            let _ = writeln!(out, "- Tool `{name}` `{summary}`: no outcome reported\n");
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chainwatch_shared::{EventId, SessionId};
    use serde_json::json;

    fn event(seq: u64, kind: EventKind) -> WorkspaceEvent {
        WorkspaceEvent {
            seq,
            event_id: EventId::from(format!("e{seq}")),
            session_id: SessionId::from("s"),
            timestamp: chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
                .unwrap()
                .into(),
            kind,
        }
    }

    #[test]
    fn reads_as_the_conversation_with_tool_outcomes() {
        let mut md = MarkdownExport::default();
        let tool = |status, error: Option<&str>| EventKind::ToolUsed {
            tool_name: "Bash".into(),
            tool_use_id: Some("t1".into()),
            status,
            input: Some(json!({"command": "cargo `test`"})),
            response: None,
            error: error.map(Into::into),
            step_id: None,
            duration_ms: None,
        };
        let out: String = [
            event(
                1,
                EventKind::PromptSubmitted {
                    prompt: "run the tests\nplease".into(),
                },
            ),
            event(
                2,
                EventKind::MessageAssistant {
                    text: "Running them.".into(),
                    model: Some("m".into()),
                    usage: None,
                    cost_usd: None,
                    message_id: None,
                    step_id: None,
                    prompt_id: None,
                    superseded: None,
                },
            ),
            event(3, tool(ToolStatus::Started, None)),
            event(4, tool(ToolStatus::Failed, Some("exit 101"))),
        ]
        .iter()
        .map(|e| md.event(e))
        .collect();
        assert_eq!(
            out,
            "## Prompt (10:00:00)\n\n> run the tests\n> please\n\n\
             **Assistant** (10:00:00):\n\nRunning them.\n\n\
             - Tool `Bash` `cargo 'test'`: failed: exit 101\n\n"
        );
        assert_eq!(md.finish(), "");
        md.event(&event(5, tool(ToolStatus::Started, None)));
        assert!(md.finish().contains("no outcome reported"));
    }
}
