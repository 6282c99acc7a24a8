//! `chainwatch hook` and `chainwatch hooks install` end to end: the real binary, fed the
//! fixtures in tests/fixtures/hooks (payloads written from Claude Code's hooks reference),
//! against a real server started in this process on port 0.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SESSION: &str = "6f2d8c1e-4b7a-4f0e-9a51-3c2b1d0e9f10";

/// Every variable the hook reads, removed from the inherited environment.
const HOOK_VARS: &[&str] = &[
    "CHAINWATCH_URL",
    "CHAINWATCH_TOKEN",
    "CHAINWATCH_HOOK_TIMEOUT_MS",
    "CHAINWATCH_SPOOL_DIR",
    "CHAINWATCH_SPOOL_MAX_BYTES",
    "CHAINWATCH_PERMISSION_WAIT_MS",
    "CHAINWATCH_QUESTION_WAIT_MS",
    "CHAINWATCH_STOP_WAIT_MS",
    "CHAINWATCH_PAUSE_WAIT_MS",
    "CHAINWATCH_HOOK_LOG",
    "CLAUDE_CODE_SESSION_ATTENDED",
    "CLAUDE_PID",
    "CLAUDE_CONFIG_DIR",
];

struct Server {
    port: u16,
    handle: Option<chainwatch::app::StopHandle>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        Self::start_on("127.0.0.1:0")
    }

    fn start_on(bind: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = chainwatch::config::Config::new(
            bind.parse().expect("address"),
            dir.path().to_path_buf(),
        );
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent()
    }

    fn get(&self, path: &str) -> Value {
        let mut response = Self::agent()
            .get(format!("{}{path}", self.url()))
            .call()
            .expect("GET");
        let text = response.body_mut().read_to_string().expect("body");
        assert!(response.status().is_success(), "GET {path}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let mut response = Self::agent()
            .post(format!("{}{path}", self.url()))
            .header("content-type", "application/json")
            .send(body.to_string())
            .expect("POST");
        let text = response.body_mut().read_to_string().expect("body");
        assert!(response.status().is_success(), "POST {path}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    fn events(&self, session: &str) -> Vec<Value> {
        let list = self.get(&format!("/api/sessions/{session}/events?since=0"));
        list["events"].as_array().cloned().unwrap_or_default()
    }

    fn session(&self, session: &str) -> Value {
        self.get(&format!("/api/sessions/{session}"))
    }

    /// Polls the session until `found` gives something (at most 10 s).
    fn wait_for<T>(&self, session: &str, found: impl Fn(&Value) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            let detail = Self::agent()
                .get(format!("{}/api/sessions/{session}", self.url()))
                .call()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            if let Some(value) = detail.as_ref().and_then(&found) {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting"
            );
            std::thread::sleep(Duration::from_millis(10));
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

/// The hook binary with a private spool and the given server address.
struct Hook {
    url: String,
    spool: tempfile::TempDir,
    env: Vec<(String, String)>,
}

struct Ran {
    stdout: String,
    stderr: String,
    success: bool,
    code: Option<i32>,
    elapsed: Duration,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    fn assert_silent(&self) {
        assert!(self.success, "hook failed: {}", self.stderr);
        assert_eq!(self.stdout, "", "stderr: {}", self.stderr);
    }
}

impl Hook {
    fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            spool: tempfile::tempdir().expect("spool dir"),
            // A loaded test machine can take longer than the default 500 ms to answer;
            // tests of the bound set their own.
            env: vec![("CHAINWATCH_HOOK_TIMEOUT_MS".to_owned(), "5000".to_owned())],
        }
    }

    fn with(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn spool_entries(&self) -> Vec<PathBuf> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(self.spool.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        entries
    }

    fn spawn(&self, payload: &Value) -> (Child, Instant) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chainwatch"));
        command.arg("hook");
        for var in HOOK_VARS {
            command.env_remove(var);
        }
        command
            .env("CHAINWATCH_URL", &self.url)
            .env("CHAINWATCH_SPOOL_DIR", self.spool.path())
            // As under `claude -p`: Stop reports without waiting, unless a test says so.
            .env("CLAUDE_CODE_SESSION_ATTENDED", "0")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = command.spawn().expect("spawn chainwatch hook");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(payload.to_string().as_bytes())
            .expect("write payload");
        drop(stdin);
        (child, start)
    }

    fn finish(child: Child, start: Instant) -> Ran {
        let output = child.wait_with_output().expect("hook ran");
        Ran {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            success: output.status.success(),
            code: output.status.code(),
            elapsed: start.elapsed(),
        }
    }

    fn run(&self, payload: &Value) -> Ran {
        let (child, start) = self.spawn(payload);
        Self::finish(child, start)
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A fixture for another session (each test uses its own).
fn payload(name: &str, session: &str) -> Value {
    let mut value = fixture(name);
    value["session_id"] = json!(session);
    value
}

/// The server's own `session:updated` events: the derived `status: active` and the
/// watcher's `watch` state (other tests cover them; these check what the hook sent).
fn server_made(event: &Value) -> bool {
    event["type"] == "session:updated"
        && (event.get("watch").is_some() || event["status"] == "active")
}

/// The types of the events the hook sent.
fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !server_made(e))
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn every_mapped_event_arrives_in_order() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    let mut second_agent = fixture("pre_tool_use_agent");
    second_agent["tool_use_id"] = json!("toolu_01AgentSecond");
    second_agent["tool_input"]["description"] = json!("Write the retry");
    let mut steps: Vec<Value> = [
        "session_start",
        "user_prompt_submit",
        "pre_tool_use_bash",
        "post_tool_use_bash",
        "post_tool_use_failure_bash",
        "pre_tool_use_agent",
        "subagent_start",
        "pre_tool_use_read_in_subagent",
        "subagent_stop",
        "post_tool_use_agent",
    ]
    .iter()
    .map(|name| fixture(name))
    .collect();
    steps.push(second_agent);
    steps.extend(
        [
            "notification",
            "pre_compact",
            "unknown_event",
            "stop",
            "session_end",
        ]
        .iter()
        .map(|name| fixture(name)),
    );
    // A real transcript: keyless events (prompts, Stop, …) take their id from its size.
    let transcript = tempfile::NamedTempFile::new().expect("transcript");
    std::fs::write(transcript.path(), "{}\n").expect("write transcript");
    for step in &mut steps {
        step["transcript_path"] = json!(transcript.path());
    }
    for step in &steps {
        hook.run(step).assert_silent();
    }
    let events: Vec<Value> = server
        .events(SESSION)
        .into_iter()
        .filter(|e| !server_made(e))
        .collect();
    assert_eq!(
        types(&events),
        vec![
            "session:started",
            "agent:event",
            "prompt:submitted",
            "tool:used",
            "tool:used",
            "terminal:output",
            "tool:used",
            "terminal:output",
            "chain:started",
            "step:spawned",
            "step:started",
            "step:spawned",
            "step:started",
            "tool:used",
            "step:completed",
            "step:completed",
            "step:spawned",
            "step:started",
            "agent:notification",
            "agent:event",
            "agent:event",
            "interaction:awaiting-input",
            "chain:completed",
            "session:ended",
        ]
    );
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    let started = &events[0];
    assert_eq!(events[1]["name"], "SessionStart");
    assert_eq!(events[1]["payload"]["source"], "startup");
    assert_eq!(started["cwd"], "/home/ada/projects/shop");
    assert_eq!(started["source"], "hook");
    assert_eq!(started["model"], "claude-sonnet-4-5-20250929");
    assert!(started["platform"].is_string());
    assert_eq!(events[2]["prompt"], fixture("user_prompt_submit")["prompt"]);
    assert_eq!(events[3]["status"], "started");
    assert_eq!(events[4]["status"], "succeeded");
    assert_eq!(events[4]["durationMs"], 4210);
    assert_eq!(events[5]["stream"], "stdout");
    assert!(
        events[5]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("12 passed")
    );
    assert_eq!(events[6]["status"], "failed");
    assert!(
        events[6]["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Exit code 1")
    );
    assert_eq!(events[9]["kind"], "task");
    assert_eq!(events[9]["name"], "Find checkout callers");
    assert_eq!(events[11]["kind"], "subagent");
    assert_eq!(events[11]["parentStepId"], events[9]["stepId"]);
    assert_eq!(events[13]["stepId"], events[11]["stepId"]);
    assert_eq!(events[16]["waitsFor"], json!([events[9]["stepId"]]));
    assert_eq!(events[19]["name"], "PreCompact");
    assert_eq!(events[20]["name"], "TeleportRequested");
    assert_eq!(
        events[20]["payload"]["future_field"],
        json!({"nested": [1, 2, 3]})
    );
    assert_eq!(
        events[21]["prompt"],
        fixture("stop")["last_assistant_message"]
    );
    assert_eq!(events[23]["reason"], "prompt_input_exit");

    let detail = server.session(SESSION);
    assert_eq!(detail["status"], "completed");
    let chain = &detail["chains"][0];
    assert_eq!(chain["id"], "main");
    let statuses: Vec<&str> = chain["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses, vec!["completed", "completed", "running"]);

    // Every payload again: nothing is stored twice.
    for step in steps.iter().take(10) {
        hook.run(step).assert_silent();
    }
    let again = server
        .events(SESSION)
        .into_iter()
        .filter(|e| !server_made(e))
        .count();
    assert_eq!(again, events.len());
}

#[test]
fn the_first_event_creates_the_session_whatever_it_is() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    hook.run(&payload("post_tool_use_bash", "late-joiner"))
        .assert_silent();
    let events = server.events("late-joiner");
    assert_eq!(
        types(&events),
        vec!["session:started", "tool:used", "terminal:output"]
    );
    let detail = server.session("late-joiner");
    assert_eq!(detail["cwd"], "/home/ada/projects/shop");
    assert_eq!(detail["source"], "hook");
    assert_eq!(detail["status"], "active");

    // A resumed session that had ended is reopened by its SessionStart.
    hook.run(&payload("session_end", "late-joiner"))
        .assert_silent();
    let mut resume = payload("session_start", "late-joiner");
    resume["source"] = json!("resume");
    hook.run(&resume).assert_silent();
    assert_eq!(server.session("late-joiner")["status"], "active");
    // SessionStart of a live session (compact) is kept without touching its state.
    let mut compact = payload("session_start", "late-joiner");
    compact["source"] = json!("compact");
    compact["model"] = json!("claude-opus-4-1");
    hook.run(&compact).assert_silent();
    let detail = server.session("late-joiner");
    assert_eq!(detail["status"], "active");
    assert_eq!(detail["model"], "claude-opus-4-1");
    let names = types(&server.events("late-joiner"));
    assert_eq!(
        &names[3..],
        &[
            "session:ended",
            "session:started",
            "agent:event",
            "session:updated"
        ]
    );
}

#[test]
fn server_down_spools_and_a_later_run_delivers_exactly_once() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let hook = Hook::new(&url).with("CHAINWATCH_HOOK_TIMEOUT_MS", "300");
    let prompt = payload("user_prompt_submit", "spooled");
    let ran = hook.run(&prompt);
    ran.assert_silent();
    assert!(ran.elapsed < Duration::from_secs(3), "{:?}", ran.elapsed);
    let pre = payload("pre_tool_use_bash", "spooled");
    hook.run(&pre).assert_silent();
    let entries = hook.spool_entries();
    assert_eq!(entries.len(), 2);
    let kept = std::fs::read(&entries[0]).expect("entry");

    let server = Server::start_on(&format!("127.0.0.1:{port}"));
    // The delivering run gets a generous bound: on a loaded CI machine 300 ms may not
    // cover the flush, and this test is about exactly-once, not speed.
    let hook = hook.with("CHAINWATCH_HOOK_TIMEOUT_MS", "5000");
    hook.run(&payload("notification", "spooled"))
        .assert_silent();
    assert!(hook.spool_entries().is_empty());
    let names = types(&server.events("spooled"));
    assert_eq!(
        names,
        vec![
            "session:started",
            "prompt:submitted",
            "tool:used",
            "agent:notification"
        ]
    );

    // The same entry delivered again (as if a run died between delivery and deletion)
    // is not stored twice.
    std::fs::write(&entries[0], &kept).expect("put back");
    hook.run(&payload("pre_compact", "spooled")).assert_silent();
    assert!(hook.spool_entries().is_empty());
    let names = types(&server.events("spooled"));
    assert_eq!(names.iter().filter(|n| *n == "prompt:submitted").count(), 1);
    assert_eq!(names.len(), 5);
}

