//! The event log on NATS JetStream (`chainwatch serve --store nats://HOST:PORT[,…]`), so
//! that several instances behave as one server. One stream (file storage, replicas
//! configurable) holds every event as one message; the stream sequence is the event's
//! `seq`. An append carries `Nats-Expected-Last-Sequence`: it lands only if nothing else
//! was appended since the instance last caught up, which is what keeps the core's
//! decisions (session ended, first answer wins, eventId stored before) correct across
//! instances. A commit of several events is, on an R1 stream, a chain of publishes each
//! expecting the one before it (a prefix lands; an operation of several events is kept
//! whole by the `Chainwatch-Continues` header, see `append`), and on a replicated stream
//! one atomic batch (JetStream 2.12+), stored whole or not at all.
//!
//! Reads never go to JetStream: each instance keeps a local SQLite copy of the stream
//! (its "mirror", in the data dir), written by the one thread that follows the stream,
//! so reads and replays cost what they cost on the embedded store and keep serving while
//! NATS is unreachable. See `core::replicated` for the loop that ties them together.
//!
//! The client's I/O runs on a small runtime of its own, so a blocking commit step can
//! never stall it.

mod append;
mod follow;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

pub use append::{AppendError, Chain};
pub use follow::Followed;

/// JetStream's default ceiling on the messages of one atomic batch (`max_msgs` of the
/// server's `jetstream.limits.batch`); a commit is kept under it.
pub const MAX_ATOMIC_BATCH: usize = 1000;

/// How to reach NATS and which stream to use.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URLs, `nats://HOST:PORT` or `tls://HOST:PORT` (credentials may ride in
    /// the URL: `nats://user:pass@host:4222`).
    pub servers: Vec<String>,
    /// The stream's name; its subjects are `NAME.events.>`.
    pub stream: String,
    /// Copies JetStream keeps of each message (1 for tests, 3 for production).
    pub replicas: usize,
    /// A `.creds` file (JWT and nkey seed), as `nsc` writes them.
    pub creds_file: Option<std::path::PathBuf>,
    /// User and password.
    pub user: Option<(String, String)>,
    /// A bare token.
    pub token: Option<String>,
    /// Insist on TLS even when the URL says `nats://`.
    pub require_tls: bool,
    /// A CA bundle (PEM) to verify the servers with, besides the system roots.
    pub tls_ca: Option<std::path::PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify clients.
    pub tls_client: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// How long an append waits for JetStream's acknowledgement before it answers 503.
    pub ack_timeout: Duration,
    /// Appends refused because another instance appended first, retried after catching
    /// up, before the write answers 503.
    pub max_conflict_retries: usize,
}

impl NatsConfig {
    /// The configuration a `--store nats://…` value describes, with defaults for the rest.
    pub fn from_url(url: &str, stream: &str) -> Result<Self, String> {
        let servers: Vec<String> = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if servers.is_empty() {
            return Err("--store nats:// needs at least one HOST:PORT".into());
        }
        for server in &servers {
            let rest = server
                .strip_prefix("nats://")
                .or_else(|| server.strip_prefix("tls://"))
                .unwrap_or(server);
            if rest.is_empty() || rest.contains('/') {
                return Err(format!(
                    "'{server}' is not a NATS server address; write nats://HOST:PORT[,HOST:PORT…]"
                ));
            }
        }
        validate_stream_name(stream)?;
        Ok(Self {
            servers,
            stream: stream.to_owned(),
            replicas: 1,
            creds_file: None,
            user: None,
            token: None,
            require_tls: false,
            tls_ca: None,
            tls_client: None,
            ack_timeout: Duration::from_secs(5),
            max_conflict_retries: 32,
        })
    }

    /// The servers as written, for messages (credentials left out).
    pub fn display_servers(&self) -> String {
        self.servers
            .iter()
            .map(|s| match s.rsplit_once('@') {
                Some((scheme_user, host)) => {
                    let scheme = scheme_user.split("://").next().unwrap_or("nats");
                    format!("{scheme}://…@{host}")
                }
                None => s.clone(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Stream names become subject tokens: letters, digits, `-` and `_` only.
pub fn validate_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "--nats-stream '{name}' must be 1-64 letters, digits, - or _"
        ));
    }
    Ok(())
}

/// Errors of setting up the NATS log.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The servers cannot be reached or refused the connection.
    #[error("cannot connect to NATS at {servers}: {reason}")]
    Connect {
        /// Where.
        servers: String,
        /// Why.
        reason: String,
    },
    /// The stream cannot be created or used.
    #[error("cannot use the JetStream stream {stream}: {reason}")]
    Stream {
        /// Which.
        stream: String,
        /// Why.
        reason: String,
    },
    /// The local copy does not belong to this stream.
    #[error(
        "the local copy of the stream at {path} does not match stream {stream} ({reason}); the stream was recreated or another stream was used with this data dir: delete {path} and start again to copy the stream afresh"
    )]
    Mirror {
        /// The mirror file.
        path: String,
        /// The stream.
        stream: String,
        /// What differs.
        reason: String,
    },
}

