//! Claude Code's OpenTelemetry logs on `POST /v1/logs`: `claude_code.api_request`
//! records in the documented shape (JSON and protobuf) are joined to their session by
//! `session.id` and to their prompt by `prompt.id`, and replace that prompt's
//! price-table estimate in the session's totals, once; retries store nothing twice; bad
//! bodies are 4xx and change nothing; a token scoped to one user cannot report into
//! another user's session.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::TestServer;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-0123456789";
const AGENT: &str = "agent-token-0123456789";
const ALICE_AGENT: &str = "alice-agent-token-0123";
const VIEWER: &str = "viewer-token-012345678";

fn tokens() -> Tokens {
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
        entry("viewer", Role::Viewer, VIEWER, None),
    ])
}

/// One `claude_code.api_request` as Claude Code 2.1.328 exports it (its attributes:
/// event.name, event.timestamp, event.sequence, session.id, prompt.id, model, the four
/// token counts, cost_usd, duration_ms), in OTLP/JSON.
fn api_request_json(
    session: &str,
    prompt: &str,
    sequence: u64,
    tokens: [u64; 4],
    cost: f64,
) -> Value {
    let s = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let i = |k: &str, v: u64| json!({"key": k, "value": {"intValue": v}});
    json!({
        "resource": {"attributes": [s("service.name", "claude-code"), s("service.version", "2.1.328")]},
        "scopeLogs": [{
            "scope": {"name": "com.anthropic.claude_code.events", "version": "2.1.328"},
            "logRecords": [{
                "timeUnixNano": "1795000000000000000",
                "observedTimeUnixNano": "1795000000000000000",
                "body": {"stringValue": "claude_code.api_request"},
                "attributes": [
                    s("event.name", "api_request"),
                    s("event.timestamp", "2026-11-27T10:00:00.000Z"),
                    i("event.sequence", sequence),
                    s("session.id", session),
                    s("prompt.id", prompt),
                    s("model", "claude-opus-5-5"),
                    i("input_tokens", tokens[0]),
                    i("output_tokens", tokens[1]),
                    i("cache_read_tokens", tokens[2]),
                    i("cache_creation_tokens", tokens[3]),
                    json!({"key": "cost_usd", "value": {"doubleValue": cost}}),
                    i("duration_ms", 900),
                    s("speed", "normal"),
                ],
                "droppedAttributesCount": 0
            }, {
                "timeUnixNano": "1795000000000000000",
                "body": {"stringValue": "claude_code.user_prompt"},
                "attributes": [s("event.name", "user_prompt"), s("session.id", session), s("prompt.id", prompt)]
            }]
        }]
    })
}

async fn otlp(
    server: &TestServer,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>, String) {
    let response = server
        .http
        .post(server.url("/v1/logs"))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, response.bytes().await.unwrap().to_vec(), kind)
}

