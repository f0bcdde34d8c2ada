//! [`SignPort`] with the node's wallet: the detected [`EmissionsVersion`] builds and signs
//! the version-specific bundles and messages, and every bundle is verified locally exactly as
//! the chain (and the devnet) will verify it before it is handed to the tx actor — a bundle
//! the chain would reject never costs a fee.

use allora_chain_client::keys::Wallet;
use allora_protocol as protocol;
use allora_protocol::EmissionsVersion;
use allora_protocol::emissions::{SignedMsg, reputer_input::InputValueBundle};

use crate::actors::ports::{Outgoing, Role, SignError, SignPort};

/// Signs with one wallet. The wallet never leaves this struct (Debug is redacted by `keys`).
pub struct WalletSigner {
    wallet: Wallet,
    version: EmissionsVersion,
}

impl WalletSigner {
    /// Signs for a chain serving emissions `version`.
    pub fn new(wallet: Wallet, version: EmissionsVersion) -> Self {
        Self { wallet, version }
    }
}

fn outgoing(m: SignedMsg) -> Outgoing {
    Outgoing {
        msg: m.msg,
        describe: m.describe,
    }
}

fn perr(e: protocol::ProtocolError) -> SignError {
    SignError(e.to_string())
}

impl SignPort for WalletSigner {
    fn address(&self) -> &str {
        self.wallet.address()
    }

    fn worker_payload(
        &self,
        topic_id: u64,
        nonce: i64,
        inference: Option<Vec<(String, String)>>,
        forecast: Option<Vec<(String, String)>>,
    ) -> Result<Outgoing, SignError> {
        self.version
            .worker_payload(&self.wallet, topic_id, nonce, inference, forecast)
            .map(outgoing)
            .map_err(perr)
    }

    fn reputer_payload(&self, bundle: InputValueBundle, nonce: i64) -> Result<Outgoing, SignError> {
        self.version
            .reputer_payload(&self.wallet, nonce, bundle)
            .map(outgoing)
            .map_err(perr)
    }

    fn register(&self, topic_id: u64, role: Role) -> Outgoing {
        Outgoing {
            msg: self
                .version
                .register_msg(&self.wallet, topic_id, role == Role::Reputer),
            describe: format!(
                "RegisterRequest {{ sender: {a}, topic_id: {topic_id}, owner: {a}, is_reputer: {} }}",
                role == Role::Reputer,
                a = self.wallet.address()
            ),
        }
    }

    fn add_stake(&self, topic_id: u64, amount: u128) -> Outgoing {
        Outgoing {
            msg: self.version.add_stake_msg(&self.wallet, topic_id, amount),
            describe: format!(
                "AddStakeRequest {{ sender: {}, topic_id: {topic_id}, amount: {amount} }}",
                self.wallet.address()
            ),
        }
    }
}

/// The configured key could not be loaded. Names the source and the fix, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(
        "wallet.addressRestoreMnemonic / ${env} is not a valid mnemonic: {0}",
        env = crate::config::ENV_MNEMONIC
    )]
    Mnemonic(allora_chain_client::keys::KeyError),
    #[error("wallet.mnemonicFile {path}: {source}")]
    MnemonicFile {
        path: String,
        source: allora_chain_client::keys::store::StoreError,
    },
    #[error(
        "loading key '{name}' from {home} (create it with `allora-node keys add {name}` or set wallet.addressRestoreMnemonic): {source}"
    )]
    Keystore {
        name: String,
        home: String,
        source: allora_chain_client::keys::store::StoreError,
    },
}

/// Loads the signing wallet from the configured key source.
pub fn load_wallet(key: &crate::config::KeySource) -> Result<Wallet, WalletError> {
    use crate::config::KeySource;
    use allora_chain_client::keys::store::{Keystore, wallet_from_mnemonic_file};
    match key {
        KeySource::Mnemonic(m) => Wallet::from_mnemonic(m).map_err(WalletError::Mnemonic),
        KeySource::MnemonicFile(path) => {
            wallet_from_mnemonic_file(path).map_err(|source| WalletError::MnemonicFile {
                path: path.display().to_string(),
                source,
            })
        }
        KeySource::Keystore { name, home } => {
            Keystore::new(home)
                .load(name)
                .map_err(|source| WalletError::Keystore {
                    name: name.clone(),
                    home: home.display().to_string(),
                    source,
                })
        }
    }
}