#[test]
fn a_hung_server_costs_at_most_the_bound() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hook = Hook::new(&url).with("CHAINWATCH_HOOK_TIMEOUT_MS", "300");
    let ran = hook.run(&payload("pre_tool_use_bash", "hung"));
    ran.assert_silent();
    assert!(ran.elapsed < Duration::from_secs(3), "{:?}", ran.elapsed);
    assert_eq!(hook.spool_entries().len(), 1);
    drop(listener);
}

#[test]
fn pause_from_the_api_holds_tool_calls_until_resumed() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    hook.run(&payload("session_start", "paused"))
        .assert_silent();
    let command = server.post(
        "/api/sessions/paused/commands",
        json!({"type": "pause", "reason": "lunch break"}),
    );

    // The call waits in its hook, acknowledged, and runs once resumed: nothing denied.
    let (mut child, start) = hook.spawn(&payload("pre_tool_use_bash", "paused"));
    server.wait_for("paused", |s| {
        s["pendingCommands"]
            .as_array()
            .is_some_and(Vec::is_empty)
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the call was not held"
    );
    let events = server.events("paused");
    let ack = events
        .iter()
        .find(|e| e["type"] == "command:acknowledged")
        .expect("acknowledged");
    assert_eq!(ack["commandId"], command["id"]);
    assert_eq!(server.get("/api/sessions/paused/commands")["paused"], true);
    server.post("/api/sessions/paused/commands", json!({"type": "resume"}));
    let ran = Hook::finish(child, start);
    ran.assert_silent();
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);
    assert_eq!(
        server.get("/api/sessions/paused/commands")["commands"],
        json!([])
    );
    assert!(
        !server
            .events("paused")
            .iter()
            .any(|e| e["type"] == "tool:used" && e["status"] == "failed")
    );

    // A hold is bounded: past CHAINWATCH_PAUSE_WAIT_MS the call runs.
    server.post("/api/sessions/paused/commands", json!({"type": "pause"}));
    let bounded = Hook::new(&server.url()).with("CHAINWATCH_PAUSE_WAIT_MS", "700");
    let mut next = payload("pre_tool_use_bash", "paused");
    next["tool_use_id"] = json!("toolu_01Second");
    let ran = bounded.run(&next);
    ran.assert_silent();
    assert!(
        ran.elapsed >= Duration::from_millis(700),
        "{:?}",
        ran.elapsed
    );

    // Cancel while held: denied, and Claude stops.
    let (child, start) = hook.spawn(&{
        let mut third = payload("pre_tool_use_bash", "paused");
        third["tool_use_id"] = json!("toolu_01Third");
        third
    });
    std::thread::sleep(Duration::from_millis(500));
    server.post("/api/sessions/paused/commands", json!({"type": "cancel"}));
    let answer = Hook::finish(child, start).json();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    assert_eq!(answer["continue"], false);
}

