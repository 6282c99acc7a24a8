//! Unit tests of every operation and invalid transition, against a real SQLite log in a
//! temp dir, plus the check that folding the stored history gives the live state.

use std::sync::{Arc, Mutex};

use chainwatch_shared::*;
use serde_json::json;

use super::*;

fn by() -> By {
    By("tester".into())
}
use crate::store::{LogReader, LoggedEvent, SqliteReader, open_sqlite};

#[derive(Default)]
struct Recorder(Mutex<Vec<LoggedEvent>>);

impl Publisher for Recorder {
    fn publish(&self, events: &[LoggedEvent]) {
        self.0.lock().expect("lock").extend_from_slice(events);
    }
}

impl Recorder {
    fn types(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(&e.json).expect("json")["type"]
                    .as_str()
                    .expect("type")
                    .to_owned()
            })
            .collect()
    }
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
}

struct Harness {
    core: Core,
    published: Arc<Recorder>,
    reader: SqliteReader,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let (writer, reader) = open_sqlite(&dir.path().join("log.db")).expect("opens");
    let published = Arc::new(Recorder::default());
    let (core, _thread) = Core::start(
        Box::new(writer),
        &reader,
        published.clone(),
        CommitConfig::default(),
    )
    .expect("starts");
    Harness {
        core,
        published,
        reader,
        _dir: dir,
    }
}

fn create(id: &str) -> Mutation {
    Mutation::CreateSession(CreateSession {
        id: Some(id.into()),
        cwd: "/home/ada/app".into(),
        hostname: Some("laptop".into()),
        platform: None,
        user: Some("ada".into()),
        model: None,
        title: None,
    })
}

fn new_event(session: &str, event_id: Option<&str>, kind: EventKind) -> NewEvent {
    NewEvent {
        event_id: event_id.map(EventId::from),
        session_id: session.into(),
        timestamp: None,
        kind,
    }
}

fn prompt(text: &str) -> EventKind {
    EventKind::PromptSubmitted {
        prompt: text.into(),
    }
}

async fn ok(core: &Core, m: Mutation) -> Outcome {
    core.execute(m).await.expect("operation succeeds")
}

#[tokio::test]
async fn create_session_emits_session_started_and_is_readable() {
    let h = harness();
    let Outcome::Session(session) = ok(&h.core, create("s1")).await else {
        panic!("session expected")
    };
    assert_eq!(session.id.as_str(), "s1");
    assert_eq!(session.status, SessionStatus::Pending);
    assert_eq!(h.published.types(), ["session:started"]);
    assert_eq!(h.core.read().latest_seq(), 1);
    assert_eq!(
        h.core.read().session(&"s1".into()).expect("present").cwd,
        "/home/ada/app"
    );
}

