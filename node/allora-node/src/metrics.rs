//! Prometheus metrics and the HTTP endpoint that serves them (`/metrics`, `/health`,
//! `/ready`). The seven Go-node counters keep their exact names and labels (`address`,
//! `topic`) so operators' dashboards survive a migration; everything new follows the
//! Prometheus conventions (`_total`, `_seconds`, bounded labels). One registry per process,
//! owned here, never the global default (tests run several in one process).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tokio_util::sync::CancellationToken;

use crate::actors::ports::{AdapterError, TxFailure};

/// Seed (Go node) counter names, kept verbatim.
pub const WORKER_INFERENCE_REQUEST_COUNT: &str = "allora_worker_inference_request_count";
pub const WORKER_FORECAST_REQUEST_COUNT: &str = "allora_worker_forecast_request_count";
pub const REPUTER_TRUTH_REQUEST_COUNT: &str = "allora_reputer_truth_request_count";
pub const WORKER_DATA_BUILD_COUNT: &str = "allora_worker_data_build_count";
pub const REPUTER_DATA_BUILD_COUNT: &str = "allora_reputer_data_build_count";
pub const WORKER_CHAIN_SUBMISSION_COUNT: &str = "allora_worker_chain_submission_count";
pub const REPUTER_CHAIN_SUBMISSION_COUNT: &str = "allora_reputer_chain_submission_count";

/// Errors building the registry or serving it.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metric registration failed: {0}")]
    Prometheus(#[from] prometheus::Error),
    #[error("cannot bind metrics server on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// All node metrics. Cheap to clone (`Arc` inside each collector).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    // Seed counters, labels `address`, `topic`.
    pub worker_inference_requests: IntCounterVec,
    pub worker_forecast_requests: IntCounterVec,
    pub reputer_truth_requests: IntCounterVec,
    pub worker_data_builds: IntCounterVec,
    pub reputer_data_builds: IntCounterVec,
    pub worker_chain_submissions: IntCounterVec,
    pub reputer_chain_submissions: IntCounterVec,
    /// Adapter call duration, labels `topic`, `role`, `adapter`.
    pub adapter_call_seconds: HistogramVec,
    /// Adapter failures, labels `topic`, `role`, `kind` ([`AdapterError::label`]).
    pub adapter_failures: IntCounterVec,
    /// Window open → inclusion, labels `topic`, `role`, `wallet` (the signing address).
    pub submission_latency_seconds: HistogramVec,
    /// Tx failures, labels `kind` ([`TxErrorKind`]), `code` (ABCI code or `none`), `msg`
    /// (register/add_stake/worker_payload/reputer_payload), `wallet` (the signing address).
    pub tx_errors: IntCounterVec,
    /// Restarts of dead tasks, labels `task` (worker/reputer/tx_actor/gauges), `topic` (`-`
    /// for per-wallet tasks), `reason` (panic/ended/stopped).
    pub task_restarts: IntCounterVec,
    /// 1 while the wallet's tx actor runs, 0 while it is down, label `address`.
    pub tx_actor_up: GaugeVec,
    /// Outcome of each nonce's attempt, labels `topic`, `role`, `outcome`, `wallet` (the
    /// signing address).
    pub submissions: IntCounterVec,
    /// Wallet balance in uallo, label `address`.
    pub wallet_balance: GaugeVec,
    /// 1 healthy / 0 unhealthy, labels `endpoint`, `kind` (grpc/rpc).
    pub endpoint_up: GaugeVec,
    /// Info gauge: 1 for the emissions version detected at start-up, label `version` (`v9`).
    pub emissions_version: GaugeVec,
    /// Event websocket resubscriptions (new connections), label `reason` (`deaf`: the
    /// heartbeat watchdog fired; `lost`: the connection failed or closed).
    pub event_resubscribes: IntCounterVec,
}

