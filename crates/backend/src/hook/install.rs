//! `chainwatch hooks install` and `chainwatch hooks uninstall`: add (or remove) the
//! `chainwatch hook` entries in Claude Code's settings.json, keeping every other key,
//! every other tool's hooks and the order of keys as they were. Installing twice changes
//! nothing the second time; uninstalling removes only Chainwatch's own entries.
//! `--dry-run` prints the change as a diff instead of writing it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use super::config::HookConfig;

/// The command the installer writes by default.
pub const DEFAULT_COMMAND: &str = "chainwatch hook";

/// Why the settings could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The settings file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The settings file is not valid JSON; it is left untouched.
    #[error("{path} is not valid JSON ({source}); fix it by hand, nothing was changed")]
    Json {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A part of the settings has a shape Claude Code would not accept either.
    #[error("{0}; fix it by hand, nothing was changed")]
    Shape(String),
    /// `--telemetry` for a project's settings, which Claude Code does not read it from.
    #[error(
        "--telemetry needs --user: Claude Code ignores OpenTelemetry exporter settings in a project's settings; nothing was changed"
    )]
    TelemetryNeedsUser,
    /// No home directory to find the user settings in.
    #[error("cannot find the home directory (HOME is not set); use --project DIR")]
    NoHome,
}

/// Which settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `DIR/.claude/settings.json`.
    Project(PathBuf),
    /// `~/.claude/settings.json` (or `$CLAUDE_CONFIG_DIR/settings.json`).
    User,
}

impl Target {
    /// The settings file of this target.
    pub fn settings_path(&self) -> Result<PathBuf, InstallError> {
        match self {
            Self::Project(dir) => Ok(dir.join(".claude").join("settings.json")),
            Self::User => {
                if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
                    return Ok(PathBuf::from(dir).join("settings.json"));
                }
                let home = std::env::var_os("HOME")
                    .or_else(|| std::env::var_os("USERPROFILE"))
                    .filter(|h| !h.is_empty())
                    .ok_or(InstallError::NoHome)?;
                Ok(PathBuf::from(home).join(".claude").join("settings.json"))
            }
        }
    }
}

/// One hook entry the installer manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The hook event, e.g. `PreToolUse`.
    pub event: &'static str,
    /// The matcher (`*` for tool events; none for the others).
    pub matcher: Option<&'static str>,
    /// Claude Code's timeout for the hook, in seconds.
    pub timeout_secs: u64,
    /// Runs in the background (`"async": true, "asyncRewake": true`): the terminal stays
    /// usable while it waits, and its exit code 2 wakes Claude with its stderr.
    pub background: bool,
}

/// Every hook event Claude Code 2.1.328 documents, in its reference's order, except
/// `WorktreeCreate`: a WorktreeCreate hook *replaces* Claude Code's own worktree creation
/// (it must print the new path), so a reporting hook there would break `--worktree`.
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "Setup",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "MessageDisplay",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "Stop",
    "StopFailure",
    "TeammateIdle",
    "ConfigChange",
    "CwdChanged",
    "FileChanged",
    "WorktreeRemove",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "Elicitation",
    "ElicitationResult",
    "SessionEnd",
];

/// Events whose entry has a matcher (`*`: every tool).
const TOOL_EVENTS: &[&str] = &[
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
];

/// The entries for the given configuration: short timeouts for reporting events, long
/// ones (above the configured waits) for the events that wait for a person, and Stop in
/// the background.
pub fn entries(config: &HookConfig) -> Vec<Entry> {
    let secs = |d: std::time::Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let report = 10;
    EVENTS
        .iter()
        .map(|&event| {
            let timeout_secs = match event {
                "PreToolUse" => (secs(config.pause_wait) + 30).max(30),
                "PermissionRequest" => {
                    (secs(config.permission_wait.max(config.question_wait)) + 60).max(600)
                }
                "Stop" => (secs(config.stop_wait) + 60).max(600),
                _ => report,
            };
            Entry {
                event,
                matcher: TOOL_EVENTS.contains(&event).then_some("*"),
                timeout_secs,
                background: event == "Stop",
            }
        })
        .collect()
}

/// The command to install: `chainwatch hook` when a `chainwatch` is on PATH (portable,
/// fit for a settings file shared in a repository), else the running binary by its
/// absolute path, so that the entries work as installed.
pub fn default_command() -> String {
    let name = if cfg!(windows) {
        "chainwatch.exe"
    } else {
        "chainwatch"
    };
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()));
    if on_path {
        return DEFAULT_COMMAND.to_owned();
    }
    // The front's path when the front started this process (`front`), never the server
    // executable's: the hook must run the small front.
    match crate::front::front_exe() {
        Ok(exe) => format!("{} hook", shell_quote(&exe.to_string_lossy())),
        Err(_) => DEFAULT_COMMAND.to_owned(),
    }
}

