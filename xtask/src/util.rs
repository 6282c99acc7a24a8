//! Small helpers shared by the tasks: the repository root and running commands with a
//! visible banner, failing with the command line in the message.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Runs `program args…` in `dir` (relative to the root), inheriting stdio.
pub fn cmd(dir: &str, program: &str, args: &[&str]) -> Result<(), String> {
    cmd_env(dir, program, args, &[])
}

/// Like [`cmd`], with extra environment variables for the child.
pub fn cmd_env(
    dir: &str,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let line = format!("{program} {}", args.join(" "));
    eprintln!(
        "\n==> {line}{}",
        if dir.is_empty() {
            String::new()
        } else {
            format!("   (in {dir})")
        }
    );
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root().join(dir))
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Whether `program` can be found on PATH.
pub fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
