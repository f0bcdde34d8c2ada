//! The fee oracle of a tx actor: the gas limit (simulated × `gasAdjustment` once, × a bump
//! after "out of gas") and the gas price (feemarket, cached for [`PRICE_TTL`], × multiplier
//! and capped by the [`FeePolicy`]; raised after "insufficient fee"). The arithmetic is
//! [`crate::fees`]'s; this holds the state between attempts.

use std::time::Duration;

use tokio::time::Instant;

use super::TxChain;
use crate::fees::{FeeError, FeePolicy, gas_limit};

/// How long a feemarket price is reused.
pub(super) const PRICE_TTL: Duration = Duration::from_secs(30);

/// Factor on the gas limit after each "out of gas".
const GAS_BUMP_STEP: f64 = 1.3;

/// Largest gas bump before the batch is answered "out of gas": a tx that needs 4× its
/// simulation is not a simulation error.
const GAS_BUMP_MAX: f64 = 4.0;

#[derive(Debug)]
pub(super) struct FeeOracle {
    /// Last feemarket answer (`None` = not served) and when it was read.
    market: Option<(Option<f64>, Instant)>,
    /// A price raised after "insufficient fee"; dropped when a fresh market price is read.
    bumped_price: Option<f64>,
    gas_bump: f64,
}

impl FeeOracle {
    pub(super) fn new() -> FeeOracle {
        FeeOracle {
            market: None,
            bumped_price: None,
            gas_bump: 1.0,
        }
    }

    /// Gas price per unit: the (cached) feemarket price or the policy's fixed one, never
    /// below a price raised after "insufficient fee".
    pub(super) async fn price(&mut self, chain: &impl TxChain, policy: &FeePolicy) -> f64 {
        if policy.dynamic {
            let fresh = self.market.is_some_and(|(_, t)| t.elapsed() < PRICE_TTL);
            if !fresh {
                let p = chain.gas_price(&policy.denom).await;
                self.market = Some((p, Instant::now()));
                self.bumped_price = None;
            }
        }
        let base = policy.base_price(self.market.and_then(|(p, _)| p));
        self.bumped_price.map_or(base, |b| b.max(base))
    }

    /// Gas limit for a simulated `used`: adjusted once, then bumped after "out of gas".
    pub(super) fn gas_limit(&self, used: u64, adjustment: f64) -> u64 {
        (gas_limit(used, adjustment) as f64 * self.gas_bump).ceil() as u64
    }

    /// After "insufficient fee": raise the price (from the node's `required` when given).
    /// `Err` when the new price would pass `maxFees`.
    pub(super) fn reprice(
        &mut self,
        policy: &FeePolicy,
        gas: u64,
        price: f64,
        required: Option<u128>,
    ) -> Result<f64, FeeError> {
        let next = policy.reprice(gas, price, required)?;
        tracing::info!(
            from = price,
            to = next,
            "repricing gas after insufficient fee"
        );
        self.bumped_price = Some(next);
        Ok(next)
    }

    /// After "out of gas": more gas next time. `false` once the bump passed its cap (the
    /// bump is then reset for the next batch).
    pub(super) fn bump_gas(&mut self) -> bool {
        self.gas_bump *= GAS_BUMP_STEP;
        if self.gas_bump > GAS_BUMP_MAX {
            self.gas_bump = 1.0;
            return false;
        }
        true
    }

    /// A tx went through: later batches start from the plain simulation again.
    pub(super) fn reset_gas_bump(&mut self) {
        self.gas_bump = 1.0;
    }
}
