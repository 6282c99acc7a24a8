//! Conformance of Chainwatch's steering with the real Claude Code (the version pinned in
//! tests/claude-code, installed by `npm ci` when missing), offline: a scripted stand-in
//! of the Messages API plays the model, the hooks are the ones `chainwatch hooks install
//! --user` writes into a throw-away HOME, and the real server runs on port 0. Print mode
//! (`claude -p`) where the client allows it, tmux where it must be interactive. Each
//! scenario checks both sides: what the server recorded, and what Claude did and was told.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "claude_code/harness.rs"]
mod harness;
#[path = "claude_code/model.rs"]
mod model;

use std::time::Duration;

use harness::{Workspace, wait_until};
use model::{Script, Turn};
use serde_json::{Value, json};

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn pending_permission(ws: &Workspace, session: &str, tool: &str) -> Value {
    ws.wait_session(session, &format!("a pending {tool} permission"), |s| {
        s["pendingPermissions"]
            .as_array()?
            .iter()
            .find(|p| p["toolName"] == tool)
            .cloned()
    })
}

#[test]
fn permissions_allowed_and_denied_from_the_page_reach_claude() {
    let ws = Workspace::new(Script {
        main: vec![
            Turn::Tool(
                "Bash",
                json!({"command": "echo allowed-from-the-page > allowed.txt", "description": "Write a file"}),
            ),
            Turn::Tool(
                "Bash",
                json!({"command": "echo denied > denied.txt", "description": "Write another file"}),
            ),
            Turn::Text("Finished."),
        ],
        ..Script::default()
    });
    let run = ws.print("Write the two files", &[]);
    let session = ws.session_id();

    let first = pending_permission(&ws, &session, "Bash");
    assert_eq!(
        first["toolInput"]["command"],
        "echo allowed-from-the-page > allowed.txt"
    );
    let (status, _) = ws.post(
        &format!("/sessions/{session}/permissions/{}", first["requestId"].as_str().unwrap()),
        json!({"behavior": "allow"}),
    );
    assert_eq!(status, 200);

    let second = wait_until("the second request", Duration::from_secs(30), String::new, || {
        ws.session(&session)["pendingPermissions"]
            .as_array()?
            .iter()
            .find(|p| p["toolInput"]["command"] == "echo denied > denied.txt")
            .cloned()
    });
    let (status, _) = ws.post(
        &format!("/sessions/{session}/permissions/{}", second["requestId"].as_str().unwrap()),
        json!({"behavior": "deny", "message": "Not in this repository, please."}),
    );
    assert_eq!(status, 200);

    let out = run.finish();
    assert!(out.success, "{}", out.stderr);
    // Claude's side: the allowed command ran, the denied one did not, and the reason
    // reached the model as the tool's result.
    assert!(ws.project.join("allowed.txt").exists());
    assert!(!ws.project.join("denied.txt").exists());
    let told = ws.model.told("main");
    assert!(told.contains("Not in this repository, please."), "{told}");
    assert_eq!(out.result()["result"], "Finished.");
    // The server's side.
    let events = ws.events(&session);
    let decided: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "permission:decided")
        .collect();
    assert_eq!(decided.len(), 2);
    assert!(events.iter().any(|e| e["type"] == "tool:used"
        && e["status"] == "succeeded"
        && e["input"]["command"] == "echo allowed-from-the-page > allowed.txt"));
    assert!(ws.session(&session)["pendingPermissions"]
        .as_array()
        .is_some_and(Vec::is_empty));
}
