//! End to end with standard `wasi:http`: the real `allora-node` binary against the devnet,
//! with the JavaScript `fetch()` adapter (`adapters-wasm/js-fetch`) as a worker's inference,
//! fetching a price series from a loopback source this test serves. The devnet must record the
//! worker's payload carrying the adapter's value; a second topic whose adapter is not allowed
//! to reach that source must submit nothing and log the refusal.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::*;
use serde_json::json;

const EPOCH: i64 = 10;
const WINDOW: i64 = 5;

/// The series served; the adapter returns the mean of the last `Window` = 3 prices.
const PRICES: [f64; 6] = [100.0, 102.0, 104.0, 106.0, 108.0, 113.0];
const EXPECTED: f64 = (106.0 + 108.0 + 113.0) / 3.0;

/// A loopback price source: `/series/{token}` → `{"prices": [...]}`, counting requests.
async fn series_source() -> (std::net::SocketAddr, Arc<Mutex<u64>>) {
    use axum::extract::{Path, State};
    use axum::routing::get;
    let calls: Arc<Mutex<u64>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/series/{token}",
            get(
                |State(c): State<Arc<Mutex<u64>>>, Path(token): Path<String>| async move {
                    *c.lock().unwrap() += 1;
                    assert_eq!(token, "ETH");
                    axum::Json(json!({ "prices": PRICES }))
                },
            ),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, calls)
}

/// The inference value the devnet holds from `addr` for `topic` at `nonce`, if any.
fn recorded_value(
    dn: &allora_devnet::DevnetHandle,
    topic: u64,
    nonce: i64,
    addr: &str,
) -> Option<String> {
    dn.worker_payloads(topic, nonce)
        .into_iter()
        .filter(|b| b.worker == addr)
        .find_map(|b| {
            let inference = b.inference_forecasts_bundle?.inference?;
            inference.values.into_iter().next().map(|v| v.value)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_fetch_adapter_submits_the_fetched_value() {
    let dn = devnet(vec![topic(1, EPOCH, WINDOW), topic(2, EPOCH, WINDOW)]).await;
    let (src, calls) = series_source().await;
    let host = src.to_string();
    let me = address_of(0);
    let endpoint = format!("http://{host}/series/{{Token}}");
    let config = json!({
        "wallet": wallet_json(&dn, 0, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "PriceEndpoint": endpoint, "Token": "ETH", "Window": "3" },
              "inferenceAdapter": adapter("js_fetch.wasm", &[host.as_str()], BTreeMap::new(), 10_000) },
            // Same adapter and source, but the source is not in this adapter's allowedHosts.
            { "topicId": 2, "loopSeconds": 1,
              "parameters": { "PriceEndpoint": endpoint, "Token": "ETH", "Window": "3" },
              "inferenceAdapter": adapter("js_fetch.wasm", &["prices.example.com:443"], BTreeMap::new(), 10_000) }
        ]
    });
    let node = NodeProc::start(&config, None);

    // Compiling the 12 MB StarlingMonkey component takes a while on a busy machine.
    let (nonce, value) = wait_for(
        "a worker payload from the js-fetch adapter on topic 1",
        Duration::from_secs(240),
        || {
            let h = dn.height();
            let found = worker_nonces_with_payload(&dn, 1, &me, h, EPOCH)
                .into_iter()
                .find_map(|n| recorded_value(&dn, 1, n, &me).map(|v| (n, v)));
            async move { found }
        },
    )
    .await;
    let got: f64 = value.parse().unwrap_or(f64::NAN);
    assert!(
        (got - EXPECTED).abs() < 1e-9,
        "nonce {nonce}: recorded {value}, expected {EXPECTED}\n{}",
        node.log_text()
    );
    assert!(*calls.lock().unwrap() >= 1, "the source was never fetched");

    // Topic 2's fetch was refused by the allowlist: nothing submitted, the refusal logged.
    wait_for(
        "the wasi:http refusal of topic 2 in the node's log",
        Duration::from_secs(60),
        || {
            let log = node.log_text();
            let ok = log.contains("wasi:http denied")
                && log.contains("not in the adapter's allowedHosts");
            async move { ok.then_some(()) }
        },
    )
    .await;
    let h = dn.height();
    assert!(
        worker_nonces_with_payload(&dn, 2, &me, h, EPOCH).is_empty(),
        "topic 2 must not submit without access to its source"
    );
}
