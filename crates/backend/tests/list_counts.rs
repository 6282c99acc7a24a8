//! Lists hear what they count. Tool calls, files, prompts and output are not on the
//! global topic, yet a session list shows their totals: the hub's coalesced `progress`
//! frame carries the read model's counts to every socket. Checked over real sockets
//! against the real server: the figures equal `GET /api/sessions`, a busy session does
//! not cost a frame per event, and a user-scoped socket hears only its own sessions.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::{Socket, TestServer, WAIT};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

fn tool_events(session: &str, n: usize, offset: usize) -> Value {
    let mut events = Vec::new();
    for i in offset..offset + n {
        let id = format!("toolu_{i:04}");
        events.push(
            json!({"sessionId": session, "type": "tool:used", "toolName": "Bash",
            "toolUseId": id, "status": "started", "input": {"command": format!("echo {i}")}}),
        );
        let status = if i % 7 == 3 { "failed" } else { "succeeded" };
        events.push(
            json!({"sessionId": session, "type": "tool:used", "toolName": "Bash",
            "toolUseId": id, "status": status, "durationMs": 12}),
        );
    }
    json!(events)
}

/// Reads frames until a `progress` frame for `session` with `seq`; returns it and how
/// many progress frames for the session came in all.
async fn progress_until(socket: &mut Socket, session: &str, seq: u64) -> (Value, usize) {
    let mut seen = 0;
    loop {
        let frame = socket
            .frame(WAIT)
            .await
            .unwrap_or_else(|| panic!("a progress frame up to seq {seq}"));
        if frame["type"] == "progress" && frame["sessionId"] == session {
            seen += 1;
            if frame["seq"].as_u64().unwrap() >= seq {
                return (frame, seen);
            }
        }
    }
}

async fn rest_session(server: &TestServer, id: &str) -> Value {
    let (status, list) = server.get("/api/sessions").await;
    assert_eq!(status, 200);
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .expect("the session is listed")
}

