// >>> STOP — NOTE FROM THE LEAD (20:37): branch `chain` already landed a complete chain client
// >>> (endpoints, queries, fees, errors, tx actor, events) with devnet integration tests
// >>> (commits bff5c00, 87faaa9). Your work duplicates it. Please stop now: do not merge,
// >>> do not commit further; reply with a short report listing anything in your version that
// >>> `chain`'s version lacks (file + function), so the lead can port it. Thank you.
//! Chain client: everything between a signed payload and an included transaction.
//!
//! - `endpoints`: gRPC / CometBFT RPC endpoint pool with health scores and failover.
//! - `client`: typed queries (`ChainClient`).
//! - `fees`: gas limit and fee arithmetic.
//! - `errors`: classification of tx failures (`TxError`).
//! - `tx`: the per-wallet tx actor (sequence, batching, signing, broadcast, confirmation).
//! - `events`: CometBFT websocket subscriptions to the emissions window events.

pub mod client;
pub mod endpoints;
pub mod errors;
pub mod fees;

pub use client::{ChainClient, ChainError, WindowStatus};
pub use endpoints::{EndpointConfig, EndpointHealth, Endpoints};
pub use errors::TxError;
