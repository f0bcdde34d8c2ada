//! Validation tests: every problem reported at once with its path and fix, Go spellings
//! accepted, defaults applied from `config::defaults`.

use super::*;
use crate::config::raw;

pub(super) const MNEMONIC: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// A component whose export section names the interfaces of `roles` (enough for the static
/// role check; it is never compiled).
fn component_exporting(roles: &[allora_sandbox::Role]) -> Vec<u8> {
    let mut exports = wasm_encoder::ComponentExportSection::new();
    for r in roles {
        exports.export(
            r.export_name().as_str(),
            wasm_encoder::ComponentExportKind::Instance,
            0,
            None,
        );
    }
    let mut c = wasm_encoder::Component::new();
    c.section(&exports);
    c.finish()
}

pub(super) fn setup() -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().unwrap();
    let all = component_exporting(&allora_sandbox::Role::ALL);
    std::fs::create_dir_all(dir.path().join("adapters")).unwrap();
    std::fs::write(dir.path().join("adapters").join(HTTP_SOURCE_WASM), &all).unwrap();
    std::fs::write(dir.path().join("model.wasm"), &all).unwrap();
    let env = Env {
        adapters_dir: Some(dir.path().join("adapters")),
        home: Some(dir.path().to_path_buf()),
        ..Env::default()
    };
    (dir, env)
}

pub(super) fn check(text: &str, dir: &Path, env: &Env) -> Result<Plan, Vec<ConfigIssue>> {
    let raw = raw::parse(text).expect("raw parse");
    validate(&raw, dir, env)
}

#[test]
fn brief_example_validates() {
    let (dir, env) = setup();
    let text = format!(
        r#"{{
      "wallet": {{ "addressKeyName": "worker1", "addressRestoreMnemonic": "{MNEMONIC}", "alloraHomeDir": "",
        "gas": "auto", "gasAdjustment": 1.5, "gasPrices": "auto", "maxFees": 5000000,
        "nodeRpc": "http://127.0.0.1:26657", "nodeRpcs": [], "nodeGrpcs": ["http://127.0.0.1:9090"],
        "maxRetries": 5, "retryDelay": 3, "accountSequenceRetryDelay": 5, "submitTx": true,
        "chainId": "allora-testnet-1" }},
      "worker": [
        {{ "topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 5,
          "parameters": {{ "InferenceEndpoint": "http://source:8000/inference/{{Token}}", "Token": "ETH" }} }},
        {{ "topicId": 2, "loopSeconds": 5, "parameters": {{ "Token": "ETH" }},
          "inferenceAdapter": {{ "wasm": "model.wasm", "allowedHosts": ["source:8000"],
                                "timeoutMs": 5000, "memoryMb": 64 }} }}
      ],
      "reputer": [
        {{ "topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
          "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 30, "minStake": 100000,
          "groundTruthParameters": {{ "GroundTruthEndpoint": "http://source:8000/truth/{{Token}}/{{BlockHeight}}", "Token": "ETH" }},
          "lossFunctionParameters": {{ "LossMethodOptions": {{ "loss_method": "sqe" }} }} }}
      ],
      "node": {{ "metricsAddr": "0.0.0.0:2112", "cacheDir": null }}
    }}"#
    );
    let plan = check(&text, dir.path(), &env).unwrap();
    assert_eq!(plan.workers.len(), 2);
    let w0 = &plan.workers[0];
    assert_eq!(w0.inference.name, "http_source");
    // A single-label compose/hosts name the operator typed may reach a private address.
    assert_eq!(
        w0.inference.allowed_hosts.entries(),
        ["private:source:8000".to_string()]
    );
    assert_eq!(
        w0.inference.params.get("Token").map(String::as_str),
        Some("ETH")
    );
    let w1 = &plan.workers[1];
    assert_eq!(w1.inference.wasm, dir.path().join("model.wasm"));
    assert_eq!(w1.inference.limits.timeout, Duration::from_millis(5000));
    assert_eq!(w1.inference.limits.memory_bytes, 64 << 20);
    let r = &plan.reputers[0];
    assert_eq!(r.min_stake, 100_000);
    assert!(matches!(&r.loss, LossPlan::Builtin(m) if m.name() == "sqe"));
    assert_eq!(
        plan.wallet.grpc_urls,
        vec!["http://127.0.0.1:9090".to_string()]
    );
    assert_eq!(plan.wallet.fees.max_fees, 5_000_000);
    assert!(plan.wallet.submit_tx);
    assert!(matches!(plan.wallet.key, KeySource::Mnemonic(_)));
    assert!(!format!("{:?}", plan.wallet.key).contains("abandon"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let (dir, env) = setup();
    let text = r#"{
      "wallet": { "gas": "lots", "gasAdjustment": 0.2, "nodeGrpcs": ["not a url"], "maxRetries": -1 },
      "worker": [
        { "topicId": 0, "loopSeconds": 0, "inferenceEntrypointName": "api-worker-reputer", "parameters": {} },
        { "topicId": 3, "inferenceAdapter": { "wasm": "missing.wasm", "memoryMb": 0 } },
        { "topicId": 3, "inferenceEntrypointName": "python-model" }
      ],
      "reputer": [
        { "topicId": 4, "lossMethod": "not-a-loss" }
      ],
      "node": { "metricsAddr": "port 2112" }
    }"#;
    let issues = check(text, dir.path(), &env).unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "wallet.addressKeyName",
        "wallet.gas",
        "wallet.gasAdjustment",
        "wallet.nodeGrpcs[0]",
        "wallet.maxRetries",
        "worker[0].topicId",
        "worker[0].loopSeconds",
        "worker[0].parameters.InferenceEndpoint",
        "worker[1].inferenceAdapter.wasm",
        "worker[1].inferenceAdapter.memoryMb",
        "worker[2].topicId",
        "worker[2].inferenceEntrypointName",
        "reputer[0].groundTruthAdapter",
        "reputer[0].lossMethod",
        "node.metricsAddr",
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected} in {paths:#?}"
        );
    }
    assert!(issues.iter().all(|i| !i.fix.is_empty()));
}

