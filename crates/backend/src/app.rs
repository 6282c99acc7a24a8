//! Start-up: opens the log, rebuilds state, starts the commit thread and the HTTP
//! server, and stops them in order. Tests build an [`Application`] on port 0 exactly as
//! `chainwatch serve` does.

use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, web};
use tokio::sync::watch;

use crate::auth::Security;
use crate::auth::rate::RateLimiter;
use crate::config::Config;
use crate::core::{Core, CoreError, Fanout, Publisher};
use crate::state::AppState;
use crate::store::lock::DataDirLock;
use crate::store::{LogReader, StoreConfig, StoreError, open_sqlite};
use crate::watch::WatchService;
use crate::watch::roots::FilesRoots;
use crate::ws::hub::{Hub, HubLimits};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data dir cannot be created or used.
    #[error("cannot use the data dir {path}: {source}")]
    DataDir {
        /// The dir.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The log cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The core cannot start.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Reachable from other machines with no token.
    #[error(
        "refusing to listen on {0} without a token: anyone who can reach it could steer your agents and read their files. Set --token (or CHAINWATCH_TOKEN, or --token-file / --tokens-file), or bind to 127.0.0.1"
    )]
    Insecure(String),
    /// Limits that contradict each other (an event larger than a socket's budget).
    #[error("{0}")]
    Limits(String),
    /// The NATS JetStream log cannot be used.
    #[error(transparent)]
    Replicated(#[from] crate::core::replicated::ReplicatedError),
    /// The price file cannot be used.
    #[error(transparent)]
    Prices(#[from] crate::core::pricing::PriceError),
    /// The search index cannot be opened.
    #[error("cannot open the search index {path}: {source}")]
    Search {
        /// The index file.
        path: String,
        /// Why.
        source: crate::search::SearchError,
    },
    /// Another server holds the data dir.
    #[error(transparent)]
    Locked(#[from] crate::store::lock::LockError),
    /// The file watcher's thread cannot start.
    #[error("cannot start the file watcher: {0}")]
    Watcher(std::io::Error),
    /// The notifier's keys cannot be read or made in the data dir.
    #[error("cannot set up notifications: {0}")]
    Notify(std::io::Error),
}

/// The start-up snapshot's file in the data dir (`core::snapshot`).
pub const SNAPSHOT_FILE: &str = "projection.snapshot";

/// A built server, listening, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    commit_thread: JoinHandle<()>,
    watcher: Option<WatchService>,
    /// Held until the server has stopped.
    data_lock: DataDirLock,
}

impl Application {
    /// Opens everything and binds the listener (port 0 picks a free port).
    pub fn build(mut config: Config) -> Result<Self, StartupError> {
        if !config.bind.ip().is_loopback() && !config.tokens.enabled() {
            return Err(StartupError::Insecure(config.bind.to_string()));
        }
        config.check_budgets().map_err(StartupError::Limits)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let data_lock = DataDirLock::acquire(&config.data_dir)?;
        let log_path = config.log_path();
        let (writer, reader) = open_sqlite(&log_path)?;
        if let StoreConfig::Nats(_) = config.store {
            // A copy of the stream: the stream is the durable log.
            writer.relax_durability()?;
        }
        let reader: Arc<dyn LogReader> = Arc::new(reader);
        let latest = reader.latest_seq()?;
        let hub = Arc::new(Hub::new(
            HubLimits {
                queue_frames: config.socket.queue_frames,
                queue_bytes: config.socket.queue_bytes,
                max_clients: config.socket.max_clients,
                max_subscriptions: config.socket.max_subscriptions,
                max_per_ip: config.socket.max_per_ip,
            },
            latest,
        ));
        if let Some(path) = &config.prices_file {
            config.commit.prices = Arc::new(crate::core::pricing::PriceTable::with_file(path)?);
        }
        let crate::search::Started {
            index: search,
            feed: search_feed,
            ..
        } = crate::search::start(&config.search_path(), reader.clone()).map_err(|source| {
            StartupError::Search {
                path: config.search_path().display().to_string(),
                source,
            }
        })?;
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let files_roots = FilesRoots::resolve(
            &config.files.roots,
            config.tokens.enabled(),
            config.bind.ip().is_loopback(),
            home.as_deref(),
        );
        tracing::info!(roots = ?files_roots.roots(), "files are served and watched only inside these roots");
        // Committed events go to the sockets, the search index, the notifier (which never
        // blocks the commit: a bounded queue) and the file watcher.
        let (notify_publisher, notify_inbox) =
            crate::notify::NotifyPublisher::channel(config.notify.queue);
        let (watch_publisher, watch_inbox) =
            crate::watch::channel_pair(&config.data_dir, files_roots.clone());
        let mut publishers: Vec<Arc<dyn Publisher>> =
            vec![hub.clone(), search_feed, notify_publisher];
        let mut commit = config.commit.clone();
        if config.watch.enabled {
            // A session's watch state is decided at its start, in its session:started.
            // With watching off no watcher runs, and the fold's default "not watched"
            // stands.
            let decision: Arc<dyn crate::core::StartWatch> = watch_inbox.decision();
            commit.start_watch = Some(decision);
        }
        let watch_ready = config.watch.enabled.then(|| watch_inbox.ready());
        let (core, commit_thread) = match &config.store {
            StoreConfig::Sqlite => {
                if config.watch.enabled {
                    publishers.push(watch_publisher);
                }
                let publisher: Arc<dyn Publisher> = Arc::new(Fanout(publishers));
                // Start-up folds only the log's tail after the snapshot.
                commit
                    .snapshot
                    .get_or_insert(crate::core::snapshot::SnapshotConfig {
                        path: config.data_dir.join(SNAPSHOT_FILE),
                        every_events: config.snapshot_every,
                    });
                Core::start(Box::new(writer), reader.as_ref(), publisher, commit)?
            }
            // Every instance's events reach the sockets and the search index; only this
            // instance's own reach its file watcher (the instance a session started
            // through decided its watch and watches it, see core/replicated.rs).
            StoreConfig::Nats(nats) => {
                // The snapshot covers this instance's copy of the stream (one per stream).
                commit
                    .snapshot
                    .get_or_insert(crate::core::snapshot::SnapshotConfig {
                        path: config
                            .data_dir
                            .join(format!("nats-{}.snapshot", nats.stream)),
                        every_events: config.snapshot_every,
                    });
                crate::core::replicated::start(
                    writer,
                    &log_path,
                    reader.as_ref(),
                    (**nats).clone(),
                    Arc::new(Fanout(publishers)),
                    config
                        .watch
                        .enabled
                        .then_some(watch_publisher as Arc<dyn Publisher>),
                    commit,
                )?
            }
        };
        hub.attach(core.read().clone());
        let push = Arc::new(crate::notify::push_service(&config).map_err(StartupError::Notify)?);
        let notifier = crate::notify::notifier(&config, core.read().clone(), vec![push.clone()])
            .map_err(StartupError::Notify)?;
        tokio::spawn(notifier.run(notify_inbox));
        let watcher = if config.watch.enabled {
            Some(
                WatchService::start(
                    &config.watch,
                    &config.data_dir,
                    files_roots.clone(),
                    watch_inbox,
                    core.clone(),
                )
                .map_err(StartupError::Watcher)?,
            )
        } else {
            None
        };
        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: config.bind.to_string(),
                source,
            })?
            .port();
        let (shutdown, _) = watch::channel(false);
        let security = Security {
            tokens: config.tokens.clone(),
            allowed_origins: config.allowed_origins.clone(),
            allowed_hosts: config.allowed_hosts.clone(),
            rate: RateLimiter::new(config.rate_per_second, config.rate_burst),
            routes: crate::auth::RouteRules {
                access: crate::api::routes::access,
                refuses_scoped: crate::api::routes::refuses_scoped,
            },
        };
        let state = web::Data::new(AppState {
            config,
            core,
            reader,
            hub,
            shutdown,
            security,
            push,
            files_roots,
            search,
            watch_ready,
        });
        let app_state = state.clone();
        let app = move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(actix_web::middleware::Compress::default())
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::middleware::guard,
                ))
                .configure(crate::api::configure)
                .default_service(web::get().to(crate::web::asset))
        };
        let server = serve(listener, app).map_err(|source| StartupError::Bind {
            addr: format!("port {port}"),
            source,
        })?;
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            server,
            state,
            commit_thread,
            watcher,
            data_lock,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server from elsewhere (tests).
    pub fn handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    /// Serves until ctrl-c/SIGTERM (or a [`StopHandle`]), then shuts down in order.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stop = self.handle();
        let server = self.server;
        actix_web::rt::spawn(async move {
            crate::shutdown::signal().await;
            stop.stop().await;
        });
        if let Some(keep) = self.state.config.retention {
            actix_web::rt::spawn(retention(self.state.clone(), keep));
        }
        actix_web::rt::spawn(progress(self.state.clone()));
        server.await?;
        // The HTTP side is down: stop the watcher (it commits through the core), finish
        // what is queued, then stop the commit thread.
        if let Some(watcher) = self.watcher {
            watcher.stop();
        }
        self.state.core.shutdown().await;
        let _ = self.commit_thread.join();
        drop(self.data_lock);
        tracing::info!("stopped");
        Ok(())
    }
}

