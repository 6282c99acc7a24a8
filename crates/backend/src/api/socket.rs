//! `GET /ws`: the HTTP side of the live socket. Checks the socket budget, completes the
//! handshake and hands the connection to [`crate::ws::connection`] with the caller's
//! reach; the socket itself knows nothing of the application state.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chainwatch_shared::ErrorBody;

use crate::auth::Principal;
use crate::core::Reach;
use crate::state::AppState;
use crate::ws::connection::{self, ConnectionContext};

/// Upgrades to a socket, or 503 when the server has its maximum of sockets.
pub async fn upgrade(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let reach = req
        .extensions()
        .get::<Principal>()
        .map_or(Reach::All, Principal::reach);
    let address = req
        .peer_addr()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_loopback());
    let registration = match state.hub.register(reach.clone(), address) {
        Ok(registration) => registration,
        Err(refused) => {
            return Ok(HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(ErrorBody {
                    error: "too_many_sockets".into(),
                    message: refused.to_string(),
                }));
        }
    };
    // Browsers pass the token as a `bearer.…` subprotocol next to `chainwatch`; the
    // handshake must then name `chainwatch` back or the browser drops the socket.
    let (response, session, stream) =
        match actix_ws::handle_with_protocols(&req, body, &["chainwatch"]) {
            Ok(parts) => parts,
            Err(e) => {
                state.hub.unregister(registration.id);
                return Err(e);
            }
        };
    let stream = stream.max_frame_size(state.config.socket.max_frame_bytes);
    let context = ConnectionContext {
        hub: state.hub.clone(),
        reader: state.reader.clone(),
        config: state.config.socket.clone(),
        shutdown: state.shutdown.subscribe(),
        reach,
    };
    Ok(connection::start(
        response,
        session,
        stream,
        context,
        registration,
    ))
}
