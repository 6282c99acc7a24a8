//! Ingest (`POST /api/events`): events as agents report them, checked one by one
//! against the state the earlier ones of the batch would leave, then stored all or none.

use std::collections::{HashMap, HashSet};

use chainwatch_shared::{EventId, EventKind, IngestedEvent, NewEvent, SessionId, SessionStatus};

use super::super::access::{self, Reach};
use super::super::rules;
use super::super::{Core, CoreError};
use super::Stager;

impl Core {
    /// Stores agent-reported events, all or none; one entry per event, in order. Every
    /// event must name a session within `reach`; a scoped caller's `session:started`
    /// is recorded as its user's.
    pub async fn ingest(
        &self,
        reach: Reach,
        events: Vec<NewEvent>,
    ) -> Result<Vec<IngestedEvent>, CoreError> {
        self.run(move |s| s.ingest(&reach, events)).await
    }

    /// [`Core::ingest`] for the server's own threads (the file watcher), which reach
    /// every session: blocks until durable.
    pub fn ingest_blocking(&self, events: Vec<NewEvent>) -> Result<Vec<IngestedEvent>, CoreError> {
        self.run_blocking(move |s| s.ingest(&Reach::All, events))
    }
}

impl Stager<'_> {
    pub(super) fn ingest(
        &mut self,
        reach: &Reach,
        events: Vec<NewEvent>,
    ) -> Result<Vec<IngestedEvent>, CoreError> {
        if events.is_empty() {
            return Err(CoreError::Invalid(
                "no events: post one event or a non-empty array".into(),
            ));
        }
        // The server decides whether it watches a cwd, not the agent: a `watch` an agent
        // sends is dropped before the rules run (so `{watch}` alone is nothing to update).
        let events: Vec<NewEvent> = events.into_iter().map(without_watch).collect();
        // Pass 1: check every event against the state as the earlier ones would leave
        // it, without changing anything, so that a batch is stored whole or not at all.
        let mut live: HashMap<SessionId, bool> = HashMap::new();
        // The user of each session this batch starts, as the session will record it.
        let mut started_owner: HashMap<SessionId, Option<String>> = HashMap::new();
        let mut seen_ids: HashSet<EventId> = HashSet::new();
        let mut duplicates: HashMap<usize, u64> = HashMap::new();
        for (index, event) in events.iter().enumerate() {
            let at = |e: CoreError| prefix(index, events.len(), e);
            if let Some(event_id) = &event.event_id {
                rules::id("eventId", event_id.as_str()).map_err(at)?;
            }
            rules::id("sessionId", event.session_id.as_str()).map_err(at)?;
            let id = &event.session_id;
            let owner: Option<Option<String>> = started_owner.get(id).cloned().or_else(|| {
                self.projection
                    .sessions
                    .get(id)
                    .map(|r| r.session.user.clone())
            });
            let visible = owner.as_ref().is_none_or(|o| reach.sees(o.as_deref()));
            // Who may write the session comes before the eventId look-up, so a
            // duplicate's answer never confirms an event of another user's session.
            if !visible {
                return Err(at(match &event.kind {
                    EventKind::SessionStarted { .. } => CoreError::Forbidden(format!(
                        "session '{id}' is not this token's to start: it belongs to another user"
                    )),
                    _ => CoreError::session_not_found(id),
                }));
            }
            if let Some(event_id) = &event.event_id {
                if !seen_ids.insert(event_id.clone()) {
                    return Err(at(CoreError::Invalid(format!(
                        "eventId '{event_id}' appears twice in the batch"
                    ))));
                }
                if let Some(stored) = self.existing(event_id).map_err(at)? {
                    // An eventId names one event of one session: a repeat into another
                    // session is not that event (and must not confirm what is stored
                    // there), so it is refused rather than answered as a duplicate.
                    if stored.session_id != *id {
                        return Err(at(CoreError::Conflict(format!(
                            "eventId '{event_id}' is already taken by an event of another session; eventIds are unique across the log"
                        ))));
                    }
                    duplicates.insert(index, stored.seq);
                    continue;
                }
            }
            rules::event_fields(&event.kind).map_err(at)?;
            if let EventKind::SessionStarted { user, .. } = &event.kind {
                let Some(owner) = &owner else {
                    started_owner.insert(id.clone(), reach.owner_of_new(user.clone()).map_err(at)?);
                    live.insert(id.clone(), true);
                    continue;
                };
                access::owner_on_restart(id, owner.as_deref(), user.as_deref()).map_err(at)?;
                let kept = owner.clone().or_else(|| user.clone());
                started_owner.insert(id.clone(), kept);
            }
            let known = live
                .get(id)
                .copied()
                .or_else(|| self.projection.sessions.get(id).map(|r| !r.is_ended()));
            match &event.kind {
                EventKind::SessionStarted { .. } => {
                    if known == Some(true) {
                        return Err(at(CoreError::Conflict(format!(
                            "session '{id}' has already started; send session:updated to change it"
                        ))));
                    }
                    live.insert(id.clone(), true);
                }
                EventKind::SessionUpdated { .. } => {
                    if known.is_none() {
                        return Err(at(CoreError::session_not_found(id)));
                    }
                    if known == Some(false) {
                        return Err(at(CoreError::Conflict(format!(
                            "session '{id}' has ended; it cannot be updated"
                        ))));
                    }
                }
                EventKind::SessionEnded { .. } => {
                    match known {
                        None => return Err(at(CoreError::session_not_found(id))),
                        Some(false) => {
                            return Err(at(CoreError::Conflict(format!(
                                "session '{id}' has already ended"
                            ))));
                        }
                        Some(true) => {}
                    }
                    live.insert(id.clone(), false);
                }
                EventKind::SessionPruned {} => {
                    return Err(at(CoreError::Invalid(
                        "session:pruned is recorded by retention only".into(),
                    )));
                }
                EventKind::CommandIssued { .. }
                | EventKind::PermissionDecided { .. }
                | EventKind::InteractionInputReceived { .. } => {
                    return Err(at(CoreError::Invalid(format!(
                        "{} is a person's decision: use the session's commands, permissions or input route",
                        event.kind.type_name()
                    ))));
                }
                EventKind::CommandAcknowledged { command_id, .. } => {
                    if known.is_none() {
                        return Err(at(CoreError::session_not_found(id)));
                    }
                    self.check_ack(id, command_id).map_err(at)?;
                }
                _ => {
                    if known.is_none() {
                        return Err(at(CoreError::NotFound {
                            what: "session",
                            id: format!(
                                "{id}' (send session:started first, or create it with POST /api/sessions"
                            ),
                        }));
                    }
                }
            }
        }
        // Pass 2: emit.
        let mut results = Vec::with_capacity(events.len());
        for (index, event) in events.into_iter().enumerate() {
            if let Some(&seq) = duplicates.get(&index) {
                let event_id = event.event_id.unwrap_or_else(|| EventId(String::new()));
                results.push(IngestedEvent {
                    event_id,
                    seq,
                    duplicate: true,
                });
                continue;
            }
            self.announce_activity(&event.session_id, &event.kind)?;
            let kind = self.stamp_step(&event.session_id, event.kind);
            let kind = stamp_cost(self.prices, kind);
            let kind = self.stamp_reported(&event.session_id, kind);
            // The server decides whether it watches a cwd, not the agent; a scoped
            // caller's sessions are its user's (checked in pass 1).
            let kind = match kind {
                EventKind::SessionStarted {
                    cwd,
                    hostname,
                    platform,
                    user,
                    model,
                    title,
                    source,
                    ..
                } => EventKind::SessionStarted {
                    watch: self.start_watch.map(|w| w.at_start(&cwd)),
                    cwd,
                    hostname,
                    platform,
                    user: match reach {
                        Reach::All => user,
                        Reach::User(own) => Some(own.clone()),
                    },
                    model,
                    title,
                    source,
                },
                other => other,
            };
            results.push(self.emit(&event.session_id, kind, event.event_id, event.timestamp)?);
        }
        Ok(results)
    }

    /// The first sign of work moves a pending session to active. The change is
    /// recorded as its own global `session:updated`, so session lists (which do not
    /// hear a session's tool calls) see it live.
    fn announce_activity(
        &mut self,
        session: &SessionId,
        kind: &EventKind,
    ) -> Result<(), CoreError> {
        let activity = matches!(
            kind,
            EventKind::ToolUsed { .. }
                | EventKind::PromptSubmitted { .. }
                | EventKind::StepSpawned { .. }
                | EventKind::StepStarted { .. }
                | EventKind::ChainStarted { .. }
        );
        let pending = self
            .projection
            .sessions
            .get(session)
            .is_some_and(|r| r.session.status == SessionStatus::Pending);
        if activity && pending {
            let update = EventKind::SessionUpdated {
                status: Some(SessionStatus::Active),
                summary: None,
                title: None,
                model: None,
                watch: None,
            };
            self.emit(session, update, None, None)?;
        }
        Ok(())
    }

    /// The one place telemetry and estimates meet: a `usage:reported` takes back the
    /// estimate of its prompt (on the prompt's first report), and a `message:assistant`
    /// of a prompt telemetry already reported is marked `superseded`. Whatever the
    /// agent put in those two fields is replaced, so the totals cannot be skewed.
    fn stamp_reported(&self, session: &SessionId, kind: EventKind) -> EventKind {
        let ledger = |prompt: &Option<String>| {
            self.projection
                .sessions
                .get(session)
                .and_then(|r| r.prompt_usage.get(prompt.as_deref().unwrap_or_default()))
        };
        match kind {
            EventKind::UsageReported {
                prompt_id,
                model,
                usage,
                cost_usd,
                duration_ms,
                request_id,
                replaces: _,
            } => {
                let replaces = ledger(&prompt_id)
                    .filter(|l| !l.reported && !l.estimate.is_empty())
                    .map(|l| l.estimate.clone());
                EventKind::UsageReported {
                    prompt_id,
                    model,
                    usage,
                    cost_usd,
                    duration_ms,
                    request_id,
                    replaces,
                }
            }
            EventKind::MessageAssistant {
                text,
                model,
                usage,
                cost_usd,
                message_id,
                step_id,
                prompt_id,
                superseded: _,
            } => EventKind::MessageAssistant {
                superseded: ledger(&prompt_id)
                    .is_some_and(|l| l.reported)
                    .then_some(true),
                text,
                model,
                usage,
                cost_usd,
                message_id,
                step_id,
                prompt_id,
            },
            other => other,
        }
    }

    /// File events without a step get the session's running step, so the files view can
    /// tie a change to the step that made it.
    fn stamp_step(&self, session: &SessionId, kind: EventKind) -> EventKind {
        let current = || {
            self.projection
                .sessions
                .get(session)
                .and_then(|r| r.session.current_step_id.clone())
        };
        match kind {
            EventKind::FileCreated {
                path,
                step_id: None,
            } => EventKind::FileCreated {
                path,
                step_id: current(),
            },
            EventKind::FileModified {
                path,
                step_id: None,
            } => EventKind::FileModified {
                path,
                step_id: current(),
            },
            EventKind::FileDeleted {
                path,
                step_id: None,
            } => EventKind::FileDeleted {
                path,
                step_id: current(),
            },
            other => other,
        }
    }
}