fn seed_counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), &["address", "topic"])?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// Builds a fresh registry with every metric registered.
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let r = &registry;
        let adapter_call_seconds = HistogramVec::new(
            HistogramOpts::new(
                "allora_adapter_call_seconds",
                "Duration of adapter calls (inference, forecast, ground truth, loss)",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["topic", "role", "adapter"],
        )?;
        r.register(Box::new(adapter_call_seconds.clone()))?;
        let adapter_failures = IntCounterVec::new(
            Opts::new(
                "allora_adapter_failures_total",
                "Adapter call failures by kind (timeout, trap, memory, output, invalid_value, http, …)",
            ),
            &["topic", "role", "kind"],
        )?;
        r.register(Box::new(adapter_failures.clone()))?;
        let submission_latency_seconds = HistogramVec::new(
            HistogramOpts::new(
                "allora_submission_latency_seconds",
                "Time from a submission window being seen open to the payload's inclusion",
            )
            .buckets(vec![
                0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
            ]),
            &["topic", "role", "wallet"],
        )?;
        r.register(Box::new(submission_latency_seconds.clone()))?;
        let tx_errors = IntCounterVec::new(
            Opts::new(
                "allora_tx_errors_total",
                "Transaction failures by error kind and ABCI code",
            ),
            &["kind", "code", "msg", "wallet"],
        )?;
        r.register(Box::new(tx_errors.clone()))?;
        let task_restarts = IntCounterVec::new(
            Opts::new(
                "allora_task_restarts_total",
                "Dead actor and tx-actor tasks restarted by the supervisor",
            ),
            &["task", "topic", "reason"],
        )?;
        r.register(Box::new(task_restarts.clone()))?;
        let tx_actor_up = GaugeVec::new(
            Opts::new(
                "allora_tx_actor_up",
                "1 while the wallet's tx actor runs, 0 while it is down",
            ),
            &["address"],
        )?;
        r.register(Box::new(tx_actor_up.clone()))?;
        let submissions = IntCounterVec::new(
            Opts::new(
                "allora_submissions_total",
                "Per-nonce submission outcomes (included, already_submitted, failed, skipped_closed, dry_run)",
            ),
            &["topic", "role", "outcome", "wallet"],
        )?;
        r.register(Box::new(submissions.clone()))?;
        let wallet_balance = GaugeVec::new(
            Opts::new("allora_wallet_balance_uallo", "Wallet balance in uallo"),
            &["address"],
        )?;
        r.register(Box::new(wallet_balance.clone()))?;
        let endpoint_up = GaugeVec::new(
            Opts::new(
                "allora_endpoint_up",
                "Chain endpoint health as last observed (1 = answering, 0 = failing)",
            ),
            &["endpoint", "kind"],
        )?;
        r.register(Box::new(endpoint_up.clone()))?;
        let emissions_version = GaugeVec::new(
            Opts::new(
                "allora_chain_emissions_version_info",
                "Emissions module version the chain serves, detected at start-up (always 1)",
            ),
            &["version"],
        )?;
        r.register(Box::new(emissions_version.clone()))?;
        let event_resubscribes = IntCounterVec::new(
            Opts::new(
                "allora_event_resubscribes_total",
                "Event websocket resubscriptions on a new connection, by reason (deaf, lost)",
            ),
            &["reason"],
        )?;
        r.register(Box::new(event_resubscribes.clone()))?;
        Ok(Self {
            worker_inference_requests: seed_counter(
                r,
                WORKER_INFERENCE_REQUEST_COUNT,
                "Inference requests made to the inference adapter",
            )?,
            worker_forecast_requests: seed_counter(
                r,
                WORKER_FORECAST_REQUEST_COUNT,
                "Forecast requests made to the forecast adapter",
            )?,
            reputer_truth_requests: seed_counter(
                r,
                REPUTER_TRUTH_REQUEST_COUNT,
                "Ground-truth requests made to the ground-truth adapter",
            )?,
            worker_data_builds: seed_counter(
                r,
                WORKER_DATA_BUILD_COUNT,
                "Worker payloads built and signed",
            )?,
            reputer_data_builds: seed_counter(
                r,
                REPUTER_DATA_BUILD_COUNT,
                "Reputer payloads built and signed",
            )?,
            worker_chain_submissions: seed_counter(
                r,
                WORKER_CHAIN_SUBMISSION_COUNT,
                "Worker payloads included on chain",
            )?,
            reputer_chain_submissions: seed_counter(
                r,
                REPUTER_CHAIN_SUBMISSION_COUNT,
                "Reputer payloads included on chain",
            )?,
            adapter_call_seconds,
            adapter_failures,
            submission_latency_seconds,
            tx_errors,
            task_restarts,
            tx_actor_up,
            submissions,
            wallet_balance,
            endpoint_up,
            emissions_version,
            event_resubscribes,
            registry,
        })
    }

    /// Counts a tx failure of `wallet` (its address) under its typed kind and ABCI code.
    pub fn tx_error(&self, wallet: &str, failure: &TxFailure, msg: &str) {
        self.tx_errors
            .with_label_values(&[failure.kind.as_str(), &failure.code_label(), msg, wallet])
            .inc();
    }

    /// Counts an adapter failure under its typed kind.
    pub fn adapter_failure(&self, topic_id: u64, role: &str, err: &AdapterError) {
        self.adapter_failures
            .with_label_values(&[&topic_id.to_string(), role, err.label()])
            .inc();
    }

    /// Adds a collector owned elsewhere (e.g. the adapter pool's gauges, read at scrape time).
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), MetricsError> {
        Ok(self.registry.register(collector)?)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec only fails on invalid metric families, which `new` rules out.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Liveness/readiness flags shared between the supervisor and the HTTP server.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
}

