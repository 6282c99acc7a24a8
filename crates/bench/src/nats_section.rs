//! The NATS section (`--only nats`): the same loads as the ingest, latency and sockets
//! sections, on instances sharing one JetStream stream, beside one SQLite instance
//! measured in the same runs, and the time an instance takes to join (and to restart
//! on) a stream of `catch_up_events` events.
//!
//! One nats-server (JetStream, file storage, R1) on loopback; instances A and B on
//! stream `BENCH`. "One instance" is A alone; "two instances" splits the clients
//! between A and B (ingest), posts on A with the sockets on B (latency, fan-out). When
//! no nats-server is installed the section is skipped with a note, not failed.

use std::path::Path;
use std::time::Duration;

use crate::latency::{self, Topic};
use crate::nats::NatsServer;
use crate::nats_raw::{RawStream, Variant};
use crate::report::{Figure, Target, Unit};
use crate::server::Server;
use crate::{Options, Plan, Results, create_sessions, ingest, sockets, stats};

/// Sockets in the fan-out runs.
const FANOUT_SOCKETS: usize = 1000;
/// Subscribers in the latency runs.
const LATENCY_SUBSCRIBERS: usize = 100;
/// Events per request when the join section fills the stream.
const FILL_BATCH: usize = 500;

fn progress(message: String) {
    eprintln!("[bench] nats: {message}");
}

fn store_flags(url: &str) -> Vec<String> {
    vec![
        "--store".into(),
        url.into(),
        "--nats-stream".into(),
        "BENCH".into(),
    ]
}

/// Runs the section; pushes a note and returns when nats-server is missing.
pub async fn run(
    options: &Options,
    plan: &Plan,
    scratch: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let exe_dir = options.bin.parent().unwrap_or(Path::new("."));
    let binary = match crate::nats::find(exe_dir) {
        Ok(binary) => binary,
        Err(why) => {
            progress(format!("skipped: {why}"));
            results.notes.push(format!("nats: skipped, {why}"));
            return Ok(());
        }
    };
    let dir = scratch.join("nats");
    let nats = NatsServer::start(&binary, &dir.join("server"))?;
    progress(format!(
        "nats-server {} on port {}",
        binary.display(),
        nats.port
    ));
    let flags = store_flags(&nats.url());
    let (sqlite, _) = Server::chainwatch(&options.bin, &dir.join("sqlite")).await?;
    let (a, _) = Server::chainwatch_with(&options.bin, &dir.join("a"), &flags).await?;
    let (b, _) = Server::chainwatch_with(&options.bin, &dir.join("b"), &flags).await?;
    let most = plan.single_clients.max(plan.batch_clients);
    let sessions: Vec<String> = (0..most).map(|k| format!("nats-{k}")).collect();
    create_sessions(sqlite.addr, &sessions).await?;
    create_sessions(a.addr, &sessions).await?;
    let mut raw = RawStream::open(&nats.url(), "RAWREF").await?;
    ingest_figures(plan, &sqlite, &a, &b, &mut raw, &sessions, results).await?;
    let _ = sqlite.stop();
    latency_figures(plan, &a, &b, results).await?;
    fanout_figures(plan, &a, &b, results).await?;
    let _ = b.stop();
    join_figures(options, plan, &dir, &flags, &a, results).await?;
    let _ = a.stop();
    drop(nats);
    Ok(())
}

