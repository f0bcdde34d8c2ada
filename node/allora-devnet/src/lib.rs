//! A strict, in-process simulation of an Allora chain (emissions v10 on Cosmos SDK 0.50 /
//! CometBFT 0.38) for tests and for trying adapters without tokens: `allora-node devnet`,
//! `allora-node demo`, and every end-to-end test. See `docs/DEVNET.md`.
//!
//! It behaves like the chain where a node can observe it: real gRPC paths with reflection,
//! CometBFT JSON-RPC and websocket events, SDK ante checks with real SIGN_MODE_DIRECT
//! verification and error codes, the four emissions messages with the chain's validations,
//! and nonces/windows on schedule.
//!
//! **It checks the node with its own code.** Signatures, addresses, bundle re-marshalling
//! and decimal rendering are written here from the protocol reference and the crypto crates
//! (`crypto`, `bundles`, `canonical`); from the node's protocol crate it uses only the
//! generated proto types and the shared table of gRPC method paths. A mistake made the same
//! way on both sides would otherwise pass every test. `tests/workspace_boundaries.rs`
//! enforces this.
//!
//! # Public surface
//!
//! - start: [`Devnet::start`] with a [`DevnetConfig`] (a [`Genesis`] of accounts, topics
//!   and params) → a [`DevnetHandle`] (endpoints, state inspection, [`Faults`], shutdown);
//! - observe: [`DevnetHandle::subscribe_blocks`] yields a [`BlockNotice`] per block, whose
//!   [`TxRecord`]s carry the verdict (code, codespace, log) and, via
//!   [`TxRecord::contents`], the signer and the decoded [`Msg`]s.
//!
//! Everything else is crate-private. Modules: `genesis` (input), `state` (data), `ante` +
//! `msgs` (tx execution) with `crypto`, `bundles`, `canonical` (the devnet's own
//! verification), `lifecycle` + `network` (end-block), `node` (blocks, mempool, bus),
//! `grpc` + `rpc` (servers), `faults` + `net` (fault injection), `events` + `abci` (wire
//! shapes), `handle` (the running devnet).

mod abci;
mod ante;
mod bundles;
mod canonical;
mod crypto;
mod events;
mod faults;
mod feegrant;
mod genesis;
mod grpc;
mod handle;
mod lifecycle;
mod msgs;
mod net;
mod network;
mod node;
mod rpc;
mod state;
mod wallclock;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use events::{Attribute, Event};
pub use faults::Faults;
pub use genesis::{
    DEFAULT_TEST_BALANCE, Genesis, GenesisAccount, GenesisError, GenesisFeeGrant, GenesisParams,
    GenesisTopic, TEST_MNEMONICS,
};
pub use handle::DevnetHandle;
pub use msgs::Msg;
pub use node::{BlockNotice, BlockRecord, TxContents, TxRecord};

/// Default chain id of the devnet.
pub const DEFAULT_CHAIN_ID: &str = "allora-devnet-1";

/// How to start a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    pub chain_id: String,
    /// Time between blocks (must be > 0); blocks are produced on this tick.
    pub block_time: Duration,
    /// Accounts, topics and params at height 0.
    pub genesis: Genesis,
    /// gRPC listen address (port 0 = pick a free port).
    pub grpc_addr: SocketAddr,
    /// CometBFT RPC + websocket listen address (port 0 = pick a free port).
    pub rpc_addr: SocketAddr,
    /// The emissions package served: 10 (allora-chain v0.17.0) or 9 (v0.16.0); the other
    /// package answers `Unimplemented`. Any other number serves no emissions package at all
    /// (to test a node's refusal of a chain it cannot speak).
    pub emissions_version: u32,
}

/// The emissions package a devnet serves unless told otherwise.
pub const DEFAULT_EMISSIONS_VERSION: u32 = 10;

impl Default for DevnetConfig {
    fn default() -> Self {
        DevnetConfig {
            chain_id: DEFAULT_CHAIN_ID.to_string(),
            block_time: Duration::from_secs(1),
            genesis: Genesis::default_devnet(),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            emissions_version: DEFAULT_EMISSIONS_VERSION,
        }
    }
}

/// Why a devnet could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error(transparent)]
    Genesis(#[from] genesis::GenesisError),
    #[error("cannot bind {what} on {addr}: {source} (pick another address or port 0)")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("block_time must be > 0")]
    BlockTime,
}

/// Entry point: [`Devnet::start`].
pub struct Devnet;

impl Devnet {
    /// Builds genesis, binds both servers and starts producing blocks.
    pub async fn start(cfg: DevnetConfig) -> Result<DevnetHandle, DevnetError> {
        if cfg.block_time.is_zero() {
            return Err(DevnetError::BlockTime);
        }
        let mut state = state::State::from_genesis(&cfg.chain_id, &cfg.genesis)?;
        state.emissions_version = cfg.emissions_version;
        let faults = Faults::default();
        let node = Arc::new(node::Node::new(state, faults));
        let grpc_l = tokio::net::TcpListener::bind(cfg.grpc_addr)
            .await
            .map_err(|source| DevnetError::Bind {
                what: "gRPC",
                addr: cfg.grpc_addr,
                source,
            })?;
        let rpc_l = tokio::net::TcpListener::bind(cfg.rpc_addr)
            .await
            .map_err(|source| DevnetError::Bind {
                what: "RPC",
                addr: cfg.rpc_addr,
                source,
            })?;
        let grpc_addr = grpc_l.local_addr().map_err(|source| DevnetError::Bind {
            what: "gRPC",
            addr: cfg.grpc_addr,
            source,
        })?;
        let rpc_addr = rpc_l.local_addr().map_err(|source| DevnetError::Bind {
            what: "RPC",
            addr: cfg.rpc_addr,
            source,
        })?;
        let (stop, stop_rx) = watch::channel(false);
        let services = grpc::Services { node: node.clone() };
        let mut tasks = Vec::new();

        let shutdown = wait_stop(stop_rx.clone());
        let svc = services.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = grpc::serve(svc, grpc_l, shutdown).await {
                tracing::error!(error = %e, "devnet gRPC server stopped");
            }
        }));

        let app = rpc::router(services, rpc_addr);
        let listener = net::FaultyListener {
            listener: rpc_l,
            faults: node.faults.clone(),
        };
        let shutdown = wait_stop(stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "devnet RPC server stopped");
            }
        }));

        let producer = node.clone();
        let mut stop_blocks = stop_rx;
        let block_time = cfg.block_time;
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(block_time);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop_blocks.changed() => return,
                }
                if producer.faults.blocks_paused() {
                    continue;
                }
                let n = producer.produce_block();
                tracing::debug!(height = n.block.height, txs = n.txs.len(), "devnet block");
            }
        }));
        tracing::info!(%grpc_addr, %rpc_addr, chain_id = %cfg.chain_id, emissions_version = cfg.emissions_version, "devnet started");
        Ok(DevnetHandle::new(node, grpc_addr, rpc_addr, stop, tasks))
    }
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}
