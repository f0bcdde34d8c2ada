//! The supervisor: turns a validated [`Plan`] into running actors. It loads each topic's
//! adapters (a broken adapter disables only its topic and role), opens the submission
//! ledger, fans chain window events out to the actors, keeps the wallet-balance and
//! endpoint-health gauges fresh, and on shutdown gives actors a bounded time to finish.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::clock::WindowClock;
use super::ledger::Ledger;
use super::live_adapter;
use super::ports::{AdapterPort, ChainPort, SignPort, TxPort};
use super::reputer::{LossSource, ReputerActor};
use super::worker::WorkerActor;
use super::{ActorEnv, WindowSignal};
use crate::config::{LossPlan, Plan};
use crate::metrics::{Health, Metrics};
use allora_sandbox::AdapterRuntime;

/// A stream of window-open signals (from the chain's websocket events).
pub type SignalStream = Pin<Box<dyn Stream<Item = WindowSignal> + Send>>;

/// The live mechanism the actors run on.
pub struct Wiring {
    pub chain: Arc<dyn ChainPort>,
    pub tx: Arc<dyn TxPort>,
    pub signer: Arc<dyn SignPort>,
    /// Window events; `None` means polling only.
    pub events: Option<SignalStream>,
}

/// Why the node could not start any work.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("no actor could start (every configured topic failed to load its adapters)")]
    NothingToRun,
}

