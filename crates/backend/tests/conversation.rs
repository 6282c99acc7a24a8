//! The conversation end to end, on the real server over real HTTP: `message:assistant`
//! events and the session's usage totals and cost, the hook reading a real Claude Code
//! transcript, search across sessions (scoped by user, rebuilt from the log), and the
//! JSONL and Markdown exports.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::TestServer;
use serde_json::{Value, json};

fn assistant(session: &str, id: &str, text: &str, usage: Option<Value>) -> Value {
    let mut event = json!({
        "eventId": id, "sessionId": session, "type": "message:assistant",
        "text": text, "model": "claude-sonnet-4-5", "messageId": format!("msg-{id}"),
    });
    if let Some(usage) = usage {
        event["usage"] = usage;
    }
    event
}

fn usage(input: u64, output: u64, read: u64, write: u64) -> Value {
    json!({"inputTokens": input, "outputTokens": output, "cacheReadTokens": read, "cacheCreationTokens": write})
}

/// Polls a search until it has `want` results (the index follows the log a moment behind).
async fn search(server: &TestServer, query: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = server.get(&format!("/api/search?{query}")).await;
        assert_eq!(status, 200, "{body}");
        let results = body["results"].as_array().unwrap().clone();
        if results.len() >= want || Instant::now() > deadline {
            return results;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn assistant_messages_total_tokens_and_cost_per_session_live() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let server = TestServer::spawn_with(|c| c.data_dir = dir);
    let id = server.create_session("cost-1").await;
    let mut socket = server.socket().await;
    let (status, body) = server
        .post(
            "/api/events",
            json!([
                assistant(&id, "a1", "Looking at the failing test.", Some(usage(1000, 200, 5000, 400))),
                assistant(&id, "a2", "", Some(usage(2000, 100, 0, 0))),
                // A cost the agent knows wins over the price table.
                {"eventId": "a3", "sessionId": id, "type": "message:assistant", "text": "done",
                 "model": "claude-sonnet-4-5", "usage": usage(10, 10, 0, 0), "costUsd": 1.5},
                // A model without a price: its tokens count, its cost does not.
                {"eventId": "a4", "sessionId": id, "type": "message:assistant", "text": "local",
                 "model": "llama-local", "usage": usage(7, 3, 0, 0)},
            ]),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Session lists hear it live: message:assistant is on the global topic.
    let live = socket.event_of("message:assistant", &id).await;
    assert_eq!(live["text"], "Looking at the failing test.");
    // Sonnet: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
    let first = (1000.0 * 3.0 + 200.0 * 15.0 + 5000.0 * 0.3 + 400.0 * 3.75) / 1e6;
    assert!((live["costUsd"].as_f64().unwrap() - first).abs() < 1e-12);

    let (_, session) = server.get(&format!("/api/sessions/{id}")).await;
    let u = &session["usage"];
    assert_eq!(u["inputTokens"], 1000 + 2000 + 10 + 7);
    assert_eq!(u["outputTokens"], 200 + 100 + 10 + 3);
    assert_eq!(u["cacheReadTokens"], 5000);
    assert_eq!(u["cacheCreationTokens"], 400);
    assert_eq!(u["requests"], 4);
    assert_eq!(u["unpricedRequests"], 1);
    assert_eq!(u["contextTokens"], 7, "the newest request's prompt size");
    let second = (2000.0 * 3.0 + 100.0 * 15.0) / 1e6;
    let total = u["costUsd"].as_f64().unwrap();
    assert!((total - (first + second + 1.5)).abs() < 1e-9, "{total}");
    let (_, list) = server.get("/api/sessions").await;
    assert_eq!(list["sessions"][0]["usage"], *u);

    // Bad input: a clear 4xx, nothing stored.
    let before = server.latest_seq().await;
    for bad in [
        json!({"sessionId": id, "type": "message:assistant", "text": "x", "costUsd": -1}),
        json!({"sessionId": id, "type": "message:assistant", "text": "x", "usage": {"inputTokens": -5}}),
        json!({"sessionId": "nobody", "type": "message:assistant", "text": "x"}),
    ] {
        let (status, body) = server.post("/api/events", bad).await;
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(server.latest_seq().await, before);

    // The totals survive a restart: they are folded from the log.
    server.stop().await;
    let dir = data.path().to_path_buf();
    let again = TestServer::spawn_with(|c| c.data_dir = dir);
    let (_, session) = again.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(session["usage"], *u);
    again.stop().await;
}

#[tokio::test]
async fn a_price_file_overrides_the_table_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"claude-sonnet": {"input": 1, "output": 0, "cacheRead": 0, "cacheCreation": 0}}"#,
    )
    .unwrap();
    let file = prices.clone();
    let server = TestServer::spawn_with(move |c| c.prices_file = Some(file));
    let id = server.create_session("priced").await;
    let (status, _) = server
        .post(
            "/api/events",
            assistant(&id, "p1", "hi", Some(usage(1_000_000, 5, 0, 0))),
        )
        .await;
    assert_eq!(status, 201);
    let (_, session) = server.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(session["usage"]["costUsd"], 1.0);
    server.stop().await;

    std::fs::write(&prices, "{not json").unwrap();
    let mut config =
        chainwatch::config::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.prices_file = Some(prices);
    let error = chainwatch::app::Application::build(config)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("price"), "{error}");
}

