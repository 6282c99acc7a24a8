//! Coalescing of raw file notifications: the first notification about a path opens a
//! window of fixed length; every later one inside it folds into it; when the window
//! closes the path is due once. Whether the file existed before the window is kept from
//! its first notification; the watcher compares it with the file's state at the close
//! to decide between created, modified and deleted (or nothing, for a temp file that
//! came and went). Windows close in the order they opened, so finding the due paths
//! costs nothing per pending path.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Paths waiting for their window to close.
#[derive(Debug)]
pub struct Debouncer {
    window: Duration,
    /// Path -> whether the file existed before its window opened.
    pending: HashMap<PathBuf, bool>,
    /// Open windows by closing time; each path appears once.
    order: VecDeque<(Instant, PathBuf)>,
}

impl Debouncer {
    /// A debouncer whose windows last `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            pending: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Records a notification about `path`; `existed_before` counts only when this opens
    /// the path's window.
    pub fn touch(&mut self, path: PathBuf, existed_before: bool, now: Instant) {
        if self.pending.contains_key(&path) {
            return;
        }
        self.pending.insert(path.clone(), existed_before);
        self.order.push_back((now + self.window, path));
    }

    /// Whether `path` has an open window.
    pub fn is_pending(&self, path: &std::path::Path) -> bool {
        self.pending.contains_key(path)
    }

    /// When the next window closes.
    pub fn next_due(&self) -> Option<Instant> {
        self.order.front().map(|(due, _)| *due)
    }

    /// The paths whose window closed by `now`, in the order their windows opened, each
    /// with whether it existed before.
    pub fn due(&mut self, now: Instant) -> Vec<(PathBuf, bool)> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.order.front() {
            if *at > now {
                break;
            }
            let Some((_, path)) = self.order.pop_front() else {
                break;
            };
            if let Some(existed) = self.pending.remove(&path) {
                due.push((path, existed));
            }
        }
        due
    }

    /// How many paths wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_on_one_path_is_due_once_per_window() {
        let start = Instant::now();
        let window = Duration::from_millis(100);
        let mut debouncer = Debouncer::new(window);
        for i in 0..100 {
            debouncer.touch(
                PathBuf::from("/r/a"),
                i != 0,
                start + Duration::from_millis(i / 2),
            );
        }
        debouncer.touch(
            PathBuf::from("/r/b"),
            true,
            start + Duration::from_millis(10),
        );
        assert_eq!(debouncer.len(), 2);
        assert!(debouncer.due(start + Duration::from_millis(99)).is_empty());
        assert_eq!(debouncer.next_due(), Some(start + window));
        // The first notification decided "existed before": it did not.
        assert_eq!(
            debouncer.due(start + window),
            vec![(PathBuf::from("/r/a"), false)]
        );
        assert_eq!(
            debouncer.due(start + Duration::from_secs(1)),
            vec![(PathBuf::from("/r/b"), true)]
        );
        assert!(debouncer.is_empty());
        // A new window opens after the old one closed.
        debouncer.touch(PathBuf::from("/r/a"), true, start + Duration::from_secs(2));
        assert_eq!(debouncer.len(), 1);
    }
}
