//! Security end to end: every route of the OpenAPI document and the socket under each
//! role (no token 401, a role the route does not admit 403, an admitted one through),
//! user-scoped tokens, origin and host checks, binding beyond loopback, and hostile
//! input that must leave the server serving and the log unchanged.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::api::routes::access;
use chainwatch::auth::{Access, Role, TokenEntry, Tokens};
use chainwatch::config::Config;
use common::{TestServer, WAIT};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ADMIN: &str = "admin-token-0123456789";
const AGENT: &str = "agent-token-0123456789";
const VIEWER: &str = "viewer-token-012345678";
const OPERATOR: &str = "operator-token-0123456";
const ADA_VIEWER: &str = "ada-viewer-token-01234";

fn tokens() -> Tokens {
    let entry = |name: &str, role, token: &str, user: Option<&str>| TokenEntry {
        name: name.into(),
        role,
        token: token.into(),
        user: user.map(str::to_owned),
    };
    Tokens::from_entries(vec![
        entry("shared", Role::Admin, ADMIN, None),
        entry("agent", Role::Agent, AGENT, None),
        entry("viewer", Role::Viewer, VIEWER, None),
        entry("operator", Role::Operator, OPERATOR, None),
        entry("ada", Role::Viewer, ADA_VIEWER, Some("ada")),
    ])
}

