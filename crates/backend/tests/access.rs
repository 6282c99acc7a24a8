//! Who may see and write a session, on every path that names one: the REST routes
//! (files included), every event of an ingest batch, session creation, and the socket
//! (subscribe, replay, live). Each case is one a hostile review found open (issue 14):
//! tokens scoped to alice reaching bob's sessions, and the socket's idea of a session's
//! owner drifting from the REST view after a re-start.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::{TestServer, WAIT};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ADMIN: &str = "admin-token-0123456789";
const AGENT: &str = "agent-token-0123456789";
const ALICE_AGENT: &str = "alice-agent-token-0123";
const ALICE_OPERATOR: &str = "alice-operator-token-0";
const ALICE_VIEWER: &str = "alice-viewer-token-012";
const BOB_VIEWER: &str = "bob-viewer-token-01234";
const OPERATOR: &str = "operator-token-0123456";

pub fn tokens() -> Tokens {
    let entry = |name: &str, role, token: &str, user: Option<&str>| TokenEntry {
        name: name.into(),
        role,
        token: token.into(),
        user: user.map(str::to_owned),
    };
    Tokens::from_entries(vec![
        entry("shared", Role::Admin, ADMIN, None),
        entry("agent", Role::Agent, AGENT, None),
        entry("alice-agent", Role::Agent, ALICE_AGENT, Some("alice")),
        entry(
            "alice-operator",
            Role::Operator,
            ALICE_OPERATOR,
            Some("alice"),
        ),
        entry("alice-viewer", Role::Viewer, ALICE_VIEWER, Some("alice")),
        entry("bob-viewer", Role::Viewer, BOB_VIEWER, Some("bob")),
        entry("operator", Role::Operator, OPERATOR, None),
    ])
}

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn socket(server: &TestServer, token: &str) -> common::Socket {
    let mut request = format!("ws://127.0.0.1:{}/ws", server.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!("chainwatch, bearer.{token}")).unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut socket = common::Socket { ws, hello_seq: 0 };
    let hello = socket.frame(WAIT).await.unwrap();
    assert_eq!(hello["type"], "hello");
    socket.hello_seq = hello["seq"].as_u64().unwrap();
    socket
}

