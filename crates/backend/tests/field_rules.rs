//! One rule per field, for every path: every event type, with fields that break its
//! rules (too long, NUL, empty, nothing at all, the wrong status), is fed through every
//! path that accepts it: `POST /api/events` alone, the same event inside a batch, and
//! the session or steering route that makes the same event. Each must answer 422 and
//! store nothing; the valid form of each is then accepted, so the refusals are the
//! fields' doing. (Issue 14: ingest stored a 3 MiB title, an empty update and NUL bytes
//! that `PUT /api/sessions/{id}` refused.) The hook's side is the unit test
//! `hook::map::tests::every_event_the_hook_maps_passes_the_servers_field_rules`.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::TestServer;
use serde_json::{Value, json};

const NAME_PAST: usize = 1025;
const TEXT_PAST: usize = 1024 * 1024 + 1;

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// A route that makes an event: method, path, and its body from the event's fields.
type Route = (&'static str, String, fn(&Value) -> Value);

/// One event type: its valid fields, the route that makes it (method, path, body from
/// fields), and fields that break its rules.
struct Case {
    kind: &'static str,
    valid: Value,
    route: Option<Route>,
    bad: Vec<(&'static str, Value)>,
    /// Only a route makes it (a person's decision, or the server's own).
    route_only: bool,
}

fn same(fields: &Value) -> Value {
    fields.clone()
}

fn cases(command: &str) -> Vec<Case> {
    let ack_path = format!("/api/sessions/s/commands/{command}/ack");
    vec![
        Case {
            kind: "session:started",
            valid: json!({"cwd": "/srv/other", "title": "t"}),
            route: Some(("POST", "/api/sessions".into(), |f| {
                let mut body = f.clone();
                body["id"] = json!("created-by-route");
                body
            })),
            bad: vec![
                ("relative cwd", json!({"cwd": "relative/path"})),
                (
                    "long title",
                    json!({"cwd": "/srv/x", "title": long(NAME_PAST)}),
                ),
                ("NUL in user", json!({"cwd": "/srv/x", "user": "a\u{0}b"})),
                (
                    "long hostname",
                    json!({"cwd": "/srv/x", "hostname": long(NAME_PAST)}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "session:updated",
            valid: json!({"title": "better"}),
            route: Some(("PUT", "/api/sessions/s".into(), same)),
            bad: vec![
                ("no fields", json!({})),
                ("only watch", json!({"watch": {"watched": true}})),
                ("long title", json!({"title": long(NAME_PAST)})),
                ("NUL in title", json!({"title": "a\u{0}b"})),
                ("long summary", json!({"summary": long(TEXT_PAST)})),
                ("terminal status", json!({"status": "completed"})),
            ],
            route_only: false,
        },
        Case {
            kind: "chain:compiled",
            valid: json!({"chainId": "c1", "steps": [{"stepId": "s1", "name": "one", "kind": "task"}]}),
            route: None,
            bad: vec![
                ("bad chain id", json!({"chainId": "a/b", "steps": []})),
                (
                    "long name",
                    json!({"chainId": "c", "name": long(NAME_PAST), "steps": []}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "chain:started",
            valid: json!({"chainId": "c1"}),
            route: None,
            bad: vec![("empty chain id", json!({"chainId": ""}))],
            route_only: false,
        },
        Case {
            kind: "step:spawned",
            valid: json!({"chainId": "c1", "stepId": "s1", "name": "one", "kind": "task"}),
            route: None,
            bad: vec![
                (
                    "empty name",
                    json!({"chainId": "c", "stepId": "s", "name": " ", "kind": "task"}),
                ),
                (
                    "bad step id",
                    json!({"chainId": "c", "stepId": "s?", "name": "n", "kind": "task"}),
                ),
                (
                    "long agent type",
                    json!({"chainId": "c", "stepId": "s", "name": "n", "kind": "task", "agentType": long(NAME_PAST)}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "step:started",
            valid: json!({"chainId": "c1", "stepId": "s1"}),
            route: None,
            bad: vec![("bad step id", json!({"chainId": "c", "stepId": "a b"}))],
            route_only: false,
        },
        Case {
            kind: "step:completed",
            valid: json!({"chainId": "c1", "stepId": "s1"}),
            route: None,
            bad: vec![("bad chain id", json!({"chainId": "", "stepId": "s"}))],
            route_only: false,
        },
        Case {
            kind: "step:failed",
            valid: json!({"chainId": "c1", "stepId": "s2", "error": "boom"}),
            route: None,
            bad: vec![(
                "NUL in error",
                json!({"chainId": "c", "stepId": "s", "error": "a\u{0}"}),
            )],
            route_only: false,
        },
        Case {
            kind: "chain:completed",
            valid: json!({"chainId": "c1", "status": "completed"}),
            route: None,
            bad: vec![(
                "bad chain id",
                json!({"chainId": "%2F", "status": "completed"}),
            )],
            route_only: false,
        },
        Case {
            kind: "interaction:awaiting-input",
            valid: json!({"requestId": "q1", "prompt": "which?"}),
            route: Some(("POST", "/api/sessions/s/awaiting-input".into(), same)),
            bad: vec![
                ("empty prompt", json!({"requestId": "q", "prompt": ""})),
                (
                    "NUL in prompt",
                    json!({"requestId": "q", "prompt": "a\u{0}"}),
                ),
                (
                    "empty quick response",
                    json!({"requestId": "q", "prompt": "p", "quickResponses": [""]}),
                ),
                ("bad request id", json!({"requestId": "q/1", "prompt": "p"})),
            ],
            route_only: false,
        },
        Case {
            kind: "interaction:input-received",
            valid: json!({"requestId": "q1", "text": "this one"}),
            route: Some(("POST", "/api/sessions/s/input".into(), same)),
            bad: vec![
                ("empty text", json!({"requestId": "q1", "text": " "})),
                ("NUL in text", json!({"requestId": "q1", "text": "a\u{0}"})),
                (
                    "long text",
                    json!({"requestId": "q1", "text": long(TEXT_PAST)}),
                ),
            ],
            route_only: true,
        },
        Case {
            kind: "permission:requested",
            valid: json!({"requestId": "p1", "toolName": "Bash", "toolInput": {"command": "ls"}}),
            route: Some(("POST", "/api/sessions/s/permissions".into(), same)),
            bad: vec![
                (
                    "empty tool name",
                    json!({"requestId": "p", "toolName": "", "toolInput": {}}),
                ),
                (
                    "long tool name",
                    json!({"requestId": "p", "toolName": long(NAME_PAST), "toolInput": {}}),
                ),
                (
                    "long tool use id",
                    json!({"requestId": "p", "toolName": "B", "toolInput": {}, "toolUseId": long(NAME_PAST)}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "permission:decided",
            valid: json!({"requestId": "p1", "behavior": "allow"}),
            route: Some((
                "POST",
                "/api/sessions/s/permissions/p0".into(),
                |f| json!({"behavior": f["behavior"], "message": f.get("message")}),
            )),
            bad: vec![(
                "NUL in message",
                json!({"requestId": "p0", "behavior": "deny", "message": "a\u{0}"}),
            )],
            route_only: true,
        },
        Case {
            kind: "command:issued",
            valid: json!({"commandId": "k1", "command": "pause"}),
            route: Some((
                "POST",
                "/api/sessions/s/commands".into(),
                |f| json!({"type": f["command"], "reason": f.get("reason")}),
            )),
            bad: vec![(
                "long reason",
                json!({"commandId": "k", "command": "pause", "reason": long(TEXT_PAST)}),
            )],
            route_only: true,
        },
        Case {
            kind: "command:acknowledged",
            valid: json!({"commandId": command}),
            route: Some(("POST", ack_path, |f| json!({"note": f.get("note")}))),
            bad: vec![(
                "NUL in note",
                json!({"commandId": command, "note": "a\u{0}"}),
            )],
            route_only: false,
        },
        Case {
            kind: "file:created",
            valid: json!({"path": "src/a.rs"}),
            route: None,
            bad: vec![
                ("empty path", json!({"path": ""})),
                ("long path", json!({"path": long(5000)})),
            ],
            route_only: false,
        },
        Case {
            kind: "file:modified",
            valid: json!({"path": "src/a.rs"}),
            route: None,
            bad: vec![("NUL in path", json!({"path": "a\u{0}"}))],
            route_only: false,
        },
        Case {
            kind: "file:deleted",
            valid: json!({"path": "src/a.rs"}),
            route: None,
            bad: vec![("bad step id", json!({"path": "a", "stepId": "x y"}))],
            route_only: false,
        },
        Case {
            kind: "tool:used",
            valid: json!({"toolName": "Read", "status": "succeeded"}),
            route: None,
            bad: vec![
                (
                    "empty tool name",
                    json!({"toolName": "", "status": "started"}),
                ),
                (
                    "NUL in error",
                    json!({"toolName": "B", "status": "failed", "error": "a\u{0}"}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "prompt:submitted",
            valid: json!({"prompt": "go"}),
            route: None,
            bad: vec![
                ("NUL in prompt", json!({"prompt": "a\u{0}"})),
                ("long prompt", json!({"prompt": long(TEXT_PAST)})),
            ],
            route_only: false,
        },
        Case {
            kind: "terminal:output",
            valid: json!({"text": "ok\n"}),
            route: None,
            bad: vec![("NUL in text", json!({"text": "a\u{0}"}))],
            route_only: false,
        },
        Case {
            kind: "error:occurred",
            valid: json!({"message": "it broke"}),
            route: None,
            bad: vec![
                ("empty message", json!({"message": ""})),
                (
                    "long code",
                    json!({"message": "m", "code": long(NAME_PAST)}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "agent:notification",
            valid: json!({"message": "look"}),
            route: None,
            bad: vec![("NUL in message", json!({"message": "a\u{0}"}))],
            route_only: false,
        },
        Case {
            kind: "message:assistant",
            valid: json!({"text": "done", "model": "claude-sonnet-4-5", "messageId": "m1",
                "usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadTokens": 0}}),
            route: None,
            bad: vec![
                ("long text", json!({"text": long(TEXT_PAST)})),
                ("long model", json!({"text": "t", "model": long(NAME_PAST)})),
                (
                    "NUL in message id",
                    json!({"text": "t", "messageId": "a\u{0}b"}),
                ),
                ("negative cost", json!({"text": "t", "costUsd": -1.0})),
            ],
            route_only: false,
        },
        Case {
            kind: "usage:reported",
            valid: json!({"promptId": "p1", "model": "claude-sonnet-4-5", "costUsd": 0.01,
                "usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadTokens": 0}}),
            route: None,
            bad: vec![
                (
                    "long model",
                    json!({"model": long(NAME_PAST), "usage": {"inputTokens": 1}}),
                ),
                (
                    "NUL in prompt id",
                    json!({"promptId": "a\u{0}b", "usage": {"inputTokens": 1}}),
                ),
                (
                    "negative cost",
                    json!({"costUsd": -1.0, "usage": {"inputTokens": 1}}),
                ),
            ],
            route_only: false,
        },
        Case {
            kind: "agent:event",
            valid: json!({"name": "Custom", "payload": {}}),
            route: None,
            bad: vec![("empty name", json!({"name": "", "payload": {}}))],
            route_only: false,
        },
        Case {
            kind: "session:pruned",
            valid: json!({}),
            route: None,
            bad: vec![("any", json!({}))],
            route_only: true,
        },
        Case {
            kind: "session:ended",
            valid: json!({"status": "completed", "reason": "done"}),
            route: Some(("POST", "/api/sessions/s/end".into(), same)),
            bad: vec![
                (
                    "long reason",
                    json!({"status": "failed", "reason": long(TEXT_PAST)}),
                ),
                (
                    "NUL in reason",
                    json!({"status": "failed", "reason": "a\u{0}"}),
                ),
                ("live status", json!({"status": "active"})),
            ],
            route_only: false,
        },
    ]
}

fn event(kind: &str, fields: &Value) -> Value {
    let mut event = json!({"sessionId": "s", "type": kind});
    for (key, value) in fields.as_object().unwrap() {
        event[key] = value.clone();
    }
    event
}

#[tokio::test]
async fn every_event_type_through_every_path_meets_the_same_field_rules() {
    let server = TestServer::spawn();
    server.create_session("s").await;
    let (status, command) = server
        .post("/api/sessions/s/commands", json!({"type": "pause"}))
        .await;
    assert_eq!(status, 201, "{command}");
    let command = command["id"].as_str().unwrap().to_owned();
    let (status, body) = server
        .post(
            "/api/sessions/s/permissions",
            json!({"requestId": "p0", "toolName": "Bash", "toolInput": {}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let cases = cases(&command);
    // Every type the shared crate knows (its exhaustive `ordinal` keeps the list whole).
    let every_type = chainwatch_shared::EventKind::TYPE_NAMES;
    for &kind in every_type {
        assert!(cases.iter().any(|c| c.kind == kind), "{kind} has a case");
    }
    let before = server.latest_seq().await;
    let fine = event("prompt:submitted", &json!({"prompt": "fine"}));
    let mut refusals = 0;
    for case in &cases {
        for (label, fields) in &case.bad {
            let bad = event(case.kind, fields);
            let (status, body) = server.post("/api/events", bad.clone()).await;
            assert_eq!(status, 422, "{} {label} alone: {body}", case.kind);
            let (status, body) = server.post("/api/events", json!([fine, bad])).await;
            assert_eq!(status, 422, "{} {label} in a batch: {body}", case.kind);
            refusals += 2;
            if let Some((method, path, body_of)) = &case.route {
                // A route's own path may make some fields impossible (the request id
                // of a decision is in the path); the field under test is in the body.
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let (status, body) = server.send(method, path, Some(body_of(fields))).await;
                assert_eq!(status, 422, "{} {label} via {path}: {body}", case.kind);
                refusals += 1;
            }
        }
    }
    assert_eq!(
        server.latest_seq().await,
        before,
        "nothing was stored by {refusals} refusals"
    );

    // The valid form of each passes on the path that takes it, so the refusals above
    // were the fields' doing.
    for case in &cases {
        if case.route_only {
            continue;
        }
        let mut valid = event(case.kind, &case.valid);
        if case.kind == "session:started" {
            valid["sessionId"] = json!("s2");
        }
        let (status, body) = server.post("/api/events", valid).await;
        assert_eq!(status, 201, "{} valid: {body}", case.kind);
    }
    server.stop().await;
}
