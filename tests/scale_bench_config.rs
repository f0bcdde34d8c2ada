//! Unit tests of the scale bench's config generator (`node/allora-node/benches/scale/config.rs`,
//! compiled here by path: a `harness = false` bench cannot hold tests of its own), plus one
//! check against the node's real config loader: the one-wallet form must load as is.

#[path = "../node/allora-node/benches/scale/config.rs"]
#[allow(dead_code)]
mod config;

use std::path::PathBuf;

#[test]
fn one_wallet_config_loads_in_the_node() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist");
    let (worker, truth) = (dist.join("trivial.wasm"), dist.join("http_source.wasm"));
    assert!(
        worker.exists() && truth.exists(),
        "run adapters-wasm/build.sh"
    );
    let home = tempfile::tempdir().unwrap();
    let spec = config::NodeSpec {
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
    let ws = config::wallets(1, allora_devnet::TEST_MNEMONICS[0]);
    let text = serde_json::to_string(&config::node_config(&spec, &ws)).unwrap();
    let plan = allora_node::config::load_str(&text, "scale bench", home.path());
    assert!(plan.is_ok(), "generated config refused: {:?}", plan.err());
}
