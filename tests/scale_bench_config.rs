//! Unit tests of the scale bench's config generator (`node/allora-node/benches/scale/config.rs`,
//! compiled here by path: a `harness = false` bench cannot hold tests of its own), plus one
//! check against the node's real config loader: the one-wallet form must load as is.

#[path = "../node/allora-node/benches/scale/config.rs"]
#[allow(dead_code)]
mod config;

use config::*;
use std::path::{Path, PathBuf};

#[test]
fn one_wallet_config_loads_in_the_node() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    let (worker, truth) = (dist.join("trivial.wasm"), dist.join("http_source.wasm"));
    assert!(
        worker.exists() && truth.exists(),
        "run adapters-wasm/build.sh"
    );
    let home = tempfile::tempdir().unwrap();
    let spec = NodeSpec {
        topics: 4,
        wallets_per_topics: None,
        fee_granter: None,
        home: home.path(),
        rpc_url: "http://127.0.0.1:26657",
        grpc_url: "http://127.0.0.1:9090",
        chain_id: "devnet",
        min_stake: 10_000,
        worker_wasm: &worker,
        truth_wasm: &truth,
        truth_host: "127.0.0.1:8000",
    };
    let ws = wallets(1, allora_devnet::TEST_MNEMONICS[0]);
    let text = serde_json::to_string(&node_config(&spec, &ws)).unwrap();
    let plan = allora_node::config::load_str(&text, "scale bench", home.path());
    assert!(plan.is_ok(), "generated config refused: {:?}", plan.err());
}

const M0: &str = "dress click fat sand issue outer churn tilt unique river blind vicious argue \
                  palace news response chuckle arrive harbor discover hollow neither hawk guitar";

fn spec(topics: usize, per: Option<usize>, granter: Option<&'static str>) -> NodeSpec<'static> {
    NodeSpec {
        topics,
        wallets_per_topics: per,
        fee_granter: granter,
        home: Path::new("/tmp/h"),
        rpc_url: "http://127.0.0.1:1",
        grpc_url: "http://127.0.0.1:2",
        chain_id: "devnet",
        min_stake: 10_000,
        worker_wasm: Path::new("/a/trivial.wasm"),
        truth_wasm: Path::new("/a/http_source.wasm"),
        truth_host: "127.0.0.1:3",
    }
}

#[test]
fn counts_and_topic_mapping() {
    assert_eq!(wallet_count(1000, None), 1);
    assert_eq!(wallet_count(1000, Some(100)), 10);
    assert_eq!(wallet_count(5000, Some(100)), 50);
    assert_eq!(wallet_count(150, Some(100)), 2);
    assert_eq!(wallet_count(10, Some(100)), 1);
    assert_eq!(wallet_of_topic(1, Some(100)), 0);
    assert_eq!(wallet_of_topic(100, Some(100)), 0);
    assert_eq!(wallet_of_topic(101, Some(100)), 1);
    assert_eq!(wallet_of_topic(5000, Some(100)), 49);
    assert_eq!(wallet_of_topic(5000, None), 0);
}

#[test]
fn derived_mnemonics_are_valid_distinct_and_stable() {
    let ws = wallets(50, M0);
    assert_eq!(ws.len(), 50);
    assert_eq!(ws[0].name, "default");
    assert_eq!(ws[0].mnemonic, M0);
    assert_eq!(ws[49].name, "w49");
    let set: std::collections::BTreeSet<_> = ws.iter().map(|w| &w.mnemonic).collect();
    assert_eq!(set.len(), 50, "every wallet has its own key");
    for w in &ws {
        let m = bip39::Mnemonic::parse(&w.mnemonic).expect("valid BIP-39");
        assert_eq!(m.word_count(), 24);
    }
    assert_eq!(wallets(3, M0), wallets(3, M0), "reruns use the same keys");
}

#[test]
fn one_wallet_is_the_plain_go_node_form() {
    let c = node_config(&spec(3, None, None), &wallets(1, M0));
    assert!(c.get("wallets").is_none());
    assert!(c["wallet"].get("feeGranterAddress").is_none());
    assert_eq!(c["wallet"]["addressRestoreMnemonic"], M0);
    assert_eq!(c["worker"].as_array().unwrap().len(), 3);
    assert_eq!(c["reputer"].as_array().unwrap().len(), 3);
    for e in c["worker"]
        .as_array()
        .unwrap()
        .iter()
        .chain(c["reputer"].as_array().unwrap())
    {
        assert!(e.get("wallet").is_none(), "{e}");
    }
    assert_eq!(c["reputer"][2]["topicId"], 3);
    assert_eq!(
        c["reputer"][0]["groundTruthAdapter"]["allowedHosts"][0],
        "127.0.0.1:3"
    );
}

#[test]
fn multi_wallet_form_names_a_wallet_per_entry() {
    let ws = wallets(wallet_count(250, Some(100)), M0);
    let c = node_config(&spec(250, Some(100), Some("allo1granter")), &ws);
    let extra = c["wallets"].as_array().unwrap();
    assert_eq!(extra.len(), 2, "default + w1 + w2");
    assert_eq!(extra[0]["name"], "w1");
    assert_eq!(extra[1]["name"], "w2");
    assert_eq!(extra[1]["addressRestoreMnemonic"], ws[2].mnemonic.as_str());
    assert_ne!(extra[0]["addressKeyName"], extra[1]["addressKeyName"]);
    assert_ne!(extra[0]["addressKeyName"], c["wallet"]["addressKeyName"]);
    // Chain settings live on the wallet block only; grants default from it.
    assert!(extra.iter().all(|w| w.get("nodeRpc").is_none()));
    assert!(extra.iter().all(|w| w.get("feeGranterAddress").is_none()));
    assert_eq!(c["wallet"]["feeGranterAddress"], "allo1granter");
    for role in ["worker", "reputer"] {
        let es = c[role].as_array().unwrap();
        assert_eq!(es.len(), 250);
        assert_eq!(es[0]["wallet"], "default");
        assert_eq!(es[99]["wallet"], "default");
        assert_eq!(es[100]["wallet"], "w1");
        assert_eq!(es[249]["wallet"], "w2");
    }
}