#[test]
fn cancel_from_the_api_denies_and_stops_claude() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    hook.run(&payload("session_start", "cancelled"))
        .assert_silent();
    server.post(
        "/api/sessions/cancelled/commands",
        json!({"type": "cancel"}),
    );
    let answer = hook.run(&payload("pre_tool_use_agent", "cancelled")).json();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    assert_eq!(answer["continue"], false);
    assert!(
        answer["stopReason"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled")
    );
    assert_eq!(
        server.get("/api/sessions/cancelled/commands")["commands"],
        json!([])
    );
    let detail = server.session("cancelled");
    assert_eq!(detail["chains"][0]["steps"][0]["status"], "failed");
}

#[test]
fn stop_returns_input_from_the_page_on_stderr_with_exit_2() {
    let server = Server::start();
    let hook = Hook::new(&server.url()).with("CLAUDE_CODE_SESSION_ATTENDED", "1");
    hook.run(&payload("session_start", "answered"))
        .assert_silent();
    let (child, start) = hook.spawn(&payload("stop", "answered"));
    let request = server.wait_for("answered", |s| {
        s["awaitingInput"]["requestId"].as_str().map(str::to_owned)
    });
    server.post(
        "/api/sessions/answered/input",
        json!({"text": "Yes, add the retry with backoff.", "requestId": request}),
    );
    let ran = Hook::finish(child, start);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr.trim(), "Yes, add the retry with backoff.");
    assert!(ran.elapsed < Duration::from_secs(15));
    let names = types(&server.events("answered"));
    assert!(names.ends_with(&[
        "interaction:awaiting-input".to_owned(),
        "interaction:input-received".to_owned()
    ]));

    // A prompt typed in the terminal settles the question: the hook ends without a word.
    let mut again = payload("stop", "answered");
    again["last_assistant_message"] = json!("Done.");
    let (child, start) = hook.spawn(&again);
    server.wait_for("answered", |s| {
        (s["awaitingInput"]["prompt"] == "Done.").then_some(())
    });
    hook.run(&payload("user_prompt_submit", "answered"))
        .assert_silent();
    let ran = Hook::finish(child, start);
    ran.assert_silent();
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);

    // Unattended (`claude -p`), Stop only reports.
    let quick = Hook::new(&server.url());
    let mut last = payload("stop", "answered");
    last["last_assistant_message"] = json!("Finished.");
    let ran = quick.run(&last);
    ran.assert_silent();
    assert_eq!(
        server.session("answered")["awaitingInput"]["prompt"],
        "Finished."
    );
}

