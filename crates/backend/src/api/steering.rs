//! Steering routes: commands (issue, list, acknowledge), questions (await, answer, and
//! the hook's long poll for the answer) and tool permissions (request, decide, and the
//! long poll for the decision). A second answer to something already answered is a 409.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chainwatch_shared::{
    AcknowledgeCommand, AwaitInput, AwaitingInput, Command, CommandId, CommandList,
    DecidePermission, ErrorBody, InputAnswer, InputState, IssueCommand, PermissionRequest,
    PermissionState, RequestId, RequestPermission, SubmitInput,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::SessionAccess;
use super::body;
use super::error::ApiError;
use crate::core::{CoreError, ReadModel};
use crate::state::AppState;

/// The `{commandId}` of a command route (`{id}` is [`SessionAccess`]'s).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandPath {
    command_id: CommandId,
}

/// The `{requestId}` of a permission route (`{id}` is [`SessionAccess`]'s).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPath {
    request_id: RequestId,
}

/// Query of the long polls.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// How long to wait for an answer, in milliseconds (0: answer at once).
    wait_ms: Option<u64>,
    /// The question whose answer is wanted (input only); the newest answer when missing.
    request_id: Option<RequestId>,
}

/// Waits until `check` finds something, the wait ends or the server begins to shut down
/// (so a long poll never holds up a shutdown); re-checks after every commit.
async fn wait_for<T>(
    state: &AppState,
    wait: Duration,
    check: impl Fn(&ReadModel) -> Option<T>,
) -> Option<T> {
    let read = state.core.read();
    let mut changes = read.changes();
    let mut stopping = state.shutdown.subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        changes.borrow_and_update();
        if let Some(found) = check(read) {
            return Some(found);
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    return check(read);
                }
            }
            _ = stopping.wait_for(|stop| *stop) => return check(read),
        }
    }
}

fn wait_of(state: &AppState, query: &WaitQuery) -> Duration {
    Duration::from_millis(query.wait_ms.unwrap_or(0)).min(state.config.max_wait)
}

/// Issues pause, resume, cancel, retry or skip; emits `command:issued`.
#[utoipa::path(post, path = "/api/sessions/{id}/commands", tag = "steering", params(("id" = String, Path)), request_body = IssueCommand,
    responses((status = 201, body = Command), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn issue_command(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: IssueCommand = body::json(payload, state.config.body_limits()).await?;
    let issued = state
        .core
        .issue_command(access.session, request, access.caller.by())
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Commands not yet acknowledged, and whether the session is paused.
#[utoipa::path(get, path = "/api/sessions/{id}/commands", tag = "steering", params(("id" = String, Path)),
    responses((status = 200, body = CommandList), (status = 404, body = ErrorBody)))]
pub async fn list_commands(
    state: web::Data<AppState>,
    access: SessionAccess,
) -> Result<HttpResponse, ApiError> {
    let list = state
        .core
        .read()
        .with_session(access.id(), |r| CommandList {
            commands: r.session.pending_commands.clone(),
            paused: r.session.paused,
        })
        .ok_or_else(|| CoreError::session_not_found(access.id()))?;
    Ok(HttpResponse::Ok().json(list))
}

