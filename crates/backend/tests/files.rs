//! File watching and the files view, against the real server on port 0 with temp dirs
//! and real sockets: changes reach a subscribed socket with paths relative to the cwd,
//! storms are coalesced, ignored paths stay silent, ending a session stops its events,
//! live sessions are watched again after a restart, path traversal is refused with 403,
//! and cwds that are elsewhere, relative or files are handled as the contract says.
//!
//! `watcher_cost` (ignored by default) measures what the watcher absorbs and costs:
//! `cargo test --release -p chainwatch --test files -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chainwatch::app::{Application, StopHandle};
use chainwatch::config::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Server {
    port: u16,
    handle: StopHandle,
    thread: std::thread::JoinHandle<()>,
    http: reqwest::Client,
}

fn config(data_dir: &Path) -> Result<Config, Error> {
    let mut config = Config::new("127.0.0.1:0".parse()?, data_dir.to_path_buf());
    // The sessions' cwds are temporary directories: allow them (--files-root).
    config.files.roots = vec![std::env::temp_dir()];
    Ok(config)
}

fn start(config: Config) -> Result<Server, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(config).expect("builds");
            tx.send((app.port(), app.handle())).expect("send");
            app.run_until_stopped().await.expect("runs");
        })
    });
    let (port, handle) = rx.recv()?;
    Ok(Server {
        port,
        handle,
        thread,
        // Idle connections are dropped before the server's 5 s keep-alive closes them,
        // so that a request after a long pause never races the close.
        http: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()?,
    })
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value), Error> {
        let response = self.http.post(self.url(path)).json(&body).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), Error> {
        let response = self.http.get(self.url(path)).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn create(&self, cwd: &Path) -> Result<String, Error> {
        let (status, body) = self
            .post("/api/sessions", json!({"cwd": cwd.display().to_string()}))
            .await?;
        assert_eq!(status, 201, "{body}");
        Ok(body["id"].as_str().ok_or("no id")?.to_owned())
    }

    /// Waits until the watcher decided about the session, and returns its watch state.
    async fn watch_state(&self, id: &str) -> Result<Value, Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, session) = self.get(&format!("/api/sessions/{id}")).await?;
            let watch = session["watch"].clone();
            let undecided = watch["reason"]
                .as_str()
                .is_some_and(|r| r.contains("has not started"));
            if !undecided {
                return Ok(watch);
            }
            if Instant::now() > deadline {
                return Err(format!("the watcher never decided about {id}: {watch}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.handle.stop().await;
        let _ = self.thread.join();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Socket {
    ws: Ws,
}

impl Socket {
    async fn connect(server: &Server) -> Result<Self, Error> {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws", server.port)).await?;
        let mut socket = Self { ws };
        let hello = socket
            .frame(Duration::from_secs(5))
            .await?
            .ok_or("no hello")?;
        assert_eq!(hello["type"], "hello", "{hello}");
        Ok(socket)
    }

    async fn frame(&mut self, wait: Duration) -> Result<Option<Value>, Error> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err("socket closed".into()),
                Ok(Some(message)) => {
                    if let Message::Text(text) = message? {
                        return Ok(Some(serde_json::from_str(&text)?));
                    }
                }
            }
        }
    }

    async fn subscribe(&mut self, id: &str) -> Result<(), Error> {
        let frame = json!({"type": "subscribe", "sessionId": id}).to_string();
        self.ws.send(Message::Text(frame.into())).await?;
        loop {
            let frame = self
                .frame(Duration::from_secs(5))
                .await?
                .ok_or("no subscribed frame")?;
            if frame["type"] == "subscribed" {
                return Ok(());
            }
        }
    }

    /// File events of `session` until `done` holds for one of them (included), or the
    /// time is up.
    async fn file_events_until(
        &mut self,
        session: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>, Error> {
        let deadline = Instant::now() + wait;
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(events);
            }
            let Some(frame) = self.frame(left).await? else {
                return Ok(events);
            };
            let event = &frame["event"];
            if frame["type"] == "event"
                && event["sessionId"] == session
                && event["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("file:"))
            {
                events.push(event.clone());
                if done(event) {
                    return Ok(events);
                }
            }
        }
    }

    /// The first file event of `session` within `wait`.
    async fn file_event(&mut self, session: &str, wait: Duration) -> Result<Value, Error> {
        self.file_events_until(session, wait, |_| true)
            .await?
            .pop()
            .ok_or_else(|| "no file event came".into())
    }
}

