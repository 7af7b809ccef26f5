//! The layering check: DESIGN.md's crate table, enforced. It reads the cargo metadata graph and
//! the library crates' sources and reports every edge, dependency or source line that breaks the
//! layering. `check` is a pure function so each rule can be tested on small fixtures; only `run`
//! touches cargo and the file system.

mod modules;
mod source;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::path::Path;

use anyhow::{Result, bail};

use crate::metadata::{DepKind, Metadata, Package};
pub(crate) use source::SourceView;

const STATE: &str = "session-state";
const SERVICES: &str = "session-services";
const CORE: &str = "session-core";
const CLI: &str = "session-cli";
const ACP: &str = "session-acp";
const TESTS: &str = "session-tests";
const TESTKIT: &str = "session-testkit";
const XTASK: &str = "xtask";
const EXAMPLES: &str = "session-examples";
/// The MCP server the MCP tests start as a program; nothing depends on it.
const MCP_TEST_SERVER: &str = "mcp-test-server";

/// One row of DESIGN.md's crate table.
struct Layer {
    name: &'static str,
    /// Position from the bottom; a crate may dev-depend only on crates with a lower rank.
    /// `None` for crates outside the stack (xtask), which depend on nothing of the workspace.
    rank: Option<u8>,
    /// Workspace crates it may depend on as a normal or build dependency.
    may_depend_on: &'static [&'static str],
}

const LAYERS: &[Layer] = &[
    Layer {
        name: STATE,
        rank: Some(0),
        may_depend_on: &[],
    },
    Layer {
        name: SERVICES,
        rank: Some(1),
        may_depend_on: &[STATE],
    },
    Layer {
        name: CORE,
        rank: Some(2),
        may_depend_on: &[STATE, SERVICES],
    },
    Layer {
        name: ACP,
        rank: Some(3),
        may_depend_on: &[CORE],
    },
    Layer {
        name: CLI,
        rank: Some(4),
        may_depend_on: &[ACP, CORE, SERVICES],
    },
    Layer {
        name: TESTS,
        rank: Some(5),
        may_depend_on: &[STATE, SERVICES, CORE, CLI],
    },
    Layer {
        name: TESTKIT,
        rank: Some(2),
        may_depend_on: &[STATE, SERVICES],
    },
    Layer {
        name: EXAMPLES,
        rank: Some(3),
        may_depend_on: &[CORE],
    },
    Layer {
        name: MCP_TEST_SERVER,
        rank: None,
        may_depend_on: &[],
    },
    Layer {
        name: XTASK,
        rank: None,
        may_depend_on: &[],
    },
];

/// The crates that may dev-depend on `session-testkit`. It sits beside the stack: it builds on
/// state and services as core does, but only tests use it, so these crates may dev-depend on it
/// although it is not below all of them. No layer lists it in `may_depend_on`: as a normal or
/// build dependency it is always an error, so no library or binary ships a test server.
const TESTKIT_USERS: &[&str] = &[SERVICES, CORE, ACP, CLI, TESTS];

/// The only direct normal dependencies `session-state` may have. A new one needs a design reason
/// and its own commit that updates this list.
const STATE_ALLOWED_DEPS: &[&str] = &[
    "serde",
    "serde_json",
    "thiserror",
    "tokio",
    "base64",
    "similar",
];

/// The tokio features `session-state` may use: oneshot waiters, nothing that does I/O.
const STATE_TOKIO_FEATURES: &[&str] = &["sync"];

/// Crates that mean network or OS I/O; none may be in `session-state`'s dependency closure.
const IO_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper-util",
    "mio",
    "socket2",
    "tokio-rustls",
    "rustls",
    "native-tls",
    "h2",
];

/// Library crates, which never print: only `session-cli` (and xtask) write to the terminal.
const LIBRARIES: &[&str] = &[STATE, SERVICES, CORE, ACP, TESTKIT];

/// Which rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rule {
    /// A workspace member missing from the crate table.
    UnknownCrate,
    /// A normal or build dependency on a workspace crate the table does not allow.
    Edge,
    /// A dev-dependency on a crate that is not below the depending crate.
    DevEdge,
    /// A direct dependency of `session-state` outside its allowlist.
    StateDependency,
    /// A tokio dependency with features beyond `sync`.
    TokioFeatures,
    /// An I/O crate in `session-state`'s transitive normal dependencies.
    IoCrate,
    /// `std::fs`, `std::net` or `std::process` used in `session-state`.
    StdIo,
    /// A print macro in a library crate.
    Print,
    /// `session-core` modules importing each other in a circle.
    ModuleCycle,
}

