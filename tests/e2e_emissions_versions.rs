//! End to end: the real `allora-node` binary detects which emissions package the chain
//! serves and speaks it. A devnet serving only `emissions.v9` (allora-chain v0.16.0) and one
//! serving only `emissions.v10` (v0.17.0) each receive worker and reputer payloads for two
//! consecutive epochs under their own Msg type URLs; a chain serving neither makes the node
//! exit 2 at once, naming what the chain serves and what the node supports. On a v9 chain
//! the v10-only wall-clock epoch queries are "not served" while x/feegrant works as on v10.

#[path = "support/devnet_client.rs"]
mod client;
#[path = "support/node_harness.rs"]
mod harness;

use std::time::Duration;

use allora_chain_client::{ChainClient, Endpoints, Served};
use allora_devnet::TEST_MNEMONICS;
use allora_protocol::EmissionsVersion;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::feegrant::v1beta1::{BasicAllowance, MsgGrantAllowance};
use harness::*;
use prost::Message;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

fn config(dn: &allora_devnet::DevnetHandle, submit: bool, host: &str) -> serde_json::Value {
    json!({
        "wallet": wallet_json(dn, 0, submit),
        "worker": [
            { "topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/{{Token}}"), "Token": "ETH" } }
        ],
        "reputer": [
            { "topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
              "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 1, "minStake": 20000,
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"), "Token": "ETH" },
              "lossFunctionParameters": { "LossMethodOptions": { "loss_method": "sqe" } } }
        ]
    })
}

/// Runs worker + reputer against a devnet serving `version` until both have payloads in two
/// consecutive epochs, then checks the package of every Msg and the inference's shape.
async fn submits_for_two_epochs(version: u32) {
    let dn = devnet_serving(vec![topic(1, EPOCH, WINDOW)], version).await;
    let sent = record_txs(&dn);
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(0);
    let node = NodeProc::start(&config(&dn, true, &host), None);

    wait_for(
        &format!("2 consecutive worker and reputer epochs on a v{version} devnet"),
        Duration::from_secs(90),
        || {
            let h = dn.height();
            let ok = has_consecutive(&worker_nonces_with_payload(&dn, 1, &me, h, EPOCH), EPOCH, 2)
                && has_consecutive(
                    &reputer_nonces_with_payload(&dn, 1, &me, h, EPOCH),
                    EPOCH,
                    2,
                );
            async move { ok.then_some(()) }
        },
    )
    .await;

    // Every emissions Msg the chain executed used the served package, and both payload
    // kinds were among them.
    let urls: Vec<String> = sent.lock().unwrap().iter().map(|m| m.0.clone()).collect();
    let package = format!("/emissions.v{version}.");
    let emissions: Vec<&String> = urls
        .iter()
        .filter(|u| u.starts_with("/emissions."))
        .collect();
    assert!(
        emissions.iter().all(|u| u.starts_with(&package)),
        "a Msg outside {package}: {emissions:?}"
    );
    for name in [
        "RegisterRequest",
        "AddStakeRequest",
        "InsertWorkerPayloadRequest",
        "InsertReputerPayloadRequest",
    ] {
        let want = format!("{package}{name}");
        assert!(urls.contains(&want), "no {want} in {urls:?}");
    }

    // The inference's shape follows the version: v9 has one scalar in `value` (no field 7),
    // v10 sends labelled `values` with `value` = "0".
    let h = dn.height();
    let nonce = worker_nonces_with_payload(&dn, 1, &me, h, EPOCH)[0];
    let bundles = dn.worker_payloads(1, nonce);
    let inference = bundles
        .iter()
        .find(|b| b.worker == me)
        .and_then(|b| b.inference_forecasts_bundle.as_ref())
        .and_then(|b| b.inference.as_ref())
        .expect("own inference stored");
    if version == 9 {
        assert!(inference.values.is_empty(), "{inference:?}");
        let v: f64 = inference.value.parse().expect("scalar value");
        assert!(v != 0.0, "{inference:?}");
    } else {
        assert!(!inference.values.is_empty(), "{inference:?}");
        assert_eq!(inference.value, "0");
    }

    // The reputer scored the network's values (scalars on v9, label-picked on v10).
    for n in reputer_nonces_with_payload(&dn, 1, &me, h, EPOCH) {
        let vb = dn
            .reputer_payloads(1, n)
            .into_iter()
            .find_map(|b| b.value_bundle.filter(|v| v.reputer == me))
            .expect("own reputer bundle");
        assert!(!vb.combined_value.is_empty() && !vb.naive_value.is_empty());
        assert!(vb.inferer_values.iter().any(|v| v.worker == me), "{vb:?}");
    }

    let text = node.metrics_text().await;
    let label = format!("v{version}");
    assert_eq!(
        metric(
            &text,
            "allora_chain_emissions_version_info",
            &[("version", &label)]
        ),
        1.0,
        "{text}"
    );
    // The start-up line names the package (the log may carry ANSI colours around fields).
    let log = node.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("chain emissions version detected"))
        .unwrap_or_else(|| panic!("no detection line in {log}"));
    assert!(
        line.contains(&format!("\"emissions.v{version}\"")),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v9_devnet_gets_worker_and_reputer_payloads_for_two_epochs() {
    submits_for_two_epochs(9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v10_devnet_gets_worker_and_reputer_payloads_for_two_epochs() {
    submits_for_two_epochs(10).await;
}

/// With only `nodeRpc` configured the version is detected over CometBFT `abci_query`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_only_config_detects_v9_over_abci_query() {
    let dn = devnet_serving(vec![topic(1, EPOCH, WINDOW)], 9).await;
    let src = source().await;
    let mut cfg = config(&dn, false, &src.addr.to_string());
    cfg["wallet"]["nodeGrpcs"] = json!([]);
    let mut node = NodeProc::start(&cfg, None);
    wait_for(
        "the v9 info gauge over abci_query",
        Duration::from_secs(30),
        || {
            let node = &node;
            async move {
                let text = node.metrics_text().await;
                (metric(
                    &text,
                    "allora_chain_emissions_version_info",
                    &[("version", "v9")],
                ) == 1.0)
                    .then_some(())
            }
        },
    )
    .await;
    node.terminate();
}

/// A chain serving no emissions package the node speaks: exit 2 at once, with a message
/// naming both sides, and nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_serving_no_supported_version_exits_2_at_once() {
    let dn = devnet_serving(vec![topic(1, EPOCH, WINDOW)], 0).await;
    let sent = record_txs(&dn);
    let src = source().await;
    let mut node = NodeProc::start(&config(&dn, true, &src.addr.to_string()), None);
    let code = node.wait_exit(Duration::from_secs(30));
    let log = node.log_text();
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains("no emissions query service")
            && log.contains("this node supports only emissions.v9 and emissions.v10"),
        "{log}"
    );
    assert!(sent.lock().unwrap().is_empty(), "nothing may be sent");
}

