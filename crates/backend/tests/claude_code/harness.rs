//! The pieces a conformance scenario runs on: the pinned Claude Code (installed with
//! `npm ci` from tests/claude-code when missing), the real Chainwatch server on port 0,
//! the scripted model, a throw-away HOME with onboarding and folder trust pre-seeded and
//! the hooks installed by the real `chainwatch hooks install --user`, and tmux for the
//! interactive runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::model::{Model, Script};

/// The Claude Code version the suite is pinned to (tests/claude-code/package.json).
pub const CLAUDE_CODE_VERSION: &str = "2.1.328";
const API_KEY: &str = "sk-ant-chainwatch-conformance-0123456789abcdef";

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/claude-code")
}

/// The pinned `claude`, installed by `npm ci` on first use when missing.
pub fn claude() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let bin = package_dir().join("node_modules/.bin/claude");
            if version(&bin).is_none_or(|v| !v.contains(CLAUDE_CODE_VERSION)) {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(package_dir())
                    .status()
                    .expect("npm runs (install Node.js and npm)");
                assert!(status.success(), "npm ci in tests/claude-code failed");
            }
            let found = version(&bin).unwrap_or_default();
            assert!(
                found.contains(CLAUDE_CODE_VERSION),
                "{} --version says {found:?}",
                bin.display()
            );
            bin
        })
        .clone()
}

