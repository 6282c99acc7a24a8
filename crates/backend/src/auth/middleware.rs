//! The guard every request passes before its route: host and origin checks (a web page
//! elsewhere must not drive a loopback server through the person's browser: DNS
//! rebinding, cross-site requests, cross-site socket hijacking), CORS for allowed
//! origins, the rate limit, then the token and the route's roles. On success the
//! caller's [`Principal`] is in the request's extensions for the route to read.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use chainwatch_shared::ErrorBody;

use super::{Access, Principal, Role};
use crate::state::AppState;

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"chainwatch\""));
    }
    response.json(ErrorBody {
        error: code.into(),
        message: message.into(),
    })
}

/// The host part of a `Host` header or an origin's authority.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.ends_with(".localhost")
}

/// The bearer token of a request: `Authorization: Bearer …`, or for the socket (whose
/// browser API cannot set headers) a `bearer.…` entry of `Sec-WebSocket-Protocol`.
pub fn bearer(req: &ServiceRequest) -> Option<String> {
    if let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    req.headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("bearer."))
        })
        .map(str::to_owned)
}

/// The guard, installed with `actix_web::middleware::from_fn`.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let security = &state.security;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    // A loopback server without tokens trusts whoever reaches it, so it must only be
    // reached by names that mean this machine (defeats DNS rebinding).
    if !security.tokens.enabled() && state.config.bind.ip().is_loopback() {
        let name = host_name(&host);
        if !(name.is_empty()
            || is_loopback_name(name)
            || security.allowed_hosts.iter().any(|h| h == name))
        {
            let message =
                format!("host {name:?} is not this machine's; add it with --allowed-host if it is");
            return Ok(req
                .into_response(refuse(StatusCode::FORBIDDEN, "forbidden_host", message))
                .map_into_right_body());
        }
    }

    // Browsers send Origin on cross-site requests and socket upgrades; allow our own
    // origin and the configured ones only. Scripts and hooks send none.
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut cors_origin = None;
    if let Some(origin) = &origin {
        let same = origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host);
        let listed = security.allowed_origins.iter().any(|o| o == origin);
        if !same && !listed {
            let message = format!(
                "cross-origin request from {origin} refused; allow it with --allowed-origin"
            );
            return Ok(req
                .into_response(refuse(StatusCode::FORBIDDEN, "forbidden_origin", message))
                .map_into_right_body());
        }
        if !same {
            cors_origin = Some(origin.clone());
        }
    }
    if req.method() == Method::OPTIONS {
        let mut response = HttpResponse::NoContent();
        if let Some(origin) = &cors_origin {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    "GET, POST, PUT, OPTIONS",
                ))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "authorization, content-type",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
                .insert_header((header::VARY, "Origin"));
        }
        return Ok(req.into_response(response.finish()).map_into_right_body());
    }

    let secret = bearer(&req);
    let principal = match (&secret, security.tokens.enabled()) {
        (_, false) => Some(Principal::local()),
        (Some(secret), true) => security.tokens.authenticate(secret),
        (None, true) => None,
    };

    let peer = req.peer_addr().map(|a| a.ip());
    if !peer.is_some_and(|ip| ip.is_loopback()) {
        let key = match &principal {
            Some(p) if security.tokens.enabled() => format!("token:{}", p.name),
            _ => format!("ip:{}", peer.map(|ip| ip.to_string()).unwrap_or_default()),
        };
        if let Err(retry_after) = security.rate.check(&key) {
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            );
            if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(req.into_response(response).map_into_right_body());
        }
    }

    // An unscoped admin may call every route, so only other callers need the route's
    // pattern, whose look-up walks actix's whole resource map (about 12k instructions a
    // request, see docs/PERFORMANCE.md). A scoped admin still needs it: some routes
    // refuse every user-scoped token.
    let unrestricted = principal
        .as_ref()
        .is_some_and(|p| p.role == Role::Admin && p.user.is_none());
    let pattern = if unrestricted {
        None
    } else {
        req.match_pattern()
    };
    let needed = if unrestricted {
        Access::Public
    } else {
        (security.routes.access)(req.method(), pattern.as_deref())
    };
    match (needed, &principal) {
        (Access::Public, _) => {}
        (_, None) if secret.is_some() => {
            return Ok(req
                .into_response(refuse(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the token is not valid",
                ))
                .map_into_right_body());
        }
        (_, None) => {
            let message = "this server needs a token: send Authorization: Bearer <token>";
            return Ok(req
                .into_response(refuse(StatusCode::UNAUTHORIZED, "unauthorized", message))
                .map_into_right_body());
        }
        (needed, Some(caller)) if !needed.admits(caller.role) => {
            let message = format!(
                "the {:?} token '{}' may not {} {}",
                caller.role,
                caller.name,
                req.method(),
                req.path()
            )
            .to_lowercase();
            return Ok(req
                .into_response(refuse(StatusCode::FORBIDDEN, "forbidden", message))
                .map_into_right_body());
        }
        (_, Some(caller))
            if caller.user.is_some()
                && (security.routes.refuses_scoped)(req.method(), pattern.as_deref()) =>
        {
            let message =
                "a user-scoped token reads events per session: GET /api/sessions/{id}/events";
            return Ok(req
                .into_response(refuse(StatusCode::FORBIDDEN, "forbidden", message))
                .map_into_right_body());
        }
        _ => {}
    }
    req.extensions_mut()
        .insert(principal.unwrap_or_else(Principal::local));
    let mut response = next.call(req).await?;
    if let Some(origin) = cors_origin {
        if let Ok(value) = header::HeaderValue::from_str(&origin) {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            response
                .headers_mut()
                .insert(header::VARY, header::HeaderValue::from_static("Origin"));
        }
    }
    Ok(response.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports_and_brackets() {
        assert_eq!(host_name("localhost:7777"), "localhost");
        assert_eq!(host_name("[::1]:7777"), "::1");
        assert_eq!(host_name("evil.example"), "evil.example");
        assert!(is_loopback_name("app.localhost"));
        assert!(!is_loopback_name("127.0.0.1.evil.example"));
    }
}
