//! The node's view of its chain endpoints: gRPC (queries, simulate, broadcast) and CometBFT
//! RPC (websocket events). Each endpoint carries a health score; calls go to the healthiest
//! endpoint first and fail over on transport errors. After a transport error the gRPC
//! channel is dropped and re-dialled on next use: a half-closed HTTP/2 connection otherwise
//! keeps failing (the Go node's production stalls came from exactly this).

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::client::ChainError;

/// Endpoint lists and timeouts.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub grpc: Vec<String>,
    pub rpc: Vec<String>,
    /// Upper bound of one gRPC call (connect + request + response).
    pub call_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            grpc: Vec::new(),
            rpc: Vec::new(),
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
struct Health {
    /// Consecutive failures; 0 = healthy.
    failures: AtomicU32,
    successes: AtomicU64,
}

impl Health {
    fn new() -> Self {
        Health {
            failures: AtomicU32::new(0),
            successes: AtomicU64::new(0),
        }
    }
    fn ok(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.successes.fetch_add(1, Ordering::Relaxed);
    }
    fn fail(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
    fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct GrpcEndpoint {
    url: String,
    endpoint: Endpoint,
    /// `None` after a transport error: the next call dials afresh.
    channel: Mutex<Option<Channel>>,
    health: Health,
}

impl GrpcEndpoint {
    fn channel(&self) -> Channel {
        let mut guard = self
            .channel
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .get_or_insert_with(|| self.endpoint.clone().connect_lazy())
            .clone()
    }
    fn redial(&self) {
        *self
            .channel
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

#[derive(Debug)]
struct RpcEndpoint {
    url: String,
    health: Health,
}

/// Snapshot of one endpoint's health, for metrics and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHealth {
    pub url: String,
    pub kind: &'static str,
    pub consecutive_failures: u32,
    pub healthy: bool,
}

/// Shared endpoint pool (cheap to clone).
#[derive(Debug, Clone)]
pub struct Endpoints {
    grpc: Arc<Vec<GrpcEndpoint>>,
    rpc: Arc<Vec<RpcEndpoint>>,
    call_timeout: Duration,
}

/// Errors in the endpoint configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointConfigError {
    #[error(
        "wallet.nodeGrpcs is empty: configure at least one gRPC endpoint (e.g. \"http://127.0.0.1:9090\")"
    )]
    NoGrpc,
    #[error("invalid gRPC endpoint {url:?} in wallet.nodeGrpcs: {reason}")]
    BadGrpcUrl { url: String, reason: String },
    #[error(
        "invalid RPC endpoint {url:?} in wallet.nodeRpcs: expected http(s)://host:port or ws(s)://host:port"
    )]
    BadRpcUrl { url: String },
}

impl Endpoints {
    /// Builds the pool; channels connect lazily. Warns when only one endpoint of a kind is
    /// configured (no failover possible).
    pub fn new(cfg: &EndpointConfig) -> Result<Endpoints, EndpointConfigError> {
        if cfg.grpc.is_empty() {
            return Err(EndpointConfigError::NoGrpc);
        }
        let mut grpc = Vec::new();
        for url in &cfg.grpc {
            let url = normalize_grpc_url(url);
            let endpoint = Endpoint::from_shared(url.clone())
                .map_err(|e| EndpointConfigError::BadGrpcUrl {
                    url: url.clone(),
                    reason: e.to_string(),
                })?
                .connect_timeout(cfg.connect_timeout)
                .timeout(cfg.call_timeout)
                .tcp_keepalive(Some(Duration::from_secs(30)))
                .http2_keep_alive_interval(Duration::from_secs(15))
                .keep_alive_timeout(Duration::from_secs(10))
                .keep_alive_while_idle(true);
            grpc.push(GrpcEndpoint {
                url,
                endpoint,
                channel: Mutex::new(None),
                health: Health::new(),
            });
        }
        let mut rpc = Vec::new();
        for url in &cfg.rpc {
            let ok = ["http://", "https://", "ws://", "wss://"]
                .iter()
                .any(|p| url.starts_with(p));
            if !ok {
                return Err(EndpointConfigError::BadRpcUrl { url: url.clone() });
            }
            rpc.push(RpcEndpoint {
                url: url.trim_end_matches('/').to_string(),
                health: Health::new(),
            });
        }
        if grpc.len() == 1 {
            tracing::warn!(
                endpoint = %grpc[0].url,
                "only one gRPC endpoint configured (wallet.nodeGrpcs); no failover if it fails"
            );
        }
        if rpc.len() == 1 {
            tracing::warn!(
                endpoint = %rpc[0].url,
                "only one CometBFT RPC endpoint configured (wallet.nodeRpcs); no failover for events"
            );
        }
        Ok(Endpoints {
            grpc: Arc::new(grpc),
            rpc: Arc::new(rpc),
            call_timeout: cfg.call_timeout,
        })
    }