fn is(kind: &str, path: &str) -> impl Fn(&Value) -> bool {
    let (kind, path) = (kind.to_owned(), path.to_owned());
    move |e: &Value| e["type"] == kind.as_str() && e["path"] == path.as_str()
}

fn canonical_tempdir() -> Result<(tempfile::TempDir, PathBuf), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().canonicalize()?;
    Ok((dir, path))
}

#[tokio::test]
async fn created_modified_and_deleted_reach_a_subscribed_socket() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    std::fs::create_dir_all(root.join("src"))?;
    let server = start(config(data.path())?)?;
    let id = server.create(&root).await?;
    let watch = server.watch_state(&id).await?;
    assert_eq!(watch["watched"], true, "{watch}");
    let mut socket = Socket::connect(&server).await?;
    socket.subscribe(&id).await?;
    let wait = Duration::from_secs(5);

    std::fs::write(root.join("src/new.rs"), "fn a() {}")?;
    let created = socket.file_event(&id, wait).await?;
    assert_eq!(created["type"], "file:created", "{created}");
    assert_eq!(created["path"], "src/new.rs");
    assert!(created["seq"].as_u64().is_some());

    std::fs::write(root.join("src/new.rs"), "fn b() {}")?;
    let modified = socket.file_event(&id, wait).await?;
    assert_eq!(modified["type"], "file:modified", "{modified}");
    assert_eq!(modified["path"], "src/new.rs");

    std::fs::remove_file(root.join("src/new.rs"))?;
    let deleted = socket.file_event(&id, wait).await?;
    assert_eq!(deleted["type"], "file:deleted", "{deleted}");
    assert_eq!(deleted["path"], "src/new.rs");

    // A directory made after the watch started is followed, to any depth.
    std::fs::create_dir_all(root.join("pkg/deep"))?;
    std::fs::write(root.join("pkg/deep/x.txt"), "x")?;
    let events = socket
        .file_events_until(&id, wait, is("file:created", "pkg/deep/x.txt"))
        .await?;
    assert!(
        events.iter().any(is("file:created", "pkg/deep/x.txt")),
        "{events:?}"
    );
    std::fs::write(root.join("pkg/deep/y.txt"), "y")?;
    let next = socket.file_event(&id, wait).await?;
    assert_eq!(next["path"], "pkg/deep/y.txt", "{next}");

    // The session's detail lists the files touched.
    let (_, detail) = server.get(&format!("/api/sessions/{id}")).await?;
    assert!(detail.to_string().contains("pkg/deep/y.txt"), "{detail}");
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_burst_of_writes_to_one_file_yields_a_bounded_number_of_events() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    let server = start(config(data.path())?)?;
    let id = server.create(&root).await?;
    assert_eq!(server.watch_state(&id).await?["watched"], true);
    let mut socket = Socket::connect(&server).await?;
    socket.subscribe(&id).await?;
    let file = root.join("storm.txt");
    std::fs::write(&file, "0")?;
    let created = socket.file_event(&id, Duration::from_secs(5)).await?;
    assert_eq!(created["type"], "file:created");

    let started = Instant::now();
    for i in 0..100 {
        std::fs::write(&file, format!("write {i}"))?;
    }
    let burst = started.elapsed();
    let events = socket
        .file_events_until(&id, Duration::from_millis(1500), |_| false)
        .await?;
    assert!(!events.is_empty(), "the burst was not reported at all");
    assert!(
        events.iter().all(is("file:modified", "storm.txt")),
        "{events:?}"
    );
    // One event per 100 ms window: the burst spans at most a few windows.
    let bound = 2 + (burst.as_millis() / 100) as usize;
    assert!(
        events.len() <= bound,
        "{} events for 100 writes in {burst:?} (bound {bound})",
        events.len()
    );
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn writes_under_ignored_paths_yield_nothing() -> Result<(), Error> {
    let (_cwd, root) = canonical_tempdir()?;
    std::fs::write(root.join(".gitignore"), "generated/\n*.log\n")?;
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::write(root.join("src/.gitignore"), "secret.txt\n")?;
    // Chainwatch's own data dir inside the watched cwd: its SQLite writes are silent.
    let server = start(config(&root.join(".chainwatch"))?)?;
    let id = server.create(&root).await?;
    assert_eq!(server.watch_state(&id).await?["watched"], true);
    let mut socket = Socket::connect(&server).await?;
    socket.subscribe(&id).await?;

    for (dir, file) in [
        ("target/debug/deps", "a.o"),
        ("node_modules/pkg", "index.js"),
        (".git/objects/ab", "cdef"),
        ("generated/out", "x.rs"),
        ("src/node_modules/inner", "y.js"),
        ("src/target", "z"),
    ] {
        std::fs::create_dir_all(root.join(dir))?;
        for i in 0..20 {
            std::fs::write(root.join(dir).join(format!("{i}-{file}")), "x")?;
        }
    }
    std::fs::write(root.join("debug.log"), "log line")?;
    std::fs::write(root.join("src/secret.txt"), "hidden")?;
    std::fs::write(root.join(".git/config"), "[core]")?;
    // Writes that make events in the log (and so in the data dir) go on meanwhile.
    for i in 0..20 {
        server
            .post(
                "/api/events",
                json!({"type": "prompt:submitted", "sessionId": id, "prompt": format!("p{i}")}),
            )
            .await?;
    }
    // A sentinel that must be reported: everything before it was seen by then.
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(root.join("sentinel.txt"), "done")?;
    let mut events = socket
        .file_events_until(
            &id,
            Duration::from_secs(5),
            is("file:created", "sentinel.txt"),
        )
        .await?;
    events.extend(
        socket
            .file_events_until(&id, Duration::from_millis(400), |_| false)
            .await?,
    );
    let paths: Vec<&str> = events.iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(
        paths,
        ["sentinel.txt"],
        "ignored paths were reported: {events:?}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn ending_the_session_stops_its_events() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    let server = start(config(data.path())?)?;
    let id = server.create(&root).await?;
    assert_eq!(server.watch_state(&id).await?["watched"], true);
    let mut socket = Socket::connect(&server).await?;
    socket.subscribe(&id).await?;
    std::fs::write(root.join("before.txt"), "x")?;
    let event = socket.file_event(&id, Duration::from_secs(5)).await?;
    assert_eq!(event["path"], "before.txt");

    let (status, ended) = server
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await?;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["watch"]["watched"], false, "{ended}");
    std::fs::write(root.join("after.txt"), "x")?;
    std::fs::write(root.join("before.txt"), "changed")?;
    std::fs::remove_file(root.join("before.txt"))?;
    let late = socket
        .file_events_until(&id, Duration::from_millis(800), |_| false)
        .await?;
    assert!(late.is_empty(), "events after the end: {late:?}");
    let (_, log) = server
        .get(&format!("/api/sessions/{id}/events?since=0"))
        .await?;
    let files = log["events"]
        .as_array()
        .ok_or("events")?
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("file:")))
        .count();
    assert_eq!(files, 1, "{log}");
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn live_sessions_are_watched_again_after_a_restart() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    let server = start(config(data.path())?)?;
    let id = server.create(&root).await?;
    assert_eq!(server.watch_state(&id).await?["watched"], true);
    server.stop().await;

    let server = start(config(data.path())?)?;
    let mut socket = Socket::connect(&server).await?;
    socket.subscribe(&id).await?;
    // The watcher re-walks the cwd on start; give it a moment, then change a file.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut i = 0;
    let event = loop {
        std::fs::write(root.join(format!("after-restart-{i}.txt")), "x")?;
        if let Some(event) = socket
            .file_events_until(&id, Duration::from_millis(500), |_| true)
            .await?
            .pop()
        {
            break event;
        }
        i += 1;
        assert!(Instant::now() < deadline, "no events after the restart");
    };
    assert_eq!(event["type"], "file:created", "{event}");
    assert!(
        event["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("after-restart-")),
        "{event}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn path_traversal_is_refused_with_403() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_outside_dir, outside) = canonical_tempdir()?;
    std::fs::write(outside.join("secret.txt"), "TOP-SECRET-OUTSIDE")?;
    // The secret also sits next to the cwd, where `../secret.txt` would reach it.
    let (_parent_dir, parent) = canonical_tempdir()?;
    let root = parent.join("cwd");
    std::fs::create_dir(&root)?;
    std::fs::write(parent.join("secret.txt"), "TOP-SECRET-PARENT")?;
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::create_dir_all(root.join(".git"))?;
    std::fs::create_dir_all(root.join("target"))?;
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n")?;
    std::fs::write(
        root.join(".git/config"),
        "[remote] url = https://token@host",
    )?;
    std::fs::write(root.join(".gitignore"), ".env\n")?;
    std::fs::write(root.join(".env"), "API_KEY=TOP-SECRET-ENV")?;
    std::fs::write(root.join("bin.dat"), [0u8, 159, 146, 150, 0, 1])?;
    std::os::unix::fs::symlink(&outside, root.join("link-out"))?;
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link-secret"))?;
    std::os::unix::fs::symlink(root.join("src/main.rs"), root.join("inside-link"))?;
    let server = start(config(data.path())?)?;
    let id = server.create(&root).await?;
    let content = |query: &str| format!("/api/sessions/{id}/files/content?{query}");

    let refused = [
        "path=..",
        "path=../secret.txt",
        "path=src/../../secret.txt",
        "path=src/..",
        "path=./../secret.txt",
        "path=src/../../../../../../../etc/passwd",
        "path=/etc/passwd",
        "path=//etc/passwd",
        "path=%2Fetc%2Fpasswd",
        "path=%2e%2e%2fsecret.txt",
        "path=%2E%2E/secret.txt",
        "path=..%2Fsecret.txt",
        "path=%252e%252e%252fsecret.txt",
        "path=src/%252e%252e/%252e%252e/secret.txt",
        "path=..%5Csecret.txt",
        "path=src%5C..%5C..%5Csecret.txt",
        "path=C:%5CWindows%5Cwin.ini",
        "path=c:/windows/win.ini",
        "path=src/main.rs%00.txt",
        "path=%00",
        "path=%c0%ae%c0%ae/secret.txt",
        "path=..%c0%afsecret.txt",
        "path=%u002e%u002e/secret.txt",
        "path=src/main.rs%0a",
        "path=link-out/secret.txt",
        "path=link-secret",
        "path=.git/config",
        "path=src/../.git/config",
        "path=.env",
        "path=target/../../secret.txt",
        "path=src/main.rs&path=../secret.txt",
    ];
    assert!(refused.len() >= 15);
    for query in refused {
        let response = server.http.get(server.url(&content(query))).send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        assert_eq!(status, 403, "{query} answered {status}: {body}");
        assert!(body.contains("\"forbidden\""), "{query}: {body}");
        assert!(!body.contains("TOP-SECRET"), "{query} leaked: {body}");
    }

    // What is inside is served.
    let (status, file) = server.get(&content("path=src/main.rs")).await?;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["content"], "fn main() {}\n");
    assert_eq!(file["size"], 13);
    assert_eq!(file["truncated"], false);
    let (status, file) = server.get(&content("path=inside-link")).await?;
    assert_eq!((status, &file["content"]), (200, &json!("fn main() {}\n")));
    let (status, file) = server.get(&content("path=./src/main.rs")).await?;
    assert_eq!(status, 200, "{file}");
    let (status, file) = server.get(&content("path=bin.dat")).await?;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["content"], Value::Null);
    assert_eq!(file["size"], 6);
    let (status, _) = server.get(&content("path=nope.txt")).await?;
    assert_eq!(status, 404);
    let (status, _) = server.get(&content("path=src")).await?;
    assert_eq!(status, 400);
    let (status, _) = server.get(&content("")).await?;
    assert_eq!(status, 400);

    // The tree lists what is inside and nothing ignored.
    let (status, tree) = server.get(&format!("/api/sessions/{id}/files")).await?;
    assert_eq!(status, 200, "{tree}");
    let paths: Vec<&str> = tree["files"]
        .as_array()
        .ok_or("files")?
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            ".gitignore",
            "bin.dat",
            "inside-link",
            "link-out",
            "link-secret",
            "src",
            "src/main.rs"
        ],
        "{tree}"
    );
    assert_eq!(tree["truncated"], false);
    assert_eq!(tree["root"], root.display().to_string());
    let (status, _) = server.get("/api/sessions/nope/files").await?;
    assert_eq!(status, 404);
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_cwd_missing_here_is_an_unwatched_session_whose_files_are_404() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let server = start(config(data.path())?)?;
    for cwd in [
        "/chainwatch-test/not/on/this/host",
        "C:\\Users\\ada\\project",
    ] {
        let (status, session) = server.post("/api/sessions", json!({"cwd": cwd})).await?;
        assert_eq!(status, 201, "{session}");
        let id = session["id"].as_str().ok_or("id")?;
        let watch = server.watch_state(id).await?;
        assert_eq!(watch["watched"], false, "{watch}");
        assert!(
            watch["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not on this host")),
            "{watch}"
        );
        let (status, body) = server.get(&format!("/api/sessions/{id}/files")).await?;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "not_found");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("not on this host")),
            "{body}"
        );
        let (status, _) = server
            .get(&format!("/api/sessions/{id}/files/content?path=a.txt"))
            .await?;
        assert_eq!(status, 404);
    }
    // The same from an agent's hook, through ingest.
    let (status, body) = server
        .post(
            "/api/events",
            json!({"type": "session:started", "sessionId": "remote-1", "cwd": "/elsewhere/app"}),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let watch = server.watch_state("remote-1").await?;
    assert_eq!(watch["watched"], false, "{watch}");
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn relative_and_file_cwds_are_refused() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    let file = root.join("a-file.txt");
    std::fs::write(&file, "x")?;
    let server = start(config(data.path())?)?;
    for cwd in ["relative/dir", "", "./here"] {
        let (status, body) = server.post("/api/sessions", json!({"cwd": cwd})).await?;
        assert_eq!(status, 422, "{cwd:?}: {body}");
    }
    let (status, body) = server
        .post("/api/sessions", json!({"cwd": file.display().to_string()}))
        .await?;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("names a file")),
        "{body}"
    );
    // Through ingest: the whole batch is refused, naming the event.
    let (status, body) = server
        .post(
            "/api/events",
            json!([
                {"type": "session:started", "sessionId": "ok-one", "cwd": root.display().to_string()},
                {"type": "session:started", "sessionId": "bad-one", "cwd": file.display().to_string()},
            ]),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("events[1]")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/events",
            json!({"type": "session:started", "sessionId": "rel", "cwd": "rel/dir"}),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    let (_, list) = server.get("/api/sessions").await?;
    assert_eq!(list["sessions"], json!([]), "{list}");
    server.stop().await;
    Ok(())
}

