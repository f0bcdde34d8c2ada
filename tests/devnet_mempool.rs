//! The devnet's mempool behaves like CometBFT's with the Cosmos SDK's CheckTx: CheckTx runs
//! against a check state in which every accepted tx advances its sender's sequence (so one
//! wallet's N, N+1, N+2 are all accepted before a block and included in order, in one
//! block); a CheckTx failure of N leaves the check state at N, so N+1 fails with the SDK's
//! "account sequence mismatch, expected N, got N+1" (code 32); a block takes txs in order up
//! to `block.max_bytes`; after a commit the rest are rechecked and the stale ones evicted.

#[path = "support/devnet_client.rs"]
mod devnet_client;

use devnet_client::*;

async fn setup() -> (allora_devnet::DevnetHandle, Client, TestWallet) {
    let devnet = start(
        test_genesis(vec![
            fast_topic(1),
            fast_topic(2),
            fast_topic(3),
            fast_topic(4),
        ]),
        200,
    )
    .await;
    let client = Client::connect(&devnet).await;
    let w = TestWallet::from_mnemonic(MNEMONICS[0]);
    (devnet, client, w)
}

/// A register tx for `topic` signed with `sequence` (and `timeout_height`, 0 = none).
async fn reg(
    c: &Client,
    w: &TestWallet,
    topic: u64,
    sequence: u64,
    timeout_height: u32,
) -> Vec<u8> {
    let opts = TxOpts {
        sequence: Some(sequence),
        timeout_height,
        ..Default::default()
    };
    c.build_tx(w, vec![register(w, topic, false)], &opts).await
}

#[tokio::test]
async fn consecutive_sequences_are_accepted_before_a_block_and_land_in_one_in_order() {
    let (devnet, c, w) = setup().await;
    devnet.faults().pause_blocks();
    let mut hashes = Vec::new();
    for seq in 0..3u64 {
        let r = c.broadcast(reg(&c, &w, seq + 1, seq, 0).await).await;
        assert_eq!(r.code, 0, "seq {seq}: {}", r.raw_log);
        hashes.push(r.txhash);
    }
    // A gap is refused against the check state (expected 3), not the committed state (0).
    let r = c.broadcast(reg(&c, &w, 4, 4, 0).await).await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 32));
    assert_eq!(
        r.raw_log,
        "account sequence mismatch, expected 3, got 4: incorrect account sequence"
    );
    assert_eq!(devnet.mempool(), hashes);
    let block = devnet.produce_block();
    assert_eq!(
        block.block.tx_hashes, hashes,
        "one block, in sequence order"
    );
    assert!(block.txs.iter().all(|t| t.accepted()));
    assert_eq!(c.account(&w.address).await.1, 3);
    assert!(devnet.mempool().is_empty());
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_checktx_failure_of_n_makes_n_plus_one_a_sequence_mismatch() {
    let (devnet, c, w) = setup().await;
    devnet.faults().pause_blocks();
    let bad = TxOpts {
        sequence: Some(0),
        corrupt_signature: true,
        ..Default::default()
    };
    let r = c
        .broadcast(c.build_tx(&w, vec![register(&w, 1, false)], &bad).await)
        .await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 4), "{}", r.raw_log);
    let r = c.broadcast(reg(&c, &w, 2, 1, 0).await).await;
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 32));
    assert_eq!(
        r.raw_log,
        "account sequence mismatch, expected 0, got 1: incorrect account sequence"
    );
    // N itself, signed properly, is still accepted: nothing was consumed.
    let r = c.broadcast(reg(&c, &w, 1, 0, 0).await).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    devnet.shutdown().await;
}

#[tokio::test]
async fn block_max_bytes_leaves_txs_for_later_blocks_and_recheck_evicts_stale_ones() {
    let (devnet, c, w) = setup().await;
    devnet.faults().pause_blocks();
    let h = devnet.height() as u32;
    let txs = vec![
        reg(&c, &w, 1, 0, 0).await,
        reg(&c, &w, 2, 1, 0).await,
        // Valid now, but by the time a block could take it the chain is past h + 1.
        reg(&c, &w, 3, 2, h + 1).await,
        reg(&c, &w, 4, 3, 0).await,
    ];
    // Room for one tx per block.
    let one = txs.iter().map(|t| t.len()).max().expect("txs") as u64;
    devnet.faults().set_block_max_bytes(one + 10);
    let mut hashes = Vec::new();
    for tx in txs {
        let r = c.broadcast(tx).await;
        assert_eq!(r.code, 0, "{}", r.raw_log);
        hashes.push(r.txhash);
    }
    let b1 = devnet.produce_block();
    assert_eq!(b1.block.tx_hashes, hashes[..1]);
    // Recheck at h + 1 keeps all three: sequences 1, 2, 3 follow the committed 1.
    assert_eq!(devnet.mempool(), hashes[1..]);
    let b2 = devnet.produce_block();
    assert_eq!(b2.block.tx_hashes, hashes[1..2]);
    // Recheck at h + 2: sequence 2's timeout height passed (evicted), so sequence 3 is now
    // a gap (evicted too), as CometBFT's recheck does.
    assert!(devnet.mempool().is_empty(), "{:?}", devnet.mempool());
    let b3 = devnet.produce_block();
    assert!(b3.block.tx_hashes.is_empty());
    assert!(devnet.tx_result(&hashes[2]).is_none() && devnet.tx_result(&hashes[3]).is_none());
    assert_eq!(c.account(&w.address).await.1, 2);
    // The check state agrees: sequence 2 is what the chain expects next.
    let r = c.broadcast(reg(&c, &w, 3, 2, 0).await).await;
    assert_eq!(r.code, 0, "{}", r.raw_log);
    devnet.shutdown().await;
}
