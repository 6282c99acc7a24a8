//! One notification per item across instances on one NATS stream: a real nats-server,
//! two real Chainwatch instances (each posting its webhooks to its own path of one local
//! receiver, so the receiver sees which instance sent what), one waiting item → one
//! "waiting" post and one "settled" post in all; and when the instance that announced
//! is killed with -9, a survivor sends the settled post, once.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

mod common;
mod nats_support;
mod receiver;

use std::time::{Duration, Instant};

use common::TestServer;
use nats_support::{Instance, NatsServer, store, wait_seq};
use receiver::{Received, Receiver};
use serde_json::{Value, json};

fn instance(nats: &str, stream: &str, hook: String) -> TestServer {
    instance_quiet(nats, stream, hook, Duration::from_millis(300))
}

fn instance_quiet(nats: &str, stream: &str, hook: String, quiet: Duration) -> TestServer {
    let store = store(nats, stream);
    TestServer::spawn_with(move |c| {
        c.store = store;
        c.notify.webhooks = vec![hook.parse().unwrap()];
        c.notify.quiet = quiet;
        c.notify.backoff = Duration::from_millis(40);
        // Short, so a stand-by instance really does try to settle, and must lose.
        c.notify.takeover = Duration::from_millis(400);
    })
}

/// The notices delivered to any of `paths`, in arrival order.
fn notices(receiver: &Receiver, paths: &[&str], state: &str, item: &str) -> Vec<Received> {
    receiver
        .received()
        .into_iter()
        .filter(|r| paths.contains(&r.path.as_str()) && r.status < 300)
        .filter(|r| r.body["state"] == state && r.body["itemId"] == item)
        .collect()
}

