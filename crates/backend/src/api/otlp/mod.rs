//! `POST /v1/logs`: the OTLP/HTTP logs endpoint Claude Code's OpenTelemetry export
//! points at (`chainwatch hooks install --telemetry`). Bodies in `application/json` or
//! `application/x-protobuf` (gzip allowed) are read under the body limit; each
//! `claude_code.api_request` record becomes a `usage:reported` of its `session.id`,
//! stored through the core like every write (the core joins it to its prompt and takes
//! the prompt's price-table estimate back, so nothing counts twice). Other records are
//! accepted and not stored. A record for a session the caller cannot reach, or one
//! without the fields it needs, is refused alone: OTLP's partial success names how many
//! and why. A body that is not OTLP logs is 400 (415 for another content type) and
//! changes nothing.

mod proto;
pub mod records;

use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use chainwatch_shared::NewEvent;
use serde_json::{Value, json};

use super::body;
use super::error::ApiError;
use crate::auth::Principal;
use crate::state::AppState;
use records::Outcome;

/// The two encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Json,
    Protobuf,
}

fn encoding(req: &HttpRequest) -> Result<Encoding, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Encoding::Json),
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "OTLP logs come as application/json or application/x-protobuf, not '{content_type}'"
        ))),
    }
}

/// Receives OTLP logs; stores the API requests' usage.
pub async fn logs(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let encoding = encoding(&req)?;
    let compressed = match req.headers().get(CONTENT_ENCODING).map(|v| v.to_str()) {
        None => false,
        Some(Ok(e)) if e.eq_ignore_ascii_case("identity") => false,
        Some(Ok(e)) if e.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "content encoding {other:?} is not read here: send gzip or none"
            )));
        }
    };
    let raw = body::read(payload, state.config.max_body_bytes).await?;
    let bytes = if compressed {
        gunzip(&raw, state.config.max_body_bytes)?
    } else {
        raw.to_vec()
    };
    let records = match encoding {
        Encoding::Json => {
            let value: Value = body::parse(&bytes, state.config.body_limits())?;
            records::from_json(&value)
        }
        Encoding::Protobuf => records::from_protobuf(&bytes),
    }
    .map_err(|e| ApiError::BadRequest(e.0))?;

    let mut events: Vec<NewEvent> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let reach = caller.reach();
    for record in &records {
        match records::to_event(record) {
            Outcome::Ignored => {}
            Outcome::Refused(why) => refused.push(why),
            Outcome::Usage(event) => {
                // A session this caller cannot reach is refused like a missing one.
                match reach.check(state.core.read(), event.session_id.clone()) {
                    Ok(_) => events.push(*event),
                    Err(_) => refused.push(format!(
                        "session {} is not known to this server (or not this token's)",
                        event.session_id
                    )),
                }
            }
        }
    }
    if events.len() > state.config.max_batch_events {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} API requests in one export; the limit is {}",
            events.len(),
            state.config.max_batch_events
        )));
    }
    let stored = events.len();
    if !events.is_empty() {
        state.core.ingest(reach, events).await?;
    }
    tracing::debug!(
        records = records.len(),
        stored,
        refused = refused.len(),
        "otlp logs"
    );
    Ok(answer(encoding, &refused))
}

/// OTLP's `ExportLogsServiceResponse`, in the request's encoding.
fn answer(encoding: Encoding, refused: &[String]) -> HttpResponse {
    let rejected = i64::try_from(refused.len()).unwrap_or(i64::MAX);
    let message = match refused {
        [] => String::new(),
        [only] => only.clone(),
        [first, ..] => format!("{first} (and {} more)", refused.len() - 1),
    };
    match encoding {
        Encoding::Json => {
            let body = if refused.is_empty() {
                json!({})
            } else {
                json!({"partialSuccess": {"rejectedLogRecords": rejected.to_string(), "errorMessage": message}})
            };
            HttpResponse::Ok().json(body)
        }
        Encoding::Protobuf => {
            use prost::Message;
            let response = proto::ExportLogsServiceResponse {
                partial_success: (!refused.is_empty()).then_some(proto::ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message: message,
                }),
            };
            HttpResponse::Ok()
                .content_type("application/x-protobuf")
                .body(response.encode_to_vec())
        }
    }
}

/// A gzip body, inflated up to `limit` bytes.
fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(bytes);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("the gzip body does not inflate: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the inflated body is larger than the limit of {limit} bytes"
        )));
    }
    Ok(out)
}
