//! The composition root: turns a validated [`Plan`] into running parts. It loads the wallet,
//! builds the chain client, spawns the wallet's tx actor behind a restartable [`TxSlot`],
//! subscribes to window events, creates the adapter runtime, and hands the ports to the
//! supervisor. The live port implementations live here as adapters of the ports
//! ([`chain`], [`tx`], [`sign`], [`adapter`]); `actors/` holds policy only.

pub mod adapter;
pub mod chain;
pub mod lock;
pub mod pool_metrics;
pub mod sign;
pub mod tx;

use std::sync::Arc;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::actors::ports::{ChainPort, Role, TxPort};
use crate::actors::supervisor::{self, SignalStream, SupervisorError, WalletPorts, Wiring};
use crate::actors::{ChainSignal, WindowSignal};
use crate::config::Plan;
use crate::config::defaults as d;
use crate::metrics::{Health, Metrics};
use allora_chain_client::client::VersionError;
use allora_chain_client::events::{Resubscribe, Watchdog, subscribe_watched};
use allora_chain_client::{ChainClient, ChainError, Endpoints, WindowEventKind};
use allora_protocol::EmissionsVersion;
use allora_sandbox::{AdapterRuntime, Compiler, RuntimeConfig, RuntimeError};
use chain::LiveChain;
use sign::{WalletError, WalletSigner, load_wallet};
use tx::{NoBroadcast, TxSlot, tx_config};

/// Why the node could not be wired or run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error("building the chain client: {0}")]
    Client(Box<ChainError>),
    #[error(
        "chain-id mismatch: wallet.chainId is {want:?} but the node serves {got:?}; fix wallet.chainId or the endpoints"
    )]
    ChainIdMismatch { want: String, got: String },
    /// The chain serves no emissions version this node speaks: exit 2 at once.
    #[error(transparent)]
    EmissionsVersion(Box<VersionError>),
    #[error("creating the adapter runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("registering the adapter pool metrics: {0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// Two wallets load to one account (keystore entries `config validate` could not read
    /// yet): they would clash on its sequence.
    #[error(
        "{second} signs with {address}, the same account as {first}: give every wallet its own key"
    )]
    SameAccount {
        first: String,
        second: String,
        address: String,
    },
}

fn client(plan: &Plan) -> Result<ChainClient, AppError> {
    let endpoints = Endpoints::new(plan.wallet.grpc_urls.clone(), plan.wallet.rpc_urls.clone());
    ChainClient::new(endpoints).map_err(|e| AppError::Client(Box::new(e)))
}

/// The adapter runtime's settings: compiled components cached under `node.cacheDir`,
/// compiles in a child process of this binary under `node.compileMemoryMb` and
/// `node.compileTimeoutSecs`, `node.adapterInstances` pool slots.
pub fn runtime_config(plan: &Plan) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: plan.node.cache_dir.clone(),
        compile_timeout: plan.node.compile_timeout,
        compile_memory_bytes: plan.node.compile_memory_bytes,
        compiler: Compiler::current_exe(),
        max_concurrent_instances: plan.node.adapter_instances,
        ..RuntimeConfig::default()
    }
}

/// The adapter runtime (see [`runtime_config`]).
pub fn runtime(plan: &Plan) -> Result<AdapterRuntime, AppError> {
    Ok(AdapterRuntime::new(runtime_config(plan))?)
}

/// Query-only access for `doctor`: the chain port and the wallet address. The emissions
/// version is detected when the chain answers (else v10 is assumed and the query fails).
pub async fn query_port(plan: &Plan) -> Result<(Arc<dyn ChainPort>, String), AppError> {
    let w = load_wallet(&plan.wallet.key)?;
    let client = client(plan)?;
    let client = match client.detect_version().await {
        Ok(v) => client.with_version(v),
        Err(e @ VersionError::Unsupported { .. }) => {
            return Err(AppError::EmissionsVersion(Box::new(e)));
        }
        Err(VersionError::Query(_)) => client,
    };
    Ok((
        Arc::new(LiveChain::new(client, w.address().to_string())),
        w.address().to_string(),
    ))
}

