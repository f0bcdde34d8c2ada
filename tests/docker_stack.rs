//! The Docker tier's assertions, against a running compose stack (docker-compose.yml +
//! deploy/compose.devnet.yml). Ignored by default: `scripts/test-docker` builds the image,
//! brings the stack up and runs these with `--ignored`, passing where the stack listens:
//! `ALLORA_DOCKER_RPC` (the devnet's CometBFT RPC), `ALLORA_DOCKER_METRICS` (the node's
//! metrics port), `ALLORA_DOCKER_PROMETHEUS`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
use prost::Message;
use serde_json::Value as Json;
use sha2::Digest;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_url(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run this through scripts/test-docker"))
        .trim_end_matches('/')
        .to_string()
}

/// The node's address: the key file the devnet override mounts (wallet.mnemonicFile).
fn node_address() -> String {
    let phrase = std::fs::read_to_string(repo().join("deploy/devnet/test-mnemonic.txt"))
        .expect("deploy/devnet/test-mnemonic.txt");
    allora_chain_client::keys::Wallet::from_mnemonic(phrase.trim())
        .expect("devnet test mnemonic")
        .address()
        .to_string()
}

async fn get_json(url: &str) -> Option<Json> {
    let r = reqwest::get(url).await.ok()?;
    r.json::<Json>().await.ok()
}

/// Polls `f` every second until it returns `Some`, or panics after `timeout` with `what`
/// and the last state `f` reported.
async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return v,
            Err(state) => assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}; last state: {state}"
            ),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One delivered payload tx seen in a devnet block: (role, topic, result code).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Payload {
    role: &'static str,
    topic: u64,
    code: i64,
}

/// Every worker/reputer payload from `sender` in blocks `from..=to`, with the devnet's verdict
/// (the `tx` result code) for the tx that carried it.
async fn payloads_in_blocks(rpc: &str, sender: &str, from: i64, to: i64) -> Vec<Payload> {
    use allora_protocol::proto::emissions::v10;
    let mut out = Vec::new();
    for h in from..=to {
        let Some(block) = get_json(&format!("{rpc}/block?height={h}")).await else {
            continue;
        };
        let txs = block["result"]["block"]["data"]["txs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for tx in txs {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(tx.as_str().unwrap_or_default())
                .expect("block tx is base64");
            let raw = TxRaw::decode(bytes.as_slice()).expect("TxRaw");
            let body = TxBody::decode(raw.body_bytes.as_slice()).expect("TxBody");
            let mut found = Vec::new();
            for any in &body.messages {
                if any.type_url.ends_with("InsertWorkerPayloadRequest") {
                    let m = v10::InsertWorkerPayloadRequest::decode(any.value.as_slice())
                        .expect("InsertWorkerPayloadRequest");
                    if m.sender == sender {
                        let topic = m.worker_data_bundle.map(|b| b.topic_id).unwrap_or(0);
                        found.push(("worker", topic));
                    }
                } else if any.type_url.ends_with("InsertReputerPayloadRequest") {
                    let m = v10::InsertReputerPayloadRequest::decode(any.value.as_slice())
                        .expect("InsertReputerPayloadRequest");
                    if m.sender == sender {
                        let topic = m
                            .reputer_value_bundle
                            .and_then(|b| b.value_bundle)
                            .map(|v| v.topic_id)
                            .unwrap_or(0);
                        found.push(("reputer", topic));
                    }
                }
            }
            if found.is_empty() {
                continue;
            }
            let hash = hex::encode_upper(sha2::Sha256::digest(&bytes));
            let result = get_json(&format!("{rpc}/tx?hash=0x{hash}"))
                .await
                .unwrap_or_default();
            let code = result["result"]["tx_result"]["code"].as_i64().unwrap_or(-1);
            out.extend(
                found
                    .into_iter()
                    .map(|(role, topic)| Payload { role, topic, code }),
            );
        }
    }
    out
}

