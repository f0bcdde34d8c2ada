//! `ChainClient`: typed queries the node needs (emissions v10, auth, bank, tx, tendermint,
//! feemarket) over the failover pool in `endpoints`. Every error names the endpoint and the
//! gRPC method so a log line says where to look.

use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tm;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txs;
use tonic::transport::Channel;

use super::endpoints::{EndpointConfig, EndpointConfigError, Endpoints};
use super::fees;
use crate::proto::emissions::{v9, v10};
use crate::proto::feemarket::v1 as feemarket;

type Emissions = v10::query_service_client::QueryServiceClient<Channel>;

/// Largest response we accept (network inference bundles can be large).
const MAX_MSG_BYTES: usize = 32 * 1024 * 1024;

/// A failed chain query.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    /// No endpoint could be reached (all failed at the transport level or timed out).
    #[error(
        "{method} failed on {endpoint}: {message} (is the node reachable? check wallet.nodeGrpcs)"
    )]
    Transport {
        endpoint: String,
        method: &'static str,
        message: String,
    },
    /// The endpoint answered with an error status.
    #[error("{method} on {endpoint} returned {code:?}: {message}")]
    Status {
        endpoint: String,
        method: &'static str,
        code: tonic::Code,
        message: String,
    },
    /// The answer lacked a field or had an unparsable value.
    #[error("{method}: unexpected response: {detail}")]
    BadResponse {
        method: &'static str,
        detail: String,
    },
    /// The node serves another chain than configured.
    #[error(
        "chain-id mismatch: wallet.chainId is {expected:?} but {endpoint} serves {actual:?}; fix wallet.chainId or the endpoint list"
    )]
    ChainIdMismatch {
        expected: String,
        actual: String,
        endpoint: String,
    },
    #[error(transparent)]
    Config(#[from] EndpointConfigError),
}

impl ChainError {
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ChainError::Status {
                code: tonic::Code::NotFound,
                ..
            }
        )
    }
    pub fn is_transport(&self) -> bool {
        matches!(self, ChainError::Transport { .. })
    }
    /// The status message (or the transport message).
    pub fn message(&self) -> String {
        match self {
            ChainError::Transport { message, .. } | ChainError::Status { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        }
    }
}

fn bad(method: &'static str, detail: impl Into<String>) -> ChainError {
    ChainError::BadResponse {
        method,
        detail: detail.into(),
    }
}

fn parse_int(method: &'static str, s: &str) -> Result<u128, ChainError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse()
        .map_err(|_| bad(method, format!("amount {s:?} is not an integer")))
}

/// Worker/reputer submission window status (v10 `Get*SubmissionWindowStatus`).
pub type WindowStatus = v10::GetWorkerSubmissionWindowStatusResponse;

/// Query client over all configured endpoints (cheap to clone).
#[derive(Debug, Clone)]
pub struct ChainClient {
    endpoints: Endpoints,
}

macro_rules! emissions_call {
    ($self:ident, $name:literal, $method:ident, $req:expr) => {{
        let req = $req;
        $self
            .endpoints
            .call($name, move |ch| {
                let req = req.clone();
                async move { emissions(ch).$method(req).await }
            })
            .await
    }};
}

fn emissions(ch: Channel) -> Emissions {
    Emissions::new(ch).max_decoding_message_size(MAX_MSG_BYTES)
}

impl ChainClient {
    pub fn new(cfg: &EndpointConfig) -> Result<ChainClient, ChainError> {
        Ok(ChainClient {
            endpoints: Endpoints::new(cfg)?,
        })
    }

    pub fn from_endpoints(endpoints: Endpoints) -> ChainClient {
        ChainClient { endpoints }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    // ---- cosmos ----

    /// Chain id served by the node (`GetNodeInfo.default_node_info.network`).
    pub async fn chain_id(&self) -> Result<String, ChainError> {
        let r = self
            .endpoints
            .call(
                "cosmos.base.tendermint.v1beta1.Service/GetNodeInfo",
                |ch| async move {
                    tm::service_client::ServiceClient::new(ch)
                        .get_node_info(tm::GetNodeInfoRequest {})
                        .await
                },
            )
            .await?;
        r.default_node_info
            .map(|i| i.network)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("GetNodeInfo", "no default_node_info.network"))
    }