/// A connected JetStream log: the client, its runtime, the stream.
pub struct NatsLog {
    runtime: Option<tokio::runtime::Runtime>,
    client: async_nats::Client,
    js: jetstream::Context,
    stream: stream::Stream,
    config: NatsConfig,
    /// Whether the stream had more than one replica when this instance opened it.
    replicated: bool,
}

impl Drop for NatsLog {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The subject of a session's events: the session id, hex-encoded (ids may hold `.`,
/// which separates subject tokens), so a session's messages can be purged by subject.
pub fn subject(stream: &str, session: &str) -> String {
    let mut subject = String::with_capacity(stream.len() + 8 + session.len() * 2);
    subject.push_str(stream);
    subject.push_str(".events.");
    for byte in session.bytes() {
        subject.push(char::from(HEX[usize::from(byte >> 4)]));
        subject.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    subject
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl NatsLog {
    /// Connects, then creates the stream when it does not exist (or turns on atomic
    /// publish when it does). Blocks the calling thread, which must not be async.
    pub fn connect(config: NatsConfig) -> Result<Self, NatsError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("chainwatch-nats")
            .enable_all()
            .build()
            .map_err(|e| NatsError::Connect {
                servers: config.display_servers(),
                reason: e.to_string(),
            })?;
        let (client, js, stream, replicas) = runtime.block_on(Self::open(&config))?;
        Ok(Self {
            runtime: Some(runtime),
            client,
            js,
            stream,
            config,
            replicated: replicas > 1,
        })
    }

    async fn open(
        config: &NatsConfig,
    ) -> Result<
        (
            async_nats::Client,
            jetstream::Context,
            stream::Stream,
            usize,
        ),
        NatsError,
    > {
        let client = connect_client(config).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .build(client.clone());
        let stream_error = |reason: String| NatsError::Stream {
            stream: config.stream.clone(),
            reason,
        };
        let wanted = stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.events.>", config.stream)],
            storage: stream::StorageType::File,
            num_replicas: config.replicas.max(1),
            allow_atomic_publish: true,
            allow_direct: true,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        // A cluster that is still electing its JetStream leader answers "temporarily
        // unavailable", and a replicated stream just created may answer "stream not
        // found" until its own leader is elected: instances started with the cluster
        // wait for both.
        let deadline = std::time::Instant::now() + STREAM_WAIT;
        let (stream, info) = loop {
            let attempt = match js.get_stream(&config.stream).await {
                Ok(stream) => Ok(stream),
                Err(_) => js
                    .create_stream(wanted.clone())
                    .await
                    .map_err(|e| stream_error(format!("create: {e}"))),
            };
            let attempt = match attempt {
                Ok(mut stream) => match stream.info().await {
                    Ok(info) => {
                        let info = info.clone();
                        Ok((stream, info))
                    }
                    Err(e) => Err(stream_error(e.to_string())),
                },
                Err(error) => Err(error),
            };
            match attempt {
                Ok(ready) => break ready,
                Err(error) if std::time::Instant::now() < deadline => {
                    tracing::info!(%error, "JetStream not ready yet; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => return Err(error),
            }
        };
        if !info
            .config
            .subjects
            .iter()
            .any(|s| s == &wanted.subjects[0])
        {
            return Err(stream_error(format!(
                "it exists with subjects {:?}, not {}; use another --nats-stream",
                info.config.subjects, wanted.subjects[0]
            )));
        }
        if !info.config.allow_atomic_publish {
            let mut updated = info.config.clone();
            updated.allow_atomic_publish = true;
            js.update_stream(updated)
                .await
                .map_err(|e| stream_error(format!("turning on atomic publish: {e}")))?;
        }
        tracing::info!(
            servers = %config.display_servers(),
            stream = %config.stream,
            replicas = info.config.num_replicas,
            last_seq = info.state.last_sequence,
            messages = info.state.messages,
            "connected to the NATS JetStream log"
        );
        Ok((client, js, stream, info.config.num_replicas))
    }

    /// Whether a commit of several one-event operations may go as a chain of publishes
    /// (`chain`). Not on a replicated stream: its leader checks
    /// `Nats-Expected-Last-Msg-Id` against the proposals in flight, and when another
    /// instance's proposal lands in between, applying the chain's next message fails
    /// as a "critical write error" on nats-server 2.15.1, after which the stream took
    /// no write at all (seen in the 3-node test). A replicated stream stages an atomic
    /// batch in memory, so the batch costs little there.
    pub fn chains(&self) -> bool {
        !self.replicated
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        // The runtime lives until drop; `runtime` is only None during drop.
        match &self.runtime {
            Some(runtime) => runtime.handle(),
            None => unreachable_runtime(),
        }
    }

    /// Runs a future on the client's runtime and waits for it (plain threads only).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle().block_on(future)
    }

    /// Whether the client is connected right now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The newest sequence in the stream (0 when empty).
    pub fn head(&mut self) -> Result<u64, AppendError> {
        if !self.connected() {
            return Err(AppendError::Unreachable(self.unreachable()));
        }
        let timeout = self.config.ack_timeout;
        let stream = &mut self.stream;
        let handle = match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable_runtime(),
        };
        handle.block_on(async {
            match tokio::time::timeout(timeout, stream.info()).await {
                Ok(Ok(info)) => Ok(info.state.last_sequence),
                Ok(Err(e)) => Err(AppendError::Unreachable(format!(
                    "NATS stream info failed: {e}"
                ))),
                Err(_) => Err(AppendError::Unreachable(
                    "no answer from NATS to a stream info request in time".into(),
                )),
            }
        })
    }

    /// The event id stored at `seq`, when that message is there.
    pub fn event_id_at(&self, seq: u64) -> Result<Option<String>, NatsError> {
        let stream = self.stream.clone();
        let answer = self.block_on(async move { stream.get_raw_message(seq).await });
        match answer {
            Ok(message) => {
                #[derive(serde::Deserialize)]
                struct Probe {
                    #[serde(rename = "eventId")]
                    event_id: String,
                }
                Ok(serde_json::from_slice::<Probe>(&message.payload)
                    .ok()
                    .map(|p| p.event_id))
            }
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(NatsError::Stream {
                stream: self.config.stream.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// A sentence for writes refused while NATS is unreachable.
    pub fn unreachable(&self) -> String {
        format!(
            "NATS at {} is unreachable ({:?})",
            self.config.display_servers(),
            self.client.connection_state()
        )
    }

    /// Starts following the stream from the message after `after`; see [`Followed`].
    pub fn follow(&self, after: u64, capacity: usize) -> tokio::sync::mpsc::Receiver<Followed> {
        follow::spawn(self.handle(), self.stream.clone(), after, capacity)
    }
}

/// A client connected as `config` says (servers, credentials, TLS), reconnecting
/// forever. The log's own connection is made with it, and the notifier opens a second
/// one for its claims (`notify::claim`), so its traffic never queues behind appends.
pub async fn connect_client(config: &NatsConfig) -> Result<async_nats::Client, NatsError> {
    let connect_error = |reason: String| NatsError::Connect {
        servers: config.display_servers(),
        reason,
    };
    let mut options = async_nats::ConnectOptions::new()
        .name("chainwatch")
        .connection_timeout(Duration::from_secs(5))
        // Never give up: an outage ends when NATS is back, without a restart.
        .max_reconnects(None)
        .require_tls(config.require_tls);
    if let Some(path) = &config.creds_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| connect_error(format!("credentials {}: {e}", path.display())))?;
    }
    if let Some((user, password)) = &config.user {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if let Some(ca) = &config.tls_ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &config.tls_client {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let servers: Vec<async_nats::ServerAddr> = config
        .servers
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()
        .map_err(|e: std::io::Error| connect_error(e.to_string()))?;
    // The client reads no credentials from URLs itself: `nats://user:pass@host` and
    // `nats://token@host` are applied here, unless a flag gave them.
    if config.user.is_none() && config.token.is_none() {
        if let Some(addr) = servers.iter().find(|a| a.has_user_pass()) {
            match (addr.username(), addr.password()) {
                (Some(user), Some(password)) => {
                    options = options.user_and_password(user.into(), password.into());
                }
                (Some(token), None) => options = options.token(token.into()),
                _ => {}
            }
        }
    }
    options
        .connect(servers)
        .await
        .map_err(|e| connect_error(e.to_string()))
}

/// How long start-up waits for JetStream to create or find the stream.
const STREAM_WAIT: Duration = Duration::from_secs(30);

/// How long JetStream remembers a message id (`Nats-Msg-Id`, the eventId of a
/// single-event commit) to drop a duplicate publish. Beyond it, and for commits of
/// several events (atomic batches carry no message ids), duplicates are caught by the
/// core itself: an append only lands on a stream the instance has fully applied, and
/// the eventId is looked up in that copy first.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

fn unreachable_runtime() -> ! {
    panic!("the NATS runtime is used after drop")
}
