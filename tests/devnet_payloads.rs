//! Emissions payload rules on the devnet: worker and reputer payloads are accepted only in
//! their windows, from registered (and staked) actors, once per window, with a bundle
//! signature over the canonical re-encoding; accepted payloads show up in the queries
//! (network inferences for reputers to score).

#[path = "support/devnet_client.rs"]
mod devnet_client;

use allora_devnet::{DevnetHandle, GenesisTopic};
use allora_protocol::proto::emissions::v10;
use devnet_client::*;

const TOPIC: u64 = 1;
const NONCE: i64 = 8;

fn topic() -> GenesisTopic {
    // Worker window for nonce 8: blocks 8..=12; reputer window: 18..=28.
    GenesisTopic {
        epoch_length: 10,
        ground_truth_lag: 10,
        worker_submission_window: 5,
        ..fast_topic(TOPIC)
    }
}

/// Broadcasts several txs from one wallet into the same block with explicit sequences.
async fn burst(c: &Client, w: &TestWallet, msgs: Vec<cosmrs::Any>) -> Vec<String> {
    let (_, seq) = c.account(&w.address).await;
    let mut hashes = Vec::new();
    for (i, m) in msgs.into_iter().enumerate() {
        let tx = c
            .build_tx(
                w,
                vec![m],
                &TxOpts {
                    sequence: Some(seq + i as u64),
                    ..Default::default()
                },
            )
            .await;
        let r = c.broadcast(tx).await;
        assert_eq!(r.code, 0, "CheckTx failed: {}", r.raw_log);
        hashes.push(r.txhash);
    }
    hashes
}

fn code(r: &cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse) -> (String, u32) {
    (r.codespace.clone(), r.code)
}

