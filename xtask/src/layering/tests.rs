//! Tests of the layering rules: each rule fires on a small hand-written metadata fixture, a clean
//! fixture passes, and real `cargo metadata` output of throwaway workspaces goes through the same
//! checker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::{LIBRARIES, Rule, SourceView, Violation, check};
use crate::metadata::Metadata;

/// A workspace that follows DESIGN.md's table. Tokio's resolved node reaches mio and socket2
/// because `session-services` enables `net`: resolved features are unified workspace-wide.
const CLEAN: &str = r#"{
  "workspace_members": ["ws#session-state", "ws#session-services", "ws#session-core",
                        "ws#session-cli", "ws#xtask", "ws#session-tests"],
  "packages": [
    {"name": "session-state", "id": "ws#session-state", "manifest_path": "/ws/session-state/Cargo.toml",
     "dependencies": [
       {"name": "serde", "source": "registry", "kind": null, "uses_default_features": true, "features": ["derive"]},
       {"name": "base64", "source": "registry", "kind": null, "uses_default_features": true, "features": []},
       {"name": "tokio", "source": "registry", "kind": null, "uses_default_features": false, "features": ["sync"]},
       {"name": "insta", "source": "registry", "kind": "dev", "uses_default_features": false, "features": []}
     ]},
    {"name": "session-services", "id": "ws#session-services", "manifest_path": "/ws/session-services/Cargo.toml",
     "dependencies": [
       {"name": "session-state", "source": null, "kind": null, "uses_default_features": true, "features": []},
       {"name": "tokio", "source": "registry", "kind": null, "uses_default_features": false, "features": ["net", "process", "fs"]},
       {"name": "reqwest", "source": "registry", "kind": null, "uses_default_features": false, "features": []}
     ]},
    {"name": "session-core", "id": "ws#session-core", "manifest_path": "/ws/session-core/Cargo.toml",
     "dependencies": [
       {"name": "session-state", "source": null, "kind": null, "uses_default_features": true, "features": []},
       {"name": "session-services", "source": null, "kind": null, "uses_default_features": true, "features": []},
       {"name": "session-services", "source": null, "kind": "dev", "uses_default_features": true, "features": ["mocks"]}
     ]},
    {"name": "session-cli", "id": "ws#session-cli", "manifest_path": "/ws/session-cli/Cargo.toml",
     "dependencies": [
       {"name": "session-core", "source": null, "kind": null, "uses_default_features": true, "features": []},
       {"name": "session-services", "source": null, "kind": null, "uses_default_features": true, "features": []}
     ]},
    {"name": "xtask", "id": "ws#xtask", "manifest_path": "/ws/xtask/Cargo.toml",
     "dependencies": [
       {"name": "serde_json", "source": "registry", "kind": null, "uses_default_features": true, "features": []}
     ]},
    {"name": "session-tests", "id": "ws#session-tests", "manifest_path": "/ws/tests/Cargo.toml",
     "dependencies": [
       {"name": "session-state", "source": null, "kind": "dev", "uses_default_features": true, "features": []},
       {"name": "session-services", "source": null, "kind": "dev", "uses_default_features": true, "features": ["mocks"]},
       {"name": "session-core", "source": null, "kind": "dev", "uses_default_features": true, "features": []}
     ]},
    {"name": "serde", "id": "reg#serde", "manifest_path": "/reg/serde/Cargo.toml", "dependencies": []},
    {"name": "serde_json", "id": "reg#serde_json", "manifest_path": "/reg/serde_json/Cargo.toml", "dependencies": []},
    {"name": "base64", "id": "reg#base64", "manifest_path": "/reg/base64/Cargo.toml", "dependencies": []},
    {"name": "insta", "id": "reg#insta", "manifest_path": "/reg/insta/Cargo.toml", "dependencies": []},
    {"name": "reqwest", "id": "reg#reqwest", "manifest_path": "/reg/reqwest/Cargo.toml", "dependencies": []},
    {"name": "tokio", "id": "reg#tokio", "manifest_path": "/reg/tokio/Cargo.toml", "dependencies": []},
    {"name": "mio", "id": "reg#mio", "manifest_path": "/reg/mio/Cargo.toml", "dependencies": []},
    {"name": "socket2", "id": "reg#socket2", "manifest_path": "/reg/socket2/Cargo.toml", "dependencies": []}
  ],
  "resolve": {"nodes": [
    {"id": "ws#session-state", "deps": [
      {"pkg": "reg#serde", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#base64", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#tokio", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#insta", "dep_kinds": [{"kind": "dev"}]}
    ]},
    {"id": "ws#session-services", "deps": [
      {"pkg": "ws#session-state", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#tokio", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#reqwest", "dep_kinds": [{"kind": null}]}
    ]},
    {"id": "ws#session-core", "deps": [
      {"pkg": "ws#session-state", "dep_kinds": [{"kind": null}]},
      {"pkg": "ws#session-services", "dep_kinds": [{"kind": null}, {"kind": "dev"}]}
    ]},
    {"id": "ws#session-cli", "deps": [
      {"pkg": "ws#session-core", "dep_kinds": [{"kind": null}]},
      {"pkg": "ws#session-services", "dep_kinds": [{"kind": null}]}
    ]},
    {"id": "ws#xtask", "deps": [{"pkg": "reg#serde_json", "dep_kinds": [{"kind": null}]}]},
    {"id": "ws#session-tests", "deps": [
      {"pkg": "ws#session-state", "dep_kinds": [{"kind": "dev"}]},
      {"pkg": "ws#session-services", "dep_kinds": [{"kind": "dev"}]},
      {"pkg": "ws#session-core", "dep_kinds": [{"kind": "dev"}]}
    ]},
    {"id": "reg#serde", "deps": []},
    {"id": "reg#serde_json", "deps": []},
    {"id": "reg#base64", "deps": []},
    {"id": "reg#insta", "deps": []},
    {"id": "reg#reqwest", "deps": [{"pkg": "reg#tokio", "dep_kinds": [{"kind": null}]}]},
    {"id": "reg#tokio", "deps": [
      {"pkg": "reg#mio", "dep_kinds": [{"kind": null}]},
      {"pkg": "reg#socket2", "dep_kinds": [{"kind": null}]}
    ]},
    {"id": "reg#mio", "deps": []},
    {"id": "reg#socket2", "deps": []}
  ]}
}"#;

fn clean() -> Value {
    serde_json::from_str(CLEAN).unwrap()
}

fn id_of(name: &str) -> String {
    let workspace = name.starts_with("session-") || name == "xtask";
    format!("{}#{name}", if workspace { "ws" } else { "reg" })
}

fn package_mut<'a>(fixture: &'a mut Value, name: &str) -> &'a mut Value {
    let packages = fixture["packages"].as_array_mut().unwrap();
    packages.iter_mut().find(|p| p["name"] == name).unwrap()
}

