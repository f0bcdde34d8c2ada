//! Command-line interface: one module per subcommand, each exposing `Args` and
//! `async fn run(Args) -> anyhow::Result<i32>` (the exit code). `main.rs` only dispatches.

pub mod adapter;
pub mod config;
pub mod demo;
pub mod devnet;
pub mod doctor;
pub mod keys;
pub mod run;

use clap::{Parser, Subcommand};

/// allora-node: an Allora off-chain worker/reputer whose models run as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "allora-node", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the node: worker and reputer loops for every configured topic.
    Run(run::Args),
    /// Manage wallet keys under the node's home directory.
    Keys(keys::Args),
    /// Configuration tools (`config validate`).
    Config(config::Args),
    /// Run or inspect a WebAssembly adapter component.
    Adapter(adapter::Args),
    /// Start the built-in simulated Allora chain (for tests and trying adapters).
    Devnet(devnet::Args),
    /// Check endpoints, chain-id, balance, registration, stake and adapters; warns, never exits non-zero for findings.
    Doctor(doctor::Args),
    /// The node with the shipped example adapters against an embedded devnet.
    Demo(demo::Args),
}

/// Dispatches a parsed command line; returns the process exit code.
pub async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(a) => run::run(a).await,
        Command::Keys(a) => keys::run(a).await,
        Command::Config(a) => config::run(a).await,
        Command::Adapter(a) => adapter::run(a).await,
        Command::Devnet(a) => devnet::run(a).await,
        Command::Doctor(a) => doctor::run(a).await,
        Command::Demo(a) => demo::run(a).await,
    }
}
