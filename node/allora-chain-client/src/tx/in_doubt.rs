//! Broadcasts whose fate is unknown — the answer was lost, or confirmation timed out — kept
//! across batches until they are settled (protocol reference I, re-broadcast discipline):
//!
//! - before anything is sent, each one is looked up by hash; if it was included, the
//!   messages waiting now for the same (kind, topic, nonce) are answered with its outcome
//!   instead of being sent again;
//! - while one may still land (mempool, or not yet past its `timeout_height`), a retry of
//!   its messages is signed with **its** account sequence, so that the original landing
//!   makes the retry fail cheaply at CheckTx instead of landing twice;
//! - it is dropped once it is included, past its `timeout_height`, or its sequence was
//!   consumed by another tx (then it can never land).

use super::handle::{Pending, answer_all};
use super::{TxActor, TxChain, TxOutcome};

/// Unsettled broadcasts kept at most (oldest dropped first; each expires by height anyway).
const KEEP: usize = 32;

/// What a message is about, for matching a retry to an earlier broadcast of the same
/// submission (the retry carries new bytes: the adapter ran again).
pub(super) type MsgKey = (&'static str, u64, Option<i64>);

fn key(p: &Pending) -> MsgKey {
    (p.meta.kind, p.meta.topic_id, p.meta.nonce)
}

/// One broadcast that may or may not be in a mempool or a block.
#[derive(Debug, Clone)]
pub(super) struct InDoubt {
    pub(super) hash: String,
    pub(super) sequence: u64,
    pub(super) timeout_height: u64,
    keys: Vec<MsgKey>,
    /// The received batch it was sent for.
    batch: u64,
}

impl InDoubt {
    pub(super) fn of(
        hash: &str,
        sequence: u64,
        timeout_height: u64,
        pending: &[Pending],
        batch: u64,
    ) -> InDoubt {
        InDoubt {
            hash: hash.to_owned(),
            sequence,
            timeout_height,
            keys: pending.iter().map(key).collect(),
            batch,
        }
    }

    /// Whether `p` (of received batch `batch`) is a message this tx carried. A payload is
    /// matched by its nonce in any later batch (a retry of the same submission); messages
    /// without a nonce (register, add_stake) only within the same batch, since a later one
    /// may be a new decision (another top-up) that the earlier tx does not fulfil.
    pub(super) fn carried(&self, p: &Pending, batch: u64) -> bool {
        let k = key(p);
        self.keys.contains(&k) && (k.2.is_some() || self.batch == batch)
    }

    fn covers(&self, pending: &[Pending], batch: u64) -> bool {
        pending.iter().any(|p| self.carried(p, batch))
    }
}

/// What one lookup found.
enum Fate {
    Landed(TxOutcome),
    /// Included but failed, expired, or its sequence went to another tx.
    Gone,
    Unknown,
}

impl<C: TxChain> TxActor<C> {
    /// Remembers a broadcast whose fate is unknown.
    pub(super) fn remember(&mut self, d: InDoubt) {
        tracing::info!(tx_hash = %d.hash, sequence = d.sequence, timeout_height = d.timeout_height, "broadcast in doubt; it is looked up before its messages are sent again");
        self.in_doubt.retain(|o| o.hash != d.hash);
        if self.in_doubt.len() == KEEP {
            self.in_doubt.remove(0);
        }
        self.in_doubt.push(d);
    }

    /// The sequence a retry of `pending` must reuse: that of an unsettled broadcast that
    /// carried some of the same messages.
    pub(super) fn pinned_sequence(&self, pending: &[Pending]) -> Option<u64> {
        self.in_doubt
            .iter()
            .filter(|d| d.covers(pending, self.batch))
            .map(|d| d.sequence)
            .min()
    }

    /// Whether an unsettled broadcast carried some of `pending`'s messages.
    pub(super) fn has_in_doubt(&self, pending: &[Pending]) -> bool {
        self.in_doubt.iter().any(|d| d.covers(pending, self.batch))
    }

    async fn fate(&self, d: &InDoubt, height: i64) -> Fate {
        // The sequence first: if it moved past `d.sequence` and the tx is still not found
        // afterwards, another tx took the sequence (blocks commit before lookups see them).
        let consumed = match self.chain.account(self.wallet.address()).await {
            Ok(a) => a.sequence > d.sequence,
            Err(_) => false,
        };
        match self.chain.get_tx(&d.hash).await {
            Ok(Some(r)) if r.code == 0 => Fate::Landed(TxOutcome {
                tx_hash: d.hash.clone(),
                height: r.height,
                dry_run: false,
            }),
            Ok(Some(_)) => Fate::Gone,
            Ok(None) if consumed || height > d.timeout_height as i64 => Fate::Gone,
            _ => Fate::Unknown,
        }
    }

    /// Looks every unsettled broadcast up once (at chain height `height`); answers the
    /// messages of `pending` that one of them already delivered and drops those settled.
    /// `Done` when nothing is left to send.
    pub(super) async fn settle_in_doubt(
        &mut self,
        pending: &mut Vec<Pending>,
        height: i64,
    ) -> bool {
        let mut keep = Vec::new();
        for d in std::mem::take(&mut self.in_doubt) {
            match self.fate(&d, height).await {
                Fate::Landed(outcome) => {
                    self.sequence.forget();
                    let (done, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(pending)
                        .into_iter()
                        .partition(|p| d.carried(p, self.batch));
                    *pending = rest;
                    if !done.is_empty() {
                        tracing::info!(tx_hash = %d.hash, height = outcome.height, msgs = done.len(), "an earlier broadcast of these messages is included; not sending them again");
                    }
                    answer_all(done, |_| Ok(outcome.clone()));
                }
                Fate::Gone => {
                    self.sequence.forget();
                    tracing::debug!(tx_hash = %d.hash, "broadcast in doubt settled: it cannot land");
                }
                Fate::Unknown => keep.push(d),
            }
        }
        self.in_doubt = keep;
        pending.is_empty()
    }
}
