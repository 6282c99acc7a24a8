//! Start-up: opens the log, rebuilds state, starts the commit thread and the HTTP
//! server, and stops them in order. Tests build an [`Application`] on port 0 exactly as
//! `chainwatch serve` does.

use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, web};
use tokio::sync::watch;

use crate::config::Config;
use crate::core::{Core, CoreError};
use crate::state::AppState;
use crate::store::{LogReader, StoreError, open_sqlite};
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
}

/// A built server, listening, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    commit_thread: JoinHandle<()>,
}

impl Application {
    /// Opens everything and binds the listener (port 0 picks a free port).
    pub fn build(config: Config) -> Result<Self, StartupError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let (writer, reader) = open_sqlite(&config.database_path())?;
        let reader: Arc<dyn LogReader> = Arc::new(reader);
        let latest = reader.latest_seq()?;
        let hub = Arc::new(Hub::new(
            HubLimits {
                queue_frames: config.socket.queue_frames,
                max_clients: config.socket.max_clients,
                max_subscriptions: config.socket.max_subscriptions,
            },
            latest,
        ));
        let (core, commit_thread) = Core::start(
            Box::new(writer),
            reader.as_ref(),
            hub.clone(),
            config.commit.clone(),
        )?;
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
        let state = web::Data::new(AppState {
            config,
            core,
            reader,
            hub,
            shutdown,
        });
        let app_state = state.clone();
        let server = actix_web::HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(actix_web::middleware::Compress::default())
                .configure(crate::api::configure)
                .route("/ws", web::get().to(crate::ws::upgrade))
                .default_service(web::get().to(crate::web::asset))
        })
        .disable_signals()
        // Socket frames are small and must leave at once: without this, Nagle's
        // algorithm holds a frame back until the client acknowledges the previous one
        // (tens of milliseconds with delayed ACKs).
        .tcp_nodelay(true)
        .shutdown_timeout(5)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: format!("port {port}"),
            source,
        })?
        .run();
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            server,
            state,
            commit_thread,
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
        server.await?;
        // The HTTP side is down: finish what is queued, then stop the commit thread.
        self.state.core.shutdown().await;
        let _ = self.commit_thread.join();
        tracing::info!("stopped");
        Ok(())
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
