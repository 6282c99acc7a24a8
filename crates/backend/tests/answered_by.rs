//! Who answered: every decision, answer and command records the principal that made it
//! (the token's name; "local" on a tokenless loopback server), on the stored event and
//! on the REST views, for each role that may answer; roles that may not are refused
//! and record nothing; a name in the body is never taken.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::TestServer;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-0123456789";
const AGENT: &str = "agent-token-0123456789";
const VIEWER: &str = "viewer-token-012345678";
const OPERATOR: &str = "operator-token-0123456";

fn tokens() -> Tokens {
    let entry = |name: &str, role, token: &str| TokenEntry {
        name: name.into(),
        role,
        token: token.into(),
        user: None,
    };
    Tokens::from_entries(vec![
        entry("shared", Role::Admin, ADMIN),
        entry("hook", Role::Agent, AGENT),
        entry("watcher", Role::Viewer, VIEWER),
        entry("grace", Role::Operator, OPERATOR),
    ])
}

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.http.request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
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

async fn post(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    call(server, reqwest::Method::POST, path, token, Some(body)).await
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> Value {
    let (status, body) = call(server, reqwest::Method::GET, path, token, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Starts a session with an open question and a pending permission, as the agent.
async fn waiting_session(server: &TestServer, id: &str, agent: Option<&str>) {
    let (status, body) = post(
        server,
        "/api/sessions",
        agent,
        json!({"id": id, "cwd": "/work/p"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        server,
        &format!("/api/sessions/{id}/awaiting-input"),
        agent,
        json!({"requestId": "q1", "prompt": "Which branch?"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        server,
        &format!("/api/sessions/{id}/permissions"),
        agent,
        json!({"requestId": "p1", "toolName": "Bash", "toolInput": {"command": "ls"}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// The newest event of `kind` in the session's history.
async fn last_event(server: &TestServer, id: &str, kind: &str, token: Option<&str>) -> Value {
    let events = get(server, &format!("/api/sessions/{id}/events?since=0"), token).await;
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["type"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} in {events}"))
}

/// Answers, decides and commands as `token` and checks each records `name`.
async fn answer_all_as(server: &TestServer, session: &str, token: Option<&str>, name: &str) {
    // Answer the question.
    let (status, answer) = post(
        server,
        &format!("/api/sessions/{session}/input"),
        token,
        json!({"text": "main"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["answeredBy"], name, "{answer}");
    let event = last_event(server, session, "interaction:input-received", token).await;
    assert_eq!(event["answeredBy"], name, "{event}");
    let detail = get(server, &format!("/api/sessions/{session}"), token).await;
    assert_eq!(detail["answers"][0]["answeredBy"], name, "{detail}");
    let state = get(
        server,
        &format!("/api/sessions/{session}/input?requestId=q1"),
        token,
    )
    .await;
    assert_eq!(state["answer"]["answeredBy"], name, "{state}");

    // Decide the permission.
    let (status, decided) = post(
        server,
        &format!("/api/sessions/{session}/permissions/p1"),
        token,
        json!({"behavior": "allow"}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decision"]["decidedBy"], name, "{decided}");
    let event = last_event(server, session, "permission:decided", token).await;
    assert_eq!(event["decidedBy"], name, "{event}");
    let state = get(
        server,
        &format!("/api/sessions/{session}/permissions/p1"),
        token,
    )
    .await;
    assert_eq!(state["request"]["decision"]["decidedBy"], name, "{state}");

    // Issue a command.
    let (status, command) = post(
        server,
        &format!("/api/sessions/{session}/commands"),
        token,
        json!({"type": "pause", "reason": "lunch"}),
    )
    .await;
    assert_eq!(status, 201, "{command}");
    assert_eq!(command["issuedBy"], name, "{command}");
    let event = last_event(server, session, "command:issued", token).await;
    assert_eq!(event["issuedBy"], name, "{event}");
    let list = get(server, &format!("/api/sessions/{session}/commands"), token).await;
    assert_eq!(list["commands"][0]["issuedBy"], name, "{list}");
}

#[tokio::test]
async fn a_tokenless_loopback_server_records_local() {
    let server = TestServer::spawn();
    waiting_session(&server, "s-local", None).await;
    answer_all_as(&server, "s-local", None, "local").await;
}

#[tokio::test]
async fn each_role_that_may_answer_records_its_tokens_name() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    for (session, token, name) in [("s-admin", ADMIN, "shared"), ("s-op", OPERATOR, "grace")] {
        waiting_session(&server, session, Some(AGENT)).await;
        answer_all_as(&server, session, Some(token), name).await;
    }
}

#[tokio::test]
async fn roles_that_may_not_answer_are_refused_and_record_nothing() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    waiting_session(&server, "s1", Some(AGENT)).await;
    for token in [VIEWER, AGENT] {
        for (path, body) in [
            ("/api/sessions/s1/input", json!({"text": "x"})),
            (
                "/api/sessions/s1/permissions/p1",
                json!({"behavior": "deny"}),
            ),
            ("/api/sessions/s1/commands", json!({"type": "pause"})),
        ] {
            let (status, body) = post(&server, path, Some(token), body).await;
            assert_eq!(status, 403, "{path}: {body}");
        }
    }
    let events = get(&server, "/api/sessions/s1/events?since=0", Some(ADMIN)).await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.iter().any(|t| matches!(
            *t,
            "interaction:input-received" | "permission:decided" | "command:issued"
        )),
        "{types:?}"
    );
}

#[tokio::test]
async fn a_name_in_the_body_is_refused_never_recorded() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    waiting_session(&server, "s1", Some(AGENT)).await;
    for (path, body) in [
        (
            "/api/sessions/s1/input",
            json!({"text": "x", "answeredBy": "mallory"}),
        ),
        (
            "/api/sessions/s1/permissions/p1",
            json!({"behavior": "deny", "decidedBy": "mallory"}),
        ),
        (
            "/api/sessions/s1/commands",
            json!({"type": "pause", "issuedBy": "mallory"}),
        ),
    ] {
        let (status, body) = post(&server, path, Some(OPERATOR), body).await;
        assert_eq!(status, 422, "{path}: {body}");
    }
    // Nor through the agents' event route: a person's decision is refused there.
    let (status, body) = post(
        &server,
        "/api/events",
        Some(AGENT),
        json!({"sessionId": "s1", "type": "permission:decided", "requestId": "p1",
               "behavior": "allow", "decidedBy": "mallory"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    answer_all_as(&server, "s1", Some(OPERATOR), "grace").await;
}
