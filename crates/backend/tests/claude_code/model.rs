//! A scripted stand-in of the Anthropic Messages API, for running the real Claude Code
//! offline. Scenarios are data: for each conversation (the main one, or a subagent's,
//! recognised by a marker in its first user message) the turns the "model" takes, one
//! per request, chosen by how many assistant turns the conversation already has. Every
//! request is recorded, so a test sees what Claude Code told the model: tool results
//! (with a hook's deny reason), hook feedback, answers.
//!
//! Side requests (titles and the like: no tools) get a short text; `count_tokens` gets
//! `{"input_tokens": N}`. Answers are Server-Sent Events, as Claude Code asks for them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// One turn of the model.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Calls a tool with this input, then waits for its result.
    Tool(&'static str, Value),
    /// Says something and ends the turn.
    Text(&'static str),
    /// Writes this plan to the plan file Claude Code named (plan mode), with `Write`.
    WritePlan(&'static str),
    /// Calls several tools at once (parallel calls, e.g. subagents), then waits.
    #[allow(
        dead_code,
        reason = "used by tests/record_session.rs, which shares this module"
    )]
    Tools(Vec<(&'static str, Value)>),
}

/// What the model does, per conversation.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The main conversation's turns.
    pub main: Vec<Turn>,
    /// Subagents: (marker in the first user message, turns).
    pub subagents: Vec<(&'static str, Vec<Turn>)>,
}

/// Once a conversation has used up its script, the model says this.
pub const DONE: &str = "All done.";

/// One request Claude Code made with tools (a turn of a conversation).
#[derive(Debug, Clone)]
pub struct Request {
    /// `main`, or the subagent's marker.
    pub conversation: String,
    /// How many assistant turns the conversation had before this request.
    pub turn: usize,
    /// The content of the newest user message: what Claude Code told the model.
    pub last_user: Value,
}

impl Request {
    /// Every text in the newest user message, tool results included, as one string.
    pub fn told(&self) -> String {
        let mut out = String::new();
        collect_text(&self.last_user, &mut out);
        out
    }
}

fn collect_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(o) => {
            for key in ["text", "content"] {
                if let Some(v) = o.get(key) {
                    collect_text(v, out);
                }
            }
        }
        _ => {}
    }
}

struct Shared {
    script: Script,
    requests: Mutex<Vec<Request>>,
    ids: AtomicU64,
    /// Replaces `$CWD` in tool inputs (see [`Model::set_cwd`]).
    cwd: Mutex<Option<String>>,
}

