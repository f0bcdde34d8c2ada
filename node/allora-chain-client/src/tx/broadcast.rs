//! Broadcast and confirmation: send the signed bytes (sync), remember a broadcast whose
//! answer may have been lost (`in_doubt`), poll for inclusion until `confirm_timeout`, the
//! tx's `timeout_height`, or its sequence going to another tx, and wait for an earlier broadcast the chain's sequence says
//! is pending — so a tx that landed is never sent twice (DESIGN.md, exactly once).

use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use tokio::time::Instant;

use super::flight::Flight;
use super::handle::Pending;
use super::in_doubt::InDoubt;
use super::{TxActor, TxChain};
use crate::ChainError;

/// How many polls pass between two height checks while confirming.
const HEIGHT_CHECK_EVERY: u32 = 4;

/// What confirmation found.
pub(super) enum Confirm {
    Included(Box<TxResponse>),
    /// The chain passed the tx's `timeout_height` without including it.
    Expired,
    /// Not included and never can be: the account's committed sequence passed the tx's
    /// own (another tx took it), so the mempool's recheck has evicted it.
    Superseded,
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
    /// CheckTx accepted the tx; its messages await inclusion.
    Sent(Box<Flight>),
}

/// What [`confirm_tx`] watches.
pub(super) struct Watch<'a> {
    pub(super) hash: &'a str,
    /// The signer, to notice a sequence taken by another tx (with `sequence`).
    pub(super) address: &'a str,
    /// The tx's own sequence, when it is known to be this actor's (not an old in-doubt one).
    pub(super) sequence: Option<u64>,
    pub(super) timeout_height: u64,
    pub(super) confirm_timeout: std::time::Duration,
    pub(super) poll_interval: std::time::Duration,
}

/// Polls `GetTx` until the tx is in a block or `confirm_timeout` passes. Every few polls
/// it checks whether the tx can still land: once the chain is past `timeout_height` it is
/// `Expired`; once the account's committed sequence passed the tx's own without it being
/// found it is `Superseded` (the sequence is read first, then the tx looked up once more,
/// so a tx committed in between is still found).
pub(super) async fn confirm_tx<C: TxChain>(
    chain: &C,
    w: &Watch<'_>,
) -> Result<Confirm, ChainError> {
    let start = Instant::now();
    let mut polls: u32 = 0;
    loop {
        let last_err = match chain.get_tx(w.hash).await {
            Ok(Some(r)) => return Ok(Confirm::Included(Box::new(r))),
            Ok(None) => None,
            Err(e) => Some(e),
        };
        polls += 1;
        if polls.is_multiple_of(HEIGHT_CHECK_EVERY) {
            let expired =
                matches!(chain.latest_height().await, Ok(h) if h > w.timeout_height as i64);
            let superseded = match w.sequence {
                Some(s) => matches!(chain.account(w.address).await, Ok(a) if a.sequence > s),
                None => false,
            };
            if expired || superseded {
                // One last look: the tx may have landed in the final valid block.
                if let Ok(Some(r)) = chain.get_tx(w.hash).await {
                    return Ok(Confirm::Included(Box::new(r)));
                }
                return Ok(if expired {
                    Confirm::Expired
                } else {
                    Confirm::Superseded
                });
            }
        }
        if start.elapsed() >= w.confirm_timeout {
            return match last_err {
                Some(e) => Err(e),
                None => Ok(Confirm::NotSeen),
            };
        }
        tokio::time::sleep(w.poll_interval).await;
    }
}

impl<C: TxChain> TxActor<C> {
    /// Broadcasts; the CheckTx result. Any transport doubt (the call failed, or an endpoint
    /// failed before another answered) remembers the tx as in doubt (`in_doubt`), so that
    /// it is looked up before its messages are sent again.
    pub(super) async fn send(
        &mut self,
        bytes: Vec<u8>,
        sent: InDoubt,
    ) -> Result<TxResponse, ChainError> {
        let failures_before = self.chain.transport_failures();
        match self.chain.broadcast(bytes).await {
            Ok(r) => {
                // An endpoint failed during this broadcast before another answered: the
                // failed one may have taken the tx into its mempool anyway.
                if self.chain.transport_failures() > failures_before {
                    self.remember(sent);
                }
                Ok(r)
            }
            Err(e) => {
                // It may or may not have reached a mempool: re-read the sequence first and
                // remember the hash so a landed tx is not sent twice.
                self.sequence.forget();
                self.remember(sent);
                Err(e)
            }
        }
    }

    /// Polls `GetTx` until the tx is in a block or `confirm_timeout` passes (see
    /// [`confirm_tx`]).
    pub(super) async fn confirm(
        &self,
        hash: &str,
        timeout_height: u64,
    ) -> Result<Confirm, ChainError> {
        let watch = Watch {
            hash,
            address: self.wallet.address(),
            sequence: None,
            timeout_height,
            confirm_timeout: self.cfg.confirm_timeout,
            poll_interval: self.cfg.poll_interval,
        };
        confirm_tx(&*self.chain, &watch).await
    }

    /// After "expected N+1" for a batch with an earlier broadcast in doubt: that tx is
    /// probably in a mempool, so wait (up to `confirm_timeout` each) for those covering
    /// `pending`, then settle. True when nothing is left to send.
    pub(super) async fn wait_in_doubt(&mut self, pending: &mut Vec<Pending>, height: i64) -> bool {
        let covering: Vec<InDoubt> = self
            .in_doubt
            .iter()
            .filter(|d| pending.iter().any(|p| d.carried(p, self.batch)))
            .cloned()
            .collect();
        for d in &covering {
            let _ = self.confirm(&d.hash, d.timeout_height).await;
        }
        let height = self.chain.latest_height().await.unwrap_or(height);
        self.settle_in_doubt(pending, height).await
    }
}