/// `path` as one word for `sh -c` (how Claude Code runs hook commands).
fn shell_quote(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,~\\".contains(c));
    if plain {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// Whether a hook command runs `chainwatch hook` (any path to the front, or to the
/// server executable).
pub fn is_chainwatch_command(command: &str) -> bool {
    let Some(program) = command.trim().strip_suffix("hook") else {
        return false;
    };
    if !program.ends_with(char::is_whitespace) {
        return false;
    }
    let program = program.trim().trim_matches(|c| c == '"' || c == '\'');
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    // `chainwatch-server hook` is ours too: what an install run by the server executable
    // directly (`cargo run`, no front before it) writes.
    [
        "chainwatch",
        "chainwatch.exe",
        "chainwatch-server",
        "chainwatch-server.exe",
    ]
    .contains(&name)
}

/// What an install or uninstall changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Events that got an entry.
    pub added: Vec<String>,
    /// Events whose entry was corrected (command or timeout).
    pub updated: Vec<String>,
    /// Events whose entry was removed.
    pub removed: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

// Settings are `serde_json::Value`s: the workspace builds serde_json with
// `preserve_order`, so objects keep the file's key order and rewriting moves nothing.

/// Sets `key` of an object, in place when present, appended when not; true when the
/// value changed.
pub(crate) fn set(object: &mut Json, key: &str, value: Json) -> bool {
    let Some(fields) = object.as_object_mut() else {
        return false;
    };
    match fields.get_mut(key) {
        Some(old) if *old == value => false,
        Some(old) => {
            *old = value;
            true
        }
        None => {
            fields.insert(key.to_owned(), value);
            true
        }
    }
}

/// Removes `key` of an object, keeping the order of the others.
pub(crate) fn remove(object: &mut Json, key: &str) {
    if let Some(fields) = object.as_object_mut() {
        fields.shift_remove(key);
    }
}

fn is_chainwatch_handler(handler: &Json) -> bool {
    handler
        .get("command")
        .and_then(Json::as_str)
        .is_some_and(is_chainwatch_command)
}

/// Parses settings text (empty text is an empty object).
pub fn parse(text: &str, path: &str) -> Result<Json, InstallError> {
    if text.trim().is_empty() {
        return Ok(Json::Object(Map::new()));
    }
    let value: Json = serde_json::from_str(text).map_err(|source| InstallError::Json {
        path: path.to_owned(),
        source,
    })?;
    match value {
        Json::Object(_) => Ok(value),
        _ => Err(InstallError::Shape(format!("{path} is not a JSON object"))),
    }
}

/// Pretty text of settings, as written (two-space indent, final newline).
pub fn render(settings: &Json) -> String {
    let mut text = serde_json::to_string_pretty(settings).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

fn hooks_object(settings: &mut Json, create: bool) -> Result<Option<&mut Json>, InstallError> {
    if settings.get("hooks").is_none() {
        if !create {
            return Ok(None);
        }
        set(settings, "hooks", Json::Object(Map::new()));
    }
    match settings.get_mut("hooks") {
        Some(hooks @ Json::Object(_)) => Ok(Some(hooks)),
        _ => Err(InstallError::Shape("\"hooks\" is not an object".into())),
    }
}

fn groups<'a>(hooks: &'a mut Json, event: &str) -> Result<Option<&'a mut Vec<Json>>, InstallError> {
    match hooks.get_mut(event) {
        None => Ok(None),
        Some(Json::Array(groups)) => Ok(Some(groups)),
        Some(_) => Err(InstallError::Shape(format!(
            "\"hooks.{event}\" is not an array"
        ))),
    }
}

/// Adds or corrects Chainwatch's entries in `settings`.
pub fn install(
    settings: &mut Json,
    entries: &[Entry],
    command: &str,
) -> Result<Changes, InstallError> {
    let mut changes = Changes::default();
    let Some(hooks) = hooks_object(settings, true)? else {
        return Ok(changes);
    };
    for entry in entries {
        let handler = || {
            let mut handler =
                json!({"type": "command", "command": command, "timeout": entry.timeout_secs});
            if entry.background {
                set(&mut handler, "async", Json::Bool(true));
                set(&mut handler, "asyncRewake", Json::Bool(true));
            }
            handler
        };
        if hooks.get(entry.event).is_none() {
            set(hooks, entry.event, Json::Array(Vec::new()));
        }
        let Some(groups) = groups(hooks, entry.event)? else {
            continue;
        };
        let existing = groups
            .iter_mut()
            .find_map(|group| match group.get_mut("hooks") {
                Some(Json::Array(handlers)) => {
                    handlers.iter_mut().find(|h| is_chainwatch_handler(h))
                }
                _ => None,
            });
        match existing {
            Some(found) => {
                let mut changed = set(found, "type", Json::String("command".into()));
                changed |= set(found, "command", Json::String(command.to_owned()));
                changed |= set(found, "timeout", Json::from(entry.timeout_secs));
                // An older install ran Stop in the foreground: upgrade it in place.
                for key in ["async", "asyncRewake"] {
                    if entry.background {
                        changed |= set(found, key, Json::Bool(true));
                    } else if found.get(key).is_some() {
                        remove(found, key);
                        changed = true;
                    }
                }
                if changed {
                    changes.updated.push(entry.event.to_owned());
                }
            }
            None => {
                let mut group = Json::Object(Map::new());
                if let Some(matcher) = entry.matcher {
                    set(&mut group, "matcher", Json::String(matcher.to_owned()));
                }
                set(&mut group, "hooks", Json::Array(vec![handler()]));
                groups.push(group);
                changes.added.push(entry.event.to_owned());
            }
        }
    }
    Ok(changes)
}

/// Removes every Chainwatch handler (and the groups and events it leaves empty).
pub fn uninstall(settings: &mut Json) -> Result<Changes, InstallError> {
    let mut changes = Changes::default();
    let Some(hooks) = hooks_object(settings, false)? else {
        return Ok(changes);
    };
    let events: Vec<String> = match hooks {
        Json::Object(fields) => fields.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for event in events {
        let Some(groups) = groups(hooks, &event)? else {
            continue;
        };
        let mut removed = false;
        groups.retain_mut(|group| {
            let Some(Json::Array(handlers)) = group.get_mut("hooks") else {
                return true;
            };
            let before = handlers.len();
            handlers.retain(|h| !is_chainwatch_handler(h));
            if handlers.len() == before {
                return true;
            }
            removed = true;
            !handlers.is_empty()
        });
        if removed {
            changes.removed.push(event.clone());
            if groups.is_empty() {
                remove(hooks, &event);
            }
        }
    }
    if matches!(hooks, Json::Object(fields) if fields.is_empty()) && !changes.removed.is_empty() {
        remove(settings, "hooks");
    }
    Ok(changes)
}

/// A line diff of two texts (`-` old, `+` new, three lines of context, `@@` between
/// hunks), by the `similar` crate.
pub fn diff(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    for (index, group) in diff.grouped_ops(3).iter().enumerate() {
        if index > 0 {
            out.push_str("@@\n");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                out.push(match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                });
                out.push_str(change.value().trim_end_matches('\n'));
                out.push('\n');
            }
        }
    }
    out
}

