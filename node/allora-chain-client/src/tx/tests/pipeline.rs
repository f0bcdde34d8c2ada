//! Pipelining against the fake chain: several txs in flight with consecutive sequences (and
//! no more than `max_in_flight`), earliest-deadline-first batches capped by message count
//! and bytes, bisection of a multi-message failure without a message index, and sequence
//! recovery when another tx takes a sequence while ours are in flight.

use super::*;
use crate::tx::edf::{TX_OVERHEAD_BYTES, msg_bytes, take_batch};

/// Submits one message per topic through a spawned actor; the answers, in topic order.
fn submit_all(
    handle: &TxHandle,
    topics: std::ops::RangeInclusive<u64>,
) -> Vec<tokio::task::JoinHandle<Result<TxOutcome, TxError>>> {
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    topics
        .map(|t| {
            let h = handle.clone();
            let msg = allora_protocol::register_msg(&wallet, t, false);
            tokio::spawn(async move {
                let meta = SubmitMeta {
                    topic_id: t,
                    nonce: Some(100),
                    kind: "worker_payload",
                    deadline_height: None,
                };
                h.submit(msg, meta).await
            })
        })
        .collect()
}

async fn answers(
    tasks: Vec<tokio::task::JoinHandle<Result<TxOutcome, TxError>>>,
) -> Vec<Result<TxOutcome, TxError>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("submitter"));
    }
    out
}

fn sequences(chain: &Fake) -> Vec<u64> {
    chain.sent().iter().map(|s| s.sequence).collect()
}

#[tokio::test(start_paused = true)]
async fn several_txs_are_in_flight_with_consecutive_sequences_up_to_the_cap() {
    let chain = Fake::new();
    chain.with(|s| s.include = false);
    let mut cfg = config();
    cfg.max_msgs_per_tx = 2;
    cfg.max_in_flight = 3;
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    let handle = TxActor::spawn(chain.clone(), wallet, cfg);
    let tasks = submit_all(&handle, 1..=8);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Three txs broadcast before any block, N, N+1, N+2; the fourth waits for room.
    assert_eq!(sequences(&chain), vec![5, 6, 7]);
    assert!(chain.sent().iter().all(|s| s.msgs == 2));
    chain.commit();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sequences(&chain), vec![5, 6, 7, 8]);
    chain.commit();
    let out = answers(tasks).await;
    let landed: Vec<&TxOutcome> = out.iter().map(|r| r.as_ref().expect("lands")).collect();
    // The first six messages landed in one block, in three txs.
    assert!(landed[..6].iter().all(|o| o.height == 11));
    let mut hashes: Vec<&str> = landed[..6].iter().map(|o| o.tx_hash.as_str()).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), 3);
    assert_eq!(landed[7].height, 12);
}

#[tokio::test(start_paused = true)]
async fn batches_go_earliest_deadline_first_within_message_and_byte_caps() {
    let mut queue = Vec::new();
    // Kept alive so no sender sees its message dropped.
    let mut replies = Vec::new();
    for (topic, deadline) in [(1, Some(30)), (2, None), (3, Some(20)), (4, Some(25))] {
        let (p, r) = pending(topic, deadline);
        queue.push(p);
        replies.push(r);
    }
    let topics = |b: Vec<Pending>| b.iter().map(|p| p.meta.topic_id).collect::<Vec<_>>();
    let mut q: Vec<Pending> = queue;
    assert_eq!(topics(take_batch(&mut q, 2, 1 << 20)), vec![3, 4]);
    assert_eq!(topics(take_batch(&mut q, 2, 1 << 20)), vec![1, 2]);
    assert!(q.is_empty());

    // Bytes: room for exactly two messages, whatever the message cap.
    let mut q: Vec<Pending> = (1..=5).map(|t| pending(t, None).0).collect();
    let two = TX_OVERHEAD_BYTES + 2 * msg_bytes(&q[0]);
    assert_eq!(take_batch(&mut q, 100, two).len(), 2);
    // A single message over the cap is still taken (the chain answers for it).
    assert_eq!(take_batch(&mut q, 100, 1).len(), 1);
    assert_eq!(q.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_bad_message_without_an_index_is_isolated_by_bisection() {
    let chain = Fake::new();
    let mut a = actor(&chain, config());
    let (batch, replies): (Vec<_>, Vec<_>) = (1..=8).map(|t| pending(t, None)).unzip();
    chain.with(|s| s.poison = Some(batch[5].msg.value.clone()));
    a.process(batch).await;
    let mut out = Vec::new();
    for r in replies {
        out.push(r.await.expect("answered"));
    }
    for (i, r) in out.iter().enumerate() {
        if i == 5 {
            let err = r.as_ref().expect_err("poisoned");
            assert_eq!((err.kind(), err.code()), (TxErrorKind::Rejected, Some(83)));
        } else {
            assert!(r.is_ok(), "message {i}: {r:?}");
        }
    }
    // 8 ✗ → 4 ✓ + 4 ✗ → (2 ✗ → 1 ✓ + 1 ✗) + 2 ✓: 7 broadcasts (one message at a time
    // after the first failure would take 9); only the txs without the bad message used a
    // sequence (5, 6, 7).
    let sent = chain.sent();
    let msgs: Vec<usize> = sent.iter().map(|s| s.msgs).collect();
    assert_eq!(msgs, vec![8, 4, 4, 2, 1, 1, 2], "{sent:?}");
    assert_eq!(chain.with(|s| s.sequence), 8);
}

#[tokio::test(start_paused = true)]
async fn a_sequence_taken_while_txs_are_in_flight_is_recovered_without_doubles() {
    let chain = Fake::new();
    chain.with(|s| s.include = false);
    let mut cfg = config();
    cfg.max_msgs_per_tx = 2;
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    let handle = TxActor::spawn(chain.clone(), wallet, cfg);
    let tasks = submit_all(&handle, 1..=4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sequences(&chain), vec![5, 6]);
    // Another process's tx took sequence 5: ours (5 and 6) are evicted on recheck.
    chain.with(|s| {
        s.mempool.clear();
        s.in_mempool = 0;
        s.sequence = 6;
        s.height += 1;
        s.include = true;
    });
    let out = answers(tasks).await;
    let landed: Vec<&TxOutcome> = out.iter().map(|r| r.as_ref().expect("lands")).collect();
    // Both batches were signed again after the chain's committed sequence, each once.
    assert_eq!(sequences(&chain), vec![5, 6, 6, 7]);
    assert_eq!(landed[0].tx_hash, landed[1].tx_hash);
    assert_eq!(landed[2].tx_hash, landed[3].tx_hash);
    assert_ne!(landed[0].tx_hash, landed[2].tx_hash);
    assert_eq!(chain.with(|s| s.included.len()), 2);
}
