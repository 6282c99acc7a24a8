//! Webhooks: each notice is posted as JSON to every `--notify-webhook` URL, signed with
//! HMAC-SHA256, retried with backoff. Three shapes (docs/NOTIFY.md): `chainwatch` (the
//! [`Notice`] itself, the default), `ntfy` (ntfy's JSON publishing: title, message, a
//! click link and an Open action) and `slack` (an incoming webhook's `text`). A URL
//! picks its shape with a prefix: `ntfy:https://ntfy.sh/topic`, `slack:https://…`.
//!
//! Posts run on tokio's blocking pool (the `ureq` client the hook uses; `https://`
//! needs the `tls` feature), never on the commit path.

use std::sync::Arc;
use std::time::Duration;

use chainwatch_shared::{Notice, NoticeState};
use futures_util::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use super::schedule::{Outgoing, Sink};

/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The header with the body's signature: `sha256=<hex>` of HMAC-SHA256 over
/// `<timestamp>.<body>`, keyed with the notify secret.
pub const SIGNATURE_HEADER: &str = "X-Chainwatch-Signature";
/// The header with the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Chainwatch-Timestamp";
/// The header with the notice's id (the same on every retry).
pub const DELIVERY_HEADER: &str = "X-Chainwatch-Delivery";

/// What a webhook's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The notice as JSON.
    Chainwatch,
    /// ntfy's JSON publishing (posted to the server's root, the topic in the body).
    Ntfy,
    /// A Slack incoming webhook.
    Slack,
}

/// One configured webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// Where the body is posted.
    pub url: String,
    /// Its shape.
    pub shape: Shape,
    /// The ntfy topic (ntfy only).
    pub topic: Option<String>,
}

impl std::str::FromStr for WebhookTarget {
    type Err = String;

    /// `URL`, `ntfy:URL-WITH-TOPIC` or `slack:URL`; only http and https.
    fn from_str(value: &str) -> Result<Self, String> {
        let (shape, url) = match value.split_once(':') {
            Some(("ntfy", rest)) => (Shape::Ntfy, rest),
            Some(("slack", rest)) => (Shape::Slack, rest),
            Some(("chainwatch", rest)) => (Shape::Chainwatch, rest),
            _ => (Shape::Chainwatch, value),
        };
        let Some(after_scheme) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            return Err(format!(
                "webhook '{value}' must be an http:// or https:// URL (optionally prefixed ntfy: or slack:)"
            ));
        };
        if after_scheme.is_empty() || after_scheme.starts_with('/') {
            return Err(format!("webhook '{value}' has no host"));
        }
        let (url, topic) = match shape {
            Shape::Ntfy => {
                let trimmed = url.trim_end_matches('/');
                match trimmed.rsplit_once('/') {
                    Some((root, topic))
                        if !topic.is_empty() && root.len() > "https://".len() - 1 =>
                    {
                        if !topic
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                        {
                            return Err(format!(
                                "ntfy topic '{topic}' may hold only A-Z a-z 0-9 - _"
                            ));
                        }
                        (format!("{root}/"), Some(topic.to_owned()))
                    }
                    _ => {
                        return Err(format!(
                            "ntfy webhook '{value}' needs a topic: ntfy:https://ntfy.sh/TOPIC"
                        ));
                    }
                }
            }
            _ => (url.to_owned(), None),
        };
        if !after_scheme.contains('/') && shape == Shape::Ntfy {
            return Err(format!(
                "ntfy webhook '{value}' needs a topic: ntfy:https://ntfy.sh/TOPIC"
            ));
        }
        Ok(Self { url, shape, topic })
    }
}

/// The body a target gets for a notice.
pub fn body(target: &WebhookTarget, notice: &Notice) -> serde_json::Value {
    let settled_line = || {
        let outcome = notice.outcome.as_deref().unwrap_or("settled");
        match &notice.by {
            Some(by) => format!("Settled ({outcome}) by {by}"),
            None => format!("Settled ({outcome})"),
        }
    };
    match target.shape {
        Shape::Chainwatch => serde_json::to_value(notice).unwrap_or_default(),
        Shape::Ntfy => {
            let waiting = notice.state == NoticeState::Waiting;
            json!({
                "topic": target.topic,
                "title": if waiting { notice.title.clone() } else { format!("✓ {}", notice.title) },
                "message": if waiting { notice.message.clone() } else { format!("{} — {}", settled_line(), notice.message) },
                "click": notice.url,
                "priority": if waiting { 4 } else { 2 },
                "tags": [if waiting { "hourglass_flowing_sand" } else { "white_check_mark" }, "chainwatch"],
                "actions": [{"action": "view", "label": "Open", "url": notice.url, "clear": true}],
            })
        }
        Shape::Slack => {
            let text = match notice.state {
                NoticeState::Waiting => format!(
                    "*{}*\n{}\n<{}|Open in Chainwatch>",
                    escape_slack(&notice.title),
                    escape_slack(&notice.message),
                    notice.url
                ),
                NoticeState::Settled => format!(
                    "~{}~ {}\n<{}|Open in Chainwatch>",
                    escape_slack(&notice.title),
                    escape_slack(&settled_line()),
                    notice.url
                ),
            };
            json!({ "text": text })
        }
    }
}

