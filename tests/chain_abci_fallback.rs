//! Queries fall back to CometBFT `abci_query` (and `status`) when no gRPC endpoint is
//! reachable: a client configured with a dead gRPC endpoint and the devnet's real RPC URL
//! must return what the devnet's gRPC returns, for every query the node makes; with the RPC
//! endpoint dead too, the error is a clear `Unreachable` naming both attempts.

#[path = "support/devnet_client.rs"]
mod devnet_client;

use std::fmt::Debug;
use std::time::Duration;

use allora_chain_client::{ChainClient, ChainError, Endpoints};
use allora_devnet::{DevnetHandle, GenesisParams};
use devnet_client::*;

/// A loopback URL nothing listens on: bound to get a free port, then closed.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn client(grpc: Vec<String>, rpc: Vec<String>) -> ChainClient {
    let mut e = Endpoints::new(grpc, rpc);
    e.call_timeout = Duration::from_secs(2);
    e.connect_timeout = Duration::from_secs(1);
    ChainClient::new(e).expect("client")
}

/// Runs `q` on both clients at one committed height (retrying across block boundaries), so
/// height-dependent answers (windows, nonces) are comparable.
async fn at_one_height<T, Q>(
    devnet: &DevnetHandle,
    fallback: &ChainClient,
    live: &ChainClient,
    q: Q,
) -> T
where
    T: PartialEq + Debug,
    Q: AsyncFn(&ChainClient) -> T,
{
    for _ in 0..50 {
        let h = devnet.height();
        let a = q(fallback).await;
        let b = q(live).await;
        if devnet.height() == h {
            assert_eq!(a, b, "abci_query fallback and gRPC disagree at height {h}");
            return a;
        }
    }
    panic!("no two queries within one block in 50 tries");
}

