//! The OpenAPI 3.1 document, generated from the route annotations and the shared
//! types, served at `GET /api/openapi.json`. Its paths are those of the one route
//! table (`routes::RoutePaths`), so a route cannot be served undocumented.

use actix_web::HttpResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::routes::RoutePaths;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chainwatch",
        description = "Live workspace for AI coding-agent sessions. Every change is an event; every event reaches every socket."
    ),
    components(schemas(
        chainwatch_shared::WorkspaceEvent,
        chainwatch_shared::ClientMessage,
        chainwatch_shared::ServerMessage
    )),
    modifiers(&Routes, &StandardErrors),
)]
pub struct ApiDoc;

/// Adds the route table's paths (and the schemas they use).
struct Routes;

impl Modify for Routes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(RoutePaths::openapi());
    }
}

/// Adds the answers any route can give, so clients (and schemathesis) find every status
/// the server may send documented: refusals of the guard (401, 403, 429), malformed
/// requests (400), bodies over the limits or of the wrong shape (413, 422, when the
/// route takes one), and the server's own trouble (500, 503).
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        let always = [
            ("400", "Malformed request: a bad query, path or JSON body."),
            (
                "401",
                "A token is required (when the server has tokens) or the one given is not valid.",
            ),
            (
                "403",
                "The token's role may not do this, or the request's origin or host is refused.",
            ),
            (
                "429",
                "Too many requests from this token or address; see Retry-After.",
            ),
            (
                "500",
                "The server failed (for example, the event log); nothing was changed.",
            ),
            (
                "503",
                "The server is shutting down or overloaded; see Retry-After.",
            ),
        ];
        let with_body = [
            (
                "413",
                "The body is over the size limit, or the batch has too many events.",
            ),
            (
                "422",
                "The JSON does not fit: wrong types, missing or unknown fields, or a broken rule.",
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let takes_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                for (code, description) in
                    always.iter().chain(with_body.iter().filter(|_| takes_body))
                {
                    responses
                        .entry((*code).to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
