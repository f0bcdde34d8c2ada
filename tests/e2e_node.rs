//! End to end: the real `allora-node` binary against the in-process devnet on loopback,
//! with real wasm adapters and a real local HTTP source.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

/// Worker + reputer on two topics (one Go-style entrypoint, one adapter block): they register,
/// stake and submit for at least 3 consecutive epochs, the devnet holds every payload, and the
/// seed counters match what the devnet accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_topics_register_stake_and_submit_for_three_epochs() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW), topic(2, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(0);
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "worker": [
            { "topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/{{Token}}"), "Token": "ETH" } },
            { "topicId": 2, "loopSeconds": 1, "parameters": { "Token": "BTC",
                "InferenceEndpoint": format!("http://{host}/inference/{{Token}}") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ],
        "reputer": [
            { "topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
              "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 1, "minStake": 20000,
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"), "Token": "ETH" },
              "lossFunctionParameters": { "LossMethodOptions": { "loss_method": "sqe" } } },
            { "topicId": 2, "loopSeconds": 1, "minStake": 15000,
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"), "Token": "BTC" },
              "groundTruthAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let mut node = NodeProc::start(&config, None);

    let horizon = Duration::from_secs(90);
    wait_for(
        "3 consecutive worker and reputer epochs on both topics",
        horizon,
        || {
            let h = dn.height();
            let ok = [1u64, 2].iter().all(|t| {
                has_consecutive(
                    &worker_nonces_with_payload(&dn, *t, &me, h, EPOCH),
                    EPOCH,
                    3,
                ) && has_consecutive(
                    &reputer_nonces_with_payload(&dn, *t, &me, h, EPOCH),
                    EPOCH,
                    3,
                )
            });
            async move { ok.then_some(()) }
        },
    )
    .await;

    assert!(dn.is_worker_registered(1, &me) && dn.is_worker_registered(2, &me));
    assert!(dn.is_reputer_registered(1, &me) && dn.is_reputer_registered(2, &me));
    assert_eq!(
        dn.stake(1, &me),
        20000,
        "stake topped up exactly to minStake"
    );
    assert_eq!(dn.stake(2, &me), 15000);

    // Every reputer bundle the devnet accepted is fully signed and carries the losses.
    let h = dn.height();
    for n in reputer_nonces_with_payload(&dn, 1, &me, h, EPOCH) {
        let b = dn.reputer_payloads(1, n);
        let vb = b
            .iter()
            .find_map(|b| b.value_bundle.as_ref().filter(|v| v.reputer == me))
            .unwrap();
        assert!(!vb.combined_value.is_empty() && !vb.naive_value.is_empty());
        assert!(vb.inferer_values.iter().any(|v| v.worker == me));
    }

    // The seed counters match the devnet (wait for an in-flight inclusion to settle).
    wait_for(
        "metrics to match the devnet",
        Duration::from_secs(20),
        || {
            let dn = &dn;
            let me = &me;
            let node = &node;
            async move {
                let text = node.metrics_text().await;
                let h = dn.height();
                let ok = [1u64, 2].iter().all(|t| {
                    let topic = t.to_string();
                    let w = worker_nonces_with_payload(dn, *t, me, h, EPOCH).len() as f64;
                    let r = reputer_nonces_with_payload(dn, *t, me, h, EPOCH).len() as f64;
                    let labels = [("address", me.as_str()), ("topic", topic.as_str())];
                    metric(&text, "allora_worker_chain_submission_count", &labels) == w
                        && metric(&text, "allora_reputer_chain_submission_count", &labels) == r
                        && metric(&text, "allora_worker_inference_request_count", &labels) >= w
                        && metric(&text, "allora_worker_data_build_count", &labels) >= w
                        && metric(&text, "allora_reputer_truth_request_count", &labels) >= r
                        && metric(&text, "allora_reputer_data_build_count", &labels) >= r
                });
                ok.then_some(())
            }
        },
    )
    .await;
    let text = node.metrics_text().await;
    assert!(
        metric(
            &text,
            "allora_adapter_call_seconds_count",
            &[("role", "inference")]
        ) > 0.0
    );
    assert!(
        metric(
            &text,
            "allora_submission_latency_seconds_count",
            &[("role", "worker")]
        ) > 0.0
    );
    assert!(metric(&text, "allora_wallet_balance_uallo", &[("address", &me)]) >= 0.0);
    assert_eq!(
        metric(
            &text,
            "allora_endpoint_up",
            &[("kind", "grpc"), ("endpoint", &dn.grpc_url())]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "allora_endpoint_up",
            &[("kind", "rpc"), ("endpoint", &dn.rpc_url())]
        ),
        1.0
    );
    let ready = reqwest::get(format!("http://{}/ready", node.metrics))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    assert_eq!(
        node.terminate(),
        Some(0),
        "graceful exit on SIGTERM\n{}",
        node.log_text()
    );
    dn.shutdown().await;
}

/// An adapter that hangs on topic 1 does not delay topic 2's submissions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_adapter_on_one_topic_does_not_delay_the_other() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW), topic(2, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(1);
    let config = json!({
        "wallet": wallet_json(&dn, 1, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "inferenceAdapter": adapter("hostile.wasm", &[], BTreeMap::from([("mode", "loop")]), 60000) },
            { "topicId": 2, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/BTC") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let node = NodeProc::start(&config, None);
    wait_for(
        "topic 2 to submit in 3 consecutive epochs",
        Duration::from_secs(60),
        || {
            let h = dn.height();
            let ok = has_consecutive(&worker_nonces_with_payload(&dn, 2, &me, h, EPOCH), EPOCH, 3);
            async move { ok.then_some(()) }
        },
    )
    .await;
    let h = dn.height();
    assert!(worker_nonces_with_payload(&dn, 1, &me, h, EPOCH).is_empty());
    wait_for(
        "the hung call to be cut off and counted",
        Duration::from_secs(30),
        || {
            let node = &node;
            async move {
                let text = node.metrics_text().await;
                (metric(
                    &text,
                    "allora_adapter_failures_total",
                    &[("topic", "1"), ("role", "inference")],
                ) > 0.0)
                    .then_some(())
            }
        },
    )
    .await;
    dn.shutdown().await;
}

/// A restart in the middle of an epoch does not submit the same nonce twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_epoch_does_not_double_submit() {
    // A long window so the restart lands inside the same window.
    let epoch = 20;
    let dn = devnet(vec![topic(1, epoch, 15)]).await;
    let txs = record_txs(&dn);
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(2);
    let home = tempfile::tempdir().unwrap();
    let config = json!({
        "wallet": wallet_json(&dn, 2, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let mut first = NodeProc::start(&config, Some(home.path()));
    let nonce = wait_for("a first worker payload", Duration::from_secs(60), || {
        let h = dn.height();
        let n = worker_nonces_with_payload(&dn, 1, &me, h, epoch)
            .first()
            .copied();
        async move { n }
    })
    .await;
    assert_eq!(first.terminate(), Some(0), "{}", first.log_text());
    // Still inside nonce's window: the restarted node sees it open again.
    assert!(dn.height() < nonce + 15, "restart must happen mid-window");
    let second = NodeProc::start(&config, Some(home.path()));
    wait_for(
        "the next epoch's payload after restart",
        Duration::from_secs(60),
        || {
            let h = dn.height();
            let ok = worker_nonces_with_payload(&dn, 1, &me, h, epoch).contains(&(nonce + epoch));
            async move { ok.then_some(()) }
        },
    )
    .await;
    let sent: Vec<_> = txs
        .lock()
        .unwrap()
        .iter()
        .filter(|(url, _, n, s)| {
            url.ends_with("InsertWorkerPayloadRequest") && *n == nonce && *s == me
        })
        .cloned()
        .collect();
    assert_eq!(
        sent.len(),
        1,
        "exactly one payload tx for nonce {nonce}: {sent:?}"
    );
    let text = second.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "allora_submissions_total",
            &[("outcome", "already_submitted")]
        ),
        0.0
    );
    dn.shutdown().await;
}

/// `submitTx: false` builds, signs and logs everything, and broadcasts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_broadcasts_nothing() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(3);
    let balance = dn.balance(&me);
    let config = json!({
        "wallet": wallet_json(&dn, 3, false),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ],
        "reputer": [
            { "topicId": 1, "loopSeconds": 1, "minStake": 20000, "lossMethod": "sqe",
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/ETH/{{BlockHeight}}") },
              "groundTruthAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    });
    let node = NodeProc::start(&config, None);
    wait_for(
        "two dry-run worker payloads built and signed",
        Duration::from_secs(60),
        || {
            let node = &node;
            let me = &me;
            async move {
                let text = node.metrics_text().await;
                (metric(
                    &text,
                    "allora_worker_data_build_count",
                    &[("address", me), ("topic", "1")],
                ) >= 2.0)
                    .then_some(())
            }
        },
    )
    .await;
    let log = node.log_text();
    assert!(log.contains("would send Register"), "{log}");
    assert!(log.contains("would send InsertWorkerPayload"), "{log}");
    assert!(!dn.is_worker_registered(1, &me));
    assert!(!dn.is_reputer_registered(1, &me));
    assert_eq!(dn.stake(1, &me), 0);
    assert_eq!(dn.balance(&me), balance, "no fees paid");
    assert_eq!(
        dn.account(&me).map(|a| a.1).unwrap_or(0),
        0,
        "no tx ever signed"
    );
    dn.shutdown().await;
}

/// A config written for the Go node (its field names only, Go-only timing knobs included,
/// no `node` section, `api-worker-reputer` entrypoints) runs unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_node_config_runs_unchanged() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr;
    let me = address_of(4);
    let config = json!({
        "wallet": {
            "addressKeyName": "worker-go",
            "addressRestoreMnemonic": allora_devnet::TEST_MNEMONICS[4],
            "alloraHomeDir": "",
            "gas": "auto",
            "gasAdjustment": 1.5,
            "nodeRpc": dn.rpc_url(),
            "nodeGrpcs": [dn.grpc_url()],
            "maxRetries": 1,
            "retryDelay": 1,
            "accountSequenceRetryDelay": 1,
            "submitTx": true,
            "chainId": dn.chain_id(),
            "blockDurationEstimated": 5,
            "windowCorrectionFactor": 0.8
        },
        "worker": [{
            "topicId": 1,
            "inferenceEntrypointName": "api-worker-reputer",
            "loopSeconds": 1,
            "parameters": { "InferenceEndpoint": format!("http://{host}/inference/{{Token}}"), "Token": "ETH" }
        }],
        "reputer": [{
            "topicId": 1,
            "groundTruthEntrypointName": "api-worker-reputer",
            "lossFunctionEntrypointName": "api-worker-reputer",
            "loopSeconds": 1,
            "minStake": 10000,
            "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/{{Token}}/{{BlockHeight}}"), "Token": "ETH" },
            "lossFunctionParameters": { "LossFunctionService": "http://127.0.0.1:1", "LossMethodOptions": { "loss_method": "sqe" } }
        }]
    });
    let _node = NodeProc::start(&config, None);
    wait_for(
        "a worker and a reputer payload from the Go-style config",
        Duration::from_secs(60),
        || {
            let h = dn.height();
            let ok = !worker_nonces_with_payload(&dn, 1, &me, h, EPOCH).is_empty()
                && !reputer_nonces_with_payload(&dn, 1, &me, h, EPOCH).is_empty();
            async move { ok.then_some(()) }
        },
    )
    .await;
    assert_eq!(dn.stake(1, &me), 10000);
    dn.shutdown().await;
}

/// The seed's wallet shape — `nodeRpc` only, no `nodeGrpcs` — passes `config validate` and
/// runs: every query, simulate and broadcast goes over CometBFT RPC, and payloads land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_wallet_with_only_node_rpc_submits() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let src = source().await;
    let host = src.addr;
    let me = address_of(3);
    let config = json!({
        "wallet": {
            "addressKeyName": "worker-seed",
            "addressRestoreMnemonic": allora_devnet::TEST_MNEMONICS[3],
            "alloraHomeDir": "",
            "gas": "auto",
            "gasAdjustment": 1.5,
            "nodeRpc": dn.rpc_url(),
            "maxRetries": 1,
            "retryDelay": 1,
            "accountSequenceRetryDelay": 1,
            "submitTx": true,
            "chainId": dn.chain_id()
        },
        "worker": [{
            "topicId": 1,
            "inferenceEntrypointName": "api-worker-reputer",
            "loopSeconds": 1,
            "parameters": { "InferenceEndpoint": format!("http://{host}/inference/{{Token}}"), "Token": "ETH" }
        }]
    });
    let node = NodeProc::start(&config, None);
    wait_for(
        "a worker payload from a nodeRpc-only wallet",
        Duration::from_secs(60),
        || {
            let h = dn.height();
            let ok = !worker_nonces_with_payload(&dn, 1, &me, h, EPOCH).is_empty();
            async move { ok.then_some(()) }
        },
    )
    .await;
    assert!(
        !node.log_text().contains("no gRPC endpoint configured"),
        "{}",
        node.log_text()
    );
    dn.shutdown().await;
}
