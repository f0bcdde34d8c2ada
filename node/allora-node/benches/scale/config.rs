//! The node config and the wallet set a scale run uses.
//!
//! Owns the mapping "topic → wallet" for `--wallets-per-topics K` (topics 1..=K on the default
//! wallet, K+1..=2K on `w1`, …) and writes it in the multi-wallet form agreed for issue #11:
//! the Go-node `wallet` block is the default wallet and carries every chain/gas/fee setting, a
//! top-level `wallets` array adds signing keys by name, and each `worker[]`/`reputer[]` entry
//! names its wallet (absent = default). With one wallet the output is exactly the Go-node form,
//! so it runs on every node version.
//!
//! Self-contained (no `super::*`) so `tests/scale_bench_config.rs` compiles it with `#[path]`
//! and unit-tests the generated JSON (a `harness = false` bench cannot run `#[test]`s).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Name of the `wallet` block's key in `worker[].wallet` / `reputer[].wallet`.
pub const DEFAULT_WALLET: &str = "default";

/// One signing key of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchWallet {
    /// `"default"` for the `wallet` block, `"w1"`, `"w2"`, … for the `wallets` entries.
    pub name: String,
    pub mnemonic: String,
}

/// How many wallets `topics` topics need with one wallet per `per` topics (`None`: one).
pub fn wallet_count(topics: usize, per: Option<usize>) -> usize {
    match per {
        Some(k) if k > 0 => topics.div_ceil(k).max(1),
        _ => 1,
    }
}

/// Index of the wallet serving 1-based `topic`.
pub fn wallet_of_topic(topic: usize, per: Option<usize>) -> usize {
    match per {
        Some(k) if k > 0 => (topic - 1) / k,
        _ => 0,
    }
}

/// A 24-word mnemonic derived from a label: deterministic, so a rerun funds and uses the
/// same addresses, and distinct per label. Bench keys only — never fund these anywhere real.
pub fn derived_mnemonic(label: &str) -> String {
    let entropy = Sha256::digest(format!("allora-node scale bench {label}").as_bytes());
    bip39::Mnemonic::from_entropy(&entropy)
        .expect("32 bytes is valid BIP-39 entropy")
        .to_string()
}

/// The run's wallets: the default wallet uses `default_mnemonic` (a funded devnet test key),
/// the others derived mnemonics.
pub fn wallets(count: usize, default_mnemonic: &str) -> Vec<BenchWallet> {
    (0..count.max(1))
        .map(|i| {
            if i == 0 {
                BenchWallet {
                    name: DEFAULT_WALLET.into(),
                    mnemonic: default_mnemonic.into(),
                }
            } else {
                BenchWallet {
                    name: format!("w{i}"),
                    mnemonic: derived_mnemonic(&format!("wallet {i}")),
                }
            }
        })
        .collect()
}

/// Everything the generated config depends on besides the wallets.
pub struct NodeSpec<'a> {
    pub topics: usize,
    pub wallets_per_topics: Option<usize>,
    /// Sets `wallet.feeGranterAddress` (pays for every wallet).
    pub fee_granter: Option<&'a str>,
    pub home: &'a std::path::Path,
    pub rpc_url: &'a str,
    pub grpc_url: &'a str,
    pub chain_id: &'a str,
    pub min_stake: u128,
    pub worker_wasm: &'a std::path::Path,
    pub truth_wasm: &'a std::path::Path,
    /// `host:port` of the loopback ground-truth source.
    pub truth_host: &'a str,
}

/// The node config: one worker (`worker_wasm`) and one reputer (`truth_wasm` ground truth,
/// built-in loss) per topic.
pub fn node_config(s: &NodeSpec<'_>, ws: &[BenchWallet]) -> Value {
    let multi = ws.len() > 1;
    let wallet_field = |t: usize| -> Option<String> {
        multi.then(|| ws[wallet_of_topic(t, s.wallets_per_topics)].name.clone())
    };
    let with_wallet = |mut v: Value, t: usize| {
        if let Some(w) = wallet_field(t) {
            v["wallet"] = Value::String(w);
        }
        v
    };
    let workers: Vec<Value> = (1..=s.topics)
        .map(|t| {
            with_wallet(
                json!({
                    "topicId": t, "loopSeconds": 1,
                    "inferenceAdapter": { "wasm": s.worker_wasm, "allowedHosts": [],
                                          "timeoutMs": 3000, "memoryMb": 64, "params": {} }
                }),
                t,
            )
        })
        .collect();
    let reputers: Vec<Value> = (1..=s.topics)
        .map(|t| {
            with_wallet(
                json!({
                    "topicId": t, "loopSeconds": 1, "minStake": s.min_stake as u64,
                    "groundTruthParameters": {
                        "GroundTruthEndpoint":
                            format!("http://{}/truth/{{Token}}/{{BlockHeight}}", s.truth_host),
                        "Token": "ETH" },
                    "groundTruthAdapter": { "wasm": s.truth_wasm, "allowedHosts": [s.truth_host],
                                            "timeoutMs": 3000, "memoryMb": 64, "params": {} }
                }),
                t,
            )
        })
        .collect();
    let mut wallet = json!({
        "addressKeyName": "bench",
        "addressRestoreMnemonic": ws[0].mnemonic,
        "alloraHomeDir": s.home,
        "gas": "auto", "gasAdjustment": 1.5, "gasPrices": "auto",
        "nodeRpc": s.rpc_url, "nodeGrpcs": [s.grpc_url],
        "maxRetries": 2, "retryDelay": 1, "accountSequenceRetryDelay": 1,
        "submitTx": true, "chainId": s.chain_id,
    });
    if let Some(g) = s.fee_granter {
        wallet["feeGranterAddress"] = Value::String(g.into());
    }
    let mut config = json!({ "wallet": wallet, "worker": workers, "reputer": reputers });
    if multi {
        config["wallets"] = Value::Array(
            ws[1..]
                .iter()
                .map(|w| {
                    json!({
                        "name": w.name,
                        "addressKeyName": format!("bench-{}", w.name),
                        "addressRestoreMnemonic": w.mnemonic,
                    })
                })
                .collect(),
        );
    }
    config
}