#[tokio::test]
async fn a_socket_on_no_session_hears_tool_calls_and_files_as_counts_equal_to_rest() {
    let server =
        TestServer::spawn_with(|c| c.socket.progress_interval = Duration::from_millis(100));
    let mut list = server.socket().await;
    let id = server.create_session("counted").await;

    // Forty single-call POSTs, one after another, as the hook sends them.
    let posts = 40;
    for i in 0..posts {
        let (status, body) = server.post("/api/events", tool_events(&id, 1, i)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = server
        .post(
            "/api/events",
            json!([
                {"sessionId": id, "type": "prompt:submitted", "prompt": "make it so"},
                {"sessionId": id, "type": "file:created", "path": "src/main.rs"},
                {"sessionId": id, "type": "terminal:output", "text": "ok\n"},
            ]),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let rest = rest_session(&server, &id).await;
    let last = rest["lastSeq"].as_u64().unwrap();
    let (frame, frames) = progress_until(&mut list, &id, last).await;
    assert_eq!(frame["seq"], rest["lastSeq"]);
    assert_eq!(
        frame["counts"], rest["counts"],
        "the socket's counts are REST's"
    );
    assert_eq!(frame["updatedAt"], rest["updatedAt"]);
    assert_eq!(rest["counts"]["toolCalls"], 40);
    assert_eq!(rest["counts"]["failures"], 6);
    assert_eq!(rest["counts"]["fileChanges"], 1);
    assert_eq!(rest["counts"]["prompts"], 1);
    assert_eq!(rest["firstPrompt"], "make it so");
    assert_eq!(
        frame["firstPrompt"], "make it so",
        "lists learn what it is about"
    );
    // Coalesced: 43 session-only POSTs of 83 events did not give a frame each.
    assert!(
        frames < posts,
        "{frames} progress frames for {posts} posts: not coalesced"
    );

    // Quiet afterwards: nothing changed, so nothing more is sent.
    let quiet = tokio::time::Instant::now() + Duration::from_millis(400);
    while let Some(frame) = list
        .frame(quiet.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert_ne!(
            frame["type"], "progress",
            "a progress frame without a change"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn counts_follow_global_events_and_a_subscriber_still_gets_every_event() {
    let server = TestServer::spawn_with(|c| c.socket.progress_interval = Duration::from_millis(50));
    let mut list = server.socket().await;
    let mut detail = server.socket().await;
    let id = server.create_session("mixed").await;
    detail.subscribe(&id, None).await;

    let (status, _) = server.post("/api/events", tool_events(&id, 3, 0)).await;
    assert_eq!(status, 201);
    let before = rest_session(&server, &id).await;
    let (frame, _) = progress_until(&mut list, &id, before["lastSeq"].as_u64().unwrap()).await;
    assert_eq!(frame["counts"], before["counts"]);

    // A global event after them reaches the list itself, and no frame is needed: the
    // frame's counts plus the event (one more event) are the server's.
    let (status, _) = server
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(status, 200);
    let ended = list.event_of("session:ended", &id).await;
    let after = rest_session(&server, &id).await;
    assert_eq!(after["lastSeq"], ended["seq"]);
    let mut expected = frame["counts"].clone();
    expected["events"] = json!(frame["counts"]["events"].as_u64().unwrap() + 1);
    assert_eq!(after["counts"], expected);

    // The subscriber got all six tool events live, and the end.
    let mut tools = 0;
    loop {
        let event = detail.event().await;
        if event["type"] == "tool:used" {
            tools += 1;
        }
        if event["type"] == "session:ended" {
            break;
        }
    }
    assert_eq!(tools, 6);
    server.stop().await;
}

#[tokio::test]
async fn a_user_scoped_socket_hears_the_counts_of_its_own_sessions_only() {
    const AGENT: &str = "agent-token-0123456789";
    const ADA: &str = "ada-viewer-token-01234";
    let server = TestServer::spawn_with(|c| {
        c.socket.progress_interval = Duration::from_millis(50);
        let entry = |name: &str, role, token: &str, user: Option<&str>| TokenEntry {
            name: name.into(),
            role,
            token: token.into(),
            user: user.map(str::to_owned),
        };
        c.tokens = Tokens::from_entries(vec![
            entry("agent", Role::Agent, AGENT, None),
            entry("ada", Role::Viewer, ADA, Some("ada")),
        ]);
    });
    let mut request = format!("ws://127.0.0.1:{}/ws", server.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!("chainwatch, bearer.{ADA}")).unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut socket = Socket { ws, hello_seq: 0 };
    assert_eq!(socket.frame(WAIT).await.unwrap()["type"], "hello");
    let post = |body: Value| {
        server
            .http
            .post(server.url("/api/events"))
            .bearer_auth(AGENT)
            .json(&body)
            .send()
    };
    // Bob's session first, then Ada's: a frame for Bob's would arrive before Ada's.
    for (id, user) in [("bobs", "bob"), ("adas", "ada")] {
        let start =
            json!([{"sessionId": id, "type": "session:started", "cwd": "/srv/x", "user": user}]);
        assert_eq!(post(start).await.unwrap().status(), 201);
        assert_eq!(post(tool_events(id, 2, 0)).await.unwrap().status(), 201);
    }
    loop {
        let frame = socket.frame(WAIT).await.expect("ada's progress");
        assert_ne!(
            frame["sessionId"], "bobs",
            "bob's session reached ada: {frame}"
        );
        // A frame may come for the session's start (global events mark it too), then
        // one with its tool calls.
        if frame["type"] == "progress" {
            assert_eq!(frame["sessionId"], "adas");
            if frame["counts"]["toolCalls"] == 2 {
                break;
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn history_search_finds_a_session_by_its_prompts() {
    let server = TestServer::spawn();
    let id = server.create_session("orchestrated").await;
    let (status, _) = server
        .post(
            "/api/events",
            json!([
                {"sessionId": id, "type": "prompt:submitted", "prompt": "/orchestrator create TODO app"},
                {"sessionId": id, "type": "prompt:submitted", "prompt": "Now add a Dark Mode toggle"},
            ]),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(status, 200);
    for q in ["orchestrator", "dark%20mode", "TODO%20APP"] {
        let (status, list) = server.get(&format!("/api/sessions?ended=true&q={q}")).await;
        assert_eq!(status, 200);
        let ids: Vec<_> = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect();
        assert_eq!(ids, vec![json!(id)], "search {q}");
    }
    let (_, none) = server.get("/api/sessions?ended=true&q=kubernetes").await;
    assert_eq!(none["sessions"].as_array().unwrap().len(), 0);
    server.stop().await;
}
