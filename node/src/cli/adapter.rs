//! `allora-node adapter` (stub — owned by the issue that builds it).

/// Arguments of `allora-node adapter`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`adapter` is not implemented yet")
}
