//! One notification per item when several instances share a NATS stream. Every
//! instance's notifier hears every event and tracks every wait (so any of them can
//! finish what another started), but a notice goes out only from the instance that
//! holds the item's claim, a key in a JetStream key-value bucket next to the stream
//! (`<stream>-notify`), changed only with optimistic concurrency:
//!
//! - **waiting**: once the quiet delay is over, each instance tries to *create* the
//!   item's key. JetStream lets exactly one create succeed; that instance announces.
//! - **settled**: the instance that announced moves the key from `waiting` to
//!   `settled` (an update expecting the revision it read) as soon as it sees the item
//!   settle, and sends the settled notice only if that update landed. Every other
//!   instance tries the same after `--notify-takeover-secs`, so when the announcing
//!   instance died (killed, crashed, cut off) a survivor settles the item instead,
//!   once, and while it lives the others always find the key already `settled`.
//!
//! What this does not cover: an instance that dies between winning the create and its
//! webhook going out loses that one "waiting" notice (the settled one still follows
//! from a survivor). Keys expire from the bucket after [`CLAIM_TTL`].
//!
//! On the embedded store there is one instance: [`Claims::Alone`] always wins.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use chainwatch_shared::{RequestId, SessionId};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::store::nats::{NatsConfig, connect_client};

/// How long an item's claim is kept in the bucket: longer than anything waits on a
/// person in practice (a wait older than this may be announced again after a restart).
pub const CLAIM_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long one claim request may take before the notifier tries again later.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(3);

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This instance sends the notice.
    Won,
    /// Another instance did or does.
    Lost,
    /// NATS could not be asked: try again later.
    Unavailable,
}

/// Who may send an item's notices.
#[derive(Clone)]
pub enum Claims {
    /// One instance (the embedded store): every claim is won.
    Alone,
    /// Instances sharing a NATS stream: claims in a key-value bucket.
    Shared(Arc<SharedClaims>),
}

impl Claims {
    /// Claims for the instances on `nats`'s stream; the connection is made lazily (on
    /// the first claim) and retried on the next one when NATS is unreachable.
    pub fn nats(nats: NatsConfig) -> Self {
        Self::Shared(Arc::new(SharedClaims {
            bucket_name: format!("{}-notify", nats.stream),
            nats,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            store: OnceCell::new(),
        }))
    }

    /// Tries to become the one instance that announces the item.
    pub async fn announce(&self, session: &SessionId, item: &RequestId) -> Claim {
        match self {
            Self::Alone => Claim::Won,
            Self::Shared(shared) => shared.announce(&key(session, item)).await,
        }
    }

    /// Tries to become the one instance that sends the item's settled notice: only
    /// while its key still says `waiting` (announced, not yet settled by anyone).
    pub async fn settle(&self, session: &SessionId, item: &RequestId) -> Claim {
        match self {
            Self::Alone => Claim::Won,
            Self::Shared(shared) => shared.settle(&key(session, item)).await,
        }
    }

    /// Whether other instances may hold claims (then settling waits for the takeover
    /// delay unless this instance announced).
    pub fn shared(&self) -> bool {
        matches!(self, Self::Shared(_))
    }
}

/// The item's key: a hash, since session and request ids may hold anything.
fn key(session: &SessionId, item: &RequestId) -> String {
    let mut hash = Sha256::new();
    hash.update(session.as_str().as_bytes());
    hash.update([0]);
    hash.update(item.as_str().as_bytes());
    hash.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Claims in a JetStream key-value bucket.
pub struct SharedClaims {
    nats: NatsConfig,
    bucket_name: String,
    /// This process, for the record in each claim (who announced, who settled).
    instance: String,
    store: OnceCell<kv::Store>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    state: String,
    by: String,
}

impl SharedClaims {
    async fn store(&self) -> Option<&kv::Store> {
        let attempt = self.store.get_or_try_init(|| async {
            let client = connect_client(&self.nats)
                .await
                .map_err(|e| e.to_string())?;
            let js = jetstream::new(client);
            let config = kv::Config {
                bucket: self.bucket_name.clone(),
                description: "chainwatch: which instance sends each item's notices".into(),
                history: 1,
                max_age: CLAIM_TTL,
                storage: jetstream::stream::StorageType::File,
                num_replicas: self.nats.replicas.max(1),
                ..Default::default()
            };
            match js.get_key_value(&self.bucket_name).await {
                Ok(store) => Ok(store),
                Err(_) => js.create_key_value(config).await.map_err(|e| e.to_string()),
            }
        });
        match tokio::time::timeout(CLAIM_TIMEOUT * 2, attempt).await {
            Ok(Ok(store)) => Some(store),
            Ok(Err(error)) => {
                tracing::warn!(%error, bucket = %self.bucket_name, "notification claims unavailable");
                None
            }
            Err(_) => {
                tracing::warn!(bucket = %self.bucket_name, "notification claims: no answer in time");
                None
            }
        }
    }

    fn record(&self, state: &str) -> Bytes {
        let record = Record {
            state: state.into(),
            by: self.instance.clone(),
        };
        Bytes::from(serde_json::to_vec(&record).unwrap_or_default())
    }

    async fn announce(&self, key: &str) -> Claim {
        let Some(store) = self.store().await else {
            return Claim::Unavailable;
        };
        match tokio::time::timeout(CLAIM_TIMEOUT, store.create(key, self.record("waiting"))).await {
            Ok(Ok(_)) => Claim::Won,
            Ok(Err(e)) if e.kind() == kv::CreateErrorKind::AlreadyExists => Claim::Lost,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot claim a notification");
                Claim::Unavailable
            }
            Err(_) => Claim::Unavailable,
        }
    }

    async fn settle(&self, key: &str) -> Claim {
        let Some(store) = self.store().await else {
            return Claim::Unavailable;
        };
        let entry = match tokio::time::timeout(CLAIM_TIMEOUT, store.entry(key)).await {
            Ok(Ok(Some(entry))) => entry,
            // Never announced by anyone (or expired): nothing to settle.
            Ok(Ok(None)) => return Claim::Lost,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read a notification claim");
                return Claim::Unavailable;
            }
            Err(_) => return Claim::Unavailable,
        };
        if entry.operation != kv::Operation::Put {
            return Claim::Lost;
        }
        match serde_json::from_slice::<Record>(&entry.value) {
            Ok(record) if record.state == "waiting" => {}
            _ => return Claim::Lost,
        }
        match tokio::time::timeout(
            CLAIM_TIMEOUT,
            store.update(key, self.record("settled"), entry.revision),
        )
        .await
        {
            Ok(Ok(_)) => Claim::Won,
            Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Claim::Lost,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot claim a settled notification");
                Claim::Unavailable
            }
            Err(_) => Claim::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_kv_keys_and_tell_items_apart() {
        let a = key(&"s.1 x".into(), &"p/1".into());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, key(&"s.1".into(), &"x p/1".into()));
    }
}
