//! Tests of the mapping: pure functions of a capture and the session's state.

use chainwatch_shared::{
    ChainStatus, EventKind, Session, SessionCounts, SessionDetail, SessionStatus, WatchState,
};
use chrono::Utc;
use serde_json::{Value, json};

use super::*;

fn origin() -> Origin {
    Origin {
        hostname: Some("laptop".into()),
        user: Some("ada".into()),
        platform: "linux".into(),
        cwd: Some("/tmp".into()),
    }
}

fn capture(value: Value) -> Capture {
    Capture::new(Payload::from_value(value).expect("payload"))
}

fn mapped(value: Value, session: SessionState<'_>) -> Mapping {
    let origin = origin();
    let ctx = Context {
        session,
        live: true,
        permission_wait: true,
        origin: &origin,
    };
    map(&capture(value), &ctx)
}

fn kinds(mapping: &Mapping) -> Vec<&'static str> {
    mapping.batch().iter().map(|e| e.kind.type_name()).collect()
}

fn detail(status: SessionStatus) -> SessionDetail {
    let now = Utc::now();
    SessionDetail {
        session: Session {
            id: SessionId::new("s"),
            cwd: "/w".into(),
            hostname: None,
            platform: None,
            user: None,
            model: None,
            title: None,
            first_prompt: None,
            summary: None,
            source: Some("hook".into()),
            status,
            paused: false,
            started_at: now,
            updated_at: now,
            ended_at: None,
            end_reason: None,
            watch: WatchState {
                watched: false,
                reason: None,
            },
            counts: SessionCounts::default(),
            usage: Default::default(),
            awaiting_input: None,
            pending_permissions: Vec::new(),
            pending_commands: Vec::new(),
            current_step_id: None,
            last_seq: 0,
        },
        chains: Vec::new(),
        answers: Vec::new(),
        file_changes: Vec::new(),
    }
}

fn step(id: &str, status: StepStatus, started: i64, ended: Option<i64>) -> ChainStep {
    let at = |s: i64| Utc::now() - chrono::Duration::seconds(100 - s);
    ChainStep {
        id: StepId::new(id),
        chain_id: ChainId::new(MAIN_CHAIN),
        name: id.into(),
        kind: StepKind::Task,
        status,
        waits_for: Vec::new(),
        parent_step_id: None,
        agent_type: Some("Explore".into()),
        tool_use_id: None,
        input: None,
        result: None,
        error: None,
        started_at: Some(at(started)),
        ended_at: ended.map(at),
    }
}

fn chain(steps: Vec<ChainStep>) -> Chain {
    Chain {
        id: ChainId::new(MAIN_CHAIN),
        session_id: SessionId::new("s"),
        name: None,
        status: ChainStatus::Running,
        steps,
        started_at: None,
        completed_at: None,
    }
}