/// Serves `app` on `listener` as actix-web's `HttpServer` would (HTTP/1, its timeouts,
/// one app per worker), plus the upgrade hook it does not expose: requests with
/// `Upgrade: websocket` go to [`crate::ws::upgrade`], which runs them through the same
/// app and takes the stream of an accepted socket away from the HTTP dispatcher.
fn serve<F, T, B>(listener: TcpListener, app: F) -> std::io::Result<Server>
where
    F: Fn() -> App<T> + Clone + Send + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    use actix_service::{IntoServiceFactory, ServiceFactoryExt, map_config};

    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build()
        .disable_signals()
        .shutdown_timeout(5);
    let graceful = builder.graceful_shutdown_signal();
    Ok(builder
        .listen("chainwatch", listener, move || {
            let graceful = graceful.clone();
            let http = app()
                .into_factory()
                .map_err(|error: actix_web::Error| error.error_response());
            actix_http::HttpService::build()
                .graceful_shutdown_signal(move || {
                    let graceful = graceful.clone();
                    async move { graceful.notified().await }
                })
                // actix-web's defaults, which the server had before.
                .client_request_timeout(std::time::Duration::from_secs(5))
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(addr)
                // Socket frames are small and must leave at once: without this, Nagle's
                // algorithm holds a frame back until the client acknowledges the
                // previous one (tens of milliseconds with delayed ACKs).
                .tcp_nodelay(true)
                .upgrade(crate::ws::upgrade::UpgradeFactory::new(app.clone()))
                // The host and address of the default config are only read for URLs
                // the app generates, and it generates none.
                .finish(map_config(http, |()| actix_web::dev::AppConfig::default()))
                .tcp()
        })?
        .run())
}

