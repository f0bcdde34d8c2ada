//! Window events from the devnet's CometBFT websocket: typed events decoded, topic filter
//! applied, a dropped websocket resubscribed, and polling as the fallback when no
//! websocket is reachable.

#[path = "support/devnet_client.rs"]
mod devnet_client;

use std::time::Duration;

use allora_chain_client::events::{self, WindowEvent, WindowEventKind};
use allora_chain_client::{ChainClient, Endpoints};
use devnet_client::*;
use futures::{Stream, StreamExt};

async fn next_matching(
    s: &mut (impl Stream<Item = WindowEvent> + Unpin),
    pred: impl Fn(&WindowEvent) -> bool,
    within: Duration,
) -> WindowEvent {
    tokio::time::timeout(within, async {
        loop {
            let e = s.next().await.expect("stream does not end");
            if pred(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event arrives in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_events_survive_a_dropped_connection() {
    let devnet = start(test_genesis(vec![fast_topic(1), fast_topic(2)]), 200).await;
    let mut s = Box::pin(events::subscribe(
        vec![devnet.rpc_url()],
        vec![1],
        allora_protocol::EmissionsVersion::V10,
    ));

    let first = next_matching(
        &mut s,
        |e| e.kind == WindowEventKind::WorkerOpened,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(first.topic_id, 1);
    assert!(first.window_end_block.is_some());
    assert!(devnet.worker_nonces(1).contains(&first.nonce_block_height));

    // A closed event follows for the same nonce; topic 2 never shows up (filtered).
    let closed = next_matching(
        &mut s,
        |e| e.kind == WindowEventKind::WorkerClosed,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(closed.topic_id, 1);

    // Drop every open connection: the subscriber must reconnect, resubscribe and keep
    // delivering later windows.
    devnet.faults().drop_connections();
    let after = next_matching(
        &mut s,
        |e| {
            e.kind == WindowEventKind::WorkerOpened
                && e.nonce_block_height > first.nonce_block_height
        },
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(after.topic_id, 1);
    // no event of the other topic got through the filter
    let mut seen_other = false;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(50), s.next()).await {
        seen_other |= e.topic_id != 1;
    }
    assert!(!seen_other);
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_fallback_without_websocket() {
    let devnet = start(test_genesis(vec![fast_topic(1)]), 200).await;
    let client = ChainClient::new(Endpoints::new(
        vec![devnet.grpc_url()],
        vec![devnet.rpc_url()],
    ))
    .expect("client");
    // RPC endpoint that refuses connections: only polling can deliver.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut s = Box::pin(events::watch_windows(
        client,
        vec![dead_url],
        vec![1],
        Duration::from_millis(150),
    ));
    let e = next_matching(
        &mut s,
        |e| e.kind == WindowEventKind::WorkerOpened,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(e.topic_id, 1);
    assert!(devnet.worker_nonces(1).contains(&e.nonce_block_height));
    // the same window is reported once even though every poll sees it
    let repeat = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            let n = s.next().await.expect("stream");
            if n == e {
                return n;
            }
        }
    })
    .await;
    assert!(repeat.is_err(), "window {e:?} reported twice");
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_topics_use_exists_queries_and_filter_locally() {
    let devnet = start(
        test_genesis(vec![fast_topic(1), fast_topic(2), fast_topic(3)]),
        200,
    )
    .await;
    let mut s = Box::pin(events::subscribe(
        vec![devnet.rpc_url()],
        vec![1, 2],
        allora_protocol::EmissionsVersion::V10,
    ));
    let mut opened = std::collections::BTreeSet::new();
    let mut seen_three = false;
    tokio::time::timeout(Duration::from_secs(20), async {
        while opened.len() < 2 {
            let e = s.next().await.expect("stream does not end");
            seen_three |= e.topic_id == 3;
            if e.kind == WindowEventKind::WorkerOpened {
                opened.insert(e.topic_id);
            }
        }
    })
    .await
    .expect("both topics' windows arrive");
    assert_eq!(opened.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(!seen_three, "topic 3 is filtered out");
    devnet.shutdown().await;
}
