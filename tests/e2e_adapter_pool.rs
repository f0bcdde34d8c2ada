//! End to end (issue 11): the real `allora-node` binary against the devnet with a small
//! instance pool (`node.adapterInstances: 2`) and one adapter block opted into `warm`.
//! The hostile adapter's `count` mode returns a guest global counting the calls its instance
//! served, and that value is what the devnet records: on the warm topic it grows from epoch
//! to epoch (one instance kept), on the other topic it is always 1 (fresh instance per call).
//! `/metrics` exports the pool's gauges.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

/// The first inference value the devnet holds from `addr` for `topic` at `nonce`, if any.
fn recorded(dn: &allora_devnet::DevnetHandle, topic: u64, nonce: i64, addr: &str) -> Option<f64> {
    dn.worker_payloads(topic, nonce)
        .into_iter()
        .filter(|b| b.worker == addr)
        .find_map(|b| {
            let inference = b.inference_forecasts_bundle?.inference?;
            inference.values.into_iter().next().map(|v| v.value)
        })
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_topic_keeps_its_instance_and_the_pool_gauges_are_exported() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW), topic(2, EPOCH, WINDOW)]).await;
    let me = address_of(0);
    let count = BTreeMap::from([("mode", "count")]);
    let mut warm = adapter("hostile.wasm", &[], count.clone(), 3000);
    warm["warm"] = json!({ "maxCalls": 1000, "maxMemoryMb": 32 });
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "node": { "adapterInstances": 2 },
        "worker": [
            { "topicId": 1, "loopSeconds": 1, "inferenceAdapter": warm },
            { "topicId": 2, "loopSeconds": 1,
              "inferenceAdapter": adapter("hostile.wasm", &[], count, 3000) }
        ]
    });
    let node = NodeProc::start(&config, None);

    let values = |t: u64| {
        let h = dn.height();
        worker_nonces_with_payload(&dn, t, &me, h, EPOCH)
            .into_iter()
            .filter_map(|n| recorded(&dn, t, n, &me))
            .collect::<Vec<f64>>()
    };
    wait_for(
        "3 worker payloads on both topics",
        Duration::from_secs(120),
        || {
            let ok = values(1).len() >= 3 && values(2).len() >= 3;
            async move { ok.then_some(()) }
        },
    )
    .await;
    let warm_values = values(1);
    let fresh_values = values(2);
    assert!(
        warm_values.windows(2).all(|w| w[1] > w[0]) && warm_values.last() > Some(&2.0),
        "the warm topic's counter grows across epochs: {warm_values:?}\n{}",
        node.log_text()
    );
    assert!(
        fresh_values.iter().all(|v| *v == 1.0),
        "the other topic gets a fresh instance per call: {fresh_values:?}"
    );

    let text = node.metrics_text().await;
    assert_eq!(
        metric(&text, "allora_adapter_instance_slots", &[]),
        2.0,
        "{text}"
    );
    // Topic 1's idle warm instance stays alive between its calls, holding linear memory.
    let live = metric(&text, "allora_adapter_instances_live", &[]);
    assert!((1.0..=2.0).contains(&live), "live instances {live}\n{text}");
    assert!(
        metric(&text, "allora_adapter_linear_memory_bytes", &[]) > 0.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, "allora_adapter_queue_timeouts_total", &[]),
        0.0
    );
}
