//! Search over a large index: a log of conversation events (prompts, the assistant's
//! replies, tool calls, terminal output) written through the server's own store, the
//! real server started on it (its indexer catches the search index up from the log, as
//! it does whenever the index is missing), then `GET /api/search` over HTTP with words
//! of every frequency, one request at a time, timed per request.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use chainwatch::store::{LogWriter, open_sqlite};
use chainwatch_shared::{EventKind, ToolStatus};

use crate::http::HttpConn;
use crate::payload::logged;

/// Events per transaction while filling.
const FILL_BATCH: u64 = 10_000;
/// Sessions the events are spread over.
const SESSIONS: u64 = 1000;
/// A vocabulary of common words (each appears in a large share of the events).
const COMMON: &[&str] = &[
    "the", "test", "fix", "file", "error", "build", "function", "module", "parser", "client",
    "server", "request", "config", "update", "check", "value", "return", "type", "struct", "call",
];

/// Pseudo-random but deterministic (splitmix64), so every run indexes the same text.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A sentence of `words` words: common ones, and rarer `w<n>` words from a vocabulary of
/// 50,000 (Zipf-like: low numbers are frequent).
fn sentence(seed: u64, words: usize) -> String {
    let mut out = String::new();
    for k in 0..words {
        let r = mix(seed.wrapping_mul(31).wrapping_add(k as u64));
        if !out.is_empty() {
            out.push(' ');
        }
        if r % 3 == 0 {
            out.push_str(COMMON[(r / 3) as usize % COMMON.len()]);
        } else {
            // Squaring skews toward small ids: w1 is common, w49999 rare.
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            out.push_str(&format!("w{}", (u * u * 50_000.0) as u64));
        }
    }
    out
}

fn event(i: u64) -> chainwatch::store::LoggedEvent {
    let session = format!("conv-{}", i % SESSIONS);
    let kind = if i < SESSIONS {
        EventKind::SessionStarted {
            cwd: format!("/work/project-{}", i % 50),
            hostname: Some("host-a".into()),
            platform: Some("linux".into()),
            user: Some(format!("dev{}", i % 10)),
            model: None,
            title: Some(sentence(i, 5)),
            source: Some("hook".into()),
            watch: None,
        }
    } else {
        match i % 5 {
            0 => EventKind::PromptSubmitted {
                prompt: sentence(i, 20),
            },
            1 | 2 => EventKind::MessageAssistant {
                text: sentence(i, 40),
                model: Some("claude-sonnet-4-5".into()),
                usage: None,
                cost_usd: None,
                message_id: None,
                step_id: None,
                prompt_id: None,
                superseded: None,
            },
            3 => EventKind::ToolUsed {
                tool_name: "Bash".into(),
                tool_use_id: Some(format!("t{i}")),
                status: ToolStatus::Started,
                input: Some(
                    serde_json::json!({"command": format!("cargo test {}", sentence(i, 4))}),
                ),
                response: None,
                error: None,
                step_id: None,
                duration_ms: None,
            },
            _ => EventKind::TerminalOutput {
                text: sentence(i, 15),
                stream: None,
                tool_use_id: None,
                step_id: None,
            },
        }
    };
    logged(i + 1, &session, format!("conv-{i}"), kind)
}

/// Writes `count` conversation events into a new log at `db`; returns how long it took.
pub fn fill(db: &Path, count: u64) -> Result<Duration, String> {
    let started = Instant::now();
    let (mut writer, _reader) = open_sqlite(db).map_err(|e| e.to_string())?;
    let mut next = 0;
    while next < count {
        let end = (next + FILL_BATCH).min(count);
        let batch: Vec<_> = (next..end).map(event).collect();
        writer.append(&batch).map_err(|e| e.to_string())?;
        next = end;
    }
    Ok(started.elapsed())
}