fn node_mut<'a>(fixture: &'a mut Value, name: &str) -> &'a mut Value {
    let id = id_of(name);
    let nodes = fixture["resolve"]["nodes"].as_array_mut().unwrap();
    nodes.iter_mut().find(|n| n["id"] == id.as_str()).unwrap()
}

/// Adds a registry package with no dependencies, unless the fixture has it already.
fn add_package(fixture: &mut Value, name: &str) {
    let id = id_of(name);
    if fixture["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id.as_str())
    {
        return;
    }
    let package = json!({"name": name, "id": id, "manifest_path": format!("/reg/{name}/Cargo.toml"),
                         "dependencies": []});
    fixture["packages"].as_array_mut().unwrap().push(package);
    fixture["resolve"]["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": id, "deps": []}));
}

/// Declares `from -> to` of `kind` (`None` = normal) with `features`, and adds the resolved edge.
fn add_dep(fixture: &mut Value, from: &str, to: &str, kind: Option<&str>, features: &[&str]) {
    add_package(fixture, to);
    let workspace = id_of(to).starts_with("ws#");
    let declared = json!({"name": to, "source": if workspace { Value::Null } else { json!("registry") },
                          "kind": kind, "uses_default_features": false, "features": features});
    package_mut(fixture, from)["dependencies"]
        .as_array_mut()
        .unwrap()
        .push(declared);
    let edge = json!({"pkg": id_of(to), "dep_kinds": [{"kind": kind}]});
    node_mut(fixture, from)["deps"]
        .as_array_mut()
        .unwrap()
        .push(edge);
}

fn run_check(fixture: &Value, sources: &SourceView) -> Vec<Violation> {
    let metadata = Metadata::parse(&fixture.to_string()).unwrap();
    check(&metadata, sources)
}

fn lines(violations: &[Violation]) -> Vec<String> {
    violations.iter().map(ToString::to_string).collect()
}