/// Options of `chainwatch hooks install` / `uninstall`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which settings file.
    pub target: Target,
    /// Print the diff; write nothing.
    pub dry_run: bool,
    /// The command to run (install only).
    pub command: String,
    /// Also write (or remove) the settings `env` that points Claude Code's
    /// OpenTelemetry logs at the server (`hook::telemetry`).
    pub telemetry: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> InstallError {
    let path = path.display().to_string();
    move |source| InstallError::Io {
        path: path.clone(),
        source,
    }
}

/// Installs (or, with `remove`, uninstalls) into the target's settings file and reports
/// what it did on stdout.
pub fn apply(options: &Options, remove: bool) -> Result<Changes, InstallError> {
    let path = options.target.settings_path()?;
    let shown = path.display().to_string();
    let old_text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(&path)(e)),
    };
    let mut settings = parse(&old_text, &shown)?;
    let before = render(&settings);
    let config = HookConfig::from_env();
    let mut changes = if remove {
        uninstall(&mut settings)?
    } else {
        install(&mut settings, &entries(&config), &options.command)?
    };
    if options.telemetry {
        if let Target::Project(_) = options.target {
            return Err(InstallError::TelemetryNeedsUser);
        }
        let env = super::telemetry::env(&config);
        let keys = if remove {
            super::telemetry::remove(&mut settings, &env)?
        } else {
            super::telemetry::set(&mut settings, &env)?
        };
        if !keys.is_empty() {
            let list = format!("env {}", keys.join(", "));
            if remove {
                changes.removed.push(list);
            } else {
                changes.updated.push(list);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if changes.is_empty() {
        let _ = writeln!(out, "{shown}: nothing to change");
        return Ok(changes);
    }
    let new_text = render(&settings);
    if options.dry_run {
        let _ = writeln!(
            out,
            "--- {shown}\n+++ {shown} (after)\n{}",
            diff(&before, &new_text)
        );
        return Ok(changes);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let temp = path.with_extension("json.chainwatch-tmp");
    std::fs::write(&temp, new_text.as_bytes()).map_err(io(&temp))?;
    std::fs::rename(&temp, &path).map_err(io(&path))?;
    let list = |events: &[String]| events.join(", ");
    if !changes.added.is_empty() {
        let _ = writeln!(
            out,
            "{shown}: added chainwatch hooks for {}",
            list(&changes.added)
        );
    }
    if !changes.updated.is_empty() {
        let _ = writeln!(
            out,
            "{shown}: updated chainwatch hooks for {}",
            list(&changes.updated)
        );
    }
    if !changes.removed.is_empty() {
        let _ = writeln!(
            out,
            "{shown}: removed chainwatch hooks from {}",
            list(&changes.removed)
        );
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HookConfig {
        HookConfig::from_lookup(|_| None)
    }

    #[test]
    fn recognises_its_own_command_only() {
        for ours in [
            "chainwatch hook",
            "/usr/local/bin/chainwatch hook",
            "\"C:\\Program Files\\chainwatch.exe\" hook",
            "  chainwatch   hook ",
            "/work/target/release/chainwatch-server hook",
        ] {
            assert!(is_chainwatch_command(ours), "{ours}");
        }
        for theirs in [
            "chainwatch serve",
            "other-tool hook",
            "notchainwatch hook",
            "chainwatch-server2 hook",
            "chainwatch hook --x",
            "sh -c chainwatch hook",
        ] {
            assert!(!is_chainwatch_command(theirs), "{theirs}");
        }
    }

    #[test]
    fn install_keeps_others_and_is_idempotent() {
        let text = r#"{"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint.sh"}]}]}, "env": {"A": "1"}}"#;
        let mut settings = parse(text, "s").expect("parse");
        let changes =
            install(&mut settings, &entries(&config()), DEFAULT_COMMAND).expect("install");
        assert_eq!(changes.added.len(), entries(&config()).len());
        let once = render(&settings);
        let keys: Vec<&str> = settings
            .as_object()
            .map(|f| f.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, vec!["model", "hooks", "env"]);
        assert!(once.contains("lint.sh"));
        let mut again = parse(&once, "s").expect("parse");
        let changes = install(&mut again, &entries(&config()), DEFAULT_COMMAND).expect("install");
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(render(&again), once);

        let removed = uninstall(&mut again).expect("uninstall");
        assert_eq!(removed.removed.len(), entries(&config()).len());
        let back: serde_json::Value = serde_json::from_str(&render(&again)).expect("json");
        let original: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(back, original);
    }

    #[test]
    fn an_older_install_is_upgraded_in_place() {
        // What `hooks install` wrote before Stop ran in the background and before the
        // 2026 events: Stop in the foreground, a dozen events.
        let text = r#"{"hooks": {
            "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "chainwatch hook", "timeout": 30}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "say done"}, {"type": "command", "command": "chainwatch hook", "timeout": 600}]}]
        }}"#;
        let mut settings = parse(text, "s").expect("parse");
        let changes =
            install(&mut settings, &entries(&config()), DEFAULT_COMMAND).expect("install");
        assert!(changes.updated.contains(&"Stop".to_owned()), "{changes:?}");
        assert!(
            changes.added.contains(&"PermissionDenied".to_owned()),
            "{changes:?}"
        );
        let value: serde_json::Value = serde_json::from_str(&render(&settings)).expect("json");
        let stop = &value["hooks"]["Stop"][0]["hooks"];
        assert_eq!(stop[0]["command"], "say done");
        assert_eq!(stop[1]["async"], true);
        assert_eq!(stop[1]["asyncRewake"], true);
        assert_eq!(value["hooks"]["Stop"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            value["hooks"]["PreToolUse"].as_array().map(Vec::len),
            Some(1)
        );
        for event in EVENTS {
            assert!(value["hooks"][event].is_array(), "{event}");
        }
    }

    #[test]
    fn quoted_paths_stay_one_word_and_recognisable() {
        assert_eq!(shell_quote("/usr/bin/chainwatch"), "/usr/bin/chainwatch");
        let spaced = shell_quote("/home/a b/chainwatch");
        assert_eq!(spaced, "'/home/a b/chainwatch'");
        assert!(is_chainwatch_command(&format!("{spaced} hook")));
        assert!(default_command().ends_with(" hook"));
    }

    #[test]
    fn diff_shows_only_changes_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        let d = diff(old, new);
        assert!(d.contains("-e\n+E\n"), "{d}");
        assert!(!d.contains(" a\n"), "{d}");
    }
}