#[test]
fn permission_denied_from_the_page_is_the_hooks_decision() {
    let server = Server::start();
    let hook = Hook::new(&server.url()).with("CHAINWATCH_PERMISSION_WAIT_MS", "20000");
    let (child, start) = hook.spawn(&payload("permission_request", "perm"));
    let request = server.wait_for("perm", |s| {
        s["pendingPermissions"][0]["requestId"]
            .as_str()
            .map(str::to_owned)
    });
    let pending = &server.session("perm")["pendingPermissions"][0];
    assert_eq!(pending["toolName"], "Bash");
    assert_eq!(
        pending["toolInput"]["command"],
        "rm -rf dist && npm run build"
    );
    server.post(
        &format!("/api/sessions/perm/permissions/{request}"),
        json!({"behavior": "deny", "message": "Not on the release branch."}),
    );
    let ran = Hook::finish(child, start);
    assert!(ran.success);
    assert_eq!(
        ran.json(),
        json!({"hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "Not on the release branch."}
        }})
    );
}

#[test]
fn an_unanswered_permission_request_prints_nothing_after_its_bound() {
    let server = Server::start();
    let hook = Hook::new(&server.url()).with("CHAINWATCH_PERMISSION_WAIT_MS", "600");
    let ran = hook.run(&payload("permission_request", "unanswered"));
    ran.assert_silent();
    assert!(
        ran.elapsed >= Duration::from_millis(600),
        "{:?}",
        ran.elapsed
    );
    assert!(ran.elapsed < Duration::from_secs(5), "{:?}", ran.elapsed);
    assert_eq!(
        server.session("unanswered")["pendingPermissions"][0]["toolName"],
        "Bash"
    );
}

