//! Webhooks end to end: the real server posts to a local receiver that fails now and
//! then. Bodies (the chainwatch, ntfy and Slack shapes), HMAC signatures, retries with
//! backoff, ordering per item, the quiet delay and one notification per item.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;
mod receiver;

use std::time::Duration;

use common::TestServer;
use hmac::{Hmac, KeyInit, Mac};
use receiver::{Received, Receiver};
use serde_json::json;
use sha2::Sha256;

const SECRET: &str = "webhook-test-secret";

fn server(receiver: &Receiver, quiet: Duration) -> TestServer {
    let targets = [
        receiver.url("/hook"),
        format!("ntfy:{}", receiver.url("/chainwatch-alerts")),
        format!("slack:{}", receiver.url("/slack")),
    ];
    TestServer::spawn_with(|c| {
        c.notify.webhooks = targets.iter().map(|t| t.parse().unwrap()).collect();
        c.notify.secret = Some(SECRET.into());
        c.notify.quiet = quiet;
        c.notify.backoff = Duration::from_millis(40);
        c.notify.attempts = 4;
        c.notify.public_url = Some("https://cw.example".into());
    })
}

fn verify(received: &Received) {
    let timestamp = &received.headers["x-chainwatch-timestamp"];
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&received.raw);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        received.headers["x-chainwatch-signature"],
        format!("sha256={expected}"),
        "signature of {:?}",
        received.body
    );
}

