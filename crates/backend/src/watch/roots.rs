//! Where files may come from: the roots the server's operator allowed. A session's cwd
//! is the agent's claim, not a grant, so the files routes and the watcher serve and
//! watch a cwd only when its resolved path lies inside one of these roots.
//!
//! Configured with `--files-root DIR` (repeatable, `CHAINWATCH_FILES_ROOT`). Without
//! one, a loopback server without tokens (one person's own machine) allows `$HOME`;
//! a server with tokens allows nothing, so its files stay closed until its operator
//! names a root.

use std::path::{Path, PathBuf};

/// The resolved roots, or the reason none are allowed.
#[derive(Debug, Clone, Default)]
pub struct FilesRoots {
    /// Canonical paths.
    roots: Vec<PathBuf>,
    /// Whether the list came from `--files-root` (for the refusal's wording).
    configured: bool,
}

impl FilesRoots {
    /// Resolves the configured roots (`configured`), or the default: `home` when the
    /// server has no tokens and listens on loopback, nothing otherwise. Roots that do
    /// not resolve are skipped with a warning.
    pub fn resolve(
        configured: &[PathBuf],
        tokens: bool,
        loopback: bool,
        home: Option<&Path>,
    ) -> Self {
        let (wanted, from_flag): (Vec<PathBuf>, bool) = if !configured.is_empty() {
            (configured.to_vec(), true)
        } else if !tokens && loopback {
            (home.map(Path::to_path_buf).into_iter().collect(), false)
        } else {
            (Vec::new(), false)
        };
        let roots = wanted
            .into_iter()
            .filter_map(|root| match root.canonicalize() {
                Ok(canonical) => Some(canonical),
                Err(error) => {
                    tracing::warn!(root = %root.display(), %error, "files root skipped: it does not resolve");
                    None
                }
            })
            .collect();
        Self {
            roots,
            configured: from_flag,
        }
    }

    /// Exactly these roots (tests and tools); they must already be canonical.
    pub fn exactly(roots: Vec<PathBuf>) -> Self {
        Self {
            roots,
            configured: true,
        }
    }

    /// The allowed roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// `Ok` when `resolved` (a canonical cwd) lies inside a root; otherwise the reason
    /// its files are not served or watched, in words for the person reading it.
    pub fn check(&self, resolved: &Path) -> Result<(), String> {
        if self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(());
        }
        if self.roots.is_empty() {
            return Err(if self.configured {
                "no --files-root of this server exists, so it serves no files".into()
            } else {
                "this server serves no files: it has tokens and no --files-root (CHAINWATCH_FILES_ROOT)".into()
            });
        }
        let list = self
            .roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Err(format!(
            "the cwd {} is outside every files root this server allows ({list}); set --files-root to serve it",
            resolved.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cwd_is_allowed_only_inside_a_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let roots = FilesRoots::exactly(vec![root.join("a")]);
        assert!(roots.check(&root.join("a")).is_ok());
        assert!(roots.check(&root.join("a/b/c")).is_ok());
        assert!(
            roots.check(&root.join("ab")).is_err(),
            "a prefix is not a parent"
        );
        assert!(roots.check(Path::new("/")).is_err());
    }

    #[test]
    fn the_default_is_home_for_a_tokenless_loopback_server_and_nothing_with_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path();
        let open = FilesRoots::resolve(&[], false, true, Some(home));
        assert_eq!(open.roots(), [home.canonicalize().expect("canonical")]);
        let closed = FilesRoots::resolve(&[], true, true, Some(home));
        assert!(closed.roots().is_empty());
        let reason = closed.check(home).expect_err("nothing served");
        assert!(reason.contains("--files-root"), "{reason}");
        let remote = FilesRoots::resolve(&[], false, false, Some(home));
        assert!(remote.roots().is_empty());
    }
}
