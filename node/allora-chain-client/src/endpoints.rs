//! Endpoint pool: the configured gRPC endpoints (queries, simulate, broadcast) and CometBFT
//! RPC endpoints (websocket events), health-scored with failover.
//!
//! Lesson from the Go node's production stalls: a connection that half-closes keeps
//! accepting requests that never complete. Every call therefore has its own timeout, and a
//! transport-class failure drops the endpoint's channel so the next call dials afresh.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};

use super::ChainError;

/// Endpoint lists and timeouts.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// gRPC URLs (`http://host:9090`; `grpc+http://` is accepted and stripped).
    pub grpc: Vec<String>,
    /// CometBFT RPC URLs (`http://host:26657`); the websocket is `<url>/websocket`.
    pub rpc: Vec<String>,
    /// Budget of one gRPC call, including waiting for a connection.
    pub call_timeout: Duration,
    /// TCP/HTTP2 connect timeout of a fresh dial.
    pub connect_timeout: Duration,
}

impl Endpoints {
    /// Lists with default timeouts (10 s per call, 5 s to connect).
    pub fn new(grpc: Vec<String>, rpc: Vec<String>) -> Endpoints {
        Endpoints {
            grpc,
            rpc,
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Startup warnings: one endpoint of a kind is a single point of failure.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.grpc.len() == 1 {
            w.push(format!(
                "only one gRPC endpoint configured ({}); add more to wallet.nodeGrpcs for failover",
                self.grpc[0]
            ));
        }
        if self.rpc.len() == 1 {
            w.push(format!(
                "only one RPC endpoint configured ({}); add more to wallet.nodeRpcs for failover",
                self.rpc[0]
            ));
        }
        w
    }
}

/// Normalizes the URL forms used by the peers (`grpc+http://`, `grpc+https://`, bare
/// `host:port`) to what tonic dials.
pub fn normalize_grpc_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    let u = u.strip_prefix("grpc+").unwrap_or(u);
    if u.starts_with("http://") || u.starts_with("https://") {
        u.to_owned()
    } else {
        format!("http://{u}")
    }
}

#[derive(Debug)]
struct Health {
    consecutive_failures: u32,
    last_failure: Option<Instant>,
    successes: u64,
    failures: u64,
}

#[derive(Debug)]
struct GrpcEndpoint {
    url: String,
    channel: Mutex<Option<Channel>>,
    health: Mutex<Health>,
}

/// A snapshot of one endpoint's health (for metrics and `doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHealth {
    pub url: String,
    pub healthy: bool,
    pub consecutive_failures: u32,
    pub successes: u64,
    pub failures: u64,
}

/// Health-ordered gRPC channels with lazy (re-)dialing.
#[derive(Debug, Clone)]
pub struct GrpcPool {
    endpoints: Arc<Vec<GrpcEndpoint>>,
    call_timeout: Duration,
    connect_timeout: Duration,
}

/// After a failure, an endpoint is tried after the healthy ones for a while: this long after
/// the first failure, doubling with each consecutive failure up to [`MAX_PENALTY`] (the
/// re-probe backoff). Any success clears it.
const PENALTY: Duration = Duration::from_secs(5);
/// Longest an endpoint stays behind the healthy ones before it is probed again first.
const MAX_PENALTY: Duration = Duration::from_secs(300);

/// How long an endpoint with `failures` consecutive failures stays penalized.
pub(crate) fn penalty(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(16);
    PENALTY.saturating_mul(1u32 << shift).min(MAX_PENALTY)
}