    /// Startup check: the node's chain id must equal the configured one.
    pub async fn check_chain_id(&self, expected: &str) -> Result<(), ChainError> {
        let actual = self.chain_id().await?;
        if actual != expected {
            let endpoint = self
                .endpoints
                .health()
                .into_iter()
                .find(|h| h.kind == "grpc" && h.healthy)
                .map(|h| h.url)
                .unwrap_or_default();
            return Err(ChainError::ChainIdMismatch {
                expected: expected.to_string(),
                actual,
                endpoint,
            });
        }
        Ok(())
    }

    /// Height of the latest committed block.
    pub async fn latest_height(&self) -> Result<i64, ChainError> {
        let r = self
            .endpoints
            .call(
                "cosmos.base.tendermint.v1beta1.Service/GetLatestBlock",
                |ch| async move {
                    tm::service_client::ServiceClient::new(ch)
                        .max_decoding_message_size(MAX_MSG_BYTES)
                        .get_latest_block(tm::GetLatestBlockRequest {})
                        .await
                },
            )
            .await?;
        #[allow(deprecated)]
        let from_block = r.block.and_then(|b| b.header).map(|h| h.height);
        let from_sdk = r.sdk_block.and_then(|b| b.header).map(|h| h.height);
        from_sdk
            .or(from_block)
            .ok_or_else(|| bad("GetLatestBlock", "no block header"))
    }

    /// `(account_number, sequence)` via `AccountInfo`.
    pub async fn account(&self, address: &str) -> Result<(u64, u64), ChainError> {
        let req = auth::QueryAccountInfoRequest {
            address: address.to_string(),
        };
        let r = self
            .endpoints
            .call("cosmos.auth.v1beta1.Query/AccountInfo", move |ch| {
                let req = req.clone();
                async move {
                    auth::query_client::QueryClient::new(ch)
                        .account_info(req)
                        .await
                }
            })
            .await?;
        let info = r
            .info
            .ok_or_else(|| bad("AccountInfo", "no account info"))?;
        Ok((info.account_number, info.sequence))
    }

    /// Spendable `uallo` balance.
    pub async fn balance(&self, address: &str) -> Result<u128, ChainError> {
        let req = bank::QueryBalanceRequest {
            address: address.to_string(),
            denom: "uallo".to_string(),
        };
        let r = self
            .endpoints
            .call("cosmos.bank.v1beta1.Query/Balance", move |ch| {
                let req = req.clone();
                async move { bank::query_client::QueryClient::new(ch).balance(req).await }
            })
            .await?;
        match r.balance {
            Some(c) => parse_int("Balance", &c.amount),
            None => Ok(0),
        }
    }

    /// feemarket `GasPrice(denom)` in units per gas.
    pub async fn gas_price(&self, denom: &str) -> Result<f64, ChainError> {
        let req = feemarket::GasPriceRequest {
            denom: denom.to_string(),
        };
        let r = self
            .endpoints
            .call("feemarket.feemarket.v1.Query/GasPrice", move |ch| {
                let req = req.clone();
                async move {
                    feemarket::query_client::QueryClient::new(ch)
                        .gas_price(req)
                        .await
                }
            })
            .await?;
        let amount = r
            .price
            .map(|p| p.amount)
            .ok_or_else(|| bad("GasPrice", "no price"))?;
        fees::parse_gas_price(&amount).map_err(|e| bad("GasPrice", e.to_string()))
    }

    /// `Simulate` → gas used. Errors carry the chain's log text (classify with
    /// `errors::classify_message`).
    pub async fn simulate(&self, tx_bytes: Vec<u8>) -> Result<u64, ChainError> {
        #[allow(deprecated)]
        let req = txs::SimulateRequest { tx: None, tx_bytes };
        let r = self
            .endpoints
            .call("cosmos.tx.v1beta1.Service/Simulate", move |ch| {
                let req = req.clone();
                async move {
                    txs::service_client::ServiceClient::new(ch)
                        .simulate(req)
                        .await
                }
            })
            .await?;
        r.gas_info
            .map(|g| g.gas_used)
            .ok_or_else(|| bad("Simulate", "no gas_info"))
    }

