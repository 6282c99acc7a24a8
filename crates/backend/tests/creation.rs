//! A created session is one event and one commit, with the file watcher on: whether its
//! cwd is watched rides in its `session:started`, no `session:updated {watch}` follows,
//! and a 201 that says "watched" means changes made after it are reported. Real server,
//! real HTTP and WebSocket, real watcher.

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::{Value, json};

/// The watcher on, with the temp dir (where the tests' cwds are) a files root.
fn watching() -> TestServer {
    TestServer::spawn_with(|config| {
        config.watch.enabled = true;
        config.files.roots = vec![std::env::temp_dir()];
    })
}

/// Every stored event of a session.
async fn events_of(server: &TestServer, id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/sessions/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_watched_session_is_one_global_frame_and_watched_from_its_201() {
    let server = watching();
    let cwd = tempfile::tempdir().expect("cwd");
    let root = cwd.path().canonicalize().expect("canonical");
    let mut socket = server.socket().await;
    let (status, created) = server
        .post(
            "/api/sessions",
            json!({"id": "here", "cwd": root.to_str().expect("utf-8")}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["watch"]["watched"], true, "{created}");

    let started = socket.event_of("session:started", "here").await;
    assert_eq!(started["watch"]["watched"], true, "{started}");
    // Nothing else of this creation reaches the socket.
    socket.expect_no_event(Duration::from_millis(600)).await;
    let stored = events_of(&server, "here").await;
    assert_eq!(stored.len(), 1, "{stored:?}");

    // The 201 said watched: a file written right after it is reported.
    let (_, seam) = socket.subscribe("here", None).await;
    std::fs::write(root.join("new.txt"), "x").expect("write");
    let created_file = socket.event_of("file:created", "here").await;
    assert_eq!(created_file["path"], "new.txt", "{created_file}");
    assert!(created_file["seq"].as_u64() > Some(seam));
    server.stop().await;
}

#[tokio::test]
async fn a_cwd_elsewhere_is_one_event_that_says_why_it_is_not_watched() {
    let server = watching();
    let mut socket = server.socket().await;
    let (status, created) = server
        .post(
            "/api/sessions",
            json!({"id": "away", "cwd": "/no/such/dir/on/this/host"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["watch"]["watched"], false, "{created}");
    let started = socket.event_of("session:started", "away").await;
    let reason = started["watch"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not on this host"), "{started}");
    socket.expect_no_event(Duration::from_millis(600)).await;
    assert_eq!(events_of(&server, "away").await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_session_started_by_the_hook_is_one_event_too() {
    let server = watching();
    let cwd = tempfile::tempdir().expect("cwd");
    let mut socket = server.socket().await;
    let (status, body) = server
        .post(
            "/api/events",
            json!({"sessionId": "hooked", "type": "session:started",
                   "cwd": cwd.path().to_str().expect("utf-8"),
                   // The agent does not get to say; the server decides.
                   "watch": {"watched": false, "reason": "the agent says so"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let started = socket.event_of("session:started", "hooked").await;
    assert_eq!(started["watch"]["watched"], true, "{started}");
    socket.expect_no_event(Duration::from_millis(600)).await;
    assert_eq!(events_of(&server, "hooked").await.len(), 1);
    server.stop().await;
}