async fn otlp_json(server: &TestServer, token: &str, resource_logs: Vec<Value>) -> (u16, Value) {
    let body = serde_json::to_vec(&json!({"resourceLogs": resource_logs})).unwrap();
    let (status, bytes, _) = otlp(server, token, "application/json", body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
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

async fn start(server: &TestServer, id: &str, user: &str) {
    let (status, body) = call(
        server,
        "POST",
        "/api/sessions",
        AGENT,
        Some(json!({"id": id, "cwd": "/work/p", "user": user})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn usage(server: &TestServer, id: &str) -> Value {
    let (status, body) = call(server, "GET", &format!("/api/sessions/{id}"), ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    body["usage"].clone()
}

async fn assistant(server: &TestServer, session: &str, id: &str, prompt: &str, tokens: [u64; 4]) {
    let event = json!({"sessionId": session, "eventId": id, "type": "message:assistant", "text": "",
        "model": "claude-opus-5-5", "promptId": prompt,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "cacheReadTokens": tokens[2], "cacheCreationTokens": tokens[3]}});
    let (status, body) = call(server, "POST", "/api/events", AGENT, Some(event)).await;
    assert_eq!(status, 201, "{body}");
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

#[tokio::test]
async fn an_api_request_replaces_its_prompts_estimate_once_and_retries_store_nothing() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "s1", "alice").await;
    // Two prompts estimated from the transcript: 100 in + 10 out at opus prices.
    assistant(&server, "s1", "m1", "p1", [100, 10, 0, 0]).await;
    assistant(&server, "s1", "m2", "p2", [200, 20, 0, 0]).await;
    let before = usage(&server, "s1").await;
    assert_eq!(before["requests"], 2);
    assert!(
        close(&before["costUsd"], (300.0 * 5.0 + 30.0 * 25.0) / 1e6),
        "{before}"
    );

    let (status, body) = otlp_json(
        &server,
        AGENT,
        vec![api_request_json("s1", "p1", 7, [120, 40, 1000, 0], 0.5)],
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let after = usage(&server, "s1").await;
    // p1's estimate is taken back, its telemetry added; p2's estimate stays.
    assert_eq!(after["inputTokens"], 320, "{after}");
    assert_eq!(after["outputTokens"], 60);
    assert_eq!(after["cacheReadTokens"], 1000);
    assert_eq!(
        (
            after["requests"].as_u64(),
            after["reportedRequests"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert!(
        close(&after["costUsd"], 0.5 + (200.0 * 5.0 + 20.0 * 25.0) / 1e6),
        "{after}"
    );

    // A later transcript message of p1 is shown but not summed again.
    assistant(&server, "s1", "m3", "p1", [50, 5, 0, 0]).await;
    // The exporter retries the same record: stored once.
    otlp_json(
        &server,
        AGENT,
        vec![api_request_json("s1", "p1", 7, [120, 40, 1000, 0], 0.5)],
    )
    .await;
    // A second request of p1: added, nothing taken back again.
    otlp_json(
        &server,
        AGENT,
        vec![api_request_json("s1", "p1", 8, [10, 1, 0, 0], 0.25)],
    )
    .await;
    let last = usage(&server, "s1").await;
    assert_eq!(last["inputTokens"], 330, "{last}");
    assert_eq!(last["reportedRequests"], 2);
    assert!(
        close(&last["costUsd"], 0.75 + (200.0 * 5.0 + 20.0 * 25.0) / 1e6),
        "{last}"
    );

    let (_, events) = call(
        &server,
        "GET",
        "/api/sessions/s1/events?since=0",
        ADMIN,
        None,
    )
    .await;
    let events = events["events"].as_array().unwrap();
    let reported: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "usage:reported")
        .collect();
    assert_eq!(
        reported.len(),
        2,
        "one per request, the retry stored nothing"
    );
    assert_eq!(reported[0]["promptId"], "p1");
    assert_eq!(reported[0]["replaces"]["inputTokens"], 100);
    assert!(reported[1].get("replaces").is_none());
    let late = events.iter().find(|e| e["eventId"] == "m3").unwrap();
    assert_eq!(late["superseded"], true);
    // The same totals come out of a fresh fold of the log (restart).
    server.stop().await;
}

/// A minimal protobuf writer, independent of the server's prost messages: the field
/// numbers are opentelemetry-proto's.
mod pb {
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    pub fn bytes(out: &mut Vec<u8>, field: u32, data: &[u8]) {
        varint(out, u64::from(field << 3 | 2));
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }
    pub fn int(out: &mut Vec<u8>, field: u32, v: u64) {
        varint(out, u64::from(field << 3));
        varint(out, v);
    }
    pub fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
        varint(out, u64::from(field << 3 | 1));
        out.extend_from_slice(&v.to_le_bytes());
    }
    /// AnyValue: string_value = 1, int_value = 3, double_value = 4.
    pub fn kv_str(key: &str, v: &str) -> Vec<u8> {
        let mut value = Vec::new();
        bytes(&mut value, 1, v.as_bytes());
        kv(key, &value)
    }
    pub fn kv_int(key: &str, v: u64) -> Vec<u8> {
        let mut value = Vec::new();
        int(&mut value, 3, v);
        kv(key, &value)
    }
    pub fn kv_double(key: &str, v: f64) -> Vec<u8> {
        let mut value = Vec::new();
        fixed64(&mut value, 4, v.to_bits());
        kv(key, &value)
    }
    fn kv(key: &str, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        bytes(&mut out, 1, key.as_bytes());
        bytes(&mut out, 2, value);
        out
    }
}

fn api_request_protobuf(session: &str, prompt: &str, sequence: u64) -> Vec<u8> {
    // LogRecord: time_unix_nano = 1 (fixed64), body = 5, attributes = 6.
    let mut record = Vec::new();
    pb::fixed64(&mut record, 1, 1_795_000_000_000_000_000);
    let mut body = Vec::new();
    pb::bytes(&mut body, 1, b"claude_code.api_request");
    pb::bytes(&mut record, 5, &body);
    for kv in [
        pb::kv_str("event.name", "api_request"),
        pb::kv_str("event.timestamp", "2026-11-27T10:00:01.000Z"),
        pb::kv_int("event.sequence", sequence),
        pb::kv_str("session.id", session),
        pb::kv_str("prompt.id", prompt),
        pb::kv_str("model", "claude-opus-5-5"),
        pb::kv_int("input_tokens", 7),
        pb::kv_int("output_tokens", 3),
        pb::kv_int("cache_read_tokens", 11),
        pb::kv_int("cache_creation_tokens", 13),
        pb::kv_double("cost_usd", 0.125),
        pb::kv_int("duration_ms", 321),
    ] {
        pb::bytes(&mut record, 6, &kv);
    }
    // ScopeLogs: log_records = 2; ResourceLogs: resource = 1, scope_logs = 2;
    // ExportLogsServiceRequest: resource_logs = 1.
    let mut scope = Vec::new();
    pb::bytes(&mut scope, 2, &record);
    let mut resource = Vec::new();
    pb::bytes(&mut resource, 1, &pb::kv_str("service.name", "claude-code"));
    let mut resource_logs = Vec::new();
    pb::bytes(&mut resource_logs, 1, &resource);
    pb::bytes(&mut resource_logs, 2, &scope);
    let mut request = Vec::new();
    pb::bytes(&mut request, 1, &resource_logs);
    request
}

#[tokio::test]
async fn protobuf_bodies_are_joined_to_their_session_and_prompt() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "s2", "bob").await;
    assistant(&server, "s2", "m1", "p9", [1000, 100, 0, 0]).await;
    let (status, body, kind) = otlp(
        &server,
        AGENT,
        "application/x-protobuf",
        api_request_protobuf("s2", "p9", 1),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "application/x-protobuf"));
    assert!(
        body.is_empty(),
        "an empty ExportLogsServiceResponse: all accepted"
    );
    let u = usage(&server, "s2").await;
    assert_eq!(
        [
            &u["inputTokens"],
            &u["outputTokens"],
            &u["cacheReadTokens"],
            &u["cacheCreationTokens"],
            &u["requests"]
        ],
        [&json!(7), &json!(3), &json!(11), &json!(13), &json!(1)],
        "{u}"
    );
    assert!(close(&u["costUsd"], 0.125), "{u}");
    let (_, events) = call(
        &server,
        "GET",
        "/api/sessions/s2/events?since=0",
        ADMIN,
        None,
    )
    .await;
    let reported = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "usage:reported")
        .unwrap()
        .clone();
    assert_eq!(
        (
            reported["promptId"].as_str(),
            reported["durationMs"].as_u64()
        ),
        (Some("p9"), Some(321))
    );
    assert_eq!(reported["timestamp"], "2026-11-27T10:00:01Z");
    // gzip, as exporters may send it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &api_request_protobuf("s2", "p9", 2)).unwrap();
    let response = server
        .http
        .post(server.url("/v1/logs"))
        .bearer_auth(AGENT)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(usage(&server, "s2").await["reportedRequests"], 2);
    server.stop().await;
}

async fn seq(server: &TestServer) -> usize {
    call(server, "GET", "/api/events?since=0", ADMIN, None)
        .await
        .1["events"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn bad_bodies_are_4xx_and_change_nothing() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "s3", "bob").await;
    let before = seq(&server).await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("application/json", b"{not json".to_vec(), 400),
        ("application/json", b"[1, 2]".to_vec(), 400),
        ("application/json", br#"{"resourceLogs": 5}"#.to_vec(), 400),
        ("application/json", br#"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"value": {}}]}]}]}]}"#.to_vec(), 400),
        ("application/x-protobuf", vec![0x0a, 0xff, 0xff, 0xff], 400),
        ("text/plain", b"hello".to_vec(), 415),
    ];
    for (kind, body, expected) in cases {
        let (status, bytes, _) = otlp(&server, AGENT, kind, body.clone()).await;
        assert_eq!(
            status,
            expected,
            "{kind} {:?}: {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&bytes)
        );
        let error: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(error["message"].as_str().unwrap().len() > 10, "{error}");
    }
    // A record without its session, and one for a session that does not exist: refused
    // one by one, OTLP's partial success says so.
    let mut no_session = api_request_json("s3", "p", 1, [1, 1, 0, 0], 0.1);
    no_session["scopeLogs"][0]["logRecords"][0]["attributes"]
        .as_array_mut()
        .unwrap()
        .retain(|kv| kv["key"] != "session.id");
    let (status, body) = otlp_json(
        &server,
        AGENT,
        vec![
            no_session,
            api_request_json("nope", "p", 1, [1, 1, 0, 0], 0.1),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["partialSuccess"]["rejectedLogRecords"], "2", "{body}");
    assert_eq!(seq(&server).await, before, "nothing stored");
    assert_eq!(usage(&server, "s3").await["requests"], 0);
    server.stop().await;
}

#[tokio::test]
async fn a_user_scoped_token_reports_only_into_its_users_sessions() {
    let server = TestServer::spawn_with(|c| c.tokens = tokens());
    start(&server, "bobs", "bob").await;
    start(&server, "alices", "alice").await;
    let (status, body) = otlp_json(
        &server,
        ALICE_AGENT,
        vec![
            api_request_json("bobs", "p", 1, [5, 5, 0, 0], 1.0),
            api_request_json("alices", "p", 1, [5, 5, 0, 0], 1.0),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["partialSuccess"]["rejectedLogRecords"], "1", "{body}");
    assert_eq!(
        usage(&server, "bobs").await["requests"],
        0,
        "bob's session is untouched"
    );
    assert_eq!(usage(&server, "alices").await["reportedRequests"], 1);
    // Only agents (and the shared token) report telemetry.
    let (status, _) = otlp_json(
        &server,
        VIEWER,
        vec![api_request_json("alices", "p", 2, [5, 5, 0, 0], 1.0)],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = otlp(&server, "", "application/json", b"{}".to_vec()).await;
    assert_eq!(status, 401);
    server.stop().await;
}