/// Every configured wallet's name, address and fee granter (the default wallet first), for
/// `doctor`. Loads each key; the keys themselves stay here.
pub fn wallet_addresses(plan: &Plan) -> Result<Vec<(String, String, Option<String>)>, AppError> {
    plan.wallets
        .iter()
        .map(|sp| {
            let address = load_wallet(&sp.key)?.address().to_string();
            Ok((sp.name.clone(), address, sp.fee_granter.clone()))
        })
        .collect()
}

/// The emissions version the chain serves, retrying while the chain cannot be reached;
/// a chain serving no supported version is an error at once.
async fn detect_version(client: &ChainClient) -> Result<EmissionsVersion, AppError> {
    loop {
        match client.detect_version().await {
            Ok(v) => return Ok(v),
            Err(e @ VersionError::Unsupported { .. }) => {
                return Err(AppError::EmissionsVersion(Box::new(e)));
            }
            Err(VersionError::Query(err)) => {
                tracing::warn!(error = %err, retry_in_secs = d::CONNECT_RETRY.as_secs(), "cannot ask the chain for its emissions version yet; retrying");
                tokio::time::sleep(d::CONNECT_RETRY).await;
            }
        }
    }
}

/// Window-open events from the CometBFT websocket (the `version` package's typed events), as
/// supervisor signals, merged with the height of every block heartbeat the same connection
/// already receives (the one shared height the actors use). The stream's deafness watchdog
/// comes from the plan; each resubscription is counted by reason and signalled (every actor
/// then polls once).
fn events(plan: &Plan, version: EmissionsVersion, metrics: &Metrics) -> Option<SignalStream> {
    let mut topics: Vec<u64> = plan
        .workers
        .iter()
        .map(|w| w.topic_id)
        .chain(plan.reputers.iter().map(|r| r.topic_id))
        .collect();
    topics.sort_unstable();
    topics.dedup();
    (!plan.wallet.rpc_urls.is_empty()).then(|| {
        let counter = metrics.event_resubscribes.clone();
        // Latest height only: a consumer that falls behind needs no heights in between.
        let (height_tx, height_rx) = tokio::sync::watch::channel(0i64);
        // Resubscriptions coalesce too: one poll per actor covers any number of them.
        let (resub_tx, resub_rx) = tokio::sync::watch::channel(0u64);
        let watchdog = Watchdog {
            deaf_after_blocks: plan.node.event_watchdog_blocks,
            block_time_estimate: d::BLOCK_TIME_ESTIMATE,
            on_resubscribe: Some(Arc::new(move |why: Resubscribe| {
                counter.with_label_values(&[why.as_str()]).inc();
                resub_tx.send_modify(|n| *n += 1);
            })),
            on_block: Some(Arc::new(move |h: i64| {
                height_tx.send_if_modified(|cur| {
                    let newer = h > *cur;
                    if newer {
                        *cur = h;
                    }
                    newer
                });
            })),
        };
        let heights = futures::stream::unfold(height_rx, |mut rx| async move {
            rx.changed().await.ok()?;
            let h = *rx.borrow_and_update();
            Some((ChainSignal::Block(h), rx))
        });
        let resubscribes = futures::stream::unfold(resub_rx, |mut rx| async move {
            rx.changed().await.ok()?;
            rx.borrow_and_update();
            Some((ChainSignal::Resubscribed, rx))
        });
        let stream = subscribe_watched(plan.wallet.rpc_urls.clone(), topics, version, watchdog)
            .filter_map(|e| async move {
                let role = match e.kind {
                    WindowEventKind::WorkerOpened => Role::Worker,
                    WindowEventKind::ReputerOpened => Role::Reputer,
                    _ => return None,
                };
                Some(ChainSignal::Window(WindowSignal {
                    role,
                    topic_id: e.topic_id,
                    nonce: e.nonce_block_height,
                    // 0 = no height bound (wall-clock epochs).
                    end_block: e.window_end_block.filter(|b| *b > 0),
                }))
            });
        let control = futures::stream::select(heights, resubscribes);
        Box::pin(futures::stream::select(stream, control)) as SignalStream
    })
}

