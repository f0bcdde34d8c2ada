//! Exactly once across crashes and restarts (issue #10): the real `allora-node` binary
//! against the devnet, killed (SIGKILL) or stopped (SIGTERM) at the worst moments and
//! restarted on the same data dir. Every assertion is on what the chain recorded (the
//! devnet's state and the txs in its blocks) or on what reached its servers; the node's log
//! is only used to know that a restarted node has made its decision.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allora_devnet::DevnetHandle;
use allora_protocol::proto::emissions::v10;
use harness::*;
use prost::Message;
use serde_json::json;

/// One tx in a block: (message type URLs, DeliverTx code, hash, worker-payload nonce).
#[derive(Debug, Clone)]
struct InBlock {
    type_urls: Vec<String>,
    code: u32,
    hash: String,
    nonce: Option<i64>,
}

type Blocks = Arc<Mutex<Vec<InBlock>>>;

/// Records every tx the devnet puts in a block (successful or failed).
fn record_blocks(dn: &DevnetHandle) -> Blocks {
    let seen: Blocks = Arc::default();
    let out = seen.clone();
    let mut rx = dn.subscribe_blocks();
    tokio::spawn(async move {
        while let Ok(notice) = rx.recv().await {
            for rec in &notice.txs {
                let body = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(rec.tx.as_slice())
                    .ok()
                    .and_then(|raw| {
                        cosmos_sdk_proto::cosmos::tx::v1beta1::TxBody::decode(
                            raw.body_bytes.as_slice(),
                        )
                        .ok()
                    });
                let Some(body) = body else { continue };
                let nonce = body.messages.iter().find_map(|m| {
                    v10::InsertWorkerPayloadRequest::decode(m.value.as_slice())
                        .ok()
                        .filter(|_| m.type_url.ends_with("InsertWorkerPayloadRequest"))
                        .and_then(|p| p.worker_data_bundle?.nonce)
                        .map(|n| n.block_height)
                });
                out.lock().unwrap().push(InBlock {
                    type_urls: body.messages.iter().map(|m| m.type_url.clone()).collect(),
                    code: rec.code,
                    hash: rec.hash.clone(),
                    nonce,
                });
            }
        }
    });
    seen
}

/// Included txs carrying a message whose type URL ends with `suffix`.
fn carrying(blocks: &Blocks, suffix: &str) -> Vec<InBlock> {
    blocks
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.type_urls.iter().any(|u| u.ends_with(suffix)))
        .cloned()
        .collect()
}

/// SIGKILL: no shutdown path runs, nothing is flushed.
fn sigkill(node: &mut NodeProc) {
    let pid = node.pid();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    node.wait_exit(Duration::from_secs(10));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} is gone after SIGKILL"
    );
}

/// The intent recorded under `key` in the node's ledger file (anywhere under `home`).
fn ledger_intent(home: &Path, address: &str, key: &str) -> Option<serde_json::Value> {
    let name = format!("ledger-{address}.json");
    let mut dirs = vec![home.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.file_name().is_some_and(|n| n == name.as_str()) {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
                let chains = v.get("chains")?.as_object()?;
                return chains
                    .values()
                    .find_map(|b| b.get("intents")?.get(key).cloned());
            }
        }
    }
    None
}

async fn wait_log(node: &NodeProc, needle: &str, timeout: Duration) {
    wait_for(&format!("log line {needle:?}"), timeout, || {
        let ok = node.log_text().contains(needle);
        async move { ok.then_some(()) }
    })
    .await;
}

fn worker_config(
    dn: &DevnetHandle,
    account: usize,
    host: &str,
    timeout_ms: u64,
) -> serde_json::Value {
    json!({
        "wallet": wallet_json(dn, account, true),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host], BTreeMap::new(), timeout_ms) }
        ]
    })
}

