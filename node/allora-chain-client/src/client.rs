//! `ChainClient`: the queries an off-chain node needs (emissions v10, cosmos auth / bank /
//! tx / tendermint, feemarket), each with a per-call timeout and failover across the
//! endpoint pool. Answers ("topic not found") are returned as errors without failover;
//! transport failures move on to the next endpoint and force a re-dial of the failed one.
//! When no gRPC endpoint is reachable, every query is retried once over the CometBFT RPC
//! endpoints (`abci_query` by gRPC method path; `status` for chain id and height), so a
//! gRPC outage alone does not blind the node.

use std::future::Future;

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
use prost::Message;
use tonic::transport::Channel;

use super::ChainError;
use super::endpoints::{Endpoints, GrpcPool, is_transport_status};
use super::rpc::RpcClient;
use allora_protocol::proto::emissions::v9::Params;
use allora_protocol::proto::emissions::v10::{
    self, query_service_client::QueryServiceClient as Emissions,
};
use allora_protocol::proto::feemarket::v1::{
    GasPriceRequest, query_client::QueryClient as FeemarketClient,
};

/// Pause between failover rounds.
const ROUND_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

/// Account number and sequence (`AccountInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo {
    pub account_number: u64,
    pub sequence: u64,
}

/// Submission window status (`Get{Worker,Reputer}SubmissionWindowStatus`).
pub type WindowStatus = v10::GetWorkerSubmissionWindowStatusResponse;

/// Query client over a pool of gRPC endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ChainClient {
    pool: GrpcPool,
    rpc: RpcClient,
    endpoints: Endpoints,
}

fn parse_int(op: &'static str, s: &str) -> Result<u128, ChainError> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<u128>()
        .map_err(|_| ChainError::Decode(format!("{op}: {s:?} is not an integer amount")))
}

impl ChainClient {
    /// Builds the pool (no I/O yet; channels dial lazily). Logs a warning when only one
    /// endpoint of a kind is configured.
    pub fn new(endpoints: Endpoints) -> Result<ChainClient, ChainError> {
        for w in endpoints.warnings() {
            tracing::warn!(warning = %w, "endpoint configuration");
        }
        Ok(ChainClient {
            pool: GrpcPool::new(&endpoints)?,
            rpc: RpcClient::new(&endpoints.rpc, endpoints.call_timeout),
            endpoints,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn pool(&self) -> &GrpcPool {
        &self.pool
    }

    /// Runs `f` against the healthiest endpoint, failing over on transport errors.
    pub async fn call<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut last = String::from("no endpoint tried");
        // Two rounds: a blip that hits every endpoint once (restart, brief overload) is
        // absorbed; a persistent outage is reported after a bounded time.
        for round in 0..2 {
            if round > 0 {
                tokio::time::sleep(ROUND_BACKOFF).await;
            }
            if let Some(v) = self.call_round(op, &f, &mut last).await? {
                return Ok(v);
            }
        }
        Err(ChainError::Unreachable {
            op,
            tried: self.pool.len(),
            last,
        })
    }

    /// A query by gRPC method `path` (`/pkg.Service/Method`): gRPC with failover, then, only
    /// when every gRPC endpoint is unreachable, the same encoded request over CometBFT
    /// `abci_query`. Both paths return the same typed response and the same error kinds.
    pub async fn query<Req, Resp, F, Fut>(
        &self,
        op: &'static str,
        path: &'static str,
        req: Req,
        f: F,
    ) -> Result<Resp, ChainError>
    where
        Req: Message + Clone,
        Resp: Message + Default,
        F: Fn(Channel, Req) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        match self.call(op, |ch| f(ch, req.clone())).await {
            Err(e) if e.is_transport() && !self.rpc.is_empty() => {
                let bytes = self
                    .rpc
                    .abci_query(op, path, &req.encode_to_vec())
                    .await
                    .map_err(|r| both_unreachable(e, r))?;
                Resp::decode(bytes.as_slice())
                    .map_err(|err| ChainError::Decode(format!("{op}: abci_query response: {err}")))
            }
            r => r,
        }
    }

    /// Chain id and latest height from CometBFT `status`, for when gRPC is unreachable.
    async fn status_fallback(
        &self,
        op: &'static str,
        grpc: ChainError,
    ) -> Result<(String, i64), ChainError> {
        if !grpc.is_transport() || self.rpc.is_empty() {
            return Err(grpc);
        }
        self.rpc
            .status(op)
            .await
            .map_err(|r| both_unreachable(grpc, r))
    }

    async fn call_round<T, F, Fut>(
        &self,
        op: &'static str,
        f: &F,
        last: &mut String,
    ) -> Result<Option<T>, ChainError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        for i in self.pool.order() {
            let url = self.pool.url(i).to_owned();
            let ch = self.pool.channel(i)?;
            match tokio::time::timeout(self.pool.call_timeout(), f(ch)).await {
                Ok(Ok(resp)) => {
                    self.pool.mark_ok(i);
                    return Ok(Some(resp.into_inner()));
                }
                Ok(Err(status)) if is_transport_status(&status) => {
                    tracing::warn!(op, endpoint = %url, code = ?status.code(), error = %status.message(), "gRPC endpoint failed; trying the next one");
                    self.pool.mark_failed(i);
                    *last = format!("{url}: {}", status.message());
                }
                Ok(Err(status)) => {
                    self.pool.mark_ok(i);
                    return Err(ChainError::Status {
                        op,
                        endpoint: url,
                        code: status.code(),
                        message: status.message().to_owned(),
                    });
                }
                Err(_) => {
                    tracing::warn!(op, endpoint = %url, timeout_ms = self.pool.call_timeout().as_millis() as u64, "gRPC call timed out; re-dialing and trying the next endpoint");
                    self.pool.mark_failed(i);
                    *last = format!("{url}: timed out after {:?}", self.pool.call_timeout());
                }
            }
        }
        Ok(None)
    }