#[tokio::test]
async fn invalid_creates_change_nothing() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let dup = h
        .core
        .execute(create("s1"))
        .await
        .expect_err("duplicate id");
    assert!(matches!(dup, CoreError::Conflict(_)), "{dup}");
    let mut relative = create("s2");
    if let Mutation::CreateSession(r) = &mut relative {
        r.cwd = "relative/dir".into();
    }
    assert!(matches!(
        h.core.execute(relative).await,
        Err(CoreError::Invalid(_))
    ));
    let mut bad_id = create("a/b");
    if let Mutation::CreateSession(r) = &mut bad_id {
        r.id = Some("a/b".into());
    }
    assert!(matches!(
        h.core.execute(bad_id).await,
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(h.published.len(), 1);
    assert_eq!(h.reader.latest_seq().expect("seq"), 1);
}

#[tokio::test]
async fn update_and_end_follow_the_lifecycle() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let update = UpdateSession {
        status: Some(SessionStatus::Active),
        summary: Some("working".into()),
        ..Default::default()
    };
    let Outcome::Session(s) = ok(&h.core, Mutation::UpdateSession("s1".into(), update)).await
    else {
        panic!()
    };
    assert_eq!(
        (s.status, s.summary.as_deref()),
        (SessionStatus::Active, Some("working"))
    );

    let terminal = UpdateSession {
        status: Some(SessionStatus::Completed),
        ..Default::default()
    };
    assert!(matches!(
        h.core
            .execute(Mutation::UpdateSession("s1".into(), terminal))
            .await,
        Err(CoreError::Invalid(_))
    ));
    let empty = UpdateSession::default();
    assert!(matches!(
        h.core
            .execute(Mutation::UpdateSession("s1".into(), empty))
            .await,
        Err(CoreError::Invalid(_))
    ));
    assert!(matches!(
        h.core
            .execute(Mutation::UpdateSession(
                "nope".into(),
                UpdateSession {
                    summary: Some("x".into()),
                    ..Default::default()
                }
            ))
            .await,
        Err(CoreError::NotFound { .. })
    ));

    let Outcome::Session(s) = ok(
        &h.core,
        Mutation::EndSession("s1".into(), EndSession::default()),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(s.status, SessionStatus::Completed);
    assert!(s.ended_at.is_some());
    let again = h
        .core
        .execute(Mutation::EndSession("s1".into(), EndSession::default()))
        .await;
    assert!(
        matches!(again, Err(CoreError::Conflict(_))),
        "ending an ended session is refused"
    );
    let late_update = UpdateSession {
        summary: Some("late".into()),
        ..Default::default()
    };
    assert!(matches!(
        h.core
            .execute(Mutation::UpdateSession("s1".into(), late_update))
            .await,
        Err(CoreError::Conflict(_))
    ));
    let not_terminal = EndSession {
        status: Some(SessionStatus::Active),
        reason: None,
    };
    ok(&h.core, create("s2")).await;
    assert!(matches!(
        h.core
            .execute(Mutation::EndSession("s2".into(), not_terminal))
            .await,
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(
        h.published.types(),
        [
            "session:started",
            "session:updated",
            "session:ended",
            "session:started"
        ]
    );
}

#[tokio::test]
async fn ingest_is_idempotent_by_event_id() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let first = ok(
        &h.core,
        Mutation::Ingest(vec![new_event("s1", Some("ev-1"), prompt("hi"))]),
    )
    .await;
    let Outcome::Ingested(first) = first else {
        panic!()
    };
    assert_eq!(
        (first[0].seq, first[0].duplicate),
        (3, false),
        "after the derived session:updated"
    );
    let second = ok(
        &h.core,
        Mutation::Ingest(vec![new_event("s1", Some("ev-1"), prompt("hi"))]),
    )
    .await;
    let Outcome::Ingested(second) = second else {
        panic!()
    };
    assert_eq!(
        (second[0].seq, second[0].duplicate),
        (3, true),
        "the second post answers with the original seq"
    );
    assert_eq!(h.reader.latest_seq().expect("seq"), 3);
    assert_eq!(
        h.core
            .read()
            .session(&"s1".into())
            .expect("s")
            .counts
            .prompts,
        1
    );
}

#[tokio::test]
async fn an_event_id_belongs_to_one_session_in_the_log_and_within_a_commit() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    ok(&h.core, create("s2")).await;
    let before = h.reader.latest_seq().expect("seq");
    // Racing posts of one id into two sessions: some share a commit (the staged path),
    // some come after it (the log's path); the answers are the same either way.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let core = h.core.clone();
        let session = if i % 2 == 0 { "s1" } else { "s2" };
        tasks.push(tokio::spawn(async move {
            let outcome = core
                .execute(Mutation::Ingest(vec![new_event(
                    session,
                    Some("shared"),
                    prompt("x"),
                )]))
                .await;
            (session, outcome)
        }));
    }
    let mut stored = Vec::new();
    let mut duplicates = Vec::new();
    let mut conflicts = Vec::new();
    for task in tasks {
        match task.await.expect("joins") {
            (session, Ok(Outcome::Ingested(events))) if events[0].duplicate => {
                duplicates.push((session, events[0].seq))
            }
            (session, Ok(Outcome::Ingested(events))) => stored.push((session, events[0].seq)),
            (session, Err(CoreError::Conflict(message))) => {
                assert!(message.contains("another session"), "{message}");
                conflicts.push(session)
            }
            (_, other) => panic!("unexpected answer: {other:?}"),
        }
    }
    assert_eq!(stored.len(), 1, "one post stores the event: {stored:?}");
    let (owner, seq) = stored[0];
    assert_eq!(duplicates.len(), 29, "{duplicates:?}");
    assert!(
        duplicates.iter().all(|d| *d == (owner, seq)),
        "{duplicates:?}"
    );
    assert_eq!(conflicts.len(), 30);
    assert!(conflicts.iter().all(|s| *s != owner), "{conflicts:?}");
    let logged = h
        .reader
        .read(crate::store::Scope::All, before, u64::MAX, 1000)
        .expect("reads");
    let with_id: Vec<u64> = logged
        .iter()
        .filter(|e| e.event_id.as_str() == "shared")
        .map(|e| e.seq)
        .collect();
    assert_eq!(with_id, [seq], "stored once");
}

