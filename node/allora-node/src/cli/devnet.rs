//! `allora-node devnet`: runs the built-in simulated Allora chain (`allora_devnet`) in the
//! foreground and prints its endpoints, chain id and a funded TEST mnemonic so a node — or
//! any Cosmos client — can be pointed at it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use allora_devnet::{DEFAULT_CHAIN_ID, Devnet, DevnetConfig, Genesis, GenesisAccount};

/// Arguments of `allora-node devnet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Genesis JSON (accounts, topics, params); default: 5 funded test accounts, 2 topics.
    #[arg(long, env = "ALLORA_DEVNET_GENESIS")]
    pub genesis: Option<PathBuf>,
    /// Block time in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub block_time_ms: u64,
    /// gRPC listen address.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub grpc_addr: SocketAddr,
    /// CometBFT JSON-RPC + websocket listen address.
    #[arg(long, default_value = "127.0.0.1:26657")]
    pub rpc_addr: SocketAddr,
    /// Chain id.
    #[arg(long, default_value = DEFAULT_CHAIN_ID)]
    pub chain_id: String,
    /// Override the minimum gas price (uallo per gas, decimal), e.g. "0" or "10".
    #[arg(long)]
    pub min_gas_price: Option<String>,
    /// Override every topic's epoch length (window = epoch/2, ground-truth lag = epoch).
    #[arg(long)]
    pub epoch_length: Option<i64>,
    /// Fund an extra account: `allo1…=AMOUNT` (uallo). Repeatable.
    #[arg(long = "fund", value_name = "ADDRESS=AMOUNT")]
    pub fund: Vec<String>,
    /// Print the effective genesis JSON (a starting point for --genesis) and exit.
    #[arg(long)]
    pub print_genesis: bool,
    /// Emissions package to serve: 10 (allora-chain v0.17.0) or 9 (v0.16.0, mainnet as of
    /// 2026-07, scalar inferences only). The other package answers Unimplemented.
    #[arg(long, default_value_t = allora_devnet::DEFAULT_EMISSIONS_VERSION, value_parser = clap::value_parser!(u32).range(9..=10))]
    pub emissions_version: u32,
}

/// Applies the command-line overrides to a genesis and validates the result.
fn apply_overrides(mut genesis: Genesis, args: &Args) -> anyhow::Result<Genesis> {
    if let Some(p) = &args.min_gas_price {
        genesis.params.min_gas_price = p.clone();
    }
    if let Some(e) = args.epoch_length {
        if e < 2 {
            anyhow::bail!("--epoch-length must be at least 2 (the worker window needs 2 blocks)");
        }
        for t in &mut genesis.topics {
            t.epoch_length = e;
            t.worker_submission_window = (e / 2).max(2);
            t.ground_truth_lag = e;
            t.first_epoch_block = None;
        }
    }
    for f in &args.fund {
        let (addr, amount) = f
            .split_once('=')
            .with_context(|| format!("--fund {f:?}: expected ADDRESS=AMOUNT"))?;
        let balance: u128 = amount
            .parse()
            .with_context(|| format!("--fund {f:?}: AMOUNT must be a whole number of uallo"))?;
        genesis.accounts.push(GenesisAccount {
            mnemonic: None,
            address: Some(addr.to_string()),
            balance,
        });
    }
    genesis
        .validate()
        .context("the devnet flags produce an invalid genesis")?;
    Ok(genesis)
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    if args.block_time_ms == 0 {
        anyhow::bail!("--block-time-ms must be greater than 0");
    }
    let genesis = match &args.genesis {
        Some(p) => {
            Genesis::from_file(p).with_context(|| format!("loading --genesis {}", p.display()))?
        }
        None => Genesis::default_devnet(),
    };
    let genesis = apply_overrides(genesis, &args)?;
    if args.print_genesis {
        println!("{}", serde_json::to_string_pretty(&genesis)?);
        return Ok(0);
    }
    let mnemonic = genesis.accounts.iter().find_map(|a| a.mnemonic.clone());
    let accounts: Vec<String> = genesis
        .accounts
        .iter()
        .map(|a| {
            let addr = match (&a.address, &a.mnemonic) {
                (Some(addr), _) => addr.clone(),
                (None, Some(m)) => allora_chain_client::keys::Wallet::from_mnemonic(m)
                    .map(|w| w.address().to_string())
                    .unwrap_or_else(|_| "<invalid mnemonic>".to_string()),
                (None, None) => "<missing>".to_string(),
            };
            format!("  account {addr}: {} uallo", a.balance)
        })
        .collect();
    let topics: Vec<String> = genesis
        .topics
        .iter()
        .map(|t| {
            format!(
                "  topic {}: epoch_length={} worker_submission_window={} ground_truth_lag={} loss_method={}",
                t.id, t.epoch_length, t.worker_submission_window, t.ground_truth_lag, t.loss_method
            )
        })
        .collect();
    let cfg = DevnetConfig {
        chain_id: args.chain_id.clone(),
        block_time: Duration::from_millis(args.block_time_ms),
        genesis,
        grpc_addr: args.grpc_addr,
        rpc_addr: args.rpc_addr,
        emissions_version: args.emissions_version,
    };
    let handle = Devnet::start(cfg).await.context("starting the devnet")?;
    println!("allora-node devnet is running (Ctrl-C to stop)");
    println!("  chain id:   {}", handle.chain_id());
    println!("  gRPC:       {}", handle.grpc_url());
    println!("  RPC:        {}", handle.rpc_url());
    println!("  websocket:  {}", handle.ws_url());
    println!("  block time: {} ms", args.block_time_ms);
    println!("  emissions:  emissions.v{}", args.emissions_version);
    for t in topics {
        println!("{t}");
    }
    for a in accounts {
        println!("{a}");
    }
    if let Some(m) = mnemonic {
        // A public TEST mnemonic from the genesis (docs/DEVNET.md) — never use it elsewhere.
        println!("  funded TEST mnemonic (public, devnet only): {m}");
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping devnet");
    handle.shutdown().await;
    Ok(0)
}
