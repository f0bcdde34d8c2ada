//! One build → simulate → broadcast round of a batch (confirmation follows in `flight`), and
//! what each chain failure means for it ([`ErrorClass`], classified once from the chain's answer): resync the
//! sequence, reprice, bump gas, wait, treat as done, give up on one message or the batch.

use cosmos_sdk_proto::Any as CosmosAny;

use super::broadcast::Step;
use super::flight::Flight;
use super::handle::{Pending, announce_signed, answer_all};
use super::in_doubt::InDoubt;
use super::sign::{TxParams, build_signed_tx};
use super::{AttemptFailure, TxActor, TxChain, TxError, Unfunded, WindowClosed};
use crate::errors::{ErrorClass, parse_message_index};
use crate::{AbciFailure, ChainError};

/// `timeout_height` of a batch: the earliest message deadline (never below the next
/// block), else `default_blocks` past `height`.
pub(super) fn timeout_height(pending: &[Pending], height: i64, default_blocks: u64) -> u64 {
    pending
        .iter()
        .filter_map(|p| p.meta.deadline_height)
        .min()
        .map(|d| d.max(height + 1) as u64)
        .unwrap_or(height as u64 + default_blocks)
}

/// Answers (window closed) and removes the messages whose deadline is at or below `height`.
fn drop_closed(pending: &mut Vec<Pending>, height: i64) {
    let (closed, open): (Vec<Pending>, Vec<Pending>) = std::mem::take(pending)
        .into_iter()
        .partition(|p| p.meta.deadline_height.is_some_and(|d| d <= height));
    *pending = open;
    for p in closed {
        let deadline = p.meta.deadline_height.unwrap_or_default();
        p.answer(Err(TxError::WindowClosed(WindowClosed::Deadline {
            deadline,
            height,
        })));
    }
}

impl<C: TxChain> TxActor<C> {
    /// Records a failure that is retried after `retry_delay`.
    async fn retry_later(&self, last: &mut AttemptFailure, e: ChainError) -> Step {
        *last = AttemptFailure::Query(e);
        tokio::time::sleep(self.cfg.retry_delay).await;
        Step::Retry
    }

    /// One round, up to CheckTx (`Step::Sent` hands the tx over to confirmation).
    /// `Err(batch)`: a multi-message failure without a message index; the caller bisects.
    pub(super) async fn attempt(
        &mut self,
        pending: &mut Vec<Pending>,
        last: &mut AttemptFailure,
    ) -> Result<Step, Vec<Pending>> {
        let height = match self.chain.latest_height().await {
            Ok(h) => h,
            Err(e) => return Ok(self.retry_later(last, e).await),
        };
        // An earlier broadcast of these messages may have landed: answer from it first.
        if self.settle_in_doubt(pending, height).await {
            return Ok(Step::Done);
        }
        drop_closed(pending, height);
        if pending.is_empty() {
            return Ok(Step::Done);
        }
        if !self.cfg.submit_tx {
            return Ok(self.dry_run(pending, height).await);
        }
        let account = match self
            .sequence
            .ensure(&*self.chain, self.wallet.address(), self.flying > 0)
            .await
        {
            Ok(a) => a,
            Err(ChainError::AccountNotFound(address)) => {
                let err = TxError::Unfunded(Unfunded::NoAccount { address });
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                return Ok(Step::Done);
            }
            Err(e) => return Ok(self.retry_later(last, e).await),
        };
        let timeout_height = timeout_height(pending, height, self.cfg.default_timeout_blocks);
        let msgs: Vec<CosmosAny> = pending.iter().map(|p| p.msg.clone()).collect();
        let mut params = TxParams {
            chain_id: self.cfg.chain_id.clone(),
            account_number: account.account_number,
            // A retry of messages whose earlier broadcast may still land reuses its
            // sequence: if the original lands, this one fails at CheckTx, not twice.
            sequence: self.pinned_sequence(pending).unwrap_or(account.sequence),
            gas_limit: self.cfg.max_gas_per_tx,
            fee_amount: 0,
            fee_denom: self.cfg.fee.denom.clone(),
            timeout_height,
            memo: self.cfg.memo.clone(),
            fee_granter: self.cfg.fee_granter.clone().unwrap_or_default(),
        };

        // Gas: simulate once, adjust once.
        let gas = match self.cfg.fixed_gas {
            Some(g) => g,
            None => {
                let (sim_bytes, _) = build_signed_tx(&self.wallet, &msgs, &params);
                match self.chain.simulate(sim_bytes).await {
                    Ok(used) => self.fees.gas_limit(used, self.cfg.gas_adjustment),
                    Err(e) => match e.abci_failure() {
                        // The chain refused the simulated tx: same rules as CheckTx.
                        Some(failure) => {
                            let class = ErrorClass::of(&failure);
                            *last = AttemptFailure::Chain {
                                class: class.clone(),
                                failure: failure.clone(),
                            };
                            return self.on_failure(pending, class, failure, None, false).await;
                        }
                        None => return Ok(self.retry_later(last, e).await),
                    },
                }
            }
        };
        if gas > self.cfg.max_gas_per_tx && pending.len() > 1 {
            return Ok(Step::Halve(std::mem::take(pending)));
        }
        let price = self.fees.price(&*self.chain, &self.cfg.fee).await;
        let fee = match self.cfg.fee.fee(gas, price) {
            Ok(f) => f,
            Err(source) => {
                let err = TxError::Fee {
                    source,
                    chain: None,
                };
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                return Ok(Step::Done);
            }
        };
        params.gas_limit = gas;
        params.fee_amount = fee;
        let (bytes, hash) = build_signed_tx(&self.wallet, &msgs, &params);
        announce_signed(pending, &hash, timeout_height).await;
        tracing::debug!(tx_hash = %hash, msgs = msgs.len(), gas, fee, sequence = params.sequence, timeout_height, "broadcasting");
        let sent = InDoubt::of(&hash, params.sequence, timeout_height, pending, self.batch);
        let resp = match self.send(bytes, sent.clone()).await {
            Ok(r) => r,
            Err(e) => return Ok(self.retry_later(last, e).await),
        };
        if resp.code != 0 {
            let failure = AbciFailure::new(resp.codespace, resp.code, resp.raw_log);
            let class = ErrorClass::of(&failure);
            if class != ErrorClass::AlreadyInMempool {
                *last = AttemptFailure::Chain {
                    class: class.clone(),
                    failure: failure.clone(),
                };
                // "expected N+1" after a lost broadcast: that tx is probably in the mempool;
                // wait for it instead of sending the messages a second time.
                if matches!(class, ErrorClass::Sequence { .. })
                    && self.has_in_doubt(pending)
                    && self.wait_in_doubt(pending, height).await
                {
                    return Ok(Step::Done);
                }
                // CheckTx failed: the sequence was not consumed; never advance it here.
                return self
                    .on_failure(pending, class, failure, Some((gas, price)), false)
                    .await;
            }
        }
        // Accepted into the mempool (or already there): this sequence is used, and the
        // messages await inclusion while the actor goes on with the next batch.
        self.sequence.mark_used(params.sequence);
        Ok(Step::Sent(Box::new(Flight {
            pending: std::mem::take(pending),
            hash,
            sequence: params.sequence,
            timeout_height,
            priced: (gas, price),
            sent,
            attempts: 0,
            last: AttemptFailure::None,
        })))
    }

