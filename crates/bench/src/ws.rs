//! WebSocket clients (tokio-tungstenite): connecting many sockets with bounded
//! concurrency, reading the server's `hello`, subscribing to a session's topic.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A connected socket.
pub type Ws = WebSocketStream<TcpStream>;

/// Small buffers: the bench holds up to 10,000 of these in one process.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

/// Opens a socket and reads its `hello`; returns it with the hello's seq.
pub async fn connect(addr: SocketAddr) -> Result<(Ws, u64), String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("socket connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config()))
        .await
        .map_err(|e| format!("socket handshake: {e}"))?;
    let hello = next_text(&mut ws, Duration::from_secs(30)).await?;
    let seq = serde_json::from_str::<serde_json::Value>(&hello)
        .ok()
        .filter(|v| v["type"] == "hello")
        .and_then(|v| v["seq"].as_u64())
        .ok_or_else(|| format!("expected hello, got {hello}"))?;
    Ok((ws, seq))
}

/// Opens `n` sockets, at most `concurrency` handshakes at a time.
pub async fn connect_many(
    addr: SocketAddr,
    n: usize,
    concurrency: usize,
) -> Result<Vec<Ws>, String> {
    let results: Vec<Result<(Ws, u64), String>> = futures_util::stream::iter(0..n)
        .map(|_| connect(addr))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().map(|r| r.map(|(ws, _)| ws)).collect()
}

/// The next text frame (pings are answered by tungstenite on the way).
pub async fn next_text(ws: &mut Ws, limit: Duration) -> Result<String, String> {
    loop {
        match tokio::time::timeout(limit, ws.next()).await {
            Err(_) => return Err(format!("no frame within {limit:?}")),
            Ok(None) => return Err("socket closed".into()),
            Ok(Some(Err(e))) => return Err(format!("socket error: {e}")),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(text.as_str().to_owned()),
            Ok(Some(Ok(Message::Close(frame)))) => return Err(format!("socket closed: {frame:?}")),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Sends a text frame.
pub async fn send(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("socket send: {e}"))
}

/// Subscribes to a session's topic (live only) and waits for `subscribed`.
pub async fn subscribe(ws: &mut Ws, session: &str) -> Result<(), String> {
    send(
        ws,
        format!(r#"{{"type":"subscribe","sessionId":"{session}"}}"#),
    )
    .await?;
    loop {
        let frame = next_text(ws, Duration::from_secs(30)).await?;
        if frame.starts_with(r#"{"type":"subscribed""#) {
            return Ok(());
        }
        if frame.starts_with(r#"{"type":"error""#) {
            return Err(format!("subscribe refused: {frame}"));
        }
    }
}