    // ---- cosmos ----

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
            Err(ChainError::Status { code, message, .. })
                if code == tonic::Code::NotFound || message.contains("not found") =>
            {
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
                tracing::warn!(error = %e, "gRPC broadcast failed everywhere; using CometBFT RPC broadcast_tx_sync");
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
            Err(ChainError::Status { code, message, .. })
                if code == tonic::Code::NotFound || message.contains("not found") =>
            {
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
                .and_then(|p| super::fees::parse_gas_price(&p.amount)),
            Err(e) => {
                tracing::debug!(error = %e, "feemarket gas price unavailable; using the static price");
                None
            }
        }
    }

    // ---- emissions v10 ----

    pub async fn params(&self) -> Result<Params, ChainError> {
        let r = self
            .query(
                "GetParams",
                methods::emissions::GET_PARAMS,
                v10::GetParamsRequest {},
                |ch, req| async move { Emissions::new(ch).get_params(req).await },
            )
            .await?;
        r.params
            .ok_or_else(|| ChainError::Decode("GetParams: no params".into()))
    }

    pub async fn topic(&self, topic_id: u64) -> Result<v10::Topic, ChainError> {
        let r = self
            .query(
                "GetTopic",
                methods::emissions::GET_TOPIC,
                v10::GetTopicRequest { topic_id },
                |ch, req| async move { Emissions::new(ch).get_topic(req).await },
            )
            .await?;
        r.topic.ok_or(ChainError::NotFound {
            what: format!("topic {topic_id}"),
        })
    }

    pub async fn is_worker_registered(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::IsWorkerRegisteredInTopicIdRequest {
            topic_id,
            address: address.to_owned(),
        };
        Ok(self
            .query(
                "IsWorkerRegisteredInTopicId",
                methods::emissions::IS_WORKER_REGISTERED_IN_TOPIC_ID,
                req,
                |ch, req| async move {
                    Emissions::new(ch)
                        .is_worker_registered_in_topic_id(req)
                        .await
                },
            )
            .await?
            .is_registered)
    }

