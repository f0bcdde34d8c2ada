//! Tuning of a tx actor. There are no defaults here on purpose: the node's validated plan
//! owns every value (one default per setting, documented once), and the chain client only
//! carries what it is given.

use std::time::Duration;

use crate::fees::FeePolicy;

/// Tuning of a tx actor; every field is supplied by the caller.
#[derive(Debug, Clone)]
pub struct TxConfig {
    pub chain_id: String,
    pub fee: FeePolicy,
    /// Multiplier on simulated gas (`gasAdjustment`), applied once.
    pub gas_adjustment: f64,
    /// Fixed gas limit per tx (`gas` set to a number) instead of simulating.
    pub fixed_gas: Option<u64>,
    pub max_msgs_per_tx: usize,
    pub max_gas_per_tx: u64,
    /// Upper bound of a tx's encoded size: a batch stops growing before its messages would
    /// pass it (kept well under CometBFT's mempool `max_tx_bytes` and block `max_bytes`).
    pub max_tx_bytes: usize,
    /// Txs broadcast (CheckTx accepted) and not yet confirmed, at most: the actor signs the
    /// next batch with the next sequence while earlier ones await inclusion.
    pub max_in_flight: usize,
    /// How long to wait for more messages after the first one of a batch.
    pub batch_window: Duration,
    pub confirm_timeout: Duration,
    pub poll_interval: Duration,
    /// Attempts per batch after the first (`maxRetries`).
    pub max_retries: u32,
    /// Wait after a transient failure (`retryDelay`).
    pub retry_delay: Duration,
    /// Wait after a sequence mismatch (`accountSequenceRetryDelay`).
    pub sequence_retry_delay: Duration,
    /// Re-read the account sequence at least this often.
    pub resync_interval: Duration,
    /// `timeout_height` = latest height + this when no message has a deadline.
    pub default_timeout_blocks: u64,
    pub memo: String,
    /// `wallet.feeGranterAddress`: set as every tx's `fee.granter` so the granter's
    /// x/feegrant allowance pays the fees; `None` = the wallet pays.
    pub fee_granter: Option<String>,
    /// `wallet.submitTx`: `false` = dry run: build and sign, never simulate or broadcast,
    /// log what would be sent and answer with a `TxOutcome` marked `dry_run`.
    pub submit_tx: bool,
}
