//! Several instances on one NATS JetStream stream behave as one server: a real
//! nats-server (JetStream, loopback port, temp store) and real Chainwatch servers on
//! port 0, talking real HTTP and WebSocket.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

mod common;
mod nats_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::TestServer;
use nats_support::{NatsServer, store};
use serde_json::{Value, json};

fn instance(url: &str, stream: &str) -> TestServer {
    let store = store(url, stream);
    TestServer::spawn_with(move |config| config.store = store)
}

/// Waits until `server` has applied `seq` (another instance's write reached it).
async fn wait_seq(server: &TestServer, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.latest_seq().await < seq {
        assert!(Instant::now() < deadline, "seq {seq} never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every event of the log as one instance serves it, paged.
async fn all_events(server: &TestServer) -> Vec<Value> {
    let mut events = Vec::new();
    let mut since = 0;
    loop {
        let (status, body) = server
            .get(&format!("/api/events?since={since}&limit=1000"))
            .await;
        assert_eq!(status, 200, "{body}");
        let page = body["events"].as_array().unwrap().clone();
        if page.is_empty() {
            return events;
        }
        since = page.last().unwrap()["seq"].as_u64().unwrap();
        events.extend(page);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_created_on_a_reaches_two_sockets_on_b_once_each() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "ONE");
    let b = instance(&nats.url(), "ONE");
    let mut first = b.socket().await;
    let mut second = b.socket().await;
    let (status, created) = a
        .post(
            "/api/sessions",
            json!({"id": "s1", "cwd": "/work/app", "user": "ada"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    for socket in [&mut first, &mut second] {
        let event = socket.event_of("session:started", "s1").await;
        assert_eq!(event["cwd"], "/work/app");
        socket.expect_no_event(Duration::from_millis(300)).await;
    }
    // B's REST reads see it too, with the same seq A gave it.
    let (status, on_b) = b.get("/api/sessions/s1").await;
    assert_eq!(status, 200, "{on_b}");
    assert_eq!(on_b["lastSeq"], created["lastSeq"]);
    // Writes on B reach sockets on A just the same.
    let mut on_a = a.socket().await;
    let (status, _) = b
        .put("/api/sessions/s1", json!({"summary": "from B"}))
        .await;
    assert_eq!(status, 200);
    let event = on_a.event_of("session:updated", "s1").await;
    assert_eq!(event["summary"], "from B");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_and_subscribe_on_b_after_writes_on_a_are_gap_free() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "RESUME");
    let b = instance(&nats.url(), "RESUME");
    a.create_session("r1").await;
    let socket = b.socket().await;
    let hello = socket.hello_seq;
    drop(socket);
    // Writes on A while the browser is away: batches, single events, lifecycle.
    for round in 0..20 {
        let batch: Vec<Value> = (0..10)
            .map(|i| {
                json!({"sessionId": "r1", "type": "terminal:output",
                       "text": format!("line {round}.{i}"), "eventId": format!("t-{round}-{i}")})
            })
            .collect();
        let (status, body) = a.post("/api/events", json!(batch)).await;
        assert_eq!(status, 201, "{body}");
        let (status, _) = a
            .put(
                "/api/sessions/r1",
                json!({"summary": format!("round {round}")}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let head = a.latest_seq().await;
    wait_seq(&b, head).await;
    // The same log on both instances, seq for seq.
    let on_a = all_events(&a).await;
    let on_b = all_events(&b).await;
    assert_eq!(on_a, on_b);
    let seqs: Vec<u64> = on_b.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "gap-free");
    // A browser that reconnects to B: resume (global) and subscribe (session) from
    // where it was, every event once, in order.
    let mut socket = b.socket().await;
    socket.send(json!({"type": "resume", "since": hello})).await;
    let (replayed, seam) = socket.subscribe("r1", Some(hello)).await;
    assert_eq!(seam, head);
    let mut got: Vec<u64> = replayed
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, ((hello + 1)..=head).collect::<Vec<_>>());
    // And it keeps receiving live writes made on A.
    let (status, _) = a.put("/api/sessions/r1", json!({"summary": "live"})).await;
    assert_eq!(status, 200);
    let live = socket.event_of("session:updated", "r1").await;
    assert_eq!(live["seq"].as_u64().unwrap(), head + 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ending_one_session_on_a_and_b_at_once_gives_one_end_and_one_409() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "END");
    let b = instance(&nats.url(), "END");
    let mut watch_a = a.socket().await;
    let mut watch_b = b.socket().await;
    for round in 0..10 {
        let id = format!("e{round}");
        a.create_session(&id).await;
        wait_seq(&b, a.latest_seq().await).await;
        let end = json!({"status": "completed"});
        let path = format!("/api/sessions/{id}/end");
        let (on_a, on_b) = tokio::join!(a.post(&path, end.clone()), b.post(&path, end));
        let mut statuses = [on_a.0, on_b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "a: {} b: {}", on_a.1, on_b.1);
        let refused = if on_a.0 == 409 { &on_a.1 } else { &on_b.1 };
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("already ended"),
            "{refused}"
        );
    }
    // Each socket saw exactly one end per session.
    for socket in [&mut watch_a, &mut watch_b] {
        let mut ended = Vec::new();
        while ended.len() < 10 {
            let event = socket.event().await;
            if event["type"] == "session:ended" {
                ended.push(event["sessionId"].as_str().unwrap().to_owned());
            }
        }
        socket.expect_no_event(Duration::from_millis(300)).await;
        let unique: HashSet<_> = ended.iter().collect();
        assert_eq!(unique.len(), 10, "{ended:?}");
    }
    let ends = all_events(&a)
        .await
        .into_iter()
        .filter(|e| e["type"] == "session:ended")
        .count();
    assert_eq!(ends, 10);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answering_one_permission_on_a_and_b_at_once_gives_one_decision() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "PERM");
    let b = instance(&nats.url(), "PERM");
    a.create_session("p").await;
    for round in 0..10 {
        let request = format!("req{round}");
        let (status, body) = a
            .post(
                "/api/sessions/p/permissions",
                json!({"requestId": request, "toolName": "Bash", "toolInput": {"command": "ls"}}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // No waiting for B to catch up: a decision on B about a request B has not
        // applied yet is checked against the stream's head, not refused as unknown.
        let path = format!("/api/sessions/p/permissions/{request}");
        let (on_a, on_b) = tokio::join!(
            a.post(&path, json!({"behavior": "allow"})),
            b.post(&path, json!({"behavior": "deny", "message": "no"}))
        );
        let mut statuses = [on_a.0, on_b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "a: {} b: {}", on_a.1, on_b.1);
        let winner = if on_a.0 == 200 { "allow" } else { "deny" };
        let (_, stored) = b.get(&format!("{path}?waitMs=5000")).await;
        assert_eq!(
            stored["request"]["decision"]["behavior"], winner,
            "{stored}"
        );
    }
    let decisions = all_events(&b)
        .await
        .into_iter()
        .filter(|e| e["type"] == "permission:decided")
        .count();
    assert_eq!(decisions, 10);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_id_posted_to_a_and_then_to_b_is_stored_once() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "IDEM");
    let b = instance(&nats.url(), "IDEM");
    a.create_session("i").await;
    let event =
        json!({"sessionId": "i", "type": "prompt:submitted", "prompt": "hi", "eventId": "hook-1"});
    let (status, first) = a.post("/api/events", event.clone()).await;
    assert_eq!(status, 201, "{first}");
    // A spooled hook retrying against the other instance, at once and later.
    let (status, again) = b.post("/api/events", event.clone()).await;
    assert!(status == 200 || status == 201, "{again}");
    assert_eq!(again["events"][0]["duplicate"], true, "{again}");
    assert_eq!(again["events"][0]["seq"], first["events"][0]["seq"]);
    let prompts = all_events(&b)
        .await
        .into_iter()
        .filter(|e| e["eventId"] == "hook-1")
        .count();
    assert_eq!(prompts, 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_posted_to_a_and_b_at_once_are_each_stored_whole_once_in_a_gap_free_log() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "BATCHES");
    let b = instance(&nats.url(), "BATCHES");
    for id in ["shared", "own-a", "own-b"] {
        a.create_session(id).await;
    }
    wait_seq(&b, a.latest_seq().await).await;
    // Writers on both instances race batches into a shared session and their own; each
    // batch is also re-posted to the other instance (a retry landing elsewhere).
    const SIZE: usize = 20;
    let mut tasks = Vec::new();
    for (on, other, name) in [(&a, &b, "a"), (&b, &a, "b")] {
        for writer in 0..3 {
            let http = on.http.clone();
            let (url, retry_url) = (on.url("/api/events"), other.url("/api/events"));
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for n in 0..12 {
                    let session = if n % 2 == 0 {
                        "shared".to_owned()
                    } else {
                        format!("own-{name}")
                    };
                    let batch: Vec<Value> = (0..SIZE)
                        .map(|k| {
                            json!({"sessionId": session, "type": "terminal:output",
                                        "text": format!("{name}{writer} {n}.{k}"),
                                        "eventId": format!("batch-{name}{writer}-{n}-{k}")})
                        })
                        .collect();
                    let first = http.post(&url).json(&batch).send().await.unwrap();
                    let status = first.status().as_u16();
                    let body: Value = first.json().await.unwrap();
                    let retry = http.post(&retry_url).json(&batch).send().await.unwrap();
                    let retry_status = retry.status().as_u16();
                    let retry_body: Value = retry.json().await.unwrap();
                    outcomes.push((status, body, retry_status, retry_body));
                }
                outcomes
            }));
        }
    }
    let mut acked: Vec<Vec<(String, u64)>> = Vec::new();
    for task in tasks {
        for (status, body, retry_status, retry_body) in task.await.unwrap() {
            // 503 (the race lost past the retry bound) is an answer, not an
            // acknowledgement; nothing else is.
            assert!(status == 201 || status == 503, "{status}: {body}");
            assert!(
                [200, 201, 503].contains(&retry_status),
                "{retry_status}: {retry_body}"
            );
            for (status, body) in [(status, &body), (retry_status, &retry_body)] {
                if status == 503 {
                    continue;
                }
                let events = body["events"].as_array().unwrap();
                assert_eq!(events.len(), SIZE, "{body}");
                acked.push(
                    events
                        .iter()
                        .map(|e| {
                            (
                                e["eventId"].as_str().unwrap().to_owned(),
                                e["seq"].as_u64().unwrap(),
                            )
                        })
                        .collect(),
                );
            }
        }
    }
    assert!(!acked.is_empty(), "some batches were acknowledged");
    let head = a.latest_seq().await.max(b.latest_seq().await);
    wait_seq(&a, head).await;
    wait_seq(&b, head).await;
    let on_a = all_events(&a).await;
    let on_b = all_events(&b).await;
    assert_eq!(on_a, on_b, "both instances serve the same log");
    let seqs: Vec<u64> = on_a.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "gap-free");
    let mut stored: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for event in &on_a {
        let id = event["eventId"].as_str().unwrap().to_owned();
        assert!(
            stored
                .insert(id.clone(), event["seq"].as_u64().unwrap())
                .is_none(),
            "{id} stored twice"
        );
    }
    // Every acknowledgement (first post or retry) names the seq the event has, and a
    // batch's events sit next to each other: it was stored whole, in one piece.
    for batch in &acked {
        for (id, seq) in batch {
            assert_eq!(stored.get(id), Some(seq), "{id}");
        }
        let first = batch[0].1;
        let seqs: Vec<u64> = batch.iter().map(|(_, s)| *s).collect();
        assert_eq!(seqs, (first..first + SIZE as u64).collect::<Vec<_>>());
    }
    // Whatever was stored, acknowledged or not, is whole batches only.
    let mut per_batch: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for id in stored.keys().filter(|id| id.starts_with("batch-")) {
        let batch = id.rsplit_once('-').unwrap().0.to_owned();
        *per_batch.entry(batch).or_default() += 1;
    }
    assert!(per_batch.values().all(|&n| n == SIZE), "{per_batch:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_answer_503_while_nats_is_down_and_resume_when_it_is_back() {
    let mut nats = NatsServer::start();
    let a = TestServer::spawn_with({
        let store = store(&nats.url(), "OUTAGE");
        move |config| {
            config.store = store;
            if let chainwatch::store::StoreConfig::Nats(nats) = &mut config.store {
                nats.ack_timeout = Duration::from_secs(2);
            }
        }
    });
    a.create_session("o").await;
    let mut socket = a.socket().await;
    nats.kill();
    // Writes: a clear 503, not a hang and not a 500.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let (status, body) = a
            .put("/api/sessions/o", json!({"summary": "while down"}))
            .await;
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "writes never noticed the outage");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused["error"], "log_unavailable", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("NATS"),
        "{refused}"
    );
    // Reads keep serving what the instance has.
    let (status, session) = a.get("/api/sessions/o").await;
    assert_eq!(status, 200);
    assert_eq!(session["id"], "o");
    let (status, _) = a.get("/api/events?since=0").await;
    assert_eq!(status, 200);
    // NATS back: writes resume without a restart and reach the socket.
    nats.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = a.put("/api/sessions/o", json!({"summary": "back"})).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "writes did not resume: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = loop {
        let event = socket.event_of("session:updated", "o").await;
        if event["summary"] == "back" {
            break event;
        }
    };
    assert!(event["seq"].as_u64().unwrap() > 1);
    // A second instance started now sees everything, seq for seq.
    let b = instance(&nats.url(), "OUTAGE");
    assert_eq!(all_events(&a).await, all_events(&b).await);
    a.stop().await;
    b.stop().await;
}

