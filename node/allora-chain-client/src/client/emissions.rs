//! Typed emissions v10 queries (params, topics, registration, stake, windows, nonces,
//! network inferences). Each names its gRPC method path from the shared
//! [`allora_protocol::methods`] table, so the `abci_query` fallback and the devnet's router
//! cannot drift apart; transport, failover and fallback are `transport`'s.

use allora_protocol::methods;
use allora_protocol::proto::emissions::v9::Params;
use allora_protocol::proto::emissions::v10::{
    self, query_service_client::QueryServiceClient as Emissions,
};

use super::{ChainClient, WindowStatus, parse_int, reputer_heights};
use crate::ChainError;

impl ChainClient {
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