    /// `BroadcastTx` in SYNC mode → the CheckTx response.
    pub async fn broadcast_sync(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError> {
        let req = txs::BroadcastTxRequest {
            tx_bytes,
            mode: txs::BroadcastMode::Sync as i32,
        };
        let r = self
            .endpoints
            .call("cosmos.tx.v1beta1.Service/BroadcastTx", move |ch| {
                let req = req.clone();
                async move {
                    txs::service_client::ServiceClient::new(ch)
                        .broadcast_tx(req)
                        .await
                }
            })
            .await?;
        r.tx_response
            .ok_or_else(|| bad("BroadcastTx", "no tx_response"))
    }

    /// `GetTx` by hash: `Ok(None)` while the tx is not in a block.
    pub async fn get_tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        let req = txs::GetTxRequest {
            hash: hash.to_string(),
        };
        let r = self
            .endpoints
            .call("cosmos.tx.v1beta1.Service/GetTx", move |ch| {
                let req = req.clone();
                async move {
                    txs::service_client::ServiceClient::new(ch)
                        .max_decoding_message_size(MAX_MSG_BYTES)
                        .get_tx(req)
                        .await
                }
            })
            .await;
        match r {
            Ok(r) => Ok(r.tx_response),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---- emissions v10 ----

    pub async fn params(&self) -> Result<v9::Params, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetParams",
            get_params,
            v10::GetParamsRequest {}
        )?;
        r.params.ok_or_else(|| bad("GetParams", "no params"))
    }

