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
/// `RUST_LOG` meant for other programs must not make the hook chatty). The default is a
/// plain level, not an `EnvFilter`: parsing even `"warn"` compiles the filter's directive
/// regex, a tenth of a millisecond of every hook call's start-up (docs/PERFORMANCE.md).
pub fn init_hook() {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .without_time();
    let filter = std::env::var("CHAINWATCH_HOOK_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok());
    let _ = match filter {
        Some(filter) => builder.with_env_filter(filter).try_init(),
        None => builder.with_max_level(tracing::Level::WARN).try_init(),
    };
}

/// The hook's subscriber when `CHAINWATCH_HOOK_LOG` is not set: warnings only, as
/// [`init_hook`] does then. The `chainwatch` front calls this one, not [`init_hook`], so
/// that it links no `EnvFilter` (its regex engine and Unicode tables alone were ~3,000
/// of the front's relocations); with `CHAINWATCH_HOOK_LOG` set, the front hands the hook
/// to the server executable, which runs [`init_hook`].
pub fn init_hook_warn() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::WARN)
        .try_init();
}
