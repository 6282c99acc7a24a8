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
mod push;
pub mod routes;
mod sessions;
pub mod socket;
mod steering;

use actix_web::web;

use error::ApiError;

/// Registers every route of the table (`routes`), the API's and the socket's, with the
/// API's query and path error answers.
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
    .configure(routes::configure);
}