#[test]
fn go_entrypoint_without_shipped_adapter_says_how_to_build_it() {
    let (dir, _) = setup();
    let env = Env {
        home: Some(dir.path().to_path_buf()),
        cwd: Some(dir.path().join("nowhere")),
        ..Env::default()
    };
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
           "worker": [{{"topicId": 1, "inferenceEntrypointName": "api-worker-reputer",
                        "parameters": {{"InferenceEndpoint": "http://127.0.0.1:8000/x"}}}}]}}"#
    );
    let issues = check(&text, &dir.path().join("nowhere"), &env).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "worker[0].inferenceEntrypointName");
    assert!(issues[0].fix.contains("adapters-wasm/build.sh"));
}

#[test]
fn key_sources_follow_precedence_and_topic_loss_is_default() {
    let (dir, mut env) = setup();
    env.mnemonic = Some(MNEMONIC.into());
    let text = r#"{"wallet": {"addressKeyName": "k", "nodeRpc": "http://127.0.0.1:26657", "submitTx": false},
         "reputer": [{"topicId": 9, "groundTruthAdapter": {"wasm": "model.wasm"}}]}"#;
    let plan = check(text, dir.path(), &env).unwrap();
    assert!(matches!(plan.wallet.key, KeySource::Mnemonic(_)));
    assert!(!plan.wallet.submit_tx);
    assert!(matches!(plan.reputers[0].loss, LossPlan::FromTopic(_)));
    assert_eq!(plan.reputers[0].loop_interval, Duration::from_secs(30));
    env.mnemonic = None;
    let plan = check(text, dir.path(), &env).unwrap();
    assert_eq!(
        plan.wallet.key,
        KeySource::Keystore {
            name: "k".into(),
            home: dir.path().join(".allora-node")
        }
    );
    assert!(plan.warnings.iter().any(|w| w.contains("nodeGrpcs")));
}

#[test]
fn go_metrics_port_shorthand_is_accepted() {
    let (dir, env) = setup();
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
           "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm"}}}}],
           "node": {{"metricsAddr": ":9100"}}}}"#
    );
    let plan = check(&text, dir.path(), &env).unwrap();
    assert_eq!(plan.node.metrics_addr, "0.0.0.0:9100".parse().unwrap());
}