    pub async fn topic(&self, topic_id: u64) -> Result<v10::Topic, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetTopic",
            get_topic,
            v10::GetTopicRequest { topic_id }
        )?;
        r.topic.ok_or_else(|| bad("GetTopic", "no topic"))
    }

    pub async fn is_worker_registered(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::IsWorkerRegisteredInTopicIdRequest {
            topic_id,
            address: address.to_string(),
        };
        Ok(emissions_call!(
            self,
            "emissions.v10.QueryService/IsWorkerRegisteredInTopicId",
            is_worker_registered_in_topic_id,
            req
        )?
        .is_registered)
    }

    pub async fn is_reputer_registered(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::IsReputerRegisteredInTopicIdRequest {
            topic_id,
            address: address.to_string(),
        };
        Ok(emissions_call!(
            self,
            "emissions.v10.QueryService/IsReputerRegisteredInTopicId",
            is_reputer_registered_in_topic_id,
            req
        )?
        .is_registered)
    }

    pub async fn can_submit_worker(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::CanSubmitWorkerPayloadRequest {
            topic_id,
            address: address.to_string(),
        };
        Ok(emissions_call!(
            self,
            "emissions.v10.QueryService/CanSubmitWorkerPayload",
            can_submit_worker_payload,
            req
        )?
        .can_submit_worker_payload)
    }

    pub async fn can_submit_reputer(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::CanSubmitReputerPayloadRequest {
            topic_id,
            address: address.to_string(),
        };
        Ok(emissions_call!(
            self,
            "emissions.v10.QueryService/CanSubmitReputerPayload",
            can_submit_reputer_payload,
            req
        )?
        .can_submit_reputer_payload)
    }

    /// The reputer's own stake in the topic (uallo).
    pub async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, ChainError> {
        let req = v10::GetStakeFromReputerInTopicInSelfRequest {
            reputer_address: address.to_string(),
            topic_id,
        };
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetStakeFromReputerInTopicInSelf",
            get_stake_from_reputer_in_topic_in_self,
            req
        )?;
        parse_int("GetStakeFromReputerInTopicInSelf", &r.amount)
    }

    /// The stake the chain checks against `required_minimum_stake` (uallo).
    pub async fn stake_authority(&self, topic_id: u64, address: &str) -> Result<u128, ChainError> {
        let req = v10::GetStakeReputerAuthorityRequest {
            topic_id,
            reputer: address.to_string(),
        };
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetStakeReputerAuthority",
            get_stake_reputer_authority,
            req
        )?;
        parse_int("GetStakeReputerAuthority", &r.authority)
    }

    /// Nonce heights of the open worker windows.
    pub async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetOpenWorkerSubmissionWindows",
            get_open_worker_submission_windows,
            v10::GetOpenWorkerSubmissionWindowsRequest { topic_id }
        )?;
        Ok(nonces(r.nonces))
    }

    /// Nonce heights of the open reputer windows.
    pub async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetOpenReputerSubmissionWindows",
            get_open_reputer_submission_windows,
            v10::GetOpenReputerSubmissionWindowsRequest { topic_id }
        )?;
        Ok(reputer_nonces(r.nonces))
    }

    /// Unfulfilled worker nonce heights, newest first (chain order).
    pub async fn unfulfilled_worker_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetUnfulfilledWorkerNonces",
            get_unfulfilled_worker_nonces,
            v10::GetUnfulfilledWorkerNoncesRequest { topic_id }
        )?;
        Ok(nonces(r.nonces))
    }

    /// Unfulfilled reputer nonce heights, newest first (chain order).
    pub async fn unfulfilled_reputer_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetUnfulfilledReputerNonces",
            get_unfulfilled_reputer_nonces,
            v10::GetUnfulfilledReputerNoncesRequest { topic_id }
        )?;
        Ok(reputer_nonces(r.nonces))
    }

    pub async fn worker_window_status(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<WindowStatus, ChainError> {
        let req = v10::GetWorkerSubmissionWindowStatusRequest {
            topic_id,
            address: address.to_string(),
        };
        emissions_call!(
            self,
            "emissions.v10.QueryService/GetWorkerSubmissionWindowStatus",
            get_worker_submission_window_status,
            req
        )
    }

    pub async fn reputer_window_status(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<WindowStatus, ChainError> {
        let req = v10::GetReputerSubmissionWindowStatusRequest {
            topic_id,
            address: address.to_string(),
        };
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetReputerSubmissionWindowStatus",
            get_reputer_submission_window_status,
            req
        )?;
        Ok(WindowStatus {
            is_open: r.is_open,
            current_nonce_block_height: r.current_nonce_block_height,
            window_start_block: r.window_start_block,
            window_end_block: r.window_end_block,
            next_window_start_block: r.next_window_start_block,
            next_window_end_block: r.next_window_end_block,
            is_registered: r.is_registered,
            is_whitelisted: r.is_whitelisted,
            is_topic_active: r.is_topic_active,
        })
    }

    /// Network inferences the reputer scores for nonce `nonce`.
    pub async fn network_inferences_at(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<v10::NetworkInferenceBundle, ChainError> {
        let req = v10::GetNetworkInferencesAtBlockRequest {
            topic_id,
            block_height_last_inference: nonce,
        };
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetNetworkInferencesAtBlock",
            get_network_inferences_at_block,
            req
        )?;
        r.network_inferences
            .ok_or_else(|| bad("GetNetworkInferencesAtBlock", "no network_inferences"))
    }

    /// Latest network inferences and the nonce they belong to.
    pub async fn latest_network_inferences(
        &self,
        topic_id: u64,
    ) -> Result<(v10::NetworkInferenceBundle, i64), ChainError> {
        let r = emissions_call!(
            self,
            "emissions.v10.QueryService/GetLatestNetworkInferences",
            get_latest_network_inferences,
            v10::GetLatestNetworkInferencesRequest { topic_id }
        )?;
        let b = r
            .network_inferences
            .ok_or_else(|| bad("GetLatestNetworkInferences", "no network_inferences"))?;
        Ok((b, r.inference_block_height))
    }
}

fn nonces(n: Option<crate::proto::emissions::v3::Nonces>) -> Vec<i64> {
    n.map(|n| n.nonces.into_iter().map(|x| x.block_height).collect())
        .unwrap_or_default()
}

fn reputer_nonces(n: Option<crate::proto::emissions::v3::ReputerRequestNonces>) -> Vec<i64> {
    n.map(|n| {
        n.nonces
            .into_iter()
            .filter_map(|r| r.reputer_nonce.map(|x| x.block_height))
            .collect()
    })
    .unwrap_or_default()
}
