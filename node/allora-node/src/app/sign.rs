//! [`SignPort`] with the node's wallet: `protocol` builds and signs the version-specific
//! bundles and messages, and every bundle is verified locally exactly as the chain (and the
//! devnet) will verify it before it is handed to the tx actor — a bundle the chain would
//! reject never costs a fee.

use allora_chain_client::keys::Wallet;
use allora_protocol as protocol;
use allora_protocol::proto::emissions::v9;

use crate::actors::ports::{Outgoing, Role, SignError, SignPort};

/// Signs with one wallet. The wallet never leaves this struct (Debug is redacted by `keys`).
pub struct WalletSigner {
    wallet: Wallet,
}

impl WalletSigner {
    pub fn new(wallet: Wallet) -> Self {
        Self { wallet }
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
        let bundle =
            protocol::sign_worker_bundle(&self.wallet, topic_id, nonce, inference, forecast)
                .map_err(perr)?;
        protocol::verify_worker_bundle(&bundle).map_err(perr)?;
        let describe = format!("{bundle:?}");
        Ok(Outgoing {
            msg: protocol::insert_worker_payload_msg(&self.wallet, bundle),
            describe,
        })
    }

    fn reputer_payload(
        &self,
        bundle: v9::InputValueBundle,
        nonce: i64,
    ) -> Result<Outgoing, SignError> {
        let signed = protocol::sign_value_bundle_at(&self.wallet, nonce, bundle).map_err(perr)?;
        protocol::verify_reputer_bundle(&signed).map_err(perr)?;
        let describe = format!("{signed:?}");
        Ok(Outgoing {
            msg: protocol::insert_reputer_payload_msg(&self.wallet, signed),
            describe,
        })
    }

    fn register(&self, topic_id: u64, role: Role) -> Outgoing {
        Outgoing {
            msg: protocol::register_msg(&self.wallet, topic_id, role == Role::Reputer),
            describe: format!(
                "RegisterRequest {{ sender: {a}, topic_id: {topic_id}, owner: {a}, is_reputer: {} }}",
                role == Role::Reputer,
                a = self.wallet.address()
            ),
        }
    }

    fn add_stake(&self, topic_id: u64, amount: u128) -> Outgoing {
        Outgoing {
            msg: protocol::add_stake_msg(&self.wallet, topic_id, amount),
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