/// SIGKILL between broadcast and ledger write: the payload tx is accepted and included,
/// but its answer is held, so the node dies before it can settle the nonce. The restarted
/// node sends the payload again; the chain refuses it at simulate ("already submitted",
/// no tx, no fee) and the node settles the nonce. Exactly one payload and one included tx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_broadcast_and_ledger_write_then_restart_is_exactly_once() {
    let (epoch, window) = (30, 25);
    let dn = devnet(vec![topic(1, epoch, window)]).await;
    let blocks = record_blocks(&dn);
    let faults = dn.faults();
    faults.hold_broadcasts("InsertWorkerPayloadRequest");
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(1);
    let home = tempfile::tempdir().unwrap();
    let config = worker_config(&dn, 1, &host, 3000);
    let mut first = NodeProc::start(&config, Some(home.path()));
    // The payload tx is in a block, and the node still waits for the broadcast answer.
    let (hash, nonce) = wait_for(
        "a held payload tx included",
        Duration::from_secs(60),
        || {
            let held = faults.held_broadcasts().first().cloned();
            let found = held.and_then(|h| {
                let rec = dn.tx_result(&h)?;
                assert!(rec.accepted(), "payload tx failed: {}", rec.log);
                let nonce = carrying(&blocks, "InsertWorkerPayloadRequest")
                    .into_iter()
                    .find(|t| t.hash == h)?
                    .nonce?;
                Some((h, nonce))
            });
            async move { found }
        },
    )
    .await;
    sigkill(&mut first);
    faults.stop_holding_broadcasts();
    assert!(
        dn.height() < nonce + window,
        "restart must happen inside the window"
    );
    let second = NodeProc::start(&config, Some(home.path()));
    let second_ref = &second;
    wait_for(
        "the restarted node to settle the nonce as already submitted",
        Duration::from_secs(30),
        move || async move {
            let text = second_ref.metrics_text().await;
            (metric(
                &text,
                "allora_submissions_total",
                &[("outcome", "already_submitted")],
            ) >= 1.0)
                .then_some(())
        },
    )
    .await;
    // It keeps working: the next epoch's payload lands.
    wait_for("the next epoch's payload", Duration::from_secs(60), || {
        let ok =
            worker_nonces_with_payload(&dn, 1, &me, dn.height(), epoch).contains(&(nonce + epoch));
        async move { ok.then_some(()) }
    })
    .await;
    let for_nonce: Vec<InBlock> = carrying(&blocks, "InsertWorkerPayloadRequest")
        .into_iter()
        .filter(|t| t.nonce == Some(nonce))
        .collect();
    assert_eq!(
        for_nonce.len(),
        1,
        "one included tx carries nonce {nonce}: {for_nonce:?}"
    );
    assert_eq!(for_nonce[0].hash, hash);
    let payloads: Vec<_> = dn
        .worker_payloads(1, nonce)
        .into_iter()
        .filter(|b| b.worker == me)
        .collect();
    assert_eq!(payloads.len(), 1, "exactly one payload for nonce {nonce}");
    let text = second.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "allora_submissions_total",
            &[("outcome", "already_submitted")]
        ),
        1.0,
        "the restarted node re-sent once and the chain refused it before inclusion"
    );
    dn.shutdown().await;
}

