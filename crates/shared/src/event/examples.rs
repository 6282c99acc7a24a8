//! One example of every event type, in declaration order: the list code walks when
//! it must cover every type (the web's generated list of global types, the server's
//! tests that feed every type through every path, the projection cross-check). The
//! unit test `samples_cover_every_type_in_order` holds it to [`EventKind::TYPE_NAMES`],
//! whose completeness the exhaustive match of `ordinal` guarantees.

use serde_json::json;

use super::{EventKind, OutputStream, ToolStatus};
use crate::ids::*;
use crate::model::*;

impl EventKind {
    /// One example of every event type, in declaration order.
    #[allow(clippy::too_many_lines)]
    pub fn examples() -> Vec<EventKind> {
        let chain = ChainId::from("c1");
        let step = StepId::from("s1");
        vec![
            EventKind::SessionStarted {
                cwd: "/work/app".into(),
                hostname: Some("laptop".into()),
                platform: Some("linux".into()),
                user: Some("ada".into()),
                model: None,
                title: None,
                source: Some("api".into()),
                watch: Some(WatchState {
                    watched: true,
                    reason: None,
                }),
            },
            EventKind::SessionUpdated {
                status: Some(SessionStatus::Active),
                summary: Some("refactoring".into()),
                title: None,
                model: None,
                watch: None,
            },
            EventKind::SessionEnded {
                status: SessionStatus::Completed,
                reason: None,
            },
            EventKind::ChainCompiled {
                chain_id: chain.clone(),
                name: Some("plan".into()),
                steps: vec![StepSpec {
                    step_id: step.clone(),
                    name: "build".into(),
                    waits_for: vec![],
                    parent_step_id: None,
                }],
            },
            EventKind::ChainStarted {
                chain_id: chain.clone(),
            },
            EventKind::ChainCompleted {
                chain_id: chain.clone(),
                status: ChainStatus::Completed,
            },
            EventKind::StepSpawned {
                chain_id: chain.clone(),
                step_id: step.clone(),
                name: "Explore".into(),
                kind: StepKind::Subagent,
                waits_for: vec![StepId::from("s0")],
                parent_step_id: None,
                agent_type: Some("Explore".into()),
                tool_use_id: None,
                input: Some(json!({"prompt": "look"})),
            },
            EventKind::StepStarted {
                chain_id: chain.clone(),
                step_id: step.clone(),
            },
            EventKind::StepCompleted {
                chain_id: chain.clone(),
                step_id: step.clone(),
                result: Some(json!("done")),
            },
            EventKind::StepFailed {
                chain_id: chain,
                step_id: step.clone(),
                error: "boom".into(),
            },
            EventKind::InteractionAwaitingInput {
                request_id: RequestId::from("q1"),
                prompt: "Continue?".into(),
                quick_responses: vec!["yes".into(), "no".into()],
                step_id: None,
            },
            EventKind::InteractionInputReceived {
                request_id: RequestId::from("q1"),
                text: "yes".into(),
                answered_by: Some("alice".into()),
            },
            EventKind::PermissionRequested {
                request_id: RequestId::from("p1"),
                tool_name: "Bash".into(),
                tool_input: json!({"command": "rm -rf target"}),
                tool_use_id: Some("toolu_1".into()),
            },
            EventKind::PermissionDecided {
                request_id: RequestId::from("p1"),
                behavior: PermissionBehavior::Deny,
                message: Some("not now".into()),
                decided_by: Some("local".into()),
            },
            EventKind::CommandIssued {
                command_id: CommandId::from("k1"),
                command: CommandType::Pause,
                step_id: None,
                reason: Some("lunch".into()),
                issued_by: None,
            },
            EventKind::CommandAcknowledged {
                command_id: CommandId::from("k1"),
                note: None,
            },
            EventKind::FileCreated {
                path: "src/a.rs".into(),
                step_id: Some(step.clone()),
            },
            EventKind::FileModified {
                path: "src/a.rs".into(),
                step_id: None,
            },
            EventKind::FileDeleted {
                path: "src/a.rs".into(),
                step_id: None,
            },
            EventKind::ToolUsed {
                tool_name: "Bash".into(),
                tool_use_id: Some("toolu_2".into()),
                status: ToolStatus::Succeeded,
                input: Some(json!({"command": "ls"})),
                response: Some(json!({"stdout": "a\n"})),
                error: None,
                step_id: None,
                duration_ms: Some(12),
            },
            EventKind::PromptSubmitted {
                prompt: "fix the tests".into(),
            },
            EventKind::TerminalOutput {
                text: "\u{1b}[32mok\u{1b}[0m".into(),
                stream: Some(OutputStream::Stdout),
                tool_use_id: None,
                step_id: None,
            },
            EventKind::ErrorOccurred {
                message: "watch limit".into(),
                code: Some("watch".into()),
                step_id: None,
            },
            EventKind::AgentNotification {
                message: "needs you".into(),
                notification_type: None,
            },
            EventKind::MessageAssistant {
                text: "Done.".into(),
                model: Some("claude-sonnet-4-5".into()),
                usage: Some(crate::model::TokenUsage {
                    input_tokens: 10,
                    output_tokens: 5,
                    cache_read_tokens: 100,
                    cache_creation_tokens: 20,
                }),
                cost_usd: Some(0.0012),
                message_id: Some("msg_1".into()),
                step_id: None,
            },
            EventKind::SessionPruned {},
            EventKind::AgentEvent {
                name: "PreCompact".into(),
                payload: json!({"trigger": "auto"}),
            },
        ]
    }
}

/// Every `type` name with whether it travels on the global topic
/// ([`EventKind::is_global`]), in declaration order.
pub fn global_by_type() -> Vec<(&'static str, bool)> {
    EventKind::examples()
        .iter()
        .map(|kind| (kind.type_name(), kind.is_global()))
        .collect()
}