async fn registered_devnet() -> (DevnetHandle, Client, TestWallet, TestWallet, TestWallet) {
    let devnet = start(test_genesis(vec![topic()]), 200).await;
    let c = Client::connect(&devnet).await;
    let worker = TestWallet::from_mnemonic(MNEMONICS[0]);
    let reputer = TestWallet::from_mnemonic(MNEMONICS[1]);
    let outsider = TestWallet::from_mnemonic(MNEMONICS[2]);
    let r = c.send(&worker, vec![register(&worker, TOPIC, false)]).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let r = c
        .send(
            &reputer,
            vec![
                register(&reputer, TOPIC, true),
                add_stake(&reputer, TOPIC, 10_000),
            ],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    assert!(
        devnet.height() < NONCE,
        "registration must land before the first nonce"
    );
    (devnet, c, worker, reputer, outsider)
}

#[tokio::test]
async fn worker_payload_rules_and_network_inferences() {
    let (devnet, c, worker, reputer, outsider) = registered_devnet().await;
    let mut q = c.emissions();

    // Before the nonce exists: not an unfulfilled nonce (75).
    let r = c
        .send(
            &worker,
            vec![worker_payload(
                &worker,
                worker_bundle(&worker, TOPIC, NONCE, "1"),
            )],
        )
        .await;
    assert_eq!(code(&r), ("emissions".into(), 75), "{}", r.raw_log);

    wait_height(&devnet, NONCE).await;
    let open = q
        .get_open_worker_submission_windows(v10::GetOpenWorkerSubmissionWindowsRequest {
            topic_id: TOPIC,
        })
        .await
        .expect("query")
        .into_inner();
    assert_eq!(open.nonces.expect("nonces").nonces[0].block_height, NONCE);
    let status = q
        .get_worker_submission_window_status(v10::GetWorkerSubmissionWindowStatusRequest {
            topic_id: TOPIC,
            address: worker.address.clone(),
        })
        .await
        .expect("status")
        .into_inner();
    assert!(status.is_open && status.is_registered && status.is_whitelisted);
    assert_eq!(
        (status.window_start_block, status.window_end_block),
        (NONCE, NONCE + 5)
    );

    // Same block: unregistered actor; non-canonical decimal signed as sent ("0.0000001" is
    // re-encoded by the chain as "1E-7"); a valid payload; a second one from the same worker.
    let unregistered = burst(
        &c,
        &outsider,
        vec![worker_payload(
            &outsider,
            worker_bundle(&outsider, TOPIC, NONCE, "5"),
        )],
    )
    .await;
    let hashes = burst(
        &c,
        &worker,
        vec![
            worker_payload(&worker, worker_bundle(&worker, TOPIC, NONCE, "0.0000001")),
            worker_payload(&worker, worker_bundle(&worker, TOPIC, NONCE, "123.45")),
            worker_payload(&worker, worker_bundle(&worker, TOPIC, NONCE, "99")),
        ],
    )
    .await;
    let r = c.wait_tx(&unregistered[0]).await;
    assert_eq!(code(&r), ("emissions".into(), 13), "{}", r.raw_log);
    let r = c.wait_tx(&hashes[0]).await;
    assert_eq!(code(&r), ("sdk".into(), 4), "{}", r.raw_log);
    assert!(
        r.raw_log.contains("signature verification failed"),
        "{}",
        r.raw_log
    );
    let r = c.wait_tx(&hashes[1]).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let r = c.wait_tx(&hashes[2]).await;
    assert_eq!(code(&r), ("emissions".into(), 78), "{}", r.raw_log);
    assert!(r.raw_log.contains("already submitted"), "{}", r.raw_log);

    let stored = devnet.worker_payloads(TOPIC, NONCE);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].worker, worker.address);

    // After the window: the nonce is fulfilled (75), a reputer nonce exists, and the network
    // inferences carry the submitted value.
    wait_height(&devnet, NONCE + 5).await;
    let r = c
        .send(
            &worker,
            vec![worker_payload(
                &worker,
                worker_bundle(&worker, TOPIC, NONCE, "7"),
            )],
        )
        .await;
    assert_eq!(code(&r), ("emissions".into(), 75), "{}", r.raw_log);
    let reputer_nonces = q
        .get_unfulfilled_reputer_nonces(v10::GetUnfulfilledReputerNoncesRequest { topic_id: TOPIC })
        .await
        .expect("nonces")
        .into_inner()
        .nonces
        .expect("nonces");
    assert_eq!(
        reputer_nonces.nonces[0]
            .reputer_nonce
            .expect("nonce")
            .block_height,
        NONCE
    );
    let ni = q
        .get_network_inferences_at_block(v10::GetNetworkInferencesAtBlockRequest {
            topic_id: TOPIC,
            block_height_last_inference: NONCE,
        })
        .await
        .expect("network inferences")
        .into_inner()
        .network_inferences
        .expect("bundle");
    assert_eq!(ni.nonce, NONCE);
    assert_eq!(ni.inferer_values.len(), 1);
    assert_eq!(ni.inferer_values[0].worker, worker.address);
    assert_eq!(ni.inferer_values[0].values[0].value, "123.45");
    assert_eq!(ni.combined_value[0].value, "123.45");
    assert_eq!(ni.naive_value[0].label_name, "y");
    let _ = reputer;
    devnet.shutdown().await;
}

