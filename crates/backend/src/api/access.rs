//! The one way a route receives a session id: [`SessionAccess`], an extractor that
//! takes `{id}` from the path and the caller from the guard and applies the caller's
//! reach (role checks are the guard's; user scope is [`Reach`]'s) before the handler
//! runs. A session outside the caller's reach, or none at all, is 404. The core's
//! session operations take the [`Visible`] it yields, so a route cannot name a session
//! to them without the check; `tests/security.rs` walks every `{id}` route of the route
//! table with own, other and missing sessions to keep read routes honest too.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chainwatch_shared::SessionId;

use super::error::ApiError;
use crate::auth::{NoCaller, Principal};
use crate::core::{Reach, Visible};
use crate::state::AppState;

/// A session the caller may see, with the caller.
pub struct SessionAccess {
    /// The checked session.
    pub session: Visible,
    /// Who asked.
    pub caller: Principal,
}

impl SessionAccess {
    /// The session's id.
    pub fn id(&self) -> &SessionId {
        self.session.id()
    }

    /// The caller's reach.
    pub fn reach(&self) -> &Reach {
        self.session.reach()
    }
}

fn extract(req: &HttpRequest) -> Result<SessionAccess, ApiError> {
    let caller = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(NoCaller)?;
    let id = req
        .match_info()
        .get("id")
        .ok_or_else(|| ApiError::Internal("a session route without {id}".into()))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("no application state".into()))?;
    let session = caller
        .reach()
        .check(state.core.read(), SessionId::new(id))?;
    Ok(SessionAccess { session, caller })
}

impl FromRequest for SessionAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}
