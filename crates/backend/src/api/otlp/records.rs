//! OTLP log records, whichever encoding brought them, reduced to what Chainwatch reads:
//! the event's name, its attributes (resource attributes underneath), and its time.
//! `claude_code.api_request` records become `usage:reported` events; every other
//! record is accepted and left alone.

use std::collections::HashMap;

use chainwatch_shared::{EventId, EventKind, NewEvent, SessionId, TokenUsage};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::proto;
use crate::hook::ids;

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// An array, a map or bytes (not read).
    Other,
}

impl Attr {
    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A count: an integer, a whole float, or a string of digits (exporters differ).
    fn as_count(&self) -> Option<u64> {
        match self {
            Self::Int(i) => u64::try_from(*i).ok(),
            Self::Double(d) if d.is_finite() && *d >= 0.0 && d.fract() == 0.0 => Some(*d as u64),
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Double(d) => Some(*d),
            Self::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// One log record.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The body, when it is a string.
    pub body: Option<String>,
    /// The record's `event_name` field (OTLP 1.5+), when set.
    pub event_name: Option<String>,
    /// Resource attributes, overridden by the record's own.
    pub attributes: HashMap<String, Attr>,
    /// When it happened (0: unknown).
    pub time_unix_nano: u64,
}

/// Why a body is not OTLP logs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The records of an `ExportLogsServiceRequest` in protobuf.
pub fn from_protobuf(body: &[u8]) -> Result<Vec<Record>, Malformed> {
    use prost::Message;
    let request = proto::ExportLogsServiceRequest::decode(body).map_err(|e| {
        Malformed(format!(
            "the body is not a protobuf ExportLogsServiceRequest: {e}"
        ))
    })?;
    let attr = |v: Option<proto::AnyValue>| match v.and_then(|v| v.value) {
        Some(proto::any_value::Value::String(s)) => Attr::Str(s),
        Some(proto::any_value::Value::Int(i)) => Attr::Int(i),
        Some(proto::any_value::Value::Double(d)) => Attr::Double(d),
        Some(proto::any_value::Value::Bool(b)) => Attr::Bool(b),
        _ => Attr::Other,
    };
    let mut records = Vec::new();
    for resource_logs in request.resource_logs {
        let resource: HashMap<String, Attr> = resource_logs
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default()
            .into_iter()
            .map(|kv| (kv.key, attr(kv.value)))
            .collect();
        for scope in resource_logs.scope_logs {
            for record in scope.log_records {
                let mut attributes = resource.clone();
                attributes.extend(
                    record
                        .attributes
                        .into_iter()
                        .map(|kv| (kv.key, attr(kv.value))),
                );
                records.push(Record {
                    body: match attr(record.body) {
                        Attr::Str(s) => Some(s),
                        _ => None,
                    },
                    event_name: Some(record.event_name).filter(|n| !n.is_empty()),
                    attributes,
                    time_unix_nano: if record.time_unix_nano > 0 {
                        record.time_unix_nano
                    } else {
                        record.observed_time_unix_nano
                    },
                });
            }
        }
    }
    Ok(records)
}

/// The records of an `ExportLogsServiceRequest` in OTLP's JSON encoding (camelCase
/// names; 64-bit integers as strings or numbers).
pub fn from_json(body: &Value) -> Result<Vec<Record>, Malformed> {
    let list = |v: &Value, key: &str, at: &str| -> Result<Vec<Value>, Malformed> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(Malformed(format!("{at}.{key} must be an array"))),
        }
    };
    if !body.is_object() {
        return Err(Malformed(
            "the body must be a JSON ExportLogsServiceRequest object ({\"resourceLogs\": [...]})"
                .into(),
        ));
    }
    let mut records = Vec::new();
    for (r, resource_logs) in list(body, "resourceLogs", "")?.iter().enumerate() {
        let at = format!("resourceLogs[{r}]");
        let resource = match resource_logs.get("resource") {
            Some(resource) => attributes(resource, &format!("{at}.resource"))?,
            None => HashMap::new(),
        };
        for (s, scope) in list(resource_logs, "scopeLogs", &at)?.iter().enumerate() {
            let at = format!("{at}.scopeLogs[{s}]");
            for (l, record) in list(scope, "logRecords", &at)?.iter().enumerate() {
                let at = format!("{at}.logRecords[{l}]");
                let mut attrs = resource.clone();
                attrs.extend(attributes(record, &at)?);
                let time = |key: &str| match record.get(key) {
                    Some(Value::String(s)) => s.parse().unwrap_or(0),
                    Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
                    _ => 0,
                };
                records.push(Record {
                    body: record
                        .get("body")
                        .and_then(|b| b.get("stringValue"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    event_name: record
                        .get("eventName")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned),
                    attributes: attrs,
                    time_unix_nano: match time("timeUnixNano") {
                        0 => time("observedTimeUnixNano"),
                        t => t,
                    },
                });
            }
        }
    }
    Ok(records)
}

/// The `attributes` array of a JSON resource or record.
fn attributes(holder: &Value, at: &str) -> Result<HashMap<String, Attr>, Malformed> {
    let mut out = HashMap::new();
    let items = match holder.get("attributes") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Malformed(format!("{at}.attributes must be an array"))),
    };
    for (i, kv) in items.iter().enumerate() {
        let Some(key) = kv.get("key").and_then(Value::as_str) else {
            return Err(Malformed(format!("{at}.attributes[{i}] has no string key")));
        };
        let value = kv.get("value").unwrap_or(&Value::Null);
        let attr = if let Some(s) = value.get("stringValue").and_then(Value::as_str) {
            Attr::Str(s.to_owned())
        } else if let Some(i) = value.get("intValue") {
            match i {
                Value::Number(n) => n.as_i64().map_or(Attr::Other, Attr::Int),
                Value::String(s) => s.parse().map_or(Attr::Other, Attr::Int),
                _ => Attr::Other,
            }
        } else if let Some(d) = value.get("doubleValue") {
            match d {
                Value::Number(n) => n.as_f64().map_or(Attr::Other, Attr::Double),
                Value::String(s) => s.parse().map_or(Attr::Other, Attr::Double),
                _ => Attr::Other,
            }
        } else if let Some(b) = value.get("boolValue").and_then(Value::as_bool) {
            Attr::Bool(b)
        } else {
            Attr::Other
        };
        out.insert(key.to_owned(), attr);
    }
    Ok(out)
}

