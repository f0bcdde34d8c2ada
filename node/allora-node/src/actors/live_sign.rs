//! [`SignPort`] with the node's wallet: `protocol` builds and signs the version-specific
//! bundles and messages, and every bundle is verified locally exactly as the chain (and the
//! devnet) will verify it before it is handed to the tx actor — a bundle the chain would
//! reject never costs a fee.

use allora_chain_client::keys::Wallet;
use allora_protocol as protocol;
use allora_protocol::proto::emissions::v9;

use super::ports::{Outgoing, PortError, Role, SignPort};

/// Signs with one wallet. The wallet never leaves this struct (Debug is redacted by `keys`).
pub struct WalletSigner {
    wallet: Wallet,
}

impl WalletSigner {
    pub fn new(wallet: Wallet) -> Self {
        Self { wallet }
    }
}

fn perr(e: protocol::ProtocolError) -> PortError {
    PortError::new("invalid_payload", e.to_string())
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
    ) -> Result<Outgoing, PortError> {
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
    ) -> Result<Outgoing, PortError> {
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
