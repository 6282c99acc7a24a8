//! The reader against real Claude Code transcripts (tests/fixtures/transcripts).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chainwatch_shared::{EventKind, NewEvent, SessionId, TokenUsage};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcripts")
        .join(name)
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn session() -> SessionId {
    SessionId::from("8d93bc40-abb1-4973-b1ed-b922e4c20b61")
}

/// (text, usage, step) of each message:assistant.
fn summary(events: &[NewEvent]) -> Vec<(String, Option<TokenUsage>, Option<String>)> {
    events
        .iter()
        .map(|e| match &e.kind {
            EventKind::MessageAssistant {
                text,
                usage,
                step_id,
                ..
            } => (
                text.clone(),
                *usage,
                step_id.as_ref().map(|s| s.to_string()),
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn usage(input: u64, output: u64, read: u64, write: u64) -> Option<TokenUsage> {
    Some(TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_creation_tokens: write,
    })
}

fn read_all(path: &Path, complete: bool) -> Reading {
    read_new(
        &session(),
        &files_of(path),
        Cursors::default(),
        u64::MAX,
        complete,
        later(),
    )
}

#[test]
fn a_real_transcript_gives_text_and_usage_once_per_message_without_thinking() {
    let reading = read_all(&fixture("echo-session.jsonl"), false);
    let got = summary(&reading.events);
    assert_eq!(
        got,
        vec![
            (
                "I will run a quick echo for the word quokkaberry.".to_owned(),
                None,
                None
            ),
            // The message's usage, once its three records (thinking, text, tool_use) ended.
            (String::new(), usage(1200, 45, 800, 300), None),
            (
                "Done: the echo printed quokkaberry, and that is the end.".to_owned(),
                None,
                None
            ),
            (String::new(), usage(1400, 20, 1100, 0), None),
        ]
    );
    let json = serde_json::to_string(&reading.events).unwrap();
    assert!(
        !json.contains("secret reasoning"),
        "a thinking block shipped"
    );
    for event in &reading.events {
        assert!(ids::is_valid(event.event_id.as_ref().unwrap().as_str()));
        let EventKind::MessageAssistant { model, .. } = &event.kind else {
            unreachable!()
        };
        assert_eq!(model.as_deref(), Some("claude-opus-5-5"));
    }
    assert_eq!(
        reading.cursors.files["main"].offset,
        std::fs::metadata(fixture("echo-session.jsonl"))
            .unwrap()
            .len()
    );
}

#[test]
fn reading_again_from_the_cursor_finds_nothing_and_ids_are_stable() {
    let path = fixture("echo-session.jsonl");
    let first = read_all(&path, false);
    let again = read_new(
        &session(),
        &files_of(&path),
        first.cursors.clone(),
        u64::MAX,
        false,
        later(),
    );
    assert!(again.events.is_empty());
    assert_eq!(again.cursors, first.cursors);
    let ids = |r: &Reading| -> Vec<String> {
        r.events
            .iter()
            .map(|e| e.event_id.as_ref().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), ids(&read_all(&path, false)));
}

#[test]
fn subagent_messages_come_from_their_own_file_with_their_step() {
    let reading = read_all(&fixture("subagent-session.jsonl"), true);
    let got = summary(&reading.events);
    let texts: Vec<_> = got.iter().filter(|(t, ..)| !t.is_empty()).collect();
    assert_eq!(texts.len(), 4, "{got:?}");
    let sub = texts
        .iter()
        .find(|(t, ..)| t.contains("wombatique"))
        .expect("the subagent's message");
    assert_eq!(sub.2.as_deref(), Some("agent-aa55da505699d6ced"));
    // Four requests in all: two main turns, the subagent's, and the reply after it.
    let requests = got.iter().filter(|(_, u, _)| u.is_some()).count();
    assert_eq!(requests, 4, "{got:?}");
    let sub_usage = got
        .iter()
        .find(|(_, u, s)| u.is_some() && s.is_some())
        .unwrap();
    assert_eq!(sub_usage.1, usage(500, 12, 0, 0));
}

/// Copies the fixture into a file the test grows, cuts and replaces.
struct Growing {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Growing {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        Self {
            _dir: dir,
            path,
            bytes: std::fs::read(fixture("echo-session.jsonl")).unwrap(),
        }
    }

    fn write(&self, upto: usize) {
        std::fs::write(&self.path, &self.bytes[..upto]).unwrap();
    }

    fn read(&self, cursors: Cursors, max: u64) -> Reading {
        read_new(
            &session(),
            &files_of(&self.path),
            cursors,
            max,
            false,
            later(),
        )
    }
}

#[test]
fn a_line_cut_midway_waits_until_it_is_whole() {
    let t = Growing::new();
    let text = b"I will run a quick echo";
    let at = t.bytes.windows(text.len()).position(|w| w == text).unwrap();
    t.write(at + 5);
    let first = t.read(Cursors::default(), u64::MAX);
    assert!(summary(&first.events).iter().all(|(s, ..)| s.is_empty()));
    let offset = first.cursors.files["main"].offset as usize;
    assert!(
        offset < at && t.bytes[offset - 1] == b'\n',
        "stops at a line end"
    );
    t.write(t.bytes.len());
    let second = t.read(first.cursors, u64::MAX);
    let texts: Vec<_> = summary(&second.events)
        .into_iter()
        .filter(|(s, ..)| !s.is_empty())
        .collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(
        summary(&second.events),
        summary(&read_all(&t.path, false).events)
    );
}

#[test]
fn the_byte_bound_spreads_a_transcript_over_runs_with_the_same_result() {
    let t = Growing::new();
    t.write(t.bytes.len());
    let whole = read_all(&t.path, false);
    let mut cursors = Cursors::default();
    let mut events = Vec::new();
    let mut runs = 0;
    loop {
        let reading = t.read(cursors.clone(), 16 * 1024);
        assert!(reading.bytes <= 16 * 1024);
        runs += 1;
        if reading.cursors == cursors {
            break;
        }
        events.extend(reading.events);
        cursors = reading.cursors;
        assert!(runs < 100);
    }
    assert!(runs > 2, "a 150 KB transcript took {runs} runs of 16 KB");
    // Lines longer than the bound (the API request blobs) are skipped, never the
    // assistant's short records.
    assert_eq!(summary(&events), summary(&whole.events));
}

#[test]
fn a_replaced_or_shrunk_transcript_is_read_again_and_a_missing_one_is_nothing() {
    let t = Growing::new();
    t.write(t.bytes.len());
    let first = t.read(Cursors::default(), u64::MAX);
    // Rotated: something shorter took its place.
    let mut other = Vec::new();
    writeln!(
        other,
        r#"{{"type":"assistant","uuid":"u-new","message":{{"id":"msg_new","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"fresh start"}}],"usage":{{"input_tokens":3,"output_tokens":4}}}}}}"#
    )
    .unwrap();
    std::fs::write(&t.path, &other).unwrap();
    let second = t.read(first.cursors.clone(), u64::MAX);
    assert_eq!(summary(&second.events)[0].0, "fresh start");
    // Missing: nothing, and the cursor stays.
    std::fs::remove_file(&t.path).unwrap();
    let third = t.read(second.cursors.clone(), u64::MAX);
    assert!(third.events.is_empty());
    assert_eq!(third.cursors, second.cursors);
}

#[test]
fn a_twenty_megabyte_transcript_is_read_in_bounded_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let filler = "x".repeat(2000);
    let mut n = 0u64;
    while file.get_ref().metadata().unwrap().len() < 20 * 1024 * 1024 {
        n += 1;
        writeln!(
            file,
            r#"{{"type":"attachment","uuid":"a{n}","attachment":{{"content":"{filler}"}}}}"#
        )
        .unwrap();
        writeln!(
            file,
            r#"{{"type":"assistant","uuid":"m{n}","message":{{"id":"msg_{n}","model":"claude-haiku-4-5","content":[{{"type":"thinking","thinking":"hidden"}},{{"type":"text","text":"reply {n}"}}],"usage":{{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}}}}"#
        )
        .unwrap();
        file.flush().unwrap();
    }
    drop(file);
    let mut cursors = Cursors::default();
    let mut texts = 0u64;
    let mut requests = 0u64;
    let mut runs = 0;
    loop {
        let started = Instant::now();
        let reading = read_new(
            &session(),
            &files_of(&path),
            cursors.clone(),
            super::super::config::DEFAULT_TRANSCRIPT_MAX_BYTES,
            false,
            later(),
        );
        // Not a speed assertion: the bound is on bytes, checked here.
        assert!(reading.bytes <= super::super::config::DEFAULT_TRANSCRIPT_MAX_BYTES);
        let _ = started;
        runs += 1;
        if reading.cursors == cursors {
            break;
        }
        for (text, usage, _) in summary(&reading.events) {
            if !text.is_empty() {
                assert!(!text.contains("hidden"));
                texts += 1;
            }
            if usage.is_some() {
                requests += 1;
            }
        }
        cursors = reading.cursors;
    }
    assert_eq!(texts, n);
    // The last message's usage waits for the turn to end (Stop).
    assert_eq!(requests, n - 1);
    assert!((20..=24).contains(&runs), "{runs} runs");
    let end = read_new(
        &session(),
        &files_of(&path),
        cursors,
        u64::MAX,
        true,
        later(),
    );
    assert_eq!(summary(&end.events).len(), 1);
}

#[test]
fn an_expired_deadline_reads_nothing_and_keeps_the_cursor() {
    let reading = read_new(
        &session(),
        &files_of(&fixture("echo-session.jsonl")),
        Cursors::default(),
        u64::MAX,
        false,
        Instant::now(),
    );
    assert!(reading.events.is_empty());
    assert!(reading.cursors.files.is_empty());
}

#[test]
fn cursors_survive_a_round_trip_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let path = cursor_path(&cursor_dir(&spool), &session());
    assert!(path.starts_with(dir.path().join("transcripts")));
    assert_eq!(load_cursors(&path), Cursors::default());
    let reading = read_all(&fixture("echo-session.jsonl"), false);
    save_cursors(&path, &reading.cursors).unwrap();
    assert_eq!(load_cursors(&path), reading.cursors);
}

#[test]
fn messages_carry_the_prompt_id_of_the_user_record_before_them() {
    let reading = read_all(&fixture("echo-session.jsonl"), true);
    let prompts: Vec<Option<String>> = reading
        .events
        .iter()
        .map(|e| match &e.kind {
            EventKind::MessageAssistant { prompt_id, .. } => prompt_id.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(!prompts.is_empty());
    assert!(
        prompts
            .iter()
            .all(|p| p.as_deref() == Some("5083ef67-d0ad-4a6a-80ed-c0c9e6594ee5")),
        "{prompts:?}"
    );
    // The prompt survives in the cursor, for the messages a later run reads.
    let cursor = reading.cursors.files.values().next().unwrap();
    assert_eq!(
        cursor.prompt_id.as_deref(),
        Some("5083ef67-d0ad-4a6a-80ed-c0c9e6594ee5")
    );
}
