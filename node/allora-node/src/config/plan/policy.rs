//! Typed, validated policies the Plan carries, each parsed exactly once here: fees and gas,
//! retries, tx batching, restart backoff, HTTP allowlists and loss methods. Actors and the
//! composition root use these values as they are; nothing downstream re-parses a string.

use std::collections::BTreeMap;
use std::time::Duration;

use allora_protocol::loss::{LossError, LossMethod};
use allora_sandbox::netpolicy::Allowlist;

use super::super::defaults as d;
use super::adapters::AdapterPlan;

/// Gas limit policy (`wallet.gas`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GasLimit {
    /// Simulate each tx and apply `gasAdjustment` once.
    Auto,
    Fixed(u64),
}

/// Gas price policy (`wallet.gasPrices`, uallo per gas unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GasPrice {
    /// The fee market's price × [`FeePlan::price_multiplier`], else the fallback price.
    Auto,
    Fixed(f64),
}

/// How the tx actor pays for gas.
#[derive(Debug, Clone, PartialEq)]
pub struct FeePlan {
    pub gas: GasLimit,
    pub gas_adjustment: f64,
    pub gas_prices: GasPrice,
    /// Cap on the fee of one tx, in uallo (`wallet.maxFees`).
    pub max_fees: u128,
    /// uallo/gas when the fee market does not answer (`gasPrices: "auto"`).
    pub fallback_gas_price: f64,
    /// Headroom on the fee market's price.
    pub price_multiplier: f64,
    pub denom: String,
}

impl Default for FeePlan {
    fn default() -> Self {
        Self {
            gas: GasLimit::Auto,
            gas_adjustment: d::GAS_ADJUSTMENT,
            gas_prices: GasPrice::Auto,
            max_fees: d::MAX_FEES_UALLO,
            fallback_gas_price: d::FALLBACK_GAS_PRICE,
            price_multiplier: d::GAS_PRICE_MULTIPLIER,
            denom: d::FEE_DENOM.to_string(),
        }
    }
}

/// Retries of one nonce (adapter calls and tx) and of the tx actor's batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first (`wallet.maxRetries`).
    pub max_retries: u32,
    /// Wait between attempts (`wallet.retryDelay`).
    pub retry_delay: Duration,
    /// Wait after an account-sequence mismatch (`wallet.accountSequenceRetryDelay`).
    pub sequence_retry_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: d::MAX_RETRIES as u32,
            retry_delay: Duration::from_secs(d::RETRY_DELAY_SECS as u64),
            sequence_retry_delay: Duration::from_secs(d::SEQUENCE_RETRY_DELAY_SECS as u64),
        }
    }
}

/// How the tx actor groups messages into txs and confirms them (`wallet.maxMsgsPerTx`,
/// `wallet.maxTxBytes` and `wallet.maxTxsInFlight` are configurable; the rest is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPolicy {
    pub max_msgs_per_tx: usize,
    pub max_tx_bytes: usize,
    pub max_in_flight: usize,
    pub max_gas_per_tx: u64,
    pub batch_window: Duration,
    pub confirm_timeout: Duration,
    pub confirm_poll: Duration,
    pub sequence_resync: Duration,
    pub timeout_blocks: u64,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self {
            max_msgs_per_tx: d::MAX_MSGS_PER_TX,
            max_tx_bytes: d::MAX_TX_BYTES,
            max_in_flight: d::MAX_TXS_IN_FLIGHT,
            max_gas_per_tx: d::MAX_GAS_PER_TX,
            batch_window: d::BATCH_WINDOW,
            confirm_timeout: d::CONFIRM_TIMEOUT,
            confirm_poll: d::CONFIRM_POLL,
            sequence_resync: d::SEQUENCE_RESYNC,
            timeout_blocks: d::TIMEOUT_BLOCKS,
        }
    }
}

/// How the supervisor restarts a dead actor or tx actor (not configurable; tests shorten it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// First wait; doubles per consecutive failure.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// How often the tx actor's liveness is checked.
    pub watch: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            initial: d::RESTART_BACKOFF_INITIAL,
            max: d::RESTART_BACKOFF_MAX,
            watch: d::SUPERVISOR_WATCH,
        }
    }
}

impl RestartPolicy {
    /// The wait before restart number `failures` (1-based) in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(16);
        self.initial.saturating_mul(1 << shift).min(self.max)
    }
}

/// An adapter's `allowedHosts`: parsed once, by the sandbox's own parser, into the typed
/// policy the sandbox enforces (handed to it as is), plus the text for messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    entries: Vec<String>,
    policy: Allowlist,
}

impl HostAllowlist {
    /// Parses every entry; the error names the index of the first bad entry and why.
    pub fn parse(entries: &[String]) -> Result<Self, (usize, String)> {
        Ok(Self {
            policy: Allowlist::parse_indexed(entries)?,
            entries: entries.to_vec(),
        })
    }

    /// The entries as configured.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// The parsed policy, for [`allora_sandbox::AdapterSpec::allowed_hosts`].
    pub fn policy(&self) -> &Allowlist {
        &self.policy
    }
}