impl GrpcPool {
    /// An empty pool is allowed when CometBFT RPC endpoints are configured (the Go node's
    /// `nodeRpc`-only wallet): every query then goes over `abci_query`.
    pub fn new(cfg: &Endpoints) -> Result<GrpcPool, ChainError> {
        if cfg.grpc.is_empty() && cfg.rpc.is_empty() {
            return Err(ChainError::Config(
                "no chain endpoint configured; set wallet.nodeRpc or wallet.nodeGrpcs (e.g. [\"http://127.0.0.1:9090\"])"
                    .into(),
            ));
        }
        let mut endpoints = Vec::new();
        for url in &cfg.grpc {
            let url = normalize_grpc_url(url);
            Endpoint::from_shared(url.clone())
                .map_err(|e| ChainError::Config(format!("invalid gRPC endpoint {url:?}: {e}")))?;
            endpoints.push(GrpcEndpoint {
                url,
                channel: Mutex::new(None),
                health: Mutex::new(Health {
                    consecutive_failures: 0,
                    last_failure: None,
                    successes: 0,
                    failures: 0,
                }),
            });
        }
        Ok(GrpcPool {
            endpoints: Arc::new(endpoints),
            call_timeout: cfg.call_timeout,
            connect_timeout: cfg.connect_timeout,
        })
    }

    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// Endpoint indices, best first: recently failing endpoints go last (fewest consecutive
    /// failures first among them), otherwise configuration order.
    pub(crate) fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let mut idx: Vec<(bool, u32, usize)> = self
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let h = lock(&e.health);
                let penalized = h.consecutive_failures > 0
                    && h.last_failure
                        .is_some_and(|t| now.duration_since(t) < penalty(h.consecutive_failures));
                (penalized, h.consecutive_failures, i)
            })
            .collect();
        idx.sort();
        idx.into_iter().map(|(_, _, i)| i).collect()
    }

    pub(crate) fn url(&self, i: usize) -> &str {
        &self.endpoints[i].url
    }

    pub(crate) fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// The endpoint's channel, dialing lazily when there is none.
    pub(crate) fn channel(&self, i: usize) -> Result<Channel, ChainError> {
        let e = &self.endpoints[i];
        let mut slot = lock(&e.channel);
        if let Some(ch) = slot.as_ref() {
            return Ok(ch.clone());
        }
        let mut ep = Endpoint::from_shared(e.url.clone())
            .map_err(|err| ChainError::Config(format!("invalid gRPC endpoint {}: {err}", e.url)))?;
        if e.url.starts_with("https://") {
            ep = ep
                .tls_config(tonic::transport::ClientTlsConfig::new().with_webpki_roots())
                .map_err(|err| {
                    ChainError::Config(format!("TLS setup for gRPC endpoint {}: {err}", e.url))
                })?;
        }
        let ep = ep
            .connect_timeout(self.connect_timeout)
            .timeout(self.call_timeout)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .http2_keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        let ch = ep.connect_lazy();
        *slot = Some(ch.clone());
        Ok(ch)
    }

    pub(crate) fn mark_ok(&self, i: usize) {
        let mut h = lock(&self.endpoints[i].health);
        h.consecutive_failures = 0;
        h.successes += 1;
    }

    /// Records a transport failure and drops the channel so the next call re-dials.
    pub(crate) fn mark_failed(&self, i: usize) {
        let e = &self.endpoints[i];
        {
            let mut h = lock(&e.health);
            h.consecutive_failures = h.consecutive_failures.saturating_add(1);
            h.failures += 1;
            h.last_failure = Some(Instant::now());
        }
        *lock(&e.channel) = None;
    }

    /// Health of every endpoint.
    pub fn health(&self) -> Vec<EndpointHealth> {
        self.endpoints
            .iter()
            .map(|e| {
                let h = lock(&e.health);
                EndpointHealth {
                    url: e.url.clone(),
                    healthy: h.consecutive_failures == 0,
                    consecutive_failures: h.consecutive_failures,
                    successes: h.successes,
                    failures: h.failures,
                }
            })
            .collect()
    }
}

/// Poison-tolerant lock: a panic elsewhere must not take the chain client down.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Message fragments that only appear when the peer did not speak gRPC, or the connection
/// itself failed.
const NOT_GRPC: &[&str] = &[
    "grpc-status header missing",
    "invalid compression flag",
    "invalid content-type",
    "connection reset",
    "tls",
    "certificate",
    "handshake",
    "timed out",
];

