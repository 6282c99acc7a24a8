//! Who may see and write a session: the one rule, used by every path that names a
//! session (the REST routes through their session extractor, ingest for every event of
//! a batch, the socket for subscribe, replay and live delivery, the files routes).
//!
//! A caller's [`Reach`] is everyone's sessions or one user's. A session belongs to the
//! user it was started with; that user is fixed once set (a re-start may not move a
//! session to another user, or another user's viewer would read its whole history).
//! A session outside the caller's reach is reported as not found, so ids of other
//! users' sessions are not confirmed.

use chainwatch_shared::SessionId;

use super::CoreError;
use super::read_model::ReadModel;

/// Whose sessions a caller may see and write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reach {
    /// Every session (unscoped tokens, the local user, the server itself).
    All,
    /// Only sessions whose `user` is this user.
    User(String),
}

impl Reach {
    /// The reach of a token scoped to `user`, or of an unscoped one.
    pub fn of_user(user: Option<&str>) -> Self {
        match user {
            Some(user) => Self::User(user.to_owned()),
            None => Self::All,
        }
    }

    /// Whether a session owned by `owner` is within reach.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::User(user) => owner == Some(user.as_str()),
        }
    }

    /// The user a session this caller starts belongs to: the one asked for, or the
    /// caller's own user when scoped. A scoped caller asking for another user is
    /// refused (403), never silently re-homed.
    pub fn owner_of_new(&self, asked: Option<String>) -> Result<Option<String>, CoreError> {
        match (self, asked) {
            (Self::All, asked) => Ok(asked),
            (Self::User(user), None) => Ok(Some(user.clone())),
            (Self::User(user), Some(asked)) if &asked == user => Ok(Some(asked)),
            (Self::User(user), Some(asked)) => Err(CoreError::Forbidden(format!(
                "this token writes only user '{user}''s sessions; it may not start one as '{asked}'"
            ))),
        }
    }

    /// Checks `id` against the read model: a [`Visible`] session, or not found.
    pub fn check(&self, read: &ReadModel, id: SessionId) -> Result<Visible, CoreError> {
        match read.with_session(&id, |r| self.sees(r.session.user.as_deref())) {
            Some(true) => Ok(Visible {
                id,
                reach: self.clone(),
            }),
            _ => Err(CoreError::session_not_found(&id)),
        }
    }
}

/// The user a session keeps when started again: its owner, fixed once set. Refuses a
/// re-start naming another user (409).
pub fn owner_on_restart(
    id: &SessionId,
    owner: Option<&str>,
    asked: Option<&str>,
) -> Result<(), CoreError> {
    match (owner, asked) {
        (Some(owner), Some(asked)) if owner != asked => Err(CoreError::Conflict(format!(
            "session '{id}' belongs to user '{owner}'; starting it again as '{asked}' would move it"
        ))),
        _ => Ok(()),
    }
}

/// A session id that has passed [`Reach::check`]: the only way to name an existing
/// session to the core's session operations, so no route can skip the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible {
    id: SessionId,
    reach: Reach,
}

impl Visible {
    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The reach it was checked under.
    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    /// For the server's own callers (the file watcher, retention) and tests, which act
    /// on every session.
    pub fn trusted(id: SessionId) -> Self {
        Self {
            id,
            reach: Reach::All,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scoped_reach_sees_and_creates_only_its_user() {
        let alice = Reach::User("alice".into());
        assert!(alice.sees(Some("alice")));
        assert!(!alice.sees(Some("bob")));
        assert!(!alice.sees(None));
        assert!(Reach::All.sees(None));
        assert_eq!(alice.owner_of_new(None).ok(), Some(Some("alice".into())));
        assert!(matches!(
            alice.owner_of_new(Some("bob".into())),
            Err(CoreError::Forbidden(_))
        ));
        assert_eq!(Reach::All.owner_of_new(None).ok(), Some(None));
    }

    #[test]
    fn a_restart_keeps_the_owner() {
        let id = SessionId("s".into());
        assert!(owner_on_restart(&id, Some("bob"), Some("alice")).is_err());
        assert!(owner_on_restart(&id, Some("bob"), None).is_ok());
        assert!(owner_on_restart(&id, Some("bob"), Some("bob")).is_ok());
        assert!(owner_on_restart(&id, None, Some("alice")).is_ok());
    }
}
