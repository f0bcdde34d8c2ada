//! End to end: the real `allora-node` binary with ONE wallet and many worker topics against
//! the devnet (1 s blocks), with a small per-tx message cap (`wallet.maxMsgsPerTx`) so one
//! block's payloads need several txs. Asserted on the chain's own block records:
//! - pipelining: in the first block of a window, several txs from the same signer with
//!   consecutive account sequences were included, and every topic's payload for that nonce
//!   landed in that block (the first block of its window);
//! - isolation: one topic whose payload the chain rejects (its worker whitelist excludes
//!   the node) among many — every other payload is included, the rejected one never lands,
//!   and the number of txs stays bounded (the chain's message index isolates it without
//!   sending the others one by one).

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allora_devnet::{
    Devnet, DevnetConfig, DevnetHandle, Genesis, GenesisAccount, GenesisTopic, Msg, TEST_MNEMONICS,
};
use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, TxRaw};
use harness::*;
use prost::Message;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;
/// Payload messages per tx: 12 topics need 4 txs per window.
const MSGS_PER_TX: usize = 3;

/// One included tx as the chain recorded it.
#[derive(Debug, Clone)]
struct Landed {
    height: i64,
    index: u32,
    signer: String,
    sequence: u64,
    code: u32,
    /// (topic, nonce) of each worker payload it carried.
    payloads: Vec<(u64, i64)>,
}

/// Records every delivered tx from now on.
fn record(dn: &DevnetHandle) -> Arc<Mutex<Vec<Landed>>> {
    let seen: Arc<Mutex<Vec<Landed>>> = Arc::default();
    let out = seen.clone();
    let mut rx = dn.subscribe_blocks();
    tokio::spawn(async move {
        while let Ok(notice) = rx.recv().await {
            for tx in &notice.txs {
                let Some(contents) = tx.contents() else {
                    continue;
                };
                let sequence = TxRaw::decode(tx.tx.as_slice())
                    .ok()
                    .and_then(|raw| AuthInfo::decode(raw.auth_info_bytes.as_slice()).ok())
                    .and_then(|a| a.signer_infos.first().map(|s| s.sequence))
                    .unwrap_or(u64::MAX);
                let payloads = contents
                    .msgs
                    .iter()
                    .filter_map(|m| match m {
                        Msg::InsertWorkerPayload(p) => {
                            let b = p.worker_data_bundle.as_ref()?;
                            Some((b.topic_id, b.nonce.as_ref()?.block_height))
                        }
                        _ => None,
                    })
                    .collect();
                out.lock().unwrap().push(Landed {
                    height: tx.height,
                    index: tx.index,
                    signer: contents.signer,
                    sequence,
                    code: tx.code,
                    payloads,
                });
            }
        }
    });
    seen
}

