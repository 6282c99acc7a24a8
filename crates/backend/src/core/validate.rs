//! Input rules every operation shares: what an id, a cwd or a text field may look like.
//! Checked before any state is consulted, so a malformed request never reaches the fold.

use super::CoreError;

/// The longest id a client may choose (session, event, step, request, command ids).
pub const MAX_ID_LEN: usize = 128;
/// The longest free-text field (prompts, answers, summaries, output chunks).
pub const MAX_TEXT_LEN: usize = 1024 * 1024;
/// The longest short field (names, hostnames, users, models, titles).
pub const MAX_NAME_LEN: usize = 1024;

/// Ids appear in URL paths, so they are limited to characters that need no escaping.
pub fn id(field: &str, value: &str) -> Result<(), CoreError> {
    if value.is_empty() {
        return Err(CoreError::Invalid(format!("{field} must not be empty")));
    }
    if value.len() > MAX_ID_LEN {
        return Err(CoreError::Invalid(format!(
            "{field} is longer than {MAX_ID_LEN} characters"
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@')))
    {
        return Err(CoreError::Invalid(format!(
            "{field} may hold only letters, digits and - _ . : @ (found {bad:?})"
        )));
    }
    Ok(())
}

/// A required text field: not empty, not too long, no NUL.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.trim().is_empty() {
        return Err(CoreError::Invalid(format!("{field} must not be empty")));
    }
    optional_text(field, Some(value), max)
}

/// An optional text field: when present, not too long and no NUL.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<(), CoreError> {
    let Some(value) = value else { return Ok(()) };
    if value.len() > max {
        return Err(CoreError::Invalid(format!(
            "{field} is longer than {max} bytes"
        )));
    }
    if value.contains('\0') {
        return Err(CoreError::Invalid(format!(
            "{field} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// A cwd must be absolute on the agent's host (POSIX `/…`, Windows `C:\…` or `\\server\…`);
/// it need not exist on the server's host.
pub fn cwd(value: &str) -> Result<(), CoreError> {
    text("cwd", value, 4096)?;
    let bytes = value.as_bytes();
    let posix = value.starts_with('/');
    let windows_drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/');
    let unc = value.starts_with("\\\\");
    if posix || windows_drive || unc {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "cwd must be an absolute path, got {value:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe() {
        assert!(id("id", "3f1c-22:ab_c.d@x").is_ok());
        for bad in [
            "",
            "a/b",
            "a b",
            "a?b",
            "a%2F",
            "a\u{0}",
            "é",
            &"x".repeat(129),
        ] {
            assert!(id("id", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cwd_must_be_absolute() {
        for good in [
            "/home/ada/app",
            "C:\\Users\\ada",
            "d:/src",
            "\\\\server\\share",
        ] {
            assert!(cwd(good).is_ok(), "{good}");
        }
        for bad in ["", "relative/path", "./x", "~/app", "C:relative"] {
            assert!(cwd(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_refuses_nul_and_oversize() {
        assert!(text("t", "ok", 10).is_ok());
        assert!(text("t", "   ", 10).is_err());
        assert!(text("t", "a\0b", 10).is_err());
        assert!(text("t", "abcdefghijk", 10).is_err());
    }
}