/// Whether a gRPC status means "this endpoint/connection is bad, try another" rather than
/// "the chain answered no".
///
/// An answer that is not a well-formed gRPC answer is a transport failure whatever code
/// tonic gave it: an HTTP status without `grpc-status` (what a CDN or proxy sends: 500, 502,
/// 404, HTML error pages — tonic maps these to Unknown, Unimplemented, Internal, …), a body
/// that is not gRPC framing (an HTML page decodes as an invalid compression flag), a reset,
/// a TLS failure or a timeout.
pub fn is_transport_status(s: &tonic::Status) -> bool {
    use tonic::Code;
    let m = s.message().to_ascii_lowercase();
    if NOT_GRPC.iter().any(|marker| m.contains(marker)) {
        return true;
    }
    match s.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            true
        }
        // tonic reports connection-level failures (refused, reset, h2 errors) as Unknown
        // with a transport message.
        Code::Unknown | Code::Internal => {
            m.contains("transport")
                || m.contains("connection")
                || m.contains("service was not ready")
                || m.contains("h2 protocol")
                || m.contains("broken pipe")
                || m.contains("tcp connect")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_normalization() {
        assert_eq!(
            normalize_grpc_url("grpc+http://localhost:9090"),
            "http://localhost:9090"
        );
        assert_eq!(
            normalize_grpc_url("grpc+https://allora-grpc.testnet.allora.network:443/"),
            "https://allora-grpc.testnet.allora.network:443"
        );
        assert_eq!(
            normalize_grpc_url("127.0.0.1:9090"),
            "http://127.0.0.1:9090"
        );
    }

    #[test]
    fn failing_endpoints_go_last_and_recover() {
        let cfg = Endpoints::new(
            vec![
                "http://127.0.0.1:1".into(),
                "http://127.0.0.1:2".into(),
                "http://127.0.0.1:3".into(),
            ],
            vec!["http://127.0.0.1:26657".into()],
        );
        let pool = GrpcPool::new(&cfg).unwrap();
        assert_eq!(pool.order(), vec![0, 1, 2]);
        pool.mark_failed(0);
        assert_eq!(pool.order(), vec![1, 2, 0]);
        pool.mark_failed(1);
        pool.mark_failed(1);
        assert_eq!(pool.order(), vec![2, 0, 1]);
        pool.mark_ok(0);
        assert_eq!(pool.order(), vec![0, 2, 1]);
        let h = pool.health();
        assert!(!h[1].healthy && h[1].consecutive_failures == 2 && h[1].failures == 2);
        assert_eq!(cfg.warnings().len(), 1, "single RPC endpoint warns");
    }

    #[test]
    fn config_errors() {
        assert!(GrpcPool::new(&Endpoints::new(vec![], vec![])).is_err());
        // The seed's wallet shape: `nodeRpc` only is a valid (RPC-only) configuration.
        let rpc_only = GrpcPool::new(&Endpoints::new(
            vec![],
            vec!["http://127.0.0.1:26657".into()],
        ));
        assert_eq!(rpc_only.map(|p| p.len()).ok(), Some(0));
        assert!(GrpcPool::new(&Endpoints::new(vec!["http://bad host:1".into()], vec![])).is_err());
    }

    #[tokio::test]
    async fn https_endpoints_get_tls() {
        let cfg = Endpoints::new(
            vec!["grpc+https://allora-grpc.testnet.allora.network:443".into()],
            vec![],
        );
        let pool = GrpcPool::new(&cfg).unwrap();
        // dials lazily: building the TLS channel needs no network
        assert!(pool.channel(0).is_ok());
    }

    #[test]
    fn non_grpc_answers_are_transport_failures() {
        use tonic::{Code, Status};
        for (code, msg) in [
            (
                Code::Unknown,
                "grpc-status header missing, mapped from HTTP status code 500",
            ),
            (
                Code::Unimplemented,
                "grpc-status header missing, mapped from HTTP status code 404",
            ),
            (
                Code::Internal,
                "grpc-status header missing, mapped from HTTP status code 400",
            ),
            (
                Code::PermissionDenied,
                "grpc-status header missing, mapped from HTTP status code 403",
            ),
            (
                Code::Internal,
                "protocol error: received message with invalid compression flag: 60 (valid flags are 0 and 1) while receiving response with status: 200 OK",
            ),
            (
                Code::Unknown,
                "error trying to connect: invalid peer certificate: UnknownIssuer",
            ),
        ] {
            assert!(
                is_transport_status(&Status::new(code, msg)),
                "{code:?} {msg}"
            );
        }
        // A real gRPC answer from the chain stays an answer.
        assert!(!is_transport_status(&Status::new(
            Code::Unimplemented,
            "unknown service emissions.v10.QueryService"
        )));
        assert!(!is_transport_status(&Status::new(
            Code::Unknown,
            "topic 9 not found"
        )));
    }

    #[test]
    fn reprobe_backoff_doubles_and_is_capped() {
        assert_eq!(penalty(1), Duration::from_secs(5));
        assert_eq!(penalty(2), Duration::from_secs(10));
        assert_eq!(penalty(3), Duration::from_secs(20));
        assert_eq!(penalty(30), MAX_PENALTY);
    }

    #[test]
    fn transport_statuses() {
        assert!(is_transport_status(&tonic::Status::unavailable("x")));
        assert!(is_transport_status(&tonic::Status::deadline_exceeded("x")));
        assert!(is_transport_status(&tonic::Status::unknown(
            "transport error: connection refused"
        )));
        assert!(!is_transport_status(&tonic::Status::not_found(
            "topic 9 not found"
        )));
        assert!(!is_transport_status(&tonic::Status::invalid_argument(
            "bad"
        )));
    }
}
