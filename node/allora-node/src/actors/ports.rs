//! The narrow interfaces the actors use to reach the chain, the tx actor, the signer and
//! the adapters. The actors own the *policy* (when to register, which nonce, retries,
//! isolation); these ports own the *mechanism*. Real implementations live in
//! [`crate::app`] (chain client, `TxHandle`, `protocol` signing, the wasm runtime); unit
//! tests use in-memory fakes, so actor policy is tested without a network.
//!
//! Failures are typed enums from where they happen to the actors and the metrics labels:
//! [`QueryError`] (chain queries), [`TxFailure`] (the tx actor's [`TxErrorKind`] and ABCI
//! code), [`AdapterError`] (the sandbox's [`CallError`]), [`SignError`] (local bundle checks).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use allora_chain_client::{SignedTx, TxErrorKind};
use allora_protocol::emissions::NetworkValues;
use allora_protocol::emissions::reputer_input::InputValueBundle;
pub use allora_sandbox::{CallError, CallErrorKind};

use crate::config::AdapterPlan;

/// What kind of chain-query failure: decides nothing in the actors today (they retry on
/// the next trigger), but is logged and available to policy without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryErrorKind {
    /// No endpoint answered.
    Transport,
    /// The chain answered that the thing does not exist.
    NotFound,
    /// An endpoint answered with an error status.
    Status,
    /// The answer could not be decoded.
    Decode,
    /// The client itself is misconfigured.
    Config,
}

impl QueryErrorKind {
    /// Bounded label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryErrorKind::Transport => "transport",
            QueryErrorKind::NotFound => "not_found",
            QueryErrorKind::Status => "status",
            QueryErrorKind::Decode => "decode",
            QueryErrorKind::Config => "config",
        }
    }
}

impl std::fmt::Display for QueryErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed chain query.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct QueryError {
    pub kind: QueryErrorKind,
    pub message: String,
}

impl QueryError {
    pub fn new(kind: QueryErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// A payload failed local signing or verification (the chain would reject it too).
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid payload: {0}")]
pub struct SignError(pub String);

/// Why an adapter call produced no value.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The sandbox's classified failure (timeout, trap, memory, output, …).
    #[error(transparent)]
    Call(#[from] CallError),
    /// The node's own guard fired: the runtime did not stop the call at its budget.
    #[error("adapter {adapter} did not answer within {waited:?}")]
    Guard { adapter: String, waited: Duration },
    /// The node is shutting down.
    #[error("node is shutting down")]
    Shutdown,
    /// The blocking task running the call failed (a host panic).
    #[error("adapter call task failed: {0}")]
    Task(String),
}

impl AdapterError {
    /// The bounded `kind` label of `allora_adapter_failures_total`: the sandbox's label for
    /// its own failures, `timeout` for the node's guard.
    pub fn label(&self) -> &'static str {
        match self {
            AdapterError::Call(e) => e.kind(),
            AdapterError::Guard { .. } => "timeout",
            AdapterError::Shutdown => "shutdown",
            AdapterError::Task(_) => "task",
        }
    }
}

/// Module params the actors need (amounts in uallo).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainParams {
    pub registration_fee: u128,
    pub data_sending_fee: u128,
    pub required_minimum_stake: u128,
}

/// Topic facts the actors need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicInfo {
    pub id: u64,
    pub epoch_length: i64,
    pub ground_truth_lag: i64,
    pub worker_submission_window: i64,
    pub loss_method: String,
}

/// An open submission window: the nonce and, when the chain reports them, the last block it
/// accepts and (wall-clock epochs) the first instant it no longer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenWindow {
    pub nonce: i64,
    pub end_block: Option<i64>,
    pub end_time: Option<std::time::SystemTime>,
}

/// An x/feegrant allowance as `doctor` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeAllowance {
    /// The allowance type (e.g. `/cosmos.feegrant.v1beta1.BasicAllowance`).
    pub kind: String,
    /// Remaining uallo (`BasicAllowance` only); `None` = unlimited or not a basic allowance.
    pub spend_limit: Option<u128>,
    /// Unix seconds after which it has expired (`BasicAllowance` only).
    pub expiration_unix: Option<i64>,
}

/// Registration role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Worker,
    Reputer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Reputer => "reputer",
        }
    }
}

/// Chain queries.
#[async_trait]
pub trait ChainPort: Send + Sync {
    async fn chain_id(&self) -> Result<String, QueryError>;
    /// (url, healthy) of each gRPC endpoint as the client's pool scores them; empty when
    /// the implementation does not track health (then the supervisor probes).
    fn grpc_health(&self) -> Vec<(String, bool)> {
        Vec::new()
    }
    async fn params(&self) -> Result<ChainParams, QueryError>;
    async fn topic(&self, topic_id: u64) -> Result<TopicInfo, QueryError>;
    async fn latest_height(&self) -> Result<i64, QueryError>;
    async fn balance(&self, address: &str) -> Result<u128, QueryError>;
    async fn is_registered(
        &self,
        topic_id: u64,
        address: &str,
        role: Role,
    ) -> Result<bool, QueryError>;
    async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, QueryError>;
    async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, QueryError>;
    async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, QueryError>;
    async fn network_inferences(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<NetworkValues, QueryError>;
    /// Inferer addresses active on the topic (input to forecast adapters).
    async fn active_inferers(&self, topic_id: u64) -> Result<Vec<String>, QueryError>;
    /// The included tx with this hash (`GetTx`, CometBFT `tx` fallback), or `None` while
    /// it is not in a block.
    async fn tx_landed(&self, tx_hash: &str) -> Result<Option<TxLanded>, QueryError>;
    /// The fee allowance `granter` gave `grantee`, if any (`doctor`).
    async fn fee_allowance(
        &self,
        _granter: &str,
        _grantee: &str,
    ) -> Result<Option<FeeAllowance>, QueryError> {
        Ok(None)
    }
}

/// An included tx as a hash lookup found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLanded {
    pub height: i64,
    /// The DeliverTx code: 0 when its messages applied.
    pub code: u32,
}