/// A loopback price source whose answers can be held: the adapter call is in flight for as
/// long as the test wants.
struct SlowSource {
    addr: std::net::SocketAddr,
    started: Arc<AtomicU64>,
    slow: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SlowSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn slow_source() -> SlowSource {
    use axum::extract::State;
    use axum::routing::get;
    type St = (Arc<AtomicU64>, Arc<AtomicBool>);
    let started: Arc<AtomicU64> = Arc::default();
    let slow = Arc::new(AtomicBool::new(true));
    let app = axum::Router::new()
        .route(
            "/inference/{token}",
            get(|State((started, slow)): State<St>| async move {
                started.fetch_add(1, Ordering::SeqCst);
                // While slow, answer only after 60 s (the caller is gone by then).
                for _ in 0..600 {
                    if !slow.load(Ordering::SeqCst) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                "3001.25"
            }),
        )
        .with_state((started.clone(), slow.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    SlowSource {
        addr,
        started,
        slow,
        task,
    }
}

/// SIGTERM while the adapter is waiting for its source, the window still open: the node
/// stops without settling the nonce, and the restarted node submits it inside its window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_adapter_call_then_restart_submits_in_the_window() {
    let (epoch, window) = (30, 25);
    let dn = devnet(vec![topic(1, epoch, window)]).await;
    let src = slow_source().await;
    let host = src.addr.to_string();
    let me = address_of(2);
    let home = tempfile::tempdir().unwrap();
    let config = worker_config(&dn, 2, &host, 20_000);
    let mut first = NodeProc::start(&config, Some(home.path()));
    wait_for(
        "an adapter call waiting on the source",
        Duration::from_secs(60),
        || {
            let ok = src.started.load(Ordering::SeqCst) >= 1;
            async move { ok.then_some(()) }
        },
    )
    .await;
    let h = dn.height();
    let nonce = h / epoch * epoch;
    assert!(
        nonce > 0 && h < nonce + window,
        "nonce {nonce} open at height {h}"
    );
    assert_eq!(first.terminate(), Some(0), "{}", first.log_text());
    assert!(
        worker_nonces_with_payload(&dn, 1, &me, dn.height(), epoch).is_empty(),
        "nothing was submitted before the restart"
    );
    src.slow.store(false, Ordering::SeqCst);
    let _second = NodeProc::start(&config, Some(home.path()));
    // The chain accepts a payload only inside its window: its presence is the proof.
    wait_for(
        "the interrupted nonce's payload after restart",
        Duration::from_secs(30),
        || {
            let ok = worker_nonces_with_payload(&dn, 1, &me, dn.height(), epoch).contains(&nonce);
            async move { ok.then_some(()) }
        },
    )
    .await;
    dn.shutdown().await;
}

/// Reputer config whose self stake is topped up to `min_stake`.
fn reputer_config(
    dn: &DevnetHandle,
    account: usize,
    host: &str,
    min_stake: u64,
) -> serde_json::Value {
    json!({
        "wallet": wallet_json(dn, account, true),
        "reputer": [
            { "topicId": 1, "loopSeconds": 1, "minStake": min_stake, "lossMethod": "sqe",
              "groundTruthParameters": { "GroundTruthEndpoint": format!("http://{host}/truth/ETH/{{BlockHeight}}") },
              "groundTruthAdapter": adapter("http_source.wasm", &[host], BTreeMap::new(), 3000) }
        ]
    })
}

/// A crashed node's non-idempotent tx is in the mempool, its answer lost: each restarted
/// node (SIGKILLed again) must find the recorded intent and send nothing. `key` is the
/// intent's ledger key, `needle` the log line of that decision.
async fn restart_twice_and_send_nothing(
    dn: &DevnetHandle,
    config: &serde_json::Value,
    home: &Path,
    needle: &str,
) -> NodeProc {
    let faults = dn.faults();
    let mut last = None;
    for round in 0..2 {
        let before = faults.broadcasts_received();
        let mut node = NodeProc::start(config, Some(home));
        // Until it has decided: waits (logged) or sends (seen by the devnet).
        wait_for(
            "the restarted node's decision",
            Duration::from_secs(30),
            || {
                let decided =
                    node.log_text().contains(needle) || faults.broadcasts_received() > before;
                async move { decided.then_some(()) }
            },
        )
        .await;
        // Several more checks (loopSeconds = 1) while the earlier tx may still land.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            faults.broadcasts_received(),
            before,
            "restart {round}: nothing is broadcast while the earlier tx may land\n{}",
            node.log_text()
        );
        if round == 0 {
            sigkill(&mut node);
        } else {
            last = Some(node);
        }
    }
    last.expect("second restart")
}

/// AddStake whose answer is lost (held, the tx in the mempool), SIGKILL, restart twice:
/// the intent (deadline and hash, recorded before broadcast) keeps both restarted nodes
/// from sending again; once the tx lands, the stake equals `minStake` exactly and one
/// AddStake tx was included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_stake_with_lost_answer_then_restarts_stakes_min_stake_exactly() {
    let dn = devnet(vec![topic(1, 10, 5)]).await;
    let blocks = record_blocks(&dn);
    let faults = dn.faults();
    faults.hold_broadcasts_and_pause_blocks("AddStakeRequest");
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(3);
    let min_stake = 20_000u128;
    let home = tempfile::tempdir().unwrap();
    let config = reputer_config(&dn, 3, &host, min_stake as u64);
    let mut first = NodeProc::start(&config, Some(home.path()));
    let held = wait_for("a held AddStake", Duration::from_secs(60), || {
        let h = faults.held_broadcasts().first().cloned();
        async move { h }
    })
    .await;
    assert!(
        dn.tx_result(&held).is_none(),
        "the AddStake is still in the mempool"
    );
    let intent = ledger_intent(home.path(), &me, "add_stake/1").expect("intent in the ledger");
    assert_eq!(
        intent["tx_hashes"],
        json!([held.clone()]),
        "the hash was durable before the broadcast"
    );
    sigkill(&mut first);
    assert_eq!(dn.stake(1, &me), 0);
    let last = restart_twice_and_send_nothing(
        &dn,
        &config,
        home.path(),
        "earlier AddStake may still land",
    )
    .await;
    faults.stop_holding_broadcasts();
    faults.resume_blocks();
    wait_for(
        "the stake to reach minStake",
        Duration::from_secs(30),
        || {
            let ok = dn.stake(1, &me) >= min_stake;
            async move { ok.then_some(()) }
        },
    )
    .await;
    wait_log(&last, "an earlier AddStake landed", Duration::from_secs(30)).await;
    // More checks after the tx landed: none sends anything.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(dn.stake(1, &me), min_stake, "stake equals minStake exactly");
    let stakes = carrying(&blocks, "AddStakeRequest");
    assert_eq!(stakes.len(), 1, "one AddStake tx included: {stakes:?}");
    assert_eq!(stakes[0].hash, held);
    assert_eq!(stakes[0].code, 0);
    assert!(
        ledger_intent(home.path(), &me, "add_stake/1").is_none(),
        "intent resolved"
    );
    dn.shutdown().await;
}

/// Register whose answer is lost (held, the tx in the mempool), SIGKILL, restart twice:
/// no restarted node registers again while it may land; registered by one tx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_lost_answer_then_restarts_registers_once() {
    let (epoch, window) = (10, 5);
    let dn = devnet(vec![topic(1, epoch, window)]).await;
    let blocks = record_blocks(&dn);
    let faults = dn.faults();
    faults.hold_broadcasts_and_pause_blocks("RegisterRequest");
    let src = source().await;
    let host = src.addr.to_string();
    let me = address_of(4);
    let home = tempfile::tempdir().unwrap();
    let config = worker_config(&dn, 4, &host, 3000);
    let mut first = NodeProc::start(&config, Some(home.path()));
    let held = wait_for("a held register", Duration::from_secs(60), || {
        let h = faults.held_broadcasts().first().cloned();
        async move { h }
    })
    .await;
    assert!(
        dn.tx_result(&held).is_none(),
        "the register is still in the mempool"
    );
    let intent =
        ledger_intent(home.path(), &me, "register_worker/1").expect("intent in the ledger");
    assert_eq!(intent["tx_hashes"], json!([held.clone()]));
    sigkill(&mut first);
    assert!(!dn.is_worker_registered(1, &me));
    let _last = restart_twice_and_send_nothing(
        &dn,
        &config,
        home.path(),
        "earlier register may still land",
    )
    .await;
    faults.stop_holding_broadcasts();
    faults.resume_blocks();
    // Registered, and past registration: the worker's payloads land.
    wait_for(
        "a worker payload after registration",
        Duration::from_secs(60),
        || {
            let ok = !worker_nonces_with_payload(&dn, 1, &me, dn.height(), epoch).is_empty();
            async move { ok.then_some(()) }
        },
    )
    .await;
    assert!(dn.is_worker_registered(1, &me));
    let registers = carrying(&blocks, "RegisterRequest");
    assert_eq!(
        registers.len(),
        1,
        "one register tx included: {registers:?}"
    );
    assert_eq!(registers[0].hash, held);
    assert_eq!(registers[0].code, 0);
    assert!(ledger_intent(home.path(), &me, "register_worker/1").is_none());
    dn.shutdown().await;
}
