//! The bodies the bench sends and the rows it stores. One realistic event shape is
//! used throughout: a `tool:used` event as the hook reports a PostToolUse, with an
//! `eventId` (as the hook sends, for idempotent retries). The same bytes go to the real
//! server and to the bare handler; the SQLite reference stores the rows the server
//! would store for them.

use std::sync::Arc;

use chainwatch::store::LoggedEvent;
use chainwatch_shared::{EventId, EventKind, SessionId, SessionStatus, ToolStatus, WorkspaceEvent};

/// A `POST /api/sessions` body creating session `id`.
pub fn create_session(id: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","cwd":"/bench/{id}","hostname":"bench","user":"bench"}}"#).into_bytes()
}

/// An event id shaped as the hook's: 32 hex digits of a hash (here of `seed`), so ids
/// land all over the log's id space as the hook's do, not in the clustered order of a
/// counter.
pub fn hook_id(seed: &str) -> String {
    chainwatch::hook::ids::hash(&[seed.as_bytes()])
}

fn push_tool_used(out: &mut Vec<u8>, session: &str, seed: &str) {
    let event_id = hook_id(seed);
    out.extend_from_slice(
        format!(
            r#"{{"eventId":"{event_id}","sessionId":"{session}","type":"tool:used","toolName":"Bash","toolUseId":"toolu_{event_id}","status":"succeeded","input":{{"command":"cargo test --workspace"}},"response":{{"stdout":"test result: ok. 42 passed; 0 failed"}}}}"#
        )
        .as_bytes(),
    );
}

/// A `POST /api/events` body: one event object when `count` is 1, else an array of
/// `count`; event ids are [`hook_id`]s of `{prefix}-{i}`.
pub fn tool_used_body(session: &str, prefix: &str, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 260 + 2);
    if count == 1 {
        push_tool_used(&mut out, session, &format!("{prefix}-0"));
        return out;
    }
    out.push(b'[');
    for i in 0..count {
        if i > 0 {
            out.push(b',');
        }
        push_tool_used(&mut out, session, &format!("{prefix}-{i}"));
    }
    out.push(b']');
    out
}

/// A stored event exactly as the server encodes it at commit.
pub fn logged(seq: u64, session: &str, event_id: String, kind: EventKind) -> LoggedEvent {
    let event = WorkspaceEvent {
        seq,
        event_id: EventId(event_id),
        session_id: SessionId(session.to_owned()),
        timestamp: chrono::Utc::now(),
        kind,
    };
    let json = serde_json::to_string(&event).unwrap_or_default();
    LoggedEvent {
        seq,
        global: event.kind.is_global(),
        event_id: event.event_id,
        session_id: event.session_id,
        json: Arc::from(json),
    }
}

/// The stored row of the `tool:used` event [`tool_used_body`] posts.
pub fn tool_used_row(seq: u64, session: &str, event_id: String) -> LoggedEvent {
    let kind = EventKind::ToolUsed {
        tool_name: "Bash".into(),
        tool_use_id: Some(format!("toolu_{event_id}")),
        status: ToolStatus::Succeeded,
        input: Some(serde_json::json!({"command": "cargo test --workspace"})),
        response: Some(serde_json::json!({"stdout": "test result: ok. 42 passed; 0 failed"})),
        error: None,
        step_id: None,
        duration_ms: None,
    };
    logged(seq, session, event_id, kind)
}

/// Event `i` (0-based) of a catch-up log of global events: sessions of 100 events
/// each, `session:started`, 98 `session:updated`, `session:ended`.
pub fn catch_up_event(i: u64) -> LoggedEvent {
    let session = format!("hist-{}", i / 100);
    let kind = match i % 100 {
        0 => EventKind::SessionStarted {
            cwd: format!("/work/project-{}", i / 100 % 50),
            hostname: Some("host-a".into()),
            platform: Some("linux".into()),
            user: Some("dev".into()),
            model: None,
            title: None,
            source: Some("hook".into()),
            watch: None,
        },
        99 => EventKind::SessionEnded {
            status: SessionStatus::Completed,
            reason: None,
        },
        n => EventKind::SessionUpdated {
            status: Some(SessionStatus::Active),
            summary: Some(format!("working on step {n}: editing src/module_{n}.rs")),
            title: None,
            model: None,
            watch: None,
        },
    };
    logged(i + 1, &session, format!("hist-{i}"), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_new_events() {
        let one: chainwatch_shared::NewEvent =
            serde_json::from_slice(&tool_used_body("s", "e", 1)).expect("one event");
        assert_eq!(one.event_id.expect("id").as_str(), hook_id("e-0"));
        let many: Vec<chainwatch_shared::NewEvent> =
            serde_json::from_slice(&tool_used_body("s", "e", 3)).expect("array");
        assert_eq!(many.len(), 3);
        let ids: std::collections::HashSet<_> = many
            .into_iter()
            .filter_map(|event| event.event_id)
            .collect();
        assert_eq!(ids.len(), 3, "an id of its own for each event");
        assert_eq!(hook_id("e-1").len(), 32, "shaped as the hook's");
    }

    #[test]
    fn catch_up_events_are_global_and_decode() {
        for i in [0, 1, 99, 100] {
            let row = catch_up_event(i);
            assert!(row.global);
            let event: WorkspaceEvent = serde_json::from_str(&row.json).expect("decodes");
            assert_eq!(event.seq, i + 1);
        }
    }
}
