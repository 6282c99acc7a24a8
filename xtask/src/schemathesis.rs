//! The API fuzz step of `cargo xtask ci`: schemathesis (from PyPI, in a venv under
//! `target/`) generates requests from `GET /api/openapi.json` against the real debug
//! server and fails on any 5xx, any response that breaks its schema, any undocumented
//! status code or content type.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cmd, root};

/// The schemathesis release CI pins (what was verified against this API).
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Generated cases per operation and phase.
const EXAMPLES: &str = "30";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request with the standard library; returns the status code.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// Entry point of the step.
pub fn run() -> Result<(), String> {
    let venv = root().join("target/schemathesis-venv");
    let tool = venv.join("bin/schemathesis");
    if !tool.exists() {
        let venv_arg = venv.display().to_string();
        cmd("", "python3", &["-m", "venv", &venv_arg])?;
        let pip = venv.join("bin/pip").display().to_string();
        cmd(
            "",
            &pip,
            &[
                "install",
                "--quiet",
                "--disable-pip-version-check",
                SCHEMATHESIS,
            ],
        )?;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let data = std::env::temp_dir().join(format!("chainwatch-schemathesis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let binary = root().join("target/debug/chainwatch");
    let server = Server(
        Command::new(&binary)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--no-watch",
                "--max-wait-ms",
                "200",
                "--data-dir",
            ])
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/api/health", "") != Some(200) {
        if Instant::now() > deadline {
            return Err("the server did not answer /api/health".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A session for the generated ids to sometimes hit.
    request(
        port,
        "POST",
        "/api/sessions",
        r#"{"id":"s1","cwd":"/srv/app","user":"ada"}"#,
    );
    let url = format!("http://127.0.0.1:{port}/api/openapi.json");
    let result = cmd(
        "",
        &tool.display().to_string(),
        &[
            "run",
            &url,
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            EXAMPLES,
            "--generation-deterministic",
            "--request-timeout",
            "10",
            "--no-color",
        ],
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    result
}