fn ok<T: Debug>(r: Result<T, ChainError>) -> T {
    r.unwrap_or_else(|e| panic!("query failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_fall_back_to_abci_query_with_the_devnets_values() {
    let mut genesis = test_genesis(vec![fast_topic(1), fast_topic(2)]);
    genesis.params = GenesisParams {
        registration_fee: 345,
        required_minimum_stake: 12_345,
        ..genesis.params
    };
    let devnet = start(genesis, 300).await;
    wait_height(&devnet, 2).await;
    let (worker, reputer) = (
        TestWallet::from_mnemonic(MNEMONICS[0]),
        TestWallet::from_mnemonic(MNEMONICS[1]),
    );
    let setup = Client::connect(&devnet).await;
    setup.send(&worker, vec![register(&worker, 1, false)]).await;
    setup
        .send(
            &reputer,
            vec![register(&reputer, 1, true), add_stake(&reputer, 1, 20_000)],
        )
        .await;

    let fallback = client(vec![dead_url()], vec![devnet.rpc_url()]);
    let live = client(vec![devnet.grpc_url()], Vec::new());

    // Params and topic: the genesis values.
    let params = ok(fallback.params().await);
    assert_eq!(params.registration_fee, "345");
    assert_eq!(params.required_minimum_stake, "12345");
    assert_eq!(params, ok(live.params().await));
    let topic = ok(fallback.topic(2).await);
    assert_eq!(topic.id, 2);
    assert_eq!((topic.epoch_length, topic.worker_submission_window), (6, 4));
    assert_eq!(topic, ok(live.topic(2).await));
    // The query's own error crosses abci_query as the same gRPC code.
    match fallback.topic(99).await {
        Err(ChainError::Status { code, endpoint, .. }) => {
            assert_eq!(code, tonic::Code::NotFound);
            assert!(
                endpoint.contains(&devnet.rpc_addr().port().to_string()),
                "{endpoint}"
            );
        }
        other => panic!("missing topic over abci_query: {other:?}"),
    }

    // Registration and stake: what the txs above did.
    assert!(ok(fallback.is_worker_registered(1, &worker.address).await));
    assert!(!ok(fallback
        .is_worker_registered(1, &reputer.address)
        .await));
    assert!(ok(fallback
        .is_reputer_registered(1, &reputer.address)
        .await));
    assert!(!ok(fallback
        .is_reputer_registered(2, &reputer.address)
        .await));
    assert_eq!(
        ok(fallback.stake_in_self(1, &reputer.address).await),
        20_000
    );
    assert_eq!(
        ok(fallback.stake_in_self(1, &reputer.address).await),
        devnet.stake(1, &reputer.address)
    );
    assert_eq!(
        ok(fallback.stake_authority(1, &reputer.address).await),
        ok(live.stake_authority(1, &reputer.address).await)
    );

    // Accounts and balances; an unknown account is still "not found", not a transport error.
    let acct = ok(fallback.account(&worker.address).await);
    let (num, seq) = devnet.account(&worker.address).expect("account");
    assert_eq!((acct.account_number, acct.sequence), (num, seq));
    assert_eq!(
        ok(fallback.balance(&worker.address).await),
        devnet.balance(&worker.address)
    );
    let stranger = TestWallet::from_mnemonic(
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    );
    assert!(
        matches!(
            fallback.account(&stranger.address).await,
            Err(ChainError::AccountNotFound(_))
        ),
        "unknown account over abci_query"
    );
    assert_eq!(
        fallback.gas_price("uallo").await,
        live.gas_price("uallo").await
    );
    assert!(fallback.gas_price("uallo").await.is_some());

    // Chain id and height over CometBFT `status`.
    assert_eq!(ok(fallback.chain_id().await), devnet.chain_id());
    let h = ok(fallback.latest_height().await);
    assert!(
        (h - devnet.height()).abs() <= 1,
        "height {h} vs {}",
        devnet.height()
    );

    // Open windows: wait for one, then compare everything height-dependent at one height.
    let mut open = Vec::new();
    for _ in 0..100 {
        open = ok(fallback.open_worker_windows(1).await);
        if !open.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!open.is_empty(), "no worker window opened");
    // Fast topic: first nonce at 8, epoch 6.
    assert!(open.iter().all(|n| *n >= 8 && (n - 8) % 6 == 0), "{open:?}");
    let w = worker.address.as_str();
    let r = reputer.address.as_str();
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.open_worker_windows(1).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.open_reputer_windows(1).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.unfulfilled_worker_nonces(1).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.unfulfilled_reputer_nonces(1).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.can_submit_worker(1, w).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.can_submit_reputer(1, r).await)
    })
    .await;
    let status = at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.worker_window_status(1, w).await)
    })
    .await;
    assert!(status.is_registered && status.is_topic_active, "{status:?}");
    at_one_height(&devnet, &fallback, &live, async |c| {
        ok(c.reputer_window_status(1, r).await)
    })
    .await;
    at_one_height(&devnet, &fallback, &live, async |c| {
        c.latest_network_inferences(1).await.ok()
    })
    .await;
    let nonce = open[0];
    at_one_height(&devnet, &fallback, &live, async |c| {
        c.network_inferences_at(1, nonce).await.ok()
    })
    .await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_transports_dead_is_a_clear_unreachable_error() {
    let (grpc, rpc) = (dead_url(), dead_url());
    let c = client(vec![grpc.clone()], vec![rpc.clone()]);
    match c.params().await {
        Err(e @ ChainError::Unreachable { op, tried, .. }) => {
            assert_eq!((op, tried), ("GetParams", 2));
            let msg = e.to_string();
            assert!(msg.contains(&grpc) && msg.contains(&rpc), "{msg}");
            assert!(
                msg.contains("nodeGrpcs") && msg.contains("nodeRpcs"),
                "{msg}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let e = c.chain_id().await.expect_err("no endpoint answers");
    assert!(e.is_transport(), "{e}");
}
