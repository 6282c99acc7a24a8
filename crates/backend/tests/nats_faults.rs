//! Faults on the NATS store, with real processes: an instance killed with -9 under
//! writes loses no acknowledged event, neither does a 3-node JetStream cluster
//! losing a node under writes, and an instance killed in the middle of a batch's
//! chain leaves a prefix that the other instance appends after and a retry completes. Every acknowledged eventId must be in the log exactly
//! once, at the seq it was acknowledged with, and every instance serves the same log.
#![allow(missing_docs, clippy::unwrap_used)]

mod nats_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nats_support::{Instance, NatsServer, events_of, post_json, wait_seq};
use serde_json::{Value, json};

type Acked = Arc<Mutex<HashMap<String, u64>>>;

/// Writers posting to `base` until it is gone or `stop` is set: singles and batches.
/// 503 (NATS unreachable, or a lost race past the retry bound) is not an
/// acknowledgement and the writer goes on.
fn writers(
    http: &reqwest::Client,
    base: &str,
    tag: &str,
    acked: &Acked,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..3)
        .map(|writer| {
            let (http, base, acked, stop) =
                (http.clone(), base.to_owned(), acked.clone(), stop.clone());
            let tag = format!("{tag}{writer}");
            tokio::spawn(async move {
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let size = if writer % 2 == 0 { 1 } else { 10 };
                    let batch: Vec<Value> = (0..size)
                        .map(|k| json!({"eventId": format!("{tag}-{n}-{k}"), "sessionId": "d", "type": "prompt:submitted", "prompt": "x"}))
                        .collect();
                    let Ok(response) = http
                        .post(format!("{base}/api/events"))
                        .json(&Value::Array(batch))
                        .send()
                        .await
                    else {
                        return; // the instance is gone
                    };
                    let status = response.status().as_u16();
                    let Ok(body) = response.json::<Value>().await else {
                        return;
                    };
                    match status {
                        201 => {
                            let mut acked = acked.lock().unwrap();
                            for event in body["events"].as_array().unwrap() {
                                acked.insert(
                                    event["eventId"].as_str().unwrap().to_owned(),
                                    event["seq"].as_u64().unwrap(),
                                );
                            }
                        }
                        503 => tokio::time::sleep(Duration::from_millis(50)).await,
                        other => panic!("unexpected answer {other}: {body}"),
                    }
                }
            })
        })
        .collect()
}

