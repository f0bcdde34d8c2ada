//! End to end: fee grants (`wallet.feeGranterAddress`). The real `allora-node` binary runs
//! against the devnet, which enforces x/feegrant like allorad v0.17.0.
//!
//! - A wallet that was never funded gets an allowance through a real `MsgGrantAllowance` tx
//!   from a funded granter; the node, configured with that granter, registers and has its
//!   worker payloads included while its own balance stays zero: the granter's balance and the
//!   allowance's spend limit drop by exactly the fees paid.
//! - A second wallet (an account with zero balance) names the same granter without any
//!   allowance: its failure is logged and counted naming the granter, and nothing it sends
//!   lands on chain.
//! - `config validate` shows who pays the fees; `doctor` finds the first wallet's allowance
//!   and warns that the second has none.

#[path = "support/devnet_client.rs"]
mod client;
#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use allora_devnet::{Devnet, DevnetConfig, Genesis, GenesisAccount, GenesisParams, TEST_MNEMONICS};
use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;
const SPEND_LIMIT: u128 = 500_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_wallet_with_no_funds_submits_and_ungranted_one_fails_naming_the_granter() {
    let granter = address_of(0);
    let granted = address_of(2);
    let ungranted = address_of(3);
    // Test account 0 funds everything; 2 does not exist on chain; 3 exists with nothing.
    // Actor fees are zero so that only tx fees are at stake (a grant pays those alone).
    let mut genesis = Genesis::default_devnet();
    genesis.topics = vec![topic(1, EPOCH, WINDOW)];
    genesis.accounts = vec![
        GenesisAccount {
            mnemonic: Some(TEST_MNEMONICS[0].to_string()),
            address: None,
            balance: 1_000_000_000_000,
        },
        GenesisAccount {
            mnemonic: Some(TEST_MNEMONICS[3].to_string()),
            address: None,
            balance: 0,
        },
    ];
    genesis.params = GenesisParams {
        registration_fee: 0,
        data_sending_fee: 0,
        ..GenesisParams::default()
    };
    let dn = Devnet::start(DevnetConfig {
        block_time: BLOCK_TIME,
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts");
    assert_eq!(
        dn.account(&granted),
        None,
        "the granted wallet starts with no account"
    );

    // The grant, as an operator sends it: a MsgGrantAllowance tx signed by the granter.
    let chain = client::Client::connect(&dn).await;
    let granter_key = client::TestWallet::from_mnemonic(TEST_MNEMONICS[0]);
    chain
        .grant_fee_allowance(&granter_key, &granted, SPEND_LIMIT)
        .await;
    assert_eq!(
        dn.fee_allowance(&granter, &granted),
        Some(Some(SPEND_LIMIT))
    );
    assert_eq!(dn.balance(&granted), 0);
    let granter_before = dn.balance(&granter);

    let src = source().await;
    let host = src.addr.to_string();
    let node_config = |i: usize| {
        let mut wallet = wallet_json(&dn, i, true);
        wallet["feeGranterAddress"] = json!(granter);
        json!({
            "wallet": wallet,
            "worker": [{
                "topicId": 1, "loopSeconds": 1,
                "parameters": { "Token": "ETH",
                    "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
                "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000)
            }]
        })
    };
    // `config validate` and `doctor` show the granter and check the allowance.
    let out = cli(&["config", "validate"], &node_config(2));
    assert!(
        out.contains(&format!("fees paid by: fee granter {granter}")),
        "{out}"
    );
    let out = cli(&["doctor"], &node_config(2));
    assert!(
        out.contains(&format!("fees paid by {granter}"))
            && out.contains(&format!("{SPEND_LIMIT} uallo left")),
        "{out}"
    );
    let out = cli(&["doctor"], &node_config(3));
    assert!(
        out.contains(&format!("no fee allowance from {granter} to {ungranted}")),
        "{out}"
    );

    let granted_node = NodeProc::start(&node_config(2), None);
    let ungranted_node = NodeProc::start(&node_config(3), None);

    wait_for(
        "2 consecutive worker payloads from the granted wallet",
        Duration::from_secs(90),
        || {
            let h = dn.height();
            let ok = has_consecutive(
                &worker_nonces_with_payload(&dn, 1, &granted, h, EPOCH),
                EPOCH,
                2,
            );
            async move { ok.then_some(()) }
        },
    )
    .await;
    assert!(dn.is_worker_registered(1, &granted));
    assert_eq!(
        dn.balance(&granted),
        0,
        "the granted wallet never paid anything"
    );

    // The granter paid every fee, and the allowance shrank by exactly as much.
    let paid = granter_before - dn.balance(&granter);
    assert!(paid > 0, "the granter's balance did not move");
    let left = dn
        .fee_allowance(&granter, &granted)
        .expect("allowance still there")
        .expect("limited allowance");
    assert_eq!(
        SPEND_LIMIT - left,
        paid,
        "spend limit drop = granter balance drop"
    );

    // The wallet without a grant: counted, logged with the granter named, nothing on chain.
    wait_for(
        "the ungranted wallet's fee-grant failure to be counted",
        Duration::from_secs(30),
        || {
            let node = &ungranted_node;
            async move {
                let text = node.metrics_text().await;
                (metric(&text, "allora_tx_errors_total", &[("kind", "fee_grant")]) >= 1.0)
                    .then_some(())
            }
        },
    )
    .await;
    let log = ungranted_node.log_text();
    assert!(
        log.contains(&format!(
            "fee granter {granter} does not pay for this wallet"
        )),
        "log does not name the granter:\n{}",
        &log[log.len().saturating_sub(4000)..]
    );
    assert!(
        log.contains("fee-grant not found"),
        "the chain's reason is kept"
    );
    assert_eq!(
        dn.account(&ungranted),
        Some((1, 0)),
        "no tx from the ungranted wallet landed"
    );
    assert!(!dn.is_worker_registered(1, &ungranted));
    assert!(
        worker_nonces_with_payload(&dn, 1, &ungranted, dn.height(), EPOCH).is_empty(),
        "no payload from the ungranted wallet"
    );
    // The granted node never hit a fee-grant error.
    let text = granted_node.metrics_text().await;
    assert_eq!(
        metric(&text, "allora_tx_errors_total", &[("kind", "fee_grant")]),
        0.0
    );
    dn.shutdown().await;
}

/// Runs `allora-node <args> --config <file>` and returns stdout + stderr.
fn cli(args: &[&str], config: &serde_json::Value) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).expect("json")).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_allora-node"))
        .args(args)
        .arg("--config")
        .arg(&path)
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH")
        .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
        .env("ALLORA_NODE_ADAPTERS_DIR", adapters_dir())
        .env("HOME", dir.path())
        .output()
        .expect("run allora-node");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