/// Figures of the NATS store on this machine, printed, asserting nothing (a debug build
/// unless run with --release): `cargo test -p chainwatch --test nats figures -- --ignored
/// --nocapture`. The release figures come from `cargo xtask bench --only nats`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement, run by hand"]
async fn figures() {
    let nats = NatsServer::start();
    let a = instance(&nats.url(), "FIG");
    let b = instance(&nats.url(), "FIG");
    a.create_session("f").await;
    // POST on A acknowledged -> the event on a socket on B.
    let mut on_b = b.socket().await;
    let mut gaps = Vec::new();
    for n in 0..300 {
        let (status, _) = a
            .put("/api/sessions/f", json!({"summary": format!("n{n}")}))
            .await;
        assert_eq!(status, 200);
        let acked = Instant::now();
        on_b.event_of("session:updated", "f").await;
        gaps.push(acked.elapsed());
    }
    gaps.sort_unstable();
    let pct = |p: f64| gaps[((gaps.len() as f64 * p) as usize).min(gaps.len() - 1)];
    println!(
        "POST acknowledged on A -> socket on B: p50 {:?} p99 {:?} (300 sequential)",
        pct(0.5),
        pct(0.99)
    );
    // Ingest, batches of 100, 4 clients: all on A, then 2 on A and 2 on B.
    for (label, targets) in [
        ("one instance", [&a, &a, &a, &a]),
        ("two instances", [&a, &a, &b, &b]),
    ] {
        let started = Instant::now();
        let until = started + Duration::from_secs(3);
        let mut tasks = Vec::new();
        for (client, server) in targets.into_iter().enumerate() {
            let (http, url) = (server.http.clone(), server.url("/api/events"));
            let label = label.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut stored = 0u64;
                let mut n = 0;
                while Instant::now() < until {
                    let batch: Vec<Value> = (0..100)
                        .map(|k| json!({"sessionId": "f", "type": "terminal:output", "text": "x", "eventId": format!("{}-{client}-{n}-{k}", label.replace(' ', "_"))}))
                        .collect();
                    n += 1;
                    let response = http.post(&url).json(&batch).send().await.unwrap();
                    if response.status().as_u16() == 201 {
                        stored += 100;
                    }
                }
                stored
            }));
        }
        let mut stored = 0;
        for task in tasks {
            stored += task.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "ingest, {label}, batches of 100, 4 clients: {:.0} events/s",
            stored as f64 / secs
        );
    }
    // Start-up of a third instance joining the stream with an empty data dir.
    let head = a.latest_seq().await;
    let started = Instant::now();
    let c = instance(&nats.url(), "FIG");
    let joined = started.elapsed();
    assert!(c.latest_seq().await >= head);
    println!("a new instance joins a stream of {head} events and serves in {joined:?}");
    a.stop().await;
    b.stop().await;
    c.stop().await;
}
