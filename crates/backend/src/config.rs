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
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            queue_frames: 1024,
            max_clients: 25_000,
            max_subscriptions: 256,
            max_frame_bytes: 64 * 1024,
            heartbeat: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            replay_limit: 1_000_000,
            send_timeout: Duration::from_secs(10),
            max_per_ip: 64,
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
    /// Most events in one `POST /api/events`.
    pub max_batch_events: usize,
    /// Longest a long poll (`waitMs`) may wait.
    pub max_wait: Duration,
    /// Socket limits.
    pub socket: SocketConfig,
    /// Commit step tunables.
    pub commit: CommitConfig,
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
}

impl Config {
    /// Defaults with the given address and data dir.
    pub fn new(bind: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            bind,
            data_dir,
            max_body_bytes: 4 * 1024 * 1024,
            max_batch_events: 10_000,
            max_wait: Duration::from_secs(120),
            socket: SocketConfig::default(),
            commit: CommitConfig::default(),
            retention: None,
            tokens: Tokens::default(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            rate_per_second: 50,
            rate_burst: 200,
        }
    }

    /// The SQLite file inside the data dir.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("chainwatch.db")
    }
}
