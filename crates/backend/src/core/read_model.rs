//! The read model: what queries see. It holds only durable state: the commit thread
//! folds events into it after their transaction is on disk, never before, so a reader
//! can never observe a change that a crash could take back.

use chainwatch_shared::{Session, SessionDetail, SessionId, SessionStatus, WorkspaceEvent};
use dashmap::DashMap;
use tokio::sync::watch;

use super::projection::{Projection, SessionRecord};

/// Filters of the session list.
#[derive(Debug, Default, Clone)]
pub struct SessionFilter {
    /// Any of these statuses.
    pub statuses: Vec<SessionStatus>,
    /// Only live (false) or only ended (true) sessions.
    pub ended: Option<bool>,
    /// Exact user.
    pub user: Option<String>,
    /// Exact hostname.
    pub host: Option<String>,
    /// Case-insensitive text in id, cwd, title, summary, user, hostname or its prompts
    /// (the newest `PROMPTS_KEPT`).
    pub text: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Sessions to skip.
    pub offset: usize,
}

impl SessionFilter {
    fn matches(&self, record: &SessionRecord) -> bool {
        let s = &record.session;
        if !self.statuses.is_empty() && !self.statuses.contains(&s.status) {
            return false;
        }
        if self
            .ended
            .is_some_and(|ended| ended != s.status.is_terminal())
        {
            return false;
        }
        if self
            .user
            .as_ref()
            .is_some_and(|u| s.user.as_ref() != Some(u))
        {
            return false;
        }
        if self
            .host
            .as_ref()
            .is_some_and(|h| s.hostname.as_ref() != Some(h))
        {
            return false;
        }
        if let Some(text) = &self.text {
            let needle = text.to_lowercase();
            let hay = [
                Some(s.id.as_str()),
                Some(s.cwd.as_str()),
                s.title.as_deref(),
                s.summary.as_deref(),
                s.user.as_deref(),
                s.hostname.as_deref(),
            ];
            if !hay
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(&needle))
                && !record.prompts.iter().any(|p| p.contains(&needle))
            {
                return false;
            }
        }
        true
    }
}

/// Durable state for queries, shared by every request.
pub struct ReadModel {
    sessions: DashMap<SessionId, SessionRecord>,
    seq: watch::Sender<u64>,
}

impl ReadModel {
    /// A read model holding `projection`, whose newest event is `seq`.
    pub fn new(projection: Projection, seq: u64) -> Self {
        Self {
            sessions: projection.sessions.into_iter().collect(),
            seq: watch::Sender::new(seq),
        }
    }

    /// Folds durable events in seq order, then announces the new newest seq.
    pub(super) fn apply(&self, events: &[std::sync::Arc<WorkspaceEvent>]) {
        let Some(last) = events.last() else { return };
        for event in events {
            if let chainwatch_shared::EventKind::SessionPruned {} = event.kind {
                self.sessions.remove(&event.session_id);
                continue;
            }
            match self.sessions.get_mut(&event.session_id) {
                Some(mut record) => record.apply(event),
                None => {
                    if let Some(record) = SessionRecord::start(event) {
                        self.sessions.insert(event.session_id.clone(), record);
                    }
                }
            }
        }
        self.seq.send_replace(last.seq);
    }

    /// Replaces every record with `projection`'s, whose newest event is `seq` (the NATS
    /// store's start-up, which folds the stream's tail into the projection alone).
    pub(super) fn reset(&self, projection: &Projection, seq: u64) {
        self.sessions
            .retain(|id, _| projection.sessions.contains_key(id));
        for (id, record) in &projection.sessions {
            self.sessions.insert(id.clone(), record.clone());
        }
        self.seq.send_replace(seq);
    }

    /// A copy of every record, for the commit thread to recover from a failed commit.
    pub(super) fn snapshot(&self) -> Projection {
        Projection {
            sessions: self
                .sessions
                .iter()
                .map(|r| (r.key().clone(), r.value().clone()))
                .collect(),
        }
    }

    /// The newest durable seq.
    pub fn latest_seq(&self) -> u64 {
        *self.seq.borrow()
    }

    /// Wakes on every commit: long polls wait on this and then re-check their condition.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.seq.subscribe()
    }

    /// Runs `read` on a session's record.
    pub fn with_session<T>(
        &self,
        id: &SessionId,
        read: impl FnOnce(&SessionRecord) -> T,
    ) -> Option<T> {
        self.sessions.get(id).map(|record| read(&record))
    }

    /// A session for lists.
    pub fn session(&self, id: &SessionId) -> Option<Session> {
        self.with_session(id, |r| r.session.clone())
    }

    /// A session with its chains.
    pub fn detail(&self, id: &SessionId) -> Option<SessionDetail> {
        self.with_session(id, SessionRecord::detail)
    }

    /// How many sessions there are.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A page of the sessions matching `filter`, newest first, and how many match in all.
    pub fn sessions(&self, filter: &SessionFilter) -> (Vec<Session>, u64) {
        let mut matching: Vec<Session> = self
            .sessions
            .iter()
            .filter(|r| filter.matches(r))
            .map(|r| r.session.clone())
            .collect();
        matching.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        let total = matching.len() as u64;
        let page = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        (page, total)
    }
}