/// Starts `id` as `user` with the unscoped agent token.
async fn start(server: &TestServer, id: &str, user: &str, cwd: &str) {
    let (status, body) = call(
        server,
        "POST",
        "/api/sessions",
        AGENT,
        Some(json!({"id": id, "cwd": cwd, "user": user})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn session(server: &TestServer, id: &str) -> Value {
    let (status, body) = call(server, "GET", &format!("/api/sessions/{id}"), ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn event(session: &str, kind: &str, fields: Value) -> Value {
    let mut event = json!({"sessionId": session, "type": kind});
    if let Value::Object(fields) = fields {
        for (key, value) in fields {
            event[key] = value;
        }
    }
    event
}

#[tokio::test]
async fn files_routes_apply_the_callers_user_scope() {
    let roots = tempfile::tempdir().unwrap();
    let bob_dir = roots.path().join("bob");
    let alice_dir = roots.path().join("alice");
    for dir in [&bob_dir, &alice_dir] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("secret.txt"), "the secret").unwrap();
    }
    let root = roots.path().to_path_buf();
    let server = TestServer::spawn_with(move |c| {
        c.tokens = tokens();
        c.files.roots = vec![root];
    });
    start(&server, "bobs", "bob", bob_dir.to_str().unwrap()).await;
    start(&server, "alices", "alice", alice_dir.to_str().unwrap()).await;
    for path in [
        "/api/sessions/bobs/files",
        "/api/sessions/bobs/files/content?path=secret.txt",
    ] {
        let (status, body) = call(&server, "GET", path, ALICE_OPERATOR, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            !body.to_string().contains("the secret"),
            "{path} leaked: {body}"
        );
    }
    let (status, body) = call(
        &server,
        "GET",
        "/api/sessions/alices/files/content?path=secret.txt",
        ALICE_OPERATOR,
        None,
    )
    .await;
    assert_eq!(status, 200, "own session's file: {body}");
    assert_eq!(body["content"], "the secret");
    server.stop().await;
}

#[tokio::test]
async fn a_scoped_agent_cannot_end_retitle_ack_question_or_restart_another_users_session() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "bobs", "bob", "/srv/bob").await;
    start(&server, "alices", "alice", "/srv/alice").await;
    let (status, command) = call(
        &server,
        "POST",
        "/api/sessions/bobs/commands",
        ADMIN,
        Some(json!({"type": "pause"})),
    )
    .await;
    assert_eq!(status, 201, "{command}");
    let command_id = command["id"].as_str().unwrap().to_owned();
    let before = server.latest_seq().await;

    let hostile = [
        event("bobs", "session:ended", json!({"status": "cancelled"})),
        event("bobs", "session:updated", json!({"title": "mine now"})),
        event(
            "bobs",
            "command:acknowledged",
            json!({"commandId": command_id}),
        ),
        event(
            "bobs",
            "interaction:awaiting-input",
            json!({"requestId": "q1", "prompt": "type your password"}),
        ),
        event(
            "bobs",
            "tool:used",
            json!({"toolName": "Bash", "status": "succeeded"}),
        ),
    ];
    for bad in &hostile {
        let (status, body) = call(
            &server,
            "POST",
            "/api/events",
            ALICE_AGENT,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 404, "{bad}: {body}");
        // The same event hidden in a batch behind one of alice's own is refused whole.
        let batch = json!([
            event(
                "alices",
                "tool:used",
                json!({"toolName": "Read", "status": "succeeded"})
            ),
            bad
        ]);
        let (status, body) = call(&server, "POST", "/api/events", ALICE_AGENT, Some(batch)).await;
        assert_eq!(status, 404, "batch with {bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("events[1]"),
            "{body}"
        );
    }
    assert_eq!(server.latest_seq().await, before, "nothing was stored");
    let bob = session(&server, "bobs").await;
    assert_eq!(bob["status"], "paused", "not ended: the pause still stands");
    assert_eq!(bob["title"], Value::Null);
    let (_, commands) = call(&server, "GET", "/api/sessions/bobs/commands", ADMIN, None).await;
    assert_eq!(
        commands["commands"].as_array().unwrap().len(),
        1,
        "still pending"
    );

    // Bob's session, ended, cannot be re-started by alice's agent to move it to her.
    let (status, _) = call(&server, "POST", "/api/sessions/bobs/end", AGENT, None).await;
    assert_eq!(status, 200);
    let restart = |user: Option<&str>| {
        let mut e = event("bobs", "session:started", json!({"cwd": "/srv/bob"}));
        if let Some(user) = user {
            e["user"] = json!(user);
        }
        e
    };
    for user in [Some("alice"), None, Some("bob")] {
        let (status, body) = call(
            &server,
            "POST",
            "/api/events",
            ALICE_AGENT,
            Some(restart(user)),
        )
        .await;
        assert_eq!(
            status, 403,
            "alice re-starting bob's session as {user:?}: {body}"
        );
    }
    // Nor can an unscoped agent move it to another user: a session's user is fixed.
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        AGENT,
        Some(restart(Some("alice"))),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let bob = session(&server, "bobs").await;
    assert_eq!(bob["user"], "bob");
    assert_eq!(bob["status"], "completed");
    let (status, _) = call(
        &server,
        "GET",
        "/api/sessions/bobs/events",
        ALICE_VIEWER,
        None,
    )
    .await;
    assert_eq!(status, 404, "alice's viewer never reads bob's history");
    server.stop().await;
}

#[tokio::test]
async fn a_scoped_agent_creates_sessions_only_as_its_user() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    // POST /api/sessions: another user is refused, no user means the token's own.
    let (status, body) = call(
        &server,
        "POST",
        "/api/sessions",
        ALICE_AGENT,
        Some(json!({"id": "as-bob", "cwd": "/srv/x", "user": "bob"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    let (status, body) = call(
        &server,
        "POST",
        "/api/sessions",
        ALICE_AGENT,
        Some(json!({"id": "no-user", "cwd": "/srv/x"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"], "alice");
    // The same through POST /api/events.
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        ALICE_AGENT,
        Some(event(
            "ev-bob",
            "session:started",
            json!({"cwd": "/srv/x", "user": "bob"}),
        )),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        ALICE_AGENT,
        Some(event(
            "ev-none",
            "session:started",
            json!({"cwd": "/srv/x"}),
        )),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(session(&server, "ev-none").await["user"], "alice");
    assert_eq!(
        call(&server, "GET", "/api/sessions/as-bob", ADMIN, None)
            .await
            .0,
        404,
        "nothing was created for bob"
    );
    // Alice's own agent writes her sessions as before.
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        ALICE_AGENT,
        Some(event(
            "no-user",
            "session:updated",
            json!({"title": "hers"}),
        )),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_socket_and_rest_agree_on_a_sessions_owner_after_a_restart_without_user() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "bobs", "bob", "/srv/bob").await;
    let (status, _) = call(&server, "POST", "/api/sessions/bobs/end", AGENT, None).await;
    assert_eq!(status, 200);
    // `claude --resume` reports the start again, without a user.
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        AGENT,
        Some(event("bobs", "session:started", json!({"cwd": "/srv/bob"}))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        session(&server, "bobs").await["user"],
        "bob",
        "REST: still bob's"
    );
    let (status, _) = call(&server, "GET", "/api/sessions/bobs", BOB_VIEWER, None).await;
    assert_eq!(status, 200);

    let mut bob = socket(&server, BOB_VIEWER).await;
    let mut alice = socket(&server, ALICE_VIEWER).await;
    // Subscribe with replay: bob's socket sees his session, alice's is refused.
    let (replayed, _) = bob.subscribe("bobs", Some(0)).await;
    assert!(
        replayed.iter().any(|e| e["type"] == "session:ended"),
        "bob's replay holds his history: {replayed:?}"
    );
    alice
        .send(json!({"type": "subscribe", "sessionId": "bobs", "since": 0}))
        .await;
    let refused = alice.expect_frame("error").await;
    assert_eq!(refused["code"], "forbidden");
    // Live: a global event of bob's session reaches bob's socket, never alice's.
    let (status, _) = call(
        &server,
        "POST",
        "/api/events",
        AGENT,
        Some(event(
            "bobs",
            "session:updated",
            json!({"title": "resumed"}),
        )),
    )
    .await;
    assert_eq!(status, 201);
    let live = bob.event_of("session:updated", "bobs").await;
    assert_eq!(live["title"], "resumed");
    alice
        .expect_no_event(std::time::Duration::from_millis(300))
        .await;
    // A resume replay of the global topic leaves bob's events out for alice.
    alice.send(json!({"type": "resume", "since": 0})).await;
    alice
        .expect_no_event(std::time::Duration::from_millis(300))
        .await;
    server.stop().await;
}

/// Waits until the watcher decided about a session; returns its watch state.
async fn watch_state(server: &TestServer, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let watch = session(server, id).await["watch"].clone();
        let undecided = watch["reason"]
            .as_str()
            .is_some_and(|r| r.contains("has not started"));
        if !undecided {
            return watch;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher never decided about {id}: {watch}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn with_tokens_and_no_files_root_no_file_is_served_and_the_watch_state_says_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "private").unwrap();
    let server = TestServer::spawn_with(|c| {
        c.tokens = tokens();
        c.files.roots = Vec::new();
        c.watch.enabled = true;
    });
    start(&server, "s", "bob", dir.path().to_str().unwrap()).await;
    for path in [
        "/api/sessions/s/files",
        "/api/sessions/s/files/content?path=notes.txt",
    ] {
        let (status, body) = call(&server, "GET", path, OPERATOR, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("--files-root"),
            "the refusal says why: {body}"
        );
    }
    let watch = watch_state(&server, "s").await;
    assert_eq!(watch["watched"], false, "{watch}");
    assert!(
        watch["reason"].as_str().unwrap().contains("--files-root"),
        "{watch}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_cwd_outside_every_files_root_is_refused_with_403_and_operators_cannot_pick_one() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    let outside = dir.path().join("outside");
    for d in [&allowed, &outside] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("a.txt"), "text").unwrap();
    }
    let root = allowed.clone();
    let server = TestServer::spawn_with(move |c| {
        c.tokens = tokens();
        c.files.roots = vec![root];
        c.watch.enabled = true;
    });
    // An operator may not create a session, so may not choose a cwd such as "/".
    let (status, body) = call(
        &server,
        "POST",
        "/api/sessions",
        OPERATOR,
        Some(json!({"id": "root", "cwd": "/"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    start(&server, "in", "bob", allowed.to_str().unwrap()).await;
    start(&server, "out", "bob", outside.to_str().unwrap()).await;
    start(&server, "slash", "bob", "/").await;
    let (status, body) = call(
        &server,
        "GET",
        "/api/sessions/in/files/content?path=a.txt",
        OPERATOR,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(watch_state(&server, "in").await["watched"], true);
    for id in ["out", "slash"] {
        for route in [
            "files",
            "files/content?path=a.txt",
            "files/content?path=etc/passwd",
        ] {
            let path = format!("/api/sessions/{id}/{route}");
            let (status, body) = call(&server, "GET", &path, OPERATOR, None).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("outside every files root"),
                "{path}: {body}"
            );
        }
        let watch = watch_state(&server, id).await;
        assert_eq!(watch["watched"], false, "{id}: {watch}");
        assert!(
            watch["reason"]
                .as_str()
                .unwrap()
                .contains("outside every files root"),
            "{id}: {watch}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_duplicate_event_id_of_another_users_session_is_not_confirmed() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "bobs", "bob", "/srv/bob").await;
    start(&server, "alices", "alice", "/srv/alice").await;
    let mut bobs = event(
        "bobs",
        "session:updated",
        json!({"title": "bob's secret plan"}),
    );
    bobs["eventId"] = json!("bob-event-0001");
    let (status, stored) = call(&server, "POST", "/api/events", AGENT, Some(bobs.clone())).await;
    assert_eq!(status, 201, "{stored}");
    // The same event again from bob's side is a duplicate, answered with its seq.
    let (status, again) = call(&server, "POST", "/api/events", AGENT, Some(bobs.clone())).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["events"][0]["duplicate"], true);
    // From alice's agent it is a session she cannot see: 404, no seq, no "duplicate".
    let (status, body) = call(&server, "POST", "/api/events", ALICE_AGENT, Some(bobs)).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        !body.to_string().contains("duplicate") && body.get("events").is_none(),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_event_id_of_another_session_is_a_conflict_not_a_duplicate() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "bobs", "bob", "/srv/bob").await;
    start(&server, "alices", "alice", "/srv/alice").await;
    let mut bobs = event("bobs", "session:updated", json!({"title": "bob's plan"}));
    bobs["eventId"] = json!("shared-id-0001");
    let (status, stored) = call(&server, "POST", "/api/events", AGENT, Some(bobs)).await;
    assert_eq!(status, 201, "{stored}");
    let bobs_seq = stored["events"][0]["seq"].clone();
    let latest = |body: &serde_json::Value| body["events"][0]["seq"].as_u64();
    // Alice's agent reuses the id in her own session: refused whole, and the answer
    // carries neither the stored event's seq nor a "duplicate".
    let mut alices = event(
        "alices",
        "session:updated",
        json!({"title": "alice's plan"}),
    );
    alices["eventId"] = json!("shared-id-0001");
    let mut second = event(
        "alices",
        "session:updated",
        json!({"title": "never stored"}),
    );
    second["eventId"] = json!("alice-fresh-0001");
    let batch = json!([second, alices.clone()]);
    let (status, body) = call(&server, "POST", "/api/events", ALICE_AGENT, Some(batch)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("events[1]") && message.contains("another session"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("duplicate") && body.get("events").is_none(),
        "{body}"
    );
    // Nothing of the batch was stored: the fresh id is still free.
    let mut fresh = event("alices", "session:updated", json!({"title": "stored now"}));
    fresh["eventId"] = json!("alice-fresh-0001");
    let (status, body) = call(&server, "POST", "/api/events", ALICE_AGENT, Some(fresh)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["events"][0]["duplicate"], false, "{body}");
    assert!(latest(&body) > bobs_seq.as_u64(), "{body}");
    // An unscoped caller gets the same answer: an eventId belongs to one session.
    let (status, body) = call(&server, "POST", "/api/events", AGENT, Some(alices)).await;
    assert_eq!(status, 409, "{body}");
    // Within one batch, an id staged for one session and repeated for another.
    let mut one = event("bobs", "session:updated", json!({"title": "one"}));
    one["eventId"] = json!("batch-id-0001");
    let mut other = event("alices", "session:updated", json!({"title": "other"}));
    other["eventId"] = json!("batch-id-0001");
    let (status, body) = call(
        &server,
        "POST",
        "/api/events",
        AGENT,
        Some(json!([one, other])),
    )
    .await;
    assert_eq!(
        status, 422,
        "a batch repeating an id is refused as before: {body}"
    );
    server.stop().await;
}