async fn ask_permission(server: &TestServer, session: &str, request: &str) {
    let (status, body) = server
        .post(
            &format!("/api/sessions/{session}/permissions"),
            json!({"requestId": request, "toolName": "Bash", "toolInput": {"command": "cargo publish"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_waiting_permission_is_posted_signed_retried_and_settled_in_order() {
    // The first post fails (500), then a 503: the waiting notice needs three attempts.
    let receiver = Receiver::start(&[500, 503]).await;
    let server = server(&receiver, Duration::from_millis(200));
    server.create_session("s1").await;
    ask_permission(&server, "s1", "p1").await;

    let waiting = receiver.wait_for("/hook", 1).await;
    let first = &waiting[0];
    verify(first);
    let notice = &first.body;
    assert_eq!(notice["state"], "waiting");
    assert_eq!(notice["moment"], "permission");
    assert_eq!(notice["sessionId"], "s1");
    assert_eq!(notice["itemId"], "p1");
    assert_eq!(notice["sessionLabel"], "project");
    assert_eq!(notice["message"], "Bash: cargo publish");
    assert_eq!(notice["url"], "https://cw.example/#/sessions/s1");
    assert!(notice.get("by").is_none());
    // The retried attempts carried the same delivery id.
    let attempts: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.headers["x-chainwatch-delivery"] == notice["id"].as_str().unwrap())
        .collect();
    assert!(attempts.len() >= 2, "{attempts:#?}");

    let (status, body) = server
        .post(
            "/api/sessions/s1/permissions/p1",
            json!({"behavior": "deny"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let both = receiver.wait_for("/hook", 2).await;
    verify(&both[1]);
    let settled = &both[1].body;
    assert_eq!(settled["state"], "settled");
    assert_eq!(settled["itemId"], "p1");
    assert_eq!(settled["outcome"], "deny");
    assert_eq!(settled["by"], "local");
    assert_ne!(settled["id"], notice["id"]);

    // The ntfy and Slack shapes got the same two moments, signed too.
    let ntfy = receiver.wait_for("/", 2).await;
    verify(&ntfy[0]);
    assert_eq!(ntfy[0].body["topic"], "chainwatch-alerts");
    assert_eq!(ntfy[0].body["click"], "https://cw.example/#/sessions/s1");
    assert_eq!(
        ntfy[0].body["actions"][0]["url"],
        "https://cw.example/#/sessions/s1"
    );
    assert!(
        ntfy[0].body["title"]
            .as_str()
            .unwrap()
            .contains("Permission needed")
    );
    assert!(
        ntfy[1].body["message"]
            .as_str()
            .unwrap()
            .contains("by local")
    );
    let slack = receiver.wait_for("/slack", 2).await;
    let text = slack[0].body["text"].as_str().unwrap();
    assert!(
        text.contains("<https://cw.example/#/sessions/s1|Open in Chainwatch>"),
        "{text}"
    );
    assert!(slack[1].body["text"].as_str().unwrap().contains("by local"));
    // One notification per item: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.delivered("/hook").len(), 2);
}

#[tokio::test]
async fn settled_never_overtakes_waiting_even_when_waiting_is_being_retried() {
    // Each waiting notice fails twice; the decisions come while they are retried.
    let receiver = Receiver::start(&[500, 500, 500, 500, 500, 500]).await;
    let server = TestServer::spawn_with(|c| {
        c.notify.webhooks = vec![receiver.url("/hook").parse().unwrap()];
        c.notify.secret = Some(SECRET.into());
        c.notify.quiet = Duration::from_millis(100);
        c.notify.backoff = Duration::from_millis(150);
        c.notify.attempts = 5;
    });
    server.create_session("s1").await;
    for p in ["p1", "p2", "p3"] {
        ask_permission(&server, "s1", p).await;
    }
    // Wait until the first attempts went out (and failed), then decide all three.
    for _ in 0..100 {
        if receiver.received().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for p in ["p1", "p2", "p3"] {
        let (status, body) = server
            .post(
                &format!("/api/sessions/s1/permissions/{p}"),
                json!({"behavior": "allow"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let delivered = receiver.wait_for("/hook", 6).await;
    for p in ["p1", "p2", "p3"] {
        let states: Vec<&str> = delivered
            .iter()
            .filter(|r| r.body["itemId"] == p)
            .map(|r| r.body["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["waiting", "settled"], "{p}: {delivered:#?}");
    }
    for r in &delivered {
        verify(r);
    }
}

#[tokio::test]
async fn answered_within_the_quiet_delay_makes_no_noise_and_questions_and_stops_notify() {
    let receiver = Receiver::start(&[]).await;
    let server = TestServer::spawn_with(|c| {
        c.notify.webhooks = vec![receiver.url("/hook").parse().unwrap()];
        c.notify.secret = Some(SECRET.into());
        c.notify.quiet = Duration::from_millis(600);
        c.notify.backoff = Duration::from_millis(20);
    });
    server.create_session("s1").await;
    // Decided at once: nothing is posted, ever.
    ask_permission(&server, "s1", "fast").await;
    let (status, _) = server
        .post(
            "/api/sessions/s1/permissions/fast",
            json!({"behavior": "allow"}),
        )
        .await;
    assert_eq!(status, 200);
    // A permission asked twice (the hook re-attaching) is one item.
    ask_permission(&server, "s1", "slow").await;
    ask_permission(&server, "s1", "slow").await;
    let got = receiver.wait_for("/hook", 1).await;
    assert_eq!(got[0].body["itemId"], "slow");
    // A question, answered after it was announced: a settled with who answered. Its
    // opening ends the turn, which settles the pending permission without a decision.
    let (status, body) = server
        .post(
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "ask-1", "prompt": "Which database?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let got = receiver.wait_for("/hook", 3).await;
    let by_item = |item: &str, state: &str| {
        got.iter()
            .find(|r| r.body["itemId"] == item && r.body["state"] == state)
            .map(|r| r.body.clone())
            .unwrap_or_else(|| panic!("no {state} for {item}: {got:#?}"))
    };
    assert_eq!(by_item("slow", "settled")["outcome"], "moved-on");
    let question = by_item("ask-1", "waiting");
    assert_eq!(question["moment"], "question");
    assert_eq!(question["message"], "Which database?");
    let (status, _) = server
        .post("/api/sessions/s1/input", json!({"text": "postgres"}))
        .await;
    assert_eq!(status, 201);
    let got = receiver.wait_for("/hook", 4).await;
    let answered = got
        .iter()
        .find(|r| r.body["itemId"] == "ask-1" && r.body["state"] == "settled")
        .unwrap();
    assert_eq!(answered.body["outcome"], "answered");
    assert_eq!(answered.body["by"], "local");
    // A Stop (the hook's stop- ids) is its own moment.
    let (status, _) = server
        .post(
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "stop-abc", "prompt": "All tests pass."}),
        )
        .await;
    assert_eq!(status, 201);
    let got = receiver.wait_for("/hook", 5).await;
    assert_eq!(got[4].body["moment"], "stop");
    assert!(got.iter().all(|r| r.body["itemId"] != "fast"));
}

#[tokio::test]
async fn a_refusing_webhook_is_not_retried_and_a_failed_stop_notifies() {
    let receiver = Receiver::start(&[400]).await;
    let server = TestServer::spawn_with(|c| {
        c.notify.webhooks = vec![receiver.url("/hook").parse().unwrap()];
        c.notify.secret = Some(SECRET.into());
        c.notify.quiet = Duration::from_millis(100);
        c.notify.backoff = Duration::from_millis(20);
    });
    server.create_session("s1").await;
    ask_permission(&server, "s1", "p1").await;
    // The 400 is final: no second attempt for that notice.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let all = receiver.received();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].status, 400);
    // A failed stop (Claude Code's StopFailure, reported as agent:event).
    let (status, body) = server
        .post(
            "/api/events",
            json!({"sessionId": "s1", "type": "agent:event", "name": "StopFailure",
                   "payload": {"error": "rate_limit", "last_assistant_message": "Halfway."}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let got = receiver.wait_for("/hook", 1).await;
    assert_eq!(got[0].body["moment"], "stopFailure");
    assert!(
        got[0].body["message"]
            .as_str()
            .unwrap()
            .contains("rate_limit")
    );
    // A new prompt is the person acting: it settles.
    let (status, _) = server
        .post(
            "/api/events",
            json!({"sessionId": "s1", "type": "prompt:submitted", "prompt": "try again"}),
        )
        .await;
    assert_eq!(status, 201);
    let got = receiver.wait_for("/hook", 2).await;
    assert_eq!(got[1].body["state"], "settled");
    assert_eq!(got[1].body["moment"], "stopFailure");
}

#[tokio::test]
async fn what_waited_before_a_restart_is_still_announced_after_it() {
    let receiver = Receiver::start(&[]).await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let config = |quiet: Duration, dir: std::path::PathBuf, url: String| {
        move |c: &mut chainwatch::config::Config| {
            c.data_dir = dir;
            c.notify.webhooks = vec![url.parse().unwrap()];
            c.notify.secret = Some(SECRET.into());
            c.notify.quiet = quiet;
        }
    };
    let first = TestServer::spawn_with(config(
        Duration::from_secs(600),
        data_dir.clone(),
        receiver.url("/hook"),
    ));
    first.create_session("s1").await;
    ask_permission(&first, "s1", "p-before").await;
    first.stop().await;
    assert!(receiver.received().is_empty());
    let second = TestServer::spawn_with(config(
        Duration::from_millis(100),
        data_dir,
        receiver.url("/hook"),
    ));
    let got = receiver.wait_for("/hook", 1).await;
    assert_eq!(got[0].body["itemId"], "p-before");
    assert_eq!(got[0].body["state"], "waiting");
    verify(&got[0]);
    second.stop().await;
}
