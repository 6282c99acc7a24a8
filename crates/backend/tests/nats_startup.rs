//! Start-up and retention on the NATS store, with a real nats-server and the real
//! binary: an instance restarts from its snapshot (the projection with the seq it
//! covers) and its local copy, then takes only the stream's tail, and ends up exactly
//! where an instance that never stopped is, after a graceful stop and after kill -9.
//! Retention prunes ended sessions from the stream itself: every instance drops them,
//! an instance that was down meanwhile does not bring them back from its snapshot, and a
//! new instance never sees their events.
#![allow(missing_docs, clippy::unwrap_used)]

mod nats_support;

use std::time::{Duration, Instant};

use nats_support::{Instance, NatsServer, events_of, wait_seq};
use serde_json::{Value, json};

async fn post(http: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn head_of(http: &reqwest::Client, base: &str) -> u64 {
    get(http, format!("{base}/api/health")).await.1["seq"]
        .as_u64()
        .unwrap()
}

/// Writes through `base`: `sessions` new sessions with `events` tool events each, then
/// ends the first of them.
async fn write_some(http: &reqwest::Client, base: &str, tag: &str, sessions: usize, events: usize) {
    for s in 0..sessions {
        let id = format!("{tag}-{s}");
        let (status, body) = post(
            http,
            format!("{base}/api/sessions"),
            json!({"id": id, "cwd": "/work/app", "user": "ada"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let batch: Vec<Value> = (0..events)
            .map(|k| {
                json!({"sessionId": id, "type": "terminal:output", "text": format!("{tag} {k}"), "eventId": format!("{id}-{k}")})
            })
            .collect();
        let (status, body) = post(http, format!("{base}/api/events"), json!(batch)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = post(
        http,
        format!("{base}/api/sessions/{tag}-0/end"),
        json!({"reason": "done"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// `a` serves exactly what `b` serves: the same log and the same sessions.
async fn same_state(http: &reqwest::Client, a: &str, b: &str) {
    let head = head_of(http, b).await;
    wait_seq(http, a, head).await;
    assert_eq!(head_of(http, a).await, head);
    let (on_a, on_b) = (events_of(http, a).await, events_of(http, b).await);
    assert_eq!(on_a.len(), on_b.len());
    assert!(on_a == on_b, "the logs differ");
    let sessions = |v: Value| {
        let mut list = v["sessions"].as_array().unwrap().clone();
        list.sort_by_key(|s| s["id"].as_str().unwrap().to_owned());
        list
    };
    let (_, list_a) = get(http, format!("{a}/api/sessions?limit=1000")).await;
    let (_, list_b) = get(http, format!("{b}/api/sessions?limit=1000")).await;
    assert_eq!(sessions(list_a), sessions(list_b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_starts_from_its_snapshot_and_takes_only_the_tail() {
    let nats = NatsServer::start();
    let dirs = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let a_dir = dirs.path().join("a");
    let mut a = Instance::start_logged(&a_dir, &nats.url(), "SNAP", &["--snapshot-every", "100"]);
    let b = Instance::start(&dirs.path().join("b"), &nats.url(), "SNAP", &[]);
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    write_some(&http, &a.base(), "first", 3, 120).await;
    same_state(&http, &b.base(), &a.base()).await;

    // A graceful stop writes the snapshot at the seq A had applied.
    let stopped_at = head_of(&http, &a.base()).await;
    a.stop();
    let snapshot = a_dir.join("nats-SNAP.snapshot");
    let header = std::fs::read_to_string(&snapshot).unwrap();
    let header: Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    assert_eq!(header["seq"].as_u64().unwrap(), stopped_at);

    // The stream moves on while A is down.
    write_some(&http, &b.base(), "while-down", 2, 50).await;
    let (status, _) = post(
        &http,
        format!("{}/api/sessions/first-1/end", b.base()),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    a.restart();
    a.wait_healthy(&http).await;
    same_state(&http, &a.base(), &b.base()).await;
    let log = a.log_text();
    assert!(
        log.contains(&format!(
            "snapshot at seq {stopped_at} and 0 events after it"
        )),
        "the restart did not start from the snapshot: {log}"
    );
    // Decisions on A use the state it restarted with: first-1 ended on B meanwhile.
    let (status, _) = post(
        &http,
        format!("{}/api/sessions/first-1/end", a.base()),
        json!({}),
    )
    .await;
    assert_eq!(status, 409);

    // kill -9: no snapshot at shutdown; the background one (every 100 events) or the
    // last one, then the copy's tail, then the stream's.
    write_some(&http, &a.base(), "before-kill", 2, 150).await;
    a.kill();
    write_some(&http, &b.base(), "after-kill", 2, 30).await;
    a.restart();
    a.wait_healthy(&http).await;
    same_state(&http, &a.base(), &b.base()).await;
    let log = a.log_text();
    let restarts = log.matches("rebuilt state from the local copy").count();
    assert_eq!(restarts, 3, "{log}");
    assert_eq!(
        log.matches("snapshot at seq").count(),
        2,
        "each restart starts from a snapshot: {log}"
    );
    // Writes through the restarted instance still land, in order, on both.
    write_some(&http, &a.base(), "after-restart", 1, 10).await;
    same_state(&http, &b.base(), &a.base()).await;
}

/// The events `base` serves for session `id`, by type.
async fn types_of(http: &reqwest::Client, base: &str, id: &str) -> Vec<String> {
    events_of(http, base)
        .await
        .into_iter()
        .filter(|e| e["sessionId"] == id)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_gone(http: &reqwest::Client, base: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(http, format!("{base}/api/sessions/{id}")).await.0 != 404 {
        assert!(Instant::now() < deadline, "{id} never left {base}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_the_stream_and_no_instance_keeps_the_pruned_session() {
    let nats = NatsServer::start();
    let dirs = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut a = Instance::start(&dirs.path().join("a"), &nats.url(), "KEEP", &[]);
    let b = Instance::start(&dirs.path().join("b"), &nats.url(), "KEEP", &[]);
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    // "old" started three days ago and ended two days ago (agents report timestamps);
    // "live" is live.
    let days_ago = |d: i64| (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339();
    let mut old: Vec<Value> = vec![json!({
        "sessionId": "old", "type": "session:started", "cwd": "/work/old", "timestamp": days_ago(3)
    })];
    old.extend((0..30).map(|k| {
        json!({"sessionId": "old", "type": "terminal:output", "text": format!("line {k}"), "timestamp": days_ago(3)})
    }));
    old.push(json!({
        "sessionId": "old", "type": "session:ended", "status": "completed", "timestamp": days_ago(2)
    }));
    let (status, body) = post(&http, format!("{}/api/events", a.base()), json!(old)).await;
    assert_eq!(status, 201, "{body}");
    write_some(&http, &a.base(), "live", 1, 20).await;
    same_state(&http, &b.base(), &a.base()).await;
    // A stops with a snapshot that holds "old".
    a.stop();

    // An instance with retention prunes at start what ended more than a day ago.
    let pruner = Instance::start(
        &dirs.path().join("pruner"),
        &nats.url(),
        "KEEP",
        &["--retention-days", "1"],
    );
    pruner.wait_healthy(&http).await;
    wait_gone(&http, &pruner.base(), "old").await;
    wait_gone(&http, &b.base(), "old").await;
    // Its events are gone from every copy; what stays is the session:pruned that tells
    // open lists to drop it.
    for base in [pruner.base(), b.base()] {
        assert_eq!(types_of(&http, &base, "old").await, ["session:pruned"]);
        let (status, _) = get(&http, format!("{base}/api/sessions/live-0")).await;
        assert_eq!(status, 200);
    }
    // A restarts: its snapshot held "old", the stream's tail prunes it again.
    a.restart();
    a.wait_healthy(&http).await;
    same_state(&http, &a.base(), &b.base()).await;
    let (status, _) = get(&http, format!("{}/api/sessions/old", a.base())).await;
    assert_eq!(status, 404);
    assert_eq!(types_of(&http, &a.base(), "old").await, ["session:pruned"]);
    // A new instance copies the purged stream: none of the pruned events.
    let c = Instance::start(&dirs.path().join("c"), &nats.url(), "KEEP", &[]);
    c.wait_healthy(&http).await;
    same_state(&http, &c.base(), &b.base()).await;
    assert_eq!(types_of(&http, &c.base(), "old").await, ["session:pruned"]);
    // The session's id can be used again.
    let (status, body) = post(
        &http,
        format!("{}/api/sessions", c.base()),
        json!({"id": "old", "cwd": "/work/again"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    wait_seq(&http, &b.base(), head_of(&http, &c.base()).await).await;
    let (status, again) = get(&http, format!("{}/api/sessions/old", b.base())).await;
    assert_eq!(status, 200);
    assert_eq!(again["cwd"], "/work/again");
}
