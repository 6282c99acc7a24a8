//! What the watcher and the files API never report or serve under a session's cwd:
//! `.git/`, `target/`, `node_modules/` anywhere, Chainwatch's own data dir, and the
//! project's `.gitignore` rules (the cwd's, those of its parents up to the repository's
//! top, `.git/info/exclude`, and nested ones, each as git applies them: the deepest
//! rule that matches wins). Also the one directory walk both use: depth-first, sorted
//! by name, never following symlinks, never entering an ignored directory.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Names ignored at any depth, file or directory.
pub const ALWAYS_IGNORED: [&str; 3] = [".git", "target", "node_modules"];

/// The ignore rules of one root (a session's canonical cwd).
#[derive(Debug, Clone)]
pub struct Rules {
    root: PathBuf,
    data_dir: Option<PathBuf>,
    /// `.gitignore` matchers by the directory holding them (the root, its parents up
    /// to the repository's top, and directories below it as the walk meets them).
    gitignores: HashMap<PathBuf, Gitignore>,
}

impl Rules {
    /// The rules of `root`, which must be canonical (absolute, no symlinks);
    /// `data_dir`, when given, must be canonical too.
    pub fn new(root: PathBuf, data_dir: Option<PathBuf>) -> Self {
        let mut rules = Self {
            root,
            data_dir,
            gitignores: HashMap::new(),
        };
        // The root's own .gitignore, then its parents' up to the repository's top (the
        // first directory holding `.git`); outside a repository only the root's.
        let ancestors: Vec<PathBuf> = rules.root.ancestors().map(Path::to_path_buf).collect();
        let top = ancestors.iter().position(|dir| dir.join(".git").exists());
        let upto = top.map_or(1, |t| t + 1);
        for dir in &ancestors[..upto] {
            rules.load_dir(dir);
        }
        if let Some(t) = top {
            let top_dir = &ancestors[t];
            let exclude = top_dir.join(".git").join("info").join("exclude");
            if exclude.is_file() {
                // One matcher for the top: exclude first, so that .gitignore lines (added
                // after, and the later line wins) take precedence as in git.
                let mut builder = GitignoreBuilder::new(top_dir);
                let _ = builder.add(exclude);
                let gitignore = top_dir.join(".gitignore");
                if gitignore.is_file() {
                    let _ = builder.add(gitignore);
                }
                if let Ok(matcher) = builder.build() {
                    rules.gitignores.insert(top_dir.clone(), matcher);
                }
            }
        }
        rules
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// (Re)loads `dir/.gitignore` (after the walk meets `dir`, or after the file changed).
    pub fn load_dir(&mut self, dir: &Path) {
        let file = dir.join(".gitignore");
        if !file.is_file() {
            self.gitignores.remove(dir);
            return;
        }
        let mut builder = GitignoreBuilder::new(dir);
        if let Some(error) = builder.add(&file) {
            tracing::debug!(file = %file.display(), %error, "a .gitignore line was skipped");
        }
        match builder.build() {
            Ok(matcher) if !matcher.is_empty() => {
                self.gitignores.insert(dir.to_path_buf(), matcher);
            }
            Ok(_) => {
                self.gitignores.remove(dir);
            }
            Err(error) => {
                tracing::debug!(file = %file.display(), %error, "a .gitignore cannot be used");
                self.gitignores.remove(dir);
            }
        }
    }

    /// Whether `path` (absolute, under the root) is never reported. Paths outside the
    /// root are ignored too: they belong to no session of this root.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return true;
        };
        if relative.components().any(|c| {
            ALWAYS_IGNORED
                .iter()
                .any(|name| c.as_os_str() == OsStr::new(name))
        }) {
            return true;
        }
        if self
            .data_dir
            .as_ref()
            .is_some_and(|data| path.starts_with(data))
        {
            return true;
        }
        if relative.as_os_str().is_empty() || self.gitignores.is_empty() {
            return false;
        }
        // The deepest .gitignore that says anything about the path decides.
        for dir in path.ancestors().skip(1) {
            if let Some(matcher) = self.gitignores.get(dir) {
                let Ok(inside) = path.strip_prefix(dir) else {
                    continue;
                };
                match matcher.matched_path_or_any_parents(inside, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        false
    }

    /// `path` relative to the root, `/`-separated; `None` outside the root or for the
    /// root itself.
    pub fn relative(&self, path: &Path) -> Option<String> {
        relative(&self.root, path)
    }
}

/// `path` relative to `root`, `/`-separated; `None` outside `root` or for `root` itself.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    if relative.as_os_str().is_empty() {
        return None;
    }
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// One entry the walk meets.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its absolute path.
    pub path: PathBuf,
    /// True for a directory (a symlink is never one: the walk does not follow links).
    pub dir: bool,
    /// Size in bytes, for files.
    pub size: Option<u64>,
    /// 1 for the start directory's children.
    pub depth: usize,
}

