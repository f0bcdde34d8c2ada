//! Gas and fee arithmetic: simulated gas × `gasAdjustment` (applied once), gas price from
//! the feemarket (× a multiplier) or a static fallback, and the `maxFees` cap.
//!
//! Kept free of I/O so the rules are unit-tested exactly. [`FeePolicy`] has no defaults:
//! the node's plan supplies every value.

use thiserror::Error;

/// How the tx actor prices gas.
#[derive(Debug, Clone, PartialEq)]
pub struct FeePolicy {
    /// Fee denom (`uallo`).
    pub denom: String,
    /// Multiplier on the feemarket price (headroom for price moves between query and
    /// inclusion).
    pub price_multiplier: f64,
    /// Gas price (denom per gas) when the feemarket query fails or is not served, or the
    /// fixed price when `gasPrices` is a number in the config.
    pub fallback_gas_price: f64,
    /// Use the feemarket query (`gasPrices: "auto"`); otherwise always the fixed price.
    pub dynamic: bool,
    /// Largest fee (denom units) one tx may pay (`maxFees`).
    pub max_fee: u128,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeError {
    #[error(
        "the tx needs at least {needed}{denom} in fees but wallet.maxFees is {max}; raise maxFees or wait for lower gas prices"
    )]
    AboveMax {
        needed: u128,
        max: u128,
        denom: String,
    },
}

/// Gas limit from a simulation: `ceil(gas_used × adjustment)`, at least `gas_used`.
pub fn gas_limit(gas_used: u64, adjustment: f64) -> u64 {
    let adj = if adjustment.is_finite() && adjustment >= 1.0 {
        adjustment
    } else {
        1.0
    };
    let v = (gas_used as f64 * adj).ceil();
    if v >= u64::MAX as f64 {
        u64::MAX
    } else {
        (v as u64).max(gas_used)
    }
}

/// `ceil(gas × price)` in denom units.
pub fn fee_for(gas: u64, price: f64) -> u128 {
    if !(price.is_finite() && price > 0.0) {
        return 0;
    }
    (gas as f64 * price).ceil() as u128
}

/// A feemarket `DecCoin.amount`: gRPC carries cosmos `LegacyDec` as the integer scaled by
/// 10^18 (reference §A.2); a REST/JSON value has a decimal point. Returns denom per gas.
pub fn parse_gas_price(amount: &str) -> Option<f64> {
    if amount.is_empty() {
        return None;
    }
    let v = if amount.contains('.') {
        amount.parse::<f64>().ok()?
    } else {
        amount.parse::<u128>().ok()? as f64 / 1e18
    };
    (v.is_finite() && v >= 0.0).then_some(v)
}

impl FeePolicy {
    /// Base gas price: the feemarket's when known (and dynamic), else the fallback.
    pub fn base_price(&self, market: Option<f64>) -> f64 {
        match market {
            Some(p) if self.dynamic && p > 0.0 => p,
            _ => self.fallback_gas_price,
        }
    }

    /// Fee for `gas` at the base price × multiplier, capped by `max_fee`. Fails only when
    /// even the base price (no multiplier) exceeds the cap: a fee below the node's minimum
    /// would be rejected anyway.
    pub fn fee(&self, gas: u64, base_price: f64) -> Result<u128, FeeError> {
        let floor = fee_for(gas, base_price);
        if floor > self.max_fee {
            return Err(FeeError::AboveMax {
                needed: floor,
                max: self.max_fee,
                denom: self.denom.clone(),
            });
        }
        let wanted = fee_for(gas, base_price * self.price_multiplier.max(1.0));
        Ok(wanted.min(self.max_fee))
    }

