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
    pub fn new(mut payload: Payload) -> Self {
        plan::attach(&mut payload);
        let captured_at = Utc::now();
        let base = ids::occurrence_base(&payload, captured_at);
        Self {
            payload,
            captured_at,
            base,
        }
    }
}

/// Claude Code 2.1 calls `ExitPlanMode` with an empty input: the plan is in a file it
/// named in the conversation (`~/.claude/plans/<slug>.md`), which its dialog shows. The
/// hook attaches that file's text as `tool_input.plan` (and its path as `planFilePath`),
/// so the page can show the plan it is asked to approve.
mod plan {
    use std::io::{Read, Seek, SeekFrom};
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::Payload;

    /// How much of the transcript's end is searched for the plan file's name.
    const TAIL: u64 = 4 * 1024 * 1024;
    /// The longest plan attached.
    const MAX_PLAN: u64 = 256 * 1024;

    pub(super) fn attach(payload: &mut Payload) {
        if payload.tool_name() != Some("ExitPlanMode") {
            return;
        }
        let has_plan = payload
            .get("tool_input")
            .and_then(|i| i.get("plan"))
            .is_some_and(|p| p.as_str().is_some_and(|p| !p.trim().is_empty()));
        if has_plan {
            return;
        }
        let Some(path) = payload
            .str("transcript_path")
            .and_then(|t| named_in(Path::new(t)))
        else {
            return;
        };
        let Some(text) = read_capped(&path) else {
            return;
        };
        if let Some(Value::Object(input)) = payload.0.get_mut("tool_input") {
            input.insert("plan".into(), Value::String(text));
            input.insert(
                "planFilePath".into(),
                Value::String(path.to_string_lossy().into_owned()),
            );
        }
    }

    /// The last plan file the transcript names.
    fn named_in(transcript: &Path) -> Option<PathBuf> {
        let mut file = std::fs::File::open(transcript).ok()?;
        let len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
        let mut bytes = Vec::new();
        file.take(TAIL).read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let mut end = text.len();
        while let Some(at) = text[..end].rfind("/plans/") {
            let start = text[..at]
                .rfind(|c: char| c == '"' || c.is_whitespace() || c == '`' || c == '(')
                .map_or(0, |i| i + 1);
            let rest = &text[at..];
            let stop = rest
                .find(|c: char| c == '"' || c.is_whitespace() || c == '`' || c == ')' || c == '\\')
                .unwrap_or(rest.len());
            let candidate = PathBuf::from(&text[start..at + stop]);
            if candidate.extension().is_some_and(|e| e == "md") && candidate.is_file() {
                return Some(candidate);
            }
            end = at;
        }
        None
    }

    fn read_capped(path: &Path) -> Option<String> {
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(MAX_PLAN)
            .read_to_string(&mut text)
            .ok()?;
        (!text.trim().is_empty()).then_some(text)
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
