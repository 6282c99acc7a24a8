//! `chainwatch-bench`: the load generator behind `cargo xtask bench [--quick]`. It
//! starts the real release `chainwatch serve` on temporary data dirs and free ports and
//! measures durable ingest, end-to-end latency, fan-out, memory per socket, catch-up
//! and start-up over a million events, and the hook's wall time; against references
//! measured in the same run (a bare actix-web handler, raw SQLite batch inserts, and the
//! peer: a Bun + SQLite hook dashboard, `crates/bench/peer`, installed with npm). Each
//! figure is the median of several runs with min–max. It prints a Markdown table and
//! writes JSON to `target/bench/<timestamp>.json`.
//!
//! Usage: `chainwatch-bench [--quick] [--clients N] [--subscribers N,…] [--rate EVENTS_PER_SEC] [--nats-join-events N] [--bin PATH] [--out DIR] [--only SECTION,…]`,
//! sections `ingest`, `creation` (the seed's workload: session creations), `latency`, `sockets`, `catchup`, `hook`, `nats` (instances on one NATS JetStream stream, skipped without nats-server); `chainwatch-bench
//! bare-server` runs the reference handler (the bench starts it itself);
//! `chainwatch-bench fill DIR COUNT` writes the catch-up log into DIR (for profiling);
//! `chainwatch-bench drive ADDR PID create|event|events|load|batches|resume COUNT [SOCKETS|CLIENTS]` runs a fixed load
//! against a running server (for profiles, see `drive`).

mod bare;
mod catchup;
mod creation;
mod creation_section;
mod drive;
mod hook;
mod http;
mod ingest;
mod latency;
mod machine;
mod nats;
mod nats_raw;
mod nats_section;
mod payload;
mod peer;
mod procfs;
mod report;
mod search;
mod server;
mod sockets;
mod sqlite_ref;
mod stats;
mod ws;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use latency::Topic;
use report::{Figure, Target, Unit};
use server::Server;

/// Loads and repetitions of one bench mode.
#[derive(Debug, Clone)]
struct Plan {
    name: &'static str,
    runs: usize,
    ingest: Duration,
    warmup: Duration,
    single_clients: usize,
    single_clients_high: usize,
    batch_clients: usize,
    batch: usize,
    latency: Duration,
    latency_rate: f64,
    latency_subscribers: Vec<usize>,
    fanout: Duration,
    fanout_sockets: Vec<usize>,
    catch_up_events: u64,
    /// Events in the stream an instance joins (`--nats-join-events`; default:
    /// `catch_up_events`).
    nats_join_events: Option<u64>,
    search_events: u64,
    search_queries: usize,
    hook_calls: usize,
    /// Sessions created per second in the seed's workload (`creation`).
    creation_rate: f64,
    /// How long sockets sit idle before the memory reading.
    settle: Duration,
}

impl Plan {
    fn full() -> Self {
        Self {
            name: "full",
            runs: 3,
            ingest: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            single_clients: 64,
            single_clients_high: 256,
            batch_clients: 8,
            batch: 100,
            latency: Duration::from_secs(5),
            latency_rate: 50.0,
            latency_subscribers: vec![1, 100, 1000],
            fanout: Duration::from_secs(5),
            fanout_sockets: vec![1000, 10_000],
            catch_up_events: 1_000_000,
            nats_join_events: None,
            search_events: 1_000_000,
            search_queries: 400,
            hook_calls: 100,
            creation_rate: 100.0,
            settle: Duration::from_secs(1),
        }
    }

    fn quick() -> Self {
        Self {
            name: "quick",
            runs: 3,
            ingest: Duration::from_millis(500),
            warmup: Duration::from_millis(300),
            latency: Duration::from_millis(600),
            fanout: Duration::from_millis(600),
            fanout_sockets: vec![1000, 10_000],
            catch_up_events: 100_000,
            search_events: 100_000,
            search_queries: 100,
            hook_calls: 20,
            settle: Duration::from_millis(400),
            ..Self::full()
        }
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "mode": self.name,
            "runs": self.runs,
            "ingestSeconds": self.ingest.as_secs_f64(),
            "singleClients": [self.single_clients, self.single_clients_high],
            "batchClients": self.batch_clients,
            "batch": self.batch,
            "latencySeconds": self.latency.as_secs_f64(),
            "latencyRatePerSec": self.latency_rate,
            "latencySubscribers": self.latency_subscribers,
            "fanoutSeconds": self.fanout.as_secs_f64(),
            "fanoutSockets": self.fanout_sockets,
            "fanoutBatch": sockets::FANOUT_BATCH,
            "catchUpEvents": self.catch_up_events,
            "searchEvents": self.search_events,
            "searchQueriesPerRun": self.search_queries,
            "hookCallsPerRun": self.hook_calls,
            "creationRatePerSec": self.creation_rate,
        })
    }
}

