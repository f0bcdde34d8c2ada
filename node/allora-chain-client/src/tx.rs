//! Transactions: SIGN_MODE_DIRECT signing and the per-wallet tx actor.
//!
//! One `TxActor` per wallet owns the account sequence (DESIGN.md, chain-client lessons):
//! topics send it messages; it batches what is due into one tx (bounded by message count and
//! gas), sets `timeout_height` from the earliest window end, simulates gas once and applies
//! `gasAdjustment` once, prices gas from the feemarket (× multiplier, capped by `maxFees`,
//! static fallback), broadcasts (sync), confirms by hash and answers every sender.
//!
//! Sequence rules: the local sequence only advances when CheckTx accepted the tx; a
//! mismatch adopts the chain's "expected N"; the sequence is re-read periodically and after
//! any doubt (timeouts, transport failures).

use std::time::{Duration, Instant};

use cosmos_sdk_proto::Any as CosmosAny;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw, mode_info,
};
use prost::Message;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::errors::{ErrorClass, parse_message_index};
use super::fees::{FeePolicy, gas_limit};
use super::{AccountInfo, ChainClient, ChainError};
use crate::keys::Wallet;

/// Type URL of a secp256k1 public key in `SignerInfo`.
pub const PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";

/// Everything a signed tx depends on besides its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxParams {
    pub chain_id: String,
    pub account_number: u64,
    pub sequence: u64,
    pub gas_limit: u64,
    pub fee_amount: u128,
    pub fee_denom: String,
    pub timeout_height: u64,
    pub memo: String,
}

/// Builds and signs (SIGN_MODE_DIRECT) a tx; returns its bytes and its hash (uppercase hex
/// SHA-256 of the bytes, as CometBFT reports it).
pub fn build_signed_tx(wallet: &Wallet, msgs: &[CosmosAny], p: &TxParams) -> (Vec<u8>, String) {
    let body = TxBody {
        messages: msgs.to_vec(),
        memo: p.memo.clone(),
        timeout_height: p.timeout_height,
        ..Default::default()
    };
    let signer = SignerInfo {
        public_key: Some(CosmosAny {
            type_url: PUBKEY_TYPE_URL.to_owned(),
            value: PubKey {
                key: wallet.pubkey_bytes().to_vec(),
            }
            .encode_to_vec(),
        }),
        mode_info: Some(ModeInfo {
            sum: Some(mode_info::Sum::Single(mode_info::Single {
                mode: SignMode::Direct as i32,
            })),
        }),
        sequence: p.sequence,
    };
    #[allow(deprecated)]
    let auth = AuthInfo {
        signer_infos: vec![signer],
        fee: Some(Fee {
            amount: if p.fee_amount == 0 {
                vec![]
            } else {
                vec![Coin {
                    denom: p.fee_denom.clone(),
                    amount: p.fee_amount.to_string(),
                }]
            },
            gas_limit: p.gas_limit,
            payer: String::new(),
            granter: String::new(),
        }),
        tip: None,
    };
    let body_bytes = body.encode_to_vec();
    let auth_info_bytes = auth.encode_to_vec();
    let sign_doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: p.chain_id.clone(),
        account_number: p.account_number,
    };
    let sig = wallet.sign_bytes(&sign_doc.encode_to_vec());
    let raw = TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_vec()],
    };
    let bytes = raw.encode_to_vec();
    let hash = hex::encode_upper(Sha256::digest(&bytes));
    (bytes, hash)
}

/// Tuning of a tx actor. `TxConfig::new(chain_id)` gives the defaults.
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
    /// `wallet.submitTx`: `false` = dry run: build and sign, never simulate or broadcast,
    /// log what would be sent and answer with a `TxOutcome` marked `dry_run`.
    pub submit_tx: bool,
}

impl TxConfig {
    pub fn new(chain_id: impl Into<String>) -> TxConfig {
        TxConfig {
            chain_id: chain_id.into(),
            fee: FeePolicy::default(),
            gas_adjustment: 1.5,
            fixed_gas: None,
            max_msgs_per_tx: 100,
            max_gas_per_tx: 10_000_000,
            batch_window: Duration::from_millis(200),
            confirm_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            max_retries: 5,
            retry_delay: Duration::from_secs(3),
            sequence_retry_delay: Duration::from_millis(500),
            resync_interval: Duration::from_secs(60),
            default_timeout_blocks: 100,
            memo: String::new(),
            submit_tx: true,
        }
    }
}

