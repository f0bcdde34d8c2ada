//! Exactly-once under chain faults (issue #10): the real `allora-node` binary against the
//! devnet's fault injection, asserting on what the chain recorded — the payload stored per
//! nonce and every tx included in a block (whatever its result) that carried one — never on
//! the node's logs.
//!
//! "Exactly once" here is stronger than "one payload per nonce" (the chain refuses a second
//! payload anyway): it is one *included* tx carrying the node's payload for a nonce, so no
//! fee is paid for a duplicate that the chain then refuses.

#[path = "support/node_harness.rs"]
mod harness;

#[path = "support/devnet_client.rs"]
mod devnet_client;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allora_devnet::{DevnetHandle, Msg, TEST_MNEMONICS};
use harness::*;
use serde_json::json;

/// The test account the node signs with (each test has its own devnet).
const KEY: usize = 2;

/// A worker payload tx included in a block: height, result code, topic, nonce.
#[derive(Debug, Clone, Copy)]
struct Included {
    height: i64,
    code: u32,
    topic: u64,
    nonce: i64,
}

/// Every included tx (any result) carrying a worker payload from `signer`, read with the
/// devnet's own tx decoder.
fn record_payload_txs(dn: &DevnetHandle, signer: &str) -> Arc<Mutex<Vec<Included>>> {
    let seen: Arc<Mutex<Vec<Included>>> = Arc::default();
    let out = seen.clone();
    let signer = signer.to_owned();
    let mut rx = dn.subscribe_blocks();
    tokio::spawn(async move {
        while let Ok(notice) = rx.recv().await {
            for tx in &notice.txs {
                let Some(c) = tx.contents() else { continue };
                if c.signer != signer {
                    continue;
                }
                for m in &c.msgs {
                    if let Msg::InsertWorkerPayload(p) = m
                        && let Some(b) = &p.worker_data_bundle
                        && let Some(n) = &b.nonce
                    {
                        out.lock().unwrap().push(Included {
                            height: tx.height,
                            code: tx.code,
                            topic: b.topic_id,
                            nonce: n.block_height,
                        });
                    }
                }
            }
        }
    });
    seen
}

fn txs_for(log: &Arc<Mutex<Vec<Included>>>, topic: u64, nonce: i64) -> Vec<Included> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|i| i.topic == topic && i.nonce == nonce)
        .copied()
        .collect()
}

fn worker_config(dn: &DevnetHandle, src: &Source, loop_seconds: u64) -> serde_json::Value {
    let host = src.addr.to_string();
    json!({
        "wallet": wallet_json(dn, KEY, true),
        "worker": [
            { "topicId": 1, "loopSeconds": loop_seconds,
              "parameters": { "InferenceEndpoint": format!("http://{host}/inference/ETH") },
              "inferenceAdapter": adapter("http_source.wasm", &[host.as_str()], BTreeMap::new(), 3000) }
        ]
    })
}