/// How often retention looks for sessions to prune.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Prunes ended sessions older than `keep`, at start and then hourly, through the core.
async fn retention(state: web::Data<AppState>, keep: std::time::Duration) {
    let mut every = tokio::time::interval(RETENTION_EVERY);
    loop {
        every.tick().await;
        let Ok(keep) = chrono::Duration::from_std(keep) else {
            return;
        };
        let ended_before = chrono::Utc::now() - keep;
        match state.core.prune(ended_before).await {
            Ok(crate::core::Pruned { sessions, events }) if !sessions.is_empty() => {
                tracing::info!(
                    sessions = sessions.len(),
                    events,
                    "retention pruned ended sessions"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention failed; will retry"),
        }
    }
}

/// Sends the sockets each busy session's counts, once per progress interval, until
/// shutdown (`Hub::flush_progress`: lists hear what they count without the events).
async fn progress(state: web::Data<AppState>) {
    let mut every = tokio::time::interval(state.config.socket.progress_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = every.tick() => {
                state.hub.flush_progress(state.core.read());
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Stops a running [`Application`].
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    state: web::Data<AppState>,
}

impl StopHandle {
    /// Closes every socket with a close frame, then stops accepting and drains requests.
    pub async fn stop(&self) {
        self.state.shutdown.send_replace(true);
        self.state.hub.close_all();
        self.server.stop(true).await;
    }
}
