//! Typed cosmos-sdk queries and tx calls (tendermint, auth, bank, tx, feemarket): chain id,
//! height, account sequence, balances, simulate, broadcast, tx lookup and gas price. The
//! broadcast and tx lookup have CometBFT RPC twins used when every gRPC endpoint is down.

use allora_protocol::methods;
use cosmos_sdk_proto::cosmos::auth::v1beta1::{
    QueryAccountInfoRequest, query_client::QueryClient as AuthClient,
};
use cosmos_sdk_proto::cosmos::bank::v1beta1::{
    QueryBalanceRequest, query_client::QueryClient as BankClient,
};
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::{
    GetLatestBlockRequest, GetNodeInfoRequest, service_client::ServiceClient as TmClient,
};
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    BroadcastMode, BroadcastTxRequest, GetTxRequest, SimulateRequest,
    service_client::ServiceClient as TxClient,
};

use allora_protocol::proto::feemarket::v1::{
    GasPriceRequest, query_client::QueryClient as FeemarketClient,
};

use super::transport::both_unreachable;
use super::{AccountInfo, ChainClient, parse_int};
use crate::ChainError;
use crate::errors::is_not_found;

impl ChainClient {
    /// The node's chain id (`GetNodeInfo().default_node_info.network`).
    pub async fn chain_id(&self) -> Result<String, ChainError> {
        let r = self
            .call("GetNodeInfo", |ch| async move {
                TmClient::new(ch).get_node_info(GetNodeInfoRequest {}).await
            })
            .await;
        match r {
            Ok(r) => r
                .default_node_info
                .map(|n| n.network)
                .ok_or_else(|| ChainError::Decode("GetNodeInfo: no default_node_info".into())),
            Err(e) => Ok(self.status_fallback("GetNodeInfo", e).await?.0),
        }
    }

    /// Fails with a clear error when the node serves another chain than configured.
    pub async fn check_chain_id(&self, expected: &str) -> Result<(), ChainError> {
        let actual = self.chain_id().await?;
        if actual == expected {
            Ok(())
        } else {
            Err(ChainError::ChainIdMismatch {
                expected: expected.to_owned(),
                actual,
            })
        }
    }

    /// Height of the latest committed block.
    pub async fn latest_height(&self) -> Result<i64, ChainError> {
        let r = match self
            .call("GetLatestBlock", |ch| async move {
                TmClient::new(ch)
                    .get_latest_block(GetLatestBlockRequest {})
                    .await
            })
            .await
        {
            Ok(r) => r,
            Err(e) => return Ok(self.status_fallback("GetLatestBlock", e).await?.1),
        };
        if let Some(h) = r
            .sdk_block
            .as_ref()
            .and_then(|b| b.header.as_ref())
            .map(|h| h.height)
        {
            return Ok(h);
        }
        #[allow(deprecated)]
        r.block
            .and_then(|b| b.header)
            .map(|h| h.height)
            .ok_or_else(|| ChainError::Decode("GetLatestBlock: no header".into()))
    }

