//! Starting and stopping the servers under test as child processes: the real release
//! `chainwatch serve` on a data dir and a free port, and the references that announce
//! their port: the bare handler (this binary's `bare-server` subcommand) and the peer
//! ([`crate::peer`]). Each logs to a file beside its data, so a failure can be
//! explained.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http;

/// A running server process.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    log: Option<PathBuf>,
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Flags every chainwatch under test gets: room for the socket sections and a replay
/// of the whole catch-up log in one go.
const SERVE_FLAGS: &[&str] = &["--max-sockets", "20000", "--replay-limit", "2000000"];

impl Server {
    /// Starts `chainwatch serve` on `data_dir` and waits until `/api/health` answers.
    /// Returns the server and the time from spawning to the first healthy answer.
    pub async fn chainwatch(bin: &Path, data_dir: &Path) -> Result<(Self, Duration), String> {
        Self::chainwatch_with(bin, data_dir, &[]).await
    }

    /// [`Server::chainwatch`] with more flags (the NATS section's `--store nats://…`).
    pub async fn chainwatch_with(
        bin: &Path,
        data_dir: &Path,
        extra: &[String],
    ) -> Result<(Self, Duration), String> {
        let port = free_port()?;
        let log = data_dir.with_extension("log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let child = Command::new(bin)
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(SERVE_FLAGS)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Self {
            pid: child.id(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log: Some(log),
        };
        server.wait_healthy(Duration::from_secs(120)).await?;
        Ok((server, started.elapsed()))
    }

    /// Starts the bare reference handler (`chainwatch-bench bare-server`).
    pub async fn bare() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = Command::new(exe);
        command.arg("bare-server").stderr(Stdio::inherit());
        Self::announcing_port(command, "the bare server", None).await
    }

    /// Starts `command`, a reference server that prints `PORT <n>` on its first line of
    /// stdout once it listens on 127.0.0.1, and waits until `/api/health` answers.
    /// `log` is where its stderr goes, for [`Server::wait_healthy`]'s explanation.
    pub async fn announcing_port(
        mut command: Command,
        what: &str,
        log: Option<PathBuf>,
    ) -> Result<Self, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("no stdout from {what}"))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("{what} said {line:?}, not its port"))?;
        let mut server = Self {
            pid: child.id(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        server.wait_healthy(Duration::from_secs(10)).await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(response) = http::once(self.addr, "GET", "/api/health", b"").await {
                if response.status == 200 {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited ({status}){}", self.log_tail()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server did not answer /api/health within {limit:?}{}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn log_tail(&self) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("; its log ({}) ends:\n{}", log.display(), tail.join("\n"))
    }

    /// Stops the server with SIGTERM (a graceful shutdown that flushes the log),
    /// falling back to SIGKILL after 20 s.
    pub fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err("the server ignored SIGTERM for 20 s; killed it".into());
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