/// Waits for the node's first payload; its nonce.
async fn first_payload(dn: &DevnetHandle, me: &str, epoch: i64, node: &NodeProc) -> i64 {
    let start = Instant::now();
    loop {
        let h = dn.height();
        if let Some(n) = worker_nonces_with_payload(dn, 1, me, h, epoch).first() {
            return *n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no first payload within 60 s: {}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts that every nonce in `nonces` has the node's payload on chain, carried by exactly
/// one included tx, which succeeded inside the nonce's window.
fn assert_exactly_once(
    dn: &DevnetHandle,
    log: &Arc<Mutex<Vec<Included>>>,
    me: &str,
    nonces: impl IntoIterator<Item = i64>,
    window: i64,
    node: &NodeProc,
) {
    for n in nonces {
        assert!(
            dn.worker_payloads(1, n).iter().any(|b| b.worker == me),
            "no payload for nonce {n}; chain txs {:?}\n{}",
            log.lock().unwrap(),
            node.log_text()
        );
        let txs = txs_for(log, 1, n);
        assert_eq!(
            txs.len(),
            1,
            "nonce {n}: expected exactly one included payload tx, got {txs:?}\n{}",
            node.log_text()
        );
        assert_eq!(txs[0].code, 0, "nonce {n}: {txs:?}");
        assert!(
            txs[0].height <= n + window,
            "nonce {n}: included at {} after its window ended at {}",
            txs[0].height,
            n + window
        );
    }
}

/// 1. The broadcast is accepted into the mempool but its answer is lost — over gRPC
///    (`UNAVAILABLE` after CheckTx passed) and over the CometBFT RPC fallback the client
///    then tries (same bytes: "already in cache", answer lost too): the payload is included
///    exactly once — one payload, one included tx — and the node settles the nonce (no
///    later resend, which would show as a second included tx).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_accepted_but_answer_lost_is_included_exactly_once() {
    const EPOCH: i64 = 10;
    const WINDOW: i64 = 6;
    let t0 = Instant::now();
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(KEY);
    let log = record_payload_txs(&dn, &me);
    let src = source().await;
    let mut config = worker_config(&dn, &src, 1);
    // A fixed gas limit: no simulation, which would otherwise refuse a resend of a payload
    // the chain already holds; the lookup by hash is then all that prevents a second tx.
    config["wallet"]["gas"] = json!(400_000);
    let node = NodeProc::start(&config, None);
    let first = first_payload(&dn, &me, EPOCH, &node).await;

    // The next six broadcasts lose their answers: gRPC and the RPC fallback, for at
    // least two nonces' payload txs.
    dn.faults().drop_broadcast_responses(6);
    wait_for(
        "six broadcasts with lost answers",
        Duration::from_secs(60),
        || {
            let left = dn.faults().broadcast_responses_to_drop();
            async move { (left == 0).then_some(()) }
        },
    )
    .await;
    // Every window since the first payload, through one more epoch, has closed.
    let last = dn.height() / EPOCH * EPOCH + EPOCH;
    dn.wait_for_height(last + WINDOW + 2, Duration::from_secs(60))
        .await
        .expect("chain advances");
    assert!(last - first >= 2 * EPOCH, "at least two nonces were hit");
    assert_exactly_once(
        &dn,
        &log,
        &me,
        (1..).map(|k| first + k * EPOCH).take_while(|n| *n <= last),
        WINDOW,
        &node,
    );
    dn.shutdown().await;
    eprintln!("lost-answer test took {:?}", t0.elapsed());
}

/// 2. Another client signs a tx with the node's key, just before each of three windows
///    opens, so the node's cached sequence is stale when it signs its payload: the node
///    recovers the sequence and no payload is lost (nor sent twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tx_from_the_same_key_elsewhere_costs_no_payload() {
    const EPOCH: i64 = 10;
    const WINDOW: i64 = 6;
    let t0 = Instant::now();
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(KEY);
    let log = record_payload_txs(&dn, &me);
    let src = source().await;
    let node = NodeProc::start(&worker_config(&dn, &src, 1), None);
    let first = first_payload(&dn, &me, EPOCH, &node).await;

    let other = devnet_client::Client::connect(&dn).await;
    let key = devnet_client::TestWallet::from_mnemonic(TEST_MNEMONICS[KEY]);
    let opts = devnet_client::TxOpts {
        // The devnet's minimum gas price is 10 uallo/gas.
        fee: Some(10 * 400_000),
        ..Default::default()
    };
    let mut hit = Vec::new();
    for _ in 0..3 {
        // One block before the next window opens.
        let next = dn.height() / EPOCH * EPOCH + EPOCH;
        dn.wait_for_height(next - 1, Duration::from_secs(30))
            .await
            .expect("chain advances");
        let before = dn.account(&me).expect("account").1;
        // Registering as a reputer too: any tx signed with the key uses its sequence.
        let tx = other
            .build_tx(&key, vec![devnet_client::register(&key, 1, true)], &opts)
            .await;
        let r = other.broadcast(tx).await;
        assert_eq!(
            r.code, 0,
            "the out-of-band tx must enter the mempool: {r:?}"
        );
        other.wait_tx(&r.txhash).await;
        assert!(dn.account(&me).expect("account").1 > before);
        hit.push(next);
    }
    let last = *hit.last().expect("three windows");
    dn.wait_for_height(last + WINDOW + 2, Duration::from_secs(60))
        .await
        .expect("chain advances");
    assert!(hit[0] > first);
    assert_exactly_once(
        &dn,
        &log,
        &me,
        (1..).map(|k| first + k * EPOCH).take_while(|n| *n <= last),
        WINDOW,
        &node,
    );
    dn.shutdown().await;
    eprintln!("same-key test took {:?}", t0.elapsed());
}

/// 3. The mempool is full (every broadcast refused, code 20) for the first 7 blocks of a
///    window: the payload lands after it clears, while the window is still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mempool_full_for_several_blocks_payload_lands_after_it_clears() {
    const EPOCH: i64 = 20;
    const WINDOW: i64 = 14;
    const FULL_BLOCKS: i64 = 7;
    let t0 = Instant::now();
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(KEY);
    let log = record_payload_txs(&dn, &me);
    let src = source().await;
    let node = NodeProc::start(&worker_config(&dn, &src, 1), None);
    let first = first_payload(&dn, &me, EPOCH, &node).await;

    let nonce = dn.height() / EPOCH * EPOCH + EPOCH;
    dn.wait_for_height(nonce - 1, Duration::from_secs(30))
        .await
        .expect("chain advances");
    dn.faults()
        .reject_broadcasts_until_height(nonce + FULL_BLOCKS);
    dn.wait_for_height(nonce + WINDOW + 2, Duration::from_secs(60))
        .await
        .expect("chain advances");
    assert!(
        dn.faults().broadcasts_rejected_by_height() > 0,
        "the node's broadcasts met the full mempool"
    );
    assert!(nonce > first);
    assert_exactly_once(&dn, &log, &me, [nonce], WINDOW, &node);
    let landed = txs_for(&log, 1, nonce)[0].height;
    assert!(
        landed > nonce + FULL_BLOCKS,
        "landed at {landed}, while the mempool was full?"
    );
    dn.shutdown().await;
    eprintln!("mempool-full test took {:?}", t0.elapsed());
}

