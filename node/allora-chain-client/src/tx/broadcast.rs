//! Broadcast and confirmation: send the signed bytes (sync), remember a broadcast whose
//! answer may have been lost, poll for inclusion until `confirm_timeout` or the tx's
//! `timeout_height`, and settle a batch whose earlier broadcast turns out to be included —
//! so a tx that landed is never sent twice (DESIGN.md, exactly once).

use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use tokio::time::Instant;

use super::handle::{Pending, answer_all};
use super::{TxActor, TxChain, TxOutcome};
use crate::ChainError;

/// How many polls pass between two height checks while confirming.
const HEIGHT_CHECK_EVERY: u32 = 4;

/// What confirmation found.
pub(super) enum Confirm {
    Included(Box<TxResponse>),
    /// The chain passed the tx's `timeout_height` without including it.
    Expired,
    /// Still unknown after `confirm_timeout`.
    NotSeen,
}

/// How a batch's processing continues after one step.
pub(super) enum Step {
    /// Try the (possibly reduced) batch again.
    Retry,
    /// Everything answered.
    Done,
    /// The batch needs more gas than `max_gas_per_tx`: send it as two halves (each halved
    /// again if needed), so a large batch becomes a few txs rather than one per message.
    Halve(Vec<Pending>),
}

impl<C: TxChain> TxActor<C> {
    /// Broadcasts; the CheckTx result. Any transport doubt (the call failed, or an endpoint
    /// failed before another answered) records the hash as maybe sent.
    pub(super) async fn send(
        &mut self,
        bytes: Vec<u8>,
        hash: &str,
        timeout_height: u64,
    ) -> Result<TxResponse, ChainError> {
        let failures_before = self.chain.transport_failures();
        match self.chain.broadcast(bytes).await {
            Ok(r) => {
                // An endpoint failed during this broadcast before another answered: the
                // failed one may have taken the tx into its mempool anyway.
                if self.chain.transport_failures() > failures_before {
                    self.maybe_sent = Some((hash.to_owned(), timeout_height));
                }
                Ok(r)
            }
            Err(e) => {
                // It may or may not have reached a mempool: re-read the sequence first and
                // remember the hash so a landed tx is not sent twice.
                self.sequence.forget();
                self.maybe_sent = Some((hash.to_owned(), timeout_height));
                Err(e)
            }
        }
    }

    /// Polls `GetTx` until the tx is in a block or `confirm_timeout` passes.
    /// Stops early once the chain is past `timeout_height` (the tx can no longer be
    /// included).
    pub(super) async fn confirm(
        &self,
        hash: &str,
        timeout_height: u64,
    ) -> Result<Confirm, ChainError> {
        let start = Instant::now();
        let mut polls: u32 = 0;
        loop {
            let last_err = match self.chain.get_tx(hash).await {
                Ok(Some(r)) => return Ok(Confirm::Included(Box::new(r))),
                Ok(None) => None,
                Err(e) => Some(e),
            };
            polls += 1;
            if polls.is_multiple_of(HEIGHT_CHECK_EVERY)
                && let Ok(h) = self.chain.latest_height().await
                && h > timeout_height as i64
            {
                // One last look: the tx may have landed in the final valid block.
                if let Ok(Some(r)) = self.chain.get_tx(hash).await {
                    return Ok(Confirm::Included(Box::new(r)));
                }
                return Ok(Confirm::Expired);
            }
            if start.elapsed() >= self.cfg.confirm_timeout {
                return match last_err {
                    Some(e) => Err(e),
                    None => Ok(Confirm::NotSeen),
                };
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }

    /// If an earlier broadcast of this batch lost its answer, looks it up (`wait` = poll up
    /// to `confirm_timeout`, else one lookup). Included and successful → answers everyone.
    pub(super) async fn settle_lost_broadcast(
        &mut self,
        pending: &mut Vec<Pending>,
        wait: bool,
    ) -> Option<Step> {
        let (hash, timeout_height) = self.maybe_sent.clone()?;
        let found = if wait {
            match self.confirm(&hash, timeout_height).await {
                Ok(Confirm::Included(r)) => Some(*r),
                _ => None,
            }
        } else {
            self.chain.get_tx(&hash).await.ok().flatten()
        };
        let r = found?;
        self.maybe_sent = None;
        self.sequence.forget();
        if r.code != 0 {
            // It landed but failed; the normal path resends with a fresh sequence.
            return None;
        }
        tracing::info!(tx_hash = %hash, height = r.height, "a broadcast whose answer was lost is included");
        let outcome = TxOutcome {
            tx_hash: hash,
            height: r.height,
            dry_run: false,
        };
        answer_all(std::mem::take(pending), |_| Ok(outcome.clone()));
        Some(Step::Done)
    }
}
