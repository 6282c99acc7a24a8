//! Ingest load: `clients` concurrent keep-alive connections, each posting to
//! `POST /api/events` back to back (a new request as soon as the last is answered) for
//! a fixed time, one event or a batch per request. The same load runs against the real
//! server and the bare handler; only 201 answers count.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::http::HttpConn;
use crate::payload;
use crate::procfs::{CpuUse, CpuWindow};

/// What one load run did.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Events acknowledged per second.
    pub events_per_sec: f64,
    /// Requests that were not answered 201.
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// Posts for `duration` from `clients` connections, `batch` events per request, into
/// the given sessions (client k uses session k mod n). Event ids start with `tag`.
pub async fn run(
    addr: SocketAddr,
    server_pid: u32,
    clients: usize,
    batch: usize,
    duration: Duration,
    sessions: &[String],
    tag: &str,
) -> LoadResult {
    let cpu = CpuWindow::start(server_pid);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for k in 0..clients {
        let session = sessions[k % sessions.len().max(1)].clone();
        let tag = format!("{tag}-{k}");
        tasks.push(tokio::spawn(async move {
            let mut conn = HttpConn::new(addr);
            let (mut events, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let body = payload::tool_used_body(&session, &format!("{tag}-{n}"), batch);
                n += 1;
                match conn.request("POST", "/api/events", &body).await {
                    Ok(r) if r.status == 201 => events += batch as u64,
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
            (events, errors, first_error)
        }));
    }
    let (mut events, mut errors, mut first_error) = (0u64, 0u64, None);
    for task in tasks {
        if let Ok((e, err, first)) = task.await {
            events += e;
            errors += err;
            if first_error.is_none() {
                first_error = first;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    LoadResult {
        events_per_sec: events as f64 / elapsed,
        errors,
        first_error,
        cpu: cpu.finish(),
    }
}