#[test]
fn unset_settings_take_the_one_documented_default() {
    use crate::config::defaults as d;
    let (dir, env) = setup();
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
           "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm"}}}}]}}"#
    );
    let plan = check(&text, dir.path(), &env).unwrap();
    let w = &plan.wallet;
    assert_eq!(w.fees.max_fees, d::MAX_FEES_UALLO);
    assert_eq!(w.fees.gas, GasLimit::Auto);
    assert_eq!(w.fees.gas_prices, GasPrice::Auto);
    assert_eq!(w.fees.gas_adjustment, d::GAS_ADJUSTMENT);
    assert_eq!(w.retry.max_retries, d::MAX_RETRIES as u32);
    assert_eq!(w.batch, BatchPolicy::default());
    assert_eq!(plan.workers[0].inference.limits, default_limits());
    assert_eq!(
        plan.node.ledger_dir,
        dir.path().join(".allora-node").join(d::LEDGER_SUBDIR)
    );
    assert_eq!(plan.node.compile_memory_bytes, d::COMPILE_MEMORY_MB << 20);
    assert_eq!(
        plan.node.compile_timeout,
        std::time::Duration::from_secs(d::COMPILE_TIMEOUT_SECS)
    );
}

#[test]
fn compile_limits_are_configurable_and_bounded() {
    let (dir, env) = setup();
    let text = |node: &str| {
        format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm",
                 "allowedHosts": ["api.example.com:443", "private:source:8000"]}}}}],
               "node": {node}}}"#
        )
    };
    let plan = check(
        &text(r#"{"compileMemoryMb": 768, "compileTimeoutSecs": 30}"#),
        dir.path(),
        &env,
    )
    .unwrap();
    assert_eq!(plan.node.compile_memory_bytes, 768 << 20);
    assert_eq!(
        plan.node.compile_timeout,
        std::time::Duration::from_secs(30)
    );
    // The allowlist reaches the sandbox parsed, as the policy it enforces.
    let policy = plan.workers[0].inference.allowed_hosts.policy();
    assert!(policy.check("https", "api.example.com", 443).is_some());
    assert!(
        policy
            .check("http", "source", 8000)
            .is_some_and(|m| m.exact)
    );
    assert!(policy.check("http", "api.example.com", 80).is_none());
    let issues = check(
        &text(r#"{"compileMemoryMb": 16, "compileTimeoutSecs": 0}"#),
        dir.path(),
        &env,
    )
    .unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        ["node.compileMemoryMb", "node.compileTimeoutSecs"],
        "{issues:?}"
    );
}

/// `node.safetyPollSeconds`: 120 s by default, configurable, bounded to 1–86400.
#[test]
fn safety_poll_is_configurable_and_bounded() {
    let (dir, env) = setup();
    let text = |node: &str| {
        format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "loopSeconds": 1, "inferenceAdapter": {{"wasm": "model.wasm"}}}}],
               "node": {node}}}"#
        )
    };
    let secs = |n: u64| std::time::Duration::from_secs(n);
    let plan = check(&text("{}"), dir.path(), &env).unwrap();
    assert_eq!(plan.node.safety_poll, secs(d::SAFETY_POLL_SECS));
    let plan = check(&text(r#"{"safetyPollSeconds": 600}"#), dir.path(), &env).unwrap();
    assert_eq!(plan.node.safety_poll, secs(600));
    for bad in ["0", "86401"] {
        let issues = check(
            &text(&format!(r#"{{"safetyPollSeconds": {bad}}}"#)),
            dir.path(),
            &env,
        )
        .unwrap_err();
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["node.safetyPollSeconds"], "{issues:?}");
    }
}

#[test]
fn loss_policy_is_typed_once_and_bad_options_name_their_field() {
    let (dir, env) = setup();
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
           "reputer": [
             {{"topicId": 1, "groundTruthAdapter": {{"wasm": "model.wasm"}}, "lossMethod": "huber",
               "lossFunctionParameters": {{"LossMethodOptions": {{"delta": "2"}}}}}},
             {{"topicId": 2, "groundTruthAdapter": {{"wasm": "model.wasm"}},
               "lossFunctionParameters": {{"LossMethodOptions": {{"delta": "wide"}}}}}}
           ]}}"#
    );
    let issues = check(&text, dir.path(), &env).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        issues[0].path,
        "reputer[1].lossFunctionParameters.LossMethodOptions"
    );
    let text = text.replace("\"wide\"", "\"3\"");
    let plan = check(&text, dir.path(), &env).unwrap();
    assert!(matches!(&plan.reputers[0].loss, LossPlan::Builtin(m) if m.name() == "huber"));
    assert!(matches!(&plan.reputers[1].loss, LossPlan::FromTopic(o) if o.method("huber").is_ok()));
}