/// The sections `--only` can pick.
const SECTIONS: &[&str] = &[
    "ingest", "creation", "latency", "sockets", "catchup", "search", "hook", "nats",
];

struct Options {
    plan: Plan,
    bin: PathBuf,
    out: PathBuf,
    only: Option<Vec<String>>,
}

fn usage() -> String {
    "usage: chainwatch-bench [--quick] [--clients N] [--subscribers N,…] [--rate EVENTS_PER_SEC] [--nats-join-events N] [--bin PATH] [--out DIR] [--only ingest,creation,latency,sockets,catchup,search,hook,nats]\n       chainwatch-bench bare-server\n       chainwatch-bench fill DIR COUNT\n       chainwatch-bench drive ADDR PID create|event|events|load|batches|resume COUNT [SOCKETS|CLIENTS]".into()
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let quick = args.iter().any(|a| a == "--quick");
    let mut options = Options {
        plan: if quick { Plan::quick() } else { Plan::full() },
        bin: exe_dir.join("chainwatch"),
        out: exe_dir
            .parent()
            .map_or_else(|| PathBuf::from("bench"), |t| t.join("bench")),
        only: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {}
            "--clients" => {
                options.plan.single_clients =
                    args.next().and_then(|n| n.parse().ok()).ok_or_else(usage)?;
            }
            "--subscribers" => {
                options.plan.latency_subscribers = args
                    .next()
                    .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
                    .ok_or_else(usage)?;
            }
            "--rate" => {
                options.plan.latency_rate = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|r: &f64| *r > 0.0)
                    .ok_or_else(usage)?;
            }
            "--nats-join-events" => {
                options.plan.nats_join_events =
                    Some(args.next().and_then(|n| n.parse().ok()).ok_or_else(usage)?);
            }
            "--bin" => options.bin = args.next().ok_or_else(usage)?.into(),
            "--out" => options.out = args.next().ok_or_else(usage)?.into(),
            "--only" => {
                let sections: Vec<String> = args
                    .next()
                    .ok_or_else(usage)?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                if let Some(unknown) = sections.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    return Err(format!("unknown section {unknown:?}\n{}", usage()));
                }
                options.only = Some(sections);
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(options)
}

