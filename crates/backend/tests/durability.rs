//! Durability of acknowledged events: the real `chainwatch` binary is fed events by
//! concurrent clients, killed with SIGKILL mid-stream, and restarted on the same data
//! dir. Every event it acknowledged must be there exactly once with the seq it was
//! given, and seq must go on without a gap.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process, killed when dropped so a failing test leaves nothing behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data_dir: &std::path::Path, port: u16) -> Server {
    Server(
        Command::new(env!("CARGO_BIN_EXE_chainwatch"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("binary starts"),
    )
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/api/health")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server did not become healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_survives_kill_9_exactly_once_and_seq_continues() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut child = start(dir.path(), port);
    wait_healthy(&http, &base).await;
    let (status, _) = post(
        &http,
        &base,
        "/api/sessions",
        json!({"id": "durable", "cwd": "/srv/app"}),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);

    // Acknowledged eventId -> seq, from several concurrent writers (singles and batches).
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..6 {
        let (http, base, acked) = (http.clone(), base.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let batch: Vec<Value> = (0..if writer % 2 == 0 { 1 } else { 20 })
                    .map(|k| json!({"eventId": format!("w{writer}-{n}-{k}"), "sessionId": "durable", "type": "prompt:submitted", "prompt": "x"}))
                    .collect();
                match post(&http, &base, "/api/events", Value::Array(batch)).await {
                    Some((201, body)) => {
                        let mut acked = acked.lock().unwrap();
                        for event in body["events"].as_array().unwrap() {
                            acked.insert(event["eventId"].as_str().unwrap().to_owned(), event["seq"].as_u64().unwrap());
                        }
                    }
                    Some((status, body)) => panic!("unexpected answer {status}: {body}"),
                    None => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.0.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    child.0.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "the stream was under way when killed ({} acked)",
        acked.len()
    );

    let _child = start(dir.path(), port);
    wait_healthy(&http, &base).await;
    let mut stored: Vec<Value> = Vec::new();
    let mut since = 0;
    loop {
        let (_, page) = get(
            &http,
            &base,
            &format!("/api/events?since={since}&limit=10000"),
        )
        .await;
        let events = page["events"].as_array().unwrap();
        stored.extend(events.iter().cloned());
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
        since = events.last().unwrap()["seq"].as_u64().unwrap();
    }
    let seqs: Vec<u64> = stored.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "seq is gap-free from 1"
    );
    let mut by_id: HashMap<&str, Vec<u64>> = HashMap::new();
    for event in &stored {
        by_id
            .entry(event["eventId"].as_str().unwrap())
            .or_default()
            .push(event["seq"].as_u64().unwrap());
    }
    for (event_id, seq) in &acked {
        assert_eq!(
            by_id.get(event_id.as_str()),
            Some(&vec![*seq]),
            "acknowledged {event_id} stored once at seq {seq}"
        );
    }
    // A retried event is recognised after the restart, and new events continue the seq.
    let some_id = acked.keys().next().unwrap();
    let (_, retry) = post(&http, &base, "/api/events", json!({"eventId": some_id, "sessionId": "durable", "type": "prompt:submitted", "prompt": "x"})).await.unwrap();
    assert_eq!(retry["events"][0]["duplicate"], true);
    assert_eq!(
        retry["events"][0]["seq"].as_u64(),
        acked.get(some_id).copied()
    );
    let (_, next) = post(
        &http,
        &base,
        "/api/events",
        json!({"sessionId": "durable", "type": "prompt:submitted", "prompt": "after"}),
    )
    .await
    .unwrap();
    assert_eq!(
        next["events"][0]["seq"].as_u64(),
        Some(seqs.len() as u64 + 1)
    );
    let (_, session) = get(&http, &base, "/api/sessions/durable").await;
    let prompts = stored
        .iter()
        .filter(|e| e["type"] == "prompt:submitted")
        .count() as u64;
    assert_eq!(
        session["counts"]["prompts"].as_u64(),
        Some(prompts + 1),
        "state rebuilt from the log"
    );
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: Value) -> Option<(u16, Value)> {
    let response = http
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let body = response.json().await.ok()?;
    Some((status, body))
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let response = http.get(format!("{base}{path}")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
