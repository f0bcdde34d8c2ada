//! The live wiring: chain client queries as [`ChainPort`], the per-wallet tx actor as
//! [`TxPort`], `protocol` signing with the wallet as [`SignPort`], and chain window events
//! as the supervisor's signal stream.

use anyhow::Context;

use crate::config::{KeySource, Plan};
use crate::keys::{Wallet, store::Keystore};
use crate::metrics::Metrics;

use super::supervisor::Wiring;

/// Connects to the chain described by the plan and builds the actors' wiring.
pub async fn connect(_plan: &Plan, _metrics: &Metrics) -> anyhow::Result<Wiring> {
    anyhow::bail!("the chain client is not part of this build yet")
}

/// Query-only access for `doctor`: the chain port and the wallet address.
pub async fn query_port(
    _plan: &Plan,
) -> anyhow::Result<(std::sync::Arc<dyn super::ports::ChainPort>, String)> {
    anyhow::bail!("the chain client is not part of this build yet")
}

/// Loads the signing wallet from the configured key source. Errors name the source, never
/// the secret.
pub fn wallet(plan: &Plan) -> anyhow::Result<Wallet> {
    match &plan.wallet.key {
        KeySource::Mnemonic(m) => Wallet::from_mnemonic(m)
            .context("wallet.addressRestoreMnemonic / $ALLORA_OFFCHAIN_NODE_MNEMONIC is not a valid mnemonic"),
        KeySource::MnemonicFile(path) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading wallet.mnemonicFile {}", path.display()))?,
            );
            Wallet::from_mnemonic(text.trim())
                .with_context(|| format!("wallet.mnemonicFile {} holds no valid mnemonic", path.display()))
        }
        KeySource::Keystore { name, home } => Keystore::new(home).load(name).with_context(|| {
            format!(
                "loading key '{name}' from {} (create it with `allora-node keys add {name}` or set wallet.addressRestoreMnemonic)",
                home.display()
            )
        }),
    }
}
