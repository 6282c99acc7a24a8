//! The REST API under `/api`. Handlers only parse, call the domain core (for changes)
//! or the read model (for queries), and render; they never touch storage. Errors map to
//! status codes in `error`, bodies are read and classified in `body`.

pub mod access;
pub mod body;
mod conversation;
pub mod error;
mod events;
mod files;
mod health;
pub mod openapi;
pub mod otlp;
mod push;
mod sessions;
pub mod socket;
mod steering;

use actix_web::{HttpResponse, web};

use error::ApiError;

/// Registers every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default().error_handler(|err, _| {
            ApiError::BadRequest(format!("bad query string: {err}")).into()
        }),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::BadRequest(format!("bad path: {err}")).into()),
    )
    .service(
        web::scope("/api")
            .route("/health", web::get().to(health::health))
            .route("/openapi.json", web::get().to(openapi::document))
            .route("/sessions", web::post().to(sessions::create))
            .route("/sessions", web::get().to(sessions::list))
            .route("/sessions/{id}", web::get().to(sessions::get))
            .route("/sessions/{id}", web::put().to(sessions::update))
            .route("/sessions/{id}/end", web::post().to(sessions::end))
            .route("/sessions/{id}/files", web::get().to(files::tree))
            .route(
                "/sessions/{id}/files/content",
                web::get().to(files::content),
            )
            .route(
                "/sessions/{id}/events",
                web::get().to(events::session_events),
            )
            .route("/search", web::get().to(conversation::search))
            .route("/sessions/{id}/export", web::get().to(conversation::export))
            .route("/events", web::post().to(events::ingest))
            .route("/events", web::get().to(events::all_events))
            .route(
                "/sessions/{id}/commands",
                web::post().to(steering::issue_command),
            )
            .route(
                "/sessions/{id}/commands",
                web::get().to(steering::list_commands),
            )
            .route(
                "/sessions/{id}/commands/{command_id}/ack",
                web::post().to(steering::acknowledge_command),
            )
            .route(
                "/sessions/{id}/awaiting-input",
                web::post().to(steering::await_input),
            )
            .route(
                "/sessions/{id}/input",
                web::post().to(steering::submit_input),
            )
            .route("/sessions/{id}/input", web::get().to(steering::wait_input))
            .route(
                "/sessions/{id}/permissions",
                web::post().to(steering::request_permission),
            )
            .route(
                "/sessions/{id}/permissions/{request_id}",
                web::post().to(steering::decide_permission),
            )
            .route(
                "/sessions/{id}/permissions/{request_id}",
                web::get().to(steering::wait_permission),
            )
            .route("/push/key", web::get().to(push::key))
            .route("/push/subscriptions", web::post().to(push::subscribe))
            .route("/push/subscriptions", web::delete().to(push::unsubscribe))
            .route("/notify/settings", web::get().to(push::settings))
            .route("/notify/settings", web::put().to(push::set_settings))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::NotFound(
                    "no such API route; see GET /api/openapi.json".into(),
                ))
            })),
    );
}
