//! `GET /ws`: the HTTP side of the live socket. Checks the socket budget and the
//! handshake, and answers 101 with the accepted socket (the caller's reach, the hub's
//! registration) in the response's extensions, where the upgrade service
//! ([`crate::ws::upgrade`]) takes it to run the socket on the bare stream; the socket
//! itself knows nothing of the application state.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chainwatch_shared::ErrorBody;

use crate::auth::Principal;
use crate::core::Reach;
use crate::state::AppState;
use crate::ws::connection::ConnectionContext;
use crate::ws::upgrade::{Accepted, Upgrading};

/// Upgrades to a socket, or 503 when the server has its maximum of sockets.
pub async fn upgrade(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
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
            return HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(ErrorBody {
                    error: "too_many_sockets".into(),
                    message: refused.to_string(),
                });
        }
    };
    // Browsers pass the token as a `bearer.…` subprotocol next to `chainwatch`; the
    // handshake must then name `chainwatch` back or the browser drops the socket.
    // Only a request the upgrade service brought can be taken over after its 101; a
    // request the dispatcher did not treat as an upgrade (its `Upgrade` header is not
    // exactly `websocket`) is answered as one without the header.
    let handshake = match req.extensions().get::<Upgrading>() {
        Some(_) => actix_http::ws::handshake(req.head()),
        None => Err(actix_http::ws::HandshakeError::NoWebsocketUpgrade),
    };
    let mut handshake = match handshake {
        Ok(handshake) => handshake,
        Err(e) => {
            state.hub.unregister(registration.id);
            // actix-http's answer to a bad handshake (400 with the reason, or 426).
            return actix_http::Response::from(&e).map_into_boxed_body().into();
        }
    };
    if asks_for_chainwatch(&req) {
        handshake.insert_header((header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL));
    }
    let context = ConnectionContext {
        hub: state.hub.clone(),
        reader: state.reader.clone(),
        config: state.config.socket.clone(),
        shutdown: state.shutdown.subscribe(),
        reach,
    };
    let mut response = HttpResponse::from(handshake.finish().map_into_boxed_body());
    response
        .extensions_mut()
        .insert(Accepted::new(context, registration));
    response
}

/// The subprotocol the server speaks.
const PROTOCOL: &str = "chainwatch";

/// Whether the client offered the `chainwatch` subprotocol.
fn asks_for_chainwatch(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim() == PROTOCOL)
}
