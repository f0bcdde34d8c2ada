//! Multi-wallet validation: every wrong field named with its JSON path and a fix, the
//! fee-granter inheritance, and the Go-node single-wallet form unchanged.

use super::tests::{MNEMONIC, check, setup};
use super::*;

/// Valid BIP-39 test-vector phrases, distinct accounts.
const M2: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const M3: &str = "letter advice cage absurd amount doctor acoustic avoid letter advice cage above";
const GRANTER: &str = "allo1g9mxw26mkhrgt5vujxflj2mwmu9qc706t9t5w4";
const OTHER_GRANTER: &str = "allo1qr2x7d8spkzmff030qnnvj988xq6qajrly74ya";

/// A config with `wallet` (key MNEMONIC, optional granter), `wallets`, and workers on topics
/// 1.. assigned to the given wallet names (`None` = no `wallet` field).
fn config(
    granter: Option<&str>,
    wallets: &str,
    workers: &[Option<&str>],
    reputers: &str,
) -> String {
    let granter = granter
        .map(|g| format!(r#", "feeGranterAddress": "{g}""#))
        .unwrap_or_default();
    let workers: Vec<String> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let wallet = w.map(|w| format!(r#", "wallet": "{w}""#)).unwrap_or_default();
            format!(
                r#"{{ "topicId": {}, "inferenceEntrypointName": "api-worker-reputer",
                   "parameters": {{ "InferenceEndpoint": "http://s:8000/{{Token}}", "Token": "ETH" }}{wallet} }}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{ "wallet": {{ "addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"],
              "nodeRpc": "http://127.0.0.1:26657"{granter} }},
            "wallets": {wallets}, "worker": [{}], "reputer": {reputers} }}"#,
        workers.join(",")
    )
}

fn issue<'a>(issues: &'a [ConfigIssue], path: &str) -> &'a ConfigIssue {
    issues
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no issue at {path}: {issues:#?}"))
}

#[test]
fn wallets_are_named_assigned_and_inherit_the_granter() {
    let (dir, env) = setup();
    let wallets = format!(
        r#"[{{ "name": "w2", "addressRestoreMnemonic": "{M2}" }},
            {{ "name": "w3", "addressRestoreMnemonic": "{M3}", "feeGranterAddress": "{OTHER_GRANTER}" }}]"#
    );
    let plan = check(
        &config(
            Some(GRANTER),
            &wallets,
            &[None, Some("w2"), Some("w3"), Some("default")],
            "[]",
        ),
        dir.path(),
        &env,
    )
    .expect("valid");
    let names: Vec<_> = plan.wallets.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["default", "w2", "w3"]);
    let granters: Vec<_> = plan
        .wallets
        .iter()
        .map(|w| w.fee_granter.as_deref())
        .collect();
    assert_eq!(
        granters,
        [Some(GRANTER), Some(GRANTER), Some(OTHER_GRANTER)]
    );
    let assigned: Vec<_> = plan.workers.iter().map(|w| w.wallet.as_str()).collect();
    assert_eq!(assigned, ["default", "w2", "w3", "default"]);
    assert_eq!(plan.wallets[1].key, KeySource::Mnemonic(M2.into()));
}

#[test]
fn go_node_single_wallet_form_is_one_default_wallet() {
    let (dir, env) = setup();
    let plan = check(&config(None, "null", &[None], "[]"), dir.path(), &env).expect("valid");
    assert_eq!(plan.wallets.len(), 1);
    assert_eq!(plan.wallets[0].name, DEFAULT_WALLET);
    assert_eq!(plan.wallets[0].fee_granter, None);
    assert_eq!(plan.workers[0].wallet, DEFAULT_WALLET);
}

#[test]
fn unknown_wallet_reference_names_the_known_ones() {
    let (dir, env) = setup();
    let wallets = format!(r#"[{{ "name": "w2", "addressRestoreMnemonic": "{M2}" }}]"#);
    let reputers = r#"[{ "topicId": 1, "wallet": "nope", "groundTruthEntrypointName": "api-worker-reputer",
             "lossFunctionEntrypointName": "api-worker-reputer",
             "groundTruthParameters": { "GroundTruthEndpoint": "http://s:8000/{Token}", "Token": "ETH" },
             "lossFunctionParameters": { "LossMethodOptions": { "loss_method": "sqe" } } }]"#;
    let issues = check(
        &config(None, &wallets, &[Some("w9")], reputers),
        dir.path(),
        &env,
    )
    .expect_err("unknown names");
    let w = issue(&issues, "worker[0].wallet");
    assert!(w.message.contains("'w9'"), "{w}");
    assert!(w.fix.contains("default, w2"), "{w}");
    assert!(
        issue(&issues, "reputer[0].wallet")
            .message
            .contains("'nope'")
    );
    assert_eq!(issues.len(), 2, "{issues:#?}");
}