#[test]
fn clean_fixture_has_no_violations() {
    let view = SourceView::of(&[
        (
            "session-state",
            "session-state/src/lib.rs",
            "//! Pure data.\nuse std::collections::HashMap;\n",
        ),
        (
            "session-cli",
            "session-cli/src/main.rs",
            "//! The binary.\nfn main() { println!(\"hi\"); }\n",
        ),
    ]);
    assert_eq!(lines(&run_check(&clean(), &view)), Vec::<String>::new());
}

#[test]
fn tokio_features_unified_by_other_crates_do_not_count_against_state() {
    // The clean fixture's tokio node reaches mio and socket2 through services' `net` feature.
    let violations = run_check(&clean(), &SourceView::default());
    assert!(
        violations.iter().all(|v| v.rule != Rule::IoCrate),
        "{violations:?}"
    );
}

#[test]
fn state_depending_on_reqwest_directly_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-state", "reqwest", None, &[]);
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert!(
        found.contains(
            &"session-state -> reqwest: I/O crate reqwest in session-state's dependency closure"
                .to_owned()
        ),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|l| l
            .starts_with("session-state -> reqwest: not in session-state's dependency allowlist")),
        "{found:#?}"
    );
}

#[test]
fn io_crate_reached_transitively_from_state_is_reported_with_its_path() {
    let mut fixture = clean();
    add_dep(&mut fixture, "base64", "netty", None, &[]);
    add_dep(&mut fixture, "netty", "mio", None, &[]);
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert_eq!(
        found,
        [
            "session-state -> base64 -> netty -> mio: I/O crate mio in session-state's dependency closure"
        ]
    );
}

#[test]
fn io_crate_reached_only_through_dev_or_build_edges_of_dependencies_is_not_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "base64", "mio", Some("dev"), &[]);
    add_dep(&mut fixture, "base64", "h2", Some("build"), &[]);
    assert_eq!(
        lines(&run_check(&fixture, &SourceView::default())),
        Vec::<String>::new()
    );
}

#[test]
fn state_tokio_with_net_feature_is_reported() {
    let mut fixture = clean();
    let tokio = package_mut(&mut fixture, "session-state")["dependencies"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["name"] == "tokio")
        .unwrap();
    tokio["features"] = json!(["sync", "net"]);
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].rule, Rule::TokioFeatures);
    assert_eq!(violations[0].subject, "session-state -> tokio");
    assert!(
        violations[0].message.contains("features [net]"),
        "{}",
        violations[0]
    );
}

#[test]
fn state_tokio_with_default_features_is_reported() {
    let mut fixture = clean();
    let tokio = package_mut(&mut fixture, "session-state")["dependencies"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["name"] == "tokio")
        .unwrap();
    tokio["uses_default_features"] = json!(true);
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("default features on"), "{found:#?}");
}

#[test]
fn tokio_with_net_declared_by_a_transitive_dependency_of_state_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "serde", "tokio", None, &["net"]);
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("session-state -> serde -> tokio: tokio with features [net]"),
        "{found:#?}"
    );
}

#[test]
fn services_depending_on_core_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-services", "session-core", None, &[]);
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(
        lines(&violations),
        [
            "session-services -> session-core: services must not depend on core (allowed: session-state)"
        ]
    );
    assert_eq!(violations[0].rule, Rule::Edge);
}

#[test]
fn core_depending_on_cli_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-core", "session-cli", None, &[]);
    assert_eq!(
        lines(&run_check(&fixture, &SourceView::default())),
        [
            "session-core -> session-cli: core must not depend on cli (allowed: session-state, session-services)"
        ]
    );
}

#[test]
fn build_dependency_counts_as_a_normal_edge() {
    let mut fixture = clean();
    add_dep(
        &mut fixture,
        "session-state",
        "session-services",
        Some("build"),
        &[],
    );
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert!(
        found.contains(
            &"session-state -> session-services: state must not depend on services (allowed: nothing from the workspace)"
                .to_owned()
        ),
        "{found:#?}"
    );
}

#[test]
fn cli_depending_on_state_directly_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-cli", "session-state", None, &[]);
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].subject, "session-cli -> session-state");
}

