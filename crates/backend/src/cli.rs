//! The command line: `chainwatch serve`, `chainwatch hook` and `chainwatch hooks
//! install|uninstall`. Flags and environment variables are part of the public contract
//! (docs/CONTRACT.md); the hook's environment variables are read by `hook::config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// Chainwatch: a live workspace for AI coding-agent sessions.
#[derive(Debug, Parser)]
#[command(name = "chainwatch", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: REST under /api, the socket at /ws, the web app at /.
    Serve(Box<ServeArgs>),
    /// Report one Claude Code hook payload (JSON on stdin) to the server and answer
    /// Claude Code where the hook can steer it. Always exits 0.
    #[command(long_about = HOOK_HELP)]
    Hook,
    /// Manage the `chainwatch hook` entries in Claude Code's settings.json.
    Hooks(HooksArgs),
}

const HOOK_HELP: &str = "Report one Claude Code hook payload (JSON on stdin) to the server and \
answer Claude Code where the hook can steer it (PreToolUse, PermissionRequest, Stop). Always \
exits 0; prints nothing unless it has a decision.

Environment (see docs/HOOKS.md):
  CHAINWATCH_URL                 server address [default: http://127.0.0.1:7777]
  CHAINWATCH_TOKEN               bearer token sent to the server
  CHAINWATCH_HOOK_TIMEOUT_MS     bound of the reporting phase [default: 500]
  CHAINWATCH_SPOOL_DIR           spool for events the server did not take
                                 [default: $XDG_DATA_HOME/chainwatch/spool or ~/.local/share/chainwatch/spool]
  CHAINWATCH_SPOOL_MAX_BYTES     spool size bound [default: 16777216]
  CHAINWATCH_PERMISSION_WAIT_MS  PermissionRequest wait for the page [default: 300000]
  CHAINWATCH_QUESTION_WAIT_MS    AskUserQuestion wait for the page [default: 0]
  CHAINWATCH_STOP_WAIT_MS        Stop wait for an answer from the page [default: 0]
  CHAINWATCH_HOOK_LOG            log filter for stderr [default: warn]";

/// `chainwatch hooks …`.
#[derive(Debug, Args)]
pub struct HooksArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HooksCommand,
}

/// The subcommands of `chainwatch hooks`.
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Add the `chainwatch hook` entries to Claude Code's settings.json, keeping
    /// everything else; running it twice changes nothing.
    Install(InstallArgs),
    /// Remove the `chainwatch hook` entries, and only those.
    Uninstall(InstallArgs),
}

/// Flags of `chainwatch hooks install|uninstall`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The project whose `.claude/settings.json` to change [default: the current dir].
    #[arg(long, value_name = "DIR", conflicts_with = "user")]
    pub project: Option<PathBuf>,
    /// Change the user's `~/.claude/settings.json` (`$CLAUDE_CONFIG_DIR` when set).
    #[arg(long)]
    pub user: bool,
    /// Print the change as a diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The command the entries run [default: `chainwatch hook` when `chainwatch` is on
    /// PATH, else this binary's absolute path followed by `hook`].
    #[arg(long)]
    pub command: Option<String>,
}

impl InstallArgs {
    /// The installer's options.
    pub fn into_options(self) -> crate::hook::install::Options {
        use crate::hook::install::{Options, Target};
        let target = if self.user {
            Target::User
        } else {
            Target::Project(self.project.unwrap_or_else(|| PathBuf::from(".")))
        };
        Options {
            target,
            dry_run: self.dry_run,
            command: self
                .command
                .unwrap_or_else(crate::hook::install::default_command),
        }
    }
}

/// Why the flags of `chainwatch serve` do not make a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A token flag or file is wrong.
    #[error(transparent)]
    Tokens(#[from] crate::auth::TokenError),
    /// `--store` or a NATS flag is wrong.
    #[error("{0}")]
    Store(String),
}

