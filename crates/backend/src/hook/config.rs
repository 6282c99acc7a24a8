//! The hook's settings, read from the environment that Claude Code passes to hook
//! processes. Parsing is lenient on purpose: a malformed value falls back to its default
//! (with a warning on stderr) instead of failing, because a hook that fails can block the
//! agent. Every variable is listed in docs/HOOKS.md.

use std::path::PathBuf;
use std::time::Duration;

/// `CHAINWATCH_URL`: where the server listens.
pub const ENV_URL: &str = "CHAINWATCH_URL";
/// `CHAINWATCH_TOKEN`: bearer token sent to the server, when set.
pub const ENV_TOKEN: &str = "CHAINWATCH_TOKEN";
/// `CHAINWATCH_HOOK_TIMEOUT_MS`: bound of the reporting phase (flush + report).
pub const ENV_TIMEOUT: &str = "CHAINWATCH_HOOK_TIMEOUT_MS";
/// `CHAINWATCH_SPOOL_DIR`: where undelivered events wait.
pub const ENV_SPOOL_DIR: &str = "CHAINWATCH_SPOOL_DIR";
/// `CHAINWATCH_SPOOL_MAX_BYTES`: the spool's size bound.
pub const ENV_SPOOL_MAX: &str = "CHAINWATCH_SPOOL_MAX_BYTES";
/// `CHAINWATCH_PERMISSION_WAIT_MS`: how long PermissionRequest waits for the page.
pub const ENV_PERMISSION_WAIT: &str = "CHAINWATCH_PERMISSION_WAIT_MS";
/// `CHAINWATCH_QUESTION_WAIT_MS`: how long an AskUserQuestion waits for the page.
pub const ENV_QUESTION_WAIT: &str = "CHAINWATCH_QUESTION_WAIT_MS";
/// `CHAINWATCH_STOP_WAIT_MS`: how long Stop waits for an answer from the page.
pub const ENV_STOP_WAIT: &str = "CHAINWATCH_STOP_WAIT_MS";
/// `CHAINWATCH_PAUSE_WAIT_MS`: how long a tool call is held while the session is paused.
pub const ENV_PAUSE_WAIT: &str = "CHAINWATCH_PAUSE_WAIT_MS";

/// `CHAINWATCH_TRANSCRIPT_MAX_BYTES`: most transcript bytes one run reads.
pub const ENV_TRANSCRIPT_MAX: &str = "CHAINWATCH_TRANSCRIPT_MAX_BYTES";

/// The default server address.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7777";
/// The default bound of the reporting phase.
pub const DEFAULT_TIMEOUT_MS: u64 = 500;
/// The default spool bound: 16 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// The default wait for a permission decision: 5 minutes. Claude Code shows its own
/// dialog meanwhile and takes whichever answer comes first, so waiting costs nothing.
pub const DEFAULT_PERMISSION_WAIT_MS: u64 = 300_000;
/// The default wait for an answer to AskUserQuestion: 5 minutes. The question is put to
/// the page from the PermissionRequest hook, which Claude Code runs while its own dialog
/// is open, so the terminal can answer meanwhile and the first answer wins.
pub const DEFAULT_QUESTION_WAIT_MS: u64 = 300_000;
/// The default wait at Stop: 30 minutes. The Stop entry is installed with `async` and
/// `asyncRewake`, so the wait runs in the background and the terminal stays usable.
pub const DEFAULT_STOP_WAIT_MS: u64 = 1_800_000;
/// The default hold of a tool call while the session is paused: 10 minutes; then the call
/// runs (a pause never denies a call).
pub const DEFAULT_PAUSE_WAIT_MS: u64 = 600_000;

/// The default transcript bound of one run: 1 MiB (a 20 MB transcript is caught up
/// over 20 runs; each run's part stays well under the server's body limit).
pub const DEFAULT_TRANSCRIPT_MAX_BYTES: u64 = 1024 * 1024;

