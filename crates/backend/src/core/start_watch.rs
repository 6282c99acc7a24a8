//! Whether a new session's cwd is watched is decided when the session starts, and the
//! answer rides in its `session:started` (`watch`), so a created session is one event
//! and one commit, not a start followed by the watcher's `session:updated {watch}`.
//!
//! The core only asks; the file watcher answers (`crate::watch::StartDecision`). The
//! question is cheap (a `stat` and a `realpath` of the cwd on the commit thread); the
//! watcher's later walk of the tree only adds an event when its outcome differs from the
//! answer given here (a walk that found nothing to watch, or a cap reached).

use chainwatch_shared::WatchState;

/// Decides the watch state a session starting in a cwd gets.
pub trait StartWatch: Send + Sync + 'static {
    /// The state recorded in the `session:started` of a session whose cwd is `cwd`.
    /// Runs on the commit thread: it must be quick (no walk of the tree).
    fn at_start(&self, cwd: &str) -> WatchState;
}
