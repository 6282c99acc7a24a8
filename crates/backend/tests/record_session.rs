//! Records a real Claude Code session as a fixture for the browser tests: the pinned
//! Claude Code (tests/claude-code) runs, offline, against the scripted model of the
//! conformance suite, with the hooks `chainwatch hooks install --user` writes, each
//! wrapped so that the payload Claude Code hands the hook on stdin is kept (with how many
//! lines each transcript had at that moment) before `chainwatch hook` gets it. The
//! result, with the transcripts, goes to web/tests/browser/fixtures/five-subagents/,
//! where web/tests/browser/replay.test.ts pipes the payloads through the real
//! `chainwatch hook` again while a page is open.
//!
//! Re-record (needs tmux-free print mode only; about a minute):
//! `cargo test -p chainwatch --test record_session -- --ignored --nocapture`
//! (`CHAINWATCH_RECORD_DIR=DIR` writes elsewhere).

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

#[path = "claude_code/harness.rs"]
mod harness;
#[path = "claude_code/model.rs"]
mod model;

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{Workspace, wait_until};
use model::{Script, Turn};
use serde_json::{Value, json};

/// The five parts the helpers build: (file, what it is).
const PARTS: [(&str, &str); 5] = [
    ("store", "the todo store"),
    ("api", "the REST API"),
    ("list", "the list view"),
    ("editor", "the editor view"),
    ("tests", "the tests"),
];

fn helper(n: usize) -> Vec<Turn> {
    let (file, what) = PARTS[n];
    let path = format!("$CWD/src/{file}.ts");
    let mut turns = vec![
        Turn::Tool(
            "Write",
            json!({"file_path": path, "content": format!("// {what}\nexport const {file} = {{\n  ready: false,\n}};\n")}),
        ),
        Turn::Tool(
            "Edit",
            json!({"file_path": path, "old_string": "  ready: false,", "new_string": format!("  ready: true,\n  part: \"{file}\",")}),
        ),
        Turn::Tool(
            "Bash",
            json!({"command": format!("echo part {file} built"), "description": format!("Build {file}")}),
        ),
    ];
    if file == "tests" {
        // One helper fails a call: the coverage folder does not exist.
        turns.push(Turn::Tool(
            "Bash",
            json!({"command": "ls $CWD/coverage", "description": "Look for coverage"}),
        ));
    }
    turns.push(Turn::Text(match n {
        0 => "HELPER-1 done: **src/store.ts** written and edited.",
        1 => "HELPER-2 done: **src/api.ts** written and edited.",
        2 => "HELPER-3 done: **src/list.ts** written and edited.",
        3 => "HELPER-4 done: **src/editor.ts** written and edited.",
        _ => "HELPER-5 done: **src/tests.ts** written and edited; no coverage yet.",
    }));
    turns
}

fn script() -> Script {
    const MARKERS: [&str; 5] = ["HELPER-1", "HELPER-2", "HELPER-3", "HELPER-4", "HELPER-5"];
    let agents = PARTS
        .iter()
        .zip(MARKERS)
        .map(|((file, what), marker)| {
            (
                "Agent",
                json!({
                    "description": format!("Build {what}"),
                    "prompt": format!("{marker}: build {what} in src/{file}.ts"),
                    "subagent_type": "general-purpose",
                }),
            )
        })
        .collect();
    Script {
        main: vec![
            Turn::Tool(
                "TodoWrite",
                json!({"todos": [
                    {"content": "Split the app into five parts", "status": "completed", "activeForm": "Splitting the app"},
                    {"content": "Build the parts in parallel", "status": "in_progress", "activeForm": "Building the parts"},
                    {"content": "Publish the result", "status": "pending", "activeForm": "Publishing"},
                ]}),
            ),
            Turn::Tools(agents),
            Turn::Text("Five helpers are building the parts."),
            Turn::Tool(
                "Bash",
                json!({"command": "git push --force origin main", "description": "Publish the app"}),
            ),
            Turn::Tool(
                "Write",
                json!({"file_path": "$CWD/README.md", "content": "# TODO app\n\nFive parts: store, api, list, editor, tests.\n"}),
            ),
            Turn::Text(
                "The TODO app is assembled: five parts and a README. Publishing was refused.",
            ),
        ],
        subagents: MARKERS
            .iter()
            .enumerate()
            .map(|(n, marker)| (*marker, helper(n)))
            .collect(),
    }
}

fn fixture_dir() -> PathBuf {
    std::env::var_os("CHAINWATCH_RECORD_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../web/tests/browser/fixtures/five-subagents")
        },
        PathBuf::from,
    )
}

/// Rewrites the installed hooks so each run keeps its payload first.
fn wrap_hooks(ws: &Workspace, raw: &Path) -> PathBuf {
    let wrapper = raw.join("record.sh");
    let bin = env!("CARGO_BIN_EXE_chainwatch");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             f=\"{dir}/$(date +%s%N)-$$\"\n\
             cat > \"$f.json\"\n\
             find \"$HOME/.claude/projects\" -name '*.jsonl' -exec wc -l {{}} \\; > \"$f.lines\" 2>/dev/null\n\
             exec '{bin}' hook < \"$f.json\"\n",
            dir = raw.display()
        ),
    )
    .unwrap();
    let settings_path = ws.home.join(".claude/settings.json");
    let text = std::fs::read_to_string(&settings_path).unwrap();
    let command = format!("sh {}", wrapper.display());
    let mut settings: Value = serde_json::from_str(&text).unwrap();
    let mut wrapped = 0;
    for entries in settings["hooks"].as_object_mut().unwrap().values_mut() {
        for entry in entries.as_array_mut().unwrap() {
            for hook in entry["hooks"].as_array_mut().unwrap() {
                if hook["command"]
                    .as_str()
                    .is_some_and(|c| c.ends_with(" hook"))
                {
                    hook["command"] = json!(command);
                    wrapped += 1;
                }
            }
        }
    }
    assert!(wrapped > 10, "only {wrapped} hooks wrapped");
    std::fs::write(&settings_path, settings.to_string()).unwrap();
    wrapper
}