    pub async fn is_reputer_registered(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::IsReputerRegisteredInTopicIdRequest {
            topic_id,
            address: address.to_owned(),
        };
        Ok(self
            .query(
                "IsReputerRegisteredInTopicId",
                methods::emissions::IS_REPUTER_REGISTERED_IN_TOPIC_ID,
                req,
                |ch, req| async move {
                    Emissions::new(ch)
                        .is_reputer_registered_in_topic_id(req)
                        .await
                },
            )
            .await?
            .is_registered)
    }

    pub async fn can_submit_worker(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::CanSubmitWorkerPayloadRequest {
            topic_id,
            address: address.to_owned(),
        };
        Ok(self
            .query(
                "CanSubmitWorkerPayload",
                methods::emissions::CAN_SUBMIT_WORKER_PAYLOAD,
                req,
                |ch, req| async move { Emissions::new(ch).can_submit_worker_payload(req).await },
            )
            .await?
            .can_submit_worker_payload)
    }

    pub async fn can_submit_reputer(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<bool, ChainError> {
        let req = v10::CanSubmitReputerPayloadRequest {
            topic_id,
            address: address.to_owned(),
        };
        Ok(self
            .query(
                "CanSubmitReputerPayload",
                methods::emissions::CAN_SUBMIT_REPUTER_PAYLOAD,
                req,
                |ch, req| async move { Emissions::new(ch).can_submit_reputer_payload(req).await },
            )
            .await?
            .can_submit_reputer_payload)
    }

    /// The reputer's own stake in the topic (uallo).
    pub async fn stake_in_self(&self, topic_id: u64, address: &str) -> Result<u128, ChainError> {
        let req = v10::GetStakeFromReputerInTopicInSelfRequest {
            reputer_address: address.to_owned(),
            topic_id,
        };
        let r = self
            .query(
                "GetStakeFromReputerInTopicInSelf",
                methods::emissions::GET_STAKE_FROM_REPUTER_IN_TOPIC_IN_SELF,
                req,
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_stake_from_reputer_in_topic_in_self(req)
                        .await
                },
            )
            .await?;
        parse_int("GetStakeFromReputerInTopicInSelf", &r.amount)
    }

    /// Self + delegated stake the chain compares with `required_minimum_stake` (uallo).
    pub async fn stake_authority(&self, topic_id: u64, address: &str) -> Result<u128, ChainError> {
        let req = v10::GetStakeReputerAuthorityRequest {
            topic_id,
            reputer: address.to_owned(),
        };
        let r = self
            .query(
                "GetStakeReputerAuthority",
                methods::emissions::GET_STAKE_REPUTER_AUTHORITY,
                req,
                |ch, req| async move { Emissions::new(ch).get_stake_reputer_authority(req).await },
            )
            .await?;
        parse_int("GetStakeReputerAuthority", &r.authority)
    }