    /// gRPC endpoint indices, healthiest first (configured order breaks ties).
    fn grpc_order(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.grpc.len()).collect();
        idx.sort_by_key(|&i| (self.grpc[i].health.failures().min(3), i));
        idx
    }

    /// CometBFT RPC URLs, healthiest first.
    pub fn rpc_urls(&self) -> Vec<String> {
        let mut idx: Vec<usize> = (0..self.rpc.len()).collect();
        idx.sort_by_key(|&i| (self.rpc[i].health.failures().min(3), i));
        idx.into_iter().map(|i| self.rpc[i].url.clone()).collect()
    }

    /// Records the outcome of using an RPC endpoint (websocket connect, JSON-RPC call).
    pub fn report_rpc(&self, url: &str, ok: bool) {
        if let Some(e) = self.rpc.iter().find(|e| e.url == url) {
            if ok { e.health.ok() } else { e.health.fail() }
        }
    }

    /// Health of every endpoint.
    pub fn health(&self) -> Vec<EndpointHealth> {
        let g = self.grpc.iter().map(|e| EndpointHealth {
            url: e.url.clone(),
            kind: "grpc",
            consecutive_failures: e.health.failures(),
            healthy: e.health.failures() == 0,
        });
        let r = self.rpc.iter().map(|e| EndpointHealth {
            url: e.url.clone(),
            kind: "rpc",
            consecutive_failures: e.health.failures(),
            healthy: e.health.failures() == 0,
        });
        g.chain(r).collect()
    }

    /// Runs one gRPC call with failover: tries endpoints healthiest first; a transport
    /// error (or timeout) marks the endpoint unhealthy, forces a re-dial and moves on; an
    /// application error (the chain answered) is returned at once.
    pub async fn call<T, F, Fut>(&self, method: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut last: Option<ChainError> = None;
        for i in self.grpc_order() {
            let ep = &self.grpc[i];
            let started = std::time::Instant::now();
            let res = tokio::time::timeout(self.call_timeout, f(ep.channel())).await;
            match res {
                Ok(Ok(resp)) => {
                    ep.health.ok();
                    return Ok(resp.into_inner());
                }
                Ok(Err(status)) if !is_transport(&status) => {
                    // The endpoint is alive: it answered.
                    ep.health.ok();
                    return Err(ChainError::Status {
                        endpoint: ep.url.clone(),
                        method,
                        code: status.code(),
                        message: status.message().to_string(),
                    });
                }
                Ok(Err(status)) => {
                    ep.health.fail();
                    ep.redial();
                    tracing::warn!(
                        endpoint = %ep.url, method, code = ?status.code(), error = %status.message(),
                        "gRPC transport error; re-dialling and failing over"
                    );
                    last = Some(ChainError::Transport {
                        endpoint: ep.url.clone(),
                        method,
                        message: format!("{:?}: {}", status.code(), status.message()),
                    });
                }
                Err(_) => {
                    ep.health.fail();
                    ep.redial();
                    tracing::warn!(
                        endpoint = %ep.url, method, elapsed_ms = started.elapsed().as_millis() as u64,
                        "gRPC call timed out; re-dialling and failing over"
                    );
                    last = Some(ChainError::Transport {
                        endpoint: ep.url.clone(),
                        method,
                        message: format!("timed out after {:?}", self.call_timeout),
                    });
                }
            }
        }
        Err(last.unwrap_or(ChainError::Transport {
            endpoint: String::new(),
            method,
            message: "no gRPC endpoint configured".to_string(),
        }))
    }
}

/// `grpc+http://h:p` (Python SDK form) and bare `h:p` → `http://h:p`.
fn normalize_grpc_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    if let Some(rest) = u.strip_prefix("grpc+") {
        rest.to_string()
    } else if u.contains("://") {
        u.to_string()
    } else {
        format!("http://{u}")
    }
}

/// Transport-level failures: the request may not have reached a working node.
pub fn is_transport(status: &tonic::Status) -> bool {
    use tonic::Code;
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => true,
        Code::Unknown | Code::Internal => {
            let m = status.message().to_ascii_lowercase();
            [
                "transport",
                "connection",
                "broken pipe",
                "h2 protocol",
                "stream",
                "reset",
            ]
            .iter()
            .any(|k| m.contains(k))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(
            normalize_grpc_url("grpc+http://localhost:9090"),
            "http://localhost:9090"
        );
        assert_eq!(
            normalize_grpc_url("127.0.0.1:9090"),
            "http://127.0.0.1:9090"
        );
        assert_eq!(normalize_grpc_url("http://a:1/"), "http://a:1");
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = Endpoints::new(&EndpointConfig::default()).unwrap_err();
        assert!(e.to_string().contains("nodeGrpcs"));
        let e = Endpoints::new(&EndpointConfig {
            grpc: vec!["http://127.0.0.1:1".into()],
            rpc: vec!["127.0.0.1:26657".into()],
            ..EndpointConfig::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("nodeRpcs"));
    }

    #[test]
    fn transport_classification() {
        assert!(is_transport(&tonic::Status::unavailable("x")));
        assert!(is_transport(&tonic::Status::unknown("transport error")));
        assert!(!is_transport(&tonic::Status::not_found("tx not found")));
        assert!(!is_transport(&tonic::Status::unknown(
            "account sequence mismatch, expected 1, got 0: incorrect account sequence"
        )));
    }

    #[tokio::test]
    async fn unhealthy_endpoints_sort_last_and_failover_happens() {
        // Port 1 on loopback refuses connections: a transport error, then failover.
        let eps = Endpoints::new(&EndpointConfig {
            grpc: vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
            call_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            ..EndpointConfig::default()
        })
        .unwrap();
        let calls = std::sync::Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let r: Result<(), _> = eps
            .call("Test", move |ch| {
                c.fetch_add(1, Ordering::SeqCst);
                async move {
                    let mut cl = cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::service_client::ServiceClient::new(ch);
                    cl.get_syncing(cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::GetSyncingRequest {})
                        .await
                        .map(|r| r.map(|_| ()))
                }
            })
            .await;
        assert!(matches!(r, Err(ChainError::Transport { .. })), "{r:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "both endpoints tried");
        assert!(eps.health().iter().all(|h| !h.healthy));
    }
}