    /// After "insufficient fee": the price implied by the node's `required` amount (+10%)
    /// or, without it, 1.5× the last price; `Err` when that exceeds the cap.
    pub fn reprice(
        &self,
        gas: u64,
        last_price: f64,
        required: Option<u128>,
    ) -> Result<f64, FeeError> {
        let next = match required {
            Some(r) if gas > 0 => (r as f64 / gas as f64) * 1.1,
            _ => last_price * 1.5,
        }
        .max(last_price * 1.1);
        let needed = fee_for(gas, next);
        if needed > self.max_fee {
            return Err(FeeError::AboveMax {
                needed,
                max: self.max_fee,
                denom: self.denom.clone(),
            });
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy for the arithmetic tests; each test overrides what it checks.
    fn policy() -> FeePolicy {
        FeePolicy {
            denom: "uallo".into(),
            price_multiplier: 1.5,
            fallback_gas_price: 10.0,
            dynamic: true,
            max_fee: 5_000_000,
        }
    }

    #[test]
    fn gas_adjustment_once() {
        assert_eq!(gas_limit(100_000, 1.5), 150_000);
        assert_eq!(gas_limit(100_001, 1.5), 150_002); // ceil(150001.5)
        assert_eq!(gas_limit(100_000, 0.5), 100_000); // never below the simulated amount
        assert_eq!(gas_limit(100_000, f64::NAN), 100_000);
    }

    #[test]
    fn fee_is_ceiled() {
        assert_eq!(fee_for(200_000, 10.0), 2_000_000);
        assert_eq!(fee_for(3, 0.5), 2);
        assert_eq!(fee_for(100, 0.0), 0);
    }

    #[test]
    fn legacy_dec_scaled_prices() {
        assert_eq!(parse_gas_price("10000000000000000000"), Some(10.0));
        assert_eq!(parse_gas_price("25000000000000000"), Some(0.025));
        assert_eq!(parse_gas_price("0.025000000000000000"), Some(0.025));
        assert_eq!(parse_gas_price(""), None);
        assert_eq!(parse_gas_price("abc"), None);
    }

    #[test]
    fn multiplier_and_cap() {
        let p = FeePolicy {
            max_fee: 1_000_000,
            price_multiplier: 2.0,
            ..policy()
        };
        // 100k gas × 4 × 2 = 800k, under the cap
        assert_eq!(p.fee(100_000, 4.0), Ok(800_000));
        // 100k × 6 × 2 = 1.2M → capped at 1M (the base 600k fits)
        assert_eq!(p.fee(100_000, 6.0), Ok(1_000_000));
        // base alone 1.1M > cap → error naming the numbers
        let err = p.fee(100_000, 11.0).unwrap_err();
        assert_eq!(
            err,
            FeeError::AboveMax {
                needed: 1_100_000,
                max: 1_000_000,
                denom: "uallo".into()
            }
        );
        assert!(err.to_string().contains("maxFees"));
    }

    #[test]
    fn static_fallback() {
        let p = FeePolicy {
            fallback_gas_price: 3.0,
            ..policy()
        };
        assert_eq!(p.base_price(None), 3.0);
        assert_eq!(p.base_price(Some(7.0)), 7.0);
        assert_eq!(p.base_price(Some(0.0)), 3.0);
        let fixed = FeePolicy {
            dynamic: false,
            fallback_gas_price: 3.0,
            ..policy()
        };
        assert_eq!(fixed.base_price(Some(7.0)), 3.0);
    }

    #[test]
    fn reprice_follows_required_and_respects_cap() {
        let p = FeePolicy {
            max_fee: 1_000_000,
            ..policy()
        };
        // node said 200_000 for 100_000 gas → 2.0/gas, +10%
        let next = p.reprice(100_000, 1.0, Some(200_000)).unwrap();
        assert!((next - 2.2).abs() < 1e-9);
        // without a number: 1.5× the last price
        assert!((p.reprice(100_000, 2.0, None).unwrap() - 3.0).abs() < 1e-9);
        // never lower than +10% even if "required" is below what we paid
        assert!((p.reprice(100_000, 5.0, Some(1)).unwrap() - 5.5).abs() < 1e-9);
        assert!(matches!(
            p.reprice(100_000, 1.0, Some(2_000_000)),
            Err(FeeError::AboveMax { .. })
        ));
    }
}