const ADA: &str = "ada-viewer-token-01234";
const ADMIN: &str = "admin-token-0123456789";

#[tokio::test]
async fn search_finds_words_across_sessions_newest_first_within_the_callers_scope() {
    let entry = |name: &str, role, token: &str, user: Option<&str>| TokenEntry {
        name: name.into(),
        role,
        token: token.into(),
        user: user.map(str::to_owned),
    };
    let server = TestServer::spawn_with(|c| {
        c.tokens = Tokens::from_entries(vec![
            entry("shared", Role::Admin, ADMIN, None),
            entry("ada", Role::Viewer, ADA, Some("ada")),
        ])
    });
    let http = reqwest::Client::new();
    let call = |token: &'static str, path: String| {
        let request = http.get(server.url(&path)).bearer_auth(token).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let post = |body: Value| {
        let request = http
            .post(server.url("/api/events"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status().as_u16(), 201);
        }
    };
    post(json!([
        {"eventId": "s1", "sessionId": "adas", "type": "session:started", "cwd": "/srv/a", "user": "ada"},
        {"eventId": "s2", "sessionId": "bobs", "type": "session:started", "cwd": "/srv/b", "user": "bob"},
        {"eventId": "p1", "sessionId": "adas", "type": "prompt:submitted", "prompt": "fix the zanzibar parser"},
        {"eventId": "t1", "sessionId": "bobs", "type": "tool:used", "toolName": "Bash", "status": "started",
         "toolUseId": "tu1", "input": {"command": "grep -r zanzibar src/"}},
        {"eventId": "o1", "sessionId": "bobs", "type": "terminal:output", "text": "\u{1b}[31msrc/zanzibar.rs\u{1b}[0m: 3 matches"},
        {"eventId": "f1", "sessionId": "adas", "type": "file:modified", "path": "src/zanzibar_parser.rs"},
        {"eventId": "e1", "sessionId": "adas", "type": "error:occurred", "message": "zanzibar overflow"},
        assistant("adas", "m1", "The zanzibar parser now handles tabs.", None),
    ]))
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let (status, body) = call(ADMIN, "/api/search?q=zanzibar".into()).await;
        assert_eq!(status, 200, "{body}");
        let results = body["results"].as_array().unwrap().clone();
        if results.len() >= 5 || Instant::now() > deadline {
            break results;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let types: Vec<_> = all.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message:assistant",
            "error:occurred",
            "file:modified",
            "terminal:output",
            "tool:used",
            "prompt:submitted"
        ],
        "newest first, one per event"
    );
    let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]));
    assert!(
        all[3]["snippet"]
            .as_str()
            .unwrap()
            .contains("src/zanzibar.rs: 3 matches")
    );
    assert!(all[0]["timestamp"].as_str().is_some());

    // Ada's token sees Ada's session only.
    let (_, body) = call(ADA, "/api/search?q=zanzibar".into()).await;
    let sessions: Vec<_> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(sessions, ["adas", "adas", "adas", "adas"]);
    let (status, _) = call(ADA, "/api/search?q=zanzibar&sessionId=bobs".into()).await;
    assert_eq!(status, 404, "another user's session is not confirmed");

    // Filters: session, since, limit; several words; a prefix.
    let (_, body) = call(ADMIN, "/api/search?q=zanzibar&sessionId=bobs".into()).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    let since = seqs[2];
    let (_, body) = call(ADMIN, format!("/api/search?q=zanzibar&since={since}")).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    let (_, body) = call(ADMIN, "/api/search?q=zanzibar&limit=1".into()).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    let (_, body) = call(ADMIN, "/api/search?q=zanzibar%20tabs".into()).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    let (_, body) = call(ADMIN, "/api/search?q=zanzi".into()).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 6);

    // Bad queries: 400 with a reason.
    for bad in [
        "/api/search",
        "/api/search?q=",
        "/api/search?q=%22*(",
        "/api/search?q=x&limit=-1",
        "/api/search?q=x&bogus=1",
    ] {
        let (status, body) = call(ADMIN, bad.into()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_missing_search_index_is_rebuilt_from_the_log() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let server = TestServer::spawn_with(|c| c.data_dir = dir);
    let id = server.create_session("rebuilt").await;
    server
        .post(
            "/api/events",
            json!({"sessionId": id, "type": "prompt:submitted", "prompt": "remember the quetzal"}),
        )
        .await;
    assert_eq!(search(&server, "q=quetzal", 1).await.len(), 1);
    server.stop().await;
    for name in ["search.db", "search.db-wal", "search.db-shm"] {
        let _ = std::fs::remove_file(data.path().join(name));
    }
    let dir = data.path().to_path_buf();
    let again = TestServer::spawn_with(|c| c.data_dir = dir);
    let results = search(&again, "q=quetzal", 1).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["sessionId"], "rebuilt");
    again.stop().await;
}

