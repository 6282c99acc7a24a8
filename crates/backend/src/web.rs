//! The built web app, served at `/`. Release builds carry `web/dist` inside the binary
//! (rust-embed), so one file runs anywhere; debug builds read it from disk. Paths that
//! are not files get `index.html`, so the app's own routes work on reload.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct WebAssets;

/// The Content-Security-Policy of the app: no inline scripts, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT: &str = "<!doctype html><title>Chainwatch</title><p>The web app is not built. Run <code>cargo xtask serve</code>, which builds it, or <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>. The API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.";

/// Serves a file of the app, or `index.html` for app routes.
pub async fn asset(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    let (name, file) = match WebAssets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, Some(file)),
        None => ("index.html", WebAssets::get("index.html")),
    };
    let (mut response, body) = match file {
        Some(file) => {
            let mut response = HttpResponse::Ok();
            response.content_type(file.metadata.mimetype());
            // Vite puts a content hash in every asset name under assets/.
            if name.starts_with("assets/") {
                response
                    .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"));
            } else {
                response.insert_header((header::CACHE_CONTROL, "no-cache"));
            }
            (response, file.data.into_owned())
        }
        None => {
            let mut response = HttpResponse::Ok();
            response.content_type("text/html; charset=utf-8");
            return with_security_headers(&mut response).body(NOT_BUILT);
        }
    };
    with_security_headers(&mut response).body(body)
}

fn with_security_headers(
    response: &mut actix_web::HttpResponseBuilder,
) -> &mut actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
}
