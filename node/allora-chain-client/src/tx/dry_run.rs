//! `wallet.submitTx = false`: build and sign exactly what would be sent, log it, send
//! nothing, and answer every sender with a `dry_run` outcome.

use cosmos_sdk_proto::Any as CosmosAny;

use super::attempt::timeout_height;
use super::broadcast::Step;
use super::handle::{Pending, answer_all};
use super::sign::{TxParams, build_signed_tx};
use super::{TxActor, TxChain, TxOutcome};
use crate::AccountInfo;

/// Gas limit per message assumed in dry-run mode without a fixed `gas` (nothing simulated).
const DRY_RUN_GAS_PER_MSG: u64 = 250_000;

impl<C: TxChain> TxActor<C> {
    pub(super) async fn dry_run(&mut self, pending: &mut Vec<Pending>, height: i64) -> Step {
        // An account the chain does not know yet (never funded) still gets a signed tx.
        let account = match self
            .sequence
            .ensure(&*self.chain, self.wallet.address(), self.flying > 0)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "dry run without chain account info; using 0/0");
                AccountInfo {
                    account_number: 0,
                    sequence: 0,
                }
            }
        };
        let msgs: Vec<CosmosAny> = pending.iter().map(|p| p.msg.clone()).collect();
        let gas = self
            .cfg
            .fixed_gas
            .unwrap_or(DRY_RUN_GAS_PER_MSG.saturating_mul(msgs.len() as u64));
        let price = self.fees.price(&*self.chain, &self.cfg.fee).await;
        let fee = self.cfg.fee.fee(gas, price).unwrap_or(self.cfg.fee.max_fee);
        let timeout_height = timeout_height(pending, height, self.cfg.default_timeout_blocks);
        let params = TxParams {
            chain_id: self.cfg.chain_id.clone(),
            account_number: account.account_number,
            sequence: account.sequence,
            gas_limit: gas,
            fee_amount: fee,
            fee_denom: self.cfg.fee.denom.clone(),
            timeout_height,
            memo: self.cfg.memo.clone(),
            fee_granter: self.cfg.fee_granter.clone().unwrap_or_default(),
        };
        let (bytes, hash) = build_signed_tx(&self.wallet, &msgs, &params);
        let types: Vec<&str> = msgs.iter().map(|m| m.type_url.as_str()).collect();
        tracing::info!(
            tx_hash = %hash, msgs = msgs.len(), types = ?types, bytes = bytes.len(),
            sequence = params.sequence, gas, fee, timeout_height,
            "dry run (wallet.submitTx = false): tx built and signed, not broadcast"
        );
        let outcome = TxOutcome {
            tx_hash: hash,
            height,
            dry_run: true,
        };
        answer_all(std::mem::take(pending), |_| Ok(outcome.clone()));
        Step::Done
    }
}