/// An agent's event without the `watch` state only the server sets.
fn without_watch(mut event: NewEvent) -> NewEvent {
    match &mut event.kind {
        EventKind::SessionStarted { watch, .. } | EventKind::SessionUpdated { watch, .. } => {
            *watch = None;
        }
        _ => {}
    }
    event
}

/// Names the failing event of a batch, so a client knows which to fix.
fn prefix(index: usize, len: usize, error: CoreError) -> CoreError {
    if len == 1 {
        return error;
    }
    match error {
        CoreError::Invalid(m) => CoreError::Invalid(format!("events[{index}]: {m}")),
        CoreError::Conflict(m) => CoreError::Conflict(format!("events[{index}]: {m}")),
        CoreError::NotFound { what, id } => CoreError::NotFound {
            what,
            id: format!("{id}' (events[{index}]"),
        },
        other => other,
    }
}

/// A `message:assistant` with usage and a model but no cost gets the price table's.
fn stamp_cost(prices: &crate::core::pricing::PriceTable, kind: EventKind) -> EventKind {
    match kind {
        EventKind::MessageAssistant {
            text,
            model,
            usage,
            cost_usd: None,
            message_id,
            step_id,
            prompt_id,
            superseded,
        } => {
            let cost_usd = match (&model, &usage) {
                (Some(model), Some(usage)) => prices.cost(model, usage),
                _ => None,
            };
            EventKind::MessageAssistant {
                text,
                model,
                usage,
                cost_usd,
                message_id,
                step_id,
                prompt_id,
                superseded,
            }
        }
        EventKind::UsageReported {
            prompt_id,
            model,
            usage,
            cost_usd: None,
            duration_ms,
            request_id,
            replaces,
        } => EventKind::UsageReported {
            cost_usd: model.as_deref().and_then(|m| prices.cost(m, &usage)),
            prompt_id,
            model,
            usage,
            duration_ms,
            request_id,
            replaces,
        },
        other => other,
    }
}
