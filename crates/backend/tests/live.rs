//! The REST API and the socket, end to end against the real server: the seed's failure
//! (a created session never reaching open lists) checked over real sockets, every
//! mutating route of the OpenAPI document checked to emit, reconnect and replay seams,
//! slow clients, and bad input of every kind.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Socket, TestServer, WAIT};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

#[tokio::test]
async fn the_seed_checklist_every_open_socket_hears_create_update_end_without_subscribing() {
    let server = TestServer::spawn();
    let mut first = server.socket().await;
    let mut second = server.socket().await;

    let (status, session) = server
        .post(
            "/api/sessions",
            json!({"cwd": "/home/ada/app", "user": "ada"}),
        )
        .await;
    assert_eq!(status, 201);
    let id = session["id"].as_str().unwrap();
    for socket in [&mut first, &mut second] {
        let started = socket.event().await;
        assert_eq!(started["type"], "session:started");
        assert_eq!(started["sessionId"], id);
        assert_eq!(started["cwd"], "/home/ada/app");
    }

    let (status, _) = server
        .put(
            &format!("/api/sessions/{id}"),
            json!({"status": "active", "summary": "refactor"}),
        )
        .await;
    assert_eq!(status, 200);
    for socket in [&mut first, &mut second] {
        let updated = socket.event().await;
        assert_eq!(
            (updated["type"].as_str(), updated["summary"].as_str()),
            (Some("session:updated"), Some("refactor"))
        );
    }

    let (status, _) = server
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(status, 200);
    for socket in [&mut first, &mut second] {
        assert_eq!(socket.event().await["type"], "session:ended");
        // Exactly once: nothing else follows.
        socket.expect_no_event(Duration::from_millis(300)).await;
    }
    // A client that opens the list later sees the same state over REST.
    let (_, list) = server.get("/api/sessions").await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["sessions"][0]["status"], "completed");
    server.stop().await;
}

/// The event each mutating route must emit; a route missing here fails the test.
/// Routes that change the push side store (a person's notification opt-in and
/// settings), never a session: by design they emit no event (`notify::push::store`
/// says why); tests/notify_push.rs covers them.
const SIDE_STORE: &[&str] = &[
    "POST /api/push/subscriptions",
    "DELETE /api/push/subscriptions",
    "PUT /api/notify/settings",
];

fn expected_event(route: &str) -> &'static str {
    match route {
        "POST /api/sessions" => "session:started",
        "PUT /api/sessions/{id}" => "session:updated",
        "POST /api/sessions/{id}/end" => "session:ended",
        "POST /api/events" => "prompt:submitted",
        "POST /api/sessions/{id}/commands" => "command:issued",
        "POST /api/sessions/{id}/commands/{commandId}/ack" => "command:acknowledged",
        "POST /api/sessions/{id}/awaiting-input" => "interaction:awaiting-input",
        "POST /api/sessions/{id}/input" => "interaction:input-received",
        "POST /api/sessions/{id}/permissions" => "permission:requested",
        "POST /api/sessions/{id}/permissions/{requestId}" => "permission:decided",
        other => {
            panic!("mutating route {other} has no entry in this test: say which event it emits")
        }
    }
}