/// CPU time of this process's threads whose name starts with one of `names`, in ns
/// (schedstat when the kernel has it, else clock ticks).
fn thread_cpu_ns(names: &[&str]) -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !names.iter().any(|n| comm.trim().starts_with(n)) {
            continue;
        }
        if let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) {
            if let Some(ns) = schedstat
                .split_whitespace()
                .next()
                .and_then(|s| s.parse::<u64>().ok())
            {
                total += ns;
                continue;
            }
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks: u64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0);
        total += ticks * 10_000_000;
    }
    total
}

const WATCHER_THREADS: [&str; 2] = ["chainwatch-watc", "notify-rs inoti"];
const ENGINE_THREAD: [&str; 1] = ["chainwatch-watc"];

async fn count_file_events(server: &Server, id: &str, since: u64) -> Result<(usize, u64), Error> {
    let mut count = 0;
    let mut since = since;
    loop {
        let (_, page) = server
            .get(&format!(
                "/api/sessions/{id}/events?since={since}&limit=10000"
            ))
            .await?;
        let events = page["events"].as_array().ok_or("events")?;
        count += events
            .iter()
            .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("file:")))
            .count();
        if let Some(last) = events.last() {
            since = last["seq"].as_u64().unwrap_or(since);
        }
        if page["hasMore"] != true {
            return Ok((count, since));
        }
    }
}

