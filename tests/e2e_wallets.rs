//! End to end: many wallets in one process (`wallets[]`, `worker[].wallet`,
//! `reputer[].wallet`). The real `allora-node` binary runs against the devnet.
//!
//! - Three wallets, topics' worker and reputer roles spread across them: every payload the
//!   chain holds for a topic's role was signed by (is recorded for) the assigned wallet,
//!   never by another; each (topic, nonce, sender) is delivered once; `/metrics` carries a
//!   series per wallet (`wallet` label on tx-level series, one `allora_tx_actor_up` each).
//! - Fee granter for all: wallets with zero balance, `wallet.feeGranterAddress` granting for
//!   two of them and one wallet overriding it with its own granter. Every wallet's payloads
//!   land, their balances stay zero, and each granter pays exactly what its allowances lost.
//! - `config.multi-wallet.example.json` passes `config validate`.

#[path = "support/devnet_client.rs"]
mod client;
#[path = "support/node_harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use allora_devnet::{Devnet, DevnetConfig, Genesis, GenesisAccount, GenesisParams, TEST_MNEMONICS};
use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;
const SPEND_LIMIT: u128 = 500_000_000;

/// A `wallets[]` entry for test account `i`.
fn named_wallet(name: &str, i: usize) -> serde_json::Value {
    json!({ "name": name, "addressRestoreMnemonic": TEST_MNEMONICS[i] })
}

fn worker(topic: u64, wallet: &str, host: &str) -> serde_json::Value {
    json!({
        "topicId": topic, "loopSeconds": 1, "wallet": wallet,
        "parameters": { "Token": "ETH",
            "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
        "inferenceAdapter": adapter("http_source.wasm", &[host], BTreeMap::new(), 3000)
    })
}

fn reputer(topic: u64, wallet: &str, host: &str) -> serde_json::Value {
    json!({
        "topicId": topic, "loopSeconds": 1, "minStake": 10000, "wallet": wallet,
        "groundTruthParameters": { "Token": "ETH",
            "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}") },
        "groundTruthAdapter": adapter("http_source.wasm", &[host], BTreeMap::new(), 3000)
    })
}

