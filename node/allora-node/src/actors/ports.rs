//! The narrow interfaces the actors use to reach the chain, the tx actor, the signer and
//! the adapters. The actors own the *policy* (when to register, which nonce, retries,
//! isolation); these ports own the *mechanism*. Real implementations wrap the chain client,
//! `TxHandle`, `protocol` signing and the wasm runtime (`actors::live`); unit tests use
//! in-memory fakes, so actor policy is tested without a network.

use std::collections::BTreeMap;
use std::time::Instant;

use async_trait::async_trait;

use allora_protocol::proto::emissions::{v9, v10};

/// A failed port call, classified for metrics (`kind`) and logged with `message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct PortError {
    pub kind: String,
    pub message: String,
}

impl PortError {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
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

/// An open submission window: the nonce and, when known, the last block it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenWindow {
    pub nonce: i64,
    pub end_block: Option<i64>,
}

/// Registration role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    async fn chain_id(&self) -> Result<String, PortError>;
    /// (url, healthy) of each gRPC endpoint as the client's pool scores them; empty when
    /// the implementation does not track health (then the supervisor probes).
    fn grpc_health(&self) -> Vec<(String, bool)> {
        Vec::new()
    }
    async fn params(&self) -> Result<ChainParams, PortError>;
    async fn topic(&self, topic_id: u64) -> Result<TopicInfo, PortError>;
    async fn latest_height(&self) -> Result<i64, PortError>;
    async fn balance(&self, address: &str) -> Result<u128, PortError>;
    async fn is_registered(
        &self,
        topic_id: u64,
        address: &str,
        role: Role,
    ) -> Result<bool, PortError>;
    async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, PortError>;
    async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, PortError>;
    async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<OpenWindow>, PortError>;
    async fn network_inferences(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<v10::NetworkInferenceBundle, PortError>;
    /// Inferer addresses active on the topic (input to forecast adapters).
    async fn active_inferers(&self, topic_id: u64) -> Result<Vec<String>, PortError>;
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

/// Why a submission did not land. `kind` follows `TxError::kind()`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TxFailure {
    pub kind: String,
    pub message: String,
}

impl TxFailure {
    /// The chain already has this payload (treated as done, never retried).
    pub fn already_submitted(&self) -> bool {
        self.kind == "already_submitted"
    }
    /// The window closed before inclusion (skip this nonce).
    pub fn window_closed(&self) -> bool {
        self.kind == "window_closed"
    }
}

/// Broadcast + confirmation (the per-wallet tx actor).
#[async_trait]
pub trait TxPort: Send + Sync {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure>;
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
    ) -> Result<Outgoing, PortError>;
    /// Signs and locally validates a reputer value bundle (reputer + nonce are set here).
    fn reputer_payload(
        &self,
        bundle: v9::InputValueBundle,
        nonce: i64,
    ) -> Result<Outgoing, PortError>;
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

/// A loaded adapter. Errors carry `CallError::kind()` as `kind`.
#[async_trait]
pub trait AdapterPort: Send + Sync {
    fn name(&self) -> &str;
    /// The per-call budget from the config (used as a hard guard when no window deadline).
    fn timeout(&self) -> std::time::Duration;
    async fn infer(&self, call: &Call) -> Result<Vec<(String, String)>, PortError>;
    async fn forecast(
        &self,
        call: &Call,
        inferers: &[String],
    ) -> Result<Vec<(String, String)>, PortError>;
    async fn ground_truth(&self, call: &Call) -> Result<String, PortError>;
    async fn loss(
        &self,
        call: &Call,
        ground_truth: &str,
        predictions: &[String],
    ) -> Result<Vec<String>, PortError>;
    async fn never_negative(&self, call: &Call) -> Result<bool, PortError>;
}
