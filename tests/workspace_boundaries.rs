//! The crate graph is the security boundary (docs/ARCHITECTURE.md): these tests read
//! `cargo metadata` and the sources, and fail the build the day someone lets the sandbox
//! reach the keys, lets the devnet borrow the node's signing code, or grows a file past
//! the size we can review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The host target triple (`rustc -vV`), so the graph is the one this platform builds.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV prints the host")
        .to_string()
}

/// `cargo metadata` for the workspace (the resolved graph for this platform).
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(repo())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

/// package id → crate name, and package id → ids it depends on (normal and build
/// dependencies: what ends up linked into, or run for, the crate; dev-dependencies only
/// build its tests).
struct Graph {
    names: BTreeMap<String, String>,
    deps: BTreeMap<String, Vec<String>>,
}

impl Graph {
    /// Read once per test binary: the tests run in parallel and cargo locks its cache.
    fn load() -> &'static Graph {
        static GRAPH: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
        GRAPH.get_or_init(Graph::read)
    }

    fn read() -> Graph {
        let meta = metadata();
        let mut names = BTreeMap::new();
        for p in meta["packages"].as_array().expect("packages") {
            names.insert(
                p["id"].as_str().expect("id").to_string(),
                p["name"].as_str().expect("name").to_string(),
            );
        }
        let mut deps = BTreeMap::new();
        for node in meta["resolve"]["nodes"].as_array().expect("resolve.nodes") {
            let id = node["id"].as_str().expect("id").to_string();
            let mut out = Vec::new();
            for d in node["deps"].as_array().expect("deps") {
                let linked = d["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].as_str() != Some("dev"));
                if linked {
                    out.push(d["pkg"].as_str().expect("pkg").to_string());
                }
            }
            deps.insert(id, out);
        }
        Graph { names, deps }
    }

    fn id_of(&self, name: &str) -> String {
        let ids: Vec<_> = self
            .names
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(ids.len(), 1, "exactly one package named {name}: {ids:?}");
        ids[0].clone()
    }

    /// Every crate `name` depends on, directly or transitively.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id_of(name)];
        while let Some(id) = stack.pop() {
            for d in self.deps.get(&id).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen.iter().map(|id| self.names[id].clone()).collect()
    }
}

#[test]
fn sandbox_cannot_reach_keys_chain_or_devnet() {
    let graph = Graph::load();
    let reach = graph.closure("allora-sandbox");
    // The wallet lives in the chain client; key derivation needs bip32/bip39. The sandbox
    // must link none of them, nor anything that links them.
    for forbidden in [
        "allora-chain-client",
        "allora-devnet",
        "allora-node",
        "bip32",
        "bip39",
        "cosmrs",
    ] {
        assert!(
            !reach.contains(forbidden),
            "allora-sandbox depends (directly or transitively) on {forbidden}; the sandbox must never reach the wallet"
        );
    }
    // The check itself must see the graph: the sandbox really does link wasmtime.
    assert!(reach.contains("wasmtime"), "graph not read: {reach:?}");
}

#[test]
fn devnet_does_not_link_the_node_or_its_chain_client() {
    let graph = Graph::load();
    let reach = graph.closure("allora-devnet");
    for forbidden in ["allora-chain-client", "allora-node", "allora-sandbox"] {
        assert!(
            !reach.contains(forbidden),
            "allora-devnet depends on {forbidden}: it must check the node with its own code"
        );
    }
    assert!(
        reach.contains("allora-protocol"),
        "graph not read: {reach:?}"
    );
}

#[test]
fn protocol_depends_on_no_other_workspace_crate() {
    let graph = Graph::load();
    let reach = graph.closure("allora-protocol");
    let ours: Vec<_> = reach.iter().filter(|n| n.starts_with("allora-")).collect();
    assert!(ours.is_empty(), "allora-protocol depends on {ours:?}");
}

/// Rust sources under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn devnet_uses_only_generated_types_from_the_protocol_crate() {
    // The devnet verifies signatures, bundles and decimals with its own code; from the
    // node's protocol crate it may use the generated proto types (and their descriptor)
    // and the table of gRPC method paths only — never `v10` encoding/signing, `account`,
    // `decimal` or `loss`.
    let mut files = Vec::new();
    rust_files(&repo().join("node/allora-devnet/src"), &mut files);
    assert!(files.len() > 5, "devnet sources not found");
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("allora_protocol::") {
                let after = &rest[pos + "allora_protocol::".len()..];
                if !(after.starts_with("proto::") || after.starts_with("methods")) {
                    offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
                rest = after;
            }
            if line.contains("allora_protocol::{") || line.contains("use allora_protocol;") {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the devnet borrows the node's protocol code:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_source_file_under_node_passes_700_lines() {
    // Test files (`tests/`, `tests.rs`, `*_tests.rs`) and generated code (none is checked
    // in: protos compile into OUT_DIR) are exempt.
    let mut files = Vec::new();
    rust_files(&repo().join("node"), &mut files);
    assert!(files.len() > 20, "node sources not found");
    let mut long = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(repo()).expect("under repo");
        let is_test = rel.components().any(|c| c.as_os_str() == "tests")
            || rel
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs"));
        if is_test {
            continue;
        }
        let lines = std::fs::read_to_string(file).expect("read").lines().count();
        if lines > 700 {
            long.push(format!("{} ({lines} lines)", rel.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern (limit 700 lines):\n{}",
        long.join("\n")
    );
}
