//! Round-trips every event through JSON and pins the wire form of a few.

use super::*;
use crate::model::*;
use serde_json::json;

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z")
        .expect("valid timestamp")
        .with_timezone(&Utc)
}

/// One sample of every kind, in declaration order.
pub(crate) fn samples() -> Vec<EventKind> {
    EventKind::examples()
}

fn stored(seq: u64, kind: EventKind) -> WorkspaceEvent {
    WorkspaceEvent {
        seq,
        event_id: EventId::from(format!("e{seq}")),
        session_id: SessionId::from("sess-1"),
        timestamp: at(),
        kind,
    }
}

#[test]
fn samples_cover_every_type_in_order() {
    let names: Vec<_> = samples().iter().map(EventKind::type_name).collect();
    assert_eq!(names, EventKind::TYPE_NAMES);
}

#[test]
fn every_event_round_trips_and_its_tag_is_its_type_name() {
    for (i, kind) in samples().into_iter().enumerate() {
        let event = stored(i as u64 + 1, kind);
        let value = serde_json::to_value(&event).expect("serializes");
        assert_eq!(
            value["type"],
            event.kind.type_name(),
            "tag of {:?}",
            event.kind
        );
        let back: WorkspaceEvent = serde_json::from_value(value).expect("deserializes");
        assert_eq!(back, event);
    }
}

#[test]
fn stored_event_is_one_flat_object() {
    let event = stored(
        7,
        EventKind::SessionEnded {
            status: SessionStatus::Completed,
            reason: None,
        },
    );
    assert_eq!(
        serde_json::to_value(&event).expect("serializes"),
        json!({
            "seq": 7,
            "eventId": "e7",
            "sessionId": "sess-1",
            "timestamp": "2026-11-24T08:00:00Z",
            "type": "session:ended",
            "status": "completed"
        })
    );
}

#[test]
fn session_started_wire_form_is_pinned() {
    let json = serde_json::to_string(&samples()[0]).expect("serializes");
    assert_eq!(
        json,
        r#"{"type":"session:started","cwd":"/work/app","hostname":"laptop","platform":"linux","user":"ada","source":"api","watch":{"watched":true}}"#
    );
}

#[test]
fn tool_used_wire_form_is_pinned() {
    let event = stored(3, samples()[19].clone());
    assert_eq!(
        serde_json::to_value(&event).expect("serializes"),
        json!({
            "seq": 3, "eventId": "e3", "sessionId": "sess-1",
            "timestamp": "2026-11-24T08:00:00Z", "type": "tool:used",
            "toolName": "Bash", "toolUseId": "toolu_2", "status": "succeeded",
            "input": {"command": "ls"}, "response": {"stdout": "a\n"}, "durationMs": 12
        })
    );
}

#[test]
fn new_event_takes_an_agent_post_without_seq() {
    let posted: NewEvent = serde_json::from_value(json!({
        "sessionId": "sess-1", "type": "prompt:submitted", "prompt": "hi"
    }))
    .expect("parses");
    assert_eq!(
        posted.kind,
        EventKind::PromptSubmitted {
            prompt: "hi".into()
        }
    );
    assert!(posted.event_id.is_none());
}

#[test]
fn unknown_type_and_unknown_fields_are_refused() {
    let phantom = serde_json::from_value::<NewEvent>(json!({
        "sessionId": "s", "type": "session:phantom"
    }));
    assert!(phantom.is_err());
    let extra = serde_json::from_value::<EventKind>(json!({
        "type": "prompt:submitted", "prompt": "hi", "surprise": 1
    }));
    assert!(extra.is_err(), "unknown field must be refused");
}

#[test]
fn global_topic_carries_lifecycle_and_attention_events_only() {
    let global: Vec<_> = samples()
        .iter()
        .filter(|k| k.is_global())
        .map(EventKind::type_name)
        .collect();
    assert!(global.contains(&"session:started"));
    assert!(global.contains(&"session:updated"));
    assert!(global.contains(&"session:ended"));
    assert!(!global.contains(&"tool:used"));
    assert!(!global.contains(&"file:modified"));
}

#[test]
fn socket_frames_have_the_contract_shape() {
    use crate::socket::{ClientMessage, ServerMessage};
    let sub: ClientMessage =
        serde_json::from_str(r#"{"type":"subscribe","sessionId":"s1","since":4}"#).expect("parses");
    assert_eq!(
        sub,
        ClientMessage::Subscribe {
            session_id: "s1".into(),
            since: Some(4)
        }
    );
    let ping: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).expect("parses");
    assert_eq!(ping, ClientMessage::Ping);
    assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"subscribe"}"#).is_err());
    assert_eq!(
        serde_json::to_string(&ServerMessage::Hello { seq: 9 }).expect("serializes"),
        r#"{"type":"hello","seq":9}"#
    );
    assert_eq!(
        serde_json::to_string(&ServerMessage::Pong).expect("serializes"),
        r#"{"type":"pong"}"#
    );
}
