//! Typed emissions queries (params, topics, registration, stake, windows, nonces, network
//! inferences) under the client's [`EmissionsVersion`]. Each names a
//! [`Query`]; the version gives its path from the shared [`allora_protocol::methods`] table,
//! so the `abci_query` fallback and the devnet's router cannot drift apart; transport,
//! failover and fallback are `transport`'s.
//!
//! Requests (and the params, nonce, window-status and stake answers) have the same field
//! numbers in v9 and v10, so they are built with one set of types (the v10 ones). Topics and
//! network inferences differ: they are decoded with the version's own type and returned in
//! the protocol crate's neutral forms ([`TopicFacts`], [`NetworkValues`]).

use allora_protocol::EmissionsVersion;
use allora_protocol::emissions::{NetworkValues, TopicFacts, from_v3, from_v10};
use allora_protocol::methods::emissions::Query;
use allora_protocol::proto::emissions::v9::{self, Params};
use allora_protocol::proto::emissions::v10;

use super::transport::unary;
use super::{ChainClient, WindowStatus, parse_int, reputer_heights};
use crate::ChainError;

impl ChainClient {
    /// An emissions query under the client's version, over gRPC (failover) or `abci_query`.
    async fn equery<Req, Resp>(&self, q: Query, req: Req) -> Result<Resp, ChainError>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let path = q.path(self.version());
        self.query(q.name(), path, req, move |ch, req| unary(ch, path, req))
            .await
    }

    pub async fn params(&self) -> Result<Params, ChainError> {
        let r = self
            .equery::<_, v10::GetParamsResponse>(Query::GetParams, v10::GetParamsRequest {})
            .await?;
        r.params
            .ok_or_else(|| ChainError::Decode("GetParams: no params".into()))
    }

    pub async fn topic(&self, topic_id: u64) -> Result<TopicFacts, ChainError> {
        let req = v10::GetTopicRequest { topic_id };
        let topic = match self.version() {
            EmissionsVersion::V9 => self
                .equery::<_, v9::GetTopicResponse>(Query::GetTopic, req)
                .await?
                .topic
                .map(TopicFacts::from),
            EmissionsVersion::V10 => self
                .equery::<_, v10::GetTopicResponse>(Query::GetTopic, req)
                .await?
                .topic
                .map(TopicFacts::from),
        };
        topic.ok_or(ChainError::NotFound {
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
            .equery::<_, v10::IsWorkerRegisteredInTopicIdResponse>(
                Query::IsWorkerRegisteredInTopicId,
                req,
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
            .equery::<_, v10::IsReputerRegisteredInTopicIdResponse>(
                Query::IsReputerRegisteredInTopicId,
                req,
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
            .equery::<_, v10::CanSubmitWorkerPayloadResponse>(Query::CanSubmitWorkerPayload, req)
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
            .equery::<_, v10::CanSubmitReputerPayloadResponse>(Query::CanSubmitReputerPayload, req)
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
            .equery::<_, v10::GetStakeFromReputerInTopicInSelfResponse>(
                Query::GetStakeFromReputerInTopicInSelf,
                req,
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
            .equery::<_, v10::GetStakeReputerAuthorityResponse>(
                Query::GetStakeReputerAuthority,
                req,
            )
            .await?;
        parse_int("GetStakeReputerAuthority", &r.authority)
    }

    /// Nonce heights with an open worker window.
    pub async fn open_worker_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .equery::<_, v10::GetOpenWorkerSubmissionWindowsResponse>(
                Query::GetOpenWorkerSubmissionWindows,
                v10::GetOpenWorkerSubmissionWindowsRequest { topic_id },
            )
            .await?;
        Ok(r.nonces
            .map(|n| n.nonces.into_iter().map(|n| n.block_height).collect())
            .unwrap_or_default())
    }

    /// Nonce heights with an open reputer window.
    pub async fn open_reputer_windows(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .equery::<_, v10::GetOpenReputerSubmissionWindowsResponse>(
                Query::GetOpenReputerSubmissionWindows,
                v10::GetOpenReputerSubmissionWindowsRequest { topic_id },
            )
            .await?;
        Ok(reputer_heights(r.nonces))
    }

    /// Unfulfilled worker nonce heights, newest first (as the chain lists them).
    pub async fn unfulfilled_worker_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .equery::<_, v10::GetUnfulfilledWorkerNoncesResponse>(
                Query::GetUnfulfilledWorkerNonces,
                v10::GetUnfulfilledWorkerNoncesRequest { topic_id },
            )
            .await?;
        Ok(r.nonces
            .map(|n| n.nonces.into_iter().map(|n| n.block_height).collect())
            .unwrap_or_default())
    }

    /// Unfulfilled reputer nonce heights, newest first.
    pub async fn unfulfilled_reputer_nonces(&self, topic_id: u64) -> Result<Vec<i64>, ChainError> {
        let r = self
            .equery::<_, v10::GetUnfulfilledReputerNoncesResponse>(
                Query::GetUnfulfilledReputerNonces,
                v10::GetUnfulfilledReputerNoncesRequest { topic_id },
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
        self.equery::<_, v10::GetWorkerSubmissionWindowStatusResponse>(
            Query::GetWorkerSubmissionWindowStatus,
            req,
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
            .equery::<_, v10::GetReputerSubmissionWindowStatusResponse>(
                Query::GetReputerSubmissionWindowStatus,
                req,
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
    ) -> Result<NetworkValues, ChainError> {
        let req = v10::GetNetworkInferencesAtBlockRequest {
            topic_id,
            block_height_last_inference: nonce,
        };
        let q = Query::GetNetworkInferencesAtBlock;
        let values = match self.version() {
            EmissionsVersion::V9 => self
                .equery::<_, v9::GetNetworkInferencesAtBlockResponse>(q, req)
                .await?
                .network_inferences
                .map(from_v3),
            EmissionsVersion::V10 => self
                .equery::<_, v10::GetNetworkInferencesAtBlockResponse>(q, req)
                .await?
                .network_inferences
                .map(|b| from_v10(&b)),
        };
        values.ok_or(ChainError::NotFound {
            what: format!("network inferences of topic {topic_id} at {nonce}"),
        })
    }

    /// Latest network inferences and the height they were computed at (`None`: none yet).
    pub async fn latest_network_inferences(
        &self,
        topic_id: u64,
    ) -> Result<(Option<NetworkValues>, i64), ChainError> {
        let req = v10::GetLatestNetworkInferencesRequest { topic_id };
        let q = Query::GetLatestNetworkInferences;
        Ok(match self.version() {
            EmissionsVersion::V9 => {
                let r: v9::GetLatestNetworkInferencesResponse = self.equery(q, req).await?;
                (r.network_inferences.map(from_v3), r.inference_block_height)
            }
            EmissionsVersion::V10 => {
                let r: v10::GetLatestNetworkInferencesResponse = self.equery(q, req).await?;
                (
                    r.network_inferences.map(|b| from_v10(&b)),
                    r.inference_block_height,
                )
            }
        })
    }
}