/// Performs a route on a fresh session (setting up what it needs); returns the session.
async fn perform(server: &TestServer, socket: &mut Socket, route: &str, n: usize) -> String {
    let id = format!("route-{n}");
    if route == "POST /api/sessions" {
        let (status, _) = server
            .post("/api/sessions", json!({"id": id, "cwd": "/srv/x"}))
            .await;
        assert_eq!(status, 201);
        return id;
    }
    server.create_session(&id).await;
    socket.subscribe(&id, None).await;
    let base = format!("/api/sessions/{id}");
    let (status, body) = match route {
        "PUT /api/sessions/{id}" => server.put(&base, json!({"summary": "s"})).await,
        "POST /api/sessions/{id}/end" => {
            server
                .post(&format!("{base}/end"), json!({"status": "failed"}))
                .await
        }
        "POST /api/events" => {
            server
                .post(
                    "/api/events",
                    json!({"sessionId": id, "type": "prompt:submitted", "prompt": "hi"}),
                )
                .await
        }
        "POST /api/sessions/{id}/commands" => {
            server
                .post(&format!("{base}/commands"), json!({"type": "pause"}))
                .await
        }
        "POST /api/sessions/{id}/commands/{commandId}/ack" => {
            let (_, command) = server
                .post(&format!("{base}/commands"), json!({"type": "cancel"}))
                .await;
            let command_id = command["id"].as_str().unwrap();
            server
                .post(
                    &format!("{base}/commands/{command_id}/ack"),
                    json!({"note": "stopped"}),
                )
                .await
        }
        "POST /api/sessions/{id}/awaiting-input" => {
            server
                .post(
                    &format!("{base}/awaiting-input"),
                    json!({"prompt": "Continue?", "quickResponses": ["yes"]}),
                )
                .await
        }
        "POST /api/sessions/{id}/input" => {
            server
                .post(
                    &format!("{base}/awaiting-input"),
                    json!({"prompt": "Continue?"}),
                )
                .await;
            server
                .post(&format!("{base}/input"), json!({"text": "yes"}))
                .await
        }
        "POST /api/sessions/{id}/permissions" => {
            server
                .post(
                    &format!("{base}/permissions"),
                    json!({"toolName": "Bash", "toolInput": {"command": "ls"}}),
                )
                .await
        }
        "POST /api/sessions/{id}/permissions/{requestId}" => {
            server
                .post(
                    &format!("{base}/permissions"),
                    json!({"requestId": "p1", "toolName": "Bash"}),
                )
                .await;
            server
                .post(
                    &format!("{base}/permissions/p1"),
                    json!({"behavior": "allow"}),
                )
                .await
        }
        other => panic!("no way to perform {other}"),
    };
    assert!((200..300).contains(&status), "{route}: {status} {body}");
    id
}

