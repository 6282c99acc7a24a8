//! The OpenAPI 3.1 document, generated from the route annotations and the shared
//! types, served at `GET /api/openapi.json`. Tests walk it to find every mutating route.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::{events, files, health, sessions, steering};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chainwatch",
        description = "Live workspace for AI coding-agent sessions. Every change is an event; every event reaches every socket."
    ),
    paths(
        health::health,
        sessions::create,
        sessions::list,
        sessions::get,
        sessions::update,
        sessions::end,
        events::ingest,
        events::all_events,
        events::session_events,
        steering::issue_command,
        steering::list_commands,
        steering::acknowledge_command,
        steering::await_input,
        steering::submit_input,
        steering::wait_input,
        steering::request_permission,
        steering::decide_permission,
        steering::wait_permission,
        files::tree,
        files::content,
    ),
    components(schemas(
        chainwatch_shared::WorkspaceEvent,
        chainwatch_shared::ClientMessage,
        chainwatch_shared::ServerMessage
    ))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
