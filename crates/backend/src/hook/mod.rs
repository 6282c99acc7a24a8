//! `chainwatch hook`: the Claude Code side of Chainwatch. Claude Code runs it for every
//! hook event with the event's JSON on stdin; it reports the event to the server and,
//! for the events that can steer Claude (PreToolUse, PermissionRequest, Stop), answers
//! on stdout (JSON, exit 0) or, to wake Claude from a background Stop hook, on stderr
//! with exit code 2.
//!
//! It never breaks or slows the agent: it exits 0 and prints nothing unless it has a
//! decision, bounds every phase in time (a watchdog ends the process if anything hangs),
//! and when the server is down it spools the event to disk; a later run delivers the
//! spool in order, exactly once thanks to deterministic event ids.
//!
//! Modules: `payload` (reading a payload), `ids` (deterministic ids), `map` (payload →
//! events), `client` (HTTP), `spool` (undelivered events), `report` (delivery),
//! `steer` (answers), `install` (`chainwatch hooks install`), `config` (env vars),
//! `transcript` (the assistant's messages and token usage from the transcript).

pub mod client;
pub mod config;
pub mod ids;
pub mod install;
pub mod map;
pub mod payload;
pub mod report;
pub mod spool;
pub mod steer;
pub mod telemetry;
pub mod transcript;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use client::Client;
use config::HookConfig;
use map::Origin;
use payload::{Capture, Payload};
use report::{Reported, Reporter};
use spool::Spool;
use steer::Steering;

/// Time the watchdog allows beyond the configured bounds before it ends the process.
const WATCHDOG_SLACK: Duration = Duration::from_secs(2);

/// What one run did, for tests and for `main`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// What became of the event.
    pub reported: Reported,
    /// The answer given, if any.
    pub answer: steer::Answer,
}

/// Runs the hook on one payload: report, then steer. Never fails; problems are logged.
pub fn run(config: &HookConfig, payload: Payload, origin: &Origin) -> Outcome {
    let capture = Capture::new(payload);
    let client = Client::new(config);
    let spool = Spool::new(config.spool_dir.clone(), config.spool_max_bytes)
        .with_flush_bound(config.timeout);
    let reporter = Reporter {
        client: &client,
        config,
        origin,
    };
    let reported = reporter.report(&spool, &capture, Instant::now() + config.timeout);
    if reported == Reported::Delivered && config.transcript_max_bytes > 0 {
        // One bound of the hook's budget (see `budget`).
        transcript::report(
            &client,
            &config.spool_dir,
            config.transcript_max_bytes,
            &capture.payload,
            Instant::now() + config.timeout,
        );
    }
    let answer = if reported == Reported::Delivered {
        Steering {
            client: &client,
            config,
            capture: &capture,
        }
        .decide()
    } else {
        None
    };
    Outcome { reported, answer }
}

/// The longest this event may keep the hook busy: the reporting bound, plus the wait of
/// the event that waits for a person, plus one more bound for the quick steering calls
/// (and one for reading the transcript).
fn budget(config: &HookConfig, payload: &Payload) -> Duration {
    let wait = match payload.event_name() {
        "PermissionRequest" if payload.tool_name() == Some("AskUserQuestion") => {
            config.question_wait
        }
        "PermissionRequest" => config.permission_wait,
        "Stop" => config.stop_wait,
        "PreToolUse" => config.pause_wait,
        _ => Duration::ZERO,
    };
    config.timeout * 4 + wait
}

/// Ends the process with exit code 0 once its deadline passes; the deadline can move.
struct Watchdog {
    start: Instant,
    deadline_ms: Arc<AtomicU64>,
}

impl Watchdog {
    fn start(limit: Duration) -> Self {
        let start = Instant::now();
        let deadline_ms = Arc::new(AtomicU64::new(millis(limit)));
        let shared = deadline_ms.clone();
        std::thread::spawn(move || {
            loop {
                let deadline = Duration::from_millis(shared.load(Ordering::Relaxed));
                let elapsed = start.elapsed();
                if elapsed >= deadline {
                    tracing::warn!(
                        elapsed_ms = millis(elapsed),
                        "chainwatch hook ran out of time; exiting without an answer"
                    );
                    std::process::exit(0);
                }
                std::thread::sleep(deadline - elapsed);
            }
        });
        Self { start, deadline_ms }
    }

    fn extend_to(&self, limit: Duration) {
        let at = millis(self.start.elapsed() + limit);
        self.deadline_ms.fetch_max(at, Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `chainwatch hook`: reads stdin, runs, prints the answer. Exits 0, or 2 with a text on
/// stderr that wakes Claude (Stop).
pub fn main() -> ExitCode {
    let config = HookConfig::from_env();
    let watchdog = Watchdog::start(config.timeout + WATCHDOG_SLACK);
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        tracing::warn!(
            "chainwatch hook reads a Claude Code hook payload on stdin; install it with `chainwatch hooks install`"
        );
        return ExitCode::SUCCESS;
    }
    let payload = match Payload::read(stdin.lock()) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(error = %e, "nothing reported");
            return ExitCode::SUCCESS;
        }
    };
    // Claude Code fires MessageDisplay for every piece of text it shows; only the final
    // one of a message is worth a record.
    if payload.event_name() == "MessageDisplay" && !payload.flag("final") {
        return ExitCode::SUCCESS;
    }
    watchdog.extend_to(budget(&config, &payload) + WATCHDOG_SLACK);
    let outcome = std::panic::catch_unwind(|| run(&config, payload, &Origin::current()));
    match outcome {
        Ok(Outcome {
            answer: Some(steer::Reply::Json(answer)),
            ..
        }) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{answer}");
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Ok(Outcome {
            answer: Some(steer::Reply::Rewake(text)),
            ..
        }) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
            let _ = err.flush();
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}