#[tokio::test]
#[ignore = "needs the compose stack: run by scripts/test-docker"]
async fn worker_and_reputer_payloads_from_the_container_are_included_on_the_devnet() {
    let rpc = env_url("ALLORA_DOCKER_RPC");
    let me = node_address();
    let want: BTreeSet<(&str, u64)> =
        [("worker", 1), ("worker", 2), ("reputer", 1), ("reputer", 2)]
            .into_iter()
            .collect();
    let timeout = Duration::from_secs(240);
    let start = Instant::now();
    // Every block is read once, as the chain grows.
    let mut seen: Vec<Payload> = Vec::new();
    let mut next = 1i64;
    loop {
        if let Some(status) = get_json(&format!("{rpc}/status")).await
            && let Some(latest) = status["result"]["sync_info"]["latest_block_height"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
            && latest >= next
        {
            seen.extend(payloads_in_blocks(&rpc, &me, next, latest).await);
            next = latest + 1;
        }
        let included: BTreeSet<(&str, u64)> = seen
            .iter()
            .filter(|p| p.code == 0)
            .map(|p| (p.role, p.topic))
            .collect();
        if want.is_subset(&included) {
            break;
        }
        assert!(
            start.elapsed() < timeout,
            "after {timeout:?} (devnet height {}), payloads from {me} included: {included:?}, want {want:?}; all seen: {seen:?}",
            next - 1
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test]
#[ignore = "needs the compose stack: run by scripts/test-docker"]
async fn prometheus_scrapes_the_node_container() {
    let prom = env_url("ALLORA_DOCKER_PROMETHEUS");
    let query = |q: &str| {
        format!(
            "{prom}/api/v1/query?query={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        )
    };
    let up = query(r#"up{job="allora-node"}"#);
    wait_for(
        "Prometheus: up{job=\"allora-node\"} == 1",
        Duration::from_secs(120),
        || {
            let up = up.clone();
            async move {
                let r = get_json(&up).await.ok_or("prometheus not answering")?;
                let v = r["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(str::to_string);
                (v.as_deref() == Some("1"))
                    .then_some(())
                    .ok_or_else(|| format!("{r}"))
            }
        },
    )
    .await;
    // A node metric, scraped from the container, with the node's labels.
    let sub = query("allora_worker_chain_submission_count");
    wait_for(
        "Prometheus to hold allora_worker_chain_submission_count",
        Duration::from_secs(180),
        || {
            let sub = sub.clone();
            async move {
                let r = get_json(&sub).await.ok_or("prometheus not answering")?;
                let ok = r["data"]["result"].as_array().is_some_and(|a| {
                    a.iter().any(|s| {
                        s["metric"]["job"] == "allora-node"
                            && s["metric"]["address"].as_str().is_some()
                            && s["value"][1]
                                .as_str()
                                .and_then(|v| v.parse::<f64>().ok())
                                .is_some_and(|v| v >= 1.0)
                    })
                });
                ok.then_some(()).ok_or_else(|| format!("{r}"))
            }
        },
    )
    .await;
}

/// Metrics that a healthy run of deploy/devnet/config.json never creates a sample for: the
/// Prometheus client exports a labelled family only after its first observation. Each must
/// still be registered by the node (checked statically in tests/packaging.rs).
const ONLY_AFTER_AN_EVENT: &[(&str, &str)] = &[
    (
        "allora_worker_forecast_request_count",
        "the devnet config has no forecaster",
    ),
    ("allora_adapter_failures_total", "no adapter call fails"),
    ("allora_tx_errors_total", "no tx fails"),
];

#[tokio::test]
#[ignore = "needs the compose stack: run by scripts/test-docker"]
async fn every_grafana_query_names_a_metric_the_live_node_exports() {
    let metrics = env_url("ALLORA_DOCKER_METRICS");
    // Wait until the node has submitted, so the submission and latency families exist.
    let text = wait_for(
        "the node container's /metrics with a submission",
        Duration::from_secs(180),
        || {
            let url = format!("{metrics}/metrics");
            async move {
                let t = reqwest::get(&url)
                    .await
                    .map_err(|e| e.to_string())?
                    .text()
                    .await
                    .map_err(|e| e.to_string())?;
                let ready = t.lines().any(|l| {
                    l.starts_with("allora_reputer_chain_submission_count{") && !l.ends_with(" 0")
                }) && t.contains("allora_submission_latency_seconds_bucket");
                ready
                    .then_some(t.clone())
                    .ok_or(format!("{} bytes", t.len()))
            }
        },
    )
    .await;
    let live: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_string))
        .collect();
    let dash: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/dashboards/allora-node.json"))
            .expect("dashboard"),
    )
    .expect("dashboard JSON loads");
    let mut missing = Vec::new();
    let mut checked = 0;
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default();
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("allora_"))
            {
                checked += 1;
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                let excused = ONLY_AFTER_AN_EVENT
                    .iter()
                    .any(|(m, _)| *m == family || *m == name);
                if !live.contains(name) && !excused {
                    missing.push(format!("panel {}: {name}", p["title"]));
                }
            }
        }
    }
    assert!(checked > 0, "no queries in the dashboard");
    assert!(
        missing.is_empty(),
        "dashboard queries name metrics the live node does not export: {missing:?}\nlive: {live:?}"
    );
    // The excused ones are excused for the stated reason only: nothing else is absent.
    for (m, why) in ONLY_AFTER_AN_EVENT {
        if live.contains(*m) {
            eprintln!("note: {m} is live although {why}");
        }
    }
}