/// Worker nonces of `topic` holding a payload from any address in `others`.
fn foreign_worker_nonces(
    dn: &allora_devnet::DevnetHandle,
    topic: u64,
    others: &[&String],
) -> usize {
    let h = dn.height();
    others
        .iter()
        .map(|a| worker_nonces_with_payload(dn, topic, a, h, EPOCH).len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wallets_sign_only_their_topics_once_per_nonce() {
    let dn = devnet(vec![
        topic(1, EPOCH, WINDOW),
        topic(2, EPOCH, WINDOW),
        topic(3, EPOCH, WINDOW),
    ])
    .await;
    let delivered = record_txs(&dn);
    let src = source().await;
    let host = src.addr.to_string();
    let addr = [address_of(0), address_of(1), address_of(4)];
    // Workers: topic t → wallet t-1; reputers rotated by one, so every wallet has both roles
    // on different topics.
    let names = ["default", "w1", "w4"];
    let worker_of = |t: u64| (t - 1) as usize;
    let reputer_of = |t: u64| (t as usize) % 3;
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "wallets": [named_wallet("w1", 1), named_wallet("w4", 4)],
        "worker": (1..=3u64).map(|t| worker(t, names[worker_of(t)], &host)).collect::<Vec<_>>(),
        "reputer": (1..=3u64).map(|t| reputer(t, names[reputer_of(t)], &host)).collect::<Vec<_>>(),
    });
    let node = NodeProc::start(&config, None);

    wait_for(
        "2 consecutive worker and reputer epochs on every topic from its assigned wallet",
        Duration::from_secs(120),
        || {
            let h = dn.height();
            let ok = (1..=3u64).all(|t| {
                has_consecutive(
                    &worker_nonces_with_payload(&dn, t, &addr[worker_of(t)], h, EPOCH),
                    EPOCH,
                    2,
                ) && has_consecutive(
                    &reputer_nonces_with_payload(&dn, t, &addr[reputer_of(t)], h, EPOCH),
                    EPOCH,
                    2,
                )
            });
            async move { ok.then_some(()) }
        },
    )
    .await;

    let h = dn.height();
    for t in 1..=3u64 {
        let (w, r) = (worker_of(t), reputer_of(t));
        assert!(dn.is_worker_registered(t, &addr[w]), "topic {t} worker");
        assert!(dn.is_reputer_registered(t, &addr[r]), "topic {t} reputer");
        assert_eq!(
            dn.stake(t, &addr[r]),
            10000,
            "topic {t} stake by its reputer wallet"
        );
        // No other wallet registered or submitted for this topic's roles.
        for (i, a) in addr.iter().enumerate() {
            if i != w {
                assert!(
                    !dn.is_worker_registered(t, a),
                    "topic {t}: wallet {i} registered as worker"
                );
            }
            if i != r {
                assert!(
                    !dn.is_reputer_registered(t, a),
                    "topic {t}: wallet {i} registered as reputer"
                );
                assert!(
                    reputer_nonces_with_payload(&dn, t, a, h, EPOCH).is_empty(),
                    "topic {t}: reputer payload from wallet {i}"
                );
            }
        }
        let others: Vec<&String> = addr
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != w)
            .map(|(_, a)| a)
            .collect();
        assert_eq!(
            foreign_worker_nonces(&dn, t, &others),
            0,
            "topic {t}: worker payload from another wallet"
        );
    }

    // Each (topic, nonce, sender) worker payload was delivered exactly once, and only by the
    // topic's wallet.
    let log = delivered.lock().unwrap().clone();
    let mut seen = BTreeSet::new();
    let mut payloads = 0;
    for (type_url, t, nonce, sender) in log {
        if !type_url.ends_with("InsertWorkerPayloadRequest") {
            continue;
        }
        payloads += 1;
        assert_eq!(
            sender,
            addr[worker_of(t)],
            "topic {t} nonce {nonce} sent by the wrong wallet"
        );
        assert!(
            seen.insert((t, nonce)),
            "topic {t} nonce {nonce} delivered twice"
        );
    }
    assert!(payloads >= 6, "only {payloads} worker payloads recorded");

    // Per-wallet series: one tx actor each, and included submissions counted per wallet
    // (the count follows the chain by one confirmation, so wait for it).
    let text = wait_for(
        "every wallet's included worker and reputer series to reach 2",
        Duration::from_secs(30),
        || {
            let node = &node;
            let addr = &addr;
            async move {
                let text = node.metrics_text().await;
                addr.iter()
                    .all(|a| {
                        ["worker", "reputer"].iter().all(|role| {
                            metric(
                                &text,
                                "allora_submissions_total",
                                &[("wallet", a), ("role", role), ("outcome", "included")],
                            ) >= 2.0
                        })
                    })
                    .then_some(text)
            }
        },
    )
    .await;
    for (i, a) in addr.iter().enumerate() {
        assert_eq!(
            metric(&text, "allora_tx_actor_up", &[("address", a)]),
            1.0,
            "wallet {i} tx actor"
        );
    }
    // Logs name the wallet on every tx-actor and actor line, and never carry key material.
    let log = strip_ansi(&node.log_text());
    for a in &addr {
        for span in ["tx_actor", "worker", "reputer"] {
            assert!(
                log.contains(&format!("{span}{{wallet={a}}}")),
                "no {span} line names wallet {a}:\n{}",
                &log[log.len().saturating_sub(3000)..]
            );
        }
    }
    for i in [0, 1, 4] {
        let first_words: String = TEST_MNEMONICS[i]
            .split(' ')
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!log.contains(&first_words), "mnemonic {i} in the logs");
    }
    dn.shutdown().await;
}