/// What the walk does after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Go on (into the entry, when it is a directory).
    Continue,
    /// Go on, but not into this directory.
    Skip,
    /// Stop the whole walk.
    Stop,
}

/// Walks `start` (a directory under `rules`' root) depth-first in name order, calling
/// `visit` for every entry the rules do not ignore; directories deeper than `max_depth`
/// are not entered. Loads each `.gitignore` it meets into `rules` before matching the
/// entries of its directory. Returns false when `visit` stopped it or a level was cut
/// by `max_depth`. Unreadable directories are skipped.
pub fn walk(
    rules: &mut Rules,
    start: &Path,
    max_depth: usize,
    visit: &mut dyn FnMut(&Entry) -> Step,
) -> bool {
    let mut complete = true;
    walk_dir(rules, start, 1, max_depth, visit, &mut complete);
    complete
}

/// Returns false when the walk must stop.
fn walk_dir(
    rules: &mut Rules,
    dir: &Path,
    depth: usize,
    max_depth: usize,
    visit: &mut dyn FnMut(&Entry) -> Step,
    complete: &mut bool,
) -> bool {
    if dir != rules.root() {
        rules.load_dir(dir);
    }
    let reader = match std::fs::read_dir(dir) {
        Ok(reader) => reader,
        Err(error) => {
            tracing::debug!(dir = %dir.display(), %error, "directory skipped");
            return true;
        }
    };
    let mut entries: Vec<Entry> = reader
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file_type = entry.file_type().ok()?;
            let dir = file_type.is_dir();
            let path = entry.path();
            if rules.is_ignored(&path, dir) {
                return None;
            }
            let size = if file_type.is_file() {
                entry.metadata().ok().map(|m| m.len())
            } else {
                None
            };
            Some(Entry {
                path,
                dir,
                size,
                depth,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for entry in entries {
        match visit(&entry) {
            Step::Stop => {
                *complete = false;
                return false;
            }
            Step::Skip => {}
            Step::Continue if entry.dir => {
                if depth >= max_depth {
                    *complete = false;
                } else if !walk_dir(rules, &entry.path, depth + 1, max_depth, visit, complete) {
                    return false;
                }
            }
            Step::Continue => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: &[&str]) {
        for file in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "x").expect("write");
        }
    }

    #[test]
    fn fixed_names_data_dir_and_gitignore_rules_are_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        tree(
            &root,
            &[
                ".gitignore",
                "src/main.rs",
                "src/.gitignore",
                "src/gen.rs",
                "src/keep.log",
                "a.log",
                "build/out.o",
                "target/debug/x",
                "node_modules/m/i.js",
                ".git/HEAD",
                "data/chainwatch.db",
                "deep/node_modules/x.js",
            ],
        );
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n").expect("write");
        std::fs::write(root.join("src/.gitignore"), "gen.rs\n!keep.log\n").expect("write");
        let mut rules = Rules::new(root.clone(), Some(root.join("data")));
        let mut seen = Vec::new();
        assert!(walk(&mut rules, &root, 32, &mut |e| {
            seen.push(rules_relative(&root, &e.path));
            Step::Continue
        }));
        assert_eq!(
            seen,
            [
                ".gitignore",
                "deep",
                "src",
                "src/.gitignore",
                "src/keep.log",
                "src/main.rs"
            ]
        );
        for ignored in [
            "a.log",
            "build/out.o",
            "target/x",
            "x/target/y",
            "node_modules/a",
            ".git/config",
            "data/chainwatch.db",
            "src/gen.rs",
        ] {
            assert!(rules.is_ignored(&root.join(ignored), false), "{ignored}");
        }
        assert!(rules.is_ignored(&root.join("build"), true));
        assert!(!rules.is_ignored(&root.join("src/keep.log"), false));
        assert!(!rules.is_ignored(&root.join("README.md"), false));
        assert!(rules.is_ignored(Path::new("/elsewhere/file"), false));
    }

    #[test]
    fn parent_gitignore_up_to_the_repository_top_applies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let top = dir.path().canonicalize().expect("canonical");
        tree(&top, &[".git/HEAD", "app/src/a.rs", "app/cache/x"]);
        std::fs::write(top.join(".gitignore"), "cache/\n").expect("write");
        let rules = Rules::new(top.join("app"), None);
        assert!(rules.is_ignored(&top.join("app/cache/x"), false));
        assert!(!rules.is_ignored(&top.join("app/src/a.rs"), false));
        assert_eq!(
            rules.relative(&top.join("app/src/a.rs")).as_deref(),
            Some("src/a.rs")
        );
    }

    fn rules_relative(root: &Path, path: &Path) -> String {
        Rules::new(root.to_path_buf(), None)
            .relative(path)
            .expect("inside")
    }
}