#[tokio::test]
async fn every_mutating_route_of_the_openapi_document_emits_its_event_to_sockets() {
    let server = TestServer::spawn();
    let (_, doc) = server.get("/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        routes.len() >= 10,
        "expected every mutating route, found {routes:?}"
    );
    let mut socket = server.socket().await;
    for (n, route) in routes.iter().enumerate() {
        if SIDE_STORE.contains(&route.as_str()) {
            continue;
        }
        let kind = expected_event(route);
        let id = perform(&server, &mut socket, route, n).await;
        let event = socket.event_of(kind, &id).await;
        assert!(event["seq"].as_u64().unwrap() > 0, "{route}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_reconnects_resumes_exactly_what_it_missed_in_order() {
    let server = TestServer::spawn();
    let mut socket = server.socket().await;
    server.create_session("a").await;
    let last_seen = socket.event().await["seq"].as_u64().unwrap();
    drop(socket);

    for i in 0..5 {
        server
            .put("/api/sessions/a", json!({"summary": format!("step {i}")}))
            .await;
    }
    server.create_session("b").await;
    // Session-only events are not on the global topic and are not part of a resume.
    server
        .post(
            "/api/events",
            json!({"sessionId": "a", "type": "prompt:submitted", "prompt": "x"}),
        )
        .await;

    let mut socket = server.socket().await;
    socket
        .send(json!({"type": "resume", "since": last_seen}))
        .await;
    let mut missed = Vec::new();
    for _ in 0..7 {
        missed.push(socket.event().await);
    }
    assert_eq!(
        seqs(&missed),
        (last_seen + 1..=last_seen + 7).collect::<Vec<_>>()
    );
    assert_eq!(missed[5]["type"], "session:started");
    // The prompt made session a active: that change is global, the prompt is not.
    assert_eq!(
        (missed[6]["type"].as_str(), missed[6]["status"].as_str()),
        (Some("session:updated"), Some("active"))
    );
    socket.expect_no_event(Duration::from_millis(300)).await;

    // Live events keep flowing after the resume.
    server
        .put("/api/sessions/b", json!({"title": "live"}))
        .await;
    assert_eq!(socket.event().await["title"], "live");
    server.stop().await;
}

#[tokio::test]
async fn subscribe_replays_then_goes_live_with_no_gap_and_no_duplicate_at_the_seam() {
    let server = TestServer::spawn();
    server.create_session("busy").await;
    let post = |n: usize| json!({"sessionId": "busy", "eventId": format!("p-{n}"), "type": "prompt:submitted", "prompt": format!("{n}")});
    for n in 0..50 {
        server.post("/api/events", post(n)).await;
    }
    let mut socket = server.socket().await;
    // Writers keep going while the socket subscribes from the start.
    let writer = {
        let http = server.http.clone();
        let url = server.url("/api/events");
        tokio::spawn(async move {
            for n in 50..250 {
                let response = http.post(&url).json(&post(n)).send().await.expect("posted");
                assert_eq!(response.status(), 201);
            }
        })
    };
    let (mut received, seam) = socket.subscribe("busy", Some(0)).await;
    assert!(seam >= 51);
    writer.await.expect("writer");
    let (_, stored) = server
        .get("/api/sessions/busy/events?since=0&limit=10000")
        .await;
    let expected = seqs(stored["events"].as_array().unwrap());
    assert_eq!(
        expected.len(),
        252,
        "start, the derived session:updated, 250 prompts"
    );
    while received.len() < expected.len() {
        received.push(socket.event().await);
    }
    assert_eq!(
        seqs(&received),
        expected,
        "every event once, in seq order, across the seam"
    );
    socket.expect_no_event(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test]
async fn global_events_already_delivered_live_are_not_replayed_by_a_subscribe() {
    let server = TestServer::spawn();
    let mut socket = server.socket().await;
    server.create_session("s").await;
    let started = socket.event().await;
    server
        .post(
            "/api/events",
            json!({"sessionId": "s", "type": "prompt:submitted", "prompt": "p"}),
        )
        .await;
    // The first prompt makes the session active: a global event, delivered live.
    assert_eq!(socket.event().await["status"], "active");
    let (replayed, _) = socket.subscribe("s", Some(0)).await;
    // session:started came live on the global topic; the replay brings only the prompt.
    assert_eq!(
        replayed
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["prompt:submitted"]
    );
    assert!(replayed[0]["seq"].as_u64() > started["seq"].as_u64());
    server.stop().await;
}

#[tokio::test]
async fn a_slow_client_is_told_to_resync_and_dropped_while_a_fast_one_keeps_receiving() {
    let server = TestServer::spawn_with(|c| {
        c.socket.queue_frames = 8;
        c.socket.send_timeout = Duration::from_millis(500);
    });
    server.create_session("s").await;
    // The slow socket reads its hello, then never reads again.
    let mut slow = server.socket().await;
    let mut fast = server.socket().await;
    let big = "x".repeat(64 * 1024);
    let updates = 300;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < updates {
            let event = fast.event().await;
            if event["type"] == "session:updated" {
                got += 1;
            }
        }
        got
    });
    for i in 0..updates {
        let (status, _) = server
            .put("/api/sessions/s", json!({"summary": format!("{i}{big}")}))
            .await;
        assert_eq!(
            status, 200,
            "the server keeps serving while a socket stalls"
        );
    }
    assert_eq!(
        reader.await.expect("fast reader"),
        updates,
        "the fast client got every event"
    );

    // Now drain the slow socket: it must not have received all updates; it ends with
    // resync (if the frame got through) or a close.
    let mut events = 0;
    let mut resync = false;
    while let Some(frame) = slow.frame(Duration::from_secs(3)).await {
        match frame["type"].as_str() {
            Some("event") => events += 1,
            Some("resync") => resync = true,
            _ => {}
        }
    }
    assert!(
        events < updates,
        "the slow socket was cut off (got {events} events, resync={resync})"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let server = TestServer::spawn_with(|c| c.max_body_bytes = 64 * 1024);
    server.create_session("s").await;
    let before = server.latest_seq().await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed JSON",
            "/api/sessions",
            b"{\"cwd\": ".to_vec(),
            400,
            "bad_request",
        ),
        (
            "not JSON at all",
            "/api/events",
            b"hello".to_vec(),
            400,
            "bad_request",
        ),
        (
            "invalid UTF-8",
            "/api/sessions",
            vec![b'{', 0xff, 0xfe, b'}'],
            400,
            "bad_request",
        ),
        (
            "empty body",
            "/api/events",
            b"".to_vec(),
            400,
            "bad_request",
        ),
        (
            "wrong type",
            "/api/sessions",
            br#"{"cwd": 42}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "unknown field",
            "/api/sessions",
            br#"{"cwd": "/a", "colour": "red"}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "missing field",
            "/api/sessions/s/input",
            br#"{}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "relative cwd",
            "/api/sessions",
            br#"{"cwd": "src"}"#.to_vec(),
            422,
            "invalid",
        ),
        (
            "unknown event type",
            "/api/events",
            br#"{"sessionId": "s", "type": "session:phantom"}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "event for unknown session",
            "/api/events",
            br#"{"sessionId": "ghost", "type": "prompt:submitted", "prompt": "x"}"#.to_vec(),
            404,
            "not_found",
        ),
        (
            "server-assigned seq",
            "/api/events",
            br#"{"seq": 9, "sessionId": "s", "type": "prompt:submitted", "prompt": "x"}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "control characters in an id",
            "/api/sessions",
            b"{\"id\": \"a\\u0001b\", \"cwd\": \"/a\"}".to_vec(),
            422,
            "invalid",
        ),
        (
            "deep JSON",
            "/api/events",
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            400,
            "bad_request",
        ),
        (
            "oversized body",
            "/api/events",
            vec![b' '; 100 * 1024],
            413,
            "payload_too_large",
        ),
        (
            "unknown command",
            "/api/sessions/s/commands",
            br#"{"type": "explode"}"#.to_vec(),
            422,
            "unprocessable",
        ),
        (
            "command for unknown session",
            "/api/sessions/nope/commands",
            br#"{"type": "pause"}"#.to_vec(),
            404,
            "not_found",
        ),
        (
            "answer with nothing asked",
            "/api/sessions/s/input",
            br#"{"text": "yes"}"#.to_vec(),
            409,
            "conflict",
        ),
        (
            "decision on unknown request",
            "/api/sessions/s/permissions/zzz",
            br#"{"behavior": "allow"}"#.to_vec(),
            404,
            "not_found",
        ),
    ];
    for (name, path, body, status, code) in cases {
        let (got, answer) = server.post_raw(path, body).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert_eq!(answer["error"], code, "{name}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name} has a reason"
        );
    }
    let (status, answer) = server.get("/api/sessions?limit=abc").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, answer) = server.get("/api/nowhere").await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")));
    assert_eq!(server.latest_seq().await, before, "nothing was stored");
    assert_eq!(
        server.get("/api/health").await.0,
        200,
        "the server keeps serving"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_socket_frames_get_error_frames_and_the_socket_stays_up() {
    let server = TestServer::spawn_with(|c| c.socket.max_frame_bytes = 1024);
    let mut socket = server.socket().await;
    for garbage in [
        "not json",
        "{}",
        r#"{"type":"subscribe"}"#,
        r#"{"type":"dance"}"#,
        r#"{"type":"subscribe","sessionId":"a/b"}"#,
    ] {
        socket.send_raw(Message::Text(garbage.into())).await;
        let error = socket.expect_frame("error").await;
        assert_eq!(error["code"], "bad_frame", "{garbage}: {error}");
    }
    socket.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(socket.expect_frame("error").await["code"], "bad_frame");
    socket.send(json!({"type": "ping"})).await;
    socket.expect_frame("pong").await;
    server.create_session("still-live").await;
    assert_eq!(socket.event().await["sessionId"], "still-live");

    // A frame over the limit closes the socket (there is no way to resynchronise
    // framing), and the server keeps serving others.
    socket
        .send_raw(Message::Text("x".repeat(4096).into()))
        .await;
    let mut closed = false;
    while let Ok(Some(message)) = tokio::time::timeout(WAIT, socket.ws.next()).await {
        if matches!(message, Ok(Message::Close(_)) | Err(_)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "oversized frame closes the socket");
    let mut other = server.socket().await;
    other.send(json!({"type": "ping"})).await;
    other.expect_frame("pong").await;
    server.stop().await;
}

#[tokio::test]
async fn too_many_subscriptions_are_refused_with_an_error_frame() {
    let server = TestServer::spawn_with(|c| c.socket.max_subscriptions = 3);
    let mut socket = server.socket().await;
    for i in 0..3 {
        socket.subscribe(&format!("s{i}"), None).await;
    }
    socket
        .send(json!({"type": "subscribe", "sessionId": "s4"}))
        .await;
    assert_eq!(
        socket.expect_frame("error").await["code"],
        "too_many_subscriptions"
    );
    server.stop().await;
}

#[tokio::test]
async fn long_polls_return_as_soon_as_the_answer_arrives() {
    let server = TestServer::spawn();
    server.create_session("s").await;
    server
        .post(
            "/api/sessions/s/awaiting-input",
            json!({"requestId": "q1", "prompt": "Go?"}),
        )
        .await;
    server
        .post(
            "/api/sessions/s/permissions",
            json!({"requestId": "p1", "toolName": "Bash", "toolInput": {}}),
        )
        .await;
    let started = std::time::Instant::now();
    let input = server.get("/api/sessions/s/input?requestId=q1&waitMs=10000");
    let decision = server.get("/api/sessions/s/permissions/p1?waitMs=10000");
    let answer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            server
                .post(
                    "/api/sessions/s/input",
                    json!({"text": "yes", "requestId": "q1"})
                )
                .await
                .0,
            201
        );
        assert_eq!(
            server
                .post(
                    "/api/sessions/s/permissions/p1",
                    json!({"behavior": "deny", "message": "no"})
                )
                .await
                .0,
            200
        );
    };
    let ((_, input), (_, decision), ()) = tokio::join!(input, decision, answer);
    assert_eq!(input["answer"]["text"], "yes");
    assert_eq!(decision["request"]["decision"]["behavior"], "deny");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered early, not at the end of the wait"
    );
    // A second answer is refused, with a reason, and changes nothing.
    let (status, body) = server
        .post(
            "/api/sessions/s/permissions/p1",
            json!({"behavior": "allow"}),
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("first answer wins")
    );
    // Nothing asked: the wait ends empty.
    let (_, none) = server
        .get("/api/sessions/s/input?requestId=q9&waitMs=100")
        .await;
    assert!(none["answer"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn lists_filter_and_page_and_event_reads_page_by_seq() {
    let server = TestServer::spawn();
    for (id, user, host) in [
        ("a", "ada", "one"),
        ("b", "bob", "two"),
        ("c", "ada", "two"),
    ] {
        server
            .post(
                "/api/sessions",
                json!({"id": id, "cwd": format!("/src/{id}"), "user": user, "hostname": host}),
            )
            .await;
    }
    server.post("/api/sessions/b/end", json!({})).await;
    let ids = |v: &Value| {
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&server.get("/api/sessions?user=ada").await.1),
        ["c", "a"]
    );
    assert_eq!(
        ids(&server.get("/api/sessions?host=two&ended=false").await.1),
        ["c"]
    );
    assert_eq!(
        ids(&server.get("/api/sessions?status=completed").await.1),
        ["b"]
    );
    assert_eq!(ids(&server.get("/api/sessions?q=SRC/A").await.1), ["a"]);
    let page = server.get("/api/sessions?limit=1&offset=1").await.1;
    assert_eq!(
        (ids(&page), page["total"].as_u64()),
        (vec!["b".to_owned()], Some(3))
    );
    assert_eq!(server.get("/api/sessions?status=nonsense").await.0, 400);

    let (_, first) = server.get("/api/events?since=0&limit=2").await;
    assert_eq!(
        (
            seqs(first["events"].as_array().unwrap()),
            first["hasMore"].as_bool()
        ),
        (vec![1, 2], Some(true))
    );
    let (_, rest) = server.get("/api/events?since=2").await;
    assert_eq!(
        (
            seqs(rest["events"].as_array().unwrap()),
            rest["hasMore"].as_bool()
        ),
        (vec![3, 4], Some(false))
    );
    let (_, older) = server.get("/api/events?before=4&limit=2").await;
    assert_eq!(seqs(older["events"].as_array().unwrap()), vec![2, 3]);
    let (_, detail) = server.get("/api/sessions/b").await;
    assert_eq!(
        (
            detail["status"].as_str(),
            detail["chains"].as_array().map(Vec::len)
        ),
        (Some("completed"), Some(0))
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_a_close_frame_and_ends_long_polls_at_once() {
    let server = TestServer::spawn();
    let mut socket = server.socket().await;
    server.create_session("s").await;
    let poll = {
        let http = server.http.clone();
        let url = server.url("/api/sessions/s/input?waitMs=60000");
        tokio::spawn(async move { http.get(url).send().await.map(|r| r.status().as_u16()) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a long poll does not hold up shutdown ({:?})",
        started.elapsed()
    );
    assert_eq!(
        poll.await.expect("joins").ok(),
        Some(200),
        "the poll is answered (empty), not cut"
    );
    let mut close_code = None;
    while let Ok(Some(message)) = tokio::time::timeout(WAIT, socket.ws.next()).await {
        if let Ok(Message::Close(frame)) = message {
            close_code = frame.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(close_code, Some(1001), "going away");
}

/// The socket's control frames, which the server writes itself (not through a WebSocket
/// library): a client's ping is answered with its bytes, the server pings on its
/// heartbeat, and an oversized frame closes the socket with 1009 and the limit.
#[tokio::test]
async fn pings_are_answered_the_server_pings_and_an_oversized_frame_closes_with_1009() {
    let server = TestServer::spawn_with(|c| {
        c.socket.max_frame_bytes = 1024;
        c.socket.heartbeat = Duration::from_millis(200);
    });
    let mut socket = server.socket().await;
    socket
        .send_raw(Message::Ping(b"are you there".to_vec().into()))
        .await;
    let (mut pong, mut server_pinged) = (None, false);
    while pong.is_none() || !server_pinged {
        match tokio::time::timeout(WAIT, socket.ws.next()).await {
            Ok(Some(Ok(Message::Pong(bytes)))) => pong = Some(bytes.to_vec()),
            Ok(Some(Ok(Message::Ping(_)))) => server_pinged = true,
            Ok(Some(Ok(_))) => {}
            other => panic!("socket ended before pong and ping: {other:?}"),
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    socket.send(json!({"type": "ping"})).await;
    socket.expect_frame("pong").await;

    socket
        .send_raw(Message::Text("x".repeat(4096).into()))
        .await;
    let mut close = None;
    while let Ok(Some(message)) = tokio::time::timeout(WAIT, socket.ws.next()).await {
        if let Ok(Message::Close(frame)) = message {
            close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            break;
        }
    }
    assert_eq!(
        close,
        Some((1009, "frames are limited to 1024 bytes".to_owned()))
    );
    server.stop().await;
}
