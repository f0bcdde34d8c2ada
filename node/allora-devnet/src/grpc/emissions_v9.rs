//! `emissions.v9.QueryService` (allora-chain v0.16.0), served when the devnet runs with
//! emissions version 9. The devnet keeps one state and one set of query rules (the v10
//! service in `emissions`); this service answers each v9 method from the v10 one:
//!
//! * requests and most answers have the same field numbers in both packages (reference §I;
//!   checked against allora-chain v0.16.0 `x/emissions/proto/emissions/v9/query.proto`), so
//!   they are carried over by re-encoding — confirmed for the messages the node uses;
//! * `GetTopic` answers a v9 `Topic` (fields 1–22; v10's label fields 23–30 do not exist);
//! * the network-inference queries answer an `emissions.v3.ValueBundle` with one scalar per
//!   entry instead of v10's labelled `NetworkInferenceBundle`: the devnet reports label `y`
//!   (else the first label), the only label a v9 worker can submit. Assumed: v0.16.0
//!   computes the same values for a scalar topic.

use prost::Message;
use tonic::{Request, Status};

use allora_protocol::proto::emissions::v9::query_service_server::QueryService as V9Query;
use allora_protocol::proto::emissions::{v3, v9, v10};

use super::{R, Services, ok};
use allora_protocol::proto::emissions::v10::query_service_server::QueryService as V10Query;

/// Re-encodes a message as another type with the same field numbers.
fn recode<A: Message, B: Message + Default>(a: &A) -> Result<B, Status> {
    B::decode(a.encode_to_vec().as_slice())
        .map_err(|e| Status::internal(format!("devnet v9 relay: {e}")))
}

fn scalar(values: &[v10::LabeledValue]) -> String {
    values
        .iter()
        .find(|v| v.label_name == "y")
        .or_else(|| values.first())
        .map(|v| v.value.clone())
        .unwrap_or_default()
}

/// A labelled v10 bundle as v9's scalar `emissions.v3.ValueBundle` (field 12 regrouped by
/// forecaster, first-seen order).
fn value_bundle(b: &v10::NetworkInferenceBundle) -> v3::ValueBundle {
    let attributed = |w: &v10::WorkerInference| v3::WorkerAttributedValue {
        worker: w.worker.clone(),
        value: scalar(&w.values),
    };
    let mut grouped: Vec<v3::OneOutInfererForecasterValues> = Vec::new();
    for v in &b.one_out_inferer_forecaster_values {
        let value = v3::WithheldWorkerAttributedValue {
            worker: v.withheld_inferer.clone(),
            value: scalar(&v.combined_inference),
        };
        match grouped.iter_mut().find(|g| g.forecaster == v.forecaster) {
            Some(g) => g.one_out_inferer_values.push(value),
            None => grouped.push(v3::OneOutInfererForecasterValues {
                forecaster: v.forecaster.clone(),
                one_out_inferer_values: vec![value],
            }),
        }
    }
    v3::ValueBundle {
        topic_id: b.topic_id,
        reputer_request_nonce: None,
        reputer: String::new(),
        extra_data: Vec::new(),
        combined_value: scalar(&b.combined_value),
        inferer_values: b.inferer_values.iter().map(attributed).collect(),
        forecaster_values: b.forecaster_values.iter().map(attributed).collect(),
        naive_value: scalar(&b.naive_value),
        one_out_inferer_values: b
            .one_out_inferer_values
            .iter()
            .map(|v| v3::WithheldWorkerAttributedValue {
                worker: v.withheld_inferer.clone(),
                value: scalar(&v.combined_inference),
            })
            .collect(),
        one_out_forecaster_values: b
            .one_out_forecaster_values
            .iter()
            .map(|v| v3::WithheldWorkerAttributedValue {
                worker: v.withheld_forecaster.clone(),
                value: scalar(&v.combined_inference),
            })
            .collect(),
        one_in_forecaster_values: b
            .one_in_forecaster_values
            .iter()
            .map(|v| v3::WorkerAttributedValue {
                worker: v.forecaster.clone(),
                value: scalar(&v.combined_inference),
            })
            .collect(),
        one_out_inferer_forecaster_values: grouped,
    }
}

