//! The supervisor: turns a validated [`Plan`] and the live ports into running actors. It
//! loads every topic's adapters concurrently and starts each topic's actor as soon as its
//! own adapters are ready (a slow or broken adapter delays or disables only its topic and
//! role; the node runs once one topic is ready), opens
//! the submission ledger, routes each chain window event to the one actor it concerns
//! ([`Router`]: O(1) per event, whatever the number of actors), feeds every block
//! heartbeat into the one shared height ([`WindowClock`]) and the stream's health
//! ([`StreamHealth`]: actors stop tick-polling while it is healthy), watches every task
//! (a panicked or ended actor is restarted with backoff; a dead tx actor makes `/ready`
//! false until it is replaced — see [`watch`]), keeps the gauges fresh, and on shutdown
//! gives actors a bounded time to finish.

mod events;
mod gauges;
mod watch;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, Stream, StreamExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::ActorEnv;
use super::ChainSignal;
use super::clock::WindowClock;
use super::ledger::Ledger;
use super::ports::{AdapterLoader, AdapterPort, ChainPort, Role, SignPort, TxPort};
use super::reputer::{LossSource, ReputerActor};
use super::trigger::StreamHealth;
use super::wakeup::{Router, Wakeups};
use super::worker::WorkerActor;
use crate::config::defaults as d;
use crate::config::{AdapterPlan, LossPlan, Plan, ReputerPlan, WorkerPlan};
use crate::metrics::{Health, Metrics};
pub use gauges::probe;
use watch::{Task, TxWatch, Watch};

/// A stream of window-open signals and block heartbeats (from the chain's websocket).
pub type SignalStream = Pin<Box<dyn Stream<Item = ChainSignal> + Send>>;

/// One wallet's ports: its queries (window status is per address), its tx actor and its key.
#[derive(Clone)]
pub struct WalletPorts {
    /// [`crate::config::DEFAULT_WALLET`] or a `wallets[].name`.
    pub name: String,
    pub chain: Arc<dyn ChainPort>,
    /// The wallet's tx actor; the supervisor restarts it through this port when it dies.
    pub tx: Arc<dyn TxPort>,
    pub signer: Arc<dyn SignPort>,
}

/// The live mechanism the actors run on.
pub struct Wiring {
    /// Every wallet, the default one first; one tx actor each.
    pub wallets: Vec<WalletPorts>,
    /// Window events and block heights; `None` means polling only.
    pub events: Option<SignalStream>,
}

impl Wiring {
    /// One wallet (the default) and its ports.
    pub fn single(
        chain: Arc<dyn ChainPort>,
        tx: Arc<dyn TxPort>,
        signer: Arc<dyn SignPort>,
        events: Option<SignalStream>,
    ) -> Self {
        Self {
            wallets: vec![WalletPorts {
                name: crate::config::DEFAULT_WALLET.to_string(),
                chain,
                tx,
                signer,
            }],
            events,
        }
    }
}

