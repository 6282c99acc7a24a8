//! Identifier newtypes. Each is a string on the wire (and `string` in TypeScript) but a
//! distinct type in Rust, so a step id can never be passed where a session id is meant.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS, ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a string as this id.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A session; Claude Code's `session_id` when the session comes from the hook.
    SessionId
);
string_id!(
    /// An event's idempotency key: the same id posted twice is stored once.
    EventId
);
string_id!(
    /// A chain of steps within a session.
    ChainId
);
string_id!(
    /// A step of a chain (a subagent, a Task call, a planned step).
    StepId
);
string_id!(
    /// A steering command issued from the dashboard.
    CommandId
);
string_id!(
    /// A question or permission request that waits for a person's answer.
    RequestId
);