/// Ingest: batches and single events, SQLite vs NATS one instance vs NATS two
/// instances, interleaved run by run; for batches also the raw stream (`nats_raw`),
/// so Chainwatch on NATS reads as a ratio of both references.
async fn ingest_figures(
    plan: &Plan,
    sqlite: &Server,
    a: &Server,
    b: &Server,
    raw: &mut RawStream,
    sessions: &[String],
    results: &mut Results,
) -> Result<(), String> {
    let loads = [(plan.batch_clients, plan.batch), (plan.single_clients, 1)];
    // Warm-up on every target.
    for server in [sqlite, a, b] {
        ingest::run(
            server.addr,
            server.pid,
            8,
            1,
            plan.warmup,
            sessions,
            &format!("warm-{}", server.pid),
        )
        .await;
    }
    // [load][sqlite, one, two]
    let mut rates: Vec<[Vec<f64>; 3]> = loads.iter().map(|_| Default::default()).collect();
    let mut cpu: Vec<[Vec<f64>; 3]> = loads.iter().map(|_| Default::default()).collect();
    let mut errors = Vec::new();
    // [plain, chain]
    let mut raw_rates: [Vec<f64>; 4] = Default::default();
    for run in 0..plan.runs {
        for (l, &(clients, batch)) in loads.iter().enumerate() {
            progress(format!(
                "ingest {clients} clients x {batch}, run {}/{}",
                run + 1,
                plan.runs
            ));
            let tag = format!("n{run}l{l}");
            let r = ingest::run(
                sqlite.addr,
                sqlite.pid,
                clients,
                batch,
                plan.ingest,
                sessions,
                &format!("{tag}s"),
            )
            .await;
            rates[l][0].push(r.events_per_sec);
            cpu[l][0].push(r.cpu.server);
            if batch > 1 {
                let variants = [
                    Variant::Plain,
                    Variant::Chain,
                    Variant::Followed,
                    Variant::FollowedApart,
                ];
                for (v, variant) in variants.into_iter().enumerate() {
                    let rate = raw
                        .run(variant, plan.ingest, sessions, &format!("{tag}r{v}"))
                        .await?;
                    raw_rates[v].push(rate);
                }
            }
            let r = ingest::run(
                a.addr,
                a.pid,
                clients,
                batch,
                plan.ingest,
                sessions,
                &format!("{tag}a"),
            )
            .await;
            rates[l][1].push(r.events_per_sec);
            cpu[l][1].push(r.cpu.server);
            errors.extend(r.first_error.map(|e| format!("one instance: {e}")));
            let half = (clients / 2).max(1);
            let (tag_a, tag_b) = (format!("{tag}A"), format!("{tag}B"));
            let (on_a, on_b) = tokio::join!(
                ingest::run(a.addr, a.pid, half, batch, plan.ingest, sessions, &tag_a),
                ingest::run(
                    b.addr,
                    b.pid,
                    clients - half,
                    batch,
                    plan.ingest,
                    &sessions[half.min(sessions.len() - 1)..],
                    &tag_b
                ),
            );
            rates[l][2].push(on_a.events_per_sec + on_b.events_per_sec);
            cpu[l][2].push(on_a.cpu.server + on_b.cpu.server);
            errors.extend(on_a.first_error.map(|e| format!("two instances, A: {e}")));
            errors.extend(on_b.first_error.map(|e| format!("two instances, B: {e}")));
        }
    }
    for (l, &(clients, batch)) in loads.iter().enumerate() {
        let (what, key) = if batch == 1 {
            ("single-event POSTs".to_owned(), "single")
        } else {
            (format!("durable ingest, batches of {batch}"), "batch")
        };
        let cores = |i: usize| stats::summarize(&cpu[l][i]).median;
        for (i, instances) in [(1, "one instance"), (2, "two instances")] {
            let mut figure = Figure::new(
                &format!("nats.ingest.{key}.{}", if i == 1 { "one" } else { "two" }),
                format!("NATS, {instances}: {what}, {clients} clients"),
                Unit::EventsPerSec,
                rates[l][i].clone(),
            )
            .against("one SQLite instance, same load", rates[l][0].clone())
            .detail(format!(
                "server CPU (cores, median): SQLite {:.2}, NATS {instances} {:.2} (chainwatch only; nats-server not counted)",
                cores(0),
                cores(i)
            ));
            if i == 2 {
                figure = figure.target(Target {
                    on_ratio: true,
                    higher_is_better: true,
                    floor: 0.5,
                    aim: 1.0,
                });
            }
            results.figures.push(figure);
        }
    }
    raw_figures(plan, &rates[0], &raw_rates, results);
    if !errors.is_empty() {
        errors.truncate(6);
        results
            .notes
            .push(format!("nats ingest errors: {}", errors.join("; ")));
    }
    Ok(())
}

