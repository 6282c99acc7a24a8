//! The domain core's errors. Each says what was wrong in words a client can act on;
//! `api::error` maps them to HTTP status codes in one place.

use crate::store::StoreError;

/// Why an operation was refused or failed. A refused operation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The session, command, step or request does not exist.
    #[error("{what} '{id}' not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The input is well-formed JSON of the right shape but breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (a scoped token writing as another user).
    #[error("{0}")]
    Forbidden(String),
    /// The operation does not fit the current state (ending an ended session, answering
    /// an answered question, a second session with the same id, …).
    #[error("{0}")]
    Conflict(String),
    /// The event log failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server is shutting down or its commit thread is gone.
    #[error("the server is shutting down")]
    Unavailable,
    /// Too many operations are queued; retry shortly.
    #[error("the commit queue is full; retry shortly")]
    Overloaded,
}

impl CoreError {
    pub(crate) fn session_not_found(id: &impl std::fmt::Display) -> Self {
        Self::NotFound {
            what: "session",
            id: id.to_string(),
        }
    }
}