/// Connects to the chain described by the plan and builds the actors' wiring. Retries the
/// first contact (the chain may still be starting) until it answers.
pub async fn connect(plan: &Plan, metrics: &Metrics) -> Result<Wiring, AppError> {
    let wallet = load_wallet(&plan.wallet.key)?;
    let address = wallet.address().to_string();
    let client = client(plan)?;
    let chain_id = loop {
        match client.chain_id().await {
            Ok(id) => break id,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_secs = d::CONNECT_RETRY.as_secs(), "chain not reachable yet; retrying");
                tokio::time::sleep(d::CONNECT_RETRY).await;
            }
        }
    };
    if let Some(want) = &plan.wallet.chain_id
        && want != &chain_id
    {
        return Err(AppError::ChainIdMismatch {
            want: want.clone(),
            got: chain_id,
        });
    }
    let version = detect_version(&client).await?;
    let client = client.with_version(version);
    metrics
        .emissions_version
        .with_label_values(&[&version.to_string()])
        .set(1.0);
    tracing::info!(emissions_version = %version, package = version.package(), multi_label = version.supports_multi_label(), "chain emissions version detected");
    match client.balance(&address).await {
        Ok(b) => {
            metrics
                .wallet_balance
                .with_label_values(&[&address])
                .set(b as f64);
            tracing::info!(address = %address, chain_id = %chain_id, balance_uallo = b, "connected");
        }
        Err(err) => tracing::warn!(address = %address, error = %err, "cannot read balance"),
    }
    let mut wallets = Vec::with_capacity(plan.wallets.len());
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (i, sp) in plan.wallets.iter().enumerate() {
        // The default wallet is loaded above (its balance is logged at connect).
        let w = if i == 0 {
            wallet.clone()
        } else {
            load_wallet(&sp.key)?
        };
        let address = w.address().to_string();
        if let Some(first) = seen.insert(address.clone(), sp.path.clone()) {
            return Err(AppError::SameAccount {
                first,
                second: sp.path.clone(),
                address,
            });
        }
        if i > 0 {
            match client.balance(&address).await {
                Ok(b) => {
                    tracing::info!(wallet = %address, name = %sp.name, balance_uallo = b, fee_granter = ?sp.fee_granter, "wallet loaded")
                }
                Err(err) => {
                    tracing::warn!(wallet = %address, name = %sp.name, error = %err, "cannot read balance")
                }
            }
        }
        let signer = Arc::new(WalletSigner::new(w.clone(), version));
        let tx: Arc<dyn TxPort> = if plan.wallet.submit_tx {
            let mut cfg = tx_config(&plan.wallet, chain_id.clone());
            cfg.fee_granter = sp.fee_granter.clone();
            Arc::new(TxSlot::live(client.clone(), w, cfg))
        } else {
            Arc::new(NoBroadcast)
        };
        wallets.push(WalletPorts {
            name: sp.name.clone(),
            chain: Arc::new(LiveChain::new(client.clone(), address)),
            tx,
            signer,
        });
    }
    Ok(Wiring {
        wallets,
        events: events(plan, version, metrics),
    })
}

/// Wires and runs the node until `shutdown`: adapter runtime, chain connection (abandoned
/// if shutdown comes first), then the supervisor.
pub async fn run(
    plan: &Plan,
    metrics: Metrics,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let runtime = runtime(plan)?;
    pool_metrics::register(&metrics, &runtime)?;
    let wiring = tokio::select! {
        w = connect(plan, &metrics) => w?,
        _ = shutdown.cancelled() => return Ok(()),
    };
    supervisor::run(plan, wiring, runtime, metrics, health, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
