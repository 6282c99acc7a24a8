//! The one `AppState`, built once at start-up in `app` and shared by every handler.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Security;
use crate::config::Config;
use crate::core::Core;
use crate::store::LogReader;
use crate::watch::roots::FilesRoots;
use crate::ws::hub::Hub;

/// Everything a handler may use.
pub struct AppState {
    /// The configuration the server started with.
    pub config: Config,
    /// The domain core: changes go here, queries read its read model.
    pub core: Core,
    /// The log, for event reads and replays.
    pub reader: Arc<dyn LogReader>,
    /// The socket hub.
    pub hub: Arc<Hub>,
    /// Flips to true when the server begins to shut down.
    pub shutdown: watch::Sender<bool>,
    /// Tokens, origins, hosts and the rate limiter.
    pub security: Security,
    /// Where files may be served from (resolved from `config.files.roots`).
    pub files_roots: FilesRoots,
    /// The full-text index of every session's events.
    pub search: Arc<crate::search::SearchIndex>,
    /// The newest seq the file watcher has brought in line (none: no watcher runs).
    pub watch_ready: Option<watch::Receiver<u64>>,
}