/// Flags of `chainwatch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHAINWATCH_BIND", default_value = "127.0.0.1:7777")]
    pub bind: SocketAddr,
    /// Directory for the event log.
    #[arg(long, env = "CHAINWATCH_DATA_DIR", default_value = ".chainwatch")]
    pub data_dir: PathBuf,
    /// Largest request body in bytes.
    #[arg(long, env = "CHAINWATCH_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Deepest nesting of arrays and objects in a JSON body.
    #[arg(long, env = "CHAINWATCH_MAX_JSON_DEPTH", default_value_t = 64)]
    pub max_json_depth: usize,
    /// Most events in one POST /api/events.
    #[arg(long, env = "CHAINWATCH_MAX_BATCH_EVENTS", default_value_t = 10_000)]
    pub max_batch_events: usize,
    /// Sockets open at once.
    #[arg(long, env = "CHAINWATCH_MAX_SOCKETS", default_value_t = 25_000)]
    pub max_sockets: usize,
    /// Frames queued per socket before it is dropped as too slow.
    #[arg(long, env = "CHAINWATCH_SOCKET_QUEUE", default_value_t = 1024)]
    pub socket_queue: usize,
    /// Bytes of frames queued per socket before it is dropped as too slow (resync).
    #[arg(long, env = "CHAINWATCH_SOCKET_QUEUE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub socket_queue_bytes: usize,
    /// Bytes one socket replay page reads from the log at most.
    #[arg(long, env = "CHAINWATCH_REPLAY_PAGE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub replay_page_bytes: usize,
    /// Largest event, encoded, in bytes; large JSON values (agent:event payloads, tool
    /// input and responses) are previewed to fit, anything else past it is refused (413).
    #[arg(long, env = "CHAINWATCH_MAX_EVENT_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_event_bytes: usize,
    /// Session subscriptions per socket.
    #[arg(long, env = "CHAINWATCH_MAX_SUBSCRIPTIONS", default_value_t = 256)]
    pub max_subscriptions: usize,
    /// Largest socket frame a client may send, in bytes.
    #[arg(long, env = "CHAINWATCH_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Seconds of silence after which a socket is closed.
    #[arg(long, env = "CHAINWATCH_SOCKET_IDLE_SECS", default_value_t = 60)]
    pub socket_idle_secs: u64,
    /// Most events one socket replay sends before answering `resync`.
    #[arg(long, env = "CHAINWATCH_REPLAY_LIMIT", default_value_t = 1_000_000)]
    pub replay_limit: usize,
    /// Most often a session's counts go to every socket after events lists do not hear
    /// (tool calls, files, prompts), in ms: lists lag the server by at most this much.
    #[arg(long, env = "CHAINWATCH_PROGRESS_INTERVAL_MS", default_value_t = 500)]
    pub progress_interval_ms: u64,
    /// Longest a long poll (`waitMs` on the input and permission routes) may wait, in ms.
    #[arg(long, env = "CHAINWATCH_MAX_WAIT_MS", default_value_t = 120_000)]
    pub max_wait_ms: u64,
    /// Committed events between two start-up snapshots of the state (written in the
    /// background, and always at shutdown); 0: at shutdown only.
    #[arg(long, env = "CHAINWATCH_SNAPSHOT_EVERY", default_value_t = 100_000)]
    pub snapshot_every: u64,
    /// Days an ended session is kept before it is pruned with its events (0: forever).
    #[arg(long, env = "CHAINWATCH_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u64,
    /// Shared secret that may do everything; required to bind beyond loopback.
    #[arg(long, env = "CHAINWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the shared secret (instead of --token).
    #[arg(long, env = "CHAINWATCH_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// JSON file of named tokens: [{"name", "role": agent|viewer|operator, "token", "user"?}].
    #[arg(long, env = "CHAINWATCH_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// An origin browsers may call the API from besides the server's own (repeatable).
    #[arg(
        long = "allowed-origin",
        env = "CHAINWATCH_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// A host name a tokenless loopback server answers to besides localhost (repeatable).
    #[arg(
        long = "allowed-host",
        env = "CHAINWATCH_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Requests per second per token or remote IP (0: off; loopback is never limited).
    #[arg(long, env = "CHAINWATCH_RATE_LIMIT", default_value_t = 50)]
    pub rate_limit: u32,
    /// Requests a caller may burst before the rate applies.
    #[arg(long, env = "CHAINWATCH_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,
    /// Sockets one remote IP may hold (loopback is not counted).
    #[arg(long, env = "CHAINWATCH_MAX_SOCKETS_PER_IP", default_value_t = 64)]
    pub max_sockets_per_ip: usize,
    /// Do not watch session cwds for file changes (sessions are recorded as not watched).
    #[arg(long, env = "CHAINWATCH_NO_WATCH")]
    pub no_watch: bool,
    /// File-change coalescing window in milliseconds: one event per file per window.
    #[arg(long, env = "CHAINWATCH_WATCH_DEBOUNCE_MS", default_value_t = 100)]
    pub watch_debounce_ms: u64,
    /// Directories watched for one session; past it the session is partly watched.
    #[arg(
        long,
        env = "CHAINWATCH_WATCH_MAX_DIRS_PER_SESSION",
        default_value_t = 10_000
    )]
    pub watch_max_dirs_per_session: usize,
    /// Directories watched in all (keep it under inotify's max_user_watches).
    #[arg(long, env = "CHAINWATCH_WATCH_MAX_DIRS", default_value_t = 50_000)]
    pub watch_max_dirs: usize,
    /// Most entries one file-tree listing returns.
    #[arg(long, env = "CHAINWATCH_FILES_MAX_ENTRIES", default_value_t = 10_000)]
    pub files_max_entries: usize,
    /// Deepest directory level a file-tree listing descends to.
    #[arg(long, env = "CHAINWATCH_FILES_MAX_DEPTH", default_value_t = 32)]
    pub files_max_depth: usize,
    /// Most bytes of a file's content the files API returns.
    #[arg(long, env = "CHAINWATCH_FILES_MAX_BYTES", default_value_t = 1024 * 1024)]
    pub files_max_bytes: u64,
    /// The event log: `sqlite` (the embedded file in the data dir) or
    /// `nats://HOST:PORT[,HOST:PORT…]` (NATS JetStream, shared by every instance on the
    /// same stream; see docs/DEPLOY.md).
    #[arg(long, env = "CHAINWATCH_STORE", default_value = "sqlite")]
    pub store: String,
    /// The JetStream stream of the NATS store (its subjects are NAME.events.>).
    #[arg(long, env = "CHAINWATCH_NATS_STREAM", default_value = "CHAINWATCH")]
    pub nats_stream: String,
    /// Copies JetStream keeps of each event when it creates the stream (3 in production).
    #[arg(long, env = "CHAINWATCH_NATS_REPLICAS", default_value_t = 1)]
    pub nats_replicas: usize,
    /// NATS credentials file (JWT + nkey seed, as `nsc` writes it).
    #[arg(long, env = "CHAINWATCH_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// NATS user (with --nats-password).
    #[arg(long, env = "CHAINWATCH_NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "CHAINWATCH_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "CHAINWATCH_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// Require TLS to NATS even for nats:// URLs.
    #[arg(long, env = "CHAINWATCH_NATS_TLS")]
    pub nats_tls: bool,
    /// CA bundle (PEM) to verify the NATS servers with.
    #[arg(long, env = "CHAINWATCH_NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients (with --nats-tls-key).
    #[arg(long, env = "CHAINWATCH_NATS_TLS_CERT", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, env = "CHAINWATCH_NATS_TLS_KEY")]
    pub nats_tls_key: Option<PathBuf>,
    /// How long a write waits for JetStream's acknowledgement before answering 503, in ms.
    #[arg(long, env = "CHAINWATCH_NATS_ACK_TIMEOUT_MS", default_value_t = 5000)]
    pub nats_ack_timeout_ms: u64,
    /// Post a signed JSON notice here when something starts or stops waiting on a
    /// person (repeatable; prefix `ntfy:` or `slack:` for those shapes; docs/NOTIFY.md).
    #[arg(
        long = "notify-webhook",
        env = "CHAINWATCH_NOTIFY_WEBHOOK",
        value_delimiter = ','
    )]
    pub notify_webhooks: Vec<crate::notify::WebhookTarget>,
    /// The HMAC-SHA256 key of the webhook signature [default: generated once and kept
    /// in the data dir as notify-secret].
    #[arg(long, env = "CHAINWATCH_NOTIFY_SECRET", hide_env_values = true)]
    pub notify_secret: Option<String>,
    /// Seconds something must wait before anyone is notified (answered sooner: no noise).
    #[arg(long, env = "CHAINWATCH_NOTIFY_QUIET_SECS", default_value_t = 5)]
    pub notify_quiet_secs: u64,
    /// Attempts per webhook or push delivery (retries back off from 1 s, doubling).
    #[arg(long, env = "CHAINWATCH_NOTIFY_ATTEMPTS", default_value_t = 6)]
    pub notify_attempts: u32,
    /// Milliseconds before the first retry of a failed delivery (doubling, up to 60 s).
    #[arg(long, env = "CHAINWATCH_NOTIFY_BACKOFF_MS", default_value_t = 1000)]
    pub notify_backoff_ms: u64,
    /// Milliseconds one webhook or push attempt may take.
    #[arg(long, env = "CHAINWATCH_NOTIFY_TIMEOUT_MS", default_value_t = 10_000)]
    pub notify_timeout_ms: u64,
    /// Several instances on one NATS stream: seconds after an item settled before an
    /// instance that did not announce it sends the settled notice itself (the announcing
    /// instance may have died).
    #[arg(long, env = "CHAINWATCH_NOTIFY_TAKEOVER_SECS", default_value_t = 15)]
    pub notify_takeover_secs: u64,
    /// Committed events buffered for the notifier (past it: dropped, counted, logged).
    #[arg(long, env = "CHAINWATCH_NOTIFY_QUEUE", default_value_t = 4096)]
    pub notify_queue: usize,
    /// Accept http:// push endpoints (a local push service; browsers' are all https).
    #[arg(long, env = "CHAINWATCH_PUSH_ALLOW_HTTP")]
    pub push_allow_http: bool,
    /// The address people open, for links in notifications [default: http://BIND].
    #[arg(long, env = "CHAINWATCH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How a push service can reach the operator (VAPID `sub`: mailto: or https:).
    #[arg(
        long,
        env = "CHAINWATCH_VAPID_CONTACT",
        default_value = "mailto:chainwatch@localhost"
    )]
    pub vapid_contact: String,
    /// A directory whose files may be served and watched (repeatable; in the env,
    /// `:`-separated). Default: $HOME for a loopback server without tokens, none (no
    /// files served) with tokens.
    #[arg(
        long = "files-root",
        env = "CHAINWATCH_FILES_ROOT",
        value_delimiter = ':'
    )]
    pub files_roots: Vec<PathBuf>,
    /// A JSON price table (model prefix → USD per million tokens) merged over the
    /// built-in one (docs/PRICES.md).
    #[arg(long, env = "CHAINWATCH_PRICES", value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Most events one `GET /api/search` returns.
    #[arg(long, env = "CHAINWATCH_SEARCH_MAX_RESULTS", default_value_t = 200)]
    pub search_max_results: usize,
}