/// The log text without terminal colour codes.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Grants `grantee` a fee allowance of `SPEND_LIMIT` from test account `granter`.
async fn grant(chain: &client::Client, granter: usize, grantee: &str) {
    let key = client::TestWallet::from_mnemonic(TEST_MNEMONICS[granter]);
    chain.grant_fee_allowance(&key, grantee, SPEND_LIMIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_granter_pays_for_every_wallet_and_an_override_pays_for_its_own() {
    // Accounts 0 and 4 are funded granters; 1, 2 and 3 exist with nothing. Actor fees are
    // zero so that only tx fees are at stake (a grant pays those alone).
    let (g_all, g_own) = (0, 4);
    let wallets = [1usize, 2, 3];
    let mut genesis = Genesis::default_devnet();
    genesis.topics = (1..=3).map(|t| topic(t, EPOCH, WINDOW)).collect();
    genesis.accounts = [(g_all, 1_000_000_000_000), (g_own, 1_000_000_000_000)]
        .into_iter()
        .chain(wallets.iter().map(|i| (*i, 0)))
        .map(|(i, balance)| GenesisAccount {
            mnemonic: Some(TEST_MNEMONICS[i].to_string()),
            address: None,
            balance,
        })
        .collect();
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
    let chain = client::Client::connect(&dn).await;
    let addr: Vec<String> = wallets.iter().map(|i| address_of(*i)).collect();
    grant(&chain, g_all, &addr[0]).await;
    grant(&chain, g_all, &addr[1]).await;
    grant(&chain, g_own, &addr[2]).await;
    let (all_before, own_before) = (
        dn.balance(&address_of(g_all)),
        dn.balance(&address_of(g_own)),
    );

    let src = source().await;
    let host = src.addr.to_string();
    let mut wallet = wallet_json(&dn, wallets[0], true);
    wallet["feeGranterAddress"] = json!(address_of(g_all));
    let mut own = named_wallet("own", wallets[2]);
    own["feeGranterAddress"] = json!(address_of(g_own));
    let config = json!({
        "wallet": wallet,
        "wallets": [named_wallet("inherits", wallets[1]), own],
        "worker": [worker(1, "default", &host), worker(2, "inherits", &host), worker(3, "own", &host)],
    });
    let out = cli(&["config", "validate"], &config);
    assert!(
        out.contains(&address_of(g_own)),
        "validate names the override granter:\n{out}"
    );
    // `doctor` checks every wallet's allowance against the granter that pays for it.
    let out = cli(&["doctor"], &config);
    assert!(
        out.contains(&format!("wallet own: address {}", addr[2]))
            && out.contains(&format!("fees paid by {}", address_of(g_own)))
            && out.contains(&format!("fees paid by {}", address_of(g_all))),
        "{out}"
    );
    assert!(!out.contains("no fee allowance"), "{out}");
    let node = NodeProc::start(&config, None);

    wait_for(
        "2 consecutive worker payloads from every zero-balance wallet",
        Duration::from_secs(120),
        || {
            let h = dn.height();
            let ok = (0..3).all(|k| {
                has_consecutive(
                    &worker_nonces_with_payload(&dn, k as u64 + 1, &addr[k], h, EPOCH),
                    EPOCH,
                    2,
                )
            });
            async move { ok.then_some(()) }
        },
    )
    .await;
    // Stop sending before reading balances, so both sides of each equation are one state.
    drop(node);
    tokio::time::sleep(BLOCK_TIME * 4).await;

    for a in &addr {
        assert_eq!(dn.balance(a), 0, "wallet {a} paid a fee itself");
    }
    let left = |g: usize, a: &String| {
        dn.fee_allowance(&address_of(g), a)
            .expect("allowance still there")
            .expect("limited allowance")
    };
    let all_paid = all_before - dn.balance(&address_of(g_all));
    let own_paid = own_before - dn.balance(&address_of(g_own));
    let all_spent = (SPEND_LIMIT - left(g_all, &addr[0])) + (SPEND_LIMIT - left(g_all, &addr[1]));
    let own_spent = SPEND_LIMIT - left(g_own, &addr[2]);
    assert!(
        SPEND_LIMIT - left(g_all, &addr[0]) > 0,
        "the default wallet's fees came from the shared granter"
    );
    assert!(
        SPEND_LIMIT - left(g_all, &addr[1]) > 0,
        "the inheriting wallet's fees came from the shared granter"
    );
    assert!(
        own_spent > 0,
        "the overriding wallet's fees came from its own granter"
    );
    assert_eq!(
        all_paid, all_spent,
        "shared granter: balance drop = allowances spent"
    );
    assert_eq!(
        own_paid, own_spent,
        "override granter: balance drop = allowance spent"
    );
    assert_eq!(
        dn.fee_allowance(&address_of(g_all), &addr[2]),
        None,
        "no grant from the shared granter to the overriding wallet"
    );
    dn.shutdown().await;
}

#[test]
fn multi_wallet_example_config_validates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config.multi-wallet.example.json");
    let text = std::fs::read_to_string(&path).expect("read the example");
    let _: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
    let out = cli_file(&["config", "validate"], &path);
    assert!(!out.contains("problem(s)"), "{out}");
    assert!(
        out.contains("w2") && out.contains("w3"),
        "validate lists the wallets:\n{out}"
    );
}

/// Runs `allora-node <args> --config <file>` with `config` written to a file.
fn cli(args: &[&str], config: &serde_json::Value) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).expect("json")).expect("write");
    cli_file(args, &path)
}

/// Runs `allora-node <args> --config <path>` and returns stdout + stderr.
fn cli_file(args: &[&str], path: &std::path::Path) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_allora-node"))
        .args(args)
        .arg("--config")
        .arg(path)
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
