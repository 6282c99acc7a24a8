//! What the one fold (`SessionRecord::apply`) remembers of a session's tool calls beyond
//! its counts: the calls started and not yet settled (so a permission denied from the
//! page settles the call it was asked about: no later hook event carries that call's
//! `tool_use_id`, since a denied call never runs), the calls so settled (their late
//! outcome, should one come, is not counted twice), and the distinct files the session
//! changed (`SessionCounts::file_changes`).
//!
//! "Files changed" is defined here once, and mirrored by the web app
//! (web/src/components/detail/model/files.ts: `touchedFiles`, `changedCount`, what the Files tab shows): the distinct paths, relative
//! to the session's cwd when inside it, that had a `file:created`/`file:modified`/
//! `file:deleted` event or a succeeded `Write`, `Edit`, `MultiEdit` or `NotebookEdit`
//! call (the path from its `file_path`, `notebook_path` or `path` input).

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use serde_json::Value;

/// How many started-but-unsettled calls a session remembers (the newest).
pub const OPEN_CALLS_KEPT: usize = 256;
/// How many calls settled by a denial a session remembers (the newest).
pub const DENIED_CALLS_KEPT: usize = 256;
/// How many distinct changed files a session counts; past it the count stops growing.
pub const CHANGED_FILES_KEPT: usize = 10_000;

/// One call heard as `started` and not settled yet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct OpenCall {
    tool_use_id: String,
    tool_name: String,
    /// A hash of the input: a permission request names its call by tool and input.
    input_hash: u64,
    /// The file it writes, for a file-changing tool (its outcome may omit the input).
    path: Option<String>,
}

/// The tool-call memory of one session (see the module's text).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallMemory {
    open: VecDeque<OpenCall>,
    denied: VecDeque<String>,
    changed: HashSet<String>,
}

/// A stable hash of a JSON value (the same value gives the same hash in every run of
/// one build, which is all a snapshot needs: it is tied to the build). Objects are
/// hashed with their keys sorted: serde_json keeps key order (`preserve_order`), and a
/// call's input and its permission request's may list the same keys in another order.
fn hash_json(value: &Value) -> u64 {
    fn feed(value: &Value, hasher: &mut std::hash::DefaultHasher) {
        match value {
            Value::Object(fields) => {
                let mut keys: Vec<&String> = fields.keys().collect();
                keys.sort();
                b'{'.hash(hasher);
                for key in keys {
                    key.hash(hasher);
                    if let Some(field) = fields.get(key) {
                        feed(field, hasher);
                    }
                }
                b'}'.hash(hasher);
            }
            Value::Array(items) => {
                b'['.hash(hasher);
                for item in items {
                    feed(item, hasher);
                }
                b']'.hash(hasher);
            }
            scalar => scalar.to_string().hash(hasher),
        }
    }
    let mut hasher = std::hash::DefaultHasher::new();
    feed(value, &mut hasher);
    hasher.finish()
}

/// Whether a tool changes the file its input names.
pub fn changes_file(tool_name: &str) -> bool {
    matches!(tool_name, "Write" | "Edit" | "MultiEdit" | "NotebookEdit")
}

/// The file a tool input names (`file_path`, `notebook_path` or `path`).
pub fn input_path(input: Option<&Value>) -> Option<&str> {
    let input = input?.as_object()?;
    ["file_path", "notebook_path", "path"]
        .iter()
        .find_map(|key| input.get(*key)?.as_str())
}

/// `path` relative to `cwd` when inside it (the cwd's trailing slashes and the path's
/// leading `./` ignored), as the Files tab shows it; `None` for an empty path.
pub fn relative_to_cwd(path: &str, cwd: &str) -> Option<String> {
    let root = cwd.trim_end_matches('/');
    let out = if path.starts_with('/') {
        match path
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(inside) if !root.is_empty() => inside.to_owned(),
            _ => path.to_owned(),
        }
    } else {
        let mut rel = path;
        while let Some(rest) = rel.strip_prefix("./") {
            rel = rest;
        }
        rel.to_owned()
    };
    (!out.is_empty()).then_some(out)
}

impl CallMemory {
    /// A call started.
    pub fn started(&mut self, tool_use_id: &str, tool_name: &str, input: Option<&Value>) {
        self.open.retain(|c| c.tool_use_id != tool_use_id);
        if self.open.len() == OPEN_CALLS_KEPT {
            self.open.pop_front();
        }
        self.open.push_back(OpenCall {
            tool_use_id: tool_use_id.to_owned(),
            tool_name: tool_name.to_owned(),
            input_hash: hash_json(input.unwrap_or(&Value::Null)),
            path: changes_file(tool_name)
                .then(|| input_path(input).map(str::to_owned))
                .flatten(),
        });
    }