/// One broken rule, rendered as `subject: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The rule broken.
    pub(crate) rule: Rule,
    /// Where: a dependency path (`a -> b`) or a source location (`file:line`).
    pub(crate) subject: String,
    /// What is wrong, in words.
    pub(crate) message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// Checks the workspace in `metadata` and the sources in `sources` against the layering rules and
/// returns every violation, sorted and without duplicates.
pub(crate) fn check(metadata: &Metadata, sources: &SourceView) -> Vec<Violation> {
    let mut out = Vec::new();
    check_edges(metadata, &mut out);
    if let Some(state) = metadata.members().find(|p| p.name == STATE) {
        check_state_direct(state, &mut out);
        check_state_closure(metadata, state, &mut out);
    }
    source::check(sources, &mut out);
    modules::check(sources, &mut out);
    // Sorted by where, then what, so related lines sit together in the report.
    out.sort_by(|a, b| (&a.subject, &a.message, a.rule).cmp(&(&b.subject, &b.message, b.rule)));
    out.dedup();
    out
}

/// Runs the check on the workspace at `root` and prints each violation on its own line.
///
/// # Errors
/// When cargo metadata or the sources cannot be read, or when there is any violation.
pub(crate) fn run(root: &Path) -> Result<()> {
    let metadata = Metadata::load(root, &[])?;
    let sources = SourceView::load(root, &metadata, LIBRARIES)?;
    let violations = check(&metadata, &sources);
    if violations.is_empty() {
        return Ok(());
    }
    for violation in &violations {
        eprintln!("{violation}");
    }
    bail!(
        "{} layering violation(s); see DESIGN.md's crate table",
        violations.len()
    )
}

fn layer(name: &str) -> Option<&'static Layer> {
    LAYERS.iter().find(|l| l.name == name)
}

/// `session-core` → `core`: how DESIGN.md speaks of the crates.
fn short(name: &str) -> &str {
    name.strip_prefix("session-").unwrap_or(name)
}

fn allowed_list(layer: &Layer) -> String {
    if layer.may_depend_on.is_empty() {
        "nothing from the workspace".to_owned()
    } else {
        layer.may_depend_on.join(", ")
    }
}

fn check_edges(metadata: &Metadata, out: &mut Vec<Violation>) {
    let members: Vec<&Package> = metadata.members().collect();
    let names: BTreeSet<&str> = members.iter().map(|p| p.name.as_str()).collect();
    for package in &members {
        let Some(from) = layer(&package.name) else {
            out.push(Violation {
                rule: Rule::UnknownCrate,
                subject: package.name.clone(),
                message: "workspace crate missing from the layering table in xtask/src/layering.rs"
                    .to_owned(),
            });
            continue;
        };
        let workspace_deps = package.dependencies.iter().filter(|d| {
            d.source.is_none() && names.contains(d.name.as_str()) && d.name != package.name
        });
        for dep in workspace_deps {
            // An edge to an unknown crate is reported once, as that crate's `UnknownCrate`.
            let Some(to) = layer(&dep.name) else { continue };
            let subject = format!("{} -> {}", from.name, to.name);
            match dep.kind {
                DepKind::Normal | DepKind::Build => {
                    if to.name == TESTKIT {
                        out.push(Violation {
                            rule: Rule::Edge,
                            subject,
                            message: format!(
                                "{} must not depend on testkit: it is test support, a dev-dependency only",
                                short(from.name)
                            ),
                        });
                    } else if !from.may_depend_on.contains(&to.name) {
                        out.push(Violation {
                            rule: Rule::Edge,
                            subject,
                            message: format!(
                                "{} must not depend on {} (allowed: {})",
                                short(from.name),
                                short(to.name),
                                allowed_list(from)
                            ),
                        });
                    }
                }
                DepKind::Dev if to.name == TESTKIT => {
                    if !TESTKIT_USERS.contains(&from.name) {
                        out.push(Violation {
                            rule: Rule::DevEdge,
                            subject: format!("{subject} (dev)"),
                            message: format!(
                                "{} must not dev-depend on testkit: only {} may",
                                short(from.name),
                                TESTKIT_USERS.join(", ")
                            ),
                        });
                    }
                }
                DepKind::Dev => {
                    let below = matches!((from.rank, to.rank), (Some(f), Some(t)) if t < f);
                    if !below {
                        out.push(Violation {
                            rule: Rule::DevEdge,
                            subject: format!("{subject} (dev)"),
                            message: format!(
                                "{} must not dev-depend on {}: only crates below it are allowed",
                                short(from.name),
                                short(to.name)
                            ),
                        });
                    }
                }
            }
        }
    }
}

