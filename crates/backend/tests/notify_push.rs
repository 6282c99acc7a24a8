//! Web Push end to end: a browser's subscription (made here with the test's own keys)
//! is registered over REST; the real server pushes to a local push endpoint, which
//! checks the VAPID header (an ES256 JWT for its origin, signed by the key the server
//! publishes) and decrypts the body with the subscription's private key (RFC 8291).
//! Settings choose moments, a 410 forgets the subscription, bad subscriptions get 422.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;
mod receiver;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestServer;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use receiver::{Received, Receiver};
use serde_json::{Value, json};

/// A browser's side of a subscription.
struct Browser {
    secret: web_push_native::p256::SecretKey,
    auth: [u8; 16],
    endpoint: String,
}

impl Browser {
    fn new(endpoint: String) -> Self {
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(key) = web_push_native::p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Self {
            secret,
            auth,
            endpoint,
        }
    }

    fn subscription(&self) -> Value {
        let public = self.secret.public_key().as_affine().to_encoded_point(false);
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// Checks the VAPID header against the server's public key and decrypts the body.
    fn open(&self, push: &Received, server_key: &str, audience: &str) -> Value {
        assert_eq!(push.headers["content-encoding"], "aes128gcm");
        assert!(push.headers.contains_key("ttl"));
        let authorization = &push.headers["authorization"];
        let (jwt, k) = authorization
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap_or_else(|| panic!("not a VAPID header: {authorization}"));
        assert_eq!(k, server_key);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let exp = claims["exp"].as_i64().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}");
        let key = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the VAPID token is signed by the server's key");
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain = web_push_native::decrypt(push.raw.clone(), &self.secret, &auth)
            .expect("the push decrypts with the subscription's keys");
        serde_json::from_slice(&plain).unwrap()
    }
}

fn push_server(quiet: Duration) -> TestServer {
    TestServer::spawn_with(|c| {
        c.notify.push_allow_http = true;
        c.notify.quiet = quiet;
        c.notify.backoff = Duration::from_millis(30);
        c.notify.vapid_contact = "mailto:ops@example.com".into();
        c.notify.public_url = Some("http://phone.lan:7777".into());
    })
}

