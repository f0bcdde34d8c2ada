//! Devnet genesis: funded accounts, topics and module params, loadable from JSON
//! (`allora-node devnet --genesis file.json`) or built in code by tests. The default genesis
//! uses fixed, publicly documented TEST mnemonics (docs/DEVNET.md) — never use them on a
//! real network.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

/// Fixed test mnemonics (BIP-39 of `sha256("allora-node devnet test account N")`). Public.
pub const TEST_MNEMONICS: [&str; 5] = [
    "dress click fat sand issue outer churn tilt unique river blind vicious argue palace news response chuckle arrive harbor discover hollow neither hawk guitar",
    "brick season ensure bachelor alarm voyage secret hello genuine lemon artefact response afraid person shop vault patrol stereo question involve champion icon toilet expect",
    "replace enough happy remove sting excess bright antique banner mutual evolve camera arrive gallery vanish toilet city express wall essence find promote fit argue",
    "black left illness yellow pipe crush crucial eternal coffee wage apple around sense grit swamp adapt vintage canal dumb ability option vanish earn piece",
    "fiction winter tag trouble sight accuse salad rapid whisper core stadium major fog sugar village foot please produce fatigue tuna problem prevent saddle hedgehog",
];

/// Default balance of each test account: 1,000,000 ALLO-cents worth of uallo, plenty for fees.
pub const DEFAULT_TEST_BALANCE: u128 = 1_000_000_000_000_000;

/// The whole genesis document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    #[serde(default)]
    pub topics: Vec<GenesisTopic>,
    #[serde(default)]
    pub params: GenesisParams,
    /// x/feegrant `BasicAllowance`s present at genesis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_grants: Vec<GenesisFeeGrant>,
}

/// A `BasicAllowance` from `granter` to `grantee` (both `allo1…` addresses). The grantee
/// gets an empty account if it has none, as `MsgGrantAllowance` does on chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenesisFeeGrant {
    pub granter: String,
    pub grantee: String,
    /// uallo the grantee may spend on fees; absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_limit: Option<u128>,
    /// Unix seconds after which the allowance has expired; absent = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_unix: Option<i64>,
}

/// A funded account, given by mnemonic (address derived at m/44'/118'/0'/0/0) or address.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnemonic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// uallo.
    #[serde(deserialize_with = "de_amount", serialize_with = "ser_amount")]
    pub balance: u128,
}

/// A topic; it is active from genesis and its first epoch starts at `first_epoch_block`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenesisTopic {
    pub id: u64,
    #[serde(default)]
    pub metadata: String,
    #[serde(default = "default_loss_method")]
    pub loss_method: String,
    pub epoch_length: i64,
    pub ground_truth_lag: i64,
    pub worker_submission_window: i64,
    #[serde(default)]
    pub allow_negative: bool,
    /// First worker nonce height; defaults to `epoch_length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_epoch_block: Option<i64>,
    /// When set, only these addresses may submit worker payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_whitelist: Option<Vec<String>>,
    /// When set, only these addresses may submit reputer payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reputer_whitelist: Option<Vec<String>>,
    /// Allowed inference labels (v10 multi-output); empty = any label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_whitelist: Vec<String>,
    /// Seconds mode: `epoch_length`, `ground_truth_lag` and `worker_submission_window` are
    /// wall-clock seconds and windows are checked against block time (see `wallclock`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wall_clock: bool,
}

fn default_loss_method() -> String {
    "mse".to_string()
}

/// Module params the devnet enforces (amounts in uallo).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GenesisParams {
    #[serde(deserialize_with = "de_amount", serialize_with = "ser_amount")]
    pub registration_fee: u128,
    #[serde(deserialize_with = "de_amount", serialize_with = "ser_amount")]
    pub data_sending_fee: u128,
    #[serde(deserialize_with = "de_amount", serialize_with = "ser_amount")]
    pub required_minimum_stake: u128,
    /// Minimum gas price in uallo per gas unit, a decimal string (e.g. "10", "0.025").
    pub min_gas_price: String,
    pub max_serialized_msg_length: i64,
    pub max_unfulfilled_worker_requests: u64,
    pub max_unfulfilled_reputer_requests: u64,
    pub max_elements_per_forecast: u64,
    pub max_string_length: u64,
}

impl Default for GenesisParams {
    fn default() -> Self {
        // Chain DefaultParams (reference §C.4) plus a non-zero min gas price so fee logic runs.
        GenesisParams {
            registration_fee: 200,
            data_sending_fee: 10,
            required_minimum_stake: 10_000,
            min_gas_price: "10".to_string(),
            max_serialized_msg_length: 1_000_000,
            max_unfulfilled_worker_requests: 100,
            max_unfulfilled_reputer_requests: 100,
            max_elements_per_forecast: 12,
            max_string_length: 255,
        }
    }
}

/// A genesis file that cannot be used, naming the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid genesis JSON in {path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("genesis {field}: {problem}")]
    Invalid { field: String, problem: String },
}