/// Progress goes to stderr; the table and the JSON path to stdout.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("[bench] {}", format!($($arg)*)) };
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bare-server") {
        return match bare::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bare server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("drive") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build();
        let result = match runtime {
            Ok(runtime) => runtime.block_on(drive::run(&args[1..])),
            Err(e) => Err(e.to_string()),
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("drive: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("fill") {
        // `fill DIR COUNT`: writes the catch-up log into DIR, for profiling by hand.
        let (Some(dir), Some(count)) = (args.get(1), args.get(2).and_then(|c| c.parse().ok()))
        else {
            eprintln!("usage: chainwatch-bench fill DIR COUNT");
            return ExitCode::FAILURE;
        };
        let db = Path::new(dir).join("chainwatch.db");
        return match std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| catchup::fill(&db, count))
        {
            Ok(took) => {
                eprintln!("wrote {count} events to {} in {took:?}", db.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("fill: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // On ctrl-c or SIGTERM the bench future is dropped, which stops the servers it
    // started and removes its temp dirs.
    let result = runtime.block_on(async {
        tokio::select! {
            result = bench(options) => result,
            () = interrupted() => Err("interrupted; servers stopped".into()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Everything measured, in report order, plus notes.
#[derive(Default)]
struct Results {
    figures: Vec<Figure>,
    creation_rows: Vec<creation_section::CreationRow>,
    latency_rows: Vec<LatencyRow>,
    notes: Vec<String>,
}

/// One line of the latency table: medians over runs, in ms.
struct LatencyRow {
    topic: &'static str,
    subscribers: usize,
    /// From the HTTP acknowledgement: p50, p99, p99.9, max.
    ack: [f64; 4],
    /// From writing the request (includes the durable commit): p50, p99, p99.9, max.
    send: [f64; 4],
    server_cpu: f64,
    client_cpu: f64,
}

/// The latency table (Markdown).
fn latency_table(rows: &[LatencyRow], rate: f64) -> String {
    let ms = |v: f64| Unit::Millis.format(v);
    let mut out = format!(
        "Latency at {rate} events/s, medians of the runs' percentiles; \"ack\" from the POST's HTTP answer (after fsync), \"send\" from writing the POST (includes the fsync):\n\n\
         | topic | subscribers | ack p50 | ack p99 | ack p99.9 | ack max | send p50 | send p99 | send p99.9 | send max | CPU server / client |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} / {:.2} |\n",
            r.topic,
            r.subscribers,
            ms(r.ack[0]),
            ms(r.ack[1]),
            ms(r.ack[2]),
            ms(r.ack[3]),
            ms(r.send[0]),
            ms(r.send[1]),
            ms(r.send[2]),
            ms(r.send[3]),
            r.server_cpu,
            r.client_cpu
        ));
    }
    out
}

fn cpu_detail(server: &[f64], client: &[f64]) -> String {
    format!(
        "CPU (cores, median): server {:.2}, bench client {:.2}",
        stats::summarize(server).median,
        stats::summarize(client).median
    )
}

async fn bench(options: Options) -> Result<(), String> {
    let plan = options.plan.clone();
    let wants = |section: &str| {
        options
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == section))
    };
    if !options.bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p chainwatch` (or pass --bin)",
            options.bin.display()
        ));
    }
    let fd_limit = rlimit::increase_nofile_limit(u64::MAX).map_err(|e| e.to_string())?;
    let machine = machine::Machine::detect();
    progress!("{} mode on {}", plan.name, machine.describe());
    progress!(
        "server binary {}; fd limit {fd_limit}",
        options.bin.display()
    );
    let scratch = tempfile::Builder::new()
        .prefix("chainwatch-bench-")
        .tempdir()
        .map_err(|e| format!("no temp dir: {e}"))?;
    let started = Instant::now();
    let mut results = Results::default();

    if wants("ingest") {
        ingest_section(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("creation") {
        creation_section::run(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("latency") {
        latency_section(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("sockets") {
        sockets_section(&options, &plan, scratch.path(), fd_limit, &mut results).await?;
    }
    if wants("catchup") {
        catch_up_section(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("search") {
        search_section(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("hook") {
        hook_section(&options, &plan, scratch.path(), &mut results).await?;
    }
    if wants("nats") {
        nats_section::run(&options, &plan, scratch.path(), &mut results).await?;
    }

    let elapsed = started.elapsed();
    let load_after = machine::load_average();
    let table = report::table(&results.figures);
    let latency = if results.latency_rows.is_empty() {
        String::new()
    } else {
        latency_table(&results.latency_rows, plan.latency_rate)
    };
    let timestamp = chrono::Utc::now();
    let mut out = std::io::stdout().lock();
    let header = format!(
        "Chainwatch server benchmark ({} mode, {}), {:.0} s\nMachine: {}; load average after: {load_after}\n",
        plan.name,
        timestamp.format("%Y-%m-%d %H:%M UTC"),
        elapsed.as_secs_f64(),
        machine.describe()
    );
    let creation = if results.creation_rows.is_empty() {
        String::new()
    } else {
        creation_section::table(&results.creation_rows, plan.creation_rate)
    };
    let _ = writeln!(out, "\n{header}\n{table}\n{latency}\n{creation}");
    for figure in results
        .figures
        .iter()
        .filter(|f| f.in_table && !f.detail.is_empty())
    {
        let _ = writeln!(out, "- {}: {}", figure.label, figure.detail);
    }
    for note in &results.notes {
        let _ = writeln!(out, "- {note}");
    }
    let report = json!({
        "timestamp": timestamp.to_rfc3339(),
        "elapsedSeconds": elapsed.as_secs_f64(),
        "machine": machine.to_json(),
        "loadAverageAfter": load_after,
        "plan": plan.to_json(),
        "serverBinary": options.bin.display().to_string(),
        "figures": results.figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
        "notes": results.notes,
        "table": table,
        "latencyTable": latency,
        "creationTable": creation,
    });
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("cannot create {}: {e}", options.out.display()))?;
    let path = options
        .out
        .join(format!("{}.json", timestamp.format("%Y%m%dT%H%M%SZ")));
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let _ = writeln!(out, "\nJSON: {}", path.display());
    Ok(())
}

/// Creates sessions `ids` on a server.
async fn create_sessions(addr: SocketAddr, ids: &[String]) -> Result<(), String> {
    let mut conn = http::HttpConn::new(addr);
    for id in ids {
        let response = conn
            .request("POST", "/api/sessions", &payload::create_session(id))
            .await
            .map_err(|e| format!("create session: {e}"))?;
        if response.status != 201 {
            return Err(format!(
                "create session {id}: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ));
        }
    }
    Ok(())
}

/// One ingest load: which server, how many clients, events per request.
#[derive(Clone, Copy)]
struct Load {
    clients: usize,
    batch: usize,
}

/// Runs of one load against the real server and the bare handler, interleaved.
#[derive(Default)]
struct LoadRuns {
    chainwatch: Vec<f64>,
    bare: Vec<f64>,
    server_cpu: Vec<f64>,
    client_cpu: Vec<f64>,
    errors: Vec<String>,
}

impl LoadRuns {
    fn detail(&self, load: Load) -> String {
        format!(
            "{} clients, {} event{} per request; {}",
            load.clients,
            load.batch,
            if load.batch == 1 { "" } else { "s" },
            cpu_detail(&self.server_cpu, &self.client_cpu)
        )
    }
}

async fn ingest_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    progress!("ingest: starting chainwatch and the bare handler");
    let (server, _) = Server::chainwatch(&options.bin, &scratch.join("ingest")).await?;
    let bare = Server::bare().await?;
    let loads = [
        Load {
            clients: plan.batch_clients,
            batch: plan.batch,
        },
        Load {
            clients: plan.single_clients,
            batch: 1,
        },
        Load {
            clients: plan.single_clients_high,
            batch: 1,
        },
    ];
    let most = loads.iter().map(|l| l.clients).max().unwrap_or(1);
    let sessions: Vec<String> = (0..most).map(|k| format!("ingest-{k}")).collect();
    create_sessions(server.addr, &sessions).await?;
    for (target, pid) in [(server.addr, server.pid), (bare.addr, bare.pid)] {
        ingest::run(
            target,
            pid,
            plan.single_clients,
            1,
            plan.warmup,
            &sessions,
            "warm",
        )
        .await;
    }
    let mut runs: Vec<LoadRuns> = loads.iter().map(|_| LoadRuns::default()).collect();
    let mut raw = vec![];
    for run in 0..plan.runs {
        progress!("ingest run {}/{}", run + 1, plan.runs);
        for (i, (load, runs)) in loads.iter().zip(runs.iter_mut()).enumerate() {
            let tag = format!("r{run}l{i}");
            let r = ingest::run(
                server.addr,
                server.pid,
                load.clients,
                load.batch,
                plan.ingest,
                &sessions,
                &tag,
            )
            .await;
            runs.chainwatch.push(r.events_per_sec);
            runs.server_cpu.push(r.cpu.server);
            runs.client_cpu.push(r.cpu.client);
            runs.errors.extend(r.first_error.map(|e| {
                format!(
                    "{} clients x {}: {} errors, first {e}",
                    load.clients, load.batch, r.errors
                )
            }));
            let r = ingest::run(
                bare.addr,
                bare.pid,
                load.clients,
                load.batch,
                plan.ingest,
                &sessions,
                &tag,
            )
            .await;
            runs.bare.push(r.events_per_sec);
        }
        let db = scratch.join(format!("sqlite-ref-{run}.db"));
        let (duration, batch_size) = (plan.ingest, plan.batch);
        let rate = tokio::task::spawn_blocking(move || {
            sqlite_ref::run(&db, duration, batch_size, &format!("r{run}"))
        })
        .await
        .map_err(|e| e.to_string())??;
        raw.push(rate);
    }
    let _ = server.stop();
    drop(bare);
    let peer_single = peer_single_events(plan, scratch, &sessions, results).await;
    let [batch, single, single_high] = [0, 1, 2].map(|i| &runs[i]);
    // PRODUCT.md: floor 100,000 events/s, aim 0.9x raw SQLite batch inserts (this run's).
    let raw_aim = 0.9 * stats::summarize(&raw).median;
    results.figures.push(
        Figure::new(
            "ingest.batch",
            format!("durable ingest, batches of {}", plan.batch),
            Unit::EventsPerSec,
            batch.chainwatch.clone(),
        )
        .against(format!("raw SQLite, {} rows/txn", plan.batch), raw)
        .target(Target {
            on_ratio: false,
            higher_is_better: true,
            floor: 100_000.0,
            aim: raw_aim,
        })
        .detail(batch.detail(loads[0])),
    );
    results.figures.push(
        Figure::new(
            "ingest.batch_vs_bare",
            format!("durable ingest, batches of {}, vs bare handler", plan.batch),
            Unit::EventsPerSec,
            batch.chainwatch.clone(),
        )
        .against("bare handler", batch.bare.clone()),
    );
    for (key, runs, load) in [
        ("ingest.single", single, loads[1]),
        ("ingest.single_high", single_high, loads[2]),
    ] {
        results.figures.push(
            Figure::new(
                key,
                format!("single-event POSTs, {} clients", load.clients),
                Unit::EventsPerSec,
                runs.chainwatch.clone(),
            )
            .against("bare handler", runs.bare.clone())
            .target(Target {
                on_ratio: true,
                higher_is_better: true,
                floor: 0.5,
                aim: 0.8,
            })
            .detail(runs.detail(load)),
        );
    }
    if let Some(peer_runs) = peer_single {
        results.figures.push(
            Figure::new(
                "ingest.single.vs_peer",
                format!(
                    "single-event POSTs, {} clients, vs the peer",
                    loads[1].clients
                ),
                Unit::EventsPerSec,
                single.chainwatch.clone(),
            )
            .against("peer (no fsync)", peer_runs),
        );
    }
    let errors: Vec<String> = runs.iter().flat_map(|r| r.errors.clone()).collect();
    if !errors.is_empty() {
        results
            .notes
            .push(format!("ingest errors: {}", errors.join("; ")));
    }
    Ok(())
}

/// The peer's single-event POSTs at the ingest section's 64 clients, one run per
/// [`Plan::runs`] (after Chainwatch's, so it does not share the machine with them);
/// `None`, with a note saying why, when the peer cannot run here.
async fn peer_single_events(
    plan: &Plan,
    scratch: &Path,
    sessions: &[String],
    results: &mut Results,
) -> Option<Vec<f64>> {
    let peer = match peer::start(&scratch.join("ingest-peer")).await {
        Ok(peer) => peer,
        Err(why) => {
            results
                .notes
                .push(format!("ingest: the peer was not measured: {why}"));
            return None;
        }
    };
    let clients = plan.single_clients;
    ingest::run(
        peer.addr,
        peer.pid,
        clients,
        1,
        plan.warmup,
        sessions,
        "warm",
    )
    .await;
    let mut runs = vec![];
    for run in 0..plan.runs {
        progress!("ingest, the peer, run {}/{}", run + 1, plan.runs);
        let tag = format!("peer-r{run}");
        let r = ingest::run(peer.addr, peer.pid, clients, 1, plan.ingest, sessions, &tag).await;
        runs.push(r.events_per_sec);
    }
    let _ = peer.stop();
    Some(runs)
}

async fn latency_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    progress!("latency: starting chainwatch");
    let (server, _) = Server::chainwatch(&options.bin, &scratch.join("latency")).await?;
    let session = "latency".to_owned();
    create_sessions(server.addr, std::slice::from_ref(&session)).await?;
    // Warm-up.
    latency::run(
        server.addr,
        server.pid,
        Topic::Global,
        10,
        plan.latency_rate,
        plan.warmup,
        &session,
    )
    .await?;
    for &subscribers in &plan.latency_subscribers {
        for topic in [Topic::Global, Topic::Session] {
            // ack[0..4] and send[0..4]: p50, p99, p99.9, max; one entry per run.
            let mut ack: [Vec<f64>; 4] = Default::default();
            let mut send: [Vec<f64>; 4] = Default::default();
            let (mut server_cpu, mut client_cpu) = (vec![], vec![]);
            let (mut lost, mut errors) = (0, 0);
            for run in 0..plan.runs {
                progress!(
                    "latency {} topic, {subscribers} subscribers, run {}/{}",
                    topic.name(),
                    run + 1,
                    plan.runs
                );
                let r = latency::run(
                    server.addr,
                    server.pid,
                    topic,
                    subscribers,
                    plan.latency_rate,
                    plan.latency,
                    &session,
                )
                .await?;
                for (into, from) in [(&mut ack, r.from_ack), (&mut send, r.from_send)] {
                    into[0].push(from.p50);
                    into[1].push(from.p99);
                    into[2].push(from.p999);
                    into[3].push(from.max);
                }
                server_cpu.push(r.cpu.server);
                client_cpu.push(r.cpu.client);
                lost += r.lost;
                errors += r.errors;
            }
            let key = format!("latency.{}.{subscribers}", topic.name());
            let who = format!(
                "{} topic, {subscribers} subscriber{}",
                topic.name(),
                if subscribers == 1 { "" } else { "s" }
            );
            let mut p99 = Figure::new(
                &format!("{key}.ack.p99"),
                format!("latency p99, ack to socket, {who}"),
                Unit::Millis,
                ack[1].clone(),
            )
            .detail(format!(
                "{} events/s; lost {lost}, failed posts {errors}; {}",
                plan.latency_rate,
                cpu_detail(&server_cpu, &client_cpu)
            ));
            if subscribers >= 1000 {
                p99 = p99.target(Target {
                    on_ratio: false,
                    higher_is_better: false,
                    floor: 5.0,
                    aim: 2.0,
                });
            }
            results.figures.push(p99);
            for (from, runs) in [("ack", &ack), ("send", &send)] {
                for (name, values) in ["p50", "p99", "p999", "max"].iter().zip(runs.iter()) {
                    if from == "ack" && *name == "p99" {
                        continue;
                    }
                    let mut figure = Figure::new(
                        &format!("{key}.{from}.{name}"),
                        format!("latency {name}, {from} to socket, {who}"),
                        Unit::Millis,
                        values.clone(),
                    );
                    figure.in_table = false;
                    results.figures.push(figure);
                }
            }
            let medians = |runs: &[Vec<f64>; 4]| runs.clone().map(|r| stats::summarize(&r).median);
            results.latency_rows.push(LatencyRow {
                topic: topic.name(),
                subscribers,
                ack: medians(&ack),
                send: medians(&send),
                server_cpu: stats::summarize(&server_cpu).median,
                client_cpu: stats::summarize(&client_cpu).median,
            });
        }
    }
    let _ = server.stop();
    Ok(())
}

async fn sockets_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    fd_limit: u64,
    results: &mut Results,
) -> Result<(), String> {
    for &n in &plan.fanout_sockets {
        if (n as u64) + 200 > fd_limit {
            results.notes.push(format!(
                "{n} sockets skipped: the open-file limit is {fd_limit} (raise it with ulimit -n)"
            ));
            continue;
        }
        let (mut per_socket, mut rss_with, mut rss_before, mut rate) =
            (vec![], vec![], vec![], vec![]);
        let (mut events, mut server_cpu, mut client_cpu) = (vec![], vec![], vec![]);
        for run in 0..plan.runs {
            progress!("sockets: {n} sockets, run {}/{}", run + 1, plan.runs);
            let dir = scratch.join(format!("sockets-{n}-{run}"));
            let (server, _) = Server::chainwatch(&options.bin, &dir).await?;
            let session = "fanout".to_owned();
            create_sessions(server.addr, std::slice::from_ref(&session)).await?;
            let (memory, sockets) =
                sockets::idle_memory(server.addr, server.pid, n, plan.settle).await?;
            per_socket.push(memory.per_socket);
            rss_with.push(memory.rss_with as f64);
            rss_before.push(memory.rss_before as f64);
            let r =
                sockets::fanout(server.addr, server.pid, sockets, plan.fanout, &session).await?;
            rate.push(r.messages_per_sec);
            events.push(r.events_per_sec);
            server_cpu.push(r.cpu.server);
            client_cpu.push(r.cpu.client);
            let _ = server.stop();
        }
        results.figures.push(
            Figure::new(
                &format!("fanout.{n}"),
                format!("fan-out, {n} sockets"),
                Unit::MessagesPerSec,
                rate,
            )
            .detail(format!(
                "closed loop, batches of {} global events, {} events/s posted; {}",
                sockets::FANOUT_BATCH,
                report::thousands(stats::summarize(&events).median),
                cpu_detail(&server_cpu, &client_cpu)
            )),
        );
        let mut memory = Figure::new(
            &format!("memory.{n}"),
            format!("memory per idle socket, {n} sockets"),
            Unit::Bytes,
            per_socket,
        )
        .detail(format!(
            "server RSS {} before, {} with {n} sockets",
            Unit::Bytes.format(stats::summarize(&rss_before).median),
            Unit::Bytes.format(stats::summarize(&rss_with).median)
        ));
        if n >= 10_000 {
            memory = memory.target(Target {
                on_ratio: false,
                higher_is_better: false,
                floor: 11.0 * 1024.0,
                aim: 6.0 * 1024.0,
            });
        }
        results.figures.push(memory);
    }
    Ok(())
}

async fn catch_up_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let dir = scratch.join("catchup");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let count = plan.catch_up_events;
    progress!("catch-up: writing {count} events through the server's store");
    let db = dir.join("chainwatch.db");
    let fill_time = tokio::task::spawn_blocking(move || catchup::fill(&db, count))
        .await
        .map_err(|e| e.to_string())??;
    let (mut startup, mut rate, mut server_cpu, mut client_cpu) = (vec![], vec![], vec![], vec![]);
    let mut full_fold = vec![];
    let mut index_wait = 0.0;
    // The server's start-up snapshot (written at shutdown); servers without one ignore it.
    let snapshot = dir.join("projection.snapshot");
    for run in 0..plan.runs {
        progress!("catch-up and start-up, run {}/{}", run + 1, plan.runs);
        // A start with no snapshot folds the whole log; its shutdown writes the snapshot
        // the next start uses.
        let _ = std::fs::remove_file(&snapshot);
        let (server, took) = Server::chainwatch(&options.bin, &dir).await?;
        full_fold.push(took.as_secs_f64());
        if run == 0 {
            // A real server indexes events as they are committed; this log was written
            // behind its back, so the first start has all of it to index (at nice 10).
            // The catch-up is measured once the index is complete, as on a server that
            // had been running.
            progress!("catch-up: waiting for the search index to reach the log's head");
            let took =
                search::wait_indexed_word(server.addr, "working", count, Duration::from_secs(1800))
                    .await?;
            index_wait = took.as_secs_f64();
        }
        server.stop()?;
        let (server, took) = Server::chainwatch(&options.bin, &dir).await?;
        startup.push(took.as_secs_f64());
        let r = catchup::catch_up(server.addr, server.pid, count).await?;
        rate.push(r.events_per_sec);
        server_cpu.push(r.cpu.server);
        client_cpu.push(r.cpu.client);
        server.stop()?;
    }
    let events = report::thousands(count as f64);
    results.figures.push(
        Figure::new(
            "catchup",
            format!("resuming client catch-up, {events} events"),
            Unit::EventsPerSec,
            rate,
        )
        .target(Target {
            on_ratio: false,
            higher_is_better: true,
            floor: 1_000_000.0,
            aim: 2_000_000.0,
        })
        .detail(format!(
            "{}; measured after the search index caught up with the log (the first start indexed it in {index_wait:.1} s)",
            cpu_detail(&server_cpu, &client_cpu)
        )),
    );
    results.figures.push(
        Figure::new(
            "startup",
            format!("start-up to serving, {events} events in the log"),
            Unit::Seconds,
            startup,
        )
        .target(Target {
            on_ratio: false,
            higher_is_better: false,
            floor: 0.5,
            aim: 0.2,
        })
        .detail(format!(
            "a restart (the shutdown left a snapshot); log written through the server's store in {:.1} s ({} events/s, 10,000 per transaction)",
            fill_time.as_secs_f64(),
            report::thousands(count as f64 / fill_time.as_secs_f64())
        )),
    );
    results.figures.push(
        Figure::new(
            "startup.full_fold",
            format!("start-up to serving, {events} events, no snapshot (whole log folded)"),
            Unit::Seconds,
            full_fold,
        )
        .detail("the first start after the log was written, or after a snapshot was refused"),
    );
    Ok(())
}

async fn search_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let dir = scratch.join("search");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let count = plan.search_events;
    progress!("search: writing {count} conversation events through the server's store");
    let db = dir.join("chainwatch.db");
    tokio::task::spawn_blocking(move || search::fill(&db, count))
        .await
        .map_err(|e| e.to_string())??;
    progress!("search: starting chainwatch; its indexer catches up from the log");
    let (server, _) = Server::chainwatch(&options.bin, &dir).await?;
    let indexed = search::wait_indexed(server.addr, count, Duration::from_secs(1800)).await?;
    let queries = search::queries(plan.search_queries);
    search::run(server.addr, &queries[..queries.len().min(20)]).await?;
    let (mut p50, mut p99, mut hits) = (vec![], vec![], 0);
    let (mut direct50, mut direct99, mut old50, mut old99) = (vec![], vec![], vec![], vec![]);
    let index = dir.join("search.db");
    for run in 0..plan.runs {
        progress!("search: run {}/{}", run + 1, plan.runs);
        let (times, found) = search::run(server.addr, &queries).await?;
        let sorted = stats::sorted(times);
        p50.push(stats::percentile(&sorted, 50.0));
        p99.push(stats::percentile(&sorted, 99.0));
        hits += found;
        // References in the same run, on the same index file, in this process.
        for (expression, p50s, p99s) in [
            (search::Expression::Server, &mut direct50, &mut direct99),
            (search::Expression::Fts5Prefix, &mut old50, &mut old99),
        ] {
            let (index, queries) = (index.clone(), queries.clone());
            let times =
                tokio::task::spawn_blocking(move || search::direct(&index, &queries, expression))
                    .await
                    .map_err(|e| e.to_string())??;
            let sorted = stats::sorted(times);
            p50s.push(stats::percentile(&sorted, 50.0));
            p99s.push(stats::percentile(&sorted, 99.0));
        }
    }
    let _ = server.stop();
    let events = report::thousands(count as f64);
    results.figures.push(
        Figure::new(
            "search.p50",
            format!("search over {events} indexed events, p50"),
            Unit::Millis,
            p50,
        )
        .against("the same queries on the index file, in-process", direct50),
    );
    results.figures.push(
        Figure::new(
            "search.fts5_prefix.p99",
            format!("FTS5's own prefix query (before the vocabulary), {events} events, p99"),
            Unit::Millis,
            old99,
        )
        .detail(format!(
            "the last word as `\"w\"*` on the same index file, in-process (its 2- and 3-character prefixes still use the prefix indexes); p50 {:.2} ms",
            stats::percentile(&stats::sorted(old50.clone()), 50.0)
        )),
    );
    results.figures.push(
        Figure::new(
            "search.p99",
            format!("search over {events} indexed events, p99"),
            Unit::Millis,
            p99,
        )
        .against("the same queries on the index file, in-process", direct99)
        .target(Target {
            on_ratio: false,
            higher_is_better: false,
            floor: 100.0,
            aim: 20.0,
        })
        .detail(format!(
            "{} queries per run over HTTP, one at a time (common words, rare words, two-word ANDs, prefixes; up to 50 hits each, {} hits in all); index caught up from the log at start in {:.1} s ({} events/s)",
            plan.search_queries,
            report::thousands(hits as f64),
            indexed.as_secs_f64(),
            report::thousands(count as f64 / indexed.as_secs_f64().max(0.001))
        )),
    );
    Ok(())
}

async fn hook_section(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    if !hook::available(&options.bin) {
        results.notes.push(
            "hook: skipped, `chainwatch hook --help` fails on this build (no hook subcommand yet)"
                .into(),
        );
        return Ok(());
    }
    progress!("hook: starting chainwatch");
    let (server, _) = Server::chainwatch(&options.bin, &scratch.join("hook")).await?;
    let (mut p50, mut p99, mut failures) = (vec![], vec![], 0);
    let (mut spawn_p50, mut spawn_p99) = (vec![], vec![]);
    let bin = options.bin.clone();
    let addr = server.addr;
    hook::run(&bin, addr, 3)?;
    for run in 0..plan.runs {
        progress!("hook: run {}/{}", run + 1, plan.runs);
        let (bin, calls) = (bin.clone(), plan.hook_calls);
        let (times, failed) = tokio::task::spawn_blocking(move || hook::run(&bin, addr, calls))
            .await
            .map_err(|e| e.to_string())??;
        let sorted = stats::sorted(times);
        p50.push(stats::percentile(&sorted, 50.0));
        p99.push(stats::percentile(&sorted, 99.0));
        failures += failed;
        let (reference_bin, calls) = (hook::reference_bin(&options.bin), plan.hook_calls);
        let spawns =
            tokio::task::spawn_blocking(move || hook::run_reference(&reference_bin, calls))
                .await
                .map_err(|e| e.to_string())??;
        let sorted = stats::sorted(spawns);
        spawn_p50.push(stats::percentile(&sorted, 50.0));
        spawn_p99.push(stats::percentile(&sorted, 99.0));
    }
    let _ = server.stop();
    results.figures.push(
        Figure::new(
            "hook.p50",
            "`chainwatch hook` per call, p50",
            Unit::Millis,
            p50,
        )
        .against(
            "spawning the server executable's `--version`, p50",
            spawn_p50,
        ),
    );
    results.figures.push(
        Figure::new(
            "hook.p99",
            "`chainwatch hook` per call, p99",
            Unit::Millis,
            p99,
        )
        .against(
            "spawning the server executable's `--version`, p99",
            spawn_p99,
        )
        .target(Target {
            on_ratio: false,
            higher_is_better: false,
            floor: 5.0,
            aim: 3.0,
        })
        .detail(format!(
            "{} calls per run, PostToolUse payload, server up; {failures} exited non-zero; \
             reference: `{} --version`",
            plan.hook_calls,
            hook::reference_bin(&options.bin)
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        )),
    );
    Ok(())
}