#[tokio::test]
async fn ingest_batches_are_all_or_nothing() {
    let h = harness();
    let started = EventKind::SessionStarted {
        cwd: "/srv/repo".into(),
        hostname: None,
        platform: None,
        user: None,
        model: None,
        title: None,
        source: Some("hook".into()),
        watch: Some(WatchState {
            watched: true,
            reason: None,
        }),
    };
    // A session can be started and used in one batch.
    let batch = vec![
        new_event("h1", Some("a"), started.clone()),
        new_event("h1", Some("b"), prompt("go")),
    ];
    let Outcome::Ingested(r) = ok(&h.core, Mutation::Ingest(batch)).await else {
        panic!()
    };
    // seq 2 is the derived session:updated {status: active} the first prompt causes.
    assert_eq!(r.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(
        h.published.types(),
        ["session:started", "session:updated", "prompt:submitted"]
    );
    // The agent cannot claim the server watches its cwd.
    assert!(
        !h.core
            .read()
            .session(&"h1".into())
            .expect("s")
            .watch
            .watched
    );

    // A bad event anywhere refuses the whole batch.
    let batch = vec![
        new_event("h1", Some("c"), prompt("fine")),
        new_event("ghost", Some("d"), prompt("who")),
    ];
    let err = h
        .core
        .execute(Mutation::Ingest(batch))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, CoreError::NotFound { .. }) && err.to_string().contains("events[1]"),
        "{err}"
    );
    assert_eq!(h.reader.latest_seq().expect("seq"), 3);

    // Starting a live session twice is a conflict; ending then restarting (resume) is fine.
    let err = h
        .core
        .execute(Mutation::Ingest(vec![new_event(
            "h1",
            None,
            started.clone(),
        )]))
        .await
        .expect_err("conflict");
    assert!(matches!(err, CoreError::Conflict(_)));
    let end = EventKind::SessionEnded {
        status: SessionStatus::Completed,
        reason: None,
    };
    ok(
        &h.core,
        Mutation::Ingest(vec![
            new_event("h1", None, end.clone()),
            new_event("h1", None, started),
        ]),
    )
    .await;
    assert_eq!(
        h.core.read().session(&"h1".into()).expect("s").status,
        SessionStatus::Active
    );

    // Empty batches, duplicate ids inside a batch, and people's decisions are refused.
    assert!(matches!(
        h.core.execute(Mutation::Ingest(vec![])).await,
        Err(CoreError::Invalid(_))
    ));
    let dup = vec![
        new_event("h1", Some("x"), prompt("1")),
        new_event("h1", Some("x"), prompt("2")),
    ];
    assert!(matches!(
        h.core.execute(Mutation::Ingest(dup)).await,
        Err(CoreError::Invalid(_))
    ));
    let decided = EventKind::PermissionDecided {
        request_id: "p".into(),
        behavior: PermissionBehavior::Allow,
        message: None,
        decided_by: Some("mallory".into()),
    };
    assert!(matches!(
        h.core
            .execute(Mutation::Ingest(vec![new_event("h1", None, decided)]))
            .await,
        Err(CoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn commands_are_issued_and_acknowledged_once() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let pause = IssueCommand {
        command: CommandType::Pause,
        step_id: None,
        reason: Some("wait".into()),
    };
    let Outcome::Command(cmd) = ok(&h.core, Mutation::IssueCommand("s1".into(), pause, by())).await
    else {
        panic!()
    };
    assert_eq!(cmd.status, CommandStatus::Pending);
    let session = h.core.read().session(&"s1".into()).expect("s");
    assert_eq!(session.status, SessionStatus::Paused);
    assert_eq!(session.pending_commands.len(), 1);

    let ack = Mutation::AcknowledgeCommand(
        "s1".into(),
        cmd.id.clone(),
        AcknowledgeCommand {
            note: Some("denied tool".into()),
        },
    );
    let Outcome::Command(acked) = ok(&h.core, ack.clone()).await else {
        panic!()
    };
    assert_eq!(acked.status, CommandStatus::Acknowledged);
    assert!(
        matches!(h.core.execute(ack).await, Err(CoreError::Conflict(_))),
        "second ack refused"
    );
    let unknown =
        Mutation::AcknowledgeCommand("s1".into(), "nope".into(), AcknowledgeCommand::default());
    assert!(matches!(
        h.core.execute(unknown).await,
        Err(CoreError::NotFound { .. })
    ));
    let bad_step = IssueCommand {
        command: CommandType::Skip,
        step_id: Some("no-step".into()),
        reason: None,
    };
    assert!(matches!(
        h.core
            .execute(Mutation::IssueCommand("s1".into(), bad_step, by()))
            .await,
        Err(CoreError::NotFound { .. })
    ));

    let resume = IssueCommand {
        command: CommandType::Resume,
        step_id: None,
        reason: None,
    };
    ok(&h.core, Mutation::IssueCommand("s1".into(), resume, by())).await;
    assert_eq!(
        h.core.read().session(&"s1".into()).expect("s").status,
        SessionStatus::Active
    );

    ok(
        &h.core,
        Mutation::EndSession("s1".into(), EndSession::default()),
    )
    .await;
    let late = IssueCommand {
        command: CommandType::Cancel,
        step_id: None,
        reason: None,
    };
    assert!(matches!(
        h.core
            .execute(Mutation::IssueCommand("s1".into(), late, by()))
            .await,
        Err(CoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn input_answers_the_open_question_once() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let nothing = SubmitInput {
        text: "hello".into(),
        request_id: None,
    };
    assert!(matches!(
        h.core
            .execute(Mutation::SubmitInput("s1".into(), nothing.clone(), by()))
            .await,
        Err(CoreError::Conflict(_))
    ));

    let ask = AwaitInput {
        request_id: Some("q1".into()),
        prompt: "Proceed?".into(),
        quick_responses: vec!["yes".into()],
        step_id: None,
    };
    let Outcome::Awaiting(waiting) = ok(&h.core, Mutation::AwaitInput("s1".into(), ask)).await
    else {
        panic!()
    };
    assert_eq!(waiting.request_id.as_str(), "q1");
    assert_eq!(
        h.core.read().session(&"s1".into()).expect("s").status,
        SessionStatus::Waiting
    );

    let Outcome::Answer(answer) = ok(
        &h.core,
        Mutation::SubmitInput("s1".into(), nothing.clone(), by()),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(
        (answer.request_id.as_str(), answer.text.as_str()),
        ("q1", "hello")
    );
    let session = h.core.read().session(&"s1".into()).expect("s");
    assert!(session.awaiting_input.is_none());
    assert_eq!(session.status, SessionStatus::Active);
    let again = SubmitInput {
        text: "again".into(),
        request_id: Some("q1".into()),
    };
    let err = h
        .core
        .execute(Mutation::SubmitInput("s1".into(), again, by()))
        .await
        .expect_err("answered");
    assert!(err.to_string().contains("already answered"), "{err}");
    let empty = AwaitInput {
        request_id: None,
        prompt: " ".into(),
        quick_responses: vec![],
        step_id: None,
    };
    assert!(matches!(
        h.core
            .execute(Mutation::AwaitInput("s1".into(), empty))
            .await,
        Err(CoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_first_permission_decision_wins() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let ask = RequestPermission {
        request_id: Some("p1".into()),
        tool_name: "Bash".into(),
        tool_input: json!({"command": "ls"}),
        tool_use_id: None,
    };
    ok(
        &h.core,
        Mutation::RequestPermission("s1".into(), ask.clone()),
    )
    .await;
    // Asking again with the same id re-attaches and emits nothing.
    let before = h.published.len();
    ok(&h.core, Mutation::RequestPermission("s1".into(), ask)).await;
    assert_eq!(h.published.len(), before);

    let deny = DecidePermission {
        behavior: PermissionBehavior::Deny,
        message: Some("no".into()),
    };
    let Outcome::Permission(p) = ok(
        &h.core,
        Mutation::DecidePermission("s1".into(), "p1".into(), deny, by()),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(
        p.decision.expect("decided").behavior,
        PermissionBehavior::Deny
    );
    let allow = DecidePermission {
        behavior: PermissionBehavior::Allow,
        message: None,
    };
    let err = h
        .core
        .execute(Mutation::DecidePermission(
            "s1".into(),
            "p1".into(),
            allow.clone(),
            by(),
        ))
        .await
        .expect_err("second");
    assert!(
        matches!(err, CoreError::Conflict(_)) && err.to_string().contains("first answer wins"),
        "{err}"
    );
    assert!(matches!(
        h.core
            .execute(Mutation::DecidePermission(
                "s1".into(),
                "p9".into(),
                allow,
                by()
            ))
            .await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(
        h.core
            .read()
            .session(&"s1".into())
            .expect("s")
            .pending_permissions
            .is_empty()
    );
}

#[tokio::test]
async fn steps_and_files_fold_into_chains() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let chain = ChainId::from("main");
    let events = vec![
        new_event(
            "s1",
            None,
            EventKind::StepSpawned {
                chain_id: chain.clone(),
                step_id: "a".into(),
                name: "Explore".into(),
                kind: StepKind::Subagent,
                waits_for: vec![],
                parent_step_id: None,
                agent_type: Some("Explore".into()),
                tool_use_id: None,
                input: None,
            },
        ),
        new_event(
            "s1",
            None,
            EventKind::StepStarted {
                chain_id: chain.clone(),
                step_id: "a".into(),
            },
        ),
        new_event(
            "s1",
            None,
            EventKind::FileModified {
                path: "src/lib.rs".into(),
                step_id: None,
            },
        ),
        new_event(
            "s1",
            None,
            EventKind::StepFailed {
                chain_id: chain.clone(),
                step_id: "a".into(),
                error: "boom".into(),
            },
        ),
    ];
    ok(&h.core, Mutation::Ingest(events)).await;
    let detail = h.core.read().detail(&"s1".into()).expect("detail");
    let step = &detail.chains[0].steps[0];
    assert_eq!(
        (step.status, step.error.as_deref()),
        (StepStatus::Failed, Some("boom"))
    );
    assert_eq!(
        detail.file_changes[0].step_id.as_ref().map(StepId::as_str),
        Some("a"),
        "file stamped with the running step"
    );
    assert_eq!(detail.session.counts.failures, 1);
    assert!(detail.session.current_step_id.is_none());
}

#[tokio::test]
async fn folding_the_stored_history_gives_the_live_state() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    ok(&h.core, create("s2")).await;
    let pause = IssueCommand {
        command: CommandType::Pause,
        step_id: None,
        reason: None,
    };
    ok(&h.core, Mutation::IssueCommand("s1".into(), pause, by())).await;
    let ask = AwaitInput {
        request_id: None,
        prompt: "?".into(),
        quick_responses: vec![],
        step_id: None,
    };
    ok(&h.core, Mutation::AwaitInput("s2".into(), ask)).await;
    ok(
        &h.core,
        Mutation::Ingest(vec![
            new_event("s1", None, prompt("p")),
            new_event("s2", None, prompt("q")),
        ]),
    )
    .await;
    ok(
        &h.core,
        Mutation::EndSession(
            "s2".into(),
            EndSession {
                status: Some(SessionStatus::Failed),
                reason: Some("x".into()),
            },
        ),
    )
    .await;

    let (rebuilt, latest) = rebuild(&h.reader).expect("rebuilds");
    assert_eq!(latest, h.core.read().latest_seq());
    for id in ["s1", "s2"] {
        let live = h.core.read().detail(&id.into()).expect("live");
        let folded = rebuilt
            .sessions
            .get(&SessionId::from(id))
            .expect("folded")
            .detail();
        assert_eq!(live, folded, "session {id}");
    }
}

#[tokio::test]
async fn concurrent_operations_get_gap_free_increasing_seqs() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let core = h.core.clone();
        tasks.push(tokio::spawn(async move {
            core.execute(Mutation::Ingest(vec![new_event(
                "s1",
                Some(&format!("e{i}")),
                prompt("x"),
            )]))
            .await
        }));
    }
    for task in tasks {
        task.await.expect("joins").expect("ok");
    }
    let published: Vec<u64> = h
        .published
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        published,
        (1..=202).collect::<Vec<_>>(),
        "published in seq order, without gaps"
    );
}

#[tokio::test]
async fn retention_prunes_ended_sessions_and_their_events_and_announces_it() {
    let h = harness();
    ok(&h.core, create("old")).await;
    ok(&h.core, create("live")).await;
    ok(
        &h.core,
        Mutation::Ingest(vec![new_event("old", None, prompt("p"))]),
    )
    .await;
    ok(
        &h.core,
        Mutation::EndSession("old".into(), EndSession::default()),
    )
    .await;
    let nothing = ok(
        &h.core,
        Mutation::Prune {
            ended_before: chrono::Utc::now() - chrono::Duration::hours(1),
        },
    )
    .await;
    assert!(matches!(nothing, Outcome::Pruned { ref sessions, .. } if sessions.is_empty()));
    let Outcome::Pruned { sessions, events } = ok(
        &h.core,
        Mutation::Prune {
            ended_before: chrono::Utc::now() + chrono::Duration::seconds(1),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!((sessions, events), (vec![SessionId::from("old")], 4));
    assert!(h.core.read().session(&"old".into()).is_none());
    assert!(h.core.read().session(&"live".into()).is_some());
    assert_eq!(
        h.published.types().last().map(String::as_str),
        Some("session:pruned")
    );
    let (rebuilt, _) = rebuild(&h.reader).expect("rebuilds");
    assert!(
        !rebuilt.sessions.contains_key(&SessionId::from("old")),
        "a restart does not resurrect it"
    );
}

#[tokio::test]
async fn set_watch_emits_once_per_change_and_is_a_no_op_after_end() {
    let h = harness();
    ok(&h.core, create("w1")).await;
    let watched = WatchState {
        watched: true,
        reason: None,
    };
    let before = h.published.len();
    ok(&h.core, Mutation::SetWatch("w1".into(), watched.clone())).await;
    assert_eq!(h.published.len(), before + 1);
    assert_eq!(
        h.published.types().last().map(String::as_str),
        Some("session:updated")
    );
    assert_eq!(
        h.core.read().session(&"w1".into()).expect("session").watch,
        watched
    );
    // The same state again emits nothing.
    ok(&h.core, Mutation::SetWatch("w1".into(), watched.clone())).await;
    assert_eq!(h.published.len(), before + 1);
    ok(
        &h.core,
        Mutation::EndSession("w1".into(), EndSession::default()),
    )
    .await;
    let ended = h.published.len();
    // After the end: accepted, nothing emitted, the end's watch state kept.
    ok(&h.core, Mutation::SetWatch("w1".into(), watched)).await;
    assert_eq!(h.published.len(), ended);
    assert!(
        !h.core
            .read()
            .session(&"w1".into())
            .expect("session")
            .watch
            .watched
    );
    // An unknown session is not found.
    let missing = h
        .core
        .execute(Mutation::SetWatch(
            "nope".into(),
            WatchState {
                watched: false,
                reason: None,
            },
        ))
        .await;
    assert!(matches!(missing, Err(CoreError::NotFound { .. })));
}

#[tokio::test]
async fn a_permission_answered_in_the_terminal_is_settled_by_the_next_event_of_that_call() {
    let h = harness();
    ok(&h.core, create("s1")).await;
    let input = json!({"command": "rm -rf build"});
    let ask = RequestPermission {
        request_id: Some("p1".into()),
        tool_name: "Bash".into(),
        tool_input: input.clone(),
        tool_use_id: None,
    };
    ok(&h.core, Mutation::RequestPermission("s1".into(), ask)).await;
    let other = RequestPermission {
        request_id: Some("p2".into()),
        tool_name: "Write".into(),
        tool_input: json!({"file_path": "/a"}),
        tool_use_id: None,
    };
    ok(&h.core, Mutation::RequestPermission("s1".into(), other)).await;
    assert_eq!(
        h.core.read().session(&"s1".into()).expect("s").status,
        SessionStatus::Waiting
    );
    // The same call ran: someone allowed it in the terminal.
    let ran = EventKind::ToolUsed {
        tool_name: "Bash".into(),
        tool_use_id: Some("toolu_9".into()),
        status: ToolStatus::Succeeded,
        input: Some(input),
        response: None,
        error: None,
        step_id: None,
        duration_ms: None,
    };
    ok(&h.core, Mutation::Ingest(vec![new_event("s1", None, ran)])).await;
    let session = h.core.read().session(&"s1".into()).expect("s");
    assert_eq!(
        session
            .pending_permissions
            .iter()
            .map(|p| p.request_id.as_str())
            .collect::<Vec<_>>(),
        ["p2"],
        "only that call's request settles"
    );
    let settled = h
        .core
        .read()
        .with_session(&"s1".into(), |r| r.permission(&"p1".into()).cloned())
        .flatten()
        .expect("kept");
    assert!(settled.settled_at.is_some() && settled.decision.is_none());
    let late = DecidePermission {
        behavior: PermissionBehavior::Allow,
        message: None,
    };
    let err = h
        .core
        .execute(Mutation::DecidePermission(
            "s1".into(),
            "p1".into(),
            late,
            by(),
        ))
        .await
        .expect_err("settled");
    assert!(
        matches!(err, CoreError::Conflict(_)) && err.to_string().contains("settled"),
        "{err}"
    );
    // The turn ends: whatever still waited for a permission is settled too.
    let stop = AwaitInput {
        request_id: None,
        prompt: "Done.".into(),
        quick_responses: vec![],
        step_id: None,
    };
    ok(&h.core, Mutation::AwaitInput("s1".into(), stop)).await;
    assert!(
        h.core
            .read()
            .session(&"s1".into())
            .expect("s")
            .pending_permissions
            .is_empty()
    );
}
