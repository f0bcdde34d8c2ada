//! Interop: the node's own chain stack (ChainClient, TxActor, window events, bundle signing)
//! works against the devnet — registration, a window-opened event over the websocket, and a
//! worker payload that lands inside its window. (The devnet's strictness is tested with an
//! independent client in the other `devnet_*` tests.)

#[path = "support/devnet_client.rs"]
mod devnet_client;
#[path = "support/tx_config.rs"]
mod tx_config;

use std::time::Duration;

use allora_chain_client::events::{WindowEventKind, subscribe};
use allora_chain_client::keys::Wallet;
use allora_chain_client::{ChainClient, Endpoints, SubmitMeta, TxActor};
use allora_protocol as protocol;
use devnet_client::*;
use futures::StreamExt;

#[tokio::test]
async fn node_chain_stack_registers_and_submits_in_the_window() {
    let mut genesis = test_genesis(vec![fast_topic(1)]);
    genesis.params.min_gas_price = "10".to_string();
    let devnet = start(genesis, 200).await;
    let client = ChainClient::new(Endpoints::new(
        vec![devnet.grpc_url()],
        vec![devnet.rpc_url()],
    ))
    .expect("client");
    assert_eq!(client.chain_id().await.expect("chain id"), "devnet-test-1");
    let wallet = Wallet::from_mnemonic(MNEMONICS[0]).expect("wallet");
    let tx = TxActor::spawn(
        client.clone(),
        wallet.clone(),
        tx_config::tx_config("devnet-test-1"),
    );
    let mut events = Box::pin(subscribe(
        vec![devnet.rpc_url()],
        vec![1],
        allora_protocol::EmissionsVersion::V10,
    ));

    let meta = |kind, nonce| SubmitMeta {
        topic_id: 1,
        nonce,
        kind,
        deadline_height: None,
    };
    let out = tx
        .submit(
            protocol::register_msg(&wallet, 1, false),
            meta("register", None),
        )
        .await
        .expect("register");
    assert!(out.height > 0);
    assert!(
        client
            .is_worker_registered(1, wallet.address())
            .await
            .expect("query")
    );

    let opened = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let e = events.next().await.expect("event stream");
            if e.kind == WindowEventKind::WorkerOpened {
                return e;
            }
        }
    })
    .await
    .expect("worker window opens");
    assert_eq!(
        (
            opened.topic_id,
            opened.nonce_block_height,
            opened.window_end_block
        ),
        (1, 8, Some(12))
    );

    let bundle =
        protocol::sign_worker_bundle(&wallet, 1, 8, Some(vec![("y".into(), "2.5".into())]), None)
            .expect("sign");
    let out = tx
        .submit(
            protocol::insert_worker_payload_msg(&wallet, bundle),
            SubmitMeta {
                topic_id: 1,
                nonce: Some(8),
                kind: "worker_payload",
                deadline_height: Some(11),
            },
        )
        .await
        .expect("payload included");
    assert!((8..=11).contains(&out.height), "included at {}", out.height);
    assert_eq!(devnet.worker_payloads(1, 8).len(), 1);
    devnet.shutdown().await;
}
