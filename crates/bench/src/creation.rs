//! The seed's own workload: sessions created with `POST /api/sessions`.
//!
//! [`at_rate`] creates sessions at a steady rate while `subscribers` sockets sit on the
//! global topic, and times each creation to the moment its `session:started` frame (it
//! carries the marker `bench#<index>#` in its title) reached the *last* of the sockets:
//! from writing the POST (includes the durable commit) and from reading its 201. It also
//! counts every event frame the sockets received per creation, so a creation that costs
//! more than one global event shows up as more than one frame.
//!
//! [`load`] is the closed-loop creation load: `clients` keep-alive connections creating
//! sessions back to back, with each request's latency (written → 201 read).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::http::HttpConn;
use crate::latency::{Percentiles, event_marker};
use crate::procfs::{CpuUse, CpuWindow};
use crate::ws;

/// A `POST /api/sessions` body for session `id` whose title carries `marker`. The cwd is
/// not a directory of this host (agents on other machines report to a shared server).
pub fn body(id: &str, marker: usize) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","cwd":"/bench/{id}","hostname":"bench","user":"bench","title":"bench#{marker}#"}}"#
    )
    .into_bytes()
}

/// One steady-rate run's result.
#[derive(Debug, Clone)]
pub struct RateResult {
    /// POST written → `session:started` read on the last socket.
    pub from_send: Percentiles,
    /// 201 read → `session:started` read on the last socket.
    pub from_ack: Percentiles,
    /// POST written → 201 read (the commit's own latency, fsync included).
    pub request: Percentiles,
    /// Event frames each socket received per created session.
    pub frames_per_creation: f64,
    /// Receipts of `session:started` expected but not seen (should be 0).
    pub lost: u64,
    /// Requests not answered 201.
    pub errors: u64,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// Senders posting the creations; each owns one keep-alive connection.
const SENDERS: usize = 4;

/// Creates `rate` sessions per second for `duration` with `subscribers` sockets on the
/// global topic. Session ids start with `tag`.
pub async fn at_rate(
    addr: SocketAddr,
    server_pid: u32,
    subscribers: usize,
    rate: f64,
    duration: Duration,
    tag: &str,
) -> Result<RateResult, String> {
    let sockets = ws::connect_many(addr, subscribers, 64).await?;
    let total = ((rate * duration.as_secs_f64()).round() as usize).max(1);
    let period = Duration::from_secs_f64(1.0 / rate);
    let stamps =
        |n: usize| -> Arc<Vec<AtomicU64>> { Arc::new((0..n).map(|_| AtomicU64::new(0)).collect()) };
    let (sent_at, acked_at, last_at) = (stamps(total), stamps(total), stamps(total));
    let base = Instant::now();
    let cpu = CpuWindow::start(server_pid);
    let start = base + Duration::from_millis(50);
    let read_until = start + duration + Duration::from_secs(5);
    // Frames that follow a creation (a second event of it) arrive within this.
    let linger = Duration::from_millis(500);

    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let last_at = last_at.clone();
            tokio::spawn(async move {
                let (mut seen, mut frames) = (0usize, 0u64);
                let mut got = vec![false; total];
                loop {
                    let until = if seen < total {
                        read_until
                    } else {
                        Instant::now() + linger
                    };
                    match tokio::time::timeout_at(until.into(), socket.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            let now = base.elapsed().as_nanos() as u64;
                            let text = text.as_str();
                            if !text.starts_with(r#"{"type":"event""#) {
                                continue;
                            }
                            frames += 1;
                            if let Some(i) = event_marker(text).filter(|&i| i < total && !got[i]) {
                                got[i] = true;
                                seen += 1;
                                last_at[i].fetch_max(now, Ordering::Relaxed);
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                (seen, frames)
            })
        })
        .collect();

    let senders: Vec<_> = (0..SENDERS)
        .map(|j| {
            let (sent_at, acked_at) = (sent_at.clone(), acked_at.clone());
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let mut conn = HttpConn::new(addr);
                let mut errors = 0u64;
                for i in (j..total).step_by(SENDERS) {
                    tokio::time::sleep_until((start + period * i as u32).into()).await;
                    let request = body(&format!("{tag}-{i}"), i);
                    sent_at[i].store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    match conn.request("POST", "/api/sessions", &request).await {
                        Ok(r) if r.status == 201 => {
                            acked_at[i].store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        }
                        _ => errors += 1,
                    }
                }
                errors
            })
        })
        .collect();

