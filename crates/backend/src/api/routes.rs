//! The one table of routes. Each entry names a method, a path, the handler, who may
//! call it ([`Access`]) and which sessions it reaches ([`Sessions`]); from that one list
//! come the router ([`configure`]), the OpenAPI document's paths ([`RoutePaths`], merged
//! into `openapi::ApiDoc`), the guard's access rule ([`access`], handed to the guard at
//! start-up so `auth` does not import `api`), the "Access by route" table of
//! docs/SECURITY.md ([`security_table`]) and the security test that walks every route ×
//! role × session (`tests/route_table.rs`). A route cannot be added without its rule:
//! the table's macro wants all five parts, and a documented handler without a
//! `#[utoipa::path]` does not compile. A unit test checks each entry's method and path
//! against its handler's annotation.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};

use super::error::ApiError;
use super::{conversation, events, files, health, openapi, otlp, push, sessions, socket, steering};
use crate::auth::{Access, Role};

/// The HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET (HEAD is answered as GET).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Verb {
    /// The actix method.
    pub fn method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Delete => Method::DELETE,
        }
    }

    /// The upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Which sessions a route reaches, and so how a user-scoped caller's reach applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// None: the server, the caller's own notification settings, a new session.
    None,
    /// The `{id}` of the path, through `api::access::SessionAccess`: another user's
    /// session and a missing one are both 404.
    Path,
    /// The sessions named by the events of the body, each checked (`core::ingest`).
    Body,
    /// Lists and streams filtered to the caller's reach.
    Listed,
    /// Every session's events at once: refused (403) to a user-scoped caller by the guard.
    Everyone,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Its method.
    pub verb: Verb,
    /// Its path, with `{param}` segments, as the OpenAPI document names it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Which sessions it reaches.
    pub sessions: Sessions,
    /// The OpenAPI operation id (the handler's name), or `None` for routes the
    /// document leaves out (itself, the socket upgrade).
    pub operation: Option<&'static str>,
}

const PUBLIC: Access = Access::Public;
const READ: Access = Access::Roles(&[Role::Viewer, Role::Operator]);
const READ_OR_AGENT: Access = Access::Roles(&[Role::Agent, Role::Viewer, Role::Operator]);
const AGENT: Access = Access::Roles(&[Role::Agent]);
// Only agents start sessions: a session's cwd decides which files its page may read, so
// people steering sessions do not get to name one. Operators may retitle and end.
const AGENT_OR_OPERATOR: Access = Access::Roles(&[Role::Agent, Role::Operator]);
const OPERATOR: Access = Access::Roles(&[Role::Operator]);

/// What a route missing from the table needs: an operator, so a route registered
/// elsewhere is closed until someone opens it on purpose.
pub const UNLISTED: Access = OPERATOR;

macro_rules! routes {
    (
        documented: [ $( $verb:ident $path:literal => $module:ident :: $handler:ident, $access:expr, $sessions:ident; )* ]
        undocumented: [ $( $uverb:ident $upath:literal => $umodule:ident :: $uhandler:ident, $uaccess:expr, $usessions:ident; )* ]
    ) => {
        /// Every route the server serves, in registration order.
        pub const ROUTES: &[Route] = &[
            $( Route {
                verb: Verb::$verb,
                path: $path,
                access: $access,
                sessions: Sessions::$sessions,
                operation: Some(stringify!($handler)),
            }, )*
            $( Route {
                verb: Verb::$uverb,
                path: $upath,
                access: $uaccess,
                sessions: Sessions::$usessions,
                operation: None,
            }, )*
        ];

        /// The documented routes' OpenAPI paths (and the schemas they use), merged into
        /// `openapi::ApiDoc`.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths( $( $module::$handler ),* ))]
        pub struct RoutePaths;

        /// Registers every route of the table: those under `/api` in one scope (whose
        /// default answers unknown API paths with a JSON 404), the others at the top.
        /// Paths without a `{param}` are registered first (see [`registration_order`]).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            let mut routes: Vec<Option<actix_web::Route>> = vec![
                $( Some(web::method(Verb::$verb.method()).to($module::$handler)), )*
                $( Some(web::method(Verb::$uverb.method()).to($umodule::$uhandler)), )*
            ];
            let mut api = web::scope("/api");
            for index in registration_order() {
                if let Some(route) = routes.get_mut(index).and_then(Option::take) {
                    api = register(api, cfg, ROUTES[index].path, route);
                }
            }
            cfg.service(api.default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::NotFound(
                    "no such API route; see GET /api/openapi.json".into(),
                ))
            })));
        }
    };
}

