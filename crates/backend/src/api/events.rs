//! Event routes: ingest from agents and hooks (one event or an array), and reading the
//! log since a seq, globally or for one session. Reads send the stored JSON as it is,
//! without decoding and re-encoding it.

use actix_web::{HttpResponse, web};
use chainwatch_shared::{ErrorBody, EventKind, EventList, IngestResponse, NewEvent, SessionId};
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::SessionAccess;
use super::body;
use super::error::ApiError;
use crate::auth::Principal;
use crate::core::CoreError;
use crate::state::AppState;
use crate::store::Scope;

/// Default and largest page of events.
const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

/// Query of the event reads.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with seq > since (default 0: from the start).
    since: Option<u64>,
    /// Instead of `since`: the newest events with seq < before (paging backwards).
    before: Option<u64>,
    /// Page size (default 1000, at most 10000).
    limit: Option<usize>,
}

/// Stores events reported by an agent; all or none. The server assigns each its seq.
/// An `eventId` names one event of one session: posted again into that session it is
/// answered as a `duplicate` with the first copy's seq; into another session, 409.
#[utoipa::path(post, path = "/api/events", tag = "events", request_body = chainwatch_shared::EventBatch,
    responses((status = 201, body = IngestResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ingest(
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = body::read(payload, state.config.max_body_bytes).await?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let events: Vec<NewEvent> = match first {
        None => {
            return Err(ApiError::BadRequest(
                "a JSON body is required: one event or an array of events".into(),
            ));
        }
        Some(b'[') => body::parse(&bytes, state.config.body_limits())?,
        Some(_) => vec![body::parse(&bytes, state.config.body_limits())?],
    };
    if events.len() > state.config.max_batch_events {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} events in one batch; the limit is {}",
            events.len(),
            state.config.max_batch_events
        )));
    }
    // A session:started whose cwd names a file here is refused (the only file-system
    // look-up of ingest, and only for batches that start sessions).
    let cwds: Vec<String> = events
        .iter()
        .map(|event| match &event.kind {
            EventKind::SessionStarted { cwd, .. } => cwd.clone(),
            _ => String::new(),
        })
        .collect();
    if cwds.iter().any(|cwd| !cwd.is_empty()) {
        super::files::refuse_file_cwds(cwds, events.len()).await?;
    }
    let events = state.core.ingest(caller.reach(), events).await?;
    Ok(HttpResponse::Created().json(IngestResponse { events }))
}

/// Every event after `since`, in seq order.
#[utoipa::path(get, path = "/api/events", tag = "events", params(EventsQuery),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody)))]
pub async fn all_events(
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    // User-scoped callers never get here: the route table marks this route as reading
    // every session, and the guard refuses them (api::routes::Sessions::Everyone).
    page(state, None, query.into_inner()).await
}

/// A session's events after `since` (or before `before`), in seq order.
#[utoipa::path(get, path = "/api/sessions/{id}/events", tag = "events", params(("id" = String, Path), EventsQuery),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn session_events(
    state: web::Data<AppState>,
    access: SessionAccess,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    page(state, Some(access.id().clone()), query.into_inner()).await
}

async fn page(
    state: web::Data<AppState>,
    session: Option<SessionId>,
    query: EventsQuery,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    if query.since.is_some() && query.before.is_some() {
        return Err(ApiError::BadRequest(
            "give since or before, not both".into(),
        ));
    }
    let latest = state.core.read().latest_seq();
    let reader = state.reader.clone();
    let (events, has_more) = web::block(move || {
        let scope = session.as_ref().map_or(Scope::All, Scope::Session);
        match query.before {
            Some(before) => {
                // Never past the durable state (the log may hold a batch being synced).
                let before = before.min(latest.saturating_add(1));
                let mut events = reader.read_before(scope, before, limit + 1)?;
                let more = events.len() > limit;
                if more {
                    events.remove(0);
                }
                Ok::<_, crate::store::StoreError>((events, more))
            }
            None => {
                let mut events = reader.read(scope, query.since.unwrap_or(0), latest, limit + 1)?;
                let more = events.len() > limit;
                events.truncate(limit);
                Ok((events, more))
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(CoreError::from)?;
    // The stored JSON is spliced in as it is: no decode, no re-encode.
    let mut out =
        String::with_capacity(64 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    out.push_str("{\"events\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&event.json);
    }
    out.push_str(&format!(
        "],\"latestSeq\":{latest},\"hasMore\":{has_more}}}"
    ));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(out))
}