async fn wait_notices(
    receiver: &Receiver,
    paths: &[&str],
    state: &str,
    item: &str,
) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = notices(receiver, paths, state, item);
        if !got.is_empty() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "no {state} notice for {item}: {:#?}",
            receiver.received()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_item_is_announced_and_settled_once_across_two_instances() {
    let nats = NatsServer::start();
    let receiver = Receiver::start(&[]).await;
    let a = instance(&nats.url(), "NOTE", receiver.url("/a"));
    let b = instance(&nats.url(), "NOTE", receiver.url("/b"));
    let both = ["/a", "/b"];

    a.create_session("s1").await;
    let (status, body) = a
        .post(
            "/api/sessions/s1/permissions",
            json!({"requestId": "p1", "toolName": "Bash", "toolInput": {"command": "cargo publish"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let waiting = wait_notices(&receiver, &both, "waiting", "p1").await;
    let owner = waiting[0].path.clone();
    // Both instances were due (each heard the request); let the slower one try too.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let waiting = notices(&receiver, &both, "waiting", "p1");
    assert_eq!(waiting.len(), 1, "one waiting notice in all: {waiting:#?}");

    // Answered on B, whichever instance announced it.
    wait_seq(&reqwest::Client::new(), &b.url(""), a.latest_seq().await).await;
    let (status, body) = b
        .post(
            "/api/sessions/s1/permissions/p1",
            json!({"behavior": "allow"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let settled = wait_notices(&receiver, &both, "settled", "p1").await;
    // Past the stand-by instance's takeover delay: it tried, and found it settled.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let settled_all = notices(&receiver, &both, "settled", "p1");
    assert_eq!(settled_all.len(), 1, "one settled notice: {settled_all:#?}");
    assert_eq!(settled[0].path, owner, "the announcing instance settles it");
    assert_eq!(settled[0].body["outcome"], "allow");
    assert_eq!(settled[0].body["by"], "local");

    // Answered within the quiet delay: no instance says anything, not even after the
    // stand-by instances' takeover delay.
    let (status, body) = a
        .post(
            "/api/sessions/s1/permissions",
            json!({"requestId": "p2", "toolName": "Bash", "toolInput": {"command": "ls"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = a
        .post(
            "/api/sessions/s1/permissions/p2",
            json!({"behavior": "allow"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let noise: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.body["itemId"] == "p2")
        .collect();
    assert!(noise.is_empty(), "{noise:#?}");

    // A question asked through B: once as well.
    let (status, body) = b
        .post(
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "q1", "prompt": "Which branch?"}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    wait_notices(&receiver, &both, "waiting", "q1").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(notices(&receiver, &both, "waiting", "q1").len(), 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_survivor_settles_what_a_killed_instance_announced_once() {
    let nats = NatsServer::start();
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let data = dir.path().join(name);
        let hook = receiver.url(&format!("/{name}"));
        Instance::start(
            &data,
            &nats.url(),
            "KILL",
            &[
                "--notify-webhook",
                &hook,
                "--notify-quiet-secs",
                "1",
                "--notify-takeover-secs",
                "1",
            ],
        )
    };
    let mut instances = vec![start("a"), start("b")];
    let http = reqwest::Client::new();
    for instance in &instances {
        instance.wait_healthy(&http).await;
    }
    let base = instances[0].base();
    let created = http
        .post(format!("{base}/api/sessions"))
        .json(&json!({"id": "s1", "cwd": "/work/project"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let asked = http
        .post(format!("{base}/api/sessions/s1/permissions"))
        .json(&json!({"requestId": "p1", "toolName": "Bash", "toolInput": {"command": "rm -rf target"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 201);
    let both = ["/a", "/b"];
    let waiting = wait_notices(&receiver, &both, "waiting", "p1").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(notices(&receiver, &both, "waiting", "p1").len(), 1);

    // The instance that announced it dies; the other one answers and settles it.
    let owner = usize::from(waiting[0].path == "/b");
    let survivor = 1 - owner;
    instances[owner].kill();
    let base = instances[survivor].base();
    let seq: Value = http
        .get(format!("{base}/api/sessions/s1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seq["id"], "s1");
    let decided = http
        .post(format!("{base}/api/sessions/s1/permissions/p1"))
        .json(&json!({"behavior": "deny"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200);
    let settled = wait_notices(&receiver, &both, "settled", "p1").await;
    assert_eq!(settled[0].path, both[survivor]);
    assert_eq!(settled[0].body["outcome"], "deny");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notices(&receiver, &both, "settled", "p1").len(), 1);
}

/// Figures, printed, asserting nothing (a debug build unless run with --release):
/// `cargo test -p chainwatch --test notify_nats figures -- --ignored --nocapture`.
/// A permission request acknowledged → its waiting webhook at the receiver, quiet delay
/// 0, sequentially: one instance on the embedded store, then two instances on one NATS
/// stream (the claim in JetStream KV on the way).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement, run by hand"]
async fn figures() {
    const ITEMS: usize = 100;
    async fn measure(label: &str, asker: &TestServer, receiver: &Receiver, paths: &[&str]) {
        asker.create_session("f").await;
        let mut gaps = Vec::new();
        for n in 0..ITEMS {
            let item = format!("f{n}");
            let (status, _) = asker
                .post(
                    "/api/sessions/f/permissions",
                    json!({"requestId": item, "toolName": "Bash", "toolInput": {"command": "ls"}}),
                )
                .await;
            assert_eq!(status, 201);
            let acked = Instant::now();
            wait_notices(receiver, paths, "waiting", &item).await;
            gaps.push(acked.elapsed());
        }
        gaps.sort_unstable();
        let pct = |p: f64| gaps[((gaps.len() as f64 * p) as usize).min(gaps.len() - 1)];
        println!(
            "{label}: request acknowledged -> waiting webhook: p50 {:?} p99 {:?} ({ITEMS} sequential)",
            pct(0.5),
            pct(0.99)
        );
    }
    let quiet = |c: &mut chainwatch::config::Config| c.notify.quiet = Duration::ZERO;
    let receiver = Receiver::start(&[]).await;
    let hook = receiver.url("/one");
    let one = TestServer::spawn_with(|c| {
        c.notify.webhooks = vec![hook.parse().unwrap()];
        quiet(c);
    });
    measure("embedded store, one instance", &one, &receiver, &["/one"]).await;
    one.stop().await;

    let nats = NatsServer::start();
    let receiver = Receiver::start(&[]).await;
    let mk = |hook: String| {
        let store = store(&nats.url(), "FIG2");
        TestServer::spawn_with(move |c| {
            c.store = store;
            c.notify.webhooks = vec![hook.parse().unwrap()];
            quiet(c);
        })
    };
    let a = mk(receiver.url("/a"));
    let b = mk(receiver.url("/b"));
    measure("NATS, two instances", &a, &receiver, &["/a", "/b"]).await;
    let doubled = receiver
        .received()
        .iter()
        .filter(|r| r.body["state"] == "waiting")
        .count();
    println!("waiting notices sent for {ITEMS} items: {doubled}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_instance_does_not_announce_again_what_was_announced() {
    let nats = NatsServer::start();
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let hook = receiver.url(&format!("/{name}"));
        Instance::start(
            &dir.path().join(name),
            &nats.url(),
            "AGAIN",
            &[
                "--notify-webhook",
                &hook,
                "--notify-quiet-secs",
                "1",
                "--notify-takeover-secs",
                "1",
            ],
        )
    };
    let mut instances = vec![start("a"), start("b")];
    let http = reqwest::Client::new();
    for instance in &instances {
        instance.wait_healthy(&http).await;
    }
    let base = instances[0].base();
    for (path, body) in [
        ("/api/sessions", json!({"id": "s1", "cwd": "/work/project"})),
        (
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "q1", "prompt": "Which branch?"}),
        ),
    ] {
        let response = http
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }
    let both = ["/a", "/b"];
    wait_notices(&receiver, &both, "waiting", "q1").await;
    // Both restart (a deploy): each picks the open question up again from the stream,
    // waits out the quiet delay, and finds it claimed.
    for instance in &mut instances {
        instance.kill();
        instance.restart();
    }
    for instance in &instances {
        instance.wait_healthy(&http).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notices(&receiver, &both, "waiting", "q1").len(), 1);
    // Answered: settled once, by one of them (neither announced it in this life).
    let answered = http
        .post(format!("{}/api/sessions/s1/input", instances[1].base()))
        .json(&json!({"text": "main"}))
        .send()
        .await
        .unwrap();
    assert!(answered.status().is_success(), "{}", answered.status());
    let settled = wait_notices(&receiver, &both, "settled", "q1").await;
    assert_eq!(settled[0].body["outcome"], "answered");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notices(&receiver, &both, "settled", "q1").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_nats_is_down_nothing_is_sent_twice_and_the_notice_follows_when_it_is_back() {
    let mut nats = NatsServer::start();
    let receiver = Receiver::start(&[]).await;
    let quiet = Duration::from_millis(1500);
    let a = instance_quiet(&nats.url(), "DOWN", receiver.url("/a"), quiet);
    let b = instance_quiet(&nats.url(), "DOWN", receiver.url("/b"), quiet);
    let both = ["/a", "/b"];
    a.create_session("s1").await;
    let (status, body) = a
        .post(
            "/api/sessions/s1/permissions",
            json!({"requestId": "p1", "toolName": "Bash", "toolInput": {"command": "make deploy"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_seq(&reqwest::Client::new(), &b.url(""), a.latest_seq().await).await;
    // Down before the quiet delay ran out: no instance can claim it.
    nats.kill();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        notices(&receiver, &both, "waiting", "p1").is_empty(),
        "{:#?}",
        receiver.received()
    );
    // Back: claimed by one instance, announced once.
    nats.resume();
    wait_notices(&receiver, &both, "waiting", "p1").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notices(&receiver, &both, "waiting", "p1").len(), 1);
    a.stop().await;
    b.stop().await;
}
