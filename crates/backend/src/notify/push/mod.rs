//! Web Push: browsers that opted in get each notice as an encrypted push message
//! (RFC 8291, aes128gcm, through `web-push-native`), identified by the server's VAPID
//! key (RFC 8292, [`vapid`]). The service worker shows "waiting" notices (with Allow and
//! Deny for a permission, answered with the person's own token) and closes the
//! notification on "settled". Subscriptions and settings live in [`store`].
//!
//! A subscriber gets a notice only for sessions its token may see and only for the
//! moments its settings ask for. A push service that answers 404 or 410 has dropped the
//! subscription: it is forgotten.

pub mod store;
pub mod vapid;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chainwatch_shared::{NoticeState, PushSubscription};
use futures_util::future::BoxFuture;

use super::schedule::{Outgoing, Sink};
use super::webhook::Policy;
pub use store::{PushStore, Subscriber};
pub use vapid::Vapid;

/// Longest endpoint URL taken.
pub const MAX_ENDPOINT_LEN: usize = 2048;
/// How long a push service keeps an undelivered message (seconds).
const TTL_SECS: u64 = 3600;

/// Sends notices to the browsers that opted in.
pub struct PushService {
    /// The subscriptions and settings.
    pub store: PushStore,
    /// The server's key pair.
    pub vapid: Arc<Vapid>,
    contact: String,
    policy: Policy,
    allow_http: bool,
    agent: ureq::Agent,
}

impl PushService {
    /// Opens the store and the key pair in `data_dir`.
    pub fn open(
        data_dir: &std::path::Path,
        contact: String,
        policy: Policy,
        allow_http: bool,
    ) -> std::io::Result<Self> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .max_redirects(0)
            .build()
            .into();
        Ok(Self {
            store: PushStore::open(data_dir)?,
            vapid: Arc::new(Vapid::load_or_create(data_dir)?),
            contact,
            policy,
            allow_http,
            agent,
        })
    }

    /// Checks a subscription a browser sent: an https endpoint (http only when the
    /// server allows it, for tests and local push services) and keys of the right size.
    pub fn check(&self, subscription: &PushSubscription) -> Result<(), String> {
        let endpoint = &subscription.endpoint;
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(format!(
                "endpoint is longer than {MAX_ENDPOINT_LEN} characters"
            ));
        }
        let plain_ok = self.allow_http && endpoint.starts_with("http://");
        if !(endpoint.starts_with("https://") || plain_ok) {
            return Err("endpoint must be an https:// URL".into());
        }
        endpoint
            .parse::<ureq::http::Uri>()
            .map_err(|e| format!("endpoint is not a URL: {e}"))?;
        decode_keys(subscription).map(|_| ())
    }
}

fn decode_keys(
    subscription: &PushSubscription,
) -> Result<(web_push_native::p256::PublicKey, web_push_native::Auth), String> {
    let public = URL_SAFE_NO_PAD
        .decode(subscription.keys.p256dh.trim_end_matches('='))
        .map_err(|e| format!("keys.p256dh is not base64url: {e}"))?;
    let public = web_push_native::p256::PublicKey::from_sec1_bytes(&public)
        .map_err(|_| "keys.p256dh is not a P-256 public key".to_owned())?;
    let auth = URL_SAFE_NO_PAD
        .decode(subscription.keys.auth.trim_end_matches('='))
        .map_err(|e| format!("keys.auth is not base64url: {e}"))?;
    if auth.len() != 16 {
        return Err("keys.auth must be 16 bytes".into());
    }
    Ok((public, web_push_native::Auth::clone_from_slice(&auth)))
}

/// What one push came to.
enum Sent {
    Delivered,
    Gone,
    Retry(String),
    GiveUp(String),
}

