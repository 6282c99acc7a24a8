//! End-to-end latency: events posted at a fixed rate, each carrying a marker
//! (`bench#<index>#`); every subscriber records when each marker reaches it. Two
//! measures of the same receipts: from the POST's HTTP acknowledgement (docs/CONTRACT.md's
//! "POST acknowledged to socket received": the event is durable by then), and from the
//! moment the request is written (so it includes the durable commit with its fsync).
//! The first can be negative for some receipts: the server publishes before it answers.
//!
//! Topics: `global` posts `PUT /api/sessions/{id}` (a `session:updated`, on every
//! socket's global topic); `session` posts a `prompt:submitted` for one session whose
//! topic every subscriber joined.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::http::HttpConn;
use crate::procfs::{CpuUse, CpuWindow};
use crate::stats;
use crate::ws;

/// Which topic the subscribers are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Every socket's global topic.
    Global,
    /// One session's topic.
    Session,
}

impl Topic {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Global => "global",
            Topic::Session => "session",
        }
    }
}

/// Percentiles of one run, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    pub fn of(sample: Vec<f64>) -> Self {
        let s = stats::sorted(sample);
        Self {
            p50: stats::percentile(&s, 50.0),
            p99: stats::percentile(&s, 99.0),
            p999: stats::percentile(&s, 99.9),
            max: s.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// One run's result.
#[derive(Debug, Clone)]
pub struct LatencyResult {
    /// From writing the request to the subscriber reading the frame.
    pub from_send: Percentiles,
    /// From the HTTP acknowledgement to the subscriber reading the frame.
    pub from_ack: Percentiles,
    /// Receipts expected but not seen (should be 0).
    pub lost: u64,
    /// Requests that failed.
    pub errors: u64,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// The marker's index in a frame, if it carries one.
/// The marker's index in an event frame, if it carries one. Only `event` frames count:
/// other frames may quote an event's text later (a session's `progress` frame carries
/// its first prompt), and a marker found there is not that event's delivery.
pub fn event_marker(frame: &str) -> Option<usize> {
    if !frame.starts_with(r#"{"type":"event""#) {
        return None;
    }
    let start = frame.find("bench#")? + "bench#".len();
    let end = start + frame[start..].find('#')?;
    frame[start..end].parse().ok()
}

const SENDERS: usize = 4;

/// One run: `subscribers` sockets, `rate` events per second for `duration`.
pub async fn run(
    addr: SocketAddr,
    server_pid: u32,
    topic: Topic,
    subscribers: usize,
    rate: f64,
    duration: Duration,
    session: &str,
) -> Result<LatencyResult, String> {
    run_across(
        addr,
        addr,
        server_pid,
        topic,
        subscribers,
        rate,
        duration,
        session,
    )
    .await
}

/// [`run`] with the posts going to `post` and the sockets on `listen` (two instances
/// on one NATS stream: POST on A, socket on B). `server_pid` is the one whose CPU is
/// reported.
#[allow(clippy::too_many_arguments)]
pub async fn run_across(
    post: SocketAddr,
    listen: SocketAddr,
    server_pid: u32,
    topic: Topic,
    subscribers: usize,
    rate: f64,
    duration: Duration,
    session: &str,
) -> Result<LatencyResult, String> {
    let addr = post;
    let mut sockets = ws::connect_many(listen, subscribers, 64).await?;
    if topic == Topic::Session {
        futures_util::future::try_join_all(sockets.iter_mut().map(|s| ws::subscribe(s, session)))
            .await?;
    }
    let total = ((rate * duration.as_secs_f64()).round() as usize).max(1);
    let period = Duration::from_secs_f64(1.0 / rate);
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let acked_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let base = Instant::now();
    let cpu = CpuWindow::start(server_pid);
    let start = base + Duration::from_millis(50);
    let read_until = start + duration + Duration::from_secs(5);

    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut receipts: Vec<(u32, u64)> = Vec::with_capacity(total);
                let mut got = vec![false; total];
                while receipts.len() < total {
                    let next = tokio::time::timeout_at(read_until.into(), socket.next()).await;
                    match next {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            let now = base.elapsed().as_nanos() as u64;
                            if let Some(i) =
                                event_marker(text.as_str()).filter(|&i| i < total && !got[i])
                            {
                                got[i] = true;
                                receipts.push((i as u32, now));
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                receipts
            })
        })
        .collect();

    let senders: Vec<_> = (0..SENDERS)
        .map(|j| {
            let (sent_at, acked_at) = (sent_at.clone(), acked_at.clone());
            let session = session.to_owned();
            tokio::spawn(async move {
                let mut conn = HttpConn::new(addr);
                let mut errors = 0u64;
                for i in (j..total).step_by(SENDERS) {
                    tokio::time::sleep_until((start + period * i as u32).into()).await;
                    let (method, path, body) = match topic {
                        Topic::Global => (
                            "PUT",
                            format!("/api/sessions/{session}"),
                            format!(r#"{{"summary":"bench#{i}#"}}"#),
                        ),
                        Topic::Session => (
                            "POST",
                            "/api/events".to_owned(),
                            format!(
                                r#"{{"sessionId":"{session}","type":"prompt:submitted","prompt":"bench#{i}#"}}"#
                            ),
                        ),
                    };
                    sent_at[i].store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    match conn.request(method, &path, body.as_bytes()).await {
                        Ok(r) if r.status < 300 => {
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
    let mut from_send = Vec::with_capacity(total * subscribers);
    let mut from_ack = Vec::with_capacity(total * subscribers);
    for reader in readers {
        let receipts = reader.await.map_err(|e| e.to_string())?;
        for (i, at) in receipts {
            let i = i as usize;
            if i >= total {
                continue;
            }
            let sent = sent_at[i].load(Ordering::Relaxed);
            let acked = acked_at[i].load(Ordering::Relaxed);
            from_send.push((at as f64 - sent as f64) / 1e6);
            if acked > 0 {
                from_ack.push((at as f64 - acked as f64) / 1e6);
            }
        }
    }
    let cpu = cpu.finish();
    let lost = (total * subscribers).saturating_sub(from_send.len()) as u64;
    Ok(LatencyResult {
        from_send: Percentiles::of(from_send),
        from_ack: Percentiles::of(from_ack),
        lost,
        errors,
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::event_marker;

    #[test]
    fn finds_the_marker_in_event_frames_only() {
        assert_eq!(
            event_marker(r#"{"type":"event","event":{"summary":"bench#42#"}}"#),
            Some(42)
        );
        assert_eq!(event_marker(r#"{"type":"event"}"#), None);
        assert_eq!(
            event_marker(r#"{"type":"progress","firstPrompt":"bench#7#"}"#),
            None
        );
    }
}