#[test]
fn every_mapping_starts_with_the_sessions_one_start() {
    let a = mapped(
        json!({"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi","cwd":"/w"}),
        SessionState::Unknown,
    );
    let b = mapped(
        json!({"session_id":"s","hook_event_name":"Notification","message":"m","cwd":"/w"}),
        SessionState::Unknown,
    );
    assert_eq!(kinds(&a), vec!["session:started", "prompt:submitted"]);
    let (sa, sb) = (a.start.expect("start"), b.start.expect("start"));
    assert_eq!(sa.event_id, sb.event_id);
    match sa.kind {
        EventKind::SessionStarted {
            cwd,
            hostname,
            user,
            source,
            ..
        } => {
            assert_eq!(cwd, "/w");
            assert_eq!(hostname.as_deref(), Some("laptop"));
            assert_eq!(user.as_deref(), Some("ada"));
            assert_eq!(source.as_deref(), Some("hook"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_relative_or_missing_cwd_falls_back_to_an_absolute_one() {
    let m = mapped(
        json!({"session_id":"s","hook_event_name":"Stop","cwd":"relative"}),
        SessionState::Unknown,
    );
    match &m.batch()[0].kind {
        EventKind::SessionStarted { cwd, .. } => assert_eq!(cwd, "/tmp"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn session_start_depends_on_what_the_server_has() {
    let payload = json!({"session_id":"s","hook_event_name":"SessionStart","source":"resume","model":"m1","cwd":"/w"});
    assert_eq!(
        kinds(&mapped(payload.clone(), SessionState::Absent)),
        vec!["session:started", "agent:event"]
    );
    let ended = detail(SessionStatus::Completed);
    let reopen = mapped(payload.clone(), SessionState::Present(&ended));
    assert_eq!(kinds(&reopen), vec!["session:started"]);
    assert!(reopen.start.is_none(), "a reopen is its own start");
    let live = detail(SessionStatus::Active);
    assert_eq!(
        kinds(&mapped(payload, SessionState::Present(&live))),
        vec!["session:started", "agent:event", "session:updated"]
    );
}

#[test]
fn session_end_of_an_ended_session_is_kept_as_history() {
    let payload =
        json!({"session_id":"s","hook_event_name":"SessionEnd","reason":"other","cwd":"/w"});
    let ended = detail(SessionStatus::Completed);
    assert_eq!(
        kinds(&mapped(payload.clone(), SessionState::Present(&ended))),
        vec!["session:started", "agent:event"]
    );
    let mut live = detail(SessionStatus::Active);
    live.chains.push(chain(Vec::new()));
    assert_eq!(
        kinds(&mapped(payload, SessionState::Present(&live))),
        vec!["session:started", "chain:completed", "session:ended"]
    );
}

#[test]
fn ids_in_one_batch_are_distinct() {
    let m = mapped(
        json!({"session_id":"s","hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_use_id":"t1",
               "tool_response":{"stdout":"out","stderr":"err"},"error":"Exit code 2","cwd":"/w"}),
        SessionState::Unknown,
    );
    let ids: Vec<_> = m.batch().into_iter().filter_map(|e| e.event_id).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");
    assert_eq!(
        kinds(&m),
        vec![
            "session:started",
            "tool:used",
            "terminal:output",
            "terminal:output",
            "terminal:output"
        ]
    );
}

#[test]
fn task_steps_wait_for_what_finished_since_the_last_spawn() {
    // a and b ran in parallel and finished; c starts after both.
    let a = step("task-a", StepStatus::Completed, 10, Some(30));
    let b = step("task-b", StepStatus::Completed, 11, Some(35));
    let c = StepId::new("task-c");
    let two = chain(vec![a.clone(), b.clone()]);
    assert_eq!(
        waits_for(Some(&two), None, &c),
        vec![StepId::new("task-a"), StepId::new("task-b")]
    );
    // d spawned beside a running c waits for what c waits for.
    let mut running = step("task-c", StepStatus::Running, 40, None);
    running.waits_for = vec![StepId::new("task-a"), StepId::new("task-b")];
    let three = chain(vec![a, b, running]);
    assert_eq!(
        waits_for(Some(&three), None, &StepId::new("task-d")),
        vec![StepId::new("task-a"), StepId::new("task-b")]
    );
    assert!(waits_for(None, None, &c).is_empty());
}

#[test]
fn a_subagent_belongs_to_the_newest_open_call_of_its_type() {
    let mut plan = step("task-plan", StepStatus::Running, 10, None);
    plan.agent_type = Some("Plan".into());
    let explore = step("task-explore", StepStatus::Running, 11, None);
    let c = chain(vec![explore, plan]);
    assert_eq!(
        spawning_task(Some(&c), Some("Explore"), "a1"),
        Some(StepId::new("task-explore"))
    );
    assert_eq!(
        spawning_task(Some(&c), Some("Other"), "a1"),
        Some(StepId::new("task-plan"))
    );
    assert_eq!(spawning_task(None, Some("Explore"), "a1"), None);
}

#[test]
fn a_subagent_belongs_to_the_call_whose_response_named_it() {
    // Five calls in parallel: the guess would take the newest; the response is exact.
    let mut named = step("task-1", StepStatus::Completed, 10, Some(12));
    named.result = Some(json!({"agentId": "a1", "isAsync": true}));
    let newer = step("task-2", StepStatus::Running, 11, None);
    let c = chain(vec![named, newer]);
    assert_eq!(
        spawning_task(Some(&c), Some("Explore"), "a1"),
        Some(StepId::new("task-1"))
    );
    assert_eq!(
        spawning_task(Some(&c), Some("Explore"), "a2"),
        Some(StepId::new("task-2"))
    );
    // The call's PostToolUse ties the subagent's step to the call, whichever comes first.
    let m = mapped(
        json!({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Agent","tool_use_id":"t9",
               "tool_input":{"description":"Build the API","prompt":"p","subagent_type":"general-purpose"},
               "tool_response":{"agentId":"a9","isAsync":true},"cwd":"/w"}),
        SessionState::Present(&detail(SessionStatus::Active)),
    );
    let link = m
        .batch()
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::StepSpawned {
                step_id,
                parent_step_id,
                kind,
                ..
            } => Some((step_id.clone(), parent_step_id.clone(), *kind)),
            _ => None,
        })
        .expect("a link");
    assert_eq!(
        link,
        (agent_step("a9"), Some(task_step("t9")), StepKind::Subagent)
    );
}

#[test]
fn permission_requests_wait_only_when_live() {
    let payload = json!({"session_id":"s","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"ls"},"cwd":"/w"});
    assert_eq!(
        kinds(&mapped(payload.clone(), SessionState::Unknown)),
        vec!["session:started", "permission:requested"]
    );
    let origin = origin();
    let late = Context {
        session: SessionState::Unknown,
        live: false,
        permission_wait: true,
        origin: &origin,
    };
    let m = map(&capture(payload), &late);
    assert_eq!(kinds(&m), vec!["session:started", "agent:event"]);
}

#[test]
fn oversized_values_are_cut_to_what_the_server_takes() {
    let big = "x".repeat(2 * 1024 * 1024);
    let m = mapped(
        json!({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Read","tool_use_id":"t",
               "tool_input":{"file_path":"/w/a"},"tool_response":{"content":big},"cwd":"/w"}),
        SessionState::Unknown,
    );
    let encoded = serde_json::to_string(&m.batch()).expect("json");
    assert!(encoded.len() < 512 * 1024, "{}", encoded.len());
    match &m.events[0].kind {
        EventKind::ToolUsed {
            response: Some(r), ..
        } => assert_eq!(r["truncated"], true),
        other => panic!("{other:?}"),
    }
    assert_eq!(cut("héllo", 2), "h");
    assert_eq!(cut("a\0b", 10), "ab");
}

#[test]
fn unknown_events_keep_the_whole_payload() {
    let payload = json!({"session_id":"s","hook_event_name":"Brand New","cwd":"/w","x":{"y":[1]}});
    let m = mapped(payload.clone(), SessionState::Unknown);
    match &m.events[0].kind {
        EventKind::AgentEvent {
            name,
            payload: kept,
        } => {
            assert_eq!(name, "Brand New");
            assert_eq!(kept, &payload);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_2026_events_a_person_cares_about_are_mapped_and_kept() {
    let denied = mapped(
        json!({"session_id": "s", "hook_event_name": "PermissionDenied", "tool_name": "Bash",
            "tool_input": {"command": "rm -rf /"}, "tool_use_id": "toolu_1", "reason": "risky",
            "prompt_id": "p1", "agent_id": "a1", "agent_type": "Explore"}),
        SessionState::Unknown,
    );
    assert_eq!(kinds(&denied), ["session:started", "tool:used"]);
    match &denied.events[0].kind {
        EventKind::ToolUsed {
            status,
            error,
            step_id,
            ..
        } => {
            assert_eq!(*status, ToolStatus::Failed);
            assert!(error.as_deref().is_some_and(|e| e.contains("risky")));
            assert_eq!(step_id.as_ref().map(StepId::as_str), Some("agent-a1"));
        }
        other => panic!("{other:?}"),
    }
    // The payload, prompt_id and agent fields included, is what a refused batch keeps.
    match &denied.fallback.kind {
        EventKind::AgentEvent { payload, .. } => {
            assert_eq!(payload["prompt_id"], "p1");
            assert_eq!(payload["agent_type"], "Explore");
        }
        other => panic!("{other:?}"),
    }

    let failed = mapped(
        json!({"session_id": "s", "hook_event_name": "StopFailure", "error": "rate_limit"}),
        SessionState::Unknown,
    );
    assert_eq!(kinds(&failed), ["session:started", "error:occurred"]);

    let switched = mapped(
        json!({"session_id": "s", "hook_event_name": "PostModelSwitch", "model": "claude-haiku-5"}),
        SessionState::Unknown,
    );
    assert_eq!(
        kinds(&switched),
        ["session:started", "agent:event", "session:updated"]
    );

    for (event, extra) in [
        ("PostCompact", json!({"trigger": "auto"})),
        ("CwdChanged", json!({"old_cwd": "/a", "new_cwd": "/b"})),
    ] {
        let mut payload = json!({"session_id": "s", "hook_event_name": event});
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let mapping = mapped(payload, SessionState::Unknown);
        assert_eq!(
            kinds(&mapping),
            ["session:started", "agent:event", "agent:notification"],
            "{event}"
        );
    }

    let other = mapped(
        json!({"session_id": "s", "hook_event_name": "TaskCreated", "task_id": "t1"}),
        SessionState::Unknown,
    );
    assert_eq!(kinds(&other), ["session:started", "agent:event"]);
}

/// The hook posts to `POST /api/events`, so what it maps must pass the server's field
/// rules (`core::rules`, the one table) even for hostile payloads: oversized, NUL-laden
/// and empty fields are cut, cleaned or defaulted here rather than refused there.
#[test]
fn every_event_the_hook_maps_passes_the_servers_field_rules() {
    use crate::core::rules::{MAX_NAME_LEN, MAX_TEXT_LEN, event_fields};
    // Past the name limit everywhere, with a NUL; past the text limit where texts go.
    let name = format!("a\0b{}", "x".repeat(MAX_NAME_LEN));
    let text = format!("a\0b{}", "x".repeat(MAX_TEXT_LEN));
    let names = [
        "SessionStart",
        "SessionEnd",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "SubagentStart",
        "SubagentStop",
        "PermissionRequest",
        "Stop",
        "Notification",
        "PreCompact",
        "SomethingNew",
    ];
    let active = detail(SessionStatus::Active);
    let ended = detail(SessionStatus::Completed);
    let mut checked = std::collections::BTreeSet::new();
    for hook_event in names {
        // The text-sized case only where texts go, to keep the test quick.
        let texts = matches!(
            hook_event,
            "SessionEnd" | "UserPromptSubmit" | "Notification" | "PostToolUseFailure"
        );
        let mut variants = vec![("Bash", &name), ("Task", &name)];
        if texts {
            variants.push((name.as_str(), &text));
        }
        for (tool, long) in variants {
            let payload = json!({
                "session_id": "s", "hook_event_name": hook_event, "cwd": "/w",
                "model": name, "reason": long, "prompt": long, "message": long,
                "notification_type": name, "tool_name": tool, "tool_use_id": "t1",
                "agent_id": "a1", "agent_type": name, "error": long,
                "tool_input": {"description": name}, "tool_response": long,
            });
            for session in [
                SessionState::Unknown,
                SessionState::Present(&active),
                SessionState::Present(&ended),
            ] {
                for event in mapped(payload.clone(), session).batch() {
                    event_fields(&event.kind).unwrap_or_else(|e| {
                        panic!(
                            "{hook_event}: {} breaks the rules: {e}",
                            event.kind.type_name()
                        )
                    });
                    checked.insert(event.kind.type_name());
                }
            }
        }
    }
    for kind in [
        "session:started",
        "session:updated",
        "session:ended",
        "tool:used",
    ] {
        assert!(
            checked.contains(kind),
            "{kind} was mapped and checked: {checked:?}"
        );
    }
}
