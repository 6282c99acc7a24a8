//! Reporting: delivers a capture's events to the server, live or from the spool, and
//! decides what goes to the spool. Delivery asks the server for the session first when
//! the mapping depends on it, and falls back step by step when the server refuses a
//! batch (a session created elsewhere with the same id, an oversized field, …) so that
//! the payload is always kept in some form: the mapped events without the session start,
//! then the raw payload as `agent:event`.

use std::time::Instant;

use chainwatch_shared::{IngestResponse, NewEvent};

use super::client::{Client, ClientError};
use super::config::HookConfig;
use super::ids;
use super::map::{self, Context, Mapping, Origin, SessionState};
use super::payload::Capture;
use super::spool::{Flush, Spool};

/// What became of this hook run's own event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// The server stored it (or already had it).
    Delivered,
    /// The server was not reachable; it waits in the spool.
    Spooled,
    /// Neither: refused by the server, or the spool could not take it.
    Lost,
}

/// Delivers captures to one server.
pub struct Reporter<'a> {
    /// The client.
    pub client: &'a Client,
    /// The configuration.
    pub config: &'a HookConfig,
    /// The machine.
    pub origin: &'a Origin,
}

impl Reporter<'_> {
    /// Maps and posts one capture; `live` is false for spooled ones.
    pub fn deliver(
        &self,
        capture: &Capture,
        live: bool,
        deadline: Instant,
    ) -> Result<IngestResponse, ClientError> {
        let session = ids::session_id(capture.payload.session_id());
        let detail = if map::needs_session(&capture.payload) {
            self.client.session(&session, deadline)?
        } else {
            None
        };
        let state = match (&detail, map::needs_session(&capture.payload)) {
            (_, false) => SessionState::Unknown,
            (None, true) => SessionState::Absent,
            (Some(detail), true) => SessionState::Present(detail),
        };
        let ctx = Context {
            session: state,
            live,
            permission_wait: !self.config.permission_wait.is_zero(),
            origin: self.origin,
        };
        let mapping = map::map(capture, &ctx);
        self.post_with_fallbacks(&mapping, deadline)
    }

    fn post_with_fallbacks(
        &self,
        mapping: &Mapping,
        deadline: Instant,
    ) -> Result<IngestResponse, ClientError> {
        let fallback = std::slice::from_ref(&mapping.fallback);
        let with_start = |events: &[NewEvent]| -> Vec<NewEvent> {
            mapping.start.iter().chain(events).cloned().collect()
        };
        let mut attempts: Vec<Vec<NewEvent>> = vec![mapping.batch()];
        if mapping.start.is_some() && !mapping.events.is_empty() {
            attempts.push(mapping.events.clone());
        }
        attempts.push(with_start(fallback));
        if mapping.start.is_some() {
            attempts.push(fallback.to_vec());
        }
        let mut last = None;
        for batch in attempts {
            match self.client.post_events(&batch, deadline) {
                Ok(response) => return Ok(response),
                Err(e) if e.is_unreachable() => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "batch refused; trying the next form");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Unreachable("nothing to send".into())))
    }

    /// Reports this run's capture: flushes the spool first when it holds anything (so
    /// events reach the server in order), then delivers the capture live; spools it when
    /// the server cannot be reached.
    pub fn report(&self, spool: &Spool, capture: &Capture, deadline: Instant) -> Reported {
        if spool.has_entries() {
            let flush = spool.flush_now(deadline, |spooled| {
                self.deliver(spooled, false, deadline).map(drop)
            });
            match flush {
                Flush::Done { delivered } => {
                    tracing::info!(delivered, "spool flushed");
                }
                Flush::Stopped { .. } | Flush::Busy => return self.spool(spool, capture),
            }
        }
        match self.deliver(capture, true, deadline) {
            Ok(_) => Reported::Delivered,
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, url = %self.config.url, "chainwatch server unreachable; event spooled");
                self.spool(spool, capture)
            }
            Err(e) => {
                tracing::warn!(error = %e, "event refused by the chainwatch server");
                Reported::Lost
            }
        }
    }

    fn spool(&self, spool: &Spool, capture: &Capture) -> Reported {
        match spool.push(capture) {
            Ok(_) => Reported::Spooled,
            Err(e) => {
                tracing::warn!(error = %e, "event lost: the spool cannot take it");
                Reported::Lost
            }
        }
    }
}
