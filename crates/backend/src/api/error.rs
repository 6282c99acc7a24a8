//! Errors of the HTTP layer and their one mapping to status codes. Every error answer
//! is `{error, message}`: a stable code for programs and a sentence for people.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chainwatch_shared::ErrorBody;

use crate::auth::NoCaller;
use crate::core::CoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The guard put no caller on the request (a wiring bug).
    #[error(transparent)]
    NoCaller(#[from] NoCaller),
    /// The domain core refused or failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The body is not JSON, or a query/path parameter does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// JSON of the wrong shape: wrong types, missing or unknown fields.
    #[error("{0}")]
    Unprocessable(String),
    /// The body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this, or a path that is never served (outside a
    /// session's cwd, or ignored).
    #[error("{0}")]
    Forbidden(String),
    /// Something failed inside the server.
    #[error("{0}")]
    Internal(String),
    /// A body in a content type or encoding the route does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Core(CoreError::NotFound { .. }) | Self::NotFound(_) => "not_found",
            Self::Core(CoreError::Invalid(_)) => "invalid",
            Self::Core(CoreError::Conflict(_)) => "conflict",
            Self::Core(CoreError::Store(crate::store::StoreError::Unreachable(_))) => {
                "log_unavailable"
            }
            Self::Core(CoreError::Store(_)) | Self::Internal(_) | Self::NoCaller(_) => "internal",
            Self::Core(CoreError::Forbidden(_)) => "forbidden",
            Self::Core(CoreError::TooLarge(_)) => "payload_too_large",
            Self::Core(CoreError::Unavailable) => "unavailable",
            Self::Core(CoreError::Overloaded) => "overloaded",
            Self::BadRequest(_) => "bad_request",
            Self::Unprocessable(_) => "unprocessable",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Forbidden(_) => "forbidden",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Core(CoreError::NotFound { .. }) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Core(CoreError::Invalid(_)) | Self::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Core(CoreError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Core(CoreError::Store(crate::store::StoreError::Unreachable(_))) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Core(CoreError::Store(_)) | Self::Internal(_) | Self::NoCaller(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Core(CoreError::Forbidden(_)) => StatusCode::FORBIDDEN,
            Self::Core(CoreError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Core(CoreError::Unavailable | CoreError::Overloaded) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        })
    }
}

impl ResponseError for NoCaller {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        ApiError::NoCaller(NoCaller).error_response()
    }
}
