//! Notifications "away from the page": the body of a webhook post and of a Web Push
//! message (one [`Notice`] for both), the push subscription a browser registers, and a
//! person's notification settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::ids::{RequestId, SessionId};

/// What waits on a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Moment {
    /// A tool call waits for Allow or Deny.
    Permission,
    /// The agent asked a question.
    Question,
    /// The agent stopped and awaits the next instruction (Claude Code's Stop).
    Stop,
    /// The turn ended by an error (Claude Code's StopFailure: rate limit, overload, …).
    StopFailure,
}

/// Whether the item started waiting or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum NoticeState {
    /// Still waiting after the quiet delay.
    Waiting,
    /// Answered, decided, or the session moved on; only sent for announced items.
    Settled,
}

/// One notification: the JSON body of a webhook post (the `chainwatch` shape) and the
/// payload of a Web Push message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// Unique per notice; a retried delivery repeats it, so receivers can drop doubles.
    pub id: String,
    /// Waiting or settled.
    pub state: NoticeState,
    /// What waits.
    pub moment: Moment,
    /// The session.
    pub session_id: SessionId,
    /// The session for people (its title, or the last part of its cwd).
    pub session_label: String,
    /// The item: the permission request or question id (for a failed stop, the
    /// event's id).
    pub item_id: RequestId,
    /// One line for people, e.g. "Permission: Bash in api-server".
    pub title: String,
    /// What waits, e.g. the command, the question, the agent's last message.
    pub message: String,
    /// Opens the item on the page.
    pub url: String,
    /// When it started waiting.
    pub since: DateTime<Utc>,
    /// When this notice was made.
    pub at: DateTime<Utc>,
    /// How it settled: `allow`, `deny`, `answered` or `moved-on` (settled only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub outcome: Option<String>,
    /// Who answered (the token's name), when a person did (settled only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub by: Option<String>,
}

/// The keys of a browser's push subscription (`PushSubscription.toJSON().keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushKeys {
    /// The browser's P-256 public key, base64url (65 bytes uncompressed).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscription {
    /// The push service URL the server posts to.
    pub endpoint: String,
    /// Its keys.
    pub keys: PushKeys,
    /// Ignored (browsers send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number | null")]
    pub expiration_time: Option<serde_json::Value>,
}

/// `DELETE /api/push/subscriptions`: which subscription to forget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushUnsubscribe {
    /// The subscription's endpoint.
    pub endpoint: String,
}

/// `GET /api/push/key`: what a browser needs to subscribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// The server's VAPID public key, base64url (the `applicationServerKey`).
    pub public_key: String,
    /// How many subscriptions the caller's token has.
    pub subscriptions: u32,
}

/// Which moments notify a person (per token name); every one is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifySettings {
    /// Permission requests.
    #[serde(default = "yes")]
    pub permission: bool,
    /// Questions.
    #[serde(default = "yes")]
    pub question: bool,
    /// A Stop awaiting input.
    #[serde(default = "yes")]
    pub stop: bool,
    /// A failed stop.
    #[serde(default = "yes")]
    pub stop_failure: bool,
    /// Withdraw (push) or post (webhooks) when an announced item settles.
    #[serde(default = "yes")]
    pub settled: bool,
}

fn yes() -> bool {
    true
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            permission: true,
            question: true,
            stop: true,
            stop_failure: true,
            settled: true,
        }
    }
}

impl NotifySettings {
    /// Whether `notice` is one these settings ask for.
    pub fn wants(&self, moment: Moment, state: NoticeState) -> bool {
        let moment_on = match moment {
            Moment::Permission => self.permission,
            Moment::Question => self.question,
            Moment::Stop => self.stop,
            Moment::StopFailure => self.stop_failure,
        };
        moment_on && (state == NoticeState::Waiting || self.settled)
    }
}
