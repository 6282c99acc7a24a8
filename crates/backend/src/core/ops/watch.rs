//! The file watcher's one operation: record whether a session's cwd is watched.

use chainwatch_shared::{EventKind, Session, SessionId, WatchState};

use super::super::rules;
use super::super::{Core, CoreError};
use super::Stager;

impl Core {
    /// Records the watcher's state for a session (`session:updated { watch }`), blocking
    /// the calling thread until durable. For the watcher's own threads only.
    pub fn set_watch_blocking(
        &self,
        id: SessionId,
        watch: WatchState,
    ) -> Result<Session, CoreError> {
        self.run_blocking(move |s| s.set_watch(&id, watch))
    }
}

impl Stager<'_> {
    /// A no-op (no event) when the session has ended or already has this state.
    pub(super) fn set_watch(
        &mut self,
        id: &SessionId,
        watch: WatchState,
    ) -> Result<Session, CoreError> {
        let record = self.record(id)?;
        // The watcher may learn of an end after it happened: that is not an error, and an
        // ended session keeps the "ended" watch state its end gave it.
        if record.is_ended() || record.session.watch == watch {
            return self.session(id);
        }
        let kind = EventKind::SessionUpdated {
            status: None,
            summary: None,
            title: None,
            model: None,
            watch: Some(watch),
        };
        rules::event_fields(&kind)?;
        self.emit(id, kind, None, None)?;
        self.session(id)
    }
}
