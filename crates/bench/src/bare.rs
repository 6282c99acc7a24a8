//! The reference server: a bare actix-web handler that accepts `POST /api/events` (and `POST /api/sessions`), reads
//! the JSON body and drops it, answering 201 with a small JSON body. It runs as this
//! binary's `bare-server` subcommand, in its own process like the real server, with
//! actix's default worker count (one per core, as `chainwatch serve` has).

use std::io::Write;

use actix_web::{App, HttpResponse, HttpServer, web};

async fn accept(body: web::Bytes) -> HttpResponse {
    std::hint::black_box(&body);
    HttpResponse::Created()
        .content_type("application/json")
        .body(r#"{"events":[]}"#)
}

async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// Serves until killed; prints `PORT <n>` on stdout once listening.
pub fn run() -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(|| {
            App::new()
                .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
                .route("/api/events", web::post().to(accept))
                .route("/api/sessions", web::post().to(accept))
                .route("/api/health", web::get().to(health))
        })
        .bind(("127.0.0.1", 0))
        .map_err(|e| format!("bare server cannot bind: {e}"))?;
        let port = server
            .addrs()
            .first()
            .map(|a| a.port())
            .ok_or("bare server has no address")?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "PORT {port}").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
        drop(stdout);
        server.run().await.map_err(|e| e.to_string())
    })
}
