//! The node's chain client against the in-process devnet: chain-id check, batching, an
//! injected sequence mismatch, a too-low fee, a fee above `maxFees`, an unfunded account,
//! already-submitted payloads, and an endpoint killed mid-run. Every submission must land
//! exactly once (checked in the devnet's state, not just in our outcomes).

#[path = "support/devnet_client.rs"]
mod devnet_client;
#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/tx_config.rs"]
mod tx_config;

use std::time::Duration;

use allora_chain_client::keys::Wallet;
use allora_chain_client::{
    ChainClient, ChainError, Endpoints, SubmitMeta, TxActor, TxConfig, TxError, TxHandle,
};
use allora_devnet::{DevnetHandle, GenesisTopic};
use allora_protocol as protocol;
use devnet_client::*;

const CHAIN_ID: &str = "devnet-test-1";

/// Roomy windows for tests: epoch 10, worker window 6, lag 10, first nonce at 8.
fn topic(id: u64) -> GenesisTopic {
    GenesisTopic {
        epoch_length: 10,
        worker_submission_window: 6,
        ground_truth_lag: 10,
        ..fast_topic(id)
    }
}

fn endpoints(grpc: Vec<String>, devnet: &DevnetHandle) -> Endpoints {
    let mut e = Endpoints::new(grpc, vec![devnet.rpc_url()]);
    e.call_timeout = Duration::from_secs(2);
    e.connect_timeout = Duration::from_secs(1);
    e
}

fn tx_config() -> TxConfig {
    let mut c = tx_config::tx_config(CHAIN_ID);
    c.confirm_timeout = Duration::from_secs(15);
    c.poll_interval = Duration::from_millis(100);
    c.retry_delay = Duration::from_millis(200);
    c.sequence_retry_delay = Duration::from_millis(50);
    c.batch_window = Duration::from_millis(150);
    c.fee.max_fee = 50_000_000;
    c
}

fn meta(topic_id: u64, kind: &'static str) -> SubmitMeta {
    SubmitMeta {
        topic_id,
        nonce: None,
        kind,
        deadline_height: None,
    }
}

