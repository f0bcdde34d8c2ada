//! The wallet-balance and endpoint-health gauges, refreshed by one supervised task.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::actors::ports::ChainPort;
use crate::config::defaults as d;
use crate::metrics::Metrics;

/// What the gauges task reads.
#[derive(Clone)]
pub(super) struct Gauges {
    pub chain: Arc<dyn ChainPort>,
    /// Every wallet's address (balance gauge per wallet).
    pub addresses: Vec<String>,
    pub grpc: Vec<String>,
    pub rpc: Vec<String>,
    pub metrics: Metrics,
}

impl Gauges {
    /// Keeps the gauges current until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(d::GAUGE_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.refresh().await;
        }
    }

    async fn refresh(&self) {
        let metrics = &self.metrics;
        for address in &self.addresses {
            if let Ok(b) = self.chain.balance(address).await {
                metrics
                    .wallet_balance
                    .with_label_values(&[address])
                    .set(b as f64);
            }
        }
        // gRPC: the client's own scoring (what queries actually saw), else a TCP probe.
        let mut states = self.chain.grpc_health();
        if states.is_empty() {
            for url in &self.grpc {
                states.push((url.clone(), probe(url).await));
            }
        }
        let grpc_states = states.into_iter().map(|(u, up)| (u, "grpc", up));
        let mut rpc_states = Vec::new();
        for url in &self.rpc {
            rpc_states.push((url.clone(), "rpc", probe(url).await));
        }
        for (url, kind, up) in grpc_states.chain(rpc_states) {
            metrics
                .endpoint_up
                .with_label_values(&[&url, kind])
                .set(if up { 1.0 } else { 0.0 });
        }
    }
}

/// TCP reachability of an endpoint URL (bounded to 3 s).
pub async fn probe(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::TcpStream::connect((host, port))
        )
        .await,
        Ok(Ok(_))
    )
}