    /// Nonce heights with an open worker window.
    pub async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .query(
                "GetOpenWorkerSubmissionWindows",
                methods::emissions::GET_OPEN_WORKER_SUBMISSION_WINDOWS,
                v10::GetOpenWorkerSubmissionWindowsRequest { topic_id },
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_open_worker_submission_windows(req)
                        .await
                },
            )
            .await?;
        Ok(r.nonces
            .map(|n| n.nonces.into_iter().map(|n| n.block_height).collect())
            .unwrap_or_default())
    }

    /// Nonce heights with an open reputer window.
    pub async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .query(
                "GetOpenReputerSubmissionWindows",
                methods::emissions::GET_OPEN_REPUTER_SUBMISSION_WINDOWS,
                v10::GetOpenReputerSubmissionWindowsRequest { topic_id },
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_open_reputer_submission_windows(req)
                        .await
                },
            )
            .await?;
        Ok(reputer_heights(r.nonces))
    }

    /// Unfulfilled worker nonce heights, newest first (as the chain lists them).
    pub async fn unfulfilled_worker_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .query(
                "GetUnfulfilledWorkerNonces",
                methods::emissions::GET_UNFULFILLED_WORKER_NONCES,
                v10::GetUnfulfilledWorkerNoncesRequest { topic_id },
                |ch, req| async move { Emissions::new(ch).get_unfulfilled_worker_nonces(req).await },
            )
            .await?;
        Ok(r.nonces
            .map(|n| n.nonces.into_iter().map(|n| n.block_height).collect())
            .unwrap_or_default())
    }

    /// Unfulfilled reputer nonce heights, newest first.
    pub async fn unfulfilled_reputer_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .query(
                "GetUnfulfilledReputerNonces",
                methods::emissions::GET_UNFULFILLED_REPUTER_NONCES,
                v10::GetUnfulfilledReputerNoncesRequest { topic_id },
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_unfulfilled_reputer_nonces(req)
                        .await
                },
            )
            .await?;
        Ok(reputer_heights(r.nonces))
    }

    pub async fn worker_window_status(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<WindowStatus, ChainError> {
        let req = v10::GetWorkerSubmissionWindowStatusRequest {
            topic_id,
            address: address.to_owned(),
        };
        self.query(
            "GetWorkerSubmissionWindowStatus",
            methods::emissions::GET_WORKER_SUBMISSION_WINDOW_STATUS,
            req,
            |ch, req| async move {
                Emissions::new(ch)
                    .get_worker_submission_window_status(req)
                    .await
            },
        )
        .await
    }

    pub async fn reputer_window_status(
        &self,
        topic_id: u64,
        address: &str,
    ) -> Result<WindowStatus, ChainError> {
        let req = v10::GetReputerSubmissionWindowStatusRequest {
            topic_id,
            address: address.to_owned(),
        };
        let r = self
            .query(
                "GetReputerSubmissionWindowStatus",
                methods::emissions::GET_REPUTER_SUBMISSION_WINDOW_STATUS,
                req,
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_reputer_submission_window_status(req)
                        .await
                },
            )
            .await?;
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

    /// The network values a reputer scores for nonce `nonce`.
    pub async fn network_inferences_at(
        &self,
        topic_id: u64,
        nonce: i64,
    ) -> Result<v10::NetworkInferenceBundle, ChainError> {
        let req = v10::GetNetworkInferencesAtBlockRequest {
            topic_id,
            block_height_last_inference: nonce,
        };
        let r = self
            .query(
                "GetNetworkInferencesAtBlock",
                methods::emissions::GET_NETWORK_INFERENCES_AT_BLOCK,
                req,
                |ch, req| async move {
                    Emissions::new(ch)
                        .get_network_inferences_at_block(req)
                        .await
                },
            )
            .await?;
        r.network_inferences.ok_or(ChainError::NotFound {
            what: format!("network inferences of topic {topic_id} at {nonce}"),
        })
    }

    /// Latest network inferences and the height they were computed at.
    pub async fn latest_network_inferences(
        &self,
        topic_id: u64,
    ) -> Result<v10::GetLatestNetworkInferencesResponse, ChainError> {
        self.query(
            "GetLatestNetworkInferences",
            methods::emissions::GET_LATEST_NETWORK_INFERENCES,
            v10::GetLatestNetworkInferencesRequest { topic_id },
            |ch, req| async move { Emissions::new(ch).get_latest_network_inferences(req).await },
        )
        .await
    }
}

/// When the RPC fallback is unreachable too, one error naming both attempts; otherwise the
/// fallback's own answer (e.g. "topic not found" over `abci_query`).
fn both_unreachable(grpc: ChainError, rpc: ChainError) -> ChainError {
    match (grpc, rpc) {
        (
            ChainError::Unreachable {
                op,
                tried: g,
                last: gl,
            },
            ChainError::Unreachable {
                tried: r, last: rl, ..
            },
        ) => ChainError::Unreachable {
            op,
            tried: g + r,
            last: format!("gRPC {gl}; CometBFT RPC {rl}"),
        },
        (_, rpc) => rpc,
    }
}

fn reputer_heights(
    n: Option<allora_protocol::proto::emissions::v3::ReputerRequestNonces>,
) -> Vec<i64> {
    n.map(|n| {
        n.nonces
            .into_iter()
            .filter_map(|r| r.reputer_nonce.map(|n| n.block_height))
            .collect()
    })
    .unwrap_or_default()
}
