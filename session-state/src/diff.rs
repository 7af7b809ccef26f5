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

/// Tracks the files a turn changed and renders the turn's unified diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnDiffTracker {
    root: Option<PathBuf>,
    /// Keyed by the path the file had at the turn's start (or was first created at).
    files: BTreeMap<PathBuf, Tracked>,
    /// Current path → key in `files`.
    index: HashMap<PathBuf, PathBuf>,
}

impl TurnDiffTracker {
    /// A tracker with no changes; paths are shown relative to `root` when under it.
    pub fn new(root: Option<PathBuf>) -> Self {
        Self {
            root,
            ..Self::default()
        }
    }

    /// Record a change of the file at `path`: `before` is its content just before the change
    /// (`None`: it did not exist), `after` its content just after (`None`: deleted).
    ///
    /// The first change of a file fixes its baseline; later changes only move its current state.
    pub fn record_change(&mut self, path: &Path, before: Option<&str>, after: Option<&str>) {
        match self.index.get(path) {
            Some(key) => {
                if let Some(t) = self.files.get_mut(key) {
                    t.current = after.map(str::to_owned);
                }
            }
            None => {
                self.files.insert(
                    path.to_path_buf(),
                    Tracked {
                        baseline: before.map(str::to_owned),
                        current_path: path.to_path_buf(),
                        current: after.map(str::to_owned),
                    },
                );
                self.index.insert(path.to_path_buf(), path.to_path_buf());
            }
        }
    }

    /// Record that the file at `from` (content `before`) moved to `to` with content `after`.
    pub fn record_move(&mut self, from: &Path, to: &Path, before: &str, after: &str) {
        let key = match self.index.remove(from) {
            Some(key) => key,
            None => {
                self.files.insert(
                    from.to_path_buf(),
                    Tracked {
                        baseline: Some(before.to_owned()),
                        current_path: from.to_path_buf(),
                        current: Some(before.to_owned()),
                    },
                );
                from.to_path_buf()
            }
        };
        if let Some(t) = self.files.get_mut(&key) {
            t.current_path = to.to_path_buf();
            t.current = Some(after.to_owned());
        }
        self.index.insert(to.to_path_buf(), key);
    }

    /// Whether any file differs from its state at the turn's start.
    pub fn has_changes(&self) -> bool {
        self.files
            .iter()
            .any(|(orig, t)| t.baseline != t.current || *orig != t.current_path)
    }

    /// The unified diff of every file changed this turn, or `None` if nothing differs.
    pub fn unified_diff(&self) -> Option<String> {
        let mut out = String::new();
        for (orig, t) in &self.files {
            let moved = *orig != t.current_path;
            if t.baseline == t.current && !moved {
                continue;
            }
            let old_name = self.display(orig);
            let new_name = self.display(&t.current_path);
            let _ = writeln!(out, "diff --git a/{old_name} b/{new_name}");
            let old_text = t.baseline.as_deref().unwrap_or("");
            let new_text = t.current.as_deref().unwrap_or("");
            let (old_header, new_header) = match (&t.baseline, &t.current) {
                (None, None) => continue,
                (None, Some(_)) => {
                    out.push_str("new file mode 100644\n");
                    ("/dev/null".to_owned(), format!("b/{new_name}"))
                }
                (Some(_), None) => {
                    out.push_str("deleted file mode 100644\n");
                    (format!("a/{old_name}"), "/dev/null".to_owned())
                }
                (Some(_), Some(_)) => {
                    if moved {
                        let _ = writeln!(out, "rename from {old_name}");
                        let _ = writeln!(out, "rename to {new_name}");
                    }
                    (format!("a/{old_name}"), format!("b/{new_name}"))
                }
            };
            if old_text == new_text && t.baseline.is_some() && t.current.is_some() {
                // A pure rename: git shows no hunks.
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
