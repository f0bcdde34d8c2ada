//! Chain client: everything between a signed bundle and an included transaction.
//!
//! - [`endpoints`]: gRPC/RPC endpoint lists, health-scored pool, forced re-dial.
//! - [`client`]: `ChainClient` queries with per-call timeouts and failover.
//! - [`fees`]: gas adjustment, feemarket price × multiplier, `maxFees` cap.
//! - [`errors`]: classification of SDK / emissions errors into actions.
//! - [`rpc`]: CometBFT JSON-RPC fallback (`abci_query`, `status`, broadcast, tx lookup).
//! - [`tx`]: building and signing txs (SIGN_MODE_DIRECT) and the per-wallet `TxActor`.
//! - [`events`]: CometBFT websocket window events with reconnect, polling fallback.

pub mod client;
pub mod endpoints;
pub mod errors;
pub mod events;
pub mod fees;
pub mod keys;
pub mod rpc;
pub mod tx;

pub use client::{AccountInfo, ChainClient, WindowStatus};
pub use endpoints::{EndpointHealth, Endpoints};
pub use errors::ErrorClass;
pub use events::{WindowEvent, WindowEventKind};
pub use fees::FeePolicy;
pub use tx::{SubmitMeta, TxActor, TxConfig, TxError, TxErrorKind, TxHandle, TxOutcome};

use thiserror::Error;

/// Query/transport failures of the chain client.
#[derive(Debug, Error)]
pub enum ChainError {
    #[error("chain client configuration: {0}")]
    Config(String),
    #[error(
        "{op}: all {tried} endpoint(s) failed (last: {last}); check wallet.nodeGrpcs / wallet.nodeRpcs and that the nodes are reachable"
    )]
    Unreachable {
        op: &'static str,
        tried: usize,
        last: String,
    },
    #[error("{op} on {endpoint}: {code:?}: {message}")]
    Status {
        op: &'static str,
        endpoint: String,
        code: tonic::Code,
        message: String,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error(
        "chain-id mismatch: configured {expected:?} but the node serves {actual:?}; fix wallet.chainId or the endpoints"
    )]
    ChainIdMismatch { expected: String, actual: String },
    #[error("account {0} does not exist on chain yet (never funded); send it some uallo first")]
    AccountNotFound(String),
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl ChainError {
    /// True when the failure is about reaching the chain, not the chain's answer.
    pub fn is_transport(&self) -> bool {
        matches!(self, ChainError::Unreachable { .. })
    }
}
