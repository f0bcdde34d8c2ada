//! End to end: the real `allora-node` binary detects which emissions package the chain
//! serves and speaks it. A devnet serving only `emissions.v9` (allora-chain v0.16.0) and one
//! serving only `emissions.v10` (v0.17.0) each receive worker and reputer payloads for two
//! consecutive epochs under their own Msg type URLs; a chain serving neither makes the node
//! exit 2 at once, naming what the chain serves and what the node supports.

#[path = "support/node_harness.rs"]
mod harness;

use std::time::Duration;

use harness::*;
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