/// The agent acted on a command; emits `command:acknowledged`.
#[utoipa::path(post, path = "/api/sessions/{id}/commands/{commandId}/ack", tag = "steering",
    params(("id" = String, Path), ("commandId" = String, Path)), request_body(content = Option<AcknowledgeCommand>),
    responses((status = 200, body = Command), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge_command(
    state: web::Data<AppState>,
    access: SessionAccess,
    path: web::Path<CommandPath>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: AcknowledgeCommand =
        body::optional_json(payload, state.config.body_limits()).await?;
    let command_id = path.into_inner().command_id;
    let acked = state
        .core
        .acknowledge_command(access.session, command_id, request)
        .await?;
    Ok(HttpResponse::Ok().json(acked))
}

/// The agent waits for a person's answer; emits `interaction:awaiting-input`.
#[utoipa::path(post, path = "/api/sessions/{id}/awaiting-input", tag = "steering", params(("id" = String, Path)), request_body = AwaitInput,
    responses((status = 201, body = AwaitingInput), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn await_input(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: AwaitInput = body::json(payload, state.config.body_limits()).await?;
    let awaiting = state.core.await_input(access.session, request).await?;
    Ok(HttpResponse::Created().json(awaiting))
}

/// Answers the session's open question; emits `interaction:input-received`.
#[utoipa::path(post, path = "/api/sessions/{id}/input", tag = "steering", params(("id" = String, Path)), request_body = SubmitInput,
    responses((status = 201, body = InputAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit_input(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: SubmitInput = body::json(payload, state.config.body_limits()).await?;
    let answer = state
        .core
        .submit_input(access.session, request, access.caller.by())
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// The answer to a question, waiting up to `waitMs` for it (the hook's long poll).
#[utoipa::path(get, path = "/api/sessions/{id}/input", tag = "steering", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = InputState), (status = 404, body = ErrorBody)))]
pub async fn wait_input(
    state: web::Data<AppState>,
    access: SessionAccess,
    query: web::Query<WaitQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = access.id();
    let wait = wait_of(&state, &query);
    let lookup = |read: &ReadModel| {
        read.with_session(id, |r| {
            let answer = match &query.request_id {
                Some(request_id) => r.answer(request_id).cloned(),
                None => r.answers.back().cloned(),
            };
            let open = r.session.awaiting_input.as_ref().is_some_and(|a| {
                query
                    .request_id
                    .as_ref()
                    .is_none_or(|asked| asked == &a.request_id)
            });
            (answer, open)
        })
    };
    // Returns as soon as there is an answer, or the question was settled without one.
    let found = wait_for(&state, wait, |read| {
        lookup(read).filter(|(answer, open)| answer.is_some() || !open)
    })
    .await
    .or_else(|| lookup(state.core.read()));
    let (answer, open) = found.unwrap_or((None, false));
    Ok(HttpResponse::Ok().json(InputState { answer, open }))
}

/// A tool call waits for a decision; emits `permission:requested`. Idempotent by requestId.
#[utoipa::path(post, path = "/api/sessions/{id}/permissions", tag = "steering", params(("id" = String, Path)), request_body = RequestPermission,
    responses((status = 201, body = PermissionRequest), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_permission(
    state: web::Data<AppState>,
    access: SessionAccess,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: RequestPermission = body::json(payload, state.config.body_limits()).await?;
    let asked = state
        .core
        .request_permission(access.session, request)
        .await?;
    Ok(HttpResponse::Created().json(asked))
}

/// Allows or denies a tool call; the first answer wins, a second gets 409.
#[utoipa::path(post, path = "/api/sessions/{id}/permissions/{requestId}", tag = "steering",
    params(("id" = String, Path), ("requestId" = String, Path)), request_body = DecidePermission,
    responses((status = 200, body = PermissionRequest), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_permission(
    state: web::Data<AppState>,
    access: SessionAccess,
    path: web::Path<RequestPath>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: DecidePermission = body::json(payload, state.config.body_limits()).await?;
    let request_id = path.into_inner().request_id;
    let decided = state
        .core
        .decide_permission(access.session, request_id, request, access.caller.by())
        .await?;
    Ok(HttpResponse::Ok().json(decided))
}

/// A permission request, waiting up to `waitMs` for its decision (the hook's long poll).
#[utoipa::path(get, path = "/api/sessions/{id}/permissions/{requestId}", tag = "steering",
    params(("id" = String, Path), ("requestId" = String, Path), WaitQuery),
    responses((status = 200, body = PermissionState), (status = 404, body = ErrorBody)))]
pub async fn wait_permission(
    state: web::Data<AppState>,
    access: SessionAccess,
    path: web::Path<RequestPath>,
    query: web::Query<WaitQuery>,
) -> Result<HttpResponse, ApiError> {
    let request_id = path.into_inner().request_id;
    let read = state.core.read();
    let id = access.id();
    let lookup = |read: &ReadModel| {
        read.with_session(id, |r| r.permission(&request_id).cloned())
            .flatten()
    };
    if lookup(read).is_none() {
        return Err(CoreError::NotFound {
            what: "permission request",
            id: request_id.to_string(),
        }
        .into());
    }
    let decided = wait_for(&state, wait_of(&state, &query), |read| {
        lookup(read).filter(|p| p.decision.is_some() || p.settled_at.is_some())
    })
    .await;
    let request = match decided {
        Some(request) => request,
        None => lookup(read).ok_or_else(|| CoreError::NotFound {
            what: "permission request",
            id: request_id.to_string(),
        })?,
    };
    Ok(HttpResponse::Ok().json(PermissionState { request }))
}