/// A devnet with 1 s blocks (the scale bench's setting) and the test accounts funded.
async fn devnet_1s(topics: Vec<GenesisTopic>) -> DevnetHandle {
    let mut genesis = Genesis::default_devnet();
    genesis.topics = topics;
    genesis.accounts = TEST_MNEMONICS
        .iter()
        .map(|m| GenesisAccount {
            mnemonic: Some((*m).to_string()),
            address: None,
            balance: 1_000_000_000_000_000,
        })
        .collect();
    Devnet::start(DevnetConfig {
        block_time: Duration::from_secs(1),
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

fn config(dn: &DevnetHandle, src: &Source, topics: &[u64]) -> serde_json::Value {
    let host = src.addr.to_string();
    let mut wallet = wallet_json(dn, 0, true);
    wallet["maxMsgsPerTx"] = json!(MSGS_PER_TX);
    let workers: Vec<serde_json::Value> = topics
        .iter()
        .map(|t| {
            json!({ "topicId": t, "loopSeconds": 1,
                "parameters": { "Token": "ETH",
                    "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
                "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) })
        })
        .collect();
    json!({ "wallet": wallet, "worker": workers })
}

/// Worker nonces (epoch starts) for which every topic in `topics` has a landed payload.
fn complete_nonces(landed: &[Landed], topics: &[u64]) -> Vec<i64> {
    let mut nonces: Vec<i64> = landed
        .iter()
        .flat_map(|l| l.payloads.iter().map(|p| p.1))
        .collect();
    nonces.sort();
    nonces.dedup();
    nonces
        .into_iter()
        .filter(|n| {
            topics.iter().all(|t| {
                landed
                    .iter()
                    .any(|l| l.code == 0 && l.payloads.contains(&(*t, *n)))
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_wallet_lands_many_txs_per_block_with_consecutive_sequences() {
    let topics: Vec<u64> = (1..=12).collect();
    let dn = devnet_1s(topics.iter().map(|t| topic(*t, EPOCH, WINDOW)).collect()).await;
    let landed = record(&dn);
    let src = source().await;
    let me = address_of(0);
    let mut node = NodeProc::start(&config(&dn, &src, &topics), None);

    // The first window may be partly missed while the node registers; the next two must
    // be complete.
    let nonces = wait_for(
        "three complete worker windows",
        Duration::from_secs(120),
        || {
            let n = complete_nonces(&landed.lock().unwrap(), &topics);
            async move { (n.len() >= 3).then_some(n) }
        },
    )
    .await;
    let landed = landed.lock().unwrap().clone();
    node.terminate();
    for n in &nonces[1..] {
        let first_block = n + 1;
        let ours: Vec<&Landed> = landed
            .iter()
            .filter(|l| l.signer == me && l.payloads.iter().any(|p| p.1 == *n))
            .collect();
        // Every topic's payload for nonce n landed in the first block of its window.
        for t in &topics {
            let l = ours
                .iter()
                .find(|l| l.code == 0 && l.payloads.contains(&(*t, *n)))
                .expect("payload landed");
            assert_eq!(
                l.height, first_block,
                "topic {t} nonce {n} landed at {} instead of {first_block}: {ours:#?}",
                l.height
            );
        }
        // Several txs of this one signer in that block, with consecutive sequences.
        let mut seqs: Vec<(u32, u64)> = landed
            .iter()
            .filter(|l| l.signer == me && l.height == first_block)
            .map(|l| (l.index, l.sequence))
            .collect();
        seqs.sort();
        let expected_txs = topics.len().div_ceil(MSGS_PER_TX);
        assert!(
            seqs.len() >= expected_txs,
            "nonce {n}: {} txs from {me} in block {first_block}, want ≥ {expected_txs}: {seqs:?}",
            seqs.len()
        );
        assert!(
            seqs.windows(2).all(|w| w[1].1 == w[0].1 + 1),
            "sequences in block {first_block} are not consecutive: {seqs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_payload_is_isolated_and_the_others_land() {
    let good: Vec<u64> = (1..=9).collect();
    let bad = 10u64;
    let mut genesis_topics: Vec<GenesisTopic> =
        good.iter().map(|t| topic(*t, EPOCH, WINDOW)).collect();
    let mut closed = topic(bad, EPOCH, WINDOW);
    // Only someone else may submit worker payloads here: the chain rejects ours (code 83).
    closed.worker_whitelist = Some(vec![address_of(1)]);
    genesis_topics.push(closed);
    let dn = devnet_1s(genesis_topics).await;
    let landed = record(&dn);
    let src = source().await;
    let me = address_of(0);
    let all: Vec<u64> = good.iter().copied().chain([bad]).collect();
    let mut node = NodeProc::start(&config(&dn, &src, &all), None);

    let nonces = wait_for(
        "two complete worker windows",
        Duration::from_secs(120),
        || {
            let n = complete_nonces(&landed.lock().unwrap(), &good);
            async move { (n.len() >= 2).then_some(n) }
        },
    )
    .await;
    let landed = landed.lock().unwrap().clone();
    node.terminate();
    assert!(
        landed
            .iter()
            .all(|l| !l.payloads.iter().any(|p| p.0 == bad)),
        "the rejected topic's payload never lands"
    );
    for n in &nonces {
        let txs: Vec<&Landed> = landed
            .iter()
            .filter(|l| l.signer == me && l.payloads.iter().any(|p| p.1 == *n))
            .collect();
        // 9 good payloads at 3 per tx: 3 txs; the bad one costs no extra tx (the chain's
        // message index removes it at simulation) — allow one more for a window split
        // across two batch windows, never one tx per message.
        let bound = good.len().div_ceil(MSGS_PER_TX) + 1;
        assert!(
            txs.len() <= bound,
            "nonce {n}: {} payload txs, bound {bound}: {txs:#?}",
            txs.len()
        );
        assert!(txs.iter().all(|l| l.code == 0), "{txs:#?}");
        for t in &good {
            assert!(
                txs.iter().any(|l| l.payloads.contains(&(*t, *n))),
                "topic {t} nonce {n} included"
            );
        }
    }
}
