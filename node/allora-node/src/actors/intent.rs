//! Non-idempotent txs (register, add-stake) as **intents**: recorded in the ledger with
//! the tx's hard deadline (its `timeout_height`) before anything is broadcast, and with
//! each signed tx's hash as soon as it is signed (the tx actor waits for that record before
//! broadcasting). After a confirmation timeout, a crash or a restart, the intent's fate is
//! read from the chain before anything is sent again:
//!
//! - one of its hashes is included and succeeded → it **landed** (nothing to resend);
//! - none did and the chain is past the deadline → it is **gone** (no tx of it can land any
//!   more; the caller re-reads the chain state and may send again);
//! - otherwise it **may still land** → send nothing.
//!
//! So a register or an AddStake is never sent while an earlier one may still land, and the
//! chain state is always re-read after an intent resolves.

use tokio::sync::mpsc;

use super::ActorEnv;
use super::ledger::{Intent, LedgerError};
use super::ports::{Included, Outgoing, QueryError, SignedTx, SubmitMeta, TxFailure};

/// Blocks an intent's tx may wait for inclusion: its `timeout_height` is this far past the
/// height when the intent was recorded, so after that it can never land.
pub const TX_BLOCKS: i64 = 20;

/// What the chain says about a recorded intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// No intent is recorded under the key.
    Absent,
    /// A tx of it is included and succeeded.
    Landed { tx_hash: String, height: i64 },
    /// None of its txs is included and the chain is past its deadline.
    Gone { deadline: i64, height: i64 },
    /// Not (yet) included and the deadline not passed: it may still land.
    MayLand { deadline: i64, height: i64 },
}