    let mut errors = 0;
    for sender in senders {
        errors += sender.await.unwrap_or(1);
    }
    let (mut seen, mut frames) = (0usize, 0u64);
    for reader in readers {
        let (s, f) = reader.await.map_err(|e| e.to_string())?;
        seen += s;
        frames += f;
    }
    let cpu = cpu.finish();
    let (mut from_send, mut from_ack, mut request) = (vec![], vec![], vec![]);
    for i in 0..total {
        let (sent, acked) = (
            sent_at[i].load(Ordering::Relaxed),
            acked_at[i].load(Ordering::Relaxed),
        );
        let last = last_at[i].load(Ordering::Relaxed);
        if acked > 0 {
            request.push((acked as f64 - sent as f64) / 1e6);
        }
        if last == 0 {
            continue;
        }
        from_send.push((last as f64 - sent as f64) / 1e6);
        if acked > 0 {
            from_ack.push((last as f64 - acked as f64) / 1e6);
        }
    }
    let expected = total * subscribers;
    Ok(RateResult {
        from_send: Percentiles::of(from_send),
        from_ack: Percentiles::of(from_ack),
        request: Percentiles::of(request),
        frames_per_creation: frames as f64 / expected.max(1) as f64,
        lost: expected.saturating_sub(seen) as u64,
        errors,
        cpu,
    })
}

/// One closed-loop creation load's result.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Sessions created (201) per second.
    pub per_sec: f64,
    /// Request latency, written → 201 read.
    pub latency: Percentiles,
    /// Requests not answered 201.
    pub errors: u64,
    /// The first error seen.
    pub first_error: Option<String>,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// `clients` connections creating sessions back to back for `duration`; ids start with
/// `tag`. Against the bare handler the same bodies go to its `POST /api/sessions`.
pub async fn load(
    addr: SocketAddr,
    server_pid: u32,
    clients: usize,
    duration: Duration,
    tag: &str,
) -> LoadResult {
    let cpu = CpuWindow::start(server_pid);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|k| {
            let tag = format!("{tag}-{k}");
            tokio::spawn(async move {
                let mut conn = HttpConn::new(addr);
                let mut latencies = Vec::with_capacity(16 * 1024);
                let (mut errors, mut first_error) = (0u64, None);
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let request = body(&format!("{tag}-{n}"), n);
                    n += 1;
                    let sent = Instant::now();
                    match conn.request("POST", "/api/sessions", &request).await {
                        Ok(r) if r.status == 201 => {
                            latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                        }
                        Ok(r) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{}: {}", r.status, String::from_utf8_lossy(&r.body))
                            });
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0u64, None);
    for task in tasks {
        if let Ok((l, e, first)) = task.await {
            latencies.extend(l);
            errors += e;
            if first_error.is_none() {
                first_error = first;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    LoadResult {
        per_sec: latencies.len() as f64 / elapsed,
        latency: Percentiles::of(latencies),
        errors,
        first_error,
        cpu: cpu.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::body;
    use crate::latency::event_marker;

    #[test]
    fn the_body_carries_its_marker() {
        let text = String::from_utf8(body("s-1", 42)).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(value["id"], "s-1");
        let frame = format!(r#"{{"type":"event","event":{text}}}"#);
        assert_eq!(event_marker(&frame), Some(42));
        assert_eq!(event_marker(r#"{"type":"event"}"#), None);
    }
}
