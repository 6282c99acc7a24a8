//! The transcript reader: reports what the assistant said, and what each model request
//! cost in tokens, from the JSONL transcript Claude Code writes at the payload's
//! `transcript_path` (and its subagents' transcripts in `<session>/subagents/`).
//!
//! Every hook run reads only what is new: a cursor per session (the byte offset reached
//! in each file) is kept in the `transcripts` dir beside the spool and moves only once
//! the server stored the events read, so a run that is cut short, or finds the server
//! down, leaves the rest for the next run. One run reads at most
//! `CHAINWATCH_TRANSCRIPT_MAX_BYTES` and stops at its deadline. A line is read only
//! once it is whole (a line still being written waits); a line longer than the bound is
//! skipped; a transcript that shrank or whose first bytes changed was replaced and is
//! read again from its start. Event ids are derived from the transcript records' own
//! `uuid`s, so reading a line twice stores it once.
//!
//! Each `assistant` record with text becomes a `message:assistant` with that text
//! (thinking blocks and tool calls are left out: tool calls arrive through the tool
//! hooks). Claude Code splits one API message over several records that repeat its
//! `usage`, so the usage is reported once per message id, in its own event, once the
//! message is complete (a later record, or a Stop/SubagentStop/SessionEnd hook).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chainwatch_shared::{EventId, EventKind, NewEvent, SessionId, StepId, TokenUsage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Client;
use super::ids;
use super::map::agent_step;
use super::payload::Payload;

/// How many bytes of a file's head identify it (a replaced transcript differs there).
const HEAD_BYTES: usize = 256;
/// Most events in one POST.
const MAX_EVENTS_PER_POST: usize = 500;

/// Where a session's reading got to in one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCursor {
    /// Bytes read and reported.
    pub offset: u64,
    /// A hash of the file's first bytes when it was last read.
    #[serde(default)]
    pub head: String,
    /// The cursor stopped inside a line longer than the bound: skip to its end.
    #[serde(default)]
    pub skipping: bool,
    /// The usage of the newest message, held until the message is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingUsage>,
    /// The prompt being answered: the `promptId` of the newest `user` record read,
    /// which the assistant's messages after it carry (it joins them to telemetry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
}

/// A message's usage not reported yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingUsage {
    /// The API's message id.
    pub message_id: String,
    /// The model.
    pub model: Option<String>,
    /// The usage as the newest record of the message gave it.
    pub usage: TokenUsage,
    /// When the newest record of the message was written.
    pub at: Option<DateTime<Utc>>,
    /// The prompt it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
}

/// Cursors of one session, by file key (`main`, or `agent-<id>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursors {
    /// The files.
    pub files: BTreeMap<String, FileCursor>,
}

/// One transcript file of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptFile {
    /// `main`, or `agent-<agent id>` for a subagent.
    pub key: String,
    /// The file.
    pub path: PathBuf,
    /// The subagent's step, for a subagent's file.
    pub step_id: Option<StepId>,
}

/// The session's transcript and its subagents' transcripts, main first.
pub fn files_of(transcript: &Path) -> Vec<TranscriptFile> {
    let mut files = vec![TranscriptFile {
        key: "main".into(),
        path: transcript.to_path_buf(),
        step_id: None,
    }];
    let dir = transcript.with_extension("").join("subagents");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut agents: Vec<TranscriptFile> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let agent = name.strip_prefix("agent-")?.strip_suffix(".jsonl")?;
                Some(TranscriptFile {
                    key: format!("agent-{agent}"),
                    path: entry.path(),
                    step_id: Some(agent_step(agent)),
                })
            })
            .collect();
        agents.sort_by(|a, b| a.key.cmp(&b.key));
        files.extend(agents);
    }
    files
}

/// What reading produced: events to post and the cursors to keep once they are stored.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// The events, in transcript order per file.
    pub events: Vec<NewEvent>,
    /// The cursors after these events.
    pub cursors: Cursors,
    /// Bytes read.
    pub bytes: u64,
}

/// Reads what is new in a session's transcripts, at most `max_bytes` in all, until
/// `deadline`. `complete` says the turn ended (Stop, SessionEnd): held usage goes out.
pub fn read_new(
    session: &SessionId,
    files: &[TranscriptFile],
    mut cursors: Cursors,
    max_bytes: u64,
    complete: bool,
    deadline: Instant,
) -> Reading {
    let mut reading = Reading::default();
    for file in files {
        if Instant::now() >= deadline || reading.bytes >= max_bytes {
            break;
        }
        let cursor = cursors.files.remove(&file.key).unwrap_or_default();
        let budget = max_bytes - reading.bytes;
        // Only a run's whole bound decides that a line is too long to ever fit.
        let whole = reading.bytes == 0;
        let (cursor, read) = read_file(
            session,
            file,
            cursor,
            (budget, whole),
            deadline,
            &mut reading.events,
        );
        reading.bytes += read;
        let mut cursor = cursor;
        if complete {
            if let Some(pending) = cursor.pending.take() {
                reading.events.push(usage_event(session, file, &pending));
            }
        }
        cursors.files.insert(file.key.clone(), cursor);
    }
    reading.cursors = cursors;
    reading
}

