//! Txs in flight: CheckTx accepted them (their sequence is used locally) and they await
//! inclusion. Their confirmation runs beside the actor's loop ([`TxActor::watch`]), so the
//! actor signs the next batch with the next sequence meanwhile; what confirmation found is
//! then acted on in the actor ([`TxActor::land`]): answer the senders, retry after a
//! DeliverTx failure (isolating a bad message), re-sign after an expiry or eviction, or
//! remember the tx as in doubt — exactly the rules a sequential actor followed.

use futures::future::BoxFuture;

use super::broadcast::{Confirm, Step, Watch, confirm_tx};
use super::handle::{Pending, answer_all};
use super::in_doubt::InDoubt;
use super::{AttemptFailure, TxActor, TxChain, TxError, TxOutcome};
use crate::errors::ErrorClass;
use crate::{AbciFailure, ChainError};

/// One tx in flight and what its messages' processing had reached.
#[derive(Debug)]
pub(super) struct Flight {
    pub(super) pending: Vec<Pending>,
    pub(super) hash: String,
    pub(super) sequence: u64,
    pub(super) timeout_height: u64,
    /// Gas limit and price it was signed with (a repricing after "insufficient fee").
    pub(super) priced: (u64, f64),
    /// Remembered as in doubt if confirmation cannot tell its fate.
    pub(super) sent: InDoubt,
    /// Attempts its messages used so far, and the last failure (for giving up).
    pub(super) attempts: u32,
    pub(super) last: AttemptFailure,
}

/// A running confirmation: resolves to the flight and what was found.
pub(super) type Landing = BoxFuture<'static, (Flight, Result<Confirm, ChainError>)>;

impl<C: TxChain> TxActor<C> {
    /// Starts confirming `f` beside the actor.
    pub(super) fn watch(&self, f: Flight) -> Landing {
        let chain = self.chain.clone();
        let address = self.wallet.address().to_owned();
        let (confirm_timeout, poll_interval) = (self.cfg.confirm_timeout, self.cfg.poll_interval);
        Box::pin(async move {
            let w = Watch {
                hash: &f.hash,
                address: &address,
                sequence: Some(f.sequence),
                timeout_height: f.timeout_height,
                confirm_timeout,
                poll_interval,
            };
            let r = confirm_tx(&*chain, &w).await;
            (f, r)
        })
    }

    /// Acts on what confirmation found for `f`; returns the flights of messages sent again.
    pub(super) async fn land(
        &mut self,
        mut f: Flight,
        found: Result<Confirm, ChainError>,
    ) -> Vec<Flight> {
        let hash = f.hash.clone();
        match found {
            Ok(Confirm::Included(r)) if r.code == 0 => {
                let outcome = TxOutcome {
                    tx_hash: hash,
                    height: r.height,
                    dry_run: false,
                };
                self.fees.reset_gas_bump();
                answer_all(f.pending, |_| Ok(outcome.clone()));
                Vec::new()
            }
            Ok(Confirm::Included(r)) => {
                // DeliverTx failed: the tx was included (sequence used, fee paid) but none
                // of its messages applied.
                let r = *r;
                let failure = AbciFailure::new(r.codespace, r.code, r.raw_log);
                let class = ErrorClass::of(&failure);
                let mut last = AttemptFailure::Chain {
                    class: class.clone(),
                    failure: failure.clone(),
                };
                let step = self
                    .on_failure(&mut f.pending, class, failure, Some(f.priced), true)
                    .await;
                self.follow(f.pending, f.attempts, &mut last, step).await
            }
            Ok(found @ (Confirm::Expired | Confirm::Superseded)) => {
                // Never included and now never can be: its sequence was not consumed (and
                // every later one in flight is evicted with it). Messages past their
                // deadline are answered "window closed" by the next round; the others go
                // again.
                let superseded = matches!(found, Confirm::Superseded);
                tracing::warn!(tx_hash = %hash, sequence = f.sequence, timeout_height = f.timeout_height, superseded, "tx dropped without inclusion; sending its messages again");
                if superseded {
                    // Another tx took its sequence: the committed value is the best guess
                    // (a later tx of ours may still be pending; CheckTx then says
                    // "expected N" and that is adopted).
                    self.sequence.forget();
                } else {
                    self.sequence.rewind(f.sequence);
                }
                let last = AttemptFailure::Expired {
                    tx_hash: hash,
                    timeout_height: f.timeout_height,
                };
                self.process_from(f.pending, f.attempts, last).await
            }
            Ok(Confirm::NotSeen) => {
                self.sequence.forget();
                // It may still land: looked up before its messages go again.
                self.remember(f.sent);
                let err = TxError::Timeout {
                    tx_hash: hash,
                    waited: self.cfg.confirm_timeout,
                };
                answer_all(f.pending, |_| Err(err.clone()));
                Vec::new()
            }
            Err(source) => {
                self.sequence.forget();
                self.remember(f.sent);
                let err = TxError::Unconfirmed {
                    tx_hash: hash,
                    source: Box::new(source),
                };
                answer_all(f.pending, |_| Err(err.clone()));
                Vec::new()
            }
        }
    }

    /// Continues `pending` after a step decided outside the attempt loop.
    async fn follow(
        &mut self,
        pending: Vec<Pending>,
        attempts: u32,
        last: &mut AttemptFailure,
        step: Result<Step, Vec<Pending>>,
    ) -> Vec<Flight> {
        let last = std::mem::replace(last, AttemptFailure::None);
        match step {
            Ok(Step::Done) => Vec::new(),
            Ok(Step::Retry) => self.process_from(pending, attempts, last).await,
            Ok(Step::Sent(f)) => vec![*f],
            Ok(Step::Halve(batch)) | Err(batch) => self.bisect(batch).await,
        }
    }
}
