//! The devnet's application state: accounts (number, sequence, pubkey, balance), topics with
//! their registrations, stakes, nonces, submitted payloads and network inferences. Plain data
//! behind one lock; cloning it is how a failed tx's writes are discarded (like a cache branch).

use std::collections::{BTreeMap, BTreeSet};

use allora_protocol::proto::emissions::{v9, v10};

use super::genesis::{Genesis, GenesisError, GenesisParams, GenesisTopic};

/// Fee denomination.
pub const DENOM: &str = "uallo";

/// LegacyDec scale (10^18) used for gas prices.
pub const DEC_SCALE: u128 = 1_000_000_000_000_000_000;

/// Parses a non-negative decimal gas price into a 10^18-scaled integer.
pub fn parse_gas_price(s: &str) -> Option<u128> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 18 {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_scaled: u128 = 0;
    if !frac.is_empty() {
        let padded = format!("{frac:0<18}");
        frac_scaled = padded.parse().ok()?;
    }
    int.checked_mul(DEC_SCALE)?.checked_add(frac_scaled)
}

#[derive(Debug, Clone)]
pub struct Account {
    pub address: String,
    pub account_number: u64,
    pub sequence: u64,
    /// 33-byte compressed secp256k1 key, set by the first tx (like the SDK's SetPubKey).
    pub pubkey: Option<Vec<u8>>,
    pub balance: u128,
}

#[derive(Debug, Clone)]
pub struct TopicState {
    pub topic: v10::Topic,
    pub active: bool,
    pub next_churn: i64,
    pub worker_whitelist: Option<BTreeSet<String>>,
    pub reputer_whitelist: Option<BTreeSet<String>>,
    pub workers: BTreeSet<String>,
    pub reputers: BTreeSet<String>,
    /// Self stake of each reputer (uallo).
    pub stake: BTreeMap<String, u128>,
    /// Unfulfilled worker nonces, newest first.
    pub worker_nonces: Vec<i64>,
    /// Unfulfilled reputer nonces, newest first.
    pub reputer_nonces: Vec<i64>,
    pub worker_payloads: BTreeMap<i64, BTreeMap<String, v10::InputWorkerDataBundle>>,
    pub reputer_payloads: BTreeMap<i64, BTreeMap<String, v9::InputReputerValueBundle>>,
    pub network_inferences: BTreeMap<i64, v10::NetworkInferenceBundle>,
    /// Fees paid towards this topic (data sending fees), uallo.
    pub revenue: u128,
    /// Seconds mode: the wall-clock schedule (`None` = epochs in blocks).
    pub wall_clock: Option<crate::wallclock::WallClock>,
}

impl TopicState {
    fn from_genesis(t: &GenesisTopic) -> TopicState {
        let set = |v: &Option<Vec<String>>| v.as_ref().map(|l| l.iter().cloned().collect());
        TopicState {
            topic: v10::Topic {
                id: t.id,
                creator: String::new(),
                metadata: t.metadata.clone(),
                loss_method: t.loss_method.clone(),
                epoch_last_ended: 0,
                epoch_length: t.epoch_length,
                ground_truth_lag: t.ground_truth_lag,
                p_norm: "3".to_string(),
                alpha_regret: "0.1".to_string(),
                allow_negative: t.allow_negative,
                epsilon: "0.01".to_string(),
                initial_regret: "0".to_string(),
                worker_submission_window: t.worker_submission_window,
                merit_sortition_alpha: "0.1".to_string(),
                active_inferer_quantile: "0.25".to_string(),
                active_forecaster_quantile: "0.25".to_string(),
                active_reputer_quantile: "0.25".to_string(),
                c_norm: "0.75".to_string(),
                topic_type: v10::TopicType::Regression as i32,
                output_arity: if t.label_whitelist.len() > 1 {
                    v10::TopicOutputArity::Multi as i32
                } else {
                    v10::TopicOutputArity::Single as i32
                },
                require_unity: false,
                unity_tolerance: "0".to_string(),
                max_labels_per_submission: t.label_whitelist.len().max(1) as u64,
                label_whitelist: t.label_whitelist.clone(),
                label_default_value: "0".to_string(),
                label_case_sensitive: true,
            },
            active: true,
            next_churn: t.first_epoch_block.unwrap_or(t.epoch_length),
            worker_whitelist: set(&t.worker_whitelist),
            reputer_whitelist: set(&t.reputer_whitelist),
            workers: BTreeSet::new(),
            reputers: BTreeSet::new(),
            stake: BTreeMap::new(),
            worker_nonces: Vec::new(),
            reputer_nonces: Vec::new(),
            worker_payloads: BTreeMap::new(),
            reputer_payloads: BTreeMap::new(),
            network_inferences: BTreeMap::new(),
            revenue: 0,
            wall_clock: t.wall_clock.then(crate::wallclock::WallClock::default),
        }
    }

