//! The security walk, generated from the one table of routes (`api::routes::ROUTES`):
//! every route × every role (agent, viewer, operator, admin), unscoped and scoped to
//! alice, and without a token × the session it names (alice's own, bob's, a missing
//! one, or none) against the real server, each answer checked against the entry's
//! rule. A route added to the table is walked without anyone writing a case for it.
//! Also: docs/SECURITY.md's "Access by route" table is the table's own rendering.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::api::routes::{ROUTES, Route, Sessions, security_table};
use chainwatch::auth::{Role, TokenEntry, Tokens};
use common::TestServer;
use serde_json::{Value, json};

const ROLES: [(Role, &str); 4] = [
    (Role::Agent, "agent"),
    (Role::Viewer, "viewer"),
    (Role::Operator, "operator"),
    (Role::Admin, "admin"),
];

/// One token per role and scope: `{role}-all-token-0123456789` and
/// `{role}-alice-token-0123456789`.
fn token(role: &str, scoped: bool) -> String {
    format!(
        "{role}-{}-token-0123456789",
        if scoped { "alice" } else { "all" }
    )
}

fn tokens() -> Tokens {
    let mut entries = Vec::new();
    for (role, name) in ROLES {
        for scoped in [false, true] {
            entries.push(TokenEntry {
                name: format!("{name}-{}", if scoped { "alice" } else { "all" }),
                role,
                token: token(name, scoped),
                user: scoped.then(|| "alice".to_owned()),
            });
        }
    }
    Tokens::from_entries(entries)
}

/// Which session a request names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Own,
    Others,
    Missing,
    NoSession,
}

impl Target {
    fn id(self) -> &'static str {
        match self {
            Self::Own => "alices",
            Self::Others => "bobs",
            Self::Missing => "nobodys",
            Self::NoSession => "",
        }
    }
}

/// What the table says the answer must be.
#[derive(Debug, PartialEq)]
enum Expect {
    /// 401: a token is needed.
    Unauthorized,
    /// 403 `forbidden`: the role (or the scope) is not admitted.
    Forbidden,
    /// 404 naming the session: out of reach or missing.
    SessionNotFound,
    /// Past every access check: the handler answers (2xx, or its own 4xx).
    Through,
}

fn expected(route: &Route, caller: Option<(Role, bool)>, target: Target) -> Expect {
    let Some((role, scoped)) = caller else {
        return if route.access == chainwatch::auth::Access::Public {
            Expect::Through
        } else {
            Expect::Unauthorized
        };
    };
    if !route.access.admits(role) {
        return Expect::Forbidden;
    }
    match (route.sessions, target) {
        (Sessions::Everyone, _) if scoped => Expect::Forbidden,
        (Sessions::Path | Sessions::Body, Target::Missing) => Expect::SessionNotFound,
        (Sessions::Path | Sessions::Body, Target::Others) if scoped => Expect::SessionNotFound,
        _ => Expect::Through,
    }
}

fn url(route: &Route, target: Target) -> String {
    let path = route
        .path
        .replace("{id}", target.id())
        .replace("{commandId}", "cmd-1")
        .replace("{requestId}", "req-1");
    match path.as_str() {
        // A question's and a permission's state answer at once instead of long-polling.
        p if p.ends_with("/input") || p.contains("/permissions/") => format!("{p}?waitMs=0"),
        p if p.ends_with("/files/content") => format!("{p}?path=a.txt"),
        p => p.to_owned(),
    }
}

/// The body of a write: for ingest, one event on the target session; otherwise an empty
/// object (the handler may refuse it; that is past the access checks).
fn body(route: &Route, target: Target) -> Option<Value> {
    match (route.verb.name(), route.sessions) {
        ("GET", _) => None,
        (_, Sessions::Body) => Some(json!({
            "sessionId": target.id(),
            "type": "session:updated",
            "title": "walked",
        })),
        _ => Some(json!({})),
    }
}

fn check(status: u16, answer: &Value, expect: &Expect) -> Result<(), String> {
    let message = answer["message"].as_str().unwrap_or("");
    let session_404 = status == 404 && message.starts_with("session '");
    let ok = match expect {
        Expect::Unauthorized => status == 401 && answer["error"] == "unauthorized",
        Expect::Forbidden => status == 403 && answer["error"] == "forbidden",
        Expect::SessionNotFound => session_404,
        Expect::Through => !matches!(status, 401 | 403 | 500..) && !session_404,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got {status} {answer}"))
    }
}

#[tokio::test]
async fn every_route_answers_every_role_scope_and_session_as_the_table_says() {
    let root = tempfile::tempdir().unwrap();
    for user in ["alice", "bob"] {
        let dir = root.path().join(user);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "text").unwrap();
    }
    let files_root = root.path().to_path_buf();
    let server = TestServer::spawn_with(move |c| {
        c.tokens = tokens();
        c.files.roots = vec![files_root];
    });
    let start = |id: &str, user: &str| json!({"id": id, "user": user, "cwd": root.path().join(user).to_str().unwrap()});
    for (id, user) in [("alices", "alice"), ("bobs", "bob")] {
        let (status, body) = send(
            &server,
            "POST",
            "/api/sessions",
            Some(&token("admin", false)),
            Some(start(id, user)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    let mut failures = Vec::new();
    let mut cases = 0;
    for route in ROUTES {
        let targets: &[Target] = match route.sessions {
            Sessions::Path | Sessions::Body => &[Target::Own, Target::Others, Target::Missing],
            _ => &[Target::NoSession],
        };
        let mut callers: Vec<Option<(Role, bool)>> = vec![None];
        for (role, _) in ROLES {
            callers.push(Some((role, false)));
            callers.push(Some((role, true)));
        }
        for &target in targets {
            for &caller in &callers {
                let secret = caller.map(|(role, scoped)| {
                    let name = ROLES.iter().find(|(r, _)| *r == role).unwrap().1;
                    token(name, scoped)
                });
                let path = url(route, target);
                let (status, answer) = send(
                    &server,
                    route.verb.name(),
                    &path,
                    secret.as_deref(),
                    body(route, target),
                )
                .await;
                let expect = expected(route, caller, target);
                cases += 1;
                if let Err(why) = check(status, &answer, &expect) {
                    failures.push(format!(
                        "{} {path} as {caller:?} on {target:?}: {why}",
                        route.verb.name()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases > 400, "walked {cases} cases");
    // Bob's session kept its title: no scoped write reached it.
    let (_, bob) = send(
        &server,
        "GET",
        "/api/sessions/bobs",
        Some(&token("admin", false)),
        None,
    )
    .await;
    assert_eq!(bob["user"], "bob");
    server.stop().await;
}

#[test]
fn security_md_states_the_route_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SECURITY.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (head, rest) = doc
        .split_once("<!-- routes:begin -->\n")
        .expect("SECURITY.md marks its route table with <!-- routes:begin -->");
    let (table, tail) = rest
        .split_once("<!-- routes:end -->")
        .expect("… and <!-- routes:end -->");
    let fresh = security_table();
    if table != fresh {
        if std::env::var_os("CHAINWATCH_BLESS").is_some() {
            std::fs::write(
                path,
                format!("{head}<!-- routes:begin -->\n{fresh}<!-- routes:end -->{tail}"),
            )
            .unwrap();
        } else {
            panic!(
                "docs/SECURITY.md's access table differs from api::routes::ROUTES; \
                 rerun with CHAINWATCH_BLESS=1 to rewrite it:\n{fresh}"
            );
        }
    }
}

async fn send(
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
