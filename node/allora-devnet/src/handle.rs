//! [`DevnetHandle`]: a running devnet — its endpoints, read-only views of its committed
//! state for tests, block notices for observers, fault switches, and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use allora_protocol::proto::emissions::{v9, v10};

use crate::faults::Faults;
use crate::node::{self, BlockNotice, TxRecord};

/// A running devnet. Dropping it without `shutdown()` aborts its tasks.
#[derive(Debug)]
pub struct DevnetHandle {
    node: Arc<node::Node>,
    grpc_addr: SocketAddr,
    rpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DevnetHandle {
    pub(crate) fn new(
        node: Arc<node::Node>,
        grpc_addr: SocketAddr,
        rpc_addr: SocketAddr,
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    ) -> DevnetHandle {
        DevnetHandle {
            node,
            grpc_addr,
            rpc_addr,
            stop,
            tasks,
        }
    }

    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound CometBFT RPC + websocket address.
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

    /// The chain id txs must be signed for.
    pub fn chain_id(&self) -> String {
        self.node.lock().committed.chain_id.clone()
    }

    /// Last committed height.
    pub fn height(&self) -> i64 {
        self.node.lock().committed.height
    }

    /// The fault switches shared by every server and the block producer.
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

    /// Hashes of the txs waiting in the mempool, in the order a block would take them.
    pub fn mempool(&self) -> Vec<String> {
        self.node
            .lock()
            .mempool
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Committed uallo balance of `addr` (0 for an unknown account).
    pub fn balance(&self, addr: &str) -> u128 {
        self.node.lock().committed.balance(addr)
    }

    /// The remaining uallo spend limit of `granter`'s fee allowance to `grantee`:
    /// `None` = no allowance, `Some(None)` = unlimited.
    pub fn fee_allowance(&self, granter: &str, grantee: &str) -> Option<Option<u128>> {
        self.node
            .lock()
            .committed
            .fee_grants
            .get(&(granter.to_string(), grantee.to_string()))
            .map(|a| a.spend_limit)
    }

    /// Seconds-mode epochs of `topic` the devnet remembers, oldest first: (nonce, start,
    /// worker window end, reputer window start, reputer window end), unix seconds.
    pub fn epochs(&self, topic: u64) -> Vec<(i64, i64, i64, i64, i64)> {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .and_then(|t| t.wall_clock.as_ref())
            .map(|wc| {
                wc.epochs
                    .iter()
                    .map(|(n, e)| (*n, e.start, e.worker_end, e.reputer_start, e.reputer_end))
                    .collect()
            })
            .unwrap_or_default()
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

    /// Whether `addr` is registered as a worker in `topic` (committed state).
    pub fn is_worker_registered(&self, topic: u64, addr: &str) -> bool {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .is_some_and(|t| t.workers.contains(addr))
    }

    /// Whether `addr` is registered as a reputer in `topic` (committed state).
    pub fn is_reputer_registered(&self, topic: u64, addr: &str) -> bool {
        self.node
            .lock()
            .committed
            .topics
            .get(&topic)
            .is_some_and(|t| t.reputers.contains(addr))
    }

    /// Self stake of reputer `addr` in `topic`, in uallo.
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

    /// The network inferences computed when worker nonce `nonce` of `topic` closed.
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