#[test]
fn a_block_whose_component_lacks_its_role_is_refused() {
    use allora_sandbox::Role;
    let (dir, env) = setup();
    std::fs::write(
        dir.path().join("infer_only.wasm"),
        component_exporting(&[Role::Inference]),
    )
    .unwrap();
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let text = format!(
        r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
           "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "infer_only.wasm"}},
                        "forecastAdapter": {{"wasm": "infer_only.wasm"}}}},
                      {{"topicId": 2, "inferenceAdapter": {{"wasm": "core.wasm"}}}}],
           "reputer": [{{"topicId": 1, "groundTruthAdapter": {{"wasm": "infer_only.wasm"}},
                         "lossAdapter": {{"wasm": "model.wasm"}}}}]}}"#
    );
    let issues = check(&text, dir.path(), &env).unwrap_err();
    let mut paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "reputer[0].groundTruthAdapter.wasm",
            "worker[0].forecastAdapter.wasm",
            "worker[1].inferenceAdapter.wasm",
        ],
        "{issues:?}"
    );
    let gt = issues
        .iter()
        .find(|i| i.path.starts_with("reputer"))
        .unwrap();
    assert!(
        gt.message
            .contains("does not export allora:adapter/ground-truth@0.1.0")
            && gt.message.contains("only inference"),
        "{gt:?}"
    );
    let core = issues
        .iter()
        .find(|i| i.path.starts_with("worker[1]"))
        .unwrap();
    assert!(core.message.contains("not a component"), "{core:?}");
}

#[test]
fn fee_granter_is_validated_with_its_path() {
    let (dir, env) = setup();
    let granter = &allora_protocol::account::address_from_bytes(&[7u8; 20]);
    let ok = format!(
        r#"{{"wallet": {{"addressKeyName": "k", "nodeRpc": "http://127.0.0.1:26657", "feeGranterAddress": "{granter}"}},
           "reputer": [{{"topicId": 9, "groundTruthAdapter": {{"wasm": "model.wasm"}}}}]}}"#
    );
    let plan = check(&ok, dir.path(), &env).unwrap();
    assert_eq!(plan.wallet.fee_granter.as_deref(), Some(granter.as_str()));
    let bad = ok.replace(granter, "cosmos1notallora");
    let issues = check(&bad, dir.path(), &env).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "wallet.feeGranterAddress");
    assert!(issues[0].fix.contains("allorad keys show"), "{issues:?}");
    let none = ok.replace(granter, "");
    let plan = check(&none, dir.path(), &env).unwrap();
    assert_eq!(plan.wallet.fee_granter, None);
}

#[test]
fn adapter_files_are_validated_and_resolved_against_the_config_dir() {
    let (dir, env) = setup();
    std::fs::create_dir_all(dir.path().join("models/eth")).unwrap();
    std::fs::write(dir.path().join("models/eth/model.onnx"), vec![0u8; 2 << 20]).unwrap();
    std::fs::write(dir.path().join("models/file"), b"x").unwrap();
    let with_files = |files: &str| {
        format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm", "files": {files}}}}}]}}"#
        )
    };
    let plan = check(
        &with_files(r#"[{"host": "models/eth", "guest": "/model"}]"#),
        dir.path(),
        &env,
    )
    .unwrap();
    let m = &plan.workers[0].inference.mounts;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].host, dir.path().join("models/eth"));
    assert_eq!(m[0].guest, "/model");
    assert_eq!(m[0].max_bytes, crate::config::defaults::MOUNT_MAX_MB << 20);

    let issues = check(
        &with_files(
            r#"[{"host": "models/missing", "guest": "/a"},
                {"host": "models/file", "guest": "/b"},
                {"host": "models/eth", "guest": "model"},
                {"host": "models/eth", "guest": "/a"},
                {"host": "models/eth", "guest": "/c", "maxMb": 1},
                {"guest": "/d", "maxMb": 0}]"#,
        ),
        dir.path(),
        &env,
    )
    .unwrap_err();
    let at = |i: usize, field: &str| {
        let path = format!("worker[0].inferenceAdapter.files[{i}].{field}");
        issues
            .iter()
            .find(|x| x.path == path)
            .unwrap_or_else(|| panic!("no issue at {path}: {issues:#?}"))
            .message
            .clone()
    };
    assert!(at(0, "host").contains("does not exist"));
    assert!(at(0, "host").contains("resolved against"));
    assert!(at(1, "host").contains("not a directory"));
    assert!(at(2, "guest").contains("not absolute"));
    assert!(at(3, "guest").contains("already mounted"));
    assert!(at(4, "host").contains("more than 1 MiB"));
    assert_eq!(at(5, "host"), "missing");
    assert!(at(5, "maxMb").contains("outside"));
}

