//! Typed view of `cargo metadata --format-version 1`, holding only the fields the layering check
//! reads, so the check works on plain data and its tests can use small hand-written fixtures.
//! It must not interpret the graph: the rules live in `layering`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The parts of `cargo metadata` output the layering check needs.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    /// Every package in the graph (only the workspace members with `--no-deps`).
    pub(crate) packages: Vec<Package>,
    /// Package ids of the workspace members.
    pub(crate) workspace_members: Vec<String>,
    /// The resolved dependency graph; absent with `--no-deps`.
    pub(crate) resolve: Option<Resolve>,
}

/// One package and the dependencies its manifest declares.
#[derive(Debug, Deserialize)]
pub(crate) struct Package {
    /// Package name as written in its `[package]` table.
    pub(crate) name: String,
    /// Opaque package id, the key used by `workspace_members` and `resolve`.
    pub(crate) id: String,
    /// Path of the package's `Cargo.toml`.
    pub(crate) manifest_path: PathBuf,
    /// Dependencies as declared, before feature unification.
    pub(crate) dependencies: Vec<Dependency>,
}

/// A dependency as declared in a manifest.
#[derive(Debug, Deserialize)]
pub(crate) struct Dependency {
    /// Name of the depended-on package (not its rename).
    pub(crate) name: String,
    /// Registry or git source; `None` for path dependencies.
    #[serde(default)]
    pub(crate) source: Option<String>,
    /// Normal, dev or build.
    #[serde(default)]
    pub(crate) kind: DepKind,
    /// Whether the dependency's default features are on.
    #[serde(default = "default_true")]
    pub(crate) uses_default_features: bool,
    /// Features the declaration enables.
    #[serde(default)]
    pub(crate) features: Vec<String>,
}

/// The kind of a dependency edge; cargo writes `null` for normal dependencies.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "Option<String>")]
pub(crate) enum DepKind {
    /// A `[dependencies]` entry.
    #[default]
    Normal,
    /// A `[dev-dependencies]` entry.
    Dev,
    /// A `[build-dependencies]` entry.
    Build,
}

impl From<Option<String>> for DepKind {
    fn from(kind: Option<String>) -> Self {
        match kind.as_deref() {
            Some("dev") => DepKind::Dev,
            Some("build") => DepKind::Build,
            _ => DepKind::Normal,
        }
    }
}

/// The resolved dependency graph.
#[derive(Debug, Deserialize)]
pub(crate) struct Resolve {
    /// One node per package in the graph.
    pub(crate) nodes: Vec<Node>,
}

/// A package in the resolved graph and its outgoing edges.
#[derive(Debug, Deserialize)]
pub(crate) struct Node {
    /// Package id of this node.
    pub(crate) id: String,
    /// Resolved edges to other packages.
    #[serde(default)]
    pub(crate) deps: Vec<NodeDep>,
}

/// A resolved edge from one package to another.
#[derive(Debug, Deserialize)]
pub(crate) struct NodeDep {
    /// Package id of the dependency.
    pub(crate) pkg: String,
    /// The kinds under which the edge exists (an edge can be both normal and dev).
    #[serde(default)]
    pub(crate) dep_kinds: Vec<DepKindInfo>,
}

/// One kind of a resolved edge.
#[derive(Debug, Deserialize)]
pub(crate) struct DepKindInfo {
    /// Normal, dev or build.
    #[serde(default)]
    pub(crate) kind: DepKind,
}

impl NodeDep {
    /// Whether the edge links the dependency into the package's own code (a normal dependency).
    pub(crate) fn is_normal(&self) -> bool {
        // Old cargo versions omit `dep_kinds`; treat such edges as normal to stay strict.
        self.dep_kinds.is_empty() || self.dep_kinds.iter().any(|k| k.kind == DepKind::Normal)
    }
}

fn default_true() -> bool {
    true
}

impl Metadata {
    /// Parses the JSON printed by `cargo metadata --format-version 1`.
    ///
    /// # Errors
    /// When the text is not such JSON.
    pub(crate) fn parse(json: &str) -> Result<Metadata> {
        serde_json::from_str(json).context("parsing `cargo metadata` output")
    }

    /// Runs `cargo metadata --format-version 1` (plus `extra_args`) in `dir` and parses its output.
    ///
    /// # Errors
    /// When cargo cannot be run, fails, or prints something unparsable.
    pub(crate) fn load(dir: &Path, extra_args: &[&str]) -> Result<Metadata> {
        let output = Command::new(crate::cargo())
            .args(["metadata", "--format-version", "1"])
            .args(extra_args)
            .current_dir(dir)
            .output()
            .with_context(|| format!("running `cargo metadata` in {}", dir.display()))?;
        if !output.status.success() {
            bail!(
                "`cargo metadata` in {} exited with {}:\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let json =
            String::from_utf8(output.stdout).context("`cargo metadata` printed non-UTF-8")?;
        Metadata::parse(&json)
    }

    /// The workspace member packages.
    pub(crate) fn members(&self) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(|p| self.workspace_members.contains(&p.id))
    }

    /// The package with the given id, if the graph has it.
    pub(crate) fn package(&self, id: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.id == id)
    }
}