    pub fn can_submit_worker(&self, addr: &str) -> bool {
        self.worker_whitelist
            .as_ref()
            .is_none_or(|w| w.contains(addr))
    }

    pub fn can_submit_reputer(&self, addr: &str) -> bool {
        self.reputer_whitelist
            .as_ref()
            .is_none_or(|w| w.contains(addr))
    }

    pub fn stake_of(&self, addr: &str) -> u128 {
        self.stake.get(addr).copied().unwrap_or(0)
    }

    pub fn total_stake(&self) -> u128 {
        self.stake.values().sum()
    }

    /// The last block at which a worker tx for nonce `n` is accepted: `N ≤ h ≤ N + window`,
    /// inclusive, as allorad v0.17.0 (`keeper/window_boundaries.go`, the window-opened event's
    /// `window_end_block` and the window-status query all say `N + window`).
    pub fn worker_window_end(&self, n: i64) -> i64 {
        n + self.topic.worker_submission_window
    }

    /// First and last block accepting a reputer tx for nonce `n`, as allorad v0.17.0
    /// (`keeper/window_boundaries.go`): `N + lag ≤ h ≤ N + lag + extra + epoch_length` with
    /// `extra = (epoch − lag mod epoch) mod epoch` (so `N + 2·lag` when `lag = epoch_length`).
    pub fn reputer_window(&self, n: i64) -> (i64, i64) {
        let lag = self.topic.ground_truth_lag;
        let epoch = self.topic.epoch_length.max(1);
        let extra = (epoch - lag % epoch) % epoch;
        (n + lag, n + lag + extra + epoch)
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub chain_id: String,
    /// Height of the last committed block (0 before the first block).
    pub height: i64,
    pub params: GenesisParams,
    /// Min gas price, 10^18-scaled uallo per gas.
    pub min_gas_price: u128,
    pub accounts: BTreeMap<String, Account>,
    pub topics: BTreeMap<u64, TopicState>,
    /// Fees collected (burnt into the fee collector), uallo.
    pub fee_collector: u128,
    /// The emissions package served (9 or 10; anything else: none). Msg type URLs, query
    /// paths and typed event names use `emissions.v{N}`.
    pub emissions_version: u32,
    /// x/feegrant allowances by (granter, grantee).
    pub fee_grants: crate::feegrant::Grants,
    /// Time of the block being executed (CheckTx/Simulate: the last block), unix nanoseconds.
    pub block_time_nanos: i128,
}

impl State {
    /// Builds the genesis state; resolves mnemonics to addresses.
    pub fn from_genesis(chain_id: &str, g: &Genesis) -> Result<State, GenesisError> {
        g.validate()?;
        let mut accounts = BTreeMap::new();
        for (i, a) in g.accounts.iter().enumerate() {
            let address = match (&a.mnemonic, &a.address) {
                (Some(m), _) => {
                    crate::crypto::address_from_mnemonic(m).map_err(|e| GenesisError::Invalid {
                        field: format!("accounts[{i}].mnemonic"),
                        problem: format!("not a valid BIP-39 mnemonic ({e})"),
                    })?
                }
                (None, Some(addr)) => {
                    if !is_allo_address(addr) {
                        return Err(GenesisError::Invalid {
                            field: format!("accounts[{i}].address"),
                            problem: "must be a bech32 `allo1…` account address".to_string(),
                        });
                    }
                    addr.clone()
                }
                (None, None) => unreachable_account(i)?,
            };
            let number = accounts.len() as u64;
            let entry = accounts.entry(address.clone()).or_insert(Account {
                address,
                account_number: number,
                sequence: 0,
                pubkey: None,
                balance: 0,
            });
            entry.balance += a.balance;
        }
        let mut fee_grants = BTreeMap::new();
        for (i, fg) in g.fee_grants.iter().enumerate() {
            let field = |f: &str| format!("fee_grants[{i}].{f}");
            for (name, addr) in [("granter", &fg.granter), ("grantee", &fg.grantee)] {
                if !is_allo_address(addr) {
                    return Err(GenesisError::Invalid {
                        field: field(name),
                        problem: "must be a bech32 `allo1…` account address".to_string(),
                    });
                }
            }
            if !accounts.contains_key(&fg.grantee) {
                // As MsgGrantAllowance does: the grantee gets an (empty) account.
                let number = accounts.len() as u64;
                accounts.insert(
                    fg.grantee.clone(),
                    Account {
                        address: fg.grantee.clone(),
                        account_number: number,
                        sequence: 0,
                        pubkey: None,
                        balance: 0,
                    },
                );
            }
            fee_grants.insert(
                (fg.granter.clone(), fg.grantee.clone()),
                crate::feegrant::Allowance {
                    spend_limit: fg.spend_limit,
                    expiration_nanos: fg.expiration_unix.map(|s| i128::from(s) * 1_000_000_000),
                },
            );
        }
        let topics = g
            .topics
            .iter()
            .map(|t| (t.id, TopicState::from_genesis(t)))
            .collect();
        let min_gas_price =
            parse_gas_price(&g.params.min_gas_price).ok_or_else(|| GenesisError::Invalid {
                field: "params.min_gas_price".to_string(),
                problem: "must be a non-negative decimal".to_string(),
            })?;
        Ok(State {
            chain_id: chain_id.to_string(),
            height: 0,
            params: g.params.clone(),
            min_gas_price,
            accounts,
            topics,
            fee_collector: 0,
            emissions_version: crate::DEFAULT_EMISSIONS_VERSION,
            fee_grants,
            block_time_nanos: 0,
        })
    }