fn secured() -> TestServer {
    TestServer::spawn_with(|c| c.tokens = tokens())
}

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server.http.request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn every_route_answers_401_without_a_token_403_for_a_wrong_role_and_lets_admitted_roles_through()
 {
    let server = secured();
    let (_, doc) = call(&server, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(
        call(&server, "GET", "/api/health", None, None).await.0,
        200,
        "health is public"
    );
    call(
        &server,
        "POST",
        "/api/sessions",
        Some(ADMIN),
        Some(json!({"id": "s", "cwd": "/srv/app"})),
    )
    .await;
    let roles = [
        (Role::Agent, AGENT),
        (Role::Viewer, VIEWER),
        (Role::Operator, OPERATOR),
    ];
    let mut checked = 0;
    for (pattern, item) in doc["paths"].as_object().unwrap() {
        let path = pattern
            .replace("{id}", "s")
            .replace("{commandId}", "k")
            .replace("{requestId}", "r");
        for method in ["get", "post", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            let upper = method.to_uppercase();
            let needed = access(
                &actix_web::http::Method::from_bytes(upper.as_bytes()).unwrap(),
                Some(pattern),
            );
            let body = (method != "get").then(|| json!({}));
            let (anonymous, answer) = call(&server, &upper, &path, None, body.clone()).await;
            if needed == Access::Public {
                assert_ne!(anonymous, 401, "{upper} {pattern} is public");
                continue;
            }
            assert_eq!(
                anonymous, 401,
                "{upper} {pattern} without a token: {answer}"
            );
            assert_eq!(answer["error"], "unauthorized");
            let (wrong, _) = call(
                &server,
                &upper,
                &path,
                Some("not-a-real-token-at-all"),
                body.clone(),
            )
            .await;
            assert_eq!(wrong, 401, "{upper} {pattern} with a bad token");
            for (role, token) in roles {
                let (status, answer) =
                    call(&server, &upper, &path, Some(token), body.clone()).await;
                if needed.admits(role) {
                    assert!(
                        status != 401 && status != 403,
                        "{upper} {pattern} as {role:?}: {status} {answer}"
                    );
                } else {
                    assert_eq!(status, 403, "{upper} {pattern} as {role:?}: {answer}");
                    assert_eq!(answer["error"], "forbidden");
                }
            }
            let (status, _) = call(&server, &upper, &path, Some(ADMIN), body).await;
            assert!(status != 401 && status != 403, "{upper} {pattern} as admin");
            checked += 1;
        }
    }
    assert!(checked >= 15, "checked {checked} routes");
    // The spirit of the roles, spelled out for the routes that matter most (on a fresh
    // session: the walk above ended "s").
    call(
        &server,
        "POST",
        "/api/sessions",
        Some(ADMIN),
        Some(json!({"id": "t", "cwd": "/srv/app"})),
    )
    .await;
    assert_eq!(
        call(
            &server,
            "POST",
            "/api/events",
            Some(VIEWER),
            Some(json!({}))
        )
        .await
        .0,
        403,
        "viewers do not post events"
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/api/sessions/t/commands",
            Some(AGENT),
            Some(json!({"type": "pause"}))
        )
        .await
        .0,
        403,
        "agents do not steer"
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/api/sessions/t/commands",
            Some(VIEWER),
            Some(json!({"type": "pause"}))
        )
        .await
        .0,
        403,
        "viewers do not steer"
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/api/sessions/t/commands",
            Some(OPERATOR),
            Some(json!({"type": "pause"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        call(&server, "GET", "/api/sessions/t/files", Some(VIEWER), None)
            .await
            .0,
        403,
        "files are for operators"
    );
    server.stop().await;
}

async fn ws_status(
    port: u16,
    protocols: Option<&str>,
    origin: Option<&str>,
) -> Result<Option<String>, u16> {
    let mut request = format!("ws://127.0.0.1:{port}/ws")
        .into_client_request()
        .unwrap();
    if let Some(protocols) = protocols {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => Ok(response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap().to_owned())),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("unexpected socket error: {other}"),
    }
}

#[tokio::test]
async fn the_socket_needs_a_token_and_takes_it_as_a_subprotocol() {
    let server = secured();
    assert_eq!(ws_status(server.port, None, None).await, Err(401));
    assert_eq!(
        ws_status(
            server.port,
            Some("chainwatch, bearer.wrong-token-0123456789"),
            None
        )
        .await,
        Err(401)
    );
    assert_eq!(
        ws_status(
            server.port,
            Some(&format!("chainwatch, bearer.{AGENT}")),
            None
        )
        .await,
        Err(403),
        "agents do not read the dashboard stream"
    );
    assert_eq!(
        ws_status(
            server.port,
            Some(&format!("chainwatch, bearer.{VIEWER}")),
            None
        )
        .await,
        Ok(Some("chainwatch".into())),
        "the handshake names chainwatch back, never the token"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_user_scoped_token_sees_only_its_users_sessions_on_rest_and_socket() {
    let server = secured();
    let mut request = format!("ws://127.0.0.1:{}/ws", server.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&format!("chainwatch, bearer.{ADA_VIEWER}")).unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut socket = common::Socket { ws, hello_seq: 0 };
    assert_eq!(socket.frame(WAIT).await.unwrap()["type"], "hello");

    for (id, user) in [("bobs", "bob"), ("adas", "ada")] {
        let (status, _) = call(
            &server,
            "POST",
            "/api/sessions",
            Some(AGENT),
            Some(json!({"id": id, "cwd": "/srv/x", "user": user})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let first = socket.event().await;
    assert_eq!(
        first["sessionId"], "adas",
        "bob's session never reached ada's socket"
    );
    socket
        .send(json!({"type": "subscribe", "sessionId": "bobs"}))
        .await;
    assert_eq!(socket.expect_frame("error").await["code"], "forbidden");

    let (_, list) = call(&server, "GET", "/api/sessions", Some(ADA_VIEWER), None).await;
    let ids: Vec<_> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["adas"]);
    let (_, list) = call(
        &server,
        "GET",
        "/api/sessions?user=bob",
        Some(ADA_VIEWER),
        None,
    )
    .await;
    assert_eq!(
        list["total"], 0,
        "asking for bob's sessions does not widen the scope"
    );
    assert_eq!(
        call(&server, "GET", "/api/sessions/bobs", Some(ADA_VIEWER), None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &server,
            "GET",
            "/api/sessions/bobs/events",
            Some(ADA_VIEWER),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&server, "GET", "/api/sessions/adas", Some(ADA_VIEWER), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&server, "GET", "/api/events", Some(ADA_VIEWER), None)
            .await
            .0,
        403
    );
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_requests_and_foreign_host_names_are_refused() {
    let server =
        TestServer::spawn_with(|c| c.allowed_origins = vec!["https://dash.example".into()]);
    let post = |origin: Option<&'static str>, host: Option<&'static str>| {
        let mut request = server
            .http
            .post(server.url("/api/sessions"))
            .json(&json!({"cwd": "/srv/x"}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(host) = host {
            request = request.header("Host", host);
        }
        request.send()
    };
    let evil = post(Some("https://evil.example"), None).await.unwrap();
    assert_eq!(
        evil.status(),
        403,
        "a page elsewhere cannot steer a loopback server"
    );
    let same = format!("http://127.0.0.1:{}", server.port);
    let same = server
        .http
        .post(server.url("/api/sessions"))
        .header("Origin", same)
        .json(&json!({"cwd": "/srv/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201, "the dashboard's own origin is fine");
    let allowed = post(Some("https://dash.example"), None).await.unwrap();
    assert_eq!(allowed.status(), 201);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let rebinding = post(None, Some("attacker.example:7777")).await.unwrap();
    assert_eq!(
        rebinding.status(),
        403,
        "DNS rebinding: a foreign Host on a tokenless loopback server"
    );
    assert_eq!(
        ws_status(server.port, None, Some("https://evil.example")).await,
        Err(403),
        "cross-site socket hijacking"
    );
    let (_, list) = server.get("/api/sessions").await;
    assert_eq!(
        list["total"], 2,
        "only the two allowed requests created sessions"
    );
    server.stop().await;
}

#[test]
fn binding_beyond_loopback_without_a_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::new("0.0.0.0:0".parse().unwrap(), dir.path().to_path_buf());
    let error = chainwatch::app::Application::build(config)
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(
        message.contains("without a token") && message.contains("--token"),
        "{message}"
    );
}

#[tokio::test]
async fn hostile_input_gets_its_error_and_the_server_keeps_serving() {
    let server = TestServer::spawn_with(|c| c.max_body_bytes = 256 * 1024);
    server.create_session("s").await;
    let before = server.latest_seq().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("huge body", vec![b'['; 1024 * 1024], 413),
        (
            "deep JSON",
            format!(
                "{{\"sessionId\":\"s\",\"type\":\"agent:event\",\"name\":\"x\",\"payload\":{}{}}}",
                "[".repeat(100),
                "]".repeat(100)
            )
            .into_bytes(),
            400,
        ),
        (
            "invalid UTF-8",
            b"{\"sessionId\":\"s\",\"type\":\"prompt:submitted\",\"prompt\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "NUL in a text field",
            br#"{"sessionId":"s","type":"prompt:submitted","prompt":"a\u0000b"}"#.to_vec(),
            422,
        ),
        (
            "control character in an id",
            br#"{"sessionId":"s\u0007","type":"prompt:submitted","prompt":"x"}"#.to_vec(),
            422,
        ),
        (
            "path-like id",
            br#"{"sessionId":"../../etc","type":"prompt:submitted","prompt":"x"}"#.to_vec(),
            422,
        ),
        (
            "number where a string goes",
            br#"{"sessionId":1,"type":"prompt:submitted","prompt":"x"}"#.to_vec(),
            422,
        ),
        (
            "a batch over the limit",
            serde_json::to_vec(&vec![
                json!({"sessionId": "s", "type": "prompt:submitted", "prompt": "x"});
                10_001
            ])
            .unwrap(),
            413,
        ),
    ];
    for (name, body, status) in cases {
        let (got, answer) = server.post_raw("/api/events", body).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {answer}"
        );
    }
    // 10k subscriptions on one socket: the first 256 succeed, the rest are refused.
    let mut socket = server.socket().await;
    let mut refused = 0;
    for i in 0..10_000 {
        socket
            .send(json!({"type": "subscribe", "sessionId": format!("x{i}")}))
            .await;
    }
    let mut subscribed = 0;
    while subscribed + refused < 10_000 {
        let frame = socket.frame(WAIT).await.expect("an answer per subscribe");
        match frame["type"].as_str() {
            Some("subscribed") => subscribed += 1,
            Some("error") => refused += 1,
            _ => {}
        }
    }
    assert_eq!((subscribed, refused), (256, 10_000 - 256));
    // Garbage on a socket: an error frame each, the socket and the server stay up.
    let mut garbage = server.socket().await;
    for junk in [
        "\u{0}\u{1}\u{2}",
        "[1,2,3]",
        "{\"type\":\"resume\",\"since\":-1}",
        "null",
        &"{".repeat(10),
    ] {
        garbage
            .send_raw(tokio_tungstenite::tungstenite::Message::Text(junk.into()))
            .await;
        assert_eq!(
            garbage.expect_frame("error").await["code"],
            "bad_frame",
            "{junk:?}"
        );
    }
    assert_eq!(server.latest_seq().await, before, "nothing was stored");
    let (status, _) = server.get("/api/health").await;
    assert_eq!(status, 200);
    drop(socket.ws.next());
    server.stop().await;
}
