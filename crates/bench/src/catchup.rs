//! A large log: filling it, a client catching up over it, and the server starting on it.
//!
//! The log is written straight through the server's own store (`chainwatch::store`:
//! the same schema, pragmas and writer the commit thread uses), 10,000 events per
//! fsynced transaction: far faster than posting a million events, and the file is
//! exactly what the server would have written. Every event is on the global topic
//! (sessions started, updated 98 times and ended), so a `resume` from 0 replays all.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use chainwatch::store::{LogWriter, open_sqlite};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::payload;
use crate::procfs::{CpuUse, CpuWindow};
use crate::ws;

/// Events per transaction while filling.
const FILL_BATCH: u64 = 10_000;

/// Writes `count` global events into a new log at `db`; returns how long it took.
pub fn fill(db: &Path, count: u64) -> Result<Duration, String> {
    let started = Instant::now();
    let (mut writer, _reader) = open_sqlite(db).map_err(|e| e.to_string())?;
    let mut next = 0;
    while next < count {
        let end = (next + FILL_BATCH).min(count);
        let batch: Vec<_> = (next..end).map(payload::catch_up_event).collect();
        writer.append(&batch).map_err(|e| e.to_string())?;
        next = end;
    }
    Ok(started.elapsed())
}

/// One catch-up run's result.
#[derive(Debug, Clone, Copy)]
pub struct CatchUpResult {
    /// Events received per second, from sending `resume` to the last event.
    pub events_per_sec: f64,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
}

/// Opens a socket, resumes from seq 0 and reads until `expected` events arrived.
pub async fn catch_up(
    addr: SocketAddr,
    server_pid: u32,
    expected: u64,
) -> Result<CatchUpResult, String> {
    let (mut socket, _hello) = ws::connect(addr).await?;
    let cpu = CpuWindow::start(server_pid);
    let started = Instant::now();
    ws::send(&mut socket, r#"{"type":"resume","since":0}"#.to_owned()).await?;
    let mut events = 0u64;
    while events < expected {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let text = text.as_str();
                if text.starts_with(r#"{"type":"event""#) {
                    events += 1;
                } else if text.starts_with(r#"{"type":"resync""#)
                    || text.starts_with(r#"{"type":"error""#)
                {
                    return Err(format!("catch-up refused after {events} events: {text}"));
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => {
                return Err(format!("catch-up socket error after {events} events: {e}"));
            }
            Ok(None) => return Err(format!("catch-up socket closed after {events} events")),
            Err(_) => {
                return Err(format!(
                    "catch-up stalled after {events} of {expected} events"
                ));
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(CatchUpResult {
        events_per_sec: events as f64 / elapsed,
        cpu: cpu.finish(),
    })
}