#[tokio::test]
async fn export_gives_every_event_as_jsonl_and_the_conversation_as_markdown() {
    let server = TestServer::spawn();
    let id = server.create_session("exported").await;
    let (status, _) = server
        .post(
            "/api/events",
            json!([
                {"sessionId": id, "type": "prompt:submitted", "prompt": "say the word"},
                {"sessionId": id, "type": "tool:used", "toolName": "Bash", "status": "started",
                 "toolUseId": "x1", "input": {"command": "echo ocelot"}},
                {"sessionId": id, "type": "tool:used", "toolName": "Bash", "status": "succeeded",
                 "toolUseId": "x1", "input": {"command": "echo ocelot"}},
                assistant(&id, "m1", "The word is **ocelot**.", Some(usage(10, 5, 0, 0))),
            ]),
        )
        .await;
    assert_eq!(status, 201);
    let response = server
        .http
        .get(server.url(&format!("/api/sessions/{id}/export?format=jsonl")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("chainwatch-exported.jsonl")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (_, events) = server.get(&format!("/api/sessions/{id}/events")).await;
    assert_eq!(
        Value::Array(lines),
        events["events"],
        "every event, as stored"
    );

    let (status, markdown) = server
        .get(&format!("/api/sessions/{id}/export?format=markdown"))
        .await;
    assert_eq!(status, 200);
    let markdown = markdown.as_str().unwrap();
    assert!(markdown.starts_with("# exported\n"), "{markdown}");
    assert!(markdown.contains("> say the word"));
    assert!(markdown.contains("- Tool `Bash` `echo ocelot`: ok"));
    assert!(markdown.contains("**Assistant**"));
    assert!(markdown.contains("The word is **ocelot**."));
    assert!(markdown.contains("10 input, 5 output"));

    for (path, want) in [
        (format!("/api/sessions/{id}/export?format=pdf"), 400),
        ("/api/sessions/nope/export".to_owned(), 404),
    ] {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    server.stop().await;
}

/// `chainwatch hook` on a real transcript: the assistant's messages and token usage
/// arrive as `message:assistant`, totals match the transcript, search and the Markdown
/// export find what the model said.
#[tokio::test]
async fn the_hook_reports_a_real_transcript_once_and_the_totals_match() {
    let server = TestServer::spawn();
    let work = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts");
    let transcript = work.path().join("subagent-session.jsonl");
    std::fs::copy(fixtures.join("subagent-session.jsonl"), &transcript).unwrap();
    let sub = work.path().join("subagent-session/subagents");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(
        fixtures.join("subagent-session/subagents/agent-aa55da505699d6ced.jsonl"),
        sub.join("agent-aa55da505699d6ced.jsonl"),
    )
    .unwrap();
    let session = "3b371a5d-10e4-4d91-9418-53f76901731a";
    let spool = work.path().join("state/spool");
    let url = server.url("");
    let run = move |event: &str| {
        let payload = json!({
            "session_id": session, "hook_event_name": event, "cwd": "/tmp/i17cc/work",
            "transcript_path": transcript, "stop_hook_active": false, "source": "startup",
        });
        let mut child = Command::new(env!("CARGO_BIN_EXE_chainwatch"))
            .arg("hook")
            .env("CHAINWATCH_URL", &url)
            .env("CHAINWATCH_SPOOL_DIR", &spool)
            .env("CHAINWATCH_HOOK_TIMEOUT_MS", "5000")
            // Report only: an attended Stop waits in the background for a page answer,
            // which this transcript test never gives.
            .env("CLAUDE_CODE_SESSION_ATTENDED", "0")
            .env_remove("CHAINWATCH_TOKEN")
            .env_remove("CHAINWATCH_TRANSCRIPT_MAX_BYTES")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.to_string().as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    };
    let run = std::sync::Arc::new(run);
    let first = run.clone();
    tokio::task::spawn_blocking(move || {
        first("SessionStart");
        first("Stop");
    })
    .await
    .unwrap();
    let (_, events) = server.get(&format!("/api/sessions/{session}/events")).await;
    let assistant: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message:assistant")
        .collect();
    let texts: Vec<&str> = assistant
        .iter()
        .filter_map(|e| e["text"].as_str().filter(|t| !t.is_empty()))
        .collect();
    assert!(texts.contains(&"Handing this to a subagent."), "{texts:?}");
    assert!(texts.contains(&"Subagent reporting: the hidden word is wombatique."));
    let sub_message = assistant
        .iter()
        .find(|e| e["text"].as_str().unwrap_or("").contains("wombatique"))
        .unwrap();
    assert_eq!(sub_message["stepId"], "agent-aa55da505699d6ced");
    // The scripted model's usage: main 900/30, 1000/8/900, 1000/8/900 (two replies), sub 500/12.
    let (_, detail) = server.get(&format!("/api/sessions/{session}")).await;
    let u = &detail["usage"];
    let summed = |field: &str| -> u64 {
        assistant
            .iter()
            .filter_map(|e| e["usage"][field].as_u64())
            .sum()
    };
    assert_eq!(u["inputTokens"].as_u64().unwrap(), summed("inputTokens"));
    assert_eq!(u["outputTokens"].as_u64().unwrap(), summed("outputTokens"));
    assert_eq!(u["requests"], 4);
    assert!(u["costUsd"].as_f64().unwrap() > 0.0);

    // A second run finds nothing new: nothing is doubled.
    let count = events["events"].as_array().unwrap().len();
    let second = run.clone();
    tokio::task::spawn_blocking(move || second("Stop"))
        .await
        .unwrap();
    let (_, again) = server.get(&format!("/api/sessions/{session}/events")).await;
    let assistant_again = again["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message:assistant")
        .count();
    assert_eq!(assistant_again, assistant.len());
    assert!(again["events"].as_array().unwrap().len() >= count);
    let (_, detail) = server.get(&format!("/api/sessions/{session}")).await;
    assert_eq!(detail["usage"], *u);

    let found = search(&server, "q=wombatique", 1).await;
    assert_eq!(found[0]["type"], "message:assistant");
    let (_, markdown) = server
        .get(&format!("/api/sessions/{session}/export?format=markdown"))
        .await;
    assert!(markdown.as_str().unwrap().contains("wombatique"));
    assert!(!markdown.as_str().unwrap().contains("secret reasoning"));
    server.stop().await;
}
