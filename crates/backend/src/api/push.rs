//! Web Push and notification settings, per token: the server's VAPID key, a browser's
//! opt-in and opt-out, and which moments notify the caller. These change the push side
//! store (`notify::push::store`, which says why it is not the event log), never a
//! session, so they emit no event.

use actix_web::{HttpResponse, web};
use chainwatch_shared::{ErrorBody, NotifySettings, PushKey, PushSubscription, PushUnsubscribe};

use super::body;
use super::error::ApiError;
use crate::auth::Principal;
use crate::core::CoreError;
use crate::notify::push::Subscriber;
use crate::notify::push::store::StoreError;
use crate::state::AppState;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Full => ApiError::Core(CoreError::Conflict(error.to_string())),
            StoreError::Io(_) => ApiError::Internal(error.to_string()),
        }
    }
}

/// The server's VAPID public key (a browser's `applicationServerKey`) and how many
/// browsers of the caller's token have opted in.
#[utoipa::path(get, path = "/api/push/key", tag = "notify",
    responses((status = 200, body = PushKey)))]
pub async fn key(state: web::Data<AppState>, caller: Principal) -> HttpResponse {
    HttpResponse::Ok().json(PushKey {
        public_key: state.push.vapid.public_key().to_owned(),
        subscriptions: u32::try_from(state.push.store.count(&caller.name)).unwrap_or(u32::MAX),
    })
}

/// Opts this browser in: the body is `PushSubscription.toJSON()`. Subscribing again
/// with the same endpoint refreshes it.
#[utoipa::path(post, path = "/api/push/subscriptions", tag = "notify", request_body = PushSubscription,
    responses((status = 201, body = PushKey), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn subscribe(
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let subscription: PushSubscription = body::json(payload, state.config.body_limits()).await?;
    state
        .push
        .check(&subscription)
        .map_err(ApiError::Unprocessable)?;
    state
        .push
        .store
        .subscribe(Subscriber {
            name: caller.name.clone(),
            user: caller.user.clone(),
            subscription,
            created_at: chrono::Utc::now(),
        })
        .await?;
    Ok(HttpResponse::Created().json(PushKey {
        public_key: state.push.vapid.public_key().to_owned(),
        subscriptions: u32::try_from(state.push.store.count(&caller.name)).unwrap_or(u32::MAX),
    }))
}

/// Opts a browser of the caller's token out.
#[utoipa::path(delete, path = "/api/push/subscriptions", tag = "notify", request_body = PushUnsubscribe,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: PushUnsubscribe = body::json(payload, state.config.body_limits()).await?;
    if state
        .push
        .store
        .unsubscribe(Some(&caller.name), &request.endpoint)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(
            "this token has no push subscription with that endpoint".into(),
        ))
    }
}

/// Which moments notify the caller (every one, until changed).
#[utoipa::path(get, path = "/api/notify/settings", tag = "notify",
    responses((status = 200, body = NotifySettings)))]
pub async fn settings(state: web::Data<AppState>, caller: Principal) -> HttpResponse {
    HttpResponse::Ok().json(state.push.store.settings(&caller.name))
}

/// Changes which moments notify the caller (its browsers' pushes).
#[utoipa::path(put, path = "/api/notify/settings", tag = "notify", request_body = NotifySettings,
    responses((status = 200, body = NotifySettings), (status = 422, body = ErrorBody)))]
pub async fn set_settings(
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let settings: NotifySettings = body::json(payload, state.config.body_limits()).await?;
    state
        .push
        .store
        .set_settings(&caller.name, settings)
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