impl TxConfig {
    /// Applies the Go-node `wallet` settings: `gas` (`"auto"` or a fixed limit),
    /// `gasAdjustment`, `gasPrices` (`"auto"` = feemarket, or a price such as `"10"` /
    /// `"0.025uallo"`) and `maxFees` (uallo). Errors name the field and the fix.
    pub fn with_wallet_settings(
        mut self,
        gas: &str,
        gas_adjustment: f64,
        gas_prices: &str,
        max_fees: u128,
    ) -> Result<TxConfig, String> {
        let gas = gas.trim();
        self.fixed_gas = if gas.is_empty() || gas.eq_ignore_ascii_case("auto") {
            None
        } else {
            Some(gas.parse::<u64>().ok().filter(|g| *g > 0).ok_or_else(|| {
                format!("wallet.gas: {gas:?} is neither \"auto\" nor a positive integer gas limit")
            })?)
        };
        if !(gas_adjustment.is_finite() && gas_adjustment >= 1.0) {
            return Err(format!(
                "wallet.gasAdjustment: {gas_adjustment} must be a number >= 1 (e.g. 1.5)"
            ));
        }
        self.gas_adjustment = gas_adjustment;
        let gp = gas_prices.trim();
        if gp.is_empty() || gp.eq_ignore_ascii_case("auto") {
            self.fee.dynamic = true;
        } else {
            let number = gp.strip_suffix(self.fee.denom.as_str()).unwrap_or(gp);
            let price = number
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "wallet.gasPrices: {gp:?} is neither \"auto\" nor a gas price such as \"10\" or \"0.025{}\"",
                        self.fee.denom
                    )
                })?;
            self.fee.dynamic = false;
            self.fee.fallback_gas_price = price;
        }
        if max_fees == 0 {
            return Err("wallet.maxFees: must be > 0 (uallo per tx)".into());
        }
        self.fee.max_fee = max_fees;
        Ok(self)
    }
}

/// What a submission is about (for batching, deadlines, logs and metrics).
#[derive(Debug, Clone)]
pub struct SubmitMeta {
    pub topic_id: u64,
    pub nonce: Option<i64>,
    /// e.g. "worker_payload", "reputer_payload", "register", "add_stake".
    pub kind: &'static str,
    /// Last block height at which the message is still useful (window end).
    pub deadline_height: Option<i64>,
}

/// An included submission (or, with `submit_tx = false`, a built-but-unsent one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub tx_hash: String,
    /// Inclusion height (the height the tx was built at in a dry run).
    pub height: i64,
    /// True when nothing was broadcast (`submit_tx = false`).
    pub dry_run: bool,
}

/// Why a submission did not land. `kind()` is the metrics label.
#[derive(Debug, Clone, Error)]
pub enum TxError {
    #[error("account sequence could not be agreed with the chain after retries: {0}")]
    Sequence(String),
    #[error("fee: {0}")]
    Fee(String),
    #[error("already submitted for this nonce (counted as done): {0}")]
    AlreadySubmitted(String),
    #[error("submission window closed: {0}")]
    WindowClosed(String),
    #[error("chain unreachable: {0}")]
    Transport(String),
    #[error("account cannot pay: {0}")]
    Unfunded(String),
    #[error("out of gas after retries: {0}")]
    OutOfGas(String),
    #[error("rejected by the chain ({codespace}/{code}): {log}")]
    Rejected {
        codespace: String,
        code: u32,
        log: String,
    },
    #[error("tx {tx_hash} not seen in a block within {waited:?}; it may still land")]
    Timeout { tx_hash: String, waited: Duration },
    #[error("the tx actor has stopped")]
    Stopped,
}

/// What kind of failure a [`TxError`] is: the typed class callers match on (actors decide
/// settle / retry / skip from it) and, through [`TxErrorKind::as_str`], the bounded metrics
/// label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxErrorKind {
    Sequence,
    Fee,
    AlreadySubmitted,
    WindowClosed,
    Transport,
    Unfunded,
    OutOfGas,
    Rejected,
    Timeout,
    Stopped,
}

