//! Gas and fee arithmetic: gas limit from `Simulate` × `gasAdjustment` (applied once) or a
//! fixed limit; gas price from the feemarket `GasPrice` query × a multiplier, with a static
//! fallback; fee = ceil(gas × price), capped by `maxFees`.
//!
//! The feemarket returns a `DecCoin` whose `amount` is a `LegacyDec`; over gRPC it is the
//! integer scaled by 10^18 (protocol reference §A.7), over JSON it has a decimal point.

/// How the gas limit is chosen (`wallet.gas`: `"auto"` or a number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GasSetting {
    /// Simulate and multiply by the adjustment.
    Auto { adjustment: f64 },
    /// A fixed gas limit; no simulation.
    Fixed(u64),
}

/// How the gas price is chosen (`wallet.gasPrices`: `"auto"` or a number in uallo/gas).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceSetting {
    /// feemarket `GasPrice` × `multiplier`; `fallback` when the query fails.
    Auto { multiplier: f64, fallback: f64 },
    /// A fixed price in uallo per gas unit.
    Fixed(f64),
}

/// Fee policy of one wallet.
#[derive(Debug, Clone, PartialEq)]
pub struct FeeConfig {
    pub gas: GasSetting,
    pub price: PriceSetting,
    /// Upper bound of the fee of one tx, in uallo (`wallet.maxFees`).
    pub max_fee: u128,
    pub denom: String,
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig {
            gas: GasSetting::Auto { adjustment: 1.5 },
            price: PriceSetting::Auto {
                multiplier: 1.0,
                fallback: 10.0,
            },
            max_fee: 5_000_000,
            denom: "uallo".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeeError {
    #[error("gas price amount {0:?} is not a decimal")]
    BadPrice(String),
}

/// Gas limit: `simulated × adjustment` rounded up (adjustment applied exactly once).
pub fn gas_limit(setting: GasSetting, simulated_gas_used: u64) -> u64 {
    match setting {
        GasSetting::Fixed(g) => g,
        GasSetting::Auto { adjustment } => {
            let adj = if adjustment.is_finite() && adjustment >= 1.0 {
                adjustment
            } else {
                1.0
            };
            (simulated_gas_used as f64 * adj).ceil() as u64
        }
    }
}

/// Parses a feemarket `DecCoin.amount` into uallo per gas unit.
pub fn parse_gas_price(amount: &str) -> Result<f64, FeeError> {
    let bad = || FeeError::BadPrice(amount.to_string());
    let a = amount.trim();
    if a.is_empty() {
        return Err(bad());
    }
    let v = if a.contains('.') || a.contains('e') || a.contains('E') {
        a.parse::<f64>().map_err(|_| bad())?
    } else {
        // LegacyDec over gRPC: an integer carrying 18 decimal places.
        let n: u128 = a.parse().map_err(|_| bad())?;
        n as f64 / 1e18
    };
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// The price to pay per gas unit given the queried price (if the query worked).
pub fn effective_price(setting: PriceSetting, queried: Option<f64>) -> f64 {
    match setting {
        PriceSetting::Fixed(p) => p,
        PriceSetting::Auto {
            multiplier,
            fallback,
        } => match queried {
            Some(p) => p * multiplier,
            None => fallback,
        },
    }
}

/// A priced fee: the amount and whether it was cut down to `max_fee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub amount: u128,
    pub gas_limit: u64,
    pub capped: bool,
}

/// `ceil(gas × price)`, capped at `max_fee`.
pub fn fee_for(gas_limit: u64, price: f64, max_fee: u128) -> Fee {
    let raw = (gas_limit as f64 * price.max(0.0)).ceil();
    let amount = if raw >= max_fee as f64 {
        max_fee
    } else {
        raw as u128
    };
    Fee {
        amount,
        gas_limit,
        capped: raw > max_fee as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_adjustment_is_applied_once_and_rounds_up() {
        assert_eq!(
            gas_limit(GasSetting::Auto { adjustment: 1.5 }, 100_001),
            150_002
        );
        assert_eq!(gas_limit(GasSetting::Auto { adjustment: 1.0 }, 7), 7);
        assert_eq!(gas_limit(GasSetting::Fixed(300_000), 7), 300_000);
        // A nonsensical adjustment never shrinks the simulated gas.
        assert_eq!(gas_limit(GasSetting::Auto { adjustment: 0.5 }, 1000), 1000);
        assert_eq!(
            gas_limit(
                GasSetting::Auto {
                    adjustment: f64::NAN
                },
                1000
            ),
            1000
        );
    }

    #[test]
    fn feemarket_amount_scaling() {
        assert_eq!(parse_gas_price("10000000000000000000").unwrap(), 10.0);
        assert_eq!(
            parse_gas_price("250000000000000000000000000").unwrap(),
            250_000_000.0
        );
        assert_eq!(parse_gas_price("500000000000000000").unwrap(), 0.5);
        assert_eq!(parse_gas_price("10.000000000000000000").unwrap(), 10.0);
        assert!(parse_gas_price("").is_err());
        assert!(parse_gas_price("ten").is_err());
        assert!(parse_gas_price("-1.0").is_err());
    }

    #[test]
    fn price_multiplier_and_fallback() {
        let auto = PriceSetting::Auto {
            multiplier: 3.0,
            fallback: 10.0,
        };
        assert_eq!(effective_price(auto, Some(2.0)), 6.0);
        assert_eq!(effective_price(auto, None), 10.0);
        assert_eq!(effective_price(PriceSetting::Fixed(4.0), Some(100.0)), 4.0);
    }

    #[test]
    fn fee_rounds_up_and_caps() {
        let f = fee_for(150_002, 10.0, 5_000_000);
        assert_eq!((f.amount, f.capped), (1_500_020, false));
        let f = fee_for(3, 0.5, 100);
        assert_eq!(f.amount, 2);
        let f = fee_for(1_000_000, 10.0, 5_000_000);
        assert_eq!(
            (f.amount, f.capped, f.gas_limit),
            (5_000_000, true, 1_000_000)
        );
        let f = fee_for(500_000, 10.0, 5_000_000);
        assert_eq!((f.amount, f.capped), (5_000_000, false));
    }
}
