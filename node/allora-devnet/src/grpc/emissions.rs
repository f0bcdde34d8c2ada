//! `emissions.v10.QueryService`: params, topics, registrations, whitelists, nonces and
//! windows, stakes and network inferences, read from the committed state.

use tonic::{Request, Status};

use allora_protocol::proto::emissions::{v3, v10};
use v10::query_service_server::QueryService;

use super::{R, Services, ok, topic_missing};
use crate::lifecycle;

#[tonic::async_trait]
impl QueryService for Services {
    async fn get_params(&self, _r: Request<v10::GetParamsRequest>) -> R<v10::GetParamsResponse> {
        self.guard().await?;
        ok(v10::GetParamsResponse {
            params: Some(self.with_state(|s| s.params_proto())),
        })
    }

    async fn get_topic(&self, r: Request<v10::GetTopicRequest>) -> R<v10::GetTopicResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        self.with_state(|s| {
            let t = s.topics.get(&id).ok_or_else(|| topic_missing(id))?;
            ok(v10::GetTopicResponse {
                topic: Some(t.topic.clone()),
                weight: "0".to_string(),
                effective_revenue: t.revenue.to_string(),
                topic_stake: t.total_stake().to_string(),
            })
        })
    }

    async fn topic_exists(
        &self,
        r: Request<v10::TopicExistsRequest>,
    ) -> R<v10::TopicExistsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::TopicExistsResponse {
            exists: self.with_state(|s| s.topics.contains_key(&id)),
        })
    }

    async fn is_topic_active(
        &self,
        r: Request<v10::IsTopicActiveRequest>,
    ) -> R<v10::IsTopicActiveResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::IsTopicActiveResponse {
            is_active: self.with_state(|s| s.topics.get(&id).is_some_and(|t| t.active)),
        })
    }

    async fn get_next_churning_block_by_topic_id(
        &self,
        r: Request<v10::GetNextChurningBlockByTopicIdRequest>,
    ) -> R<v10::GetNextChurningBlockByTopicIdResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        ok(v10::GetNextChurningBlockByTopicIdResponse {
            block_height: self.with_state(|s| s.topics.get(&id).map(|t| t.next_churn).unwrap_or(0)),
        })
    }

    async fn is_worker_registered_in_topic_id(
        &self,
        r: Request<v10::IsWorkerRegisteredInTopicIdRequest>,
    ) -> R<v10::IsWorkerRegisteredInTopicIdResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsWorkerRegisteredInTopicIdResponse {
            is_registered: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.workers.contains(&q.address))
            }),
        })
    }

    async fn is_reputer_registered_in_topic_id(
        &self,
        r: Request<v10::IsReputerRegisteredInTopicIdRequest>,
    ) -> R<v10::IsReputerRegisteredInTopicIdResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsReputerRegisteredInTopicIdResponse {
            is_registered: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.reputers.contains(&q.address))
            }),
        })
    }

    async fn can_submit_worker_payload(
        &self,
        r: Request<v10::CanSubmitWorkerPayloadRequest>,
    ) -> R<v10::CanSubmitWorkerPayloadResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::CanSubmitWorkerPayloadResponse {
            can_submit_worker_payload: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.can_submit_worker(&q.address))
            }),
        })
    }

    async fn can_submit_reputer_payload(
        &self,
        r: Request<v10::CanSubmitReputerPayloadRequest>,
    ) -> R<v10::CanSubmitReputerPayloadResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::CanSubmitReputerPayloadResponse {
            can_submit_reputer_payload: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.can_submit_reputer(&q.address))
            }),
        })
    }

    async fn get_unfulfilled_worker_nonces(
        &self,
        r: Request<v10::GetUnfulfilledWorkerNoncesRequest>,
    ) -> R<v10::GetUnfulfilledWorkerNoncesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| t.worker_nonces.clone())
                .unwrap_or_default()
        });
        ok(v10::GetUnfulfilledWorkerNoncesResponse {
            nonces: Some(nonces_proto(&nonces)),
        })
    }

    async fn get_unfulfilled_reputer_nonces(
        &self,
        r: Request<v10::GetUnfulfilledReputerNoncesRequest>,
    ) -> R<v10::GetUnfulfilledReputerNoncesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| t.reputer_nonces.clone())
                .unwrap_or_default()
        });
        ok(v10::GetUnfulfilledReputerNoncesResponse {
            nonces: Some(reputer_nonces_proto(&nonces)),
        })
    }

    async fn is_worker_nonce_unfulfilled(
        &self,
        r: Request<v10::IsWorkerNonceUnfulfilledRequest>,
    ) -> R<v10::IsWorkerNonceUnfulfilledResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsWorkerNonceUnfulfilledResponse {
            is_worker_nonce_unfulfilled: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.worker_nonces.contains(&q.block_height))
            }),
        })
    }

    async fn is_reputer_nonce_unfulfilled(
        &self,
        r: Request<v10::IsReputerNonceUnfulfilledRequest>,
    ) -> R<v10::IsReputerNonceUnfulfilledResponse> {
        self.guard().await?;
        let q = r.into_inner();
        ok(v10::IsReputerNonceUnfulfilledResponse {
            is_reputer_nonce_unfulfilled: self.with_state(|s| {
                s.topics
                    .get(&q.topic_id)
                    .is_some_and(|t| t.reputer_nonces.contains(&q.block_height))
            }),
        })
    }

    async fn get_open_worker_submission_windows(
        &self,
        r: Request<v10::GetOpenWorkerSubmissionWindowsRequest>,
    ) -> R<v10::GetOpenWorkerSubmissionWindowsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| lifecycle::open_worker_nonces(s, t))
                .unwrap_or_default()
        });
        ok(v10::GetOpenWorkerSubmissionWindowsResponse {
            nonces: Some(nonces_proto(&nonces)),
        })
    }

    async fn get_open_reputer_submission_windows(
        &self,
        r: Request<v10::GetOpenReputerSubmissionWindowsRequest>,
    ) -> R<v10::GetOpenReputerSubmissionWindowsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        let nonces = self.with_state(|s| {
            s.topics
                .get(&id)
                .map(|t| lifecycle::open_reputer_nonces(s, t))
                .unwrap_or_default()
        });
        ok(v10::GetOpenReputerSubmissionWindowsResponse {
            nonces: Some(reputer_nonces_proto(&nonces)),
        })
    }

    async fn get_epoch(&self, r: Request<v10::GetEpochRequest>) -> R<v10::GetEpochResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            let t = s
                .topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            if t.wall_clock.is_none() {
                return Err(epochs_not_served(q.topic_id));
            }
            let epoch = t.epoch_proto(q.nonce).ok_or_else(|| {
                Status::not_found(format!(
                    "epoch {} of topic {} not found",
                    q.nonce, q.topic_id
                ))
            })?;
            ok(v10::GetEpochResponse { epoch: Some(epoch) })
        })
    }

    async fn get_topic_epochs(
        &self,
        r: Request<v10::GetTopicEpochsRequest>,
    ) -> R<v10::GetTopicEpochsResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        self.with_state(|s| {
            let t = s.topics.get(&id).ok_or_else(|| topic_missing(id))?;
            let Some(wc) = &t.wall_clock else {
                return Err(epochs_not_served(id));
            };
            ok(v10::GetTopicEpochsResponse {
                epochs: wc.epochs.keys().filter_map(|n| t.epoch_proto(*n)).collect(),
            })
        })
    }

    async fn get_worker_submission_window_status(
        &self,
        r: Request<v10::GetWorkerSubmissionWindowStatusRequest>,
    ) -> R<v10::GetWorkerSubmissionWindowStatusResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            ok(lifecycle::worker_status(s, q.topic_id, &q.address))
        })
    }

    async fn get_reputer_submission_window_status(
        &self,
        r: Request<v10::GetReputerSubmissionWindowStatusRequest>,
    ) -> R<v10::GetReputerSubmissionWindowStatusResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            ok(lifecycle::reputer_status(s, q.topic_id, &q.address))
        })
    }

    async fn get_reputer_stake_in_topic(
        &self,
        r: Request<v10::GetReputerStakeInTopicRequest>,
    ) -> R<v10::GetReputerStakeInTopicResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.address))
                .unwrap_or(0)
        });
        ok(v10::GetReputerStakeInTopicResponse {
            amount: amount.to_string(),
        })
    }

    async fn get_stake_from_reputer_in_topic_in_self(
        &self,
        r: Request<v10::GetStakeFromReputerInTopicInSelfRequest>,
    ) -> R<v10::GetStakeFromReputerInTopicInSelfResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.reputer_address))
                .unwrap_or(0)
        });
        ok(v10::GetStakeFromReputerInTopicInSelfResponse {
            amount: amount.to_string(),
        })
    }

    async fn get_stake_reputer_authority(
        &self,
        r: Request<v10::GetStakeReputerAuthorityRequest>,
    ) -> R<v10::GetStakeReputerAuthorityResponse> {
        self.guard().await?;
        let q = r.into_inner();
        let amount = self.with_state(|s| {
            s.topics
                .get(&q.topic_id)
                .map(|t| t.stake_of(&q.reputer))
                .unwrap_or(0)
        });
        ok(v10::GetStakeReputerAuthorityResponse {
            authority: amount.to_string(),
        })
    }

    async fn get_network_inferences_at_block(
        &self,
        r: Request<v10::GetNetworkInferencesAtBlockRequest>,
    ) -> R<v10::GetNetworkInferencesAtBlockResponse> {
        self.guard().await?;
        let q = r.into_inner();
        self.with_state(|s| {
            let t = s
                .topics
                .get(&q.topic_id)
                .ok_or_else(|| topic_missing(q.topic_id))?;
            let b = t
                .network_inferences
                .get(&q.block_height_last_inference)
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "no network inferences for topic {} at block {}",
                        q.topic_id, q.block_height_last_inference
                    ))
                })?;
            ok(v10::GetNetworkInferencesAtBlockResponse {
                network_inferences: Some(b.clone()),
            })
        })
    }

    async fn get_latest_network_inferences(
        &self,
        r: Request<v10::GetLatestNetworkInferencesRequest>,
    ) -> R<v10::GetLatestNetworkInferencesResponse> {
        self.guard().await?;
        let id = r.into_inner().topic_id;
        self.with_state(|s| {
            let t = s.topics.get(&id).ok_or_else(|| topic_missing(id))?;
            let (h, b) = t
                .network_inferences
                .last_key_value()
                .map(|(h, b)| (*h, b.clone()))
                .unwrap_or((
                    0,
                    v10::NetworkInferenceBundle {
                        topic_id: id,
                        ..Default::default()
                    },
                ));
            ok(v10::GetLatestNetworkInferencesResponse {
                network_inferences: Some(b),
                inference_block_height: h,
            })
        })
    }
}

fn nonces_proto(n: &[i64]) -> v3::Nonces {
    v3::Nonces {
        nonces: n.iter().map(|h| v3::Nonce { block_height: *h }).collect(),
    }
}

fn reputer_nonces_proto(n: &[i64]) -> v3::ReputerRequestNonces {
    v3::ReputerRequestNonces {
        nonces: n
            .iter()
            .map(|h| v3::ReputerRequestNonce {
                reputer_nonce: Some(v3::Nonce { block_height: *h }),
            })
            .collect(),
    }
}

/// A block-epoch topic has no wall-clock epochs: answered like a chain without the epoch
/// FSM (allorad v0.17.0), which does not know the method.
fn epochs_not_served(topic_id: u64) -> Status {
    Status::unimplemented(format!(
        "topic {topic_id} counts epochs in blocks: GetEpoch is served for seconds-mode topics only"
    ))
}
