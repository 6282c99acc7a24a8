//! Typed configuration of the server: where it listens, where it keeps its data, and
//! every limit, each with a documented default (docs/SECURITY.md lists them). Built
//! from the command line and environment by `cli`, or directly by tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Tokens;
use crate::core::CommitConfig;

/// Limits of the socket hub.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// Frames queued for one client before it counts as too slow and is dropped
    /// (after a `resync` frame when it can still take one).
    pub queue_frames: usize,
    /// Bytes of frames queued for one client before it counts as too slow (default
    /// 8 MiB, four of the largest events).
    pub queue_bytes: usize,
    /// Bytes one replay page reads from the log at most (default 8 MiB; always at
    /// least one event).
    pub replay_page_bytes: usize,
    /// Sockets open at once; more are refused with 503.
    pub max_clients: usize,
    /// Session subscriptions one socket may hold.
    pub max_subscriptions: usize,
    /// Largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// How often the server pings each socket.
    pub heartbeat: Duration,
    /// A socket silent for this long (no frame, no pong) is closed.
    pub idle_timeout: Duration,
    /// Most events one `subscribe`/`resume` replays; past it the client gets `resync`.
    pub replay_limit: usize,
    /// How long a send to one socket may block before the socket is dropped.
    pub send_timeout: Duration,
    /// Sockets one remote IP may hold (loopback peers are not counted).
    pub max_per_ip: usize,
    /// Most often one session's `progress` frame (its counts, after non-global events)
    /// goes to the sockets: the staleness bound of list counts, and their cost.
    pub progress_interval: Duration,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            queue_frames: 1024,
            queue_bytes: 8 * 1024 * 1024,
            replay_page_bytes: 8 * 1024 * 1024,
            max_clients: 25_000,
            max_subscriptions: 256,
            max_frame_bytes: 64 * 1024,
            heartbeat: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            replay_limit: 1_000_000,
            send_timeout: Duration::from_secs(10),
            max_per_ip: 64,
            progress_interval: Duration::from_millis(500),
        }
    }
}

/// The file watcher (`watch/`): which session cwds it watches and at what cost.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Whether session cwds are watched at all (default true). When false every session
    /// is recorded as not watched, with that reason.
    pub enabled: bool,
    /// The coalescing window: all changes to one file within it give one event
    /// (default 100 ms).
    pub debounce: Duration,
    /// Directories watched for one session (default 10,000); past it the session is
    /// partly watched and told so with an `error:occurred` event.
    pub max_dirs_per_session: usize,
    /// Directories watched in all (default 50,000), below the OS limit (inotify's
    /// `max_user_watches`, which is shared with every other program of the user).
    pub max_dirs: usize,
    /// Raw OS notifications buffered for the watcher thread (default 65,536); past it
    /// they are dropped and the watched trees are rescanned instead.
    pub queue_events: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            debounce: Duration::from_millis(100),
            max_dirs_per_session: 10_000,
            max_dirs: 50_000,
            queue_events: 65_536,
        }
    }
}

/// Limits of the read-only files API (`GET /api/sessions/{id}/files[/content]`).
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Most entries one tree listing returns (default 10,000); past it `truncated`.
    pub max_entries: usize,
    /// Deepest directory level a tree listing descends to (default 32).
    pub max_depth: usize,
    /// Most bytes of one file's content returned (default 1 MiB); past it `truncated`.
    pub max_bytes: u64,
    /// Directories whose files may be served and watched (`--files-root`). Empty: the
    /// user's home on a loopback server without tokens, nothing otherwise
    /// (`watch::roots`).
    pub roots: Vec<PathBuf>,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_depth: 32,
            max_bytes: 1024 * 1024,
            roots: Vec::new(),
        }
    }
}

