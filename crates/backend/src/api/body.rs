//! Request bodies: read up to the configured limit, then parsed with errors a client
//! can act on: 413 over the limit, 400 for broken JSON, 422 for JSON of the wrong shape
//! (wrong types, missing or unknown fields), each naming where it went wrong.

use actix_web::web;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the body is larger than the limit of {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The deepest nesting of arrays and objects in `bytes` (strings skipped), stopping
/// early once past `limit`. One pass, no allocation: cheap enough for every body.
fn nesting_depth(bytes: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The limits every body is read under.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub depth: usize,
}

/// Parses JSON, classifying what went wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], limits: BodyLimits) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::BadRequest("the body is not valid UTF-8".into()));
    }
    if nesting_depth(bytes, limits.depth) > limits.depth {
        return Err(ApiError::BadRequest(format!(
            "the JSON is nested deeper than {} levels",
            limits.depth
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::Unprocessable(format!("the JSON does not fit: {e}")),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("malformed JSON: {e}"))
            }
        }
    })
}

/// Reads and parses a required JSON body.
pub async fn json<T: DeserializeOwned>(
    payload: web::Payload,
    limits: BodyLimits,
) -> Result<T, ApiError> {
    let bytes = read(payload, limits.bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("a JSON body is required".into()));
    }
    parse(&bytes, limits)
}

/// Reads and parses an optional JSON body (empty means the default).
pub async fn optional_json<T: DeserializeOwned + Default>(
    payload: web::Payload,
    limits: BodyLimits,
) -> Result<T, ApiError> {
    let bytes = read(payload, limits.bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse(&bytes, limits)
}

#[cfg(test)]
mod tests {
    use super::nesting_depth;

    #[test]
    fn depth_counts_containers_outside_strings() {
        assert_eq!(nesting_depth(br#"{"a": [1, {"b": 2}]}"#, 64), 3);
        assert_eq!(nesting_depth(br#"{"a": "[[[[\"{{"}"#, 64), 1);
        assert_eq!(nesting_depth(b"[[[[[[", 3), 4, "stops once past the limit");
    }
}
