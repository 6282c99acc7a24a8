//! The files view of a session: its cwd's tree and the content of one file, read-only
//! and never outside the cwd. A path is refused with 403 before any file-system access
//! when its shape could leave the cwd (absolute, `..`, backslashes, drive letters, NUL
//! and control characters, percent-encoded leftovers, invalid UTF-8); then it is
//! resolved (symlinks followed) and refused with 403 when the result is outside the
//! cwd or ignored (`.git/`, `target/`, `node_modules/`, `.gitignore` rules, Chainwatch's
//! data dir: a gitignored `.env` is not served). The file is opened without following a
//! final symlink and without blocking (a FIFO cannot hang a worker), and on Linux the
//! opened file's real path is checked again. A session whose cwd is not on this host
//! answers 404 with the reason. All file-system work runs in `web::block`.
//!
//! Also the one file-system check of session creation: a cwd that names a file here is
//! refused (a cwd that does not exist here is fine: the agent runs elsewhere).

use std::io::Read;
use std::path::Path;

use actix_web::{HttpRequest, HttpResponse, web};
use chainwatch_shared::{ErrorBody, FileContent, FileEntry, FileTree, SessionId};

use super::access::SessionAccess;
use super::error::ApiError;
use crate::config::FilesConfig;
use crate::core::CoreError;
use crate::state::AppState;
use crate::watch::roots::FilesRoots;
use crate::watch::rules::{self, Rules, Step};
use crate::watch::{Probe, probe};

/// The longest `path` accepted, in bytes.
const MAX_PATH_LEN: usize = 4096;

