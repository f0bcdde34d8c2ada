//! What the tx actor needs from the chain, as a trait: the actor's state machine (sequence,
//! fees, batching, confirmation) is then tested against an in-memory fake, and
//! [`ChainClient`] is the production implementation.

use async_trait::async_trait;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;

use crate::{AccountInfo, ChainClient, ChainError};

/// The chain as the tx actor sees it.
#[async_trait]
pub trait TxChain: Send + Sync + 'static {
    /// Height of the latest committed block.
    async fn latest_height(&self) -> Result<i64, ChainError>;
    /// Account number and sequence; [`ChainError::AccountNotFound`] when never funded.
    async fn account(&self, address: &str) -> Result<AccountInfo, ChainError>;
    /// Gas used by a signed tx; a refusal is a [`ChainError::Status`].
    async fn simulate(&self, tx_bytes: Vec<u8>) -> Result<u64, ChainError>;
    /// Broadcast (sync): the CheckTx result.
    async fn broadcast(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError>;
    /// The included tx, `None` while it is not in a block.
    async fn get_tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError>;
    /// Feemarket gas price; `None` when not served.
    async fn gas_price(&self, denom: &str) -> Option<f64>;
    /// Transport failures recorded so far. A broadcast during which this grew may have
    /// reached a mempool through the endpoint that failed.
    fn transport_failures(&self) -> u64;
}

#[async_trait]
impl TxChain for ChainClient {
    async fn latest_height(&self) -> Result<i64, ChainError> {
        ChainClient::latest_height(self).await
    }

    async fn account(&self, address: &str) -> Result<AccountInfo, ChainError> {
        ChainClient::account(self, address).await
    }

    async fn simulate(&self, tx_bytes: Vec<u8>) -> Result<u64, ChainError> {
        ChainClient::simulate(self, tx_bytes).await
    }

    async fn broadcast(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError> {
        ChainClient::broadcast(self, tx_bytes).await
    }

    async fn get_tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        ChainClient::get_tx(self, hash).await
    }

    async fn gas_price(&self, denom: &str) -> Option<f64> {
        ChainClient::gas_price(self, denom).await
    }

    fn transport_failures(&self) -> u64 {
        self.pool().health().iter().map(|h| h.failures).sum()
    }
}
