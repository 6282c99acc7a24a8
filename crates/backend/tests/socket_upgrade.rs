//! The socket's upgrade path, byte by byte over plain TCP: a refused upgrade gets the
//! application's own status and JSON error and the connection ends; a `/ws` request the
//! HTTP dispatcher does not upgrade is refused; frames sent with the handshake, split
//! across reads, or several in one read all reach the socket.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

fn upgrade_request(port: u16, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// A client frame: final, masked (RFC 6455 section 5.3), with a text payload.
fn client_text(payload: &str) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let bytes = payload.as_bytes();
    let mut frame = vec![0x81];
    if bytes.len() < 126 {
        frame.push(0x80 | bytes.len() as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    }
    frame.extend_from_slice(&mask);
    frame.extend(bytes.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads a whole response (head and body) until the server closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
        .await
        .expect("the server closes the connection after a refusal")
        .unwrap();
    String::from_utf8(all).unwrap()
}

/// The server's side of a socket, read off a raw stream.
struct Frames {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Frames {
    /// Reads the handshake's response head; keeps whatever follows it.
    async fn after_101(mut stream: TcpStream) -> Self {
        let mut buf = Vec::new();
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(WAIT, stream.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed before the 101");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{head}"
        );
        buf.drain(..end);
        Self { stream, buf }
    }

    /// The next frame: opcode and payload.
    async fn next(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
                let (len, at) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => {
                        let mut be = [0u8; 8];
                        be.copy_from_slice(&self.buf[2..10]);
                        (u64::from_be_bytes(be) as usize, 10)
                    }
                    126 | 127 => (usize::MAX, 0),
                    short => (short as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= at + len {
                    let opcode = self.buf[0] & 0x0f;
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return (opcode, payload);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("a frame in time")
                .unwrap();
            assert!(n > 0, "the server closed the socket");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next text frame's JSON `type`.
    async fn next_type(&mut self) -> String {
        let (opcode, payload) = self.next().await;
        assert_eq!(opcode, 1, "a text frame");
        let value: Value = serde_json::from_slice(&payload).unwrap();
        value["type"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_refused_upgrade_gets_the_applications_status_and_json_error_then_the_connection_ends() {
    let server = TestServer::spawn_with(|config| config.socket.max_clients = 1);

    // The guard's refusal: a foreign origin.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let request = upgrade_request(server.port, "Origin: https://evil.example\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_to_close(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"], "forbidden_origin");

    // The handler's refusal: the socket budget (one socket) is taken.
    let mut first = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    first
        .write_all(upgrade_request(server.port, "").as_bytes())
        .await
        .unwrap();
    let mut first = Frames::after_101(first).await;
    assert_eq!(first.next_type().await, "hello");
    let mut second = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    second
        .write_all(upgrade_request(server.port, "").as_bytes())
        .await
        .unwrap();
    let response = read_to_close(&mut second).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 5"),
        "{response}"
    );
    let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_sockets");

    // A bad handshake (no key) is actix-http's 400, and takes no socket from the budget.
    drop(first);
    let mut bad = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let request = upgrade_request(server.port, "")
        .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    bad.write_all(request.as_bytes()).await.unwrap();
    let response = read_to_close(&mut bad).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    // The first socket's slot is free once the server has seen it go.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut again = loop {
        let mut again = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        again
            .write_all(upgrade_request(server.port, "").as_bytes())
            .await
            .unwrap();
        let mut head = [0u8; 12];
        again.read_exact(&mut head).await.unwrap();
        if &head == b"HTTP/1.1 101" {
            break again;
        }
        assert_eq!(&head, b"HTTP/1.1 503");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot is never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut rest = [0u8; 1];
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        again.read_exact(&mut rest).await.unwrap();
        head.push(rest[0]);
    }
    let mut again = Frames {
        stream: again,
        buf: Vec::new(),
    };
    assert_eq!(again.next_type().await, "hello");
    drop(again);
    server.stop().await;
}

#[tokio::test]
async fn a_ws_request_the_dispatcher_does_not_upgrade_is_refused_and_http_keeps_working() {
    let server = TestServer::spawn();
    // `Upgrade: websocket, h2c` passes actix-http's handshake check but is not what its
    // HTTP/1 decoder treats as an upgrade: it must not get a 101 it cannot follow.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let request = upgrade_request(server.port, "Connection: close\r\n")
        .replace("Upgrade: websocket\r\n", "Upgrade: websocket, h2c\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_to_close(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    let (status, _) = server.get("/api/sessions").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn frames_sent_with_the_handshake_split_across_reads_or_batched_all_reach_the_socket() {
    let server = TestServer::spawn();
    let ping = client_text(r#"{"type":"ping"}"#);

    // A frame in the same write as the handshake: read by the HTTP side with the
    // request, handed to the socket with the stream.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut first = upgrade_request(server.port, "").into_bytes();
    first.extend_from_slice(&ping);
    stream.write_all(&first).await.unwrap();
    let mut frames = Frames::after_101(stream).await;
    assert_eq!(frames.next_type().await, "hello");
    assert_eq!(frames.next_type().await, "pong");

    // A frame cut in three reads: inside the header, then inside the payload.
    let long = client_text(&format!(
        r#"{{"type":"ping","padding":"{}"}}"#,
        "x".repeat(300)
    ));
    for part in [&long[..1], &long[1..40], &long[40..]] {
        frames.stream.write_all(part).await.unwrap();
        frames.stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(frames.next_type().await, "pong");

    // Three frames in one write: three answers, in order.
    let mut batch = Vec::new();
    batch.extend_from_slice(&client_text(
        r#"{"type":"subscribe","sessionId":"bad id!"}"#,
    ));
    batch.extend_from_slice(&ping);
    batch.extend_from_slice(&ping);
    frames.stream.write_all(&batch).await.unwrap();
    assert_eq!(frames.next_type().await, "error");
    assert_eq!(frames.next_type().await, "pong");
    assert_eq!(frames.next_type().await, "pong");

    // A client close frame is answered with a close frame, then the server closes.
    let mask = [1u8, 2, 3, 4];
    let code = 1000u16.to_be_bytes();
    let close = [
        0x88,
        0x82,
        mask[0],
        mask[1],
        mask[2],
        mask[3],
        code[0] ^ mask[0],
        code[1] ^ mask[1],
    ];
    frames.stream.write_all(&close).await.unwrap();
    let (opcode, _) = frames.next().await;
    assert_eq!(opcode, 8, "a close frame");
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, frames.stream.read_to_end(&mut rest))
        .await
        .expect("the server ends the connection")
        .unwrap();
    assert!(rest.is_empty());
    server.stop().await;
}
