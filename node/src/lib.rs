//! allora-node: an off-chain worker/reputer node for the Allora Network whose model code
//! runs as sandboxed WebAssembly components. See `shared/DESIGN.md` for the architecture.

pub mod actors;
pub mod chain;
pub mod cli;
pub mod config;
pub mod decimal;
pub mod devnet;
pub mod keys;
pub mod loss;
pub mod metrics;
pub mod proto;
pub mod protocol;
pub mod runtime;