async fn ask(server: &TestServer, session: &str, request: &str) {
    let (status, body) = server
        .post(
            &format!("/api/sessions/{session}/permissions"),
            json!({"requestId": request, "toolName": "Bash", "toolInput": {"command": "make deploy"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_subscribed_browser_gets_encrypted_vapid_signed_pushes_for_waiting_and_settled() {
    // The push service is briefly down for the first push: it is retried.
    let endpoint = Receiver::start(&[503]).await;
    let browser = Browser::new(endpoint.url("/push/browser-1"));
    let server = push_server(Duration::from_millis(150));
    let (status, key) = server
        .post("/api/push/subscriptions", browser.subscription())
        .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["subscriptions"], 1);
    let (_, published) = server.get("/api/push/key").await;
    assert_eq!(published["publicKey"], key["publicKey"]);
    let server_key = key["publicKey"].as_str().unwrap();
    // The key survives a restart of the store: it is kept in the data dir.
    assert!(server.dir.path().join("data/vapid-private.key").exists());

    server.create_session("s1").await;
    ask(&server, "s1", "p1").await;
    let pushes = endpoint.wait_for("/push/browser-1", 1).await;
    assert_eq!(pushes[0].headers["urgency"], "high");
    let audience = format!("http://127.0.0.1:{}", endpoint.port);
    let notice = browser.open(&pushes[0], server_key, &audience);
    assert_eq!(notice["state"], "waiting");
    assert_eq!(notice["moment"], "permission");
    assert_eq!(notice["itemId"], "p1");
    assert_eq!(notice["sessionId"], "s1");
    assert_eq!(notice["message"], "Bash: make deploy");
    assert_eq!(notice["url"], "http://phone.lan:7777/#/sessions/s1");

    let (status, _) = server
        .post(
            "/api/sessions/s1/permissions/p1",
            json!({"behavior": "allow"}),
        )
        .await;
    assert_eq!(status, 200);
    let pushes = endpoint.wait_for("/push/browser-1", 2).await;
    let settled = browser.open(&pushes[1], server_key, &audience);
    assert_eq!(settled["state"], "settled");
    assert_eq!(settled["outcome"], "allow");
    assert_eq!(settled["by"], "local");
}

#[tokio::test]
async fn settings_choose_the_moments_and_a_gone_subscription_is_forgotten() {
    let endpoint = Receiver::start(&[]).await;
    let browser = Browser::new(endpoint.url("/push/b"));
    let server = push_server(Duration::from_millis(100));
    let (status, _) = server
        .post("/api/push/subscriptions", browser.subscription())
        .await;
    assert_eq!(status, 201);
    let (_, defaults) = server.get("/api/notify/settings").await;
    assert_eq!(
        defaults,
        json!({"permission": true, "question": true, "stop": true, "stopFailure": true, "settled": true})
    );
    let (status, saved) = server
        .put(
            "/api/notify/settings",
            json!({"permission": false, "settled": false}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["permission"], false);
    assert_eq!(saved["question"], true);
    let (status, body) = server
        .put("/api/notify/settings", json!({"permission": "no"}))
        .await;
    assert_eq!(status, 422, "{body}");

    server.create_session("s1").await;
    ask(&server, "s1", "p1").await;
    let (status, _) = server
        .post(
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "ask-1", "prompt": "Ship it?"}),
        )
        .await;
    assert_eq!(status, 201);
    let pushes = endpoint.wait_for("/push/b", 1).await;
    let (_, key) = server.get("/api/push/key").await;
    let audience = format!("http://127.0.0.1:{}", endpoint.port);
    let notice = browser.open(&pushes[0], key["publicKey"].as_str().unwrap(), &audience);
    assert_eq!(notice["moment"], "question");
    // Answered: settled notices are off, so nothing more comes.
    let (status, _) = server
        .post("/api/sessions/s1/input", json!({"text": "yes"}))
        .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(endpoint.received().len(), 1, "{:#?}", endpoint.received());

    // The push service says the subscription is gone: it is forgotten.
    endpoint.script.lock().unwrap().push_back(410);
    let (status, _) = server
        .post(
            "/api/sessions/s1/awaiting-input",
            json!({"requestId": "ask-2", "prompt": "Again?"}),
        )
        .await;
    assert_eq!(status, 201);
    for _ in 0..100 {
        let (_, key) = server.get("/api/push/key").await;
        if key["subscriptions"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("a 410 should forget the subscription");
}

#[tokio::test]
async fn bad_subscriptions_are_refused_and_unsubscribing_works_once() {
    let server = TestServer::spawn();
    let browser = Browser::new("http://127.0.0.1:9/push/x".into());
    // Plain http is refused unless the server allows it (tests, local push services).
    let (status, body) = server
        .post("/api/push/subscriptions", browser.subscription())
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("https"));
    let mut good = Browser::new("https://push.example/send/1".into()).subscription();
    good["keys"]["auth"] = json!("c2hvcnQ");
    let (status, body) = server.post("/api/push/subscriptions", good).await;
    assert_eq!(status, 422, "{body}");
    let mut bad_key = Browser::new("https://push.example/send/1".into()).subscription();
    bad_key["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    let (status, body) = server.post("/api/push/subscriptions", bad_key).await;
    assert_eq!(status, 422, "{body}");

    let ok = Browser::new("https://push.example/send/2".into());
    let (status, _) = server
        .post("/api/push/subscriptions", ok.subscription())
        .await;
    assert_eq!(status, 201);
    let stored = std::fs::read_to_string(server.dir.path().join("data/push.json")).unwrap();
    assert!(stored.contains("https://push.example/send/2"));
    let remove = json!({"endpoint": "https://push.example/send/2"});
    let (status, _) = server
        .send(
            reqwest::Method::DELETE,
            "/api/push/subscriptions",
            Some(remove.clone()),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .send(
            reqwest::Method::DELETE,
            "/api/push/subscriptions",
            Some(remove),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}