    /// Acts on a failed simulate / CheckTx / DeliverTx, by its class.
    pub(super) async fn on_failure(
        &mut self,
        pending: &mut Vec<Pending>,
        class: ErrorClass,
        failure: AbciFailure,
        priced: Option<(u64, f64)>,
        delivered: bool,
    ) -> Result<Step, Vec<Pending>> {
        tracing::warn!(codespace = %failure.codespace, code = failure.code, ?class, delivered, log = %failure.log, "tx attempt failed");
        match class {
            ErrorClass::Sequence { expected } => {
                self.sequence.adopt_expected(expected);
                tokio::time::sleep(self.cfg.sequence_retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::InsufficientFee { required } => {
                let (gas, price) = match priced {
                    Some(p) => p,
                    None => (
                        self.cfg.max_gas_per_tx,
                        self.fees.price(&*self.chain, &self.cfg.fee).await,
                    ),
                };
                match self.fees.reprice(&self.cfg.fee, gas, price, required) {
                    Ok(_) => Ok(Step::Retry),
                    Err(source) => {
                        let err = TxError::Fee {
                            source,
                            chain: Some(failure),
                        };
                        answer_all(std::mem::take(pending), |_| Err(err.clone()));
                        Ok(Step::Done)
                    }
                }
            }
            ErrorClass::OutOfGas => {
                if self.fees.bump_gas() {
                    return Ok(Step::Retry);
                }
                let err = TxError::OutOfGas(failure);
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                Ok(Step::Done)
            }
            ErrorClass::Busy => {
                tokio::time::sleep(self.cfg.retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::AlreadyInMempool => {
                // Only reachable from simulate; wait a block and look again.
                self.sequence.forget();
                tokio::time::sleep(self.cfg.retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::Unfunded => {
                let err = TxError::Unfunded(Unfunded::Chain(failure));
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                Ok(Step::Done)
            }
            ErrorClass::FeeGrant(problem) => {
                // Retrying cannot help until the operator fixes the grant: answer now.
                let granter = self.cfg.fee_granter.clone().unwrap_or_default();
                tracing::error!(granter = %granter, wallet = %self.wallet.address(), ?problem, fix = problem.fix(), "fee granter does not pay for this wallet");
                let err = TxError::FeeGrant {
                    granter,
                    problem,
                    failure,
                };
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                Ok(Step::Done)
            }
            ErrorClass::AlreadySubmitted | ErrorClass::WindowClosed | ErrorClass::Rejected => {
                let index = parse_message_index(&failure.log);
                let err = TxError::per_message(&class, failure);
                if pending.len() == 1 {
                    answer_all(std::mem::take(pending), |_| Err(err.clone()));
                    return Ok(Step::Done);
                }
                match index {
                    Some(i) if i < pending.len() => {
                        // Only message i failed; the others were not applied (atomic tx)
                        // and go again.
                        pending.remove(i).answer(Err(err));
                        Ok(Step::Retry)
                    }
                    _ => Err(std::mem::take(pending)),
                }
            }
        }
    }
}
