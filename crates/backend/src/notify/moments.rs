//! Which committed events start a wait on a person, and whether an item still waits.
//! The projection's rules decide the second (a permission is pending, a question is
//! the open one): the notifier asks the read model rather than re-deriving them, so a
//! permission settled in the terminal, a turn that ended or a session that ended stop
//! waiting here exactly when they do on the page.

use chainwatch_shared::{EventKind, Moment, RequestId, SessionId, WorkspaceEvent};
use chrono::{DateTime, Utc};

use crate::core::projection::SessionRecord;

/// Bytes at the start of an event's JSON that hold its `type` (and an `agent:event`'s
/// `name`): the envelope's ids are at most 128 characters each.
const HEAD: usize = 640;

/// A cheap look at an event's JSON head: whether it may start a wait. Anything that
/// settles one is found by asking the read model, so this only has to find openings
/// (a false positive costs one parse on the notifier's task).
pub fn may_matter(json: &str) -> bool {
    let mut end = json.len().min(HEAD);
    while !json.is_char_boundary(end) {
        end -= 1;
    }
    let head = &json[..end];
    head.contains("\"type\":\"interaction:awaiting-input\"")
        || head.contains("\"type\":\"permission:requested\"")
        || (head.contains("\"type\":\"agent:event\"") && head.contains("\"StopFailure\""))
}

/// Something that started waiting on a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    /// What waits.
    pub moment: Moment,
    /// Its session.
    pub session_id: SessionId,
    /// The item's id.
    pub item_id: RequestId,
    /// What waits, for people.
    pub message: String,
    /// When it started.
    pub since: DateTime<Utc>,
    /// For a failed stop: the session's prompt count then (a new prompt settles it).
    pub prompts: u64,
}

/// The wait an event opens, if any. A Stop is told from a question by the hook's
/// request ids (`stop-…`, docs/HOOKS.md).
pub fn opening(event: &WorkspaceEvent) -> Option<Opening> {
    let (moment, item_id, message) = match &event.kind {
        EventKind::PermissionRequested {
            request_id,
            tool_name,
            tool_input,
            ..
        } => (
            Moment::Permission,
            request_id.clone(),
            format!("{tool_name}: {}", describe_input(tool_input)),
        ),
        EventKind::InteractionAwaitingInput {
            request_id, prompt, ..
        } => (asking(request_id), request_id.clone(), prompt.clone()),
        EventKind::AgentEvent { name, payload } if name == "StopFailure" => {
            let error = payload
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("error");
            let last = payload
                .get("last_assistant_message")
                .and_then(|e| e.as_str())
                .unwrap_or("");
            (
                Moment::StopFailure,
                RequestId(event.event_id.as_str().to_owned()),
                if last.is_empty() {
                    format!("The turn ended: {error}")
                } else {
                    format!("The turn ended: {error}. {last}")
                },
            )
        }
        _ => return None,
    };
    Some(Opening {
        moment,
        session_id: event.session_id.clone(),
        item_id,
        message: clip(&message, 300),
        since: event.timestamp,
        prompts: 0,
    })
}

/// A Stop or a question, by the hook's request ids (`stop-…`, docs/HOOKS.md).
pub fn asking(request_id: &RequestId) -> Moment {
    if request_id.as_str().starts_with("stop-") {
        Moment::Stop
    } else {
        Moment::Question
    }
}

/// Whether an item still waits, by the session's state in the read model; `None` for
/// a session that is gone.
pub fn still_waiting(record: &SessionRecord, opening: &Opening) -> bool {
    if record.is_ended() {
        return false;
    }
    let s = &record.session;
    match opening.moment {
        Moment::Permission => s
            .pending_permissions
            .iter()
            .any(|p| p.request_id == opening.item_id),
        Moment::Question | Moment::Stop => s
            .awaiting_input
            .as_ref()
            .is_some_and(|a| a.request_id == opening.item_id),
        // Nothing in the fold tracks a failed stop: a new prompt is the person acting.
        Moment::StopFailure => s.counts.prompts == opening.prompts,
    }
}