/// `GetEpoch` / `GetTopicEpochs` exist only under `emissions.v10`: against a v9 devnet a
/// client still on v10 gets "Unimplemented" (the v10 service is not mounted), and a client on
/// v9 answers `Served::No` without a round trip (it does so even with the chain unreachable).
/// x/feegrant is not versioned with emissions: a `MsgGrantAllowance` tx lands on the v9
/// chain and the allowance query finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v9_chain_serves_no_epoch_queries_but_fee_grants() {
    let dn = devnet_serving(vec![topic(1, EPOCH, WINDOW)], 9).await;
    let on_v10 =
        ChainClient::new(Endpoints::new(vec![dn.grpc_url()], vec![dn.rpc_url()])).expect("client");
    assert_eq!(on_v10.epoch(1, 10).await.expect("GetEpoch"), Served::No);
    assert_eq!(
        on_v10.topic_epochs(1).await.expect("GetTopicEpochs"),
        Served::No
    );
    let version = on_v10.detect_version().await.expect("detect");
    assert_eq!(version, EmissionsVersion::V9);

    let mut dead = Endpoints::new(vec!["http://127.0.0.1:1".into()], Vec::new());
    dead.call_timeout = Duration::from_millis(500);
    dead.connect_timeout = Duration::from_millis(500);
    let offline_v9 = ChainClient::new(dead)
        .expect("client")
        .with_version(version);
    assert_eq!(
        offline_v9.epoch(1, 10).await.expect("no round trip"),
        Served::No
    );
    assert_eq!(
        offline_v9.topic_epochs(1).await.expect("no round trip"),
        Served::No
    );

    let (granter, grantee) = (address_of(0), address_of(2));
    let chain = client::Client::connect(&dn).await;
    let key = client::TestWallet::from_mnemonic(TEST_MNEMONICS[0]);
    let allowance = BasicAllowance {
        spend_limit: vec![Coin {
            denom: "uallo".into(),
            amount: "1000".into(),
        }],
        expiration: None,
    };
    let msg = MsgGrantAllowance {
        granter: granter.clone(),
        grantee: grantee.clone(),
        allowance: Some(cosmos_sdk_proto::Any {
            type_url: "/cosmos.feegrant.v1beta1.BasicAllowance".into(),
            value: allowance.encode_to_vec(),
        }),
    };
    let any = client::any("/cosmos.feegrant.v1beta1.MsgGrantAllowance", &msg);
    let opts = client::TxOpts {
        fee: Some(4_000_000),
        ..Default::default()
    };
    let r = chain
        .broadcast(chain.build_tx(&key, vec![any], &opts).await)
        .await;
    assert_eq!(r.code, 0, "grant CheckTx on v9: {}", r.raw_log);
    let r = chain.wait_tx(&r.txhash).await;
    assert_eq!(r.code, 0, "grant DeliverTx on v9: {}", r.raw_log);
    assert_eq!(dn.fee_allowance(&granter, &grantee), Some(Some(1000)));
    let on_v9 = on_v10.with_version(version);
    let grant = on_v9
        .fee_allowance(&granter, &grantee)
        .await
        .expect("Allowance query");
    assert!(
        grant.is_some_and(|g| g.grantee == grantee),
        "grant not found"
    );
}
