//! The `chainwatch` executable is a small front: it runs the exact command line
//! `chainwatch hook` itself and replaces itself (`exec`, same PID) with the server
//! executable, `chainwatch-server`, installed beside it, for every other command line.
//!
//! Why: `chainwatch hook` runs once per Claude Code event, and starting the 100+ MB
//! server executable (the loader applying ~30,000 relocations of a position-independent
//! image, then copy-on-write faults over them) was most of a hook call. The front links
//! only the hook's code, so it starts in a fraction of that while both executables keep
//! address randomization (docs/PERFORMANCE.md, "A small front for the hook";
//! docs/SECURITY.md, "The binary"). This module holds what both executables agree on.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// File name of the server executable the front hands over to, beside the front.
pub const SERVER_EXE: &str = if cfg!(windows) {
    "chainwatch-server.exe"
} else {
    "chainwatch-server"
};

/// Environment variable the front sets, for the server executable it starts, to its own
/// path: `chainwatch hooks install` writes that path (the front), not the server's.
pub const FRONT_EXE_ENV: &str = "CHAINWATCH_EXE";

/// Whether the command line (program name first) is exactly `chainwatch hook`, the one
/// the installed hooks run.
pub fn is_plain_hook<I, S>(args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut args = args.into_iter();
    let _program = args.next();
    args.next().is_some_and(|a| a.as_ref() == "hook") && args.next().is_none()
}

/// Environment variable of the hook's log filter: when set, the hook runs in the server
/// executable, which parses it (an `EnvFilter`) as before; the front links no filter.
pub const HOOK_LOG_ENV: &str = "CHAINWATCH_HOOK_LOG";

/// Whether the front runs this command line itself: the plain hook with no log filter
/// asked for. Everything else goes to the server executable.
pub fn runs_here(args: &[OsString]) -> bool {
    is_plain_hook(args) && std::env::var_os(HOOK_LOG_ENV).is_none()
}

/// The server executable for a front at `front`: its sibling named [`SERVER_EXE`].
pub fn server_path(front: &Path) -> PathBuf {
    front.with_file_name(SERVER_EXE)
}

/// The path of the `chainwatch` command as users run it: the front's, when this process
/// was started by it, else this executable's own.
pub fn front_exe() -> std::io::Result<PathBuf> {
    match std::env::var_os(FRONT_EXE_ENV) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => std::env::current_exe(),
    }
}

/// Replaces this process with the server executable, passing `args` (program name
/// first) on unchanged. Returns only when that fails, with the reason for stderr.
#[cfg(unix)]
pub fn exec_server(args: &[OsString]) -> String {
    use std::os::unix::process::CommandExt;

    let front = match std::env::current_exe() {
        Ok(front) => front,
        Err(e) => return format!("cannot find its own path to start {SERVER_EXE}: {e}"),
    };
    let server = server_path(&front);
    let mut command = std::process::Command::new(&server);
    // The program name the user typed stays argv[0], so usage and error messages read
    // `chainwatch` as before.
    if let Some(program) = args.first() {
        command.arg0(program);
    }
    command.args(args.iter().skip(1)).env(FRONT_EXE_ENV, &front);
    let error = command.exec();
    exec_failure(&server, &error)
}

/// Starts the server executable as a child and exits with its status (no `exec` here).
#[cfg(not(unix))]
pub fn exec_server(args: &[OsString]) -> String {
    let front = match std::env::current_exe() {
        Ok(front) => front,
        Err(e) => return format!("cannot find its own path to start {SERVER_EXE}: {e}"),
    };
    let server = server_path(&front);
    match std::process::Command::new(&server)
        .args(args.iter().skip(1))
        .env(FRONT_EXE_ENV, &front)
        .status()
    {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(error) => exec_failure(&server, &error),
    }
}

fn exec_failure(server: &Path, error: &std::io::Error) -> String {
    format!(
        "cannot start the server executable {}: {error}. `chainwatch` runs `chainwatch hook` \
         itself and hands every other command to {SERVER_EXE}, which must sit beside it \
         (`cargo build -p chainwatch` and `cargo install` build both)",
        server.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_hook_command_line_is_plain() {
        assert!(is_plain_hook(["chainwatch", "hook"]));
        assert!(is_plain_hook(["/usr/bin/chainwatch", "hook"]));
        assert!(!is_plain_hook(["chainwatch"]));
        assert!(!is_plain_hook(["chainwatch", "hook", "--help"]));
        assert!(!is_plain_hook(["chainwatch", "hooks"]));
        assert!(!is_plain_hook(["chainwatch", "serve"]));
        assert!(!is_plain_hook(["chainwatch", "--version"]));
    }

    #[test]
    fn the_server_sits_beside_the_front() {
        assert_eq!(
            server_path(Path::new("/opt/cw/bin/chainwatch")),
            PathBuf::from(format!("/opt/cw/bin/{SERVER_EXE}"))
        );
    }
}