    /// A call's outcome arrived: whether it counts (false when a denial settled and
    /// counted the call already), and the path it wrote when it started as a file call.
    pub fn finished(&mut self, tool_use_id: &str) -> (bool, Option<String>) {
        let path = self
            .open
            .iter()
            .position(|c| c.tool_use_id == tool_use_id)
            .and_then(|i| self.open.remove(i))
            .and_then(|c| c.path);
        (!self.denied.iter().any(|d| d == tool_use_id), path)
    }

    /// A permission for `tool_name` with `input` (and the call's id when the request
    /// named it) was denied: settles that open call, the newest of its tool and input.
    /// True when a call was settled (it counts as a failed call).
    pub fn deny(&mut self, tool_use_id: Option<&str>, tool_name: &str, input: &Value) -> bool {
        let hash = hash_json(input);
        let found = match tool_use_id {
            Some(id) => self.open.iter().rposition(|c| c.tool_use_id == id),
            None => self
                .open
                .iter()
                .rposition(|c| c.tool_name == tool_name && c.input_hash == hash),
        };
        let Some(call) = found.and_then(|i| self.open.remove(i)) else {
            return false;
        };
        if self.denied.len() == DENIED_CALLS_KEPT {
            self.denied.pop_front();
        }
        self.denied.push_back(call.tool_use_id);
        true
    }

