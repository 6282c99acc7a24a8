//! `cargo xtask serve [ARGS…]`: builds the web app when it is missing or older than its
//! sources, builds the release executables (the server's embeds the app) and runs
//! `chainwatch serve ARGS…` with the embedded store.

use std::path::Path;
use std::time::SystemTime;

use crate::util::{cmd, root};

/// The newest modification time of any file under `path` (skipping node_modules).
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "node_modules")
        .filter_map(|e| newest(&e.path()))
        .max()
}

/// Whether `web/dist` is missing or older than anything it is built from.
fn web_is_stale() -> bool {
    let web = root().join("web");
    let Some(built) = newest(&web.join("dist")) else {
        return true;
    };
    [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
    ]
    .iter()
    .filter_map(|p| newest(&web.join(p)))
    .any(|source| source > built)
}

/// Entry point of the task.
pub fn run(args: &[String]) -> Result<(), String> {
    if web_is_stale() {
        if !root().join("web/node_modules").exists() {
            cmd(
                "web",
                "npm",
                &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
            )?;
        }
        cmd("web", "npm", &["run", "build"])?;
    }
    // Both executables: the `chainwatch` front this task runs (and README's
    // `target/release/chainwatch hooks install`) hands `serve` to `chainwatch-server`.
    cmd(
        "",
        "cargo",
        &["build", "--release", "--locked", "-p", "chainwatch"],
    )?;
    let mut cargo_args = vec![
        "run",
        "--release",
        "--locked",
        "-p",
        "chainwatch",
        "--bin",
        "chainwatch",
        "--",
        "serve",
    ];
    cargo_args.extend(args.iter().map(String::as_str));
    cmd("", "cargo", &cargo_args)
}
