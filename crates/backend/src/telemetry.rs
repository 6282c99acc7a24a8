//! Logging: structured `tracing` events to stderr, filtered by `RUST_LOG`
//! (default `info`) for the server, and by `CHAINWATCH_HOOK_LOG` (default `warn`) for
//! `chainwatch hook`, whose stderr Claude Code shows in its transcript.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; later calls do nothing (tests call it freely).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// The hook's subscriber: warnings only unless `CHAINWATCH_HOOK_LOG` says otherwise (a
/// `RUST_LOG` meant for other programs must not make the hook chatty).
pub fn init_hook() {
    let filter = std::env::var("CHAINWATCH_HOOK_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}