/// Search (`GET /api/search`) and its index.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Most hits one search returns (default 200; `limit` asks for fewer, default 50).
    pub max_results: usize,
    /// Most matching events one search looks at while filtering by user scope
    /// (default 100,000); past it the search answers with what it found.
    pub max_scanned: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_results: 200,
            max_scanned: 100_000,
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Directory of the SQLite log (created when missing).
    pub data_dir: PathBuf,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Deepest nesting of arrays and objects in a JSON body.
    pub max_json_depth: usize,
    /// Most events in one `POST /api/events`.
    pub max_batch_events: usize,
    /// Longest a long poll (`waitMs`) may wait.
    pub max_wait: Duration,
    /// Socket limits.
    pub socket: SocketConfig,
    /// Commit step tunables.
    pub commit: CommitConfig,
    /// Committed events between two start-up snapshots written in the background (one
    /// is also written at shutdown); 0 writes one at shutdown only.
    pub snapshot_every: u64,
    /// Ended sessions older than this are pruned with their events; `None` keeps all.
    pub retention: Option<Duration>,
    /// Bearer tokens; empty means no authentication (allowed on loopback only).
    pub tokens: Tokens,
    /// Origins besides the server's own that browsers may call the API from (CORS).
    pub allowed_origins: Vec<String>,
    /// Host names besides loopback ones that a tokenless loopback server answers to.
    pub allowed_hosts: Vec<String>,
    /// Requests per second per token (or per IP without one); 0 turns limiting off.
    /// Loopback peers are not limited.
    pub rate_per_second: u32,
    /// Requests one caller may make at once before the rate applies.
    pub rate_burst: u32,
    /// The file watcher.
    pub watch: WatchConfig,
    /// The files API.
    pub files: FilesConfig,
    /// Which event log: the embedded SQLite file (default) or NATS JetStream.
    pub store: crate::store::StoreConfig,
    /// Webhooks and Web Push (`notify/`).
    pub notify: crate::notify::NotifyConfig,
    /// A price file merged over the built-in price table (`--prices`).
    pub prices_file: Option<PathBuf>,
    /// Search.
    pub search: SearchConfig,
}

impl Config {
    /// Refuses limits that contradict each other: one event (`--max-event-bytes`) must
    /// fit a socket's byte budget (`--socket-queue-bytes`) and a replay page
    /// (`--replay-page-bytes`), or every socket that receives or replays it would be
    /// sent `resync` for ever.
    pub fn check_budgets(&self) -> Result<(), String> {
        let event = self.commit.max_event_bytes;
        for (flag, budget) in [
            ("--socket-queue-bytes", self.socket.queue_bytes),
            ("--replay-page-bytes", self.socket.replay_page_bytes),
        ] {
            if event >= budget {
                return Err(format!(
                    "--max-event-bytes ({event}) must be below {flag} ({budget}): one event \
                     would overflow a socket's budget, and every socket receiving it would \
                     be sent resync; lower --max-event-bytes or raise {flag}"
                ));
            }
        }
        Ok(())
    }

    /// Defaults with the given address and data dir.
    pub fn new(bind: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            bind,
            data_dir,
            max_body_bytes: 4 * 1024 * 1024,
            max_json_depth: 64,
            max_batch_events: 10_000,
            max_wait: Duration::from_secs(120),
            socket: SocketConfig::default(),
            commit: CommitConfig::default(),
            snapshot_every: 100_000,
            retention: None,
            tokens: Tokens::default(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            rate_per_second: 50,
            rate_burst: 200,
            watch: WatchConfig::default(),
            files: FilesConfig::default(),
            store: crate::store::StoreConfig::default(),
            notify: crate::notify::NotifyConfig::default(),
            prices_file: None,
            search: SearchConfig::default(),
        }
    }

    /// The limits request bodies are read under.
    pub fn body_limits(&self) -> crate::api::body::BodyLimits {
        crate::api::body::BodyLimits {
            bytes: self.max_body_bytes,
            depth: self.max_json_depth,
        }
    }

    /// The base of links back to the page in notifications.
    pub fn public_url(&self) -> String {
        match &self.notify.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The search index file inside the data dir.
    pub fn search_path(&self) -> PathBuf {
        self.data_dir.join("search.db")
    }

    /// The SQLite file inside the data dir.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("chainwatch.db")
    }

    /// The SQLite file the log is read from: the log itself, or on the NATS store this
    /// instance's copy of the stream (one per stream name).
    pub fn log_path(&self) -> PathBuf {
        match &self.store {
            crate::store::StoreConfig::Sqlite => self.database_path(),
            crate::store::StoreConfig::Nats(nats) => {
                self.data_dir.join(format!("nats-{}.db", nats.stream))
            }
        }
    }
}