impl TxErrorKind {
    /// Bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TxErrorKind::Sequence => "sequence",
            TxErrorKind::Fee => "fee",
            TxErrorKind::AlreadySubmitted => "already_submitted",
            TxErrorKind::WindowClosed => "window_closed",
            TxErrorKind::Transport => "transport",
            TxErrorKind::Unfunded => "unfunded",
            TxErrorKind::OutOfGas => "gas",
            TxErrorKind::Rejected => "rejected",
            TxErrorKind::Timeout => "timeout",
            TxErrorKind::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for TxErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TxError {
    /// The typed kind of this failure.
    pub fn kind(&self) -> TxErrorKind {
        match self {
            TxError::Sequence(_) => TxErrorKind::Sequence,
            TxError::Fee(_) => TxErrorKind::Fee,
            TxError::AlreadySubmitted(_) => TxErrorKind::AlreadySubmitted,
            TxError::WindowClosed(_) => TxErrorKind::WindowClosed,
            TxError::Transport(_) => TxErrorKind::Transport,
            TxError::Unfunded(_) => TxErrorKind::Unfunded,
            TxError::OutOfGas(_) => TxErrorKind::OutOfGas,
            TxError::Rejected { .. } => TxErrorKind::Rejected,
            TxError::Timeout { .. } => TxErrorKind::Timeout,
            TxError::Stopped => TxErrorKind::Stopped,
        }
    }

    /// The ABCI code behind the error, when there is one (metrics: tx errors by code).
    pub fn code(&self) -> Option<u32> {
        match self {
            TxError::Rejected { code, .. } => Some(*code),
            TxError::AlreadySubmitted(d) | TxError::WindowClosed(d) => code_of_detail(d),
            TxError::Sequence(_) => Some(super::errors::sdk_code::WRONG_SEQUENCE),
            TxError::OutOfGas(_) => Some(super::errors::sdk_code::OUT_OF_GAS),
            TxError::Unfunded(d) => {
                code_of_detail(d).or(Some(super::errors::sdk_code::INSUFFICIENT_FUNDS))
            }
            TxError::Fee(d) => code_of_detail(d),
            TxError::Transport(_) | TxError::Timeout { .. } | TxError::Stopped => None,
        }
    }

    /// Whether the caller can consider the nonce handled (nothing more to send).
    pub fn is_done(&self) -> bool {
        matches!(self, TxError::AlreadySubmitted(_))
    }
}

struct Pending {
    msg: CosmosAny,
    meta: SubmitMeta,
    reply: oneshot::Sender<Result<TxOutcome, TxError>>,
}

impl Pending {
    fn answer(self, r: Result<TxOutcome, TxError>) {
        match &r {
            Ok(o) => {
                tracing::info!(topic_id = self.meta.topic_id, nonce = ?self.meta.nonce, kind = self.meta.kind, tx_hash = %o.tx_hash, height = o.height, "submission included")
            }
            Err(e) => {
                tracing::warn!(topic_id = self.meta.topic_id, nonce = ?self.meta.nonce, kind = self.meta.kind, error_kind = e.kind().as_str(), error = %e, "submission failed")
            }
        }
        // The sender may have given up waiting; nothing to do then.
        let _ = self.reply.send(r);
    }
}

/// Handle to a wallet's tx actor. Cheap to clone; the actor stops when all handles drop.
#[derive(Debug, Clone)]
pub struct TxHandle {
    tx: mpsc::Sender<Pending>,
    address: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("type_url", &self.msg.type_url)
            .field("meta", &self.meta)
            .finish()
    }
}

impl TxHandle {
    /// Queues `msg` and waits until it is included or has failed (classified).
    pub async fn submit(
        &self,
        msg: prost_types::Any,
        meta: SubmitMeta,
    ) -> Result<TxOutcome, TxError> {
        let (reply, rx) = oneshot::channel();
        let p = Pending {
            msg: CosmosAny {
                type_url: msg.type_url,
                value: msg.value,
            },
            meta,
            reply,
        };
        self.tx.send(p).await.map_err(|_| TxError::Stopped)?;
        rx.await.map_err(|_| TxError::Stopped)?
    }