/// Checks the dependencies `session-state` declares itself.
fn check_state_direct(state: &Package, out: &mut Vec<Violation>) {
    for dep in state.dependencies.iter().filter(|d| d.kind != DepKind::Dev) {
        let subject = format!("{STATE} -> {}", dep.name);
        if !STATE_ALLOWED_DEPS.contains(&dep.name.as_str()) {
            out.push(Violation {
                rule: Rule::StateDependency,
                subject: subject.clone(),
                message: format!(
                    "not in session-state's dependency allowlist ({}) in xtask/src/layering.rs",
                    STATE_ALLOWED_DEPS.join(", ")
                ),
            });
        }
        if dep.name == "tokio" {
            let extra = tokio_extra_features(&dep.features);
            if dep.uses_default_features || !extra.is_empty() {
                out.push(Violation {
                    rule: Rule::TokioFeatures,
                    subject,
                    message: tokio_message(dep.uses_default_features, &extra),
                });
            }
        }
    }
}

fn tokio_extra_features(features: &[String]) -> Vec<&str> {
    features
        .iter()
        .map(String::as_str)
        .filter(|f| !STATE_TOKIO_FEATURES.contains(f))
        .collect()
}

fn tokio_message(default_features: bool, extra: &[&str]) -> String {
    let mut problems = Vec::new();
    if default_features {
        problems.push("default features on".to_owned());
    }
    if !extra.is_empty() {
        problems.push(format!("features [{}]", extra.join(", ")));
    }
    format!(
        "session-state may use tokio only with default-features = false and features within [{}]; found {}",
        STATE_TOKIO_FEATURES.join(", "),
        problems.join(" and ")
    )
}

/// Walks `session-state`'s transitive normal dependencies looking for I/O.
///
/// Resolved features are unified across the whole workspace, so tokio's resolved edges (to mio,
/// socket2, …) reflect what `session-services` enables, not what `session-state` asks for. The
/// walk therefore does not descend into tokio; the tokio features each package in the closure
/// declares are checked instead.
fn check_state_closure(metadata: &Metadata, state: &Package, out: &mut Vec<Violation>) {
    let Some(resolve) = &metadata.resolve else {
        out.push(Violation {
            rule: Rule::IoCrate,
            subject: STATE.to_owned(),
            message: "cargo metadata has no resolved graph, so the dependency closure is unchecked"
                .to_owned(),
        });
        return;
    };
    let nodes: HashMap<&str, _> = resolve.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let name_of = |id: &str| {
        metadata
            .package(id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone())
    };
    // Breadth-first, remembering how each package was reached so a violation shows the path.
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([state.id.as_str()]);
    let path_to = |parent: &HashMap<&str, &str>, id: &str| {
        let mut chain = vec![name_of(id)];
        let mut at = id;
        while let Some(&p) = parent.get(at) {
            chain.push(name_of(p));
            at = p;
        }
        chain.reverse();
        chain.join(" -> ")
    };
    while let Some(id) = queue.pop_front() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node.deps.iter().filter(|d| d.is_normal()) {
            let dep_id = dep.pkg.as_str();
            let name = name_of(dep_id);
            // Every package reaching tokio declares its own features, even when tokio was
            // already reached another way; `session-state`'s own are checked by
            // `check_state_direct`.
            if name == "tokio" && id != state.id {
                let subject = format!("{} -> {name}", path_to(&parent, id));
                check_declared_tokio(metadata, id, &subject, out);
            }
            if dep_id == state.id || parent.contains_key(dep_id) {
                continue;
            }
            parent.insert(dep_id, id);
            if IO_CRATES.contains(&name.as_str()) {
                out.push(Violation {
                    rule: Rule::IoCrate,
                    subject: path_to(&parent, dep_id),
                    message: format!("I/O crate {name} in session-state's dependency closure"),
                });
            }
            if name != "tokio" {
                queue.push_back(dep_id);
            }
        }
    }
}

/// Checks the tokio features that package `id`, a transitive dependency of `session-state`,
/// declares.
fn check_declared_tokio(metadata: &Metadata, id: &str, subject: &str, out: &mut Vec<Violation>) {
    let Some(package) = metadata.package(id) else {
        return;
    };
    let mut extra: Vec<&str> = package
        .dependencies
        .iter()
        .filter(|d| d.name == "tokio" && d.kind == DepKind::Normal)
        .flat_map(|d| tokio_extra_features(&d.features))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    if !extra.is_empty() {
        out.push(Violation {
            rule: Rule::TokioFeatures,
            subject: subject.to_owned(),
            message: format!(
                "tokio with features [{}] in session-state's dependency closure (only [{}] allowed)",
                extra.join(", "),
                STATE_TOKIO_FEATURES.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests;