/// Everything `chainwatch hook` needs.
#[derive(Debug, Clone)]
pub struct HookConfig {
    /// The server's base URL, without a trailing slash.
    pub url: String,
    /// Bearer token, when the server wants one.
    pub token: Option<String>,
    /// Bound of the reporting phase: flushing the spool and posting this event.
    pub timeout: Duration,
    /// Directory of the spool.
    pub spool_dir: PathBuf,
    /// Most bytes the spool holds; the oldest entries go first when it is full.
    pub spool_max_bytes: u64,
    /// How long PermissionRequest waits for Allow/Deny from the page (0: report only).
    pub permission_wait: Duration,
    /// How long an AskUserQuestion waits for answers from the page (0: report only).
    pub question_wait: Duration,
    /// How long Stop waits for an answer from the page (0: report only).
    pub stop_wait: Duration,
    /// How long PreToolUse holds a call while the session is paused (0: do not hold).
    pub pause_wait: Duration,
    /// False when Claude Code runs unattended (`claude -p`: it sets
    /// `CLAUDE_CODE_SESSION_ATTENDED=0`), where a background Stop hook cannot wake Claude
    /// and the client waits for it before exiting: Stop then does not wait.
    pub attended: bool,
    /// The Claude Code process (`CLAUDE_PID`): a waiting hook stops once it is gone.
    pub claude_pid: Option<u32>,
    /// Most transcript bytes one run reads (0: transcripts are not read).
    pub transcript_max_bytes: u64,
}

impl HookConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let millis =
            |name: &str, default: u64| Duration::from_millis(number(name, value(name), default));
        let url = value(ENV_URL)
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let spool_dir = value(ENV_SPOOL_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_spool_dir(&lookup));
        Self {
            url,
            token: value(ENV_TOKEN).map(|t| t.trim().to_owned()),
            timeout: millis(ENV_TIMEOUT, DEFAULT_TIMEOUT_MS).max(Duration::from_millis(1)),
            spool_dir,
            spool_max_bytes: number(ENV_SPOOL_MAX, value(ENV_SPOOL_MAX), DEFAULT_SPOOL_MAX_BYTES),
            permission_wait: millis(ENV_PERMISSION_WAIT, DEFAULT_PERMISSION_WAIT_MS),
            question_wait: millis(ENV_QUESTION_WAIT, DEFAULT_QUESTION_WAIT_MS),
            stop_wait: millis(ENV_STOP_WAIT, DEFAULT_STOP_WAIT_MS),
            pause_wait: millis(ENV_PAUSE_WAIT, DEFAULT_PAUSE_WAIT_MS),
            attended: value("CLAUDE_CODE_SESSION_ATTENDED").is_none_or(|v| v.trim() != "0"),
            claude_pid: value("CLAUDE_PID").and_then(|p| p.trim().parse().ok()),
            transcript_max_bytes: number(
                ENV_TRANSCRIPT_MAX,
                value(ENV_TRANSCRIPT_MAX),
                DEFAULT_TRANSCRIPT_MAX_BYTES,
            ),
        }
    }
}

fn number(name: &str, value: Option<String>, default: u64) -> u64 {
    match value {
        None => default,
        Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(variable = name, value = %raw, default, "not a number; using the default");
            default
        }),
    }
}

/// `$XDG_DATA_HOME/chainwatch/spool`, else `~/.local/share/chainwatch/spool`
/// (`%LOCALAPPDATA%\chainwatch\spool` on Windows), else a dir under the temp dir.
fn default_spool_dir(lookup: &impl Fn(&str) -> Option<String>) -> PathBuf {
    let set = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = set("XDG_DATA_HOME")
        .or_else(|| {
            if cfg!(windows) {
                set("LOCALAPPDATA")
            } else {
                set("HOME").map(|home| home.join(".local").join("share"))
            }
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("chainwatch").join("spool")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> HookConfig {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        HookConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[("HOME", "/home/ada")]);
        assert_eq!(c.url, DEFAULT_URL);
        assert_eq!(c.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(
            c.spool_dir,
            PathBuf::from("/home/ada/.local/share/chainwatch/spool")
        );
        assert_eq!(c.stop_wait, Duration::from_millis(DEFAULT_STOP_WAIT_MS));
        assert_eq!(c.pause_wait, Duration::from_millis(DEFAULT_PAUSE_WAIT_MS));
        assert!(c.token.is_none());
    }

    #[test]
    fn values_are_read_and_bad_ones_fall_back() {
        let c = config(&[
            (ENV_URL, "http://10.0.0.2:9000/"),
            (ENV_TIMEOUT, "abc"),
            (ENV_STOP_WAIT, "2500"),
            ("XDG_DATA_HOME", "/data"),
            (ENV_TOKEN, " secret "),
        ]);
        assert_eq!(c.url, "http://10.0.0.2:9000");
        assert_eq!(c.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(c.stop_wait, Duration::from_millis(2500));
        assert_eq!(c.spool_dir, PathBuf::from("/data/chainwatch/spool"));
        assert_eq!(c.token.as_deref(), Some("secret"));
    }
}