/// Waits for an open worker window on `topic` with at least 3 blocks left; returns
/// (nonce, last height at which a payload is accepted).
async fn open_window(client: &ChainClient, devnet: &DevnetHandle, topic: u64) -> (i64, i64) {
    for _ in 0..200 {
        let h = devnet.height();
        if let Some(n) = client
            .open_worker_windows(topic)
            .await
            .expect("open windows")
            .into_iter()
            .max()
        {
            let last = n + 6 - 1;
            if last - h >= 3 {
                return (n, last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no worker window opened on topic {topic}");
}

async fn submit_payload(
    handle: &TxHandle,
    w: &Wallet,
    topic: u64,
    nonce: i64,
    last: i64,
    value: &str,
) -> Result<allora_chain_client::TxOutcome, TxError> {
    let bundle = protocol::sign_worker_bundle(
        w,
        topic,
        nonce,
        Some(vec![("y".into(), value.into())]),
        None,
    )
    .expect("bundle");
    handle
        .submit(
            protocol::insert_worker_payload_msg(w, bundle),
            SubmitMeta {
                topic_id: topic,
                nonce: Some(nonce),
                kind: "worker_payload",
                deadline_height: Some(last),
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batching_sequence_mismatch_low_fee_and_duplicates() {
    let devnet = start(test_genesis(vec![topic(1), topic(2)]), 300).await;
    let client = ChainClient::new(endpoints(vec![devnet.grpc_url()], &devnet)).expect("client");

    // chain-id check
    client
        .check_chain_id(CHAIN_ID)
        .await
        .expect("chain id matches");
    match client.check_chain_id("allora-mainnet-1").await {
        Err(ChainError::ChainIdMismatch { expected, actual }) => {
            assert_eq!(
                (expected.as_str(), actual.as_str()),
                ("allora-mainnet-1", CHAIN_ID)
            );
        }
        other => panic!("expected a chain-id mismatch, got {other:?}"),
    }

    let w = Wallet::from_mnemonic(MNEMONICS[0]).expect("wallet");
    // Static price far below the devnet's minimum (1 uallo/gas): the first broadcast fails
    // CheckTx with "insufficient fee" and the actor must reprice from the node's answer.
    let mut cfg = tx_config();
    cfg.fee.dynamic = false;
    cfg.fee.fallback_gas_price = 0.001;
    let handle = TxActor::spawn(client.clone(), w.clone(), cfg);

    // Two registrations sent concurrently land in ONE tx.
    let (a, b) = tokio::join!(
        handle.submit(protocol::register_msg(&w, 1, false), meta(1, "register")),
        handle.submit(protocol::register_msg(&w, 2, false), meta(2, "register")),
    );
    let (a, b) = (a.expect("register topic 1"), b.expect("register topic 2"));
    assert_eq!(a.tx_hash, b.tx_hash, "both messages batched into one tx");
    assert!(devnet.is_worker_registered(1, w.address()));
    assert!(devnet.is_worker_registered(2, w.address()));
    let rec = devnet.tx_result(&a.tx_hash).expect("tx recorded");
    assert_eq!(rec.code, 0);
    assert!(client.is_worker_registered(1, w.address()).await.unwrap());

    // Inject a sequence mismatch: another client sends a tx from the same account behind
    // the actor's back, so the actor's cached sequence is stale.
    let tc = Client::connect(&devnet).await;
    let tw = TestWallet::from_mnemonic(MNEMONICS[0]);
    let (_, seq_before) = tc.account(&tw.address).await;
    let r = tc.send(&tw, vec![register(&tw, 1, true)]).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    let out = handle
        .submit(protocol::register_msg(&w, 2, true), meta(2, "register"))
        .await
        .expect("register as reputer after a sequence mismatch");
    assert!(devnet.is_reputer_registered(2, w.address()));
    let (_, seq_after) = tc.account(&tw.address).await;
    assert_eq!(
        seq_after,
        seq_before + 2,
        "exactly two txs: the injected one and ours"
    );
    assert!(out.height > 0);

    // A worker payload lands exactly once; a second one for the same nonce is
    // "already submitted" (counted as done) and does not add a payload.
    let (nonce, last) = open_window(&client, &devnet, 1).await;
    submit_payload(&handle, &w, 1, nonce, last, "123.45")
        .await
        .expect("payload included");
    assert_eq!(devnet.worker_payloads(1, nonce).len(), 1);
    let dup = submit_payload(&handle, &w, 1, nonce, last, "1.5e-7").await;
    match dup {
        Err(e) => {
            assert_eq!(e.kind().as_str(), "already_submitted", "{e}");
            assert!(e.is_done());
        }
        Ok(o) => panic!("duplicate payload accepted in {}", o.tx_hash),
    }
    assert_eq!(devnet.worker_payloads(1, nonce).len(), 1);

    // A payload whose window has passed is given up without broadcasting.
    let stale = submit_payload(&handle, &w, 1, nonce, devnet.height() - 1, "2").await;
    assert_eq!(
        stale.expect_err("stale payload").kind().as_str(),
        "window_closed"
    );

    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_cap_and_unfunded_account_are_clear_errors() {
    let devnet = start(test_genesis(vec![topic(1)]), 300).await;
    let client = ChainClient::new(endpoints(vec![devnet.grpc_url()], &devnet)).expect("client");
    let w = Wallet::from_mnemonic(MNEMONICS[1]).expect("wallet");

    // maxFees below what even the minimum gas price needs: refused before broadcasting.
    let mut cfg = tx_config();
    cfg.fee.max_fee = 10;
    let capped = TxActor::spawn(client.clone(), w.clone(), cfg);
    let (_, seq_before) = client
        .account(w.address())
        .await
        .map(|a| (a.account_number, a.sequence))
        .unwrap();
    let err = capped
        .submit(protocol::register_msg(&w, 1, false), meta(1, "register"))
        .await
        .expect_err("fee above maxFees");
    assert_eq!(err.kind().as_str(), "fee", "{err}");
    assert!(err.to_string().contains("maxFees"), "{err}");
    assert!(!devnet.is_worker_registered(1, w.address()));
    assert_eq!(
        client.account(w.address()).await.unwrap().sequence,
        seq_before
    );

    // The feemarket price is used when available (dynamic pricing, default policy).
    let ok = TxActor::spawn(client.clone(), w.clone(), tx_config());
    ok.submit(protocol::register_msg(&w, 1, false), meta(1, "register"))
        .await
        .expect("register with feemarket pricing");
    assert!(devnet.is_worker_registered(1, w.address()));

    // A key the chain has never seen: a clear "unfunded" error, nothing panics.
    let stranger = Wallet::from_secret_bytes(&[7u8; 32]).unwrap();
    let h = TxActor::spawn(client.clone(), stranger.clone(), tx_config());
    let err = h
        .submit(
            protocol::register_msg(&stranger, 1, false),
            meta(1, "register"),
        )
        .await
        .expect_err("unfunded");
    assert_eq!(err.kind().as_str(), "unfunded", "{err}");
    assert!(matches!(
        client.account(stranger.address()).await,
        Err(ChainError::AccountNotFound(_))
    ));

    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_killed_mid_run_fails_over() {
    let devnet = start(test_genesis(vec![topic(1), topic(2)]), 300).await;
    let a = proxy::Proxy::start(devnet.grpc_addr()).await;
    let b = proxy::Proxy::start(devnet.grpc_addr()).await;
    let client = ChainClient::new(endpoints(vec![a.url(), b.url()], &devnet)).expect("client");
    let w = Wallet::from_mnemonic(MNEMONICS[2]).expect("wallet");
    let handle = TxActor::spawn(client.clone(), w.clone(), tx_config());

    handle
        .submit(protocol::register_msg(&w, 1, false), meta(1, "register"))
        .await
        .expect("register via endpoint A");
    let health = client.pool().health();
    assert!(health[0].successes > 0, "endpoint A served: {health:?}");

    // Kill endpoint A (listener and live connections); the next submissions must go
    // through B and still land exactly once.
    a.kill();
    let (nonce, last) = open_window(&client, &devnet, 1).await;
    submit_payload(&handle, &w, 1, nonce, last, "42")
        .await
        .expect("payload after endpoint A died");
    assert_eq!(devnet.worker_payloads(1, nonce).len(), 1);
    handle
        .submit(protocol::register_msg(&w, 2, false), meta(2, "register"))
        .await
        .expect("register after failover");
    assert!(devnet.is_worker_registered(2, w.address()));
    let health = client.pool().health();
    assert!(health[0].failures > 0, "A's failure recorded: {health:?}");
    assert!(health[1].successes > 0, "B took over: {health:?}");

    // Transient errors from the only live endpoint are retried, not surfaced.
    devnet.faults().fail_next_requests(1);
    assert!(client.latest_height().await.expect("retried") > 0);

    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connection_is_redialed() {
    let devnet = start(test_genesis(vec![topic(1)]), 300).await;
    let mut e = endpoints(vec![devnet.grpc_url()], &devnet);
    e.call_timeout = Duration::from_millis(800);
    let client = ChainClient::new(e).expect("client");
    wait_height(&devnet, 2).await;
    assert!(client.latest_height().await.is_ok());

    // The established connection goes silent (the Go node's production stall). The
    // attempt on it times out; the client drops the channel and re-dials, so the same
    // call still succeeds, on a fresh connection.
    devnet.faults().set_stalled(true);
    let t0 = std::time::Instant::now();
    let h = client
        .latest_height()
        .await
        .expect("recovered on a fresh connection");
    assert!(h > 0);
    assert!(
        t0.elapsed() >= Duration::from_millis(800),
        "the stalled attempt timed out first"
    );
    let health = client.pool().health();
    assert_eq!(health[0].failures, 1, "{health:?}");
    assert!(
        health[0].healthy,
        "healthy again after the re-dial: {health:?}"
    );
    assert!(client.latest_height().await.is_ok());
    devnet.faults().set_stalled(false);
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_signs_but_sends_nothing() {
    let devnet = start(test_genesis(vec![topic(1)]), 300).await;
    let client = ChainClient::new(endpoints(vec![devnet.grpc_url()], &devnet)).expect("client");
    let w = Wallet::from_mnemonic(MNEMONICS[0]).expect("wallet");
    let before = devnet.account(w.address()).expect("funded account");
    let balance = devnet.balance(w.address());
    let mut cfg = tx_config();
    cfg.submit_tx = false;
    let handle = TxActor::spawn(client.clone(), w.clone(), cfg);

    let out = handle
        .submit(protocol::register_msg(&w, 1, false), meta(1, "register"))
        .await
        .expect("dry run answers");
    assert!(out.dry_run, "{out:?}");
    assert_eq!(out.tx_hash.len(), 64, "a real tx hash: {out:?}");
    // A few blocks later the chain still knows nothing of it.
    let h = devnet.height();
    wait_height(&devnet, h + 3).await;
    assert!(devnet.tx_result(&out.tx_hash).is_none());
    assert!(!devnet.is_worker_registered(1, w.address()));
    assert_eq!(
        devnet.account(w.address()),
        Some(before),
        "sequence untouched"
    );
    assert_eq!(devnet.balance(w.address()), balance, "no fee paid");

    // An account the chain has never seen still gets a signed dry-run tx.
    let stranger = Wallet::from_secret_bytes(&[7u8; 32]).expect("wallet");
    let mut cfg = tx_config();
    cfg.submit_tx = false;
    let handle = TxActor::spawn(client.clone(), stranger.clone(), cfg);
    let out = handle
        .submit(
            protocol::register_msg(&stranger, 1, false),
            meta(1, "register"),
        )
        .await
        .expect("dry run for an unknown account");
    assert!(out.dry_run);
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_and_lookup_fall_back_to_cometbft_rpc() {
    let devnet = start(test_genesis(vec![topic(1)]), 300).await;
    wait_height(&devnet, 2).await;
    let dead = proxy::Proxy::start(devnet.grpc_addr()).await;
    dead.kill();
    let mut e = Endpoints::new(vec![dead.url()], vec![devnet.rpc_url()]);
    e.call_timeout = Duration::from_secs(1);
    let client = ChainClient::new(e).expect("client");

    let w = Wallet::from_mnemonic(MNEMONICS[0]).expect("wallet");
    let (account_number, sequence) = devnet.account(w.address()).expect("account");
    let msg = protocol::register_msg(&w, 1, false);
    let (bytes, hash) = allora_chain_client::tx::build_signed_tx(
        &w,
        &[cosmos_sdk_proto::Any {
            type_url: msg.type_url,
            value: msg.value,
        }],
        &allora_chain_client::tx::TxParams {
            chain_id: CHAIN_ID.into(),
            account_number,
            sequence,
            gas_limit: 400_000,
            fee_amount: 400_000,
            fee_denom: "uallo".into(),
            timeout_height: 0,
            memo: String::new(),
            fee_granter: String::new(),
        },
    );
    let r = client.broadcast(bytes).await.expect("broadcast via RPC");
    assert_eq!(r.code, 0, "{}", r.raw_log);
    assert_eq!(r.txhash, hash);
    let mut found = None;
    for _ in 0..50 {
        if let Some(t) = client.get_tx(&hash).await.expect("lookup via RPC") {
            found = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = found.expect("tx included");
    assert_eq!(t.code, 0, "{}", t.raw_log);
    assert!(t.height > 0);
    assert!(devnet.is_worker_registered(1, w.address()));
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_message_does_not_sink_its_batch() {
    let devnet = start(test_genesis(vec![topic(1), topic(2)]), 300).await;
    let client = ChainClient::new(endpoints(vec![devnet.grpc_url()], &devnet)).expect("client");
    let w = Wallet::from_mnemonic(MNEMONICS[1]).expect("wallet");
    let handle = TxActor::spawn(client.clone(), w.clone(), tx_config());
    let (a, b) = tokio::join!(
        handle.submit(protocol::register_msg(&w, 1, false), meta(1, "register")),
        handle.submit(protocol::register_msg(&w, 2, false), meta(2, "register")),
    );
    a.expect("register 1");
    b.expect("register 2");

    // Both topics share the schedule, so one nonce is open on both.
    let (nonce, last) = open_window(&client, &devnet, 1).await;
    assert!(
        client
            .open_worker_windows(2)
            .await
            .unwrap()
            .contains(&nonce)
    );
    submit_payload(&handle, &w, 1, nonce, last, "1")
        .await
        .expect("first payload");

    // Batch a duplicate (topic 1) with a fresh payload (topic 2): the duplicate is
    // answered "already submitted", the other still lands, each exactly once.
    let (dup, fresh) = tokio::join!(
        submit_payload(&handle, &w, 1, nonce, last, "2"),
        submit_payload(&handle, &w, 2, nonce, last, "3"),
    );
    assert_eq!(
        dup.expect_err("duplicate").kind().as_str(),
        "already_submitted"
    );
    fresh.expect("fresh payload lands");
    assert_eq!(devnet.worker_payloads(1, nonce).len(), 1);
    assert_eq!(devnet.worker_payloads(2, nonce).len(), 1);
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reputer_payload_lands_once_in_its_window() {
    use allora_protocol::proto::emissions::v9::{InputValueBundle, InputWorkerAttributedValue};

    let devnet = start(test_genesis(vec![topic(1)]), 250).await;
    let client = ChainClient::new(endpoints(vec![devnet.grpc_url()], &devnet)).expect("client");
    let worker = Wallet::from_mnemonic(MNEMONICS[0]).expect("worker");
    let reputer = Wallet::from_mnemonic(MNEMONICS[1]).expect("reputer");
    let wh = TxActor::spawn(client.clone(), worker.clone(), tx_config());
    let rh = TxActor::spawn(client.clone(), reputer.clone(), tx_config());

    wh.submit(
        protocol::register_msg(&worker, 1, false),
        meta(1, "register"),
    )
    .await
    .expect("register worker");
    rh.submit(
        protocol::register_msg(&reputer, 1, true),
        meta(1, "register"),
    )
    .await
    .expect("register reputer");
    let min_stake: u128 = client
        .params()
        .await
        .expect("params")
        .required_minimum_stake
        .parse()
        .expect("stake int");
    rh.submit(
        protocol::add_stake_msg(&reputer, 1, min_stake),
        meta(1, "add_stake"),
    )
    .await
    .expect("stake");
    assert!(client.stake_authority(1, reputer.address()).await.unwrap() >= min_stake);
    assert_eq!(
        client.stake_in_self(1, reputer.address()).await.unwrap(),
        min_stake
    );

    let (nonce, last) = open_window(&client, &devnet, 1).await;
    submit_payload(&wh, &worker, 1, nonce, last, "100")
        .await
        .expect("worker payload");

    // Wait for the reputer window of that nonce.
    let mut open = false;
    for _ in 0..200 {
        if client
            .open_reputer_windows(1)
            .await
            .unwrap()
            .contains(&nonce)
        {
            open = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(open, "reputer window for {nonce} opened");
    let net = client
        .network_inferences_at(1, nonce)
        .await
        .expect("network inferences");
    let bundle = InputValueBundle {
        topic_id: 1,
        combined_value: "-1.5e-3".into(),
        naive_value: "0.25".into(),
        inferer_values: net
            .inferer_values
            .iter()
            .map(|w| InputWorkerAttributedValue {
                worker: w.worker.clone(),
                value: "1e-2".into(),
            })
            .collect(),
        ..Default::default()
    };
    let signed = protocol::sign_value_bundle_at(&reputer, nonce, bundle).expect("sign");
    let deadline = nonce + 2 * 10;
    let submit = |b| {
        rh.submit(
            protocol::insert_reputer_payload_msg(&reputer, b),
            SubmitMeta {
                topic_id: 1,
                nonce: Some(nonce),
                kind: "reputer_payload",
                deadline_height: Some(deadline),
            },
        )
    };
    submit(signed.clone()).await.expect("reputer payload lands");
    assert_eq!(devnet.reputer_payloads(1, nonce).len(), 1);
    let again = submit(signed).await.expect_err("second reputer payload");
    assert_eq!(again.kind().as_str(), "already_submitted", "{again}");
    assert_eq!(devnet.reputer_payloads(1, nonce).len(), 1);
    devnet.shutdown().await;
}
