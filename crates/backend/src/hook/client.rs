//! The hook's HTTP client: blocking `ureq` calls to the server's REST API, each bounded
//! by a deadline, with typed bodies from the shared crate. Errors split in two: the
//! server could not be reached (or was not able to take the request now), which makes
//! the hook spool the event for later, and the server refused the request, which no
//! retry would change.

use std::time::{Duration, Instant};

use chainwatch_shared::{
    AcknowledgeCommand, CommandId, CommandList, IngestResponse, InputState, NewEvent,
    PermissionRequest, PermissionState, RequestId, SessionDetail, SessionId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::HookConfig;

/// Extra time a long poll gets beyond its `waitMs`, for the answer to travel.
const POLL_SLACK: Duration = Duration::from_secs(2);

/// Size of each of the connection's read and write buffers: larger than any head the
/// server answers with (ureq needs a whole response head in its read buffer).
const IO_BUFFER_BYTES: usize = 16 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Not reached, timed out, or the server could not take the request now (5xx, 429,
    /// 401/403): worth delivering again later.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server refused the request; sending it again would not help.
    #[error("server refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

impl ClientError {
    /// Whether delivering later might work.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }
}

/// A client of one Chainwatch server.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
}

impl Client {
    /// A client for the server the configuration names.
    pub fn new(config: &HookConfig) -> Self {
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("chainwatch-hook/", env!("CARGO_PKG_VERSION")))
            .max_redirects(0)
            // ureq zero-fills 128 KiB for each of its two buffers by default; touching those
            // 64 fresh pages cost a hook call more than its request (docs/PERFORMANCE.md).
            // The server's answers have small heads, and larger bodies stream through.
            .input_buffer_size(IO_BUFFER_BYTES)
            .output_buffer_size(IO_BUFFER_BYTES);
        if is_loopback(&config.url) {
            builder = builder.proxy(None);
        }
        Self {
            agent: ureq::Agent::with_parts(
                builder.build(),
                ureq::unversioned::transport::DefaultConnector::default(),
                LiteralFirst::default(),
            ),
            base: config.url.clone(),
            authorization: config.token.as_ref().map(|t| format!("Bearer {t}")),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api{path}", self.base)
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<T, ClientError> {
        let timeout = deadline
            .checked_duration_since(Instant::now())
            .filter(|t| !t.is_zero())
            .ok_or_else(|| ClientError::Unreachable("out of time".into()))?;
        let url = self.url(path);
        let result = match body {
            Some(body) => {
                let mut request = self
                    .agent
                    .post(&url)
                    .header("content-type", "application/json");
                if let Some(auth) = &self.authorization {
                    request = request.header("authorization", auth);
                }
                request
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .send(body)
            }
            None => {
                debug_assert_eq!(method, "GET");
                let mut request = self.agent.get(&url);
                if let Some(auth) = &self.authorization {
                    request = request.header("authorization", auth);
                }
                request
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .call()
            }
        };
        let mut response = result.map_err(|e| {
            if !cfg!(feature = "tls") && url.starts_with("https:") {
                ClientError::Unreachable(format!(
                    "{e} (this chainwatch was built without HTTPS; build it with `--features tls`)"
                ))
            } else {
                ClientError::Unreachable(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::Unreachable(format!("reading the answer: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| ClientError::Refused {
                status,
                message: format!("unexpected answer to {method} {path}: {e}"),
            });
        }
        let message = serde_json::from_str::<chainwatch_shared::ErrorBody>(&text)
            .map(|b| b.message)
            .unwrap_or(text);
        if status >= 500 || matches!(status, 401 | 403 | 408 | 429) {
            Err(ClientError::Unreachable(format!(
                "HTTP {status}: {message}"
            )))
        } else {
            Err(ClientError::Refused { status, message })
        }
    }

    fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        deadline: Instant,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Refused {
            status: 0,
            message: format!("cannot encode the request: {e}"),
        })?;
        self.call("POST", path, Some(bytes), deadline)
    }

    fn get<T: DeserializeOwned>(&self, path: &str, deadline: Instant) -> Result<T, ClientError> {
        self.call("GET", path, None, deadline)
    }

    /// `POST /api/events`: stores the batch, all or nothing.
    pub fn post_events(
        &self,
        events: &[NewEvent],
        deadline: Instant,
    ) -> Result<IngestResponse, ClientError> {
        self.post("/events", &events, deadline)
    }

    /// `GET /api/sessions/{id}`; `None` when the server has no such session.
    pub fn session(
        &self,
        id: &SessionId,
        deadline: Instant,
    ) -> Result<Option<SessionDetail>, ClientError> {
        match self.get(&format!("/sessions/{id}"), deadline) {
            Ok(detail) => Ok(Some(detail)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/sessions/{id}/commands`: pending commands and whether paused.
    pub fn commands(&self, id: &SessionId, deadline: Instant) -> Result<CommandList, ClientError> {
        self.get(&format!("/sessions/{id}/commands"), deadline)
    }

    /// `POST /api/sessions/{id}/commands/{commandId}/ack`.
    pub fn acknowledge(
        &self,
        id: &SessionId,
        command: &CommandId,
        note: &str,
        deadline: Instant,
    ) -> Result<(), ClientError> {
        let body = AcknowledgeCommand {
            note: Some(note.to_owned()),
        };
        self.post::<serde_json::Value>(
            &format!("/sessions/{id}/commands/{command}/ack"),
            &body,
            deadline,
        )
        .map(drop)
    }

    /// `POST /api/sessions/{id}/input`: answers the open question `request`.
    pub fn submit_input(
        &self,
        id: &SessionId,
        request: &RequestId,
        text: &str,
        deadline: Instant,
    ) -> Result<(), ClientError> {
        let body = chainwatch_shared::SubmitInput {
            text: text.to_owned(),
            request_id: Some(request.clone()),
        };
        self.post::<serde_json::Value>(&format!("/sessions/{id}/input"), &body, deadline)
            .map(drop)
    }

    /// `GET /api/sessions/{id}/input?requestId=&waitMs=`: the answer once given, and
    /// whether the question is still open (it returns early when it was settled).
    pub fn wait_input(
        &self,
        id: &SessionId,
        request: &RequestId,
        wait: Duration,
        deadline: Instant,
    ) -> Result<InputState, ClientError> {
        let path = format!(
            "/sessions/{id}/input?requestId={request}&waitMs={}",
            wait.as_millis()
        );
        self.get(&path, poll_deadline(wait, deadline))
    }

    /// `GET /api/sessions/{id}/permissions/{requestId}?waitMs=`: the request, with its
    /// decision once made.
    pub fn wait_permission(
        &self,
        id: &SessionId,
        request: &RequestId,
        wait: Duration,
        deadline: Instant,
    ) -> Result<PermissionRequest, ClientError> {
        let path = format!(
            "/sessions/{id}/permissions/{request}?waitMs={}",
            wait.as_millis()
        );
        let state: PermissionState = self.get(&path, poll_deadline(wait, deadline))?;
        Ok(state.request)
    }
}

/// Resolves IP literals (the usual `127.0.0.1`) directly; ureq's default resolver starts
/// a thread per request to bound the lookup, which costs a hook call more than the
/// request itself. Host names go to the default resolver.
#[derive(Debug, Default)]
struct LiteralFirst(ureq::unversioned::resolver::DefaultResolver);

impl ureq::unversioned::resolver::Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if let Some(authority) = uri.authority() {
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                let https = uri.scheme_str() == Some("https");
                let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                return Ok(addrs);
            }
        }
        self.0.resolve(uri, config, timeout)
    }
}

fn poll_deadline(wait: Duration, deadline: Instant) -> Instant {
    deadline.min(Instant::now() + wait + POLL_SLACK)
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_skip_proxies() {
        assert!(is_loopback("http://127.0.0.1:7777"));
        assert!(is_loopback("http://localhost:7777/x"));
        assert!(is_loopback("http://[::1]:7777"));
        assert!(!is_loopback("https://chainwatch.example.org"));
    }
}