/// Refuses, with 422, `session:started` cwds that name something other than a directory
/// on this host. `cwds[i]` belongs to event `i` of a batch of `len` (empty: no cwd).
pub(crate) async fn refuse_file_cwds(cwds: Vec<String>, len: usize) -> Result<(), ApiError> {
    let refused = web::block(move || {
        cwds.iter().enumerate().find_map(|(index, cwd)| {
            (!cwd.is_empty() && probe(cwd) == Probe::NotDir).then(|| (index, cwd.clone()))
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    match refused {
        None => Ok(()),
        Some((index, cwd)) => {
            let at = if len > 1 {
                format!("events[{index}]: ")
            } else {
                String::new()
            };
            Err(CoreError::Invalid(format!(
                "{at}cwd {cwd:?} names a file on this host, not a directory"
            ))
            .into())
        }
    }
}

fn session_cwd(state: &AppState, id: &SessionId) -> Result<String, ApiError> {
    state
        .core
        .read()
        .with_session(id, |r| r.session.cwd.clone())
        .ok_or_else(|| CoreError::session_not_found(id).into())
}

/// The rules of a session's cwd, or 404 when the cwd is not a directory on this host.
/// 403 with the reason when the cwd lies outside every allowed files root.
fn open_root(
    id: &SessionId,
    cwd: &str,
    data_dir: &Path,
    roots: &FilesRoots,
) -> Result<Rules, ApiError> {
    let missing = |why: &str| {
        ApiError::NotFound(format!(
            "session '{id}' has no files here: its cwd {cwd:?} {why}"
        ))
    };
    match probe(cwd) {
        Probe::Dir(root) => {
            roots.check(&root).map_err(|reason| {
                ApiError::Forbidden(format!("session '{id}''s files are not served: {reason}"))
            })?;
            Ok(Rules::new(root, data_dir.canonicalize().ok()))
        }
        Probe::Missing => Err(missing(
            "is not on this host (the agent runs on another machine)",
        )),
        Probe::NotDir => Err(missing("is not a directory on this host")),
        Probe::Unreadable(error) => Err(missing(&format!("cannot be read here: {error}"))),
    }
}

/// The session's cwd as a tree, depth-first in name order, without ignored paths.
#[utoipa::path(get, path = "/api/sessions/{id}/files", tag = "files", params(("id" = String, Path)),
    responses((status = 200, body = FileTree), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tree(
    state: web::Data<AppState>,
    access: SessionAccess,
) -> Result<HttpResponse, ApiError> {
    let id = access.id().clone();
    let cwd = session_cwd(&state, &id)?;
    let data_dir = state.config.data_dir.clone();
    let limits = state.config.files.clone();
    let roots = state.files_roots.clone();
    let tree = web::block(move || list(&id, cwd, &data_dir, &roots, &limits))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(tree))
}

fn list(
    id: &SessionId,
    cwd: String,
    data_dir: &Path,
    roots: &FilesRoots,
    limits: &FilesConfig,
) -> Result<FileTree, ApiError> {
    let mut rules = open_root(id, &cwd, data_dir, roots)?;
    let root = rules.root().to_path_buf();
    let mut files = Vec::new();
    let complete = rules::walk(&mut rules, &root, limits.max_depth, &mut |entry| {
        if files.len() >= limits.max_entries {
            return Step::Stop;
        }
        if let Some(path) = rules::relative(&root, &entry.path) {
            files.push(FileEntry {
                path,
                dir: entry.dir,
                size: entry.size,
            });
        }
        Step::Continue
    });
    Ok(FileTree {
        root: cwd,
        files,
        truncated: !complete,
    })
}

/// One file's content (text up to the size cap, or null for binary). Paths that could
/// leave the cwd, and ignored paths, are refused with 403 and never read.
#[utoipa::path(get, path = "/api/sessions/{id}/files/content", tag = "files",
    params(("id" = String, Path), ("path" = String, Query, description = "The file, relative to the session's cwd, `/`-separated.")),
    responses((status = 200, body = FileContent), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn content(
    state: web::Data<AppState>,
    access: SessionAccess,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = access.id().clone();
    let relative = path_parameter(request.query_string())?;
    check_shape(&relative)?;
    let cwd = session_cwd(&state, &id)?;
    let data_dir = state.config.data_dir.clone();
    let max_bytes = state.config.files.max_bytes;
    let roots = state.files_roots.clone();
    let content = web::block(move || read(&id, &cwd, &data_dir, &roots, &relative, max_bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(content))
}

/// The `path` query parameter, percent-decoded exactly once into bytes that must be
/// UTF-8 (overlong and other invalid encodings are refused, not repaired).
fn path_parameter(query: &str) -> Result<String, ApiError> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "path" {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter {key:?}; the only one is path"
            )));
        }
        if found.is_some() {
            return Err(ApiError::Forbidden("path is given twice".into()));
        }
        found = Some(value);
    }
    let raw = found.ok_or_else(|| {
        ApiError::BadRequest("path is required: a file relative to the session's cwd".into())
    })?;
    let bytes = percent_decode(raw)
        .ok_or_else(|| ApiError::Forbidden("path holds a malformed percent-encoding".into()))?;
    String::from_utf8(bytes)
        .map_err(|_| ApiError::Forbidden("path is not valid UTF-8 once decoded".into()))
}

fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Refuses every path shape that could name something outside the cwd, before any
/// file-system access.
fn check_shape(path: &str) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::Forbidden(format!(
            "path {path:?} is refused: {why}"
        )))
    };
    if path.is_empty() {
        return Err(ApiError::BadRequest(
            "path is required: a file relative to the session's cwd".into(),
        ));
    }
    if path.len() > MAX_PATH_LEN {
        return refuse("longer than 4096 bytes");
    }
    if path.contains('\0') {
        return refuse("it holds a NUL character");
    }
    if path.chars().any(char::is_control) {
        return refuse("it holds control characters");
    }
    if path.contains('\\') {
        return refuse("backslashes are not path separators here; use /");
    }
    if path.starts_with('/') || Path::new(path).is_absolute() {
        return refuse("absolute paths are not served; give a path relative to the cwd");
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return refuse("drive letters are not served; give a path relative to the cwd");
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00", "%25"]
        .iter()
        .any(|encoded| lower.contains(encoded))
    {
        return refuse("it is still percent-encoded after decoding (encoded twice)");
    }
    if path.split('/').any(|part| part == "..") {
        return refuse("'..' could leave the session's cwd");
    }
    Ok(())
}