impl ServeArgs {
    /// The typed configuration these flags describe.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let store = self.store_config().map_err(ConfigError::Store)?;
        let tokens = crate::auth::Tokens::load(
            self.token.as_deref(),
            self.token_file.as_deref(),
            self.tokens_file.as_deref(),
        )?;
        let mut config = Config::new(self.bind, self.data_dir);
        config.tokens = tokens;
        config.allowed_origins = self.allowed_origins;
        config.allowed_hosts = self.allowed_hosts;
        config.rate_per_second = self.rate_limit;
        config.rate_burst = self.rate_burst;
        config.socket.max_per_ip = self.max_sockets_per_ip;
        config.max_body_bytes = self.max_body_bytes;
        config.max_json_depth = self.max_json_depth.max(1);
        config.max_wait = Duration::from_millis(self.max_wait_ms);
        config.max_batch_events = self.max_batch_events;
        config.socket.max_clients = self.max_sockets;
        config.socket.queue_frames = self.socket_queue;
        config.socket.queue_bytes = self.socket_queue_bytes.max(64 * 1024);
        config.socket.replay_page_bytes = self.replay_page_bytes.max(64 * 1024);
        config.commit.max_event_bytes = self.max_event_bytes.max(64 * 1024);
        config.socket.max_subscriptions = self.max_subscriptions;
        config.socket.max_frame_bytes = self.max_frame_bytes;
        config.socket.idle_timeout = Duration::from_secs(self.socket_idle_secs.max(1));
        config.socket.replay_limit = self.replay_limit;
        config.socket.progress_interval = Duration::from_millis(self.progress_interval_ms.max(10));
        config.snapshot_every = self.snapshot_every;
        config.retention =
            (self.retention_days > 0).then(|| Duration::from_secs(self.retention_days * 86_400));
        config.watch.enabled = !self.no_watch;
        config.watch.debounce = Duration::from_millis(self.watch_debounce_ms);
        config.watch.max_dirs_per_session = self.watch_max_dirs_per_session;
        config.watch.max_dirs = self.watch_max_dirs;
        config.files.max_entries = self.files_max_entries.max(1);
        config.files.max_depth = self.files_max_depth.max(1);
        config.files.max_bytes = self.files_max_bytes;
        config.store = store;
        config.notify.webhooks = self.notify_webhooks;
        config.notify.secret = self.notify_secret;
        config.notify.quiet = Duration::from_secs(self.notify_quiet_secs);
        config.notify.attempts = self.notify_attempts.max(1);
        config.notify.public_url = self.public_url;
        config.notify.backoff = Duration::from_millis(self.notify_backoff_ms.max(1));
        config.notify.timeout = Duration::from_millis(self.notify_timeout_ms.max(1));
        config.notify.queue = self.notify_queue.max(1);
        config.notify.takeover = Duration::from_secs(self.notify_takeover_secs);
        config.notify.push_allow_http = self.push_allow_http;
        config.notify.vapid_contact = self.vapid_contact;
        config.files.roots = self.files_roots;
        config.prices_file = self.prices;
        config.search.max_results = self.search_max_results.max(1);
        Ok(config)
    }

    /// The event log these flags choose.
    fn store_config(&self) -> Result<crate::store::StoreConfig, String> {
        use crate::store::StoreConfig;
        let mut store = StoreConfig::parse(&self.store, &self.nats_stream)?;
        if let StoreConfig::Nats(nats) = &mut store {
            nats.replicas = self.nats_replicas.clamp(1, 5);
            nats.creds_file = self.nats_creds.clone();
            nats.user = self.nats_user.clone().zip(self.nats_password.clone());
            nats.token = self.nats_token.clone();
            nats.require_tls = self.nats_tls;
            nats.tls_ca = self.nats_tls_ca.clone();
            nats.tls_client = self.nats_tls_cert.clone().zip(self.nats_tls_key.clone());
            nats.ack_timeout = Duration::from_millis(self.nats_ack_timeout_ms.max(100));
        }
        Ok(store)
    }
}