/// Numeric options of a loss method (the Go node's `LossMethodOptions`, minus `loss_method`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossOptions(BTreeMap<String, f64>);

impl LossOptions {
    /// Parses the string options; the error names the option that is not a number.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (k, v) in options {
            if k == "loss_method" {
                continue;
            }
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("option {k} = '{v}' is not a number"))?;
            out.insert(k.clone(), x);
        }
        Ok(Self(out))
    }

    /// The method `name` with these options (unknown names and options are errors).
    pub fn method(&self, name: &str) -> Result<LossMethod, LossError> {
        LossMethod::with_options(name, &self.0)
    }
}

/// How a reputer computes losses.
#[derive(Debug, Clone, PartialEq)]
pub enum LossPlan {
    /// A built-in method, validated with its options.
    Builtin(LossMethod),
    /// The topic's on-chain `loss_method`, resolved at startup with these options.
    FromTopic(LossOptions),
    /// A loss adapter (batched calls).
    Adapter(AdapterPlan),
}

/// `"auto"` (or empty) vs a value: the Go config's convention for gas settings.
fn is_auto(v: &serde_json::Value) -> bool {
    matches!(v, serde_json::Value::String(s) if s.is_empty() || s.eq_ignore_ascii_case("auto"))
}

/// The number in a JSON value written as a number or a string with an optional denom suffix.
fn numeric_text(v: &serde_json::Value, denom: &str) -> String {
    match v {
        serde_json::Value::String(s) => s.trim().trim_end_matches(denom).to_string(),
        other => other.to_string(),
    }
}

/// `wallet.gas`: `"auto"` or a positive integer (number or numeric string).
pub fn parse_gas(v: Option<&serde_json::Value>) -> Result<GasLimit, String> {
    match v {
        None => Ok(GasLimit::Auto),
        Some(v) if is_auto(v) => Ok(GasLimit::Auto),
        Some(v) => match numeric_text(v, "").parse::<u64>() {
            Ok(n) if n > 0 => Ok(GasLimit::Fixed(n)),
            _ => Err(format!(
                "{v} is not \"auto\" or a positive integer gas limit"
            )),
        },
    }
}

/// `wallet.gasPrices`: `"auto"` or a non-negative price in uallo/gas (`"10"`, `"0.025uallo"`).
pub fn parse_gas_price(v: Option<&serde_json::Value>) -> Result<GasPrice, String> {
    match v {
        None => Ok(GasPrice::Auto),
        Some(v) if is_auto(v) => Ok(GasPrice::Auto),
        Some(v) => match numeric_text(v, d::FEE_DENOM).parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(GasPrice::Fixed(p)),
            _ => Err(format!("{v} is not \"auto\" or a price")),
        },
    }
}

/// An amount of uallo (number or string, optional `uallo` suffix); `positive` rejects 0.
pub fn parse_uallo(v: &serde_json::Value, positive: bool) -> Result<u128, String> {
    match numeric_text(v, d::FEE_DENOM).parse::<u128>() {
        Ok(n) if n > 0 || !positive => Ok(n),
        _ if positive => Err(format!("{v} is not a positive amount of uallo")),
        _ => Err(format!("{v} is not a whole amount of uallo")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gas_and_prices_parse_once_with_go_spellings() {
        assert_eq!(parse_gas(None), Ok(GasLimit::Auto));
        assert_eq!(parse_gas(Some(&json!("AUTO"))), Ok(GasLimit::Auto));
        assert_eq!(
            parse_gas(Some(&json!("300000"))),
            Ok(GasLimit::Fixed(300_000))
        );
        assert_eq!(
            parse_gas(Some(&json!(300000))),
            Ok(GasLimit::Fixed(300_000))
        );
        assert!(parse_gas(Some(&json!(0))).is_err());
        assert!(parse_gas(Some(&json!(true))).is_err());
        assert_eq!(
            parse_gas_price(Some(&json!("0.025uallo"))),
            Ok(GasPrice::Fixed(0.025))
        );
        assert_eq!(parse_gas_price(Some(&json!(10))), Ok(GasPrice::Fixed(10.0)));
        assert!(parse_gas_price(Some(&json!("-1"))).is_err());
        assert_eq!(parse_uallo(&json!("5000uallo"), true), Ok(5000));
        assert!(parse_uallo(&json!(0), true).is_err());
        assert_eq!(parse_uallo(&json!(0), false), Ok(0));
    }

    #[test]
    fn restart_backoff_doubles_up_to_the_cap() {
        let p = RestartPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
            watch: Duration::from_secs(1),
        };
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(4), Duration::from_secs(5));
        assert_eq!(p.backoff(100), Duration::from_secs(5));
    }

    #[test]
    fn loss_options_are_numeric_and_skip_the_method_key() {
        let raw = BTreeMap::from([
            ("loss_method".to_string(), "huber".to_string()),
            ("delta".to_string(), "2".to_string()),
        ]);
        let opts = LossOptions::parse(&raw).unwrap();
        assert_eq!(opts.method("huber").unwrap().name(), "huber");
        let bad = BTreeMap::from([("delta".to_string(), "wide".to_string())]);
        assert!(LossOptions::parse(&bad).unwrap_err().contains("delta"));
    }
}