    /// A file changed (relative to the cwd already): true when it is a new one.
    pub fn changed(&mut self, path: String) -> bool {
        if self.changed.len() >= CHANGED_FILES_KEPT || self.changed.contains(&path) {
            return false;
        }
        self.changed.insert(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_are_relative_to_the_cwd_when_inside_it() {
        assert_eq!(
            relative_to_cwd("/repo/src/a.ts", "/repo").as_deref(),
            Some("src/a.ts")
        );
        assert_eq!(
            relative_to_cwd("/repo/src/a.ts", "/repo/").as_deref(),
            Some("src/a.ts")
        );
        assert_eq!(
            relative_to_cwd("/repository/a", "/repo").as_deref(),
            Some("/repository/a")
        );
        assert_eq!(
            relative_to_cwd("./src/a.ts", "/repo").as_deref(),
            Some("src/a.ts")
        );
        assert_eq!(
            relative_to_cwd("././src/dir", "/repo").as_deref(),
            Some("src/dir")
        );
        assert_eq!(relative_to_cwd("/repo", "/repo").as_deref(), Some("/repo"));
        assert_eq!(relative_to_cwd("", "/repo"), None);
    }

    #[test]
    fn a_denial_settles_the_newest_open_call_of_its_tool_and_input_once() {
        let mut memory = CallMemory::default();
        let input = json!({"command": "git push --force"});
        memory.started("t1", "Bash", Some(&input));
        memory.started("t2", "Bash", Some(&json!({"command": "ls"})));
        assert!(!memory.deny(None, "Bash", &json!({"command": "rm"})));
        assert!(memory.deny(None, "Bash", &input));
        // Settled once: a second denial of the same input finds nothing open.
        assert!(!memory.deny(None, "Bash", &input));
        // A late outcome of the denied call is not counted again; another call's is.
        assert_eq!(memory.finished("t1"), (false, None));
        assert_eq!(memory.finished("t2"), (true, None));
    }

    #[test]
    fn a_denial_naming_its_call_settles_that_call() {
        let mut memory = CallMemory::default();
        memory.started("t1", "Write", Some(&json!({"file_path": "/r/a"})));
        assert!(memory.deny(Some("t1"), "Write", &Value::Null));
        assert!(!memory.deny(Some("t1"), "Write", &Value::Null));
    }

    #[test]
    fn a_file_call_remembers_its_path_until_it_ends() {
        let mut memory = CallMemory::default();
        memory.started(
            "t1",
            "Edit",
            Some(&json!({"file_path": "/r/a.rs", "old_string": "x"})),
        );
        memory.started("t2", "Read", Some(&json!({"file_path": "/r/b.rs"})));
        assert_eq!(memory.finished("t1"), (true, Some("/r/a.rs".to_owned())));
        assert_eq!(memory.finished("t2"), (true, None));
        assert!(memory.changed("a.rs".into()));
        assert!(!memory.changed("a.rs".into()));
    }

    /// Folds `events` (flat JSON objects without envelope) through the one fold.
    fn fold(events: &[Value]) -> crate::core::projection::SessionRecord {
        let mut record = None::<crate::core::projection::SessionRecord>;
        for (i, e) in events.iter().enumerate() {
            let mut e = e.clone();
            e["seq"] = json!(i + 1);
            e["eventId"] = json!(format!("e{i}"));
            e["sessionId"] = json!("s");
            e["timestamp"] = json!("2026-11-27T12:00:00Z");
            let event: chainwatch_shared::WorkspaceEvent = serde_json::from_value(e).unwrap();
            match record.as_mut() {
                Some(r) => r.apply(&event),
                None => record = crate::core::projection::SessionRecord::start(&event),
            }
        }
        record.unwrap()
    }

    #[test]
    fn the_fold_settles_a_call_denied_from_the_page_as_a_failed_call_once() {
        let push = json!({"command": "git push --force"});
        let mut events = vec![
            json!({"type": "session:started", "cwd": "/repo"}),
            json!({"type": "tool:used", "toolName": "Bash", "toolUseId": "t1", "status": "started", "input": push}),
            json!({"type": "permission:requested", "requestId": "r1", "toolName": "Bash", "toolInput": push}),
        ];
        let before = fold(&events);
        assert_eq!(before.session.counts.tool_calls, 0);
        events.push(json!({"type": "permission:decided", "requestId": "r1", "behavior": "deny", "message": "no"}));
        let denied = fold(&events);
        assert_eq!(denied.session.counts.tool_calls, 1);
        assert_eq!(denied.session.counts.failures, 1);
        assert!(denied.session.pending_permissions.is_empty());
        // Should a late outcome of the same call come, it is not counted twice.
        events.push(json!({"type": "tool:used", "toolName": "Bash", "toolUseId": "t1", "status": "failed", "error": "denied"}));
        let late = fold(&events);
        assert_eq!(
            (late.session.counts.tool_calls, late.session.counts.failures),
            (1, 1)
        );
    }

    #[test]
    fn an_allowed_call_is_counted_by_its_outcome_only() {
        let input = json!({"command": "ls"});
        let record = fold(&[
            json!({"type": "session:started", "cwd": "/repo"}),
            json!({"type": "tool:used", "toolName": "Bash", "toolUseId": "t1", "status": "started", "input": input}),
            json!({"type": "permission:requested", "requestId": "r1", "toolName": "Bash", "toolInput": input}),
            json!({"type": "permission:decided", "requestId": "r1", "behavior": "allow"}),
            json!({"type": "tool:used", "toolName": "Bash", "toolUseId": "t1", "status": "succeeded", "input": input}),
        ]);
        assert_eq!(
            (
                record.session.counts.tool_calls,
                record.session.counts.failures
            ),
            (1, 0)
        );
    }

    #[test]
    fn file_changes_count_distinct_files_from_events_and_succeeded_write_calls() {
        let record = fold(&[
            json!({"type": "session:started", "cwd": "/repo"}),
            // A Write and the watcher's event for the same file: one file.
            json!({"type": "tool:used", "toolName": "Write", "toolUseId": "w1", "status": "started", "input": {"file_path": "/repo/a.ts", "content": "x"}}),
            json!({"type": "tool:used", "toolName": "Write", "toolUseId": "w1", "status": "succeeded"}),
            json!({"type": "file:created", "path": "a.ts"}),
            json!({"type": "file:modified", "path": "a.ts"}),
            // Two edits of one file outside the cwd: one more.
            json!({"type": "tool:used", "toolName": "Edit", "toolUseId": "e1", "status": "succeeded", "input": {"file_path": "/tmp/b.ts"}}),
            json!({"type": "tool:used", "toolName": "Edit", "toolUseId": "e2", "status": "succeeded", "input": {"file_path": "/tmp/b.ts"}}),
            // A failed edit and a read change nothing.
            json!({"type": "tool:used", "toolName": "Edit", "toolUseId": "e3", "status": "failed", "input": {"file_path": "/repo/c.ts"}}),
            json!({"type": "tool:used", "toolName": "Read", "toolUseId": "r1", "status": "succeeded", "input": {"file_path": "/repo/d.ts"}}),
            // The watcher alone: one more.
            json!({"type": "file:deleted", "path": "./old.txt"}),
        ]);
        assert_eq!(record.session.counts.file_changes, 3);
        assert_eq!(record.file_changes.len(), 3);
    }

    #[test]
    fn an_input_hashes_the_same_whatever_its_key_order() {
        let a: Value = serde_json::from_str(r#"{"command": "ls", "description": "list", "opts": {"x": 1, "y": [2, {"b": 1, "a": 2}]}}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"opts": {"y": [2, {"a": 2, "b": 1}], "x": 1}, "description": "list", "command": "ls"}"#).expect("json");
        assert_eq!(hash_json(&a), hash_json(&b));
        let c: Value =
            serde_json::from_str(r#"{"command": "ls -a", "description": "list"}"#).expect("json");
        assert_ne!(hash_json(&a), hash_json(&c));
    }
}