/// What a submission is, for the tx actor and the logs.
#[derive(Debug, Clone)]
pub struct SubmitMeta {
    pub topic_id: u64,
    pub nonce: Option<i64>,
    pub kind: &'static str,
    pub deadline_height: Option<i64>,
}

/// A message ready for the tx actor, with a human description for dry runs and logs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub msg: prost_types::Any,
    /// Debug rendering of the inner message (no secrets: bundles hold only public data).
    pub describe: String,
}

/// Inclusion of a tx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    pub tx_hash: String,
    pub height: i64,
}

/// Why a submission did not land: the tx actor's class and the chain's ABCI code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TxFailure {
    pub kind: TxErrorKind,
    /// The ABCI code behind the failure, when the chain gave one.
    pub code: Option<u32>,
    pub message: String,
}

impl TxFailure {
    pub fn new(kind: TxErrorKind, code: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    /// The `code` label of `allora_tx_errors_total` (`none` without an ABCI code).
    pub fn code_label(&self) -> String {
        self.code
            .map_or_else(|| "none".to_string(), |c| c.to_string())
    }
}

/// Broadcast + confirmation (the per-wallet tx actor), and its liveness for the
/// supervisor.
#[async_trait]
pub trait TxPort: Send + Sync {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure>;
    /// Like `submit`, and `signed` hears each signed tx carrying `out` before it is
    /// broadcast (to record its hash; the broadcast waits, bounded, for the answer).
    /// Implementations that cannot report hashes just submit (the intent's deadline still
    /// bounds the wait).
    async fn submit_observed(
        &self,
        out: Outgoing,
        meta: SubmitMeta,
        signed: mpsc::UnboundedSender<SignedTx>,
    ) -> Result<Included, TxFailure> {
        drop(signed);
        self.submit(out, meta).await
    }
    /// True while the tx actor behind this port is dead (every submit would fail).
    fn is_stopped(&self) -> bool {
        false
    }
    /// Replaces a dead tx actor with a new one; later submits use it.
    fn restart(&self) {}
}

/// Builds and signs messages with the node's wallet (keys never leave the implementation).
pub trait SignPort: Send + Sync {
    fn address(&self) -> &str;
    /// Signs and locally validates a worker bundle; returns the InsertWorkerPayload message.
    fn worker_payload(
        &self,
        topic_id: u64,
        nonce: i64,
        inference: Option<Vec<(String, String)>>,
        forecast: Option<Vec<(String, String)>>,
    ) -> Result<Outgoing, SignError>;
    /// Signs and locally validates a reputer value bundle (reputer + nonce are set here).
    fn reputer_payload(&self, bundle: InputValueBundle, nonce: i64) -> Result<Outgoing, SignError>;
    fn register(&self, topic_id: u64, role: Role) -> Outgoing;
    fn add_stake(&self, topic_id: u64, amount: u128) -> Outgoing;
}

/// One adapter call's context (mirrors `allora_sandbox::CallContext`).
#[derive(Debug, Clone)]
pub struct Call {
    pub topic_id: u64,
    pub nonce: i64,
    pub params: BTreeMap<String, String>,
    pub deadline: Option<Instant>,
}

/// A loaded adapter.
#[async_trait]
pub trait AdapterPort: Send + Sync {
    fn name(&self) -> &str;
    /// The per-call budget from the config (used as a hard guard when no window deadline).
    fn timeout(&self) -> Duration;
    async fn infer(&self, call: &Call) -> Result<Vec<(String, String)>, AdapterError>;
    async fn forecast(
        &self,
        call: &Call,
        inferers: &[String],
    ) -> Result<Vec<(String, String)>, AdapterError>;
    async fn ground_truth(&self, call: &Call) -> Result<String, AdapterError>;
    async fn loss(
        &self,
        call: &Call,
        ground_truth: &str,
        predictions: &[String],
    ) -> Result<Vec<String>, AdapterError>;
    async fn never_negative(&self, call: &Call) -> Result<bool, AdapterError>;
}

/// Loads a configured adapter for one role (the supervisor's way to the sandbox).
#[async_trait]
pub trait AdapterLoader: Send + Sync {
    async fn load(
        &self,
        plan: &AdapterPlan,
        role: allora_sandbox::Role,
    ) -> Result<Arc<dyn AdapterPort>, allora_sandbox::LoadError>;
}
