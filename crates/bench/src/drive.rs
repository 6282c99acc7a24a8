//! `chainwatch-bench drive ADDR PID KIND COUNT [SOCKETS]`: a fixed amount of one load
//! against a server that is already running (under `valgrind --tool=callgrind` or
//! `perf record`), for before/after profiles of one path:
//!
//! - `create`: COUNT session creations at 100/s with SOCKETS sockets on the global topic;
//! - `event`: COUNT single-event `POST /api/events` into one session, one client, back
//!   to back;
//! - `events`: COUNT single-event `POST /api/events` from CLIENTS clients (the 4th
//!   argument, default 64), each in its own session, back to back (the bench's
//!   single-event load, for a fixed count);
//! - `load`: COUNT seconds of session creations back to back from CLIENTS clients
//!   (default 64; the bench's creation load), printing the rate and request latency;
//! - `batches`: COUNT seconds of batches of 100 events from CLIENTS clients (default 8),
//!   each in its own session (the bench's batch load), printing events/s and CPU;
//! - `resume`: one socket resumes the global topic from seq 0 and reads COUNT events
//!   (the bench's catch-up client, on a log written by `chainwatch-bench fill`),
//!   printing events/s and CPU.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::creation;
use crate::http::HttpConn;
use crate::payload;

/// Runs the load; prints what it did.
pub async fn run(args: &[String]) -> Result<(), String> {
    let usage = || {
        "usage: chainwatch-bench drive ADDR PID create|event|events|load|batches|resume COUNT [SOCKETS|CLIENTS]"
            .to_owned()
    };
    let addr: SocketAddr = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(usage)?;
    let pid: u32 = args.get(1).and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let kind = args.get(2).ok_or_else(usage)?;
    let count: usize = args.get(3).and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let sockets: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0);
    let tag = format!("drive-{}", std::process::id());
    let started = Instant::now();
    match kind.as_str() {
        "create" => {
            let duration = Duration::from_secs_f64(count as f64 / 100.0);
            let r = creation::at_rate(addr, pid, sockets, 100.0, duration, &tag).await?;
            eprintln!(
                "{count} creations, {sockets} sockets: request p50/p99 {:.2}/{:.2} ms, send → last p50/p99/p99.9 {:.2}/{:.2}/{:.2} ms, 201 → last p50/p99/p99.9 {:.2}/{:.2}/{:.2} ms, CPU server/client {:.2}/{:.2}, {:.2} frames per creation, lost {}, errors {}",
                r.request.p50,
                r.request.p99,
                r.from_send.p50,
                r.from_send.p99,
                r.from_send.p999,
                r.from_ack.p50,
                r.from_ack.p99,
                r.from_ack.p999,
                r.cpu.server,
                r.cpu.client,
                r.frames_per_creation,
                r.lost,
                r.errors
            );
        }
        "event" => {
            let mut conn = HttpConn::new(addr);
            let session = tag.clone();
            let body = creation::body(&session, 0);
            let created = conn
                .request("POST", "/api/sessions", &body)
                .await
                .map_err(|e| e.to_string())?;
            if created.status != 201 {
                return Err(format!("create: {}", created.status));
            }
            for i in 0..count {
                let body = payload::tool_used_body(&session, &format!("{tag}-{i}"), 1);
                let r = conn
                    .request("POST", "/api/events", &body)
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status != 201 {
                    return Err(format!("event {i}: {}", r.status));
                }
            }
            eprintln!("{count} single events posted");
        }
        "events" => {
            let clients = if sockets == 0 { 64 } else { sockets };
            let mut tasks = Vec::new();
            for c in 0..clients {
                let session = format!("{tag}-{c}");
                let share = count / clients + usize::from(c < count % clients);
                tasks.push(tokio::spawn(async move {
                    let mut conn = HttpConn::new(addr);
                    let created = conn
                        .request("POST", "/api/sessions", &creation::body(&session, 0))
                        .await
                        .map_err(|e| e.to_string())?;
                    if created.status != 201 {
                        return Err(format!("create: {}", created.status));
                    }
                    for i in 0..share {
                        let body = payload::tool_used_body(&session, &format!("{session}-{i}"), 1);
                        let r = conn
                            .request("POST", "/api/events", &body)
                            .await
                            .map_err(|e| e.to_string())?;
                        if r.status != 201 {
                            return Err(format!("event {i}: {}", r.status));
                        }
                    }
                    Ok::<(), String>(())
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())??;
            }
            eprintln!("{count} single events posted by {clients} clients");
        }
        "load" => {
            let clients = if sockets == 0 { 64 } else { sockets };
            let duration = Duration::from_secs(count as u64);
            let r = creation::load(addr, pid, clients, duration, &tag).await;
            eprintln!(
                "session creations from {clients} clients: {:.0}/s, request p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms, {} errors ({:?}), server CPU {:?}",
                r.per_sec,
                r.latency.p50,
                r.latency.p99,
                r.latency.p999,
                r.latency.max,
                r.errors,
                r.first_error,
                r.cpu
            );
        }
        "batches" => {
            let clients = if sockets == 0 { 8 } else { sockets };
            let sessions: Vec<String> = (0..clients).map(|c| format!("{tag}-{c}")).collect();
            crate::create_sessions(addr, &sessions).await?;
            let duration = Duration::from_secs(count as u64);
            let r = crate::ingest::run(addr, pid, clients, 100, duration, &sessions, &tag).await;
            eprintln!(
                "batches of 100 from {clients} clients: {:.0} events/s, {} errors ({:?}), server CPU {:?}",
                r.events_per_sec, r.errors, r.first_error, r.cpu
            );
        }
        "resume" => {
            let r = crate::catchup::catch_up(addr, pid, count as u64).await?;
            eprintln!(
                "caught up {count} events: {:.0} events/s, CPU {:?}",
                r.events_per_sec, r.cpu
            );
        }
        _ => return Err(usage()),
    }
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
