//! Retention's operation: remove sessions that ended before a cutoff.

use chainwatch_shared::{EventKind, SessionId};
use chrono::{DateTime, Utc};

use super::super::{Core, CoreError};
use super::Stager;

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// The sessions removed.
    pub sessions: Vec<SessionId>,
    /// How many events went with them.
    pub events: u64,
}

impl Core {
    /// Removes sessions that ended before `ended_before`, with their events.
    pub async fn prune(&self, ended_before: DateTime<Utc>) -> Result<Pruned, CoreError> {
        self.run(move |s| s.prune(ended_before)).await
    }
}

impl Stager<'_> {
    /// Deletes the sessions' events in its own transaction, then records one
    /// `session:pruned` per session so open lists drop them. A crash between the two
    /// leaves the sessions gone (their events are), just unannounced until reload.
    pub(super) fn prune(&mut self, cutoff: DateTime<Utc>) -> Result<Pruned, CoreError> {
        let sessions =
            super::super::projection::ended_before(self.projection.sessions.values(), cutoff);
        if sessions.is_empty() {
            return Ok(Pruned::default());
        }
        // A snapshot taken before this would hold sessions the log no longer has.
        if let Some(snapshots) = self.snapshots {
            snapshots.invalidate();
        }
        let events = self.writer.delete_sessions(&sessions)?;
        for id in &sessions {
            self.emit(id, EventKind::SessionPruned {}, None, None)?;
        }
        Ok(Pruned { sessions, events })
    }
}
