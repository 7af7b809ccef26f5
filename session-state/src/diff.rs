//! The turn diff tracker: what every file changed this turn looks like against its state at the
//! turn's start, as one git-style unified diff.
//!
//! Pure: the caller supplies file contents before and after each change; nothing here reads or
//! writes files.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use similar::TextDiff;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tracked {
    /// Content at the turn's start; `None` when the file did not exist.
    baseline: Option<String>,
    /// Where the file is now.
    current_path: PathBuf,
    /// Content now; `None` when the file no longer exists.
    current: Option<String>,
}

impl Tracked {
    /// Whether this file looks different from the turn's start: content or place.
    fn differs(&self, orig: &Path) -> bool {
        match (&self.baseline, &self.current) {
            // Created and deleted again within the turn: nothing to show, wherever it went.
            (None, None) => false,
            _ => self.baseline != self.current || orig != self.current_path,
        }
    }
}

/// The path a file had when first tracked, and a sequence number that tells apart two files
/// that had the same path at different times (one moved away, another created in its place).
type Key = (PathBuf, u64);

/// Tracks the files a turn changed and renders the turn's unified diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnDiffTracker {
    root: Option<PathBuf>,
    /// Keyed by the path the file had at the turn's start (or was first created at).
    files: BTreeMap<Key, Tracked>,
    /// Current path → key in `files`.
    index: HashMap<PathBuf, Key>,
    next_seq: u64,
}

impl TurnDiffTracker {
    /// A tracker with no changes; paths are shown relative to `root` when under it.
    pub fn new(root: Option<PathBuf>) -> Self {
        Self {
            root,
            ..Self::default()
        }
    }

    /// Start tracking the file now at `path`, whose content at the turn's start was `baseline`.
    fn track(&mut self, path: &Path, baseline: Option<&str>) -> Key {
        let key = (path.to_path_buf(), self.next_seq);
        self.next_seq += 1;
        self.files.insert(
            key.clone(),
            Tracked {
                baseline: baseline.map(str::to_owned),
                current_path: path.to_path_buf(),
                current: baseline.map(str::to_owned),
            },
        );
        self.index.insert(path.to_path_buf(), key.clone());
        key
    }

    /// Record a change of the file at `path`: `before` is its content just before the change
    /// (`None`: it did not exist), `after` its content just after (`None`: deleted).
    ///
    /// The first change of a file fixes its baseline; later changes only move its current state.
    pub fn record_change(&mut self, path: &Path, before: Option<&str>, after: Option<&str>) {
        let key = match self.index.get(path) {
            Some(key) => key.clone(),
            None => self.track(path, before),
        };
        if let Some(t) = self.files.get_mut(&key) {
            t.current = after.map(str::to_owned);
        }
    }

    /// Record that the file at `from` (content `before`) moved to `to` with content `after`.
    ///
    /// When `to` is a file this turn already tracks, the move overwrote it: the diff then shows
    /// `from` deleted and `to` changed to `after`, which is what the files look like.
    pub fn record_move(&mut self, from: &Path, to: &Path, before: &str, after: &str) {
        let key = match self.index.remove(from) {
            Some(key) => key,
            None => {
                let key = self.track(from, Some(before));
                self.index.remove(from);
                key
            }
        };
        if let Some(dest) = self.index.get(to).cloned() {
            if let Some(t) = self.files.get_mut(&key) {
                t.current = None;
            }
            if let Some(t) = self.files.get_mut(&dest) {
                t.current = Some(after.to_owned());
            }
            return;
        }
        if let Some(t) = self.files.get_mut(&key) {
            t.current_path = to.to_path_buf();
            t.current = Some(after.to_owned());
        }
        self.index.insert(to.to_path_buf(), key);
    }

    /// Whether any file differs from its state at the turn's start.
    pub fn has_changes(&self) -> bool {
        self.files.iter().any(|((orig, _), t)| t.differs(orig))
    }

    /// The unified diff of every file changed this turn, or `None` if nothing differs.
    ///
    /// Files come in order of the path they had at the turn's start.
    pub fn unified_diff(&self) -> Option<String> {
        let mut out = String::new();
        for ((orig, _), t) in &self.files {
            if !t.differs(orig) {
                continue;
            }
            let old_name = self.display(orig);
            let new_name = self.display(&t.current_path);
            let (old_header, new_header) = match (&t.baseline, &t.current) {
                (None, _) => {
                    let _ = writeln!(out, "diff --git a/{new_name} b/{new_name}");
                    out.push_str("new file mode 100644\n");
                    ("/dev/null".to_owned(), format!("b/{new_name}"))
                }
                (Some(_), None) => {
                    let _ = writeln!(out, "diff --git a/{old_name} b/{old_name}");
                    out.push_str("deleted file mode 100644\n");
                    (format!("a/{old_name}"), "/dev/null".to_owned())
                }
                (Some(_), Some(_)) => {
                    let _ = writeln!(out, "diff --git a/{old_name} b/{new_name}");
                    if *orig != t.current_path {
                        let _ = writeln!(out, "rename from {old_name}");
                        let _ = writeln!(out, "rename to {new_name}");
                    }
                    (format!("a/{old_name}"), format!("b/{new_name}"))
                }
            };
            let old_text = t.baseline.as_deref().unwrap_or("");
            let new_text = t.current.as_deref().unwrap_or("");
            if old_text == new_text {
                // A pure rename, or an empty file added or deleted: git shows no hunks.
                continue;
            }
            let _ = writeln!(out, "--- {old_header}");
            let _ = writeln!(out, "+++ {new_header}");
            let diff = TextDiff::from_lines(old_text, new_text);
            let _ = write!(out, "{}", diff.unified_diff().context_radius(3));
        }
        if out.is_empty() { None } else { Some(out) }
    }

    fn display(&self, path: &Path) -> String {
        let shown = self
            .root
            .as_deref()
            .and_then(|r| path.strip_prefix(r).ok())
            .unwrap_or(path);
        shown.to_string_lossy().replace('\\', "/")
    }
}

#[cfg(test)]
mod tests;