#[test]
fn xtask_depending_on_any_workspace_crate_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "xtask", "session-state", None, &[]);
    add_dep(&mut fixture, "xtask", "session-core", Some("dev"), &[]);
    let found = lines(&run_check(&fixture, &SourceView::default()));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("xtask -> session-core (dev): xtask must not dev-depend on core"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("xtask -> session-state: xtask must not depend on state"),
        "{found:#?}"
    );
}

#[test]
fn services_dev_depending_on_core_is_reported() {
    let mut fixture = clean();
    add_dep(
        &mut fixture,
        "session-services",
        "session-core",
        Some("dev"),
        &[],
    );
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(
        lines(&violations),
        [
            "session-services -> session-core (dev): services must not dev-depend on core: only crates below it are allowed"
        ]
    );
    assert_eq!(violations[0].rule, Rule::DevEdge);
}

/// Adds `session-testkit` to the workspace, built on state and services as in the real one.
fn add_testkit(fixture: &mut Value) {
    add_package(fixture, "session-testkit");
    fixture["workspace_members"]
        .as_array_mut()
        .unwrap()
        .push(json!("ws#session-testkit"));
    add_dep(fixture, "session-testkit", "session-state", None, &[]);
    add_dep(fixture, "session-testkit", "session-services", None, &[]);
}

#[test]
fn testkit_as_a_dev_dependency_of_services_core_cli_and_tests_is_allowed() {
    let mut fixture = clean();
    add_testkit(&mut fixture);
    for user in [
        "session-services",
        "session-core",
        "session-cli",
        "session-tests",
    ] {
        add_dep(&mut fixture, user, "session-testkit", Some("dev"), &[]);
    }
    assert_eq!(
        lines(&run_check(&fixture, &SourceView::default())),
        Vec::<String>::new()
    );
}

#[test]
fn testkit_as_a_normal_dependency_is_reported_even_where_a_dev_edge_is_allowed() {
    let mut fixture = clean();
    add_testkit(&mut fixture);
    add_dep(&mut fixture, "session-cli", "session-testkit", None, &[]);
    add_dep(
        &mut fixture,
        "session-core",
        "session-testkit",
        Some("build"),
        &[],
    );
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(
        lines(&violations),
        [
            "session-cli -> session-testkit: cli must not depend on testkit: it is test support, a dev-dependency only",
            "session-core -> session-testkit: core must not depend on testkit: it is test support, a dev-dependency only",
        ]
    );
    assert!(violations.iter().all(|v| v.rule == Rule::Edge));
}

#[test]
fn state_dev_depending_on_testkit_is_reported() {
    let mut fixture = clean();
    add_testkit(&mut fixture);
    add_dep(
        &mut fixture,
        "session-state",
        "session-testkit",
        Some("dev"),
        &[],
    );
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(
        lines(&violations),
        [
            "session-state -> session-testkit (dev): state must not dev-depend on testkit: only session-services, session-core, session-acp, session-cli, session-tests may"
        ]
    );
    assert_eq!(violations[0].rule, Rule::DevEdge);
}

#[test]
fn testkit_printing_is_reported_as_in_any_library() {
    let view = SourceView::of(&[(
        "session-testkit",
        "session-testkit/src/lib.rs",
        "//! Test support.\npub fn f() { eprintln!(\"x\"); }\n",
    )]);
    let violations = run_check(&clean(), &view);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].rule, Rule::Print);
}

#[test]
fn workspace_crate_missing_from_the_table_is_reported() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-cli", "session-extra", None, &[]);
    fixture["workspace_members"]
        .as_array_mut()
        .unwrap()
        .push(json!("ws#session-extra"));
    let violations = run_check(&fixture, &SourceView::default());
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].rule, Rule::UnknownCrate);
    assert_eq!(violations[0].subject, "session-extra");
}

#[test]
fn every_violation_is_reported_not_only_the_first() {
    let mut fixture = clean();
    add_dep(&mut fixture, "session-services", "session-core", None, &[]);
    add_dep(&mut fixture, "session-core", "session-cli", None, &[]);
    add_dep(&mut fixture, "session-state", "hyper", None, &[]);
    let view = SourceView::of(&[(
        "session-state",
        "session-state/src/io.rs",
        "//! Oops.\nuse std::fs;\n",
    )]);
    let rules: Vec<Rule> = run_check(&fixture, &view).iter().map(|v| v.rule).collect();
    // Sorted by subject: the two edges, then state's hyper (closure and allowlist), then the source.
    assert_eq!(
        rules,
        [
            Rule::Edge,
            Rule::Edge,
            Rule::IoCrate,
            Rule::StateDependency,
            Rule::StdIo
        ]
    );
}