fn head_hash(file: &mut File, len: u64) -> std::io::Result<String> {
    let mut head = vec![0u8; HEAD_BYTES.min(usize::try_from(len).unwrap_or(HEAD_BYTES))];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    Ok(ids::hash(&[&head]))
}

/// Reads one file from its cursor; returns the new cursor and the bytes consumed.
fn read_file(
    session: &SessionId,
    file: &TranscriptFile,
    mut cursor: FileCursor,
    (budget, whole): (u64, bool),
    deadline: Instant,
    events: &mut Vec<NewEvent>,
) -> (FileCursor, u64) {
    let Ok(mut handle) = File::open(&file.path) else {
        // Missing (not written yet, or removed): nothing to read, keep the cursor.
        return (cursor, 0);
    };
    let Ok(len) = handle.metadata().map(|m| m.len()) else {
        return (cursor, 0);
    };
    let head = match head_hash(&mut handle, len) {
        Ok(head) => head,
        Err(_) => return (cursor, 0),
    };
    // The head hash covers the first HEAD_BYTES; a file still shorter than that
    // changes its hash as it grows, so only compare once both saw a full head.
    let replaced = len < cursor.offset
        || (cursor.offset >= HEAD_BYTES as u64
            && len >= HEAD_BYTES as u64
            && !cursor.head.is_empty()
            && cursor.head != head);
    if replaced {
        tracing::info!(path = %file.path.display(), "transcript was replaced; reading it again");
        cursor = FileCursor::default();
    }
    cursor.head = head;
    if len == cursor.offset {
        return (cursor, 0);
    }
    let want = (len - cursor.offset).min(budget);
    let mut buffer = vec![0u8; usize::try_from(want).unwrap_or(0)];
    if handle.seek(SeekFrom::Start(cursor.offset)).is_err()
        || handle.read_exact(&mut buffer).is_err()
    {
        return (cursor, 0);
    }
    let mut consumed = 0usize;
    if cursor.skipping {
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                consumed = end + 1;
                cursor.skipping = false;
            }
            None => {
                cursor.offset += want;
                return (cursor, want);
            }
        }
    }
    let mut lines = 0usize;
    while let Some(end) = buffer[consumed..].iter().position(|&b| b == b'\n') {
        let line = &buffer[consumed..consumed + end];
        let line_offset = cursor.offset + consumed as u64;
        consumed += end + 1;
        record(session, file, &mut cursor, line, line_offset, events);
        lines += 1;
        if lines % 256 == 0 && Instant::now() >= deadline {
            break;
        }
    }
    if consumed == 0 && whole && want == budget && want < len - cursor.offset {
        // Not one whole line fits the bound: skip this line.
        tracing::warn!(path = %file.path.display(), offset = cursor.offset, bound = budget, "transcript line longer than the bound; skipped");
        cursor.skipping = true;
        consumed = buffer.len();
    }
    cursor.offset += consumed as u64;
    (cursor, consumed as u64)
}

/// The parts of a transcript record this reader uses.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: Option<String>,
    uuid: Option<String>,
    timestamp: Option<DateTime<Utc>>,
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    content: Value,
    usage: Option<ApiUsage>,
}

#[derive(Debug, Deserialize)]
struct ApiUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
}

/// Folds one record into events and the cursor's held usage.
fn record(
    session: &SessionId,
    file: &TranscriptFile,
    cursor: &mut FileCursor,
    line: &[u8],
    line_offset: u64,
    events: &mut Vec<NewEvent>,
) {
    // Cheap filter: most records are bookkeeping, and some are large.
    let is_assistant = memfind(line, br#""type":"assistant""#);
    let record: Option<Record> = if is_assistant {
        serde_json::from_slice(line).ok()
    } else {
        None
    };
    let Some(record) = record.filter(|r| r.kind.as_deref() == Some("assistant")) else {
        // Any other record ends the message being held (its usage is final).
        if let Some(pending) = cursor.pending.take() {
            events.push(usage_event(session, file, &pending));
        }
        if let Some(prompt) = prompt_id_of(line) {
            cursor.prompt_id = Some(prompt);
        }
        return;
    };
    let Some(message) = record.message else {
        return;
    };
    let message_id = message.id.clone().unwrap_or_default();
    if let Some(pending) = cursor.pending.take() {
        if pending.message_id != message_id || message_id.is_empty() {
            events.push(usage_event(session, file, &pending));
        }
    }
    if let Some(usage) = &message.usage {
        let usage = TokenUsage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_input_tokens,
            cache_creation_tokens: usage.cache_creation_input_tokens,
        };
        // Claude Code's own error notes carry a zero usage and the model `<synthetic>`.
        if usage != TokenUsage::default() && !message_id.is_empty() {
            cursor.pending = Some(PendingUsage {
                message_id: message_id.clone(),
                model: message.model.clone(),
                usage,
                at: record.timestamp,
                prompt_id: cursor.prompt_id.clone(),
            });
        }
    }
    let text = text_of(&message.content);
    if text.trim().is_empty() {
        return;
    }
    let key = record
        .uuid
        .unwrap_or_else(|| format!("{}@{line_offset}", file.key));
    events.push(NewEvent {
        event_id: Some(EventId(format!(
            "cw-tx-{}",
            ids::hash(&[session.as_str().as_bytes(), b"text", key.as_bytes()])
        ))),
        session_id: session.clone(),
        timestamp: record.timestamp,
        kind: EventKind::MessageAssistant {
            text,
            model: message.model.filter(|m| !m.starts_with('<')),
            usage: None,
            cost_usd: None,
            message_id: message.id,
            step_id: file.step_id.clone(),
            prompt_id: cursor.prompt_id.clone(),
            superseded: None,
        },
    });
}

