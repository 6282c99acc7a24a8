//! Bytes are bounded: an event past the per-event limit has its large JSON values
//! previewed (or is refused with 413 when nothing can be previewed), and a socket past
//! its byte budget gets `resync` and is dropped, as one past its frame count is
//! (issue 14: sockets counted frames, never bytes, and 8 stalled sockets held 800 MiB).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn large_agent_payloads_are_previewed_and_other_oversized_events_refused() {
    let server = TestServer::spawn_with(|c| c.commit.max_event_bytes = 256 * 1024);
    server.create_session("s").await;
    let big = "y".repeat(1024 * 1024);
    let (status, body) = server
        .post(
            "/api/events",
            json!({"sessionId": "s", "type": "agent:event", "name": "Dump", "payload": {"blob": big}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, events) = server.get("/api/sessions/s/events").await;
    assert_eq!(status, 200);
    let stored = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "agent:event")
        .unwrap()
        .clone();
    assert_eq!(
        stored["payload"]["truncated"],
        true,
        "{}",
        &stored.to_string()[..200]
    );
    assert!(stored["payload"]["bytes"].as_u64().unwrap() > 1024 * 1024);
    assert!(stored.to_string().len() < 256 * 1024);

    // A tool's response is previewed the same way.
    let (status, body) = server
        .post(
            "/api/events",
            json!({"sessionId": "s", "type": "tool:used", "toolName": "Read", "status": "succeeded", "response": big}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // A prompt within its field rule (1 MiB) but past this server's event limit has
    // nothing to preview: refused with 413, nothing stored.
    let before = server.latest_seq().await;
    let (status, body) = server
        .post(
            "/api/events",
            json!({"sessionId": "s", "type": "prompt:submitted", "prompt": "z".repeat(512 * 1024)}),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-event-bytes"),
        "{body}"
    );
    assert_eq!(server.latest_seq().await, before);
    server.stop().await;
}

#[tokio::test]
async fn a_socket_past_its_byte_budget_gets_resync_while_its_frame_count_is_far_off() {
    let server = TestServer::spawn_with(|c| {
        // Only the byte budget can trip: the frame count and the send timeout are far.
        c.socket.queue_frames = 100_000;
        c.socket.queue_bytes = 256 * 1024;
        // An event must fit the budget (the server refuses to start otherwise).
        c.commit.max_event_bytes = 240 * 1024;
        c.socket.send_timeout = Duration::from_secs(30);
    });
    server.create_session("s").await;
    let mut slow = server.socket().await;
    let big = "x".repeat(200 * 1024);
    let updates = 80;
    for i in 0..updates {
        let (status, _) = server
            .put("/api/sessions/s", json!({"summary": format!("{i}{big}")}))
            .await;
        assert_eq!(status, 200);
    }
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
        resync,
        "the socket was told to resync (after {events} events)"
    );
    assert!(events < updates, "and cut off: {events} of {updates}");
    server.stop().await;
}

#[test]
fn an_event_limit_past_a_socket_or_replay_budget_refuses_to_start() {
    use chainwatch::app::Application;
    use chainwatch::config::Config;
    let dir = tempfile::tempdir().unwrap();
    let refusal = |adjust: &dyn Fn(&mut Config)| {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.watch.enabled = false;
        adjust(&mut config);
        match Application::build(config) {
            Ok(_) => panic!("the server started"),
            Err(error) => error.to_string(),
        }
    };
    let message = refusal(&|c| {
        c.commit.max_event_bytes = 4 * 1024 * 1024;
        c.socket.queue_bytes = 1024 * 1024;
    });
    assert!(
        message.contains("--max-event-bytes") && message.contains("--socket-queue-bytes"),
        "{message}"
    );
    let message = refusal(&|c| {
        c.commit.max_event_bytes = 1024 * 1024;
        c.socket.replay_page_bytes = 1024 * 1024;
    });
    assert!(message.contains("--replay-page-bytes"), "{message}");
    assert!(
        !dir.path().join("data").join("chainwatch.db").exists(),
        "refused before the data dir is used"
    );
}

#[test]
fn the_binary_names_the_contradicting_flags_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chainwatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--no-watch"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--max-event-bytes", "9000000"])
        .env_remove("CHAINWATCH_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        said.contains("--max-event-bytes (9000000) must be below --socket-queue-bytes"),
        "{said}"
    );
}