    /// The account number the next new account gets.
    pub fn next_account_number(&self) -> u64 {
        self.accounts
            .values()
            .map(|a| a.account_number + 1)
            .max()
            .unwrap_or(0)
    }

    pub fn balance(&self, addr: &str) -> u128 {
        self.accounts.get(addr).map(|a| a.balance).unwrap_or(0)
    }

    /// `emissions.v9.Params` as GetParams returns it.
    pub fn params_proto(&self) -> v9::Params {
        let p = &self.params;
        v9::Params {
            version: "v10-devnet".to_string(),
            max_serialized_msg_length: p.max_serialized_msg_length,
            min_topic_weight: "100".to_string(),
            required_minimum_stake: p.required_minimum_stake.to_string(),
            remove_stake_delay_window: 0,
            min_epoch_length: 1,
            max_unfulfilled_worker_requests: p.max_unfulfilled_worker_requests,
            max_unfulfilled_reputer_requests: p.max_unfulfilled_reputer_requests,
            max_top_inferers_to_reward: 32,
            max_top_forecasters_to_reward: 6,
            max_top_reputers_to_reward: 6,
            create_topic_fee: "0".to_string(),
            registration_fee: p.registration_fee.to_string(),
            blocks_per_month: 864_000,
            epsilon_safe_div: "0.0000001".to_string(),
            data_sending_fee: p.data_sending_fee.to_string(),
            max_elements_per_forecast: p.max_elements_per_forecast,
            max_active_topics_per_block: 1,
            max_string_length: p.max_string_length,
            global_whitelist_enabled: false,
            topic_creator_whitelist_enabled: false,
            global_worker_whitelist_enabled: false,
            global_reputer_whitelist_enabled: false,
        }
    }
}

fn unreachable_account(i: usize) -> Result<String, GenesisError> {
    Err(GenesisError::Invalid {
        field: format!("accounts[{i}]"),
        problem: "give exactly one of `mnemonic` or `address`".to_string(),
    })
}

/// A bech32 `allo` account address (the devnet's own check in `crate::crypto`).
pub fn is_allo_address(s: &str) -> bool {
    crate::crypto::is_valid_address(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_prices_parse_exactly() {
        assert_eq!(parse_gas_price("10"), Some(10 * DEC_SCALE));
        assert_eq!(parse_gas_price("0.025"), Some(25_000_000_000_000_000));
        assert_eq!(parse_gas_price("0"), Some(0));
        assert!(parse_gas_price("-1").is_none());
        assert!(parse_gas_price("abc").is_none());
        assert!(parse_gas_price("").is_none());
    }

    #[test]
    fn genesis_accounts_get_numbers_in_order() {
        let g = Genesis::default_devnet();
        let s = State::from_genesis("devnet-1", &g).expect("state");
        let mut numbers: Vec<u64> = s.accounts.values().map(|a| a.account_number).collect();
        numbers.sort();
        assert_eq!(numbers, vec![0, 1, 2, 3, 4]);
        assert_eq!(s.topics.len(), 2);
    }
}