impl Genesis {
    /// The default devnet: the five test mnemonics funded, and two topics with short epochs.
    pub fn default_devnet() -> Genesis {
        Genesis {
            accounts: TEST_MNEMONICS
                .iter()
                .map(|m| GenesisAccount {
                    mnemonic: Some((*m).to_string()),
                    address: None,
                    balance: DEFAULT_TEST_BALANCE,
                })
                .collect(),
            topics: vec![
                GenesisTopic {
                    id: 1,
                    metadata: "ETH 5-block price prediction (devnet)".to_string(),
                    loss_method: "mse".to_string(),
                    epoch_length: 10,
                    ground_truth_lag: 10,
                    worker_submission_window: 5,
                    allow_negative: false,
                    first_epoch_block: None,
                    worker_whitelist: None,
                    reputer_whitelist: None,
                    label_whitelist: Vec::new(),
                    wall_clock: false,
                },
                GenesisTopic {
                    id: 2,
                    metadata: "BTC log-return prediction (devnet)".to_string(),
                    loss_method: "mse".to_string(),
                    epoch_length: 20,
                    ground_truth_lag: 20,
                    worker_submission_window: 10,
                    allow_negative: true,
                    first_epoch_block: None,
                    worker_whitelist: None,
                    reputer_whitelist: None,
                    label_whitelist: Vec::new(),
                    wall_clock: false,
                },
            ],
            params: GenesisParams::default(),
            fee_grants: Vec::new(),
        }
    }

    /// Reads and validates a genesis JSON file.
    pub fn from_file(path: &Path) -> Result<Genesis, GenesisError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read {
            path: shown.clone(),
            source,
        })?;
        let g: Genesis = serde_json::from_str(&text).map_err(|source| GenesisError::Json {
            path: shown,
            source,
        })?;
        g.validate()?;
        Ok(g)
    }

    /// Checks the rules the chain enforces on topics (reference §C.4, topic creation).
    pub fn validate(&self) -> Result<(), GenesisError> {
        let invalid = |field: String, problem: &str| GenesisError::Invalid {
            field,
            problem: problem.to_string(),
        };
        for (i, a) in self.accounts.iter().enumerate() {
            if a.mnemonic.is_some() == a.address.is_some() {
                return Err(invalid(
                    format!("accounts[{i}]"),
                    "give exactly one of `mnemonic` or `address`",
                ));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, t) in self.topics.iter().enumerate() {
            let f = |name: &str| format!("topics[{i}].{name}");
            if t.id == 0 {
                return Err(invalid(f("id"), "topic ids start at 1"));
            }
            if !ids.insert(t.id) {
                return Err(invalid(f("id"), "duplicate topic id"));
            }
            if t.epoch_length < 1 {
                return Err(invalid(f("epoch_length"), "must be >= 1"));
            }
            let min_window = if t.wall_clock { 1 } else { 2 };
            if t.worker_submission_window < min_window
                || t.worker_submission_window > t.epoch_length
            {
                return Err(invalid(
                    f("worker_submission_window"),
                    "must be >= 2 blocks (the nonce opens at the end of its block) or >= 1 second, and <= epoch_length",
                ));
            }
            if t.ground_truth_lag < t.epoch_length {
                return Err(invalid(f("ground_truth_lag"), "must be >= epoch_length"));
            }
            if t.first_epoch_block.is_some_and(|b| b < 1) {
                return Err(invalid(f("first_epoch_block"), "must be >= 1"));
            }
        }
        crate::state::parse_gas_price(&self.params.min_gas_price).ok_or_else(|| {
            invalid(
                "params.min_gas_price".to_string(),
                "must be a non-negative decimal like \"10\" or \"0.025\"",
            )
        })?;
        Ok(())
    }
}

/// Amounts may be written as JSON numbers or decimal-integer strings (cosmos Int style).
fn de_amount<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum A {
        N(u64),
        S(String),
    }
    match A::deserialize(d)? {
        A::N(n) => Ok(u128::from(n)),
        A::S(s) => s.parse::<u128>().map_err(|_| {
            serde::de::Error::custom(format!("`{s}` is not a non-negative integer amount"))
        }),
    }
}

fn ser_amount<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_genesis_is_valid_and_roundtrips() {
        let g = Genesis::default_devnet();
        g.validate().expect("valid");
        let text = serde_json::to_string(&g).expect("json");
        let back: Genesis = serde_json::from_str(&text).expect("parse");
        assert_eq!(g, back);
    }

    #[test]
    fn test_mnemonics_are_valid_bip39() {
        for m in TEST_MNEMONICS {
            crate::crypto::address_from_mnemonic(m).expect("valid mnemonic");
        }
    }

    #[test]
    fn bad_window_names_the_field() {
        let mut g = Genesis::default_devnet();
        g.topics[0].worker_submission_window = 50;
        let e = g.validate().unwrap_err().to_string();
        assert!(e.contains("topics[0].worker_submission_window"), "{e}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e = serde_json::from_str::<Genesis>(r#"{"acounts": []}"#).unwrap_err();
        assert!(e.to_string().contains("acounts"), "{e}");
    }

    #[test]
    fn amounts_accept_numbers_and_strings() {
        let a: GenesisAccount =
            serde_json::from_str(r#"{"address":"allo1x","balance":"1000000000000000000000"}"#)
                .expect("parse");
        assert_eq!(a.balance, 1_000_000_000_000_000_000_000);
        let a: GenesisAccount =
            serde_json::from_str(r#"{"address":"allo1x","balance":5}"#).expect("parse");
        assert_eq!(a.balance, 5);
    }
}