/// The `promptId` of a `user` record, found without parsing the (maybe large) line.
fn prompt_id_of(line: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""promptId":""#;
    if !memfind(line, br#""type":"user""#) {
        return None;
    }
    let start = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = line[start..].iter().position(|&b| b == b'"')?;
    let id = std::str::from_utf8(&line[start..start + len]).ok()?;
    (!id.is_empty() && len <= 128 && !id.contains('\\')).then(|| id.to_owned())
}

/// The usage-only event of a message: one per message id.
fn usage_event(session: &SessionId, file: &TranscriptFile, pending: &PendingUsage) -> NewEvent {
    NewEvent {
        event_id: Some(EventId(format!(
            "cw-tu-{}",
            ids::hash(&[
                session.as_str().as_bytes(),
                b"usage",
                pending.message_id.as_bytes()
            ])
        ))),
        session_id: session.clone(),
        timestamp: pending.at,
        kind: EventKind::MessageAssistant {
            text: String::new(),
            model: pending.model.clone(),
            usage: Some(pending.usage),
            cost_usd: None,
            message_id: Some(pending.message_id.clone()),
            step_id: file.step_id.clone(),
            prompt_id: pending.prompt_id.clone(),
            superseded: None,
        },
    }
}

/// The text blocks of a message, joined by blank lines (thinking and tools left out).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n\n"),
        _ => String::new(),
    }
}

fn memfind(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The file that keeps a session's cursors.
pub fn cursor_path(dir: &Path, session: &SessionId) -> PathBuf {
    dir.join(format!(
        "{}.json",
        ids::hash(&[session.as_str().as_bytes()])
    ))
}

/// A session's cursors (fresh when none are kept or the file is unreadable).
pub fn load_cursors(path: &Path) -> Cursors {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Keeps a session's cursors (written aside and renamed, so never half written).
pub fn save_cursors(path: &Path, cursors: &Cursors) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let part = path.with_extension(format!("{}.part", std::process::id()));
    let bytes = serde_json::to_vec(cursors).map_err(std::io::Error::other)?;
    std::fs::write(&part, bytes)?;
    std::fs::rename(&part, path)
}

/// The dir of the cursors: `transcripts` beside the spool dir.
pub fn cursor_dir(spool_dir: &Path) -> PathBuf {
    spool_dir
        .parent()
        .map_or_else(|| spool_dir.join("transcripts"), |p| p.join("transcripts"))
}

/// Reads the payload's transcripts and posts what is new; moves the cursors once the
/// server stored it. Never fails the hook: problems are logged and retried next run.
pub fn report(
    client: &Client,
    spool_dir: &Path,
    max_bytes: u64,
    payload: &Payload,
    deadline: Instant,
) {
    let Some(transcript) = payload.str("transcript_path").filter(|p| !p.is_empty()) else {
        return;
    };
    let session = ids::session_id(payload.session_id());
    let complete = matches!(payload.event_name(), "Stop" | "SubagentStop" | "SessionEnd");
    let path = cursor_path(&cursor_dir(spool_dir), &session);
    let before = load_cursors(&path);
    let files = files_of(Path::new(transcript));
    let reading = read_new(
        &session,
        &files,
        before.clone(),
        max_bytes,
        complete,
        deadline,
    );
    if reading.cursors == before {
        return;
    }
    for batch in reading.events.chunks(MAX_EVENTS_PER_POST) {
        if let Err(error) = client.post_events(batch, deadline) {
            tracing::warn!(%error, "transcript events not delivered; next run retries");
            return;
        }
    }
    if let Err(error) = save_cursors(&path, &reading.cursors) {
        tracing::warn!(%error, path = %path.display(), "cannot keep the transcript cursor");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
