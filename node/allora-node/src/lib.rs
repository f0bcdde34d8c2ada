//! allora-node: the off-chain worker/reputer node for the Allora Network. This crate is the
//! product's binary side: config → plan, the per-topic actors and their supervisor, metrics,
//! the CLI, and the composition root that wires the plan to the sandbox
//! (`allora-sandbox`), the chain client (`allora-chain-client`) and the actors. See
//! `docs/ARCHITECTURE.md` for the crate graph.

pub mod actors;
pub mod app;
pub mod cli;
pub mod config;
pub mod metrics;
