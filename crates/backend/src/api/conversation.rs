//! The conversation routes: search across every session (`GET /api/search`) and the
//! export of one session as JSONL or Markdown (`GET /api/sessions/{id}/export`). Both
//! only read: search the full-text index, export the event log (streamed page by page).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chainwatch_shared::{ErrorBody, SearchResults, SessionId, WorkspaceEvent};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::access::SessionAccess;
use super::error::ApiError;
use crate::auth::Principal;
use crate::core::{CoreError, Reach};
use crate::export::{MarkdownExport, header};
use crate::search::{Query, SearchError};
use crate::state::AppState;
use crate::store::Scope;

/// Hits of a search when `limit` is not given.
const DEFAULT_HITS: usize = 50;
/// Events read from the log per export page.
const EXPORT_PAGE: usize = 2000;

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The words to find (every word must appear; the last may be a prefix).
    q: String,
    /// Only this session's events.
    session_id: Option<SessionId>,
    /// Only events with seq > since.
    since: Option<u64>,
    /// Most hits (default 50, at most the server's `--search-max-results`, 200).
    limit: Option<usize>,
}

/// Finds events across every session the caller may see, newest first.
#[utoipa::path(get, path = "/api/search", tag = "conversation", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    if query.q.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "q is required: the words to search for".into(),
        ));
    }
    if query.q.len() > 1024 {
        return Err(ApiError::BadRequest("q is longer than 1024 bytes".into()));
    }
    if let Some(id) = &query.session_id {
        caller.reach().check(state.core.read(), id.clone())?;
    }
    let limit = query
        .limit
        .unwrap_or(DEFAULT_HITS)
        .clamp(1, state.config.search.max_results);
    let max_scanned = state.config.search.max_scanned;
    let read = state.core.read().clone();
    let index = state.search.clone();
    let results = web::block(move || {
        let reach = caller.reach();
        let visible = |session: &str| {
            reach == Reach::All
                || read
                    .with_session(&SessionId::from(session), |r| {
                        reach.sees(r.session.user.as_deref())
                    })
                    .unwrap_or(false)
        };
        index.search(
            &Query {
                text: &query.q,
                session: query.session_id.as_ref(),
                since: query.since.unwrap_or(0),
                limit,
                max_scanned,
            },
            &visible,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| match e {
        SearchError::EmptyQuery => ApiError::BadRequest(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    })?;
    Ok(HttpResponse::Ok().json(SearchResults { results }))
}

/// The formats of an export.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Every event, one JSON object per line, in seq order.
    Jsonl,
    /// The conversation as Markdown.
    Markdown,
}

/// Query of `GET /api/sessions/{id}/export`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (default) or `markdown`.
    #[param(inline)]
    format: Option<ExportFormat>,
}

/// A session's events as JSONL, or its conversation as Markdown, as a download.
#[utoipa::path(get, path = "/api/sessions/{id}/export", tag = "conversation",
    params(("id" = String, Path), ExportQuery),
    responses((status = 200, description = "The events as JSONL, or the conversation as Markdown, as an attachment",
            content((String = "application/x-ndjson"), (String = "text/markdown; charset=utf-8"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    state: web::Data<AppState>,
    access: SessionAccess,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = access.id().clone();
    let session = state
        .core
        .read()
        .with_session(&id, |r| r.session.clone())
        .ok_or_else(|| CoreError::session_not_found(&id))?;
    let format = query.format.unwrap_or(ExportFormat::Jsonl);
    let upto = state.core.read().latest_seq();
    let reader = state.reader.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, ApiError>>(4);
    let head = match format {
        ExportFormat::Jsonl => String::new(),
        ExportFormat::Markdown => header(&session),
    };
    actix_web::rt::task::spawn_blocking(move || {
        let mut markdown = MarkdownExport::default();
        let send = |chunk: String| tx.blocking_send(Ok(Bytes::from(chunk))).is_ok();
        if !head.is_empty() && !send(head) {
            return;
        }
        let mut after = 0;
        loop {
            let page = match reader.read(Scope::Session(&id), after, upto, EXPORT_PAGE) {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, session = %id, "export cut short");
                    let _ = tx.blocking_send(Err(ApiError::Internal(error.to_string())));
                    return;
                }
            };
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            let mut chunk = String::new();
            for logged in &page {
                match format {
                    ExportFormat::Jsonl => {
                        chunk.push_str(&logged.json);
                        chunk.push('\n');
                    }
                    ExportFormat::Markdown => {
                        if let Ok(event) = serde_json::from_str::<WorkspaceEvent>(&logged.json) {
                            chunk.push_str(&markdown.event(&event));
                        }
                    }
                }
            }
            if !send(chunk) {
                return;
            }
            after = last;
        }
        if let ExportFormat::Markdown = format {
            let _ = send(markdown.finish());
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (content_type, extension) = match format {
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
        ExportFormat::Markdown => ("text/markdown; charset=utf-8", "md"),
    };
    let file = format!("chainwatch-{}.{extension}", session.id);
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(stream))
}