/// How a settled item ended, and who ended it, from the read model.
pub fn settlement(record: Option<&SessionRecord>, opening: &Opening) -> (String, Option<String>) {
    let moved_on = || ("moved-on".to_owned(), None);
    let Some(record) = record else {
        return moved_on();
    };
    match opening.moment {
        Moment::Permission => match record
            .permission(&opening.item_id)
            .and_then(|p| p.decision.as_ref())
        {
            Some(decision) => (
                match decision.behavior {
                    chainwatch_shared::PermissionBehavior::Allow => "allow",
                    chainwatch_shared::PermissionBehavior::Deny => "deny",
                }
                .to_owned(),
                decision.decided_by.clone(),
            ),
            None => moved_on(),
        },
        Moment::Question | Moment::Stop => match record.answer(&opening.item_id) {
            Some(answer) => ("answered".to_owned(), answer.answered_by.clone()),
            None => moved_on(),
        },
        Moment::StopFailure => moved_on(),
    }
}

/// The session for people: its title, or the last part of its cwd.
pub fn session_label(record: Option<&SessionRecord>, id: &SessionId) -> String {
    let Some(record) = record else {
        return id.to_string();
    };
    let s = &record.session;
    if let Some(title) = s.title.as_deref().filter(|t| !t.is_empty()) {
        return clip(title, 80);
    }
    s.cwd
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|p| !p.is_empty())
        .map_or_else(|| id.to_string(), |p| clip(p, 80))
}

/// A title line for people.
pub fn title(moment: Moment, label: &str) -> String {
    match moment {
        Moment::Permission => format!("Permission needed in {label}"),
        Moment::Question => format!("Question from {label}"),
        Moment::Stop => format!("{label} awaits your next instruction"),
        Moment::StopFailure => format!("{label} stopped on an error"),
    }
}

/// A tool input in one line: its command, path, URL or pattern when it has one.
pub fn describe_input(input: &serde_json::Value) -> String {
    for key in ["command", "file_path", "path", "url", "pattern", "prompt"] {
        if let Some(v) = input.get(key).and_then(|v| v.as_str()) {
            return v.to_owned();
        }
    }
    input.to_string()
}

/// At most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: EventKind) -> WorkspaceEvent {
        WorkspaceEvent {
            seq: 7,
            event_id: "e7".into(),
            session_id: "s1".into(),
            timestamp: Utc::now(),
            kind,
        }
    }

    #[test]
    fn the_head_check_finds_every_opening_and_skips_the_rest() {
        let kinds = [
            EventKind::PermissionRequested {
                request_id: "p1".into(),
                tool_name: "Bash".into(),
                tool_input: json!({"command": "ls"}),
                tool_use_id: None,
            },
            EventKind::InteractionAwaitingInput {
                request_id: "stop-1".into(),
                prompt: "done".into(),
                quick_responses: vec![],
                step_id: None,
            },
            EventKind::AgentEvent {
                name: "StopFailure".into(),
                payload: json!({"error": "rate_limit"}),
            },
        ];
        for kind in kinds {
            let e = event(kind);
            let json = serde_json::to_string(&e).expect("json");
            assert!(may_matter(&json), "{json}");
            assert!(opening(&e).is_some());
        }
        let quiet = event(EventKind::PromptSubmitted {
            prompt: "\"type\":\"permission:requested\" in a prompt".into(),
        });
        let json = serde_json::to_string(&quiet).expect("json");
        // A false positive is allowed; a missing opening is not.
        assert!(opening(&quiet).is_none(), "{json}");
        let tool = event(EventKind::ToolUsed {
            tool_name: "Bash".into(),
            tool_use_id: None,
            status: chainwatch_shared::ToolStatus::Started,
            input: None,
            response: None,
            error: None,
            step_id: None,
            duration_ms: None,
        });
        assert!(!may_matter(&serde_json::to_string(&tool).expect("json")));
    }

    #[test]
    fn stop_and_question_are_told_apart_by_the_hooks_ids() {
        let ask = |id: &str| {
            opening(&event(EventKind::InteractionAwaitingInput {
                request_id: id.into(),
                prompt: "Which?".into(),
                quick_responses: vec![],
                step_id: None,
            }))
            .expect("opens")
            .moment
        };
        assert_eq!(ask("stop-abc"), Moment::Stop);
        assert_eq!(ask("ask-abc-0"), Moment::Question);
        assert_eq!(ask("q1"), Moment::Question);
    }

    #[test]
    fn messages_are_clipped_on_character_boundaries() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hé", 2), "hé");
    }
}