/// Waits until the index holds the last events of the log: a search limited to the
/// newest 200 seqs finds something (the indexer commits whole pages, in seq order).
pub async fn wait_indexed(
    addr: SocketAddr,
    count: u64,
    limit: Duration,
) -> Result<Duration, String> {
    wait_indexed_word(addr, COMMON[0], count, limit).await
}

/// [`wait_indexed`] for a log whose newest 200 events hold `word` (the catch-up log's
/// summaries).
pub async fn wait_indexed_word(
    addr: SocketAddr,
    word: &str,
    count: u64,
    limit: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut conn = HttpConn::new(addr);
    let since = count.saturating_sub(200);
    let path = format!("/api/search?q={word}&since={since}&limit=1");
    loop {
        let response = conn
            .request("GET", &path, b"")
            .await
            .map_err(|e| e.to_string())?;
        if response.status == 200 && String::from_utf8_lossy(&response.body).contains("\"seq\"") {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "the search index did not catch up within {} s",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The queries timed: common words, rarer ones, two-word ANDs and prefixes.
pub fn queries(n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|k| {
            let r = mix(k ^ 0xabcdef);
            match k % 4 {
                0 => COMMON[r as usize % COMMON.len()].to_owned(),
                1 => format!("w{}", r % 50_000),
                2 => format!("{}%20w{}", COMMON[r as usize % COMMON.len()], r % 2000),
                _ => format!("w{}", r % 500),
            }
        })
        .collect()
}

/// Times each query (default limit of 50 hits); returns the latencies in ms and the hits.
pub async fn run(addr: SocketAddr, queries: &[String]) -> Result<(Vec<f64>, u64), String> {
    let mut conn = HttpConn::new(addr);
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0u64;
    for q in queries {
        let started = Instant::now();
        let response = conn
            .request("GET", &format!("/api/search?q={q}"), b"")
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if response.status != 200 {
            return Err(format!("search {q}: {}", response.status));
        }
        hits += String::from_utf8_lossy(&response.body)
            .matches("\"seq\"")
            .count() as u64;
    }
    Ok((times, hits))
}

/// Which expression the in-process reference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expression {
    /// The server's: the last word expanded by `chainwatch::search::vocab`.
    Server,
    /// FTS5's own prefix query for the last word (`"w"*`), as the server ran it before
    /// the vocabulary: FTS5 merges every matching term's postings before the first row.
    Fts5Prefix,
}

/// The same queries run straight on the index file (`search.db`) in this process, with
/// the server's SQL: the engine's own time, without HTTP or the server. Returns the
/// latency of each query in ms.
pub fn direct(
    index: &Path,
    queries: &[String],
    expression: Expression,
) -> Result<Vec<f64>, String> {
    let conn =
        rusqlite::Connection::open_with_flags(index, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let sql = "SELECT d.seq, d.session_id, d.type, d.timestamp, snippet(fts, 0, '', '', '…', 24)
               FROM fts JOIN docs d ON d.seq = fts.rowid
               WHERE fts MATCH ?1 AND fts.rowid > 0 ORDER BY fts.rowid DESC LIMIT 50";
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let text = q.replace("%20", " ");
        let started = Instant::now();
        let expr = match expression {
            Expression::Server => chainwatch::search::vocab::match_expression(&conn, &text)
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
            Expression::Fts5Prefix => {
                let words: Vec<String> = text.split(' ').map(|w| format!("\"{w}\"")).collect();
                format!("{}*", words.join(" "))
            }
        };
        let mut statement = conn.prepare_cached(sql).map_err(|e| e.to_string())?;
        let mut rows = statement.query([&expr]).map_err(|e| e.to_string())?;
        while rows.next().map_err(|e| e.to_string())?.is_some() {}
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_deterministic_and_searchable() {
        assert_eq!(sentence(7, 10), sentence(7, 10));
        assert_ne!(sentence(7, 10), sentence(8, 10));
        assert!(sentence(1, 40).contains("the") || sentence(2, 40).contains("the"));
    }
}
