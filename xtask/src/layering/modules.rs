//! The module half of the layering check: `session-core`'s top-level modules must form an
//! acyclic graph, so the engine reads top-down (shared types in leaf modules, the façade on top).
//!
//! An edge `a -> b` is any `crate::b` path in a non-test file of module `a` (its file `a.rs` and
//! everything under `a/`). Comments are skipped; test files (`tests.rs`, anything under a
//! `tests/` folder) are not part of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use super::{CORE, Rule, SourceView, Violation};

/// The top-level module a file of `src/` belongs to, or `None` for `lib.rs`, `main.rs` and tests.
fn module_of(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let src = parts.iter().position(|p| *p == "src")?;
    let rest = &parts[src + 1..];
    if rest.iter().any(|p| *p == "tests" || *p == "tests.rs") {
        return None;
    }
    let first = rest.first()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// The modules `text` names as `crate::x`.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            // `session_core::crate::` cannot occur; `$crate::` and `my_crate::` are not ours.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Reports every cycle among `session-core`'s modules.
pub(super) fn check(sources: &SourceView, out: &mut Vec<Violation>) {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources.files.iter().filter(|f| f.crate_name == CORE) {
        if let Some(module) = module_of(&file.path) {
            graph
                .entry(module.clone())
                .or_default()
                .extend(references(&file.text).into_iter().filter(|r| *r != module));
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|t| known.contains(t));
    }
    let mut reported = BTreeSet::new();
    for start in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, start) {
            let mut key: Vec<String> = cycle[..cycle.len() - 1].to_vec();
            key.sort();
            if reported.insert(key) {
                out.push(Violation {
                    rule: Rule::ModuleCycle,
                    subject: format!("{CORE} modules {}", cycle.join(" -> ")),
                    message: "modules of session-core must not import each other in a circle: \
                              move the shared items to a leaf module"
                        .to_owned(),
                });
            }
        }
    }
}

/// The shortest cycle through `start`, as `start -> … -> start`.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut path = vec![start.to_owned()];
                let mut at = node;
                let mut back = vec![node.to_owned()];
                while at != start {
                    at = previous[at];
                    back.push(at.to_owned());
                }
                back.pop();
                back.reverse();
                path.extend(back);
                path.push(start.to_owned());
                return Some(path);
            }
            if next != start && !previous.contains_key(next.as_str()) {
                previous.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}
