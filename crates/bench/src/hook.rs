//! `chainwatch hook` wall time: process start to exit for one PostToolUse payload with
//! the server up. Skipped, with a note, when this build has no `hook` subcommand.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The PostToolUse payload Claude Code sends.
pub const PAYLOAD: &str = r#"{"session_id":"bench","transcript_path":"/tmp/t","cwd":"/tmp","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"},"tool_use_id":"toolu_1"}"#;

/// Whether the binary has a working `hook` subcommand.
pub fn available(bin: &Path) -> bool {
    Command::new(bin)
        .args(["hook", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `calls` hook calls one after another; returns each call's wall time in ms and
/// how many exited non-zero.
pub fn run(bin: &Path, addr: SocketAddr, calls: usize) -> Result<(Vec<f64>, usize), String> {
    let mut times = Vec::with_capacity(calls);
    let mut failures = 0;
    for _ in 0..calls {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .arg("hook")
            .env("CHAINWATCH_URL", format!("http://{addr}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run the hook: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(PAYLOAD.as_bytes())
                .map_err(|e| format!("hook stdin: {e}"))?;
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if !status.success() {
            failures += 1;
        }
    }
    Ok((times, failures))
}

/// The executable the reference spawns: the full server executable
/// (`chainwatch-server`, beside the `chainwatch` front) when there is one, else `bin`
/// itself (builds from before the front, where `chainwatch` was the full executable).
/// Spawning the front's `--version` would time the front and the server's start both.
pub fn reference_bin(bin: &Path) -> PathBuf {
    let server = bin.with_file_name("chainwatch-server");
    if server.is_file() {
        server
    } else {
        bin.to_path_buf()
    }
}

/// The reference: wall time of `--version` of the full executable ([`reference_bin`]:
/// the process start and exit of the big binary, no payload, no request), one call after
/// another.
pub fn run_reference(bin: &Path, calls: usize) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let status = Command::new(bin)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run the binary: {e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if !status.success() {
            return Err(format!("`{} --version` failed", bin.display()));
        }
    }
    Ok(times)
}