    /// Account number and sequence; `AccountNotFound` when the account has no state yet
    /// (never funded).
    pub async fn account(&self, address: &str) -> Result<AccountInfo, ChainError> {
        let req = QueryAccountInfoRequest {
            address: address.to_owned(),
        };
        let r = self
            .query(
                "AccountInfo",
                methods::auth::ACCOUNT_INFO,
                req,
                |ch, req| async move { AuthClient::new(ch).account_info(req).await },
            )
            .await;
        match r {
            Ok(resp) => resp
                .info
                .map(|a| AccountInfo {
                    account_number: a.account_number,
                    sequence: a.sequence,
                })
                .ok_or_else(|| ChainError::AccountNotFound(address.to_owned())),
            Err(ChainError::Status { code, message, .. }) if is_not_found(code, &message) => {
                Err(ChainError::AccountNotFound(address.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// Bank balance in `denom` (e.g. `uallo`).
    pub async fn balance_of(&self, address: &str, denom: &str) -> Result<u128, ChainError> {
        let req = QueryBalanceRequest {
            address: address.to_owned(),
            denom: denom.to_owned(),
        };
        let r = self
            .query(
                "Balance",
                methods::bank::BALANCE,
                req,
                |ch, req| async move { BankClient::new(ch).balance(req).await },
            )
            .await?;
        parse_int("Balance", &r.balance.map(|c| c.amount).unwrap_or_default())
    }

    /// `uallo` balance.
    pub async fn balance(&self, address: &str) -> Result<u128, ChainError> {
        self.balance_of(address, "uallo").await
    }

    /// Simulates a signed tx; returns gas used.
    pub async fn simulate(&self, tx_bytes: Vec<u8>) -> Result<u64, ChainError> {
        #[allow(deprecated)]
        let req = SimulateRequest { tx: None, tx_bytes };
        let r = self
            .query(
                "Simulate",
                methods::tx::SIMULATE,
                req,
                |ch, req| async move { TxClient::new(ch).simulate(req).await },
            )
            .await?;
        r.gas_info
            .map(|g| g.gas_used)
            .ok_or_else(|| ChainError::Decode("Simulate: no gas_info".into()))
    }

    /// Broadcasts in SYNC mode; the response carries the CheckTx result. Falls back to
    /// CometBFT `broadcast_tx_sync` when no gRPC endpoint is reachable.
    pub async fn broadcast(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError> {
        match self.broadcast_grpc(tx_bytes.clone()).await {
            Err(e) if e.is_transport() && !self.rpc.is_empty() => {
                crate::rpc::fallback_log!(self.rpc.is_primary(), error = %e, "gRPC broadcast failed everywhere; using CometBFT RPC broadcast_tx_sync");
                self.rpc
                    .broadcast_tx_sync(&tx_bytes)
                    .await
                    .map_err(|r| both_unreachable(e, r))
            }
            r => r,
        }
    }

    async fn broadcast_grpc(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError> {
        let r = self
            .call("BroadcastTx", |ch| {
                let req = BroadcastTxRequest {
                    tx_bytes: tx_bytes.clone(),
                    mode: BroadcastMode::Sync as i32,
                };
                async move { TxClient::new(ch).broadcast_tx(req).await }
            })
            .await?;
        r.tx_response
            .ok_or_else(|| ChainError::Decode("BroadcastTx: no tx_response".into()))
    }

    /// The included tx with this hash, or `None` while it is not (yet) in a block. Falls
    /// back to CometBFT `tx` when no gRPC endpoint is reachable.
    pub async fn get_tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        match self.get_tx_grpc(hash).await {
            Err(e) if e.is_transport() && !self.rpc.is_empty() => {
                self.rpc.tx(hash).await.map_err(|r| both_unreachable(e, r))
            }
            r => r,
        }
    }

    async fn get_tx_grpc(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        let h = hash.to_owned();
        let r = self
            .call("GetTx", |ch| {
                let req = GetTxRequest { hash: h.clone() };
                async move { TxClient::new(ch).get_tx(req).await }
            })
            .await;
        match r {
            Ok(resp) => Ok(resp.tx_response),
            Err(ChainError::Status { code, message, .. }) if is_not_found(code, &message) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Feemarket gas price (denom per gas); `None` when the query is not served or fails
    /// (the caller falls back to the static price).
    pub async fn gas_price(&self, denom: &str) -> Option<f64> {
        let req = GasPriceRequest {
            denom: denom.to_owned(),
        };
        let r = self
            .query(
                "GasPrice",
                methods::feemarket::GAS_PRICE,
                req,
                |ch, req| async move { FeemarketClient::new(ch).gas_price(req).await },
            )
            .await;
        match r {
            Ok(resp) => resp
                .price
                .and_then(|p| crate::fees::parse_gas_price(&p.amount)),
            Err(e) => {
                tracing::debug!(error = %e, "feemarket gas price unavailable; using the static price");
                None
            }
        }
    }
}
