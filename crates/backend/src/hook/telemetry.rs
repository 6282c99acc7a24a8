//! `chainwatch hooks install --telemetry`: the settings `env` that turns on Claude
//! Code's OpenTelemetry logs and points them at the server's OTLP endpoint
//! (`POST /v1/logs`, protobuf), with the hook's bearer token when there is one. Only
//! the logs signal is set (metrics and traces stay as they were). Uninstalling removes
//! a key only while it still holds the value this would write.

use super::config::HookConfig;
use serde_json::{Map, Value as Json};

use super::install::{self, InstallError};

/// The variables and values for a server and token.
pub fn env(config: &HookConfig) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1".to_owned()),
        ("OTEL_LOGS_EXPORTER", "otlp".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            "http/protobuf".to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            format!("{}/v1/logs", config.url.trim_end_matches('/')),
        ),
    ];
    if let Some(token) = &config.token {
        vars.push((
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
            format!("Authorization=Bearer {token}"),
        ));
    }
    vars
}

fn env_object(settings: &mut Json, create: bool) -> Result<Option<&mut Json>, InstallError> {
    if settings.get("env").is_none() {
        if !create {
            return Ok(None);
        }
        install::set(settings, "env", Json::Object(Map::new()));
    }
    match settings.get_mut("env") {
        Some(env @ Json::Object(_)) => Ok(Some(env)),
        _ => Err(InstallError::Shape(
            "\"env\" in the settings is not an object".into(),
        )),
    }
}

/// Sets the variables; returns the keys that changed.
pub fn set(settings: &mut Json, vars: &[(&str, String)]) -> Result<Vec<String>, InstallError> {
    let Some(env) = env_object(settings, true)? else {
        return Ok(Vec::new());
    };
    Ok(vars
        .iter()
        .filter(|(key, value)| install::set(env, key, Json::String(value.clone())))
        .map(|(key, _)| (*key).to_owned())
        .collect())
}

/// Removes the variables that still hold these values; returns the keys removed.
pub fn remove(settings: &mut Json, vars: &[(&str, String)]) -> Result<Vec<String>, InstallError> {
    let Some(env) = env_object(settings, false)? else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for (key, value) in vars {
        if env.get(key).and_then(Json::as_str) == Some(value.as_str()) {
            install::remove(env, key);
            removed.push((*key).to_owned());
        }
    }
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hook::install::{parse, render};

    #[test]
    fn sets_the_logs_exporter_keeps_other_env_and_removes_only_its_own() {
        let mut config = HookConfig::from_lookup(|_| None);
        config.url = "http://10.0.0.5:7777/".into();
        config.token = Some("agent-token-0123456789".into());
        let vars = env(&config);
        let mut settings = parse(
            r#"{"env": {"A": "1", "OTEL_LOGS_EXPORTER": "console"}}"#,
            "s",
        )
        .unwrap();
        let changed = set(&mut settings, &vars).unwrap();
        assert_eq!(changed.len(), 5);
        let text = render(&settings);
        assert!(text.contains(r#""A": "1""#), "{text}");
        assert!(
            text.contains(r#""OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://10.0.0.5:7777/v1/logs""#),
            "{text}"
        );
        assert!(text.contains(
            r#""OTEL_EXPORTER_OTLP_LOGS_HEADERS": "Authorization=Bearer agent-token-0123456789""#
        ));
        assert!(set(&mut settings, &vars).unwrap().is_empty(), "idempotent");
        // A value someone changed since is theirs: uninstall leaves it.
        if let Some(env) = settings.get_mut("env") {
            install::set(
                env,
                "OTEL_LOGS_EXPORTER",
                Json::String("otlp,console".into()),
            );
        }
        let removed = remove(&mut settings, &vars).unwrap();
        assert_eq!(removed.len(), 4);
        let text = render(&settings);
        assert!(
            text.contains(r#""A": "1""#) && text.contains("otlp,console"),
            "{text}"
        );
        assert!(!text.contains("CLAUDE_CODE_ENABLE_TELEMETRY"), "{text}");
    }
}