/// 4. Blocks stop right after a window opened, for longer than the node's confirmation
///    timeout (30 s), so the node gives up confirming its payload tx and retries it while
///    the original still waits in the mempool. When blocks resume: no duplicate (one
///    included tx), no loss (the payload is there, and the next window's too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_paused_past_the_confirmation_timeout_no_duplicate_no_loss() {
    const EPOCH: i64 = 10;
    const WINDOW: i64 = 6;
    let t0 = Instant::now();
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(KEY);
    let log = record_payload_txs(&dn, &me);
    let src = source().await;
    let node = NodeProc::start(&worker_config(&dn, &src, 1), None);
    let first = first_payload(&dn, &me, EPOCH, &node).await;

    let nonce = dn.height() / EPOCH * EPOCH + EPOCH;
    dn.wait_for_height(nonce, Duration::from_secs(30))
        .await
        .expect("chain advances");
    dn.faults().pause_blocks();
    let paused_at = dn.height();
    assert!(paused_at <= nonce + 1, "paused inside the window");
    // Confirmation timeout (30 s) + the worker's retry backoff and loop.
    tokio::time::sleep(Duration::from_secs(36)).await;
    dn.faults().resume_blocks();
    dn.wait_for_height(nonce + EPOCH + WINDOW + 2, Duration::from_secs(60))
        .await
        .expect("chain advances");
    assert!(nonce > first);
    assert_exactly_once(&dn, &log, &me, [nonce, nonce + EPOCH], WINDOW, &node);
    dn.shutdown().await;
    eprintln!("paused-blocks test took {:?}", t0.elapsed());
}

/// 5. The websocket stays open (it answers pings) but stops delivering events. Polling
///    alone (every 20 s here) would miss most 2 s windows; the node's heartbeat watchdog
///    notices that no block arrived, resubscribes on a new connection (counted in
///    `allora_event_resubscribes_total{reason="deaf"}`), and payloads keep landing inside
///    their windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deaf_websocket_is_resubscribed_and_payloads_land_in_their_windows() {
    const EPOCH: i64 = 10;
    const WINDOW: i64 = 6;
    let t0 = Instant::now();
    let dn = devnet(vec![topic(1, EPOCH, WINDOW)]).await;
    let me = address_of(KEY);
    let log = record_payload_txs(&dn, &me);
    let src = source().await;
    let mut config = worker_config(&dn, &src, 20);
    config["node"] = json!({ "eventWatchdogBlocks": 4 });
    let node = NodeProc::start(&config, None);
    let first = first_payload(&dn, &me, EPOCH, &node).await;
    // A few more blocks so the watchdog has measured the block time.
    dn.wait_for_height(dn.height() + 5, Duration::from_secs(10))
        .await
        .expect("chain advances");
    let deaf = |text: &str| {
        metric(
            text,
            "allora_event_resubscribes_total",
            &[("reason", "deaf")],
        )
    };
    let before = deaf(&node.metrics_text().await);

    dn.faults().set_events_deaf(true);
    let deaf_from = dn.height();
    // Three consecutive windows opening after the watchdog's 4 blocks (+1 of slack).
    let next = (deaf_from + 5) / EPOCH * EPOCH + EPOCH;
    let nonces = [next, next + EPOCH, next + 2 * EPOCH];
    dn.wait_for_height(nonces[2] + WINDOW + 2, Duration::from_secs(60))
        .await
        .expect("chain advances");
    assert!(next > first);
    assert_exactly_once(&dn, &log, &me, nonces, WINDOW, &node);
    assert!(
        deaf(&node.metrics_text().await) > before,
        "the deafness watchdog resubscribed"
    );
    dn.shutdown().await;
    eprintln!("deaf-websocket test took {:?}", t0.elapsed());
}
