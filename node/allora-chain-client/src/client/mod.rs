//! `ChainClient`: the queries an off-chain node needs (emissions v9 or v10, cosmos auth / bank /
//! tx / tendermint, feemarket), each with a per-call timeout and failover across the
//! endpoint pool. Answers ("topic not found") are returned as errors without failover;
//! transport failures move on to the next endpoint and force a re-dial of the failed one.
//! When no gRPC endpoint is reachable, every query is retried once over the CometBFT RPC
//! endpoints (`abci_query` by gRPC method path; `status` for chain id and height), so a
//! gRPC outage alone does not blind the node.
//!
//! Split by concern: `transport` owns how a call reaches the chain (pool, timeout,
//! failover, fallback); `cosmos` and `emissions` own what is asked and how the answer is
//! typed. Every method path comes from [`allora_protocol::methods`]; the emissions paths
//! under the client's [`EmissionsVersion`] (v10 until `detect` finds out what the chain
//! serves and the caller sets it with [`ChainClient::with_version`]).

mod cosmos;
mod detect;
mod emissions;
mod epochs;
mod transport;

use allora_protocol::EmissionsVersion;
pub use epochs::Served;

use allora_protocol::proto::emissions::v10;

pub use detect::VersionError;

use crate::ChainError;
use crate::endpoints::{Endpoints, GrpcPool};
use crate::rpc::RpcClient;

/// Account number and sequence (`AccountInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo {
    pub account_number: u64,
    pub sequence: u64,
}

/// Submission window status (`Get{Worker,Reputer}SubmissionWindowStatus`).
/// Same field numbers in v9 and v10, so one type serves both.
pub type WindowStatus = v10::GetWorkerSubmissionWindowStatusResponse;

/// Query client over a pool of gRPC endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ChainClient {
    pool: GrpcPool,
    rpc: RpcClient,
    endpoints: Endpoints,
    version: EmissionsVersion,
}

/// An integer amount (`"123"`, empty = 0) from a query answer.
fn parse_int(op: &'static str, s: &str) -> Result<u128, ChainError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<u128>()
        .map_err(|_| ChainError::Decode(format!("{op}: {s:?} is not an integer amount")))
}

impl ChainClient {
    /// Builds the pool (no I/O yet; channels dial lazily). Logs a warning when only one
    /// endpoint of a kind is configured.
    pub fn new(endpoints: Endpoints) -> Result<ChainClient, ChainError> {
        for w in endpoints.warnings() {
            tracing::warn!(warning = %w, "endpoint configuration");
        }
        Ok(ChainClient {
            pool: GrpcPool::new(&endpoints)?,
            rpc: RpcClient::new(&endpoints.rpc, endpoints.call_timeout)
                .primary(endpoints.grpc.is_empty()),
            endpoints,
            version: EmissionsVersion::V10,
        })
    }

    /// The same client speaking emissions `version` (set it from [`ChainClient::detect_version`]
    /// before cloning the client into the node's parts).
    pub fn with_version(mut self, version: EmissionsVersion) -> Self {
        self.version = version;
        self
    }

    /// The emissions version the emissions queries use.
    pub fn version(&self) -> EmissionsVersion {
        self.version
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn pool(&self) -> &GrpcPool {
        &self.pool
    }
}

/// Reputer nonce heights of a `ReputerRequestNonces` list (empty when absent).
fn reputer_heights(
    n: Option<allora_protocol::proto::emissions::v3::ReputerRequestNonces>,
) -> Vec<i64> {
    n.map(|n| {
        n.nonces
            .into_iter()
            .filter_map(|r| r.reputer_nonce.map(|n| n.block_height))
            .collect()
    })
    .unwrap_or_default()
}