#[test]
fn bad_names_are_each_reported() {
    let (dir, env) = setup();
    let wallets = format!(
        r#"[{{ "addressRestoreMnemonic": "{M2}" }},
            {{ "name": "default", "addressRestoreMnemonic": "{M3}" }},
            {{ "name": "a b", "addressRestoreMnemonic": "{M3}" }},
            {{ "name": "w2", "addressRestoreMnemonic": "{M2}" }},
            {{ "name": "w2", "addressRestoreMnemonic": "{M3}" }}]"#
    );
    let issues =
        check(&config(None, &wallets, &[None], "[]"), dir.path(), &env).expect_err("bad names");
    assert_eq!(issue(&issues, "wallets[0].name").message, "missing");
    assert!(
        issue(&issues, "wallets[1].name")
            .message
            .contains("\"default\"")
    );
    assert!(issue(&issues, "wallets[2].name").message.contains("'a b'"));
    let dup = issue(&issues, "wallets[4].name");
    assert!(dup.message.contains("already used by wallets[3]"), "{dup}");
    assert!(!dup.fix.is_empty());
}

#[test]
fn two_wallets_on_one_account_are_refused() {
    let (dir, env) = setup();
    // w2 repeats the default wallet's mnemonic; w3 repeats w2's... through a file.
    let file = dir.path().join("m2.txt");
    std::fs::write(&file, M2).unwrap();
    let wallets = format!(
        r#"[{{ "name": "w2", "addressRestoreMnemonic": "{MNEMONIC}" }},
            {{ "name": "w3", "addressRestoreMnemonic": "{M2}" }},
            {{ "name": "w4", "mnemonicFile": "{}" }}]"#,
        file.display()
    );
    let issues =
        check(&config(None, &wallets, &[None], "[]"), dir.path(), &env).expect_err("same accounts");
    let same = issue(&issues, "wallets[0]");
    assert!(
        same.message
            .contains("same account as wallet 'default' (wallet)"),
        "{same}"
    );
    let same = issue(&issues, "wallets[2]");
    assert!(
        same.message
            .contains("same account as wallet 'w3' (wallets[1])"),
        "{same}"
    );
    assert_eq!(issues.len(), 2, "{issues:#?}");
}

#[test]
fn key_and_granter_problems_name_the_entry_field() {
    let (dir, env) = setup();
    let wallets = r#"[{ "name": "w2" },
            { "name": "w3", "addressRestoreMnemonic": "one two three" },
            { "name": "w4", "mnemonicFile": "missing.txt" },
            { "name": "w5", "addressKeyName": "k5", "feeGranterAddress": "cosmos1notours" },
            { "name": "w6", "addressKeyName": "k6", "bogus": 1 }]"#;
    let raw = crate::config::raw::parse(&config(None, wallets, &[None], "[]"))
        .expect_err("unknown field is a raw error");
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].path, "wallets[4].bogus");
    let wallets = wallets.replace(r#", "bogus": 1"#, "");
    let issues =
        check(&config(None, &wallets, &[None], "[]"), dir.path(), &env).expect_err("bad keys");
    let none = issue(&issues, "wallets[0].addressKeyName");
    assert!(
        none.fix.contains("wallets[0].addressRestoreMnemonic"),
        "{none}"
    );
    assert!(
        !none.fix.contains("ALLORA_OFFCHAIN_NODE_MNEMONIC"),
        "the env mnemonic is the default wallet's only: {none}"
    );
    assert!(
        issue(&issues, "wallets[1].addressRestoreMnemonic")
            .message
            .contains("3")
    );
    assert!(
        issue(&issues, "wallets[2].mnemonicFile")
            .message
            .contains("does not exist")
    );
    assert!(
        issue(&issues, "wallets[3].feeGranterAddress")
            .message
            .contains("cosmos1notours")
    );
    assert_eq!(issues.len(), 4, "{issues:#?}");
}

#[test]
fn a_topic_role_assigned_to_two_wallets_is_refused() {
    let (dir, env) = setup();
    let wallets = format!(r#"[{{ "name": "w2", "addressRestoreMnemonic": "{M2}" }}]"#);
    // Two worker entries for topic 1, one per wallet.
    let text = config(None, &wallets, &[None, Some("w2")], "[]")
        .replace(r#""topicId": 2"#, r#""topicId": 1"#);
    let issues = check(&text, dir.path(), &env).expect_err("topic twice");
    let dup = issue(&issues, "worker[1].topicId");
    assert!(
        dup.message.contains("already configured in worker[0]"),
        "{dup}"
    );
    assert_eq!(issues.len(), 1, "{issues:#?}");
}