/// Why the node could not start any work.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("no actor could start (every configured topic failed to load its adapters)")]
    NothingToRun,
    #[error("cannot read the chain id for the submission ledger: {0}")]
    ChainId(#[from] super::ports::QueryError),
    #[error("cannot open the submission ledger: {0}")]
    Ledger(#[from] super::ledger::LedgerError),
}

/// Every wallet's actor environment, by wallet name. Each wallet has its own ledger file
/// (`ledger-<address>.json`), so two wallets never share a submission or intent record.
async fn envs(
    plan: &Plan,
    wallets: &[WalletPorts],
    clock: &WindowClock,
    stream: &StreamHealth,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Result<BTreeMap<String, ActorEnv>, SupervisorError> {
    let mut out = BTreeMap::new();
    let mut chain_id = None;
    for w in wallets {
        let ledger = if plan.wallet.submit_tx {
            let id = match &chain_id {
                Some(id) => id,
                None => chain_id.insert(w.chain.chain_id().await?),
            };
            Ledger::open(&plan.node.ledger_dir, id, w.signer.address()).await?
        } else {
            Ledger::in_memory()
        };
        let env = env(
            plan,
            w,
            ledger,
            clock.clone(),
            stream.clone(),
            metrics,
            shutdown,
        );
        out.insert(w.name.clone(), env);
    }
    Ok(out)
}

fn env(
    plan: &Plan,
    w: &WalletPorts,
    ledger: Ledger,
    clock: WindowClock,
    stream: StreamHealth,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> ActorEnv {
    let dry_run = !plan.wallet.submit_tx;
    ActorEnv {
        chain: w.chain.clone(),
        tx: w.tx.clone(),
        signer: w.signer.clone(),
        metrics: metrics.clone(),
        ledger,
        clock,
        stream,
        dry_run,
        retry: plan.wallet.retry,
        shutdown: shutdown.clone(),
    }
}

/// Loads one adapter; on failure counts it (`kind="load"`) and disables the topic's role.
async fn load(
    loader: &dyn AdapterLoader,
    plan: &AdapterPlan,
    role: allora_sandbox::Role,
    topic_id: u64,
    actor: &'static str,
    metrics: &Metrics,
) -> Option<Arc<dyn AdapterPort>> {
    match loader.load(plan, role).await {
        Ok(a) => {
            tracing::info!(topic_id, role = actor, adapter = %plan.name, wasm = %plan.wasm.display(), adapter_role = %role, "adapter loaded");
            Some(a)
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

/// A topic's actor once its adapters have loaded; `None` when one failed to load (only that
/// topic and role is disabled; the failure is already logged and counted).
type PendingActor<'a> = Pin<Box<dyn Future<Output = Option<Task>> + Send + 'a>>;

/// Every topic's adapter loads, started together so a slow or hostile `.wasm` delays only
/// its own topic: each actor starts as soon as its own adapters are ready. The sandbox
/// bounds how many compiles run at once; cached adapters need no compile.
fn actors<'a>(
    plan: &'a Plan,
    envs: &'a BTreeMap<String, ActorEnv>,
    loader: &'a dyn AdapterLoader,
    router: &Router,
    metrics: &'a Metrics,
) -> FuturesUnordered<PendingActor<'a>> {
    let pending = FuturesUnordered::new();
    for w in &plan.workers {
        if let Some(env) = wallet_env(envs, &w.wallet, w.topic_id, "worker") {
            let wake = router.mailbox(Role::Worker, w.topic_id);
            pending.push(Box::pin(worker(w, env, loader, wake, metrics)) as PendingActor<'a>);
        }
    }
    for r in &plan.reputers {
        if let Some(env) = wallet_env(envs, &r.wallet, r.topic_id, "reputer") {
            let wake = router.mailbox(Role::Reputer, r.topic_id);
            pending.push(Box::pin(reputer(r, env, loader, wake, metrics)) as PendingActor<'a>);
        }
    }
    pending
}

/// One mailbox per configured (role, topic).
fn router(plan: &Plan) -> Router {
    let workers = plan.workers.iter().map(|w| (Role::Worker, w.topic_id));
    let reputers = plan.reputers.iter().map(|r| (Role::Reputer, r.topic_id));
    Router::new(workers.chain(reputers))
}

/// The environment of the wallet a topic's role is assigned to. Validation guarantees the
/// name exists; a miss is logged and only that topic's role is disabled.
fn wallet_env<'a>(
    envs: &'a BTreeMap<String, ActorEnv>,
    wallet: &str,
    topic_id: u64,
    role: &str,
) -> Option<&'a ActorEnv> {
    let env = envs.get(wallet);
    if env.is_none() {
        tracing::error!(
            topic_id,
            role,
            wallet,
            "no such wallet; this topic's {role} is disabled"
        );
    }
    env
}

async fn worker(
    w: &WorkerPlan,
    env: &ActorEnv,
    loader: &dyn AdapterLoader,
    wake: Wakeups,
    metrics: &Metrics,
) -> Option<Task> {
    use allora_sandbox::Role as R;
    let topic_id = w.topic_id;
    let inference = load(
        loader,
        &w.inference,
        R::Inference,
        topic_id,
        "worker",
        metrics,
    )
    .await?;
    let forecast = match &w.forecast {
        Some(f) => Some(load(loader, f, R::Forecast, topic_id, "worker", metrics).await?),
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
    let span = tracing::info_span!("worker", wallet = %env.address());
    Some(Task {
        task: "worker",
        topic: topic_id.to_string(),
        wake,
        make: Arc::new(move |rx| actor.clone().run(rx).instrument(span.clone()).boxed()),
    })
}

async fn reputer(
    r: &ReputerPlan,
    env: &ActorEnv,
    loader: &dyn AdapterLoader,
    wake: Wakeups,
    metrics: &Metrics,
) -> Option<Task> {
    use allora_sandbox::Role as R;
    let topic_id = r.topic_id;
    let ground_truth = load(
        loader,
        &r.ground_truth,
        R::GroundTruth,
        topic_id,
        "reputer",
        metrics,
    )
    .await?;
    let loss = match &r.loss {
        LossPlan::Builtin(m) => LossSource::Builtin(*m),
        LossPlan::FromTopic(options) => LossSource::FromTopic(options.clone()),
        LossPlan::Adapter(a) => LossSource::Adapter {
            adapter: load(loader, a, R::Loss, topic_id, "reputer", metrics).await?,
            params: a.params.clone(),
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
    let span = tracing::info_span!("reputer", wallet = %env.address());
    Some(Task {
        task: "reputer",
        topic: topic_id.to_string(),
        wake,
        make: Arc::new(move |rx| actor.clone().run(rx).instrument(span.clone()).boxed()),
    })
}

/// The first actor whose adapters load; `None` when every topic failed.
async fn first_ready(loading: &mut FuturesUnordered<PendingActor<'_>>) -> Option<Task> {
    while let Some(ready) = loading.next().await {
        if ready.is_some() {
            return ready;
        }
    }
    None
}

/// Starts every actor and runs until `shutdown` is cancelled; then waits at most
/// `plan.node.shutdown_timeout` for actors to stop.
pub async fn run<L: AdapterLoader>(
    plan: &Plan,
    wiring: Wiring,
    loader: L,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), SupervisorError> {
    let addresses: Vec<String> = wiring
        .wallets
        .iter()
        .map(|w| w.signer.address().to_string())
        .collect();
    let Some(first_wallet) = wiring.wallets.first().cloned() else {
        return Err(SupervisorError::NothingToRun);
    };
    // One clock for every wallet: the height and block time are the chain's, not a wallet's.
    let clock = WindowClock::new(d::BLOCK_TIME_ESTIMATE);
    let stream_health = StreamHealth::new(plan.node.safety_poll);
    let envs = envs(
        plan,
        &wiring.wallets,
        &clock,
        &stream_health,
        &metrics,
        &shutdown,
    )
    .await?;
    if !plan.wallet.submit_tx {
        tracing::warn!(wallets = ?addresses, "dry run (submitTx: false): payloads are built, signed and logged, nothing is broadcast");
    }
    let router = Arc::new(router(plan));
    let mut loading = actors(plan, &envs, &loader, &router, &metrics);
    // Run as soon as one topic is ready; the others join as their adapters load.
    let first = tokio::select! {
        _ = shutdown.cancelled() => return Ok(()),
        first = first_ready(&mut loading) => first.ok_or(SupervisorError::NothingToRun)?,
    };
    let mut started = 1;
    let policy = plan.node.restart;
    let mut watch = Watch::new(policy, metrics.clone(), shutdown.clone());
    watch.start(first);
    let gauges = gauges::Gauges {
        chain: first_wallet.chain.clone(),
        addresses: addresses.clone(),
        grpc: plan.wallet.grpc_urls.clone(),
        rpc: plan.wallet.rpc_urls.clone(),
        metrics: metrics.clone(),
    };
    let stop = shutdown.clone();
    watch.start(Task {
        task: "gauges",
        topic: "-".into(),
        wake: Wakeups::new(),
        make: Arc::new(move |_| gauges.clone().run(stop.clone()).boxed()),
    });

    // The event stream cannot be restarted (the client reconnects inside it); when it
    // ends the actors keep polling.
    let mut events = JoinSet::new();
    if let Some(stream) = wiring.events {
        let pump = events::Pump {
            router: router.clone(),
            clock: clock.clone(),
            health: stream_health.clone(),
            deaf_after_blocks: plan.node.event_watchdog_blocks,
        };
        events.spawn(pump.run(stream, shutdown.clone()));
    }
    let mut tx_watch = TxWatch::new(
        wiring
            .wallets
            .iter()
            .map(|w| (w.tx.clone(), w.signer.address().to_string()))
            .collect(),
    );
    tx_watch.check(&policy, &metrics, &health);
    tracing::info!(actors = started, loading = loading.len(), wallets = addresses.len(), address = %first_wallet.signer.address(), "node running");

    let mut tick = tokio::time::interval(policy.watch);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(ready) = loading.next(), if !loading.is_empty() => {
                if let Some(task) = ready {
                    started += 1;
                    tracing::info!(task = task.task, topic_id = %task.topic, actors = started, "actor started after its adapters loaded");
                    watch.start(task);
                }
            }
            Some(res) = watch.set.join_next_with_id() => watch.on_exit(res),
            Some(res) = events.join_next() => {
                // However the pump ended, nothing announces windows any more: poll.
                stream_health.deaf();
                if let Err(err) = res {
                    tracing::error!(error = %err, "window event task failed; actors keep polling");
                }
            }
            _ = tick.tick() => tx_watch.check(&policy, &metrics, &health),
        }
    }

    // Adapters still loading are abandoned (a compile process is killed with its load).
    drop(loading);
    health.set_ready(false);
    let bound = plan.node.shutdown_timeout;
    tracing::info!(timeout_secs = bound.as_secs(), "shutting down");
    let drained = tokio::time::timeout(bound, async {
        while watch.set.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            timeout_secs = bound.as_secs(),
            "actors did not stop within the shutdown bound; aborting them"
        );
        watch.set.abort_all();
    }
    events.abort_all();
    Ok(())
}

#[cfg(test)]
mod tests;
