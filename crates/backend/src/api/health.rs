//! `GET /api/health`: liveness and the newest seq.

use actix_web::{HttpResponse, web};
use chainwatch_shared::Health;

use crate::state::AppState;

/// Always 200 while the server runs.
#[utoipa::path(get, path = "/api/health", tag = "server", responses((status = 200, body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        seq: state.core.read().latest_seq(),
    })
}
