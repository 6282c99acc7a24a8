//! Test harness: the real server on port 0 in its own actix system, a JSON HTTP
//! client, and a socket client that reads the server's frames.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use chainwatch::app::{Application, StopHandle};
use chainwatch::config::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub struct TestServer {
    pub port: u16,
    pub http: reqwest::Client,
    handle: StopHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn spawn() -> Self {
        Self::spawn_with(|_| {})
    }

    pub fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::spawn_in(dir, adjust)
    }

    pub fn spawn_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(
            "127.0.0.1:0".parse().expect("addr"),
            dir.path().join("data"),
        );
        // These tests count events exactly; the watcher's own `session:updated {watch}`
        // after each start is covered by tests/files.rs.
        config.watch.enabled = false;
        // Session cwds in these tests are temporary directories: allow them as the
        // server's operator would with --files-root.
        config.files.roots = vec![std::env::temp_dir()];
        adjust(&mut config);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config).expect("server builds");
                tx.send((app.port(), app.handle())).expect("port sent");
                app.run_until_stopped().await.expect("server runs");
            });
        });
        let (port, handle) = rx.recv().expect("server started");
        Self {
            port,
            http: reqwest::Client::new(),
            handle,
            thread: Some(thread),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Posts raw bytes to `path`.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates a session and returns its id.
    pub async fn create_session(&self, id: &str) -> String {
        let (status, body) = self
            .post(
                "/api/sessions",
                json!({"id": id, "cwd": "/work/project", "user": "ada", "hostname": "laptop"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn latest_seq(&self) -> u64 {
        self.get("/api/health").await.1["seq"]
            .as_u64()
            .expect("seq")
    }

    pub async fn socket(&self) -> Socket {
        Socket::connect(self.port).await
    }

    pub async fn stop(mut self) {
        self.handle.stop().await;
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join().expect("server thread"))
                .await
                .expect("joined");
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Socket {
    pub ws: Ws,
    pub hello_seq: u64,
}

pub const WAIT: Duration = Duration::from_secs(5);

impl Socket {
    pub async fn connect(port: u16) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
            .await
            .expect("socket connects");
        let mut socket = Self { ws, hello_seq: 0 };
        let hello = socket.frame(WAIT).await.expect("hello");
        assert_eq!(hello["type"], "hello", "first frame is hello: {hello}");
        socket.hello_seq = hello["seq"].as_u64().expect("seq");
        socket
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("frame sent");
    }

    /// The next JSON text frame, or None on timeout or close.
    pub async fn frame(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            match next {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("frames are JSON"));
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Close(_)) | Ok(Message::Binary(_)) | Err(_) => return None,
            }
        }
    }

    /// The next event frame's event, skipping other frames.
    pub async fn event(&mut self) -> Value {
        loop {
            let frame = self
                .frame(WAIT)
                .await
                .expect("an event frame within the wait");
            if frame["type"] == "event" {
                return frame["event"].clone();
            }
        }
    }

    /// The next frame of type `kind`, skipping events.
    pub async fn expect_frame(&mut self, kind: &str) -> Value {
        loop {
            let frame = self
                .frame(WAIT)
                .await
                .unwrap_or_else(|| panic!("a {kind} frame within the wait"));
            if frame["type"] == kind {
                return frame;
            }
            // Count summaries come on their own schedule; tests/list_counts.rs checks them.
            if frame["type"] == "progress" {
                continue;
            }
            assert_eq!(
                frame["type"], "event",
                "unexpected frame while waiting for {kind}: {frame}"
            );
        }
    }

    /// Events until `type` with `sessionId` arrives; returns it.
    pub async fn event_of(&mut self, kind: &str, session: &str) -> Value {
        loop {
            let event = self.event().await;
            if event["type"] == kind && event["sessionId"] == session {
                return event;
            }
        }
    }

    /// Asserts no event arrives within `wait`.
    pub async fn expect_no_event(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(frame) = self
            .frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            assert_ne!(frame["type"], "event", "unexpected event: {frame}");
        }
    }

    /// Subscribes to a session; returns the events that arrived before `subscribed`
    /// (the replay, plus any live global events that came first) and the seam seq.
    pub async fn subscribe(&mut self, session: &str, since: Option<u64>) -> (Vec<Value>, u64) {
        let mut frame = json!({"type": "subscribe", "sessionId": session});
        if let Some(since) = since {
            frame["since"] = json!(since);
        }
        self.send(frame).await;
        let mut events = Vec::new();
        loop {
            let frame = self.frame(WAIT).await.expect("subscribed within the wait");
            match frame["type"].as_str() {
                Some("event") => events.push(frame["event"].clone()),
                Some("progress") => {}
                Some("subscribed") => {
                    assert_eq!(frame["sessionId"], session);
                    return (events, frame["seq"].as_u64().expect("seq"));
                }
                _ => panic!("unexpected frame while subscribing: {frame}"),
            }
        }
    }
}