impl Health {
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct ServerState {
    metrics: Metrics,
    health: Arc<Health>,
}

async fn metrics_handler(State(s): State<ServerState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

async fn health_handler() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

async fn ready_handler(State(s): State<ServerState>) -> impl IntoResponse {
    if s.health.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

/// The router (exposed for tests that drive it without a socket).
pub fn router(metrics: Metrics, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health_handler))
        .route("/ready", get(ready_handler))
        .with_state(ServerState { metrics, health })
}

/// Binds `addr` and serves until `shutdown` is cancelled. Returns the bound address (port 0
/// resolves to the real port) and the server task.
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), MetricsError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let app = router(metrics, health);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "metrics server stopped");
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::ports::TxErrorKind;

    /// Finds a sample line `name{labels…} value` and returns the value.
    fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
            .find(|l| {
                labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn seed_counters_keep_their_names_and_labels() {
        let m = Metrics::new().unwrap();
        let addr = "allo1xyz";
        m.worker_inference_requests
            .with_label_values(&[addr, "1"])
            .inc();
        m.worker_forecast_requests
            .with_label_values(&[addr, "1"])
            .inc();
        m.reputer_truth_requests
            .with_label_values(&[addr, "2"])
            .inc();
        m.worker_data_builds
            .with_label_values(&[addr, "1"])
            .inc_by(3);
        m.reputer_data_builds.with_label_values(&[addr, "2"]).inc();
        m.worker_chain_submissions
            .with_label_values(&[addr, "1"])
            .inc_by(2);
        m.reputer_chain_submissions
            .with_label_values(&[addr, "2"])
            .inc();
        let text = m.render();
        for (name, topic, value) in [
            (WORKER_INFERENCE_REQUEST_COUNT, "1", 1.0),
            (WORKER_FORECAST_REQUEST_COUNT, "1", 1.0),
            (REPUTER_TRUTH_REQUEST_COUNT, "2", 1.0),
            (WORKER_DATA_BUILD_COUNT, "1", 3.0),
            (REPUTER_DATA_BUILD_COUNT, "2", 1.0),
            (WORKER_CHAIN_SUBMISSION_COUNT, "1", 2.0),
            (REPUTER_CHAIN_SUBMISSION_COUNT, "2", 1.0),
        ] {
            assert_eq!(
                sample(&text, name, &[("address", addr), ("topic", topic)]),
                Some(value),
                "{name} in\n{text}"
            );
        }
    }

    #[test]
    fn new_metrics_follow_conventions() {
        let m = Metrics::new().unwrap();
        m.adapter_call_seconds
            .with_label_values(&["1", "inference", "http_source"])
            .observe(0.02);
        m.adapter_failures
            .with_label_values(&["1", "inference", "timeout"])
            .inc();
        m.submission_latency_seconds
            .with_label_values(&["1", "worker", "allo1xyz"])
            .observe(3.0);
        m.tx_error(
            "allo1xyz",
            &TxFailure::new(TxErrorKind::Rejected, Some(13), "insufficient fee"),
            "worker_payload",
        );
        m.wallet_balance.with_label_values(&["allo1xyz"]).set(1e9);
        m.endpoint_up
            .with_label_values(&["http://127.0.0.1:9090", "grpc"])
            .set(1.0);
        let text = m.render();
        assert_eq!(
            sample(
                &text,
                "allora_adapter_call_seconds_count",
                &[("topic", "1"), ("role", "inference")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "allora_adapter_failures_total",
                &[("kind", "timeout")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "allora_submission_latency_seconds_sum",
                &[("role", "worker")]
            ),
            Some(3.0)
        );
        assert_eq!(
            sample(
                &text,
                "allora_tx_errors_total",
                &[("kind", "rejected"), ("code", "13")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "allora_wallet_balance_uallo",
                &[("address", "allo1xyz")]
            ),
            Some(1e9)
        );
        assert_eq!(
            sample(&text, "allora_endpoint_up", &[("kind", "grpc")]),
            Some(1.0)
        );
    }

    #[test]
    fn registries_are_independent() {
        let a = Metrics::new().unwrap();
        let b = Metrics::new().unwrap();
        a.worker_data_builds.with_label_values(&["x", "1"]).inc();
        assert!(sample(&b.render(), WORKER_DATA_BUILD_COUNT, &[("topic", "1")]).is_none());
    }

    #[tokio::test]
    async fn server_serves_metrics_health_and_ready() {
        let m = Metrics::new().unwrap();
        m.worker_data_builds
            .with_label_values(&["allo1q", "7"])
            .inc();
        let health = Arc::new(Health::default());
        let stop = CancellationToken::new();
        let (addr, task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            m.clone(),
            health.clone(),
            stop.clone(),
        )
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let base = format!("http://{addr}");
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            sample(&text, WORKER_DATA_BUILD_COUNT, &[("topic", "7")]),
            Some(1.0)
        );
        let h = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(h.status(), 200);
        let r = client.get(format!("{base}/ready")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        health.set_ready(true);
        let r = client.get(format!("{base}/ready")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