#[test]
#[ignore = "re-records the browser tests' fixture: run by hand"]
fn record_five_parallel_subagents() {
    let ws = Workspace::new(script());
    let project = ws.project.to_string_lossy().into_owned();
    ws.model.set_cwd(&project);
    std::fs::create_dir_all(ws.project.join("src")).unwrap();
    let raw = ws.home.parent().unwrap().join("recorded");
    std::fs::create_dir_all(&raw).unwrap();
    wrap_hooks(&ws, &raw);

    let run = ws.print(
        "/orchestrator build the TODO app with five parallel helpers",
        &[
            "--allowedTools",
            "Bash(echo:*)",
            "Bash(ls:*)",
            "Write",
            "Edit",
            "Read",
        ],
    );
    let session = ws.session_id();
    // The push is not allowed: Claude Code asks, and the page denies it.
    let push = wait_until(
        "the permission request of the push",
        Duration::from_secs(90),
        String::new,
        || {
            ws.session(&session)["pendingPermissions"]
                .as_array()?
                .iter()
                .find(|p| p["toolInput"]["command"] == "git push --force origin main")
                .cloned()
        },
    );
    let (status, _) = ws.post(
        &format!(
            "/sessions/{session}/permissions/{}",
            push["requestId"].as_str().unwrap()
        ),
        json!({"behavior": "deny", "message": "Never force-push main."}),
    );
    assert_eq!(status, 200);
    let out = run.finish();
    assert!(out.success, "{}", out.stderr);
    assert!(ws.model.told("main").contains("Never force-push main."));
    // Every helper ran.
    for n in 1..=5 {
        assert!(
            ws.model.turns(&format!("HELPER-{n}")) >= 3,
            "HELPER-{n} ran {} turns",
            ws.model.turns(&format!("HELPER-{n}"))
        );
    }
    // Let the background Stop hooks and the session's end report.
    std::thread::sleep(Duration::from_secs(3));

    let dir = fixture_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("transcripts")).unwrap();
    let root = ws.home.parent().unwrap().to_string_lossy().into_owned();
    let projects = ws.home.join(".claude/projects");
    // Paths are kept relative: `$ROOT` is the recording's temporary folder (home/ and
    // project/ under it), `$TRANSCRIPTS` the folder of this session's transcripts.
    let key_dir = std::fs::read_dir(&projects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let key = key_dir.to_string_lossy().into_owned();
    let normalize = |text: &str| text.replace(&key, "$TRANSCRIPTS").replace(&root, "$ROOT");

    let mut names: Vec<PathBuf> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut lines = String::new();
    for name in &names {
        let payload: Value =
            serde_json::from_str(&normalize(&std::fs::read_to_string(name).unwrap())).unwrap();
        let mut transcripts = serde_json::Map::new();
        let counts = std::fs::read_to_string(name.with_extension("lines")).unwrap_or_default();
        for line in counts.lines() {
            let Some((count, path)) = line.trim().split_once(' ') else {
                continue;
            };
            let rel = path
                .strip_prefix(&format!("{key}/"))
                .map(str::to_owned)
                .unwrap_or_else(|| normalize(path));
            transcripts.insert(rel, json!(count.parse::<u64>().unwrap_or(0)));
        }
        lines.push_str(&json!({"payload": payload, "transcriptLines": transcripts}).to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("payloads.jsonl"), lines).unwrap();
    copy_normalized(&key_dir, &dir.join("transcripts"), &normalize);
    std::fs::write(
        dir.join("README.md"),
        format!(
            "# A recorded Claude Code session: five parallel subagents\n\n\
             Recorded by `cargo test -p chainwatch --test record_session -- --ignored` \
             (crates/backend/tests/record_session.rs) from Claude Code {} in print mode against \
             the conformance suite's scripted model. `payloads.jsonl`: one line per hook run, \
             in the order Claude Code started them: the stdin payload (`payload`) and how many \
             lines each transcript had then (`transcriptLines`, paths under `transcripts/`). \
             `$ROOT` stands for the recording's temporary folder, `$TRANSCRIPTS` for the \
             transcripts' folder. web/tests/browser/replay.test.ts pipes them through \
             `chainwatch hook`.\n\n\
             The session: a TodoWrite; five `Agent` calls in one turn, each helper writing, \
             editing and building one file of `src/` (the tests helper also fails an `ls`); \
             `git push --force origin main`, which is not allowed, asks for permission and was \
             denied from the page; a README written by the main agent.\n",
            harness::CLAUDE_CODE_VERSION
        ),
    )
    .unwrap();
    eprintln!("recorded {} hook runs into {}", names.len(), dir.display());
}

fn copy_normalized(from: &Path, to: &Path, normalize: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_normalized(&path, &target, normalize);
        } else if path
            .extension()
            .is_some_and(|x| x == "jsonl" || x == "json")
        {
            std::fs::write(&target, normalize(&std::fs::read_to_string(&path).unwrap())).unwrap();
        }
    }
}
