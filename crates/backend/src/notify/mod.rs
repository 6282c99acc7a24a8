//! Notifications for the moments something starts or stops waiting on a person: a
//! permission request, a question, a Stop awaiting input, a failed stop. Committed
//! events reach [`NotifyPublisher`] through the core's `Fanout`; it never blocks the
//! commit thread (a cheap look at each event's head, then `try_send` onto a bounded
//! queue) and hands the interesting ones to the notifier's own task
//! ([`schedule::Notifier::run`]), which applies the noise rules (a quiet delay, one notification
//! per item, a "settled" only for what was announced) against the read model and sends
//! each notice to the configured webhooks ([`webhook`]) and to the browsers that opted
//! in to Web Push ([`push`]).

pub mod claim;
pub mod moments;
pub mod push;
pub mod schedule;
pub mod webhook;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::Publisher;
use crate::store::LoggedEvent;

pub use chainwatch_shared::{Moment, Notice, NoticeState};
pub use webhook::{Shape, WebhookTarget};

/// How notifications are sent.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Where webhooks go (`--notify-webhook`, repeatable).
    pub webhooks: Vec<WebhookTarget>,
    /// The HMAC-SHA256 key that signs webhook bodies (`--notify-secret`); when missing
    /// one is generated on first start and kept in the data dir (`notify-secret`).
    pub secret: Option<String>,
    /// How long something must wait before anyone is told (default 5 s): a permission
    /// answered in the terminal within it makes no noise at all.
    pub quiet: Duration,
    /// Attempts per delivery (default 6): the first and up to five retries.
    pub attempts: u32,
    /// The first retry's delay; each next one doubles, up to 60 s (default 1 s).
    pub backoff: Duration,
    /// How long one delivery attempt may take (default 10 s).
    pub timeout: Duration,
    /// Committed events buffered for the notifier (default 4096); past it events are
    /// dropped (counted, logged) and the once-a-second check against the read model
    /// still settles what they would have.
    pub queue: usize,
    /// The address people open for links back to an item (`--public-url`); the bind
    /// address when missing.
    pub public_url: Option<String>,
    /// The `sub` claim of Web Push's VAPID token: how a push service reaches the
    /// server's operator (`--vapid-contact`, default `mailto:chainwatch@localhost`).
    pub vapid_contact: String,
    /// Take `http://` push endpoints (tests and local push services only; browsers'
    /// push services are all https).
    pub push_allow_http: bool,
    /// With several instances on one NATS stream: how long, after an item settled, an
    /// instance that did not announce it waits before sending its settled notice itself
    /// (the one that announced may have died; default 15 s). See [`claim`].
    pub takeover: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            secret: None,
            quiet: Duration::from_secs(5),
            attempts: 6,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            queue: 4096,
            public_url: None,
            vapid_contact: "mailto:chainwatch@localhost".into(),
            push_allow_http: false,
            takeover: Duration::from_secs(15),
        }
    }
}

/// Hands committed events that may start or settle a wait to the notifier's task.
pub struct NotifyPublisher {
    inbox: mpsc::Sender<LoggedEvent>,
    dropped: AtomicU64,
}

impl NotifyPublisher {
    /// A publisher and the receiving end for [`schedule::Notifier::run`].
    pub fn channel(queue: usize) -> (Arc<Self>, mpsc::Receiver<LoggedEvent>) {
        let (inbox, rx) = mpsc::channel(queue.max(1));
        (
            Arc::new(Self {
                inbox,
                dropped: AtomicU64::new(0),
            }),
            rx,
        )
    }

    /// Events dropped because the notifier's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Publisher for NotifyPublisher {
    fn publish(&self, events: &[LoggedEvent]) {
        for event in events {
            if !moments::may_matter(&event.json) {
                continue;
            }
            if self.inbox.try_send(event.clone()).is_err() {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped,
                        "notifier queue full: events dropped (waits still settle by the read model)"
                    );
                }
            }
        }
    }
}

/// The webhook signing key: the configured one, else the one kept in the data dir
/// (`notify-secret`, made on first start, readable by the owner only).
pub fn load_secret(config: &NotifyConfig, data_dir: &Path) -> std::io::Result<Arc<[u8]>> {
    if let Some(secret) = &config.secret {
        return Ok(Arc::from(secret.as_bytes()));
    }
    let path = data_dir.join("notify-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(Arc::from(secret.trim().as_bytes())),
        Ok(_) | Err(_) => {
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            write_private(&path, secret.as_bytes())?;
            tracing::info!(path = %path.display(), "made a webhook signing secret");
            Ok(Arc::from(secret.as_bytes()))
        }
    }
}

/// Writes a file only its owner may read (keys and secrets in the data dir).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The delivery policy of the configuration.
pub fn policy(config: &NotifyConfig) -> webhook::Policy {
    webhook::Policy {
        attempts: config.attempts,
        backoff: config.backoff,
        timeout: config.timeout,
    }
}

/// Opens Web Push (its store and VAPID key in the data dir).
pub fn push_service(config: &crate::config::Config) -> std::io::Result<push::PushService> {
    push::PushService::open(
        &config.data_dir,
        config.notify.vapid_contact.clone(),
        policy(&config.notify),
        config.notify.push_allow_http,
    )
}

/// Builds the notifier (its sinks from the configuration, plus `extra`); its inbox is
/// the receiving end of the [`NotifyPublisher`] in the core's fan-out.
pub fn notifier(
    config: &crate::config::Config,
    read: Arc<crate::core::ReadModel>,
    extra: Vec<Arc<dyn schedule::Sink>>,
) -> std::io::Result<schedule::Notifier> {
    let notify = &config.notify;
    let secret = load_secret(notify, &config.data_dir)?;
    let policy = policy(notify);
    let mut sinks: Vec<Arc<dyn schedule::Sink>> = notify
        .webhooks
        .iter()
        .map(|target| {
            Arc::new(webhook::WebhookSink::new(
                target.clone(),
                secret.clone(),
                policy.clone(),
            )) as Arc<dyn schedule::Sink>
        })
        .collect();
    sinks.extend(extra);
    // Instances sharing a stream all hear every event: a claim picks who notifies.
    let claims = match &config.store {
        crate::store::StoreConfig::Sqlite => claim::Claims::Alone,
        crate::store::StoreConfig::Nats(nats) => claim::Claims::nats((**nats).clone()),
    };
    Ok(schedule::Notifier {
        read,
        sinks,
        quiet: notify.quiet,
        public_url: config.public_url(),
        claims,
        takeover: notify.takeover,
    })
}
