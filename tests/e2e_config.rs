//! End to end: a bad config makes the real binary list every problem and exit 2, from each
//! config source; a good one validates with a summary.

use std::process::Command;

fn node() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_allora-node"));
    c.env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH")
        .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC");
    c
}

const BAD: &str = r#"{
  "wallet": { "gas": "lots", "gasAdjustment": 0, "nodeGrpcs": ["not a url"], "maxRetries": -3 },
  "worker": [
    { "topicId": 0, "inferenceEntrypointName": "python-model", "loopSeconds": 0 },
    { "topicId": 5, "inferenceAdapter": { "wasm": "missing.wasm", "memoryMb": 0 } }
  ],
  "reputer": [ { "topicId": 5, "lossMethod": "nope" } ],
  "node": { "metricsAddr": "everywhere" }
}"#;

const EXPECTED: &[&str] = &[
    "wallet.addressKeyName",
    "wallet.gas",
    "wallet.gasAdjustment",
    "wallet.nodeGrpcs[0]",
    "wallet.maxRetries",
    "worker[0].topicId",
    "worker[0].inferenceEntrypointName",
    "worker[0].loopSeconds",
    "worker[1].inferenceAdapter.wasm",
    "worker[1].inferenceAdapter.memoryMb",
    "reputer[0].groundTruthAdapter",
    "reputer[0].lossMethod",
    "node.metricsAddr",
];

fn check(out: std::process::Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for path in EXPECTED {
        assert!(
            err.contains(&format!("{path}:")),
            "missing {path} in:\n{err}"
        );
    }
    assert!(err.contains("fix:"), "{err}");
}

#[test]
fn bad_config_lists_every_error_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, BAD).unwrap();
    // `run` with --config
    check(
        node()
            .arg("run")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap(),
    );
    // `config validate` with the file env var
    check(
        node()
            .args(["config", "validate"])
            .env("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH", &path)
            .output()
            .unwrap(),
    );
    // inline JSON wins over a (good-looking) file path
    check(
        node()
            .args(["config", "validate", "--config", "/nonexistent.json"])
            .env("ALLORA_OFFCHAIN_NODE_CONFIG_JSON", BAD)
            .output()
            .unwrap(),
    );
}

#[test]
fn unknown_fields_are_named_with_their_json_path() {
    let out = node()
        .args(["config", "validate"])
        .env(
            "ALLORA_OFFCHAIN_NODE_CONFIG_JSON",
            r#"{"wallet": {"nodeRpcc": "x"}, "worker": [{"topicId": 1, "loopSecond": 5}]}"#,
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("wallet.nodeRpcc"), "{err}");
    assert!(err.contains("worker[0].loopSecond"), "{err}");
}

#[test]
fn every_problem_inside_one_entry_is_reported_by_the_binary() {
    let out = node()
        .args(["config", "validate"])
        .env(
            "ALLORA_OFFCHAIN_NODE_CONFIG_JSON",
            r#"{"wallet":{"nodeRpc":5},"worker":[{"topicId":"x","bogusField":1}]}"#,
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
    for path in [
        "wallet.nodeRpc:",
        "worker[0].topicId:",
        "worker[0].bogusField:",
    ] {
        assert!(err.contains(path), "{path} missing from: {err}");
    }
}

fn dist(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters-wasm/dist")
        .join(file)
}

/// `config validate` reads each block's exports without compiling, and `run` refuses the same
/// config the same way: whatever validate accepts, run starts.
#[test]
fn a_component_without_its_configured_role_is_refused_by_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = serde_json::json!({
        "wallet": { "addressKeyName": "w", "nodeGrpcs": ["http://127.0.0.1:9"],
                    "submitTx": false },
        "reputer": [ { "topicId": 3,
                       "groundTruthAdapter": { "wasm": dist("smoothing_model.wasm") },
                       "lossAdapter": { "wasm": dist("custom_loss.wasm") } } ]
    });
    for args in [&["config", "validate"][..], &["run"][..]] {
        let out = node()
            .args(args)
            .env("ALLORA_OFFCHAIN_NODE_CONFIG_JSON", cfg.to_string())
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("reputer[0].groundTruthAdapter.wasm")
                && err.contains("does not export allora:adapter/ground-truth@0.1.0"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("lossAdapter"), "{args:?}: {err}");
    }
}

#[test]
fn good_config_validates_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dist("trivial.wasm");
    let cfg = serde_json::json!({
        "wallet": { "addressKeyName": "w", "nodeGrpcs": ["http://127.0.0.1:9090"],
                    "nodeRpc": "http://127.0.0.1:26657", "submitTx": false },
        "worker": [ { "topicId": 3, "inferenceAdapter": { "wasm": wasm } } ]
    });
    let out = node()
        .args(["config", "validate"])
        .env("ALLORA_OFFCHAIN_NODE_CONFIG_JSON", cfg.to_string())
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("config OK"), "{stdout}");
    assert!(stdout.contains("worker topic=3"), "{stdout}");
    assert!(stdout.contains("submitTx=false"), "{stdout}");
}
