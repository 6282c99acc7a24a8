//! One Claude Code hook payload, kept whole as JSON so that unknown events and fields
//! survive, with typed accessors for the fields Chainwatch maps. [`Capture`] is a payload
//! as the hook received it, stamped with the time and the id base of this occurrence: it
//! is what the spool stores, so a retried delivery produces exactly the same events.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids;

/// The largest payload the hook reads from stdin.
pub const MAX_PAYLOAD_BYTES: u64 = 32 * 1024 * 1024;

/// Why a payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// stdin could not be read.
    #[error("cannot read the hook payload from stdin: {0}")]
    Io(#[from] std::io::Error),
    /// stdin was not one JSON object.
    #[error("the hook payload is not a JSON object: {0}")]
    Json(#[from] serde_json::Error),
    /// The payload is a JSON value other than an object.
    #[error("the hook payload is not a JSON object")]
    NotAnObject,
    /// `session_id` or `hook_event_name` is missing.
    #[error("the hook payload has no {0}")]
    Missing(&'static str),
}

/// A hook payload: the raw JSON object with accessors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(pub Value);

impl Payload {
    /// Reads one JSON object from `input`. It stops at the end of the object, so a
    /// caller that never closes stdin does not hang the hook.
    pub fn read(input: impl Read) -> Result<Self, PayloadError> {
        let reader = std::io::BufReader::new(input.take(MAX_PAYLOAD_BYTES));
        let mut stream = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
        match stream.next() {
            Some(value) => Self::from_value(value?),
            None => Err(PayloadError::Missing("JSON object (stdin was empty)")),
        }
    }

    /// Checks that `value` is an object with a session id and an event name.
    pub fn from_value(value: Value) -> Result<Self, PayloadError> {
        if !value.is_object() {
            return Err(PayloadError::NotAnObject);
        }
        let payload = Self(value);
        if payload.str("session_id").is_none_or(str::is_empty) {
            return Err(PayloadError::Missing("session_id"));
        }
        if payload.str("hook_event_name").is_none_or(str::is_empty) {
            return Err(PayloadError::Missing("hook_event_name"));
        }
        Ok(payload)
    }

    /// A field, when present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// A string field, when present and a string.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(Value::as_str)
    }

    /// A boolean field; false when absent.
    pub fn flag(&self, field: &str) -> bool {
        self.0.get(field).and_then(Value::as_bool).unwrap_or(false)
    }

    /// Claude Code's `session_id`.
    pub fn session_id(&self) -> &str {
        self.str("session_id").unwrap_or_default()
    }

    /// `hook_event_name`, e.g. `PreToolUse`.
    pub fn event_name(&self) -> &str {
        self.str("hook_event_name").unwrap_or_default()
    }

    /// `tool_name`, for tool events.
    pub fn tool_name(&self) -> Option<&str> {
        self.str("tool_name").filter(|t| !t.is_empty())
    }

    /// `tool_use_id`, for tool events (absent on PermissionRequest).
    pub fn tool_use_id(&self) -> Option<&str> {
        self.str("tool_use_id").filter(|t| !t.is_empty())
    }

    /// `agent_id`: the subagent this event comes from (or, on SubagentStart/Stop, the
    /// subagent itself).
    pub fn agent_id(&self) -> Option<&str> {
        self.str("agent_id").filter(|t| !t.is_empty())
    }

    /// Whether the tool call spawns a subagent (`Agent`, legacy `Task`).
    pub fn is_subagent_tool(&self) -> bool {
        matches!(self.tool_name(), Some("Agent" | "Task"))
    }
}

/// A payload as received: what the spool keeps and what delivery maps to events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capture {
    /// The payload, whole.
    pub payload: Payload,
    /// When the hook received it; the events' timestamp.
    pub captured_at: DateTime<Utc>,
    /// The base every event id of this occurrence derives from (see `ids`).
    pub base: String,
}

impl Capture {
    /// Stamps a payload received now.
    pub fn new(payload: Payload) -> Self {
        let captured_at = Utc::now();
        let base = ids::occurrence_base(&payload, captured_at);
        Self {
            payload,
            captured_at,
            base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_object_without_waiting_for_eof() {
        let input = br#"{"session_id":"s1","hook_event_name":"Stop"} trailing garbage"#;
        let payload = Payload::read(&input[..]).expect("reads");
        assert_eq!(payload.session_id(), "s1");
        assert_eq!(payload.event_name(), "Stop");
    }

    #[test]
    fn refuses_what_cannot_be_reported() {
        assert!(Payload::read(&b""[..]).is_err());
        assert!(Payload::read(&b"[1,2]"[..]).is_err());
        assert!(Payload::read(&br#"{"hook_event_name":"Stop"}"#[..]).is_err());
        assert!(Payload::read(&br#"{"session_id":"s"}"#[..]).is_err());
    }
}
