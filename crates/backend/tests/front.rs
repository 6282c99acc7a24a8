//! The `chainwatch` front (src/main.rs, src/front.rs): it runs the exact `chainwatch
//! hook` itself, with no server executable needed; every other command line becomes
//! `chainwatch-server` in the same process (same PID, the typed program name kept, the
//! front's path handed on for `hooks install`); and a missing server executable is said
//! plainly, with the hook still exiting 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const FRONT: &str = env!("CARGO_BIN_EXE_chainwatch");
const SERVER: &str = env!("CARGO_BIN_EXE_chainwatch-server");

const PAYLOAD: &str = r#"{"session_id":"front-test","transcript_path":"/nonexistent/t.jsonl","cwd":"/tmp","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"},"tool_use_id":"toolu_front"}"#;

/// A copy of the front alone in a directory: no `chainwatch-server` beside it.
fn lone_front(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let front = bin.join("chainwatch");
    std::fs::copy(FRONT, &front).expect("copy the front");
    front
}

fn run(program: &Path, args: &[&str], env: &[(&str, &Path)], stdin: &str) -> Output {
    use std::io::Write;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("CHAINWATCH_HOOK_LOG")
        .env_remove("CHAINWATCH_EXE")
        // Nothing listens on the discard port: the hook spools what it cannot deliver.
        .env("CHAINWATCH_URL", "http://127.0.0.1:9")
        .env("CHAINWATCH_HOOK_TIMEOUT_MS", "300")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    // A copy just written can be "text file busy" for a moment: a child another test
    // thread forked meanwhile holds the copy's write descriptor until its own exec.
    let mut tries = 0;
    let mut child = loop {
        match command.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            spawned => break spawned.expect("runs"),
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("payload");
    child.wait_with_output().expect("exits")
}

fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_hook_runs_in_the_front_without_the_server_executable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front = lone_front(dir.path());
    let spool = dir.path().join("spool");
    let out = run(
        &front,
        &["hook"],
        &[("CHAINWATCH_SPOOL_DIR", &spool)],
        PAYLOAD,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        spooled(&spool) > 0,
        "the event was spooled for later delivery"
    );
}

#[test]
fn a_missing_server_executable_is_named_and_the_hook_still_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front = lone_front(dir.path());
    let spool = dir.path().join("spool");
    let missing = dir.path().join("bin/chainwatch-server");
    for args in [
        &["serve"][..],
        &["--version"],
        &["hooks", "install", "--user"],
    ] {
        let out = run(&front, args, &[("HOME", dir.path())], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&missing.display().to_string()) && stderr.contains("beside it"),
            "{args:?}: {stderr}"
        );
    }
    // `chainwatch hook …` never fails.
    let out = run(&front, &["hook", "--help"], &[], "");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chainwatch-server"));
    // The hook with a log filter goes to the server executable; without one, the front
    // reports the event itself rather than lose it.
    let out = run(
        &front,
        &["hook"],
        &[
            ("CHAINWATCH_SPOOL_DIR", &spool),
            ("CHAINWATCH_HOOK_LOG", Path::new("debug")),
        ],
        PAYLOAD,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(
        spooled(&spool) > 0,
        "the event was spooled for later delivery"
    );
}

#[test]
fn other_command_lines_answer_as_the_server_executable_does() {
    let both = |o: &Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    for args in [
        &["--version"][..],
        &["hook", "--help"],
        &["--help"],
        &["no-such-command"],
    ] {
        let front = Command::new(FRONT).args(args).output().expect("front");
        let server = Command::new(SERVER)
            .args(args)
            .output()
            .expect("server executable");
        assert_eq!(front.status.code(), server.status.code(), "{args:?}");
        // The usage line names the program as typed: `chainwatch`, not the server's file.
        let shown = both(&front);
        assert!(shown.len() > 10, "{args:?}: {shown}");
        assert!(!shown.contains("chainwatch-server"), "{args:?}: {shown}");
        assert_eq!(
            shown,
            both(&server).replace("chainwatch-server", "chainwatch"),
            "{args:?}"
        );
    }
}

/// `chainwatch serve` becomes the server executable in the same process: the PID a
/// supervisor (or a kill -9 test) holds is the server's.
#[cfg(target_os = "linux")]
#[test]
fn serve_is_the_server_executable_under_the_same_pid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(FRONT)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let proc = PathBuf::from(format!("/proc/{}", child.id()));
    let server = std::fs::canonicalize(SERVER).expect("server path");
    let front = std::fs::canonicalize(FRONT).expect("front path");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut exe = None;
    while Instant::now() < deadline {
        exe = std::fs::read_link(proc.join("exe")).ok();
        if exe.as_ref() == Some(&server) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    let environ = std::fs::read(proc.join("environ")).unwrap_or_default();
    let _ = child.kill();
    let status = child.wait().expect("waits");
    assert_eq!(exe, Some(server), "the process became chainwatch-server");
    // SIGKILL reached the server itself: there is no front process left in between.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    assert_eq!(argv0, FRONT.as_bytes(), "argv[0] is the program as typed");
    let handed = format!("CHAINWATCH_EXE={}", front.display());
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|var| var == handed.as_bytes()),
        "the front's path is handed on for `hooks install`"
    );
}