/// The raw stream beside SQLite, and Chainwatch's batch ingest as a ratio of it.
fn raw_figures(
    plan: &Plan,
    batch_rates: &[Vec<f64>; 3],
    raw_rates: &[Vec<f64>; 4],
    results: &mut Results,
) {
    let window = crate::nats_raw::WINDOW;
    for (v, (key, headers)) in [
        ("plain", "Nats-Msg-Id only"),
        (
            "chain",
            "Nats-Msg-Id, Nats-Expected-Last-Sequence and Nats-Expected-Last-Msg-Id, as a Chainwatch chain",
        ),
        (
            "followed",
            "as chain, while two ordered consumers follow the stream (one on the publishing connection, one on its own), as two instances' followers",
        ),
        (
            "followed_apart",
            "as chain, while two ordered consumers on connections of their own follow the stream",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        results.figures.push(
            Figure::new(
                &format!("nats.raw.batch.{key}"),
                format!("raw JetStream stream, one client, windows of {window} ({key})"),
                Unit::EventsPerSec,
                raw_rates[v].clone(),
            )
            .against("one SQLite instance, batches of 100", batch_rates[0].clone())
            .detail(format!(
                "the same tool:used JSON as the bench's batches of {}, one async-nats client publishing {window} messages back to back then awaiting their acknowledgements; file storage, R1, headers: {headers}; no Chainwatch",
                plan.batch
            )),
        );
    }
    for (i, instances) in [(1, "one"), (2, "two")] {
        results.figures.push(
            Figure::new(
                &format!("nats.ingest.batch.{instances}.of_raw"),
                format!(
                    "NATS, {instances} instance{}: batches of {} against the raw stream",
                    if i == 1 { "" } else { "s" },
                    plan.batch
                ),
                Unit::EventsPerSec,
                batch_rates[i].clone(),
            )
            .against(
                format!("raw JetStream stream, windows of {window} (plain)"),
                raw_rates[0].clone(),
            ),
        );
    }
}

/// POST acknowledged → socket frame: posts and sockets on A, then posts on A and
/// sockets on B.
async fn latency_figures(
    plan: &Plan,
    a: &Server,
    b: &Server,
    results: &mut Results,
) -> Result<(), String> {
    let session = "nats-latency".to_owned();
    create_sessions(a.addr, std::slice::from_ref(&session)).await?;
    for (label, key, listen) in [
        ("one instance (POST and sockets on A)", "one", a),
        ("two instances (POST on A, sockets on B)", "two", b),
    ] {
        let (mut p50, mut p99, mut lost, mut failed) = (vec![], vec![], 0, 0);
        for run in 0..plan.runs {
            progress(format!("latency, {label}, run {}/{}", run + 1, plan.runs));
            let r = latency::run_across(
                a.addr,
                listen.addr,
                listen.pid,
                Topic::Global,
                LATENCY_SUBSCRIBERS,
                plan.latency_rate,
                plan.latency,
                &session,
            )
            .await?;
            p50.push(r.from_ack.p50);
            p99.push(r.from_ack.p99);
            lost += r.lost;
            failed += r.errors;
        }
        let mut figure = Figure::new(
            &format!("nats.latency.{key}.ack.p99"),
            format!("NATS, {label}: POST acknowledged → socket, p99"),
            Unit::Millis,
            p99,
        )
        .detail(format!(
            "{LATENCY_SUBSCRIBERS} subscribers on the global topic, {} events/s; lost {lost}, failed posts {failed}",
            plan.latency_rate
        ));
        if key == "two" {
            figure = figure.target(Target {
                on_ratio: false,
                higher_is_better: false,
                floor: 20.0,
                aim: 5.0,
            });
        }
        results.figures.push(figure);
        results.figures.push(Figure::new(
            &format!("nats.latency.{key}.ack.p50"),
            format!("NATS, {label}: POST acknowledged → socket, p50"),
            Unit::Millis,
            p50,
        ));
    }
    Ok(())
}

/// Fan-out to [`FANOUT_SOCKETS`] sockets: on A with posts on A, on B with posts on A.
async fn fanout_figures(
    plan: &Plan,
    a: &Server,
    b: &Server,
    results: &mut Results,
) -> Result<(), String> {
    let session = "nats-fanout".to_owned();
    create_sessions(a.addr, std::slice::from_ref(&session)).await?;
    for (label, key, listen) in [
        ("one instance (sockets on A)", "one", a),
        ("two instances (posts on A, sockets on B)", "two", b),
    ] {
        let (mut rate, mut events) = (vec![], vec![]);
        for run in 0..plan.runs {
            progress(format!("fan-out, {label}, run {}/{}", run + 1, plan.runs));
            let sockets = crate::ws::connect_many(listen.addr, FANOUT_SOCKETS, 64).await?;
            let r = sockets::fanout(a.addr, listen.pid, sockets, plan.fanout, &session).await?;
            rate.push(r.messages_per_sec);
            events.push(r.events_per_sec);
        }
        results.figures.push(
            Figure::new(
                &format!("nats.fanout.{key}"),
                format!("NATS, {label}: fan-out, {FANOUT_SOCKETS} sockets"),
                Unit::MessagesPerSec,
                rate,
            )
            .detail(format!(
                "closed loop, batches of {} global events, {} events/s posted",
                sockets::FANOUT_BATCH,
                crate::report::thousands(stats::summarize(&events).median)
            )),
        );
    }
    Ok(())
}

/// Fills the stream to `catch_up_events` through A, then times a new instance joining
/// it with an empty data dir, and its restart (local copy and snapshot, then the tail).
async fn join_figures(
    options: &Options,
    plan: &Plan,
    dir: &Path,
    flags: &[String],
    a: &Server,
    results: &mut Results,
) -> Result<(), String> {
    let count = plan.nats_join_events.unwrap_or(plan.catch_up_events);
    progress(format!(
        "join: filling the stream to {count} events through A"
    ));
    let fill_started = std::time::Instant::now();
    let posted = fill(a, count).await?;
    let fill_time = fill_started.elapsed();
    let (mut join, mut restart) = (vec![], vec![]);
    for run in 0..plan.runs {
        progress(format!(
            "join: a new instance joins, then restarts, run {}/{}",
            run + 1,
            plan.runs
        ));
        let data = dir.join(format!("join-{run}"));
        let (c, took) = Server::chainwatch_with(&options.bin, &data, flags).await?;
        join.push(took.as_secs_f64());
        c.stop()?;
        let (c, took) = Server::chainwatch_with(&options.bin, &data, flags).await?;
        restart.push(took.as_secs_f64());
        c.stop()?;
        let _ = std::fs::remove_dir_all(&data);
    }
    let events = crate::report::thousands(count as f64);
    results.figures.push(
        Figure::new(
            "nats.startup.restart",
            format!("NATS: restart to serving, {events} events in the stream"),
            Unit::Seconds,
            restart,
        )
        .target(Target {
            on_ratio: false,
            higher_is_better: false,
            floor: 0.5,
            aim: 0.2,
        })
        .detail(
            "the instance's local copy and the snapshot its shutdown wrote, then the stream's tail",
        ),
    );
    results.figures.push(
        Figure::new(
            "nats.startup.join",
            format!("NATS: a new instance joins a stream of {events} events (empty data dir)"),
            Unit::Seconds,
            join,
        )
        .detail(format!(
            "copies the whole stream into its local copy; {}",
            fill_detail(count, posted, fill_time)
        )),
    );
    Ok(())
}

/// How the stream got its events: the earlier sections' events count towards `count`,
/// so the rate is only given for what this section posted itself.
fn fill_detail(count: u64, posted: u64, took: Duration) -> String {
    let earlier = count.saturating_sub(posted);
    if posted == 0 {
        return format!("the earlier sections had already stored its {count} events");
    }
    format!(
        "{posted} of its {count} events were posted through one instance in {:.1} s ({} events/s, {FILL_BATCH} per request), the other {earlier} by the earlier sections",
        took.as_secs_f64(),
        crate::report::thousands(posted as f64 / took.as_secs_f64().max(0.001))
    )
}

/// Posts batches of [`FILL_BATCH`] into A, four at a time, until the stream holds
/// `count` events; returns how many it posted.
async fn fill(a: &Server, count: u64) -> Result<u64, String> {
    let session = "nats-join".to_owned();
    create_sessions(a.addr, std::slice::from_ref(&session)).await?;
    let head = latest_seq(a.addr).await?;
    let needed = count.saturating_sub(head);
    let requests = needed.div_ceil(FILL_BATCH as u64);
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let (addr, session) = (a.addr, session.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = crate::http::HttpConn::new(addr);
            let mut n = worker;
            while n < requests {
                let body =
                    crate::payload::tool_used_body(&session, &format!("fill-{n}"), FILL_BATCH);
                let mut tries = 0;
                loop {
                    match conn.request("POST", "/api/events", &body).await {
                        Ok(r) if r.status == 201 => break,
                        Ok(r) if tries < 5 => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            let _ = r;
                        }
                        Ok(r) => {
                            return Err(format!(
                                "fill: {} {}",
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            ));
                        }
                        Err(e) => return Err(format!("fill: {e}")),
                    }
                }
                n += 4;
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(requests * FILL_BATCH as u64)
}

/// The newest seq a server serves (`GET /api/health`).
async fn latest_seq(addr: std::net::SocketAddr) -> Result<u64, String> {
    let response = crate::http::once(addr, "GET", "/api/health", b"")
        .await
        .map_err(|e| format!("health: {e}"))?;
    let health: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|e| format!("health: {e}"))?;
    health["seq"]
        .as_u64()
        .ok_or_else(|| format!("health has no seq: {health}"))
}