#[tokio::test]
#[ignore = "measurement: run with --release -- --ignored --nocapture"]
async fn watcher_cost() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let (_cwd, root) = canonical_tempdir()?;
    std::fs::create_dir_all(root.join("src"))?;
    // 0. A repository-sized tree: 2,000 directories of 5 files, and a big ignored one.
    for d in 0..2_000 {
        let dir = root.join(format!("src/m{}/d{d}", d / 50));
        std::fs::create_dir_all(&dir)?;
        for f in 0..5 {
            std::fs::write(dir.join(format!("f{f}.rs")), "x")?;
        }
    }
    for d in 0..2_000 {
        std::fs::create_dir_all(root.join(format!("node_modules/p{d}/lib")))?;
    }
    let server = start(config(data.path())?)?;
    let wall = Instant::now();
    let id = server.create(&root).await?;
    assert_eq!(server.watch_state(&id).await?["watched"], true);
    eprintln!(
        "start: a cwd of 2,041 directories and 10,000 files (plus 4,000 ignored directories) \
         watched {:.0} ms after POST /api/sessions",
        wall.elapsed().as_secs_f64() * 1e3
    );
    let (_, start_seq) = count_file_events(&server, &id, 0).await?;

    // 1. 10,000 files written under an ignored dir (a build's target/).
    let n = 10_000;
    std::fs::create_dir_all(root.join("target/debug/build"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu0 = thread_cpu_ns(&WATCHER_THREADS);
    let wall = Instant::now();
    for i in 0..n {
        std::fs::write(
            root.join(format!("target/debug/build/out-{i}.o")),
            [b'x'; 256],
        )?;
    }
    let write_time = wall.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ignored_cpu = thread_cpu_ns(&WATCHER_THREADS) - cpu0;
    let (ignored_events, seq) = count_file_events(&server, &id, start_seq).await?;
    eprintln!(
        "ignored: {n} files written under target/ in {:.0} ms; watcher threads CPU {:.2} ms \
         ({:.3}% of the write time); file events {ignored_events}",
        write_time.as_secs_f64() * 1e3,
        ignored_cpu as f64 / 1e6,
        ignored_cpu as f64 / 1e9 / write_time.as_secs_f64() * 100.0
    );
    assert_eq!(ignored_events, 0);

    // 2. 10,000 new files in a watched dir: how fast they become committed events.
    std::fs::create_dir_all(root.join("src/gen"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu0 = thread_cpu_ns(&WATCHER_THREADS);
    let engine0 = thread_cpu_ns(&ENGINE_THREAD);
    let wall = Instant::now();
    for i in 0..n {
        std::fs::write(root.join(format!("src/gen/file-{i}.rs")), [b'x'; 256])?;
    }
    let write_time = wall.elapsed();
    let mut seen = 0;
    let mut since = seq;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen < n && Instant::now() < deadline {
        let (count, last) = count_file_events(&server, &id, since).await?;
        seen += count;
        since = last;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = wall.elapsed();
    let watched_cpu = thread_cpu_ns(&WATCHER_THREADS) - cpu0;
    let watched_engine = thread_cpu_ns(&ENGINE_THREAD) - engine0;
    eprintln!(
        "watched: {n} new files written in {:.0} ms; {seen} file events committed after {:.0} ms \
         = {:.0} events/s end to end; watcher threads CPU {:.0} ms = {:.1} µs per file \
         (engine thread {:.1} µs, notify's thread the rest)",
        write_time.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        seen as f64 / total.as_secs_f64(),
        watched_cpu as f64 / 1e6,
        watched_cpu as f64 / 1e3 / n as f64,
        watched_engine as f64 / 1e3 / n as f64
    );
    assert_eq!(seen, n, "every new file is one event");

    // 3. A save storm: 20,000 writes to one file.
    let storm = root.join("src/storm.rs");
    std::fs::write(&storm, "0")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, since) = count_file_events(&server, &id, since).await?;
    let cpu0 = thread_cpu_ns(&WATCHER_THREADS);
    let engine0 = thread_cpu_ns(&ENGINE_THREAD);
    let wall = Instant::now();
    let writes = 20_000;
    for i in 0..writes {
        std::fs::write(&storm, format!("{i}"))?;
    }
    let write_time = wall.elapsed();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let storm_cpu = thread_cpu_ns(&WATCHER_THREADS) - cpu0;
    let storm_engine = thread_cpu_ns(&ENGINE_THREAD) - engine0;
    let (storm_events, _) = count_file_events(&server, &id, since).await?;
    // Each write is open(O_TRUNC) + write + close: about 3 inotify events.
    eprintln!(
        "storm: {writes} writes to one file in {:.0} ms ({:.0} writes/s, ~{:.0} raw notifications/s); \
         {storm_events} file events; watcher threads CPU {:.0} ms = {:.2} µs per write \
         (engine thread {:.2} µs, notify's thread the rest)",
        write_time.as_secs_f64() * 1e3,
        writes as f64 / write_time.as_secs_f64(),
        3.0 * writes as f64 / write_time.as_secs_f64(),
        storm_cpu as f64 / 1e6,
        storm_cpu as f64 / 1e3 / writes as f64,
        storm_engine as f64 / 1e3 / writes as f64
    );
    server.stop().await;
    Ok(())
}
