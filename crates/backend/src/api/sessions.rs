//! Session routes: create, list (filters and paging), get, update, end.

use actix_web::{HttpResponse, web};
use chainwatch_shared::{
    CreateSession, EndSession, ErrorBody, Session, SessionDetail, SessionList, SessionStatus,
    UpdateSession,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::SessionAccess;
use super::body;
use super::error::ApiError;
use crate::auth::Principal;
use crate::core::{CoreError, SessionFilter};
use crate::state::AppState;

/// The most sessions one page returns.
const MAX_PAGE: usize = 1000;

/// Query of `GET /api/sessions`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated statuses, e.g. `active,waiting`.
    status: Option<String>,
    /// `true` for ended sessions (history), `false` for live ones.
    ended: Option<bool>,
    /// Exact user.
    user: Option<String>,
    /// Exact hostname.
    host: Option<String>,
    /// Text to find in id, cwd, title, summary, user or host.
    q: Option<String>,
    /// Page size (default 100, at most 1000).
    limit: Option<usize>,
    /// Sessions to skip.
    offset: Option<usize>,
}

/// Creates a session and emits `session:started` to every socket.
#[utoipa::path(post, path = "/api/sessions", tag = "sessions", request_body = CreateSession,
    responses((status = 201, body = Session), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: CreateSession = body::json(payload, state.config.body_limits()).await?;
    super::files::refuse_file_cwds(vec![request.cwd.clone()], 1).await?;
    let mut created = state.core.create_session(&caller.reach(), request).await?;
    if created.watch.watched {
        created = watched_from_now(&state, created).await;
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/sessions/{}", created.id)))
        .json(created))
}

/// Longest `POST /api/sessions` waits for the file watcher to have a new session's cwd
/// under watch before answering (a large tree takes a while to walk).
const WATCH_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The session decided at its start to be watched: waits (at most [`WATCH_READY_WAIT`])
/// until the watcher has its watches in place, so that "watched" in the 201 holds for
/// any change made after it, and answers the session as it stands then (a walk that
/// found nothing to watch has changed it).
async fn watched_from_now(state: &AppState, created: Session) -> Session {
    let Some(mut ready) = state.watch_ready.clone() else {
        return created;
    };
    let seq = created.last_seq;
    if tokio::time::timeout(WATCH_READY_WAIT, ready.wait_for(|done| *done >= seq))
        .await
        .is_err()
    {
        tracing::warn!(session = %created.id, "the file watcher has not caught up; answering without waiting");
    }
    state.core.read().session(&created.id).unwrap_or(created)
}

/// Lists sessions, newest first.
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(ListQuery),
    responses((status = 200, body = SessionList), (status = 400, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = query.into_inner();
    if let Some(user) = &caller.user {
        // A user-scoped token sees its user's sessions only: asking for another user's
        // finds nothing rather than widening (or silently changing) the question.
        if query.user.as_ref().is_some_and(|asked| asked != user) {
            return Ok(HttpResponse::Ok().json(SessionList {
                sessions: Vec::new(),
                total: 0,
            }));
        }
        query.user = Some(user.clone());
    }
    let statuses = match &query.status {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                serde_json::from_value::<SessionStatus>(serde_json::Value::String(
                    s.trim().to_owned(),
                ))
                .map_err(|_| ApiError::BadRequest(format!("unknown status {s:?}")))
            })
            .collect::<Result<_, _>>()?,
    };
    let filter = SessionFilter {
        statuses,
        ended: query.ended,
        user: query.user,
        host: query.host,
        text: query.q.filter(|q| !q.is_empty()),
        limit: query.limit.unwrap_or(100).min(MAX_PAGE),
        offset: query.offset.unwrap_or(0),
    };
    let (sessions, total) = state.core.read().sessions(&filter);
    Ok(HttpResponse::Ok().json(SessionList { sessions, total }))
}

/// A session with its chains and steps.
#[utoipa::path(get, path = "/api/sessions/{id}", tag = "sessions", params(("id" = String, Path)),
    responses((status = 200, body = SessionDetail), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    access: SessionAccess,
) -> Result<HttpResponse, ApiError> {
    let detail = state
        .core
        .read()
        .detail(access.id())
        .ok_or_else(|| CoreError::session_not_found(access.id()))?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Changes status, summary, title or model; emits `session:updated`.
#[utoipa::path(put, path = "/api/sessions/{id}", tag = "sessions", params(("id" = String, Path)), request_body = UpdateSession,
    responses((status = 200, body = Session), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: UpdateSession = body::json(payload, state.config.body_limits()).await?;
    let updated = state.core.update_session(access.session, request).await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// Ends a session (completed unless told otherwise); emits `session:ended`.
#[utoipa::path(post, path = "/api/sessions/{id}/end", tag = "sessions", params(("id" = String, Path)), request_body(content = Option<EndSession>),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn end(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: EndSession = body::optional_json(payload, state.config.body_limits()).await?;
    let ended = state.core.end_session(access.session, request).await?;
    Ok(HttpResponse::Ok().json(ended))
}
