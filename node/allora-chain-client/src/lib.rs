//! Chain client: everything between a signed bundle and an included transaction.
//!
//! - [`endpoints`]: gRPC/RPC endpoint lists, health-scored pool, forced re-dial.
//! - [`client`]: `ChainClient` — transport (per-call timeouts, failover, `abci_query`
//!   fallback) and the typed queries over it.
//! - [`error`]: typed query failures ([`ChainError`]) and the chain's answer as data
//!   ([`AbciFailure`]).
//! - [`fees`]: gas adjustment, feemarket price × multiplier, `maxFees` cap.
//! - [`errors`]: classification of SDK / emissions errors into actions — the one place the
//!   chain's text is read.
//! - [`rpc`]: CometBFT JSON-RPC fallback (`abci_query`, `status`, broadcast, tx lookup).
//! - [`tx`]: building and signing txs (SIGN_MODE_DIRECT) and the per-wallet `TxActor`.
//! - [`events`]: CometBFT websocket window events with reconnect, polling fallback.
//! - [`keys`]: wallet keys and the keystore.

pub mod client;
pub mod endpoints;
pub mod error;
pub mod errors;
pub mod events;
pub mod fees;
pub mod keys;
pub mod rpc;
pub mod tx;

pub use client::{AccountInfo, ChainClient, Served, WindowStatus};
pub use endpoints::{EndpointHealth, Endpoints};
pub use error::{AbciFailure, ChainError, Transport, TransportFailure, TransportReason};
pub use errors::{ErrorClass, FeeGrantProblem};
pub use events::{WindowEvent, WindowEventKind};
pub use fees::{FeeError, FeePolicy};
pub use tx::{
    SignedTx, SubmitMeta, TxActor, TxChain, TxConfig, TxError, TxErrorKind, TxHandle, TxOutcome,
};
