//! Deterministic ids. Every event the hook posts carries an `eventId` derived from the
//! payload, so a delivery that is retried (after a timeout, or from the spool) is stored
//! once: the server answers a known eventId with `duplicate: true`.
//!
//! An occurrence's *base* is a hash of the event name, the session and the payload's own
//! key: the `tool_use_id` for tool events, the `agent_id` for subagent events. Events
//! without such a key (prompts, notifications, Stop, …) can repeat with identical
//! payloads, so their base also hashes the conversation's length at that moment (the
//! transcript's size) or, without a readable transcript, the capture time. The base is
//! computed once when the payload arrives and stored with it in the spool.
//!
//! Ids only hold `[A-Za-z0-9-_.:@]` and stay within 128 characters, as the server wants.

use chainwatch_shared::{EventId, RequestId, SessionId, StepId};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::payload::Payload;

/// The longest id the server accepts.
const MAX_ID_LEN: usize = 128;

/// 128 bits of SHA-256 over the parts (each length-prefixed), as 32 hex digits.
pub fn hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for byte in &digest[..16] {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether the server accepts `value` as an id.
pub fn is_valid(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'))
}

/// The base of one occurrence of a hook event (see the module doc).
pub fn occurrence_base(payload: &Payload, captured_at: DateTime<Utc>) -> String {
    let name = payload.event_name().as_bytes();
    let session = payload.session_id().as_bytes();
    let subagent_event = matches!(payload.event_name(), "SubagentStart" | "SubagentStop");
    let key = if let Some(tool_use_id) = payload.tool_use_id() {
        return tool_base(payload.event_name(), payload.session_id(), tool_use_id);
    } else if let (true, Some(agent_id)) = (subagent_event, payload.agent_id()) {
        hash(&[name, session, b"agent", agent_id.as_bytes()])
    } else {
        let raw = serde_json::to_vec(&payload.0).unwrap_or_default();
        let moment = transcript_len(payload)
            .map(|len| format!("transcript:{len}"))
            .unwrap_or_else(|| {
                format!(
                    "time:{}",
                    captured_at.timestamp_nanos_opt().unwrap_or_default()
                )
            });
        hash(&[name, session, b"payload", &raw, moment.as_bytes()])
    };
    format!("cw-{key}")
}

/// The base of a tool event, from its event name, session and `tool_use_id` alone (so the
/// PostToolUse hook can name what the PreToolUse hook of the same call posted).
pub fn tool_base(event_name: &str, session: &str, tool_use_id: &str) -> String {
    let key = hash(&[
        event_name.as_bytes(),
        session.as_bytes(),
        b"tool",
        tool_use_id.as_bytes(),
    ]);
    format!("cw-{key}")
}

/// The transcript's size: how far the conversation had got when the event fired.
fn transcript_len(payload: &Payload) -> Option<u64> {
    let path = payload.str("transcript_path").filter(|p| !p.is_empty())?;
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// The id of one event of an occurrence: the base, or the base with a suffix for the
/// second and later events the occurrence maps to.
pub fn event_id(base: &str, suffix: &str) -> EventId {
    if suffix.is_empty() {
        EventId(base.to_owned())
    } else {
        EventId(format!("{base}.{suffix}"))
    }
}

/// The id of the `session:started` the hook puts before a session's events: one per
/// session, so every later copy is a duplicate.
pub fn session_start_id(session: &SessionId) -> EventId {
    EventId(format!("cw-start-{}", hash(&[session.as_str().as_bytes()])))
}

/// The id of the `chain:started` of a session's main chain: one per session.
pub fn chain_start_id(session: &SessionId, chain: &str) -> EventId {
    EventId(format!(
        "cw-chain-{}",
        hash(&[session.as_str().as_bytes(), chain.as_bytes()])
    ))
}

/// Claude Code's session id as a Chainwatch session id: itself when the server accepts
/// it (Claude Code's ids are UUIDs), else a hash of it.
pub fn session_id(raw: &str) -> SessionId {
    SessionId(readable(raw, "cc-", raw))
}

/// A step id from a prefix and Claude Code's id (`task-<tool_use_id>`, `agent-<agent_id>`).
pub fn step_id(prefix: &str, raw: &str) -> StepId {
    StepId(readable(&format!("{prefix}{raw}"), prefix, raw))
}

/// A request id (question or permission) from a prefix and an occurrence base.
pub fn request_id(prefix: &str, base: &str, index: Option<usize>) -> RequestId {
    let base = base.strip_prefix("cw-").unwrap_or(base);
    match index {
        Some(i) => RequestId(format!("{prefix}{base}-{i}")),
        None => RequestId(format!("{prefix}{base}")),
    }
}

fn readable(candidate: &str, prefix: &str, raw: &str) -> String {
    if is_valid(candidate) {
        candidate.to_owned()
    } else {
        format!("{prefix}{}", hash(&[raw.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(value: serde_json::Value) -> Payload {
        Payload::from_value(value).expect("payload")
    }

    #[test]
    fn tool_events_hash_their_tool_use_id_only() {
        let at = Utc::now();
        let a = payload(
            json!({"session_id":"s","hook_event_name":"PreToolUse","tool_use_id":"toolu_1","x":1}),
        );
        let b = payload(
            json!({"session_id":"s","hook_event_name":"PreToolUse","tool_use_id":"toolu_1","x":2}),
        );
        let c = payload(
            json!({"session_id":"s","hook_event_name":"PostToolUse","tool_use_id":"toolu_1"}),
        );
        let later = at + chrono::Duration::seconds(5);
        assert_eq!(occurrence_base(&a, at), occurrence_base(&b, later));
        assert_ne!(occurrence_base(&a, at), occurrence_base(&c, at));
    }

    #[test]
    fn keyless_events_differ_by_moment() {
        let at = Utc::now();
        let p =
            payload(json!({"session_id":"s","hook_event_name":"Notification","message":"waiting"}));
        assert_eq!(occurrence_base(&p, at), occurrence_base(&p, at));
        let later = at + chrono::Duration::milliseconds(1);
        assert_ne!(occurrence_base(&p, at), occurrence_base(&p, later));
    }

    #[test]
    fn ids_are_always_acceptable() {
        assert_eq!(
            session_id("2b4c1a8e-0000-4000-8000-000000000001").as_str(),
            "2b4c1a8e-0000-4000-8000-000000000001"
        );
        for raw in ["a b/c", "", &"x".repeat(300), "é"] {
            assert!(is_valid(session_id(raw).as_str()), "{raw}");
            assert!(is_valid(step_id("task-", raw).as_str()), "{raw}");
        }
        let base = occurrence_base(
            &payload(json!({"session_id":"s","hook_event_name":"Stop"})),
            Utc::now(),
        );
        assert!(is_valid(event_id(&base, "spawn").as_str()));
        assert!(is_valid(request_id("stop-", &base, Some(3)).as_str()));
        assert!(is_valid(
            session_start_id(&SessionId::new("x".repeat(128))).as_str()
        ));
    }
}