fn check(stored: &[Value], acked: &HashMap<String, u64>) {
    let mut by_id: HashMap<&str, Vec<u64>> = HashMap::new();
    for event in stored {
        by_id
            .entry(event["eventId"].as_str().unwrap())
            .or_default()
            .push(event["seq"].as_u64().unwrap());
    }
    assert!(
        by_id.values().all(|seqs| seqs.len() == 1),
        "no eventId stored twice"
    );
    for (event_id, seq) in acked {
        assert_eq!(
            by_id.get(event_id.as_str()),
            Some(&vec![*seq]),
            "acknowledged {event_id} stored once at seq {seq}"
        );
    }
    let seqs: Vec<u64> = stored.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_with_9_under_writes_loses_no_acknowledged_event() {
    let nats = NatsServer::start();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let http = reqwest::Client::new();
    let mut a = Instance::start(dirs.0.path(), &nats.url(), "KILL", &[]);
    let b = Instance::start(dirs.1.path(), &nats.url(), "KILL", &[]);
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    let created = http
        .post(format!("{}/api/sessions", a.base()))
        .json(&json!({"id": "d", "cwd": "/srv/app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    wait_seq(&http, &b.base(), 1).await;

    let acked: Acked = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = writers(&http, &a.base(), "a", &acked, &stop);
    tasks.extend(writers(&http, &b.base(), "b", &acked, &stop));
    // Killed mid-stream: once a fair number of writes were acknowledged (the machine
    // may be slow), while the writers keep going.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 150 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "under way when killed ({})",
        acked.len()
    );

    a.restart();
    a.wait_healthy(&http).await;
    let head = *acked.values().max().unwrap();
    wait_seq(&http, &a.base(), head).await;
    wait_seq(&http, &b.base(), head).await;
    let on_a = events_of(&http, &a.base()).await;
    let on_b = events_of(&http, &b.base()).await;
    assert_eq!(on_a, on_b, "both instances serve the same log");
    check(&on_a, &acked);
    let seqs: Vec<u64> = on_a.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    // A retried event is recognised by the restarted instance.
    let (event_id, seq) = acked.iter().next().unwrap();
    let retry = post_json(
        &http,
        &format!("{}/api/events", a.base()),
        &json!({"eventId": event_id, "sessionId": "d", "type": "prompt:submitted", "prompt": "x"}),
    )
    .await;
    assert_eq!(retry["events"][0]["duplicate"], true, "{retry}");
    assert_eq!(retry["events"][0]["seq"].as_u64(), Some(*seq));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_node_cluster_losing_a_node_under_writes_loses_no_acknowledged_event() {
    let (mut nodes, _dir) = NatsServer::cluster(3);
    let urls = nodes
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",");
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let http = reqwest::Client::new();
    let a = Instance::start(dirs.0.path(), &urls, "CLUSTER", &["--nats-replicas", "3"]);
    let b = Instance::start(dirs.1.path(), &urls, "CLUSTER", &["--nats-replicas", "3"]);
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    let created = http
        .post(format!("{}/api/sessions", a.base()))
        .json(&json!({"id": "d", "cwd": "/srv/app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let acked: Acked = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = std::time::Instant::now();
    let mut tasks = writers(&http, &a.base(), "a", &acked, &stop);
    tasks.extend(writers(&http, &b.base(), "b", &acked, &stop));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 100 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = acked.lock().unwrap().len();
    eprintln!(
        "acknowledged before the node died: {before} in {:?}",
        started.elapsed()
    );
    nodes[0].kill();
    // Writes answer 503 while the stream elects a new leader, then go on.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < before + 50 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "acknowledged after: {} in {:?}",
        acked.lock().unwrap().len() - before,
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(before > 50, "under way when the node died ({before})");
    assert!(
        acked.len() > before,
        "writes went on with two of three nodes ({before} -> {})",
        acked.len()
    );
    let head = *acked.values().max().unwrap();
    wait_seq(&http, &a.base(), head).await;
    wait_seq(&http, &b.base(), head).await;
    let on_a = events_of(&http, &a.base()).await;
    let on_b = events_of(&http, &b.base()).await;
    assert_eq!(on_a, on_b, "both instances serve the same log");
    check(&on_a, &acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_in_the_middle_of_a_batch_leaves_a_prefix_a_retry_completes() {
    const BATCH: usize = 10_000;
    let nats = NatsServer::start();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A commit thread stuck on a long chain must fail the test, not hang it.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut a = Instance::start(dirs.0.path(), &nats.url(), "CUT", &[]);
    let b = Instance::start(dirs.1.path(), &nats.url(), "CUT", &[]);
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    for (base, id) in [(a.base(), "m"), (b.base(), "other")] {
        let created = http
            .post(format!("{base}/api/sessions"))
            .json(&json!({"id": id, "cwd": "/srv/app"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
    }
    wait_seq(&http, &b.base(), 2).await;
    let batch: Vec<Value> = (0..BATCH)
        .map(|i| json!({"eventId": format!("cut-{i:05}"), "sessionId": "m", "type": "prompt:submitted", "prompt": format!("p{i}")}))
        .collect();
    let post = {
        let (http, url, batch) = (
            http.clone(),
            format!("{}/api/events", a.base()),
            batch.clone(),
        );
        tokio::spawn(async move { http.post(url).json(&batch).send().await.map(|r| r.status()) })
    };
    // Killed as soon as instance B sees the batch's first events land: its chain is
    // then under way (10,000 publishes take a good part of a second).
    wait_seq(&http, &b.base(), 3).await;
    a.kill();
    let answered = post.await.unwrap();
    assert!(
        answered.is_err(),
        "the batch was acknowledged before the kill: {answered:?}"
    );

    // B appends after the stored part once the operation's writer is presumed gone.
    let started = std::time::Instant::now();
    let after = post_json(
        &http,
        &format!("{}/api/events", b.base()),
        &json!({"eventId": "after-cut", "sessionId": "other", "type": "prompt:submitted", "prompt": "after"}),
    )
    .await;
    let after_seq = after["events"][0]["seq"].as_u64().expect("stored on B");
    let stored = events_of(&http, &b.base()).await;
    let prefix: Vec<&Value> = stored
        .iter()
        .filter(|e| e["sessionId"] == "m" && e["type"] == "prompt:submitted")
        .collect();
    assert!(
        !prefix.is_empty() && prefix.len() < BATCH,
        "cut in the middle: {} of {BATCH} stored",
        prefix.len()
    );
    eprintln!(
        "{} of {BATCH} events stored before the kill; B appended after them in {:?}",
        prefix.len(),
        started.elapsed()
    );
    for (i, event) in prefix.iter().enumerate() {
        assert_eq!(
            event["eventId"],
            format!("cut-{i:05}"),
            "a prefix, in order"
        );
    }
    assert!(
        prefix
            .iter()
            .all(|e| e["seq"].as_u64().unwrap() < after_seq),
        "B's write lands after the stored part (in {:?})",
        started.elapsed()
    );

    // The client retries the whole batch on B: the stored part answers as duplicates,
    // the rest is stored; every event of the batch is in the log once.
    let retry = post_json(&http, &format!("{}/api/events", b.base()), &json!(batch)).await;
    let answers = retry["events"].as_array().expect("stored");
    assert_eq!(answers.len(), BATCH);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["duplicate"], i < prefix.len(), "{i}: {answer}");
    }
    a.restart();
    a.wait_healthy(&http).await;
    let head = answers.last().unwrap()["seq"].as_u64().unwrap();
    wait_seq(&http, &a.base(), head).await;
    let on_a = events_of(&http, &a.base()).await;
    let on_b = events_of(&http, &b.base()).await;
    assert_eq!(on_a, on_b, "both instances serve the same log");
    let ids: Vec<&str> = on_b
        .iter()
        .filter(|e| e["sessionId"] == "m" && e["type"] == "prompt:submitted")
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..BATCH).map(|i| format!("cut-{i:05}")).collect();
    assert_eq!(ids, expected, "each event of the batch once, in order");
    let seqs: Vec<u64> = on_b.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
}