/// The AskUserQuestion fixture as Claude Code's PermissionRequest for it (no tool_use_id).
fn ask_permission(session: &str) -> Value {
    let mut value = payload("pre_tool_use_ask_user_question", session);
    value["hook_event_name"] = json!("PermissionRequest");
    value["prompt_id"] = json!("prompt-1");
    if let Some(object) = value.as_object_mut() {
        object.remove("tool_use_id");
    }
    value
}

#[test]
fn ask_user_question_answered_from_the_page_comes_back_as_answers() {
    let server = Server::start();
    let hook = Hook::new(&server.url()).with("CHAINWATCH_QUESTION_WAIT_MS", "20000");
    let question = ask_permission("asked");
    let (child, start) = hook.spawn(&question);
    let awaiting = server.wait_for("asked", |s| {
        s["awaitingInput"]
            .is_object()
            .then(|| s["awaitingInput"].clone())
    });
    assert_eq!(
        awaiting["prompt"],
        "Which payment provider should the retry use?"
    );
    assert_eq!(awaiting["quickResponses"], json!(["Stripe", "Adyen"]));
    server.post("/api/sessions/asked/input", json!({"text": "Stripe"}));
    let ran = Hook::finish(child, start);
    assert!(ran.success);
    let answer = ran.json();
    let output = &answer["hookSpecificOutput"];
    assert_eq!(output["hookEventName"], "PermissionRequest");
    assert_eq!(output["decision"]["behavior"], "allow");
    let updated = &output["decision"]["updatedInput"];
    assert_eq!(updated["questions"], question["tool_input"]["questions"]);
    assert_eq!(
        updated["answers"],
        json!({"Which payment provider should the retry use?": "Stripe"})
    );
    assert!(
        server.session("asked")["pendingPermissions"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

#[test]
fn a_question_answered_in_the_terminal_settles_the_page() {
    let server = Server::start();
    let hook = Hook::new(&server.url()).with("CHAINWATCH_QUESTION_WAIT_MS", "20000");
    let question = ask_permission("terminal");
    let (child, start) = hook.spawn(&question);
    server.wait_for("terminal", |s| s["awaitingInput"].is_object().then_some(()));

    let mut answered = payload("pre_tool_use_ask_user_question", "terminal");
    answered["hook_event_name"] = json!("PostToolUse");
    answered["prompt_id"] = json!("prompt-1");
    answered["tool_response"] = json!({
        "questions": question["tool_input"]["questions"],
        "answers": {"Which payment provider should the retry use?": "Adyen"}
    });
    hook.run(&answered).assert_silent();
    let detail = server.session("terminal");
    assert!(detail["awaitingInput"].is_null(), "{detail}");
    assert_eq!(detail["answers"][0]["text"], "Adyen");
    // The waiting PermissionRequest hook sees the question answered and ends.
    let ran = Hook::finish(child, start);
    assert!(ran.success);
    assert!(ran.elapsed < Duration::from_secs(10));
}

/// Runs the binary with `chainwatch` on PATH (as after an install).
fn chainwatch(args: &[&str]) -> (bool, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_chainwatch"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    chainwatch_with_path(args, &bin_dir)
}

fn chainwatch_with_path(args: &[&str], path: &Path) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chainwatch"));
    for var in HOOK_VARS {
        command.env_remove(var);
    }
    command.env("PATH", path);
    let output = command.args(args).output().expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn install_keeps_other_hooks_and_a_second_install_changes_nothing() {
    let project = tempfile::tempdir().expect("project");
    let settings = project.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().expect("dir")).expect("mkdir");
    let original = json!({
        "permissions": {"allow": ["Bash(npm test:*)"]},
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/guard.sh", "timeout": 5}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]
        },
        "env": {"FOO": "bar"}
    });
    std::fs::write(
        &settings,
        serde_json::to_string_pretty(&original).expect("json"),
    )
    .expect("write");
    let dir = project.path().to_str().expect("utf-8 path");

    let (ok, out) = chainwatch(&["hooks", "install", "--project", dir, "--dry-run"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("+") && out.contains("chainwatch hook"),
        "{out}"
    );
    let untouched: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(untouched, original);

    let (ok, out) = chainwatch(&["hooks", "install", "--project", dir]);
    assert!(ok, "{out}");
    let first = std::fs::read(&settings).expect("read");
    let installed: Value = serde_json::from_slice(&first).expect("json");
    assert_eq!(installed["permissions"], original["permissions"]);
    assert_eq!(installed["env"], original["env"]);
    assert_eq!(
        installed["hooks"]["PreToolUse"][0],
        original["hooks"]["PreToolUse"][0]
    );
    assert_eq!(installed["hooks"]["Stop"][0], original["hooks"]["Stop"][0]);
    for event in [
        "SessionStart",
        "SessionEnd",
        "UserPromptSubmit",
        "PreToolUse",
        "PermissionRequest",
        "PostToolUse",
        "PostToolUseFailure",
        "Notification",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "Stop",
    ] {
        let ours = installed["hooks"][event]
            .as_array()
            .expect("event array")
            .iter()
            .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
            .filter(|h| h["command"] == "chainwatch hook")
            .count();
        assert_eq!(ours, 1, "{event}: {installed}");
    }
    let long = |event: &str| {
        installed["hooks"][event]
            .as_array()
            .and_then(|groups| {
                groups.iter().find_map(|g| {
                    g["hooks"]
                        .as_array()?
                        .iter()
                        .find(|h| h["command"] == "chainwatch hook")?["timeout"]
                        .as_u64()
                })
            })
            .unwrap_or_default()
    };
    assert!(long("PermissionRequest") >= 300, "{installed}");
    assert!(long("Stop") >= 300);
    assert!(long("PostToolUse") <= 30);
    // Stop runs in the background, so the terminal stays usable while the page decides.
    let stop = installed["hooks"]["Stop"]
        .as_array()
        .and_then(|groups| {
            groups.iter().find_map(|g| {
                g["hooks"]
                    .as_array()?
                    .iter()
                    .find(|h| h["command"] == "chainwatch hook")
                    .cloned()
            })
        })
        .expect("stop entry");
    assert_eq!(stop["async"], true);
    assert_eq!(stop["asyncRewake"], true);
    for event in [
        "PermissionDenied",
        "StopFailure",
        "PostCompact",
        "CwdChanged",
        "PostModelSwitch",
        "Elicitation",
        "Setup",
    ] {
        assert!(installed["hooks"][event].is_array(), "{event}: {installed}");
    }
    assert!(installed["hooks"]["WorktreeCreate"].is_null());

    let (ok, out) = chainwatch(&["hooks", "install", "--project", dir]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(std::fs::read(&settings).expect("read"), first);

    let (ok, out) = chainwatch(&["hooks", "uninstall", "--project", dir]);
    assert!(ok, "{out}");
    let removed: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(removed, original);
}

#[test]
fn install_into_a_project_without_settings_creates_them() {
    let project = tempfile::tempdir().expect("project");
    let dir = project.path().to_str().expect("utf-8 path");
    let (ok, out) = chainwatch(&["hooks", "install", "--project", dir]);
    assert!(ok, "{out}");
    let created: Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join(".claude/settings.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(
        created["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "chainwatch hook"
    );
    assert_eq!(created["hooks"]["PreToolUse"][0]["matcher"], "*");
}

#[test]
fn install_without_chainwatch_on_path_writes_the_binarys_own_path() {
    let project = tempfile::tempdir().expect("project");
    let dir = project.path().to_str().expect("utf-8 path");
    let nowhere = project.path().join("empty-bin");
    let (ok, out) = chainwatch_with_path(&["hooks", "install", "--project", dir], &nowhere);
    assert!(ok, "{out}");
    let settings = project.path().join(".claude/settings.json");
    let first = std::fs::read(&settings).expect("read");
    let created: Value = serde_json::from_slice(&first).expect("json");
    let command = created["hooks"]["Stop"][0]["hooks"][0]["command"]
        .as_str()
        .expect("command")
        .to_owned();
    // The front's path exactly (the command goes to `chainwatch-server`, which must write
    // the front that started it, not its own path).
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_chainwatch")).expect("exe");
    let program = command.strip_suffix(" hook").map(|p| p.trim_matches('\''));
    assert_eq!(program, Some(exe.to_str().expect("utf-8")), "{command}");
    // The installed command runs (a hook that reports nowhere exits 0, silently).
    let ran = Command::new("sh")
        .args(["-c", &command])
        .env("CHAINWATCH_URL", "http://127.0.0.1:9")
        .env("CHAINWATCH_SPOOL_DIR", project.path().join("spool"))
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert!(ran.status.success());
    assert!(ran.stdout.is_empty());
    // A second install changes nothing.
    let (ok, out) = chainwatch_with_path(&["hooks", "install", "--project", dir], &nowhere);
    assert!(ok && out.contains("nothing to change"), "{out}");
}

#[test]
fn a_hook_with_bad_input_or_arguments_still_exits_zero() {
    let hook = Hook::new("http://127.0.0.1:9");
    let ran = hook.run(&json!("not an object"));
    ran.assert_silent();
    let (ok, _) = chainwatch(&["hook", "--no-such-flag"]);
    assert!(ok);
}

/// The exact command line the installed hooks use skips clap; anything else still goes
/// through it, so `chainwatch hook --help` documents the hook as before.
#[test]
fn hook_help_still_comes_from_the_full_cli() {
    let (ok, out) = chainwatch(&["hook", "--help"]);
    assert!(ok, "{out}");
    assert!(out.contains("CHAINWATCH_URL"), "{out}");
}

/// The hook's HTTP buffers are 16 KiB: a request many times that size still travels
/// whole (in pieces through the write buffer), and the session look-up that follows is
/// answered through the read buffer.
#[test]
fn a_payload_larger_than_the_buffers_travels_whole() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    let mut big = payload("post_tool_use_bash", "big-output");
    let output = format!("{}END-OF-OUTPUT", "0123456789abcdef\n".repeat(20_000));
    big["tool_response"]["stdout"] = json!(output);
    hook.run(&big).assert_silent();
    let events = server.events("big-output");
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("END-OF-OUTPUT")),
        "{:?}",
        types(&events)
    );
    // SessionStart of a live session asks the server for the session first.
    let mut compact = payload("session_start", "big-output");
    compact["source"] = json!("compact");
    compact["model"] = json!("claude-opus-4-1");
    hook.run(&compact).assert_silent();
    assert_eq!(server.session("big-output")["model"], "claude-opus-4-1");
}

/// Not a timed test: prints the wall time of `chainwatch hook` with the server up.
/// Run with `cargo test --release -p chainwatch --test hook -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, run by hand"]
fn hook_wall_time() {
    let server = Server::start();
    let hook = Hook::new(&server.url());
    let runs: usize = std::env::var("HOOK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let percentiles = |name: &str, mut times: Vec<Duration>| {
        times.sort();
        let pct = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        eprintln!(
            "{name}: n={} p50={:?} p90={:?} p99={:?} max={:?}",
            times.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            times[times.len() - 1]
        );
    };
    let spawn_only: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_chainwatch"))
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .expect("runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    percentiles("baseline: spawn `chainwatch --version`", spawn_only);
    for (name, mutate) in [
        ("PostToolUse (report only)", "post_tool_use_bash"),
        ("PreToolUse (report + commands)", "pre_tool_use_bash"),
    ] {
        let times: Vec<Duration> = (0..runs)
            .map(|i| {
                let mut p = payload(mutate, "timing");
                p["tool_use_id"] = json!(format!("toolu_{mutate}_{i}"));
                let ran = hook.run(&p);
                assert!(ran.success && ran.stdout.is_empty());
                ran.elapsed
            })
            .collect();
        percentiles(name, times);
    }
}
