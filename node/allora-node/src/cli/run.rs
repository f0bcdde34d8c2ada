//! `allora-node run`: load and validate the config (exit 2 listing every problem), lock the
//! data dir (exit 2 naming the holder when another process has it), start the
//! metrics server, hand the plan to the composition root ([`crate::app::run`]: adapter
//! runtime, chain connection, supervisor), and shut down gracefully (bounded) on
//! SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::cli::config::{EXIT_BAD_CONFIG, report};
use crate::config;
use crate::metrics::{self, Health, Metrics};

/// Exit code when another process holds the data dir.
pub const EXIT_IN_USE: i32 = 2;

/// Arguments of `allora-node run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (used when neither ALLORA_OFFCHAIN_NODE_CONFIG_JSON nor
    /// ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH is set).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Overrides `node.metricsAddr` (e.g. 127.0.0.1:0 for an ephemeral port).
    #[arg(long, env = "ALLORA_NODE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    let plan = match config::load(args.config.as_deref()) {
        Ok(p) => p,
        Err(err) => {
            report(&err);
            return Ok(EXIT_BAD_CONFIG);
        }
    };
    for w in &plan.warnings {
        tracing::warn!(warning = %w, "config");
    }
    // One process per key and data dir (dry runs write nothing and take no lock).
    let _lock = if plan.wallet.submit_tx {
        let dir = plan.node.ledger_dir.clone();
        match tokio::task::spawn_blocking(move || app::lock::acquire(&dir)).await? {
            Ok(l) => Some(l),
            Err(err @ app::lock::LockError::Held { .. }) => {
                tracing::error!(error = %err, "refusing to start");
                eprintln!("error: {err}");
                return Ok(EXIT_IN_USE);
            }
            Err(err) => return Err(err.into()),
        }
    } else {
        None
    };
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());

    let metrics = Metrics::new().context("creating metrics")?;
    let health = Arc::new(Health::default());
    let addr = args.metrics_addr.unwrap_or(plan.node.metrics_addr);
    let (bound, server) = metrics::serve(addr, metrics.clone(), health.clone(), shutdown.clone())
        .await
        .context("starting the metrics server")?;
    // Tests and operators read the real port from this line when binding port 0.
    tracing::info!(metrics_addr = %bound, "metrics server listening");

    let result = app::run(&plan, metrics, health, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), server).await;
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            Ok(0)
        }
        Err(app::AppError::Supervisor(err)) => {
            tracing::error!(error = %err, "node could not run");
            Ok(1)
        }
        Err(err @ app::AppError::EmissionsVersion(_)) => {
            tracing::error!(error = %err, "refusing to start");
            eprintln!("error: {err}");
            Ok(EXIT_BAD_CONFIG)
        }
        // Startup failures (key, chain id, runtime) are reported by `main` with their fix.
        Err(err) => Err(err.into()),
    }
}

/// First SIGINT/SIGTERM starts a graceful shutdown; a second SIGINT exits at once.
fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutdown requested"),
            _ = term => tracing::info!(signal = "SIGTERM", "shutdown requested"),
        }
        shutdown.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("second SIGINT: exiting now");
            std::process::exit(130);
        }
    });
}