    /// The wallet address this actor signs for.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// True once the actor task has ended (panicked or returned): every later `submit`
    /// fails with [`TxError::Stopped`]. The node's supervisor watches this.
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The per-wallet tx actor (see the module docs).
pub struct TxActor {
    client: ChainClient,
    wallet: Wallet,
    cfg: TxConfig,
    account: Option<AccountInfo>,
    synced_at: Option<Instant>,
    market: Option<(Option<f64>, Instant)>,
    bumped_price: Option<f64>,
    gas_bump: f64,
    /// Hash of a broadcast whose answer was lost (transport error): it may be in a mempool
    /// or a block already, so it is looked up before the batch is sent again.
    maybe_sent: Option<(String, u64)>,
}

/// Gas limit per message assumed in dry-run mode without a fixed `gas` (nothing simulated).
const DRY_RUN_GAS_PER_MSG: u64 = 250_000;

/// How long a feemarket price is reused.
const PRICE_TTL: Duration = Duration::from_secs(30);

enum Confirm {
    Included(Box<TxResponse>),
    /// The chain passed the tx's `timeout_height` without including it.
    Expired,
    /// Still unknown after `confirm_timeout`.
    NotSeen,
}

enum Step {
    /// Try the (possibly reduced) batch again.
    Retry,
    /// Everything answered.
    Done,
    /// The batch needs more gas than `max_gas_per_tx`: send it as two halves (each halved
    /// again if needed), so a large batch becomes a few txs rather than one per message.
    Halve(Vec<Pending>),
}

impl TxActor {
    /// Starts the actor task for `wallet`.
    pub fn spawn(client: ChainClient, wallet: Wallet, cfg: TxConfig) -> TxHandle {
        let (tx, rx) = mpsc::channel(1024);
        let address = wallet.address().to_owned();
        let actor = TxActor {
            client,
            wallet,
            cfg,
            account: None,
            synced_at: None,
            market: None,
            bumped_price: None,
            gas_bump: 1.0,
            maybe_sent: None,
        };
        tokio::spawn(actor.run(rx));
        TxHandle { tx, address }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        loop {
            let first = match tokio::time::timeout(self.cfg.resync_interval, rx.recv()).await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) => {
                    // idle: periodic resync so a sequence changed elsewhere is picked up
                    self.resync().await;
                    continue;
                }
            };
            let mut batch = vec![first];
            let until = tokio::time::Instant::now() + self.cfg.batch_window;
            while batch.len() < self.cfg.max_msgs_per_tx.max(1) {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    _ => break,
                }
            }
            self.process(batch).await;
        }
        tracing::debug!(address = %self.wallet.address(), "tx actor stopped");
    }

    async fn resync(&mut self) {
        match self.client.account(self.wallet.address()).await {
            Ok(a) => {
                if let Some(old) = self.account
                    && old.sequence != a.sequence
                {
                    tracing::info!(address = %self.wallet.address(), local = old.sequence, chain = a.sequence, "account sequence resynced");
                }
                self.account = Some(a);
                self.synced_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::debug!(error = %e, "account resync failed");
                self.account = None;
            }
        }
    }

    async fn ensure_account(&mut self) -> Result<AccountInfo, ChainError> {
        let stale = self
            .synced_at
            .is_none_or(|t| t.elapsed() > self.cfg.resync_interval);
        if self.account.is_none() || stale {
            let a = self.client.account(self.wallet.address()).await?;
            self.account = Some(a);
            self.synced_at = Some(Instant::now());
        }
        self.account
            .ok_or_else(|| ChainError::AccountNotFound(self.wallet.address().to_owned()))
    }

    async fn price(&mut self) -> f64 {
        if self.cfg.fee.dynamic {
            let fresh = self.market.is_some_and(|(_, t)| t.elapsed() < PRICE_TTL);
            if !fresh {
                let p = self.client.gas_price(&self.cfg.fee.denom).await;
                self.market = Some((p, Instant::now()));
                self.bumped_price = None;
            }
        }
        let base = self.cfg.fee.base_price(self.market.and_then(|(p, _)| p));
        self.bumped_price.map_or(base, |b| b.max(base))
    }

    /// Processes a batch until every message is answered.
    async fn process(&mut self, mut pending: Vec<Pending>) {
        self.maybe_sent = None;
        let mut attempts: u32 = 0;
        let mut last_err = String::new();
        while !pending.is_empty() {
            if attempts > self.cfg.max_retries {
                let detail = format!("gave up after {attempts} attempts; last error: {last_err}");
                let err = if last_err.contains("sequence") {
                    TxError::Sequence(detail)
                } else {
                    TxError::Transport(detail)
                };
                answer_all(pending, |_| Err(err.clone()));
                return;
            }
            attempts += 1;
            match self.attempt(&mut pending, &mut last_err).await {
                Ok(Step::Done) => return,
                Ok(Step::Retry) => continue,
                Ok(Step::Halve(mut first)) => {
                    let second = first.split_off(first.len() / 2);
                    Box::pin(self.process(first)).await;
                    Box::pin(self.process(second)).await;
                    return;
                }
                Err(split) => {
                    // Multi-message failure without a message index: isolate by sending
                    // each message alone, so one bad message cannot sink the others.
                    for p in split {
                        Box::pin(self.process(vec![p])).await;
                    }
                    return;
                }
            }
        }
    }

    /// One build → simulate → broadcast → confirm round. `Err(batch)` asks the caller to
    /// retry the messages one by one.
    async fn attempt(
        &mut self,
        pending: &mut Vec<Pending>,
        last_err: &mut String,
    ) -> Result<Step, Vec<Pending>> {
        // Drop messages whose window already closed.
        let height = match self.client.latest_height().await {
            Ok(h) => h,
            Err(e) => {
                *last_err = e.to_string();
                tokio::time::sleep(self.cfg.retry_delay).await;
                return Ok(Step::Retry);
            }
        };
        let mut i = 0;
        while i < pending.len() {
            if pending[i].meta.deadline_height.is_some_and(|d| d <= height) {
                let p = pending.remove(i);
                let d = p.meta.deadline_height.unwrap_or_default();
                p.answer(Err(TxError::WindowClosed(format!(
                    "window ended at height {d}, chain is at {height}"
                ))));
            } else {
                i += 1;
            }
        }
        if pending.is_empty() {
            return Ok(Step::Done);
        }
        if let Some(step) = self.settle_lost_broadcast(pending, false).await {
            return Ok(step);
        }
        if !self.cfg.submit_tx {
            return Ok(self.dry_run(pending, height).await);
        }
        let account = match self.ensure_account().await {
            Ok(a) => a,
            Err(ChainError::AccountNotFound(addr)) => {
                let msg = format!("account {addr} does not exist on chain; fund it with uallo");
                answer_all(std::mem::take(pending), |_| {
                    Err(TxError::Unfunded(msg.clone()))
                });
                return Ok(Step::Done);
            }
            Err(e) => {
                *last_err = e.to_string();
                tokio::time::sleep(self.cfg.retry_delay).await;
                return Ok(Step::Retry);
            }
        };
        let timeout_height = pending
            .iter()
            .filter_map(|p| p.meta.deadline_height)
            .min()
            .map(|d| d.max(height + 1) as u64)
            .unwrap_or(height as u64 + self.cfg.default_timeout_blocks);
        let msgs: Vec<CosmosAny> = pending.iter().map(|p| p.msg.clone()).collect();
        let mut params = TxParams {
            chain_id: self.cfg.chain_id.clone(),
            account_number: account.account_number,
            sequence: account.sequence,
            gas_limit: self.cfg.max_gas_per_tx,
            fee_amount: 0,
            fee_denom: self.cfg.fee.denom.clone(),
            timeout_height,
            memo: self.cfg.memo.clone(),
        };

        // Gas: simulate once, adjust once.
        let gas = match self.cfg.fixed_gas {
            Some(g) => g,
            None => {
                let (sim_bytes, _) = build_signed_tx(&self.wallet, &msgs, &params);
                match self.client.simulate(sim_bytes).await {
                    Ok(used) => (gas_limit(used, self.cfg.gas_adjustment) as f64 * self.gas_bump)
                        .ceil() as u64,
                    Err(ChainError::Status { message, .. }) => {
                        *last_err = message.clone();
                        return self.on_failure(pending, "", 0, &message, None, false).await;
                    }
                    Err(e) => {
                        *last_err = e.to_string();
                        tokio::time::sleep(self.cfg.retry_delay).await;
                        return Ok(Step::Retry);
                    }
                }
            }
        };
        if gas > self.cfg.max_gas_per_tx && pending.len() > 1 {
            return Ok(Step::Halve(std::mem::take(pending)));
        }
        let price = self.price().await;
        let fee = match self.cfg.fee.fee(gas, price) {
            Ok(f) => f,
            Err(e) => {
                let msg = e.to_string();
                answer_all(std::mem::take(pending), |_| Err(TxError::Fee(msg.clone())));
                return Ok(Step::Done);
            }
        };
        params.gas_limit = gas;
        params.fee_amount = fee;
        let (bytes, hash) = build_signed_tx(&self.wallet, &msgs, &params);
        tracing::debug!(tx_hash = %hash, msgs = msgs.len(), gas, fee, sequence = params.sequence, timeout_height, "broadcasting");
        let failures_before = pool_failures(&self.client);
        let resp = match self.client.broadcast(bytes).await {
            Ok(r) => {
                // An endpoint failed during this broadcast before another answered: the
                // failed one may have taken the tx into its mempool anyway.
                if pool_failures(&self.client) > failures_before {
                    self.maybe_sent = Some((hash.clone(), timeout_height));
                }
                r
            }
            Err(e) => {
                // It may or may not have reached a mempool: re-read the sequence first and
                // remember the hash so a landed tx is not sent twice.
                *last_err = e.to_string();
                self.account = None;
                self.maybe_sent = Some((hash.clone(), timeout_height));
                tokio::time::sleep(self.cfg.retry_delay).await;
                return Ok(Step::Retry);
            }
        };
        if resp.code != 0 {
            let class = ErrorClass::classify(&resp.codespace, resp.code, &resp.raw_log);
            if class != ErrorClass::AlreadyInMempool {
                *last_err = resp.raw_log.clone();
                // "expected N+1" after a lost broadcast: that tx is probably in the mempool;
                // wait for it instead of sending the messages a second time.
                if matches!(class, ErrorClass::Sequence { .. })
                    && let Some(step) = self.settle_lost_broadcast(pending, true).await
                {
                    return Ok(step);
                }
                // CheckTx failed: the sequence was not consumed; never advance it here.
                return self
                    .on_failure(
                        pending,
                        &resp.codespace,
                        resp.code,
                        &resp.raw_log,
                        Some((gas, price)),
                        false,
                    )
                    .await;
            }
        }
        // Accepted into the mempool: this sequence is used.
        if let Some(a) = self.account.as_mut() {
            a.sequence = params.sequence + 1;
        }
        match self.confirm(&hash, timeout_height).await {
            Ok(Confirm::Included(r)) if r.code == 0 => {
                let outcome = TxOutcome {
                    tx_hash: hash,
                    height: r.height,
                    dry_run: false,
                };
                self.gas_bump = 1.0;
                answer_all(std::mem::take(pending), |_| Ok(outcome.clone()));
                Ok(Step::Done)
            }
            Ok(Confirm::Included(r)) => {
                *last_err = r.raw_log.clone();
                // DeliverTx failed: the tx was included (sequence used, fee paid) but
                // none of its messages applied.
                self.on_failure(
                    pending,
                    &r.codespace,
                    r.code,
                    &r.raw_log,
                    Some((gas, price)),
                    true,
                )
                .await
            }
            Ok(Confirm::Expired) => {
                // Never included and now invalid: the sequence was not consumed on chain.
                // Messages past their deadline are answered "window closed" by the next
                // round; the others go again.
                tracing::warn!(tx_hash = %hash, timeout_height, "tx expired without inclusion");
                *last_err = format!("tx {hash} expired at timeout height {timeout_height}");
                self.account = None;
                Ok(Step::Retry)
            }
            Ok(Confirm::NotSeen) => {
                self.account = None;
                let err = TxError::Timeout {
                    tx_hash: hash,
                    waited: self.cfg.confirm_timeout,
                };
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                Ok(Step::Done)
            }
            Err(e) => {
                self.account = None;
                let err = TxError::Transport(format!("confirming {hash}: {e}"));
                answer_all(std::mem::take(pending), |_| Err(err.clone()));
                Ok(Step::Done)
            }
        }
    }

    /// Acts on a failed simulate / CheckTx / DeliverTx.
    async fn on_failure(
        &mut self,
        pending: &mut Vec<Pending>,
        codespace: &str,
        code: u32,
        log: &str,
        priced: Option<(u64, f64)>,
        delivered: bool,
    ) -> Result<Step, Vec<Pending>> {
        let class = ErrorClass::classify(codespace, code, log);
        tracing::warn!(codespace, code, ?class, delivered, log, "tx attempt failed");
        match class {
            ErrorClass::Sequence { expected } => {
                match (expected, self.account.as_mut()) {
                    (Some(n), Some(a)) => a.sequence = n,
                    _ => self.account = None,
                }
                tokio::time::sleep(self.cfg.sequence_retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::InsufficientFee { required } => {
                let (gas, price) = match priced {
                    Some(p) => p,
                    None => (self.cfg.max_gas_per_tx, self.price().await),
                };
                match self.cfg.fee.reprice(gas, price, required) {
                    Ok(next) => {
                        tracing::info!(
                            from = price,
                            to = next,
                            "repricing gas after insufficient fee"
                        );
                        self.bumped_price = Some(next);
                        Ok(Step::Retry)
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        answer_all(std::mem::take(pending), |_| Err(TxError::Fee(msg.clone())));
                        Ok(Step::Done)
                    }
                }
            }
            ErrorClass::OutOfGas => {
                self.gas_bump *= 1.3;
                if self.gas_bump > 4.0 {
                    let msg = log.to_owned();
                    self.gas_bump = 1.0;
                    answer_all(std::mem::take(pending), |_| {
                        Err(TxError::OutOfGas(msg.clone()))
                    });
                    return Ok(Step::Done);
                }
                Ok(Step::Retry)
            }
            ErrorClass::Busy => {
                tokio::time::sleep(self.cfg.retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::AlreadyInMempool => {
                // Only reachable from simulate; wait a block and look again.
                self.account = None;
                tokio::time::sleep(self.cfg.retry_delay).await;
                Ok(Step::Retry)
            }
            ErrorClass::Unfunded => {
                let msg = detail(codespace, code, log);
                answer_all(std::mem::take(pending), |_| {
                    Err(TxError::Unfunded(msg.clone()))
                });
                Ok(Step::Done)
            }
            ErrorClass::AlreadySubmitted | ErrorClass::WindowClosed | ErrorClass::Rejected => {
                let err = per_message_error(&class, codespace, code, log);
                if pending.len() == 1 {
                    answer_all(std::mem::take(pending), |_| Err(err.clone()));
                    return Ok(Step::Done);
                }
                match parse_message_index(log) {
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

    /// If an earlier broadcast of this batch lost its answer, looks it up (`wait` = poll up
    /// to `confirm_timeout`, else one lookup). Included and successful → answers everyone.
    async fn settle_lost_broadcast(
        &mut self,
        pending: &mut Vec<Pending>,
        wait: bool,
    ) -> Option<Step> {
        let (hash, timeout_height) = self.maybe_sent.clone()?;
        let found = if wait {
            match self.confirm(&hash, timeout_height).await {
                Ok(Confirm::Included(r)) => Some(*r),
                _ => None,
            }
        } else {
            self.client.get_tx(&hash).await.ok().flatten()
        };
        let r = found?;
        self.maybe_sent = None;
        self.account = None;
        if r.code != 0 {
            // It landed but failed; the normal path resends with a fresh sequence.
            return None;
        }
        tracing::info!(tx_hash = %hash, height = r.height, "a broadcast whose answer was lost is included");
        let outcome = TxOutcome {
            tx_hash: hash,
            height: r.height,
            dry_run: false,
        };
        answer_all(std::mem::take(pending), |_| Ok(outcome.clone()));
        Some(Step::Done)
    }

    /// `submit_tx = false`: build and sign exactly what would be sent, log it, send nothing.
    async fn dry_run(&mut self, pending: &mut Vec<Pending>, height: i64) -> Step {
        // An account the chain does not know yet (never funded) still gets a signed tx.
        let account = match self.ensure_account().await {
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
        let price = self.price().await;
        let fee = self.cfg.fee.fee(gas, price).unwrap_or(self.cfg.fee.max_fee);
        let timeout_height = pending
            .iter()
            .filter_map(|p| p.meta.deadline_height)
            .min()
            .map(|d| d.max(height + 1) as u64)
            .unwrap_or(height as u64 + self.cfg.default_timeout_blocks);
        let params = TxParams {
            chain_id: self.cfg.chain_id.clone(),
            account_number: account.account_number,
            sequence: account.sequence,
            gas_limit: gas,
            fee_amount: fee,
            fee_denom: self.cfg.fee.denom.clone(),
            timeout_height,
            memo: self.cfg.memo.clone(),
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

    /// Polls `GetTx` until the tx is in a block or `confirm_timeout` passes.
    /// Stops early once the chain is past `timeout_height` (the tx can no longer be
    /// included).
    async fn confirm(&self, hash: &str, timeout_height: u64) -> Result<Confirm, ChainError> {
        let start = Instant::now();
        let mut polls: u32 = 0;
        loop {
            let last_err = match self.client.get_tx(hash).await {
                Ok(Some(r)) => return Ok(Confirm::Included(Box::new(r))),
                Ok(None) => None,
                Err(e) => Some(e),
            };
            polls += 1;
            if polls.is_multiple_of(4)
                && let Ok(h) = self.client.latest_height().await
                && h > timeout_height as i64
            {
                // One last look: the tx may have landed in the final valid block.
                if let Ok(Some(r)) = self.client.get_tx(hash).await {
                    return Ok(Confirm::Included(Box::new(r)));
                }
                return Ok(Confirm::Expired);
            }
            if start.elapsed() >= self.cfg.confirm_timeout {
                return match last_err {
                    Some(e) => Err(e),
                    None => Ok(Confirm::NotSeen),
                };
            }
            tokio::time::sleep(self.cfg.poll_interval).await;
        }
    }
}

/// `"<codespace>/<code>: <log>"` when the chain gave a code, so `TxError::code()` can
/// report it without widening the error variants.
fn detail(codespace: &str, code: u32, log: &str) -> String {
    if code == 0 {
        log.to_owned()
    } else {
        let cs = if codespace.is_empty() {
            "sdk"
        } else {
            codespace
        };
        format!("{cs}/{code}: {log}")
    }
}

/// Inverse of `detail`: the code of `"<codespace>/<code>: …"`.
fn code_of_detail(d: &str) -> Option<u32> {
    let (head, _) = d.split_once(": ")?;
    let (cs, code) = head.split_once('/')?;
    if cs.is_empty() || cs.contains(' ') {
        return None;
    }
    code.parse().ok()
}

fn per_message_error(class: &ErrorClass, codespace: &str, code: u32, log: &str) -> TxError {
    match class {
        ErrorClass::AlreadySubmitted => TxError::AlreadySubmitted(detail(codespace, code, log)),
        ErrorClass::WindowClosed => TxError::WindowClosed(detail(codespace, code, log)),
        _ => TxError::Rejected {
            codespace: codespace.to_owned(),
            code,
            log: log.to_owned(),
        },
    }
}

/// Total transport failures recorded by the gRPC pool so far.
fn pool_failures(client: &ChainClient) -> u64 {
    client.pool().health().iter().map(|h| h.failures).sum()
}

fn answer_all(pending: Vec<Pending>, f: impl Fn(&Pending) -> Result<TxOutcome, TxError>) {
    for p in pending {
        let r = f(&p);
        p.answer(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw;

    #[test]
    fn signed_tx_round_trips_and_verifies() {
        let w = Wallet::from_secret_bytes(&[1u8; 32]).unwrap();
        let msg = allora_protocol::register_msg(&w, 1, false);
        let msgs = vec![CosmosAny {
            type_url: msg.type_url.clone(),
            value: msg.value.clone(),
        }];
        let p = TxParams {
            chain_id: "allora-devnet-1".into(),
            account_number: 7,
            sequence: 3,
            gas_limit: 200_000,
            fee_amount: 2_000,
            fee_denom: "uallo".into(),
            timeout_height: 120,
            memo: String::new(),
        };
        let (bytes, hash) = build_signed_tx(&w, &msgs, &p);
        assert_eq!(hash, hex::encode_upper(Sha256::digest(&bytes)));
        let raw = TxRaw::decode(bytes.as_slice()).unwrap();
        let body = TxBody::decode(raw.body_bytes.as_slice()).unwrap();
        assert_eq!(body.timeout_height, 120);
        assert_eq!(body.messages[0].type_url, "/emissions.v10.RegisterRequest");
        let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice()).unwrap();
        let fee = auth.fee.unwrap();
        assert_eq!(fee.gas_limit, 200_000);
        assert_eq!(fee.amount[0].amount, "2000");
        assert_eq!(fee.amount[0].denom, "uallo");
        assert_eq!(auth.signer_infos[0].sequence, 3);
        let pk = PubKey::decode(
            auth.signer_infos[0]
                .public_key
                .as_ref()
                .unwrap()
                .value
                .as_slice(),
        )
        .unwrap();
        assert_eq!(pk.key, w.pubkey_bytes());
        let doc = SignDoc {
            body_bytes: raw.body_bytes.clone(),
            auth_info_bytes: raw.auth_info_bytes.clone(),
            chain_id: "allora-devnet-1".into(),
            account_number: 7,
        };
        assert!(keys::verify_bytes(
            &w.pubkey_bytes(),
            &doc.encode_to_vec(),
            &raw.signatures[0]
        ));
        // a different chain id or account number does not verify
        let other = SignDoc {
            chain_id: "allora-testnet-1".into(),
            ..doc
        };
        assert!(!keys::verify_bytes(
            &w.pubkey_bytes(),
            &other.encode_to_vec(),
            &raw.signatures[0]
        ));
    }

    #[test]
    fn wallet_settings() {
        let c = TxConfig::new("x")
            .with_wallet_settings("auto", 1.5, "auto", 5_000_000)
            .unwrap();
        assert_eq!(c.fixed_gas, None);
        assert!(c.fee.dynamic);
        assert_eq!(c.fee.max_fee, 5_000_000);
        let c = TxConfig::new("x")
            .with_wallet_settings("300000", 1.0, "0.025uallo", 10)
            .unwrap();
        assert_eq!(c.fixed_gas, Some(300_000));
        assert!(!c.fee.dynamic);
        assert_eq!(c.fee.fallback_gas_price, 0.025);
        let c = TxConfig::new("x")
            .with_wallet_settings("auto", 1.2, "10", 10)
            .unwrap();
        assert_eq!(c.fee.fallback_gas_price, 10.0);
        for (gas, adj, prices, max, field) in [
            ("lots", 1.5, "auto", 1, "wallet.gas"),
            ("auto", 0.5, "auto", 1, "wallet.gasAdjustment"),
            ("auto", 1.5, "cheap", 1, "wallet.gasPrices"),
            ("auto", 1.5, "auto", 0, "wallet.maxFees"),
        ] {
            let e = TxConfig::new("x")
                .with_wallet_settings(gas, adj, prices, max)
                .unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn error_kinds_are_bounded_labels() {
        let all = [
            TxError::Sequence(String::new()),
            TxError::Fee(String::new()),
            TxError::AlreadySubmitted(String::new()),
            TxError::WindowClosed(String::new()),
            TxError::Transport(String::new()),
            TxError::Unfunded(String::new()),
            TxError::OutOfGas(String::new()),
            TxError::Rejected {
                codespace: "sdk".into(),
                code: 4,
                log: String::new(),
            },
            TxError::Timeout {
                tx_hash: "AB".into(),
                waited: Duration::from_secs(1),
            },
            TxError::Stopped,
        ];
        let kinds: std::collections::BTreeSet<_> = all.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), all.len());
        assert!(TxError::AlreadySubmitted(String::new()).is_done());
        let e = per_message_error(
            &ErrorClass::AlreadySubmitted,
            "emissions",
            78,
            "inference already submitted: cannot update EMA more than once per window",
        );
        assert_eq!(
            (e.kind().as_str(), e.code()),
            ("already_submitted", Some(78))
        );
        let e = per_message_error(
            &ErrorClass::WindowClosed,
            "emissions",
            68,
            "reputer nonce window not available",
        );
        assert_eq!((e.kind().as_str(), e.code()), ("window_closed", Some(68)));
        // A window closed by our own deadline check carries no chain code.
        assert_eq!(
            TxError::WindowClosed("window ended at height 9, chain is at 10".into()).code(),
            None
        );
        assert_eq!(TxError::Sequence(String::new()).code(), Some(32));
        assert_eq!(TxError::Transport("x".into()).code(), None);
        assert!(!TxError::WindowClosed(String::new()).is_done());
    }
}