/// What became of a record.
#[derive(Debug)]
pub enum Outcome {
    /// An API request: its event.
    Usage(Box<NewEvent>),
    /// Another kind of record: accepted, not stored.
    Ignored,
    /// An API request that cannot be used, and why.
    Refused(String),
}

/// The `usage:reported` of a `claude_code.api_request` record.
pub fn to_event(record: &Record) -> Outcome {
    let name = record
        .event_name
        .as_deref()
        .or_else(|| record.attributes.get("event.name").and_then(Attr::as_str))
        .or(record.body.as_deref())
        .unwrap_or_default();
    if name != "api_request" && name != "claude_code.api_request" {
        return Outcome::Ignored;
    }
    let get = |key: &str| record.attributes.get(key);
    let Some(session) = get("session.id")
        .and_then(Attr::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Outcome::Refused("an api_request without a session.id".into());
    };
    let count = |key: &str| get(key).and_then(Attr::as_count).unwrap_or(0);
    let usage = TokenUsage {
        input_tokens: count("input_tokens"),
        output_tokens: count("output_tokens"),
        cache_read_tokens: count("cache_read_tokens"),
        cache_creation_tokens: count("cache_creation_tokens"),
    };
    let cost_usd = get("cost_usd").and_then(Attr::as_f64);
    if cost_usd.is_some_and(|c| !c.is_finite() || c < 0.0) {
        return Outcome::Refused(format!(
            "session {session}: cost_usd is not a finite, non-negative number"
        ));
    }
    let text = |key: &str| {
        get(key)
            .and_then(Attr::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let prompt_id = text("prompt.id");
    let request_id = text("request_id");
    let timestamp = text("event.timestamp")
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        .or_else(|| {
            i64::try_from(record.time_unix_nano)
                .ok()
                .filter(|&t| t > 0)
                .map(DateTime::from_timestamp_nanos)
        });
    // The same record exported again (a retry) gets the same id and is stored once:
    // the request id when the client has one, else the client's own event sequence
    // and time.
    let sequence = get("event.sequence")
        .and_then(Attr::as_count)
        .unwrap_or(0)
        .to_string();
    let when = text("event.timestamp").unwrap_or_else(|| record.time_unix_nano.to_string());
    let identity: Vec<&[u8]> = match &request_id {
        Some(request) => vec![session.as_bytes(), b"request", request.as_bytes()],
        None => vec![
            session.as_bytes(),
            b"seq",
            sequence.as_bytes(),
            when.as_bytes(),
        ],
    };
    Outcome::Usage(Box::new(NewEvent {
        event_id: Some(EventId(format!("otel-{}", ids::hash(&identity)))),
        session_id: SessionId::new(session),
        timestamp,
        kind: EventKind::UsageReported {
            prompt_id,
            model: text("model"),
            usage,
            cost_usd,
            duration_ms: get("duration_ms").and_then(Attr::as_count),
            request_id,
            replaces: None,
        },
    }))
}