/// The order the router tries the table's entries in: every path without a `{param}`
/// first, then the patterns, each group in table order. actix tries routes one after
/// the other and matches each pattern with a regex, so the busiest route,
/// `POST /api/events`, would otherwise wait behind a dozen regexes. The order changes
/// no answer: no pattern of the table matches a plain path of it (a unit test checks),
/// and an entry of another method is skipped either way.
pub fn registration_order() -> Vec<usize> {
    let plain = |path: &str| !path.contains('{');
    let (fixed, patterns): (Vec<usize>, Vec<usize>) =
        (0..ROUTES.len()).partition(|&index| plain(ROUTES[index].path));
    fixed.into_iter().chain(patterns).collect()
}

fn register(
    api: actix_web::Scope,
    cfg: &mut web::ServiceConfig,
    path: &str,
    route: actix_web::Route,
) -> actix_web::Scope {
    match path.strip_prefix("/api") {
        Some(rest) => api.route(rest, route),
        None => {
            cfg.route(path, route);
            api
        }
    }
}

routes! {
    documented: [
        Get "/api/health" => health::health, PUBLIC, None;
        Post "/api/sessions" => sessions::create, AGENT, None;
        Get "/api/sessions" => sessions::list, READ, Listed;
        Get "/api/sessions/{id}" => sessions::get, READ, Path;
        Put "/api/sessions/{id}" => sessions::update, AGENT_OR_OPERATOR, Path;
        Post "/api/sessions/{id}/end" => sessions::end, AGENT_OR_OPERATOR, Path;
        Get "/api/sessions/{id}/files" => files::tree, OPERATOR, Path;
        Get "/api/sessions/{id}/files/content" => files::content, OPERATOR, Path;
        Get "/api/sessions/{id}/events" => events::session_events, READ, Path;
        Get "/api/search" => conversation::search, READ, Listed;
        Get "/api/sessions/{id}/export" => conversation::export, READ, Path;
        Post "/api/events" => events::ingest, AGENT, Body;
        Get "/api/events" => events::all_events, READ, Everyone;
        Post "/api/sessions/{id}/commands" => steering::issue_command, OPERATOR, Path;
        Get "/api/sessions/{id}/commands" => steering::list_commands, READ_OR_AGENT, Path;
        Post "/api/sessions/{id}/commands/{commandId}/ack" => steering::acknowledge_command, AGENT, Path;
        Post "/api/sessions/{id}/awaiting-input" => steering::await_input, AGENT, Path;
        Post "/api/sessions/{id}/input" => steering::submit_input, OPERATOR, Path;
        Get "/api/sessions/{id}/input" => steering::wait_input, READ_OR_AGENT, Path;
        Post "/api/sessions/{id}/permissions" => steering::request_permission, AGENT, Path;
        Post "/api/sessions/{id}/permissions/{requestId}" => steering::decide_permission, OPERATOR, Path;
        Get "/api/sessions/{id}/permissions/{requestId}" => steering::wait_permission, READ_OR_AGENT, Path;
        // Notifications are a person's own: viewers may opt in and choose moments too.
        Get "/api/push/key" => push::key, READ, None;
        Post "/api/push/subscriptions" => push::subscribe, READ, None;
        Delete "/api/push/subscriptions" => push::unsubscribe, READ, None;
        Get "/api/notify/settings" => push::settings, READ, None;
        Put "/api/notify/settings" => push::set_settings, READ, None;
    ]
    undocumented: [
        Get "/api/openapi.json" => openapi::document, PUBLIC, None;
        Get "/ws" => socket::upgrade, READ, Listed;
        // OTLP/HTTP, not REST: its bodies are OpenTelemetry's (docs/HOOKS.md "Telemetry").
        // Each record's session is checked against the caller's reach and refused alone
        // (OTLP partial success, not a 404), so it is filtered like a list
        // (tests/telemetry.rs walks the user scope with real bodies).
        Post "/v1/logs" => otlp::logs, AGENT, Listed;
    ]
}

/// The table's entry for a request, by method and matched route pattern (HEAD finds
/// the GET entry).
pub fn route(method: &Method, pattern: &str) -> Option<&'static Route> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    ROUTES
        .iter()
        .find(|r| r.path == pattern && r.verb.method() == *method)
}