macro_rules! relay {
    ($($method:ident: $req:ident => $resp:ident,)*) => {
        #[tonic::async_trait]
        impl V9Query for Services {
            $(
                async fn $method(&self, r: Request<v9::$req>) -> R<v9::$resp> {
                    let req: v10::$req = recode(r.get_ref())?;
                    let resp = V10Query::$method(self, Request::new(req)).await?.into_inner();
                    ok(recode(&resp)?)
                }
            )*

            async fn get_network_inferences_at_block(
                &self,
                r: Request<v9::GetNetworkInferencesAtBlockRequest>,
            ) -> R<v9::GetNetworkInferencesAtBlockResponse> {
                let req: v10::GetNetworkInferencesAtBlockRequest = recode(r.get_ref())?;
                let resp = V10Query::get_network_inferences_at_block(self, Request::new(req))
                    .await?
                    .into_inner();
                ok(v9::GetNetworkInferencesAtBlockResponse {
                    network_inferences: resp.network_inferences.as_ref().map(value_bundle),
                })
            }

            async fn get_latest_network_inferences(
                &self,
                r: Request<v9::GetLatestNetworkInferencesRequest>,
            ) -> R<v9::GetLatestNetworkInferencesResponse> {
                let req: v10::GetLatestNetworkInferencesRequest = recode(r.get_ref())?;
                let resp = V10Query::get_latest_network_inferences(self, Request::new(req))
                    .await?
                    .into_inner();
                ok(v9::GetLatestNetworkInferencesResponse {
                    network_inferences: resp.network_inferences.as_ref().map(value_bundle),
                    inference_block_height: resp.inference_block_height,
                })
            }
        }
    };
}

relay! {
    get_params: GetParamsRequest => GetParamsResponse,
    get_topic: GetTopicRequest => GetTopicResponse,
    topic_exists: TopicExistsRequest => TopicExistsResponse,
    is_topic_active: IsTopicActiveRequest => IsTopicActiveResponse,
    get_next_churning_block_by_topic_id: GetNextChurningBlockByTopicIdRequest => GetNextChurningBlockByTopicIdResponse,
    is_worker_registered_in_topic_id: IsWorkerRegisteredInTopicIdRequest => IsWorkerRegisteredInTopicIdResponse,
    is_reputer_registered_in_topic_id: IsReputerRegisteredInTopicIdRequest => IsReputerRegisteredInTopicIdResponse,
    can_submit_worker_payload: CanSubmitWorkerPayloadRequest => CanSubmitWorkerPayloadResponse,
    can_submit_reputer_payload: CanSubmitReputerPayloadRequest => CanSubmitReputerPayloadResponse,
    get_unfulfilled_worker_nonces: GetUnfulfilledWorkerNoncesRequest => GetUnfulfilledWorkerNoncesResponse,
    get_unfulfilled_reputer_nonces: GetUnfulfilledReputerNoncesRequest => GetUnfulfilledReputerNoncesResponse,
    is_worker_nonce_unfulfilled: IsWorkerNonceUnfulfilledRequest => IsWorkerNonceUnfulfilledResponse,
    is_reputer_nonce_unfulfilled: IsReputerNonceUnfulfilledRequest => IsReputerNonceUnfulfilledResponse,
    get_open_worker_submission_windows: GetOpenWorkerSubmissionWindowsRequest => GetOpenWorkerSubmissionWindowsResponse,
    get_open_reputer_submission_windows: GetOpenReputerSubmissionWindowsRequest => GetOpenReputerSubmissionWindowsResponse,
    get_worker_submission_window_status: GetWorkerSubmissionWindowStatusRequest => GetWorkerSubmissionWindowStatusResponse,
    get_reputer_submission_window_status: GetReputerSubmissionWindowStatusRequest => GetReputerSubmissionWindowStatusResponse,
    get_reputer_stake_in_topic: GetReputerStakeInTopicRequest => GetReputerStakeInTopicResponse,
    get_stake_from_reputer_in_topic_in_self: GetStakeFromReputerInTopicInSelfRequest => GetStakeFromReputerInTopicInSelfResponse,
    get_stake_reputer_authority: GetStakeReputerAuthorityRequest => GetStakeReputerAuthorityResponse,
}
