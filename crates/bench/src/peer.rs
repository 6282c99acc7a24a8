//! The peer as a reference measured in the same run: `crates/bench/peer/peer.ts`, a hook
//! dashboard built the way the best of its kind is (Bun + SQLite, no fsync, Bun's topic
//! fan-out). Issue 19's "ahead of the peers" targets (server CPU at 1,000 sockets,
//! request p99 at 64 clients) are ratios against it, on the same machine, under the same
//! load generator: the figures the issue quotes for the peer were taken on another
//! machine.
//!
//! Bun comes from npm (the `bun` package pins it); the bench installs it with `npm ci`
//! in `crates/bench/peer` the first time. Where that cannot be done, [`start`] says why
//! and the report carries the reason instead of the peer's figures.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::server::Server;

/// The peer's directory in the repo.
fn home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// The Bun binary, installed with `npm ci` when it is not there yet.
fn bun() -> Result<PathBuf, String> {
    let home = home();
    let bun = home.join("node_modules/.bin/bun");
    if bun.exists() {
        return Ok(bun);
    }
    eprintln!(
        "[bench] installing the peer's Bun with npm ci in {}",
        home.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("npm ci for the peer could not run: {e}"))?;
    if !status.success() || !bun.exists() {
        return Err(format!("npm ci in {} failed ({status})", home.display()));
    }
    Ok(bun)
}

/// Starts the peer on a fresh SQLite file in `data_dir`.
pub async fn start(data_dir: &Path) -> Result<Server, String> {
    let bun = bun()?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let log = data_dir.join("peer.log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let mut command = Command::new(bun);
    command
        .arg(home().join("peer.ts"))
        .arg(data_dir)
        .stderr(log_file);
    Server::announcing_port(command, "the peer (bun peer.ts)", Some(log)).await
}