/// Why an intent could not be resolved or sent.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error("chain query: {0}")]
    Query(#[from] QueryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("tx: {0}")]
    Tx(#[from] TxFailure),
}

/// Looks the intent under `key` up on the chain: its hashes first, then the height.
pub async fn fate(env: &ActorEnv, key: &str) -> Result<Fate, IntentError> {
    let Some(intent) = env.ledger.intent(key) else {
        return Ok(Fate::Absent);
    };
    for hash in intent.tx_hashes.iter().rev() {
        match env.chain.tx_landed(hash).await? {
            Some(landed) if landed.code == 0 => {
                return Ok(Fate::Landed {
                    tx_hash: hash.clone(),
                    height: landed.height,
                });
            }
            Some(landed) => {
                // Included but failed (e.g. out of gas): its messages did not apply.
                tracing::info!(key, tx_hash = %hash, code = landed.code, "an intent's tx was included but failed");
            }
            None => {}
        }
    }
    let height = env.chain.latest_height().await?;
    let deadline = intent.deadline;
    Ok(if height > deadline {
        Fate::Gone { deadline, height }
    } else {
        Fate::MayLand { deadline, height }
    })
}

/// Forgets a resolved intent; a failed write is logged (the next check resolves it again).
pub async fn clear_logged(env: &ActorEnv, key: &str) {
    if let Err(err) = env.ledger.clear_intent(key).await {
        tracing::warn!(key, error = %err, "cannot clear a resolved intent; the next check resolves it again");
    }
}

/// Records the intent (deadline [`TX_BLOCKS`] ahead) durably, submits `out` with that
/// deadline, records each signed tx's hash before its broadcast, and clears the intent
/// once the tx is included. On any failure the intent stays: its fate is looked up before
/// anything is sent again.
pub async fn send(
    env: &ActorEnv,
    key: &str,
    kind: &'static str,
    amount: u128,
    out: Outgoing,
    topic_id: u64,
) -> Result<Included, IntentError> {
    let deadline = env.chain.latest_height().await? + TX_BLOCKS;
    let intent = Intent {
        kind: kind.to_string(),
        amount,
        tx_hashes: Vec::new(),
        deadline,
    };
    env.ledger.record_intent(key, intent).await?;
    tracing::debug!(key, deadline, "intent recorded before broadcast");
    let meta = SubmitMeta {
        topic_id,
        nonce: None,
        kind,
        deadline_height: Some(deadline),
    };
    let (sink, mut signed) = mpsc::unbounded_channel();
    let submit = env.tx.submit_observed(out, meta, sink);
    tokio::pin!(submit);
    let result = loop {
        tokio::select! {
            Some(notice) = signed.recv() => record_hash(env, key, notice).await,
            r = &mut submit => break r,
        }
    };
    // A notice the actor stopped waiting for (it broadcast anyway): still record it.
    while let Ok(notice) = signed.try_recv() {
        record_hash(env, key, notice).await;
    }
    let included = result?;
    clear_logged(env, key).await;
    Ok(included)
}

/// Makes a signed tx's hash durable, then lets the tx actor broadcast it.
async fn record_hash(env: &ActorEnv, key: &str, notice: SignedTx) {
    let timeout_height = i64::try_from(notice.timeout_height).unwrap_or(i64::MAX);
    match env
        .ledger
        .add_intent_hash(key, &notice.tx_hash, timeout_height)
        .await
    {
        Ok(_) => {
            tracing::debug!(key, tx_hash = %notice.tx_hash, timeout_height, "intent tx hash recorded")
        }
        // The deadline recorded before submitting still bounds this tx.
        Err(err) => {
            tracing::warn!(key, tx_hash = %notice.tx_hash, error = %err, "cannot record an intent's tx hash")
        }
    }
    let _ = notice.recorded.send(());
}

#[cfg(test)]
mod tests {
    use super::super::fakes::rig;
    use super::super::ports::Role;
    use super::super::ports::{TxErrorKind, TxLanded};
    use super::super::registration::{Registered, ensure_registered, top_up_stake};
    use super::*;
    use std::time::Duration;

    fn sent(r: &super::super::fakes::Rig) -> Vec<String> {
        r.tx.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// A lost AddStake confirmation whose tx landed is found by its hash before the
    /// deadline: nothing is sent again, and the intent is cleared.
    #[tokio::test]
    async fn a_lost_add_stake_found_by_hash_is_not_sent_again() {
        let r = rig(false);
        r.chain.0.lock().unwrap().stake = 30;
        let lost = TxFailure::new(TxErrorKind::Timeout, None, "not confirmed in time");
        r.tx.fail.lock().unwrap().push(lost);
        assert!(!top_up_stake(&r.env, 2, 100).await);
        let intent = r.env.ledger.intent("add_stake/2").expect("intent kept");
        assert_eq!(
            intent.tx_hashes,
            ["FAKE0"],
            "hash recorded before broadcast"
        );
        assert_eq!(intent.deadline, 10 + TX_BLOCKS);
        // It landed, but the stake query (a lagging node) does not show it yet: nothing
        // is sent, the intent is resolved, and the next check reads the stake again.
        let landed = TxLanded {
            height: 11,
            code: 0,
        };
        r.chain
            .0
            .lock()
            .unwrap()
            .landed
            .insert("FAKE0".into(), landed);
        assert!(matches!(
            fate(&r.env, "add_stake/2").await.unwrap(),
            Fate::Landed { .. }
        ));
        assert!(!top_up_stake(&r.env, 2, 100).await);
        assert!(sent(&r).is_empty(), "{:?}", sent(&r));
        assert!(r.env.ledger.intent("add_stake/2").is_none());
        r.chain.0.lock().unwrap().stake = 100;
        assert!(top_up_stake(&r.env, 2, 100).await);
        assert!(
            sent(&r).is_empty(),
            "stake equals minStake: nothing to send"
        );
    }

    /// A register whose confirmation was lost is not sent again while it may land; after
    /// its deadline (never included) it is sent once more.
    #[tokio::test]
    async fn a_lost_register_is_not_sent_twice_while_it_may_land() {
        let r = rig(false);
        let lost = TxFailure::new(TxErrorKind::Timeout, None, "not confirmed in time");
        r.tx.fail.lock().unwrap().push(lost);
        let key = "register_worker/1";
        let env = r.env.clone();
        let first = tokio::spawn(async move {
            ensure_registered(&env, 1, Role::Worker, Duration::from_millis(20)).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(sent(&r).is_empty(), "nothing more sent while it may land");
        let intent = r.env.ledger.intent(key).expect("register intent recorded");
        assert_eq!(intent.tx_hashes, ["FAKE0"]);
        assert!(matches!(
            fate(&r.env, key).await.unwrap(),
            Fate::MayLand { .. }
        ));
        // Past the deadline without inclusion: registered by exactly one more tx.
        r.chain.0.lock().unwrap().height = 11 + TX_BLOCKS;
        assert_eq!(first.await.unwrap(), Registered::Yes);
        assert_eq!(sent(&r), ["register worker 1"]);
        assert!(r.env.ledger.intent(key).is_none());
    }
}
