//! A complete `TxConfig` for tests against the devnet: the chain client has no defaults, so
//! tests spell every value here once (the values `TxConfig::new` used to hide).

use std::time::Duration;

use allora_chain_client::{FeePolicy, TxConfig};

pub fn tx_config(chain_id: &str) -> TxConfig {
    TxConfig {
        chain_id: chain_id.to_owned(),
        fee: FeePolicy {
            denom: "uallo".into(),
            price_multiplier: 1.5,
            fallback_gas_price: 10.0,
            dynamic: true,
            max_fee: 5_000_000,
        },
        gas_adjustment: 1.5,
        fixed_gas: None,
        max_msgs_per_tx: 100,
        max_gas_per_tx: 10_000_000,
        max_tx_bytes: 512 * 1024,
        max_in_flight: 8,
        batch_window: Duration::from_millis(200),
        confirm_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(500),
        max_retries: 5,
        retry_delay: Duration::from_secs(3),
        sequence_retry_delay: Duration::from_millis(500),
        resync_interval: Duration::from_secs(60),
        default_timeout_blocks: 100,
        memo: String::new(),
        fee_granter: None,
        submit_tx: true,
    }
}