/// Starts every actor and runs until `shutdown` is cancelled; then waits at most
/// `plan.node.shutdown_timeout` for actors to stop.
pub async fn run(
    plan: &Plan,
    wiring: Wiring,
    runtime: AdapterRuntime,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), SupervisorError> {
    let address = wiring.signer.address().to_string();
    let dry_run = !plan.wallet.submit_tx;
    let ledger = if dry_run {
        Ledger::in_memory()
    } else {
        let dir = plan
            .node
            .cache_dir
            .clone()
            .unwrap_or_else(|| plan.wallet.home_dir.join("allora-node"));
        Ledger::open(&dir, &address)
    };
    let env = ActorEnv {
        chain: wiring.chain.clone(),
        tx: wiring.tx.clone(),
        signer: wiring.signer.clone(),
        metrics: metrics.clone(),
        ledger,
        clock: WindowClock::new(Duration::from_secs(5)),
        dry_run,
        max_retries: plan.wallet.max_retries,
        retry_delay: plan.wallet.retry_delay,
        shutdown: shutdown.clone(),
    };
    if dry_run {
        tracing::warn!(address = %address, "dry run (submitTx: false): payloads are built, signed and logged, nothing is broadcast");
    }

    let (signals, _) = broadcast::channel::<WindowSignal>(256);
    let mut tasks = JoinSet::new();
    let mut started = 0usize;

    for w in &plan.workers {
        let topic_id = w.topic_id;
        let inference = match load(
            &runtime,
            &w.inference,
            allora_sandbox::Role::Inference,
            topic_id,
            "worker",
            &metrics,
        )
        .await
        {
            Some(a) => a,
            None => continue,
        };
        let forecast = match &w.forecast {
            Some(f) => match load(
                &runtime,
                f,
                allora_sandbox::Role::Forecast,
                topic_id,
                "worker",
                &metrics,
            )
            .await
            {
                Some(a) => Some(a),
                None => continue,
            },
            None => None,
        };
        let actor = WorkerActor {
            env: env.clone(),
            topic_id,
            interval: w.loop_interval,
            inference,
            inference_params: w.inference.params.clone(),
            forecast,
            forecast_params: w
                .forecast
                .as_ref()
                .map(|f| f.params.clone())
                .unwrap_or_default(),
        };
        tasks.spawn(actor.run(signals.subscribe()));
        started += 1;
    }
    for r in &plan.reputers {
        let topic_id = r.topic_id;
        let ground_truth = match load(
            &runtime,
            &r.ground_truth,
            allora_sandbox::Role::GroundTruth,
            topic_id,
            "reputer",
            &metrics,
        )
        .await
        {
            Some(a) => a,
            None => continue,
        };
        let loss = match &r.loss {
            LossPlan::Builtin { method, options } => {
                match crate::config::loss_method(method, options) {
                    Ok(m) => LossSource::Builtin(m),
                    Err(err) => {
                        tracing::error!(topic_id, role = "reputer", error = %err, "loss method unusable; topic disabled");
                        continue;
                    }
                }
            }
            LossPlan::FromTopic { options } => LossSource::FromTopic(options.clone()),
            LossPlan::Adapter(a) => match load(
                &runtime,
                a,
                allora_sandbox::Role::Loss,
                topic_id,
                "reputer",
                &metrics,
            )
            .await
            {
                Some(adapter) => LossSource::Adapter {
                    adapter,
                    params: a.params.clone(),
                },
                None => continue,
            },
        };
        let actor = ReputerActor {
            env: env.clone(),
            topic_id,
            interval: r.loop_interval,
            min_stake: r.min_stake,
            ground_truth,
            ground_truth_params: r.ground_truth.params.clone(),
            loss,
        };
        tasks.spawn(actor.run(signals.subscribe()));
        started += 1;
    }
    if started == 0 {
        return Err(SupervisorError::NothingToRun);
    }

    let mut background = JoinSet::new();
    if let Some(mut events) = wiring.events {
        let signals = signals.clone();
        let stop = shutdown.clone();
        background.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    ev = events.next() => match ev {
                        // Send fails only when no actor listens; nothing to do then.
                        Some(sig) => { let _ = signals.send(sig); }
                        None => {
                            tracing::warn!("window event stream ended; actors keep polling");
                            break;
                        }
                    }
                }
            }
        });
    }
    background.spawn(gauges(
        wiring.chain.clone(),
        address.clone(),
        plan.wallet.grpc_urls.clone(),
        plan.wallet.rpc_urls.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    health.set_ready(true);
    tracing::info!(actors = started, address = %address, "node running");

    shutdown.cancelled().await;
    health.set_ready(false);
    let bound = plan.node.shutdown_timeout;
    tracing::info!(timeout_secs = bound.as_secs(), "shutting down");
    let drained =
        tokio::time::timeout(bound, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("actors did not stop within the shutdown bound; aborting them");
        tasks.abort_all();
    }
    background.abort_all();
    Ok(())
}

async fn load(
    rt: &AdapterRuntime,
    plan: &crate::config::AdapterPlan,
    role: allora_sandbox::Role,
    topic_id: u64,
    actor: &'static str,
    metrics: &Metrics,
) -> Option<Arc<dyn AdapterPort>> {
    match live_adapter::load(rt, plan, vec![role]).await {
        Ok(a) => {
            tracing::info!(topic_id, role = actor, adapter = %plan.name, wasm = %plan.wasm.display(), adapter_role = %role, "adapter loaded");
            Some(Arc::new(a))
        }
        Err(err) => {
            metrics
                .adapter_failures
                .with_label_values(&[&topic_id.to_string(), role.as_str(), "load"])
                .inc();
            tracing::error!(topic_id, role = actor, adapter = %plan.name, error = %err, "adapter failed to load; this topic's {actor} is disabled");
            None
        }
    }
}

/// Keeps the wallet balance and endpoint health gauges current.
async fn gauges(
    chain: Arc<dyn ChainPort>,
    address: String,
    grpc: Vec<String>,
    rpc: Vec<String>,
    metrics: Metrics,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Ok(b) = chain.balance(&address).await {
            metrics
                .wallet_balance
                .with_label_values(&[&address])
                .set(b as f64);
        }
        // gRPC: the client's own scoring (what queries actually saw), else a TCP probe.
        let mut states = chain.grpc_health();
        if states.is_empty() {
            for url in &grpc {
                states.push((url.clone(), probe(url).await));
            }
        }
        let grpc_states = states.into_iter().map(|(u, up)| (u, "grpc", up));
        let mut rpc_states = Vec::new();
        for url in &rpc {
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