fn version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The real server, in this process, on port 0.
pub struct Server {
    /// Its port.
    pub port: u16,
    handle: Option<chainwatch::app::StopHandle>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = chainwatch::config::Config::new(
            "127.0.0.1:0".parse().expect("address"),
            dir.path().to_path_buf(),
        );
        config.watch.enabled = false;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = chainwatch::app::Application::build(config).expect("builds");
                tx.send((app.port(), app.handle())).expect("send");
                app.run_until_stopped().await.expect("runs");
            })
        });
        let (port, handle) = rx.recv().expect("server started");
        Self {
            port,
            handle: Some(handle),
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls `check` every 100 ms until it gives something; panics with `what` (and
/// `context()`, e.g. the terminal's screen) after `limit`.
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    context: impl Fn() -> String,
    check: impl Fn() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One scenario's world.
pub struct Workspace {
    /// The scripted model.
    pub model: Model,
    /// The Chainwatch server.
    pub server: Server,
    /// The throw-away HOME.
    pub home: PathBuf,
    /// The project folder Claude Code runs in.
    pub project: PathBuf,
    dir: tempfile::TempDir,
    /// Installed with `--telemetry`: Claude Code exports its OpenTelemetry logs here.
    telemetry: bool,
}

impl Workspace {
    /// Starts the model and the server, and prepares HOME with the hooks installed.
    pub fn new(script: Script) -> Self {
        Self::build(script, false)
    }

    /// As [`Workspace::new`], installed with `hooks install --user --telemetry`.
    pub fn with_telemetry(script: Script) -> Self {
        Self::build(script, true)
    }

    fn build(script: Script, telemetry: bool) -> Self {
        let claude = claude();
        assert!(claude.exists());
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        std::fs::create_dir_all(home.join(".claude")).expect("home");
        std::fs::create_dir_all(&project).expect("project");
        let seed = json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [&API_KEY[API_KEY.len() - 20..]], "rejected": []},
            "projects": {project.to_string_lossy(): {"hasTrustDialogAccepted": true}},
        });
        std::fs::write(home.join(".claude.json"), seed.to_string()).expect("seed");
        let model = Model::start(script);
        let server = Server::start();
        let workspace = Self {
            model,
            server,
            home,
            project,
            dir,
            telemetry,
        };
        let mut args = vec!["hooks", "install", "--user"];
        if telemetry {
            args.push("--telemetry");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_chainwatch"))
            .args(&args)
            .env_clear()
            .env("CHAINWATCH_URL", workspace.url())
            .env("HOME", &workspace.home)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("hooks install runs");
        assert!(
            out.status.success(),
            "hooks install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        workspace
    }

    /// The environment Claude Code (and so every hook) runs with.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("HOME", self.home.to_string_lossy().into_owned()),
            ("PATH", "/usr/bin:/bin".to_owned()),
            ("TERM", "xterm-256color".to_owned()),
            ("LANG", "C.UTF-8".to_owned()),
            ("ANTHROPIC_BASE_URL", self.model.url()),
            ("ANTHROPIC_API_KEY", API_KEY.to_owned()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("DISABLE_AUTOUPDATER", "1".to_owned()),
            ("CHAINWATCH_URL", self.url()),
            // The one setting changed from the defaults: a loaded CI machine can take
            // longer than 500 ms to store an event, and a late report is spooled, not
            // steered. Everything else is exactly what `hooks install` gives a user.
            ("CHAINWATCH_HOOK_TIMEOUT_MS", "3000".to_owned()),
        ];
        if self.telemetry {
            // Exported every half second rather than every 5 s, so a short run's
            // records arrive while it runs as well as at its exit.
            env.push(("OTEL_LOGS_EXPORT_INTERVAL", "500".to_owned()));
        }
        env
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// `claude -p PROMPT --output-format stream-json --verbose ARGS`, started.
    pub fn print(&self, prompt: &str, args: &[&str]) -> Printed {
        let mut command = Command::new(claude());
        command
            .args(["-p", prompt, "--output-format", "stream-json", "--verbose"])
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Printed {
            child: Some(command.spawn().expect("claude starts")),
        }
    }

    /// Claude Code in a terminal (tmux, 180x50), started with `args`.
    pub fn terminal(&self, args: &[&str]) -> Terminal {
        let socket = self.dir.path().join("tmux.sock");
        let script = self.dir.path().join("claude.sh");
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut text = format!(
            "#!/bin/sh\ncd {} || exit 1\nexec env -i",
            quote(&self.project.to_string_lossy())
        );
        for (name, value) in self.env() {
            text.push_str(&format!(" {name}={}", quote(&value)));
        }
        text.push_str(&format!(" {}", quote(&claude().to_string_lossy())));
        for arg in args {
            text.push_str(&format!(" {}", quote(arg)));
        }
        text.push('\n');
        std::fs::write(&script, text).expect("script");
        let terminal = Terminal { socket };
        terminal.tmux(&[
            "new-session",
            "-d",
            "-s",
            "cc",
            "-x",
            "180",
            "-y",
            "50",
            "sh",
            &script.to_string_lossy(),
        ]);
        wait_until(
            "Claude Code's prompt",
            Duration::from_secs(30),
            || terminal.screen(),
            || terminal.screen().contains('❯').then_some(()),
        );
        terminal
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent()
    }

    /// `GET /api…`, as JSON.
    pub fn get(&self, path: &str) -> Value {
        let mut response = Self::agent()
            .get(format!("{}/api{path}", self.url()))
            .call()
            .expect("GET");
        let text = response.body_mut().read_to_string().expect("body");
        assert!(response.status().is_success(), "GET {path}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    /// `GET /api…`, as text (exports).
    pub fn get_text(&self, path: &str) -> String {
        let mut response = Self::agent()
            .get(format!("{}/api{path}", self.url()))
            .call()
            .expect("GET");
        let text = response.body_mut().read_to_string().expect("body");
        assert!(response.status().is_success(), "GET {path}: {text}");
        text
    }

    /// `POST /api…` with a JSON body: the status and the answer.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut response = Self::agent()
            .post(format!("{}/api{path}", self.url()))
            .header("content-type", "application/json")
            .send(body.to_string())
            .expect("POST");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The one session the hooks reported (waits for it).
    pub fn session_id(&self) -> String {
        wait_until(
            "the session to appear",
            Duration::from_secs(30),
            String::new,
            || {
                self.get("/sessions")["sessions"][0]["id"]
                    .as_str()
                    .map(str::to_owned)
            },
        )
    }

    /// The session's detail.
    pub fn session(&self, id: &str) -> Value {
        self.get(&format!("/sessions/{id}"))
    }

    /// Every event of the session.
    pub fn events(&self, id: &str) -> Vec<Value> {
        self.get(&format!("/sessions/{id}/events?since=0&limit=10000"))["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits (30 s) until the session's detail satisfies `check`.
    pub fn wait_session<T>(&self, id: &str, what: &str, check: impl Fn(&Value) -> Option<T>) -> T {
        wait_until(
            what,
            Duration::from_secs(30),
            || self.session(id).to_string(),
            || check(&self.session(id)),
        )
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // A failed scenario shows both sides.
        for request in self.model.requests() {
            eprintln!(
                "model <- [{} turn {}] {}",
                request.conversation,
                request.turn,
                request
                    .last_user
                    .to_string()
                    .chars()
                    .take(1500)
                    .collect::<String>()
            );
        }
        if let Some(id) = self.get("/sessions")["sessions"][0]["id"].as_str() {
            for event in self.events(id) {
                eprintln!(
                    "event {}",
                    event.to_string().chars().take(1500).collect::<String>()
                );
            }
        }
    }
}

/// A `claude -p` run.
pub struct Printed {
    child: Option<Child>,
}

/// What a `claude -p` run printed.
pub struct PrintOutput {
    /// The stream-json lines.
    pub lines: Vec<Value>,
    /// stderr.
    pub stderr: String,
    /// Whether it exited 0.
    pub success: bool,
}

impl PrintOutput {
    /// The final `result` line.
    pub fn result(&self) -> Value {
        self.lines
            .iter()
            .rev()
            .find(|l| l["type"] == "result")
            .cloned()
            .unwrap_or(Value::Null)
    }
}

impl Printed {
    /// Waits (at most 90 s) for the run to end.
    pub fn finish(mut self) -> PrintOutput {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if start.elapsed() > Duration::from_secs(90) {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().expect("output");
        PrintOutput {
            lines: String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            success: out.status.success(),
        }
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Printed {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Claude Code running in a private tmux server.
pub struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (install Debian's tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-t", "cc", "-p"])
    }

    /// Types `text` and presses Enter.
    pub fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "cc", "-l", text]);
        std::thread::sleep(Duration::from_millis(300));
        self.tmux(&["send-keys", "-t", "cc", "Enter"]);
    }

    /// Presses keys (tmux key names, e.g. `Enter`, `Down`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "cc"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Waits (30 s) until the screen shows `text`.
    pub fn wait_for(&self, text: &str) {
        wait_until(
            &format!("{text:?} on the screen"),
            Duration::from_secs(30),
            || self.screen(),
            || self.screen().contains(text).then_some(()),
        );
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