fn escape_slack(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Delivery policy shared by every webhook.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts per notice.
    pub attempts: u32,
    /// The first retry's delay (doubling).
    pub backoff: Duration,
    /// One attempt's bound.
    pub timeout: Duration,
}

/// Posts to one webhook.
pub struct WebhookSink {
    target: WebhookTarget,
    secret: Arc<[u8]>,
    policy: Policy,
    agent: ureq::Agent,
}

impl WebhookSink {
    /// A sink for `target`, signing with `secret`.
    pub fn new(target: WebhookTarget, secret: Arc<[u8]>, policy: Policy) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .user_agent(concat!("chainwatch/", env!("CARGO_PKG_VERSION")))
            .max_redirects(0)
            .build()
            .into();
        Self {
            target,
            secret,
            policy,
            agent,
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// Worth trying again (network, 408, 429, 5xx).
    Retry(String),
    /// Not worth trying again (other 4xx).
    GiveUp(String),
}

impl Sink for WebhookSink {
    fn deliver(&self, outgoing: Arc<Outgoing>) -> BoxFuture<'static, ()> {
        let notice = &outgoing.notice;
        let body = match serde_json::to_vec(&body(&self.target, notice)) {
            Ok(body) => Arc::new(body),
            Err(error) => {
                tracing::warn!(%error, "webhook body cannot be encoded");
                return Box::pin(async {});
            }
        };
        let url = self.target.url.clone();
        let secret = self.secret.clone();
        let policy = self.policy.clone();
        let agent = self.agent.clone();
        let id = notice.id.clone();
        let state = match notice.state {
            NoticeState::Waiting => "waiting",
            NoticeState::Settled => "settled",
        };
        Box::pin(async move {
            let mut delay = policy.backoff;
            for attempt in 1..=policy.attempts.max(1) {
                let (agent, to, body, secret, delivery) = (
                    agent.clone(),
                    url.clone(),
                    body.clone(),
                    secret.clone(),
                    id.clone(),
                );
                let result = tokio::task::spawn_blocking(move || {
                    post(&agent, &to, &body, &secret, &delivery, state)
                })
                .await
                .unwrap_or_else(|e| Attempt::Retry(format!("post task failed: {e}")));
                match result {
                    Attempt::Delivered => {
                        tracing::debug!(%url, id, attempt, "webhook delivered");
                        return;
                    }
                    Attempt::GiveUp(why) => {
                        tracing::warn!(%url, id, attempt, why, "webhook refused; not retried");
                        return;
                    }
                    Attempt::Retry(why) if attempt < policy.attempts => {
                        tracing::info!(%url, id, attempt, why, ?delay, "webhook failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(MAX_BACKOFF);
                    }
                    Attempt::Retry(why) => {
                        tracing::warn!(%url, id, attempt, why, "webhook failed; giving up");
                    }
                }
            }
        })
    }
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
    secret: &[u8],
    id: &str,
    state: &str,
) -> Attempt {
    let timestamp = chrono::Utc::now().timestamp();
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(secret, timestamp, body))
        .header(DELIVERY_HEADER, id)
        .header("X-Chainwatch-State", state)
        .send(body);
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            match status {
                200..=299 => Attempt::Delivered,
                408 | 429 | 500..=599 => Attempt::Retry(format!("status {status}")),
                _ => Attempt::GiveUp(format!("status {status}")),
            }
        }
        Err(error) => Attempt::Retry(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_their_shapes() {
        let plain: WebhookTarget = "http://127.0.0.1:9/hook".parse().expect("plain");
        assert_eq!(plain.shape, Shape::Chainwatch);
        assert_eq!(plain.url, "http://127.0.0.1:9/hook");
        let ntfy: WebhookTarget = "ntfy:https://ntfy.sh/my-agents".parse().expect("ntfy");
        assert_eq!(ntfy.shape, Shape::Ntfy);
        assert_eq!(ntfy.url, "https://ntfy.sh/");
        assert_eq!(ntfy.topic.as_deref(), Some("my-agents"));
        let slack: WebhookTarget = "slack:https://hooks.example/T/B/x".parse().expect("slack");
        assert_eq!(slack.shape, Shape::Slack);
        assert!("ftp://x".parse::<WebhookTarget>().is_err());
        assert!("ntfy:https://ntfy.sh".parse::<WebhookTarget>().is_err());
        assert!(
            "ntfy:https://ntfy.sh/bad topic"
                .parse::<WebhookTarget>()
                .is_err()
        );
        assert!("https://".parse::<WebhookTarget>().is_err());
    }

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = sign(b"Jefe", 0, b"");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(sign(b"k", 1, b"x"), sign(b"k", 2, b"x"));
    }
}
