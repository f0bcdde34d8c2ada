//! `allora-node config validate`: loads the config exactly as `run` would (same source
//! precedence), prints every problem with its fix and exits 2, or prints a summary and exits 0.

use std::path::PathBuf;

use crate::config::{self, ConfigError, LossPlan, Plan};

/// Arguments of `allora-node config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a config and list every problem (exit 2) or summarise it (exit 0).
    Validate {
        /// Config file (used when neither ALLORA_OFFCHAIN_NODE_CONFIG_JSON nor
        /// ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH is set).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// Exit code for an unusable config (shared with `run`).
pub const EXIT_BAD_CONFIG: i32 = 2;

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    match args.command {
        Command::Validate { config } => Ok(validate(config)),
    }
}

fn validate(path: Option<PathBuf>) -> i32 {
    match config::load(path.as_deref()) {
        Ok(plan) => {
            println!("{}", summary(&plan));
            0
        }
        Err(err) => {
            report(&err);
            EXIT_BAD_CONFIG
        }
    }
}

/// Prints a config error to stderr, one line per issue.
pub fn report(err: &ConfigError) {
    eprintln!("error: {err}");
}

/// A human summary of what the node would run.
pub fn summary(plan: &Plan) -> String {
    let w = &plan.wallet;
    let mut out = vec![
        "config OK".to_string(),
        format!("  key: {}", w.key.describe()),
        format!(
            "  chain: id={} grpc={:?} rpc={:?}",
            w.chain_id.as_deref().unwrap_or("(from node)"),
            w.grpc_urls,
            w.rpc_urls
        ),
        format!(
            "  tx: submitTx={} gas={:?} gasAdjustment={} gasPrices={:?} maxFees={} maxRetries={}",
            w.submit_tx,
            w.fees.gas,
            w.fees.gas_adjustment,
            w.fees.gas_prices,
            w.fees.max_fees,
            w.retry.max_retries
        ),
        format!(
            "  fees paid by: {}",
            w.fee_granter
                .as_deref()
                .map(|g| format!("fee granter {g} (wallet.feeGranterAddress)"))
                .unwrap_or_else(|| "the wallet".to_string())
        ),
    ];
    // Extra wallets (`wallets[]`): their keys and who pays their fees.
    for sp in plan.wallets.iter().skip(1) {
        out.push(format!(
            "  wallet {}: key: {}; fees paid by: {}",
            sp.name,
            sp.key.describe(),
            sp.fee_granter
                .as_deref()
                .map(|g| format!("fee granter {g}"))
                .unwrap_or_else(|| "the wallet".to_string())
        ));
    }
    for wk in &plan.workers {
        out.push(format!(
            "  worker topic={} wallet={} every={}s inference={} ({}) forecast={}",
            wk.topic_id,
            wk.wallet,
            wk.loop_interval.as_secs(),
            wk.inference.name,
            wk.inference.wasm.display(),
            wk.forecast
                .as_ref()
                .map(|f| f.name.clone())
                .unwrap_or_else(|| "-".into())
        ));
    }
    for r in &plan.reputers {
        let loss = match &r.loss {
            LossPlan::Builtin(m) => format!("built-in {}", m.name()),
            LossPlan::FromTopic(_) => "topic's loss_method".into(),
            LossPlan::Adapter(a) => format!("adapter {}", a.name),
        };
        out.push(format!(
            "  reputer topic={} wallet={} every={}s ground-truth={} loss={} minStake={}",
            r.topic_id,
            r.wallet,
            r.loop_interval.as_secs(),
            r.ground_truth.name,
            loss,
            r.min_stake
        ));
    }
    out.push(format!("  metrics: {}", plan.node.metrics_addr));
    for warn in &plan.warnings {
        out.push(format!("  warning: {warn}"));
    }
    out.join("\n")
}
