//! A strict, in-process simulation of an Allora chain (emissions v10 on Cosmos SDK 0.50 /
//! CometBFT 0.38) for tests and for trying adapters without tokens: `allora-node devnet`.
//!
//! It lives in the node crate (not in `tests/`) so the binary can run it and every test can
//! start one in-process. It behaves like the chain where a node can observe it: real gRPC
//! paths with reflection, CometBFT JSON-RPC and websocket events, SDK ante checks with real
//! SIGN_MODE_DIRECT verification and error codes, the four emissions messages with the
//! chain's validations, and nonces/windows on schedule. See `docs/DEVNET.md`.
//!
//! Modules: `genesis` (input), `state` (data), `ante` + `msgs` (tx execution),
//! `lifecycle` + `network` (end-block), `node` (blocks/mempool/bus), `grpc` + `rpc`
//! (servers), `faults` + `net` (fault injection), `events` + `abci` (wire shapes).

pub mod abci;
pub mod ante;
pub mod crypto;
pub mod events;
pub mod faults;
pub mod genesis;
pub mod grpc;
pub mod lifecycle;
pub mod msgs;
pub mod net;
pub mod network;
pub mod node;
pub mod rpc;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::Faults;
pub use genesis::{Genesis, GenesisAccount, GenesisParams, GenesisTopic, TEST_MNEMONICS};
pub use node::{BlockNotice, TxRecord};

use allora_protocol::proto::emissions::{v9, v10};

/// Default chain id of the devnet.
pub const DEFAULT_CHAIN_ID: &str = "allora-devnet-1";

/// How to start a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    pub chain_id: String,
    pub block_time: Duration,
    pub genesis: Genesis,
    /// gRPC listen address (port 0 = pick a free port).
    pub grpc_addr: SocketAddr,
    /// CometBFT RPC + websocket listen address (port 0 = pick a free port).
    pub rpc_addr: SocketAddr,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        DevnetConfig {
            chain_id: DEFAULT_CHAIN_ID.to_string(),
            block_time: Duration::from_secs(1),
            genesis: Genesis::default_devnet(),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

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

/// A running devnet. Dropping it without `shutdown()` aborts its tasks.
#[derive(Debug)]
pub struct DevnetHandle {
    node: Arc<node::Node>,
    grpc_addr: SocketAddr,
    rpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Entry point.
pub struct Devnet;

impl Devnet {
    /// Builds genesis, binds both servers and starts producing blocks.
    pub async fn start(cfg: DevnetConfig) -> Result<DevnetHandle, DevnetError> {
        if cfg.block_time.is_zero() {
            return Err(DevnetError::BlockTime);
        }
        let state = state::State::from_genesis(&cfg.chain_id, &cfg.genesis)?;
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
        tracing::info!(%grpc_addr, %rpc_addr, chain_id = %cfg.chain_id, "devnet started");
        Ok(DevnetHandle {
            node,
            grpc_addr,
            rpc_addr,
            stop,
            tasks,
        })
    }
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

impl DevnetHandle {
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// `http://127.0.0.1:<port>` for gRPC clients.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://127.0.0.1:<port>` for CometBFT RPC.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// `ws://127.0.0.1:<port>/websocket`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/websocket", self.rpc_addr)
    }

    pub fn chain_id(&self) -> String {
        self.node.lock().committed.chain_id.clone()
    }

    /// Last committed height.
    pub fn height(&self) -> i64 {
        self.node.lock().committed.height
    }

    pub fn faults(&self) -> Faults {
        self.node.faults.clone()
    }

    /// Subscribes to block notices (each produced block and its tx results).
    pub fn subscribe_blocks(&self) -> tokio::sync::broadcast::Receiver<Arc<BlockNotice>> {
        self.node.bus.subscribe()
    }

    /// Waits until the committed height reaches `h` (or `timeout` passes).
    pub async fn wait_for_height(&self, h: i64, timeout: Duration) -> Result<i64, i64> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.node.bus.subscribe();
        loop {
            let cur = self.height();
            if cur >= h {
                return Ok(cur);
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Err(self.height()),
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return Err(cur),
                Ok(_) => {}
            }
        }
    }

    /// Produces one block immediately (also while block production is paused).
    pub fn produce_block(&self) -> Arc<BlockNotice> {
        self.node.produce_block()
    }

    pub fn balance(&self, addr: &str) -> u128 {
        self.node.lock().committed.balance(addr)
    }

    /// (account number, sequence) of a committed account.
    pub fn account(&self, addr: &str) -> Option<(u64, u64)> {
        self.node
            .lock()
            .committed
            .accounts
            .get(addr)
            .map(|a| (a.account_number, a.sequence))
    }

    pub fn is_worker_registered(&self, topic: u64, addr: &str) -> bool {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .is_some_and(|t| t.workers.contains(addr))
    }

    pub fn is_reputer_registered(&self, topic: u64, addr: &str) -> bool {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .is_some_and(|t| t.reputers.contains(addr))
    }

    pub fn stake(&self, topic: u64, addr: &str) -> u128 {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .map(|t| t.stake_of(addr))
            .unwrap_or(0)
    }

    /// Unfulfilled worker nonces, newest first.
    pub fn worker_nonces(&self, topic: u64) -> Vec<i64> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .map(|t| t.worker_nonces.clone())
            .unwrap_or_default()
    }

    /// Unfulfilled reputer nonces, newest first.
    pub fn reputer_nonces(&self, topic: u64) -> Vec<i64> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .map(|t| t.reputer_nonces.clone())
            .unwrap_or_default()
    }

    /// Accepted worker payloads for a topic and nonce.
    pub fn worker_payloads(&self, topic: u64, nonce: i64) -> Vec<v10::InputWorkerDataBundle> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .and_then(|t| t.worker_payloads.get(&nonce))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Accepted reputer payloads for a topic and nonce.
    pub fn reputer_payloads(&self, topic: u64, nonce: i64) -> Vec<v9::InputReputerValueBundle> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .and_then(|t| t.reputer_payloads.get(&nonce))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn network_inferences(
        &self,
        topic: u64,
        nonce: i64,
    ) -> Option<v10::NetworkInferenceBundle> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .and_then(|t| t.network_inferences.get(&nonce).cloned())
    }

    /// The delivered result of a tx by (upper- or lower-case) hex hash.
    pub fn tx_result(&self, hash: &str) -> Option<TxRecord> {
        self.node
            .lock()
            .txs
            .get(&hash.to_uppercase())
            .map(|r| (**r).clone())
    }

    /// Stops block production and both servers.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        // Graceful server shutdown waits for open connections; close them like a dead node.
        self.node.faults.drop_connections();
        for t in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                tracing::warn!("devnet task did not stop within 5 s");
            }
        }
    }
}

impl Drop for DevnetHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}