fn send_one(
    agent: &ureq::Agent,
    vapid: &Vapid,
    contact: &str,
    subscription: &PushSubscription,
    payload: &[u8],
    urgent: bool,
) -> Sent {
    let (public, auth) = match decode_keys(subscription) {
        Ok(keys) => keys,
        Err(why) => return Sent::GiveUp(why),
    };
    let uri = match subscription.endpoint.parse::<ureq::http::Uri>() {
        Ok(uri) => uri,
        Err(e) => return Sent::GiveUp(e.to_string()),
    };
    let request = match web_push_native::WebPushBuilder::new(uri, public, auth)
        .with_valid_duration(Duration::from_secs(TTL_SECS))
        .build(payload.to_vec())
    {
        Ok(request) => request,
        Err(e) => return Sent::GiveUp(format!("cannot encrypt: {e}")),
    };
    let authorization = match vapid.authorization(&subscription.endpoint, contact) {
        Ok(header) => header,
        Err(why) => return Sent::GiveUp(why),
    };
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = ureq::http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("authorization", &authorization);
    set("urgency", if urgent { "high" } else { "normal" });
    let request = ureq::http::Request::from_parts(parts, body);
    match agent.run(request) {
        Ok(response) => match response.status().as_u16() {
            200..=299 => Sent::Delivered,
            404 | 410 => Sent::Gone,
            status @ (408 | 429 | 500..=599) => Sent::Retry(format!("status {status}")),
            status => Sent::GiveUp(format!("status {status}")),
        },
        Err(e) => Sent::Retry(e.to_string()),
    }
}

impl Sink for PushService {
    fn deliver(&self, outgoing: Arc<Outgoing>) -> BoxFuture<'static, ()> {
        let notice = &outgoing.notice;
        let targets: Vec<Subscriber> = self
            .store
            .subscribers()
            .into_iter()
            .filter(|s| s.user.is_none() || s.user == outgoing.owner)
            .filter(|s| {
                self.store
                    .settings(&s.name)
                    .wants(notice.moment, notice.state)
            })
            .collect();
        if targets.is_empty() {
            return Box::pin(async {});
        }
        let payload = match serde_json::to_vec(notice) {
            Ok(payload) => Arc::new(payload),
            Err(_) => return Box::pin(async {}),
        };
        let urgent = notice.state == NoticeState::Waiting;
        let (agent, vapid, contact, policy, store) = (
            self.agent.clone(),
            self.vapid.clone(),
            self.contact.clone(),
            self.policy.clone(),
            self.store.clone(),
        );
        Box::pin(async move {
            let sends = targets.into_iter().map(|target| {
                let (agent, vapid, contact, policy, store, payload) = (
                    agent.clone(),
                    vapid.clone(),
                    contact.clone(),
                    policy.clone(),
                    store.clone(),
                    payload.clone(),
                );
                async move {
                    let endpoint = target.subscription.endpoint.clone();
                    let mut delay = policy.backoff;
                    for attempt in 1..=policy.attempts.max(1) {
                        let (agent, vapid, contact, sub, payload) = (
                            agent.clone(),
                            vapid.clone(),
                            contact.clone(),
                            target.subscription.clone(),
                            payload.clone(),
                        );
                        let sent = tokio::task::spawn_blocking(move || {
                            send_one(&agent, &vapid, &contact, &sub, &payload, urgent)
                        })
                        .await
                        .unwrap_or_else(|e| Sent::Retry(e.to_string()));
                        match sent {
                            Sent::Delivered => return,
                            Sent::Gone => {
                                tracing::info!(
                                    name = target.name,
                                    "push subscription gone; forgotten"
                                );
                                let _ = store.unsubscribe(None, &endpoint).await;
                                return;
                            }
                            Sent::GiveUp(why) => {
                                tracing::warn!(
                                    name = target.name,
                                    why,
                                    "push refused; not retried"
                                );
                                return;
                            }
                            Sent::Retry(why) if attempt < policy.attempts => {
                                tracing::info!(
                                    name = target.name,
                                    why,
                                    attempt,
                                    "push failed; retrying"
                                );
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(60));
                            }
                            Sent::Retry(why) => {
                                tracing::warn!(name = target.name, why, "push failed; giving up");
                            }
                        }
                    }
                }
            });
            futures_util::future::join_all(sends).await;
        })
    }
}