#[test]
fn tx_batching_caps_are_configurable_and_bounded() {
    let (dir, env) = setup();
    let text = |extra: &str| {
        format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]{extra}}},
               "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm"}}}}]}}"#
        )
    };
    let plan = check(
        &text(r#", "maxTxsInFlight": 4, "maxMsgsPerTx": 3, "maxTxBytes": 65536"#),
        dir.path(),
        &env,
    )
    .unwrap();
    let b = &plan.wallet.batch;
    assert_eq!(
        (b.max_in_flight, b.max_msgs_per_tx, b.max_tx_bytes),
        (4, 3, 65_536)
    );
    let issues = check(
        &text(r#", "maxTxsInFlight": 0, "maxMsgsPerTx": 5000, "maxTxBytes": 2000000"#),
        dir.path(),
        &env,
    )
    .unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    for p in [
        "wallet.maxTxsInFlight",
        "wallet.maxMsgsPerTx",
        "wallet.maxTxBytes",
    ] {
        assert!(paths.contains(&p), "{p} in {paths:?}");
    }
}

#[test]
fn adapter_pool_and_warm_options_are_parsed_and_bounded() {
    use crate::config::defaults as d;
    let (dir, env) = setup();
    let text = |node: &str, warm: &str| {
        format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm", "memoryMb": 128 {warm}}}}},
                          {{"topicId": 2, "inferenceAdapter": {{"wasm": "model.wasm"}}}}],
               "node": {node}}}"#
        )
    };
    // Defaults: 100 slots, no warm instances.
    let plan = check(&text("{}", ""), dir.path(), &env).unwrap();
    assert_eq!(plan.node.adapter_instances, d::ADAPTER_INSTANCES);
    assert_eq!(plan.workers[0].inference.warm, None);
    // `warm: {}` takes the defaults: 1000 calls, the adapter's memoryMb as the high-water mark.
    let plan = check(&text("{}", r#", "warm": {}"#), dir.path(), &env).unwrap();
    assert_eq!(
        plan.workers[0].inference.warm,
        Some(allora_sandbox::WarmConfig {
            max_calls: 1000,
            max_memory_bytes: 128 << 20
        })
    );
    assert_eq!(
        plan.workers[1].inference.warm, None,
        "only the block that opts in"
    );
    let plan = check(
        &text(
            r#"{"adapterInstances": 7}"#,
            r#", "warm": {"maxCalls": 5, "maxMemoryMb": 48}"#,
        ),
        dir.path(),
        &env,
    )
    .unwrap();
    assert_eq!(plan.node.adapter_instances, 7);
    assert_eq!(
        plan.workers[0].inference.warm,
        Some(allora_sandbox::WarmConfig {
            max_calls: 5,
            max_memory_bytes: 48 << 20
        })
    );
    let issues = check(
        &text(
            r#"{"adapterInstances": 0}"#,
            r#", "warm": {"maxCalls": 0, "maxMemoryMb": 129}"#,
        ),
        dir.path(),
        &env,
    )
    .unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "worker[0].inferenceAdapter.warm.maxCalls",
            "worker[0].inferenceAdapter.warm.maxMemoryMb",
            "node.adapterInstances"
        ],
        "{issues:?}"
    );
}