/// The guard's rule: what a request needs, by method and matched pattern. A request
/// matching no route (`None`: the web app's files) is public, as the web app asks for
/// its token itself; a pattern missing from the table needs [`UNLISTED`].
pub fn access(method: &Method, pattern: Option<&str>) -> Access {
    match pattern {
        None => Access::Public,
        Some(pattern) => route(method, pattern).map_or(UNLISTED, |r| r.access),
    }
}

/// Whether a user-scoped caller is refused the route outright (it reads every
/// session's events at once).
pub fn refuses_scoped(method: &Method, pattern: Option<&str>) -> bool {
    pattern
        .and_then(|p| route(method, p))
        .is_some_and(|r| r.sessions == Sessions::Everyone)
}

/// The roles a route admits besides admin, as SECURITY.md names them.
pub fn role_names(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::Roles(roles) => [
            (Role::Agent, "agent"),
            (Role::Viewer, "viewer"),
            (Role::Operator, "operator"),
        ]
        .iter()
        .filter(|(role, _)| roles.contains(role))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", "),
    }
}

/// The "Access by route" table of docs/SECURITY.md, rendered from [`ROUTES`]
/// (`tests/route_table.rs` fails when the document's copy differs, and rewrites it
/// with `CHAINWATCH_BLESS=1`).
pub fn security_table() -> String {
    let mut out =
        String::from("| method | route | roles | sessions |\n| --- | --- | --- | --- |\n");
    for route in ROUTES {
        let sessions = match route.sessions {
            Sessions::None => "none",
            Sessions::Path => "the `{id}`: another user's is 404",
            Sessions::Body => "each event's: another user's is 404",
            Sessions::Listed => "filtered to the caller's user",
            Sessions::Everyone => "all: refused to user-scoped tokens",
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            route.verb.name(),
            route.path,
            role_names(route.access),
            sessions
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi;

    #[test]
    fn every_documented_entry_matches_its_handlers_annotation() {
        let doc = serde_json::to_value(RoutePaths::openapi()).expect("serializes");
        let mut documented = 0;
        for route in ROUTES {
            let Some(operation) = route.operation else {
                continue;
            };
            let verb = route.verb.name().to_lowercase();
            let found = &doc["paths"][route.path][&verb]["operationId"];
            assert_eq!(
                found.as_str(),
                Some(operation),
                "{} {}: the handler's #[utoipa::path] names another method or path",
                route.verb.name(),
                route.path
            );
            documented += 1;
        }
        let in_doc: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item.as_object().map_or(0, |ops| ops.len()))
            .sum();
        assert_eq!(
            in_doc, documented,
            "every operation of the document is a table entry"
        );
    }

    #[test]
    fn each_method_and_path_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.verb == b.verb && a.path == b.path),
                    "{} {} twice",
                    a.verb.name(),
                    a.path
                );
            }
        }
    }

    #[test]
    fn no_pattern_matches_a_plain_path_so_plain_paths_may_go_first() {
        use actix_web::dev::ResourceDef;
        let order = registration_order();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..ROUTES.len()).collect::<Vec<_>>());
        let first_pattern = order
            .iter()
            .position(|&i| ROUTES[i].path.contains('{'))
            .expect("the table has patterns");
        assert!(
            order[first_pattern..]
                .iter()
                .all(|&i| ROUTES[i].path.contains('{'))
        );
        for pattern in ROUTES.iter().filter(|r| r.path.contains('{')) {
            let def = ResourceDef::new(pattern.path);
            // The check can fail: the pattern matches a path of its own shape.
            let example = pattern
                .path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            assert!(def.is_match(&example), "{} matches {example}", pattern.path);
            for plain in ROUTES.iter().filter(|r| !r.path.contains('{')) {
                assert!(
                    !def.is_match(plain.path),
                    "{} also matches {}: registering plain paths first would change which handler answers",
                    pattern.path,
                    plain.path
                );
            }
        }
    }

    #[test]
    fn unlisted_routes_need_an_operator_and_head_is_get() {
        assert_eq!(access(&Method::POST, Some("/api/new-thing")), UNLISTED);
        assert!(!UNLISTED.admits(Role::Viewer));
        assert!(UNLISTED.admits(Role::Admin));
        assert_eq!(access(&Method::HEAD, Some("/api/health")), Access::Public);
        assert_eq!(access(&Method::GET, None), Access::Public);
        assert!(refuses_scoped(&Method::GET, Some("/api/events")));
        assert!(!refuses_scoped(&Method::POST, Some("/api/events")));
    }
}
