//! The push side store: browsers' push subscriptions and people's notification
//! settings, keyed by token name, in one small JSON file in the data dir (`push.json`,
//! owner-only).
//!
//! Why a side store and not the event log: a subscription is a per-browser secret (its
//! keys let anyone who holds them push to that browser), not something that happened in
//! a session. Events are published to every socket and replayed to every client; these
//! must never be. Nothing in a session's state depends on them, so they need none of the
//! log's ordering or replay, and losing one costs a person one re-opt-in. The file is
//! rewritten whole (temp file, fsync, rename) on each change, off the async threads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chainwatch_shared::{NotifySettings, PushSubscription};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Subscriptions one token may keep (its browsers); the oldest goes past it.
pub const MAX_PER_TOKEN: usize = 20;
/// Subscriptions the server keeps in all; past it new ones are refused.
pub const MAX_TOTAL: usize = 2000;

/// One browser that opted in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    /// The token's name: its settings apply, its sessions are the ones it may see.
    pub name: String,
    /// A user-scoped token's user: only that user's sessions notify it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The browser's subscription.
    pub subscription: PushSubscription,
    /// When it opted in.
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    #[serde(default)]
    subscriptions: Vec<Subscriber>,
    #[serde(default)]
    settings: BTreeMap<String, NotifySettings>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The server keeps as many as it may.
    #[error("the server keeps {MAX_TOTAL} push subscriptions already; remove some first")]
    Full,
    /// The file could not be written.
    #[error("cannot save push subscriptions: {0}")]
    Io(String),
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct PushStore {
    path: PathBuf,
    state: Arc<Mutex<Saved>>,
    /// Serializes writes so an older snapshot never lands after a newer one.
    write: Arc<tokio::sync::Mutex<()>>,
}

impl PushStore {
    /// Opens `push.json` in `data_dir` (empty when missing).
    pub fn open(data_dir: &std::path::Path) -> std::io::Result<Self> {
        let path = data_dir.join("push.json");
        let saved = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a push store: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            path,
            state: Arc::new(Mutex::new(saved)),
            write: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Saved> {
        // A panic while holding the lock cannot leave Saved half-changed in a way that
        // matters (each change is one push or retain), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every subscriber, for a send.
    pub fn subscribers(&self) -> Vec<Subscriber> {
        self.lock().subscriptions.clone()
    }

    /// How many subscriptions `name` has.
    pub fn count(&self, name: &str) -> usize {
        self.lock()
            .subscriptions
            .iter()
            .filter(|s| s.name == name)
            .count()
    }

    /// A person's settings (defaults when never set).
    pub fn settings(&self, name: &str) -> NotifySettings {
        self.lock().settings.get(name).copied().unwrap_or_default()
    }

    /// Adds (or refreshes) a subscription for `name`.
    pub async fn subscribe(&self, subscriber: Subscriber) -> Result<(), StoreError> {
        {
            let mut saved = self.lock();
            saved
                .subscriptions
                .retain(|s| s.subscription.endpoint != subscriber.subscription.endpoint);
            if saved.subscriptions.len() >= MAX_TOTAL {
                return Err(StoreError::Full);
            }
            let mine = saved
                .subscriptions
                .iter()
                .filter(|s| s.name == subscriber.name)
                .count();
            if mine >= MAX_PER_TOKEN {
                if let Some(oldest) = saved
                    .subscriptions
                    .iter()
                    .position(|s| s.name == subscriber.name)
                {
                    saved.subscriptions.remove(oldest);
                }
            }
            saved.subscriptions.push(subscriber);
        }
        self.save().await
    }

    /// Removes `name`'s subscription with `endpoint`; whether there was one.
    pub async fn unsubscribe(
        &self,
        name: Option<&str>,
        endpoint: &str,
    ) -> Result<bool, StoreError> {
        {
            let mut saved = self.lock();
            let before = saved.subscriptions.len();
            saved.subscriptions.retain(|s| {
                !(s.subscription.endpoint == endpoint && name.is_none_or(|n| s.name == n))
            });
            if saved.subscriptions.len() == before {
                return Ok(false);
            }
        }
        self.save().await.map(|()| true)
    }

    /// Stores `name`'s settings.
    pub async fn set_settings(
        &self,
        name: &str,
        settings: NotifySettings,
    ) -> Result<(), StoreError> {
        {
            let mut saved = self.lock();
            saved.settings.insert(name.to_owned(), settings);
        }
        self.save().await
    }

    /// Writes the newest state (so concurrent changes all land), one write at a time.
    async fn save(&self) -> Result<(), StoreError> {
        let _writing = self.write.lock().await;
        let current = self.lock().clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let bytes = serde_json::to_vec_pretty(&current).map_err(|e| e.to_string())?;
            super::super::write_private(&path, &bytes).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?
        .map_err(StoreError::Io)
    }
}
