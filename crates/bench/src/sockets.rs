//! Many sockets on one server: the memory each idle one costs, and fan-out, the
//! messages per second the server delivers to all of them.
//!
//! Fan-out is closed-loop: the bench posts a batch of `session:updated` events (global:
//! every socket gets each one) and posts the next batch once every socket has all but
//! the last batch, so at most two batches are in flight per socket and none is dropped
//! for being slow; the rate is what the server (and the client reading) sustain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::http::HttpConn;
use crate::procfs::{self, CpuUse, CpuWindow};
use crate::ws::Ws;

/// Events per posted batch in the fan-out loop.
pub const FANOUT_BATCH: usize = 50;

/// Memory of idle sockets.
#[derive(Debug, Clone, Copy)]
pub struct MemoryResult {
    /// Server RSS before the sockets, bytes.
    pub rss_before: u64,
    /// Server RSS with them, bytes.
    pub rss_with: u64,
    /// (with − before) / sockets, bytes.
    pub per_socket: f64,
}

/// Reads the server's RSS, connects `n` sockets, lets them sit idle for `settle` and
/// reads it again. Returns the sockets, still open.
pub async fn idle_memory(
    addr: SocketAddr,
    server_pid: u32,
    n: usize,
    settle: Duration,
) -> Result<(MemoryResult, Vec<Ws>), String> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = procfs::rss_bytes(server_pid).ok_or("cannot read the server's RSS")?;
    let sockets = crate::ws::connect_many(addr, n, 64).await?;
    tokio::time::sleep(settle).await;
    let rss_with = procfs::rss_bytes(server_pid).ok_or("cannot read the server's RSS")?;
    Ok((
        MemoryResult {
            rss_before,
            rss_with,
            per_socket: (rss_with as f64 - rss_before as f64) / n as f64,
        },
        sockets,
    ))
}

/// Fan-out result.
#[derive(Debug, Clone, Copy)]
pub struct FanoutResult {
    /// Event frames delivered per second, summed over sockets.
    pub messages_per_sec: f64,
    /// Events posted per second.
    pub events_per_sec: f64,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// Runs the fan-out loop over `sockets` for about `duration`, posting into `session`.
pub async fn fanout(
    addr: SocketAddr,
    server_pid: u32,
    sockets: Vec<Ws>,
    duration: Duration,
    session: &str,
) -> Result<FanoutResult, String> {
    let n = sockets.len() as u64;
    let delivered = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let delivered = delivered.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message {
                        if text.as_str().starts_with(r#"{"type":"event""#) {
                            delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let result = drive(addr, server_pid, n, &delivered, duration, session).await;
    for reader in readers {
        reader.abort();
    }
    result
}

async fn drive(
    addr: SocketAddr,
    server_pid: u32,
    n: u64,
    delivered: &AtomicU64,
    duration: Duration,
    session: &str,
) -> Result<FanoutResult, String> {
    let mut conn = HttpConn::new(addr);
    let per_round = n * FANOUT_BATCH as u64;
    let wait_for = |target: u64| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        while delivered.load(Ordering::Relaxed) < target {
            if Instant::now() > deadline {
                return Err(format!(
                    "fan-out stalled: {} of {target} frames delivered after 30 s (sockets dropped as too slow?)",
                    delivered.load(Ordering::Relaxed)
                ));
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        Ok(())
    };
    let cpu = CpuWindow::start(server_pid);
    let started = Instant::now();
    let base = delivered.load(Ordering::Relaxed);
    let mut rounds = 0u64;
    while started.elapsed() < duration || rounds == 0 {
        let mut body = Vec::with_capacity(FANOUT_BATCH * 100);
        body.push(b'[');
        for i in 0..FANOUT_BATCH {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(
                format!(
                    r#"{{"sessionId":"{session}","type":"session:updated","summary":"fan-out round {rounds} event {i}"}}"#
                )
                .as_bytes(),
            );
        }
        body.push(b']');
        let response = conn
            .request("POST", "/api/events", &body)
            .await
            .map_err(|e| format!("fan-out post: {e}"))?;
        if response.status != 201 {
            return Err(format!(
                "fan-out post answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ));
        }
        rounds += 1;
        wait_for(base + per_round * (rounds - 1)).await?;
    }
    wait_for(base + per_round * rounds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(FanoutResult {
        messages_per_sec: (per_round * rounds) as f64 / elapsed,
        events_per_sec: (FANOUT_BATCH as u64 * rounds) as f64 / elapsed,
        cpu: cpu.finish(),
    })
}