/// The running stand-in.
pub struct Model {
    /// Its port on 127.0.0.1.
    pub port: u16,
    shared: Arc<Shared>,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

impl Model {
    /// Starts the stand-in on a free port.
    pub fn start(script: Script) -> Self {
        let shared = Arc::new(Shared {
            script,
            requests: Mutex::new(Vec::new()),
            ids: AtomicU64::new(1),
            cwd: Mutex::new(None),
        });
        let state = shared.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(state);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::JsonConfig::default().limit(64 * 1024 * 1024))
                        .route("/v1/messages/count_tokens", web::post().to(count_tokens))
                        .route("/v1/messages", web::post().to(messages))
                        .default_service(web::to(|| async {
                            HttpResponse::NotFound().json(json!({"type": "error"}))
                        }))
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .expect("model binds");
                let port = server.addrs()[0].port();
                let running = server.run();
                tx.send((port, running.handle())).expect("send");
                running.await.expect("model runs");
            });
        });
        let (port, handle) = rx.recv().expect("model started");
        Self {
            port,
            shared,
            handle: Some(handle),
            thread: Some(thread),
        }
    }

    /// Its base URL, for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// From now on, `$CWD` in the scripted tool inputs is `cwd` (the project folder,
    /// known only once the workspace exists; Write and Edit want absolute paths).
    #[allow(
        dead_code,
        reason = "used by tests/record_session.rs, which shares this module"
    )]
    pub fn set_cwd(&self, cwd: &str) {
        *self.shared.cwd.lock().expect("lock") = Some(cwd.to_owned());
    }

    /// The requests of conversation turns so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// Everything Claude Code told the model in one conversation, oldest first.
    pub fn told(&self, conversation: &str) -> String {
        self.requests()
            .iter()
            .filter(|r| r.conversation == conversation)
            .map(Request::told)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// How many requests a conversation made.
    pub fn turns(&self, conversation: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.conversation == conversation)
            .count()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn count_tokens() -> HttpResponse {
    HttpResponse::Ok().json(json!({"input_tokens": 42}))
}

fn first_user_text(messages: &[Value]) -> String {
    let mut out = String::new();
    if let Some(first) = messages.iter().find(|m| m["role"] == "user") {
        collect_text(&first["content"], &mut out);
    }
    out
}

async fn messages(state: web::Data<Shared>, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let turn = if has_tools {
        let first = first_user_text(&messages);
        let (conversation, turns) = state
            .script
            .subagents
            .iter()
            .find(|(marker, _)| first.contains(marker))
            .map(|(marker, turns)| ((*marker).to_owned(), turns))
            .unwrap_or_else(|| ("main".to_owned(), &state.script.main));
        let done = messages.iter().filter(|m| m["role"] == "assistant").count();
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| m["content"].clone())
            .unwrap_or(Value::Null);
        state.requests.lock().expect("lock").push(Request {
            conversation,
            turn: done,
            last_user,
        });
        match turns.get(done).cloned().unwrap_or(Turn::Text(DONE)) {
            Turn::WritePlan(plan) => match plan_file(&body) {
                Some(path) => Turn::Tool("Write", json!({"file_path": path, "content": plan})),
                None => Turn::Text("No plan file was named."),
            },
            turn => turn,
        }
    } else {
        Turn::Text("Scripted session")
    };
    let turn = match state.cwd.lock().expect("lock").as_deref() {
        Some(cwd) => with_cwd(turn, cwd),
        None => turn,
    };
    let id = state.ids.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .body(sse(&turn, id, body["model"].as_str().unwrap_or("claude")))
}

/// The plan file Claude Code names in plan mode (`…/.claude/plans/<slug>.md`).
fn plan_file(body: &Value) -> Option<String> {
    let text = body.to_string();
    let at = text.rfind("/.claude/plans/")?;
    let start = text[..at]
        .rfind(|c: char| c == '"' || c.is_whitespace() || c == '`' || c == '(')
        .map_or(0, |i| i + 1);
    let end = at + text[at..].find(".md")? + 3;
    Some(text[start..end].to_owned())
}

/// `$CWD` in a turn's tool inputs replaced by `cwd`.
fn with_cwd(turn: Turn, cwd: &str) -> Turn {
    let fill = |input: Value| -> Value {
        serde_json::from_str(&input.to_string().replace("$CWD", cwd)).unwrap_or(input)
    };
    match turn {
        Turn::Tool(name, input) => Turn::Tool(name, fill(input)),
        Turn::Tools(calls) => Turn::Tools(calls.into_iter().map(|(n, i)| (n, fill(i))).collect()),
        turn => turn,
    }
}

/// The turn as the stream of events Claude Code reads.
fn sse(turn: &Turn, id: u64, model: &str) -> String {
    let tool = |n: usize, name: &str, input: &Value| {
        (
            json!({"type": "tool_use", "id": format!("toolu_{id:08}_{n}"), "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
        )
    };
    let (blocks, stop) = match turn {
        Turn::Tool(name, input) => (
            vec![(
                json!({"type": "tool_use", "id": format!("toolu_{id:08}"), "name": name, "input": {}}),
                json!({"type": "input_json_delta", "partial_json": input.to_string()}),
            )],
            "tool_use",
        ),
        Turn::Tools(calls) => (
            calls
                .iter()
                .enumerate()
                .map(|(n, (name, input))| tool(n, name, input))
                .collect(),
            "tool_use",
        ),
        Turn::WritePlan(_) => unreachable!("resolved before"),
        Turn::Text(text) => (
            vec![(
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": text}),
            )],
            "end_turn",
        ),
    };
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{id:08}"), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )];
    for (index, (block, delta)) in blocks.into_iter().enumerate() {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ));
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": 5}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}