#[tokio::test]
async fn reputer_payload_window_registration_and_stake() {
    let (devnet, c, worker, reputer, outsider) = registered_devnet().await;
    wait_height(&devnet, NONCE).await;
    let r = c
        .send(
            &worker,
            vec![worker_payload(
                &worker,
                worker_bundle(&worker, TOPIC, NONCE, "42"),
            )],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.raw_log);

    // While the worker nonce is still open: 45.
    let r = c
        .send(
            &reputer,
            vec![reputer_payload(
                &reputer,
                reputer_bundle(&reputer, TOPIC, NONCE, &[&worker.address], "-1.5"),
            )],
        )
        .await;
    assert_eq!(code(&r), ("emissions".into(), 45), "{}", r.raw_log);

    // Worker window closed, reputer window not yet open (opens at 18): 68.
    wait_height(&devnet, NONCE + 5).await;
    let r = c
        .send(
            &reputer,
            vec![reputer_payload(
                &reputer,
                reputer_bundle(&reputer, TOPIC, NONCE, &[&worker.address], "-1.5"),
            )],
        )
        .await;
    assert!(r.height < NONCE + 10, "landed too late for this check");
    assert_eq!(code(&r), ("emissions".into(), 68), "{}", r.raw_log);

    // In the window: the unregistered outsider is refused (13), the reputer accepted once.
    wait_height(&devnet, NONCE + 9).await;
    let outsider_hash = burst(
        &c,
        &outsider,
        vec![reputer_payload(
            &outsider,
            reputer_bundle(&outsider, TOPIC, NONCE, &[&worker.address], "1"),
        )],
    )
    .await;
    let hashes = burst(
        &c,
        &reputer,
        vec![
            reputer_payload(
                &reputer,
                reputer_bundle(&reputer, TOPIC, NONCE, &[&worker.address], "-1.5"),
            ),
            reputer_payload(
                &reputer,
                reputer_bundle(&reputer, TOPIC, NONCE, &[&worker.address], "-2"),
            ),
        ],
    )
    .await;
    let r = c.wait_tx(&outsider_hash[0]).await;
    assert_eq!(code(&r), ("emissions".into(), 13), "{}", r.raw_log);
    let r = c.wait_tx(&hashes[0]).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let r = c.wait_tx(&hashes[1]).await;
    assert_eq!(code(&r), ("emissions".into(), 78), "{}", r.raw_log);
    let stored = devnet.reputer_payloads(TOPIC, NONCE);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].value_bundle.as_ref().expect("vb").combined_value,
        "-1.5"
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn reputer_without_enough_stake_is_refused() {
    let mut t = topic();
    t.id = 2;
    let devnet = start(test_genesis(vec![t]), 200).await;
    let c = Client::connect(&devnet).await;
    let worker = TestWallet::from_mnemonic(MNEMONICS[0]);
    let reputer = TestWallet::from_mnemonic(MNEMONICS[1]);
    // Stake 9999 < required 10000.
    assert_eq!(
        c.send(&worker, vec![register(&worker, 2, false)])
            .await
            .code,
        0
    );
    let r = c
        .send(
            &reputer,
            vec![register(&reputer, 2, true), add_stake(&reputer, 2, 9_999)],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    // AddStake from a non-reputer fails with 10.
    let r = c.send(&worker, vec![add_stake(&worker, 2, 5)]).await;
    assert_eq!(code(&r), ("emissions".into(), 10), "{}", r.raw_log);
    wait_height(&devnet, NONCE).await;
    assert_eq!(
        c.send(
            &worker,
            vec![worker_payload(
                &worker,
                worker_bundle(&worker, 2, NONCE, "3")
            )]
        )
        .await
        .code,
        0
    );
    wait_height(&devnet, NONCE + 9).await;
    let r = c
        .send(
            &reputer,
            vec![reputer_payload(
                &reputer,
                reputer_bundle(&reputer, 2, NONCE, &[&worker.address], "0.5"),
            )],
        )
        .await;
    assert_eq!(code(&r), ("emissions".into(), 11), "{}", r.raw_log);
    devnet.shutdown().await;
}

/// Interop: bundles signed by the node's own `protocol` module (with a non-canonical input
/// decimal it canonicalizes before signing) are accepted by the devnet.
#[tokio::test]
async fn node_signed_bundles_are_accepted() {
    let (devnet, c, worker, _reputer, _outsider) = registered_devnet().await;
    let wallet = allora_chain_client::keys::Wallet::from_mnemonic(MNEMONICS[0]).expect("wallet");
    assert_eq!(wallet.address(), worker.address);
    wait_height(&devnet, NONCE).await;
    let bundle = allora_protocol::sign_worker_bundle(
        &wallet,
        TOPIC,
        NONCE,
        Some(vec![("y".to_string(), "0.0000001".to_string())]),
        None,
    )
    .expect("sign");
    let r = c.send(&worker, vec![worker_payload(&worker, bundle)]).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let stored = devnet.worker_payloads(TOPIC, NONCE);
    let values = &stored[0]
        .inference_forecasts_bundle
        .as_ref()
        .expect("b")
        .inference
        .as_ref()
        .expect("i")
        .values;
    assert_eq!(values[0].value, "1E-7");
    devnet.shutdown().await;
}