fn read(
    id: &SessionId,
    cwd: &str,
    data_dir: &Path,
    roots: &FilesRoots,
    relative: &str,
    max_bytes: u64,
) -> Result<FileContent, ApiError> {
    let forbidden = |why: &str| ApiError::Forbidden(format!("path {relative:?} is refused: {why}"));
    let ignored = "it is ignored (.git, target, node_modules, .gitignore rules or Chainwatch's data dir) and never served";
    let rules = open_root(id, cwd, data_dir, roots)?;
    let root = rules.root();
    let joined = root.join(relative);
    if rules.is_ignored(&joined, false) {
        return Err(forbidden(ignored));
    }
    let canonical = match joined.canonicalize() {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(forbidden("the server may not read it"));
        }
        Err(_) => {
            return Err(ApiError::NotFound(format!(
                "no file {relative:?} in session '{id}''s cwd"
            )));
        }
    };
    if !canonical.starts_with(root) {
        return Err(forbidden("it resolves outside the session's cwd"));
    }
    let meta = std::fs::metadata(&canonical)
        .map_err(|_| ApiError::NotFound(format!("no file {relative:?} in session '{id}''s cwd")))?;
    if meta.is_dir() {
        return Err(ApiError::BadRequest(format!(
            "{relative:?} is a directory; list it with GET /api/sessions/{id}/files"
        )));
    }
    if !meta.is_file() {
        return Err(forbidden("only regular files are served"));
    }
    if rules.is_ignored(&canonical, false) {
        return Err(forbidden(ignored));
    }
    let mut file = open_no_follow(&canonical)
        .map_err(|_| forbidden("it changed while being opened or cannot be read"))?;
    let opened = file
        .metadata()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !opened.is_file() {
        return Err(forbidden("only regular files are served"));
    }
    if !opened_inside(&file, root) {
        return Err(forbidden("it resolves outside the session's cwd"));
    }
    let size = opened.len();
    let mut bytes = Vec::with_capacity(size.min(max_bytes) as usize);
    (&mut file)
        .take(max_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("reading {relative:?}: {e}")))?;
    let truncated = (bytes.len() as u64) < size;
    Ok(FileContent {
        path: relative.trim_start_matches("./").to_owned(),
        size,
        content: text(bytes, truncated),
        truncated,
    })
}

/// Opens for reading without following a final symlink and without blocking on FIFOs.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Where the OS says the opened file is (Linux): closes the gap between the checks
/// above and the open.
#[cfg(target_os = "linux")]
fn opened_inside(file: &std::fs::File, root: &Path) -> bool {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map(|real| real.starts_with(root))
        .unwrap_or(true)
}

#[cfg(not(target_os = "linux"))]
fn opened_inside(_file: &std::fs::File, _root: &Path) -> bool {
    true
}

/// The bytes as text, or `None` for binary (a NUL, or invalid UTF-8 other than a
/// character cut at the size cap).
fn text(mut bytes: Vec<u8>, truncated: bool) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(error) => {
            let utf8 = error.utf8_error();
            if truncated && utf8.error_len().is_none() {
                bytes = error.into_bytes();
                bytes.truncate(utf8.valid_up_to());
                String::from_utf8(bytes).ok()
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_that_could_leave_the_cwd_are_refused() {
        for bad in [
            "..",
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "a\\b",
            "C:/x",
            "c:x",
            "a\0b",
            "a\nb",
            "%2e%2e/x",
            "a%2Fb",
            "%252e",
        ] {
            assert!(
                matches!(check_shape(bad), Err(ApiError::Forbidden(_))),
                "{bad:?} accepted"
            );
        }
        for good in [
            "a",
            "src/main.rs",
            "./a",
            "a/./b",
            "a..b",
            "...",
            "~/x",
            "50 % off",
        ] {
            assert!(check_shape(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn the_query_is_decoded_once_into_utf8() {
        assert_eq!(path_parameter("path=a%2Fb").expect("ok"), "a/b");
        assert_eq!(path_parameter("path=a+b").expect("ok"), "a b");
        assert!(matches!(
            path_parameter("path=%c0%ae"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            path_parameter("path=%zz"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            path_parameter("path=a&path=b"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            path_parameter("other=1"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(path_parameter(""), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn binary_is_null_and_a_cut_character_is_dropped() {
        assert_eq!(text(b"hi".to_vec(), false).as_deref(), Some("hi"));
        assert_eq!(text(b"a\0b".to_vec(), false), None);
        assert_eq!(text(vec![0xff, 0xfe], false), None);
        // "é" is two bytes; cut after the first by the size cap.
        assert_eq!(text(vec![b'a', 0xc3], true).as_deref(), Some("a"));
        assert_eq!(text(vec![b'a', 0xc3], false), None);
    }
}