/// Writes a throwaway workspace of path-only crates; `deps` lists `(from, to)` edges.
fn write_workspace(root: &Path, deps: &[(&str, &str)], files: &[(&str, &str)]) {
    let members = [
        "session-state",
        "session-services",
        "session-core",
        "session-cli",
    ];
    let list: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    let manifest = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
        list.join(", ")
    );
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    for member in members {
        let mut manifest = format!(
            "[package]\nname = \"{member}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
        );
        for (_, to) in deps.iter().filter(|(from, _)| *from == member) {
            manifest.push_str(&format!("{to} = {{ path = \"../{to}\" }}\n"));
        }
        fs::create_dir_all(root.join(member).join("src")).unwrap();
        fs::write(root.join(member).join("Cargo.toml"), manifest).unwrap();
        fs::write(root.join(member).join("src/lib.rs"), "//! A crate.\n").unwrap();
    }
    for (path, text) in files {
        fs::write(root.join(path), text).unwrap();
    }
}

fn check_real_workspace(root: &Path) -> Vec<String> {
    let metadata = Metadata::load(root, &["--offline"]).unwrap();
    let view = SourceView::load(root, &metadata, LIBRARIES).unwrap();
    lines(&check(&metadata, &view))
}

#[test]
fn real_cargo_metadata_of_a_mislayered_workspace_reports_each_violation() {
    let dir = tempfile::tempdir().unwrap();
    write_workspace(
        dir.path(),
        &[
            ("session-services", "session-state"),
            ("session-services", "session-core"),
            ("session-core", "session-cli"),
        ],
        &[
            (
                "session-state/src/lib.rs",
                "//! Not so pure.\nuse std::{fs, io};\n",
            ),
            (
                "session-services/src/lib.rs",
                "//! Chatty.\npub fn f() { println!(\"x\"); }\n",
            ),
        ],
    );
    assert_eq!(
        check_real_workspace(dir.path()),
        [
            "session-core -> session-cli: core must not depend on cli (allowed: session-state, session-services)",
            "session-services -> session-core: services must not depend on core (allowed: session-state)",
            "session-services/src/lib.rs:2: session-services must not use println!: library crates never print",
            "session-state/src/lib.rs:2: session-state must not use std::fs: it holds pure data, no I/O",
        ]
    );
}

#[test]
fn real_cargo_metadata_of_a_well_layered_workspace_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_workspace(
        dir.path(),
        &[
            ("session-services", "session-state"),
            ("session-core", "session-state"),
            ("session-core", "session-services"),
            ("session-cli", "session-core"),
            ("session-cli", "session-services"),
        ],
        &[],
    );
    assert_eq!(check_real_workspace(dir.path()), Vec::<String>::new());
}

#[test]
fn a_cycle_among_core_modules_is_reported_once_and_an_acyclic_graph_is_not() {
    let acyclic = SourceView::of(&[
        (
            "session-core",
            "session-core/src/lib.rs",
            "mod a;\nmod b;\nuse crate::a::X;\n",
        ),
        (
            "session-core",
            "session-core/src/a.rs",
            "//! A.\nuse crate::b::Y;\n",
        ),
        (
            "session-core",
            "session-core/src/b.rs",
            "//! B, a leaf.\n// crate::a in a comment\n",
        ),
        (
            "session-core",
            "session-core/src/b/tests.rs",
            "use crate::a::X;\n",
        ),
    ]);
    let mut out = Vec::new();
    super::modules::check(&acyclic, &mut out);
    assert!(out.is_empty(), "{out:?}");

    let planted = SourceView::of(&[
        (
            "session-core",
            "session-core/src/a.rs",
            "use crate::b::Y;\n",
        ),
        (
            "session-core",
            "session-core/src/b.rs",
            "pub(crate) fn f() { crate::c::g() }\n",
        ),
        (
            "session-core",
            "session-core/src/c/mod.rs",
            "use crate::a::X;\n",
        ),
        (
            "session-services",
            "session-services/src/x.rs",
            "use crate::y::Z;\n",
        ),
        (
            "session-services",
            "session-services/src/y.rs",
            "use crate::x::Z;\n",
        ),
    ]);
    let mut out = Vec::new();
    super::modules::check(&planted, &mut out);
    let lines = lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("a -> b -> c -> a"), "{lines:?}");
}
